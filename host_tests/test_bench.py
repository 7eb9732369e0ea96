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
]
COMMAND = re.compile(r"^`\S*python\S* -m tools\.(bench|scenario) [^`]+`$")


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
