"""Fuzzing the GSM modem driver (wasl.net.modem) with AT replies (issue 8, item 3; docs/fuzzing.md).

Three sources of bytes drive the attach sequence (and the hang-up after it):
  * the fake SIM800 (host_tests/fw/fakemodem.py) with random faults on random commands, random boot
    noise, random URCs at random times, random chunking and reply delays;
  * a "chaos modem" whose every answer hypothesis writes: echoes, final result codes, plausible and
    damaged information lines, URCs, garbage bytes, lines cut short or never ended, silence;
  * floods: a modem that never stops talking (lines or no line ends).

The clock is virtual (the driver's and the fake's ticks_ms / sleep_ms are replaced): a sleep advances
it, every reading of it costs a little, so a run takes milliseconds of real time however long the modem
makes the driver wait. A real-time watchdog turns a loop that never sleeps nor reads the clock (a hang)
into a failure.

Property: attach() ends -- within a bound of virtual time derived from the time-outs -- in state DATA
with the PPP hook called, or with ModemError carrying one of the documented error words, state ERROR and
Modem.error set; the driver's buffers stay bounded (information lines, bytes kept for PPP).
"""
import asyncio
import os
import sys

from hypothesis import given
from hypothesis import strategies as st

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _p in (ROOT, os.path.join(ROOT, "host_tests"), os.path.join(ROOT, "firmware"),
           os.path.join(ROOT, "host_tests", "fw")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import fakemodem  # noqa: E402
from fakemodem import BOOT_URCS, FakeModem  # noqa: E402
from fuzz_settings import fuzz, watchdog  # noqa: E402
from wasl.net import modem as M  # noqa: E402
from wasl.net.modem import ATTACH, Modem, ModemError  # noqa: E402

T = {"cmd_ms": 40, "sync_ms": 20, "sync_tries": 3, "sim_ms": 60, "reg_ms": 150, "poll_ms": 5, "dial_ms": 60,
     "guard_ms": 15}
WORDS = {M.NO_SIM, M.SIM_PIN_REQUIRED, M.NOT_REGISTERED, M.REGISTRATION_DENIED, M.NO_SIGNAL, M.NO_ANSWER,
         M.BAD_REPLY, M.REJECTED, M.NO_CARRIER}


def bound_ms(t=T):
    """The longest an attach may take: per command its time-out, a resynchronisation (sync_tries ATs and
    the pause after the OK) and one retry; the SIM and registration deadlines; the dial; all of it twice
    over for lines that keep coming."""
    sync = t["sync_tries"] * 2 * t["sync_ms"] + t["sync_ms"]
    command = 2 * (2 * t["cmd_ms"] + sync)
    return 2 * (len(ATTACH) * command + t["sim_ms"] + t["reg_ms"] + 2 * t["dial_ms"] + sync
                + 4 * (t["poll_ms"] + command))


class Clock:
    """Virtual milliseconds: sleeps advance it; each reading costs 0.01 ms (a loop that reads the clock
    and never sleeps still reaches its deadline)."""

    def __init__(self):
        self.now = 0.0

    def ticks_ms(self):
        self.now += 0.01
        return int(self.now)

    async def sleep_ms(self, ms):
        self.now += max(0, ms)
        await asyncio.sleep(0)


class virtual_time:
    """Patch the driver and the fake modem onto one Clock."""

    def __enter__(self):
        self.clock = c = Clock()
        self.saved = [(M, "ticks_ms", M.ticks_ms), (M, "sleep_ms", M.sleep_ms),
                      (fakemodem, "ticks_ms", fakemodem.ticks_ms), (fakemodem, "ms_since", fakemodem.ms_since)]
        M.ticks_ms = c.ticks_ms
        M.sleep_ms = c.sleep_ms
        fakemodem.ticks_ms = c.ticks_ms
        fakemodem.ms_since = lambda t0: c.ticks_ms() - t0
        return c

    def __exit__(self, *exc):
        for mod, name, v in self.saved:
            setattr(mod, name, v)


class Recorder:
    def __init__(self):
        self.urcs = []
        self.links = []

    def urc(self, line):
        assert isinstance(line, str) and line
        self.urcs.append(line)

    def ppp(self, uart):
        self.links.append(uart)
        return self


def run_attach(uart, clock, hang_up=True, **opts):
    """Attach (and hang up after a success); check the property; return the outcome."""
    rec = Recorder()
    kw = dict(T)
    kw.update(opts)
    m = Modem(uart, urc=rec.urc, ppp=rec.ppp, **kw)
    t0 = clock.now
    with watchdog(10):
        try:
            asyncio.run(m.attach("internet"))
            outcome = m.state
        except ModemError as e:
            outcome = e.reason
            assert e.reason in WORDS, e.reason
            assert m.state == M.ERROR and m.error == e.reason
        took = clock.now - t0
        assert took <= bound_ms(kw), (took, bound_ms(kw))
        assert len(m.lines) <= 8 and len(m.pending) <= 32
        if outcome == M.DATA:
            assert m.error is None and rec.links == [uart] and m.link is rec
            if hang_up:
                t1 = clock.now
                try:
                    asyncio.run(m.hang_up())
                    assert m.state == M.REGISTERED
                except ModemError as e:
                    assert e.reason in WORDS, e.reason
                assert clock.now - t1 <= bound_ms(kw)
        else:
            assert outcome in WORDS and rec.links == []
    return outcome


# ---- the fake SIM800 with random faults -------------------------------------------------------------------

COMMANDS = ("AT", "ATE0", "AT+CMEE", "AT+CPIN?", "AT+CSQ", "AT+CREG?", "AT+CGREG?", "AT+CGDCONT", "ATD", "ATH")
URCS = ("RING", "NO CARRIER", "+CREG: 2", "+CREG: 1", '+CGREG: 5,"1A2B","0C3D"', "+CPIN: NOT READY",
        "+CPIN: READY", "SMS Ready", "Call Ready", "RDY", "+CFUN: 1", "UNDER-VOLTAGE WARNNING", '+CMTI: "SM",3',
        "*PSUTTZ: 26/07/05,10:08:07", "+CSQ: 20,0", "OK", "ERROR", "+CME ERROR: 10", "CONNECT", "+CPIN: SIM PIN")
NOISE = st.binary(max_size=24).map(lambda b: b + b"\r\n")


@st.composite
def faults(draw):
    kind = draw(st.sampled_from(["cme", "error", "silent", "delay", "truncate", "swap", "urc", "garbage",
                                 "stale", "hang"]))
    arg = {"cme": draw(st.sampled_from([3, 10, 11, 12, 13, 14, 15, 30, 31, 32, 100])),
           "delay": draw(st.integers(0, 120)), "truncate": draw(st.integers(0, 20)),
           "urc": draw(st.sampled_from(URCS)), "garbage": draw(NOISE),
           "stale": draw(st.sampled_from([b"\r\nOK\r\n", b"\r\n+CSQ: 31,0\r\n", b"\r\n+CREG: 0,3\r\n",
                                          b"\r\nERROR\r\n", b"\r\n+CPIN: READY\r\n\r\nOK\r\n"]))}.get(kind)
    return draw(st.sampled_from(COMMANDS)), kind, arg, draw(st.sampled_from([1, 1, 2, 3, -1]))


@fuzz()
@given(st.lists(faults(), max_size=3), st.integers(1, 2 ** 31 - 1), st.integers(1, 40),
       st.sampled_from([b"", BOOT_URCS, b"\x00\xff\r\n\xf8RDY\r\n"]),
       st.lists(st.tuples(st.integers(0, 400), st.sampled_from(URCS)), max_size=6),
       st.fixed_dictionaries({"sim": st.sampled_from(["READY", "READY", "READY", "SIM PIN", "SIM PUK", "ABSENT"]),
                              "sim_ready_ms": st.integers(0, 80), "csq": st.sampled_from([(20, 0), (0, 0), (99, 99),
                                                                                         (31, 7), (45, 0)]),
                              "reg": st.sampled_from([((0, 0), (10, 2), (25, 1)), ((0, 5),), ((0, 3),), ((0, 2),),
                                                      ((0, 0), (200, 1))]),
                              "autobaud": st.integers(0, 3), "echo": st.booleans(),
                              "connect": st.sampled_from(["CONNECT 115200", "CONNECT", "CONNECT X"])}))
def test_fake_sim800_with_random_faults(fault_list, seed, chunk, boot, timed_urcs, fake_opts):
    with virtual_time() as clock:
        fake = FakeModem(seed=seed, chunk=chunk, boot=boot, **fake_opts)
        for f in fault_list:
            fake.fault(*f)
        for at, text in timed_urcs:
            fake._emit(("\r\n%s\r\n" % text).encode(), at)
        run_attach(fake, clock)


# ---- the chaos modem --------------------------------------------------------------------------------------

ANSWER_LINES = {
    "AT+CPIN?": ["+CPIN: READY", "+CPIN: NOT READY", "+CPIN: SIM PIN", "+CPIN:", "+CPIN: READY,1", "+CPIN"],
    "AT+CSQ": ["+CSQ: 20,0", "+CSQ: 99,99", "+CSQ: 0,0", "+CSQ: 31", "+CSQ: x,y", "+CSQ: -1,0", "+CSQ: 20,0,1",
               "+CSQ:"],
    "AT+CREG?": ["+CREG: 0,1", "+CREG: 0,5", "+CREG: 0,2", "+CREG: 0,3", "+CREG: 1", "+CREG: 0,", "+CREG: a,b",
                 '+CREG: 2,1,"1A2B","0C3D"', '+CREG: 2,"1A2B"'],
    "AT+CGREG?": ["+CGREG: 0,1", "+CGREG: 0,5", "+CGREG: 0,3", "+CGREG: 0,99999999999999999999", "+CGREG: ,"],
}
FINALS = ["OK", "OK", "OK", "ERROR", "+CME ERROR: 10", "+CME ERROR: 14", "+CME ERROR: SIM busy", "+CME ERROR:",
          "NO CARRIER", "CONNECT", "CONNECT 115200", "CONNECT 9600x", "BUSY", "NO DIALTONE", "NO ANSWER",
          "+CMS ERROR: 500"]


GOOD = {"AT+CPIN?": "+CPIN: READY", "AT+CSQ": "+CSQ: 20,0", "AT+CREG?": "+CREG: 0,1", "AT+CGREG?": "+CGREG: 0,5"}


@st.composite
def answers(draw, cmd):
    """What the chaos modem sends back for one command: a list of (delay ms, bytes). Three times in
    four a sensible answer (URCs in between, split anyhow by the reads), else chaos."""
    up = cmd.upper()
    pieces = []
    if draw(st.integers(0, 3)):
        if up in GOOD:
            pieces.append((draw(st.integers(0, 10)), ("\r\n%s\r\n" % GOOD[up]).encode()))
        for _ in range(draw(st.integers(0, 2))):
            pieces.append((draw(st.integers(0, 10)), ("\r\n%s\r\n" % draw(st.sampled_from(URCS[:13]))).encode()))
        final = "CONNECT 115200" if up.startswith("ATD") else "OK"
        pieces.append((draw(st.integers(0, 10)), ("\r\n%s\r\n" % final).encode()))
        return pieces
    if draw(st.integers(0, 3)) == 0:
        pieces.append((0, cmd.encode() + b"\r"))                        # echo
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.integers(0, 9))
        if kind <= 3 and up in ANSWER_LINES:
            text = draw(st.sampled_from(ANSWER_LINES[up]))
        elif kind <= 5:
            text = draw(st.sampled_from(URCS))
        elif kind <= 7:
            text = draw(st.sampled_from(FINALS))
        elif kind == 8:
            text = draw(st.text(alphabet="".join(chr(c) for c in range(32, 127)), max_size=140))
        else:
            pieces.append((draw(st.integers(0, 60)), draw(st.binary(max_size=40))))
            continue
        end = draw(st.sampled_from([b"\r\n", b"\r\n", b"\r", b"\n", b""]))
        pieces.append((draw(st.integers(0, 60)), b"\r\n" + text.encode() + end))
    if draw(st.integers(0, 4)):                                          # mostly a final result code
        pieces.append((draw(st.integers(0, 50)), b"\r\n" + draw(st.sampled_from(FINALS)).encode() + b"\r\n"))
    return pieces


