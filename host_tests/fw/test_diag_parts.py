# The self-test parts (wasl.diag.system, devices, radio) and the runner on a fake board: a display that
# keeps its frames, a printer on a UART that can answer DLE EOT 4, an event queue the test fills, a
# clock set by the test, storage in a temporary directory, the keyinject-made key fixture; the modem is
# host_tests/fw/fakemodem.py. No report ever holds a PAN.
import asyncio
import json
import os
import time

from fakemodem import FakeModem
from fwtest import ROOT, make_tmpdir, rmtree
from wasl.crypto.storage import FileSecureStorage
from wasl.crypto.util import hexu
from wasl.diag import FAIL, PASS, SKIPPED, devices, radio, sign, system
from wasl.diag.run import Ctx, run
from wasl.drivers.battery import Battery
from wasl.drivers.escpos import EscPos
from wasl.hw import Hardware
from wasl.net.modem import Modem
from wasl.txn.journal import Journal

FIX = ROOT + "/host_tests/fw/fixtures/crypto_keystore_aes/"
T2026 = 1780000000          # 2026-05-28
PAN = "4761739001010010"
TRACK2 = "4761739001010010=30121011143804400000"


class Lcd:
    rows = 4
    cols = 20

    def __init__(self):
        self.frames = []

    def show(self, rows):
        self.frames.append(list(rows))


class Uart:
    def __init__(self, status=None):
        self.out = bytearray()
        self.status = status          # the byte the printer answers DLE EOT 4 with, or None
        self._rx = bytearray()

    def write(self, b):
        self.out += b
        if bytes(b) == b"\x10\x04\x04" and self.status is not None:
            self._rx.append(self.status)
        return len(b)

    def flush(self):
        pass

    def any(self):
        return len(self._rx)

    def read(self, n=None):
        n = len(self._rx) if n is None else n
        b = bytes(self._rx[:n])
        self._rx = self._rx[n:]
        return b


class Clock:
    def __init__(self, t=T2026):
        self.t = t

    def time(self):
        return self.t

    def gmtime(self, t):
        return time.gmtime(int(t))


class Board(Hardware):
    name = "fake"

    def __init__(self, d, status=None):
        Hardware.__init__(self)
        self.lcd = Lcd()
        self.uart = Uart(status)
        self.printer = EscPos(self.uart, cols=32)
        self.clock = Clock()
        self.storage_root = d
        self.journal_root = d
        self.secure_storage = FileSecureStorage(d + "/secure")
        self.key_inbox = d + "/keys"


def _copy(src, dst):
    with open(src, "rb") as f:
        data = f.read()
    with open(dst, "wb") as f:
        f.write(data)


def _board(keys=False, status=None):
    d = make_tmpdir("diag")
    if keys:
        os.mkdir(d + "/secure")
        os.mkdir(d + "/keys")
        _copy(FIX + "secure/kbpk", d + "/secure/kbpk")
        _copy(FIX + "keys/dukpt.tr31", d + "/keys/dukpt.tr31")
    return Board(d, status)


class Out:
    def __init__(self):
        self.lines = []

    def write(self, s):
        self.lines.append(s)


def _part(fn, hw, wait_s=0.05):
    ctx = Ctx(hw, wait_s, Out())
    return asyncio.run(fn(ctx))


# ---- devices ---------------------------------------------------------------------------------------

def test_pattern_fills_the_display():
    p = devices.pattern(4, 20)
    assert p == ["####################", "0123456789ABCDEFGHIJ", "KLMNOPQRSTUVWXYZabcd", "     WASL 20x4"]
    p = devices.pattern(2, 16)
    assert p == ["#" * 16, "   WASL 16x2"]
    p = devices.pattern(8, 21)
    assert len(p) == 8 and all(len(r) == 21 for r in p[:-1]) and p[-1].strip() == "WASL 21x8"


def test_display_and_printer():
    hw = _board(status=0x12)
    try:
        v, detail, facts = _part(devices.display, hw)
        assert v == PASS and facts == {"rows": 4, "cols": 20} and hw.lcd.frames[-1] == devices.pattern(4, 20)
        v, detail, facts = _part(devices.printer, hw)
        assert (v, facts) == (PASS, {"paper": "ok"}), detail
        assert b"TEST PAGE" in hw.uart.out and hw.uart.out.endswith(b"\x1dV\x01")
        hw.lcd = hw.printer = None
        assert _part(devices.display, hw) == (SKIPPED, "absent")
        assert _part(devices.printer, hw) == (SKIPPED, "absent")
    finally:
        rmtree(hw.storage_root)


