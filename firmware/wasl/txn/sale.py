# Card transactions: SALE, REFUND and BILL PAYMENT share one path:
#   pending reversal cleared -> amount -> card (chip: EMV kernel; stripe: track 2) -> PIN if the card
#   asks -> journal "new" -> 0200 (journal "sent" first) -> reply journaled -> (chip: the card's second
#   GENERATE AC) -> result shown -> receipts (journal "prt" per copy).
# The UI prompts, the host layer talks, the printer prints; this module decides.
# The host side (wasl.txn.online, wasl.host.messages, wasl.card) is imported where it is used, never
# held here: once a card transaction is concluded and journaled, it leaves RAM before the receipts print.
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x

from wasl import log, unload, unload_package
from wasl.host.iso8583 import CodecError
from wasl.host.link import LinkError
from wasl.txn.batch import approved as batch_approved
from wasl.ui.screen import CANCELLED, TIMED_OUT


async def ensure_no_reversal(term):
    """A pending reversal goes first (docs/host-interface.md, section 12). False if it is still
    pending: the new transaction must not start."""
    if term.batch.pending is None:
        return True
    from wasl.txn import online

    ui = term.ui
    ui.state("reversal")
    if await online.clear_reversal(term, term.progress(ui.t("reversal"))):
        return True
    await ui.message([ui.t("reversal"), ui.t("reversal_pending"), ui.t("try_again")],
                     term.params.result_timeout_s, "error", "reversal_pending")
    return False


# Service code, third digit (ISO/IEC 7813): the card wants a PIN (0, 3, 5), or a PIN where the terminal
# has a PIN pad (6, 7): this one has.
_PIN_SERVICE = const("03567")
_PIN_TRIES = const(3)     # a wrong PIN (55) is asked again, up to this many tries in all


def read_card(data, local, fallback):
    """The swiped or keyed data as a checked wasl.card.Card (raise CardError). A chip card's stripe is
    refused ("insert_card") unless the chip has just failed (fallback). The parser is loaded for the
    read only."""
    from wasl.card import track2

    try:
        card = track2.parse_track2(data.get("track2"), "fallback" if fallback else data.get("entry", "swipe"))
        track2.check_expiry(card, local[0], local[1])
        if card.service_code[:1] in "26" and not fallback:
            raise track2.CardError("insert_card", "chip card swiped")
        return card
    finally:
        unload(track2.__name__)
        track2 = None


async def pin_entry(term, title, amount, bypass=False):
    """The cardholder's PIN as a bytearray of digits (wiped by whoever enciphers it), "" when bypassed
    (allowed only if `bypass`), or CANCELLED / TIMED_OUT. The prompt is loaded for the entry only."""
    from wasl.ui import pin

    try:
        return await pin.enter_pin(term.ui, title, term.ui.money(amount, term.params),
                                   term.params.idle_timeout_s, bypass)
    finally:
        unload(pin.__name__)
        pin = None


# Inside card_transaction: where conclude() leaves the concluded transaction and its outcome's screen,
# so that the receipts print once the card's code (the EMV kernel) and the host side have left RAM.
due = None


