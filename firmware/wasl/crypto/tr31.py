# TR-31 key blocks (ASC X9 TR-31:2018, ANSI X9.143): unwrap version D (AES key derivation binding:
# KBEK and KBAK derived from the KBPK with CMAC, the key data enciphered in CBC mode with the MAC as IV)
# and version B (the same with TDES); wrap, for tests and tools, is in host.py. Versions A and C
# (key variant binding) are refused: they are deprecated.
#
# A block is ASCII: 16-character header (version, length, key usage, algorithm, mode of use, key version
# number, exportability, number of optional blocks, reserved), optional blocks (ID, length, data), then
# the enciphered key data and the MAC, in hex. Every check fails with TR31Error naming what is wrong.
from wasl.crypto import aes
from wasl.crypto.cmac import aes_cmac, tdes_cmac
from wasl.crypto.util import ct_equal, unhex, wipe

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x

# Key usages of TR-31:2018 table 6 (pairs), algorithms, modes of use, exportability
_USAGES = const("B0B1B2C0D0D1D2E0E1E2E3E4E5E6I0K0K1K2K3M0M1M2M3M4M5M6M7M8P0P1S0S1S2V0V1V2V3V4V5")
_ALGORITHMS = const("ADEHRST")
_MODES = const("BCDEGNSTVXY")
_EXPORTABILITY = const("ENS")


class TR31Error(ValueError):
    pass


class Header:
    """A parsed key block header. blocks: [(ID, data)] of the optional blocks, in order (str)."""

    __slots__ = ("version", "length", "usage", "algorithm", "mode", "key_version", "exportability",
                 "blocks", "size")

    def block(self, name):
        """The data of the optional block with this ID ("IK", "KS"...), or None."""
        for i, d in self.blocks:
            if i == name:
                return d
        return None

    def __repr__(self):
        return "<TR-31 %s usage=%s alg=%s mode=%s kvn=%s exp=%s blocks=%s>" % (
            self.version, self.usage, self.algorithm, self.mode, self.key_version, self.exportability,
            ",".join(i for i, _ in self.blocks))


def _ascii(kb):
    if isinstance(kb, str):
        return kb.encode()
    return bytes(kb)


def _digits(s):
    for c in s:
        if c < "0" or c > "9":
            return False
    return len(s) > 0


def _hexint(s, what):
    try:
        if not s:
            raise ValueError
        for c in s:
            if c not in "0123456789ABCDEFabcdef":
                raise ValueError
        return int(s, 16)
    except ValueError:
        raise TR31Error("%s '%s' is not hex" % (what, s))


def parse_header(kb):
    """Header of a key block (str or bytes) -> Header; header.size is its length in characters."""
    b = _ascii(kb)
    for i in range(len(b)):
        if not 0x20 <= b[i] <= 0x7E:
            raise TR31Error("character %d of the key block is not printable ASCII" % i)
    s = b.decode()
    if len(s) < 16:
        raise TR31Error("key block of %d characters: shorter than a header" % len(s))
    h = Header()
    h.version = s[0]
    if h.version in ("A", "C"):
        raise TR31Error("key block version %s (key variant binding) is not supported: B or D" % h.version)
    if h.version not in ("B", "D"):
        raise TR31Error("key block version '%s' is not supported: B or D" % h.version)
    if not _digits(s[1:5]):
        raise TR31Error("key block length '%s' is not 4 digits" % s[1:5])
    h.length = int(s[1:5])
    if h.length != len(s):
        raise TR31Error("key block length field says %d, the block has %d characters" % (h.length, len(s)))
    h.usage = s[5:7]
    ok = False
    for i in range(0, len(_USAGES), 2):
        if _USAGES[i:i + 2] == h.usage:
            ok = True
    if not ok:
        raise TR31Error("key usage '%s' is not supported" % h.usage)
    h.algorithm = s[7]
    if h.algorithm not in _ALGORITHMS:
        raise TR31Error("algorithm '%s' is unknown" % h.algorithm)
    h.mode = s[8]
    if h.mode not in _MODES:
        raise TR31Error("mode of use '%s' is unknown" % h.mode)
    h.key_version = s[9:11]
    h.exportability = s[11]
    if h.exportability not in _EXPORTABILITY:
        raise TR31Error("exportability '%s' is unknown" % h.exportability)
    if not _digits(s[12:14]):
        raise TR31Error("number of optional blocks '%s' is not 2 digits" % s[12:14])
    count = int(s[12:14])
    if s[14:16] != "00":
        raise TR31Error("reserved header field '%s' is not 00" % s[14:16])
    pos = 16
    h.blocks = []
    for n in range(count):
        if pos + 4 > len(s):
            raise TR31Error("optional block %d runs past the end of the key block" % (n + 1))
        bid = s[pos:pos + 2]
        ln = _hexint(s[pos + 2:pos + 4], "optional block %s length" % bid)
        head = 4
        if ln == 0:        # extended length: length of length, then the length
            if pos + 6 > len(s):
                raise TR31Error("optional block %s: extended length runs past the end" % bid)
            lol = _hexint(s[pos + 4:pos + 6], "optional block %s length of length" % bid)
            if lol == 0 or pos + 6 + lol > len(s):
                raise TR31Error("optional block %s: bad extended length" % bid)
            ln = _hexint(s[pos + 6:pos + 6 + lol], "optional block %s length" % bid)
            head = 6 + lol
        if ln < head or pos + ln > len(s):
            raise TR31Error("optional block %s length %d is wrong" % (bid, ln))
        h.blocks.append((bid, s[pos + head:pos + ln]))
        pos += ln
    h.size = pos
    return h


