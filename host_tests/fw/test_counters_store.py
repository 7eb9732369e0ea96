# wasl.txn.counters and wasl.store: persisted STAN / invoice numbers, atomic JSON records.
import json
import os

from fwtest import make_tmpdir, read_text, rmtree, write_text
from wasl import store
from wasl.txn.counters import Counters


def test_fresh_counters_start_at_one_and_persist():
    d = make_tmpdir("ctr")
    try:
        c = Counters(d)
        assert (c.stan, c.invoice, c.batch) == (0, 0, 1)
        assert os.listdir(d) == []                  # nothing written until a number is handed out
        assert c.allocate() == (1, 1)
        assert json.loads(read_text(d + "/counters.json")) == {"stan": 1, "invoice": 1, "batch": 1}
        assert c.allocate() == (2, 2)
        assert c.allocate() == (3, 3)
        assert json.loads(read_text(d + "/counters.json")) == {"stan": 3, "invoice": 3, "batch": 1}
        assert os.listdir(d) == ["counters.json"]   # no .tmp left behind
    finally:
        rmtree(d)


def test_new_counters_on_same_dir_continue():
    d = make_tmpdir("ctr")
    try:
        c = Counters(d)
        for _ in range(5):
            c.allocate()
        c2 = Counters(d)
        assert (c2.stan, c2.invoice, c2.batch) == (5, 5, 1)
        assert c2.allocate() == (6, 6)
        assert Counters(d).allocate() == (7, 7)
    finally:
        rmtree(d)


def test_wrap_999999_to_1():
    d = make_tmpdir("ctr")
    try:
        store.save(d, "counters.json", {"stan": 999998, "invoice": 999999, "batch": 3})
        c = Counters(d)
        assert c.allocate() == (999999, 1)
        assert c.allocate() == (1, 2)
        assert json.loads(read_text(d + "/counters.json")) == {"stan": 1, "invoice": 2, "batch": 3}
        assert Counters(d).allocate() == (2, 3)
    finally:
        rmtree(d)


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
