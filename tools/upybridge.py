"""The desktop terminal as a serial device: stock `mpremote` talks to the MicroPython unix port running
the sim board's firmware environment through a pseudo-terminal, the way it talks to an ESP32 over USB.

    python -m tools.upybridge --data var/sim/diag/term --sim --link var/sim/tty [--events var/sim/bridge.sock]
    mpremote connect var/sim/tty exec "print(1+1)"       # or the /dev/pts/N path the bridge printed

(--sim: an acquirer simulator alongside, parameters for it and test keys, as the tests' harness makes.)

What a device does and the unix port does not, the bridge does (docs/diagnostics.md, section 2):
  - a device's REPL is on its UART whenever the application is not running; here the REPL is the unix
    port's own (`micropython` with no script), with its stdin/stdout on a second pseudo-terminal in raw
    mode, and the bridge copies bytes between the two;
  - a soft reset (Ctrl-D in the raw REPL) makes the unix port EXIT; the bridge starts it again, prints
    "MPY: soft reboot" as a device does, and puts the new interpreter back in raw REPL mode when the old
    one was in it, so mpremote's soft reset at connection, `exec`, `run`, `fs` and `mount` work;
  - Ctrl-C while code runs becomes SIGINT (the unix port's raw REPL reads no Ctrl-C while it executes);
  - a device boots through its production lock (firmware/wasl/diag/gate.py) before the REPL: the bridge
    runs the lock first, in an interpreter of its own, and opens the REPL only when it exits with status 0
    (developer mode: at once and silently; production mode: once a technician answered its challenge;
    else it starts the lock again, as a device resets). A soft reset therefore locks a production
    terminal again: after unlocking, use `mpremote connect <pty> resume ...`.

The interpreter runs with the firmware on MICROPYPATH (tools/simlink.build_code), WASL_DATA=<data> and
its working directory in <data>: the files `mpremote fs` sees are the sim terminal's storage root
(params.json, keys/, ...), as `mpremote fs` sees a device's littlefs. The firmware modules themselves
are on the path, as if frozen. The interpreters' stderr (the firmware's log) goes to <data>/bridge.log.

The sim board speaks JSON lines on stdin/stdout to a harness (docs/sim-protocol.md). Lines that start
with {"ev": " at the start of a line are the board's events, not REPL output: the bridge takes them out of
the stream and hands them to the clients of its event socket (--events), one per line; lines a client
writes go to the board's stdin (keys, cards, APDU answers). A client must write only while firmware code
that reads the board's input is running (a diagnostics part waiting for a key), else the REPL reads them.
"""
import argparse
import json
import os
import select
import signal
import socket
import subprocess
import sys
import termios
import threading
import time
import tty

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MICROPYTHON = os.path.join(os.path.dirname(sys.executable), "micropython")

EVENT_PREFIX = b'{"ev": "'
RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n"
FRIENDLY_BANNER = b'Type "help()" for more information.'
SOFT_REBOOT = b"MPY: soft reboot\r\n"
# What a device's boot does before its REPL (firmware/wasl/diag/gate.py), with the sim board's secure
# storage: exit status 0 opens the REPL.
GATE_BOOT = ("import os, sys\n"
             "from wasl.crypto.storage import FileSecureStorage\n"
             "from wasl.diag.gate import main\n"
             "d = os.getenv('WASL_DATA')\n"
             "sys.exit(0 if main(FileSecureStorage(d + '/secure'), None, d) is True else 3)\n")
_HOLD_S = 0.1          # a possible event prefix cut by a read waits this long for its end
_START_TIMEOUT_S = 15


class BridgeError(RuntimeError):
    pass


def _raw_tty(fd):
    tty.setraw(fd, termios.TCSANOW)


def _nonblock(fd):
    os.set_blocking(fd, False)


