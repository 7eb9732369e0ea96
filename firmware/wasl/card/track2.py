# Track 2 (and track 2 equivalent) data: parsing, Luhn and expiry checks. Loaded for the card read
# only (see wasl/card/__init__.py).
from wasl.card import Card, CardError, mask_pan  # noqa: F401  (mask_pan: part of this module's API)


def luhn_ok(pan):
    total = 0
    odd = True
    for i in range(len(pan) - 1, -1, -1):
        d = ord(pan[i]) - 48
        if not odd:
            d *= 2
            if d > 9:
                d -= 9
        total += d
        odd = not odd
    return total % 10 == 0


ENTRIES = ("swipe", "chip", "tap", "manual", "fallback")


def _digits(s):
    """ASCII digits only (CPython's str.isdigit() also says yes to Arabic-Indic digits, superscripts...)."""
    for c in s:
        if c < "0" or c > "9":
            return False
    return True


def parse_track2(data, entry):
    """Parse 'PAN=YYMMSSS...' (the chip's 'D' separator is accepted). Raise CardError."""
    if not isinstance(data, str) or entry not in ENTRIES:
        raise CardError("card_read_error", "reader data")
    data = data.strip().upper()
    if data[:1] == ";":
        data = data[1:]
    if data[-1:] == "?":
        data = data[:-1]
    data = data.replace("D", "=")
    sep = data.find("=")
    if sep < 0 or len(data) > 37:
        raise CardError("card_read_error", "track 2 has no separator or is too long")
    pan = data[:sep]
    rest = data[sep + 1:]
    if not (12 <= len(pan) <= 19) or not _digits(pan):
        raise CardError("card_read_error", "PAN length or characters")
    if len(rest) < 7 or not _digits(rest):
        raise CardError("card_read_error", "expiry/service code")
    if not luhn_ok(pan):
        raise CardError("card_invalid", "PAN check digit")
    return Card(pan, rest[:4], rest[4:7], data, entry)


def check_expiry(card, year, month):
    """Raise CardError when the card's YYMM is before the given date, or the month is impossible."""
    yy = int(card.expiry[:2])
    mm = int(card.expiry[2:4])
    if not 1 <= mm <= 12:
        raise CardError("card_read_error", "expiry month")
    if (2000 + yy, mm) < (year, month):
        raise CardError("card_expired")
