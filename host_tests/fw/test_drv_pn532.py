# wasl.drivers.pn532: frames on the I2C and SPI wires, and APDUs through a PN532 model (vdev_pn532)
# to a scripted ISO/IEC 14443-4 card: chaining both ways, 61xx, the card leaving, time-outs, bad
# checksums (NACK), missing ACKs, error frames, an absent chip. Also through the kernel's own
# wasl.emv.apdu.transmit, the way the EMV kernel calls a transport.
import asyncio

from fakebus import FakeI2C, FakePin, FakeSPI, bitrev
from fwtest import ms_since, ticks_ms
from vdev_pn532 import PN532Model, ScriptedCard, frame
from wasl.drivers.pn532 import PN532, PN532I2C, PN532SPI
from wasl.emv.apdu import CardRemoved, select, transmit
from wasl.events import EventQueue

PPSE = b"2PAY.SYS.DDF01"
SELECT_PPSE = select(PPSE)
FCI = bytes.fromhex("6f23840e325041592e5359532e4444463031a511bf0c0e610c4f07a00000000310108701019000")
GET_FW = bytes.fromhex("0000ff02fed4022a00")
SAM_CONFIG = bytes.fromhex("0000ff05fbd41401140102" "00")


def run(coro):
    return asyncio.run(coro)


def i2c_reader(card=None, model_kw=None, **kw):
    bus = FakeI2C(freq=400000)
    m = bus.attach(0x24, PN532Model(card, **(model_kw or {})))
    kw.setdefault("poll_ms", 1)
    return PN532(PN532I2C(bus), **kw), m, bus


def spi_reader(card=None, lsb=False, model_kw=None, **kw):
    spi = FakeSPI(baudrate=1000000, firstbit=FakeSPI.LSB if lsb else FakeSPI.MSB)
    cs = FakePin("nfc_cs", value=1)
    m = spi.attach(cs, PN532Model(card, **(model_kw or {})))
    kw.setdefault("poll_ms", 1)
    return PN532(PN532SPI(spi, cs, lsb_first=lsb), **kw), m, spi


async def ready(reader):
    await reader.begin()
    assert await reader.detect()
    return reader


def test_frames_on_i2c():
    r, m, bus = i2c_reader(ScriptedCard())
    assert run(r.begin()) == (0x32, 0x01, 0x06, 0x07)
    w = bus.writes(0x24)
    assert w[0] == GET_FW                          # 00 00 FF LEN LCS D4 02 DCS 00
    assert w[1] == SAM_CONFIG
    assert w[2] == frame(b"\xd4\x32\x05\xff\x01\x02")   # RFConfiguration MaxRetries, 2 activation tries
    reads = [d for op, a, d in bus.log if op == "r"]
    assert reads[0][:1] == b"\x00" or reads[0][:1] == b"\x01"    # 1-byte status polls ...
    acks = [d for d in reads if len(d) == 7]
    assert acks[0] == b"\x01\x00\x00\xff\x00\xff\x00"              # ... then status + ACK in one read
    assert m.bad_frames == 0 and m.errors == []


def test_frames_on_spi_msb_first_bus():
    r, m, spi = spi_reader(ScriptedCard())
    run(r.begin())
    first = spi.log[0][2]
    assert first == bytes(bitrev(b) for b in b"\x01" + GET_FW)    # DW + frame, each byte bit-reversed
    assert first[0] == 0x80
    ops = [x[2][0] for x in spi.log if len(x[2]) == 1 and x[2][0] in (0x40, 0xC0)]
    assert 0x40 in ops and 0xC0 in ops               # SR 0x02 and DR 0x03 as they leave MSB first
    assert m.commands[:2] == [(0x02, b""), (0x14, b"\x01\x14\x01")] and m.errors == []


def test_spi_lsb_first_bus_is_not_reversed():
    r, m, spi = spi_reader(ScriptedCard(), lsb=True)
    run(r.begin())
    assert spi.log[0][2] == b"\x01" + GET_FW
    assert m.errors == [] and m.bad_frames == 0


def test_detect_card_and_no_card():
    card = ScriptedCard()
    r, m, bus = i2c_reader(card)
    run(r.begin())
    assert run(r.detect())
    assert r.card_present and r.uid == card.uid and r.ats == card.ats and r.tg == 1
    assert (0x4A, b"\x01\x00") in m.commands
    card.present = False
    r2, m2, _ = i2c_reader(card)
    run(r2.begin())
    t0 = ticks_ms()
    assert not run(r2.detect())                    # the PN532 gave up after MxRtyPassiveActivation
    assert ms_since(t0) < 200 and m2.aborts == 0 and not r2.card_present


