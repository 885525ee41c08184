"""The RDB codec (persistence/rdb.py): payload bodies real Redis wrote, the older
encodings it still loads, what we write, malformed input, which must raise RdbError and
nothing else, and the payload envelope around it (commands/serialize.py); then whole RDB
files, written and read back, and loaded by a real redis-server."""

import io
import random
import struct
import time

import pytest
import redis

from compat_tests.servers import start_kvdb, start_redis
from fromscratch.kvdb.commands.serialize import (BAD_PAYLOAD, LEGACY_VERSION, dump_payload,
                                                 restore_payload)
from fromscratch.kvdb.crc64 import crc64
from fromscratch.kvdb.keyspace import Keyspace
from fromscratch.kvdb.memory import minutes_now
from fromscratch.kvdb.persistence import rdb
from fromscratch.kvdb.persistence.rdb import (NotAFunction, RdbError, RdbFile,
                                              dump_functions, dump_object, load_functions,
                                              load_object, lzf_decompress, read_rdb,
                                              write_rdb)
from fromscratch.kvdb.persistence.snapshot import encode_value
from fromscratch.kvdb.structures.bulklist import BulkList
from fromscratch.kvdb.structures.randomset import RandomSet
from fromscratch.kvdb.structures.sortedset import SortedSet
from fromscratch.kvdb.structures.stream import (ConsumerGroup, Stream, entry_fields, format_id,
                                                make_id)
from fromscratch.resp import ErrorReply


def body(payload_hex: str) -> bytes:
    """The body of a DUMP payload: without its version and CRC."""
    return bytes.fromhex(payload_hex)[:-10]


def plain(value):
    """A value in a form to compare (our structures don't define equality)."""
    if isinstance(value, RandomSet):
        return set(value)
    if isinstance(value, SortedSet):
        return list(value.items())
    if isinstance(value, Stream):
        return stream_state(value)
    return value


def stream_state(stream: Stream):
    groups = {}
    for name, group in stream.groups.items():
        groups[name] = (group.last_id, group.entries_read,
                        [(stream_id, nack.consumer.name, nack.delivery_time,
                          nack.delivery_count) for stream_id, nack in group.pending.items()],
                        {consumer.name: (consumer.seen_time, [i for i, _ in
                                                              consumer.pending.items()])
                         for consumer in group.consumers.values()})
    entries = [(stream_id, entry_fields(entry)) for stream_id, entry in stream.entries.items()]
    return (entries, stream.length, stream.last_id, stream.first_id, stream.max_deleted_id,
            stream.entries_added, groups)


# -- payloads real Redis 7.0 wrote ---------------------------------------------------------

def test_integer_string():
    assert load_object(body("00c1d4fe0a00c6c48623febede2e")) == b"-300"


def test_lzf_compressed_string():
    assert load_object(body("00c30b3c0361626361e02d020162630a006f6029e4afd764ac")) == \
        b"abc" * 20


def test_quicklist_of_listpack_nodes():
    payload = "12010210100000000300816102010182626203ff0a00df0af310be9d9e9d"
    assert load_object(body(payload)) == BulkList.of([b"a", b"1", b"bb"])


def test_intset():
    payload = "0b1404000000030000000100000003000000701101000a00499340ed54ef4afa"
    assert set(load_object(body(payload))) == {b"1", b"3", b"70000"}


def test_hash_listpack():
    payload = "1012120000000400816602817602816e020c01ff0a0001369481d35b8974"
    assert load_object(body(payload)) == {b"f": b"v", b"n": b"12"}


def test_zset_listpack():
    payload = "111414000000040081610283312e35048162020201ff0a00fa02b425af188763"
    assert list(load_object(body(payload)).items()) == [(b"a", 1.5), (b"b", 2.0)]


REDIS_STREAM = (
    "130110000000000000000100000000000000013939000000160002010101010181660200010201000100"
    "018176020401030100010101817702040100010101dfff0201018167028178020601ff020200010101"
    "02030103677270010181ffffffffffffffff01000000000000000100000000000000016dcc9615a201"
    "0000010105616c6963656dcc9615a201000001000000000000000100000000000000010a00ecfc43ab"
    "168edcdf")


