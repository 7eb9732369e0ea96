# Translations live in one module per language (lang_<code>.py): a single string constant of
# "key=value" lines, which stays in flash on the device (frozen or ROMFS) instead of becoming a dict in
# RAM. Only the active language is imported, and the receipts' when it differs.
# Arabic (RTL): screens show it shaped and in display order (wasl.ui.arabic); receipts print in French
# until the printer can draw it (an Arabic code page or a raster font: docs/arabic.md).

LANGUAGES = ("fr", "en", "ar")
DEFAULT = "fr"
RTL = ("ar",)
_RECEIPT = {"ar": "fr"}     # the language receipts print in, when the printer cannot print this one


class Table:
    """tr[key] / tr.get(key, default) over a language's text; each lookup returns a new short str."""

    def __init__(self, text):
        self._text = text

    def get(self, key, default=None):
        text = self._text
        i = text.find("\n" + key + "=")
        if i < 0:
            return default
        i += len(key) + 2
        return text[i:text.find("\n", i)]

    def __getitem__(self, key):
        v = self.get(key)
        if v is None:
            raise KeyError(key)
        return v

    def keys(self):
        return [ln.split("=", 1)[0] for ln in self._text.split("\n") if ln]


def text_key(rc, tr):
    """The key of a host response code's words in table tr: "rc_<code>", or "rc_refused" for a code
    without words (docs/host-interface.md, section 7)."""
    key = "rc_" + rc
    return key if tr.get(key) is not None else "rc_refused"


def table(lang, keep=None):
    """The language's table; the modules of languages other than lang and keep are dropped from RAM."""
    import sys

    if lang not in LANGUAGES:
        lang = DEFAULT
    for other in LANGUAGES:
        if other != lang and other != keep:
            sys.modules.pop("wasl.ui.lang_" + other, None)
    return Table(__import__("wasl.ui.lang_" + lang, None, None, ("T",)).T)


def receipt_language(lang):
    return _RECEIPT.get(lang, lang)
