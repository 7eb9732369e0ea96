"""Security sweep (issue 8, item 4), end to end on the desktop terminal.

What every scenario already gets (tools/scenario.py `Run.invariants`: no Luhn-valid PAN, no track 2,
no KBPK / test BDK / initial key in the log, the LCD frames, the receipts' text and the journal; the
PIN typed at the PIN prompt not in the log or the journal), the TLS refusals (scenarios
tls_untrusted_host, tls_wrong_host_name), the simulator's bad replies (bad_replies: garbage, cut,
another STAN, hang-up; chip_bad_reply_mac, .71 / .74: a wrong or missing reply MAC), the MAC check in
the firmware's unit tests (host_tests/fw/test_online.py) and the technician lock-out
(host_tests/test_diag.py, production lock) are not repeated here. This adds:

- a full day in ONE firmware process (swiped sales with and without PIN, a decline, a chip sale with
  PIN, a contactless tap, a refund, a void, a bill payment, an offline sale and its advice, an X
  report, a reprint, an echo, a settlement), its traffic relayed by a hand-written host in front of the
  acquirer simulator so that every request is seen (PIN blocks, KSNs); then EVERYTHING the terminal
  produced is searched: the firmware log, every LCD frame, every receipt's text and raw ESC/POS bytes,
  the journal read back (and every field of it decoded from base64 and hex), every file of its data
  directory (the flash image with the freed blocks of the compacted journal, the secure storage, the
  parameters), and the technicians' diagnostics report of the same terminal. Searched for: the
  test cards' PANs (ASCII and BCD) and any Luhn-valid 13-19 digit run in text, track 2 and track 2
  equivalent data, the PIN typed next to card context, every PIN block that went out, the KBPK, the
  test BDKs, the initial key, and for every KSN used the intermediate derivation key and the working
  keys (PIN, MAC both ways, data);
- replayed and tampered host replies, end to end: the previous 0210 replayed verbatim for a new 0200
  (old STAN, MAC under the old KSN's key), the same re-MACed with the new KSN's key (only the STAN
  betrays it), a fresh approval with its auth code changed, a decline turned into an approval: never
  an approval, the reversal goes at once and the host acknowledges it, totals agree;
- the supervisor PIN lock-out end to end: three wrong PINs over void, refund and settlement lock every
  supervisor flow (the PIN is not even asked), survive a reboot, end five minutes later; a right PIN
  resets the count; cardholder sales go on meanwhile.
"""
import base64
import binascii
import io
import json
import os
import re
import socket
import ssl
import threading
import time

import iso8583
import pytest

from tools import hostcrypto, hostspec
from tools.acqsim import pki
from tools.acqsim.ledger import Ledger
from tools.acqsim.security import DEFAULT_BDK_AES, DEFAULT_BDK_TDES
from tools.scenario import Run, find_pans
from tools.simlink import AcqSim, journal_state, load_cards
from tools.soak import Driver, SoakFirmware
from tools.virtual.emvcard import load_profile

HS = hostspec.load()
PIN = "1234"                     # the test cards' PIN (and, by chance, the supervisor PIN)
CHIP, TAP = "emv_visa_cvn18", "emv_contactless"
TRACK2_TEXT = re.compile(r"(?<!\d)\d{12,19}[=D]\d{4}", re.I)     # track 2 / its equivalent in hex, as text


def _frame(sock):
    """One length-prefixed frame (docs/host-interface.md: 2-byte big-endian length)."""
    def exactly(n):
        buf = b""
        while len(buf) < n:
            got = sock.recv(n - len(buf))
            if not got:
                raise ConnectionError("closed")
            buf += got
        return buf
    return exactly(int.from_bytes(exactly(2), "big"))


