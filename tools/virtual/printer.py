"""A virtual ESC/POS 58 mm thermal printer: what sits at the far end of the printer UART.

The sim board forwards the raw bytes the firmware's ESC/POS driver writes (docs/sim-protocol.md);
this interpreter keeps them per paper cut together with a plain-text rendering (32 columns).
Unknown commands are counted, not guessed at.
"""


class VirtualPrinter:
    """An ESC/POS 58 mm printer on the far side of a UART: keeps the raw bytes of the current paper
    and a plain-text rendering (32 columns); reports each cut to the harness."""

    COLS = 32

    def __init__(self, on_cut):
        self._on_cut = on_cut
        self.raw = bytearray()
        self._pending = bytearray()
        self._reset_paper()

    def _reset_paper(self):
        self.lines = []
        self._line = bytearray()
        self.align = 0
        self.bold = 0
        self.size = 0
        self.unknown = 0

    # UART side ---------------------------------------------------------------------------------
    def feed(self, data):
        """Bytes arriving on the UART."""
        self._pending.extend(data)
        self._parse()

    # ESC/POS interpreter -----------------------------------------------------------------------
    def _need(self, n):
        return len(self._pending) >= n

    def _take(self, n):
        self.raw.extend(self._pending[:n])
        del self._pending[:n]

    def _parse(self):
        p = self._pending
        while p:
            b = p[0]
            if b == 0x0A:
                self._newline()
                self._take(1)
            elif b == 0x1B:
                if not self._need(2):
                    return
                c = p[1]
                if c == 0x40:                       # ESC @
                    self.align = self.bold = self.size = 0
                    self._take(2)
                elif c in (0x61, 0x45, 0x74, 0x64):  # ESC a / E / t / d  n
                    if not self._need(3):
                        return
                    n = p[2]
                    if c == 0x61:
                        self.align = n % 48 if n >= 48 else n
                    elif c == 0x45:
                        self.bold = n & 1
                    elif c == 0x64:
                        if self._line:
                            self._newline()
                        for _ in range(n):
                            self.lines.append("")
                    self._take(3)
                else:
                    self.unknown += 1
                    self._take(2)
            elif b == 0x1D:
                if not self._need(2):
                    return
                c = p[1]
                if c == 0x21:                       # GS ! n
                    if not self._need(3):
                        return
                    self.size = p[2]
                    self._take(3)
                elif c == 0x56:                     # GS V m [n]
                    if not self._need(3):
                        return
                    m = p[2]
                    if m in (65, 66):
                        if not self._need(4):
                            return
                        self._take(4)
                    else:
                        self._take(3)
                    self._cut()
                else:
                    self.unknown += 1
                    self._take(2)
            elif b < 0x20:
                self._take(1)
            else:
                self._line.append(b)
                self._take(1)

    def _newline(self):
        text = bytes(self._line).decode("latin-1")
        self._line = bytearray()
        scale = 2 if self.size & 0xF0 else 1      # GS ! n: bits 4-7 = width multiplier - 1
        width = self.COLS // scale
        while True:
            part, text = text[:width], text[width:]
            pad = width - len(part)
            if self.align == 1:
                part = " " * (pad // 2 * scale) + part
            elif self.align == 2:
                part = " " * (pad * scale) + part
            self.lines.append(part.rstrip())
            if not text:
                break

    def _cut(self):
        if self._line:
            self._newline()
        while self.lines and self.lines[-1] == "":
            self.lines.pop()
        self._on_cut("\n".join(self.lines), bytes(self.raw), self.unknown)
        self.raw = bytearray()
        self._reset_paper()