def test_stream_with_a_consumer_group():
    # XADD 1-1 f v, 1-2 f w, 2-0 g x; XDEL 1-2; a group at 0, alice read one entry.
    stream = load_object(body(REDIS_STREAM))
    assert [(format_id(i), entry_fields(e)) for i, e in stream.entries.items()] == \
        [(b"1-1", [b"f", b"v"]), (b"2-0", [b"g", b"x"])]
    assert (stream.length, stream.last_id, stream.max_deleted_id, stream.first_id,
            stream.entries_added) == (2, make_id(2, 0), make_id(1, 2), make_id(1, 1), 3)
    group = stream.groups[b"grp"]
    assert (group.last_id, group.entries_read) == (make_id(1, 1), None)
    [(stream_id, nack)] = group.pending.items()
    assert (stream_id, nack.consumer.name, nack.delivery_time, nack.delivery_count) == \
        (make_id(1, 1), b"alice", 1795658533997, 1)
    alice = group.consumers[b"alice"]
    assert alice.active_time == alice.seen_time == 1795658533997   # 7.0 has no active time
    assert [i for i, _ in alice.pending.items()] == [make_id(1, 1)]
    # the deleted entry stays in its node, as in Redis
    assert [list(ids) for ids, _, _ in stream.entries.layout()] == \
        [[make_id(1, 1), make_id(1, 2), make_id(2, 0)]]


def test_stream_of_redis_5():
    # unit/type/stream-cgroups.tcl restores this one: RDB 9, type 15 (no first id,
    # deleted id or entries added), an LZF-compressed listpack, two groups.
    payload = (
        b"\x0F\x01\x10\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\xC3"
        b"\x40\x4A\x40\x57\x16\x57\x00\x00\x00\x23\x00\x02\x01\x04\x01\x01\x01\x84\x64\x61"
        b"\x74\x61\x05\x00\x01\x03\x01\x00\x20\x01\x03\x81\x61\x02\x04\x20\x0A\x00\x01\x40"
        b"\x0A\x00\x62\x60\x0A\x00\x02\x40\x0A\x00\x63\x60\x0A\x40\x22\x01\x81\x64\x20\x0A"
        b"\x40\x39\x20\x0A\x00\x65\x60\x0A\x00\x05\x40\x0A\x00\x66\x20\x0A\x00\xFF\x02\x06"
        b"\x00\x02\x02\x67\x31\x05\x00\x04\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00"
        b"\x00\x00\x00\x00\x3E\xF7\x83\x43\x7A\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00"
        b"\x02\x00\x00\x00\x00\x00\x00\x00\x00\x3E\xF7\x83\x43\x7A\x01\x00\x00\x01\x00\x00"
        b"\x00\x00\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x3E\xF7\x83\x43\x7A\x01"
        b"\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x00\x3E"
        b"\xF7\x83\x43\x7A\x01\x00\x00\x01\x01\x03\x63\x31\x31\x3E\xF7\x83\x43\x7A\x01\x00"
        b"\x00\x04\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
        b"\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
        b"\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00"
        b"\x00\x00\x00\x00\x00\x00\x02\x67\x32\x00\x00\x00\x00\x09\x00\x3D\x52\xEF\x68\x67"
        b"\x52\x1D\xFA")
    stream = load_object(payload[:-10])
    assert [format_id(i) for i, _ in stream.entries.items()] == [b"5-0", b"6-0"]
    assert stream.entries_added == stream.length == 2            # what Redis assumes
    assert stream.first_id == make_id(5, 0) and stream.max_deleted_id == 0
    g1, g2 = stream.groups[b"g1"], stream.groups[b"g2"]
    assert (g1.entries_read, g2.entries_read) == (1, 0)         # estimated, as Redis does
    assert [format_id(i) for i, _ in g1.consumers[b"c11"].pending.items()] == \
        [b"1-0", b"2-0", b"4-0", b"5-0"]
    assert not g2.consumers and not g2.pending


def test_function_library():
    payload = ("f5404423216c7561206e616d653d6c69620a72656469732e72656769737465725f66756e63"
               "74696f6e282766272c2066756e6374696f6e28292072657475726e203120656e64290a00af"
               "ec4ac10dc90ca3")
    code = b"#!lua name=lib\nredis.register_function('f', function() return 1 end)"
    assert load_functions(body(payload)) == [code]
    assert dump_functions([code]) == body(payload)


@pytest.mark.parametrize("payload", [
    "12010210100000000300816102010182626203ff0a00df0af310be9d9e9d",
    "0b1404000000030000000100000003000000701101000a00499340ed54ef4afa",
    "1012120000000400816602817602816e020c01ff0a0001369481d35b8974",
    "00c1d4fe0a00c6c48623febede2e",
])
def test_we_write_what_redis_writes(payload):
    assert dump_object(load_object(body(payload))) == body(payload)


# -- encodings Redis 7.2 writes (RDB 11) ---------------------------------------------------

def test_set_listpack():
    listpack = rdb._listpack([b"a", b"7", b"bc"])
    assert set(load_object(bytes([rdb.SET_LISTPACK]) + rdb._string(listpack))) == \
        {b"a", b"7", b"bc"}


