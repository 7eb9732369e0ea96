"""The firmware's EMV kernel (firmware/wasl/emv/) against the virtual cards (tools/virtual/emvcard.py),
with the issuer side in pyemv (tools/virtual/emvhost.py); then fuzzing of the TLV parser and of the
kernel fed mutated card responses (hypothesis): only the kernel's own errors may come out, and from
start()/complete() nothing at all."""
import asyncio
import os
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.join(ROOT, "firmware") not in sys.path:
    sys.path.insert(0, os.path.join(ROOT, "firmware"))

import pyemv  # noqa: E402

from tools.virtual import emvhost, emvrecord  # noqa: E402
from tools.virtual.emvcard import Reader, VirtualCard, load_profile, profile_names  # noqa: E402
from wasl.emv import tlv  # noqa: E402
from wasl.emv.apdu import CardError, CardRemoved  # noqa: E402
from wasl.emv.kernel import Kernel  # noqa: E402
from wasl.emv.result import DE55_TAGS  # noqa: E402

PARAMS = emvrecord.TEST_PARAMS
NOW = (2026, 7, 5, 10, 8, 7)
OUTCOMES = {"approved_offline", "declined_offline", "go_online", "approved", "declined", "card_error",
            "not_accepted", "cancelled"}


class Run:
    """One card, one kernel, the callbacks' calls recorded."""

    def __init__(self, profile, pin=True, choose=0, remove_at=None, params=PARAMS, with_pin=True,
                 with_choose=True):
        self.prof = load_profile(profile) if isinstance(profile, str) else profile
        self.card = VirtualCard(self.prof, remove_at=remove_at)
        self.pins = []
        self.choices = []
        self.pin_answer = pin
        self.choose_answer = choose
        entry = "tap" if self.prof.get("ppse") else "chip"
        self.k = Kernel(Reader(self.card, CardRemoved), params, entry=entry,
                        choose=self._choose if with_choose else None, pin=self._pin if with_pin else None,
                        rng=emvrecord.FixedRandom())

    async def _pin(self, result):
        self.pins.append(result.masked_pan())
        return self.pin_answer

    async def _choose(self, labels):
        self.choices.append(list(labels))
        a = self.choose_answer
        return a.pop(0) if isinstance(a, list) else a

    def start(self, amount=150000, **kw):
        return asyncio.run(self.k.start(amount, NOW, **kw))

    def complete(self, rc, data=b""):
        return asyncio.run(self.k.complete(rc, data))

    def online(self, rc="00", tamper=False):
        """The issuer: verify the ARQC with pyemv, answer with the ARPC; then complete()."""
        r = self.k.result
        ok, f91 = emvhost.verify_arqc(self.prof, r.de55, r.pan_digits(), arc=rc)
        assert ok, "the issuer could not verify the ARQC"
        if tamper:
            f91 = bytes([f91[0] ^ 0x80]) + f91[1:]
        return self.complete(rc, emvhost.response_field55(f91))

    def sent(self, ins):
        return [c for c, _ in self.card.log if c[1] == ins]


def decode(de55):
    """DE55 decoded twice: by the firmware's TLV and by pyemv; both must agree."""
    ours = {("%X" % t): bytes(de55[s:e]) for t, s, e in tlv.items(de55)}
    theirs = pyemv.tlv.decode(bytes(de55))
    assert ours == theirs
    return ours


# ---- every profile --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", profile_names())
def test_every_profile_gives_an_outcome(name):
    run = Run(name)
    r = run.start()
    assert r.outcome in OUTCOMES, r.outcome
    if r.outcome == "go_online":
        r = run.online()
        assert r.outcome == "approved", (name, r.error)
    if r.outcome in ("card_error", "not_accepted"):
        assert r.error.startswith("card_")
    if name.startswith("emv_bad_"):
        assert r.outcome not in ("approved", "approved_offline", "go_online")


def test_profiles_on_disk():
    names = profile_names()
    for n in ("emv_visa_cvn18", "emv_mc_cvn16", "emv_contactless", "emv_two_apps", "emv_bad_expired",
              "emv_bad_wrong_aid", "emv_bad_malformed_record", "emv_bad_huge_length", "emv_bad_missing_tag",
              "emv_bad_removed", "emv_bad_declines"):
        assert n in names
    assert "magstripe" not in names


# ---- the approved online path -----------------------------------------------------------------------------

