# wasl.crypto.tr31: TR-31 key blocks. Published blocks: ASC X9 TR-31:2018 Annex A.7 examples and
# Thales payShield 10k examples, as reproduced in openemv/tr31 test/tr31_decrypt_test.c.
from fwtest import raises
from wasl.crypto import tr31
from wasl.crypto.tr31 import TR31Error

H = bytes.fromhex

# TR-31:2018 A.7.4: version D, AES-256 KBPK, AES-128 PIN key
A74_KBPK = H("88E1AB2A2E3DD38C1FA039A536500CC8A87AB9D62DC92C01058FA79F44657DE6")
A74 = ("D0112P0AE00E0000B82679114F470F540165EDFBF7E250FCEA43F810D215F8D207E2E417C07156A27E8E31DA05F74255"
       "09593D03A457DC34")
A74_KEY = H("3F419E1CB7079442AA37474C2EFBF8B8")
# Thales payShield 10k: version D, KBPK 32 x 'A', a TDES BDK and an AES-256 data key
THALES_KBPK = b"A" * 32
THALES_BDK = ("D0112B0TN00N000037DB9B046B7B0048785690759580ABC3B9842AB4BB7717B49E92528E575785D8123559376A2553B2"
              "7BE94F054F4E971C")
THALES_D0 = ("D0144D0AN00N0000127862F945C2DED04530FAF7CDBC8B0BA10C7AA79BD5E0C2C5D6AC173BF588E4B19ACF1357178D50"
             "EA0AB193228E13958304FC6149632DFDCADF3A5B3D57E814")
# TR-31:2018 A.7.2.2 and A.7.3.2: version B (TDES key derivation binding)
A722_KBPK = H("DD7515F2BFC17F85CE48F3CA25CB21F6")
A722 = "B0080P0TE00E000094B420079CC80BA3461F86FE26EFC4A3B8E4FA4C5F5341176EED7B727B8A248E"
A732_KBPK = H("1D22BF32387C600AD97F9B97A51311AC")
A732 = "B0104B0TX12S0100KS1800604B120F9292800000BB68BE8680A400D9191AD4ECE45B6E6C0D21C4738A52190E248719E24B433627"


def test_annex_a74_version_d():
    h, key = tr31.unwrap(A74_KBPK, A74)
    assert bytes(key) == A74_KEY
    assert (h.version, h.length, h.usage, h.algorithm, h.mode, h.key_version, h.exportability) == \
        ("D", 112, "P0", "A", "E", "00", "E")
    assert h.blocks == [] and h.size == 16
    h, key = tr31.unwrap(A74_KBPK, A74.encode(), usage="P0", algorithm="A")    # bytes in, expectations met
    assert bytes(key) == A74_KEY


def test_thales_version_d_blocks():
    h, key = tr31.unwrap(THALES_KBPK, THALES_BDK)
    assert (h.usage, h.algorithm, h.mode, h.exportability) == ("B0", "T", "N", "N")
    assert bytes(key) == H("1FA1F7CEC798D91545DA8AE0C7796BD9")
    h, key = tr31.unwrap(THALES_KBPK, THALES_D0)
    assert (h.usage, h.algorithm) == ("D0", "A")
    assert bytes(key) == H("BE19E6A07A760F10EF8E83A226B63AAD141F463FDDD4F47DB244B4023EC3CACC")


def test_annex_version_b():
    h, key = tr31.unwrap(A722_KBPK, A722)
    assert bytes(key) == A74_KEY and h.version == "B" and h.usage == "P0"
    h, key = tr31.unwrap(A732_KBPK, A732)
    assert bytes(key) == H("E8BC63E5479455E26577F715D587FE68")
    assert (h.usage, h.mode, h.key_version, h.exportability) == ("B0", "X", "12", "S")
    assert h.blocks == [("KS", "00604B120F9292800000")] and h.block("KS") == "00604B120F9292800000"
    assert h.block("IK") is None


