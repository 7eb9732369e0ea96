# wasl.drivers.escpos_raster: GS v 0 headers (1D 76 30 00 xL xH yL yH), bands of at most `rows` rows,
# MSB-first rows with 1 = black, placement by bytes, a PBM P4 logo read band by band, text drawn from
# framebuf's 8x8 font into bands, a glyph hook, and a whole receipt as raster.
import framebuf

from fakebus import FakeUART
from fwtest import make_tmpdir, raises, rmtree
from wasl.drivers.escpos_raster import Raster


class Uart(FakeUART):
    def __init__(self):
        FakeUART.__init__(self)
        self.writes = []
        self.flushes = 0

    def write(self, data):
        self.writes.append(bytes(data))
        return FakeUART.write(self, data)

    def flush(self):
        self.flushes += 1


def bands(data):
    """The GS v 0 commands in data: [(xbytes, rows, payload)]; any other byte is returned apart."""
    out = []
    other = bytearray()
    i = 0
    while i < len(data):
        if data[i:i + 4] == b"\x1dv0\x00":
            x = data[i + 4] | data[i + 5] << 8
            y = data[i + 6] | data[i + 7] << 8
            out.append((x, y, bytes(data[i + 8:i + 8 + x * y])))
            i += 8 + x * y
        else:
            other.append(data[i])
            i += 1
    return out, bytes(other)


def stack(bs):
    """All bands' rows, top to bottom (every band the same width)."""
    rows = []
    for x, y, d in bs:
        for r in range(y):
            rows.append(d[r * x:(r + 1) * x])
    return rows


def black(rows, x, y):
    return bool(rows[y][x >> 3] & (0x80 >> (x & 7)))


def test_header_exact():
    u = Uart()
    r = Raster(u)
    r.header(48, 24)
    r.header(0x0102, 0x0304)
    assert bytes(u.written) == b"\x1d\x76\x30\x00\x30\x00\x18\x00" + b"\x1d\x76\x30\x00\x02\x01\x04\x03"


def test_band_is_the_buffer_msb_first():
    u = Uart()
    r = Raster(u, width=16, rows=2)
    assert len(r.buf) == 4                          # 2 bytes a row, 2 rows: all the RAM it holds
    r.fb.pixel(0, 0, 1)                             # top-left dot: bit 7 of the first byte
    r.fb.pixel(9, 1, 1)                             # second row, dot 9: bit 6 of its second byte
    r.band()
    assert bytes(u.written) == b"\x1dv0\x00\x02\x00\x02\x00" + b"\x80\x00\x00\x40"
    u.written = bytearray()
    r.band(1)
    assert bytes(u.written) == b"\x1dv0\x00\x02\x00\x01\x00\x80\x00"


def test_bitmap_split_in_bands():
    u = Uart()
    r = Raster(u, width=384, rows=24)
    w, h = 384, 50
    img = bytearray(48 * h)
    for y in range(h):
        img[y * 48 + (y % 48)] = 0x80 >> (y % 8)    # one dot a row, walking right
    r.bitmap(img, w, h)
    bs, other = bands(u.written)
    assert other == b""
    assert [(x, y) for x, y, _ in bs] == [(48, 24), (48, 24), (48, 2)]
    assert b"".join(d for _, _, d in bs) == bytes(img)
    assert max(len(wr) for wr in u.writes) == 48 * 24   # never more than a band in one write


