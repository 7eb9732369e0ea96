# wasl.drivers.hd44780: the PCF8574 port bytes on the wire, and what a decoding HD44780 model
# (vdev_hd44780) ends up holding in DDRAM / CGRAM, with the datasheet's timings checked.
from fakebus import FakeI2C, VClock
from fwtest import raises
from vdev_hd44780 import HD44780Model
from wasl.drivers.hd44780 import HD44780


def make(rows=4, cols=20, model=None, freq=100000, **kw):
    clk = VClock()
    bus = FakeI2C(clk, freq)
    m = bus.attach(0x27, model or HD44780Model(clk, rows, cols))
    m.clock = clk
    lcd = HD44780(bus, 0x27, rows, cols, sleep_ms=clk.sleep_ms, **kw)
    return lcd, m, bus


def cmd_bytes(v, rs=0, bl=0x08):
    """The 5 port bytes of one instruction: RS setup, then high and low nibble each with E high/low."""
    hi = (v & 0xF0) | bl | rs
    lo = ((v << 4) & 0xF0) | bl | rs
    return bytes((bl | rs if rs else bl, hi | 4, hi, lo | 4, lo))


def test_init_sequence_exact_bytes():
    lcd, m, bus = make()
    w = bus.writes(0x27)
    nib3 = b"\x08\x3c\x38"                   # E high with DB7..4 = 0011, then E low
    assert w[:4] == [nib3, nib3, nib3, b"\x08\x2c\x28"]
    assert w[4:] == [cmd_bytes(0x28), cmd_bytes(0x08), cmd_bytes(0x01), cmd_bytes(0x06), cmd_bytes(0x0C)]
    assert w[4] == b"\x08\x2c\x28\x8c\x88"  # function set 4-bit, 2 lines, 5x8
    assert m.instructions == [(0, 0x30), (0, 0x30), (0, 0x30), (0, 0x20),
                              (0, 0x28), (0, 0x08), (0, 0x01), (0, 0x06), (0, 0x0C)]
    assert m.errors == [], m.errors
    assert not m.mode8 and m.lines2 and m.display_on and m.backlight
    assert m.text() == [" " * 20] * 4
    assert (lcd.rows, lcd.cols) == (4, 20)


def test_waits_are_needed():
    """The model catches a driver that does not wait: no power-on wait, no 4.1 ms, no clear time."""
    clk = VClock()
    bus = FakeI2C(clk)
    m = bus.attach(0x27, HD44780Model(clk))
    HD44780(bus, 0x27, sleep_ms=lambda ms: None)
    assert any("power-on" in e for e in m.errors)
    clk2 = VClock()
    clk2.ns = 100000000                      # powered long ago, but still no waits between steps
    bus2 = FakeI2C(clk2)
    m2 = bus2.attach(0x27, HD44780Model(clk2))
    HD44780(bus2, 0x27, sleep_ms=lambda ms: None)
    assert any("busy" in e for e in m2.errors), m2.errors


def test_show_writes_ddram():
    lcd, m, bus = make()
    lcd.show(["VENTE", "SAISIR MONTANT", "          125,00 DZD", "OK=VALIDER ROUGE=ANN"])
    assert m.text() == ["VENTE" + " " * 15, "SAISIR MONTANT      ", "          125,00 DZD", "OK=VALIDER ROUGE=ANN"]
    assert m.errors == []
    # the rows sit at DDRAM 0x00, 0x40, 0x14, 0x54
    assert bytes(m.ddram[0x14:0x14 + 20]) == b"          125,00 DZD"
    assert bytes(m.ddram[0x54:0x54 + 20]) == b"OK=VALIDER ROUGE=ANN"


def test_row_write_exact_bytes_16x2():
    lcd, m, bus = make(rows=2, cols=16)
    bus.clear()
    lcd.show(["", "HI"])
    w = bus.writes(0x27)
    assert len(w) == 1                       # one I2C write for the row, nothing for the blank row 0
    row = w[0]
    assert row[:6] == b"\x08\xcc\xc8\x0c\x08\x09"       # Set DDRAM address 0x40, then RS high, E low
    assert row[6:14] == b"\x4d\x49\x8d\x89\x4d\x49\x9d\x99"   # 'H' 0x48, 'I' 0x49 with RS=1
    assert row[14:18] == b"\x2d\x29\x0d\x09"            # ' '
    assert len(row) == 6 + 4 * 16
    assert m.text() == [" " * 16, "HI" + " " * 14]


