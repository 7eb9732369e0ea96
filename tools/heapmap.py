"""Where the firmware's heap goes: live bytes at each UI state of a scenario, and at chosen states the
interned names (count, bytes, the longest) and the resident modules with what each costs.

    python -m tools.heapmap [host_tests/scenarios/sale_approved.json] [--state copy_prompt] [--names]

The scenario runs from the ROMFS image in a large heap (nothing fails for lack of memory, so every state
is reached); the board (boards/sim/heapmap.py, loaded only when WASL_HEAPMAP is set) prints the port's own
tables at the chosen states. Module costs are measured in a fresh interpreter that imports the resident
modules one by one: bytes of objects (functions, dicts, classes, constants) and, apart, bytes of the
name-pool entries they add (a name's characters stay in the image: the heap holds its pool entry).
The live heap excludes the ROMFS image the unix port holds in its heap (a device maps it from flash).
docs/heap.md explains the figures and how they were used.
"""
import argparse
import ast
import json
import os
import re
import subprocess
import sys
import tempfile

from tools.scenario import Run
from tools.simlink import MICROPYTHON, ROOT, build_code

_POOL = re.compile(r"qstr pool: n_pool=(\d+), n_qstr=(\d+), n_str_data_bytes=(\d+), n_total_bytes=(\d+)")
_BLOCK = 32     # GC block on the 64-bit unix port (4 machine words)

# Run in a fresh interpreter: mount the image as romboot does, import the modules named in a file one by
# one, print after each the live heap and the name table's totals.
_MEASURE = r"""
import gc, os, sys, vfs, micropython
img = bytearray(os.stat(os.getenv("WASL_ROMFS"))[6])
with open(os.getenv("WASL_ROMFS"), "rb") as f:
    f.readinto(img)
vfs.mount(vfs.VfsRom(memoryview(img)), "/rom")
sys.path[:] = ["/rom", ".frozen"]
with open(os.getenv("HEAPMAP_MODULES")) as f:
    names = f.read().split()
for m in names:
    gc.collect()
    a = gc.mem_alloc()
    micropython.qstr_info()
    __import__(m)
    gc.collect()
    print("module", m, gc.mem_alloc() - a)
    micropython.qstr_info()
"""


def image_bytes(path):
    n = os.path.getsize(path)
    return (n + _BLOCK - 1) // _BLOCK * _BLOCK + _BLOCK   # its blocks and the bytearray object


def parse_dump(lines):
    """The lines between heapmap-begin and heapmap-end: (names, pool totals dict, mem_info text)."""
    text = "\n".join(lines)
    names = re.findall(r"^Q\((.*?)\)$(?=\nQ\(|\nmem: )", text, re.M | re.S)
    m = _POOL.search(text)
    pools = dict(zip(("pools", "names", "string_bytes", "total_bytes"), map(int, m.groups()))) if m else {}
    return names, pools, text[text.find("\nmem: ") + 1:].strip()


def source_of(module):
    base = os.path.join(ROOT, "firmware", *module.split("."))
    for path in (base + ".py", os.path.join(base, "__init__.py"),
                 os.path.join(ROOT, "boards", "sim", module + ".py")):
        if os.path.exists(path):
            return path
    return None


