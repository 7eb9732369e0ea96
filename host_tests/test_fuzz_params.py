"""Fuzzing the parameter document (issue 8, item 3; docs/fuzzing.md): wasl.params.parse on random JSON-like
documents and on boards/sim/params.json with values replaced, removed, retyped and pushed past their
limits; wasl.params.load on files of random bytes and of pathological JSON.

Property: the result is a ParamError naming the parameter (its JSON path, or "params.json" for the
file), with that name in the message -- the terminal shows it out of service -- or a Params the
firmware can use: every text the terminal sends goes into its ISO 8583 field, every text it prints
holds no control character, and every number lies where the code that uses it works (time-outs the
tick arithmetic takes, a UTC offset gmtime takes, a currency exponent that formats an amount).
"""
import binascii
import json
import os
import sys
import tempfile

from hypothesis import example, given
from hypothesis import strategies as st

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _p in (ROOT, os.path.join(ROOT, "host_tests"), os.path.join(ROOT, "firmware"),
           os.path.join(ROOT, "host_tests", "fw")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from fuzz_settings import fuzz, watchdog  # noqa: E402
from wasl.host.iso8583 import Codec  # noqa: E402
from wasl.host.spec import SPEC  # noqa: E402
from wasl.money import format_amount  # noqa: E402
from wasl.params import ParamError, load, parse  # noqa: E402

CA_DER = b"\x30\x82\x01\x0a" + bytes(range(96))
CA_B64 = binascii.b2a_base64(CA_DER).decode().strip()
with open(os.path.join(ROOT, "boards", "sim", "params.json")) as _f:
    BASE = json.load(_f)
BASE["host"]["ca"] = CA_B64
CODEC = Codec(SPEC)
DIGITS = "0123456789"


def paths(doc, prefix=""):
    for k, v in doc.items():
        p = prefix + k
        yield p
        if isinstance(v, dict):
            yield from paths(v, p + ".")


# Every parameter path of the template, and the optional ones it leaves out.
KNOWN = sorted(set(paths(BASE)) | {"keys_required", "fallback", "manual_entry", "offline", "offline.floor_limit",
                                   "offline.max_count", "offline.max_amount", "offline.retry_s"})
NAMES = set(KNOWN) | {"params.json"}


def usable(p):
    """What the firmware relies on in a Params it was given."""
    def printable(s, lo, hi):
        return isinstance(s, str) and lo <= len(s) <= hi and all(" " <= c <= "~" for c in s)

    def whole(n, lo, hi):
        return isinstance(n, int) and not isinstance(n, bool) and lo <= n <= hi

    assert whole(p.version, -(1 << 63), 1 << 63) or isinstance(p.version, int)
    assert printable(p.terminal_id, 8, 8) and printable(p.merchant_id, 15, 15)
    assert printable(p.merchant_name, 1, 32)
    assert isinstance(p.merchant_address, list) and len(p.merchant_address) <= 3
    for line in p.merchant_address:                     # printed as is: no printer command inside
        assert isinstance(line, str) and len(line) <= 32 and all(c >= " " and c != "\x7f" for c in line), line
    assert isinstance(p.currency_code, str) and len(p.currency_code) == 3 and all(c in DIGITS for c in p.currency_code)
    assert printable(p.currency_alpha, 3, 3)
    assert whole(p.currency_exponent, 0, 4), p.currency_exponent
    assert len(format_amount(999999999999, p.currency_exponent)) < 24
    assert whole(p.amount_max, 1, 10 ** 12 - 1) and whole(p.refund_max, 1, 10 ** 12 - 1)
    assert isinstance(p.refund_asks_rrn, bool) and isinstance(p.keys_required, bool)
    assert isinstance(p.fallback, bool) and isinstance(p.manual_entry, bool)
    assert len(p.supervisor_pin_sha256) == 64 and all(c in "0123456789abcdef" for c in p.supervisor_pin_sha256)
    assert isinstance(p.billers, list) and 1 <= len(p.billers) <= 9
    for b in p.billers:
        assert isinstance(b, str) and 1 <= len(b) <= 8 and all("A" <= c <= "Z" or "a" <= c <= "z" for c in b), b
    assert isinstance(p.language, str)
    assert whole(p.tz_offset_min, -720, 840), p.tz_offset_min        # UTC-12:00 .. UTC+14:00
    for t in (p.idle_timeout_s, p.card_timeout_s, p.result_timeout_s, p.host_connect_timeout_s,
              p.host_reply_timeout_s):
        assert whole(t, 1, 3600), t
    assert printable(p.host_address, 1, 64) and printable(p.host_server_name, 1, 64)
    assert whole(p.host_port, 1, 65535)
    assert isinstance(p.host_nii, str) and len(p.host_nii) == 3 and all(c in DIGITS for c in p.host_nii)
    assert isinstance(p.host_ca, bytes) and len(p.host_ca) >= 64 and p.host_ca[0] == 0x30
    # what goes to the host encodes in its field
    f = {24: p.host_nii, 41: p.terminal_id, 42: p.merchant_id, 49: p.currency_code}
    for b in p.billers:
        f[48] = b + "/123456"
        CODEC.encode("0200", f)


def named(e):
    """The out-of-service screen shows e.param; the log line, str(e), says it too."""
    assert e.param in NAMES, e.param
    assert e.param in str(e) or e.param == "params.json" and "parameter file" in str(e), (e.param, str(e))


def check(doc):
    try:
        with watchdog(5):
            p = parse(doc)
    except ParamError as e:
        named(e)
        return None
    usable(p)
    return p


# ---- strategies -----------------------------------------------------------------------------------------

ODD_TEXT = st.one_of(st.text(max_size=70), st.text(alphabet="0123456789", max_size=5),
                     st.sampled_from(["\u0660\u0661\u0662", "\u00b9\u00b2\u00b3", "ÉLEC", "\u0643\u0647\u0631\u0628",
                                      "A\x1bB", "L1\nL2", "\x00" * 8, "WASL\x7f001", CA_B64, CA_B64[:-4],
                                      "MIIB=", "====", "\u00e9" * 8]))
ODD_INT = st.one_of(st.integers(-10, 70000), st.sampled_from([0, -1, 1, 10 ** 12 - 1, 10 ** 12, 2 ** 31, 2 ** 63,
                                                               10 ** 17, 10 ** 30, -10 ** 17, 721, -721, 841, 3601]))
SCALAR = st.one_of(st.none(), st.booleans(), ODD_INT, st.floats(allow_nan=False), ODD_TEXT)
JSONISH = st.recursive(SCALAR, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                      st.dictionaries(st.text(max_size=8), kids, max_size=4)),
                       max_leaves=10)


