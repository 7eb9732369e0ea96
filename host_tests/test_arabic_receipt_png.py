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
for _p in (os.path.join(ROOT, "host_tests", "cpython_shims"), os.path.join(ROOT, "firmware"),
           os.path.join(ROOT, "host_tests", "fw")):
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


# ---- the bilingual FR + AR receipt (parameter receipt.bilingual) --------------------------------------
from fwtest import FakeParams, txn                      # noqa: E402  (host_tests/fw, on sys.path below)
from wasl.drivers.escpos import EscPos                  # noqa: E402
from wasl.drivers.escpos_arabic import _CP864, Bilingual, cp864   # noqa: E402
from wasl.txn.receipt import txn_receipt                # noqa: E402
from wasl.ui.strings import table                       # noqa: E402


def bilingual_lines(copy="c"):
    t = txn("sale", s=42, i=7, b=1, a=150000, m="chip", t="20260705100807", rc="00", r="000000123456",
            au="A1B2C3", aid="A0000000031010", cv="pin")
    return list(txn_receipt(FakeParams(), table("fr"), t, copy, ar=table("ar")))


def test_cp864_table_is_cpythons_code_page_with_the_nearest_forms():
    """Each presentation form visual() emits maps to its own CP864 byte when the code page has it, else
    to the nearest form it has (final -> isolated, medial -> initial -> isolated, hamza below -> alef)."""
    import unicodedata

    inv = {}
    for b in range(128, 256):
        try:
            inv[bytes([b]).decode("cp864")] = b
        except UnicodeDecodeError:
            pass
    own = 0
    for cp in range(0xFE80, 0xFEFD):
        got = _CP864[cp - 0xFE80]
        assert cp864(cp) == got
        if chr(cp) in inv:
            assert got == inv[chr(cp)], hex(cp)
            own += 1
            continue
        name = unicodedata.name(chr(cp))
        near = bytes([got]).decode("cp864")
        nname = unicodedata.name(near)
        base = name.replace(" WITH HAMZA BELOW", "").split(" FORM")[0].rsplit(" ", 1)[0]
        if "YEH WITH HAMZA ABOVE" in name:
            assert nname == "ARABIC LETTER YEH WITH HAMZA ABOVE INITIAL FORM", (hex(cp), nname)
        else:
            assert nname.startswith(base + " "), (hex(cp), name, nname)
            assert nname == name.replace(" WITH HAMZA BELOW", "") or nname.endswith("ISOLATED FORM") or \
                ("MEDIAL" in name and nname.endswith("INITIAL FORM")), (hex(cp), name, nname)
    assert own == 71                                    # the letter forms CP864 holds in U+FE80..U+FEFC


def test_bilingual_receipt_png(tmp_path):
    """The customer copy of a chip sale with receipt.bilingual, through the raster fallback: French lines
    in text mode, each followed by its Arabic words as a narrow GS v 0 image flush right, font16's dots;
    saved as bilingual-receipt.png (and the text-mode variant with CP864, bilingual-receipt-cp864.png)."""
    lines = bilingual_lines()
    u = Uart()
    Bilingual(EscPos(u)).print_lines(iter(lines))
    path = tmp_path / "bilingual-receipt.png"
    r = escpos_to_png(bytes(u.data), str(path))
    assert r.unknown == 0 and r.notes == [] and len(r.cuts) == 1
    w, h, rows = decode_png(path.read_bytes())
    assert (w, h) == (WIDTH, r.img.height) and rows == [bytes(x) for x in r.img.rows]
    arabic = [(a, s, x) for a, s, x in lines if "a" in s]
    images = []                                         # a big line's two bands are one image
    for im in r.images:
        last = images[-1] if images else None
        if last and (last[0], last[2], last[1] + last[3]) == (im[0], im[2], im[1]):
            images[-1] = (last[0], last[1], last[2], last[3] + im[3])
        else:
            images.append(im)
    assert len(images) == len(arabic) == 18
    for (x, y, dots, height), (align, style, text) in zip(images, arabic):
        v = visual(text)
        scale = 2 if style == "aB" else 1
        fw = font16.width(v, scale)
        assert dots == (fw + 7) // 8 * 8 and height == (40 if scale == 2 else 24), text
        if align == "r":
            assert x == WIDTH - dots, text
        else:
            assert x == (WIDTH - dots) // 2, text
        # the image holds font16's dots: flush right in it, on the printer cells' baseline
        x0 = x + dots - fw if align == "r" else x + (dots - fw) // 2
        assert black(rows, y, y + height, x, x + dots) == font_dots(v, x0, y + 4 + scale, scale), text
    # the French lines print as they do on a French receipt: the same text, the Arabic lines aside
    french = [ln for ln in lines if "a" not in ln[1]]
    got = []
    p = ImagePrinter(lambda text, raw, unknown: got.append(text))
    p.feed(bytes(u.data))
    u2 = Uart()
    EscPos(u2).print_lines(iter(french))
    plain = []
    ref = ImagePrinter(lambda text, raw, unknown: plain.append(text))
    ref.feed(bytes(u2.data))
    assert [ln for ln in got[0].splitlines() if not ln.startswith("[image")] == plain[0].splitlines()
    assert 2000 < path.stat().st_size < 40000
    # text mode: the printer's Arabic code page, no image at all
    u3 = Uart()
    Bilingual(EscPos(u3, arabic_codepage=37)).print_lines(iter(lines))
    r3 = escpos_to_png(bytes(u3.data), str(tmp_path / "bilingual-receipt-cp864.png"))
    assert r3.images == [] and r3.unknown == 0 and len(bytes(u3.data)) < len(bytes(u.data)) / 3
