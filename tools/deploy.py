"""Put Wasl on an ESP32: compile it, copy it with mpremote, or flash MicroPython first with esptool.

    python -m tools.deploy deploy --port /dev/ttyUSB0 [--board esp32_generic] [--code mpy|romfs|board]
                                  [--params DIR] [--key-block FILE] [--no-reset] [--no-build] [--dry-run]
    python -m tools.deploy flash  --port /dev/ttyUSB0 --firmware micropython-esp32.bin [deploy options]
    python -m tools.deploy shared --board esp32_generic --out build/esp32_generic

deploy  builds build/<board>/ (tools/mpybuild.py, plus the shared board modules of boards/common/ that
        the board file imports) and, for --code romfs, build/<board>.romfs (mpremote's ROMFS builder).
        Then ONE mpremote session: stretch a running watchdog (a deployed terminal's machine.WDT keeps
        running after mpremote's soft reset and would reset the device mid-copy), remove the old code
        from the device's file system (a stale .py shadows a new .mpy), create data/ and data/keys/,
        copy the code, main.py and, from --params DIR, params.json and emv.json into data/ (where
        boards/common/esp32hw.py has the terminal read them), and --key-block as data/keys/dukpt.tr31
        (the key inbox: taken at the next boot, docs/keys.md); set the device's clock from this
        computer's (UTC); hard reset, so the terminal boots the new code.
          mpy    the compiled tree: wasl/ and the board's modules (board.mpy, esp32hw.mpy) on the file system
          romfs  the same tree as a ROMFS image written to the ROMFS partition (`mpremote romfs deploy`;
                 needs a MicroPython build with one), executed in place from flash
          board  only the board's modules, main.py and the parameters: the wasl package is already there
                 (frozen into the firmware with manifest.py, or installed with mip and package.json)
flash   esptool (pinned in requirements.txt): erase the flash, write the MicroPython image at 0x1000
        (the classic ESP32's bootloader offset), wait for its first boot (it makes its file system),
        then deploy.
shared  compiles the shared board modules into an existing .mpy build (`make mpy` runs it).
--dry-run prints the commands instead of running them (and builds nothing). Exit status: that of the
first command that fails.
"""
import argparse
import ast
import datetime
import json
import os
import shlex
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
COMMON = os.path.join(ROOT, "boards", "common")
FLASH_OFFSET = "0x1000"       # classic ESP32 (S2: 0x1000, S3/C3: 0x0)
FIRST_BOOT_S = 5              # a freshly flashed MicroPython makes its littlefs before the REPL answers
PARK_MS = 3600000             # wasl.watchdog.PARK_MS
KEY_BLOCK = "dukpt.tr31"      # wasl.crypto.keystore.INBOX_NAME


def tool(name):
    exe = os.path.join(BIN, name)
    return exe if os.path.exists(exe) else name


def data_dir():
    """The device's data directory, relative to its root: esp32hw.STORAGE without the slash."""
    with open(os.path.join(COMMON, "esp32hw.py"), encoding="utf-8") as f:
        for node in ast.parse(f.read()).body:
            if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "STORAGE":
                return ast.literal_eval(node.value).strip("/")
    raise SystemExit("boards/common/esp32hw.py has no STORAGE")


def shared_modules(board):
    """The modules of boards/common/ that boards/<board>/board.py imports (and those import), as paths."""
    found, todo = [], [os.path.join(ROOT, "boards", board, "board.py")]
    while todo:
        with open(todo.pop(), encoding="utf-8") as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
            for name in names:
                path = os.path.join(COMMON, name.split(".")[0] + ".py")
                if os.path.isfile(path) and path not in found:
                    found.append(path)
                    todo.append(path)
    return sorted(found)


def compile_shared(board, out, march="xtensawin"):
    """Compile the board's shared modules into the build directory `out`. Returns the errors."""
    from tools.mpybuild import mpy_cross

    errors = []
    for src in shared_modules(board):
        name = os.path.basename(src)[:-3]
        res = subprocess.run([mpy_cross(), "-march=" + march, "-s", name, "-o", os.path.join(out, name + ".mpy"),
                              src], capture_output=True, text=True)
        if res.returncode:
            errors.append("%s: %s" % (os.path.relpath(src, ROOT), (res.stderr or res.stdout).strip()))
    return errors


