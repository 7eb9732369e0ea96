# The merchant menu and its transactions other than a plain sale: void, refund, bill payment,
# settlement, echo test, reprint, X report. Imported when the menu opens and dropped afterwards,
# so the idle terminal does not carry it in RAM.
import binascii
import hashlib

from wasl import log, store
from wasl.host import admin
from wasl.host.iso8583 import CodecError
from wasl.host.link import LinkError
from wasl.host.messages import APPROVED, stamp, text_key
from wasl.txn import online
from wasl.txn import batchops
from wasl.txn.batch import OFFLINE, approved
from wasl.txn.batchops import find, take_stan, transactions
from wasl.txn.receipt import tables, txn_receipt
from wasl.txn.report import totals_report
from wasl.txn.sale import card_transaction, conclude, ensure_no_reversal, no_reply, print_copy, receipt_printer
from wasl.ui.prompts import choose, confirm, enter_digits
from wasl.ui.screen import CANCELLED, TIMED_OUT

_LOCK_FILE = "supervisor.json"
_MAX_FAILS = 3
_LOCK_S = 300

MENU = ("sale", "void", "refund", "bill", "settle", "reprint", "x_report", "echo", "settings", "tms")


async def menu(term):
    ui = term.ui
    labels = [ui.t(k) for k in MENU]
    i = await choose(ui, ui.t("menu"), labels, term.params.idle_timeout_s)
    if isinstance(i, str):
        return {"outcome": i}
    key = MENU[i]
    if key == "sale":
        return await card_transaction(term, "sale")
    return await FLOWS[key](term)


# Supervisor PIN ---------------------------------------------------------------------------------
async def supervisor(term, title):
    """True when the supervisor PIN is right. Three wrong entries lock it for five minutes, across
    reboots (the failure count is stored)."""
    ui = term.ui
    p = term.params
    root = term.hw.storage_root
    now = term.hw.clock.time()
    lock = store.load(root, _LOCK_FILE, None) or {"fails": 0, "until": 0}
    if lock["until"] > now:
        await ui.message([title, ui.t("pin_locked")], 3, "error", "pin_locked")
        return False
    pin = await enter_digits(ui, title, ui.t("supervisor_pin"), 4, 8, p.idle_timeout_s, masked=True)
    if pin in (CANCELLED, TIMED_OUT):
        return False
    ok = binascii.hexlify(hashlib.sha256(pin.encode()).digest()).decode() == p.supervisor_pin_sha256
    pin = None
    if ok:
        if lock["fails"]:
            store.save(root, _LOCK_FILE, {"fails": 0, "until": 0})
        return True
    lock["fails"] += 1
    if lock["fails"] >= _MAX_FAILS:
        lock = {"fails": 0, "until": now + _LOCK_S}
        log.warn("supervisor", "PIN locked for %d s", _LOCK_S)
    store.save(root, _LOCK_FILE, lock)
    await ui.message([title, ui.t("wrong_pin")], 3, "error", "wrong_pin")
    return False


async def gate(term, title, pin=True):
    """What every menu transaction checks first: the supervisor PIN (when asked), then no pending
    reversal. Returns None to go on, or the outcome that stops it."""
    if pin and not await supervisor(term, title):
        return {"outcome": "refused"}
    if not await ensure_no_reversal(term):
        return {"outcome": "reversal_pending"}
    return None


async def link_failed(term, first_row, e, state="no_reply"):
    """The host could not be reached or answered wrongly: say why; nothing was at stake."""
    ui = term.ui
    reason = getattr(e, "reason", "invalid")
    await ui.message([first_row, ui.t("link_" + reason)], term.params.result_timeout_s, "error", state)
    return {"outcome": "no_reply", "reason": reason}


# Void ---------------------------------------------------------------------------------------------
async def void(term):
    ui = term.ui
    p = term.params
    title = ui.t("void")
    stop = await gate(term, title)
    if stop:
        return stop
    inv = await enter_digits(ui, title, ui.t("enter_invoice"), 1, 6, p.idle_timeout_s)
    if inv in (CANCELLED, TIMED_OUT):
        return {"outcome": inv}
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
        return {"outcome": problem}
    if not await confirm(ui, [title, "%06d  %s" % (orig["i"], orig["p"][-4:]),
                             ui.fit(ui.money(orig["a"], p), "r"), ui.t("confirm")], p.idle_timeout_s):
        await ui.message([title, ui.t("cancelled")], 2, "error", CANCELLED)
        return {"outcome": CANCELLED}
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
        rep = await online.authorise(term, t, None, term.progress(title, ui.fit(ui.money(t["a"], p), "r")))
    except (LinkError, CodecError) as e:
        return await no_reply(term, t, e)
    return await conclude(term, t, rep[39])


