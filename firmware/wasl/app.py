# The application: boot (board -> parameters -> idle screen; its steps in wasl.startup, loaded for boot
# only) and the idle loop that starts transactions.
import asyncio
import sys

from wasl import VERSION, log, unload
from wasl.host.link import tls_context
from wasl.ui.screen import DIGITS, Ui

# Code loaded for a visit is named by a string, not imported by statement: a statement would intern its
# dotted name for good (the name table's pools are what a chip sale runs short of), a string is freed
# with this module.
_MENU_MODULE = "wasl.txn.merchant"
# What the merchant chose in the menu's settings (its language), on the board's storage: not in
# params.json, which the terminal's manager writes (and may sign); it wins over the parameter.
SETTINGS = "settings.json"
# The payment code is loaded for a card transaction and dropped after it (wasl.txn.sale and what it
# imports for good), so that the key store's refill at idle, the menu and a transaction never share RAM.
_TXN_MODULES = ("wasl.txn.sale", "wasl.txn.online", "wasl.host.messages", "wasl.card")


class Terminal:
    """What a transaction needs: hardware, parameters, batch (journal), codec, link, UI and keys
    (wasl.crypto.txnkeys.KeySupply, or None)."""

    def __init__(self, hw, params, batch, codec, link, ui, keys=None):
        self.hw = hw
        self.params = params
        self.batch = batch
        self.codec = codec
        self.link = link
        self.ui = ui
        self.keys = keys
        self.advice_due = 0       # clock time of the next try to send pending advices
        self.tms_due = 1 if getattr(params, "tms_interval_s", 0) else 0   # next TMS visit (0: none)

    def times(self):
        """(utc, local) time tuples from the board clock and the terminal's time-zone offset."""
        t = self.hw.clock.time()
        return self.hw.clock.gmtime(t), self.hw.clock.gmtime(t + self.params.tz_offset_min * 60)

    def progress(self, title, line2=""):
        ui = self.ui

        def show(stage):
            ui.show(title, line2, "", ui.t(stage), align="c")
        return show


def idle_rows(term):
    ui = term.ui
    _, lt = term.times()
    clock = "%02d/%02d %02d:%02d" % (lt[2], lt[1], lt[3], lt[4])
    title = ui.t("app_title")
    net = term.link.net     # the network link and its signal bars next to the title: "W3" (Wi-Fi), "G2" (GSM)
    if net is not None:
        title += " " + (ui.t("net_" + net.cur) + "%d" % net.bars if net.cur else "--")
    if term.keys is None and term.params.keys_required:
        warn = ui.t("keys_missing")
    elif term.batch.advices:       # offline approvals the host has not been told of yet
        warn = ui.lr(ui.t("advices_pending"), "%d" % len(term.batch.advices))
    elif net is not None and net.cur is None and net.order:
        warn = ui.t("net_none")
    else:
        warn = ""
    return (ui.lr(title, clock), term.params.merchant_name, warn, ui.t("idle_hint"))


async def idle_loop(term):
    ui = term.ui
    shown = None
    ui.state("idle")
    while True:
        if term.link.net is not None:
            await term.link.net.check()     # link status, failover and back (wasl.net.Links)
        rows = idle_rows(term)
        if rows != shown:
            ui.show(*rows)
            shown = rows
        if term.batch.advices and term.hw.clock.time() >= term.advice_due:
            await advices(term)
            shown = None
            ui.state("idle")
            continue
        if term.tms_due and term.hw.clock.time() >= term.tms_due and await tms(term):
            shown = None
            ui.state("idle")
            continue
        ev = await term.hw.events.get(1000)
        if ev is None or ev[0] != "key":
            continue
        k = ev[1]
        if k in DIGITS or k == "OK":
            await sale(term, k if k in DIGITS else None)
        elif k in ("MENU", "F1"):
            await merchant_menu(term)
        else:
            continue
        term.link.rearm()
        top_up_keys(term)
        term.advice_due = 0         # a sale approved offline is told to the host at once
        term.hw.events.clear()
        shown = None
        ui.state("idle")


def unload_since(before):
    """Drop the modules imported since the snapshot `before` (a set of names): code loaded for a visit
    to the menu, or for booting, leaves RAM. Objects still referenced stay alive."""
    for name in list(sys.modules):
        if name in before:
            continue
        mod = sys.modules.pop(name)
        parent, _, child = name.rpartition(".")
        pkg = sys.modules.get(parent)
        if pkg is not None and getattr(pkg, child, None) is mod:
            delattr(pkg, child)


