"""The Wasl terminal on the desktop (`make sim`): the acquirer simulator plus the firmware on the unix
port, with the 4x20 LCD, the UI state and the last printed receipt drawn in the console, and the
keyboard as the terminal's keypad. User guide: docs/simterm.md.

    python -m tools.simterm [--lang fr|en|ar] [--heap 64K] [--code py|mpy|romfs] [--dir var/sim]
    python -m tools.simterm --script "12500,OK,card:visa_ok,wait:approved,OK,receipts:2"
    python -m tools.simterm --script "12500,OK,insert,wait:approved,remove"      # a chip card

Everything lives under the sim directory (--dir, else $WASL_SIM_DIR, else var/sim): acq/ (simulator
state and ledger), term/ (terminal data: params, journal flash image, firmware.log) and receipts/ (NNNN.txt and
NNNN.escpos for every receipt printed). All three persist from one run to the next.
"""
import argparse
import os
import re
import select
import shutil
import signal
import sys
import termios
import time
import tty

from tools.simlink import ROOT, AcqSim, Firmware, HarnessError, load_cards

POLL_S = 0.05           # main loop period: 20 redraw checks a second
ESC_WAIT_S = 0.05       # how long a lone Esc waits for the rest of an escape sequence
FIRMWARE_KEYS = {"OK", "CANCEL", "CLEAR", "F1", "F2", "F3", "F4", "MENU", "UP", "DOWN"}
CHIP_CARD = "emv_visa_cvn18"        # `i`: the default chip card (host_tests/cards/, PIN 1234)
TAP_CARD = "emv_contactless"        # `t`: the default contactless card

# Keyboard bytes -> actions: ("key", name) goes to the firmware's keypad, the others are ours.
KEYMAP = {
    b"\r": ("key", "OK"), b"\n": ("key", "OK"),
    b"\x7f": ("key", "CLEAR"), b"\x08": ("key", "CLEAR"),
    b"\x1b": ("key", "CANCEL"),
    b"\x1bOP": ("key", "F1"), b"\x1bOQ": ("key", "F2"), b"\x1bOR": ("key", "F3"), b"\x1bOS": ("key", "F4"),
    b"\x1b[11~": ("key", "F1"), b"\x1b[12~": ("key", "F2"), b"\x1b[13~": ("key", "F3"), b"\x1b[14~": ("key", "F4"),
    b"\x1b[A": ("key", "UP"), b"\x1bOA": ("key", "UP"), b"\x1b[B": ("key", "DOWN"), b"\x1bOB": ("key", "DOWN"),
    b"m": ("key", "MENU"), b"M": ("key", "MENU"),
    b"c": ("card",), b"C": ("card",), b"r": ("remove",), b"R": ("remove",),
    b"i": ("insert",), b"I": ("insert",), b"t": ("tap",), b"T": ("tap",),
    b"q": ("quit",), b"Q": ("quit",), b"\x03": ("quit",),
}
KEYMAP.update({bytes([d]): ("key", chr(d)) for d in b"0123456789"})
CSI = re.compile(rb"\x1b\[[\x20-\x3f]*[\x40-\x7e]")     # ESC [ parameters final-byte

HELP = [
    "0-9    digits",
    "Enter  OK (green)",
    "Bksp   CLEAR (yellow)",
    "Esc    CANCEL (red)",
    "F1-F4  F1-F4",
    "Up/Dn  UP / DOWN",
    "m      MENU",
    "c      swipe next card",
    "i      insert chip card",
    "t      tap contactless",
    "r      remove card",
    "q      quit",
]


