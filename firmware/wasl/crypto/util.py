# Byte helpers of the crypto modules: wipe, XOR, constant-time comparison, hex.
# Secrets live in bytearrays so they can be overwritten: never in str, never in bytes when avoidable.
import binascii


def wipe(buf):
    """Overwrite a bytearray (or a writable memoryview) with zeros."""
    for i in range(len(buf)):
        buf[i] = 0


def xor_into(out, data, n, off=0, start=0):
    """out[off:off+n] ^= data[start:start+n], in place, without allocating."""
    for i in range(n):
        out[off + i] ^= data[start + i]


def ct_equal(a, b):
    """Compare two byte strings in time independent of where they differ (MACs, check values)."""
    if len(a) != len(b):
        return False
    d = 0
    for i in range(len(a)):
        d |= a[i] ^ b[i]
    return d == 0


def hexu(data):
    """Upper-case hex text of bytes: for KSNs, check values and key blocks, never for clear keys."""
    return binascii.hexlify(data).decode().upper()


def unhex(text):
    """bytes from hex text (str or bytes); ValueError if it is not hex of whole bytes."""
    try:
        return binascii.unhexlify(text)
    except Exception:  # binascii.Error on CPython, ValueError on MicroPython
        raise ValueError("not hex text")


def get_u32(b, off):
    return (b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3]


def put_u32(b, off, v):
    b[off] = (v >> 24) & 0xFF
    b[off + 1] = (v >> 16) & 0xFF
    b[off + 2] = (v >> 8) & 0xFF
    b[off + 3] = v & 0xFF


def count_one_bits(v):
    """One bits of a DUKPT counter (both schemes skip counters with too many)."""
    n = 0
    while v:
        v &= v - 1
        n += 1
    return n


class Persistent:
    """save() and load() for a DUKPT object: its state() / restore(state) through self._storage, an object
    with save(state) and load() (or None: nothing persists). The state bytes are wiped after use."""

    def save(self):
        if self._storage is not None:
            b = self.state()
            try:
                self._storage.save(b)
            finally:
                wipe(b)

    def load(self):
        """Restore the saved state, if the storage has one; returns whether it did."""
        blob = self._storage.load() if self._storage is not None else None
        if not blob:
            return False
        try:
            self.restore(blob)
        finally:
            if isinstance(blob, bytearray):
                wipe(blob)
        return True
