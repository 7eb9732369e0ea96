# Initiate application processing and read application data (EMV Book 3 10.1 and 10.2): the PDOL
# data go out in GET PROCESSING OPTIONS, the AIP (82) and AFL (94) come back; the AFL says which records
# to read; the records fill the card's data table (k.icc); the mandatory objects must then be there.
from wasl import log
from wasl.emv import tlv
from wasl.emv.apdu import CardError, get_processing_options, read_record, transmit

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

_MAX_RECORDS = const(40)    # READ RECORDs one AFL may ask for


async def initiate_application_processing(k):
    """Book 3 10.1: PDOL data -> GET PROCESSING OPTIONS -> AIP (82) and AFL (94), format 1 (80) or
    format 2 (77). False when the card says the conditions of use are not satisfied (6985)."""
    k.icc.clear()
    k.ac_tvr = bytes(k.tvr)   # a contactless card may compute its cryptogram over this TVR
    pdol = k.fci.get(0x9F38)
    data = tlv.build_dol(pdol, k.get) if pdol else b""
    rd, sw = await transmit(k.transport, get_processing_options(data))
    if sw == 0x6985:
        log.info("emv", "GPO 6985: next application")
        return False
    if sw != 0x9000:
        raise CardError("GET PROCESSING OPTIONS %04X" % sw)
    for t, vs, ve in tlv.items(rd):
        break
    else:
        raise CardError("empty GPO response")
    if t == 0x80:
        n = ve - vs
        if n < 2 or (n - 2) % 4:
            raise CardError("GPO format 1 of %d bytes" % n)
        k.icc[0x82] = bytes(rd[vs:vs + 2])
        if n > 2:
            k.icc[0x94] = bytes(rd[vs + 2:ve])
    elif t == 0x77:
        k.keep(rd, k.icc, not k.contactless, vs, ve)
    else:
        raise CardError("GPO response template %X" % t)
    aip = k.icc.get(0x82)
    if aip is None or len(aip) != 2:
        raise CardError("no AIP (82)")
    return True


async def read_application_data(k):
    """Book 3 10.2: READ RECORD for each AFL entry (SFI, first, last, records for ODA); records of
    SFI 1-10 must be one 70 template; then the mandatory data must be there."""
    afl = k.icc.get(0x94)
    if not afl and not k.contactless:
        raise CardError("no AFL (94)")
    afl = afl or b""
    if len(afl) % 4:
        raise CardError("AFL of %d bytes" % len(afl))
    count = 0
    strict = not k.contactless
    for i in range(0, len(afl), 4):
        sfi = afl[i] >> 3
        first = afl[i + 1]
        last = afl[i + 2]
        if not 1 <= sfi <= 30 or first == 0 or last < first or afl[i + 3] > last - first + 1:
            raise CardError("AFL entry %d" % (i // 4))
        for rec in range(first, last + 1):
            count += 1
            if count > _MAX_RECORDS:
                raise CardError("AFL asks for too many records")
            data, sw = await transmit(k.transport, read_record(sfi, rec))
            if sw != 0x9000:
                raise CardError("READ RECORD %d.%d: %04X" % (sfi, rec, sw))
            if sfi > 10 and (not data or data[0] != 0x70):
                continue        # proprietary record: only for ODA
            n = 0
            for t, vs, ve in tlv.items(data):
                n += 1
                if t != 0x70 or n > 1:
                    raise CardError("record %d.%d is not one 70 template" % (sfi, rec))
                k.keep(data, k.icc, strict, vs, ve)
            if n == 0:
                raise CardError("empty record %d.%d" % (sfi, rec))
    _mandatory(k)


def _track2_expiry(track2):
    """YYMM after the 'D' separator of a track 2 equivalent, as a YYMM31 date (nibbles read in place:
    no string of the card number is made)."""
    n = len(track2) * 2
    for i in range(n):
        if (track2[i >> 1] >> (0 if i & 1 else 4)) & 0x0F == 0x0D:
            if i + 4 >= n:
                break
            d = [(track2[j >> 1] >> (0 if j & 1 else 4)) & 0x0F for j in range(i + 1, i + 5)]
            return bytes(((d[0] << 4) | d[1], (d[2] << 4) | d[3], 0x31))
    raise CardError("track 2 equivalent without expiry")


def _mandatory(k):
    icc = k.icc
    if k.contactless:
        t2 = icc.get(0x57)
        if 0x5A not in icc and t2 is None:
            raise CardError("no PAN (5A) nor track 2 (57)", "card_read_error")
        if 0x5F24 not in icc and t2 is not None:
            icc[0x5F24] = _track2_expiry(t2)
        need = (0x5F24,) if 0x9F26 in icc else (0x5F24, 0x8C, 0x8D)
    else:
        need = (0x5F24, 0x5A, 0x8C, 0x8D)
    for t in need:
        if t not in icc:
            raise CardError("mandatory %X missing" % t)
