# A chip (contact) or contactless card transaction: the EMV kernel (wasl.emv, docs/emv.md) up to the
# first GENERATE AC, the cardholder's PIN when the card's CVM list asks for online PIN, the 0200 with
# field 55, then the host's answer back to the card (issuer authentication, scripts, second GENERATE
# AC). Loaded for one card and dropped after it (wasl.txn.sale.card_transaction).
#
# What the card says after the host counts: a host approval the card refuses (AAC at the second
# GENERATE AC, or the card pulled out) is journaled "crd", which arms the reversal of the 0200 again;
# the reversal goes at once.
from wasl import log, store, unload
from wasl.card import CardError
from wasl.emv import result as emv
from wasl.emv.kernel import Kernel
from wasl.txn import online
from wasl.txn.sale import conclude, go_online, no_reply, offline_room, pin_entry

EMV_FILE = "emv.json"
# 9C, transaction type: goods and services (a bill payment too), refund.
_TXN_TYPE = {"sale": 0x00, "bill": 0x00, "refund": 0x20}
# Kernel errors after which the magnetic stripe may be tried (a chip that cannot be read); a card that
# refuses, is blocked or expired must not fall back.
_FALLBACK_ERRORS = ("card_read_error",)


def card_language(pref, default):
    """The first language of the card's preference list (5F2D: 2-letter codes, e.g. 'frar') that the
    terminal has, else `default`."""
    from wasl.ui.strings import LANGUAGES

    for i in range(0, len(pref) - 1, 2):
        if pref[i:i + 2] in LANGUAGES:
            return pref[i:i + 2]
    return default


def _psn(r):
    """Field 23 from 5F34 (one BCD byte), or None."""
    if not r.psn:
        return None
    b = r.psn[0]
    return "%03d" % ((b >> 4) * 10 + (b & 15))


async def transaction(term, ty, amount, entry, extra, title):
    ui = term.ui
    p = term.params
    # The EMV terminal data (docs/emv.md, section 4): its own file, read for each chip card, not kept.
    try:
        emv_params = store.load(term.hw.storage_root, EMV_FILE)
    except ValueError:
        emv_params = None
    if not isinstance(emv_params, dict) or not isinstance(emv_params.get("aids"), list):
        await ui.message([title, ui.t("card_not_accepted")], 5, "error", "card_error")
        return {"outcome": "card_error", "reason": "card_not_accepted"}
    held = [None]         # the PIN digits, from the PIN callback to the request that enciphers them

    async def choose(labels):
        from wasl.ui import prompts

        try:
            i = await prompts.choose(ui, ui.t("choose_app"), labels, p.idle_timeout_s)
        finally:
            prompts = None
            unload("wasl.ui.prompts")
        return None if isinstance(i, str) else i

    async def pin(r):
        if ty == "refund" or term.keys is None:
            # a refund: money back to the card, no PIN asked (the card answers AAC); no keys: no PIN
            # block can be made, the card's CVM list decides what comes next
            return False
        # the PIN prompt is the cardholder's: in the card's preferred language (5F2D, EMV Book 1 11.3.1),
        # the first of its languages this terminal speaks, else the merchant's
        merchant = ui.lang
        lang = card_language(r.lang, merchant)
        if lang != merchant:
            ui.set_language(lang)
        try:
            got = await pin_entry(term, ui.t(ty), amount, bypass=True)
        finally:
            if lang != merchant:
                ui.set_language(merchant)
        if got == "":                     # bypassed: the CVM list decides what comes next
            return False
        if isinstance(got, str):          # CANCELLED / TIMED_OUT: the transaction ends
            return None
        held[0] = got
        return True

    ui.state("chip")
    ui.show(title, ui.fit(ui.money(amount, p), "r"), ui.t("reading_card"), "", align="c")
    stan, _ = term.batch.next_numbers()
    _, local = term.times()
    # store and forward: the card may approve offline only when the terminal can take it (else every
    # amount is above the floor limit and the card is asked for an ARQC)
    cap = p.offline_floor if offline_room(term, ty, amount) else 0
    k = Kernel(term.hw.reader, emv_params, entry=entry, choose=choose, pin=pin, floor_cap=cap)
    emv_params = None
    try:
        r = await k.start(amount, local, txn_type=_TXN_TYPE[ty], seq=stan)
        out = r.outcome
        log.info(ty, "chip: %s %s", out, r.error)
        if out == emv.GO_ONLINE or (ty == "refund" and out == emv.DECLINED_OFFLINE):
            # a refund is not the card's to approve (it answers AAC): the host decides
            return await _online(term, k, r, ty, amount, extra, title, held)
        if out == emv.CANCELLED:
            await ui.message([title, ui.t("cancelled")], 2, "error", "cancelled")
            return {"outcome": "cancelled"}
        if out == emv.APPROVED_OFFLINE and held[0] is None:
            return await _offline(term, r, ty, amount, extra, title)
        if out in (emv.DECLINED_OFFLINE, emv.APPROVED_OFFLINE):
            await ui.message([title, ui.t("card_declined")], 5, "error", "card_declined")
            return {"outcome": "declined_offline"}
        key = r.error or "card_read_error"
        await ui.message([title, ui.t(key)], 3, "error", "card_error")
        if key in _FALLBACK_ERRORS:
            return {"outcome": "fallback", "reason": key}
        return {"outcome": "card_error", "reason": key}
    finally:
        pin_digits = held[0]
        if pin_digits is not None:
            for i in range(len(pin_digits)):
                pin_digits[i] = 0
        k.wipe()


