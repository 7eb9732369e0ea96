# The terminal's checks that feed the TVR and its decision (EMV Book 3):
#   10.4 processing restrictions    application version, usage control (AUC), effective/expiry dates
#   10.6 terminal risk management   floor limit, random transaction selection, velocity checking
#   10.7 terminal action analysis   TVR against IAC/TAC denial, online, default -> AAC / ARQC / TC
from wasl.emv import tlv
from wasl.emv.apdu import CardError, get_data, transmit

AAC = 0x00
TC = 0x40
ARQC = 0x80


def _date(b):
    """YYMMDD (n6, BCD) as YYYYMMDD; years 00-49 are 20xx, 50-99 19xx (Book 3 5.? dates)."""
    if len(b) != 3:
        raise CardError("date of %d bytes" % len(b))
    n = 0
    for c in b:
        hi = c >> 4
        lo = c & 0x0F
        if hi > 9 or lo > 9:
            raise CardError("date is not BCD")
        n = n * 100 + hi * 10 + lo
    yy = n // 10000
    return n + (20000000 if yy < 50 else 19000000)


def processing_restrictions(k):
    tvr = k.tvr
    icc = k.icc
    # 10.4.1 application version number: card's (9F08) against the terminal's (9F09)
    v = icc.get(0x9F08)
    tv = k.term.get(0x9F09)
    if v is not None and tv is not None and bytes(v) != tv:
        tvr[1] |= 0x80
    # 10.4.2 application usage control
    auc = icc.get(0x9F07)
    if auc is not None and len(auc) == 2:
        ok = auc[0] & 0x01          # valid at terminals other than ATMs (this is never an ATM)
        ic = icc.get(0x5F28)
        if ok and ic is not None:
            dom = bytes(ic) == k.term[0x9F1A]
            tt = k.txn_type
            if tt == 0x01:          # cash
                ok = auc[0] & (0x80 if dom else 0x40)
            elif tt == 0x09:        # purchase with cashback
                ok = auc[1] & (0x80 if dom else 0x40)
            elif tt == 0x00:        # goods or services
                if k.services:
                    ok = auc[0] & (0x08 if dom else 0x04)
                else:
                    ok = auc[0] & (0x20 if dom else 0x10)
        if not ok:
            tvr[1] |= 0x10          # requested service not allowed for card product
    # 10.4.3 dates
    eff = icc.get(0x5F25)
    if eff is not None and _date(eff) > k.today:
        tvr[1] |= 0x20              # application not yet effective
    if _date(icc[0x5F24]) < k.today:
        tvr[1] |= 0x40              # expired application


async def _get_counter(k, tag):
    data, sw = await transmit(k.transport, get_data(tag))
    if sw != 0x9000:
        return None
    pos = tlv.find(data, tag)
    if pos is None or pos[1] - pos[0] != 2:
        return None
    v = bytes(data[pos[0]:pos[1]])
    k.icc[tag] = v
    return int.from_bytes(v, "big")


async def terminal_risk_management(k):
    """10.6, when the AIP asks for it (or params "trm_always")."""
    if not (k.icc[0x82][0] & 0x08 or k.params.get("trm_always", False)):
        return
    tvr = k.tvr
    k.tsi[0] |= 0x08                # terminal risk management was performed
    e = k.entry
    a = k.amount
    floor = k.floor_limit
    # 10.6.1 floor limit (no transaction log: the amount alone)
    if a >= floor:
        tvr[3] |= 0x80
    else:
        # 10.6.2 random transaction selection, below the floor limit only
        target = e.get("target_percent", 0)
        top = e.get("max_target_percent", 0)
        thr = e.get("threshold", 0)
        if target or top:
            r = k.rng(1)[0] % 99 + 1
            if a < thr:
                pct = target
            else:                   # interpolated between threshold and floor limit
                pct = target + (top - target) * (a - thr) // max(1, floor - thr)
            if r <= pct:
                tvr[3] |= 0x10
    # 10.6.3 velocity checking, when the card gives both limits
    lo = k.icc.get(0x9F14)
    hi = k.icc.get(0x9F23)
    if lo is not None and hi is not None and len(lo) == 1 and len(hi) == 1:
        atc = await _get_counter(k, 0x9F36)
        last = await _get_counter(k, 0x9F13)
        if atc is None or last is None or atc <= last:
            tvr[3] |= 0x60          # both consecutive offline limits exceeded
        else:
            if atc - last > lo[0]:
                tvr[3] |= 0x40
            if atc - last > hi[0]:
                tvr[3] |= 0x20
        if last == 0:
            tvr[1] |= 0x08          # new card


def _hits(k, tag, key, default):
    """Does the TVR share a bit with (TAC | IAC)? key: the TAC's name in params; an IAC the card lacks
    counts as `default` bytes."""
    iac = k.icc.get(tag)
    if iac is not None and len(iac) != 5:
        iac = None
    tac = k.hexparam(k.entry, key, bytes(5))
    tvr = k.tvr
    for i in range(5):
        c = (iac[i] if iac is not None else default) | (tac[i] if i < len(tac) else 0)
        if tvr[i] & c:
            return True
    return False


def terminal_action_analysis(k, unable_online=False):
    """10.7: the cryptogram to ask for in GENERATE AC (AAC, ARQC or TC)."""
    if not unable_online and _hits(k, 0x9F0E, "tac_denial", 0x00):
        return AAC
    if not unable_online and k.online_capable():
        return ARQC if _hits(k, 0x9F0F, "tac_online", 0xFF) else TC
    return AAC if _hits(k, 0x9F0D, "tac_default", 0xFF) else TC
