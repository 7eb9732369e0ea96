# wasl.txn.online with DUKPT keys: every request carries its KSN (53) and a MAC (64) under the MAC
# generation key, a PIN goes into 52 under the PIN key, and a reply counts only when its MAC verifies
# under the MAC verification key. Checked against the X9.24-3 supplement's working keys of counter 1
# (the key store fixture of test_crypto_keystore), on both runtimes.
import os

from fwtest import ROOT, FakeParams, make_tmpdir, raises, rmtree
from wasl.card.track2 import parse_track2
from wasl.crypto import cmac, pinblock
from wasl.crypto.keystore import FileSecureStorage, KeyStore
from wasl.crypto.txnkeys import KeySupply
from wasl.host.iso8583 import Codec, CodecError
from wasl.host.spec import SPEC
from wasl.txn import online

H = bytes.fromhex
FIX = ROOT + "/host_tests/fw/fixtures/crypto_keystore_aes/"
# X9.24-3 supplement, counter 1: PIN, MAC generation, MAC verification keys
PIN_KEY = H("AF8CB133A78F8DC2D1359F18527593FB")
MAC_GEN = H("A2DC23DE6FDE0824A2BC321E08E4B8B7")
MAC_VER = H("DBB463945B286C07CD3AD82EE96FD9C9")
KSN1 = H("123456789012345600000001")
PAN = "4761739001010010"


def _copy(src, dst):
    with open(src, "rb") as f:
        data = f.read()
    with open(dst, "wb") as f:
        f.write(data)


class _Term:
    def __init__(self, keys):
        self.keys = keys
        self.codec = Codec(SPEC)
        self.params = FakeParams()


def _terminal():
    d = make_tmpdir("online")
    os.mkdir(d + "/secure")
    os.mkdir(d + "/keys")
    _copy(FIX + "secure/kbpk", d + "/secure/kbpk")
    _copy(FIX + "keys/dukpt.tr31", d + "/keys/dukpt.tr31")
    secure = FileSecureStorage(d + "/secure")
    ks = KeyStore(secure, d + "/keys")
    assert ks.load()
    keys = KeySupply(secure)      # what the terminal holds (wasl.keyload)
    keys.refill(ks)
    ks.wipe()
    return d, _Term(keys)


ECHO = {3: "990000", 7: "0705090807", 11: "000042", 24: "001", 41: "WASL0001"}


def _reply(term, fields, key=MAC_VER, tamper=False):
    """A host reply MACed like the host does: AES-CMAC under the MAC verification key, leftmost 8."""
    f = dict(fields)
    f[64] = bytes(8)
    raw = bytearray(term.codec.encode("0810", f))
    n = len(raw)
    raw[n - 8:] = cmac.aes_cmac(key, bytes(raw[:n - 8]))[:8]
    if tamper:
        raw[10] ^= 1
    return bytes(raw)


def test_request_carries_ksn_and_mac_under_the_mac_generation_key():
    d, term = _terminal()
    try:
        raw, txk = online.encode(term, "0800", dict(ECHO))
        raw = bytes(raw)
        try:
            mti, got = term.codec.decode(raw)
            assert mti == "0800"
            assert got[53] == KSN1
            assert got[64] == cmac.aes_cmac(MAC_GEN, raw[:-8])[:8]
            assert raw[-8:] == got[64]            # field 64 is the last thing in the message
        finally:
            txk.wipe()
    finally:
        rmtree(d)


def test_each_request_takes_the_next_ksn():
    d, term = _terminal()
    try:
        for counter in (1, 2, 3, 4, 5):      # past the prepared ones: the key store is loaded again
            raw, txk = online.encode(term, "0800", dict(ECHO))
            assert term.codec.decode(bytes(raw))[1][53] == KSN1[:-1] + bytes([counter])
            txk.wipe()
    finally:
        rmtree(d)


def test_pin_block_under_the_pin_key_and_the_pin_is_wiped():
    d, term = _terminal()
    try:
        pin = bytearray(b"1234")
        raw, txk = online.encode(term, "0200", {3: "000000", 11: "000042", 41: "WASL0001"}, pin, PAN)
        txk.wipe()
        assert pin == bytearray(4)                # consumed
        block = term.codec.decode(bytes(raw))[1][52]
        assert len(block) == 16
        out = bytearray(12)
        n = pinblock.decipher_format4(PIN_KEY, block, PAN, out)
        assert bytes(out[:n]) == b"1234"
    finally:
        rmtree(d)


def test_reply_mac_verified_under_the_mac_verification_key():
    d, term = _terminal()
    try:
        raw, txk = online.encode(term, "0800", dict(ECHO))
        try:
            rep_fields = dict(ECHO)
            rep_fields[39] = "00"
            mti, rep = online.decode(term, _reply(term, rep_fields), txk)
            assert (mti, rep[39]) == ("0810", "00")
            # tampered, MACed with the generation key, or without a MAC: no valid reply
            raises(CodecError, online.decode, term, _reply(term, rep_fields, tamper=True), txk)
            raises(CodecError, online.decode, term, _reply(term, rep_fields, key=MAC_GEN), txk)
            raises(CodecError, online.decode, term, bytes(term.codec.encode("0810", rep_fields)), txk)
        finally:
            txk.wipe()
    finally:
        rmtree(d)


def test_without_keys_no_mac_and_no_pin():
    term = _Term(None)
    raw, txk = online.encode(term, "0800", dict(ECHO))
    assert txk is None
    got = term.codec.decode(bytes(raw))[1]
    assert 53 not in got and 64 not in got
    pin = bytearray(b"1234")
    raises(CodecError, online.encode, term, "0200", dict(ECHO), pin, PAN)
    assert pin == bytearray(4)                    # wiped even when refused


def test_keep_for_validation_drops_card_and_security_fields():
    card = parse_track2(PAN + "=25121011758928889", "swipe")
    fields = {2: card.pan, 11: "000042", 35: card.track2, 41: "WASL0001", 52: b"x" * 16, 53: KSN1,
              55: b"\x9f\x26\x08" + bytes(8), 64: bytes(8)}
    online.keep_for_validation(fields)
    assert sorted(fields) == [11, 41]
