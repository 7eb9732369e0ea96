"""The acquirer simulator (tools/acqsim), driven over TLS by a plain CPython client.

Requests are built with pyiso8583 from the spec parsed out of docs/host-interface.md, not from
anything in the simulator, and every check reads real values off the wire or the sqlite ledger.
The cardholder-security part (second half) plays the terminal with the firmware's own key store (on
copies of the keyinject-made fixtures) and EMV kernel against the virtual cards (tools/virtual): the
PIN blocks, MACs and ARQCs are the ones a terminal computes, and the replies' MACs and ARPCs are
checked by the terminal's key store and by the virtual card.
"""
import asyncio
import base64
import concurrent.futures
import datetime
import json
import os
import re
import select
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import time

import iso8583
import pytest
from cryptography import x509

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _p in (os.path.join(ROOT, "host_tests", "cpython_shims"), os.path.join(ROOT, "firmware"), ROOT):
    if _p not in sys.path:
        sys.path.insert(0, _p)
from tools import hostspec  # noqa: E402
from tools.acqsim import rules  # noqa: E402
from tools.acqsim.issuer import Issuer  # noqa: E402
from tools.acqsim.ledger import AUTH, Ledger  # noqa: E402
from tools.virtual import emvhost, emvrecord  # noqa: E402
from tools.virtual.emvcard import CARDS, Reader, VirtualCard, load_profile  # noqa: E402
from wasl.crypto.keystore import FileSecureStorage, KeyStore  # noqa: E402
from wasl.emv.apdu import CardRemoved  # noqa: E402
from wasl.emv.kernel import Kernel  # noqa: E402

HS = hostspec.load()
SERVER_NAME = "acquirer.wasl.test"
PAN = "4761739001010119"
TRACK2 = PAN + "=25122011758928889"
TID = "ACQT0001"
BATCH = "000001"
DELAY = 3  # --late-delay and --hold of the test instance


def doc_fields(mti, rules="MC"):
    """Data fields whose column for `mti` in the document's table is one of `rules`."""
    return [f for f, r in HS.presence[mti].items() if r in rules and f.isdigit()]


def start_sim(state, *extra):
    """Start the simulator; return (process, ready-line dict)."""
    os.makedirs(state, exist_ok=True)
    err = open(os.path.join(state, "stderr.log"), "w")
    proc = subprocess.Popen([sys.executable, "-m", "tools.acqsim", "--state", str(state), "--port", "0", *extra],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=err, text=True)
    err.close()
    if not select.select([proc.stdout], [], [], 20)[0]:
        proc.kill()
        pytest.fail("simulator printed no ready line in 20 s")
    line = proc.stdout.readline()
    assert line, "simulator exited: rc %s" % proc.wait()
    return proc, json.loads(line)


def stop_sim(proc, sig=signal.SIGTERM):
    proc.send_signal(sig)
    try:
        return proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    state = tmp_path_factory.mktemp("acqsim")
    proc, ready = start_sim(state, "--late-delay", str(DELAY), "--hold", str(DELAY))
    ready["ctx"] = client_ctx(base64.b64decode(ready["ca"]))
    ready["state"] = str(state)
    yield ready
    assert stop_sim(proc) == 0


def client_ctx(ca_der):
    ctx = ssl.create_default_context(cadata=ca_der)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


class Conn:
    """One TLS connection to the simulator, verified like a terminal does it."""

    def __init__(self, sim, timeout=3.0, name=SERVER_NAME, ctx=None):
        raw = socket.create_connection((sim["address"], sim["port"]), timeout=timeout)
        try:
            self.s = (ctx or sim["ctx"]).wrap_socket(raw, server_hostname=name)
        except BaseException:
            raw.close()
            raise

    def send(self, msg):
        self.send_raw(len(msg).to_bytes(2, "big") + msg)

    def send_raw(self, data):
        self.s.sendall(data)

    def read_all(self):
        """Bytes until the server closes; (data, timed_out)."""
        data = b""
        try:
            while chunk := self.s.recv(4096):
                data += chunk
        except TimeoutError:
            return data, True
        except (ConnectionResetError, ssl.SSLEOFError):
            pass
        return data, False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.s.close()


def talk(sim, msg, timeout=3.0):
    with Conn(sim, timeout) as c:
        c.send(msg)
        return c.read_all()


def sale(amount, stan, tid=TID, **fields):
    doc = {"t": "0200", "3": "000000", "4": "%012d" % amount, "7": "1129101500", "11": "%06d" % stan,
           "12": "111500", "13": "1129", "22": "051", "24": "001", "25": "00", "35": TRACK2, "41": tid,
           "42": "WASLMERCHANT001", "49": "012", "60": BATCH, "62": "%06d" % stan}
    doc.update(fields)
    return {k: v for k, v in doc.items() if v is not None}


def refund(amount, stan, tid, **fields):
    return sale(amount, stan, tid, **{"3": "200000", **fields})


def bill_payment(amount, stan, tid, bill, **fields):
    return sale(amount, stan, tid, **{"3": "500000", "48": bill, **fields})


def void(orig, orig_reply, stan, **fields):
    """A 0200 void of `orig` (section 5): the original's amount, entry mode, invoice, RRN and auth code."""
    doc = {f: orig[f] for f in doc_fields("0200", "M") if f in orig}
    doc.update({"t": "0200", "3": "020000", "11": "%06d" % stan, "37": orig_reply["37"], "38": orig_reply["38"]})
    doc.update(fields)
    return doc


def reversal(orig, **fields):
    """The 0400 of `orig`: its fields that a 0400 may carry (no card data)."""
    doc = {f: orig[f] for f in doc_fields("0400") if f in orig}
    doc.update({"t": "0400", **fields})
    return doc


SECURITY_FIELDS = ("52", "53", "64")


def upload(orig, orig_reply):
    """The 0320 of an online transaction: the original's fields, 37, 38 and 39 of its reply (no card data)."""
    both = {**orig, **orig_reply}
    return {"t": "0320", **{f: both[f] for f in doc_fields("0320") if f not in SECURITY_FIELDS + ("55", "61")}}


def settle(tid, batch, stan, totals, code="920000"):
    return {"t": "0500", "3": code, "7": "1129180000", "11": "%06d" % stan, "24": "001", "41": tid,
            "42": "WASLMERCHANT001", "60": batch, "63": totals}


def inquiry(tid, stan, bill):
    return {"t": "0100", "3": "380000", "7": "1129101500", "11": "%06d" % stan, "12": "111500", "13": "1129",
            "24": "001", "41": tid, "42": "WASLMERCHANT001", "48": bill, "49": "012"}


def echo(tid, stan):
    return {"t": "0800", "3": "990000", "7": "1129101500", "11": "%06d" % stan, "24": "001", "41": tid}


def encode(doc):
    return bytes(iso8583.encode(dict(doc), HS.spec)[0])


def framed(data):
    assert len(data) >= 2, data
    return int.from_bytes(data[:2], "big"), data[2:]


def reply_mti(req):
    return "%04d" % (int(req["t"]) + 10)


def reply_of(data, req):
    """Decode one complete framed reply and check it against the document (echoes included)."""
    n, body = framed(data)
    assert n == len(body)
    rep, _ = iso8583.decode(body, HS.spec)
    mti = reply_mti(req)
    assert rep["t"] == mti
    assert HS.check_formats(rep) == []
    assert HS.check_presence(mti, rep, req) == []
    assert rep["41"] == req["41"]
    for f in doc_fields(mti, "E"):
        assert rep.get(f) == req.get(f), f
    if HS.presence[mti]["37"] == "M":
        assert re.fullmatch(r"\d{12}", rep["37"])
    assert ("38" in rep) == (rep["39"] == "00" and HS.presence[mti]["38"] == "C")
    return rep


def ask(sim, req):
    """Send `req`, return its checked reply, whose STAN must be the request's."""
    data, timed_out = talk(sim, encode(req))
    assert not timed_out
    rep = reply_of(data, req)
    assert rep["11"] == req["11"]
    return rep


def row_for(sim, stan, tid=TID, until=lambda r: True, timeout=3.0, mti="0200"):
    """The ledger row of (tid, stan, mti), once `until(row)` holds."""
    deadline = time.monotonic() + timeout
    while True:
        with Ledger(sim["ledger"]) as led:
            rows = [r for r in led.rows(tid) if r["stan"] == "%06d" % stan and r["mti"] == mti]
        if rows and until(rows[-1]):
            assert len(rows) == 1, rows
            return rows[0]
        if time.monotonic() > deadline:
            pytest.fail("no matching ledger row for %s/%s: %r" % (tid, stan, rows))
        time.sleep(0.05)


def rrn_prefixes(*moments):
    return {"%d%03d" % (m.year % 10, m.timetuple().tm_yday) for m in moments}


def test_ready_line(sim):
    assert set(sim) - {"ctx", "state"} == {"ready", "address", "port", "server_name", "ca", "ledger"}
    assert sim["ready"] is True and sim["address"] == "127.0.0.1" and sim["port"] > 0
    assert sim["server_name"] == SERVER_NAME
    with open(os.path.join(sim["state"], "ca.der"), "rb") as f:
        assert base64.b64decode(sim["ca"]) == f.read()
    assert sim["ledger"] == os.path.join(os.path.abspath(sim["state"]), "ledger.sqlite")


def test_approval(sim):
    req = sale(1234500, 1)
    before = datetime.datetime.now(datetime.timezone.utc)
    data, timed_out = talk(sim, encode(req))
    after = datetime.datetime.now(datetime.timezone.utc)
    assert not timed_out
    rep = reply_of(data, req)
    assert rep["11"] == "000001" and rep["39"] == "00"
    assert re.fullmatch(r"[A-Z0-9]{6}", rep["38"])
    row = row_for(sim, 1, until=lambda r: r["approved"] == 1)
    assert rep["37"][:4] in rrn_prefixes(before, after)
    assert rep["37"][4:] == "%08d" % row["id"]
    assert {k: row[k] for k in ("tid", "mid", "mti", "proc_code", "invoice", "amount", "currency", "entry_mode",
                                "pan_masked", "rc", "auth_code", "rrn", "outcome", "batch", "status", "rrn_ref",
                                "bill", "original_id")} == {
        "tid": TID, "mid": "WASLMERCHANT001", "mti": "0200", "proc_code": "000000", "invoice": "000001",
        "amount": 1234500, "currency": "012", "entry_mode": "051", "pan_masked": "476173******0119",
        "rc": "00", "auth_code": rep["38"], "rrn": rep["37"], "outcome": "replied", "batch": BATCH,
        "status": "approved", "rrn_ref": None, "bill": None, "original_id": None}
    assert row["received_utc"][:10] in {before.date().isoformat(), after.date().isoformat()}


