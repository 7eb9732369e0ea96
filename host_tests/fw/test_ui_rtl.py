# wasl.ui.screen with an Arabic terminal: rows shaped and in display order (wasl.ui.arabic), a row's
# start on the right, centred rows centred; receipts in French; an unknown language is refused.
from fwtest import raises
from test_params import base_doc
from wasl.params import ParamError, parse
from wasl.ui.screen import Ui


class _Lcd:
    rows = 4
    cols = 20

    def __init__(self):
        self.frames = []

    def show(self, rows):
        self.frames.append(list(rows))


class _Hw:
    def __init__(self):
        self.lcd = _Lcd()
        self.events = None


def test_arabic_rows_are_shaped_and_start_on_the_right():
    hw = _Hw()
    ui = Ui(hw, "ar")
    assert ui.rtl and ui.tr.get("approved") == "مقبولة"
    ui.show(ui.t("approved"), "125,00 DZD", "", "")
    rows = hw.lcd.frames[-1]
    # مقبولة in presentation forms, in display order (ArabicShaping.txt: teh marbuta final FE94, lam
    # initial FEDF (waw before it joins only to the right), waw final FEEE, beh medial FE92, qaf medial
    # FED8, meem initial FEE3)
    assert rows[0] == " " * 14 + "\ufe94\ufedf\ufeee\ufe92\ufed8\ufee3", repr(rows[0])
    assert rows[1] == " " * 10 + "125,00 DZD"
    ui.show(ui.t("approved"), align="c")
    assert hw.lcd.frames[-1][0].strip() == "\ufe94\ufedf\ufeee\ufe92\ufed8\ufee3"
    assert hw.lcd.frames[-1][0].startswith(" " * 7)
    ui.show("AB", align="r")                 # "right" on an RTL screen is its end: the left
    assert hw.lcd.frames[-1][0] == "AB" + " " * 18


def test_receipts_of_an_arabic_terminal_are_french():
    ui = Ui(_Hw(), "ar")
    assert ui.rtr.get("approved") == "ACCEPTEE" and ui.tr.get("approved") != "ACCEPTEE"
    ui = Ui(_Hw(), "en")
    assert ui.rtr is ui.tr and not ui.rtl
    assert ui.show("HELLO") is None and ui.lcd.frames[-1][0] == "HELLO" + " " * 15


def test_a_display_that_cannot_draw_arabic_shows_french():
    hw = _Hw()
    hw.lcd.arabic = False                    # the HD44780's answer (wasl.drivers.hd44780)
    ui = Ui(hw, "ar")
    assert ui.lang == "ar" and ui.shown == "fr" and not ui.rtl
    assert ui.t("approved") == "ACCEPTEE" and ui.rtr.get("approved") == "ACCEPTEE"
    ui.show(ui.t("approved"))
    assert hw.lcd.frames[-1][0] == "ACCEPTEE" + " " * 12
    ui.set_language("en")                    # other languages are shown as they are
    assert ui.shown == "en" and ui.t("approved") == "APPROVED"
    from wasl.drivers.hd44780 import HD44780
    from wasl.drivers.ssd1306 import SSD1306
    from wasl.drivers.st7789 import ST7789
    from wasl.ui.glyphs import Screen
    assert not HD44780.arabic and not SSD1306.arabic and not ST7789.arabic and Screen.arabic


def test_language_parameter_is_checked():
    doc = base_doc()
    doc["language"] = "ar"
    assert parse(doc).language == "ar"
    doc["language"] = "de"
    assert raises(ParamError, parse, doc).param == "language"


def test_the_card_chooses_the_language_of_its_pin_prompt():
    from wasl.txn.chip import card_language
    assert card_language("frar", "en") == "fr"      # EMV Book 1: the first the terminal speaks
    assert card_language("dear", "fr") == "ar"
    assert card_language("de", "en") == "en"        # none: the merchant's
    assert card_language("", "ar") == "ar"
    assert card_language("f", "en") == "en"         # a stray letter is no language
