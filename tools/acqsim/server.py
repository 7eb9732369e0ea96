"""The acquirer simulator: a TLS host speaking docs/host-interface.md, one request per connection.

Every request is decoded with the spec that tools/hostspec.py builds from the document, answered as
tools/acqsim/rules.py says, and recorded in the ledger (tools/acqsim/ledger.py).
"""
import argparse
import asyncio
import base64
import datetime
import json
import logging
import os
import re
import secrets
import signal
import ssl
import string
import sys

import iso8583

from tools import hostspec
from . import pki, rules
from .ledger import Ledger, mask_pan

MAX_FRAME = 2048
ECHO = ("3", "4", "7", "11", "12", "13", "24", "41", "42", "49", "62")
FORMAT_ERROR = rules.Action("format_error", "30")
GARBAGE = bytes(range(0xE0, 0xF4))  # 20 non-ASCII bytes: no MTI, never decodes
AUTH_CHARS = string.ascii_uppercase + string.digits
log = logging.getLogger("acqsim")


def make_rrn(seq, when):
    """Last digit of the year, day of the year (3 digits), ledger sequence (8 digits)."""
    return "%d%03d%08d" % (when.year % 10, when.timetuple().tm_yday, seq % 10**8)


def card_number(req):
    """PAN from field 2, or the leading digits of track 2."""
    return req.get("2") or re.match(r"[0-9]*", req.get("35", "")).group()


def redact(text, req):
    """`text` with any card data of `req` replaced by the masked PAN."""
    for f in ("35", "2"):
        if req.get(f):
            text = text.replace(req[f], mask_pan(card_number(req)) or "*")
    return text


def describe(req):
    """Ledger columns taken from a (possibly partly) decoded request; the PAN only masked."""
    get = lambda f: req.get(f) or None  # noqa: E731
    pan = card_number(req)
    amount = get("4")
    return {"mti": get("t"), "tid": get("41"), "mid": get("42"), "proc_code": get("3"), "stan": get("11"),
            "invoice": get("62"), "amount": int(amount) if amount and amount.isdigit() else None,
            "currency": get("49"), "entry_mode": get("22"), "pan_masked": mask_pan(pan)}


async def _send(writer, body, upto=None):
    writer.write(len(body).to_bytes(2, "big") + body[:upto])
    await writer.drain()


async def _idle(reader, seconds):
    """Wait up to `seconds` for the client to close; True when it did."""
    try:
        async with asyncio.timeout(seconds):
            while await reader.read(256):
                pass
    except TimeoutError:
        return False
    except (ConnectionError, ssl.SSLError):
        pass
    return True