def test_stream_with_consumer_active_times():
    # Redis 7.2's type 21: a consumer's active time after its seen time.
    stream = Stream()
    stream.add(make_id(5, 0), [b"f", b"v"])
    version_2 = dump_object(stream)
    group = (rdb._string(b"g") + rdb._stream_id(make_id(5, 0)) + rdb._length(1)
             + rdb._length(1) + make_id(5, 0).to_bytes(16, "big") + rdb._time_ms(1000)
             + rdb._length(3)
             + rdb._length(1) + rdb._string(b"c") + rdb._time_ms(2000) + rdb._time_ms(1500)
             + rdb._length(1) + make_id(5, 0).to_bytes(16, "big"))
    version_3 = bytes([rdb.STREAM_LISTPACKS_3]) + version_2[1:-1] + rdb._length(1) + group
    consumer = load_object(version_3).groups[b"g"].consumers[b"c"]
    assert (consumer.seen_time, consumer.active_time) == (2000, 1500)
    [(_, nack)] = consumer.pending.items()
    assert (nack.consumer, nack.delivery_time, nack.delivery_count) == (consumer, 1000, 3)


# -- older encodings Redis still loads -----------------------------------------------------

# A ziplist of "a" and the integer 5: header (bytes 16, tail at 13, 2 entries), then
# prevlen 0, a 1-byte string; prevlen 3, the immediate integer 5 (0xF1 + 5); the end.
ZIPLIST = bytes([16, 0, 0, 0, 13, 0, 0, 0, 2, 0, 0, 0x01, ord("a"), 3, 0xF6, 0xFF])


def test_list_as_plain_elements():
    data = bytes([rdb.LIST, 2]) + rdb._string(b"x") + rdb._string(b"12")
    assert load_object(data) == BulkList.of([b"x", b"12"])


def test_list_ziplist():
    assert load_object(bytes([rdb.LIST_ZIPLIST]) + rdb._string(ZIPLIST)) == \
        BulkList.of([b"a", b"5"])


def test_quicklist_of_ziplists():
    node = rdb._string(ZIPLIST)
    assert load_object(bytes([rdb.LIST_QUICKLIST, 2]) + node + node) == \
        BulkList.of([b"a", b"5", b"a", b"5"])


def test_quicklist_plain_node():
    data = bytes([rdb.LIST_QUICKLIST_2, 1, rdb.PLAIN]) + rdb._string(b"big element")
    assert load_object(data) == BulkList.of([b"big element"])


def test_hash_and_zset_ziplists():
    assert load_object(bytes([rdb.HASH_ZIPLIST]) + rdb._string(ZIPLIST)) == {b"a": b"5"}
    assert list(load_object(bytes([rdb.ZSET_ZIPLIST]) + rdb._string(ZIPLIST)).items()) == \
        [(b"a", 5.0)]


def test_ziplist_integer_encodings():
    # int16 -2, int24 70000, int8 -1, each after its previous entry's size
    entries = [bytes([0, 0xC0]) + (-2).to_bytes(2, "little", signed=True),
               bytes([4, 0xF0]) + (70000).to_bytes(3, "little", signed=True),
               bytes([5, 0xFE]) + (-1).to_bytes(1, "little", signed=True)]
    size = 10 + sum(map(len, entries)) + 1
    tail = size - 1 - len(entries[-1])
    blob = struct.pack("<IIH", size, tail, 3) + b"".join(entries) + b"\xFF"
    assert rdb.ziplist_items(blob) == [-2, 70000, -1]


def test_zipmap_hash():
    # count 2; "f" -> "v" with 1 byte of padding; "g" -> "w"
    zipmap = b"\x02\x01f\x01\x01v\x00\x01g\x01\x00w\xFF"
    assert load_object(bytes([rdb.HASH_ZIPMAP]) + rdb._string(zipmap)) == \
        {b"f": b"v", b"g": b"w"}


def test_zset_with_text_scores():
    data = (bytes([rdb.ZSET, 3]) + rdb._string(b"a") + b"\x031.5" + rdb._string(b"b")
            + b"\xfe" + rdb._string(b"c") + b"\xff")
    assert list(load_object(data).items()) == \
        [(b"c", float("-inf")), (b"a", 1.5), (b"b", float("inf"))]


def test_set_and_hash_of_plain_strings():
    data = bytes([rdb.SET, 2]) + rdb._string(b"x") + rdb._string(b"-3")
    assert set(load_object(data)) == {b"x", b"-3"}
    data = bytes([rdb.HASH, 1]) + rdb._string(b"f") + rdb._string(b"v")
    assert load_object(data) == {b"f": b"v"}


