# wasl.host.messages: the 0200 fields and section 8 reply validation.
from fwtest import TRACK2, FakeParams, raises
from wasl.card.track2 import Card, parse_track2
from wasl.host.iso8583 import CodecError
from wasl.host.messages import ReplyError, datetime_fields, financial_request, validate_reply

UTC = (2026, 1, 2, 3, 4, 5, 4, 2)
LOCAL = (2026, 1, 2, 4, 4, 5, 4, 2)


def request(entry="swipe", amount=150000, stan=42, invoice=7):
    return financial_request(FakeParams(), "000000", amount, parse_track2(TRACK2, entry), stan, invoice, UTC, LOCAL)


def test_financial_request_swipe_exact():
    assert request() == {
        3: "000000",
        4: "000000150000",
        7: "0102030405",
        11: "000042",
        12: "040405",
        13: "0102",
        22: "021",
        24: "001",
        25: "00",
        35: TRACK2,
        41: "WASL0001",
        42: "000000000000001",
        49: "012",
        62: "000007",
    }


def test_stan_invoice_amount_zero_padded():
    r = request(amount=1, stan=1, invoice=1)
    assert (r[4], r[11], r[62]) == ("000000000001", "000001", "000001")
    r = request(amount=999999999999, stan=999999, invoice=999999)
    assert (r[4], r[11], r[62]) == ("999999999999", "999999", "999999")
    r = request(amount=123456, stan=7501, invoice=80)
    assert (r[4], r[11], r[62]) == ("000000123456", "007501", "000080")


def test_datetime_fields_from_time_tuples():
    utc = (2025, 12, 31, 23, 59, 58, 2, 365)
    local = (2026, 1, 1, 0, 59, 58, 3, 1)
    assert datetime_fields(utc, local) == {7: "1231235958", 12: "005958", 13: "0101"}
    r = financial_request(FakeParams(), "000000", 1, parse_track2(TRACK2, "swipe"), 1, 1, utc, local)
    assert (r[7], r[12], r[13]) == ("1231235958", "005958", "0101")


def test_entry_modes():
    for entry, mode in (("swipe", "021"), ("chip", "051"), ("tap", "071")):
        r = request(entry)
        assert r[22] == mode
        assert r[35] == TRACK2
        assert 2 not in r and 14 not in r


def test_manual_entry_puts_pan_and_expiry_not_track2():
    card = Card("4761739001010010", "2512", "", "", "manual")
    r = financial_request(FakeParams(), "000000", 500, card, 3, 4, UTC, LOCAL)
    assert r[22] == "011"
    assert r[2] == "4761739001010010"
    assert r[14] == "2512"
    assert 35 not in r
    assert sorted(r) == [2, 3, 4, 7, 11, 12, 13, 14, 22, 24, 25, 41, 42, 49, 62]


def good_reply(req):
    rep = {f: req[f] for f in (3, 4, 7, 11, 12, 13, 24, 41, 42, 49, 62)}
    rep[37] = "000000123456"
    rep[38] = "A1B2C3"
    rep[39] = "00"
    return rep


def test_reply_error_is_a_codec_error():
    assert ReplyError is CodecError


def test_validate_reply_accepts_good_reply():
    req = request()
    assert validate_reply("0200", req, "0210", good_reply(req)) is None
    # a decline without field 38, and a reply without the echoed 3/4/49, are accepted too
    rep = good_reply(req)
    del rep[38], rep[3], rep[4], rep[49]
    rep[39] = "51"
    validate_reply("0200", req, "0210", rep)
    # sale.py drops 35 / 2 from the request before validating
    req.pop(35)
    validate_reply("0200", req, "0210", good_reply(req))


def test_validate_reply_wrong_mti():
    req = request()
    for mti in ("0200", "0110", "0230", "0211", None):
        raises(ReplyError, validate_reply, "0200", req, mti, good_reply(req))
    raises(ReplyError, validate_reply, "0100", req, "0110", good_reply(req))  # no such request type


def test_validate_reply_wrong_stan():
    req = request()
    rep = good_reply(req)
    rep[11] = "000043"
    e = raises(ReplyError, validate_reply, "0200", req, "0210", rep)
    assert "STAN" in str(e)
    del rep[11]
    raises(ReplyError, validate_reply, "0200", req, "0210", rep)


def test_validate_reply_wrong_tid():
    req = request()
    rep = good_reply(req)
    rep[41] = "WASL0002"
    raises(ReplyError, validate_reply, "0200", req, "0210", rep)
    del rep[41]
    raises(ReplyError, validate_reply, "0200", req, "0210", rep)


def test_validate_reply_missing_response_code():
    req = request()
    rep = good_reply(req)
    del rep[39]
    raises(ReplyError, validate_reply, "0200", req, "0210", rep)


def test_validate_reply_differing_echoes():
    req = request()
    for f, v in ((4, "000000150001"), (3, "200000"), (49, "978")):
        rep = good_reply(req)
        rep[f] = v
        e = raises(ReplyError, validate_reply, "0200", req, "0210", rep)
        assert str(f) in str(e)
