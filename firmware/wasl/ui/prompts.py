# Prompts only the merchant menu needs (digits, lists, confirmation): loaded with the menu, not at
# idle, so a terminal selling does not carry them in RAM.
from wasl.ui.screen import CANCELLED, DIGITS, TIMED_OUT


async def enter_digits(ui, title, prompt, min_len, max_len, timeout_s, masked=False, allow_empty=False,
                       wrong_length="too_many_digits"):
    """A string of digits (PIN, invoice number, reference), or CANCELLED / TIMED_OUT.
    masked: shown as '*'. allow_empty: OK on nothing returns "". wrong_length: the message key shown
    when OK is pressed on too few digits."""
    ui.state("digits")
    digits = ""
    err = ""
    while True:
        shown = "*" * len(digits) if masked else digits
        ui.show(title, prompt, ui.fit(shown, "r"), err or ui.t("ok_cancel"))
        err = ""
        k = await ui.key(timeout_s)
        if k is None:
            return TIMED_OUT
        if k in DIGITS:
            if len(digits) < max_len:
                digits += k
            else:
                err = ui.t("too_many_digits")
                ui.beep("error")
        elif k == "CLEAR":
            digits = digits[:-1]
        elif k == "CANCEL":
            return CANCELLED
        elif k == "OK":
            if (allow_empty and not digits) or min_len <= len(digits) <= max_len:
                return digits
            err = ui.t(wrong_length)
            ui.beep("error")

async def choose(ui, title, labels, timeout_s):
    """Index of the chosen entry, or CANCELLED / TIMED_OUT. Digits 1-9 pick directly (0 the tenth);
    UP/DOWN move the cursor, OK takes it."""
    ui.state("menu")
    top = cur = 0
    rows = ui.rows - 1
    while True:
        top = min(max(top, cur - rows + 1), cur)
        lines = [title]
        for i in range(top, min(top + rows, len(labels))):
            lines.append((">" if i == cur else " ") + "%d %s" % ((i + 1) % 10, labels[i]))
        ui.show(*lines)
        k = await ui.key(timeout_s)
        if k is None:
            return TIMED_OUT
        if k in DIGITS and 1 <= (int(k) or 10) <= len(labels):
            return (int(k) or 10) - 1
        if k == "DOWN":
            cur = (cur + 1) % len(labels)
        elif k == "UP":
            cur = (cur - 1) % len(labels)
        elif k == "OK":
            return cur
        elif k == "CANCEL":
            return CANCELLED

async def confirm(ui, rows, timeout_s):
    """True on OK; False on CANCEL or time-out."""
    ui.state("confirm")
    ui.show(*rows)
    while True:
        k = await ui.key(timeout_s)
        if k is None or k in ("OK", "CANCEL"):
            return k == "OK"
