# The other side of the terminal's cryptography: what the host, the key injection tool and the tests do
# and the terminal never does, kept out of its RAM. The modules they belong to find them through their
# module __getattr__: dukpt_aes.derive_initial_key, pinblock.decipher_format4, tr31.wrap... are these.
#
#   AES DUKPT (ANSI X9.24-3-2017), receiving side: the initial key from the BDK, the intermediate
#             derivation key of any counter, a working key from it; the key type and usage tables
#   PIN blocks (ISO 9564-1): decipher a format 4 or format 0 block, check that it carries a PIN
#   TR-31 key blocks: wrap a key (the terminal only unwraps)
import os

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x

from wasl.crypto import aes
from wasl.crypto.dukpt_aes import _aes_type, _check_strength, derivation_data, derive_key
from wasl.crypto.pinblock import _CLEAR, _PANF, PinBlockError, _format0_pan, format4_pan_field
from wasl.crypto.tr31 import _cbc, _check_key_length, _derive, _mac_over, parse_header
from wasl.crypto.util import count_one_bits, hexu, wipe

# ---- AES DUKPT ----------------------------------------------------------------------------------------

# Key types: the algorithm indicator of the derivation data (X9.24-3 6.2.2, 6.3.2)
KEY_2TDEA = const(0)
KEY_3TDEA = const(1)
KEY_AES128 = const(2)
KEY_AES192 = const(3)
KEY_AES256 = const(4)

# Key usage indicators (X9.24-3 6.3.2)
USAGE_KEY_ENCRYPTION = const(0x0002)
USAGE_PIN_ENCRYPTION = const(0x1000)
USAGE_MAC_GENERATION = const(0x2000)
USAGE_MAC_VERIFICATION = const(0x2001)
USAGE_MAC_BOTH_WAYS = const(0x2002)
USAGE_DATA_ENCRYPT = const(0x3000)
USAGE_DATA_DECRYPT = const(0x3001)
USAGE_DATA_BOTH_WAYS = const(0x3002)
USAGE_KEY_DERIVATION = const(0x8000)
USAGE_KEY_DERIVATION_INITIAL_KEY = const(0x8001)

_NUM_REG = const(32)   # counter bits (dukpt_aes: intermediate derivation key registers)
_MAX_WORK = const(16)  # most one bits a valid transaction counter has
_KEY_BYTES = const(b"\x10\x18\x10\x18\x20")     # by key type, as in dukpt_aes


def counter_valid(counter):
    return 0 < counter <= 0xFFFFFFFF and count_one_bits(counter) <= _MAX_WORK


def derive_initial_key(bdk, initial_key_id, out=None):
    """Initial key from the BDK and the initial key ID (X9.24-3 6.3.1). Host side: the BDK never enters
    the terminal; the key injection tool and the tests use this."""
    kt = _aes_type(bdk)
    if out is None:
        out = bytearray(len(bdk))
    dd = derivation_data(USAGE_KEY_DERIVATION_INITIAL_KEY, kt, initial_key_id, 0, bytearray(16))
    return derive_key(bdk, kt, dd, out)


def intermediate_derivation_key(initial_key, initial_key_id, counter, out=None):
    """Receiving-side derivation of the intermediate derivation key of a transaction counter: from the
    initial key, one derivation per one bit of the counter, most significant first (X9.24-3 6.1)."""
    kt = _aes_type(initial_key)
    if out is None:
        out = bytearray(len(initial_key))
    out[:] = initial_key
    dd = bytearray(16)
    wc = 0
    for j in range(_NUM_REG - 1, -1, -1):
        if (counter >> j) & 1:
            wc |= 1 << j
            derive_key(out, kt, derivation_data(USAGE_KEY_DERIVATION, kt, initial_key_id, wc, dd), out)
    return out


def working_key(derivation_key, usage, key_type, initial_key_id, counter, out=None):
    """A working key (PIN, MAC, data...) of the given type from an intermediate derivation key."""
    _check_strength(key_type, len(derivation_key))
    if out is None:
        out = bytearray(_KEY_BYTES[key_type])
    dd = derivation_data(usage, key_type, initial_key_id, counter, bytearray(16))
    return derive_key(derivation_key, key_type, dd, out)


# ---- PIN blocks ---------------------------------------------------------------------------------------

def _nibble(buf, i):
    return buf[i >> 1] & 15 if i & 1 else buf[i >> 1] >> 4


