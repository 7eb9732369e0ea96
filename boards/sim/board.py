# The desktop board: the firmware on the MicroPython unix port, its devices virtual.
# Inputs arrive and outputs leave as JSON lines on stdin/stdout (docs/sim-protocol.md);
# logs go to stderr. Storage is the host directory named by WASL_DATA.
# The chip / contactless card itself lives in the harness (tools/virtual/emvcard.py): the board's
# reader only carries APDUs over the control channel.
import asyncio
import gc
import json
import os
import select
import sys
import time
import vfs
from micropython import const

from wasl import log
from wasl.drivers.escpos import EscPos
from wasl.hw import Clock, Hardware
from wasl.watchdog import Watchdog

# The keypad's key names, between spaces. A string, not a tuple: a tuple of strings in a compiled module
# is made of 20 string objects in the heap (800 bytes); this stays in the image.
_KEYS = const(" 0 1 2 3 4 5 6 7 8 9 OK CANCEL CLEAR F1 F2 F3 F4 MENU UP DOWN ")


def emit(obj):
    sys.stdout.write(json.dumps(obj))
    sys.stdout.write("\n")


class TextLCD:
    """A character display's frame buffer; every change goes to the harness (its glass)."""

    arabic = True       # the harness's glass is a Unicode terminal: shaped Arabic shows as it is

    def __init__(self, rows=4, cols=20):
        self.rows = rows
        self.cols = cols
        self.frame = [" " * cols] * rows

    def show(self, rows):
        rows = [r[:self.cols] + " " * (self.cols - len(r[:self.cols])) for r in rows[:self.rows]]
        if rows != self.frame:
            self.frame = rows
            emit({"ev": "lcd", "rows": rows})


_HEX = b"0123456789abcdef"


class SimUart:
    """The host end of a UART: bytes written by a driver go to the harness's virtual device
    (tools/virtual/) in chunks of at most 192 bytes, like a UART's TX FIFO, and on flush()
    (machine.UART.flush() waits for the bytes to leave on the device). Like a real UART driver it
    allocates nothing per byte: each byte is hex-encoded as it is written, into a buffer made once."""

    def __init__(self, port, size=192, rx=16):
        self._hex = bytearray(2 * size)
        self._head = ('{"ev": "uart", "port": "%s", "data": "' % port).encode()
        self._n = 0     # hex digits waiting in _hex
        # what the device sends back (a printer's status bytes), from the control channel's
        # {"uart_rx": {"port": ..., "data": hex}} lines: a ring of `rx` bytes, the oldest lost when full
        self._rx = bytearray(rx)
        self._rh = self._rc = 0

    def rx(self, data):
        for b in data:
            if self._rc == len(self._rx):
                self._rh = (self._rh + 1) % len(self._rx)
                self._rc -= 1
            self._rx[(self._rh + self._rc) % len(self._rx)] = b
            self._rc += 1

    def any(self):
        if self._n:         # a real UART has sent its bytes by the time anyone waits for an answer
            self.flush()
        return self._rc

    def readinto(self, buf, n=None):
        n = min(len(buf) if n is None else n, self._rc)
        for i in range(n):
            buf[i] = self._rx[self._rh]
            self._rh = (self._rh + 1) % len(self._rx)
        self._rc -= n
        return n or None

    def read(self, n=-1):
        if not self._rc:
            return None
        buf = bytearray(self._rc if n < 0 else min(n, self._rc))
        self.readinto(buf)
        return bytes(buf)

    def write(self, data):
        hx = self._hex
        full = len(hx)
        n = self._n
        for i in range(len(data)):
            b = data[i]
            hx[n] = _HEX[b >> 4]
            hx[n + 1] = _HEX[b & 15]
            n += 2
            if n == full:
                self._n = n
                self.flush()
                n = 0
        self._n = n
        return len(data)

    def flush(self):
        n = self._n
        if not n:
            return
        out = sys.stdout.buffer
        out.write(self._head)
        out.write(memoryview(self._hex)[:n])
        out.write(b'"}\n')
        self._n = 0


