# wasl.crypto.des (DES, TDES ECB/CBC, KCV) and wasl.crypto.iso9797 (retail MAC). Published vectors.
from fwtest import raises
from wasl.crypto import des
from wasl.crypto.iso9797 import retail_mac

H = bytes.fromhex
NOW = b"Now is the time for all "    # FIPS 81 Appendix B / ISO 9797-1 Annex B message


def test_fips81_ecb_and_cbc_examples():
    # FIPS PUB 81 Appendix B, tables B1 (ECB) and B2 (CBC): key 0123456789ABCDEF, IV 1234567890ABCDEF
    k = H("0123456789abcdef")
    ecb = H("3fa40e8a984d48156a271787ab8883f9893d51ec4b563b53")
    cbc = H("e5c7cdde872bf27c43e934008c389c0f683788499a7c05f6")
    iv = H("1234567890abcdef")
    assert bytes(des.encrypt_ecb(k, NOW)) == ecb
    assert bytes(des.decrypt_ecb(k, ecb)) == NOW
    assert bytes(des.encrypt_cbc(k, iv, NOW)) == cbc
    assert bytes(des.decrypt_cbc(k, iv, cbc)) == NOW


def test_sp800_17_known_answer_tests():
    # NIST SP 800-17 Table 1 (variable plaintext, key 0101010101010101) and Table 2 (variable key,
    # plaintext 0), first entries
    k0 = H("0101010101010101")
    for pt, ct in (("8000000000000000", "95f8a5e5dd31d900"), ("4000000000000000", "dd7f121ca5015619"),
                   ("2000000000000000", "2e8653104f3834ea"), ("0000000000000001", "166b40b44aba4bd6")):
        assert bytes(des.encrypt_ecb(k0, H(pt))) == H(ct), pt
        assert bytes(des.decrypt_ecb(k0, H(ct))) == H(pt), pt
    for k, ct in (("8001010101010101", "95a8d72813daa94d"), ("4001010101010101", "0eec1487dd8c26d5")):
        assert bytes(des.encrypt_ecb(H(k), bytes(8))) == H(ct), k


def test_tdes_keying_options():
    # two-key (K3 = K1) and three-key TDEA equal their single-DES compositions; 8 bytes = single DES
    k1, k2, k3 = H("0123456789abcdef"), H("fedcba9876543210"), H("89abcdef01234567")
    x = NOW[:8]

    def ede(a, b, c):
        t = des.encrypt_ecb(a, x)
        t = des.decrypt_ecb(b, t)
        return bytes(des.encrypt_ecb(c, t))
    assert bytes(des.encrypt_ecb(k1 + k2, x)) == ede(k1, k2, k1)
    assert bytes(des.encrypt_ecb(k1 + k2 + k3, x)) == ede(k1, k2, k3)
    assert bytes(des.decrypt_ecb(k1 + k2 + k3, ede(k1, k2, k3))) == x
    assert bytes(des.encrypt_ecb(k1 + k1, x)) == bytes(des.encrypt_ecb(k1, x))   # K1=K2 degenerates to DES


def test_tdes_cbc_round_trip_in_place():
    k = H("0123456789ABCDEFFEDCBA9876543210")
    iv = H("0001020304050607")
    buf = bytearray(NOW)
    des.encrypt_cbc(k, iv, buf, buf)
    assert bytes(buf) != NOW
    des.decrypt_cbc(k, iv, buf, buf)
    assert bytes(buf) == NOW


def test_tdes_kcv():
    # TR-31:2018 A.7.2.2 key 3F419E1CB7079442AA37474C2EFBF8B8: KCV 57C409 as published with the example
    # (openemv/tr31 test/tr31_decrypt_test.c, test3); TDES KCV = the key enciphers a zero block
    assert des.kcv(H("3F419E1CB7079442AA37474C2EFBF8B8")) == H("57C409")
    # the X9.24-1 A.4 IPEK; AF8C07 computed with psec.des.generate_kcv (host cross-check, not published)
    assert des.kcv(H("6AC292FAA1315B4D858AB3A3D7D5933A")) == H("AF8C07")
    ipek = H("6AC292FAA1315B4D858AB3A3D7D5933A")
    assert des.kcv(ipek, 5) == bytes(des.encrypt_ecb(ipek, bytes(8))[:5])


def test_tdes_errors_and_wipe():
    raises(ValueError, des.TDES, bytes(12))
    raises(ValueError, des.encrypt_ecb, bytes(16), bytes(7))
    raises(ValueError, des.encrypt_cbc, bytes(16), bytes(8), bytes(9))
    t = des.TDES(H("0123456789ABCDEFFEDCBA9876543210"))
    assert any(t._ks)
    t.wipe()
    assert not any(t._ks)


def test_iso9797_1_mac_algorithm_3_examples():
    # ISO/IEC 9797-1:2011 Annex B.4 (MAC algorithm 3, DES): K = 0123456789ABCDEF, K' = FEDCBA9876543210
    k = H("0123456789ABCDEFFEDCBA9876543210")
    assert bytes(retail_mac(k, NOW)) == H("A1C72E74EA3FA9B6")              # padding method 1
    assert bytes(retail_mac(k, NOW, pad=2)) == H("E9086230CA3BE796")       # padding method 2
    assert bytes(retail_mac(k, b"Now is the time for it")) == H("2E2B1428CC78254F")
    assert bytes(retail_mac(k, NOW, n=4)) == H("A1C72E74")


def test_retail_mac_errors():
    raises(ValueError, retail_mac, bytes(24), b"x")
    raises(ValueError, retail_mac, bytes(16), b"x", pad=3)
    raises(ValueError, retail_mac, bytes(16), b"x", n=9)
