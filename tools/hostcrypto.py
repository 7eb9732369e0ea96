"""Host-side payment cryptography (CPython): what an acquirer's HSM does for Wasl terminals.

Used by the acquirer simulator (tools/acqsim), the key injection tool (tools/keyinject.py) and the tests.
Written from the standards on top of `cryptography` (AES, DES, CMAC); it shares no code with the
firmware's implementation (firmware/wasl/crypto), so each checks the other (host_tests/test_hostcrypto.py).

    from tools import hostcrypto as hc
    keys = hc.session_keys(ksn, aes_bdk=bdk)        # the DUKPT working keys of one request's KSN (field 53)
    hc.verify(keys.request_mac(msg[:-8]), msg[-8:])  # field 64 of a request
    pin = keys.decipher_pin(field52, pan)           # str of digits; PinBlockError when the block is not one
    reply_mac = keys.reply_mac(reply[:-8])          # field 64 of the reply
    track2 = decipher_stored_card(field61, aes_bdk=bdk)   # field 61 of an advice; StoredCardError

Schemes (docs/keys.md, docs/host-interface.md section 13):

* AES DUKPT, ANSI X9.24-3-2017: BDK (AES-128/256) + initial key ID (8 bytes) -> initial key; + the 32-bit
  transaction counter -> intermediate derivation key; + key usage -> AES-128 working key: PIN encryption
  (1000), MAC generation (2000, the terminal MACs its requests), MAC verification (2001, the terminal
  checks the host's replies), data encryption (3000, field 61). KSN: 12 bytes, initial key ID + counter.
  PIN block: ISO 9564-1 format 4. MAC: AES-CMAC (NIST SP 800-38B), leftmost 8 bytes. Data: AES-CBC.
* TDES DUKPT, ANSI X9.24-1-2009: BDK (2-key TDES) + initial KSN -> IPEK; + the 21-bit counter ->
  transaction key; XOR a Table A-1 variant -> PIN key, MAC request key, MAC response key, data request
  key (then the one-way function: the variant key enciphers each of its halves). KSN: 10 bytes.
  PIN block: ISO 9564-1 format 0. MAC: ISO/IEC 9797-1 MAC algorithm 3 (retail MAC), padding method 1.
  Data: TDES-CBC.

Field 61 (docs/host-interface.md section 15): k (1 byte) + the KSN taken when the sale was approved
offline (k = 12 or 10 bytes) + the track 2 text, zero-padded to whole blocks, enciphered in CBC mode
with a zero IV under the data encryption key of that KSN.

Nothing here prints or logs a key; callers must not either.
"""
import hmac
import os
import sys
from dataclasses import dataclass

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC


class DukptError(ValueError):
    """A key, KSN or counter the derivation cannot take."""


class PinBlockError(ValueError):
    """An enciphered PIN block that does not decipher to a valid clear PIN block / PIN field."""


class StoredCardError(ValueError):
    """A field 61 that is not one, or does not decipher to zero-padded track 2 text."""


# ---- block ciphers --------------------------------------------------------------------------------------

def aes_encrypt(key, block):
    """AES-ECB encipherment (16-byte blocks)."""
    e = Cipher(algorithms.AES(bytes(key)), modes.ECB()).encryptor()
    return e.update(bytes(block)) + e.finalize()


def aes_decrypt(key, block):
    d = Cipher(algorithms.AES(bytes(key)), modes.ECB()).decryptor()
    return d.update(bytes(block)) + d.finalize()


def _tdes_key(key):
    """8 (single DES), 16 (2-key) or 24-byte key as the 24 bytes `cryptography` takes without a warning."""
    k = bytes(key)
    if len(k) == 8:
        return k * 3
    if len(k) == 16:
        return k + k[:8]
    if len(k) == 24:
        return k
    raise DukptError("DES/TDES key of %d bytes: 8, 16 or 24" % len(k))


def tdes_encrypt(key, block):
    """TDES-ECB encipherment (8-byte blocks); an 8-byte key is single DES."""
    e = Cipher(TripleDES(_tdes_key(key)), modes.ECB()).encryptor()
    return e.update(bytes(block)) + e.finalize()


