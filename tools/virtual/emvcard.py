"""A virtual EMV chip card: answers command APDUs the way a personalised card does.

The card is described by a JSON profile (host_tests/cards/emv_*.json, format in docs/emv.md): its
applications (AID, label, priority, PDOL, AIP, AFL, records, CDOL1/CDOL2, issuer application data),
the cryptogram version (CVN 10 or 18 Visa-style, CVN 16 Mastercard-style) and the issuer master keys
its ICC master keys are derived from (pyemv.kd, through pyemv.cvn), and faults to inject.

Commands: SELECT (PSE 1PAY.SYS.DDF01, PPSE 2PAY.SYS.DDF01, AID first/next occurrence), READ RECORD,
GET PROCESSING OPTIONS (format 1 or 2; a contactless profile returns its cryptogram there), GET DATA
(9F36, 9F13, 9F17), GENERATE AC (first with CDOL1, second with CDOL2; the P1 reference control is
honoured, never a higher cryptogram than asked), EXTERNAL AUTHENTICATE (ARPC checked), issuer script
commands (CLA 84, MAC checked), GET RESPONSE for a T=0 profile. Status words: 9000, 61xx, 6Cxx, 6283,
6700, 6985, 6988, 6A81, 6A82, 6A83, 6A86, 6A88, 6D00, 6E00.

    card = VirtualCard(load_profile("emv_visa_cvn18"))
    rapdu = card.apdu(bytes.fromhex("00A404000E315041592E5359532E444446303100"))
"""
import copy
import json
import os
import warnings

from cryptography.utils import CryptographyDeprecationWarning

import pyemv

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CARDS = os.path.join(ROOT, "host_tests", "cards")
PSE = b"1PAY.SYS.DDF01"
PPSE = b"2PAY.SYS.DDF01"


class CardGone(Exception):
    """The card left the reader (fault injection): the reader reports it to the kernel."""


# ---- profiles ------------------------------------------------------------------------------------------

