# wasl.crypto.keystore: a terminal data directory made by tools/keyinject.py (the fixtures
# host_tests/fw/fixtures/crypto_keystore_aes|tdes: a sim KBPK and a TR-31 block of the published test BDKs'
# initial keys) loaded on both runtimes; KCVs, transactions with published results, persistence,
# refusals, and no clear key in anything the key store shows or writes.
import os

from fwtest import ROOT, make_tmpdir, raises, rmtree
from wasl.crypto import cmac
from wasl.crypto.keystore import FileSecureStorage, KeyStore, KeyStoreError
from wasl.crypto.util import hexu

H = bytes.fromhex
FIX = ROOT + "/host_tests/fw/fixtures/"
FILL = H("2F69ADDE2E9E7ACE")
IK_AES = H("1273671EA26AC29AFA4D1084127652A1")      # X9.24-3 test BDK + IKID 1234567890123456
IPEK = H("6AC292FAA1315B4D858AB3A3D7D5933A")        # X9.24-1 test BDK + KSN FFFF9876543210E00000
# X9.24-3 supplement, counter 1: PIN, MAC generation, MAC verification, data encryption keys
AES_WK1 = ("AF8CB133A78F8DC2D1359F18527593FB", "A2DC23DE6FDE0824A2BC321E08E4B8B7",
           "DBB463945B286C07CD3AD82EE96FD9C9", "A35C412EFD41FDB98B69797C02DCD08F")
# the KCVs tools/keyinject.py printed when it made the fixtures
AES_IK_KCV = "05EF45"
AES_KBPK_KCV = "13C859"
TDES_IK_KCV = "AF8C07"
TDES_KBPK_KCV = "FE1ABB"


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def _terminal(fixture):
    """A fresh copy of a fixture data directory: (dir, KeyStore)."""
    d = make_tmpdir("keys")
    os.mkdir(d + "/secure")
    os.mkdir(d + "/keys")
    for name in ("secure/kbpk", "keys/dukpt.tr31"):
        _write(d + "/" + name, _read(FIX + fixture + "/" + name))
    return d, KeyStore(FileSecureStorage(d + "/secure"), d + "/keys")


def _secrets(*more):
    """Upper and lower hex of every clear key of the fixtures and their first working keys."""
    keys = [hexu(IK_AES), hexu(IPEK), hexu(_read(FIX + "crypto_keystore_aes/secure/kbpk")),
            hexu(_read(FIX + "crypto_keystore_tdes/secure/kbpk"))] + list(AES_WK1) + list(more)
    return keys + [k.lower() for k in keys]


def test_fixture_loads_with_the_printed_kcvs():
    d, ks = _terminal("crypto_keystore_aes")
    try:
        assert ks.load()
        st = ks.status()
        assert st == {"scheme": "AES-128 DUKPT", "kbpk_kcv": AES_KBPK_KCV, "ik_kcv": AES_IK_KCV,
                      "ksn": "123456789012345600000001"}, st
        assert hexu(cmac.aes_kcv(IK_AES)) == AES_IK_KCV
        assert hexu(cmac.aes_kcv(_read(d + "/secure/kbpk"))) == AES_KBPK_KCV
        assert not _exists(d + "/keys/dukpt.tr31")           # the inbox block is consumed
        assert _exists(d + "/secure/dukpt")
    finally:
        rmtree(d)


def test_transactions_give_the_published_results():
    d, ks = _terminal("crypto_keystore_aes")
    try:
        ks.load()
        msg = b"0200 a request to authenticate"
        with ks.begin_transaction() as t:
            assert t.ksn == H("123456789012345600000001")
            pin = bytearray(b"1234")
            assert bytes(t.pin_block(pin, "4111111111111111", fill=FILL)) == H("A912150391AB65A67E52883D81CE2D15")
            assert pin == bytearray(4)                        # the PIN digits are consumed
            assert bytes(t.mac(msg)) == bytes(cmac.aes_cmac(H(AES_WK1[1]), msg)[:8])
            reply_mac = cmac.aes_cmac(H(AES_WK1[2]), b"0210 reply")[:8]
            assert t.verify_mac(b"0210 reply", reply_mac)
            assert not t.verify_mac(b"0210 replY", reply_mac)
            assert not t.verify_mac(b"0210 reply", bytes(cmac.aes_cmac(H(AES_WK1[1]), b"0210 reply")[:8]))
            from wasl.crypto import aes
            assert bytes(t.encrypt_data(bytes(16))) == bytes(aes.encrypt_ecb(H(AES_WK1[3]), bytes(16)))
        raises(KeyStoreError, t.mac, msg)                     # wiped at the end of the with block
        with ks.begin_transaction() as t:
            assert t.ksn[-1] == 2
            blk = t.pin_block(bytearray(b"1234"), "4111111111111111", fill=FILL)
            assert bytes(blk) == H("52A00503BD34BA1383F6A7EE9FE2547F")
    finally:
        rmtree(d)


