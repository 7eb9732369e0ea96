"""The soak (tools/soak.py, issue 8 item 2), short: 40 sales in one firmware process running as on a
device (compiled, from a ROMFS image, 104 KB heap), a settlement every 15, one in eight declined by the
simulator, each amount's keys sent at once (the terminal's input queue takes 16). The long run is
`make soak` (docs/soak.md).

Over 25 sales after the warm-up a single one-off step of one GC block would make a slope of about
2 KB per 1000 sales, so the short run allows SHORT_MAX_SLOPE (a leak of a block every 16 sales still
fails) and no more than 512 B between the lowest and highest idle heap; the long run holds
tools.soak.HEAP_SLOPE_MAX."""
import json
import time

import pytest

from tools import soak
from tools.acqsim.rules import TRIGGERS

SALES, SETTLE_EVERY, DECLINE_EVERY = 40, 15, 8
SHORT_MAX_SLOPE = 2048


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("soak") / "soak.json"
    rc = soak.main(["--sales", str(SALES), "--settle-every", str(SETTLE_EVERY), "--decline-every",
                    str(DECLINE_EVERY), "--journal-every", "5", "--heap", "104K", "--max-slope", str(SHORT_MAX_SLOPE),
                    "--key-interval", "0",
                    "--progress", "0", "--json", str(out)])
    rep = json.loads(out.read_text())
    assert rc == (0 if rep["passed"] else 1)
    return rep


def test_every_sale_ends_as_planned(report):
    assert report["passed"], report["problems"]
    assert report["failure"] is None
    assert report["sales"] == SALES
    assert report["declined"] == SALES // DECLINE_EVERY and report["approved"] == SALES - SALES // DECLINE_EVERY
    assert report["settlements"] == SALES // SETTLE_EVERY
    # approved: merchant and customer copies; declined: the customer copy; each settlement its Z report
    assert report["receipts"] == 2 * report["approved"] + report["declined"] + report["settlements"]
    assert report["exit_code"] == 0


def test_the_host_agrees(report):
    assert report["reconciled"] is True
    led = report["ledger"]
    assert led["approved_sales"] == report["approved"]
    assert led["settlements"] == report["settlements"]
    # sales, settlements (0500), nothing else: no reversal, no retry
    assert led["rows"] == SALES + report["settlements"]


def test_heap_at_idle_is_flat(report):
    h = report["heap"]
    assert h["warmup_sales"] == SETTLE_EVERY
    assert h["samples"] == SALES - SETTLE_EVERY
    assert abs(h["slope_per_1000"]) <= report["max_slope"] == SHORT_MAX_SLOPE
    assert report["code"] == "romfs" and report["romfs_image_bytes"] > 0
    assert h["first"] and h["last"] and h["max"] >= h["last"]
    # after the warm-up, the live heap at the idle screen moves by less than a few GC blocks
    assert h["after_warmup_max"] - h["after_warmup_min"] <= 512, h
    assert h["peak_max"] > h["max"]          # a sale needs more than the idle terminal


def test_journal_is_bounded_by_settlement(report):
    j = report["journal"]
    assert j["samples"] >= SALES // 5
    assert 0 < j["after_settle_max"] <= soak.JOURNAL_AFTER_SETTLE
    assert j["max"] <= j["bound"] == SETTLE_EVERY * soak.JOURNAL_BYTES_PER_SALE + soak.JOURNAL_SLACK
    # a batch's journal holds its sales: more than 200 B each, then compaction shrinks it
    assert j["max"] > 200 * (SETTLE_EVERY - 1)


def test_no_descriptor_or_socket_leaks(report):
    f = report["fds"]
    assert f["samples"] >= SALES
    assert f["min"] == f["max"] == f["first"] >= 3     # stdin, stdout, stderr (the flash image too)
    assert f["sockets_max"] == 0


def test_timing_is_reported(report):
    assert report["sales_per_second"] > 0.5
    s = report["sale_seconds"]
    assert 0 < s["p50"] <= s["p95"] <= s["max"] < 15


