# Self-tests of the terminal itself: versions, clock, storage and journal, keys (check values only),
# battery. Loaded by wasl.diag.run for these parts only.
import os
import sys

from wasl import VERSION
from wasl.diag import FAIL, PASS, SKIPPED, iso_utc

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

_MIN_FREE = const(16384)      # below this a storage area fails: the journal and settings need room
_TORN_MAX = const(1032)       # one record at most (8-byte header + 1024): a power cut, not damage
_YEAR_MIN = const(2024)       # a clock before this has never been set
_YEAR_MAX = const(2099)


async def versions(ctx):
    hw = ctx.hw
    impl = sys.implementation
    facts = {"firmware": VERSION, "board": hw.name,
             "runtime": "%s %s" % (impl.name, ".".join(str(v) for v in impl.version[:3]))}
    from wasl import store

    try:
        emv = store.load(hw.storage_root, "emv.json")
    except ValueError:
        emv = "bad"
    facts["emv"] = (len(emv.get("aids", ())) if isinstance(emv, dict) else None)
    p = ctx.params
    if p is None:
        return FAIL, "parameters unusable: %s" % ctx.param_error, facts
    facts["params_version"] = p.version
    facts["terminal_id"] = p.terminal_id
    facts["merchant_id"] = p.merchant_id
    if emv == "bad" or facts["emv"] is None:
        return FAIL, "firmware %s, parameters v%s, emv.json missing or malformed" % (VERSION, p.version), facts
    return PASS, "firmware %s, parameters v%s, %d AIDs" % (VERSION, p.version, facts["emv"]), facts


async def clock(ctx):
    utc = iso_utc(ctx.hw.clock)
    year = int(utc[:4])
    facts = {"utc": utc}
    if not _YEAR_MIN <= year <= _YEAR_MAX:
        return FAIL, "clock not set: %s" % facts["utc"], facts
    return PASS, facts["utc"], facts


def free_space(root):
    """(free bytes, total bytes) of the file system holding root."""
    st = os.statvfs(root or "/")
    return st[1] * st[4], st[1] * st[2]


def journal_check(root):
    """Scan the journal as the boot does (wasl.txn.journal): (facts, verdict, detail)."""
    from wasl.txn.batch import Batch
    from wasl.txn.journal import Journal

    j = Journal(root)
    good = count = 0
    for _, pos in j._scan():
        good = pos
        count += 1
    size = j.size()
    torn = size - good
    b = Batch(j)
    facts = {"records": count, "bytes": size, "torn": torn, "batch": b.number, "open_txns": b.count,
             "reversal_pending": b.pending is not None}
    if torn > _TORN_MAX:
        return facts, FAIL, "journal damaged: %d bytes unreadable after record %d" % (torn, count)
    if torn:
        return facts, PASS, "%d records; last write torn (%d bytes, cut at next boot)" % (count, torn)
    return facts, PASS, "%d records, intact" % count


async def storage(ctx):
    hw = ctx.hw
    facts = {}
    low = []
    for name, root in (("storage", hw.storage_root), ("journal", hw.journal_root)):
        try:
            free, total = free_space(root)
        except OSError as e:
            return FAIL, "%s area unreadable (%s)" % (name, e), facts
        facts[name + "_free"] = free
        facts[name + "_total"] = total
        if free < _MIN_FREE:
            low.append("%s %d KB free" % (name, free // 1024))
    jf, verdict, detail = journal_check(hw.journal_root)
    facts.update(jf)
    if low:
        return FAIL, "low space: " + ", ".join(low), facts
    return verdict, "%d KB free; %s" % (facts["journal_free"] // 1024, detail), facts


async def keys(ctx):
    """The key store loaded as at boot (wasl.keyload): a TR-31 block a technician left in the inbox is
    taken, so copying a block there and running this part is how an injection is checked (its KCV
    against the one the injection tool printed). Reports status(): scheme, KCVs, next KSN."""
    hw = ctx.hw
    s = hw.secure_storage
    if s is None:
        return FAIL, "no secure storage on this board"
    if not s.get("kbpk"):
        return FAIL, "no key block protection key: inject keys (docs/keys.md)"
    from wasl.crypto.keystore import INBOX_NAME, KeyStore, KeyStoreError

    waiting = _read(hw.key_inbox, INBOX_NAME)   # a key block is not secret: it is enciphered
    ks = KeyStore(s, inbox=hw.key_inbox)
    try:
        ready = ks.load()
        st = ks.status()
    except KeyStoreError as e:
        return FAIL, "key store unusable (%s): inject a new key" % e.reason
    finally:
        ks.wipe()
    facts = {"scheme": st["scheme"], "kbpk_kcv": st["kbpk_kcv"], "ik_kcv": st["ik_kcv"] or None, "ksn": st["ksn"]}
    note = ""
    if waiting:
        if _read(hw.key_inbox, INBOX_NAME + ".rejected") == waiting:
            facts["inbox"] = "rejected"
            note = "; the key block in the inbox was REFUSED"
        else:
            facts["inbox"] = "taken"
            note = "; key block taken from the inbox"
    if not ready:
        return FAIL, "no DUKPT key (KBPK KCV %s)%s" % (st["kbpk_kcv"], note), facts
    if st["ksn"] == "exhausted":
        return FAIL, "%s counter exhausted: inject a new key" % st["scheme"], facts
    if facts.get("inbox") == "rejected":
        return FAIL, "%s, IK KCV %s kept%s" % (st["scheme"], st["ik_kcv"], note), facts
    return PASS, "%s, IK KCV %s, KBPK KCV %s%s" % (st["scheme"], st["ik_kcv"], st["kbpk_kcv"], note), facts


def _read(root, name):
    if not root:
        return None
    try:
        with open(root + "/" + name) as f:
            return f.read()
    except OSError:
        return None


async def battery(ctx):
    b = getattr(ctx.hw, "battery", None)
    if b is None:
        return SKIPPED, "absent"
    mv = b.millivolts()
    pct = b.percent(mv)
    facts = {"mv": mv, "percent": pct}
    if b.low(mv):
        return FAIL, "low: %d mV (%d%%)" % (mv, pct), facts
    return PASS, "%d mV (%d%%)" % (mv, pct), facts
