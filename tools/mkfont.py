"""Build firmware/wasl/ui/font16.py, the terminal's 16-pixel bitmap font, from DejaVu Sans.

    python tools/mkfont.py [--out firmware/wasl/ui/font16.py] [--check] [--png preview.png]

Needs Pillow (not in the pinned .venv: use a throwaway venv, docs/arabic.md "The bitmap font"). The
glyph set is worked out, not listed by hand:
  - printable ASCII U+0020..U+007E, the Latin-1 letters of French and the guillemets (visual()
    mirrors them), U+200A (a 1-pixel space, to pad a line to an exact width in dots);
  - every code point wasl.ui.arabic.shape() can emit: each letter U+0600..U+06FF alone, after, before
    and between dual-joining letters, and after lam, shaped by the firmware's own module; what comes
    out in Arabic Presentation Forms-A/B (U+FB50..U+FEFC) is kept, with tatweel U+0640 (join-causing,
    kept as it is by shape());
  - the Arabic punctuation the translations use (U+060C comma, U+061B semicolon, U+061F question
    mark). Arabic-Indic digits are left out: the firmware prints Latin digits (docs/arabic.md).

Rendering: DejaVu Sans at 12.5 px per em, drawn 8x larger, box-filtered down to 1 pixel and cut at
100/255 (hinted 12 and 13 px renderings lost Arabic dots and hamzas, or did not fit 16 rows). Cells are
16 rows, the baseline under row 12 (13 rows above it, 3 below: the deepest Arabic descenders and the
hamza of U+0623 fit). A glyph is its advance wide (rounded, at most 16). Arabic joining forms get their
connecting stroke carried to the cell's edge on the rows tatweel occupies, so neighbours touch:
final forms join on the right (the letter before them, in display order, is to their right), initial
forms on the left, medial forms and tatweel on both sides.

The output is byte-for-byte reproducible from the same font file, Pillow and FreeType: the header
records all three, and host_tests/test_mkfont.py regenerates the file when they match.
"""
import argparse
import hashlib
import os
import sys
import unicodedata

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
OUT = os.path.join(ROOT, "firmware", "wasl", "ui", "font16.py")

HEIGHT = 16        # cell height, pixels
BASELINE = 13      # rows above the baseline
MAX_W = 16         # widest cell
SIZE = 12.5        # pixels per em
K = 8              # supersampling factor
THRESHOLD = 100    # of 255: a pixel at least this covered is ink

LATIN1 = "\u00c0\u00c2\u00c4\u00c7\u00c8\u00c9\u00ca\u00cb\u00ce\u00cf\u00d4\u00d6\u00d9\u00db\u00dc" \
         "\u00e0\u00e2\u00e4\u00e7\u00e8\u00e9\u00ea\u00eb\u00ee\u00ef\u00f4\u00f6\u00f9\u00fb\u00fc\u00ff" \
         "\u00ab\u00bb"
EXTRA = "\u200a"                        # hair space: 1 pixel, pads a line to an exact width
ARABIC_PUNCT = "\u060c\u061b\u061f"     # comma, semicolon, question mark
TATWEEL = 0x0640

# Alef wasla (U+0671) has no glyph in DejaVu Sans: its forms are drawn as plain alef.
SUBSTITUTE = {0xFB50: 0xFE8D, 0xFB51: 0xFE8E}

