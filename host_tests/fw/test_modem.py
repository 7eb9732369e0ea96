# wasl.net.modem: the AT-command driver against host_tests/fw/fakemodem.py (a SIM800 answering byte by
# byte). Time-outs are tens of milliseconds so the module runs in a few seconds on either runtime.
import asyncio

from fakemodem import BOOT_URCS, FakeModem
from fwtest import ms_since, ticks_ms
from wasl.net import modem as M
from wasl.net.modem import Modem, ModemError

# Short time-outs (ms). The fake answers within 1-2 ms and registers after 25 ms by default.
T = {"cmd_ms": 40, "sync_ms": 20, "sync_tries": 3, "sim_ms": 60, "reg_ms": 150, "poll_ms": 5, "dial_ms": 60,
     "guard_ms": 15}
# The longest a failing attach may take: a few commands' time-outs and resynchronisations, or the
# registration deadline. Generous for a loaded test machine, still proof that nothing hangs.
BOUND_MS = 1500

ALL_WORDS = (M.NO_SIM, M.SIM_PIN_REQUIRED, M.NOT_REGISTERED, M.REGISTRATION_DENIED, M.NO_SIGNAL, M.NO_ANSWER,
             M.BAD_REPLY, M.REJECTED, M.NO_CARRIER)


class PPPLink:
    """What network.PPP looks like to hang_up(): disconnect() (extmod lwIP driver) or active(False)
    (the esp32 port's own driver) stops it."""

    def __init__(self, uart):
        self.uart = uart
        self.up = True
        self.calls = []

    def disconnect(self):
        self.calls.append("disconnect")
        self.up = False

    def active(self, on):
        self.calls.append("active(%s)" % on)
        self.up = on


class Recorder:
    """The board's hooks: URC handler and PPP hand-over."""

    def __init__(self):
        self.urcs = []
        self.link = None

    def urc(self, line):
        self.urcs.append(line)

    def ppp(self, uart):
        self.link = PPPLink(uart)
        return self.link


def make(fake=None, **kw):
    fake = fake or FakeModem()
    rec = Recorder()
    opts = dict(T)
    opts.update(kw)
    return fake, rec, Modem(fake, urc=rec.urc, ppp=rec.ppp, **opts)


def run(coro):
    return asyncio.run(coro)


def attach(m, apn="internet"):
    run(m.attach(apn))


def attach_fails(m, apn="internet"):
    """Run an attach that must fail; return (ModemError, ms it took)."""
    t0 = ticks_ms()
    try:
        attach(m, apn)
    except ModemError as e:
        took = ms_since(t0)
        assert took < BOUND_MS, took
        assert e.reason in ALL_WORDS, e.reason
        assert m.state == M.ERROR and m.error == e.reason
        return e, took
    raise AssertionError("attach succeeded; state %s" % m.state)


# ---- the normal case -------------------------------------------------------------------------------

def test_full_attach_to_connect():
    fake, rec, m = make(FakeModem(boot=BOOT_URCS, reg=((0, 0), (100, 2), (160, 1))), reg_ms=1000)
    attach(m, "djezzy.internet")
    assert m.state == M.DATA and m.error is None
    assert fake.data_mode and fake.apn == "djezzy.internet"
    assert rec.link.uart is fake and m.link is rec.link and rec.link.up
    cmds = [c for c in fake.log if c not in ("AT+CREG?", "AT+CGREG?", "AT+CSQ")]
    assert cmds == ["AT", "ATE0", "AT+CMEE=1", "AT+CPIN?", 'AT+CGDCONT=1,"IP","djezzy.internet"', "ATD*99#"]
    assert len(fake.commands("AT+CREG?")) >= 2            # searching (0, 2) before registered (1)
    assert fake.commands("AT+CGREG?") == ["AT+CGREG?"]
    assert m.creg == 1 and m.cgreg == 1 and not m.roaming
    assert m.rssi == 20 and M.rssi_dbm(m.rssi) == -73 and M.rssi_bars(m.rssi) == 4
    assert m.sim == "READY"
    assert fake.max_read <= 7 and fake.reads > 50          # the replies came in small pieces
    assert m.garbage == 0 and m.overflows == 0