def test_paper_status():
    for status, word in ((0x12, "ok"), (0x1E, "near_end"), (0x72, "out"), (0x7E, "out"), (0xFF, "unknown"),
                         (None, "unknown")):
        assert devices.paper_status(EscPos(Uart(status)), wait_ms=20) == word, status

    class NoRead:
        def write(self, b):
            return len(b)
    assert devices.paper_status(EscPos(NoRead())) == "unknown"

    class Own:
        def paper(self):
            return "near_end"
    assert devices.paper_status(Own()) == "near_end"


def test_paper_out_prints_nothing():
    hw = _board(status=0x72)
    try:
        v, detail, facts = _part(devices.printer, hw)
        assert v == FAIL and "paper out" in detail
        assert hw.uart.out == bytearray(b"\x10\x04\x04")
    finally:
        rmtree(hw.storage_root)


def test_keypad_every_key_some_keys_no_key():
    hw = _board()
    try:
        for k in reversed(list(devices.KEYS)):
            hw.events.post(("key", k))
        # keys typed before the test began are forgotten: the test starts from an empty queue
        v, detail, facts = _part(devices.keypad, hw)
        assert v == SKIPPED and facts["missing"] == list(devices.KEYS)

        async def typed(ctx, keys):
            async def press():
                for k in keys:
                    await asyncio.sleep(0.005)
                    ctx.hw.events.post(("key", k))
            asyncio.create_task(press())
            return await devices.keypad(ctx)
        ctx = Ctx(hw, 2, Out())
        v, detail, facts = asyncio.run(typed(ctx, ["OK", "MENU"] + list(devices.KEYS)))
        assert (v, facts["missing"]) == (PASS, []), detail
        ctx = Ctx(hw, 0.3, Out())
        v, detail, facts = asyncio.run(typed(ctx, ["1", "2", "CANCEL"]))
        assert v == FAIL and detail == "not seen: 3 4 5 6 7 8 9 0 OK CLEAR"
        assert any("KEYPAD TEST" in f[0] for f in hw.lcd.frames)
        hw.keypad_keys = ("1", "F1")          # a board that names its keys
        ctx = Ctx(hw, 1, Out())
        assert asyncio.run(typed(ctx, ["F1", "1"]))[0] == PASS
    finally:
        rmtree(hw.storage_root)


def _card(hw, data, wait_s=1):
    async def go(ctx):
        async def present():
            await asyncio.sleep(0.01)
            ctx.hw.events.post(("card", data))
        asyncio.create_task(present())
        return await devices.card(ctx)
    out = Out()
    r = asyncio.run(go(Ctx(hw, wait_s, out)))
    return r, "".join(out.lines)


def test_card_swipe_gives_the_masked_pan_only():
    hw = _board()
    try:
        (v, detail, facts), said = _card(hw, {"track2": TRACK2, "entry": "swipe"})
        assert v == PASS and detail == "swipe, PAN 476173******0010"
        assert facts == {"entry": "swipe", "pan": "476173******0010", "service_code": "101"}
        (v, detail, facts), _ = _card(hw, {"track2": "4761739001010011=3012101", "entry": "swipe"})
        assert (v, detail) == (FAIL, "swipe: card_invalid")          # Luhn: the reason, not the data
        for text in (repr(facts), said, repr(hw.lcd.frames)):
            assert PAN not in text and "4761739001010011" not in text
        assert _part(devices.card, hw) == (SKIPPED, "no card presented in 0 s")
        hw.reader = None
        (v, detail), _ = _card(hw, {"entry": "chip"})
        assert v == FAIL and "no chip reader" in detail
    finally:
        rmtree(hw.storage_root)


# ---- system ----------------------------------------------------------------------------------------

def test_clock():
    hw = _board()
    try:
        assert _part(system.clock, hw) == (PASS, "2026-05-28T20:26:40Z", {"utc": "2026-05-28T20:26:40Z"})
        hw.clock = Clock(86400)          # 1970: a clock that was never set (the device's RTC after a cut)
        v, detail, _ = _part(system.clock, hw)
        assert v == FAIL and detail == "clock not set: 1970-01-02T00:00:00Z"
    finally:
        rmtree(hw.storage_root)


