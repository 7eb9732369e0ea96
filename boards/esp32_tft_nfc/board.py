# ESP32 DevKit-class terminal with a colour screen and contactless only: 2" ST7789 240x320 TFT on SPI
# (landscape, 20 columns of 16-pixel text), PN532 contactless reader on I2C, the 4x4 keypad, 58 mm ESC/POS
# printer, buzzer and battery of esp32_generic (same wiring for those). No stripe reader, no chip reader.
# Built by boards/common/esp32hw.py, checked by tools/boardcheck.py. Wiring: docs/deploy.md.
#
# Heap: the ST7789 driver holds one band of 320 x 16 pixels (10 KB) for good, on top of what the
# firmware needs; the 20x4 LCD of esp32_generic holds 100 bytes.
from esp32hw import Esp32Board

NAME = "esp32_tft_nfc"

PINS = {
    "tft_spi": {"id": 2, "sck": 18, "mosi": 23, "miso": None, "baud": 40000000},   # VSPI pins; no MISO
    "tft": {"dc": 19, "cs": 5, "rst": None},       # RST to 3V3 (software reset); backlight to 3V3
    "i2c": {"id": 0, "scl": 22, "sda": 21, "freq": 400000},                         # PN532 at 0x24
    "printer_uart": {"id": 2, "tx": 17, "rx": 16, "baud": 9600},
    "keypad_rows": (13, 4, 14, 27),
    "keypad_cols": (26, 25, 33, 32),
    "buzzer": 15,
    "battery_adc": 34,
}

DRIVERS = {
    # 240x320 controller turned to landscape: MADCTL MV|MX; 40-pixel rows: 6 x 20. "font": rows drawn with
    # the 16-dot font16 (wasl.ui.glyphs.Screen), which covers Arabic: an Arabic terminal shows shaped Arabic
    "display": {"driver": "st7789", "bus": "tft_spi", "pins": ("tft",), "width": 320, "height": 240,
                "madctl": 0x60, "invert": True, "scale": 2, "line_h": 40, "font": "font16"},
    "printer": {"driver": "escpos", "bus": "printer_uart", "cols": 32, "codepage": None,
                "arabic_codepage": None},
    "keypad": {"driver": "matrix_keypad", "pins": ("keypad_rows", "keypad_cols"),
               "keymap": "1 2 3 F1 4 5 6 F2 7 8 9 CLEAR CANCEL 0 OK MENU"},
    "contactless": {"driver": "pn532", "bus": "i2c", "addr": 0x24},
    "buzzer": {"driver": "buzzer", "pins": ("buzzer",)},
    "battery": {"driver": "battery", "pins": ("battery_adc",), "ratio": 2.0, "low_mv": 3500},
}


def build():
    return Esp32Board(NAME, PINS, DRIVERS)