def test_detect_times_out_and_aborts():
    r, m, bus = i2c_reader(None, passive_retries=0xFF, detect_timeout_ms=30)
    run(r.begin())
    t0 = ticks_ms()
    assert not run(r.detect())
    assert 25 <= ms_since(t0) < 1000
    assert m.aborts == 1 and bus.writes()[-1] == b"\x00\x00\xff\x00\xff\x00"    # ACK: abort


def test_non_iso14443_4_card_is_ignored():
    r, m, bus = i2c_reader(ScriptedCard(sel_res=0x08))     # MIFARE Classic-like
    run(r.begin())
    assert not run(r.detect())
    assert m.commands[-1] == (0x52, b"\x00") and not r.card_present


def test_exchange_select():
    card = ScriptedCard([(SELECT_PPSE, FCI)])
    r, m, bus = i2c_reader(card)

    async def go():
        await ready(r)
        return bytes(await r.exchange(SELECT_PPSE))

    assert run(go()) == FCI
    assert bus.writes()[-1] == frame(b"\xd4\x40\x01" + SELECT_PPSE)     # InDataExchange Tg 1
    assert card.errors == [] and card.script == []


def test_response_chaining_mi():
    long = bytes(range(200)) + b"\x90\x00"
    card = ScriptedCard([(SELECT_PPSE, long)])
    r, m, bus = spi_reader(card, model_kw={"max_data_in": 64})

    async def go():
        await ready(r)
        return bytes(await r.exchange(SELECT_PPSE))

    assert run(go()) == long
    dx = [p for c, p in m.commands if c == 0x40]
    assert dx == [b"\x01" + SELECT_PPSE, b"\x01", b"\x01", b"\x01"]   # 64 + 64 + 64 + 10 bytes
    assert card.errors == [] and m.errors == []


def test_get_response_61xx():
    part1 = bytes(range(30))
    part2 = bytes(range(100, 112))
    card = ScriptedCard([(SELECT_PPSE, part1 + b"\x61\x0c"), (b"\x00\xc0\x00\x00\x0c", part2 + b"\x90\x00")])
    r, m, bus = i2c_reader(card)

    async def go():
        await ready(r)
        return bytes(await r.exchange(SELECT_PPSE))

    assert run(go()) == part1 + part2 + b"\x90\x00"
    assert card.errors == [] and card.script == []


def test_command_chaining_long_apdu():
    data = bytes(range(250)) + bytes(range(10))
    capdu = bytes((0x80, 0xE2, 0x00, 0x00, 0x00, 0x01, 0x04)) + data          # extended length, 267 bytes
    card = ScriptedCard([(capdu, b"\x90\x00")])
    r, m, bus = i2c_reader(card)

    async def go():
        await ready(r)
        return bytes(await r.exchange(capdu))

    assert run(go()) == b"\x90\x00"
    dx = [p for c, p in m.commands if c == 0x40]
    assert [p[0] for p in dx] == [0x41, 0x01]                      # Tg with MI, then the last part
    assert len(dx[0]) == 1 + 252 and b"".join(p[1:] for p in dx) == capdu
    assert card.received == [capdu]
    # and in small chunks, both ways at once, through a 2-byte MI response chain
    card = ScriptedCard([(capdu, bytes(40) + b"\x90\x00")])
    r, m, bus = spi_reader(card, max_chunk=100, model_kw={"max_data_in": 20})

    async def go2():
        await ready(r)
        return bytes(await r.exchange(capdu))

    assert run(go2()) == bytes(40) + b"\x90\x00"
    assert [p[0] for c, p in m.commands if c == 0x40] == [0x41, 0x41, 0x01, 0x01, 0x01]
    assert card.errors == []


def test_through_the_kernel_transmit():
    card = ScriptedCard([(SELECT_PPSE, FCI[:-2] + b"\x61\x02"), (b"\x00\xc0\x00\x00\x02", b"\xab\xcd\x90\x00")])
    r, m, bus = i2c_reader(card)

    async def go():
        await ready(r)
        data, sw = await transmit(r, SELECT_PPSE)
        return bytes(data), sw

    assert run(go()) == (FCI[:-2] + b"\xab\xcd", 0x9000)


