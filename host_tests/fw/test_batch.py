# wasl.txn.batch: the open batch (numbers, totals, pending reversal) replayed from the journal.
import gc

from fwtest import make_tmpdir, rmtree, txn
from wasl.txn.batch import Batch
from wasl.txn.batchops import find, settle, take_stan, transactions
from wasl.txn.journal import Journal


def with_batch(records, fn):
    """fn(journal, batch) on a journal holding `records` (written with Journal.append), replayed."""
    d = make_tmpdir("batch")
    try:
        j = Journal(d)
        for r in records:
            j.append(r)
        return fn(Journal(d), Batch(Journal(d)))
    finally:
        rmtree(d)


def approved(s, rrn=None, au="A1B2C3"):
    return {"e": "rep", "s": s, "rc": "00", "r": rrn or "6012345678%02d" % (s % 100), "au": au}


def declined(s, rc="51"):
    return {"e": "rep", "s": s, "rc": rc, "r": "6099999999%02d" % (s % 100), "au": ""}


def sent(s):
    return {"e": "sent", "s": s}


def done(t, rep):
    """The records of one transaction that got a reply: new, sent, rep."""
    return [t, sent(t["s"]), rep]


def void_of(orig, s, rrn="601234567801"):
    return txn("void", s=s, i=orig["i"], b=orig["b"], a=orig["a"], m=orig["m"], o=orig["s"], ot=orig["ty"],
               **{"or": rrn, "oa": "A1B2C3"})


# A batch: sale 10000 approved, bill 2000 approved, refund 500 approved, sale 700 declined.
SALE = txn("sale", s=1, i=1, a=10000)
BILL = txn("bill", s=2, i=2, a=2000, bill="ELEC/1234567891", cn="BOUDIAF AMINA")
REFUND = txn("refund", s=3, i=3, a=500, **{"or": "601234567801"})
DECLINED = txn("sale", s=4, i=4, a=700)
MIXED = (done(SALE, approved(1)) + done(BILL, approved(2)) + done(REFUND, approved(3))
         + done(DECLINED, declined(4)))


def totals(b):
    return (b.debit_count, b.debit_amount, b.credit_count, b.credit_amount)


def test_empty_journal():
    def check(j, b):
        assert (b.number, b.stan, b.invoice) == (1, 0, 0)
        assert totals(b) == (0, 0, 0, 0) and b.count == 0
        assert b.current is None and b.pending is None
        assert b.next_numbers() == (1, 1)
        assert b.totals_field() == "0" * 30
        assert list(transactions(b)) == [] and find(b, 1) is None
    with_batch([], check)


def test_numbers_continue_after_replay():
    recs = done(txn(s=1, i=1), approved(1)) + done(txn(s=2, i=2), declined(2)) + [{"e": "ctl", "s": 3}]

    def check(j, b):
        assert (b.number, b.stan, b.invoice) == (1, 3, 2)
        assert b.next_numbers() == (4, 3)
        assert b.next_numbers() == (4, 3)               # asking does not use them up
        b.record(txn(s=4, i=3))
        assert b.next_numbers() == (5, 4)
        b2 = Batch(Journal(j.path[:-len("/journal")]))  # a reboot
        assert (b2.number, b2.stan, b2.invoice) == (1, 4, 3)
    with_batch(recs, check)


def test_totals_per_type():
    def check(j, b):
        assert totals(b) == (2, 12000, 1, 500)          # declined sale not counted
        assert b.count == 4                              # but it is a transaction of the batch
        assert b.totals_field() == "002000000012000001000000000500"
        assert len(b.totals_field()) == 30
        assert b.current["s"] == 4 and b.current["rc"] == "51"
        assert b.pending is None
    with_batch(MIXED, check)


def test_totals_kept_up_to_date_by_record_like_replay():
    d = make_tmpdir("batch")
    try:
        b = Batch(Journal(d))
        for r in MIXED:
            b.record(r)
        assert totals(b) == (2, 12000, 1, 500)
        assert totals(Batch(Journal(d))) == totals(b)
    finally:
        rmtree(d)


def test_declined_and_unanswered_are_not_counted():
    recs = done(txn(s=1, i=1, a=100), declined(1, "05")) + [txn(s=2, i=2, a=200), sent(2)] + [txn(s=3, i=3, a=300)]

    def check(j, b):
        assert totals(b) == (0, 0, 0, 0)
        assert b.count == 3
        assert b.totals_field() == "0" * 30
    with_batch(recs, check)


