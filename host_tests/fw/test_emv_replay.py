# The EMV kernel replayed against recorded card transcripts (host_tests/fw/fixtures/emv_transcripts.json,
# made by `python -m tools.virtual.emvrecord` from the virtual cards): the same commands must go out,
# byte for byte, and the same results come back, on CPython and on the unix port (no pyemv needed).
import asyncio
import json
from binascii import hexlify, unhexlify

from fwtest import ROOT
from wasl.emv import tlv
from wasl.emv.apdu import CardRemoved
from wasl.emv.kernel import Kernel

_DOC = []


def doc():
    if not _DOC:
        with open(ROOT + "/host_tests/fw/fixtures/emv_transcripts.json") as f:
            _DOC.append(json.load(f))
    return _DOC[0]


def transcript(name):
    for t in doc()["transcripts"]:
        if t["name"] == name:
            return t
    raise KeyError(name)


class Replay:
    """A transport answering from a transcript; it checks every command against the recorded one."""

    def __init__(self, apdus):
        self.apdus = apdus
        self.i = 0

    async def exchange(self, capdu):
        assert self.i < len(self.apdus), "command %d was not recorded" % self.i
        c, r = self.apdus[self.i]
        self.i += 1
        if r == "REMOVED":
            raise CardRemoved()
        got = hexlify(capdu).decode().upper()
        assert got == c, "command %d is %s, recorded %s" % (self.i - 1, got, c)
        return unhexlify(r)


class Rng:
    def __init__(self, given):
        self.given = list(given)

    def __call__(self, n):
        v = unhexlify(self.given.pop(0))
        assert len(v) == n
        return v


def _hex(b):
    return hexlify(b).decode().upper() if b is not None else None


def snapshot(r):
    return {"outcome": r.outcome, "error": r.error, "tvr": _hex(r.tvr), "tsi": _hex(r.tsi), "cvm": _hex(r.cvm),
            "online_pin": r.online_pin, "signature": r.signature, "aid": r.aid, "label": r.label, "lang": r.lang,
            "arc": _hex(r.arc), "cid": r.cid, "scripts": _hex(r.scripts), "de55": _hex(r.de55),
            "card_declined": r.card_declined, "masked_pan": r.masked_pan() if r.pan or r.track2 else "",
            "track2": r.track2_text()}


def replay(t):
    """(kernel, first result snapshot, final snapshot or None, transport)."""
    async def pin(result):
        return t["pin"]

    async def choose(labels):
        return t["choose"]

    tr = Replay(t["apdus"])
    k = Kernel(tr, doc()["params"], entry=t["entry"], choose=choose, pin=pin, rng=Rng(t["random"]))

    async def go():
        r = await k.start(t["amount"], tuple(t["now"]))
        first = snapshot(r)
        final = None
        o = t["online"]
        if o is not None:
            data = unhexlify(o["issuer_data"]) if o["issuer_data"] else b""
            r = await k.complete(o["rc"], data)
            final = snapshot(r)
        return first, final

    first, final = asyncio.run(go())
    return k, first, final, tr


def test_fixture_is_there():
    names = [t["name"] for t in doc()["transcripts"]]
    assert len(names) >= 15
    for n in ("visa_online_approved", "mc_online_pin_t0", "contactless_online", "bad_removed", "two_apps_choice"):
        assert n in names


def test_every_transcript_replays_identically():
    for t in doc()["transcripts"]:
        k, first, final, tr = replay(t)
        assert tr.i == len(tr.apdus), (t["name"], tr.i, len(tr.apdus))
        for key in t["first"]:
            assert first[key] == t["first"][key], (t["name"], "first", key, first[key], t["first"][key])
        if t["final"] is not None:
            for key in t["final"]:
                assert final[key] == t["final"][key], (t["name"], "final", key, final[key], t["final"][key])


def test_approved_online_tvr_tsi_and_de55():
    k, first, final, _ = replay(transcript("visa_online_approved"))
    assert first["outcome"] == "go_online" and final["outcome"] == "approved"
    tvr = unhexlify(first["tvr"])
    assert tvr[0] & 0x80                    # offline data authentication was not performed
    assert tvr[2] & 0x04                    # online PIN entered
    assert tvr[3] & 0x80                    # floor limit (0) exceeded
    tsi = unhexlify(final["tsi"])
    assert tsi[0] == 0x40 | 0x20 | 0x10 | 0x08   # CVM, card risk mgmt, issuer auth, terminal risk mgmt
    assert first["cvm"] == "420300" and first["online_pin"]
    assert final["arc"] == "3030" and final["cid"] == 0x40
    de55 = unhexlify(first["de55"])
    tags = [t for t, _, _ in tlv.items(de55)]
    for t in (0x9F26, 0x9F27, 0x9F10, 0x9F37, 0x9F36, 0x95, 0x9A, 0x9C, 0x9F02, 0x5F2A, 0x82, 0x9F1A, 0x9F03,
              0x9F33, 0x9F34, 0x9F35, 0x84, 0x9F09, 0x9F1E):
        assert t in tags, hex(t)
    s, e = tlv.find(de55, 0x9F27)
    assert de55[s] & 0xC0 == 0x80          # ARQC
    s, e = tlv.find(de55, 0x9F02)
    assert de55[s:e] == unhexlify("000000150000")


def test_card_errors_and_refusals():
    want = {"bad_malformed_record": ("card_error", "card_read_error"),
            "bad_huge_length": ("card_error", "card_read_error"),
            "bad_missing_tag": ("card_error", "card_read_error"),
            "bad_removed": ("card_error", "card_removed"),
            "bad_wrong_aid": ("not_accepted", "card_not_accepted"),
            "bad_blocked": ("not_accepted", "card_blocked"),
            "bad_declines": ("declined_offline", "card_declined"),
            "bad_expired": ("declined_offline", "card_expired")}
    for name, (outcome, error) in want.items():
        _, first, _, _ = replay(transcript(name))
        assert (first["outcome"], first["error"]) == (outcome, error), (name, first["outcome"], first["error"])
    _, first, _, _ = replay(transcript("bad_expired"))
    assert unhexlify(first["tvr"])[1] & 0x40     # expired application


def test_offline_decline_has_an_aac_and_z1():
    k, first, _, _ = replay(transcript("bad_declines"))
    assert first["cid"] & 0xC0 == 0x00 and first["arc"] == "5A31"
    assert first["de55"]


def test_issuer_scripts_results():
    _, _, final, _ = replay(transcript("visa_online_scripts"))
    # 71: failed at its first command (wrong MAC); 72: performed
    assert final["scripts"] == "11" + "00000071" + "20" + "00000072"
    tvr = unhexlify(final["tvr"])
    assert tvr[4] & 0x20 and not tvr[4] & 0x10
    assert unhexlify(final["tsi"])[0] & 0x04
    de55 = unhexlify(final["de55"])
    s, e = tlv.find(de55, 0x9F5B)
    assert de55[s:e] == unhexlify(final["scripts"])


def test_wipe_zeroes_card_data():
    k, first, final, _ = replay(transcript("visa_online_approved"))
    r = k.result
    assert r.masked_pan() == "476173******0010"
    pan = r.pan
    t2 = r.track2
    assert r.card().track2.startswith("4761739001010010=3012201")
    r.wipe()
    assert r.pan is None and r.track2 is None
    assert pan == bytearray(len(pan)) and t2 == bytearray(len(t2))
    k.wipe()
    assert not k.icc
