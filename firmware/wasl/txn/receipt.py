# Receipt and report layouts: (align, style, text) lines for a 32-column printer, generated one by one
# (the printer prints as they come: no list in RAM). Pure logic. Only masked PANs reach paper.
#
# A layout is data: one string, a line of paper per line of text, `condition|align|style|left|right`.
#   condition  empty: always; a name: only when it holds (_TXN_WHEN, _REPORT_WHEN);
#              *name: the line once per element of a list (the merchant's address lines)
#   align      l, c, r
#   style      "" normal, b bold, B bold double size (16 columns), B? double size when the text fits
#   left/right space-separated words, each one of:
#              key    a translation key: its words in the receipt's language
#              @name  a translation key that depends on the transaction (its type, the outcome...);
#                     when the table has no such key, the value =name is printed (an unknown biller)
#              =name  a value (amount, card, numbers): never translated
#              With a right part (even a value that is empty), both are set flush to the margins.
# On a bilingual receipt every line with translation keys is followed by the same words in Arabic
# (style "a" / "aB": logical order, printed shaped and right to left by wasl.drivers.escpos_arabic).
# The strings stay in the code image (const): parsing one line at a time allocates a few short strings.
#
# Then the printing of a transaction's copies (print_receipts, print_copy), moved here from
# wasl.txn.sale so that it is loaded once the host side of a card transaction has left RAM: this
# module is loaded for the printing only.
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x

from wasl import log, unload
from wasl.money import format_amount
from wasl.txn.batch import OFFLINE
from wasl.txn.batch import approved as batch_approved
from wasl.ui.strings import text_key

HEADER = const("""|c|B?|=merchant_name|
*address|c||=line|
|l||r_tid|=tid
|l||r_mid|=mid
|l||r_date =date|r_time =time""")

# One copy of a transaction's receipt, after the header.
TXN = const("""dup|c|B|r_duplicate|
|c|B|@type|
bill|l||r_biller|@biller
bill|l||r_reference|=reference
name|l||=name|
|l||r_card|=pan
|l||=label|@entry
aid|l||r_aid|=aid
|l||r_batch =batch|r_invoice =invoice
|l||r_stan|=stan
rrn|l||r_rrn|=rrn
ok|l||r_auth|=auth
orig|l||r_orig_rrn|=orig_rrn
|l||r_rc|=rc
|l|||
|l|B|r_amount|=none
|r|B?|=amount|
|l|||
|c|B|@outcome|
offline|c||r_offline|
card_declined|c||card_declined|
refused|c||@refusal|
pin|c||r_pin_ok|
signature|l|||
signature|l||r_signature|
signature|l|||
signature|l||=rule|
|l|||
|c||@copy|
customer|c||r_keep|
customer|c||r_thanks|""")

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


def _money(p, amount):
    return format_amount(amount, p.currency_exponent) + " " + p.currency_alpha


def _words(tr, value, item, spec, keys):
    """The text of one side of a line; the translation keys met are appended to `keys`."""
    out = []
    for w in spec.split():
        if w[0] == "=":
            out.append(value(w, item))
            continue
        k = value(w, item) if w[0] == "@" else w
        s = tr.get(k)
        if s is None:
            out.append(value("=" + w[1:], item) if w[0] == "@" else k)
        else:
            out.append(s)
            keys.append(k)
    return " ".join(out)


