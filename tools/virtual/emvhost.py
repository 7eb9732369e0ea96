"""The issuer's side of EMV, for the acquirer simulator and the tests (CPython, pyemv).

    ok, field91 = verify_arqc(profile, de55, pan)       # the ARQC in ISO 8583 field 55 checked
    reply55 = response_field55(field91, scripts72=[script(profile, de55, pan, ...)])

verify_arqc recomputes the cryptogram with pyemv from the DE55 data (decoded by pyemv.tlv, not by
the firmware's TLV code) and the ICC master key derived from the profile's issuer master key for
that PAN and PAN sequence number (5F34 from DE55). When it matches it returns the issuer
authentication data (91) the card will check: ARPC method 2 (CVN 18: ARPC || CSU) or method 1
(CVN 10, 16: ARPC || ARC).
"""
import os

import pyemv

from tools.virtual.emvcard import CARDS, arpc_field, compute_ac, icc_keys, load_profile, profile_names, quiet


def decode_de55(de55):
    """{tag hex: bytes} of a field 55, by pyemv (independent of the firmware's TLV)."""
    return pyemv.tlv.decode(bytes(de55))


def find_profile(pan, cards_dir=CARDS):
    """The card profile (host_tests/cards/emv_*.json) whose PAN (5A, or 57 before the separator) is
    `pan`, or None: how a simulated issuer finds its keys."""
    for name in profile_names(cards_dir):
        prof = load_profile(name, cards_dir)
        if profile_pan(prof) == pan:
            return prof
    return None


def _keys(profile, pan, tags):
    psn = tags.get("5F34")
    return icc_keys(profile, pan, psn.hex() if psn else "00")


def profile_pan(profile):
    """The PAN personalised in a profile (its first application's 5A, or 57 before the separator)."""
    for a in profile.get("apps", []):
        for rec in list(a.get("records", {}).values()) + [a.get("gpo_extra", {})]:
            if isinstance(rec, dict) and (rec.get("5A") or rec.get("57")):
                return (rec.get("5A") or rec.get("57").split("D")[0]).rstrip("F")
    return None


def verify_arqc(profile, de55, pan=None, arc="00", csu=b"\x00\x00\x00\x00"):
    """(ok, issuer authentication data 91 or None) for the ARQC in field 55.

    profile: a card profile dict or name (its "issuer" keys and CVN); pan: the PAN digits from field 35
    (default: the profile's own PAN); arc: the authorisation response code the ARPC vouches for
    (method 1); csu: card status update (method 2)."""
    if isinstance(profile, str):
        profile = load_profile(profile)
    pan = pan or profile_pan(profile)
    try:
        t = decode_de55(de55)
    except pyemv.tlv.DecodeError:
        return False, None
    need = ("9F26", "9F27", "9F36", "9F10", "9F02", "9F03", "9F1A", "95", "5F2A", "9A", "9C", "9F37", "82")
    if any(k not in t for k in need) or t["9F27"][0] & 0xC0 != 0x80:
        return False, None
    cvn = profile["issuer"]["cvn"]
    keys = _keys(profile, pan, t)
    ac = compute_ac(keys, cvn, t, t["82"], t["9F36"], t["9F10"])
    if ac != t["9F26"]:
        return False, None
    return True, arpc_field(keys, cvn, t["9F26"], t["9F36"], arc.encode() if isinstance(arc, str) else arc, csu)


@quiet
def script_command(profile, de55, pan, header, data=b""):
    """An issuer script command with secure messaging: header (CLA 84, INS, P1, P2, Lc of data + MAC),
    data, MAC(8) under the ICC integrity session key for this transaction's ARQC."""
    if isinstance(profile, str):
        profile = load_profile(profile)
    t = decode_de55(de55)
    keys = _keys(profile, pan, t)
    head = bytes(header[:4]) + bytes([len(data) + 8])
    return head + data + keys.generate_command_mac(head, t["9F26"], t["9F36"], data)


def script_template(commands, which=0x72, script_id=b""):
    """A 71 or 72 template: optional script identifier 9F18, then one 86 per command."""
    body = b""
    if script_id:
        body += b"\x9f\x18" + bytes([len(script_id)]) + script_id
    for c in commands:
        body += b"\x86" + bytes([len(c)]) + c
    return bytes([which, len(body)]) + body


def response_field55(field91=None, scripts71=(), scripts72=()):
    """Field 55 of an authorisation response: 91, then the script templates."""
    out = b""
    if field91:
        out += b"\x91" + bytes([len(field91)]) + field91
    for s in list(scripts71) + list(scripts72):
        out += s
    return out


if __name__ == "__main__":   # pragma: no cover - a quick look at the profiles
    for n in profile_names():
        p = load_profile(n)
        print("%-28s cvn %-3s %s" % (n, p["issuer"]["cvn"], p.get("label", "")))
    print(os.path.relpath(CARDS))