async def sale(term, first_key):
    # an import statement, not __import__("wasl.txn.sale"): its names are interned anyway (the sale
    # interns them), where a string constant would be an object in RAM for as long as this module lives
    try:
        from wasl.txn.sale import card_transaction

        await card_transaction(term, "sale", first_key)
    finally:
        card_transaction = None
        unload(*_TXN_MODULES)


async def advices(term):
    """Store and forward: send what the host is owed (wasl.txn.advice, loaded for it). On failure the
    next try is offline.retry_s later."""
    ui = term.ui
    ui.state("advice")
    before = set(sys.modules)
    try:
        done = await __import__("wasl.txn.advice", None, None, ("send",)).send(
            term, term.progress(ui.t("advice"), "%d" % len(term.batch.advices)))
    finally:
        unload_since(before)
    term.link.rearm()
    term.advice_due = 0 if done else term.hw.clock.time() + term.params.advice_retry_s


async def tms(term, asked=False):
    """Terminal management (wasl.tms.session, loaded for the visit): parameters, software, status. A
    failure to load or run it (no memory for it, a fault) is logged and the visit is tried again five
    minutes later: never fatal, or a terminal would reset at every idle screen."""
    before = set(sys.modules)
    try:
        return await __import__("wasl.tms.session", None, None, ("run",)).run(term, asked)
    except Exception as e:
        log.exception("tms", "visit failed", e)
        term.tms_due = term.hw.clock.time() + 300
        return True             # the screen may have changed: redraw the idle screen
    finally:
        unload_since(before)
        term.link.rearm()


async def merchant_menu(term):
    """The menu's flows (wasl.txn.merchant and what it imports) are loaded for the visit only."""
    before = set(sys.modules)
    try:
        await __import__(_MENU_MODULE, None, None, ("menu",)).menu(term)
    finally:
        unload_since(before)


def top_up_keys(term):
    """Back at idle: prepare the working keys of the next requests while nobody waits. A terminal
    whose key store fails (counter exhausted, state damaged) keeps what is ready, then has no keys."""
    keys = term.keys
    if keys is None:
        return
    try:
        keys.refill()
    except Exception as e:       # KeyStoreError, or the storage failing: logged, never fatal here
        log.error("keys", "no new transaction keys (%s): %s", getattr(e, "reason", "error"), e)
    if not len(keys):
        term.keys = None


async def run(hw, codec, ctx, keys):
    """Boot's steps (wasl.startup, dropped once the terminal is up), then the idle loop. Nothing of boot
    is left in this frame, which lives as long as the terminal (see wasl.startup.boot)."""
    ui = Ui(hw)
    from wasl import startup

    term = startup.boot(hw, codec, ctx, keys, ui)
    if not isinstance(term, Terminal):
        await startup.out_of_service(hw, ui, term)
        return
    await startup.recover(term)
    startup.confirm_trials(hw.storage_root)
    unload(startup.__name__)
    startup = None
    await idle_loop(term)


def main(hw, keys):
    """hw: the board's hardware (wasl.hw.Hardware); keys: what wasl.keyload.load made of the key store."""
    ctx = tls_context()     # the largest long-lived block (3 KB), while the heap is still in one piece
    from wasl import startup

    codec = startup.prepare()
    startup = None
    hw.trace("boot", VERSION)
    code = 0
    try:
        asyncio.run(_main(hw, codec, ctx, keys))
    except SystemExit:  # the board asked to stop (wasl.events.EventQueue.stop), or a task failed
        code = 1 if _failed else 0
    except Exception as e:
        log.exception("app", "fatal error", e)
        code = 1
    hw.shutdown(code)


_failed = []


def _task_failed(hw):
    """A background task (keypad scan, reader, link) that dies would leave a terminal that shows the idle
    screen but no longer reacts: log it and stop the application (a device then resets)."""

    def handler(loop, context):
        log.exception("app", "task failed", context["exception"])
        _failed.append(1)
        hw.events.stop()
    return handler


async def _main(hw, codec, ctx, keys):
    asyncio.get_event_loop().set_exception_handler(_task_failed(hw))
    io = hw.start()           # the board's own tasks (input readers, device pollers)
    wd = hw.watchdog
    wd = asyncio.create_task(wd.run()) if wd is not None else None   # fed while the loop turns
    try:
        await run(hw, codec, ctx, keys)
    finally:
        if wd is not None:
            wd.cancel()
        if io is not None:
            io.cancel()
