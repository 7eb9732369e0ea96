"""tools/receipt_png.py and tools/virtual/escpos_image.py: ESC/POS bytes -> paper image -> PNG, decoded
back here with zlib alone. Receipts come from a real scenario run (the approved sale) and from the
firmware's own drivers (EscPos text, escpos_raster) writing into a fake UART."""
import json
import os
import struct
import subprocess
import sys
import zlib

import pytest

from tools.receipt_png import png_bytes, save_receipt, save_receipts
from tools.virtual.escpos_image import CELL_W, LINE_SPACING, ImagePrinter, render
from tools.virtual.printer import VirtualPrinter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _p in (os.path.join(ROOT, "host_tests", "cpython_shims"), os.path.join(ROOT, "firmware")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from wasl.drivers.escpos import EscPos                 # noqa: E402  (firmware, on CPython)
from wasl.drivers.escpos_raster import Raster          # noqa: E402


class Uart:
    def __init__(self):
        self.data = bytearray()

    def write(self, b):
        self.data += bytes(b)
        return len(b)

    def flush(self):
        pass


def decode_png(blob):
    """(width, height, rows): rows of bytes, MSB leftmost, 1 = black. Checks the signature, every
    chunk's CRC, the header (1-bit greyscale, no interlace) and that every row uses filter 0."""
    assert blob[:8] == b"\x89PNG\r\n\x1a\n"
    i, idat, ihdr, kinds = 8, b"", None, []
    while i < len(blob):
        n, = struct.unpack(">I", blob[i:i + 4])
        kind, data = blob[i + 4:i + 8], blob[i + 8:i + 8 + n]
        crc, = struct.unpack(">I", blob[i + 8 + n:i + 12 + n])
        assert zlib.crc32(kind + data) & 0xFFFFFFFF == crc, kind
        kinds.append(kind)
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", data)
        elif kind == b"IDAT":
            idat += data
        i += 12 + n
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND"
    w, h, depth, colour, comp, filt, interlace = ihdr
    assert (depth, colour, comp, filt, interlace) == (1, 0, 0, 0, 0)
    raw = zlib.decompress(idat)
    wb = (w + 7) // 8
    assert len(raw) == h * (wb + 1)
    rows = []
    for y in range(h):
        line = raw[y * (wb + 1):(y + 1) * (wb + 1)]
        assert line[0] == 0
        rows.append(bytes(255 - b for b in line[1:]))
    return w, h, rows


def px(rows, x, y):
    return 1 if rows[y][x >> 3] & (0x80 >> (x & 7)) else 0


def ink_box(rows, y0=0, y1=None):
    """(dots, xmin, xmax, ymin, ymax) of the black dots in rows[y0:y1]."""
    n, xs, ys = 0, [], []
    for y in range(y0, len(rows) if y1 is None else y1):
        row = rows[y]
        for i, b in enumerate(row):
            if b:
                for k in range(8):
                    if b & (0x80 >> k):
                        n += 1
                        xs.append(i * 8 + k)
                        ys.append(y)
    return (n, min(xs), max(xs), min(ys), max(ys)) if n else (0, None, None, None, None)


def png_of(data, tmp_path, name="r.png"):
    r = render(bytes(data))
    path = tmp_path / name
    path.write_bytes(png_bytes(r.img.width, r.img.rows))
    return r, decode_png(path.read_bytes())


# ---- the PNG writer -------------------------------------------------------------------------------

def test_png_round_trip_and_scale():
    rows = [bytes([0b10110000, 0b00000001]), bytes([0xFF, 0x80]), bytes(2)]
    w, h, got = decode_png(png_bytes(13, rows))        # 13 dots: the pad bits of each row are ignored
    assert (w, h) == (13, 3)
    for y in range(3):
        for x in range(13):
            assert px(got, x, y) == px(rows, x, y), (x, y)
    w, h, big = decode_png(png_bytes(13, rows, scale=3))
    assert (w, h) == (39, 9)
    for y in range(9):
        for x in range(39):
            assert px(big, x, y) == px(rows, x // 3, y // 3), (x, y)
    assert decode_png(png_bytes(16, []))[:2] == (16, 1)   # nothing printed: one white row


# ---- a real receipt, from a scenario run -------------------------------------------------------------

@pytest.fixture(scope="module")
def scenario_receipts(tmp_path_factory):
    from tools.scenario import Run

    with open(os.path.join(ROOT, "host_tests", "scenarios", "sale_approved.json")) as f:
        sc = json.load(f)
    run = Run(sc, str(tmp_path_factory.mktemp("sale")))
    summary = run.run()
    assert summary["passed"], summary
    assert len(run.fw.receipts) == 2
    return run.fw.receipts


def test_scenario_receipt_png(scenario_receipts, tmp_path):
    rec = scenario_receipts[0]
    txt, png = save_receipt(rec, str(tmp_path / "out" / "0001"))
    with open(txt, encoding="utf-8") as f:
        assert f.read().rstrip("\n") == rec["text"]
    with open(png, "rb") as f:
        w, h, rows = decode_png(f.read())
    r = render(rec["escpos"])
    assert w == 384 and h == r.img.height and r.unknown == 0 and r.notes == [] and len(r.cuts) == 1
    lines = rec["text"].split("\n")
    assert h > len(lines) * 24                          # at least a cell's height a line
    # the cut mark: a dashed line across the paper, the last thing on it
    cut = r.cuts[0]
    assert [px(rows, x, cut) for x in range(16)] == [1, 1, 1, 1, 0, 0, 0, 0] * 2
    assert ink_box(rows, cut + 1)[0] == 0
    # the merchant's name is centred (style "b"): its ink is centred on the paper
    n, x0, x1, y0, y1 = ink_box(rows, 0, 24)
    assert abs((x0 + x1) - 383) <= CELL_W and y0 >= 4 and y1 < 24
    # label/value lines ("TID ... WASL0001") reach from the left edge of the paper to the right one
    edges = [ink_box(rows, y, y + 24)[1:3] for y in range(0, cut - 24, LINE_SPACING)]
    assert len([1 for x0, x1 in edges if x0 is not None and x0 < 4 and x1 > 384 - 6]) >= 5
    save_receipts(scenario_receipts, str(tmp_path / "all"))
    assert sorted(os.listdir(tmp_path / "all")) == ["receipt-01.png", "receipt-01.txt",
                                                    "receipt-02.png", "receipt-02.txt"]


# ---- text styles ---------------------------------------------------------------------------------

def test_bold_and_double_size_are_wider(tmp_path):
    def one(**kw):
        u = Uart()
        p = EscPos(u)
        p.begin()
        p.line("TOTAL", "l", **kw)
        return png_of(u.data, tmp_path)[1][2]

    plain, bold, big = one(), one(bold=True), one(bold=True, big=True)
    n0, a0, b0, y0, z0 = ink_box(plain)
    n1, a1, b1, y1, z1 = ink_box(bold)
    n2, a2, b2, y2, z2 = ink_box(big)
    assert n1 > n0 and b1 > b0 and a1 == a0 and (y1, z1) == (y0, z0)
    assert b2 - a2 > 1.9 * (b1 - a1) and z2 - y2 > 1.9 * (z1 - y1)
    assert len(big) >= 48 > len(plain) - 1


def test_alignment_and_wrap(tmp_path):
    u = Uart()
    p = EscPos(u)
    p.begin()
    p.line("AB", "l")
    p.line("AB", "c")
    p.line("AB", "r")
    p.line("X" * 40, "l")                               # 40 cells: 32 on one line, 8 on the next
    r, (w, h, rows) = png_of(u.data, tmp_path)
    boxes = [ink_box(rows, k * LINE_SPACING, k * LINE_SPACING + 24) for k in range(5)]
    assert boxes[0][1] < 2 and boxes[0][2] < 24
    assert 192 - 12 <= boxes[1][1] and boxes[1][2] < 192 + 12
    assert boxes[2][1] >= 384 - 24 and boxes[2][2] >= 384 - 3
    assert boxes[3][2] >= 384 - 3 and boxes[4][2] < 8 * CELL_W


def test_unknown_commands_counted_status_queries_silent():
    r = render(b"\x1b@\x10\x04\x01\x10\x04\x04AB\n\x1b\x99\x1d\x99CD\n")
    assert r.unknown == 2
    plain = render(b"\x1b@AB\nCD\n")
    assert r.img.rows == plain.img.rows                 # DLE EOT prints nothing; unknowns skipped


# ---- raster --------------------------------------------------------------------------------------

def test_raster_pixels_land_where_the_bytes_say(tmp_path):
    u = Uart()
    EscPos(u).begin()
    EscPos(u).line("HEAD")                              # one line of text: 30 dots
    img = bytearray(48 * 40)
    for y in range(40):                                 # a diagonal, a frame, a checker patch
        img[y * 48 + y // 8] |= 0x80 >> (y % 8)
        img[y * 48 + 47] |= 0x01
        if y in (0, 39):
            img[y * 48:(y + 1) * 48] = b"\xff" * 48
        if 10 <= y < 20:
            img[y * 48 + 20] = 0xAA if y % 2 else 0x55
    Raster(u, rows=16).bitmap(img, 384, 40)             # 3 bands: 16 + 16 + 8 rows
    EscPos(u).cut()
    r, (w, h, rows) = png_of(u.data, tmp_path)
    assert r.unknown == 0 and r.notes == []
    assert [im[:2] for im in r.images] == [(0, 30), (0, 46), (0, 62)]
    for y in range(40):
        assert rows[30 + y] == bytes(img[y * 48:(y + 1) * 48]), y
    assert ink_box(rows, 0, 30)[4] < 30                 # the text stayed above


def test_raster_logo_round_trip(tmp_path):
    w, h = 203, 57                                      # not a multiple of 8: pad bits in each row
    wb = (w + 7) // 8
    logo = bytearray(wb * h)
    for y in range(h):
        for x in range(w):
            if (x * x + 3 * y * y) % 17 < 6 or x in (0, w - 1) or y in (0, h - 1):
                logo[y * wb + x // 8] |= 0x80 >> (x % 8)
        logo[y * wb + wb - 1] |= 0x1F                   # junk in the pad bits: must not print
    path = tmp_path / "logo.pbm"
    path.write_bytes(b"P4\n# logo\n%d %d\n" % (w, h) + bytes(logo))
    u = Uart()
    EscPos(u).begin()
    assert Raster(u).logo(str(path), align="c") == (w, h)
    EscPos(u).cut()
    r, (pw, ph, rows) = png_of(u.data, tmp_path)
    off = (48 - wb) // 2 * 8                            # centred by whole bytes
    assert r.images[0][:2] == (0, 0) and len(r.images) == 3     # 24 + 24 + 9 rows
    for y in range(h):
        for x in range(384):
            want = 1 if off <= x < off + w and px([logo[y * wb:(y + 1) * wb]], x - off, 0) else 0
            assert px(rows, x, y) == want, (x, y)
    assert ink_box(rows, h, r.cuts[0])[0] == 0


def test_raster_text_looks_like_text_mode(tmp_path):
    lines = [("l", "", "TID                     WASL0001"), ("c", "b", "PHARMACIE EL AMEL"),
             ("r", "", "125,00 DZD"), ("l", "b", "Merci, a bientot!")]
    u = Uart()
    EscPos(u).print_lines(iter(lines))
    _, (_, _, text_rows) = png_of(u.data, tmp_path, "t.png")
    u = Uart()
    Raster(u).print_lines(iter(lines))
    r, (_, _, raster_rows) = png_of(u.data, tmp_path, "r.png")
    assert r.unknown == 0 and r.notes == [] and len(r.images) == len(lines)
    for k in range(len(lines)):                         # same dots; lines 30 dots apart vs 24
        assert text_rows[k * LINE_SPACING:k * LINE_SPACING + 24] == raster_rows[k * 24:k * 24 + 24], lines[k]


# ---- the harness's printer with raster ------------------------------------------------------------

def test_image_printer_keeps_text_and_knows_raster():
    cuts = []
    for cls in (VirtualPrinter, ImagePrinter):
        u = Uart()
        EscPos(u).print_lines(iter([("c", "B", "SHOP"), ("l", "", "A"), ("r", "b", "9,99")]))
        p = cls(lambda *a: cuts.append(a))
        for i in range(0, len(u.data), 7):             # in pieces, as the UART delivers them
            p.feed(u.data[i:i + 7])
    assert cuts[0] == cuts[1]                           # text receipts: the same as before
    u = Uart()
    EscPos(u).begin()
    EscPos(u).line("HEAD")
    u.data += b"\x10\x04\x01"
    Raster(u).text("RASTER LINE")
    Raster(u).text("second")
    EscPos(u).line("TAIL")
    EscPos(u).cut()
    got = []
    p = ImagePrinter(lambda *a: got.append(a))
    for i in range(0, len(u.data), 100):
        p.feed(u.data[i:i + 100])
    text, raw, unknown = got[0]
    assert text.split("\n") == ["HEAD", "[image 384x48]", "TAIL"]
    assert raw == bytes(u.data) and unknown == 0


def test_cli(tmp_path):
    u = Uart()
    EscPos(u).print_lines(iter([("c", "B", "WASL"), ("l", "", "hello")]))
    src = tmp_path / "in.bin"
    src.write_bytes(bytes(u.data))
    out = tmp_path / "out.png"
    res = subprocess.run([sys.executable, "-m", "tools.receipt_png", str(src), "-o", str(out), "--scale", "2"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert "0 unknown commands" in res.stdout and "1 cuts" in res.stdout
    w, h, rows = decode_png(out.read_bytes())
    assert w == 768 and h == 2 * render(bytes(u.data)).img.height
