"""ESC/POS bytes -> a PNG of the paper, with the standard library only (zlib and struct).

    python -m tools.receipt_png var/sim/receipts/0001.escpos -o receipt.png [--scale 2]

The paper is rendered by tools/virtual/escpos_image.py (384 dots wide, font A cells, raster images
placed exactly, cut marks); the PNG is 1-bit greyscale, one pixel per printer dot (times --scale),
black ink on white. For the harness: save_receipt(receipt, base) writes base.txt and base.png for one
receipt as tools/simlink.py keeps them ({"text", "escpos", ...}); save_receipts(receipts, directory)
does every receipt of a run.
"""
import argparse
import os
import struct
import sys
import zlib

from tools.virtual.escpos_image import WIDTH, render

_INVERT = bytes(255 - i for i in range(256))     # image: 1 = black; PNG greyscale: 0 = black


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bytes(width, rows, scale=1):
    """A 1-bit greyscale PNG of `rows` (bytes-like, MSB leftmost, 1 = black, (width + 7) // 8 bytes
    each), every dot scale x scale pixels. An empty image becomes one white row."""
    wb = (width + 7) // 8
    rows = list(rows) or [bytes(wb)]
    table = None
    if scale > 1:
        table = [int("".join(c * scale for c in format(b, "08b")), 2).to_bytes(scale, "big")
                 for b in range(256)]
    raw = bytearray()
    for row in rows:
        row = bytes(row[:wb]).ljust(wb, b"\0")
        if table:
            row = b"".join(table[b] for b in row)[:(width * scale + 7) // 8]
        line = b"\0" + row.translate(_INVERT)     # filter type 0 (None)
        for _ in range(scale):
            raw += line
    w, h = width * scale, len(rows) * scale
    ihdr = struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0)   # bit depth 1, greyscale, deflate, no interlace
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(bytes(raw), 9))
            + _chunk(b"IEND", b""))


def escpos_to_png(data, path, scale=1, width=WIDTH):
    """Render ESC/POS bytes and write the PNG; returns the Renderer."""
    r = render(data, width)
    with open(path, "wb") as f:
        f.write(png_bytes(r.img.width, r.img.rows, scale))
    return r


def save_receipt(receipt, base, scale=1):
    """One printed receipt ({"text", "escpos"} as tools/simlink.py keeps it) as base.txt and base.png.
    Returns (txt path, png path)."""
    d = os.path.dirname(base)
    if d:
        os.makedirs(d, exist_ok=True)
    with open(base + ".txt", "w", encoding="utf-8") as f:
        f.write(receipt["text"])
        if receipt["text"] and not receipt["text"].endswith("\n"):
            f.write("\n")
    escpos_to_png(bytes(receipt["escpos"]), base + ".png", scale)
    return base + ".txt", base + ".png"


def save_receipts(receipts, directory, prefix="receipt", scale=1):
    """Every receipt of a run as <directory>/<prefix>-NN.txt and .png (NN from 01); returns the bases."""
    bases = []
    for i, rec in enumerate(receipts, 1):
        base = os.path.join(directory, "%s-%02d" % (prefix, i))
        save_receipt(rec, base, scale)
        bases.append(base)
    return bases


def main(argv=None):
    ap = argparse.ArgumentParser(description="Render ESC/POS bytes (a 58 mm receipt) to a PNG.")
    ap.add_argument("input", help="raw ESC/POS bytes (e.g. var/sim/receipts/0001.escpos); - for stdin")
    ap.add_argument("-o", "--output", help="PNG to write (default: the input with .png)")
    ap.add_argument("--scale", type=int, default=1, help="pixels per printer dot (default 1)")
    ap.add_argument("--width", type=int, default=WIDTH, help="dots a line (default 384: 58 mm paper)")
    a = ap.parse_args(argv)
    if a.input == "-":
        data = sys.stdin.buffer.read()
    else:
        with open(a.input, "rb") as f:
            data = f.read()
    out = a.output or (os.path.splitext(a.input)[0] + ".png" if a.input != "-" else "receipt.png")
    if a.scale < 1:
        ap.error("--scale must be at least 1")
    r = escpos_to_png(data, out, a.scale, a.width)
    print("%s: %d x %d dots, %d bytes of ESC/POS, %d raster images, %d cuts, %d unknown commands"
          % (out, r.img.width, r.img.height, len(data), len(r.images), len(r.cuts), r.unknown))
    for n in r.notes:
        print("note: " + n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
