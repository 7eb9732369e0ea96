# wasl.ui.arabic (shaping, one-line bidi) and the Arabic table wasl.ui.lang_ar.
#
# Expected code points are written out by hand from the Unicode Standard, not from the module:
#  - the letters' forms from the Arabic Presentation Forms-B chart (U+FE70..U+FEFF; names such as
#    "ARABIC LETTER BEH INITIAL FORM", UnicodeData.txt decomposition "<initial> 0628") and, for alef
#    maksura's initial/medial and the Persian letters, Presentation Forms-A (U+FB50..U+FDFF);
#  - which letters join on which side from ArabicShaping.txt (Joining_Type D, R, U, C, T);
#  - the display order from UAX #9 (Unicode Bidirectional Algorithm) rules W1-W7, N0-N2, I1-I2, L1-L4.
# On CPython the tables themselves are also checked against the unicodedata module (UnicodeData.txt):
# every form decomposes to the letter it stands for, and the bidi classes match. MicroPython has no
# unicodedata: there those two tests only check what needs no reference.
from fwtest import raises
from wasl.ui import arabic, lang_ar, lang_en
from wasl.ui.arabic import is_rtl, shape, visual
from wasl.ui.strings import Table

SCREEN_COLS = 20    # as host_tests/fw/test_strings.py: the 4x20 LCD
RECEIPT_COLS = 32   # and the 58 mm printer's font A
BIG_COLS = 16       # double-size receipt lines (wasl/txn/receipt.py style "B")

try:
    import unicodedata
except ImportError:  # MicroPython
    unicodedata = None


def cps(s):
    return [ord(c) for c in s]


def s_(*codes):
    return "".join(chr(c) for c in codes)


# Dual-joining letters (ArabicShaping.txt: D): letter, isolated, final, initial, medial
# (Presentation Forms-B chart).
DUAL = (
    (0x0626, 0xFE89, 0xFE8A, 0xFE8B, 0xFE8C),   # yeh with hamza above
    (0x0628, 0xFE8F, 0xFE90, 0xFE91, 0xFE92),   # beh
    (0x062A, 0xFE95, 0xFE96, 0xFE97, 0xFE98),   # teh
    (0x062B, 0xFE99, 0xFE9A, 0xFE9B, 0xFE9C),   # theh
    (0x062C, 0xFE9D, 0xFE9E, 0xFE9F, 0xFEA0),   # jeem
    (0x062D, 0xFEA1, 0xFEA2, 0xFEA3, 0xFEA4),   # hah
    (0x062E, 0xFEA5, 0xFEA6, 0xFEA7, 0xFEA8),   # khah
    (0x0633, 0xFEB1, 0xFEB2, 0xFEB3, 0xFEB4),   # seen
    (0x0634, 0xFEB5, 0xFEB6, 0xFEB7, 0xFEB8),   # sheen
    (0x0635, 0xFEB9, 0xFEBA, 0xFEBB, 0xFEBC),   # sad
    (0x0636, 0xFEBD, 0xFEBE, 0xFEBF, 0xFEC0),   # dad
    (0x0637, 0xFEC1, 0xFEC2, 0xFEC3, 0xFEC4),   # tah
    (0x0638, 0xFEC5, 0xFEC6, 0xFEC7, 0xFEC8),   # zah
    (0x0639, 0xFEC9, 0xFECA, 0xFECB, 0xFECC),   # ain
    (0x063A, 0xFECD, 0xFECE, 0xFECF, 0xFED0),   # ghain
    (0x0641, 0xFED1, 0xFED2, 0xFED3, 0xFED4),   # feh
    (0x0642, 0xFED5, 0xFED6, 0xFED7, 0xFED8),   # qaf
    (0x0643, 0xFED9, 0xFEDA, 0xFEDB, 0xFEDC),   # kaf
    (0x0644, 0xFEDD, 0xFEDE, 0xFEDF, 0xFEE0),   # lam
    (0x0645, 0xFEE1, 0xFEE2, 0xFEE3, 0xFEE4),   # meem
    (0x0646, 0xFEE5, 0xFEE6, 0xFEE7, 0xFEE8),   # noon
    (0x0647, 0xFEE9, 0xFEEA, 0xFEEB, 0xFEEC),   # heh
    (0x064A, 0xFEF1, 0xFEF2, 0xFEF3, 0xFEF4),   # yeh
    (0x0649, 0xFEEF, 0xFEF0, 0xFBE8, 0xFBE9),   # alef maksura (initial/medial: Presentation Forms-A)
    (0x067E, 0xFB56, 0xFB57, 0xFB58, 0xFB59),   # peh (Presentation Forms-A)
    (0x0686, 0xFB7A, 0xFB7B, 0xFB7C, 0xFB7D),   # tcheh
    (0x06A4, 0xFB6A, 0xFB6B, 0xFB6C, 0xFB6D),   # veh
    (0x06A9, 0xFB8E, 0xFB8F, 0xFB90, 0xFB91),   # keheh
    (0x06AF, 0xFB92, 0xFB93, 0xFB94, 0xFB95),   # gaf
    (0x06CC, 0xFBFC, 0xFBFD, 0xFBFE, 0xFBFF),   # farsi yeh
)

