"""What the simulator answers: data tables, read by server.py (and issuer.py).

docs/host-interface.md section 10 and the README describe the same rules; host_tests/test_acqsim.py
checks that the doc's cents tables match TRIGGERS and ADVICE_TRIGGERS and its biller table BILLERS.
"""
from dataclasses import dataclass

SALE, VOID, REFUND, BILL_PAYMENT = "000000", "020000", "200000", "500000"
BILL_INQUIRY, SETTLEMENT, SETTLEMENT_AFTER_UPLOAD, ECHO = "380000", "920000", "960000", "990000"

# Request MTI -> reply MTI (section 4). Any other MTI is a format error answered by closing.
REPLY_MTI = {"0100": "0110", "0200": "0210", "0220": "0230", "0320": "0330", "0400": "0410", "0500": "0510",
             "0800": "0810"}
ADVICE = "0220"

CARD_FIELDS = ("2", "14", "35")
# Fields that only go with card data in a 0200 (a void carries none of them): card sequence number, PIN
# block, ICC data.
CARD_BOUND_FIELDS = ("23", "52", "55")


@dataclass(frozen=True)
class Txn:
    kind: str                 # which server handler answers it
    card: bool = False        # carries card data: field 35, or 2 + 14 (key-entered), never both
    require: tuple = ()       # conditional fields (section 5) the request must carry
    side: str | None = None   # 'debit' or 'credit' on the batch totals (section 11) once approved
    triggers: bool = False    # the amount cents triggers (TRIGGERS) choose the answer


FINANCIAL = {
    SALE: Txn("financial", card=True, side="debit", triggers=True),
    VOID: Txn("void", require=("37", "38")),
    REFUND: Txn("financial", card=True, side="credit", triggers=True),
    BILL_PAYMENT: Txn("financial", card=True, require=("48",), side="debit", triggers=True),
}

# (MTI, processing code) -> Txn. A known MTI with a processing code not listed is declined with 12.
TRANSACTIONS = {("0200", code): txn for code, txn in FINANCIAL.items()}
TRANSACTIONS.update({("0400", code): Txn("reversal") for code in FINANCIAL})   # the original's code
TRANSACTIONS.update({("0320", code): Txn("upload") for code in FINANCIAL})     # the original's code
TRANSACTIONS.update({
    (ADVICE, SALE): Txn("advice", side="debit"),      # an offline-approved sale (section 15): sales only
    ("0100", BILL_INQUIRY): Txn("bill_inquiry"),
    ("0500", SETTLEMENT): Txn("settlement"),
    ("0500", SETTLEMENT_AFTER_UPLOAD): Txn("settlement"),
    ("0800", ECHO): Txn("echo"),
})

# Processing code -> side of the batch totals (the ledger's batch_totals uses it).
SIDES = {code: txn.side for code, txn in FINANCIAL.items() if txn.side}
# What a void may cancel.
VOIDABLE = tuple(code for code, txn in FINANCIAL.items() if txn.side == "debit")


@dataclass(frozen=True)
class Action:
    outcome: str           # ledger outcome: replied, no_reply, closed, garbage, late, wrong_stan, partial,
    #                        duplicate, format_error, bad_mac, bad_reply_mac, no_reply_mac, bad_arpc, scripts
    rc: str | None = None  # field 39 of the reply built for this request (None: no ISO 8583 reply at all)
    what: str = ""         # one-line description for the docs
    fault: str | None = None  # what the reply does to field 64 / 55: reply_mac, no_mac (need a MACed
    #                           request), arpc, scripts (need a verified ARQC); otherwise a plain approval


DECLINE_CODES = ("01", "03", "05", "12", "13", "14", "30", "51", "54", "55", "57", "61", "63", "75", "91", "96")

SPECIAL = {
    99: Action("no_reply", None, "no reply: connection held open until the client closes or `--hold` s"),
    98: Action("closed", None, "connection closed right after the request is read"),
    97: Action("garbage", None, "framed reply of 20 bytes that are not ISO 8583"),
    95: Action("late", "00", "correct approval, sent after `--late-delay` s"),
    94: Action("wrong_stan", "00", "approval whose field 11 is another STAN"),
    93: Action("partial", "00", "length header for the whole approval, half of its bytes, then close"),
    92: Action("duplicate", "00", "correct approval, written twice on the connection"),
    71: Action("bad_reply_mac", "00", "approval whose field 64 is wrong", fault="reply_mac"),
    72: Action("bad_arpc", "00", "approval, valid MAC, field 55 with an ARPC (91) that fails", fault="arpc"),
    73: Action("scripts", "00", "approval, field 55 with 91 and issuer scripts 71 and 72", fault="scripts"),
    74: Action("no_reply_mac", "00", "approval without field 64", fault="no_mac"),
}
# The fault of a trigger needs: a MACed request (reply_mac, no_mac), a verified ARQC (arpc, scripts).
# A request without it gets a plain approval (outcome replied).
NEEDS_MAC = ("reply_mac", "no_mac")
NEEDS_ARQC = ("arpc", "scripts")

# cents -> Action, for the transactions whose Txn.triggers is set; every other value approves.
TRIGGERS = {int(rc): Action("replied", rc, "declined with response code %s" % rc) for rc in DECLINE_CODES}
TRIGGERS.update(SPECIAL)

