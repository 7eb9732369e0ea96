"""tools/hostcrypto.py, the host side of the terminal's cryptography (what the acquirer simulator and the key
injection tool use), against the published vectors (ANSI X9.24-3-2017 B.1 and the ASC X9 supplement,
X9.24-1-2009 A.4, ISO 9564-1 examples, RFC 4493), against psec, and against the firmware's own
implementation (firmware/wasl/crypto on CPython with the cryptolib shim), down to the key store loading
the keyinject-made fixtures: what a terminal sends, the host reads, and the reverse."""
import os
import re
import shutil
import sys
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _p in (ROOT, os.path.join(ROOT, "firmware"), os.path.join(ROOT, "host_tests", "cpython_shims")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from cryptography.utils import CryptographyDeprecationWarning  # noqa: E402

warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning)   # psec's TDES

import psec  # noqa: E402

from tools import hostcrypto as hc  # noqa: E402
from tools import hostspec, keyinject  # noqa: E402
from wasl.crypto import cmac as fw_cmac  # noqa: E402
from wasl.crypto import dukpt_aes as fw_aes  # noqa: E402
from wasl.crypto import dukpt_tdes as fw_tdes  # noqa: E402
from wasl.crypto import pinblock as fw_pin  # noqa: E402
from wasl.crypto.iso9797 import retail_mac as fw_retail_mac  # noqa: E402
from wasl.crypto.keystore import FileSecureStorage, KeyStore  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")
SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
H = bytes.fromhex
FIX = os.path.join(ROOT, "host_tests", "fw", "fixtures")

# ---- published vectors ----------------------------------------------------------------------------------

# X9.24-3-2017 B.1 / the X9 supplement (as in host_tests/fw/test_crypto_dukpt_aes.py)
BDK = H("FEDCBA9876543210F1F1F1F1F1F1F1F1")
IKID = H("1234567890123456")
IK = H("1273671EA26AC29AFA4D1084127652A1")
IK256 = H("CE9CE0C101D1138F97FB6CAD4DF045A7083D4EAE2D35A31789D01CCF0949550F")   # BDK = the BDK twice
IDK = ("4F21B565BAD9835E112B6465635EAE44", "2F34D68DE10F68D38091A73B9E7C437C", "031504E530365CF81264238540518318",
       "0EEFC7ADA628BA68878DA9165A8A1887", "C2A7AC328A5DA2D6002D62465BFC028B", "D30F7D9351DA58448A2F5E92B4EE3B7D",
       "A8253CEED9AC042C54F75D35C8352278", "718EE6CF0B27E53D5F7AF99C4D8146A2")
IDK_LATER = {0x1FFFE: "E21E8C8D347F8561A2BE752DAA85A111", 0x20000: "F7AE9025468A25D37B7249CFFED224C8",
             0x20001: "692C8EA4013645135B36497131DF9D2C", 0xFFFE2000: "48E585B694EB0B18D5C35443E163C0BA",
             0xFFFF0000: "F6BA59389BD14A9855BE9727E7C52E3C"}
USAGES_1 = {hc.USAGE_KEY_ENCRYPTION: "36A724B7BEFA5A25F5E7B5782A4554A2",
            hc.USAGE_PIN_ENCRYPTION: "AF8CB133A78F8DC2D1359F18527593FB",
            hc.USAGE_MAC_GENERATION: "A2DC23DE6FDE0824A2BC321E08E4B8B7",
            hc.USAGE_MAC_VERIFICATION: "DBB463945B286C07CD3AD82EE96FD9C9",
            hc.USAGE_MAC_BOTH_WAYS: "85675439D18D7F1158BD8E3EAA3D502B",
            hc.USAGE_DATA_ENCRYPT: "A35C412EFD41FDB98B69797C02DCD08F",
            hc.USAGE_DATA_DECRYPT: "16292C6EA8F64C5420A0584BFBC577BE",
            hc.USAGE_DATA_BOTH_WAYS: "A308E080DD15A1B741F1721BF67DE11C",
            hc.USAGE_KEY_DERIVATION: "30E54D3C69B22501A7FC43969D81D5C0"}
