# AES DUKPT (ANSI X9.24-3-2017) on the receiving side: the initial key from the BDK, the intermediate
# derivation key of any counter, a working key from it; and the key type and usage tables. The host,
# the key injection tool and the tests use these; the terminal (wasl/crypto/dukpt_aes.py) does not, so
# they stay out of its RAM. dukpt_aes.X finds them too (its module __getattr__).
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x

from wasl.crypto.dukpt_aes import _aes_type, _check_strength, derivation_data, derive_key
from wasl.crypto.util import count_one_bits

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
