# Card data as the payment flow holds it, whatever read it (magstripe, chip, contactless, keyboard).
# The parsers (wasl.card.track2, the EMV kernel) are loaded while a card is read and leave RAM after;
# what they return lives on in these small resident classes. The Card object holds sensitive data in
# memory only: never log it, journal it or print it whole, and wipe() it when the message is built.


class CardError(ValueError):
    """The card data is unusable. `.key` names the message (wasl/ui/strings.py)."""

    def __init__(self, key, detail=""):
        super().__init__(detail or key)
        self.key = key


def mask_pan(pan):
    """First 6 and last 4 digits at most; the rest as '*'."""
    if len(pan) < 13:
        return "*" * (len(pan) - 4) + pan[-4:]
    return pan[:6] + "*" * (len(pan) - 10) + pan[-4:]


class Card:
    __slots__ = ("pan", "expiry", "service_code", "track2", "entry")

    def __init__(self, pan, expiry, service_code, track2, entry):
        self.pan = pan
        self.expiry = expiry              # YYMM
        self.service_code = service_code
        self.track2 = track2
        self.entry = entry                # 'swipe' | 'chip' | 'tap' | 'manual' | 'fallback'

    @property
    def masked_pan(self):
        return mask_pan(self.pan)

    def wipe(self):
        self.pan = self.track2 = ""
