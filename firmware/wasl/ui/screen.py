# Screens on a character display (rows x cols) and the prompts that read the keypad.
# The UI shows and asks; it never talks to the host or the printer.
from wasl.money import format_amount
from wasl.ui import strings

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

_MAX_DIGITS = const(10)   # 99 999 999,99 DZD: the keypad never accepts more digits

DIGITS = "0123456789"

# What a prompt returns when it does not get its answer (also the keys of their messages).
CANCELLED = "cancelled"
TIMED_OUT = "timeout"


class Ui:
    def __init__(self, hw, lang="fr"):
        self.hw = hw
        self.lcd = hw.lcd
        self.rows = hw.lcd.rows
        self.cols = hw.lcd.cols
        self.events = hw.events
        self.set_language(lang)

    def set_language(self, lang):
        """lang: the merchant's language. The screens show it, except Arabic on a display that cannot
        draw it (its `arabic` attribute false: the HD44780, or a graphic display without the glyph
        screen wasl.ui.glyphs.Screen): French then (self.shown)."""
        self.lang = lang
        shown = lang
        if lang in strings.RTL and not getattr(self.lcd, "arabic", True):
            shown = strings.DEFAULT
        self.shown = shown
        self.tr = strings.table(shown)
        self.rtl = shown in strings.RTL
        rl = strings.receipt_language(lang)
        # the receipts' words (self.rtr): the screen's, unless the printer cannot print that script
        self.rtr = self.tr if rl == shown else strings.table(rl, keep=shown)
        self._visual = None
        if self.rtl:
            from wasl.ui.arabic import visual

            self._visual = visual

    def t(self, key):
        return self.tr.get(key, key)

    def state(self, name):
        self.hw.trace("state", name)

    def beep(self, tone):
        self.hw.beep(tone)

    def fit(self, s, align):
        s = s[:self.cols]
        pad = self.cols - len(s)
        if align == "c":
            return " " * (pad // 2) + s + " " * (pad - pad // 2)
        if align == "r":
            return " " * pad + s
        return s + " " * pad

    def show(self, *rows, align="l"):
        out = []
        v = self._visual
        if v is not None and align != "c":      # a right-to-left screen starts at the right
            align = "l" if align == "r" else "r"
        for i in range(self.rows):
            row = rows[i] if i < len(rows) else ""
            out.append(self.fit(v(row) if v is not None else row, align))
        self.lcd.show(out)

    def lr(self, left, right):
        """One row with `left` flush left and `right` flush right."""
        gap = self.cols - len(left) - len(right)
        return left + " " * max(1, gap) + right if gap >= 1 else (left + " " + right)[:self.cols]

    def money(self, minor, params):
        return format_amount(minor, params.currency_exponent) + " " + params.currency_alpha

    async def key(self, timeout_s):
        """The next key pressed, or None after timeout_s. Other events (a card at a keypad prompt)
        are dropped."""
        while True:
            ev = await self.events.get(timeout_s * 1000)
            if ev is None:
                return None
            if ev[0] == "key":
                return ev[1]

    async def message(self, rows, timeout_s, tone=None, state=None):
        """Show rows until a key is pressed or timeout_s passes. Returns the key or None."""
        if state:
            self.state(state)
        self.show(*rows, align="c")
        if tone:
            self.beep(tone)
        return await self.key(timeout_s)

    async def enter_amount(self, params, title, first_key=None, limit=None):
        """Amount in minor units, or CANCELLED / TIMED_OUT.

        Digits shift in from the right (typing 1 2 5 0 0 shows 125,00); CLEAR removes the last digit,
        CANCEL leaves, OK confirms. Zero, an amount above the parameter maximum and an 11th digit are
        refused with a message and a beep; what was typed stays."""
        self.state("amount")
        digits = ""
        err = note = ""
        pending = first_key
        while True:
            amount = int(digits) if digits else 0
            self.show(title, err or self.t("enter_amount"),
                      self.fit(self.money(amount, params), "r"), note or self.t("ok_cancel"))
            err = note = ""
            if pending is not None:
                k, pending = pending, None
            else:
                k = await self.key(params.idle_timeout_s)
            if k is None:
                return TIMED_OUT
            if k in DIGITS:
                if len(digits) >= _MAX_DIGITS:
                    err = self.t("too_many_digits")
                    self.beep("error")
                elif digits or k != "0":
                    digits += k
            elif k == "CLEAR":
                digits = digits[:-1]
            elif k == "CANCEL":
                return CANCELLED
            elif k == "OK":
                if amount <= 0:
                    err = self.t("amount_zero")
                    self.beep("error")
                elif amount > (limit or params.amount_max):
                    err = self.t("amount_too_high")
                    note = self.t("amount_max") + " " + format_amount(limit or params.amount_max,
                                                                      params.currency_exponent)
                    self.beep("error")
                else:
                    return amount

    async def wait_card(self, params, title, amount, prompt=None):
        """The card reader's data (a dict: "entry" swipe/chip/tap, and "track2" for a swipe; "manual" when
        F2 asks for key entry and the parameters allow it), or CANCELLED / TIMED_OUT. prompt: a message
        key instead of "insert, swipe or tap"."""
        self.state("card")
        manual = params.manual_entry and not prompt
        self.show(title, self.fit(self.money(amount, params), "r"), self.t(prompt or "present_card"),
                  self.t("manual_hint") if manual else "" if prompt else self.t("present_card2"))
        while True:
            ev = await self.events.get(params.card_timeout_s * 1000)
            if ev is None:
                return TIMED_OUT
            if ev[0] == "card":
                return ev[1]
            if ev[0] == "key" and ev[1] == "CANCEL":
                return CANCELLED
            if ev[0] == "key" and ev[1] == "F2" and manual:
                return {"entry": "manual"}