def test_key_entered_pan_is_masked_everywhere(sim):
    req = sale(2000, 2, **{"35": None, "2": "5413330089020011", "14": "2612", "22": "011"})
    rep = reply_of(talk(sim, encode(req))[0], req)
    assert rep["39"] == "00" and "2" not in rep and "35" not in rep
    assert row_for(sim, 2)["pan_masked"] == "541333******0011"


@pytest.mark.parametrize("code", rules.DECLINE_CODES)
def test_decline_triggers(sim, code):
    stan = 100 + int(code)
    req = sale(50000 + int(code), stan)
    rep = reply_of(talk(sim, encode(req))[0], req)
    assert rep["39"] == code and rep["11"] == req["11"] and "38" not in rep
    row = row_for(sim, stan, until=lambda r: r["status"] != "not_replied")
    assert (row["rc"], row["auth_code"], row["rrn"], row["outcome"], row["approved"], row["status"]) == (
        code, None, rep["37"], "replied", 0, "declined")


@pytest.mark.parametrize("req", [sale(1000, 3, **{"3": "310000"}), echo(TID, 4) | {"3": "000000"},
                                 settle(TID, BATCH, 5, "0" * 30, code="000000")], ids=["0200", "0800", "0500"])
def test_unsupported_processing_code_is_invalid_transaction(sim, req):
    assert ask(sim, req)["39"] == "12"


def test_99_no_reply(sim):
    with Conn(sim, timeout=1.0) as c:
        t0 = time.monotonic()
        c.send(encode(sale(10099, 299)))
        assert c.read_all() == (b"", True) and time.monotonic() - t0 >= 0.9  # a terminal's reply time-out
        c.s.settimeout(DELAY + 2)
        assert c.read_all() == (b"", False)  # the server lets go after --hold
        assert DELAY - 0.3 <= time.monotonic() - t0 < DELAY + 2
    row = row_for(sim, 299)
    assert (row["outcome"], row["rc"], row["rrn"], row["approved"], row["status"]) == (
        "no_reply", None, None, 0, "not_replied")


def test_98_closed(sim):
    t0 = time.monotonic()
    assert talk(sim, encode(sale(10098, 298))) == (b"", False)
    assert time.monotonic() - t0 < 2
    assert row_for(sim, 298)["outcome"] == "closed"


def test_97_garbage(sim):
    data, timed_out = talk(sim, encode(sale(10097, 297)))
    n, body = framed(data)
    assert not timed_out and n == len(body) == 20
    with pytest.raises(iso8583.DecodeError):
        iso8583.decode(body, HS.spec)
    row = row_for(sim, 297)
    assert (row["outcome"], row["approved"]) == ("garbage", 0)


def test_95_late(sim):
    with Conn(sim) as quitter:  # a terminal that gives up before the late reply: never approved
        quitter.send(encode(sale(20095, 296)))
    with Conn(sim) as c:  # and clients that close early in other ways
        c.send_raw(b"\x00\x40half a frame")
    with Conn(sim) as c:
        c.send(encode(sale(1000, 297_000)))
    req = sale(10095, 295)
    with Conn(sim, timeout=DELAY + 3) as c:
        t0 = time.monotonic()
        c.send(encode(req))
        row = row_for(sim, 295)
        assert (row["outcome"], row["approved"]) == ("late", 0)  # not approved before it is sent
        data, timed_out = c.read_all()
        elapsed = time.monotonic() - t0
    assert not timed_out and DELAY - 0.3 <= elapsed < DELAY + 2
    rep = reply_of(data, req)
    assert rep["39"] == "00" and rep["11"] == req["11"]
    assert row_for(sim, 295, until=lambda r: r["approved"] == 1)["rrn"] == rep["37"]
    quitter = row_for(sim, 296)
    assert (quitter["outcome"], quitter["rc"], quitter["approved"]) == ("late", "00", 0)


def test_94_wrong_stan(sim):
    req = sale(10094, 294)
    rep = reply_of(talk(sim, encode(req))[0], req)
    assert rep["39"] == "00" and rep["11"] != req["11"] and rep["11"] == "000295"
    assert row_for(sim, 294)["outcome"] == "wrong_stan"


def test_93_partial(sim):
    data, timed_out = talk(sim, encode(sale(10093, 293)))
    n, body = framed(data)
    assert not timed_out and n > 40 and len(body) == n // 2
    row = row_for(sim, 293)
    assert (row["outcome"], row["rc"], row["approved"], row["status"]) == ("partial", "00", 0, "not_replied")


def test_92_duplicate(sim):
    req = sale(10092, 292)
    data, timed_out = talk(sim, encode(req))
    assert not timed_out
    n, _ = framed(data)
    first, second = data[:n + 2], data[n + 2:]
    assert first == second  # the same approval, twice
    rep = reply_of(first, req)
    assert rep["39"] == "00" and rep["11"] == req["11"]
    row = row_for(sim, 292, until=lambda r: r["approved"] == 1)
    assert (row["outcome"], row["status"], row["rrn"]) == ("duplicate", "approved", rep["37"])


VOID_WITH_TRACK2 = sale(1000, 407, **{"3": "020000", "37": "612300000001", "38": "A1B2C3"})


@pytest.mark.parametrize("stan,msg", [
    (401, encode(sale(1000, 401, **{"22": None}))),             # mandatory field missing
    (402, encode(sale(1000, 402, **{"4": "00000000ABCD"}))),    # n field with letters
    (403, encode(sale(1000, 403)) + b"X"),                      # trailing byte
    (404, encode(sale(1000, 404, **{"t": "0100"}))),            # a 0200's fields in a 0100
    (405, encode(sale(1000, 405, **{"35": TRACK2.replace("=", "D")}))),  # track 2 with a 'D' separator
    (406, encode(bill_payment(1000, 406, TID, None))),          # bill payment without field 48
    (407, encode(VOID_WITH_TRACK2)),                            # card data in a void
    (408, encode(sale(1000, 408, **{"2": PAN, "14": "2512"}))),  # both track 2 and a key-entered PAN
    (409, encode(settle(TID, BATCH, 409, "0" * 29))),           # field 63 not 30 digits
    (410, encode(reversal(sale(1000, 410)) | {"35": TRACK2})),  # card data in a 0400
], ids=["missing-22", "letters-in-4", "trailing-byte", "mti-0100", "track2-D", "bill-without-48",
        "void-with-track2", "track2-and-pan", "short-63", "0400-with-track2"])
def test_format_error_gets_30(sim, stan, msg):
    data, timed_out = talk(sim, msg)
    n, body = framed(data)
    assert not timed_out and n == len(body)
    rep, _ = iso8583.decode(body, HS.spec)
    mti = rep["t"]
    assert mti == "%04d" % (int(msg[:4]) + 10)
    assert (rep["39"], rep["11"], rep["41"]) == ("30", "%06d" % stan, TID)
    assert "38" not in rep and HS.check_presence(mti, rep) == []
    assert set(rep) - {"t", "p"} == {"11", "39", "41"} | ({"37"} if "37" in doc_fields(mti, "M") else set()) | (
        {"4"} if mti == "0110" else set())
    row = row_for(sim, stan, mti=msg[:4].decode())
    assert (row["outcome"], row["rc"], row["rrn"], row["approved"], row["status"]) == (
        "format_error", "30", rep.get("37"), 0, "format_error")


@pytest.mark.parametrize("raw", [
    b"\x00\x0chello, world",
    (1025).to_bytes(2, "big") + b"0" * 1025,
    b"\x00\x00",
], ids=["undecodable", "over-1024", "empty-frame"])
def test_unreadable_request_is_closed_and_recorded(sim, raw):
    with Ledger(sim["ledger"]) as led:
        before = len([r for r in led.rows() if r["outcome"] == "format_error" and r["tid"] is None])
    with Conn(sim) as c:
        c.send_raw(raw)
        assert c.read_all() == (b"", False)
    deadline = time.monotonic() + 3
    while True:
        with Ledger(sim["ledger"]) as led:
            rows = [r for r in led.rows() if r["outcome"] == "format_error" and r["tid"] is None]
        if len(rows) == before + 1:
            break
        assert time.monotonic() < deadline, rows
        time.sleep(0.05)
    assert rows[-1]["rc"] is None and rows[-1]["approved"] == 0


def test_no_full_pan_or_track2_at_rest(sim):
    """Runs after the exchanges above (file order): the ledger and the log hold masked PANs only."""
    log = os.path.join(sim["state"], "stderr.log")
    deadline = time.monotonic() + 3
    while "stan='000405'" not in open(log).read():
        assert time.monotonic() < deadline, "exchange not logged"
        time.sleep(0.05)
    with Ledger(sim["ledger"]) as led:
        masked = {r["pan_masked"] for r in led.rows()}
    assert masked == {None, "476173******0119", "541333******0011"}
    assert "pan='476173******0119'" in open(log).read() and "Traceback" not in open(log).read()
    secrets = [PAN.encode(), b"5413330089020011", TRACK2.split("=")[1].encode()]
    for name in os.listdir(sim["state"]):
        if name.startswith("ledger.sqlite") or name == "stderr.log":
            with open(os.path.join(sim["state"], name), "rb") as f:
                blob = f.read()
            for secret in secrets:
                assert secret not in blob, (name, secret)


def test_tls_refused_for_wrong_name_or_rogue_ca(sim, tmp_path):
    with Ledger(sim["ledger"]) as led:
        count = len(led.rows())
    with pytest.raises(ssl.SSLCertVerificationError):
        Conn(sim, name="evil.wasl.test")
    subprocess.run([sys.executable, "-m", "tools.acqsim.pki", str(tmp_path / "rogue")], cwd=ROOT, check=True,
                   capture_output=True)
    rogue = (tmp_path / "rogue" / "ca.der").read_bytes()
    assert rogue != base64.b64decode(sim["ca"])
    with pytest.raises(ssl.SSLCertVerificationError):
        Conn(sim, ctx=client_ctx(rogue))
    time.sleep(0.2)
    with Ledger(sim["ledger"]) as led:
        assert len(led.rows()) == count


def test_concurrent_terminals_and_totals(sim):
    tid = "ACQTOTAL"
    amounts = [1000 * i + (51 if i % 4 == 0 else 0) for i in range(1, 25)]
    reqs = [sale(a, 500 + i, tid=tid) for i, a in enumerate(amounts)]
    with concurrent.futures.ThreadPoolExecutor(len(reqs)) as pool:
        replies = list(pool.map(lambda r: reply_of(talk(sim, encode(r))[0], r), reqs))
    approved = [int(r["4"]) for r in replies if r["39"] == "00"]
    assert len(approved) == 18 and all(r["39"] == "51" for r in replies if r["39"] != "00")
    assert len({r["37"] for r in replies}) == len(replies)
    deadline = time.monotonic() + 3  # approvals are flagged right after the reply is written
    while True:
        with Ledger(sim["ledger"]) as led:
            totals = led.totals(tid)
        if totals["count"] == 18 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert totals == {"count": 18, "amount": sum(approved)}
    with Ledger(sim["ledger"]) as led:
        assert len(led.rows(tid)) == 24
        assert led.totals("NOSUCHID") == {"count": 0, "amount": 0}