class Acquirer:
    def __init__(self, ledger, late_delay=40.0, hold=120.0, spec=None):
        self.ledger = ledger
        self.late_delay = late_delay
        self.hold = hold
        self.hs = spec or hostspec.load()
        self.tasks = set()

    def decode(self, raw):
        """(decoded dict, list of problems); on a decode error the dict holds what was read."""
        try:
            req, _ = iso8583.decode(raw, self.hs.spec)
        except iso8583.DecodeError as e:
            return e.doc_dec, [str(e)]
        if req.get("t") != "0200":
            return req, ["MTI %r is not a request this host serves" % req.get("t")]
        return req, self.hs.check_formats(req) + self.hs.check_presence("0200", req)

    def build_reply(self, req, action, seq, when):
        """(0210 dict, encoded 0210) for `action`; (None, None) for a format error without 11 and 41."""
        keep = ECHO if action is not FORMAT_ERROR else ("11", "41")
        rep = {f: req[f] for f in keep if f in req}
        if action is FORMAT_ERROR and (len(rep) != 2 or self.hs.check_formats(rep)):
            return None, None
        rep.update({"t": "0210", "37": make_rrn(seq, when), "39": action.rc})
        if action.rc == "00":
            rep["38"] = "".join(secrets.choice(AUTH_CHARS) for _ in range(6))
        if action.outcome == "wrong_stan":
            rep["11"] = "%06d" % ((int(rep["11"]) + 1) % 10**6)
        problems = self.hs.check_formats(rep) + self.hs.check_presence("0210", rep, req)
        if problems:
            raise RuntimeError("bad 0210: %s" % problems)
        raw, _ = iso8583.encode(dict(rep), self.hs.spec)
        return rep, bytes(raw)

    async def handle(self, reader, writer):
        task = asyncio.current_task()
        self.tasks.add(task)
        row = {}
        try:
            await self._exchange(reader, writer, row)
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError, TimeoutError) as e:
            row["note"] = "%s%s" % (row["note"] + "; " if "note" in row else "", type(e).__name__)
        except Exception:
            log.exception("exchange failed")
        finally:
            self.tasks.discard(task)
            writer.close()
            if "outcome" in row:
                log.info("tid=%r stan=%r amount=%r pan=%r outcome=%s rc=%s rrn=%s approved=%d%s",
                         row.get("tid"), row.get("stan"), row.get("amount"), row.get("pan_masked"),
                         row["outcome"], row.get("rc"), row.get("rrn"), row.get("approved", 0),
                         " (%s)" % row["note"] if "note" in row else "")

    async def _exchange(self, reader, writer, row):
        async with asyncio.timeout(self.hold):
            size = int.from_bytes(await reader.readexactly(2), "big")
            raw = await reader.readexactly(size) if 0 < size <= MAX_FRAME else None
        when = datetime.datetime.now(datetime.timezone.utc)
        req, problems = self.decode(raw) if raw is not None else ({}, ["frame length %d" % size])
        action = FORMAT_ERROR if problems else rules.decide(req)
        row.update(describe(req), received_utc=when.isoformat(timespec="seconds"), outcome=action.outcome)
        row_id = self.ledger.add(**row)
        if problems:
            row["note"] = redact("; ".join(problems), req)
        rep = body = None
        if action.rc:
            rep, body = self.build_reply(req, action, row_id, when)
        if rep:
            row.update(rc=rep["39"], auth_code=rep.get("38"), rrn=rep["37"])
            self.ledger.update(row_id, rc=row["rc"], auth_code=row["auth_code"], rrn=row["rrn"])
        sent = await getattr(self, "_do_" + action.outcome)(reader, writer, body)
        if sent and row.get("rc") == "00":
            row["approved"] = 1
            self.ledger.update(row_id, approved=1)

    # One coroutine per outcome; each returns True when a complete 0210 was sent.
    async def _do_replied(self, reader, writer, body):
        await _send(writer, body)
        return True

    _do_wrong_stan = _do_replied

    async def _do_format_error(self, reader, writer, body):
        return body is not None and await self._do_replied(reader, writer, body)

    async def _do_no_reply(self, reader, writer, body):
        await _idle(reader, self.hold)
        return False

    async def _do_closed(self, reader, writer, body):
        return False

    async def _do_garbage(self, reader, writer, body):
        await _send(writer, GARBAGE)
        return False

    async def _do_late(self, reader, writer, body):
        if await _idle(reader, self.late_delay):
            return False  # the client gave up first
        return await self._do_replied(reader, writer, body)

    async def _do_partial(self, reader, writer, body):
        await _send(writer, body, len(body) // 2)
        writer.transport.abort()  # the line drops mid-reply: no TLS close_notify
        return False


async def serve(args):
    paths = pki.ensure(args.state)
    ledger = Ledger(os.path.join(os.path.abspath(args.state), "ledger.sqlite"))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(paths["server.pem"], paths["server.key"])
    acq = Acquirer(ledger, args.late_delay, args.hold)
    server = await asyncio.start_server(acq.handle, args.host, args.port, ssl=ctx, ssl_handshake_timeout=15)
    with open(paths["ca.der"], "rb") as f:
        ca = base64.b64encode(f.read()).decode()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(json.dumps({"ready": True, "address": args.host, "port": server.sockets[0].getsockname()[1],
                      "server_name": pki.SERVER_NAME, "ca": ca, "ledger": ledger.path}), flush=True)
    async with server:
        await stop.wait()
    for task in list(acq.tasks):
        task.cancel()
    await asyncio.gather(*acq.tasks, return_exceptions=True)
    ledger.close()
    log.info("stopped")


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="python -m tools.acqsim", description=__doc__.split("\n")[0],
        epilog="Terminal parameters for this host: host.address/port as printed in the ready line, "
               "host.server_name=%s, host.ca=the ready line's \"ca\" (base64 of STATE/ca.der). "
               "Amount triggers: see tools/acqsim/README.md." % pki.SERVER_NAME)
    ap.add_argument("--state", required=True, help="directory for the PKI files and ledger.sqlite")
    ap.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    ap.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one (default 0)")
    ap.add_argument("--late-delay", type=float, default=40.0, help="seconds before a 'late' reply (default 40)")
    ap.add_argument("--hold", type=float, default=120.0,
                    help="seconds a 'no reply' connection (or a silent client) is held open (default 120)")
    args = ap.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s acqsim %(message)s")
    asyncio.run(serve(args))
