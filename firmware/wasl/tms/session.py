# A call to the terminal management system (docs/tms.md), loaded by wasl.app at idle when one is due
# (parameter tms.interval_min) and by the merchant menu ("TMS call"), dropped after it.
#
#   1. a downloaded bundle is activated at a quiet moment: idle, no reversal pending, no advice owed;
#   2. POST /v1/status: versions, counters, last error, link quality; the reply offers the latest
#      parameter version and software version for this terminal;
#   3. a newer parameter set: signed manifest, files, checks, atomic commit, then a restart on it;
#   4. a newer software version: its signed manifest starts a download into the idle slot; the files
#      come a ranged request at a time, a few seconds per visit to idle (or all at once when the
#      merchant asked for the call), until the bundle is complete and verified.
# tms.json keeps {"next": time of the next call, "calls", "fails", "err": last error, "ok": last success}.
import binascii
import json

from wasl import VERSION, log
from wasl.events import ticks_add, ticks_diff, ticks_ms
from wasl.host.link import LinkError
from wasl.tms.signed import SIG_HEADER, Refused, StorageError, load, save
from wasl.update import slot

STATE = "tms.json"
_RETRY_S = 300             # after a failed call
_SLICE_MS = 3000           # background download per visit to idle
_SOON_S = 2                # next visit while a download is under way


def _p(root, name):
    return root + "/" + name if root else name


def _config(root):
    """The tms block of params.json (checked at boot by wasl.params), or None."""
    doc = load(_p(root, "params.json"))
    t = doc.get("tms") if isinstance(doc, dict) else None
    return t if isinstance(t, dict) else None


def _server(cfg):
    from wasl.host import link
    from wasl.tms.http import Server

    link._reserve = None     # the acquirer link's TLS reserve: wasl.app.tms re-arms it after the call
    return Server(binascii.a2b_base64(cfg["ca"]), cfg["address"], cfg["port"], cfg["server_name"],
                  cfg.get("timeout_s", 30))


def status_report(term, st, sl, rec, pt):
    """What the TMS learns of the terminal: versions, counters, errors. No card data, no key."""
    b = term.batch
    net = term.link.net                        # the link manager (wasl.net.Links), when the board has links
    q = {"link": net.cur, "bars": net.bars, "order": list(net.order)} if net is not None else None
    return {"terminal_id": term.params.terminal_id, "software": VERSION, "slot": sl.get("run"),
            "params": term.params.version, "batch": b.number, "count": b.count,
            "advices": len(b.advices), "reversal_pending": b.pending is not None,
            "keys": term.keys is not None, "calls": st.get("calls", 0), "fails": st.get("fails", 0),
            "last_error": st.get("err"), "rolled_back": sl.get("bad"), "rollbacks": sl.get("rb", 0),
            "params_rolled_back": pt.get("v") if pt.get("st") == "bad" else None,
            "update": rec, "link": q}


def _quiet(term):
    return term.batch.pending is None and not term.batch.advices


async def run(term, asked=False):
    """One visit. Returns True when it showed something (the idle screen is then drawn again). Never
    raises (but SystemExit, the restart of an activation): a fault here must not take the terminal
    down, nor make it restart into the same fault at its first visit to idle."""
    try:
        return await _run(term, asked)
    except Exception as e:
        log.exception("tms", "call failed", e)
        term.tms_due = term.hw.clock.time() + _RETRY_S if term.params.tms_interval_s else 0
        if asked:
            ui = term.ui
            await ui.message([ui.t("tms"), ui.t("tms_failed")], term.params.result_timeout_s, "error",
                             "tms_error")
        return asked


