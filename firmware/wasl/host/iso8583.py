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
    """The exact check, character by character: raises CodecError naming the first bad one."""
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


def _text_ok(kind, data):
    """Fast check of encoded text (bytes) of kind 2 an, 3 ans or 4 z (the table's format index + 1; "n" is
    data.isdigit()): one strip() in C, which leaves nothing when every byte is allowed. False sends the
    caller to _check_text for the error."""
    if kind == 4:
        return not data.strip(b"0123456789=")
    return not data.strip(b" !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`"
                          b"abcdefghijklmnopqrstuvwxyz{|}~")   # printable ASCII, 0x20-0x7E


class Codec:
    """Encodes into one preallocated buffer; decode reads from any bytes-like object."""

    def __init__(self, spec, size=MAX_MESSAGE):
        self.buf = self._buf = bytearray(size)   # also lends itself to the link for the reply
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
        t = self._table
        if len(mti) != 4:
            raise CodecError("MTI must be 4 digits")
        m = mti.encode()
        if not m.isdigit():
            _check_text(0, "n", mti)
        buf[0:4] = m
        buf[4:12] = b"\x00\x00\x00\x00\x00\x00\x00\x00"
        nbm = 8
        if fields:
            top = max(fields)
            if top > 128:
                raise CodecError("Field %d is not in the spec" % top)
            top = min(fields)
            if top < 2:
                raise CodecError("Field %d is not in the spec" % top)
            if max(fields) > 64:
                buf[12:20] = b"\x00\x00\x00\x00\x00\x00\x00\x00"
                buf[4] = 0x80
                nbm = 16
        size = len(buf)
        pos = 4 + nbm
        # in field order, each field's bit set in the bitmap on the way (no sorted copy of the keys: a
        # block of its own when the heap is at its fullest)
        for f in range(2, 129 if nbm == 16 else 65):
            if f not in fields:
                continue
            i = 3 * f
            ti = t[i]
            if not ti:
                raise CodecError("Field %d is not in the spec" % f)
            f -= 1
            buf[4 + (f >> 3)] |= 0x80 >> (f & 7)
            f += 1
            maxlen = t[i + 1] << 8 | t[i + 2]
            v = fields[f]
            if ti & 15 == 5:        # b
                data = v
                if not isinstance(data, (bytes, bytearray, memoryview)):
                    raise CodecError("Field %d is binary, got %s" % (f, type(v).__name__))
            else:
                if not isinstance(v, str):
                    raise CodecError("Field %d is text, got %s" % (f, type(v).__name__))
                if ti < 16 and len(v) < maxlen:      # FIXED, short
                    v = ("0" * (maxlen - len(v)) + v) if ti == 1 else v + " " * (maxlen - len(v))
                data = v.encode()
                if not (data.isdigit() if ti & 15 == 1 else _text_ok(ti & 15, data)) and data:
                    _check_text(f, _FORMATS[(ti & 15) - 1], fields[f])
            n = len(data)
            if ti < 16:             # FIXED
                if n != maxlen:
                    if n > maxlen:
                        raise CodecError("Field %d data is %d bytes, larger than maximum %d" % (f, n, maxlen))
                    raise CodecError("Field %d data is %d bytes, fixed length %d" % (f, n, maxlen))
            else:
                if n > maxlen:
                    raise CodecError("Field %d data is %d bytes, larger than maximum %d" % (f, n, maxlen))
                if pos + (ti >> 4) > size:
                    raise CodecError("Message larger than %d bytes" % size)
                if ti >> 4 == LLLVAR:
                    buf[pos] = 0x30 + n // 100
                    pos += 1
                buf[pos] = 0x30 + n // 10 % 10
                buf[pos + 1] = 0x30 + n % 10
                pos += 2
            if pos + n > size:
                raise CodecError("Message larger than %d bytes" % size)
            buf[pos:pos + n] = data
            pos += n
        return memoryview(buf)[:pos]

    def decode(self, raw):
        """Return (mti, {field: value}); raise CodecError naming the field and byte offset."""
        end = len(raw)
        t = self._table
        if end < 12:
            raise CodecError("Message is %d bytes, shorter than MTI and bitmap" % end)
        mti = bytes(raw[0:4])
        if not mti.isdigit():
            raise CodecError("MTI is not 4 digits at offset 0")
        mti = mti.decode()
        nbm = 16 if raw[4] & 0x80 else 8
        if end < 4 + nbm:
            raise CodecError("Secondary bitmap is truncated at offset 12")
        copy = not isinstance(raw, bytes)  # a slice of bytes is bytes already
        pos = 4 + nbm
        fields = {}
        for k in range(nbm):              # the bitmap a byte at a time: absent fields cost nothing
            bits = raw[4 + k]
            if k == 0:
                bits &= 0x7F              # field 1: the secondary bitmap's flag
            f = 8 * k + 1
            mask = 0x80
            while bits:
                while not bits & mask:
                    mask >>= 1
                    f += 1
                bits ^= mask
                i = 3 * f
                ti = t[i]
                if not ti:
                    raise CodecError("Field %d is present but not in the spec (offset %d)" % (f, pos))
                if ti < 16:               # FIXED
                    n = t[i + 1] << 8 | t[i + 2]
                else:
                    ltype = ti >> 4
                    if pos + ltype > end:
                        raise CodecError("Field %d length is truncated at offset %d" % (f, pos))
                    pre = bytes(raw[pos:pos + ltype])
                    if not pre.isdigit():
                        raise CodecError("Field %d length %r is not numeric at offset %d" % (f, pre, pos))
                    n = int(pre)
                    maxlen = t[i + 1] << 8 | t[i + 2]
                    if n > maxlen:
                        raise CodecError("Field %d data is %d bytes, larger than maximum %d at offset %d"
                                         % (f, n, maxlen, pos))
                    pos += ltype
                if pos + n > end:
                    raise CodecError("Field %d data is truncated at offset %d" % (f, pos))
                data = raw[pos:pos + n]
                if copy:
                    data = bytes(data)
                kind = ti & 15
                if kind == 5:     # b
                    fields[f] = data
                elif (data.isdigit() if kind == 1 else _text_ok(kind, data)) or not data:
                    fields[f] = data.decode()
                else:
                    try:
                        v = data.decode()
                    except UnicodeError:
                        raise CodecError("Field %d is not ASCII at offset %d" % (f, pos))
                    _check_text(f, _FORMATS[kind - 1], v)
                    fields[f] = v
                pos += n
        if pos != end:
            raise CodecError("%d trailing bytes at offset %d" % (end - pos, pos))
        return mti, fields