def test_approved_online_visa_cvn18():
    run = Run("emv_visa_cvn18")
    r = run.start()
    assert r.outcome == "go_online" and r.error == ""
    assert (r.aid, r.label, r.lang) == ("A0000000031010", "VISA DEBIT", "frar")
    assert r.masked_pan() == "476173******0010"
    # PSE directory read, then final SELECT, GPO, 3 records, GET DATA x2, GENERATE AC (ARQC)
    assert [c[1] for c, _ in run.card.log] == [0xA4, 0xB2, 0xB2, 0xA4, 0xA8, 0xB2, 0xB2, 0xB2, 0xCA, 0xCA, 0xAE]
    assert run.sent(0xAE)[0][2] == 0x80
    # TVR / TSI bits the spec fixes for this card and terminal
    assert r.tvr[0] & 0x80                  # offline data authentication was not performed (Book 3 10.3)
    assert r.tvr[2] & 0x04                  # online PIN entered (10.5.2)
    assert r.tvr[3] & 0x80                  # transaction exceeds floor limit (10.6.1, floor 0)
    assert not r.tvr[3] & 0x60              # ATC 42, last online 40, limits 3 / 5 (10.6.3)
    assert r.tsi == bytes([0x40 | 0x20 | 0x08, 0])
    assert r.cvm == bytes.fromhex("420300") and r.online_pin and run.pins == ["476173******0010"]
    d = decode(r.de55)
    assert list(d) == ["%X" % t for t in DE55_TAGS if "%X" % t in d]     # parameter order
    assert set(d) >= {"9F26", "9F27", "9F10", "9F37", "9F36", "95", "9A", "9C", "9F02", "5F2A", "82", "9F1A",
                      "9F03", "9F33", "9F34", "9F35", "84", "9F09", "9F1E", "5F34"}
    assert d["9F02"] == bytes.fromhex("000000150000") and d["9F03"] == bytes(6)
    assert d["5F2A"] == d["9F1A"] == bytes.fromhex("0012")
    assert d["9A"] == bytes.fromhex("260705") and d["9C"] == b"\x00"
    assert d["84"] == bytes.fromhex("A0000000031010") and d["9F09"] == bytes.fromhex("0096")
    assert d["9F1E"] == b"WASL0001" and d["9F35"] == b"\x22" and d["9F33"] == bytes.fromhex("E06800")
    assert d["9F34"] == r.cvm and d["95"] == r.tvr and d["9F27"] == b"\x80"
    assert "5A" not in d and "57" not in d                       # no card numbers in field 55
    r = run.online()
    assert r.outcome == "approved" and not r.card_declined
    assert r.arc == b"00" and r.cid & 0xC0 == 0x40
    gac2 = run.sent(0xAE)[1]
    assert gac2[2] == 0x40                  # TC asked
    assert run.card.issuer_auth is True     # the card checked the ARPC (91 in its CDOL2)
    assert not run.sent(0x82)               # so no EXTERNAL AUTHENTICATE
    assert r.tsi[0] == 0x40 | 0x20 | 0x10 | 0x08
    assert decode(r.de55)["9F27"] == b"\x40"


def test_approved_online_mastercard_cvn16_t0_external_authenticate():
    run = Run("emv_mc_cvn16")
    r = run.start(250000)
    assert r.outcome == "go_online"
    ins = [c[1] for c, _ in run.card.log]
    assert ins[0] == 0xA4 and run.card.log[0][1] == bytes.fromhex("6A82")     # no PSE: list of AIDs
    assert 0xC0 in ins                                                       # T=0: GET RESPONSE
    assert any(resp[:1] == b"\x6C" for _, resp in run.card.log)              # and a resend with Le
    assert r.cvm == bytes.fromhex("420700")                                  # online PIN, amount over X
    assert r.tvr[3] & 0x40 and not r.tvr[3] & 0x20                           # ATC 11 - 7 = 4 > 2, not > 4
    r = run.online()
    assert r.outcome == "approved"
    ext = run.sent(0x82)
    assert len(ext) == 1 and ext[0][4] == 10                                 # ARPC(8) || ARC(2)
    assert run.card.issuer_auth is True and not r.tvr[4] & 0x40
    assert r.tsi[0] & 0x10


def test_cvm_signature_under_x():
    run = Run("emv_mc_cvn16")
    r = run.start(50000)
    assert r.cvm == bytes.fromhex("1E0300") and r.signature and not r.online_pin and run.pins == []