def test_functions_of_the_release_candidates():
    record = (bytes([rdb.FUNCTION_RC]) + rdb._string(b"lib") + rdb._string(b"LUA")
              + rdb._length(1) + rdb._string(b"a description") + rdb._string(b"return 1"))
    assert load_functions(record) == [b"#!LUA name=lib\nreturn 1"]


# -- what we write -------------------------------------------------------------------------

def round_trip(value):
    back = load_object(dump_object(value))
    assert type(back) is type(value)
    assert plain(back) == plain(value)
    return back


BOUNDARIES = [0, 127, 128, -1, -4096, 4095, 4096, -4097, -32768, 32767, 32768, -2**23,
              2**23 - 1, 2**23, -2**31, 2**31 - 1, 2**31, -2**63, 2**63 - 1]


@pytest.mark.parametrize("value", BOUNDARIES)
def test_integers_at_every_encoding_boundary(value):
    text = b"%d" % value
    round_trip(text)
    round_trip(BulkList.of([text, b"x"]))
    round_trip({text: text})
    round_trip(RandomSet([text]))


@pytest.mark.parametrize("text", [b"", b"-0", b"007", b"+1", b" 1", b"1.0",
                                  b"9223372036854775808", b"-9223372036854775809"])
def test_strings_that_only_look_like_integers(text):
    assert round_trip(text) == text
    assert round_trip(BulkList.of([text])) == BulkList.of([text])
    assert set(round_trip(RandomSet([text, b"1"]))) == {text, b"1"}


@pytest.mark.parametrize("size", [63, 64, 4095, 4096, 70000])
def test_strings_at_every_length_encoding_boundary(size):
    text = b"s" * size
    round_trip(text)
    round_trip(BulkList.of([text]))
    round_trip({b"f": text})


def test_compact_encodings_are_chosen_as_redis_chooses_them():
    small, big = {b"f": b"v"}, {b"f%d" % i: b"v" for i in range(600)}
    assert dump_object(small)[0] == rdb.HASH_LISTPACK
    assert dump_object(big)[0] == dump_object({b"f": b"v" * 65})[0] == rdb.HASH
    assert dump_object(RandomSet([b"1", b"2"]))[0] == rdb.SET_INTSET
    assert dump_object(RandomSet([b"1", b"a"]))[0] == rdb.SET
    assert dump_object(RandomSet(b"%d" % i for i in range(600)))[0] == rdb.SET
    assert dump_object(SortedSet.from_scores({b"a": 1}))[0] == rdb.ZSET_LISTPACK
    assert dump_object(SortedSet.from_scores({b"a" * 65: 1}))[0] == rdb.ZSET_2
    assert dump_object(BulkList.of([b"a"]))[0] == rdb.LIST_QUICKLIST_2
    assert dump_object(b"12")[:2] == bytes([rdb.STRING, 0xC0])


def test_long_lists_are_split_into_nodes_of_about_8_kb():
    items = BulkList.of(b"element-%d" % i for i in range(5000))
    data = dump_object(items)
    reader = rdb._Reader(data)
    reader.byte()
    nodes = reader.count()
    sizes = []
    for _ in range(nodes):
        assert reader.length() == rdb.PACKED
        sizes.append(len(reader.string()))
    assert nodes > 1 and max(sizes) <= 8192
    assert round_trip(items) == items


@pytest.mark.parametrize("scores", [
    {b"a": 1.5, b"b": -2.0, b"c": 1e300, b"d": 0.0, b"e": 1 / 3, b"f": float("inf"),
     b"g": float("-inf"), b"h": 2.0**62, b"i": 2.0**63, b"j": -5e-324},
    {b"m%d" % i: i * 0.25 for i in range(300)},
])
def test_sorted_sets(scores):
    round_trip(SortedSet.from_scores(scores))


