# A small deterministic fuzz set that runs on the real MicroPython as well as on CPython (through
# host_tests/test_fw_units.py): the same random and damaged inputs as the hypothesis fuzzers of
# host_tests/test_fuzz_*.py, a few hundred per target, from a seeded generator written here (no
# hypothesis on the unix port). Exception semantics differ between the runtimes (str.isdigit(),
# bytes.decode(), int(), json, recursion), so each target's contract is checked on both:
#   ISO 8583 decode   (mti, fields) well formed, or CodecError
#   TLV               TlvError only; build_dol exactly dol_size bytes (at most 252)
#   track 2           a well-formed Card, or CardError without any 12-digit run in its message
#   parameters        a Params, or ParamError naming the parameter
#   modem             a flood of lines ends with a documented error (regression, docs/fuzzing.md)
# A failure names the seed and the input. docs/fuzzing.md lists the targets and the bugs found.
import json
import os

from fwtest import ROOT, ms_since, raises, read_text, ticks_ms
from wasl.card.track2 import CardError, check_expiry, luhn_ok, parse_track2
from wasl.emv import tlv
from wasl.emv.tlv import TlvError
from wasl.host.iso8583 import FIXED, Codec, CodecError
from wasl.host.spec import SPEC, spec_dict
from wasl.params import ParamError, parse

DIGITS = "0123456789"
# WASL_FUZZ_LONG=1 (the long run, docs/fuzzing.md): 100 times the inputs (test_fw_units gives each
# module 120 s on the unix port)
_SCALE = 100 if os.getenv("WASL_FUZZ_LONG") not in (None, "", "0") else 1


def _seeds(n):
    return range(1, n * _SCALE + 1)


class Rnd:
    """xorshift32: the same numbers on both runtimes."""

    def __init__(self, seed):
        self.seed = seed
        self.s = seed & 0xFFFFFFFF or 1

    def next(self):
        x = self.s
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.s = x
        return x

    def below(self, n):
        return self.next() % n if n > 0 else 0

    def choice(self, seq):
        return seq[self.below(len(seq))]

    def bytes(self, n):
        return bytes([self.next() & 0xFF for _ in range(n)])

    def text(self, alphabet, n):
        return "".join([alphabet[self.below(len(alphabet))] for _ in range(n)])


def _hex(b):
    return "".join(["%02x" % c for c in b])


def _no_long_digit_run(text):
    run = 0
    for c in text:
        run = run + 1 if "0" <= c <= "9" else 0
        if run >= 12:
            return False
    return True


# ---- ISO 8583 decode ----------------------------------------------------------------------------------

_SPEC = spec_dict(SPEC)
_FIELDS = sorted(_SPEC)
_ALPHA = {"n": DIGITS, "z": DIGITS + "=", "an": "ABCXYZ019 ", "ans": "AZaz09 /-~!"}


def _codec():
    return Codec(SPEC)


def _valid_fields(r):
    fields = {}
    for f in _FIELDS:
        if r.below(3):
            continue
        fmt, ltype, maxlen = _SPEC[f]
        n = maxlen if ltype == FIXED else r.below(maxlen + 1)
        fields[f] = r.bytes(n) if fmt == "b" else r.text(_ALPHA[fmt], n)
    return fields


def _check_decoded(codec, raw, where):
    try:
        mti, fields = codec.decode(raw)
    except CodecError as e:
        assert str(e), where
        return None
    except Exception as e:
        raise AssertionError("%s: %s %r" % (where, type(e).__name__, e))
    assert len(mti) == 4 and all(["0" <= c <= "9" for c in mti]), where
    total = 0
    for f in fields:
        fmt, ltype, maxlen = _SPEC[f]
        v = fields[f]
        if fmt == "b":
            assert isinstance(v, bytes), where
        else:
            assert isinstance(v, str) and all([c in _ALPHA.get(fmt, "") or fmt in ("an", "ans") and " " <= c <= "~"
                                               for c in v]), where
        assert len(v) == maxlen if ltype == FIXED else len(v) <= maxlen, where
        total += len(v)
    assert total <= len(raw), where
    canon = bytes(raw)
    if raw[4] & 0x80:       # an empty secondary bitmap: our encoder leaves it out
        canon = canon[:4] + bytes([raw[4] & 0x7F]) + canon[5:12] + canon[20:]
    assert bytes(codec.encode(mti, fields)) == canon, where
    return mti, fields


def _put(b, i, v):
    return b[:i] + bytes([v]) + b[i + 1:]