def parse_keys(buf, final):
    """Split keyboard bytes into actions. Returns (actions, unparsed rest). An escape sequence cut
    short stays in the rest unless `final` (no more bytes came in time): then a lone Esc is CANCEL."""
    out = []
    i = 0
    while i < len(buf):
        b = buf[i]
        if b == 0x1B:
            nxt = buf[i + 1:i + 2]
            if nxt == b"[":
                m = CSI.match(buf, i)
                end = m.end() if m else None
            elif nxt == b"O":
                end = i + 3 if len(buf) >= i + 3 else None
            elif nxt:
                end = i + 1                                 # Esc then another key
            else:
                end = None
            if end is None:
                if not final:
                    break
                end = i + 1 if not nxt else len(buf)
        elif b >= 0xC0:                                     # one UTF-8 character
            end = i + 1
            while end < len(buf) and 0x80 <= buf[end] < 0xC0:
                end += 1
        else:
            end = i + 1
        seq = bytes(buf[i:end])
        out.append(KEYMAP.get(seq, ("unknown", seq)))
        i = end
    return out, bytes(buf[i:])


def card_pan(track2):
    m = re.match(r"\d{12,19}", track2)
    return m.group(0) if m else None


def mask_pan(pan):
    """First six and last four digits, as on the receipt: 476173******0010."""
    if not pan or len(pan) < 13:
        return "unreadable"
    return pan[:6] + "*" * (len(pan) - 10) + pan[-4:]


def emv_card_pan(profile):
    """The PAN of a virtual EMV card's profile (5A, else the track 2 equivalent 57), for masking."""
    for app in profile.get("apps", []):
        recs = [r for r in app.get("records", {}).values() if isinstance(r, dict)]
        recs.append(app.get("gpo_extra", {}))
        for rec in recs:
            if "5A" in rec:
                return rec["5A"].upper().rstrip("F")
        for rec in recs:
            if "57" in rec:
                return rec["57"].upper().split("D")[0]
    return None


def emv_profiles():
    from tools.virtual.emvcard import profile_names

    return profile_names()


def shown_path(path):
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


class ReceiptStore:
    """var/sim/receipts/: NNNN.txt, NNNN.escpos and NNNN.png (the paper as printed, raster images
    included), numbered after the highest file already there."""

    NAME = re.compile(r"^(\d{4,})\.(txt|escpos)$")

    def __init__(self, directory):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)

    def numbers(self):
        return sorted(int(m.group(1)) for m in map(self.NAME.match, os.listdir(self.dir)) if m)

    def save(self, receipt):
        n = (self.numbers() or [0])[-1] + 1
        base = os.path.join(self.dir, "%04d" % n)
        with open(base + ".escpos", "wb") as f:
            f.write(bytes(receipt["escpos"]))
        with open(base + ".txt", "w", encoding="utf-8") as f:
            f.write(receipt["text"])
        from tools.receipt_png import escpos_to_png

        escpos_to_png(bytes(receipt["escpos"]), base + ".png")
        return n, base + ".txt"

    def latest(self):
        """(number, text) of the newest saved receipt, or None."""
        for n in reversed(self.numbers()):
            try:
                with open(os.path.join(self.dir, "%04d.txt" % n), encoding="utf-8", errors="replace") as f:
                    return n, f.read()
            except OSError:
                continue
        return None