def _derive(version, kbpk):
    """(KBEK, KBAK) from the KBPK: CMAC over derivation data counter | usage (0000 enc, 0001 MAC) | 00 |
    algorithm | length in bits, one CMAC per block of key (TR-31:2018 5.3.2.1 / 5.3.2.3)."""
    n = len(kbpk)
    if version == "D":
        if n == 24:
            raise TR31Error("AES-192 KBPK: not supported (cryptolib)")
        if n not in (16, 32):
            raise TR31Error("KBPK of %d bytes for a version D block: AES-128 or AES-256" % n)
        algo, bits, step = (2, 128, 16) if n == 16 else (4, 256, 16)
        mac = aes_cmac
    else:
        if n not in (16, 24):
            raise TR31Error("KBPK of %d bytes for a version B block: 2- or 3-key TDES" % n)
        algo, bits, step = (0, 128, 8) if n == 16 else (1, 192, 8)
        mac = tdes_cmac
    kbek = bytearray(n)
    kbak = bytearray(n)
    dd = bytearray(8)
    dd[5] = algo
    dd[6] = bits >> 8
    dd[7] = bits & 0xFF
    for i in range(n // step):
        dd[0] = i + 1
        dd[2] = 0
        mac(kbpk, dd, memoryview(kbek)[i * step:(i + 1) * step])
        dd[2] = 1
        mac(kbpk, dd, memoryview(kbak)[i * step:(i + 1) * step])
    return kbek, kbak


def _mac_over(version, key, header, payload):
    """CMAC under the KBAK `key` of the header and the clear key data (in one bytearray, wiped after)."""
    d = bytearray(len(header) + len(payload))
    d[:len(header)] = header
    d[len(header):] = payload
    try:
        if version == "D":
            return aes_cmac(key, d)
        return tdes_cmac(key, d)
    finally:
        wipe(d)


def _cbc(version, key, iv, data, decrypt):
    if version == "D":
        return aes.decrypt_cbc(key, iv, data) if decrypt else aes.encrypt_cbc(key, iv, data)
    from wasl.crypto import des

    return des.decrypt_cbc(key, iv, data) if decrypt else des.encrypt_cbc(key, iv, data)


def _check_key_length(algorithm, n):
    ok = {"A": (16, 24, 32), "T": (8, 16, 24), "D": (8,)}.get(algorithm)
    if ok is not None and n not in ok:
        raise TR31Error("key of %d bytes for algorithm %s" % (n, algorithm))


def unwrap(kbpk, kb, usage=None, algorithm=None):
    """Verify and decipher a key block under the KBPK. Returns (Header, key); the key is a bytearray the
    caller wipes. usage / algorithm, if given, must match the header (e.g. "B1", "A" for an AES DUKPT
    initial key). TR31Error on any defect: format, lengths, MAC (wrong KBPK or tampering), contents."""
    h = parse_header(kb)
    s = _ascii(kb)
    if usage is not None and h.usage != usage:
        raise TR31Error("key usage %s where %s is expected" % (h.usage, usage))
    if algorithm is not None and h.algorithm != algorithm:
        raise TR31Error("algorithm %s where %s is expected" % (h.algorithm, algorithm))
    bs = ml = 16 if h.version == "D" else 8     # cipher block and MAC, bytes
    if h.size % bs:
        raise TR31Error("header of %d characters: not a multiple of %d" % (h.size, bs))
    body = len(s) - h.size - 2 * ml
    if body < 2 * bs or body % (2 * bs):
        raise TR31Error("enciphered key data of %d characters: a positive multiple of %d" % (body, 2 * bs))
    try:
        data = unhex(s[h.size:h.size + body])
        got = unhex(s[h.size + body:])
    except ValueError:
        raise TR31Error("key data or MAC is not hex")
    kbek, kbak = _derive(h.version, kbpk)
    payload = None
    try:
        payload = _cbc(h.version, kbek, got, data, True)
        m = _mac_over(h.version, kbak, s[:h.size], payload)
        good = ct_equal(m[:ml], got)
        wipe(m)
        if not good:
            raise TR31Error("key block MAC does not verify: wrong KBPK or the block was altered")
        bits = (payload[0] << 8) | payload[1]
        n = bits // 8
        if bits == 0 or bits % 8 or n > len(payload) - 2:
            raise TR31Error("key length field (%d bits) is wrong" % bits)
        _check_key_length(h.algorithm, n)
        key = bytearray(n)
        for i in range(n):
            key[i] = payload[2 + i]
        return h, key
    finally:
        wipe(kbek)
        wipe(kbak)
        if payload is not None:
            wipe(payload)


def __getattr__(name):
    # wrap() makes key blocks: the key injection tool and the tests need it, the terminal never does.
    # It is in host.py; tr31.wrap still finds it.
    from wasl.crypto import host

    return getattr(host, name)
