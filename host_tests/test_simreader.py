"""The sim board's chip / contactless reader (hw.reader, docs/sim-protocol.md) and the test keys every sim
terminal gets (tools/simlink.inject_test_keys, docs/keys.md).

The board runs on the MicroPython unix port under the real harness (tools.simlink.Firmware), with a small
script in place of the firmware: it builds boards/sim/board.py, starts its control-channel task and drives
hw.reader.exchange() itself (the payment flow is not needed), reporting each result as a {"ev": "test"}
line. The harness plays the card: a virtual EMV card (tools/virtual/emvcard.py), or a fake one here."""
import json
import os
import subprocess
import time

import pytest

from tools.simlink import FIXTURES, MICROPYTHON, ROOT, Firmware, build_code, has_keys, inject_test_keys
from tools.virtual.emvcard import VirtualCard, load_profile

pytestmark = pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")  # psec's TDES

SELECT_PSE = "00A404000E315041592E5359532E444446303100"
READ_PSE_DIR = "00B2010C00"
SELECT_VISA = "00A4040007A000000003101000"

SCRIPT = r'''
# the sim board alone: its reader driven from here (host_tests/test_simreader.py)
import asyncio
import json
import os
import time
from binascii import hexlify, unhexlify

import board

hw = board.build()


def out(**kw):
    kw["ev"] = "test"
    board.emit(kw)


def hx(b):
    return hexlify(b).decode().upper()


async def apdus():
    if os.getenv("T_WAIT_CARD"):
        ev = await hw.events.get(10000)
        out(event=list(ev) if ev else None, present=hw.card_present)
    if os.getenv("T_TIMEOUT_MS"):
        hw.apdu_timeout_ms = int(os.getenv("T_TIMEOUT_MS"))
    for c in os.getenv("T_APDUS").split(","):
        t0 = time.ticks_ms()
        try:
            r = await hw.reader.exchange(unhexlify(c))
            out(r=hx(r), kind=type(r).__name__)
        except Exception as e:
            out(exc=type(e).__name__, key=getattr(e, "key", None), args=[str(a) for a in e.args],
                ms=time.ticks_diff(time.ticks_ms(), t0))
    while True:                         # what else came in meanwhile
        ev = await hw.events.get(int(os.getenv("T_LINGER_MS", "0")))
        if ev is None:
            break
        out(event=list(ev))


async def kernel():
    from wasl.emv.kernel import Kernel

    with open(os.getenv("T_FIXTURE")) as f:
        doc = json.load(f)
    t = [t for t in doc["transcripts"] if t["name"] == os.getenv("T_TRANSCRIPT")][0]
    doc = None
    ev = await hw.events.get(10000)
    out(event=list(ev) if ev else None)
    rnd = [unhexlify(x) for x in t["random"]]

    async def pin(result):
        return t["pin"]

    async def choose(labels):
        return t["choose"]

    k = Kernel(hw.reader, json.loads(os.getenv("T_PARAMS")), entry=t["entry"], choose=choose, pin=pin,
               rng=lambda n: rnd.pop(0))
    r = await k.start(t["amount"], tuple(t["now"]))
    out(stage="first", outcome=r.outcome, error=r.error, de55=hx(r.de55), masked=r.masked_pan())
    o = t["online"]
    if o is not None:
        r = await k.complete(o["rc"], unhexlify(o["issuer_data"]) if o["issuer_data"] else b"")
        out(stage="final", outcome=r.outcome, error=r.error, de55=hx(r.de55))
    k.wipe()


async def main():
    task = hw.start()
    try:
        await (kernel() if os.getenv("T_TRANSCRIPT") else apdus())
    finally:
        task.cancel()
    out(done=True)


asyncio.run(main())
'''


class Fake:
    """A card the test controls: answer(capdu) -> bytes, or None for no answer (a mute card)."""

    def __init__(self, answer, name="fake"):
        self.answer = answer
        self.p = {"name": name}
        self.seen = []

    def apdu(self, capdu):
        self.seen.append(bytes(capdu))
        return self.answer(capdu)


