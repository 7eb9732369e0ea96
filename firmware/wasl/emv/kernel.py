# The EMV kernel: one transaction with one card, over an APDU transport (wasl/emv/apdu.py), each step
# under its EMV Book 3 name. docs/emv.md maps them to the book and describes the parameters.
#
#   k = Kernel(transport, params["emv"], entry="chip", choose=choose_app, pin=enter_pin)
#   r = await k.start(amount, local)         # selection ... first GENERATE AC
#   if r.outcome == GO_ONLINE:                # send the 0200 with r.card() and r.de55, then:
#       r = await k.complete(rc, field55)     # rc None: no reply (unable to go online)
#   ...
#   r.wipe()
#
# Data: three tables of tag -> value. `term` holds what the terminal supplies (amounts, dates, TVR 95,
# TSI 9B, 9F34, 8A, the ARPC 91...), `fci` what the final SELECT returned, `icc` what GET PROCESSING
# OPTIONS, READ RECORD, GET DATA and GENERATE AC returned. get() looks in that order, so a card can
# never overwrite a terminal value. Card errors never escape: start() and complete() return a Result
# whose outcome is card_error (or not_accepted, cancelled) with a message key.
import os
from binascii import hexlify, unhexlify

from wasl import log
from wasl.emv import tlv
from wasl.emv.apdu import Cancelled, CardError, NotAccepted
from wasl.emv.appdata import initiate_application_processing, read_application_data
from wasl.emv.cvm import cardholder_verification
from wasl.emv.genac import card_action_analysis, completion
from wasl.emv.issuer import issuer_authentication, issuer_script_processing, online_processing
from wasl.emv.result import (APPROVED, APPROVED_OFFLINE, CANCELLED, CARD_ERROR, DE55_TAGS, DECLINED,
                             DECLINED_OFFLINE, GO_ONLINE, NOT_ACCEPTED, Result, build_de55)
from wasl.emv.risk import (AAC, ARQC, TC, processing_restrictions, terminal_action_analysis,
                           terminal_risk_management)
from wasl.emv.select import build_candidate_list, select_application

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

_MAX_OBJECTS = const(64)    # data objects kept from the card
# Offline data authentication material: not kept until ODA is implemented (it is the bulk of the records).
_SKIP = const((0x90, 0x92, 0x93, 0x9F46, 0x9F48, 0x9F2D, 0x9F2F, 0x9F4B))


