"""A batch of N approved sales, on both sides, without selling N times: the terminal's journal (its flash
image, written by the firmware's own journal code on the unix port: tools/upy/batchfill.py) and the
acquirer simulator's ledger (one approved 0200 row per sale, as the simulator records a sale it
approved), so that the terminal and the host agree and a settlement reconciles (or, with the
simulator's --out-of-balance, uploads every sale first).

    python -m tools.batchfill DATA_DIR LEDGER [--sales 200] [--seed 8]

Used by the scenario runner ("batch": {"sales": 200}, host_tests/scenarios/settlement_200.json) for the
smallest heap of a 200-sale settlement (tools/bench.py). Each sale journals 5 records (about 335 B), as a real
swiped sale does. The terminal must be off.
"""
import argparse
import datetime
import json
import os
import random
import subprocess
import sys
import tempfile

from tools.simlink import MICROPYTHON, ROOT, HarnessError, load_cards


def sales_for(n, seed, when, first_rrn=1):
    """[[amount, masked PAN, local stamp, RRN, auth code], ...]: amounts between 1,00 and 9 999,99 with
    cents the simulator answers plainly (the approval is written here, not asked for)."""
    from tools.acqsim.rules import TRIGGERS
    from tools.acqsim.ledger import mask_pan

    rnd = random.Random(seed)
    cents = [c for c in range(100) if c not in TRIGGERS]
    pan = mask_pan(load_cards()["visa_ok"]["track2"].lstrip(";").split("=")[0])
    out = []
    for i in range(n):
        t = when + datetime.timedelta(seconds=30 * i)
        out.append([rnd.randint(1, 9999) * 100 + rnd.choice(cents), pan, t.strftime("%Y%m%d%H%M%S"),
                    "%d%03d%08d" % (t.year % 10, t.timetuple().tm_yday, first_rrn + i),
                    "%06d" % rnd.randint(0, 999999)])
    return out


def fill(data_dir, ledger_path, sales, params):
    """Journal `sales` (sales_for) in the terminal at data_dir and record them in the ledger; return the
    batch the firmware rebuilds from the journal."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(sales, f)
    try:
        env = dict(os.environ, MICROPYPATH=".frozen:%s:%s" % (os.path.join(ROOT, "firmware"),
                                                               os.path.join(ROOT, "boards", "sim")))
        res = subprocess.run([MICROPYTHON, os.path.join(ROOT, "tools", "upy", "batchfill.py"), str(data_dir), f.name],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    finally:
        os.unlink(f.name)
    if res.returncode:
        raise HarnessError("batch fill failed: %s" % (res.stderr or res.stdout).strip()[-500:])
    batch = json.loads(res.stdout.strip().splitlines()[-1])
    if batch["stan"] != len(sales) or batch["debit_count"] != len(sales) or \
            batch["debit_amount"] != sum(s[0] for s in sales):      # a fresh terminal: STANs 1..n
        raise HarnessError("the journal's batch %s is not the %d sales written" % (batch, len(sales)))
    from tools.acqsim.ledger import Ledger

    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    led = Ledger(ledger_path)
    try:
        with led.db:         # one transaction for the whole batch
            for n, (amount, pan, stamp, rrn, au) in enumerate(sales, 1):
                led._insert("auth", {
                    "received_utc": now, "tid": params["terminal_id"], "mid": params["merchant_id"], "mti": "0200",
                    "proc_code": "000000", "stan": "%06d" % n, "invoice": "%06d" % n, "amount": amount,
                    "currency": params["currency"]["code"], "entry_mode": "021", "pan_masked": pan, "rc": "00",
                    "auth_code": au, "rrn": rrn, "outcome": "replied", "approved": 1,
                    "batch": "%06d" % batch["batch"], "status": "approved", "pin": "none", "mac": "ok",
                    "arqc": "none"})
    finally:
        led.close()
    return batch


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data_dir")
    ap.add_argument("ledger")
    ap.add_argument("--sales", type=int, default=200)
    ap.add_argument("--seed", type=int, default=8)
    a = ap.parse_args(argv)
    with open(os.path.join(a.data_dir, "params.json")) as f:
        params = json.load(f)
    print(json.dumps(fill(a.data_dir, a.ledger, sales_for(a.sales, a.seed, datetime.datetime.now()), params)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
