"""The simulator's ledger: sqlite, one row per request, readable by other processes while it runs.

    from tools.acqsim.ledger import Ledger
    with Ledger(path) as led:
        led.rows(tid="TERM0001")                 # [{"id": 1, "stan": "000001", "status": "approved", ...}, ...]
        led.totals("TERM0001")                   # {"count", "amount"}: 0200s answered 00, accepted advices
        led.batch_totals("TERM0001", "000001")   # {"debit_count", "debit_amount", "credit_count", "credit_amount"}
        led.settlements("TERM0001")              # the terminal's 0500s, with both sides' totals
        led.advice("TERM0001", "000001", "000042")   # the advice record of an offline sale, or None

Only a masked PAN is ever stored (first 6, last 4); never the full PAN or track 2, never a PIN, a PIN
block, field 55, field 61 or a key (the pin, mac and arqc columns say what the checks found; ksn is
field 53).

An offline-approved sale is one row, its "advice record" (offline_auth set): the 0220 that brought it
or, when none came, the 0320 with 39 = Y1 that did (docs/host-interface.md 10.9). Its status is
approved (accepted: a debit of its batch until voided) or declined (refused) from the moment it is
recorded, whether or not the reply reaches the terminal; a repeated advice adds no row (repeats + 1).
"""
import sqlite3

from .rules import FIELD63, SIDES

AUTH = (
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
    ("batch", "TEXT"),
    ("rrn_ref", "TEXT"),
    ("bill", "TEXT"),
    ("status", "TEXT"),
    ("original_id", "INTEGER"),
    ("pin", "TEXT"),     # field 52: ok, wrong, bad_block, none (absent or not reached)
    ("mac", "TEXT"),     # field 64: ok, bad, none (absent or not checked)
    ("arqc", "TEXT"),    # field 55: ok, bad, none (absent, not checked, or a refund's TC/AAC)
    ("ksn", "TEXT"),     # field 53 (hex): the DUKPT KSN, not a secret
    ("offline_auth", "TEXT"),   # field 38 of an advice record: the terminal's offline approval code
    ("repeats", "INTEGER NOT NULL DEFAULT 0"),   # copies of an advice received after the first
)
TOTALS = tuple(key for key, _ in FIELD63)
SETTLEMENT = (
    ("id", "INTEGER PRIMARY KEY"),
    ("received_utc", "TEXT"),
    ("auth_id", "INTEGER"),
    ("tid", "TEXT"),
    ("batch", "TEXT"),
    ("proc_code", "TEXT"),
    *(("terminal_" + key, "INTEGER") for key in TOTALS),
    *(("host_" + key, "INTEGER") for key in TOTALS),
    ("matched", "INTEGER"),
    ("rc", "TEXT"),
)
TABLES = {"auth": AUTH, "settlement": SETTLEMENT}
NAMES = [c for c, _ in AUTH]  # auth columns, in order
STATUSES = ("approved", "declined", "voided", "reversed", "not_replied", "format_error")


def mask_pan(pan):
    """First 6 and last 4 digits kept, the rest '*' (all but the last 4 for short numbers)."""
    if not pan:
        return None
    head = 6 if len(pan) > 10 else 0
    tail = 4 if len(pan) > 4 else 0
    return pan[:head] + "*" * (len(pan) - head - tail) + pan[len(pan) - tail:]


def _check(table, cols):
    bad = set(cols) - {c for c, _ in TABLES[table][1:]}
    if bad:
        raise KeyError("unknown %s columns: %s" % (table, sorted(bad)))


def _check_status(*statuses):
    bad = [s for s in statuses if s is not None and s not in STATUSES]
    if bad:
        raise ValueError("unknown status %r" % bad)


def _where(eq):
    """' AND '-joined conditions and their values; a tuple value means 'one of'."""
    bad = set(eq) - set(NAMES)
    if bad:
        raise KeyError("unknown auth columns: %s" % sorted(bad))
    terms, values = [], []
    for col, want in eq.items():
        if isinstance(want, tuple):
            terms.append("%s IN (%s)" % (col, ", ".join("?" * len(want))))
            values.extend(want)
        else:
            terms.append("%s = ?" % col)
            values.append(want)
    return " AND ".join(terms) or "1", values


