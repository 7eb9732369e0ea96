# Card transactions: SALE, REFUND and BILL PAYMENT share one path:
#   pending reversal cleared -> amount -> card -> journal "new" -> 0200 (journal "sent" first) ->
#   reply journaled -> result shown -> receipts (journal "prt" per copy).
# The UI prompts, the host layer talks, the printer prints; this module decides.
from wasl import log, unload
from wasl.card import CardError
from wasl.host.iso8583 import CodecError
from wasl.host.link import LinkError
from wasl.host.messages import APPROVED, stamp, text_key
from wasl.txn import online


class Terminal:
    """What a transaction needs: hardware, parameters, batch (journal), codec, link and UI."""

    def __init__(self, hw, params, batch, codec, link, ui):
        self.hw = hw
        self.params = params
        self.batch = batch
        self.codec = codec
        self.link = link
        self.ui = ui

    def times(self):
        """(utc, local) time tuples from the board clock and the terminal's time-zone offset."""
        t = self.hw.clock.time()
        return self.hw.clock.gmtime(t), self.hw.clock.gmtime(t + self.params.tz_offset_min * 60)

    def progress(self, title, line2=""):
        ui = self.ui

        def show(stage):
            ui.show(title, line2, "", ui.t(stage), align="c")
        return show


async def ensure_no_reversal(term):
    """A pending reversal goes first (docs/host-interface.md, section 12). False if it is still
    pending: the new transaction must not start."""
    if term.batch.pending is None:
        return True
    ui = term.ui
    ui.state("reversal")
    if await online.clear_reversal(term, term.progress(ui.t("reversal"))):
        return True
    await ui.message([ui.t("reversal"), ui.t("reversal_pending"), ui.t("try_again")],
                     term.params.result_timeout_s, "error", "reversal_pending")
    return False


def read_card(data, local):
    """The reader's data as a checked wasl.card.Card (raise CardError). The parser is loaded for the
    read only."""
    from wasl.card import track2

    try:
        card = track2.parse_track2(data.get("track2"), data.get("entry", "swipe"))
        track2.check_expiry(card, local[0], local[1])
        return card
    finally:
        track2 = None
        unload("wasl.card.track2")


async def card_transaction(term, ty, first_key=None, amount=None, extra=None):
    """SALE (ty 'sale'), REFUND ('refund') or BILL PAYMENT ('bill', amount given). `extra` goes into
    the journal record (bill reference, original RRN). Returns the journal record or an outcome dict."""
    ui = term.ui
    p = term.params
    title = ui.t(ty)
    if not await ensure_no_reversal(term):
        return {"outcome": "reversal_pending"}

    if amount is None:
        limit = p.refund_max if ty == "refund" else p.amount_max
        amount = await ui.enter_amount(p, title, first_key, limit)
        if isinstance(amount, str):          # CANCELLED or TIMED_OUT
            await ui.message([title, ui.t(amount)], 2, "error", amount)
            return {"outcome": amount}

    data = await ui.wait_card(p, title, amount)
    if isinstance(data, str):
        await ui.message([title, ui.t(data)], 2, "error", data)
        return {"outcome": data}

    utc, local = term.times()
    try:
        card = read_card(data, local)
    except CardError as e:
        log.warn(ty, "card refused: %s", e.key)
        await ui.message([title, ui.t(e.key)], 5, "error", "card_error")
        return {"outcome": "card_error", "reason": e.key}
    finally:
        data = None  # the reader's copy of the track data is not kept

    stan, invoice = term.batch.next_numbers()
    t = {"e": "new", "s": stan, "i": invoice, "b": term.batch.number, "ty": ty, "a": amount,
         "p": card.masked_pan, "m": card.entry, "t": stamp(local)}
    if extra:
        t.update(extra)
    term.batch.record(t)
    log.info(ty, "stan %06d invoice %06d amount %d card %s", stan, invoice, amount, t["p"])
    ui.state("online")
    try:
        rep = await online.authorise(term, t, card, term.progress(title, ui.fit(ui.money(amount, p), "r")))
    except (LinkError, CodecError) as e:
        return await no_reply(term, t, e)
    finally:
        card.wipe()
    return await conclude(term, t, rep[39])


async def no_reply(term, t, e):
    """The outcome is unknown: the reversal stays armed; try it at once, then tell the merchant."""
    ui = term.ui
    reason = getattr(e, "reason", "invalid")
    log.warn(t["ty"], "stan %06d no reply: %s %s", t["s"], reason, getattr(e, "detail", e))
    await online.clear_reversal(term, term.progress(ui.t("reversal")))
    # a sale or bill payment that did not go through charged nothing; a void or refund did not happen
    done_key = "not_charged" if t["ty"] in ("sale", "bill") else "not_done"
    await ui.message([ui.t("no_reply"), ui.t("link_" + reason), ui.t(done_key)],
                     term.params.result_timeout_s, "error", "no_reply")
    return {"outcome": "no_reply", "reason": reason}


async def conclude(term, t, rc):
    """Show the host's answer (already journaled), then print."""
    ui = term.ui
    p = term.params
    approved = rc == APPROVED
    log.info(t["ty"], "stan %06d rc %s", t["s"], rc)
    if approved:
        ui.state("approved")
        ui.show(ui.t("approved"), ui.fit(ui.money(t["a"], p), "r"), ui.t("auth_code") + " " + t.get("au", ""),
                "", align="c")
        ui.beep("ok")
    else:
        ui.state("declined")
        ui.show(ui.t("declined"), ui.t(text_key(rc, ui.tr)), "(%s)" % rc, "", align="c")
        ui.beep("error")
    await print_receipts(term, t)
    t["outcome"] = "approved" if approved else "declined"
    return t


async def print_receipts(term, t, copies=None):
    """Merchant then (after a prompt) customer copy; a declined transaction prints the customer copy.
    Each printed copy is journaled, so a reboot knows what is still to print."""
    ui = term.ui
    approved = t.get("rc") == APPROVED
    if copies is None:
        copies = "mc" if approved else "c"
    ui.state("printing")
    from wasl.txn.receipt import txn_receipt   # loaded for the printing only

    for i, copy in enumerate(copies):
        if i:
            key = await ui.message([ui.t("approved"), "", ui.t("customer_copy_q")], 15, None, "copy_prompt")
            if key == "CANCEL":
                break
        ui.show(ui.t("printing"), align="c")
        term.hw.printer.print_lines(txn_receipt(term.params, ui.tr, t, copy))
        term.batch.record({"e": "prt", "s": t["s"], "c": copy})
    txn_receipt = None
    unload("wasl.txn.receipt")
    ui.state("result")
    await ui.message([ui.t("approved") if approved else ui.t("declined"),
                      "" if approved else ui.t(text_key(t.get("rc", ""), ui.tr))], 5, None, None)
