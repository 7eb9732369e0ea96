"""tools/heapmap.py breaks the sale's peak heap down: states, interned names, resident modules."""
import re
import subprocess
import sys

from tools.simlink import ROOT


def test_heapmap_reports_states_names_and_modules():
    res = subprocess.run([sys.executable, "-m", "tools.heapmap"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    out = res.stdout
    states = dict(re.findall(r"^  (\w+) +(\d+)$", out, re.M))
    assert {"idle", "amount", "card", "online", "approved", "copy_prompt"} <= set(states), out
    assert 20000 < int(states["copy_prompt"]) < 200000
    m = re.search(r"interned names: (\d+) in (\d+) pools, (\d+) bytes", out)
    assert m and int(m.group(1)) > 300 and int(m.group(3)) > 5000, out
    rows = dict((name, int(objs)) for name, objs in re.findall(r"^    ([\w.]+) +(\d+) +\d+$", out, re.M))
    # the payment code is resident at the copy prompt, the key store is not
    assert rows.get("wasl.txn.sale", 0) > 500 and rows.get("wasl.app", 0) > 500, out
    assert "wasl.crypto.keystore" not in rows and "wasl.boot" not in rows
    assert rows["total"] == sum(v for k, v in rows.items() if k != "total")