def test_power_up_urcs_go_to_the_handler():
    fake, rec, m = make(FakeModem(boot=BOOT_URCS))
    attach(m)
    assert rec.urcs == ["RDY", "+CFUN: 1", "+CPIN: READY", "Call Ready", "SMS Ready"]


def test_echo_on_is_recognised_then_turned_off():
    fake, rec, m = make(FakeModem(echo=True))
    assert run(m.sync()) is None
    assert run(m.command("ATI")) == "OK"
    assert m.lines == ["SIM800 R14.18"]                     # the echoed "ATI" is not a reply line
    attach(m)
    assert not fake.echo
    run(m.hang_up())
    assert run(m.command("ATI")) == "OK" and m.lines == ["SIM800 R14.18"]


def test_echo_off_from_the_start():
    fake, rec, m = make(FakeModem(echo=False))
    attach(m)
    assert m.state == M.DATA


def test_autobaud_first_ats_unheard():
    fake, rec, m = make(FakeModem(autobaud=2))
    attach(m)
    assert m.state == M.DATA
    assert fake.log[0] == "AT" and fake.autobaud == 0


def test_sim_not_ready_at_first():
    fake, rec, m = make(FakeModem(sim_ready_ms=120, reg=((0, 1),)), sim_ms=600)
    attach(m)
    assert len(fake.commands("AT+CPIN?")) >= 2 and m.sim == "READY"


def test_roaming_counts_as_registered():
    fake, rec, m = make(FakeModem(reg=((0, 2), (10, 5))))
    attach(m)
    assert m.state == M.DATA and m.roaming and m.creg == 5


def test_pdp_with_cgdata_from_another_steps_table():
    steps = M.ATTACH[:-1] + (('AT+CGDATA="PPP",1', None, "dial"),)
    fake, rec, m = make(steps=steps)
    attach(m)
    assert fake.log[-1] == 'AT+CGDATA="PPP",1' and m.state == M.DATA


def test_bytes_after_connect_are_kept_for_ppp():
    lcp = b"\x7e\xff\x7d\x23\xc0\x21\x7d\x21"
    fake, rec, m = make(FakeModem(after_connect=lcp, chunk=32))
    attach(m)
    assert lcp.startswith(m.pending)                          # what the driver read past CONNECT
    rest = fake.read(64) or b""
    assert m.pending + rest == lcp                            # and nothing lost or added


def test_commands_refused_in_data_mode():
    fake, rec, m = make()
    attach(m)
    try:
        run(m.command("AT"))
        raise AssertionError("no error")
    except ModemError as e:
        assert e.reason == M.BUSY
    try:
        attach(m)
        raise AssertionError("no error")
    except ModemError as e:
        assert e.reason == M.BUSY
    assert m.state == M.DATA                                  # still online
    assert not fake.data                                      # and nothing was typed into the data call
    assert run(m.signal()) == 20                              # the idle screen gets the last value


def test_hang_up():
    fake, rec, m = make()
    attach(m)
    fake.write(b"~PPP~")                                      # what PPP sent
    t0 = ticks_ms()
    run(m.hang_up())
    assert ms_since(t0) >= T["guard_ms"]
    assert not rec.link.up and m.link is None and rec.link.calls == ["disconnect", "active(False)"]
    assert not fake.data_mode and fake.escapes == 1
    assert fake.data == b"~PPP~"                              # "+++" was not taken for data
    assert fake.log[-1] == "ATH" and m.state == M.REGISTERED
    assert run(m.signal()) == 20                              # commands work again


def test_hang_up_after_the_call_dropped():
    fake, rec, m = make()
    attach(m)
    fake.data_mode = False                                    # the network ended the call
    fake.urc("NO CARRIER")
    run(m.hang_up())
    assert fake.escapes == 0 and fake.log[-1] == "ATH" and m.state == M.REGISTERED
    assert rec.urcs == ["NO CARRIER"] and not rec.link.up