def test_void_of_an_approved_sale_subtracts():
    recs = MIXED + done(void_of(SALE, 5), approved(5))

    def check(j, b):
        assert totals(b) == (1, 2000, 1, 500)
        assert b.totals_field() == "001000000002000001000000000500"
        assert b.count == 5
        assert (b.stan, b.invoice) == (5, 4)             # a void takes a STAN, not an invoice
        assert b.next_numbers() == (6, 5)
    with_batch(recs, check)


def test_void_of_a_bill_payment_subtracts_from_debits():
    def check(j, b):
        assert totals(b) == (1, 10000, 1, 500)
    with_batch(MIXED + done(void_of(BILL, 5), approved(5)), check)


def test_declined_void_changes_nothing():
    recs = MIXED + done(void_of(SALE, 5), declined(5, "12"))

    def check(j, b):
        assert totals(b) == (2, 12000, 1, 500)
        assert [t.get("voided") for t in transactions(b)] == [None] * 5
    with_batch(recs, check)


def test_pending_set_by_sent_cleared_by_rep():
    def check(j, b):
        assert b.pending is None
        t = txn(s=1, i=1)
        b.record(t)
        assert b.pending is None                         # not armed before "sent"
        b.record(sent(1))
        assert b.pending is t and b.pending["s"] == 1
        assert Batch(Journal(j.path[:-len("/journal")])).pending["s"] == 1   # survives a reboot
        b.record(approved(1))
        assert b.pending is None
        assert Batch(Journal(j.path[:-len("/journal")])).pending is None
    with_batch([], check)


def test_pending_cleared_by_rev():
    recs = [txn(s=1, i=1, a=999), sent(1)]

    def check(j, b):
        assert b.pending["s"] == 1 and b.pending["a"] == 999
        t = b.pending
        b.record({"e": "rev", "s": 1, "rc": "00"})
        assert b.pending is None
        assert t["rev"] == "00"
        b2 = Batch(Journal(j.path[:-len("/journal")]))
        assert b2.pending is None and b2.current["rev"] == "00"
        assert totals(b2) == (0, 0, 0, 0)
        # a "rev" for another STAN does not clear it
        b2.record(txn(s=2, i=2))
        b2.record(sent(2))
        b2.record({"e": "rev", "s": 1, "rc": "00"})
        assert b2.pending["s"] == 2
    with_batch(recs, check)


def test_card_refusal_after_approval_rearms_the_reversal():
    # chip: the host approved, the card's second GENERATE AC refused ("crd"): the sale leaves the totals,
    # its reversal is armed again; the reversal's acknowledgement clears it; replay agrees; upload skips it
    recs = done(SALE, approved(1))

    def check(j, b):
        assert totals(b) == (1, 10000, 0, 0) and b.pending is None
        b.record({"e": "crd", "s": 1})
        assert totals(b) == (0, 0, 0, 0)
        assert b.pending is b.current and b.current["crd"] == 1
        b.record({"e": "crd", "s": 1})            # a repeated record changes nothing
        assert totals(b) == (0, 0, 0, 0)
        b2 = Batch(Journal(j.path[:-len("/journal")]))
        assert b2.pending["s"] == 1 and totals(b2) == (0, 0, 0, 0)
        b2.record({"e": "rev", "s": 1, "rc": "00"})
        assert b2.pending is None
        b3 = Batch(Journal(j.path[:-len("/journal")]))
        assert b3.pending is None and totals(b3) == (0, 0, 0, 0)
        assert [t.get("reversed") for t in transactions(b3)] == [True]
    with_batch(recs, check)


def test_card_refusal_of_a_declined_transaction_changes_nothing():
    recs = done(DECLINED, declined(4)) + [{"e": "crd", "s": 4}]

    def check(j, b):
        assert b.pending is None and totals(b) == (0, 0, 0, 0) and "crd" not in b.current
    with_batch(recs, check)


def test_sent_or_rep_for_another_stan_is_ignored():
    recs = [txn(s=1, i=1), sent(7), approved(7)]

    def check(j, b):
        assert b.pending is None
        assert "rc" not in b.current
        assert totals(b) == (0, 0, 0, 0)
    with_batch(recs, check)