def test_journal_intact_torn_and_damaged():
    hw = _board()
    d = hw.journal_root
    try:
        facts, v, detail = system.journal_check(d)
        assert (v, facts["records"], facts["bytes"], facts["torn"]) == (PASS, 0, 0, 0)
        j = Journal(d)
        j.append({"e": "new", "s": 1, "i": 1, "b": 1, "ty": "sale", "a": 100, "p": "476173******0010",
                  "m": "021", "t": "20260528120000"})
        j.append({"e": "sent", "s": 1})
        j.close()
        facts, v, detail = system.journal_check(d)
        assert (v, detail) == (PASS, "2 records, intact")
        assert facts["reversal_pending"] is True and facts["open_txns"] == 1 and facts["batch"] == 1
        with open(d + "/journal", "ab") as f:          # a power cut in the middle of a record
            f.write(b"WJ\x00\x40\x00\x00")
        facts, v, detail = system.journal_check(d)
        assert (v, facts["torn"]) == (PASS, 6) and "last write torn (6 bytes" in detail
        with open(d + "/journal", "ab") as f:          # more garbage than one record: damage
            f.write(bytes(2000))
        facts, v, detail = system.journal_check(d)
        assert v == FAIL and detail == "journal damaged: 2006 bytes unreadable after record 2"
        v, detail, facts = _part(system.storage, hw)
        assert v == FAIL and facts["journal_free"] > 0 and facts["storage_total"] > 0
    finally:
        rmtree(d)


def test_keys_check_values_and_injection():
    hw = _board(keys=True)
    try:
        v, detail, facts = _part(system.keys, hw)
        assert v == PASS, detail
        assert detail == "AES-128 DUKPT, IK KCV 05EF45, KBPK KCV 13C859; key block taken from the inbox"
        assert facts == {"scheme": "AES-128 DUKPT", "kbpk_kcv": "13C859", "ik_kcv": "05EF45",
                         "ksn": "123456789012345600000001", "inbox": "taken"}
        v, detail, facts = _part(system.keys, hw)          # again: the key is loaded, the inbox empty
        assert v == PASS and "inbox" not in facts and facts["ksn"] == "123456789012345600000001"
        with open(hw.key_inbox + "/dukpt.tr31", "w") as f:     # the same key again: refused, kept
            with open(FIX + "keys/dukpt.tr31") as src:
                f.write(src.read())
        v, detail, facts = _part(system.keys, hw)
        assert v == FAIL and facts["inbox"] == "rejected" and "REFUSED" in detail
        kbpk = hexu(FileSecureStorage(FIX + "secure").get("kbpk"))
        assert kbpk not in repr(facts) + detail and kbpk.lower() not in repr(facts) + detail
        hw.secure_storage.delete("kbpk")
        assert _part(system.keys, hw)[0] == FAIL
        hw.secure_storage = None
        assert _part(system.keys, hw) == (FAIL, "no secure storage on this board")
    finally:
        rmtree(hw.storage_root)


class Adc:
    def __init__(self, uv):
        self.uv = uv

    def read_uv(self):
        return self.uv


def test_battery():
    hw = _board()
    try:
        assert _part(system.battery, hw) == (SKIPPED, "absent")
        hw.battery = Battery(Adc(1950000))           # 3.9 V through a 2:1 divider
        assert _part(system.battery, hw) == (PASS, "3900 mV (65%)", {"mv": 3900, "percent": 65})
        hw.battery = Battery(Adc(1700000))
        assert _part(system.battery, hw)[:2] == (FAIL, "low: 3400 mV (2%)")
    finally:
        rmtree(hw.storage_root)


# ---- radios ----------------------------------------------------------------------------------------

T = {"cmd_ms": 40, "sync_ms": 20, "sync_tries": 3, "sim_ms": 60, "reg_ms": 150, "poll_ms": 5}


