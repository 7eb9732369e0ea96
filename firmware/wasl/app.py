# The application: boot (board -> parameters -> idle screen) and the idle loop that starts transactions.
import asyncio
import gc
import sys

import wasl
from wasl import VERSION, log
from wasl.host.iso8583 import Codec
from wasl.host.link import Link, tls_context
from wasl.host.spec import SPEC
from wasl.txn.batch import Batch
from wasl.txn.journal import Journal
from wasl.txn.sale import Terminal, card_transaction, print_receipts
from wasl.ui.screen import DIGITS, Ui

_MENU_MODULE = "wasl.txn.merchant"


def idle_rows(term):
    ui = term.ui
    _, lt = term.times()
    clock = "%02d/%02d %02d:%02d" % (lt[2], lt[1], lt[3], lt[4])
    return (ui.lr(ui.t("app_title"), clock), term.params.merchant_name, "", ui.t("idle_hint"))


async def idle_loop(term):
    ui = term.ui
    shown = None
    ui.state("idle")
    while True:
        rows = idle_rows(term)
        if rows != shown:
            ui.show(*rows)
            shown = rows
        ev = await term.hw.events.get(1000)
        if ev is None or ev[0] != "key":
            continue
        k = ev[1]
        if k in DIGITS or k == "OK":
            await card_transaction(term, "sale", k if k in DIGITS else None)
        elif k in ("MENU", "F1"):
            await merchant_menu(term)
        else:
            continue
        term.link.rearm()
        term.hw.events.clear()
        shown = None
        ui.state("idle")


async def merchant_menu(term):
    """The menu's flows are loaded for the visit and dropped after it."""
    import wasl.txn

    mod = __import__(_MENU_MODULE, None, None, ("menu",))
    try:
        await mod.menu(term)
    finally:
        del mod
        sys.modules.pop(_MENU_MODULE, None)
        try:
            del wasl.txn.merchant
        except AttributeError:
            pass


async def recover(term):
    """After a reboot the journal decides: a pending reversal is sent first; an approved transaction
    whose receipts were not all printed is offered for printing."""
    b = term.batch
    if b.pending is not None:
        log.warn("boot", "reversal pending for stan %06d", b.pending["s"])
        from wasl.txn.online import clear_reversal

        term.ui.state("reversal")
        await clear_reversal(term, term.progress(term.ui.t("reversal")))
    t = b.current
    if t is not None and t.get("rc") == "00" and "rev" not in t:
        missing = "".join(c for c in "mc" if c not in t.get("pc", ""))
        if missing:
            ui = term.ui
            log.warn("boot", "stan %06d approved, copies %s not printed", t["s"], missing)
            key = await ui.message([ui.t(t["ty"]), ui.t("approved"), ui.fit(ui.money(t["a"], term.params), "r"),
                                    ui.t("unprinted")], term.params.result_timeout_s, "error", "unprinted")
            if key != "CANCEL":
                await print_receipts(term, t, missing)


async def out_of_service(ui, err):
    """Parameters unusable: say so, name the parameter, and wait for a technician."""
    log.error("boot", "out of service: %s", err)
    ui.state("error")
    ui.show(ui.t("out_of_service"), ui.t("param_error"), err.param, "")
    while True:
        await ui.events.get()


async def run(hw, codec, ctx):
    ui = Ui(hw)
    from wasl import params as pm

    try:
        p = pm.load(hw.storage_root)
    except pm.ParamError as e:
        await out_of_service(ui, e)
        return
    # boot-only code leaves RAM (the Params object stays)
    del pm, sys.modules["wasl.params"], wasl.params
    ui.set_language(p.language)
    journal = Journal(hw.journal_root, powerfail=hw.powerfail)
    cut = journal.repair()
    if cut:
        log.warn("boot", "journal: %d bytes of a torn record dropped", cut)
    term = Terminal(hw, p, Batch(journal), codec, Link.from_params(ctx, p), ui)
    gc.collect()
    log.info("boot", "Wasl %s terminal %s ready, batch %06d", VERSION, p.terminal_id, term.batch.number)
    await recover(term)
    await idle_loop(term)


def main(board):
    # The long-lived large blocks first, while the heap is still in one piece.
    gc.collect()
    codec = Codec(SPEC)
    ctx = tls_context()
    hw = board.build()
    hw.trace("boot", VERSION)
    code = 0
    try:
        asyncio.run(_main(hw, codec, ctx))
    except SystemExit:  # the board asked to stop (wasl.events.EventQueue.stop)
        pass
    except Exception as e:
        log.exception("app", "fatal error", e)
        code = 1
    hw.shutdown(code)


async def _main(hw, codec, ctx):
    io = hw.start()           # the board's own tasks (input readers, device pollers)
    try:
        await run(hw, codec, ctx)
    finally:
        if io is not None:
            io.cancel()