def test_state_survives_a_reboot_and_is_saved_before_use():
    d, ks = _terminal("crypto_keystore_aes")
    try:
        ks.load()
        t = ks.begin_transaction()
        t.wipe()
        ks2 = KeyStore(FileSecureStorage(d + "/secure"), d + "/keys")      # power cut right after
        assert ks2.load()
        assert ks2.status()["ksn"] == "123456789012345600000002"
        assert ks2.status()["ik_kcv"] == AES_IK_KCV
    finally:
        rmtree(d)


def test_the_pin_is_consumed_even_when_refused():
    d, ks = _terminal("crypto_keystore_aes")
    try:
        ks.load()
        t = ks.begin_transaction()
        pin = bytearray(b"12")
        raises(ValueError, t.pin_block, pin, "4111111111111111")
        assert pin == bytearray(2)
        raises(TypeError, t.pin_block, b"1234", "4111111111111111")     # an immutable PIN could not be wiped
        t.wipe()
        assert not any(t._keys)
        raises(KeyStoreError, t.pin_block, bytearray(b"1234"), "4111111111111111")
    finally:
        rmtree(d)


def test_nothing_shown_or_written_holds_a_clear_key():
    d, ks = _terminal("crypto_keystore_aes")
    try:
        ks.load()
        t = ks.begin_transaction()
        shown = [repr(ks), str(ks.status()), repr(t), repr(ks._dukpt)]
        t.wipe()
        ks2 = KeyStore(FileSecureStorage(d + "/secure"), d + "/keys")
        ks2.load()
        shown += [repr(ks2), str(ks2.status())]
        text = " ".join(shown)
        for s in _secrets():
            assert s not in text, s
        state = _read(d + "/secure/dukpt")
        for k in [IK_AES] + [H(x) for x in AES_WK1]:
            assert k not in state and hexu(k).encode() not in state
        for j in range(32):                                      # no register of the saved state either
            assert bytes(ks2._dukpt._reg(j)) not in state or not any(ks2._dukpt._reg(j))
    finally:
        rmtree(d)


def test_a_damaged_state_or_another_kbpk_is_refused():
    d, ks = _terminal("crypto_keystore_aes")
    try:
        ks.load()
        good = _read(d + "/secure/dukpt")
        bad = bytearray(good)
        bad[40] ^= 1
        _write(d + "/secure/dukpt", bad)
        e = raises(KeyStoreError, KeyStore(FileSecureStorage(d + "/secure")).load)
        assert e.reason == "bad_state"
        _write(d + "/secure/dukpt", good[:-1])
        assert raises(KeyStoreError, KeyStore(FileSecureStorage(d + "/secure")).load).reason == "bad_state"
        _write(d + "/secure/dukpt", good)
        _write(d + "/secure/kbpk", bytes(16))
        assert raises(KeyStoreError, KeyStore(FileSecureStorage(d + "/secure")).load).reason == "bad_state"
        os.remove(d + "/secure/kbpk")
        assert raises(KeyStoreError, KeyStore(FileSecureStorage(d + "/secure")).load).reason == "no_kbpk"
    finally:
        rmtree(d)