class Relay:
    """A hand-written host in front of the acquirer simulator: TLS with the simulator's own certificate
    (so the terminal's pinned CA and server name accept it), one request per connection, forwarded to the
    simulator; its reply goes back to the terminal as it is, or as `self.rewrite(request, reply)` says
    (used once, then cleared). Every (request, reply sent) pair is kept."""

    def __init__(self, acq):
        paths = pki.ensure(acq.state_dir)
        self.upstream = acq.port
        self.srv = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.srv.load_cert_chain(paths["server.pem"], paths["server.key"])
        self.cli = ssl.create_default_context(cafile=paths["ca.pem"])
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.exchanges = []
        self.rewrite = None
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn):
        try:
            with self.srv.wrap_socket(conn, server_side=True) as tls:
                req = _frame(tls)
                with socket.create_connection(("127.0.0.1", self.upstream), 10) as up, \
                        self.cli.wrap_socket(up, server_hostname=pki.SERVER_NAME) as utls:
                    utls.sendall(len(req).to_bytes(2, "big") + req)
                    rep = _frame(utls)
                rewrite, self.rewrite = self.rewrite, None
                if rewrite:
                    rep = rewrite(req, rep)
                self.exchanges.append((req, rep))
                tls.sendall(len(rep).to_bytes(2, "big") + rep)
        except (OSError, ssl.SSLError, ConnectionError):
            pass

    def requests(self):
        return [decode(q) for q, _ in self.exchanges]

    def close(self):
        self.sock.close()


def decode(raw):
    return iso8583.decode(bytes(raw), HS.spec)[0]


def encode(doc):
    doc = {k: v for k, v in doc.items() if k not in ("p", "s")}
    return bytes(iso8583.encode(doc, HS.spec)[0])


def _bdk(path):
    return hostcrypto.read_hex_file(path, "BDK")


# ---- the test cards ------------------------------------------------------------------------------------

def card_data():
    """(PANs, track 2 strings): every test card's, magnetic stripe and chip (5A, 57), as digits /
    'PAN=YYMM...' / 'PAND...' text."""
    pans, tracks = set(), set()
    for c in load_cards().values():
        m = re.match(r"(\d{12,19})[=D]", c["track2"])
        if m:
            pans.add(m.group(1))
            tracks.add(c["track2"].rstrip("F"))
    for name in (CHIP, TAP):
        for app in load_profile(name).get("apps", []):
            for rec in app.get("records", {}).values():
                if "5A" in rec:
                    pans.add(rec["5A"].rstrip("F"))
                if "57" in rec:
                    tracks.add(rec["57"].rstrip("F"))
    return pans, tracks


def issuer_keys():
    out = []
    for name in (CHIP, TAP):
        for k, v in load_profile(name).get("issuer", {}).items():
            if k.startswith("imk") and isinstance(v, str):
                out.append(("the card's issuer master key %s (%s)" % (k, name), bytes.fromhex(v)))
    return out


def ksn_keys(ksns):
    """(name, key bytes) of every key a KSN implies: the intermediate derivation key of its counter and
    its working keys (PIN, MAC generation and verification, data encryption)."""
    aes, tdes = _bdk(DEFAULT_BDK_AES), _bdk(DEFAULT_BDK_TDES)
    out = []
    for ksn in sorted(ksns):
        raw = bytes.fromhex(ksn)
        s = hostcrypto.session_keys(raw, aes_bdk=aes, tdes_bdk=tdes)
        for what in ("pin_key", "request_mac_key", "reply_mac_key", "data_key"):
            out.append(("the %s of KSN %s" % (what, ksn), getattr(s, what)))
        if len(raw) == hostcrypto.AES_KSN_LEN:
            ikid, counter = hostcrypto.split_aes_ksn(raw)
            idk = hostcrypto.aes_intermediate_key(hostcrypto.aes_initial_key(aes, ikid), ikid, counter)
            out.append(("the intermediate derivation key of KSN %s" % ksn, idk))
    return out


