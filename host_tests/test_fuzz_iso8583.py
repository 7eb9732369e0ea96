"""Fuzzing the terminal's ISO 8583 reply path (issue 8, item 3; docs/fuzzing.md).

Targets: wasl.host.iso8583.Codec.decode with the firmware's spec (wasl.host.spec.SPEC), then what the
terminal does with a decoded reply: wasl.txn.online.decode (the reply MAC) and
wasl.host.messages.validate_reply. Inputs: random bytes, random valid messages (our encoder and
pyiso8583 with the spec of docs/host-interface.md), and those messages damaged: bytes flipped, cut
short, grown, bitmap bits set and cleared, length prefixes rewritten, secondary bitmaps added.

Properties:
  * decode returns (mti, fields) or raises CodecError -- nothing else, whatever the bytes;
  * what it returns is well formed: a 4-digit MTI, only fields of the spec, each of its format and
    length, values no longer than the input in all, and encoding it again gives the input back (with
    an empty secondary bitmap dropped): the decoder accepts exactly one spelling of each message;
  * whatever our decoder accepts, pyiso8583 with the document's spec decodes to the same values;
  * valid field sets round-trip, and our encoder and pyiso8583's produce the same bytes;
  * a reply MACed under the transaction's key passes online.decode; the same reply with any byte
    changed, removed or added does not (CodecError);
  * validate_reply raises only ReplyError, and passes only replies that echo the request's STAN and
    terminal ID, carry a response code and do not contradict fields 3, 4 and 49.
"""
import os
import sys
import tracemalloc

