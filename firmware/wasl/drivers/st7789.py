# ST7789 TFT (240x240, 240x320) on SPI (mode 0, MSB first) with a DC pin (low: command, high:
# parameters / pixels), CS (active low, or None when tied low) and an optional RST pin. Pixels are
# RGB565, high byte first on the wire (COLMOD 0x55).
#
# No frame buffer of the screen (240x240x2 = 115 KB would not fit the heap): the driver owns one band
# of `8 * scale` pixel lines (width x band x 2 bytes: 7.5 KB at 240 px, scale 2), draws into it with
# framebuf and pushes it through a window (CASET, RASET, RAMWR). `fb` is that band (RGB565 with bytes
# swapped: take colours through color()); push_band(y) sends it.
# Text: show(list_of_row_strings) like the character LCD, the framebuf 8x8 font scaled by `scale`,
# rows `line_h` pixels apart; only rows that changed are redrawn. Hooks for a font module: text() and
# blit_glyph() draw straight to the screen.
try:
    from micropython import const
except ImportError:
    def const(x):
        return x

try:
    from time import sleep_ms as _sleep_ms
except ImportError:  # CPython
    import time

    def _sleep_ms(ms):
        time.sleep(ms / 1000)

import framebuf

from wasl.drivers.fold import fold

# ST7789 system function commands (datasheet section 9.1)
_SWRESET = const(0x01)      # then 5 ms before any command, 120 ms before SLPOUT
_SLPOUT = const(0x11)       # then 5 ms before any command
_NORON = const(0x13)
_INVOFF = const(0x20)
_INVON = const(0x21)        # most IPS modules need inversion on for true colours
_DISPOFF = const(0x28)
_DISPON = const(0x29)
_CASET = const(0x2A)
_RASET = const(0x2B)
_RAMWR = const(0x2C)
_MADCTL = const(0x36)
_COLMOD = const(0x3A)
_COLMOD_16BIT = const(0x55)   # 65K colours, 16 bits per pixel

def color(c):
    """An RGB565 colour (0xF800 red) as framebuf must hold it for the wire's high-byte-first order."""
    return ((c & 0xFF) << 8) | (c >> 8)


def rgb(r, g, b):
    return ((r & 0xF8) << 8) | ((g & 0xFC) << 3) | (b >> 3)