def tdes_decrypt(key, block):
    d = Cipher(TripleDES(_tdes_key(key)), modes.ECB()).decryptor()
    return d.update(bytes(block)) + d.finalize()


def _cbc(algorithm, iv, data, encrypt):
    block = algorithm.block_size // 8
    data = bytes(data)
    if len(data) % block:
        raise ValueError("CBC data of %d bytes: not a multiple of %d" % (len(data), block))
    c = Cipher(algorithm, modes.CBC(bytes(iv) if iv is not None else bytes(block)))
    op = c.encryptor() if encrypt else c.decryptor()
    return op.update(data) + op.finalize()


def aes_cbc_encrypt(key, data, iv=None):
    """AES-CBC of whole 16-byte blocks; zero IV unless given."""
    return _cbc(algorithms.AES(bytes(key)), iv, data, True)


def aes_cbc_decrypt(key, data, iv=None):
    return _cbc(algorithms.AES(bytes(key)), iv, data, False)


def tdes_cbc_encrypt(key, data, iv=None):
    """TDES-CBC of whole 8-byte blocks (16-byte key: 2-key TDES); zero IV unless given."""
    return _cbc(TripleDES(_tdes_key(key)), iv, data, True)


def tdes_cbc_decrypt(key, data, iv=None):
    return _cbc(TripleDES(_tdes_key(key)), iv, data, False)


def _xor(a, b):
    return bytes(x ^ y for x, y in zip(a, b))


# ---- key check values --------------------------------------------------------------------------------

def aes_cmac(key, data):
    """AES-CMAC (NIST SP 800-38B, RFC 4493): 16 bytes."""
    c = CMAC(algorithms.AES(bytes(key)))
    c.update(bytes(data))
    return c.finalize()


def aes_kcv(key, n=3):
    """AES KCV: leftmost bytes of AES-CMAC over 16 zero bytes (X9.24-1-2017 / TR-31 convention)."""
    return aes_cmac(key, bytes(16))[:n]


def tdes_kcv(key, n=3):
    """TDES KCV: the key enciphers 8 zero bytes, leftmost bytes."""
    return tdes_encrypt(key, bytes(8))[:n]


# ---- AES DUKPT, ANSI X9.24-3-2017 ----------------------------------------------------------------------

# Key usage indicators (6.3.2 table 2) and key types (table 3) of the derivation data.
USAGE_KEY_ENCRYPTION = 0x0002
USAGE_PIN_ENCRYPTION = 0x1000
USAGE_MAC_GENERATION = 0x2000
USAGE_MAC_VERIFICATION = 0x2001
USAGE_MAC_BOTH_WAYS = 0x2002
USAGE_DATA_ENCRYPT = 0x3000
USAGE_DATA_DECRYPT = 0x3001
USAGE_DATA_BOTH_WAYS = 0x3002
USAGE_KEY_DERIVATION = 0x8000
USAGE_KEY_DERIVATION_INITIAL_KEY = 0x8001
KEY_2TDEA, KEY_3TDEA, KEY_AES128, KEY_AES192, KEY_AES256 = 0, 1, 2, 3, 4
_KEY_BITS = {KEY_2TDEA: 128, KEY_3TDEA: 192, KEY_AES128: 128, KEY_AES192: 192, KEY_AES256: 256}
AES_KSN_LEN = 12
AES_MAX_ONE_BITS = 16


def _aes_key_type(key):
    t = {16: KEY_AES128, 24: KEY_AES192, 32: KEY_AES256}.get(len(key))
    if t is None:
        raise DukptError("AES BDK of %d bytes: 16 or 32" % len(key))
    return t


def aes_derivation_data(usage, key_type, initial_key_id, counter, block_counter=1):
    """The 16 bytes of X9.24-3 6.3.2: version 01, block counter, key usage, algorithm, length in bits, then
    the initial key ID (initial key derivation) or its rightmost 4 bytes and the transaction counter."""
    bits = _KEY_BITS[key_type]
    head = bytes([0x01, block_counter, usage >> 8, usage & 0xFF, 0x00, key_type, bits >> 8, bits & 0xFF])
    if usage == USAGE_KEY_DERIVATION_INITIAL_KEY:
        return head + bytes(initial_key_id)
    return head + bytes(initial_key_id[4:8]) + counter.to_bytes(4, "big")


