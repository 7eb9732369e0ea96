"""Terminal management end to end (docs/tms.md): the firmware on the unix port against the TMS simulator
(tools/tmssim, HTTPS with its own test CA) and the acquirer simulator.

Parameters: a newer signed set is applied (and used at once); a malformed document, a tampered one,
an old version and a TMS that hangs are refused with a message, the terminal keeping its parameters
and taking sales. Software: a bundle is downloaded in the background, verified, activated at idle and
kept once the new version reaches the idle screen; tampered, partial and downgrade bundles are refused;
a bundle that crashes at boot is rolled back.
"""
import json
import os
import shutil

import pytest

from tools.simlink import AcqSim, Firmware, load_cards
from tools.tmssim import TmsSim, store

CARDS = load_cards()
# The heap a TMS call needs on the 64-bit unix port, code in ROMFS: a second TLS context and handshake (the
# TMS's CA), ECDSA verification in big integers, on top of the idle terminal (a sale alone: 92 KB,
# host_tests/test_scenarios.py). 112 KB fails in the bundle download (commit 3135540).
TMS_HEAP_KB = 120
LEAKS = ("4761739001010010", "1234567890123456")   # a test PAN, the test initial key ID... never in a report


@pytest.fixture
def sims(tmp_path):
    with AcqSim(tmp_path / "acq") as acq, TmsSim(tmp_path / "tms") as tms:
        yield tmp_path, acq, tms


def _params(tms, **tms_over):
    block = tms.params_block(timeout_s=tms_over.pop("timeout_s", 10))
    block.update(tms_over)
    return {"language": "en", "tms": block}


def _terminal(w, acq, tms, params=None, key=True, code="py"):
    term = w / "term"
    if key:
        tms.install_key(term)
    return Firmware(term, acq=acq, params=params or _params(tms), code=code)


def _reboot(fw, acq):
    fw2 = Firmware(fw.data_dir, acq=acq, write_params=False, code=fw.code, heap=fw.heap)
    fw2.params = fw.params
    return fw2


def _on_disk(fw):
    with open(os.path.join(fw.data_dir, "params.json")) as f:
        return json.load(f)


def _tms_call(fw):
    """F1, 0 (TMS call, the tenth entry): the outcome screen's state (tms_ok, tms_error, or restart:
    new parameters) and its text. After a restart the firmware has ended (the harness starts it: _reboot)."""
    n = len(fw.states)
    fw.key("F1")
    fw.wait_state("menu", 10, since=n)
    fw.key("0")
    ends = ("tms_ok", "tms_error", "restart")
    fw.wait_for(lambda: any(s in ends for s in fw.states[n:]), 120, "the TMS call's end")
    i = [j for j in range(n, len(fw.states)) if fw.states[j] in ends][0]
    state = fw.states[i]
    fw.wait_for(lambda: len(fw.screens) > fw.state_screens[i], 5, "the outcome's screen")
    text = "\n".join(fw.screens[fw.state_screens[i]])
    if state == "restart":
        _wait_reset(fw)
        return state, text
    fw.key("OK")
    fw.wait_state("idle", 10, since=len(fw.states) - 1)
    return state, text


def _sale(fw):
    n = len(fw.states)
    fw.keys("12500", "OK")
    fw.wait_state("card", 10, since=n)
    fw.card(CARDS["visa_ok"])
    i = fw.wait_state("copy_prompt", 30, since=n)
    assert "approved" in fw.states[n:], fw.states[n:]
    fw.key("OK")
    fw.wait_state("idle", 15, since=i)


def _v2(fw, **over):
    doc = json.loads(json.dumps(fw.params))
    doc["version"] = 2
    doc["merchant_name"] = "PHARMACIE NOUVELLE"
    doc.update(over)
    return doc


def _no_secrets(tms):
    text = json.dumps(tms.reports())
    for s in LEAKS:
        assert s not in text


# ---- parameters -------------------------------------------------------------------------------------

