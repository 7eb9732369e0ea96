# font16 plugged into the printer and the graphic displays: the glyph hooks of
# wasl.drivers.escpos_raster (Arabic receipt lines printed as dots) and a screen for the SSD1306 and
# ST7789 drivers that draws its rows through their blit_glyph() hook. Text comes in display order
# (wasl.ui.arabic.visual); nothing here shapes or reorders.
#
#   arabic(fb, ch, x, y, h)     Raster.text(glyph=...) hook for lines that mix Arabic labels and Latin
#                               values: Arabic and U+200A from font16, None for the rest (the printer's
#                               own 12 x 16 cells: Latin, digits and spaces look as in text mode)
#   glyph(fb, ch, x, y, h)      the hook for Arabic text lines: every character from font16
#                               (proportional spaces and Latin too)
#   measure(s, hook, h)         the width in dots Raster.text gives s with that hook
#   spread(left, right, ...)    left + padding + right, exactly `width` dots wide (label/value lines)
#   Screen(lcd)                 rows of display-order text on a graphic display, lcd.show() style
from wasl.ui import font16

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

import framebuf

_CELL = const(12)       # escpos_raster's cell width for h = 16 (the 8x8 font widened): 24 for h = 32
_CELL_BASE = const(14)  # rows of its 16-row cell above the baseline (the 8x8 font's 7 rows, doubled)


def _draw(fb, c, x, y, h):
    """Draw code point c from font16 in an escpos_raster line h dots high: doubled when h is 32 (big),
    one row (two when big) lower than the font's cell, so that it stands on the baseline of Raster's
    cells (its descenders reach into the pad row below). The advance, or None when font16 lacks c."""
    i = font16.find(c)
    if i < 0:
        return None
    s = h >> 4 if h > 16 else 1
    if fb is None:
        return font16.advance(i) * s
    return font16.glyph(fb, i, x, y + (_CELL_BASE - font16.BASELINE) * s, 1, s)


def arabic(fb, ch, x, y, h):
    """escpos_raster glyph hook for a line with Arabic labels and Latin values: Arabic letters and
    punctuation and U+200A come from font16; anything else gives None and Raster draws it from the 8x8
    font, as on the text-mode lines (a line without Arabic prints exactly as without the hook)."""
    if ord(ch) < 0x600:
        return None
    return _draw(fb, ord(ch), x, y, h)


def glyph(fb, ch, x, y, h):
    """escpos_raster glyph hook drawing every character font16 has (Latin and spaces proportional):
    for lines of Arabic text (a merchant name, a title), whose word spaces would be too wide as cells."""
    return _draw(fb, ord(ch), x, y, h)


def measure(s, hook=arabic, h=16):
    """Width in dots of s printed by Raster.text with `hook` (a character the hook lacks takes one of
    Raster's cells: 12 dots, 24 when big)."""
    n = 0
    cell = _CELL * h >> 4
    for ch in s:
        a = hook(None, ch, 0, 0, h)
        n += cell if a is None else a
    return n


