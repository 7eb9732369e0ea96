"""Issue 5, first "done when" point: the interactive `make sim` (tools/simterm.py) does a sale, a void and a
receipt reprint in each language, driven through a real terminal emulator (tmux send-keys / capture-pane)
like a person at the keyboard.

For fr, en and ar, each with its own sim directory: a swiped sale of 125,00 DZD, its void from the merchant
menu (supervisor PIN, invoice 1, confirm), then a reprint of the last receipt. The LCD is checked at each
step, row by row, in that language: the words come from the firmware's translation tables and, for Arabic,
as the glass shows them (wasl.ui.arabic.visual: shaped, in display order, aligned on the right). Then the
receipts saved in DIR/receipts (.txt, .escpos, .png: receipt language French for ar and fr, English for en),
the DUPLICATE stamp of the reprint, and the acquirer ledger: the sale (voided) and the void."""
import ast
import glob
import json
import os
import re
import shlex
import shutil
import sys
import time

import pytest

# The tmux driver and the helpers of the single-sale test (host_tests/ is on sys.path under pytest).
from test_simterm import FULL_PAN, MASKED, PY, ROOT, Tmux, processes_using, strip_status

FIRMWARE = os.path.join(ROOT, "firmware")
if FIRMWARE not in sys.path:
    sys.path.insert(0, FIRMWARE)
from wasl.ui import strings  # noqa: E402
from wasl.ui.arabic import visual  # noqa: E402
from tools.acqsim.ledger import Ledger  # noqa: E402

COLS = 20
LCD_TOP = "+------- LCD --------+"
PIN = "1234"                        # the desktop terminal's supervisor PIN (boards/sim/params.json)
AMOUNT_KEYS = "12500"
AMOUNT = 12500
AMOUNT_TEXT = "125,00 DZD"
ARABIC = re.compile("[\u0600-\u06ff\ufb50-\ufdff\ufe70-\ufeff]")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def menu_items():
    """The merchant menu's entries, in order, read from firmware/wasl/txn/merchant.py (MENU)."""
    with open(os.path.join(FIRMWARE, "wasl", "txn", "merchant.py"), encoding="utf-8") as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "MENU" for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError("no MENU in wasl/txn/merchant.py")


MENU = menu_items()