def wait_rows(sim, tid, ready, timeout=3.0):
    """The terminal's ledger rows once `ready(rows)` holds (replies are flagged just after being written)."""
    deadline = time.monotonic() + timeout
    while True:
        with Ledger(sim["ledger"]) as led:
            rows = led.rows(tid)
        if ready(rows):
            return rows
        if time.monotonic() > deadline:
            pytest.fail("ledger of %s never got ready: %r" % (tid, rows))
        time.sleep(0.05)


def statuses(sim, tid, want):
    """{(mti, stan): status} of the terminal's rows, once it equals `want` for the keys of `want`."""
    def pick(rows):
        return {(r["mti"], r["stan"]): r["status"] for r in rows}
    return pick(wait_rows(sim, tid, lambda rows: all(pick(rows).get(k) == v for k, v in want.items())))


def batch_totals(sim, tid, batch=BATCH):
    with Ledger(sim["ledger"]) as led:
        return led.batch_totals(tid, batch)


def totals(dc=0, da=0, cc=0, ca=0):
    return {"debit_count": dc, "debit_amount": da, "credit_count": cc, "credit_amount": ca}


def test_void(sim):
    tid = "VOIDTEST"
    orig = sale(5000, 1, tid)
    orig_rep = ask(sim, orig)
    bill = bill_payment(2500, 2, tid, "GAZ/55511122")
    bill_rep = ask(sim, bill)
    statuses(sim, tid, {("0200", "000001"): "approved", ("0200", "000002"): "approved"})
    assert ask(sim, void(orig, orig_rep, 3, **{"4": "%012d" % 4999}))["39"] == "13"
    assert ask(sim, void(orig, orig_rep, 4, **{"37": "000000000000"}))["39"] == "25"
    assert ask(sim, void(orig, orig_rep, 5, **{"60": "000002"}))["39"] == "25"  # another batch
    rep = ask(sim, void(orig, orig_rep, 6))
    assert rep["39"] == "00" and re.fullmatch(r"[A-Z0-9]{6}", rep["38"]) and rep["37"] != orig_rep["37"]
    assert ask(sim, void(orig, orig_rep, 7))["39"] == "12"  # already voided
    assert ask(sim, void(bill, bill_rep, 8))["39"] == "00"  # a bill payment too
    got = statuses(sim, tid, {("0200", "000006"): "approved", ("0200", "000008"): "approved"})
    assert got == {("0200", "%06d" % n): s for n, s in enumerate(
        ["voided", "voided", "declined", "declined", "declined", "approved", "declined", "approved"], 1)}
    with Ledger(sim["ledger"]) as led:
        rows = {r["stan"]: r for r in led.rows(tid)}
        assert led.batch_totals(tid, BATCH) == totals()
    sale_id, bill_id = rows["000001"]["id"], rows["000002"]["id"]
    assert [rows["%06d" % n]["original_id"] for n in range(3, 9)] == [sale_id, None, None, sale_id, sale_id, bill_id]
    void_row = rows["000006"]
    assert [void_row[k] for k in ("proc_code", "amount", "rrn_ref", "rrn", "pan_masked")] == [
        "020000", 5000, orig_rep["37"], rep["37"], None]


def test_refund_is_a_credit(sim):
    tid = "RFNDTEST"
    orig_rep = ask(sim, sale(10000, 1, tid))
    assert ask(sim, refund(2500, 2, tid, **{"37": orig_rep["37"]}))["39"] == "00"
    assert ask(sim, refund(700, 3, tid))["39"] == "00"  # without the original's RRN
    assert ask(sim, refund(1051, 4, tid))["39"] == "51"  # cents triggers apply to refunds
    statuses(sim, tid, {("0200", "000003"): "approved", ("0200", "000004"): "declined"})
    assert batch_totals(sim, tid) == totals(1, 10000, 2, 3200)
    assert row_for(sim, 2, tid)["rrn_ref"] == orig_rep["37"]


def test_reversal(sim):
    tid = "REVSTEST"
    first, second = sale(10000, 1, tid), sale(20000, 2, tid)
    ask(sim, first)
    second_rep = ask(sim, second)
    with Conn(sim, timeout=0.3) as c:  # a .99: the terminal never learns the outcome
        unknown = sale(30099, 3, tid)
        c.send(encode(unknown))
        assert c.read_all() == (b"", True)
    statuses(sim, tid, {("0200", "000002"): "approved", ("0200", "000003"): "not_replied"})
    assert batch_totals(sim, tid) == totals(2, 30000)

    rep = ask(sim, reversal(first))
    assert rep["39"] == "00" and rep["3"] == "000000" and rep["4"] == first["4"] and rep["60"] == BATCH
    statuses(sim, tid, {("0200", "000001"): "reversed", ("0400", "000001"): "approved"})
    assert batch_totals(sim, tid) == totals(1, 20000)
    assert ask(sim, reversal(first))["39"] == "00"  # repeated: done again, nothing changes
    assert ask(sim, reversal(unknown))["39"] == "00"
    assert ask(sim, reversal(sale(10000, 9, tid)))["39"] == "25"  # no such STAN
    assert ask(sim, reversal(second, **{"4": "%012d" % 19999}))["39"] == "25"  # not the original's amount
    assert ask(sim, reversal(second, **{"3": "200000"}))["39"] == "25"  # nor its processing code
    statuses(sim, tid, {("0200", "000003"): "reversed"})
    assert batch_totals(sim, tid) == totals(1, 20000)
    with Ledger(sim["ledger"]) as led:
        rows = led.rows(tid)
    ids = {r["stan"]: r["id"] for r in rows if r["mti"] == "0200"}
    assert [(r["stan"], r["rc"], r["original_id"]) for r in rows if r["mti"] == "0400"] == [
        ("000001", "00", ids["000001"]), ("000001", "00", ids["000001"]), ("000003", "00", ids["000003"]),
        ("000009", "25", None), ("000002", "25", None), ("000002", "25", None)]

    voiding = void(second, second_rep, 4)
    assert ask(sim, voiding)["39"] == "00"
    statuses(sim, tid, {("0200", "000002"): "voided", ("0200", "000004"): "approved"})
    assert batch_totals(sim, tid) == totals()
    assert ask(sim, reversal(voiding))["39"] == "00"  # reversing the void brings the sale back
    statuses(sim, tid, {("0200", "000002"): "approved", ("0200", "000004"): "reversed"})
    assert batch_totals(sim, tid) == totals(1, 20000)


def test_bill_inquiry(sim):
    tid = "BILLTEST"
    req = inquiry(tid, 1, "ELEC/1234567891")
    rep = ask(sim, req)
    # amount due = int("567891") % 500000 + 100; name = customer table[1234567891 % 10]
    assert (rep["39"], rep["4"], rep["48"]) == ("00", "000000067991", "BOUDIAF AMINA")
    assert re.fullmatch(r"[A-Z0-9]{6}", rep["38"])
    assert ask(sim, inquiry(tid, 2, "EAU/9876500001"))["4"] == "000000000101"  # 500001 % 500000 + 100
    for stan, bill, rc in ((3, "GAS/1234567891", "12"), (4, "ELEC/12340000", "25"), (5, "TEL/12345", "12"),
                           (6, "NET-1234567891", "12"), (7, "NET/123456789012345678901", "12")):
        rep = ask(sim, inquiry(tid, stan, bill))
        assert (rep["39"], rep["4"], "48" in rep) == (rc, "0" * 12, False), bill
    rows = wait_rows(sim, tid, lambda rows: len(rows) == 7 and all(r["status"] != "not_replied" for r in rows))
    assert [(r["mti"], r["proc_code"], r["bill"], r["status"], r["amount"]) for r in rows[:2]] == [
        ("0100", "380000", "ELEC/1234567891", "approved", None), ("0100", "380000", "EAU/9876500001", "approved", None)]
    assert {r["status"] for r in rows[2:]} == {"declined"}
    with Ledger(sim["ledger"]) as led:
        assert led.totals(tid) == {"count": 0, "amount": 0}
    assert batch_totals(sim, tid) == totals()


def test_bill_payment(sim):
    tid = "BILLPAYT"
    rep = ask(sim, bill_payment(67900, 1, tid, "ELEC/1234567891"))
    assert rep["39"] == "00" and "48" not in rep
    assert ask(sim, bill_payment(5051, 2, tid, "GAZ/55511122"))["39"] == "51"
    row = row_for(sim, 1, tid, until=lambda r: r["status"] == "approved")
    assert (row["proc_code"], row["bill"], row["amount"], row["pan_masked"]) == (
        "500000", "ELEC/1234567891", 67900, "476173******0119")
    statuses(sim, tid, {("0200", "000002"): "declined"})
    assert batch_totals(sim, tid) == totals(1, 67900)


def field63(t):
    return "%03d%012d%03d%012d" % (t["debit_count"], t["debit_amount"], t["credit_count"], t["credit_amount"])


def test_settlement(sim):
    tid = "STLMTEST"
    for req in (sale(10000, 1, tid), sale(5000, 2, tid), refund(2000, 3, tid)):
        ask(sim, req)
    voided, reversed_ = sale(7000, 4, tid), sale(3000, 6, tid)
    ask(sim, void(voided, ask(sim, voided), 5))
    ask(sim, reversed_)
    ask(sim, reversal(reversed_))
    ask(sim, sale(4051, 7, tid))
    host = totals(2, 15000, 1, 2000)
    statuses(sim, tid, {("0200", "000004"): "voided", ("0200", "000006"): "reversed", ("0200", "000007"): "declined"})
    assert batch_totals(sim, tid) == host

    rep = ask(sim, settle(tid, BATCH, 8, field63(host)))
    assert (rep["39"], rep["63"], rep["60"]) == ("00", field63(host), BATCH)

    # batch 2: the terminal counts a sale the host reversed -> 95, uploads, 960000
    batch = "000002"
    kept, dropped = sale(12000, 1, tid, **{"60": batch}), sale(8000, 2, tid, **{"60": batch})
    kept_rep = ask(sim, kept)
    ask(sim, dropped)
    ask(sim, reversal(dropped))
    terminal = totals(2, 20000)
    statuses(sim, tid, {("0200", "000001"): "approved"})
    rep = ask(sim, settle(tid, batch, 3, field63(terminal)))
    assert (rep["39"], rep["63"]) == ("95", field63(totals(1, 12000)))
    rep = ask(sim, upload(kept, kept_rep))
    assert rep["39"] == "00" and rep["37"] == kept_rep["37"]
    rep = ask(sim, settle(tid, batch, 4, field63(terminal), code="960000"))
    assert rep["39"] == "00" and rep["3"] == "960000"
    assert ask(sim, settle(tid, "000003", 1, "0" * 30))["39"] == "00"  # an empty batch
    assert ask(sim, settle(tid, "000004", 1, field63(totals(1, 100))))["39"] == "95"

    with Ledger(sim["ledger"]) as led:
        got = [{k: v for k, v in r.items() if k not in ("id", "received_utc", "auth_id")} for r in led.settlements(tid)]
        up = led.find(tid=tid, mti="0320")
        kept_row = led.find(tid=tid, mti="0200", batch=batch, stan="000001")[0]
        assert led.settlements("NOSUCHID") == []

    def expect(batch, code, term, host, rc):
        return {"tid": tid, "batch": batch, "proc_code": code, "matched": int(term == host), "rc": rc,
                **{"terminal_" + k: v for k, v in term.items()}, **{"host_" + k: v for k, v in host.items()}}
    assert got == [expect(BATCH, "920000", host, host, "00"),
                   expect(batch, "920000", terminal, totals(1, 12000), "95"),
                   expect(batch, "960000", terminal, totals(1, 12000), "00"),
                   expect("000003", "920000", totals(), totals(), "00"),
                   expect("000004", "920000", totals(1, 100), totals(), "95")]
    assert [(r["original_id"], r["rrn_ref"], r["amount"], r["status"]) for r in up] == [
        (kept_row["id"], kept_rep["37"], 12000, "approved")]