# The DejaVu fonts licence (https://dejavu-fonts.github.io/License.html), as the font data is derived
# from DejaVu Sans. It goes at the top of the generated module.
LICENSE = """\
Fonts are (c) Bitstream (see below). DejaVu changes are in public domain.
Glyphs imported from Arev fonts are (c) Tavmjong Bah (see below)

Bitstream Vera Fonts Copyright
------------------------------

Copyright (c) 2003 by Bitstream, Inc. All Rights Reserved. Bitstream Vera is
a trademark of Bitstream, Inc.

Permission is hereby granted, free of charge, to any person obtaining a copy
of the fonts accompanying this license ("Fonts") and associated
documentation files (the "Font Software"), to reproduce and distribute the
Font Software, including without limitation the rights to use, copy, merge,
publish, distribute, and/or sell copies of the Font Software, and to permit
persons to whom the Font Software is furnished to do so, subject to the
following conditions:

The above copyright and trademark notices and this permission notice shall
be included in all copies of one or more of the Font Software typefaces.

The Font Software may be modified, altered, or added to, and in particular
the designs of glyphs or characters in the Fonts may be modified and
additional glyphs or characters may be added to the Fonts, only if the fonts
are renamed to names not containing either the words "Bitstream" or the word
"Vera".

This License becomes null and void to the extent applicable to Fonts or Font
Software that has been modified and is distributed under the "Bitstream
Vera" names.

The Font Software may be sold as part of a larger software package but no
copy of one or more of the Font Software typefaces may be sold by itself.

THE FONT SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS
OR IMPLIED, INCLUDING BUT NOT LIMITED TO ANY WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT OF COPYRIGHT, PATENT,
TRADEMARK, OR OTHER RIGHT. IN NO EVENT SHALL BITSTREAM OR THE GNOME
FOUNDATION BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, INCLUDING
ANY GENERAL, SPECIAL, INDIRECT, INCIDENTAL, OR CONSEQUENTIAL DAMAGES,
WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF
THE USE OR INABILITY TO USE THE FONT SOFTWARE OR FROM OTHER DEALINGS IN THE
FONT SOFTWARE.

Except as contained in this notice, the names of Gnome, the Gnome
Foundation, and Bitstream Inc., shall not be used in advertising or
otherwise to promote the sale, use or other dealings in this Font Software
without prior written authorization from the Gnome Foundation or Bitstream
Inc., respectively. For further information, contact: fonts at gnome dot
org.

Arev Fonts Copyright
------------------------------

Copyright (c) 2006 by Tavmjong Bah. All Rights Reserved.

Permission is hereby granted, free of charge, to any person obtaining
a copy of the fonts accompanying this license ("Fonts") and
associated documentation files (the "Font Software"), to reproduce
and distribute the modifications to the Bitstream Vera Font Software,
including without limitation the rights to use, copy, merge, publish,
distribute, and/or sell copies of the Font Software, and to permit
persons to whom the Font Software is furnished to do so, subject to
the following conditions:

The above copyright and trademark notices and this permission notice
shall be included in all copies of one or more of the Font Software
typefaces.

The Font Software may be modified, altered, or added to, and in
particular the designs of glyphs or characters in the Fonts may be
modified and additional glyphs or characters may be added to the
Fonts, only if the fonts are renamed to names not containing either
the words "Tavmjong Bah" or the word "Arev".

This License becomes null and void to the extent applicable to Fonts
or Font Software that has been modified and is distributed under the
"Tavmjong Bah Arev" names.

The Font Software may be sold as part of a larger software package but
no copy of one or more of the Font Software typefaces may be sold by
itself.

THE FONT SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND,
EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO ANY WARRANTIES OF
MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT
OF COPYRIGHT, PATENT, TRADEMARK, OR OTHER RIGHT. IN NO EVENT SHALL
TAVMJONG BAH BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY,
INCLUDING ANY GENERAL, SPECIAL, INDIRECT, INCIDENTAL, OR CONSEQUENTIAL
DAMAGES, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING
FROM, OUT OF THE USE OR INABILITY TO USE THE FONT SOFTWARE OR FROM
OTHER DEALINGS IN THE FONT SOFTWARE.

Except as contained in this notice, the name of Tavmjong Bah shall not
be used in advertising or otherwise to promote the sale, use or other
dealings in this Font Software without prior written authorization
from Tavmjong Bah. For further information, contact: tavmjong @ free
. fr.
"""


