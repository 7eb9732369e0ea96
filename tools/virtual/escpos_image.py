"""ESC/POS bytes -> the 1-bit image a 58 mm thermal printer would put on paper (384 dots a line).

    r = render(data)                    # r.img: a PaperImage (width, height, rows: MONO_HLSB, 1 = black)
    tools/receipt_png.py                # writes it as a PNG

The model (a generic Epson-compatible 203 dpi printer; docs/printer.md):
  - text in font A: 12 x 24 dot cells (32 columns), the glyphs drawn from MicroPython framebuf's 8x8
    font scaled to 12 x 16 and centred in the cell (the firmware's raster fallback draws the same
    cells, wasl/drivers/escpos_raster.py, so text mode and raster mode look alike on the PNG);
    bytes 0x80-0xFF (a code page) are drawn as framebuf's glyph 127, a chequered box;
  - GS ! n (width x1..8, height x1..8), ESC ! n (bold, double height / width, underline), ESC E / G
    (bold: each dot also one dot to the right), ESC - (underline), GS B (white on black);
  - ESC a justification per line, applied when the line prints; a line longer than the paper wraps;
  - LF prints and feeds the line spacing (ESC 2: 30 dots, ESC 3 n: n dots; a line taller than the
    spacing feeds its own height); ESC d n prints and feeds n lines; ESC J n n dots;
  - GS v 0 raster images placed exactly where the bytes say: at the left edge when full width, after
    the printed lines, each row one dot high (a narrower image follows ESC a);
  - GS V cut: a dashed line across the paper;
  - ESC @ resets the modes and drops the unprinted line; DLE EOT / DLE ENQ (real-time status) print
    nothing; ESC t (code page), ESC M (font), ESC SP and other known commands are consumed;
    anything else is counted in `unknown`; `notes` says what a real printer would do differently.

ImagePrinter is tools/virtual/printer.py's VirtualPrinter that also knows GS v 0 and DLE EOT (the
text rendering shows an image as "[image WxH]"), for a harness whose firmware prints raster.
"""
from tools.virtual.printer import VirtualPrinter

WIDTH = 384           # dots a line on 58 mm paper
CELL_W, CELL_H = 12, 24
GLYPH_H, GLYPH_TOP = 16, 4
LINE_SPACING = 30     # ESC 2 default: 24 dots of font A + 6

# The 8x8 font of MicroPython's framebuf (font_petme128_8x8, MIT licence), chars 32..127, 8 column
# bytes each, bit 0 at the top; host_tests/cpython_shims/framebuf.py draws with it too.
FONT8 = bytes.fromhex(
    "00000000000000000000004f4f0000000007070000070700147f7f14147f7f14"
    "00242e6b6b3a1200006333180c66630000327f4d4d7772500000000406030100"
    "00001c3e63410000000041633e1c0000082a3e1c1c3e2a080008083e3e080800"
    "000080e0600000000008080808080800000000606000000000406030180c0602"
    "003e7f49457f3e000040447f7f40400000627351494f460000226349497f3600"
    "00181814167f7f1000276745457d3900003e7f49497b3200000303797d070300"
    "00367f49497f360000266f49497f3e000000002424000000000080e464000000"
    "00081c3663414100001414141414140000414163361c080000020351590f0600"
    "003e7f414d4f2e00007c7e0b0b7e7c00007f7f49497f3600003e7f4141632200"
    "007f7f41633e1c00007f7f4949414100007f7f0909010100003e7f41497b3a00"
    "007f7f08087f7f000000417f7f410000002060417f3f0100007f7f1c36634100"
    "007f7f4040404000007f7f060c067f7f007f7f0e1c7f7f00003e7f41417f3e00"
    "007f7f09090f0600001e3f21617f5e00007f7f19396f460000266f49497b3200"
    "0001017f7f010100003f7f40407f3f00001f3f60603f1f00007f7f3018307f7f"
    "0063771c1c77630000070f78780f0700006171594d47430000007f7f41410000"
    "0002060c18306040000041417f7f000000080c06060c0800c0c0c0c0c0c0c0c0"
    "000001030604000000207454547c7800007f7f44447c380000387c44446c2800"
    "00387c44447f7f0000387c54545c580000087e7f090302000098bca4a4fc7c00"
    "007f7f04047c78000000007d7d0000000040c08080fd7d00007f7f30386c4400"
    "0000417f7f400000007c7c1830187c7c007c7c04047c780000387c44447c3800"
    "00fcfc24243c180000183c2424fcfc00007c7c04040c080000485c5454742000"
    "04043f7f44642000003c7c40407c3c00001c3c60603c1c00001c7c3018307c1c"
    "00446c38386c4400009cbca0a0fc7c00004464745c4c44000008083e77414100"
    "000000ffff000000004141773e0808000002030103020301aa55aa55aa55aa55")


