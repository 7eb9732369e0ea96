# A SIM800 behind a UART, for the modem driver's tests (firmware/wasl/net/modem.py). Runs on CPython
# and on the MicroPython unix port.
#
# The driver's side is a UART: write(bytes), any(), readinto(buf), read(n). What the modem sends is one
# ordered byte queue; each piece has a time (ms since power-up) before which it cannot be read, and a
# read hands out 1..chunk bytes (pseudo-random, seeded), so every reply arrives in small pieces.
# Commands are answered in order, like a real modem that finishes one before it starts the next.
#
# Like a SIM800: echo on at power-up (the command line comes back, ended by CR), V1 framing
# (CR LF text CR LF), OK / ERROR, +CME ERROR: n once AT+CMEE=1 (plain ERROR before, text with =2),
# registration following a timeline (0 -> 2 -> 1 by default), AT+CSQ from `csq`, CONNECT on ATD*99# or
# AT+CGDATA="PPP",1 once registered with a PDP context, then data mode until "+++" framed by guard
# times, ATH. Scriptable faults, per command (fault()) or for the whole modem (attributes):
#   fault(cmd, kind, arg, times)  the next `times` commands starting with cmd (-1: all of them):
#       "cme"      answer +CME ERROR: arg (ERROR if AT+CMEE=0)     "error"   answer ERROR
#       "silent"   echo, then no reply at all                     "delay"   the reply comes arg ms later
#       "hang"     echo, then nothing ever again (hung from this command on)
#       "truncate" only the first arg bytes of the reply          "swap"    final result code first
#       "urc"      URC text arg between the reply line and OK     "garbage" bytes arg before the reply
#       "stale"    bytes arg (another command's reply) before the reply: an out-of-order answer
#   sim       "READY", "SIM PIN", "SIM PUK", "ABSENT"; sim_ready_ms: "NOT READY" until then
#   reg, greg timelines ((ms, stat), ...) of +CREG / +CGREG; stat 3 denied, 5 roaming
#   autobaud  the first `autobaud` ATs are not heard (a SIM800 locking its baud rate)
#   hung      hears nothing, answers nothing;   flood: an endless line of "A"s
#   boot      bytes sent at power-up (BOOT_URCS, line noise...);   urc(text): a URC now
#   clock     AT+CCLK? answer "yy/MM/dd,hh:mm:ss+zz" (network time); None: the power-up default (2004)
#   power_down(): "NORMAL POWER DOWN", then hung
from fwtest import ms_since, ticks_ms

BOOT_URCS = b"\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\nCall Ready\r\n\r\nSMS Ready\r\n"

# +CME ERROR texts of AT+CMEE=2 (3GPP TS 27.007 9.2.1)
_CME_TEXT = {3: "operation not allowed", 4: "operation not supported", 10: "SIM not inserted",
             11: "SIM PIN required", 12: "SIM PUK required", 13: "SIM failure", 14: "SIM busy",
             16: "incorrect password", 30: "no network service", 100: "unknown"}


