# wasl.txn.sale.read_card: the rules a swiped card meets before anything is journaled (ISO/IEC 7813
# service code): a chip card's stripe is refused unless the chip has just failed (fallback, entry mode
# 80), and the track is checked (Luhn, expiry) as before.
import sys

from fwtest import raises
from wasl.card import CardError
from wasl.txn.sale import read_card

NOW = (2026, 7, 5, 10, 8, 7)
PAN = "4761739001010010"


def track(service, expiry="2812"):
    return {"entry": "swipe", "track2": PAN + "=" + expiry + service + "1758928889"}


def test_magstripe_card_is_read():
    card = read_card(track("101"), NOW, False)
    assert (card.entry, card.service_code, card.pan) == ("swipe", "101", PAN)


def test_chip_card_swiped_must_be_inserted():
    for service in ("201", "221", "601", "206"):
        e = raises(CardError, read_card, track(service), NOW, False)
        assert e.key == "insert_card", service


def test_chip_card_swiped_after_a_chip_failure_is_a_fallback():
    card = read_card(track("201"), NOW, True)
    assert card.entry == "fallback" and card.service_code == "201"


def test_expired_and_invalid_cards_are_refused_first():
    assert raises(CardError, read_card, track("101", "2501"), NOW, False).key == "card_expired"
    bad = {"entry": "swipe", "track2": PAN[:-1] + "1=28121011758928889"}
    assert raises(CardError, read_card, bad, NOW, False).key == "card_invalid"


def test_the_parser_leaves_ram_after_the_read():
    read_card(track("101"), NOW, False)
    assert "wasl.card.track2" not in sys.modules
