"""Benchmarks: heap floor of a sale, boot time, ISO 8583 codec speed, EMV and crypto time, receipt size, code size,
a sale's CPU time by stage, a short soak.

    python -m tools.bench [--quick] [--out docs/benchmarks.md] [--only boot-romfs,codec-0200]

Prints one markdown table (figure, result, target, met or not, command that reproduces it) and writes it
with the date and the machine. --quick runs fewer repetitions, a narrower heap search and a soak of 12
sales, without the menu, chip, void, refund, bill, settlement of 3, offline and 200-sale upload heap
searches; --only measures the named figures and writes nothing unless --out is given.
"""
import argparse
import contextlib
import datetime
import glob
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from types import SimpleNamespace

import iso8583

from tools import hostspec, mpybuild, simlink
from tools.scenario import run_file
from tools.simlink import MICROPYTHON, ROOT, AcqSim, Firmware, journal_state, load_cards

sys.path.insert(0, os.path.join(ROOT, "firmware"))
from wasl.card.track2 import parse_track2  # noqa: E402
from wasl.host.iso8583 import Codec  # noqa: E402
from wasl.host.messages import financial, stamp  # noqa: E402
from wasl.host.spec import SPEC  # noqa: E402

PY = os.path.relpath(sys.executable, ROOT) if sys.executable.startswith(ROOT) else "python"
SCENARIOS = os.path.join("host_tests", "scenarios")
BAUD = 9600
TIME = (2026, 7, 5, 9, 8, 7, 6, 186)
UPY_CODEC = """
import time
from wasl.host.iso8583 import Codec
from wasl.host.spec import SPEC
c, f, n, t0 = Codec(SPEC), %r, 0, time.ticks_us()
while time.ticks_diff(time.ticks_us(), t0) < %d:
    for _ in range(100):
        c.decode(c.encode("0200", f))
    n += 100
print(n * 1e6 / time.ticks_diff(time.ticks_us(), t0))
"""


def last_heaps(path):
    """{(scenario, code): KB} of the heap figures a report (docs/benchmarks.md) recorded: where the heap
    searches start."""
    out = {}
    try:
        with open(path) as f:
            for line in f:
                m = re.match(r"\| Smallest heap: ([\w/]+), (\w+) \| (\d+) KB", line)
                if m:
                    out[m.group(1), m.group(2)] = int(m.group(3))
    except OSError:
        pass
    return out


def approved_sale(params, env=None):
    """One approved swiped sale of 125,00 DZD on the desktop terminal, both copies printed: (the stopped
    Firmware with its receipts, the journal's state read back at idle)."""
    with tempfile.TemporaryDirectory(prefix="wasl-bench-") as tmp, AcqSim(os.path.join(tmp, "acq")) as acq, \
            Firmware(os.path.join(tmp, "term"), acq=acq, env=env, params=params) as fw:
        fw.wait_state("idle", 20)
        fw.keys("12500", "OK")
        fw.wait_state("card")
        fw.card(load_cards()["visa_ok"])
        fw.wait_state("copy_prompt", 30)
        fw.key("OK")
        fw.wait_receipts(2, 30)
        fw.wait_state("idle", 20, since=1)
        return fw, journal_state(os.path.join(tmp, "term"))


