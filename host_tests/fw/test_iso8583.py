# wasl.host.iso8583: the codec against the firmware's SPEC and hand-built messages.
import binascii

from fwtest import TRACK2, FakeParams, raises, txn
from wasl.card.track2 import parse_track2
from wasl.host.iso8583 import FIXED, LLLVAR, LLVAR, MAX_MESSAGE, Codec, CodecError
from wasl.host.messages import financial
from wasl.host.spec import SPEC, parse_spec

UTC = (2026, 7, 5, 9, 8, 7, 6, 186)
LOCAL = "20260705100807"    # the journal's stamp of the local time, an hour ahead


def h(s):
    return binascii.unhexlify(s)


def full_0200(entry="swipe"):
    card = parse_track2(";" + TRACK2 + "?", entry)
    return financial(FakeParams(), txn("sale", s=42, i=7, b=1, a=150000, m=entry, t=LOCAL), UTC, card)


def encoded_0200():
    return bytes(Codec(SPEC).encode("0200", full_0200()))


# The 0200 above, byte by byte: fields 3 4 7 11 12 13 22 24 25 35 41 42 49 60 62.
FULL_0200 = (b"0200" + h("3238058020c08014")
             + b"000000" + b"000000150000" + b"0705090807" + b"000042" + b"100807" + b"0705"
             + b"021" + b"001" + b"00" + b"34" + TRACK2.encode()
             + b"WASL0001" + b"000000000000001" + b"012" + b"006000001" + b"006000007")


def test_full_0200_exact_bytes():
    assert encoded_0200() == FULL_0200


def test_full_0200_round_trip():
    req = full_0200()
    mti, fields = Codec(SPEC).decode(encoded_0200())
    assert mti == "0200"
    assert fields == req
    assert sorted(fields) == [3, 4, 7, 11, 12, 13, 22, 24, 25, 35, 41, 42, 49, 60, 62]


def test_manual_0200_round_trip():
    from wasl.card.track2 import Card

    card = Card("4761739001010010", "2512", "", "", "manual")
    req = financial(FakeParams(), txn("sale", s=999999, i=999999, b=999999, a=1, m="manual", t=LOCAL), UTC, card)
    raw = bytes(Codec(SPEC).encode("0200", req))
    # field 2 is LLVAR: "16" then the PAN, field 14 fixed YYMM; no field 35
    assert b"164761739001010010" + b"000000" in raw
    mti, fields = Codec(SPEC).decode(raw)
    assert mti == "0200"
    assert fields == req
    assert 35 not in fields and fields[2] == "4761739001010010" and fields[14] == "2512"


def test_small_message_exact_bytes():
    raw = Codec(SPEC).encode("0200", {3: "000000", 4: "1500", 11: "42", 41: "TID1", 62: "123"})
    assert bytes(raw[:4]) == b"0200"
    assert binascii.hexlify(bytes(raw[4:12])) == b"3020000000800004"
    assert bytes(raw[12:]) == b"000000" + b"000000001500" + b"000042" + b"TID1" + b"    " + b"003123"
    assert len(raw) == 4 + 8 + 6 + 12 + 6 + 8 + 3 + 3


def test_llvar_prefix_two_ascii_digits():
    raw = bytes(Codec(SPEC).encode("0200", {2: "4761739001010010"}))
    assert raw == b"0200" + h("4000000000000000") + b"16" + b"4761739001010010"
    raw = bytes(Codec(SPEC).encode("0200", {35: "123=4"}))
    assert raw == b"0200" + h("0000000020000000") + b"05123=4"
    raw = bytes(Codec(SPEC).encode("0200", {2: ""}))
    assert raw == b"0200" + h("4000000000000000") + b"00"


def test_padding_n_zeros_left_ans_spaces_right():
    c = Codec(SPEC)
    mti, f = c.decode(bytes(c.encode("0210", {4: "5", 11: "12345", 41: "T", 42: "M1", 37: "AB", 38: "1"})))
    assert f[4] == "000000000005"
    assert f[11] == "012345"
    assert f[41] == "T" + " " * 7
    assert f[42] == "M1" + " " * 13
    assert f[37] == "AB" + " " * 10   # an: spaces right too
    assert f[38] == "1" + " " * 5
    raw = bytes(c.encode("0200", {49: "12"}))
    assert raw[12:] == b"012"
    raw = bytes(c.encode("0200", {41: "AB"}))
    assert raw[12:] == b"AB" + b" " * 6


def test_variable_fields_are_not_padded():
    c = Codec(SPEC)
    raw = bytes(c.encode("0200", {62: "7"}))
    assert raw[12:] == b"0017"


def test_encode_returns_view_valid_until_next_encode():
    c = Codec(SPEC)
    first = c.encode("0200", {3: "000000"})
    assert isinstance(first, memoryview)
    saved = bytes(first)
    c.encode("0200", {3: "111111"})
    assert saved == b"0200" + h("2000000000000000") + b"000000"
    assert bytes(first) == b"0200" + h("2000000000000000") + b"111111"