class Bridge:
    """The pty, the interpreter behind it, and the thread that copies bytes between them.

    data_dir: the terminal's storage root (WASL_DATA and the interpreter's working directory).
    code: "py" (sources) or "mpy" (the compiled tree): tools/simlink.build_code.
    link: a path to make a symbolic link to the pty (mpremote accepts either).
    events: a path for the event socket (Unix domain), or None.
    gate: before each REPL, run the production lock (wasl.diag.gate) in an interpreter of its own, as a
    device runs it at boot: its exit status 0 (developer mode, or a technician unlocked) opens the REPL,
    anything else starts it again (a device resets)."""

    def __init__(self, data_dir, board="sim", code="py", link=None, events=None, env=None, heap=None,
                 gate=True, log_path=None):
        self.data_dir = os.path.abspath(str(data_dir))
        self.board = board
        self.code = code
        self.link = link
        self.events_path = events
        self.extra_env = dict(env or {})
        self.heap = heap
        self.gate = gate          # run the firmware's production lock before each REPL, as a device boots
        self.log_path = log_path or os.path.join(self.data_dir, "bridge.log")
        self.port = None          # the pty path mpremote opens
        self.restarts = 0         # soft reboots served (interpreters started after the first)
        self.dropped = 0          # output bytes dropped while nobody read the pty
        self._a_m = self._a_s = None
        self._b_m = None
        self._proc = None
        self._phase = None        # "gate" (the lock talks), "boot" (a REPL printing its banner), "repl"
        self._gate_spoke = False  # the lock printed something: the REPL after it is shown, not hidden
        self._banner = False      # show the next REPL's banner (a soft reboot in the friendly REPL)
        self._raw_after = False   # enter the raw REPL once the REPL is up (a soft reset in raw mode)
        self._mode_raw = False
        self._tail = b""          # the last bytes passed to the host (prompt and mode detection)
        self._bol = True          # the next byte forwarded starts a line
        self._hold = b""          # bytes that may begin an event line, waiting for more
        self._hold_t = 0.0
        self._ev = None           # the event line being collected
        self._to_child = b""      # host bytes waiting for the interpreter
        self._listener = None
        self._clients = []        # [socket, bytes read so far]
        self._stop = threading.Event()
        self._thread = None
        self._log = None
        self._lock = threading.Lock()

    # ---- life cycle --------------------------------------------------------------------------------
    def start(self):
        os.makedirs(self.data_dir, exist_ok=True)
        self._log = open(self.log_path, "ab")
        self._a_m, self._a_s = os.openpty()
        _raw_tty(self._a_s)       # kept open: the pty stays valid between two mpremote runs
        _nonblock(self._a_m)
        self.port = os.ttyname(self._a_s)
        if self.link:
            try:
                os.unlink(self.link)
            except FileNotFoundError:
                pass
            os.symlink(self.port, self.link)
        if self.events_path:
            try:
                os.unlink(self.events_path)
            except FileNotFoundError:
                pass
            self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._listener.bind(self.events_path)
            self._listener.listen(4)
            self._listener.setblocking(False)
        self._start_child(raw=False)
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not (self._phase == "repl" or (self._phase == "gate" and self._gate_spoke)):
            if time.monotonic() > deadline:
                self.stop()
                raise BridgeError("the terminal did not come up (see %s)" % self.log_path)
            self._pump_once()
        self._thread = threading.Thread(target=self._pump, name="upybridge", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread:
            self._thread.join(5)
        self._kill_child()
        for c in self._clients:
            c[0].close()
        self._clients = []
        if self._listener:
            self._listener.close()
            self._listener = None
            try:
                os.unlink(self.events_path)
            except OSError:
                pass
        if self.link:
            try:
                os.unlink(self.link)
            except OSError:
                pass
        for fd in (self._a_m, self._a_s):
            if fd is not None:
                os.close(fd)
        self._a_m = self._a_s = None
        if self._log:
            self._log.close()
            self._log = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def info(self):
        return {"port": self.port, "link": self.link, "events": self.events_path, "data": self.data_dir,
                "log": self.log_path}

    # ---- the interpreter ---------------------------------------------------------------------------
    def _command(self, gate):
        from tools.simlink import build_code

        path, _, image = build_code(self.code, self.board)
        if image:
            raise BridgeError("code 'romfs' is not served by the bridge (py or mpy)")
        env = dict(os.environ)
        env.update({"MICROPYPATH": path, "WASL_DATA": self.data_dir})
        env.update(self.extra_env)
        cmd = [MICROPYTHON]
        if self.heap:
            cmd += ["-X", "heapsize=%s" % self.heap]
        if gate:
            cmd += ["-c", GATE_BOOT]
        return cmd, env

    def _start_child(self, raw, banner=False):
        """A device boots: the production lock first (when the bridge runs it), then the REPL. banner:
        the REPL's banner is shown (a soft reboot in the friendly REPL prints it on a device)."""
        self._banner = banner
        if self.gate:
            self._raw_after = raw     # for the REPL after the lock
            self._gate_spoke = False
            self._spawn("gate")
        else:
            self._spawn("boot", raw, show_banner=banner)

    def _spawn(self, phase, raw=False, show_banner=False):
        """Start an interpreter: the lock ("gate") or the REPL ("boot"). A REPL's banner is swallowed (a
        device's was printed long ago, or is replaced by the soft reboot's) unless show_banner; with raw,
        the raw REPL is entered once the prompt is there, and the host sees its banner."""
        cmd, env = self._command(phase == "gate")
        b_m, b_s = os.openpty()
        _raw_tty(b_s)
        self._log.write(b"--- start %s %s\n" % (phase.encode(), " ".join(cmd[:1] + cmd[1:2]).encode()))
        self._log.flush()
        self._proc = subprocess.Popen(cmd, stdin=b_s, stdout=b_s, stderr=self._log, cwd=self.data_dir, env=env,
                                      close_fds=True, start_new_session=True)
        os.close(b_s)
        _nonblock(b_m)
        self._b_m = b_m
        self._boot = b""
        self._phase = "repl" if (phase == "boot" and show_banner) else phase
        if phase == "boot":
            self._raw_after = raw
        if self._phase == "repl":
            self._mode_raw = False

    def _kill_child(self):
        p = self._proc
        if p is not None and p.poll() is None:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if self._b_m is not None:
            os.close(self._b_m)
            self._b_m = None
        self._proc = None

    def _child_exited(self):
        """The interpreter left. The lock's exit status says whether the REPL opens; a REPL that exits
        (a soft reset, sys.exit, a crash) makes a device reboot: so does this one."""
        phase, raw = self._phase, self._mode_raw
        self._flush_hold()
        rc = None
        if self._proc is not None:
            try:
                rc = self._proc.wait(5)
            except subprocess.TimeoutExpired:
                rc = None
        self._kill_child()
        self._to_child = b""
        if phase == "gate":
            if rc == 0:     # developer mode (silent: the device just boots), or unlocked (the REPL shows)
                self._spawn("boot", self._raw_after and not self._gate_spoke,
                            show_banner=self._gate_spoke or self._banner)
            else:
                self._log.write(b"--- lock: exit %s, locked again\n" % str(rc).encode())
                time.sleep(0.2)     # a device takes its time to reset; a lock that crashes must not spin
                self._start_child(raw=False)
            return
        self._to_host(SOFT_REBOOT)
        self.restarts += 1
        self._start_child(raw, banner=not raw)

    # ---- the pump ----------------------------------------------------------------------------------
    def _pump(self):
        try:
            while not self._stop.is_set():
                self._pump_once()
        except Exception as e:      # a bridge that stops silently looks like a dead device: say why
            self._log.write(("bridge stopped: %r\n" % e).encode())
            self._log.flush()
            raise

    def _pump_once(self):
        rd = [self._a_m, self._b_m]
        if self._listener:
            rd.append(self._listener)
        rd += [c[0] for c in self._clients]
        wr = [self._b_m] if self._to_child and self._phase != "boot" else []
        timeout = _HOLD_S if self._hold else 0.2
        r, w, _ = select.select(rd, wr, [], timeout)
        if self._hold and time.monotonic() - self._hold_t >= _HOLD_S and self._b_m not in r:
            self._flush_hold()
        if self._a_m in r:
            try:
                data = os.read(self._a_m, 4096)
            except (BlockingIOError, OSError):
                data = b""
            if data:
                self._from_host(data)
        if self._b_m in r:
            try:
                data = os.read(self._b_m, 4096)
            except BlockingIOError:
                data = None
            except OSError:         # EIO: every holder of the other side is gone
                data = b""
            if data:
                self._from_child(data)
            elif data == b"" or self._proc.poll() is not None:
                self._child_exited()
                return
        if self._b_m in w and self._to_child:
            try:
                n = os.write(self._b_m, self._to_child)
                self._to_child = self._to_child[n:]
            except BlockingIOError:
                pass
            except OSError:
                pass
        if self._listener and self._listener in r:
            try:
                s, _ = self._listener.accept()
                s.setblocking(False)
                self._clients.append([s, b""])
            except BlockingIOError:
                pass
        for c in list(self._clients):
            if c[0] in r:
                self._from_client(c)

    def _from_host(self, data):
        if b"\x03" in data and self._phase == "repl" and self._busy():
            try:
                self._proc.send_signal(signal.SIGINT)
            except (OSError, AttributeError):
                pass
        self._to_child += data

    def _busy(self):
        """Code is running (no prompt was the last thing printed): Ctrl-C must interrupt it."""
        t = self._tail
        return not (t.endswith(b">") or t.endswith(b">>> ") or t.endswith(b"... "))

    def _to_host(self, data):
        if not data:
            return
        self._tail = (self._tail + data)[-64:]
        k = max(self._tail.rfind(RAW_BANNER), self._tail.rfind(FRIENDLY_BANNER))
        if k >= 0:
            self._mode_raw = self._tail.startswith(RAW_BANNER, k)
        try:
            n = os.write(self._a_m, data)
        except BlockingIOError:
            n = 0
        except OSError:
            n = 0
        self.dropped += len(data) - n     # nobody reads the pty: a device's UART would drop it too

    def _flush_hold(self):
        if self._hold:
            h, self._hold = self._hold, b""
            self._to_host(h)
            self._bol = h.endswith(b"\n")

    def _from_child(self, chunk):
        """Pass the interpreter's output to the host, taking the board's event lines out of it."""
        if self._phase == "boot":           # a REPL's banner, up to its first prompt, is not shown
            self._boot += chunk
            k = self._boot.find(b">>> ")
            if k < 0:
                if len(self._boot) > 4096:
                    raise BridgeError("no prompt from the interpreter: %r" % self._boot[-200:])
                return
            chunk = self._boot[k + 4:]
            self._boot = b""
            self._phase = "repl"
            self._tail = b">>> "
            self._mode_raw = False
            self._bol = True
            if self._raw_after:
                self._to_child = b"\x01" + self._to_child
            if not chunk:
                return
        elif self._phase == "gate":
            self._gate_spoke = True
        data = self._hold + chunk
        self._hold = b""
        out = bytearray()
        i = 0
        n = len(data)
        while i < n:
            if self._ev is not None:
                j = data.find(b"\n", i)
                if j < 0:
                    self._ev += data[i:]
                    break
                self._ev += data[i:j]
                self._event(bytes(self._ev))
                self._ev = None
                i = j + 1
                self._bol = True
                continue
            j = data.find(b"{", i)
            if j < 0:
                out += data[i:]
                break
            out += data[i:j]
            bol = (out.endswith(b"\n") or out.endswith(b"OK")) if out else \
                (self._bol or self._tail.endswith(b"OK"))
            piece = data[j:j + len(EVENT_PREFIX)]
            if bol and piece == EVENT_PREFIX:
                self._to_host(bytes(out))
                out = bytearray()
                self._ev = bytearray(EVENT_PREFIX)
                i = j + len(EVENT_PREFIX)
                continue
            if bol and EVENT_PREFIX.startswith(piece):   # cut by the read: wait for the rest
                self._to_host(bytes(out))
                out = bytearray()
                self._hold = data[j:]
                self._hold_t = time.monotonic()
                return
            out += b"{"
            i = j + 1
        if out:
            self._to_host(bytes(out))
            self._bol = out.endswith(b"\n")

    def _event(self, line):
        dead = []
        for c in self._clients:
            try:
                c[0].setblocking(True)
                c[0].settimeout(2)
                c[0].sendall(line + b"\n")
                c[0].setblocking(False)
            except OSError:
                dead.append(c)
        for c in dead:
            c[0].close()
            self._clients.remove(c)

    def _from_client(self, c):
        try:
            data = c[0].recv(4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            c[0].close()
            self._clients.remove(c)
            return
        buf = c[1] + data
        k = buf.rfind(b"\n")
        if k >= 0:
            self._to_child += buf[:k + 1]   # whole lines only: the board reads lines
            buf = buf[k + 1:]
        c[1] = buf


class EventClient:
    """A harness on the bridge's event socket: the board's events in, control lines out."""

    def __init__(self, path, timeout=10):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.events = []
        self._cond = threading.Condition()
        self._handlers = []
        self._closed = False
        self._t = threading.Thread(target=self._read, daemon=True)
        self._t.start()

    def on(self, handler):
        """handler(event dict) called in the reader thread for every event."""
        self._handlers.append(handler)

    def _read(self):
        f = self.sock.makefile("rb")
        for line in f:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            for h in self._handlers:
                h(ev)
            with self._cond:
                self.events.append(ev)
                self._cond.notify_all()
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def send(self, obj):
        self.sock.sendall((json.dumps(obj) + "\n").encode())

    def wait(self, pred, timeout=10):
        """The first event (from the start) for which pred(ev) is true; TimeoutError if none comes."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for ev in self.events:
                    if pred(ev):
                        return ev
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    raise TimeoutError("no such event; last: %r" % self.events[-3:])
                self._cond.wait(left)

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tools.upybridge", description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="the terminal's storage root (WASL_DATA)")
    ap.add_argument("--board", default="sim")
    ap.add_argument("--code", default="py", choices=("py", "mpy"))
    ap.add_argument("--link", help="also make this symbolic link to the pty")
    ap.add_argument("--events", help="Unix socket for the sim board's events and control lines")
    ap.add_argument("--heap", help="interpreter heap size (e.g. 128K)")
    ap.add_argument("--no-gate", action="store_true", help="no production lock before the REPL")
    ap.add_argument("--sim", action="store_true",
                    help="also run the acquirer simulator (in <data>/../acq) and give the terminal parameters "
                         "for it and test keys, as the test harness does (tools/simlink.py)")
    a = ap.parse_args(argv)
    acq = None
    if a.sim:
        from tools.simlink import AcqSim, inject_test_keys, make_params

        acq = AcqSim(os.path.join(os.path.dirname(os.path.abspath(a.data)), "acq")).start()
        make_params(a.data, acq.host_params())
        inject_test_keys(a.data)
    br = Bridge(a.data, board=a.board, code=a.code, link=a.link, events=a.events, heap=a.heap,
                gate=not a.no_gate)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        br.start()
        info = br.info()
        if acq:
            info["acquirer"] = "%s:%d" % (acq.info["address"], acq.port)
        print(json.dumps(info), flush=True)
        while not stop.is_set() and br._thread.is_alive():
            stop.wait(0.5)
    finally:
        br.stop()
        if acq:
            acq.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
