# ISO 8583:1987 codec driven by a spec table (see wasl/host/spec.py and docs/host-interface.md).
#
# A spec gives each field number a format, a length type and a maximum length:
#   format      "n" numeric, "an"/"ans" text, "z" track 2, "b" binary
#   length type FIXED, LLVAR or LLLVAR (ASCII length prefix of 2 or 3 digits)
# It is written as text, one field per line ("35 z LLVAR 37 track 2 data", see wasl/host/spec.py), or
# as a dict {35: ("z", LLVAR, 37)}; the codec keeps it as a 3-byte-per-field table built once.
# Text values are str, binary values are bytes. The MTI is 4 ASCII digits, the bitmap is binary
# (secondary bitmap when any field above 64 is present).
try:
    from micropython import const
except ImportError:
    def const(x):
        return x

FIXED = const(0)
LLVAR = const(2)
LLLVAR = const(3)
MAX_MESSAGE = const(1024)   # the spec's largest message: 695 bytes (test_iso8583)
_FORMATS = ("n", "an", "ans", "z", "b")


class CodecError(ValueError):
    pass


def _check_text(field, fmt, s):
    if fmt == "n":
        for c in s:
            if c < "0" or c > "9":
                raise CodecError("Field %d is numeric, got %r" % (field, c))
    elif fmt == "z":
        for c in s:
            if (c < "0" or c > "9") and c != "=":
                raise CodecError("Field %d is track 2 (digits and '='), got %r" % (field, c))
    else:
        for c in s:
            if c < " " or c > "~":
                raise CodecError("Field %d holds a non-printable character" % field)


class Codec:
    """Encodes into one preallocated buffer; decode reads from any bytes-like object."""

    def __init__(self, spec, size=MAX_MESSAGE):
        self.buf = self._buf = bytearray(size)   # also lends itself to the link for the reply
        self._bitmap = bytearray(16)
        # field f: [format index + 1 (0: not in the spec) | length type << 4, max >> 8, max & 255]
        t = self._table = bytearray(3 * 129)
        from wasl.host.spec import parse_spec   # the parse's garbage comes after the long-lived blocks

        for f, fmt, ltype, maxlen in parse_spec(spec):
            if not 2 <= f <= 128 or fmt not in _FORMATS or not 0 < maxlen < 65536:
                raise CodecError("bad spec entry for field %d" % f)
            t[3 * f] = _FORMATS.index(fmt) + 1 | ltype << 4
            t[3 * f + 1] = maxlen >> 8
            t[3 * f + 2] = maxlen & 255

    def field(self, f):
        """(format, length type, max length) of field f, or None when the spec lacks it."""
        t = self._table
        i = 3 * f
        if not 2 <= f <= 128 or not t[i]:
            return None
        return _FORMATS[(t[i] & 15) - 1], t[i] >> 4, t[i + 1] << 8 | t[i + 2]

    def encode(self, mti, fields):
        """Return a memoryview on the encoded message (valid until the next encode)."""
        buf = self._buf
        bm = self._bitmap
        t = self._table
        for i in range(16):
            bm[i] = 0
        top = 0
        for f in fields:
            if not 2 <= f <= 128 or not t[3 * f]:
                raise CodecError("Field %d is not in the spec" % f)
            bm[(f - 1) >> 3] |= 0x80 >> ((f - 1) & 7)
            if f > top:
                top = f
        nbm = 8
        if top > 64:
            bm[0] |= 0x80
            nbm = 16
        if len(mti) != 4:
            raise CodecError("MTI must be 4 digits")
        _check_text(0, "n", mti)
        buf[0:4] = mti.encode()
        buf[4:4 + nbm] = bm[:nbm]
        pos = 4 + nbm
        for f in sorted(fields):
            i = 3 * f
            fmt = _FORMATS[(t[i] & 15) - 1]
            ltype = t[i] >> 4
            maxlen = t[i + 1] << 8 | t[i + 2]
            v = fields[f]
            if fmt == "b":
                data = v
                if not isinstance(data, (bytes, bytearray, memoryview)):
                    raise CodecError("Field %d is binary, got %s" % (f, type(v).__name__))
            else:
                if not isinstance(v, str):
                    raise CodecError("Field %d is text, got %s" % (f, type(v).__name__))
                _check_text(f, fmt, v)
                if ltype == FIXED and len(v) < maxlen:
                    v = ("0" * (maxlen - len(v)) + v) if fmt == "n" else v + " " * (maxlen - len(v))
                data = v.encode()
            n = len(data)
            if n > maxlen:
                raise CodecError("Field %d data is %d bytes, larger than maximum %d" % (f, n, maxlen))
            if ltype == FIXED:
                if n != maxlen:
                    raise CodecError("Field %d data is %d bytes, fixed length %d" % (f, n, maxlen))
            else:
                pre = ("%03d" % n) if ltype == LLLVAR else ("%02d" % n)
                if pos + ltype > len(buf):
                    raise CodecError("Message larger than %d bytes" % len(buf))
                buf[pos:pos + ltype] = pre.encode()
                pos += ltype
            if pos + n > len(buf):
                raise CodecError("Message larger than %d bytes" % len(buf))
            buf[pos:pos + n] = data
            pos += n
        return memoryview(buf)[:pos]

    def decode(self, raw):
        """Return (mti, {field: value}); raise CodecError naming the field and byte offset."""
        end = len(raw)
        t = self._table
        if end < 12:
            raise CodecError("Message is %d bytes, shorter than MTI and bitmap" % end)
        for c in raw[0:4]:
            if c < 0x30 or c > 0x39:
                raise CodecError("MTI is not 4 digits at offset 0")
        mti = bytes(raw[0:4]).decode()
        nbm = 16 if raw[4] & 0x80 else 8
        if end < 4 + nbm:
            raise CodecError("Secondary bitmap is truncated at offset 12")
        bm = raw[4:4 + nbm]
        pos = 4 + nbm
        fields = {}
        for f in range(2, nbm * 8 + 1):
            if not bm[(f - 1) >> 3] & (0x80 >> ((f - 1) & 7)):
                continue
            i = 3 * f
            if not t[i]:
                raise CodecError("Field %d is present but not in the spec (offset %d)" % (f, pos))
            fmt = _FORMATS[(t[i] & 15) - 1]
            ltype = t[i] >> 4
            maxlen = t[i + 1] << 8 | t[i + 2]
            if ltype == FIXED:
                n = maxlen
            else:
                if pos + ltype > end:
                    raise CodecError("Field %d length is truncated at offset %d" % (f, pos))
                pre = bytes(raw[pos:pos + ltype])
                for c in pre:
                    if c < 0x30 or c > 0x39:
                        raise CodecError("Field %d length %r is not numeric at offset %d" % (f, pre, pos))
                n = int(pre)
                if n > maxlen:
                    raise CodecError("Field %d data is %d bytes, larger than maximum %d at offset %d"
                                     % (f, n, maxlen, pos))
                pos += ltype
            if pos + n > end:
                raise CodecError("Field %d data is truncated at offset %d" % (f, pos))
            data = bytes(raw[pos:pos + n])
            if fmt == "b":
                fields[f] = data
            else:
                try:
                    v = data.decode()
                except UnicodeError:
                    raise CodecError("Field %d is not ASCII at offset %d" % (f, pos))
                _check_text(f, fmt, v)
                fields[f] = v
            pos += n
        if pos != end:
            raise CodecError("%d trailing bytes at offset %d" % (end - pos, pos))
        return mti, fields
