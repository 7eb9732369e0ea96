"""tools/simterm.py, the desktop terminal behind `make sim`: key decoding and receipt numbering in
process, then the real program driven through tmux like a person at a keyboard, and its --script mode."""
import glob
import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from tools.simterm import ReceiptStore, mask_pan, parse_keys  # noqa: E402

PY = sys.executable
MASKED = "476173******0010"
FULL_PAN = "4761739001010010"


# key decoding ---------------------------------------------------------------------------------------

def strip_status(raw):
    """The receipt's bytes without the real-time status queries (DLE EOT n) sent before it."""
    while raw[:2] == b"\x10\x04" and len(raw) >= 3:
        raw = raw[3:]
    return raw

def keys(actions):
    return [a[1] if a[0] == "key" else a[0] for a in actions]


def test_plain_keys():
    actions, rest = parse_keys(b"120\r\n\x7f\x08mMcrq\x03", final=False)
    assert rest == b""
    assert keys(actions) == ["1", "2", "0", "OK", "OK", "CLEAR", "CLEAR", "MENU", "MENU", "card", "remove",
                             "quit", "quit"]


def test_escape_sequences():
    actions, rest = parse_keys(b"\x1bOP\x1bOS\x1b[11~\x1b[14~\x1b[A\x1b[B\x1bOA", final=False)
    assert rest == b""
    assert keys(actions) == ["F1", "F4", "F1", "F4", "UP", "DOWN", "UP"]


def test_lone_escape_waits_then_cancels():
    assert parse_keys(b"5\x1b", final=False) == ([("key", "5")], b"\x1b")
    assert keys(parse_keys(b"\x1b", final=True)[0]) == ["CANCEL"]
    assert parse_keys(b"\x1b[1", final=False) == ([], b"\x1b[1")        # sequence cut short: wait
    assert keys(parse_keys(b"\x1b7", final=False)[0]) == ["CANCEL", "7"]


def test_unknown_keys():
    actions, _ = parse_keys("x\x1b[15~é".encode(), final=False)
    assert actions == [("unknown", b"x"), ("unknown", b"\x1b[15~"), ("unknown", "é".encode())]


