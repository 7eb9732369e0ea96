"""The sim board's GSM modem, on the harness side of its "modem" UART (docs/sim-protocol.md).

The modem itself is host_tests/fw/fakemodem.py's FakeModem (a SIM800 answering byte by byte, with its
faults), the one the driver's unit tests use. This wraps it for the control channel: bytes the
firmware's driver writes ({"ev": "uart", "port": "modem"}) go in; a pump thread hands what the modem
has to say back as {"uart_rx": {"port": "modem", "data": hex}} lines, at most 40 bytes each (control lines
are at most 128 bytes). After CONNECT the modem is in data mode: the firmware's sim PPP link then uses
the host's TCP/IP (boards/sim/simppp.py), so no PPP frames come here; "+++" and ATH end the call.
"""
import os
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_FW_TESTS = os.path.join(ROOT, "host_tests", "fw")
if _FW_TESTS not in sys.path:
    sys.path.insert(0, _FW_TESTS)
from fakemodem import FakeModem  # noqa: E402

PIECE = 40          # bytes per uart_rx line
PUMP_S = 0.005


class VirtualModem:
    def __init__(self, send, **fake):
        """send(obj): writes a control line to the firmware. fake: FakeModem's options (reg, csq, clock,
        sim...); registration is immediate unless given."""
        fake.setdefault("reg", ((0, 1),))
        fake.setdefault("chunk", 16)
        fake.setdefault("seed", 7)
        self.fake = FakeModem(**fake)
        self._send = send
        self._lock = threading.Lock()
        self._thread = None
        self._stop = False

    def feed(self, data):
        with self._lock:
            self.fake.write(data)
        if self._thread is None:
            self._thread = threading.Thread(target=self._pump, daemon=True)
            self._thread.start()

    def _pump(self):
        while not self._stop:
            out = bytearray()
            with self._lock:
                while len(out) < PIECE:
                    piece = self.fake.read(PIECE - len(out))
                    if not piece:
                        break
                    out += piece
            if out:
                self._send({"uart_rx": {"port": "modem", "data": out.hex()}})
            else:
                time.sleep(PUMP_S)

    def stop(self):
        self._stop = True