def test_echo(sim):
    rep = ask(sim, echo(TID, 800))
    assert (rep["39"], rep["3"]) == ("00", "990000") and "37" not in rep
    assert row_for(sim, 800, mti="0800", until=lambda r: r["status"] == "approved")["rc"] == "00"


def test_fail_reversals_and_delay(tmp_path):
    proc, ready = start_sim(tmp_path / "slow", "--fail-reversals", "1", "--delay", "0.5", "--hold", "2")
    try:
        sim = dict(ready, ctx=client_ctx(base64.b64decode(ready["ca"])))
        tid = "SLOWTEST"
        t0 = time.monotonic()
        assert ask(sim, echo(tid, 1))["39"] == "00"
        assert 0.5 <= time.monotonic() - t0 < 2
        orig = sale(10000, 2, tid)
        ask(sim, orig)
        with Conn(sim, timeout=1.0) as c:  # the first 0400 is held: no reply
            c.send(encode(reversal(orig)))
            assert c.read_all() == (b"", True)
        rows = statuses(sim, tid, {("0200", "000002"): "approved", ("0400", "000002"): "not_replied"})
        assert len(rows) == 3
        assert ask(sim, reversal(orig))["39"] == "00"  # the retry is answered
        rows = wait_rows(sim, tid, lambda rows: len(rows) == 4 and rows[3]["status"] == "approved")
        assert [(r["mti"], r["outcome"], r["status"]) for r in rows] == [
            ("0800", "replied", "approved"), ("0200", "replied", "reversed"),
            ("0400", "no_reply", "not_replied"), ("0400", "replied", "approved")]
    finally:
        assert stop_sim(proc) == 0


def doc_section_10():
    with open(hostspec.DOC, encoding="utf-8") as f:
        return f.read().split("## 10. Simulator test triggers", 1)[1].split("\n## ", 1)[0]


def test_doc_trigger_table_matches_rules():
    table = {}
    for line in doc_section_10().split("### 10.2", 1)[1].split("\n### ", 1)[0].splitlines():
        m = re.match(r"^\| `\.(\d\d)` \|.*\| (`(\d\d)`|—) \| `(\w+)` \|$", line)
        if m:
            table[int(m.group(1))] = (m.group(3), m.group(4))
    assert table == {c: (a.rc, a.outcome) for c, a in rules.TRIGGERS.items()}


def test_doc_bill_tables_match_rules():
    section = doc_section_10()
    billers = dict(re.findall(r"^\| `([A-Z]+)` \| ([^|`]+?) \|$", section, re.M))
    customers = re.findall(r"^\| (\d) \| `([A-Z ]+)` \|$", section, re.M)
    assert billers == rules.BILLERS
    assert customers == [(str(i), name) for i, name in enumerate(rules.CUSTOMERS)]
    assert all(len(name) <= 40 for name in rules.CUSTOMERS)


def test_pki_reused_and_signals_exit_cleanly(tmp_path):
    state = tmp_path / "pki"
    subprocess.run([sys.executable, "-m", "tools.acqsim.pki", str(state)], cwd=ROOT, check=True, capture_output=True)
    files = {f: (state / f).read_bytes() for f in ("ca.der", "ca.pem", "server.pem", "server.key")}
    ca = x509.load_der_x509_certificate(files["ca.der"])
    cert = x509.load_pem_x509_certificate(files["server.pem"])
    assert ca.subject.rfc4514_string() == "CN=Wasl Test Acquirer CA" == ca.issuer.rfc4514_string()
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert cert.subject.rfc4514_string() == "CN=" + SERVER_NAME
    assert cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName) == [SERVER_NAME]
    cert.verify_directly_issued_by(ca)
    for sig in (signal.SIGINT, signal.SIGTERM):
        proc, ready = start_sim(state)
        assert base64.b64decode(ready["ca"]) == files["ca.der"]
        assert stop_sim(proc, sig) == 0
    assert {f: (state / f).read_bytes() for f in files} == files


# ---- cardholder and message security: MAC, PIN, ARQC (doc sections 10.8, 13, 14) -------------------------

FIX = os.path.join(ROOT, "host_tests", "fw", "fixtures")
NOW = (2026, 7, 5, 10, 8, 7)
VISA_PAN, MC_PAN, TAP_PAN = "4761739001010010", "5555555555554444", "4761739001010119"
EDAHABIA_TRACK2 = "6280590000000000008=30122011000000000"     # magstripe.json edahabia_tap, PIN 2580


@pytest.fixture(scope="module")
def secsim(tmp_path_factory):
    """A simulator of its own for the security tests: its own ledger and wrong-PIN counts."""
    state = tmp_path_factory.mktemp("acqsec")
    proc, ready = start_sim(state, "--late-delay", str(DELAY), "--hold", str(DELAY))
    ready["ctx"] = client_ctx(base64.b64decode(ready["ca"]))
    ready["state"] = str(state)
    yield ready
    assert stop_sim(proc) == 0


class Terminal:
    """A keyed terminal: the firmware's key store (wasl.crypto.keystore, on CPython) on a copy of a
    keyinject-made fixture (the published test BDKs, the simulator's default BDKs). One transaction, hence
    one KSN, per request, as docs/host-interface.md 13.1 says."""

    def __init__(self, path, scheme="aes"):
        shutil.copytree(os.path.join(FIX, "crypto_keystore_" + scheme), path)
        self.ks = KeyStore(FileSecureStorage(str(path / "secure")), str(path / "keys"))
        assert self.ks.load()
        self.t = None

    def begin(self):
        """The next transaction: a new KSN and its working keys."""
        if self.t is not None:
            self.t.wipe()
        self.t = self.ks.begin_transaction()

    def request(self, doc, pin=None, mac=True):
        """(request dict, encoded request) with field 53, 52 when `pin`, and 64 when `mac`."""
        self.begin()
        doc = dict(doc, **{"53": self.t.ksn.hex().upper()})
        if pin is not None:
            pan = doc.get("2") or doc["35"].split("=")[0]
            doc["52"] = bytes(self.t.pin_block(bytearray(pin.encode()), pan)).hex().upper()
        if mac:
            doc["64"] = "00" * 8
        raw = encode(doc)
        if mac:
            raw = raw[:-8] + bytes(self.t.mac(raw[:-8]))
            doc["64"] = raw[-8:].hex().upper()
        return doc, raw

    def stored_card(self, track2):
        """Field 61 (hex) of a sale approved offline now (doc section 15.3): the KSN this sale takes, and the
        track 2 zero-padded to whole blocks, enciphered by the key store's TxnKeys.encrypt_data (CBC, zero
        IV, the data encryption key of that KSN)."""
        self.begin()
        ksn = bytes(self.t.ksn)
        clear = track2.encode() + bytes(-len(track2) % (16 if len(ksn) == 12 else 8))
        return (bytes([len(ksn)]) + ksn + bytes(self.t.encrypt_data(clear))).hex().upper()

    def reply_mac_ok(self, data):
        """Does the framed reply's field 64 verify with this transaction's MAC verification key?"""
        _, body = framed(data)
        return self.t.verify_mac(body[:-8], body[-8:])

    def ask(self, sim, doc, pin=None, mac_ok=True):
        """Send a keyed request; its checked reply, whose MAC must verify (or not, `mac_ok`)."""
        req, raw = self.request(doc, pin)
        data, timed_out = talk(sim, raw)
        assert not timed_out
        rep = reply_of(data, req)
        assert rep["11"] == req["11"] and "64" in rep
        assert self.reply_mac_ok(data) is mac_ok
        return req, rep


@pytest.fixture(scope="module")
def aes_term(tmp_path_factory):
    return Terminal(tmp_path_factory.mktemp("term") / "aes")


@pytest.fixture(scope="module")
def tdes_term(tmp_path_factory):
    return Terminal(tmp_path_factory.mktemp("term") / "tdes", "tdes")


class Chip:
    """A virtual EMV card read by the firmware's kernel up to its first cryptogram (the ARQC)."""

    def __init__(self, profile, amount, pin=True):
        self.prof = load_profile(profile)
        self.card = VirtualCard(self.prof)
        self.tap = bool(self.prof.get("ppse"))
        self.pin_asked = False
        self.k = Kernel(Reader(self.card, CardRemoved), emvrecord.TEST_PARAMS, entry="tap" if self.tap else "chip",
                        pin=self._pin, rng=emvrecord.FixedRandom())
        self.pin = pin
        self.r = asyncio.run(self.k.start(amount, NOW))
        assert self.r.outcome == "go_online", (self.r.outcome, self.r.error)

    async def _pin(self, result):
        self.pin_asked = True
        return self.pin

    def fields(self):
        """Fields 22, 23, 35 and 55 of the request (section 14.1)."""
        f = {"22": "071" if self.tap else "051", "35": self.r.track2_text(), "55": bytes(self.r.de55).hex().upper()}
        if self.r.psn:
            f["23"] = "%03d" % int(bytes(self.r.psn).hex())
        return f

    def complete(self, rep):
        """The kernel's second half with the reply's field 39 and 55."""
        return asyncio.run(self.k.complete(rep["39"], bytes.fromhex(rep.get("55", ""))))


def secrow(sim, stan, tid, mti="0200", until=lambda r: r["status"] not in ("not_replied",)):
    return row_for(sim, stan, tid, until=until, mti=mti)


def checks(row):
    return {k: row[k] for k in ("mac", "pin", "arqc", "outcome", "status", "rc")}


