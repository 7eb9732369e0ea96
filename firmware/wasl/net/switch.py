# Changing network links, for wasl.net.Links (loaded when the link is down or the preferred one may be
# back, dropped after): failover, fall-back to the preferred link, Wi-Fi association, GSM attach and
# hang-up (wasl.net.gsm), the clock from the network (wasl.net.clock).
from wasl import log, unload

try:
    from asyncio import sleep_ms
    from time import ticks_add, ticks_diff, ticks_ms
except ImportError:  # CPython
    pass

_LOADED = ("wasl.net.gsm", "wasl.net.modem", "wasl.net.clock")


async def up(net):
    """Bring a link up, in order of preference, a link put aside last. True when one is up."""
    await drop(net)
    names = net.order
    if net.skip is not None:
        names = [n for n in names if n != net.skip] + [net.skip]
    for name in names:
        if await open_link(net, name):
            return True
    return False


async def check(net):
    """The current link is down (fail over), or not the preferred one and the retry time has come."""
    now = ticks_ms()
    retry = net.p.net[6] * 1000
    cur = net.cur
    if cur is not None and not net.alive():
        log.warn("net", "%s link down", cur)
        net.skip = cur
        net.back = ticks_add(now, retry)
        ok = await up(net)
    elif cur is None:
        ok = await up(net)
    else:
        net.back = ticks_add(now, retry)
        ok = await open_link(net, net.order[0], True) or net.alive()
    if not ok:
        net.due = ticks_add(ticks_ms(), retry)   # nothing works: not again before net.retry_s


async def open_link(net, name, switch=False):
    """Bring a link up and make it the current one (switch: drop the current one first). False when it
    does not come up."""
    hw = net.hw
    p = net.p.net
    t = None
    try:
        if name == "wifi":
            w = hw.wlan
            w.active(True)
            if not w.isconnected():
                w.connect(p[1], p[2])
                t0 = ticks_ms()
                while not w.isconnected():
                    s = w.status()
                    if 200 <= s < 300 or ticks_diff(ticks_ms(), t0) > p[4] * 1000:  # STAT_NO_AP_FOUND...
                        raise OSError("no connection to %s (status %d)" % (p[1], s))
                    await sleep_ms(100)
            ppp = None
        else:
            ppp, bars, t = await __import__("wasl.net.gsm", None, None, ("attach",)).attach(
                hw, p[3], not net.synced)
    except Exception as e:     # ModemError (its reason is the error word), OSError: the link is not up
        log.warn("net", "%s: %s %s", name, getattr(e, "reason", ""), e)
        return False
    finally:
        unload(*_LOADED)
    if switch:
        await drop(net)
    net.cur = name
    net.ppp = ppp
    net.fails = 0
    if name == net.skip:
        net.skip = None
    if name == "wifi":
        r = w.status("rssi")
        net.bars = (r >= -85) + (r >= -75) + (r >= -65) + (r >= -55)
        if not net.synced and p[7]:
            try:
                t = await __import__("wasl.net.clock", None, None, ("ntp",)).ntp(p[7], p[8])
            except Exception as e:   # OSError, ValueError: the clock is left alone
                log.warn("net", "NTP: %s", e)
            unload("wasl.net.clock")
    else:
        net.bars = bars
    if t is not None:
        hw.clock.set(t)
        net.synced = True
        log.info("net", "clock set from %s: %d", name, t)
    log.info("net", "link %s up", name)
    hw.trace("link", name)
    return True


async def drop(net):
    """Leave the current link (GSM: stop PPP, +++, ATH)."""
    if net.cur == "gsm" and net.ppp is not None:
        try:
            await __import__("wasl.net.gsm", None, None, ("hang_up",)).hang_up(net.hw, net.ppp)
        finally:
            unload(*_LOADED)
    if net.cur is not None:
        net.hw.trace("link", "")
    net.cur = net.ppp = None
    net.bars = 0