def test_cvm_without_pin_pad_and_cancelled_pin():
    run = Run("emv_visa_cvn18", with_pin=False)
    r = run.start()
    assert r.cvm == bytes.fromhex("1E0300") and r.tvr[2] & 0x10 and r.signature
    run = Run("emv_visa_cvn18", pin=None)
    r = run.start()
    assert r.outcome == "cancelled"
    assert not run.sent(0xAE)


def test_host_declined_and_bad_arpc_and_unable_to_go_online():
    run = Run("emv_visa_cvn18")
    run.start(150051)
    r = run.online("51")
    assert r.outcome == "declined" and not r.card_declined and r.arc == b"51"
    assert run.sent(0xAE)[1][2] == 0x00     # AAC asked
    run = Run("emv_visa_cvn18")
    run.start()
    r = run.online("00", tamper=True)
    assert r.outcome == "declined" and r.card_declined and r.error == "card_declined"
    assert run.card.issuer_auth is False
    run = Run("emv_visa_cvn18")
    run.start()
    r = run.complete(None)
    assert r.outcome == "declined_offline" and r.arc == b"Z3"   # default action codes: ODA not performed
    # an issuer that lets it through offline: TC, Y3
    prof = load_profile("emv_visa_cvn18")
    prof["apps"][0]["records"]["2.2"]["9F0D"] = "0000000000"
    prof["apps"][0]["issuer_auth_mandatory"] = False
    params = dict(PARAMS, aids=[dict(PARAMS["aids"][0], tac_default="0000000000")])
    run = Run(prof, params=params)
    run.start()
    r = run.complete(None)
    assert r.outcome == "approved_offline" and r.arc == b"Y3"


def test_mastercard_bad_arpc_sets_issuer_authentication_failed():
    run = Run("emv_mc_cvn16")
    run.start(250000)
    r = run.online("00", tamper=True)
    assert r.tvr[4] & 0x40
    assert r.outcome == "declined" and r.card_declined


def test_issuer_scripts():
    run = Run("emv_visa_cvn18")
    r = run.start()
    pan = r.pan_digits()
    ok, f91 = emvhost.verify_arqc(run.prof, r.de55, pan)
    good = emvhost.script_command(run.prof, r.de55, pan, b"\x84\xDA\x9F\x58", b"\x05")
    bad = bytearray(good)
    bad[-1] ^= 1
    data = emvhost.response_field55(f91, [emvhost.script_template([good, bytes(bad)], 0x71, b"\x01\x02\x03\x04")],
                                    [emvhost.script_template([good], 0x72)])
    r = run.complete("00", data)
    assert r.outcome == "approved"
    assert [sw for _, sw in run.card.scripts] == [b"\x90\x00", b"\x69\x88", b"\x90\x00"]
    assert r.scripts == bytes.fromhex("12 01020304 20 00000000")   # failed at command 2; performed
    assert r.tvr[4] & 0x20 and not r.tvr[4] & 0x10 and r.tsi[0] & 0x04
    assert decode(r.de55)["9F5B"] == r.scripts
    # the 71 script went before the second GENERATE AC, the 72 after it
    order = [c[0:2] for c, _ in run.card.log[-4:]]
    assert order == [b"\x84\xDA", b"\x84\xDA", b"\x80\xAE", b"\x84\xDA"]


def test_malformed_issuer_data():
    run = Run("emv_mc_cvn16")
    run.start(250000)
    r = run.complete("00", bytes.fromhex("9108AABB"))
    assert r.outcome == "declined" and r.tvr[4] & 0x40 and not run.sent(0x82)


# ---- offline decline and bad cards --------------------------------------------------------------------------

def test_offline_decline():
    run = Run("emv_bad_declines")
    r = run.start()
    assert r.outcome == "declined_offline" and r.arc == b"Z1" and r.cid & 0xC0 == 0
    d = decode(r.de55)
    assert d["9F27"] == b"\x00" and d["95"] == r.tvr
    assert run.complete("00") is r and r.outcome == "declined_offline"   # nothing more to do


@pytest.mark.parametrize("name,outcome,error,what", [
    ("emv_bad_expired", "declined_offline", "card_expired", "TVR expired application"),
    ("emv_bad_wrong_aid", "not_accepted", "card_not_accepted", "no common application"),
    ("emv_bad_malformed_record", "card_error", "card_read_error", "truncated TLV"),
    ("emv_bad_huge_length", "card_error", "card_read_error", "length past the data"),
    ("emv_bad_missing_tag", "card_error", "card_read_error", "CDOL1 missing"),
    ("emv_bad_removed", "card_error", "card_removed", "removed at GENERATE AC"),
    ("emv_bad_declines", "declined_offline", "card_declined", "AAC"),
    ("emv_bad_blocked", "not_accepted", "card_blocked", "6A81"),
])
def test_bad_cards(name, outcome, error, what):
    run = Run(name)
    r = run.start()
    assert (r.outcome, r.error) == (outcome, error), what
    if name == "emv_bad_expired":
        assert r.tvr[1] & 0x40 and run.sent(0xAE)[0][2] == 0x00     # AAC asked: TAC-denial
    if name == "emv_bad_removed":
        assert not r.de55


