# What the kernel hands the payment flow: the outcome, the chip data the host needs (ISO 8583 field 55)
# and the card data the request needs. The PAN (5A) and the track 2 equivalent (57) live only here,
# as bytearrays that wipe() zeroes in place (the kernel's own tables hold the same objects).
from binascii import hexlify

from wasl.emv import tlv

# Outcomes (message keys, like the rest of the firmware's sentinels).
APPROVED_OFFLINE = "approved_offline"   # TC at the first GENERATE AC (Y1), or unable to go online (Y3)
DECLINED_OFFLINE = "declined_offline"   # AAC at the first GENERATE AC (Z1), or unable to go online (Z3)
GO_ONLINE = "go_online"                 # ARQC: send the request with de55, then Kernel.complete()
APPROVED = "approved"                   # online: host approved and the card gave a TC
DECLINED = "declined"                   # online: host declined, or the card refused (card_declined)
CARD_ERROR = "card_error"               # the card failed: .error names the message
NOT_ACCEPTED = "not_accepted"           # no common application, blocked, service not allowed
CANCELLED = "cancelled"                 # the cardholder cancelled (application choice, PIN)

# ISO 8583 field 55 of an authorisation request: the usual EMV set, in this order. A parameter may
# replace it (params "de55_tags"); absent objects are left out.
DE55_TAGS = (0x9F26, 0x9F27, 0x9F10, 0x9F37, 0x9F36, 0x95, 0x9A, 0x9C, 0x9F02, 0x5F2A, 0x82, 0x9F1A,
             0x9F03, 0x9F33, 0x9F34, 0x9F35, 0x84, 0x9F09, 0x9F1E, 0x5F34, 0x9F41, 0x9F6E)


def build_de55(get, tags=DE55_TAGS):
    """Field 55 bytes: the TLV of each tag in `tags` that get(tag) finds (None: left out)."""
    out = bytearray()
    for t in tags:
        v = get(t)
        if v is not None:
            tlv.put(out, t, v)
    return bytes(out)


def _digits(b):
    """BCD digits of a cn/track field, 'F' padding dropped: '4761...'"""
    s = hexlify(b).decode().upper()
    end = s.find("F")
    return s if end < 0 else s[:end]


class Result:
    __slots__ = ("outcome", "error", "entry", "aid", "label", "lang", "cvm", "online_pin", "signature",
                 "de55", "tvr", "tsi", "cid", "arc", "scripts", "card_declined", "pan", "track2", "psn",
                 "expiry", "service")

    def __init__(self, entry):
        self.outcome = None
        self.error = ""          # message key when outcome is card_error / not_accepted / declined_offline
        self.entry = entry       # 'chip' | 'tap'
        self.aid = ""            # hex of the selected application (84), for the receipt
        self.label = ""          # application label (50) or preferred name
        self.lang = ""           # language preference (5F2D), e.g. 'frar'
        self.cvm = b""           # CVM results (9F34), 3 bytes
        self.online_pin = False  # the CVM chosen is enciphered PIN online: the request carries a PIN block
        self.signature = False   # the receipt needs a signature line
        self.de55 = b""          # ISO 8583 field 55 (first GENERATE AC; after complete(): the final one)
        self.tvr = b""           # 95
        self.tsi = b""           # 9B
        self.cid = 0             # 9F27 of the last GENERATE AC
        self.arc = b""           # 8A given to the card (b'00', b'Y1', b'Z3'...)
        self.scripts = b""       # issuer script results (9F5B), 5 bytes per script
        self.card_declined = False   # host approved but the card refused (AAC): reverse the 0200
        self.pan = None          # 5A as read (bytearray): sensitive
        self.track2 = None       # 57 as read (bytearray): sensitive
        self.psn = None          # 5F34 PAN sequence number (bytes) or None
        self.expiry = b""        # 5F24 YYMMDD (BCD)
        self.service = b""       # 5F30 service code (n3, 2 bytes) or empty

    def pan_digits(self):
        if self.pan:
            return _digits(self.pan)
        if self.track2:
            s = _digits(self.track2)
            return s[:s.find("D")] if "D" in s else s
        return ""

    def masked_pan(self):
        from wasl.card import mask_pan
        return mask_pan(self.pan_digits())

    def track2_text(self):
        """Track 2 for field 35 ('PAN=YYMMSSS...'): 57 when the card has it, else built from 5A, 5F24
        and the service code 5F30 (000 when absent)."""
        if self.track2:
            return _digits(self.track2).replace("D", "=")
        pan = self.pan_digits()
        if not pan or len(self.expiry) < 2:
            return ""
        svc = _digits(self.service)[-3:] if len(self.service) == 2 else "000"
        return pan + "=" + _digits(self.expiry)[:4] + svc

    def card(self):
        """A wasl.card.Card for the host request, through wasl.card.track2 (raises CardError on bad data)."""
        from wasl.card.track2 import parse_track2
        return parse_track2(self.track2_text(), self.entry)

    def wipe(self):
        """Zero the PAN and track 2 equivalent in place and forget them."""
        for b in (self.pan, self.track2):
            if b is not None:
                for i in range(len(b)):
                    b[i] = 0
        self.pan = self.track2 = None
