# Matrix keypad (4x4 or any rows x cols): rows driven low one at a time, columns read with pull-ups
# (a pressed key pulls its column low while its row is driven). The board hands in the Pin objects and
# the key map (data: names row by row, a space-separated string or a sequence; "-" or "" for no key).
#
# Debounce: a key's state changes only after it reads the same new state on `debounce` consecutive
# scans; a press then posts ("key", name) to the events queue (wasl.events.EventQueue.post), the event
# the desktop board posts. scan() allocates nothing (counters in bytearrays, the event tuples made once,
# EventQueue.post stores a reference), so it may run from a timer callback; run() is the asyncio task.
# Limits: without diodes, three keys held at the corners of a rectangle make a fourth appear (ghost).
try:
    from asyncio import sleep_ms
except ImportError:  # CPython
    import asyncio

    async def sleep_ms(ms):
        await asyncio.sleep(ms / 1000)


class MatrixKeypad:
    def __init__(self, rows, cols, keymap, events, debounce=3, configure=True):
        names = keymap.split() if isinstance(keymap, str) else keymap
        if len(names) != len(rows) * len(cols):
            raise ValueError("key map has %d keys for %d x %d" % (len(names), len(rows), len(cols)))
        self.rows = tuple(rows)
        self.cols = tuple(cols)
        self.events = events
        self.debounce = debounce
        self._ev = tuple(("key", n) if n and n != "-" else None for n in names)
        self._state = bytearray(len(names))     # 1: pressed (debounced)
        self._count = bytearray(len(names))     # consecutive scans that read the other state
        self._tick = self._timer_cb             # bound once: no allocation per timer tick
        if configure:
            for p in self.cols:
                p.init(p.IN, p.PULL_UP)
            for p in self.rows:
                p.init(p.OUT, value=1)
        else:
            for p in self.rows:
                p.value(1)

    def scan(self):
        """One pass over the matrix; posts the keys whose press is confirmed. No allocation."""
        i = 0
        need = self.debounce
        state = self._state
        count = self._count
        for r in self.rows:
            r.value(0)
            for c in self.cols:
                down = 1 if c.value() == 0 else 0
                if down == state[i]:
                    count[i] = 0
                else:
                    n = count[i] + 1
                    if n >= need:
                        state[i] = down
                        count[i] = 0
                        ev = self._ev[i]
                        if down and ev is not None:
                            self.events.post(ev)
                    else:
                        count[i] = n
                i += 1
            r.value(1)

    def pressed(self):
        """Names of the keys held now (debounced); allocates, for diagnostics."""
        return [self._ev[i][1] for i in range(len(self._ev)) if self._state[i] and self._ev[i]]

    def _timer_cb(self, timer):
        self.scan()

    def start_timer(self, timer, period_ms=10):
        """Scan from a machine.Timer every period_ms (a soft callback on the ESP32)."""
        timer.init(mode=timer.PERIODIC, period=period_ms, callback=self._tick)

    async def run(self, period_ms=10):
        """The asyncio variant: scan every period_ms, forever (cancel the task to stop)."""
        while True:
            self.scan()
            await sleep_ms(period_ms)
