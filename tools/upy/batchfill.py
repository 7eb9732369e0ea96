# MicroPython script: journal a batch of approved swiped sales into a terminal's flash image with the
# firmware's own journal code (wasl.txn.journal, wasl.txn.batch), record for record what a sale writes
# (new, sent, rep, prt m, prt c): a big batch for the settlement's benchmark in seconds instead of the
# minutes of as many real sales. Run by tools/batchfill.py, which also gives the simulator's ledger the
# same sales; the terminal must be off.
#   MICROPYPATH=.frozen:firmware:boards/sim micropython tools/upy/batchfill.py DATA_DIR SALES_JSON
# SALES_JSON: [[amount, masked PAN, local time YYYYMMDDhhmmss, RRN, auth code], ...]. Prints one JSON
# object: the batch as the firmware rebuilds it from the journal afterwards.
import json
import sys

from board import JOURNAL_ROOT, mount_flash
from wasl.txn.batch import Batch
from wasl.txn.journal import Journal

mount_flash(sys.argv[1])
with open(sys.argv[2]) as f:
    sales = json.load(f)
j = Journal(JOURNAL_ROOT)
b = Batch(j)
for a, pan, t, rrn, au in sales:
    stan, invoice = b.next_numbers()
    b.record({"cv": "sig", "i": invoice, "ty": "sale", "a": a, "s": stan, "t": t, "m": "swipe", "b": b.number,
              "e": "new", "p": pan})
    b.record({"e": "sent", "s": stan})
    b.record({"rc": "00", "s": stan, "au": au, "e": "rep", "r": rrn})
    b.record({"e": "prt", "c": "m", "s": stan})
    b.record({"e": "prt", "c": "c", "s": stan})
j.close()
b = Batch(Journal(JOURNAL_ROOT))
print(json.dumps({"batch": b.number, "stan": b.stan, "count": b.count, "debit_count": b.debit_count,
                  "debit_amount": b.debit_amount, "journal_bytes": j.size()}))