def test_card_removed_at_every_command():
    full = Run("emv_visa_cvn18")
    full.start()
    full.online()
    n = len(full.card.log)
    assert n >= 12
    for i in range(n):
        run = Run("emv_visa_cvn18", remove_at=i)
        r = run.start()
        if r.outcome == "go_online":
            r = run.online()
        assert (r.outcome, r.error) == ("card_error", "card_removed"), i


# ---- application selection -------------------------------------------------------------------------------

def test_cardholder_choice():
    run = Run("emv_two_apps", choose=1)
    r = run.start()
    assert run.choices == [["VISA DEBIT", "MASTERCARD"]]
    assert r.aid == "A0000000041010" and r.label == "MASTERCARD"
    assert r.outcome == "go_online" and run.online().outcome == "approved"
    run = Run("emv_two_apps", choose=0)
    assert run.start().aid == "A0000000031010"
    run = Run("emv_two_apps", choose=None)
    r = run.start()
    assert r.outcome == "cancelled" and not run.sent(0xA8)


def test_no_choice_skips_applications_needing_confirmation():
    run = Run("emv_two_apps", with_choose=False)
    r = run.start()
    assert r.aid == "A0000000041010"        # VISA (priority 81) asks for confirmation nobody can give


def test_gpo_refused_returns_to_selection():
    prof = load_profile("emv_two_apps")
    prof["apps"][0]["gpo_6985"] = True
    run = Run(prof, choose=[0, 0])
    r = run.start()
    # one application left that needs no confirmation: selected without asking again (Book 1 12.4)
    assert run.choices == [["VISA DEBIT", "MASTERCARD"]]
    assert r.aid == "A0000000041010" and r.outcome == "go_online"


def test_list_of_aids_when_pse_is_switched_off():
    run = Run("emv_visa_cvn18", params=dict(PARAMS, pse=False))
    r = run.start()
    assert run.card.log[0][0][5:] == bytes.fromhex("A000000003101000")
    assert r.outcome == "go_online"


# ---- contactless ------------------------------------------------------------------------------------------

def test_contactless_cryptogram_from_gpo():
    run = Run("emv_contactless")
    r = run.start()
    assert r.entry == "tap" and r.outcome == "go_online"
    assert b"2PAY.SYS.DDF01" in run.card.log[0][0]
    assert not run.sent(0xAE)               # the cryptogram came with the GPO reply
    gpo = run.sent(0xA8)[0]
    assert gpo[7:11] == bytes.fromhex("36804000")    # TTQ (first in the PDOL): online cryptogram required
    assert r.cvm == bytes.fromhex("1F0002") and not run.pins
    assert r.track2_text().startswith("4761739001010119=3012")
    d = decode(r.de55)
    assert d["9F27"] == b"\x80" and d["9F6E"] == bytes.fromhex("20700000")
    r = run.online()
    assert r.outcome == "approved" and len(run.card.log) == 4          # PPSE, SELECT, GPO, one record
    card = r.card()
    assert card.entry == "tap"


def test_contactless_limits():
    run = Run("emv_contactless")
    r = run.start(750000)                   # over the CVM required limit: the card asks for online PIN
    assert r.cvm == bytes.fromhex("020000") and r.online_pin and run.pins
    assert run.sent(0xA8)[0][8] & 0xC0 == 0xC0         # TTQ byte 2: online cryptogram and CVM required
    run = Run("emv_contactless")
    r = run.start(10000000)
    assert (r.outcome, r.error) == ("not_accepted", "card_try_other") and not run.card.log


def test_unable_to_go_online_contactless():
    run = Run("emv_contactless")
    run.start()
    r = run.complete(None)
    assert r.outcome == "declined_offline" and r.arc == b"Z3"


# ---- the result object ------------------------------------------------------------------------------------

