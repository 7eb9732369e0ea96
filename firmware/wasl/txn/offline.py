# Store and forward, the approval (docs/journal.md, docs/host-interface.md "0220"): the terminal
# approves a small swiped sale itself (wasl.txn.sale.offline_ok), and owes the host an advice. The card
# data the advice needs is enciphered at once under the DUKPT data-encryption key of a KSN of its own,
# whose key is then wiped: the journal keeps only ciphertext the terminal itself can no longer read.
from binascii import hexlify

from wasl import log
from wasl.crypto.util import wipe
from wasl.txn.batch import OFFLINE
from wasl.txn.sale import begin


def approve(term, ty, amount, card, extra):
    """Journal the sale ("new") and its offline approval ("off"); return its record, or None when no key
    set could be had (the sale then goes online)."""
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
    term.batch.record({"e": "off", "s": t["s"], "au": au, "k": hexlify(ksn).decode(), "d": hexlify(ct).decode()})
    log.info(ty, "stan %06d approved offline, %d advice(s) pending", t["s"], len(term.batch.advices))
    return t