def test_encode_field_too_long():
    c = Codec(SPEC)
    raises(CodecError, c.encode, "0200", {4: "1234567890123"})      # fixed 12
    raises(CodecError, c.encode, "0200", {2: "1" * 20})             # LLVAR 19
    raises(CodecError, c.encode, "0200", {35: "1" * 38})            # LLVAR 37
    raises(CodecError, c.encode, "0200", {62: "1234567"})           # LLLVAR 6
    raises(CodecError, c.encode, "0200", {41: "WASL00012"})         # ans fixed 8
    # the limits themselves are fine
    c.encode("0200", {4: "123456789012", 2: "1" * 19, 35: "1" * 37, 62: "123456", 41: "WASL0001"})


def test_encode_non_digit_in_n():
    c = Codec(SPEC)
    for bad in ("12a", "1 2", "-1", "1.5", "+5"):
        raises(CodecError, c.encode, "0200", {4: bad})
    raises(CodecError, c.encode, "0200", {2: "476173900101001X"})
    raises(CodecError, c.encode, "0200", {35: "4761739001010010D2512"})  # z: digits and '=' only
    raises(CodecError, c.encode, "0200", {41: "TID\n"})                  # ans: printable only
    raises(CodecError, c.encode, "0200", {41: "T\xe9"})


def test_encode_wrong_value_type():
    c = Codec(SPEC)
    raises(CodecError, c.encode, "0200", {4: 1500})
    raises(CodecError, c.encode, "0200", {41: b"WASL0001"})
    bspec = {52: ("b", FIXED, 8)}
    raises(CodecError, Codec(bspec).encode, "0200", {52: "12345678"})


def test_encode_unknown_field():
    c = Codec(SPEC)
    e = raises(CodecError, c.encode, "0200", {3: "000000", 5: "1"})
    assert "5" in str(e)
    raises(CodecError, c.encode, "0200", {63: "1", 59: b"12345678"})   # 59: not in the spec


def test_encode_bad_mti_length():
    c = Codec(SPEC)
    raises(CodecError, c.encode, "200", {3: "000000"})
    raises(CodecError, c.encode, "02000", {3: "000000"})


def test_encode_rejects_non_numeric_mti():
    # The MTI is 4 ASCII digits (the decoder rejects anything else): the encoder must not produce a
    # message its own decoder refuses, nor grow its buffer on a multi-byte character.
    c = Codec(SPEC)
    raises(CodecError, c.encode, "02X0", {3: "000000"})
    raises(CodecError, c.encode, "02\xe90", {3: "000000"})
    assert len(c.buf) == MAX_MESSAGE


def test_encode_message_larger_than_buffer():
    c = Codec(SPEC, size=40)
    raises(CodecError, c.encode, "0200", full_0200())


def test_decode_every_prefix_raises_codec_error():
    c = Codec(SPEC)
    raw = encoded_0200()
    for i in range(len(raw)):
        raises(CodecError, c.decode, raw[:i])
    mti, fields = c.decode(raw)
    assert mti == "0200"


def test_decode_memoryview_and_bytearray():
    c = Codec(SPEC)
    raw = encoded_0200()
    assert c.decode(memoryview(raw))[1] == full_0200()
    assert c.decode(bytearray(raw))[1] == full_0200()


def test_decode_trailing_bytes():
    c = Codec(SPEC)
    e = raises(CodecError, c.decode, encoded_0200() + b"0")
    assert "trailing" in str(e)
    raises(CodecError, c.decode, encoded_0200() + b"\x00\x00")


def test_decode_llvar_length_not_numeric():
    c = Codec(SPEC)
    bm = h("4000000000000000")   # field 2 only
    for pre in (b"1A", b" 9", b"+9", b"-1", b"\x001"):
        raises(CodecError, c.decode, b"0200" + bm + pre + b"123456789")
    assert c.decode(b"0200" + bm + b"09" + b"123456789") == ("0200", {2: "123456789"})


def test_decode_llvar_length_over_max():
    c = Codec(SPEC)
    bm2 = h("4000000000000000")
    raises(CodecError, c.decode, b"0200" + bm2 + b"20" + b"1" * 20)        # field 2 max 19
    assert c.decode(b"0200" + bm2 + b"19" + b"1" * 19)[1] == {2: "1" * 19}
    bm62 = h("0000000000000004")
    raises(CodecError, c.decode, b"0200" + bm62 + b"007" + b"1234567")    # field 62 LLLVAR max 6
    raises(CodecError, c.decode, b"0200" + bm62 + b"12" + b"1234567")     # LLLVAR needs 3 digits
    assert c.decode(b"0200" + bm62 + b"006" + b"123456")[1] == {62: "123456"}


def test_decode_field_not_in_spec():
    c = Codec(SPEC)
    raises(CodecError, c.decode, b"0200" + h("0800000000000000") + b"1")   # field 5
    raises(CodecError, c.decode, b"0210" + h("0000000000000008") + b"12345678")  # field 61