class FakeModem:
    def __init__(self, echo=True, sim="READY", sim_ready_ms=0, pin="1234", csq=(20, 0),
                 reg=((0, 0), (10, 2), (25, 1)), greg=None, chunk=7, seed=1, reply_ms=1, autobaud=0,
                 boot=b"", connect="CONNECT 115200", after_connect=b"", guard_ms=10, clock=None):
        self.t0 = ticks_ms()
        self.echo = echo
        self.cmee = 0
        self.sim = sim
        self.sim_ready_ms = sim_ready_ms
        self.pin = pin
        self.csq = csq
        self.reg = reg
        self.greg = greg or reg
        self.chunk = chunk
        self._seed = seed
        self.reply_ms = reply_ms
        self.autobaud = autobaud
        self.connect = connect
        self.after_connect = after_connect
        self.guard_ms = guard_ms
        self.clock = clock          # AT+CCLK? "yy/MM/dd,hh:mm:ss+zz" (network time); None: power-up default
        self.hung = False
        self.flood = False
        self.apn = None
        self.data_mode = False
        self.data = bytearray()     # what the driver wrote in data mode
        self.escapes = 0            # "+++" accepted
        self.log = []               # every command heard, as typed
        self.faults = []            # [cmd prefix, kind, arg, times left]
        self.reads = 0
        self.max_read = 0           # largest piece handed out by one read
        self._in = bytearray()
        self._out = []              # [ready at (ms), bytearray] in order
        self._last = 0              # ready time of the last piece queued (replies keep their order)
        self._last_data = 0
        if boot:
            self._emit(boot, 0)

    # ---- the UART the driver sees -------------------------------------------------------------------

    def any(self):
        if self.flood:
            return 64
        now = self._now()
        n = 0
        for at, data in self._out:
            if at > now:
                break
            n += len(data)
        return n

    def readinto(self, buf):
        piece = self._take(len(buf))
        if not piece:
            return None
        n = len(piece)
        buf[:n] = piece
        return n

    def read(self, n):
        piece = self._take(n)
        return bytes(piece) if piece else None

    def write(self, data):
        data = bytes(data)
        now = self._now()
        if self.data_mode:
            self._data_write(data, now)
            return len(data)
        for b in data:
            if b == 13:
                line = self._in.decode()
                self._in = bytearray()
                self._command(line, now)
            elif b != 10:
                self._in.append(b)
        return len(data)

    # ---- scripting -------------------------------------------------------------------------------------

    def fault(self, cmd, kind, arg=None, times=1):
        self.faults.append([cmd.upper(), kind, arg, times])

    def urc(self, text):
        self._emit(("\r\n%s\r\n" % text).encode(), self._now())

    def power_down(self):
        self.urc("NORMAL POWER DOWN")
        self.hung = True

    def commands(self, prefix=""):
        """The commands heard that start with prefix."""
        return [c for c in self.log if c.upper().startswith(prefix)]

    # ---- inside ------------------------------------------------------------------------------------

    def _now(self):
        return ms_since(self.t0)

    def _rand(self, n):
        """1..n, pseudo-random."""
        self._seed = (self._seed * 1103515245 + 12345) & 0x7FFFFFFF
        return 1 + (self._seed >> 16) % n

    def _emit(self, data, at):
        at = max(at, self._last)
        self._last = at
        self._out.append([at, bytearray(data)])

    def _take(self, room):
        self.reads += 1
        k = min(room, self._rand(self.chunk))
        if self.flood:
            self.max_read = max(self.max_read, k)
            return b"A" * k
        now = self._now()
        piece = bytearray()
        while self._out and len(piece) < k:
            at, data = self._out[0]
            if at > now:
                break
            take = k - len(piece)
            piece += data[:take]
            if take >= len(data):
                self._out.pop(0)
            else:
                self._out[0][1] = data[take:]
        self.max_read = max(self.max_read, len(piece))
        return piece

    def _data_write(self, data, now):
        if data == b"+++" and now - self._last_data >= self.guard_ms:
            self.data_mode = False   # back in command mode once the trailing guard time is over
            self.escapes += 1
            self._emit(b"\r\nOK\r\n", now + self.guard_ms)
        else:
            self.data += data
        self._last_data = now

    def _faults_for(self, up):
        found = {}
        for f in self.faults:
            if f[3] != 0 and up.startswith(f[0]) and f[1] not in found:
                found[f[1]] = f[2]
                if f[3] > 0:
                    f[3] -= 1
        return found

    def _command(self, line, now):
        if self.hung:
            return
        cmd = line.strip()
        i = cmd.upper().find("AT")
        if i < 0:
            return   # no "AT" prefix: not a command (V.250: what precedes the prefix is ignored)
        cmd = cmd[i:]
        up = cmd.upper()
        if self.autobaud and up == "AT":
            self.autobaud -= 1
            return
        self.log.append(cmd)
        if self.echo:
            self._emit((line + "\r").encode(), now)
        f = self._faults_for(up)
        if "hang" in f:
            self.hung = True
        if "silent" in f or "hang" in f:
            return
        if "cme" in f:
            info, final = [], self._err(f["cme"])
        elif "error" in f:
            info, final = [], "ERROR"
        else:
            info, final = self._answer(up, cmd)
        body = "".join("\r\n%s\r\n" % i for i in info)
        if "urc" in f:
            body += "\r\n%s\r\n" % f["urc"]
        end = "\r\n%s\r\n" % final
        out = ((end + body) if "swap" in f else (body + end)).encode()
        if "truncate" in f:
            out = out[:f["truncate"]]
        out = f.get("garbage", b"") + f.get("stale", b"") + out
        at = max(now, self._last) + self.reply_ms + f.get("delay", 0)
        self._emit(out, at)
        if final.startswith("CONNECT"):
            self.data_mode = True
            self._last_data = at
            if self.after_connect:
                self._emit(self.after_connect, at)

    def _err(self, code):
        if self.cmee == 1:
            return "+CME ERROR: %d" % code
        if self.cmee == 2:
            return "+CME ERROR: %s" % _CME_TEXT.get(code, "unknown")
        return "ERROR"

    def _sim_state(self):
        if self.sim == "READY" and self._now() < self.sim_ready_ms:
            return "NOT READY"
        return self.sim

    def _stat(self, timeline):
        if self._sim_state() != "READY":
            return 0
        t = self._now()
        stat = timeline[0][1]
        for ms, s in timeline:
            if t >= ms:
                stat = s
        return stat

    def _answer(self, up, cmd):
        """(information lines, final result code) of a SIM800 for one command."""
        if up == "AT" or up == "ATH":
            return [], "OK"
        if up in ("ATE0", "ATE1"):
            self.echo = up == "ATE1"
            return [], "OK"
        if up == "ATI":
            return ["SIM800 R14.18"], "OK"
        if up.startswith("AT+CMEE="):
            if up[8:] not in ("0", "1", "2"):
                return [], self._err(3)
            self.cmee = int(up[8:])
            return [], "OK"
        if up == "AT+CPIN?":
            s = self._sim_state()
            if s == "ABSENT":
                return [], self._err(10)
            return ["+CPIN: " + s], "OK"
        if up.startswith("AT+CPIN="):
            if self.sim != "SIM PIN" or cmd[8:].strip('"') != self.pin:
                return [], self._err(16 if self.sim == "SIM PIN" else 3)
            self.sim = "READY"
            return [], "OK"
        if up == "AT+CCLK?":
            return ['+CCLK: "%s"' % (self.clock or "04/01/01,00:00:05+00")], "OK"
        if up == "AT+CSQ":
            return ["+CSQ: %d,%d" % self.csq], "OK"
        if up == "AT+CREG?":
            return ["+CREG: 0,%d" % self._stat(self.reg)], "OK"
        if up == "AT+CGREG?":
            return ["+CGREG: 0,%d" % self._stat(self.greg)], "OK"
        if up.startswith("AT+CGDCONT="):
            f = cmd[11:].split(",")
            if len(f) < 3 or f[0] != "1" or f[1] != '"IP"' or len(f[2]) < 2 or f[2][0] != '"' or f[2][-1] != '"':
                return [], self._err(3)
            self.apn = f[2][1:-1]
            return [], "OK"
        if up in ("ATD*99#", "ATD*99***1#", 'AT+CGDATA="PPP",1'):
            if self._stat(self.greg) not in (1, 5) or self.apn is None:
                return [], "NO CARRIER"
            return [], self.connect
        return [], "ERROR"
