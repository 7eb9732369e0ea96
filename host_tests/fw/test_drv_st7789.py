# wasl.drivers.st7789: commands, windows and pixels on the SPI wire, and what an ST7789 model
# (vdev_st7789) holds in its frame memory, with the datasheet's reset / sleep-out waits checked.
from fakebus import FakePin, FakeSPI, VClock
from fwtest import raises
from vdev_st7789 import ST7789Model

import framebuf
from wasl.drivers.st7789 import ST7789, color, rgb

RED = 0xF800
WHITE = 0xFFFF


def make(width=240, height=240, rst=True, cs=True, sleep=True, **kw):
    clk = VClock()
    spi = FakeSPI(clk, 40000000)
    dc = FakePin("dc")
    cs_pin = FakePin("cs", value=1)
    rst_pin = FakePin("rst") if rst else None
    m = ST7789Model(clk, dc, rst_pin)
    spi.attach(cs_pin, m)
    if not cs:
        cs_pin.value(0)                      # CS tied low on the board
    d = ST7789(spi, dc, cs_pin if cs else None, rst_pin, width, height,
               sleep_ms=clk.sleep_ms if sleep else (lambda ms: None), **kw)
    return d, m, spi


def windows(m):
    """[(CASET params, RASET params, pixel count)] of every RAMWR, in order."""
    out = []
    ca = ra = None
    for c, p in m.commands:
        if c == 0x2A:
            ca = p
        elif c == 0x2B:
            ra = p
        elif c == 0x2C:
            out.append((ca, ra, p))
    return out


def test_init_sequence():
    d, m, spi = make()
    assert [c for c, _ in m.commands] == [0x01, 0x11, 0x3A, 0x36, 0x21, 0x13, 0x2A, 0x2B, 0x2C, 0x29]
    assert m.commands[2] == (0x3A, b"\x55") and m.commands[3] == (0x36, b"\x00")
    assert windows(m) == [(b"\x00\x00\x00\xef", b"\x00\x00\x00\xef", 240 * 240)]   # cleared
    wire = spi.mosi()
    assert wire[:13] == b"\x01\x11\x3a\x55\x36\x00\x21\x13\x2a\x00\x00\x00\xef"
    assert m.errors == [] and m.resets == 2 and not m.sleeping and m.display_on and m.inverted
    assert (d.rows, d.cols) == (12, 15)
    assert len(d.buf) == 240 * 16 * 2        # one band, never the 115 KB frame


def test_reset_waits_are_checked():
    d, m, spi = make(sleep=False)
    assert any("too early" in e for e in m.errors) and any("SLPOUT" in e for e in m.errors)


def test_cs_frames_each_command():
    d, m, spi = make()
    cs_levels = []
    d.cs.on_change = (lambda prev: lambda pin, v: (cs_levels.append(v), prev(pin, v)))(d.cs.on_change)
    d.power(False)
    assert cs_levels == [0, 1] and not m.display_on
    d2, m2, _ = make(cs=False)              # CS tied low: the same result
    assert m2.errors == [] and m2.display_on


def expect_text(m, s, x0, y0, scale, fg, bg, xoff=0, yoff=0):
    """Every pixel of s drawn at (x0, y0) on the model's memory is fg where the 8x8 font has ink."""
    w = len(s) * 8
    ref = framebuf.FrameBuffer(bytearray(((w + 7) // 8) * 8), w, 8, framebuf.MONO_HLSB)
    ref.text(s, 0, 0, 1)
    for y in range(8 * scale):
        for x in range(w * scale):
            want = fg if ref.pixel(x // scale, y // scale) else bg
            got = m.pixel(xoff + x0 + x, yoff + y0 + y)
            if got != want:
                return "pixel (%d, %d): 0x%04x, want 0x%04x" % (x0 + x, y0 + y, got, want)
    return None


def test_show_rows_and_only_changed_ones():
    d, m, spi = make(fg=WHITE, bg=0x0000)
    d.show(["VENTE", "125,00 DZD"])
    assert expect_text(m, "VENTE", 0, 2, 2, WHITE, 0) is None
    assert expect_text(m, "125,00 DZD", 0, 22, 2, WHITE, 0) is None
    n = len(windows(m))
    d.show(["VENTE", "125,00 DZD"])
    assert len(windows(m)) == n
    d.show(["VENTE", "99,00 DZD"])
    w = windows(m)
    assert len(w) == n + 1
    assert w[-1] == (b"\x00\x00\x00\xef", b"\x00\x16\x00\x25", 240 * 16)   # row 1: y 22..37, full width
    assert expect_text(m, "99,00 DZD      ", 0, 22, 2, WHITE, 0) is None
    assert m.errors == []


def test_scale_1_and_colours():
    d, m, spi = make(scale=1, fg=RED, bg=0x001F)
    assert (d.rows, d.cols) == (24, 30)
    d.show(["ÉCHEC"])
    assert expect_text(m, "ECHEC", 0, 1, 1, RED, 0x001F) is None
    assert color(0xF800) == 0x00F8 and rgb(255, 0, 0) == RED and rgb(0, 0, 255) == 0x001F


def test_offsets_on_a_240x320_controller():
    d, m, spi = make(width=240, height=240, yoff=80, scale=3)
    d.show(["HI"])
    assert expect_text(m, "HI", 0, 3, 3, WHITE, 0, yoff=80) is None
    assert m.pixel(0, 0) == 0 and windows(m)[0][1] == b"\x00\x50\x01\x3f"   # clear covered rows 80..319


def test_text_and_blit_glyph_hooks():
    d, m, spi = make()
    d.text("OK", 100, 200, fg=RED, bg=WHITE)
    assert expect_text(m, "OK", 100, 200, 2, RED, WHITE) is None
    assert windows(m)[-1][:2] == (b"\x00\x64\x00\x83", b"\x00\xc8\x00\xd7")
    g = framebuf.FrameBuffer(bytearray(4 * 24), 24, 24, framebuf.MONO_HLSB)
    g.fill_rect(4, 4, 16, 16, 1)
    d.blit_glyph(g, 10, 10, 24, 24, fg=RED, bg=0)
    assert m.pixel(10, 10) == 0 and m.pixel(14, 14) == RED and m.pixel(29, 29) == RED and m.pixel(30, 30) == 0
    assert raises(ValueError, d.blit_glyph, g, 0, 0, 240, 17)
    assert m.errors == []


def test_band_hook():
    d, m, spi = make()
    d.fb.fill(color(RED))
    d.fb.fill_rect(0, 0, 10, 16, color(WHITE))
    d.push_band(100)
    assert m.pixel(0, 100) == WHITE and m.pixel(10, 100) == RED and m.pixel(239, 115) == RED
    assert m.pixel(0, 116) == 0