def build(board, code, out):
    """What `make mpy` / `make romfs` make, for this board. Returns the image path for romfs."""
    from tools import mpybuild

    count, errors = mpybuild.build(board, out)
    errors += compile_shared(board, out)
    if errors:
        raise SystemExit("build failed:\n" + "\n".join(errors))
    if code == "romfs":
        image = out + ".romfs"
        run([tool("mpremote"), "romfs", "-o", image, "build", out])
        return image
    return None


def prepare_script(board, data):
    """Runs on the device first: stretch the watchdog, remove the old code, make the data directories.
    Paths are relative to the device's working directory (its root), never absolute."""
    old = ["wasl", "board.py", "board.mpy"]
    for path in shared_modules(board):
        name = os.path.basename(path)[:-3]
        old += [name + ".py", name + ".mpy"]
    return (
        "import os\n"
        "try:\n"
        "    import machine\n"
        "    machine.WDT(timeout=%d).feed()\n"
        "except Exception:\n"
        "    pass\n"
        "def rm(p):\n"
        "    try:\n"
        "        st = os.stat(p)\n"
        "    except OSError:\n"
        "        return\n"
        "    if st[0] & 0x4000:\n"
        "        for n in os.listdir(p):\n"
        "            rm(p + \"/\" + n)\n"
        "        os.rmdir(p)\n"
        "    else:\n"
        "        os.remove(p)\n"
        "for p in %s:\n"
        "    rm(p)\n"
        "for d in %s:\n"
        "    try:\n"
        "        os.mkdir(d)\n"
        "    except OSError:\n"
        "        pass\n"
        "print(\"wasl deploy: ready\")\n" % (PARK_MS, json.dumps(old), json.dumps([data, data + "/keys"])))


def clock_script(now=None):
    """Sets the device's RTC to UTC (the firmware's clock is UTC; params.tz_offset_min makes local
    time). mpremote's own `rtc --set` would set this computer's local time."""
    t = (now or datetime.datetime.now(datetime.timezone.utc)).timetuple()
    return "import machine\nmachine.RTC().datetime((%d, %d, %d, %d, %d, %d, %d, 0))\n" % (
        t.tm_year, t.tm_mon, t.tm_mday, t.tm_wday, t.tm_hour, t.tm_min, t.tm_sec)


def deploy_commands(port, board, code, out, params=None, key_block=None, reset=True, now=None):
    """The mpremote command line (one session, commands joined by '+')."""
    data = data_dir()
    cmd = [tool("mpremote"), "connect", port, "exec", prepare_script(board, data)]
    # one `fs cp` per file, each to its full device path: mpremote treats ":" (the device's working
    # directory) as missing, and a directory copied to a missing destination becomes that destination
    def cp(src, dst):
        return ["+", "fs", "cp", src, ":" + dst]

    if code == "mpy":
        cmd += ["+", "fs", "cp", "-r", os.path.join(out, "wasl"), ":wasl"]   # removed above: made anew
    elif code == "romfs":
        cmd += ["+", "romfs", "deploy", out + ".romfs"]
    if code in ("mpy", "board"):
        for name in ["board"] + [os.path.basename(p)[:-3] for p in shared_modules(board)]:
            cmd += cp(os.path.join(out, name + ".mpy"), name + ".mpy")
    cmd += cp(os.path.join(ROOT, "firmware", "main.py"), "main.py")
    if params:
        found = [f for f in ("params.json", "emv.json") if os.path.isfile(os.path.join(params, f))]
        if "params.json" not in found:
            raise SystemExit("%s: no params.json there" % params)
        for f in found:
            cmd += cp(os.path.join(params, f), "%s/%s" % (data, f))
    if key_block:
        cmd += cp(key_block, "%s/keys/%s" % (data, KEY_BLOCK))
    if reset:
        cmd += ["+", "exec", clock_script(now), "+", "reset"]
    return cmd