def test_signal_words():
    assert [M.rssi_dbm(r) for r in (0, 1, 15, 30, 31, 99)] == [-113, -111, -83, -53, -51, None]
    assert [M.rssi_bars(r) for r in (0, 1, 2, 9, 10, 14, 15, 19, 20, 31, 99)] == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 0]
    fake, rec, m = make(FakeModem(csq=(7, 0)))
    run(m.sync())
    assert run(m.signal()) == 7 and M.rssi_dbm(m.rssi) == -99 and M.rssi_bars(m.rssi) == 1
    fake.csq = (99, 99)
    assert run(m.signal()) == 99 and M.rssi_dbm(m.rssi) is None and M.rssi_bars(m.rssi) == 0


# ---- faults mapped to their words ---------------------------------------------------------------------

def test_no_sim():
    fake, rec, m = make(FakeModem(sim="ABSENT"))
    e, took = attach_fails(m)
    assert e.reason == M.NO_SIM and e.detail == "+CME ERROR: 10"
    assert fake.commands("AT+CPIN?") == ["AT+CPIN?"]          # no point asking again


def test_sim_pin_required():
    fake, rec, m = make(FakeModem(sim="SIM PIN"))
    e, took = attach_fails(m)
    assert e.reason == M.SIM_PIN_REQUIRED and m.sim == "SIM PIN"
    fake, rec, m = make(FakeModem(sim="SIM PUK"))
    assert attach_fails(m)[0].reason == M.SIM_PIN_REQUIRED


def test_sim_never_ready():
    fake, rec, m = make(FakeModem(sim_ready_ms=10000))
    e, took = attach_fails(m)
    assert e.reason == M.NO_SIM and m.sim == "NOT READY"
    assert took >= T["sim_ms"]


def test_sim_busy_is_asked_again():
    fake, rec, m = make()
    fake.fault("AT+CPIN?", "cme", 14, times=2)
    attach(m)
    assert len(fake.commands("AT+CPIN?")) == 3


def test_not_registered():
    fake, rec, m = make(FakeModem(reg=((0, 2),)))
    e, took = attach_fails(m)
    assert e.reason == M.NOT_REGISTERED and m.creg == 2 and m.state == M.ERROR
    assert T["reg_ms"] <= took
    assert len(fake.commands("AT+CSQ")) >= 3                 # the signal was followed while searching


def test_registration_denied():
    fake, rec, m = make(FakeModem(reg=((0, 2), (10, 3))))
    e, took = attach_fails(m)
    assert e.reason == M.REGISTRATION_DENIED and m.creg == 3


def test_gprs_denied():
    fake, rec, m = make(FakeModem(reg=((0, 1),), greg=((0, 3),)))
    assert attach_fails(m)[0].reason == M.REGISTRATION_DENIED and m.cgreg == 3


def test_no_signal():
    fake, rec, m = make(FakeModem(reg=((0, 0),), csq=(99, 99)))
    e, took = attach_fails(m)
    assert e.reason == M.NO_SIGNAL and M.rssi_bars(m.rssi) == 0


def test_cme_error_on_the_apn():
    fake, rec, m = make()
    fake.fault("AT+CGDCONT", "cme", 3)
    e, took = attach_fails(m)
    assert e.reason == M.REJECTED and e.detail == "+CME ERROR: 3"


def test_mapped_cme_errors():
    for code, word in ((10, M.NO_SIM), (11, M.SIM_PIN_REQUIRED), (30, M.NOT_REGISTERED), (4, M.REJECTED)):
        fake, rec, m = make()
        fake.fault("AT+CSQ", "cme", code)
        assert attach_fails(m)[0].reason == word, code


def test_plain_error_before_cmee():
    fake, rec, m = make()
    fake.fault("AT+CMEE", "error")
    e, took = attach_fails(m)
    assert e.reason == M.REJECTED and e.detail == "ERROR"


