# Input events from the devices (keypad, card reader, harness) into one bounded queue.
# Producers call post() (cheap: no allocation beyond the event tuple they pass); the UI awaits get().
# Overflow policy: the newest event is dropped and counted, like a keypad buffer that is full.
import asyncio

try:
    from time import ticks_add, ticks_diff, ticks_ms
except ImportError:  # CPython
    import time

    def ticks_ms():
        return int(time.monotonic() * 1000)

    def ticks_diff(a, b):
        return a - b

    def ticks_add(a, b):
        return a + b


class Shutdown(Exception):
    """The board asked the application to stop (sim 'quit', end of input)."""


class EventQueue:
    def __init__(self, size=16):
        self._slots = [None] * size
        self._head = 0
        self._count = 0
        self.dropped = 0
        self.stopping = False
        self._flag = asyncio.Event()

    def stop(self):
        """Make every waiter (now and later) raise Shutdown."""
        self.stopping = True
        self._flag.set()

    def post(self, ev):
        n = len(self._slots)
        if self._count == n:
            self.dropped += 1
            return False
        self._slots[(self._head + self._count) % n] = ev
        self._count += 1
        self._flag.set()
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
        """Next event, or None after timeout_ms. Raises Shutdown once stop() was called."""
        deadline = None if timeout_ms is None else ticks_add(ticks_ms(), timeout_ms)
        while not self._count:
            if self.stopping:
                raise Shutdown()
            self._flag.clear()
            if deadline is None:
                await self._flag.wait()
            else:
                left = ticks_diff(deadline, ticks_ms())
                if left <= 0:
                    return None
                try:
                    await asyncio.wait_for(self._flag.wait(), left / 1000)
                except asyncio.TimeoutError:
                    return None
        if self.stopping:
            raise Shutdown()
        return self._pop()
