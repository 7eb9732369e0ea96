# X and Z reports (batch totals), printed from the merchant menu; loaded with it.
from wasl.txn.receipt import _header, _lr, _money


def totals_report(p, tr, batch, stamp, final, cols=32):
    """X report (final=False: totals so far) or Z report (final=True: the batch just settled)."""
    for line in _header(p, tr, stamp, cols):
        yield line[:3]
    yield ("c", "B", tr["r_z_report"] if final else tr["r_x_report"])
    yield ("l", "", _lr(tr["r_batch"], "%06d" % batch.number, cols))
    yield ("l", "", "")
    yield ("l", "b", _lr(tr["r_debits"], "%d" % batch.debit_count, cols))
    yield ("r", "", _money(p, batch.debit_amount))
    yield ("l", "b", _lr(tr["r_credits"], "%d" % batch.credit_count, cols))
    yield ("r", "", ("-" if batch.credit_amount else "") + _money(p, batch.credit_amount))
    yield ("l", "", "")
    yield ("l", "B", _lr(tr["r_net"], "", cols // 2))
    yield ("r", "b", _money(p, batch.debit_amount - batch.credit_amount))
    if batch.advices:           # offline approvals the host has not been told of yet
        yield ("l", "", "")
        yield ("l", "b", _lr(tr["advices_pending"], "%d" % len(batch.advices), cols))
        yield ("r", "", _money(p, batch.offline_amount()))
    if final:
        yield ("c", "", tr["r_batch_closed"])
