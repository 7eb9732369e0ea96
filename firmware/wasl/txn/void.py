# VOID from the merchant menu (wasl.txn.merchant): the supervisor PIN, the invoice number of an approved
# sale or bill payment of the open batch, confirmed, then sent to the host like a sale (0200 with the
# original's numbers), the answer shown and printed by wasl.txn.sale. Loaded when chosen.
from wasl import unload


async def void(term):
    orig, stop = await _ask(term)
    # what the questions needed leaves RAM before the host and the printer have their turn
    unload("wasl.txn.gate", "wasl.txn.batchops", "wasl.ui.prompts")
    if stop:
        return stop
    from wasl.host.iso8583 import CodecError
    from wasl.host.link import LinkError
    from wasl.host.messages import stamp
    from wasl.txn import online
    from wasl.txn.sale import conclude, no_reply

    ui = term.ui
    p = term.params
    utc, local = term.times()
    stan, _ = term.batch.next_numbers()
    t = {"e": "new", "s": stan, "i": orig["i"], "b": term.batch.number, "ty": "void", "a": orig["a"],
         "p": orig["p"], "m": orig["m"], "t": stamp(local), "o": orig["s"], "ot": orig["ty"],
         "or": orig["r"], "oa": orig.get("au", "")}
    if "bill" in orig:
        t["bill"] = orig["bill"]
    term.batch.record(t)
    ui.state("online")
    try:
        rep = await online.authorise(term, t, None, term.progress(ui.t("void"), ui.fit(ui.money(t["a"], p), "r")))
    except (LinkError, CodecError) as e:
        return await no_reply(term, t, e)
    return await conclude(term, t, rep[39])


async def _ask(term):
    """The supervisor PIN, the invoice, the checks and the merchant's confirmation: the original
    transaction (and None), or None and the outcome that stops the void."""
    from wasl.txn.batch import OFFLINE, approved
    from wasl.txn.batchops import find
    from wasl.txn.gate import gate
    from wasl.ui.prompts import confirm, enter_digits
    from wasl.ui.screen import CANCELLED, TIMED_OUT

    ui = term.ui
    p = term.params
    title = ui.t("void")
    stop = await gate(term, title)
    if stop:
        return None, stop
    inv = await enter_digits(ui, title, ui.t("enter_invoice"), 1, 6, p.idle_timeout_s)
    if inv in (CANCELLED, TIMED_OUT):
        return None, {"outcome": inv}
    orig = find(term.batch, int(inv))
    problem = None
    if orig is None:
        problem = "unknown_invoice"
    elif orig.get("voided"):
        problem = "already_voided"
    elif not approved(orig) or orig.get("reversed") or orig["ty"] not in ("sale", "bill"):
        problem = "not_voidable"
    elif orig["rc"] == OFFLINE and "adv" not in orig:
        problem = "advice_pending"          # the host does not know it yet: its advice goes first
    if problem:
        await ui.message([title, ui.t(problem), "%06d" % int(inv)], 5, "error", "void_refused")
        return None, {"outcome": problem}
    if not await confirm(ui, [title, "%06d  %s" % (orig["i"], orig["p"][-4:]),
                             ui.fit(ui.money(orig["a"], p), "r"), ui.t("confirm")], p.idle_timeout_s):
        await ui.message([title, ui.t("cancelled")], 2, "error", CANCELLED)
        return None, {"outcome": CANCELLED}
    return orig, None
