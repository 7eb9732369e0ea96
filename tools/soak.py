"""Soak: many sales through the acquirer simulator in ONE firmware process (issue 8, item 2).

    python -m tools.soak --sales 10000 [--settle-every 100] [--heap 96K] [--code romfs|py] [--json out.json]

One simulator and one firmware process for the whole run. Sales go as fast as the firmware takes them:
the amount typed and OK, the magnetic stripe test card `visa_ok` swiped, the customer copy asked for at
once, the result screen skipped with a key. Amounts vary (seeded); every --decline-every'th sale ends
in .51 (the simulator's "insufficient funds") and must be declined, every other one avoids the
simulator's trigger cents and must be approved. Every --settle-every sales the batch is settled
(menu F1, 5, supervisor PIN), which compacts the journal.

Measured per sale, at the idle screen that follows it: the live heap the sim board reports with the
state (gc.mem_alloc() after gc.collect(), boards/sim/board.py `trace`), the firmware process's open
file descriptors and sockets (/proc/<pid>/fd), the wall time of the sale; the journal's size
(tools.simlink.journal_state, a process of its own: sampled every --journal-every sales and around each
settlement). At the end the terminal's batch is reconciled with the simulator's ledger.

Exit status 0 only when every sale ended as expected and:
  - the least-squares slope of the idle heap over the sales after the warm-up (the sales before the
    first settlement: the first sale and the first settlement intern names and grow tables once) is at
    most --max-slope bytes per 1000 sales (default HEAP_SLOPE_MAX);
  - the journal never exceeded --journal-max bytes (default: JOURNAL_BYTES_PER_SALE per sale of a
    batch, plus JOURNAL_SLACK), and a settlement left it at most JOURNAL_AFTER_SETTLE bytes;
  - the open descriptors at idle never exceeded those at the first idle screen, and no socket was
    ever open at an idle screen;
  - the terminal's totals equal the ledger's and no reversal is pending.
docs/soak.md has the figures and how the long run is done.

The Driver class is the harness-side "person at the terminal" (sales of every kind, menu flows), also
used by host_tests/test_security_sweep.py.
"""
import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time

from tools.simlink import KEY_INTERVAL_S, ROOT, AcqSim, Firmware, HarnessError, journal_state, load_cards

# Thresholds (docs/soak.md)
HEAP_SLOPE_MAX = 256          # bytes per 1000 sales: one GC block (32 B, 64-bit unix port) leaked every 125 sales fails
JOURNAL_BYTES_PER_SALE = 512  # an approved swiped sale journals 327 B in 5 records (docs/benchmarks.md)
JOURNAL_SLACK = 1024          # the compaction's base record, the settlement's ctl / set records
JOURNAL_AFTER_SETTLE = 256    # what compaction leaves: one "base" record
DECLINE_CENTS = 51            # the simulator's "insufficient funds" (docs/host-interface.md, 10.2)
SUPERVISOR_PIN = "1234"       # boards/sim/params.json supervisor_pin_sha256

# A UI state that ends a card transaction (docs/scenarios.md lists them all)
OUTCOMES = ("approved", "declined", "no_reply", "card_error", "cancelled", "timeout", "wrong_pin", "pin_tries",
            "reversal_pending", "keys_missing", "error", "card_declined", "fallback", "pin_locked",
            "void_refused", "batch_empty", "settle_failed", "settled", "advices_pending", "insert_card")


def safe_cents():
    """Cents the simulator answers with a plain approval (no trigger of docs/host-interface.md 10.2)."""
    from tools.acqsim.rules import TRIGGERS

    return [c for c in range(100) if c not in TRIGGERS]


class SoakFirmware(Firmware):
    """Firmware that also keeps, for each UI state, the live heap the board reported with it
    (state_heaps, parallel to states), and can drop what the harness accumulates (events, LCD frames,
    receipts) so that a run of 10,000 sales does not grow the harness."""

    def __init__(self, *a, **kw):
        Firmware.__init__(self, *a, **kw)
        self.state_heaps = []
        self.receipts_dropped = 0

    def _event(self, ev):
        Firmware._event(self, ev)
        if ev.get("ev") == "state":
            self.state_heaps.append(ev.get("heap"))

    @property
    def receipt_count(self):
        return self.receipts_dropped + len(self.receipts)

    def trim(self, keep_screens=64, keep_receipts=8):
        """Forget old events, frames and receipts (the states and their heaps are kept: small). Call at
        idle, between transactions."""
        with self._cond:
            del self.events[:]
            drop = len(self.screens) - keep_screens
            if drop > 4 * keep_screens:       # rare: state_screens is rebased each time
                del self.screens[:drop]
                self.state_screens = [max(0, n - drop) for n in self.state_screens]
            drop = len(self.receipts) - keep_receipts
            if drop > 0:
                del self.receipts[:drop]
                self.receipts_dropped += drop