def test_only_changed_rows_are_written():
    lcd, m, bus = make()
    rows = ["A", "B", "C", "D"]
    lcd.show(rows)
    bus.clear()
    lcd.show(rows)
    lcd.show(["A", "B", "C", "D"])            # equal strings, other objects
    assert bus.log == []
    lcd.show(["A", "B", "X", "D"])
    assert len(bus.writes()) == 1 and bus.writes()[0][1:5] == cmd_bytes(0x80 | 0x14)[1:]
    assert m.row_text(2) == "X" + " " * 19
    bus.clear()
    lcd.show(["A", "B", "X" + " " * 19, "D"])   # another string, same characters on the glass
    assert bus.log == []


def test_rows_padded_cut_and_missing():
    lcd, m, bus = make(rows=2, cols=16)
    lcd.show(["0123456789ABCDEFGHIJ"])
    assert m.text() == ["0123456789ABCDEF", " " * 16]
    lcd.show([])
    assert m.text() == [" " * 16, " " * 16]


def test_accents_folded_and_charmap():
    lcd, m, bus = make(rows=2, cols=16)
    lcd.show(["REFUSÉE", "Ça coûte €"])
    assert m.text() == ["REFUSEE" + " " * 9, "Ca coute ?" + " " * 6]
    lcd2, m2, _ = make(rows=2, cols=16, charmap={0xE9: 0x05, 0x20AC: 0x06})
    lcd2.show(["é€", "x"])
    assert m2.row_codes(0)[:3] == b"\x05\x06 "


def test_define_char_loads_cgram():
    lcd, m, bus = make()
    glyph = bytes((0x04, 0x0E, 0x1F, 0x04, 0x04, 0x04, 0x04, 0xE0))   # top bits beyond 5 dropped
    bus.clear()
    lcd.define_char(3, glyph)
    w = bus.writes()
    assert len(w) == 1 and w[0][:5] == cmd_bytes(0x40 | 3 << 3)
    assert m.glyph(3) == bytes(g & 0x1F for g in glyph)
    lcd.show(["\x03 UP"])
    assert m.row_codes(0)[:4] == b"\x03 UP"
    assert m.errors == []
    assert raises(ValueError, lcd.define_char, 8, glyph)
    assert raises(ValueError, lcd.define_char, 0, b"\x00")


def test_backlight_bit():
    lcd, m, bus = make(backlight=False)
    assert not m.backlight
    lcd.show(["DARK"])
    assert all(not b & 0x08 for w in bus.writes() for b in w)
    lcd.backlight(True)
    assert m.backlight
    lcd.show(["LIT"])
    assert bus.writes()[-1][0] & 0x08 and m.row_text(0)[:3] == "LIT"


def test_warm_start_resynchronises():
    """An MCU reset leaves the controller in 4-bit mode, maybe with half a byte received: the 3-3-3-2
    dance still brings it back."""
    for half in (None, 0x0, 0x3, 0xC):
        clk = VClock()
        model = HD44780Model(clk, mode8=False, half=half)
        lcd, m, bus = make(model=model)
        lcd.show(["WARM %r" % half])
        assert m.row_text(0).startswith("WARM %r" % half), (half, m.text())
        assert not m.mode8 and m.display_on


def test_fast_bus_respects_execution_times():
    lcd, m, bus = make(freq=400000)
    lcd.show(["FAST", "BUS", "400", "KHZ"])
    assert m.text()[0].startswith("FAST") and m.errors == []


def test_absent_device():
    clk = VClock()
    bus = FakeI2C(clk)
    e = raises(OSError, HD44780, bus, 0x27, sleep_ms=clk.sleep_ms)
    assert e.args[0] == 19                   # ENODEV, as machine.I2C raises it
    bus.attach(0x3F, HD44780Model(clk))
    assert bus.scan() == [0x3F]


class _NullI2C:
    def writeto(self, addr, buf, stop=True):
        return len(buf)


def test_show_allocates_per_row_not_per_character():
    import gc

    if not hasattr(gc, "mem_alloc"):
        return                                # CPython: nothing to measure
    lcd = HD44780(_NullI2C(), 0x27, 4, 20, sleep_ms=lambda ms: None)

    def cost(rows):
        gc.collect()
        gc.disable()
        a = gc.mem_alloc()
        lcd.show(rows)
        d = gc.mem_alloc() - a
        gc.enable()
        return d

    short = cost(["AB", "CD", "EF", "GH"])
    long = cost(["ABCDEFGHIJKLMNOPQRST", "CDEFGHIJKLMNOPQRSTUV", "EFGHIJKLMNOPQRSTUVWX", "GHIJKLMNOPQRSTUVWXYZ"])
    accented = cost(["ÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉ", "CD", "EF", "GH"])
    assert long - short <= 4 * 64, (short, long)          # 18 more characters a row: one bigger encode
    assert accented <= long, (accented, long)
