# A software bundle from the TMS (docs/tms.md), downloaded in the background into the slot that is
# not running: a signed manifest (kind "software", a version, every file with its size and SHA-256),
# then the files, a ranged request at a time, resumed after a reboot or a lost link from what the
# slot already holds. When every file is there, every hash is checked (read back from the storage); a
# bundle that passes is "ready" and stays dormant until wasl.tms.session activates it at a quiet
# moment. A bad signature, a bad hash, or a version not newer than the running one is refused.
#
# update.json: {"v": version, "slot": "a" | "b", "st": "dl" | "ready", "i": next file to fetch}
from wasl import VERSION
from wasl.tms.signed import Refused, fetch_part, file_sha256, load, makedirs, remove, rmtree, save, \
    size, verify
from wasl.update.slot import state

FILE = "update.json"
MAX_TOTAL = 1536 * 1024          # what a slot may take on the data partition


def vtuple(v):
    """"1.2.3" -> (1, 2, 3); None if it is not a dotted version."""
    if not isinstance(v, str) or not v or len(v) > 16:
        return None
    out = []
    for part in v.split("."):
        if not part or not part.isdigit():
            return None
        out.append(int(part))
    return tuple(out)


def running_version(root):
    st = state(root)
    return VERSION if not st.get("run") else (st.get("ver") or VERSION)


def newer(offered, root):
    """True when `offered` is a version this terminal should fetch: newer than the running one and not
    the one rolled back last."""
    o = vtuple(offered)
    return o is not None and o > vtuple(VERSION) and offered != state(root).get("bad")


def _p(root, name):
    return root + "/" + name if root else name


def progress(root):
    return load(_p(root, FILE))


def start(root, pub, body, sig):
    """A new download from a verified manifest; returns its record. Refused when the bundle is not
    acceptable (signature, shape, downgrade, the version rolled back before)."""
    m = verify(pub, body, sig, "software", MAX_TOTAL)
    v = m.get("version")
    if vtuple(v) is None:
        raise Refused("tms_bad_document", "software manifest: bad version")
    if vtuple(v) <= vtuple(VERSION):
        raise Refused("tms_old_version", "software %s, terminal runs %s" % (v, VERSION))
    if v == state(root).get("bad"):
        raise Refused("tms_old_version", "software %s was rolled back" % v)
    for f in m["files"]:
        if not f[0].startswith("wasl/"):
            raise Refused("tms_bad_document", "software file %s outside wasl/" % f[0])
    slot = "b" if state(root).get("run") == "a" else "a"
    d = _p(root, "app/" + slot)
    rmtree(d)
    makedirs(d)
    with open(d + ".man", "wb") as f:        # the manifest as signed, for the resumed download
        f.write(body)
    rec = {"v": v, "slot": slot, "st": "dl", "i": 0}
    save(_p(root, FILE), rec)
    return rec


def abandon(root):
    rec = progress(root)
    if rec:
        rmtree(_p(root, "app/" + rec["slot"]))
        remove(_p(root, "app/" + rec["slot"] + ".man"))
    remove(_p(root, FILE))


def _manifest(root, rec):
    import json

    with open(_p(root, "app/" + rec["slot"] + ".man")) as f:
        return json.load(f)


async def step(server, root, rec, headers, more):
    """Fetch parts of the bundle while more() is true. True once it is complete and verified ("ready");
    Refused when a file does not match its hash (the download is then abandoned)."""
    m = _manifest(root, rec)
    files = m["files"]
    d = _p(root, "app/" + rec["slot"])
    i = rec.get("i", 0)
    while i < len(files):
        name, n, _ = files[i]
        path = d + "/" + name
        if size(path) < 0:
            makedirs(path[:path.rfind("/")])
        if not more():
            return False
        if await fetch_part(server, "/v1/software/%s/%s" % (rec["v"], name), path, n, headers):
            i += 1
            rec["i"] = i
            save(_p(root, FILE), rec)
    for name, n, digest in files:       # complete: every file read back and hashed
        path = d + "/" + name
        if size(path) != n or file_sha256(path) != digest:
            abandon(root)
            raise Refused("tms_bad_hash", "software %s: %s does not match its manifest" % (rec["v"], name))
    rec["st"] = "ready"
    save(_p(root, FILE), rec)
    return True