APPROVE = Action("replied", "00", "approved")
UNSUPPORTED = Action("replied", "12", "processing code not supported for this MTI")
FORMAT_ERROR = Action("format_error", "30", "request breaks sections 2-3 or 5")
HELD = Action("no_reply", None, "0400 held by --fail-reversals")
BAD_MAC = Action("bad_mac", "63", "request MAC (field 64) does not verify: security violation")

# Cardholder security (section 13, 14): answers of a 0200 sale, refund or bill payment, checked before the
# cents triggers.
ARQC_FAILED = "05"          # field 55: no card keys, unreadable, wrong cryptogram
WRONG_PIN = "55"            # field 52: not the card's PIN
PIN_TRIES_EXCEEDED = "75"   # field 52: the PIN_TRIES-th wrong PIN in a row for that PAN, and every one after
BAD_PIN_BLOCK = "55"        # field 52 does not decipher to a PIN block (not counted as a try)
PIN_TRIES = 3
DEFAULT_PIN = "1234"        # the PIN of a PAN no card file knows
# Issuer scripts of the .73 trigger: template -> (command header CLA INS P1 P2, data, script ID 9F18).
# PUT DATA of the lower (9F58) and upper (9F59) consecutive offline limits, MACed by emvhost.
SCRIPTS = {
    0x71: (bytes.fromhex("84DA9F58"), bytes.fromhex("03"), bytes.fromhex("00000071")),
    0x72: (bytes.fromhex("84DA9F59"), bytes.fromhex("0A"), bytes.fromhex("00000072")),
}

# Store and forward (section 15, 10.9): advices (0220) and uploads (0320) of offline approvals.
OFFLINE_APPROVED = "Y1"     # field 39 of a sale the terminal approved offline; never sent by the host
STORED_CARD_FIELD = "61"    # the offline sale's card data, enciphered under the DUKPT data key
OFFLINE_ONLY_IN_UPLOAD = ("55", "61")   # in a 0320 only with 39 = Y1
ADVICE_BAD_CARD_DATA = "30"  # field 61 does not decipher to a track 2 (layout, key, Luhn, separator, expiry)
ADVICE_BAD_TC = "05"         # field 55 holds no TC that verifies under the card's keys
# cents of field 4 -> Action, for an advice (0220, or a Y1 0320 recorded as the advice); every other value
# accepts it. Checked after the MAC, field 61 and the TC.
ADVICE_TRIGGERS = {
    51: Action("replied", "51", "advice refused: insufficient funds"),
    98: Action("closed", "00", "advice accepted and recorded, connection closed without the reply"),
}


def decide_advice(request):
    """Cents trigger Action for an advice whose MAC, field 61 and TC passed."""
    return ADVICE_TRIGGERS.get(int(request["4"]) % 100, APPROVE)


# Answers to a void (0200 020000) and a reversal (0400), by what the ledger holds.
VOID_NOT_FOUND, VOID_ALREADY_DONE, VOID_WRONG_AMOUNT = "25", "12", "13"
REVERSAL_NOT_FOUND = "25"
REVERSIBLE = ("approved", "not_replied", "voided")  # a reversal makes these `reversed`, 00
UNDONE = ("voided", "reversed")                     # a void of these: 12

# Bill inquiry (0100 380000): field 48 = "<biller>/<reference>".
BILLERS = {
    "ELEC": "Sonelgaz electricity",
    "GAZ": "Sonelgaz gas",
    "EAU": "ADE water",
    "NET": "Algerie Telecom internet",
    "TEL": "Algerie Telecom landline",
}
REFERENCE_DIGITS = (6, 20)      # a reference is 6 to 20 digits
NO_SUCH_BILL_SUFFIX = "0000"    # a well-formed reference ending so names no bill
UNKNOWN_BILLER, BAD_REFERENCE, NO_SUCH_BILL = "12", "12", "25"
AMOUNT_DUE_MODULUS, AMOUNT_DUE_MINIMUM = 500000, 100
CUSTOMERS = (
    "BENALI KARIM",
    "BOUDIAF AMINA",
    "HADJ AHMED SOFIANE",
    "KHELIFI NADIA",
    "MEBARKI YACINE",
    "SAADI FATIMA ZOHRA",
    "BELKACEM RIAD",
    "ZERROUKI LAMIA",
    "CHERIF MOHAMED AMINE",
    "OUALI SARAH",
)


def amount_due(reference):
    """Minor units due on a bill: the reference's last 6 digits mod 500000, plus 100 (never 0)."""
    return int(reference[-6:]) % AMOUNT_DUE_MODULUS + AMOUNT_DUE_MINIMUM


def customer(reference):
    """Name on the bill: CUSTOMERS[int(reference) % len(CUSTOMERS)]."""
    return CUSTOMERS[int(reference) % len(CUSTOMERS)]


# Settlement totals, field 63 (section 11): (key, digits) in wire order.
FIELD63 = (("debit_count", 3), ("debit_amount", 12), ("credit_count", 3), ("credit_amount", 12))
SETTLED, OUT_OF_BALANCE = "00", "95"


def decide(request):
    """Cents trigger Action for a decoded, checked 0200 whose Txn.triggers is set."""
    return TRIGGERS.get(int(request["4"]) % 100, APPROVE)
