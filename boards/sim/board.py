# The desktop board: the firmware on the MicroPython unix port, its devices virtual.
# Inputs arrive and outputs leave as JSON lines on stdin/stdout (docs/sim-protocol.md);
# logs go to stderr. Storage is the host directory named by WASL_DATA.
import asyncio
import gc
import json
import os
import select
import sys
import time
import vfs

from wasl import log
from wasl.drivers.escpos import EscPos
from wasl.hw import Clock, Hardware

KEYS = ("0", "1", "2", "3", "4", "5", "6", "7", "8", "9",
        "OK", "CANCEL", "CLEAR", "F1", "F2", "F3", "F4", "MENU", "UP", "DOWN")


def emit(obj):
    sys.stdout.write(json.dumps(obj))
    sys.stdout.write("\n")


class TextLCD:
    """A character display's frame buffer; every change goes to the harness (its glass)."""

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
    allocates nothing per byte: the chunk is hex-encoded into a buffer made once."""

    def __init__(self, port, size=192):
        self._buf = bytearray(size)
        self._mv = memoryview(self._buf)
        self._hex = bytearray(2 * size)
        self._head = ('{"ev": "uart", "port": "%s", "data": "' % port).encode()
        self._n = 0

    def write(self, data):
        done = 0
        total = len(data)
        size = len(self._buf)
        while done < total:
            take = min(size - self._n, total - done)
            self._mv[self._n:self._n + take] = data[done:done + take]
            self._n += take
            done += take
            if self._n == size:
                self.flush()
        return total

    def flush(self):
        n = self._n
        if not n:
            return
        buf = self._buf
        hx = self._hex
        for i in range(n):
            b = buf[i]
            hx[2 * i] = _HEX[b >> 4]
            hx[2 * i + 1] = _HEX[b & 15]
        out = sys.stdout.buffer
        out.write(self._head)
        out.write(memoryview(hx)[:2 * n])
        out.write(b'"}\n')
        self._n = 0


class SimClock(Clock):
    """Host time, optionally shifted: WASL_TIME=<unix seconds> makes the terminal boot at that instant."""

    def __init__(self):
        start = os.getenv("WASL_TIME")
        self._offset = int(start) - time.time() if start else 0

    def time(self):
        return time.time() + self._offset


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


class SimBoard(Hardware):
    name = "sim"

    def __init__(self):
        Hardware.__init__(self)
        self.lcd = TextLCD(rows=4, cols=20)
        self.printer = EscPos(SimUart("printer"), cols=32)
        self.clock = SimClock()
        self.storage_root = os.getenv("WASL_DATA") or "var/sim"
        self.journal_root = mount_flash(self.storage_root)
        self.powerfail = powerfail_from_env()
        self._line = bytearray(512)   # control-channel line buffer, made at boot with the other buffers

    def trace(self, kind, value):
        if kind == "state":
            # live heap at each UI state (after a collection): the benchmarks read it
            gc.collect()
            emit({"ev": "state", "state": value, "heap": gc.mem_alloc()})
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
            if cmd["key"] in KEYS:
                self.events.post(("key", cmd["key"]))
            else:
                log.warn("sim", "unknown key %r ignored", cmd["key"])
        elif "card" in cmd:
            if isinstance(cmd["card"], dict):
                self.events.post(("card", cmd["card"]))
            else:
                log.warn("sim", "card event without data ignored")
        elif "card_removed" in cmd:
            self.events.post(("card_removed",))
        elif "quit" in cmd:
            self.events.stop()

    async def _read_stdin(self):
        """Poll stdin every 10 ms like a keypad scan; assemble lines in a buffer made once."""
        poller = select.poll()
        poller.register(sys.stdin, select.POLLIN)
        line = self._line
        one = bytearray(1)
        n = 0
        src = sys.stdin.buffer
        while True:
            while poller.poll(0):
                if not src.readinto(one):
                    self.events.stop()   # end of input: stop like a 'quit'
                    return
                if one[0] == 10:
                    if n:
                        self._command(bytes(line[:n]))
                    n = 0
                elif n < len(line):
                    line[n] = one[0]
                    n += 1
            await asyncio.sleep_ms(10)

    def shutdown(self, code):
        emit({"ev": "exit", "code": code})
        sys.exit(code)


def build():
    return SimBoard()
