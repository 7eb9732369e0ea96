# A stand-in for the ESP32's `machine` module on the MicroPython unix port, for host_tests/test_boards.py:
# put this directory first on MICROPYPATH and a board's build() runs against it. Every constructor and
# every call is recorded in LOG as a tuple (class name, object id, what, args...); buses accept any write
# and read zeros. It checks what the ESP32 would refuse: flash pins, an output on an input-only pin, a
# pin claimed twice, a bus id made twice with other pins.
LOG = []
CLAIMED = {}        # GPIO -> what took it
PRESSED = set()     # (row GPIO, column GPIO) of keypad keys held down: the column reads low while its row is
PINS = {}           # GPIO -> the latest Pin made for it
_BUSES = {}         # (kind, id) -> pins
_N = [0]


def _id():
    _N[0] += 1
    return _N[0]


def _pin_no(p):
    return p.id if isinstance(p, Pin) else p


def _claim(n, what):
    if n is None:
        return
    if not (0 <= n <= 39) or 6 <= n <= 11 or n in (20, 24, 28, 29, 30, 31):
        raise ValueError("invalid pin %r for %s" % (n, what))
    if n in CLAIMED and CLAIMED[n] != what:
        raise ValueError("GPIO%d taken by %s, asked for by %s" % (n, CLAIMED[n], what))
    CLAIMED[n] = what


def reset_log():
    LOG[:] = []
    CLAIMED.clear()
    _BUSES.clear()
    PRESSED.clear()
    PINS.clear()


class Pin:
    IN = 1
    OUT = 3
    OPEN_DRAIN = 7
    PULL_UP = 1
    PULL_DOWN = 2

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id = id
        self.mode = mode
        self.pull = pull
        self._v = 0 if value is None else value
        self.n = _id()
        PINS[id] = self
        LOG.append(("Pin", self.n, "new", id, mode, pull, value))
        self._check()

    def _check(self):
        if self.mode == Pin.OUT and 34 <= self.id <= 39:
            raise ValueError("GPIO%d is input only" % self.id)
        if self.pull == Pin.PULL_UP and 34 <= self.id <= 39:
            raise ValueError("GPIO%d has no pull-up" % self.id)

    def init(self, mode=-1, pull=-1, value=None):
        if mode != -1:
            self.mode = mode
        if pull != -1:
            self.pull = pull
        if value is not None:
            self._v = value
        LOG.append(("Pin", self.n, "init", self.id, mode, pull, value))
        self._check()

    def value(self, v=None):
        if v is None:
            if self.mode == Pin.OUT:
                return self._v
            for row, col in PRESSED:          # a held key joins its column to its row
                if col == self.id and row in PINS and PINS[row].mode == Pin.OUT and PINS[row]._v == 0:
                    return 0
            return 1                          # pulled up
        self._v = v

    def __call__(self, v=None):
        return self.value(v)

    def on(self):
        self._v = 1

    def off(self):
        self._v = 0


def _bus(kind, id, pins):
    key = (kind, id)
    if key in _BUSES and _BUSES[key] != pins:
        raise ValueError("%s(%d) made twice with other pins" % (kind, id))
    _BUSES[key] = pins
    for name in pins:
        _claim(pins[name], "%s(%d).%s" % (kind, id, name))


class I2C:
    def __init__(self, id, scl=None, sda=None, freq=400000, timeout=50000):
        self.n = _id()
        self.freq = freq
        self.scl = _pin_no(scl)
        self.sda = _pin_no(sda)
        _bus("I2C", id, {"scl": self.scl, "sda": self.sda})
        LOG.append(("I2C", self.n, "new", id, self.scl, self.sda, freq))
        self.writes = 0

    def scan(self):
        return []

    def writeto(self, addr, buf, stop=True):
        self.writes += 1
        return len(buf)

    def readfrom_into(self, addr, buf, stop=True):
        for i in range(len(buf)):
            buf[i] = 0

    def readfrom(self, addr, n, stop=True):
        return bytes(n)


class SPI:
    MSB = 0
    LSB = 1

    def __init__(self, id, baudrate=500000, polarity=0, phase=0, bits=8, firstbit=0, sck=None, mosi=None,
                 miso=None):
        self.n = _id()
        self.baudrate = baudrate
        self.firstbit = firstbit
        pins = {"sck": _pin_no(sck), "mosi": _pin_no(mosi), "miso": _pin_no(miso)}
        _bus("SPI", id, pins)
        LOG.append(("SPI", self.n, "new", id, baudrate, polarity, phase, firstbit, pins["sck"], pins["mosi"],
                    pins["miso"]))
        self.written = 0

    def write(self, buf):
        self.written += len(buf)

    def readinto(self, buf, write=0):
        for i in range(len(buf)):
            buf[i] = 0

    def write_readinto(self, out, into):
        self.written += len(out)
        for i in range(len(into)):
            into[i] = 0


class UART:
    def __init__(self, id, baudrate=115200, tx=None, rx=None, txbuf=256, rxbuf=256, **kw):
        if id == 0:
            raise ValueError("UART0 is the REPL")
        if tx is None or rx is None:
            raise ValueError("UART%d without tx or rx: the port would take its default pins" % id)
        self.n = _id()
        self.baudrate = baudrate
        self.txbuf = txbuf
        _bus("UART", id, {"tx": _pin_no(tx), "rx": _pin_no(rx)})
        LOG.append(("UART", self.n, "new", id, baudrate, _pin_no(tx), _pin_no(rx), txbuf))
        self.out = bytearray()

    def write(self, data):
        self.out += data
        return len(data)

    def any(self):
        return 0

    def read(self, n=-1):
        return None

    def readinto(self, buf, n=-1):
        return None

    def flush(self):
        pass


class PWM:
    def __init__(self, pin, freq=None, duty_u16=None):
        self.n = _id()
        self.pin = _pin_no(pin)
        if 34 <= self.pin <= 39:
            raise ValueError("GPIO%d is input only" % self.pin)
        self._f = freq or 0
        self._d = duty_u16 or 0
        LOG.append(("PWM", self.n, "new", self.pin, freq, duty_u16))

    def freq(self, f=None):
        if f is None:
            return self._f
        self._f = f

    def duty_u16(self, d=None):
        if d is None:
            return self._d
        self._d = d

    def deinit(self):
        self._d = 0


class ADC:
    ATTN_0DB = 0
    ATTN_11DB = 3

    def __init__(self, pin, atten=None):
        self.n = _id()
        self.pin = _pin_no(pin)
        if not 32 <= self.pin <= 39:
            raise ValueError("GPIO%d is not an ADC1 pin" % self.pin)
        LOG.append(("ADC", self.n, "new", self.pin, atten))

    def read_uv(self):
        return 1950000          # 3.9 V behind a 1:2 divider

    def read_u16(self):
        return 38700


class WDT:
    def __init__(self, id=0, timeout=5000):
        self.n = _id()
        self.timeout = timeout
        LOG.append(("WDT", self.n, "new", timeout))

    def feed(self):
        LOG.append(("WDT", self.n, "feed"))


class Timer:
    PERIODIC = 1
    ONE_SHOT = 0

    def __init__(self, id=-1):
        self.n = _id()
        LOG.append(("Timer", self.n, "new", id))

    def init(self, mode=1, period=-1, callback=None):
        LOG.append(("Timer", self.n, "init", mode, period))

    def deinit(self):
        pass


def reset():
    LOG.append(("machine", 0, "reset"))


def unique_id():
    return b"\x24\x0a\xc4\x00\x00\x01"


def freq(f=None):
    return 240000000
