# wasl.txn.receipt: the (align, style, text) lines of a 32-column receipt or totals report, from a
# transaction's journal record (txn_receipt) or the open batch (totals_report).
from fwtest import MASKED_PAN, FakeParams, txn
from wasl.txn.receipt import HEADER, TXN, render, txn_receipt
from wasl.txn.report import REPORT, totals_report
from wasl.ui.strings import LANGUAGES, table

PAN = "4761739001010010"
MASKED = MASKED_PAN
STAMP = "20260705100807"
HEADER_EN = [
    ("c", "b", "PHARMACIE EL AMEL"),                 # 17 characters: too wide for double size
    ("c", "", "12 RUE DIDOUCHE MOURAD"),
    ("c", "", "16000 ALGER"),
    ("l", "", "TID" + " " * 21 + "WASL0001"),
    ("l", "", "MID" + " " * 14 + "000000000000001"),
    ("l", "", "DATE 05/07/2026" + " " * 4 + "TIME 10:08:07"),
]


def record(ty="sale", approved=True, amount=12345678, entry="chip", rc=None, **extra):
    rc = rc or ("00" if approved else "05")
    t = txn(ty, s=42, i=7, b=1, a=amount, m=entry, t=STAMP, rc=rc, r="000000123456",
            au="A1B2C3" if rc == "00" else "")
    t.update(extra)
    return t


def lines(t, copy="m", lang="en", p=None):
    return list(txn_receipt(p or FakeParams(), table(lang), t, copy))


def texts(t, copy="m", lang="en"):
    return [x for _, _, x in lines(t, copy, lang)]


def test_is_a_generator():
    g = txn_receipt(FakeParams(), table("en"), record(), "m")
    assert not isinstance(g, (list, tuple))
    assert next(g) == ("c", "b", "PHARMACIE EL AMEL")


def test_approved_sale_merchant_copy_english_exact():
    assert lines(record()) == HEADER_EN + [
        ("c", "B", "SALE"),
        ("l", "", "CARD" + " " * 12 + MASKED),
        ("l", "", " " * 28 + "CHIP"),
        ("l", "", "BATCH 000001" + " " * 6 + "INVOICE 000007"),
        ("l", "", "STAN" + " " * 22 + "000042"),
        ("l", "", "RRN" + " " * 17 + "000000123456"),
        ("l", "", "AUTH CODE" + " " * 17 + "A1B2C3"),
        ("l", "", "RESP. CODE" + " " * 20 + "00"),
        ("l", "", ""),
        ("l", "B", "AMOUNT" + " " * 10),
        ("r", "B", "123 456,78 DZD"),
        ("l", "", ""),
        ("c", "B", "APPROVED"),
        ("l", "", ""),
        ("c", "", "MERCHANT COPY"),
    ]


def test_approved_sale_customer_copy_ends_with_keep_and_thanks():
    got = lines(record(), "c")
    assert got[:-3] == lines(record(), "m")[:-1]
    assert got[-3:] == [("c", "", "CUSTOMER COPY"), ("c", "", "PLEASE KEEP THIS RECEIPT"), ("c", "", "THANK YOU")]


def test_declined_customer_copy_french():
    tr = table("fr")
    got = lines(record(approved=False, amount=100051, entry="swipe", rc="51"), "c", "fr")
    tx = [x for _, _, x in got]
    assert ("c", "B", "VENTE") in got
    assert ("c", "B", "REFUSEE") in got
    assert ("c", "", "PROVISION INSUFF.") in got
    assert ("r", "B", "1 000,51 DZD") in got
    assert ("l", "", "CODE REP." + " " * 21 + "51") in got
    assert ("l", "", " " * 27 + "PISTE") in got
    assert not [x for x in tx if x.startswith(tr["r_auth"])]     # no auth line on a decline
    assert not [x for x in tx if "ACCEPTEE" in x]
    assert tx[-3:] == ["TICKET CLIENT", "TICKET A CONSERVER", "MERCI"]
    assert "TICKET COMMERCANT" not in tx


def test_unknown_response_code_says_refused_by_the_bank():
    tx = texts(record(approved=False, rc="77"), "c")
    assert "REFUSED BY THE BANK" in tx and "DECLINED" in tx


def test_no_rrn_line_without_rrn():
    t = record(approved=False, rc="91")
    t["r"] = ""
    tx = texts(t, "c")
    assert not [x for x in tx if x.startswith("RRN")]
    assert "BANK UNAVAILABLE" in tx
    del t["r"]
    assert not [x for x in texts(t, "c") if x.startswith("RRN")]


