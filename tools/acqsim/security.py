"""Fields 52, 53, 61 and 64 on the host side (docs/host-interface.md sections 13 and 15): the simulator
holds the BDKs, derives the DUKPT working keys of each request's KSN (field 53) with tools/hostcrypto.py,
verifies the request's MAC (field 64), deciphers its PIN block (field 52), MACs the reply, and deciphers
an advice's stored card data (field 61) under the data key of the KSN inside it.

    bdks = Bdks(aes_file, tdes_file)
    sec = inspect(bdks, raw, req)       # Security: keys (or None), mac "ok" | "bad" | "none", ksn hex
    body = sec.seal(body)               # a reply's field 64, when the request carried one
    track2 = stored_card(bdks, req["61"])   # str; hc.StoredCardError when it is not a usable track 2
"""
import os
import re
from dataclasses import dataclass

from tools import hostcrypto as hc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "host_tests", "fw", "fixtures")
DEFAULT_BDK_AES = os.path.join(FIXTURES, "crypto_test_bdk_aes128.txt")     # X9.24-3 B.1 test BDK
DEFAULT_BDK_TDES = os.path.join(FIXTURES, "crypto_test_bdk_tdes.txt")      # X9.24-1 A.4 test BDK
KSN_LENGTHS = {hc.AES_KSN_LEN: "aes", hc.TDES_KSN_LEN: "tdes"}
PIN_BLOCK_LENGTHS = {"aes": 16, "tdes": 8}
MAC_FIELD = "64"
KSN_FIELD = "53"
PIN_FIELD = "52"


class Bdks:
    """The base derivation keys of the terminal fleet: one AES DUKPT BDK (16 or 32 bytes), one TDES DUKPT
    BDK (16 bytes). Held in memory only; the log gets their KCVs."""

    def __init__(self, aes_file=DEFAULT_BDK_AES, tdes_file=DEFAULT_BDK_TDES):
        self.aes = hc.read_hex_file(aes_file, "AES BDK") if aes_file else None
        self.tdes = hc.read_hex_file(tdes_file, "TDES BDK") if tdes_file else None
        if self.aes is not None and len(self.aes) not in (16, 32):
            raise ValueError("the AES BDK is %d bytes: 16 or 32" % len(self.aes))
        if self.tdes is not None and len(self.tdes) != 16:
            raise ValueError("the TDES BDK is %d bytes: 16" % len(self.tdes))

    def kcvs(self):
        """{"aes": KCV hex or None, "tdes": ...}: what the log may show of the keys."""
        return {"aes": self.aes and hc.aes_kcv(self.aes).hex().upper(),
                "tdes": self.tdes and hc.tdes_kcv(self.tdes).hex().upper()}

    def session(self, ksn):
        """The working keys of a KSN, or None when the KSN cannot be used (length, counter, no BDK)."""
        try:
            return hc.session_keys(ksn, aes_bdk=self.aes, tdes_bdk=self.tdes)
        except hc.DukptError:
            return None

    def __repr__(self):
        return "<Bdks AES KCV %(aes)s, TDES KCV %(tdes)s>" % self.kcvs()