def test_parameters_downloaded_applied_and_reported(sims):
    w, acq, tms = sims
    fw = _terminal(w, acq, tms)
    emv = json.load(open(os.path.join(store.ROOT, "boards", "sim", "emv.json")))
    emv["merchant_category"] = "5411"
    tms.publish_params(_v2(fw), emv=emv)
    with fw:
        fw.wait_state("idle", 20)
        # the first visit to idle calls the TMS (due at once): the new set is committed, the terminal
        # restarts on it
        fw.wait_state("restart", 30)
        fw.wait_screen("PARAMETERS UPDATED", 5)
        _wait_reset(fw)
    assert _on_disk(fw)["version"] == 2
    fw = _reboot(fw, acq)
    with fw:
        fw.wait_state("idle", 20)
        fw.wait_screen("PHARMACIE NOUVELLE", 5)
        assert json.load(open(os.path.join(fw.data_dir, "emv.json")))["merchant_category"] == "5411"
        assert not [f for f in os.listdir(fw.data_dir) if f.endswith((".new", ".commit", ".tmp"))]
        _sale(fw)
        # asked from the menu: nothing newer, the terminal says so
        state, text = _tms_call(fw)
        assert state == "tms_ok" and "UP TO DATE" in text, text
    reports = tms.reports()
    assert reports[0]["params"] == 1 and reports[0]["software"] == "0.1.0"
    last = reports[-1]
    # calls: at boot (parameters applied), again at once (the rest of the call), then the menu's
    assert last["params"] == 2 and last["count"] == 1 and last["calls"] == 3 and last["fails"] == 0
    assert last["terminal_id"] == "WASL0001" and last["reversal_pending"] is False
    # the link the call went over, from the link manager (the desktop board's Wi-Fi, its signal bars)
    assert last["link"]["link"] == "wifi" and 0 <= last["link"]["bars"] <= 4 and last["link"]["order"][0] == "wifi"
    _no_secrets(tms)
    assert "parameters v2 applied" in open(os.path.join(fw.data_dir, "firmware.log")).read()


def test_call_and_sale_within_the_heap_budget_from_romfs(sims):
    """A TMS call in TMS_HEAP_KB, code in ROMFS: it applies a parameter set, fetches the software
    manifest and its first parts, then a sale is approved."""
    w, acq, tms = sims
    tms.publish_software(store.make_bundle(str(w / "b"), "0.2.0"), "0.2.0")
    term = w / "term"
    tms.install_key(term)
    fw = Firmware(term, acq=acq, params=_params(tms), heap="%dK" % TMS_HEAP_KB, code="romfs")
    tms.publish_params(_v2(fw))
    with fw:
        fw.wait_state("idle", 30)
        _wait_reset(fw, 30)            # the parameters committed: restart
    tms.faults(truncate=True)          # the download cannot finish: visits to idle go on during the sale
    fw = _reboot(fw, acq)
    with fw:
        fw.wait_state("idle", 30)
        fw.wait_screen("PHARMACIE NOUVELLE", 5)
        fw.wait_for(lambda: os.path.exists(os.path.join(fw.data_dir, "update.json")), 30, "the download started")
        _sale(fw)
        tms.faults()
        state, text = _tms_call(fw)    # resumed, complete, verified...
        assert state == "tms_ok" and "UPDATE DOWNLOADED" in text, text
        _wait_reset(fw)                # ... and activated at the next visit to idle
    assert "MemoryError" not in open(os.path.join(fw.data_dir, "firmware.log")).read()


