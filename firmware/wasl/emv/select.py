# Application selection (EMV Book 1 section 12; contactless: Book B, PPSE).
#
# build_candidate_list(): the Payment System Environment directory (PSE, 1PAY.SYS.DDF01) when the
# terminal uses it, else -- or when it gives nothing -- the list of AIDs (SELECT each terminal AID,
# then "next occurrence" for partial names). Contactless: the PPSE (2PAY.SYS.DDF01) FCI lists the
# applications. select_application(): order by priority indicator (87), let the cardholder choose when
# several match (or one asks for confirmation) through the caller's async callback, then the final
# SELECT; an application that fails it (or later GET PROCESSING OPTIONS with 6985) leaves the list and
# the choice starts again.
from wasl.emv import tlv
from wasl.emv.apdu import Cancelled, CardError, NotAccepted, read_record, select, transmit

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

_PSE = const(b"1PAY.SYS.DDF01")
_PPSE = const(b"2PAY.SYS.DDF01")


class Candidate:
    __slots__ = ("adf", "label", "api", "aid", "entry")

    def __init__(self, adf, label, api, match):
        self.adf = adf          # ADF name (bytes)
        self.label = label      # what the cardholder sees
        self.api = api          # application priority indicator (87), 0 when absent
        self.aid, self.entry = match    # the terminal AID (bytes) and its params "aids" item


def _text(mv):
    return "".join(chr(c) if 32 <= c < 127 else "?" for c in mv)


def _hex(b):
    from binascii import hexlify
    return hexlify(b).decode().upper()


def match(k, adf):
    """(terminal AID, its entry) that this ADF name matches (exact, or partial when the entry allows
    it), or None."""
    for m in k.aids:
        aid, e = m
        if adf == aid or (e.get("partial", True) and len(adf) > len(aid) and adf[:len(aid)] == aid):
            if k.contactless and not e.get("contactless", True):
                continue
            return m
    return None


def _entry(k, b, vs, ve, cands):
    """One directory entry (61 template: 4F, 50, 9F12, 87) -> a candidate when it matches."""
    adf = label = None
    api = 0
    for t, s, e in tlv.items(b, vs, ve):
        if t == 0x4F:
            adf = bytes(b[s:e])
        elif t == 0x50:
            label = _text(b[s:e])
        elif t == 0x9F12 and label is None:
            label = _text(b[s:e])
        elif t == 0x87 and e - s == 1:
            api = b[s]
    if adf is None or not 5 <= len(adf) <= 16:
        return
    m = match(k, adf)
    if m is not None:
        cands.append(Candidate(adf, label or _hex(adf), api, m))


async def _from_pse(k, cands):
    """Book 1 12.3.2: read the PSE directory. False when the list of AIDs must be used instead."""
    data, sw = await transmit(k.transport, select(_PSE))
    if sw == 0x6A81:
        raise NotAccepted("card blocked", "card_blocked")
    if sw != 0x9000:
        return False                # 6A82 no PSE, 6283 PSE blocked...: list of AIDs
    try:
        pos = tlv.find(data, 0x88)
        if pos is None or pos[1] - pos[0] != 1:
            return False
        sfi = data[pos[0]]
        if not 1 <= sfi <= 30:
            return False
        for rec in range(1, 32):
            data, sw = await transmit(k.transport, read_record(sfi, rec))
            if sw == 0x6A83:
                break               # no more records
            if sw != 0x9000:
                del cands[:]
                return False
            for t, vs, ve in tlv.items(data):
                if t != 0x70:
                    raise tlv.TlvError("directory record is not a 70 template")
                for t2, s2, e2 in tlv.items(data, vs, ve):
                    if t2 == 0x61:
                        _entry(k, data, s2, e2, cands)
    except tlv.TlvError:
        del cands[:]                # a damaged directory: fall back to the list of AIDs
        return False
    return True


