"""Power cuts at every journal write.

For each transaction type, the firmware is run once per journal write N, with the power cut either
right after record N is committed (``after:N``) or in the middle of writing it (``before:N``: half the
record reaches the flash). The harness kills the process at that point, boots the terminal again on
the same flash image, lets it recover (pending reversal sent, unprinted receipts printed) and checks:

- nothing is lost: the terminal's batch totals (from its journal) equal the host ledger's;
- nothing is charged twice: the host holds at most one live approval per transaction;
- every request whose outcome the terminal did not journal was reversed, exactly once;
- no reversal is left pending, and an approved transaction has its receipts;
- store and forward (a sale under the floor limit): every offline approval reaches the host as one
  advice, never two.

The number of journal writes is discovered, not assumed: cuts go on until a run completes with no cut.
"""
import os
import shutil
import tempfile

import pytest

from tools.simlink import AcqSim, Firmware, journal_state, load_cards

CARDS = load_cards()
PIN = ("1234", "OK")
PARAMS = {"language": "en"}
# store and forward: the 125,00 sale of _sale is under the floor limit, approved by the terminal, and
# its advice (0220) goes at idle
OFFLINE = {"language": "en", "offline": {"floor_limit": 20000}}


def _sale(fw, n0):
    fw.keys("12500", "OK")
    fw.wait_state("card", 10, since=n0)
    fw.card(CARDS["visa_ok"])
    _finish(fw, n0)


def _finish(fw, n0):
    """Answer prompts until the terminal is idle again after state index n0."""
    i = fw.wait_state("copy_prompt", 20, since=n0)
    fw.key("OK")
    fw.wait_state("idle", 15, since=i)


def _menu(fw, n0, item):
    fw.key("F1")
    fw.wait_state("menu", 10, since=n0)
    fw.key(item)


def _void(fw, n0):
    _menu(fw, n0, "2")
    i = fw.wait_state("digits", 10, since=n0)
    fw.keys(*PIN)
    i = fw.wait_state("digits", 10, since=i + 1)
    fw.keys("1", "OK")
    i = fw.wait_state("confirm", 10, since=i)
    fw.key("OK")
    _finish(fw, i)


def _refund(fw, n0):
    _menu(fw, n0, "3")
    i = fw.wait_state("digits", 10, since=n0)
    fw.keys(*PIN)
    i = fw.wait_state("digits", 10, since=i + 1)
    fw.key("OK")
    i = fw.wait_state("amount", 10, since=i)
    fw.keys("3000", "OK")
    i = fw.wait_state("card", 10, since=i)
    fw.insert("emv_visa_cvn18")     # a chip card: read, no PIN for a refund
    _finish(fw, i)


def _bill(fw, n0):
    _menu(fw, n0, "4")
    i = fw.wait_state("menu", 10, since=n0 + 1)
    fw.key("2")
    i = fw.wait_state("digits", 10, since=i)
    fw.keys("55512345", "OK")
    i = fw.wait_state("confirm", 20, since=i)
    fw.key("OK")
    i = fw.wait_state("card", 10, since=i)
    fw.tap("emv_contactless")       # contactless, under the CVM limit: no PIN
    _finish(fw, i)


def _settle(fw, n0):
    _menu(fw, n0, "5")
    i = fw.wait_state("digits", 10, since=n0)
    fw.keys(*PIN)
    i = fw.wait_state("settled", 20, since=i)
    fw.key("OK")
    fw.wait_state("idle", 10, since=i)


# transaction under test -> (setup run before the cuts, the transaction, parameters)
FLOWS = {
    "sale": (None, _sale, PARAMS),
    "void": (_sale, _void, PARAMS),
    "refund": (None, _refund, PARAMS),
    "bill": (None, _bill, PARAMS),
    "settle": (_sale, _settle, PARAMS),
    "offline_sale": (None, _sale, OFFLINE),
}


def _boot(workdir, acq, params, env=None):
    fw = Firmware(os.path.join(workdir, "term"), acq=acq, params=params, env=env)
    fw.start()
    fw.wait_state("idle", 20)
    return fw


def _advised(workdir, fw):
    """Wait until the terminal owes the host no advice (it sends them at idle)."""
    def done():
        return fw.states[-1] == "idle" and not journal_state(os.path.join(workdir, "term"))["advices"]
    fw.wait_for(done, 30, "the advices sent")


def _recover(workdir, acq, params):
    """Boot after the cut and let recovery run: print what is offered, until idle."""
    fw = Firmware(os.path.join(workdir, "term"), acq=acq, params=params)
    fw.start()
    fw.wait_for(lambda: fw.states and fw.states[-1] in ("idle", "unprinted"), 30, "recovery")
    if fw.states[-1] == "unprinted":
        fw.key("OK")
        n = len(fw.states)
        fw.wait_for(lambda: "copy_prompt" in fw.states[n:] or fw.states[-1] == "idle", 20, "reprint")
        if fw.states[-1] != "idle":
            fw.key("OK")
        fw.wait_for(lambda: fw.states[-1] == "idle", 20, "idle after recovery")
    if "offline" in params:
        _advised(workdir, fw)
    return fw


