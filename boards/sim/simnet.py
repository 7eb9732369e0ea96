# The sim board's network interfaces (docs/sim-protocol.md, "Network links").
#
# SimWLAN stands for network.WLAN(STA_IF): the access point's presence and signal are the harness's
# ({"wifi": {"up": false}} / {"wifi": {"up": true, "rssi": -70}}); connect() succeeds while it is up,
# and the association is lost when it goes down, as a station's is.
#
# SimPPP stands for network.PPP: the GSM path runs the real AT driver over a UART whose far end is the
# harness's virtual modem (tools/virtual/modem.py); once that modem answers CONNECT, this object is the
# PPP link, and the traffic goes over the host's own TCP/IP, as on the device it goes over the lwIP PPP
# interface. There is no PPP framing on the desktop: that is the honest limit of the stand-in. The
# harness can drop the call ({"ppp": false}): the link's status then says down, as network.PPP's does
# once it notices.
_GOT_IP = 1010          # network.STAT_GOT_IP
_NO_AP_FOUND = 201      # network.STAT_NO_AP_FOUND
_IDLE = 1000            # network.STAT_IDLE


class SimWLAN:
    def __init__(self, emit):
        self._emit = emit
        self.ap = True          # the access point is there
        self.rssi = -58
        self._on = False
        self._assoc = False

    def set(self, cmd):
        """A {"wifi": {...}} control line."""
        up = cmd.get("up", self.ap)
        self.rssi = cmd.get("rssi", self.rssi)
        self.ap = bool(up)
        if not self.ap:
            self._assoc = False

    def active(self, on=None):
        if on is not None:
            self._on = bool(on)
            if not on:
                self._assoc = False
        return self._on

    def connect(self, ssid, key=None):
        self._assoc = self._on and self.ap
        self._emit({"ev": "wifi", "ssid": ssid, "connected": self._assoc})

    def disconnect(self):
        self._assoc = False

    def isconnected(self):
        return self._assoc

    def status(self, what=None):
        if what == "rssi":
            return self.rssi
        return _GOT_IP if self._assoc else _NO_AP_FOUND if self._on else _IDLE


class SimPPP:
    up = False

    def __init__(self, uart, emit):
        self.uart = uart
        self._emit = emit
        SimPPP.up = True
        emit({"ev": "ppp", "up": True})

    def isconnected(self):
        return SimPPP.up

    def disconnect(self):
        SimPPP.up = False
        self._emit({"ev": "ppp", "up": False})
