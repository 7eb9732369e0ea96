"""The ESP32 boards (boards/esp32_*/board.py, boards/common/esp32hw.py) and their checker (tools/boardcheck.py).

Each board's build() runs on the MicroPython unix port against host_tests/upy_fakes/ (a `machine` that
records every Pin, bus, PWM, ADC and WDT and refuses what the ESP32 would, and an `esp32` with NVS in
memory), first on MICROPYPATH. The objects the board hands to the firmware are checked; the application
itself does not run here (the sim board's scenarios do that).
"""
import json
import os
import subprocess
import sys

import pytest

from tools import boardcheck

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")
FAKES = os.path.join(ROOT, "host_tests", "upy_fakes")
ESP32_BOARDS = ("esp32_generic", "esp32_tft_nfc")

# Runs on the unix port, in a fresh directory: build the board, poke what it handed over, print JSON.
SCRIPT = r'''
import asyncio, json, sys, time
import machine
import esp32hw
esp32hw.STORAGE = sys.argv[1] + "/data"
import board
from wasl.events import EventQueue
from wasl.drivers.escpos import EscPos

t0 = time.ticks_ms()
hw = board.build()
out = {"build_ms": time.ticks_diff(time.ticks_ms(), t0), "name": hw.name}
built = list(machine.LOG)
out["made"] = sorted(set(e[0] for e in built))
out["wdt_at_build"] = [e for e in built if e[0] == "WDT"]
out["buses"] = [[e[0]] + list(e[3:]) for e in built if e[0] in ("I2C", "SPI", "UART") and e[2] == "new"]
out["claimed"] = sorted(machine.CLAIMED)
lcd = hw.lcd
out["lcd"] = {"cls": type(lcd).__name__, "rows": lcd.rows, "cols": lcd.cols}
out["lcd_driver"] = type(getattr(lcd, "lcd", lcd)).__name__
lcd.show(["WASL", "rows and cols", "", "ok"])
# the merchant's language on this display: Arabic screens where the display draws Arabic, else French
from wasl.ui.screen import Ui
from wasl.ui.arabic import visual
ui = Ui(hw, "ar")
out["ar_screen"] = [ui.shown, ui.rtl, ui.t("approved"), ui.rtr.get("approved")]
ui.show(ui.t("approved"))
out["ar_drawn"] = visual("\u0645\u0642\u0628\u0648\u0644\u0629") in "".join(getattr(lcd, "_last", None) or [])
pr = hw.printer
out["printer_is_escpos"] = isinstance(pr, EscPos)
pr.print_lines([("c", "B", "WASL"), ("l", "", "test")])
out["printer_bytes"] = bytes(pr.uart.out[:2]).hex()
out["printer_uart"] = [pr.uart.baudrate, pr.uart.txbuf, pr.cols]
out["events_is_queue"] = isinstance(hw.events, EventQueue)
out["reader"] = type(hw.reader).__name__ if hw.reader is not None else None
out["reader_has_exchange"] = hasattr(hw.reader, "exchange") and hasattr(hw.reader, "card_present")
out["keypad_keys"] = list(hw.keypad_keys)
out["battery_mv"] = hw.battery.millivolts()
out["battery_low"] = hw.battery.low()
out["storage"] = [hw.storage_root, hw.journal_root, hw.key_inbox]
ss = hw.secure_storage
ss.put("probe", b"\x01\x02")
out["secure"] = [type(ss).__name__, ss.get("probe").hex()]
out["watchdog"] = [type(hw.watchdog).__name__, hw.watchdog.timeout_ms, hw.watchdog.period_ms]

async def run_parts():
    io = hw.start()
    await asyncio.sleep_ms(60)
    machine.PRESSED.add((board.PINS["keypad_rows"][0], board.PINS["keypad_cols"][0]))   # top-left key
    ev = await hw.events.get(500)
    machine.PRESSED.clear()
    hw.beep("key")
    await asyncio.sleep_ms(700)            # the PN532's start-up gives up: none on the fake bus
    io.cancel()
    await asyncio.sleep_ms(0)
    return ev

ev = asyncio.run(run_parts())
out["key"] = list(ev) if ev else None
out["reader_after_start"] = hw.reader
out["pwm_tones"] = [e[3:] for e in machine.LOG if e[0] == "PWM"][:1]
hw.watchdog.feed()
hw.shutdown(0)
out["wdt"] = [e[2:] for e in machine.LOG if e[0] == "WDT" and e[2] == "new"]
print("RESULT " + json.dumps(out))
'''