def _chip_extra(r, cv, extra):
    add = {"aid": r.aid, "al": r.label[:16], "cv": cv}
    sq = _psn(r)
    if sq:
        add["sq"] = sq
    if extra:
        add.update(extra)
    return add


async def _offline(term, r, ty, amount, extra, title):
    """The card approved offline (TC): journaled like a swiped offline sale, its field 55 kept for the
    advice (wasl.txn.offline)."""
    ui = term.ui
    try:
        card = r.card()
    except CardError as e:
        log.warn(ty, "chip data refused: %s", e.key)
        await ui.message([title, ui.t("card_read_error")], 3, "error", "card_error")
        return {"outcome": "card_error", "reason": "card_read_error"}
    from wasl.txn import offline

    try:
        t = offline.approve(term, ty, amount, card, _chip_extra(r, "sig" if r.signature else "none", extra),
                            bytes(r.de55))
    finally:
        offline = None
        unload("wasl.txn.offline")
        card.wipe()
    if t is None:           # no keys to keep the card data: the card's approval cannot be taken
        await ui.message([title, ui.t("card_declined")], 5, "error", "card_declined")
        return {"outcome": "declined_offline"}
    return await conclude(term, t, t["rc"])


async def _online(term, k, r, ty, amount, extra, title, held):
    ui = term.ui
    try:
        card = r.card()
    except CardError as e:            # the chip's track 2 equivalent is unusable
        log.warn(ty, "chip data refused: %s", e.key)
        await ui.message([title, ui.t("card_read_error")], 3, "error", "card_error")
        return {"outcome": "card_error", "reason": "card_read_error"}
    add = _chip_extra(r, "pin" if held[0] is not None else ("sig" if r.signature else "none"), extra)
    try:
        t, rep, err = await go_online(term, ty, amount, card, add, title, held[0], bytes(r.de55))
    finally:
        held[0] = None
        card.wipe()
    if err is not None:
        await k.complete(None)                 # unable to go online: the card ends its side (Z3)
        return await no_reply(term, t, err)
    rc = rep[39]
    r = await k.complete(rc, rep.get(55) or b"")
    log.info(ty, "stan %06d chip after host: %s %s", t["s"], r.outcome, r.error)
    if rc == "55" and t.get("cv") == "pin":
        return {"outcome": "wrong_pin", "t": t}
    if rc == "00" and r.outcome == emv.APPROVED:
        term.batch.record({"e": "cok", "s": t["s"]})
    elif rc == "00":
        # the host approved, the card did not: the approval must not stand
        log.warn(ty, "stan %06d approved by the host, refused by the card: reversal", t["s"])
        term.batch.record({"e": "crd", "s": t["s"]})
        await online.clear_reversal(term, term.progress(ui.t("reversal")))
    return await conclude(term, t, rc)
