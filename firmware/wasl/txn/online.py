# Talking to the host for a transaction, with the journal in charge:
#   "sent" is journaled before a 0200 leaves (a reversal is armed), "rep" only for a reply that
#   passed validation; anything else leaves the reversal armed, and clear_reversal() sends the 0400
#   before any other message, until the host acknowledges it (00, 12 or 25).
# With DUKPT keys loaded (term.keys), every request carries its KSN (53) and a MAC (64), and a reply
# counts only if its MAC verifies (docs/host-interface.md); a PIN is enciphered into field 52 under the
# same transaction's PIN key. Each request takes the next KSN (term.keys: wasl.crypto.txnkeys.KeySupply).
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x

from wasl import log
from wasl.host import messages
from wasl.host.iso8583 import CodecError
from wasl.host.link import LinkError

REVERSAL_DONE = ("00", "12", "25")
_MAC = const(64)


def encode(term, mti, fields, pin=None, pan=None):
    """The request's bytes (a view on the codec's buffer) and its transaction keys (None without keys).
    pin: a bytearray of PIN digits, consumed (zeroed) here; pan: the PAN digits its block binds to.
    CodecError when the request cannot be made (no keys for a PIN, none left): nothing was sent."""
    keys = term.keys
    txk = None
    try:
        if keys is None:
            if pin is not None:
                raise CodecError("no keys for a PIN block")
            return term.codec.encode(mti, fields), None
        try:
            txk = keys.take()
        except Exception as e:       # none ready and none can be made now (KeyStoreError)
            raise CodecError("no transaction keys: %s" % e)
        fields[53] = txk.ksn
        if pin is not None:
            fields[52] = bytes(txk.pin_block(pin, pan))
            pin = None
        fields[_MAC] = bytes(8)
        raw = term.codec.encode(mti, fields)
        n = len(raw)
        txk.mac(raw[:n - 8], raw[n - 8:])      # over MTI .. the byte before field 64
        return raw, txk
    except BaseException:
        if txk is not None:
            txk.wipe()
        raise
    finally:
        if pin is not None:
            for i in range(len(pin)):
                pin[i] = 0


def decode(term, reply, txk):
    """(MTI, fields) of a reply; with keys, its MAC must verify (else CodecError: no valid reply)."""
    rmti, rep = term.codec.decode(reply)
    if txk is not None:
        mac = rep.get(_MAC)
        n = len(reply)
        if mac is None or not txk.verify_mac(reply[:n - 8], mac):
            raise CodecError("reply MAC missing or wrong")
    return rmti, rep


async def exchange(term, mti, fields, progress=None):
    """Send one request and return (reply MTI, reply fields) after validation.
    Raise LinkError or CodecError (undecodable / invalid reply)."""
    raw, txk = encode(term, mti, fields)
    try:
        reply = await term.link.exchange(raw, term.codec.buf, progress)
        rmti, rep = decode(term, reply, txk)
    finally:
        if txk is not None:
            txk.wipe()
    messages.validate_reply(mti, fields, rmti, rep)
    return rmti, rep


def keep_for_validation(fields):
    """Drop everything a reply is not checked against (and with it any card data)."""
    for f in (2, 14, 23, 35, 7, 12, 13, 22, 24, 25, 37, 38, 42, 48, 52, 53, 55, 60, 62, 64):
        fields.pop(f, None)


async def authorise(term, t, card, progress, pin=None, icc=None):
    """The 0200 of transaction t (journaled "new"). Return the reply fields, or raise LinkError /
    CodecError with the reversal armed. pin: PIN digits (consumed); icc: field 55 from the chip."""
    utc, _ = term.times()
    fields = messages.financial(term.params, t, utc, card, icc)
    raw, txk = encode(term, "0200", fields, pin, card.pan if card is not None else None)
    try:
        keep_for_validation(fields)
        term.batch.record({"e": "sent", "s": t["s"]})   # reversal armed before the request leaves
        reply = await term.link.exchange(raw, term.codec.buf, progress)
        rmti, rep = decode(term, reply, txk)
    finally:
        if txk is not None:
            txk.wipe()
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
