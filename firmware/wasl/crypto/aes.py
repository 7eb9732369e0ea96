# AES (FIPS 197) through the port's built-in cryptolib: mbedTLS, hardware-accelerated on the ESP32.
# cryptolib.aes(key, mode[, iv]): mode 1 = ECB, mode 2 = CBC; keys of 16 or 32 bytes (no AES-192);
# one object either encrypts or decrypts; CBC chains across calls. On CPython the test shim
# host_tests/cpython_shims/cryptolib.py stands in; the firmware never ships it.
# A cryptolib object keeps its own copy of the expanded key where Python cannot wipe it: make one per
# operation and drop it at once.
import cryptolib

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x

_ECB = const(1)     # cryptolib's modes
_CBC = const(2)


def check_key(key):
    n = len(key)
    if n != 16 and n != 32:
        raise ValueError("AES key of %d bytes: 16 or 32 (cryptolib has no AES-192)" % n)


def ecb(key):
    """A cryptolib ECB object (encrypt OR decrypt, whole blocks)."""
    check_key(key)
    return cryptolib.aes(key, _ECB)


def cbc(key, iv):
    """A cryptolib CBC object; it chains across calls."""
    check_key(key)
    return cryptolib.aes(key, _CBC, iv)


def _out(data, out):
    if len(data) % 16:
        raise ValueError("AES data of %d bytes: not a multiple of 16" % len(data))
    return bytearray(len(data)) if out is None else out


def encrypt_ecb(key, data, out=None):
    out = _out(data, out)
    ecb(key).encrypt(data, out)
    return out


def decrypt_ecb(key, data, out=None):
    out = _out(data, out)
    ecb(key).decrypt(data, out)
    return out


def encrypt_cbc(key, iv, data, out=None):
    out = _out(data, out)
    cbc(key, iv).encrypt(data, out)
    return out


def decrypt_cbc(key, iv, data, out=None):
    out = _out(data, out)
    cbc(key, iv).decrypt(data, out)
    return out
