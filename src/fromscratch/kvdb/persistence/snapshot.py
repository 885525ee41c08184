"""Snapshots: the whole keyspace in one file (our equivalent of Redis's dump.rdb).

The format is our own and small enough to decode by hand (protocol_specs/kvdb-disk.md
has a worked example):

    file    = "FSKV" version:u8  record*  END  crc32:u32
    record  = AUX name:blob value:blob              (a named fact; first)
            | FUNCTION code:blob                    (a function library; before the data)
            | SELECT db:varint
            | KEY kind:u8 [expires_at_ms:u64] key:blob value
    AUX = 0xFA   FUNCTION = 0xF5   SELECT = 0xFE   END = 0xFF   KEY = the kind byte itself
              (0..5), plus 0x80 when an expiry time follows
    blob    = length:varint bytes
    varint  = unsigned LEB128 (7 bits a byte, low first, high bit = more)

    string  = blob
    list    = count:varint blob*                    (head to tail)
    hash    = count:varint (field:blob value:blob)*
    set     = count:varint blob*
    zset    = count:varint (member:blob score:f64)* (IEEE 754, big-endian)
    stream  = blocks:varint (count:varint (id fields:varint blob*)*)*
              (fields counts names and values; 0 is an entry deleted in its block)
              last_id:id entries_added:varint max_deleted_id:id first_id:id
              groups:varint group*
    group   = name:blob last_id:id entries_read:varint      (plus one; 0 for unknown)
              consumers:varint (name:blob seen_time:i64 active_time:i64)*
              pending:varint (id consumer:blob delivery_time:i64 deliveries:varint)*
    id      = ms:u64 seq:u64

Integers are big-endian. The CRC32 (zlib's) covers every byte before it. Expiry times
are absolute unix milliseconds, so a key that expires while the server is down is gone
when it comes back. Version 2 added the FUNCTION records (the code of each library of
FUNCTION LOAD, as Redis keeps them in its RDB); version 1 files, which have none, still
load. Version 3 added the AUX records: as in an RDB file, `repl-id`, `repl-offset` and
`repl-stream-db` say where the replication stream had come to, so that a restarted
primary and its replicas continue it.

`write_snapshot` streams the keyspace to a file object; `read_snapshot` parses one into
fresh databases and only returns them once the checksum has been verified: a corrupt
file is refused whole, never half-loaded.

DUMP and RESTORE speak RDB (rdb.py), but earlier versions of this server put one value
in this encoding, kind byte first, in their payloads (and FUNCTION DUMP a FUNCTION
record): `deserialize_value` and `deserialize_libraries` still read those, since
append-only files keep RESTORE commands with their payloads.
"""

from __future__ import annotations

import struct
import zlib

from ...durable import ChecksummedWriter
from ..keyspace import Keyspace, now_ms, type_name
from ..structures.bulklist import BulkList
from ..structures.randomset import RandomSet
from ..structures.sortedset import SortedSet
from ..structures.stream import (Consumer, ConsumerGroup, Nack, Stream, encode_entry,
                                 entry_fields, format_id)

MAGIC = b"FSKV"
VERSION = 3
READABLE_VERSIONS = (1, 2, 3)
AUX, FUNCTION, SELECT, END = 0xFA, 0xF5, 0xFE, 0xFF
HAS_EXPIRY = 0x80
KINDS = {"string": 0, "list": 1, "hash": 2, "set": 3, "zset": 4, "stream": 5}


class CorruptSnapshot(Exception):
    """The file is not a whole, intact snapshot; the message says where."""


# -- writing --------------------------------------------------------------------------------

def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _blob(data: bytes) -> bytes:
    return _varint(len(data)) + data


def _id(stream_id: int) -> bytes:
    return stream_id.to_bytes(16, "big")


def _time(ms: int) -> bytes:
    return struct.pack(">q", ms)


def _encode_stream(stream: Stream) -> bytes:
    """Entries block by block, deleted ones included, so that the blocks (Redis's nodes,
    which decide what approximate trims remove) come back as they were."""
    parts = [_varint(stream.entries.block_count())]
    for ids, entries, _master in stream.entries.layout():
        parts.append(_varint(len(ids)))
        for stream_id, entry in zip(ids, entries):
            fields = entry_fields(entry) if entry is not None else []
            parts += [_id(stream_id), _varint(len(fields))] + [_blob(item) for item in fields]
    parts += [_id(stream.last_id), _varint(stream.entries_added), _id(stream.max_deleted_id),
              _id(stream.first_id), _varint(len(stream.groups))]
    for group in stream.groups.values():
        known = group.entries_read is not None
        parts += [_blob(group.name), _id(group.last_id),
                  _varint(group.entries_read + 1 if known else 0),
                  _varint(len(group.consumers))]
        for consumer in group.consumers.values():
            parts += [_blob(consumer.name), _time(consumer.seen_time),
                      _time(consumer.active_time)]
        parts.append(_varint(group.pending.length))
        for stream_id, nack in group.pending.items():
            parts += [_id(stream_id), _blob(nack.consumer.name), _time(nack.delivery_time),
                      _varint(nack.delivery_count)]
    return b"".join(parts)