def test_tampering_is_detected():
    # any character changed, in the header or the body, and the MAC no longer verifies
    for pos in (6, 9, 11, 16, 40, len(A74) - 1):
        c = A74[pos]
        alt = "B" if c in "0123456789ACDEF" and c != "B" else "C"
        if pos in (6,):
            alt = "1"                  # P1: still a valid usage
        if pos == 9:
            alt = "1"                  # key version number
        if pos == 11:
            alt = "N"                  # exportability
        bad = A74[:pos] + alt + A74[pos + 1:]
        e = raises(TR31Error, tr31.unwrap, A74_KBPK, bad)
        assert "MAC" in str(e), (pos, str(e))
    e = raises(TR31Error, tr31.unwrap, bytes(32), A74)          # wrong KBPK
    assert "MAC" in str(e)


def test_format_errors_are_named():
    cases = (
        (A74[:-2], "length"),                                   # length field no longer matches
        ("D0110" + A74[5:-2], "multiple"),                      # consistent length, broken body
        ("A0072P0TE00E0000F5161ED902807AF26F1D62263644BD24192FDB3193C730301CEE8701", "version A"),
        ("C" + A74[1:], "version C"),
        ("E" + A74[1:], "version 'E'"),
        ("D01x2" + A74[5:], "4 digits"),
        (A74[:5] + "Z9" + A74[7:], "key usage 'Z9'"),
        (A74[:7] + "Q" + A74[8:], "algorithm 'Q'"),
        (A74[:8] + "Q" + A74[9:], "mode of use 'Q'"),
        (A74[:11] + "Q" + A74[12:], "exportability 'Q'"),
        (A74[:12] + "01" + A74[14:], "header of 54"),             # body read as an optional block
        ("D0018P0AE00E0100IK", "runs past the end"),
        ("D0024P0AE00E0100IK02ABCD", "length 2 is wrong"),
        (A74[:14] + "01" + A74[16:], "reserved"),
        (A74[:20] + "ZZ" + A74[22:], "not hex"),
        ("D0012P0AE00E", "shorter"),
        (A74[:30] + "\x01" + A74[31:], "printable"),
    )
    for block, word in cases:
        e = raises(TR31Error, tr31.unwrap, A74_KBPK, block)
        assert word in str(e), (block[:20], word, str(e))
    e = raises(TR31Error, tr31.unwrap, A74_KBPK, A74, usage="B1")
    assert "B1" in str(e)
    e = raises(TR31Error, tr31.unwrap, A74_KBPK, A74, algorithm="T")
    assert "algorithm" in str(e)
    e = raises(TR31Error, tr31.unwrap, A74_KBPK[:24], A74)
    assert "AES-192" in str(e)
    raises(TR31Error, tr31.unwrap, A74_KBPK, A722)              # an AES KBPK for a version B block


def _fill(n):
    return bytes(range(n))


def test_wrap_unwrap_round_trip_with_optional_blocks():
    kbpk = H("00112233445566778899AABBCCDDEEFF")
    ik = H("1273671EA26AC29AFA4D1084127652A1")
    kb = tr31.wrap(kbpk, "D0000B1AX00N0100IK141234567890123456", ik, fill=_fill)
    assert kb.startswith("D0") and "IK141234567890123456" in kb
    h, key = tr31.unwrap(kbpk, kb, usage="B1", algorithm="A")
    assert bytes(key) == ik
    assert h.block("IK") == "1234567890123456"
    assert h.size % 16 == 0 and h.blocks[-1][0] == "PB"         # padded to the AES block
    assert int(kb[1:5]) == len(kb)
    # masked length, and an AES-256 KBPK
    kb = tr31.wrap(A74_KBPK, "D0000P0AE00E0000", A74_KEY, masked_len=32)
    assert len(kb) == 16 + 2 * 48 + 32
    assert bytes(tr31.unwrap(A74_KBPK, kb)[1]) == A74_KEY
    # version B
    kb = tr31.wrap(A722_KBPK, "B0000B1TX00N0100KS18FFFF9876543210E00000", H("6AC292FAA1315B4D858AB3A3D7D5933A"))
    h, key = tr31.unwrap(A722_KBPK, kb)
    assert bytes(key) == H("6AC292FAA1315B4D858AB3A3D7D5933A") and h.block("KS") == "FFFF9876543210E00000"


def test_wrap_refuses_inconsistent_keys():
    raises(TR31Error, tr31.wrap, A74_KBPK, "D0000P0AE00E0000", bytes(12))       # not an AES key length
    raises(TR31Error, tr31.wrap, bytes(8), "D0000P0AE00E0000", A74_KEY)          # not an AES KBPK
