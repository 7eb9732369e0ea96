# A chip sale's CPU time on the MicroPython unix port, stage by stage, waits excluded (run by micropython):
#
#   MICROPYPATH=.frozen:firmware:boards/sim .venv/bin/micropython tools/upy/salebench.py [runs]
#
# Runs the real firmware functions with the data of one contact chip sale with online PIN (the recorded
# transcript visa_online_approved of host_tests/fw/fixtures/emv_transcripts.json, 150,00), in the order
# the sale runs them, with time.ticks_us around each stage and nothing else in between:
#   kernel   the EMV kernel: selection to the first GENERATE AC (replayed card answers, no card latency),
#            then the second GENERATE AC with the host's answer (wasl.emv.kernel)
#   crypto   the next KSN's working keys derived and the DUKPT state sealed and saved (the refill at idle,
#            wasl.crypto.keystore), the PIN block, the request MAC, the reply MAC checked (wasl.crypto.txnkeys)
#   message  the 0200 built (wasl.host.messages.financial) and encoded, the 0210 decoded and validated
#            (wasl.host.iso8583)
#   journal  the sale's six records (new, sent, rep, cok, prt m, prt c) appended durably on littlefs
#            over the sim's file-backed flash (wasl.txn.journal, wasl.txn.batch)
#   receipt  the merchant and customer copies laid out (wasl.txn.receipt) and encoded as ESC/POS text
#            (wasl.drivers.escpos) into a byte counter standing for the printer's UART
# Network, card, keypad and printer waits are not there: what is left is the firmware's own CPU time on
# this machine. Also prints the receipt's bytes as text and as a bitmap (the same lines rasterised by
# wasl.drivers.escpos_raster, as a printer without the language's code page gets them) and the time to
# rasterise. One JSON line: per stage the median and minimum in microseconds over the runs.
import gc
import json
import sys
import time

try:
    import asyncio
except ImportError:  # pragma: no cover
    import uasyncio as asyncio

ROOT = __file__.rsplit("/", 3)[0] if __file__.count("/") >= 3 else "."
STAGES = ("kernel", "crypto", "message", "journal", "receipt")


class Sink:
    """The printer's UART: counts the bytes."""

    def __init__(self):
        self.n = 0

    def write(self, b):
        self.n += len(b)
        return len(b)

    def flush(self):
        pass


def _copy(src, dst):
    with open(src, "rb") as f:
        data = f.read()
    with open(dst, "wb") as f:
        f.write(data)