class Session:
    """The running terminal: processes, receipts, card cycling and what the screen shows."""

    def __init__(self, args):
        self.args = args
        self.acq = self.fw = None
        self.store = ReceiptStore(os.path.join(args.dir, "receipts"))
        self.cards = list(load_cards().items())
        self.next_card = 0
        self.saved = 0                  # receipts of this run already written to disk
        self.receipt = self.store.latest()
        self.status = "starting..."
        self.last_key = ""
        self.acq_reported = False

    def start(self):
        a = self.args
        self.acq = AcqSim(os.path.join(a.dir, "acq")).start()
        self.fw = Firmware(os.path.join(a.dir, "term"), acq=self.acq, heap=a.heap, code=a.code,
                           params={"language": a.lang})
        self.fw.start()
        self.status = "acquirer simulator on port %d; terminal data in %s" % (
            self.acq.port, shown_path(os.path.join(a.dir, "term")))
        if self.fw.key_facts:       # first start of this terminal: it got its test keys
            self.status += "; test keys injected (%s, KCV %s)" % (self.fw.key_facts["scheme"],
                                                                  self.fw.key_facts["ik_kcv"])

    def stop(self):
        if self.fw:
            self.fw.stop()
        if self.acq:
            self.acq.stop()

    @property
    def fw_exited(self):
        return bool(self.fw and getattr(self.fw, "exited", False))

    # actions --------------------------------------------------------------------------------------
    def present_card(self, name=None):
        if name is None:
            name, card = self.cards[self.next_card]
            self.next_card = (self.next_card + 1) % len(self.cards)
        else:
            card = dict(self.cards)[name]
        self.fw.card(card)
        self.status = "card %s %s %s - %s" % (name, mask_pan(card_pan(card["track2"])), card.get("entry", "swipe"),
                                               card.get("label", ""))

    def present_chip(self, entry, name=None):
        """Insert a virtual EMV card (entry "chip") or tap one ("tap"): CHIP_CARD / TAP_CARD by default."""
        name = name or (TAP_CARD if entry == "tap" else CHIP_CARD)
        card = self.fw.insert(name, entry)
        self.status = "%s %s %s - %s" % ("tapped" if entry == "tap" else "inserted", name,
                                         mask_pan(emv_card_pan(card.p)), card.p.get("label", ""))

    def remove_card(self):
        self.fw.remove_card()
        self.status = "card removed"

    def act(self, action):
        """Handle one keyboard action; False means quit."""
        kind = action[0]
        if kind == "quit":
            return False
        if kind == "key":
            self.fw.key(action[1])
            self.last_key = action[1]
        elif kind == "card":
            self.present_card()
        elif kind == "insert":
            self.present_chip("chip")
        elif kind == "tap":
            self.present_chip("tap")
        elif kind == "remove":
            self.remove_card()
        else:
            self.status = "unknown key %r" % action[1].decode("utf-8", "replace")
        return True

    def poll(self):
        """Save receipts printed since the last call, notice a dead simulator."""
        while self.saved < len(self.fw.receipts):
            rec = self.fw.receipts[self.saved]
            self.saved += 1
            n, path = self.store.save(rec)
            self.receipt = (n, rec["text"])
            self.status = "receipt %d saved to %s" % (n, shown_path(path))
            if self.args.script:
                print(self.status, flush=True)
        if not self.acq_reported and self.acq.proc.poll() is not None:
            self.acq_reported = True
            self.status = "the acquirer simulator stopped (see %s)" % shown_path(
                os.path.join(self.args.dir, "acq", "acqsim.log"))

    # drawing ------------------------------------------------------------------------------------
    def state(self):
        return self.fw.states[-1] if self.fw and self.fw.states else "-"

    def snapshot(self, size):
        fw = self.fw
        return (size, tuple(fw.lcd), self.state(), len(fw.beeps), self.receipt and self.receipt[0],
                self.status, self.last_key)

    def render(self, width, height):
        """The whole screen as `height` lines of exactly `width` characters."""
        lcd = [(row + " " * 20)[:20] for row in (list(self.fw.lcd) + [""] * 4)[:4]]
        beep = self.fw.beeps[-1] if self.fw.beeps else "-"
        left = ["+------- LCD --------+"] + ["|%s|" % row for row in lcd]
        left += ["+" + "-" * 20 + "+",
                 "state: %s" % self.state(),
                 "key: %s  beep: %s" % (self.last_key or "-", beep),
                 ""] + HELP
        side_by_side = width >= 62
        panel_h = max(4, height - 2) if side_by_side else max(4, height - 2 - len(left))
        right = self.receipt_panel(panel_h)
        if side_by_side:
            body = ["%-26s%s" % (l, r) for l, r in zip(left + [""] * len(right), right)]
            body += left[len(right):]
        else:
            body = left + right
        title = "Wasl terminal simulator - lang %s, code %s, dir %s" % (
            self.args.lang, self.args.code, shown_path(self.args.dir))
        lines = [title] + body[:height - 2]
        lines += [""] * (height - 1 - len(lines)) + [self.status]
        return [line[:width].ljust(width) for line in lines[:height]]

    def receipt_panel(self, height):
        inner = height - 2
        if self.receipt:
            n, text = self.receipt
            head = " receipt %04d " % n
            rows = text.rstrip("\n").split("\n")
        else:
            head, rows = " no receipt yet ", []
        if len(rows) > inner:
            rows = rows[:inner - 1] + ["... %d more lines" % (len(rows) - inner + 1)]
        top = "+-" + head + "-" * (31 - len(head)) + "+"
        return [top] + ["|%-32s|" % r[:32] for r in rows + [""] * (inner - len(rows))] + ["+" + "-" * 32 + "+"]


