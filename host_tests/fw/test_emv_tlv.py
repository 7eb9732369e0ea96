# wasl.emv.tlv: BER-TLV parsing and encoding, DOL parsing and DOL data (EMV Book 3 Annex B, 5.4).
from binascii import unhexlify

from fwtest import raises
from wasl.emv import tlv
from wasl.emv.tlv import TlvError


def h(s):
    return unhexlify(s.replace(" ", ""))


def parse(b):
    return [(t, bytes(b[vs:ve])) for t, vs, ve in tlv.items(b)]


def test_tags_of_one_two_and_three_bytes():
    assert tlv.read_tag(h("5A"), 0, 1) == (0x5A, 1)
    assert tlv.read_tag(h("9F26"), 0, 2) == (0x9F26, 2)
    assert tlv.read_tag(h("5F2A"), 0, 2) == (0x5F2A, 2)
    assert tlv.read_tag(h("BF0C"), 0, 2) == (0xBF0C, 2)
    assert tlv.read_tag(h("DF8101"), 0, 3) == (0xDF8101, 3)
    assert tlv.read_tag(h("00 9F37"), 1, 3) == (0x9F37, 3)


def test_lengths_short_and_long_forms():
    assert tlv.read_len(h("05") + bytes(5), 0, 6) == (5, 1)
    assert tlv.read_len(h("7F") + bytes(127), 0, 128) == (127, 1)
    assert tlv.read_len(h("8180") + bytes(128), 0, 130) == (128, 2)
    assert tlv.read_len(h("820100") + bytes(256), 0, 259) == (256, 3)
    assert tlv.read_len(h("83000002") + bytes(2), 0, 6) == (2, 4)


def test_items_one_level_with_padding():
    b = h("00 5A 02 1234 FF FF 9F36 02 0007 00")
    assert parse(b) == [(0x5A, h("1234")), (0x9F36, h("0007"))]
    assert parse(b"") == []
    assert parse(h("0000FF")) == []


def test_constructed_templates_and_walk():
    b = h("70 0E 61 0C 4F 07 A0000000031010 87 01 01")
    assert parse(b) == [(0x70, h("610C4F07A000000003101087 0101"))]
    assert tlv.constructed(0x70) and tlv.constructed(0x61) and tlv.constructed(0xBF0C)
    assert tlv.constructed(0x77) and tlv.constructed(0xA5)
    assert not tlv.constructed(0x5A) and not tlv.constructed(0x9F26) and not tlv.constructed(0x80)
    seen = []
    tlv.walk(b, lambda t, s, e: seen.append((t, bytes(b[s:e]))))
    assert seen == [(0x4F, h("A0000000031010")), (0x87, h("01"))]


def test_find_enters_templates():
    b = h("6F 19 84 07 A0000000031010 A5 0E 50 04 56495341 BF0C 05 9F4D 02 0B0A")
    s, e = tlv.find(b, 0x9F4D)
    assert b[s:e] == h("0B0A")
    s, e = tlv.find(b, 0xA5)
    assert b[s:s + 2] == h("5004")
    assert tlv.find(b, 0x9F38) is None
    s, e = tlv.find(b, 0x84)
    assert bytes(b[s:e]) == h("A0000000031010")


def test_works_over_memoryview_without_copies():
    raw = bytearray(h("77 0A 82 02 1C00 94 04 08010100"))
    mv = memoryview(raw)
    s, e = tlv.find(mv, 0x94)
    assert bytes(mv[s:e]) == h("08010100")
    assert parse(mv)[0][0] == 0x77


def test_truncated_input_raises_tlverror():
    for bad in ("9F", "5A", "5A05", "5A0512", "9F2608112233", "70035A0512", "81", "5F24"):
        raises(TlvError, tlv.check, h(bad))
    raises(TlvError, tlv.read_tag, b"", 0, 0)
    raises(TlvError, tlv.read_len, b"", 0, 0)


