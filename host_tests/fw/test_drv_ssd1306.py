# wasl.drivers.ssd1306: control bytes and commands on the wire, and the GDDRAM an SSD1306 model
# (vdev_ssd1306) rebuilds from them.
from fakebus import FakeI2C
from fwtest import raises
from vdev_ssd1306 import SSD1306Model

import framebuf
from wasl.drivers.ssd1306 import SSD1306, fold


def make(height=64, **kw):
    bus = FakeI2C()
    m = bus.attach(0x3C, SSD1306Model(128, height))
    d = SSD1306(bus, 0x3C, 128, height, **kw)
    return d, m, bus


def rendered(text, width=128, height=8):
    """The MONO_VLSB bytes framebuf draws for text at (0, 0) on a width x height strip."""
    b = bytearray(width * height // 8)
    framebuf.FrameBuffer(b, width, height, framebuf.MONO_VLSB).text(text, 0, 0, 1)
    return bytes(b)


def test_init_exact_bytes():
    d, m, bus = make()
    w = bus.writes()
    assert w[0] == bytes((0x00, 0xAE, 0xD5, 0x80, 0xA8, 0x3F, 0xD3, 0x00, 0x40, 0x8D, 0x14, 0x20, 0x00, 0xA1,
                          0xC8, 0xDA, 0x12, 0x81, 0xCF, 0xD9, 0xF1, 0xDB, 0x40, 0xA4, 0xA6))
    assert w[1] == b"\x00\x21\x00\x7f\x22\x00\x07"          # whole screen window
    assert w[2] == b"\x40" + bytes(1024)                        # cleared GDDRAM, one data write
    assert w[3] == b"\x00\xaf"                                  # display on, last
    assert m.errors == [] and m.display_on and m.charge_pump and m.mode == 0
    assert (d.rows, d.cols) == (4, 16)


def test_128x32_and_external_vcc():
    d, m, bus = make(height=32, external_vcc=True, line_h=8)
    first = bus.writes()[0]
    assert first[4:6] == b"\xa8\x1f" and first[9:11] == b"\x8d\x10" and first[15:17] == b"\xda\x02"
    assert (d.rows, d.cols) == (4, 16)
    assert any("charge pump" in e for e in m.errors)   # the model notes it: external VCC needs no pump


def test_show_rebuilds_gddram():
    d, m, bus = make()
    d.show(["VENTE", "125,00 DZD", "", "OK"])
    assert m.ram() == bytes(d.buf)
    # row 0 text sits at y 4..11 (16-pixel rows, 8x8 font centred): check it against framebuf
    ref = bytearray(128 * 16 // 8)
    framebuf.FrameBuffer(ref, 128, 16, framebuf.MONO_VLSB).text("VENTE", 0, 4, 1)
    assert bytes(m.gddram[0]) + bytes(m.gddram[1]) == bytes(ref)
    assert m.pixel(0, 0) == 0 and m.errors == []


def test_only_changed_pages_are_sent():
    d, m, bus = make()
    d.show(["A", "B", "C", "D"])
    bus.clear()
    d.show(["A", "B", "C", "D"])
    assert bus.log == []
    d.show(["A", "B", "X", "D"])              # row 2 = pages 4 and 5
    w = bus.writes()
    assert w == [b"\x00\x21\x00\x7f\x22\x04\x05", b"\x40" + bytes(d.buf[4 * 128:6 * 128])]
    assert m.ram() == bytes(d.buf)
    bus.clear()
    d.show(["Q", "B", "X", "Z"])              # rows 0 and 3: pages 0..7 in one window
    assert bus.writes()[0] == b"\x00\x21\x00\x7f\x22\x00\x07" and len(bus.writes()[1]) == 1025
    assert m.ram() == bytes(d.buf)


def test_text_and_fold():
    assert fold("REFUSÉE") == "REFUSEE" and fold("ABC") == "ABC" and fold("€1") == "?1"
    d, m, bus = make(line_h=8)
    d.show(["ÉCHEC"])
    assert bytes(m.gddram[0]) == rendered("ECHEC")
    d.text("HI", 64, 8)
    d.flush()
    assert bytes(m.gddram[1][64:80]) == rendered("HI", 16)


def test_blit_glyph_hook():
    d, m, bus = make()
    gbuf = bytearray(2 * 16)                 # a 16x16 MONO_HLSB glyph: a frame
    g = framebuf.FrameBuffer(gbuf, 16, 16, framebuf.MONO_HLSB)
    g.rect(0, 0, 16, 16, 1)
    d.fb.fill(1)
    d.blit_glyph(g, 8, 16, 16, 16, fg=1, bg=0)
    d.flush()
    assert m.pixel(8, 16) == 1 and m.pixel(9, 17) == 0 and m.pixel(23, 31) == 1 and m.pixel(7, 16) == 1
    d.fb.fill(1)
    d.blit_glyph(g, 8, 16, 16, 16, fg=0, bg=-1)    # inverse ink, transparent background
    d.flush()
    assert m.pixel(8, 16) == 0 and m.pixel(9, 17) == 1


def test_power_and_contrast():
    d, m, bus = make()
    d.power(False)
    assert not m.display_on
    d.contrast(0x10)
    assert m.contrast == 0x10 and bus.writes()[-1] == b"\x00\x81\x10"


def test_absent_device():
    e = raises(OSError, SSD1306, FakeI2C(), 0x3C)
    assert e.args[0] == 19
