# Translations live in one module per language (lang_<code>.py): a single string constant of
# "key=value" lines, which stays in flash on the device (frozen or ROMFS) instead of becoming a dict in
# RAM. Only the active language is imported. Arabic arrives with the graphic renderer.

LANGUAGES = ("fr", "en")
DEFAULT = "fr"


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


def table(lang):
    """The active language's table; other languages' modules are dropped from RAM."""
    import sys

    if lang not in LANGUAGES:
        lang = DEFAULT
    for other in LANGUAGES:
        if other != lang:
            sys.modules.pop("wasl.ui.lang_" + other, None)
    return Table(__import__("wasl.ui.lang_" + lang, None, None, ("T",)).T)