def test_bitmap_placement_and_pad_bits():
    u = Uart()
    r = Raster(u, width=64, rows=8)                 # 8 bytes a row
    img = bytes([0xFF, 0xFF, 0x81, 0xFF])           # 12 x 2: the last byte's low nibble is padding
    r.bitmap(img, 12, 2, align="l")
    r.bitmap(img, 12, 2, align="c")
    r.bitmap(img, 12, 2, align="r")
    bs, _ = bands(u.written)
    assert [d for _, _, d in bs] == [
        b"\xff\xf0" + b"\x00" * 6 + b"\x81\xf0" + b"\x00" * 6,
        b"\x00" * 3 + b"\xff\xf0" + b"\x00" * 3 + b"\x00" * 3 + b"\x81\xf0" + b"\x00" * 3,
        b"\x00" * 6 + b"\xff\xf0" + b"\x00" * 6 + b"\x81\xf0"]
    stride = Raster(Uart(), width=64, rows=8)       # rows further apart than their width
    stride.bitmap(b"\xaa\x00\x00\x55\x00\x00", 8, 2, align="l", stride=3)
    assert bands(stride.uart.written)[0][0][2] == b"\xaa" + b"\x00" * 7 + b"\x55" + b"\x00" * 7
    assert raises(ValueError, r.bitmap, bytes(10 * 2), 80, 2)      # wider than the paper
    assert raises(ValueError, r.bitmap, bytes(3), 12, 2)           # short data


