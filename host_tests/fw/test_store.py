# wasl.store: small JSON records on the board's file system, replaced atomically.
# (STAN, invoice and batch numbers are no longer stored here: the journal holds them, test_batch.py.)
import os

from fwtest import make_tmpdir, rmtree, write_text
from wasl import store


def test_store_save_load_round_trip():
    d = make_tmpdir("store")
    try:
        assert store.load(d, "rec.json") is None
        assert store.load(d, "rec.json", {"x": 1}) == {"x": 1}
        obj = {"a": [1, 2, 3], "b": "text", "c": None, "d": True, "e": {"f": -5}}
        store.save(d, "rec.json", obj)
        assert store.load(d, "rec.json") == obj
        assert os.listdir(d) == ["rec.json"]
        store.save(d, "rec.json", [4])
        assert store.load(d, "rec.json") == [4]
        assert os.listdir(d) == ["rec.json"]
    finally:
        rmtree(d)


def test_store_stale_tmp_is_ignored_then_replaced():
    # Power cut while "<name>.tmp" was being written: the old record is still what load() sees.
    d = make_tmpdir("store")
    try:
        store.save(d, "rec.json", {"v": 1})
        write_text(d + "/rec.json.tmp", '{"v": 2')
        assert store.load(d, "rec.json") == {"v": 1}
        store.save(d, "rec.json", {"v": 3})
        assert store.load(d, "rec.json") == {"v": 3}
        assert sorted(os.listdir(d)) == ["rec.json"]
    finally:
        rmtree(d)
