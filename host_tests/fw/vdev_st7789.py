# An ST7789 controller behind a chip select on fakebus.FakeSPI: the DC pin splits commands from
# parameters, CASET/RASET set the window, RAMWR streams RGB565 pixels (high byte first) into it left to
# right, top to bottom, wrapping at the window's end (datasheet 8.9 / 9.1). Frame memory is 240x320.
# `errors` records what the datasheet forbids: a command within 5 ms of SWRESET, SLPOUT or a hardware
# reset, SLPOUT within 120 ms of a reset, pixels before COLMOD 16-bit, a wrong parameter count.
_NPARAMS = {0x2A: 4, 0x2B: 4, 0x3A: 1, 0x36: 1}
_KNOWN = (0x00, 0x01, 0x10, 0x11, 0x12, 0x13, 0x20, 0x21, 0x28, 0x29, 0x2A, 0x2B, 0x2C, 0x36, 0x3A)


class ST7789Model:
    def __init__(self, clock, dc, rst=None, mem_w=240, mem_h=320):
        self.clock = clock
        self.dc = dc
        self.mem_w = mem_w
        self.mem_h = mem_h
        self.mem = bytearray(mem_w * mem_h * 2)
        self.errors = []
        self.commands = []          # (command, params bytes) completed, RAMWR with its pixel count
        self._reset_state()
        self.resets = 0
        if rst is not None:
            rst.on_change = self._rst

    def _reset_state(self):
        self.sleeping = True
        self.display_on = False
        self.inverted = False
        self.colmod = 0x66          # 18 bits/pixel after reset
        self.madctl = 0
        self.xs, self.xe, self.ys, self.ye = 0, 239, 0, 319
        self.x = self.y = 0
        self.cmd = None
        self.params = bytearray()
        self.half = None            # RAMWR: first byte of a pixel
        self.pixels = 0
        self.quiet_until = 0        # no command before this (ns)
        self.slpout_after = 0       # no SLPOUT before this (ns)

    def _rst(self, pin, level):
        if level == 1:                              # RESX released: a hardware reset
            self._finish()
            self._reset_state()
            self.resets += 1
            self.quiet_until = self.clock.ns + 5000000
            self.slpout_after = self.clock.ns + 120000000

    def spi_cs(self, active):
        if not active:
            self._finish()

    def spi_xfer(self, mosi):
        if self.dc.value():
            for b in mosi:
                self._param(b)
        else:
            for b in mosi:
                self._command(b)
        return bytes(len(mosi))

    def _finish(self):
        """The current command ends (a new command or CS high)."""
        c = self.cmd
        if c is None:
            return
        if c == 0x2C:
            self.commands.append((c, self.pixels))
        else:
            n = _NPARAMS.get(c, 0)
            if len(self.params) != n:
                self.errors.append("command 0x%02x with %d parameters, needs %d" % (c, len(self.params), n))
            self.commands.append((c, bytes(self.params)))
        self.cmd = None

    def _command(self, c):
        self._finish()
        now = self.clock.ns
        if now < self.quiet_until:
            self.errors.append("command 0x%02x %d us too early" % (c, (self.quiet_until - now) // 1000))
        if c not in _KNOWN:
            self.errors.append("unknown command 0x%02x" % c)
        self.cmd = c
        self.params = bytearray()
        if c == 0x01:                               # SWRESET
            self._reset_state()
            self.cmd = c
            self.quiet_until = now + 5000000
            self.slpout_after = now + 120000000
        elif c == 0x11:                             # SLPOUT
            if now < self.slpout_after:
                self.errors.append("SLPOUT within 120 ms of a reset")
            self.sleeping = False
            self.quiet_until = now + 5000000
        elif c == 0x10:
            self.sleeping = True
        elif c in (0x20, 0x21):
            self.inverted = c == 0x21
        elif c in (0x28, 0x29):
            self.display_on = c == 0x29
        elif c == 0x2C:                             # RAMWR: pointer to the window's start
            self.x, self.y = self.xs, self.ys
            self.half = None
            self.pixels = 0

    def _param(self, b):
        c = self.cmd
        if c is None:
            self.errors.append("data byte with no command")
            return
        if c == 0x2C:
            self._pixel_byte(b)
            return
        self.params.append(b)
        p = self.params
        if c == 0x2A and len(p) == 4:
            self.xs, self.xe = (p[0] << 8) | p[1], (p[2] << 8) | p[3]
        elif c == 0x2B and len(p) == 4:
            self.ys, self.ye = (p[0] << 8) | p[1], (p[2] << 8) | p[3]
        elif c == 0x3A and len(p) == 1:
            self.colmod = b
        elif c == 0x36 and len(p) == 1:
            self.madctl = b

    def _pixel_byte(self, b):
        if self.colmod & 0x0F != 0x05:
            if self.pixels == 0 and self.half is None:
                self.errors.append("pixels before COLMOD 16 bits/pixel")
        if self.half is None:
            self.half = b
            return
        if self.x < self.mem_w and self.y < self.mem_h:
            i = 2 * (self.y * self.mem_w + self.x)
            self.mem[i] = self.half
            self.mem[i + 1] = b
        else:
            self.errors.append("pixel outside frame memory (%d, %d)" % (self.x, self.y))
        self.half = None
        self.pixels += 1
        if self.x >= self.xe:
            self.x = self.xs
            self.y = self.ys if self.y >= self.ye else self.y + 1
        else:
            self.x += 1

    def pixel(self, x, y):
        i = 2 * (y * self.mem_w + x)
        return (self.mem[i] << 8) | self.mem[i + 1]
