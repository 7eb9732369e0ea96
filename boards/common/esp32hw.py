# What the ESP32 boards share (boards/esp32_*/board.py): a board file is data, a PINS dict (GPIO numbers)
# and a DRIVERS dict (which driver plays which part, on which PINS entries, with which settings); this
# module turns them into machine objects and drivers and is the wasl.hw.Hardware the firmware gets.
# Deployed next to board.py as esp32hw.mpy (tools/deploy.py); only this module and the board files
# create machine objects. tools/boardcheck.py checks PINS and DRIVERS without running anything.
#
# PINS entries: an int (one GPIO), a tuple of ints, None (not connected), or a dict of them. A dict is a
# bus: I2C (scl, sda), SPI (sck, mosi, miso) or UART (tx, rx), with the settings id, baud and freq; or a
# device's control lines (dc, cs, rst...).
# DRIVERS entries: {"driver": <module of wasl/drivers>, "bus": <PINS key of its bus>, "pins": (<PINS
# keys>, ...), settings...}, or None for a part the board does not have.
import asyncio
import os

from wasl import log
from wasl.hw import Clock, Hardware
from wasl.watchdog import TIMEOUT_MS, Watchdog

# The parts a board may have, in the order they are built, and the drivers that can play each
# (tools/boardcheck.py reads this). A tuple: MicroPython's dicts keep no order.
ROLES = (
    ("display", ("hd44780", "ssd1306", "st7789")),
    ("printer", ("escpos",)),
    ("keypad", ("matrix_keypad",)),
    ("magstripe", ("magstripe",)),
    ("contactless", ("pn532",)),
    ("buzzer", ("buzzer",)),
    ("battery", ("battery",)),
)
# Keys of a PINS dict that are settings, not GPIO numbers (tools/boardcheck.py reads this too).
SETTINGS = ("id", "baud", "freq")
# The keys the UI knows (boards/sim), row by row: 1 2 3 F1 / 4 5 6 F2 / 7 8 9 CLEAR / CANCEL 0 OK MENU
KEYMAP = "1 2 3 F1 4 5 6 F2 7 8 9 CLEAR CANCEL 0 OK MENU"
# params.json, emv.json, the journal and the key inbox, on the port's file system (littlefs on the ESP32)
STORAGE = "/data"


def _mkdir(path):
    try:
        os.mkdir(path)
    except OSError:   # already there
        pass


