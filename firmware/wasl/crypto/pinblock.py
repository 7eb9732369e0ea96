# ISO 9564-1 PIN blocks: format 4 (AES, 16 bytes, with the PAN field) and format 0 (TDES, 8 bytes).
# The PIN comes in as a bytearray of ASCII digits (what the keypad collected) and is never turned into
# a str. The clear PIN block lives in a scratch bytearray of this module that is zeroed before return,
# whatever happens. The caller owns (and wipes) its PIN buffer; wasl.crypto.keystore.TxnKeys.pin_block
# consumes it. Deciphering (the acquirer's side) is in host.py.
import os

from wasl.crypto import aes
from wasl.crypto.util import wipe

_CLEAR = bytearray(16)   # clear PIN field / PIN block (zeroed after every call)
_PANF = bytearray(16)    # PAN field


class PinBlockError(ValueError):
    pass


def _pin_len(pin):
    n = len(pin)
    if not 4 <= n <= 12:
        raise PinBlockError("PIN of %d digits: 4 to 12" % n)
    for i in range(n):
        if not 48 <= pin[i] <= 57:
            raise PinBlockError("PIN digit %d is not 0-9" % i)
    return n


def _pan_digits(pan):
    """The PAN as ASCII digit bytes (str or bytes accepted: the PAN is not the secret here)."""
    if isinstance(pan, str):
        pan = pan.encode()
    n = len(pan)
    for i in range(n):
        if not 48 <= pan[i] <= 57:
            raise PinBlockError("PAN digit %d is not 0-9" % i)
    return pan


def _set_nibble(buf, i, v):
    if i & 1:
        buf[i >> 1] = (buf[i >> 1] & 0xF0) | v
    else:
        buf[i >> 1] = (buf[i >> 1] & 0x0F) | (v << 4)


# ---- format 4 ------------------------------------------------------------------------------------

def format4_pin_field(pin, out, fill=None):
    """Plain-text PIN field: 4, N, PIN digits, 'A' fill to 16 nibbles, then 8 random bytes (fill)."""
    n = _pin_len(pin)
    out[0] = 0x40 | n
    for i in range(2, 16):
        _set_nibble(out, i, pin[i - 2] - 48 if i - 2 < n else 10)
    rnd = os.urandom(8) if fill is None else fill
    if len(rnd) != 8:
        raise PinBlockError("format 4 random fill: 8 bytes")
    for i in range(8):
        out[8 + i] = rnd[i]
    return out


def format4_pan_field(pan, out):
    """Plain-text PAN field: M (PAN length - 12, 0-7), the PAN (left-padded with zeros to 12 digits
    when shorter), zero-filled to 32 nibbles."""
    pan = _pan_digits(pan)
    n = len(pan)
    if not 1 <= n <= 19:
        raise PinBlockError("PAN of %d digits: 1 to 19" % n)
    for i in range(16):
        out[i] = 0
    m = n - 12 if n > 12 else 0
    _set_nibble(out, 0, m)
    lead = 12 - n if n < 12 else 0
    for i in range(n):
        _set_nibble(out, 1 + lead + i, pan[i] - 48)
    return out


def encipher_format4(key, pin, pan, out=None, fill=None):
    """ISO 9564-1 format 4 encipherment under an AES key: E(K, E(K, PIN field) XOR PAN field).
    16 bytes into out (a new bytearray if None). fill: the 8 random bytes (tests only)."""
    if out is None:
        out = bytearray(16)
    c = _CLEAR
    try:
        format4_pin_field(pin, c, fill)
        format4_pan_field(pan, _PANF)
        e = aes.ecb(key)
        e.encrypt(c, c)
        for i in range(16):
            c[i] ^= _PANF[i]
        e.encrypt(c, out)
    finally:
        wipe(c)
        wipe(_PANF)
    return out


# ---- format 0 ------------------------------------------------------------------------------------

def _format0_pan(pan, out):
    """PAN block: 0000 + the 12 rightmost PAN digits excluding the check digit."""
    pan = _pan_digits(pan)
    n = len(pan)
    if not 13 <= n <= 19:
        raise PinBlockError("PAN of %d digits for format 0: 13 to 19" % n)
    for i in range(8):
        out[i] = 0
    for i in range(12):
        _set_nibble(out, 4 + i, pan[n - 13 + i] - 48)


def format0_block(pin, pan, out):
    """Clear format 0 PIN block (0, N, PIN, F fill) XOR PAN block, into out[0:8]. Sensitive: wipe it."""
    n = _pin_len(pin)
    out[0] = n
    for i in range(2, 16):
        _set_nibble(out, i, pin[i - 2] - 48 if i - 2 < n else 15)
    _format0_pan(pan, _PANF)
    for i in range(8):
        out[i] ^= _PANF[i]
    wipe(_PANF)
    return out


def encipher_format0(key, pin, pan, out=None):
    """Format 0 block enciphered under a TDES key (16 or 24 bytes): 8 bytes into out."""
    from wasl.crypto.des import TDES

    if out is None:
        out = bytearray(8)
    c = _CLEAR
    t = TDES(key)
    try:
        format0_block(pin, pan, c)
        t.encrypt_block(c, 0, out, 0)
    finally:
        t.wipe()
        wipe(c)
    return out


def __getattr__(name):
    # The acquirer's side (decipher_format4/0, check_format4/0: the tests and the host simulator) is in
    # host.py, found here too: the terminal only enciphers.
    from wasl.crypto import host

    return getattr(host, name)