class Bench:
    def __init__(self, quick):
        self.quick = quick
        self.runs = 3 if quick else 5
        self.seconds = 0.2 if quick else 1.0
        self.heap_range = (56, 136) if quick else (32, 192)
        self.rows = []
        self.hints = last_heaps(os.path.join(ROOT, "docs", "benchmarks.md"))

    def row(self, key, figure, result, target="—", met=None, command=None):
        status = "—" if met is None else ("met" if met else "**not met**")
        cmd = command or "%s -m tools.bench --only %s%s" % (PY, key, " --quick" if self.quick else "")
        self.rows.append((figure, result, target, status, "`%s`" % cmd))

    # 1. heap -----------------------------------------------------------------------------------------
    def min_heap(self, scenario, code):
        """Search in 1 KB steps for the smallest heap at which the scenario passes: (KB or None when even the
        top of the range fails, {KB: summary} of every run). Starts from the figure docs/benchmarks.md
        last recorded (hint): that figure and the one below it settle it in two runs when nothing moved;
        otherwise steps of 1, 2, 4... KB away from it find a passing and a failing heap, and a bisection
        between them finishes. Without a hint: a bisection of the whole range."""
        path, runs = os.path.join(ROOT, SCENARIOS, scenario), {}

        def passes(k):
            if k not in runs:
                runs[k] = run_file(path, heap="%dK" % k, code=code)
            return runs[k]["passed"]

        lo, hi = self.heap_range
        hint = self.hints.get((os.path.basename(scenario)[:-5], code))
        if hint is not None and lo <= hint <= hi:
            if passes(hint):
                top, step = hint, 1                 # down from the hint until a heap fails
                while True:
                    k = max(top - step, lo)
                    if k == top:
                        return top, runs            # the bottom of the range passes
                    if not passes(k):
                        lo, hi = k, top
                        break
                    top, step = k, step * 2
            else:
                bottom, step = hint, 1              # up from the hint until a heap passes
                while True:
                    k = min(bottom + step, hi)
                    if k == bottom:
                        return None, runs           # the top of the range fails
                    if passes(k):
                        lo, hi = bottom, k
                        break
                    bottom, step = k, step * 2
        else:
            if not passes(hi):
                return None, runs
            lo -= 1                   # invariant: lo fails (assumed for the bottom of the range), hi passes
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if passes(mid) else (mid, hi)
        return hi, runs

    def heap_row(self, key, scenario, code, target_kb=None):
        kb, runs = self.min_heap(scenario, code)
        lo, hi = self.heap_range
        below = hi if kb is None else kb - 1
        fail = runs.get(below)
        result = "%d KB" % kb if kb else "> %d KB" % hi
        if fail:
            result += " (%d KB fails at step %d of %d)" % (below, fail["failed_step"], fail["steps"])
        elif kb == lo:
            result += " (bottom of the search range)"
        if code == "romfs":
            result += ", + %d B image" % os.path.getsize(os.path.join(ROOT, "build", "sim.romfs"))
        cmd = "%s -m tools.scenario %s --code %s --heap %dK" % (
            PY, os.path.join(SCENARIOS, scenario), code, kb or hi)
        met = None if target_kb is None else (kb is not None and kb <= target_kb)
        self.row(key, "Smallest heap: %s, %s" % (os.path.basename(scenario)[:-5], code), result,
                 "≤ %d KB (issue 8)" % target_kb if target_kb else "—", met, cmd)

    def heap_sale_romfs(self):
        self.heap_row("heap-sale-romfs", "sale_approved.json", "romfs", 48)

    def heap_sale_mpy(self):
        self.heap_row("heap-sale-mpy", "sale_approved.json", "mpy", 48)

    def heap_cancel_romfs(self):
        self.heap_row("heap-cancel-romfs", "cancel_at_amount.json", "romfs")

    def heap_menu_sale_romfs(self):
        self.heap_row("heap-menu-sale-romfs", "menu_then_sale.json", "romfs", 48)

    # the other transactions of issue 8's list (each its scenario: a sale first where it needs one)
    def heap_void_romfs(self):
        self.heap_row("heap-void-romfs", "void_approved.json", "romfs")

    def heap_refund_romfs(self):
        self.heap_row("heap-refund-romfs", "refund_approved.json", "romfs")

    def heap_bill_romfs(self):
        self.heap_row("heap-bill-romfs", "bill_payment.json", "romfs")

    def heap_settle_romfs(self):
        self.heap_row("heap-settle-romfs", "settlement.json", "romfs")

    def heap_offline_romfs(self):
        self.heap_row("heap-offline-romfs", "offline_sale.json", "romfs")

    # a batch of 200 sales (journal and ledger written before boot: tools/batchfill.py), settled
    def heap_settle200_romfs(self):
        self.heap_row("heap-settle200-romfs", "settlement_200.json", "romfs")

    def heap_settle200_upload_romfs(self):
        self.heap_row("heap-settle200-upload-romfs", os.path.join("bench", "settlement_200_upload.json"), "romfs")

    # 2. boot -----------------------------------------------------------------------------------------
    def boot(self, code):
        times = []
        with tempfile.TemporaryDirectory(prefix="wasl-bench-") as tmp, AcqSim(os.path.join(tmp, "acq")) as acq:
            for i in range(self.runs):
                fw = Firmware(os.path.join(tmp, "term%d" % i), acq=acq, code=code)
                t0 = time.monotonic()
                try:
                    fw.start()
                    fw.wait_state("idle", 20)
                    times.append(time.monotonic() - t0)
                finally:
                    fw.stop()
        ms = statistics.median(times) * 1000
        self.row("boot-" + code, "Boot to idle screen, %s (median of %d)" % (code, self.runs),
                 "%.0f ms" % ms, "< 100 ms", ms < 100)

    def boot_py(self):
        self.boot("py")

    def boot_mpy(self):
        self.boot("mpy")

    def boot_romfs(self):
        self.boot("romfs")

    # 3. codec ----------------------------------------------------------------------------------------
    def rate(self, fn, seconds=None):
        """Calls per second of fn over self.seconds (or seconds)."""
        seconds = seconds or self.seconds
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            for _ in range(100):
                fn()
            n += 100
        return n / (time.perf_counter() - t0)

    @staticmethod
    def sale_0200():
        with open(simlink.PARAMS_TEMPLATE) as f:
            p = json.load(f)
        params = SimpleNamespace(terminal_id=p["terminal_id"], merchant_id=p["merchant_id"],
                                 currency_code=p["currency"]["code"], host_nii=p["host"]["nii"])
        card = parse_track2(load_cards()["visa_ok"]["track2"], "swipe")
        # the sale's journal record ("new", wasl/txn/batch.py), as wasl/txn/sale.py writes it
        t = {"e": "new", "s": 1, "i": 1, "b": 1, "ty": "sale", "a": 12500, "p": card.masked_pan, "m": card.entry,
             "t": stamp(TIME)}
        return financial(params, t, TIME, card)

    def codec_row(self, key, figure, ours, theirs):
        a = b = 0
        for _ in range(5):      # alternating windows, the best of each: both codecs see the same machine
            a = max(a, self.rate(ours, self.seconds / 5))
            b = max(b, self.rate(theirs, self.seconds / 5))
        self.row(key, figure, f"{a:,.0f} msg/s vs pyiso8583 {b:,.0f} msg/s: **{a / b:.2f}x**",
                 "≥ 2x pyiso8583", a / b >= 2)

    def codec_0200(self):
        fields, spec, codec = self.sale_0200(), hostspec.load().spec, Codec(SPEC)
        doc = {"t": "0200", **{str(k): v for k, v in fields.items()}}
        assert bytes(iso8583.encode(dict(doc), spec)[0]) == bytes(codec.encode("0200", fields)), "codecs disagree"
        self.codec_row("codec-0200", "ISO 8583 0200 encode+decode, CPython",
                       lambda: codec.decode(codec.encode("0200", fields)),
                       lambda: iso8583.decode(iso8583.encode(dict(doc), spec)[0], spec))

    def codec_0210(self):
        req, spec, codec = self.sale_0200(), hostspec.load().spec, Codec(SPEC)
        doc = {"t": "0210", "37": "000000123456", "38": "A1B2C3", "39": "00"}
        doc.update({str(f): req[f] for f in (3, 4, 7, 11, 12, 13, 24, 41, 42, 49, 62)})
        raw = bytes(iso8583.encode(dict(doc), spec)[0])
        assert codec.decode(raw)[1] == {int(k): v for k, v in doc.items() if k != "t"}, "codecs disagree"
        self.codec_row("codec-0210", "ISO 8583 0210 decode, CPython", lambda: codec.decode(raw),
                       lambda: iso8583.decode(raw, spec))

    def codec_upy(self):
        env = dict(os.environ, MICROPYPATH=".frozen:" + os.path.join(ROOT, "firmware"))
        script = UPY_CODEC % (self.sale_0200(), self.seconds * 1e6)
        out = subprocess.run([MICROPYTHON, "-c", script], env=env, capture_output=True, text=True, check=True)
        self.row("codec-upy", "ISO 8583 0200 encode+decode, MicroPython unix port",
                 f"{float(out.stdout):,.0f} msg/s")

    # 3b. card security: the EMV kernel and the cryptography, per transaction on the unix port -----------
    def _upy_json(self, script, *args):
        env = dict(os.environ, MICROPYPATH=".frozen:" + os.path.join(ROOT, "firmware"))
        out = subprocess.run([MICROPYTHON, os.path.join(ROOT, script)] + [str(a) for a in args], env=env,
                             cwd=ROOT, capture_output=True, text=True, check=True, timeout=300)
        return json.loads(out.stdout.strip().splitlines()[-1])

    def emv_cpu(self):
        res = self._upy_json("tools/virtual/emvbench.py", 20 if self.quick else 200)
        for name, what in (("visa_online_approved", "contact, online PIN, 12 APDUs"),
                           ("contactless_online", "contactless, 4 APDUs")):
            t = res["transactions"][name]
            self.row("emv-cpu", "EMV kernel CPU per transaction (%s), unix port" % what,
                     "%.2f ms median, %.2f ms min; %d B allocated" % (
                         t["cpu_us_median"] / 1000, t["cpu_us_min"] / 1000, t["alloc_bytes"]))

    def crypto_cpu(self):
        t = self._upy_json("tools/upy/cryptobench.py", 20 if self.quick else 200)
        self.row("crypto-cpu", "Crypto per transaction (DUKPT keys + state saved, PIN block, MAC both ways), "
                 "unix port", "%.2f ms median, %.2f ms min; %d B allocated" % (
                     t["cpu_us_median"] / 1000, t["cpu_us_min"] / 1000, t["alloc_bytes"]))

    def _sale_stages(self):
        """tools/upy/salebench.py once per run of the bench: a chip sale's stages, and its receipt as text
        and as a bitmap."""
        if getattr(self, "_salebench", None) is None:
            env = dict(os.environ, MICROPYPATH=".frozen:%s:%s" % (os.path.join(ROOT, "firmware"),
                                                                   os.path.join(ROOT, "boards", "sim")))
            out = subprocess.run([MICROPYTHON, os.path.join(ROOT, "tools", "upy", "salebench.py"),
                                  str(20 if self.quick else 200)], env=env, cwd=ROOT, capture_output=True,
                                 text=True, check=True, timeout=300)
            self._salebench = json.loads(out.stdout.strip().splitlines()[-1])
        return self._salebench

    def sale_cpu(self):
        res = self._sale_stages()
        what = {"kernel": "EMV kernel (12 APDUs, both GENERATE ACs)",
                "crypto": "DUKPT keys + state saved, PIN block, MAC both ways",
                "message": "0200 built and encoded, 0210 decoded and validated",
                "journal": "6 records appended on littlefs (sim flash file)",
                "receipt": "2 copies laid out, ESC/POS text"}
        for stage in ("kernel", "crypto", "message", "journal", "receipt"):
            t = res["stages"][stage]
            self.row("sale-cpu", "Chip sale CPU, stage %s: %s, unix port" % (stage, what[stage]),
                     "%d µs median, %d µs min" % (t["us_median"], t["us_min"]))
        t = res["total"]
        self.row("sale-cpu", "Chip sale CPU, total of the 5 stages (waits excluded), unix port",
                 "%.2f ms median, %.2f ms min (%d runs)" % (t["us_median"] / 1000, t["us_min"] / 1000, res["runs"]))

    def receipt_bitmap(self):
        r = self._sale_stages()["receipt"]
        text, bitmap = r["merchant_text_bytes"], r["merchant_bitmap_bytes"]
        self.row("receipt-bitmap", "Receipt, merchant copy (chip sale): text vs bitmap (every line GS v 0 raster)",
                 "text %d B, %.2f s; bitmap %d B, %.1f s at %d baud 8N1 (%.0fx); rasterised in %.1f ms" % (
                     text, text * 10 / BAUD, bitmap, bitmap * 10 / BAUD, BAUD, bitmap / text, r["raster_us"] / 1000))

    def heap_chip_sale_romfs(self):
        self.heap_row("heap-chip-sale-romfs", "chip_sale_pin.json", "romfs", 48)

    # 4. receipts -------------------------------------------------------------------------------------
    def receipt(self):
        fw, journal = approved_sale({"language": "en"})
        self.row("receipt", "Journal bytes written per approved sale",
                 "%d B in %d records" % (journal["journal_bytes"], len(journal["records"])))
        for i, copy in enumerate(("merchant", "customer")):
            n = len(fw.receipts[i]["escpos"])
            self.row("receipt", "Receipt, %s copy (approved sale)" % copy,
                     "%d B ESC/POS, %.2f s at %d baud 8N1" % (n, n * 10 / BAUD, BAUD), "< 2 KB", n < 2048)

    def receipt_bilingual(self):
        """The customer copy of the same sale with receipt.bilingual, printed by the firmware on the desktop
        printer twice: as a model with CP864 (WASL_PRINTER_CP864: the Arabic lines as text) and without
        (the Arabic lines as GS v 0 raster, the fallback)."""
        sizes = {}
        for mode, env in (("text", {"WASL_PRINTER_CP864": "37"}), ("bitmap", {})):
            fw, _ = approved_sale({"language": "fr", "receipt": {"bilingual": True}}, env)
            rec = fw.receipts[1]
            raw = bytes(rec["escpos"])
            if rec["unknown_commands"] or (b"\x1dv0" in raw) != (mode == "bitmap"):
                raise RuntimeError("bilingual %s receipt printed wrongly" % mode)
            sizes[mode] = len(raw)
        for mode, what in (("text", "text mode, Arabic lines in CP864"),
                           ("bitmap", "bitmap mode, Arabic lines as GS v 0 raster")):
            n = sizes[mode]
            self.row("receipt-bilingual", "Bilingual FR+AR customer receipt, %s (approved sale)" % what,
                     "%d B ESC/POS, %.2f s at %d baud 8N1 (bytes x 10 / %d)" % (n, n * 10 / BAUD, BAUD, BAUD))

    # 4b. soak: sales in one firmware process (tools/soak.py, docs/soak.md; the long run is make soak) ----
    def soak(self):
        from tools.soak import HEAP_SLOPE_MAX, run_soak

        sales, every, slope_max = (12, 5, 2048) if self.quick else (200, 100, HEAP_SLOPE_MAX)
        rep = run_soak(sales, settle_every=every, heap="104K", key_interval=0, max_slope=slope_max)
        h, j, f = rep["heap"], rep["journal"], rep["fds"]
        result = ("%d sales (%d approved, %d declined as planned), %d settlements, %.2f s a sale: idle heap after "
                  "the first batch %s..%s B, slope %.1f B per 1000 sales; journal at most %s B (bound %s), %s B "
                  "after a settlement; descriptors at idle %s..%s, sockets %s; totals reconciled: %s" % (
                      rep["sales"], rep["approved"], rep["declined"], rep["settlements"],
                      rep["sale_seconds"].get("mean", 0), h["after_warmup_min"], h["after_warmup_max"],
                      h["slope_per_1000"], j["max"], j["bound"], j["after_settle_max"], f["min"], f["max"],
                      f["sockets_max"], rep.get("reconciled")))
        if rep["problems"]:
            result += "; **" + "; ".join(rep["problems"]) + "**"
        self.row("soak", "Soak, %d sales in one firmware process, romfs, 104 KB heap" % sales, result,
                 "slope ≤ %d B/1000 sales, journal bounded, no socket at idle" % slope_max, rep["passed"],
                 "%s -m tools.soak --sales %d --settle-every %d --heap 104K --key-interval 0%s" % (
                     PY, sales, every, "" if slope_max == HEAP_SLOPE_MAX else " --max-slope %d" % slope_max))

    # 4c. fuzzing: the long run (docs/fuzzing.md; make test runs the same tests with 200 examples) -------
    def fuzz(self):
        n = 20 if self.quick else 1000     # 5 times make test's; make fuzz runs 2,000, overnight 20,000
        env = dict(os.environ, WASL_FUZZ_LONG=str(n))
        t0 = time.monotonic()
        res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"] + list(FUZZ_TESTS)
                             + ["-k", "fuzz"], cwd=ROOT, env=env, capture_output=True, text=True)
        took = time.monotonic() - t0
        tail = (res.stdout.strip().splitlines() or ["no output"])[-1]
        passed = re.search(r"(\d+) passed", tail)
        failed = re.search(r"(\d+) failed", tail)
        self.row("fuzz", "Fuzzing, long run: ISO 8583 replies, card TLV, track data, AT replies, parameter "
                 "documents, keypad sequences (CPython and unix port)",
                 "%s tests passed, %s failed, up to %d examples each (fewer for the slow targets), %.0f s" % (
                     passed.group(1) if passed else "0", failed.group(1) if failed else "0", n, took),
                 "no uncaught exception, hang or unbounded allocation", res.returncode == 0,
                 "WASL_FUZZ_LONG=%d %s -m pytest -q %s -k fuzz" % (n, PY, " ".join(FUZZ_TESTS)))

    # 5. code size ------------------------------------------------------------------------------------
    def size(self):
        fw = os.path.join(ROOT, "firmware")
        src = sorted(glob.glob(os.path.join(fw, "wasl", "**", "*.py"), recursive=True))
        with tempfile.TemporaryDirectory(prefix="wasl-bench-") as tmp:
            count, errors = mpybuild.build("sim", tmp)
            if errors:
                raise RuntimeError("mpy build failed: %s" % "; ".join(errors))
            mpy = sum(os.path.getsize(os.path.join(tmp, os.path.relpath(p, fw))[:-3] + ".mpy") for p in src)
        total = sum(map(os.path.getsize, src))
        self.row("size", "Firmware code, firmware/wasl (%d modules)" % len(src),
                 "%d B source, %d B .mpy (%.0f%%)" % (total, mpy, 100.0 * mpy / total))