def test_dial_no_carrier():
    fake, rec, m = make()
    fake.fault("ATD", "error")
    assert attach_fails(m)[0].reason == M.NO_CARRIER
    fake, rec, m = make(FakeModem(connect="NO CARRIER"))
    assert attach_fails(m)[0].reason == M.NO_CARRIER and not fake.data_mode


def test_dial_never_answered():
    fake, rec, m = make()
    fake.fault("ATD", "silent")
    e, took = attach_fails(m)
    assert e.reason == M.NO_CARRIER and took >= T["dial_ms"]
    assert len(fake.commands("ATD")) == 1                    # a dial is not repeated by itself


def test_silent_modem():
    fake, rec, m = make()
    fake.hung = True
    e, took = attach_fails(m)
    assert e.reason == M.NO_ANSWER and e.detail == "AT"
    assert T["sync_tries"] * T["sync_ms"] <= took


def test_modem_hangs_mid_attach():
    fake, rec, m = make()
    fake.fault("AT+CPIN?", "hang")
    e, took = attach_fails(m)
    assert e.reason == M.NO_ANSWER and fake.log[-1] == "AT+CPIN?"


def test_modem_stops_answering_after_registration():
    fake, rec, m = make(FakeModem(reg=((0, 1),)))
    run(m.sync())
    assert run(m.signal()) == 20
    fake.hung = True
    try:
        run(m.signal())
        raise AssertionError("no error")
    except ModemError as e:
        assert e.reason == M.NO_ANSWER
    assert m.state == M.ERROR and m.error == M.NO_ANSWER


def test_power_down_urc():
    fake, rec, m = make()
    run(m.sync())
    fake.power_down()
    run(m.poll())
    assert rec.urcs[-1] == "NORMAL POWER DOWN" and m.state == M.OFF


# ---- URCs ----------------------------------------------------------------------------------------------

def test_urcs_in_the_middle_of_replies():
    fake, rec, m = make()
    fake.fault("AT+CSQ", "urc", "RING")
    fake.fault("AT+CPIN?", "urc", "+CREG: 2")
    fake.fault("AT+CGDCONT", "urc", "UNDER-VOLTAGE WARNNING")
    fake.fault("AT+CMEE", "urc", "+CMTI: \"SM\",3")
    attach(m)
    assert rec.urcs == ["+CMTI: \"SM\",3", "+CREG: 2", "RING", "UNDER-VOLTAGE WARNNING"]
    assert m.rssi == 20 and m.state == M.DATA


def test_creg_urc_during_the_creg_query():
    fake, rec, m = make(FakeModem(reg=((0, 1),)))
    fake.fault("AT+CREG?", "urc", "+CREG: 5")                # URC shape: stat only
    fake.fault("AT+CGREG?", "urc", '+CGREG: 2,"1A2B","0C3D"')  # URC shape with location
    attach(m)
    assert rec.urcs == ["+CREG: 5", '+CGREG: 2,"1A2B","0C3D"']
    assert m.creg == 1 and m.cgreg == 1                      # the replies decided, not the URCs


def test_reply_shapes_with_location():
    assert M._reg_stat("+CREG: 0,1") == 1
    assert M._reg_stat('+CREG: 2,5,"1A2B","0C3D"') == 5
    assert M._reg_stat("+CREG: 3") == 3
    assert M._reg_stat('+CGREG: 1,"1A2B","0C3D"') == 1
    assert M._reg_stat("+CREG: x,y") == -1
    assert M._reg_urc("+CREG: 2") and not M._reg_urc("+CREG: 0,2") and not M._reg_urc("+CSQ: 2")


def test_urcs_while_idle():
    fake, rec, m = make()
    run(m.sync())
    fake.urc("RING")
    fake.urc("+CPIN: NOT READY")
    fake.urc("+CREG: 2")
    fake.urc("OK")                                            # a stray result code is no URC
    run(m.poll())
    assert rec.urcs == ["RING", "+CPIN: NOT READY", "+CREG: 2"]
    assert m.sim == "NOT READY" and m.creg == 2