def test_decode_bad_mti_and_contents():
    c = Codec(SPEC)
    raises(CodecError, c.decode, b"02A0" + h("2000000000000000") + b"000000")
    raises(CodecError, c.decode, b"0200" + h("2000000000000000") + b"0000A0")    # n field
    raises(CodecError, c.decode, b"0200" + h("0000000000800000") + b"WASL\xff001")  # not ASCII
    raises(CodecError, c.decode, b"0200" + h("0000000000800000") + b"WASL\xc3\xa901")  # UTF-8, not ASCII
    raises(CodecError, c.decode, b"0200" + h("0000000000800000") + b"WASL\t001")  # control char


def test_decode_non_ascii_garbage_raises_codec_error():
    # The acquirer simulator's ".97" reply (tools/acqsim/server.py GARBAGE): 20 bytes 0xE0..0xF3.
    # The sale catches CodecError only, so anything else escaping decode() stops the terminal.
    c = Codec(SPEC)
    raises(CodecError, c.decode, bytes(range(0xE0, 0xF4)))
    raises(CodecError, c.decode, b"\xff\xff\xff\xff" + bytes(8))
    raises(CodecError, c.decode, b"02\xc3\xa9" + bytes(8))


def test_largest_message_of_the_spec_fits_the_buffer():
    # MAX_MESSAGE (docs/host-interface.md, framing) holds a message with every field of the spec at
    # its maximum length: a valid message can never overflow the codec's buffer.
    c = Codec(SPEC)
    fields = {}
    largest = 4
    for f, fmt, ltype, maxlen in parse_spec(SPEC):
        fields[f] = b"\x01" * maxlen if fmt == "b" else "7" * maxlen
        largest += ltype + maxlen
    largest += 16 if max(fields) > 64 else 8
    assert largest <= MAX_MESSAGE
    assert len(bytes(c.encode("0200", fields))) == largest
    assert c.decode(c.encode("0200", fields))[1] == fields


def test_decode_zero_bitmap():
    assert Codec(SPEC).decode(b"0800" + bytes(8)) == ("0800", {})


TEST_SPEC = {
    3: ("n", FIXED, 6),
    52: ("b", FIXED, 8),
    70: ("n", FIXED, 3),
    100: ("n", LLVAR, 11),
    120: ("ans", LLLVAR, 999),
}


def test_secondary_bitmap_decode_by_hand():
    raw = (b"0800" + h("a000000000000000") + h("0400000000000000")
           + b"000000" + b"301")
    assert Codec(TEST_SPEC).decode(raw) == ("0800", {3: "000000", 70: "301"})


def test_secondary_bitmap_encode_round_trip():
    c = Codec(TEST_SPEC)
    fields = {3: "000000", 52: b"\x00\x01\xfe\xff\x10\x20\x30\x40", 70: "1", 100: "12345", 120: "x" * 300}
    raw = bytes(c.encode("0800", fields))
    assert raw[:4] == b"0800"
    assert raw[4:20] == h("a000000000001000" + "0400000010000100")
    assert raw[20:] == (b"000000" + b"\x00\x01\xfe\xff\x10\x20\x30\x40" + b"001" + b"0512345"
                        + b"300" + b"x" * 300)
    mti, got = c.decode(raw)
    assert mti == "0800"
    assert got == {3: "000000", 52: b"\x00\x01\xfe\xff\x10\x20\x30\x40", 70: "001", 100: "12345",
                   120: "x" * 300}


def test_secondary_bitmap_truncated():
    c = Codec(TEST_SPEC)
    raw = b"0800" + h("a000000000000000") + h("0400000000000000") + b"000000" + b"301"
    for i in range(len(raw)):
        raises(CodecError, c.decode, raw[:i])


def test_secondary_bitmap_from_host_with_firmware_spec():
    # A host may set bit 1 with an all-zero secondary bitmap; the terminal decodes the message.
    # bit 1 + field 3 in byte 0, field 11 in byte 1, 39 and 41 in bytes 4-5
    raw = (b"0210" + h("a020000002800000") + bytes(8)
           + b"000000" + b"000042" + b"00" + b"WASL0001")
    assert Codec(SPEC).decode(raw) == ("0210", {3: "000000", 11: "000042", 39: "00", 41: "WASL0001"})
    # a field above 64 that the firmware's spec does not know is an error, not an IndexError
    raw = b"0210" + h("8000000000000000") + h("0400000000000000") + b"301"
    raises(CodecError, Codec(SPEC).decode, raw)


def test_binary_field_round_trip():
    c = Codec(TEST_SPEC)
    value = bytes(range(256))[:8]
    mti, got = c.decode(bytes(c.encode("0200", {52: value})))
    assert got == {52: value}
    raises(CodecError, c.encode, "0200", {52: b"\x01" * 7})   # fixed binary: exact length