async def _from_aids(k, cands):
    """Book 1 12.3.3: SELECT each terminal AID; partial names continue with SELECT next."""
    first = True
    for m in k.aids:
        aid, e = m
        if k.contactless and not e.get("contactless", True):
            continue
        following = False
        for _ in range(8):          # occurrences of one AID prefix
            data, sw = await transmit(k.transport, select(aid, following))
            if sw == 0x6A81 and first:
                raise NotAccepted("card blocked", "card_blocked")
            first = False
            if sw != 0x9000 and sw != 0x6283:
                break
            pos = tlv.find(data, 0x84)
            if pos is None:
                if sw == 0x6283:
                    break
                raise CardError("FCI without DF name")
            df = bytes(data[pos[0]:pos[1]])
            if df == aid:
                if sw == 0x9000:
                    _fci_candidate(data, df, m, cands)
                break
            if not (e.get("partial", True) and len(df) > len(aid) and df[:len(aid)] == aid):
                break
            if sw == 0x9000:        # 6283: this application is blocked, look for the next one
                _fci_candidate(data, df, m, cands)
            following = True


def _fci_candidate(data, adf, m, cands):
    label = None
    api = 0
    pos = tlv.find(data, 0x50)
    if pos:
        label = _text(data[pos[0]:pos[1]])
    else:
        pos = tlv.find(data, 0x9F12)
        if pos:
            label = _text(data[pos[0]:pos[1]])
    pos = tlv.find(data, 0x87)
    if pos and pos[1] - pos[0] == 1:
        api = data[pos[0]]
    cands.append(Candidate(adf, label or _hex(adf), api, m))


async def _from_ppse(k, cands):
    """Book B 3.3: the PPSE FCI lists the applications in its FCI issuer discretionary data."""
    data, sw = await transmit(k.transport, select(_PPSE))
    if sw != 0x9000:
        raise NotAccepted("no PPSE (%04X)" % sw)
    pos = tlv.find(data, 0xBF0C)
    if pos is None:
        raise NotAccepted("PPSE lists no application")
    for t, vs, ve in tlv.items(data, pos[0], pos[1]):
        if t == 0x61:
            _entry(k, data, vs, ve, cands)


async def build_candidate_list(k):
    cands = []
    if k.contactless:
        await _from_ppse(k, cands)
    else:
        if k.params.get("pse", True):
            await _from_pse(k, cands)
        if not cands:
            await _from_aids(k, cands)
    if not cands:
        raise NotAccepted("no common application")
    # stable sort on the priority indicator (Book 1 12.4 step 4): 1 is the highest, none comes last
    cands.sort(key=lambda c: c.api & 0x0F or 16)
    return cands


async def select_application(k, cands):
    """Book 1 12.4: choose among the candidates and SELECT the chosen one; store its FCI in k.fci.
    Returns the candidate. Raises NotAccepted when none is left, Cancelled when the cardholder
    cancels the choice."""
    while cands:
        i = 0
        choose = None if k.contactless or not k.params.get("cardholder_choice", True) else k.choose
        if choose is not None and (len(cands) > 1 or cands[0].api & 0x80):
            i = await choose([c.label for c in cands])
            if i is None:
                raise Cancelled()
            if not isinstance(i, int) or not 0 <= i < len(cands):
                raise ValueError("choose() returned %r" % (i,))
        else:
            # no cardholder confirmation: applications that require it are left out (Book 1 12.4)
            while i < len(cands) and cands[i].api & 0x80 and not k.contactless:
                i += 1
            if i == len(cands):
                raise NotAccepted("every application needs cardholder confirmation")
        c = cands.pop(i)
        data, sw = await transmit(k.transport, select(c.adf))
        if sw != 0x9000:
            continue                # "try again" with what is left
        k.fci.clear()
        pos = tlv.find(data, 0x84)
        if pos is None or bytes(data[pos[0]:pos[1]]) != c.adf:
            continue
        k.keep(data, k.fci)
        lang = k.fci.get(0x5F2D)      # language preference: the cardholder's prompts (PIN) use it
        k.result.lang = "".join(chr(ch) for ch in lang if 97 <= ch <= 122) if lang else ""
        return c
    raise NotAccepted("no application left")