def glyph_rows(code):
    """The 8x8 glyph of a byte as 8 row bytes, MSB leftmost (framebuf draws < 32 and > 127 as 127)."""
    if code < 32 or code > 127:
        code = 127
    cols = FONT8[(code - 32) * 8:(code - 31) * 8]
    return bytes(sum(0x80 >> c for c in range(8) if cols[c] >> r & 1) for r in range(8))


class PaperImage:
    """A growing 1-bit image, `width` dots wide: rows of bytes, MSB leftmost, 1 = black."""

    def __init__(self, width=WIDTH):
        self.width = width
        self.wb = (width + 7) // 8
        self.rows = []

    @property
    def height(self):
        return len(self.rows)

    def grow(self, height):
        while len(self.rows) < height:
            self.rows.append(bytearray(self.wb))

    def fill(self, x, y, w, h, c=1):
        """Set (c=1) or clear (c=0) a rectangle, clipped to the paper's width."""
        x0, x1 = max(0, x), min(self.width, x + w)
        if x1 <= x0 or h <= 0:
            return
        self.grow(y + h)
        for yy in range(max(0, y), y + h):
            row = self.rows[yy]
            for xx in range(x0, x1):
                if c:
                    row[xx >> 3] |= 0x80 >> (xx & 7)
                else:
                    row[xx >> 3] &= ~(0x80 >> (xx & 7)) & 0xFF

    def get(self, x, y):
        if not (0 <= x < self.width and 0 <= y < len(self.rows)):
            return 0
        return 1 if self.rows[y][x >> 3] & (0x80 >> (x & 7)) else 0

    def blit_rows(self, x, y, xbytes, data, nrows):
        """Place MONO_HLSB rows (xbytes bytes each) with their left edge at dot x, row y."""
        self.grow(y + nrows)
        for r in range(nrows):
            src = data[r * xbytes:(r + 1) * xbytes]
            row = self.rows[y + r]
            if x % 8 == 0:
                i = x // 8
                n = max(0, min(xbytes, self.wb - i))
                for k in range(n):
                    row[i + k] |= src[k]
            else:
                for k in range(xbytes):
                    b = src[k]
                    for bit in range(8):
                        if b & (0x80 >> bit):
                            xx = x + k * 8 + bit
                            if xx < self.width:
                                row[xx >> 3] |= 0x80 >> (xx & 7)


# parameter bytes of the known commands that print nothing here (ESC x / GS x)
_ESC_SKIP = {0x74: 1, 0x4D: 1, 0x20: 1, 0x7B: 1, 0x56: 1, 0x52: 1, 0x25: 1, 0x3D: 1, 0x63: 2,
             0x24: 2, 0x5C: 2, 0x70: 3, 0x55: 1}
