# The merchant menu: its screen, and the entry chosen. The menu holds only what its screen needs; each
# entry is a module of its own (wasl.txn.void, .refund, .bill, .settle, .reprint, .x_report, .echo,
# .settings; a sale is wasl.txn.sale), loaded when chosen. The whole visit leaves RAM afterwards
# (wasl.app.merchant_menu), so the idle terminal does not carry it, and a visit holds the code of the
# entry it runs, not of every entry.
MENU = ("sale", "void", "refund", "bill", "settle", "reprint", "x_report", "echo", "settings", "tms")


async def menu(term):
    from wasl.ui.prompts import choose

    ui = term.ui
    i = await choose(ui, ui.t("menu"), [ui.t(k) for k in MENU], term.params.idle_timeout_s)
    choose = None       # the entries use the prompts, then drop them before the host's or the card's turn
    if isinstance(i, str):
        return {"outcome": i}
    key = MENU[i]
    if key == "sale":
        return await __import__("wasl.txn.sale", None, None, ("card_transaction",)).card_transaction(term, "sale")
    if key == "tms":
        # a TMS call asked by the merchant or a technician: made as soon as the menu has left RAM
        # (wasl.app.tms, docs/tms.md)
        term.tms_asked = True
        term.tms_due = 1
        return {"outcome": "tms"}
    # the entry's module has a coroutine of the same name (wasl.txn.void.void)
    return await getattr(__import__("wasl.txn." + key, None, None, (key,)), key)(term)
