"""The acquirer simulator (tools/acqsim), driven over TLS by a plain CPython client.

Requests are built with pyiso8583 from the spec parsed out of docs/host-interface.md, not from
anything in the simulator, and every check reads real values off the wire or the sqlite ledger.
"""
import base64
import concurrent.futures
import datetime
import json
import os
import re
import select
import signal
import socket
import ssl
import subprocess
import sys
import time

import iso8583
import pytest
from cryptography import x509

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from tools import hostspec  # noqa: E402
from tools.acqsim import rules  # noqa: E402
from tools.acqsim.ledger import Ledger  # noqa: E402

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


def upload(orig, orig_reply):
    both = {**orig, **orig_reply}
    return {"t": "0320", **{f: both[f] for f in doc_fields("0320")}}


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
    for line in doc_section_10().splitlines():
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