def aes_derive_key(derivation_key, usage, key_type, initial_key_id, counter):
    """X9.24-3 DeriveKey: AES-ECB of the derivation data, one block per 128 bits of the new key."""
    n = _KEY_BITS[key_type] // 8
    out = b""
    for blk in range(1, (n + 15) // 16 + 1):
        out += aes_encrypt(derivation_key, aes_derivation_data(usage, key_type, initial_key_id, counter, blk))
    return out[:n]


def aes_initial_key(bdk, initial_key_id):
    """X9.24-3 6.3.1: the terminal's initial key from the BDK and its initial key ID (BDK ID 4 bytes +
    derivation ID 4 bytes)."""
    if len(initial_key_id) != 8:
        raise DukptError("initial key ID: 8 bytes (16 hex digits)")
    kt = _aes_key_type(bdk)
    if kt == KEY_AES192:
        raise DukptError("AES BDK of 24 bytes: 16 or 32 (the terminals have no AES-192)")
    return aes_derive_key(bdk, USAGE_KEY_DERIVATION_INITIAL_KEY, kt, initial_key_id, 0)


def aes_counter_valid(counter):
    return 0 < counter <= 0xFFFFFFFF and bin(counter).count("1") <= AES_MAX_ONE_BITS


def aes_intermediate_key(initial_key, initial_key_id, counter):
    """The intermediate derivation key of a transaction counter (X9.24-3 6.1, receiving side): from the
    initial key, one derivation per one bit of the counter, most significant bit first."""
    kt = _aes_key_type(initial_key)
    key = bytes(initial_key)
    partial = 0
    for bit in range(31, -1, -1):
        if counter >> bit & 1:
            partial |= 1 << bit
            key = aes_derive_key(key, USAGE_KEY_DERIVATION, kt, initial_key_id, partial)
    return key


def split_aes_ksn(ksn):
    """(initial key ID, counter) of a 12-byte AES DUKPT KSN."""
    if len(ksn) != AES_KSN_LEN:
        raise DukptError("AES DUKPT KSN of %d bytes: 12" % len(ksn))
    return bytes(ksn[:8]), int.from_bytes(bytes(ksn[8:12]), "big")


def aes_working_keys(bdk, ksn, usages, key_type=KEY_AES128):
    """The working keys of a KSN for several key usages (one intermediate derivation key for all),
    derived from the BDK the way the host's HSM does: BDK -> initial key -> intermediate derivation key
    of the counter -> working keys (AES-128 unless key_type says otherwise)."""
    ikid, counter = split_aes_ksn(ksn)
    if not aes_counter_valid(counter):
        raise DukptError("AES DUKPT counter %08X: 1 to FFFFFFFF with at most 16 one bits" % counter)
    if _KEY_BITS[key_type] > 8 * len(bdk):
        raise DukptError("a working key stronger than the BDK")
    idk = aes_intermediate_key(aes_initial_key(bdk, ikid), ikid, counter)
    return [aes_derive_key(idk, usage, key_type, ikid, counter) for usage in usages]


def aes_working_key(bdk, ksn, usage, key_type=KEY_AES128):
    """One working key of a KSN (aes_working_keys)."""
    return aes_working_keys(bdk, ksn, (usage,), key_type)[0]


# ---- TDES DUKPT, ANSI X9.24-1-2009 Annex A ----------------------------------------------------------------

TDES_KSN_LEN = 10
TDES_MAX_ONE_BITS = 10
TDES_COUNTER_MASK = 0x1FFFFF
_C0 = bytes.fromhex("C0C0C0C000000000C0C0C0C000000000")
# Table A-1 variants, XORed onto the transaction key (each 8-byte half).
VARIANT_PIN = bytes.fromhex("00000000000000FF") * 2
VARIANT_MAC_REQUEST = bytes.fromhex("000000000000FF00") * 2
VARIANT_MAC_RESPONSE = bytes.fromhex("00000000FF000000") * 2
VARIANT_DATA_REQUEST = bytes.fromhex("0000000000FF0000") * 2
VARIANT_DATA_RESPONSE = bytes.fromhex("000000FF00000000") * 2


def tdes_ipek(bdk, ksn):
    """A.6: the IPEK halves are TDES(BDK) and TDES(BDK xor C0C0C0C000000000C0C0C0C000000000) of the
    leftmost 8 bytes of the KSN with its counter bits cleared."""
    if len(bdk) != 16 or len(ksn) != TDES_KSN_LEN:
        raise DukptError("TDES DUKPT: BDK of 16 bytes, initial KSN of 10 bytes (20 hex digits)")
    d = bytearray(ksn[:8])
    d[7] &= 0xE0
    return tdes_encrypt(bdk, d) + tdes_encrypt(_xor(bdk, _C0), d)


def nrkgp(key, ksn_register):
    """A.2 non-reversible key generation process: the key of the KSN register (its rightmost 8 bytes are
    crypto register-1) from the current key, with two single-DES encipherments."""
    cr1 = bytes(ksn_register[-8:])
    kl, kr = bytes(key[:8]), bytes(key[8:16])
    cr2 = _xor(tdes_encrypt(kl, _xor(cr1, kr)), kr)
    k = _xor(key, _C0)
    kl, kr = k[:8], k[8:16]
    left = _xor(tdes_encrypt(kl, _xor(cr1, kr)), kr)
    return left + cr2


def tdes_counter(ksn):
    return int.from_bytes(bytes(ksn[7:10]), "big") & TDES_COUNTER_MASK


def tdes_counter_valid(counter):
    return 0 < counter <= TDES_COUNTER_MASK and bin(counter).count("1") <= TDES_MAX_ONE_BITS


def tdes_transaction_key(ipek, ksn):
    """The transaction key of a KSN from the IPEK (receiving side): one NRKGP per one bit of the counter,
    most significant first, with the KSN register holding the counter bits set so far."""
    if len(ksn) != TDES_KSN_LEN:
        raise DukptError("TDES DUKPT KSN of %d bytes: 10" % len(ksn))
    base = int.from_bytes(bytes(ksn), "big") & ~TDES_COUNTER_MASK
    counter = tdes_counter(ksn)
    key = bytes(ipek)
    partial = 0
    for bit in range(20, -1, -1):
        if counter >> bit & 1:
            partial |= 1 << bit
            key = nrkgp(key, (base | partial).to_bytes(TDES_KSN_LEN, "big"))
    return key


def tdes_working_key(bdk, ksn, variant):
    """A working key of a KSN from the BDK: IPEK -> transaction key -> XOR the Table A-1 variant."""
    if not tdes_counter_valid(tdes_counter(ksn)):
        raise DukptError("TDES DUKPT counter %06X: 1 to 1FFFFF with at most 10 one bits" % tdes_counter(ksn))
    return _xor(tdes_transaction_key(tdes_ipek(bdk, ksn), ksn), variant)


def tdes_owf(variant_key):
    """The one-way function of the data keys (the firmware's dukpt_tdes `DATA_REQUEST | OWF`, what most
    HSMs call the "data" key): the variant key enciphers (TDES-ECB) its own left half, then its right half."""
    k = bytes(variant_key)
    if len(k) != 16:
        raise DukptError("TDES data variant key of %d bytes: 16" % len(k))
    return tdes_encrypt(k, k[:8]) + tdes_encrypt(k, k[8:])


def tdes_data_key(bdk, ksn):
    """The data encryption key of a KSN (request direction): data request variant, then the OWF."""
    return tdes_owf(tdes_working_key(bdk, ksn, VARIANT_DATA_REQUEST))


# ---- ISO 9564-1 PIN blocks -----------------------------------------------------------------------------

def _nibbles(data):
    return [n for b in bytes(data) for n in (b >> 4, b & 15)]


def _from_nibbles(nibs):
    return bytes(nibs[i] << 4 | nibs[i + 1] for i in range(0, len(nibs), 2))


def _check_pin(pin):
    if not (isinstance(pin, str) and pin.isdigit() and pin.isascii() and 4 <= len(pin) <= 12):
        raise PinBlockError("a PIN is 4 to 12 digits")


def _check_pan(pan, lo, hi):
    if not (isinstance(pan, str) and pan.isdigit() and pan.isascii() and lo <= len(pan) <= hi):
        raise PinBlockError("the PAN must be %d to %d digits" % (lo, hi))


def format4_pan_field(pan):
    """Format 4 plain-text PAN field (ISO 9564-1 9.4.2): M = PAN length - 12 (0 when shorter), the PAN
    right-justified in 12 digits when shorter, zero-filled to 32 nibbles."""
    _check_pan(pan, 1, 19)
    m = max(0, len(pan) - 12)
    nibs = [m] + [int(c) for c in pan.rjust(12, "0")]
    return _from_nibbles(nibs + [0] * (32 - len(nibs)))


def format4_pin_field(pin, fill):
    """Format 4 plain-text PIN field: 4, N, PIN digits, fill A to 16 nibbles, then 8 random bytes."""
    _check_pin(pin)
    if len(fill) != 8:
        raise PinBlockError("format 4 random fill: 8 bytes")
    nibs = [4, len(pin)] + [int(c) for c in pin]
    return _from_nibbles(nibs + [0xA] * (16 - len(nibs))) + bytes(fill)


def encipher_format4(key, pin, pan, fill=None):
    """E(K, E(K, PIN field) xor PAN field) under an AES key (the terminal's operation; tests use it)."""
    field = format4_pin_field(pin, os.urandom(8) if fill is None else fill)
    return aes_encrypt(key, _xor(aes_encrypt(key, field), format4_pan_field(pan)))


def _read_pin(nibs, control, filler):
    """The PIN digits of a clear PIN field / block (its first 16 nibbles), strictly checked."""
    n = nibs[1]
    if nibs[0] != control:
        raise PinBlockError("control field %X, not format %d" % (nibs[0], control))
    if not 4 <= n <= 12:
        raise PinBlockError("PIN length %d" % n)
    digits = nibs[2:2 + n]
    if any(d > 9 for d in digits):
        raise PinBlockError("PIN digit out of range")
    if any(d != filler for d in nibs[2 + n:16]):
        raise PinBlockError("fill is not %X" % filler)
    return "".join(str(d) for d in digits)


def decipher_format4(key, block, pan):
    """The PIN (str of digits) of an AES-enciphered format 4 PIN block: D(K, D(K, block) xor PAN field)."""
    if len(block) != 16:
        raise PinBlockError("format 4 PIN block of %d bytes: 16" % len(block))
    clear = aes_decrypt(key, _xor(aes_decrypt(key, block), format4_pan_field(pan)))
    return _read_pin(_nibbles(clear[:8]), 4, 0xA)


def format0_pan_block(pan):
    """Format 0 PAN block: 0000 + the 12 rightmost PAN digits excluding the check digit."""
    _check_pan(pan, 13, 19)
    return _from_nibbles([0] * 4 + [int(c) for c in pan[-13:-1]])


def encipher_format0(key, pin, pan):
    """Format 0 (0, N, PIN, F fill) xor the PAN block, enciphered under a TDES key."""
    _check_pin(pin)
    nibs = [0, len(pin)] + [int(c) for c in pin]
    return tdes_encrypt(key, _xor(_from_nibbles(nibs + [0xF] * (16 - len(nibs))), format0_pan_block(pan)))


def decipher_format0(key, block, pan):
    """The PIN of a TDES-enciphered format 0 PIN block."""
    if len(block) != 8:
        raise PinBlockError("format 0 PIN block of %d bytes: 8" % len(block))
    return _read_pin(_nibbles(_xor(tdes_decrypt(key, block), format0_pan_block(pan))), 0, 0xF)


# ---- MACs ------------------------------------------------------------------------------------------------

def retail_mac(key, data):
    """ISO/IEC 9797-1 MAC algorithm 3 with DES (ANSI X9.19 retail MAC), padding method 1 (zeros to a block
    boundary; an empty message is one zero block): single-DES CBC-MAC under K, the last block deciphered
    under K' and enciphered again under K. 8 bytes. key = K || K' (16 bytes)."""
    if len(key) != 16:
        raise DukptError("retail MAC key of %d bytes: 16" % len(key))
    k1, k2 = bytes(key[:8]), bytes(key[8:])
    data = bytes(data)
    data += bytes(-len(data) % 8 if data else 8)
    x = bytes(8)
    for i in range(0, len(data), 8):
        x = tdes_encrypt(k1, _xor(x, data[i:i + 8]))
    return tdes_encrypt(k1, tdes_decrypt(k2, x))


def verify(expected, got):
    """Constant-time comparison of two MACs."""
    return hmac.compare_digest(bytes(expected), bytes(got))


# ---- one request's keys ----------------------------------------------------------------------------------

MAC_LEN = 8


@dataclass(frozen=True, repr=False)
class SessionKeys:
    """The working keys the host needs for one KSN: PIN, request MAC (the terminal's MAC generation key /
    MAC request variant), reply MAC (the terminal's MAC verification key / MAC response variant) and data
    encryption (AES usage 3000 / TDES data request variant + OWF: field 61)."""
    scheme: str          # "aes" or "tdes"
    ksn: bytes
    pin_key: bytes
    request_mac_key: bytes
    reply_mac_key: bytes
    data_key: bytes

    def _mac(self, key, data):
        return aes_cmac(key, data)[:MAC_LEN] if self.scheme == "aes" else retail_mac(key, data)

    def request_mac(self, data):
        """The 8-byte MAC a terminal computes over a request (MTI up to field 64 excluded)."""
        return self._mac(self.request_mac_key, data)

    def reply_mac(self, data):
        """The 8-byte MAC the host puts in field 64 of a reply, which the terminal verifies."""
        return self._mac(self.reply_mac_key, data)

    @property
    def pin_block_len(self):
        return 16 if self.scheme == "aes" else 8

    def decipher_pin(self, block, pan):
        """PIN digits of field 52 (format 4 / format 0); PinBlockError when it is not a valid block."""
        if self.scheme == "aes":
            return decipher_format4(self.pin_key, block, pan)
        return decipher_format0(self.pin_key, block, pan)

    def encipher_pin(self, pin, pan, fill=None):
        """Field 52 as a terminal builds it (tests)."""
        if self.scheme == "aes":
            return encipher_format4(self.pin_key, pin, pan, fill)
        return encipher_format0(self.pin_key, pin, pan)

    @property
    def data_block(self):
        return 16 if self.scheme == "aes" else 8

    def encipher_data(self, data):
        """CBC, zero IV, under the data encryption key; `data` zero-padded to whole blocks (no padding when
        it is a whole number of blocks already)."""
        data = bytes(data)
        data += bytes(-len(data) % self.data_block)
        if self.scheme == "aes":
            return aes_cbc_encrypt(self.data_key, data)
        return tdes_cbc_encrypt(self.data_key, data)

    def decipher_data(self, data):
        """The clear text of CBC data under the data encryption key (padding left in)."""
        if self.scheme == "aes":
            return aes_cbc_decrypt(self.data_key, data)
        return tdes_cbc_decrypt(self.data_key, data)

    def __repr__(self):   # never the keys
        return "<SessionKeys %s KSN=%s>" % (self.scheme, self.ksn.hex().upper())


def session_keys(ksn, aes_bdk=None, tdes_bdk=None):
    """The working keys of a KSN: 12 bytes -> AES DUKPT under aes_bdk, 10 bytes -> TDES DUKPT under
    tdes_bdk. DukptError when the KSN has another length, its scheme has no BDK, or its counter is one
    a terminal never uses."""
    ksn = bytes(ksn)
    if len(ksn) == AES_KSN_LEN:
        if aes_bdk is None:
            raise DukptError("no AES DUKPT BDK")
        return SessionKeys("aes", ksn, *aes_working_keys(aes_bdk, ksn, (
            USAGE_PIN_ENCRYPTION, USAGE_MAC_GENERATION, USAGE_MAC_VERIFICATION, USAGE_DATA_ENCRYPT)))
    if len(ksn) == TDES_KSN_LEN:
        if tdes_bdk is None:
            raise DukptError("no TDES DUKPT BDK")
        if not tdes_counter_valid(tdes_counter(ksn)):
            raise DukptError("TDES DUKPT counter %06X: 1 to 1FFFFF with at most 10 one bits" % tdes_counter(ksn))
        tk = tdes_transaction_key(tdes_ipek(tdes_bdk, ksn), ksn)
        return SessionKeys("tdes", ksn, _xor(tk, VARIANT_PIN), _xor(tk, VARIANT_MAC_REQUEST),
                           _xor(tk, VARIANT_MAC_RESPONSE), tdes_owf(_xor(tk, VARIANT_DATA_REQUEST)))
    raise DukptError("KSN of %d bytes: 12 (AES DUKPT) or 10 (TDES DUKPT)" % len(ksn))


# ---- field 61: stored card data of an offline approval ---------------------------------------------------

STORED_CARD_MAX = 64        # field 61: b, LLLVAR, at most 64 bytes


def pack_stored_card(ksn, ciphertext):
    """Field 61: k (the KSN's length), the KSN, the ciphertext."""
    out = bytes([len(ksn)]) + bytes(ksn) + bytes(ciphertext)
    if len(ksn) not in (AES_KSN_LEN, TDES_KSN_LEN) or len(out) > STORED_CARD_MAX:
        raise StoredCardError("field 61: a KSN of 12 or 10 bytes, at most %d bytes in all" % STORED_CARD_MAX)
    return out


def unpack_stored_card(field61):
    """(KSN, ciphertext) of a field 61; StoredCardError when its layout is wrong (k not 12 or 10, no
    whole cipher block after the KSN)."""
    f = bytes(field61)
    if not f or f[0] not in (AES_KSN_LEN, TDES_KSN_LEN):
        raise StoredCardError("field 61: the first byte (KSN length) is not 12 or 10")
    k = f[0]
    block = 16 if k == AES_KSN_LEN else 8
    ksn, ct = f[1:1 + k], f[1 + k:]
    if len(ksn) != k or not ct or len(ct) % block:
        raise StoredCardError("field 61: the ciphertext after the KSN is %d bytes, not whole %d-byte blocks"
                              % (len(ct), block))
    return ksn, ct


def encipher_stored_card(keys, track2):
    """Field 61 as a terminal builds it (tests): `keys` are the SessionKeys of the KSN the sale took."""
    return pack_stored_card(keys.ksn, keys.encipher_data(track2.encode("ascii")))


def decipher_stored_card(field61, aes_bdk=None, tdes_bdk=None):
    """The track 2 text (str of digits and '=') of a field 61. StoredCardError when the layout is wrong,
    the KSN gives no key (no BDK for its scheme, a counter a terminal never uses), or the clear text is not
    ASCII digits and '=' followed by fewer than one block of zero bytes. The text itself is not checked
    further (Luhn, expiry: the caller's business)."""
    ksn, ct = unpack_stored_card(field61)
    try:
        keys = session_keys(ksn, aes_bdk=aes_bdk, tdes_bdk=tdes_bdk)
    except DukptError as e:
        raise StoredCardError("field 61: no data key for its KSN (%s)" % e) from None
    clear = keys.decipher_data(ct)
    text = clear.rstrip(b"\x00")
    if not text or len(clear) - len(text) >= keys.data_block:
        raise StoredCardError("field 61: the clear text is not track 2 zero-padded to whole blocks")
    if any(c not in b"0123456789=" for c in text):
        raise StoredCardError("field 61: the clear text is not track 2 (digits and '=')")
    return text.decode("ascii")


# ---- key files -------------------------------------------------------------------------------------------

class KeyFileError(ValueError):
    pass


def read_hex_file(path, what):
    """The key in a file: hex on its first line that is not empty or a '#' comment ('-' reads stdin)."""
    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            with open(path) as f:
                text = f.read()
    except OSError as e:
        raise KeyFileError("cannot read the %s file: %s" % (what, e.strerror)) from None
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            try:
                return bytes.fromhex(line.replace(" ", ""))
            except ValueError:
                raise KeyFileError("the %s file does not hold hex" % what) from None
    raise KeyFileError("the %s file is empty" % what)