class Esp32Board(Hardware):
    def __init__(self, name, pins, drivers, watchdog_ms=TIMEOUT_MS):
        Hardware.__init__(self)
        self.name = name
        self.pins = pins
        self.clock = Clock()
        self.storage_root = STORAGE
        self.journal_root = STORAGE
        self.key_inbox = STORAGE + "/keys"
        _mkdir(STORAGE)
        _mkdir(self.key_inbox)
        from wasl.crypto.nvs import NvsSecureStorage

        self.secure_storage = NvsSecureStorage()
        self.watchdog = Watchdog(watchdog_ms)    # started and fed by the application's loop
        self.battery = None
        self.keypad_keys = None
        self.buzzer = None
        self._buses = {}
        self._jobs = []                          # the coroutine functions start() runs as tasks
        try:                                     # Wi-Fi station for the link manager (wasl.net.Links)
            import network

            self.wlan = network.WLAN(network.STA_IF)
        except (ImportError, AttributeError):    # a port without network (the desktop's fakes)
            pass
        for role in drivers:
            if role not in [r for r, _ in ROLES]:
                raise ValueError("board %s: unknown part %r" % (name, role))
        for role, able in ROLES:                 # the display first: a technician sees the rest fail
            cfg = drivers.get(role)
            if not cfg:
                continue
            drv = cfg["driver"]
            if drv not in able:
                raise ValueError("board %s: %s cannot be driven by %r" % (name, role, drv))
            try:
                getattr(self, "_make_" + drv)(cfg)
            except Exception as e:
                raise RuntimeError("board %s: %s (%s): %r" % (name, role, drv, e))

    # ---- pins and buses ---------------------------------------------------------------------------

    def pin(self, key, i=None):
        """machine.Pin of PINS[key] (of PINS[key][i] for a tuple or a dict), None when not connected."""
        from machine import Pin

        n = self.pins[key] if i is None else self.pins[key][i]
        return None if n is None else Pin(n)

    def bus(self, key, **kw):
        """The machine.I2C, SPI or UART of PINS[key], made once (parts on one I2C bus share it)."""
        b = self._buses.get(key)
        if b is not None:
            return b
        import machine

        p = self.pins[key]
        if "scl" in p:
            b = machine.I2C(p["id"], scl=machine.Pin(p["scl"]), sda=machine.Pin(p["sda"]),
                            freq=p.get("freq", 100000))
        elif "sck" in p:
            # miso=None says "not used": left out, the port would take its default pin (19 for SPI 2)
            miso = p.get("miso")
            b = machine.SPI(p["id"], baudrate=p.get("baud", 1000000), polarity=0, phase=0,
                            sck=machine.Pin(p["sck"]), mosi=machine.Pin(p["mosi"]),
                            miso=None if miso is None else machine.Pin(miso), **kw)
        else:
            # both tx and rx always: UART 1's default pins on the ESP32 are flash pins
            b = machine.UART(p["id"], baudrate=p.get("baud", 9600), tx=p["tx"], rx=p["rx"], **kw)
        self._buses[key] = b
        return b

    # ---- the parts, one maker per driver (the driver's module is loaded only when a board uses it) --

    def _make_hd44780(self, cfg):
        from wasl.drivers.hd44780 import HD44780

        self.lcd = HD44780(self.bus(cfg["bus"]), cfg.get("addr", 0x27), cfg.get("rows", 4), cfg.get("cols", 20),
                           charmap=cfg.get("charmap"))

    def _glyph_screen(self, lcd, cfg):
        """A graphic display as the UI sees it. "font": "font16" (the usual choice): rows drawn with the
        terminal's 16-dot font through wasl.ui.glyphs.Screen, Arabic included (the font stays resident,
        about 3 KB from a ROMFS image); without it, the driver's own 8x8 Latin font, and an Arabic
        terminal shows French screens (wasl.ui.screen.Ui.set_language)."""
        font = cfg.get("font")
        if font is None:
            return lcd
        if font != "font16":
            raise ValueError("display font %r: only font16 exists" % font)
        from wasl.ui.glyphs import Screen

        return Screen(lcd, cfg.get("cols"))

    def _make_ssd1306(self, cfg):
        from wasl.drivers.ssd1306 import SSD1306

        self.lcd = self._glyph_screen(SSD1306(self.bus(cfg["bus"]), cfg.get("addr", 0x3C), cfg.get("width", 128),
                                              cfg.get("height", 64), cfg.get("line_h", 16)), cfg)

    def _make_st7789(self, cfg):
        from machine import Pin
        from wasl.drivers.st7789 import ST7789

        ctl = cfg["pins"][0]                     # a PINS dict: dc, cs (None: tied low), rst (None: not wired)
        dc = Pin(self.pins[ctl]["dc"], Pin.OUT, value=0)
        cs = self.pins[ctl].get("cs")
        rst = self.pins[ctl].get("rst")
        self.lcd = self._glyph_screen(
            ST7789(self.bus(cfg["bus"]), dc, None if cs is None else Pin(cs, Pin.OUT, value=1),
                   None if rst is None else Pin(rst, Pin.OUT, value=1),
                   cfg.get("width", 240), cfg.get("height", 240), cfg.get("xoff", 0), cfg.get("yoff", 0),
                   cfg.get("madctl", 0), cfg.get("invert", True), cfg.get("scale", 2), cfg.get("line_h")), cfg)

    def _make_escpos(self, cfg):
        from wasl.drivers.escpos import EscPos

        # a transmit buffer the size of a receipt: printing does not hold the loop while the bytes leave
        # arabic_codepage: ESC t n of the model's CP864, or None: Arabic receipt lines print as raster
        self.printer = EscPos(self.bus(cfg["bus"], txbuf=cfg.get("txbuf", 4096)), cfg.get("cols", 32),
                              cfg.get("codepage"), cfg.get("arabic_codepage"))

    def _make_matrix_keypad(self, cfg):
        from machine import Pin
        from wasl.drivers.matrix_keypad import MatrixKeypad

        rows, cols = cfg["pins"]
        keymap = cfg.get("keymap", KEYMAP)
        kp = MatrixKeypad([Pin(n) for n in self.pins[rows]], [Pin(n) for n in self.pins[cols]], keymap, self.events,
                          cfg.get("debounce", 3))
        self.keypad_keys = tuple(k for k in (keymap.split() if isinstance(keymap, str) else keymap)
                                 if k and k != "-")
        period = cfg.get("period_ms", 10)
        self._jobs.append(lambda: kp.run(period))

    def _make_magstripe(self, cfg):
        from wasl.drivers.magstripe import MagStripe

        ms = MagStripe(self.bus(cfg["bus"]), self.events, cfg.get("gap_ms", 80))
        self._jobs.append(ms.run)

    def _make_pn532(self, cfg):
        from wasl.drivers import pn532

        key = cfg["bus"]
        if "scl" in self.pins[key]:
            transport = pn532.PN532I2C(self.bus(key), cfg.get("addr", 0x24))
        else:   # the PN532 is LSB first on SPI: the ESP32's SPI does that itself
            from machine import SPI

            transport = pn532.PN532SPI(self.bus(key, firstbit=SPI.LSB), self.pin(cfg["pins"][0], "cs"),
                                       lsb_first=True)
        self.reader = pn = pn532.PN532(transport)
        self._jobs.append(lambda: self._contactless(pn, cfg.get("period_ms", 250)))

    async def _contactless(self, pn, period_ms):
        try:
            await pn.begin()
        except OSError as e:   # absent or not a PN532: the terminal works on without contactless
            log.warn("board", "contactless reader not found: %r", e)
            self.reader = None
            return
        await pn.watch(self.events, period_ms)

    def _make_buzzer(self, cfg):
        from machine import PWM
        from wasl.drivers.buzzer import Buzzer

        self.buzzer = Buzzer(PWM(self.pin(cfg["pins"][0]), freq=4000, duty_u16=0), cfg.get("tones"))

    def _make_battery(self, cfg):
        from machine import ADC
        from wasl.drivers.battery import Battery

        # ADC1 pins only (32-39): ADC2 does not read while Wi-Fi is on
        adc = ADC(self.pin(cfg["pins"][0]), atten=ADC.ATTN_11DB)
        self.battery = Battery(adc, cfg.get("ratio", 2.0), low_mv=cfg.get("low_mv", 3500))

    # ---- wasl.hw.Hardware -------------------------------------------------------------------------

    def ppp(self, uart):
        """The PPP hook (docs/modem.md, section 1), for a board whose file sets hw.modem_uart (no board
        has a free UART for a modem yet): the esp32 port's network.PPP on the modem's UART."""
        import network

        link = network.PPP(uart)
        link.active(True)
        link.connect()
        return link

    def beep(self, tone):
        if self.buzzer is not None:
            self.buzzer.beep(tone)

    def start(self):
        """The parts' tasks (keypad scan, stripe reader, contactless reader) under one task: a part whose
        task fails stops the application (wasl.app), cancelling this cancels them all."""
        return asyncio.create_task(self._run()) if self._jobs else None

    async def _run(self):
        tasks = [asyncio.create_task(job()) for job in self._jobs]
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()

    def shutdown(self, code):
        """The application ended. After a failure: a clean restart now (the journal's recovery runs at the
        next boot) rather than the watchdog's, or a terminal left at the REPL. Asked to stop: the watchdog
        is stretched for the technician who stopped it."""
        if code:
            log.error("board", "application ended with %d: restarting", code)
            import machine

            machine.reset()
        self.watchdog.park()
