# Application slots and the trial boot (docs/tms.md). Runs at boot, before the board is built, from
# wasl/boot.py: nothing here may need more than os, sys and json.
#
# The code the device was deployed with (frozen, ROMFS or the /wasl tree) is the factory application.
# A software update lives in a slot, <data>/app/a or <data>/app/b, a tree holding wasl/...; slot.json
# says which one runs:
#   {"run": "a" or null (factory), "ver": its version, "prev": the slot to go back to, "pver": its version,
#    "st": "good" | "trial" (activated, never booted) | "boot" (booted once, not yet seen idle),
#    "bad": the last version rolled back, "rb": roll-backs so far}
# "trial" -> "boot" is saved before the new code is imported; the application marks the slot "good"
# when it reaches the idle screen (confirm()). Finding "boot" at boot means the new version never got
# there (it crashed, hung, was reset): the previous application boots instead, for good.
#
# A parameter set from the TMS boots on trial the same way (wasl.tms.paramset keeps the files it
# replaces as <name>.prev); params.trial says where it stands:
#   {"st": "trial" | "boot", "v": the new set's version, "names": its files, "prev": those that had a
#    previous version} -- or, once rolled back, {"st": "bad", "v": the version rolled back}.
# Finding "boot" at boot means the new parameters never got the terminal to its idle screen (a fault
# at boot, a reset loop, out of service): the previous files come back.
import json
import os
import sys

FILE = "slot.json"
COMMIT = "params.commit"
PTRIAL = "params.trial"
NAMES = ("params.json", "emv.json")


def _root(board):
    return getattr(board, "DATA_ROOT", "/data")


def _p(root, name):
    return root + "/" + name if root else name


def _save(root, st, name=FILE):
    path = _p(root, name)
    with open(path + ".tmp", "w") as f:
        json.dump(st, f)
        f.flush()
    s = getattr(os, "sync", None)
    if s:
        s()
    os.rename(path + ".tmp", path)


def state(root, name=FILE):
    try:
        with open(_p(root, name)) as f:
            st = json.load(f)
        return st if isinstance(st, dict) else {}
    except (OSError, ValueError):
        return {}


def _gone(path):
    try:
        os.remove(path)
    except OSError:
        pass


def params_trial(root):
    """At boot, after finish_params: a parameter set on trial boots once; one that booted and was never
    confirmed at the idle screen is replaced by the previous set. Safe to repeat after a power cut."""
    t = state(root, PTRIAL)
    if t.get("st") == "trial":
        t["st"] = "boot"
        _save(root, t, PTRIAL)
    elif t.get("st") == "boot":
        for n in t.get("names", ()):
            if n not in NAMES:
                continue
            path = _p(root, n)
            if n in t.get("prev", ()):
                try:
                    os.rename(path + ".prev", path)
                except OSError:
                    pass            # restored before a power cut
            else:
                _gone(path)         # the set brought it: the terminal had none
        _save(root, {"st": "bad", "v": t.get("v")}, PTRIAL)
        sys.stderr.write("ERR params: parameters v%s did not reach idle: previous set restored\n" % t.get("v"))


def confirm_params(root):
    """The terminal reached the idle screen on a parameter set on trial: it stays, the previous files
    go. Returns its version, or None."""
    t = state(root, PTRIAL)
    if t.get("st") != "boot":
        return None
    for n in t.get("prev", ()):
        if n in NAMES:
            _gone(_p(root, n) + ".prev")
    _gone(_p(root, PTRIAL))
    return t.get("v")


def finish_params(root, cut=None):
    """A parameter set whose commit record was written (wasl.tms.paramset.commit) is finished: its .new
    files replace the old ones and it is put on trial; .new files without a record are dropped.
    Repeated whole after a power cut. `cut(step)` is the power-cut tests' hook."""
    c = _p(root, COMMIT)
    try:
        with open(c) as f:
            rec = json.load(f)
    except (OSError, ValueError):
        rec = None
    if isinstance(rec, list):           # a record of an earlier version: the names alone, no trial
        rec = {"names": rec}
    names = rec.get("names") if isinstance(rec, dict) else None
    if not isinstance(names, list):
        names = ()
    for n in NAMES:
        new = _p(root, n) + ".new"
        try:
            os.stat(new)
        except OSError:
            continue
        if n in names:
            os.rename(new, _p(root, n))
            if cut:
                cut(3)
        else:
            os.remove(new)
    if names and "v" in rec:
        _save(root, {"st": "trial", "v": rec["v"], "names": [n for n in names if n in NAMES],
                     "prev": rec.get("prev", [])}, PTRIAL)
    elif state(root, PTRIAL).get("st") not in ("trial", "boot"):
        for n in NAMES:                 # copies of a commit the power cut before its record
            _gone(_p(root, n) + ".prev")
    s = getattr(os, "sync", None)
    if s:
        s()
    _gone(c)
    if cut:
        cut(4)


def select(board):
    """Boot the application slot.json names, in place of this one: returns only when this code is
    the one to run (factory, or the slot already switched to)."""
    root = _root(board)
    prefix = _p(root, "app/")
    for d in sys.path:
        if d.startswith(prefix):
            return           # this is the slot's own boot
    finish_params(root)
    params_trial(root)
    st = state(root)
    run = st.get("run")
    if not run:
        return
    if st.get("st") == "boot":           # the trial boot never reached the idle screen
        sys.stderr.write("ERR update: version %s did not reach idle: back to %s\n"
                         % (st.get("ver"), st.get("pver") or "factory"))
        st = {"run": st.get("prev"), "ver": st.get("pver"), "prev": None, "pver": None, "st": "good",
              "bad": st.get("ver"), "rb": st.get("rb", 0) + 1}
        _save(root, st)
        run = st["run"]
        if not run:
            return
    elif st.get("st") == "trial":
        st["st"] = "boot"
        _save(root, st)
    d = _p(root, "app/" + run)
    for name in list(sys.modules):     # board, wasl.*, and what the board imported (esp32hw...)
        if name != "__main__":
            del sys.modules[name]
    sys.path.insert(0, d)
    try:
        __import__("wasl.boot")
    except Exception as e:               # the slot's code failed before its own handlers: reset
        sys.stderr.write("ERR update: version %s failed at boot: %r\n" % (st.get("ver"), e))
        try:
            import machine

            machine.reset()
        except (ImportError, AttributeError):
            pass
        raise SystemExit(1)
    raise SystemExit(0)


def confirm(root):
    """The application reached the idle screen: a slot on trial is good from now on. Returns the
    version confirmed, or None."""
    st = state(root)
    if st.get("run") and st.get("st") == "boot":
        st["st"] = "good"
        _save(root, st)
        return st.get("ver")
    return None


def activate(root, slot, version):
    """Make `slot` (complete and verified) boot next, on trial; the slot running now (or the factory
    application) is the one to go back to."""
    st = state(root)
    cur = st.get("run")
    _save(root, {"run": slot, "ver": version, "prev": cur, "pver": st.get("ver") if cur else None,
                 "st": "trial", "bad": st.get("bad"), "rb": st.get("rb", 0)})
