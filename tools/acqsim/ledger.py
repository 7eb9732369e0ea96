"""The simulator's ledger: one sqlite row per exchange, readable by other processes while it runs.

    from tools.acqsim.ledger import Ledger
    Ledger(path).rows(tid="TERM0001")   # [{"id": 1, "stan": "000001", "outcome": "replied", ...}, ...]
    Ledger(path).totals("TERM0001")     # {"count": approved rows, "amount": their sum in minor units}

Only a masked PAN is ever stored (first 6, last 4); never the full PAN or track 2.
"""
import sqlite3

COLUMNS = (
    ("id", "INTEGER PRIMARY KEY"),
    ("received_utc", "TEXT"),
    ("tid", "TEXT"),
    ("mid", "TEXT"),
    ("mti", "TEXT"),
    ("proc_code", "TEXT"),
    ("stan", "TEXT"),
    ("invoice", "TEXT"),
    ("amount", "INTEGER"),
    ("currency", "TEXT"),
    ("entry_mode", "TEXT"),
    ("pan_masked", "TEXT"),
    ("rc", "TEXT"),
    ("auth_code", "TEXT"),
    ("rrn", "TEXT"),
    ("outcome", "TEXT"),
    ("approved", "INTEGER NOT NULL DEFAULT 0"),
)
NAMES = [c for c, _ in COLUMNS]


def mask_pan(pan):
    """First 6 and last 4 digits kept, the rest '*' (all but the last 4 for short numbers)."""
    if not pan:
        return None
    head = 6 if len(pan) > 10 else 0
    tail = 4 if len(pan) > 4 else 0
    return pan[:head] + "*" * (len(pan) - head - tail) + pan[len(pan) - tail:]


def _check(cols):
    bad = set(cols) - set(NAMES[1:])
    if bad:
        raise KeyError("unknown ledger columns: %s" % sorted(bad))


class Ledger:
    def __init__(self, path):
        self.path = path
        self.db = sqlite3.connect(path, timeout=10)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        with self.db:
            self.db.execute("CREATE TABLE IF NOT EXISTS auth (%s)" % ", ".join("%s %s" % c for c in COLUMNS))

    def add(self, **cols):
        """Insert one exchange (committed at once); returns its id, the RRN sequence number."""
        _check(cols)
        with self.db:
            cur = self.db.execute("INSERT INTO auth (%s) VALUES (%s)" % (", ".join(cols), ", ".join("?" * len(cols))),
                                  tuple(cols.values()))
        return cur.lastrowid

    def update(self, row_id, **cols):
        _check(cols)
        with self.db:
            self.db.execute("UPDATE auth SET %s WHERE id = ?" % ", ".join("%s = ?" % c for c in cols),
                            (*cols.values(), row_id))

    def rows(self, tid=None):
        if tid is None:
            cur = self.db.execute("SELECT * FROM auth ORDER BY id")
        else:
            cur = self.db.execute("SELECT * FROM auth WHERE tid = ? ORDER BY id", (tid,))
        return [dict(r) for r in cur]

    def totals(self, tid):
        count, amount = self.db.execute(
            "SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM auth WHERE tid = ? AND approved = 1", (tid,)).fetchone()
        return {"count": count, "amount": amount}

    def close(self):
        self.db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