def _median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def main(runs):
    from binascii import unhexlify
    import os

    sys.path.append(ROOT + "/tools/virtual")
    from emvbench import Replay, Rng
    from board import JOURNAL_ROOT, mount_flash
    from wasl import params as wparams
    from wasl.crypto.keystore import FileSecureStorage, KeyStore
    from wasl.drivers.escpos import EscPos
    from wasl.drivers.escpos_raster import Raster
    from wasl.emv.kernel import Kernel
    from wasl.host import messages
    from wasl.host.iso8583 import Codec
    from wasl.host.spec import SPEC
    from wasl.txn.batch import Batch
    from wasl.txn.journal import Journal
    from wasl.txn.online import keep_for_validation
    from wasl.txn.receipt import txn_receipt
    from wasl.ui.strings import table

    with open(ROOT + "/host_tests/fw/fixtures/emv_transcripts.json") as f:
        doc = json.load(f)
    emv_params = doc["params"]
    tx = [x for x in doc["transcripts"] if x["name"] == "visa_online_approved"][0]
    doc = None
    issuer = unhexlify(tx["online"]["issuer_data"])

    d = "/tmp/wasl-salebench-%d" % time.ticks_ms()
    for sub in ("", "/secure", "/keys"):
        os.mkdir(d + sub)
    fix = ROOT + "/host_tests/fw/fixtures/crypto_keystore_aes/"
    _copy(fix + "secure/kbpk", d + "/secure/kbpk")
    _copy(fix + "keys/dukpt.tr31", d + "/keys/dukpt.tr31")
    ks = KeyStore(FileSecureStorage(d + "/secure"), d + "/keys")
    ks.load()
    with open(ROOT + "/boards/sim/params.json") as f:
        pdoc = json.load(f)
    pdoc["host"]["ca"] = "MI" + "A" * 86      # a stand-in for the template's placeholder: no TLS here
    pdoc["language"] = "en"
    p = wparams.parse(pdoc)
    pdoc = None
    tr = table("en")
    codec = Codec(SPEC)
    mount_flash(d)
    batch = Batch(Journal(JOURNAL_ROOT))
    utc = (2026, 7, 5, 9, 8, 7, 6, 186)
    times = {k: [] for k in STAGES}
    totals = []

    async def pin(r):
        return tx["pin"]

    async def choose(labels):
        return tx["choose"]

    sizes = None
    for _ in range(runs):
        gc.collect()
        spent = {}
        # kernel, first part: the card read and its first cryptogram
        k = Kernel(Replay(tx["apdus"]), emv_params, entry=tx["entry"], choose=choose, pin=pin, rng=Rng(tx["random"]))
        t0 = time.ticks_us()
        r = asyncio.run(k.start(tx["amount"], tuple(tx["now"])))
        card = r.card()
        de55 = bytes(r.de55)
        spent["kernel"] = time.ticks_diff(time.ticks_us(), t0)
        # crypto, first part: this request's keys (the refill at idle), the PIN block
        t0 = time.ticks_us()
        txk = ks.begin_transaction()
        pinblock = bytes(txk.pin_block(bytearray(b"1234"), card.pan))
        spent["crypto"] = time.ticks_diff(time.ticks_us(), t0)
        # journal: the new transaction
        stan, invoice = batch.next_numbers()
        t = {"e": "new", "s": stan, "i": invoice, "b": batch.number, "ty": "sale", "a": tx["amount"],
             "p": card.masked_pan, "m": "chip", "t": "20260705100807", "aid": r.aid, "al": r.label[:16], "cv": "pin"}
        t0 = time.ticks_us()
        batch.record(t)
        spent["journal"] = time.ticks_diff(time.ticks_us(), t0)
        # message: the 0200
        t0 = time.ticks_us()
        fields = messages.financial(p, t, utc, card, de55)
        fields[53] = txk.ksn
        fields[52] = pinblock
        fields[64] = bytes(8)
        raw = codec.encode("0200", fields)
        n = len(raw)
        spent["message"] = time.ticks_diff(time.ticks_us(), t0)
        t0 = time.ticks_us()
        txk.mac(raw[:n - 8], raw[n - 8:])
        spent["crypto"] += time.ticks_diff(time.ticks_us(), t0)
        t0 = time.ticks_us()
        keep_for_validation(fields)
        batch.record({"e": "sent", "s": stan})
        spent["journal"] += time.ticks_diff(time.ticks_us(), t0)
        # the host's 0210 (made here, outside the clock: the simulator's work), MACed with the reply key
        rf = {f: fields[f] for f in (3, 4, 11, 41, 49)}
        rf.update({7: "0705090807", 12: "090807", 13: "0705", 24: "001", 37: "000000123456", 38: "A1B2C3",
                   39: "00", 42: "000000000000001", 55: issuer, 62: "%06d" % invoice, 64: bytes(8)})
        reply = bytearray(codec.encode("0210", rf))
        m = len(reply)
        reply[m - 8:] = txk._mac(2, memoryview(reply)[:m - 8])[:8]
        reply = bytes(reply)
        # message: the 0210 decoded and checked
        t0 = time.ticks_us()
        rmti, rep = codec.decode(reply)
        spent["message"] += time.ticks_diff(time.ticks_us(), t0)
        t0 = time.ticks_us()
        ok = txk.verify_mac(reply[:m - 8], rep[64])
        txk.wipe()
        spent["crypto"] += time.ticks_diff(time.ticks_us(), t0)
        if not ok:
            raise AssertionError("reply MAC")
        t0 = time.ticks_us()
        messages.validate_reply("0200", fields, rmti, rep)
        spent["message"] += time.ticks_diff(time.ticks_us(), t0)
        t0 = time.ticks_us()
        batch.record({"e": "rep", "s": stan, "rc": rep[39], "r": rep[37].strip(), "au": rep[38].strip()})
        spent["journal"] += time.ticks_diff(time.ticks_us(), t0)
        # kernel, second part: the host's answer to the card
        t0 = time.ticks_us()
        r = asyncio.run(k.complete(rep[39], rep.get(55) or b""))
        spent["kernel"] += time.ticks_diff(time.ticks_us(), t0)
        if r.outcome != "approved":
            raise AssertionError("kernel outcome %s" % r.outcome)
        k.wipe()
        card.wipe()
        t0 = time.ticks_us()
        batch.record({"e": "cok", "s": stan})
        spent["journal"] += time.ticks_diff(time.ticks_us(), t0)
        t.update(rc=rep[39], r=rep[37].strip(), au=rep[38].strip())
        # receipt: both copies as ESC/POS text, each journaled once printed
        sink = Sink()
        for copy in "mc":
            t0 = time.ticks_us()
            EscPos(sink).print_lines(txn_receipt(p, tr, t, copy))
            spent["receipt"] = spent.get("receipt", 0) + time.ticks_diff(time.ticks_us(), t0)
            t0 = time.ticks_us()
            batch.record({"e": "prt", "s": stan, "c": copy})
            spent["journal"] += time.ticks_diff(time.ticks_us(), t0)
        for s in STAGES:
            times[s].append(spent[s])
        totals.append(sum(spent.values()))
        if sizes is None:
            sizes = {"text_bytes": sink.n}
    # the merchant copy as text and as a bitmap (every line rasterised: GS v 0 bands)
    text, bitmap = Sink(), Sink()
    EscPos(text).print_lines(txn_receipt(p, tr, t, "m"))
    gc.collect()
    t0 = time.ticks_us()
    Raster(bitmap).print_lines(txn_receipt(p, tr, t, "m"))
    raster_us = time.ticks_diff(time.ticks_us(), t0)
    out = {"runtime": sys.implementation.name, "runs": runs, "card": tx["card"], "amount": tx["amount"],
           "stages": {s: {"us_median": _median(times[s]), "us_min": min(times[s])} for s in STAGES},
           "total": {"us_median": _median(totals), "us_min": min(totals)},
           "receipt": {"both_copies_text_bytes": sizes["text_bytes"], "merchant_text_bytes": text.n,
                       "merchant_bitmap_bytes": bitmap.n, "raster_us": raster_us}}
    for name in ("/secure/kbpk", "/secure/dukpt", "/keys/dukpt.tr31", "/flash.img", "/secure", "/keys", ""):
        try:
            (os.rmdir if name in ("/secure", "/keys", "") else os.remove)(d + name)
        except OSError:
            pass
    print(json.dumps(out))


main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
