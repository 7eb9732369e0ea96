"""The card issuer behind the simulator (docs/host-interface.md sections 10.8, 10.9 and 14): each test card's
PIN, the wrong-PIN count, the ARQC of field 55 verified and the reply's field 55 (ARPC 91, issuer scripts)
built with tools/virtual/emvhost.py (pyemv); the TC of an offline approval's advice verified the same way.

Cards: the virtual EMV card profiles host_tests/cards/emv_*.json (PAN, PIN, issuer keys) and
host_tests/cards/magstripe.json (track 2 and "pin"); a PAN found in neither has the PIN 1234 and no chip
keys. The wrong-PIN counts live in memory only (keyed by a hash of the PAN): a restart clears them.
"""
import hashlib
import hmac
import json
import os
import re
from dataclasses import dataclass

import pyemv

from tools import hostcrypto as hc
from tools.virtual import emvhost
from tools.virtual.emvcard import CARDS, compute_ac, icc_keys, load_profile, profile_names, quiet

from . import rules

ARQC, TC = 0x80, 0x40   # 9F27 cryptogram type bits (b8-b7): 00 AAC, 01 TC, 10 ARQC
# The data elements a cryptogram covers (as tools/virtual/emvhost.verify_arqc needs them).
AC_TAGS = ("9F26", "9F27", "9F36", "9F10", "9F02", "9F03", "9F1A", "95", "5F2A", "9A", "9C", "9F37", "82")


@dataclass
class Icc:
    """A verified ARQC: what the reply's field 55 is computed from."""
    profile: dict
    de55: bytes
    pan: str


class Issuer:
    def __init__(self, cards_dir=CARDS, pin_tries=rules.PIN_TRIES):
        self.pin_tries = pin_tries
        self.profiles = {}     # PAN -> EMV profile (the first by name: profiles sharing a PAN share keys)
        self.pins = {}         # PAN -> PIN
        for name in profile_names(cards_dir):
            prof = load_profile(name, cards_dir)
            pan = emvhost.profile_pan(prof)
            if pan:
                self.profiles.setdefault(pan, prof)
                if prof.get("pin"):
                    self.pins.setdefault(pan, str(prof["pin"]))
        path = os.path.join(cards_dir, "magstripe.json")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                for card in json.load(f)["cards"].values():
                    pan = re.match(r"[0-9]*", card.get("track2", "")).group()
                    if pan and card.get("pin"):
                        self.pins.setdefault(pan, str(card["pin"]))
        self._wrong = {}       # sha256(PAN) -> consecutive wrong PINs

    def pin_of(self, pan):
        return self.pins.get(pan, rules.DEFAULT_PIN)

    # -- field 52

    def check_pin(self, sec, req, pan):
        """(ledger pin value, response code or None to go on) for the PIN block of `req`."""
        try:
            pin = sec.pin(req, pan)
        except hc.PinBlockError:
            return "bad_block", rules.BAD_PIN_BLOCK
        key = hashlib.sha256(pan.encode()).digest()
        if hmac.compare_digest(pin.encode(), self.pin_of(pan).encode()):
            self._wrong.pop(key, None)
            return "ok", None
        n = self._wrong[key] = self._wrong.get(key, 0) + 1
        return "wrong", rules.PIN_TRIES_EXCEEDED if n >= self.pin_tries else rules.WRONG_PIN

    # -- field 55

    def check_arqc(self, de55_hex, pan, proc_code):
        """(ledger arqc value, Icc or None). "ok": an ARQC that verifies under the card's keys; "bad": no
        card keys for the PAN, unreadable DE55, a wrong cryptogram, or no ARQC in a sale or bill payment;
        "none": a refund's TC or AAC, not verified."""
        de55 = bytes.fromhex(de55_hex)
        try:
            tags = emvhost.decode_de55(de55)
            cid = tags["9F27"][0]
        except (pyemv.tlv.DecodeError, KeyError, IndexError, ValueError):
            return "bad", None
        if cid & 0xC0 != ARQC:
            return ("none", None) if proc_code == rules.REFUND else ("bad", None)
        profile = self.profiles.get(pan)
        if profile is None:
            return "bad", None
        try:
            ok, _ = emvhost.verify_arqc(profile, de55, pan)
        except Exception:   # malformed data elements pyemv cannot take: not a valid cryptogram
            ok = False
        return ("ok", Icc(profile, de55, pan)) if ok else ("bad", None)

    def check_tc(self, de55_hex, pan):
        """Ledger arqc value of an advice's field 55: "ok" for a TC (9F27 01xxxxxx) that verifies under the
        keys of the card (PAN of field 61, PAN sequence number 5F34 of field 55), recomputed with pyemv as the
        ARQC of a sale is (10.8); "bad" for no card keys for the PAN, unreadable DE55, a data element the
        cryptogram covers missing, an ARQC or AAC instead of a TC, or a wrong cryptogram."""
        try:
            tags = emvhost.decode_de55(bytes.fromhex(de55_hex))
            cid = tags["9F27"][0]
        except (pyemv.tlv.DecodeError, KeyError, IndexError, ValueError):
            return "bad"
        profile = self.profiles.get(pan)
        if cid & 0xC0 != TC or profile is None or any(t not in tags for t in AC_TAGS):
            return "bad"
        try:
            psn = tags.get("5F34")
            keys = icc_keys(profile, pan, psn.hex() if psn else "00")
            ac = compute_ac(keys, profile["issuer"]["cvn"], tags, tags["82"], tags["9F36"], tags["9F10"])
        except Exception:   # malformed data elements pyemv cannot take: not a valid cryptogram
            return "bad"
        return "ok" if hmac.compare_digest(ac, tags["9F26"]) else "bad"

    @quiet
    def reply_field55(self, icc, rc, fault=None):
        """Field 55 of the reply: 91 = the ARPC vouching for `rc` (method 1: ARPC || ARC; method 2:
        ARPC || CSU); with fault "arpc" its first byte is wrong; with "scripts" a 71 and a 72 template."""
        ok, f91 = emvhost.verify_arqc(icc.profile, icc.de55, icc.pan, arc=rc)
        if fault == "arpc":
            f91 = bytes([f91[0] ^ 0xFF]) + f91[1:]
        s71, s72 = [], []
        if fault == "scripts":
            for which, out in ((0x71, s71), (0x72, s72)):
                header, data, script_id = rules.SCRIPTS[which]
                cmd = emvhost.script_command(icc.profile, icc.de55, icc.pan, header, data)
                out.append(emvhost.script_template([cmd], which, script_id))
        return emvhost.response_field55(f91, s71, s72)