class SimClock(Clock):
    """Host time, optionally shifted: WASL_TIME=<unix seconds> makes the terminal boot at that instant."""

    def __init__(self):
        start = os.getenv("WASL_TIME")
        self._offset = int(start) - time.time() if start else 0

    def time(self):
        return time.time() + self._offset

    def set(self, unix):
        """Set from the network (wasl.net.Links): the unix port's epoch is 1970 too."""
        self._offset = unix - time.time()


class FileBlockDevice:
    """A flash chip for littlefs, kept in a host file: 4 KB erase blocks, written in place, so a
    process killed mid-write leaves exactly what a power cut would (littlefs copes with that)."""

    def __init__(self, path, block_size=4096, blocks=128):
        self.block_size = block_size
        self.blocks = blocks
        try:
            self.f = open(path, "r+b")
        except OSError:
            self.f = open(path, "w+b")
            erased = b"\xff" * 256
            for _ in range(block_size * blocks // 256):
                self.f.write(erased)
            self.f.flush()

    def readblocks(self, n, buf, off=0):
        self.f.seek(n * self.block_size + off)
        self.f.readinto(buf)

    def writeblocks(self, n, buf, off=0):
        self.f.seek(n * self.block_size + off)
        self.f.write(buf)
        self.f.flush()

    def ioctl(self, op, arg):
        if op == 4:   # block count
            return self.blocks
        if op == 5:   # block size
            return self.block_size
        if op == 6:   # erase: a real NOR flash sets the block to 0xFF; littlefs does not rely on it
            return 0
        return 0


def mount_flash(data_dir):
    """littlefs on the sim's flash image, mounted at /flash (formatted on first use)."""
    bdev = FileBlockDevice(data_dir + "/flash.img")
    try:
        vfs.mount(vfs.VfsLfs2(bdev), "/flash")
    except OSError:
        vfs.VfsLfs2.mkfs(bdev)
        vfs.mount(vfs.VfsLfs2(bdev), "/flash")
    return "/flash"


def powerfail_from_env():
    """WASL_POWERCUT=before:N or after:N: at the Nth journal write, the power fails. "before" writes
    half of the record first (a torn write), "after" cuts right after the record is committed. The
    board reports it and freezes; the harness then kills the process, as a power cut would."""
    spec = os.getenv("WASL_POWERCUT")
    if not spec:
        return None
    phase, _, n = spec.partition(":")
    at = int(n)

    def hook(when, count, hdr, payload):
        if when != phase or count != at:
            return
        if when == "before":
            with open(JOURNAL_ROOT + "/journal", "ab") as f:
                f.write(hdr)
                f.write(payload[:len(payload) // 2])
        emit({"ev": "powercut", "at": spec})
        while True:
            time.sleep(1)

    return hook


JOURNAL_ROOT = "/flash"
DATA_ROOT = os.getenv("WASL_DATA") or "var/sim"   # storage_root, known before the board is built

# the card reader's answer state (SimBoard._rx_st); a number >= 0 is an answer of that many bytes
_IDLE = const(-1)   # no command outstanding: an answer line now is stale, and ignored
_WAIT = const(-2)   # a command went out; its answer is awaited
_BAD = const(-3)    # the answer was garbled or too long: a reader failure
_RAPDU = const(b'{"rapdu":')   # an answer line: decoded as it arrives, never held as a line
_LINE = const(128)  # longest control line (answer lines aside); the rest of the buffer is scratch


class SimBoard(Hardware):
    """The desktop board. It is its own card reader (hw.reader is hw): the chip / contactless reader
    is only the APDU transport of the EMV kernel (docs/emv.md, section 3), the card lives in the
    harness, and a separate object would cost the heap a class for one method."""

    name = "sim"
    apdu_timeout_ms = 5000    # no answer from the card in this time: it is treated as removed

    def __init__(self):
        Hardware.__init__(self)
        self.lcd = TextLCD(rows=4, cols=20)
        # WASL_PRINTER_CP864=n: the desktop printer as a model with the Arabic code page CP864 at ESC t n
        # (bilingual receipts then print their Arabic lines as text; default: none, so as raster)
        cp = os.getenv("WASL_PRINTER_CP864")
        self.printer = EscPos(SimUart("printer"), cols=32, arabic_codepage=int(cp) if cp else None)
        self.printer_status = True    # the printer's RX line is wired: DLE EOT answers come back
        # the device's machine.WDT, measured instead of armed: a late feed is reported at once, the
        # longest gap at exit (WASL_WDT_MS: another timeout than the device's, for a stricter test)
        self.watchdog = Watchdog(int(os.getenv("WASL_WDT_MS") or 10000), on_late=self._late, soft=True)
        self.clock = SimClock()
        self.heapmap = os.getenv("WASL_HEAPMAP")   # UI states at which boards/sim/heapmap.py reports
        self.storage_root = os.getenv("WASL_DATA") or "var/sim"
        self.journal_root = mount_flash(self.storage_root)
        self.powerfail = powerfail_from_env()
        self.key_inbox = self.storage_root + "/keys"   # where tools/keyinject.py drops a key block
        self.reader = self
        self.card_present = False     # a chip card is in the reader, or a card in the field
        # The control channel's one buffer, made at boot with the other buffers: control lines are
        # assembled in its first _LINE bytes; an answer line (the only long one) is decoded into it
        # from the start as it arrives (256 data bytes + SW1 SW2 at most); a command's hex goes out
        # through its tail.
        self._rx = bytearray(258)
        self._rx_st = _IDLE
        # The network: the board is its own Wi-Fi station (hw.wlan is hw: the methods active, connect,
        # isconnected and status of network.WLAN below; one class fewer in the heap), its access point
        # switched by the harness; and a GSM modem (tools/virtual/modem.py, on the harness side of the
        # "modem" UART) whose PPP link is simppp.py's, over the host's TCP/IP.
        self.wlan = self
        self.ap = True          # the access point is there ({"wifi": {"up": ...}})
        self.rssi = -58         # its signal, dBm
        self._wifi = 0          # 0 off, 1 active, 2 associated
        self.modem_uart = SimUart("modem", size=32, rx=128)   # AT commands are short

    @property
    def secure_storage(self):
        """The sim's stand-in for the encrypted NVS holding the terminal's KBPK and DUKPT state
        (docs/keys.md): wasl.crypto.storage.FileSecureStorage, files in <WASL_DATA>/secure. Made on
        first use."""
        s = getattr(self, "_secure", None)
        if s is None:
            from wasl.crypto.storage import FileSecureStorage

            s = self._secure = FileSecureStorage(self.storage_root + "/secure")
        return s

    @secure_storage.setter
    def secure_storage(self, s):    # None (wasl.hw.Hardware's default) means: the files above
        self._secure = s

    async def exchange(self, capdu):
        """hw.reader.exchange(): send a command APDU to the card, return its answer, SW1 SW2 included.

        The command goes out as one {"ev": "apdu", "c": hex} event; the harness's {"rapdu": hex} line
        is decoded by the control-channel task straight into _rx, which this polls every 10 ms like
        the rest of the board. The answer is a memoryview of _rx, valid until the caller next awaits
        (the kernel copies what it keeps before that): the control-channel task reads no further
        line until the answer is collected here. The card leaving ({"card_removed"} line), or no
        answer within apdu_timeout_ms, raises the kernel's CardRemoved; a garbled or oversized answer
        raises OSError (a reader failure)."""
        why = "no card"
        n = _IDLE
        if self.card_present:
            why = None
            buf = self._rx
            out = sys.stdout.buffer
            out.write(b'{"ev": "apdu", "c": "')
            total = len(capdu)
            i = 0
            while i < total:          # hex through the buffer's tail, (258 - 128) / 2 bytes at a time
                j = _LINE
                for p in range(i, min(i + 65, total)):
                    b = capdu[p]
                    buf[j] = _HEX[b >> 4]
                    buf[j + 1] = _HEX[b & 15]
                    j += 2
                out.write(memoryview(buf)[_LINE:j])
                i += 65
            self._rx_st = _WAIT
            out.write(b'"}\n')
            start = time.ticks_ms()
            try:
                while self._rx_st == _WAIT:
                    if not self.card_present:
                        why = "card removed"
                        break
                    if time.ticks_diff(time.ticks_ms(), start) >= self.apdu_timeout_ms:
                        why = "no answer"
                        break
                    await asyncio.sleep_ms(10)
            finally:                  # collected, given up or cancelled: the channel reads on
                n = self._rx_st
                self._rx_st = _IDLE
        if why:
            from wasl.emv.apdu import CardRemoved   # loaded with the kernel already
            raise CardRemoved(why)
        if n < 0:
            raise OSError(5)          # EIO: the reader could not read the answer
        return memoryview(self._rx)[:n]

    # network.WLAN(STA_IF), as the link manager uses it: connect() succeeds while the access point is
    # up; the association is lost when it goes, and comes back only by connecting again.
    def active(self, on=None):
        if on is not None:
            self._wifi = (self._wifi or 1) if on else 0
        return self._wifi > 0

    def connect(self, ssid, key=None):
        if self._wifi:
            self._wifi = 2 if self.ap else 1
            self._ssid = ssid

    def scan(self):
        """The access point in range, as network.WLAN.scan() gives it (ssid, bssid, channel, RSSI,
        security, hidden): the diagnostics' Wi-Fi part."""
        return [(b"WASL-SHOP", b"\x02\x00\x00\x00\x00\x01", 6, self.rssi, 3, False)] if self.ap else []

    def config(self, what):
        if what == "ssid":
            return getattr(self, "_ssid", "")
        raise ValueError(what)

    def isconnected(self):
        return self._wifi == 2

    def status(self, what=None):
        if what == "rssi":
            return self.rssi
        return (1000, 201, 1010)[self._wifi]   # network.STAT_IDLE, STAT_NO_AP_FOUND, STAT_GOT_IP

    def ppp(self, uart):
        """The PPP hook (docs/modem.md, section 1): simppp.SimPPP, the host's TCP/IP behind it."""
        from simppp import SimPPP

        return SimPPP(uart, emit)

    def trace(self, kind, value):
        if kind == "link":
            emit({"ev": "link", "link": value})
        elif kind == "state":
            # live heap at each UI state (after a collection): the benchmarks read it
            gc.collect()
            emit({"ev": "state", "state": value, "heap": gc.mem_alloc()})
            if self.heapmap and value in self.heapmap:   # tools/heapmap.py asked for a breakdown here
                __import__("heapmap").dump(value)
        else:
            emit({"ev": kind, "board": self.name, "version": value})

    def beep(self, tone):
        emit({"ev": "beep", "tone": tone})

    def start(self):
        return asyncio.create_task(self._read_stdin())

    def _command(self, line):
        try:
            cmd = json.loads(line)
        except ValueError:
            log.warn("sim", "bad control line ignored")
            return
        if not isinstance(cmd, dict):
            return
        if "key" in cmd:
            k = cmd["key"]
            if isinstance(k, str) and k and " " not in k and " %s " % k in _KEYS:
                self.events.post(("key", k))
            else:
                log.warn("sim", "unknown key %r ignored", k)
        elif "card" in cmd:
            if isinstance(cmd["card"], dict):
                self.events.post(("card", cmd["card"]))
            else:
                log.warn("sim", "card event without data ignored")
        elif "chip" in cmd:
            c = cmd["chip"]
            c = c.get("entry", "chip") if isinstance(c, dict) else None
            if c == "chip" or c == "tap":
                self.card_present = True
                self.events.post(("card", {"entry": c}))
            else:
                log.warn("sim", "bad chip event ignored")
        elif "uart_rx" in cmd:
            rx = cmd["uart_rx"]
            port = rx.get("port") if isinstance(rx, dict) else None
            if port == "printer" or port == "modem":
                try:
                    (self.printer.uart if port == "printer" else self.modem_uart).rx(bytes.fromhex(rx.get("data", "")))
                except ValueError:
                    log.warn("sim", "bad uart_rx data ignored")
        elif "wifi" in cmd:
            w = cmd["wifi"]
            if isinstance(w, dict):
                self.ap = bool(w.get("up", self.ap))
                r = w.get("rssi", self.rssi)
                self.rssi = r if isinstance(r, int) and -120 <= r <= 0 else self.rssi
                if not self.ap and self._wifi:
                    self._wifi = 1      # the station loses the access point with it
            else:
                log.warn("sim", "bad wifi event ignored")
        elif "ppp" in cmd:
            m = sys.modules.get("simppp")    # loaded with the first data call
            if m is not None and not cmd["ppp"]:
                m.SimPPP.up = False
        elif "card_removed" in cmd:
            self.card_present = False
            self.events.post(("card_removed",))
        elif "quit" in cmd:
            self.events.stop()

    async def _read_stdin(self):
        """Poll stdin every 10 ms like a keypad scan; assemble lines in a buffer made once. An answer
        line {"rapdu": "<hex>"} is decoded into the same buffer as it arrives; once an answer is
        complete, nothing more is read until exchange() has collected it. mode: 0 a line, 1 an
        answer's opening quote awaited, 2 its hex digits, 3 the rest of its line, 4 the rest of a
        garbled one. k: hex digits decoded, -1 when the answer is not taken (stale, garbled or too
        long)."""
        poller = select.poll()
        poller.register(sys.stdin, select.POLLIN)
        rx = self._rx
        one = bytearray(1)
        n = mode = k = 0
        src = sys.stdin.buffer
        while True:
            while self._rx_st < 0 and poller.poll(0):
                if not src.readinto(one):
                    self.events.stop()   # end of input: stop like a 'quit'
                    return
                c = one[0]
                if c == 10:
                    if mode:
                        if self._rx_st == _WAIT:
                            self._rx_st = k >> 1 if mode == 3 and k >= 4 and not k & 1 else _BAD
                    elif n:
                        self._command(bytes(rx[:n]))
                    n = mode = 0
                elif mode == 2:
                    if c == 34:
                        mode = 3
                    elif k >= 0:
                        c |= 32
                        c = c - 48 if 48 <= c <= 57 else c - 87 if 97 <= c <= 102 else -1
                        if c < 0 or k >> 1 >= len(rx):
                            k = -1
                        else:
                            if k & 1:
                                rx[k >> 1] |= c
                            else:
                                rx[k >> 1] = c << 4
                            k += 1
                elif mode == 1:
                    if c == 34:
                        mode = 2
                    elif c != 32:
                        mode = 4
                elif mode:
                    pass
                elif n < _LINE:       # longer lines are cut, then refused as bad JSON
                    rx[n] = c
                    n += 1
                    if n == len(_RAPDU) and rx[:n] == _RAPDU:
                        mode = 1
                        k = 0 if self._rx_st == _WAIT else -1
            await asyncio.sleep_ms(10)

    def _late(self, gap_ms):
        emit({"ev": "watchdog_late", "gap_ms": gap_ms})

    def reset(self):
        """A device would restart: the harness sees the reset and the process ends (it starts again)."""
        emit({"ev": "reset"})
        raise SystemExit

    def shutdown(self, code):
        r = self.watchdog.report()
        r["ev"] = "watchdog"
        emit(r)
        emit({"ev": "exit", "code": code})
        sys.exit(code)


def build():
    return SimBoard()
