# Bilingual (FR + AR) receipts: wasl.txn.receipt's Arabic lines (the same translation keys as the French
# lines) and wasl.drivers.escpos_arabic printing them, in the printer's CP864 code page or as narrow GS v 0
# raster drawn with font16. The bytes are checked on the wire, the raster rows against font16's dots.
import framebuf

from fwtest import MASKED_PAN, FakeParams, txn
from wasl.drivers.escpos import EscPos
from wasl.drivers.escpos_arabic import Bilingual, cp864
from wasl.txn.receipt import txn_receipt
from wasl.ui import font16
from wasl.ui.arabic import visual
from wasl.ui.strings import table

PAN = "4761739001010010"
STAMP = "20260705100807"


class Uart:
    def __init__(self):
        self.data = bytearray()
        self.writes = []

    def write(self, b):
        self.data += bytes(b)
        self.writes.append(len(b))
        return len(b)

    def flush(self):
        pass


def record(approved=True, **extra):
    rc = "00" if approved else "05"
    t = txn("sale", s=42, i=7, b=1, a=150000, m="chip", t=STAMP, rc=rc, r="000000123456",
            au="A1B2C3" if approved else "", aid="A0000000031010", cv="pin")
    t.update(extra)
    return t


def bilingual(t, copy="c"):
    return list(txn_receipt(FakeParams(), table("fr"), t, copy, ar=table("ar")))


def is_arabic(style):
    return "a" in style


def test_without_arabic_table_the_receipt_is_unchanged():
    t = record()
    plain = list(txn_receipt(FakeParams(), table("fr"), t, "c"))
    assert [ln for ln in bilingual(t) if not is_arabic(ln[1])] == plain
    assert not [ln for ln in plain if is_arabic(ln[1])]


def test_every_labelled_line_is_followed_by_its_arabic_words():
    ar = table("ar")
    fr = table("fr")
    got = bilingual(record())
    arabic = [ln for ln in got if is_arabic(ln[1])]
    # the words of the customer copy, in French order, each once in Arabic
    want = ["r_tid", "r_mid", None, "sale", "r_card", "r_entry_chip", "r_aid", None, "r_stan", "r_rrn",
            "r_auth", "r_rc", "r_amount", "approved", "r_pin_ok", "r_customer_copy", "r_keep", "r_thanks"]
    texts = [x for _, _, x in arabic]
    assert len(texts) == len(want), texts
    for k, x in zip(want, texts):
        if k:
            assert x == ar[k], (k, x)
    assert texts[2] == ar["r_date"] + " / " + ar["r_time"]
    assert texts[7] == ar["r_batch"] + " / " + ar["r_invoice"]
    for i, ln in enumerate(got):
        if is_arabic(ln[1]):
            prev = got[i - 1]
            assert not is_arabic(prev[1]) and prev[2], (prev, ln)   # right under its French line
            # titles stay centred and big, labels go flush right (where Arabic starts reading)
            assert ln[0] == ("c" if prev[0] == "c" else "r"), (prev, ln)
            assert ln[1] == ("aB" if prev[1] == "B" else "a"), (prev, ln)
            # only words: no value (card, amount, numbers) is repeated in Arabic
            for ch in ln[2]:
                assert not ("0" <= ch <= "9"), ln
    assert ("c", "B", fr["sale"]) in got and ("c", "aB", ar["sale"]) in got


def test_merchant_copy_and_decline_are_bilingual_too():
    ar = table("ar")
    m = [x for _, s, x in bilingual(record(), "m") if is_arabic(s)]
    assert m[-1] == ar["r_merchant_copy"] and ar["r_keep"] not in m
    d = [x for _, s, x in bilingual(record(approved=False, rc="51"), "c") if is_arabic(s)]
    assert ar["declined"] in d and ar["rc_51"] in d and ar["r_auth"] not in d
    d = [x for _, s, x in bilingual(record(approved=False, rc="N7"), "c") if is_arabic(s)]
    assert ar["rc_refused"] in d                      # a code without its own words: the generic ones
    dup = [x for _, s, x in bilingual(record(), "d") if is_arabic(s)]
    assert ar["r_duplicate"] in dup


