# ESC/POS raster images (GS v 0) for a 58 mm thermal printer (384 dots a line), sent in bands through
# one band buffer made once: never a whole receipt or logo in RAM. Loaded only when printing; the
# resident text driver (escpos.py) knows nothing of it.
#
#   GS v 0 m xL xH yL yH d...    1D 76 30 00, then the width in BYTES (x = xL + 256 xH) and the height
#                                in dots (y = yL + 256 yH), then x*y bytes: rows top to bottom, each
#                                byte 8 dots, most significant bit leftmost, 1 = black
#
# That is exactly framebuf's MONO_HLSB layout, and PBM "P4" (netpbm raw bitmap) rows, so a FrameBuffer
# band is sent as it is and a logo file is read straight into the band.
#
#   Raster(uart, width=384, rows=24)   band = rows x width dots; buf (bytearray) and fb (FrameBuffer)
#   band(rows)                         send the first `rows` rows of the band buffer: one GS v 0
#   bitmap(data, w, h, align)          a 1-bit bitmap (bytes, MONO_HLSB rows) in bands
#   framebuffer(fb, w, h, align)       a FrameBuffer of any format, blitted band by band (1 = black)
#   logo(path, align)                  a PBM P4 file, read band by band
#   text(s, align, bold, big, glyph)   one line of text drawn into bands: the fallback for printers
#                                      without the code page a language needs
#   print_lines(lines)                 EscPos.print_lines's (align, style, text) lines, all as raster
#
# Horizontal placement of bitmaps is by whole bytes (8 dots); the image is always sent full width,
# so the printer's own justification (ESC a) plays no part. docs/printer.md has the wire sizes.
import framebuf

from wasl.drivers.fold import fold

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

_CELL_W = const(12)    # text cell: 12 x 16 dots from the 8x8 font (32 columns on 384 dots, as font A)
_CELL_H = const(16)
_PAD = const(4)        # blank rows above and below a text line: 24 rows a line