def _mutate(r, b):
    # bytes rebuilt by slicing: MicroPython's bytearray has no slice deletion
    for _ in range(1 + r.below(3)):
        op = r.below(7)
        if op == 0 and b:
            i = r.below(len(b))
            b = _put(b, i, b[i] ^ (1 + r.below(255)))
        elif op == 1:
            b = b[:r.below(len(b) + 1)]
        elif op == 2:
            i = r.below(len(b) + 1)
            b = b[:i] + r.bytes(1 + r.below(12)) + b[i:]
        elif op == 3 and b:
            i = r.below(len(b))
            b = b[:i] + b[i + 1 + r.below(8):]
        elif op == 4 and len(b) >= 12:
            bit = r.below(64)
            i = 4 + bit // 8
            b = _put(b, i, b[i] ^ (0x80 >> (bit % 8)))
        elif op == 5 and len(b) > 14:
            b = _put(b, 12 + r.below(len(b) - 12), ord(r.choice("0123456789 x\x00")))
        elif op == 6:
            b += r.bytes(1 + r.below(8))
    return bytes(b)


def test_fuzz_iso8583_decode_random_bytes():
    codec = _codec()
    for seed in _seeds(150):
        r = Rnd(seed)
        raw = r.bytes(r.below(120)) if seed % 3 else b"0210" + r.bytes(8 + r.below(200))
        _check_decoded(codec, raw, "seed %d raw %s" % (seed, _hex(raw)))


def test_fuzz_iso8583_decode_mutated_messages():
    codec = _codec()
    ok = 0
    for seed in _seeds(200):
        r = Rnd(seed * 7919)
        fields = _valid_fields(r)
        mti = r.text(DIGITS, 4)
        raw = bytes(codec.encode(mti, fields))
        assert codec.decode(raw) == (mti, fields), "seed %d: round trip" % seed
        bad = _mutate(r, raw)
        if _check_decoded(codec, bad, "seed %d raw %s" % (seed, _hex(bad))) is not None:
            ok += 1
    assert ok < 200 * _SCALE     # most damage is refused; some (a flipped digit) still decodes


# ---- TLV ------------------------------------------------------------------------------------------------

_TAGS = (0x5A, 0x57, 0x82, 0x94, 0x9F26, 0x9F10, 0x5F24, 0xDF8101, 0x50)
_TEMPLATES = (0x70, 0x77, 0x61, 0xA5, 0xBF0C)


def _record(r, depth=0):
    out = bytearray()
    for _ in range(r.below(4)):
        if r.below(6) == 0:
            out += r.choice((b"\x00", b"\xff"))
        if depth < 5 and r.below(3) == 0:
            tlv.put(out, r.choice(_TEMPLATES), _record(r, depth + 1))
        else:
            tlv.put(out, r.choice(_TAGS), r.bytes(r.below(140)))
    return bytes(out)


def _parse_all(b, where):
    try:
        for t, vs, ve in tlv.items(b):
            assert 0 <= vs <= ve <= len(b), where
        tlv.walk(b, lambda t, s, e: False)
        tlv.find(b, 0x9F26)
        tlv.check(b)
    except TlvError:
        pass
    except Exception as e:
        raise AssertionError("%s: %s %r" % (where, type(e).__name__, e))


def test_fuzz_tlv_random_and_damaged():
    for seed in _seeds(200):
        r = Rnd(seed * 104729)
        rec = _record(r)
        b = r.bytes(r.below(80)) if seed % 4 == 0 else bytes(rec)
        if seed % 4 == 1:
            for _ in range(1 + r.below(3)):
                op = r.below(5)
                if op == 0 and b:
                    b = _put(b, r.below(len(b)), r.choice((0x80, 0x81, 0x82, 0x83, 0x84, 0xFF, 0x7F)))
                elif op == 1:
                    b = b[:r.below(len(b) + 1)]
                elif op == 2:
                    for _ in range(1 + r.below(8)):
                        b = tlv.encode(0x70, b)
                elif op == 3:
                    i = r.below(len(b) + 1)
                    b = b[:i] + b"\xdf\x81\x81\x81\x01\x00" + b[i:]
                else:
                    b += r.bytes(1 + r.below(6))
        _parse_all(b, "seed %d bytes %s" % (seed, _hex(b)))
        _parse_all(memoryview(b), "seed %d (memoryview)" % seed)


def test_fuzz_tlv_valid_records_walk_back():
    for seed in _seeds(100):
        r = Rnd(seed * 31337)
        b = _record(r)
        seen = []
        try:
            tlv.walk(b, lambda t, s, e: seen.append((t, bytes(b[s:e]))) and False)
        except TlvError:
            continue   # templates nested past tlv._MAX_DEPTH
        for t, v in seen:
            assert not tlv.constructed(t)


