# REPRINT from the merchant menu (wasl.txn.merchant): the last transaction's merchant copy, or the one of
# an invoice number of the open batch, printed as a duplicate (journal "prt" c "d"). Loaded when chosen.
from wasl.txn.batchops import find
from wasl.txn.receipt import tables, txn_receipt
from wasl.txn.receipt import print_copy, receipt_printer
from wasl.ui.prompts import choose, enter_digits
from wasl.ui.screen import CANCELLED, TIMED_OUT


async def reprint(term):
    ui = term.ui
    p = term.params
    title = ui.t("reprint")
    i = await choose(ui, title, [ui.t("reprint_last"), ui.t("reprint_invoice")], p.idle_timeout_s)
    if isinstance(i, str):
        return {"outcome": i}
    if i == 0:
        t = term.batch.current
    else:
        inv = await enter_digits(ui, title, ui.t("enter_invoice"), 1, 6, p.idle_timeout_s)
        if inv in (CANCELLED, TIMED_OUT):
            return {"outcome": inv}
        t = find(term.batch, int(inv))
    if t is None or "rc" not in t:
        await ui.message([title, ui.t("no_txn")], 5, "error", "no_txn")
        return {"outcome": "no_txn"}
    ui.state("printing")
    tr, ar = tables(ui, p)
    await print_copy(term, lambda: txn_receipt(p, tr, t, "d", ar=ar), None, receipt_printer(term, ar))
    term.batch.record({"e": "prt", "s": t["s"], "c": "d"})
    return {"outcome": "reprinted"}
