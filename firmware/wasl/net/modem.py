# GSM modem (SIM800 / SIM7600 class) on a UART: AT commands, attach to the packet network, and the
# hand-over of the UART to PPP once the modem says CONNECT. docs/modem.md has the sequence, the
# time-outs, the error words and what the link manager does with them.
#
# The UART is injected: any object with write(bytes), any() and readinto(buf) (or read(n)) that
# returns None or fewer bytes when nothing is waiting -- machine.UART(..., timeout=0) on the ESP32,
# host_tests/fw/fakemodem.py in the tests. Nothing here blocks: the receive side is polled from the
# event loop every _TICK_MS, with one deadline per command.
#
# Receiving: bytes are read into a small chunk buffer and assembled into one preallocated line buffer.
# CR or LF ends a line (an echo ends with CR alone); empty lines are skipped; a line holding a byte
# outside printable ASCII is garbage and dropped; a line longer than the buffer is dropped whole. A
# complete line is then one of: an echo (starts with "AT"), a final result code, the reply line the
# command waits for, an unsolicited result code (URC, to the handler), or a stale line left over from
# an earlier command (counted, dropped).
import asyncio

try:
    from micropython import const
    from time import ticks_add, ticks_diff, ticks_ms
    from asyncio import sleep_ms
except ImportError:  # CPython
    import time

    def const(x):
        return x

    async def sleep_ms(ms):
        await asyncio.sleep(ms / 1000)

    def ticks_ms():
        return int(time.monotonic() * 1000)

    def ticks_diff(a, b):
        return a - b

    def ticks_add(a, b):
        return a + b


_TICK_MS = const(5)       # receive poll period (115200 baud: 58 bytes per tick, the UART FIFO holds more)
_RX_CHUNK = const(32)     # bytes taken from the UART per read
_LINE_MAX = const(128)    # longest line kept (the replies we parse are under 60 bytes)
_MAX_LINES = const(8)     # information lines kept per command; more are dropped and counted
_FLUSH_READS = const(16)  # chunks read at most when clearing the input before a command

# What the modem is doing (Modem.state), for the idle screen and the link manager.
OFF = "off"                 # not started, or the modem announced it powered down
STARTING = "starting"       # synchronising, configuring, checking the SIM
SEARCHING = "searching"     # waiting for network registration
REGISTERED = "registered"   # registered (home or roaming), command mode
CONNECTING = "connecting"   # dialling the packet data call
DATA = "data"               # CONNECT received: the UART belongs to PPP until hang_up()
ERROR = "error"             # the last operation failed: Modem.error says why

# Error words (ModemError.reason, Modem.error): what a UI shows, through its language tables.
NO_SIM = "no_sim"                            # SIM not inserted, failed, or never ready
SIM_PIN_REQUIRED = "sim_pin_required"        # SIM locked by a PIN (or PUK): Wasl does not enter PINs
NOT_REGISTERED = "not_registered"            # no registration before the deadline, with some signal
REGISTRATION_DENIED = "registration_denied"  # the network refused the SIM (+CREG stat 3)
NO_SIGNAL = "no_signal"                      # no registration and no usable signal (CSQ 0 or 99)
NO_ANSWER = "no_answer"                      # the modem is silent (off, hung, wrong baud rate)
BAD_REPLY = "bad_reply"                      # it answers, but nothing usable (garbage, cut, nonsense)
REJECTED = "rejected"                        # a command was refused (ERROR, +CME ERROR): bad APN...
NO_CARRIER = "no_carrier"                    # the data call did not connect
BUSY = "busy"                                # a command was tried while the UART belongs to PPP

# Final result codes (ITU-T V.250 and 3GPP TS 27.007); also "+CME ERROR: n", "+CMS ERROR: n",
# "CONNECT <rate>".
_FINALS = ("OK", "ERROR", "NO CARRIER", "CONNECT", "BUSY", "NO DIALTONE", "NO ANSWER")