import iso8583
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _p in (ROOT, os.path.join(ROOT, "host_tests"), os.path.join(ROOT, "firmware"),
           os.path.join(ROOT, "host_tests", "fw"), os.path.join(ROOT, "host_tests", "cpython_shims")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from fuzz_settings import fuzz, watchdog  # noqa: E402
from fwtest import FakeParams  # noqa: E402
from tools import hostspec  # noqa: E402
from wasl.crypto import cmac  # noqa: E402
from wasl.crypto.txnkeys import TxnKeys  # noqa: E402
from wasl.host import messages  # noqa: E402
from wasl.host.iso8583 import FIXED, Codec, CodecError  # noqa: E402
from wasl.host.messages import ReplyError, validate_reply  # noqa: E402
from wasl.host.spec import SPEC, spec_dict  # noqa: E402
from wasl.txn import online  # noqa: E402

HS = hostspec.load()
FW_SPEC = spec_dict(SPEC)
# Fields both tables have (the firmware's may run ahead of the document while a field is being added:
# test_codec_pyiso8583 holds them equal; here the comparisons with pyiso8583 use what they share).
FIELDS = sorted(f for f in FW_SPEC if str(f) in HS.spec)
FW_ONLY = sorted(set(FW_SPEC) - set(FIELDS))
CODEC = Codec(SPEC)          # one codec, like the terminal's (decode keeps no state between calls)

DIGITS = "0123456789"
PRINTABLE = "".join(chr(c) for c in range(0x20, 0x7F))
ALPHABET = {"n": DIGITS, "z": DIGITS + "=", "an": PRINTABLE, "ans": PRINTABLE}
MAC_VER = bytes.fromhex("DBB463945B286C07CD3AD82EE96FD9C9")   # X9.24-3 counter 1 MAC verification key


# ---- helpers --------------------------------------------------------------------------------------------

def decode(raw):
    with watchdog(5):
        return CODEC.decode(raw)


def encode(mti, fields):
    return bytes(Codec(SPEC).encode(mti, fields))


def canonical(raw):
    """The bytes our encoder makes of what decode(raw) returned: without an empty secondary bitmap."""
    if raw[4] & 0x80:
        return raw[:4] + bytes([raw[4] & 0x7F]) + raw[5:12] + raw[20:]
    return raw


def check_well_formed(raw, mti, fields):
    assert isinstance(mti, str) and len(mti) == 4 and all(c in DIGITS for c in mti), mti
    assert isinstance(fields, dict)
    total = 0
    for f, v in fields.items():
        assert f in FW_SPEC, f
        fmt, ltype, maxlen = FW_SPEC[f]
        if fmt == "b":
            assert type(v) is bytes, (f, type(v))
        else:
            assert type(v) is str, (f, type(v))
            assert all(c in ALPHABET[fmt] for c in v), (f, v)
        if ltype == FIXED:
            assert len(v) == maxlen, (f, v)
        else:
            assert len(v) <= maxlen, (f, v)
        total += len(v)
    assert total <= len(raw)
    assert encode(mti, fields) == canonical(bytes(raw))


def doc_agrees(raw, mti, fields):
    """pyiso8583 with the document's spec decodes the same message to the same values."""
    if any(f in FW_ONLY for f in fields):
        return
    doc, _ = iso8583.decode(bytearray(raw), HS.spec)
    assert doc["t"] == mti
    got = {int(k): v for k, v in doc.items() if k not in ("t", "p", "h", "1")}
    assert got == {f: (v.hex().upper() if isinstance(v, bytes) else v) for f, v in fields.items()}


def check_decode(raw):
    """The property every input must have; returns the decoded message or None."""
    try:
        mti, fields = decode(raw)
    except CodecError as e:
        assert str(e)
        return None
    check_well_formed(raw, mti, fields)
    doc_agrees(raw, mti, fields)
    return mti, fields


# ---- strategies -----------------------------------------------------------------------------------------

def value(field, exact=True):
    fmt, ltype, maxlen = FW_SPEC[field]
    if fmt == "b":
        return st.binary(min_size=maxlen if ltype == FIXED else 0, max_size=maxlen)
    lo = maxlen if (exact and ltype == FIXED) else (1 if ltype == FIXED else 0)
    return st.text(alphabet=ALPHABET[fmt], min_size=lo, max_size=maxlen)


MTI = st.text(alphabet=DIGITS, min_size=4, max_size=4)


@st.composite
def field_sets(draw, exact=True, table=FIELDS):
    present = draw(st.lists(st.sampled_from(table), unique=True, max_size=len(table)))
    return {f: draw(value(f, exact)) for f in sorted(present)}


def padded(field, v):
    fmt, ltype, maxlen = FW_SPEC[field]
    if ltype != FIXED or fmt == "b":
        return v
    return v.rjust(maxlen, "0") if fmt == "n" else v.ljust(maxlen, " ")


def layout(raw, fields):
    """[(field, prefix offset, prefix size, data offset, data size)] of a message our encoder made."""
    pos = 4 + (16 if raw[4] & 0x80 else 8)
    out = []
    for f in sorted(fields):
        fmt, ltype, maxlen = FW_SPEC[f]
        if ltype == FIXED:
            n = maxlen
            out.append((f, pos, 0, pos, n))
        else:
            n = int(raw[pos:pos + ltype])
            out.append((f, pos, ltype, pos + ltype, n))
            pos += ltype
        pos += n
    return out


@st.composite
def valid_messages(draw):
    """(raw, mti, fields): a valid message, from our encoder or from pyiso8583's."""
    mti = draw(MTI)
    ours = draw(st.booleans())
    fields = draw(field_sets(table=sorted(FW_SPEC) if ours else FIELDS))
    if ours:
        raw = encode(mti, fields)
    else:
        doc = {"t": mti}
        doc.update({str(f): (v.hex().upper() if isinstance(v, bytes) else v) for f, v in fields.items()})
        raw = bytes(iso8583.encode(doc, HS.spec)[0])
    return raw, mti, fields


LEN_JUNK = st.text(alphabet=DIGITS + " +-x\x00\xff", min_size=1, max_size=3)


@st.composite
def mutated(draw):
    """A valid message damaged by one to four mutations."""
    raw, mti, fields = draw(valid_messages())
    b = bytearray(raw)
    spots = layout(raw, fields)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["bit", "prefix", "flip", "truncate", "insert", "delete", "append",
                                   "secondary", "mti", "bit", "prefix"]))
        if op == "flip" and b:
            i = draw(st.integers(min(4, len(b) - 1), len(b) - 1))    # the MTI has its own operation
            b[i] ^= draw(st.integers(1, 255))
        elif op == "truncate":
            del b[draw(st.integers(min(12, len(b)), len(b))):]
        elif op == "insert":
            i = draw(st.integers(0, len(b)))
            b[i:i] = draw(st.binary(min_size=1, max_size=20))
        elif op == "delete" and b:
            i = draw(st.integers(0, len(b) - 1))
            del b[i:i + draw(st.integers(1, 20))]
        elif op == "bit" and len(b) >= 12:
            bit = draw(st.integers(1, 64))
            b[4 + (bit - 1) // 8] ^= 0x80 >> ((bit - 1) % 8)
        elif op == "prefix" and spots:
            f, at, size, _, _ = draw(st.sampled_from(spots))
            if size and at + size <= len(b):
                junk = draw(st.one_of(LEN_JUNK, st.integers(0, 10 ** size - 1).map(
                    lambda n, s=size: "%0*d" % (s, n))))
                b[at:at + size] = junk.encode("latin-1")[:size].ljust(size, b"0")
        elif op == "append":
            b += draw(st.binary(min_size=1, max_size=40))
        elif op == "secondary" and len(b) >= 12:
            b[4] |= 0x80
            b[12:12] = draw(st.one_of(st.just(bytes(8)), st.binary(min_size=8, max_size=8)))
        elif op == "mti" and len(b) >= 4:
            b[draw(st.integers(0, 3))] = draw(st.sampled_from(b"0123456789/:A\x00\xb0"))
    return bytes(b)


@st.composite
def bad_bitmaps(draw):
    """A valid MTI, any primary (and maybe secondary) bitmap, then bytes that look like field data."""
    bm = draw(st.binary(min_size=8, max_size=8))
    if bm[0] & 0x80:
        bm += draw(st.binary(min_size=8, max_size=8))
    tail = draw(st.one_of(st.binary(max_size=300), st.text(alphabet=DIGITS + "=", max_size=300).map(str.encode)))
    return draw(MTI).encode() + bm + tail


# ---- decode ---------------------------------------------------------------------------------------------

@fuzz()
@given(st.binary(max_size=700))
@example(b"")
@example(b"0210")
@example(b"0210" + bytes(8))
@example(b"0210\x80" + bytes(7))                     # secondary bitmap announced, missing
@example(b"0210\x80" + bytes(15))                    # secondary bitmap, no field: a valid empty message
@example(b"0210\xff" + bytes(15))
@example(b"0210" + b"\x00\x00\x00\x00\x00\x00\x00\x01")   # field 64 without its 8 bytes
@example(b"0210" + b"\x40" + bytes(7) + b"99" + b"1" * 99)   # field 2 longer than its maximum
@example(b"0210" + b"\x40" + bytes(7) + b"1x")       # a length prefix that is not a number
@example(b"021\xff" + bytes(8))
def test_decode_random_bytes(raw):
    check_decode(raw)


@fuzz()
@given(bad_bitmaps())
def test_decode_random_bitmaps(raw):
    check_decode(raw)


@fuzz()
@given(mutated())
def test_decode_mutated_valid_messages(raw):
    check_decode(raw)


@fuzz()
@given(valid_messages(), st.data())
def test_decode_truncated_messages(msg, data):
    raw, mti, fields = msg
    cut = data.draw(st.integers(0, len(raw) - 1))
    # the bitmap says which fields follow: no proper prefix of a message is a message
    with pytest.raises(CodecError):
        decode(raw[:cut])


@fuzz()
@given(valid_messages(), st.binary(min_size=1, max_size=30))
def test_decode_trailing_bytes_refused(msg, tail):
    raw, mti, fields = msg
    # the bitmap and the prefixes fix where a message ends: anything after it is refused
    with pytest.raises(CodecError):
        decode(raw + tail)


@fuzz()
@given(field_sets(exact=False), MTI)
def test_round_trip_equals_pyiso8583(fields, mti):
    raw = encode(mti, fields)
    want = {f: padded(f, v) for f, v in fields.items()}
    assert decode(raw) == (mti, want)
    check_well_formed(raw, mti, want)
    doc_agrees(raw, mti, want)
    # and pyiso8583 encodes the same field set to the same bytes
    doc = {"t": mti}
    doc.update({str(f): (v.hex().upper() if isinstance(v, bytes) else v) for f, v in want.items()})
    assert bytes(iso8583.encode(doc, HS.spec)[0]) == raw


@fuzz()
@given(valid_messages())
def test_pyiso8583_messages_decode(msg):
    raw, mti, fields = msg
    assert decode(raw) == (mti, fields)
    # with an (empty) secondary bitmap, as a host may send it: the same message
    sec = raw[:4] + bytes([raw[4] | 0x80]) + raw[5:12] + bytes(8) + raw[12:]
    assert decode(sec) == (mti, fields)


def test_decode_allocation_is_bounded_by_the_input():
    """Length prefixes say at most 999: whatever the bytes, decode allocates about what it was given
    (values are copies of the input), never what a prefix or a bitmap claims."""
    import random

    rnd = random.Random(8583)
    worst = 0
    tracemalloc.start()
    try:
        for n in (12, 100, 700, 5000, 100000):
            for _ in range(20):
                raw = b"0210" + bytes(rnd.getrandbits(8) for _ in range(n - 4))
                tracemalloc.reset_peak()
                base = tracemalloc.get_traced_memory()[0]
                try:
                    decode(raw)
                except CodecError:
                    pass
                worst = max(worst, tracemalloc.get_traced_memory()[1] - base - n)
    finally:
        tracemalloc.stop()
    assert worst < 16384, worst


# ---- encode (the request side: only CodecError for what the builders could hand it) ----------------------

ANY_VALUE = st.one_of(st.text(max_size=40), st.binary(max_size=40), st.integers(), st.none())


@fuzz(0.5)
@given(st.dictionaries(st.integers(0, 140), ANY_VALUE, max_size=8), st.text(max_size=6))
def test_encode_only_codec_errors(fields, mti):
    try:
        raw = bytes(Codec(SPEC).encode(mti, fields))
    except CodecError:
        return
    got_mti, got = decode(raw)
    assert got_mti == mti and set(got) == set(fields)


# ---- the reply MAC (wasl.txn.online.decode) ----------------------------------------------------------------

class _Term:
    def __init__(self):
        self.codec = Codec(SPEC)


def _txk():
    k = TxnKeys()
    k._keys[32:48] = MAC_VER      # the MAC verification key of this transaction
    k._live = True
    return k


def maced(mti, fields):
    f = dict(fields)
    f[64] = bytes(8)
    raw = bytearray(encode(mti, f))
    n = len(raw)
    raw[n - 8:] = cmac.aes_cmac(MAC_VER, bytes(raw[:n - 8]))[:8]
    return bytes(raw)


REPLY_FIELDS = [f for f in FIELDS if f != 64]


@st.composite
def maced_replies(draw):
    fields = {f: draw(value(f)) for f in draw(st.lists(st.sampled_from(REPLY_FIELDS), unique=True, max_size=10))}
    mti = draw(MTI)
    return maced(mti, fields), mti, fields


@fuzz(0.5)
@given(maced_replies())
def test_online_decode_accepts_a_good_mac(reply):
    raw, mti, fields = reply
    got_mti, got = online.decode(_Term(), raw, _txk())
    assert got_mti == mti and {f: v for f, v in got.items() if f != 64} == fields


@fuzz(0.5)
@given(maced_replies(), st.data())
def test_online_decode_refuses_any_change(reply, data):
    raw, mti, fields = reply
    b = bytearray(raw)
    op = data.draw(st.sampled_from(["flip", "cut", "grow", "drop"]))
    if op == "flip":
        i = data.draw(st.integers(0, len(b) - 1))
        b[i] ^= data.draw(st.integers(1, 255))
    elif op == "cut":
        del b[data.draw(st.integers(0, len(b) - 1)):]
    elif op == "grow":
        i = data.draw(st.integers(0, len(b)))
        b[i:i] = data.draw(st.binary(min_size=1, max_size=9))
    else:
        i = data.draw(st.integers(0, len(b) - 1))
        del b[i:i + data.draw(st.integers(1, 9))]
    assume(bytes(b) != raw)
    with watchdog(5), pytest.raises(CodecError):
        online.decode(_Term(), bytes(b), _txk())


@fuzz(0.5)
@given(st.one_of(st.binary(max_size=200), mutated()))
def test_online_decode_random_replies(raw):
    with watchdog(5):
        try:
            online.decode(_Term(), raw, _txk())
        except CodecError:
            return
    raise AssertionError("a reply without a valid MAC was accepted")


# ---- reply validation (wasl.host.messages.validate_reply) ----------------------------------------------

UTC = (2026, 7, 5, 9, 8, 7, 6, 186)
SALE = {"e": "new", "s": 42, "i": 7, "b": 1, "ty": "sale", "a": 150000, "p": "476173******0010", "m": "swipe",
        "t": "20260705100807"}
REQUESTS = {
    "0200": messages.financial(FakeParams(), SALE, UTC),
    "0400": messages.reversal(FakeParams(), SALE, UTC),
    "0100": {3: "380000", 7: "0705090807", 11: "000045", 24: "001", 41: "WASL0001", 49: "012"},
    "0800": {3: "990000", 7: "0705090807", 11: "000048", 24: "001", 41: "WASL0001"},
}


@st.composite
def replies_to(draw, req_mti):
    """Decoded replies: mostly near the right answer (echoed fields kept or changed), sometimes anything."""
    req = REQUESTS[req_mti]
    mti = draw(st.one_of(st.just("%04d" % (int(req_mti) + 10)), MTI))
    rep = {}
    for f in (3, 4, 11, 39, 41, 49):
        how = draw(st.integers(0, 3))
        if how == 0 and f in req:
            rep[f] = req[f]
        elif how == 1:
            rep[f] = draw(value(f))
        elif how == 2 and f == 39:
            rep[f] = draw(st.sampled_from(["00", "51", "55", "91", "  "]))
    rep.update(draw(field_sets()) if draw(st.integers(0, 4)) == 0 else {})
    return mti, rep


@pytest.mark.parametrize("req_mti", sorted(REQUESTS))
@fuzz(0.5)
@given(data=st.data())
def test_validate_reply_only_reply_error(req_mti, data):
    req = REQUESTS[req_mti]
    mti, rep = data.draw(replies_to(req_mti))
    try:
        assert validate_reply(req_mti, req, mti, rep) is None
    except ReplyError as e:
        assert str(e)
        return
    assert mti == "%04d" % (int(req_mti) + 10)
    assert rep[11] == req[11] and rep[41] == req[41] and 39 in rep
    for f in (3, 49) + (() if req_mti == "0100" else (4,)):
        assert f not in rep or f not in req or rep[f] == req[f]


@fuzz(0.5)
@given(st.one_of(mutated(), st.binary(max_size=300)))
def test_decoded_garbage_through_validation(raw):
    """Whatever decodes goes through validate_reply without anything but ReplyError."""
    try:
        mti, rep = decode(raw)
    except CodecError:
        return
    for req_mti, req in REQUESTS.items():
        try:
            validate_reply(req_mti, req, mti, rep)
        except ReplyError:
            pass


# ---- what the flows read from a validated reply -----------------------------------------------------------

# Per request MTI, the fields the terminal's flows index (rep[f], not rep.get(f)) once validate_reply passed
# a reply with response code 00: wasl/txn/sale.py, chip.py, merchant.py, advice.py, online.py.
READ_AFTER_APPROVAL = {"0200": (39,), "0400": (39,), "0800": (39,), "0100": (39, 4)}


def _approval_holds_what_the_flows_read(req_mti, mti, rep):
    req = REQUESTS[req_mti]
    try:
        validate_reply(req_mti, req, mti, rep)
    except ReplyError:
        return
    if rep[39] == "00":
        missing = [f for f in READ_AFTER_APPROVAL[req_mti] if f not in rep]
        assert not missing, "validated %s approval lacks %s" % (mti, missing)


@pytest.mark.parametrize("req_mti", ["0200", "0400", "0800"])
@fuzz(0.5)
@given(data=st.data())
def test_validated_approval_holds_what_the_flows_read(req_mti, data):
    _approval_holds_what_the_flows_read(req_mti, *data.draw(replies_to(req_mti)))


# Found by this test: a 0110 with 39 = 00 but no field 4 passed validation (docs/host-interface.md: 4 is
# M in a 0110), then the bill payment flow's int(rep[4]) raised KeyError and stopped the application.
@fuzz(0.5)
@given(st.one_of(replies_to("0100"), st.none()))
@example(None)
def test_validated_0110_approval_holds_the_amount_due(reply):
    if reply is None:       # the host's 0110 approval without the amount due
        reply = ("0110", {11: REQUESTS["0100"][11], 41: REQUESTS["0100"][41], 39: "00", 37: "612345000001"})
    _approval_holds_what_the_flows_read("0100", *reply)
