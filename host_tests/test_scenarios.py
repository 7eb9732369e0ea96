"""Every scenario in host_tests/scenarios/ runs headless (acquirer simulator + firmware on the unix
port) and must pass; the approved sale must also pass from a ROMFS image within the heap budget."""
import glob
import json
import os

import pytest

from tools.scenario import run_file

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIOS = sorted(glob.glob(os.path.join(HERE, "scenarios", "*.json")))


def _check(summary):
    assert summary["passed"], "%s failed at step %s: %s" % (summary["scenario"], summary.get("failed_step"),
                                                          summary.get("error"))


@pytest.mark.parametrize("path", SCENARIOS, ids=[os.path.basename(p)[:-5] for p in SCENARIOS])
def test_scenario(path):
    _check(run_file(path))


# The firmware's heap budget for a sale on the 64-bit unix port, code in ROMFS. Issue 2 met 64 KB
# (62 KB measured); the payment core (journal, reversal, menu) brought the smallest passing heap to
# 71 KB (docs/benchmarks.md); the budget keeps 3 KB of margin. Lower it as the heap work (issue 8,
# target 48 KB) lands.
HEAP_BUDGET_KB = 74


def test_approved_sale_within_heap_budget_from_romfs():
    summary = run_file(os.path.join(HERE, "scenarios", "sale_approved.json"), heap="%dK" % HEAP_BUDGET_KB,
                       code="romfs")
    _check(summary)
    assert summary["code"] == "romfs" and summary["heapsize"] > HEAP_BUDGET_KB * 1024


def test_approved_sale_from_mpy_tree():
    _check(run_file(os.path.join(HERE, "scenarios", "sale_approved.json"), code="mpy"))


def test_scenario_runner_fails_when_an_expectation_fails(tmp_path):
    """The runner is not a rubber stamp: a wrong expectation makes it fail and name the step."""
    with open(os.path.join(HERE, "scenarios", "sale_approved.json")) as f:
        sc = json.load(f)
    sc["steps"].insert(6, {"expect_screen": "DECLINED", "timeout": 2})
    path = tmp_path / "wrong.json"
    path.write_text(json.dumps(sc))
    summary = run_file(str(path))
    assert not summary["passed"] and summary["failed_step"] == 7
