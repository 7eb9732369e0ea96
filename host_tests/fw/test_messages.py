# wasl.host.messages: request fields built from a transaction's journal record, and section 8 reply
# validation (docs/host-interface.md sections 3, 5, 8, 11).
from fwtest import MASKED_PAN, TRACK2, FakeParams, raises, txn
from wasl.card.track2 import Card, parse_track2
from wasl.host.iso8583 import CodecError
from wasl.host.admin import batch_upload, bill_inquiry, echo, settlement
from wasl.host.messages import ReplyError, financial, reversal, stamp, transmission_time, validate_reply

UTC = (2026, 1, 2, 3, 4, 5, 4, 2)
LOCAL = (2026, 1, 2, 4, 4, 5, 4, 2)
STAMP = "20260102040405"
CARD_FIELDS = (2, 14, 35)


def sale(**kw):
    if "t" not in kw:
        kw["t"] = STAMP
    return txn("sale", **kw)


def request(entry="swipe", amount=150000, stan=42, invoice=7, batch=1):
    return financial(FakeParams(), sale(s=stan, i=invoice, b=batch, a=amount, m=entry),
                     UTC, parse_track2(TRACK2, entry))


# ---- times ---------------------------------------------------------------------------------------

def test_transmission_time_and_stamp_from_time_tuples():
    utc = (2025, 12, 31, 23, 59, 58, 2, 365)
    local = (2026, 1, 1, 0, 59, 58, 3, 1)
    assert transmission_time(utc) == "1231235958"
    assert stamp(local) == "20260101005958"
    assert stamp((2026, 7, 5, 9, 8, 7, 6, 186)) == "20260705090807"
    # 12 and 13 come from the journal's stamp (the transaction's local time), 7 from the UTC clock
    r = financial(FakeParams(), sale(t=stamp(local), s=1, i=1, a=1), utc, parse_track2(TRACK2, "swipe"))
    assert (r[7], r[12], r[13]) == ("1231235958", "005958", "0101")


# ---- 0200 ----------------------------------------------------------------------------------------

def test_financial_sale_swipe_exact():
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
        60: "000001",
        62: "000007",
    }


def test_stan_invoice_batch_amount_zero_padded():
    r = request(amount=1, stan=1, invoice=1, batch=1)
    assert (r[4], r[11], r[60], r[62]) == ("000000000001", "000001", "000001", "000001")
    r = request(amount=999999999999, stan=999999, invoice=999999, batch=999999)
    assert (r[4], r[11], r[60], r[62]) == ("999999999999", "999999", "999999", "999999")
    r = request(amount=123456, stan=7501, invoice=80, batch=12)
    assert (r[4], r[11], r[60], r[62]) == ("000000123456", "007501", "000012", "000080")


def test_entry_modes():
    for entry, mode in (("swipe", "021"), ("chip", "051"), ("tap", "071")):
        r = request(entry)
        assert r[22] == mode
        assert r[35] == TRACK2
        assert 2 not in r and 14 not in r


def test_manual_entry_puts_pan_and_expiry_not_track2():
    card = Card("4761739001010010", "2512", "", "", "manual")
    r = financial(FakeParams(), sale(s=3, i=4, a=500, m="manual"), UTC, card)
    assert r[22] == "011"
    assert r[2] == "4761739001010010"
    assert r[14] == "2512"
    assert 35 not in r
    assert sorted(r) == [2, 3, 4, 7, 11, 12, 13, 14, 22, 24, 25, 41, 42, 49, 60, 62]


def test_journal_record_holds_no_card_data():
    # the builder reads the card object; the record it was given is left as it was
    t = sale()
    before = dict(t)
    request_fields = financial(FakeParams(), t, UTC, parse_track2(TRACK2, "swipe"))
    assert t == before
    assert TRACK2 not in str(t) and "4761739001010010" not in str(t)
    assert request_fields[35] == TRACK2


