# What the merchant menu's entries share: the supervisor PIN, the checks a menu transaction passes
# first, and the screen of a host exchange that failed with nothing at stake. Loaded with the entry
# that needs it (wasl.txn.merchant).
try:
    from micropython import const
except ImportError:  # CPython
    def const(x):
        return x

from wasl import unload
from wasl.ui.prompts import enter_digits
from wasl.ui.screen import CANCELLED, TIMED_OUT

_LOCK_FILE = const("supervisor.json")
_MAX_FAILS = const(3)
_LOCK_S = const(300)


async def supervisor(term, title):
    """True when the supervisor PIN is right. Three wrong entries lock it for five minutes, across
    reboots (the failure count is stored)."""
    import sys

    loaded = "wasl.store" not in sys.modules   # loaded for the PIN's lock: it leaves RAM after it
    from wasl import store

    try:
        return await _supervisor(term, title, store)
    finally:
        store = None
        if loaded:
            unload("wasl.store")


async def _supervisor(term, title, store):
    import binascii
    import hashlib

    from wasl import log

    ui = term.ui
    p = term.params
    root = term.hw.storage_root
    now = term.hw.clock.time()
    lock = store.load(root, _LOCK_FILE, None) or {"fails": 0, "until": 0}
    if lock["until"] > now:
        await ui.message([title, ui.t("pin_locked")], 3, "error", "pin_locked")
        return False
    pin = await enter_digits(ui, title, ui.t("supervisor_pin"), 4, 8, p.idle_timeout_s, masked=True)
    if pin in (CANCELLED, TIMED_OUT):
        return False
    ok = binascii.hexlify(hashlib.sha256(pin.encode()).digest()).decode() == p.supervisor_pin_sha256
    pin = None
    if ok:
        if lock["fails"]:
            store.save(root, _LOCK_FILE, {"fails": 0, "until": 0})
        return True
    lock["fails"] += 1
    if lock["fails"] >= _MAX_FAILS:
        lock = {"fails": 0, "until": now + _LOCK_S}
        log.warn("supervisor", "PIN locked for %d s", _LOCK_S)
    store.save(root, _LOCK_FILE, lock)
    await ui.message([title, ui.t("wrong_pin")], 3, "error", "wrong_pin")
    return False


async def gate(term, title, pin=True):
    """What every menu transaction checks first: the supervisor PIN (when asked), then no pending
    reversal. Returns None to go on, or the outcome that stops it."""
    if pin and not await supervisor(term, title):
        return {"outcome": "refused"}
    # the payment code is loaded once the PIN is right, not under the PIN prompt
    from wasl.txn.sale import ensure_no_reversal

    if not await ensure_no_reversal(term):
        return {"outcome": "reversal_pending"}
    return None


async def link_failed(term, title, e, state="no_reply"):
    """The host could not be reached or answered wrongly: say why; nothing was at stake."""
    ui = term.ui
    reason = getattr(e, "reason", "invalid")
    await ui.message([title, ui.t("link_" + reason)], term.params.result_timeout_s, "error", state)
    return {"outcome": "no_reply", "reason": reason}
