# wasl.diag.sign and the runner's pure helpers: HMAC-SHA256 against RFC 4231, the keys derived from the
# KBPK (values computed with the `cryptography` package's AES-CMAC from the keyinject-made fixture), the
# signature object, the part list and the nonce check.
from fwtest import ROOT, make_tmpdir, raises, rmtree
from wasl.crypto.storage import FileSecureStorage
from wasl.crypto.util import hexu
from wasl.diag import PARTS, sign
from wasl.diag.run import _check_nonce, part_names

H = bytes.fromhex
FIX = ROOT + "/host_tests/fw/fixtures/crypto_keystore_aes/secure"
KBPK_KCV = "13C859"                                       # what tools/keyinject.py printed for the fixture
DIAG_KEY = "90ECE538A6392C425107B378BB93C780"             # AES-CMAC(KBPK, 01 "WASL diagnostics report")
TECH_KEY = "C110004148FBB6E37D2E45D5082F3AF6"             # AES-CMAC(KBPK, 01 "WASL technician access")
TEXT = b'{"terminal_id": "WASL0001"}'
TEXT_MAC = "A280DD1EB102A679C8EE8F763DA453D6B30DC0E6F84160996DC306053C6674FD"   # HMAC-SHA256(DIAG_KEY, TEXT)


def test_hmac_sha256_rfc4231():
    # RFC 4231 test cases 1, 2, 4, 6 (a key longer than the block) and 7
    cases = (
        (H("0b" * 20), b"Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        (b"Jefe", b"what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        (H("0102030405060708090a0b0c0d0e0f10111213141516171819"), H("cd" * 50),
         "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
        (H("aa" * 131), b"Test Using Larger Than Block-Size Key - Hash Key First",
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        (H("aa" * 131), b"This is a test using a larger than block-size key and a larger than block-size data. "
                        b"The key needs to be hashed before being used by the HMAC algorithm.",
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
    )
    for key, msg, mac in cases:
        assert hexu(sign.hmac_sha256(key, msg)) == mac.upper()


def test_keys_derived_from_the_kbpk():
    s = FileSecureStorage(FIX)
    key, kcv = sign.derived_key(s, sign.REPORT)
    assert (hexu(key), kcv) == (DIAG_KEY, KBPK_KCV)
    key, kcv = sign.derived_key(s, sign.TECHNICIAN)
    assert (hexu(key), kcv) == (TECH_KEY, KBPK_KCV)
    sig = sign.signature(H(DIAG_KEY), KBPK_KCV, TEXT.decode())
    assert sig == {"alg": "HMAC-SHA256", "key": "CMAC(KBPK, 01 'WASL diagnostics report')", "kbpk_kcv": KBPK_KCV,
                   "mac": TEXT_MAC}


def test_no_kbpk_no_key():
    d = make_tmpdir("diagsign")
    try:
        assert sign.derived_key(FileSecureStorage(d), sign.REPORT) == (None, None)
        assert sign.derived_key(None, sign.REPORT) == (None, None)
        FileSecureStorage(d).put("kbpk", b"short")
        assert sign.derived_key(FileSecureStorage(d), sign.REPORT) == (None, None)
    finally:
        rmtree(d)


def test_part_names():
    every = [p for p, _ in PARTS]
    assert part_names(None) == every and part_names("") == every
    assert part_names("clock, storage") == ["clock", "storage"]
    assert part_names("card,versions,card") == ["versions", "card"]       # the runner's order, once each
    e = raises(ValueError, part_names, "clock,toaster")
    assert "toaster" in str(e)


def test_nonce_is_hex_only():
    assert _check_nonce("00ff" * 8) == "00ff" * 8
    assert _check_nonce(None) == ""
    raises(ValueError, _check_nonce, 'ab", "x": "')
    raises(ValueError, _check_nonce, "a" * 65)