def test_prt_records_the_printed_copies():
    recs = done(SALE, approved(1)) + [{"e": "prt", "s": 1, "c": "m"}, {"e": "prt", "s": 1, "c": "c"},
                                      {"e": "prt", "s": 1, "c": "d"}]

    def check(j, b):
        assert b.current["pc"] == "mcd"
        assert totals(b) == (1, 10000, 0, 0)
    with_batch(recs, check)


def test_ctl_advances_stan():
    def check(j, b):
        assert take_stan(b) == 1
        assert take_stan(b) == 2
        assert list(j.records()) == [{"e": "ctl", "s": 1}, {"e": "ctl", "s": 2}]
        b2 = Batch(Journal(j.path[:-len("/journal")]))
        assert b2.stan == 2 and b2.invoice == 0
        assert b2.next_numbers() == (3, 1)
        assert b2.count == 0                              # not a transaction
    with_batch([], check)


def test_set_closes_the_batch():
    recs = MIXED + [{"e": "ctl", "s": 5}, {"e": "set", "b": 1}]

    def check(j, b):
        assert b.number == 2
        assert b.stan == 0 and b.invoice == 4
        assert totals(b) == (0, 0, 0, 0) and b.count == 0
        assert b.current is None
        assert b.next_numbers() == (1, 5)
        assert list(transactions(b)) == []               # even before compaction
    with_batch(recs, check)


def test_settle_compacts_and_numbering_continues():
    def check(j, b):
        root = j.path[:-len("/journal")]
        assert b.number == 1 and b.stan == 4
        take_stan(b)                                     # the 0500's STAN
        settle(b)
        assert list(Journal(root).records()) == [{"e": "base", "s": 0, "i": 4, "b": 2}]
        assert (b.number, b.stan, b.invoice) == (2, 0, 4)
        assert totals(b) == (0, 0, 0, 0) and b.count == 0 and list(transactions(b)) == []
        b2 = Batch(Journal(root))
        assert (b2.number, b2.stan, b2.invoice) == (2, 0, 4)
        assert totals(b2) == (0, 0, 0, 0) and b2.count == 0 and b2.current is None and b2.pending is None
        assert b2.next_numbers() == (1, 5)                # STAN from 0, invoice continues, batch + 1
        # the next batch works as the first did
        b2.record(txn(s=1, i=5, b=2, a=300))
        b2.record(sent(1))
        b2.record(approved(1))
        b3 = Batch(Journal(root))
        assert (b3.number, b3.stan, b3.invoice) == (2, 1, 5)
        assert totals(b3) == (1, 300, 0, 0)
        assert [t["s"] for t in transactions(b3)] == [1]
        settle(b3)
        assert list(Journal(root).records()) == [{"e": "base", "s": 0, "i": 5, "b": 3}]
        assert Batch(Journal(root)).next_numbers() == (1, 6)
    with_batch(MIXED, check)


def test_transactions_flags():
    sale3 = txn("sale", s=6, i=6, a=3000)
    recs = (MIXED + done(void_of(SALE, 5), approved(5)) + [sale3, sent(6), {"e": "rev", "s": 6, "rc": "00"}]
            + [{"e": "ctl", "s": 7}, {"e": "prt", "s": 1, "c": "d"}])

    def check(j, b):
        ts = list(transactions(b))
        assert [t["s"] for t in ts] == [1, 2, 3, 4, 5, 6]
        by = {t["s"]: t for t in ts}
        assert by[1].get("voided") is True and by[1]["rc"] == "00" and by[1]["r"] == "601234567801"
        assert by[5]["ty"] == "void" and by[5]["rc"] == "00" and not by[5].get("voided")
        assert by[6].get("reversed") is True and "rc" not in by[6]
        for s in (2, 3, 4):
            assert not by[s].get("voided") and not by[s].get("reversed"), s
        assert (by[4]["rc"], by[4]["au"]) == ("51", "")
        assert by[2]["bill"] == "ELEC/1234567891" and by[3]["or"] == "601234567801"
        # what settlement uploads: approved, not voided, not reversed, not voids
        assert [t["s"] for t in ts if t.get("rc") == "00" and not t.get("voided") and not t.get("reversed")
                and t["ty"] != "void"] == [2, 3]
        # the totals agree with the flags (section 11)
        assert totals(b) == (1, 2000, 1, 500)
    with_batch(recs, check)


