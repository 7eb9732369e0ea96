# wasl.crypto.aes (cryptolib), wasl.crypto.cmac (AES-CMAC, TDES-CMAC, AES KCV), wasl.crypto.util.
# Published vectors only; each names its source.
import sys

from fwtest import raises
from wasl.crypto import aes, cmac
from wasl.crypto.util import ct_equal, hexu, unhex, wipe, xor_into

H = bytes.fromhex

# NIST SP 800-38A Appendix F: the four plaintext blocks used by every example
SP800_38A_P = H("6bc1bee22e409f96e93d7e117393172a" "ae2d8a571e03ac9c9eb76fac45af8e51"
                "30c81c46a35ce411e5fbc1191a0a52ef" "f69f2445df4f9b17ad2b417be66c3710")
K128 = H("2b7e151628aed2a6abf7158809cf4f3c")                                   # SP 800-38A / RFC 4493 key
K256 = H("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")   # SP 800-38A / 800-38B AES-256 key


def test_cryptolib_is_the_builtin_on_micropython_and_the_shim_on_cpython():
    import cryptolib

    if sys.implementation.name == "micropython":
        assert not hasattr(cryptolib, "__file__"), "the firmware must use MicroPython's built-in cryptolib"
    else:
        assert cryptolib.__file__.replace("\\", "/").endswith("host_tests/cpython_shims/cryptolib.py")


def test_fips197_appendix_c_known_answers():
    # FIPS 197 Appendix C.1 (AES-128) and C.3 (AES-256)
    pt = H("00112233445566778899aabbccddeeff")
    assert bytes(aes.encrypt_ecb(H("000102030405060708090a0b0c0d0e0f"), pt)) == H("69c4e0d86a7b0430d8cdb78070b4c55a")
    k = bytes(range(32))
    ct = aes.encrypt_ecb(k, pt)
    assert bytes(ct) == H("8ea2b7ca516745bfeafc49904b496089")
    assert bytes(aes.decrypt_ecb(k, ct)) == pt


def test_sp800_38a_ecb_and_cbc():
    # SP 800-38A F.1.1 ECB-AES128.Encrypt, F.2.1 CBC-AES128.Encrypt, F.2.5 CBC-AES256.Encrypt
    ecb = H("3ad77bb40d7a3660a89ecaf32466ef97f5d3d58503b9699de785895a96fdbaaf"
            "43b1cd7f598ece23881b00e3ed0306887b0c785e27e8ad3f8223207104725dd4")
    cbc128 = H("7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2"
               "73bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7")
    cbc256 = H("f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d"
               "39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b")
    iv = bytes(range(16))
    assert bytes(aes.encrypt_ecb(K128, SP800_38A_P)) == ecb
    assert bytes(aes.decrypt_ecb(K128, ecb)) == SP800_38A_P
    assert bytes(aes.encrypt_cbc(K128, iv, SP800_38A_P)) == cbc128
    assert bytes(aes.decrypt_cbc(K128, iv, cbc128)) == SP800_38A_P
    assert bytes(aes.encrypt_cbc(K256, iv, SP800_38A_P)) == cbc256
    assert bytes(aes.decrypt_cbc(K256, iv, cbc256)) == SP800_38A_P


def test_cbc_in_place_and_chained_calls():
    iv = bytes(range(16))
    buf = bytearray(SP800_38A_P)
    aes.encrypt_cbc(K128, iv, buf, buf)
    c = aes.cbc(K128, iv)                 # one object, block by block: the same chain
    out = bytearray(16)
    for i in range(4):
        c.encrypt(SP800_38A_P[16 * i:16 * i + 16], out)
        assert out == buf[16 * i:16 * i + 16]


def test_aes_rejects_bad_keys_and_lengths():
    e = raises(ValueError, aes.encrypt_ecb, bytes(24), bytes(16))
    assert "AES-192" in str(e)
    raises(ValueError, aes.encrypt_ecb, bytes(8), bytes(16))
    raises(ValueError, aes.encrypt_ecb, bytes(16), bytes(15))
    raises(ValueError, aes.decrypt_cbc, bytes(16), bytes(16), bytes(20))