def test_ledger_has_the_security_columns_and_old_ledgers_gain_them(tmp_path):
    names = [c for c, _ in AUTH]
    assert {"pin", "mac", "arqc", "ksn"} <= set(names)
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE auth (%s)" % ", ".join("%s %s" % c for c in AUTH if c[0] not in ("pin", "mac", "arqc",
                                                                                              "ksn")))
    db.commit()
    db.close()
    with Ledger(str(path)) as led:
        have = {r["name"] for r in led.db.execute("PRAGMA table_info(auth)")}
    assert set(names) <= have


def test_requests_without_mac_are_processed_as_before(secsim):
    tid = "NOKEYS01"
    rep = ask(secsim, sale(1000, 1, tid))
    assert rep["39"] == "00" and "64" not in rep and "55" not in rep
    assert checks(secrow(secsim, 1, tid)) == {"mac": "none", "pin": "none", "arqc": "none", "outcome": "replied",
                                              "status": "approved", "rc": "00"}
    assert secrow(secsim, 1, tid)["ksn"] is None


@pytest.mark.parametrize("scheme", ["aes", "tdes"])
def test_every_request_mti_macs_both_ways(secsim, scheme, aes_term, tdes_term):
    term = aes_term if scheme == "aes" else tdes_term
    tid = "MAC" + scheme.upper().ljust(4, "X") + "1"
    orig, orig_rep = term.ask(secsim, sale(10000, 1, tid))
    assert orig_rep["39"] == "00" and re.fullmatch(r"[A-Z0-9]{6}", orig_rep["38"])
    assert term.ask(secsim, refund(500, 2, tid))[1]["39"] == "00"
    assert term.ask(secsim, inquiry(tid, 3, "ELEC/1234567891"))[1]["48"] == "BOUDIAF AMINA"
    rev = sale(20000, 4, tid)
    term.ask(secsim, rev)
    assert term.ask(secsim, reversal(rev))[1]["39"] == "00"
    assert term.ask(secsim, void(orig, orig_rep, 5))[1]["39"] == "00"
    assert term.ask(secsim, upload(refund(500, 2, tid), {"37": "000000000000", "38": "ABCDEF", "39": "00"}))[1][
        "39"] == "00"
    assert term.ask(secsim, settle(tid, BATCH, 6, "0" * 15 + "001000000000500"))[1]["39"] == "00"
    assert term.ask(secsim, echo(tid, 7))[1]["39"] == "00"
    rows = wait_rows(secsim, tid, lambda rows: len(rows) == 9 and all(r["status"] != "not_replied" for r in rows))
    assert {r["mac"] for r in rows} == {"ok"} and {r["pin"] for r in rows} == {"none"}
    ksns = [r["ksn"] for r in rows]
    assert len(set(ksns)) == 9 and all(len(k) == (24 if scheme == "aes" else 20) for k in ksns)
    assert [r["status"] for r in rows] == ["voided", "approved", "approved", "reversed", "approved", "approved",
                                           "approved", "approved", "approved"]


def test_bad_mac_is_63_still_macd_and_changes_nothing(secsim, aes_term):
    tid = "BADMAC01"
    orig, orig_rep = aes_term.ask(secsim, sale(10000, 1, tid))
    for stan, doc, tamper in ((2, sale(2000, 2, tid), "mac"), (3, sale(3000, 3, tid), "amount"),
                              (1, reversal(orig), "mac"), (4, settle(tid, BATCH, 4, field63(totals(1, 10000))), "mac"),
                              (5, echo(tid, 5), "mac")):
        req, raw = aes_term.request(doc)
        if tamper == "mac":
            raw = raw[:-1] + bytes([raw[-1] ^ 1])
        else:  # the amount changed after the MAC: a man in the middle
            raw = raw.replace(req["4"].encode(), b"%012d" % (int(req["4"]) + 1), 1)
            req["4"] = "%012d" % (int(req["4"]) + 1)
        data, timed_out = talk(secsim, raw)
        rep = reply_of(data, req)
        assert not timed_out and rep["39"] == "63" and "38" not in rep and "55" not in rep
        assert aes_term.reply_mac_ok(data)                 # the 63 itself is MACed: the terminal can trust it
        row = secrow(secsim, stan, tid, mti=req["t"], until=lambda r: r["outcome"] == "bad_mac" and r["status"]
                     == "declined")
        assert (row["mac"], row["approved"], row["rc"]) == ("bad", 0, "63")
    assert statuses(secsim, tid, {("0200", "000001"): "approved"})[("0200", "000001")] == "approved"  # not reversed
    with Ledger(secsim["ledger"]) as led:
        assert led.settlements(tid) == []                   # the bad 0500 settled nothing
        assert led.batch_totals(tid, BATCH) == totals(1, 10000)


def test_a_ksn_the_host_cannot_use_gets_63_without_a_mac(secsim, aes_term):
    tid = "BADKSN01"
    req, raw = aes_term.request(sale(1000, 1, tid))
    bad_ksn = "1234567890123456" + "00000000"                  # counter 0: never a terminal's
    req["53"] = bad_ksn
    raw = encode(req)                                          # MAC bytes kept: they cannot verify anyway
    rep = reply_of(talk(secsim, raw)[0], req)
    assert rep["39"] == "63" and "64" not in rep
    assert checks(secrow(secsim, 1, tid))["mac"] == "bad"


SECURITY_FORMAT_ERRORS = [
    ("64-without-53", {"53": None}, False),
    ("53-of-11-bytes", {"53": "00" * 11}, False),
    ("52-of-8-bytes-with-aes-ksn", {"52": "00" * 8}, True),
    ("55-in-a-void", {"3": "020000", "35": None, "37": "612300000001", "38": "A1B2C3", "55": "9F270180"}, True),
    ("52-in-a-void", {"3": "020000", "35": None, "37": "612300000001", "38": "A1B2C3", "52": "00" * 16}, True),
    ("23-in-a-void", {"3": "020000", "35": None, "37": "612300000001", "38": "A1B2C3", "23": "001"}, True),
]


@pytest.mark.parametrize("name,fields,macd", SECURITY_FORMAT_ERRORS, ids=[c[0] for c in SECURITY_FORMAT_ERRORS])
def test_security_format_errors_get_30(secsim, aes_term, name, fields, macd):
    tid = "SECFMT%02d" % [c[0] for c in SECURITY_FORMAT_ERRORS].index(name)
    stan = 1
    aes_term.begin()
    doc = sale(1000, stan, tid, **{"53": aes_term.t.ksn.hex().upper(), "64": "00" * 8})
    doc.update(fields)
    doc = {k: v for k, v in doc.items() if v is not None}
    raw = encode(doc)
    raw = raw[:-8] + bytes(aes_term.t.mac(raw[:-8]))
    data, _ = talk(secsim, raw)
    n, body = framed(data)
    rep, _ = iso8583.decode(body, HS.spec)
    assert (rep["39"], rep["11"], rep["41"]) == ("30", "%06d" % stan, tid)
    assert ("64" in rep) == macd
    if macd:
        assert aes_term.reply_mac_ok(data)
    row = row_for(secsim, stan, tid)
    assert (row["outcome"], row["status"]) == ("format_error", "format_error")


def test_pin_right_wrong_three_wrong_and_back(secsim, aes_term):
    tid = "PINTEST1"
    swipe = {"35": EDAHABIA_TRACK2, "22": "021"}
    answers = []
    for stan, pin in enumerate(("2580", "1234", "0000", "2580", "1111", "2222", "3333", "4444", "2580", "9999"), 1):
        answers.append(aes_term.ask(secsim, sale(1000 + stan * 100, stan, tid, **swipe), pin=pin)[1]["39"])
    assert answers == ["00", "55", "55", "00", "55", "55", "75", "75", "00", "55"]
    rows = wait_rows(secsim, tid, lambda rows: len(rows) == 10 and all(r["status"] != "not_replied" for r in rows))
    assert [r["pin"] for r in rows] == ["ok", "wrong", "wrong", "ok", "wrong", "wrong", "wrong", "wrong", "ok",
                                        "wrong"]
    assert {r["mac"] for r in rows} == {"ok"} and rows[1]["status"] == "declined" and rows[1]["approved"] == 0


def test_pin_of_each_card_file_and_default(secsim, aes_term, tdes_term):
    tid = "PINCARDS"
    cases = [(VISA_PAN + "=30122011143804400000", "1234"),       # emv_visa_cvn18 / magstripe visa_ok
             (MC_PAN + "=30122011000000000", "4321"),             # emv_mc_cvn16
             ("6280580000000000018=30122011000000000", "1234"),   # magstripe cib_chip ('D' separator there)
             ("4000000000000002=30122011000000000", "1234")]      # no card file: 1234
    stan = 0
    for track2, pin in cases:
        for term in (aes_term, tdes_term):
            stan += 1
            assert term.ask(secsim, sale(1000, stan, tid, **{"35": track2, "22": "021"}), pin=pin)[1]["39"] == "00"
            stan += 1
            assert term.ask(secsim, sale(1000, stan, tid, **{"35": track2, "22": "021"}), pin="9876")[1]["39"] == "55"
    # key-entered (field 2) with a PIN
    stan += 1
    doc = sale(1000, stan, tid, **{"35": None, "2": MC_PAN, "14": "3012", "22": "011"})
    assert aes_term.ask(secsim, doc, pin="4321")[1]["39"] == "00"


def test_pin_without_mac_and_bad_blocks(secsim, aes_term):
    tid = "PINBLOCK"
    swipe = {"35": VISA_PAN + "=30122011143804400000", "22": "021"}
    req, raw = aes_term.request(sale(1000, 1, tid, **swipe), pin="1234", mac=False)   # 52 + 53, no 64
    rep = reply_of(talk(secsim, raw)[0], req)
    assert rep["39"] == "00" and "64" not in rep
    # a block that is not one (random bytes), twice: 55, never counted as a try, so no 75
    for stan in (2, 3, 4):
        req, raw = aes_term.request(sale(1000, stan, tid, **swipe, **{"52": "5A" * 16}), mac=False)
        assert reply_of(talk(secsim, raw)[0], req)["39"] == "55"
    # the right PIN under a KSN the host cannot use: bad_block too
    req, raw = aes_term.request(sale(1000, 5, tid, **swipe), pin="1234", mac=False)
    req["53"] = "1234567890123456" + "00000000"
    assert reply_of(talk(secsim, encode(req))[0], req)["39"] == "55"
    rows = wait_rows(secsim, tid, lambda rows: len(rows) == 5 and all(r["status"] != "not_replied" for r in rows))
    assert [(r["pin"], r["mac"], r["rc"]) for r in rows] == [("ok", "none", "00")] + [("bad_block", "none", "55")] * 4


@pytest.mark.parametrize("profile,amount,scheme", [("emv_visa_cvn18", 150000, "aes"), ("emv_mc_cvn16", 250000, "aes"),
                                                   ("emv_contactless", 750000, "tdes"),
                                                   ("emv_two_apps", 150000, "aes")])