def test_result_card_and_wipe():
    run = Run("emv_visa_cvn18")
    r = run.start()
    card = r.card()
    assert (card.pan, card.expiry, card.service_code, card.entry) == ("4761739001010010", "3012", "201", "chip")
    pan, t2 = r.pan, r.track2
    run.k.wipe()
    assert pan == bytearray(len(pan)) and t2 == bytearray(len(t2))
    assert r.pan is None and r.masked_pan() == ""


def test_transcripts_fixture_is_up_to_date():
    with open(emvrecord.FIXTURE, encoding="utf-8") as f:
        on_disk = f.read()
    assert on_disk == emvrecord.dumps(emvrecord.record()), \
        "regenerate with: python -m tools.virtual.emvrecord"


# ---- fuzzing --------------------------------------------------------------------------------------------------

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_tlv_parser(data):
    for fn in (lambda: tlv.check(data), lambda: tlv.find(memoryview(data), 0x9F26),
               lambda: tlv.walk(data, lambda t, s, e: False), lambda: list(tlv.dol_items(data)),
               lambda: tlv.build_dol(data, {0x9F02: b"\x01"}.get)):
        try:
            fn()
        except tlv.TlvError:
            pass


PRIMITIVE_TAGS = [0x5A, 0x57, 0x82, 0x94, 0x95, 0x9F26, 0x9F10, 0x5F24, 0x5F2A, 0x9F4E, 0xDF8101]


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(PRIMITIVE_TAGS), st.binary(max_size=300)), max_size=6),
       st.booleans())
def test_fuzz_tlv_round_trip(objs, wrap):
    out = bytearray()
    for t, v in objs:
        tlv.put(out, t, v)
    if wrap and len(out) < 0xFFFF:
        out = bytearray(tlv.encode(0x70, out))
        (t0, s0, e0), = list(tlv.items(out))
        assert t0 == 0x70 and e0 == len(out)
    seen = []
    tlv.walk(out, lambda t, s, e: seen.append((t, bytes(out[s:e]))))
    assert seen == [(t, bytes(v)) for t, v in objs]
    if not wrap and len({t for t, _ in objs}) == len(objs):      # pyemv decodes to a dict: no repeats
        assert decode(out) == {("%X" % t): bytes(v) for t, v in objs}


class Mutating:
    """A transport over a virtual card whose responses hypothesis damages: flipped bytes, cut short,
    garbage added, status words replaced."""

    def __init__(self, card, data):
        self.card = card
        self.data = data

    async def exchange(self, capdu):
        try:
            r = bytearray(self.card.apdu(capdu))
        except Exception as e:      # the card refused a command the damage made: a transport error
            raise OSError(str(e))
        how = self.data.draw(st.integers(0, 15))     # 1-5: damage (about one response in three)
        if how == 1 and len(r) > 2:
            i = self.data.draw(st.integers(0, len(r) - 3))
            r[i] ^= self.data.draw(st.integers(1, 255))
        elif how == 2:
            r = r[:self.data.draw(st.integers(0, len(r)))]
        elif how == 3:
            r = r[:-2] + self.data.draw(st.binary(max_size=40)) + r[-2:]
        elif how == 4:
            r = r[:-2] + self.data.draw(st.sampled_from([b"\x6A\x82", b"\x69\x85", b"\x61\x10", b"\x6C\x05",
                                                          b"\x62\x83", b"\x6A\x83", b"\x90\x00"]))
        elif how == 5:
            r = bytearray(self.data.draw(st.binary(max_size=60)))
        return bytes(r)


@FUZZ
@given(st.data(), st.sampled_from(["emv_visa_cvn18", "emv_mc_cvn16", "emv_contactless", "emv_two_apps"]))
def test_fuzz_kernel_with_damaged_card_responses(data, name):
    prof = load_profile(name)
    card = VirtualCard(prof)
    entry = "tap" if prof.get("ppse") else "chip"

    async def pin(r):
        return True

    async def choose(labels):
        return 0

    k = Kernel(Mutating(card, data), PARAMS, entry=entry, choose=choose, pin=pin, rng=emvrecord.FixedRandom())

    async def go():
        r = await k.start(150000, NOW)
        if r.outcome == "go_online":
            r = await k.complete(data.draw(st.sampled_from(["00", "51", None])),
                                 data.draw(st.binary(max_size=40)))
        return r

    r = asyncio.run(go())          # any exception here fails the test: start/complete never raise
    assert r.outcome in OUTCOMES
    if r.outcome in ("card_error", "not_accepted"):
        assert r.error


