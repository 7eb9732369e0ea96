# Signed manifests (docs/tms.md): what the TMS serves, for a parameter set or a software bundle, is a
# JSON manifest naming each file with its size and SHA-256, signed with ECDSA P-256 (the signature, 64
# bytes r || s in hex, in the X-Wasl-Signature header). The terminal checks the signature with the
# public key held in its secure storage ("tms_pub"), then each file's hash as it lands on its storage.
# Files are written, hashed and read back a buffer at a time: never a whole file in RAM.
import binascii
import hashlib
import json
import os

from wasl.host.link import LinkError

_CHUNK = 16384          # one ranged request: bytes of a file fetched per connection
_NAME_OK = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./"
SIG_HEADER = "x-wasl-signature"


class Refused(Exception):
    """The TMS served something the terminal will not take. `key` is the message key (ui), the text
    the detail for the log and the status report."""

    def __init__(self, key, detail=""):
        super().__init__(detail or key)
        self.key = key
        self.detail = detail or key


class StorageError(Exception):
    """Writing what the TMS sent into the terminal's storage failed (full, worn out): the storage's
    fault, not the link's. Not an OSError, so that the HTTP client does not take it for a socket
    error (wasl.tms.session reports it as a failed call, retried later)."""


def sync():
    """Flush the file system to the flash where the port can (os.sync on the ESP32's VFS)."""
    s = getattr(os, "sync", None)
    if s:
        s()


def save(path, obj):
    """A small JSON record replaced atomically: written to path.tmp, flushed, synced, renamed."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f)
        f.flush()
    sync()
    os.rename(tmp, path)
    sync()


def load(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def size(path):
    try:
        return os.stat(path)[6]
    except OSError:
        return -1


def makedirs(path):
    p = ""
    for part in path.split("/"):
        p = p + "/" + part if p or path.startswith("/") else part
        if part:
            try:
                os.mkdir(p)
            except OSError:
                pass


def rmtree(path):
    try:
        entries = list(os.ilistdir(path))
    except (OSError, AttributeError):
        try:
            entries = [(n, 0x4000 if os.stat(path + "/" + n)[0] & 0x4000 else 0x8000) for n in os.listdir(path)]
        except OSError:
            return
    for e in entries:
        p = path + "/" + e[0]
        if e[1] & 0x4000:
            rmtree(p)
        else:
            remove(p)
    try:
        os.rmdir(path)
    except OSError:
        pass


def check_signature(pub, digest, sig_hex, kind):
    """Refused unless sig_hex is the TMS's signature of the SHA-256 `digest`."""
    if not pub:
        raise Refused("tms_no_key", "no TMS verification key in the key storage")
    try:
        sig = binascii.unhexlify(sig_hex or "")
    except ValueError:
        sig = b""
    from wasl.tms.ecdsa import verify as ecdsa_verify

    if not ecdsa_verify(pub, digest, sig):
        raise Refused("tms_bad_signature", "%s manifest: bad signature" % kind)


def check_entry(name, n, digest, kind):
    """One file of a manifest: a plain relative name, a size, a SHA-256 in hex."""
    if not isinstance(name, str) or not isinstance(n, int) or not isinstance(digest, str) or len(digest) != 64 \
            or any(c not in "0123456789abcdef" for c in digest):
        raise Refused("tms_bad_document", "%s manifest: bad file entry" % kind)
    if not name or len(name) > 96 or name[0] in "./" or ".." in name or "//" in name \
            or any(c not in _NAME_OK for c in name) or n < 0:
        raise Refused("tms_bad_document", "%s manifest: bad file name" % kind)


def verify(pub, body, sig_hex, kind, max_total):
    """The manifest (a dict) from a small signed JSON body (a parameter set's), or Refused:
    signature, shape, names, sizes."""
    check_signature(pub, hashlib.sha256(body).digest(), sig_hex, kind)
    try:
        m = json.loads(body)
    except ValueError:
        m = None
    if not isinstance(m, dict) or m.get("kind") != kind or not isinstance(m.get("files"), list) \
            or not m["files"] or len(m["files"]) > 400:
        raise Refused("tms_bad_document", "%s manifest malformed" % kind)
    total = 0
    for f in m["files"]:
        if not (isinstance(f, list) and len(f) == 3):
            raise Refused("tms_bad_document", "%s manifest: bad file entry" % kind)
        check_entry(f[0], f[1], f[2], kind)
        total += f[1]
    if total > max_total:
        raise Refused("tms_too_big", "%s of %d bytes" % (kind, total))
    return m


def file_sha256(path):
    """Hex SHA-256 of a file, read 512 bytes at a time."""
    h = hashlib.sha256()
    buf = bytearray(512)
    mv = memoryview(buf)
    with open(path, "rb") as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(mv[:n])
    return binascii.hexlify(h.digest()).decode()


class _Appender:
    """A response body into a file, hashed on the way when h (a hashlib object) is given."""

    def __init__(self, f, h=None):
        self.f = f
        self.h = h

    def write(self, mv):
        try:
            self.f.write(mv)
        except OSError as e:
            raise StorageError("storage write failed: %r" % (e,))
        if self.h is not None:
            self.h.update(mv)


async def fetch_signed(server, url, path, headers, limit):
    """A signed manifest too big for RAM, streamed into `path` and hashed on the way: (SHA-256
    digest, the signature header)."""
    h = hashlib.sha256()
    with open(path, "wb") as f:
        r = await server.request("GET", url, headers, want=(SIG_HEADER,), sink=_Appender(f, h), limit=limit)
        f.flush()
    return h.digest(), r.headers.get(SIG_HEADER)


async def fetch_part(server, url, path, total, headers):
    """Fetch the next part of a file into `path` (resumed from its present size) with one ranged
    request of up to _CHUNK bytes. True once the file holds its `total` bytes."""
    have = size(path)
    if have < 0:
        have = 0
        open(path, "wb").close()
    if have > total:          # longer than the manifest says: start again
        remove(path)
        open(path, "wb").close()
        have = 0
    if have == total:
        return True
    end = min(total, have + _CHUNK) - 1
    hdrs = list(headers)
    hdrs.append(("Range", "bytes=%d-%d" % (have, end)))
    with open(path, "ab") as f:
        try:
            r = await server.request("GET", url, hdrs, want=("content-range",), sink=_Appender(f),
                                     limit=end - have + 1)
        finally:
            f.flush()
    if r.status != 206 and have:
        # the server ignored the range and sent the file from its start: what was appended is wrong
        remove(path)
        raise LinkError("bad_reply", "range not honoured")
    return size(path) >= total