def test_financial_refund_with_and_without_original_rrn():
    card = parse_track2(TRACK2, "chip")
    r = financial(FakeParams(), txn("refund", s=5, i=3, b=2, a=2500, m="chip", t=STAMP), UTC, card)
    assert r == {3: "200000", 4: "000000002500", 7: "0102030405", 11: "000005", 12: "040405", 13: "0102",
                 22: "051", 24: "001", 25: "00", 35: TRACK2, 41: "WASL0001", 42: "000000000000001",
                 49: "012", 60: "000002", 62: "000003"}
    r = financial(FakeParams(), txn("refund", s=5, i=3, b=2, a=2500, m="chip", t=STAMP, **{"or": "612345678901"}),
                  UTC, card)
    assert r[37] == "612345678901" and r[3] == "200000" and 38 not in r


def test_financial_void_exact_no_card_data():
    # a void of the sale of invoice 7 (STAN 42), sent with STAN 43: the original's 4, 22, 62, 37, 38
    t = txn("void", s=43, i=7, b=1, a=150000, m="chip", t="20260102041500", o=42, ot="sale",
            **{"or": "601234567890", "oa": "A1B2C3"})
    assert financial(FakeParams(), t, UTC) == {
        3: "020000",
        4: "000000150000",
        7: "0102030405",
        11: "000043",
        12: "041500",
        13: "0102",
        22: "051",
        24: "001",
        25: "00",
        37: "601234567890",
        38: "A1B2C3",
        41: "WASL0001",
        42: "000000000000001",
        49: "012",
        60: "000001",
        62: "000007",
    }


def test_financial_void_of_a_bill_payment_carries_the_bill():
    t = txn("void", s=9, i=4, a=67991, o=8, ot="bill", bill="ELEC/1234567891", **{"or": "601234567890", "oa": "Z9"})
    r = financial(FakeParams(), t, UTC)
    assert (r[3], r[37], r[38], r[48]) == ("020000", "601234567890", "Z9", "ELEC/1234567891")
    assert not [f for f in CARD_FIELDS if f in r]


def test_financial_bill_payment_exact():
    t = txn("bill", s=12, i=9, b=3, a=67991, m="tap", t=STAMP, bill="ELEC/1234567891", cn="BOUDIAF AMINA")
    assert financial(FakeParams(), t, UTC, parse_track2(TRACK2, "tap")) == {
        3: "500000", 4: "000000067991", 7: "0102030405", 11: "000012", 12: "040405", 13: "0102", 22: "071",
        24: "001", 25: "00", 35: TRACK2, 41: "WASL0001", 42: "000000000000001", 48: "ELEC/1234567891",
        49: "012", 60: "000003", 62: "000009",
    }


# ---- 0400, 0320 ----------------------------------------------------------------------------------

def test_reversal_exact_without_rrn():
    # the original's own fields (STAN, times, amount, entry mode, batch, invoice), never card data
    t = sale(s=42, i=7, b=1, a=150000, m="swipe")
    assert reversal(FakeParams(), t, (2026, 1, 2, 3, 6, 0, 4, 2)) == {
        3: "000000",
        4: "000000150000",
        7: "0102030600",
        11: "000042",
        12: "040405",
        13: "0102",
        22: "021",
        24: "001",
        25: "00",
        41: "WASL0001",
        42: "000000000000001",
        49: "012",
        60: "000001",
        62: "000007",
    }


def test_reversal_carries_rrn_only_when_the_record_has_one():
    assert reversal(FakeParams(), sale(r="601234567890"), UTC)[37] == "601234567890"
    assert 37 not in reversal(FakeParams(), sale(r=""), UTC)
    assert 37 not in reversal(FakeParams(), sale(), UTC)
    # a void's original RRN / auth code are not the void's own: not in its reversal
    v = txn("void", s=43, o=42, ot="sale", **{"or": "601234567890", "oa": "A1B2C3"})
    r = reversal(FakeParams(), v, UTC)
    assert r[3] == "020000" and 37 not in r and 38 not in r


