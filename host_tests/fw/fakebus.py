# Fake hardware for the driver tests (host_tests/fw/test_drv_*.py), on CPython and on the unix port.
#
# The buses log every transfer and hand the bytes to a virtual device (host_tests/fw/vdev_*.py)
# attached at an I2C address or behind a chip-select pin, the way the real part would see them.
# A virtual clock (VClock) stands for time: buses advance it by the time the bytes take on the wire
# and a driver given `sleep_ms=clock.sleep_ms` advances it instead of sleeping, so a device model can
# check the datasheet's timings (busy times, power-on waits) without the tests waiting for real.
#
# Device interfaces (all optional):
#   I2C:  i2c_write(data) per write transaction, or i2c_write_byte(b) per byte (with the clock
#         advanced byte by byte); i2c_read(n) -> n bytes
#   SPI:  spi_xfer(mosi) -> miso of the same length, called only while the device's CS pin is low;
#         spi_cs(active) on each CS edge
import errno

_ENODEV = errno.ENODEV if hasattr(errno, "ENODEV") else 19


class VClock:
    """Virtual time in nanoseconds."""

    def __init__(self):
        self.ns = 0

    def advance_ns(self, ns):
        self.ns += int(ns)

    def sleep_ms(self, ms):
        self.ns += int(ms) * 1000000

    def sleep_us(self, us):
        self.ns += int(us) * 1000

    @property
    def us(self):
        return self.ns // 1000

    @property
    def ms(self):
        return self.ns // 1000000


class FakePin:
    """machine.Pin: value(), on/off, init(mode, pull, value=), irq() stub. An input's level comes from
    `source(arg)` when set (a device model), else from the last value written (or set_input()).
    `on_change(pin, level)` is called when an output changes. No allocation in value()."""

    IN = 1
    OUT = 3
    OPEN_DRAIN = 7
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_FALLING = 2
    IRQ_RISING = 1

    def __init__(self, name="pin", mode=-1, pull=-1, value=None):
        self.name = name
        self.mode = mode
        self.pull = pull
        self._v = 1 if value else 0
        self.source = None
        self.arg = 0
        self.on_change = None
        self.irq_handler = None
        self.writes = 0

    def init(self, mode=-1, pull=-1, value=None):
        if mode != -1:
            self.mode = mode
        if pull != -1:
            self.pull = pull
        if value is not None:
            self.value(value)

    def value(self, v=None):
        if v is None:
            if self.source is not None:
                return self.source(self.arg)
            return self._v
        v = 1 if v else 0
        self.writes += 1
        if v != self._v:
            self._v = v
            if self.on_change is not None:
                self.on_change(self, v)
        return None

    def __call__(self, v=None):
        return self.value(v)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def set_input(self, level):
        self._v = 1 if level else 0

    def irq(self, handler=None, trigger=3):
        self.irq_handler = handler
        return None


class FakeI2C:
    """machine.I2C. log: ("w", addr, bytes) / ("r", addr, bytes) per transaction. A missing device
    raises OSError(ENODEV) like the port does. freq sets the wire time the clock advances per byte
    (9 bits a byte, plus the address byte)."""

    def __init__(self, clock=None, freq=100000):
        self.clock = clock or VClock()
        self.freq = freq
        self.devices = {}
        self.log = []

    def attach(self, addr, dev):
        self.devices[addr] = dev
        return dev

    def detach(self, addr):
        self.devices.pop(addr, None)

    def scan(self):
        return sorted(self.devices)

    def _byte_ns(self):
        return 9 * 1000000000 // self.freq

    def _dev(self, addr):
        dev = self.devices.get(addr)
        self.clock.advance_ns(self._byte_ns())        # START + address byte, NACKed or not
        if dev is None:
            self.log.append(("nodev", addr, b""))
            raise OSError(_ENODEV)
        return dev

    def writeto(self, addr, buf, stop=True):
        dev = self._dev(addr)
        data = bytes(buf)
        self.log.append(("w", addr, data))
        if hasattr(dev, "i2c_write_byte"):
            for b in data:
                self.clock.advance_ns(self._byte_ns())
                dev.i2c_write_byte(b)
        else:
            self.clock.advance_ns(self._byte_ns() * len(data))
            dev.i2c_write(data)
        return len(data)

    def writevto(self, addr, vector, stop=True):
        return self.writeto(addr, b"".join(bytes(v) for v in vector), stop)

    def readfrom_into(self, addr, buf, stop=True):
        dev = self._dev(addr)
        n = len(buf)
        data = bytes(dev.i2c_read(n))
        assert len(data) == n, "device returned %d bytes for %d" % (len(data), n)
        self.clock.advance_ns(self._byte_ns() * n)
        buf[:] = data
        self.log.append(("r", addr, data))

    def readfrom(self, addr, n, stop=True):
        buf = bytearray(n)
        self.readfrom_into(addr, buf, stop)
        return bytes(buf)

    def writeto_mem(self, addr, memaddr, buf, addrsize=8):
        self.writeto(addr, bytes((memaddr,)) + bytes(buf))

    def readfrom_mem(self, addr, memaddr, n, addrsize=8):
        self.writeto(addr, bytes((memaddr,)), False)
        return self.readfrom(addr, n)

    def writes(self, addr=None):
        return [d for op, a, d in self.log if op == "w" and (addr is None or a == addr)]

    def clear(self):
        self.log = []


def bitrev(b):
    r = 0
    for i in range(8):
        if b & (1 << i):
            r |= 0x80 >> i
    return r


