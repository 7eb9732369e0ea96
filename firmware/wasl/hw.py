# What every board hands to the application. A board module (boards/<name>/board.py) subclasses this,
# creates the real or virtual devices and fills the attributes:
#   events        wasl.events.EventQueue fed by keypad / card reader tasks
#   lcd           object with rows, cols and show(list_of_rows)
#   printer       wasl.drivers.escpos.EscPos (or anything with print_lines)
#   clock         object with time() (seconds) and gmtime(seconds) -> tuple
#   storage_root  directory holding params.json and small settings files
#   journal_root  directory on a power-safe file system (littlefs) holding the journal
#   reader        APDU transport of the chip / contactless reader (async exchange(capdu) -> rapdu), or None
#   secure_storage  get/put/delete of small secrets (encrypted NVS on the ESP32): the key store's, or None
#   key_inbox     directory where an injected TR-31 key block waits for the next boot, or None
#   watchdog      wasl.watchdog.Watchdog fed by the application's loop (machine.WDT on a device), or None
#   wlan          network.WLAN(STA_IF) (active, connect, isconnected, status), or None: no Wi-Fi
#   modem_uart    the GSM modem's UART (wasl.net.modem), or None: no modem
#   ppp           the PPP hook: ppp(uart) -> link (network.PPP) once the modem said CONNECT, or None
#   (with wlan or modem_uart, wasl.net.Links manages the links: docs/modem.md, section 7)
import time

from wasl.events import EventQueue


class Clock:
    """The port's clock (RTC on the device). gmtime() of time() is consistent on every port, whatever
    its epoch."""

    def time(self):
        return time.time()

    def gmtime(self, t):
        return time.gmtime(int(t))

    def set(self, unix):
        """Set the clock to `unix` (seconds since 1970, UTC: what wasl.net.clock gets from the network)."""
        import machine

        t = time.gmtime(unix - (946684800 if time.gmtime(0)[0] == 2000 else 0))   # the port's epoch
        machine.RTC().datetime((t[0], t[1], t[2], t[6], t[3], t[4], t[5], 0))


class Hardware:
    name = "?"
    ppp = None      # the PPP hook: a method of a board that has one

    def __init__(self):
        self.events = EventQueue(16)
        self.lcd = None
        self.printer = None
        self.clock = None
        self.storage_root = ""
        self.journal_root = ""
        self.powerfail = None   # journal write hook for power-cut tests (sim only)
        self.reader = None
        self.secure_storage = None
        self.key_inbox = None
        self.watchdog = None
        self.wlan = None
        self.modem_uart = None

    # trace(kind, value): observable milestones (boot, UI state) for harnesses; beep(tone): the buzzer
    # ('ok', 'error', 'key'); start(): start the board's own asyncio tasks, return one task (or None) to
    # cancel at shutdown; shutdown(code): called last, with the application's exit code. A board without
    # them (no harness, no buzzer, no tasks) does nothing: one function for the four (each function
    # costs the heap a code record and a function object).
    def trace(self, *args):
        return None

    beep = start = shutdown = trace

    def reset(self):
        """Restart the device (a software update was activated, docs/tms.md)."""
        import machine

        machine.reset()