# ---- the glyph set ----------------------------------------------------------------------------------

def _arabic_module():
    fw = os.path.join(ROOT, "firmware")
    if fw not in sys.path:
        sys.path.insert(0, fw)
    from wasl.ui import arabic
    return arabic


def shaped_forms():
    """Every code point wasl.ui.arabic.shape() emits for Arabic letters: presentation forms (U+FB50..
    U+FEFC, lam-alef included) and tatweel, sorted."""
    shape = _arabic_module().shape
    beh, lam = "\u0628", "\u0644"
    out = {TATWEEL}
    for c in range(0x0600, 0x0700):
        ch = chr(c)
        for s in (ch, beh + ch, ch + beh, beh + ch + beh, lam + ch, beh + lam + ch):
            out.update(ord(o) for o in shape(s) if 0xFB50 <= ord(o) <= 0xFEFC)
    return sorted(out)


def charset():
    """The font's code points, sorted."""
    cps = set(range(0x20, 0x7F))
    cps.update(ord(c) for c in LATIN1 + EXTRA + ARABIC_PUNCT)
    cps.update(shaped_forms())
    return sorted(cps)


def joins(c):
    """(joins on the left, joins on the right) of code point c's cell, in display order."""
    if c == TATWEEL:
        return True, True
    if not 0xFB50 <= c <= 0xFEFC:
        return False, False
    tag = unicodedata.decomposition(chr(c)).split(" ")[0]
    sides = {"<initial>": (True, False), "<medial>": (True, True), "<final>": (False, True)}
    return sides.get(tag, (False, False))


# ---- rendering --------------------------------------------------------------------------------------

def _font():
    from PIL import ImageFont
    return ImageFont.truetype(FONT, SIZE * K, layout_engine=ImageFont.Layout.BASIC)


def render(font, c):
    """(width, rows): the cell of code point c, rows as lists of 0/1 (HEIGHT rows, width columns)."""
    from PIL import Image, ImageDraw
    ch = chr(SUBSTITUTE.get(c, c))
    adv = font.getlength(ch) / K
    w = max(1, min(MAX_W, int(adv + 0.5)))
    pad = 4 * K
    img = Image.new("L", (w * K + 2 * pad, HEIGHT * K + 2 * pad), 0)
    ImageDraw.Draw(img).text((pad, pad + BASELINE * K), ch, font=font, fill=255, anchor="ls")
    cell = img.crop((pad, pad, pad + w * K, pad + HEIGHT * K)).resize((w, HEIGHT), Image.BOX)
    px = cell.load()
    return w, [[1 if px[x, y] >= THRESHOLD else 0 for x in range(w)] for y in range(HEIGHT)]


def join_rows(font):
    """The rows tatweel inks: the connecting stroke every joining form shares."""
    _, rows = render(font, TATWEEL)
    return [y for y in range(HEIGHT) if any(rows[y])]


def carry_joins(c, w, rows, jrows):
    """Carry the connecting stroke of a joining form to the cell's edges on the rows `jrows`: from the
    edge to the first ink on those rows. Returns the number of pixels added."""
    left, right = joins(c)
    added = 0
    for side, on in ((0, left), (1, right)):
        if not on:
            continue
        xs = range(w) if side == 0 else range(w - 1, -1, -1)
        if any(rows[y][xs[0]] for y in jrows):
            continue
        stop = next((i for i, x in enumerate(xs) if any(rows[y][x] for y in jrows)), None)
        if stop is None:
            raise SystemExit("U+%04X: no stroke on the joining rows %s" % (c, jrows))
        for y in jrows:
            for x in xs[:stop]:
                rows[y][x] = 1
                added += 1
    return added


def build(font):
    """[(code point, width, rows)] for the whole set, joins carried."""
    jrows = join_rows(font)
    glyphs = []
    for c in charset():
        w, rows = render(font, c)
        carry_joins(c, w, rows, jrows)
        glyphs.append((c, w, rows))
    return glyphs, jrows