def _check(workdir, acq, fw, label):
    j = journal_state(os.path.join(workdir, "term"))
    assert j["pending"] is None, "%s: reversal still pending after recovery" % label
    tid = fw.params["terminal_id"]
    from tools.acqsim.ledger import Ledger
    led = Ledger(acq.info["ledger"])
    rows = led.rows(tid)
    host = led.batch_totals(tid, "%06d" % j["batch"]) if j["count"] else None
    mine = {k: j[k] for k in ("debit_count", "debit_amount", "credit_count", "credit_amount")}
    if host is not None:
        assert {k: host[k] for k in mine} == mine, "%s: terminal %s != host %s" % (label, mine, host)
    # nothing charged twice: one live approval per (STAN, batch) of a 0200
    live = [(r["batch"], r["stan"]) for r in rows if r["mti"] in ("0200", "0220") and r["approved"]]
    assert len(live) == len(set(live)), "%s: duplicate approvals %s" % (label, live)
    # every offline approval was told to the host, once
    offline = {r["s"] for r in j["records"] if r["e"] == "off"}
    advised = [r["stan"] for r in rows if r["mti"] == "0220"]
    assert sorted(int(s) for s in advised) == sorted(offline), "%s: advices %s for offline %s" % (
        label, advised, offline)
    # every journaled request without a journaled reply, and every chip approval the card did not
    # confirm (no "cok": the power failed before its second GENERATE AC answered, or it refused: "crd"),
    # was reversed exactly once
    recs = j["records"]
    sent = {r["s"] for r in recs if r["e"] == "sent"}
    replied = {r["s"] for r in recs if r["e"] == "rep"}
    chip = {r["s"] for r in recs if r["e"] == "new" and "aid" in r}
    approved = {r["s"] for r in recs if r["e"] == "rep" and r["rc"] == "00"}
    confirmed = {r["s"] for r in recs if r["e"] == "cok"}
    unconfirmed = (sent - replied) | ((chip & approved) - confirmed)
    reversed_ = [r["s"] for r in recs if r["e"] == "rev"]
    assert sorted(reversed_) == sorted(unconfirmed), "%s: reversals %s for unconfirmed %s" % (
        label, reversed_, unconfirmed)
    acked = [r for r in rows if r["mti"] == "0400" and r.get("rc") in ("00", "12", "25")]
    assert len(acked) == len(reversed_), "%s: %d reversals acknowledged by the host, %d journaled" % (
        label, len(acked), len(reversed_))
    # an approved transaction of the batch has both copies printed
    cur = j["current"]
    if cur and cur.get("rc") in ("00", "Y1") and "rev" not in cur and "crd" not in cur:
        assert "m" in cur.get("pc", "") and "c" in cur.get("pc", ""), "%s: receipts missing %s" % (label, cur)


def _run_cut(kind, spec):
    setup, flow, params = FLOWS[kind]
    workdir = tempfile.mkdtemp(prefix="wasl-cut-")
    try:
        with AcqSim(os.path.join(workdir, "acq")) as acq:
            if setup:
                fw = _boot(workdir, acq, params)
                setup(fw, len(fw.states) - 1)
                fw.stop()
            fw = _boot(workdir, acq, params, env={"WASL_POWERCUT": spec})
            n0 = len(fw.states) - 1
            cut = False
            try:
                flow(fw, n0)
            except AssertionError:
                if fw.powercut is None:
                    raise
            if fw.powercut is not None:
                cut = True
                fw.wait_exit(10)
                fw.stop()
            else:
                fw.stop()
            fw = _recover(workdir, acq, params)
            try:
                _check(workdir, acq, fw, "%s %s" % (kind, spec))
                if not cut and kind == "settle":
                    j = journal_state(os.path.join(workdir, "term"))
                    assert j["batch"] == 2 and j["count"] == 0, "settlement did not close the batch: %s" % j
            finally:
                fw.stop()
            return cut
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.mark.parametrize("kind", sorted(FLOWS))
def test_power_cut_at_every_journal_write(kind):
    points = 0
    for phase in ("before", "after"):
        n = 1
        while _run_cut(kind, "%s:%d" % (phase, n)):
            n += 1
            points += 1
            assert n < 40, "no end to the journal writes of %s" % kind
    assert points >= 4, "%s: only %d cut points" % (kind, points)
    print("%s: %d power-cut points" % (kind, points))
