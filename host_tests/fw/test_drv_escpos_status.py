# wasl.drivers.escpos_status: DLE EOT 1/2/4 on the wire, answer bits decoded, noise and stale answers
# skipped, a mute printer timed out on a virtual clock; against the fake UART (bytes fed by hand) and
# against the virtual printer's status device (tools/virtual/printer_status.py, which runs here too).
import asyncio
import sys

from fakebus import FakeUART, VClock
from fwtest import ROOT
from wasl.drivers import escpos_status as st

if ROOT not in sys.path:
    sys.path.append(ROOT)
from tools.virtual.printer_status import PrinterStatus, StatusUart   # noqa: E402


class AnsweringUART(FakeUART):
    """FakeUART whose far end answers each write with the next of `answers` (bytes; b"" = silence)."""

    def __init__(self, answers):
        FakeUART.__init__(self)
        self.answers = list(answers)

    def write(self, data):
        FakeUART.write(self, data)
        if self.answers:
            self.feed(self.answers.pop(0))
        return len(data)


class ReadOnlyUART:
    """A UART-like object with write, read and any only: the driver falls back to read(1)."""

    def __init__(self, answers):
        self.u = AnsweringUART(answers)
        self.write = self.u.write
        self.read = self.u.read
        self.any = self.u.any


def test_query_bytes_exact():
    for n in (1, 2, 3, 4):
        u = AnsweringUART([b"\x12"])
        clock = VClock()
        assert st.query(u, n, sleep_ms=clock.sleep_ms) == 0x12
        assert bytes(u.written) == bytes((0x10, 0x04, n))
        assert clock.ms == 0                       # the answer was there: no waiting


def test_online_with_paper():
    u = AnsweringUART([b"\x12", b"\x12"])          # n=1 online; n=2 not asked; n=4 paper adequate
    s = st.read(u, sleep_ms=VClock().sleep_ms)
    assert bytes(u.written) == b"\x10\x04\x01\x10\x04\x04"
    assert s == (False, False, False, False, False, False)
    assert not s.paper_out and not s.cover_open and not s.offline and not s.mute
    assert st.problem(s) is None


def test_paper_near_end_is_only_a_warning():
    u = AnsweringUART([b"\x12", b"\x1e"])          # n=4 bits 2,3: near end
    s = st.read(u, sleep_ms=VClock().sleep_ms)
    assert s.paper_low and not s.paper_out and st.problem(s) is None


def test_paper_out():
    u = AnsweringUART([b"\x1a", b"\x32", b"\x7e"])   # offline; paper-end stop; near end + end
    s = st.read(u, sleep_ms=VClock().sleep_ms)
    assert bytes(u.written) == b"\x10\x04\x01\x10\x04\x02\x10\x04\x04"
    assert s == (True, True, False, True, False, False)
    assert st.problem(s) == "printer_paper"


def test_cover_open_wins_over_paper():
    u = AnsweringUART([b"\x1a", b"\x36", b"\x12"])   # offline; cover open + paper-end stop
    s = st.read(u, sleep_ms=VClock().sleep_ms)
    assert s.cover_open and s.paper_out and s.offline
    assert st.problem(s) == "printer_cover"


def test_error_and_plain_offline():
    u = AnsweringUART([b"\x1a", b"\x52", b"\x12"])   # n=2 bit 6: error
    s = st.read(u, sleep_ms=VClock().sleep_ms)
    assert s.error and st.problem(s) == "printer_error"
    u = AnsweringUART([b"\x1a", b"\x1a", b"\x12"])   # n=2 bit 3: paper fed by the FEED button
    s = st.read(u, sleep_ms=VClock().sleep_ms)
    assert s == (False, False, False, True, False, False)
    assert st.problem(s) == "printer_offline"


def test_mute_printer_times_out():
    u = AnsweringUART([])
    clock = VClock()
    s = st.read(u, timeout_ms=100, sleep_ms=clock.sleep_ms)
    assert s is st.MUTE and s.mute and s.offline
    assert st.problem(s) == "printer_mute"
    assert bytes(u.written) == b"\x10\x04\x01"      # no second query to a mute printer
    assert 100 <= clock.ms <= 110
    assert not st.printable(AnsweringUART([]), 20, VClock().sleep_ms)


def test_noise_skipped_and_stale_bytes_drained():
    u = AnsweringUART([b"\x00\xff\x11\x12", b"\x12"])   # garbage before the answer: skipped
    assert st.read(u, sleep_ms=VClock().sleep_ms) == (False,) * 6
    u = AnsweringUART([b"\x12", b"\x12"])
    u.feed(b"\x7e")                                 # a stale 'paper end' answer waiting in the buffer
    s = st.read(u, sleep_ms=VClock().sleep_ms)
    assert not s.paper_out and u.any() == 0


