# A software bundle from the TMS (docs/tms.md), downloaded in the background into the slot that is
# not running: a signed manifest (its version, every file with its size and SHA-256: see start()),
# then the files, a ranged request at a time, resumed after a reboot or a lost link from what the
# slot already holds. When every file is there, every hash is checked (read back from the storage); a
# bundle that passes is "ready" and stays dormant until wasl.tms.session activates it at a quiet
# moment. A bad signature, a bad hash, or a version not newer than the running one is refused.
#
# update.json: {"v": version, "slot": "a" | "b", "st": "dl" | "ready", "i": next file to fetch,
#               "h": next file to hash once all are fetched}
from wasl import VERSION
from wasl.events import sleep_ms
from wasl.tms.signed import Refused, check_entry, check_signature, fetch_part, fetch_signed, file_sha256, \
    load, makedirs, remove, rmtree, save, size
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


def newer(offered, root):
    """True when `offered` is a version this terminal should fetch: newer than the running one and not
    the one rolled back last."""
    o = vtuple(offered)
    return o is not None and o > vtuple(VERSION) and offered != state(root).get("bad")


def _p(root, name):
    return root + "/" + name if root else name


def progress(root):
    return load(_p(root, FILE))


def _entry(f):
    """The next (name, size, sha256 hex) of a software manifest open as f (after its first line,
    "wasl-software <version>"), read a line at a time; None at its end."""
    line = f.readline()
    if not line:
        return None
    parts = line.split()
    if len(parts) != 3 or not parts[1].isdigit():
        raise Refused("tms_bad_document", "software manifest: bad line")
    return parts[2], int(parts[1]), parts[0]


async def start(server, root, pub, headers, offered):
    """A new download: the manifest of `offered` streamed into the idle slot's place, its signature
    checked, then every line; returns the download's record. Refused when the bundle is not acceptable
    (signature, shape, downgrade, the version rolled back before), the slot then left empty.

    The manifest is text, signed as it is: "wasl-software <version>", then one line per file,
    "<sha256 hex> <size> <path>" (one line at a time in RAM, whatever the number of files)."""
    slot = "b" if state(root).get("run") == "a" else "a"
    d = _p(root, "app/" + slot)
    rmtree(d)
    remove(d + ".man")
    makedirs(d)
    ok = False
    try:
        digest, sig = await fetch_signed(server, "/v1/software/%s/manifest" % offered, d + ".man", headers, 65536)
        check_signature(pub, digest, sig, "software")
        total = count = 0
        with open(d + ".man") as f:
            head = f.readline().split()
            v = head[1] if len(head) == 2 and head[0] == "wasl-software" else None
            if vtuple(v) is None:
                raise Refused("tms_bad_document", "software manifest: bad version")
            if vtuple(v) <= vtuple(VERSION):
                raise Refused("tms_old_version", "software %s, terminal runs %s" % (v, VERSION))
            if v != offered:         # else every status call would start the download again
                raise Refused("tms_bad_document", "software manifest of %s, %s offered" % (v, offered))
            if v == state(root).get("bad"):
                raise Refused("tms_old_version", "software %s was rolled back" % v)
            while True:
                e = _entry(f)
                if e is None:
                    break
                check_entry(e[0], e[1], e[2], "software")
                if not e[0].startswith("wasl/"):
                    raise Refused("tms_bad_document", "software file %s outside wasl/" % e[0])
                total += e[1]
                count += 1
        if not count or count > 400 or total > MAX_TOTAL:
            raise Refused("tms_too_big", "software of %d files, %d bytes" % (count, total))
        ok = True
    finally:
        if not ok:
            rmtree(d)
            remove(d + ".man")
    rec = {"v": v, "slot": slot, "st": "dl", "i": 0}
    save(_p(root, FILE), rec)
    return rec


def abandon(root):
    rec = progress(root)
    if rec:
        rmtree(_p(root, "app/" + rec["slot"]))
        remove(_p(root, "app/" + rec["slot"] + ".man"))
    remove(_p(root, FILE))


async def step(server, root, rec, headers, more):
    """Fetch parts of the bundle while more() is true. True once it is complete and verified ("ready");
    Refused when a file does not match its hash (the download is then abandoned)."""
    d = _p(root, "app/" + rec["slot"])
    with open(d + ".man") as f:
        f.readline()
        i = 0
        while True:
            e = _entry(f)
            if e is None:
                break
            if i >= rec.get("i", 0):
                path = d + "/" + e[0]
                if size(path) < 0:
                    makedirs(path[:path.rfind("/")])
                while not await fetch_part(server, "/v1/software/%s/%s" % (rec["v"], e[0]), path, e[1], headers):
                    if not more():
                        return False
                rec["i"] = i + 1
                save(_p(root, FILE), rec)
                if not more():
                    return False
            i += 1
    # complete: every file read back and hashed, one file per turn of the event loop (the keypad and the
    # watchdog run between files), in the same slices as the download; "h" is the next file to hash
    bad = None
    i = 0
    with open(d + ".man") as f:
        f.readline()
        while bad is None:
            e = _entry(f)
            if e is None:
                break
            if i >= rec.get("h", 0):
                path = d + "/" + e[0]
                if size(path) != e[1] or file_sha256(path) != e[2]:
                    bad = e[0]
                    break
                rec["h"] = i + 1
                await sleep_ms(0)
                if not more():
                    save(_p(root, FILE), rec)
                    return False
            i += 1
    if bad:
        abandon(root)
        raise Refused("tms_bad_hash", "software %s: %s does not match its manifest" % (rec["v"], bad))
    rec["st"] = "ready"
    save(_p(root, FILE), rec)
    return True
