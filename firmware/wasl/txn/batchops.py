# What the merchant menu does with the batch beyond selling: read its transactions back from the
# journal (void, reprint, batch upload), take STANs for control messages, settle and compact.
# Loaded by the menu entries that use it (wasl.txn.void, .bill, .settle, .reprint, .echo).
from wasl.txn.batch import _WRAP, OFFLINE


def take_stan(batch):
    """A STAN for a message that is not a transaction; journaled so it is never reused."""
    stan = batch.stan % _WRAP + 1
    batch.record({"e": "ctl", "s": stan})
    return stan



def settle(batch):
    """Close the open batch, then compact: the journal keeps only the numbers to continue from."""
    from wasl.txn.journal_tools import rewrite

    batch.record({"e": "set", "b": batch.number})
    rewrite(batch.journal, [{"e": "base", "s": batch.stan, "i": batch.invoice, "b": batch.number}])



def transactions(batch):
    """Yield the open batch's transactions from the journal, in order: each its "new" record
    with the outcome merged in ("rc", "r", "au"; offline approvals also "k", "d", "ic" and the
    advice's answer "adv") and "voided" / "reversed" flags. Two passes over the file; only the STANs
    of voided and reversed transactions and the answers to advices are held in RAM."""
    start = 0
    voided = set()
    reversed_ = set()
    advised = {}
    cur = None
    for n, rec in enumerate(batch.journal.records()):        # pass 1: flags and batch start
        e = rec.get("e")
        if e == "set" or e == "base":
            start = n + 1
            voided = set()
            reversed_ = set()
            advised = {}
        elif e == "adv":
            advised[rec["s"]] = (rec["rc"], rec.get("r", ""))
        elif e == "new":
            cur = rec
        elif e == "rep" and cur and cur["s"] == rec["s"] and rec["rc"] == "00" and cur["ty"] == "void":
            voided.add(cur["o"])
        elif e == "rev":
            reversed_.add(rec["s"])
    cur = None
    for n, rec in enumerate(batch.journal.records()):        # pass 2: the transactions
        if n < start:
            continue
        e = rec.get("e")
        if e == "new":
            if cur is not None:
                yield cur
            cur = rec
            if rec["s"] in voided and rec["ty"] != "void":
                cur["voided"] = True
            if rec["s"] in reversed_:
                cur["reversed"] = True
        elif e == "rep" and cur is not None and cur["s"] == rec["s"]:
            cur["rc"] = rec["rc"]
            cur["r"] = rec.get("r", "")
            cur["au"] = rec.get("au", "")
        elif e == "off" and cur is not None and cur["s"] == rec["s"]:
            cur["rc"] = OFFLINE
            for k in ("au", "k", "d", "ic"):
                if k in rec:
                    cur[k] = rec[k]
            if rec["s"] in advised:
                cur["adv"], cur["r"] = advised[rec["s"]]
    if cur is not None:
        yield cur



def find(batch, invoice):
    """The open batch's original transaction (not a void) with this invoice number, or None."""
    for t in transactions(batch):
        if t["i"] == invoice and t["ty"] != "void":
            return t
    return None