def test_reversal_of_a_refund_and_a_bill_payment():
    r = reversal(FakeParams(), txn("refund", m="manual", **{"or": "601234567890"}), UTC)
    assert (r[3], r[22]) == ("200000", "011")
    assert 37 not in r and not [f for f in CARD_FIELDS if f in r]
    r = reversal(FakeParams(), txn("bill", bill="GAZ/123456", cn="X"), UTC)
    assert (r[3], r[48]) == ("500000", "GAZ/123456")


def test_batch_upload_exact():
    # docs/host-interface.md section 3: 42 is M in a 0320, 48 and 25 are absent.
    # FIRMWARE BUG (wasl/host/messages.py batch_upload: f.pop(42)): the 0320 leaves without 42, so the
    # acquirer (tools/acqsim: presence check) answers every upload 30, which merchant.settle ignores.
    t = sale(s=42, i=7, b=1, a=150000, m="chip", rc="00", r="601234567890", au="A1B2C3")
    assert batch_upload(FakeParams(), t, UTC) == {
        3: "000000",
        4: "000000150000",
        7: "0102030405",
        11: "000042",
        12: "040405",
        13: "0102",
        22: "051",
        24: "001",
        37: "601234567890",
        38: "A1B2C3",
        39: "00",
        41: "WASL0001",
        42: "000000000000001",
        49: "012",
        60: "000001",
        62: "000007",
    }


def test_batch_upload_of_a_bill_payment_has_no_field_48():
    t = txn("bill", bill="ELEC/1234567891", cn="BOUDIAF AMINA", rc="00", r="601234567890", au="A1B2C3")
    r = batch_upload(FakeParams(), t, UTC)
    assert 48 not in r and 25 not in r
    assert (r[3], r[37], r[38], r[39]) == ("500000", "601234567890", "A1B2C3", "00")


def test_batch_upload_without_auth_code_sends_spaces():
    r = batch_upload(FakeParams(), sale(rc="00", r="601234567890", au=""), UTC)
    assert r[38] == "      "
    r = batch_upload(FakeParams(), sale(rc="00", r="601234567890"), UTC)
    assert r[38] == "      "


# ---- 0100, 0500, 0800 ----------------------------------------------------------------------------

def test_bill_inquiry_exact():
    assert bill_inquiry(FakeParams(), 77, "ELEC/1234567891", UTC, LOCAL) == {
        3: "380000",
        7: "0102030405",
        11: "000077",
        12: "040405",
        13: "0102",
        24: "001",
        41: "WASL0001",
        42: "000000000000001",
        48: "ELEC/1234567891",
        49: "012",
    }


def test_settlement_exact_both_codes():
    totals = "002000000012000001000000000500"
    want = {3: "920000", 7: "0102030405", 11: "000078", 24: "001", 41: "WASL0001", 42: "000000000000001",
            60: "000004", 63: totals}
    assert settlement(FakeParams(), 78, 4, totals, UTC) == want
    assert settlement(FakeParams(), 78, 4, totals, UTC, False) == want
    want[3] = "960000"
    assert settlement(FakeParams(), 78, 4, totals, UTC, after_upload=True) == want


def test_echo_exact():
    assert echo(FakeParams(), 999999, UTC) == {3: "990000", 7: "0102030405", 11: "999999", 24: "001",
                                               41: "WASL0001"}


def test_no_builder_puts_card_data_outside_the_0200():
    t = sale(rc="00", r="601234567890", au="A1B2C3")
    for fields in (reversal(FakeParams(), t, UTC), batch_upload(FakeParams(), t, UTC),
                   bill_inquiry(FakeParams(), 1, "ELEC/123456", UTC, LOCAL),
                   settlement(FakeParams(), 1, 1, "0" * 30, UTC), echo(FakeParams(), 1, UTC)):
        assert not [f for f in CARD_FIELDS if f in fields], fields
        assert MASKED_PAN not in str(fields)


# ---- section 8: reply validation -------------------------------------------------------------------

def good_reply(req):
    rep = {f: req[f] for f in (3, 4, 7, 11, 12, 13, 24, 41, 42, 49, 60, 62)}
    rep[37] = "000000123456"
    rep[38] = "A1B2C3"
    rep[39] = "00"
    return rep