@pytest.fixture
def run_board(tmp_path):
    """start(apdus, **env) -> a Firmware running the script; stopped at the end of the test."""
    script = tmp_path / "reader_script.py"
    script.write_text(SCRIPT)
    started = []

    def start(apdus=(), keys=None, **env):
        e = {"T_APDUS": ",".join(apdus)}
        e.update({k: str(v) for k, v in env.items()})
        fw = Firmware(tmp_path / ("term%d" % len(started)), write_params=False, keys=keys, env=e,
                      main=str(script))
        started.append(fw)
        return fw.start()

    yield start
    for fw in started:
        fw.stop()


def results(fw, n, timeout=20):
    """The script's first n {"ev": "test"} results (done marker excluded)."""
    def got():
        return [e for e in fw.events if e.get("ev") == "test" and "done" not in e]

    fw.wait_for(lambda: len(got()) >= n, timeout, "%d test results" % n)
    return got()[:n]


def wait_done(fw, timeout=20):
    fw.wait_for(lambda: any(e.get("done") for e in fw.events if e.get("ev") == "test"), timeout, "the script's end")
    assert fw.wait_exit(10) == 0, fw.log_tail()
    assert fw.stdout_junk == []
    return [e for e in fw.events if e.get("ev") == "test" and "done" not in e]


# ---- the reader ----------------------------------------------------------------------------------------

def test_round_trip_with_a_virtual_card(run_board):
    fw = run_board([SELECT_PSE, READ_PSE_DIR, SELECT_VISA], T_WAIT_CARD=1)
    card = fw.insert("emv_visa_cvn18")
    res = wait_done(fw)
    assert res[0] == {"ev": "test", "event": ["card", {"entry": "chip"}], "present": True}
    # the same card, straight: the board handed over exactly what the card answered
    ref = VirtualCard(load_profile("emv_visa_cvn18"))
    for got, c in zip(res[1:], (SELECT_PSE, READ_PSE_DIR, SELECT_VISA)):
        assert got["r"] == ref.apdu(bytes.fromhex(c)).hex().upper()
        assert got["kind"] == "memoryview"
    assert [a["c"] for a in fw.apdus] == [SELECT_PSE, READ_PSE_DIR, SELECT_VISA]
    assert [a["r"] for a in fw.apdus] == [r["r"] for r in res[1:]]
    assert fw.apdus[0]["card"] == "emv_visa_cvn18" and len(card.log) == 3
    assert not any(e.get("ev") == "apdu" for e in fw.events)     # APDUs are kept apart, in fw.apdus


def test_tap_event(run_board):
    fw = run_board([SELECT_PSE], T_WAIT_CARD=1)
    fw.tap("emv_contactless")
    res = wait_done(fw)
    assert res[0]["event"] == ["card", {"entry": "tap"}]
    assert res[1]["r"] == "6A82"            # a contactless-only card has no PSE


def test_longest_answer_and_longest_command(run_board):
    """256 data bytes + SW1 SW2, and a 261-byte command (its hex goes out in pieces)."""
    data = bytes(range(256))
    big = "80E2000000" + "AB" * 255 + "00"
    fw = run_board(["00B0000000", big, "00B0000000"], T_WAIT_CARD=1)
    fw.insert("emv_visa_cvn18")
    fw.emv_card = Fake(lambda c: data + b"\x90\x00" if c[1] == 0xB0 else b"\x6D\x00")
    res = wait_done(fw)
    assert res[1]["r"] == (data + b"\x90\x00").hex().upper()
    assert res[2]["r"] == "6D00" and fw.apdus[1]["c"] == big.upper()
    assert res[3]["r"] == res[1]["r"]


def test_removal_while_waiting_raises_card_removed(run_board):
    fw = run_board([SELECT_PSE, SELECT_PSE], T_WAIT_CARD=1)
    fw.insert("emv_visa_cvn18")
    fw.emv_card = mute = Fake(lambda c: None)
    fw.wait_for(lambda: len(fw.apdus) >= 1, 10, "the first command")
    time.sleep(0.2)
    fw.remove_card()
    res = wait_done(fw)
    assert res[1]["exc"] == "CardRemoved" and res[1]["key"] == "card_removed"
    assert res[1]["args"][0] == "card removed" and res[1]["ms"] < 3000
    # the card is gone: the next command is refused at once, nothing goes out
    assert res[2]["exc"] == "CardRemoved" and res[2]["args"][0] == "no card" and res[2]["ms"] < 100
    assert len(fw.apdus) == 1 and len(mute.seen) == 1
    assert ["card_removed"] in [e.get("event") for e in res]


