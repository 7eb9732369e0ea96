"""tools/keyinject.py end to end: make a sim terminal's KBPK, inject the published test BDKs' initial keys,
load the data directory with the firmware key store on CPython and on the MicroPython unix port, check
the key check values and the first transaction against host-side code, and grep everything the tool and
the key store print (and every file they write) for clear keys."""
import json
import os
import shutil
import subprocess
import sys
import warnings

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")
FIX = os.path.join(ROOT, "host_tests", "fw", "fixtures")
BDK_AES = os.path.join(FIX, "crypto_test_bdk_aes128.txt")
BDK_TDES = os.path.join(FIX, "crypto_test_bdk_tdes.txt")
for _p in (os.path.join(ROOT, "firmware"), os.path.join(ROOT, "host_tests", "cpython_shims")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import psec  # noqa: E402
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: E402
from cryptography.utils import CryptographyDeprecationWarning  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")
warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning)

# the published test keys behind the fixtures' BDK files (X9.24-3-2017 B.1, X9.24-1-2009 A.4)
BDK_AES_HEX = "FEDCBA9876543210F1F1F1F1F1F1F1F1"
IK_HEX = "1273671EA26AC29AFA4D1084127652A1"
BDK_TDES_HEX = "0123456789ABCDEFFEDCBA9876543210"
IPEK_HEX = "6AC292FAA1315B4D858AB3A3D7D5933A"
PIN_KEY_1_HEX = "AF8CB133A78F8DC2D1359F18527593FB"      # X9.24-3 counter 1 PIN encryption key

UPY_SCRIPT = r"""
import sys, json
from wasl.crypto.keystore import KeyStore, FileSecureStorage
from wasl.crypto.util import hexu
root, pan = sys.argv[1], sys.argv[2]
ks = KeyStore(FileSecureStorage(root + "/secure"), root + "/keys")
ok = ks.load()
print(repr(ks))
t = ks.begin_transaction()
out = {"ok": ok, "status": ks.status(), "ksn": hexu(t.ksn), "repr_t": repr(t), "mac": hexu(t.mac(b"msg"))}
out["pin_block"] = hexu(t.pin_block(bytearray(b"1234"), pan))
t.wipe()
print(json.dumps(out))
"""


def run_tool(*args):
    return subprocess.run([sys.executable, "-m", "tools.keyinject"] + list(args), cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


def tool_json(*args):
    r = run_tool(*(args + ("--json",)))
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout), r.stdout + r.stderr