# ---- packing ----------------------------------------------------------------------------------------

def pack(glyphs):
    """(_CODES, _GLYPHS, _BITS) bytes: code points 2 bytes big-endian; per glyph width, top << 4 |
    rows - 1, offset (2 bytes big-endian) into the bits; the inked rows, 1 byte each for a width up to
    8, else 2, most significant bit leftmost."""
    codes, meta, bits = bytearray(), bytearray(), bytearray()
    for c, w, rows in glyphs:
        inked = [y for y in range(HEIGHT) if any(rows[y])]
        top, n = (inked[0], inked[-1] - inked[0] + 1) if inked else (0, 1)
        if len(bits) > 0xFFFF:
            raise SystemExit("glyph data over 64 KB")
        codes += c.to_bytes(2, "big")
        meta += bytes((w, top << 4 | (n - 1))) + len(bits).to_bytes(2, "big")
        nb = 1 if w <= 8 else 2
        for y in range(top, top + n):
            v = 0
            for x in range(w):
                v |= rows[y][x] << (8 * nb - 1 - x)
            bits += v.to_bytes(nb, "big")
    return bytes(codes), bytes(meta), bytes(bits)


def _literal(name, data, comment, width=96):
    """A parenthesised run of b"..." lines: printable ASCII as itself, the rest as \\xNN."""
    parts, line = [], ""
    for b in data:
        s = chr(b) if 0x20 <= b < 0x7F and b not in (0x22, 0x5C) else "\\x%02x" % b
        if len(line) + len(s) > width:
            parts.append(line)
            line = ""
        line += s
    if line or not parts:
        parts.append(line)
    body = "\n".join('    b"%s"' % p for p in parts)
    return "# %s\n%s = (\n%s\n)\n" % (comment, name, body)


def _ranges(cps):
    out, start, prev = [], None, None
    for c in cps + [None]:
        if c is not None and prev is not None and c == prev + 1:
            prev = c
            continue
        if start is not None:
            out.append("%04X" % start if start == prev else "%04X..%04X" % (start, prev))
        start = prev = c
    return out


RUNTIME = '''\
try:
    from micropython import const
except ImportError:
    def const(x):
        return x

HEIGHT = const(%(height)d)     # cell height, pixels
BASELINE = const(%(baseline)d)   # rows above the baseline: letters stand on row %(baseline_row)d
_QMARK = const(%(qmark)d)     # glyph index of '?', drawn for a character the font lacks


def find(c):
    """Glyph index of code point c, or -1 (binary search in _CODES)."""
    t = _CODES
    lo = 0
    hi = len(t) >> 1
    while lo < hi:
        mid = (lo + hi) >> 1
        k = t[mid << 1] << 8 | t[(mid << 1) + 1]
        if k < c:
            lo = mid + 1
        elif k > c:
            hi = mid
        else:
            return mid
    return -1


def lookup(c):
    """Glyph index of code point c; '?' when the font lacks it."""
    i = find(c)
    return _QMARK if i < 0 else i


def _mark(c):
    """Harakat and superscript alef: drawn as nothing (visual() drops them unless marks=True)."""
    return 0x64B <= c <= 0x65F or c == 0x670


def advance(i):
    """Width in pixels of glyph i."""
    return _GLYPHS[i << 2]


def glyph(fb, i, x, y, color=1, scale=1):
    """Draw glyph i with its cell's top-left corner at (x, y), each pixel scale x scale; only ink is
    drawn (one fill_rect per run of ink in a row; framebuf clips). Returns the advance."""
    g = _GLYPHS
    k = i << 2
    w = g[k]
    n = (g[k + 1] & 15) + 1
    o = g[k + 2] << 8 | g[k + 3]
    y += (g[k + 1] >> 4) * scale
    bits = _BITS
    wide = w > 8
    top = 15 if wide else 7
    for _ in range(n):
        v = bits[o]
        o += 1
        if wide:
            v = v << 8 | bits[o]
            o += 1
        col = 0
        while v:
            if v >> (top - col) & 1:
                e = col + 1
                while e < w and v >> (top - e) & 1:
                    e += 1
                fb.fill_rect(x + col * scale, y, (e - col) * scale, scale, color)
                v &= (1 << (top + 1 - e)) - 1
                col = e
            else:
                col += 1
        y += scale
    return w * scale


def width(text, scale=1):
    """Width in pixels of text drawn by draw()."""
    n = 0
    for ch in text:
        c = ord(ch)
        if not _mark(c):
            n += _GLYPHS[lookup(c) << 2]
    return n * scale


def draw(fb, text, x, y, color=1, scale=1):
    """Draw text, already in display order (wasl.ui.arabic.visual), left to right from (x, y) (the
    top-left corner of its 16-row cells) into a framebuf.FrameBuffer. A character the font lacks is
    drawn as '?'. Returns the width drawn."""
    x0 = x
    for ch in text:
        c = ord(ch)
        if not _mark(c):
            x += glyph(fb, lookup(c), x, y, color, scale)
    return x - x0
'''


