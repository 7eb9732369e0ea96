# wasl.emv.tags: tag names, TVR / TSI bit names, TLV dump with card data hidden.
from binascii import unhexlify

from wasl.emv import tags


def test_names():
    assert tags.name(0x9F26) == "application cryptogram"
    assert tags.name(0x5A) == "PAN"
    assert tags.name(0xBF0C) == "FCI issuer discretionary data"
    assert tags.name(0x9F2) == "9F2"              # not "9F26": the lookup matches whole tags
    assert tags.name(0xDF8101) == "DF8101"


def test_tvr_and_tsi_names():
    assert tags.tvr_names(unhexlify("8000048000")) == ["ODA not performed", "online PIN entered",
                                                      "floor limit exceeded"]
    assert tags.tvr_names(bytes(5)) == []
    assert tags.tvr_names(unhexlify("0040000040")) == ["expired application", "issuer authentication failed"]
    assert tags.tsi_names(unhexlify("7800")) == ["cardholder verification performed",
                                                 "card risk management performed",
                                                 "issuer authentication performed",
                                                 "terminal risk management performed"]


def test_dump_hides_card_data():
    b = unhexlify("7015" "5A0847617390010100105F24033012319F3602002A")
    lines = tags.dump(b)
    assert lines[0] == "70 READ RECORD response template:"
    assert lines[1] == "  5A PAN: (8 bytes hidden)"
    assert lines[2] == "  5F24 application expiration date: 301231"
    assert "4761" not in "".join(lines)
