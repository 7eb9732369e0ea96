# ESP32 DevKit-class terminal (ESP32-WROOM-32, 4 MB flash, no PSRAM): 20x4 character LCD and PN532
# contactless reader on one I2C bus, 4x4 keypad, magnetic stripe reader, 58 mm ESC/POS printer, piezo
# buzzer, battery on an ADC. Everything physical is decided here, as data; boards/common/esp32hw.py
# builds it and tools/boardcheck.py checks it (`python -m tools.boardcheck`). Wiring: docs/deploy.md.
#
# No contact chip reader: no driver for one exists yet. hw.reader is the PN532 (tap), the stripe
# reader posts swipes.
from esp32hw import Esp32Board

NAME = "esp32_generic"

# GPIO numbers. Kept off: 6-11 (flash), 1 and 3 (UART0: the USB REPL, mpremote), 12 (sets the flash
# voltage at reset: a pulled-up keypad row there stops a 3.3 V module from booting), 34-39 as outputs.
PINS = {
    "i2c": {"id": 0, "scl": 22, "sda": 21, "freq": 100000},          # PCF8574 backpack (100 kHz part) + PN532
    "printer_uart": {"id": 2, "tx": 17, "rx": 16, "baud": 9600},    # rx: DLE EOT paper status
    "msr_uart": {"id": 1, "tx": 23, "rx": 5, "baud": 9600},         # reader's TX -> GPIO5; GPIO23 not wired
    "keypad_rows": (13, 4, 14, 27),                                 # driven low one at a time
    "keypad_cols": (26, 25, 33, 32),                                # read, internal pull-ups
    "buzzer": 15,                                                   # piezo through a transistor, PWM
    "battery_adc": 34,                                              # 100k/100k divider from the cell
}

DRIVERS = {
    # 0x3F: PCF8574A. A character LCD cannot show shaped Arabic: an Arabic terminal shows French screens
    "display": {"driver": "hd44780", "bus": "i2c", "addr": 0x27, "rows": 4, "cols": 20},
    "printer": {"driver": "escpos", "bus": "printer_uart", "cols": 32, "codepage": None,
                "arabic_codepage": None},   # ESC t n: per model; arabic_codepage: its CP864, None: raster
    "keypad": {"driver": "matrix_keypad", "pins": ("keypad_rows", "keypad_cols"),
               "keymap": "1 2 3 F1 4 5 6 F2 7 8 9 CLEAR CANCEL 0 OK MENU"},
    "magstripe": {"driver": "magstripe", "bus": "msr_uart"},
    "contactless": {"driver": "pn532", "bus": "i2c", "addr": 0x24},
    "buzzer": {"driver": "buzzer", "pins": ("buzzer",)},
    "battery": {"driver": "battery", "pins": ("battery_adc",), "ratio": 2.0, "low_mv": 3500},
}


def build():
    return Esp32Board(NAME, PINS, DRIVERS)
