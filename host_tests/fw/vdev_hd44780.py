# A PCF8574 I2C backpack driving an HD44780 controller, decoded from the bytes on the wire.
#
# PCF8574: every byte written becomes the port's 8 outputs at once (P0 RS, P1 R/W, P2 E, P3
# backlight, P4..P7 DB4..DB7); at power-on all outputs are high. HD44780: latches DB4..DB7 on E's
# falling edge (a read when R/W is high: ignored); powers up in 8-bit mode (DB0..DB3 read as 0 on a
# backpack), switches to 4-bit on a function set with DL=0, then takes each byte as two nibbles, high
# first. The model keeps DDRAM (80 characters as 2 lines of 40) and CGRAM (8 glyphs of 8 rows), and
# records in `errors` what breaks the datasheet: an instruction while the previous one is still
# executing (busy times of Table 6 at fosc 270 kHz, clock from fakebus.VClock), anything before the
# 40 ms power-on wait, RS or R/W changing on the byte that raises E, DB changing on the byte that
# lowers it.
_RS = 0x01
_RW = 0x02
_E = 0x04
_BL = 0x08


class HD44780Model:
    def __init__(self, clock, rows=4, cols=20, mode8=True, half=None):
        self.clock = clock
        self.rows = rows
        self.cols = cols
        self.port = 0xFF                  # PCF8574 outputs after power-on
        self.mode8 = mode8                # True after power-on reset
        self.half = half                  # high nibble received, low one awaited (4-bit mode)
        self.ddram = bytearray(b" " * 128)
        self.cgram = bytearray(64)
        self.ac = 0
        self.cg = False                   # address counter points into CGRAM
        self.increment = True
        self.display_on = False
        self.lines2 = False
        self.busy_until = 0
        self.init_fs = 0 if mode8 else 3  # power-on 8-bit function sets seen (their waits differ)
        self.errors = []
        self.instructions = []            # (rs, byte) executed, in order
        self.pulses = 0

    # ---- PCF8574 --------------------------------------------------------------------------------

    def i2c_write_byte(self, b):
        prev = self.port
        self.port = b
        if b & _E and not prev & _E:                      # E rises
            if (b ^ prev) & (_RS | _RW):
                self.errors.append("RS/RW changed as E rose (setup time)")
        elif prev & _E and not b & _E and not prev & _RW:  # E falls on a write: latch
            if (b ^ prev) & 0xF3:
                self.errors.append("DB/RS/RW changed as E fell (hold time)")
            self.pulses += 1
            self._nibble(prev & _RS, prev >> 4)

    def i2c_read(self, n):
        return bytes((self.port,)) * n

    @property
    def backlight(self):
        return bool(self.port & _BL)

    # ---- HD44780 --------------------------------------------------------------------------------

    def _nibble(self, rs, n):
        if self.mode8:
            self._execute(rs, n << 4)
        elif self.half is None:
            self.half = n
        else:
            v = (self.half << 4) | n
            self.half = None
            self._execute(rs, v)

    def _execute(self, rs, v):
        now = self.clock.us
        if now < 40000:
            self.errors.append("instruction 0x%02x %d us after power-on (needs 40 ms)" % (v, now))
        elif now < self.busy_until:
            self.errors.append("instruction 0x%02x while busy (%d us early)" % (v, self.busy_until - now))
            return
        self.instructions.append((rs, v))
        busy = 37
        if rs:
            if self.cg:
                self.cgram[self.ac & 0x3F] = v & 0x1F
                self.ac = (self.ac + 1) & 0x3F
            else:
                self.ddram[self.ac] = v
                self.ac = self._next(self.ac)
            busy = 41
        elif v == 0x01:                                   # Clear display
            for i in range(128):
                self.ddram[i] = 0x20
            self.ac = 0
            self.cg = False
            self.increment = True
            busy = 1520
        elif v & 0xFE == 0x02:                            # Return home
            self.ac = 0
            self.cg = False
            busy = 1520
        elif v & 0xFC == 0x04:                            # Entry mode set
            self.increment = bool(v & 2)
        elif v & 0xF8 == 0x08:                            # Display on/off control
            self.display_on = bool(v & 4)
        elif v & 0xF0 == 0x10:                            # Cursor or display shift
            pass
        elif v & 0xE0 == 0x20:                            # Function set
            if self.mode8 and self.init_fs < 3:
                self.init_fs += 1
                busy = 4100 if self.init_fs == 1 else 100 if self.init_fs == 2 else 37
            if v & 0x10:
                self.mode8 = True
                self.half = None
            else:
                self.mode8 = False
                self.init_fs = 3
            self.lines2 = bool(v & 0x08)
        elif v & 0xC0 == 0x40:                            # Set CGRAM address
            self.ac = v & 0x3F
            self.cg = True
        else:                                             # Set DDRAM address
            self.ac = v & 0x7F
            self.cg = False
        self.busy_until = now + busy

    def _next(self, a):
        if not self.increment:
            return (a - 1) & 0x7F
        if a == 0x27:
            return 0x40
        if a == 0x67:
            return 0x00
        return (a + 1) & 0x7F

    # ---- what the glass shows -------------------------------------------------------------------

    def row_addr(self, r):
        return (0x40 if r & 1 else 0) + (self.cols if r & 2 else 0)

    def row_codes(self, r):
        a = self.row_addr(r)
        return bytes(self.ddram[a:a + self.cols])

    def row_text(self, r):
        return "".join(chr(c) for c in self.row_codes(r))

    def text(self):
        return [self.row_text(r) for r in range(self.rows)]

    def glyph(self, slot):
        return bytes(self.cgram[slot * 8:slot * 8 + 8])
