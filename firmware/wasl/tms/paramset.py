# A parameter set from the TMS (docs/tms.md): a signed manifest naming params.json (required) and
# emv.json (optional), each downloaded to "<name>.new" and checked (hash, then the same checker as at
# boot, a version newer than the terminal's, the terminal's own ID), then committed:
#   1. the .new files are complete and synced;
#   2. the commit record "params.commit" (the names, the version) is written atomically: from here the
#      new set wins;
#   3. each .new is renamed over its file, the set is put on trial; 4. the record is removed.
# A power cut before 2 leaves the old set (the .new files are dropped at the next boot); after 2, the
# boot finishes the renames (wasl.update.slot.finish_params). Either the old set or the new one.
# The files replaced are kept as <name>.prev until the terminal reaches its idle screen on the new set:
# a set that passes every check here but does not get there is rolled back at the next boot
# (wasl.update.slot.params_trial), and refused when offered again.
import json

from wasl.tms.signed import Refused, fetch_part, file_sha256, load, remove, save, size, sync, verify

from wasl.update.slot import COMMIT, NAMES, finish_params

_MAX_FILE = 16384


def _path(root, name):
    return root + "/" + name if root else name


def check_emv(path):
    """The EMV terminal data must at least be an object with a list of AIDs (wasl.txn.chip reads the
    rest at each chip transaction, and refuses what it cannot use)."""
    doc = load(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("aids"), list) or not doc["aids"] or any(
            not isinstance(a, dict) or not isinstance(a.get("aid"), str) for a in doc["aids"]):
        raise Refused("tms_bad_document", "emv.json: no usable list of AIDs")


def _check_ca(pm, der):
    """The acquirer CA must load into a TLS context, as boot will load it: a set whose certificate does
    not parse would otherwise be committed and leave the terminal unable to boot (and so unable to call
    the TMS again)."""
    try:
        import tls
    except ImportError:          # CPython: no native tls module
        return
    ctx = tls.SSLContext(tls.PROTOCOL_TLS_CLIENT)
    try:
        ctx.load_verify_locations(der)
    except (ValueError, OSError) as e:
        raise pm.ParamError("host.ca", "parameter host.ca is not a certificate the terminal can load (%s)" % e)
    finally:
        ctx = None


def check_params(path, current, version):
    """The same checker as at boot (wasl.params) over the new document: a ParamError names the
    parameter. The version must be the manifest's and newer than the running one."""
    from wasl import params as pm

    try:
        try:
            with open(path) as f:
                doc = json.load(f)
        except (ValueError, MemoryError, RuntimeError):
            raise pm.ParamError("params.json", "parameter file is not valid JSON")
        p = pm.parse(doc)
        if p.receipt_logo:      # the logo must already be on the terminal: a set cannot bring it
            root = path.rsplit("/", 1)[0] if "/" in path else ""
            pm._logo((root + "/" if root else "") + p.receipt_logo)
        _check_ca(pm, p.host_ca)
    except pm.ParamError as e:
        raise Refused("tms_bad_params", "%s: %s" % (e.param, e))
    finally:
        doc = pm = None
        from wasl import unload

        unload("wasl.params")        # the checker leaves RAM before the commit
    if p.version != version:
        raise Refused("tms_bad_document", "params.json version %d, manifest %d" % (p.version, version))
    if p.version <= current.version:
        raise Refused("tms_old_version", "parameters v%d, terminal has v%d" % (p.version, current.version))
    if p.terminal_id != current.terminal_id:
        raise Refused("tms_bad_document", "parameters for terminal %s" % p.terminal_id)


def manifest(pub, body, sig):
    m = verify(pub, body, sig, "params", 2 * _MAX_FILE)
    names = [f[0] for f in m["files"]]
    if "params.json" not in names or any(n not in NAMES for n in names) or len(set(names)) != len(names):
        raise Refused("tms_bad_document", "parameter set: files %s" % ",".join(names))
    if not isinstance(m.get("version"), int) or isinstance(m["version"], bool):
        raise Refused("tms_bad_document", "parameter set: no version")
    for f in m["files"]:
        if f[1] > _MAX_FILE:
            raise Refused("tms_too_big", "%s of %d bytes" % (f[0], f[1]))
    return m


async def download(server, root, m, headers, current):
    """Fetch and check every file of the set into <name>.new. Refused or LinkError on failure (the
    .new files are then removed)."""
    ok = False
    try:
        for name, n, digest in m["files"]:
            path = _path(root, name) + ".new"
            remove(path)
            while not await fetch_part(server, "/v1/params/" + name, path, n, headers):
                pass
            if size(path) != n or file_sha256(path) != digest:
                raise Refused("tms_bad_hash", "%s does not match its manifest" % name)
            if name == "params.json":
                server.release()
                check_params(path, current, m["version"])
            else:
                check_emv(path)
        ok = True
    finally:
        if not ok:
            discard(root)


def discard(root):
    for name in NAMES:
        remove(_path(root, name) + ".new")


def _copy(src, dst):
    """src into dst, 512 bytes at a time, flushed."""
    buf = bytearray(512)
    mv = memoryview(buf)
    with open(src, "rb") as f, open(dst, "wb") as g:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            g.write(mv[:n])
        g.flush()


def commit(root, names, version, cut=None):
    """Steps 1-4 above, the files replaced kept as <name>.prev for the trial boot (wasl.update.slot).
    `cut(step)` is the power-cut tests' hook."""
    prev = []
    for name in names:
        if size(_path(root, name)) >= 0:
            _copy(_path(root, name), _path(root, name) + ".prev")
            prev.append(name)
    sync()
    if cut:
        cut(1)
    save(_path(root, COMMIT), {"names": list(names), "prev": prev, "v": version})
    if cut:
        cut(2)
    finish_params(root, cut)
