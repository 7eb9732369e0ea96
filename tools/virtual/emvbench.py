# EMV kernel figures on the MicroPython unix port (run by micropython, not CPython):
#
#   MICROPYPATH=.frozen:firmware .venv/bin/micropython tools/virtual/emvbench.py [runs]
#   MICROPYPATH=.frozen:build/sim .venv/bin/micropython tools/virtual/emvbench.py      # from .mpy
#   .venv/bin/micropython tools/virtual/emvbench.py 50 build/sim.romfs                 # from ROMFS
#
# With a ROMFS image (make romfs) the code runs in place, as from a device's flash: the image is read
# into the heap first, before the baseline, as boards/sim/romboot.py does.
# Replays recorded transcripts (host_tests/fw/fixtures/emv_transcripts.json, made by
# tools/virtual/emvrecord.py) through the kernel with a transport that answers from bytes prepared
# beforehand, so the figures are the kernel's own: CPU time per transaction (median and minimum;
# card latency and garbage collection excluded),
# bytes allocated per transaction (gc.mem_alloc delta with the collector off: all allocations, most
# of them short-lived), and the heap taken by importing the package. Prints one JSON line.
#
# Peak heap: `emvbench.py 1 IMAGE|- FIXTURE NAME run|skip` runs one transcript from a small fixture
# file and prints "ok"; bisecting -X heapsize over "run" and "skip" (the baseline) gives the kernel's
# peak (docs/emv.md, section Figures).
import gc
import json
import sys
import time

try:
    import asyncio
except ImportError:  # pragma: no cover
    import uasyncio as asyncio

NAMES = ("visa_online_approved", "mc_online_pin_t0", "contactless_online", "bad_declines")


def _root():
    f = __file__
    for _ in range(3):
        i = f.rfind("/")
        f = f[:i] if i > 0 else "."
    return f


class Replay:
    def __init__(self, apdus):
        from binascii import unhexlify
        self.cmds = [unhexlify(c) if c else None for c, _ in apdus]
        self.resps = [None if r == "REMOVED" else unhexlify(r) for _, r in apdus]
        self.i = 0

    async def exchange(self, capdu):
        i = self.i
        self.i = i + 1
        if capdu != self.cmds[i]:
            raise AssertionError("command %d differs from the transcript" % i)
        return self.resps[i]


class Rng:
    def __init__(self, given):
        from binascii import unhexlify
        self.given = [unhexlify(x) for x in given]
        self.i = 0

    def __call__(self, n):
        v = self.given[self.i]
        self.i += 1
        return v


def prepare(t):
    from binascii import unhexlify
    o = t["online"]
    online = None
    if o is not None:
        online = (o["rc"], unhexlify(o["issuer_data"]) if o["issuer_data"] else b"")
    return t, Replay(t["apdus"]), Rng(t["random"]), online


async def one(Kernel, params, prep):
    t, tr, rng, online = prep

    async def pin(r):
        return t["pin"]

    async def choose(labels):
        return t["choose"]

    k = Kernel(tr, params, entry=t["entry"], choose=choose, pin=pin, rng=rng)
    r = await k.start(t["amount"], tuple(t["now"]))
    if online is not None:
        r = await k.complete(online[0], online[1])
    want = (t["final"] or t["first"])["outcome"]
    if r.outcome != want:
        raise AssertionError("%s: %s, recorded %s" % (t["name"], r.outcome, want))
    k.wipe()
    return k


async def _nop():
    return None


def peak(path, name, skip):
    """Smallest-heap probe: load one transcript from a small file (a transcripts document holding it,
    with "params" at the top or in the transcript), then import and run the kernel once, unless skip
    (the baseline). Bisecting -X heapsize over both gives the kernel's peak."""
    with open(path) as f:
        doc = json.load(f)
    t = [x for x in doc["transcripts"] if x["name"] == name][0]
    params = t.get("params") or doc["params"]
    prep = prepare(t)
    doc = None
    gc.collect()
    if not skip:
        from wasl.emv.kernel import Kernel
        asyncio.run(one(Kernel, params, prep))
    print("ok")


def main(runs):
    gc.collect()
    base = gc.mem_alloc()
    import wasl.emv.kernel  # noqa: F401  (the whole package: kernel imports every step)
    gc.collect()
    imported = gc.mem_alloc() - base
    Kernel = wasl.emv.kernel.Kernel
    with open(_root() + "/host_tests/fw/fixtures/emv_transcripts.json") as f:
        doc = json.load(f)
    params = doc["params"]
    by_name = {t["name"]: t for t in doc["transcripts"]}
    out = {"runtime": sys.implementation.name, "import_bytes": imported, "runs": runs, "transactions": {}}
    for name in NAMES:
        t = by_name[name]
        asyncio.run(one(Kernel, params, prepare(t)))       # warm-up (asyncio, interned strings)
        # allocation of one transaction, collector off
        prep = prepare(t)
        asyncio.run(_nop())                 # asyncio keeps the last task: drop the warm-up's
        gc.collect()
        gc.disable()
        a0 = gc.mem_alloc()
        k = asyncio.run(one(Kernel, params, prep))
        a1 = gc.mem_alloc()
        gc.enable()
        del k
        # CPU time: the median of `runs` transactions, each with its responses prepared beforehand and
        # the heap collected before it (so no collection runs inside: the kernel's time alone)
        times = []
        for _ in range(runs):
            p = prepare(t)
            gc.collect()
            t0 = time.ticks_us()
            asyncio.run(one(Kernel, params, p))
            times.append(time.ticks_diff(time.ticks_us(), t0))
        times.sort()
        out["transactions"][name] = {"apdus": len(t["apdus"]), "alloc_bytes": a1 - a0,
                                     "cpu_us_median": times[len(times) // 2], "cpu_us_min": times[0]}
        p = times = None
        gc.collect()
    print(json.dumps(out))


def mount(path):
    import os
    import vfs
    img = bytearray(os.stat(path)[6])
    with open(path, "rb") as f:
        f.readinto(img)
    vfs.mount(vfs.VfsRom(memoryview(img)), "/rom")
    sys.path[:] = ["/rom", ".frozen"]
    return img


if __name__ == "__main__":
    # argv: runs [romfs image | -] [peak: small fixture path, transcript name, "skip"|"run"]
    _img = mount(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2] != "-" else None
    if len(sys.argv) > 5:
        peak(sys.argv[3], sys.argv[4], sys.argv[5] == "skip")
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