# Right-joining letters (ArabicShaping.txt: R): letter, isolated, final.
RIGHT = (
    (0x0622, 0xFE81, 0xFE82),   # alef with madda above
    (0x0623, 0xFE83, 0xFE84),   # alef with hamza above
    (0x0624, 0xFE85, 0xFE86),   # waw with hamza above
    (0x0625, 0xFE87, 0xFE88),   # alef with hamza below
    (0x0627, 0xFE8D, 0xFE8E),   # alef
    (0x0629, 0xFE93, 0xFE94),   # teh marbuta
    (0x062F, 0xFEA9, 0xFEAA),   # dal
    (0x0630, 0xFEAB, 0xFEAC),   # thal
    (0x0631, 0xFEAD, 0xFEAE),   # reh
    (0x0632, 0xFEAF, 0xFEB0),   # zain
    (0x0648, 0xFEED, 0xFEEE),   # waw
    (0x0671, 0xFB50, 0xFB51),   # alef wasla (Presentation Forms-A)
    (0x0698, 0xFB8A, 0xFB8B),   # jeh
)

BEH = 0x0628
TATWEEL = 0x0640


# ---- shaping: each letter in each position ---------------------------------------------------

def test_dual_joining_letters_in_all_four_positions():
    for letter, iso, fin, ini, med in DUAL:
        c = chr(letter)
        assert cps(shape(c)) == [iso], hex(letter)
        assert cps(shape(c + c)) == [ini, fin], hex(letter)
        assert cps(shape(c + c + c)) == [ini, med, fin], hex(letter)
        # between beh on both sides: medial; after beh: final; before beh: initial
        b = chr(BEH)
        assert cps(shape(b + c + b)) == [0xFE91, med, 0xFE90], hex(letter)
        assert cps(shape(b + c)) == [0xFE91, fin], hex(letter)
        assert cps(shape(c + b)) == [ini, 0xFE90], hex(letter)


def test_right_joining_letters_join_only_the_letter_before():
    b = chr(BEH)
    for letter, iso, fin in RIGHT:
        c = chr(letter)
        assert cps(shape(c)) == [iso], hex(letter)
        assert cps(shape(b + c)) == [0xFE91, fin], hex(letter)
        # the letter after a right-joining one starts a new joined group
        assert cps(shape(c + b)) == [iso, 0xFE8F], hex(letter)
        assert cps(shape(b + c + b)) == [0xFE91, fin, 0xFE8F], hex(letter)


def test_non_joining_and_unshaped_characters():
    # hamza (U): isolated form U+FE80, never joins; Latin, digits, spaces pass unchanged
    assert cps(shape("\u0621")) == [0xFE80]
    assert cps(shape("\u0628\u0621\u0628")) == [0xFE8F, 0xFE80, 0xFE8F]
    assert shape("") == ""
    assert shape("SALE 125,00 DZD") == "SALE 125,00 DZD"
    # already shaped text is left alone (presentation forms are non-joining)
    once = shape("\u0633\u0644\u0627\u0645")
    assert shape(once) == once