def run_board(board, tmp_path):
    env = dict(os.environ, MICROPYPATH=":".join([
        FAKES, os.path.join(ROOT, "firmware"), os.path.join(ROOT, "boards", "common"),
        os.path.join(ROOT, "boards", board), ".frozen"]))
    script = tmp_path / "probe.py"
    script.write_text(SCRIPT)
    res = subprocess.run([MICROPYTHON, str(script), str(tmp_path)], cwd=str(tmp_path), env=env,
                         capture_output=True, text=True, timeout=60)
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("RESULT ")]
    assert res.returncode == 0 and lines, res.stdout + res.stderr
    return json.loads(lines[-1][7:]), res.stderr


@pytest.fixture(scope="module", params=ESP32_BOARDS)
def built(request, tmp_path_factory):
    return request.param, run_board(request.param, tmp_path_factory.mktemp(request.param))


def test_board_builds_on_the_unix_port(built):
    board, (out, _) = built
    assert out["name"] == board
    assert out["build_ms"] < 5000
    assert {"Pin", "I2C", "UART", "PWM", "ADC"} <= set(out["made"])
    assert out["wdt_at_build"] == []            # the loop starts the watchdog, not the board


def test_display_has_the_screen_interface(built):
    board, (out, _) = built
    lcd = out["lcd"]
    if board == "esp32_generic":
        assert lcd == {"cls": "HD44780", "rows": 4, "cols": 20}
    else:
        # the board file asks for font16: the ST7789 behind the glyph screen, 6 rows of 20 columns
        assert lcd == {"cls": "Screen", "rows": 6, "cols": 20} and out["lcd_driver"] == "ST7789"


def test_arabic_screens_where_the_display_can_draw_them(built):
    """An Arabic terminal: shaped Arabic on the TFT (font16 through wasl.ui.glyphs.Screen); French on
    the character LCD, which cannot show it (docs/arabic.md); receipts in French on both."""
    board, (out, _) = built
    shown, rtl, approved, receipt = out["ar_screen"]
    assert receipt == "ACCEPTEE"
    if board == "esp32_generic":
        assert (shown, rtl, approved) == ("fr", False, "ACCEPTEE") and not out["ar_drawn"]
    else:
        assert (shown, rtl, approved) == ("ar", True, "\u0645\u0642\u0628\u0648\u0644\u0629")
        assert out["ar_drawn"]


def test_printer_is_escpos_on_a_buffered_uart(built):
    _, (out, _) = built
    assert out["printer_is_escpos"]
    assert out["printer_bytes"] == "1b40"       # ESC @ opens every receipt
    assert out["printer_uart"] == [9600, 4096, 32]


def test_inputs_feed_the_event_queue(built):
    _, (out, _) = built
    assert out["events_is_queue"]
    assert out["keypad_keys"] == "1 2 3 F1 4 5 6 F2 7 8 9 CLEAR CANCEL 0 OK MENU".split()
    assert out["key"] == ["key", "1"]           # row 0 x column 0 of the wiring is the map's first key


def test_contactless_reader_and_its_absence(built):
    _, (out, err) = built
    assert out["reader"] == "PN532" and out["reader_has_exchange"]
    assert out["reader_after_start"] is None    # no PN532 answered: the terminal works on without it
    assert "contactless reader not found" in err


def test_battery_storage_keys_and_watchdog(built):
    _, (out, _) = built
    assert out["battery_mv"] == 3900 and out["battery_low"] is False
    assert out["storage"][0].endswith("/data") and out["storage"][1] == out["storage"][0]
    assert out["storage"][2] == out["storage"][0] + "/keys"
    assert out["secure"] == ["NvsSecureStorage", "0102"]
    assert out["watchdog"] == ["Watchdog", 10000, 2500]
    assert out["wdt"] == [["new", 10000], ["new", 3600000]]   # started by a feed, parked at shutdown(0)


def test_buses_match_the_pin_map(built):
    board, (out, _) = built
    with open(os.path.join(ROOT, "boards", board, "board.py")) as f:
        pins = boardcheck.literals(f.read())["PINS"]
    made = sorted(out["buses"])
    expect = []
    for p in pins.values():
        if not isinstance(p, dict) or "id" not in p:
            continue
        if "tx" in p:      # UART: id, baud, tx, rx, txbuf (4096 for the printer)
            expect.append(["UART", p["id"], p["baud"], p["tx"], p["rx"], 4096 if p["tx"] == 17 else 256])
        elif "scl" in p:   # I2C: id, scl, sda, freq
            expect.append(["I2C", p["id"], p["scl"], p["sda"], p["freq"]])
        else:              # SPI: id, baud, polarity, phase, firstbit, sck, mosi, miso
            expect.append(["SPI", p["id"], p["baud"], 0, 0, 0, p["sck"], p["mosi"], p["miso"]])
    assert made == sorted(expect)
    declared = sorted(n for _, n, _ in boardcheck._walk_pins(pins, ("id", "baud", "freq")) if n is not None)
    assert set(out["claimed"]) <= set(declared)