FIGURES = {
    "heap-sale-romfs": Bench.heap_sale_romfs, "heap-sale-mpy": Bench.heap_sale_mpy,
    "heap-cancel-romfs": Bench.heap_cancel_romfs, "heap-menu-sale-romfs": Bench.heap_menu_sale_romfs,
    "heap-chip-sale-romfs": Bench.heap_chip_sale_romfs, "heap-void-romfs": Bench.heap_void_romfs,
    "heap-refund-romfs": Bench.heap_refund_romfs, "heap-bill-romfs": Bench.heap_bill_romfs,
    "heap-settle-romfs": Bench.heap_settle_romfs, "heap-offline-romfs": Bench.heap_offline_romfs,
    "heap-settle200-romfs": Bench.heap_settle200_romfs,
    "heap-settle200-upload-romfs": Bench.heap_settle200_upload_romfs,
    "emv-cpu": Bench.emv_cpu, "crypto-cpu": Bench.crypto_cpu, "sale-cpu": Bench.sale_cpu,
    "boot-py": Bench.boot_py, "boot-mpy": Bench.boot_mpy, "boot-romfs": Bench.boot_romfs,
    "codec-0200": Bench.codec_0200, "codec-0210": Bench.codec_0210, "codec-upy": Bench.codec_upy,
    "receipt": Bench.receipt, "receipt-bilingual": Bench.receipt_bilingual, "size": Bench.size,
    "receipt-bitmap": Bench.receipt_bitmap, "soak": Bench.soak, "fuzz": Bench.fuzz,
}