def test_masking_and_receipt_numbers(tmp_path):
    assert mask_pan(FULL_PAN) == MASKED
    assert mask_pan(None) == "unreadable"
    store = ReceiptStore(str(tmp_path))
    (tmp_path / "0007.txt").write_text("old")
    (tmp_path / "notes.txt").write_text("not a receipt")
    n, path = store.save({"text": "NEW\n", "escpos": b"\x1b@NEW\n"})
    assert n == 8 and path.endswith("0008.txt")
    assert (tmp_path / "0008.escpos").read_bytes() == b"\x1b@NEW\n"
    assert (tmp_path / "0008.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"   # the paper, as a picture
    assert store.latest() == (8, "NEW\n")


# the real program --------------------------------------------------------------------------------------
def processes_using(path):
    """pids whose command line or environment mentions path (the simulator, the firmware)."""
    found = []
    for proc in glob.glob("/proc/[0-9]*"):
        for part in ("cmdline", "environ"):
            try:
                with open(os.path.join(proc, part), "rb") as f:
                    if path.encode() in f.read():
                        found.append(int(os.path.basename(proc)))
                        break
            except OSError:
                pass
    return found


class Tmux:
    def __init__(self, command, width=100, height=30):
        self.sock = "wasl-simterm-%d-%s" % (os.getpid(), uuid.uuid4().hex[:8])
        self.run("new-session", "-d", "-x", str(width), "-y", str(height), "-c", ROOT, command)

    def run(self, *args, check=True):
        return subprocess.run(["tmux", "-L", self.sock] + list(args), capture_output=True, text=True, check=check)

    def keys(self, *names):
        self.run("send-keys", *names)

    def screen(self):
        res = self.run("capture-pane", "-p", check=False)
        return res.stdout if res.returncode == 0 else None

    def alive(self):
        return self.run("has-session", check=False).returncode == 0

    def kill(self):
        self.run("kill-server", check=False)
        path = os.path.join(os.environ.get("TMUX_TMPDIR") or "/tmp", "tmux-%d" % os.getuid(), self.sock)
        if os.path.exists(path):
            os.unlink(path)


def test_simterm_in_tmux(tmp_path):
    if not shutil.which("tmux"):
        pytest.skip("tmux is not installed")
    sim = str(tmp_path / "sim")
    errlog = tmp_path / "simterm.stderr"
    command = "WASL_SIM_DIR=%s exec %s -m tools.simterm --lang en 2>%s" % (
        shlex.quote(sim), shlex.quote(PY), shlex.quote(str(errlog)))
    tmux = Tmux(command)

    def why():
        log = os.path.join(sim, "term", "firmware.log")
        return "\nscreen:\n%s\nstderr:\n%s\nfirmware log:\n%s" % (
            tmux.screen(), errlog.read_text() if errlog.exists() else "",
            open(log).read()[-2000:] if os.path.exists(log) else "")

    def wait(pred, what, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = tmux.screen() or ""
            if pred(screen):
                return screen
            assert tmux.alive(), "simterm ended while waiting for %s%s" % (what, why())
            time.sleep(0.1)
        pytest.fail("timed out waiting for %s%s" % (what, why()))

    def receipt_files():
        return sorted(glob.glob(os.path.join(sim, "receipts", "*")))

    try:
        wait(lambda s: "+------- LCD --------+" in s and "state: idle" in s, "the idle screen")
        tmux.keys("1", "2", "5", "0", "0", "Enter")
        wait(lambda s: "state: card" in s and "125,00 DZD" in s, "the card prompt")
        tmux.keys("c")
        wait(lambda s: "APPROVED" in s, "APPROVED")
        wait(lambda s: "CUSTOMER COPY" in s and "state: copy_prompt" in s, "the customer copy prompt")
        tmux.keys("Enter")
        deadline = time.monotonic() + 10
        while len(receipt_files()) < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
        names = [os.path.basename(p) for p in receipt_files()]
        assert names == ["0001.escpos", "0001.png", "0001.txt", "0002.escpos", "0002.png", "0002.txt"], why()
        screen = wait(lambda s: "receipt 2 saved to" in s, "the receipt status line")

        lcd = [line for line in screen.splitlines() if line.startswith("|")][:4]
        assert len(lcd) == 4 and all(line[21] == "|" for line in lcd), screen
        assert "+--------------------+" in screen and "receipt 0002" in screen
        assert MASKED in screen and FULL_PAN not in screen
        texts = [open(os.path.join(sim, "receipts", "%04d.txt" % n)).read() for n in (1, 2)]
        assert "MERCHANT COPY" in texts[0] and "CUSTOMER COPY" in texts[1]
        for n, text in enumerate(texts, 1):
            assert MASKED in text and FULL_PAN not in text
            raw = open(os.path.join(sim, "receipts", "%04d.escpos" % n), "rb").read()
            # the printer's status is asked (DLE EOT n) before a receipt, then ESC @ starts it
            assert strip_status(raw).startswith(b"\x1b@") and FULL_PAN.encode() not in raw

        tmux.keys("q")
        deadline = time.monotonic() + 15
        while tmux.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not tmux.alive(), "simterm did not quit" + why()
        assert errlog.read_text() == ""
        deadline = time.monotonic() + 5
        while processes_using(sim) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert processes_using(sim) == []
    finally:
        tmux.kill()


def test_script_mode(tmp_path):
    sim = str(tmp_path / "sim")
    os.makedirs(os.path.join(sim, "receipts"))
    open(os.path.join(sim, "receipts", "0041.txt"), "w").close()
    res = subprocess.run([PY, "-m", "tools.simterm", "--lang", "en", "--dir", sim, "--script",
                          "12500,OK,card:visa_ok,wait:approved,wait:copy_prompt,OK,receipts:2"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "receipt 43 saved to" in res.stdout
    assert FULL_PAN not in res.stdout and MASKED in res.stdout
    assert sorted(os.listdir(os.path.join(sim, "receipts")))[-3:] == ["0043.escpos", "0043.png", "0043.txt"]
    assert processes_using(sim) == []


# chip and contactless cards ----------------------------------------------------------------------------
def test_chip_card_keys():
    actions, rest = parse_keys(b"itITr", final=False)
    assert rest == b"" and keys(actions) == ["insert", "tap", "insert", "tap", "remove"]


def test_chip_keys_in_tmux(tmp_path):
    """`i` inserts the test chip card, `t` taps the contactless one, `r` takes it away; the key guide says so."""
    if not shutil.which("tmux"):
        pytest.skip("tmux is not installed")
    sim = str(tmp_path / "sim")
    errlog = tmp_path / "simterm.stderr"
    tmux = Tmux("WASL_SIM_DIR=%s exec %s -m tools.simterm --lang en 2>%s" % (
        shlex.quote(sim), shlex.quote(PY), shlex.quote(str(errlog))))

    def wait(text, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = tmux.screen() or ""
            if text in screen:
                return screen
            assert tmux.alive(), "simterm ended while waiting for %r: %s" % (text, errlog.read_text())
            time.sleep(0.1)
        pytest.fail("timed out waiting for %r; screen:\n%s" % (text, tmux.screen()))

    try:
        screen = wait("state: idle")
        assert "i      insert chip card" in screen and "t      tap contactless" in screen
        assert "r      remove card" in screen
        tmux.keys("i")
        screen = wait("inserted emv_visa_cvn18 %s" % MASKED)
        assert FULL_PAN not in screen
        tmux.keys("r")
        wait("card removed")
        tmux.keys("t")
        wait("tapped emv_contactless")
        tmux.keys("r", "q")
        deadline = time.monotonic() + 15
        while tmux.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not tmux.alive() and errlog.read_text() == ""
        assert os.path.exists(os.path.join(sim, "term", "secure", "kbpk"))     # the terminal got its test keys
    finally:
        tmux.kill()


def test_script_mode_chip_steps(tmp_path):
    sim = str(tmp_path / "sim")
    res = subprocess.run([PY, "-m", "tools.simterm", "--lang", "en", "--dir", sim, "--script",
                          "insert,remove,tap:emv_contactless,remove,wait:idle"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "inserted emv_visa_cvn18 %s" % MASKED in res.stdout and "tapped emv_contactless" in res.stdout
    assert FULL_PAN not in res.stdout
    bad = subprocess.run([PY, "-m", "tools.simterm", "--dir", sim, "--script", "insert:emv_nonexistent"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "insert[:EMV]" in bad.stderr
