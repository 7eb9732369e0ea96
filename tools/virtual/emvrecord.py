"""Record EMV transcripts: the firmware kernel (run here, on CPython) against the virtual cards, every
command and response kept as hex with what the kernel returned, so that the kernel can be replayed on
the MicroPython unix port without pyemv (host_tests/fw/test_emv_replay.py, tools/virtual/emvbench.py).

    python -m tools.virtual.emvrecord                 # rewrites host_tests/fw/fixtures/emv_transcripts.json
    python -m tools.virtual.emvrecord --check         # exit 1 if the file is not what a new recording gives

Each scenario names a card profile, the amount, the terminal's answers (PIN entered, application
chosen), the host's answer (response code, or none: unable to go online) and what the issuer puts in
field 55 (ARPC, scripts). Random bytes come from a fixed list, so a replay sends the same commands.
"""
import argparse
import asyncio
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if os.path.join(ROOT, "firmware") not in sys.path:
    sys.path.insert(0, os.path.join(ROOT, "firmware"))

from tools.virtual import emvhost  # noqa: E402
from tools.virtual.emvcard import Reader, VirtualCard, load_profile  # noqa: E402

FIXTURE = os.path.join(ROOT, "host_tests", "fw", "fixtures", "emv_transcripts.json")
NOW = [2026, 7, 5, 10, 8, 7]

_ACTIONS = {"tac_denial": "0050000000", "tac_online": "DC4004F800", "tac_default": "DC4000A800"}

# The terminal parameters the tests use (the "emv" object of params.json; docs/emv.md).
TEST_PARAMS = {
    "terminal_type": "22",
    "capabilities": "E06800",
    "additional_capabilities": "6000F0A001",
    "country": "0012",
    "currency": "0012",
    "currency_exponent": 2,
    "ifd_serial": "WASL0001",
    "merchant_category": "5912",
    "pse": True,
    "cardholder_choice": True,
    "approval_codes": ["00"],
    "aids": [
        dict(aid="A0000000031010", label="VISA", version="0096", floor_limit=0, **_ACTIONS),
        dict(aid="A0000000041010", label="MASTERCARD", version="0002", floor_limit=0, **_ACTIONS),
    ],
    "contactless": {"ttq": "36004000", "transaction_limit": 10000000, "cvm_limit": 500000, "floor_limit": 0},
}

# name: profile, amount, pin answer, choice, host rc ("none": no reply), issuer data wanted
SCENARIOS = [
    dict(name="visa_online_approved", card="emv_visa_cvn18", amount=150000, pin=True, rc="00"),
    dict(name="visa_online_scripts", card="emv_visa_cvn18", amount=150000, pin=True, rc="00", scripts=True),
    dict(name="visa_host_declined", card="emv_visa_cvn18", amount=150051, pin=True, rc="51"),
    dict(name="visa_unable_online", card="emv_visa_cvn18", amount=150000, pin=True, rc=None),
    dict(name="visa_bad_arpc", card="emv_visa_cvn18", amount=150000, pin=True, rc="00", bad_arpc=True),
    dict(name="visa_pin_bypassed", card="emv_visa_cvn18", amount=150000, pin=False, rc="00"),
    dict(name="mc_online_pin_t0", card="emv_mc_cvn16", amount=250000, pin=True, rc="00"),
    dict(name="mc_signature", card="emv_mc_cvn16", amount=50000, pin=True, rc="00"),
    dict(name="two_apps_choice", card="emv_two_apps", amount=150000, pin=True, choose=1, rc="00"),
    dict(name="contactless_online", card="emv_contactless", amount=150000, pin=True, rc="00"),
    dict(name="contactless_pin", card="emv_contactless", amount=750000, pin=True, rc="00"),
    dict(name="bad_declines", card="emv_bad_declines", amount=150000, pin=True),
    dict(name="bad_expired", card="emv_bad_expired", amount=150000, pin=True),
    dict(name="bad_wrong_aid", card="emv_bad_wrong_aid", amount=150000, pin=True),
    dict(name="bad_malformed_record", card="emv_bad_malformed_record", amount=150000, pin=True),
    dict(name="bad_huge_length", card="emv_bad_huge_length", amount=150000, pin=True),
    dict(name="bad_missing_tag", card="emv_bad_missing_tag", amount=150000, pin=True),
    dict(name="bad_removed", card="emv_bad_removed", amount=150000, pin=True),
    dict(name="bad_blocked", card="emv_bad_blocked", amount=150000, pin=True),
]


class FixedRandom:
    """Random bytes from a counter: the same every run, and recorded with the transcript."""

    def __init__(self, seed=0x5A):
        self.n = seed
        self.given = []

    def __call__(self, n):
        out = bytes((self.n + i * 37) & 0xFF for i in range(n))
        self.n = (self.n + 101) & 0xFF
        self.given.append(out.hex().upper())
        return out