def _bcd(n, size):
    out = bytearray(size)
    for i in range(size - 1, -1, -1):
        out[i] = (n % 10) | ((n // 10 % 10) << 4)
        n //= 100
    return bytes(out)


class Kernel:
    def __init__(self, transport, params, entry="chip", choose=None, pin=None, rng=None, floor_cap=None):
        """params: the "emv" object of the parameter document (docs/emv.md). entry: 'chip' or 'tap'.
        choose: async (labels) -> index or None (cancel). pin: async (result) -> True (online PIN
        entered, the caller keeps the PIN block), False (bypassed) or None (cancelled).
        rng: n -> n random bytes (unpredictable number, random selection). floor_cap: the terminal's
        own ceiling on the floor limits of emv.json (its store and forward: 0 when it cannot take an
        offline approval now)."""
        self.floor_cap = floor_cap
        self.transport = transport
        self.params = params
        self.contactless = entry == "tap"
        self.choose = choose
        self.pin = pin
        self.rng = rng or os.urandom
        self.aids = [(unhexlify(e["aid"]), e) for e in params.get("aids", ())]
        self.cl = params.get("contactless", {})
        tags = params.get("de55_tags")
        self.de55_tags = tuple(int(t, 16) for t in tags) if tags else DE55_TAGS
        self.term = {}
        self.fci = {}
        self.icc = {}
        self.tvr = bytearray(5)
        self.tsi = bytearray(2)
        self.scripts = bytearray()
        self.result = Result(entry)
        self.entry = {}
        self.issuer_data = None
        self.amount = 0
        self.txn_type = 0
        self.services = False
        self.today = 0
        self.floor_limit = 0
        self.ac_tvr = b""           # the TVR as sent with the command that gave the cryptogram

    # ---- data --------------------------------------------------------------------------------------

    def get(self, tag):
        v = self.term.get(tag)
        if v is None:
            v = self.icc.get(tag)
            if v is None:
                v = self.fci.get(tag)
        return v

    @staticmethod
    def hexparam(obj, key, default):
        """The hex text obj[key] as bytes; default (bytes) when obj has no key."""
        v = obj.get(key)
        return default if v is None else unhexlify(v)

    def keep(self, b, table, strict=False, start=0, end=None):
        """Store every primitive object of b[start:end] (templates entered) in table. strict: a tag
        seen twice is a card error (Book 3 10.2: redundant data). Terminal tags are never taken."""
        term = self.term

        def sink(t, vs, ve):
            if t in term or t in _SKIP:
                return False
            if strict and t in table:
                raise CardError("redundant %X" % t)
            if len(table) >= _MAX_OBJECTS and t not in table:
                raise CardError("too many data objects")
            v = b[vs:ve]
            table[t] = bytearray(v) if t == 0x5A or t == 0x57 else bytes(v)
            return False

        tlv.walk(b, sink, start, end)

    def online_capable(self):
        return self.term[0x9F35][0] & 0x0F in (1, 2, 4, 5)

    def _terminal_data(self, amount, local, txn_type, amount_other, seq):
        p = self.params
        t = self.term
        t.clear()
        self.fci.clear()
        self.icc.clear()
        for i in range(5):
            self.tvr[i] = 0
        self.tsi[0] = self.tsi[1] = 0
        self.amount = amount
        self.txn_type = txn_type
        t[0x9F02] = _bcd(amount, 6)
        t[0x9F03] = _bcd(amount_other, 6)
        t[0x81] = (amount & 0xFFFFFFFF).to_bytes(4, "big")
        t[0x9F04] = (amount_other & 0xFFFFFFFF).to_bytes(4, "big")
        y, mo, d, hh, mi, ss = local[:6]
        self.today = y * 10000 + mo * 100 + d
        t[0x9A] = _bcd(self.today % 1000000, 3)
        t[0x9F21] = _bcd(hh * 10000 + mi * 100 + ss, 3)
        t[0x9C] = bytes((txn_type,))
        t[0x9F37] = bytes(self.rng(4))
        t[0x5F2A] = self.hexparam(p, "currency", b"\x00\x12")
        t[0x5F36] = bytes((p.get("currency_exponent", 2),))
        t[0x9F1A] = self.hexparam(p, "country", b"\x00\x12")
        t[0x9F33] = self.hexparam(p, "capabilities", b"\xE0\x68\x00")
        t[0x9F35] = self.hexparam(p, "terminal_type", b"\x22")
        t[0x9F40] = self.hexparam(p, "additional_capabilities", b"\x60\x00\xF0\xA0\x01")
        s = p.get("ifd_serial")
        t[0x9F1E] = b"00000000" if s is None else s.encode()
        for key, tag in (("merchant_category", 0x9F15),):
            if key in p:
                t[tag] = self.hexparam(p, key, b"")
        t[0x9F41] = _bcd(seq, 4)
        t[0x9F39] = b"\x07" if self.contactless else b"\x05"
        t[0x95] = self.tvr
        t[0x9B] = self.tsi
        if len(t[0x9F33]) != 3 or len(t[0x9F35]) != 1 or len(t[0x5F2A]) != 2 or len(t[0x9F1A]) != 2:
            raise ValueError("emv parameters: capabilities, terminal_type, currency or country")
        if self.contactless:
            ttq = bytearray(self.hexparam(self.cl, "ttq", b"\x36\x00\x40\x00"))
            if amount >= self._floor(self.cl):
                ttq[1] |= 0x80      # online cryptogram required
            if amount >= self.cl.get("cvm_limit", 0):
                ttq[1] |= 0x40      # CVM required
            t[0x9F66] = bytes(ttq)

    def _floor(self, p):
        fl = p.get("floor_limit", 0)
        return fl if self.floor_cap is None or fl < self.floor_cap else self.floor_cap

    def _application_data(self, c):
        """Terminal data of the chosen application (Book 1 12.4 / Book 3 10.1)."""
        e = c.entry
        self.entry = e
        t = self.term
        t[0x9F06] = c.aid
        if "version" in e:
            t[0x9F09] = self.hexparam(e, "version", b"")
        else:
            t.pop(0x9F09, None)
        self.floor_limit = self._floor(self.cl if self.contactless else e)
        t[0x9F1B] = (self.floor_limit & 0xFFFFFFFF).to_bytes(4, "big")
        r = self.result
        r.aid = hexlify(c.adf).decode().upper()
        r.label = c.label

    # ---- the steps, in transaction order -------------------------------------------------------------

    async def application_selection(self):
        """Book 1 12 (contactless: Book B 3): build the candidate list, choose, final SELECT, then
        GET PROCESSING OPTIONS; an application the card refuses there (6985) leaves the list."""
        cands = await build_candidate_list(self)
        while True:
            c = await select_application(self, cands)
            self._application_data(c)
            if await initiate_application_processing(self):
                return

    def offline_data_authentication(self):
        """Book 3 10.3: not performed by this kernel (no CA keys used yet)."""
        self.tvr[0] |= 0x80         # offline data authentication was not performed

    # ---- the two calls the payment flow makes ----------------------------------------------------------

    async def start(self, amount, local, txn_type=0x00, amount_other=0, seq=0, services=False,
                    force_online=False):
        """Run the transaction up to the first GENERATE AC. amount in minor units; local =
        (year, month, day, hour, minute, second) local time; txn_type is 9C (00 goods/services,
        01 cash, 09 cashback, 20 refund); seq is the transaction sequence counter (9F41); services
        picks the services bits of the AUC. Returns self.result (outcome approved_offline,
        declined_offline, go_online, card_error, not_accepted or cancelled)."""
        r = self.result
        self.services = services
        try:
            self._terminal_data(amount, local, txn_type, amount_other, seq)
            if self.contactless and amount >= self.cl.get("transaction_limit", 1 << 40):
                raise NotAccepted("over the contactless limit", "card_try_other")
            if force_online:
                self.tvr[3] |= 0x08     # merchant forced transaction online
            await self.application_selection()
            await read_application_data(self)
            icc = self.icc              # the card data now: the PIN callback may need the PAN (PIN block)
            r.pan = icc.get(0x5A)
            r.track2 = icc.get(0x57)
            r.psn = icc.get(0x5F34)
            r.expiry = icc.get(0x5F24, b"")
            r.service = icc.get(0x5F30, b"")
            self.offline_data_authentication()
            processing_restrictions(self)
            await cardholder_verification(self)
            if 0x9F26 not in self.icc:  # contactless cards may give their cryptogram in the GPO reply
                await terminal_risk_management(self)
                await card_action_analysis(self, terminal_action_analysis(self))
            self._first_outcome()
        except Cancelled:
            r.outcome = CANCELLED
        except CardError as e:      # NotAccepted and CardRemoved included
            self._failed(e, NOT_ACCEPTED if isinstance(e, NotAccepted) else CARD_ERROR)
        except tlv.TlvError as e:
            self._failed(CardError(str(e)), CARD_ERROR)
        self._fill()
        return r

    async def complete(self, rc, issuer_data=None):
        """After the host: rc is the response code of a valid reply ('00'...), or None when there was
        none (unable to go online: the default action codes decide); issuer_data is the reply's field 55
        (91, 71, 72). Returns self.result with outcome approved, declined, approved_offline,
        declined_offline or card_error (a card removed now, after an approval, means a reversal)."""
        r = self.result
        if r.outcome != GO_ONLINE:
            return r
        approved = rc is not None and rc in self.params.get("approval_codes", ("00",))
        if self.contactless:        # the card is gone: the host's word is the outcome
            self.term[0x8A] = rc.encode()[:2] if rc is not None else b"Z3"
            r.outcome = APPROVED if approved else DECLINED if rc is not None else DECLINED_OFFLINE
            self._fill()
            return r
        try:
            online_processing(self, rc, issuer_data)
            if rc is None:
                p1 = terminal_action_analysis(self, unable_online=True)
                self.term[0x8A] = b"Y3" if p1 == TC else b"Z3"
            else:
                p1 = TC if approved else AAC
            await issuer_authentication(self)
            await issuer_script_processing(self, 0x71)
            self._final_outcome(await completion(self, p1), approved, rc is None)
            try:
                await issuer_script_processing(self, 0x72)
            except CardError:
                self.tvr[4] |= 0x10     # the outcome stands; the script failed
        except CardError as e:
            self._failed(e, CARD_ERROR)
        except tlv.TlvError as e:
            self._failed(CardError(str(e)), CARD_ERROR)
        self._fill()
        return r

    def wipe(self):
        """Forget the card: zero the PAN and track 2 equivalent, drop every table."""
        self.result.wipe()
        self.icc.clear()
        self.fci.clear()
        self.issuer_data = None

    # ---- outcome --------------------------------------------------------------------------------------

    def _failed(self, e, outcome):
        r = self.result
        r.outcome = outcome
        r.error = e.key
        log.info("emv", "%s: %s (%s)", outcome, e.key, e.args[0] if e.args else "")

    def _first_outcome(self):
        r = self.result
        cid = self.icc.get(0x9F27)
        kind = cid[0] & 0xC0 if cid else ARQC      # no CID from a contactless GPO: online
        if kind == ARQC:
            r.outcome = GO_ONLINE
        elif kind == TC:
            r.outcome = APPROVED_OFFLINE
            self.term[0x8A] = b"Y1"
        else:
            self.term[0x8A] = b"Z1"
            if cid and cid[0] & 0x07 == 0x01:
                raise NotAccepted("card: service not allowed")
            r.outcome = DECLINED_OFFLINE
            tvr = self.tvr
            r.error = ("card_expired" if tvr[1] & 0x40 else "card_not_effective" if tvr[1] & 0x20
                       else "card_not_accepted" if tvr[1] & 0x10 else "card_declined")

    def _final_outcome(self, cid, approved, unable_online):
        r = self.result
        if cid & 0xC0 == TC:
            r.outcome = APPROVED_OFFLINE if unable_online else APPROVED
        else:
            r.outcome = DECLINED_OFFLINE if unable_online else DECLINED
            r.card_declined = approved      # the host said yes: the 0200 must be reversed
            r.error = "card_declined" if approved else ""

    def _fill(self):
        r = self.result
        icc = self.icc
        t = self.term
        r.tvr = bytes(self.tvr)
        r.tsi = bytes(self.tsi)
        r.cvm = t.get(0x9F34, b"")
        r.arc = t.get(0x8A, b"")
        r.scripts = bytes(self.scripts)
        cid = icc.get(0x9F27)
        r.cid = cid[0] if cid else 0
        if 0x9F26 in icc:
            tags = self.de55_tags
            if self.scripts:        # after complete(): the issuer script results go with the rest
                t[0x9F5B] = r.scripts
                tags = tags + (0x9F5B,)
            # field 55 carries the TVR the cryptogram was computed over; r.tvr has the final one
            r.de55 = build_de55(lambda tag: self.ac_tvr if tag == 0x95 else self.get(tag), tags)
