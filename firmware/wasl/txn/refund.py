# REFUND from the merchant menu (wasl.txn.merchant): the supervisor PIN, the original sale's RRN when
# the parameters ask for it, then a card transaction of type refund (wasl.txn.sale). Loaded when chosen.
from wasl.txn.gate import supervisor
from wasl.txn.sale import card_transaction
from wasl.ui.prompts import enter_digits
from wasl.ui.screen import CANCELLED, TIMED_OUT


async def refund(term):
    ui = term.ui
    p = term.params
    title = ui.t("refund")
    if not await supervisor(term, title):
        return {"outcome": "refused"}
    extra = None
    if p.refund_asks_rrn:
        rrn = await enter_digits(ui, title, ui.t("orig_rrn"), 12, 12, p.idle_timeout_s, allow_empty=True)
        if rrn in (CANCELLED, TIMED_OUT):
            return {"outcome": rrn}
        if rrn:
            extra = {"or": rrn}
    return await card_transaction(term, "refund", extra=extra)
