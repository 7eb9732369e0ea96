"""The firmware's cryptography (firmware/wasl/crypto, run here on CPython with the cryptolib shim) against
independent host code: psec 1.3.0 (TR-31, PIN blocks, retail MAC, TDES, KCV), `cryptography` (AES, DES,
CMAC) and a host-side DUKPT written here from the standards, structured differently from the terminal's
(recursive on the lowest counter bit, where the terminal keeps future-key registers). Hypothesis draws the
keys, PANs, PINs, counters and messages. The published vectors are in host_tests/fw/test_crypto_*.py.
"""
import os
import sys
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _p in (os.path.join(ROOT, "firmware"), os.path.join(ROOT, "host_tests", "cpython_shims")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES  # noqa: E402
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: E402
from cryptography.hazmat.primitives.cmac import CMAC  # noqa: E402
from cryptography.utils import CryptographyDeprecationWarning  # noqa: E402

warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning)

import psec  # noqa: E402

from wasl.crypto import aes, cmac, des, dukpt_aes, dukpt_tdes, pinblock, tr31  # noqa: E402
from wasl.crypto.iso9797 import retail_mac  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")  # psec's TDES
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

aes_keys = st.sampled_from((16, 32)).flatmap(lambda n: st.binary(min_size=n, max_size=n))
tdes_keys = st.sampled_from((16, 24)).flatmap(lambda n: st.binary(min_size=n, max_size=n))


def digits(lo, hi):
    """Digit strings whose length is uniform in lo..hi (text() favours short strings)."""
    return st.integers(lo, hi).flatmap(lambda n: st.text("0123456789", min_size=n, max_size=n))


pins = digits(4, 12)
pans = digits(1, 19)
long_pans = digits(13, 19)


# ---- host reference code -----------------------------------------------------------------------------

def h_aes_ecb(key, data):
    e = Cipher(algorithms.AES(bytes(key)), modes.ECB()).encryptor()
    return e.update(bytes(data)) + e.finalize()


def h_des(key8, block):
    e = Cipher(TripleDES(bytes(key8) * 3), modes.ECB()).encryptor()
    return e.update(bytes(block)) + e.finalize()


def h_tdes(key, block):
    k = bytes(key)
    if len(k) == 16:
        k += k[:8]
    e = Cipher(TripleDES(k), modes.ECB()).encryptor()
    return e.update(bytes(block)) + e.finalize()


def h_cmac(key, msg, tdes=False):
    k = bytes(key)
    c = CMAC(TripleDES(k + k[:8] if len(k) == 16 else k) if tdes else algorithms.AES(k))
    c.update(bytes(msg))
    return c.finalize()