class Secrets:
    """What must never leave the terminal (or the card) in clear, in every form it could take."""

    def __init__(self, clear_keys, pin_blocks, pans, tracks):
        self.keys = clear_keys        # [(name, bytes)]
        self.pin_blocks = pin_blocks  # [(name, bytes)]
        self.pans = pans
        self.tracks = tracks

    def byte_needles(self, skip=()):
        """(name, bytes) to look for in raw bytes: keys and PIN blocks raw and as hex (both cases), PANs
        as ASCII and as BCD, track 2 as ASCII and its equivalent as BCD."""
        out = []
        for name, v in self.keys + self.pin_blocks:
            if name in skip:
                continue
            out += [(name, v), (name + " in hex", v.hex().upper().encode()), (name + " in hex", v.hex().encode())]
        for pan in self.pans:
            out.append(("the PAN %s" % pan, pan.encode()))
            bcd = pan + "F" * (len(pan) % 2)
            out.append(("the PAN %s in BCD" % pan, bytes.fromhex(bcd)))
        for t in self.tracks:
            out.append(("the track 2 %s" % t, t.encode()))
            text = t.replace("D", "=")
            out.append(("the track 2 %s" % t, text.encode()))
            hx = t.replace("=", "D")
            out.append(("the track 2 equivalent %s in BCD" % t, bytes.fromhex(hx + "F" * (len(hx) % 2))))
        return out


def scan_text(where, text, secrets, pin=PIN, pin_context=False):
    """Leaks in a text: Luhn-valid PANs, track 2 patterns, any secret (raw-as-latin-1 and hex)."""
    found = []
    if find_pans(text):
        found.append("a Luhn-valid card number in the %s" % where)
    if TRACK2_TEXT.search(text):
        found.append("track 2 data in the %s" % where)
    raw = text.encode("latin-1", "replace")
    found += ["%s in the %s" % (n, where) for n, v in secrets.byte_needles() if v in raw]
    if pin_context:
        for pat in (r"PIN\W{0,16}(?<!\d)%s(?!\d)", r"\*{4,}\d{0,4}\D{0,16}(?<!\d)%s(?!\d)",
                    r"(?<!\d)%s(?!\d)\D{0,16}\d{0,6}\*{4,}"):
            if re.search(pat % pin, text):
                found.append("the PIN next to card context in the %s" % where)
    return found


_STAMP = re.compile(r'"t": ?"\d{14}"')     # a journal record's local time: 14 digits, Luhn-valid 1 time in 10


def scan_bytes(where, data, secrets, skip=()):
    found = ["%s in %s" % (n, where) for n, v in secrets.byte_needles(skip) if v in data]
    # ASCII digits in binary (the flash image holds the journal's JSON records): a PAN would be a run of them
    if find_pans(_STAMP.sub("", data.decode("latin-1"))):
        found.append("a Luhn-valid card number in %s" % where)
    return found


