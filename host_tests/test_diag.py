"""Technician diagnostics on the desktop terminal, over STOCK mpremote (the pinned one in .venv):

  - tools/upybridge.py makes the MicroPython unix port, with the sim board's firmware environment, a
    serial device: mpremote exec, run, fs cp/cat/ls, mount and soft resets work through its pty;
  - tools/diag.py runs the on-device self-tests (firmware/wasl/diag/) through it, against the acquirer
    simulator, with a person simulated on the bridge's event socket (keys pressed, a chip card that
    answers APDUs, a swipe); the report's signature verifies with the terminal's KBPK and a tampered
    report does not; nothing secret (KBPK, full PAN) is printed or saved.

The pure parts have unit tests on both runtimes: host_tests/fw/test_diag_*.py.
"""
import io
import json
import os
import subprocess
import sys
import threading
import time

import pytest

from tools import diag
from tools.simlink import AcqSim, ROOT, inject_test_keys, load_cards, make_params
from tools.upybridge import Bridge, EventClient

MPREMOTE = os.path.join(os.path.dirname(sys.executable), "mpremote")
PAN = "4761739001010010"          # the test cards' PAN (host_tests/cards): never in clear in any output
MASKED = "476173******0010"


def mpremote(port, *args, timeout=30):
    res = subprocess.run([MPREMOTE, "connect", port] + list(args), capture_output=True, text=True,
                         timeout=timeout, cwd=ROOT)
    assert res.returncode == 0, (args, res.stdout, res.stderr)
    return res.stdout


@pytest.fixture(scope="module")
def acq(tmp_path_factory):
    with AcqSim(tmp_path_factory.mktemp("acq")) as a:
        yield a


@pytest.fixture(scope="module")
def term(acq, tmp_path_factory):
    """A sim terminal with parameters and test keys (harness helpers), served by the bridge."""
    base = tmp_path_factory.mktemp("diag")
    data = base / "term"
    make_params(str(data), acq.host_params())
    facts = inject_test_keys(str(data))
    kbpk = (data / "secure" / "kbpk").read_bytes()
    (base / "kbpk.hex").write_text(kbpk.hex().upper() + "\n")
    sock = str(base / "ev.sock")
    with Bridge(str(data), events=sock, link=str(base / "tty")) as br:
        br.base = base
        br.kbpk = kbpk
        br.key_facts = facts
        yield br


class Person:
    """A technician at the sim terminal, through the bridge's event socket: answers what the screen
    asks (every key of the keypad test, a card for the card test)."""

    def __init__(self, br, keys=None, card=None):
        self.client = EventClient(br.events_path)
        self.keys = keys            # key names to press when the keypad test shows
        self.card = card            # ("chip", profile) or ("swipe", magstripe card dict)
        self.vcard = None
        self.apdus = []
        self.lcd = []
        self.printer = b""
        self.done = set()
        self.client.on(self._on)

    def _on(self, ev):
        kind = ev.get("ev")
        if kind == "lcd":
            self.lcd.append(ev["rows"])
            top = ev["rows"][0].strip()
            if top == "KEYPAD TEST" and self.keys is not None and "keys" not in self.done:
                self.done.add("keys")
                threading.Thread(target=self._press, daemon=True).start()
            elif top == "CARD TEST" and self.card and "card" not in self.done:
                self.done.add("card")
                self._present()
        elif kind == "uart" and ev.get("port") == "printer":
            self.printer += bytes.fromhex(ev["data"])
        elif kind == "apdu" and self.vcard is not None:
            self.apdus.append(ev["c"].upper())
            r = self.vcard.apdu(bytes.fromhex(ev["c"]))
            self.client.send({"rapdu": bytes(r).hex()})

    def _press(self):
        for k in self.keys:
            self.client.send({"key": k})
            time.sleep(0.03)

    def _present(self):
        how, what = self.card
        if how == "swipe":
            self.client.send({"card": {"track2": what["track2"], "entry": "swipe"}})
        else:
            from tools.virtual.emvcard import VirtualCard, load_profile

            self.vcard = VirtualCard(load_profile(what))
            self.client.send({"chip": {"entry": how}})

    def close(self):
        self.client.close()


def run_diag(br, *args):
    out = io.StringIO()
    rc = diag.main(["--port", br.port] + list(args), out=out)
    return rc, out.getvalue()


def parts_of(report):
    return {p["part"]: p for p in report["parts"]}


# ---- the bridge with stock mpremote ---------------------------------------------------------------------

