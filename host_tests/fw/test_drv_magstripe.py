# wasl.drivers.magstripe: ASCII track lines from a UART module -> the swipe event the app reads;
# garbage and bad reads -> an error event; no track data in the log; the buffer wiped.
import asyncio

from fakebus import FakeUART
from wasl import log
from wasl.card.track2 import parse_track2
from wasl.drivers.magstripe import MagStripe
from wasl.events import EventQueue

T1 = b"%B4761739001010010^WASL/TEST CARD^30121011143804400000?"
T2 = b";4761739001010010=30121011143804400000?"
T2_DATA = "4761739001010010=30121011143804400000"


def make(gap_ms=80, size=256):
    u = FakeUART()
    q = EventQueue(8)
    return MagStripe(u, q, gap_ms, size), u, q


def events(q):
    out = []
    while q._count:
        out.append(q._pop())
    return out


def swipe(msr, u, data, t=1000):
    u.feed(data)
    assert not msr.poll(t)
    assert not msr.poll(t + msr.gap_ms - 1)       # still within the gap: the swipe may go on
    return msr.poll(t + msr.gap_ms)


def test_tracks_on_their_own_lines():
    msr, u, q = make()
    assert swipe(msr, u, T1 + b"\r\n" + T2 + b"\r\n")
    ev = events(q)
    assert ev == [("card", {"entry": "swipe", "track2": T2_DATA})]
    card = parse_track2(ev[0][1]["track2"], "swipe")          # what the sale flow does with it
    assert card.pan == "4761739001010010" and card.expiry == "3012" and card.service_code == "101"
    assert bytes(msr._buf) == bytes(len(msr._buf))            # wiped


def test_one_line_three_tracks_and_track2_only():
    msr, u, q = make()
    assert swipe(msr, u, T1 + T2 + b";0112345678901234567890=1234?\n")
    assert swipe(msr, u, T2 + b"\r", t=5000)
    assert events(q) == [("card", {"entry": "swipe", "track2": T2_DATA})] * 2


def test_swipe_arriving_in_pieces():
    msr, u, q = make(gap_ms=50)
    data = T1 + b"\r\n" + T2 + b"\r\n"
    t = 0
    for i in range(0, len(data), 7):              # 7 bytes every 10 ms: a 9600 baud module's pace
        u.feed(data[i:i + 7])
        assert not msr.poll(t)
        t += 10
    assert events(q) == []
    assert msr.poll(t + 50)
    assert events(q) == [("card", {"entry": "swipe", "track2": T2_DATA})]


def test_bad_reads_are_error_events():
    bad = [
        T1 + b"\r\n;E?\r\n",                       # the module's "could not read track 2"
        T1 + b"\r\n",                              # track 1 only
        b"%%%GARBAGE?\r\n",
        b";4761739001010010=3012101114380440000\r\n",   # no end sentinel
        b";47617390010100103012101114380440000?\r\n",   # no separator
        b";4761739001010010=301210111438044000000000?\r\n",  # 42 characters
        b";4761A39001010010=30121011143804400000?\r\n",
        b"\x00\xff\xfe\x80garbage\r\n",
    ]
    msr, u, q = make()
    t = 0
    for data in bad:
        t += 1000
        assert swipe(msr, u, data, t), data
    assert events(q) == [("card", {"entry": "swipe", "error": "read"})] * len(bad)
    assert msr.errors == len(bad) and msr.swipes == len(bad)


def test_noise_is_ignored():
    msr, u, q = make()
    assert swipe(msr, u, b"\r\n\r\n")
    assert events(q) == [] and msr.swipes == 0
    assert not msr.poll(99999)                   # nothing pending: nothing happens


def test_overflow_is_refused():
    msr, u, q = make(size=64)
    assert swipe(msr, u, T1 + T1 + T2 + b"\r\n")
    assert events(q) == [("card", {"entry": "swipe", "error": "read"})]
    assert swipe(msr, u, T2 + b"\r\n", t=9000)    # the next swipe reads again
    assert events(q) == [("card", {"entry": "swipe", "track2": T2_DATA})]


def test_log_never_holds_track_data():
    said = []
    warn = log.warn
    log.warn = lambda tag, msg, *args: said.append(msg % args if args else msg)
    try:
        msr, u, q = make()
        swipe(msr, u, b";4761739001010010=30X2?garbage%B4761739001010010^X\r\n")
        swipe(msr, u, b"%B4761739001010010^X^3012?\r\n", t=5000)
    finally:
        log.warn = warn
    assert len(said) == 2
    for line in said:
        assert "4761" not in line and "3012" not in line and "^" not in line


def test_asyncio_task():
    msr, u, q = make(gap_ms=20)

    async def go():
        t = asyncio.create_task(msr.run(5))
        u.feed(T2 + b"\r\n")
        ev = await q.get(2000)
        t.cancel()
        try:
            await t
        except asyncio.CancelledError:
            pass
        return ev

    assert asyncio.run(go()) == ("card", {"entry": "swipe", "track2": T2_DATA})