# Refund -------------------------------------------------------------------------------------------
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


# Bill payment -------------------------------------------------------------------------------------
async def bill(term):
    ui = term.ui
    p = term.params
    title = ui.t("bill")
    stop = await gate(term, title, pin=False)
    if stop:
        return stop
    i = await choose(ui, ui.t("choose_biller"), [ui.t("biller_" + b) for b in p.billers], p.idle_timeout_s)
    if isinstance(i, str):
        return {"outcome": i}
    biller = p.billers[i]
    ref = await enter_digits(ui, title, ui.t("enter_reference"), 6, 20, p.idle_timeout_s,
                             wrong_length="bad_reference")
    if ref in (CANCELLED, TIMED_OUT):
        return {"outcome": ref}
    bill_ref = biller + "/" + ref
    utc, local = term.times()
    stan = take_stan(term.batch)
    ui.state("online")
    try:
        _, rep = await online.exchange(term, "0100", admin.bill_inquiry(p, stan, bill_ref, utc, local),
                                       term.progress(title))
    except (LinkError, CodecError) as e:
        return await link_failed(term, ui.t("no_reply"), e)
    if rep[39] != APPROVED:
        await ui.message([title, ui.t(text_key(rep[39], ui.tr)), "(%s)" % rep[39]], p.result_timeout_s,
                         "error", "declined")
        return {"outcome": "declined", "rc": rep[39]}
    due = int(rep[4])
    name = (rep.get(48) or "")[:40]
    if not await confirm(ui, [ui.t("amount_due"), name[:ui.cols], ui.fit(ui.money(due, p), "r"),
                             ui.t("confirm")], p.idle_timeout_s):
        await ui.message([title, ui.t("cancelled")], 2, "error", CANCELLED)
        return {"outcome": CANCELLED}
    return await card_transaction(term, "bill", amount=due, extra={"bill": bill_ref, "cn": name})


# Settlement -----------------------------------------------------------------------------------------
async def settle(term):
    ui = term.ui
    p = term.params
    b = term.batch
    title = ui.t("settle")
    stop = await gate(term, title)
    if stop:
        return stop
    if b.count == 0:
        await ui.message([title, ui.t("batch_empty")], 5, "error", "batch_empty")
        return {"outcome": "batch_empty"}
    ui.state("online")
    progress = term.progress(title, ui.t("settling"))
    if b.advices:
        # the host must know every sale approved offline first; if it cannot be told, the supervisor
        # may force the settlement: the batch upload then carries those sales with their card data
        from wasl.txn.advice import send

        if not await send(term, term.progress(title, ui.t("advice"))):
            key = await ui.message([title, ui.t("advices_pending"), "%d" % len(b.advices), ui.t("force_q")],
                                   p.idle_timeout_s, "error", "advices_pending")
            if key != "OK":
                return {"outcome": "advices_pending"}
            log.warn("settle", "forced with %d advice(s) pending", len(b.advices))
        ui.state("online")
    try:
        rc = await _settle_exchange(term, False, progress)
        if rc == "95":
            ui.state("uploading")
            for t in transactions(b):
                if t["ty"] != "void" and approved(t) and not t.get("voided") and not t.get("reversed"):
                    utc, _ = term.times()
                    _, up = await online.exchange(term, "0320", admin.batch_upload(p, t, utc),
                                                  term.progress(title, ui.t("uploading")))
                    if t["rc"] == OFFLINE and "adv" not in t:
                        # a forced settlement: the host takes this upload as the advice, and its code
                        # as the advice's answer (a refusal takes the sale out of the totals)
                        b.record({"e": "adv", "s": t["s"], "rc": up[39], "r": ""})
                    elif up[39] != APPROVED:
                        rc = up[39]
                        break
            else:
                rc = await _settle_exchange(term, True, progress)
    except (LinkError, CodecError) as e:
        return await link_failed(term, ui.t("settle_failed"), e, "settle_failed")
    if rc != APPROVED:
        await ui.message([ui.t("settle_failed"), ui.t(text_key(rc, ui.tr)), "(%s)" % rc], p.result_timeout_s,
                         "error", "settle_failed")
        return {"outcome": "declined", "rc": rc}
    _, local = term.times()
    ui.state("printing")
    tr, ar = tables(ui, p)
    await print_copy(term, lambda: totals_report(p, tr, b, stamp(local), True, ar=ar), None,
                     receipt_printer(term, ar))   # the Z report
    closed = b.number
    batchops.settle(b)   # journal "set", then compact
    log.info("settle", "batch %06d closed", closed)
    await ui.message([title, ui.t("settled"), "%06d" % closed], p.result_timeout_s, "ok", "settled")
    return {"outcome": "settled", "batch": closed}


