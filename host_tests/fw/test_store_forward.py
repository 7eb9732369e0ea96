# Store and forward on the terminal (docs/journal.md, docs/host-interface.md "0220"): the offline
# approval's journal records, the batch they make (totals, the advice queue, a refused advice), the 0220
# and 0320 they build, the parameters, and the card data enciphered under the DUKPT data key of its own
# KSN (deciphered here with the X9.24-3 supplement's data encryption key of counter 1).
from binascii import a2b_base64, b2a_base64, hexlify, unhexlify

from fwtest import FakeParams, make_tmpdir, raises, rmtree, txn
from test_batch import approved as approved_rep
from test_batch import done, with_batch
from test_online import _terminal as online_terminal
from test_params import base_doc
from wasl import params as pm
from wasl.params import parse
from wasl.crypto import aes
from wasl.host import admin, messages
from wasl.txn import batchops
from wasl.txn.batch import OFFLINE, Batch, approved
from wasl.txn.journal import Journal

TRACK2 = "4761739001010010=28121011234567890"
DATA_KEY_1 = unhexlify("A35C412EFD41FDB98B69797C02DCD08F")   # X9.24-3 supplement, counter 1, data encryption
UTC = (2026, 7, 5, 9, 8, 7, 0, 0)


def b64(data):
    return b2a_base64(data).decode().strip()


def off(s, i, au=None, k="123456789012345600000001", d=b64(bytes(48)), **more):
    rec = {"e": "off", "s": s, "au": au or "Y1%04d" % i, "k": k, "d": d}
    rec.update(more)
    return rec


def totals(b):
    return (b.debit_count, b.debit_amount, b.credit_count, b.credit_amount)


SALE1 = txn("sale", s=1, i=1, a=1500)
SALE2 = txn("sale", s=2, i=2, a=2500)


def test_offline_approval_counts_and_owes_an_advice():
    def check(j, b):
        assert totals(b) == (2, 4000, 0, 0)
        assert b.advices == [[1, 1500], [2, 2500]] and b.offline_amount() == 4000
        assert b.pending is None                      # nothing was sent: no reversal
        assert b.current["rc"] == OFFLINE and b.current["au"] == "Y10002" and approved(b.current)
    with_batch([SALE1, off(1, 1), SALE2, off(2, 2)], check)


def test_advice_answers_empty_the_queue_a_refusal_leaves_the_totals():
    def check(j, b):
        assert b.advices == []
        assert totals(b) == (1, 1500, 0, 0)           # sale 2's advice refused: the host will not pay
        assert b.current["adv"] == "05" and not approved(b.current)
        ts = list(batchops.transactions(b))
        assert [(t["s"], t["rc"], t.get("adv"), t.get("r")) for t in ts] == \
            [(1, OFFLINE, "00", "601234567801"), (2, OFFLINE, "05", "601234567802")]
        assert approved(ts[0]) and not approved(ts[1])
        assert ts[0]["k"] == "123456789012345600000001" and "d" in ts[0]
    with_batch([SALE1, off(1, 1), SALE2, off(2, 2),
                {"e": "adv", "s": 1, "rc": "00", "r": "601234567801"},
                {"e": "adv", "s": 2, "rc": "05", "r": "601234567802"}], check)


def test_an_advice_answer_after_later_sales_still_applies():
    later = txn("sale", s=3, i=3, a=900)
    def check(j, b):
        assert b.advices == [] and totals(b) == (2, 2400, 0, 0)
    with_batch([SALE1, off(1, 1)] + done(later, approved_rep(3)) + [{"e": "adv", "s": 1, "rc": "00", "r": "X"}],
               check)


def test_off_for_another_stan_or_an_answered_transaction_is_ignored():
    def check(j, b):
        assert b.advices == [] and totals(b) == (1, 1500, 0, 0)
    with_batch(done(SALE1, approved_rep(1)) + [off(1, 1), off(9, 9)], check)


def test_settlement_clears_the_queue():
    def check(j, b):
        batchops.settle(b)
        assert b.advices == [] and Batch(j).advices == []
    with_batch([SALE1, off(1, 1)], check)


