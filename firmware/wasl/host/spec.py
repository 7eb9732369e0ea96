# The Wasl host interface's fields as data. SPEC: one field per line, "number format length-type max
# name". wasl.host.iso8583.Codec reads it once, at boot, into a 3-byte-per-field table; this module then
# leaves RAM (the text itself stays in flash). Mirrors the field table of docs/host-interface.md;
# host_tests check the two agree.
from wasl.host.iso8583 import FIXED, LLLVAR, LLVAR

_LTYPES = {"FIXED": FIXED, "LLVAR": LLVAR, "LLLVAR": LLLVAR}

SPEC = """
2   n   LLVAR  19  PAN (key-entered only)
3   n   FIXED   6  processing code
4   n   FIXED  12  amount, transaction (minor units)
7   n   FIXED  10  transmission date and time MMDDhhmmss UTC
11  n   FIXED   6  STAN
12  n   FIXED   6  local time hhmmss
13  n   FIXED   4  local date MMDD
14  n   FIXED   4  expiration date YYMM
22  n   FIXED   3  POS entry mode
23  n   FIXED   3
24  n   FIXED   3  NII
25  n   FIXED   2  POS condition code
35  z   LLVAR  37  track 2 data
37  an  FIXED  12  retrieval reference number
38  an  FIXED   6  authorization identification response
39  an  FIXED   2  response code
41  ans FIXED   8  card acceptor terminal identification
42  ans FIXED  15  card acceptor identification code
48  ans LLLVAR 99  additional data: bill (biller/reference; customer name in 0110)
49  n   FIXED   3  currency code, transaction
52  b   LLVAR  16
53  b   LLVAR  12
55  b   LLLVAR 255
60  n   LLLVAR  6  private: batch number
61  b   LLLVAR 64  private: stored card data (offline approvals)
62  ans LLLVAR  6  private: invoice number
63  ans LLLVAR 30  private: settlement totals
64  b   FIXED   8
"""


def parse_spec(spec):
    """Yield (field, format, length type, max length) from a text spec (or a dict
    {field: (format, length type, max length)})."""
    if isinstance(spec, dict):
        for f in spec:
            fmt, ltype, maxlen = spec[f]
            yield f, fmt, ltype, maxlen
        return
    for line in spec.split("\n"):
        w = line.split(None, 4)
        if len(w) >= 4:
            yield int(w[0]), w[1], _LTYPES[w[2]], int(w[3])


def spec_dict(spec):
    """{field: (format, length type, max length)}: for tools and tests."""
    return {f: (fmt, ltype, maxlen) for f, fmt, ltype, maxlen in parse_spec(spec)}