async def _run(term, asked):
    if getattr(term, "tms_asked", False):   # asked from the menu, which has left RAM since
        asked = True
        term.tms_asked = False
    hw = term.hw
    root = hw.storage_root
    now = hw.clock.time()
    st = load(_p(root, STATE), {})
    if not isinstance(st, dict):
        st = {}
    interval = term.params.tms_interval_s or 86400
    term.tms_due = now + _RETRY_S if term.params.tms_interval_s else 0
    from wasl.update import bundle

    rec = bundle.progress(root)
    if rec and rec.get("st") == "ready" and not asked:
        if _quiet(term):
            return await _activate(term, rec)
        term.tms_due = now + 60
        return False
    due = st.get("next", 0) <= now
    if not asked and not due and not (rec and rec.get("st") == "dl"):
        term.tms_due = st["next"]
        return False
    cfg = _config(root)
    ui = term.ui
    if cfg is None:
        if asked:
            await ui.message([ui.t("tms"), ui.t("tms_not_configured")], 5, "error", "tms_error")
        return asked
    show = None
    if asked:
        ui.state("tms")
        show = term.progress(ui.t("tms"))
        show("tms_calling")
    headers = (("X-Wasl-Terminal", term.params.terminal_id), ("X-Wasl-Version", VERSION))
    pub = hw.secure_storage.get("tms_pub") if hw.secure_storage is not None else None
    outcome = "tms_ok"
    soon = 0
    try:
        server = _server(cfg)
        if asked or due:
            st["calls"] = st.get("calls", 0) + 1
            body = json.dumps(status_report(term, st, slot.state(root), rec, slot.state(root, slot.PTRIAL))).encode()
            r = await server.request("POST", "/v1/status", headers, body, limit=1024)
            try:
                offer = json.loads(r.body)
            except ValueError:
                offer = None
            if not isinstance(offer, dict):
                raise Refused("tms_bad_document", "status reply is not a JSON object")
            pv = offer.get("params")
            if isinstance(pv, int) and pv > term.params.version:
                if show:
                    show("tms_calling")
                await _params(term, server, root, pub, headers)
                outcome = "tms_params_applied"
                soon = 1                     # the software, if any, after the restart
            sv = offer.get("software")
            if not soon and bundle.newer(sv, root) and not (rec and rec.get("v") == sv):
                rec = await bundle.start(server, root, pub, headers, sv)
                log.info("update", "software %s offered: download into slot %s", sv, rec["slot"])
        if not soon and rec and rec.get("st") == "dl":
            if asked:
                show("tms_downloading")
                more = _always
            else:
                end = ticks_add(ticks_ms(), _SLICE_MS)

                def more():
                    return ticks_diff(end, ticks_ms()) > 0 and not hw.events._count
            if await bundle.step(server, root, rec, headers, more):
                log.info("update", "software %s downloaded and verified, slot %s", rec["v"], rec["slot"])
                outcome = "tms_update_ready"
                soon = 1                     # activated at the next quiet visit to idle
            else:
                soon = _SOON_S
        if asked or due:
            # new parameters: the rest of the call (the software offer) is made after the restart
            st["next"] = now + (1 if outcome == "tms_params_applied" else interval)
            st["ok"] = now
    except LinkError as e:
        st["fails"] = st.get("fails", 0) + 1
        st["err"] = "link %s %s" % (e.reason, e.detail)
        log.warn("tms", "call failed: %s %s", e.reason, e.detail)
        outcome = "link_" + e.reason
        st["next"] = now + min(_RETRY_S, interval)
    except Refused as e:
        st["fails"] = st.get("fails", 0) + 1
        st["err"] = e.detail
        log.warn("tms", "refused: %s", e.detail)
        outcome = e.key
        st["next"] = now + interval      # the same document would be refused again
    except (OSError, MemoryError, StorageError) as e:   # the storage full or failing, the heap too small
        st["fails"] = st.get("fails", 0) + 1
        st["err"] = "error %r" % (e,)
        log.exception("tms", "call failed", e)
        outcome = "tms_failed"
        st["next"] = now + _RETRY_S
    if rec and rec.get("st") == "ready":
        soon = 1                             # activated at the next quiet visit to idle
    if term.params.tms_interval_s:
        term.tms_due = now + soon if soon else st.get("next", now + _RETRY_S)
    save(_p(root, STATE), st)
    if outcome == "tms_params_applied":
        # the terminal restarts on its new parameters: the boot checks and loads them as always, the
        # TLS context gets the new host CA alone (load_verify_locations adds to a context, never
        # replaces), and the heap starts whole again
        ui.state("restart")
        ui.show(ui.t("tms"), ui.t(outcome), "", "", align="c")
        await ui.key(3 if asked else 1)
        hw.reset()
    if asked:
        ok = outcome in ("tms_ok", "tms_params_applied", "tms_update_ready")
        await ui.message([ui.t("tms"), ui.t(outcome)], 5 if ok else term.params.result_timeout_s,
                         "ok" if ok else "error", "tms_ok" if ok else "tms_error")
        return True
    return outcome == "tms_params_applied"


def _always():
    return True


async def _params(term, server, root, pub, headers):
    from wasl.tms import paramset

    r = await server.request("GET", "/v1/params/manifest", headers, want=(SIG_HEADER,), limit=4096)
    m = paramset.manifest(pub, r.body, r.headers.get(SIG_HEADER))
    if m["version"] <= term.params.version:
        raise Refused("tms_old_version", "parameters v%d, terminal has v%d" % (m["version"], term.params.version))
    if slot.state(root, slot.PTRIAL) == {"st": "bad", "v": m["version"]}:
        raise Refused("tms_bad_params", "parameters v%d were rolled back at boot" % m["version"])
    await paramset.download(server, root, m, headers, term.params)
    paramset.commit(root, [f[0] for f in m["files"]], m["version"])
    log.info("tms", "parameters v%d applied: restart", m["version"])


async def _activate(term, rec):
    ui = term.ui
    root = term.hw.storage_root
    from wasl.tms.signed import remove

    if slot.state(root).get("run") == rec["slot"]:
        # activated already, and the power went before update.json was removed: activating again would
        # make the running slot its own fall-back
        remove(_p(root, "update.json"))
        return False
    slot.activate(root, rec["slot"], rec["v"])
    remove(_p(root, "update.json"))
    log.info("update", "software %s activated in slot %s: restart on trial", rec["v"], rec["slot"])
    ui.state("restart")
    ui.show(ui.t("tms"), ui.t("tms_restart"), rec["v"], "", align="c")
    term.hw.reset()
    return True
