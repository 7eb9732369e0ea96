"""Headless scenario runner: acquirer simulator + firmware on the unix port, driven by a JSON scenario.

    python -m tools.scenario host_tests/scenarios/sale_approved.json [--heap 64K] [--code romfs]

Exits 0 only if every step held; the last line printed is one JSON summary. The format is in
docs/scenarios.md.
"""
import argparse
import base64
import datetime
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from tools.simlink import ROOT, TEST_KEYS, AcqSim, Firmware, HarnessError, journal_state, load_cards

DEFAULT_TIMEOUT = 15
# Luhn-valid runs of 13-19 digits: what a leaked PAN looks like.
_DIGIT_RUN = re.compile(r"(?<!\d)\d{13,19}(?!\d)")


def luhn_ok(digits):
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def find_pans(text):
    return [m for m in _DIGIT_RUN.findall(text) if luhn_ok(m)]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def rogue_ca(workdir):
    d = os.path.join(workdir, "rogue-pki")
    subprocess.run([sys.executable, "-m", "tools.acqsim.pki", d], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    with open(os.path.join(d, "ca.der"), "rb") as f:
        return base64.b64encode(f.read()).decode()


class Run:
    def __init__(self, scenario, workdir, heap=None, code=None):
        self.sc = scenario
        self.workdir = workdir
        self.heap = heap
        self.code = code or ("romfs" if heap else "py")
        self.cards = load_cards()
        self.acq = None
        self.fw = None
        self.step_no = 0
        self.mark = None        # index of the state the last wait_state matched (None before any)
        self.pins_typed = set()  # digits typed right after a wait for the PIN prompt: searched for

    def setup(self):
        host_mode = self.sc.get("host", "simulator")
        self.acq = AcqSim(os.path.join(self.workdir, "acq"), self.sc.get("acqsim_args", [])).start()
        params = dict(self.sc.get("params", {}))
        host = dict(params.pop("host", {}))
        if host_mode == "unreachable":
            host["port"] = free_port()
        elif host_mode == "rogue_ca":
            host["ca"] = rogue_ca(self.workdir)
        elif host_mode != "simulator":
            raise HarnessError("unknown host mode %r" % host_mode)
        params["host"] = host
        term_dir = os.path.join(self.workdir, "term")
        for name, src in self.sc.get("files", {}).items():     # files next to params.json (a logo)
            if os.path.basename(name) != name:
                raise HarnessError("scenario files: %r is not a plain file name" % name)
            os.makedirs(term_dir, exist_ok=True)
            shutil.copyfile(os.path.join(ROOT, src), os.path.join(term_dir, name))
        self.fw = Firmware(term_dir, acq=self.acq, heap=self.heap, code=self.code,
                           params=params, env=self.sc.get("env"), keys=self.sc.get("test_keys", "aes"),
                           emv=self.sc.get("emv"))
        if "batch" in self.sc:      # a batch of approved sales already in the journal and the ledger
            from tools import batchfill

            b = self.sc["batch"]
            batchfill.fill(self.fw.data_dir, self.acq.info["ledger"],
                           batchfill.sales_for(b["sales"], b.get("seed", 8), datetime.datetime.now()), self.fw.params)
        self.fw.start()

    def teardown(self):
        if self.fw:
            self.fw.stop()
        if self.acq:
            self.acq.stop()

    # steps ---------------------------------------------------------------------------------------
    def step(self, st):
        fw = self.fw
        t = st.get("timeout", DEFAULT_TIMEOUT)
        if "wait_state" in st:
            # strictly after the state the previous wait matched: waiting twice for "card" means a second one
            since = 0 if self.mark is None else self.mark + 1
            if st.get("fail_on"):       # states that mean it will not come: fail at once, not at the timeout
                def came():
                    for state in fw.states[since:]:
                        if state == st["wait_state"]:
                            return True
                        if state in st["fail_on"]:
                            raise HarnessError("state %r came instead of %r" % (state, st["wait_state"]))
                    return False

                fw.wait_for(came, t, "state %r" % st["wait_state"])
            self.mark = fw.wait_state(st["wait_state"], t, since=since)
        elif "keys" in st:
            if self.mark is not None and fw.states[self.mark] == "pin":
                self.pins_typed.update(k for k in st["keys"] if k.isdigit())
            fw.keys(*st["keys"])
        elif "key" in st:
            fw.key(st["key"])
        elif "card" in st:
            card = st["card"]
            fw.card(self.cards[card] if isinstance(card, str) else card)
        elif "insert" in st:
            fw.insert(st["insert"], st.get("entry", "chip"), st.get("remove_at"))
        elif "tap" in st:
            fw.tap(st["tap"], st.get("remove_at"))
        elif "remove_card" in st:
            fw.remove_card()
        elif "expect_apdus" in st:
            self.expect_apdus(st["expect_apdus"], t)
        elif "printer" in st:
            fw.printer(**st["printer"])
        elif "sleep" in st:
            time.sleep(st["sleep"])
        elif "expect_screen" in st:
            fw.wait_screen(st["expect_screen"], t, since_state=self.mark)
        elif "wait_receipts" in st:
            fw.wait_receipts(st["wait_receipts"], t)
        elif "expect_receipt" in st:
            self.expect_receipt(st["expect_receipt"])
        elif "expect_receipts" in st:
            if len(fw.receipts) != st["expect_receipts"]:
                raise HarnessError("%d receipts printed, expected %d" % (len(fw.receipts), st["expect_receipts"]))
        elif "expect_ledger" in st:
            self.expect_ledger(st["expect_ledger"])
        elif "expect_reconcile" in st:
            self.expect_reconcile()
        elif "expect_settlement" in st:
            self.expect_settlement(st["expect_settlement"])
        elif "expect_beep" in st:
            fw.wait_for(lambda: st["expect_beep"] in fw.beeps, t, "a %r beep" % st["expect_beep"])
        else:
            raise HarnessError("unknown step %s" % json.dumps(st))

    def expect_receipt(self, exp):
        rec = self.fw.receipts
        i = exp.get("index", -1)
        if not rec or i >= len(rec) or i < -len(rec):
            raise HarnessError("no receipt %d (printed %d)" % (i, len(rec)))
        text = rec[i]["text"]
        for s in exp.get("contains", []):
            if s not in text:
                raise HarnessError("receipt %d lacks %r:\n%s" % (i, s, text))
        for s in exp.get("not_contains", []):
            if s in text:
                raise HarnessError("receipt %d contains %r" % (i, s))

    def expect_apdus(self, exp, timeout):
        """{"80AE": 2, "0082": 0}: that many commands beginning with these hex digits have gone to the
        card (waits for them up to the step's timeout; more than that fails)."""
        fw = self.fw

        def counts():
            return {k: fw.apdu_count(k) for k in exp}

        try:
            fw.wait_for(lambda: counts() == exp, timeout, "APDUs %s" % exp)
        except HarnessError:
            raise HarnessError("APDUs sent %s, expected %s; commands: %s"
                               % (counts(), exp, " ".join(a["c"][:4] for a in fw.apdus))) from None

    def expect_ledger(self, exp):
        tid = self.fw.params["terminal_id"]
        rows = self.acq.ledger_rows(tid)
        if "count" in exp and len(rows) != exp["count"]:
            raise HarnessError("ledger has %d rows for %s, expected %d" % (len(rows), tid, exp["count"]))
        if "last" in exp:
            if not rows:
                raise HarnessError("ledger is empty")
            last = rows[-1]
            for k, v in exp["last"].items():
                if last.get(k) != v:
                    raise HarnessError("ledger last row %s=%r, expected %r" % (k, last.get(k), v))

    def expect_settlement(self, exp):
        """Fields of the simulator's last settlement row for this terminal (its 0500: "matched", "rc",
        "terminal_debit_count", "host_debit_amount"...)."""
        from tools.acqsim.ledger import Ledger
        rows = Ledger(self.acq.info["ledger"]).settlements(self.fw.params["terminal_id"])
        if not rows:
            raise HarnessError("the simulator has no settlement for this terminal")
        for k, v in exp.items():
            if rows[-1].get(k) != v:
                raise HarnessError("settlement %s=%r, expected %r (%s)" % (k, rows[-1].get(k), v, rows[-1]))

    def expect_reconcile(self):
        """The terminal's batch totals, rebuilt from its journal, equal the host ledger's for this
        terminal and batch; and no reversal is left pending."""
        j = journal_state(self.fw.data_dir)
        tid = self.fw.params["terminal_id"]
        from tools.acqsim.ledger import Ledger
        host = Ledger(self.acq.info["ledger"]).batch_totals(tid, "%06d" % j["batch"])
        mine = {k: j[k] for k in ("debit_count", "debit_amount", "credit_count", "credit_amount")}
        if {k: host[k] for k in mine} != mine:
            raise HarnessError("terminal totals %s != host ledger %s (batch %d)" % (mine, host, j["batch"]))
        if j["pending"] is not None:
            raise HarnessError("a reversal is still pending for STAN %s" % j["pending"])

    def invariants(self):
        """Checks that hold after every scenario."""
        fw = self.fw
        if fw.stdout_junk:
            raise HarnessError("firmware wrote non-protocol lines on stdout: %r" % fw.stdout_junk[:3])
        wd = [e for e in fw.events if e.get("ev") == "watchdog"]
        if wd and (wd[-1]["late"] or wd[-1]["longest_ms"] > wd[-1]["timeout_ms"]):
            raise HarnessError("the loop stalled %d ms (watchdog %d ms)" % (wd[-1]["longest_ms"], wd[-1]["timeout_ms"]))
        # the APDU log (fw.apdus) is not scanned: card and terminal exchange card data, as they must
        seen = {
            "log": fw.log_text(),
            "display": "\n".join("\n".join(s) for s in fw.screens),
            "receipts": "\n".join(r["text"] for r in fw.receipts),
            "journal": self.journal_text(),
        }
        secrets = self.secrets()
        for where, text in seen.items():
            pans = find_pans(text)
            if pans:
                raise HarnessError("a full PAN appears in the %s" % where)
            if "=" in text and re.search(r"\d{12,19}=\d{4}", text):
                raise HarnessError("track 2 data appears in the %s" % where)
            upper = text.upper()
            for name, value in secrets:
                if value in upper:
                    raise HarnessError("%s appears in the %s" % (name, where))
        # the PINs typed in this scenario never reach the log or the journal (on a screen or a receipt
        # the same digits may be an amount or a number, so those are not searched)
        for pin in self.pins_typed:
            for where in ("log", "journal"):
                if re.search(r"(?<![0-9])%s(?![0-9])" % pin, seen[where]):
                    raise HarnessError("a PIN typed at the PIN prompt (%s) appears in the %s" % (pin, where))
        for a in fw.apdus:
            if "error" in a:
                raise HarnessError("the virtual card failed on %s: %s" % (a["c"][:8], a["error"]))
        for r in fw.receipts:
            if r["unknown_commands"]:
                raise HarnessError("the printer met %d unknown ESC/POS commands" % r["unknown_commands"])

    def journal_text(self):
        """The terminal's journal records as text (read from its flash image), or "" when it has none.
        The local time stamps ("t": 14 digits, Luhn-valid one time in ten) are left out of the PAN search."""
        try:
            recs = journal_state(os.path.join(self.workdir, "term"))["records"]
        except HarnessError:
            return ""
        return "\n".join(json.dumps({k: v for k, v in r.items() if k != "t"}) for r in recs)

    def secrets(self):
        """(name, upper-case hex) of every clear key this terminal holds or was made from: the KBPK, the
        test BDK and the DUKPT initial key. None of them may appear anywhere."""
        out = []
        data = os.path.join(self.workdir, "term")
        try:
            with open(os.path.join(data, "secure", "kbpk"), "rb") as f:
                out.append(("the KBPK", f.read().hex().upper()))
        except OSError:
            return out
        from tools import hostcrypto
        for scheme, argv in TEST_KEYS.items():
            with open(argv[argv.index("--bdk-file") + 1]) as f:
                bdk = bytes.fromhex(next(ln.strip() for ln in f if ln.strip() and not ln.startswith("#")))
            out.append(("the %s test BDK" % scheme, bdk.hex().upper()))
            if scheme == "aes":
                ik = hostcrypto.aes_initial_key(bdk, bytes.fromhex(argv[argv.index("--ikid") + 1]))
            else:
                ik = hostcrypto.tdes_ipek(bdk, bytes.fromhex(argv[argv.index("--ksn") + 1]))
            out.append(("the %s initial key" % scheme, bytes(ik).hex().upper()))
        return out

    def run(self):
        t0 = time.monotonic()
        summary = {"scenario": self.sc.get("name", "?"), "code": self.code, "heap": self.heap}
        try:
            self.setup()
            for self.step_no, st in enumerate(self.sc["steps"], 1):
                self.step(st)
            self.fw.stop()
            if self.fw.exit_code not in (0, None):
                raise HarnessError("firmware exited with code %s:\n%s" % (self.fw.exit_code, self.fw.log_tail()))
            self.invariants()
            summary["passed"] = True
        except HarnessError as e:
            summary.update(passed=False, failed_step=self.step_no, error=str(e))
        finally:
            self.teardown()
        summary.update(steps=len(self.sc["steps"]), seconds=round(time.monotonic() - t0, 2))
        if self.fw:
            summary.update(receipts=len(self.fw.receipts), heapsize=self.fw.heapsize)
        return summary


def run_file(path, heap=None, code=None, keep=None):
    with open(path) as f:
        sc = json.load(f)
    if keep:
        shutil.rmtree(keep, ignore_errors=True)
    workdir = keep or tempfile.mkdtemp(prefix="wasl-scenario-")
    run = Run(sc, workdir, heap, code)
    try:
        return run.run()
    finally:
        if keep and run.fw is not None and run.fw.receipts:
            from tools.receipt_png import save_receipts

            save_receipts(run.fw.receipts, os.path.join(keep, "receipts"))   # .txt and .png each
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Run a Wasl scenario headless.")
    ap.add_argument("scenario")
    ap.add_argument("--heap", help="micropython -X heapsize for the firmware, e.g. 64K")
    ap.add_argument("--code", choices=("py", "mpy", "romfs"),
                    help="run sources, a compiled .mpy tree or a ROMFS image (default: py, romfs with --heap)")
    ap.add_argument("--keep", help="keep the work directory (logs, params, ledger, receipts as .txt and .png) here")
    a = ap.parse_args(argv)
    if not a.scenario:
        ap.error("give a scenario file: make scenario S=host_tests/scenarios/sale_approved.json")
    summary = run_file(a.scenario, a.heap, a.code, a.keep)
    if not summary["passed"]:
        print(summary["error"], file=sys.stderr)
    print(json.dumps(summary))
    return 0 if summary["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