def leaves_first(modules):
    """`modules` ordered so that each comes after the modules it imports at its top level (from the
    sources), so that each import's cost is its own and not its dependencies'."""
    deps = {}
    for m in modules:
        found = set()
        path = source_of(m)
        if path:
            for node in ast.parse(open(path).read()).body:
                if isinstance(node, ast.Import):
                    found.update(a.name for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module:
                    found.add(node.module)
                    found.update("%s.%s" % (node.module, a.name) for a in node.names)
        parts = m.split(".")
        found.update(".".join(parts[:i]) for i in range(1, len(parts)))   # its packages
        deps[m] = {d for d in found if d in modules and d != m}
    out, seen = [], set()

    def visit(m):
        if m in seen:
            return
        seen.add(m)
        for d in sorted(deps[m]):
            visit(d)
        out.append(m)
    for m in sorted(modules):
        visit(m)
    return out


def run_scenario(path, states, heap):
    with open(path) as f:
        sc = json.load(f)
    sc["env"] = dict(sc.get("env", {}), WASL_HEAPMAP=",".join(states))
    run = Run(sc, tempfile.mkdtemp(prefix="wasl-heapmap-"), heap, "romfs")
    try:
        run.setup()
        for st in sc["steps"]:
            run.step(st)
        run.fw.stop()
    finally:
        run.teardown()
    return run.fw


def dumps_by_state(junk):
    out, cur = {}, None
    for line in junk:
        if line.startswith("heapmap-begin "):
            cur = out[line.split(" ", 1)[1]] = []     # a state shown twice (idle): its last visit
        elif line == "heapmap-end":
            cur = None
        elif cur is not None:
            cur.append(line)
    return out


def module_costs(modules, image):
    """[(module, object bytes, name bytes)] for `modules` imported in that order in a fresh interpreter."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write(" ".join(modules))
        listing = f.name
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(_MEASURE)
        script = f.name
    path, _, _ = build_code("mpy")
    env = dict(os.environ, WASL_ROMFS=image, HEAPMAP_MODULES=listing, MICROPYPATH=path)
    res = subprocess.run([MICROPYTHON, "-X", "heapsize=2M", script], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    os.unlink(listing)
    os.unlink(script)
    if res.returncode:
        raise SystemExit("module measurement failed: %s" % (res.stderr or res.stdout)[-400:])
    rows, before = [], None
    for line in res.stdout.splitlines():
        m = _POOL.match(line)
        if m:
            total = int(m.group(4)) - int(m.group(3))   # the pools' heap bytes; the characters stay in the image
            if before is not None and rows and rows[-1][2] is None:
                name, alloc, _ = rows[-1]
                rows[-1] = (name, alloc - (total - before), total - before)
            before = total
        elif line.startswith("module "):
            _, name, alloc = line.split()
            rows.append((name, int(alloc), None))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scenario", nargs="?", default=os.path.join("host_tests", "scenarios", "sale_approved.json"))
    ap.add_argument("--state", action="append",
                    help="UI state to break down, at its last visit (default: copy_prompt)")
    ap.add_argument("--heap", default="400K", help="-X heapsize of the run (large: the run must not fail)")
    ap.add_argument("--names", action="store_true", help="list every interned name")
    a = ap.parse_args(argv)
    states = a.state or ["copy_prompt"]
    _, _, image = build_code("romfs")
    held = image_bytes(image)
    fw = run_scenario(a.scenario, states, a.heap)
    print("Live heap at each UI state (bytes, after a collection, the ROMFS image's %d bytes excluded):" % held)
    for ev in fw.events:
        if ev.get("ev") == "state":
            print("  %-16s %7d" % (ev["state"], ev["heap"] - held))
    dumps = dumps_by_state(fw.stdout_junk)
    maps = {ev["state"]: ev for ev in fw.events if ev.get("ev") == "heapmap"}
    for state in states:
        if state not in maps:
            print("\nstate %r was not reached" % state)
            continue
        names, pools, mem = parse_dump(dumps.get(state, []))
        live = maps[state]["alloc"] - held
        print("\nAt %s: %d bytes live" % (state, live))
        pools["pool_bytes"] = pools["total_bytes"] - pools["string_bytes"]
        print("  interned names: %(names)d in %(pools)d pools, %(pool_bytes)d bytes of pool entries "
              "(+ %(string_bytes)d characters, most of them read in place from the image)" % pools)
        paths = [n for n in names if n.endswith(".mpy")]
        print("  of which module file names (__file__): %d" % len(paths))
        if a.names:
            print("  " + " ".join(names))
        print("  the port's summary: " + " | ".join(line.strip() for line in mem.splitlines()))
        modules = leaves_first([m for m in maps[state]["modules"].split()
                                if m not in ("__main__", "romboot", "heapmap", "wasl.boot")])
        rows = module_costs(modules, image)
        print("  resident modules, imported in turn in a fresh interpreter (bytes of objects / of name-pool entries):")
        for name, objs, qbytes in sorted(rows, key=lambda r: -r[1]):
            print("    %-30s %6d %6d" % (name, objs, qbytes or 0))
        print("    %-30s %6d %6d" % ("total", sum(r[1] for r in rows), sum(r[2] or 0 for r in rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
