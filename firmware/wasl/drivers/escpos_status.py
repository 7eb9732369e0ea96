# ESC/POS real-time status (DLE EOT n) on the printer's UART, for the print path: read before a
# receipt (do not start one on paper out or an open cover) and after it (a failed print offers a
# reprint). Loaded only when printing; the resident driver (escpos.py) knows nothing of it.
#
#   query        answer bits (Epson ESC/POS "DLE EOT n", the same on the common 58 mm clones)
#   10 04 01     printer status:     bit 3 offline
#   10 04 02     offline cause:      bit 2 cover open, bit 5 printing stopped by paper end, bit 6 error
#   10 04 04     roll paper sensor:  bits 2+3 paper near end, bits 5+6 paper end (no paper)
#
# Every answer byte has bits 1 and 4 set and bits 0 and 7 clear (0x12 under the mask 0x93); any other
# byte (line noise, an answer left over from an earlier query, a printer's XON/XOFF) is skipped.
# The printer answers even while it is offline or its buffer is full, within a few milliseconds; no
# answer within timeout_ms means no printer (unplugged, off, or a board wired without the RX line).
#
#   read(uart) / await aread(uart)  -> Status(paper_out, paper_low, cover_open, offline, error, mute)
#   problem(status)                 -> None, or the translation key of what the merchant must fix
#   printable(uart)                 -> True when it can print
# docs/printer.md says how the print path uses it.
try:
    from micropython import const
except ImportError:
    def const(x):
        return x

try:
    from time import sleep_ms as _sleep_ms
except ImportError:  # CPython
    import time

    def _sleep_ms(ms):
        time.sleep(ms / 1000)

try:
    from asyncio import sleep_ms as _asleep_ms
except ImportError:  # CPython
    import asyncio

    async def _asleep_ms(ms):
        await asyncio.sleep(ms / 1000)

try:
    from collections import namedtuple
except ImportError:  # pragma: no cover - old MicroPython builds
    from ucollections import namedtuple

_MASK = const(0x93)        # the fixed bits of every answer byte...
_FIXED = const(0x12)       # ...and their values
_OFFLINE = const(0x08)     # n=1 bit 3
_COVER = const(0x04)       # n=2 bit 2
_PAPER_STOP = const(0x20)  # n=2 bit 5
_ERROR = const(0x40)       # n=2 bit 6
_NEAR_END = const(0x0C)    # n=4 bits 2, 3
_END = const(0x60)         # n=4 bits 5, 6
_STEP_MS = const(5)        # polling period while waiting for an answer
TIMEOUT_MS = 200           # the printer answers in a few ms; 200 ms covers a busy UART

# one query per status kind, as constants (no allocation per query)
_QUERY = {1: b"\x10\x04\x01", 2: b"\x10\x04\x02", 3: b"\x10\x04\x03", 4: b"\x10\x04\x04"}

# mute: the printer did not answer at all (then every other field is a guess: offline True)
Status = namedtuple("Status", ("paper_out", "paper_low", "cover_open", "offline", "error", "mute"))
MUTE = Status(False, False, False, True, False, True)


def _read1(uart, one):
    """One byte from the UART, or None: readinto a 1-byte buffer when the UART has it, else read(1)."""
    if one is not None:
        n = uart.readinto(one, 1)
        return one[0] if n else None
    b = uart.read(1)
    return b[0] if b else None


def _drain(uart, one):
    """Drop whatever waits in the receive buffer: an earlier query's late answer must not be taken
    for this one's."""
    while uart.any():
        if _read1(uart, one) is None:
            break


def _query(uart, n, timeout_ms, one):
    """Generator: send DLE EOT n, then yield the ms to wait between polls until a valid answer byte
    came (returned) or timeout_ms passed (None returned). The sync and async readers drive it."""
    _drain(uart, one)
    uart.write(_QUERY[n])
    waited = 0
    while True:
        while uart.any():
            b = _read1(uart, one)
            if b is None:
                break
            if b & _MASK == _FIXED:
                return b
        if waited >= timeout_ms:
            return None
        yield _STEP_MS
        waited += _STEP_MS


def _read(uart, timeout_ms, settle_ms):
    """Generator: the status queries of read(), yielding waits; returns the Status."""
    if settle_ms:
        yield settle_ms
    one = bytearray(1) if hasattr(uart, "readinto") else None
    s1 = yield from _query(uart, 1, timeout_ms, one)
    if s1 is None:
        return MUTE
    offline = bool(s1 & _OFFLINE)
    s2 = 0
    if offline:
        s2 = yield from _query(uart, 2, timeout_ms, one)
        if s2 is None:
            return MUTE
    s4 = yield from _query(uart, 4, timeout_ms, one)
    if s4 is None:
        return MUTE
    return Status(bool(s4 & _END) or bool(s2 & _PAPER_STOP), bool(s4 & _NEAR_END), bool(s2 & _COVER),
                  offline, bool(s2 & _ERROR), False)


def _run(gen, sleep):
    try:
        while True:
            sleep(next(gen))
    except StopIteration as e:
        return e.value


async def _arun(gen, sleep):
    try:
        while True:
            await sleep(next(gen))
    except StopIteration as e:
        return e.value


def query(uart, n, timeout_ms=TIMEOUT_MS, sleep_ms=None):
    """Send DLE EOT n (n = 1, 2, 3 or 4) and return the printer's answer byte, or None when no valid
    byte came within timeout_ms. `sleep_ms` waits between polls (a virtual clock in tests)."""
    one = bytearray(1) if hasattr(uart, "readinto") else None
    return _run(_query(uart, n, timeout_ms, one), sleep_ms or _sleep_ms)


def read(uart, timeout_ms=TIMEOUT_MS, sleep_ms=None, settle_ms=0):
    """The printer's state as a Status (paper_out, paper_low, cover_open, offline, error, mute):
    DLE EOT 1, then 2 (why offline; asked only when it is) and 4 (paper sensors). MUTE when the
    printer does not answer. settle_ms: wait that long first (after a receipt, the printer is still
    printing what it holds when the UART's flush() returns: paper can run out in that time).
    Blocks for the waits: a few ms with a printer that answers, timeout_ms without."""
    return _run(_read(uart, timeout_ms, settle_ms), sleep_ms or _sleep_ms)


async def aread(uart, timeout_ms=TIMEOUT_MS, sleep_ms=None, settle_ms=0):
    """read() for an asyncio task: the waits are awaited (sleep_ms: an async function of ms), so the
    keypad and the other tasks run meanwhile (and, on the desktop board, the task that delivers the
    printer's answers)."""
    return await _arun(_read(uart, timeout_ms, settle_ms), sleep_ms or _asleep_ms)


def problem(st):
    """Why the printer cannot print, as a translation key, or None when it can. Paper low is no
    problem (a warning the UI may show). The order is the one a merchant fixes things in: an open
    cover also reads as no paper on most printers."""
    if st.mute:
        return "printer_mute"
    if st.cover_open:
        return "printer_cover"
    if st.paper_out:
        return "printer_paper"
    if st.error:
        return "printer_error"
    if st.offline:
        return "printer_offline"    # e.g. paper being fed by the FEED button
    return None


def printable(uart, timeout_ms=TIMEOUT_MS, sleep_ms=None, settle_ms=0):
    """True when the printer answers and is online with paper and its cover closed."""
    return problem(read(uart, timeout_ms, sleep_ms, settle_ms)) is None