# counter -> (PIN encryption, MAC generation, data encryption) working keys
WORKING = {
    0x00000002: ("D30BDC73EC9714B000BEC66BDB7B6D09", "484C3B06E8562704528CD5B46FB12FB6",
                 "D639514AA33AC43AD9229E433D6D4E5B"),
    0x00000005: ("35A43BC9EFEB09C756204B57E3FB7D4D", "0588185FE1FF8C7E22FAD78C1C61F065",
                 "CA02DF6F30B39E14BD0B4A30E460920F"),
    0x00000008: ("4D9DF3FBEE3448FC3E676D04320A90F5", "6FD572E5D59E618875F193484F9178FB",
                 "650F34204ABD4E57764D61AC3D266FB1"),
    0x0001FFFE: ("DDF7E08A84B5478C498D007C743BF762", "6D7623AD652734B8FAE1B6E093EACE3D",
                 "8E4E5D5E0F01C54F01F4ACA1C8F8EDCE"),
    0x00020000: ("AB828BE7B58C7EC5D5ED0D5D320A0C9D", "0B59D3D7D93028D97135FB895CACE24E",
                 "13361208975755318FE7AE28C9616014"),
}
# the supplement's format 4 example: PIN 1234, PAN 4111111111111111, random fill, counters 1 and 2
FILL = H("2F69ADDE2E9E7ACE")
PAN4 = "4111111111111111"
FORMAT4 = {1: "A912150391AB65A67E52883D81CE2D15", 2: "52A00503BD34BA1383F6A7EE9FE2547F"}

# X9.24-1-2009 A.4
TBDK = H("0123456789ABCDEFFEDCBA9876543210")
IKSN = H("FFFF9876543210E00000")
IPEK = H("6AC292FAA1315B4D858AB3A3D7D5933A")
PAN0 = "4012345678909"
# A.4.2 and A.4.3: counter -> (transaction key, PIN 1234 in format 0 under its PIN variant)
TDES_VECTORS = {
    0x000001: ("042666B49184CFA368DE9628D0397BC9", "1B9C1845EB993A7A"),
    0x000002: ("C46551CEF9FD24B0AA9AD834130D3BC7", "10A01C8D02C69107"),
    0x000003: ("0DF3D9422ACA56E547676D07AD6BADFA", "18DC07B94797B466"),
    0x000008: ("27F66D5244FF62E1AA6F6120EDEB4280", "50E55547A5027551"),
    0x00000A: ("6CF2500A22507C7CC776CEADC1E33014", "EDABBA23221833FE"),
    0x000010: ("59598DCBD9BD94C094165CE453585F57", "D5D9638559EF53D6"),
    0x000015: ("E161D1956A61F6D2F37AFD7F9CC3699A", "72105C22EBC791E6"),
    0x0FF800: ("F9CDFEBF4F5B1D9EB3EC12454527E176", "33365F5CC6F23C35"),
    0x0FF801: ("5BEE92627E97825C911BF619DF72CA3B", "3A86BF003F835C9D"),
    0x0FFC00: ("F9430DF975082491C77BE4EF4FDB91EE", "DEFC6F09F8927B71"),
    0x100000: ("AA4D58DB653EC74A48C75F2F047DD2B5", "73EC88AD0AC5830E"),
}


def tdes_ksn(counter):
    return (int.from_bytes(IKSN, "big") | counter).to_bytes(10, "big")


def aes_ksn(counter, ikid=IKID):
    return bytes(ikid) + counter.to_bytes(4, "big")


def test_aes_initial_keys_b1_and_supplement():
    assert hc.aes_initial_key(BDK, IKID) == IK
    assert hc.aes_initial_key(BDK + BDK, IKID) == IK256
    assert hc.aes_kcv(IK).hex().upper() == "05EF45"                       # docs/keys.md
    with pytest.raises(hc.DukptError):
        hc.aes_initial_key(BDK[:12] + BDK, IKID)                          # AES-192: no terminal has it
    with pytest.raises(hc.DukptError):
        hc.aes_initial_key(BDK, IKID[:7])
    assert hc.aes_derivation_data(hc.USAGE_PIN_ENCRYPTION, hc.KEY_AES128, IKID, 1) == H(
        "01011000000200809012345600000001")
    assert hc.aes_derivation_data(hc.USAGE_KEY_DERIVATION_INITIAL_KEY, hc.KEY_AES128, IKID, 0) == H(
        "01018001000200801234567890123456")


def test_aes_intermediate_keys_of_the_supplement():
    for counter, key in enumerate(IDK, 1):
        assert hc.aes_intermediate_key(IK, IKID, counter) == H(key), counter
    for counter, key in IDK_LATER.items():
        assert hc.aes_intermediate_key(IK, IKID, counter) == H(key), hex(counter)


