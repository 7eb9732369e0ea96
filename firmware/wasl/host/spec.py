# The Wasl host interface as data: field -> (format, length type, max length).
# Mirrors the field table of docs/host-interface.md; host_tests check the two agree.
from wasl.host.iso8583 import FIXED, LLVAR, LLLVAR

SPEC = {
    2: ("n", LLVAR, 19),      # PAN (key-entered only)
    3: ("n", FIXED, 6),       # processing code
    4: ("n", FIXED, 12),      # amount, transaction (minor units)
    7: ("n", FIXED, 10),      # transmission date and time MMDDhhmmss UTC
    11: ("n", FIXED, 6),      # STAN
    12: ("n", FIXED, 6),      # local time hhmmss
    13: ("n", FIXED, 4),      # local date MMDD
    14: ("n", FIXED, 4),      # expiration date YYMM
    22: ("n", FIXED, 3),      # POS entry mode
    24: ("n", FIXED, 3),      # NII
    25: ("n", FIXED, 2),      # POS condition code
    35: ("z", LLVAR, 37),     # track 2 data
    37: ("an", FIXED, 12),    # retrieval reference number
    38: ("an", FIXED, 6),     # authorization identification response
    39: ("an", FIXED, 2),     # response code
    41: ("ans", FIXED, 8),    # card acceptor terminal identification
    42: ("ans", FIXED, 15),   # card acceptor identification code
    48: ("ans", LLLVAR, 99),  # additional data: bill (biller/reference; customer name in 0110)
    49: ("n", FIXED, 3),      # currency code, transaction
    60: ("n", LLLVAR, 6),     # private: batch number
    62: ("ans", LLLVAR, 6),   # private: invoice number
    63: ("ans", LLLVAR, 30),  # private: settlement totals
}

# Processing codes (field 3), docs/host-interface.md section 5.
PROC = {
    "sale": "000000",
    "void": "020000",
    "refund": "200000",
    "bill": "500000",
    "inquiry": "380000",
    "settle": "920000",
    "settle_final": "960000",
    "echo": "990000",
}

# POS entry mode (field 22): card input -> value. Position 3 '1' = terminal accepts online PIN.
ENTRY_MODE = {"manual": "011", "swipe": "021", "chip": "051", "tap": "071"}