# Lines that may arrive at any time (SIM800 and SIM7600 manuals), between bars: a line's key is its
# "+XXX:" / "*XXX:" head, or the whole line. A line with the head the current command waits for is its
# reply instead (but see _reg_urc for +CREG / +CGREG / +CEREG). One string, not a tuple: no RAM per entry.
URC_KEYS = ("|RING|NO CARRIER|+CREG:|+CGREG:|+CEREG:|+CPIN:|SMS Ready|Call Ready|RDY|+CFUN:|PB DONE"
            "|NORMAL POWER DOWN|UNDER-VOLTAGE POWER DOWN|UNDER-VOLTAGE WARNNING|UNDER-VOLTAGE WARNING"
            "|OVER-VOLTAGE POWER DOWN|OVER-VOLTAGE WARNNING|OVER-VOLTAGE WARNING|+CMTI:|+CMT:|+CDS:|+CBM:|+CLIP:"
            "|+CUSD:|+PDP:|+CGEV:|*PSUTTZ:|+CTZV:|DST:|+CIEV:|")

# +CME ERROR codes (3GPP TS 27.007, 9.2.1) that have a word of their own; any other one is REJECTED.
# 14 (SIM busy) is not here: the SIM step asks again.
_CME_WORDS = ((10, NO_SIM), (13, NO_SIM), (15, NO_SIM), (11, SIM_PIN_REQUIRED), (12, SIM_PIN_REQUIRED),
              (30, NOT_REGISTERED), (31, NOT_REGISTERED), (32, REGISTRATION_DENIED))

# The attach sequence (SIM800; a SIM7600 on LTE takes AT+CEREG? in place of AT+CGREG?), as data:
# (command, the prefix of its reply line or None, kind). "{apn}" is replaced by the APN. Kinds:
#   "sync"  AT until OK (autobaud, and the modem answers at all): sync_tries x sync_ms
#   "ok"    one command, cmd_ms, must end OK
#   "sim"   +CPIN: READY; NOT READY or SIM busy: asked again every poll_ms until sim_ms ran out
#   "csq"   signal quality (rssi 0..31 or 99) kept for the screen
#   "reg"   +CxREG stat 1 (home) or 5 (roaming); asked again every poll_ms until reg_ms (one deadline for
#           every "reg" step of an attach) ran out, then registration_denied / no_signal / not_registered
#   "dial"  dial_ms, never repeated; CONNECT [rate] hands the UART over (PPP hook)
# A board may pass its own table to Modem(steps=...).
ATTACH = (
    ("AT", None, "sync"),
    ("ATE0", None, "ok"),                           # echo off (the echo of ATE0 itself is expected)
    ("AT+CMEE=1", None, "ok"),                      # errors as +CME ERROR: <number>
    ("AT+CPIN?", "+CPIN:", "sim"),                  # READY / SIM PIN / not inserted
    ("AT+CSQ", "+CSQ:", "csq"),                     # signal for the screen
    ("AT+CREG?", "+CREG:", "reg"),                  # circuit-switched registration
    ("AT+CGREG?", "+CGREG:", "reg"),                # packet-switched (GPRS) registration
    ('AT+CGDCONT=1,"IP","{apn}"', None, "ok"),      # PDP context 1
    ("ATD*99#", None, "dial"),                      # or AT+CGDATA="PPP",1
)


class ModemError(Exception):
    def __init__(self, reason, detail=""):
        super().__init__(reason)
        self.reason = reason    # one of the error words above
        self.detail = detail    # the command or the modem's line, for the log


def rssi_dbm(rssi):
    """AT+CSQ <rssi> (0..31) in dBm (3GPP TS 27.007 8.5: 0 is -113 or less, 31 is -51 or more); None if 99."""
    if rssi < 0 or rssi > 31:
        return None
    return -113 + 2 * rssi


def rssi_bars(rssi):
    """0..4 bars for the idle screen: 0 unknown or below -109 dBm, 4 from -73 dBm."""
    if rssi > 31:
        return 0
    n = 0
    for floor in (2, 10, 15, 20):
        if rssi >= floor:
            n += 1
    return n