def test_aes_working_keys_of_the_supplement():
    for usage, key in USAGES_1.items():
        assert hc.aes_derive_key(H(IDK[0]), usage, hc.KEY_AES128, IKID, 1) == H(key), hex(usage)
    for usage in (hc.USAGE_PIN_ENCRYPTION, hc.USAGE_MAC_GENERATION, hc.USAGE_MAC_VERIFICATION):
        assert hc.aes_working_key(BDK, aes_ksn(1), usage) == H(USAGES_1[usage])
    for counter, (pin, mac, data) in WORKING.items():
        ksn = aes_ksn(counter)
        assert hc.aes_working_key(BDK, ksn, hc.USAGE_PIN_ENCRYPTION) == H(pin), hex(counter)
        assert hc.aes_working_key(BDK, ksn, hc.USAGE_MAC_GENERATION) == H(mac), hex(counter)
        assert hc.aes_working_key(BDK, ksn, hc.USAGE_DATA_ENCRYPT) == H(data), hex(counter)
    for counter, blk in FORMAT4.items():
        key = hc.aes_working_key(BDK, aes_ksn(counter), hc.USAGE_PIN_ENCRYPTION)
        assert hc.encipher_format4(key, "1234", PAN4, FILL) == H(blk)
        assert hc.decipher_format4(key, H(blk), PAN4) == "1234"


def test_aes_counters_a_terminal_never_uses_are_refused():
    for counter in (0, 0x1FFFF, 0xFFFFFFFF):                              # 0; 17 and 32 one bits
        with pytest.raises(hc.DukptError):
            hc.aes_working_key(BDK, aes_ksn(counter), hc.USAGE_PIN_ENCRYPTION)
    assert hc.aes_working_key(BDK, aes_ksn(0xFFFF0000), hc.USAGE_PIN_ENCRYPTION)   # the last one: 16 bits


def test_tdes_ipek_transaction_keys_and_pin_blocks_of_a4():
    assert hc.tdes_ipek(TBDK, IKSN) == IPEK == hc.tdes_ipek(TBDK, tdes_ksn(7))  # counter bits ignored
    assert hc.tdes_kcv(IPEK).hex().upper() == "AF8C07"
    for counter, (tk, blk) in TDES_VECTORS.items():
        ksn = tdes_ksn(counter)
        assert hc.tdes_transaction_key(IPEK, ksn) == H(tk), hex(counter)
        keys = hc.session_keys(ksn, tdes_bdk=TBDK)
        assert keys.pin_key == hc.tdes_working_key(TBDK, ksn, hc.VARIANT_PIN)
        assert hc.encipher_format0(keys.pin_key, "1234", PAN0) == H(blk)
        assert keys.decipher_pin(H(blk), PAN0) == "1234"
    # the variants of Table A-1 on the first transaction key (docs/host-interface.md 13.1)
    keys = hc.session_keys(tdes_ksn(1), tdes_bdk=TBDK)
    assert keys.pin_key == H("042666B49184CF5C68DE9628D0397B36")
    assert keys.request_mac_key == H("042666B4918430A368DE9628D03984C9")
    assert keys.reply_mac_key == H("042666B46E84CFA368DE96282F397BC9")
    with pytest.raises(hc.DukptError):
        hc.session_keys(tdes_ksn(0x7FF), tdes_bdk=TBDK)                    # 11 one bits
    with pytest.raises(hc.DukptError):
        hc.tdes_ipek(TBDK[:8], IKSN)


def test_data_encryption_keys_published_and_psec():
    # AES: usage 3000 of the X9.24-3 supplement (counter 1 and the WORKING counters) in SessionKeys
    assert hc.session_keys(aes_ksn(1), aes_bdk=BDK).data_key == H(USAGES_1[hc.USAGE_DATA_ENCRYPT])
    for counter, (_, _, data) in WORKING.items():
        assert hc.session_keys(aes_ksn(counter), aes_bdk=BDK).data_key == H(data), hex(counter)
    # TDES: data request variant then the one-way function, KSN FFFF9876543210E00008 (ID TECH's published
    # example, as host_tests/fw/test_crypto_dukpt_tdes.py)
    keys = hc.session_keys(tdes_ksn(8), tdes_bdk=TBDK)
    assert keys.data_key == hc.tdes_data_key(TBDK, tdes_ksn(8)) == H("C39B2778B058AC376FB18DC906F75CBA")
    variant = hc.tdes_working_key(TBDK, tdes_ksn(8), hc.VARIANT_DATA_REQUEST)
    assert variant == hc._xor(H(TDES_VECTORS[8][0]), H("0000000000FF0000") * 2)
    assert keys.data_key == psec.des.encrypt_tdes_ecb(variant, variant)      # each half under the key
    with pytest.raises(hc.DukptError):
        hc.tdes_owf(variant[:8])