def _merge(base, over):
    """Deep merge: dicts merged key by key (None deletes), lists of dicts merged item by item."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            if v is None:
                out.pop(k, None)
            elif k in out:
                out[k] = _merge(out[k], v)
            else:
                out[k] = copy.deepcopy(v)
        return out
    if isinstance(base, list) and isinstance(over, list) and all(isinstance(x, dict) for x in over):
        out = [copy.deepcopy(x) for x in base]
        for i, v in enumerate(over):
            if i < len(out):
                out[i] = _merge(out[i], v)
            else:
                out.append(copy.deepcopy(v))
        return out
    return copy.deepcopy(over)


def load_profile(name, cards_dir=CARDS):
    """A profile by name ('emv_visa_cvn18') or path, with its "extends" chain resolved."""
    path = name if name.endswith(".json") else os.path.join(cards_dir, name + ".json")
    with open(path, encoding="utf-8") as f:
        prof = json.load(f)
    if "extends" in prof:
        base = load_profile(prof.pop("extends"), os.path.dirname(path))
        prof = _merge(base, prof)
    apps = prof.get("apps", [])
    for i, a in enumerate(apps):
        if "like" in a:             # an application built on another one of the same card
            a = dict(a)
            apps[i] = _merge(apps[a.pop("like")], a)
    prof["name"] = os.path.basename(path)[:-5]
    return prof


def profile_names(cards_dir=CARDS):
    return sorted(f[:-5] for f in os.listdir(cards_dir) if f.startswith("emv_") and f.endswith(".json"))


# ---- TLV (its own small encoder and DOL reader: independent of the firmware's) --------------------------

def tlv(tag, value):
    t = bytes.fromhex(tag) if isinstance(tag, str) else tag
    n = len(value)
    if n < 0x80:
        ln = bytes([n])
    elif n < 0x100:
        ln = bytes([0x81, n])
    else:
        ln = bytes([0x82, n >> 8, n & 0xFF])
    return t + ln + value


def parse_dol(dol):
    """[(tag hex, length)] of a DOL."""
    out = []
    i = 0
    while i < len(dol):
        j = i + 1
        if dol[i] & 0x1F == 0x1F:
            while dol[j] & 0x80:
                j += 1
            j += 1
        out.append((dol[i:j].hex().upper(), dol[j]))
        i = j + 1
    return out


def split_dol(dol, data):
    """{tag hex: value} of DOL data."""
    out = {}
    pos = 0
    for tag, n in parse_dol(dol):
        out[tag] = data[pos:pos + n]
        pos += n
    return out


def _h(s):
    return bytes.fromhex(s.replace(" ", ""))


# ---- cryptography -------------------------------------------------------------------------------------

CVNS = {10: pyemv.cvn.VisaCVN10, 18: pyemv.cvn.VisaCVN18, 16: pyemv.cvn.MasterCardCVN16}


def quiet(fn):
    """pyemv's two-key TDES goes through `cryptography`, which warns at every call: not our news."""
    def wrapper(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            return fn(*args, **kwargs)
    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


@quiet
def icc_keys(profile, pan, psn):
    """The pyemv CVN object holding this card's ICC master keys, derived from the issuer master keys
    (pyemv.kd: option A for CVN 10 and 16, option B for CVN 18)."""
    iss = profile["issuer"]
    cls = CVNS[iss["cvn"]]
    return cls(_h(iss["imk_ac"]), _h(iss["imk_smi"]), _h(iss["imk_smc"]), pan, psn or "00")


def cvr_of(cvn, iad):
    """The part of the issuer application data (9F10) that enters the cryptogram."""
    if cvn == 10:
        return iad[3:7]             # CVR, length byte included
    if cvn == 16:
        return iad[2:8]             # M/Chip CVR, 6 bytes
    return iad                      # CVN 18: the whole IAD


@quiet
def compute_ac(keys, cvn, d, aip, atc, iad):
    """The application cryptogram over the EMV data d ({tag hex: bytes}), as each CVN defines it."""
    args = dict(tag_9f02=d["9F02"], tag_9f03=d["9F03"], tag_9f1a=d["9F1A"], tag_95=d["95"],
                tag_5f2a=d["5F2A"], tag_9a=d["9A"], tag_9c=d["9C"], tag_9f37=d["9F37"], tag_82=aip,
                tag_9f36=atc)
    if cvn == 18:
        return keys.generate_ac(tag_9f10=iad, **args)
    return keys.generate_ac(cvr=cvr_of(cvn, iad), **args)


@quiet
def arpc_field(keys, cvn, arqc, atc, arc=b"00", csu=b"\x00\x00\x00\x00"):
    """Issuer authentication data (91): ARPC method 2 (CVN 18): ARPC(4) || CSU; method 1: ARPC(8) || ARC."""
    if cvn == 18:
        return keys.generate_arpc(tag_9f26=arqc, tag_9f36=atc, csu=csu) + csu
    return keys.generate_arpc(tag_9f26=arqc, arpc_rc=arc) + arc


# ---- the card -----------------------------------------------------------------------------------------

class VirtualCard:
    """One card in one reader session. `log` keeps every (command, response) pair."""

    def __init__(self, profile, remove_at=None):
        self.p = profile
        self.apps = profile["apps"]
        self.remove_at = remove_at if remove_at is not None else profile.get("faults", {}).get("remove_at")
        self.log = []
        self.scripts = []           # script commands received and their status words
        self.selected = None        # 'pse' | 'ppse' | app index
        self.gac = 0
        self.gpo_done = False
        self.arqc = None
        self.issuer_auth = None     # None not tried, True/False result of EXTERNAL AUTHENTICATE / CDOL2 91
        self._pending = b""         # T=0: response data waiting for GET RESPONSE
        self._last_cmd = None
        self._removed = False
        self.atc = {i: a.get("atc", 1) for i, a in enumerate(self.apps)}

    # reader side ------------------------------------------------------------------------------------
    def apdu(self, capdu):
        capdu = bytes(capdu)
        n = len(self.log)
        if self._removed or self._remove_now(capdu, n):
            self._removed = True
            raise CardGone("card removed at command %d" % n)
        r = self._dispatch(capdu)
        self.log.append((capdu, r))
        return r

    def _remove_now(self, capdu, n):
        ra = self.remove_at
        if ra is None:
            return False
        if isinstance(ra, int):
            return n == ra
        return len(capdu) > 1 and capdu[1] == int(ra, 16)    # "AE": at the first GENERATE AC

    # dispatch ---------------------------------------------------------------------------------------
    def _dispatch(self, c):
        if len(c) < 4:
            return b"\x67\x00"
        if self.p.get("blocked"):
            return b"\x6A\x81"
        cla, ins, p1, p2 = c[0], c[1], c[2], c[3]
        data, le, err = self._body(c)
        if err:
            return err
        if ins == 0xC0 and cla == 0x00:
            return self._get_response(p1, p2, le)
        if cla == 0x84:
            return self._script(c, data)
        if cla not in (0x00, 0x80):
            return b"\x6E\x00"
        handler = {(0x00, 0xA4): self._select, (0x00, 0xB2): self._read_record,
                   (0x80, 0xA8): self._gpo, (0x80, 0xCA): self._get_data,
                   (0x80, 0xAE): self._generate_ac, (0x00, 0x82): self._external_authenticate}.get((cla, ins))
        if handler is None:
            return b"\x6D\x00"
        resp, sw = handler(p1, p2, data)
        return self._t0(c, data, le, resp, sw)

    @staticmethod
    def _body(c):
        """(data, Le, error response) of a short APDU."""
        if len(c) == 4:
            return b"", None, None
        if len(c) == 5:
            return b"", c[4], None
        lc = c[4]
        if lc == 0 or len(c) < 5 + lc or len(c) > 6 + lc:
            return b"", None, b"\x67\x00"
        return c[5:5 + lc], (c[5 + lc] if len(c) == 6 + lc else None), None

    def _t0(self, c, data, le, resp, sw):
        """T=0 profile: case 4 answers 61xx (GET RESPONSE), case 2 with a wrong Le answers 6Cxx."""
        if not self.p.get("t0") or sw != 0x9000 or not resp:
            return resp + bytes([sw >> 8, sw & 0xFF])
        if data:                     # case 4
            self._pending = resp
            return bytes([0x61, len(resp) & 0xFF])
        if le != len(resp) & 0xFF:   # case 2
            return bytes([0x6C, len(resp) & 0xFF])
        return resp + b"\x90\x00"

    def _get_response(self, p1, p2, le):
        if not self._pending:
            return b"\x69\x85"
        n = le or 256
        out, self._pending = self._pending[:n], self._pending[n:]
        if self._pending:
            return out + bytes([0x61, min(len(self._pending), 255)])
        return out + b"\x90\x00"

    # application selection ---------------------------------------------------------------------------
    def _app_fci(self, a):
        body = b""
        if "label" in a:
            body += tlv("50", a["label"].encode())
        if "priority" in a:
            body += tlv("87", bytes([a["priority"]]))
        if a.get("pdol"):
            body += tlv("9F38", _h(a["pdol"]))
        if "lang" in self.p:
            body += tlv("5F2D", self.p["lang"].encode())
        body += _h(a.get("fci_extra", ""))
        return tlv("6F", tlv("84", _h(a["aid"])) + tlv("A5", body))

    def _dir_entry(self, a):
        e = tlv("4F", _h(a["aid"]))
        if "label" in a:
            e += tlv("50", a["label"].encode())
        if "priority" in a:
            e += tlv("87", bytes([a["priority"]]))
        return tlv("61", e)

    def _select(self, p1, p2, name):
        if p1 != 0x04 or p2 not in (0x00, 0x02):
            return b"", 0x6A86
        self.gac = 0
        self.gpo_done = False
        if name == PSE:
            if not self.p.get("pse"):
                return b"", 0x6A82
            self.selected = "pse"
            fci = tlv("88", b"\x01")
            if "lang" in self.p:
                fci += tlv("5F2D", self.p["lang"].encode())
            return tlv("6F", tlv("84", PSE) + tlv("A5", fci)), 0x9000
        if name == PPSE:
            if not self.p.get("ppse"):
                return b"", 0x6A82
            self.selected = "ppse"
            entries = b"".join(self._dir_entry(a) for a in self.apps)
            return tlv("6F", tlv("84", PPSE) + tlv("A5", tlv("BF0C", entries))), 0x9000
        matches = [i for i, a in enumerate(self.apps) if _h(a["aid"]).startswith(name)]
        if p2 == 0x02:               # next occurrence: after the one selected last
            matches = [i for i in matches if isinstance(self.selected, int) and i > self.selected]
        if not matches:
            return b"", 0x6A82
        i = matches[0]
        self.selected = i
        a = self.apps[i]
        return self._app_fci(a), (0x6283 if a.get("blocked") else 0x9000)

    # records ----------------------------------------------------------------------------------------
    def _read_record(self, p1, p2, data):
        if p2 & 7 != 4 or p1 == 0:
            return b"", 0x6A86
        sfi = p2 >> 3
        if self.selected == "pse":
            if sfi == 1 and p1 == 1:
                return tlv("70", b"".join(self._dir_entry(a) for a in self.apps)), 0x9000
            return b"", 0x6A83
        if not isinstance(self.selected, int):
            return b"", 0x6985
        rec = self.apps[self.selected].get("records", {}).get("%d.%d" % (sfi, p1))
        if rec is None:
            return b"", 0x6A83
        if isinstance(rec, str):     # raw bytes, for malformed records
            return _h(rec), 0x9000
        return tlv("70", b"".join(tlv(t, _h(v)) for t, v in rec.items())), 0x9000

    def _app(self):
        return self.apps[self.selected]

    def _record_value(self, tag):
        for rec in self._app().get("records", {}).values():
            if isinstance(rec, dict) and tag in rec:
                return _h(rec[tag])
        return None

    def _pan_psn(self):
        t2 = self._record_value("57") or _h(self._app().get("gpo_extra", {}).get("57", ""))
        pan = self._record_value("5A")
        pan = pan.hex().upper().rstrip("F") if pan else t2.hex().upper().split("D")[0]
        psn = self._record_value("5F34") or _h(self._app().get("gpo_extra", {}).get("5F34", ""))
        return pan, (psn.hex() if psn else "00")

    def keys(self):
        pan, psn = self._pan_psn()
        return icc_keys(self.p, pan, psn)

    # GET PROCESSING OPTIONS --------------------------------------------------------------------------
    def _gpo(self, p1, p2, data):
        if not isinstance(self.selected, int) or self.gpo_done:
            return b"", 0x6985
        a = self._app()
        if p1 != 0 or p2 != 0:
            return b"", 0x6A86
        pdol = _h(a.get("pdol", ""))
        need = sum(n for _, n in parse_dol(pdol))
        if len(data) < 2 or data[0] != 0x83 or data[1] != len(data) - 2 or data[1] != need:
            return b"", 0x6700
        if a.get("gpo_6985"):
            return b"", 0x6985
        self.gpo_done = True
        i = self.selected
        self.atc[i] += 1
        aip, afl = _h(a["aip"]), _h(a.get("afl", ""))
        if a.get("gpo_format", 2) == 1:
            return tlv("80", aip + afl), 0x9000
        body = tlv("82", aip) + (tlv("94", afl) if afl else b"")
        for t, v in a.get("gpo_extra", {}).items():
            body += tlv(t, _h(v))
        if a.get("cryptogram_in_gpo"):        # contactless (qVSDC-like): an ARQC right away
            d = split_dol(pdol, data[2:])
            atc = self.atc[i].to_bytes(2, "big")
            iad = self._iad(0x80, None)
            self.arqc = compute_ac(self.keys(), self.p["issuer"]["cvn"], d, aip, atc, iad)
            self.gac = 2
            body += tlv("9F27", b"\x80") + tlv("9F36", atc) + tlv("9F26", self.arqc) + tlv("9F10", iad)
        return tlv("77", body), 0x9000

    # GET DATA ---------------------------------------------------------------------------------------
    def _get_data(self, p1, p2, data):
        tag = "%02X%02X" % (p1, p2)
        if not isinstance(self.selected, int):
            return b"", 0x6985
        a = self._app()
        if tag == "9F36":
            return tlv(tag, self.atc[self.selected].to_bytes(2, "big")), 0x9000
        if tag == "9F13" and "last_online_atc" in a:
            return tlv(tag, a["last_online_atc"].to_bytes(2, "big")), 0x9000
        if tag == "9F17":
            return tlv(tag, bytes([a.get("pin_tries", 3)])), 0x9000
        return b"", 0x6A88

    # GENERATE AC ------------------------------------------------------------------------------------
    _KIND = {0x00: 0, 0x80: 1, 0x40: 2}       # AAC < ARQC < TC

    def _iad(self, first, second):
        """Issuer application data with the cryptogram types in its CVR (2 bits each: AAC 00, TC 01,
        ARQC 10)."""
        code = {0x00: 0, 0x40: 1, 0x80: 2, None: 2}
        cvn = self.p["issuer"]["cvn"]
        bits = (code[second] << 6) | (code[first] << 4)
        auth = 0x00 if self.issuer_auth is None else (0x02 if self.issuer_auth else 0x04)
        if cvn == 16:
            return bytes([0x01, 0x10, bits, auth, 0, 0, 0, 0]) + b"\x00\x00" + b"\x00" * 7 + b"\xFF"
        return bytes([0x06, 0x01, cvn, 0x03, bits, auth, 0x00])

    def _generate_ac(self, p1, p2, data):
        if not isinstance(self.selected, int) or not self.gpo_done or self.gac >= 2:
            return b"", 0x6985
        kind = p1 & 0xC0
        if kind == 0xC0 or p2 != 0:
            return b"", 0x6A86
        a = self._app()
        records = {t: v for rec in a.get("records", {}).values() if isinstance(rec, dict) for t, v in rec.items()}
        dol = _h(records["8C"] if self.gac == 0 else records["8D"])
        if len(data) != sum(n for _, n in parse_dol(dol)):
            return b"", 0x6700
        d = split_dol(dol, data)
        cvn = self.p["issuer"]["cvn"]
        atc = self.atc[self.selected].to_bytes(2, "big")
        if self.gac == 0:
            policy = a.get("first_gac", "online")
            if policy == "decline":
                got = 0x00
            elif kind == 0x40 and policy != "offline":
                got = 0x80            # the card wants to go online
            else:
                got = kind
            iad = self._iad(got, None)
        else:
            if "91" in d:             # ARPC in CDOL2: the card checks it here
                self.issuer_auth = self._check_arpc(d["91"])
            got = kind
            if kind == 0x40 and a.get("issuer_auth_mandatory", True) and not self.issuer_auth:
                got = 0x00
            iad = self._iad(0x80, got)
        if self._KIND[got] > self._KIND[kind]:
            got = kind
        ac = compute_ac(self.keys(), cvn, d, _h(a["aip"]), atc, iad)
        if self.gac == 0 and got == 0x80:
            self.arqc = ac
        self.gac += 1
        cid = bytes([got])
        if a.get("gac_format", 2) == 1:
            return tlv("80", cid + atc + ac + iad), 0x9000
        return tlv("77", tlv("9F27", cid) + tlv("9F36", atc) + tlv("9F26", ac) + tlv("9F10", iad)), 0x9000

    @quiet
    def _check_arpc(self, field91):
        if self.arqc is None:
            return False
        cvn = self.p["issuer"]["cvn"]
        atc = self.atc[self.selected].to_bytes(2, "big")
        if cvn == 18:
            arpc, csu = field91[:4], field91[4:8]
            good = self.keys().generate_arpc(tag_9f26=self.arqc, tag_9f36=atc, csu=csu)
            return len(field91) >= 8 and arpc == good
        arpc, arc = field91[:8], field91[8:10]
        return len(field91) == 10 and arpc == self.keys().generate_arpc(tag_9f26=self.arqc, arpc_rc=arc)

    def _external_authenticate(self, p1, p2, data):
        if self.gac != 1 or self.issuer_auth is not None:
            return b"", 0x6985
        if not 8 <= len(data) <= 16:
            return b"", 0x6700
        self.issuer_auth = self._check_arpc(data)
        return b"", (0x9000 if self.issuer_auth else 0x6300)

    # issuer scripts ----------------------------------------------------------------------------------
    @quiet
    def _script(self, c, data):
        """Secure messaging commands (CLA 84): data || MAC(8) under the ICC's integrity session key."""
        ok = False
        if self.arqc is not None and len(data) >= 8 and c[1] in (0x1E, 0x18, 0x24, 0xDA, 0xDC):
            header = bytes([c[0], c[1], c[2], c[3], c[4]])
            atc = self.atc[self.selected].to_bytes(2, "big")
            mac = self.keys().generate_command_mac(header, self.arqc, atc, data[:-8])
            ok = mac == data[-8:]
        sw = b"\x90\x00" if ok else b"\x69\x88"
        self.scripts.append((c, sw))
        return sw


class Reader:
    """The APDU transport the firmware kernel expects (async exchange), over a VirtualCard. A card that
    leaves raises `removed` (the kernel's CardRemoved)."""

    def __init__(self, card, removed=Exception):
        self.card = card
        self.removed = removed

    async def exchange(self, capdu):
        try:
            return self.card.apdu(capdu)
        except CardGone as e:
            raise self.removed(str(e))
