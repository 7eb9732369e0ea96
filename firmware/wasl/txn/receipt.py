# Receipt and report layouts: (align, style, text) lines for a 32-column printer, generated one by one
# (the printer prints as they come: no list in RAM). Pure logic. Only masked PANs reach paper.
# style: "" normal, "b" bold, "B" bold double size (16 columns).
from wasl.money import format_amount
from wasl.txn.batch import OFFLINE
from wasl.txn.batch import approved as batch_approved


def _lr(left, right, cols):
    gap = cols - len(left) - len(right)
    if gap < 1:
        return (left + " " + right)[:cols]
    return left + " " * gap + right


def _big(text, cols):
    return ("c", "B" if len(text) <= cols // 2 else "b", text[:cols])


def _header(p, tr, stamp, cols):
    """Merchant block, terminal and merchant IDs, date and time (stamp: YYYYMMDDhhmmss)."""
    yield _big(p.merchant_name, cols)
    for a in p.merchant_address:
        yield ("c", "", a[:cols])
    yield ("l", "", _lr(tr["r_tid"], p.terminal_id, cols))
    yield ("l", "", _lr(tr["r_mid"], p.merchant_id, cols))
    yield ("l", "", _lr(tr["r_date"] + " %s/%s/%s" % (stamp[6:8], stamp[4:6], stamp[0:4]),
                        tr["r_time"] + " %s:%s:%s" % (stamp[8:10], stamp[10:12], stamp[12:14]), cols))


def _money(p, amount):
    return format_amount(amount, p.currency_exponent) + " " + p.currency_alpha


def txn_receipt(p, tr, t, copy, cols=32):
    """One copy of a transaction's receipt. `t` is its journal record with the outcome (rc, r, au).
    copy: "m" merchant, "c" customer, "d" duplicate (reprint of the merchant copy)."""
    approved = batch_approved(t)
    for line in _header(p, tr, t["t"], cols):
        yield line
    if copy == "d":
        yield ("c", "B", tr["r_duplicate"])
    yield ("c", "B", tr[t["ty"]])
    if "bill" in t:
        biller, _, ref = t["bill"].partition("/")
        yield ("l", "", _lr(tr["r_biller"], tr.get("biller_" + biller, biller), cols))
        yield ("l", "", _lr(tr["r_reference"], ref, cols))
        if t.get("cn"):
            yield ("l", "", t["cn"][:cols])
    yield ("l", "", _lr(tr["r_card"], t["p"], cols))
    yield ("l", "", _lr(t.get("al", ""), tr["r_entry_" + t["m"]], cols))
    if t.get("aid"):
        yield ("l", "", _lr(tr["r_aid"], t["aid"], cols))
    yield ("l", "", _lr(tr["r_batch"] + " %06d" % t["b"], tr["r_invoice"] + " %06d" % t["i"], cols))
    yield ("l", "", _lr(tr["r_stan"], "%06d" % t["s"], cols))
    if t.get("r"):
        yield ("l", "", _lr(tr["r_rrn"], t["r"], cols))
    if approved:
        yield ("l", "", _lr(tr["r_auth"], t.get("au") or "", cols))
    if t.get("or") and t["ty"] in ("void", "refund"):
        yield ("l", "", _lr(tr["r_orig_rrn"], t["or"], cols))
    yield ("l", "", _lr(tr["r_rc"], t.get("rc", ""), cols))
    yield ("l", "", "")
    yield ("l", "B", _lr(tr["r_amount"], "", cols // 2))
    amount = ("-" if t["ty"] in ("void", "refund") else "") + _money(p, t["a"])
    yield ("r", "B" if len(amount) <= cols // 2 else "b", amount)
    yield ("l", "", "")
    yield ("c", "B", tr["approved"] if approved else tr["declined"])
    if approved and t.get("rc") == OFFLINE:
        yield ("c", "", tr["r_offline"])
    if "crd" in t:
        yield ("c", "", tr["card_declined"])
    elif not approved:
        rc = t.get("adv") or t.get("rc", "")      # an offline approval the host refused: its code
        yield ("c", "", tr.get("rc_" + rc, tr["rc_refused"]))
    elif t.get("cv") == "pin":
        yield ("c", "", tr["r_pin_ok"])
    elif t.get("cv") == "sig" and copy != "c":
        yield ("l", "", "")
        yield ("l", "", tr["r_signature"])
        yield ("l", "", "")
        yield ("l", "", "_" * cols)
    yield ("l", "", "")
    yield ("c", "", tr["r_customer_copy"] if copy == "c" else tr["r_merchant_copy"])
    if copy == "c":
        yield ("c", "", tr["r_keep"])
        yield ("c", "", tr["r_thanks"])