PRINTABLE = "".join(chr(c) for c in range(0x20, 0x7F))


def near(lo, hi):
    return st.integers(lo - 2, hi + 2)


def text_of(alphabet, lo, hi):
    return st.text(alphabet=alphabet, min_size=max(0, lo - 1), max_size=hi + 1)


# Values close to each parameter's limits: most pass, some are just over.
PLAUSIBLE = {
    "version": near(0, 3), "terminal_id": text_of(PRINTABLE, 8, 8), "merchant_id": text_of(PRINTABLE, 15, 15),
    "merchant_name": text_of(PRINTABLE, 1, 32), "merchant_address": st.lists(text_of(PRINTABLE, 0, 32), max_size=4),
    "currency.code": text_of(DIGITS, 3, 3), "currency.alpha": text_of("ABCDZ", 3, 3),
    "currency.exponent": near(0, 4), "amount_max": near(1, 10 ** 12 - 1), "refund_max": near(1, 10 ** 12 - 1),
    "billers": st.lists(text_of("ELCGAZTNU", 1, 8), min_size=0, max_size=10),
    "language": st.sampled_from(["fr", "en", "ar", "xx", ""]), "tz_offset_min": near(-720, 840),
    "timeouts.entry_s": near(1, 3600), "timeouts.card_s": near(1, 3600), "timeouts.result_s": near(1, 3600),
    "host.address": text_of(PRINTABLE, 1, 64), "host.port": near(1, 65535),
    "host.server_name": text_of(PRINTABLE, 1, 64), "host.nii": text_of(DIGITS, 3, 3),
    "host.connect_timeout_s": near(1, 3600), "host.reply_timeout_s": near(1, 3600),
    "offline.floor_limit": near(0, 100000), "offline.max_count": near(1, 99), "offline.retry_s": near(10, 86400),
}