class SaleFailed(HarnessError):
    pass


def open_fds(pid):
    """Link targets of the process's open file descriptors ('socket:[123]', 'pipe:[..]', paths)."""
    d = "/proc/%d/fd" % pid
    out = []
    try:
        names = os.listdir(d)
    except OSError:
        return out
    for name in names:
        try:
            out.append(os.readlink(os.path.join(d, name)))
        except OSError:
            pass
    return out


def slope(xs, ys):
    """Least-squares slope of ys over xs (0 with fewer than 2 points)."""
    n = len(xs)
    if n < 2:
        return 0.0
    mx = sum(xs) / n
    my = sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if not sxx:
        return 0.0
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx


class Driver:
    """A person at the sim terminal: each method runs one flow from the idle screen back to it and
    returns {"outcome": the UI state that ended it, "idle": index of the idle state in fw.states,
    "heap": live heap at that idle screen, "seconds": wall time}. Unexpected screens raise SaleFailed
    with the screen, the last states and the log's tail."""

    def __init__(self, fw, cards=None, pin=SUPERVISOR_PIN, key_interval=None):
        self.fw = fw
        self.key_interval = key_interval    # seconds between keys; None: the harness's (simlink.KEY_INTERVAL_S)
        self.cards = cards or load_cards()
        self.supervisor_pin = pin
        self.last_idle = None
        self.pins_typed = set()     # cardholder PINs typed at a PIN prompt (the sweep searches for them)

    def type(self, *names):
        """Firmware.keys() at this driver's pace: type("12500", "OK")."""
        if self.key_interval is None:
            return self.fw.keys(*names)
        first = True
        for n in names:
            for k in (n if n.isdigit() else (n,)):
                if not first and self.key_interval:
                    time.sleep(self.key_interval)
                first = False
                self.fw.key(k)

    # waiting ---------------------------------------------------------------------------------------
    def wait_any(self, states, since, timeout=30):
        """(index, state) of the first state in `states` at index >= since."""
        fw = self.fw
        found = {}

        def pred():
            for i in range(since, len(fw.states)):
                if fw.states[i] in states:
                    found["i"] = i
                    return True
            return False

        fw.wait_for(pred, timeout, "one of the states %s" % (sorted(states),))
        return found["i"], fw.states[found["i"]]

    def fail(self, what):
        fw = self.fw
        raise SaleFailed("%s\nscreen:\n%s\nlast states: %s\nlog:\n%s"
                         % (what, fw.screen_text(), fw.states[-12:], fw.log_tail(12)))

    def start(self, timeout=30):
        """Wait for the first idle screen after boot."""
        self.last_idle = self.fw.wait_state("idle", timeout)
        return self.last_idle

    def _since(self):
        return len(self.fw.states)

    def _idle(self, since, t0, outcome, timeout=20):
        fw = self.fw
        i = fw.wait_state("idle", timeout, since=since)
        self.last_idle = i
        return {"outcome": outcome, "idle": i, "heap": fw.state_heaps[i] if hasattr(fw, "state_heaps") else None,
                "seconds": time.monotonic() - t0}

    def _finish(self, i, st, t0):
        """After the state that ended a card transaction: answer the customer-copy prompt at once, skip
        the result screen with a key, back to idle."""
        fw = self.fw
        if st == "approved":
            j, st2 = self.wait_any(("copy_prompt", "result"), i + 1, 20)
            if st2 == "copy_prompt":
                fw.key("OK")
                j = fw.wait_state("result", 20, since=j + 1)
        elif st == "declined":
            j = fw.wait_state("result", 20, since=i + 1)
        else:
            self.fail("the transaction ended in %r" % st)
        fw.key("CLEAR")             # skips the result screen (CLEAR does nothing at idle)
        return self._idle(j + 1, t0, st)

    def _card(self, since, present, pin=None):
        """At the card prompt (state index >= since): present the card, type the PIN if asked; return
        (index, state) of the state that ended the transaction."""
        fw = self.fw
        i = fw.wait_state("card", 15, since=since)
        present()
        while True:
            i, st = self.wait_any(OUTCOMES + ("pin",), i + 1, 40)
            if st != "pin":
                return i, st
            if pin is None:
                self.fail("a PIN was asked for")
            self.pins_typed.add(pin)
            self.type(pin, "OK")

    def _menu(self, item):
        fw = self.fw
        n = self._since()
        fw.key("F1")
        i = fw.wait_state("menu", 10, since=n)
        fw.key(item)
        return i + 1

    def _supervisor(self, since, pin=None):
        fw = self.fw
        i = fw.wait_state("digits", 10, since=since)
        self.type(pin or self.supervisor_pin, "OK")
        return i + 1

    # flows -----------------------------------------------------------------------------------------
    def begin_sale(self, amount, card="visa_ok", pin=None):
        """Type the amount, swipe the card (its PIN typed if asked): (index, state) of the state that
        ended the transaction; the caller goes on from there (dismiss, or what sale() does)."""
        n = self._since()
        self.type(str(amount), "OK")
        return self._card(n, lambda: self.fw.card(self.cards[card]), pin)

    def dismiss(self, i):
        """Leave the message screen of the state at index i with a key (CLEAR); back at idle."""
        self.fw.key("CLEAR")
        return self._idle(i + 1, time.monotonic(), self.fw.states[i])

    def sale(self, amount, card="visa_ok", pin=None, expect=None):
        """A swiped sale (card: a name in host_tests/cards/magstripe.json, its PIN typed if asked)."""
        t0 = time.monotonic()
        i, st = self.begin_sale(amount, card, pin)
        if expect and st != expect:
            self.fail("sale of %d: %r, expected %r" % (amount, st, expect))
        return self._finish(i, st, t0)

    def chip_sale(self, amount, profile="emv_visa_cvn18", pin="1234", entry="chip", expect=None):
        """A chip (entry "chip") or contactless ("tap") sale with a virtual EMV card; removed after."""
        fw = self.fw
        t0 = time.monotonic()
        n = self._since()
        self.type(str(amount), "OK")
        i, st = self._card(n, lambda: fw.insert(profile, entry), pin)
        if expect and st != expect:
            self.fail("%s sale of %d: %r, expected %r" % (entry, amount, st, expect))
        res = self._finish(i, st, t0)
        fw.remove_card()
        return res

    def offline_sale(self, amount, card="visa_ok"):
        """A swiped sale under offline.floor_limit: approved by the terminal, then its advice (0220)
        goes at idle; returns when the terminal is idle with the advice answered."""
        res = self.sale(amount, card, expect="approved")
        fw = self.fw
        i = fw.wait_state("advice", 20, since=res["idle"] + 1)
        res = self._idle(i + 1, time.monotonic() - res["seconds"], "approved", 30)
        return res

    def refund(self, amount, profile="emv_visa_cvn18", rrn=""):
        fw = self.fw
        t0 = time.monotonic()
        i = self._supervisor(self._menu("3"))
        i = fw.wait_state("digits", 10, since=i)     # the original RRN (parameter refund_asks_rrn)
        self.type(*([rrn, "OK"] if rrn else ["OK"]))
        fw.wait_state("amount", 10, since=i + 1)
        self.type(str(amount), "OK")
        i, st = self._card(i + 1, lambda: fw.insert(profile, "chip"))
        res = self._finish(i, st, t0)
        fw.remove_card()
        return res

    def void(self, invoice):
        fw = self.fw
        t0 = time.monotonic()
        i = self._supervisor(self._menu("2"))
        i = fw.wait_state("digits", 10, since=i)
        self.type(str(invoice), "OK")
        i, st = self.wait_any(("confirm", "void_refused", "pin_locked", "wrong_pin"), i + 1, 15)
        if st != "confirm":
            self.fail("void of invoice %s: %r" % (invoice, st))
        fw.key("OK")
        i, st = self.wait_any(OUTCOMES, i + 1, 40)
        return self._finish(i, st, t0)

    def bill(self, biller=1, reference="55512345", profile="emv_contactless", entry="tap", pin=None):
        fw = self.fw
        t0 = time.monotonic()
        i = self._menu("4")
        i = fw.wait_state("menu", 10, since=i)
        fw.key(str(biller))
        i = fw.wait_state("digits", 10, since=i + 1)
        self.type(reference, "OK")
        i, st = self.wait_any(("confirm", "declined", "no_reply"), i + 1, 20)
        if st != "confirm":
            self.fail("bill inquiry: %r" % st)
        fw.key("OK")
        i, st = self._card(i + 1, lambda: fw.insert(profile, entry), pin)
        res = self._finish(i, st, t0)
        fw.remove_card()
        return res

    def settle(self):
        fw = self.fw
        t0 = time.monotonic()
        i = self._supervisor(self._menu("5"))
        i, st = self.wait_any(("settled", "settle_failed", "batch_empty", "no_reply", "wrong_pin", "pin_locked",
                               "advices_pending", "reversal_pending"), i, 60)
        if st != "settled":
            self.fail("settlement: %r" % st)
        fw.key("CLEAR")
        return self._idle(i + 1, t0, st)

    def x_report(self):
        t0 = time.monotonic()
        i = self._menu("7")
        return self._idle(i, t0, "printed")

    def reprint_last(self):
        fw = self.fw
        t0 = time.monotonic()
        i = self._menu("6")
        i = fw.wait_state("menu", 10, since=i)
        fw.key("1")
        i = fw.wait_state("printing", 10, since=i + 1)
        return self._idle(i + 1, t0, "reprinted")

    def echo(self):
        fw = self.fw
        t0 = time.monotonic()
        i = self._menu("8")
        i, st = self.wait_any(("host_ok", "declined", "no_reply"), i, 30)
        fw.key("CLEAR")
        return self._idle(i + 1, t0, st)

    def supervisor_attempt(self, item="5", pin="0000"):
        """Open a supervisor flow from the menu (default 5, settlement; 2 void, 3 refund) and type this
        PIN. Returns the state that answered: "wrong_pin", "pin_locked" (the PIN was not even asked),
        or, for the right PIN, what came next: "settled" / "batch_empty" for a settlement, "digits" /
        "amount" for a void or refund (cancelled there). Back at idle afterwards."""
        fw = self.fw
        t0 = time.monotonic()
        i = self._menu(item)
        i, st = self.wait_any(("digits", "pin_locked"), i, 10)
        if st == "digits":
            self.type(pin, "OK")
            i, st = self.wait_any(("wrong_pin", "pin_locked", "digits", "amount", "settled", "batch_empty",
                                   "settle_failed", "no_reply"), i + 1, 40)
        if st in ("digits", "amount"):
            fw.key("CANCEL")            # the flow ends without a message
            return self._idle(i + 1, t0, st)
        fw.key("CLEAR")                 # leaves the message screen at once (CLEAR does nothing at idle)
        return self._idle(i + 1, t0, st)


