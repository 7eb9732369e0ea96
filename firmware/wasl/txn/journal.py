# The transaction journal: one record per state change, appended to a file on the board's journal
# file system (littlefs on the device, littlefs over a file-backed block device in the sim).
#
# Record on disk:  b"WJ" | length (2 bytes, big-endian) | CRC-32 of the payload (4 bytes) | payload
# The payload is a JSON object with short keys (see docs/journal.md). A record whose header, length
# or CRC does not check out is a torn write: replay stops there and the file is cut back to the last
# good record, so nothing after a power cut can be half-believed.
#
# Only masked PANs are ever journaled: no track data, no PIN, no key.
import json
import os

try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x

try:
    from binascii import crc32
except ImportError:  # a port built without binascii.crc32
    def crc32(data, crc=0):
        crc ^= 0xFFFFFFFF
        for b in data:
            crc ^= b
            for _ in range(8):
                crc = (crc >> 1) ^ (0xEDB88320 if crc & 1 else 0)
        return crc ^ 0xFFFFFFFF

_MAGIC = const(b"WJ")
_HDR = 8               # also wasl.txn.journal_tools'
_MAX_RECORD = const(1024)


class Journal:
    def __init__(self, root, name="journal", powerfail=None):
        self.path = (root + "/" if root else "") + name
        self.powerfail = powerfail   # board hook: powerfail(phase, write_number) may never return
        self.writes = 0              # records appended since boot (power-cut tests count them)
        self.bytes_written = 0
        self._hdr = bytearray(_HDR)
        self._f = None

    def close(self):
        """Close the append handle (before the file is replaced or repaired)."""
        if self._f is not None:
            self._f.close()
            self._f = None

    def _encode(self, rec):
        payload = json.dumps(rec).encode()
        n = len(payload)
        if n > _MAX_RECORD:
            raise ValueError("journal record too long")
        h = self._hdr
        h[0:2] = _MAGIC
        h[2] = n >> 8
        h[3] = n & 0xFF
        c = crc32(payload) & 0xFFFFFFFF
        h[4] = c >> 24
        h[5] = (c >> 16) & 0xFF
        h[6] = (c >> 8) & 0xFF
        h[7] = c & 0xFF
        return h, payload

    def append(self, rec):
        """Write one record durably (flushed, hence committed on littlefs, before returning)."""
        h, payload = self._encode(rec)
        self.writes += 1
        if self.powerfail:
            self.powerfail("before", self.writes, h, payload)
        f = self._f
        if f is None:
            f = self._f = open(self.path, "ab")   # kept open: no file object per record
        f.write(h)
        f.write(payload)
        f.flush()                                  # littlefs: lfs_file_sync, the record is committed
        self.bytes_written += _HDR + len(payload)
        if self.powerfail:
            self.powerfail("after", self.writes, None, None)

    def records(self):
        """Yield every good record in order. Stops at the first torn or corrupt one (journal_tools.repair
        cuts it off at boot)."""
        for rec, _ in self._scan():
            yield rec

    def _scan(self):
        try:
            f = open(self.path, "rb")
        except OSError:
            return
        hdr = bytearray(_HDR)
        pos = 0
        try:
            while True:
                got = f.readinto(hdr)
                if not got:
                    return
                if got < _HDR or hdr[0:2] != _MAGIC:
                    return
                n = (hdr[2] << 8) | hdr[3]
                payload = f.read(n)
                if len(payload) < n:
                    return
                c = (hdr[4] << 24) | (hdr[5] << 16) | (hdr[6] << 8) | hdr[7]
                if crc32(payload) & 0xFFFFFFFF != c:
                    return
                try:
                    rec = json.loads(payload)
                except ValueError:
                    return
                pos += _HDR + n
                yield rec, pos
        finally:
            f.close()

    def size(self):
        try:
            return os.stat(self.path)[6]
        except OSError:
            return 0