def test_find_returns_the_original_not_the_void():
    recs = MIXED + done(void_of(SALE, 5), approved(5))

    def check(j, b):
        t = find(b, 1)
        assert t["ty"] == "sale" and t["s"] == 1 and t["voided"] is True
        assert find(b, 2)["ty"] == "bill"
        assert find(b, 4)["rc"] == "51"
        assert find(b, 99) is None
        assert find(b, 0) is None
    with_batch(recs, check)


def test_find_after_stan_wrap_skips_the_void():
    # the original took STAN 999999, its void STAN 1: the void sorts first, find still returns the sale
    orig = txn("sale", s=999999, i=12, a=4400)
    recs = [{"e": "base", "s": 999998, "i": 11, "b": 3}] + done(orig, approved(999999)) + done(void_of(orig, 1),
                                                                                             approved(1))

    def check(j, b):
        assert sorted(t["ty"] for t in transactions(b)) == ["sale", "void"]   # sorted by STAN: the void first
        t = find(b, 12)
        assert t["ty"] == "sale" and t["s"] == 999999 and t.get("voided") is True
        assert totals(b) == (0, 0, 0, 0)
    with_batch(recs, check)


def test_find_in_a_closed_batch_is_none():
    def check(j, b):
        assert find(b, 1) is None and find(b, 4) is None
    with_batch(MIXED + [{"e": "set", "b": 1}], check)


def test_next_numbers_wrap_999999_to_1():
    def check(j, b):
        assert (b.stan, b.invoice, b.number) == (999999, 999999, 7)
        assert b.next_numbers() == (1, 1)
        assert take_stan(b) == 1
        assert b.next_numbers() == (2, 1)
    with_batch([{"e": "base", "s": 999999, "i": 999999, "b": 7}], check)

    def check2(j, b):
        assert b.next_numbers() == (999999, 1)
        b.record(txn(s=999999, i=1))
        assert b.next_numbers() == (1, 2)
    with_batch([{"e": "base", "s": 999998, "i": 999999, "b": 7}], check2)


def test_batch_number_wraps_999999_to_1():
    def check(j, b):
        assert b.number == 999999
        settle(b)
        assert b.number == 1
        assert Batch(Journal(j.path[:-len("/journal")])).number == 1
    with_batch([{"e": "base", "s": 3, "i": 3, "b": 999999}], check)


def test_totals_field_counts_modulo_1000():
    recs = [{"e": "base", "s": 0, "i": 0, "b": 1}]
    for s in range(1, 1003):
        recs += [txn(s=s, i=s, a=1), approved(s)]

    def check(j, b):
        assert b.debit_count == 1002
        assert b.totals_field() == "002000000001002000000000000000"
    with_batch(recs, check)


def _heap_used():
    gc.collect()
    try:
        return gc.mem_alloc()             # MicroPython
    except AttributeError:                # CPython
        import tracemalloc

        return tracemalloc.get_traced_memory()[0]


def test_transactions_memory_stays_flat_whatever_the_batch_size():
    # FIRMWARE BUG (wasl/txn/batch.py, Batch.transactions): the module promises "memory stays flat whatever
    # the batch size" and transactions() "Stream[s] ... Nothing is kept beyond one pass", but it builds a
    # dict of every transaction of the batch and returns them all: about 426 bytes each on the unix port,
    # 85 KB for a 200-transaction day, held during find() (void, reprint by invoice) and settlement upload.
    n = 300
    d = make_tmpdir("batch")
    try:
        j = Journal(d)
        for s in range(1, n + 1):
            for r in done(txn(s=s, i=s, a=1000 + s), approved(s)) + [{"e": "prt", "s": s, "c": "m"}]:
                j.append(r)
        b = Batch(Journal(d))
        assert b.debit_count == n
        try:
            import tracemalloc

            tracemalloc.start()
        except ImportError:               # MicroPython
            tracemalloc = None
        try:
            m0 = _heap_used()
            it = iter(transactions(b))
            first = next(it)
            held = _heap_used() - m0
        finally:
            if tracemalloc:
                tracemalloc.stop()
        assert first["s"] == 1
        assert sum(1 for _ in it) == n - 1
        assert held < 24 * 1024, "%d bytes held for a %d-transaction batch" % (held, n)
    finally:
        rmtree(d)