def source(glyphs, jrows, versions):
    codes, meta, bits = pack(glyphs)
    cps = [c for c, _, _ in glyphs]
    widths = [w for _, w, _ in glyphs]
    lic = "\n".join(("#   " + ln).rstrip() for ln in LICENSE.splitlines())
    head = (
        "# font16: the terminal's 16-pixel bitmap font, Latin and Arabic, for the graphic displays and the\n"
        "# raster receipts (wasl.ui.glyphs plugs it into both). Text goes in already in display order:\n"
        "# shaped and reordered by wasl.ui.arabic.visual(). The font only draws cells left to right.\n"
        "#\n"
        "#   find(c) / lookup(c)        glyph index of a code point (-1 / '?' when missing)\n"
        "#   glyph(fb, i, x, y, color, scale)   one glyph, its cell's top-left at (x, y); returns its width\n"
        "#   draw(fb, text, x, y, color=1, scale=1)   a string; returns the width drawn\n"
        "#   width(text, scale=1)       the width draw() would take\n"
        "#\n"
        "# GENERATED by tools/mkfont.py: do not edit, run it again. Data as bytes constants (they stay in\n"
        "# flash frozen or in a ROMFS image): %d glyphs, %d bytes (_CODES %d, _GLYPHS %d, _BITS %d).\n"
        "# Cells %d rows high, %d to %d pixels wide, baseline under row %d; Arabic joining forms carry\n"
        "# their connecting stroke to the cell edge on row(s) %s, so joined letters touch.\n"
        "# Source: DejaVu Sans (%s, sha256 %s), %s px, %dx supersampled, threshold %d/255;\n"
        "# %s.\n"
        "# Alef wasla U+FB50/FB51 is drawn as plain alef (DejaVu Sans has no U+0671).\n"
        "# Code points:\n%s\n"
        "#\n"
        "# The glyphs are derived from the DejaVu Sans font. Its licence:\n"
        "#\n%s\n"
    ) % (len(glyphs), len(codes) + len(meta) + len(bits), len(codes), len(meta), len(bits),
         HEIGHT, min(widths), max(widths), BASELINE - 1, ",".join(str(y) for y in jrows),
         os.path.basename(FONT), versions["font_sha256"][:16], SIZE, K, THRESHOLD, versions["renderer"],
         _wrap(" ".join(_ranges(cps)), 98, "#   "), lic)
    qmark = cps.index(0x3F)
    data = (_literal("_CODES", codes, "code points, sorted, 2 bytes each, big-endian")
            + "\n" + _literal("_GLYPHS", meta, "per glyph 4 bytes: width, top row << 4 | rows - 1, "
                                                "offset in _BITS (2 bytes, big-endian)")
            + "\n" + _literal("_BITS", bits, "each glyph's inked rows, top down: 1 byte a row (width <= 8) "
                                             "or 2, most significant bit leftmost, 1 = ink"))
    runtime = RUNTIME % {"height": HEIGHT, "baseline": BASELINE, "baseline_row": BASELINE - 1, "qmark": qmark}
    return head + runtime + "\n\n" + data


