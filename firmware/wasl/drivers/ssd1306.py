# SSD1306 monochrome OLED (128x64, 128x32) on I2C (address 0x3C or 0x3D), drawn through a
# framebuf.FrameBuffer (MONO_VLSB: one byte is 8 vertical pixels, the controller's GDDRAM page
# layout, so the buffer goes out as it is). Every I2C write starts with the datasheet's control byte
# (8.1.5.2): 0x00 "the following bytes are commands", 0x40 "the following bytes are GDDRAM data".
#
# Text: show(list_of_row_strings) like the character LCD, `rows` x `cols` cells of the framebuf's
# 8x8 font (Latin; Latin-1 accents folded to ASCII), each row `line_h` pixels high; only the pages of
# rows that changed are sent. Hooks for a font module (other scripts): text() and blit_glyph() draw
# into the frame buffer, flush() sends what they changed.
try:
    from micropython import const
except ImportError:
    def const(x):
        return x

import framebuf

from wasl.drivers.fold import fold

# SSD1306 fundamental / addressing / hardware configuration commands (datasheet section 9)
_SET_CONTRAST = const(0x81)
_ENTIRE_DISPLAY_OFF = const(0xA4)      # output follows RAM
_NORMAL_DISPLAY = const(0xA6)
_DISPLAY_OFF = const(0xAE)
_DISPLAY_ON = const(0xAF)
_SET_MEMORY_ADDRESSING_MODE = const(0x20)   # 0x00: horizontal
_SET_COLUMN_ADDRESS = const(0x21)
_SET_PAGE_ADDRESS = const(0x22)
_SET_DISPLAY_START_LINE = const(0x40)
_SET_SEGMENT_REMAP = const(0xA1)       # column 127 -> SEG0
_SET_MULTIPLEX_RATIO = const(0xA8)
_SET_COM_SCAN_REMAPPED = const(0xC8)
_SET_DISPLAY_OFFSET = const(0xD3)
_SET_COM_PINS = const(0xDA)
_SET_CLOCK_DIVIDE = const(0xD5)
_SET_PRECHARGE = const(0xD9)
_SET_VCOMH_DESELECT = const(0xDB)
_CHARGE_PUMP = const(0x8D)             # application note: 0x14 enables the internal pump

_CO_CMD = const(0x00)
_CO_DATA = const(b"\x40")

class SSD1306:
    arabic = False      # show() draws the 8x8 Latin font; wrapped in wasl.ui.glyphs.Screen it draws Arabic

    def __init__(self, i2c, addr=0x3C, width=128, height=64, line_h=16, external_vcc=False, contrast=0xCF):
        self.i2c = i2c
        self.addr = addr
        self.width = width
        self.height = height
        self.pages = height // 8
        self.line_h = line_h
        self.rows = height // line_h
        self.cols = width // 8
        self.buf = bytearray(width * self.pages)
        self.fb = framebuf.FrameBuffer(self.buf, width, height, framebuf.MONO_VLSB)
        self._cmd = bytearray(7)
        self._last = [None] * self.rows
        self._lo = self.pages        # dirty pages lo..hi (none when lo > hi)
        self._hi = -1
        self._pal = framebuf.FrameBuffer(bytearray(1), 2, 1, framebuf.MONO_HLSB)
        self.init(external_vcc, contrast)

    def _cmds(self, *cmds):
        c = self._cmd
        c[0] = _CO_CMD
        for i in range(len(cmds)):
            c[i + 1] = cmds[i]
        self.i2c.writeto(self.addr, memoryview(c)[:len(cmds) + 1])

    def init(self, external_vcc=False, contrast=0xCF):
        """Power-on sequence of the datasheet's application example (and its charge pump note)."""
        tall = self.height == 64
        self.i2c.writeto(self.addr, bytes((
            _CO_CMD,
            _DISPLAY_OFF,
            _SET_CLOCK_DIVIDE, 0x80,
            _SET_MULTIPLEX_RATIO, self.height - 1,
            _SET_DISPLAY_OFFSET, 0x00,
            _SET_DISPLAY_START_LINE | 0,
            _CHARGE_PUMP, 0x10 if external_vcc else 0x14,
            _SET_MEMORY_ADDRESSING_MODE, 0x00,
            _SET_SEGMENT_REMAP,
            _SET_COM_SCAN_REMAPPED,
            _SET_COM_PINS, 0x12 if tall else 0x02,
            _SET_CONTRAST, contrast,
            _SET_PRECHARGE, 0x22 if external_vcc else 0xF1,
            _SET_VCOMH_DESELECT, 0x40,
            _ENTIRE_DISPLAY_OFF,
            _NORMAL_DISPLAY,
        )))
        self.fb.fill(0)
        self._lo, self._hi = 0, self.pages - 1
        self.flush()
        self._cmds(_DISPLAY_ON)

    def power(self, on):
        self._cmds(_DISPLAY_ON if on else _DISPLAY_OFF)

    def contrast(self, value):
        self._cmds(_SET_CONTRAST, value)

    # ---- frame buffer -> GDDRAM ------------------------------------------------------------------

    def dirty(self, y, h):
        """Mark pixel rows y..y+h-1 as changed."""
        lo = max(0, y) >> 3
        hi = min(self.height - 1, y + h - 1) >> 3
        if lo < self._lo:
            self._lo = lo
        if hi > self._hi:
            self._hi = hi

    def flush(self):
        """Send the changed pages: one window (Set Column Address 0..width-1, Set Page Address lo..hi)
        and the pages' bytes after one 0x40 control byte (horizontal addressing wraps page to page)."""
        lo, hi = self._lo, self._hi
        if lo > hi:
            return
        self._cmds(_SET_COLUMN_ADDRESS, 0, self.width - 1, _SET_PAGE_ADDRESS, lo, hi)
        w = self.width
        self.i2c.writevto(self.addr, (_CO_DATA, memoryview(self.buf)[lo * w:(hi + 1) * w]))
        self._lo, self._hi = self.pages, -1

    # ---- text rows and font hooks -----------------------------------------------------------------

    def show(self, rows):
        n = len(rows)
        lh = self.line_h
        for r in range(self.rows):
            s = rows[r] if r < n else ""
            if s is self._last[r] or s == self._last[r]:
                continue
            self._last[r] = s
            self.fb.fill_rect(0, r * lh, self.width, lh, 0)
            self.fb.text(fold(s[:self.cols]), 0, r * lh + (lh - 8) // 2, 1)
            self.dirty(r * lh, lh)
        self.flush()

    def text(self, s, x, y, c=1):
        """Latin text in the 8x8 font at pixel (x, y); flush() sends it."""
        self.fb.text(fold(s), x, y, c)
        self.dirty(y, 8)

    def blit_glyph(self, glyph, x, y, w, h, fg=1, bg=0):
        """Draw a w x h glyph (a mono FrameBuffer, 1 = ink) at (x, y), ink in fg, the rest in bg
        (bg=-1: left as it is); flush() sends it."""
        pal = self._pal
        key = -1
        if bg < 0:
            bg = key = fg ^ 1
        pal.pixel(0, 0, bg)
        pal.pixel(1, 0, fg)
        self.fb.blit(glyph, x, y, key, pal)
        self.dirty(y, h)

    def clear(self):
        self.fb.fill(0)
        for r in range(self.rows):
            self._last[r] = None
        self.dirty(0, self.height)
        self.flush()
