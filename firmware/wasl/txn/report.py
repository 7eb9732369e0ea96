# X and Z reports (batch totals), printed from the merchant menu; loaded with it. The layout is data,
# read like a receipt's (wasl.txn.receipt: the format, the header, the interpreter).
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x

from wasl.txn.receipt import HEADER, _header_value, _money, _print, render

# The X report (totals so far) and the Z report (the batch just settled), after the header.
REPORT = const("""|c|B|@report|
|l||r_batch|=batch
|l|||
|l|b|r_debits|=debit_count
|r||=debit_amount|
|l|b|r_credits|=credit_count
|r||=credit_amount|
|l|||
|l|B|r_net|=none
|r|b|=net|
advices|l|||
advices|l|b|advices_pending|=advice_count
advices|r||=advice_amount|
final|c||r_batch_closed|""")


def totals_report(p, tr, batch, stamp, final, cols=32, ar=None):
    """X report (final=False: totals so far) or Z report (final=True: the batch just settled);
    bilingual like a receipt with `ar`."""

    def value(w, item):
        if w == "@report":
            return "r_z_report" if final else "r_x_report"
        if w == "=batch":
            return "%06d" % batch.number
        if w == "=debit_count":
            return "%d" % batch.debit_count
        if w == "=debit_amount":
            return _money(p, batch.debit_amount)
        if w == "=credit_count":
            return "%d" % batch.credit_count
        if w == "=credit_amount":
            return ("-" if batch.credit_amount else "") + _money(p, batch.credit_amount)
        if w == "=net":
            return _money(p, batch.debit_amount - batch.credit_amount)
        if w == "=advice_count":
            return "%d" % len(batch.advices)
        if w == "=advice_amount":
            return _money(p, batch.offline_amount())
        return _header_value(p, stamp, w, item)

    def when(c):
        if c == "advices":
            return bool(batch.advices)     # offline approvals the host has not been told of yet
        if c == "final":
            return final
        raise ValueError("report layout: unknown condition " + c)

    yield from _print(render(HEADER, tr, value, when, cols), ar)
    yield from _print(render(REPORT, tr, value, when, cols), ar)
