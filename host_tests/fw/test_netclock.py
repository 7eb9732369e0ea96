# wasl.net.clock (network time: SNTP replies, AT+CCLK?) and wasl.net.gsm (the link manager's GSM
# attach, network time on the way, and hang-up) against host_tests/fw/fakemodem.py.
import asyncio

from fakemodem import FakeModem
from fwtest import raises
from wasl.net import gsm
from wasl.net.clock import cclk_time, ntp_request, ntp_time, unix
from wasl.net.modem import ModemError

T = {"cmd_ms": 40, "sync_ms": 20, "sync_tries": 3, "sim_ms": 60, "reg_ms": 150, "poll_ms": 5, "dial_ms": 60,
     "guard_ms": 15}
JULY = 1783242487      # 2026-07-05 09:08:07 UTC (calendar.timegm)


def test_unix_dates():
    assert unix(1970, 1, 1, 0, 0, 0) == 0
    assert unix(2000, 1, 1, 0, 0, 0) == 946684800
    assert unix(2024, 2, 29, 23, 59, 59) == 1709251199     # a leap day
    assert unix(2026, 7, 5, 9, 8, 7) == JULY


def test_cclk_local_time_and_zone():
    assert cclk_time('+CCLK: "26/07/05,10:08:07+04"') == JULY          # UTC+01:00, in quarter hours
    assert cclk_time('+CCLK: "26/07/05,05:08:07-16"') == JULY          # UTC-04:00


def test_cclk_bad_replies_are_refused():
    for line in ('+CCLK: "26/07/05,10:0', '+CCLK: 26/07/05,10:08:07+04', '+CCLK: "26/13/05,10:08:07+04"',
                 '+CCLK: "26/07/05,24:08:07+04"', '+CCLK: "26/07/05 10:08:07+04"', '+CCLK: "2x/07/05,10:08:07+04"',
                 '+CCLK: ""', "+CCLK:"):
        e = raises(ValueError, cclk_time, line)
        assert "CCLK" in str(e), str(e)


def test_cclk_power_up_default_is_not_network_time():
    e = raises(ValueError, cclk_time, '+CCLK: "04/01/01,00:00:05+00"')
    assert "no network time" in str(e)


def _reply(t, mode=4, stratum=2, leap=0):
    b = bytearray(48)
    b[0] = leap << 6 | 4 << 3 | mode
    b[1] = stratum
    v = t + 2208988800
    for i in range(4):
        b[40 + i] = (v >> (24 - 8 * i)) & 0xFF
    return b


def test_ntp_reply():
    assert ntp_request()[0] == 0x23 and len(ntp_request()) == 48
    assert ntp_time(_reply(JULY)) == JULY


def test_ntp_bad_replies_are_refused():
    assert "48 expected" in str(raises(ValueError, ntp_time, _reply(JULY)[:47]))
    for bad in (_reply(JULY, mode=3), _reply(JULY, stratum=0), _reply(JULY, leap=3), _reply(100)):
        raises(ValueError, ntp_time, bad)


class PPP:
    def __init__(self, uart):
        self.up = True

    def isconnected(self):
        return self.up

    def disconnect(self):
        self.up = False


class Hw:
    def __init__(self, fake):
        self.modem_uart = fake
        self.modem_opts = T

    def ppp(self, uart):
        self.link = PPP(uart)
        return self.link


ATTACH_LOG = ["AT", "ATE0", "AT+CMEE=1", "AT+CPIN?", "AT+CSQ", "AT+CREG?", "AT+CGREG?",
              'AT+CGDCONT=1,"IP","internet"', "AT+CCLK?", "ATD*99#"]


def test_gsm_full_attach_with_network_time_then_hang_up():
    fake = FakeModem(clock="26/07/05,10:08:07+04", csq=(18, 0))
    hw = Hw(fake)
    link, bars, t = asyncio.run(gsm.attach(hw, "internet", True))
    assert link is hw.link and link.isconnected() and fake.data_mode
    assert [c for c in fake.log if c != "AT"] == [c for c in ATTACH_LOG if c != "AT"], fake.log
    assert bars == 3 and t == JULY and fake.apn == "internet"
    asyncio.run(gsm.hang_up(hw, link))
    assert not link.up and fake.escapes == 1 and fake.log[-1] == "ATH" and not fake.data_mode


def test_gsm_attach_without_time_asks_no_clock():
    fake = FakeModem(clock="26/07/05,10:08:07+04")
    link, bars, t = asyncio.run(gsm.attach(Hw(fake), "internet", False))
    assert t is None and "AT+CCLK?" not in fake.log and fake.data_mode


def test_gsm_clock_reply_out_of_order_or_stale_still_reads_the_time():
    for kind, arg in (("swap", None), ("stale", b"\r\n+CSQ: 5,0\r\n\r\nOK\r\n"), ("delay", 30)):
        fake = FakeModem(clock="26/07/05,10:08:07+04")
        fake.fault("AT+CCLK?", kind, arg)
        link, bars, t = asyncio.run(gsm.attach(Hw(fake), "internet", True))
        assert fake.data_mode, kind
        assert t in (JULY, None), (kind, t)      # never a wrong time
        if kind != "delay":
            assert t == JULY, kind


def test_gsm_clock_reply_truncated_leaves_the_clock_alone_and_attaches():
    fake = FakeModem(clock="26/07/05,10:08:07+04")
    fake.fault("AT+CCLK?", "truncate", 14, times=2)      # '\r\n+CCLK: "26/0' twice (and the retry)
    link, bars, t = asyncio.run(gsm.attach(Hw(fake), "internet", True))
    assert t is None and fake.data_mode and fake.commands("AT+CCLK?") == ["AT+CCLK?", "AT+CCLK?"]


def test_gsm_modem_without_network_time():
    fake = FakeModem()        # AT+CCLK? answers the power-up default, 2004
    link, bars, t = asyncio.run(gsm.attach(Hw(fake), "internet", True))
    assert t is None and fake.data_mode


def test_gsm_attach_errors_name_the_reason():
    for kw, word in (({"sim": "ABSENT"}, "no_sim"), ({"reg": ((0, 3),)}, "registration_denied")):
        fake = FakeModem(**kw)
        e = raises(ModemError, asyncio.run, gsm.attach(Hw(fake), "internet", True))
        assert e.reason == word, (kw, e.reason)
        assert not fake.data_mode
    fake = FakeModem()
    fake.fault("ATD*99#", "truncate", 5)      # "\r\nCON": the CONNECT cut off (the modem went to data mode)
    hw = Hw(fake)
    e = raises(ModemError, asyncio.run, gsm.attach(hw, "internet", True))
    assert e.reason in ("no_carrier", "no_answer"), e.reason
    assert getattr(hw, "link", None) is None     # PPP never started on a cut CONNECT
