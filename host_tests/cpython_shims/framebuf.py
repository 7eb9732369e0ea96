# A CPython stand-in for MicroPython's built-in `framebuf` module, enough for the display drivers'
# tests: MONO_VLSB, MONO_HLSB, MONO_HMSB, RGB565 and GS8 buffers; fill, pixel, hline, vline, rect,
# fill_rect, text (the same 8x8 font, chars 32..127, anything else drawn as char 127, one glyph per
# UTF-8 byte, as the C module does) and blit (with key and palette). The tests use the real module on
# the unix port; host_tests/test_fw_units.py puts this directory on CPython's path. The firmware never
# ships it.

MONO_VLSB = 0
MVLSB = 0
RGB565 = 1
GS4_HMSB = 2
MONO_HLSB = 3
MONO_HMSB = 4
GS2_HMSB = 5
GS8 = 6

# The 8x8 font of MicroPython's framebuf (font_petme128_8x8), chars 32..127, 8 column bytes each,
# bit 0 at the top: dumped from the unix port's framebuf.text().
# the font's table is kept once, with the virtual printer that draws the same glyphs
from tools.virtual.escpos_image import FONT8 as _FONT  # noqa: E402


class FrameBuffer:
    def __init__(self, buf, width, height, fmt, stride=None):
        if fmt not in (MONO_VLSB, MONO_HLSB, MONO_HMSB, RGB565, GS8):
            raise ValueError("format not in this stand-in")
        self.buf = memoryview(buf).cast("B") if not isinstance(buf, memoryview) else buf
        self.width = width
        self.height = height
        self.format = fmt
        self.stride = width if stride is None else stride
        if fmt == MONO_VLSB:
            need = ((height + 7) // 8) * self.stride
        elif fmt in (MONO_HLSB, MONO_HMSB):
            need = ((self.stride + 7) // 8) * height
        elif fmt == RGB565:
            need = self.stride * height * 2
        else:
            need = self.stride * height
        if len(self.buf) < need:
            raise ValueError("buffer too small")

    def _set(self, x, y, c):
        b = self.buf
        f = self.format
        if f == MONO_VLSB:
            i = (y >> 3) * self.stride + x
            m = 1 << (y & 7)
            b[i] = (b[i] | m) if c else (b[i] & ~m & 0xFF)
        elif f == MONO_HLSB or f == MONO_HMSB:
            i = (x + y * ((self.stride + 7) & ~7)) >> 3
            m = (0x80 >> (x & 7)) if f == MONO_HLSB else (1 << (x & 7))
            b[i] = (b[i] | m) if c else (b[i] & ~m & 0xFF)
        elif f == RGB565:
            i = 2 * (y * self.stride + x)
            b[i] = c & 0xFF
            b[i + 1] = (c >> 8) & 0xFF
        else:
            b[y * self.stride + x] = c & 0xFF

    def _get(self, x, y):
        b = self.buf
        f = self.format
        if f == MONO_VLSB:
            return (b[(y >> 3) * self.stride + x] >> (y & 7)) & 1
        if f == MONO_HLSB or f == MONO_HMSB:
            i = (x + y * ((self.stride + 7) & ~7)) >> 3
            m = (0x80 >> (x & 7)) if f == MONO_HLSB else (1 << (x & 7))
            return 1 if b[i] & m else 0
        if f == RGB565:
            i = 2 * (y * self.stride + x)
            return b[i] | (b[i + 1] << 8)
        return b[y * self.stride + x]

    def pixel(self, x, y, c=None):
        if not (0 <= x < self.width and 0 <= y < self.height):
            return None
        if c is None:
            return self._get(x, y)
        self._set(x, y, c)

    def fill_rect(self, x, y, w, h, c):
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + w, self.width), min(y + h, self.height)
        for yy in range(y0, y1):
            for xx in range(x0, x1):
                self._set(xx, yy, c)

    def fill(self, c):
        self.fill_rect(0, 0, self.width, self.height, c)

    def hline(self, x, y, w, c):
        self.fill_rect(x, y, w, 1, c)

    def vline(self, x, y, h, c):
        self.fill_rect(x, y, 1, h, c)

    def rect(self, x, y, w, h, c, f=False):
        if f:
            self.fill_rect(x, y, w, h, c)
            return
        self.fill_rect(x, y, w, 1, c)
        self.fill_rect(x, y + h - 1, w, 1, c)
        self.fill_rect(x, y, 1, h, c)
        self.fill_rect(x + w - 1, y, 1, h, c)

    def text(self, s, x0, y0, c=1):
        for ch in s.encode():
            if ch < 32 or ch > 127:
                ch = 127
            g = (ch - 32) * 8
            for j in range(8):
                if 0 <= x0 < self.width:
                    line = _FONT[g + j]
                    y = y0
                    while line:
                        if line & 1 and 0 <= y < self.height:
                            self._set(x0, y, c)
                        line >>= 1
                        y += 1
                x0 += 1

    def blit(self, src, x, y, key=-1, palette=None):
        for sy in range(src.height):
            for sx in range(src.width):
                dx, dy = x + sx, y + sy
                if not (0 <= dx < self.width and 0 <= dy < self.height):
                    continue
                c = src._get(sx, sy)
                if palette is not None:
                    c = palette._get(c, 0)
                if c != key:
                    self._set(dx, dy, c)


def FrameBuffer1(buf, width, height, stride=None):
    return FrameBuffer(buf, width, height, MONO_VLSB, stride)
