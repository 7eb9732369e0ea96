# The sim board's stand-in for network.PPP (docs/modem.md, section 7). The GSM path runs the real AT
# driver over the board's "modem" UART to the harness's virtual modem (tools/virtual/modem.py); once
# that modem answers CONNECT, the board's PPP hook returns this object, and the terminal's traffic goes
# over the host's own TCP/IP, as on the device it goes over the lwIP PPP interface. No PPP frames cross
# the UART on the desktop: that is the limit of the stand-in. The harness can drop the call
# ({"ppp": false}): the link's status then says down, as network.PPP's does once it notices.


class SimPPP:
    up = False      # the data call is up (one modem: a class attribute the control channel can clear)

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