async def card_transaction(term, ty, first_key=None, amount=None, extra=None):
    """SALE (ty 'sale'), REFUND ('refund') or BILL PAYMENT ('bill', amount given). `extra` goes into
    the journal record (bill reference, original RRN). Returns the journal record or an outcome dict.
    A chip or contactless card goes through the EMV kernel (wasl.txn.chip, loaded for it); a swiped
    card through its track 2; a wrong PIN is asked again. The receipts of the concluded transaction
    print last, once the card's code and the host side have left RAM."""
    global due
    ui = term.ui
    p = term.params
    title = ui.t(ty)
    if not await ensure_no_reversal(term):
        return {"outcome": "reversal_pending"}
    if p.keys_required and (term.keys is None or not term.keys.ready()):
        log.error(ty, "no DUKPT key: card transactions refused")
        await ui.message([title, ui.t("keys_missing"), ui.t("call_support")], 5, "error", "keys_missing")
        return {"outcome": "keys_missing"}

    if amount is None:
        limit = p.refund_max if ty == "refund" else p.amount_max
        amount = await ui.enter_amount(p, title, first_key, limit)
        if isinstance(amount, str):          # CANCELLED or TIMED_OUT
            await ui.message([title, ui.t(amount)], 2, "error", amount)
            return {"outcome": amount}

    fallback = False
    tries = 0
    again = None          # a chip card still in the reader after a wrong PIN: read it again
    due = owed = []
    try:
        while True:
            if again is not None:
                data, again = again, None
            else:
                data = await ui.wait_card(p, title, amount, "swipe_card" if fallback else None)
            if isinstance(data, str):
                await ui.message([title, ui.t(data)], 2, "error", data)
                return {"outcome": data}
            entry = data.get("entry", "swipe")
            if entry in ("chip", "tap"):
                from wasl.txn import chip        # the EMV kernel, for this card only

                try:
                    res = await chip.transaction(term, ty, amount, entry, extra, title)
                finally:
                    unload(chip.__name__)
                    chip = None
                    unload_package("wasl.emv")
                if res.get("outcome") == "fallback" and entry == "chip" and p.fallback:
                    fallback = True
                    await ui.message([title, ui.t("chip_error"), ui.t("swipe_card")], 3, "error", "fallback")
                    continue
            else:
                if entry == "manual":
                    data = await keyed(term, title)
                    if isinstance(data, str):
                        await ui.message([title, ui.t(data)], 2, "error", data)
                        return {"outcome": data}
                res = await swiped(term, ty, amount, data, extra, title, fallback)
                data = None
            if res.get("outcome") == "wrong_pin":
                tries += 1
                if tries < _PIN_TRIES:
                    await ui.message([title, ui.t("rc_55"), ui.t("pin_try_again")], 3, "error", "wrong_pin")
                    if entry == "chip":
                        again = {"entry": "chip"}
                    continue
                await ui.message([title, ui.t("rc_55"), ui.t("pin_tries")], 5, "error", "pin_tries")
            if res.get("outcome") == "insert_card":
                continue
            break
    finally:
        due = None
    if owed:                # concluded (conclude): its receipts
        t, rows = owed.pop()
        owed = data = None
        from wasl.app import _TXN_MODULES   # this module, then its host side: not needed any more

        unload(*_TXN_MODULES[1:])
        from wasl.txn.receipt import print_receipts

        await print_receipts(term, t, None, rows)
    return res


async def keyed(term, title):
    """Key entry (parameter manual_entry): the PAN, shown as stars, and the expiry MMYY, as the
    reader's data for read_card (entry "manual": fields 2 and 14, no PIN), or CANCELLED / TIMED_OUT."""
    from wasl.ui import prompts

    ui = term.ui
    t = term.params.idle_timeout_s
    try:
        pan = await prompts.enter_digits(ui, title, ui.t("enter_pan"), 12, 19, t, masked=True,
                                         wrong_length="pan_length")
        if pan in (CANCELLED, TIMED_OUT):
            return pan
        mmyy = await prompts.enter_digits(ui, title, ui.t("enter_expiry"), 4, 4, t, wrong_length="expiry_mmyy")
        if mmyy in (CANCELLED, TIMED_OUT):
            return mmyy
    finally:
        unload(prompts.__name__)
        prompts = None
    return {"entry": "manual", "track2": pan + "=" + mmyy[2:] + mmyy[:2] + "000"}


async def swiped(term, ty, amount, data, extra, title, fallback):
    """A magnetic stripe (or key-entered) card: track 2, the PIN when its service code asks for one,
    then online. A key-entered card has service code 000 (no chip, no PIN) and needs a signature."""
    from wasl.card import CardError

    ui = term.ui
    _, local = term.times()
    try:
        card = read_card(data, local, fallback)
    except CardError as e:
        log.warn(ty, "card refused: %s", e.key)
        await ui.message([title, ui.t(e.key)], 3 if e.key == "insert_card" else 5, "error", "card_error")
        return {"outcome": "insert_card" if e.key == "insert_card" else "card_error", "reason": e.key}
    try:
        pin = None
        if card.service_code[2:3] in _PIN_SERVICE and ty != "refund" and card.entry != "manual":
            if term.keys is None:             # keys_required false: a card wanting a PIN cannot be taken
                await ui.message([title, ui.t("keys_missing"), ui.t("card_try_other")], 5, "error", "keys_missing")
                return {"outcome": "keys_missing"}
            pin = await pin_entry(term, title, amount)
            if isinstance(pin, str):
                await ui.message([title, ui.t(pin)], 2, "error", pin)
                return {"outcome": pin}
        add = {"cv": "pin" if pin is not None else "sig"}
        if extra:
            add.update(extra)
        if pin is None and offline_ok(term, ty, amount, card):
            from wasl.txn import offline    # store and forward: loaded for this sale only

            try:
                t = offline.approve(term, ty, amount, card, add)
            finally:
                unload(offline.__name__)
                offline = None
            if t is not None:
                return await conclude(term, t, t["rc"])   # Y1
        t, rep, err = await go_online(term, ty, amount, card, add, title, pin)
    finally:
        card.wipe()
    if err is not None:
        return await no_reply(term, t, err)
    if rep[39] == "55" and pin is not None:
        return {"outcome": "wrong_pin", "t": t}
    return await conclude(term, t, rep[39])


