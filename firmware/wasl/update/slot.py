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
import json
import os
import sys

FILE = "slot.json"


def _root(board):
    return getattr(board, "DATA_ROOT", "/data")


def _p(root, name):
    return root + "/" + name if root else name


def _save(root, st):
    path = _p(root, FILE)
    with open(path + ".tmp", "w") as f:
        json.dump(st, f)
        f.flush()
    s = getattr(os, "sync", None)
    if s:
        s()
    os.rename(path + ".tmp", path)


def state(root):
    try:
        with open(_p(root, FILE)) as f:
            st = json.load(f)
        return st if isinstance(st, dict) else {}
    except (OSError, ValueError):
        return {}


def finish_params(root):
    """A parameter set whose commit record was written is finished (wasl.tms.paramset); .new files
    without one are dropped."""
    c = _p(root, "params.commit")
    try:
        with open(c) as f:
            names = json.load(f)
    except (OSError, ValueError):
        names = None
    for n in ("params.json", "emv.json"):
        new = _p(root, n) + ".new"
        try:
            os.stat(new)
        except OSError:
            continue
        if isinstance(names, list) and n in names:
            os.rename(new, _p(root, n))
        else:
            os.remove(new)
    try:
        os.remove(c)
    except OSError:
        pass


def select(board):
    """Boot the application slot.json names, in place of this one: returns only when this code is
    the one to run (factory, or the slot already switched to)."""
    root = _root(board)
    prefix = _p(root, "app/")
    for d in sys.path:
        if d.startswith(prefix):
            return           # this is the slot's own boot
    finish_params(root)
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
