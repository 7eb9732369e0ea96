# The desktop board: the firmware on the MicroPython unix port, its devices virtual.
# Inputs arrive and outputs leave as JSON lines on stdin/stdout (docs/sim-protocol.md);
# logs go to stderr. Storage is the host directory named by WASL_DATA.
# The chip / contactless card itself lives in the harness (tools/virtual/emvcard.py): the board's
# reader only carries APDUs over the control channel.
#
# This module is resident in every state of every scenario, so it holds only what a running terminal
# uses, in as few classes and functions as make sense. From the ROMFS image (code stays in flash), on
# the unix port: a function costs the heap about 50 bytes (function object, dictionary slot), a class
# about 250 (type, dictionary), a string constant longer than 10 characters or any bytes constant 32
# (its object), a name (never freed) an 11-byte pool entry. The board object is its own flash chip,
# LCD, clock, card reader and Wi-Fi station: a separate object would be a class for a handful of
# methods. Rare parts are loaded when first needed: the power-fail injection (simpower.py), the PPP
# stand-in (simppp.py), the heap breakdown (heapmap.py); the modem UART's buffer is made by its first use.
import asyncio
import json
import os
import sys
import time

import wasl.hw

# The keypad's key names, between spaces. A string, not a tuple: a tuple of strings in a compiled module
# is made of 20 string objects in the heap (800 bytes); this stays in the image.
_KEYS = const(" 0 1 2 3 4 5 6 7 8 9 OK CANCEL CLEAR F1 F2 F3 F4 MENU UP DOWN ")
_HEX = b"0123456789abcdef"

JOURNAL_ROOT = "/flash"
DATA_ROOT = os.getenv("WASL_DATA") or "var/sim"   # storage_root, known before the board is built


def emit(obj):
    sys.stdout.write(json.dumps(obj))
    sys.stdout.write("\n")


class SimUart:
    """The host end of a UART: bytes written by a driver go to the harness's virtual device
    (tools/virtual/) in chunks of at most `size` bytes (128 for the printer, the ESP32 UART's TX FIFO),
    and on flush() (machine.UART.flush() waits for the bytes to leave on the device). Like a real UART
    driver it allocates nothing per byte: each byte is hex-encoded as it is written, into a buffer made
    once, at its first use (the modem's only when GSM is used). What the device sends back (a printer's
    status bytes, a modem's answers), from the control channel's {"uart_rx": {"port": ..., "data": hex}}
    lines, waits in a ring of `rx` bytes at the end of the same buffer (SimBoard._command fills it), the
    oldest lost when full."""

    def __init__(self, port, size, rx):
        self.port = port
        self.size = size      # bytes a line: the buffer's first 2 * size bytes take their hex, then the ring
        self.buf = rx         # the ring's size, until the buffer is made by the first write or byte received
        self._n = 0           # hex digits waiting in the hex area
        self._rh = self._rc = 0

    def any(self):
        if self._n:         # a real UART has sent its bytes by the time anyone waits for an answer
            self.flush()
        return self._rc

    def readinto(self, buf, n=None):
        n = min(len(buf) if n is None else n, self._rc)
        if n:
            b = self.buf
            tx = 2 * self.size
            size = len(b) - tx
            for i in range(n):
                buf[i] = b[tx + self._rh]
                self._rh = (self._rh + 1) % size
            self._rc -= n
        return n or None

    def write(self, data):
        hx = self.buf
        full = 2 * self.size
        if type(hx) is int:
            hx = self.buf = bytearray(full + hx)
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
        out.write(b'{"ev": "uart", "port": "')
        out.write(self.port)
        out.write(b'", "data": "')
        out.write(memoryview(self.buf)[:n])
        out.write('"}\n')
        self._n = 0