def test_urc_arriving_before_a_command():
    fake, rec, m = make()
    run(m.sync())
    fake.urc("RING")
    assert run(m.command("AT+CSQ", "+CSQ:")) == "OK" and m.lines == ["+CSQ: 20,0"]
    assert rec.urcs == ["RING"]


# ---- bad replies never crash or hang -------------------------------------------------------------------

def test_truncated_reply_is_retried():
    fake, rec, m = make()
    fake.fault("AT+CSQ", "truncate", 9)                      # "\r\n+CSQ: 2" and nothing more
    attach(m)
    assert m.rssi == 20 and m.state == M.DATA
    assert len(fake.commands("AT+CSQ")) >= 2


def test_truncated_every_time():
    fake, rec, m = make()
    fake.fault("AT+CGDCONT", "truncate", 4, times=-1)
    e, took = attach_fails(m)
    assert e.reason == M.BAD_REPLY and len(fake.commands("AT+CGDCONT")) == 2


def test_late_reply_lands_in_the_next_command():
    fake, rec, m = make()
    fake.fault("AT+CSQ", "delay", 50)                        # after the driver's 40 ms time-out
    fake.csq = (17, 0)
    attach(m)
    assert m.rssi == 17 and m.state == M.DATA and fake.apn == "internet"
    assert fake.log[4:7] == ["AT+CSQ", "AT", "AT+CSQ"] and m.stale >= 1   # timed out, resynchronised, asked again


def test_reply_with_ok_before_its_line():
    fake, rec, m = make()
    fake.fault("AT+CSQ", "swap")
    attach(m)
    assert m.rssi == 20 and m.state == M.DATA
    assert fake.log[4:7] == ["AT+CSQ", "AT", "AT+CSQ"] and m.stale >= 1


def test_stale_reply_before_the_answer():
    fake, rec, m = make(FakeModem(reg=((0, 1),)))
    fake.fault("AT+CREG?", "stale", b"\r\n+CSQ: 5,0\r\n\r\nOK\r\n")
    fake.fault("AT+CSQ", "stale", b"\r\n+CREG: 0,2\r\n\r\nOK\r\n")
    attach(m)
    assert m.rssi == 20 and m.creg == 1 and m.state == M.DATA
    assert m.stale >= 2


def test_garbage_bytes():
    noise = b"\x00\xff\xfe\x1b[\x80"
    fake, rec, m = make(FakeModem(boot=noise + b"\r\n\xf8\xf8RDY\r\n" + noise))
    fake.fault("AT+CSQ", "garbage", noise + b"\r\n")
    fake.fault("AT+CREG?", "garbage", b"\x00\x00\x00")      # glued to the reply's first CR LF: dropped alone
    attach(m)
    assert m.state == M.DATA and m.garbage >= 3
    assert "RDY" not in rec.urcs                              # a line with noise in it is dropped whole


def test_garbage_glued_to_a_reply_line():
    fake, rec, m = make(FakeModem(reg=((0, 1),)))
    fake.fault("AT+CSQ", "stale", b"\r\n\xff+CSQ: 20,0\r\n\r\nOK\r\n")  # the modem's reply with a bad byte
    fake.fault("AT+CSQ", "truncate", 0)                          # ...and the real one lost
    attach(m)
    assert m.state == M.DATA and len(fake.commands("AT+CSQ")) >= 2


def test_nonsense_values():
    fake, rec, m = make(FakeModem(csq=(45, 0)))
    e, took = attach_fails(m)
    assert e.reason == M.BAD_REPLY and e.detail == "+CSQ: 45,0"
    fake, rec, m = make()
    fake.fault("AT+CPIN?", "stale", b"\r\n+CPIN: MAYBE\r\n")
    assert attach_fails(m)[0].reason == M.BAD_REPLY