def test_good_arqc_approved_and_the_card_accepts_the_arpc(secsim, aes_term, tdes_term, profile, amount, scheme):
    term = aes_term if scheme == "aes" else tdes_term
    tid = ("ARQ" + profile[4:9]).upper().ljust(8, "X")
    chip = Chip(profile, amount)
    req, rep = term.ask(secsim, sale(amount, 1, tid, **chip.fields()), pin=chip.prof["pin"] if chip.pin_asked else None)
    assert rep["39"] == "00" and "55" in rep
    f55 = emvhost.decode_de55(bytes.fromhex(rep["55"]))
    assert list(f55) == ["91"]
    assert f55["91"] == emvhost.verify_arqc(chip.prof, chip.r.de55, chip.r.pan_digits(), arc="00")[1]
    r = chip.complete(rep)
    assert r.outcome == "approved" and r.cid & 0xC0 == (0x80 if chip.tap else 0x40)   # TC; contactless: its ARQC
    assert chip.card.issuer_auth is (None if chip.tap else True)   # contactless: no second GENERATE AC
    row = secrow(secsim, 1, tid)
    assert checks(row) == {"mac": "ok", "pin": "ok" if chip.pin_asked else "none", "arqc": "ok", "outcome": "replied",
                           "status": "approved", "rc": "00"}
    assert row["entry_mode"] == req["22"]


def test_declines_carry_the_arpc_of_their_code(secsim, aes_term):
    tid = "ARQCDECL"
    chip = Chip("emv_mc_cvn16", 250051)                          # .51, method 1: ARPC || ARC "51"
    req, rep = aes_term.ask(secsim, sale(250051, 1, tid, **chip.fields()), pin="4321")
    assert rep["39"] == "51"
    f91 = emvhost.decode_de55(bytes.fromhex(rep["55"]))["91"]
    assert f91[8:] == b"51"
    r = chip.complete(rep)
    assert r.outcome == "declined" and chip.card.issuer_auth is True
    chip = Chip("emv_visa_cvn18", 150000)                         # a wrong PIN with a good ARQC: 55 with 91
    req, rep = aes_term.ask(secsim, sale(150000, 2, tid, **chip.fields()), pin="9999")
    assert rep["39"] == "55" and "91" in emvhost.decode_de55(bytes.fromhex(rep["55"]))
    assert chip.complete(rep).outcome == "declined"
    assert checks(secrow(secsim, 2, tid))["pin"] == "wrong"


def test_bad_arqc_is_05_without_field_55(secsim, aes_term):
    tid = "BADARQC1"
    chip = Chip("emv_visa_cvn18", 150000)
    fields = chip.fields()
    de55 = bytearray(bytes.fromhex(fields["55"]))
    i = de55.find(bytes.fromhex("9F0206")) + 3
    de55[i + 5] ^= 0x01                                         # the amount in 9F02 changed: the ARQC fails
    cases = [(1, dict(fields, **{"55": de55.hex().upper()})),
             (2, dict(fields, **{"35": "4000000000000002=30122011000000000"})),   # no issuer keys for that PAN
             (3, dict(fields, **{"55": "9F2701"})),                               # not BER-TLV
             (4, dict(fields, **{"55": fields["55"].replace("9F270180", "9F270100")}))]   # an AAC in a sale
    for stan, f in cases:
        req, rep = aes_term.ask(secsim, sale(150000, stan, tid, **f), pin="1234")
        assert rep["39"] == "05" and "55" not in rep and "38" not in rep, stan
        assert checks(secrow(secsim, stan, tid)) == {"mac": "ok", "pin": "none", "arqc": "bad", "outcome": "replied",
                                                     "status": "declined", "rc": "05"}
    # the same AAC in a refund is not verified: approved, no field 55 in the reply
    req, rep = aes_term.ask(secsim, refund(150000, 5, tid, **cases[3][1]))
    assert rep["39"] == "00" and "55" not in rep
    assert checks(secrow(secsim, 5, tid))["arqc"] == "none"
    # and the card, given the 05 without 91, declines
    assert chip.complete({"39": "05"}).outcome == "declined"


def test_trigger_71_bad_reply_mac_then_reversal(secsim, aes_term):
    tid = "TRIG71XX"
    req, rep = aes_term.ask(secsim, sale(10071, 1, tid), mac_ok=False)
    assert rep["39"] == "00" and "64" in rep
    row = secrow(secsim, 1, tid, until=lambda r: r["status"] == "approved")
    assert (row["outcome"], row["mac"]) == ("bad_reply_mac", "ok")
    assert aes_term.ask(secsim, reversal(req))[1]["39"] == "00"   # what the terminal must do
    assert statuses(secsim, tid, {("0200", "000001"): "reversed"})
    # without a MAC in the request: a plain approval
    rep = ask(secsim, sale(10071, 2, tid))
    assert rep["39"] == "00" and "64" not in rep and secrow(secsim, 2, tid)["outcome"] == "replied"


def test_trigger_74_no_reply_mac(secsim, aes_term):
    tid = "TRIG74XX"
    req, raw = aes_term.request(sale(10074, 1, tid))
    data, _ = talk(secsim, raw)
    rep = reply_of(data, req)
    assert rep["39"] == "00" and "64" not in rep
    assert secrow(secsim, 1, tid)["outcome"] == "no_reply_mac"
    assert ask(secsim, sale(10074, 2, tid))["39"] == "00" and secrow(secsim, 2, tid)["outcome"] == "replied"


@pytest.mark.parametrize("profile,pin", [("emv_visa_cvn18", "1234"), ("emv_mc_cvn16", "4321")])
def test_trigger_72_bad_arpc_card_declines_then_reversal(secsim, aes_term, profile, pin):
    tid = "TRIG72" + profile[4:6].upper()
    chip = Chip(profile, 250072)
    req, rep = aes_term.ask(secsim, sale(250072, 1, tid, **chip.fields()), pin=pin)   # valid MAC
    assert rep["39"] == "00" and "55" in rep
    r = chip.complete(rep)
    assert chip.card.issuer_auth is False and r.outcome != "approved" and r.card_declined
    if profile == "emv_mc_cvn16":                               # EXTERNAL AUTHENTICATE failed
        assert r.tvr[4] & 0x40                                  # TVR issuer authentication failed
    assert secrow(secsim, 1, tid, until=lambda r: r["status"] == "approved")["outcome"] == "bad_arpc"
    rev = reversal(req, **{"55": bytes(r.de55).hex().upper(), "23": req.get("23")})
    assert aes_term.ask(secsim, {k: v for k, v in rev.items() if v is not None})[1]["39"] == "00"
    assert statuses(secsim, tid, {("0200", "000001"): "reversed"})
    assert checks(secrow(secsim, 1, tid, mti="0400"))["arqc"] == "none"
    # a magstripe sale with .72: plain approval
    assert aes_term.ask(secsim, sale(10072, 2, tid))[1]["39"] == "00"
    assert secrow(secsim, 2, tid)["outcome"] == "replied"


def test_trigger_73_issuer_scripts(secsim, aes_term):
    tid = "TRIG73XX"
    chip = Chip("emv_visa_cvn18", 150073)
    req, rep = aes_term.ask(secsim, sale(150073, 1, tid, **chip.fields()), pin="1234")
    assert rep["39"] == "00"
    f55 = bytes.fromhex(rep["55"])
    assert [hex(b) for b in (f55[0], )] == ["0x91"] and b"\x71" in f55 and b"\x72" in f55
    r = chip.complete(rep)
    assert r.outcome == "approved"
    assert [(c[:4].hex().upper(), sw) for c, sw in chip.card.scripts] == [("84DA9F58", b"\x90\x00"),
                                                                          ("84DA9F59", b"\x90\x00")]
    assert r.scripts == bytes.fromhex("2000000071" "2000000072")   # both performed, no failure
    assert secrow(secsim, 1, tid)["outcome"] == "scripts"
    assert aes_term.ask(secsim, sale(10073, 2, tid))[1]["39"] == "00"   # no field 55: plain approval
    assert secrow(secsim, 2, tid)["outcome"] == "replied"


def test_security_triggers_and_doc_tables_match_rules():
    for cents in (71, 72, 73, 74):
        assert rules.TRIGGERS[cents].rc == "00" and rules.TRIGGERS[cents].fault
    assert {"63", "75"} <= set(rules.DECLINE_CODES)
    section = doc_section_10().split("### 10.8", 1)[1]
    table = dict(re.findall(r"^\| [^|]*? \| `(\d+)` \| `(\d+)` \|$", section, re.M))
    issuer = Issuer()
    assert table[VISA_PAN] == issuer.pin_of(VISA_PAN) == "1234"
    for pan, pin in table.items():
        assert issuer.pin_of(pan) == pin, pan
    assert issuer.pin_of("4000000000000002") == rules.DEFAULT_PIN == "1234"


def test_magstripe_cards_have_pins_that_agree_with_the_emv_profiles():
    with open(os.path.join(CARDS, "magstripe.json"), encoding="utf-8") as f:
        cards = json.load(f)["cards"]
    issuer = Issuer()
    for name, card in cards.items():
        assert re.fullmatch(r"\d{4,12}", card["pin"]), name
        pan = re.match(r"[0-9]*", card["track2"]).group()
        prof = issuer.profiles.get(pan)
        if prof:
            assert prof["pin"] == card["pin"], name
        if pan:
            assert issuer.pin_of(pan) == card["pin"], name


# ---- store and forward: advices (0220), field 61, uploads of offline approvals (doc sections 10.9, 15) ------

VISA_TRACK2 = VISA_PAN + "=30122011143804400000"       # emv_visa_cvn18 / magstripe visa_ok (37 characters)
MC_TRACK2 = MC_PAN + "=30122011000000000"


def offline_code(invoice):
    """Field 38 of an offline approval: Y1 and the last 4 digits of the invoice number."""
    return "Y1%04d" % (invoice % 10000)


def advice(term, amount, stan, tid, track2=VISA_TRACK2, invoice=None, **fields):
    """The 0220 of a swiped sale `term` approved offline: its field 61 made now, with the KSN the sale took
    (the advice itself takes a newer one when it is sent)."""
    invoice = invoice or stan
    doc = {"t": "0220", "3": "000000", "4": "%012d" % amount, "7": "1129101500", "11": "%06d" % stan,
           "12": "111500", "13": "1129", "22": "021", "24": "001", "25": "00", "38": offline_code(invoice),
           "39": "Y1", "41": tid, "42": "WASLMERCHANT001", "49": "012", "60": BATCH, "61": term.stored_card(track2),
           "62": "%06d" % invoice}
    doc.update(fields)
    return {k: v for k, v in doc.items() if v is not None}


