# ISO 9564-1 PIN blocks on the acquirer's side: decipher a format 4 or format 0 block, check it carries a
# PIN. The tests and the host simulator use these; the terminal (wasl/crypto/pinblock.py) only
# enciphers, so they stay out of its RAM. pinblock.X finds them too.
from wasl.crypto import aes
from wasl.crypto.pinblock import _CLEAR, _PANF, PinBlockError, _format0_pan, format4_pan_field
from wasl.crypto.util import wipe


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