class ChaosModem:
    """A UART whose every answer hypothesis draws; read sizes drawn too."""

    def __init__(self, data, clock):
        self.data = data
        self.clock = clock
        self.out = []           # [ready at (ms), bytearray]
        self.inbuf = bytearray()
        self.writes = 0

    def write(self, b):
        self.writes += 1
        assert self.writes < 2000, "the driver keeps writing"
        for c in bytes(b):
            if c == 13:
                cmd = self.inbuf.decode("latin-1")
                self.inbuf = bytearray()
                now = self.clock.now
                for delay, piece in self.data.draw(answers(cmd)):
                    now += delay
                    self.out.append([now, bytearray(piece)])
            else:
                self.inbuf.append(c)
        if bytes(b) == b"+++":
            self.out.append([self.clock.now + 20, bytearray(b"\r\nOK\r\n")])
        return len(b)

    def any(self):
        return sum(len(d) for at, d in self.out if at <= self.clock.now)

    def readinto(self, buf):
        if not self.out or self.out[0][0] > self.clock.now:
            return None
        n = min(len(buf), self.data.draw(st.integers(1, 32)))
        at, d = self.out[0]
        piece = d[:n]
        del d[:n]
        if not d:
            self.out.pop(0)
        buf[:len(piece)] = piece
        return len(piece)


