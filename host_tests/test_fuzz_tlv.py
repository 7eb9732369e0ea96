"""Fuzzing what the terminal reads from cards: BER-TLV (wasl.emv.tlv), DOLs, and the EMV kernel's pure
steps that parse card (and issuer) data (issue 8, item 3; docs/fuzzing.md). The whole kernel fed damaged
card responses is fuzzed in test_emv_kernel.py; here each parser gets the bytes directly.

Properties:
  * tlv.items / walk / find / check raise only TlvError, whatever the bytes, and what they yield lies
    inside the buffer, in order; check() passing means walk() and find() cannot fail on the same bytes;
  * valid records (nested templates, long length forms, padding 00 / FF between objects) parse back to
    the objects they were built from; damaged ones (lengths made long, indefinite 80, deep nesting,
    truncation, 4-byte tags) give TlvError or a parse that is still inside the buffer;
  * DOLs: dol_items raises only TlvError; build_dol returns exactly dol_size bytes (at most 252) laid
    out as EMV Book 3 5.4 says, whatever the DOL and whatever lengths the data have;
  * the kernel's parsers of card data (Kernel.keep, dates, track 2 equivalent expiry, GENERATE AC
    response, CVM list, issuer data of field 55, the card data handed to the payment flow) raise only
    CardError or TlvError -- the two the kernel turns into "card error" -- and keep their bounds
    (at most 64 objects kept, terminal data never overwritten).
"""
import asyncio
import os
import sys