@FUZZ
@given(st.binary(min_size=0, max_size=120), st.integers(0, 2))
def test_fuzz_kernel_records(record, which):
    """Random bytes as a record (SFI 2 record 1 or 2, or the GPO reply): card error at worst."""
    prof = load_profile("emv_visa_cvn18")
    key = ("2.1", "2.2", None)[which]
    if key:
        prof["apps"][0]["records"][key] = record.hex()
    run = Run(prof)
    if key is None:
        orig = run.card._gpo
        run.card._gpo = lambda p1, p2, d: (orig(p1, p2, d)[0] and record, 0x9000)
    r = run.start()
    assert r.outcome in OUTCOMES
    assert isinstance(r.error, str)
    assert r.outcome != "approved"


def test_kernel_error_types():
    assert issubclass(CardRemoved, CardError) and issubclass(tlv.TlvError, ValueError)


# ---- the virtual card and the issuer helpers themselves ------------------------------------------------

def test_virtual_card_status_words():
    card = VirtualCard(load_profile("emv_visa_cvn18"))
    sw = lambda hexcmd: card.apdu(bytes.fromhex(hexcmd))[-2:].hex().upper()  # noqa: E731
    assert sw("00A404000E315041592E5359532E444446303100") == "9000"
    assert sw("00A4040007A000000099999900") == "6A82"          # no such application
    assert sw("00A4040007A000000003101000") == "9000"
    assert sw("80AE8000020000") == "6985"                       # GENERATE AC before GPO
    assert sw("80A8000002830000") == "6700"                     # PDOL data of the wrong length
    assert sw("80A80000088306001200120000") == "6700"           # Lc and data disagree
    assert sw("80A800000883060012001200000000") == "6700"
    assert sw("80A800000C830A00120012000000150000" + "00") == "9000"
    assert sw("80A800000C830A00120012000000150000" + "00") == "6985"    # GPO twice
    assert sw("00B2010C00") == "9000" and sw("00B2050C00") == "6A83" and sw("00B2010800") == "6A86"
    assert sw("80CA9F3600") == "9000" and sw("80CA9F1700") == "9000" and sw("80CA9F4F00") == "6A88"
    assert sw("00FE000000") == "6D00" and sw("B0A4040000") == "6E00" and sw("00A4") == "6700"
    assert sw("80AEC00021" + "00" * 34) == "6A86"              # RFU cryptogram type
    assert sw("80AE8000010000") == "6700"                       # CDOL1 data of the wrong length
    assert sw("0082000008" + "00" * 8) == "6985"                # EXTERNAL AUTHENTICATE before an ARQC


def test_virtual_card_never_answers_above_the_request():
    prof = load_profile("emv_visa_cvn18")
    prof["apps"][0]["first_gac"] = "offline"
    run = Run(prof)
    r = run.start()
    assert r.outcome == "go_online"        # the terminal asked for an ARQC: it gets one, not a TC


def test_emvhost_finds_profiles_and_rejects_bad_cryptograms():
    run = Run("emv_mc_cvn16")
    r = run.start(250000)
    assert emvhost.find_profile("5555555555554444")["issuer"]["cvn"] == 16
    assert emvhost.find_profile("4111111111111111") is None
    ok, f91 = emvhost.verify_arqc("emv_mc_cvn16", r.de55)                  # PAN from the profile
    assert ok and len(f91) == 10 and f91[8:] == b"00"
    bad = bytearray(r.de55)
    i = bad.find(bytes.fromhex("9F2608")) + 3
    bad[i] ^= 1
    assert emvhost.verify_arqc("emv_mc_cvn16", bytes(bad)) == (False, None)
    assert emvhost.verify_arqc("emv_visa_cvn18", r.de55, "5555555555554444") == (False, None)   # other keys
    assert emvhost.verify_arqc("emv_mc_cvn16", b"\x9f\x26") == (False, None)
    ok, f91 = emvhost.verify_arqc("emv_visa_cvn18", Run("emv_visa_cvn18").start().de55)
    assert ok and len(f91) == 8            # method 2: ARPC(4) || CSU(4)


def test_tvr_and_tsi_by_name():
    from wasl.emv.tags import tsi_names, tvr_names
    run = Run("emv_visa_cvn18")
    run.start()
    r = run.online()
    assert tvr_names(r.tvr) == ["ODA not performed", "online PIN entered", "floor limit exceeded"]
    assert tsi_names(r.tsi) == ["cardholder verification performed", "card risk management performed",
                                "issuer authentication performed", "terminal risk management performed"]
    r = Run("emv_bad_expired").start()
    assert "expired application" in tvr_names(r.tvr)