def test_advice_message():
    t = dict(SALE1, rc=OFFLINE, au="Y10001", k="123456789012345600000001", d=b64(b"\xab" * 32))
    f = messages.advice(FakeParams(), t, UTC)
    assert f[3] == "000000" and f[4] == "000000001500" and f[11] == "000001"
    assert f[38] == "Y10001" and f[39] == "Y1" and f[22] == "021" and f[25] == "00"
    assert f[61] == bytes([12]) + unhexlify("123456789012345600000001") + b"\xab" * 32
    assert 2 not in f and 35 not in f and 37 not in f and 55 not in f
    icc = unhexlify("9f2701409f2608" + "11" * 8)
    chip = dict(t, m="chip", ic=b64(icc), sq="001")
    f = messages.advice(FakeParams(), chip, UTC)
    assert f[55] == icc and f[23] == "001" and f[22] == "051"


def test_batch_upload_of_an_offline_sale_carries_its_card_data():
    t = dict(SALE1, rc=OFFLINE, au="Y10001", k="1234", d=b64(b"\xcd" * 16))
    f = admin.batch_upload(FakeParams(), t, UTC)
    assert 37 not in f and f[39] == "Y1" and f[61] == b"\x02\x12\x34" + b"\xcd" * 16
    f = admin.batch_upload(FakeParams(), dict(t, r="601234567801", adv="00"), UTC)
    assert f[37] == "601234567801"


def test_offline_parameters():
    p = parse(base_doc())
    assert (p.offline_floor, p.offline_max_count, p.offline_max_amount, p.advice_retry_s) == (0, 10, 0, 300)
    doc = base_doc()
    doc["offline"] = {"floor_limit": 5000, "max_count": 3, "retry_s": 60}
    p = parse(doc)
    assert (p.offline_floor, p.offline_max_count, p.offline_max_amount, p.advice_retry_s) == (5000, 3, 50000, 60)
    for name, bad in (("floor_limit", -1), ("floor_limit", p.amount_max + 1), ("floor_limit", "10"),
                      ("max_count", 0), ("max_count", 100), ("max_amount", -1), ("retry_s", 5)):
        doc = base_doc()
        doc["offline"] = {name: bad}
        assert raises(pm.ParamError, parse, doc).param == "offline." + name


class _Card:
    entry = "swipe"
    masked_pan = "476173******0010"
    service_code = "101"
    track2 = TRACK2


class _Clock:
    def time(self):
        return 0

    def gmtime(self, t):
        return (2026, 7, 5, 10, 8, 7, 0, 0)


class _Hw:
    clock = _Clock()


def test_offline_approve_enciphers_the_card_data_under_the_data_key_of_its_own_ksn():
    from wasl.txn import offline
    d, term = online_terminal()
    jd = make_tmpdir("sf")
    try:
        term.batch = Batch(Journal(jd))
        term.hw = _Hw()
        term.params.tz_offset_min = 60
        term.times = lambda: ((2026, 7, 5, 9, 8, 7, 0, 0), (2026, 7, 5, 10, 8, 7, 0, 0))
        t = offline.approve(term, "sale", 1500, _Card(), {"cv": "sig"})
        assert t["rc"] == OFFLINE and t["au"] == "Y10001"
        recs = list(Journal(jd).records())
        assert [r["e"] for r in recs] == ["new", "off"]
        o = recs[1]
        assert o["k"] == "123456789012345600000001"               # the first KSN of the supply
        clear = aes.decrypt_cbc(DATA_KEY_1, bytes(16), a2b_base64(o["d"]))
        assert bytes(clear).rstrip(b"\x00").decode() == TRACK2 and len(clear) % 16 == 0
        for r in recs:                                            # no card data in clear in the journal
            assert "4761739001010010" not in str(r) and hexlify(TRACK2.encode()).decode() not in str(r)
        assert Batch(Journal(jd)).advices == [[1, 1500]]
    finally:
        rmtree(jd)
        rmtree(d)


def test_reports_and_receipts_show_offline_approvals():
    from test_receipt import FakeBatch, report, texts
    b = FakeBatch()
    b.advices = [[1, 1500], [2, 2500]]
    lines = [x for _, _, x in report(False, b=b)]
    assert any(x.startswith("ADVICES PENDING") and x.endswith("2") for x in lines), lines
    assert "40,00 DZD" in lines
    assert not any("ADVICES" in x for _, _, x in report(False))       # none pending: no line
    t = txn("sale", s=1, i=1, a=1500, rc=OFFLINE, au="Y10001")
    assert "APPROVED OFFLINE" in texts(t) and "APPROVED" in texts(t)
    refused = dict(t, adv="05")                    # the host would not honour it
    got = texts(refused)
    assert "DECLINED" in got and "APPROVED OFFLINE" not in got
