# Journal maintenance, loaded only where used: repair() at boot (cut a torn tail), rewrite() after
# settlement (compaction). Kept out of wasl.txn.journal so a selling terminal does not hold them.
import os

from wasl.txn.journal import _HDR


def repair(journal):
    """Cut a torn tail off the file. Return the number of bytes dropped."""
    journal.close()
    good = 0
    for _, pos in journal._scan():
        good = pos
    try:
        size = os.stat(journal.path)[6]
    except OSError:
        return 0
    if size == good:
        return 0
    _rewrite_prefix(journal, good)
    return size - good



def _rewrite_prefix(journal, length):
    tmp = journal.path + ".tmp"
    buf = bytearray(256)
    with open(journal.path, "rb") as src, open(tmp, "wb") as dst:
        left = length
        while left:
            k = src.readinto(buf)
            if not k:
                break
            k = min(k, left)
            dst.write(memoryview(buf)[:k])
            left -= k
    os.rename(tmp, journal.path)



def rewrite(journal, records):
    """Replace the journal by `records` (compaction after settlement): written to a new file,
    then renamed over the journal, so a power cut leaves the old or the new one whole."""
    journal.close()
    tmp = journal.path + ".new"
    with open(tmp, "wb") as f:
        for rec in records:
            h, payload = journal._encode(rec)
            f.write(h)
            f.write(payload)
            journal.bytes_written += _HDR + len(payload)
    os.rename(tmp, journal.path)