def test_bridge_exec_fs_run_mount_and_soft_reset(term, tmp_path):
    port = term.port
    assert port.startswith("/dev/pts/")
    assert mpremote(port, "exec", "print(1+1)").strip() == "2"
    # fs: the terminal's storage root is what mpremote sees
    src = tmp_path / "note.txt"
    src.write_text("hello terminal\n")
    mpremote(port, "fs", "cp", str(src), ":note.txt")
    assert (term.data_dir and open(os.path.join(term.data_dir, "note.txt")).read()) == "hello terminal\n"
    assert "hello terminal" in mpremote(port, "fs", "cat", ":note.txt")
    listing = mpremote(port, "fs", "ls")
    assert "params.json" in listing and "note.txt" in listing
    mpremote(port, "fs", "cp", ":params.json", str(tmp_path / "p.json"))
    assert json.loads((tmp_path / "p.json").read_text())["terminal_id"] == "WASL0001"
    mpremote(port, "fs", "rm", ":note.txt")
    # run: a local script on the terminal, the firmware importable as on a device
    script = tmp_path / "probe.py"
    script.write_text("import wasl, os\nprint('firmware', wasl.VERSION, os.getenv('WASL_DATA') is not None)\n")
    assert mpremote(port, "run", str(script)).strip() == "firmware %s True" % _version()
    # soft reset: every mpremote connection makes one; the interpreter restarts, its state is gone
    before = term.restarts
    out = mpremote(port, "exec", "x = 41", "soft-reset", "exec", "print('x' in globals())")
    assert out.strip() == "False"
    assert term.restarts >= before + 2
    # resume: no soft reset, the state stays
    assert mpremote(port, "exec", "y = 5", "resume", "exec", "print(y + 1)").strip() == "6"
    # the symbolic link: mpremote then takes it for a serial port (no pty shortcut), and works the same
    assert mpremote(term.link, "exec", "print(2+3)").strip() == "5"
    # mount: a local directory on the terminal, imported from
    (tmp_path / "mnt").mkdir()
    (tmp_path / "mnt" / "helper.py").write_text("def f():\n    return 42\n")
    out = mpremote(port, "mount", str(tmp_path / "mnt"), "exec", "import helper; print(helper.f())")
    assert out.strip().endswith("42")


