# wasl.watchdog: the WDT the application's loop feeds (a fake machine.WDT), and the gaps between feeds
# it measures (the desktop's soft watchdog has only those).
import asyncio
import time

from fwtest import raises
from wasl.watchdog import PARK_MS, TIMEOUT_MS, Watchdog, park


class FakeWDT:
    """machine.WDT as the ESP32 has it: WDT(timeout=ms) (re)configures the one watchdog, feed() feeds it."""
    made = []

    def __init__(self, timeout):
        self.timeout = timeout
        self.feeds = 0
        FakeWDT.made.append(self)

    def feed(self):
        self.feeds += 1


def factory():
    FakeWDT.made = []

    def make(timeout):
        return FakeWDT(timeout)
    return make


class Clock:
    def __init__(self):
        self.t = 1000

    def __call__(self):
        return self.t


def test_defaults():
    wd = Watchdog(wdt=factory())
    assert wd.timeout_ms == TIMEOUT_MS and wd.period_ms == TIMEOUT_MS // 4
    assert PARK_MS > 30 * 60 * 1000           # a technician's session is not cut short


def test_not_started_until_fed():
    make = factory()
    wd = Watchdog(4000, wdt=make)
    assert FakeWDT.made == [] and wd.feeds == 0   # building the board starts nothing
    wd.feed()
    wd.feed()
    assert [w.timeout for w in FakeWDT.made] == [4000]
    assert FakeWDT.made[0].feeds == 2
    wd.start()                                # once only
    assert len(FakeWDT.made) == 1


def test_period_must_be_shorter_than_timeout():
    raises(ValueError, Watchdog, 1000, 1000)
    raises(ValueError, Watchdog, 1000, 0)
    raises(ValueError, Watchdog, 0)
    assert Watchdog(1000, 999).period_ms == 999


def test_soft_never_makes_a_wdt():
    make = factory()
    wd = Watchdog(1000, soft=True, wdt=make)
    wd.feed()
    wd.park()
    assert FakeWDT.made == [] and wd.feeds == 1


def test_device_measures_gaps_too():
    clock = Clock()
    make = factory()
    wd = Watchdog(1000, wdt=make, ticks=clock)
    wd.feed()
    clock.t += 400
    wd.feed()
    assert wd.longest_ms == 400 and FakeWDT.made[0].feeds == 2


def test_run_feeds_every_period():
    make = factory()
    wd = Watchdog(200, 20, wdt=make)

    async def go():
        t = asyncio.create_task(wd.run())
        await asyncio.sleep(0.11)
        t.cancel()
        await asyncio.sleep(0)

    asyncio.run(go())
    assert len(FakeWDT.made) == 1 and FakeWDT.made[0].timeout == 200
    assert 4 <= FakeWDT.made[0].feeds <= 7


def test_park_stretches_a_running_watchdog_only():
    make = factory()
    wd = Watchdog(4000, wdt=make)
    wd.park()
    assert FakeWDT.made == []                 # never started: nothing to stretch
    wd.feed()
    wd.park()
    assert [w.timeout for w in FakeWDT.made] == [4000, PARK_MS]
    assert FakeWDT.made[1].feeds == 1
    park(5000, make)                          # the module's: for a session without the application
    assert FakeWDT.made[-1].timeout == 5000 and FakeWDT.made[-1].feeds == 1


def test_soft_records_longest_gap_and_late_feeds():
    clock = Clock()
    late = []
    wd = Watchdog(1000, 250, on_late=late.append, soft=True, ticks=clock)
    wd.feed()
    for step in (250, 260, 900, 250, 1200, 250):
        clock.t += step
        wd.feed()
    assert wd.longest_ms == 1200
    assert wd.late == 1 and late == [1200]
    assert wd.report() == {"timeout_ms": 1000, "period_ms": 250, "longest_ms": 1200, "late": 1, "feeds": 7}


def test_park_forgets_the_stop():
    clock = Clock()
    wd = Watchdog(1000, soft=True, ticks=clock)
    wd.feed()
    wd.park()
    clock.t += 60000                          # the application was stopped a minute: no stall
    wd.feed()
    clock.t += 300
    wd.feed()
    assert wd.longest_ms == 300 and wd.late == 0


def test_soft_catches_a_blocked_loop():
    """What the sim board checks: a coroutine that blocks the loop (time.sleep instead of an await)
    shows up as a gap longer than the watchdog allows."""
    wd = Watchdog(60, 10, soft=True)

    async def blocker():
        await asyncio.sleep(0.03)
        time.sleep(0.1)                       # the mistake: blocks every task for 100 ms

    async def go():
        t = asyncio.create_task(wd.run())
        await blocker()
        await asyncio.sleep(0.03)
        t.cancel()
        await asyncio.sleep(0)

    asyncio.run(go())
    assert wd.late >= 1 and wd.longest_ms >= 95, wd.report()


def test_soft_quiet_loop_stays_within_timeout():
    wd = Watchdog(200, 10, soft=True)

    async def go():
        t = asyncio.create_task(wd.run())
        for _ in range(5):
            await asyncio.sleep(0.01)
        t.cancel()
        await asyncio.sleep(0)

    asyncio.run(go())
    assert wd.feeds >= 3 and wd.late == 0 and wd.longest_ms < 200, wd.report()
