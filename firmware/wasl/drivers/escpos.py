# ESC/POS thermal printer (58 mm, 32 columns in font A) on a byte stream (UART on the device).
# Only the commands Wasl needs; each is a few bytes, written as the line goes.
try:
    from micropython import const
except ImportError:
    def const(x):
        return x

_ESC = const(0x1B)
_GS = const(0x1D)

ALIGN = {"l": 0, "c": 1, "r": 2}


class EscPos:
    """codepage: ESC t n of the Latin text (None: the printer's default). arabic_codepage: ESC t n of the
    printer's CP864 (Arabic presentation forms), a board fact that differs by model; None when the
    printer has none, and Arabic lines then print as raster (wasl.drivers.escpos_arabic)."""

    def __init__(self, uart, cols=32, codepage=None, arabic_codepage=None):
        self.uart = uart
        self.cols = cols
        self.codepage = codepage
        self.arabic_codepage = arabic_codepage
        self._cmd = bytearray(3)

    def _w3(self, a, b, c):
        cmd = self._cmd
        cmd[0] = a
        cmd[1] = b
        cmd[2] = c
        self.uart.write(cmd)

    def begin(self):
        self.uart.write(b"\x1b@")                 # ESC @ initialise
        if self.codepage is not None:
            self._w3(_ESC, 0x74, self.codepage)    # ESC t n code page

    def line(self, text, align="l", bold=False, big=False):
        self._w3(_ESC, 0x61, ALIGN[align])         # ESC a n justification
        self._w3(_ESC, 0x45, 1 if bold else 0)     # ESC E n emphasis
        self._w3(_GS, 0x21, 0x11 if big else 0)    # GS ! n character size
        self.uart.write(text.encode())
        self.uart.write(b"\n")

    def feed(self, n=1):
        self._w3(_ESC, 0x64, n)                    # ESC d n print and feed n lines

    def cut(self):
        self.feed(3)
        self._w3(_GS, 0x56, 1)                     # GS V 1 partial cut
        self.uart.flush()                          # returns once the bytes have left

    def print_lines(self, lines):
        """lines: iterable of (align, style, text), style one of '', 'b' (bold), 'B' (bold, double size)."""
        self.begin()
        for align, style, text in lines:
            self.line(text, align, bold=bool(style), big=style == "B")
        self.cut()