def _set(doc, path, value):
    cur = doc
    parts = path.split(".")
    for k in parts[:-1]:
        if not isinstance(cur.get(k), dict):
            cur[k] = {}
        cur = cur[k]
    cur[parts[-1]] = value


def _del(doc, path):
    cur = doc
    parts = path.split(".")
    for k in parts[:-1]:
        cur = cur.get(k)
        if not isinstance(cur, dict):
            return
    cur.pop(parts[-1], None)


@st.composite
def mutated_docs(draw):
    doc = json.loads(json.dumps(BASE))
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(KNOWN))
        op = draw(st.sampled_from(["plausible", "plausible", "value", "delete", "json"]))
        if op == "plausible" and path in PLAUSIBLE:
            _set(doc, path, draw(PLAUSIBLE[path]))
        elif op == "delete":
            _del(doc, path)
        elif op == "json":
            _set(doc, path, draw(JSONISH))
        else:
            _set(doc, path, draw(st.one_of(SCALAR, st.lists(ODD_TEXT, max_size=11))))
    return doc


# ---- tests ----------------------------------------------------------------------------------------------

@fuzz()
@given(JSONISH)
def test_random_documents(doc):
    check(doc)


@fuzz()
@given(mutated_docs())
# digits and letters of other scripts: str.isdigit() / isalpha() say yes on CPython (field 49, 24 and 48
# then refused each request); a control character in an address line went to the printer as a command;
# time-outs, UTC offset and currency exponent had no bounds (a huge offset crashes gmtime, a huge
# exponent makes every amount a string of that many zeros)
@example({**BASE, "currency": {"code": "\u0660\u0661\u0662", "alpha": "DZD", "exponent": 2}})
@example({**BASE, "host": {**BASE["host"], "nii": "\u00b9\u00b2\u00b3"}})
@example({**BASE, "billers": ["\u00c9LEC"]})
@example({**BASE, "merchant_address": ["A\x1b@B"]})
@example({**BASE, "tz_offset_min": 10 ** 17})
@example({**BASE, "timeouts": {"entry_s": 0}})
@example({**BASE, "timeouts": {"card_s": 10 ** 12}})
@example({**BASE, "currency": {"code": "012", "alpha": "DZD", "exponent": 10 ** 9}})
@example({**BASE, "currency": {"code": "012", "alpha": "DZD", "exponent": -2}})
def test_mutated_sim_params(doc):
    check(doc)


def test_sim_params_are_usable():
    assert check(json.loads(json.dumps(BASE))) is not None


@fuzz(0.25)
@given(st.one_of(st.binary(max_size=300), mutated_docs().map(lambda d: json.dumps(d).encode()),
                 st.sampled_from([b"[" * 5000, b"{\"a\":" * 5000, b"[" * 5000 + b"]" * 5000,
                                  b"\xef\xbb\xbf{}", b"\xff\xfe{", b"{\"version\": 1e999}", b"nan", b""])))
def test_load_any_file(content):
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "params.json"), "wb") as f:
            f.write(content)
        try:
            with watchdog(5):
                p = load(d)
        except ParamError as e:
            named(e)
            return
        usable(p)
