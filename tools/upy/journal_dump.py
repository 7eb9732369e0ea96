# MicroPython script: read a terminal's journal from its flash image and print it as JSON, with the
# batch state the firmware would rebuild from it. Used by tests and by technicians on the desktop:
#   MICROPYPATH=.frozen:firmware:boards/sim micropython tools/upy/journal_dump.py var/sim/term
# Prints one JSON object: batch number, totals, pending reversal (STAN), advices owed ([STAN, amount]),
# current transaction, records.
import json
import sys

from board import JOURNAL_ROOT, mount_flash
from wasl.txn.batch import Batch
from wasl.txn.journal import Journal

data_dir = sys.argv[1]
mount_flash(data_dir)
j = Journal(JOURNAL_ROOT)
b = Batch(j)
out = {
    "batch": b.number, "stan": b.stan, "invoice": b.invoice, "count": b.count,
    "debit_count": b.debit_count, "debit_amount": b.debit_amount,
    "credit_count": b.credit_count, "credit_amount": b.credit_amount,
    "pending": b.pending["s"] if b.pending else None,
    "advices": b.advices,
    "current": b.current,
    "journal_bytes": j.size(),
    "records": list(j.records()),
}
print(json.dumps(out))