def run_cpython_keystore(data, pan):
    """The same script as on MicroPython, in a CPython subprocess (firmware + cryptolib shim on the path)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join((os.path.join(ROOT, "firmware"),
                                                       os.path.join(ROOT, "host_tests", "cpython_shims"))))
    r = subprocess.run([sys.executable, "-c", UPY_SCRIPT, str(data), pan], capture_output=True, text=True,
                       timeout=60, env=env)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.splitlines()[-1]), r.stdout + r.stderr


def run_upy_keystore(data, pan):
    env = dict(os.environ, MICROPYPATH=".frozen:" + os.path.join(ROOT, "firmware"))
    r = subprocess.run([MICROPYTHON, "-c", UPY_SCRIPT, str(data), pan], capture_output=True, text=True,
                       timeout=60, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout.splitlines()[-1]), r.stdout + r.stderr


def aes_kcv(key):
    from cryptography.hazmat.primitives.cmac import CMAC

    c = CMAC(algorithms.AES(key))
    c.update(bytes(16))
    return c.finalize()[:3].hex().upper()


def secrets_of(data_dir, *extra):
    keys = [BDK_AES_HEX, IK_HEX, BDK_TDES_HEX, IPEK_HEX, PIN_KEY_1_HEX] + list(extra)
    kbpk = os.path.join(data_dir, "secure", "kbpk")
    if os.path.exists(kbpk):
        with open(kbpk, "rb") as f:
            keys.append(f.read().hex().upper())
    return keys + [k.lower() for k in keys]


def assert_no_secret(text, secrets, where):
    for s in secrets:
        assert s not in text, "clear key %s...%s found in %s" % (s[:4], s[-4:], where)


@pytest.fixture
def sim(tmp_path):
    data = tmp_path / "term"
    facts, out = tool_json("--data", str(data), "--gen-kbpk")
    assert facts["kbpk_file"] == str(data / "secure" / "kbpk")
    assert (data / "secure" / "kbpk").stat().st_mode & 0o777 == 0o600
    return data, facts, [out]


def test_aes_injection_loads_on_both_runtimes_with_the_printed_kcvs(sim):
    data, kb, outputs = sim
    facts, out = tool_json("--data", str(data), "--bdk-file", BDK_AES, "--ikid", "1234567890123456")
    outputs.append(out)
    kbpk = (data / "secure" / "kbpk").read_bytes()
    assert len(kbpk) == 32 and facts["kbpk_kcv"] == kb["kbpk_kcv"] == aes_kcv(kbpk)
    assert facts["ik_kcv"] == aes_kcv(bytes.fromhex(IK_HEX)) == "05EF45"
    assert facts["bdk_kcv"] == aes_kcv(bytes.fromhex(BDK_AES_HEX))
    assert facts["first_ksn"] == "123456789012345600000001"
    block = (data / "keys" / "dukpt.tr31").read_text().strip()
    h, ik = psec.tr31.unwrap(kbpk, block)                       # the block itself, checked by psec
    assert ik.hex().upper() == IK_HEX and (h.key_usage, h.algorithm, h.mode_of_use) == ("B1", "A", "X")
    assert h.blocks["IK"] == "1234567890123456"

    results = []
    for run in (run_cpython_keystore, run_upy_keystore):
        d = data.parent / ("copy_" + run.__name__)
        shutil.copytree(data, d)
        res, text = run(d, "4111111111111111")
        outputs.append(text)
        assert res["ok"] is True
        assert res["status"] == {"scheme": "AES-128 DUKPT", "kbpk_kcv": facts["kbpk_kcv"], "ik_kcv": "05EF45",
                                 "ksn": "123456789012345600000002"}
        assert res["ksn"] == "123456789012345600000001"
        # the PIN block deciphers with psec under the published PIN key of counter 1
        assert psec.pinblock.decipher_pinblock_iso_4(bytes.fromhex(PIN_KEY_1_HEX), bytes.fromhex(res["pin_block"]),
                                                     "4111111111111111") == "1234"
        assert not (d / "keys" / "dukpt.tr31").exists() and (d / "secure" / "dukpt").exists()
        for f in d.rglob("*"):                      # no file but the KBPK's holds key material in clear
            if f.is_file() and f.name != "kbpk":
                raw = f.read_bytes()
                for k in (IK_HEX, PIN_KEY_1_HEX, BDK_AES_HEX):
                    assert bytes.fromhex(k) not in raw and k.encode() not in raw and k.lower().encode() not in raw
        results.append(res)
    assert results[0]["mac"] == results[1]["mac"]                 # same key, same message: same MAC
    for text in outputs:
        assert_no_secret(text, secrets_of(data), "the output")


def test_tdes_injection_and_print_block(sim):
    data, kb, outputs = sim
    facts, out = tool_json("--data", str(data), "--scheme", "tdes", "--bdk-file", BDK_TDES, "--ksn",
                           "FFFF9876543210E00000", "--print-block")
    outputs.append(out)
    assert facts["ik_kcv"] == psec.des.generate_kcv(bytes.fromhex(IPEK_HEX), 3).hex().upper() == "AF8C07"
    assert facts["first_ksn"] == "FFFF9876543210E00001"
    assert "block_file" not in facts and not (data / "keys").exists()        # printed, not written
    kbpk = (data / "secure" / "kbpk").read_bytes()
    h, ipek = psec.tr31.unwrap(kbpk, facts["block"])
    assert ipek.hex().upper() == IPEK_HEX and h.blocks["KS"] == "FFFF9876543210E00000"
    # deliver it by hand (what a technician's CLI would do) and run the first transaction on the unix port
    (data / "keys").mkdir()
    (data / "keys" / "dukpt.tr31").write_text(facts["block"] + "\n")
    res, text = run_upy_keystore(data, "4012345678909")
    outputs.append(text)
    assert res["status"]["ik_kcv"] == "AF8C07" and res["ksn"] == "FFFF9876543210E00001"
    assert res["pin_block"] == "1B9C1845EB993A7A"                 # X9.24-1 A.4.2, first KSN
    for t in outputs:
        assert_no_secret(t, secrets_of(data, "042666B49184CF5C68DE9628D0397B36"), "the output")


def test_text_output_and_refusals(sim, tmp_path):
    data, kb, outputs = sim
    r = run_tool("--data", str(data), "--bdk-file", BDK_AES, "--ikid", "1234567890123456")
    assert r.returncode == 0
    assert "ik_kcv:         05EF45" in r.stdout and "kbpk_kcv:" in r.stdout
    outputs.append(r.stdout + r.stderr)
    r = run_tool("--data", str(data), "--gen-kbpk")              # never silently replace the KBPK
    assert r.returncode == 2 and "exists" in r.stderr
    outputs.append(r.stdout + r.stderr)
    r = run_tool("--data", str(tmp_path / "none"), "--bdk-file", BDK_AES, "--ikid", "1234567890123456")
    assert r.returncode == 2 and "--gen-kbpk" in r.stderr
    r = run_tool("--data", str(data), "--bdk-file", BDK_AES)
    assert r.returncode == 2 and "--ikid" in r.stderr
    bad = tmp_path / "bad.txt"
    bad.write_text("# comment\nnot hex\n")
    r = run_tool("--data", str(data), "--bdk-file", str(bad), "--ikid", "1234567890123456")
    assert r.returncode == 2 and "does not hold hex" in r.stderr
    r = run_tool("--data", str(data))
    assert r.returncode == 2
    # a BDK from stdin, and a KBPK file for a device: the block on stdout unwraps under that KBPK
    kbpk_file = tmp_path / "kbpk.hex"
    kbpk_file.write_text("# device KBPK\n" + "11" * 16 + "\n")
    r = subprocess.run([sys.executable, "-m", "tools.keyinject", "--kbpk-file", str(kbpk_file), "--bdk-file", "-",
                        "--ikid", "AABBCCDD00000001", "--print-block", "--json"], cwd=ROOT, input=BDK_AES_HEX + "\n",
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    facts = json.loads(r.stdout)
    h, ik = psec.tr31.unwrap(bytes.fromhex("11" * 16), facts["block"])
    enc = Cipher(algorithms.AES(bytes.fromhex(BDK_AES_HEX)), modes.ECB()).encryptor()
    assert ik == enc.update(bytes.fromhex("0101800100020080AABBCCDD00000001"))      # X9.24-3 6.3.1
    outputs.append(r.stdout + r.stderr)
    for t in outputs:
        assert_no_secret(t, secrets_of(data, "11" * 16), "the output")