def test_rfc4493_aes_cmac_subkeys_and_examples():
    # RFC 4493 section 4: subkeys and examples 1-4 (= NIST SP 800-38B D.1)
    k1 = bytearray(16)
    aes.ecb(K128).encrypt(k1, k1)
    assert bytes(k1) == H("7df76b0c1ab899b33e42f047b91b546f")      # AES-128(key, 0)
    cmac._dbl(k1, 0x87)
    assert bytes(k1) == H("fbeed618357133667c85e08f7236a8de")
    cmac._dbl(k1, 0x87)
    assert bytes(k1) == H("f7ddac306ae266ccf90bc11ee46d513b")
    for n, tag in ((0, "bb1d6929e95937287fa37d129b756746"), (16, "070a16b46b4d4144f79bdd9dd04a287c"),
                   (40, "dfa66747de9ae63030ca32611497c827"), (64, "51f0bebf7e3b9d92fc49741779363cfe")):
        assert bytes(cmac.aes_cmac(K128, SP800_38A_P[:n])) == H(tag), n


def test_sp800_38b_aes256_cmac_examples():
    # NIST SP 800-38B (2005) Appendix D.3, AES-256
    for n, tag in ((0, "028962f61b7bf89efc6b551f4667d983"), (16, "28a7023f452e8f82bd4bf28d8c37c35c"),
                   (40, "aaf3d8f1de5640c232f5b169b9c911e6"), (64, "e1992190549f6ed5696a2c056c315410")):
        assert bytes(cmac.aes_cmac(K256, SP800_38A_P[:n])) == H(tag), n


def test_sp800_38b_tdes_cmac_examples():
    # NIST SP 800-38B (2005) Appendix D.4 (three-key TDEA) and D.5 (two-key TDEA)
    m = SP800_38A_P[:32]
    k3 = H("8aa83bf8cbda1062" "0bc1bf19fbb6cd58" "bc313d4a371ca8b5")
    for n, tag in ((0, "b7a688e122ffaf95"), (8, "8e8f293136283797"), (20, "743ddbe0ce2dc2ed"),
                   (32, "33e6b1092400eae5")):
        assert bytes(cmac.tdes_cmac(k3, m[:n])) == H(tag), n
    k2 = H("4cf15134a2850dd5" "8a3d10ba80570d38")
    for n, tag in ((0, "bd2ebf9a3ba00361"), (8, "4ff2ab813c53ce83"), (20, "62dd1b471902bd4e"),
                   (32, "31b1e431dabc4eb8")):
        assert bytes(cmac.tdes_cmac(k2, m[:n])) == H(tag), n


def test_cmac_into_a_buffer_and_from_a_memoryview():
    out = bytearray(20)
    cmac.aes_cmac(K128, memoryview(SP800_38A_P)[:40], memoryview(out)[2:18])
    assert bytes(out[2:18]) == H("dfa66747de9ae63030ca32611497c827")
    assert out[:2] == b"\x00\x00" and out[18:] == b"\x00\x00"


def test_aes_kcv_is_cmac_of_zeros():
    # TR-31:2018 A.7.4 key (also wrapped in test_crypto_tr31); its AES KCV 08793E as published with the
    # example (openemv/tr31 test/tr31_decrypt_test.c, test6)
    k = H("3F419E1CB7079442AA37474C2EFBF8B8")
    assert cmac.aes_kcv(k) == H("08793E")
    assert cmac.aes_kcv(k, 5) == bytes(cmac.aes_cmac(k, bytes(16))[:5])


def test_util_helpers():
    b = bytearray(b"secret")
    wipe(b)
    assert b == bytearray(6)
    d = bytearray(b"\x0f\x0f\x0f")
    xor_into(d, b"\xff\x00\xf0", 2, 1, 1)
    assert d == bytearray(b"\x0f\x0f\xff")
    assert ct_equal(b"abc", bytearray(b"abc")) and not ct_equal(b"abc", b"abd") and not ct_equal(b"ab", b"abc")
    assert hexu(b"\x01\xab") == "01AB"
    assert unhex("01ab") == b"\x01\xab"
    raises(ValueError, unhex, "0g")
    raises(ValueError, unhex, "012")