def test_card_leaving_by_itself(run_board):
    """A profile that leaves at the first GENERATE AC (emv_bad_removed): the harness says card_removed."""
    gac = "80AE80001D" + "00" * 29 + "00"
    fw = run_board([SELECT_VISA, gac], T_WAIT_CARD=1)
    fw.insert("emv_bad_removed")
    res = wait_done(fw)
    assert res[1]["r"].endswith("9000")
    assert res[2]["exc"] == "CardRemoved" and res[2]["key"] == "card_removed"
    assert fw.emv_card is None and fw.apdus[-1]["r"] is None and fw.apdus[-1]["removed"]


def test_no_answer_times_out(run_board):
    fw = run_board([SELECT_PSE], T_WAIT_CARD=1, T_TIMEOUT_MS=400)
    fw.insert("emv_visa_cvn18")
    fw.emv_card = Fake(lambda c: None)
    res = wait_done(fw)
    assert res[1]["exc"] == "CardRemoved" and res[1]["args"][0] == "no answer"
    assert 400 <= res[1]["ms"] < 2000


def test_default_timeout_is_five_seconds(run_board):
    fw = run_board([SELECT_PSE], T_WAIT_CARD=1)
    fw.insert("emv_visa_cvn18")
    fw.emv_card = Fake(lambda c: None)
    res = wait_done(fw, 30)
    assert res[1]["exc"] == "CardRemoved" and 5000 <= res[1]["ms"] < 7000


def test_garbled_answers_are_reader_failures_then_it_goes_on(run_board):
    """Not hex, an odd number of digits, longer than 258 bytes, not a string, shorter than SW1 SW2: an
    OSError (the kernel's card_read_error); a good answer after them is taken as usual."""
    bad = iter(["9X00", "900", "00" * 259, 9000, "90"])

    def answer(c):
        line = next(bad, None)
        if line is None:
            return b"\x90\x00"
        fw.send({"rapdu": line})
        return None

    fw = run_board([SELECT_PSE] * 6, T_WAIT_CARD=1)
    fw.insert("emv_visa_cvn18")
    fw.emv_card = Fake(answer)
    res = wait_done(fw)
    assert [r.get("exc") for r in res[1:6]] == ["OSError"] * 5
    assert all(r["ms"] < 1000 for r in res[1:6])
    assert res[6]["r"] == "9000"


def test_stale_answers_are_ignored(run_board):
    """An answer with no command outstanding (late, or unasked) is dropped, not given to the next one."""
    fw = run_board([SELECT_PSE], T_WAIT_CARD=1)
    fw.send({"rapdu": "6A82"})
    fw.send({"rapdu": "AB" * 300})
    fw.insert("emv_visa_cvn18")
    res = wait_done(fw)
    assert res[1]["r"] == VirtualCard(load_profile("emv_visa_cvn18")).apdu(bytes.fromhex(SELECT_PSE)).hex().upper()


def test_a_line_right_after_an_answer_waits_for_it(run_board):
    """The answer shares the control channel's buffer: a key pressed the instant the card answered must
    neither garble the answer nor be lost."""
    def answer(c):
        if len(fw.apdus) == 1:      # one write: the three lines arrive together; then the card is mute
            fw.proc.stdin.write(b'{"rapdu": "6F0784059000"}\n{"key": "5"}\n{"card_removed": true}\n')
            fw.proc.stdin.flush()
        return None

    fw = run_board([SELECT_PSE, SELECT_PSE], T_WAIT_CARD=1, T_LINGER_MS=500)
    fw.insert("emv_visa_cvn18")
    fw.emv_card = Fake(answer)
    res = wait_done(fw)
    assert res[1]["r"] == "6F0784059000"
    assert res[2]["exc"] == "CardRemoved"
    assert res[3:] == [{"ev": "test", "event": ["key", "5"]}, {"ev": "test", "event": ["card_removed"]}]


def test_no_card_at_all(run_board):
    fw = run_board([SELECT_PSE])
    res = wait_done(fw)
    assert res[0]["exc"] == "CardRemoved" and res[0]["args"][0] == "no card"
    assert fw.apdus == []


