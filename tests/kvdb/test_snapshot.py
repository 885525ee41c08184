"""Snapshots round-trip every type and TTL, and refuse damaged files whole."""

import io
import random
import struct
import time
import zlib

import pytest

from fromscratch.kvdb.keyspace import Keyspace, now_ms
from fromscratch.kvdb.persistence.snapshot import CorruptSnapshot, read_snapshot, write_snapshot
from fromscratch.kvdb.structures.bulklist import BulkList
from fromscratch.kvdb.structures.randomset import RandomSet
from fromscratch.kvdb.structures.sortedset import SortedSet
from fromscratch.kvdb.structures.stream import ConsumerGroup, Stream, make_id


def sample_stream() -> Stream:
    """Entries (one deleted), two groups, consumers with and without pending entries."""
    stream = Stream()
    for seq in range(1, 6):
        stream.add(make_id(1700000000000, seq), [b"n", b"%d" % seq, b"empty", b""])
    stream.delete(make_id(1700000000000, 2))
    workers = stream.groups[b"workers"] = ConsumerGroup(b"workers", 0, None)
    alice = workers.add_consumer(b"alice", 1700000000100)
    bob = workers.add_consumer(b"bob", 1700000000200)
    workers.add_consumer(b"idle", 1700000000300)
    for seq, consumer in ((1, alice), (3, bob), (4, alice)):
        stream.advance_group(workers, [make_id(1700000000000, seq)])
        workers.deliver([make_id(1700000000000, seq)], consumer, 1700000000400 + seq)
    alice.active_time = 1700000000404
    workers.pending.get(make_id(1700000000000, 3)).delivery_count = 7
    stream.groups[b"audit"] = ConsumerGroup(b"audit", make_id(1700000000000, 5), 5)
    return stream


def plain_stream(stream: Stream):
    """Everything a stream holds, as comparable plain values: its blocks too, with the
    deleted entry that still holds its place."""
    def nacks(pending):
        return [(stream_id, nack.consumer.name, nack.delivery_time, nack.delivery_count)
                for stream_id, nack in pending.items()]
    groups = {name: (group.last_id, group.entries_read, nacks(group.pending),
                     [(c.name, c.seen_time, c.active_time, nacks(c.pending))
                      for c in group.consumers.values()])
              for name, group in stream.groups.items()}
    blocks = [(list(ids), list(entries)) for ids, entries, _ in stream.entries.layout()]
    return ("stream", blocks, stream.last_id, stream.entries_added,
            stream.max_deleted_id, stream.first_id, groups)


def sample_keyspace() -> Keyspace:
    keyspace = Keyspace()
    db0, db15 = keyspace.dbs[0], keyspace.dbs[15]
    db0.set(b"string", b"value\x00\xff")
    db0.set(b"empty", b"")
    db0.set(b"list", BulkList.of([b"a", b"b", b"c"]))
    db0.set(b"hash", {b"f": b"1", b"g": b""})
    db0.set(b"set", RandomSet([b"x", b"y"]))
    db0.set(b"zset", SortedSet.from_scores({b"m": 1.5, b"n": float("-inf"), b"o": 2.0}))
    db0.set(b"ttl", b"soon")
    db0.set_expire(b"ttl", now_ms() + 100_000)
    db15.set(b"other db", b"yes")
    db15.set(b"stream", sample_stream())
    db15.set(b"empty stream", Stream())
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
        if isinstance(value, BulkList):
            return ("list", list(value.elements()))
        if isinstance(value, Stream):
            return plain_stream(value)
        return value
    return {(db.index, key): (plain(entry.value), entry.expires_at)
            for db in keyspace.dbs for key, entry in db.data.items()}


def test_round_trip_every_type_and_ttl():
    original = sample_keyspace()
    restored = Keyspace()
    assert read_snapshot(dump(original), restored) == (10, 0)
    assert contents(restored) == contents(original)
    assert restored.dbs[0].volatile == [b"ttl"]


def test_stream_pending_entries_are_shared_by_group_and_consumer():
    restored = Keyspace()
    read_snapshot(dump(sample_keyspace()), restored)
    workers = restored.dbs[15].data[b"stream"].value.groups[b"workers"]
    for stream_id, nack in workers.pending.items():
        assert nack.consumer.pending.get(stream_id) is nack


def test_expired_keys_are_saved_and_left_out_by_the_load():
    # As Redis: a key past its time but not yet removed is written; the load counts it.
    keyspace = Keyspace()
    keyspace.dbs[0].set(b"gone", b"x")
    keyspace.dbs[0].set_expire(b"gone", now_ms() - 1)
    restored = Keyspace()
    assert read_snapshot(dump(keyspace), restored) == (0, 1)
    assert not restored.dbs[0].data


def test_keys_expired_by_load_time_are_left_out_and_counted():
    keyspace = Keyspace()
    keyspace.dbs[0].set(b"brief", b"x")
    keyspace.dbs[0].set_expire(b"brief", now_ms() + 20)
    keyspace.dbs[0].set(b"kept", b"y")
    data = dump(keyspace)
    time.sleep(0.03)
    restored = Keyspace()
    assert read_snapshot(data, restored) == (1, 1)          # loaded, expired
    assert list(restored.dbs[0].data) == [b"kept"]


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


def test_function_libraries_round_trip():
    codes = [b"#!lua name=one\nredis.register_function('f', function() return 1 end)",
             b"#!lua name=two\n" + bytes(range(256))]
    original = sample_keyspace()
    handle = io.BytesIO()
    write_snapshot(original, handle, codes)
    libraries = []
    restored = Keyspace()
    assert read_snapshot(handle.getvalue(), restored, libraries) == (10, 0)
    assert libraries == codes
    assert contents(restored) == contents(original)


@pytest.mark.parametrize("version", [1, 2])
def test_older_versions_still_load(version):
    # No libraries nor AUX records: what versions 1 and 2 wrote.
    data = bytearray(dump(sample_keyspace()))
    assert data[4] == 3
    data[4] = version
    body = bytes(data[:-4])
    restored = Keyspace()
    assert read_snapshot(body + struct.pack(">I", zlib.crc32(body)), restored) == (10, 0)


def test_aux_facts_and_expired_keys_are_read_back():
    keyspace = Keyspace()
    keyspace.dbs[3].set(b"gone", b"x")
    keyspace.dbs[3].set_expire(b"gone", now_ms() - 1)
    handle = io.BytesIO()
    write_snapshot(keyspace, handle, aux=[(b"repl-id", b"ab" * 20), (b"repl-offset", b"42")])
    aux, expired = {}, []
    assert read_snapshot(handle.getvalue(), Keyspace(), aux=aux, expired_keys=expired) == (0, 1)
    assert aux == {b"repl-id": b"ab" * 20, b"repl-offset": b"42"}
    assert expired == [(3, b"gone")]