def mount_flash(data_dir, hw=None):
    """littlefs on the sim's flash image, mounted at /flash (formatted on first use). hw: the board
    (the flash chip's driver); without one (tools/upy/), a board made for it alone."""
    import vfs

    if hw is None:
        hw = SimBoard()
    path = data_dir + "/flash.img"
    try:
        hw.file = open(path, "r+b")
    except OSError:
        f = hw.file = open(path, "w+b")
        erased = b"\xff" * 256
        for _ in range(4096 * 128 // 256):
            f.write(erased)
        f.flush()
    try:
        vfs.mount(vfs.VfsLfs2(hw), JOURNAL_ROOT)
    except OSError:
        vfs.VfsLfs2.mkfs(hw)
        vfs.mount(vfs.VfsLfs2(hw), JOURNAL_ROOT)
    return JOURNAL_ROOT


# the card reader's answer state (SimBoard._rx_st); a number >= 0 is an answer of that many bytes
_IDLE = const(-1)   # no command outstanding: an answer line now is stale, and ignored
_WAIT = const(-2)   # a command went out; its answer is awaited
_BAD = const(-3)    # the answer was garbled or too long: a reader failure
_RAPDU = const(b'{"rapdu":')   # an answer line: decoded as it arrives, never held as a line
_LINE = const(128)  # longest control line (answer lines aside); the rest of the buffer is scratch


class SimBoard(wasl.hw.Hardware, wasl.hw.Clock):
    """The desktop board (made by build()). It is its own
    - flash chip, for littlefs (mount_flash);
    - LCD (hw.lcd is hw): a character display's frame buffer, every change sent to the harness's glass;
    - clock (hw.clock is hw): host time, optionally shifted (WASL_TIME=<unix seconds> makes the terminal
      boot at that instant);
    - card reader (hw.reader is hw): the chip / contactless reader is only the APDU transport of the EMV
      kernel (docs/emv.md, section 3), the card lives in the harness;
    - Wi-Fi station (hw.wlan is hw: the methods of network.WLAN(STA_IF) the link manager and the
      diagnostics use), its access point switched by the harness ({"wifi": {"up": ...}}).
    The GSM modem is on the harness side of the "modem" UART (tools/virtual/modem.py); its PPP link is
    simppp.py's, over the host's TCP/IP."""

    name = "sim"
    rows = 4
    cols = 20
    arabic = True       # the harness's glass is a Unicode terminal: shaped Arabic shows as it is
    apdu_timeout_ms = 5000    # no answer from the card in this time: it is treated as removed
    printer_status = True     # the printer's RX line is wired: DLE EOT answers come back

    # the LCD: frame is what it shows, its 4 rows of 20 characters end to end
    def show(self, rows):
        rows = [r[:20] + " " * (20 - len(r[:20])) for r in rows[:4]]
        f = "".join(rows)
        if f != self.frame:
            self.frame = f
            emit({"ev": "lcd", "rows": rows})

    # the clock (wasl.hw.Clock's gmtime)
    def time(self):
        return time.time() + self._offset

    def set(self, unix):
        """Set from the network (wasl.net.Links): the unix port's epoch is 1970 too."""
        self._offset = unix - time.time()

    # the flash chip for littlefs (mount_flash), kept in a host file (file): 128 erase blocks of 4 KB,
    # written in place, so a process killed mid-write leaves exactly what a power cut would (littlefs
    # copes with that)
    def readblocks(self, n, buf, off=0):
        f = self.file
        f.seek(n * 4096 + off)
        f.readinto(buf)

    def writeblocks(self, n, buf, off=0):
        f = self.file
        f.seek(n * 4096 + off)
        f.write(buf)
        f.flush()

    def ioctl(self, op, arg):
        # 4: block count, 5: block size; 6 (erase) and the rest: nothing to do (a real NOR flash sets an
        # erased block to 0xFF; littlefs does not rely on it)
        return 128 if op == 4 else 4096 if op == 5 else 0

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
            out.write('"}\n')
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
    # up; the association is lost when it goes, and comes back only by connecting again. _wifi: 0 off,
    # 1 active, 2 associated; ap: the access point is there; rssi: its signal, dBm.
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
        w = self._wifi     # network.STAT_IDLE, STAT_NO_AP_FOUND, STAT_GOT_IP
        return 1000 if w == 0 else 201 if w == 1 else 1010

    def ppp(self, uart):
        """The PPP hook (docs/modem.md, section 1): simppp.SimPPP, the host's TCP/IP behind it."""
        from simppp import SimPPP

        return SimPPP(uart, emit)

    def trace(self, kind, value):
        if kind == "link":
            emit({"ev": "link", "link": value})
        elif kind == "state":
            # live heap at each UI state (after a collection): the benchmarks read it
            import gc

            gc.collect()
            emit({"ev": "state", "state": value, "heap": gc.mem_alloc()})
            h = os.getenv("WASL_HEAPMAP")     # UI states at which tools/heapmap.py asked for a breakdown
            if h and value in h:
                __import__("heapmap").dump(value)
        else:
            emit({"ev": kind, "board": "sim", "version": value})

    def beep(self, tone):
        emit({"ev": "beep", "tone": tone})

    def start(self):
        return asyncio.create_task(self._read_stdin())

    def _command(self, line):
        why = None
        try:
            cmd = json.loads(line)
        except ValueError:
            cmd = why = "bad control line"
        if not isinstance(cmd, dict):
            pass
        elif "key" in cmd:
            k = cmd["key"]
            if isinstance(k, str) and k and " " not in k and " %s " % k in _KEYS:
                self.events.post(("key", k))
            else:
                why = "unknown key %r" % (k,)
        elif "card" in cmd:
            if isinstance(cmd["card"], dict):
                self.events.post(("card", cmd["card"]))
            else:
                why = "card event without data"
        elif "chip" in cmd:
            c = cmd["chip"]
            c = c.get("entry", "chip") if isinstance(c, dict) else None
            if c == "chip" or c == "tap":
                self.card_present = True
                self.events.post(("card", {"entry": c}))
            else:
                why = "bad chip event"
        elif "uart_rx" in cmd:
            rx = cmd["uart_rx"]
            port = rx.get("port") if isinstance(rx, dict) else None
            if port == "printer" or port == "modem":
                try:
                    data = bytes.fromhex(rx.get("data", ""))
                except ValueError:
                    data = None
                    why = "bad uart_rx data"
                if data:          # into the UART's receive ring
                    u = self.printer.uart if port == "printer" else self.modem_uart
                    b = u.buf
                    tx = 2 * u.size
                    if type(b) is int:
                        b = u.buf = bytearray(tx + b)
                    size = len(b) - tx
                    for c in data:
                        if u._rc == size:
                            u._rh = (u._rh + 1) % size
                            u._rc -= 1
                        b[tx + (u._rh + u._rc) % size] = c
                        u._rc += 1
        elif "wifi" in cmd:
            w = cmd["wifi"]
            if isinstance(w, dict):
                self.ap = bool(w.get("up", self.ap))
                r = w.get("rssi", self.rssi)
                self.rssi = r if isinstance(r, int) and -120 <= r <= 0 else self.rssi
                if not self.ap and self._wifi:
                    self._wifi = 1      # the station loses the access point with it
            else:
                why = "bad wifi event"
        elif "ppp" in cmd:
            m = sys.modules.get("simppp")    # loaded with the first data call
            if m is not None and not cmd["ppp"]:
                m.SimPPP.up = False
        elif "card_removed" in cmd:
            self.card_present = False
            self.events.post(("card_removed",))
        elif "quit" in cmd:
            self.events.stop()
        if why:
            from wasl import log

            log.warn("sim", why + " ignored")

    async def _read_stdin(self):
        """Poll stdin every 10 ms like a keypad scan; assemble lines in a buffer made once. An answer
        line {"rapdu": "<hex>"} is decoded into the same buffer as it arrives; once an answer is
        complete, nothing more is read until exchange() has collected it. mode: 0 a line, 1 an
        answer's opening quote awaited, 2 its hex digits, 3 the rest of its line, 4 the rest of a
        garbled one. k: hex digits decoded, -1 when the answer is not taken (stale, garbled or too
        long)."""
        import select

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
    """The board, its devices made once, at boot."""
    from wasl.crypto.storage import FileSecureStorage
    from wasl.drivers.escpos import EscPos
    from wasl.watchdog import Watchdog

    hw = SimBoard()
    hw.lcd = hw.clock = hw.reader = hw.wlan = hw
    hw.frame = " " * 80     # the LCD: blank
    start = os.getenv("WASL_TIME")
    hw._offset = int(start) - time.time() if start else 0
    # WASL_PRINTER_CP864=n: the desktop printer as a model with the Arabic code page CP864 at ESC t n
    # (bilingual receipts then print their Arabic lines as text; default: none, so as raster)
    cp = os.getenv("WASL_PRINTER_CP864")
    u = SimUart("printer", 128, 16)
    u.write(b"")    # its buffer made now, at boot, with the other long-lived buffers
    hw.printer = EscPos(u, cols=32, arabic_codepage=int(cp) if cp else None)
    # the device's machine.WDT, measured instead of armed: a late feed is reported at once, the
    # longest gap at exit (WASL_WDT_MS: another timeout than the device's, for a stricter test)
    hw.watchdog = Watchdog(int(os.getenv("WASL_WDT_MS") or 10000), on_late=hw._late, soft=True)
    root = hw.storage_root = DATA_ROOT
    hw.journal_root = mount_flash(root, hw)
    if os.getenv("WASL_POWERCUT"):
        hw.powerfail = __import__("simpower").hook()
    hw.key_inbox = root + "/keys"   # where tools/keyinject.py drops a key block
    # the sim's stand-in for the encrypted NVS holding the terminal's KBPK and DUKPT state (docs/keys.md)
    hw.secure_storage = FileSecureStorage(root + "/secure")
    hw.card_present = False     # a chip card is in the reader, or a card in the field
    # The control channel's one buffer, made at boot with the other buffers: control lines are
    # assembled in its first _LINE bytes; an answer line (the only long one) is decoded into it
    # from the start as it arrives (256 data bytes + SW1 SW2 at most); a command's hex goes out
    # through its tail.
    hw._rx = bytearray(258)
    hw._rx_st = _IDLE
    hw.ap = True
    hw.rssi = -58
    hw._wifi = 0
    hw.modem_uart = SimUart("modem", 32, 128)   # AT commands are short
    return hw
