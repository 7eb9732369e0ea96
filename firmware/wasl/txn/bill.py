# BILL PAYMENT from the merchant menu (wasl.txn.merchant): biller and reference, the amount due asked
# of the host (0100), confirmed, then a card transaction of type bill (wasl.txn.sale). Loaded when
# chosen.
from wasl import unload


async def bill(term):
    due, extra = await _inquire(term)
    # what the questions and the inquiry needed leaves RAM before the card's turn
    unload("wasl.txn.gate", "wasl.txn.batchops", "wasl.host.admin", "wasl.ui.prompts")
    if due is None:
        return extra
    return await __import__("wasl.txn.sale", None, None, ("card_transaction",)).card_transaction(
        term, "bill", amount=due, extra=extra)


async def _inquire(term):
    """Biller, reference, the host's amount due, the merchant's confirmation: (amount due, what the
    transaction carries), or (None, the outcome that stops the payment)."""
    from wasl.host.admin import bill_inquiry
    from wasl.host.iso8583 import CodecError
    from wasl.host.link import LinkError
    from wasl.host.messages import APPROVED
    from wasl.ui.strings import text_key
    from wasl.txn import online
    from wasl.txn.batchops import take_stan
    from wasl.txn.gate import gate, link_failed
    from wasl.ui.prompts import choose, confirm, enter_digits
    from wasl.ui.screen import CANCELLED, TIMED_OUT

    ui = term.ui
    p = term.params
    title = ui.t("bill")
    stop = await gate(term, title, pin=False)
    if stop:
        return None, stop
    i = await choose(ui, ui.t("choose_biller"), [ui.t("biller_" + b) for b in p.billers], p.idle_timeout_s)
    if isinstance(i, str):
        return None, {"outcome": i}
    biller = p.billers[i]
    ref = await enter_digits(ui, title, ui.t("enter_reference"), 6, 20, p.idle_timeout_s,
                             wrong_length="bad_reference")
    if ref in (CANCELLED, TIMED_OUT):
        return None, {"outcome": ref}
    bill_ref = biller + "/" + ref
    utc, local = term.times()
    stan = take_stan(term.batch)
    ui.state("online")
    try:
        _, rep = await online.exchange(term, "0100", bill_inquiry(p, stan, bill_ref, utc, local),
                                       term.progress(title))
    except (LinkError, CodecError) as e:
        return None, await link_failed(term, ui.t("no_reply"), e)
    if rep[39] != APPROVED:
        await ui.message([title, ui.t(text_key(rep[39], ui.tr)), "(%s)" % rep[39]], p.result_timeout_s,
                         "error", "declined")
        return None, {"outcome": "declined", "rc": rep[39]}
    due = int(rep[4])
    name = (rep.get(48) or "")[:40]
    if not await confirm(ui, [ui.t("amount_due"), name[:ui.cols], ui.fit(ui.money(due, p), "r"),
                             ui.t("confirm")], p.idle_timeout_s):
        await ui.message([title, ui.t("cancelled")], 2, "error", CANCELLED)
        return None, {"outcome": CANCELLED}
    return due, {"bill": bill_ref, "cn": name}
