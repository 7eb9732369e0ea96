# SETTLEMENT from the merchant menu (wasl.txn.merchant): pending advices first, the 0500 with the batch
# totals, the batch upload (0320) when the host asks for it (95) and the final 0500, then the Z report
# and the batch closed (journal "set", compacted). Loaded when chosen. Each phase runs in a coroutine
# that returns, and what it loaded leaves RAM before the next: the PIN's prompts, then the host's
# messages, then the report's code.
from wasl import log, unload


async def settle(term):
    ui = term.ui
    p = term.params
    b = term.batch
    title = ui.t("settle")
    stop = await _check(term, title)
    unload("wasl.txn.gate", "wasl.ui.prompts")
    if stop:
        return stop
    rc = await _with_host(term, title)
    unload("wasl.host.admin")
    if isinstance(rc, dict):
        return rc
    from wasl.host.messages import APPROVED
    from wasl.ui.strings import text_key

    if rc != APPROVED:
        await ui.message([ui.t("settle_failed"), ui.t(text_key(rc, ui.tr)), "(%s)" % rc], p.result_timeout_s,
                         "error", "settle_failed")
        return {"outcome": "declined", "rc": rc}
    await _z_report(term)
    unload("wasl.txn.receipt", "wasl.txn.report")
    from wasl.txn.batchops import settle as close

    closed = b.number
    close(b)   # journal "set", then compact
    log.info("settle", "batch %06d closed", closed)
    await ui.message([title, ui.t("settled"), "%06d" % closed], p.result_timeout_s, "ok", "settled")
    return {"outcome": "settled", "batch": closed}


async def _check(term, title):
    """The supervisor PIN, no pending reversal, a batch that is not empty: None to go on, or the
    outcome that stops the settlement."""
    from wasl.txn.gate import gate

    stop = await gate(term, title)
    if stop:
        return stop
    if term.batch.count == 0:
        await term.ui.message([title, term.ui.t("batch_empty")], 5, "error", "batch_empty")
        return {"outcome": "batch_empty"}
    return None


async def _with_host(term, title):
    """Advices, the 0500, the batch upload and the final 0500 when the host asks for it: the host's
    last response code, or the outcome that stops the settlement."""
    from wasl.host import admin
    from wasl.host.iso8583 import CodecError
    from wasl.host.link import LinkError
    from wasl.host.messages import APPROVED
    from wasl.txn import online
    from wasl.txn.batch import OFFLINE, approved
    from wasl.txn.batchops import transactions

    ui = term.ui
    p = term.params
    b = term.batch
    ui.state("online")
    progress = term.progress(title, ui.t("settling"))
    if b.advices:
        # the host must know every sale approved offline first; if it cannot be told, the supervisor
        # may force the settlement: the batch upload then carries those sales with their card data
        from wasl.txn.advice import send

        if not await send(term, term.progress(title, ui.t("advice"))):
            key = await ui.message([title, ui.t("advices_pending"), "%d" % len(b.advices), ui.t("force_q")],
                                   p.idle_timeout_s, "error", "advices_pending")
            if key != "OK":
                return {"outcome": "advices_pending"}
            log.warn("settle", "forced with %d advice(s) pending", len(b.advices))
        ui.state("online")
    try:
        rc = await _settle_exchange(term, False, progress)
        if rc == "95":
            ui.state("uploading")
            for t in transactions(b):
                if t["ty"] != "void" and approved(t) and not t.get("voided") and not t.get("reversed"):
                    utc, _ = term.times()
                    _, up = await online.exchange(term, "0320", admin.batch_upload(p, t, utc),
                                                  term.progress(title, ui.t("uploading")))
                    if t["rc"] == OFFLINE and "adv" not in t:
                        # a forced settlement: the host takes this upload as the advice, and its code
                        # as the advice's answer (a refusal takes the sale out of the totals)
                        b.record({"e": "adv", "s": t["s"], "rc": up[39], "r": ""})
                    elif up[39] != APPROVED:
                        rc = up[39]
                        break
            else:
                rc = await _settle_exchange(term, True, progress)
    except (LinkError, CodecError) as e:
        from wasl.txn.gate import link_failed

        return await link_failed(term, ui.t("settle_failed"), e, "settle_failed")
    return rc


async def _settle_exchange(term, after_upload, progress):
    from wasl.host import admin
    from wasl.txn import online
    from wasl.txn.batchops import take_stan

    b = term.batch
    utc, _ = term.times()
    stan = take_stan(b)
    _, rep = await online.exchange(term, "0500", admin.settlement(term.params, stan, b.number,
                                                                      b.totals_field(), utc, after_upload),
                                   progress)
    return rep[39]


async def _z_report(term):
    """The Z report (the batch's totals, settled), printed. Its frame, and the report's tables with it,
    go when it returns."""
    from wasl.host.messages import stamp
    from wasl.txn.receipt import tables
    from wasl.txn.report import totals_report
    from wasl.txn.receipt import print_copy, receipt_printer

    ui = term.ui
    p = term.params
    _, local = term.times()
    ui.state("printing")
    tr, ar = tables(ui, p)
    await print_copy(term, lambda: totals_report(p, tr, term.batch, stamp(local), True, ar=ar), None,
                     receipt_printer(term, ar))