def test_parameters_that_do_not_reach_idle_are_rolled_back(sims):
    """A set that passes every check at the call but cannot boot: here its logo, present when the set was
    checked, is gone at the restart. The terminal does not reach idle on it; at the next start the
    previous set comes back, the TMS is told, and the same version is not taken again."""
    w, acq, tms = sims
    fw = _terminal(w, acq, tms)
    logo = os.path.join(fw.data_dir, "logo.pbm")
    os.makedirs(fw.data_dir, exist_ok=True)
    shutil.copy(os.path.join(store.ROOT, "host_tests", "fixtures", "wasl-logo.pbm"), logo)
    tms.publish_params(_v2(fw, receipt={"logo": "logo.pbm"}))
    with fw:
        fw.wait_state("restart", 30)        # applied on the first visit to idle
        _wait_reset(fw)
    assert _on_disk(fw)["version"] == 2
    os.remove(logo)
    fw = _reboot(fw, acq)
    with fw:                                # v2 cannot boot without its logo: on trial, it restarts
        fw.wait_state("error", 20)
        fw.wait_screen("receipt.logo", 5)
        _wait_reset(fw, 20)
    fw = _reboot(fw, acq)
    with fw:
        fw.wait_state("idle", 20)
        assert _on_disk(fw) == fw.params    # the previous set, v1
        fw.wait_screen(fw.params["merchant_name"], 5)
        state, text = _tms_call(fw)         # v2 is still offered: refused
        assert state == "tms_error" and "INVALID PARAMETERS" in text, text
        assert _on_disk(fw)["version"] == 1
        _sale(fw)
    log = fw.log_text()
    assert "parameters on trial refused: restart on the previous set" in log
    assert "parameters v2 did not reach idle: previous set restored" in log and "rolled back at boot" in log
    assert tms.reports()[-1]["params_rolled_back"] == 2 and tms.reports()[-1]["params"] == 1
    assert sorted(f for f in os.listdir(fw.data_dir) if "params" in f) == ["params.json", "params.trial"]


@pytest.mark.parametrize("bad, message", [
    ({"terminal_id": "SHORT"}, "INVALID PARAMETERS"),            # the boot checker's refusal
    ({"host": {"address": "127.0.0.1"}}, "INVALID PARAMETERS"),   # host.port etc. missing
    ({"tms": {"address": "x", "port": 0}}, "INVALID PARAMETERS"),
    ({"terminal_id": "WASL0099"}, "INVALID DOCUMENT"),            # another terminal's parameters
    (b'{"version": 2, "terminal_id": "WASL0001", ', "INVALID PARAMETERS"),   # not JSON at all
])
def test_malformed_parameter_documents_are_refused(sims, bad, message):
    w, acq, tms = sims
    fw = _terminal(w, acq, tms)
    if isinstance(bad, bytes):
        os.makedirs(os.path.join(tms.state, "params", "2"), exist_ok=True)
        d = os.path.join(tms.state, "params", "2")
        open(os.path.join(d, "params.json"), "wb").write(bad)
        store._manifest(tms.state, d, "params", 2, ["params.json"])
    else:
        tms.publish_params(_v2(fw, **bad))
    with fw:
        fw.wait_state("idle", 20)
        state, text = _tms_call(fw)
        assert state == "tms_error" and message in text, text
        assert _on_disk(fw) == fw.params          # the old parameters, untouched
        assert not [f for f in os.listdir(fw.data_dir) if f.endswith(".new")]
        _sale(fw)                                 # and the terminal works on
    assert "refused" in fw.log_text()
    assert tms.reports()[-1]["last_error"]


@pytest.mark.parametrize("fault, message", [
    ({"tamper": "manifest"}, "BAD SIGNATURE"),
    ({"tamper": "file"}, "CORRUPT DOWNLOAD"),
    ({"offer": {"params": 9}}, "OLD VERSION"),     # offered as new, the signed set is older than v3
])
def test_tampered_and_old_parameters_are_refused(sims, fault, message):
    w, acq, tms = sims
    fw = _terminal(w, acq, tms, params=dict(_params(tms), version=3))
    tms.publish_params(_v2(fw, version=2 if "offer" in fault else 4))
    tms.faults(**fault)
    with fw:
        fw.wait_state("idle", 20)
        state, text = _tms_call(fw)
        assert state == "tms_error" and message in text, text
        assert _on_disk(fw)["version"] == 3 and _on_disk(fw)["merchant_name"] == fw.params["merchant_name"]


def test_terminal_without_the_verification_key_refuses(sims):
    w, acq, tms = sims
    fw = _terminal(w, acq, tms, key=False)
    tms.publish_params(_v2(fw))
    with fw:
        fw.wait_state("idle", 20)
        state, text = _tms_call(fw)
        assert state == "tms_error" and "NO TMS KEY" in text, text
    assert _on_disk(fw)["version"] == 1


