# Receipt and report layouts: (align, style, text) lines for a 32-column printer, generated one by one
# (the printer prints as they come: no list in RAM). Pure logic. Only masked PANs reach paper.
# style: "" normal, "b" bold, "B" bold double size (16 columns); "a" / "aB": an Arabic line of a
# bilingual receipt (logical order, printed shaped and right to left by wasl.drivers.escpos_arabic).
# The layout is written once (_txn); each line names the translation keys of its words, and the
# bilingual option derives its Arabic lines from them.
from wasl.money import format_amount
from wasl.txn.batch import OFFLINE
from wasl.txn.batch import approved as batch_approved


def _lr(left, right, cols):
    gap = cols - len(left) - len(right)
    if gap < 1:
        return (left + " " + right)[:cols]
    return left + " " * gap + right


def tables(ui, p):
    """(tr, ar): the words of the receipts. The UI's receipt table (wasl.ui.screen.Ui.rtr) and None; with
    parameter receipt.bilingual, French and Arabic whatever the screens speak."""
    if not p.receipt_bilingual:
        return ui.rtr, None
    from wasl.ui.strings import receipt_language, table

    fr = ui.rtr if receipt_language(ui.lang) == "fr" else table("fr", keep=ui.shown)
    return fr, ui.tr if ui.rtl else table("ar", keep=ui.shown)


def _header(p, tr, stamp, cols):
    """Merchant block, terminal and merchant IDs, date and time (stamp: YYYYMMDDhhmmss)."""
    n = p.merchant_name
    yield ("c", "B" if len(n) <= cols // 2 else "b", n[:cols], None)
    for a in p.merchant_address:
        yield ("c", "", a[:cols], None)
    yield ("l", "", _lr(tr["r_tid"], p.terminal_id, cols), "r_tid")
    yield ("l", "", _lr(tr["r_mid"], p.merchant_id, cols), "r_mid")
    yield ("l", "", _lr(tr["r_date"] + " %s/%s/%s" % (stamp[6:8], stamp[4:6], stamp[0:4]),
                        tr["r_time"] + " %s:%s:%s" % (stamp[8:10], stamp[10:12], stamp[12:14]), cols),
           "r_date r_time")


def _money(p, amount):
    return format_amount(amount, p.currency_exponent) + " " + p.currency_alpha


def _arabic(ar, keys, align, style):
    """The Arabic line under a French one of a bilingual receipt: the same translation keys (several
    labels of one line joined by " / "), flush right where the French line starts on the left."""
    text = " / ".join([ar[k] for k in keys.split()])
    return ("c" if align == "c" else "r", "aB" if style == "B" else "a", text)


def txn_receipt(p, tr, t, copy, cols=32, ar=None):
    """One copy of a transaction's receipt. `t` is its journal record with the outcome (rc, r, au).
    copy: "m" merchant, "c" customer, "d" duplicate (reprint of the merchant copy).
    ar: the Arabic table (wasl.ui.strings) for a bilingual receipt: every line that carries words is
    followed by the same words in Arabic, an (align, "a" or "aB", logical text) line that
    wasl.drivers.escpos_arabic prints. Values (numbers, card, amount) are not repeated."""
    for align, style, text, keys in _txn(p, tr, t, copy, cols):
        yield (align, style, text)
        if ar is not None and keys:
            yield _arabic(ar, keys, align, style)


def _txn(p, tr, t, copy, cols):
    """The layout: (align, style, text, translation keys of the words on the line or None)."""
    approved = batch_approved(t)
    for line in _header(p, tr, t["t"], cols):
        yield line
    if copy == "d":
        yield ("c", "B", tr["r_duplicate"], "r_duplicate")
    yield ("c", "B", tr[t["ty"]], t["ty"])
    if "bill" in t:
        biller, _, ref = t["bill"].partition("/")
        yield ("l", "", _lr(tr["r_biller"], tr.get("biller_" + biller, biller), cols),
               "r_biller" + (" biller_" + biller if tr.get("biller_" + biller) else ""))
        yield ("l", "", _lr(tr["r_reference"], ref, cols), "r_reference")
        if t.get("cn"):
            yield ("l", "", t["cn"][:cols], None)
    yield ("l", "", _lr(tr["r_card"], t["p"], cols), "r_card")
    yield ("l", "", _lr(t.get("al", ""), tr["r_entry_" + t["m"]], cols), "r_entry_" + t["m"])
    if t.get("aid"):
        yield ("l", "", _lr(tr["r_aid"], t["aid"], cols), "r_aid")
    yield ("l", "", _lr(tr["r_batch"] + " %06d" % t["b"], tr["r_invoice"] + " %06d" % t["i"], cols),
           "r_batch r_invoice")
    yield ("l", "", _lr(tr["r_stan"], "%06d" % t["s"], cols), "r_stan")
    if t.get("r"):
        yield ("l", "", _lr(tr["r_rrn"], t["r"], cols), "r_rrn")
    if approved:
        yield ("l", "", _lr(tr["r_auth"], t.get("au") or "", cols), "r_auth")
    if t.get("or") and t["ty"] in ("void", "refund"):
        yield ("l", "", _lr(tr["r_orig_rrn"], t["or"], cols), "r_orig_rrn")
    yield ("l", "", _lr(tr["r_rc"], t.get("rc", ""), cols), "r_rc")
    yield ("l", "", "", None)
    yield ("l", "B", _lr(tr["r_amount"], "", cols // 2), "r_amount")
    amount = ("-" if t["ty"] in ("void", "refund") else "") + _money(p, t["a"])
    yield ("r", "B" if len(amount) <= cols // 2 else "b", amount, None)
    yield ("l", "", "", None)
    key = "approved" if approved else "declined"
    yield ("c", "B", tr[key], key)
    if approved and t.get("rc") == OFFLINE:
        yield ("c", "", tr["r_offline"], "r_offline")
    if "crd" in t:
        yield ("c", "", tr["card_declined"], "card_declined")
    elif not approved:
        rc = t.get("adv") or t.get("rc", "")      # an offline approval the host refused: its code
        key = "rc_" + rc if tr.get("rc_" + rc) is not None else "rc_refused"
        yield ("c", "", tr[key], key)
    elif t.get("cv") == "pin":
        yield ("c", "", tr["r_pin_ok"], "r_pin_ok")
    elif t.get("cv") == "sig" and copy != "c":
        yield ("l", "", "", None)
        yield ("l", "", tr["r_signature"], "r_signature")
        yield ("l", "", "", None)
        yield ("l", "", "_" * cols, None)
    yield ("l", "", "", None)
    key = "r_customer_copy" if copy == "c" else "r_merchant_copy"
    yield ("c", "", tr[key], key)
    if copy == "c":
        yield ("c", "", tr["r_keep"], "r_keep")
        yield ("c", "", tr["r_thanks"], "r_thanks")
