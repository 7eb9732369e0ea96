# What the issuer sends back in the authorisation response (EMV Book 3 10.9 and 10.10): the
# authorisation response code (8A, from field 39), the issuer authentication data (91: the ARPC) and
# issuer scripts (71 before, 72 after the final GENERATE AC; each holds an optional script identifier
# 9F18 and commands 86), the last two in field 55.
from wasl.emv import tlv
from wasl.emv.apdu import external_authenticate, transmit

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

_MAX_SCRIPTS = const(8)


def _in_cdol2(k, tag):
    for t, _ in tlv.dol_items(k.icc[0x8D]):
        if t == tag:
            return True
    return False


def online_processing(k, rc, issuer_data):
    """Book 3 10.9: keep what the issuer sent: the authorisation response code (8A), the ARPC (91)
    and the issuer data holding the scripts."""
    t = k.term
    t.pop(0x91, None)
    k.issuer_data = None
    if rc is not None:
        t[0x8A] = rc.encode()[:2]
    if not issuer_data:
        return
    try:
        tlv.check(issuer_data)
        arpc = []
        for tag, vs, ve in tlv.items(issuer_data):
            if tag == 0x91:
                arpc.append(bytes(issuer_data[vs:ve]))
    except tlv.TlvError:
        k.tvr[4] |= 0x40 if k.icc[0x82][0] & 0x04 else 0
        return
    k.issuer_data = issuer_data
    if len(arpc) == 1:
        t[0x91] = arpc[0]
    elif arpc:
        k.tvr[4] |= 0x40            # more than one ARPC: issuer authentication failed


async def issuer_authentication(k):
    """10.9: with an ARPC (91) in the reply, the card checks it -- in the second GENERATE AC when its
    CDOL2 asks for 91, else by EXTERNAL AUTHENTICATE when the AIP says it supports it."""
    arpc = k.term.get(0x91)
    if arpc is None:
        return
    if _in_cdol2(k, 0x91):
        k.tsi[0] |= 0x10            # issuer authentication was performed (by the card, in GENERATE AC)
        return
    if not k.icc[0x82][0] & 0x04:
        return                      # the card does not do issuer authentication
    k.tsi[0] |= 0x10
    if not 8 <= len(arpc) <= 16:
        k.tvr[4] |= 0x40            # issuer authentication failed
        return
    _, sw = await transmit(k.transport, external_authenticate(arpc))
    if sw != 0x9000:
        k.tvr[4] |= 0x40


async def _script(k, data, vs, ve, after):
    """Run one script template; append its 5-byte result to k.scripts (9F5B)."""
    sid = b"\x00\x00\x00\x00"
    cmds = []
    ok = True
    try:
        for t, s, e in tlv.items(data, vs, ve):
            if t == 0x9F18 and e - s == 4:
                sid = bytes(data[s:e])
            elif t == 0x86:
                cmds.append((s, e))
    except tlv.TlvError:
        ok = False
    seq = 0
    if ok:
        k.tsi[0] |= 0x04            # script processing was performed
        for s, e in cmds:
            seq += 1
            if e - s < 4:
                ok = False
                break
            _, sw = await transmit(k.transport, bytes(data[s:e]))
            if sw >> 8 not in (0x90, 0x62, 0x63):
                ok = False
                break
    if ok:
        res = 0x20                  # performed successfully
    else:
        k.tvr[4] |= 0x10 if after else 0x20
        res = 0x10 | min(seq, 15)   # failed, at command number seq (0: not known)
    k.scripts.append(res)
    k.scripts.extend(sid)


async def issuer_script_processing(k, tag):
    """10.10: the 71 (tag=0x71) or 72 templates of the issuer data, in the order received."""
    data = k.issuer_data
    if not data:
        return
    found = []
    for t, vs, ve in tlv.items(data):
        if t == tag and len(found) < 2 * _MAX_SCRIPTS:
            found.append(vs)
            found.append(ve)
    for i in range(0, len(found), 2):
        await _script(k, data, found[i], found[i + 1], tag == 0x72)
