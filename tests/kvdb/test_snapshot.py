"""Snapshots round-trip every type and TTL, and refuse damaged files whole."""

import io
import random
from collections import deque

import pytest

from fromscratch.kvdb.keyspace import Keyspace, now_ms
from fromscratch.kvdb.persistence.snapshot import CorruptSnapshot, read_snapshot, write_snapshot
from fromscratch.kvdb.structures.randomset import RandomSet
from fromscratch.kvdb.structures.sortedset import SortedSet


def sample_keyspace() -> Keyspace:
    keyspace = Keyspace()
    db0, db15 = keyspace.dbs[0], keyspace.dbs[15]
    db0.set(b"string", b"value\x00\xff")
    db0.set(b"empty", b"")
    db0.set(b"list", deque([b"a", b"b", b"c"]))
    db0.set(b"hash", {b"f": b"1", b"g": b""})
    db0.set(b"set", RandomSet([b"x", b"y"]))
    db0.set(b"zset", SortedSet.from_scores({b"m": 1.5, b"n": float("-inf"), b"o": 2.0}))
    db0.set(b"ttl", b"soon")
    db0.set_expire(b"ttl", now_ms() + 100_000)
    db15.set(b"other db", b"yes")
    return keyspace


def dump(keyspace) -> bytes:
    handle = io.BytesIO()
    write_snapshot(keyspace, handle)
    return handle.getvalue()


def contents(keyspace):
    def plain(value):
        if isinstance(value, RandomSet):
            return ("set", sorted(value))
        if isinstance(value, SortedSet):
            return ("zset", list(value.items()))
        if isinstance(value, deque):
            return ("list", list(value))
        return value
    return {(db.index, key): (plain(entry.value), entry.expires_at)
            for db in keyspace.dbs for key, entry in db.data.items()}


def test_round_trip_every_type_and_ttl():
    original = sample_keyspace()
    restored = Keyspace()
    assert read_snapshot(dump(original), restored) == 8
    assert contents(restored) == contents(original)
    assert restored.dbs[0].volatile == [b"ttl"]


def test_expired_keys_are_not_saved():
    keyspace = Keyspace()
    keyspace.dbs[0].set(b"gone", b"x")
    keyspace.dbs[0].set_expire(b"gone", now_ms() - 1)
    restored = Keyspace()
    assert read_snapshot(dump(keyspace), restored) == 0


def test_every_damaged_byte_is_refused_whole():
    data = dump(sample_keyspace())
    rng = random.Random(3)
    for position in rng.sample(range(len(data)), 60):
        damaged = bytearray(data)
        damaged[position] ^= 1 << rng.randrange(8)
        restored = Keyspace()
        with pytest.raises(CorruptSnapshot):
            read_snapshot(bytes(damaged), restored)
        assert not any(db.data for db in restored.dbs)      # nothing half-loaded


def test_truncated_files_are_refused():
    data = dump(sample_keyspace())
    for length in (0, 3, 5, len(data) // 2, len(data) - 1):
        with pytest.raises(CorruptSnapshot, match="byte offset"):
            read_snapshot(data[:length], Keyspace())