def offline_upload(adv, rrn=None, **fields):
    """The 0320 of an offline approval (section 15.5): 38, 39 = Y1, 61 and 55 of the sale; 37 when its 0230
    came back."""
    doc = {"t": "0320", **{f: adv[f] for f in doc_fields("0320") if f in adv and f not in SECURITY_FIELDS}}
    if rrn:
        doc["37"] = rrn
    doc.update(fields)
    return {k: v for k, v in doc.items() if v is not None}


def advice_row(sim, stan, tid, mti="0220"):
    return row_for(sim, stan, tid, mti=mti)


def advice_reply(rep):
    """A 0230 carries 11, 37, 39, 41 and 64 only."""
    assert set(rep) - {"t", "p"} == {"11", "37", "39", "41", "64"} and re.fullmatch(r"\d{12}", rep["37"])
    return rep


def offline_chip(amount, profile="emv_mc_cvn16"):
    """The firmware's kernel approving a chip sale offline: a TC at the first GENERATE AC (the card's issuer
    action codes cleared, the terminal's floor limit above the amount). (kernel result, fields 22 23 55)."""
    prof = load_profile(profile)
    for app in prof["apps"]:
        app["first_gac"] = "offline"
        for rec in app.get("records", {}).values():
            if isinstance(rec, dict):
                rec.update({t: "0000000000" for t in ("9F0D", "9F0F") if t in rec})
    params = json.loads(json.dumps(emvrecord.TEST_PARAMS))
    for aid in params["aids"]:
        aid.update(floor_limit=10 * amount, tac_online="0000000000", tac_default="0000000000")
    async def no_pin(result):
        return None
    k = Kernel(Reader(VirtualCard(prof), CardRemoved), params, entry="chip", pin=no_pin, rng=emvrecord.FixedRandom())
    r = asyncio.run(k.start(amount, NOW))
    assert r.outcome == "approved_offline" and r.cid & 0xC0 == 0x40, (r.outcome, r.error)
    fields = {"22": "051", "55": bytes(r.de55).hex().upper()}
    if r.psn:
        fields["23"] = "%03d" % int(bytes(r.psn).hex())
    return r, fields


@pytest.mark.parametrize("scheme", ["aes", "tdes"])
def test_advice_accepted_once_however_often_it_is_sent(secsim, aes_term, tdes_term, scheme):
    term = aes_term if scheme == "aes" else tdes_term
    tid = "ADVOK" + scheme.upper().ljust(4, "X")[:3]
    adv = advice(term, 4200, 1, tid, invoice=42)
    assert adv["38"] == "Y10042" and bytes.fromhex(adv["61"])[0] == (12 if scheme == "aes" else 10)
    req, rep = term.ask(secsim, adv)
    advice_reply(rep)
    assert rep["39"] == "00" and req["53"] != adv["61"][2:2 + len(req["53"])]     # 61's KSN is the sale's
    row = advice_row(secsim, 1, tid)
    assert {k: row[k] for k in ("mti", "proc_code", "amount", "entry_mode", "invoice", "pan_masked", "rc", "rrn",
                                "auth_code", "offline_auth", "status", "approved", "outcome", "repeats")} == {
        "mti": "0220", "proc_code": "000000", "amount": 4200, "entry_mode": "021", "invoice": "000042",
        "pan_masked": "476173******0010", "rc": "00", "rrn": rep["37"], "auth_code": None, "offline_auth": "Y10042",
        "status": "approved", "approved": 1, "outcome": "replied", "repeats": 0}
    assert checks(row) == {"mac": "ok", "pin": "none", "arqc": "none", "outcome": "replied", "status": "approved",
                           "rc": "00"} and row["ksn"] == req["53"]
    # the 0230 was lost: the terminal sends the advice again (a new KSN and MAC), twice
    for n in (1, 2):
        req2, rep2 = term.ask(secsim, adv)
        assert req2["53"] != req["53"] and (rep2["39"], rep2["37"]) == ("00", rep["37"])
        assert wait_rows(secsim, tid, lambda rows: rows[-1]["repeats"] == n)
    rows = wait_rows(secsim, tid, lambda rows: True)
    assert len(rows) == 1 and rows[0]["id"] == row["id"]                     # never charged twice
    assert batch_totals(secsim, tid) == totals(1, 4200)
    with Ledger(secsim["ledger"]) as led:
        assert led.totals(tid) == {"count": 1, "amount": 4200}


def test_advice_with_a_bad_mac_is_63_and_is_not_the_advice(secsim, aes_term):
    tid = "ADVMAC01"
    adv = advice(aes_term, 3000, 1, tid)
    req, raw = aes_term.request(adv)
    data, _ = talk(secsim, raw[:-1] + bytes([raw[-1] ^ 1]))
    rep = advice_reply(reply_of(data, req))
    assert rep["39"] == "63" and aes_term.reply_mac_ok(data)
    bad = secrow(secsim, 1, tid, mti="0220")
    assert (bad["outcome"], bad["status"], bad["mac"], bad["offline_auth"]) == ("bad_mac", "declined", "bad", None)
    rep = aes_term.ask(secsim, adv)[1]                                       # its resend is the advice
    assert rep["39"] == "00" and rep["37"] != bad["rrn"]
    rows = wait_rows(secsim, tid, lambda rows: len(rows) == 2)
    assert [(r["outcome"], r["status"], r["repeats"]) for r in rows] == [("bad_mac", "declined", 0),
                                                                          ("replied", "approved", 0)]
    assert batch_totals(secsim, tid) == totals(1, 3000)


def damaged_61(term, track2=VISA_TRACK2):
    """Fields 61 the host cannot turn into a track 2, each (name, hex)."""
    good = bytes.fromhex(term.stored_card(track2))
    k = good[0]
    cases = [("ciphertext", good[:-1] + bytes([good[-1] ^ 1])),
             ("ksn", good[:1 + k - 1] + bytes([good[k] ^ 0x02]) + good[1 + k:]),   # another counter: another key
             ("length-byte", bytes([11]) + good[1:]),
             ("no-whole-block", good[:-3]),
             ("counter-0", good[:1 + k - 4] + bytes(4) + good[1 + k:])]
    for name, text in (("luhn", VISA_TRACK2.replace(VISA_PAN, VISA_PAN[:-1] + "1")), ("no-separator",
                       VISA_TRACK2.replace("=", "D")), ("month-13", VISA_PAN + "=3013201")):
        cases.append((name, bytes.fromhex(term.stored_card(text))))
    return [(name, f.hex().upper()) for name, f in cases]


def test_advice_whose_61_does_not_decipher_is_refused_with_30(secsim, aes_term):
    tid = "ADV61BAD"
    cases = damaged_61(aes_term)
    for stan, (name, f61) in enumerate(cases, 1):
        rep = advice_reply(aes_term.ask(secsim, advice(aes_term, 1000 + stan, stan, tid, **{"61": f61}))[1])
        assert rep["39"] == "30", name
        row = advice_row(secsim, stan, tid)
        assert (row["status"], row["approved"], row["rc"], row["offline_auth"], row["pan_masked"], row["outcome"]) == (
            "declined", 0, "30", offline_code(stan), None, "replied"), name
    # a refused advice sent again: the same answer, no new row
    rep = aes_term.ask(secsim, advice(aes_term, 1001, 1, tid, **{"61": cases[0][1]}))[1]
    assert (rep["39"], rep["37"]) == ("30", advice_row(secsim, 1, tid)["rrn"])
    assert len(wait_rows(secsim, tid, lambda rows: rows[0]["repeats"] == 1)) == len(cases)
    assert batch_totals(secsim, tid) == totals()
    log = open(os.path.join(secsim["state"], "stderr.log")).read()
    assert "field 61: the PAN's check digit is wrong" in log


def test_chip_advice_tc_checked_like_an_arqc(secsim, aes_term):
    tid = "ADVCHIP1"
    r, chip = offline_chip(3500)
    track2 = r.track2_text()
    assert track2.startswith(MC_PAN + "=")
    rep = aes_term.ask(secsim, advice(aes_term, 3500, 1, tid, track2, **chip))[1]
    assert rep["39"] == "00"
    row = advice_row(secsim, 1, tid)
    assert (row["arqc"], row["entry_mode"], row["pan_masked"], row["status"]) == (
        "ok", "051", "555555******4444", "approved")
    de55 = bytearray(bytes.fromhex(chip["55"]))
    i = de55.find(bytes.fromhex("9F0206")) + 3
    de55[i + 5] ^= 0x01                                          # another amount than the card's TC covers
    online = Chip("emv_mc_cvn16", 3500)                          # an ARQC is not an offline approval
    for stan, f55 in ((2, de55.hex().upper()), (3, online.fields()["55"]), (4, "9F2701")):
        rep = aes_term.ask(secsim, advice(aes_term, 3500, stan, tid, track2, **dict(chip, **{"55": f55})))[1]
        assert rep["39"] == "05", stan
        row = advice_row(secsim, stan, tid)
        assert (row["arqc"], row["status"], row["approved"], row["rc"]) == ("bad", "declined", 0, "05"), stan
    # the card's TC under another PAN: no keys of that card verify it
    rep = aes_term.ask(secsim, advice(aes_term, 3500, 5, tid, VISA_TRACK2, **chip))[1]
    assert rep["39"] == "05" and advice_row(secsim, 5, tid)["arqc"] == "bad"
    assert batch_totals(secsim, tid) == totals(1, 3500)


def test_advice_triggers(secsim, aes_term):
    tid = "ADVTRIGS"
    rep = aes_term.ask(secsim, advice(aes_term, 10051, 1, tid))[1]              # .51: refused
    assert rep["39"] == "51"
    row = advice_row(secsim, 1, tid)
    assert (row["status"], row["approved"], row["rc"], row["offline_auth"]) == ("declined", 0, "51", "Y10001")
    assert aes_term.ask(secsim, advice(aes_term, 10051, 1, tid))[1]["37"] == rep["37"]
    adv = advice(aes_term, 10098, 2, tid)                                       # .98: the first 0230 is lost
    req, raw = aes_term.request(adv)
    assert talk(secsim, raw) == (b"", False)
    row = advice_row(secsim, 2, tid)
    assert (row["status"], row["approved"], row["rc"], row["outcome"]) == ("approved", 1, "00", "closed")
    assert batch_totals(secsim, tid) == totals(1, 10098)                       # it stands meanwhile
    rep = aes_term.ask(secsim, adv)[1]                                         # the resend gets it
    assert (rep["39"], rep["37"]) == ("00", row["rrn"])
    row = advice_row(secsim, 2, tid)
    assert (row["repeats"], row["outcome"], row["status"]) == (1, "replied", "approved")
    assert batch_totals(secsim, tid) == totals(1, 10098)


