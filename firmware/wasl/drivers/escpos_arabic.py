# Bilingual (French + Arabic) receipts on the ESC/POS printer. The Latin lines go out in text mode
# through the resident driver (escpos.py); each Arabic line is shaped and laid out right to left
# (wasl.ui.arabic.visual), then sent either
#   - as text in the printer's Arabic code page, CP864 (ESC t n, n = EscPos.arabic_codepage: a board
#     fact, it differs by model), one byte a glyph through _CP864 below; or
#   - as a GS v 0 raster image drawn with the terminal's 16-dot font (wasl.ui.font16), only as wide
#     as the text, placed by ESC a: the fallback, and the usual case.
# Raster lines are drawn one band at a time into one buffer (made on the first Arabic line) and
# streamed to the UART. escpos_raster is not needed for this (it would cost its import): the lines are
# font16 only. Loaded only while a receipt prints, dropped afterwards.
#
# Lines are the receipts' (align, style, text) (wasl.txn.receipt); a style holding "a" marks an
# Arabic line, its text in logical order (lang_ar): "a" normal, "aB" double size.
import framebuf

from wasl.ui.arabic import visual

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

_ESC = const(0x1B)
_GS = const(0x1D)
_WIDTH = const(384)     # dots a line on 58 mm paper
_BAND = const(24)       # rows of the raster band buffer (1,152 bytes): one GS v 0 at most this high
_PAD = const(4)         # blank rows above and below an Arabic line, as escpos_raster's text lines

# CP864 byte of each presentation form U+FE80..U+FEFC (visual()'s output). CP864 lacks 48 of them (most
# finals and medials, alef with hamza below): those take the nearest form the code page has, as CP864
# printers expect: final -> isolated, medial -> initial -> isolated, hamza below -> plain alef.
# host_tests/fw/test_escpos_arabic.py rebuilds this table from CPython's cp864 codec.
_CP864 = (b"\xc1\xc2\xa2\xc3\xa5\xc4\xc4\xc7\xa8\xc6\xc6\xc6\xc6\xc7\xa8\xa9\xa9\xc8\xc8\xc9\xc9\xaa\xaa"
          b"\xca\xca\xab\xab\xcb\xcb\xad\xad\xcc\xcc\xae\xae\xcd\xcd\xaf\xaf\xce\xce\xcf\xcf\xd0\xd0\xd1"
          b"\xd1\xd2\xd2\xbc\xbc\xd3\xd3\xbd\xbd\xd4\xd4\xbe\xbe\xd5\xd5\xeb\xeb\xd6\xd6\xd7\xd7\xd7\xd7"
          b"\xd8\xd8\xd8\xd8\xdf\xc5\xd9\xec\xee\xed\xda\xf7\xba\xba\xe1\xe1\xf8\xf8\xe2\xe2\xfc\xfc\xe3"
          b"\xe3\xfb\xfb\xe4\xe4\xef\xef\xe5\xe5\xf2\xf2\xe6\xe6\xf3\xf3\xe7\xf4\xe8\xe8\xe9\xf5\xfd\xf6"
          b"\xea\xea\xf9\xfa\x99\x9a\x9d\x9e\x9d\x9e")


def cp864(c):
    """The CP864 byte for code point c of a visual() line ("?" for what the code page cannot show)."""
    if c < 0x80:
        return c
    if 0xFE80 <= c <= 0xFEFC:
        return _CP864[c - 0xFE80]
    if c == 0xFBE8 or c == 0xFBE9:          # alef maksura initial / medial: CP864 has the yeh form
        return 0xEA
    if c == 0x060C:                         # Arabic comma, semicolon, question mark, tatweel
        return 0xAC
    if c == 0x061B:
        return 0xBB
    if c == 0x061F:
        return 0xBF
    if c == 0x0640:
        return 0xE0
    return 0x3F


class Bilingual:
    """printer.print_lines() for receipts that hold Arabic lines; printer: the board's EscPos."""

    def __init__(self, printer):
        self.p = printer
        self.cp = printer.arabic_codepage
        self._buf = None                        # the raster band, made on the first Arabic line, kept
                                                # for the next copy
        self._line = bytearray(printer.cols)    # one code-page line
        self._hdr = bytearray(b"\x1dv0\x00\x00\x00\x00\x00")   # GS v 0 m xL xH yL yH

    def print_lines(self, lines):
        p = self.p
        p.begin()
        for align, style, text in lines:
            if "a" in style:
                self.arabic(text, align, "B" in style)
            else:
                p.line(text, align, bold=bool(style), big=style == "B")
        p.cut()

    def arabic(self, text, align="r", big=False):
        """One Arabic line (logical order): shaped, right to left, in the code page or as raster."""
        if self.cp is None:
            self.raster(visual(text), align, big)
        else:
            self.codepage(visual(text), align, big)

    def codepage(self, v, align, big):
        p = self.p
        buf = self._line
        n = min(len(v), len(buf) >> 1 if big else len(buf))
        if len(v) > n:
            v = v[len(v) - n:]                  # too long: the line's logical end (its left) is cut
        for i in range(n):
            buf[i] = cp864(ord(v[i]))
        p._w3(_ESC, 0x74, self.cp)              # ESC t n: CP864
        p._w3(_ESC, 0x61, 1 if align == "c" else 0 if align == "l" else 2)
        p._w3(_ESC, 0x45, 0)
        p._w3(_GS, 0x21, 0x11 if big else 0)
        p.uart.write(memoryview(buf)[:n])
        p.uart.write(b"\n")
        p._w3(_ESC, 0x74, p.codepage or 0)      # back to the Latin code page

    def raster(self, v, align, big):
        """v (display order) drawn with font16 (doubled when big) into an image only as wide as the
        text (whole bytes), placed by ESC a: GS v 0 in bands of _BAND rows from one buffer. The rows
        match escpos_raster's text lines: _PAD blank rows above and below, the glyphs one row (two when
        big) below the cell's top, so they stand on the Latin cells' baseline."""
        from wasl.ui import font16

        s = 2 if big else 1
        u = self.p.uart
        w = min(font16.width(v, s), _WIDTH)
        nb = (w + 7) >> 3 or 1
        x = nb * 8 - w if align == "r" else (nb * 8 - w) >> 1 if align == "c" else 0
        buf = self._buf
        if buf is None:
            buf = self._buf = bytearray((_WIDTH >> 3) * _BAND)
        self.p._w3(_ESC, 0x61, 1 if align == "c" else 0 if align == "l" else 2)
        height = 16 * s + 2 * _PAD
        hdr = self._hdr
        hdr[4] = nb
        top = 0
        while top < height:
            n = min(_BAND, height - top)
            mv = memoryview(buf)[:nb * n]
            fb = framebuf.FrameBuffer(mv, nb * 8, n, framebuf.MONO_HLSB)
            fb.fill(0)
            font16.draw(fb, v, x, _PAD + s - top, 1, s)
            hdr[6] = n
            u.write(hdr)
            u.write(mv)
            top += n
