# wasl.ui.strings: the language tables agree with each other, the screen and the host interface.
from fwtest import ROOT, raises, read_text
from wasl.host.messages import APPROVED, ENTRY_MODE
from wasl.ui.strings import DEFAULT, LANGUAGES, RTL, Table, table, text_key

SCREEN_COLS = 20
RECEIPT_COLS = 32


def doc_response_codes():
    """The codes of docs/host-interface.md section 7 ("| `00` | approved | ...")."""
    text = read_text(ROOT + "/docs/host-interface.md")
    sec = text.split("\n## 7.", 1)[1].split("\n## 8.", 1)[0]
    codes = []
    for line in sec.split("\n"):
        if line.startswith("| `"):
            code = line[3:].split("`", 1)[0]
            codes.append(code)
    return codes


def test_languages():
    assert "en" in LANGUAGES and "fr" in LANGUAGES
    assert DEFAULT in LANGUAGES


def test_same_keys_as_english():
    en = table("en").keys()
    assert len(en) == len(set(en)), "duplicate key in en"
    assert len(en) > 50
    for lang in LANGUAGES:
        keys = table(lang).keys()
        assert len(keys) == len(set(keys)), "duplicate key in " + lang
        missing = [k for k in en if k not in keys]
        extra = [k for k in keys if k not in en]
        assert not missing and not extra, (lang, missing, extra)


def test_no_empty_values():
    for lang in LANGUAGES:
        tr = table(lang)
        for k in tr.keys():
            assert tr[k] != "", (lang, k)
            assert tr[k] == tr[k].strip(), (lang, k)


def test_screen_strings_fit_the_display():
    for lang in LANGUAGES:
        tr = table(lang)
        for k in tr.keys():
            if not k.startswith("r_"):
                assert len(tr[k]) <= SCREEN_COLS, (lang, k, tr[k])


def test_receipt_strings_fit_the_paper():
    for lang in LANGUAGES:
        tr = table(lang)
        for k in tr.keys():
            if k.startswith("r_"):
                assert len(tr[k]) <= RECEIPT_COLS, (lang, k, tr[k])


def test_printable_ascii_only():
    # the LCD and the printer's code page get these bytes as they are; a right-to-left language adds
    # the letters of its script, which the screen shapes (wasl.ui.arabic) and receipts never print
    for lang in LANGUAGES:
        tr = table(lang)
        for k in tr.keys():
            for c in tr[k]:
                assert " " <= c <= "~" or (lang in RTL and "\u0600" <= c <= "\u06ff"), (lang, k, tr[k])


def test_every_documented_response_code_has_words():
    codes = doc_response_codes()
    known = ("00", "01", "03", "05", "12", "13", "14", "30", "51", "54", "55", "57", "61", "91", "96")
    assert not [c for c in known if c not in codes], codes      # the section was parsed
    for lang in LANGUAGES:
        tr = table(lang)
        for code in codes:
            assert tr.get("rc_" + code) is not None, (lang, code)
            assert text_key(code, tr) == "rc_" + code
        assert tr.get("rc_refused") is not None
        assert text_key("77", tr) == "rc_refused"
        assert text_key("", tr) == "rc_refused"
    assert APPROVED == "00"


def test_messages_the_firmware_builds_from_reasons_exist():
    from wasl.host import link

    reasons = (link.CONNECT, link.TLS, link.TIMEOUT, link.CLOSED, link.PARTIAL, link.TOO_LONG)
    for lang in LANGUAGES:
        tr = table(lang)
        for reason in reasons:
            assert tr.get("link_" + reason) is not None, (lang, reason)
        assert tr.get("link_invalid") is not None
        for key in ("card_read_error", "card_invalid", "card_expired", "sale", "approved", "declined"):
            assert tr.get(key) is not None, (lang, key)
        for entry in ENTRY_MODE:
            assert tr.get("r_entry_" + entry) is not None, (lang, entry)


def test_table_lookup():
    t = Table("\nab=1\nabc=two words\nx=a=b\n")
    assert t["ab"] == "1"
    assert t["abc"] == "two words"
    assert t["x"] == "a=b"
    assert t.get("a") is None and t.get("zz", "d") == "d"
    raises(KeyError, lambda: t["b"])
    assert t.keys() == ["ab", "abc", "x"]


def test_unknown_language_falls_back_to_default():
    assert table("xx").keys() == table(DEFAULT).keys()
    assert table("xx")["sale"] == table(DEFAULT)["sale"]
    assert table("en")["sale"] == "SALE"