class RawTerminal:
    """The console in raw mode on the alternate screen; restored on exit whatever happens."""

    def __init__(self):
        self.fd = sys.stdin.fileno()
        self.out = sys.stdout.buffer
        self.buf = b""

    def __enter__(self):
        self.saved = termios.tcgetattr(self.fd)
        tty.setraw(self.fd)
        self.write("\x1b[?1049h\x1b[?25l\x1b[2J")
        return self

    def __exit__(self, *exc):
        try:
            self.write("\x1b[?25h\x1b[?1049l")
        except OSError:
            pass
        try:
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)
        except termios.error:
            pass

    def write(self, text):
        self.out.write(text.encode("utf-8", "replace"))
        self.out.flush()

    def draw(self, lines):
        """Paint full-width lines over the old ones: no clearing, so no flicker."""
        self.write("".join("\x1b[%d;1H%s" % (i + 1, line) for i, line in enumerate(lines)))

    def read_actions(self, timeout):
        """Wait up to `timeout` for keyboard input; returns a list of actions, or None at end of input."""
        if not select.select([self.fd], [], [], timeout)[0]:
            return []
        actions = []
        while True:
            data = os.read(self.fd, 1024)
            if not data:
                return None
            more, self.buf = parse_keys(self.buf + data, final=False)
            actions += more
            if not self.buf:
                return actions
            if not select.select([self.fd], [], [], ESC_WAIT_S)[0]:     # a lone Esc, or a cut sequence
                more, self.buf = parse_keys(self.buf, final=True)
                return actions + more


def interactive(session):
    with RawTerminal() as term:
        shown = None
        while True:
            actions = term.read_actions(POLL_S)
            if actions is None:
                return 0
            for action in actions:
                if not session.act(action):
                    return 0
            session.poll()
            if session.fw_exited:
                return None
            size = shutil.get_terminal_size()
            snap = session.snapshot(size)
            if snap != shown:
                term.draw(session.render(size.columns, size.lines))
                shown = snap


def script_steps(text, cards, emv=None):
    """'12500,OK,card:visa_ok,wait:approved' -> [('keys', '12500'), ('keys', 'OK'), ...]"""
    steps = []
    emv = emv_profiles() if emv is None else emv
    for tok in (t.strip() for t in text.split(",")):
        kind, _, arg = tok.partition(":")
        if tok.isdigit() or tok in FIRMWARE_KEYS:
            steps.append(("keys", tok))
        elif kind == "card" and arg in cards:
            steps.append(("card", arg))
        elif kind in ("insert", "tap") and (not arg or arg in emv):
            steps.append((kind, arg or None))
        elif kind == "wait" and arg:
            steps.append(("wait", arg))
        elif kind == "receipts" and arg.isdigit() or kind == "sleep" and re.match(r"^\d+(\.\d+)?$", arg):
            steps.append((kind, int(arg) if kind == "receipts" else float(arg)))
        elif tok == "remove":
            steps.append(("remove", None))
        else:
            raise SystemExit("simterm: bad script step %r (digits, %s, card:NAME, insert[:EMV], tap[:EMV], "
                             "remove, wait:STATE, receipts:N, sleep:S)" % (tok, "/".join(sorted(FIRMWARE_KEYS))))
    return steps