def test_a_tms_that_hangs_times_out_and_the_terminal_works_on(sims):
    w, acq, tms = sims
    tms.faults(hang=True)
    fw = _terminal(w, acq, tms, params=_params(tms, timeout_s=3))
    tms.publish_params(_v2(fw))
    with fw:
        fw.wait_state("idle", 20)
        state, text = _tms_call(fw)
        assert state == "tms_error" and "TIME-OUT" in text, text
        _sale(fw)
        assert _on_disk(fw)["version"] == 1
        tms.faults()                   # the TMS is back: the next call gets the parameters
        state, text = _tms_call(fw)
        assert state == "restart" and "PARAMETERS UPDATED" in text, text
    fw = _reboot(fw, acq)
    with fw:
        fw.wait_state("idle", 20)
        fw.wait_screen("PHARMACIE NOUVELLE", 5)
    assert tms.reports()[-1]["fails"] >= 2 and "timeout" in tms.reports()[-1]["last_error"]


def test_chunked_replies_are_read(sims):
    w, acq, tms = sims
    fw = _terminal(w, acq, tms)
    tms.publish_params(_v2(fw))
    tms.faults(chunked=True)
    with fw:
        fw.wait_state("idle", 20)
        _wait_reset(fw, 30)
    assert _on_disk(fw)["version"] == 2 and _on_disk(fw)["merchant_name"] == "PHARMACIE NOUVELLE"


# ---- software -----------------------------------------------------------------------------------------

def _wait_reset(fw, timeout=120):
    fw.wait_for(lambda: any(e.get("ev") == "reset" for e in fw.events), timeout, "the update's restart")
    fw.wait_exit(10)
    fw.stop()


def _slot(fw):
    try:
        with open(os.path.join(fw.data_dir, "slot.json")) as f:
            return json.load(f)
    except OSError:
        return None


def _booted(fw):
    return [e["version"] for e in fw.events if e.get("ev") == "boot"]


@pytest.mark.parametrize("code", ["py", "romfs"])
def test_software_update_end_to_end(sims, code):
    """code romfs: the factory code runs from a ROMFS image, as on a device; the slot from files."""
    w, acq, tms = sims
    tms.publish_software(store.make_bundle(str(w / "b"), "0.2.0"), "0.2.0")
    fw = _terminal(w, acq, tms, code=code)
    with fw:
        fw.wait_state("idle", 20)
        _sale(fw)                        # the download goes on in the background, sales first
        _wait_reset(fw)
    assert _slot(fw)["st"] == "trial" and _slot(fw)["ver"] == "0.2.0"
    ranges = [r["range"] for r in tms.requests() if "/v1/software/0.2.0/wasl/" in r["path"]]
    assert ranges and all(r.startswith("bytes=") for r in ranges)
    fw = _reboot(fw, acq)
    with fw:
        fw.wait_state("idle", 20)
        assert _booted(fw) == ["0.2.0"]
        fw.wait_for(lambda: (_slot(fw) or {}).get("st") == "good", 20, "the slot kept")
        _sale(fw)                        # the new version takes sales; its batch is the old one's
        state, text = _tms_call(fw)
        assert state == "tms_ok", text
    assert tms.reports()[-1]["software"] == "0.2.0" and tms.reports()[-1]["count"] == 2
    fw = _reboot(fw, acq)
    with fw:
        fw.wait_state("idle", 20)
        assert _booted(fw) == ["0.2.0"]  # kept across reboots


@pytest.mark.parametrize("fault, message", [
    ({"tamper": "file"}, "CORRUPT DOWNLOAD"),
    ({"tamper": "manifest"}, "BAD SIGNATURE"),
])
def test_tampered_bundles_are_refused(sims, fault, message):
    w, acq, tms = sims
    tms.publish_software(store.make_bundle(str(w / "b"), "0.2.0"), "0.2.0")
    tms.faults(**fault)
    fw = _terminal(w, acq, tms, params=_params(tms, interval_min=1440))
    with fw:
        fw.wait_state("idle", 20)
        state, text = _tms_call(fw)      # asked: the whole bundle at once
        assert state == "tms_error" and message in text, text
        assert _slot(fw) is None and not os.path.exists(os.path.join(fw.data_dir, "update.json"))
        _sale(fw)
    assert not any(e.get("ev") == "reset" for e in fw.events)


