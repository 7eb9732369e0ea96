# Talking to the host for a transaction, with the journal in charge:
#   "sent" is journaled before a 0200 leaves (a reversal is armed), "rep" only for a reply that
#   passed validation; anything else leaves the reversal armed, and clear_reversal() sends the 0400
#   before any other message, until the host acknowledges it (00, 12 or 25).
from wasl import log
from wasl.host import messages
from wasl.host.iso8583 import CodecError
from wasl.host.link import LinkError

REVERSAL_DONE = ("00", "12", "25")


async def exchange(term, mti, fields, progress=None):
    """Send one request and return (reply MTI, reply fields) after validation.
    Raise LinkError or CodecError (undecodable / invalid reply)."""
    raw = term.codec.encode(mti, fields)
    reply = await term.link.exchange(raw, term.codec.buf, progress)
    rmti, rep = term.codec.decode(reply)
    messages.validate_reply(mti, fields, rmti, rep)
    return rmti, rep


def keep_for_validation(fields):
    """Drop everything a reply is not checked against (and with it any card data)."""
    for f in (2, 14, 35, 7, 12, 13, 22, 24, 25, 37, 38, 42, 48, 60, 62):
        fields.pop(f, None)


async def authorise(term, t, card, progress):
    """The 0200 of transaction t (journaled "new"). Return the reply fields, or raise LinkError /
    CodecError with the reversal armed."""
    utc, _ = term.times()
    fields = messages.financial(term.params, t, utc, card)
    raw = term.codec.encode("0200", fields)
    keep_for_validation(fields)
    term.batch.record({"e": "sent", "s": t["s"]})   # reversal armed before the request leaves
    reply = await term.link.exchange(raw, term.codec.buf, progress)
    rmti, rep = term.codec.decode(reply)
    messages.validate_reply("0200", fields, rmti, rep)
    term.batch.record({"e": "rep", "s": t["s"], "rc": rep[39], "r": (rep.get(37) or "").strip(),
                       "au": (rep.get(38) or "").strip()})
    return rep


async def clear_reversal(term, progress=None):
    """Send the pending reversal, if any. Return True when none is left pending."""
    t = term.batch.pending
    if t is None:
        return True
    utc, _ = term.times()
    fields = messages.reversal(term.params, t, utc)
    try:
        _, rep = await exchange(term, "0400", fields, progress)
    except (LinkError, CodecError) as e:
        log.warn("reversal", "stan %06d not acknowledged: %s", t["s"], getattr(e, "reason", e))
        return False
    rc = rep[39]
    if rc not in REVERSAL_DONE:
        log.warn("reversal", "stan %06d refused with %s", t["s"], rc)
        return False
    term.batch.record({"e": "rev", "s": t["s"], "rc": rc})
    log.info("reversal", "stan %06d reversed (%s)", t["s"], rc)
    return True
