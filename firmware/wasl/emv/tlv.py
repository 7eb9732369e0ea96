# BER-TLV as EMV uses it (EMV Book 3 Annex B) and Data Object Lists (Book 3 section 5.4).
#
# Tags are ints: 0x9F26 is the two-byte tag 9F 26, 0x5A the one-byte tag 5A. The parser works over any
# bytes-like object without copying it (pass a memoryview to slice for free) and reports positions;
# the caller copies only the values it keeps. Every malformed input -- truncated tag or length, a
# length running past the data, an indefinite or over-long length form, a tag of more than 3 bytes,
# templates nested too deep -- raises TlvError, never IndexError or MemoryError: the kernel turns it
# into "card error".
try:
    from micropython import const
except ImportError:
    def const(x):
        return x

_MAX_DEPTH = const(4)       # templates within templates (70 > 61 > 73 is the deepest EMV uses)
_MAX_DOL_DATA = const(252)  # a DOL's data must fit a short APDU after "83 L"


class TlvError(ValueError):
    pass


def read_tag(b, i, end):
    """The tag starting at b[i] (i < end): (tag, position after it)."""
    if i >= end:
        raise TlvError("tag truncated at %d" % i)
    t = b[i]
    i += 1
    if t & 0x1F == 0x1F:            # subsequent bytes follow while b8 is set
        n = 0
        while True:
            if i >= end:
                raise TlvError("tag truncated at %d" % i)
            c = b[i]
            i += 1
            t = (t << 8) | c
            n += 1
            if not c & 0x80:
                break
            if n == 2:
                raise TlvError("tag longer than 3 bytes at %d" % i)
    return t, i


def read_len(b, i, end):
    """The length at b[i]: (length, position after it). The value must fit before end."""
    if i >= end:
        raise TlvError("length truncated at %d" % i)
    n = b[i]
    i += 1
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > 3:         # indefinite form, or a length no card data can have
            raise TlvError("length form %02X at %d" % (n, i - 1))
        if k > end - i:
            raise TlvError("length truncated at %d" % i)
        n = 0
        for _ in range(k):
            n = (n << 8) | b[i]
            i += 1
    if n > end - i:
        raise TlvError("length %d at %d runs past the data (%d left)" % (n, i, end - i))
    return n, i


def constructed(tag):
    """True for a template (b6 of the tag's first byte)."""
    while tag > 0xFF:
        tag >>= 8
    return tag & 0x20 != 0


def items(b, start=0, end=None):
    """Yield (tag, value start, value end) for each TLV of b[start:end], one level only.

    '00' and 'FF' bytes between objects are padding (Book 3 Annex B) and skipped."""
    if end is None:
        end = len(b)
    i = start
    while i < end:
        c = b[i]
        if c == 0 or c == 0xFF:
            i += 1
            continue
        t, i = read_tag(b, i, end)
        n, i = read_len(b, i, end)
        yield t, i, i + n
        i += n


def walk(b, sink, start=0, end=None, depth=0):
    """Call sink(tag, value start, value end) for every primitive object in b[start:end], entering
    templates. sink may return True to stop; walk then returns True."""
    if depth > _MAX_DEPTH:
        raise TlvError("templates nested too deep")
    for t, vs, ve in items(b, start, end):
        if constructed(t):
            if walk(b, sink, vs, ve, depth + 1):
                return True
        elif sink(t, vs, ve):
            return True
    return False


def find(b, tag, start=0, end=None, depth=0):
    """(value start, value end) of the first object with this tag, templates entered; or None."""
    if depth > _MAX_DEPTH:
        raise TlvError("templates nested too deep")
    for t, vs, ve in items(b, start, end):
        if t == tag:
            return vs, ve
        if constructed(t):
            r = find(b, tag, vs, ve, depth + 1)
            if r:
                return r
    return None


def check(b, start=0, end=None, depth=0):
    """Raise TlvError unless b[start:end] is well-formed TLV throughout (templates included)."""
    if depth > _MAX_DEPTH:
        raise TlvError("templates nested too deep")
    for t, vs, ve in items(b, start, end):
        if constructed(t):
            check(b, vs, ve, depth + 1)


# ---- encoding ---------------------------------------------------------------------------------------

def tag_size(tag):
    return 1 if tag <= 0xFF else 2 if tag <= 0xFFFF else 3


def put_tag(out, tag):
    n = tag_size(tag)
    while n:
        n -= 1
        out.append((tag >> (8 * n)) & 0xFF)


def put_len(out, n):
    if n < 0x80:
        out.append(n)
    elif n <= 0xFF:
        out.append(0x81)
        out.append(n)
    elif n <= 0xFFFF:
        out.append(0x82)
        out.append(n >> 8)
        out.append(n & 0xFF)
    else:
        raise TlvError("value of %d bytes" % n)


def put(out, tag, value):
    """Append tag, length and value to the bytearray out."""
    put_tag(out, tag)
    put_len(out, len(value))
    out.extend(value)
    return out


def encode(tag, value):
    return bytes(put(bytearray(), tag, value))


# ---- data object lists --------------------------------------------------------------------------------

# Formats that pad and truncate on the left (numeric, 'n'), per Book 3 5.4. Everything else pads with
# 00 on the right, except 'cn' (PAN-like) which pads with FF on the right.
_NUMERIC = const((0x9F02, 0x9F03, 0x9F1A, 0x5F2A, 0x9A, 0x9C, 0x9F21, 0x9F41, 0x5F36, 0x9F35, 0x9F15, 0x5F28,
            0x9F42, 0x5F25, 0x5F24, 0x5F34, 0x9F39, 0x9F01, 0x9F3C, 0x9F3D, 0x9F11, 0x9F44))
_CN = const((0x5A, 0x9F20))


def dol_items(dol):
    """Yield (tag, length) for each entry of a DOL (tags and one-byte or 81 xx lengths)."""
    end = len(dol)
    i = 0
    while i < end:
        t, i = read_tag(dol, i, end)
        if i >= end:
            raise TlvError("DOL entry without length")
        n = dol[i]
        i += 1
        if n & 0x80:
            if n != 0x81 or i >= end:
                raise TlvError("DOL length form %02X" % n)
            n = dol[i]
            i += 1
        yield t, n


def dol_size(dol):
    total = 0
    for _, n in dol_items(dol):
        total += n
    return total


def build_dol(dol, get):
    """The data a card asks for in a DOL (PDOL, CDOL1, CDOL2...), as one bytearray.

    get(tag) returns the value (bytes-like) or None. Missing values and templates are zeros; a value
    of another length is padded or truncated as Book 3 5.4 says for its format."""
    total = dol_size(dol)
    if total > _MAX_DOL_DATA:
        raise TlvError("DOL asks for %d bytes" % total)
    out = bytearray(total)          # zeros: what a missing object gets
    pos = 0
    for t, n in dol_items(dol):
        v = None if constructed(t) else get(t)
        if v is not None and n:
            k = len(v)
            if t in _NUMERIC:       # right-justified: leading zeros, or keep the rightmost bytes
                if k >= n:
                    out[pos:pos + n] = v[k - n:]
                else:
                    out[pos + n - k:pos + n] = v
            else:
                if k >= n:
                    out[pos:pos + n] = v[:n]
                else:
                    out[pos:pos + k] = v
                    if t in _CN:
                        for j in range(pos + k, pos + n):
                            out[j] = 0xFF
        pos += n
    return out