def test_partial_bundle_stays_dormant_then_resumes(sims):
    w, acq, tms = sims
    tms.publish_software(store.make_bundle(str(w / "b"), "0.2.0"), "0.2.0")
    tms.faults(truncate=True)
    fw = _terminal(w, acq, tms)
    with fw:
        fw.wait_state("idle", 20)
        state, text = _tms_call(fw)
        assert state == "tms_error" and "CUT OFF" in text, text
        rec = json.load(open(os.path.join(fw.data_dir, "update.json")))
        assert rec["st"] == "dl" and _slot(fw) is None     # not complete: never activated
        _sale(fw)
    fw = _reboot(fw, acq)                # a reboot in the middle: the download resumes
    tms.faults()
    with fw:
        fw.wait_state("idle", 20)
        _wait_reset(fw)
    resumed = [r["range"] for r in tms.requests() if "/software/0.2.0/wasl/" in r["path"] and not
               r["range"].startswith("bytes=0-")]
    assert resumed, "no ranged request resumed a file"
    fw = _reboot(fw, acq)
    with fw:
        fw.wait_state("idle", 20)
        assert _booted(fw) == ["0.2.0"]


def _bundle_under_another_name(sims, built, served, screen, log):
    """A genuinely signed bundle of version `built`, served as `served`: the call ends on `screen`, no
    slot is written, and the log says `log`."""
    w, acq, tms = sims
    tms.publish_software(store.make_bundle(str(w / "b"), built), built)
    os.rename(os.path.join(tms.state, "software", built), os.path.join(tms.state, "software", served))
    fw = _terminal(w, acq, tms)
    with fw:
        fw.wait_state("idle", 20)
        state, text = _tms_call(fw)
        assert state == "tms_error" and screen in text, text
        assert _slot(fw) is None and not os.path.exists(os.path.join(fw.data_dir, "update.json"))
    assert log in fw.log_text()


def test_bundle_of_another_version_than_offered_is_refused(sims):
    """Newer than the terminal but not the version offered: refused, else every status call (which
    offers 0.3.0) would start the download of 0.2.0 again."""
    _bundle_under_another_name(sims, "0.2.0", "0.3.0", "INVALID DOCUMENT", "software manifest of 0.2.0, 0.3.0 offered")


def test_downgrade_bundle_is_refused(sims):
    """An old bundle served under a newer version's name: the manifest tells."""
    _bundle_under_another_name(sims, "0.0.9", "0.3.0", "OLD VERSION", "software 0.0.9, terminal runs 0.1.0")


def test_bundle_that_crashes_at_boot_is_rolled_back(sims):
    w, acq, tms = sims
    tms.publish_software(store.make_bundle(str(w / "b"), "0.2.0", crash=True), "0.2.0")
    fw = _terminal(w, acq, tms)
    with fw:
        fw.wait_state("idle", 20)
        _wait_reset(fw)
    fw = _reboot(fw, acq)
    fw.start()
    assert fw.wait_exit(20) != 0         # the trial boot of 0.2.0 fails
    fw.stop()
    assert "failed at boot" in fw.log_text() and not fw.states
    assert _slot(fw)["st"] == "boot"
    fw = _reboot(fw, acq)
    with fw:                             # the next boot goes back to 0.1.0, and stays there
        fw.wait_state("idle", 20)
        assert _booted(fw) == ["0.1.0"]
        assert _slot(fw)["bad"] == "0.2.0" and _slot(fw)["run"] is None
        _sale(fw)
        state, text = _tms_call(fw)      # 0.2.0 still offered: not fetched again
        assert state == "tms_ok", text
        assert not os.path.exists(os.path.join(fw.data_dir, "update.json"))
    assert "did not reach idle" in fw.log_text()
    r = tms.reports()[-1]
    assert r["rolled_back"] == "0.2.0" and r["rollbacks"] == 1 and r["software"] == "0.1.0"
