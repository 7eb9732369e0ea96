# The PIN prompt. Loaded for a PIN entry only. The digits go into one bytearray, never into a str, are
# shown as '*', and are handed to the code that enciphers them (which zeroes the buffer); anything that
# ends the entry otherwise zeroes it here.
from wasl.ui.screen import CANCELLED, DIGITS, TIMED_OUT

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

_MIN = const(4)     # ISO 9564-1: 4 to 12 digits
_MAX = const(12)


async def enter_pin(ui, title, amount, timeout_s, bypass=False):
    """A bytearray of the PIN's ASCII digits; "" when OK is pressed on no digit and `bypass` allows it
    (EMV PIN bypass); CANCELLED or TIMED_OUT. CLEAR removes the last digit. amount: the text shown."""
    ui.state("pin")
    buf = bytearray(_MAX)
    n = 0
    err = ""
    try:
        while True:
            ui.show(ui.lr(title, amount), err or ui.t("enter_pin"), ui.fit("*" * n, "c"), ui.t("pin_hint"))
            err = ""
            k = await ui.key(timeout_s)
            if k is None:
                return TIMED_OUT
            if k in DIGITS:
                if n < _MAX:
                    buf[n] = ord(k)
                    n += 1
                else:
                    ui.beep("error")
            elif k == "CLEAR":
                if n:
                    n -= 1
                    buf[n] = 0
            elif k == "CANCEL":
                return CANCELLED
            elif k == "OK":
                if n == 0 and bypass:
                    return ""
                if _MIN <= n:
                    out = bytearray(n)
                    out[:] = memoryview(buf)[:n]
                    return out
                err = ui.t("pin_short")
                ui.beep("error")
    finally:
        for i in range(_MAX):
            buf[i] = 0