# The fuzz tests (docs/fuzzing.md), as `make fuzz` runs them
FUZZ_TESTS = ("host_tests/test_fuzz_iso8583.py", "host_tests/test_fuzz_tlv.py", "host_tests/test_fuzz_track2.py",
              "host_tests/test_fuzz_params.py", "host_tests/test_fuzz_modem.py", "host_tests/test_fuzz_keypad.py",
              "host_tests/test_fw_units.py")

QUICK_SKIPS = ("heap-menu-sale-romfs", "heap-chip-sale-romfs", "heap-void-romfs", "heap-refund-romfs",
               "heap-bill-romfs", "heap-settle-romfs", "heap-offline-romfs", "heap-settle200-upload-romfs",
               "fuzz")   # make test runs the same fuzz tests, 200 examples each


@contextlib.contextmanager
def build_once():
    """Build each code mode once for the whole run: simlink rebuilds the tree at every start, which would
    put the build into the boot time and recompile it for every step of the heap searches."""
    build, cache = simlink.build_code, {}

    def cached(mode, board="sim"):
        if (mode, board) not in cache:
            cache[mode, board] = build(mode, board)
        return cache[mode, board]

    simlink.build_code = cached
    try:
        yield
    finally:
        simlink.build_code = build


def micropython_version():
    out = subprocess.run([MICROPYTHON, "-c", "import sys; print(sys.version)"], capture_output=True, text=True)
    return out.stdout.strip().split("; ")[-1]