def test_reply_error_is_a_codec_error():
    assert ReplyError is CodecError


def test_validate_reply_accepts_good_0210():
    req = request()
    assert validate_reply("0200", req, "0210", good_reply(req)) is None
    # a decline without field 38, and a reply without the echoed 3/4/49, are accepted too
    rep = good_reply(req)
    del rep[38], rep[3], rep[4], rep[49]
    rep[39] = "51"
    validate_reply("0200", req, "0210", rep)
    # online.keep_for_validation drops 35 / 2 (and others) from the request before validating
    req.pop(35)
    validate_reply("0200", req, "0210", good_reply(req))


def test_validate_reply_wrong_mti():
    req = request()
    for mti in ("0200", "0110", "0230", "0211", "0410", None):
        raises(ReplyError, validate_reply, "0200", req, mti, good_reply(req))
    raises(ReplyError, validate_reply, "0100", req, "0210", good_reply(req))
    raises(ReplyError, validate_reply, "0400", req, "0210", good_reply(req))


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


def test_validate_reply_0410():
    req = reversal(FakeParams(), sale(), UTC)
    rep = {f: req[f] for f in (3, 4, 7, 11, 12, 13, 24, 41, 42, 49, 60, 62)}
    for rc in ("00", "12", "25", "96"):
        rep[39] = rc
        assert validate_reply("0400", req, "0410", rep) is None
    raises(ReplyError, validate_reply, "0400", req, "0210", rep)
    bad = dict(rep)
    bad[4] = "000000150001"
    raises(ReplyError, validate_reply, "0400", req, "0410", bad)
    bad = dict(rep)
    bad[11] = "000041"
    raises(ReplyError, validate_reply, "0400", req, "0410", bad)


def test_validate_reply_0110_amount_due_is_exempt():
    req = bill_inquiry(FakeParams(), 77, "ELEC/1234567891", UTC, LOCAL)
    rep = {3: "380000", 4: "000000067991", 7: req[7], 11: "000077", 24: "001", 37: "601234567890",
           38: "A1B2C3", 39: "00", 41: "WASL0001", 42: req[42], 48: "BOUDIAF AMINA", 49: "012"}
    assert validate_reply("0100", req, "0110", rep) is None     # 4 is the amount due, not an echo
    rep[4] = "000000000000"
    rep[39] = "25"
    validate_reply("0100", req, "0110", rep)
    for f, v in ((3, "000000"), (49, "978"), (11, "000078"), (41, "WASL0002")):
        bad = dict(rep)
        bad[f] = v
        raises(ReplyError, validate_reply, "0100", req, "0110", bad)
    raises(ReplyError, validate_reply, "0100", req, "0210", rep)


def test_validate_reply_0510_and_0810_and_0330():
    req = settlement(FakeParams(), 78, 4, "0" * 30, UTC)
    rep = {3: "920000", 7: req[7], 11: "000078", 24: "001", 39: "95", 41: "WASL0001", 42: req[42], 60: "000004",
           63: "001000000000100000000000000000"}
    assert validate_reply("0500", req, "0510", rep) is None      # 63: the host's totals, not checked
    bad = dict(rep)
    bad[3] = "960000"
    raises(ReplyError, validate_reply, "0500", req, "0510", bad)
    del rep[39]
    raises(ReplyError, validate_reply, "0500", req, "0510", rep)
    req = echo(FakeParams(), 5, UTC)
    validate_reply("0800", req, "0810", {3: "990000", 7: req[7], 11: "000005", 24: "001", 39: "00",
                                         41: "WASL0001"})
    raises(ReplyError, validate_reply, "0800", req, "0810", {11: "000005", 39: "00", 41: "WASL0002"})
    req = batch_upload(FakeParams(), sale(rc="00", r="601234567890", au="A1B2C3"), UTC)
    validate_reply("0320", req, "0330", {3: "000000", 4: "000000150000", 11: "000042", 37: "601234567890",
                                         39: "00", 41: "WASL0001"})
