# wasl.txn.journal: CRC-framed JSON records appended to a file; torn and corrupt tails; compaction.
# Record on disk: b"WJ" | length (2 bytes, big-endian) | CRC-32 of the payload (4 bytes) | payload.
import json
import os

from fwtest import make_tmpdir, raises, rmtree
from wasl.txn.journal import Journal
from wasl.txn.journal_tools import repair, rewrite

try:
    from binascii import crc32
except ImportError:  # pragma: no cover
    crc32 = None

RECS = [
    {"e": "new", "s": 1, "i": 1, "b": 1, "ty": "sale", "a": 150000, "p": "476173******0010", "m": "swipe",
     "t": "20260705100807"},
    {"e": "sent", "s": 1},
    {"e": "rep", "s": 1, "rc": "00", "r": "601234567890", "au": "A1B2C3"},
    {"e": "prt", "s": 1, "c": "m"},
]


class PowerCut(Exception):
    """What a board's power-fail hook does in a test instead of freezing."""


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def append_bytes(path, data):
    with open(path, "ab") as f:
        f.write(data)


def write_bytes(path, data):
    with open(path, "wb") as f:
        f.write(data)


def frames(raw):
    """[(offset, payload length)] of the records in a journal file, read by hand."""
    out, pos = [], 0
    while pos + 8 <= len(raw):
        n = (raw[pos + 2] << 8) | raw[pos + 3]
        out.append((pos, n))
        pos += 8 + n
    return out


def record_size(rec):
    return 8 + len(json.dumps(rec).encode())


def with_journal(fn, **kw):
    d = make_tmpdir("jrnl")
    try:
        return fn(d, Journal(d, **kw))
    finally:
        rmtree(d)


def filled(d, recs=RECS):
    j = Journal(d)
    for r in recs:
        j.append(r)
    return j


def test_path_and_name():
    assert Journal("/flash").path == "/flash/journal"
    assert Journal("/flash", "other").path == "/flash/other"
    assert Journal("", "journal").path == "journal"


def test_append_records_round_trip():
    def run(d, j):
        for r in RECS:
            j.append(r)
        assert list(j.records()) == RECS
        assert list(Journal(d).records()) == RECS        # after a reboot
        assert os.listdir(d) == ["journal"]
        assert j.writes == len(RECS)
        assert Journal(d).writes == 0                    # writes count since boot
        # the on-disk framing, read by hand
        raw = read_bytes(j.path)
        fr = frames(raw)
        assert len(fr) == len(RECS)
        for (pos, n), rec in zip(fr, RECS):
            assert raw[pos:pos + 2] == b"WJ"
            payload = raw[pos + 8:pos + 8 + n]
            assert json.loads(payload) == rec
            if crc32 is not None:
                c = crc32(payload) & 0xFFFFFFFF
                assert bytes(raw[pos + 4:pos + 8]) == bytes([c >> 24, (c >> 16) & 255, (c >> 8) & 255, c & 255])
        assert sum(8 + n for _, n in fr) == len(raw) == j.size()
        assert repair(j) == 0
    with_journal(run)


def test_records_is_a_generator_and_values_survive():
    def run(d, j):
        recs = [{"e": "x", "v": v} for v in (0, -1, 999999999999, "", "é/ü", None, True, [1, "a"], {"k": 2})]
        for r in recs:
            j.append(r)
        g = j.records()
        assert not isinstance(g, (list, tuple))
        assert next(g) == recs[0]
        assert list(g) == recs[1:]
    with_journal(run)


def test_one_flipped_payload_byte_stops_replay_before_that_record():
    def run(d, j):
        recs = [{"e": "x", "v": 1111111}, {"e": "x", "v": 2222222}, {"e": "x", "v": 3333333}]
        for r in recs:
            j.append(r)
        raw = bytearray(read_bytes(j.path))
        size = len(raw)
        i = bytes(raw).find(b"2222222")
        raw[i + 3] = ord("3")   # still valid JSON, same length: only the CRC can tell
        write_bytes(j.path, raw)
        assert list(Journal(d).records()) == recs[:1]
        # repair() drops the corrupt record and everything after it
        j2 = Journal(d)
        good = record_size(recs[0])
        assert repair(j2) == size - good
        assert j2.size() == good and list(j2.records()) == recs[:1]
        assert repair(j2) == 0
        j2.append({"e": "x", "v": 4})
        assert list(Journal(d).records()) == [recs[0], {"e": "x", "v": 4}]
    with_journal(run)