def test_lam_alef_ligatures():
    # Presentation Forms-B: LAM WITH ALEF MADDA ABOVE / HAMZA ABOVE / HAMZA BELOW / ALEF,
    # isolated and final forms
    for alef, iso, fin in ((0x0622, 0xFEF5, 0xFEF6), (0x0623, 0xFEF7, 0xFEF8),
                           (0x0625, 0xFEF9, 0xFEFA), (0x0627, 0xFEFB, 0xFEFC)):
        assert cps(shape("\u0644" + chr(alef))) == [iso], hex(alef)
        assert cps(shape("\u0628\u0644" + chr(alef))) == [0xFE91, fin], hex(alef)
        # the ligature is right-joining: the next letter starts again
        assert cps(shape("\u0644" + chr(alef) + "\u0628")) == [iso, 0xFE8F], hex(alef)
    assert cps(shape("\u0644\u0627")) == [0xFEFB]                        # la
    # lam before other right-joining letters is no ligature
    assert cps(shape("\u0644\u062F")) == [0xFEDF, 0xFEAA]


def test_words():
    cases = (
        ("\u0633\u0644\u0627\u0645", (0xFEB3, 0xFEFC, 0xFEE1)),                        # salam
        ("\u0627\u0644\u0644\u0647", (0xFE8D, 0xFEDF, 0xFEE0, 0xFEEA)),                # allah (no U+FDF2)
        ("\u0628\u064A\u0639", (0xFE91, 0xFEF4, 0xFECA)),                              # sale
        ("\u0627\u0633\u062A\u0631\u062F\u0627\u062F",                                 # refund
         (0xFE8D, 0xFEB3, 0xFE98, 0xFEAE, 0xFEA9, 0xFE8D, 0xFEA9)),
        ("\u0645\u0642\u0628\u0648\u0644\u0629",                                       # approved
         (0xFEE3, 0xFED8, 0xFE92, 0xFEEE, 0xFEDF, 0xFE94)),
        ("\u0645\u0631\u0641\u0648\u0636\u0629",                                       # declined
         (0xFEE3, 0xFEAE, 0xFED3, 0xFEEE, 0xFEBF, 0xFE94)),
        ("\u0625\u0644\u063A\u0627\u0621", (0xFE87, 0xFEDF, 0xFED0, 0xFE8E, 0xFE80)),  # void
        ("\u062A\u0633\u0648\u064A\u0629", (0xFE97, 0xFEB4, 0xFEEE, 0xFEF3, 0xFE94)),  # settlement
        ("\u0648\u0631\u062F", (0xFEED, 0xFEAD, 0xFEA9)),                              # right-joiners only
        ("\u0639\u0644\u0649", (0xFECB, 0xFEE0, 0xFEF0)),                              # 'ala: alef maksura
        ("\u0628\u0626\u0631", (0xFE91, 0xFE8C, 0xFEAE)),                              # yeh with hamza
        ("\u0633\u0624\u0627\u0644", (0xFEB3, 0xFE86, 0xFE8D, 0xFEDD)),                # waw with hamza
        ("\u0645\u0633\u0623\u0644\u0629", (0xFEE3, 0xFEB4, 0xFE84, 0xFEDF, 0xFE94)),  # alef hamza final
        ("\u0627\u0644\u0622\u0646", (0xFE8D, 0xFEF5, 0xFEE5)),                        # lam-alef madda
        ("\u0628\u0644\u0627", (0xFE91, 0xFEFC)),                                      # final lam-alef
        ("\u0634\u0643\u0631\u0627", (0xFEB7, 0xFEDC, 0xFEAE, 0xFE8D)),                # thanks
    )
    for word, expect in cases:
        assert cps(shape(word)) == list(expect), (word, [hex(c) for c in cps(shape(word))])