ADVICE_FORMAT_ERRORS = [
    ("39-not-Y1", {"39": "00"}, "30", "format_error"),
    ("track2-in-clear", {"35": VISA_TRACK2}, "30", "format_error"),
    ("no-61", {"61": None}, "30", "format_error"),
    ("no-38", {"38": None}, "30", "format_error"),
    ("refund", {"3": "200000"}, "12", "declined"),
]


@pytest.mark.parametrize("name,fields,rc,status", ADVICE_FORMAT_ERRORS, ids=[c[0] for c in ADVICE_FORMAT_ERRORS])
def test_advice_format_errors(secsim, aes_term, name, fields, rc, status):
    tid = "ADVFMT%02d" % [c[0] for c in ADVICE_FORMAT_ERRORS].index(name)
    req, rep = aes_term.ask(secsim, advice(aes_term, 1000, 1, tid, **fields))
    assert rep["39"] == rc and set(rep) - {"t", "p"} == {"11", "37", "39", "41", "64"}
    row = advice_row(secsim, 1, tid)
    assert (row["status"], row["offline_auth"], row["approved"]) == (status, None, 0)


def test_settlement_counts_advices_and_an_offline_sale_can_be_voided(secsim, aes_term):
    tid = "ADVSETTL"
    aes_term.ask(secsim, sale(10000, 1, tid))                                  # online
    kept = advice(aes_term, 2000, 2, tid)
    kept_rrn = aes_term.ask(secsim, kept)[1]["37"]
    voided = advice(aes_term, 3000, 3, tid)
    voided_rrn = aes_term.ask(secsim, voided)[1]["37"]
    aes_term.ask(secsim, advice(aes_term, 4051, 4, tid))                       # refused: not a debit
    statuses(secsim, tid, {("0200", "000001"): "approved"})
    assert batch_totals(secsim, tid) == totals(3, 15000)
    # the void of an offline sale: a 0200 void with the advice's RRN and the offline code
    void_req = void(voided, {"37": voided_rrn, "38": voided["38"]}, 5)
    assert void_req["22"] == "021" and void_req["38"] == "Y10003"
    assert aes_term.ask(secsim, void(kept, {"37": kept_rrn, "38": "Y10002"}, 6, **{"4": "%012d" % 1999}))[1][
        "39"] == "13"
    assert aes_term.ask(secsim, void_req)[1]["39"] == "00"
    got = statuses(secsim, tid, {("0220", "000003"): "voided", ("0200", "000005"): "approved"})
    assert got[("0220", "000002")] == "approved" and got[("0220", "000004")] == "declined"
    assert aes_term.ask(secsim, void_req | {"11": "000007"})[1]["39"] == "12"   # already voided
    assert aes_term.ask(secsim, reversal(kept))[1]["39"] == "25"               # an advice is never reversed
    host = totals(2, 12000)
    assert batch_totals(secsim, tid) == host
    rep = aes_term.ask(secsim, settle(tid, BATCH, 8, field63(host)))[1]
    assert (rep["39"], rep["63"]) == ("00", field63(host))
    # reversing the void brings the offline sale back
    assert aes_term.ask(secsim, reversal(void_req))[1]["39"] == "00"
    statuses(secsim, tid, {("0220", "000003"): "approved", ("0200", "000005"): "reversed"})
    assert batch_totals(secsim, tid) == totals(3, 15000)


def test_upload_of_offline_approvals_and_forced_settlement(secsim, aes_term):
    tid = "ADVUPLOD"
    sent = advice(aes_term, 2000, 1, tid)                                      # its 0230 came back
    sent_rrn = aes_term.ask(secsim, sent)[1]["37"]
    never = advice(aes_term, 3000, 2, tid)                                     # never reached the host
    r, chip = offline_chip(2500)
    chip_adv = advice(aes_term, 2500, 3, tid, r.track2_text(), **chip)
    refused = advice(aes_term, 5051, 4, tid)
    broken = advice(aes_term, 1000, 5, tid, **{"61": damaged_61(aes_term)[0][1]})
    terminal = totals(5, 13551)
    rep = aes_term.ask(secsim, settle(tid, BATCH, 6, field63(terminal)))[1]     # forced: advices pending
    assert (rep["39"], rep["63"]) == ("95", field63(totals(1, 2000)))
    answers = {}
    for name, adv, rrn in (("sent", sent, sent_rrn), ("never", never, None), ("chip", chip_adv, None),
                           ("refused", refused, None), ("broken", broken, None), ("never-again", never, None)):
        up = offline_upload(adv, rrn)
        assert ("37" in up) == bool(rrn) and up["39"] == "Y1" and "61" in up and ("55" in up) == (name == "chip")
        req, rep = aes_term.ask(secsim, up)
        assert "37" not in rep or rep["37"] == rrn
        answers[name] = rep["39"]
    assert answers == {"sent": "00", "never": "00", "chip": "00", "refused": "51", "broken": "30",
                       "never-again": "00"}
    rows = wait_rows(secsim, tid, lambda rows: len(rows) == 8 and all(r["status"] != "not_replied" for r in rows))
    ups = [r for r in rows if r["mti"] == "0320"]
    first_advice = rows[0]
    never_row = ups[1]
    assert [(r["stan"], r["offline_auth"], r["status"], r["rc"], r["original_id"]) for r in ups] == [
        ("000001", None, "approved", "00", first_advice["id"]),                # linked to its 0220
        ("000002", "Y10002", "approved", "00", None),                          # recorded as the advice
        ("000003", "Y10003", "approved", "00", None),
        ("000004", "Y10004", "declined", "51", None),
        ("000005", "Y10005", "declined", "30", None),
        ("000002", None, "approved", "00", never_row["id"])]                   # uploaded again: linked to it
    assert re.fullmatch(r"\d{12}", never_row["rrn"]) and never_row["rrn_ref"] is None and never_row["repeats"] == 0
    assert (ups[2]["arqc"], ups[2]["entry_mode"], ups[2]["pan_masked"]) == ("ok", "051", "555555******4444")
    # a 0220 of an offline sale the host has from its upload: answered as that advice
    rep = aes_term.ask(secsim, never)[1]
    assert (rep["39"], rep["37"]) == ("00", never_row["rrn"])
    assert wait_rows(secsim, tid, lambda rows: rows[3]["repeats"] == 1)[3]["id"] == never_row["id"]
    host = totals(3, 7500)
    assert batch_totals(secsim, tid) == host
    rep = aes_term.ask(secsim, settle(tid, BATCH, 7, field63(terminal), code="960000"))[1]
    assert (rep["39"], rep["63"]) == ("00", field63(host))


UPLOAD_FORMAT_ERRORS = [
    ("Y1-without-61", {"61": None}),
    ("Y1-refund", {"3": "200000"}),
    ("61-without-Y1", {"39": "00", "37": "612300000001"}),
    ("55-without-Y1", {"39": "00", "37": "612300000001", "61": None, "55": "9F270140"}),
    ("no-37-without-Y1", {"39": "00", "61": None}),
]


@pytest.mark.parametrize("name,fields", UPLOAD_FORMAT_ERRORS, ids=[c[0] for c in UPLOAD_FORMAT_ERRORS])
def test_upload_format_errors(secsim, aes_term, name, fields):
    tid = "UPFMT%03d" % [c[0] for c in UPLOAD_FORMAT_ERRORS].index(name)
    req, raw = aes_term.request(offline_upload(advice(aes_term, 1000, 1, tid), **fields))
    data, _ = talk(secsim, raw)
    rep, _ = iso8583.decode(framed(data)[1], HS.spec)
    assert (rep["t"], rep["39"]) == ("0330", "30") and aes_term.reply_mac_ok(data)
    row = advice_row(secsim, 1, tid, mti="0320")
    assert (row["status"], row["offline_auth"]) == ("format_error", None)


def test_doc_advice_trigger_table_matches_rules():
    section = doc_section_10().split("### 10.9", 1)[1]
    table = {}
    for m in re.finditer(r"^\| `\.(\d\d)` \|.*\| `(\d\d)` \| `(\w+)` \|$", section, re.M):
        table[int(m.group(1))] = (m.group(2), m.group(3))
    assert table == {c: (a.rc, a.outcome) for c, a in rules.ADVICE_TRIGGERS.items()}
    assert rules.OFFLINE_APPROVED == "Y1" and rules.ADVICE_BAD_CARD_DATA == "30" and rules.ADVICE_BAD_TC == "05"
    assert "| `Y1` |" in open(hostspec.DOC, encoding="utf-8").read().split("## 7.", 1)[1].split("## 8.", 1)[0]


def test_no_card_data_pin_blocks_or_icc_data_at_rest(secsim):
    """Runs after the security exchanges (file order): masked PANs, statuses and KSNs only."""
    with Ledger(secsim["ledger"]) as led:
        rows = led.rows()
    assert rows and {r["pin"] for r in rows} <= {"ok", "wrong", "bad_block", "none"}
    assert {r["mac"] for r in rows} <= {"ok", "bad", "none"} and {r["arqc"] for r in rows} <= {"ok", "bad", "none"}
    log = open(os.path.join(secsim["state"], "stderr.log")).read()
    assert "Traceback" not in log and "keys: AES DUKPT BDK KCV " in log
    assert "mac=ok pin=ok arqc=ok" in log
    secrets = [p.encode() for p in (VISA_PAN, MC_PAN, TAP_PAN, "6280590000000000008", "6280580000000000018")]
    secrets += [b"FEDCBA9876543210F1F1F1F1F1F1F1F1", b"0123456789ABCDEFFEDCBA9876543210", b"5A5A5A5A5A5A5A5A"]
    for name in os.listdir(secsim["state"]):
        if name.startswith("ledger.sqlite") or name == "stderr.log":
            with open(os.path.join(secsim["state"], name), "rb") as f:
                blob = f.read()
            for secret in secrets:
                assert secret not in blob and secret.lower() not in blob, (name, secret)


def test_other_bdk_gets_63_and_bad_bdk_file_is_refused(tmp_path, aes_term):
    other = tmp_path / "bdk.txt"
    other.write_text("# not the test BDK\n" + "11" * 16 + "\n")
    proc, ready = start_sim(tmp_path / "other", "--bdk-aes", str(other))
    try:
        sim = dict(ready, ctx=client_ctx(base64.b64decode(ready["ca"])))
        req, raw = aes_term.request(echo("OTHERBDK", 1))
        rep = reply_of(talk(sim, raw)[0], req)
        assert rep["39"] == "63" and "64" in rep
        assert not aes_term.reply_mac_ok(talk(sim, aes_term.request(echo("OTHERBDK", 2))[1])[0])
    finally:
        assert stop_sim(proc) == 0
    bad = tmp_path / "bad.txt"
    bad.write_text("00" * 5 + "\n")
    r = subprocess.run([sys.executable, "-m", "tools.acqsim", "--state", str(tmp_path / "bad"), "--bdk-tdes", str(bad)],
                       cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "TDES BDK" in r.stderr and r.stdout == ""
