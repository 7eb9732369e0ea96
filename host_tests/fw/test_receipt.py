# wasl.txn.receipt.sale_receipt: the (align, style, text) lines of a 32-column receipt.
from wasl.txn.receipt import sale_receipt
from wasl.ui.strings import LANGUAGES, table

PAN = "4761739001010010"
MASKED = "476173******0010"


class FakeParams:
    merchant_name = "PHARMACIE EL AMEL"
    merchant_address = ["12 RUE DIDOUCHE MOURAD", "16000 ALGER"]
    terminal_id = "WASL0001"
    merchant_id = "000000000000001"
    currency_exponent = 2
    currency_alpha = "DZD"


def result(approved=True, amount=12345678, entry="chip", rc="00", result_text="APPROVED"):
    return {
        "type": "sale", "amount": amount, "masked_pan": MASKED, "entry": entry,
        "utc": (2026, 7, 5, 9, 8, 7, 6, 186), "local": (2026, 7, 5, 10, 8, 7, 6, 186),
        "stan": 42, "invoice": 7, "rrn": "000000123456", "auth": "A1B2C3" if approved else "",
        "rc": rc, "approved": approved, "result_text": result_text,
    }


def test_is_a_generator():
    g = sale_receipt(FakeParams(), table("en"), result(), "merchant")
    assert not isinstance(g, (list, tuple))
    assert next(g) == ("c", "b", "PHARMACIE EL AMEL")


def test_approved_merchant_copy_english_exact():
    lines = list(sale_receipt(FakeParams(), table("en"), result(), "merchant"))
    assert lines == [
        ("c", "b", "PHARMACIE EL AMEL"),                 # 17 characters: too wide for double size
        ("c", "", "12 RUE DIDOUCHE MOURAD"),
        ("c", "", "16000 ALGER"),
        ("l", "", "TID" + " " * 21 + "WASL0001"),
        ("l", "", "MID" + " " * 14 + "000000000000001"),
        ("l", "", "DATE 05/07/2026" + " " * 4 + "TIME 10:08:07"),
        ("c", "B", "SALE"),
        ("l", "", "CARD" + " " * 12 + MASKED),
        ("l", "", " " * 28 + "CHIP"),
        ("l", "", "STAN 000042" + " " * 7 + "INVOICE 000007"),
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


def test_declined_customer_copy_french():
    tr = table("fr")
    r = result(approved=False, amount=100051, entry="swipe", rc="51", result_text=tr["rc_51"])
    lines = list(sale_receipt(FakeParams(), tr, r, "customer"))
    texts = [t for _, _, t in lines]
    assert ("c", "B", "VENTE") in lines
    assert ("c", "B", "REFUSEE") in lines
    assert ("c", "", "PROVISION INSUFF.") in lines
    assert ("r", "B", "1 000,51 DZD") in lines
    assert ("l", "", "CODE REP." + " " * 21 + "51") in lines
    assert ("l", "", " " * 27 + "PISTE") in lines
    assert not [t for t in texts if t.startswith(tr["r_auth"])]     # no auth line on a decline
    assert not [t for t in texts if "ACCEPTEE" in t]
    assert texts[-3:] == ["TICKET CLIENT", "TICKET A CONSERVER", "MERCI"]
    assert "TICKET COMMERCANT" not in texts


def test_no_rrn_line_without_rrn():
    r = result(approved=False, rc="91", result_text="BANK UNAVAILABLE")
    r["rrn"] = ""
    texts = [t for _, _, t in sale_receipt(FakeParams(), table("en"), r, "customer")]
    assert not [t for t in texts if t.startswith("RRN")]
    assert "BANK UNAVAILABLE" in texts


def all_receipts():
    long_p = FakeParams()
    long_p.merchant_name = "M" * 32
    long_p.merchant_address = ["A" * 40, "B"]
    for lang in LANGUAGES:
        tr = table(lang)
        for p in (FakeParams(), long_p):
            for approved in (True, False):
                for amount in (0, 5, 12345678, 999999999999):
                    for entry in ("swipe", "chip", "tap", "manual"):
                        for copy in ("merchant", "customer"):
                            r = result(approved, amount, entry, "00" if approved else "05",
                                       tr["rc_00"] if approved else tr["rc_05"])
                            yield lang, copy, list(sale_receipt(p, tr, r, copy))


def test_widths_and_styles():
    n = 0
    for lang, copy, lines in all_receipts():
        for align, style, text in lines:
            assert align in ("l", "c", "r"), (lang, align)
            assert style in ("", "b", "B"), (lang, style)
            assert len(text) <= 32, (lang, text)
            if style == "B":
                assert len(text) <= 16, (lang, text)    # double width
        n += 1
    assert n == len(LANGUAGES) * 2 * 2 * 4 * 4 * 2


def test_masked_pan_present_full_pan_never():
    for lang, copy, lines in all_receipts():
        joined = "\n".join(t for _, _, t in lines)
        assert MASKED in joined, (lang, copy)
        assert PAN not in joined
        assert PAN[6:12] not in joined   # the hidden middle digits


def test_copy_label():
    for lang in LANGUAGES:
        tr = table(lang)
        m = [t for _, _, t in sale_receipt(FakeParams(), tr, result(), "merchant")]
        c = [t for _, _, t in sale_receipt(FakeParams(), tr, result(), "customer")]
        assert tr["r_merchant_copy"] in m and tr["r_customer_copy"] not in m
        assert tr["r_customer_copy"] in c and tr["r_merchant_copy"] not in c
        assert c[-2:] == [tr["r_keep"], tr["r_thanks"]]


def test_amount_formatted_with_currency():
    tr = table("en")
    for amount, text, style in ((0, "0,00 DZD", "B"), (5, "0,05 DZD", "B"),
                                (999999999999, "9 999 999 999,99 DZD", "b")):
        lines = list(sale_receipt(FakeParams(), tr, result(amount=amount), "merchant"))
        assert ("r", style, text) in lines


def test_tid_and_mid_printed_in_full_every_language():
    # The terminal and merchant IDs identify the sale on the receipt: neither may be cut off.
    for lang in LANGUAGES:
        tr = table(lang)
        joined = "\n".join(t for _, _, t in sale_receipt(FakeParams(), tr, result(), "merchant"))
        assert "WASL0001" in joined, lang
        assert "000000000000001" in joined, (lang, joined.split("\n")[3])