def report(bench, command, seconds):
    lines = [
        "# Benchmarks",
        "",
        "Generated by `%s` on %s in %.0f s; every command below is run from the repository root." % (
            command, datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), seconds),
        "",
        "Machine: %s, %d CPUs, Python %s, %s." % (platform.platform(), os.cpu_count(), platform.python_version(),
                                                    micropython_version()),
        "",
        "| Figure | Result | Target | Status | Command |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += ["| %s |" % " | ".join(r) for r in bench.rows]
    lo, hi = bench.heap_range
    lines += [
        "",
        "- Heap: `-X heapsize` given to the firmware, bisected in 1 KB steps between %d and %d KB; the command "
        "passes at the figure. From a ROMFS image the code runs in place from flash on a device, so the "
        "figure excludes the image (build/sim.romfs), which the runner adds to the unix port's heap. Step 1 "
        "of both scenarios waits for the idle screen: a failure there is a failure at boot." % (lo, hi),
        "- Boot: from just before the firmware process is spawned (code already built) to its first `idle` "
        "state event, with the unix port's default heap.",
        "- Codec: the same 0200 (approved-sale fields) through `wasl.host.iso8583.Codec` and through "
        "pyiso8583 with the spec parsed from docs/host-interface.md; the 0210 is the host's reply, encoded by "
        "pyiso8583. Rates are messages per second, single thread, the best of 5 windows of a fifth of the "
        "time each, the two codecs' windows alternating (a shared machine's other work slows a window, "
        "never speeds it up).",
        "- Receipt print time: bytes x 10 bits / %d baud (8N1: a start bit, 8 data bits, a stop bit a byte); "
        "the paper's own speed (about 1.2 to 2 s a receipt) is not counted. Bilingual: the desktop printer "
        "with CP864 at ESC t 37 (text mode) and without a code page (bitmap mode)." % BAUD,
    ]
    lines += notes_issue8(bench)
    return "\n".join(lines) + "\n"


