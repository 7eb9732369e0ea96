# SETTINGS from the merchant menu (wasl.txn.merchant): the merchant's language. Loaded when chosen.
from wasl.ui.prompts import choose

# Each language named in itself, in wasl.ui.strings.LANGUAGES's order (fr, en, ar).
_NAMES = ("FRANCAIS", "ENGLISH", "\u0627\u0644\u0639\u0631\u0628\u064a\u0629")


async def settings(term):
    """The merchant's language (screens and receipts; the card's preference still chooses its PIN
    prompt): saved on the terminal's storage (wasl.app.SETTINGS), it wins over the parameter `language`
    from the next boot on, and the screens switch at once. No supervisor PIN: it moves no money and the
    next merchant can switch back."""
    from wasl import log, store
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