def luhn_ok(pan):
    total = 0
    for i, c in enumerate(reversed(pan)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


TRACK2_MAX = 37     # characters, as field 35
_TRACK2 = re.compile(r"([0-9]{12,19})=([0-9]{2})([0-9]{2})[0-9]{3}[0-9]*")


def check_track2(text):
    """Raise hc.StoredCardError unless `text` is a track 2 as a terminal reads it (docs/host-interface.md
    15.3): PAN of 12 to 19 digits whose check digit is right, '=', expiry YYMM (month 01 to 12), service
    code (3 digits), discretionary digits; at most 37 characters. The messages never quote the data."""
    m = _TRACK2.fullmatch(text)
    if len(text) > TRACK2_MAX or not m:
        raise hc.StoredCardError("field 61: not a track 2 (PAN of 12-19 digits, '=', expiry, service code; "
                                 "at most 37 characters)")
    if not luhn_ok(m.group(1)):
        raise hc.StoredCardError("field 61: the PAN's check digit is wrong")
    if not 1 <= int(m.group(3)) <= 12:
        raise hc.StoredCardError("field 61: the expiry month is not 01 to 12")


def stored_card(bdks, field61):
    """The track 2 text of an advice's field 61 (hex, as pyiso8583 gives it), deciphered under the data
    key of the KSN it carries and checked (check_track2). hc.StoredCardError otherwise."""
    raw = _bytes(field61)
    if raw is None:
        raise hc.StoredCardError("field 61: not binary data")
    track2 = hc.decipher_stored_card(raw, aes_bdk=bdks.aes, tdes_bdk=bdks.tdes)
    check_track2(track2)
    return track2


def _bytes(value):
    """A pyiso8583 binary field (hex text) as bytes; None when absent or not hex."""
    if not isinstance(value, str):
        return None
    try:
        return bytes.fromhex(value)
    except ValueError:
        return None


def structure_problems(req):
    """Breaches of section 13 by a decoded request: 53 with 52 and 64, a KSN of 10 or 12 bytes, a PIN
    block of the KSN's scheme's length."""
    bad = []
    if (PIN_FIELD in req or MAC_FIELD in req) and KSN_FIELD not in req:
        bad.append("field 53 (KSN) missing: it goes with 52 and 64 (section 13)")
    ksn = _bytes(req.get(KSN_FIELD))
    scheme = KSN_LENGTHS.get(len(ksn)) if ksn is not None else None
    if KSN_FIELD in req and scheme is None:
        bad.append("field 53 is %d bytes: a KSN is 12 (AES DUKPT) or 10 (TDES DUKPT)" % len(ksn or b""))
    block = _bytes(req.get(PIN_FIELD))
    if block is not None and scheme and len(block) != PIN_BLOCK_LENGTHS[scheme]:
        bad.append("field 52 is %d bytes: %d with a %d-byte KSN" % (len(block), PIN_BLOCK_LENGTHS[scheme], len(ksn)))
    return bad


@dataclass
class Security:
    keys: hc.SessionKeys | None = None   # the KSN's working keys, when it has usable ones
    mac: str = "none"                    # request MAC: ok, bad, none (no field 64, or not checked)
    ksn: str | None = None               # field 53, hex, for the ledger
    sign_reply: bool = False             # the reply gets a field 64

    def pin(self, req, pan):
        """The PIN in field 52, or raises hc.PinBlockError (also when the KSN gives no keys)."""
        if self.keys is None:
            raise hc.PinBlockError("no working keys for this KSN")
        return self.keys.decipher_pin(_bytes(req[PIN_FIELD]), pan)

    def seal(self, body, corrupt=False):
        """A reply encoded with a placeholder field 64 (its last 8 bytes) -> with its MAC."""
        body = bytes(body)
        mac = self.keys.reply_mac(body[:-hc.MAC_LEN])
        if corrupt:
            mac = bytes(b ^ 0xFF for b in mac)
        return body[:-hc.MAC_LEN] + mac


def inspect(bdks, raw, req, intact=True):
    """The security facts of a request: its KSN's keys, and whether its MAC verifies. `intact`: the
    request decoded completely, so its field 64 is the last 8 bytes of `raw` and the MAC can be checked."""
    sec = Security()
    ksn = _bytes(req.get(KSN_FIELD))
    if ksn is not None:
        sec.ksn = ksn.hex().upper()
        sec.keys = bdks.session(ksn) if len(ksn) in KSN_LENGTHS else None
    mac = _bytes(req.get(MAC_FIELD))
    if mac is None:
        return sec
    sec.sign_reply = sec.keys is not None
    if sec.keys is None:
        sec.mac = "bad" if intact else "none"   # a KSN the host cannot use authenticates nothing
    elif intact and raw is not None and len(raw) > hc.MAC_LEN and raw[-hc.MAC_LEN:] == mac:
        sec.mac = "ok" if hc.verify(sec.keys.request_mac(raw[:-hc.MAC_LEN]), mac) else "bad"
    elif intact:
        sec.mac = "bad"
    return sec