def test_wrong_and_huge_lengths_raise_tlverror():
    for bad in ("5A80", "5A84FFFFFFFF", "5A83FFFFFF", "5A82FFFF00", "5A8101", "5A8200", "7083FFFFFF5A0812"):
        e = raises(TlvError, tlv.check, h(bad))
        assert str(e)
    # a length over the data names where
    e = raises(TlvError, tlv.check, h("9F3605 0001"))
    assert "past the data" in str(e)


def test_bad_tags_raise_tlverror():
    raises(TlvError, tlv.check, h("DF818181 01 00"))      # four-byte tag
    raises(TlvError, tlv.check, h("9F"))                   # subsequent byte missing
    raises(TlvError, tlv.check, h("DF81"))


def test_deep_nesting_raises_tlverror():
    b = h("5A0100")
    for _ in range(8):
        b = bytes([0x70, len(b)]) + b
    raises(TlvError, tlv.check, b)
    raises(TlvError, tlv.walk, b, lambda t, s, e: False)
    raises(TlvError, tlv.find, b, 0x5A)


def test_encode_forms_and_round_trip():
    assert tlv.encode(0x5A, h("4761")) == h("5A024761")
    assert tlv.encode(0x9F26, bytes(8)) == h("9F2608") + bytes(8)
    assert tlv.encode(0xDF8101, b"\x01") == h("DF810101 01")
    assert tlv.encode(0x70, bytes(200))[:3] == h("7081C8")
    assert tlv.encode(0x70, bytes(300))[:4] == h("70820 12C".replace(" ", ""))
    out = bytearray()
    for t, v in ((0x9F27, b"\x80"), (0x95, bytes(5)), (0x5F2A, h("0012"))):
        tlv.put(out, t, v)
    assert parse(out) == [(0x9F27, b"\x80"), (0x95, bytes(5)), (0x5F2A, h("0012"))]
    raises(TlvError, tlv.put_len, bytearray(), 70000)


def test_dol_items():
    dol = h("9F0206 9F0306 9F1A02 9505 5F2A02 9A03 9C01 9F3704")
    assert list(tlv.dol_items(dol)) == [(0x9F02, 6), (0x9F03, 6), (0x9F1A, 2), (0x95, 5), (0x5F2A, 2),
                                        (0x9A, 3), (0x9C, 1), (0x9F37, 4)]
    assert tlv.dol_size(dol) == 29
    assert list(tlv.dol_items(h("DF810181 10"))) == [(0xDF8101, 16)]
    raises(TlvError, lambda: list(tlv.dol_items(h("9F02"))))
    raises(TlvError, lambda: list(tlv.dol_items(h("9F0282 0100"))))


def test_build_dol_exact_missing_and_templates():
    data = {0x9F02: h("000000150000"), 0x9F1A: h("0012"), 0x95: bytes(5)}
    out = tlv.build_dol(h("9F0206 9F1A02 9F3704 7002 9505"), data.get)
    assert bytes(out) == h("000000150000 0012 00000000 0000 0000000000")


def test_build_dol_numeric_pads_and_truncates_on_the_left():
    data = {0x9F02: h("150000"), 0x5F2A: h("000012")}
    out = tlv.build_dol(h("9F0206 5F2A02"), data.get)
    assert bytes(out) == h("000000150000 0012")


def test_build_dol_other_formats_pad_and_truncate_on_the_right():
    data = {0x9F1E: b"WASL0001", 0x9F4E: b"AB", 0x5A: h("47617390010100")}
    out = tlv.build_dol(h("9F1E04 9F4E04 5A08"), data.get)
    assert bytes(out) == b"WASL" + b"AB\x00\x00" + h("47617390010100FF")


def test_build_dol_too_large_or_malformed():
    raises(TlvError, tlv.build_dol, h("9F4E81FF 9F4E81FF"), {}.get)
    raises(TlvError, tlv.build_dol, h("9F02"), {}.get)
    assert bytes(tlv.build_dol(b"", {}.get)) == b""
