"""Every scenario in host_tests/scenarios/ runs headless (acquirer simulator + firmware on the unix
port) and must pass; the approved sale must also pass from a ROMFS image in a 64 KB heap."""
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


def test_approved_sale_in_64k_heap_from_romfs():
    summary = run_file(os.path.join(HERE, "scenarios", "sale_approved.json"), heap="64K", code="romfs")
    _check(summary)
    assert summary["code"] == "romfs" and summary["heapsize"] > 64 * 1024


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
