# TR-31 key blocks made (wasl/crypto/tr31.py reads them): the key injection tool and the tests wrap keys,
# the terminal only unwraps, so this part stays out of its RAM. tr31.wrap is this wrap.
import os

from wasl.crypto.tr31 import _cbc, _check_key_length, _derive, _mac_over, parse_header
from wasl.crypto.util import hexu, wipe


def _block_field(bid, data):
    n = len(data) + 4
    if n <= 255:
        return bid + ("%02X" % n) + data
    return bid + "0002" + ("%04X" % (n + 6)) + data


def wrap(kbpk, header, key, masked_len=0, fill=None):
    """A key block of the key under the KBPK (tests, tools). header: the 16 header characters, then any
    optional blocks (length and block count are recomputed; a PB pad block is added when needed).
    masked_len: pad the key field to this many bytes to hide the key's length. fill(n): random bytes."""
    h = parse_header(header, check_length=False)
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
