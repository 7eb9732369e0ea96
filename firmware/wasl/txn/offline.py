# Store and forward, the approval (docs/journal.md, docs/host-interface.md "0220"): the terminal
# approves a small swiped sale itself (wasl.txn.sale.offline_ok), or takes a chip card's offline
# approval (TC at the first GENERATE AC, wasl.txn.chip), and owes the host an advice. The card
# data the advice needs is enciphered at once under the DUKPT data-encryption key of a KSN of its own,
# whose key is then wiped: the journal keeps only ciphertext the terminal itself can no longer read.
from binascii import b2a_base64, hexlify

from wasl import log
from wasl.crypto.util import wipe
from wasl.txn.batch import OFFLINE
from wasl.txn.sale import begin


def _b64(data):
    # base64, not hex: binary data in hex makes digit runs a PAN scan can mistake for card numbers
    return b2a_base64(data).decode().strip()


def approve(term, ty, amount, card, extra, icc=None):
    """Journal the sale ("new") and its offline approval ("off"); return its record, or None when no key
    set could be had (the sale then goes online). icc: a chip's field 55 (its TC among it)."""
    try:
        txk = term.keys.take()
    except Exception as e:      # KeyStoreError: none ready, none can be made now
        log.warn(ty, "no keys to store card data (%s): online", getattr(e, "reason", e))
        return None
    data = bytearray(card.track2.encode())
    data.extend(bytes(-len(data) % 16))     # zero padding to whole blocks (AES 16, TDES 8)
    try:
        ct = txk.encrypt_data(data)
        ksn = txk.ksn
    finally:
        txk.wipe()
        wipe(data)
    t = begin(term, ty, amount, card, extra)
    au = "%s%04d" % (OFFLINE, t["i"] % 10000)
    rec = {"e": "off", "s": t["s"], "au": au, "k": hexlify(ksn).decode(), "d": _b64(ct)}
    if icc is not None:
        rec["ic"] = _b64(icc)
    term.batch.record(rec)
    log.info(ty, "stan %06d approved offline, %d advice(s) pending", t["s"], len(term.batch.advices))
    return t
