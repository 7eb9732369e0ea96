# Battery voltage on an ADC pin through a resistor divider. The board gives the ADC object (on the
# ESP32: machine.ADC(Pin(34), atten=ADC.ATTN_11DB)), the divider ratio (Vbattery / Vpin, e.g. 2.0 for
# two equal resistors), the state-of-charge table and the low threshold: all data.
# read_uv() (the ESP32's calibrated reading) is used when the ADC has it, else read_u16() scaled to
# vref_mv. low() is what the application asks before it starts a transaction: a terminal that dies
# mid-transaction leaves a reversal to send and a customer unsure whether they paid.

# One Li-ion cell at rest: (millivolts, percent), highest first. Linear between points.
LIION_1S = ((4200, 100), (4100, 90), (4000, 78), (3900, 65), (3800, 50), (3700, 32), (3600, 15),
            (3500, 6), (3400, 2), (3300, 0))


class Battery:
    def __init__(self, adc, ratio=2.0, samples=16, low_mv=3500, table=LIION_1S, vref_mv=3300,
                 hysteresis_mv=50):
        self.adc = adc
        self.ratio = ratio
        self.samples = max(1, samples)
        self.low_mv = low_mv
        self.table = table
        self.vref_mv = vref_mv
        self.hysteresis_mv = hysteresis_mv
        self._uv = getattr(adc, "read_uv", None)
        self._low = False

    def pin_uv(self):
        """Average of `samples` readings at the ADC pin, microvolts."""
        total = 0
        n = self.samples
        read = self._uv
        if read is not None:
            for _ in range(n):
                total += read()
            return total // n
        for _ in range(n):
            total += self.adc.read_u16()
        return total * self.vref_mv * 1000 // (65535 * n)

    def millivolts(self):
        """The battery's voltage (before the divider), millivolts."""
        return int(self.pin_uv() * self.ratio) // 1000

    def percent(self, mv=None):
        """State of charge from the table, 0..100."""
        if mv is None:
            mv = self.millivolts()
        t = self.table
        if mv >= t[0][0]:
            return t[0][1]
        for i in range(1, len(t)):
            hi_mv, hi_pc = t[i - 1]
            lo_mv, lo_pc = t[i]
            if mv >= lo_mv:
                return lo_pc + (hi_pc - lo_pc) * (mv - lo_mv) // (hi_mv - lo_mv)
        return t[-1][1]

    def low(self, mv=None):
        """True below low_mv; once low, stays low until the voltage is back above low_mv + hysteresis
        (a load dip or a charger's ripple does not flip it back and forth)."""
        if mv is None:
            mv = self.millivolts()
        limit = self.low_mv + (self.hysteresis_mv if self._low else 0)
        self._low = mv < limit
        return self._low