def test_amounts_avoid_triggers_except_the_planned_declines():
    plan = soak.amounts(1000, 10, seed=7)
    for k, (amount, expect) in enumerate(plan, 1):
        if k % 10 == 0:
            assert expect == "declined" and amount % 100 == soak.DECLINE_CENTS
        else:
            assert expect == "approved" and amount % 100 not in TRIGGERS and 100 <= amount
    assert len({a for a, _ in plan}) > 900          # they vary
    assert soak.amounts(50, 0) == soak.amounts(50, 0)   # and are reproducible


def _report(**over):
    rep = {"failure": None, "sales": 100, "sales_requested": 100, "max_slope": soak.HEAP_SLOPE_MAX,
           "heap": {"samples": 90, "slope_per_1000": 0.0},
           "journal": {"max": 3000, "bound": 6000, "after_settle_max": 47},
           "fds": {"first": 4, "max": 4, "sockets_max": 0}, "reconciled": True, "exit_code": 0}
    for k, v in over.items():
        if isinstance(v, dict):
            rep[k] = dict(rep[k], **v)
        else:
            rep[k] = v
    return rep


@pytest.mark.parametrize("over, words", [
    ({}, None),
    ({"heap": {"slope_per_1000": soak.HEAP_SLOPE_MAX + 1}}, "heap slope"),
    ({"heap": {"slope_per_1000": -soak.HEAP_SLOPE_MAX - 1}}, "heap slope"),
    ({"journal": {"max": 6001}}, "journal reached"),
    ({"journal": {"after_settle_max": soak.JOURNAL_AFTER_SETTLE + 1}}, "a settlement left"),
    ({"fds": {"max": 5}}, "descriptors grew"),
    ({"fds": {"sockets_max": 1}}, "socket(s) open"),
    ({"failure": "sale of 1234: 'no_reply', expected 'approved'\nscreen...", "sales": 41}, "a sale failed"),
    ({"reconciled": False}, "totals differ"),
])
def test_the_verdict_is_not_a_rubber_stamp(over, words):
    found = soak.problems(_report(**over))
    if words is None:
        assert found == []
    else:
        assert any(words in p for p in found), found


def test_least_squares_slope():
    xs = list(range(1, 101))
    assert soak.slope(xs, [1000 + 3 * x for x in xs]) == pytest.approx(3.0)
    assert soak.slope(xs, [5000] * 100) == 0.0
    assert soak.slope([1], [7]) == 0.0


def test_the_descriptor_probe_sees_the_firmware_socket(tmp_path):
    """The fd count is not blind: while the host holds a sale's reply (.99), the firmware process has
    a socket open; back at idle (reply time-out, reversal) it has none again."""
    from tools.simlink import AcqSim

    with AcqSim(tmp_path / "acq", ["--hold", "10"]) as acq:
        fw = soak.SoakFirmware(tmp_path / "term", acq=acq,
                               params={"language": "en", "host": {"reply_timeout_s": 2}})
        try:
            fw.start()
            d = soak.Driver(fw)
            d.start()
            fw.wait_link("wifi")    # the link manager's first visit reads wasl/net/switch.py (code py)
            idle = soak.open_fds(fw.proc.pid)
            n = len(fw.states)
            d.type("1099", "OK")
            fw.wait_state("card", 10, since=n)
            fw.card(d.cards["visa_ok"])
            fw.wait_state("online", 10, since=n)
            deadline = time.monotonic() + 5
            while True:                 # polled: the held connection makes no event to wait for
                during = soak.open_fds(fw.proc.pid)
                if any(t.startswith("socket:") for t in during) or time.monotonic() > deadline:
                    break
                time.sleep(0.02)
            i, st = d.wait_any(("no_reply",), n, 20)
            d.dismiss(i)
            after = soak.open_fds(fw.proc.pid)
        finally:
            fw.stop()
    assert not any(t.startswith("socket:") for t in idle)
    assert any(t.startswith("socket:") for t in during), during
    assert sorted(after) == sorted(idle)
