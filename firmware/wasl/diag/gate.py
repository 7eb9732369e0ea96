# The production lock (docs/diagnostics.md, section 5): in production mode the REPL (the technician's USB
# diagnostics) opens only for the answer to a fresh challenge, HMAC-SHA256 under the terminal's
# technician key CMAC(KBPK, 01 "WASL technician access") (wasl.diag.sign). Three wrong answers lock it
# out for five minutes, across restarts. Developer mode (the default) keeps the REPL open.
#
# The line protocol, on the REPL's own serial line, before the REPL:
#   terminal:   WASL-LOCKED <terminal ID>: technician access needed
#   technician: any line (mpremote's Ctrl-C, a bare CR...)
#   terminal:   WASL-CHALLENGE <terminal ID> <KBPK KCV> <32 hex: 16 random bytes, valid for one answer>
#   technician: WASL-UNLOCK <64 hex: HMAC-SHA256(technician key, "WASL-UNLOCK " + challenge bytes)>
#   terminal:   WASL-UNLOCKED (the REPL follows) | WASL-DENIED <tries left> | WASL-LOCKED-OUT <seconds>
# A board runs serve() at boot before its REPL and resets when it returns False; the desktop bridge
# (tools/upybridge.py) runs main() in an interpreter of its own and opens the REPL only on exit status 0.
import json
import os

from wasl.crypto.util import ct_equal, hexu, unhex, wipe
from wasl.diag.sign import TECHNICIAN, derived_key, hmac_sha256

_MODE = "mode"            # secure storage: b"production" or nothing (developer)
_LOCK = "techlock"        # secure storage: {"fails": n, "until": seconds}
MAX_FAILS = 3
LOCK_S = 300
_LINE = 160


def production(secure):
    return secure is not None and secure.get(_MODE) == b"production"


def set_production(secure, on):
    """Production mode needs a KBPK (else nobody could ever unlock the terminal). Returns the mode."""
    if on:
        if derived_key(secure, TECHNICIAN)[0] is None:
            raise ValueError("no KBPK: production mode would lock the terminal for good")
        secure.put(_MODE, b"production")
    else:
        secure.delete(_MODE)
    return "production" if on else "developer"


def answer(tech_key, challenge):
    """What the technician's tool sends back (tools/diag.py computes the same)."""
    return hmac_sha256(tech_key, b"WASL-UNLOCK " + challenge)


class Gate:
    def __init__(self, secure, clock, terminal_id="?"):
        self.secure = secure
        self.clock = clock
        self.tid = terminal_id
        self.challenge = None
        self._load()

    def _load(self):
        """The count of wrong answers and the lock-out's end, from secure storage (what counts)."""
        try:
            lock = json.loads(self.secure.get(_LOCK) or b"{}")
        except ValueError:
            lock = {}
        if not isinstance(lock, dict):
            lock = {}
        self.lock = {"fails": lock.get("fails", 0), "until": lock.get("until", 0)}

    def _save(self):
        self.secure.put(_LOCK, json.dumps(self.lock).encode())

    def greeting(self):
        return "WASL-LOCKED %s: technician access needed" % self.tid

    def line(self, text):
        """One line from the technician -> (reply line, unlocked)."""
        self._load()
        now = self.clock.time()
        left = int(self.lock["until"] - now)
        if left > 0:
            return "WASL-LOCKED-OUT %d" % left, False
        if text.startswith("WASL-UNLOCK ") and self.challenge is not None:
            ch, self.challenge = self.challenge, None     # one answer per challenge
            key, _ = derived_key(self.secure, TECHNICIAN)
            try:
                got = unhex(text[12:].strip())
            except ValueError:
                got = b""
            ok = key is not None and len(got) == 32 and ct_equal(answer(key, ch), got)
            if key is not None:
                wipe(key)
            if ok:
                self.lock = {"fails": 0, "until": 0}
                self._save()
                return "WASL-UNLOCKED", True
            self.lock["fails"] += 1
            if self.lock["fails"] >= MAX_FAILS:
                self.lock = {"fails": 0, "until": now + LOCK_S}
                self._save()
                return "WASL-LOCKED-OUT %d" % LOCK_S, False
            self._save()
            return "WASL-DENIED %d" % (MAX_FAILS - self.lock["fails"]), False
        key, kcv = derived_key(self.secure, TECHNICIAN)
        if key is not None:
            wipe(key)
        if kcv is None:
            return "WASL-LOCKED %s: no KBPK, no technician access" % self.tid, False
        self.challenge = os.urandom(16)
        return "WASL-CHALLENGE %s %s %s" % (self.tid, kcv, hexu(self.challenge)), False


def serve(gate, read, write):
    """Talk to the technician until one unlocks: read() -> one character ("" at the end of input),
    write(text). True when unlocked, False when the input ended."""
    write("\r\n" + gate.greeting() + "\r\n")
    buf = []
    while True:
        try:                        # Ctrl-C opens nothing
            c = read()
            if not c:
                return False
            if c in "\r\n":
                reply, ok = gate.line("".join(buf))
                buf = []
                write(reply + "\r\n")
                if ok:
                    return True
            elif " " <= c <= "~" and len(buf) < _LINE:
                buf.append(c)
        except KeyboardInterrupt:
            pass


def main(secure, clock=None, root=""):
    """At boot: True at once in developer mode; in production mode, once a technician unlocked."""
    if not production(secure):
        return True
    import sys

    if clock is None:
        from wasl.hw import Clock

        clock = Clock()
    tid = "?"
    try:
        with open((root + "/" if root else "") + "params.json") as f:
            tid = str(json.load(f).get("terminal_id", "?"))[:16]
    except (OSError, ValueError, AttributeError):
        pass

    def write(s):
        sys.stdout.write(s)

    return serve(Gate(secure, clock, tid), lambda: sys.stdin.read(1), write)