def spread(left, right, width=384, hook=arabic, h=16):
    """left, then spaces and hair spaces, then right: exactly `width` dots with `hook` when both fit
    (a label/value line: in an Arabic layout the value on the left, the label on the right, each
    already through visual()). When they do not fit: left + one space + right (Raster cuts it)."""
    gap = width - measure(left, hook, h) - measure(right, hook, h)
    sp = measure(" ", hook, h)
    hair = measure("\u200a", hook, h)
    if gap < sp:
        return left + " " + right
    n = gap // sp
    return left + " " * n + "\u200a" * ((gap - n * sp) // hair) + right


def _segments(row):
    """[(first column, end column, text)] of a fixed-column row: parts split by runs of 2+ spaces
    (single spaces stay inside a part)."""
    out = []
    n = len(row)
    i = 0
    while i < n:
        if row[i] == " ":
            i += 1
            continue
        j = i
        while j < n and not (row[j] == " " and (j + 1 >= n or row[j + 1] == " ")):
            j += 1
        out.append((i, j, row[i:j]))
        i = j
    return out


def _arabic(s):
    for ch in s:
        c = ord(ch)
        if 0x600 <= c < 0x700 or c >= 0xFB50:
            return True
    return False


class Screen:
    """A graphic display (wasl.drivers.ssd1306.SSD1306, wasl.drivers.st7789.ST7789) showing rows of
    text through font16, with the character LCD's interface: rows, cols, show(rows).

    Rows come as the UI lays them out in `cols` fixed columns (wasl.ui.screen.Ui.fit / lr, after
    visual()); proportional glyphs do not fill columns, so each row is split into parts at runs of two
    or more spaces and placed: a part that starts at column 0 flush left, one that ends at the last
    column flush right (an Arabic row, the label of a label/value row), one that fills the whole row
    flush right if it holds Arabic, any other centred on its columns. Rows are `line_h` apart (at
    least 16), the cell centred in the row.

    One line buffer (width / 8 x 16 bytes) is drawn and sent with lcd.blit_glyph() in strips the
    driver accepts (the ST7789's band), background painted; fg/bg default to the driver's."""

    arabic = True       # font16 covers every form wasl.ui.arabic emits: the UI may show Arabic here

    def __init__(self, lcd, cols=None, line_h=None, fg=None, bg=None):
        self.lcd = lcd
        self.width = lcd.width
        self.line_h = max(font16.HEIGHT, line_h or getattr(lcd, "line_h", font16.HEIGHT))
        self.rows = lcd.height // self.line_h
        self.cols = cols or lcd.cols
        self._colors = () if fg is None else (fg,) if bg is None else (fg, bg)
        stride = (self.width + 7) >> 3
        self._buf = bytearray(stride * font16.HEIGHT)
        self._fb = framebuf.FrameBuffer(self._buf, self.width, font16.HEIGHT, framebuf.MONO_HLSB)
        band = min(font16.HEIGHT, getattr(lcd, "band_h", font16.HEIGHT))
        mv = memoryview(self._buf)
        self._strips = []
        for r in range(0, font16.HEIGHT, band):
            h = min(band, font16.HEIGHT - r)
            self._strips.append((r, h, framebuf.FrameBuffer(mv[r * stride:(r + h) * stride], self.width, h,
                                                            framebuf.MONO_HLSB)))
        self._last = [None] * self.rows

    def invalidate(self):
        """Forget what is on the glass (after lcd.clear() or a drawing of its own): show() redraws
        every row."""
        for r in range(self.rows):
            self._last[r] = None

    def show(self, rows):
        """Draw the rows that changed since the last call (missing rows are blank)."""
        n = len(rows)
        for r in range(self.rows):
            s = rows[r] if r < n else ""
            if s is self._last[r] or s == self._last[r]:
                continue
            self._last[r] = s
            self.row(r, s)
        flush = getattr(self.lcd, "flush", None)
        if flush is not None:
            flush()

    def row(self, r, s):
        """Draw row r (display order, laid out in self.cols columns) and send it to the display."""
        fb = self._fb
        fb.fill(0)
        cols = max(self.cols, len(s))
        w = self.width
        for a, b, part in _segments(s):
            pw = font16.width(part)
            end = b == len(s) and b >= self.cols       # reaches the last column
            if a == 0 and not (end and _arabic(part)):
                x = 0
            elif end:
                x = w - pw                              # too wide: its left (an RTL row's end) is cut
            else:
                x = max(0, (a + b) * w // (2 * cols) - (pw >> 1))
            font16.draw(fb, part, x, 0)
        y = r * self.line_h + ((self.line_h - font16.HEIGHT) >> 1)
        for top, h, strip in self._strips:
            self.lcd.blit_glyph(strip, 0, y + top, w, h, *self._colors)