_GS_SKIP = {0x4C: 2, 0x57: 2, 0x48: 1, 0x68: 1, 0x77: 1, 0x66: 1, 0x61: 1, 0x50: 2}
_MOVES = {0x24: "ESC $ (absolute position)", 0x5C: "ESC \\ (relative position)",
          0x4C: "GS L (left margin)", 0x57: "GS W (print area width)"}


class Renderer:
    """Feed ESC/POS bytes (in any chunks) with feed(); finish() prints a pending line and returns the
    PaperImage. `cuts` holds the y of each cut mark, `unknown` the count of unknown commands."""

    def __init__(self, width=WIDTH):
        self.img = PaperImage(width)
        self.width = width
        self.y = 0
        self.unknown = 0
        self.notes = []
        self.cuts = []
        self.images = []          # (x, y, width dots, height) of each GS v 0, where it landed
        self._p = bytearray()
        self._reset()

    def _reset(self):
        self.align = 0
        self.bold = False
        self.wmul = self.hmul = 1
        self.underline = 0
        self.reverse = False
        self.spacing = LINE_SPACING
        self._line = []           # (byte, bold, wmul, hmul, underline, reverse)
        self._line_align = None

    # ---- input ------------------------------------------------------------------------------------
    def feed(self, data):
        self._p.extend(data)
        while self._p:
            n = self._step(self._p)
            if n is None:          # an incomplete command: wait for more bytes
                return
            del self._p[:n]

    def finish(self):
        if self._p:
            self.notes.append("%d bytes of an incomplete command at the end" % len(self._p))
            self._p = bytearray()
        if self._line:
            self._print_line(feed=True)
        self.img.grow(self.y)
        return self.img

    def _step(self, p):
        """Interpret the command at p[0]; return the bytes it took, None when p holds only part of it."""
        b = p[0]
        if b == 0x0A:                                   # LF
            self._print_line(feed=True)
            return 1
        if b == 0x1B:
            return self._esc(p)
        if b == 0x1D:
            return self._gs(p)
        if b == 0x10:                                   # DLE EOT n / DLE ENQ n / DLE DC4 fn a b
            if len(p) < 2:
                return None
            if p[1] in (0x04, 0x05):
                return 3 if len(p) >= 3 else None
            if p[1] == 0x14:
                return 5 if len(p) >= 5 else None
            self.unknown += 1
            return 2
        if b < 0x20:                                    # CR, HT and other controls: nothing printed
            return 1
        self._char(b)
        return 1

    def _esc(self, p):
        if len(p) < 2:
            return None
        c = p[1]
        if c == 0x40:                                   # ESC @
            if self._line:
                self.notes.append("ESC @ dropped %d unprinted characters" % len(self._line))
            self._reset()
            return 2
        if c == 0x32:                                   # ESC 2
            self.spacing = LINE_SPACING
            return 2
        if c in (0x61, 0x45, 0x47, 0x21, 0x2D, 0x64, 0x4A, 0x33):
            if len(p) < 3:
                return None
            n = p[2]
            if c == 0x61:                               # ESC a n
                self.align = n - 48 if n >= 48 else n
                if self.align not in (0, 1, 2):
                    self.align = 0
            elif c in (0x45, 0x47):                     # ESC E n / ESC G n
                self.bold = bool(n & 1)
            elif c == 0x21:                             # ESC ! n
                self.bold = bool(n & 0x08)
                self.hmul = 2 if n & 0x10 else 1
                self.wmul = 2 if n & 0x20 else 1
                self.underline = 1 if n & 0x80 else 0
                if n & 1:
                    self.notes.append("ESC ! selects font B: drawn as font A")
            elif c == 0x2D:                             # ESC - n
                self.underline = (n - 48 if n >= 48 else n) & 3
            elif c == 0x64:                             # ESC d n
                self._print_line(feed=False)
                self.y += n * self.spacing
            elif c == 0x4A:                             # ESC J n
                self._print_line(feed=False)
                self.y += n
            elif c == 0x33:                             # ESC 3 n
                self.spacing = n
            return 3
        if c in _ESC_SKIP:
            k = _ESC_SKIP[c]
            if len(p) < 2 + k:
                return None
            if c in _MOVES:
                self.notes.append("%s not modelled" % _MOVES[c])
            return 2 + k
        self.unknown += 1
        return 2

    def _gs(self, p):
        if len(p) < 2:
            return None
        c = p[1]
        if c == 0x21 or c == 0x42:                      # GS ! n / GS B n
            if len(p) < 3:
                return None
            if c == 0x21:
                self.wmul = (p[2] >> 4 & 7) + 1
                self.hmul = (p[2] & 7) + 1
            else:
                self.reverse = bool(p[2] & 1)
            return 3
        if c == 0x56:                                   # GS V m [n]
            if len(p) < 3:
                return None
            k = 4 if p[2] in (65, 66, 97, 98, 103, 104) else 3
            if len(p) < k:
                return None
            self._print_line(feed=False)
            self._cut()
            return k
        if c == 0x76:                                   # GS v 0 m xL xH yL yH d...
            if len(p) < 8:
                return None
            if p[2] not in (0x30, 0x00):
                self.unknown += 1
                return 3
            xb = p[4] | p[5] << 8
            rows = p[6] | p[7] << 8
            if len(p) < 8 + xb * rows:
                return None
            self._raster(p[3], xb, rows, bytes(p[8:8 + xb * rows]))
            return 8 + xb * rows
        if c in _GS_SKIP:
            k = _GS_SKIP[c]
            if len(p) < 2 + k:
                return None
            if c in _MOVES:
                self.notes.append("%s not modelled" % _MOVES[c])
            return 2 + k
        self.unknown += 1
        return 2

    # ---- paper ------------------------------------------------------------------------------------
    def _char(self, b):
        w = CELL_W * self.wmul
        used = sum(CELL_W * ch[2] for ch in self._line)
        if self._line and used + w > self.width:      # the line buffer is full: it prints, then wraps
            self._print_line(feed=True)
        if not self._line:
            self._line_align = self.align
        self._line.append((b, self.bold, self.wmul, self.hmul, self.underline, self.reverse))

    def _print_line(self, feed):
        """Print the line buffer at self.y; with feed (LF) advance by the line spacing (or the line's
        own height when taller); without (ESC d, ESC J, GS V, GS v 0) advance only past what printed."""
        line = self._line
        if not line:
            if feed:
                self.y += self.spacing
            return
        height = max(CELL_H * ch[3] for ch in line)
        width = sum(CELL_W * ch[2] for ch in line)
        align = self._line_align if self._line_align is not None else self.align
        x = 0 if align == 0 else (self.width - width) // (2 if align == 1 else 1)
        for b, bold, wm, hm, ul, rev in line:
            self._draw(b, x, self.y + height - CELL_H * hm, wm, hm, bold, ul, rev)
            x += CELL_W * wm
        self.img.grow(self.y + height)
        self.y += max(self.spacing, height) if feed else height
        self._line = []
        self._line_align = None

    def _draw(self, b, x, y, wm, hm, bold, ul, rev):
        cw, ch = CELL_W * wm, CELL_H * hm
        img = self.img
        if rev:
            img.fill(x, y, cw, ch, 1)
        ink = 0 if rev else 1
        g = glyph_rows(b)
        gw = cw                                         # the 8 glyph columns over the cell's width
        for r in range(8):
            bits = g[r]
            if not bits:
                continue
            y0 = y + (GLYPH_TOP * hm) + r * GLYPH_H * hm // 8
            h = y + (GLYPH_TOP * hm) + (r + 1) * GLYPH_H * hm // 8 - y0
            c = 0
            while c < 8:
                if bits & (0x80 >> c):
                    e = c + 1
                    while e < 8 and bits & (0x80 >> e):
                        e += 1
                    x0 = x + c * gw // 8
                    img.fill(x0, y0, x + e * gw // 8 - x0 + (1 if bold else 0), h, ink)
                    c = e
                else:
                    c += 1
        if ul:
            img.fill(x, y + ch - ul, cw, ul, ink)

    def _raster(self, m, xb, rows, data):
        if self._line:
            self.notes.append("GS v 0 with text in the print buffer (Epson ignores the image then)")
            self._print_line(feed=False)
        if m & 0x33:
            self.notes.append("GS v 0 m=%d (double width/height) drawn at m=0" % m)
        dots = xb * 8
        if dots > self.width:
            self.notes.append("GS v 0 %d dots wide on %d-dot paper: cut at the edge" % (dots, self.width))
        free = max(0, self.width - dots)
        x = 0 if self.align == 0 else free // (2 if self.align == 1 else 1)
        self.img.blit_rows(x, self.y, xb, data, rows)
        self.images.append((x, self.y, dots, rows))
        self.y += rows

    def _cut(self):
        self.y += 4
        self.img.grow(self.y + 1)
        for x in range(0, self.width, 8):
            self.img.fill(x, self.y, 4, 1, 1)
        self.cuts.append(self.y)
        self.y += 5


def render(data, width=WIDTH):
    """A Renderer fed the whole of `data` and finished: .img (the PaperImage), .unknown, .notes,
    .cuts, .images."""
    r = Renderer(width)
    r.feed(data)
    r.finish()
    return r


class ImagePrinter(VirtualPrinter):
    """tools.virtual.printer.VirtualPrinter that also knows GS v 0 (raster: shown in the text as
    "[image WxH]", consecutive bands of one width merged) and DLE EOT / DLE ENQ (real-time queries:
    no text), so that a raster receipt is neither garbage text nor unknown commands. Same on_cut(text,
    raw, unknown) callback; the raw bytes are kept whole for render()."""

    def _reset_paper(self):
        VirtualPrinter._reset_paper(self)
        self._img_line = None     # index in self.lines of the last "[image ...]" line, while adjacent

    def _parse(self):
        p = self._pending
        while p:
            if p[0] == 0x1D and len(p) >= 2 and p[1] == 0x76:
                if len(p) < 8:
                    return
                xb, rows = p[4] | p[5] << 8, p[6] | p[7] << 8
                if len(p) < 8 + xb * rows:
                    return
                self._take(8 + xb * rows)
                self._image(xb * 8, rows)
                continue
            if p[0] == 0x10 and len(p) >= 2 and p[1] in (0x04, 0x05):
                if len(p) < 3:
                    return
                self._take(3)
                continue
            n = _base_len(p)
            if n is None:
                return
            self._pending = bytearray(p[:n])
            del p[:n]
            try:
                VirtualPrinter._parse(self)
            finally:
                self._pending = p
            self._img_line = None

    def _image(self, w, rows):
        if self._line:
            self._newline()
        i = self._img_line
        if i is not None and i == len(self.lines) - 1 and self.lines[i].startswith("[image %dx" % w):
            h = int(self.lines[i][:-1].split("x")[1]) + rows
            self.lines[i] = "[image %dx%d]" % (w, h)
        else:
            self.lines.append("[image %dx%d]" % (w, rows))
            self._img_line = len(self.lines) - 1


def _base_len(p):
    """Length of the command at p[0] as VirtualPrinter reads it (None: not all there yet)."""
    b = p[0]
    if b == 0x1B:
        if len(p) < 2:
            return None
        n = 3 if p[1] in (0x61, 0x45, 0x74, 0x64) else 2
    elif b == 0x1D:
        if len(p) < 2:
            return None
        if p[1] == 0x21:
            n = 3
        elif p[1] == 0x56:
            if len(p) < 3:
                return None
            n = 4 if p[2] in (65, 66) else 3
        else:
            n = 2
    else:
        n = 1
    return n if len(p) >= n else None
