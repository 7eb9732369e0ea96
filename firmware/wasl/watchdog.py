# The watchdog. The board makes it (hw.watchdog), the application's loop feeds it from a task (run()): a
# loop that stops turning for longer than timeout_ms is a terminal that no longer reacts.
# On the device it is machine.WDT: a feed later than timeout_ms resets the terminal. The WDT starts with
# the loop's first feed, not when the board is built (boot before the loop, loading keys included, is not
# watched: a slow first boot never turns into a reset loop), and cannot be stopped. On the desktop
# (soft=True) nothing resets. Both measure the gap between feeds: longest_ms (the loop's worst stall plus
# period_ms) and late (gaps over timeout_ms: a device resets at the first), so a test can check that
# nothing blocked the loop for as long as the device allows; on_late(gap_ms) is called for each.
# The ESP32's WDT survives a soft reset (mpremote's): a technician's session after the application stopped
# would be reset mid-way. park() stretches the timeout for such a session.
from wasl.events import sleep_ms, ticks_diff, ticks_ms   # the ports' tick functions, or their CPython stand-ins

TIMEOUT_MS = 10000   # above the loop's worst honest stall on the device (a TLS handshake step, a receipt's
                     # last bytes leaving the UART at 9600 baud), short for a terminal that hangs
PARK_MS = 3600000    # a technician's session (REPL, mpremote, diagnostics): an hour, then a reset


def park(timeout_ms=PARK_MS, wdt=None):
    """The application is not running: (re)configure the WDT to timeout_ms and feed it once. On the
    ESP32 a new machine.WDT reconfigures the running one (or starts one: reset after timeout_ms).
    Returns it (Watchdog keeps it: its start and park are this)."""
    if wdt is None:
        from machine import WDT as wdt
    wdt = wdt(timeout=timeout_ms)
    wdt.feed()
    return wdt


class Watchdog:
    """Fed every period_ms by run(). wdt: what makes the hardware watchdog, called as wdt(timeout=ms)
    (default machine.WDT); soft: no hardware watchdog, the gaps are only measured."""

    def __init__(self, timeout_ms=TIMEOUT_MS, period_ms=None, on_late=None, soft=False, wdt=None, ticks=None):
        if period_ms is None:
            period_ms = timeout_ms // 4
        if not 0 < period_ms < timeout_ms:
            raise ValueError("watchdog: feed period %d ms for a timeout of %d ms" % (period_ms, timeout_ms))
        self.timeout_ms = timeout_ms
        self.period_ms = period_ms
        self.on_late = on_late
        self.soft = soft
        self._make = wdt
        self._ticks = ticks or ticks_ms
        self._wdt = None
        self._last = None
        self.longest_ms = 0
        self.late = 0
        self.feeds = 0

    def start(self):
        """Start the hardware watchdog (once), fed: from now on it must be fed within timeout_ms."""
        if self._wdt is None and not self.soft:
            self._wdt = park(self.timeout_ms, self._make)
        return self

    def feed(self):
        w = self._wdt
        if w is None:
            self.start()      # made and fed
        else:
            w.feed()
        now = self._ticks()
        last = self._last
        self._last = now
        self.feeds += 1
        if last is None:
            return
        gap = ticks_diff(now, last)
        if gap > self.longest_ms:
            self.longest_ms = gap
        if gap > self.timeout_ms:
            self.late += 1
            if self.on_late is not None:
                self.on_late(gap)

    async def run(self):
        """The application's task: feed every period_ms while the loop turns (cancel it to stop)."""
        while True:
            self.feed()
            await sleep_ms(self.period_ms)

    def park(self, timeout_ms=PARK_MS):
        """The application stopped on purpose: stretch a running WDT to timeout_ms. The time it stays
        stopped is no stall of its loop."""
        self._last = None
        if self._wdt is not None:
            self._wdt = park(timeout_ms, self._make)

    def report(self):
        return {"timeout_ms": self.timeout_ms, "period_ms": self.period_ms, "longest_ms": self.longest_ms,
                "late": self.late, "feeds": self.feeds}
