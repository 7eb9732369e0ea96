# Boot's steps after the board and the keys (wasl.boot), up to the idle loop: the parameters, the
# merchant's language, the journal repaired, the links, what a power cut left. Called by wasl.app, loaded
# for boot only and dropped once the terminal is up: none of it (code, strings) stays resident next to
# a transaction.
import gc

from wasl import VERSION, log, unload
from wasl.app import _TXN_MODULES, SETTINGS, Terminal
from wasl.host.iso8583 import Codec
from wasl.host.link import Link
from wasl.txn.batch import Batch
from wasl.txn.journal import Journal

# Boot-only modules, dropped by name once used (a snapshot of sys.modules would cost a block of its own).
_BOOT_PARAMS = ("wasl.params",)
_BOOT_RECOVERY = ("wasl.recovery", "wasl.txn.journal_tools")


def prepare():
    """The codec (its 1 KB buffer, long-lived). Boot-only code is imported once and dropped first of
    all: the names it interns stay for good, and belong below the long-lived blocks, not scattered among
    boot's short-lived objects."""
    for name in _BOOT_PARAMS + _BOOT_RECOVERY + ("wasl.host.spec",):
        __import__(name)
    unload(*_BOOT_PARAMS + _BOOT_RECOVERY + _TXN_MODULES)   # and the payment code recovery imports
    # The long-lived large blocks next, while the heap is still in one piece.
    gc.collect()
    from wasl.host import spec

    codec = Codec(spec.SPEC)
    unload(spec.__name__)   # the codec keeps its own table
    return codec


def merchant_language(root, default):
    """The language saved by the menu's settings (wasl.txn.settings), else `default` (the
    parameter). A damaged or unknown entry is ignored, never fatal."""
    from wasl import store
    from wasl.ui.strings import LANGUAGES

    try:
        saved = store.load(root, SETTINGS, None)
    except ValueError:               # not JSON (a torn write cannot make one: store renames)
        saved = None
    finally:
        unload(store.__name__)
    lang = saved.get("language") if isinstance(saved, dict) else None
    if lang is None:
        return default
    if lang not in LANGUAGES:
        log.warn("boot", "%s: unknown language %r ignored", SETTINGS, lang)
        return default
    return lang


async def out_of_service(hw, ui, err):
    """Parameters unusable: say so, name the parameter, and wait for a technician. A parameter set from
    the TMS on its trial boot is not waited on: the terminal restarts, and the boot puts the previous
    set back (wasl.update.slot.params_trial)."""
    log.error("boot", "out of service: %s", err)
    ui.state("error")
    ui.show(ui.t("out_of_service"), ui.t("param_error"), err.param, "")
    from wasl.events import sleep_ms
    from wasl.update import slot

    if slot.state(hw.storage_root, slot.PTRIAL).get("st") == "boot":
        log.error("boot", "parameters on trial refused: restart on the previous set")
        await sleep_ms(3000)                # the reason stays on the glass a moment
        hw.reset()
    slot = None
    while True:
        await ui.events.get()


def confirm_trials(root):
    """The terminal is at its idle screen: a software version or a parameter set on trial is kept
    (wasl.update.slot). Done here, not at the next TMS call: a reset in between would roll back a
    good version."""
    from wasl.update import slot

    try:
        v = slot.confirm(root)
        if v:
            log.info("update", "version %s reached the idle screen: kept", v)
        v = slot.confirm_params(root)
        if v:
            log.info("tms", "parameters v%s reached the idle screen: kept", v)
    finally:
        slot = None
        unload("wasl.update.slot", "wasl.update")


def boot(hw, codec, ctx, keys, ui):
    """Boot's steps up to the terminal (parameters, language, journal repaired, links), in a plain
    function: its frame goes when it returns, with every boot-only object it held. (A coroutine's frame
    lives as long as the coroutine, and the idle loop never returns: a slot of it still pointing at the
    parameter checker or a boot module kept it alive, 4 KB.) The terminal, or the ParamError."""
    from wasl import params as pm

    try:
        p = pm.load(hw.storage_root)
    except pm.ParamError as e:
        return e
    finally:
        pm = None
        unload(*_BOOT_PARAMS)    # the checker leaves RAM before the rest of boot needs it
    ui.set_language(merchant_language(hw.storage_root, p.language))
    try:
        link = Link.from_params(ctx, p)
    except ValueError as e:     # a CA the TLS stack cannot load: out of service, naming the parameter
        from wasl.params import ParamError

        return ParamError("host.ca", "parameter host.ca: %s" % e)
    journal = Journal(hw.journal_root, powerfail=hw.powerfail)
    # a torn last record (power cut in the middle of a write) is cut off: it never happened (without
    # loading wasl.recovery and the payment code it imports here: recover() does, once this frame and its
    # garbage are gone)
    from wasl.txn.journal_tools import repair

    cut = repair(journal)
    repair = None
    if cut:
        log.warn("boot", "journal: %d bytes of a torn record dropped", cut)
    term = Terminal(hw, p, Batch(journal), codec, link, ui, keys)
    p.host_ca = None   # parsed into the TLS context: the DER copy is not needed again
    if hw.wlan is not None or hw.modem_uart is not None:
        from wasl.net import Links

        links = Links(hw, p)
        # no link configured (no SSID, no APN): the port's own network, as before the link manager
        term.link.net = links if links.order else None
    log.info("boot", "Wasl %s terminal %s ready, batch %06d", VERSION, p.terminal_id, term.batch.number)
    return term


async def recover(term):
    """What a power cut left (wasl.recovery), then boot-only code and the payment code leave RAM."""
    try:
        from wasl.recovery import recover as run

        await run(term)
    finally:
        run = None
        unload(*_BOOT_RECOVERY + _TXN_MODULES)