def test_harakat_are_transparent_and_may_be_dropped():
    word = "\u0628\u064E\u064A\u0652\u0639"           # beh fatha yeh sukun ain
    assert cps(shape(word)) == [0xFE91, 0x064E, 0xFEF4, 0x0652, 0xFECA]
    assert cps(shape(word, marks=False)) == [0xFE91, 0xFEF4, 0xFECA]
    # shadda + fatha on a final letter; tanwin after a right-joiner
    assert cps(shape("\u0645\u0631\u0651\u064E")) == [0xFEE3, 0xFEAE, 0x0651, 0x064E]
    assert cps(shape("\u0634\u0643\u0631\u0627\u064B", marks=False)) == [0xFEB7, 0xFEDC, 0xFEAE, 0xFE8D]
    # a mark between lam and alef still makes the ligature, and follows it
    assert cps(shape("\u0644\u064E\u0627")) == [0xFEFB, 0x064E]
    assert cps(shape("\u0644\u064E\u0627", marks=False)) == [0xFEFB]
    # every haraka U+064B..U+0652 and the superscript alef U+0670
    for m in list(range(0x064B, 0x0653)) + [0x0670]:
        assert cps(shape("\u0628" + chr(m) + "\u0628", marks=False)) == [0xFE91, 0xFE90], hex(m)


def test_tatweel_and_joiners():
    t = chr(TATWEEL)
    assert cps(shape("\u0628" + t)) == [0xFE91, TATWEEL]                 # tatweel causes joining
    assert cps(shape(t + "\u0628")) == [TATWEEL, 0xFE90]
    assert cps(shape("\u0628" + t + "\u0628")) == [0xFE91, TATWEEL, 0xFE90]
    assert cps(shape("\u0628\u200D")) == [0xFE91]                          # ZWJ joins, is dropped
    assert cps(shape("\u0628\u200C\u0628")) == [0xFE8F, 0xFE8F]            # ZWNJ breaks, is dropped
    assert cps(shape("\u0649\u0628")) == [0xFBE8, 0xFE90]                  # alef maksura, initial


def test_forms_match_unicodedata():
    """CPython only: every form in the tables above decomposes (UnicodeData.txt) to its letter."""
    if unicodedata is None:
        return
    for letter, iso, fin, ini, med in DUAL:
        for form, tag in ((iso, "<isolated>"), (fin, "<final>"), (ini, "<initial>"), (med, "<medial>")):
            assert unicodedata.decomposition(chr(form)) == "%s %04X" % (tag, letter), hex(form)
    for letter, iso, fin in RIGHT:
        for form, tag in ((iso, "<isolated>"), (fin, "<final>")):
            assert unicodedata.decomposition(chr(form)) == "%s %04X" % (tag, letter), hex(form)
    assert unicodedata.decomposition("\uFE80") == "<isolated> 0621"
    for lig, alef in ((0xFEF5, 0x0622), (0xFEF7, 0x0623), (0xFEF9, 0x0625), (0xFEFB, 0x0627)):
        assert unicodedata.decomposition(chr(lig)) == "<isolated> 0644 %04X" % alef
        assert unicodedata.decomposition(chr(lig + 1)) == "<final> 0644 %04X" % alef
    # and the module shapes every letter U+0621..U+064A (and its extra letters) to forms of itself
    for letter in list(range(0x0621, 0x064B)) + [0x0671, 0x067E, 0x0686, 0x0698, 0x06A4, 0x06A9, 0x06AF, 0x06CC]:
        c = chr(letter)
        for out in shape(c + c + c) + shape(c):
            d = unicodedata.decomposition(out)
            assert out == c or d.endswith(" %04X" % letter), (hex(letter), hex(ord(out)), d)


def test_bidi_classes_match_unicodedata():
    """CPython only: the module's bidi class table is exact over the ranges it claims."""
    if unicodedata is None:
        assert arabic._bidi(0x0628) == ord("A") and arabic._bidi(0x0661) == ord("N")
        return
    names = {"L": "L", "R": "R", "AL": "A", "EN": "E", "ES": "+", "ET": "%", "AN": "N", "CS": ",",
             "NSM": "M", "ON": "O", "WS": " ", "B": " ", "S": "S", "BN": "B"}
    bad = []
    for lo, hi in ((0, 0x2B9), (0x300, 0x370), (0x600, 0x700), (0x750, 0x780), (0x2000, 0x2066),
                   (0x206A, 0x20D0), (0xFB50, 0xFE00), (0xFE00, 0xFE50), (0xFE70, 0xFF00)):
        for c in range(lo, hi):
            cls = unicodedata.bidirectional(chr(c))
            if cls and chr(arabic._bidi(c)) != names.get(cls, "B"):
                bad.append("%04X %s" % (c, cls))
    assert not bad, bad


