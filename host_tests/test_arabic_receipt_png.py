"""An Arabic receipt printed through the raster fallback with the terminal's bitmap font, rendered to
paper by tools/virtual/escpos_image.py and saved as a PNG by tools/receipt_png.py: the firmware's
escpos_raster and wasl.ui.glyphs (on CPython, with the framebuf stand-in) write into a fake UART, and
the picture must hold font16's dots exactly where the GS v 0 bytes put them. `make test` leaves the
PNG in pytest's tmp_path (arabic-receipt.png)."""
import os
import struct
import sys
import zlib

from tools.receipt_png import escpos_to_png
from tools.virtual.escpos_image import ImagePrinter, render

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _p in (os.path.join(ROOT, "host_tests", "cpython_shims"), os.path.join(ROOT, "firmware")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import framebuf                                        # noqa: E402  (the CPython stand-in)
from wasl.drivers.escpos_raster import Raster          # noqa: E402
from wasl.ui import font16, glyphs                     # noqa: E402
from wasl.ui.arabic import visual                      # noqa: E402

WIDTH = 384
MERCHANT = "\u0635\u064a\u062f\u0644\u064a\u0629 \u0627\u0644\u0623\u0645\u0644"   # صيدلية الأمل
SALE = "\u0628\u064a\u0639"                                                            # بيع
CARD = "\u0627\u0644\u0628\u0637\u0627\u0642\u0629"                                    # البطاقة
AMOUNT = "\u0627\u0644\u0645\u0628\u0644\u063a"                                        # المبلغ
APPROVED = "\u0645\u0642\u0628\u0648\u0644\u0629"                                      # مقبولة
PAN = "476173******0010"


class Uart:
    def __init__(self):
        self.data = bytearray()

    def write(self, b):
        self.data += bytes(b)
        return len(b)

    def flush(self):
        pass


def font_dots(text, x0, y0, scale=1):
    """The dots font16.draw puts for text at (x0, y0) (checked against the font's bytes by
    host_tests/fw/test_font16.py), as a set of (x, y)."""
    w = font16.width(text, scale)
    buf = bytearray(((w + 7) // 8) * 16 * scale)
    fb = framebuf.FrameBuffer(buf, w, 16 * scale, framebuf.MONO_HLSB)
    font16.draw(fb, text, 0, 0, 1, scale)
    return set((x0 + x, y0 + y) for y in range(16 * scale) for x in range(w) if fb.pixel(x, y))


def black(rows, y0=0, y1=None, x0=0, x1=WIDTH):
    y1 = len(rows) if y1 is None else y1
    return set((x, y) for y in range(y0, y1) for x in range(x0, x1) if rows[y][x >> 3] & (0x80 >> (x & 7)))


def receipt_lines():
    """(align, style, text, hook) of the receipt: display-order text (visual); Arabic text lines all
    from font16 (glyphs.glyph), label/value lines with the values in the printer's cells
    (glyphs.arabic, the label on the right: glyphs.spread); big merchant name and outcome."""
    return [
        ("c", "B", visual(MERCHANT), glyphs.glyph),
        ("r", "", visual(SALE), glyphs.glyph),
        ("l", "", glyphs.spread(PAN, visual(CARD)), glyphs.arabic),
        ("l", "", glyphs.spread("1 500,00 DZD", visual(AMOUNT)), glyphs.arabic),
        ("c", "B", visual(APPROVED), glyphs.glyph),
    ]


def print_receipt(u, lines):
    """What the print path of an Arabic terminal sends: ESC @, each line as raster with its hook,
    feed 3 lines, partial cut."""
    r = Raster(u)
    u.write(b"\x1b@")
    for align, style, text, hook in lines:
        r.text(text, align, bold=style == "b", big=style == "B", glyph=hook)
    u.write(b"\x1bd\x03\x1dV\x01")


def decode_png(blob):
    """(width, height, rows) of a 1-bit greyscale PNG (rows: MSB leftmost, 1 = black), every chunk's
    CRC checked."""
    assert blob[:8] == b"\x89PNG\r\n\x1a\n"
    i, idat, ihdr = 8, b"", None
    while i < len(blob):
        n, = struct.unpack(">I", blob[i:i + 4])
        kind, data = blob[i + 4:i + 8], blob[i + 8:i + 8 + n]
        assert zlib.crc32(kind + data) & 0xFFFFFFFF == struct.unpack(">I", blob[i + 8 + n:i + 12 + n])[0]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", data)
        elif kind == b"IDAT":
            idat += data
        i += 12 + n
    w, h, depth, colour = ihdr[:4]
    assert (depth, colour) == (1, 0)
    raw = zlib.decompress(idat)
    wb = (w + 7) // 8
    return w, h, [bytes(255 - b for b in raw[y * (wb + 1) + 1:(y + 1) * (wb + 1)]) for y in range(h)]


def test_arabic_line_lands_where_the_raster_bytes_put_it():
    u = Uart()
    v = visual(APPROVED)
    Raster(u).text(v, align="r", glyph=glyphs.arabic)
    r = render(bytes(u.data))
    assert r.unknown == 0 and r.notes == [] and r.images == [(0, 0, WIDTH, 24)]
    # the paper holds the GS v 0 payload, row for row
    assert bytes(u.data[:8]) == b"\x1dv0\x00\x30\x00\x18\x00" and len(u.data) == 8 + 48 * 24
    for y in range(24):
        assert bytes(r.img.rows[y]) == bytes(u.data[8 + 48 * y:8 + 48 * (y + 1)]), y
    # and those are font16's dots: flush right, 4 pad rows + 1 (the printer cells' baseline)
    assert black(r.img.rows) == font_dots(v, WIDTH - font16.width(v), 5)


def test_arabic_receipt_png(tmp_path):
    u = Uart()
    lines = receipt_lines()
    print_receipt(u, lines)
    path = tmp_path / "arabic-receipt.png"
    r = escpos_to_png(bytes(u.data), str(path))
    assert r.unknown == 0 and r.notes == [] and len(r.cuts) == 1
    w, h, rows = decode_png(path.read_bytes())
    assert (w, h) == (WIDTH, r.img.height) and rows == [bytes(x) for x in r.img.rows]
    assert 300 < path.stat().st_size < 20000
    # line by line: big lines are 40 rows (2 bands), others 24
    heights = [40 if style == "B" else 24 for _, style, _, _ in lines]
    tops = [sum(heights[:k]) for k in range(len(lines))]
    assert [im[1] for im in r.images][:3] == [0, 24, 40]
    assert sum(heights) < r.cuts[0]

    # merchant name, big and centred: font16 doubled, standing on the big cells' baseline
    v = visual(MERCHANT)
    mw = font16.width(v, 2)
    assert glyphs.measure(v, glyphs.glyph, 32) == mw
    assert black(rows, tops[0], tops[0] + 40) == font_dots(v, (WIDTH - mw) // 2, tops[0] + 4 + 2, 2)
    # "بيع" flush right
    v = visual(SALE)
    assert black(rows, tops[1], tops[1] + 24) == font_dots(v, WIDTH - font16.width(v), tops[1] + 5)
    # label/value lines: the Arabic label ends at the right edge, the value is the printer's own cells
    for k, value, label in ((2, PAN, CARD), (3, "1 500,00 DZD", AMOUNT)):
        v = visual(label)
        lw = font16.width(v)
        got = black(rows, tops[k], tops[k] + 24)
        assert set(p for p in got if p[0] >= WIDTH - lw) == font_dots(v, WIDTH - lw, tops[k] + 5), label
        ref = Uart()
        Raster(ref).text(value)
        want = set((x, y + tops[k]) for (x, y) in black(render(bytes(ref.data)).img.rows))
        assert set(p for p in got if p[0] < 12 * len(value)) == want, value
    # the outcome, big and centred
    v = visual(APPROVED)
    aw = font16.width(v, 2)
    assert black(rows, tops[4], tops[4] + 40) == font_dots(v, (WIDTH - aw) // 2, tops[4] + 6, 2)
    # nothing printed between the lines' cells and the cut but the cut mark
    assert black(rows, sum(heights), r.cuts[0]) == set()


def test_image_printer_sees_one_image_per_line():
    cuts = []
    p = ImagePrinter(lambda text, raw, unknown: cuts.append((text, unknown)))
    u = Uart()
    print_receipt(u, receipt_lines())
    p.feed(bytes(u.data))
    assert len(cuts) == 1 and cuts[0][1] == 0
    # consecutive bands of one width merge: the whole receipt is one image of 40+24+24+24+40 rows
    assert "[image 384x152]" in cuts[0][0]
