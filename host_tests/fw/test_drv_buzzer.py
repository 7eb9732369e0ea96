# wasl.drivers.buzzer: tones as (freq, ms) data played on a FakePWM, without blocking the caller.
import asyncio

from fakebus import FakePWM
from fwtest import ms_since, ticks_ms
from wasl.drivers.buzzer import TONES, Buzzer

SHORT = {"ok": ((2000, 5), (0, 5), (3000, 5)), "error": ((400, 5), (0, 5), (300, 5)), "key": ((4000, 5),)}


def test_tone_table_is_data():
    for name in ("ok", "error", "key"):
        steps = TONES[name]
        assert steps and all(isinstance(f, int) and isinstance(ms, int) and f >= 0 and 0 < ms for f, ms in steps)
        assert steps[0][0] > 0 and sum(ms for _, ms in steps) <= 1000
    assert sum(ms for _, ms in TONES["key"]) <= 50          # a key chirp never slows typing


def test_play_sequence_exact():
    pwm = FakePWM(ticks_ms)
    bz = Buzzer(pwm, SHORT, duty=20000)

    async def go():
        await bz.play(SHORT["ok"])

    asyncio.run(go())
    assert [(k, v) for k, v, _ in pwm.log] == [("duty", 0), ("freq", 2000), ("duty", 20000), ("duty", 0),
                                               ("freq", 3000), ("duty", 20000), ("duty", 0)]
    t = [ts for _, _, ts in pwm.log]
    assert t[3] - t[1] >= 4 and t[6] - t[4] >= 4            # each step lasts its ms
    assert not pwm.sounding()


def test_beep_does_not_block_and_newer_cuts_older():
    pwm = FakePWM(ticks_ms)
    bz = Buzzer(pwm, {"long": ((1000, 500),), "key": ((4000, 5),)})

    async def go():
        t0 = ticks_ms()
        bz.beep("long")
        assert ms_since(t0) < 50                              # returned at once
        await asyncio.sleep(0.02)
        assert pwm.sounding() and pwm.freq() == 1000
        bz.beep("key")                                        # cuts the long tone
        await asyncio.sleep(0.05)
        return ms_since(t0)

    took = asyncio.run(go())
    assert took < 400 and not pwm.sounding()
    assert pwm.tones() == [1000, 4000]


def test_unknown_tone_and_no_loop():
    pwm = FakePWM()
    bz = Buzzer(pwm, SHORT)
    bz.beep("nope")
    bz.beep("ok")                 # not in a running loop (CPython): silent, no exception
    assert pwm.tones() == []
    bz.stop()
    assert not pwm.sounding()