def test_void_exact_key_lines():
    t = txn("void", s=43, i=7, b=1, a=12345678, m="chip", t="20260705101500", o=42, ot="sale", rc="00",
            r="000000123999", au="Z9Y8X7", **{"or": "000000123456", "oa": "A1B2C3"})
    got = lines(t)
    assert got[:6] == HEADER_EN[:5] + [("l", "", "DATE 05/07/2026" + " " * 4 + "TIME 10:15:00")]
    assert got[6:] == [
        ("c", "B", "VOID"),
        ("l", "", "CARD" + " " * 12 + MASKED),
        ("l", "", " " * 28 + "CHIP"),
        ("l", "", "BATCH 000001" + " " * 6 + "INVOICE 000007"),     # the original's invoice
        ("l", "", "STAN" + " " * 22 + "000043"),                      # the void's own STAN
        ("l", "", "RRN" + " " * 17 + "000000123999"),
        ("l", "", "AUTH CODE" + " " * 17 + "Z9Y8X7"),
        ("l", "", "ORIG. RRN" + " " * 11 + "000000123456"),
        ("l", "", "RESP. CODE" + " " * 20 + "00"),
        ("l", "", ""),
        ("l", "B", "AMOUNT" + " " * 10),
        ("r", "B", "-123 456,78 DZD"),
        ("l", "", ""),
        ("c", "B", "APPROVED"),
        ("l", "", ""),
        ("c", "", "MERCHANT COPY"),
    ]


def test_refund_negative_with_original_rrn_when_keyed():
    got = lines(txn("refund", a=2500, t=STAMP, rc="00", r="000000124000", au="B1", **{"or": "000000123456"}))
    assert ("c", "B", "REFUND") in got
    assert ("r", "B", "-25,00 DZD") in got
    assert ("l", "", "ORIG. RRN" + " " * 11 + "000000123456") in got
    got = lines(txn("refund", a=2500, t=STAMP, rc="00", r="000000124000", au="B1"))
    assert not [x for _, _, x in got if x.startswith("ORIG. RRN")]
    # a sale never prints an original RRN
    assert not [x for x in texts(record(**{"or": "000000123456"})) if x.startswith("ORIG. RRN")]


def test_bill_payment_biller_reference_customer():
    t = txn("bill", a=67991, m="tap", t=STAMP, bill="ELEC/1234567891", cn="BOUDIAF AMINA", rc="00",
            r="000000125000", au="C3")
    got = lines(t, "c")
    i = got.index(("c", "B", "BILL PAYMENT"))
    assert got[i + 1:i + 5] == [
        ("l", "", "BILLER" + " " * 15 + "ELECTRICITY"),
        ("l", "", "REFERENCE" + " " * 13 + "1234567891"),
        ("l", "", "BOUDIAF AMINA"),
        ("l", "", "CARD" + " " * 12 + MASKED),
    ]
    assert ("l", "", " " * 21 + "CONTACTLESS") in got
    assert ("r", "B", "679,91 DZD") in got                 # a payment: not negative
    fr = lines(t, "c", "fr")
    assert ("l", "", "FACTURIER" + " " * 12 + "ELECTRICITE") in fr
    assert ("c", "B", "PAIEMENT FACTURE") in fr
    # a biller code the language does not name prints as the code; no customer name, no line
    t2 = txn("bill", a=100, t=STAMP, bill="XYZ/123456", rc="00", r="000000125001", au="C4")
    got = lines(t2)
    assert ("l", "", "BILLER" + " " * 23 + "XYZ") in got
    assert ("l", "", "REFERENCE" + " " * 17 + "123456") in got
    i = got.index(("l", "", "REFERENCE" + " " * 17 + "123456"))
    assert got[i + 1][2].startswith("CARD")


def test_void_of_a_bill_payment_shows_the_bill():
    t = txn("void", a=67991, t=STAMP, o=8, ot="bill", bill="GAZ/99887766", rc="00", r="000000126000",
            au="D4", **{"or": "000000125000", "oa": "C3"})
    tx = texts(t)
    assert "VOID" in tx and "-679,91 DZD" in tx
    assert "BILLER" + " " * 23 + "GAS" in tx


def test_duplicate():
    t = record()
    got = lines(t, "d")
    assert got[6] == ("c", "B", "DUPLICATE")
    assert got[7] == ("c", "B", "SALE")
    assert got[:6] + got[7:] == lines(t, "m")              # otherwise the merchant copy
    assert ("c", "B", "DUPLICATA") in lines(t, "d", "fr")
    for copy in ("m", "c"):
        assert "DUPLICATE" not in texts(t, copy)