def notes_issue8(bench):
    """The notes of the figures added for issue 8's list, and the comparison with its targets."""
    out = [
        "- Heap searches start from the figure this file last recorded: that figure and the one below it "
        "settle it in two runs when nothing moved; otherwise steps of 1, 2, 4... KB away from it find a "
        "passing and a failing heap, then a bisection between them; without a recorded figure, a bisection "
        "of the whole range. Same result as a plain bisection (a scenario that passes at a heap passes "
        "above it): two runs instead of about nine when the figure did not move.",
        "- Settlement of 200: `settlement_200` has 200 approved sales journaled before boot by the firmware's "
        "own journal code (tools/upy/batchfill.py, 5 records a sale as a real swiped one: 67 KB; 2.2 s against "
        "about 3 minutes for 200 real sales) and "
        "the same 200 in the simulator's ledger (tools/batchfill.py); the terminal rebuilds its batch from "
        "the journal at boot, the scenario checks its totals against the ledger, settles from the menu (0500, "
        "matched by the host, Z report printed) and checks the host's settlement row. `settlement_200_upload` "
        "(host_tests/scenarios/bench/) has the host answer the first 0500 with 95: the terminal uploads the "
        "200 sales (0320) and settles again (960000). It needs more heap than the reconciled settlement: "
        "the terminal prepares 3 key sets at idle (wasl.crypto.txnkeys), the 0500 and the first two 0320s use "
        "them up, and from then on every third request loads the key store on the spot, under the menu. One KB below "
        "the figure, the third 0320 never leaves and the merchant reads SETTLEMENT FAILED / INVALID REPLY.",
        "- Chip sale CPU: tools/upy/salebench.py calls the firmware's own functions with the data of one "
        "recorded contact chip sale with online PIN (transcript visa_online_approved, 150,00 DZD), in the "
        "order a sale runs them, with `time.ticks_us` around each stage; no network, card, keypad or printer "
        "wait is inside. The journal stage writes through littlefs onto the sim's file-backed flash: each "
        "durable append (flushed, so committed) makes littlefs copy the file's partly written last 4 KB block "
        "to a new one (it is copy-on-write), which is most of the stage; the same records appended to a "
        "plain file take about a twentieth of it (2.4 ms against 0.13 ms a record, measured apart). Its "
        "spread (median against minimum) is that copy's size and the other processes of a shared machine.",
        "- Receipt, text vs bitmap: the same merchant copy as ESC/POS text (wasl.drivers.escpos) and with "
        "every line drawn as dots (wasl.drivers.escpos_raster, GS v 0 bands of 384 dots), as a printer "
        "without the language's code page receives it.",
        "- Soak: tools/soak.py (docs/soak.md) with the sales' keys sent at once; the idle heap slope is "
        "taken over the sales after the first settlement. The long run (10,000 sales) is `make soak`.",
        "",
        "## Against the targets of issue 8",
        "",
    ]
    groups = {}
    for figure, result, target, status, _ in bench.rows:
        if target != "—":
            bold = re.search(r"\*\*([^*]+)\*\*", result)
            short = bold.group(1) if bold else re.split(r" \(|, ", result)[0]
            groups.setdefault(target, []).append((figure.split(" (")[0], short, status == "met"))
    for target, items in groups.items():
        n = sum(1 for _, _, ok in items if ok)
        verdict = "met" if n == len(items) else "not met" if n == 0 else "met by %d of %d" % (n, len(items))
        name = {"≤ 48 KB (issue 8)": "Sale within a 48 KB heap", "< 100 ms": "Boot under 100 ms",
                "≥ 2x pyiso8583": "Codec at least 2x pyiso8583 on CPython", "< 2 KB": "Receipt under 2 KB"}.get(
                    target, target)
        out.append("- **%s**: %s. %s." % (name, verdict, "; ".join("%s: %s" % (f, v) for f, v, _ in items)))
    out.append("- The receipt target holds for text receipts; a copy with every line printed as a bitmap (the row "
               "above: what a printer without the language's code page gets) is about 40 times larger.")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions, narrower heap search")
    ap.add_argument("--out", help="markdown file to write (default docs/benchmarks.md, none with --only)")
    ap.add_argument("--only", help="comma-separated figures: " + ", ".join(FIGURES))
    a = ap.parse_args(argv)
    # --quick leaves out the slowest heap searches (a whole menu visit or chip transaction per step)
    keys = a.only.split(",") if a.only else [k for k in FIGURES if not (a.quick and k in QUICK_SKIPS)]
    unknown = [k for k in keys if k not in FIGURES]
    if unknown:
        ap.error("unknown figure %s (choose from %s)" % (", ".join(unknown), ", ".join(FIGURES)))
    out = a.out or (None if a.only else os.path.join(ROOT, "docs", "benchmarks.md"))
    bench, t0 = Bench(a.quick), time.monotonic()
    with build_once():
        for k in keys:
            FIGURES[k](bench)
            print("%-18s %s" % (k, bench.rows[-1][1]), file=sys.stderr, flush=True)
    command = " ".join([PY, "-m", "tools.bench"] + (argv if argv is not None else sys.argv[1:]))
    text = report(bench, command, time.monotonic() - t0)
    print(text)
    if out:
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        with open(out, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