def test_read_without_readinto():
    u = ReadOnlyUART([b"\x1a", b"\x36", b"\x12"])
    assert not hasattr(u, "readinto")
    assert st.read(u, sleep_ms=VClock().sleep_ms).cover_open


def test_against_the_virtual_printer():
    ps = PrinterStatus()
    u = StatusUart(ps)
    clock = VClock()
    assert st.printable(u, sleep_ms=clock.sleep_ms)
    ps.set(paper_low=True)
    s = st.read(u, sleep_ms=clock.sleep_ms)
    assert s.paper_low and st.problem(s) is None
    ps.set(paper_out=True)
    assert st.problem(st.read(u, sleep_ms=clock.sleep_ms)) == "printer_paper"
    ps.set(paper_out=False, paper_low=False, cover_open=True)
    s = st.read(u, sleep_ms=clock.sleep_ms)
    assert s == (False, False, True, True, False, False)
    assert not st.printable(u, sleep_ms=clock.sleep_ms)
    ps.set(cover_open=False, feeding=True)
    assert st.problem(st.read(u, sleep_ms=clock.sleep_ms)) == "printer_offline"
    ps.set(feeding=False, error=True)
    assert st.problem(st.read(u, sleep_ms=clock.sleep_ms)) == "printer_error"
    ps.set(error=False, mute=True)
    assert st.read(u, timeout_ms=30, sleep_ms=clock.sleep_ms) is st.MUTE
    ps.set(mute=False)
    t0 = clock.ms
    assert st.printable(u, sleep_ms=clock.sleep_ms, settle_ms=1500)     # after a receipt: let it print
    assert clock.ms - t0 == 1500
    assert ps.queries[:2] == [1, 4]
    assert u.written.startswith(b"\x10\x04\x01\x10\x04\x04")


def test_virtual_printer_latency_within_and_past_the_timeout():
    clock = VClock()
    u = StatusUart(PrinterStatus(), now_ms=lambda: clock.ms, latency_ms=30)
    assert st.query(u, 1, timeout_ms=200, sleep_ms=clock.sleep_ms) == 0x12
    assert 30 <= clock.ms <= 35                    # waited for the answer, polling every 5 ms
    clock = VClock()
    u = StatusUart(PrinterStatus(), now_ms=lambda: clock.ms, latency_ms=300)
    assert st.query(u, 1, timeout_ms=100, sleep_ms=clock.sleep_ms) is None
    clock.sleep_ms(300)                             # the late answer arrives; the next query drops it
    u.status.set(cover_open=True)
    u.latency_ms = 0
    assert st.query(u, 1, sleep_ms=clock.sleep_ms) == 0x1a


def test_virtual_printer_answers_inside_other_data():
    ps = PrinterStatus(paper_out=True)
    assert ps.feed(b"\x1b@abc\x10") == b""          # a query split across writes
    assert ps.feed(b"\x04") == b""
    assert ps.feed(b"\x04\x1dv0\x00") == b"\x7e"
    assert ps.feed(b"\x10\x04\x09") == b""          # n out of range: ignored
    assert ps.queries == [4, 9]


def test_async_read_lets_other_tasks_run():
    clock = VClock()
    ticks = []

    async def vsleep(ms):                           # virtual time, but a real await: other tasks run
        clock.sleep_ms(ms)
        await asyncio.sleep(0)

    async def other():
        while True:
            ticks.append(clock.ms)
            await asyncio.sleep(0)

    async def go(uart, **kw):
        t = asyncio.create_task(other())
        try:
            return await st.aread(uart, sleep_ms=vsleep, **kw)
        finally:
            t.cancel()

    u = StatusUart(PrinterStatus(cover_open=True), now_ms=lambda: clock.ms, latency_ms=20)
    s = asyncio.run(go(u, settle_ms=100))
    assert s == (False, False, True, True, False, False)
    assert bytes(u.written) == b"\x10\x04\x01\x10\x04\x02\x10\x04\x04"
    assert 160 <= clock.ms <= 180                   # 100 ms settle + 3 answers 20 ms late
    assert len(ticks) > 10                          # the other task ran while it waited
    clock = VClock()
    u = StatusUart(PrinterStatus(mute=True))
    assert asyncio.run(go(u, timeout_ms=50)) is st.MUTE and 50 <= clock.ms <= 55