def test_stored_card_layout_and_refusals():
    track2 = "4761739001010119=25122011758928889"                              # 34 characters
    for keys, block in ((hc.session_keys(aes_ksn(1), aes_bdk=BDK), 16),
                        (hc.session_keys(tdes_ksn(1), tdes_bdk=TBDK), 8)):
        f61 = hc.encipher_stored_card(keys, track2)
        k = len(keys.ksn)
        assert f61[0] == k and f61[1:1 + k] == keys.ksn and len(f61) == 1 + k + -(-34 // block) * block
        assert hc.decipher_stored_card(f61, aes_bdk=BDK, tdes_bdk=TBDK) == track2
        clear = keys.decipher_data(f61[1 + k:])
        assert clear == track2.encode() + bytes(len(clear) - 34)
        ct = f61[1 + k:]
        if keys.scheme == "aes":
            assert ct == psec.aes.encrypt_aes_cbc(keys.data_key, bytes(16), clear)
        else:
            assert ct == psec.des.encrypt_tdes_cbc(keys.data_key, bytes(8), clear)
        bad = [b"", bytes([11]) + f61[1:], f61[:1 + k], f61[:-1], f61 + bytes(block)[:1],
               f61[:5] + bytes([f61[5] ^ 1]) + f61[6:],                                  # another KSN
               f61[:-1] + bytes([f61[-1] ^ 1]),                                          # damaged ciphertext
               f61[:1 + k] + keys.encipher_data(track2[:20].encode() + bytes(block)),   # a whole block of padding
               f61[:1 + k] + keys.encipher_data(track2.replace("=", "D").encode()),
               f61[:1 + k] + keys.encipher_data(bytes(block))]                          # nothing but padding
        for f in bad:
            with pytest.raises(hc.StoredCardError):
                hc.decipher_stored_card(f, aes_bdk=BDK, tdes_bdk=TBDK)
        with pytest.raises(hc.StoredCardError):                                          # no BDK for the scheme
            hc.decipher_stored_card(f61, **({"tdes_bdk": TBDK} if keys.scheme == "aes" else {"aes_bdk": BDK}))
    with pytest.raises(hc.StoredCardError):                                              # counter 0
        hc.decipher_stored_card(hc.pack_stored_card(aes_ksn(0), bytes(16)), aes_bdk=BDK)
    with pytest.raises(hc.StoredCardError):                                              # over 64 bytes
        hc.pack_stored_card(aes_ksn(1), bytes(64))


def test_pin_blocks_published_examples_and_refusals():
    assert hc.format4_pan_field("4012345678909") == H("14012345678909000000000000000000")
    assert hc.format4_pan_field("1234567") == H("00000012345670000000000000000000")
    assert hc.format4_pin_field("1234", FILL) == H("441234AAAAAAAAAA2F69ADDE2E9E7ACE")
    # psec's documented example (psec.pinblock.decipher_pinblock_iso_4)
    assert hc.decipher_format4(H("00112233445566778899AABBCCDDEEFF"), H("E4BE5B623AF7E006AC319E5B93544564"),
                               "1234567890123456") == "1234"
    assert hc.format0_pan_block(PAN0) == H("0000401234567890")
    key = H(USAGES_1[hc.USAGE_PIN_ENCRYPTION])
    good = H(FORMAT4[1])
    for block, pan in ((good, "4111111111111112"),                   # another PAN: garbage
                       (bytes([good[0] ^ 1]) + good[1:], PAN4),       # damaged block
                       (good[:8], PAN4)):                             # wrong length
        with pytest.raises(hc.PinBlockError):
            hc.decipher_format4(key, block, pan)
    with pytest.raises(hc.PinBlockError):                             # a format 0 block is not format 4
        hc.decipher_format4(key, hc.aes_encrypt(key, hc._xor(hc.aes_encrypt(key, H("041234FFFFFFFFFF") + FILL),
                                                             hc.format4_pan_field(PAN4))), PAN4)
    with pytest.raises(hc.PinBlockError):
        hc.decipher_format0(H("042666B49184CF5C68DE9628D0397B36"), H("1B9C1845EB993A7A"), "401234567")  # short PAN
    for pin in ("123", "1234567890123", "12a4"):
        with pytest.raises(hc.PinBlockError):
            hc.encipher_format4(key, pin, PAN4)


def test_cmac_and_retail_mac_known_answers():
    # RFC 4493 examples 1 and 2
    k = H("2b7e151628aed2a6abf7158809cf4f3c")
    assert hc.aes_cmac(k, b"") == H("bb1d6929e95937287fa37d129b756746")
    assert hc.aes_cmac(k, H("6bc1bee22e409f96e93d7e117393172a")) == H("070a16b46b4d4144f79bdd9dd04a287c")
    # ISO/IEC 9797-1 B.4 MAC algorithm 3 (as in host_tests/fw/test_crypto_des.py)
    key = H("0123456789ABCDEFFEDCBA9876543210")
    msg = b"Now is the time for all "
    assert hc.retail_mac(key, msg) == bytes(fw_retail_mac(key, msg))
    assert hc.retail_mac(key, msg) == psec.mac.generate_retail_mac(key[:8], key[8:], msg, 1)


def test_session_keys_choose_the_scheme_by_ksn_length_and_hide_the_keys():
    a = hc.session_keys(aes_ksn(1), aes_bdk=BDK, tdes_bdk=TBDK)
    t = hc.session_keys(tdes_ksn(1), aes_bdk=BDK, tdes_bdk=TBDK)
    assert (a.scheme, a.pin_block_len, t.scheme, t.pin_block_len) == ("aes", 16, "tdes", 8)
    assert (a.pin_key, a.request_mac_key, a.reply_mac_key) == tuple(
        H(USAGES_1[u]) for u in (hc.USAGE_PIN_ENCRYPTION, hc.USAGE_MAC_GENERATION, hc.USAGE_MAC_VERIFICATION))
    for keys in (a, t):
        text = repr(keys) + str(keys)
        for secret in (keys.pin_key, keys.request_mac_key, keys.reply_mac_key, keys.data_key):
            assert secret.hex() not in text.lower()
    for ksn, kw in ((aes_ksn(1), {"tdes_bdk": TBDK}), (tdes_ksn(1), {"aes_bdk": BDK}), (bytes(11), {"aes_bdk": BDK})):
        with pytest.raises(hc.DukptError):
            hc.session_keys(ksn, **kw)


def test_keyinject_uses_these_derivations():
    # tools/keyinject.py holds no cryptography of its own: the same functions, not copies
    for name in ("aes_initial_key", "tdes_ipek", "aes_kcv", "tdes_kcv", "read_hex_file"):
        assert getattr(keyinject, name) is getattr(hc, name), name
    assert hc.read_hex_file(os.path.join(FIX, "crypto_test_bdk_aes128.txt"), "BDK") == BDK
    assert hc.read_hex_file(os.path.join(FIX, "crypto_test_bdk_tdes.txt"), "BDK") == TBDK


def test_document_examples_of_section_13():
    with open(hostspec.DOC, encoding="utf-8") as f:
        doc = f.read().split("## 13.", 1)[1]
    a = hc.session_keys(aes_ksn(1), aes_bdk=BDK)
    t = hc.session_keys(tdes_ksn(1), tdes_bdk=TBDK)
    for value in (a.pin_key, a.request_mac_key, a.reply_mac_key, t.request_mac_key, t.reply_mac_key,
                  H(FORMAT4[1]), H("1B9C1845EB993A7A"), a.data_key, t.data_key,
                  hc.tdes_working_key(TBDK, tdes_ksn(1), hc.VARIANT_DATA_REQUEST), hc.tdes_data_key(TBDK, tdes_ksn(8))):
        assert value.hex().upper() in doc
    m = re.search(r"`(\w+)` \(59 bytes, the MAC input\)", doc)
    assert m and m.group(1) == "123456789012345600000001"
    assert "field 64 = `%s`" % a.request_mac(echo_mac_input()).hex().upper() in doc


def test_document_examples_of_section_15():
    """The field 61 examples of docs/host-interface.md 15.3, recomputed."""
    with open(hostspec.DOC, encoding="utf-8") as f:
        doc = f.read().split("### 15.3", 1)[1].split("### 15.4", 1)[0]
    track2 = re.search(r"track 2 `([0-9=]+)` \((\d+) characters\)", doc)
    assert track2 and len(track2.group(1)) == int(track2.group(2))
    items = doc.split("Examples,", 1)[1].split("\n* ")[1:]
    examples = [re.search(r"KSN `([0-9A-F]+)` \(data key\s+`([0-9A-F]{32})`\).*?(\d+) bytes[^`]*`(0[AC])`\s+"
                          r"`([0-9A-F]+)`\s+`([0-9A-F]+)`", item, re.S) for item in items]
    assert len(examples) == 2 and all(examples)
    for ksn, data_key, n, k, ksn_again, ct in (m.groups() for m in examples):
        keys = hc.session_keys(H(ksn), aes_bdk=BDK, tdes_bdk=TBDK)
        assert keys.data_key == H(data_key) and ksn_again == ksn and int(k, 16) == len(H(ksn))
        f61 = hc.encipher_stored_card(keys, track2.group(1))
        assert f61 == H(k + ksn + ct) and len(f61) == int(n)
        assert hc.decipher_stored_card(f61, aes_bdk=BDK, tdes_bdk=TBDK) == track2.group(1)


def echo_mac_input():
    """The 0800 of the example in docs/host-interface.md 13.2, up to field 64."""
    import iso8583
    hs = hostspec.load()
    doc = {"t": "0800", "3": "990000", "7": "0705090807", "11": "000048", "24": "001", "41": "WASL0001",
           "53": "123456789012345600000001", "64": "00" * 8}
    raw = bytes(iso8583.encode(doc, hs.spec)[0])
    assert len(raw[:-8]) == 59 and raw[4:12] == H("2220010000800801")
    return raw[:-8]


# ---- against psec and the firmware (hypothesis) -------------------------------------------------------

aes_keys = st.sampled_from((16, 32)).flatmap(lambda n: st.binary(min_size=n, max_size=n))


def digits(lo, hi):
    return st.integers(lo, hi).flatmap(lambda n: st.text("0123456789", min_size=n, max_size=n))


def aes_counters():
    return st.integers(1, 0xFFFFFFFF).filter(hc.aes_counter_valid)


def tdes_counters():
    return st.integers(1, 0x1FFFFF).filter(hc.tdes_counter_valid)


@SETTINGS
@given(aes_keys, st.binary(min_size=8, max_size=8), aes_counters(),
       st.sampled_from((hc.USAGE_PIN_ENCRYPTION, hc.USAGE_MAC_GENERATION, hc.USAGE_MAC_VERIFICATION,
                        hc.USAGE_DATA_ENCRYPT)))
def test_aes_dukpt_matches_the_firmware(bdk, ikid, counter, usage):
    ik = fw_aes.derive_initial_key(bdk, ikid)
    assert hc.aes_initial_key(bdk, ikid) == bytes(ik)
    idk = fw_aes.intermediate_derivation_key(ik, ikid, counter)
    assert hc.aes_intermediate_key(bytes(ik), ikid, counter) == bytes(idk)
    assert hc.aes_working_key(bdk, aes_ksn(counter, ikid), usage) == bytes(
        fw_aes.working_key(idk, usage, fw_aes.KEY_AES128, ikid, counter))


@SETTINGS
@given(st.binary(min_size=16, max_size=16), st.binary(min_size=10, max_size=10), tdes_counters())
def test_tdes_dukpt_matches_the_firmware(bdk, iksn, counter):
    ksn = ((int.from_bytes(iksn, "big") & ~0x1FFFFF) | counter).to_bytes(10, "big")
    ipek = fw_tdes.derive_ipek(bdk, ksn)
    assert hc.tdes_ipek(bdk, ksn) == bytes(ipek)
    tk = fw_tdes.transaction_key(ipek, ksn)
    assert hc.tdes_transaction_key(bytes(ipek), ksn) == bytes(tk)
    keys = hc.session_keys(ksn, tdes_bdk=bdk)
    assert (keys.pin_key, keys.request_mac_key, keys.reply_mac_key, keys.data_key) == tuple(
        bytes(fw_tdes.working_key(tk, u)) for u in (fw_tdes.PIN, fw_tdes.MAC_REQUEST, fw_tdes.MAC_RESPONSE,
                                                     fw_tdes.DATA_REQUEST | fw_tdes.OWF))


@SETTINGS
@given(aes_keys, digits(4, 12), digits(1, 19))
def test_format4_both_ways_with_the_firmware_and_psec(key, pin, pan):
    theirs = bytes(fw_pin.encipher_format4(key, bytearray(pin.encode()), pan))
    assert hc.decipher_format4(key, theirs, pan) == pin
    ours = hc.encipher_format4(key, pin, pan)
    got = bytearray(12)
    n = fw_pin.decipher_format4(key, ours, pan, got)
    assert got[:n] == pin.encode()
    assert psec.pinblock.decipher_pinblock_iso_4(key, ours, pan) == pin
    assert hc.decipher_format4(key, psec.pinblock.encipher_pinblock_iso_4(key, pin, pan), pan) == pin


@SETTINGS
@given(st.binary(min_size=16, max_size=16), digits(4, 12), digits(13, 19))
def test_format0_both_ways_with_the_firmware_and_psec(key, pin, pan):
    theirs = bytes(fw_pin.encipher_format0(key, bytearray(pin.encode()), pan))
    assert hc.decipher_format0(key, theirs, pan) == pin
    ours = hc.encipher_format0(key, pin, pan)
    got = bytearray(12)
    assert got[:fw_pin.decipher_format0(key, ours, pan, got)] == pin.encode()
    assert hc.tdes_decrypt(key, ours) == psec.pinblock.encode_pinblock_iso_0(pin, pan)


@SETTINGS
@given(aes_keys, st.binary(min_size=16, max_size=16), st.binary(max_size=200))
def test_macs_match_the_firmware_and_psec(akey, tkey, data):
    assert hc.aes_cmac(akey, data) == bytes(fw_cmac.aes_cmac(akey, data))
    assert hc.retail_mac(tkey, data) == bytes(fw_retail_mac(tkey, data))
    if data:
        assert hc.retail_mac(tkey, data) == psec.mac.generate_retail_mac(tkey[:8], tkey[8:], data, 1)


# ---- the terminal's key store (keyinject-made fixtures) against the host ------------------------------

def terminal(tmp_path, fixture):
    d = tmp_path / fixture
    shutil.copytree(os.path.join(FIX, fixture), d)
    ks = KeyStore(FileSecureStorage(str(d / "secure")), str(d / "keys"))
    assert ks.load()
    return ks


@pytest.mark.parametrize("fixture,bdk", [("crypto_keystore_aes", {"aes_bdk": BDK}),
                                         ("crypto_keystore_tdes", {"tdes_bdk": TBDK})], ids=["aes", "tdes"])
def test_terminal_key_store_and_host_agree(tmp_path, fixture, bdk):
    ks = terminal(tmp_path, fixture)
    msg = echo_mac_input()
    for i in range(3):
        with ks.begin_transaction() as t:
            keys = hc.session_keys(t.ksn, **bdk)
            pan = PAN4 if keys.scheme == "aes" else PAN0
            pin = "%04d" % (1234 + 1111 * i)
            block = bytes(t.pin_block(bytearray(pin.encode()), pan))
            assert len(block) == keys.pin_block_len and keys.decipher_pin(block, pan) == pin
            mac = bytes(t.mac(msg))
            assert keys.request_mac(msg) == mac                       # what the host verifies
            assert t.verify_mac(msg, keys.reply_mac(msg))              # the host's reply MAC verifies
            assert not t.verify_mac(msg, keys.request_mac(msg))        # one key per direction
            assert not t.verify_mac(msg + b"x", keys.reply_mac(msg))
            if i == 0 and keys.scheme == "aes":                        # docs/host-interface.md 13.2
                assert mac.hex().upper() == "B2CAEA3D455902F6"
            if i == 0 and keys.scheme == "tdes":                       # X9.24-1 A.4.2, first KSN
                assert block == H("1B9C1845EB993A7A")
            # field 61 (docs/host-interface.md section 15): the terminal enciphers, the host deciphers
            track2 = "4761739001010119=25122011758928889"[:30 + 2 * i]
            clear = track2.encode() + bytes(-len(track2) % keys.data_block)
            f61 = bytes([len(t.ksn)]) + bytes(t.ksn) + bytes(t.encrypt_data(clear))
            assert f61 == hc.encipher_stored_card(keys, track2)
            assert hc.decipher_stored_card(f61, **bdk) == track2
