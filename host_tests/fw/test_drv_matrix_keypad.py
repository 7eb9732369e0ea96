# wasl.drivers.matrix_keypad: scan a virtual switch matrix (vdev_keypad), debounce, post key events to
# the real EventQueue, allocate nothing per scan (heap_lock on the unix port).
import asyncio

from fakebus import FakePin, FakeTimer
from fwtest import raises
from vdev_keypad import KeypadMatrix
from wasl.drivers.matrix_keypad import MatrixKeypad
from wasl.events import EventQueue

KEYS = "1 2 3 F1  4 5 6 F2  7 8 9 CLEAR  CANCEL 0 OK MENU"


def make(debounce=3, keymap=KEYS, size=16):
    mx = KeypadMatrix()
    q = EventQueue(size)
    kp = MatrixKeypad(mx.rows, mx.cols, keymap, q, debounce)
    return kp, mx, q


def pending(q):
    out = []
    while q._count:
        out.append(q._pop())
    return out


def test_pins_configured():
    kp, mx, q = make()
    assert all(p.mode == FakePin.IN and p.pull == FakePin.PULL_UP for p in mx.cols)
    assert all(p.mode == FakePin.OUT and p.value() == 1 for p in mx.rows)


def test_press_after_debounce_scans():
    kp, mx, q = make()
    mx.press(3, 2)                            # OK
    kp.scan()
    kp.scan()
    assert pending(q) == []
    kp.scan()
    assert pending(q) == [("key", "OK")]
    for _ in range(10):
        kp.scan()                             # held: one event only
    assert pending(q) == [] and kp.pressed() == ["OK"]
    mx.release(3, 2)
    for _ in range(3):
        kp.scan()
    assert kp.pressed() == []
    mx.press(0, 0)
    for _ in range(3):
        kp.scan()
    assert pending(q) == [("key", "1")]
    assert all(p.value() == 1 for p in mx.rows)   # rows left high between scans


def test_every_key_of_the_map():
    kp, mx, q = make(debounce=1)
    names = KEYS.split()
    for i in range(16):
        mx.press(i // 4, i % 4)
        kp.scan()
        mx.release(i // 4, i % 4)
        kp.scan()
    assert pending(q) == [("key", n) for n in names]


def test_bounce_is_filtered():
    kp, mx, q = make(debounce=3)
    for level in (1, 0, 1, 0, 1, 1, 0, 0, 1, 0):   # contact chatter: never 3 equal reads in a row
        mx.set(1, 1, level)
        kp.scan()
    assert pending(q) == []
    for level in (1, 1, 1, 0, 1, 0, 1, 1, 1):      # a real press, release chatter, still held
        mx.set(1, 1, level)
        kp.scan()
    assert pending(q) == [("key", "5")]           # one event despite the chatter after it


def test_two_keys_and_holes_in_the_map():
    kp, mx, q = make(debounce=1, keymap=("1", "2", "-", "A") + ("",) * 12)
    mx.press(0, 0)
    mx.press(0, 2)                            # no key there
    mx.press(0, 3)
    kp.scan()
    assert pending(q) == [("key", "1"), ("key", "A")]
    assert raises(ValueError, MatrixKeypad, mx.rows, mx.cols, "1 2 3", q)


def test_full_queue_drops_and_counts():
    kp, mx, q = make(debounce=1, size=2)
    for c in range(3):
        mx.press(0, c)
        kp.scan()
        mx.release(0, c)
        kp.scan()
    assert q.dropped == 1 and pending(q) == [("key", "1"), ("key", "2")]


def test_scan_allocates_nothing():
    try:
        import micropython
        lock, unlock = micropython.heap_lock, micropython.heap_unlock
    except (ImportError, AttributeError):
        return                                # CPython: nothing to prove here
    kp, mx, q = make(debounce=2)
    timer = FakeTimer()
    kp.start_timer(timer, 5)
    mx.press(2, 3)
    lock()
    try:
        for _ in range(4):
            kp.scan()
        timer.fire()                          # the timer callback path too
        mx.release(2, 3)
        for _ in range(3):
            timer.fire()
        mx.press(3, 0)
        for _ in range(3):
            kp.scan()
    finally:
        unlock()
    assert pending(q) == [("key", "CLEAR"), ("key", "CANCEL")]


def test_timer_variant():
    kp, mx, q = make(debounce=2)
    timer = FakeTimer()
    kp.start_timer(timer, 10)
    assert timer.period == 10 and timer.mode == FakeTimer.PERIODIC
    mx.press(0, 1)
    timer.fire()
    timer.fire()
    assert pending(q) == [("key", "2")]


def test_asyncio_task():
    kp, mx, q = make(debounce=2)

    async def go():
        t = asyncio.create_task(kp.run(1))
        mx.press(3, 1)
        ev = await q.get(2000)
        t.cancel()
        try:
            await t
        except asyncio.CancelledError:
            pass
        return ev

    assert asyncio.run(go()) == ("key", "0")