def _cme_word(res):
    """The error word for a failed command's final result code."""
    if res.startswith("+CME ERROR:"):
        try:
            code = int(res[11:])
        except ValueError:
            return REJECTED   # verbose form (AT+CMEE=2) or a cut line
        for c, word in _CME_WORDS:
            if c == code:
                return word
    return REJECTED


def _is_final(line):
    if line in _FINALS:
        return True
    if line.startswith("+CME ERROR:") or line.startswith("+CMS ERROR:"):
        return True
    return line.startswith("CONNECT ") and line[8:].isdigit()


def _value(line):
    """What follows the "+XXX:" of a reply line."""
    return line[line.find(":") + 1:].strip()


def _reg_urc(line):
    """True when a +CREG/+CGREG/+CEREG line has the URC's shape: <stat>[,"lac","ci"...]. The reply to
    AT+CxREG? is <n>,<stat>[,"lac","ci"...]: its second field is a bare number."""
    if not (line.startswith("+C") and line[2:8].find("REG:") >= 0):
        return False
    f = _value(line).split(",")
    return len(f) < 2 or f[1].strip()[:1] == '"'


def _reg_stat(line):
    """The registration status of a +CxREG reply or URC; -1 if unreadable."""
    f = _value(line).split(",")
    try:
        return int(f[0] if _reg_urc(line) else f[1])
    except (ValueError, IndexError):
        return -1


