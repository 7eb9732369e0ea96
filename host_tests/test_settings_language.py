"""The merchant's language chosen in the menu's settings (wasl.txn.merchant.settings) survives a reboot:
it is saved on the terminal's storage (settings.json next to params.json, which it does not touch) and
wins over the parameter `language` at boot (wasl.app.merchant_language). A damaged or unknown saved
language is ignored: the parameter's language, and a warning in the log. The switch itself, screens
included, is the scenario host_tests/scenarios/settings_language.json."""
import json
import os
import sys

from tools.simlink import ROOT, AcqSim, Firmware

sys.path.insert(0, os.path.join(ROOT, "firmware"))
from wasl.ui.arabic import visual  # noqa: E402
from wasl.ui.strings import table  # noqa: E402

AR_IDLE = visual(table("ar")["idle_hint"])
FR_IDLE = table("fr")["idle_hint"]
EN_IDLE = table("en")["idle_hint"]


def boot(term, acq, params=None):
    fw = Firmware(term, acq=acq, params=params or {"language": "fr"})
    fw.start()
    fw.wait_state("idle", 20)
    return fw


def test_language_choice_survives_a_reboot(tmp_path):
    term = str(tmp_path / "term")
    with AcqSim(str(tmp_path / "acq")) as acq:
        fw = boot(term, acq)
        try:
            fw.wait_screen(FR_IDLE)
            with open(os.path.join(term, "params.json")) as f:
                params_before = f.read()
            fw.key("F1")
            fw.wait_state("menu")
            fw.key("9")
            fw.wait_state("menu", since=1)
            fw.key("2")                                    # English
            fw.wait_state("language_saved")
            fw.wait_state("idle", 10, since=1)
            fw.wait_screen(EN_IDLE)
        finally:
            fw.stop()
        with open(os.path.join(term, "settings.json")) as f:
            assert json.load(f) == {"language": "en"}
        with open(os.path.join(term, "params.json")) as f:
            assert f.read() == params_before                 # the managed parameters are not rewritten

        fw = boot(term, acq)                                 # params still say fr: the merchant's choice wins
        try:
            fw.wait_screen(EN_IDLE)
        finally:
            fw.stop()

        with open(os.path.join(term, "settings.json"), "w") as f:
            json.dump({"language": "ar"}, f)
        fw = boot(term, acq)
        try:
            fw.wait_screen(AR_IDLE)
        finally:
            fw.stop()

        for bad, why in (("{not json", None), ('{"language": "de"}', "unknown language")):
            with open(os.path.join(term, "settings.json"), "w") as f:
                f.write(bad)
            fw = boot(term, acq)
            try:
                fw.wait_screen(FR_IDLE)                      # the parameter's language
                if why:
                    assert why in fw.log_text()
            finally:
                fw.stop()