async def _settle_exchange(term, after_upload, progress):
    b = term.batch
    utc, _ = term.times()
    stan = take_stan(b)
    _, rep = await online.exchange(term, "0500", admin.settlement(term.params, stan, b.number,
                                                                      b.totals_field(), utc, after_upload),
                                   progress)
    return rep[39]


# Echo, reprint, X report ----------------------------------------------------------------------------
async def echo(term):
    ui = term.ui
    title = ui.t("echo")
    utc, _ = term.times()
    stan = take_stan(term.batch)
    ui.state("online")
    try:
        _, rep = await online.exchange(term, "0800", admin.echo(term.params, stan, utc), term.progress(title))
    except (LinkError, CodecError) as e:
        return await link_failed(term, title, e)
    ok = rep[39] == APPROVED
    await ui.message([title, ui.t("host_ok") if ok else "(%s)" % rep[39]], 5, "ok" if ok else "error",
                     "host_ok" if ok else "declined")
    return {"outcome": "host_ok" if ok else "declined"}


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


async def x_report(term):
    _, local = term.times()
    term.ui.state("printing")
    tr, ar = tables(term.ui, term.params)
    await print_copy(term, lambda: totals_report(term.params, tr, term.batch, stamp(local), False, ar=ar), None,
                     receipt_printer(term, ar))
    return {"outcome": "printed"}


# Settings ------------------------------------------------------------------------------------------
# Each language named in itself, in wasl.ui.strings.LANGUAGES's order (fr, en, ar).
_NAMES = ("FRANCAIS", "ENGLISH", "\u0627\u0644\u0639\u0631\u0628\u064a\u0629")


async def settings(term):
    """The merchant's language (screens and receipts; the card's preference still chooses its PIN
    prompt): saved on the terminal's storage (wasl.app.SETTINGS), it wins over the parameter `language`
    from the next boot on, and the screens switch at once. No supervisor PIN: it moves no money and the
    next merchant can switch back."""
    from wasl.app import SETTINGS
    from wasl.ui.strings import LANGUAGES

    ui = term.ui
    labels = []
    for code, name in zip(LANGUAGES, _NAMES):
        if code == "ar" and not ui.rtl:
            if getattr(ui.lcd, "arabic", True):        # an LTR screen gets the name in display order
                from wasl.ui.arabic import visual

                name = visual(name)
            else:                                       # the HD44780 cannot draw it (docs/arabic.md)
                name = "ARABIC (AR)"
        labels.append(name + (" *" if code == ui.lang else ""))
    i = await choose(ui, ui.t("language"), labels, term.params.idle_timeout_s)
    if isinstance(i, str):
        return {"outcome": i}
    lang = LANGUAGES[i]
    saved = store.load(term.hw.storage_root, SETTINGS, None)
    saved = saved if isinstance(saved, dict) else {}
    saved["language"] = lang
    store.save(term.hw.storage_root, SETTINGS, saved)
    ui.set_language(lang)
    log.info("settings", "language %s", lang)
    await ui.message([ui.t("language"), ui.t("language_saved")], 2, "ok", "language_saved")
    return {"outcome": "language", "language": lang}


async def tms(term):
    """A TMS call asked by the merchant or a technician: made as soon as the menu has left RAM
    (wasl.app.tms, docs/tms.md)."""
    term.tms_asked = True
    term.tms_due = 1
    return {"outcome": "tms"}


FLOWS = {"void": void, "refund": refund, "bill": bill, "settle": settle, "echo": echo,
         "reprint": reprint, "x_report": x_report, "settings": settings, "tms": tms}