class Modem:
    urc_keys = URC_KEYS   # a board may add its modem's own: Modem.urc_keys = URC_KEYS + "+XYZ:|"

    def __init__(self, uart, urc=None, ppp=None, steps=ATTACH, line_max=_LINE_MAX, cmd_ms=1000, sync_ms=300,
                 sync_tries=10, sim_ms=10000, reg_ms=60000, poll_ms=2000, dial_ms=30000, guard_ms=1100):
        """uart: the stream (see the top of this file). urc(line): called with each unsolicited line, from
        inside whichever call is reading (keep it short; it must not call the modem). ppp(uart): the board's
        PPP hook, called at CONNECT; starts PPP on the UART and returns the link (network.PPP on the ESP32);
        hang_up() stops it with its disconnect() and/or active(False), whichever it has. Without a hook the
        caller takes the UART (and Modem.pending) itself. Time-outs in milliseconds."""
        self.uart = uart
        self._readinto = getattr(uart, "readinto", None) or self._read_copy
        self._any = getattr(uart, "any", None)
        self._urc = urc
        self._ppp = ppp
        self.steps = steps
        self.cmd_ms = cmd_ms          # one command's reply
        self.sync_ms = sync_ms        # one AT of a resynchronisation
        self.sync_tries = sync_tries  # ATs before the modem is declared silent
        self.sim_ms = sim_ms          # SIM ready after power-up
        self.reg_ms = reg_ms          # network registration
        self.poll_ms = poll_ms        # between two SIM / registration queries
        self.dial_ms = dial_ms        # ATD*99# -> CONNECT
        self.guard_ms = guard_ms      # silence around "+++" (SIM800 default 1 s)
        self._rx = bytearray(_RX_CHUNK)
        self._rpos = 0
        self._rlen = 0
        self._got = False             # the last _next_line() read bytes from the UART
        self._line = bytearray(line_max)
        self._lmv = memoryview(self._line)
        self._n = 0                   # bytes in the line buffer
        self._drop = False            # the line being received is garbage or too long
        self._busy = False
        self._reg_deadline = None
        self.lines = []               # information lines of the last command (at most _MAX_LINES)
        self.pending = b""            # bytes received after CONNECT, before the hand-over (at most _RX_CHUNK)
        self.link = None              # what the PPP hook returned
        self.state = OFF
        self.error = None             # error word of the last failure (attach() clears it)
        self.sim = None               # last +CPIN: value ("READY", "SIM PIN", "NOT READY"...)
        self.rssi = 99                # last AT+CSQ <rssi> (99: unknown)
        self.creg = 0                 # last +CREG stat (0 not searching, 1 home, 2 searching, 3 denied, 5 roaming)
        self.cgreg = 0                # last +CGREG / +CEREG stat
        self.roaming = False
        self.rx_bytes = 0             # counters, for diagnostics
        self.garbage = 0
        self.overflows = 0
        self.stale = 0
        self.urcs = 0

    # ---- public operations (one at a time; a failure sets state ERROR and error) ---------------------

    def attach(self, apn):
        """Run the steps up to CONNECT (then state DATA and the PPP hook has the UART). Raises ModemError."""
        return self._locked(self._attach(apn))

    def command(self, cmd, prefix=None, timeout_ms=0):
        """Send one command; return its final result code ("OK", "+CME ERROR: 10"...), its information lines
        in self.lines (with a prefix: only the lines starting with it). Raises ModemError(NO_ANSWER or
        BAD_REPLY) when no final code comes even after a resynchronisation and one retry."""
        return self._locked(self._command(cmd, prefix, timeout_ms))

    def sync(self):
        """AT until OK (at most sync_tries)."""
        return self._locked(self._sync())

    def signal(self):
        """Ask AT+CSQ and return rssi (0..31, 99 unknown); in data mode, the last value known."""
        return self._locked(self._csq())

    async def poll(self):
        """Route what arrived meanwhile to the URC handler (in command mode, between commands: no-op while
        a command runs, which routes them itself, or in data mode)."""
        if not self._busy and self.state != DATA:
            self._flush()

    def hang_up(self):
        """Leave data mode: stop PPP, guard time, "+++", guard time, ATH. Back to REGISTERED."""
        return self._locked(self._hang_up())

    async def _locked(self, coro):
        while self._busy:
            await sleep_ms(_TICK_MS)
        self._busy = True
        try:
            return await coro
        except ModemError as e:
            if e.reason != BUSY:
                self.state = ERROR
                self.error = e.reason
            raise
        finally:
            self._busy = False

    # ---- attach ------------------------------------------------------------------------------------

    async def _attach(self, apn):
        if self.state == DATA:
            raise ModemError(BUSY, "attach")   # hang_up() first
        self.error = None
        self._reg_deadline = None
        self.state = STARTING
        for step in self.steps:
            await self._step(step, apn)

    async def _step(self, step, apn):
        cmd, prefix, kind = step
        if kind == "sync":
            await self._sync()
            return
        if "{apn}" in cmd:
            cmd = cmd.replace("{apn}", apn)
        deadline = ticks_ms()
        timeout, retries = self.cmd_ms, 1
        if kind == "sim":
            deadline = ticks_add(deadline, self.sim_ms)
        elif kind == "reg":
            self.state = SEARCHING
            if self._reg_deadline is None:
                self._reg_deadline = ticks_add(deadline, self.reg_ms)
            deadline = self._reg_deadline
        elif kind == "dial":
            self.state = CONNECTING
            timeout, retries = self.dial_ms, 0
        while True:
            try:
                res = await self._command(cmd, prefix, timeout, retries)
            except ModemError as e:
                if kind == "dial" and e.reason == BAD_REPLY:
                    raise ModemError(NO_CARRIER, cmd)   # dial timed out, the modem still answers AT
                raise
            if self._check(kind, res):
                break
            if ticks_diff(deadline, ticks_ms()) <= 0:
                if kind == "sim":
                    raise ModemError(NO_SIM, cmd)
                if self.creg == 3 or self.cgreg == 3:
                    raise ModemError(REGISTRATION_DENIED, cmd)
                raise ModemError(NO_SIGNAL if self.rssi == 99 or self.rssi == 0 else NOT_REGISTERED, cmd)
            await self._pause(self.poll_ms)
            if kind == "reg":
                await self._csq()   # the screen shows the signal while searching
        if kind == "reg":
            self.state = REGISTERED

    def _check(self, kind, res):
        """A step's result: True done, False ask again (sim, reg), or ModemError."""
        if kind == "dial":
            if res == "CONNECT" or res.startswith("CONNECT "):
                self._data_mode()
                return True
            word = _cme_word(res)
            raise ModemError(NO_CARRIER if word == REJECTED else word, res)
        if kind == "sim" and res == "+CME ERROR: 14":   # SIM busy
            return False
        if res != "OK":
            raise ModemError(_cme_word(res), res)
        if kind == "ok":
            return True
        line = self.lines[0]   # a command with a reply prefix only ends OK once its line came
        v = _value(line)
        if kind == "sim":
            self.sim = v
            if v == "READY":
                return True
            if v == "NOT READY":
                return False
            if v.find("PIN") >= 0 or v.find("PUK") >= 0:
                raise ModemError(SIM_PIN_REQUIRED, v)
        elif kind == "csq":
            f = v.split(",")
            try:
                rssi = int(f[0])
            except ValueError:
                rssi = -1
            if len(f) == 2 and (0 <= rssi <= 31 or rssi == 99):
                self.rssi = rssi
                return True
        elif kind == "reg":
            stat = _reg_stat(line)
            if line.startswith("+CREG:"):
                self.creg = stat
            else:
                self.cgreg = stat
            if stat == 1 or stat == 5:
                self.roaming = stat == 5
                return True
            if stat >= 0:
                return False
        raise ModemError(BAD_REPLY, line)

    def _data_mode(self):
        """CONNECT: what follows on the UART is PPP. Keep the bytes already read (after the CONNECT line's
        LF) in self.pending and hand the UART over."""
        a, b = self._rpos, self._rlen
        if a < b and self._rx[a] == 10:
            a += 1
        self.pending = bytes(self._rx[a:b])
        self._rpos = self._rlen = self._n = 0
        self._drop = False
        self.state = DATA
        if self._ppp is not None:
            self.link = self._ppp(self.uart)

    # ---- commands ----------------------------------------------------------------------------------

    async def _command(self, cmd, prefix=None, timeout_ms=0, retries=1):
        if self.state == DATA:
            raise ModemError(BUSY, cmd)
        while True:
            res = await self._exchange(cmd, prefix, timeout_ms or self.cmd_ms)
            if res is not None:
                return res
            await self._sync()   # raises NO_ANSWER / BAD_REPLY if the modem does not come back
            if retries <= 0:
                raise ModemError(BAD_REPLY, cmd)
            retries -= 1

    async def _sync(self):
        rx0 = self.rx_bytes
        for _ in range(self.sync_tries):
            if await self._exchange("AT", None, self.sync_ms) == "OK":
                # late replies to an earlier command may still be on their way: let them come and go
                await self._pause(self.sync_ms >> 1)
                if self.state == OFF:
                    self.state = STARTING
                return
        raise ModemError(BAD_REPLY if self.rx_bytes != rx0 else NO_ANSWER, "AT")

    async def _csq(self):
        if self.state != DATA:
            self._check("csq", await self._command("AT+CSQ", "+CSQ:"))
        return self.rssi

    async def _hang_up(self):
        link, self.link = self.link, None
        if link is not None:   # network.PPP: disconnect() (extmod lwIP driver), active(False) (esp32's own)
            if hasattr(link, "disconnect"):
                link.disconnect()
            if hasattr(link, "active"):
                link.active(False)
        self._rpos = self._rlen = self._n = 0   # what PPP left unread is not ours
        self._drop = False
        self.state = REGISTERED   # command mode again, as far as this driver goes
        await sleep_ms(self.guard_ms)
        self.uart.write(b"+++")
        res = await self._exchange(None, None, self.guard_ms + self.cmd_ms)
        if res != "OK":
            await self._sync()   # the call may have dropped already (NO CARRIER): the modem is in command mode
        await self._command("ATH", None, self.dial_ms)   # OK or NO CARRIER (up to 20 s on a SIM800): call down

    async def _exchange(self, cmd, prefix, timeout_ms):
        """Send cmd (None: send nothing) and read until a final result code; None after timeout_ms."""
        self._flush()
        self._n = 0            # a line cut off earlier must not glue onto the reply
        self._drop = False
        lines = self.lines
        del lines[:]
        if cmd is not None:
            self.uart.write(cmd.encode())
            self.uart.write(b"\r")
        deadline = ticks_add(ticks_ms(), timeout_ms)
        got = prefix is None
        while True:
            line = self._next_line()
            if line is None:
                if ticks_diff(deadline, ticks_ms()) <= 0:
                    return None
                await sleep_ms(0 if self._got else _TICK_MS)
                continue
            if self._got:      # lines without end (a flood) never give None above: per read, let others
                if ticks_diff(deadline, ticks_ms()) < -timeout_ms:     # run, and give up at twice the time
                    return None
                await sleep_ms(0)
            c = line[:2]
            if c == "AT" or c == "at":
                continue   # our echo (or a late one)
            if prefix is not None and line.startswith(prefix) and not _reg_urc(line):
                got = True
                if len(lines) < _MAX_LINES:
                    lines.append(line)
                continue
            if _is_final(line):
                if got or line != "OK":
                    return line
                self.stale += 1   # an OK without the line we wait for: an earlier command's
                continue
            if self._is_urc(line):
                self._on_urc(line)
            elif prefix is None and len(lines) < _MAX_LINES:
                lines.append(line)
            else:
                self.stale += 1

    # ---- receiving ---------------------------------------------------------------------------------

    def _read_copy(self, buf):
        """readinto() for a stream that only has read(n)."""
        data = self.uart.read(len(buf))
        if not data:
            return None
        n = len(data)
        buf[:n] = data
        return n

    def _next_line(self):
        """The next complete line (str), or None when the bytes received so far are used up. Reads the UART
        at most once per call (self._got tells whether it did), so a modem that floods cannot keep the
        caller from checking its deadline."""
        self._got = False
        rx, line, cap = self._rx, self._line, len(self._line)
        while True:
            if self._rpos >= self._rlen:
                if self._got or (self._any is not None and not self._any()):
                    return None
                n = self._readinto(rx)
                if not n:
                    return None
                self._got = True
                self._rpos = 0
                self._rlen = n
                self.rx_bytes += n
            b = rx[self._rpos]
            self._rpos += 1
            if b == 13 or b == 10:
                n = self._n
                self._n = 0
                if self._drop:
                    self._drop = False
                elif n:
                    return str(self._lmv[:n], "ascii")
            elif self._drop:
                pass
            elif b < 32 or b > 126:
                self._drop = True
                self.garbage += 1
            elif self._n == cap:
                self._drop = True
                self.overflows += 1
            else:
                line[self._n] = b
                self._n += 1

    def _is_urc(self, line):
        i = line.find(":") if line[:1] in "+*" else -1
        return self.urc_keys.find("|" + (line[:i + 1] if i > 0 else line) + "|") >= 0

    def _on_urc(self, line):
        self.urcs += 1
        if line.startswith("+CREG:"):
            self.creg = _reg_stat(line)
        elif line.startswith("+CGREG:") or line.startswith("+CEREG:"):
            self.cgreg = _reg_stat(line)
        elif line.startswith("+CPIN:"):
            self.sim = _value(line)
        elif line.find("POWER DOWN") >= 0:
            self.state = OFF
        if self._urc is not None:
            self._urc(line)

    def _unsolicited(self, line):
        """A line while no command waits: a URC, or a stale echo / reply / result code."""
        if self._is_urc(line):
            self._on_urc(line)
        else:
            self.stale += 1

    def _flush(self):
        """Route what has arrived already (a bounded number of reads)."""
        n = _FLUSH_READS
        while n:
            line = self._next_line()
            if line is not None:
                self._unsolicited(line)
            if self._got:
                n -= 1         # every read counts, lines or not: a flood of lines cannot hold this loop
            elif line is None:
                return

    async def _pause(self, ms):
        """Wait ms, routing URCs meanwhile."""
        deadline = ticks_add(ticks_ms(), ms)
        while ticks_diff(deadline, ticks_ms()) > 0:
            line = self._next_line()
            if line is not None:
                self._unsolicited(line)
            else:
                await sleep_ms(0 if self._got else _TICK_MS)
