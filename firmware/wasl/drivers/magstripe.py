# Magnetic stripe reader module on a UART (the TTL "ASCII output" MSR modules: they decode the
# stripe themselves and send each track's characters with its sentinels, ISO/IEC 7811 / 7813):
#
#     %B4761739001010010^CARDHOLDER/NAME^3012101...?    track 1 (start '%', end '?')
#     ;4761739001010010=30121011143804400000?           track 2 (start ';', end '?')
#     ;011234...?  or  +...?                            track 3, when the head has one
#
# each track on its own line (CR, LF or CR LF) or all on one line; a track the module could not read
# is sent as its sentinels around "E" (";E?"), or left out. No LRC characters (modules drop them).
# A swipe ends when the line has been quiet for gap_ms. Its track 2 (the first ';...?' field, digits
# and '=', sent without its sentinels) is posted as ("card", {"entry": "swipe", "track2": ...}), the event the
# desktop board posts for a swiped card; a swipe without a usable track 2 is posted as
# ("card", {"entry": "swipe", "error": "read"}), which the sale flow shows as a card read error.
# Track data is never logged and the receive buffer is wiped after each swipe.
try:
    from micropython import const
except ImportError:
    def const(x):
        return x

from wasl.events import sleep_ms, ticks_diff, ticks_ms   # the ports' tick functions, or their CPython stand-ins

_T1_START = const(0x25)   # '%'
_T2_START = const(0x3B)   # ';'
_END = const(0x3F)        # '?'
_SEP = const(0x3D)        # '='
_T2_MAX = const(37)       # ISO/IEC 7813: at most 37 characters between the sentinels


class MagStripe:
    def __init__(self, uart, events, gap_ms=80, size=256):
        self.uart = uart
        self.events = events
        self.gap_ms = gap_ms
        self._buf = bytearray(size)
        self._n = 0
        self._over = False
        self._last = 0
        self.swipes = 0
        self.errors = 0

    def poll(self, now_ms):
        """Take what the UART holds; a swipe that has been quiet for gap_ms is decoded and posted.
        Returns True when a swipe was posted."""
        u = self.uart
        got = False
        while u.any():
            free = len(self._buf) - self._n
            if free <= 0:                                 # longer than any stripe: drain, refuse
                self._over = True
                u.read(u.any())
                got = True
                continue
            n = u.readinto(memoryview(self._buf)[self._n:], free)
            if not n:
                break
            self._n += n
            got = True
        if got:
            self._last = now_ms
            return False
        if (self._n or self._over) and ticks_diff(now_ms, self._last) >= self.gap_ms:
            self._swipe()
            return True
        return False

    async def run(self, period_ms=10):
        while True:
            self.poll(ticks_ms())
            await sleep_ms(period_ms)

    def _swipe(self):
        buf = self._buf
        n = self._n
        t2 = None if self._over else self.track2()
        blank = not self._over and self._blank()
        for i in range(len(buf)):
            buf[i] = 0
        self._n = 0
        self._over = False
        if blank:                                         # line noise, or a module's bare CR LF
            return
        self.swipes += 1
        if t2 is None:
            self.errors += 1
            from wasl import log

            log.warn("msr", "unreadable swipe (%d bytes)", n)   # the count only, never the data
            self.events.post(("card", {"entry": "swipe", "error": "read"}))
        else:
            self.events.post(("card", {"entry": "swipe", "track2": t2}))

    def _blank(self):
        buf = self._buf
        for i in range(self._n):
            if buf[i] not in (0x0D, 0x0A, 0x20, 0x00):
                return False
        return True

    def track2(self):
        """Track 2 from the buffer, without sentinels, or None: the first ';' field (after a track 1
        '%...?' field) must hold 1..37 digits and '=' separators, then '?'."""
        buf = self._buf
        n = self._n
        i = 0
        while i < n and buf[i] != _T2_START:
            if buf[i] == _T1_START:                       # skip track 1: its characters may include ';'
                while i < n and buf[i] != _END:
                    i += 1
            i += 1
        if i >= n:
            return None
        j = i + 1
        seps = 0
        while j < n and buf[j] != _END:
            c = buf[j]
            if c == _SEP:
                seps += 1
            elif not 0x30 <= c <= 0x39:
                return None
            j += 1
        if j >= n or not seps or not 0 < j - i - 1 <= _T2_MAX:
            return None
        return bytes(buf[i + 1:j]).decode()
