# Receipt layout: (align, style, text) lines for a 32-column printer, generated one by one; pure logic.
# Only the masked PAN ever reaches a receipt.
from wasl.money import format_amount


def _lr(left, right, cols):
    gap = cols - len(left) - len(right)
    if gap < 1:
        return (left + " " + right)[:cols]
    return left + " " * gap + right


def sale_receipt(p, tr, r, copy, cols=32):
    """Yield the receipt's lines one by one (the printer prints as they come: no list in RAM).

    `r` is a dict: type, amount, masked_pan, entry, utc/local tuples, stan, invoice, rrn, auth, rc,
    approved, result_text. `copy` is 'merchant' or 'customer'."""
    lt = r["local"]
    name = p.merchant_name[:cols]
    yield ("c", "B" if len(name) <= cols // 2 else "b", name)
    for a in p.merchant_address:
        yield ("c", "", a[:cols])
    yield ("l", "", _lr(tr["r_tid"], p.terminal_id, cols))
    yield ("l", "", _lr(tr["r_mid"], p.merchant_id, cols))
    yield ("l", "", _lr(tr["r_date"] + " %02d/%02d/%04d" % (lt[2], lt[1], lt[0]),
                        tr["r_time"] + " %02d:%02d:%02d" % (lt[3], lt[4], lt[5]), cols))
    yield ("c", "B", tr[r["type"]])
    yield ("l", "", _lr(tr["r_card"], r["masked_pan"], cols))
    yield ("l", "", _lr("", tr["r_entry_" + r["entry"]], cols))
    yield ("l", "", _lr(tr["r_stan"] + " %06d" % r["stan"], tr["r_invoice"] + " %06d" % r["invoice"], cols))
    if r.get("rrn"):
        yield ("l", "", _lr(tr["r_rrn"], r["rrn"], cols))
    if r["approved"]:
        yield ("l", "", _lr(tr["r_auth"], r.get("auth") or "", cols))
    yield ("l", "", _lr(tr["r_rc"], r["rc"], cols))
    yield ("l", "", "")
    yield ("l", "B", _lr(tr["r_amount"], "", cols // 2))
    amount = format_amount(r["amount"], p.currency_exponent) + " " + p.currency_alpha
    yield ("r", "B" if len(amount) <= cols // 2 else "b", amount)
    yield ("l", "", "")
    yield ("c", "B", tr["approved"] if r["approved"] else tr["declined"])
    if not r["approved"]:
        yield ("c", "", r["result_text"])
    yield ("l", "", "")
    yield ("c", "", tr["r_merchant_copy"] if copy == "merchant" else tr["r_customer_copy"])
    if copy == "customer":
        yield ("c", "", tr["r_keep"])
        yield ("c", "", tr["r_thanks"])