class FakeSPI:
    """machine.SPI. Devices sit behind CS pins (active low); a transfer goes to the one selected
    device (none selected: MISO reads 0xFF). firstbit: FakeSPI.MSB or FakeSPI.LSB, the order bits
    leave in; a device model always sees the bytes as an LSB-first part reads them when its
    `lsb_first` attribute is true (so with an MSB-first bus it receives them bit-reversed).
    log: ("x", cs name, mosi, miso) per call."""

    MSB = 0
    LSB = 1

    def __init__(self, clock=None, baudrate=10000000, firstbit=0):
        self.clock = clock or VClock()
        self.baudrate = baudrate
        self.firstbit = firstbit
        self.devices = []
        self.log = []

    def attach(self, cs, dev):
        self.devices.append((cs, dev))
        prev = cs.on_change

        def edge(pin, level):
            if prev is not None:
                prev(pin, level)
            if hasattr(dev, "spi_cs"):
                dev.spi_cs(level == 0)
        cs.on_change = edge
        return dev

    def _xfer(self, mosi):
        mosi = bytes(mosi)
        self.clock.advance_ns(len(mosi) * 8 * 1000000000 // self.baudrate)
        sel = [(cs, d) for cs, d in self.devices if cs.value() == 0]
        if len(sel) != 1:
            miso = b"\xff" * len(mosi)
            self.log.append(("x", None if not sel else "contention", mosi, miso))
            return miso
        cs, dev = sel[0]
        flip = getattr(dev, "lsb_first", False) and self.firstbit == self.MSB
        seen = bytes(bitrev(b) for b in mosi) if flip else mosi
        out = bytes(dev.spi_xfer(seen))
        assert len(out) == len(mosi)
        miso = bytes(bitrev(b) for b in out) if flip else out
        self.log.append(("x", cs.name, mosi, miso))
        return miso

    def write(self, buf):
        self._xfer(buf)

    def read(self, n, write=0):
        return self._xfer(bytes((write,)) * n)

    def readinto(self, buf, write=0):
        buf[:] = self._xfer(bytes((write,)) * len(buf))

    def write_readinto(self, out, into):
        into[:] = self._xfer(out)

    def mosi(self, cs_name=None):
        return b"".join(m for _, n, m, _ in self.log if cs_name is None or n == cs_name)


class FakeADC:
    """machine.ADC: read_uv() gives the next of `samples_uv` (cycling), read_u16() the same value
    scaled to a 3.3 V full scale. with_uv=False removes read_uv (a port without calibration)."""

    def __init__(self, samples_uv=(0,), full_scale_uv=3300000, with_uv=True):
        self.samples = list(samples_uv)
        self.full = full_scale_uv
        self.i = 0
        self.reads = 0
        if not with_uv:
            self.read_uv = None

    def _next(self):
        v = self.samples[self.i % len(self.samples)]
        self.i += 1
        self.reads += 1
        return v

    def read_uv(self):
        return self._next()

    def read_u16(self):
        return min(65535, self._next() * 65535 // self.full)


class FakePWM:
    """machine.PWM: log of ("freq", hz) and ("duty", duty_u16), each with a ms timestamp."""

    def __init__(self, ticks=None):
        self.log = []
        self._f = 0
        self._d = 0
        self._ticks = ticks
        self.deinited = False

    def _t(self):
        return self._ticks() if self._ticks else 0

    def freq(self, f=None):
        if f is None:
            return self._f
        self._f = f
        self.log.append(("freq", f, self._t()))

    def duty_u16(self, d=None):
        if d is None:
            return self._d
        self._d = d
        self.log.append(("duty", d, self._t()))

    def deinit(self):
        self.deinited = True

    def sounding(self):
        return self._d != 0

    def tones(self):
        """The tones heard: [(freq, duty)] at each duty change to non-zero."""
        out = []
        for kind, v, _ in self.log:
            if kind == "duty" and v:
                out.append(self._f_at(len(out)))
        return out

    def _f_at(self, k):
        n = -1
        f = 0
        for kind, v, _ in self.log:
            if kind == "freq":
                f = v
            elif kind == "duty" and v:
                n += 1
                if n == k:
                    return f
        return f


class FakeUART:
    """machine.UART: the device side feeds bytes in with feed(); the driver reads them with any(),
    read(), readinto(). Writes are logged in `written`."""

    def __init__(self):
        self.rx = bytearray()
        self.written = bytearray()

    def feed(self, data):
        self.rx.extend(data)

    def any(self):
        return len(self.rx)

    def read(self, n=-1):
        if not self.rx:
            return None
        if n < 0:
            n = len(self.rx)
        out = bytes(self.rx[:n])
        self.rx = self.rx[n:]
        return out

    def readinto(self, buf, n=-1):
        if not self.rx:
            return None
        if n < 0 or n > len(buf):
            n = len(buf)
        n = min(n, len(self.rx))
        buf[:n] = self.rx[:n]
        self.rx = self.rx[n:]
        return n

    def write(self, data):
        self.written.extend(data)
        return len(data)


class FakeTimer:
    """machine.Timer: init(mode=, period=, callback=), fire() calls the callback as the timer would."""

    PERIODIC = 1
    ONE_SHOT = 0

    def __init__(self):
        self.callback = None
        self.period = None
        self.mode = None

    def init(self, mode=1, period=-1, callback=None, freq=-1):
        self.mode = mode
        self.period = period
        self.callback = callback

    def deinit(self):
        self.callback = None

    def fire(self):
        if self.callback is not None:
            self.callback(self)
