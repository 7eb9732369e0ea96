# CMAC (NIST SP 800-38B; for AES also RFC 4493) and the AES key check value.
# AES-CMAC runs the message through cryptolib's CBC mode (zero IV): only the last block is touched in
# Python. block_cmac() drives any ECB object with the cryptolib calling convention (TDES for TR-31 B).
import cryptolib

from wasl.crypto.aes import check_key
from wasl.crypto.util import wipe

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x

_RB16 = const(0x87)   # SP 800-38B R_128
_RB8 = const(0x1B)    # SP 800-38B R_64


def _dbl(b, rb):
    """Subkey step of SP 800-38B: b <<= 1 (big-endian, in place), XOR Rb if the top bit fell out."""
    carry = 0
    for i in range(len(b) - 1, -1, -1):
        v = b[i]
        b[i] = ((v << 1) & 0xFF) | carry
        carry = v >> 7
    if carry:
        b[-1] ^= rb


def _last_block(msg, n, size, k, t):
    """t = the message's last block XOR its subkey: K1 if complete, else padded (10*) with K2."""
    if n and n % size == 0:
        start = n - size
        for i in range(size):
            t[i] = msg[start + i] ^ k[i]
        return True
    start = n - n % size
    r = n - start
    for i in range(size):
        if i < r:
            t[i] = msg[start + i]
        elif i == r:
            t[i] = 0x80
        else:
            t[i] = 0
    return False


_CHUNK = bytearray(128)   # CBC output of the blocks before the last (not secret: discarded)
_KS = bytearray(16)       # subkey (wiped after use)
_LAST = bytearray(16)     # the last block XOR its subkey (wiped after use)


def aes_cmac(key, msg, out=None):
    """AES-CMAC of msg under an AES-128 or AES-256 key: 16 bytes into out (a new bytearray if None)."""
    check_key(key)
    if out is None:
        out = bytearray(16)
    k = _KS
    t = _LAST
    for i in range(16):
        k[i] = 0
    cryptolib.aes(key, 1).encrypt(k, k)        # L = E(0)
    _dbl(k, _RB16)                             # K1
    n = len(msg)
    if not _last_block(msg, n, 16, k, t):
        _dbl(k, _RB16)                         # K2
        for i in range(16):
            t[i] ^= k[i]
    wipe(k)
    c = cryptolib.aes(key, 2, bytes(16))   # CBC, zero IV
    full = 16 * ((n - 1) // 16) if n else 0    # bytes before the last block
    if full:
        mv = memoryview(msg)
        for i in range(0, full, 128):          # CBC chaining keeps the running MAC across calls
            c.encrypt(mv[i:min(i + 128, full)], _CHUNK)
    c.encrypt(t, out)
    wipe(t)
    return out


def block_cmac(cipher, size, msg, out=None):
    """CMAC with any block cipher object having encrypt(src, dst) on size-byte blocks (size 8 or 16)."""
    if out is None:
        out = bytearray(size)
    rb = _RB16 if size == 16 else _RB8
    k = bytearray(size)
    cipher.encrypt(k, k)
    _dbl(k, rb)
    n = len(msg)
    t = bytearray(size)
    if not _last_block(msg, n, size, k, t):
        _dbl(k, rb)
        for i in range(size):
            t[i] ^= k[i]
    wipe(k)
    x = bytearray(size)
    full = (n - 1) // size if n else 0
    for b in range(full):
        o = b * size
        for i in range(size):
            x[i] ^= msg[o + i]
        cipher.encrypt(x, x)
    for i in range(size):
        x[i] ^= t[i]
    cipher.encrypt(x, x)
    out[:size] = x
    wipe(x)
    wipe(t)
    return out


def tdes_cmac(key, msg, out=None):
    """TDES-CMAC (SP 800-38B, 8-byte result) under a 16- or 24-byte key; loads the DES module."""
    from wasl.crypto.des import TDES

    c = TDES(key)
    try:
        return block_cmac(c, 8, msg, out)
    finally:
        c.wipe()


def aes_kcv(key, n=3):
    """AES key check value: the leftmost n bytes of AES-CMAC over a block of 16 zero bytes
    (the ANSI X9.24-1-2017 / TR-31 / X9.143 convention for AES keys; HSMs print 3 or 5 bytes)."""
    m = aes_cmac(key, bytes(16))
    v = bytes(m[:n])
    wipe(m)
    return v
