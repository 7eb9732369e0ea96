# The SALE transaction: amount -> card -> 0200 -> TLS link -> 0210 -> result -> receipts.
# Each step is a plain call or an awaited coroutine; the UI prompts, the host layer talks, the printer prints.
from wasl import log
from wasl.card.track2 import CardError, check_expiry, parse_track2
from wasl.host import messages
from wasl.host.iso8583 import CodecError
from wasl.host.link import LinkError
from wasl.host.rc import APPROVED, text_key
from wasl.host.spec import PROC_SALE
from wasl.txn.receipt import sale_receipt


class Terminal:
    """What a transaction needs: hardware, parameters, counters, codec, link and UI."""

    def __init__(self, hw, params, counters, codec, link, ui):
        self.hw = hw
        self.params = params
        self.counters = counters
        self.codec = codec
        self.link = link
        self.ui = ui

    def times(self):
        """(utc, local) time tuples from the board clock and the terminal's time-zone offset."""
        t = self.hw.clock.time()
        return self.hw.clock.gmtime(t), self.hw.clock.gmtime(t + self.params.tz_offset_min * 60)


async def sale(term, first_key=None):
    ui = term.ui
    p = term.params
    title = ui.t("sale")

    amount = await ui.enter_amount(p, title, first_key)
    if isinstance(amount, str):          # CANCELLED or TIMED_OUT
        await ui.message([title, ui.t(amount)], 2, "error", amount)
        return {"outcome": amount}

    data = await ui.wait_card(p, title, amount)
    if isinstance(data, str):
        await ui.message([title, ui.t(data)], 2, "error", data)
        return {"outcome": data}

    utc, local = term.times()
    try:
        card = parse_track2(data.get("track2"), data.get("entry", "swipe"))
        check_expiry(card, local[0], local[1])
    except CardError as e:
        log.warn("sale", "card refused: %s", e.key)
        await ui.message([title, ui.t(e.key)], 5, "error", "card_error")
        return {"outcome": "card_error", "reason": e.key}
    finally:
        data = None  # the reader's copy of the track data is not kept

    stan, invoice = term.counters.allocate()
    req = messages.financial_request(p, PROC_SALE, amount, card, stan, invoice, utc, local)
    masked = card.masked_pan
    entry = card.entry
    card.wipe()
    raw = term.codec.encode("0200", req)
    for f in (2, 35, 7, 12, 13, 14, 22, 24, 25, 42, 62):
        req.pop(f, None)  # keep only what validates the reply (and no PAN or track 2)
    log.info("sale", "stan %06d invoice %06d amount %d card %s", stan, invoice, amount, masked)

    ui.state("online")

    def progress(stage):
        ui.show(title, ui.fit(ui.money(amount, p), "r"), "", ui.t(stage), align="c")

    try:
        reply = await term.link.exchange(raw, term.codec.buf, progress)
        mti, rep = term.codec.decode(reply)
        messages.validate_reply("0200", req, mti, rep)
    except LinkError as e:
        log.warn("sale", "stan %06d link error %s %s", stan, e.reason, e.detail)
        await ui.message([ui.t("no_reply"), ui.t("link_" + e.reason), ui.t("not_charged")], p.result_timeout_s,
                         "error", "no_reply")
        return {"outcome": "no_reply", "reason": e.reason}
    except CodecError as e:  # undecodable, or failed validation (messages.ReplyError)
        log.warn("sale", "stan %06d invalid reply: %s", stan, e)
        await ui.message([ui.t("no_reply"), ui.t("link_invalid"), ui.t("not_charged")], p.result_timeout_s,
                         "error", "no_reply")
        return {"outcome": "no_reply", "reason": "invalid"}

    rc = rep[39]
    approved = rc == APPROVED
    result = {
        "type": "sale", "amount": amount, "masked_pan": masked, "entry": entry, "utc": utc, "local": local,
        "stan": stan, "invoice": invoice, "rrn": (rep.get(37) or "").strip(), "auth": (rep.get(38) or "").strip(),
        "rc": rc, "approved": approved, "result_text": ui.t(text_key(rc, ui.tr)),
    }
    log.info("sale", "stan %06d rc %s", stan, rc)
    if approved:
        ui.state("approved")
        ui.show(ui.t("approved"), ui.fit(ui.money(amount, p), "r"), ui.t("auth_code") + " " + result["auth"],
                "", align="c")
        ui.beep("ok")
    else:
        ui.state("declined")
        ui.show(ui.t("declined"), ui.t(text_key(rc, ui.tr)), "(%s)" % rc, "", align="c")
        ui.beep("error")

    await print_receipts(term, result)
    result["outcome"] = "approved" if approved else "declined"
    return result


async def print_receipts(term, result):
    ui = term.ui
    ui.state("printing")
    copies = ("merchant", "customer") if result["approved"] else ("customer",)
    for i, copy in enumerate(copies):
        if i:
            key = await ui.message([ui.t("approved"), "", ui.t("customer_copy_q")], 15, None, "copy_prompt")
            if key == "CANCEL":
                break
        ui.show(ui.t("printing"), align="c")
        term.hw.printer.print_lines(sale_receipt(term.params, ui.tr, result, copy))
    ui.state("result")
    await ui.message([ui.t("approved") if result["approved"] else ui.t("declined"),
                      "" if result["approved"] else ui.t(text_key(result["rc"], ui.tr))],
                     5, None, None)
