# wasl.diag.gate, the production lock: challenge, answer under the technician key derived from the KBPK
# (the keyinject-made fixture; the key's value is checked in test_diag_sign.py), wrong answers counted
# across restarts, the lock-out and its end, Ctrl-C and line noise, developer mode.
import os

from fwtest import ROOT, make_tmpdir, raises, rmtree
from wasl.crypto.storage import FileSecureStorage
from wasl.diag import gate
from wasl.diag.gate import Gate, answer, production, serve, set_production

H = bytes.fromhex
FIX = ROOT + "/host_tests/fw/fixtures/crypto_keystore_aes/secure/kbpk"
TECH_KEY = H("C110004148FBB6E37D2E45D5082F3AF6")


class Clock:
    def __init__(self, t=1000):
        self.t = t

    def time(self):
        return self.t


def _secure(kbpk=True):
    d = make_tmpdir("gate")
    s = FileSecureStorage(d + "/secure")
    if kbpk:
        with open(FIX, "rb") as f:
            s.put("kbpk", f.read())
    return d, s


def _challenge(g):
    reply, ok = g.line("")
    parts = reply.split()
    assert not ok and parts[:3] == ["WASL-CHALLENGE", "WASL0001", "13C859"] and len(parts[3]) == 32, reply
    return H(parts[3])


def _unlock_line(key, ch):
    return "WASL-UNLOCK " + "".join("%02X" % b for b in answer(key, ch))


def test_modes():
    d, s = _secure()
    try:
        assert not production(s) and not production(None)
        assert set_production(s, True) == "production" and production(s)
        assert set_production(s, False) == "developer" and not production(s)
        s.delete("kbpk")
        raises(ValueError, set_production, s, True)       # nobody could ever unlock it
        assert not production(s)
    finally:
        rmtree(d)


def test_right_answer_unlocks_once():
    d, s = _secure()
    try:
        g = Gate(s, Clock(), "WASL0001")
        assert g.greeting() == "WASL-LOCKED WASL0001: technician access needed"
        ch = _challenge(g)
        assert _challenge(g) != ch                      # a fresh challenge for every request
        ch = _challenge(g)
        assert g.line(_unlock_line(TECH_KEY, ch)) == ("WASL-UNLOCKED", True)
        # the same answer again: its challenge is spent, it is only a request for a new one
        reply, ok = g.line(_unlock_line(TECH_KEY, ch))
        assert not ok and reply.startswith("WASL-CHALLENGE")
    finally:
        rmtree(d)


def test_wrong_answers_lock_out_across_restarts():
    d, s = _secure()
    clock = Clock()
    try:
        g = Gate(s, clock, "WASL0001")
        ch = _challenge(g)
        assert g.line(_unlock_line(bytes(16), ch)) == ("WASL-DENIED 2", False)
        ch = _challenge(g)
        assert g.line("WASL-UNLOCK 12ZZ") == ("WASL-DENIED 1", False)      # malformed counts too
        g = Gate(s, clock, "WASL0001")                  # a restart: the count stays
        ch = _challenge(g)
        assert g.line(_unlock_line(bytes(16), ch)) == ("WASL-LOCKED-OUT 300", False)
        clock.t += 100
        g = Gate(s, clock, "WASL0001")
        assert g.line("") == ("WASL-LOCKED-OUT 200", False)           # no challenge while locked out
        assert g.line(_unlock_line(TECH_KEY, bytes(16))) == ("WASL-LOCKED-OUT 200", False)
        clock.t += 200
        ch = _challenge(g)                              # over: three new tries
        assert g.line(_unlock_line(TECH_KEY, ch)) == ("WASL-UNLOCKED", True)
        assert Gate(s, clock).lock == {"fails": 0, "until": 0}
    finally:
        rmtree(d)


def test_no_kbpk_no_challenge():
    d, s = _secure(kbpk=False)
    try:
        g = Gate(s, Clock(), "T1")
        assert g.line("") == ("WASL-LOCKED T1: no KBPK, no technician access", False)
        assert g.line("WASL-UNLOCK " + "00" * 32)[1] is False
    finally:
        rmtree(d)


class Line:
    """The serial line: characters in (a KeyboardInterrupt where "!" is), text out; answers computed
    from the challenge the gate printed."""

    def __init__(self, script):
        self.script = list(script)
        self.out = []

    def read(self):
        if not self.script:
            return ""
        c = self.script.pop(0)
        if c == "!":
            raise KeyboardInterrupt
        if callable(c):
            self.script = list(c(self)) + self.script
            return self.read()
        return c

    def write(self, s):
        self.out.append(s)

    def challenge(self):
        for s in reversed(self.out):
            if s.startswith("WASL-CHALLENGE"):
                return H(s.split()[3])


def test_serve_over_a_noisy_line():
    d, s = _secure()
    try:
        line = Line(["\x03", "!", "\r", "\x01", lambda ln: _unlock_line(TECH_KEY, ln.challenge()) + "\r"])
        assert serve(Gate(s, Clock(), "WASL0001"), line.read, line.write) is True
        assert line.out[0] == "\r\nWASL-LOCKED WASL0001: technician access needed\r\n"
        assert line.out[-1] == "WASL-UNLOCKED\r\n"
        line = Line(["\r"] + ["x"] * 500 + ["\r"])        # an overlong line is cut, then refused
        assert serve(Gate(s, Clock(), "WASL0001"), line.read, line.write) is False
        assert line.out[-1].startswith("WASL-CHALLENGE") and len(line.out) == 3
    finally:
        rmtree(d)


def test_developer_mode_opens_at_once():
    d, s = _secure()
    try:
        assert gate.main(s, Clock(), d) is True
    finally:
        rmtree(d)
