# ISO/IEC 9797-1 MAC algorithm 3 with DES ("retail MAC", ANSI X9.19): single-DES CBC-MAC under K,
# then the last block deciphered under K' and enciphered again under K. For the TDES-DUKPT MAC keys.
from wasl.crypto.des import crypt_block, key_schedule
from wasl.crypto.util import wipe


def retail_mac(key, data, out=None, pad=1, n=8):
    """MAC of data under a 16-byte key K||K' (ISO 9797-1 MAC algorithm 3, DES).
    pad 1: zeros to a block boundary (an empty message is one block of zeros); pad 2: 0x80 then zeros.
    The leftmost n bytes (4..8) go into out (a new bytearray if None)."""
    if len(key) != 16:
        raise ValueError("retail MAC key of %d bytes: 16" % len(key))
    if pad not in (1, 2) or not 4 <= n <= 8:
        raise ValueError("retail MAC: padding method 1 or 2, 4 to 8 bytes")
    ks = bytearray(256)
    key_schedule(key, 0, ks, 0)
    key_schedule(key, 8, ks, 128)
    x = bytearray(8)
    size = len(data)
    total = size + 1 if pad == 2 else size
    blocks = max(1, (total + 7) // 8)
    for b in range(blocks):
        o = b * 8
        for i in range(8):
            j = o + i
            if j < size:
                x[i] ^= data[j]
            elif j == size and pad == 2:
                x[i] ^= 0x80
        crypt_block(ks, 0, False, x, 0, x, 0)
    crypt_block(ks, 128, True, x, 0, x, 0)
    crypt_block(ks, 0, False, x, 0, x, 0)
    wipe(ks)
    if out is None:
        out = bytearray(n)
    out[:n] = x[:n]
    wipe(x)
    return out