def test_injection_rules():
    d, ks = _terminal("crypto_keystore_aes")
    try:
        block = _read(d + "/keys/dukpt.tr31").decode().strip()
        ks.load()
        e = raises(KeyStoreError, ks.inject, block)                   # the same initial key again
        assert e.reason == "same_key"
        e = raises(KeyStoreError, ks.inject, block[:-1] + ("0" if block[-1] != "0" else "1"))
        assert e.reason == "bad_block" and "MAC" in str(e)
        # a block in the inbox that does not verify is set aside, the current key stays
        _write(d + "/keys/dukpt.tr31", (block[:20] + ("0" if block[20] != "0" else "1") + block[21:]).encode())
        ks2 = KeyStore(FileSecureStorage(d + "/secure"), d + "/keys")
        assert ks2.load() and ks2.status()["ik_kcv"] == AES_IK_KCV
        assert _exists(d + "/keys/dukpt.tr31.rejected") and not _exists(d + "/keys/dukpt.tr31")
        # the TDES fixture's block is under another KBPK: refused
        tdes_block = _read(FIX + "crypto_keystore_tdes/keys/dukpt.tr31").decode().strip()
        assert raises(KeyStoreError, ks2.inject, tdes_block).reason == "bad_block"
    finally:
        rmtree(d)


def test_a_new_initial_key_replaces_the_old_one():
    from wasl.crypto import tr31
    d, ks = _terminal("crypto_keystore_aes")
    try:
        ks.load()
        ks.begin_transaction().wipe()
        kbpk = _read(d + "/secure/kbpk")
        ik2 = bytes(range(16))
        kcv = ks.inject(tr31.wrap(kbpk, "D0000B1AX00N0100IK14AABBCCDD00000001", ik2))
        assert kcv == cmac.aes_kcv(ik2)
        assert ks.status()["ksn"] == "AABBCCDD0000000100000001"
        ks2 = KeyStore(FileSecureStorage(d + "/secure"))
        ks2.load()
        assert ks2.status()["ik_kcv"] == hexu(kcv)
        # an initial key block must be usage B1, mode X, with its IK block
        for header in ("D0000P0AE00E0100IK14AABBCCDD00000001", "D0000B1AN00N0100IK14AABBCCDD00000001",
                       "D0000B1AX00N0000"):
            assert raises(KeyStoreError, ks.inject, tr31.wrap(kbpk, header, ik2)).reason == "bad_block", header
    finally:
        rmtree(d)


def test_exhausted_counter():
    from test_crypto_dukpt_aes import state_at
    d, ks = _terminal("crypto_keystore_aes")
    try:
        ks.load()
        ks._dukpt.restore(state_at(IK_AES, H("1234567890123456"), 0xFFFF0000))
        ks.begin_transaction().wipe()
        e = raises(KeyStoreError, ks.begin_transaction)
        assert e.reason == "exhausted"
        assert ks.status()["ksn"] == "exhausted"
    finally:
        rmtree(d)


def test_tdes_fixture():
    d, ks = _terminal("crypto_keystore_tdes")
    try:
        assert ks.load()
        assert ks.status() == {"scheme": "TDES DUKPT", "kbpk_kcv": TDES_KBPK_KCV, "ik_kcv": TDES_IK_KCV,
                               "ksn": "FFFF9876543210E00001"}
        from wasl.crypto import dukpt_tdes
        from wasl.crypto.iso9797 import retail_mac
        for blk in ("1B9C1845EB993A7A", "10A01C8D02C69107"):        # X9.24-1 A.4.2
            with ks.begin_transaction() as t:
                assert bytes(t.pin_block(bytearray(b"1234"), "4012345678909")) == H(blk)
                tk = dukpt_tdes.transaction_key(IPEK, t.ksn)
                mac_key = dukpt_tdes.working_key(tk, dukpt_tdes.MAC_REQUEST)
                assert bytes(t.mac(b"request")) == bytes(retail_mac(mac_key, b"request"))
                assert t.verify_mac(b"reply", retail_mac(dukpt_tdes.working_key(tk, dukpt_tdes.MAC_RESPONSE), b"reply"))
                shown = repr(t) + repr(ks) + str(ks.status())
        for s in _secrets(hexu(tk)):
            assert s not in shown
        ks.wipe()
        assert not any(ks._sk)
        raises(KeyStoreError, ks.begin_transaction)
        ks2 = KeyStore(FileSecureStorage(d + "/secure"))
        assert ks2.load() and ks2.status()["ksn"] == "FFFF9876543210E00003"
        ks2.erase()
        assert not _exists(d + "/secure/dukpt") and not KeyStore(FileSecureStorage(d + "/secure")).load()
    finally:
        rmtree(d)
