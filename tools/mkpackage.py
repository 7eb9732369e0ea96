"""Write package.json, the mip package of the firmware: one [dest, src] pair per file under firmware/wasl.

    python -m tools.mkpackage            # (re)write package.json at the repository's root
    python -m tools.mkpackage --check    # exit 1 when package.json is not what this would write

    mpremote mip install github:<owner>/<repo>              # on the device: wasl/ into /lib
    mpremote mip install --target lib package.json           # the same from this working tree

The sources are relative to package.json, so mip fetches them next to it (from the repository, or this
directory). mip copies the .py sources: the device compiles each module when it first imports it, which
costs heap a compiled build (`make deploy`, docs/deploy.md) does not. The board file, its shared modules
and main.py are not in the package: `make deploy CODE=board` copies those and the parameters.
"""
import argparse
import ast
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "package.json")
SKIP_DIRS = ("__pycache__",)
SKIP_SUFFIXES = (".pyc", ".pyo", "~")


def firmware_files(root=ROOT):
    """Every file under firmware/wasl (caches and editor leftovers aside), as paths relative to root."""
    out = []
    base = os.path.join(root, "firmware", "wasl")
    for dirpath, dirs, files in os.walk(base):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        for f in files:
            if f.startswith(".") or f.endswith(SKIP_SUFFIXES):
                continue
            out.append(os.path.relpath(os.path.join(dirpath, f), root).replace(os.sep, "/"))
    return sorted(out)


def version(root=ROOT):
    with open(os.path.join(root, "firmware", "wasl", "__init__.py"), encoding="utf-8") as f:
        for node in ast.parse(f.read()).body:
            if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "VERSION":
                return ast.literal_eval(node.value)
    raise SystemExit("firmware/wasl/__init__.py has no VERSION")


def package(root=ROOT):
    return {"urls": [[src[len("firmware/"):], src] for src in firmware_files(root)], "version": version(root)}


def text(pkg):
    """JSON, one [dest, src] pair a line (a file added or removed is one line of a diff)."""
    pairs = ",\n".join("  " + json.dumps(pair) for pair in pkg["urls"])
    return '{\n "urls": [\n%s\n ],\n "version": %s\n}\n' % (pairs, json.dumps(pkg["version"]))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="only compare with the package.json there")
    a = ap.parse_args(argv)
    want = text(package())
    if a.check:
        try:
            with open(PACKAGE, encoding="utf-8") as f:
                have = f.read()
        except OSError:
            have = None
        if have != want:
            print("package.json is out of date: run `make package` (python -m tools.mkpackage)", file=sys.stderr)
            return 1
        print("package.json is up to date (%d files)" % len(package()["urls"]))
        return 0
    with open(PACKAGE, "w", encoding="utf-8") as f:
        f.write(want)
    print("package.json: %d files, version %s" % (len(package()["urls"]), version()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
