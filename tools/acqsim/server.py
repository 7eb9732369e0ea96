"""The acquirer simulator: a TLS host speaking docs/host-interface.md, one request per connection.

Every request (0100, 0200, 0220, 0320, 0400, 0500, 0800) is decoded and checked with the spec that
tools/hostspec.py builds from the document; its MAC (field 64) is verified under the DUKPT key of its KSN
(field 53; security.py); it is answered by the handler its rules.TRANSACTIONS entry names (as the tables
in tools/acqsim/rules.py say; doc section 10), a sale, refund or bill payment after its ARQC (field 55)
and PIN block (field 52) were checked (issuer.py), an advice of an offline sale after its stored card
data (field 61) was deciphered and its TC checked; and it is recorded in the ledger
(tools/acqsim/ledger.py) together with what it changes there (voids, reversals, settlements), except a
repeated advice, answered as the first copy was. Each reply is checked against the document, and MACed
when its request was, before it is sent.
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
from dataclasses import dataclass, field

import iso8583

from tools import hostcrypto as hc
from tools import hostspec
from . import pki, rules, security
from .issuer import CARDS, Issuer
from .ledger import STATUSES, Ledger, mask_pan

MAX_FRAME = 1024
GARBAGE = bytes(range(0xE0, 0xF4))  # 20 non-ASCII bytes: no MTI, never decodes
AUTH_CHARS = string.ascii_uppercase + string.digits
# Values for mandatory reply fields a reply has nothing else for (a format error's or a decline's 0110).
BLANK = {"4": "0" * 12}
NOT_FORMAT_ERROR = tuple(s for s in STATUSES if s != "format_error")
log = logging.getLogger("acqsim")


@dataclass
class Answer:
    """What a handler decided for one request."""
    action: rules.Action
    fields: dict = field(default_factory=dict)   # reply fields the handler computed (4, 48, 63)
    original: dict | None = None                 # the ledger row the request refers to
    effects: dict = field(default_factory=dict)  # {ledger row id: new status}, recorded with the request
    settlement: dict | None = None               # the settlement table row, for a 0500
    note: str | None = None                      # why a request is a format error
    checks: dict = field(default_factory=dict)   # ledger pin / arqc values of a financial request
    icc: object = None                           # issuer.Icc of a verified ARQC: the reply gets field 55
    record: dict = field(default_factory=dict)   # ledger columns of a new advice record (status from the start)
    repeat_of: dict | None = None                # the advice record a repeated advice is answered from


def declined(rc):
    return rules.Action("replied", rc, "declined")


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
    amount = get("4")
    return {"mti": get("t"), "tid": get("41"), "mid": get("42"), "proc_code": get("3"), "stan": get("11"),
            "batch": get("60"), "invoice": get("62"), "amount": int(amount) if amount and amount.isdigit() else None,
            "currency": get("49"), "entry_mode": get("22"), "pan_masked": mask_pan(card_number(req)),
            "rrn_ref": get("37"), "bill": get("48")}


def conditional_problems(txn, req):
    """Breaches of section 5 (conditional fields, card data) by a request of transaction `txn`."""
    bad = ["field %s missing (section 5)" % f for f in txn.require if f not in req]
    card = [f for f in rules.CARD_FIELDS if f in req]
    if txn.card and card not in (["35"], ["2", "14"]):
        bad.append("card data must be field 35, or 2 + 14 when key-entered; got %s" % (card or "none"))
    if not txn.card and card:
        bad.append("fields %s: no card data in this transaction" % card)
    bound = [f for f in rules.CARD_BOUND_FIELDS if f in req]
    if req.get("t") == "0200" and not txn.card and bound:
        bad.append("fields %s go with card data: not in this transaction" % bound)
    return bad


def parse_totals(text):
    """Field 63 (section 11) -> {"debit_count": .., ...}, or None when it is not 30 digits."""
    if not re.fullmatch(r"[0-9]{%d}" % sum(n for _, n in rules.FIELD63), text):
        return None
    out, pos = {}, 0
    for key, n in rules.FIELD63:
        out[key], pos = int(text[pos:pos + n]), pos + n
    return out


def format_totals(totals):
    return "".join("%0*d" % (n, totals[key] % 10**n) for key, n in rules.FIELD63)


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
    def __init__(self, ledger, late_delay=40.0, hold=120.0, spec=None, delay=0.0, fail_reversals=0,
                 out_of_balance=0, bdks=None, issuer=None):
        self.ledger = ledger
        self.bdks = bdks or security.Bdks()
        self.issuer = issuer or Issuer()
        self.late_delay = late_delay
        self.hold = hold
        self.delay = delay
        self.fail_reversals = fail_reversals  # how many more well-formed 0400s get no reply
        self.out_of_balance = out_of_balance  # how many more 920000 settlements get 95 whatever the totals
        self.hs = spec or hostspec.load()
        self.tasks = set()

    def decode(self, raw):
        """(decoded dict, list of problems, intact); on a decode error the dict holds what was read and
        intact is False."""
        try:
            req, _ = iso8583.decode(raw, self.hs.spec)
        except iso8583.DecodeError as e:
            return e.doc_dec, [str(e)], False
        if req.get("t") not in rules.REPLY_MTI:
            return req, ["MTI %r is not a request this host serves" % req.get("t")], True
        problems = self.hs.check_formats(req) + self.hs.check_presence(req["t"], req)
        return req, problems + security.structure_problems(req), True

    # -- deciding: one handler per rules.Txn.kind; all synchronous, so each decision and its ledger
    #    changes happen without another request in between.

    def answer(self, req, sec=None):
        """The Answer to a decoded, well-formed request whose MAC (if any) verified."""
        sec = sec or security.Security()
        txn = rules.TRANSACTIONS.get((req["t"], req["3"]))
        if txn is None:
            return Answer(rules.UNSUPPORTED)
        problems = conditional_problems(txn, req)
        if problems:
            return Answer(rules.FORMAT_ERROR, note="; ".join(problems))
        if txn.kind in ("financial", "advice", "upload"):
            return getattr(self, "_answer_" + txn.kind)(req, sec)
        return getattr(self, "_answer_" + txn.kind)(req)

    def _answer_financial(self, req, sec):
        """Section 10.8: the ARQC (05), then the PIN (55, 75), then the cents triggers."""
        pan = card_number(req)
        checks, icc = {}, None
        if "55" in req:
            checks["arqc"], icc = self.issuer.check_arqc(req["55"], pan, req["3"])
            if checks["arqc"] == "bad":
                return Answer(declined(rules.ARQC_FAILED), checks=checks)
        if "52" in req:
            checks["pin"], rc = self.issuer.check_pin(sec, req, pan)
            if rc:
                return Answer(declined(rc), checks=checks, icc=icc)
        action = rules.decide(req)
        if (action.fault in rules.NEEDS_MAC and not sec.sign_reply) or (action.fault in rules.NEEDS_ARQC
                                                                        and icc is None):
            action = rules.APPROVE
        return Answer(action, checks=checks, icc=icc)

    # -- store and forward (doc sections 15 and 10.9)

    def _answer_advice(self, req, sec):
        """A 0220: answered as its first copy was when the host has it, else checked and recorded."""
        if req["39"] != rules.OFFLINE_APPROVED:
            return Answer(rules.FORMAT_ERROR,
                          note="field 39 of a 0220 must be %s (section 15)" % rules.OFFLINE_APPROVED)
        first = self.ledger.advice(req["41"], req["60"], req["11"])
        if first is not None:
            return Answer(rules.Action("replied", first["rc"]), fields={"37": first["rrn"]}, repeat_of=first)
        return self._new_advice(req)

    def _new_advice(self, req):
        """The advice record of an offline sale the host does not have (a 0220, or a 0320 with 39 = Y1): field
        61 deciphered and checked (30), the TC of field 55 (05), then the advice cents triggers."""
        record = {"offline_auth": req["38"]}
        try:
            track2 = security.stored_card(self.bdks, req[rules.STORED_CARD_FIELD])
        except hc.StoredCardError as e:
            return self._advice_answer(declined(rules.ADVICE_BAD_CARD_DATA), record, note=str(e))
        pan = track2.partition("=")[0]
        record["pan_masked"] = mask_pan(pan)
        checks = {}
        if "55" in req:
            checks["arqc"] = self.issuer.check_tc(req["55"], pan)
            if checks["arqc"] == "bad":
                return self._advice_answer(declined(rules.ADVICE_BAD_TC), record, checks)
        return self._advice_answer(rules.decide_advice(req), record, checks)

    @staticmethod
    def _advice_answer(action, record, checks=None, note=None):
        accepted = action.rc == "00"
        record = dict(record, status="approved" if accepted else "declined", approved=int(accepted))
        return Answer(action, record=record, checks=checks or {}, note=note)

    def _answer_void(self, req):
        found = [r for r in self.ledger.find(tid=req["41"], batch=req["60"], mti=("0200", rules.ADVICE, "0320"),
                                             proc_code=rules.VOIDABLE, rrn=req["37"], status=NOT_FORMAT_ERROR)
                 if r["mti"] == "0200" or r["offline_auth"]]      # a sale, bill payment or offline sale
        if not found:
            return Answer(declined(rules.VOID_NOT_FOUND))
        orig = found[0]
        if orig["status"] in rules.UNDONE:
            return Answer(declined(rules.VOID_ALREADY_DONE), original=orig)
        if orig["status"] != "approved":
            return Answer(declined(rules.VOID_NOT_FOUND), original=orig)
        if orig["amount"] != int(req["4"]):
            return Answer(declined(rules.VOID_WRONG_AMOUNT), original=orig)
        return Answer(rules.APPROVE, original=orig, effects={orig["id"]: "voided"})

    def _answer_reversal(self, req):
        if self.fail_reversals > 0:
            self.fail_reversals -= 1
            return Answer(rules.HELD)
        found = self.ledger.find(tid=req["41"], batch=req["60"], mti="0200", stan=req["11"], proc_code=req["3"],
                                 amount=int(req["4"]), status=NOT_FORMAT_ERROR)
        if not found:
            return Answer(declined(rules.REVERSAL_NOT_FOUND))
        orig = found[0]
        if orig["status"] == "reversed":
            return Answer(rules.APPROVE, original=orig)
        if orig["status"] not in rules.REVERSIBLE:  # declined: the host never booked it
            return Answer(declined(rules.REVERSAL_NOT_FOUND), original=orig)
        effects = {orig["id"]: "reversed"}
        if orig["proc_code"] == rules.VOID and orig["rc"] == "00" and orig["original_id"]:
            for voided in self.ledger.find(id=orig["original_id"], status="voided"):
                effects[voided["id"]] = "approved"
        return Answer(rules.APPROVE, original=orig, effects=effects)

    def _answer_upload(self, req, sec):
        """A 0320: recorded and linked to its original. The upload of an offline approval (39 = Y1) gets the
        answer of its advice; the host that never had the advice records this upload as the advice."""
        if req["39"] != rules.OFFLINE_APPROVED:
            bad = [f for f in rules.OFFLINE_ONLY_IN_UPLOAD if f in req]
            if bad:
                return Answer(rules.FORMAT_ERROR, note="fields %s: only in the upload of an offline approval "
                                                       "(39 = %s)" % (bad, rules.OFFLINE_APPROVED))
            if "37" not in req:
                return Answer(rules.FORMAT_ERROR, note="field 37 missing (section 5)")
            found = self.ledger.find(tid=req["41"], batch=req["60"], mti="0200", rrn=req["37"])
            return Answer(rules.APPROVE, original=found[0] if found else None)
        missing = [f for f in ("38", rules.STORED_CARD_FIELD) if f not in req]
        if missing or req["3"] != rules.SALE:
            return Answer(rules.FORMAT_ERROR, note="the upload of an offline approval is a sale (%s) with fields 38 "
                                                   "and 61 (section 15)" % rules.SALE)
        first = self.ledger.advice(req["41"], req["60"], req["11"])
        if first is not None:
            return Answer(rules.Action("replied", first["rc"]), original=first)
        return self._new_advice(req)

    def _answer_bill_inquiry(self, req):
        biller, _, reference = req["48"].partition("/")
        lo, hi = rules.REFERENCE_DIGITS
        if biller not in rules.BILLERS:
            rc = rules.UNKNOWN_BILLER
        elif not re.fullmatch(r"[0-9]{%d,%d}" % (lo, hi), reference):
            rc = rules.BAD_REFERENCE
        elif reference.endswith(rules.NO_SUCH_BILL_SUFFIX):
            rc = rules.NO_SUCH_BILL
        else:
            return Answer(rules.APPROVE, fields={"4": "%012d" % rules.amount_due(reference),
                                                 "48": rules.customer(reference)})
        return Answer(declined(rc))

    def _answer_settlement(self, req):
        terminal = parse_totals(req["63"])
        if terminal is None:
            return Answer(rules.FORMAT_ERROR, note="field 63 is not 30 digits (section 11)")
        host = self.ledger.batch_totals(req["41"], req["60"])
        matched = terminal == host
        after_upload = req["3"] == rules.SETTLEMENT_AFTER_UPLOAD
        if matched and not after_upload and self.out_of_balance > 0:
            self.out_of_balance -= 1
            matched = False
        rc = rules.SETTLED if matched or after_upload else rules.OUT_OF_BALANCE
        row = {"tid": req["41"], "batch": req["60"], "proc_code": req["3"], "matched": int(matched), "rc": rc}
        row.update({"terminal_" + k: v for k, v in terminal.items()})
        row.update({"host_" + k: v for k, v in host.items()})
        return Answer(declined(rc) if rc != "00" else rules.APPROVE, fields={"63": format_totals(host)},
                      settlement=row)

    def _answer_echo(self, req):
        return Answer(rules.APPROVE)

    def build_reply(self, req, answer, seq, when, sec=None):
        """(reply dict, encoded reply) for `answer`; (None, None) when a format error cannot be answered
        (unknown MTI, fields 11 or 41 unreadable). Field 55 when the answer has a verified ARQC; field 64
        when the request carried one and its KSN gives keys (`sec`)."""
        action = answer.action
        reply_mti = rules.REPLY_MTI.get(req.get("t"))
        if reply_mti is None:
            return None, None
        cols = self.hs.presence[reply_mti]
        error = action is rules.FORMAT_ERROR
        keep = ["11", "41"] + [f for f, rule in cols.items() if rule == "E" and not error]
        rep = {f: req[f] for f in keep if f in req}
        if error and (len(rep) != 2 or self.hs.check_formats(rep)):
            return None, None
        rep.update({"t": reply_mti, "39": action.rc})
        if cols["37"] == "M":
            rep["37"] = make_rrn(seq, when)
        if action.rc == "00" and cols["38"] == "C":
            rep["38"] = "".join(secrets.choice(AUTH_CHARS) for _ in range(6))
        rep.update(answer.fields)
        rep.update({f: BLANK[f] for f, rule in cols.items() if rule == "M" and f not in rep and f in BLANK})
        if action.outcome == "wrong_stan":
            rep["11"] = "%06d" % ((int(rep["11"]) + 1) % 10**6)
        if answer.icc is not None and not error:
            rep["55"] = self.issuer.reply_field55(answer.icc, action.rc, action.fault).hex().upper()
        sign = sec is not None and sec.sign_reply and action.fault != "no_mac"
        if sign:
            rep["64"] = "00" * security.hc.MAC_LEN     # placeholder: the MAC covers the bitmap with bit 64
        problems = self.hs.check_formats(rep) + self.hs.check_presence(reply_mti, rep, req)
        if problems:
            raise RuntimeError("bad %s: %s" % (reply_mti, problems))
        raw, _ = iso8583.encode(dict(rep), self.hs.spec)
        raw = bytes(raw)
        if sign:
            raw = sec.seal(raw, corrupt=action.fault == "reply_mac")
            rep["64"] = raw[-security.hc.MAC_LEN:].hex().upper()
        return rep, raw

    # -- the connection

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
                log.info("mti=%s proc=%s tid=%r stan=%r batch=%r amount=%r pan=%r bill=%r outcome=%s status=%s "
                         "rc=%s rrn=%s original=%s approved=%d ksn=%s mac=%s pin=%s arqc=%s%s",
                         row.get("mti"), row.get("proc_code"), row.get("tid"), row.get("stan"), row.get("batch"),
                         row.get("amount"), row.get("pan_masked"), row.get("bill"), row["outcome"], row["status"],
                         row.get("rc"), row.get("rrn"), row.get("original_id"), row.get("approved", 0),
                         row.get("ksn"), row.get("mac"), row.get("pin"), row.get("arqc"),
                         " (%s)" % row["note"] if "note" in row else "")

    async def _exchange(self, reader, writer, row):
        async with asyncio.timeout(self.hold):
            size = int.from_bytes(await reader.readexactly(2), "big")
            raw = await reader.readexactly(size) if 0 < size <= MAX_FRAME else None
        when = datetime.datetime.now(datetime.timezone.utc)
        req, problems, intact = self.decode(raw) if raw is not None else ({}, ["frame length %d" % size], False)
        sec = security.inspect(self.bdks, raw, req, intact)
        if problems:
            answer = Answer(rules.FORMAT_ERROR, note="; ".join(problems))
        elif sec.mac == "bad":
            answer = Answer(rules.BAD_MAC)
        else:
            answer = self.answer(req, sec)
        action = answer.action
        row.update(describe(req), received_utc=when.isoformat(timespec="seconds"), outcome=action.outcome,
                   status="format_error" if action is rules.FORMAT_ERROR else "not_replied",
                   original_id=answer.original["id"] if answer.original else None, ksn=sec.ksn, mac=sec.mac,
                   pin=answer.checks.get("pin", "none"), arqc=answer.checks.get("arqc", "none"))
        row.update(answer.record)
        first = answer.repeat_of
        if first is not None:          # a repeated advice: no new row, the first copy's answer
            row_id = first["id"]
            row.update({k: first[k] for k in ("status", "approved", "pan_masked", "arqc", "offline_auth")})
            row["note"] = "copy %d of the advice recorded as row %d" % (first["repeats"] + 2, row_id)
            self.ledger.repeat(row_id, action.outcome)
        else:
            settlement = answer.settlement and dict(answer.settlement, received_utc=row["received_utc"])
            row_id = self.ledger.record(dict(row), answer.effects, settlement)
        if answer.note:
            row["note"] = redact(answer.note, req)
        rep = body = None
        if action.rc:
            rep, body = self.build_reply(req, answer, row_id, when, sec)
        if rep:
            # an advice record's RRN is the host's even when its reply (a 0330) has none or echoes one
            rrn = make_rrn(row_id, when) if answer.record else rep.get("37")
            row.update(rc=rep["39"], auth_code=rep.get("38"), rrn=first["rrn"] if first else rrn)
            if first is None:
                self.ledger.update(row_id, rc=row["rc"], auth_code=row["auth_code"], rrn=row["rrn"])
        if await getattr(self, "_do_" + action.outcome)(reader, writer, body) and first is None:
            self.ledger.replied(row_id, row["rc"])
            row["approved"] = int(row["rc"] == "00")
            if row["status"] == "not_replied":
                row["status"] = "approved" if row["approved"] else "declined"

    # One coroutine per outcome; each returns True when a complete reply was sent. Every reply waits
    # --delay s first (False if the client closed meanwhile).
    async def _in_time(self, reader, seconds):
        return not seconds or not await _idle(reader, seconds)

    async def _do_replied(self, reader, writer, body, times=1, wait=0.0):
        if not await self._in_time(reader, self.delay + wait):
            return False
        for _ in range(times):
            await _send(writer, body)
        return True

    _do_wrong_stan = _do_replied
    _do_bad_mac = _do_bad_reply_mac = _do_no_reply_mac = _do_bad_arpc = _do_scripts = _do_replied

    async def _do_duplicate(self, reader, writer, body):
        return await self._do_replied(reader, writer, body, times=2)

    async def _do_late(self, reader, writer, body):
        return await self._do_replied(reader, writer, body, wait=self.late_delay)

    async def _do_format_error(self, reader, writer, body):
        return body is not None and await self._do_replied(reader, writer, body)

    async def _do_no_reply(self, reader, writer, body):
        await _idle(reader, self.hold)
        return False

    async def _do_closed(self, reader, writer, body):
        return False

    async def _do_garbage(self, reader, writer, body):
        if await self._in_time(reader, self.delay):
            await _send(writer, GARBAGE)
        return False

    async def _do_partial(self, reader, writer, body):
        if await self._in_time(reader, self.delay):
            await _send(writer, body, len(body) // 2)
            writer.transport.abort()  # the line drops mid-reply: no TLS close_notify
        return False


async def serve(args, bdks, issuer):
    log.info("keys: AES DUKPT BDK KCV %(aes)s, TDES DUKPT BDK KCV %(tdes)s", bdks.kcvs())
    paths = pki.ensure(args.state)
    ledger = Ledger(os.path.join(os.path.abspath(args.state), "ledger.sqlite"))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(paths["server.pem"], paths["server.key"])
    acq = Acquirer(ledger, args.late_delay, args.hold, delay=args.delay, fail_reversals=args.fail_reversals,
                   out_of_balance=args.out_of_balance, bdks=bdks, issuer=issuer)
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
               "Triggers (amount cents, voids, reversals, bills, settlement): docs/host-interface.md "
               "section 10 and tools/acqsim/README.md." % pki.SERVER_NAME)
    ap.add_argument("--state", required=True, help="directory for the PKI files and ledger.sqlite")
    ap.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    ap.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one (default 0)")
    ap.add_argument("--late-delay", type=float, default=40.0, help="seconds before a 'late' reply (default 40)")
    ap.add_argument("--hold", type=float, default=120.0,
                    help="seconds a 'no reply' connection (or a silent client) is held open (default 120)")
    ap.add_argument("--delay", type=float, default=0.0, help="seconds every reply is sent late (default 0)")
    ap.add_argument("--fail-reversals", type=int, default=0, metavar="N",
                    help="the first N well-formed 0400s get no reply, held like '.99' (default 0)")
    ap.add_argument("--out-of-balance", type=int, default=0, metavar="N",
                    help="the first N settlements (920000) get 95 even when the totals agree (default 0)")
    ap.add_argument("--bdk-aes", default=security.DEFAULT_BDK_AES, metavar="FILE",
                    help="AES DUKPT BDK file, hex on its first non-comment line (default: the X9.24-3 test BDK, "
                         "host_tests/fw/fixtures/crypto_test_bdk_aes128.txt)")
    ap.add_argument("--bdk-tdes", default=security.DEFAULT_BDK_TDES, metavar="FILE",
                    help="TDES DUKPT BDK file (default: the X9.24-1 test BDK, "
                         "host_tests/fw/fixtures/crypto_test_bdk_tdes.txt)")
    ap.add_argument("--cards", default=CARDS, metavar="DIR",
                    help="card files: EMV profiles emv_*.json and magstripe.json, for PINs and chip keys "
                         "(default host_tests/cards)")
    ap.add_argument("--pin-tries", type=int, default=rules.PIN_TRIES, metavar="N",
                    help="the Nth wrong PIN in a row for a PAN, and every one after, gets 75 (default 3)")
    args = ap.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s acqsim %(message)s")
    try:
        bdks = security.Bdks(args.bdk_aes, args.bdk_tdes)
    except ValueError as e:   # a BDK file that cannot be used
        print("acqsim: %s" % e, file=sys.stderr)
        sys.exit(2)
    asyncio.run(serve(args, bdks, Issuer(args.cards, args.pin_tries)))