def all_receipts():
    long_p = FakeParams()
    long_p.merchant_name = "M" * 32
    long_p.merchant_address = ["A" * 32, "B" * 40, "C"]
    extras = (
        ("sale", {}), ("refund", {"or": "000000123456"}), ("refund", {}),
        ("bill", {"bill": "ELEC/12345678901234567890", "cn": "CHERIF MOHAMED AMINE" * 3}),
        ("bill", {"bill": "TEL/123456"}),
        ("void", {"o": 41, "ot": "sale", "or": "000000123456", "oa": "A1B2C3"}),
        ("void", {"o": 41, "ot": "bill", "bill": "NET/123456789", "or": "000000123456", "oa": ""}),
    )
    for lang in LANGUAGES:
        tr = table(lang)
        for p in (FakeParams(), long_p):
            for ty, extra in extras:
                for approved in (True, False):
                    for amount in (0, 5, 12345678, 999999999999):
                        for entry in ("swipe", "chip", "tap", "manual"):
                            for copy in ("m", "c", "d"):
                                t = record(ty, approved, amount, entry, **extra)
                                yield lang, copy, t, list(txn_receipt(p, tr, t, copy))


def check_lines(what, got):
    for align, style, text in got:
        assert align in ("l", "c", "r"), (what, align)
        assert style in ("", "b", "B"), (what, style)
        assert len(text) <= 32, (what, text)
        if style == "B":
            assert len(text) <= 16, (what, text)    # double width


def test_widths_and_styles():
    n = 0
    for lang, copy, t, got in all_receipts():
        check_lines((lang, copy, t["ty"]), got)
        n += 1
    assert n == len(LANGUAGES) * 2 * 7 * 2 * 4 * 4 * 3


def test_masked_pan_present_full_pan_never():
    for lang, copy, t, got in all_receipts():
        joined = "\n".join(x for _, _, x in got)
        assert MASKED in joined, (lang, copy)
        assert PAN not in joined
        assert PAN[6:12] not in joined   # the hidden middle digits


def test_key_values_printed_in_full_every_language():
    # The receipt identifies the transaction: none of these may be cut off by a long label.
    t = record("bill", bill="ELEC/12345678901234567890", cn="BOUDIAF AMINA")
    v = record("void", o=41, ot="sale", **{"or": "000000654321", "oa": "A1B2C3"})
    for lang in LANGUAGES:
        joined = "\n".join(texts(t, "m", lang)) + "\n".join(texts(v, "m", lang))
        for value in ("WASL0001", "000000000000001", MASKED, "000001", "000007", "000042", "000000123456",
                      "A1B2C3", "12345678901234567890", "000000654321", "05/07/2026", "10:08:07"):
            assert value in joined, (lang, value)


def test_copy_label():
    for lang in LANGUAGES:
        tr = table(lang)
        m = texts(record(), "m", lang)
        c = texts(record(), "c", lang)
        d = texts(record(), "d", lang)
        assert tr["r_merchant_copy"] in m and tr["r_customer_copy"] not in m
        assert tr["r_customer_copy"] in c and tr["r_merchant_copy"] not in c
        assert tr["r_merchant_copy"] in d and tr["r_duplicate"] in d
        assert c[-2:] == [tr["r_keep"], tr["r_thanks"]]


def test_amount_formatted_with_currency():
    for amount, text, style in ((0, "0,00 DZD", "B"), (5, "0,05 DZD", "B"),
                                (999999999999, "9 999 999 999,99 DZD", "b")):
        assert ("r", style, text) in lines(record(amount=amount))
    assert ("r", "b", "-9 999 999 999,99 DZD") in lines(record("refund", amount=999999999999))
    assert ("r", "B", "-99 999,99 DZD") in lines(record("refund", amount=9999999))     # 14: still double


# ---- totals reports ------------------------------------------------------------------------------

class FakeBatch:
    number = 3
    debit_count = 2
    debit_amount = 12000
    credit_count = 1
    credit_amount = 500
    advices = []

    def offline_amount(self):
        return sum(a for _, a in self.advices)


def report(final, lang="en", b=None):
    return list(totals_report(FakeParams(), table(lang), b or FakeBatch(), STAMP, final))


def test_x_report_exact():
    assert report(False) == HEADER_EN + [
        ("c", "B", "X REPORT"),
        ("l", "", "BATCH" + " " * 21 + "000003"),
        ("l", "", ""),
        ("l", "b", "DEBITS" + " " * 25 + "2"),
        ("r", "", "120,00 DZD"),
        ("l", "b", "CREDITS" + " " * 24 + "1"),
        ("r", "", "-5,00 DZD"),
        ("l", "", ""),
        ("l", "B", "NET" + " " * 13),
        ("r", "b", "115,00 DZD"),
    ]


def test_z_report_key_lines():
    got = report(True)
    assert got[:6] == HEADER_EN
    assert got[6] == ("c", "B", "Z REPORT")
    assert ("l", "", "BATCH" + " " * 21 + "000003") in got
    assert got[-1] == ("c", "", "BATCH CLOSED")
    assert got[:-1] == HEADER_EN + [("c", "B", "Z REPORT")] + report(False)[7:]
    fr = report(True, "fr")
    assert ("c", "B", "RAPPORT Z") in fr and fr[-1] == ("c", "", "LOT CLOTURE")
    assert ("l", "", "LOT" + " " * 23 + "000003") in fr


