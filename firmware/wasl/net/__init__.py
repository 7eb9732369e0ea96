# Network links: the link manager (below, resident: one small class), the GSM modem's AT-command
# driver (modem.py), GSM attach and hang-up (gsm.py), changing links (switch.py), network time (clock.py).
#
# The link manager: which network the terminal reaches its hosts through (docs/modem.md, section 7).
# Wi-Fi (hw.wlan: network.WLAN(STA_IF) on the ESP32, credentials from the parameters) and GSM
# (hw.modem_uart and hw.ppp: the AT driver up to CONNECT, then PPP). The preferred link (net.prefer) is
# used whenever it works; the other takes over when it fails and hands back when it returns.
#
# Dead-link detection, in seconds: the link's status (WLAN.isconnected(), PPP.isconnected()) before
# every exchange and every net.check_s at idle, and host connections that fail over a link whose status
# says up (a PPP link can look up for minutes after the call dropped: micropython#5566) -- two in a row
# and the link is put aside for net.retry_s. The preferred link is tried again every net.retry_s.
#
# Resident, so only the fast paths live here (the link is up: nothing to do). Changing links
# (wasl.net.switch), the GSM attach and hang-up (wasl.net.gsm, with the AT driver) and the clock
# (wasl.net.clock) are loaded when needed and dropped after.
from wasl import unload

try:
    from micropython import const
    from time import ticks_add, ticks_diff, ticks_ms
except ImportError:  # CPython: the manager needs MicroPython's time functions
    def const(x):
        return x

_CHECK = const(5)    # p.net[5]: net.check_s (wasl.params)


class Links:
    def __init__(self, hw, p):
        self.hw = hw
        self.p = p
        o = []                      # the links this terminal has (SSID, APN), the preferred one first
        for n in (p.net[0], "gsm" if p.net[0] == "wifi" else "wifi"):
            if (hw.wlan is not None and p.net[1]) if n == "wifi" else (hw.modem_uart is not None and p.net[3]):
                o.append(n)
        self.order = tuple(o)
        self.cur = None             # the link in use ("wifi", "gsm") or None
        self.bars = 0               # its signal, 0..4
        self.ppp = None             # the PPP link while GSM is in use
        self.fails = 0              # host connections failed in a row over the current link
        self.skip = None            # a link put aside until self.back
        self.back = self.due = ticks_ms()   # next try of the preferred link; next status check
        self.synced = False         # the clock was set from the network

    def alive(self):
        c = self.cur
        if c == "wifi":
            return self.hw.wlan.isconnected()
        return c == "gsm" and (self.ppp is None or self.ppp.isconnected())

    async def up(self):
        """Before an exchange: True when a link is up (the current one if its status says so, else the
        first that comes up, in order of preference, a link put aside last)."""
        if self.cur is not None and self.cur != self.skip and self.alive():
            return True
        return await self._run("up")

    def failed(self, ok=False):
        """A host connection over the current link failed (ok: succeeded). True when the link is now put
        aside (after two failures in a row) and the caller should try again over another one."""
        self.fails = 0 if ok else self.fails + 1
        if self.fails < 2 or len(self.order) < 2:
            return False
        self.skip = self.cur
        self.fails = 0
        self.back = ticks_add(ticks_ms(), self.p.net[6] * 1000)
        return True

    async def check(self):
        """At idle, every net.check_s: the link's status and signal; fail over when it is down, back to the
        preferred link when it returns (wasl.net.switch)."""
        now = ticks_ms()
        if ticks_diff(self.due, now) > 0 or not self.order:
            return
        self.due = ticks_add(now, self.p.net[_CHECK] * 1000)
        c = self.cur
        if c is not None and self.alive() and (c == self.order[0] or ticks_diff(self.back, now) > 0):
            if c == "wifi":
                try:
                    r = self.hw.wlan.status("rssi")     # dBm; OSError once the association is lost
                    self.bars = (r >= -85) + (r >= -75) + (r >= -65) + (r >= -55)
                except OSError:
                    self.bars = 0
            return
        await self._run("check")

    async def _run(self, what):
        """wasl.net.switch's `what`. A radio or modem that fails in a way the switch did not expect
        (an OSError from the driver, no memory to load it) leaves the terminal without a link, which
        the next check tries again: never a crash at idle or in the middle of a transaction."""
        try:
            return await getattr(__import__("wasl.net.switch", None, None, (what,)), what)(self)
        except Exception as e:
            from wasl import log

            log.error("net", "link %s failed: %r", what, e)
            self.cur = None
            self.ppp = None
            return False
        finally:
            unload("wasl.net.switch")