def test_flipped_header_bytes_stop_replay():
    def run(d, j):
        for r in RECS:
            j.append(r)
        raw0 = read_bytes(j.path)
        pos, _ = frames(raw0)[2]
        for k in range(8):                       # magic, length, CRC of the third record
            raw = bytearray(raw0)
            raw[pos + k] ^= 0x01
            write_bytes(j.path, raw)
            assert list(Journal(d).records()) == RECS[:2], k
    with_journal(run)


def torn_append(d, rec, cut=None):
    """Append `rec` through a hook that, like boards/sim/board.py's WASL_POWERCUT "before", writes the
    header and half the payload (or `cut` bytes of the record) and then loses power."""
    def hook(phase, n, hdr, payload):
        if phase == "before":
            data = bytes(hdr) + bytes(payload)
            append_bytes(d + "/journal", data[:cut] if cut is not None else bytes(hdr) + payload[:len(payload) // 2])
            raise PowerCut()
    j = Journal(d, powerfail=hook)
    raises(PowerCut, j.append, rec)
    return j


def test_torn_tail_is_dropped_and_cut_exactly():
    def run(d, j):
        for r in RECS[:3]:
            j.append(r)
        good = j.size()
        torn_append(d, RECS[3])
        torn = 8 + len(json.dumps(RECS[3]).encode()) // 2
        assert Journal(d).size() == good + torn
        # after the reboot: the good records are all there, the torn one is not
        j2 = Journal(d)
        assert list(j2.records()) == RECS[:3]
        assert repair(j2) == torn
        assert j2.size() == good
        assert os.listdir(d) == ["journal"]              # no temporary file left
        assert repair(j2) == 0
        # and the journal goes on: a later append is readable
        j2.append(RECS[3])
        assert list(Journal(d).records()) == RECS
    with_journal(run)


def test_torn_inside_the_header():
    for cut in (1, 2, 3, 7, 8, 9):
        def run(d, j):
            for r in RECS[:2]:
                j.append(r)
            good = j.size()
            torn_append(d, RECS[2], cut)
            j2 = Journal(d)
            assert list(j2.records()) == RECS[:2], cut
            assert repair(j2) == cut, cut
            assert j2.size() == good
            j2.append(RECS[2])
            assert list(Journal(d).records()) == RECS[:3]
        with_journal(run)


def test_torn_first_record():
    def run(d, j):
        torn_append(d, RECS[0])
        j2 = Journal(d)
        assert list(j2.records()) == []
        assert repair(j2) == 8 + len(json.dumps(RECS[0]).encode()) // 2
        assert j2.size() == 0
        j2.append(RECS[1])
        assert list(j2.records()) == [RECS[1]]
    with_journal(run)


def test_garbage_tail():
    tails = [os.urandom(37), os.urandom(1), b"\x00" * 64, b"WJ\xff\xff" + os.urandom(40),
             b"WJ\x00\x04\x00\x00\x00\x00null", b"WJ" + bytes(6) + b"{}"]
    for tail in tails:
        def run(d, j):
            for r in RECS:
                j.append(r)
            good = j.size()
            append_bytes(j.path, tail)
            j2 = Journal(d)
            assert list(j2.records()) == RECS, tail
            assert repair(j2) == len(tail), tail
            assert j2.size() == good
            j2.append({"e": "ctl", "s": 2})
            assert list(Journal(d).records()) == RECS + [{"e": "ctl", "s": 2}]
        with_journal(run)


def test_good_crc_but_not_json_stops_replay():
    def run(d, j):
        j.append(RECS[0])
        if crc32 is None:
            return
        payload = b"{not json"
        c = crc32(payload) & 0xFFFFFFFF
        append_bytes(j.path, b"WJ" + bytes([0, len(payload), c >> 24, (c >> 16) & 255, (c >> 8) & 255, c & 255])
                     + payload)
        assert list(Journal(d).records()) == [RECS[0]]
        assert repair(Journal(d)) == 8 + len(payload)
    with_journal(run)


def test_missing_and_empty_file():
    def run(d, j):
        assert list(j.records()) == []
        assert repair(j) == 0
        assert j.size() == 0
        assert os.listdir(d) == []                        # reading creates nothing
        write_bytes(j.path, b"")
        assert list(j.records()) == []
        assert repair(j) == 0
        j.append(RECS[0])
        assert list(j.records()) == [RECS[0]]
    with_journal(run)
    # a journal in a directory that does not exist reads as empty too
    j = Journal("/nonexistent-wasl-dir")
    assert list(j.records()) == [] and repair(j) == 0 and j.size() == 0


def test_rewrite_replaces_and_leaves_no_new_file():
    def run(d, j):
        for r in RECS:
            j.append(r)
        base = {"e": "base", "s": 0, "i": 7, "b": 2}
        rewrite(j, [base])
        assert list(j.records()) == [base]
        assert list(Journal(d).records()) == [base]
        assert os.listdir(d) == ["journal"]
        assert j.size() == record_size(base)
        j.append(RECS[1])
        assert list(Journal(d).records()) == [base, RECS[1]]
        rewrite(j, [])
        assert list(j.records()) == [] and j.size() == 0
        rewrite(j, RECS)
        assert list(j.records()) == RECS
        assert os.listdir(d) == ["journal"]
    with_journal(run)


def test_rewrite_over_a_stale_new_file_and_a_failed_rewrite():
    def run(d, j):
        for r in RECS:
            j.append(r)
        # a power cut during an earlier compaction left "journal.new": the journal is still the old one
        write_bytes(j.path + ".new", b"WJ\x00\x10half")
        assert list(Journal(d).records()) == RECS
        base = {"e": "base", "s": 3, "i": 4, "b": 5}
        rewrite(j, [base])
        assert list(j.records()) == [base]
        assert os.listdir(d) == ["journal"]
        # a rewrite that fails half way (a record too long) leaves the journal as it was
        raises(ValueError, rewrite, j, [RECS[0], {"e": "x", "v": "a" * 2000}])
        assert list(Journal(d).records()) == [base]
    with_journal(run)


def test_powerfail_hook_calls_in_order():
    calls = []

    def hook(phase, n, hdr, payload):
        calls.append((phase, n, None if hdr is None else bytes(hdr), None if payload is None else bytes(payload),
                      Journal(d).size()))

    d = make_tmpdir("jrnl")
    try:
        j = Journal(d, powerfail=hook)
        sizes = [0]
        for r in RECS[:3]:
            j.append(r)
            sizes.append(j.size())
        assert [(c[0], c[1]) for c in calls] == [("before", 1), ("after", 1), ("before", 2), ("after", 2),
                                                  ("before", 3), ("after", 3)]
        raw = read_bytes(j.path)
        for k, (pos, n) in enumerate(frames(raw)):
            before, after = calls[2 * k], calls[2 * k + 1]
            assert before[2] == bytes(raw[pos:pos + 8])              # the header about to be written
            assert before[3] == bytes(raw[pos + 8:pos + 8 + n])      # and the payload
            assert json.loads(before[3]) == RECS[k]
            assert (after[2], after[3]) == (None, None)
            assert before[4] == sizes[k] and after[4] == sizes[k + 1]   # nothing written before, all after
        assert j.writes == 3
        # an "after" cut loses nothing: the record is committed
        def cut_after(phase, n, hdr, payload):
            if phase == "after":
                raise PowerCut()
        j = Journal(d, powerfail=cut_after)
        raises(PowerCut, j.append, RECS[3])
        assert list(Journal(d).records()) == RECS
    finally:
        rmtree(d)


def test_bytes_written():
    def run(d, j):
        assert j.bytes_written == 0
        total = 0
        for r in RECS:
            j.append(r)
            total += record_size(r)
            assert j.bytes_written == total == j.size()
        base = {"e": "base", "s": 0, "i": 1, "b": 2}
        rewrite(j, [base])
        assert j.bytes_written == total + record_size(base)    # flash wear counts the compaction too
        assert Journal(d).bytes_written == 0
    with_journal(run)


def test_record_over_1024_bytes_raises_and_writes_nothing():
    calls = []

    def run(d, j):
        j.append(RECS[0])
        size, written = j.size(), j.bytes_written
        at_limit = {"x": "a" * (1024 - len(json.dumps({"x": ""}).encode()))}
        assert len(json.dumps(at_limit).encode()) == 1024
        j.append(at_limit)
        over = {"x": "a" * (1025 - len(json.dumps({"x": ""}).encode()))}
        e = raises(ValueError, j.append, over)
        assert "too long" in str(e)
        assert j.size() == size + 8 + 1024 and j.bytes_written == written + 8 + 1024
        assert list(Journal(d).records()) == [RECS[0], at_limit]
        assert [c[:2] for c in calls] == [("before", 1), ("after", 1), ("before", 2), ("after", 2)]
        assert j.writes == 2
    with_journal(run, powerfail=lambda *a: calls.append(a))