def test_fuzz_build_dol():
    tags = (0x9F02, 0x5F2A, 0x9A, 0x9C, 0x95, 0x9F37, 0x5A, 0x9F1E, 0x70, 0xDF8101, 0x9F4E)
    for seed in _seeds(200):
        r = Rnd(seed * 65537)
        if seed % 3:
            dol = bytearray()
            for _ in range(r.below(10)):
                t = r.choice(tags)
                dol += t.to_bytes(tlv.tag_size(t), "big")
                n = r.below(256)
                dol += bytes([n]) if n < 0x80 and r.below(2) else bytes([0x81, n])
            dol = bytes(dol)
        else:
            dol = r.bytes(r.below(30))
        data = {}
        for t in tags:
            if r.below(2):
                data[t] = r.bytes(r.below(20))
        where = "seed %d dol %s" % (seed, _hex(dol))
        try:
            size = tlv.dol_size(dol)
            out = tlv.build_dol(dol, data.get)
        except TlvError:
            continue
        except Exception as e:
            raise AssertionError("%s: %s %r" % (where, type(e).__name__, e))
        assert len(out) == size <= 252, where


# ---- track 2 --------------------------------------------------------------------------------------------

_PANS = ("4761739001010010", "5555555555554444", "6011000990139424", "4111111111111111", "378282246310005",
         "476173900101001", "4761739001010010123")
# Arabic-Indic and superscript digits: str.isdigit() says yes on CPython, no on MicroPython
_ODD = ("=", "D", "d", "^", ";", "?", " ", "\r", "\n", "\x00", "x", "\u0662", "\u00b2", "\u06f5", "\uff11")


def _check_track2(data, where):
    try:
        card = parse_track2(data, "swipe")
    except CardError as e:
        assert _no_long_digit_run(str(e)) and _no_long_digit_run(e.key), where
        return None
    except Exception as e:
        raise AssertionError("%s: %s %r" % (where, type(e).__name__, e))
    assert 12 <= len(card.pan) <= 19 and all(["0" <= c <= "9" for c in card.pan]) and luhn_ok(card.pan), where
    assert len(card.expiry) == 4 and all(["0" <= c <= "9" for c in card.expiry + card.service_code]), where
    assert len(card.service_code) == 3 and len(card.track2) <= 37, where
    try:
        check_expiry(card, 2026, 7)
    except CardError:
        pass
    return card


def test_fuzz_track2_random_and_damaged():
    accepted = 0
    for seed in _seeds(300):
        r = Rnd(seed * 2654435761)
        if seed % 3 == 0:
            data = r.text(DIGITS + "=D;? " + "".join(_ODD), r.below(45))
        else:
            s = list(r.choice(_PANS) + r.choice("=Dd") + r.text(DIGITS, 7 + r.below(12)))
            for _ in range(r.below(4)):
                op = r.below(4)
                if op == 0 and s:
                    s[r.below(len(s))] = r.choice(_ODD)
                elif op == 1:
                    s.insert(r.below(len(s) + 1), r.choice(_ODD))
                elif op == 2 and s:
                    del s[r.below(len(s))]
                else:
                    s = [";"] + s + ["?"]
            data = "".join(s)
        if _check_track2(data, "seed %d track2 %r" % (seed, data)) is not None:
            accepted += 1
    assert accepted > 10


def test_fuzz_track2_other_scripts_digits_refused():
    # regression: CPython's isdigit() accepted these; check_expiry then raised a plain ValueError
    for data in ("4761739001010010=\u00b2\u00b5122011", "4761739001010010=\u0662\u0665\u0661\u06502011",
                 "4761739001010010=2512\u00b2\u00b3\u00b9", "\u0664761739001010010=25122011"):
        e = raises(CardError, parse_track2, data, "swipe")
        assert e.key == "card_read_error"


# ---- parameters -----------------------------------------------------------------------------------------

_CA = ("MIIBCgABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4fICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj9AQUJDREVG"
       "R0hJSktMTU5PUFFSU1RVVldYWVpbXF1eXw==")      # DER-like: 30 82 01 0a and 96 bytes (test_params.py)
_PATHS = ("version", "terminal_id", "merchant_id", "merchant_name", "merchant_address", "currency", "currency.code",
          "currency.alpha", "currency.exponent", "amount_max", "refund_max", "refund_asks_rrn",
          "supervisor_pin_sha256", "billers", "language", "tz_offset_min", "timeouts", "timeouts.entry_s",
          "timeouts.card_s", "timeouts.result_s", "host", "host.address", "host.port", "host.server_name", "host.ca",
          "host.nii", "host.connect_timeout_s", "host.reply_timeout_s", "keys_required", "fallback", "manual_entry")
