"""Every scenario in host_tests/scenarios/ runs headless (acquirer simulator + firmware on the unix
port) and must pass; the approved sale must also pass from a ROMFS image within the heap budget."""
import glob
import json
import os
import subprocess

import pytest

from tools.scenario import run_file
from tools.simlink import MICROPYTHON, image_heap_cost

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIOS = sorted(glob.glob(os.path.join(HERE, "scenarios", "*.json")))


def _check(summary):
    assert summary["passed"], "%s failed at step %s: %s" % (summary["scenario"], summary.get("failed_step"),
                                                          summary.get("error"))


@pytest.mark.parametrize("path", SCENARIOS, ids=[os.path.basename(p)[:-5] for p in SCENARIOS])
def test_scenario(path):
    _check(run_file(path))


# The firmware's heap budget for a sale on the 64-bit unix port, code in ROMFS, with the terminal's DUKPT
# key store loaded (every message MACed). Issue 2's skeleton met 64 KB (commit 70d55ad); the payment
# security, the EMV hooks, store and forward, the printer status, bilingual receipts, the link manager and
# TMS took the smallest passing heap to 93 KB; loading the host side, the receipts and the menu entries
# only for their turn brought it to 82 KB (docs/heap.md: interned names that are never freed, and 8-byte
# pointers in 32-byte GC blocks). The budget catches a regression of more than 4 KB. The runner adds the
# ROMFS image's own cost (tools.simlink.image_heap_cost, checked below), so the figure is the firmware's.
HEAP_BUDGET_KB = 86
# The chip sale with PIN needs 114 KB: about 1,250 names at its peak, below the ~1,266 that open the name
# table's 7th pool (about 14 KB at once, docs/heap.md). The budget fails if that pool comes back.
CHIP_HEAP_BUDGET_KB = 120


def test_approved_sale_within_heap_budget_from_romfs():
    summary = run_file(os.path.join(HERE, "scenarios", "sale_approved.json"), heap="%dK" % HEAP_BUDGET_KB,
                       code="romfs")
    _check(summary)
    assert summary["code"] == "romfs" and summary["heapsize"] > HEAP_BUDGET_KB * 1024


def test_chip_sale_with_pin_within_heap_budget_from_romfs():
    summary = run_file(os.path.join(HERE, "scenarios", "chip_sale_pin.json"), heap="%dK" % CHIP_HEAP_BUDGET_KB,
                       code="romfs")
    _check(summary)
    assert summary["code"] == "romfs"


_FREE_HEAP = """
import gc, os
if os.getenv("WASL_ROMFS"):
    img = bytearray(os.stat(os.getenv("WASL_ROMFS"))[6])
gc.collect()
print(gc.mem_free())
"""


@pytest.mark.parametrize("size", [0, 1000, 47000, 120000])
def test_romfs_image_cost_leaves_the_firmware_its_heap(tmp_path, size):
    """-X heapsize=64K + image_heap_cost(image) leaves as much free heap, once the image is read, as
    -X heapsize=64K without one (never more than 4 GC blocks over, at most 256 bytes under): the heap
    figure is the firmware's own."""
    script = tmp_path / "free.py"
    script.write_text(_FREE_HEAP)
    image = tmp_path / "img.bin"
    image.write_bytes(b"\xff" * size)

    def free(heapsize, env):
        out = subprocess.run([MICROPYTHON, "-X", "heapsize=%d" % heapsize, str(script)], env=env,
                             capture_output=True, text=True, check=True).stdout
        return int(out.strip())

    plain = free(65536, dict(os.environ))
    with_image = free(65536 + image_heap_cost(size), dict(os.environ, WASL_ROMFS=str(image)))
    assert -256 <= with_image - plain <= 64, (plain, with_image)


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


def test_security_sweep_catches_a_pin_or_a_key_in_the_log(tmp_path):
    """The checks run after every scenario are not a rubber stamp: after a real chip sale with PIN, a log
    line holding the PIN, or the KBPK in hex, or a full PAN in the journal's place, fails the run."""
    from tools.scenario import Run
    from tools.simlink import HarnessError

    with open(os.path.join(HERE, "scenarios", "chip_sale_pin.json")) as f:
        sc = json.load(f)
    run = Run(sc, str(tmp_path))
    try:
        run.setup()
        for st in sc["steps"]:
            run.step(st)
        run.invariants()                        # clean as it is
        assert run.pins_typed == {"1234"}
        log = run.fw.log_path
        with open(os.path.join(str(tmp_path), "term", "secure", "kbpk"), "rb") as f:
            kbpk_hex = f.read().hex()
        for leak in ("INF sale: pin 1234 entered\n", "DBG keys: %s\n" % kbpk_hex,
                     "INF sale: card 4761739001010010\n"):
            with open(log) as f:
                before = f.read()
            with open(log, "a") as f:
                f.write(leak)
            with pytest.raises(HarnessError):
                run.invariants()
            with open(log, "w") as f:
                f.write(before)
        run.invariants()
    finally:
        run.teardown()