# ---- bidi: display order ----------------------------------------------------------------------

AMOUNT = "\u0627\u0644\u0645\u0628\u0644\u063A"                 # al-mablagh, "the amount"
AMOUNT_VIS = s_(0xFECE, 0xFEE0, 0xFE92, 0xFEE4, 0xFEDF, 0xFE8D)    # its shaped forms, reversed


def test_is_rtl():
    assert is_rtl(AMOUNT)
    assert is_rtl("125 " + AMOUNT)              # digits are not strong: the first strong is Arabic
    assert is_rtl("(" + AMOUNT + ")")
    assert not is_rtl("OK " + AMOUNT)
    assert not is_rtl("SALE")
    assert not is_rtl("125,00")
    assert not is_rtl("")
    assert is_rtl("\u200F125")                  # RLM is a strong RTL character
    assert is_rtl("\u05E9")                     # Hebrew


def test_arabic_word_is_reversed():
    assert visual(AMOUNT) == AMOUNT_VIS
    assert cps(visual("\u0633\u0644\u0627\u0645")) == [0xFEE1, 0xFEFC, 0xFEB3]
    assert visual("") == ""


def test_amount_line():
    # UAX #9: digits after Arabic letters are AN (W2), the comma between them joins them (W4), ":" and
    # the spaces take the direction around them (N1/N2); "125,00" and "DZD" keep their own order.
    assert visual(AMOUNT + ": 125,00 DZD") == "DZD 125,00 :" + AMOUNT_VIS
    # the thousands space of wasl.money.format_amount stays inside the number (not UAX #9: see docs)
    assert visual(AMOUNT + ": 1 500,00 DZD") == "DZD 1 500,00 :" + AMOUNT_VIS
    # a minus sign before Arabic-context digits is a neutral (W6), so it ends up on the number's right,
    # as UAX #9 has it: receipts print signed amounts on a line of their own (left to right)
    assert visual(AMOUNT + ": -1 500,00 DZD") == "DZD 1 500,00- :" + AMOUNT_VIS
    # an amount that starts an Arabic line (its right on the glass); the line starts with a Latin
    # letter's run, so its direction must be given
    assert visual("125,00 DZD " + AMOUNT, rtl=True) == AMOUNT_VIS + " DZD 125,00"
    assert visual("125,00 DZD " + AMOUNT) == "125,00 DZD " + AMOUNT_VIS


def test_number_between_words():
    line = "\u0631\u0642\u0645 0012 \u0628\u0637\u0627\u0642\u0629"   # "number 0012 card"
    card_vis = s_(0xFE94, 0xFED7, 0xFE8E, 0xFEC4, 0xFE91)
    num_vis = s_(0xFEE2, 0xFED7, 0xFEAD)
    assert visual(line) == card_vis + " 0012 " + num_vis
    # Arabic-Indic digits (AN) keep their order too
    assert visual("\u0631\u0642\u0645 \u0661\u0662") == "\u0661\u0662 " + num_vis


def test_masked_pan_stays_in_order():
    card = "\u0627\u0644\u0628\u0637\u0627\u0642\u0629"
    card_vis = s_(0xFE94, 0xFED7, 0xFE8E, 0xFEC4, 0xFE92, 0xFEDF, 0xFE8D)
    assert visual(card + " 476173******0010") == "476173******0010 " + card_vis
    assert visual(card + ": ****0010") == "****0010 :" + card_vis


