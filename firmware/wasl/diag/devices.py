# Self-tests of the devices a person sees and touches: display pattern, printer test page and paper,
# keypad (press each key), card reader (present a card: its AID and masked PAN only).
# The interactive parts give the technician ctx.wait_s seconds and say SKIPPED when nothing happened.
from wasl import VERSION
from wasl.diag import FAIL, PASS, SKIPPED, iso_utc

try:
    from time import sleep_ms, ticks_add, ticks_diff, ticks_ms
except ImportError:  # CPython
    import time

    def sleep_ms(ms):
        time.sleep(ms / 1000)

    def ticks_ms():
        return int(time.monotonic() * 1000)

    def ticks_diff(a, b):
        return a - b

    def ticks_add(a, b):
        return a + b

# The keys every Wasl keypad has; a board with more names them in hw.keypad_keys.
KEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "OK", "CANCEL", "CLEAR")
_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def pattern(rows, cols):
    """Every cell lit on the first row, the character set on the next, the geometry on the last."""
    out = ["#" * cols]
    i = 0
    while len(out) < rows - 1:
        out.append((_CHARS[i:] + _CHARS)[:cols])
        i = (i + cols) % len(_CHARS)
    tag = "WASL %dx%d" % (cols, rows)
    out.append((" " * ((cols - len(tag)) // 2) + tag)[:cols])
    return out[:rows]


async def display(ctx):
    lcd = ctx.hw.lcd
    if lcd is None:
        return SKIPPED, "absent"
    lcd.show(pattern(lcd.rows, lcd.cols))
    return PASS, "%dx%d test pattern shown: check every cell by eye" % (lcd.cols, lcd.rows), \
        {"rows": lcd.rows, "cols": lcd.cols}


def paper_status(printer, wait_ms=300):
    """"ok", "near_end", "out" or "unknown": the board's own reading (printer.paper()) if it has one,
    else ESC/POS real-time status DLE EOT 4 (paper roll sensor) on a UART that can be read."""
    own = getattr(printer, "paper", None)
    if own is not None:
        return own()
    u = getattr(printer, "uart", None)
    if u is None or not hasattr(u, "read") or not hasattr(u, "any"):
        return "unknown"
    while u.any():
        u.read()
    u.write(b"\x10\x04\x04")
    deadline = ticks_add(ticks_ms(), wait_ms)
    while not u.any():
        if ticks_diff(deadline, ticks_ms()) <= 0:
            return "unknown"
        sleep_ms(10)
    b = u.read(1)[0]
    if b & 0x93 != 0x12:          # bits 1 and 4 set, 0 and 7 clear: a status byte
        return "unknown"
    if b & 0x60:
        return "out"
    if b & 0x0C:
        return "near_end"
    return "ok"


async def printer(ctx):
    pr = ctx.hw.printer
    if pr is None:
        return SKIPPED, "absent"
    paper = paper_status(pr)
    facts = {"paper": paper}
    if paper == "out":
        return FAIL, "paper out: no test page", facts
    p = ctx.params
    cols = getattr(pr, "cols", 32)
    lines = [("c", "B", "WASL"), ("c", "b", "TEST PAGE"), ("l", "", "-" * cols),
             ("l", "", "terminal %s" % (p.terminal_id if p else "?")), ("l", "", "firmware %s" % VERSION),
             ("l", "", iso_utc(ctx.hw.clock))]
    for i in range(0, len(_CHARS), cols):
        lines.append(("l", "", _CHARS[i:i + cols]))
    lines += [("l", "", "-" * cols), ("c", "", "END OF TEST PAGE")]
    pr.print_lines(lines)
    return PASS, "test page printed; paper %s" % (paper if paper != "unknown" else "sensor not read"), facts


async def _event(ctx, deadline, kinds):
    """The next event of these kinds before the deadline (ticks), or None."""
    ev_q = ctx.hw.events
    while True:
        left = ticks_diff(deadline, ticks_ms())
        if left <= 0:
            return None
        ev = await ev_q.get(left)
        if ev is not None and ev[0] in kinds:
            return ev


async def keypad(ctx):
    hw = ctx.hw
    if hw.events is None:
        return SKIPPED, "absent"
    left = list(getattr(hw, "keypad_keys", None) or KEYS)
    total = len(left)
    hw.events.clear()
    ctx.say("keypad: press each key within %d s: %s" % (ctx.wait_s, " ".join(left)))
    deadline = ticks_add(ticks_ms(), int(ctx.wait_s * 1000))
    while left:
        ctx.show("KEYPAD TEST", "press each key:", " ".join(left), "")
        ev = await _event(ctx, deadline, ("key",))
        if ev is None:
            break
        if ev[1] in left:
            left.remove(ev[1])
            ctx.say("keypad: %s ok, %d left" % (ev[1], len(left)))
    facts = {"keys": total, "missing": left}
    if not left:
        ctx.show("KEYPAD TEST", "all keys OK")
        return PASS, "all %d keys seen" % total, facts
    if len(left) == total:
        return SKIPPED, "no key pressed in %d s" % ctx.wait_s, facts
    return FAIL, "not seen: %s" % " ".join(left), facts


def _pan_digits(b):
    """PAN from tag 5A (compressed numeric, F-padded) or from track 2 equivalent data (57, up to D)."""
    from binascii import hexlify

    h = hexlify(bytes(b)).decode().upper()
    for stop in "DF":
        k = h.find(stop)
        if k >= 0:
            h = h[:k]
    return h


async def _chip(ctx, entry):
    """Select the card's application and read its records (EMV Book 1 12, Book 3 10.1-10.2) with the
    kernel: the AID, label and masked PAN. No GENERATE AC: the card's counters do not move."""
    hw = ctx.hw
    if hw.reader is None:
        return FAIL, "a %s card, but this board has no chip reader" % entry
    from wasl import store
    from wasl.card import mask_pan
    from wasl.emv.apdu import CardError
    from wasl.emv.appdata import read_application_data
    from wasl.emv.kernel import Kernel
    from wasl.emv.tlv import TlvError

    params = store.load(hw.storage_root, "emv.json")
    if not isinstance(params, dict):
        return FAIL, "no EMV terminal data (emv.json)"

    async def first(labels):
        return 0
    k = Kernel(hw.reader, params, entry, choose=first)
    now = hw.clock.gmtime(int(hw.clock.time()))
    try:
        k._terminal_data(0, now, 0, 0, 0)
        await k.application_selection()
        await read_application_data(k)
        pan = k.icc.get(0x5A) or k.icc.get(0x57)
        masked = mask_pan(_pan_digits(pan)) if pan else None
        aid, label = k.result.aid, k.result.label
    except CardError as e:
        return FAIL, "%s card: %s" % (entry, e.key), {"entry": entry}
    except TlvError as e:
        return FAIL, "%s card: bad data (%s)" % (entry, e), {"entry": entry}
    finally:
        k.wipe()
    facts = {"entry": entry, "aid": aid, "label": label, "pan": masked}
    if masked is None:
        return FAIL, "%s card %s: no PAN in its records" % (entry, aid), facts
    return PASS, "%s, AID %s (%s), PAN %s" % (entry, aid, label, masked), facts


async def card(ctx):
    hw = ctx.hw
    hw.events.clear()
    ctx.say("card: insert, tap or swipe a card within %d s" % ctx.wait_s)
    ctx.show("CARD TEST", "insert, tap or", "swipe a card")
    ev = await _event(ctx, ticks_add(ticks_ms(), int(ctx.wait_s * 1000)), ("card",))
    if ev is None:
        return SKIPPED, "no card presented in %d s" % ctx.wait_s
    data = ev[1]
    entry = data.get("entry", "swipe")
    if "track2" not in data:
        r = await _chip(ctx, entry)
    else:
        from wasl.card.track2 import parse_track2

        try:
            c = parse_track2(data["track2"], entry)
        except ValueError as e:     # wasl.card.CardError: the message key only, never the data
            return FAIL, "%s: %s" % (entry, getattr(e, "key", "card_read_error")), {"entry": entry}
        facts = {"entry": entry, "pan": c.masked_pan, "service_code": c.service_code}
        c.wipe()
        data.clear()
        r = PASS, "%s, PAN %s" % (entry, facts["pan"]), facts
    ctx.show("CARD TEST", r[0], "remove the card")
    return r