@fuzz()
@given(st.data())
def test_chaos_modem(data):
    with virtual_time() as clock:
        run_attach(ChaosModem(data, clock), clock)


# ---- floods -----------------------------------------------------------------------------------------------

class Flood:
    """A modem that never stops: the same bytes over and over, as fast as they are read."""

    def __init__(self, pattern, clock):
        self.pattern = pattern
        self.pos = 0
        self.clock = clock

    def write(self, b):
        return len(b)

    def any(self):
        return 64

    def readinto(self, buf):
        p = self.pattern
        for i in range(len(buf)):
            buf[i] = p[self.pos % len(p)]
            self.pos += 1
        self.clock.now += 0.05 * len(buf)          # the bytes take time to come, even at full speed
        return len(buf)


# A flood of short lines kept the driver in its receive loop for good: _exchange checked its deadline
# only when no line was waiting, _flush counted only reads that gave no line (fixed in wasl/net/modem.py).
FLOOD_REGRESSIONS = [b"X\r\n", b"RING\r\n", b"AT\r", b"+CREG: 2\r\n", b"OK\r\n", b"\r\nOK\r\n+CSQ: 1,1\r\n"]


@fuzz(0.25)
@given(st.one_of(st.sampled_from(FLOOD_REGRESSIONS + [b"A", b"\x00\xff", b"\r\n"]),
                 st.binary(min_size=1, max_size=40)))
def test_flood(pattern):
    with virtual_time() as clock:
        outcome = run_attach(Flood(pattern, clock), clock, hang_up=False)
    assert outcome in WORDS or outcome == M.DATA


def test_flood_of_lines_regression():
    for pattern in FLOOD_REGRESSIONS:
        with virtual_time() as clock:
            assert run_attach(Flood(pattern, clock), clock, hang_up=False) in (M.BAD_REPLY, M.NO_ANSWER, M.DATA)