def test_report_net_negative_and_empty_batch():
    b = FakeBatch()
    b.debit_count, b.debit_amount, b.credit_count, b.credit_amount = 0, 0, 2, 123456
    got = report(False, b=b)
    assert ("r", "b", "-1 234,56 DZD") in got
    assert ("r", "", "-1 234,56 DZD") in got
    b.credit_count, b.credit_amount = 0, 0
    got = report(True, b=b)
    assert ("l", "b", "DEBITS" + " " * 25 + "0") in got
    assert ("r", "b", "0,00 DZD") in got


def test_report_widths_every_language():
    big = FakeBatch()
    big.number, big.debit_count, big.debit_amount = 999999, 999, 999999999999
    big.credit_count, big.credit_amount = 999, 999999999999
    for lang in LANGUAGES:
        for b in (FakeBatch(), big):
            for final in (False, True):
                check_lines((lang, final), report(final, lang, b))


def test_chip_receipt_names_the_application_and_the_pin():
    t = record(aid="A0000000031010", al="VISA", cv="pin")
    got = texts(t)
    assert any(x.startswith("VISA") and x.endswith("CHIP") for x in got), got
    assert "AID" + " " * 15 + "A0000000031010" in got
    assert "PIN VERIFIED" in got and "SIGNATURE:" not in got


def test_signature_line_on_the_merchant_copy_only():
    t = record(entry="swipe", cv="sig")
    assert "SIGNATURE:" in texts(t, "m") and "_" * 32 in texts(t, "m")
    assert "SIGNATURE:" not in texts(t, "c")
    assert "SIGNATURE:" not in texts(record(approved=False, entry="swipe", cv="sig"), "m")


def test_host_approved_card_refused_prints_declined():
    t = record(aid="A0000000031010", al="VISA", cv="pin", crd=1)
    got = texts(t)
    assert "DECLINED" in got and "DECLINED BY CARD" in got
    assert "APPROVED" not in got and "PIN VERIFIED" not in got


# The layouts are data (wasl.txn.receipt: HEADER, TXN, REPORT) read by one interpreter (render).
def test_layouts_are_data_every_line_has_five_fields():
    for layout in (HEADER, TXN, REPORT):
        for line in layout.split("\n"):
            cond, align, style, left, right = line.split("|")
            assert align in ("l", "c", "r") and style in ("", "b", "B", "B?"), line


def test_render_reads_any_layout():
    def value(w, item):
        return {"=n": "42", "@k": "r_stan", "*xs": ("a", "b")}.get(w, item)

    def when(c):
        return c == "yes"

    layout = "|l||r_batch =n|r_invoice\nno|c||r_rrn|\nyes|c|B?|@k|\n*xs|r||=item|"
    assert list(render(layout, table("en"), value, when)) == [
        ("l", "", "BATCH 42" + " " * 17 + "INVOICE", "r_batch r_invoice"),
        ("c", "B", "STAN", "r_stan"),
        ("r", "", "a", None),
        ("r", "", "b", None),
    ]


def test_unknown_biller_prints_its_code_and_no_arabic_words_for_it():
    t = record(ty="bill", bill="ZZZ/REF9")
    got = lines(t)
    assert ("l", "", "BILLER" + " " * 23 + "ZZZ") in got, got
    ar = list(txn_receipt(FakeParams(), table("fr"), t, "m", ar=table("ar")))
    i = ar.index(("l", "", "FACTURIER" + " " * 20 + "ZZZ"))
    assert ar[i + 1][1] == "a" and ar[i + 1][2] == table("ar")["r_biller"]


def test_layout_with_an_unknown_word_or_condition_is_refused():
    for bad, what in (("|l||=nothing|", "nothing"), ("never|l||r_rc|", "never")):
        try:
            list(txn_receipt(FakeParams(), table("en"), record(), "m", layout=bad))
        except ValueError as e:
            assert what in str(e), e
        else:
            assert False, "a layout naming %r must be refused" % what


def test_bilingual_report_has_arabic_lines_under_each_label():
    plain = list(totals_report(FakeParams(), table("fr"), FakeBatch(), STAMP, True))
    both = list(totals_report(FakeParams(), table("fr"), FakeBatch(), STAMP, True, ar=table("ar")))
    arabic = [x for x in both if x[1] in ("a", "aB")]
    assert [x for x in both if x[1] not in ("a", "aB")] == plain
    assert (("c", "aB", table("ar")["r_z_report"]) in arabic and
            ("r", "a", table("ar")["r_batch_closed"]) not in arabic and
            ("c", "a", table("ar")["r_batch_closed"]) in arabic), arabic