def test_bad_chip_lines_are_ignored(run_board):
    fw = run_board([SELECT_PSE], T_WAIT_CARD=1)
    fw.send({"chip": {"entry": "swipe"}})
    fw.send({"chip": True})
    fw.send({"card": {"track2": "4761739001010010=30122011143804400000", "entry": "swipe"}})
    res = wait_done(fw)
    assert res[0]["event"][0] == "card" and res[0]["event"][1]["entry"] == "swipe"   # the magstripe one
    assert res[0]["present"] is False
    assert res[1]["exc"] == "CardRemoved"
    assert "bad chip event ignored" in fw.log_text()


@pytest.mark.parametrize("name", ["visa_online_approved", "mc_online_pin_t0", "contactless_online"])
def test_kernel_over_the_sim_reader(run_board, name):
    """The EMV kernel over hw.reader, the virtual card on the far side of the control channel: the same
    commands, answers and results as the recorded transcript (host_tests/fw/fixtures/emv_transcripts.json),
    T=0 GET RESPONSE / resend rounds included."""
    path = os.path.join(FIXTURES, "emv_transcripts.json")
    with open(path) as f:
        doc = json.load(f)
    t = [t for t in doc["transcripts"] if t["name"] == name][0]
    fw = run_board(T_FIXTURE=path, T_TRANSCRIPT=name, T_PARAMS=json.dumps(doc["params"]))
    fw.insert(t["card"], t["entry"])
    res = wait_done(fw, 60)
    assert res[0]["event"] == ["card", {"entry": t["entry"]}]
    assert [[a["c"], a["r"]] for a in fw.apdus] == t["apdus"]
    first = res[1]
    assert (first["outcome"], first["error"], first["de55"]) == (t["first"]["outcome"], t["first"]["error"],
                                                                  t["first"]["de55"])
    assert first["masked"] == t["first"]["masked_pan"]
    if t["final"] is not None:
        assert (res[2]["outcome"], res[2]["de55"]) == (t["final"]["outcome"], t["final"]["de55"])
    if t["entry"] == "chip" and t["final"] is not None:
        assert fw.apdu_count("80AE") == 2      # the second GENERATE AC went to the card


# ---- test keys -----------------------------------------------------------------------------------------

KEYSTORE = r'''
import json, sys
import board
from wasl.crypto.keystore import KeyStore
hw = board.build()
ks = KeyStore(hw.secure_storage, inbox=hw.key_inbox)
ok = ks.load()
print(json.dumps({"ok": ok, "status": ks.status(), "inbox": hw.key_inbox,
                  "secure_root": hw.secure_storage.root}))
'''


def load_keystore(data_dir):
    """Build the sim board on the unix port (MICROPYPATH as the harness sets it for 'py') and load the
    key store from its secure storage and key inbox."""
    path, _, _ = build_code("py")
    env = dict(os.environ, MICROPYPATH=path, WASL_DATA=str(data_dir))
    r = subprocess.run([MICROPYTHON, "-c", KEYSTORE], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1]), r.stdout + r.stderr


def test_aes_test_keys_are_injected_and_loadable(tmp_path):
    data = tmp_path / "term"
    facts = inject_test_keys(data)
    assert facts["scheme"] == "AES-128 DUKPT" and facts["ik_kcv"] == "05EF45"
    assert facts["initial_key_id"] == "1234567890123456" and facts["first_ksn"] == "123456789012345600000001"
    assert (data / "secure" / "kbpk").stat().st_size == 32 and (data / "keys" / "dukpt.tr31").exists()
    assert has_keys(data)
    st, text = load_keystore(data)
    assert st["ok"] and st["status"] == {"scheme": "AES-128 DUKPT", "kbpk_kcv": facts["kbpk_kcv"],
                                         "ik_kcv": "05EF45", "ksn": "123456789012345600000001"}
    assert st["inbox"] == str(data) + "/keys" and st["secure_root"] == str(data) + "/secure"
    assert not (data / "keys" / "dukpt.tr31").exists() and (data / "secure" / "dukpt").exists()
    kbpk = (data / "secure" / "kbpk").read_bytes().hex()
    assert kbpk.lower() not in text.lower() and kbpk.upper() not in text
    # a reboot reuses the directory: nothing is injected again, the key state carries on
    state = (data / "secure" / "dukpt").read_bytes()
    assert inject_test_keys(data) is None
    assert (data / "secure" / "dukpt").read_bytes() == state and not (data / "keys" / "dukpt.tr31").exists()
    st, _ = load_keystore(data)
    assert st["ok"] and st["status"]["ik_kcv"] == "05EF45"