class Ledger:
    def __init__(self, path):
        self.path = path
        self.db = sqlite3.connect(path, timeout=10)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        with self.db:
            for table, columns in TABLES.items():
                self.db.execute("CREATE TABLE IF NOT EXISTS %s (%s)" % (table, ", ".join("%s %s" % c for c in columns)))
                have = {r["name"] for r in self.db.execute("PRAGMA table_info(%s)" % table)}
                for col in columns:  # a ledger from an older simulator gains the new columns
                    if col[0] not in have:
                        self.db.execute("ALTER TABLE %s ADD COLUMN %s %s" % (table, *col))

    # -- writer side (the server) -------------------------------------------------------------------

    def record(self, row, effects=(), settlement=None):
        """Insert one request row, set the status of the rows it changes ({id: status}) and its
        settlement row (if any), in one transaction. Returns the row id, the RRN sequence number."""
        _check("auth", row)
        _check_status(row.get("status"), *dict(effects).values())
        with self.db:
            row_id = self._insert("auth", row)
            for other, status in dict(effects).items():
                self.db.execute("UPDATE auth SET status = ? WHERE id = ?", (status, other))
            if settlement is not None:
                _check("settlement", settlement)
                self._insert("settlement", dict(settlement, auth_id=row_id))
        return row_id

    def add(self, **cols):
        return self.record(cols)

    def _insert(self, table, cols):
        cur = self.db.execute("INSERT INTO %s (%s) VALUES (%s)" % (table, ", ".join(cols), ", ".join("?" * len(cols))),
                              tuple(cols.values()))
        return cur.lastrowid

    def update(self, row_id, **cols):
        _check("auth", cols)
        _check_status(cols.get("status"))
        with self.db:
            self.db.execute("UPDATE auth SET %s WHERE id = ?" % ", ".join("%s = ?" % c for c in cols),
                            (*cols.values(), row_id))

    def replied(self, row_id, rc):
        """A complete reply with field 39 `rc` was written: flag `approved` on 00, and settle the status
        (approved / declined) unless another request changed it meanwhile (a reversal during a late reply)."""
        with self.db:
            self.db.execute("UPDATE auth SET approved = ?, status = CASE status WHEN 'not_replied' THEN ? "
                            "ELSE status END WHERE id = ?",
                            (int(rc == "00"), "approved" if rc == "00" else "declined", row_id))

    def repeat(self, row_id, outcome):
        """A copy of the advice recorded as row_id was answered again: repeats + 1, its outcome."""
        with self.db:
            self.db.execute("UPDATE auth SET repeats = repeats + 1, outcome = ? WHERE id = ?", (outcome, row_id))

    def advice(self, tid, batch, stan):
        """The advice record of the offline sale (tid, batch, STAN): the row a 0220, or a 0320 with 39 = Y1,
        was recorded as (accepted or refused); None when the host never had it."""
        r = self.db.execute("SELECT * FROM auth WHERE tid = ? AND batch = ? AND stan = ? AND offline_auth IS NOT NULL "
                            "ORDER BY id LIMIT 1", (tid, batch, stan)).fetchone()
        return dict(r) if r else None

    def find(self, **eq):
        """Rows whose columns equal the given values (a tuple: one of them), newest first."""
        where, values = _where(eq)
        return [dict(r) for r in self.db.execute("SELECT * FROM auth WHERE %s ORDER BY id DESC" % where, values)]

    # -- reader API (tests, scenarios) --------------------------------------------------------------

    def rows(self, tid=None):
        """Every auth row (of one terminal), as dicts, in id order."""
        where, values = _where({} if tid is None else {"tid": tid})
        return [dict(r) for r in self.db.execute("SELECT * FROM auth WHERE %s ORDER BY id" % where, values)]

    def totals(self, tid):
        """{"count", "amount"} over the terminal's 0200 rows answered 00 (approved = 1) and its accepted
        advices (offline sales), any batch or code."""
        count, amount = self.db.execute(
            "SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM auth WHERE tid = ? AND approved = 1 "
            "AND (mti = '0200' OR offline_auth IS NOT NULL)", (tid,)).fetchone()
        return {"count": count, "amount": amount}

    def batch_totals(self, tid, batch):
        """Section 11 totals of one batch, from the 0200 rows and advice records whose status is `approved`:
        sales, accepted offline sales and bill payments are debits, refunds credits (voided, reversed and
        refused rows do not count)."""
        out = dict.fromkeys(TOTALS, 0)
        cur = self.db.execute(
            "SELECT proc_code, COUNT(*), COALESCE(SUM(amount), 0) FROM auth WHERE tid = ? AND batch = ? "
            "AND (mti = '0200' OR offline_auth IS NOT NULL) AND status = 'approved' GROUP BY proc_code",
            (tid, batch))
        for code, count, amount in cur:
            side = SIDES.get(code)
            if side:
                out[side + "_count"] += count
                out[side + "_amount"] += amount
        return out

    def settlements(self, tid):
        """The terminal's settlement rows (0500s that were understood), as dicts, in id order."""
        return [dict(r) for r in self.db.execute("SELECT * FROM settlement WHERE tid = ? ORDER BY id", (tid,))]

    def close(self):
        self.db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