def run_script(session, steps, timeout=20):
    fw = session.fw
    mark = fw.wait_state("idle", timeout)
    for kind, arg in steps:
        print("step %s%s" % (kind, "" if arg is None else " %s" % arg), flush=True)
        if kind == "keys":
            fw.keys(arg)
        elif kind == "card":
            session.present_card(arg)
            print(session.status, flush=True)
        elif kind in ("insert", "tap"):
            session.present_chip("tap" if kind == "tap" else "chip", arg)
            print(session.status, flush=True)
        elif kind == "remove":
            session.remove_card()
        elif kind == "wait":
            mark = fw.wait_state(arg, timeout, since=mark)
        elif kind == "receipts":
            fw.wait_receipts(arg, timeout)
        elif kind == "sleep":
            time.sleep(arg)
        session.poll()
    settle_end = time.monotonic() + 5            # let the last key's effects land
    count = -1
    while count != len(fw.events) and time.monotonic() < settle_end:
        count = len(fw.events)
        time.sleep(0.5)
    session.poll()
    print("\n".join("|%-20s|" % row for row in fw.lcd))
    print("state %s, %d receipts printed" % (session.state(), len(fw.receipts)))
    return 0


def crash_report(fw, log=True):
    """The last lines of the firmware's log, and what it wrote on stdout that is not protocol (the unix
    port prints an uncaught exception's traceback there)."""
    parts = []
    if log:
        parts.append("last lines of %s:\n%s" % (shown_path(fw.log_path), fw.log_tail()))
    if fw.stdout_junk:
        parts.append("non-protocol output on its stdout:\n%s" % "\n".join(fw.stdout_junk[-20:]))
    return "\n".join(parts)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tools.simterm", description="The Wasl terminal on the desktop.")
    ap.add_argument("--lang", choices=("fr", "en", "ar"), default="fr", help="terminal language (default fr)")
    ap.add_argument("--heap", help="micropython heap size for the firmware, e.g. 64K")
    ap.add_argument("--code", choices=("py", "mpy", "romfs"), default="py", help="run sources (default), .mpy or ROMFS")
    ap.add_argument("--dir", default=os.environ.get("WASL_SIM_DIR") or os.path.join(ROOT, "var", "sim"),
                    help="sim directory for acq/, term/ and receipts/ (default $WASL_SIM_DIR or var/sim)")
    ap.add_argument("--script", help="run these comma-separated steps without a UI, e.g. "
                                     "'12500,OK,card:visa_ok,wait:approved,OK,receipts:2'")
    args = ap.parse_args(argv)
    args.dir = os.path.abspath(args.dir)
    if not args.script and not (sys.stdin.isatty() and sys.stdout.isatty()):
        ap.error("the interactive terminal needs a console; use --script for a run without one")
    session = Session(args)
    steps = script_steps(args.script, dict(session.cards)) if args.script else None

    def terminate(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, terminate)
    rc, reported = 1, False
    try:
        print("starting the acquirer simulator and the firmware...", flush=True)
        session.start()
        rc = run_script(session, steps) if steps else interactive(session)
    except HarnessError as e:
        print("simterm: %s" % e, file=sys.stderr)
        reported = True
        if session.fw and session.fw.stdout_junk:
            print(crash_report(session.fw, log=False), file=sys.stderr)
    except KeyboardInterrupt:
        rc = 0
    finally:
        session.stop()
    if rc is None:
        print("the firmware exited (code %s)\n%s" % (session.fw.exit_code, crash_report(session.fw)))
        rc = 1 if session.fw.exit_code else 0
    elif steps and not reported and session.fw and session.fw.exit_code not in (0, None):
        print("simterm: the firmware exited (code %s)\n%s" % (session.fw.exit_code, crash_report(session.fw)),
              file=sys.stderr)
        rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