def make_stream() -> Stream:
    """Several blocks, deleted entries, entries with their own fields, two groups with
    consumers and pending entries, one group's entries read unknown."""
    stream = Stream()
    for i in range(1, 251):
        fields = [b"n", b"%d" % i] if i % 7 else [b"other", b"x" * i, b"n", b"%d" % i]
        stream.add(make_id(1000 + i // 3, i % 3), fields)
    for i in (1, 2, 50, 120):
        stream.delete(make_id(1000 + i // 3, i % 3))
    workers = stream.groups[b"workers"] = ConsumerGroup(b"workers", make_id(1010, 0), 29)
    alice, bob = workers.add_consumer(b"alice", 111), workers.add_consumer(b"bob", 222)
    bob.active_time = 200
    workers.deliver([make_id(1001, 0), make_id(1001, 1)], alice, 5000)
    workers.deliver([make_id(1002, 0)], bob, -7)
    workers.pending.get(make_id(1002, 0)).delivery_count = 3
    workers.add_consumer(b"idle", 333)
    stream.groups[b"lost"] = ConsumerGroup(b"lost", make_id(1, 0), None)
    return stream


def test_streams():
    stream = make_stream()
    back = round_trip(stream)
    assert [list(ids) for ids, _, _ in back.entries.layout()] == \
        [list(ids) for ids, _, _ in stream.entries.layout()]         # tombstones kept
    # Redis 7.0 has no active time: it reads back as the seen time
    assert back.groups[b"workers"].consumers[b"bob"].active_time == 222


def test_stream_edge_cases():
    empty = Stream()
    round_trip(empty)
    emptied = Stream()
    emptied.add(make_id(5, 1), [b"a", b"1"])
    emptied.delete(make_id(5, 1))
    round_trip(emptied)
    wrapping = Stream()                            # a sequence below the node's first
    wrapping.add(make_id(1, 2**64 - 1), [b"a", b"1"])
    wrapping.add(make_id(2**64 - 1, 0), [b"a", b"2"])
    round_trip(wrapping)


def test_function_records_round_trip():
    codes = [b"#!lua name=a\nreturn 1", b"#!lua name=b\n" + b"-- x\n" * 100]
    assert load_functions(dump_functions(codes)) == codes
    assert load_functions(b"") == []


def test_a_key_is_not_a_function():
    with pytest.raises(NotAFunction):
        load_functions(dump_object(b"v"))
    with pytest.raises(RdbError):
        load_object(dump_functions([b"#!lua name=a\nreturn 1"]))


# -- LZF -----------------------------------------------------------------------------------

def test_lzf_literal_and_back_references():
    # a literal "abc", then 4 bytes from 3 back (overlapping: "abca"), then 2 + 7 + 1
    # bytes from 1 back (a run of one byte)
    data = b"\x02abc" + bytes([2 << 5, 2]) + bytes([7 << 5, 1, 0])
    assert lzf_decompress(data, 17) == b"abcabca" + b"a" * 10


@pytest.mark.parametrize("data, size", [
    (b"\x05abc", 6),                     # a literal cut short
    (b"\x00a\x20\x05", 3),               # a reference before the start
    (b"\x00a\xe0", 10),                  # a long reference cut short
    (b"\x02abc", 4),                     # shorter than stated
    (b"\x02abc", 2),                     # longer than stated
    (b"\x00a" + bytes([7 << 5, 255, 0]) * 3, 2**62),   # a huge stated size
])
def test_lzf_errors(data, size):
    with pytest.raises(RdbError):
        lzf_decompress(data, size)


# -- malformed input -----------------------------------------------------------------------

@pytest.mark.parametrize("data, message", [
    (b"", "unexpected end"),
    (b"\x08", "unknown or unsupported object type 8"),
    (b"\x06\x00", "unknown or unsupported object type 6"),           # a module value
    (b"\x00\x05abc", "5 bytes needed"),
    (b"\x00\x01ab", "data after the value"),
    (b"\x01\x00", "an empty container"),
    (b"\x01\x81" + b"\xff" * 8, "more than the input left can hold"),
    (b"\x00\xc4", "unknown string encoding 4"),
    (b"\x00\xc3\x05\x81" + b"\xff" * 8 + b"\x00abcde", "LZF"),
    (b"\x02\x02\x01a\x01a", "a duplicate set member"),
    (b"\x04\x02\x01a\x01a\x01a\x01b", "a duplicate hash field"),
    (b"\x05\x01\x01a" + struct.pack("<d", float("nan")), "NaN score"),
    (b"\x0b\x0c" + bytes([2, 0, 0, 0, 2, 0, 0, 0, 5, 0, 3, 0]), "intset out of order"),
    (b"\x10\x07" + bytes([7, 0, 0, 0, 0, 0, 0xFF]), "an empty container"),
    (b"\x10\x09" + bytes([9, 0, 0, 0, 1, 0, 0x81, 0x61, 0xFF]), "back-length"),
    (b"\x12\x01\x03\x01a", "unknown quicklist container 3"),
])
def test_malformed_input_is_refused(data, message):
    with pytest.raises(RdbError, match=message):
        load_object(data)


@pytest.mark.parametrize("data, message", [
    (b"\x10\x09" + bytes([9, 0, 0, 0, 1, 0, 0x81, 0x61, 0xFF]),
     "Hash listpack integrity check failed: a listpack entry whose back-length"),
    (b"\x0d\x07" + bytes([7, 0, 0, 0, 0, 0, 0xFF]), "Hash ziplist integrity check failed"),
    (b"\x0b\x0c" + bytes([2, 0, 0, 0, 2, 0, 0, 0, 5, 0, 3, 0]),
     "Intset integrity check failed: an intset out of order"),
    (b"\x10\x07" + bytes([7, 0, 0, 0, 0, 0, 0xFF]),
     "Hash listpack integrity check failed: an empty container"),
])
def test_a_blob_that_does_not_check_out_is_named_as_redis_names_it(data, message):
    # Redis's log says "<encoding> integrity check failed" (RESTORE, loading a file).
    with pytest.raises(RdbError, match=message):
        load_object(data)


def test_a_file_s_empty_containers_are_skipped_as_redis_skips_them():
    data = (b"REDIS0010\xfe\x00"
            + b"\x02\x05empty\x00"                       # a set of no members
            + b"\x00\x04kept\x01v"
            + b"\xff" + bytes(8))                          # no checksum
    contents = read_rdb(data)
    assert [record.key for record in contents.keys] == [b"kept"]
    assert contents.empty_keys == [b"empty"]


def valid_bodies() -> list[bytes]:
    values = [b"text", b"-300", b"abc" * 20, BulkList.of([b"a", b"1", b"x" * 100]),
              RandomSet([b"1", b"5"]), RandomSet([b"a", b"b"]), {b"f": b"v"},
              {b"f%d" % i: b"v" for i in range(600)}, SortedSet.from_scores({b"a": 1.5}),
              SortedSet.from_scores({b"m%d" % i: i for i in range(200)}), make_stream()]
    bodies = [dump_object(value) for value in values]
    bodies += [body(REDIS_STREAM), body("00c30b3c0361626361e02d020162630a006f6029e4afd764ac"),
               bytes([rdb.LIST_ZIPLIST]) + rdb._string(ZIPLIST)]
    return bodies


def test_every_truncation_is_refused():
    for data in valid_bodies():
        for end in range(len(data)):
            with pytest.raises(RdbError):
                load_object(data[:end])


def check(data: bytes) -> None:
    """Loading `data` gives a value or RdbError, never another exception."""
    try:
        load_object(data)
    except RdbError:
        pass


def test_fuzz_damaged_payloads():
    generator = random.Random(20240607)
    bodies = valid_bodies()
    deadline = time.monotonic() + 20
    for _ in range(3000):
        data = bytearray(generator.choice(bodies))
        for _ in range(generator.randint(1, 4)):
            position = generator.randrange(len(data))
            if generator.random() < 0.7:
                data[position] = generator.randrange(256)
            elif generator.random() < 0.5:
                del data[position]
            else:
                data.insert(position, generator.randrange(256))
        check(bytes(data))
        assert time.monotonic() < deadline, "decoding damaged payloads is too slow"


def test_fuzz_random_bytes():
    generator = random.Random(7)
    for _ in range(3000):
        kind = generator.choice(list(rdb._LOADERS))
        data = bytes([kind]) + generator.randbytes(generator.randint(0, 40))
        check(data)
        try:
            load_functions(data)
        except RdbError:
            pass


# -- the payload envelope (commands/serialize.py) -------------------------------------------

def envelope(body: bytes, version: int) -> bytes:
    body += version.to_bytes(2, "little")
    return body + crc64(body).to_bytes(8, "little")


def test_payload_versions():
    assert dump_payload(b"v")[-10:-8] == b"\x0a\x00"                 # RDB 10
    for version in (9, 10, 11):
        assert restore_payload(envelope(dump_object(b"v"), version)) == b"v"
    with pytest.raises(ErrorReply) as info:
        restore_payload(envelope(dump_object(b"v"), 12))
    assert info.value is BAD_PAYLOAD


def test_payloads_of_earlier_versions_of_our_server_are_still_read():
    # They carried a value in our snapshot encoding, under version 0xF000 | its version.
    kind, encoded = encode_value(BulkList.of([b"a", b"b"]))
    payload = envelope(bytes([kind]) + encoded, LEGACY_VERSION)
    assert restore_payload(payload) == BulkList.of([b"a", b"b"])


# -- whole files ---------------------------------------------------------------------------

LIBRARY = b"#!lua name=lib\nredis.register_function('one', function() return 1 end)"


def filled_keyspace() -> Keyspace:
    """Every type, in two databases, some keys with a TTL (one already past)."""
    keyspace = Keyspace(16)
    first, other = keyspace.dbs[0], keyspace.dbs[5]
    values = {b"string": b"text", b"12345": b"-300", b"list": BulkList.of([b"a", b"1", b"c"]),
              b"hash": {b"f": b"v", b"n": b"7"}, b"set": RandomSet([b"x", b"y"]),
              b"intset": RandomSet([b"1", b"2", b"-3"]),
              b"zset": SortedSet.from_scores({b"a": 1.5, b"b": -2.0}),
              b"stream": make_stream()}
    for key, value in values.items():
        first.add(key, value)
    first.set_expire(b"string", 4102444800000)              # 2100-01-01
    first.set_expire(b"list", 1000)                         # long past
    other.add(b"elsewhere", b"v" * 100)
    other.set_expire(b"elsewhere", 4102444800123)
    return keyspace


def write_file(keyspace, libraries=(LIBRARY,), aux=(("redis-ver", "7.0.15"),),
               policy="noeviction") -> bytes:
    handle = io.BytesIO()
    write_rdb(handle, keyspace.dbs, libraries, aux, policy)
    return handle.getvalue()


def test_a_file_round_trips():
    keyspace = filled_keyspace()
    data = write_file(keyspace, aux=[("redis-ver", "7.0.15"), ("redis-bits", 64),
                                     ("repl-id", "ab" * 20)])
    assert data.startswith(b"REDIS0010")
    assert data[-8:] == crc64(data[:-8]).to_bytes(8, "little")
    contents = read_rdb(data)
    assert contents.version == 10
    assert contents.aux == {b"redis-ver": b"7.0.15", b"redis-bits": b"64",
                            b"repl-id": b"ab" * 20}
    assert contents.libraries == [LIBRARY]
    # Every key, in database order, with its expiry time: an expired one too (a loader
    # drops it), as Redis writes them.
    expected = [(db.index, key, plain(entry.value), entry.expires_at, None, None)
                for db in keyspace.dbs for key, entry in db.data.items()]
    assert [(record.db, record.key, plain(record.value), record.expires_at, record.idle,
             record.freq) for record in contents.keys] == expected


def test_a_checksum_computed_as_the_file_arrived_is_the_one_compared():
    data = write_file(filled_keyspace())
    body_crc = crc64(data[:-8])
    assert read_rdb(data, body_crc=body_crc).version == 10
    with pytest.raises(RdbError, match="RDB CRC error"):
        read_rdb(data, body_crc=body_crc ^ 1)           # (a file damaged on the way)


def test_what_is_written_byte_by_byte():
    keyspace = Keyspace(16)
    keyspace.dbs[2].add(b"k", b"v")
    keyspace.dbs[2].add(b"t", b"12")
    keyspace.dbs[2].set_expire(b"t", 0x0102030405)
    data = write_file(keyspace, libraries=(), aux=[("ctime", 1700000000)])
    assert data[:-8] == (
        b"REDIS0010"
        b"\xfa" b"\x05ctime" b"\xc2\x00\xf1\x53\x65"     # AUX: an integer-encoded value
        b"\xfe\x02" b"\xfb\x02\x01"                      # SELECTDB 2, RESIZEDB 2 keys, 1 TTL
        b"\x00\x01k\x01v"                                # type 0, key, value
        b"\xfc\x05\x04\x03\x02\x01\x00\x00\x00"          # EXPIRETIME_MS (little-endian)
        b"\x00\x01t\xc0\x0c"                             # "12" as an 8-bit integer
        b"\xff")                                         # EOF


def test_an_empty_file():
    data = write_file(Keyspace(16), libraries=(), aux=())
    assert data == b"REDIS0010\xff" + crc64(b"REDIS0010\xff").to_bytes(8, "little")
    assert read_rdb(data) == RdbFile(10)


@pytest.mark.parametrize("policy, idle, freq", [
    ("allkeys-lru", 42, None), ("volatile-lfu", None, 9), ("noeviction", None, None),
    ("allkeys-random", None, None)])
def test_access_data_is_saved_for_the_eviction_policy(policy, idle, freq):
    keyspace = Keyspace(16)
    keyspace.dbs[0].add(b"k", b"v")
    entry = keyspace.dbs[0].data[b"k"]
    entry.access = keyspace.lru_clock - 42
    if freq is not None:
        entry.freq, entry.access = freq, minutes_now()
    (record,) = read_rdb(write_file(keyspace, policy=policy)).keys
    assert (record.idle, record.freq) == (idle, freq)


def test_older_files_are_read():
    # Version 3: no checksum, an expiry time in seconds, a plain list.
    data = (b"REDIS0003" b"\xfe\x00" b"\xfd\x10\x27\x00\x00" b"\x01\x01l\x02\x01a\x01b"
            b"\x00\x01s\x01v" b"\xff")
    contents = read_rdb(data)
    assert [(record.key, plain(record.value), record.expires_at)
            for record in contents.keys] == [(b"l", BulkList.of([b"a", b"b"]), 10_000_000),
                                              (b"s", b"v", 0)]
    # A zero checksum means none was computed (rdbchecksum no): not checked.
    file = write_file(filled_keyspace())
    assert len(read_rdb(file[:-8] + bytes(8)).keys) == 9


@pytest.mark.parametrize("data, message", [
    (b"RDB0010\xff", "no REDIS magic"),
    (b"REDIS0012\xff" + bytes(8), "RDB version 12"),
    (b"REDIS0010\xf7\x01", "module data"),
    (b"REDIS0010\xff" + bytes(7), "8 bytes needed"),
    (b"REDIS0010\xff\x01" + bytes(7), "wrong checksum"),
    (b"REDIS0003\xff\x00", "data after the end"),
    (b"REDIS0010\x07\x01k\x00\xff", "unknown or unsupported object type 7"),
])
def test_malformed_files_are_refused(data, message):
    with pytest.raises(RdbError, match=message):
        read_rdb(data)


def test_every_damage_is_found():
    data = write_file(filled_keyspace())
    for cut in range(0, len(data), 17):
        with pytest.raises(RdbError):
            read_rdb(data[:cut])
    for position in range(9, len(data), 29):                 # the checksum catches it
        damaged = bytearray(data)
        damaged[position] ^= 0x20
        with pytest.raises(RdbError):
            read_rdb(bytes(damaged))


def test_redis_loads_our_file_and_we_load_its_own(tmp_path):
    """A real redis-server starts on our file with every value; what it saves from
    them reads back the same through our reader."""
    keyspace = filled_keyspace()
    (tmp_path / "dump.rdb").write_bytes(write_file(keyspace, aux=[
        ("redis-ver", "7.0.15"), ("redis-bits", 64), ("aof-base", 0)]))
    server = start_redis(str(tmp_path), "--dbfilename", "dump.rdb")
    try:
        client = redis.Redis(port=server.port)
        assert client.dbsize() == 7                          # the expired list is gone
        assert client.get("string") == b"text"
        assert 0 < client.pttl("string")
        assert client.hgetall("hash") == {b"f": b"v", b"n": b"7"}
        assert client.smembers("intset") == {b"1", b"2", b"-3"}
        assert client.zrange("zset", 0, -1, withscores=True) == [(b"b", -2.0), (b"a", 1.5)]
        assert client.xlen("stream") == make_stream().length
        assert client.xpending("stream", "workers")["pending"] == 3
        assert client.execute_command("FCALL", "one", 0) == 1
        assert client.execute_command("SELECT", 5) and client.get("elsewhere") == b"v" * 100
        client.save()
        client.close()
    finally:
        server.stop()
    contents = read_rdb((tmp_path / "dump.rdb").read_bytes())
    assert contents.aux[b"redis-ver"].startswith(b"7.")
    assert contents.libraries == [LIBRARY]
    ours = {(db.index, key): (plain(entry.value), entry.expires_at)
            for db in keyspace.dbs for key, entry in db.data.items() if key != b"list"}
    assert {(record.db, record.key): (plain(record.value), record.expires_at)
            for record in contents.keys} == ours
    # And kvdb starts on the file Redis saved.
    server = start_kvdb(str(tmp_path))
    try:
        client = redis.Redis(port=server.port)
        assert client.dbsize() == 7 and client.hgetall("hash") == {b"f": b"v", b"n": b"7"}
        assert client.xpending("stream", "workers")["pending"] == 3
        client.close()
    finally:
        server.stop()


def test_kvdb_imports_an_rdb_file_at_start_up(tmp_path):
    """A dump.rdb in place of a snapshot is imported (then saved in our format); a
    damaged one stops the server, as a damaged snapshot does."""
    (tmp_path / "dump.rdb").write_bytes(write_file(filled_keyspace()))
    server = start_kvdb(str(tmp_path))
    try:
        client = redis.Redis(port=server.port)
        assert client.dbsize() == 7                          # the expired list is left out
        assert client.lrange("list", 0, -1) == []
        assert client.execute_command("PEXPIRETIME", "string") == 4102444800000
        assert client.xpending("stream", "workers")["pending"] == 3
        assert client.fcall("one", 0) == 1
        assert redis.Redis(port=server.port, db=5).get("elsewhere") == b"v" * 100
        client.save()
        client.close()
    finally:
        server.stop()
    assert (tmp_path / "dump.rdb").read_bytes().startswith(b"FSKV")
    assert b"imported 8 keys" in (tmp_path / "server.log").read_bytes()
    damaged = bytearray(write_file(filled_keyspace()))
    damaged[-20] ^= 1
    (tmp_path / "dump.rdb").write_bytes(damaged)
    with pytest.raises(RuntimeError, match="server exited"):
        start_kvdb(str(tmp_path)).stop()
    assert b"wrong checksum" in (tmp_path / "server.log").read_bytes()