def test_card_removed():
    card = ScriptedCard([(SELECT_PPSE, FCI)])
    r, m, bus = i2c_reader(card)

    async def go():
        await ready(r)
        card.present = False
        e1 = await fails(r.exchange(SELECT_PPSE))
        e2 = await fails(r.exchange(SELECT_PPSE))
        return e1, e2

    e1, e2 = run(go())
    assert isinstance(e1, CardRemoved) and isinstance(e2, CardRemoved)
    assert e1.key == "card_removed" and not r.card_present
    assert "no card" in str(e2.args) or "no card" in repr(e2)


async def fails(coro):
    try:
        await coro
    except Exception as e:
        return e
    raise AssertionError("no exception")


def test_no_answer_is_card_removed_after_timeout():
    card = ScriptedCard([(SELECT_PPSE, FCI)])
    r, m, bus = i2c_reader(card, exchange_timeout_ms=40)

    async def go():
        await ready(r)
        m.mute = True
        t0 = ticks_ms()
        e = await fails(r.exchange(SELECT_PPSE))
        return e, ms_since(t0)

    e, took = run(go())
    assert isinstance(e, CardRemoved) and 35 <= took < 1000
    assert m.aborts == 1 and not r.card_present


def test_bad_checksum_nack_and_resend():
    card = ScriptedCard([(SELECT_PPSE, FCI)])
    r, m, bus = i2c_reader(card)

    async def go():
        await ready(r)
        m.corrupt = 1
        return bytes(await r.exchange(SELECT_PPSE))

    assert run(go()) == FCI
    assert m.nacks == 1 and bus.writes()[-1] == b"\x00\x00\xff\xff\x00\x00"   # NACK
    r2, m2, _ = spi_reader(ScriptedCard([(SELECT_PPSE, FCI)]))

    async def go2():
        await ready(r2)
        m2.corrupt = 1
        m2.corrupt_resend = True
        return await fails(r2.exchange(SELECT_PPSE))

    e = run(go2())
    assert isinstance(e, OSError) and not isinstance(e, CardRemoved) and e.args[0] == 5
    assert m2.nacks == 2                            # retries=2


def test_no_ack_and_wrong_ack():
    r, m, bus = i2c_reader(ScriptedCard(), ack_timeout_ms=20)
    m.deaf = True
    e = run(fails(r.begin()))
    assert isinstance(e, OSError) and e.args[0] == 110
    r, m, bus = spi_reader(ScriptedCard())
    m.bad_ack = True
    e = run(fails(r.begin()))
    assert isinstance(e, OSError) and e.args[0] == 5


def test_error_frame_and_status_errors():
    card = ScriptedCard([(SELECT_PPSE, FCI), (SELECT_PPSE, FCI)])
    r, m, bus = i2c_reader(card)

    async def go():
        await ready(r)
        m.error_next = True
        e1 = await fails(r.exchange(SELECT_PPSE))
        m.status_next = 0x02                        # CRC error from the CIU: a reader error
        e2 = await fails(r.exchange(SELECT_PPSE))
        m.status_next = 0x2B                        # card disappeared
        e3 = await fails(r.exchange(SELECT_PPSE))
        return e1, e2, e3

    e1, e2, e3 = run(go())
    assert isinstance(e1, OSError) and e1.args[0] == 5
    assert isinstance(e2, OSError) and e2.args[0] == 5
    assert isinstance(e3, CardRemoved) and not r.card_present


def test_absent_chip():
    bus = FakeI2C()
    r = PN532(PN532I2C(bus), poll_ms=1)
    e = run(fails(r.begin()))
    assert isinstance(e, OSError) and e.args[0] == 19


def test_watch_posts_tap_and_removal():
    card = ScriptedCard([(SELECT_PPSE, FCI)])
    r, m, bus = i2c_reader(card)
    q = EventQueue(8)

    async def go():
        await r.begin()
        card.present = False
        t = asyncio.create_task(r.watch(q, period_ms=5, presence_ms=10))
        assert await q.get(50) is None              # no card: nothing
        card.present = True
        tap = await q.get(1000)
        got = bytes(await r.exchange(SELECT_PPSE))
        card.present = False
        gone = await q.get(1000)
        t.cancel()
        try:
            await t
        except asyncio.CancelledError:
            pass
        return tap, got, gone

    tap, got, gone = run(go())
    assert tap == ("card", {"entry": "tap"}) and got == FCI and gone == ("card_removed",)
    assert (0x00, b"\x06") in m.commands             # Diagnose: presence check while idle
