"""The memory estimator against what CPython really allocates (tracemalloc), and the
LFU counter's behaviour."""

import random
import tracemalloc

import pytest

from fromscratch.kvdb.keyspace import Entry, Keyspace, now_ms
from fromscratch.kvdb.memory import entry_size, lfu_decayed, lfu_touch, minutes_now
from fromscratch.kvdb.structures.bulklist import BulkList
from fromscratch.kvdb.structures.randomset import RandomSet
from fromscratch.kvdb.structures.sortedset import SortedSet
from fromscratch.kvdb.structures.stream import Stream, make_id

N = 20_000


def _stream(count: int) -> Stream:
    stream = Stream()
    for i in range(count):
        stream.add(make_id(1_700_000_000_000, i), [b"field", b"value:%08d" % i])
    return stream


def measured(build) -> tuple[int, object]:
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        value = build()
        return tracemalloc.get_traced_memory()[0] - before, value
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("kind, build", [
    ("list", lambda: BulkList.of(b"element:%08d" % i for i in range(N))),
    ("hash", lambda: {b"field:%08d" % i: b"value:%08d" % i for i in range(N)}),
    ("set", lambda: RandomSet(b"member:%08d" % i for i in range(N))),
    ("zset", lambda: SortedSet.from_scores({b"member:%08d" % i: float(i) for i in range(N)})),
    ("stream", lambda: _stream(N)),
])
def test_container_estimates_are_close_to_tracemalloc(kind, build):
    actual, value = measured(build)
    estimate = entry_size(b"key", value)
    # tracemalloc counts requested bytes; we round to pymalloc's classes: allow 25%.
    assert 0.75 * actual <= estimate <= 1.25 * actual, (kind, estimate, actual)


def test_string_keys_estimate_close_to_tracemalloc():
    keyspace = Keyspace()
    db = keyspace.dbs[0]

    def fill():
        for i in range(N):
            db.set(b"key:%012d" % i, b"x" * 20)
        keyspace.used_memory()            # settles sizes and frees the pending marks

    actual, _ = measured(fill)
    assert 0.8 * actual <= keyspace.used_memory() <= 1.3 * actual


def test_accounting_follows_deletes_and_flushes():
    keyspace = Keyspace()
    db = keyspace.dbs[0]
    db.set(b"a", b"x" * 1000)
    db.set(b"b", BulkList.of([b"y"] * 100))
    assert keyspace.used_memory() > 1000
    db.delete(b"a")
    db.delete(b"b")
    assert keyspace.used_memory() == 0
    db.set(b"c", b"z")
    keyspace.flush(db)
    assert keyspace.used_memory() == 0


def test_lfu_counter_grows_logarithmically_and_decays():
    # Redis's documented counters for lfu-log-factor 10: ~10 after 100 hits, ~18 after 1K.
    random.seed(1)
    entry = Entry(b"v", minutes_now(), 0)
    for _ in range(100):
        lfu_touch(entry, log_factor=10, decay_time=1)
    assert 8 <= entry.freq <= 13
    for _ in range(900):
        lfu_touch(entry, log_factor=10, decay_time=1)
    assert 15 <= entry.freq <= 22
    entry.access -= 3                                 # three minutes without access
    assert lfu_decayed(entry, decay_time=1) == entry.freq - 3


def test_the_active_expiry_cycle_keeps_redis_s_statistics():
    keyspace = Keyspace()
    db = keyspace.dbs[0]
    for number in range(2000):
        key = b"k%d" % number
        db.set(key, b"v")
        db.set_expire(key, now_ms() - 1 if number % 2 else now_ms() + 60_000)
    removed = keyspace.active_expire_cycle(time_budget=0)   # one sample, then the cap
    assert 0 < removed <= 20
    assert keyspace.expire_time_cap_reached == 1
    assert keyspace.expire_cycle_seconds > 0
    # a running average: a twentieth of this cycle's share of expired keys in its sample
    assert 0 < keyspace.expired_stale_share <= 0.05
