# wasl.keyload and wasl.crypto.txnkeys: the keys a terminal holds between the key store's visits. Boot
# takes the inbox and prepares the next requests' working keys; the key store then leaves RAM and comes
# back only to refill. KSNs come out in order, are saved as used before they are handed out (a power cut
# skips some, never repeats one), and a supply that cannot be refilled says so instead of failing a sale.
import os
import sys

from fwtest import raises, rmtree
from test_crypto_keystore import AES_WK1, H, _exists, _read, _terminal, _write
from wasl import keyload
from wasl.crypto import cmac
from wasl.crypto.keystore import FileSecureStorage, KeyStore, KeyStoreError
from wasl.crypto.txnkeys import KeySupply

KSN = "1234567890123456000000"
_STORE = ("wasl.crypto.keystore", "wasl.crypto.dukpt_aes", "wasl.crypto.dukpt_tdes", "wasl.crypto.tr31")


class _Hw:
    def __init__(self, d, secure=True):
        self.secure_storage = FileSecureStorage(d + "/secure") if secure else None
        self.key_inbox = d + "/keys"


def _boot(d):
    """What wasl.boot does with the keys; the key store's modules must be gone afterwards."""
    keys = keyload.load(_Hw(d))
    for name in _STORE:
        assert name not in sys.modules, name
    return keys


def _ksns(keys, n):
    out = []
    for _ in range(n):
        t = keys.take()
        out.append(t.ksn.hex().upper())
        t.wipe()
    return out


def test_boot_takes_the_inbox_and_prepares_three_requests():
    d, _ = _terminal("crypto_keystore_aes")
    try:
        keys = _boot(d)
        assert not _exists(d + "/keys/dukpt.tr31")            # the key block is taken
        assert len(keys) == 3
        assert keys.status["scheme"] == "AES-128 DUKPT" and keys.status["ksn"] == KSN + "04"
        t = keys.take()
        assert t.ksn == H(KSN + "01")                         # the X9.24-3 supplement's counter 1
        msg = b"0200 request"
        assert bytes(t.mac(msg)) == bytes(cmac.aes_cmac(H(AES_WK1[1]), msg)[:8])
        t.wipe()
        # the state was saved past every key handed out, before any was used
        ks = KeyStore(FileSecureStorage(d + "/secure"))
        assert ks.load() and ks.status()["ksn"] == KSN + "04"
        ks.wipe()
    finally:
        rmtree(d)


def test_ksns_in_order_refilled_when_used_up():
    d, _ = _terminal("crypto_keystore_aes")
    try:
        keys = _boot(d)
        assert _ksns(keys, 5) == [KSN + "01", KSN + "02", KSN + "03", KSN + "04", KSN + "05"]
        for name in _STORE:                                   # a refill loads the key store and drops it
            assert name not in sys.modules, name
        assert len(keys) == 1                                  # 4, 5, 6 were made; two taken
        keys.refill()                                          # at idle: topped up
        assert len(keys) == 3 and _ksns(keys, 1) == [KSN + "06"]
    finally:
        rmtree(d)


def test_a_power_cut_skips_the_prepared_ksns_and_never_repeats_one():
    d, _ = _terminal("crypto_keystore_aes")
    try:
        keys = _boot(d)
        assert _ksns(keys, 1) == [KSN + "01"]
        keys = _boot(d)                                        # power cut: 2 and 3 are lost with the RAM
        assert _ksns(keys, 2) == [KSN + "04", KSN + "05"]
    finally:
        rmtree(d)


def test_wipe_forgets_every_prepared_key():
    d, _ = _terminal("crypto_keystore_aes")
    try:
        keys = _boot(d)
        held = list(keys._ready)
        keys.wipe()
        assert len(keys) == 0
        for t in held:
            assert not any(t._keys)
            raises(KeyStoreError, t.mac, b"x")
    finally:
        rmtree(d)


def test_no_key_no_supply():
    d, _ = _terminal("crypto_keystore_aes")
    try:
        os.remove(d + "/secure/kbpk")
        assert keyload.load(_Hw(d)) is None
        assert keyload.load(_Hw(d, secure=False)) is None     # a board without secure storage
    finally:
        rmtree(d)


def test_a_damaged_state_gives_no_supply():
    d, _ = _terminal("crypto_keystore_aes")
    try:
        _boot(d)
        bad = bytearray(_read(d + "/secure/dukpt"))
        bad[40] ^= 1
        _write(d + "/secure/dukpt", bad)
        assert keyload.load(_Hw(d)) is None
    finally:
        rmtree(d)


def test_a_supply_that_cannot_refill_reports_it():
    d, _ = _terminal("crypto_keystore_aes")
    try:
        keys = _boot(d)
        _ksns(keys, 3)
        os.remove(d + "/secure/dukpt")                         # the key was erased meanwhile
        assert not keys.ready()                                 # logged, no exception
        e = raises(Exception, keys.take)     # a KeyStoreError (of a txnkeys module loaded anew: any class)
        assert type(e).__name__ == "KeyStoreError" and e.reason == "no_key"
    finally:
        rmtree(d)


def test_an_exhausted_counter_hands_out_what_is_left():
    from test_crypto_dukpt_aes import state_at
    d, ks = _terminal("crypto_keystore_aes")
    try:
        ks.load()
        ks._dukpt.restore(state_at(H("1273671EA26AC29AFA4D1084127652A1"), H("1234567890123456"), 0xFFFF0000))
        keys = KeySupply(ks._secure, depth=3)
        keys.refill(ks)                                         # one KSN left: handed out
        ks.wipe()
        assert len(keys) == 1 and keys.take().ksn[-4:] == H("FFFF0000")
        e = raises(Exception, keys.take)
        assert type(e).__name__ == "KeyStoreError" and e.reason == "exhausted"
        assert not keys.ready()
    finally:
        rmtree(d)
