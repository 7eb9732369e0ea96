# wasl.events.EventQueue: bounded input queue awaited by the UI (asyncio on both runtimes).
import asyncio

from fwtest import ms_since, raises, ticks_ms
from wasl.events import EventQueue


def drain(q, n, timeout_ms=0):
    async def go():
        out = []
        for _ in range(n):  # no await in a comprehension on MicroPython
            out.append(await q.get(timeout_ms))
        return out

    return asyncio.run(go())


def test_post_get_order():
    q = EventQueue(4)
    assert q.post(("key", "1"))
    assert q.post(("key", "2"))
    assert q.post(("card", {"track2": "x"}))
    assert drain(q, 3) == [("key", "1"), ("key", "2"), ("card", {"track2": "x"})]
    assert drain(q, 1) == [None]
    assert q.dropped == 0


def test_ring_wraps_around():
    q = EventQueue(3)
    got = []
    for i in range(10):
        assert q.post(i)
        assert q.post(i + 100)
        got += drain(q, 2)
    assert got == [v for i in range(10) for v in (i, i + 100)]


def test_overflow_drops_newest_and_counts():
    q = EventQueue(2)
    assert q.post("a") is True
    assert q.post("b") is True
    assert q.post("c") is False
    assert q.post("d") is False
    assert q.dropped == 2
    assert drain(q, 3) == ["a", "b", None]
    assert q.post("e") is True
    assert drain(q, 1) == ["e"]
    assert q.dropped == 2


def test_clear():
    q = EventQueue(4)
    for i in range(4):
        q.post(i)
    q.clear()
    assert drain(q, 1) == [None]
    q.post("x")
    assert drain(q, 1) == ["x"]


def test_get_timeout_returns_none():
    q = EventQueue(4)
    t0 = ticks_ms()
    assert asyncio.run(q.get(50)) is None
    took = ms_since(t0)
    assert 45 <= took < 1000, took
    t0 = ticks_ms()
    assert asyncio.run(q.get(0)) is None
    assert ms_since(t0) < 100


def test_get_returns_event_posted_while_waiting():
    q = EventQueue(4)

    async def producer():
        await asyncio.sleep(0.03)
        q.post(("key", "OK"))

    async def main():
        asyncio.create_task(producer())
        return await q.get(2000)

    t0 = ticks_ms()
    assert asyncio.run(main()) == ("key", "OK")
    assert ms_since(t0) < 1000


def test_get_without_timeout_waits():
    q = EventQueue(4)

    async def producer():
        await asyncio.sleep(0.05)
        q.post("late")

    async def main():
        asyncio.create_task(producer())
        return await q.get()

    assert asyncio.run(main()) == "late"


def test_stop_makes_get_raise_system_exit():
    q = EventQueue(4)
    q.stop()
    raises(SystemExit, asyncio.run, q.get())
    raises(SystemExit, asyncio.run, q.get(10))
    q.post("pending")                      # stop wins over pending input
    raises(SystemExit, asyncio.run, q.get())


def test_stop_wakes_a_waiter():
    q = EventQueue(4)

    async def stopper():
        await asyncio.sleep(0.03)
        q.stop()

    async def main():
        asyncio.create_task(stopper())
        await q.get()

    t0 = ticks_ms()
    raises(SystemExit, asyncio.run, main())
    assert ms_since(t0) < 1000
