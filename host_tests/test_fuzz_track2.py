"""Fuzzing track 2 data (issue 8, item 3; docs/fuzzing.md): wasl.card.track2.parse_track2, check_expiry
and the sale flow's read_card (wasl.txn.sale: parse, expiry, service code) on random strings and on
valid track 2 damaged (separators, lengths, non-digits, sentinels, blanks, digits of other scripts).

Properties:
  * only CardError comes out (with a message key), for any input of any type;
  * an accepted card is well formed: a Luhn-valid PAN of 12 to 19 ASCII digits, a YYMM of 4 and a service
    code of 3 ASCII digits, track 2 of at most 37 characters that field 35 (format z) encodes;
  * no exception message ever holds a run of 12 or more digits (the PAN must not reach a log).
"""
import os
import re
import sys

from hypothesis import example, given
from hypothesis import strategies as st

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _p in (ROOT, os.path.join(ROOT, "host_tests"), os.path.join(ROOT, "firmware"),
           os.path.join(ROOT, "host_tests", "fw")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from fuzz_settings import fuzz  # noqa: E402
from wasl.card import CardError  # noqa: E402
from wasl.card.track2 import ENTRIES, check_expiry, luhn_ok, parse_track2  # noqa: E402
from wasl.host.iso8583 import Codec  # noqa: E402
from wasl.host.spec import SPEC  # noqa: E402

DIGITS = "0123456789"
KEYS = {"card_read_error", "card_invalid", "card_expired", "insert_card"}
LONG_DIGITS = re.compile(r"\d{12,}")        # any script's digits: \d is Unicode-aware
CODEC = Codec(SPEC)


def no_pan_in(e):
    for text in (str(e), repr(e), str(getattr(e, "key", "")), " ".join(str(a) for a in e.args)):
        assert not LONG_DIGITS.search(text), text


def check_card(card, entry):
    assert 12 <= len(card.pan) <= 19 and all(c in DIGITS for c in card.pan), card.pan
    assert luhn_ok(card.pan)
    assert len(card.expiry) == 4 and all(c in DIGITS for c in card.expiry)
    assert len(card.service_code) == 3 and all(c in DIGITS for c in card.service_code)
    assert len(card.track2) <= 37 and all(c in DIGITS + "=" for c in card.track2)
    assert card.track2.startswith(card.pan + "=" + card.expiry + card.service_code)
    assert card.entry == entry
    CODEC.encode("0200", {35: card.track2})          # field 35 takes it


def parse(data, entry="swipe"):
    """parse_track2 then check_expiry, like the sale flow; returns the card or None (CardError)."""
    try:
        card = parse_track2(data, entry)
    except CardError as e:
        assert e.key in KEYS, e.key
        no_pan_in(e)
        return None
    check_card(card, entry)
    for year, month in ((2000, 1), (2026, 7), (2049, 12), (2100, 6)):
        try:
            check_expiry(card, year, month)
        except CardError as e:
            assert e.key in KEYS
            no_pan_in(e)
    return card


# ---- strategies -----------------------------------------------------------------------------------------

@st.composite
def luhn_pans(draw, lo=12, hi=19):
    body = draw(st.text(alphabet=DIGITS, min_size=lo - 1, max_size=hi - 1))
    total = 0
    for k, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if k % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return body + str((10 - total % 10) % 10)


@st.composite
def valid_track2(draw):
    pan = draw(luhn_pans())
    yymm = draw(st.text(alphabet=DIGITS, min_size=4, max_size=4))
    svc = draw(st.text(alphabet=DIGITS, min_size=3, max_size=3))
    rest = draw(st.text(alphabet=DIGITS, max_size=max(0, 37 - len(pan) - 8)))
    return pan + draw(st.sampled_from("=Dd")) + yymm + svc + rest


# Digits of other scripts: str.isdigit() says yes to all of them on CPython.
ODD_DIGITS = "\u0660\u0661\u0662\u06f5\u0966\uff11\u00b2\u00b3\u00b9\u2075\u2460\U0001d7ce"
NOISE = st.sampled_from(list("=Dd^;?% \t\r\n\x00\x1c\x85\xa0ßﬀ/-+.e") + list(ODD_DIGITS))


@st.composite
def damaged_track2(draw):
    s = list(draw(valid_track2()))
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["replace", "insert", "delete", "cut", "grow", "sentinels", "separator",
                                   "odd_digit"]))
        if op == "replace" and s:
            s[draw(st.integers(0, len(s) - 1))] = draw(NOISE)
        elif op == "insert":
            s.insert(draw(st.integers(0, len(s))), draw(NOISE))
        elif op == "delete" and s:
            del s[draw(st.integers(0, len(s) - 1))]
        elif op == "cut":
            del s[draw(st.integers(0, len(s))):]
        elif op == "grow":
            s += list(draw(st.text(alphabet=DIGITS, min_size=1, max_size=8)))
        elif op == "sentinels":
            s = [";"] + s + ["?"] + list(draw(st.sampled_from(["", "\r\n", "  "])))
        elif op == "separator":
            for i, c in enumerate(s):
                if c in "=Dd":
                    s[i] = draw(st.sampled_from(["==", "", "^", "D", "=" + draw(NOISE)]))
                    break
        elif op == "odd_digit" and s:
            s[draw(st.integers(0, len(s) - 1))] = draw(st.sampled_from(ODD_DIGITS))
    return "".join(s)


