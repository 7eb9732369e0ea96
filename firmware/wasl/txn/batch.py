# The open batch as the journal says it is: numbers (STAN, invoice, batch), totals, the pending
# reversal and the last transaction. Rebuilt by replaying the journal at boot, then kept up to date
# by the same code path (apply) as each record is appended, so memory stays flat whatever the batch
# size: per-transaction detail is read back from the journal when needed (void, reprint, upload).
#
# Journal records (docs/journal.md):
#   new   a transaction is created: s stan, i invoice, b batch, ty type, a amount, p masked PAN,
#         m entry mode, t local time YYYYMMDDhhmmss, and per type: bill, o (original STAN),
#         or (original RRN), oa (original auth code)
#   sent  its request is about to leave: a reversal is armed (s)
#   rep   a valid reply: s, rc, r (RRN), au (auth code) -- clears the armed reversal
#   off   s was approved offline by the terminal (store and forward): au the offline approval code,
#         k the KSN and d the card data enciphered under its data key, ic (chip) field 55; an advice
#         (0220) is owed to the host
#   adv   the host answered the advice of s: rc (00 accepted; another code: it will not pay, the sale
#         leaves the totals), r its RRN, a the amount
#   cok   chip: the card confirmed the host's approval of s (TC at the second GENERATE AC)
#   crd   the card refused s after the host approved it (chip, second GENERATE AC): its reversal is
#         armed again and it leaves the totals
#   rev   the host acknowledged the reversal of s (rc)
#   prt   a receipt copy of s was printed (c: "m" merchant, "c" customer, "d" duplicate)
#   ctl   a STAN used by a message that is not a transaction (echo, inquiry, settlement) (s)
#   set   batch b settled (closed)
#   base  after compaction: the numbers to continue from (s, i, b)
_WRAP = 999999

# Transaction types -> effect on the batch totals when approved.
DEBIT = ("sale", "bill")
CREDIT = ("refund",)
OFFLINE = "Y1"      # field 39 of an approval the terminal gave itself (docs/host-interface.md)


def approved(t):
    """Does transaction t (its "new" record with the outcome merged in) stand as approved?"""
    rc = t.get("rc")
    return (rc == "00" or (rc == OFFLINE and t.get("adv", "00") == "00")) and "crd" not in t


class Batch:
    def __init__(self, journal):
        self.journal = journal
        self.number = 1          # open batch
        self.stan = 0            # last STAN used
        self.invoice = 0         # last invoice used
        self.reset_totals()
        self.current = None      # the last transaction: its "new" record + outcome keys
        self.pending = None      # transaction whose reversal is armed and not acknowledged
        self.advices = []        # [STAN, amount] of offline approvals whose advice the host has not answered
        for rec in journal.records():
            self.apply(rec)

    def reset_totals(self):
        self.debit_count = self.debit_amount = 0
        self.credit_count = self.credit_amount = 0
        self.count = 0           # transactions of any kind in the open batch

    # ------------------------------------------------------------------------------------------
    def apply(self, rec):
        e = rec.get("e")
        if e == "new":
            self.stan = rec["s"]
            if rec["ty"] != "void":
                self.invoice = rec["i"]
            self.current = rec
            self.count += 1
        elif e == "sent":
            if self.current and self.current["s"] == rec["s"]:
                self.pending = self.current
        elif e == "rep":
            cur = self.current
            if cur and cur["s"] == rec["s"]:
                cur["rc"] = rec["rc"]
                cur["r"] = rec.get("r", "")
                cur["au"] = rec.get("au", "")
                if self.pending is cur:
                    self.pending = None
                if rec["rc"] == "00":
                    self._count(cur, 1)
        elif e == "off":
            cur = self.current
            if cur and cur["s"] == rec["s"] and "rc" not in cur:
                cur["rc"] = OFFLINE
                cur["au"] = rec["au"]
                self._count(cur, 1)
                self.advices.append([cur["s"], cur["a"]])
        elif e == "adv":
            for i, (s, a) in enumerate(self.advices):
                if s == rec["s"]:
                    del self.advices[i]
                    if rec["rc"] != "00":        # the host will not honour it: out of the totals
                        self._count({"ty": "sale", "a": a}, -1)
                    break
            cur = self.current
            if cur and cur["s"] == rec["s"]:
                cur["adv"] = rec["rc"]
                cur["r"] = rec.get("r", "")
        elif e == "cok":
            cur = self.current
            if cur and cur["s"] == rec["s"]:
                cur["cok"] = 1
        elif e == "crd":
            cur = self.current
            if cur and cur["s"] == rec["s"] and cur.get("rc") == "00" and "crd" not in cur:
                cur["crd"] = 1
                self._count(cur, -1)
                self.pending = cur
        elif e == "rev":
            if self.pending and self.pending["s"] == rec["s"]:
                self.pending["rev"] = rec.get("rc", "")
                self.pending = None
        elif e == "prt":
            cur = self.current
            if cur and cur["s"] == rec["s"]:
                cur["pc"] = cur.get("pc", "") + rec["c"]
        elif e == "ctl":
            self.stan = rec["s"]
        elif e == "set":
            self.number = rec["b"] % _WRAP + 1
            self.stan = 0
            self.reset_totals()
            self.current = None
            self.advices = []
        elif e == "base":
            self.stan, self.invoice, self.number = rec["s"], rec["i"], rec["b"]

    def _count(self, t, sign):
        ty = t["ty"]
        if ty in DEBIT or (ty == "void" and t.get("ot") in DEBIT):
            if ty == "void":
                sign = -sign
            self.debit_count += sign
            self.debit_amount += sign * t["a"]
        elif ty in CREDIT or ty == "void":
            if ty == "void":
                sign = -sign
            self.credit_count += sign
            self.credit_amount += sign * t["a"]

    def offline_amount(self):
        n = 0
        for _, a in self.advices:
            n += a
        return n

    def record(self, rec):
        """Journal a record, then apply it: the journal is written before the state changes."""
        self.journal.append(rec)
        self.apply(rec)

    # ------------------------------------------------------------------------------------------
    def next_numbers(self):
        """(STAN, invoice) for a new transaction; they become used when its "new" record is written."""
        return self.stan % _WRAP + 1, self.invoice % _WRAP + 1

    def totals_field(self):
        """Field 63 (docs/host-interface.md, section 11)."""
        return "%03d%012d%03d%012d" % (self.debit_count % 1000, self.debit_amount,
                                       self.credit_count % 1000, self.credit_amount)