def decipher_format4(key, block, pan, pin_out):
    """Recover the PIN from a format 4 block: its ASCII digits into pin_out (a bytearray of 12 or more);
    returns how many. PinBlockError if the deciphered PIN field is not a format 4 PIN field."""
    if len(block) != 16:
        raise PinBlockError("format 4 block: 16 bytes")
    c = _CLEAR
    try:
        format4_pan_field(pan, _PANF)
        d = aes.ecb(key)     # one decrypt object serves both steps
        d.decrypt(block, c)
        for i in range(16):
            c[i] ^= _PANF[i]
        d.decrypt(c, c)
        return _read_pin(c, 4, 10, pin_out)
    finally:
        wipe(c)
        wipe(_PANF)


def _read_pin(c, control, fill, pin_out):
    """Check the clear PIN field / block in c[0:8] (control nibble, length, digits, fill nibbles) and copy
    the digits into pin_out as ASCII; on any error pin_out is left zeroed."""
    n = c[0] & 15
    if c[0] >> 4 != control:
        raise PinBlockError("not a format %d PIN block" % control)
    if not 4 <= n <= 12:
        raise PinBlockError("PIN length field %d" % n)
    if len(pin_out) < n:
        raise PinBlockError("PIN buffer too small")
    bad = None
    for i in range(2, 16):
        d = _nibble(c, i)
        if i < 2 + n:
            if d > 9:
                bad = "PIN digit out of range"
            pin_out[i - 2] = 48 + d
        elif d != fill:
            bad = "PIN fill is not format %d fill" % control
    if bad:
        for j in range(n):
            pin_out[j] = 0
        raise PinBlockError(bad)
    return n


def check_format4(key, block, pan, pin):
    """Decipherment check: does this format 4 block carry this PIN for this PAN?"""
    return _check(decipher_format4, key, block, pan, pin)


def _check(decipher, key, block, pan, pin):
    got = bytearray(12)
    try:
        n = decipher(key, block, pan, got)
    except PinBlockError:
        return False
    ok = n == len(pin)
    for i in range(n):
        if i >= len(pin) or got[i] != pin[i]:
            ok = False
    wipe(got)
    return ok


def decipher_format0(key, block, pan, pin_out):
    """Recover the PIN of a TDES-enciphered format 0 block (ASCII digits into pin_out); returns the count."""
    from wasl.crypto.des import TDES

    if len(block) != 8:
        raise PinBlockError("format 0 block: 8 bytes")
    c = _CLEAR
    t = TDES(key)
    try:
        t.decrypt_block(block, 0, c, 0)
        _format0_pan(pan, _PANF)
        for i in range(8):
            c[i] ^= _PANF[i]
        return _read_pin(c, 0, 15, pin_out)
    finally:
        t.wipe()
        wipe(c)
        wipe(_PANF)


def check_format0(key, block, pan, pin):
    return _check(decipher_format0, key, block, pan, pin)


# ---- TR-31 --------------------------------------------------------------------------------------------

def _block_field(bid, data):
    n = len(data) + 4
    if n <= 255:
        return bid + ("%02X" % n) + data
    return bid + "0002" + ("%04X" % (n + 6)) + data


def wrap(kbpk, header, key, masked_len=0, fill=None):
    """A key block of the key under the KBPK (tests, tools). header: the 16 header characters, then any
    optional blocks (length and block count are recomputed; a PB pad block is added when needed).
    masked_len: pad the key field to this many bytes to hide the key's length. fill(n): random bytes."""
    h = parse_header(header[:1] + "%04d" % len(header) + header[5:])   # its length field: made right below
    bs = ml = 16 if h.version == "D" else 8     # cipher block and MAC, bytes
    blocks = [(i, d) for i, d in h.blocks if i != "PB"]
    opt = "".join(_block_field(i, d) for i, d in blocks)
    if (16 + len(opt)) % bs:
        pad = (-(16 + len(opt) + 4)) % bs
        opt += _block_field("PB", "0" * pad)
        blocks.append(("PB", ""))
    n = len(key)
    _check_key_length(h.algorithm, n)
    field = max(n, masked_len)
    plen = 2 + field
    plen += (-plen) % bs
    total = 16 + len(opt) + 2 * plen + 2 * ml
    head = "%s%04d%s%s%s%s%s%02d00%s" % (h.version, total, h.usage, h.algorithm, h.mode, h.key_version,
                                       h.exportability, len(blocks), opt)
    payload = bytearray(plen)
    payload[0] = (n * 8) >> 8
    payload[1] = (n * 8) & 0xFF
    payload[2:2 + n] = key
    rnd = (fill or os.urandom)(plen - 2 - n)
    payload[2 + n:] = rnd
    kbek, kbak = _derive(h.version, kbpk)
    try:
        m = _mac_over(h.version, kbak, head.encode(), payload)
        ct = _cbc(h.version, kbek, m[:ml], payload, False)
        return head + hexu(ct) + hexu(m[:ml])
    finally:
        wipe(kbek)
        wipe(kbak)
        wipe(payload)
