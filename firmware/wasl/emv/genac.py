# GENERATE AC (EMV Book 3 6.5.5): the first one ends card action analysis (10.8), the second one
# completes an online transaction (10.11). The terminal asks for a cryptogram type in P1 (AAC 00,
# TC 40, ARQC 80) with the CDOL1 / CDOL2 data; the card answers with its Cryptogram Information Data
# (9F27), ATC (9F36), cryptogram (9F26) and issuer application data (9F10), format 1 or 2.
from wasl.emv import tlv
from wasl.emv.apdu import CardError, generate_ac, transmit
from wasl.emv.risk import ARQC

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

_RANK = const((0x00, 0x80, 0x40))   # AAC < ARQC < TC: the cryptogram types, lowest first


async def card_action_analysis(k, p1):
    """Book 3 10.8: first GENERATE AC with CDOL1 data, asking for p1 (AAC, TC or ARQC)."""
    k.ac_tvr = bytes(k.tvr)
    data = tlv.build_dol(k.icc[0x8C], k.get)
    rd, sw = await transmit(k.transport, generate_ac(p1, data))
    if sw != 0x9000:
        raise CardError("GENERATE AC %04X" % sw)
    cid = _cryptogram(k, rd, p1)
    k.tsi[0] |= 0x20            # card risk management was performed
    return cid


def _cryptogram(k, data, p1):
    """GENERATE AC response, format 1 (80: CID, ATC, AC, IAD) or 2 (77). The card may answer with
    a lower cryptogram than asked (AAC < ARQC < TC), never a higher one. Returns the CID."""
    icc = k.icc
    for t, vs, ve in tlv.items(data):
        break
    else:
        raise CardError("empty GENERATE AC response")
    if t == 0x80:
        if not 11 <= ve - vs <= 43:
            raise CardError("GENERATE AC format 1 of %d bytes" % (ve - vs))
        icc[0x9F27] = bytes(data[vs:vs + 1])
        icc[0x9F36] = bytes(data[vs + 1:vs + 3])
        icc[0x9F26] = bytes(data[vs + 3:vs + 11])
        if ve - vs > 11:
            icc[0x9F10] = bytes(data[vs + 11:ve])
    elif t == 0x77:
        for tag in (0x9F27, 0x9F36, 0x9F26):
            icc.pop(tag, None)
        k.keep(data, icc, False, vs, ve)
    else:
        raise CardError("GENERATE AC response template %X" % t)
    cid = icc.get(0x9F27)
    atc = icc.get(0x9F36)
    ac = icc.get(0x9F26)
    if cid is None or len(cid) != 1 or atc is None or len(atc) != 2 or ac is None or len(ac) != 8:
        raise CardError("GENERATE AC response without CID, ATC or cryptogram")
    kind = cid[0] & 0xC0
    if kind not in _RANK or _RANK.index(kind) > _RANK.index(p1 & 0xC0):
        raise CardError("cryptogram %02X for a request of %02X" % (cid[0], p1))
    return cid[0]


async def completion(k, p1):
    """Book 3 10.11: second GENERATE AC with CDOL2 data (TC or AAC). Returns the CID."""
    k.ac_tvr = bytes(k.tvr)
    data = tlv.build_dol(k.icc[0x8D], k.get)
    rd, sw = await transmit(k.transport, generate_ac(p1, data))
    if sw != 0x9000:
        raise CardError("second GENERATE AC %04X" % sw)
    cid = _cryptogram(k, rd, p1)
    if cid & 0xC0 == ARQC:
        raise CardError("ARQC in the second GENERATE AC")
    return cid