# ---- tests ----------------------------------------------------------------------------------------------

@fuzz()
@given(st.text(max_size=60), st.sampled_from(ENTRIES))
def test_random_text(data, entry):
    parse(data, entry)


@fuzz()
@given(st.text(alphabet=DIGITS + "=Dd;? ", max_size=45))
def test_random_track_alphabet(data):
    parse(data)


@fuzz()
@given(valid_track2(), st.sampled_from(ENTRIES))
def test_valid_track2_accepted(data, entry):
    card = parse(data, entry)
    assert card is not None
    assert card.track2 == data.upper().replace("D", "=")


@fuzz()
@given(damaged_track2())
# digits of other scripts pass str.isdigit() on CPython: a PAN or expiry of them was accepted, then
# check_expiry's int() raised a plain ValueError (fixed: ASCII digits only, as on MicroPython)
@example("4761739001010010=\u00b2\u00b5122011")
@example("4761739001010010=\u0662\u0665\u0661\u06502011")
@example("\u0664761739001010010=25122011")
@example("4761739001010010=2512\u00b2\u00b3\u00b9")
def test_damaged_track2(data):
    parse(data)


@fuzz(0.5)
@given(st.one_of(st.none(), st.integers(), st.binary(max_size=40), st.lists(st.text(max_size=3), max_size=3)),
       st.one_of(st.sampled_from(ENTRIES), st.text(max_size=8), st.none()))
def test_not_text_or_unknown_entry(data, entry):
    try:
        card = parse_track2(data, entry)
    except CardError as e:
        assert e.key == "card_read_error"
        no_pan_in(e)
        return
    check_card(card, entry)


@fuzz(0.5)
@given(st.one_of(valid_track2(), damaged_track2(), st.text(max_size=40)),
       st.one_of(st.sampled_from(["swipe", "chip", "tap", "manual", "fallback"]), st.text(max_size=6)),
       st.booleans(), st.integers(2000, 2099), st.integers(1, 12))
def test_sale_read_card(track2, entry, fallback, year, month):
    """The sale flow's read_card: parse, expiry, 'chip card swiped' -- CardError only."""
    from wasl.txn.sale import read_card

    try:
        card = read_card({"track2": track2, "entry": entry}, (year, month, 1, 12, 0, 0), fallback)
    except CardError as e:
        assert e.key in KEYS
        no_pan_in(e)
        return
    check_card(card, "fallback" if fallback else entry)
    assert (2000 + int(card.expiry[:2]), int(card.expiry[2:])) >= (year, month)
    assert fallback or card.service_code[0] not in "26"