def test_tdes_test_keys(tmp_path):
    data = tmp_path / "term"
    facts = inject_test_keys(data, "tdes")
    assert facts["scheme"] == "TDES DUKPT" and facts["ik_kcv"] == "AF8C07"
    assert facts["initial_ksn"] == "FFFF9876543210E00000"
    st, _ = load_keystore(data)
    assert st["ok"] and st["status"]["scheme"] == "TDES DUKPT" and st["status"]["ik_kcv"] == "AF8C07"
    assert st["status"]["kbpk_kcv"] == facts["kbpk_kcv"] and st["status"]["ksn"] == "FFFF9876543210E00001"


def test_every_sim_terminal_gets_keys_unless_told_not_to(tmp_path, run_board):
    fw = run_board([SELECT_PSE], keys="aes")          # the default of Firmware
    assert fw.key_facts["ik_kcv"] == "05EF45" and has_keys(fw.data_dir)
    wait_done(fw)
    fw2 = run_board([SELECT_PSE])                      # keys=None
    assert fw2.key_facts is None and not os.path.exists(os.path.join(fw2.data_dir, "secure"))
    wait_done(fw2)
    assert Firmware(tmp_path / "x", write_params=False).key_scheme == "aes"


def test_key_injection_keeps_an_existing_kbpk(tmp_path):
    """A KBPK without a key (say, after a refused block): only the block is made, under that KBPK."""
    data = tmp_path / "term"
    first = inject_test_keys(data)
    os.remove(data / "keys" / "dukpt.tr31")
    again = inject_test_keys(data)
    assert again["kbpk_kcv"] == first["kbpk_kcv"] and "kbpk_file" not in again
    with pytest.raises(AssertionError):
        inject_test_keys(tmp_path / "y", "rsa")


# ---- the scenario runner's card steps -------------------------------------------------------------------

def test_scenario_card_steps(tmp_path):
    """insert / tap / remove_card / expect_apdus, on a harness whose lines are recorded, not sent."""
    from tools.scenario import Run
    from tools.simlink import HarnessError

    class Recorder(Firmware):
        def send(self, obj):
            self.sent.append(obj)

    fw = Recorder(tmp_path / "t", write_params=False, keys=None)
    fw.sent = []
    run = Run({"steps": []}, str(tmp_path))
    run.fw = fw
    run.step({"insert": "emv_bad_removed", "remove_at": 3})
    assert fw.sent[-1] == {"chip": {"entry": "chip"}} and fw.emv_card.remove_at == 3
    assert fw.emv_card.p["name"] == "emv_bad_removed"
    run.step({"insert": "emv_visa_cvn18"})
    assert fw.emv_card.remove_at is None
    run.step({"tap": "emv_contactless"})
    assert fw.sent[-1] == {"chip": {"entry": "tap"}} and fw.emv_card.p["name"] == "emv_contactless"
    run.step({"remove_card": True})
    assert fw.sent[-1] == {"card_removed": True} and fw.emv_card is None
    assert len(fw.emv_cards) == 3
    fw.apdus += [{"c": "00A404000E315041592E5359532E444446303100"}, {"c": "80AE8000"}, {"c": "80AE4000"}]
    run.step({"expect_apdus": {"80AE": 2, "80ae40": 1, "0082": 0}})
    with pytest.raises(HarnessError, match="expected"):
        run.step({"expect_apdus": {"80AE": 3}, "timeout": 0.2})


def test_unknown_profile_is_a_harness_error(tmp_path):
    from tools.simlink import HarnessError

    fw = Firmware(tmp_path / "t", write_params=False, keys=None)
    with pytest.raises(HarnessError, match="emv_nonexistent"):
        fw.insert("emv_nonexistent")
    with pytest.raises(HarnessError, match="chip or tap"):
        fw.insert("emv_visa_cvn18", "swipe")
