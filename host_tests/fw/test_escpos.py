# wasl.drivers.escpos.EscPos: the exact bytes sent to the printer's UART.
from wasl.drivers.escpos import EscPos


class FakeUart:
    """Records every write (copied: the driver reuses its command buffer) and every flush."""

    def __init__(self):
        self.events = []

    def write(self, data):
        self.events.append(("write", bytes(data)))
        return len(data)

    def flush(self):
        self.events.append(("flush", None))

    @property
    def data(self):
        return b"".join(d for kind, d in self.events if kind == "write")

    def flushes(self):
        return len([1 for kind, _ in self.events if kind == "flush"])


def test_begin():
    u = FakeUart()
    EscPos(u).begin()
    assert u.data == b"\x1b@"
    u = FakeUart()
    EscPos(u, codepage=16).begin()
    assert u.data == b"\x1b@\x1bt\x10"
    u = FakeUart()
    EscPos(u, codepage=0).begin()
    assert u.data == b"\x1b@\x1bt\x00"
    assert u.flushes() == 0


def test_line_exact_bytes():
    u = FakeUart()
    p = EscPos(u)
    p.line("HELLO")
    assert u.data == b"\x1ba\x00" + b"\x1bE\x00" + b"\x1d!\x00" + b"HELLO" + b"\n"
    u = FakeUart()
    EscPos(u).line("TOTAL", "c", bold=True, big=True)
    assert u.data == b"\x1ba\x01\x1bE\x01\x1d!\x11TOTAL\n"
    u = FakeUart()
    EscPos(u).line("12,00", "r", bold=True)
    assert u.data == b"\x1ba\x02\x1bE\x01\x1d!\x0012,00\n"
    u = FakeUart()
    EscPos(u).line("")
    assert u.data == b"\x1ba\x00\x1bE\x00\x1d!\x00\n"


def test_feed():
    u = FakeUart()
    EscPos(u).feed()
    EscPos(u).feed(5)
    assert u.data == b"\x1bd\x01\x1bd\x05"


def test_cut_ends_with_partial_cut_and_flushes_once():
    u = FakeUart()
    EscPos(u).cut()
    assert u.data == b"\x1bd\x03\x1dV\x01"
    assert u.data.endswith(b"\x1dV\x01")
    assert u.flushes() == 1
    assert u.events[-1][0] == "flush"          # flushed after the last byte


def test_print_lines():
    u = FakeUart()
    EscPos(u).print_lines(iter([("c", "B", "SHOP"), ("l", "", "a"), ("r", "b", "9,99")]))
    assert u.data == (b"\x1b@"
                      + b"\x1ba\x01\x1bE\x01\x1d!\x11SHOP\n"
                      + b"\x1ba\x00\x1bE\x00\x1d!\x00a\n"
                      + b"\x1ba\x02\x1bE\x01\x1d!\x009,99\n"
                      + b"\x1bd\x03\x1dV\x01")
    assert u.flushes() == 1 and u.events[-1][0] == "flush"
