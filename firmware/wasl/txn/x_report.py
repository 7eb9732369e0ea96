# X REPORT from the merchant menu (wasl.txn.merchant): the open batch's totals so far, printed
# (wasl.txn.report). Loaded when chosen.
from wasl.host.messages import stamp
from wasl.txn.receipt import tables
from wasl.txn.report import totals_report
from wasl.txn.receipt import print_copy, receipt_printer


async def x_report(term):
    _, local = term.times()
    term.ui.state("printing")
    tr, ar = tables(term.ui, term.params)
    await print_copy(term, lambda: totals_report(term.params, tr, term.batch, stamp(local), False, ar=ar), None,
                     receipt_printer(term, ar))
    return {"outcome": "printed"}