_VALUES = (None, True, False, 0, 1, -1, 60, 3600, 3601, 10 ** 12, 10 ** 17, 2 ** 40, 1.5, "", "x", "012", "0120",
           "\u0660\u0661\u0662", "\u00b9\u00b2\u00b3", "WASL0001", "\u00c9LEC", "A\x1b@", "L1\nL2", _CA, "MIIB=",
           [], ["ELEC"], ["A", 1], ["\u00c9LEC"], ["A\x1b@"], {}, {"code": "012"}, [[[]]])


def _base_doc():
    doc = json.loads(read_text(ROOT + "/boards/sim/params.json"))
    doc["host"]["ca"] = _CA
    return doc


def _set(doc, path, value):
    parts = path.split(".")
    cur = doc
    for k in parts[:-1]:
        if not isinstance(cur.get(k), dict):
            cur[k] = {}
        cur = cur[k]
    if value is _DELETE:
        cur.pop(parts[-1], None)
    else:
        cur[parts[-1]] = json.loads(json.dumps(value))    # a copy: _VALUES holds lists and dicts


_DELETE = object()


def test_fuzz_params_mutated_documents():
    names = set(_PATHS) | {"params.json", "offline.floor_limit", "offline.max_count", "offline.max_amount",
                           "offline.retry_s"}
    accepted = 0
    for seed in _seeds(250):
        r = Rnd(seed * 40503)
        doc = _base_doc()
        for _ in range(1 + r.below(3)):
            _set(doc, r.choice(_PATHS), _DELETE if r.below(5) == 0 else r.choice(_VALUES))
        where = "seed %d doc %s" % (seed, json.dumps(doc))
        try:
            p = parse(doc)
        except ParamError as e:
            assert e.param in names, where
            continue
        except Exception as e:
            raise AssertionError("%s: %s %r" % (where, type(e).__name__, e))
        accepted += 1
        for v in (p.currency_code, p.host_nii):
            assert len(v) == 3 and all(["0" <= c <= "9" for c in v]), where
        for b in p.billers:
            assert all(["A" <= c <= "Z" or "a" <= c <= "z" for c in b]), where
        for line in p.merchant_address:
            assert all([c >= " " and c != "\x7f" for c in line]), where
        assert -720 <= p.tz_offset_min <= 840 and 0 <= p.currency_exponent <= 4, where
        for t in (p.idle_timeout_s, p.card_timeout_s, p.result_timeout_s, p.host_connect_timeout_s,
                  p.host_reply_timeout_s):
            assert 1 <= t <= 3600, where
    assert accepted > 10


def test_fuzz_params_random_documents():
    for seed in _seeds(100):
        r = Rnd(seed * 9973)
        doc = {}
        for _ in range(r.below(6)):
            _set(doc, r.choice(_PATHS), r.choice(_VALUES))
        doc = doc if seed % 5 else r.choice(_VALUES)
        try:
            parse(doc)
        except ParamError as e:
            assert e.param, seed
        except Exception as e:
            raise AssertionError("seed %d: %s %r" % (seed, type(e).__name__, e))


# ---- modem: a flood of lines ------------------------------------------------------------------------------

class _Flood:
    def __init__(self, pattern):
        self.p = pattern
        self.i = 0

    def write(self, b):
        return len(b)

    def any(self):
        return 64

    def readinto(self, buf):
        p = self.p
        for k in range(len(buf)):
            buf[k] = p[self.i % len(p)]
            self.i += 1
        return len(buf)


def test_fuzz_modem_flood_of_lines_ends():
    # regression: lines that never stop kept _exchange and _flush looping for good (wasl/net/modem.py)
    import asyncio

    from wasl.net.modem import BAD_REPLY, Modem, ModemError

    for pattern in (b"X\r\n", b"RING\r\n", b"AT\r", b"OK\r\n"):
        m = Modem(_Flood(pattern), cmd_ms=20, sync_ms=10, sync_tries=2, sim_ms=30, reg_ms=60, poll_ms=5,
                  dial_ms=30, guard_ms=5)
        t0 = ticks_ms()
        try:
            asyncio.run(m.attach("internet"))
            raise AssertionError("attach succeeded against a flood of %r" % pattern)
        except ModemError as e:
            assert e.reason == BAD_REPLY, (pattern, e.reason)
        assert ms_since(t0) < 3000, (pattern, ms_since(t0))