from hypothesis import assume, example, given
from hypothesis import strategies as st

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _p in (ROOT, os.path.join(ROOT, "host_tests"), os.path.join(ROOT, "firmware"),
           os.path.join(ROOT, "host_tests", "fw")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from fuzz_settings import fuzz, watchdog  # noqa: E402
from tools.virtual.emvrecord import TEST_PARAMS  # noqa: E402
from wasl.card import CardError as AnyCardError  # noqa: E402
from wasl.emv import tlv  # noqa: E402
from wasl.emv.apdu import Cancelled, CardError  # noqa: E402
from wasl.emv.appdata import _track2_expiry  # noqa: E402
from wasl.emv.cvm import cvm_list_processing  # noqa: E402
from wasl.emv.genac import _cryptogram  # noqa: E402
from wasl.emv.issuer import online_processing  # noqa: E402
from wasl.emv.kernel import _MAX_OBJECTS, Kernel  # noqa: E402
from wasl.emv.result import Result, build_de55  # noqa: E402
from wasl.emv.risk import AAC, ARQC, TC, _date, processing_restrictions  # noqa: E402
from wasl.emv.tlv import TlvError  # noqa: E402

KERNEL_ERRORS = (CardError, TlvError)
NOW = (2026, 7, 5, 10, 8, 7)


# ---- strategies -----------------------------------------------------------------------------------------

def tag_bytes(tag):
    return tag.to_bytes(tlv.tag_size(tag), "big")


# Primitive and constructed tags of 1, 2 and 3 bytes (b6 of the first byte: constructed).
PRIMITIVE = st.one_of(
    st.sampled_from([0x5A, 0x57, 0x82, 0x94, 0x95, 0x9F26, 0x9F27, 0x9F36, 0x9F10, 0x5F24, 0x5F2A, 0x8C,
                     0x8D, 0x8E, 0x9F38, 0x4F, 0x50, 0x87, 0x91, 0x86, 0x9F18, 0xDF8101]),
    st.integers(0x01, 0x1E).map(lambda t: t | 0x40),                      # one byte, primitive
)
CONSTRUCTED = st.sampled_from([0x70, 0x77, 0x61, 0x6F, 0xA5, 0xBF0C, 0x71, 0x72, 0xBF8101])


def objects(max_leaves=12):
    """A list of TLV objects: (tag, bytes) for primitives, (tag, [children]) for templates."""
    leaf = st.tuples(PRIMITIVE, st.binary(max_size=40))
    return st.lists(st.recursive(
        leaf, lambda kids: st.tuples(CONSTRUCTED, st.lists(kids, max_size=4)), max_leaves=max_leaves),
        max_size=5)


@st.composite
def encodings(draw, objs):
    """Bytes for a list of objects: lengths in short or (non-minimal) long form, padding 00 / FF
    between objects now and then."""
    out = bytearray()
    for tag, v in objs:
        if draw(st.integers(0, 5)) == 0:
            out += draw(st.sampled_from([b"\x00", b"\xff", b"\x00\x00", b"\xff\x00"]))
        body = bytes(draw(encodings(v))) if isinstance(v, list) else v
        out += tag_bytes(tag)
        n = len(body)
        form = draw(st.integers(0, 3))
        if n < 0x80 and form == 0:
            out.append(n)
        elif n <= 0xFF and form <= 1:
            out += bytes((0x81, n))
        elif n <= 0xFFFF and form <= 2:
            out += bytes((0x82, n >> 8, n & 0xFF))
        else:
            out += bytes((0x83, 0, n >> 8, n & 0xFF))
        out += body
    return bytes(out)


def primitives(objs):
    """The primitive objects, templates entered, in order: what walk() reports."""
    out = []
    for tag, v in objs:
        if isinstance(v, list):
            out += primitives(v)
        else:
            out.append((tag, v))
    return out


def depth(objs):
    return max((1 + depth(v) for _, v in objs if isinstance(v, list)), default=0)


@st.composite
def damaged(draw):
    """A valid record, then one to three of: a length made longer / shorter / indefinite / 4-byte form,
    bytes cut, a 4-byte tag, a deep nest of templates, random bytes spliced in."""
    objs = draw(objects())
    b = bytearray(draw(encodings(objs)))
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["len", "indefinite", "cut", "tag4", "nest", "splice", "flip"]))
        if op in ("len", "indefinite", "flip") and b:
            i = draw(st.integers(0, len(b) - 1))
            b[i] = {"len": draw(st.sampled_from([0x7F, 0x81, 0x82, 0x83, 0x84, 0x88, 0xFF, b[i] + 1 & 0xFF])),
                    "indefinite": 0x80, "flip": b[i] ^ draw(st.integers(1, 255))}[op]
        elif op == "cut":
            del b[draw(st.integers(0, len(b))):]
        elif op == "tag4":
            i = draw(st.integers(0, len(b)))
            b[i:i] = b"\xdf\x81\x81\x81\x01\x00"
        elif op == "nest":
            for _ in range(draw(st.integers(1, 12))):
                b = bytearray(tlv.encode(0x70, b)) if len(b) < 0xFFFF else b
        else:
            i = draw(st.integers(0, len(b)))
            b[i:i] = draw(st.binary(min_size=1, max_size=12))
    return bytes(b)


ANY_RECORD = st.one_of(st.binary(max_size=400), damaged())


# ---- the TLV parser -------------------------------------------------------------------------------------

def check_items(b, start=0, end=None):
    """items() over b[start:end]: in-bounds, ordered, non-overlapping; or TlvError."""
    end = len(b) if end is None else end
    last = start
    out = []
    for t, vs, ve in tlv.items(b, start, end):
        assert isinstance(t, int) and 0 <= t <= 0xFFFFFF
        assert last < vs <= ve <= end, (last, vs, ve, end)
        last = ve
        out.append((t, vs, ve))
    return out


def parse_all(b):
    """Everything the parser can say about b; returns True when b is well-formed throughout."""
    with watchdog(5):
        try:
            check_items(b)
        except TlvError as e:
            assert str(e)
        seen = []
        try:
            tlv.walk(b, lambda t, s, e: seen.append((t, s, e)) and False)
            walked = True
        except TlvError:
            walked = False
        for t, s, e in seen:
            assert 0 <= s <= e <= len(b) and not tlv.constructed(t)
        try:
            tlv.find(b, 0x9F26)
            tlv.find(b, 0x5A)
        except TlvError:
            pass
        try:
            tlv.check(b)
        except TlvError:
            return False
    # well-formed: nothing may fail any more, and find() gives the first of a tag in walk order
    assert walked
    first = {}
    for t, s, e in seen:
        first.setdefault(t, (s, e))
    for t, pos in first.items():
        assert tlv.find(b, t) == pos
    return True


