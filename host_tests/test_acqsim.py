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
ECHO = ("3", "4", "7", "11", "12", "13", "24", "41", "42", "49", "62")
TID = "ACQT0001"
DELAY = 3  # --late-delay and --hold of the test instance


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
           "42": "WASLMERCHANT001", "49": "012", "62": "%06d" % stan}
    doc.update(fields)
    return {k: v for k, v in doc.items() if v is not None}


def encode(doc):
    return bytes(iso8583.encode(dict(doc), HS.spec)[0])


def framed(data):
    assert len(data) >= 2, data
    return int.from_bytes(data[:2], "big"), data[2:]


def reply_of(data, req):
    """Decode a complete framed 0210 and check it against the document."""
    n, body = framed(data)
    assert n == len(body)
    rep, _ = iso8583.decode(body, HS.spec)
    assert rep["t"] == "0210"
    assert HS.check_formats(rep) == []
    assert HS.check_presence("0210", rep, req) == []
    assert rep["41"] == req["41"]
    for f in ECHO:
        if f != "11":
            assert rep.get(f) == req[f], f
    assert re.fullmatch(r"\d{12}", rep["37"])
    return rep


def row_for(sim, stan, tid=TID, until=lambda r: True, timeout=3.0):
    """The ledger row of (tid, stan), once `until(row)` holds."""
    deadline = time.monotonic() + timeout
    while True:
        with Ledger(sim["ledger"]) as led:
            rows = [r for r in led.rows(tid) if r["stan"] == "%06d" % stan]
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
                                "pan_masked", "rc", "auth_code", "rrn", "outcome")} == {
        "tid": TID, "mid": "WASLMERCHANT001", "mti": "0200", "proc_code": "000000", "invoice": "000001",
        "amount": 1234500, "currency": "012", "entry_mode": "051", "pan_masked": "476173******0119",
        "rc": "00", "auth_code": rep["38"], "rrn": rep["37"], "outcome": "replied"}
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
    row = row_for(sim, stan)
    assert (row["rc"], row["auth_code"], row["rrn"], row["outcome"], row["approved"]) == (
        code, None, rep["37"], "replied", 0)


def test_unsupported_processing_code_is_invalid_transaction(sim):
    req = sale(1000, 3, **{"3": "200000"})
    assert reply_of(talk(sim, encode(req))[0], req)["39"] == "12"


def test_99_no_reply(sim):
    with Conn(sim, timeout=1.0) as c:
        t0 = time.monotonic()
        c.send(encode(sale(10099, 299)))
        assert c.read_all() == (b"", True) and time.monotonic() - t0 >= 0.9  # a terminal's reply time-out
        c.s.settimeout(DELAY + 2)
        assert c.read_all() == (b"", False)  # the server lets go after --hold
        assert DELAY - 0.3 <= time.monotonic() - t0 < DELAY + 2
    row = row_for(sim, 299)
    assert (row["outcome"], row["rc"], row["rrn"], row["approved"]) == ("no_reply", None, None, 0)


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
    assert (row["outcome"], row["rc"], row["approved"]) == ("partial", "00", 0)


@pytest.mark.parametrize("stan,msg", [
    (401, encode(sale(1000, 401, **{"22": None}))),             # mandatory field missing
    (402, encode(sale(1000, 402, **{"4": "00000000ABCD"}))),    # n field with letters
    (403, encode(sale(1000, 403)) + b"X"),                      # trailing byte
    (404, encode(sale(1000, 404, **{"t": "0100"}))),            # not a 0200
    (405, encode(sale(1000, 405, **{"35": TRACK2.replace("=", "D")}))),  # track 2 with a 'D' separator
], ids=["missing-22", "letters-in-4", "trailing-byte", "mti-0100", "track2-D"])
def test_format_error_gets_30(sim, stan, msg):
    data, timed_out = talk(sim, msg)
    n, body = framed(data)
    assert not timed_out and n == len(body)
    rep, _ = iso8583.decode(body, HS.spec)
    assert (rep["t"], rep["39"], rep["11"], rep["41"]) == ("0210", "30", "%06d" % stan, TID)
    assert "38" not in rep and HS.check_presence("0210", rep) == []
    row = row_for(sim, stan)
    assert (row["outcome"], row["rc"], row["rrn"], row["approved"]) == ("format_error", "30", rep["37"], 0)


@pytest.mark.parametrize("raw", [
    b"\x00\x0chello, world",
    (2049).to_bytes(2, "big") + b"0" * 2049,
    b"\x00\x00",
], ids=["undecodable", "over-2048", "empty-frame"])
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


def test_doc_trigger_table_matches_rules():
    with open(hostspec.DOC, encoding="utf-8") as f:
        section = f.read().split("## 10. Simulator test triggers", 1)[1]
    table = {}
    for line in section.splitlines():
        m = re.match(r"^\| `\.(\d\d)` \|.*\| (`(\d\d)`|—) \| `(\w+)` \|$", line)
        if m:
            table[int(m.group(1))] = (m.group(3), m.group(4))
    assert table == {c: (a.rc, a.outcome) for c, a in rules.TRIGGERS.items()}


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