def _wrap(text, width, prefix):
    """text as comment lines of at most `width` characters, each starting with `prefix`."""
    lines, line = [], ""
    for word in text.split(" "):
        if line and len(prefix) + len(line) + 1 + len(word) > width:
            lines.append(prefix + line)
            line = word
        else:
            line = word if not line else line + " " + word
    lines.append(prefix + line)
    return "\n".join(lines)


def versions():
    import PIL
    from PIL import features
    with open(FONT, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    return {"font_sha256": digest,
            "renderer": "Pillow %s, FreeType %s" % (PIL.__version__, features.version("freetype2"))}


def preview(glyphs, path, lines=None):
    """A PNG of every glyph (4x, one cell per glyph on a grey grid) and of sample lines."""
    from PIL import Image
    cols, s = 24, 4
    n = len(glyphs)
    nrows = (n + cols - 1) // cols
    extra = lines or []
    img = Image.new("L", ((MAX_W + 1) * cols * s, ((HEIGHT + 1) * (nrows + len(extra))) * s), 200)
    def dot(x, y, ink):
        img.paste(0 if ink else 255, (x * s, y * s, (x + 1) * s, (y + 1) * s))

    for i, (_, w, rows) in enumerate(glyphs):
        ox, oy = (i % cols) * (MAX_W + 1), (i // cols) * (HEIGHT + 1)
        for y in range(HEIGHT):
            for x in range(w):
                dot(ox + x, oy + y, rows[y][x])
    by_cp = {c: (w, rows) for c, w, rows in glyphs}
    for k, text in enumerate(extra):
        oy, ox = (nrows + k) * (HEIGHT + 1), 0
        for ch in text:
            w, rows = by_cp.get(ord(ch), by_cp[0x3F])
            for y in range(HEIGHT):
                for x in range(w):
                    if ox + x < cols * (MAX_W + 1):
                        dot(ox + x, oy + y, rows[y][x])
            ox += w
    img.save(path)


def generate():
    font = _font()
    glyphs, jrows = build(font)
    return source(glyphs, jrows, versions()), glyphs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=OUT)
    ap.add_argument("--check", action="store_true", help="exit 1 if --out differs from what would be written")
    ap.add_argument("--png", help="also write a preview PNG of the glyphs and a few lines")
    args = ap.parse_args(argv)
    text, glyphs = generate()
    if args.png:
        visual = _arabic_module().visual
        preview(glyphs, args.png, [visual(s) for s in (
            "PHARMACIE EL AMEL", "Montant: 125,00 DZD", "\u00c9t\u00e9 \u00e0 Alger, re\u00e7u",
            "\u0645\u0642\u0628\u0648\u0644\u0629", "\u0627\u0644\u0645\u0628\u0644\u063a: 125,00 DZD",
            "\u0635\u064a\u062f\u0644\u064a\u0629 \u0627\u0644\u0623\u0645\u0644",
            "\u0623\u062f\u062e\u0644 \u0627\u0644\u0631\u0642\u0645 \u0627\u0644\u0633\u0631\u064a")])
    if args.check:
        try:
            with open(args.out, encoding="utf-8") as f:
                same = f.read() == text
        except OSError:
            same = False
        print("%s is %s" % (args.out, "up to date" if same else "OUT OF DATE"))
        return 0 if same else 1
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    print("wrote %s: %d glyphs, %d bytes of source" % (args.out, len(glyphs), len(text.encode())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