# ---- the soak ------------------------------------------------------------------------------------------

def amounts(n, decline_every, seed=1):
    """n (amount, expected outcome) pairs: 1.00 to 9 999.99 DZD, safe cents; every decline_every'th
    (1-based) ends in DECLINE_CENTS and must be declined."""
    rng = random.Random(seed)
    cents = safe_cents()
    out = []
    for k in range(1, n + 1):
        units = rng.randint(1, 9999)
        if decline_every and k % decline_every == 0:
            out.append((units * 100 + DECLINE_CENTS, "declined"))
        else:
            out.append((units * 100 + rng.choice(cents), "approved"))
    return out


def _stats(values):
    if not values:
        return {}
    s = sorted(values)
    return {"mean": round(sum(s) / len(s), 4), "p50": round(s[len(s) // 2], 4),
            "p95": round(s[min(len(s) - 1, int(len(s) * 0.95))], 4), "max": round(s[-1], 4)}


def run_soak(sales, settle_every=100, heap=None, code=None, workdir=None, decline_every=10, journal_every=None,
             max_slope=HEAP_SLOPE_MAX, journal_max=None, seed=1, progress=None, params=None, key_interval=None):
    """Run the soak; return the report (a dict; report["passed"] and report["problems"])."""
    code = code or ("romfs" if heap else "py")
    journal_every = journal_every or max((settle_every or 100) // 2, 1)
    if journal_max is None:     # a batch's sales, or all of them when nothing is settled
        journal_max = (settle_every or sales) * JOURNAL_BYTES_PER_SALE + JOURNAL_SLACK
    own = workdir is None
    workdir = workdir or tempfile.mkdtemp(prefix="wasl-soak-")
    plan = amounts(sales, decline_every, seed)
    rep = {"sales_requested": sales, "settle_every": settle_every, "decline_every": decline_every,
           "code": code, "heap_limit": heap, "seed": seed,
           "key_interval": KEY_INTERVAL_S if key_interval is None else key_interval}
    idle_heap = []          # (sale number, live heap at the idle screen after it)
    peak_heap = []          # (sale number, largest live heap at any state of it)
    fds = []                # (sale number, open fds, sockets) at idle
    journal = []            # (sale number, journal bytes, "sample" | "before_settle" | "after_settle")
    secs = []
    outcome = {"approved": 0, "declined": 0}
    failure = None
    settlements = []        # (sale number, seconds)
    warmup = None           # sales done when the first settlement finished
    fw = acq = None
    t_start = time.monotonic()
    done = 0
    try:
        acq = AcqSim(os.path.join(workdir, "acq")).start()
        p = {"language": "en"}
        p.update(params or {})
        fw = SoakFirmware(os.path.join(workdir, "term"), acq=acq, heap=heap, code=code, params=p)
        fw.start()
        rep["heapsize"] = fw.heapsize
        if code == "romfs":     # the unix port holds the image in its heap: part of every heap figure
            rep["romfs_image_bytes"] = os.path.getsize(os.path.join(ROOT, "build", "sim.romfs"))
        d = Driver(fw, key_interval=key_interval)
        first = d.start()
        rep["boot_heap"] = fw.state_heaps[first]
        pid = fw.proc.pid

        def sample_fds(k):
            t = open_fds(pid)
            fds.append((k, len(t), sum(1 for x in t if x.startswith("socket:"))))

        def sample_journal(k, why):
            journal.append((k, journal_state(fw.data_dir)["journal_bytes"], why))

        sample_fds(0)
        t_start = time.monotonic()
        for k, (amount, expect) in enumerate(plan, 1):
            n0 = len(fw.states)
            res = d.sale(amount, expect=expect)
            done = k
            outcome[res["outcome"]] += 1
            secs.append(res["seconds"])
            idle_heap.append((k, res["heap"]))
            peak_heap.append((k, max(h for h in fw.state_heaps[n0:res["idle"] + 1] if h is not None)))
            sample_fds(k)
            fw.trim()
            if settle_every and k % settle_every == 0:
                sample_journal(k, "before_settle")
                s = d.settle()
                settlements.append((k, round(s["seconds"], 3)))
                if warmup is None:
                    warmup = k
                sample_journal(k, "after_settle")
                sample_fds(k)
            elif journal_every and k % journal_every == 0:
                sample_journal(k, "sample")
            if progress and k % progress == 0:
                el = time.monotonic() - t_start
                print("soak: %d/%d sales, %.1f s, %.2f sales/s, idle heap %s, journal %s B"
                      % (k, sales, el, k / el, res["heap"], journal[-1][1] if journal else "?"),
                      file=sys.stderr, flush=True)
        if not journal or journal[-1][0] != done or journal[-1][2] == "before_settle":
            sample_journal(done, "end")
        j = journal_state(fw.data_dir)
        tid = fw.params["terminal_id"]
        from tools.acqsim.ledger import Ledger
        host = Ledger(acq.info["ledger"]).batch_totals(tid, "%06d" % j["batch"])
        mine = {k: j[k] for k in ("debit_count", "debit_amount", "credit_count", "credit_amount")}
        rep["reconciled"] = {k: host[k] for k in mine} == mine and j["pending"] is None
        rep["batch"] = j["batch"]
        rows = acq.ledger_rows(tid)
        rep["ledger"] = {"rows": len(rows),
                         "approved_sales": sum(1 for r in rows if r["mti"] == "0200" and r["approved"]),
                         "settlements": sum(1 for r in rows if r["mti"] == "0500" and r["approved"])}
    except HarnessError as e:
        failure = str(e)
    finally:
        elapsed = time.monotonic() - t_start
        if fw is not None:
            fw.stop()
            rep["exit_code"] = fw.exit_code
            rep["receipts"] = fw.receipt_count
        if acq is not None:
            acq.stop()
        if own:
            shutil.rmtree(workdir, ignore_errors=True)

    rep["sales"] = done
    rep.update(outcome)
    rep["failure"] = failure
    rep["settlements"] = len(settlements)
    rep["seconds"] = round(elapsed, 2)
    rep["sales_per_second"] = round(done / elapsed, 3) if elapsed and done else 0
    rep["sale_seconds"] = _stats(secs)
    rep["settle_seconds"] = _stats([s for _, s in settlements])
    after = [(k, h) for k, h in idle_heap if warmup is None or k > warmup]
    rep["heap"] = {
        "first": idle_heap[0][1] if idle_heap else None, "last": idle_heap[-1][1] if idle_heap else None,
        "max": max((h for _, h in idle_heap), default=None), "min": min((h for _, h in idle_heap), default=None),
        "warmup_sales": warmup or 0, "samples": len(after),
        "after_warmup_min": min((h for _, h in after), default=None),
        "after_warmup_max": max((h for _, h in after), default=None),
        "slope_per_1000": round(1000 * slope([k for k, _ in after], [h for _, h in after]), 1),
        "peak_max": max((h for _, h in peak_heap), default=None),
        "peak_after_warmup_max": max((h for k, h in peak_heap if warmup is None or k > warmup), default=None),
    }
    rep["journal"] = {"max": max((b for _, b, _ in journal), default=None),
                      "end": journal[-1][1] if journal else None,
                      "after_settle_max": max((b for _, b, w in journal if w == "after_settle"), default=None),
                      "bound": journal_max, "samples": len(journal)}
    rep["fds"] = {"first": fds[0][1] if fds else None, "min": min((n for _, n, _ in fds), default=None),
                  "max": max((n for _, n, _ in fds), default=None),
                  "sockets_max": max((s for _, _, s in fds), default=None), "samples": len(fds)}
    rep["max_slope"] = max_slope
    rep["problems"] = problems(rep)
    rep["passed"] = not rep["problems"]
    return rep


def problems(rep):
    """What makes the soak fail (exit status 1)."""
    out = []
    if rep["failure"]:
        out.append("a sale failed: " + rep["failure"].splitlines()[0])
    if rep["sales"] < rep["sales_requested"]:
        out.append("%d of %d sales done" % (rep["sales"], rep["sales_requested"]))
    h = rep["heap"]
    if h["samples"] >= 2 and abs(h["slope_per_1000"]) > rep["max_slope"]:
        out.append("idle heap slope %.1f B per 1000 sales (limit %g)" % (h["slope_per_1000"], rep["max_slope"]))
    j = rep["journal"]
    if j["max"] is not None and j["max"] > j["bound"]:
        out.append("journal reached %d B (bound %d)" % (j["max"], j["bound"]))
    if j["after_settle_max"] is not None and j["after_settle_max"] > JOURNAL_AFTER_SETTLE:
        out.append("a settlement left %d B of journal (at most %d)" % (j["after_settle_max"], JOURNAL_AFTER_SETTLE))
    f = rep["fds"]
    if f["max"] is not None and f["max"] > f["first"]:
        out.append("open descriptors grew at idle: %d, %d at the first idle screen" % (f["max"], f["first"]))
    if f["sockets_max"]:
        out.append("%d socket(s) open at an idle screen" % f["sockets_max"])
    if rep.get("reconciled") is False:
        out.append("the terminal's totals differ from the ledger's, or a reversal is pending")
    if rep.get("exit_code") not in (0, None):
        out.append("the firmware exited with code %s" % rep["exit_code"])
    return out


def table(rep, out=sys.stdout):
    h, j, f = rep["heap"], rep["journal"], rep["fds"]
    w = out.write
    w("sales           %d of %d (%d approved, %d declined as planned), %d settlements, %d receipts\n"
      % (rep["sales"], rep["sales_requested"], rep["approved"], rep["declined"], rep["settlements"],
         rep.get("receipts", 0)))
    w("code / heap     %s, %s (-X heapsize=%s); keys %.3f s apart\n"
      % (rep["code"], rep["heap_limit"] or "unlimited", rep.get("heapsize"), rep["key_interval"]))
    if rep.get("romfs_image_bytes"):
        w("                every heap figure includes the %d B ROMFS image the unix port holds in its heap\n"
          % rep["romfs_image_bytes"])
    w("idle heap       first %s, last %s, max %s B; after the first %d sales: %s..%s B, slope %.1f B per 1000 "
      "sales (limit %g)\n" % (h["first"], h["last"], h["max"], h["warmup_sales"], h["after_warmup_min"],
                              h["after_warmup_max"], h["slope_per_1000"], rep["max_slope"]))
    w("peak heap       %s B at any state of a sale (%s B after the first %d sales)\n"
      % (h["peak_max"], h["peak_after_warmup_max"], h["warmup_sales"]))
    w("journal         max %s B (bound %s), %s B after a settlement at most, %s B at the end\n"
      % (j["max"], j["bound"], j["after_settle_max"], j["end"]))
    w("descriptors     at idle: min %s, max %s (first %s); sockets at idle: max %s\n"
      % (f["min"], f["max"], f["first"], f["sockets_max"]))
    s = rep["sale_seconds"]
    w("time            %.1f s, %.2f sales/s; a sale %.3f s mean, %.3f s p95, %.3f s max; a settlement %s s mean\n"
      % (rep["seconds"], rep["sales_per_second"], s.get("mean", 0), s.get("p95", 0), s.get("max", 0),
         rep["settle_seconds"].get("mean", "-")))
    w("reconciled      %s (ledger: %s)\n" % (rep.get("reconciled"), rep.get("ledger")))
    if rep["failure"]:
        w("FAILURE\n%s\n" % rep["failure"])
    w("%s\n" % ("PASS" if rep["passed"] else "FAIL: " + "; ".join(rep["problems"])))


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tools.soak", description=__doc__.split("\n\n")[0])
    ap.add_argument("--sales", type=int, default=1000, help="sales to make (default 1000)")
    ap.add_argument("--settle-every", type=int, default=100,
                    help="settle the batch every K sales (default 100; 0: never)")
    ap.add_argument("--decline-every", type=int, default=10,
                    help="every Nth sale is declined by the simulator (.51; default 10; 0: none)")
    ap.add_argument("--heap", help="micropython -X heapsize for the firmware, e.g. 96K (code romfs by default)")
    ap.add_argument("--code", choices=("py", "mpy", "romfs"), help="code form (default py, romfs with --heap)")
    ap.add_argument("--journal-every", type=int, help="sample the journal size every N sales (default settle-every/2)")
    ap.add_argument("--max-slope", type=float, default=HEAP_SLOPE_MAX,
                    help="idle heap slope limit, bytes per 1000 sales (default %d)" % HEAP_SLOPE_MAX)
    ap.add_argument("--journal-max", type=int, help="journal size bound in bytes (default %d per sale of a batch + %d)"
                    % (JOURNAL_BYTES_PER_SALE, JOURNAL_SLACK))
    ap.add_argument("--key-interval", type=float,
                    help="seconds between key presses (default %.2f, the harness's quick hand; 0: as fast as the "
                         "terminal's 16-key input queue takes them)" % KEY_INTERVAL_S)
    ap.add_argument("--seed", type=int, default=1, help="seed of the amounts (default 1)")
    ap.add_argument("--progress", type=int, default=500, help="a progress line on stderr every N sales (0: none)")
    ap.add_argument("--keep", help="keep the work directory (logs, ledger, flash image) here")
    ap.add_argument("--json", help="write the report here as JSON")
    a = ap.parse_args(argv)
    if a.sales < 1:
        ap.error("--sales must be at least 1")
    if a.settle_every > 999:
        ap.error("--settle-every at most 999 (field 63 counts a batch in 3 digits)")
    if a.keep:
        shutil.rmtree(a.keep, ignore_errors=True)
    rep = run_soak(a.sales, a.settle_every, a.heap, a.code, a.keep, a.decline_every, a.journal_every,
                   a.max_slope, a.journal_max, a.seed, a.progress or None, key_interval=a.key_interval)
    table(rep)
    if a.json:
        if os.path.dirname(a.json):
            os.makedirs(os.path.dirname(a.json), exist_ok=True)
        with open(a.json, "w") as f:
            json.dump(rep, f, indent=1)
    return 0 if rep["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