def _hex(b):
    return bytes(b).hex().upper() if b is not None else None


def result_dict(r):
    """What a transcript expects of the kernel's Result."""
    return {"outcome": r.outcome, "error": r.error, "tvr": _hex(r.tvr), "tsi": _hex(r.tsi), "cvm": _hex(r.cvm),
            "online_pin": r.online_pin, "signature": r.signature, "aid": r.aid, "label": r.label, "lang": r.lang,
            "arc": _hex(r.arc), "cid": r.cid, "scripts": _hex(r.scripts), "de55": _hex(r.de55),
            "card_declined": r.card_declined, "masked_pan": r.masked_pan() if r.pan or r.track2 else "",
            "track2": r.track2_text()}


def issuer_reply(prof, r, sc):
    """Field 55 the issuer sends back for this scenario, or None."""
    ok, f91 = emvhost.verify_arqc(prof, r.de55, r.pan_digits(), arc=sc.get("rc") or "00")
    if not ok:
        raise AssertionError("%s: the issuer could not verify the ARQC" % sc["name"])
    if sc.get("bad_arpc"):
        f91 = bytes([f91[0] ^ 0x01]) + f91[1:]
    s71 = s72 = ()
    if sc.get("scripts"):
        pan = r.pan_digits()
        good = emvhost.script_command(prof, r.de55, pan, b"\x84\xDA\x9F\x58", b"\x05")
        bad = bytearray(emvhost.script_command(prof, r.de55, pan, b"\x84\x1E\x00\x00"))
        bad[-1] ^= 0xFF                                      # a wrong MAC: the card refuses it
        s71 = [emvhost.script_template([bytes(bad)], 0x71, b"\x00\x00\x00\x71")]
        s72 = [emvhost.script_template([good], 0x72, b"\x00\x00\x00\x72")]
    return emvhost.response_field55(f91, s71, s72)


async def run_scenario(sc, kernel_cls, removed_exc, params=TEST_PARAMS):
    """Run one scenario with the firmware kernel class given; return its transcript dict."""
    prof = load_profile(sc["card"])
    card = VirtualCard(prof)
    entry = "tap" if prof.get("ppse") else "chip"
    rng = FixedRandom()
    answers = {"pin": [], "choose": []}

    async def pin(result):
        answers["pin"].append(sc["pin"])
        return sc["pin"]

    async def choose(labels):
        answers["choose"].append(labels)
        return sc.get("choose", 0)

    k = kernel_cls(Reader(card, removed_exc), params, entry=entry, choose=choose, pin=pin, rng=rng)
    r = await k.start(sc["amount"], tuple(NOW))
    first = result_dict(r)
    online = None
    final = None
    if r.outcome == "go_online" and "rc" in sc:
        rc = sc["rc"]
        data = issuer_reply(prof, r, sc) if rc is not None else b""
        online = {"rc": rc, "issuer_data": _hex(data)}
        r = await k.complete(rc, data)
        final = result_dict(r)
    apdus = [[c.hex().upper(), rr.hex().upper()] for c, rr in card.log]
    if card._removed:
        apdus.append([None, "REMOVED"])
    return {"name": sc["name"], "card": sc["card"], "entry": entry, "amount": sc["amount"], "now": NOW,
            "pin": sc["pin"], "choose": sc.get("choose", 0), "random": rng.given, "online": online,
            "apdus": apdus, "first": first, "final": final, "choices": answers["choose"],
            "pin_asked": len(answers["pin"])}


def record(kernel_cls=None, removed_exc=None):
    if kernel_cls is None:
        from wasl.emv.apdu import CardRemoved
        from wasl.emv.kernel import Kernel
        kernel_cls, removed_exc = Kernel, CardRemoved

    async def all_():
        return [await run_scenario(sc, kernel_cls, removed_exc) for sc in SCENARIOS]

    return {"_comment": "Generated by python -m tools.virtual.emvrecord (virtual cards of host_tests/cards/). "
                        "Test data only. Replayed on the unix port by host_tests/fw/test_emv_replay.py.",
            "now": NOW, "params": TEST_PARAMS, "transcripts": asyncio.run(all_())}


def dumps(doc):
    return json.dumps(doc, indent=1, sort_keys=False) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=FIXTURE)
    ap.add_argument("--check", action="store_true", help="compare with the file instead of writing it")
    a = ap.parse_args(argv)
    text = dumps(record())
    if a.check:
        with open(a.out, encoding="utf-8") as f:
            same = f.read() == text
        print("up to date" if same else "%s differs from a new recording" % a.out)
        return 0 if same else 1
    with open(a.out, "w", encoding="utf-8") as f:
        f.write(text)
    print("wrote %s (%d transcripts)" % (os.path.relpath(a.out, ROOT), len(SCENARIOS)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