def test_bridge_interrupts_a_running_program(term):
    """mpremote killed while code runs (a technician's Ctrl-C); the next one gets the REPL back."""
    p = subprocess.Popen([MPREMOTE, "connect", term.port, "exec", "import time\nwhile True: time.sleep(0.05)"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(1.0)
    p.kill()
    p.wait()
    assert mpremote(term.port, "exec", "print('back')").strip() == "back"


def _version():
    ns = {}
    with open(os.path.join(ROOT, "firmware", "wasl", "__init__.py")) as f:
        exec(f.read(), ns)
    return ns["VERSION"]


# ---- diagnostics over stock mpremote ---------------------------------------------------------------------

def test_diag_every_part_signed_and_verified(term, acq):
    keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "OK", "CANCEL", "CLEAR"]
    person = Person(term, keys=keys, card=("chip", "emv_visa_cvn18"))
    out_json = term.base / "report.json"
    try:
        rc, out = run_diag(term, "--wait", "15", "--json", str(out_json))
    finally:
        person.close()
    assert rc == 0, out
    doc = json.loads(out_json.read_text())
    rep = doc["report"]
    p = parts_of(rep)
    assert [x["part"] for x in rep["parts"]] == ["versions", "clock", "storage", "keys", "battery", "echo",
                                                  "display", "printer", "keypad", "card", "wifi", "modem"]
    verdicts = {k: v["verdict"] for k, v in p.items()}
    assert verdicts == {"versions": "PASS", "clock": "PASS", "storage": "PASS", "keys": "PASS",
                        "battery": "SKIPPED", "echo": "PASS", "display": "PASS", "printer": "PASS",
                        "keypad": "PASS", "card": "PASS", "wifi": "PASS", "modem": "SKIPPED"}, out
    for absent in ("battery", "modem"):
        assert p[absent]["detail"] == "absent"
    # the desktop board is its own Wi-Fi station (docs/modem.md, section 7): its access point in range
    assert p["wifi"]["facts"]["networks"] == 1 and p["wifi"]["facts"]["best_rssi"] == -58
    assert rep["terminal_id"] == "WASL0001" and rep["board"] == "sim"
    assert p["versions"]["facts"]["firmware"] == _version()
    # keys: check values only, those the injection tool printed
    kf = p["keys"]["facts"]
    assert kf["ik_kcv"] == term.key_facts["ik_kcv"] == "05EF45"
    assert kf["kbpk_kcv"] == term.key_facts["kbpk_kcv"] == rep["kbpk_kcv"]
    # the echo reached the acquirer simulator, MACed
    assert p["echo"]["facts"]["rc"] == "00" and p["echo"]["facts"]["mac"] is True
    echo_rows = [r for r in acq.ledger_rows("WASL0001") if r.get("mti") == "0800"]
    assert echo_rows, acq.ledger_rows("WASL0001")
    # what the person saw and the printer printed
    assert ["####################", "0123456789ABCDEFGHIJ", "KLMNOPQRSTUVWXYZabcd", "     WASL 20x4      "] \
        in person.lcd
    assert b"TEST PAGE" in person.printer and b"\x1dV" in person.printer      # printed and cut
    assert p["keypad"]["facts"] == {"keys": 13, "missing": []}
    card = p["card"]["facts"]
    assert card == {"entry": "chip", "aid": "A0000000031010", "label": "VISA DEBIT", "pan": MASKED}
    assert person.apdus and not any(c.startswith("80AE") for c in person.apdus), "no GENERATE AC in a card test"
    # the table
    assert "keypad    PASS" in out and "12 parts: 10 PASS, 0 FAIL, 2 SKIPPED" in out
    # signed, verifiable with the KBPK; tampering is caught
    assert doc["signature"]["kbpk_kcv"] == term.key_facts["kbpk_kcv"]
    ok, facts = diag.verify(doc, kbpk=term.kbpk)
    assert ok, facts
    assert facts["terminal_id"] == "WASL0001"
    assert diag.main(["verify", str(out_json), "--kbpk-file", str(term.base / "kbpk.hex")], out=io.StringIO()) == 0
    _tampering_fails(doc, term)
    # nothing secret anywhere: the KBPK, the full PAN, the track 2 data
    _no_secrets(term, out + out_json.read_text() + _read(term.log_path))


def _tampering_fails(doc, term):
    bad = json.loads(json.dumps(doc))
    bad["report"]["parts"][0]["verdict"] = "FAIL"          # the readable copy changed
    assert diag.verify(bad, kbpk=term.kbpk)[0] is False
    bad = json.loads(json.dumps(doc))
    bad["signed_text"] = bad["signed_text"].replace('"FAIL": ', '"FAIL": 0, "X": ').replace(
        '"verdict": "SKIPPED"', '"verdict": "PASS"', 1)       # the signed text changed
    bad["report"] = json.loads(bad["signed_text"])
    ok, why = diag.verify(bad, kbpk=term.kbpk)
    assert not ok and "signature does not match" in why
    ok, why = diag.verify(doc, kbpk=bytes(32))              # another terminal's KBPK
    assert not ok and "KCV" in why
    path = term.base / "tampered.json"
    path.write_text(json.dumps(bad))
    out = io.StringIO()
    assert diag.main(["verify", str(path), "--kbpk-file", str(term.base / "kbpk.hex")], out=out) == 1
    assert out.getvalue().startswith("INVALID")
    # support may hold only the terminal's derived diagnostics key, not its KBPK
    dk = term.base / "diag.hex"
    dk.write_text(diag.diag_key_from_kbpk(term.kbpk).hex())
    assert diag.main(["verify", str(term.base / "report.json"), "--diag-key-file", str(dk)], out=io.StringIO()) == 0


def _read(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def _no_secrets(term, text):
    up = text.upper()
    assert term.kbpk.hex().upper() not in up
    assert PAN not in text
    assert "D3012" not in up and "=3012" not in text      # track 2 (equivalent) separators + expiry


def test_diag_keypad_partial_and_swipe(term):
    """Keys missed fail the keypad test and are named; a swiped card gives its masked PAN only."""
    card = load_cards()["visa_ok"]
    person = Person(term, keys=["1", "2", "OK"], card=("swipe", card))
    try:
        rc, out = run_diag(term, "--parts", "card,keypad", "--wait", "3")
    finally:
        person.close()
    assert rc == 1, out
    assert "keypad    FAIL     not seen: 3 4 5 6 7 8 9 0 CANCEL CLEAR" in out
    assert "card      PASS     swipe, PAN %s" % MASKED in out
    _no_secrets(term, out)


def test_diag_nobody_there_is_skipped_and_unknown_part_refused(term):
    rc, out = run_diag(term, "--parts", "keypad", "--wait", "1")
    assert rc == 0, out
    assert "keypad    SKIPPED  no key pressed in 1 s" in out
    rc, out = run_diag(term, "--parts", "keypad,toaster")
    assert rc == 2 and "unknown part 'toaster'" in out


def test_diag_without_keys_is_unsigned(acq, tmp_path):
    """A terminal without a KBPK: the report says so and cannot be verified."""
    data = tmp_path / "bare"
    make_params(str(data), acq.host_params())
    with Bridge(str(data)) as br:
        rc, out = run_diag(br, "--parts", "versions,keys", "--json", str(tmp_path / "r.json"))
    assert rc == 1, out
    assert "keys      FAIL     no key block protection key" in out
    assert "NOT SIGNED" in out
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["signature"] is None
    assert diag.verify(doc, kbpk=bytes(32)) == (False, "the report is not signed")


# ---- the production lock -----------------------------------------------------------------------------

def test_production_lock_end_to_end(tmp_path):
    """Production mode: stock mpremote gets no REPL, the diag CLI is refused without a credential, runs
    with one (the technician key derived from the KBPK) and locks the terminal again after; three
    wrong answers lock it out even for the right key; developer mode needs the credential too."""
    data = tmp_path / "prod"
    make_params(str(data))
    inject_test_keys(str(data))
    kbpk = tmp_path / "kbpk.hex"
    kbpk.write_text((data / "secure" / "kbpk").read_bytes().hex())
    bad = tmp_path / "bad.hex"
    bad.write_text("00" * 16)
    with Bridge(str(data)) as br:
        port = br.port
        out = io.StringIO()
        assert diag.main(["mode", "production", "--port", port], out=out) == 0, out.getvalue()
        # stock mpremote: its soft reset boots the terminal into the lock; no REPL, nothing executed
        try:
            res = subprocess.run([MPREMOTE, "connect", port, "exec", "print(6 * 7)"], capture_output=True,
                                 text=True, timeout=3)
            assert res.returncode != 0 and "42" not in res.stdout
        except subprocess.TimeoutExpired as e:
            assert b"42" not in (e.stdout or b"")
        assert b"WASL-CHALLENGE WASL0001" in diag.probe(port)
        # the diagnostics CLI: refused without a credential
        rc, out = run_diag(br, "--parts", "clock")
        assert rc == 3 and "refused: terminal WASL0001 is in production mode" in out, out
        # with the KBPK (the technician key is derived from it): the report, then locked again
        rc, out = run_diag(br, "--parts", "clock,keys", "--kbpk-file", str(kbpk))
        assert rc == 0, out
        assert "Unlocked terminal WASL0001" in out and "keys      PASS" in out
        assert b"WASL-CHALLENGE" in diag.probe(port)
        # a technician's own session: unlock, then mpremote with `resume` (a soft reset locks again)
        tech = diag.technician_key(type("A", (), {"kbpk_file": str(kbpk)})())
        assert diag.unlock(port, tech) == ["WASL0001", _kcv(data)]
        assert mpremote(port, "resume", "exec", "print(6 * 7)").strip() == "42"
        assert diag.relock(port)
        # back to developer mode needs the credential
        assert diag.main(["mode", "developer", "--port", port], out=io.StringIO()) == 3
        # three wrong answers: locked out, the right key too
        for word in ("WASL-DENIED 2", "WASL-DENIED 1", "WASL-LOCKED-OUT 300"):
            rc, out = run_diag(br, "--parts", "clock", "--tech-key-file", str(bad))
            assert rc == 3 and "refused: %s" % word in out, out
        rc, out = run_diag(br, "--parts", "clock", "--kbpk-file", str(kbpk))
        assert rc == 3 and "WASL-LOCKED-OUT 29" in out, out
        # five minutes later (the lock-out's end, written back in time): developer mode again
        (data / "secure" / "techlock").write_text('{"fails": 0, "until": 0}')
        out = io.StringIO()
        assert diag.main(["mode", "developer", "--port", port, "--kbpk-file", str(kbpk)], out=out) == 0, out.getvalue()
        assert mpremote(port, "exec", "print(6 * 7)").strip() == "42"
    _no_secrets_in(data, (data / "secure" / "kbpk").read_bytes())


def _kcv(data):
    from tools.hostcrypto import aes_kcv

    return aes_kcv((data / "secure" / "kbpk").read_bytes()).hex().upper()


def _no_secrets_in(data, kbpk):
    text = _read(os.path.join(str(data), "bridge.log"))
    assert kbpk.hex().upper() not in text.upper()