def test_endless_line_overflows_the_buffer():
    fake, rec, m = make(line_max=64)
    run(m.sync())
    fake.flood = True
    t0 = ticks_ms()
    try:
        run(m.command("AT+CSQ", "+CSQ:"))
        raise AssertionError("no error")
    except ModemError as e:
        assert e.reason == M.BAD_REPLY                        # talking, not silent
    took = ms_since(t0)
    assert took < BOUND_MS, took
    assert m.overflows >= 1 and len(m._line) == 64 and m.rx_bytes > 64 * 8
    fake.flood = False                                        # the endless line ends, and all is well again
    assert run(m.signal()) == 20


def test_random_faults_never_crash_or_hang():
    kinds = ("silent", "truncate", "delay", "swap", "urc", "garbage", "stale", "cme", "error")
    cmds = ("AT", "ATE0", "AT+CMEE", "AT+CPIN?", "AT+CSQ", "AT+CREG?", "AT+CGREG?", "AT+CGDCONT", "ATD")
    seed = 12345
    outcomes = {}
    for i in range(14):
        fake, rec, m = make(FakeModem(seed=i + 1, boot=BOOT_URCS if i % 2 else b""))
        for _ in range(3):
            seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
            kind = kinds[(seed >> 8) % len(kinds)]
            arg = {"truncate": (seed >> 4) % 12, "delay": (seed >> 4) % 70, "urc": "RING", "cme": 100,
                   "garbage": bytes([(seed >> 3) & 0xFF, 0, 13, 10, 0xFF]), "stale": b"\r\nOK\r\n"}.get(kind)
            fake.fault(cmds[(seed >> 16) % len(cmds)], kind, arg)
        t0 = ticks_ms()
        try:
            attach(m)
            outcome = m.state
            assert outcome == M.DATA and fake.data_mode
        except ModemError as e:
            outcome = e.reason
            assert e.reason in ALL_WORDS, e.reason
        assert ms_since(t0) < BOUND_MS
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert outcomes.get(M.DATA, 0) >= 3, outcomes                # many faults are recovered from


# ---- the driver's own guarantees ---------------------------------------------------------------------

class ReadOnlyUart:
    """A stream with read(n) and no readinto (nor any())."""

    def __init__(self, fake):
        self.fake = fake

    def write(self, b):
        return self.fake.write(b)

    def read(self, n):
        return self.fake.read(n)


def test_stream_with_read_only():
    fake = FakeModem()
    m = Modem(ReadOnlyUart(fake), **T)
    attach(m)
    assert m.state == M.DATA and fake.data_mode


def test_one_command_at_a_time():
    fake, rec, m = make(FakeModem(reg=((0, 1),)))

    async def both():
        await m.sync()
        a = asyncio.create_task(m.command("ATI"))
        b = asyncio.create_task(m.signal())
        await a
        return await b

    assert run(both()) == 20
    assert fake.log[-2:] == ["ATI", "AT+CSQ"]


def test_bounded_lines_per_reply():
    fake, rec, m = make()
    run(m.sync())
    fake.fault("ATI", "stale", "".join("\r\nline %d\r\n" % i for i in range(20)).encode())
    assert run(m.command("ATI")) == "OK"
    assert len(m.lines) == 8 and m.lines[0] == "line 0" and m.stale >= 13


class BytesUart:
    """Hands out a fixed byte string, 5 bytes per read, without allocating."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def any(self):
        return len(self.data) - self.pos

    def readinto(self, buf):
        n = min(len(buf), 5, len(self.data) - self.pos)
        for i in range(n):
            buf[i] = self.data[self.pos + i]
        self.pos += n
        return n or None

    def write(self, b):
        return len(b)


def test_line_assembly_allocates_nothing_until_a_line_is_complete():
    try:
        import micropython
    except ImportError:
        return   # CPython: nothing to measure
    m = Modem(BytesUart(b"x" * 40 + b"\x00junk" + b"y" * 200), line_max=64, **T)
    micropython.heap_lock()
    try:
        for _ in range(60):
            assert m._next_line() is None
    finally:
        micropython.heap_unlock()
    assert m.rx_bytes == 245 and m.garbage == 1 and m._drop
