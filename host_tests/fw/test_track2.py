# wasl.card.track2: Luhn, masking, track 2 parsing and expiry.
from fwtest import raises
from wasl.card.track2 import Card, CardError, check_expiry, luhn_ok, mask_pan, parse_track2

PAN = "4761739001010010"
TRACK2 = PAN + "=25122011758928889"


def test_luhn_known_values():
    assert luhn_ok(PAN)
    assert luhn_ok("4761739001010119")
    assert luhn_ok("79927398713")
    assert luhn_ok("4111111111111111")
    assert luhn_ok("5555555555554444")
    assert luhn_ok("378282246310005")
    assert luhn_ok("6011000990139424")
    assert luhn_ok("0000000000000000")
    assert not luhn_ok("4761739001010011")
    assert not luhn_ok("79927398710")
    assert not luhn_ok("4111111111111112")
    assert not luhn_ok("378282246310006")
    # a swap of two adjacent digits is caught
    assert not luhn_ok("4761739001010100")


def test_mask_pan():
    assert mask_pan(PAN) == "476173******0010"
    assert mask_pan("4761739001010010123") == "476173*********0123"      # 19 digits
    assert mask_pan("1234567890123") == "123456***0123"                  # 13 digits
    assert mask_pan("123456789012") == "********9012"                    # short: last 4 only
    for pan in (PAN, "4761739001010010123", "1234567890123", "123456789012"):
        m = mask_pan(pan)
        assert len(m) == len(pan)
        assert m[-4:] == pan[-4:]
        assert m != pan


def test_parse_track2_equals_separator():
    c = parse_track2(TRACK2, "swipe")
    assert isinstance(c, Card)
    assert (c.pan, c.expiry, c.service_code, c.track2, c.entry) == (PAN, "2512", "201", TRACK2, "swipe")
    assert c.masked_pan == "476173******0010"


def test_parse_track2_d_separator():
    c = parse_track2(PAN + "D25122011758928889", "chip")
    assert (c.pan, c.expiry, c.service_code, c.entry) == (PAN, "2512", "201", "chip")
    assert c.track2 == TRACK2            # normalised to '=' for field 35 (format z)
    c = parse_track2(PAN + "d25122011758928889", "tap")
    assert c.track2 == TRACK2


def test_parse_track2_sentinels_and_blanks():
    for data in (";" + TRACK2 + "?", ";" + TRACK2, TRACK2 + "?", "  ;" + TRACK2 + "?\r\n"):
        c = parse_track2(data, "swipe")
        assert (c.pan, c.expiry, c.track2) == (PAN, "2512", TRACK2)


def test_parse_track2_minimal_and_maximal():
    c = parse_track2(PAN + "=2512201", "swipe")
    assert (c.expiry, c.service_code) == ("2512", "201")
    # 37 characters is the longest track 2 (field 35 is LLVAR 37)
    data = "6011000990139424"
    t = data + "=" + "2512201" + "0" * (37 - len(data) - 8)
    assert len(t) == 37
    assert parse_track2(t, "swipe").track2 == t
    e = raises(CardError, parse_track2, t + "0", "swipe")
    assert e.key == "card_read_error"


def test_parse_track2_bad_separator():
    for data in (PAN + "25122011758928889", PAN + "^25122011758928889", PAN + "X25122011758928889", ""):
        e = raises(CardError, parse_track2, data, "swipe")
        assert e.key == "card_read_error"


def test_parse_track2_pan_length():
    # 11 digits (Luhn-valid) and 20 digits (Luhn-valid): outside 12..19
    assert luhn_ok("79927398713")
    e = raises(CardError, parse_track2, "79927398713=2512201", "swipe")
    assert e.key == "card_read_error"
    pan20 = "47617390010100100000"
    assert luhn_ok(pan20)
    e = raises(CardError, parse_track2, pan20 + "=2512201", "swipe")
    assert e.key == "card_read_error"
    e = raises(CardError, parse_track2, "=2512201", "swipe")
    assert e.key == "card_read_error"
    # 12 and 19 digits are accepted
    assert parse_track2("123456789015=2512201", "swipe").pan == "123456789015"
    pan19 = "4761739001010010006"
    assert luhn_ok(pan19)
    assert parse_track2(pan19 + "=2512201", "swipe").pan == pan19


def test_parse_track2_letters():
    for data in ("47617390010100A0=2512201", "4761 739001010010=2512201", "4761739001010010=25A2201",
                 "4761739001010010=2512B01"):
        e = raises(CardError, parse_track2, data, "swipe")
        assert e.key == "card_read_error"


def test_parse_track2_short_discretionary():
    e = raises(CardError, parse_track2, PAN + "=251220", "swipe")
    assert e.key == "card_read_error"


def test_parse_track2_bad_luhn():
    e = raises(CardError, parse_track2, "4761739001010011=25122011758928889", "swipe")
    assert e.key == "card_invalid"
    assert isinstance(e, ValueError)


def test_card_error_key_and_message():
    e = CardError("card_expired")
    assert e.key == "card_expired" and str(e) == "card_expired"
    e = CardError("card_read_error", "detail")
    assert e.key == "card_read_error" and str(e) == "detail"


def test_check_expiry():
    c = parse_track2(TRACK2, "swipe")              # expires 2025-12
    check_expiry(c, 2025, 11)                       # before
    check_expiry(c, 2025, 12)                       # the expiry month itself is valid
    check_expiry(c, 2024, 12)
    e = raises(CardError, check_expiry, c, 2026, 1)
    assert e.key == "card_expired"
    e = raises(CardError, check_expiry, c, 2030, 6)
    assert e.key == "card_expired"


def test_check_expiry_impossible_month():
    for yymm in ("2513", "2500", "2599"):
        c = Card(PAN, yymm, "201", PAN + "=" + yymm + "201", "swipe")
        e = raises(CardError, check_expiry, c, 2020, 1)
        assert e.key == "card_read_error"


def parse_and_check(data):
    check_expiry(parse_track2(data, "swipe"), 2025, 1)


def test_separator_in_expiry_is_a_card_error():
    # '=' passes the "digits or '='" check on the characters after the separator, so it can land in
    # the expiry. parse_track2 + check_expiry (what the sale does) must end in a CardError, which the
    # sale turns into a "card read error" message, not a plain ValueError from int().
    for data in (PAN + "==25122011", PAN + "=25=22011", PAN + "=2=122011"):
        e = raises(CardError, parse_and_check, data)
        assert e.key == "card_read_error"


def test_wipe():
    c = parse_track2(TRACK2, "swipe")
    c.wipe()
    assert c.pan == "" and c.track2 == ""
