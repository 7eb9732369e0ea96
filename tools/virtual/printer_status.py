"""The status side of a virtual ESC/POS printer: answers the real-time query DLE EOT n (10 04 n) with
the bits the Epson ESC/POS reference gives, from states a test sets (paper out, paper near end,
cover open, error, paper being fed by the FEED button, or no answer at all).

Like a real printer it answers a query wherever it meets one in the byte stream, even inside raster
data (the firmware's status reader drains such stray answers). It runs on CPython and on the
MicroPython unix port (the firmware's status tests use it on both), so it keeps to what both have.

    n=1 printer status      0x12 | 0x08 offline
    n=2 offline cause       0x12 | 0x04 cover open | 0x08 FEED button | 0x20 paper-end stop | 0x40 error
    n=3 error cause         0x12 | 0x40 auto-recoverable error (the cover open while printing)
    n=4 roll paper sensor   0x12 | 0x0C near end | 0x60 paper end
"""


class PrinterStatus:
    def __init__(self, paper_out=False, paper_low=False, cover_open=False, error=False, feeding=False,
                 mute=False):
        self.paper_out = paper_out
        self.paper_low = paper_low
        self.cover_open = cover_open
        self.error = error
        self.feeding = feeding      # paper fed by the FEED button: offline for as long as it is held
        self.mute = mute            # no answer at all (printer off, RX line not wired)
        self.queries = []           # every n asked, in order
        self._tail = b""            # a query split across two writes

    def set(self, **states):
        for k in states:
            if not hasattr(self, k) or k in ("queries", "set"):
                raise AttributeError(k)
            setattr(self, k, states[k])
        return self

    @property
    def offline(self):
        return self.paper_out or self.cover_open or self.error or self.feeding

    def answer(self, n):
        """The status byte for DLE EOT n, or None (mute, or n out of range: ignored as a real printer
        ignores it)."""
        if self.mute:
            return None
        b = 0x12
        if n == 1:
            if self.offline:
                b |= 0x08
        elif n == 2:
            if self.cover_open:
                b |= 0x04
            if self.feeding:
                b |= 0x08
            if self.paper_out:
                b |= 0x20
            if self.error:
                b |= 0x40
        elif n == 3:
            if self.error:
                b |= 0x40
        elif n == 4:
            if self.paper_low or self.paper_out:
                b |= 0x0C
            if self.paper_out:
                b |= 0x60
        else:
            return None
        return b

    def feed(self, data):
        """Bytes from the host; returns the answers they call for (bytes, maybe empty)."""
        data = self._tail + bytes(data)
        out = bytearray()
        i = 0
        n = len(data)
        while i < n:
            if data[i] == 0x10:
                if i + 1 >= n or (data[i + 1] == 0x04 and i + 2 >= n):
                    break                           # wait for the rest of the command
                if data[i + 1] == 0x04:
                    q = data[i + 2]
                    self.queries.append(q)
                    a = self.answer(q)
                    if a is not None:
                        out.append(a)
                    i += 3
                    continue
            i += 1
        self._tail = data[i:]
        return bytes(out)


class StatusUart:
    """A UART whose far end is a virtual printer: what the driver writes is kept in `written` (and
    handed to `sink`, e.g. a VirtualPrinter's feed, when given) and the status device's answers wait
    in the receive buffer for read()/readinto()/any(). `latency_ms` with `now_ms` (a clock function)
    holds each answer back until that much time has passed since its query; `noise` bytes are
    received before the next answer."""

    def __init__(self, status=None, sink=None, now_ms=None, latency_ms=0):
        self.status = status or PrinterStatus()
        self.sink = sink
        self.now_ms = now_ms
        self.latency_ms = latency_ms
        self.written = bytearray()
        self.flushes = 0
        self._rx = bytearray()
        self._later = []            # (due ms, bytes)

    def inject(self, data):
        """Bytes that arrive unasked (noise, a late answer)."""
        self._rx.extend(data)

    def write(self, data):
        self.written.extend(data)
        if self.sink is not None:
            self.sink(bytes(data))
        ans = self.status.feed(data)
        if ans:
            if self.latency_ms and self.now_ms is not None:
                self._later.append((self.now_ms() + self.latency_ms, ans))
            else:
                self._rx.extend(ans)
        return len(data)

    def flush(self):
        self.flushes += 1

    def _due(self):
        if not self._later:
            return
        now = self.now_ms()
        keep = []
        for due, ans in self._later:
            if due <= now:
                self._rx.extend(ans)
            else:
                keep.append((due, ans))
        self._later = keep

    def any(self):
        self._due()
        return len(self._rx)

    def read(self, n=-1):
        self._due()
        if not self._rx:
            return None
        if n < 0 or n > len(self._rx):
            n = len(self._rx)
        out = bytes(self._rx[:n])
        self._rx = self._rx[n:]
        return out

    def readinto(self, buf, n=-1):
        self._due()
        if not self._rx:
            return None
        if n < 0 or n > len(buf):
            n = len(buf)
        n = min(n, len(self._rx))
        buf[:n] = self._rx[:n]
        self._rx = self._rx[n:]
        return n
