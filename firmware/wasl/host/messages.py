# Request builders and reply validation for the Wasl host interface (docs/host-interface.md, sections 3-8).
from wasl.host.iso8583 import CodecError as ReplyError  # a reply that fails validation is a bad message
from wasl.host.spec import ENTRY_MODE, REPLY_MTI


def _two(n):
    return "%02d" % n


def datetime_fields(utc, local):
    """Fields 7, 12, 13 from two time tuples (year, month, mday, hour, minute, second, ...)."""
    return {
        7: _two(utc[1]) + _two(utc[2]) + _two(utc[3]) + _two(utc[4]) + _two(utc[5]),
        12: _two(local[3]) + _two(local[4]) + _two(local[5]),
        13: _two(local[1]) + _two(local[2]),
    }


def financial_request(params, proc_code, amount, card, stan, invoice, utc, local):
    """0200 fields for a card transaction. `card` is a wasl.card.track2.Card."""
    f = datetime_fields(utc, local)
    f[3] = proc_code
    f[4] = "%012d" % amount
    f[11] = "%06d" % stan
    f[22] = ENTRY_MODE[card.entry]
    f[24] = params.host_nii
    f[25] = "00"
    if card.entry == "manual":
        f[2] = card.pan
        f[14] = card.expiry
    else:
        f[35] = card.track2
    f[41] = params.terminal_id
    f[42] = params.merchant_id
    f[49] = params.currency_code
    f[62] = "%06d" % invoice
    return f


def validate_reply(req_mti, req, mti, rep):
    """Section 8 of the host interface. Raise ReplyError with the reason."""
    want = REPLY_MTI.get(req_mti)
    if mti != want:
        raise ReplyError("MTI %s, expected %s" % (mti, want))
    if rep.get(11) != req[11]:
        raise ReplyError("STAN mismatch")
    if rep.get(41) != req[41]:
        raise ReplyError("terminal ID mismatch")
    if 39 not in rep:
        raise ReplyError("no response code")
    for f in (3, 4, 49):
        if f in rep and rep[f] != req.get(f):
            raise ReplyError("field %d differs from the request" % f)
