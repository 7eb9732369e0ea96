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
# Resident, so one small class. The GSM attach and hang-up (wasl.net.gsm, with the AT driver) and the
# clock (wasl.net.clock) are loaded when needed and dropped after.
from wasl import log, unload

try:
    from time import ticks_add, ticks_diff, ticks_ms
    from asyncio import sleep_ms
except ImportError:  # CPython: the manager needs MicroPython's time functions; imported for tests
    pass

WIFI = "wifi"
GSM = "gsm"
_GSM_MODULES = ("wasl.net.gsm", "wasl.net.modem", "wasl.net.clock")


class Links:
    def __init__(self, hw, p):
        self.hw = hw
        self.p = p
        have = []
        for name in (p.net_prefer, GSM if p.net_prefer == WIFI else WIFI):
            if (hw.wlan is not None and p.net_ssid) if name == WIFI else (hw.modem_uart is not None and p.net_apn):
                have.append(name)
        self.order = tuple(have)    # the links this terminal has, the preferred one first
        self.cur = None             # the link in use (WIFI, GSM) or None
        self.bars = 0               # its signal, 0..4
        self.ppp = None             # the PPP link while GSM is in use
        self.fails = 0              # host connections failed in a row over the current link
        self.skip = None            # a link put aside until self.back
        self.back = ticks_ms()      # when the preferred link is tried again
        self.due = self.back        # next status check at idle
        self.synced = False         # the clock was set from the network

    def alive(self):
        c = self.cur
        if c == WIFI:
            return self.hw.wlan.isconnected()
        return c == GSM and (self.ppp is None or not hasattr(self.ppp, "isconnected") or self.ppp.isconnected())

    async def up(self):
        """Before an exchange: True when a link is up (the current one if its status says so, else the
        first that comes up, in order of preference, a link put aside last)."""
        if self.cur is not None and self.cur != self.skip and self.alive():
            return True
        await self._drop()
        names = self.order
        if self.skip is not None:
            names = [n for n in names if n != self.skip] + [self.skip]
        for name in names:
            if await self._open(name):
                return True
        return False

    def failed(self, ok=False):
        """A host connection over the current link failed (ok: succeeded). True when the link is now put
        aside and the caller should try again over another one."""
        if ok:
            self.fails = 0
            return False
        self.fails += 1
        if self.fails < 2 or len(self.order) < 2 or self.cur is None:
            return False
        log.warn("net", "%s: host connections fail, link put aside", self.cur)
        self._aside(self.cur)
        return True

    async def check(self):
        """At idle, every net.check_s: the link's status; fail over when it is down, back to the preferred
        link when it returns; the signal for the idle screen."""
        now = ticks_ms()
        if ticks_diff(self.due, now) > 0 or not self.order:
            return
        self.due = ticks_add(now, self.p.net_check_s * 1000)
        cur = self.cur
        if cur is not None and not self.alive():
            log.warn("net", "%s link down", cur)
            self._aside(cur)
            await self._drop()
            await self.up()
        elif cur is None or (cur != self.order[0] and ticks_diff(now, self.back) >= 0):
            if cur is None:
                ok = await self.up()
            else:
                self.back = ticks_add(now, self.p.net_retry_s * 1000)
                ok = await self._open(self.order[0], cur)
            if not ok:
                self.due = ticks_add(ticks_ms(), self.p.net_retry_s * 1000)
        elif cur == WIFI:
            self._wifi_bars()

    def _aside(self, name):
        self.skip = name
        self.fails = 0
        self.back = ticks_add(ticks_ms(), self.p.net_retry_s * 1000)

    async def _open(self, name, old=None):
        """Bring a link up; then drop `old` and make it the current one."""
        hw = self.hw
        p = self.p
        t = None
        try:
            if name == WIFI:
                w = hw.wlan
                w.active(True)
                if not w.isconnected():
                    w.connect(p.net_ssid, p.net_key)
                    t0 = ticks_ms()
                    while not w.isconnected():
                        s = w.status()
                        if 200 <= s < 300 or ticks_diff(ticks_ms(), t0) > p.net_wifi_timeout_s * 1000:
                            raise OSError("no connection to %s (status %d)" % (p.net_ssid, s))
                        await sleep_ms(100)
                ppp = None
            else:
                ppp, bars, t = await __import__("wasl.net.gsm", None, None, ("attach",)).attach(
                    hw, p.net_apn, not self.synced)
        except Exception as e:     # ModemError, OSError: logged, the link is not up
            log.warn("net", "%s: %s %s", name, getattr(e, "reason", ""), e)
            return False
        finally:
            if name == GSM:
                unload(*_GSM_MODULES)
        if old is not None:
            await self._drop()
        self.cur = name
        self.ppp = ppp
        self.fails = 0
        if name == self.skip:
            self.skip = None
        if name == WIFI:
            self._wifi_bars()
            if not self.synced and p.net_ntp:
                try:
                    t = await __import__("wasl.net.clock", None, None, ("ntp",)).ntp(p.net_ntp, p.net_ntp_port)
                except Exception as e:   # OSError, ValueError: the clock is left alone
                    log.warn("net", "NTP: %s", e)
                unload("wasl.net.clock")
        else:
            self.bars = bars
        if t is not None:
            hw.clock.set(t)
            self.synced = True
            log.info("net", "clock set from %s: %d", name, t)
        log.info("net", "link %s up", name)
        hw.trace("link", name)
        return True

    async def _drop(self):
        if self.cur == GSM and self.ppp is not None:
            try:
                await __import__("wasl.net.gsm", None, None, ("hang_up",)).hang_up(self.hw, self.ppp)
            finally:
                unload(*_GSM_MODULES)
        if self.cur is not None:
            self.hw.trace("link", "")
        self.cur = self.ppp = None
        self.bars = 0

    def _wifi_bars(self):
        try:
            r = self.hw.wlan.status("rssi")
        except (OSError, ValueError, TypeError):
            r = -100
        self.bars = 4 if r >= -55 else 3 if r >= -65 else 2 if r >= -75 else 1 if r >= -85 else 0