def test_framebuffer_in_bands():
    w, h = 40, 30
    src = bytearray(((w + 7) // 8) * h)
    fb = framebuf.FrameBuffer(src, w, h, framebuf.MONO_HLSB)
    fb.rect(0, 0, w, h, 1)
    fb.pixel(20, 13, 1)
    u = Uart()
    Raster(u, width=384, rows=16).framebuffer(fb, w, h, align="l")
    bs, _ = bands(u.written)
    assert [(x, y) for x, y, _ in bs] == [(48, 16), (48, 14)]
    rows = stack(bs)
    assert len(rows) == h
    for y in range(h):
        for x in range(384):
            want = x < w and (y in (0, h - 1) or x in (0, w - 1) or (x, y) == (20, 13))
            assert black(rows, x, y) == want, (x, y)
    u = Uart()
    Raster(u, width=384, rows=16).framebuffer(fb, w, h, align="c")     # centred to the dot
    rows = stack(bands(u.written)[0])
    assert black(rows, 172, 0) and not black(rows, 171, 0) and black(rows, 211, 5)
    assert not black(rows, 212, 5) and black(rows, 172 + 20, 13)


def test_pbm_logo_read_band_by_band():
    d = make_tmpdir("pbm")
    try:
        w, h = 20, 5                                # 3 bytes a row, 4 pad bits each
        rows = [bytes([0xFF, 0x00, 0xFF]), bytes([0x80, 0x00, 0x10]), bytes([0x12, 0x34, 0x5F]),
                bytes([0x00, 0x00, 0x00]), bytes([0xFF, 0xFF, 0xF0])]
        with open(d + "/logo.pbm", "wb") as f:
            f.write(b"P4\n# Wasl test logo\n20 5\n" + b"".join(rows))
        u = Uart()
        r = Raster(u, width=48, rows=2)             # 6 bytes a row, 2 rows a band
        assert r.logo(d + "/logo.pbm", align="r") == (20, 5)
        bs, other = bands(u.written)
        assert other == b"" and [(x, y) for x, y, _ in bs] == [(6, 2), (6, 2), (6, 1)]
        got = stack(bs)
        for y in range(h):
            want = rows[y][:2] + bytes([rows[y][2] & 0xF0])
            assert got[y] == b"\x00" * 3 + want, y
        with open(d + "/bad.pbm", "wb") as f:
            f.write(b"P1\n2 2\n0 1 1 0\n")
        assert raises(ValueError, r.logo, d + "/bad.pbm")
        with open(d + "/short.pbm", "wb") as f:
            f.write(b"P4 16 4 \xff\xff")
        assert raises(ValueError, r.logo, d + "/short.pbm")
    finally:
        rmtree(d)


def test_text_line_is_the_8x8_font_scaled():
    u = Uart()
    r = Raster(u)
    r.text("Hi", align="l")
    bs, other = bands(u.written)
    assert other == b"" and [(x, y) for x, y, _ in bs] == [(48, 24)]
    rows = stack(bs)
    ref = bytearray(2 * 8)
    rfb = framebuf.FrameBuffer(ref, 16, 8, framebuf.MONO_HLSB)
    rfb.text("Hi", 0, 0, 1)
    for y in range(24):
        for x in range(384):
            if 4 <= y < 20 and x < 24:              # 12 x 16 cells, 4 blank rows above
                c, sx = divmod(x, 12)
                fx = c * 8 + next(k for k in range(8) if k * 12 // 8 <= sx < (k + 1) * 12 // 8)
                want = bool(ref[(y - 4) // 2 * 2 + fx // 8] & (0x80 >> (fx & 7)))
            else:
                want = False
            assert black(rows, x, y) == want, (x, y)


def ink(rows):
    """(dots set, leftmost x, rightmost x) over all rows."""
    n, lo, hi = 0, None, None
    for row in rows:
        for i in range(len(row)):
            b = row[i]
            for k in range(8):
                if b & (0x80 >> k):
                    x = i * 8 + k
                    n += 1
                    lo = x if lo is None else min(lo, x)
                    hi = x if hi is None else max(hi, x)
    return n, lo, hi


def test_text_align_bold_big_and_fold():
    def draw(s, **kw):
        u = Uart()
        Raster(u).text(s, **kw)
        return stack(bands(u.written)[0])

    n, lo, hi = ink(draw("WASL", align="r"))
    assert hi >= 380 and lo >= 384 - 48
    n, lo, hi = ink(draw("WASL", align="c"))
    assert lo >= 168 and hi < 216 and abs((lo + hi) - 383) < 12
    plain = ink(draw("TOTAL"))[0]
    assert ink(draw("TOTAL", bold=True))[0] > plain
    big = draw("TOTAL", big=True)
    assert len(big) == 40                           # 32 + 2 x 4 rows: two bands of a 24-row buffer
    assert ink(big)[0] > 3 * plain and ink(big)[2] >= 2 * ink(draw("TOTAL"))[2]
    assert draw("ETE") == draw("\u00c9T\u00c9")      # Latin-1 folded to ASCII
    long = draw("X" * 40)                           # 40 cells = 480 dots: cut at the paper's edge
    assert ink(long)[2] == ink(draw("X" * 32))[2]


def test_glyph_hook():
    calls = []

    def glyph(fb, ch, x, y, h):
        calls.append((fb is None, ch, x, y, h))
        if ch != "\ufef3":                          # the one glyph this font has: 20 dots, full box
            return None
        if fb is not None:
            fb.fill_rect(x, y, 20, h, 1)
        return 20

    u = Uart()
    Raster(u).text("A\ufef3", align="l", glyph=glyph)
    rows = stack(bands(u.written)[0])
    assert calls[:2] == [(True, "A", 0, 0, 16), (True, "\ufef3", 0, 0, 16)]
    assert calls[2:] == [(False, "A", 0, 4, 16), (False, "\ufef3", 12, 4, 16)]
    for x in range(12, 32):
        assert black(rows, x, 4) and black(rows, x, 19) and not black(rows, x, 20)
    assert not black(rows, 32, 10) and ink(rows[4:20])[1] < 12     # the 'A' from the 8x8 font


def test_print_lines_whole_receipt():
    u = Uart()
    lines = [("c", "B", "SHOP"), ("l", "", "TID         WASL0001"), ("r", "b", "12,00 DZD")]
    Raster(u).print_lines(iter(lines))
    data = bytes(u.written)
    assert data.startswith(b"\x1b@") and data.endswith(b"\x1bd\x03\x1dV\x01")
    bs, other = bands(data[2:-6])
    assert other == b""
    assert [(x, y) for x, y, _ in bs] == [(48, 24), (48, 16), (48, 24), (48, 24)]
    assert u.flushes == 1
    assert len(data) == 2 + 4 * 8 + 48 * (24 + 16 + 24 + 24) + 6
