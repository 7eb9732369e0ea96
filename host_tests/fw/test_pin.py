# wasl.ui.pin.enter_pin: masked entry, CLEAR, CANCEL, time-out, bypass, length rules, and the digits
# never left behind in the prompt's own buffer.
import asyncio

from wasl.ui import pin
from wasl.ui.screen import CANCELLED, TIMED_OUT


class ScriptedUi:
    """Keys from a list (None: time-out); every frame shown is kept."""

    def __init__(self, keys, cols=20):
        self.keys = list(keys)
        self.frames = []
        self.states = []
        self.beeps = []
        self.cols = cols

    def state(self, s):
        self.states.append(s)

    def beep(self, tone):
        self.beeps.append(tone)

    def t(self, key):
        return key.upper()

    def fit(self, s, align):
        return s

    def lr(self, left, right):
        return left + " " + right

    def show(self, *rows, align="l"):
        self.frames.append(rows)

    async def key(self, timeout_s):
        return self.keys.pop(0) if self.keys else None


def run(keys, bypass=False):
    ui = ScriptedUi(keys)
    got = asyncio.run(pin.enter_pin(ui, "SALE", "125,00 DZD", 30, bypass))
    return got, ui


def test_digits_masked_and_returned_as_bytearray():
    got, ui = run(["1", "2", "3", "4", "OK"])
    assert isinstance(got, bytearray) and got == bytearray(b"1234")
    assert ui.states == ["pin"]
    shown = " ".join(" ".join(f) for f in ui.frames)
    assert "1234" not in shown and "****" in shown
    assert [f[2] for f in ui.frames] == ["", "*", "**", "***", "****"]


def test_clear_removes_the_last_digit():
    got, _ = run(["1", "2", "9", "CLEAR", "3", "4", "OK"])
    assert got == bytearray(b"1234")


def test_too_short_is_refused_and_the_entry_goes_on():
    got, ui = run(["1", "2", "3", "OK", "4", "OK"])
    assert got == bytearray(b"1234")
    assert "error" in ui.beeps and any(f[1] == "PIN_SHORT" for f in ui.frames)


def test_at_most_twelve_digits():
    got, ui = run(["7"] * 13 + ["OK"])
    assert got == bytearray(b"7" * 12) and ui.beeps == ["error"]


def test_cancel_and_timeout():
    assert run(["1", "2", "CANCEL"])[0] == CANCELLED
    assert run(["1", "2"])[0] == TIMED_OUT


def test_bypass_only_where_allowed():
    assert run(["OK"], bypass=True)[0] == ""
    got, ui = run(["OK", "1", "2", "3", "4", "OK"], bypass=False)
    assert got == bytearray(b"1234") and ui.beeps == ["error"]


def test_the_prompt_keeps_no_digit():
    # every bytearray the prompt makes, other than the one it returns, is all zeros afterwards
    made = []

    def spy(n):
        b = bytearray(n)
        made.append(b)
        return b
    pin.bytearray = spy
    try:
        for keys in (["5", "6", "7", "8", "OK"], ["5", "6", "7", "8", "CANCEL"], ["5", "6", "7"]):
            del made[:]
            got, _ = run(keys)
            left = [b for b in made if b is not got]
            assert left and all(not any(b) for b in left), left
    finally:
        del pin.bytearray
