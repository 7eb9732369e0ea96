# The application: boot (board -> parameters -> idle screen) and the idle loop that starts transactions.
import asyncio
import gc
import sys

from wasl import VERSION, log, unload, unload_package
from wasl.host.iso8583 import Codec
from wasl.host.link import Link, tls_context
from wasl.txn.batch import Batch
from wasl.txn.journal import Journal
from wasl.txn.sale import Terminal, card_transaction
from wasl.ui.screen import DIGITS, Ui

_MENU_MODULE = "wasl.txn.merchant"
# Boot-only modules, dropped by name once used (a snapshot of sys.modules would cost a block of its own).
_BOOT_PARAMS = ("wasl.params",)
_BOOT_RECOVERY = ("wasl.recovery", "wasl.txn.journal_tools")


def idle_rows(term):
    ui = term.ui
    _, lt = term.times()
    clock = "%02d/%02d %02d:%02d" % (lt[2], lt[1], lt[3], lt[4])
    warn = ui.t("keys_missing") if term.keys is None and term.params.keys_required else ""
    return (ui.lr(ui.t("app_title"), clock), term.params.merchant_name, warn, ui.t("idle_hint"))


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


async def merchant_menu(term):
    """The menu's flows (wasl.txn.merchant and what it imports) are loaded for the visit only."""
    before = set(sys.modules)
    try:
        await __import__(_MENU_MODULE, None, None, ("menu",)).menu(term)
    finally:
        unload_since(before)


def load_keys(hw):
    """The DUKPT key store (PIN blocks and MACs), or None: no secure storage on this board, no key
    injected, or a damaged state (the terminal then needs a key injection: docs/keys.md)."""
    if hw.secure_storage is None or not hw.secure_storage.get("kbpk"):
        # no key block protection key, so no key: the key store (and the names it would intern for
        # good) is not even loaded
        log.warn("keys", "no key block protection key: no PIN entry, no MAC")
        return None
    from wasl.crypto.keystore import KeyStore, KeyStoreError

    ks = KeyStore(hw.secure_storage, inbox=hw.key_inbox)
    try:
        loaded = ks.load()
        unload("wasl.crypto.tr31")     # loaded only if a key block waited in the inbox: done with it
        if loaded:
            st = ks.status()
            log.info("keys", "%s, KSN %s, key check value %s", st["scheme"], st["ksn"], st["ik_kcv"])
            return ks
        log.warn("keys", "no DUKPT key injected: no PIN entry, no MAC")
    except KeyStoreError as e:
        log.error("keys", "key store unusable (%s): %s", e.reason, e)
    ks = KeyStore = KeyStoreError = None
    unload_package("wasl.crypto")      # no key: the cryptography leaves RAM
    return None


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
    del pm
    unload(*_BOOT_PARAMS)    # the checker leaves RAM before the rest of boot needs it
    ui.set_language(p.language)
    from wasl import recovery

    journal = Journal(hw.journal_root, powerfail=hw.powerfail)
    recovery.repair_journal(journal)
    term = Terminal(hw, p, Batch(journal), codec, Link.from_params(ctx, p), ui, load_keys(hw))
    p.host_ca = None   # parsed into the TLS context: the DER copy is not needed again
    log.info("boot", "Wasl %s terminal %s ready, batch %06d", VERSION, p.terminal_id, term.batch.number)
    await recovery.recover(term)
    del recovery
    unload(*_BOOT_RECOVERY)   # boot-only code leaves RAM
    await idle_loop(term)


def main(board):
    # Boot-only code is imported once and dropped first of all: the names it interns stay for good, and
    # belong below the long-lived blocks, not scattered among boot's short-lived objects.
    for name in _BOOT_PARAMS + _BOOT_RECOVERY + ("wasl.host.spec",):
        __import__(name)
    unload(*_BOOT_PARAMS + _BOOT_RECOVERY)
    # The long-lived large blocks next, while the heap is still in one piece.
    gc.collect()
    from wasl.host.spec import SPEC

    codec = Codec(SPEC)
    del SPEC
    unload("wasl.host.spec")   # the codec keeps its own table
    ctx = tls_context()
    hw = board.build()
    hw.trace("boot", VERSION)
    code = 0
    try:
        asyncio.run(_main(hw, codec, ctx))
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


async def _main(hw, codec, ctx):
    asyncio.get_event_loop().set_exception_handler(_task_failed(hw))
    io = hw.start()           # the board's own tasks (input readers, device pollers)
    try:
        await run(hw, codec, ctx)
    finally:
        if io is not None:
            io.cancel()