def begin(term, ty, amount, card, extra):
    """Journal a new card transaction ("new"): its STAN, invoice and what the receipt needs."""
    from wasl.host.messages import stamp

    _, local = term.times()
    stan, invoice = term.batch.next_numbers()
    t = {"e": "new", "s": stan, "i": invoice, "b": term.batch.number, "ty": ty, "a": amount,
         "p": card.masked_pan, "m": card.entry, "t": stamp(local)}
    if extra:
        t.update(extra)
    term.batch.record(t)
    log.info(ty, "stan %06d invoice %06d amount %d card %s", stan, invoice, amount, t["p"])
    return t


def offline_room(term, ty, amount):
    """Store and forward (docs/journal.md) may take this sale: up to the floor limit, the advice queue
    has room, no reversal is pending, and keys can encipher the card data for later."""
    p = term.params
    b = term.batch
    return (ty == "sale" and 0 < amount <= p.offline_floor and term.keys is not None and b.pending is None
            and len(b.advices) < p.offline_max_count and b.offline_amount() + amount <= p.offline_max_amount)


def offline_ok(term, ty, amount, card):
    """A swiped sale approved offline: room for it, no PIN (the caller checks), and a card whose service
    code does not demand the issuer's authorisation (second digit 2 or 4)."""
    return card.entry == "swipe" and card.service_code[1:2] not in "24" and offline_room(term, ty, amount)


async def go_online(term, ty, amount, card, extra, title, pin=None, icc=None):
    """Journal the new transaction and send its 0200. Return (t, reply fields, None), or (t, None, the
    LinkError / CodecError) with the reversal armed."""
    from wasl.txn import online

    ui = term.ui
    p = term.params
    t = begin(term, ty, amount, card, extra)
    ui.state("online")
    try:
        rep = await online.authorise(term, t, card, term.progress(title, ui.fit(ui.money(amount, p), "r")),
                                     pin, icc)
    except (LinkError, CodecError) as e:     # the PIN is consumed by online.encode whatever happens
        return t, None, e
    return t, rep, None


async def no_reply(term, t, e):
    """The outcome is unknown: the reversal stays armed; try it at once, then tell the merchant."""
    from wasl.txn import online

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
    """Show the host's answer (already journaled), then print (inside card_transaction: it prints)."""
    ui = term.ui
    p = term.params
    approved = batch_approved(t)
    log.info(t["ty"], "stan %06d rc %s", t["s"], rc)
    if "crd" in t:                  # the host approved, the card refused (reversed)
        rows = (ui.t("declined"), ui.t("card_declined"), "")
    elif approved:
        rows = (ui.t("approved"), ui.money(t["a"], p), ui.t("auth_code") + " " + t.get("au", ""))
    else:
        from wasl.ui.strings import text_key

        rows = (ui.t("declined"), ui.t(text_key(rc, ui.tr)), "(%s)" % rc)
    ui.state("approved" if approved else "declined")
    # the outcome stays on the glass while the receipts print: the last row says what is going on
    ui.show(rows[0], rows[1], rows[2], ui.t(t["ty"]), align="c")
    ui.beep("ok" if approved else "error")
    t["outcome"] = "approved" if approved else "declined"
    if due is not None:             # card_transaction prints them when the card's code has gone
        due.append((t, rows))
    else:
        from wasl.txn.receipt import print_receipts

        await print_receipts(term, t, None, rows)
    return t