@fuzz()
@given(ANY_RECORD)
@example(b"\x70\x80\x5a\x01\x00\x00\x00")             # indefinite length form
@example(b"\x5a\x84\xff\xff\xff\xff")                  # 4-byte length
@example(b"\x70\x83\xff\xff\xff")                      # a length no card data can have
@example(b"\xdf\x81\x81\x81\x01\x00")                  # 4-byte tag
@example(b"\x9f")                                      # tag cut
@example(b"\x00" * 300 + b"\xff" * 300)                # padding only
@example(bytes.fromhex("70 02 70 00") * 3)
def test_tlv_random_and_damaged_records(b):
    parse_all(b)
    parse_all(memoryview(b))


@fuzz()
@given(objects(), st.data())
def test_tlv_valid_records_parse_back(objs, data):
    b = data.draw(encodings(objs))
    deep = depth(objs) > 4          # tlv._MAX_DEPTH: templates within templates, 4 levels at most
    try:
        walked = []
        tlv.walk(b, lambda t, s, e: walked.append((t, bytes(b[s:e]))) and False)
    except TlvError as e:
        assert deep, e
        return
    assert not deep
    assert walked == primitives(objs)
    assert tlv.check(b) is None
    top = [(t, bytes(b[s:e])) for t, s, e in tlv.items(b)]
    assert [t for t, _ in top] == [t for t, _ in objs]
    # and our own encoder writes the same objects back (minimal lengths, no padding)
    again = bytearray()
    for t, v in top:
        tlv.put(again, t, v)
    assert [(t, bytes(again[s:e])) for t, s, e in tlv.items(again)] == top


@fuzz()
@given(objects(), st.data())
def test_tlv_truncated_valid_records(objs, data):
    b = data.draw(encodings(objs))
    assume(b)
    cut = data.draw(st.integers(0, len(b) - 1))
    parse_all(b[:cut])
    # the bytes before the cut never read past it
    try:
        for _ in check_items(b[:cut]):
            pass
    except TlvError:
        pass


@fuzz(0.5)
@given(st.integers(0, 8), st.sampled_from([0x70, 0x77, 0xBF0C, 0x61]))
def test_tlv_nesting_depth_is_bounded(n, tag):
    b = tlv.encode(0x5A, b"\x47\x61")
    for _ in range(n):
        b = tlv.encode(tag, b)
    ok = n <= 4                     # tlv._MAX_DEPTH: 70 > 61 > 73 is the deepest EMV uses
    try:
        tlv.check(b)
        assert ok
        assert tlv.find(b, 0x5A) is not None
    except TlvError:
        assert not ok


# ---- DOLs -----------------------------------------------------------------------------------------------

NUMERIC = set(tlv._NUMERIC)
CN = set(tlv._CN)


def reference_dol(dol, get):
    """EMV Book 3 5.4, written out again: numeric (n) right-justified with leading zeros or the
    rightmost bytes kept; cn padded with FF; everything else left-justified with 00 / truncated on the
    right; templates and missing data as zeros."""
    out = bytearray()
    for t, n in tlv.dol_items(dol):
        v = None if tlv.constructed(t) else get(t)
        if v is None:
            out += bytes(n)
        elif t in NUMERIC:
            v = bytes(v)
            out += (bytes(n) + v)[-n:] if n else b""
        else:
            v = bytes(v)[:n]
            out += v + (b"\xff" if t in CN else b"\x00") * (n - len(v))
    return bytes(out)


DOL_TAGS = st.one_of(st.sampled_from(sorted(NUMERIC | CN | {0x95, 0x9F37, 0x9F1E, 0x9F4E, 0x70, 0xBF0C, 0x8A,
                                                              0x91, 0xDF8101})), PRIMITIVE)