def test_brackets_and_colons():
    # N0: the brackets around a Latin word in an Arabic line are right-to-left, so they are mirrored
    # (L4) and come out around the word
    assert visual(AMOUNT + " (DZD)") == "(DZD) " + AMOUNT_VIS
    assert visual(AMOUNT + " (12)") == "(12) " + AMOUNT_VIS
    assert visual("(" + AMOUNT + ")") == "(" + AMOUNT_VIS + ")"
    assert visual(AMOUNT + ":") == ":" + AMOUNT_VIS
    assert visual(AMOUNT + " [1]") == "[1] " + AMOUNT_VIS
    # in a left-to-right line, brackets are not mirrored
    assert visual("TOTAL (" + AMOUNT + ")") == "TOTAL (" + AMOUNT_VIS + ")"


def test_arabic_inside_a_latin_line():
    # LTR line (first strong is L): the Arabic run is reversed in place, its trailing number with it
    assert visual("TOTAL " + AMOUNT + " 12") == "TOTAL 12 " + AMOUNT_VIS
    assert visual("TOTAL " + AMOUNT + " DZD") == "TOTAL " + AMOUNT_VIS + " DZD"
    # forcing the direction
    assert visual("OK " + AMOUNT, rtl=True) == AMOUNT_VIS + " OK"


def test_latin_lines_unchanged():
    for line in ("SALE", "PRINTING...", "OK=GO  RED=CANCEL", "125,00 DZD", "(12) - 3 + 4%", "",
                 "PIN: 4 TO 12 DIGITS", "476173******0010", "CL\u00c9 INVALIDE"):
        assert visual(line) == line, line
    for k in Table(lang_en.T).keys():
        v = Table(lang_en.T)[k]
        assert visual(v) == v, (k, v)


def test_width_alignment_and_truncation():
    sale_vis = s_(0xFECA, 0xFEF4, 0xFE91)
    assert visual("\u0628\u064A\u0639", 8) == "     " + sale_vis      # RTL: right-aligned
    assert visual("SALE", 8) == "SALE    "                           # LTR: left-aligned
    assert visual("", 4) == "    "
    assert visual("", 4, rtl=True) == "    "
    assert len(visual(AMOUNT + ": 125,00 DZD", 20)) == 20
    # too long: the logical end goes (the left of an RTL line, the right of an LTR line)
    assert visual(AMOUNT + ": 125,00 DZD", 10) == "00 :" + AMOUNT_VIS
    assert visual("PRINTING...", 5) == "PRINT"
    # columns count glyphs: a lam-alef ligature is one
    assert visual("\u0633\u0644\u0627\u0645", 3) == s_(0xFEE1, 0xFEFC, 0xFEB3)


def test_marks_in_display_order():
    word = "\u0628\u064E\u064A\u0652\u0639"
    assert cps(visual(word)) == [0xFECA, 0xFEF4, 0xFE91]                # dropped by default
    # kept: each still follows its letter after reordering (L3), and takes no column
    assert cps(visual(word, marks=True)) == [0xFECA, 0xFEF4, 0x0652, 0xFE91, 0x064E]
    assert cps(visual(word, 4, marks=True)) == [0x20, 0xFECA, 0xFEF4, 0x0652, 0xFE91, 0x064E]


def test_invisible_controls_are_not_drawn():
    # RLM makes a Latin-led line right-to-left; ZWJ, LRM, RLM, ALM, BOM are not output
    assert visual("\u200FOK " + AMOUNT) == AMOUNT_VIS + " OK"
    assert visual("\u200ESALE\u200E") == "SALE"
    assert visual("\uFEFF" + AMOUNT) == AMOUNT_VIS


def test_bad_input():
    raises(AttributeError, visual, None)
    raises(AttributeError, shape, 125)
    # characters outside the BMP and unpaired brackets go through
    assert visual("OK \U0001F600") == "OK \U0001F600"
    assert visual(AMOUNT + " (") == ") " + AMOUNT_VIS    # trailing neutral: RTL, mirrored
    assert visual(")(" * 40 + AMOUNT) == AMOUNT_VIS + ")(" * 40
    long = (AMOUNT + " (") * 70 + ")" * 70
    assert len(visual(long)) == len(long)                 # more than 63 open brackets: N0 gives up


# ---- the Arabic translation table ----------------------------------------------------------------

def _placeholders(s):
    out = []
    i = s.find("%")
    while i >= 0:
        out.append(s[i:i + 2])
        i = s.find("%", i + 2)
    return out


