"""tools/bench.py --quick runs end to end and reports every figure with a number and the command behind it."""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIGURES = [
    "Smallest heap: sale_approved, romfs",
    "Smallest heap: sale_approved, mpy",
    "Smallest heap: cancel_at_amount, romfs",
    "Boot to idle screen, py",
    "Boot to idle screen, mpy",
    "Boot to idle screen, romfs",
    "ISO 8583 0200 encode+decode, CPython",
    "ISO 8583 0210 decode, CPython",
    "ISO 8583 0200 encode+decode, MicroPython unix port",
    "Receipt, merchant copy",
    "Receipt, customer copy",
    "Bilingual FR+AR customer receipt, text mode",
    "Bilingual FR+AR customer receipt, bitmap mode",
    "Firmware code, firmware/wasl",
    "EMV kernel CPU per transaction",
    "Crypto per transaction",
    "Smallest heap: settlement_200, romfs",
    "Chip sale CPU, stage kernel",
    "Chip sale CPU, stage crypto",
    "Chip sale CPU, stage message",
    "Chip sale CPU, stage journal",
    "Chip sale CPU, stage receipt",
    "Chip sale CPU, total",
    "Receipt, merchant copy (chip sale): text vs bitmap",
    "Soak, 12 sales",
]
COMMAND = re.compile(r"^`(WASL_FUZZ_LONG=\d+ )?\S*python\S* -m (tools\.(bench|scenario|soak)|pytest) [^`]+`$")


def test_quick_bench_reports_every_figure(tmp_path):
    out = tmp_path / "bench.md"
    res = subprocess.run([sys.executable, "-m", "tools.bench", "--quick", "--out", str(out)], cwd=ROOT,
                         capture_output=True, text=True, timeout=240)
    assert res.returncode == 0, res.stderr[-2000:]
    text = out.read_text()
    assert "Machine: " in text and "MicroPython" in text
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and len(cells) == 5:
            rows[cells[0]] = cells
    for name in FIGURES:
        row = next((r for f, r in rows.items() if f.startswith(name)), None)
        assert row, "no row for %r in:\n%s" % (name, text)
        assert re.search(r"\d", row[1]), row
        assert COMMAND.match(row[4]), row
        assert row[3] in ("met", "**not met**", "—"), row
    kb = re.match(r"(\d+) KB", rows["Smallest heap: sale_approved, romfs"][1])
    assert kb and 56 <= int(kb.group(1)) <= 136, rows["Smallest heap: sale_approved, romfs"]
    # the 200-sale settlement: a figure inside the search range, with the heap below it failing
    settle = rows["Smallest heap: settlement_200, romfs"]
    assert re.match(r"\d+ KB \(\d+ KB fails at step \d+ of \d+\)", settle[1]), settle
    # every stage of a sale has a time, and the total has a time too
    stages = [int(re.match(r"(\d+) µs median", r[1]).group(1)) for f, r in rows.items()
              if f.startswith("Chip sale CPU, stage ")]
    assert len(stages) == 5 and all(t > 0 for t in stages), stages
    total = re.match(r"([\d.]+) ms median", next(r for f, r in rows.items() if f.startswith("Chip sale CPU, total"))[1])
    assert total and float(total.group(1)) > 0
    # text and bitmap: the bitmap is the larger, both with bytes and seconds
    rb = next(r for f, r in rows.items() if f.startswith("Receipt, merchant copy (chip sale)"))[1]
    m = re.match(r"text (\d+) B, [\d.]+ s; bitmap (\d+) B, [\d.]+ s", rb)
    assert m and int(m.group(2)) > int(m.group(1)) > 0, rb
    # the short soak held its thresholds
    soak = next(r for f, r in rows.items() if f.startswith("Soak, 12 sales"))
    assert soak[3] == "met" and "sockets 0" in soak[1], soak


def _search(monkeypatch, floor, hint, heap_range=(32, 192)):
    """tools.bench's heap search over a made-up scenario that passes from `floor` KB up: (figure, runs)."""
    from tools import bench

    runs = []

    def fake_run(path, heap=None, code=None):
        kb = int(heap[:-1])
        runs.append(kb)
        return {"passed": kb >= floor, "failed_step": 1, "steps": 1}

    monkeypatch.setattr(bench, "run_file", fake_run)
    b = bench.Bench(False)
    b.heap_range = heap_range
    b.hints = {} if hint is None else {("sale_approved", "romfs"): hint}
    kb, _ = b.min_heap("sale_approved.json", "romfs")
    return kb, runs


def test_heap_search_from_the_last_figure_finds_what_bisection_finds(monkeypatch):
    for floor in (32, 33, 47, 85, 86, 140, 191, 192, 193):
        want = floor if floor <= 192 else None
        plain, plain_runs = _search(monkeypatch, floor, None)
        assert plain == want, (floor, plain)
        for hint in (32, 40, 84, 85, 86, 90, 150, 192):
            got, runs = _search(monkeypatch, floor, hint)
            assert got == want, (floor, hint, got, runs)
            if want is not None and floor - 1 <= hint <= floor + 1 and floor > 32:
                assert len(runs) <= 4, (floor, hint, runs)   # moved by 1 KB at most: a few runs
    # unchanged figure: the figure and the one below it, two runs instead of a bisection's nine
    assert _search(monkeypatch, 85, 85)[1] == [85, 84]
    assert len(_search(monkeypatch, 85, None)[1]) >= 8


def test_bench_fuzzes_what_make_fuzz_fuzzes():
    """The long fuzz run of the full bench (skipped by --quick: make test runs the same tests short) and
    `make fuzz` name the same test files."""
    from tools.bench import FUZZ_TESTS, QUICK_SKIPS

    with open(os.path.join(ROOT, "Makefile")) as f:
        make = f.read()
    target = make[make.index("\nfuzz:"):]
    target = target[:target.index("\n\n")]
    assert sorted(re.findall(r"host_tests/test_\w+\.py", target)) == sorted(FUZZ_TESTS)
    assert "fuzz" in QUICK_SKIPS
