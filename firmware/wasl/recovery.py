# What happens after a reboot, before the idle screen: the journal decides. Boot-only: the module is
# dropped from RAM once the terminal is idle.
from wasl import log
from wasl.txn.batch import approved
from wasl.txn.online import clear_reversal


async def recover(term):
    """After a reboot the journal decides: a pending reversal is sent first; an approved transaction
    whose receipts were not all printed is offered for printing."""
    b = term.batch
    t = b.current
    if t is not None and t.get("rc") == "00" and "aid" in t and "cok" not in t and "crd" not in t:
        # a chip approval the card never confirmed (power lost before its second GENERATE AC answered):
        # the outcome was not shown, the card holds no TC: reverse it
        log.warn("boot", "stan %06d approved but not completed by the card", t["s"])
        b.record({"e": "crd", "s": t["s"]})
    if b.pending is not None:
        log.warn("boot", "reversal pending for stan %06d", b.pending["s"])
        term.ui.state("reversal")
        await clear_reversal(term, term.progress(term.ui.t("reversal")))
    if t is not None and approved(t) and "rev" not in t:
        missing = "".join(c for c in "mc" if c not in t.get("pc", ""))
        if missing:
            ui = term.ui
            log.warn("boot", "stan %06d approved, copies %s not printed", t["s"], missing)
            key = await ui.message([ui.t(t["ty"]), ui.t("approved"), ui.fit(ui.money(t["a"], term.params), "r"),
                                    ui.t("unprinted")], term.params.result_timeout_s, "error", "unprinted")
            if key != "CANCEL":
                from wasl.txn.receipt import print_receipts    # loaded to print, unloads itself

                await print_receipts(term, t, missing)