def encode_value(value) -> tuple[int, bytes]:
    """(kind byte, encoded value) for one value."""
    kind = KINDS[type_name(value)]
    if kind == 0:
        return kind, _blob(value)
    if kind == 1:
        return kind, _varint(len(value)) + b"".join(map(_blob, value.elements()))
    if kind == 3:
        return kind, _varint(len(value)) + b"".join(_blob(item) for item in value)
    if kind == 2:
        return kind, _varint(len(value)) + b"".join(
            _blob(field) + _blob(item) for field, item in value.items())
    if kind == 5:
        return kind, _encode_stream(value)
    return kind, _varint(len(value)) + b"".join(
        _blob(member) + struct.pack(">d", score) for member, score in value.items())


def write_snapshot(keyspace: Keyspace, handle, libraries=(), after_key=None,
                   aux=()) -> None:
    """Write `keyspace`, the code of the function `libraries` and the `aux` facts
    ((name, value) byte strings) to `handle`. `after_key()`, if given, is called after
    each key."""
    out = ChecksummedWriter(handle, zlib.crc32)
    out.write(MAGIC + bytes([VERSION]))
    for name, value in aux:
        out.write(bytes([AUX]) + _blob(name) + _blob(value))
    out.write(serialize_libraries(libraries))
    for db in keyspace.dbs:
        if not db.data:
            continue
        out.write(bytes([SELECT]) + _varint(db.index))
        # Keys already past their time are written too, as Redis writes them: whoever
        # loads the file leaves them out (and counts them: rdb_last_load_keys_expired).
        for key, entry in db.data.items():
            kind, payload = encode_value(entry.value)
            if entry.expires_at:
                out.write(bytes([kind | HAS_EXPIRY]) + struct.pack(">Q", entry.expires_at))
            else:
                out.write(bytes([kind]))
            out.write(_blob(key))
            out.write(payload)
            if after_key is not None:
                after_key()
    out.write(bytes([END]))
    out.flush()
    handle.write(struct.pack(">I", out.crc))


# -- reading --------------------------------------------------------------------------------

class _Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def fail(self, what: str):
        raise CorruptSnapshot(f"{what} at byte offset {self.pos}")

    def byte(self) -> int:
        if self.pos >= len(self.data):
            self.fail("unexpected end of file")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def varint(self) -> int:
        value = shift = 0
        while True:
            byte = self.byte()
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7
            if shift > 63:
                self.fail("varint too long")

    def take(self, size: int) -> bytes:
        if self.pos + size > len(self.data):
            self.fail(f"a length of {size} runs past the end of the file")
        chunk = self.data[self.pos:self.pos + size]
        self.pos += size
        return chunk

    def blob(self) -> bytes:
        return self.take(self.varint())

    def stream_id(self) -> int:
        return int.from_bytes(self.take(16), "big")

    def time(self) -> int:
        return struct.unpack(">q", self.take(8))[0]

    def count(self) -> int:
        count = self.varint()
        if count > len(self.data):                     # each item takes at least a byte
            self.fail(f"a count of {count} is larger than the file")
        return count


def _decode_stream(reader: _Reader) -> Stream:
    stream = Stream()
    previous = -1
    for _ in range(reader.count()):
        ids, entries = [], []
        for _ in range(reader.count()):
            stream_id = reader.stream_id()
            fields = [reader.blob() for _ in range(reader.count())]
            if stream_id <= previous:
                reader.fail("stream ids out of order")
            previous = stream_id
            ids.append(stream_id)
            entries.append(encode_entry(format_id(stream_id), fields) if fields else None)
        if not ids:
            reader.fail("an empty stream block")
        stream.entries.append_block(ids, entries)
    stream.last_id = reader.stream_id()
    stream.entries_added = reader.varint()
    stream.max_deleted_id = reader.stream_id()
    stream.first_id = reader.stream_id()
    for _ in range(reader.count()):
        name, last_id, entries_read = reader.blob(), reader.stream_id(), reader.varint()
        group = stream.groups[name] = ConsumerGroup(name, last_id, entries_read - 1
                                                    if entries_read else None)
        for _ in range(reader.count()):
            consumer = Consumer(reader.blob(), reader.time())
            consumer.active_time = reader.time()
            group.consumers[consumer.name] = consumer
        for _ in range(reader.count()):
            stream_id, owner = reader.stream_id(), reader.blob()
            if owner not in group.consumers:
                reader.fail(f"a pending entry of an unknown consumer {owner!r}")
            consumer = group.consumers[owner]
            nack = Nack(consumer, reader.time(), reader.varint())
            group.pending.set(stream_id, nack)
            consumer.pending.set(stream_id, nack)
    return stream