@st.composite
def dols(draw):
    out = bytearray()
    for t, n in draw(st.lists(st.tuples(DOL_TAGS, st.integers(0, 255)), max_size=12)):
        out += tag_bytes(t)
        out += bytes((n,)) if n < 0x80 and draw(st.booleans()) else bytes((0x81, n))
    return bytes(out)


@fuzz()
@given(st.one_of(dols(), st.binary(max_size=60)),
       st.dictionaries(DOL_TAGS, st.binary(max_size=40), max_size=10))
@example(b"\x9f\x02\x81", {})                       # 81 without its length byte
@example(b"\x9f\x02\x82\x01\x00", {})               # DOL lengths are one byte (or 81 xx)
@example(b"\x9f\x4e\x81\xff\x9f\x4e\x81\xff", {})   # asks for more than a short APDU carries
@example(b"\x9f\x02\x06\x5f\x2a\x02", {0x9F02: b"\x15\x00\x00", 0x5F2A: b"\x00\x00\x12"})
def test_build_dol_any_dol_any_data(dol, data):
    with watchdog(5):
        try:
            items = list(tlv.dol_items(dol))
        except TlvError:
            try:
                tlv.build_dol(dol, data.get)
            except TlvError:
                return
            raise AssertionError("build_dol accepted a DOL dol_items refuses")
        size = tlv.dol_size(dol)
        assert size == sum(n for _, n in items)
        try:
            out = tlv.build_dol(dol, data.get)
        except TlvError:
            assert size > 252
            return
    assert size <= 252
    assert isinstance(out, bytearray) and len(out) == size
    assert bytes(out) == reference_dol(dol, data.get)


# ---- the kernel's parsers of card data -------------------------------------------------------------------

def kernel(entry="chip"):
    k = Kernel(None, TEST_PARAMS, entry=entry, rng=lambda n: bytes(n))
    k._terminal_data(150000, NOW, 0, 0, 1)
    return k


@fuzz()
@given(ANY_RECORD, st.booleans(), st.booleans())
def test_kernel_keep_only_card_errors(b, strict, prefill):
    k = kernel()
    table = k.icc
    if prefill:
        table[0x5A] = bytearray(b"\x47\x61")
    term_before = dict(k.term)
    try:
        with watchdog(5):
            k.keep(b, table, strict)
    except KERNEL_ERRORS:
        pass
    assert len(table) <= _MAX_OBJECTS
    assert k.term == term_before
    for t, v in table.items():
        assert t not in k.term and not tlv.constructed(t)
        assert isinstance(v, (bytes, bytearray))


@fuzz()
@given(st.binary(max_size=6))
@example(b"\x26\x12\x31")
@example(b"\x26\x13\x32")        # month 13: still a number, compared as such
@example(b"\xa6\x12\x31")
def test_card_dates(b):
    try:
        d = _date(b)
    except CardError:
        return
    assert len(b) == 3 and 19000000 <= d <= 20991231 + 9999


@fuzz()
@given(st.dictionaries(st.sampled_from([0x5F24, 0x5F25, 0x9F07, 0x9F08, 0x5F28]), st.binary(max_size=5),
                       max_size=5), st.sampled_from([0x00, 0x01, 0x09, 0x20]), st.booleans())
def test_processing_restrictions_with_any_card_data(icc, txn_type, services):
    k = kernel()
    k.txn_type = txn_type
    k.services = services
    icc.setdefault(0x5F24, b"\x26\x12\x31")     # mandatory: the kernel checked it is there
    k.icc.update(icc)
    try:
        processing_restrictions(k)
    except CardError:
        pass


@fuzz()
@given(st.binary(max_size=24))
@example(bytes.fromhex("4761739001010010D2512201"))
@example(bytes.fromhex("4761739001010010D25F"))
@example(bytes.fromhex("D0"))
def test_track2_equivalent_expiry(t2):
    try:
        exp = _track2_expiry(t2)
    except CardError:
        return
    assert len(exp) == 3 and exp[2] == 0x31


