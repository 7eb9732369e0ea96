# An SSD1306 OLED controller on I2C, rebuilt from the bytes on the wire: control byte (Co, D/C#),
# the command set with its parameter counts (datasheet section 9 / Table 9-1), the three addressing
# modes (page mode after reset, horizontal, vertical) and the GDDRAM (pages of 8 vertical pixels).
# `errors` records what the datasheet forbids or what leaves the glass dark.

# command -> number of parameter bytes
_PARAMS = {0x81: 1, 0x20: 1, 0x21: 2, 0x22: 2, 0xA8: 1, 0xD3: 1, 0xD5: 1, 0xD9: 1, 0xDA: 1, 0xDB: 1,
           0x8D: 1, 0xA3: 2, 0x26: 6, 0x27: 6, 0x29: 5, 0x2A: 5}
_SIMPLE = set([0xA4, 0xA5, 0xA6, 0xA7, 0xAE, 0xAF, 0xA0, 0xA1, 0xC0, 0xC8, 0xE3, 0x2E, 0x2F])


class SSD1306Model:
    def __init__(self, width=128, height=64):
        self.width = width
        self.height = height
        self.pages = 8
        self.gddram = [bytearray(128) for _ in range(8)]
        self.mode = 2                   # page addressing after reset
        self.col, self.col_lo, self.col_hi = 0, 0, 127
        self.page, self.page_lo, self.page_hi = 0, 0, 7
        self.display_on = False
        self.charge_pump = False
        self.mux = 63
        self.com_pins = 0x12
        self.contrast = 0x7F
        self.seg_remap = False
        self.com_remap = False
        self.commands = []              # (command, params) in order
        self.data_bytes = 0
        self.errors = []
        self._pending = None            # command awaiting parameters
        self._params = []

    def i2c_write(self, data):
        i = 0
        while i < len(data):
            ctl = data[i]
            i += 1
            if ctl & 0x3F:
                self.errors.append("control byte 0x%02x has low bits set" % ctl)
            co, dc = ctl & 0x80, ctl & 0x40
            if co:                                        # one byte, then another control byte
                if i < len(data):
                    (self._data if dc else self._command)(data[i])
                    i += 1
                continue
            for b in data[i:]:
                (self._data if dc else self._command)(b)
            return
        if self._pending is not None:
            pass                                          # parameters may come in the next write

    def _command(self, b):
        if self._pending is not None:
            self._params.append(b)
            if len(self._params) == _PARAMS[self._pending]:
                self._run(self._pending, self._params)
                self._pending = None
            return
        if b in _PARAMS:
            self._pending = b
            self._params = []
            return
        self._run(b, [])

    def _run(self, c, p):
        self.commands.append((c, tuple(p)))
        if c == 0xAE:
            self.display_on = False
        elif c == 0xAF:
            if not self.charge_pump:
                self.errors.append("display on with the charge pump off (internal VCC: dark)")
            self.display_on = True
        elif c == 0x8D:
            self.charge_pump = p[0] == 0x14
        elif c == 0x20:
            self.mode = p[0] & 3
            if self.mode == 3:
                self.errors.append("invalid addressing mode")
        elif c == 0x21:
            if self.mode == 2:
                self.errors.append("Set Column Address in page addressing mode")
            self.col_lo, self.col_hi = p[0] & 0x7F, p[1] & 0x7F
            self.col = self.col_lo
        elif c == 0x22:
            if self.mode == 2:
                self.errors.append("Set Page Address in page addressing mode")
            self.page_lo, self.page_hi = p[0] & 7, p[1] & 7
            self.page = self.page_lo
        elif c == 0x81:
            self.contrast = p[0]
        elif c == 0xA8:
            self.mux = p[0]
        elif c == 0xDA:
            self.com_pins = p[0]
        elif c in (0xA0, 0xA1):
            self.seg_remap = c == 0xA1
        elif c in (0xC0, 0xC8):
            self.com_remap = c == 0xC8
        elif 0xB0 <= c <= 0xB7:
            self.page = c & 7
        elif c <= 0x0F:
            self.col = (self.col & 0xF0) | c
        elif c <= 0x1F:
            self.col = (self.col & 0x0F) | ((c & 0x0F) << 4)
        elif 0x40 <= c <= 0x7F:
            pass                                          # display start line
        elif c not in _SIMPLE and c not in _PARAMS:
            self.errors.append("unknown command 0x%02x" % c)

    def _data(self, b):
        self.data_bytes += 1
        self.gddram[self.page][self.col] = b
        if self.mode == 0:                                # horizontal
            if self.col >= self.col_hi:
                self.col = self.col_lo
                self.page = self.page_lo if self.page >= self.page_hi else self.page + 1
            else:
                self.col += 1
        elif self.mode == 1:                              # vertical
            if self.page >= self.page_hi:
                self.page = self.page_lo
                self.col = self.col_lo if self.col >= self.col_hi else self.col + 1
            else:
                self.page += 1
        else:                                             # page mode: the column wraps in the page
            self.col = (self.col + 1) & 0x7F

    def pixel(self, x, y):
        return (self.gddram[y >> 3][x] >> (y & 7)) & 1

    def ram(self):
        return b"".join(bytes(p) for p in self.gddram)