def decode_value(kind: int, reader: _Reader):
    if kind == 0:
        return reader.blob()
    if kind == 1:
        return BulkList.of(reader.blob() for _ in range(reader.count()))
    if kind == 2:
        return {reader.blob(): reader.blob() for _ in range(reader.count())}
    if kind == 3:
        return RandomSet(reader.blob() for _ in range(reader.count()))
    if kind == 4:
        scores = {}
        for _ in range(reader.count()):
            member = reader.blob()
            score = struct.unpack(">d", reader.take(8))[0]
            if score != score:       # no command stores a NaN; it would break the order
                reader.fail("a NaN score")
            scores[member] = score
        return SortedSet.from_scores(scores)
    if kind == 5:
        return _decode_stream(reader)
    reader.pos -= 1
    reader.fail(f"unknown value kind {kind}")


# -- one value on its own (the DUMP payloads of earlier versions) -------------------------

def deserialize_value(data: bytes):
    """The value encoded into `data` as a snapshot record encodes it, kind byte first
    (without the record's key and expiry). Raises CorruptSnapshot unless `data` is
    exactly one well-formed value."""
    reader = _Reader(data)
    value = decode_value(reader.byte(), reader)
    if reader.pos != len(data):
        reader.fail("data after the value")
    # Containers never exist empty (the last item removed removes the key), so no
    # snapshot holds one; a payload that does was not made by serialize_value.
    if not value and type(value) not in (bytes, Stream):
        reader.fail("an empty container")
    return value


def serialize_libraries(codes) -> bytes:
    """The code of function libraries as FUNCTION records: the body of a FUNCTION DUMP
    payload, and the start of a snapshot."""
    return b"".join(bytes([FUNCTION]) + _blob(code) for code in codes)


def deserialize_libraries(data: bytes) -> list[bytes]:
    """The code of the libraries `serialize_libraries` encoded into `data`. Raises
    CorruptSnapshot unless `data` is exactly such records."""
    reader = _Reader(data)
    codes = []
    while reader.pos < len(data):
        if reader.byte() != FUNCTION:
            reader.fail("not a function library")
        codes.append(reader.blob())
    return codes


def read_snapshot(data: bytes, keyspace: Keyspace, libraries: list | None = None,
                  replace: bool = False, on_key=None, aux: dict | None = None,
                  expired_keys: list | None = None) -> tuple[int, int]:
    """Load `data` into `keyspace`, the code of its function libraries into
    `libraries`, its AUX facts into `aux` and the (database, key) of the keys left out
    as expired into `expired_keys`; returns the keys loaded, and those left out as
    expired. A key already in the keyspace is an error unless `replace` (DEBUG RELOAD
    MERGE). Raises CorruptSnapshot, leaving all untouched, if anything is wrong.
    `on_key(offset)`, if given, is called after each key read, with the offset read up
    to."""
    if len(data) < len(MAGIC) + 1 + 1 + 4 or not data.startswith(MAGIC):
        raise CorruptSnapshot("not a fromscratch snapshot (bad magic) at byte offset 0")
    if data[len(MAGIC)] not in READABLE_VERSIONS:
        raise CorruptSnapshot(f"unknown snapshot version {data[len(MAGIC)]} at byte offset 4")
    body, stored = data[:-4], struct.unpack(">I", data[-4:])[0]
    if zlib.crc32(body) != stored:
        raise CorruptSnapshot(f"RDB CRC error: the checksum does not match (the file is "
                              f"damaged) at byte offset {len(body)}")
    reader = _Reader(body)
    reader.pos = len(MAGIC) + 1
    loaded: list[tuple[int, bytes, object, int]] = []
    codes: list[bytes] = []
    facts: dict[bytes, bytes] = {}
    db_index = 0
    expired: list[tuple[int, bytes]] = []
    now = now_ms()
    while True:
        tag = reader.byte()
        if tag == END:
            break
        if tag == AUX:
            name = reader.blob()
            facts[name] = reader.blob()
            continue
        if tag == FUNCTION:
            codes.append(reader.blob())
            continue
        if tag == SELECT:
            db_index = reader.varint()
            if db_index >= len(keyspace.dbs):
                reader.fail(f"database {db_index} is beyond 'databases'")
            continue
        kind = tag & ~HAS_EXPIRY
        expires_at = struct.unpack(">Q", reader.take(8))[0] if tag & HAS_EXPIRY else 0
        key = reader.blob()
        value = decode_value(kind, reader)
        if not expires_at or expires_at > now:
            loaded.append((db_index, key, value, expires_at))
        else:
            expired.append((db_index, key))
        if on_key is not None:
            on_key(reader.pos)
    if reader.pos != len(body):
        reader.fail("data after the end marker")
    if not replace and any(key in keyspace.dbs[db_index].data for db_index, key, _, _ in loaded):
        raise CorruptSnapshot("a key of the snapshot is already in the keyspace")
    for db_index, key, value, expires_at in loaded:
        db = keyspace.dbs[db_index]
        if replace:
            db.delete(key)
        db.add(key, value)
        if expires_at:
            db.set_expire(key, expires_at)
    if libraries is not None:
        libraries.extend(codes)
    if aux is not None:
        aux.update(facts)
    if expired_keys is not None:
        expired_keys.extend(expired)
    keyspace.dirty = 0
    return len(loaded), len(expired)
