# HD44780 character LCD (16x2, 20x4...) behind a PCF8574 I2C port expander (the common "I2C
# backpack"), in 4-bit mode. Backpack wiring assumed: P0 RS, P1 R/W, P2 E, P3 backlight transistor,
# P4..P7 DB4..DB7 (R/W is held low: the driver never reads the busy flag, it waits the datasheet's
# execution times instead). The PCF8574 latches its outputs on each byte's ACK, so one I2C write of
# many bytes is a sequence of pin states: every nibble is two bytes (E high, then E low: DB4..DB7 are
# latched on E's falling edge), and a transfer opens with a byte that sets RS with E low (RS setup
# time before E rises).
#
# Same screen API as the desktop's TextLCD: `rows`, `cols`, `show(list_of_row_strings)`. Only the rows
# whose characters changed go on the wire; a row is one I2C write from a buffer made once. Characters:
# ASCII as is, "\x00".."\x07" the CGRAM glyphs (define_char), Latin-1 letters folded to their ASCII base
# (the A00 ROM has no accents) unless the board's `charmap` {code point: LCD code} says otherwise;
# anything else is "?".
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

# PCF8574 port bits
_RS = const(0x01)
_E = const(0x04)
_BL = const(0x08)

# HD44780U instructions (datasheet Table 6)
_CLEAR_DISPLAY = const(0x01)    # 1.52 ms
_ENTRY_MODE_SET = const(0x06)   # I/D=1 increment, S=0 no display shift
_DISPLAY_OFF = const(0x08)      # Display on/off control, D=0
_DISPLAY_ON = const(0x0C)       # D=1, cursor C=0, blink B=0
_FUNCTION_SET = const(0x28)     # DL=0 4-bit, N=1 two lines, F=0 5x8 dots
_SET_CGRAM_ADDR = const(0x40)
_SET_DDRAM_ADDR = const(0x80)

_POWER_ON_MS = const(50)    # "wait for more than 40 ms after VCC rises to 2.7 V" (Figure 24)
_CLEAR_MS = const(2)

# Latin-1 0xC0..0xFF folded to ASCII (e acute -> e, C cedilla -> C ...)
_LATIN1 = const(b"AAAAAAACEEEEIIIIDNOOOOOxOUUUUYPsaaaaaaaceeeeiiiidnooooo/ouuuuypy")