def decodings(value):
    """A journal string's possible binary meanings: base64 and hex (what the firmware uses for binary)."""
    out = []
    if len(value) >= 8 and len(value) % 4 == 0 and re.fullmatch(r"[A-Za-z0-9+/]+=*", value):
        try:
            out.append(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            pass
    if len(value) >= 8 and len(value) % 2 == 0 and re.fullmatch(r"[0-9A-Fa-f]+", value):
        out.append(bytes.fromhex(value))
    return out


def scan_journal(records, secrets):
    found = []
    for rec in records:
        for key, value in rec.items():
            if not isinstance(value, str):
                continue
            for blob in decodings(value):
                found += scan_bytes("the journal's %r field (decoded)" % key, blob, secrets)
    return found


# ---- a full day ----------------------------------------------------------------------------------------

class Day:
    pass


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    """One terminal, one process, a day of business, through the relay; then its outputs collected."""
    work = str(tmp_path_factory.mktemp("day"))
    acq = AcqSim(os.path.join(work, "acq")).start()
    relay = Relay(acq)
    fw = SoakFirmware(os.path.join(work, "term"), acq=acq,
                      params={"language": "en", "offline": {"floor_limit": 20000}, "host": {"port": relay.port}})
    day = Day()
    day.work, day.acq, day.relay, day.fw = work, acq, relay, fw
    try:
        fw.start()
        d = Driver(fw)
        d.start()
        r = day.results = {}
        r["sale"] = d.sale(35000, expect="approved")                          # invoice 1, no PIN
        r["sale_pin"] = d.sale(45000, "visa_pin_swipe", pin=PIN, expect="approved")
        r["declined"] = d.sale(30051, expect="declined")
        r["chip_pin"] = d.chip_sale(150000, CHIP, pin=PIN, expect="approved")
        r["tap"] = d.chip_sale(42000, TAP, entry="tap", pin=None, expect="approved")
        r["refund"] = d.refund(5000, CHIP)
        r["void"] = d.void(1)
        r["bill"] = d.bill(2, "55512345")
        r["offline"] = d.offline_sale(12500)
        r["x_report"] = d.x_report()
        r["reprint"] = d.reprint_last()
        r["echo"] = d.echo()
        day.journal_before = journal_state(fw.data_dir)    # the day's batch, before settlement compacts it
        r["settle"] = d.settle()
        day.pins_typed = d.pins_typed
        day.journal = journal_state(fw.data_dir)       # idle, after the settlement
        fw.stop()
        day.diag = _diagnostics(fw.data_dir, work)
        day.secrets = _secrets(day)
        yield day
    finally:
        fw.stop()
        relay.close()
        acq.stop()


def _diagnostics(data_dir, work):
    """The technician's report of this terminal (tools/diag.py over the desktop bridge): the parts that
    need nobody at the keypad. Its output and its saved JSON."""
    from tools import diag
    from tools.upybridge import Bridge

    out = io.StringIO()
    path = os.path.join(work, "diag.json")
    with Bridge(data_dir) as br:
        rc = diag.main(["--port", br.port, "--parts", "versions,clock,storage,keys,echo", "--json", path], out=out)
    with open(path) as f:
        saved = f.read()
    return {"rc": rc, "out": out.getvalue(), "json": saved}


def _secrets(day):
    run = Run({"steps": []}, day.work)
    keys = [(n, bytes.fromhex(v)) for n, v in run.secrets()]     # KBPK, test BDKs, initial keys
    reqs = day.relay.requests()
    ksns = {q["53"].upper() for q in reqs if "53" in q}
    ksns |= {r["k"].upper() for r in day.journal_before["records"] if r.get("e") == "off" and "k" in r}   # data keys
    keys += ksn_keys(ksns) + issuer_keys()
    blocks = [("the PIN block of STAN %s" % q["11"], bytes.fromhex(q["52"])) for q in reqs if "52" in q]
    pans, tracks = card_data()
    day.ksns = ksns
    return Secrets(keys, blocks, pans, tracks)


def test_the_day_went_as_planned(day):
    r = day.results
    assert {k: v["outcome"] for k, v in r.items()} == {
        "sale": "approved", "sale_pin": "approved", "declined": "declined", "chip_pin": "approved",
        "tap": "approved", "refund": "approved", "void": "approved", "bill": "approved", "offline": "approved",
        "x_report": "printed", "reprint": "reprinted", "echo": "host_ok", "settle": "settled"}
    assert day.pins_typed == {PIN}
    assert day.fw.exit_code == 0
    # every kind of message went through the relay, MACed
    reqs = day.relay.requests()
    kinds = {(q["t"], q["3"]) for q in reqs}
    for k in (("0200", "000000"), ("0200", "020000"), ("0200", "200000"), ("0200", "500000"), ("0100", "380000"),
              ("0220", "000000"), ("0800", "990000"), ("0500", "920000")):
        assert k in kinds, (k, kinds)
    assert all("64" in q and "53" in q for q in reqs)
    # the settlement closed the batch: the journal holds the numbers to go on from
    assert day.journal["count"] == 0 and day.journal["pending"] is None and day.journal["batch"] == 2
    rows = day.acq.ledger_rows(day.fw.params["terminal_id"])
    assert [r["mti"] for r in rows if r["mti"] == "0500"] == ["0500"] and rows[-1]["approved"]


def test_pin_blocks_went_out_and_are_the_pin(day):
    """The sweep looks for real PIN blocks: those of this day's PIN entries, each deciphering (host
    side, test BDK) to the PIN typed."""
    aes = _bdk(DEFAULT_BDK_AES)
    blocks = [(q, bytes.fromhex(q["52"])) for q in day.relay.requests() if "52" in q]
    assert len(blocks) == 2, [q["11"] for q, _ in blocks]           # stripe with PIN, chip with PIN
    pans = sorted(day.secrets.pans)
    for q, block in blocks:
        s = hostcrypto.session_keys(bytes.fromhex(q["53"]), aes_bdk=aes)
        assert any(_pin_of(s, block, pan) == PIN for pan in pans)
    assert len(day.secrets.keys) >= 5 * len(day.ksns) + 5


def _pin_of(s, block, pan):
    try:
        return s.decipher_pin(block, pan)
    except hostcrypto.PinBlockError:
        return None


def test_scenario_invariants_hold_for_the_whole_day(day):
    """tools/scenario.py's own checks, on the day's firmware: log, frames, receipts, journal."""
    run = Run({"steps": []}, day.work)
    run.fw = day.fw
    run.pins_typed = set(day.pins_typed)
    run.invariants()


def test_no_card_data_pin_or_key_in_what_the_terminal_showed_printed_or_logged(day):
    fw, s = day.fw, day.secrets
    found = scan_text("firmware log", fw.log_text(), s)
    for n, frame in enumerate(fw.screens):
        found += scan_text("LCD frame %d" % n, "\n".join(frame), s, pin_context=True)
    found += scan_text("LCD frames", "\n".join("\n".join(f) for f in fw.screens), s, pin_context=True)
    assert len(fw.receipts) >= 20
    for n, rec in enumerate(fw.receipts):
        found += scan_text("receipt %d" % n, rec["text"], s, pin_context=True)
        found += scan_bytes("receipt %d's ESC/POS bytes" % n, bytes(rec["escpos"]), s)
    # what the harness saw on the control channel, APDUs aside (they carry card data to the card, as they must)
    found += scan_text("control channel", json.dumps([e for e in fw.events if e.get("ev") != "uart"]), s)
    assert not found, found


def test_no_card_data_pin_or_key_in_the_journal(day):
    """The day's journal as the firmware reads it back, before the settlement compacted it (every record
    of the batch, the offline sale's enciphered card data among them) and after; every field also
    decoded from base64 and hex."""
    s = day.secrets
    found = []
    for when, j in (("before settlement", day.journal_before), ("after settlement", day.journal)):
        recs = j["records"]
        found += scan_text("journal " + when, json.dumps([{k: v for k, v in r.items() if k != "t"} for r in recs]), s)
        found += scan_journal(recs, s)
    kinds = {r["e"] for r in day.journal_before["records"]}
    assert {"new", "sent", "rep", "off", "adv", "cok", "prt", "ctl"} <= kinds, kinds
    assert [r["e"] for r in day.journal["records"]] == ["base"]
    assert not found, found


def test_no_card_data_pin_or_key_in_any_file_of_the_terminal(day):
    """Every file under the data directory: the flash image (journal, freed blocks included), secure
    storage (the sealed DUKPT state; the sim keeps its KBPK there as a plain file, standing in for the
    ESP32's encrypted NVS: that one file may hold the KBPK, nothing else), parameters, logs."""
    s = day.secrets
    found = []
    n = 0
    for root, _, files in os.walk(day.fw.data_dir):
        for name in files:
            path = os.path.join(root, name)
            rel = os.path.relpath(path, day.fw.data_dir)
            with open(path, "rb") as f:
                data = f.read()
            skip = ("the KBPK",) if rel == os.path.join("secure", "kbpk") else ()
            found += scan_bytes(rel, data, s, skip)
            n += 1
    assert n >= 6 and os.path.exists(os.path.join(day.fw.data_dir, "secure", "dukpt"))
    # the flash image still holds the day's records in blocks the compaction freed: the search is over
    # real journal contents, the offline sale's enciphered card data among them
    with open(os.path.join(day.fw.data_dir, "flash.img"), "rb") as f:
        image = f.read()
    assert b"476173******0010" in image and re.search(rb'"e": ?"off"', image)
    assert not found, found


def test_no_card_data_pin_or_key_in_the_diagnostics_report(day):
    d = day.diag
    assert d["rc"] == 0, d["out"]
    assert "keys      PASS" in d["out"] and "echo      PASS" in d["out"], d["out"]
    found = scan_text("diagnostics output", d["out"], day.secrets) + \
        scan_text("diagnostics report", d["json"], day.secrets)
    assert not found, found


def test_the_sweep_finds_what_it_looks_for(day):
    """Not a rubber stamp: each kind of leak, planted in a copy of a real output, is found."""
    s = day.secrets
    log = day.fw.log_text()
    pan = sorted(s.pans)[0]
    key_name, key = [k for k in s.keys if "pin_key" in k[0]][0]
    block_name, block = s.pin_blocks[0]
    plants = {
        "a Luhn-valid card number": log + "INF sale: card %s\n" % pan,
        "track 2 data": log + "DBG %s=30121011143804400000\n" % pan,
        key_name: log + "DBG key %s\n" % key.hex(),
        block_name: log + "DBG f52 %s\n" % block.hex().upper(),
        "the PIN next to card context": log + "receipt 476173******0010 pin %s\n" % PIN,
    }
    for what, text in plants.items():
        found = scan_text("log", text, s, pin_context=True)
        assert any(what in f for f in found), (what, found)
    assert not scan_text("log", log, s, pin_context=False)
    # in the journal: a PAN in BCD, base64, inside a field
    recs = [dict(r) for r in day.journal["records"]] + [{"e": "x", "d": base64.b64encode(bytes.fromhex(pan)).decode()}]
    assert any("BCD" in f for f in scan_journal(recs, s))
    # in a file: the KBPK in the flash image
    kbpk = dict(s.keys)["the KBPK"]
    assert any("the KBPK" in f for f in scan_bytes("flash.img", b"\xff" * 64 + kbpk + b"\xff" * 64, s))


# ---- replayed and tampered replies ---------------------------------------------------------------------

def _remac(reply, request, aes):
    """The reply's field 64 recomputed under the reply MAC key of the request's KSN (what only the host,
    holding the BDK, can do)."""
    s = hostcrypto.session_keys(bytes.fromhex(decode(request)["53"]), aes_bdk=aes)
    body = reply[:-8]
    return body + s.reply_mac(body)


def test_replayed_and_tampered_replies_are_refused_and_reversed(tmp_path):
    aes = _bdk(DEFAULT_BDK_AES)
    with AcqSim(tmp_path / "acq") as acq:
        relay = Relay(acq)
        fw = SoakFirmware(tmp_path / "term", acq=acq, params={"language": "en", "host": {"port": relay.port}})
        try:
            fw.start()
            d = Driver(fw)
            d.start()
            d.sale(10000, expect="approved")
            old_req, old_rep = relay.exchanges[-1]
            assert decode(old_rep)["39"] == "00"

            def replay(req, rep):              # yesterday's approval, verbatim
                return old_rep

            def replay_remaced(req, rep):      # the same, MACed for this request: only the STAN is old
                return _remac(old_rep, req, aes)

            def new_auth_code(req, rep):       # a fresh approval, its auth code changed
                doc = decode(rep)
                doc["38"] = "ZZZ999"
                return encode(doc)

            def decline_to_approval(req, rep):  # .51 turned into 00 (with an auth code)
                doc = decode(rep)
                doc["39"], doc["38"] = "00", "A1B2C3"
                return encode(doc)

            cases = [("replay", replay, 20000, "MAC"), ("replay_remaced", replay_remaced, 21000, "STAN mismatch"),
                     ("auth_code", new_auth_code, 22000, "MAC"), ("decline", decline_to_approval, 23051, "MAC")]
            for name, rewrite, amount, why in cases:
                relay.rewrite = rewrite
                n = len(fw.states)
                lines = len(fw.log_text().splitlines())
                i, st = d.begin_sale(amount)
                assert st == "no_reply", (name, st, fw.screen_text())
                assert "approved" not in fw.states[n:], name
                d.dismiss(i)
                log = "\n".join(fw.log_text().splitlines()[lines:])
                assert re.search(r"no reply: invalid .*%s" % why, log), (name, log)
                assert "reversed" in log, (name, log)
                assert relay.rewrite is None
            d.sale(10100, expect="approved")
            tid = fw.params["terminal_id"]
            j = journal_state(fw.data_dir)
        finally:
            fw.stop()
            relay.close()
        rows = Ledger(acq.info["ledger"]).rows(tid)
        sales = [r for r in rows if r["mti"] == "0200"]
        assert [r["amount"] for r in sales] == [10000, 20000, 21000, 22000, 23051, 10100]
        # the host approved three of the tampered-with requests and declined the fourth (.51): each was
        # reversed (the host acknowledges a reversal of what it declined with 25), nothing of them counts
        assert [r["status"] for r in sales] == ["approved", "reversed", "reversed", "reversed", "declined", "approved"]
        assert [r["rc"] for r in rows if r["mti"] == "0400"] == ["00", "00", "00", "25"]
        assert j["pending"] is None and j["debit_count"] == 2 and j["debit_amount"] == 20100
        host = Ledger(acq.info["ledger"]).batch_totals(tid, "%06d" % j["batch"])
        assert (host["debit_count"], host["debit_amount"]) == (2, 20100)


# ---- supervisor PIN lock-out ---------------------------------------------------------------------------

def test_supervisor_pin_locks_after_three_wrong_entries(tmp_path):
    with AcqSim(tmp_path / "acq") as acq:
        def boot(env=None):
            fw = SoakFirmware(tmp_path / "term", acq=acq, params={"language": "en"}, env=env)
            fw.start()
            d = Driver(fw)
            d.start()
            return fw, d

        fw, d = boot()
        try:
            # a right PIN resets the count: two wrong, right, two wrong do not lock
            assert d.supervisor_attempt("5", "9071")["outcome"] == "wrong_pin"
            assert d.supervisor_attempt("2", "8264")["outcome"] == "wrong_pin"
            assert d.supervisor_attempt("5", PIN)["outcome"] == "batch_empty"
            assert d.supervisor_attempt("2", "5839")["outcome"] == "wrong_pin"
            assert d.supervisor_attempt("3", "7302")["outcome"] == "wrong_pin"
            # the third in a row, whatever the flow: locked for all of them, the PIN not even asked
            assert d.supervisor_attempt("5", "6417")["outcome"] == "wrong_pin"
            for item in ("5", "2", "3"):
                n = len(fw.states)
                assert d.supervisor_attempt(item, PIN)["outcome"] == "pin_locked"
                assert "digits" not in fw.states[n:]
            assert "LOCKED" in "\n".join("\n".join(f) for f in fw.screens[-12:])
            # the cardholder is not locked out
            d.sale(10000, expect="approved")
            lock = json.loads((tmp_path / "term" / "supervisor.json").read_text())
            assert lock["fails"] == 0 and 200 < lock["until"] - time.time() <= 300.5
            log = fw.log_text()
            assert "PIN locked for 300 s" in log
            for typed in ("9071", "8264", "5839", "7302", "6417"):      # the wrong PINs typed
                assert not re.search(r"(?<!\d)%s(?!\d)" % typed, log), typed
        finally:
            fw.stop()
        # a reboot does not unlock it
        fw, d = boot()
        try:
            assert d.supervisor_attempt("5", PIN)["outcome"] == "pin_locked"
        finally:
            fw.stop()
        # five minutes later it is open again, and the right PIN settles
        fw, d = boot({"WASL_TIME": str(int(time.time()) + 301)})
        try:
            assert d.supervisor_attempt("5", PIN)["outcome"] == "settled"
        finally:
            fw.stop()
