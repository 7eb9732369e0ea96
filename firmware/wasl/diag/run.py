# The self-test runner: runs the parts asked for, one module at a time, and prints the report as one
# line of JSON followed by its signature (the technician's CLI, tools/diag.py, reads both):
#   WASL-DIAG-REPORT {"format": "wasl-diag/1", "terminal_id": ..., "parts": [...]}
#   WASL-DIAG-SIGNATURE {"alg": "HMAC-SHA256", "kbpk_kcv": ..., "mac": ...}
# Progress lines start with "diag: ". Started over the REPL (mpremote exec), the application stopped:
#   from wasl.diag.run import main; main("storage,clock", nonce="1f2e...", wait_s=30)
import gc
import json
import sys

from wasl import VERSION, unload
from wasl.diag import FAIL, PARTS, SKIPPED, iso_utc

from wasl.events import ticks_diff, ticks_ms   # the ports' tick functions, or their CPython stand-ins

FORMAT = "wasl-diag/1"
REPORT = "WASL-DIAG-REPORT "
SIGNATURE = "WASL-DIAG-SIGNATURE "


class Ctx:
    """What a part gets: the board, the parameters (None when unusable: param_error names the
    parameter), the time a human is given for an interactive part, and a way to tell the technician."""

    def __init__(self, hw, wait_s=30, out=None):
        self.hw = hw
        self.wait_s = wait_s
        self.params = None
        self.param_error = None
        self.terminal_id = None
        self.out = out or sys.stdout

    def say(self, msg):
        self.out.write("diag: %s\n" % msg)

    def show(self, *rows):
        """The terminal's own display tells the technician what to do (when it has one)."""
        lcd = self.hw.lcd
        if lcd is not None:
            rows = list(rows[:lcd.rows])
            lcd.show(rows + [""] * (lcd.rows - len(rows)))


def part_names(spec):
    """"storage,clock" (or None: all) -> the names in the order of PARTS; ValueError names an unknown one."""
    known = [p for p, _ in PARTS]
    if not spec:
        return known
    want = [s.strip() for s in spec.split(",") if s.strip()]
    for w in want:
        if w not in known:
            raise ValueError("unknown part %r (%s)" % (w, ",".join(known)))
    return [p for p in known if p in want]


def load_params(ctx):
    from wasl import params as pm

    try:
        ctx.params = pm.load(ctx.hw.storage_root)
    except pm.ParamError as e:
        ctx.param_error = e.param
        from wasl import store

        try:            # the report still names the terminal, unchecked
            tid = (store.load(ctx.hw.storage_root, "params.json") or {}).get("terminal_id")
            ctx.terminal_id = tid if isinstance(tid, str) else None
        except (ValueError, AttributeError):
            pass
    pm = None
    unload("wasl.params")


def _unload_since(before):
    """Drop the modules imported since the snapshot: each part's code (and what it loaded: the key store,
    the EMV kernel, the link...) leaves RAM before the next part."""
    new = [n for n in sys.modules if n not in before]
    new.sort(reverse=True)      # submodules before their package
    unload(*new)


async def run_parts(ctx, names):
    """[{"part", "verdict", "detail", "ms", "facts"?}] for each name, in order."""
    out = []
    modules = dict(PARTS)
    for name in names:
        ctx.say(name + " ...")
        gc.collect()
        before = set(sys.modules)
        t0 = ticks_ms()
        try:
            mod = __import__("wasl.diag." + modules[name], None, None, (name,))
            r = await getattr(mod, name)(ctx)
        except Exception as e:   # a part that breaks is that part's failure, not the report's
            r = (FAIL, "%s: %s" % (type(e).__name__, e))
        mod = None
        entry = {"part": name, "verdict": r[0], "detail": r[1], "ms": ticks_diff(ticks_ms(), t0)}
        if len(r) > 2 and r[2]:
            entry["facts"] = r[2]
        r = None
        out.append(entry)
        _unload_since(before)
        before = None
        gc.collect()
        ctx.say("%s %s: %s" % (name, entry["verdict"], entry["detail"]))
    return out


def report(ctx, parts, nonce, board_error=None):
    """The report object (its JSON text is what gets signed)."""
    hw = ctx.hw
    p = ctx.params
    count = {}
    for e in parts:
        count[e["verdict"]] = count.get(e["verdict"], 0) + 1
    r = {"format": FORMAT, "terminal_id": p.terminal_id if p else ctx.terminal_id, "board": hw.name if hw else None,
         "firmware": VERSION, "nonce": nonce, "parts": parts, "summary": count}
    if hw is not None and hw.clock is not None:
        r["time"] = iso_utc(hw.clock)
    if board_error:
        r["board_error"] = board_error
    return r


async def run(hw, names, nonce="", wait_s=30, out=None):
    """Run the parts on a built board: (report text, signature object or None without a KBPK)."""
    from wasl.crypto.util import wipe
    from wasl.diag import sign

    ctx = Ctx(hw, wait_s, out)
    load_params(ctx)
    io = hw.start()          # the board's input tasks (keypad scan, reader): the interactive parts use them
    try:
        parts = await run_parts(ctx, names)
    finally:
        if io is not None:
            io.cancel()
    key, kcv = sign.derived_key(hw.secure_storage, sign.REPORT)
    rep = report(ctx, parts, nonce)
    rep["kbpk_kcv"] = kcv
    text = json.dumps(rep)
    if key is None:
        return text, None
    try:
        return text, sign.signature(key, kcv, text)
    finally:
        wipe(key)


def _check_nonce(nonce):
    nonce = str(nonce or "")
    if len(nonce) > 64 or any(c not in "0123456789abcdefABCDEF" for c in nonce):
        raise ValueError("nonce: up to 64 hex digits")
    return nonce


def main(parts=None, nonce="", wait_s=30):
    """The REPL entry point: build the board, run, print the report and its signature."""
    import asyncio

    try:
        from wasl.watchdog import park
        park()        # a deployed terminal's WDT outlives mpremote's soft reset: an hour for the session
    except ImportError:   # no machine.WDT (unix port, CPython)
        pass

    names = part_names(parts)
    nonce = _check_nonce(nonce)
    out = sys.stdout
    try:
        import board

        hw = board.build()
    except Exception as e:   # a board that cannot be built still gets a (signed if possible) report
        ctx = Ctx(None, wait_s, out)
        parts = [{"part": n, "verdict": SKIPPED, "detail": "no board"} for n in names]
        text = json.dumps(report(ctx, parts, nonce, "%s: %s" % (type(e).__name__, e)))
        out.write(REPORT + text + "\n")
        out.write(SIGNATURE + "null\n")
        return
    text, sig = asyncio.run(run(hw, names, nonce, wait_s, out))
    out.write(REPORT + text + "\n")
    out.write(SIGNATURE + json.dumps(sig) + "\n")
