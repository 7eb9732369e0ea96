# The APDU layer under the kernel: the transport interface, the errors, the EMV commands (Book 3
# section 6.5) and the T=0 status handling of Book 1 section 9.3.1 (61xx -> GET RESPONSE, 6Cxx ->
# resend with the right Le).
#
# A transport is any object with one coroutine:
#
#     async def exchange(capdu: bytes) -> bytes      # the response APDU, SW1 SW2 included
#
# raising CardRemoved when the card left the reader (an OSError counts as a communication failure).
# A contact reader and a PN532 contactless reader both fit; the kernel never knows which one it has.
from wasl import card

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

_MAX_CHAINED = const(8)     # GET RESPONSE rounds accepted for one command


class CardError(card.CardError):
    """The card cannot be used for this transaction. `.key` names the message (card_read_error...).
    A subclass of wasl.card.CardError, so the sale flow handles chip and swipe alike."""

    def __init__(self, detail="", key="card_read_error"):
        super().__init__(key, detail)


class CardRemoved(CardError):
    """The card left the reader (or the reader lost it) during the transaction."""

    def __init__(self, detail="card removed"):
        super().__init__(detail, "card_removed")


class NotAccepted(CardError):
    """No application both sides support, card or application blocked, service not allowed."""

    def __init__(self, detail="not accepted", key="card_not_accepted"):
        super().__init__(detail, key)


class Cancelled(Exception):
    """The cardholder cancelled (application choice, PIN entry): no card error, no message."""


# ---- commands (Book 3 6.5 and Book 1 11.3) ------------------------------------------------------------

def select(name, following=False):
    """SELECT by DF name; following=True asks for the next application with the same AID prefix."""
    return bytes((0x00, 0xA4, 0x04, 0x02 if following else 0x00, len(name))) + bytes(name) + b"\x00"


def read_record(sfi, record):
    return bytes((0x00, 0xB2, record, (sfi << 3) | 4, 0x00))


def get_processing_options(data):
    """data: the PDOL data (empty when the card has no PDOL)."""
    n = len(data)
    return bytes((0x80, 0xA8, 0x00, 0x00, n + 2, 0x83, n)) + bytes(data) + b"\x00"


def get_data(tag):
    return bytes((0x80, 0xCA, tag >> 8, tag & 0xFF, 0x00))


def generate_ac(p1, data):
    """p1: the cryptogram type asked for (AAC, TC, ARQC); data: the CDOL1 or CDOL2 data."""
    return bytes((0x80, 0xAE, p1, 0x00, len(data))) + bytes(data) + b"\x00"


def external_authenticate(data):
    return bytes((0x00, 0x82, 0x00, 0x00, len(data))) + bytes(data)


# ---- exchange -----------------------------------------------------------------------------------------

async def _raw(transport, capdu):
    try:
        r = await transport.exchange(capdu)
    except CardError:
        raise
    except OSError as e:
        raise CardError("reader error: %r" % e)
    if r is None or len(r) < 2:
        raise CardError("response of %d bytes" % (0 if r is None else len(r)))
    return r


async def transmit(transport, capdu):
    """Send a command; return (response data as a memoryview, status word as an int).

    61xx is followed by GET RESPONSE (data concatenated) and 6Cxx by the command again with Le = xx,
    as a T=0 card needs; a T=1 card or a contactless one never asks."""
    r = await _raw(transport, capdu)
    sw = (r[-2] << 8) | r[-1]
    if sw >> 8 == 0x6C and len(capdu) >= 5:
        r = await _raw(transport, bytes(capdu[:-1]) + bytes((sw & 0xFF,)))
        sw = (r[-2] << 8) | r[-1]
    if sw >> 8 != 0x61:
        return memoryview(r)[:-2], sw
    acc = bytearray(memoryview(r)[:-2])
    for _ in range(_MAX_CHAINED):
        r = await _raw(transport, bytes((0x00, 0xC0, 0x00, 0x00, sw & 0xFF)))
        sw = (r[-2] << 8) | r[-1]
        acc.extend(memoryview(r)[:-2])
        if sw >> 8 != 0x61:
            return memoryview(acc), sw
    raise CardError("endless GET RESPONSE")