class HD44780:
    arabic = False      # 8 user glyphs only: shaped Arabic cannot be shown (wasl.ui.screen shows French)

    def __init__(self, i2c, addr=0x27, rows=4, cols=20, backlight=True, charmap=None, sleep_ms=None):
        self.i2c = i2c
        self.addr = addr
        self.rows = rows
        self.cols = cols
        self.charmap = charmap
        self._sleep = sleep_ms or _sleep_ms
        self._bl = _BL if backlight else 0
        # one row's write: RS setup, Set DDRAM address (4), RS setup, 4 per character (define_char: 38)
        self._buf = bytearray(max(4 * cols + 6, 38))
        self._frame = bytearray(rows * cols)       # what DDRAM holds, row by row
        self._last = [None] * rows                 # the string each row last showed
        self._next = 0
        self._init()

    # ---- the wire -------------------------------------------------------------------------------

    def _put(self, i, byte, rs):
        """Write the 4 port bytes of one 8-bit transfer at buf[i:i+4] (high nibble first)."""
        b = self._buf
        ctl = self._bl | rs
        hi = (byte & 0xF0) | ctl
        lo = ((byte << 4) & 0xF0) | ctl
        b[i] = hi | _E
        b[i + 1] = hi
        b[i + 2] = lo | _E
        b[i + 3] = lo

    def _cmd(self, byte):
        b = self._buf
        b[0] = self._bl                            # RS=0, E=0: setup
        self._put(1, byte, 0)
        self.i2c.writeto(self.addr, memoryview(b)[:5])

    def _nibble(self, n):
        """Init only: one nibble while the controller may still be in 8-bit mode."""
        b = self._buf
        b[0] = self._bl
        b[1] = (n << 4) | self._bl | _E
        b[2] = (n << 4) | self._bl
        self.i2c.writeto(self.addr, memoryview(b)[:3])

    def _init(self):
        """Initializing by instruction, 4-bit interface (datasheet Figure 24): three "function set
        8-bit" nibbles (0x3) bring the controller to a known state from any state (8-bit, 4-bit, or 4-bit
        with half a byte received), the fourth (0x2) selects 4 bits; the 0x33, 0x32 of many drivers."""
        self._sleep(_POWER_ON_MS)
        self._nibble(0x3)
        self._sleep(5)                             # > 4.1 ms
        self._nibble(0x3)
        self._sleep(1)                             # > 100 us
        self._nibble(0x3)
        self._sleep(1)
        self._nibble(0x2)
        self._sleep(1)
        self._cmd(_FUNCTION_SET)
        self._cmd(_DISPLAY_OFF)
        self.clear()
        self._cmd(_ENTRY_MODE_SET)
        self._cmd(_DISPLAY_ON)

    # ---- API ------------------------------------------------------------------------------------

    def clear(self):
        self._cmd(_CLEAR_DISPLAY)
        self._sleep(_CLEAR_MS)
        f = self._frame
        for i in range(len(f)):
            f[i] = 0x20
        for r in range(self.rows):
            self._last[r] = None

    def backlight(self, on):
        self._bl = _BL if on else 0
        b = self._buf
        b[0] = self._bl
        self.i2c.writeto(self.addr, memoryview(b)[:1])

    def display(self, on):
        """Display on/off control (DDRAM is kept)."""
        self._cmd(_DISPLAY_ON if on else _DISPLAY_OFF)

    def define_char(self, slot, bitmap):
        """Load a 5x8 glyph (8 bytes, one per pixel row, bits 4..0) into CGRAM slot 0..7: the character
        "\\x0N" then shows it. Glyphs already on the screen change at once."""
        if not 0 <= slot <= 7 or len(bitmap) != 8:
            raise ValueError("slot 0..7, 8 rows")
        b = self._buf
        b[0] = self._bl
        self._put(1, _SET_CGRAM_ADDR | (slot << 3), 0)
        b[5] = self._bl | _RS
        for i in range(8):
            self._put(6 + 4 * i, bitmap[i] & 0x1F, _RS)
        self.i2c.writeto(self.addr, memoryview(b)[:38])

    def show(self, rows):
        n = len(rows)
        for r in range(self.rows):
            s = rows[r] if r < n else ""
            if s is self._last[r] or s == self._last[r]:
                continue
            self._row(r, s)
            self._last[r] = s

    def _row(self, r, s):
        """Encode row r's characters into the buffer; write them only if DDRAM differs."""
        data = s.encode()
        cols = self.cols
        base = r * cols
        frame = self._frame
        changed = False
        i = 0                                      # byte in data
        c = 0                                      # cell on the row
        while c < cols:
            if i < len(data):
                code = data[i]
                i += 1
                if code >= 0x80:
                    code = self._utf8(data, code, i)
                    i = self._next
            else:
                code = 0x20
            if frame[base + c] != code:
                changed = True
            self._put(6 + 4 * c, code, _RS)
            c += 1
        if not changed:
            return
        b = self._buf
        b[0] = self._bl
        addr = (0x40 if r & 1 else 0) + (cols if r & 2 else 0)    # row starts: 00 40 (+cols) 14 54
        self._put(1, _SET_DDRAM_ADDR | addr, 0)
        b[5] = self._bl | _RS
        self.i2c.writeto(self.addr, memoryview(b)[:6 + 4 * cols])
        for c in range(cols):
            frame[base + c] = (b[6 + 4 * c] & 0xF0) | (b[8 + 4 * c] >> 4)

    def _utf8(self, data, lead, i):
        """The LCD code of the multi-byte UTF-8 character starting with `lead` (its continuation bytes
        from data[i]); the index after it is left in self._next (no tuple to allocate)."""
        if lead >= 0xF0:
            n, cp = 3, lead & 0x07
        elif lead >= 0xE0:
            n, cp = 2, lead & 0x0F
        else:
            n, cp = 1, lead & 0x1F
        while n and i < len(data):
            cp = (cp << 6) | (data[i] & 0x3F)
            i += 1
            n -= 1
        self._next = i
        m = self.charmap
        if m is not None and cp in m:
            return m[cp]
        if 0xC0 <= cp <= 0xFF:
            return _LATIN1[cp - 0xC0]
        return 0x3F
