# Input events from the devices (keypad, card reader, harness) into one bounded queue.
# Producers call post() (no allocation beyond the event tuple they pass; safe from a scheduled
# callback); the UI awaits get(), which polls the queue every 10 ms: no flag or timer objects,
# the same tick a keypad matrix scan runs at. Overflow policy: the newest event is dropped and
# counted, like a keypad buffer that is full.
import asyncio

try:
    from asyncio import sleep_ms
    from time import ticks_add, ticks_diff, ticks_ms
except ImportError:  # CPython
    import time

    async def sleep_ms(ms):
        await asyncio.sleep(ms / 1000)

    def ticks_ms():
        return int(time.monotonic() * 1000)

    def ticks_diff(a, b):
        return a - b

    def ticks_add(a, b):
        return a + b


class EventQueue:
    def __init__(self, size=16):
        self._slots = [None] * size
        self._head = 0
        self._count = 0
        self.dropped = 0
        self.stopping = False

    def stop(self):
        """Make every waiter (now and later) raise SystemExit."""
        self.stopping = True

    def post(self, ev):
        n = len(self._slots)
        if self._count == n:
            self.dropped += 1
            return False
        self._slots[(self._head + self._count) % n] = ev
        self._count += 1
        return True

    def clear(self):
        """Forget pending input (e.g. keys typed before a prompt appeared)."""
        while self._count:
            self._pop()

    def _pop(self):
        ev = self._slots[self._head]
        self._slots[self._head] = None
        self._head = (self._head + 1) % len(self._slots)
        self._count -= 1
        return ev

    async def get(self, timeout_ms=None):
        """Next event, or None after timeout_ms. Raises SystemExit once stop() was called."""
        deadline = None if timeout_ms is None else ticks_add(ticks_ms(), timeout_ms)
        while not self._count:
            if self.stopping:
                raise SystemExit  # the board asked the application to stop
            if deadline is not None and ticks_diff(deadline, ticks_ms()) <= 0:
                return None
            await sleep_ms(10)    # the poll period
        if self.stopping:
            raise SystemExit
        return self._pop()