def render(layout, tr, value, when, cols=32):
    """The lines of a layout: (align, style, text, translation keys of its words or None).
    value(word, item) gives the "=name" values, the "@name" keys and the "*name" lists; when(name) the
    conditions."""
    n = len(layout)
    start = 0
    while start < n:
        end = layout.find("\n", start)
        if end < 0:
            end = n
        cond, align, style, left, right = layout[start:end].split("|")
        start = end + 1
        if cond[:1] == "*":
            items = value(cond, None)
        elif cond and not when(cond):
            continue
        else:
            items = (None,)
        for item in items:
            keys = []
            text = _words(tr, value, item, left, keys)
            if right:
                text = _lr(text, _words(tr, value, item, right, keys), cols // 2 if style == "B" else cols)
            else:
                text = text[:cols]
            st = style
            if st == "B?":
                st = "B" if len(text) <= cols // 2 else "b"
            yield (align, st, text, " ".join(keys) if keys else None)


def _header_value(p, stamp, w, item):
    """The header's values (stamp: YYYYMMDDhhmmss)."""
    if w == "=merchant_name":
        return p.merchant_name
    if w == "*address":
        return p.merchant_address
    if w == "=line":
        return item
    if w == "=tid":
        return p.terminal_id
    if w == "=mid":
        return p.merchant_id
    if w == "=date":
        return "%s/%s/%s" % (stamp[6:8], stamp[4:6], stamp[0:4])
    if w == "=time":
        return "%s:%s:%s" % (stamp[8:10], stamp[10:12], stamp[12:14])
    if w == "=none":
        return ""
    raise ValueError("receipt layout: unknown word " + w)


def _arabic(ar, keys, align, style):
    """The Arabic line under a French one of a bilingual receipt: the same translation keys (several
    labels of one line joined by " / "), flush right where the French line starts on the left."""
    text = " / ".join([ar[k] for k in keys.split()])
    return ("c" if align == "c" else "r", "aB" if style == "B" else "a", text)


def _print(lines, ar):
    for align, style, text, keys in lines:
        yield (align, style, text)
        if ar is not None and keys:
            yield _arabic(ar, keys, align, style)


def txn_receipt(p, tr, t, copy, cols=32, ar=None, layout=TXN):
    """One copy of a transaction's receipt. `t` is its journal record with the outcome (rc, r, au).
    copy: "m" merchant, "c" customer, "d" duplicate (reprint of the merchant copy).
    ar: the Arabic table (wasl.ui.strings) for a bilingual receipt: every line that carries words is
    followed by the same words in Arabic, an (align, "a" or "aB", logical text) line that
    wasl.drivers.escpos_arabic prints. Values (numbers, card, amount) are not repeated.
    layout: the transaction part's layout (after HEADER); a word or condition it names that this
    function does not know raises ValueError."""
    approved = batch_approved(t)
    biller, _, ref = t.get("bill", "").partition("/")

    def value(w, item):
        if w == "@type":
            return t["ty"]
        if w == "@biller":
            return "biller_" + biller
        if w == "=biller":
            return biller
        if w == "=reference":
            return ref
        if w == "=name":
            return t["cn"]
        if w == "=pan":
            return t["p"]
        if w == "=label":
            return t.get("al", "")
        if w == "@entry":
            return "r_entry_" + t["m"]
        if w == "=aid":
            return t["aid"]
        if w == "=batch":
            return "%06d" % t["b"]
        if w == "=invoice":
            return "%06d" % t["i"]
        if w == "=stan":
            return "%06d" % t["s"]
        if w == "=rrn":
            return t["r"]
        if w == "=auth":
            return t.get("au") or ""
        if w == "=orig_rrn":
            return t["or"]
        if w == "=rc":
            return t.get("rc", "")
        if w == "=amount":
            return ("-" if t["ty"] in ("void", "refund") else "") + _money(p, t["a"])
        if w == "@outcome":
            return "approved" if approved else "declined"
        if w == "@refusal":
            return text_key(t.get("adv") or t.get("rc", ""), tr)   # an offline approval the host refused: its code
        if w == "=rule":
            return "_" * cols
        if w == "@copy":
            return "r_customer_copy" if copy == "c" else "r_merchant_copy"
        return _header_value(p, t["t"], w, item)

    def when(c):
        if c == "dup":
            return copy == "d"
        if c == "bill":
            return "bill" in t
        if c == "name":
            return "bill" in t and bool(t.get("cn"))
        if c == "aid":
            return bool(t.get("aid"))
        if c == "rrn":
            return bool(t.get("r"))
        if c == "ok":
            return approved
        if c == "orig":
            return bool(t.get("or")) and t["ty"] in ("void", "refund")
        if c == "offline":
            return approved and t.get("rc") == OFFLINE
        if c == "card_declined":
            return "crd" in t
        if c == "refused":
            return "crd" not in t and not approved
        if c == "pin":
            return "crd" not in t and approved and t.get("cv") == "pin"
        if c == "signature":
            return "crd" not in t and approved and t.get("cv") == "sig" and copy != "c"
        if c == "customer":
            return copy == "c"
        raise ValueError("receipt layout: unknown condition " + c)

    yield from _print(render(HEADER, tr, value, when, cols), ar)
    yield from _print(render(layout, tr, value, when, cols), ar)


# Printing ---------------------------------------------------------------------------------------------
_SETTLE_MS = const(300)   # after a copy, the printer may still be printing what it holds: wait, then ask


async def print_copy(term, lines, rows=None, printer=None):
    """Print one copy (lines: a function giving its lines), with the printer's status read before and
    after when the board wires its RX line (wasl.drivers.escpos_status, loaded for it): no paper, an
    open cover or no answer stops it with the reason on the screen; OK prints the copy again once the
    merchant has fixed it, CANCEL gives up. True when the copy came out whole. printer: what prints
    the lines (receipt_printer()), the board's printer by default."""
    hw = term.hw
    ui = term.ui
    pr = printer or hw.printer
    if not getattr(hw, "printer_status", False):
        _printing(ui, rows)
        _out(term, pr, lines)
        return True
    from wasl.drivers import escpos_status as ps

    try:
        while True:
            why = ps.problem(await ps.aread(hw.printer.uart))
            if why is None:
                _printing(ui, rows)
                _out(term, pr, lines)
                why = ps.problem(await ps.aread(hw.printer.uart, settle_ms=_SETTLE_MS))
                if why is None:
                    return True
            log.warn("print", "printer: %s", why)
            key = await ui.message([ui.t(why), ui.t("fix_then_ok"), "", ui.t("ok_cancel")], term.params.result_timeout_s,
                                   "error", "printer_problem")
            if key != "OK":
                return False
    finally:
        ps = None
        unload("wasl.drivers.escpos_status")


def _out(term, pr, lines):
    """The receipt logo (parameter receipt.logo, a PBM image printed as raster by
    wasl.drivers.escpos_raster, loaded for it), then the copy's lines. A logo that can no longer be read
    (the file went after boot) is skipped with a warning: the receipt itself always prints."""
    logo = term.params.receipt_logo
    if logo:
        import sys

        loaded = [n for n in ("wasl.drivers.escpos_raster", "wasl.drivers.fold") if n not in sys.modules]
        try:
            from wasl.drivers.escpos_raster import Raster

            Raster(term.hw.printer.uart).logo(logo)
        except (OSError, ValueError, MemoryError) as e:   # the receipt still prints, without it
            log.warn("print", "receipt logo not printed: %r", e)
        finally:
            Raster = None
            unload(*loaded)
    pr.print_lines(lines())


def _printing(ui, rows):
    if rows:
        ui.show(rows[0], rows[1], rows[2], ui.t("printing"), align="c")
    else:
        ui.show(ui.t("printing"), align="c")


# What printing a bilingual receipt may load (dropped afterwards unless it was there before)
_BILINGUAL = ("wasl.ui.lang_fr", "wasl.ui.lang_ar", "wasl.ui.arabic", "wasl.ui.font16", "wasl.drivers.escpos_arabic")


def receipt_printer(term, ar):
    """The board's printer; for a bilingual receipt (ar: the Arabic table) the driver that prints its
    Arabic lines too (wasl.drivers.escpos_arabic: the printer's code page, or raster)."""
    if ar is None:
        return term.hw.printer
    from wasl.drivers.escpos_arabic import Bilingual

    return Bilingual(term.hw.printer)


async def print_receipts(term, t, copies=None, rows=None):
    """Merchant then (after a prompt) customer copy; a declined transaction prints the customer copy.
    Each printed copy is journaled, so a reboot knows what is still to print. rows: the outcome's
    screen, kept above the "printing" line."""
    ui = term.ui
    approved = batch_approved(t)
    if copies is None:
        copies = "mc" if approved else "c"
    ui.state("printing")
    import sys

    loaded = [n for n in _BILINGUAL if n not in sys.modules] if term.params.receipt_bilingual else ()
    tr, ar = tables(ui, term.params)
    printer = receipt_printer(term, ar)
    for i, copy in enumerate(copies):
        if i:
            key = await ui.message([ui.t("approved"), "", ui.t("customer_copy_q")], 15, None, "copy_prompt")
            if key == "CANCEL":
                break
        if not await print_copy(term, lambda: txn_receipt(term.params, tr, t, copy, ar=ar), rows, printer):
            break           # not journaled: the reprint menu (and a reboot) still owe this copy
        term.batch.record({"e": "prt", "s": t["s"], "c": copy})
    tr = ar = printer = None
    unload(__name__, *loaded)        # this module too: loaded for the printing only
    ui.state("result")
    why = "" if approved else ui.t("card_declined") if "crd" in t else ui.t(text_key(t.get("rc", ""), ui.tr))
    await ui.message([ui.t("approved") if approved else ui.t("declined"), why], 5, None, None)