# What the glass should show ---------------------------------------------------------------------------
class Glass:
    """A language's words as the 4x20 LCD shows them. A row is given as (text, align): "start" is where
    reading starts (left; right for Arabic), "center", "right"; the text is the logical string, and
    for Arabic its visual form (shaped, right to left) is what must be on the screen."""

    def __init__(self, lang):
        self.lang = lang
        self.tr = strings.table(lang)
        self.rtr = strings.table(strings.receipt_language(lang))     # the receipts' words
        self.rtl = lang in strings.RTL

    def t(self, key):
        return self.tr[key]

    def shown(self, text):
        return visual(text) if self.rtl else text

    def row(self, text, align="start"):
        s = self.shown(text)
        assert len(s) <= COLS, "%r is %d columns wide, the LCD has %d" % (s, len(s), COLS)
        if align == "center":
            pad = COLS - len(s)
            return " " * (pad // 2) + s + " " * (pad - pad // 2)
        if align == "right" or (align == "start" and self.rtl):
            return s.rjust(COLS)
        return s.ljust(COLS)

    def screen(self, *rows):
        """Four expected rows: a str is a start-aligned text, a tuple (text, align), None is not checked."""
        out = []
        for r in list(rows) + [""] * (4 - len(rows)):
            if r is None:
                out.append(None)
            elif isinstance(r, tuple):
                out.append(self.row(*r))
            else:
                out.append(self.row(r))
        return out

    def menu_row(self, number, key, cursor=False):
        return (">" if cursor else " ") + "%d %s" % (number, self.t(key))


# The terminal in tmux -----------------------------------------------------------------------------------
def lcd_of(screen):
    """The four LCD rows simterm draws (between the | of its frame), or None if not drawn (yet)."""
    lines = (screen or "").splitlines()
    for i, line in enumerate(lines):
        if line.startswith(LCD_TOP):
            rows = lines[i + 1:i + 5]
            if len(rows) == 4 and all(r.startswith("|") and r[COLS + 1:COLS + 2] == "|" for r in rows):
                return [r[1:COLS + 1] for r in rows]
            return None
    return None


def state_of(screen):
    m = re.search(r"^state: (\S+)", screen or "", re.M)
    return m.group(1) if m else None


class SimTerm:
    """`python -m tools.simterm --lang LANG --dir SIM` in a tmux window, read through capture-pane. Every
    distinct LCD frame seen is kept, so that a failure can show how the terminal got there."""

    def __init__(self, lang, sim, errlog):
        self.lang = lang
        self.sim = sim
        self.errlog = errlog
        self.frames = []                # (state, rows): each distinct frame captured, in order
        self.tmux = Tmux("exec %s -m tools.simterm --lang %s --dir %s 2>%s" % (
            shlex.quote(PY), lang, shlex.quote(sim), shlex.quote(str(errlog))))
        self.last = ""

    def capture(self):
        screen = self.tmux.screen() or ""
        rows, state = lcd_of(screen), state_of(screen)
        if rows and (not self.frames or self.frames[-1] != (state, rows)):
            self.frames.append((state, rows))
        self.last = screen
        return screen

    def press(self, *keys):
        """tmux key names: digits, Enter (OK), BSpace (CLEAR), F1, or simterm's letters (c: swipe)."""
        self.tmux.keys(*keys)

    def why(self):
        log = os.path.join(self.sim, "term", "firmware.log")
        frames = "\n".join("  state %-12s %s" % (s, " ".join("|%s|" % r for r in rows))
                           for s, rows in self.frames[-10:])
        return ("\n--- [%s] screen as captured:\n%s\n--- last LCD frames seen:\n%s\n--- simterm stderr:\n%s"
                "\n--- firmware log (tail):\n%s" % (
                    self.lang, self.last, frames, self.errlog.read_text() if self.errlog.exists() else "",
                    open(log, errors="replace").read()[-1500:] if os.path.exists(log) else ""))

    def wait(self, pred, what, timeout=10):
        """Poll the screen until pred(rows, state, screen); returns (rows, screen)."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.capture()
            rows = lcd_of(screen)
            if rows is not None and pred(rows, state_of(screen), screen):
                return rows, screen
            if not self.tmux.alive():
                pytest.fail("[%s] simterm ended while waiting for %s%s" % (self.lang, what, self.why()))
            if time.monotonic() > deadline:
                pytest.fail("[%s] timed out after %ss waiting for %s%s" % (self.lang, timeout, what, self.why()))
            time.sleep(0.05)

    def wait_state(self, state, what=None, timeout=10):
        return self.wait(lambda rows, st, s: st == state, what or "state %r" % state, timeout)

    def expect(self, expected, what, state=None, timeout=10):
        """Wait until the LCD shows `expected` (4 rows, None = any) in `state` (if given); fail with the
        expected and the captured rows side by side."""
        def match(rows, st, screen):
            return (state is None or st == state) and all(e is None or e == r for e, r in zip(expected, rows))

        deadline = time.monotonic() + timeout
        while True:
            screen = self.capture()
            rows = lcd_of(screen)
            if rows is not None and match(rows, state_of(screen), screen):
                return rows
            if not self.tmux.alive() or time.monotonic() > deadline:
                table = "\n".join("  expected |%s|   shown |%s|" % ("*" * COLS if e is None else e, r)
                                  for e, r in zip(expected, rows or [""] * 4))
                pytest.fail("[%s] the LCD does not show %s%s (state now %s):\n%s%s" % (
                    self.lang, what, "" if state is None else " in state %r" % state, state_of(screen), table,
                    self.why()))
            time.sleep(0.05)

    def receipt_files(self):
        return sorted(os.path.basename(p) for p in glob.glob(os.path.join(self.sim, "receipts", "*")))

    def wait_receipts(self, n, timeout=10):
        want = ["%04d.%s" % (i, ext) for i in range(1, n + 1) for ext in ("escpos", "png", "txt")]
        deadline = time.monotonic() + timeout
        while self.receipt_files() != want:
            if time.monotonic() > deadline:
                self.capture()
                pytest.fail("[%s] receipts: expected %s, found %s%s" % (self.lang, want, self.receipt_files(),
                                                                       self.why()))
            time.sleep(0.05)

    def quit(self):
        self.press("q")
        deadline = time.monotonic() + 15
        while self.tmux.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not self.tmux.alive(), "[%s] simterm did not quit%s" % (self.lang, self.why())
        deadline = time.monotonic() + 5
        while processes_using(self.sim) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert processes_using(self.sim) == [], "[%s] processes left behind" % self.lang


# The test -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", strings.LANGUAGES)
def test_sale_void_reprint(lang, tmp_path):
    if not shutil.which("tmux"):
        pytest.skip("tmux is not installed")
    g = Glass(lang)
    sim = str(tmp_path / "sim")
    term = SimTerm(lang, sim, tmp_path / "simterm.stderr")
    try:
        run(term, g, sim)
    finally:
        term.tmux.kill()
    assert term.errlog.read_text() == "", "[%s] simterm stderr:\n%s" % (lang, term.errlog.read_text())
    check_receipts(g, sim)
    check_ledger(g, sim)


def idle(term, g, what):
    term.wait_state("idle", what, timeout=20)
    with open(os.path.join(term.sim, "term", "params.json"), encoding="utf-8") as f:
        merchant = json.load(f)["merchant_name"]
    term.expect(g.screen(None, merchant, "", g.t("idle_hint")), what, "idle")
    # row 1: the terminal's name at the start of the reading direction, the clock at the other end
    top = lcd_of(term.last)[0]
    clock = re.compile(r"\d\d/\d\d \d\d:\d\d")
    title = g.shown(g.t("app_title"))
    ok = (top.endswith(title) and clock.match(top)) if g.rtl else (top.startswith(title) and clock.search(top)
                                                                   and top.rstrip() == top)
    assert ok, "[%s] %s: first row |%s| should have %r at the %s and the clock at the other end%s" % (
        g.lang, what, top, title, "right" if g.rtl else "left", term.why())


def copy_prompt_and_result(term, g, what, receipts):
    """The host approved (`what`): the merchant copy prints, the customer-copy prompt, OK, the result."""
    approved = g.row(g.t("approved"), "center")
    term.wait(lambda rows, st, s: rows[0] == approved, "the approval screen (%r) after %s" % (
        g.shown(g.t("approved")), what), timeout=15)
    term.expect(g.screen((g.t("approved"), "center"), "", (g.t("customer_copy_q"), "center")),
                "the customer-copy prompt after %s" % what, "copy_prompt")
    term.wait_receipts(receipts - 1)                           # the merchant copy, already saved
    term.press("Enter")
    term.expect(g.screen((g.t("approved"), "center")), "the result after %s" % what, "result")
    term.wait_receipts(receipts)
    term.press("BSpace")        # CLEAR: leaves the result screen at once (and does nothing at idle)


def run(term, g, sim):
    idle(term, g, "the idle screen")

    # a sale --------------------------------------------------------------------------------------------
    term.press(*AMOUNT_KEYS)
    term.expect(g.screen(g.t("sale"), g.t("enter_amount"), (AMOUNT_TEXT, "right"), g.t("ok_cancel")),
                "the amount typed", "amount")
    term.press("Enter")
    term.expect(g.screen(g.t("sale"), (AMOUNT_TEXT, "right"), g.t("present_card"), g.t("present_card2")),
                "the card prompt", "card")
    term.press("c")             # simterm: swipe the next test card, visa_ok (approved by the simulator)
    copy_prompt_and_result(term, g, "the sale", 2)
    idle(term, g, "the idle screen after the sale")

    # its void from the merchant menu ----------------------------------------------------------------
    void_n, reprint_n = MENU.index("void") + 1, MENU.index("reprint") + 1
    term.press("F1")
    term.expect(g.screen(g.t("menu"), g.menu_row(1, MENU[0], cursor=True), g.menu_row(2, MENU[1]),
                         g.menu_row(3, MENU[2])), "the merchant menu", "menu")
    term.press(str(void_n))
    term.expect(g.screen(g.t("void"), g.t("supervisor_pin"), "", g.t("ok_cancel")),
                "the supervisor PIN prompt", "digits")
    term.press(*PIN)
    term.expect(g.screen(g.t("void"), g.t("supervisor_pin"), ("*" * len(PIN), "right"), g.t("ok_cancel")),
                "the supervisor PIN, masked", "digits")
    term.press("Enter")
    term.expect(g.screen(g.t("void"), g.t("enter_invoice"), "", g.t("ok_cancel")), "the invoice prompt",
                "digits")
    term.press("1")
    term.expect(g.screen(g.t("void"), g.t("enter_invoice"), ("1", "right"), g.t("ok_cancel")),
                "the invoice number typed", "digits")
    term.press("Enter")
    term.expect(g.screen(g.t("void"), "%06d  %s" % (1, MASKED[-4:]), (AMOUNT_TEXT, "right"), g.t("confirm")),
                "the void confirmation", "confirm")
    term.press("Enter")
    copy_prompt_and_result(term, g, "the void", 4)
    idle(term, g, "the idle screen after the void")

    # a reprint of the last receipt ------------------------------------------------------------------
    term.press("F1")
    term.expect(g.screen(g.t("menu"), None, None, None), "the merchant menu", "menu")
    term.press(str(reprint_n))
    term.expect(g.screen(g.t("reprint"), g.menu_row(1, "reprint_last", cursor=True),
                         g.menu_row(2, "reprint_invoice")), "the reprint menu", "menu")
    term.press("1")
    term.wait_receipts(5)
    dup = g.rtr["r_duplicate"]
    _, screen = term.wait(lambda rows, st, s: "receipt 0005" in s and dup in s and "receipt 5 saved to" in s,
                          "the reprint (receipt 0005, %r) in simterm's receipt panel" % dup)
    assert FULL_PAN not in screen and MASKED in screen, screen
    idle(term, g, "the idle screen after the reprint")
    term.quit()


def check_receipts(g, sim):
    rtr = g.rtr
    texts, raws = {}, {}
    for n in range(1, 6):
        base = os.path.join(sim, "receipts", "%04d" % n)
        with open(base + ".txt", encoding="utf-8") as f:
            texts[n] = f.read()
        with open(base + ".escpos", "rb") as f:
            raws[n] = f.read()
        with open(base + ".png", "rb") as f:
            assert f.read(8) == PNG_MAGIC, "[%s] %s.png is not a PNG" % (g.lang, base)
    want = {1: ("sale", "r_merchant_copy"), 2: ("sale", "r_customer_copy"), 3: ("void", "r_merchant_copy"),
            4: ("void", "r_customer_copy"), 5: ("void", "r_merchant_copy")}     # 5: the last one, again
    for n, text in texts.items():
        why = "[%s] receipt %04d:\n%s" % (g.lang, n, text)
        for key in want[n]:
            assert rtr[key] in text, "%r (%s) missing from %s" % (rtr[key], key, why)
        assert rtr["approved"] in text and AMOUNT_TEXT in text and MASKED in text, why
        assert (rtr["r_duplicate"] in text) == (n == 5), "only the reprint says %r: %s" % (rtr["r_duplicate"], why)
        assert FULL_PAN not in text and FULL_PAN.encode() not in raws[n], why
        assert strip_status(raws[n]).startswith(b"\x1b@"), why     # after the status queries (DLE EOT n)
        if g.rtl:       # an Arabic terminal prints its receipts in French (no Arabic on the printer yet)
            assert not ARABIC.search(text), "Arabic on a receipt the printer cannot print: " + why
    assert rtr["r_duplicate"].encode() in raws[5], "[%s] the ESC/POS bytes of the reprint lack %r" % (
        g.lang, rtr["r_duplicate"])
    # the reprint is the void's merchant copy, stamped
    lines = texts[5].split("\n")
    stamped = [line for line in lines if line.strip() == rtr["r_duplicate"]]
    assert len(stamped) == 1, "[%s] receipt 0005:\n%s" % (g.lang, texts[5])
    lines.remove(stamped[0])
    assert "\n".join(lines) == texts[3], "[%s] the reprint is not receipt 0003 stamped %r:\n%s\n---\n%s" % (
        g.lang, rtr["r_duplicate"], texts[5], texts[3])


def check_ledger(g, sim):
    with Ledger(os.path.join(sim, "acq", "ledger.sqlite")) as led:
        rows = led.rows()
    show = "\n".join(str({k: r[k] for k in ("id", "mti", "proc_code", "stan", "invoice", "amount", "rc",
                                            "status", "original_id", "pan_masked")}) for r in rows)
    why = "[%s] acquirer ledger:\n%s" % (g.lang, show)
    assert len(rows) == 2, why
    sale, void = rows
    assert (sale["mti"], sale["proc_code"], sale["amount"], sale["invoice"], sale["rc"], sale["status"]) == (
        "0200", "000000", AMOUNT, "000001", "00", "voided"), why
    assert (void["mti"], void["proc_code"], void["amount"], void["invoice"], void["rc"], void["status"]) == (
        "0200", "020000", AMOUNT, "000001", "00", "approved"), why
    assert void["original_id"] == sale["id"], why
    assert sale["pan_masked"] == MASKED, why          # a void names its sale, not the card
    # the void's receipts name the sale it cancels by its reference
    with open(os.path.join(sim, "receipts", "0003.txt"), encoding="utf-8") as f:
        assert re.search(r"%s\s+%s" % (re.escape(g.rtr["r_orig_rrn"]), sale["rrn"]), f.read()), why


def test_settings_switch_the_language_at_once_and_for_good(tmp_path):
    """Issue 5, point 2: the merchant switches the language in the menu's settings (F1, 9, then 3 for
    Arabic): the idle screen is Arabic at once, and still after simterm is restarted with --lang fr (the
    choice is kept in the terminal's settings.json, over the parameter)."""
    if not shutil.which("tmux"):
        pytest.skip("tmux is not installed")
    fr, ar = Glass("fr"), Glass("ar")
    sim = str(tmp_path / "sim")
    for run_no in (1, 2):
        term = SimTerm("fr", sim, tmp_path / ("simterm%d.stderr" % run_no))
        try:
            if run_no == 1:
                idle(term, fr, "the French idle screen")
                term.press("F1")
                term.expect(fr.screen(fr.t("menu"), fr.menu_row(1, "sale", cursor=True), None, None),
                            "the merchant menu", "menu")
                term.press("9")
                term.expect(fr.screen(fr.t("language"), ">1 FRANCAIS *", " 2 ENGLISH", None),
                            "the language list", "menu")
                term.press("3")
            idle(term, ar, "the Arabic idle screen (run %d)" % run_no)
            term.quit()
        finally:
            term.tmux.kill()
        assert term.errlog.read_text() == "", term.errlog.read_text()
