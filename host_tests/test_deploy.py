"""Deployment: tools/deploy.py (the mpremote and esptool commands, checked in --dry-run, and one real
deployment through the desktop bridge), the Makefile's deploy/flash targets, manifest.py, package.json
(tools/mkpackage.py, installed with stock mpremote's mip through the bridge)."""
import ast
import base64
import datetime
import json
import os
import shlex
import subprocess
import sys

import pytest

from tools import deploy, mkpackage

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MPREMOTE = os.path.join(ROOT, ".venv", "bin", "mpremote")
MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")
FAKES = os.path.join(ROOT, "host_tests", "upy_fakes")
PORT = "/dev/ttyUSB0"


def dry(*args):
    res = subprocess.run([sys.executable, "-m", "tools.deploy"] + list(args) + ["--dry-run"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout


def commands(out):
    """The printed commands (comments aside), each as argv."""
    return [shlex.split(line) for line in _lines(out)]


def _lines(out):
    """Printed commands: a line that does not close its quotes goes on (the exec scripts span lines)."""
    done, cur = [], ""
    for line in out.splitlines():
        if not cur and line.startswith("#"):
            continue
        cur = cur + "\n" + line if cur else line
        try:
            shlex.split(cur)
        except ValueError:
            continue
        done.append(cur)
        cur = ""
    return done


def session(argv):
    """An mpremote command line split at '+' into its commands (after `connect PORT`)."""
    assert argv[:3] == [MPREMOTE, "connect", PORT], argv[:3]
    parts, cur = [], []
    for a in argv[3:]:
        if a == "+":
            parts.append(cur)
            cur = []
        else:
            cur.append(a)
    return parts + [cur]


def build_dir(board):
    return os.path.join(ROOT, "build", board)


def test_deploy_mpy_commands():
    out = dry("deploy", "--port", PORT)
    assert out.startswith("# build build/esp32_generic")
    [argv] = commands(out)
    cmds = session(argv)
    b = build_dir("esp32_generic")
    assert cmds[0][0] == "exec"
    assert cmds[1:-2] == [
        ["fs", "cp", "-r", os.path.join(b, "wasl"), ":wasl"],
        ["fs", "cp", os.path.join(b, "board.mpy"), ":board.mpy"],
        ["fs", "cp", os.path.join(b, "esp32hw.mpy"), ":esp32hw.mpy"],
        ["fs", "cp", os.path.join(ROOT, "firmware", "main.py"), ":main.py"],
    ]
    assert cmds[-2][0] == "exec" and cmds[-1] == ["reset"]


def test_prepare_script_parks_the_watchdog_and_removes_old_code():
    [argv] = commands(dry("deploy", "--port", PORT))
    script = session(argv)[0][1]
    compile(script, "prepare", "exec")
    assert "machine.WDT(timeout=3600000).feed()" in script
    assert '["wasl", "board.py", "board.mpy", "esp32hw.py", "esp32hw.mpy"]' in script
    assert '["data", "data/keys"]' in script
    assert "'/" not in script and '"/' not in script.replace('"/" + n', "")    # relative paths only


def test_clock_is_set_in_utc():
    [argv] = commands(dry("deploy", "--port", PORT))
    script = session(argv)[-2][1]
    tup = ast.literal_eval(script.split("datetime(", 1)[1].rsplit(")", 1)[0])
    y, mo, d, wd, h, mi, s, sub = tup
    then = datetime.datetime(y, mo, d, h, mi, s, tzinfo=datetime.timezone.utc)
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs((now - then).total_seconds()) < 60 and wd == then.weekday() and sub == 0
    fixed = deploy.clock_script(datetime.datetime(2026, 3, 1, 23, 30, 5, tzinfo=datetime.timezone.utc))
    assert "datetime((2026, 3, 1, 6, 23, 30, 5, 0))" in fixed                  # a Sunday: weekday 6


def test_deploy_romfs_and_board_only():
    [argv] = commands(dry("deploy", "--port", PORT, "--board", "esp32_tft_nfc", "--code", "romfs"))
    cmds = session(argv)
    b = build_dir("esp32_tft_nfc")
    assert cmds[1] == ["romfs", "deploy", b + ".romfs"]
    assert not any(c[:2] == ["fs", "cp"] and c[-1] in (":wasl", ":board.mpy") for c in cmds)   # in the image
    assert ["fs", "cp", os.path.join(ROOT, "firmware", "main.py"), ":main.py"] in cmds
    [argv] = commands(dry("deploy", "--port", PORT, "--code", "board", "--no-build"))
    cmds = session(argv)
    assert [c[-1] for c in cmds if c[:2] == ["fs", "cp"]] == [":board.mpy", ":esp32hw.mpy", ":main.py"]
    assert not any(c[0] == "romfs" for c in cmds)


def test_deploy_parameters_keys_and_no_reset(tmp_path):
    (tmp_path / "params.json").write_text("{}")
    (tmp_path / "emv.json").write_text("{}")
    block = tmp_path / "block.tr31"
    block.write_text("D0112...")
    [argv] = commands(dry("deploy", "--port", PORT, "--params", str(tmp_path), "--key-block", str(block),
                          "--no-reset"))
    cmds = session(argv)
    assert cmds[-3:] == [["fs", "cp", str(tmp_path / "params.json"), ":data/params.json"],
                         ["fs", "cp", str(tmp_path / "emv.json"), ":data/emv.json"],
                         ["fs", "cp", str(block), ":data/keys/dukpt.tr31"]]
    res = subprocess.run([sys.executable, "-m", "tools.deploy", "deploy", "--port", PORT, "--params",
                          str(tmp_path / "nothing"), "--dry-run"], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode != 0 and "no params.json" in res.stdout + res.stderr


def test_flash_commands():
    out = dry("flash", "--port", PORT, "--firmware", "micropython-esp32.bin")
    cmds = commands(out)
    esptool = os.path.join(ROOT, ".venv", "bin", "esptool")
    assert cmds[0] == [esptool, "--chip", "esp32", "--port", PORT, "erase-flash"]
    assert cmds[1] == [esptool, "--chip", "esp32", "--port", PORT, "--baud", "460800", "write-flash", "0x1000",
                       "micropython-esp32.bin"]
    assert cmds[2] == ["sleep", str(deploy.FIRST_BOOT_S)]
    assert session(cmds[3])[1][:3] == ["fs", "cp", "-r"] and len(cmds) == 4


def test_esptool_is_pinned_and_installed():
    with open(os.path.join(ROOT, "requirements.txt")) as f:
        pins = dict(line.strip().split("==") for line in f if "==" in line)
    assert pins["esptool"] == "5.6.0"
    res = subprocess.run([os.path.join(ROOT, ".venv", "bin", "esptool"), "version"], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0 and "5.6.0" in res.stdout


def test_refuses_the_sim_board():
    res = subprocess.run([sys.executable, "-m", "tools.deploy", "deploy", "--port", PORT, "--board", "sim",
                          "--dry-run"], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 2 and "not a device board" in res.stderr


def test_constants_agree_with_the_firmware():
    assert deploy.data_dir() == "data"                          # boards/common/esp32hw.py STORAGE = "/data"
    sys.path.insert(0, os.path.join(ROOT, "firmware"))
    try:
        from wasl import watchdog
        assert deploy.PARK_MS == watchdog.PARK_MS
    finally:
        sys.path.remove(os.path.join(ROOT, "firmware"))
    with open(os.path.join(ROOT, "firmware", "wasl", "crypto", "keystore.py")) as f:
        assert 'INBOX_NAME = "%s"' % deploy.KEY_BLOCK in f.read()
    assert [os.path.basename(p) for p in deploy.shared_modules("esp32_generic")] == ["esp32hw.py"]
    assert deploy.shared_modules("sim") == []


def test_makefile_targets():
    env = dict(os.environ)
    env.pop("BOARD", None)
    run = lambda *a: subprocess.run(["make", "-n"] + list(a), cwd=ROOT, capture_output=True, text=True, env=env)
    out = run("deploy", "PORT=/dev/ttyUSB0", "PARAMS=p", "KEYS=k.tr31").stdout
    assert "-m tools.deploy deploy --port /dev/ttyUSB0 --board esp32_generic" in out
    assert "--params p" in out and "--key-block k.tr31" in out
    out = run("deploy", "PORT=x", "BOARD=esp32_tft_nfc", "CODE=romfs").stdout
    assert "--board esp32_tft_nfc --code romfs" in out
    out = run("flash", "PORT=x", "FIRMWARE=fw.bin").stdout
    assert "-m tools.deploy flash --port x --firmware fw.bin --board esp32_generic" in out
    out = run("mpy", "BOARD=esp32_generic").stdout
    assert "tools.mpybuild --board esp32_generic" in out and "tools.deploy shared --board esp32_generic" in out
    res = subprocess.run(["make", "-o", ".venv/.installed", "deploy"], cwd=ROOT, capture_output=True, text=True,
                         env=env)
    assert res.returncode != 0 and "usage: make deploy PORT=" in res.stdout


def test_manifest_freezes_the_package_and_a_board(monkeypatch):
    calls = []
    env = {name: (lambda *a, _n=name, **k: calls.append((_n, a, k))) for name in ("include", "package", "module")}
    monkeypatch.delenv("WASL_BOARD", raising=False)
    with open(os.path.join(ROOT, "manifest.py")) as f:
        exec(compile(f.read(), "manifest.py", "exec"), env)
    assert ("include", ("$(PORT_DIR)/boards/manifest.py",), {}) in calls
    assert ("package", ("wasl",), {"base_path": "firmware"}) in calls
    assert ("module", ("board.py",), {"base_path": "boards/esp32_generic"}) in calls
    assert ("module", ("esp32hw.py",), {"base_path": "boards/common"}) in calls
    for name, args, kw in calls:                  # every path it names exists, relative to the manifest
        if name == "package":
            assert os.path.isfile(os.path.join(ROOT, kw["base_path"], args[0], "__init__.py"))
        elif name == "module":
            assert os.path.isfile(os.path.join(ROOT, kw["base_path"], args[0]))


def test_package_json_lists_every_firmware_file_and_nothing_else():
    with open(os.path.join(ROOT, "package.json")) as f:
        pkg = json.load(f)
    assert pkg == mkpackage.package(), "package.json is out of date: run `make package`"
    srcs = [src for _, src in pkg["urls"]]
    on_disk = set()
    for dirpath, dirs, files in os.walk(os.path.join(ROOT, "firmware", "wasl")):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        on_disk |= {os.path.relpath(os.path.join(dirpath, f), ROOT) for f in files if not f.endswith(".pyc")}
    assert set(srcs) == on_disk and len(srcs) == len(on_disk)
    assert "firmware/wasl/watchdog.py" in srcs and "firmware/main.py" not in srcs
    for dest, src in pkg["urls"]:
        assert src == "firmware/" + dest and dest.startswith("wasl/")
    assert pkg["version"] == mkpackage.version()
    res = subprocess.run([sys.executable, "-m", "tools.mkpackage", "--check"], cwd=ROOT, capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stderr


# ---- for real, through the desktop bridge (tools/upybridge.py: stock mpremote, the unix port) ----------

@pytest.fixture(scope="module")
def romfs_build(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("deploy") / "esp32_generic")
    image = deploy.build("esp32_generic", "romfs", out)
    return out, image


def test_romfs_image_holds_the_board_modules(romfs_build):
    out, image = romfs_build
    assert image == out + ".romfs"
    with open(image, "rb") as f:
        data = f.read()
    assert data[:3] == b"\xd2\xcd\x31"               # ROMFS header
    for name in (b"board.mpy", b"esp32hw.mpy", b"watchdog.mpy", b"app.mpy"):
        assert name in data


def test_deploy_and_mip_through_the_bridge(romfs_build, tmp_path):
    """make deploy's mpremote session, run against the unix port behind a pseudo-terminal: the files land
    where the device's would (the interpreter's working directory is its root), stale code goes, and the
    deployed tree alone builds the board on the unix port. Then mip installs package.json."""
    from tools.upybridge import Bridge

    out, _ = romfs_build
    term = tmp_path / "term"
    (term / "wasl").mkdir(parents=True)
    (term / "wasl" / "app.py").write_text("raise ImportError('stale')\n")   # would shadow app.mpy
    (term / "board.py").write_text("raise ImportError('stale')\n")
    block = tmp_path / "block.tr31"
    block.write_text("D0112B0TX00E0000...")
    params = tmp_path / "params"             # the desktop template, with a CA of the right shape
    params.mkdir()
    with open(os.path.join(ROOT, "boards", "sim", "params.json")) as f:
        doc = json.load(f)
    doc["host"]["ca"] = base64.b64encode(b"\x30\x82\x01\x00" + bytes(252)).decode()
    (params / "params.json").write_text(json.dumps(doc))
    (params / "emv.json").write_text(open(os.path.join(ROOT, "boards", "sim", "emv.json")).read())
    with Bridge(str(term), gate=False) as br:
        res = subprocess.run([sys.executable, "-m", "tools.deploy", "deploy", "--port", br.port, "--out", out,
                              "--no-build", "--no-reset", "--params", str(params),
                              "--key-block", str(block)], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, res.stdout + res.stderr
        assert "wasl deploy: ready" in res.stdout
        mip = subprocess.run([MPREMOTE, "connect", br.port, "mip", "install", "--target", "lib",
                              os.path.join(ROOT, "package.json")], cwd=ROOT, capture_output=True, text=True,
                             timeout=120)
        assert mip.returncode == 0, mip.stdout + mip.stderr
    assert not (term / "board.py").exists() and not (term / "wasl" / "app.py").exists()
    mpys = sorted(os.path.relpath(os.path.join(d, f), str(term)) for d, _, fs in os.walk(str(term / "wasl"))
                  for f in fs)
    assert len(mpys) == len(mkpackage.firmware_files()) and all(m.endswith(".mpy") for m in mpys)
    for name in ("board.mpy", "esp32hw.mpy", "main.py", "data/params.json", "data/emv.json",
                 "data/keys/dukpt.tr31"):
        assert (term / name).is_file(), name
    assert (term / "data" / "keys" / "dukpt.tr31").read_text() == block.read_text()
    installed = sorted(os.path.relpath(os.path.join(d, f), str(term / "lib"))
                       for d, _, fs in os.walk(str(term / "lib")) for f in fs)
    assert installed == sorted(dest for dest, _ in mkpackage.package()["urls"])
    # the deployed files alone (no firmware/ on the path) build the board and read the parameters
    probe = ("import esp32hw\nesp32hw.STORAGE = 'data'\nimport board\nhw = board.build()\n"
             "from wasl import params\np = params.load(hw.storage_root)\n"
             "import wasl.app\nprint('OK', hw.name, hw.lcd.cols, p.terminal_id, wasl.app.__file__)\n")
    res = subprocess.run([MICROPYTHON, "-c", probe], cwd=str(term), capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, MICROPYPATH=FAKES + ":.frozen"))
    assert res.returncode == 0 and res.stdout.startswith("OK esp32_generic 20 "), res.stdout + res.stderr
    assert res.stdout.strip().endswith("wasl/app.mpy")
