# ESP32 DevKit-class board (ESP32-WROOM-32, 4 MB flash, no PSRAM): the pin map and the drivers it uses.
# The firmware never names a pin: everything physical is decided here.
#
# Status: pin map and printer wiring are final; the keypad matrix and HD44780 display drivers arrive
# with the merchant UI work (issue 5), the card readers with the EMV work (issue 4). Until then
# build() says exactly what is missing instead of booting half a terminal.
from wasl.drivers.escpos import EscPos
from wasl.hw import Clock, Hardware

PINS = {
    "printer_uart": {"id": 2, "tx": 17, "rx": 16, "baud": 9600},   # 58 mm ESC/POS printer
    "display_i2c": {"id": 0, "scl": 22, "sda": 21, "addr": 0x27},  # HD44780 20x4 behind a PCF8574
    "keypad_rows": (13, 12, 14, 27),                               # 4x4 matrix, rows driven
    "keypad_cols": (26, 25, 33, 32),                               # columns read, pulled up
    "reader_uart": {"id": 1, "tx": 4, "rx": 5, "baud": 9600},      # magstripe reader
    "buzzer": 15,
    "battery_adc": 34,
}

DRIVERS = {
    "printer": "escpos",
    "display": "hd44780_pcf8574",
    "keypad": "matrix4x4",
    "reader": "msr_uart",
}

PRINTER_CODEPAGE = None   # the printer's Arabic code page number, when it has one (ESC t n)


class Esp32Generic(Hardware):
    name = "esp32_generic"

    def __init__(self):
        from machine import UART

        Hardware.__init__(self)
        u = PINS["printer_uart"]
        self.printer = EscPos(UART(u["id"], baudrate=u["baud"], tx=u["tx"], rx=u["rx"]),
                              codepage=PRINTER_CODEPAGE)
        self.clock = Clock()
        self.storage_root = "/data"
        missing = [DRIVERS[k] for k in ("display", "keypad")]
        raise NotImplementedError("board esp32_generic: drivers not yet written: " + ", ".join(missing))


def build():
    return Esp32Generic()