def flash_commands(port, firmware, chip="esp32", baud=460800):
    esptool = [tool("esptool"), "--chip", chip, "--port", port]
    return [esptool + ["erase-flash"],
            esptool + ["--baud", str(baud), "write-flash", FLASH_OFFSET, firmware]]


def run(cmd):
    res = subprocess.run(cmd)
    if res.returncode:
        raise SystemExit(res.returncode)


def show(cmd):
    print(shlex.join(cmd))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="what", required=True)
    for name in ("deploy", "flash"):
        p = sub.add_parser(name)
        p.add_argument("--port", required=True)
        p.add_argument("--board", default="esp32_generic")
        p.add_argument("--code", choices=("mpy", "romfs", "board"), default="mpy")
        p.add_argument("--out", help="the build directory (default build/<board>)")
        p.add_argument("--params", help="a directory holding params.json (and emv.json) for the terminal")
        p.add_argument("--key-block", help="a TR-31 key block (tools/keyinject.py --print-block) for the key inbox")
        p.add_argument("--no-build", action="store_true", help="use the build already in --out")
        p.add_argument("--no-reset", action="store_true", help="leave the device at its REPL (no clock, no reset)")
        p.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
        if name == "flash":
            p.add_argument("--firmware", required=True, help="the MicroPython image (.bin) for the ESP32")
            p.add_argument("--chip", default="esp32")
            p.add_argument("--baud", type=int, default=460800)
    p = sub.add_parser("shared")
    p.add_argument("--board", required=True)
    p.add_argument("--out", required=True)
    a = ap.parse_args(argv)

    if a.what == "shared":
        errors = compile_shared(a.board, a.out)
        for e in errors:
            print(e, file=sys.stderr)
        names = [os.path.basename(p)[:-3] for p in shared_modules(a.board)]
        if names:
            print("shared board modules compiled into %s: %s" % (os.path.relpath(a.out, ROOT), ", ".join(names)))
        return 1 if errors else 0

    if a.board == "sim" or not os.path.isfile(os.path.join(ROOT, "boards", a.board, "board.py")):
        print("%s: not a device board (boards/<board>/board.py; sim is the desktop's)" % a.board, file=sys.stderr)
        return 2
    for f in (a.params and os.path.join(a.params, "params.json"), a.key_block,
              getattr(a, "firmware", None)):
        if f and not os.path.isfile(f) and not a.dry_run:
            print("%s: no such file" % f, file=sys.stderr)
            return 2
    out = a.out or os.path.join(ROOT, "build", a.board)
    steps = []
    if a.what == "flash":
        if not a.dry_run and not os.path.exists(tool("esptool")) and not shutil.which("esptool"):
            print("esptool is not installed: `make venv` installs the version pinned in requirements.txt\n"
                  "(or: %s -m pip install esptool==5.6.0)" % sys.executable, file=sys.stderr)
            return 2
        steps += flash_commands(a.port, a.firmware, a.chip, a.baud)
        steps.append(["sleep", str(FIRST_BOOT_S)])
    steps.append(None)      # the mpremote session, made when its turn comes (it carries the time)

    def session():
        return deploy_commands(a.port, a.board, a.code, out, a.params, a.key_block, not a.no_reset)

    if a.dry_run:
        if not a.no_build:
            print("# build %s: tools/mpybuild.py and the shared board modules%s" % (
                os.path.relpath(out, ROOT), ", then its ROMFS image %s.romfs" % os.path.relpath(out, ROOT)
                if a.code == "romfs" else ""))
        for s in steps:
            show(s or session())
        return 0
    if not a.no_build:
        build(a.board, a.code, out)
    elif not os.path.isdir(out) or a.code == "romfs" and not os.path.isfile(out + ".romfs"):
        print("%s: no build (make %s BOARD=%s)" % (out, "romfs" if a.code == "romfs" else "mpy", a.board),
              file=sys.stderr)
        return 2
    for s in steps:
        if s is None:
            run(session())
        elif s[0] == "sleep":
            time.sleep(int(s[1]))
        else:
            run(s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