def test_modem():
    hw = _board()
    try:
        assert _part(radio.modem, hw) == (SKIPPED, "absent")
        hw.modem = Modem(FakeModem(echo=False, reg=((0, 1),)), **T)
        v, detail, facts = _part(radio.modem, hw)
        assert v == PASS and detail == "SIM ready, registered, signal -73 dBm", (detail, facts)
        hw.modem = Modem(FakeModem(echo=False, reg=((0, 5),)), **T)
        assert _part(radio.modem, hw)[1] == "SIM ready, registered (roaming), signal -73 dBm"
        hw.modem = Modem(FakeModem(echo=False, reg=((0, 2),)), **T)
        assert _part(radio.modem, hw)[:2] == (FAIL, "not registered (CREG 2), signal -73 dBm")
        fm = FakeModem(echo=False, sim="ABSENT")
        fm.cmee = 1
        hw.modem = Modem(fm, **T)
        v, detail, facts = _part(radio.modem, hw)
        assert v == FAIL and detail in ("SIM: no_sim", "modem: no_sim"), detail
        fm = FakeModem(echo=False)
        fm.hung = True
        hw.modem = Modem(fm, **T)
        assert _part(radio.modem, hw)[:2] == (FAIL, "modem: no_answer")
    finally:
        rmtree(hw.storage_root)


class Wlan:
    def __init__(self, nets, connected=False):
        self.nets = nets
        self.connected = connected
        self.on = False

    def active(self, on=None):
        if on is None:
            return self.on
        self.on = on

    def scan(self):
        return self.nets

    def isconnected(self):
        return self.connected

    def config(self, key):
        return "SHOP"

    def status(self, key):
        return -61


def test_wifi():
    hw = _board()
    try:
        assert _part(radio.wifi, hw) == (SKIPPED, "absent")
        hw.wlan = Wlan([(b"A", b"", 1, -70, 3, False), (b"B", b"", 6, -55, 3, False)], connected=True)
        v, detail, facts = _part(radio.wifi, hw)
        assert v == PASS and detail == "2 networks, best -55 dBm; connected to SHOP (-61 dBm)"
        assert hw.wlan.on
        hw.wlan = Wlan([])
        assert _part(radio.wifi, hw)[:2] == (FAIL, "no network in range")
    finally:
        rmtree(hw.storage_root)


# ---- the runner ------------------------------------------------------------------------------------

def _params(d):
    with open(ROOT + "/boards/sim/params.json") as f:
        doc = json.load(f)
    import binascii

    doc["host"]["ca"] = binascii.b2a_base64(b"\x30" + bytes(80)).decode().strip()
    with open(d + "/params.json", "w") as f:
        json.dump(doc, f)


def test_runner_report_is_signed_and_holds_no_secret():
    hw = _board(keys=True, status=0x12)
    try:
        _params(hw.storage_root)
        out = Out()
        text, sig = asyncio.run(run(hw, ["versions", "clock", "keys", "display", "printer", "card"], "00ff", 0.05, out))
        rep = json.loads(text)
        assert rep["format"] == "wasl-diag/1" and rep["terminal_id"] == "WASL0001" and rep["board"] == "fake"
        assert rep["nonce"] == "00ff" and rep["time"] == "2026-05-28T20:26:40Z" and rep["kbpk_kcv"] == "13C859"
        assert [(p["part"], p["verdict"]) for p in rep["parts"]] == [
            ("versions", FAIL), ("clock", PASS), ("keys", PASS), ("display", PASS), ("printer", PASS),
            ("card", SKIPPED)]
        assert "emv.json missing" in rep["parts"][0]["detail"]       # the fake has no EMV terminal data
        assert rep["summary"] == {"PASS": 4, "FAIL": 1, "SKIPPED": 1}
        assert sig["kbpk_kcv"] == "13C859"
        assert sig["mac"] == hexu(sign.hmac_sha256(bytes.fromhex("90ECE538A6392C425107B378BB93C780"), text.encode()))
        said = "".join(out.lines)
        assert "diag: keys PASS: AES-128 DUKPT" in said
        kbpk = hexu(FileSecureStorage(FIX + "secure").get("kbpk"))
        for t in (text, said):
            assert kbpk not in t.upper()
    finally:
        rmtree(hw.storage_root)


def test_runner_a_part_that_breaks_fails_alone_and_no_kbpk_means_no_signature():
    hw = _board()
    try:
        _params(hw.storage_root)
        hw.lcd.show = None            # a display driver that blows up
        text, sig = asyncio.run(run(hw, ["clock", "display"], "", 0.05, Out()))
        rep = json.loads(text)
        assert [(p["part"], p["verdict"]) for p in rep["parts"]] == [("clock", PASS), ("display", FAIL)]
        assert rep["parts"][1]["detail"].startswith("TypeError")
        assert sig is None and rep["kbpk_kcv"] is None
    finally:
        rmtree(hw.storage_root)
