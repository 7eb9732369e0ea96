"""Harness library: run the acquirer simulator and the firmware on the MicroPython unix port, drive the
sim board over its control channel (docs/sim-protocol.md) and observe the terminal like a person would.

Used by the scenario runner (tools/scenario.py), the desktop front end (tools/simterm.py) and the tests.

    with AcqSim(tmp / "acq") as acq, Firmware(tmp / "term", acq=acq, heap="64K", code="romfs") as fw:
        fw.wait_state("idle")
        fw.keys("12500", "OK")
        fw.card(TEST_CARDS["visa_ok"])
        fw.wait_state("approved")
        fw.wait_receipts(2)

A chip or contactless card is a virtual EMV card (tools/virtual/emvcard.py, profiles
host_tests/cards/emv_*.json) living here, in the harness: fw.insert("emv_visa_cvn18") (or fw.tap(...))
tells the board a card is there, then answers each APDU the board's reader sends; fw.apdus keeps them.
Every terminal gets test DUKPT keys in its data directory before it starts (inject_test_keys).
"""
import copy
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

from tools.virtual.escpos_image import ImagePrinter
from tools.virtual.printer_status import PrinterStatus

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
MICROPYTHON = os.path.join(BIN, "micropython")
PARAMS_TEMPLATE = os.path.join(ROOT, "boards", "sim", "params.json")
EMV_TEMPLATE = os.path.join(ROOT, "boards", "sim", "emv.json")     # the EMV terminal data (docs/emv.md, 4)
CARDS_FILE = os.path.join(ROOT, "host_tests", "cards", "magstripe.json")
FIXTURES = os.path.join(ROOT, "host_tests", "fw", "fixtures")

# The test keys every sim terminal gets (docs/keys.md): the published test BDKs and fixed initial key IDs,
# so that the acquirer simulator (which holds the same BDKs) can derive each request's keys. Never real.
TEST_KEYS = {
    "aes": ["--scheme", "aes", "--bdk-file", os.path.join(FIXTURES, "crypto_test_bdk_aes128.txt"),
            "--ikid", "1234567890123456"],             # X9.24-3 test BDK, IK KCV 05EF45
    "tdes": ["--scheme", "tdes", "--bdk-file", os.path.join(FIXTURES, "crypto_test_bdk_tdes.txt"),
             "--ksn", "FFFF9876543210E00000"],         # X9.24-1 A.4 test BDK, IPEK KCV AF8C07
}


KEY_INTERVAL_S = 0.02   # 50 keys a second: faster than any hand, slower than the 10 ms input poll


def load_cards():
    with open(CARDS_FILE) as f:
        return json.load(f)["cards"]


def parse_heap(text):
    """'64K' -> 65536, '1M' -> 1048576, '50000' -> 50000."""
    text = str(text).strip().upper()
    mult = {"K": 1024, "M": 1024 * 1024}.get(text[-1:], 1)
    return int(text[:-1] if mult > 1 else text) * mult


class HarnessError(AssertionError):
    pass


def has_keys(data_dir):
    """The terminal already holds a DUKPT key (its sealed state) or has one waiting in its inbox."""
    return any(os.path.exists(os.path.join(str(data_dir), *p))
               for p in (("secure", "dukpt"), ("keys", "dukpt.tr31")))


def inject_test_keys(data_dir, scheme="aes"):
    """Give a sim terminal its test keys with tools/keyinject.py, as a technician would: a KBPK in
    <data>/secure (made once: AES-256, random) and the TR-31 block of the test initial key (TEST_KEYS)
    in <data>/keys, which the firmware takes at its next boot. Returns the tool's facts (scheme, KCVs,
    initial key ID or KSN: no key), or None when the terminal already has a key (a reboot reuses its
    data directory: its DUKPT counter carries on)."""
    if scheme not in TEST_KEYS:
        raise HarnessError("unknown key scheme %r (aes, tdes)" % scheme)
    data_dir = str(data_dir)
    if has_keys(data_dir):
        return None
    from tools import keyinject

    argv = ["--data", data_dir, "--json"] + TEST_KEYS[scheme]
    if not os.path.exists(os.path.join(data_dir, "secure", "kbpk")):
        argv.append("--gen-kbpk")
    out = io.StringIO()
    if keyinject.main(argv, out=out):     # the tool said why on stderr
        raise HarnessError("test key injection into %s failed" % data_dir)
    return json.loads(out.getvalue())