# ---- tools/boardcheck.py -----------------------------------------------------------------------------

def test_real_boards_pass_the_checker():
    paths = boardcheck.default_boards()
    names = [os.path.basename(os.path.dirname(p)) for p in paths]
    assert set(ESP32_BOARDS) <= set(names) and "sim" not in names
    for p in paths:
        problems, warnings, (npins, nparts) = boardcheck.check_file(p)
        assert problems == [] and warnings == [], (p, problems, warnings)
        assert npins >= 15 and nparts >= 6
    res = subprocess.run([sys.executable, "-m", "tools.boardcheck"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.count("ok   boards/") == len(paths)


def test_every_driver_the_common_module_allows_has_a_maker():
    roles, settings = boardcheck.common_tables()
    src = open(boardcheck.COMMON).read()
    modules = boardcheck.driver_modules()
    for role, drivers in roles.items():
        for d in drivers:
            assert "def _make_%s(" % d in src, d
            assert d in modules, d
    assert settings == ("id", "baud", "freq")


GOOD_PINS = '''{
    "i2c": {"id": 0, "scl": 22, "sda": 21, "freq": 100000},
    "printer_uart": {"id": 2, "tx": 17, "rx": 16, "baud": 9600},
    "keypad_rows": (13, 4, 14, 27),
    "keypad_cols": (26, 25, 33, 32),
    "buzzer": 15,
    "battery_adc": 34,
}'''
GOOD_DRIVERS = '''{
    "display": {"driver": "hd44780", "bus": "i2c", "addr": 0x27},
    "printer": {"driver": "escpos", "bus": "printer_uart"},
    "keypad": {"driver": "matrix_keypad", "pins": ("keypad_rows", "keypad_cols"), "keymap": KEYMAP},
    "buzzer": {"driver": "buzzer", "pins": ("buzzer",)},
    "battery": {"driver": "battery", "pins": ("battery_adc",)},
}'''


def board_file(tmp_path, pins=GOOD_PINS, drivers=GOOD_DRIVERS, name="board.py"):
    path = tmp_path / name
    path.write_text("from esp32hw import Esp32Board\nKEYMAP = '1 2 3 A 4 5 6 B 7 8 9 C * 0 # D'\n"
                    "PINS = %s\nDRIVERS = %s\n\ndef build():\n    return Esp32Board('x', PINS, DRIVERS)\n"
                    % (pins, drivers))
    return str(path)


def problems_of(tmp_path, **kw):
    problems, warnings, _ = boardcheck.check_file(board_file(tmp_path, **kw))
    return problems, warnings


def test_crafted_good_board_passes(tmp_path):
    assert problems_of(tmp_path) == ([], [])


@pytest.mark.parametrize("old,new,message", [
    ('"buzzer": 15', '"buzzer": 25',
     "GPIO25 used twice: PINS['keypad_cols'][1] and PINS['buzzer']"),
    ('"tx": 17', '"tx": 21',
     "GPIO21 used twice: PINS['i2c']['sda'] and PINS['printer_uart']['tx']"),
    ('(13, 4, 14, 27)', '(13, 4, 14, 13)',
     "GPIO13 used twice: PINS['keypad_rows'][0] and PINS['keypad_rows'][3]"),
    ('"buzzer": 15', '"buzzer": 7', "PINS['buzzer']: GPIO7 is a flash pin (6-11)"),
    ('"buzzer": 15', '"buzzer": 40', "PINS['buzzer']: GPIO40 does not exist on the ESP32"),
    ('"buzzer": 15', '"buzzer": 24', "PINS['buzzer']: GPIO24 does not exist on the ESP32"),
    ('"buzzer": 15', '"buzzer": 1', "PINS['buzzer']: GPIO1 is UART0, the USB REPL"),
    ('"buzzer": 15', '"buzzer": 35', "PINS['buzzer']: GPIO35 is input only (34-39) but used as an output"),
    ('"tx": 17', '"tx": 36', "PINS['printer_uart']['tx']: GPIO36 is input only (34-39) but used as an output"),
    ('(26, 25, 33, 32)', '(26, 25, 33, 39)', "PINS['keypad_cols'][3]: GPIO39 has no internal pull-up"),
    ('"battery_adc": 34', '"battery_adc": 2', "PINS['battery_adc']: GPIO2 is not on ADC1"),
    ('"rx": 16, ', '', "PINS['printer_uart']: UART bus without rx (the port would take its default pins)"),
    ('"id": 2, "tx"', '"id": 0, "tx"', "PINS['printer_uart']: UART(0) is not available"),
    ('"buzzer": 15', '"buzzer": "15"', "PINS['buzzer']: '15' is not a GPIO number"),
])
def test_bad_pins_fail_with_a_message(tmp_path, old, new, message):
    assert old in GOOD_PINS
    problems, _ = problems_of(tmp_path, pins=GOOD_PINS.replace(old, new))
    assert any(message in p for p in problems), problems


@pytest.mark.parametrize("old,new,message", [
    ('"driver": "hd44780"', '"driver": "hd44780_pcf8574"',
     "DRIVERS['display']: driver 'hd44780_pcf8574' does not exist in firmware/wasl/drivers/"),
    ('"driver": "escpos"', '"driver": "nosuch"', "driver 'nosuch' does not exist in firmware/wasl/drivers/"),
    ('"driver": "hd44780"', '"driver": "escpos"', "DRIVERS['display']: driver 'escpos' cannot be the display"),
    ('"display":', '"reader":', "DRIVERS['reader']: no such part"),
    ('"bus": "i2c"', '"bus": "i2c1"', "DRIVERS['display']: bus 'i2c1' is not in PINS"),
    ('"bus": "printer_uart"', '"bus": "buzzer"', "DRIVERS['printer']: PINS['buzzer'] is not a bus"),
    ('("keypad_rows", "keypad_cols")', '("keypad_rows", "cols")', "DRIVERS['keypad']: pins 'cols' is not in PINS"),
    ('{"driver": "buzzer", "pins": ("buzzer",)}', '"buzzer"', "DRIVERS['buzzer']: must be a dict"),
    ('"addr": 0x27}', '"addr": 0x27, "font": "font16"}',
     "DRIVERS['display']: \"font\" 'font16': only a graphic display (ssd1306, st7789) takes one"),
    ('"bus": "printer_uart"}', '"bus": "printer_uart", "arabic_codepage": "cp864"}',
     "DRIVERS['printer']: arabic_codepage 'cp864' must be an ESC t number (0-255) or None"),
    ('"bus": "printer_uart"}', '"bus": "printer_uart", "codepage": 300}',
     "DRIVERS['printer']: codepage 300 must be an ESC t number"),
])
def test_bad_drivers_fail_with_a_message(tmp_path, old, new, message):
    assert old in GOOD_DRIVERS
    problems, _ = problems_of(tmp_path, drivers=GOOD_DRIVERS.replace(old, new))
    assert any(message in p for p in problems), problems


def test_gpio12_is_a_warning_not_a_failure(tmp_path):
    problems, warnings = problems_of(tmp_path, pins=GOOD_PINS.replace("(13, 4, 14, 27)", "(13, 12, 14, 27)"))
    assert problems == [] and len(warnings) == 1 and "GPIO12 sets the flash voltage" in warnings[0]


def test_duplicate_bus_id(tmp_path):
    pins = GOOD_PINS.replace('"buzzer": 15,', '"msr_uart": {"id": 2, "tx": 23, "rx": 5},')
    problems, _ = problems_of(tmp_path, pins=pins, drivers=GOOD_DRIVERS.replace(
        '"buzzer": {"driver": "buzzer", "pins": ("buzzer",)},', ''))
    assert any("UART(2) is already PINS['printer_uart']" in p for p in problems), problems


def test_missing_dicts_and_the_command_line(tmp_path):
    empty = tmp_path / "empty.py"
    empty.write_text("X = 1\n")
    bad = board_file(tmp_path, pins=GOOD_PINS.replace('"buzzer": 15', '"buzzer": 8'), name="bad.py")
    good = board_file(tmp_path, name="good.py")
    res = subprocess.run([sys.executable, "-m", "tools.boardcheck", good, bad, str(empty)], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 1
    assert "ok   %s" % good in res.stdout
    assert "FAIL %s: PINS['buzzer']: GPIO8 is a flash pin (6-11)" % bad in res.stdout
    assert "FAIL %s: no literal PINS or DRIVERS dict" % empty in res.stdout
    res = subprocess.run([sys.executable, "-m", "tools.boardcheck", "no_such_board"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "no such board" in res.stdout