def h_aes_derive(key, usage, out_len, ikid, counter):
    algo, bits = {16: (2, 128), 32: (4, 256)}[out_len]
    tail = bytes(ikid) if usage == 0x8001 else bytes(ikid[4:]) + counter.to_bytes(4, "big")
    out = b""
    for blk in range(1, (bits + 127) // 128 + 1):
        out += h_aes_ecb(key, bytes([1, blk, usage >> 8, usage & 0xFF, 0, algo, bits >> 8, bits & 0xFF]) + tail)
    return out[:out_len]


def h_aes_ik(bdk, ikid):
    return h_aes_derive(bdk, 0x8001, len(bdk), ikid, 0)


def h_aes_idk(ik, ikid, counter):
    """Key of a counter = derived from the key of the counter without its lowest one bit."""
    if counter == 0:
        return bytes(ik)
    low = counter & -counter
    return h_aes_derive(h_aes_idk(ik, ikid, counter - low), 0x8000, len(ik), ikid, counter)


def h_nrkgp(key, ksn):
    """X9.24-1 A.2, from the text: crypto registers on 64-bit integers."""
    cr1 = int.from_bytes(ksn[2:10], "big")
    kl, kr = key[:8], int.from_bytes(key[8:], "big")
    cr2 = int.from_bytes(h_des(kl, ((cr1 ^ kr)).to_bytes(8, "big")), "big") ^ kr
    k = bytes(a ^ b for a, b in zip(key, bytes.fromhex("C0C0C0C000000000C0C0C0C000000000")))
    kl, kr = k[:8], int.from_bytes(k[8:], "big")
    cr1 = int.from_bytes(h_des(kl, (cr1 ^ kr).to_bytes(8, "big")), "big") ^ kr
    return cr1.to_bytes(8, "big") + cr2.to_bytes(8, "big")


def h_ipek(bdk, ksn):
    d = bytearray(ksn[:8])
    d[7] &= 0xE0
    v = bytes(a ^ b for a, b in zip(bdk, bytes.fromhex("C0C0C0C000000000C0C0C0C000000000")))
    return psec.des.encrypt_tdes_ecb(bytes(bdk), bytes(d)) + psec.des.encrypt_tdes_ecb(v, bytes(d))


def h_tdes_key(ipek, ksn):
    counter = int.from_bytes(ksn[7:], "big") & 0x1FFFFF
    base = int.from_bytes(ksn, "big") & ~0x1FFFFF
    if counter == 0:
        return bytes(ipek)
    low = counter & -counter
    prev = h_tdes_key(ipek, (base | (counter - low)).to_bytes(10, "big"))
    return h_nrkgp(prev, ksn)


def popcount(v):
    return bin(v).count("1")


def valid_counters(start, n, max_ones, limit):
    """The next n counters a terminal uses from `start` (skipping counters with too many one bits)."""
    out = []
    c = start
    while len(out) < n and c <= limit:
        if popcount(c) <= max_ones:
            out.append(c)
            c += 1
        else:
            c += c & -c
    return out


# ---- block ciphers, CMAC, MACs, KCVs -----------------------------------------------------------------

@SETTINGS
@given(aes_keys, st.binary(min_size=16, max_size=16), st.integers(0, 6).map(lambda n: 16 * n).flatmap(
    lambda n: st.binary(min_size=n, max_size=n)))
def test_aes_modes_match_cryptography(key, iv, data):
    assert bytes(aes.encrypt_ecb(key, data)) == h_aes_ecb(key, data)
    e = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    ct = e.update(data) + e.finalize()
    assert bytes(aes.encrypt_cbc(key, iv, data)) == ct
    assert bytes(aes.decrypt_cbc(key, iv, ct)) == data


@SETTINGS
@given(st.sampled_from((8, 16, 24)).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
       st.binary(min_size=8, max_size=8),
       st.integers(0, 5).flatmap(lambda n: st.binary(min_size=8 * n, max_size=8 * n)))
def test_des_and_tdes_match_cryptography(key, iv, data):
    k = key * 3 if len(key) == 8 else (key + key[:8] if len(key) == 16 else key)
    e = Cipher(TripleDES(k), modes.ECB()).encryptor()
    assert bytes(des.encrypt_ecb(key, data)) == e.update(data) + e.finalize()
    e = Cipher(TripleDES(k), modes.CBC(iv)).encryptor()
    ct = e.update(data) + e.finalize()
    assert bytes(des.encrypt_cbc(key, iv, data)) == ct
    assert bytes(des.decrypt_cbc(key, iv, ct)) == data
    assert bytes(des.decrypt_ecb(key, des.encrypt_ecb(key, data))) == data


@SETTINGS
@given(aes_keys, tdes_keys, st.binary(max_size=100))
def test_cmac_matches_cryptography(akey, tkey, msg):
    assert bytes(cmac.aes_cmac(akey, msg)) == h_cmac(akey, msg)
    assert bytes(cmac.tdes_cmac(tkey, msg)) == h_cmac(tkey, msg, tdes=True)


@SETTINGS
@given(st.binary(min_size=16, max_size=16), st.binary(min_size=1, max_size=80), st.sampled_from((1, 2)),
       st.integers(4, 8))
def test_retail_mac_matches_psec(key, data, pad, n):
    assert bytes(retail_mac(key, data, pad=pad, n=n)) == psec.mac.generate_retail_mac(key[:8], key[8:], data, pad, n)


@SETTINGS
@given(aes_keys, tdes_keys)
def test_kcvs_match_host_tools(akey, tkey):
    assert cmac.aes_kcv(akey) == h_cmac(akey, bytes(16))[:3]
    assert des.kcv(tkey) == psec.des.generate_kcv(tkey, 3)


# ---- PIN blocks --------------------------------------------------------------------------------------

@SETTINGS
@given(aes_keys, pins, pans)
def test_format4_ours_deciphers_with_psec_and_psecs_with_ours(key, pin, pan):
    ours = pinblock.encipher_format4(key, bytearray(pin.encode()), pan)
    assert psec.pinblock.decipher_pinblock_iso_4(key, bytes(ours), pan) == pin
    theirs = psec.pinblock.encipher_pinblock_iso_4(key, pin, pan)
    got = bytearray(12)
    n = pinblock.decipher_format4(key, theirs, pan, got)
    assert got[:n].decode() == pin
    assert pinblock.check_format4(key, theirs, pan, pin.encode())


@SETTINGS
@given(aes_keys, pins, pans, st.binary(min_size=8, max_size=8))
def test_format4_fields_match_psec(key, pin, pan, fill):
    assert bytes(pinblock.format4_pan_field(pan, bytearray(16))) == psec.pinblock.encode_pan_field_iso_4(pan)
    assert bytes(pinblock.format4_pin_field(pin.encode(), bytearray(16), fill)[:8]) == \
        psec.pinblock.encode_pin_field_iso_4(pin)[:8]


@SETTINGS
@given(tdes_keys, pins, long_pans)
def test_format0_matches_psec(key, pin, pan):
    clear = psec.pinblock.encode_pinblock_iso_0(pin, pan)
    assert bytes(pinblock.format0_block(pin.encode(), pan, bytearray(8))) == clear
    ours = pinblock.encipher_format0(key, pin.encode(), pan)
    assert bytes(ours) == psec.des.encrypt_tdes_ecb(key, clear)
    got = bytearray(12)
    n = pinblock.decipher_format0(key, psec.des.encrypt_tdes_ecb(key, clear), pan, got)
    assert got[:n].decode() == pin


# ---- TR-31 -------------------------------------------------------------------------------------------

_HEADERS_D = ("D0000P0AE00E0000", "D0000B1AX00N0100IK14%s", "D0000D0AB00N0000", "D0000K0TB00E0000",
              "D0000M6AC05S0000", "D0000B0TX12S0100KS18%s")
_HEADERS_B = ("B0000P0TE00E0000", "B0000B1TX00N0100KS18%s", "B0000K1TB00N0000")


def _key_for(header, data):
    n = {"A": (16, 24, 32), "T": (16, 24)}[header[7]]
    return data.draw(st.sampled_from(n).flatmap(lambda k: st.binary(min_size=k, max_size=k)))


def _fill_header(header, data):
    if "%s" not in header:
        return header
    n = 16 if "IK" in header else 20
    return header % data.draw(st.text("0123456789ABCDEF", min_size=n, max_size=n))


@SETTINGS
@given(st.data())
def test_tr31_ours_unwraps_with_psec_and_psecs_with_ours(data):
    version = data.draw(st.sampled_from("DB"))
    if version == "D":
        kbpk = data.draw(aes_keys)
        header = _fill_header(data.draw(st.sampled_from(_HEADERS_D)), data)
    else:
        kbpk = data.draw(tdes_keys)
        header = _fill_header(data.draw(st.sampled_from(_HEADERS_B)), data)
    key = _key_for(header, data)
    ours = tr31.wrap(kbpk, header, key, masked_len=data.draw(st.sampled_from((0, 24, 32))))
    h, k = psec.tr31.unwrap(kbpk, ours)
    assert k == key and h.key_usage == header[5:7] and h.algorithm == header[7]
    theirs = psec.tr31.wrap(kbpk, header, key)
    h, k = tr31.unwrap(kbpk, theirs)
    assert bytes(k) == key and h.usage == header[5:7] and h.mode == header[8]
    for bid in ("IK", "KS"):
        if bid in header:
            assert h.block(bid) == header[20:]
    # one character changed anywhere: ours refuses it (MAC or format)
    pos = data.draw(st.integers(0, len(theirs) - 1))
    alt = "0" if theirs[pos] != "0" else "1"
    with pytest.raises(tr31.TR31Error):
        tr31.unwrap(kbpk, theirs[:pos] + alt + theirs[pos + 1:])


# ---- DUKPT -------------------------------------------------------------------------------------------

USAGES = ((dukpt_aes.USAGE_PIN_ENCRYPTION, 0x1000), (dukpt_aes.USAGE_MAC_GENERATION, 0x2000),
          (dukpt_aes.USAGE_MAC_VERIFICATION, 0x2001), (dukpt_aes.USAGE_DATA_ENCRYPT, 0x3000))


def test_host_reference_dukpt_agrees_with_the_published_vectors():
    # the reference below is itself checked on the X9.24-3 / X9.24-1 vectors before it judges the firmware
    ik = h_aes_ik(bytes.fromhex("FEDCBA9876543210F1F1F1F1F1F1F1F1"), bytes.fromhex("1234567890123456"))
    assert ik.hex().upper() == "1273671EA26AC29AFA4D1084127652A1"
    idk = h_aes_idk(ik, bytes.fromhex("1234567890123456"), 0xFFFF0000)
    assert idk.hex().upper() == "F6BA59389BD14A9855BE9727E7C52E3C"
    ipek = h_ipek(bytes.fromhex("0123456789ABCDEFFEDCBA9876543210"), bytes.fromhex("FFFF9876543210E00000"))
    assert ipek.hex().upper() == "6AC292FAA1315B4D858AB3A3D7D5933A"
    assert h_tdes_key(ipek, bytes.fromhex("FFFF9876543210EFFC00")).hex().upper() == "F9430DF975082491C77BE4EF4FDB91EE"


def _aes_state_at(ik, ikid, counter):
    k = len(ik)
    r = (counter & -counter).bit_length() - 1
    blob = bytearray(b"A\x01" + bytes([2 if k == 16 else 4]) + ikid + counter.to_bytes(4, "big") + bytes(4 + 32 * k))
    m = 0
    for j in range(32):
        if j == r or (j > r and not (counter >> j) & 1):
            blob[19 + j * k:19 + (j + 1) * k] = h_aes_idk(ik, ikid, (counter & ~((1 << (j + 1)) - 1)) | (1 << j))
            m |= 1 << j
    blob[15:19] = m.to_bytes(4, "big")
    return blob


@settings(max_examples=25, deadline=None)
@given(aes_keys, st.binary(min_size=8, max_size=8), st.integers(1, 12),
       st.one_of(st.just(1), st.integers(1, 0xFFFFFFFF)))
def test_aes_dukpt_terminal_matches_the_host(bdk, ikid, n, start):
    ik = h_aes_ik(bdk, ikid)
    assert bytes(dukpt_aes.derive_initial_key(bdk, ikid)) == ik
    t = dukpt_aes.AesDukpt()
    if start == 1:
        t.load_initial_key(ik, ikid)
    else:
        while popcount(start) > 16:
            start += start & -start
        if start > 0xFFFFFFFF:
            return
        t.restore(_aes_state_at(ik, ikid, start))
    expected = valid_counters(start, n, 16, 0xFFFFFFFF)
    out = bytearray(64)
    for c in expected:
        ksn = t.generate_working_keys(tuple((u, dukpt_aes.KEY_AES128) for u, _ in USAGES), out)
        assert bytes(ksn) == ikid + c.to_bytes(4, "big")
        idk = h_aes_idk(ik, ikid, c)
        for i, (_, usage) in enumerate(USAGES):
            assert bytes(out[16 * i:16 * i + 16]) == h_aes_derive(idk, usage, 16, ikid, c), (hex(c), hex(usage))
    if len(expected) < n:
        with pytest.raises(dukpt_aes.DukptExhausted):
            t.generate_working_keys(((dukpt_aes.USAGE_PIN_ENCRYPTION, dukpt_aes.KEY_AES128),), out)


@settings(max_examples=15, deadline=None)
@given(st.binary(min_size=16, max_size=16), st.binary(min_size=10, max_size=10), st.integers(1, 12))
def test_tdes_dukpt_terminal_matches_the_host(bdk, ksn, n):
    ipek = h_ipek(bdk, ksn)
    assert bytes(dukpt_tdes.derive_ipek(bdk, ksn)) == ipek
    t = dukpt_tdes.TdesDukpt()
    t.load_initial_key(ipek, ksn)
    base = bytearray(ksn)
    base[7] &= 0xE0
    base[8:] = b"\x00\x00"
    out = bytearray(16)
    for c in valid_counters(1, n, 10, 0x1FFFFF):
        got = t.generate_working_keys((dukpt_tdes.PIN,), out)
        want = (int.from_bytes(base, "big") | c).to_bytes(10, "big")
        assert bytes(got) == want
        pin_key = bytearray(h_tdes_key(ipek, want))
        pin_key[7] ^= 0xFF
        pin_key[15] ^= 0xFF
        assert bytes(out) == bytes(pin_key)


def test_keyinject_host_derivations_match_the_firmware():
    from tools import keyinject

    bdk, ikid = os.urandom(16), os.urandom(8)
    assert keyinject.aes_dukpt_initial_key(bdk, ikid) == bytes(dukpt_aes.derive_initial_key(bdk, ikid))
    bdk32 = os.urandom(32)
    assert keyinject.aes_dukpt_initial_key(bdk32, ikid) == bytes(dukpt_aes.derive_initial_key(bdk32, ikid))
    ksn = os.urandom(10)
    assert keyinject.tdes_dukpt_ipek(bdk, ksn) == bytes(dukpt_tdes.derive_ipek(bdk, ksn))
