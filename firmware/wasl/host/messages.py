# Request builders and reply validation for the Wasl host interface (docs/host-interface.md).
# Requests are built from the transaction's journal record ("new", see wasl/txn/batch.py), which holds
# everything but card data: so a reversal or a batch upload can be rebuilt after a reboot.
from binascii import a2b_base64, unhexlify

from wasl.host.iso8583 import CodecError as ReplyError  # a reply that fails validation is a bad message

# Processing codes (field 3), docs/host-interface.md section 5.
PROC = {
    "sale": "000000",
    "void": "020000",
    "refund": "200000",
    "bill": "500000",
    "inquiry": "380000",
    "settle": "920000",
    "settle_final": "960000",
    "echo": "990000",
}

# POS entry mode (field 22): card input -> value. Position 3 '1' = terminal accepts online PIN.
ENTRY_MODE = {"manual": "011", "swipe": "021", "chip": "051", "tap": "071", "fallback": "801"}

# Response codes (field 39). The words for each code are in the language tables under "rc_<code>"
# (docs/host-interface.md, section 7); a code without words is shown as "rc_refused"
# (wasl.ui.strings.text_key).
APPROVED = "00"


def _two(n):
    return "%02d" % n


def transmission_time(utc):
    """Field 7, MMDDhhmmss, from a UTC time tuple."""
    return _two(utc[1]) + _two(utc[2]) + _two(utc[3]) + _two(utc[4]) + _two(utc[5])


def stamp(local):
    """A local time tuple as the journal keeps it: YYYYMMDDhhmmss."""
    return "%04d%02d%02d%02d%02d%02d" % (local[0], local[1], local[2], local[3], local[4], local[5])


def _base(params, stan, utc):
    return {7: transmission_time(utc), 11: "%06d" % stan, 24: params.host_nii, 41: params.terminal_id}


def _txn(params, t, utc):
    """Fields every message about transaction t carries (0100, 0200, 0320, 0400)."""
    f = _base(params, t["s"], utc)
    f[3] = PROC[t["ty"]]
    f[4] = "%012d" % t["a"]
    f[12] = t["t"][8:14]
    f[13] = t["t"][4:8]
    f[22] = ENTRY_MODE[t["m"]]
    f[42] = params.merchant_id
    f[49] = params.currency_code
    f[60] = "%06d" % t["b"]
    f[62] = "%06d" % t["i"]
    if "bill" in t:
        f[48] = t["bill"]
    return f


def financial(params, t, utc, card=None, icc=None):
    """0200 for a sale, void, refund or bill payment. `card` (wasl.card.Card) for card-present; `icc`:
    the chip's field 55."""
    f = _txn(params, t, utc)
    f[25] = "00"
    if "sq" in t:          # chip: the card sequence number (5F34)
        f[23] = t["sq"]
    if card is not None:
        if card.entry == "manual":
            f[2] = card.pan
            f[14] = card.expiry
        else:
            f[35] = card.track2
    if icc is not None:
        f[55] = icc
    if "or" in t:          # void: the original's RRN and auth code; refund: the original's RRN
        f[37] = t["or"]
    if "oa" in t:
        f[38] = t["oa"]
    return f


def stored_card(t, f):
    """An offline approval's stored card data (61) and chip data (55), as journaled ("k" hex, "d" and
    "ic" base64)."""
    k = unhexlify(t["k"])
    f[61] = bytes([len(k)]) + k + a2b_base64(t["d"])
    if "ic" in t:
        f[55] = a2b_base64(t["ic"])


def advice(params, t, utc):
    """0220 for a sale the terminal approved offline (store and forward): its own STAN and times, the
    offline approval code and Y1, the card data it enciphered then."""
    f = _txn(params, t, utc)
    f[25] = "00"
    if "sq" in t:
        f[23] = t["sq"]
    f[38] = t["au"]
    f[39] = t["rc"]
    stored_card(t, f)
    return f


def reversal(params, t, utc):
    """0400 for transaction t: its own fields, no card data; 37 only if its reply came."""
    f = _txn(params, t, utc)
    f[25] = "00"
    if "sq" in t:
        f[23] = t["sq"]
    if t.get("r"):
        f[37] = t["r"]
    return f


def validate_reply(req_mti, req, mti, rep):
    """Section 8 of the host interface. Raise ReplyError with the reason."""
    want = "%04d" % (int(req_mti) + 10)
    if mti != want:
        raise ReplyError("MTI %s, expected %s" % (mti, want))
    if rep.get(11) != req[11]:
        raise ReplyError("STAN mismatch")
    if rep.get(41) != req[41]:
        raise ReplyError("terminal ID mismatch")
    if 39 not in rep:
        raise ReplyError("no response code")
    if mti == "0110" and rep[39] == APPROVED and 4 not in rep:
        raise ReplyError("bill inquiry approved without the amount due")
    for f in (3, 4, 49):
        if f == 4 and req_mti == "0100":
            continue
        if f in rep and f in req and rep[f] != req[f]:
            raise ReplyError("field %d differs from the request" % f)