def test_no_card_data_beyond_the_masked_pan():
    for copy in ("m", "c", "d"):
        for _, _, text in bilingual(record(), copy):
            assert PAN not in text and "=" not in text
        assert [x for _, _, x in bilingual(record(), copy) if MASKED_PAN in x]


def test_cp864_table():
    # spot checks from the code page's chart; the whole table is rebuilt from CPython's codec in
    # host_tests/test_arabic_receipt_png.py
    assert cp864(0xFE8D) == 0xC7 and cp864(0xFE8E) == 0xA8           # alef isolated, final
    assert cp864(0xFEDF) == 0xE4 and cp864(0xFEE0) == 0xE4           # lam initial; medial -> initial
    assert cp864(0xFE90) == 0xA9                                       # beh final -> isolated
    assert cp864(0xFEFB) == 0x9D                                       # lam-alef
    assert cp864(ord("A")) == 0x41 and cp864(ord(" ")) == 0x20
    assert cp864(0x0628) == 0x3F                                       # an unshaped letter: "?"


def test_code_page_line_on_the_wire():
    u = Uart()
    b = Bilingual(EscPos(u, arabic_codepage=37))
    word = table("ar")["r_amount"]
    b.arabic(word, "r")
    v = visual(word)
    body = bytes(cp864(ord(c)) for c in v)
    assert bytes(u.data) == (b"\x1bt\x25" + b"\x1ba\x02" + b"\x1bE\x00" + b"\x1d!\x00" + body + b"\n"
                             + b"\x1bt\x00")
    assert 0x3F not in body                                            # every form found in CP864
    u2 = Uart()
    b = Bilingual(EscPos(u2, codepage=16, arabic_codepage=37))
    b.arabic(word, "c", big=True)
    assert bytes(u2.data[:12]) == b"\x1bt\x25\x1ba\x01\x1bE\x00\x1d!\x11"
    assert bytes(u2.data).endswith(b"\n\x1bt\x10")                     # back to the Latin code page


def test_raster_line_is_only_as_wide_as_the_words():
    u = Uart()
    b = Bilingual(EscPos(u))
    word = table("ar")["r_card"]
    v = visual(word)
    w = font16.width(v)
    nb = (w + 7) // 8
    b.arabic(word, "r")
    d = bytes(u.data)
    assert d[:3] == b"\x1ba\x02"                                       # the printer places it flush right
    assert d[3:11] == bytes([0x1D, 0x76, 0x30, 0, nb, 0, 24, 0])
    assert len(d) == 11 + nb * 24
    # the rows are font16's dots, flush right in the image, one row below the 4 pad rows
    buf = bytearray(nb * 24)
    fb = framebuf.FrameBuffer(buf, nb * 8, 24, framebuf.MONO_HLSB)
    font16.draw(fb, v, nb * 8 - w, 5)
    assert d[11:] == bytes(buf)


def test_whole_receipt_text_and_raster():
    lines = bilingual(record())
    ut, ur = Uart(), Uart()
    Bilingual(EscPos(ut, arabic_codepage=37)).print_lines(iter(lines))
    Bilingual(EscPos(ur)).print_lines(iter(lines))
    t, r = bytes(ut.data), bytes(ur.data)
    for d in (t, r):
        assert d.startswith(b"\x1b@") and d.endswith(b"\x1bd\x03\x1dV\x01")
        assert b"TICKET CLIENT" in d and b"ACCEPTEE" in d
    n_ar = len([ln for ln in lines if is_arabic(ln[1])])
    assert t.count(b"\x1bt\x25") == n_ar and b"\x1dv0" not in t
    assert r.count(b"\x1dv0") >= n_ar and b"\x1bt" not in r
    assert len(t) < len(r) < 4 * len(t) + 16000
    # the raster goes out a row at a time: nothing larger than a band is ever written
    assert max(ur.writes) <= 48 * 24