class ST7789:
    arabic = False      # show() draws the 8x8 Latin font; wrapped in wasl.ui.glyphs.Screen it draws Arabic

    def __init__(self, spi, dc, cs=None, rst=None, width=240, height=240, xoff=0, yoff=0, madctl=0x00,
                 invert=True, scale=2, line_h=None, fg=0xFFFF, bg=0x0000, sleep_ms=None):
        self.spi = spi
        self.dc = dc
        self.cs = cs
        self.rst = rst
        self.width = width
        self.height = height
        self.xoff = xoff
        self.yoff = yoff
        self.scale = scale
        self.band_h = 8 * scale
        self.line_h = line_h or self.band_h + 2 * scale
        self.rows = height // self.line_h
        self.cols = width // (8 * scale)
        self.fg = fg
        self.bg = bg
        self._sleep = sleep_ms or _sleep_ms
        self.buf = bytearray(width * self.band_h * 2)
        self.fb = framebuf.FrameBuffer(self.buf, width, self.band_h, framebuf.RGB565)
        mw = width // scale
        self._mfb = framebuf.FrameBuffer(bytearray(((mw + 7) // 8) * 8), mw, 8, framebuf.MONO_HLSB)
        self._pal = framebuf.FrameBuffer(bytearray(4), 2, 1, framebuf.RGB565)
        self._b = bytearray(4)      # parameters
        self._c = bytearray(1)      # the command byte
        self._last = [None] * self.rows
        self.init(madctl, invert)

    # ---- the wire -------------------------------------------------------------------------------

    def _select(self, on):
        if self.cs is not None:
            self.cs.value(0 if on else 1)

    def _command(self, cmd, params=None):
        """One command and its parameters, CS held low around it."""
        self._select(True)
        self._send(cmd, params)
        self._select(False)

    def _send(self, cmd, params):
        c = self._c
        self.dc.value(0)
        c[0] = cmd
        self.spi.write(c)
        if params is not None:
            self.dc.value(1)
            self.spi.write(params)

    def _window(self, x0, y0, x1, y1):
        """CASET / RASET (start and end, 16 bits each, high byte first), then RAMWR; CS stays low, DC
        high: the caller sends the pixels, then _select(False)."""
        b = self._b
        x0 += self.xoff
        x1 += self.xoff
        y0 += self.yoff
        y1 += self.yoff
        self._select(True)
        b[0] = x0 >> 8
        b[1] = x0 & 0xFF
        b[2] = x1 >> 8
        b[3] = x1 & 0xFF
        self._send(_CASET, b)
        b[0] = y0 >> 8
        b[1] = y0 & 0xFF
        b[2] = y1 >> 8
        b[3] = y1 & 0xFF
        self._send(_RASET, b)
        self._send(_RAMWR, None)
        self.dc.value(1)

    def _push(self, x, y, w, h):
        """The first w x h pixels of the band buffer to the screen rectangle at (x, y)."""
        self._window(x, y, x + w - 1, y + h - 1)
        self.spi.write(memoryview(self.buf)[:w * h * 2])
        self._select(False)

    # ---- set-up ---------------------------------------------------------------------------------

    def init(self, madctl=0x00, invert=True):
        if self.cs is not None:
            self.cs.value(1)
        if self.rst is not None:                  # hardware reset: RESX low >= 10 us
            self.rst.value(1)
            self._sleep(1)
            self.rst.value(0)
            self._sleep(1)
            self.rst.value(1)
            self._sleep(120)
        self._command(_SWRESET)
        self._sleep(150)
        self._command(_SLPOUT)
        self._sleep(10)
        b = self._b
        b[0] = _COLMOD_16BIT
        self._command(_COLMOD, memoryview(b)[:1])
        b[0] = madctl
        self._command(_MADCTL, memoryview(b)[:1])
        self._command(_INVON if invert else _INVOFF)
        self._command(_NORON)
        self.fill(self.bg)
        self._command(_DISPON)

    def power(self, on):
        self._command(_DISPON if on else _DISPOFF)

    # ---- drawing --------------------------------------------------------------------------------

    def fill(self, c):
        """The whole screen in colour c, pushed band by band."""
        self.fb.fill(color(c))
        bh = self.band_h
        self._window(0, 0, self.width - 1, self.height - 1)
        mv = memoryview(self.buf)
        rest = self.height
        while rest > 0:
            n = min(bh, rest)
            self.spi.write(mv[:self.width * n * 2])
            rest -= n
        self._select(False)
        for r in range(self.rows):
            self._last[r] = None

    def push_band(self, y, h=None):
        """Send the band buffer (`fb`, full width) to pixel lines y..y+h-1."""
        self._push(0, y, self.width, h or self.band_h)

    def show(self, rows):
        n = len(rows)
        cols = self.cols
        for r in range(self.rows):
            s = rows[r] if r < n else ""
            if s is self._last[r] or s == self._last[r]:
                continue
            self._last[r] = s
            s = s[:cols]
            self.text(s + " " * (cols - len(s)), 0, r * self.line_h + (self.line_h - self.band_h) // 2)

    def text(self, s, x, y, fg=None, bg=None):
        """Latin text in the 8x8 font times `scale` at pixel (x, y), background painted."""
        s = fold(s)
        sc = self.scale
        w = min(len(s) * 8 * sc, self.width - x)
        if w <= 0 or not s:
            return
        h = self.band_h
        fg = color(self.fg if fg is None else fg)
        fb = framebuf.FrameBuffer(self.buf, w, h, framebuf.RGB565)
        fb.fill(color(self.bg if bg is None else bg))
        if sc == 1:
            fb.text(s, 0, 0, fg)
        else:
            m = self._mfb
            m.fill(0)
            m.text(s, 0, 0, 1)
            for yy in range(8):
                xx = 0
                while xx * sc < w:
                    if m.pixel(xx, yy):
                        fb.fill_rect(xx * sc, yy * sc, sc, sc, fg)
                    xx += 1
        self._push(x, y, w, h)

    def blit_glyph(self, glyph, x, y, w, h, fg=None, bg=None):
        """Draw a w x h glyph (a mono FrameBuffer, 1 = ink) at (x, y). The screen is not read back, so
        the background is always painted (bg, default the driver's). w * h must fit the band."""
        if w * h > self.width * self.band_h:
            raise ValueError("glyph larger than the band buffer")
        pal = self._pal
        pal.pixel(0, 0, color(self.bg if bg is None else bg))
        pal.pixel(1, 0, color(self.fg if fg is None else fg))
        framebuf.FrameBuffer(self.buf, w, h, framebuf.RGB565).blit(glyph, 0, 0, -1, pal)
        self._push(x, y, w, h)
