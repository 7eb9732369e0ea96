# GSM attach and hang-up for the link manager (wasl.net.Links): the AT driver (wasl.net.modem) up to
# CONNECT, the network time asked on the way, then the board's PPP hook. Loaded for an attach or a
# hang-up and dropped after, with the driver: only the PPP object stays (docs/modem.md, section 7).
from wasl import log
from wasl.net.modem import ATTACH, DATA, Modem, ModemError, rssi_bars, sleep_ms, ticks_diff, ticks_ms

_PPP_MS = 20000   # PPP up (LCP, authentication, IPCP) after CONNECT


def _modem(hw):
    return Modem(hw.modem_uart, ppp=hw.ppp, **(getattr(hw, "modem_opts", None) or {}))


async def attach(hw, apn, want_time):
    """Attach and dial. Return (PPP link, signal bars 0..4, network time in Unix seconds or None).
    Raises ModemError (its reason: the error word) or OSError (PPP did not come up)."""
    m = _modem(hw)
    m.steps = ATTACH[:-1]            # up to the PDP context
    await m.attach(apn)
    t = None
    if want_time:
        try:
            if await m.command("AT+CCLK?", "+CCLK:") == "OK" and m.lines:
                from wasl.net.clock import cclk_time

                t = cclk_time(m.lines[0])
        except (ModemError, ValueError) as e:   # no network time: the clock is left alone
            log.warn("net", "no time from the modem: %s", e)
    m.steps = ATTACH[-1:]            # the dial
    await m.attach(apn)
    link = m.link
    if link is not None and hasattr(link, "isconnected"):
        t0 = ticks_ms()
        while not link.isconnected():
            if ticks_diff(ticks_ms(), t0) > _PPP_MS:
                await _hang_up(m)
                raise OSError("PPP did not come up")
            await sleep_ms(100)
    log.info("net", "GSM attached, rssi %d, %s", m.rssi, "roaming" if m.roaming else "home")
    return link, rssi_bars(m.rssi), t


async def hang_up(hw, link):
    """Leave data mode: stop PPP, +++, ATH."""
    m = _modem(hw)
    m.state = DATA
    m.link = link
    await _hang_up(m)


async def _hang_up(m):
    try:
        await m.hang_up()
    except ModemError as e:
        log.warn("net", "modem hang-up: %s", e.reason)
