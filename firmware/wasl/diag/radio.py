# Self-tests of the radios a board may have: Wi-Fi (hw.wlan: a network.WLAN station) and the GSM modem
# (hw.modem: wasl.net.modem.Modem). A board without one says "absent".
from wasl.diag import FAIL, PASS, SKIPPED


async def wifi(ctx):
    w = getattr(ctx.hw, "wlan", None)
    if w is None:
        return SKIPPED, "absent"
    if not w.active():
        w.active(True)
    nets = w.scan()          # (ssid, bssid, channel, RSSI, security, hidden)
    facts = {"networks": len(nets), "best_rssi": max([n[3] for n in nets]) if nets else None,
             "connected": bool(w.isconnected())}
    if facts["connected"]:
        try:
            facts["ssid"] = w.config("ssid")
            facts["rssi"] = w.status("rssi")
        except (ValueError, OSError, TypeError):
            pass
    if not nets and not facts["connected"]:
        return FAIL, "no network in range", facts
    detail = "%d networks, best %s dBm" % (facts["networks"], facts["best_rssi"])
    if facts["connected"]:
        detail += "; connected to %s (%s dBm)" % (facts.get("ssid"), facts.get("rssi"))
    return PASS, detail, facts


async def modem(ctx):
    m = getattr(ctx.hw, "modem", None)
    if m is None:
        return SKIPPED, "absent"
    from wasl.net.modem import DATA, ModemError, _cme_word, _reg_stat, _value, rssi_dbm

    facts = {"state": m.state}
    if m.state == DATA:         # the UART belongs to PPP: what the modem said last
        facts.update({"sim": m.sim, "rssi": m.rssi, "creg": m.creg})
        return PASS, "data call up (last signal %s dBm)" % rssi_dbm(m.rssi), facts
    try:
        rc = await m.command("AT+CPIN?", "+CPIN:")
        sim = _value(m.lines[0]) if rc == "OK" and m.lines else _cme_word(rc)
        facts["sim"] = sim
        rssi = await m.signal()
        facts["rssi"] = rssi
        rc = await m.command("AT+CREG?", "+CREG:")
        stat = _reg_stat(m.lines[0]) if rc == "OK" and m.lines else -1
        facts["creg"] = stat
    except ModemError as e:
        return FAIL, "modem: %s" % e.reason, facts
    dbm = rssi_dbm(rssi)
    if sim != "READY":
        return FAIL, "SIM: %s" % sim, facts
    if stat not in (1, 5):
        return FAIL, "not registered (CREG %d), signal %s dBm" % (stat, dbm), facts
    return PASS, "SIM ready, registered%s, signal %s dBm" % (" (roaming)" if stat == 5 else "", dbm), facts
