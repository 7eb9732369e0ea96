# REFUND from the merchant menu (wasl.txn.merchant): the supervisor PIN, the original sale's RRN when
# the parameters ask for it, then a card transaction of type refund (wasl.txn.sale). Loaded when chosen.
from wasl import unload


async def refund(term):
    extra, stop = await _ask(term)
    # what the questions needed leaves RAM before the card's turn
    unload("wasl.txn.gate", "wasl.ui.prompts")
    if stop:
        return stop
    return await __import__("wasl.txn.sale", None, None, ("card_transaction",)).card_transaction(
        term, "refund", extra=extra)


async def _ask(term):
    """The supervisor PIN, then the original RRN if asked: (what the transaction carries, None), or
    (None, the outcome that stops the refund)."""
    from wasl.txn.gate import supervisor
    from wasl.ui.prompts import enter_digits
    from wasl.ui.screen import CANCELLED, TIMED_OUT

    ui = term.ui
    p = term.params
    title = ui.t("refund")
    if not await supervisor(term, title):
        return None, {"outcome": "refused"}
    extra = None
    if p.refund_asks_rrn:
        rrn = await enter_digits(ui, title, ui.t("orig_rrn"), 12, 12, p.idle_timeout_s, allow_empty=True)
        if rrn in (CANCELLED, TIMED_OUT):
            return None, {"outcome": rrn}
        if rrn:
            extra = {"or": rrn}
    return extra, None