class Raster:
    def __init__(self, uart, width=384, rows=24):
        self.uart = uart
        self.width = width
        self.wb = (width + 7) >> 3          # bytes per row
        self.rows = rows                    # rows per band (the most one GS v 0 carries)
        self.buf = bytearray(self.wb * rows)
        self.fb = framebuf.FrameBuffer(self.buf, width, rows, framebuf.MONO_HLSB)
        self._hdr = bytearray(b"\x1dv0\x00\x00\x00\x00\x00")
        self._g = bytearray(8)              # one 8x8 glyph of the built-in font
        self._gfb = framebuf.FrameBuffer(self._g, 8, 8, framebuf.MONO_HLSB)

    # ---- the command ----------------------------------------------------------------------------
    def header(self, xbytes, rows):
        """GS v 0 m=0 xL xH yL yH: `rows` rows of `xbytes` bytes follow."""
        h = self._hdr
        h[4] = xbytes & 0xFF
        h[5] = xbytes >> 8
        h[6] = rows & 0xFF
        h[7] = rows >> 8
        self.uart.write(h)

    def band(self, rows=None):
        """Send the first `rows` rows (default all) of the band buffer, full width."""
        if rows is None:
            rows = self.rows
        if rows <= 0:
            return
        self.header(self.wb, rows)
        self.uart.write(memoryview(self.buf)[:self.wb * rows])

    def _offset(self, wbytes, align):
        """Left offset in bytes of an image wbytes wide: 'l', 'c' or 'r'."""
        free = self.wb - wbytes
        if free < 0:
            raise ValueError("image %d dots wide, paper %d" % (wbytes * 8, self.width))
        return 0 if align == "l" else free if align == "r" else free >> 1

    def _clear(self):
        self.fb.fill(0)

    # ---- bitmaps --------------------------------------------------------------------------------
    def bitmap(self, data, width, height, align="c", stride=None):
        """Print a 1-bit bitmap: MONO_HLSB rows (MSB leftmost, 1 = black), `stride` bytes apart
        (default (width + 7) // 8, as in a FrameBuffer's buffer or a PBM P4 file). Bits past
        `width` in a row's last byte are cleared."""
        iwb = (width + 7) >> 3
        stride = stride or iwb
        off = self._offset(iwb, align)
        mv = memoryview(data)
        if len(mv) < stride * (height - 1) + iwb:
            raise ValueError("bitmap data short")
        y = 0
        while y < height:
            n = min(self.rows, height - y)
            self._clear()
            for r in range(n):
                s = (y + r) * stride
                self._put_row(r, off, mv[s:s + iwb], width)
            self.band(n)
            y += n

    def _put_row(self, r, off, row, width):
        buf = self.buf
        d = r * self.wb + off
        iwb = len(row)
        buf[d:d + iwb] = row
        if width & 7:                               # clear the pad bits of the last byte
            buf[d + iwb - 1] &= (0xFF00 >> (width & 7)) & 0xFF

    def framebuffer(self, fb, width, height, align="c"):
        """Print a whole FrameBuffer (any format; a set pixel is black), `width` x `height`, in bands:
        each band is blitted from it, so only the band buffer is needed besides it."""
        if width > self.width:
            raise ValueError("image %d dots wide, paper %d" % (width, self.width))
        free = self.width - width
        x = 0 if align == "l" else free if align == "r" else free >> 1
        y = 0
        while y < height:
            n = min(self.rows, height - y)
            self._clear()
            self.fb.blit(fb, x, -y, 0)              # key 0: only set pixels are copied
            self.band(n)
            y += n

    def logo(self, path, align="c"):
        """Print a PBM P4 file (binary netpbm bitmap: 'P4', width, height, then MONO_HLSB rows, 1 =
        black; comments '#' allowed in the header), reading it band by band. Returns (width, height)."""
        with open(path, "rb") as f:
            width, height = _pbm_header(f)
            iwb = (width + 7) >> 3
            off = self._offset(iwb, align)
            mv = memoryview(self.buf)
            y = 0
            while y < height:
                n = min(self.rows, height - y)
                self._clear()
                for r in range(n):
                    d = r * self.wb + off
                    if f.readinto(mv[d:d + iwb]) != iwb:
                        raise ValueError("PBM data short")
                    if width & 7:
                        self.buf[d + iwb - 1] &= (0xFF00 >> (width & 7)) & 0xFF
                self.band(n)
                y += n
        return width, height

    # ---- text -----------------------------------------------------------------------------------
    def _glyph8(self, ch, x, y, cw, chh, bold):
        """Draw ch from framebuf's 8x8 font into the band, scaled to a cw x chh cell at (x, y) (y may
        be negative or past the band: framebuf clips). Runs of set bits become one fill_rect."""
        g = self._g
        gfb = self._gfb
        gfb.fill(0)
        gfb.text(ch, 0, 0, 1)
        fb = self.fb
        b1 = 1 if bold else 0
        for r in range(8):
            bits = g[r]
            if not bits:
                continue
            y0 = y + r * chh // 8
            h = y + (r + 1) * chh // 8 - y0
            if y0 + h <= 0 or y0 >= self.rows:
                continue
            c = 0
            while c < 8:
                if bits & (0x80 >> c):
                    e = c + 1
                    while e < 8 and bits & (0x80 >> e):
                        e += 1
                    x0 = x + c * cw // 8
                    fb.fill_rect(x0, y0, x + e * cw // 8 - x0 + b1, h, 1)
                    c = e
                else:
                    c += 1

    def text(self, s, align="l", bold=False, big=False, glyph=None, pad=_PAD):
        """Print one line of text as raster: cells of 12 x 16 dots (32 columns, like font A) drawn
        from framebuf's 8x8 font, 24 x 32 when big (16 columns), `pad` blank rows above and below.
        Characters beyond ASCII are folded (wasl.drivers.fold). Text wider than the paper is cut.

        glyph: an optional font hook, glyph(fb, ch, x, y, h) -> advance in dots, or None for a
        character it does not have (drawn from the 8x8 font then). It draws ch with its top-left
        corner at (x, y) in the FrameBuffer fb, in a line h dots high (y may be negative: the line
        is drawn once per band, framebuf clips); with fb None it only measures. Arabic plugs in here,
        with the line already in visual order (wasl.ui.arabic.visual)."""
        cw = _CELL_W * 2 if big else _CELL_W
        chh = _CELL_H * 2 if big else _CELL_H
        if glyph is None:
            s = fold(s)
        total = 0
        for ch in s:
            a = glyph(None, ch, 0, 0, chh) if glyph is not None else None
            total += cw if a is None else a
        free = self.width - total
        x0 = 0 if align == "l" or free <= 0 else free if align == "r" else free >> 1
        height = chh + 2 * pad
        top = 0
        while top < height:
            n = min(self.rows, height - top)
            self._clear()
            x = x0
            y = pad - top
            for ch in s:
                if x >= self.width:
                    break
                a = glyph(self.fb, ch, x, y, chh) if glyph is not None else None
                if a is None:
                    self._glyph8(fold(ch) if glyph is not None else ch, x, y, cw, chh, bold)
                    a = cw
                x += a
            self.band(n)
            top += n

    def print_lines(self, lines):
        """Like EscPos.print_lines, every line as raster: (align, style, text), style '' / 'b' (bold)
        / 'B' (bold, double size). Initialise, lines, feed, partial cut, flush."""
        u = self.uart
        u.write(b"\x1b@")
        for align, style, text in lines:
            self.text(text, align, bold=bool(style), big=style == "B")
        u.write(b"\x1bd\x03\x1dV\x01")
        u.flush()


def _pbm_token(f):
    """The next header token of a PBM file (skipping whitespace and '#' comments), as bytes."""
    tok = b""
    c = f.read(1)
    while True:
        if not c:
            return tok
        if c == b"#":
            while c and c not in b"\r\n":
                c = f.read(1)
        elif c in b" \t\r\n":
            if tok:
                return tok                          # the one whitespace after the token is eaten
        else:
            tok += c
        c = f.read(1)


def _pbm_header(f):
    if _pbm_token(f) != b"P4":
        raise ValueError("not a PBM P4 file")
    w = int(_pbm_token(f))
    h = int(_pbm_token(f))
    if w <= 0 or h <= 0:
        raise ValueError("bad PBM size")
    return w, h