def test_lang_ar_has_exactly_the_english_keys():
    en = Table(lang_en.T)
    ar = Table(lang_ar.T)
    keys = ar.keys()
    assert len(keys) == len(set(keys)), "duplicate key in ar"
    assert keys == en.keys()                       # same keys, same order as lang_en
    for k in keys:
        assert _placeholders(ar[k]) == _placeholders(en[k]), k


def test_lang_ar_values():
    ar = Table(lang_ar.T)
    for k in ar.keys():
        v = ar[k]
        assert v != "" and v == v.strip(), k
        assert is_rtl(v), (k, v)                   # every line lays out right to left by itself
        for c in v:
            o = ord(c)
            assert o < 0x7F or 0x0600 <= o <= 0x06FF, (k, hex(o))   # logical Arabic, no forms
            assert not 0x064B <= o <= 0x0652, (k, "no harakat: the LCD cannot stack them")
        shape(v)


def test_lang_ar_fits_the_screen_and_the_paper():
    ar = Table(lang_ar.T)
    for k in ar.keys():
        limit = RECEIPT_COLS if k.startswith("r_") else SCREEN_COLS
        line = visual(ar[k])
        assert len(line) <= limit, (k, len(line))
        assert len(visual(ar[k], limit)) == limit
    # lines of wasl/txn/receipt.py that put two labels and their values on one line
    assert len(ar["r_date"]) + len(" 05/07/2026 ") + len(ar["r_time"]) + len(" 10:08:07") <= RECEIPT_COLS
    assert len(ar["r_batch"]) + len(" 000001 ") + len(ar["r_invoice"]) + len(" 000007") <= RECEIPT_COLS
    # double-size lines (16 columns): the transaction names, the result, DUPLICATE
    for k in ("sale", "void", "refund", "bill", "approved", "declined", "r_duplicate", "r_amount"):
        assert len(visual(ar[k])) <= BIG_COLS, k
    # the amount entry's error note: "MAX 5 000 000,00"
    assert len(visual(ar["amount_max"] + " 5 000 000,00")) <= SCREEN_COLS


def test_lang_ar_merchant_words():
    ar = Table(lang_ar.T)
    assert cps(shape(ar["sale"])) == [0xFE91, 0xFEF4, 0xFECA]
    assert cps(shape(ar["refund"])) == [0xFE8D, 0xFEB3, 0xFE98, 0xFEAE, 0xFEA9, 0xFE8D, 0xFEA9]
    assert cps(shape(ar["approved"])) == [0xFEE3, 0xFED8, 0xFE92, 0xFEEE, 0xFEDF, 0xFE94]
    assert cps(shape(ar["declined"])) == [0xFEE3, 0xFEAE, 0xFED3, 0xFEEE, 0xFEBF, 0xFE94]
    assert cps(shape(ar["void"])) == [0xFE87, 0xFEDF, 0xFED0, 0xFE8E, 0xFE80]
    # "enter PIN", the whole line: three words, each shaped, in right-to-left order
    assert ar["enter_pin"] == "\u0623\u062F\u062E\u0644 \u0627\u0644\u0631\u0642\u0645 \u0627\u0644\u0633\u0631\u064A"
    assert cps(visual(ar["enter_pin"])) == [
        0xFEF1, 0xFEAE, 0xFEB4, 0xFEDF, 0xFE8D, 0x20,           # al-sirri, reversed
        0xFEE2, 0xFED7, 0xFEAE, 0xFEDF, 0xFE8D, 0x20,           # al-raqm
        0xFEDE, 0xFEA7, 0xFEA9, 0xFE83]                         # adkhil


def test_allocation_light():
    """A call builds a handful of objects, not one per character (MicroPython's GC counts bytes)."""
    try:
        import gc
        gc.mem_alloc
    except (ImportError, AttributeError):   # CPython
        return
    line = AMOUNT + ": 1 500,00 DZD"
    visual(line, 20)
    gc.collect()
    a = gc.mem_alloc()
    for _ in range(10):
        visual(line, 20)
    per_call = (gc.mem_alloc() - a) // 10
    assert per_call < 1024, per_call