@fuzz()
@given(st.one_of(ANY_RECORD, st.builds(lambda v: b"\x80" + bytes((len(v),)) + v, st.binary(max_size=60))),
       st.sampled_from([AAC, TC, ARQC]))
def test_generate_ac_response(rd, p1):
    k = kernel()
    try:
        cid = _cryptogram(k, memoryview(rd), p1)
    except KERNEL_ERRORS:
        return
    assert 0 <= cid <= 255
    assert len(k.icc[0x9F27]) == 1 and len(k.icc[0x9F36]) == 2 and len(k.icc[0x9F26]) == 8


@fuzz()
@given(st.one_of(st.binary(max_size=40), st.builds(lambda x, y, rules: x + y + rules, st.binary(min_size=4, max_size=4),
                                                   st.binary(min_size=4, max_size=4), st.binary(max_size=30))),
       st.sampled_from([0x00, 0x01, 0x09, 0x20]), st.integers(0, 10 ** 9), st.sampled_from([True, False, None]))
def test_cvm_list_any_rules(cvm_list, txn_type, amount, pin_answer):
    k = kernel()
    k.txn_type = txn_type
    k.amount = amount
    k.icc[0x8E] = cvm_list

    async def pin(result):
        return pin_answer

    k.pin = pin
    try:
        with watchdog(5):
            asyncio.run(cvm_list_processing(k))
    except CardError:
        return
    except Cancelled:
        assert pin_answer is None
        return
    assert len(k.term[0x9F34]) == 3


@fuzz()
@given(st.one_of(ANY_RECORD, st.none(), st.just(b"")), st.sampled_from(["00", "51", "Z3", None]),
       st.binary(min_size=2, max_size=2))
def test_issuer_data_from_field_55(issuer_data, rc, aip):
    """Field 55 of the host's reply reaches online_processing as is: it must never raise."""
    k = kernel()
    k.icc[0x82] = aip
    online_processing(k, rc, issuer_data)
    arpc = k.term.get(0x91)
    assert arpc is None or bytes(arpc) in bytes(issuer_data or b"")


CARD_DATA = st.fixed_dictionaries({}, optional={
    "pan": st.binary(max_size=12).map(bytearray),
    "track2": st.one_of(st.binary(max_size=20), st.text(alphabet="0123456789D", max_size=38).map(
        lambda s: bytes.fromhex(s + "F" * (len(s) % 2)))).map(bytearray),
    "expiry": st.binary(max_size=4), "service": st.binary(max_size=3)})


@fuzz()
@given(CARD_DATA, st.sampled_from(["chip", "tap"]))
def test_card_data_for_the_payment_flow(fields, entry):
    """What the kernel hands over (5A, 57, 5F24, 5F30 as the card gave them) becomes a Card through
    wasl.card.track2, or a card error: never anything else, never a PAN in the message."""
    r = Result(entry)
    for name, v in fields.items():
        setattr(r, name, v)
    digits = r.pan_digits()
    assert all(c in "0123456789ABCDEF" for c in digits)
    masked = r.masked_pan()
    assert len(masked) == len(digits)
    r.track2_text()
    try:
        card = r.card()
    except AnyCardError as e:
        assert not any(len(run) >= 12 for run in "".join(c if c.isdigit() else " " for c in str(e)).split())
        return
    assert 12 <= len(card.pan) <= 19 and card.pan.isdigit() and card.pan.isascii()


@fuzz()
@given(st.dictionaries(st.sampled_from([0x9F26, 0x9F27, 0x9F10, 0x9F37, 0x95, 0x9A, 0x5F2A, 0x82, 0x84,
                                        0xDF8101, 0x5F34]), st.binary(max_size=300), max_size=11))
def test_de55_round_trip(values):
    de55 = build_de55(values.get, tuple(values) + (0x9F36,))     # 9F36: asked for, absent, left out
    assert tlv.check(de55) is None
    assert {t: bytes(de55[s:e]) for t, s, e in tlv.items(de55)} == values