def journal_state(data_dir, board="sim"):
    """The terminal's journal and batch state, read from its flash image by the firmware's own code
    on the unix port (tools/upy/journal_dump.py). Safe while the terminal is idle."""
    env = dict(os.environ)
    env["MICROPYPATH"] = ".frozen:%s:%s" % (os.path.join(ROOT, "firmware"), os.path.join(ROOT, "boards", board))
    res = subprocess.run([MICROPYTHON, os.path.join(ROOT, "tools", "upy", "journal_dump.py"), str(data_dir)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
    if res.returncode:
        raise HarnessError("journal dump failed: %s" % (res.stderr or res.stdout).strip()[-500:])
    return json.loads(res.stdout)


class ServerProcess:
    """A simulator run as a child process (`python -m <module> --state DIR --port 0 ...`): it prints one
    JSON line when it listens (its address, port, CA...), kept as .info; stderr goes to DIR/<log>."""

    module = log = what = None      # set by each simulator's class

    def __init__(self, state_dir, extra_args=(), start_timeout=30):
        self.state_dir = str(state_dir)
        self.extra_args = list(extra_args)
        self.start_timeout = start_timeout
        self.proc = None
        self.info = None

    def start(self):
        os.makedirs(self.state_dir, exist_ok=True)
        self._stderr = open(os.path.join(self.state_dir, self.log), "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module, "--state", self.state_dir, "--port", "0"] + self.extra_args,
            cwd=ROOT, stdout=subprocess.PIPE, stderr=self._stderr, stdin=subprocess.DEVNULL)
        box = {}

        def read_ready():
            box["line"] = self.proc.stdout.readline()

        t = threading.Thread(target=read_ready, daemon=True)
        t.start()
        t.join(self.start_timeout)
        line = box.get("line")
        if not line:
            self.stop()
            raise HarnessError("%s did not start (see %s/%s)" % (self.what, self.state_dir, self.log))
        self.info = json.loads(line)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc and self.proc.stdout:
            self.proc.stdout.close()
        if getattr(self, "_stderr", None):
            self._stderr.close()
            self._stderr = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class AcqSim(ServerProcess):
    """The acquirer simulator (tools/acqsim) as a child process."""

    module, log, what = "tools.acqsim", "acqsim.log", "acquirer simulator"

    @property
    def port(self):
        return self.info["port"]

    def host_params(self):
        i = self.info
        return {"address": i["address"], "port": i["port"], "server_name": i["server_name"], "ca": i["ca"]}

    def ledger_rows(self, tid=None):
        from tools.acqsim.ledger import Ledger
        return Ledger(self.info["ledger"]).rows(tid)



def make_params(data_dir, host=None, overrides=None, emv=None):
    """Write data_dir/params.json from the sim template, the simulator's host block and overrides
    (a dict merged one level deep: {"host": {"reply_timeout_s": 3}} keeps the other host keys), and
    data_dir/emv.json, the EMV terminal data, from boards/sim/emv.json when there is one, with `emv`
    merged into it the same way, except "aids": a dict merged into every AID's entry."""
    with open(PARAMS_TEMPLATE) as f:
        doc = json.load(f)
    if host:
        doc["host"].update(host)
    for k, v in (overrides or {}).items():
        if isinstance(v, dict) and isinstance(doc.get(k), dict):
            doc[k].update(v)
        else:
            doc[k] = copy.deepcopy(v)
    os.makedirs(data_dir, exist_ok=True)
    with open(os.path.join(data_dir, "params.json"), "w") as f:
        json.dump(doc, f, indent=1)
    if os.path.exists(EMV_TEMPLATE):     # the chip card flow reads it from the data directory
        with open(EMV_TEMPLATE) as f:
            terminal = json.load(f)
        for k, v in (emv or {}).items():
            if k == "aids" and isinstance(v, dict):
                for entry in terminal["aids"]:
                    entry.update(v)
            elif isinstance(v, dict) and isinstance(terminal.get(k), dict):
                terminal[k].update(v)
            else:
                terminal[k] = copy.deepcopy(v)
        with open(os.path.join(data_dir, "emv.json"), "w") as f:
            json.dump(terminal, f, indent=1)
    return doc


_BUILD_LOCK = threading.Lock()


def _stamped(path, digest):
    try:
        with open(path) as f:
            return f.read() == digest
    except OSError:
        return False


def build_code(mode, board="sim"):
    """Prepare the firmware for a code mode; return (MICROPYPATH, main script, romfs image or None).
    Several processes may run firmware at once (pytest and a scenario, a benchmark): the build holds a
    lock file, and a tree or image already built from the same sources (tools.mpybuild.digest) is reused,
    never rebuilt under a firmware that is loading modules from it."""
    if mode == "py":
        return ".frozen:%s:%s" % (os.path.join(ROOT, "firmware"), os.path.join(ROOT, "boards", board)), \
            os.path.join(ROOT, "firmware", "main.py"), None
    if mode not in ("mpy", "romfs"):
        raise HarnessError("unknown code mode %r (py, mpy, romfs)" % mode)
    import fcntl

    from tools import mpybuild
    out = os.path.join(ROOT, "build", board)
    image = os.path.join(ROOT, "build", board + ".romfs")
    os.makedirs(os.path.join(ROOT, "build"), exist_ok=True)
    with _BUILD_LOCK, open(os.path.join(ROOT, "build", ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)      # released when the file closes
        digest = mpybuild.digest(board)
        stamp = os.path.join(out, ".digest")
        if not _stamped(stamp, digest):
            count, errors = mpybuild.build(board, out)
            if errors:
                raise HarnessError("mpy build failed: %s" % "; ".join(errors))
            with open(stamp, "w") as f:
                f.write(digest)
        if mode == "romfs" and not (os.path.exists(image) and _stamped(image + ".digest", digest)):
            res = subprocess.run([os.path.join(BIN, "mpremote"), "romfs", "-o", image + ".tmp", "build", out],
                                 capture_output=True, text=True)
            if res.returncode:
                raise HarnessError("romfs build failed: %s" % res.stderr.strip())
            os.replace(image + ".tmp", image)
            with open(image + ".digest", "w") as f:
                f.write(digest)
    if mode == "mpy":
        return ".frozen:" + out, os.path.join(out, "main.py"), None
    return ".frozen:" + out, "-m romboot", image


def image_heap_cost(n):
    """Heap bytes the unix port spends to hold an n-byte ROMFS image (boards/sim/romboot.py reads it into
    one bytearray): its 16-byte blocks, the bytearray object, and the GC's tables for those blocks (the
    port keeps 3 of every 256 heap bytes for them; host_tests/test_scenarios.py measures it). Added to
    -X heapsize, so that a heap figure is what the firmware itself has, whatever the size of the image."""
    blocks = (n + 15) // 16 + 10   # + the bytearray object and rounding of the tables
    return blocks * 16 + (blocks * 16 * 3 + 252) // 253


class Firmware:
    """The terminal firmware on the unix port, with the sim board, as a child process.

    code: 'py' (sources), 'mpy' (compiled tree, loaded into RAM as on a device without romfs) or
    'romfs' (compiled tree in a ROMFS image, executed in place as from the device's flash; the
    image's cost is added to the heap size because the unix port has to keep it in its heap: see
    image_heap_cost)."""

    def __init__(self, data_dir, acq=None, heap=None, code="py", params=None, env=None, write_params=True,
                 keys="aes", main=None, emv=None, modem=None):
        self.data_dir = str(data_dir)
        self.main = main        # a MicroPython script to run instead of the firmware (board tests; code py)
        self.key_scheme = keys  # test keys injected at start: "aes", "tdes" or None (docs/keys.md)
        self.key_facts = None   # what the injection printed (KCVs...), None when none was made
        self.acq = acq
        self.heap = heap
        self.code = code
        self.extra_env = env or {}
        if write_params:
            self.params = make_params(self.data_dir, acq.host_params() if acq else None, params, emv)
        self.proc = None
        self.lcd = [""] * 4
        self.screens = []       # every LCD frame, in order
        self.states = []        # every UI state, in order
        self.state_screens = []  # for each state: how many LCD frames had been shown before it
        self.receipts = []      # {"text", "escpos", "unknown_commands"}
        self.beeps = []
        self.events = []        # every control-channel event
        self.exit_code = None
        self.exited = False     # the process has ended (its stdout closed)
        self.stdout_junk = []   # stdout lines that were not protocol JSON (must stay empty)
        self.heapsize = None
        self.powercut = None    # set when the board reported a simulated power cut (WASL_POWERCUT)
        # the chip / contactless card in the reader (tools.virtual.emvcard.VirtualCard) and every APDU
        # exchanged: {"c": command hex, "r": answer hex or None (no card; "removed": the card left
        # instead of answering), "card": profile name}. They carry card data between card and
        # terminal, as they should: kept out of `events`, so that leak scans of the terminal's output
        # need not skip them.
        self.emv_card = None
        self.emv_cards = []     # every card inserted, in order (their .log, .scripts for tests)
        self.apdus = []
        self._cond = threading.Condition()
        self._wlock = threading.Lock()
        self._printer = ImagePrinter(self._on_cut)   # text, and GS v 0 images as images
        # the printer's status side (paper, cover), answering the firmware's DLE EOT queries
        self.printer_status = PrinterStatus()
        self._paper_left = None       # bytes the paper roll still takes, when a test set it
        # the GSM modem behind the board's "modem" UART (tools/virtual/modem.py; `modem`: FakeModem
        # options), and the network links the firmware reported ({"ev": "link"}: "wifi", "gsm", "" down)
        from tools.virtual.modem import VirtualModem

        self.modem = VirtualModem(self._send_line, **(modem or {}))
        self.links = []

    # process ------------------------------------------------------------------------------------
    def start(self):
        os.makedirs(self.data_dir, exist_ok=True)
        if self.key_scheme:
            self.key_facts = inject_test_keys(self.data_dir, self.key_scheme)
        path, script, image = build_code(self.code)
        if self.main:
            script = self.main
        env = dict(os.environ)
        env.update({"MICROPYPATH": path, "WASL_DATA": self.data_dir})
        if image:
            env["WASL_ROMFS"] = image
        env.update(self.extra_env)
        cmd = [MICROPYTHON]
        if self.heap:
            size = parse_heap(self.heap)
            if image:
                size += image_heap_cost(os.path.getsize(image))
            self.heapsize = size
            cmd += ["-X", "heapsize=%d" % size]
        cmd += script.split(" ") if script.startswith("-m ") else [script]
        self.log_path = os.path.join(self.data_dir, "firmware.log")
        self._stderr = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._stderr, env=env)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").strip()
            if not line:
                continue
            try:
                ev = json.loads(line)
            except ValueError:
                with self._cond:
                    self.stdout_junk.append(line)
                    self._cond.notify_all()
                continue
            with self._cond:
                self._event(ev)
                self._cond.notify_all()
        rc = self.proc.wait()
        with self._cond:
            if self.exit_code is None:
                self.exit_code = rc
            self.exited = True
            self._cond.notify_all()

    def _event(self, ev):
        kind = ev.get("ev")
        if kind == "apdu":
            self._apdu(ev.get("c", ""))
            return
        self.events.append(ev)
        if kind == "lcd":
            self.lcd = ev["rows"]
            self.screens.append(ev["rows"])
        elif kind == "state":
            self.states.append(ev["state"])
            self.state_screens.append(len(self.screens))   # frames shown before this state
        elif kind == "uart" and ev.get("port") == "printer":
            data = bytes.fromhex(ev["data"])
            answers = self.printer_status.feed(data)       # real-time status queries (DLE EOT n)
            if answers:
                self._send_line({"uart_rx": {"port": "printer", "data": answers.hex()}})
            if self._paper_left is not None:               # the roll runs out after so many bytes
                if len(data) >= self._paper_left:
                    data = data[:self._paper_left]
                    self._paper_left = None
                    self.printer_status.set(paper_out=True)
                else:
                    self._paper_left -= len(data)
            elif self.printer_status.paper_out or self.printer_status.cover_open:
                return                                     # nothing reaches the paper
            self._printer.feed(data)
        elif kind == "uart" and ev.get("port") == "modem":
            self.modem.feed(bytes.fromhex(ev["data"]))
        elif kind == "link":
            self.links.append(ev["link"])
        elif kind == "beep":
            self.beeps.append(ev["tone"])
        elif kind == "exit":
            self.exit_code = ev["code"]
        elif kind == "powercut":
            self.powercut = ev["at"]
            self.proc.kill()          # the power is gone: no cleanup, no flush

    def _apdu(self, hexc):
        """The board's reader sent a command: the card in the reader answers (in the reader thread)."""
        card = self.emv_card
        entry = {"c": hexc.upper(), "r": None, "card": card.p.get("name") if card else None}
        self.apdus.append(entry)
        if card is None:
            return      # no card: the board learnt it from the card_removed line; it gives up
        from tools.virtual.emvcard import CardGone

        try:
            capdu = bytes.fromhex(hexc)
        except ValueError:
            capdu = b""
        try:
            r = card.apdu(capdu)    # None: a mute card (tests), the board times out
        except CardGone:            # the profile's fault: the card leaves instead of answering
            entry["removed"] = True
            self.emv_card = None
            self._send_line({"card_removed": True})
            return
        except Exception as e:      # a virtual card's own bug: the card goes mute, the test sees why
            entry["error"] = repr(e)
            return
        if r is not None:
            entry["r"] = bytes(r).hex().upper()
            self._send_line({"rapdu": entry["r"]})

    def _on_cut(self, text, raw, unknown):
        self.receipts.append({"text": text, "escpos": raw, "unknown_commands": unknown})

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def send(self, obj):
        with self._wlock:       # the reader thread answers APDUs on the same pipe
            try:
                self.proc.stdin.write((json.dumps(obj) + "\n").encode())
                self.proc.stdin.flush()
            except (BrokenPipeError, ValueError):
                raise HarnessError("firmware is not running (exit %s); log:\n%s"
                                   % (self.exit_code, self.log_tail()))

    def _send_line(self, obj):
        """send() from the reader thread: a firmware gone is its own news there."""
        try:
            self.send(obj)
        except HarnessError:
            pass

    def log_tail(self, n=20):
        """The last lines of the firmware's stderr log, plus anything it printed outside the protocol
        (the unix port prints uncaught exceptions on stdout)."""
        try:
            lines = self.log_text().splitlines()[-n:]
        except OSError:
            lines = []
        return "\n".join(lines + self.stdout_junk[-n:])

    def stop(self, timeout=10):
        """Ask the firmware to quit; kill it if it does not."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.send({"quit": True})
                self.proc.stdin.close()
            except (HarnessError, OSError):
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(5)
        self.modem.stop()
        if self._stderr:
            self._stderr.close()
            self._stderr = None

    def power_cut(self):
        """Kill the process at once, as a power failure would."""
        self.proc.kill()
        self.proc.wait()
        self._reader.join(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # input ------------------------------------------------------------------------------------
    def printer(self, paper_after=None, **states):
        """The virtual printer's state: paper_out, paper_low, cover_open, error, mute (booleans), and
        paper_after=n: the roll runs out after n more bytes (mid-receipt: the rest is lost)."""
        with self._cond:
            if states:
                self.printer_status.set(**states)
            self._paper_left = paper_after

    def wifi(self, up=True, rssi=None):
        """The Wi-Fi access point appears or goes away (its signal in dBm)."""
        w = {"up": up}
        if rssi is not None:
            w["rssi"] = rssi
        self.send({"wifi": w})

    def ppp_drop(self):
        """The GSM data call drops: the board's PPP link says down."""
        self.send({"ppp": False})

    def wait_link(self, name, timeout=20, since=0):
        """Wait until the firmware reports link `name` ("wifi", "gsm"; "" down) at index >= since."""
        self.wait_for(lambda: name in self.links[since:], timeout, "link %r (links so far: %s)"
                      % (name, self.links))
        return self.links.index(name, since)

    def key(self, name):
        self.send({"key": name})

    def keys(self, *names):
        """keys("1250", "OK"): a string of digits is typed digit by digit; other names are keys. Keys
        are typed KEY_INTERVAL_S apart, as fast as a quick hand on a keypad and no faster (the
        terminal's input queue holds 16 events, like a keypad buffer)."""
        first = True
        for n in names:
            for k in (n if n.isdigit() else (n,)):
                if not first:
                    time.sleep(KEY_INTERVAL_S)
                first = False
                self.key(k)

    def card(self, card):
        """Present a card: a dict from host_tests/cards (track2, entry)."""
        self.send({"card": {"track2": card["track2"], "entry": card.get("entry", "swipe")}})

    def insert(self, profile, entry="chip", remove_at=None):
        """Insert a virtual EMV card (entry "chip") or hold it to the contactless field ("tap"): profile
        is a name from host_tests/cards (emv_visa_cvn18) or a loaded profile dict. The card answers the
        board's APDUs from now on. remove_at: the card leaves at that command (its index, 0 first, or
        an INS in hex: "AE" at the first GENERATE AC), else the profile's own fault if any. Returns
        the VirtualCard."""
        from tools.virtual.emvcard import VirtualCard, load_profile

        if entry not in ("chip", "tap"):
            raise HarnessError("card entry %r: chip or tap" % entry)
        try:
            prof = load_profile(profile) if isinstance(profile, str) else profile
            card = VirtualCard(prof, remove_at=remove_at)
        except (OSError, ValueError, KeyError) as e:
            raise HarnessError("EMV card profile %r: %s" % (profile, e)) from None
        with self._cond:
            self.emv_card = card
            self.emv_cards.append(card)
        self.send({"chip": {"entry": entry}})
        return card

    def tap(self, profile, remove_at=None):
        """A contactless card in the field: insert(profile, "tap")."""
        return self.insert(profile, "tap", remove_at)

    def remove_card(self):
        """The card leaves the reader (or the field); the board gives up on any APDU outstanding."""
        with self._cond:
            self.emv_card = None
        self.send({"card_removed": True})

    def apdu_count(self, prefix):
        """How many commands began with these hex digits ("80AE": GENERATE AC, "80AE40": asking a TC)."""
        prefix = prefix.upper().replace(" ", "")
        return sum(1 for a in list(self.apdus) if a["c"].startswith(prefix))

    # observation ------------------------------------------------------------------------------
    def screen_text(self):
        return "\n".join(self.lcd)

    def wait_for(self, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if predicate():
                    return True
                if self.exited:
                    raise HarnessError("firmware exited (code %s) while waiting for %s; log:\n%s"
                                       % (self.exit_code, what, self.log_tail()))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise HarnessError("timed out after %ss waiting for %s; screen:\n%s\nstates: %s"
                                       % (timeout, what, self.screen_text(), self.states[-8:]))
                self._cond.wait(left)

    def wait_state(self, state, timeout=10, since=0):
        """Wait until `state` appears in the state history at index >= since; return its index."""
        found = {}

        def pred():
            for i in range(since, len(self.states)):
                if self.states[i] == state:
                    found["i"] = i
                    return True
            return False

        self.wait_for(pred, timeout, "state %r" % state)
        return found["i"]

    def wait_screen(self, text, timeout=10, since_state=None):
        """Wait until `text` is on the LCD; with since_state (an index into states), a frame shown
        since that state counts too, even if the screen has moved on."""
        start = self.state_screens[since_state] if since_state is not None else None

        def pred():
            if text in self.screen_text():
                return True
            return start is not None and any(text in "\n".join(f) for f in self.screens[start:])

        self.wait_for(pred, timeout, "screen text %r" % text)

    def wait_receipts(self, n, timeout=10):
        self.wait_for(lambda: len(self.receipts) >= n, timeout, "%d receipts" % n)

    def wait_exit(self, timeout=10):
        self.wait_for(lambda: self.exited, timeout, "exit")
        return self.exit_code
