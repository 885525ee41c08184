"""Redis's RDB object encoding: one value as Redis writes it into a DUMP payload.

The body of a DUMP payload (commands/serialize.py puts the version and checksum around
it) is a type byte and an object in that type's encoding, as rdb.c writes them:

    body    = type:u8 object
    length  = 00xxxxxx                       6 bits
            | 01xxxxxx xxxxxxxx              14 bits, big-endian
            | 0x80 u32  |  0x81 u64          big-endian
    string  = length bytes
            | 11000000 i8 | 11000001 i16 | 11000010 i32      an integer, little-endian,
                                                             that reads back as its decimal
            | 11000011 clen:length len:length lzf[clen]      LZF-compressed (lzf_decompress)

    type 0   string      string
    type 1   list        length string*
    type 2   set         length string*
    type 3   zset        length (member:string score:text-double)*     (before RDB 8)
    type 5   zset        length (member:string score:f64)*             (little-endian)
    type 4   hash        length (field:string value:string)*
    type 18  list        nodes:length (container:length node:string)*  container 2: a
                         listpack of elements, container 1: one element as it is
    type 11  set         intset:string            sorted integers, 2, 4 or 8 bytes each
    type 20  set         listpack:string          members
    type 16  hash        listpack:string          field, value, field, value...
    type 17  zset        listpack:string          member, score, ... by score then member
    type 19  stream      see _load_stream and _dump_stream

and the encodings Redis no longer writes but still loads: ziplists (types 10, 12, 13,
and type 14, a list of ziplist nodes), type 9's zipmap, and type 15's stream without
the counters Redis 7.0 added. The blobs inside strings are Redis's compact in-memory
structures, saved as they are: listpack.c, ziplist.c, intset.c and zipmap.c describe
them, and so do the readers below.

`load_object` reads every type Redis 7.0 to 7.2 can put in a DUMP payload (RDB versions
up to 11; module values aside). Anything malformed -- truncated, inconsistent, a count
larger than the input could hold, a duplicate member, an empty container, which Redis
never saves -- raises RdbError, and every length is checked against the input left
before anything of that size is built.

`dump_object` writes what Redis 7.0 (RDB version 10, the oldest with every type we
write) writes, the way it chooses encodings at its default thresholds: a listpack for
small hashes and sorted sets, an intset for small sets of integers, listpack nodes of
about 8 KB for lists, the integer encodings for strings that are integers. What it
leaves out changes the bytes, not the value: LZF compression of long strings (payloads
are larger, and still valid), Redis 7.2's listpack for small sets (type 20, which Redis
7.0 would refuse), and the fields of deleted stream entries, which we no longer have
(see _stream_node).

Function libraries travel in FUNCTION DUMP payloads as RDB records of their own: an
opcode (FUNCTION2) and the code as a string (`dump_functions` / `load_functions`).

Whole files (see "whole files" below) put the same objects between opcodes that say
which database, key and expiry time each belongs to: `write_rdb` streams one to a file
object (replication.py sends it to replicas, as Redis does), `read_rdb` parses one.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from typing import NamedTuple

from ...durable import ChecksummedWriter
from ..crc64 import crc64
from ..memory import lfu_decayed
from ..structures.bulklist import BulkList, bulk
from ..structures.randomset import RandomSet
from ..structures.sortedset import SortedSet
from ..structures.stream import (U64_MAX, Consumer, ConsumerGroup, Nack, Stream,
                                 encode_entry, entry_fields, format_id, listpack_node)

RDB_VERSION = 10                 # what we write: Redis 7.0's
NEWEST_READABLE_VERSION = 11     # Redis 7.2's; 7.4's 12 brings types we don't have

# Object types (rdb.h).
STRING, LIST, SET, ZSET, HASH, ZSET_2 = 0, 1, 2, 3, 4, 5
HASH_ZIPMAP, LIST_ZIPLIST, SET_INTSET, ZSET_ZIPLIST, HASH_ZIPLIST = 9, 10, 11, 12, 13
LIST_QUICKLIST, STREAM_LISTPACKS, HASH_LISTPACK, ZSET_LISTPACK = 14, 15, 16, 17
LIST_QUICKLIST_2, STREAM_LISTPACKS_2, SET_LISTPACK, STREAM_LISTPACKS_3 = 18, 19, 20, 21

# Function library records: FUNCTION2 holds the code; FUNCTION_RC is the record of the
# release candidates of Redis 7.0 (name, engine, description and code apart).
FUNCTION2, FUNCTION_RC = 245, 246

# The special string encodings (the low 6 bits after a 11 prefix).
ENC_INT8, ENC_INT16, ENC_INT32, ENC_LZF = 0, 1, 2, 3

# Quicklist node containers.
PLAIN, PACKED = 1, 2

# Stream entry flags (t_stream.c).
ENTRY_DELETED, ENTRY_SAME_FIELDS = 1, 2
# A consumer group's entries-read counter when unknown: Redis's -1, saved as unsigned.
UNKNOWN_ENTRIES_READ = U64_MAX

# Redis 7.0's default thresholds (redis.conf), for choosing encodings as it does.
HASH_MAX_LISTPACK_ENTRIES, HASH_MAX_LISTPACK_VALUE = 512, 64
ZSET_MAX_LISTPACK_ENTRIES, ZSET_MAX_LISTPACK_VALUE = 128, 64
SET_MAX_INTSET_ENTRIES = 512
LIST_NODE_BYTES = 8192           # list-max-listpack-size -2
LIST_NODE_OVERHEAD = 8           # quicklist.c's estimate of an entry's bytes beyond its data

INT64_MIN, INT64_MAX = -2**63, 2**63 - 1


class RdbError(Exception):
    """The input is not a well-formed RDB object; the message says what and where."""


class NotAFunction(RdbError):
    """A record of a FUNCTION DUMP payload that is not a function library."""


# -- integers as text ----------------------------------------------------------------------

_DECIMAL = re.compile(rb"0|-?[1-9][0-9]{0,19}")


def _int64(text: bytes) -> int | None:
    """The value of `text` if it is an integer in canonical form (no sign on 0, no leading
    zeros, no spaces) that fits 64 bits: the strings Redis stores as integers."""
    if _DECIMAL.fullmatch(text):
        value = int(text)
        if INT64_MIN <= value <= INT64_MAX:
            return value
    return None


def _text(item: bytes | int) -> bytes:
    """An element of a listpack or ziplist as the string it stands for."""
    return item if isinstance(item, bytes) else b"%d" % item


def _signed64(value: int) -> int:
    """`value` modulo 2**64, as a signed 64-bit integer (C's wrap-around)."""
    return (value + 2**63) % 2**64 - 2**63


# -- reading -------------------------------------------------------------------------------

_SPECIAL_DOUBLES = {253: float("nan"), 254: float("inf"), 255: float("-inf")}
# Redis's names for the encoded blobs of each type, in the integrity errors it logs.
_BLOB_NAMES = {HASH_ZIPMAP: "Zipmap", HASH_ZIPLIST: "Hash ziplist",
               HASH_LISTPACK: "Hash listpack", SET_INTSET: "Intset",
               SET_LISTPACK: "Set listpack", ZSET_ZIPLIST: "Zset ziplist",
               ZSET_LISTPACK: "Zset listpack", LIST_ZIPLIST: "List ziplist",
               LIST_QUICKLIST: "Quicklist", LIST_QUICKLIST_2: "Quicklist",
               STREAM_LISTPACKS: "Stream listpack", STREAM_LISTPACKS_2: "Stream listpack",
               STREAM_LISTPACKS_3: "Stream listpack"}


def _refuse_blob(reader: "_Reader", kind: int, problem: str):
    """Refuse a value whose encoded blob holds what Redis's integrity check refuses
    (a duplicate, nothing at all)."""
    if kind in _BLOB_NAMES:
        reader.fail(f"{_BLOB_NAMES[kind]} integrity check failed: {problem}")
    reader.fail(problem)


class _Reader:
    """A cursor over `data`; every read checks that the input holds what it asks for.
    `what` names the input in error messages: a payload, or a `blob` inside one (then
    named as Redis names it, and a problem is its integrity check failing)."""

    def __init__(self, data: bytes, what: str = "payload", blob: bool = False):
        self.data = data
        self.pos = 0
        self.what = what
        self.blob = blob            # an encoded blob, checked whole (Redis's words)

    def fail(self, problem: str):
        if self.blob:
            raise RdbError(f"{self.what} integrity check failed: {problem} "
                           f"at byte {self.pos}")
        raise RdbError(f"{problem} at byte {self.pos} of the {self.what}")

    def left(self) -> int:
        return len(self.data) - self.pos

    def take(self, size: int) -> bytes:
        if size > self.left():
            self.fail(f"{size} bytes needed, {self.left()} left")
        chunk = self.data[self.pos:self.pos + size]
        self.pos += size
        return chunk

    def byte(self) -> int:
        if not self.left():
            self.fail("unexpected end")
        self.pos += 1
        return self.data[self.pos - 1]

    def unsigned(self, size: int) -> int:
        return int.from_bytes(self.take(size), "little")

    def signed(self, size: int) -> int:
        return int.from_bytes(self.take(size), "little", signed=True)

    # RDB's own items.

    def _length_or_encoding(self) -> tuple[int, bool]:
        """A length, or (True as the second value) the number of a special string
        encoding."""
        first = self.byte()
        kind = first >> 6
        if kind == 0:
            return first & 0x3F, False
        if kind == 1:
            return (first & 0x3F) << 8 | self.byte(), False
        if kind == 3:
            return first & 0x3F, True
        if first == 0x80:
            return int.from_bytes(self.take(4), "big"), False
        if first == 0x81:
            return int.from_bytes(self.take(8), "big"), False
        self.pos -= 1
        self.fail(f"unknown length encoding 0x{first:02x}")

    def length(self) -> int:
        value, encoded = self._length_or_encoding()
        if encoded:
            self.fail("a string encoding where a length belongs")
        return value

    def count(self, item_size: int = 1) -> int:
        """A number of items that take at least `item_size` bytes each: more than the
        rest of the input can hold is an error, found before any item is read."""
        count = self.length()
        if count * item_size > self.left():
            self.fail(f"a count of {count} items is more than the input left can hold")
        return count

    def string(self) -> bytes:
        value, encoded = self._length_or_encoding()
        if not encoded:
            return self.take(value)
        if value == ENC_INT8:
            return b"%d" % self.signed(1)
        if value == ENC_INT16:
            return b"%d" % self.signed(2)
        if value == ENC_INT32:
            return b"%d" % self.signed(4)
        if value == ENC_LZF:
            compressed, size = self.length(), self.length()
            start = self.pos
            try:
                return lzf_decompress(self.take(compressed), size)
            except RdbError as error:
                self.pos = start
                self.fail(str(error))
        self.fail(f"unknown string encoding {value}")

    def time_ms(self) -> int:
        return self.signed(8)

    def binary_double(self) -> float:
        return struct.unpack("<d", self.take(8))[0]

    def text_double(self) -> float:
        """A double as the oldest sorted sets store it: its text after a length byte,
        which is 253, 254 or 255 for NaN, +inf and -inf."""
        size = self.byte()
        if size in _SPECIAL_DOUBLES:
            return _SPECIAL_DOUBLES[size]
        return self.float_text(self.take(size))

    def float_text(self, text: bytes) -> float:
        try:
            return float(text.decode("ascii"))
        except ValueError:
            self.fail(f"{text[:40]!r} is not a number")

    def stream_id(self) -> int:
        """An id saved as two lengths, milliseconds and sequence."""
        return self.length() << 64 | self.length()

    def raw_stream_id(self) -> int:
        """An id saved as 16 bytes, big-endian (a radix tree key in Redis): our
        `ms << 64 | seq` integer."""
        return int.from_bytes(self.take(16), "big")


def lzf_decompress(data: bytes, size: int) -> bytes:
    """LZF's decompression (lzf_d.c), which must give exactly `size` bytes.

    The input is a sequence of runs, each starting with a control byte:
        000LLLLL                  a literal: the next L+1 bytes as they are
        LLLooooo [L'] oooooooo    a back reference: copy L+2 bytes (L+L'+2 when L is 7,
                                  L' a byte of its own) starting o+1 bytes back in the
                                  output; the copy may overlap what it produces
    The output never grows past `size`, so a bogus size allocates nothing."""
    out = bytearray()
    pos, end = 0, len(data)
    while pos < end:
        control = data[pos]
        pos += 1
        if control < 32:
            run = control + 1
            if pos + run > end:
                raise RdbError("an LZF literal runs past the end of the input")
            out += data[pos:pos + run]
            pos += run
        else:
            run = control >> 5
            if run == 7:
                if pos >= end:
                    raise RdbError("an LZF back reference is cut short")
                run += data[pos]
                pos += 1
            if pos >= end:
                raise RdbError("an LZF back reference is cut short")
            start = len(out) - ((control & 0x1F) << 8 | data[pos]) - 1
            pos += 1
            if start < 0:
                raise RdbError("an LZF back reference points before the start")
            run += 2
            if len(out) + run > size:
                raise RdbError("LZF data decompresses past its stated size")
            # Copy what is already there; an overlapping reference repeats it.
            while run:
                piece = out[start:start + run]
                out += piece
                start += len(piece)
                run -= len(piece)
        if len(out) > size:
            raise RdbError("LZF data decompresses past its stated size")
    if len(out) != size:
        raise RdbError(f"LZF data decompresses to {len(out)} bytes, not {size}")
    return bytes(out)


# -- Redis's compact blobs -----------------------------------------------------------------

def _backlen(size: int) -> bytes:
    """A listpack entry's size, written after it so the list can be walked backwards:
    7 bits a byte, the most significant first, every byte but the first flagged 0x80."""
    out = [size & 127]
    size >>= 7
    while size:
        out[-1] |= 128
        out.append(size & 127)
        size >>= 7
    return bytes(reversed(out))


_LISTPACK_INT_SIZES = {0xF1: 2, 0xF2: 3, 0xF3: 4, 0xF4: 8}


def listpack_items(blob: bytes, what: str = "Listpack") -> list:
    """The elements of a listpack (listpack.c), as bytes or int:

        total:u32 count:u16 entry* 0xFF          (count 65535: too many to count)
        entry = encoding data backlen
        0xxxxxxx            an integer 0..127
        10LLLLLL            a string of up to 63 bytes
        110xxxxx xxxxxxxx   a 13-bit signed integer
        1110LLLL LLLLLLLL   a string of up to 4095 bytes
        11110000 len:u32    a longer string
        0xF1..0xF4          a 16, 24, 32 or 64-bit signed integer follows
    (multi-byte integers little-endian, except the big-endian bits above)."""
    reader = _Reader(blob, what, blob=True)
    if len(blob) < 7:
        reader.fail("too short for a listpack")
    total, count = reader.unsigned(4), reader.unsigned(2)
    end = len(blob) - 1
    if total != len(blob) or blob[end] != 0xFF:
        reader.fail("a listpack whose header or terminator is wrong")
    items = []
    while reader.pos < end:
        start = reader.pos
        first = reader.byte()
        if first < 0x80:
            item = first
        elif first < 0xC0:
            item = reader.take(first & 0x3F)
        elif first < 0xE0:
            item = (first & 0x1F) << 8 | reader.byte()
            if item >= 1 << 12:
                item -= 1 << 13
        elif first < 0xF0:
            item = reader.take((first & 0x0F) << 8 | reader.byte())
        elif first == 0xF0:
            item = reader.take(reader.unsigned(4))
        elif first in _LISTPACK_INT_SIZES:
            item = reader.signed(_LISTPACK_INT_SIZES[first])
        else:
            reader.pos = start
            reader.fail(f"unknown listpack encoding 0x{first:02x}")
        expected = _backlen(reader.pos - start)
        if reader.take(len(expected)) != expected:
            reader.fail("a listpack entry whose back-length is wrong")
        if reader.pos > end:
            reader.fail("a listpack entry runs over the terminator")
        items.append(item)
    if count != 65535 and count != len(items):
        reader.fail(f"a listpack of {len(items)} entries that says {count}")
    return items


def _listpack_entry(item: bytes | int) -> bytes:
    """One listpack entry. A string that is a canonical integer is stored as the
    integer, as Redis stores it."""
    value = item if isinstance(item, int) else _int64(item)
    if value is not None:
        if 0 <= value <= 127:
            body = bytes([value])
        elif -4096 <= value <= 4095:
            value &= 0x1FFF
            body = bytes([0xC0 | value >> 8, value & 0xFF])
        else:
            for marker, size in _LISTPACK_INT_SIZES.items():
                if -(1 << 8 * size - 1) <= value < 1 << 8 * size - 1:
                    body = bytes([marker]) + value.to_bytes(size, "little", signed=True)
                    break
    elif len(item) < 64:
        body = bytes([0x80 | len(item)]) + item
    elif len(item) < 4096:
        body = bytes([0xE0 | len(item) >> 8, len(item) & 0xFF]) + item
    else:
        body = b"\xF0" + len(item).to_bytes(4, "little") + item
    return body + _backlen(len(body))


def _assemble_listpack(entries: list[bytes]) -> bytes:
    """A listpack of already encoded entries."""
    total = 6 + sum(map(len, entries)) + 1
    return (total.to_bytes(4, "little") + min(len(entries), 65535).to_bytes(2, "little")
            + b"".join(entries) + b"\xFF")


def _listpack(items) -> bytes:
    return _assemble_listpack([_listpack_entry(item) for item in items])


def ziplist_items(blob: bytes, what: str = "Ziplist") -> list:
    """The elements of a ziplist (ziplist.c, before Redis 7), as bytes or int:

        total:u32 tail:u32 count:u16 entry* 0xFF     (tail: offset of the last entry)
        entry = prevlen encoding data      prevlen: 1 byte, or 0xFE and a u32
        00LLLLLL | 01LLLLLL LLLLLLLL | 10______ len:u32 (big-endian)   a string
        0xC0 i16 | 0xD0 i32 | 0xE0 i64 | 0xF0 i24 | 0xFE i8           an integer
        0xF1..0xFD                                  the integer 0..12 in the low bits"""
    reader = _Reader(blob, what, blob=True)
    if len(blob) < 11:
        reader.fail("too short for a ziplist")
    total, tail, count = reader.unsigned(4), reader.unsigned(4), reader.unsigned(2)
    end = len(blob) - 1
    if total != len(blob) or blob[end] != 0xFF:
        reader.fail("a ziplist whose header or terminator is wrong")
    integer_sizes = {0xC0: 2, 0xD0: 4, 0xE0: 8, 0xF0: 3, 0xFE: 1}
    items = []
    previous_size, last_start = 0, reader.pos
    while reader.pos < end:
        start = reader.pos
        previous = reader.byte()
        if previous == 0xFE:
            previous = reader.unsigned(4)
        if previous != previous_size:
            reader.fail("a ziplist entry whose previous-entry length is wrong")
        encoding = reader.byte()
        if encoding >> 6 == 0:
            item = reader.take(encoding & 0x3F)
        elif encoding >> 6 == 1:
            item = reader.take((encoding & 0x3F) << 8 | reader.byte())
        elif encoding >> 6 == 2:
            item = reader.take(int.from_bytes(reader.take(4), "big"))
        elif encoding in integer_sizes:
            item = reader.signed(integer_sizes[encoding])
        elif 0xF1 <= encoding <= 0xFD:
            item = (encoding & 0x0F) - 1
        else:
            reader.fail(f"unknown ziplist encoding 0x{encoding:02x}")
        if reader.pos > end:
            reader.fail("a ziplist entry runs over the terminator")
        previous_size, last_start = reader.pos - start, start
        items.append(item)
    if tail != last_start:
        reader.fail("a ziplist whose tail offset is wrong")
    if count != 65535 and count != len(items):
        reader.fail(f"a ziplist of {len(items)} entries that says {count}")
    return items


def intset_members(blob: bytes) -> list[int]:
    """The integers of an intset (intset.c): width:u32 (2, 4 or 8) count:u32, then the
    integers, little-endian, strictly ascending."""
    reader = _Reader(blob, "Intset", blob=True)
    if len(blob) < 8:
        reader.fail("too short for an intset")
    width, count = reader.unsigned(4), reader.unsigned(4)
    if width not in (2, 4, 8) or 8 + width * count != len(blob):
        reader.fail("an intset whose header does not match its size")
    members = [reader.signed(width) for _ in range(count)]
    if any(a >= b for a, b in zip(members, members[1:])):
        reader.fail("an intset out of order")
    return members


def _intset(members: list[int]) -> bytes:
    """An intset of ascending `members`, at the narrowest width that holds them all."""
    low, high = members[0], members[-1]
    width = next(size for size in (2, 4, 8) if -(1 << 8 * size - 1) <= low
                 and high < 1 << 8 * size - 1)
    return (width.to_bytes(4, "little") + len(members).to_bytes(4, "little")
            + b"".join(member.to_bytes(width, "little", signed=True) for member in members))


def zipmap_items(blob: bytes) -> list[bytes]:
    """The fields and values of a zipmap (zipmap.c, hashes before Redis 2.6):

        count:u8 (key:len key value:len free:u8 value padding[free])* 0xFF
        len = a byte below 254, or 254 and a u32"""
    reader = _Reader(blob, "Zipmap", blob=True)

    def length(key: bool) -> int | None:
        first = reader.byte()
        if first == 0xFF and key:
            return None                                   # the end
        if first == 0xFF:
            reader.fail("a zipmap ends between a field and its value")
        return reader.unsigned(4) if first == 254 else first

    reader.byte()                     # the count, not to be trusted above 253
    items = []
    while (size := length(key=True)) is not None:
        items.append(reader.take(size))
        size = length(key=False)
        free = reader.byte()
        items.append(reader.take(size))
        reader.take(free)
    if reader.left():
        reader.fail("data after the end of a zipmap")
    return items


# -- reading objects -----------------------------------------------------------------------

def _pairs(reader: _Reader, items: list) -> list[tuple]:
    if len(items) % 2:
        reader.fail("an odd number of elements where pairs belong")
    return list(zip(items[0::2], items[1::2]))


def _load_list(reader: _Reader, kind: int) -> BulkList:
    if kind == LIST:
        return BulkList.of(reader.string() for _ in range(reader.count()))
    if kind == LIST_ZIPLIST:
        return BulkList.of(map(_text, ziplist_items(reader.string(), _BLOB_NAMES[kind])))
    items = BulkList()
    for _ in range(reader.count()):
        container = reader.length() if kind == LIST_QUICKLIST_2 else PACKED
        if container not in (PLAIN, PACKED):
            reader.fail(f"unknown quicklist container {container}")
        node = reader.string()
        if not node:
            reader.fail("an empty quicklist node")
        if container == PLAIN:
            items.append(bulk(node))                 # one large element, as it is
        elif kind == LIST_QUICKLIST_2:
            items.extend(map(bulk, map(_text, listpack_items(node, _BLOB_NAMES[kind]))))
        else:
            items.extend(map(bulk, map(_text, ziplist_items(node, _BLOB_NAMES[kind]))))
    return items


def _load_set(reader: _Reader, kind: int) -> RandomSet:
    if kind == SET:
        members = [reader.string() for _ in range(reader.count())]
    elif kind == SET_INTSET:
        members = [b"%d" % member for member in intset_members(reader.string())]
    else:
        members = list(map(_text, listpack_items(reader.string(), _BLOB_NAMES[kind])))
    result = RandomSet(members)
    if len(result) != len(members):
        _refuse_blob(reader, kind, "a duplicate set member")
    return result


def _load_zset(reader: _Reader, kind: int) -> SortedSet:
    if kind in (ZSET, ZSET_2):
        pairs = []
        for _ in range(reader.count(2)):
            member = reader.string()
            score = reader.binary_double() if kind == ZSET_2 else reader.text_double()
            pairs.append((member, score))
    else:
        blob = reader.string()
        items = (listpack_items if kind == ZSET_LISTPACK else ziplist_items)(
            blob, _BLOB_NAMES[kind])
        pairs = [(_text(member), float(score) if isinstance(score, int)
                  else reader.float_text(score)) for member, score in _pairs(reader, items)]
    scores = dict(pairs)
    if len(scores) != len(pairs):
        _refuse_blob(reader, kind, "a duplicate sorted set member")
    if any(score != score for score in scores.values()):
        reader.fail("a sorted set with a NaN score")
    return SortedSet.from_scores(scores)


def _load_hash(reader: _Reader, kind: int) -> dict:
    if kind == HASH:
        pairs = [(reader.string(), reader.string()) for _ in range(reader.count(2))]
    else:
        blob = reader.string()
        if kind == HASH_ZIPMAP:
            items = zipmap_items(blob)
        else:
            items = (listpack_items if kind == HASH_LISTPACK else ziplist_items)(
                blob, _BLOB_NAMES[kind])
        pairs = [(_text(field), _text(value)) for field, value in _pairs(reader, items)]
    fields = dict(pairs)
    if len(fields) != len(pairs):
        _refuse_blob(reader, kind, "a duplicate hash field")
    return fields


def _integer_item(reader: _Reader, items: list, index: int) -> int:
    """Element `index` of a stream node's listpack, which must be an integer (one
    stored as a string counts, as for Redis)."""
    if index >= len(items):
        reader.fail("a stream node whose listpack ends too soon")
    item = items[index]
    value = item if isinstance(item, int) else _int64(item)
    if value is None:
        reader.fail("a stream node with text where a number belongs")
    return value


def _load_stream_node(reader: _Reader, master_id: int,
                      items: list) -> tuple[list, list, list]:
    """The ids and encoded entries (None for a deleted one) of one stream node, and its
    master entry's field names: its listpack holds a master entry, then the entries,
    ids relative to `master_id`:

        master = live deleted field-count field* 0
        entry  = flags ms-delta seq-delta value* lp-count       (flags: SAME_FIELDS, the
                                                                 master entry's fields)
               | flags ms-delta seq-delta field-count (field value)* lp-count
        lp-count = the elements of the entry before it (to walk the node backwards)"""
    live, deleted = _integer_item(reader, items, 0), _integer_item(reader, items, 1)
    master_count = _integer_item(reader, items, 2)
    if not 0 <= master_count <= len(items):
        reader.fail("a stream node with a bad field count")
    master_fields = [_text(item) for item in items[3:3 + master_count]]
    position = 3 + master_count
    if _integer_item(reader, items, position) != 0:
        reader.fail("a stream node's master entry without its terminator")
    position += 1
    ids, entries = [], []
    while position < len(items):
        start = position
        flags = _integer_item(reader, items, position)
        ms = ((master_id >> 64) + _integer_item(reader, items, position + 1)) % 2**64
        seq = ((master_id & U64_MAX) + _integer_item(reader, items, position + 2)) % 2**64
        position += 3
        if flags & ENTRY_SAME_FIELDS:
            values = list(map(_text, items[position:position + len(master_fields)]))
            position += len(master_fields)
            fields = [item for pair in zip(master_fields, values) for item in pair]
            whole = len(values) == len(master_fields)
        else:
            count = _integer_item(reader, items, position)
            position += 1
            if not 0 <= count <= len(items):
                reader.fail("a stream entry with a bad field count")
            fields = list(map(_text, items[position:position + 2 * count]))
            position += 2 * count
            whole = len(fields) == 2 * count
        if not whole or _integer_item(reader, items, position) != position - start:
            reader.fail("a stream entry whose element count is wrong")
        position += 1
        stream_id = ms << 64 | seq
        if ids and stream_id <= ids[-1]:
            reader.fail("stream ids out of order")
        ids.append(stream_id)
        entries.append(None if flags & ENTRY_DELETED
                       else encode_entry(format_id(stream_id), fields))
    if not ids:
        reader.fail("a stream node without entries")
    if live != sum(entry is not None for entry in entries) or live + deleted != len(ids):
        reader.fail("a stream node whose counts do not match its entries")
    return ids, entries, master_fields


def _load_group(reader: _Reader, stream: Stream, kind: int) -> None:
    """One consumer group: its name, last id and entries read (not before type 19),
    its pending entries (id, delivery time, delivery count), then each consumer: name,
    seen time, active time (type 21 only) and the ids of its pending entries."""
    name = reader.string()
    if name in stream.groups:
        reader.fail(f"a second consumer group named {name!r}")
    last_id = reader.stream_id()
    if kind == STREAM_LISTPACKS:
        entries_read = stream.entries_read_at(last_id)        # Redis's estimate too
    else:
        entries_read = reader.length()
        if entries_read == UNKNOWN_ENTRIES_READ:
            entries_read = None
    group = stream.groups[name] = ConsumerGroup(name, last_id, entries_read)
    for _ in range(reader.count(16 + 8 + 1)):
        stream_id = reader.raw_stream_id()
        if group.pending and stream_id <= group.pending.last_id():
            reader.fail("pending entries out of order")
        group.pending.append(stream_id, Nack(None, reader.time_ms(), reader.length()))
    for _ in range(reader.count(1 + 8 + 1)):
        consumer = Consumer(reader.string(), reader.time_ms())
        if consumer.name in group.consumers:
            reader.fail(f"Duplicate stream consumer detected: {consumer.name!r}")
        # Before Redis 7.2 a consumer had no active time; 7.2 takes the seen time.
        consumer.active_time = (reader.time_ms() if kind == STREAM_LISTPACKS_3
                                else consumer.seen_time)
        group.consumers[consumer.name] = consumer
        for _ in range(reader.count(16)):
            stream_id = reader.raw_stream_id()
            nack = group.pending.get(stream_id)
            if nack is None or nack.consumer is not None:
                reader.fail("a consumer's pending entry that its group does not hold "
                            "for it alone")
            if consumer.pending and stream_id <= consumer.pending.last_id():
                reader.fail("pending entries out of order")
            nack.consumer = consumer
            consumer.pending.append(stream_id, nack)
    if len(group.pending) != sum(len(consumer.pending) for consumer in
                                 group.consumers.values()):
        reader.fail("a pending entry without a consumer")


def _load_stream(reader: _Reader, kind: int) -> Stream:
    """A stream: its nodes (the first id of each, as 16 bytes, then its listpack), its
    length and last id, then from type 19 on its first id, greatest deleted id and
    count of entries ever added, then its consumer groups."""
    stream = Stream()
    greatest = -1                           # the greatest id in the nodes so far
    for _ in range(reader.count(2)):
        key = reader.string()
        if len(key) != 16:
            reader.fail("a stream node key that is not an id")
        listpack = reader.string()
        ids, entries, fields = _load_stream_node(reader, int.from_bytes(key, "big"),
                                                 listpack_items(listpack, _BLOB_NAMES[kind]))
        if ids[0] <= greatest:
            reader.fail("stream nodes out of order")
        greatest = ids[-1]
        stream.entries.append_block(ids, entries)
        # Redis's own node: its size is known, deleted entries included.
        stream.entries.blocks[-1].node = listpack_node(ids, entries, fields, len(listpack))
    if reader.length() != stream.length:
        reader.fail("a stream length that does not match its entries")
    stream.last_id = reader.stream_id()
    if stream.last_id < greatest:
        reader.fail("a stream whose last id is below one of its entries")
    if kind == STREAM_LISTPACKS:
        # Before Redis 7.0: what 7.0 assumes, every entry ever added still there.
        stream.entries_added = stream.length
        stream.first_id = stream.entries.first_id() or 0
    else:
        stream.first_id = reader.stream_id()
        stream.max_deleted_id = reader.stream_id()
        stream.entries_added = reader.length()
    for _ in range(reader.count()):
        _load_group(reader, stream, kind)
    return stream


_LOADERS = {
    STRING: lambda reader, kind: reader.string(),
    LIST: _load_list, LIST_ZIPLIST: _load_list, LIST_QUICKLIST: _load_list,
    LIST_QUICKLIST_2: _load_list,
    SET: _load_set, SET_INTSET: _load_set, SET_LISTPACK: _load_set,
    ZSET: _load_zset, ZSET_2: _load_zset, ZSET_ZIPLIST: _load_zset,
    ZSET_LISTPACK: _load_zset,
    HASH: _load_hash, HASH_ZIPMAP: _load_hash, HASH_ZIPLIST: _load_hash,
    HASH_LISTPACK: _load_hash,
    STREAM_LISTPACKS: _load_stream, STREAM_LISTPACKS_2: _load_stream,
    STREAM_LISTPACKS_3: _load_stream,
}


def load_object(data: bytes):
    """The value in `data`, a type byte and an RDB object (a DUMP payload's body).
    Raises RdbError unless `data` is exactly one well-formed value. (Redis stops
    reading where the value ends; bytes after it are refused here, as no DUMP writes
    them.)"""
    reader = _Reader(data)
    value = _load_value(reader, reader.byte())
    if reader.left():
        reader.fail("data after the value")
    return value


def _load_value(reader: _Reader, kind: int, allow_empty: bool = False):
    """The object of type `kind` (its byte just read) at the reader's position."""
    loader = _LOADERS.get(kind)
    if loader is None:
        reader.pos -= 1
        reader.fail(f"unknown or unsupported object type {kind}")
    value = loader(reader, kind)
    # Redis never saves an empty container (the last element removed removes the key).
    # It refuses to restore one, and skips one in a file (`allow_empty`: None then).
    if not value and type(value) not in (bytes, Stream):
        if allow_empty:
            return None
        _refuse_blob(reader, kind, "an empty container")
    return value


# -- writing -------------------------------------------------------------------------------

def _length(value: int) -> bytes:
    if value < 1 << 6:
        return bytes([value])
    if value < 1 << 14:
        return bytes([0x40 | value >> 8, value & 0xFF])
    if value < 1 << 32:
        return b"\x80" + value.to_bytes(4, "big")
    return b"\x81" + value.to_bytes(8, "big")


def _string(data: bytes) -> bytes:
    """A string, as one of the integer encodings when it is a small enough integer."""
    if len(data) <= 11:
        value = _int64(data)
        if value is not None and -2**31 <= value < 2**31:
            for encoding, size in ((ENC_INT8, 1), (ENC_INT16, 2), (ENC_INT32, 4)):
                if -(1 << 8 * size - 1) <= value < 1 << 8 * size - 1:
                    return bytes([0xC0 | encoding]) + value.to_bytes(size, "little",
                                                                     signed=True)
    return _length(len(data)) + data


def _stream_id(stream_id: int) -> bytes:
    return _length(stream_id >> 64) + _length(stream_id & U64_MAX)


def _time_ms(ms: int) -> bytes:
    return ms.to_bytes(8, "little", signed=True)


def _dump_string(value: bytes) -> bytes:
    return bytes([STRING]) + _string(value)


def _dump_list(items: BulkList) -> bytes:
    """Listpack nodes, each started when the last would grow past LIST_NODE_BYTES as
    quicklist.c estimates it."""
    nodes: list[list[bytes]] = [[]]
    size = 7                                         # an empty listpack's bytes
    for item in items.elements():
        if nodes[-1] and size + len(item) + LIST_NODE_OVERHEAD > LIST_NODE_BYTES:
            nodes.append([])
            size = 7
        entry = _listpack_entry(item)
        nodes[-1].append(entry)
        size += len(entry)
    parts = [bytes([LIST_QUICKLIST_2]), _length(len(nodes))]
    for entries in nodes:
        parts += [_length(PACKED), _string(_assemble_listpack(entries))]
    return b"".join(parts)


def _dump_set(members: RandomSet) -> bytes:
    if len(members) <= SET_MAX_INTSET_ENTRIES:
        integers = [_int64(member) for member in members]
        if None not in integers:
            return bytes([SET_INTSET]) + _string(_intset(sorted(integers)))
    return bytes([SET]) + _length(len(members)) + b"".join(map(_string, members))


def _score_item(score: float) -> bytes | int:
    """A score as a sorted set's listpack holds it: Redis's text for the double (an
    integer when it is one, well within 64 bits), stored as an integer when it is."""
    if score.is_integer() and abs(score) <= 2**62:
        return int(score)
    return repr(score).encode()                     # shortest text that reads back exact


def _dump_zset(zset: SortedSet) -> bytes:
    if len(zset) <= ZSET_MAX_LISTPACK_ENTRIES and all(
            len(member) <= ZSET_MAX_LISTPACK_VALUE for member in zset.scores):
        items = [item for member, score in zset.items()
                 for item in (member, _score_item(score))]
        return bytes([ZSET_LISTPACK]) + _string(_listpack(items))
    # Highest score first, as Redis writes it, so that its loader always inserts at the
    # head of its skip list.
    pairs = zset.slice(0, len(zset), reverse=True)
    return bytes([ZSET_2]) + _length(len(zset)) + b"".join(
        _string(member) + struct.pack("<d", score) for member, score in pairs)


def _dump_hash(fields: dict) -> bytes:
    if len(fields) <= HASH_MAX_LISTPACK_ENTRIES and all(
            len(field) <= HASH_MAX_LISTPACK_VALUE and len(value) <= HASH_MAX_LISTPACK_VALUE
            for field, value in fields.items()):
        items = [item for pair in fields.items() for item in pair]
        return bytes([HASH_LISTPACK]) + _string(_listpack(items))
    return bytes([HASH]) + _length(len(fields)) + b"".join(
        _string(field) + _string(value) for field, value in fields.items())


def _stream_node(ids: list, entries: list, master_names: list | None) -> bytes:
    """The listpack of one block (see _load_stream_node). The master entry takes the
    field names of the node's first entry when known, else those of its first live
    entry; a deleted entry, whose fields we no longer have, is written with none,
    which Redis reads as well as any other."""
    master = ids[0]
    fields = [None if entry is None else entry_fields(entry) for entry in entries]
    live = [item for item in fields if item is not None]
    if master_names is None:
        master_names = live[0][0::2] if live else []
    items = [len(live), len(ids) - len(live), len(master_names), *master_names, 0]
    for stream_id, entry in zip(ids, fields):
        ms_delta = _signed64((stream_id >> 64) - (master >> 64))
        seq_delta = _signed64((stream_id & U64_MAX) - (master & U64_MAX))
        if entry is None:
            items += [ENTRY_DELETED, ms_delta, seq_delta, 0, 4]
        elif entry[0::2] == master_names:
            values = entry[1::2]
            items += [ENTRY_SAME_FIELDS, ms_delta, seq_delta, *values, 3 + len(values)]
        else:
            items += [0, ms_delta, seq_delta, len(entry) // 2, *entry, 4 + len(entry)]
    return _listpack(items)


def _dump_stream(stream: Stream) -> bytes:
    """Type 19, Redis 7.0's stream: the nodes, the length, last id, first id, greatest
    deleted id, entries added, then the consumer groups (see _load_group; the global
    pending list carries the delivery times and counts, each consumer's only ids)."""
    parts = [bytes([STREAM_LISTPACKS_2]), _length(stream.entries.block_count())]
    for ids, entries, master in stream.entries.layout():
        parts += [_string(ids[0].to_bytes(16, "big")),
                  _string(_stream_node(ids, entries, master))]
    parts += [_length(stream.length), _stream_id(stream.last_id), _stream_id(stream.first_id),
              _stream_id(stream.max_deleted_id), _length(stream.entries_added),
              _length(len(stream.groups))]
    for group in stream.groups.values():
        entries_read = UNKNOWN_ENTRIES_READ if group.entries_read is None \
            else group.entries_read
        parts += [_string(group.name), _stream_id(group.last_id), _length(entries_read),
                  _length(len(group.pending))]
        for stream_id, nack in group.pending.items():
            parts += [stream_id.to_bytes(16, "big"), _time_ms(nack.delivery_time),
                      _length(nack.delivery_count)]
        parts.append(_length(len(group.consumers)))
        for consumer in group.consumers.values():
            parts += [_string(consumer.name), _time_ms(consumer.seen_time),
                      _length(len(consumer.pending))]
            parts += [stream_id.to_bytes(16, "big")
                      for stream_id, _ in consumer.pending.items()]
    return b"".join(parts)


_DUMPERS = {bytes: _dump_string, bytearray: _dump_string, BulkList: _dump_list, RandomSet: _dump_set,
            SortedSet: _dump_zset, dict: _dump_hash, Stream: _dump_stream}


def dump_object(value) -> bytes:
    """`value` as a type byte and an RDB object, as Redis 7.0 writes it: a DUMP
    payload's body."""
    return _DUMPERS[type(value)](value)


# -- function libraries --------------------------------------------------------------------

def dump_functions(codes) -> bytes:
    """The code of function libraries as FUNCTION2 records: a FUNCTION DUMP payload's
    body."""
    return b"".join(bytes([FUNCTION2]) + _string(code) for code in codes)


def load_functions(data: bytes) -> list[bytes]:
    """The code of the libraries in `data`, FUNCTION2 records (or the records of Redis
    7.0's release candidates, whose parts are joined into the code's first line as
    Redis does). Raises NotAFunction at a record of another kind, RdbError if a record
    is malformed."""
    reader = _Reader(data)
    codes = []
    while reader.left():
        kind = reader.byte()
        if kind not in (FUNCTION2, FUNCTION_RC):
            raise NotAFunction(f"record type {kind} at byte {reader.pos - 1} is not a "
                               f"function library")
        codes.append(_load_function(reader, kind))
    return codes


def _load_function(reader: _Reader, kind: int) -> bytes:
    """The code of the library in a FUNCTION2 or FUNCTION_RC record (its opcode, `kind`,
    just read)."""
    if kind == FUNCTION2:
        return reader.string()
    name, engine = reader.string(), reader.string()
    if reader.length():
        reader.string()                              # a description, which Redis drops
    return b"#!%s name=%s\n%s" % (engine, name, reader.string())


# -- whole files ---------------------------------------------------------------------------
#
# A file (what dump.rdb holds, and a replication payload) frames the values with opcodes,
# as rdbSaveRio writes them:
#
#     file    = "REDIS" version:4 digits  record*  EOF  crc:u64    (little-endian; the
#                                                   CRC-64 of everything before it, or 0
#                                                   when the writer computed none)
#     record  = AUX name:string value:string       facts about the file (redis-ver, ...)
#             | FUNCTION2 code:string              a function library, before the data
#             | SELECTDB db:length                 the database of the keys that follow
#             | RESIZEDB keys:length expires:length    how many: a hint for the loader
#             | [EXPIRETIME_MS unix-ms:i64] [IDLE seconds:length | FREQ counter:u8]
#               type:u8 key:string object          one key (the object as dump_object)
#
# Before version 5 there is no CRC; EXPIRETIME (seconds, i32) is what came before
# EXPIRETIME_MS. MODULE_AUX records carry module data, which we cannot read.

MAGIC = b"REDIS"
MODULE_AUX, IDLE, FREQ, AUX, RESIZEDB = 247, 248, 249, 250, 251
EXPIRETIME_MS, EXPIRETIME, SELECTDB, EOF = 252, 253, 254, 255
FIRST_CHECKSUMMED_VERSION = 5


def _aux_value(value: bytes | str | int) -> bytes:
    if isinstance(value, int):
        return b"%d" % value
    return value.encode() if isinstance(value, str) else value


def write_rdb(handle, databases, libraries=(), aux=(), policy: str = "noeviction",
              after_key=None, piece_size: int = 1 << 20, checksum: bool = True) -> None:
    """Write a whole RDB file (version 10, Redis 7.0's) to `handle`: the `aux` fields,
    (name, value) pairs in order, the code of the function `libraries`, then each of
    `databases` (keyspace.Database) that has keys. Expiry times are written as they are,
    even those already past, as Redis does: a loader drops them, a replica waits for its
    primary's DEL. Under an LRU or LFU maxmemory `policy` each key also carries its
    idle time or its access counter, as Redis saves them. `after_key()`, if given, is
    called after each key. The file goes to `handle` `piece_size` bytes at a time.
    Without `checksum` (rdbchecksum no) it ends with a checksum of 0, as Redis writes
    it then, which readers take as none: the CRC-64 is most of the time a file takes
    here."""
    out = ChecksummedWriter(handle, crc64 if checksum else _no_checksum, piece_size)
    out.write(MAGIC + b"%04d" % RDB_VERSION)
    for name, value in aux:
        out.write(bytes([AUX]) + _string(_aux_value(name)) + _string(_aux_value(value)))
    for code in libraries:
        out.write(bytes([FUNCTION2]) + _string(code))
    save_idle, save_freq = policy.endswith("-lru"), policy.endswith("-lfu")
    for db in databases:
        if not db.data:
            continue
        out.write(bytes([SELECTDB]) + _length(db.index) + bytes([RESIZEDB])
                  + _length(len(db.data)) + _length(len(db.volatile)))
        keyspace = db.keyspace
        for key, entry in db.data.items():
            if entry.expires_at:
                out.write(bytes([EXPIRETIME_MS]) + _time_ms(entry.expires_at))
            if save_idle:
                out.write(bytes([IDLE]) + _length(max(keyspace.lru_clock - entry.access, 0)))
            elif save_freq:
                out.write(bytes([FREQ, lfu_decayed(entry, keyspace.lfu_decay_time)]))
            value = dump_object(entry.value)
            out.write(value[:1])                            # the type byte
            out.write(_string(key))
            out.write(value[1:])
            if after_key is not None:
                after_key()
    out.write(bytes([EOF]))
    out.flush()
    handle.write(out.crc.to_bytes(8, "little"))


def _no_checksum(data: bytes, running: int) -> int:
    return 0


class RdbKey(NamedTuple):
    db: int
    key: bytes
    value: object
    expires_at: int              # unix ms, 0 without a TTL
    idle: int | None             # seconds since the last access, if the file has it
    freq: int | None             # the LFU counter, if the file has it


@dataclass
class RdbFile:
    """What an RDB file holds, in the order it holds it."""
    version: int
    aux: dict[bytes, bytes] = field(default_factory=dict)
    libraries: list[bytes] = field(default_factory=list)
    keys: list[RdbKey] = field(default_factory=list)
    empty_keys: list[bytes] = field(default_factory=list)     # skipped, as Redis does


def is_rdb(data: bytes) -> bool:
    """Does `data` start as an RDB file does?"""
    return data[:len(MAGIC)] == MAGIC


def read_rdb(data: bytes, on_key=None, body_crc: int | None = None) -> RdbFile:
    """Parse a whole RDB file, of any version up to NEWEST_READABLE_VERSION. Raises
    RdbError, with the offset, unless `data` is exactly one well-formed file whose
    checksum (when it has one) is right; nothing is returned half-read. `on_key(offset)`,
    if given, is called after each key read, with the offset read up to. `body_crc`,
    if given, is the CRC-64 of all of `data` but its last 8 bytes, computed already
    (as the file arrived): the checksum is compared with it."""
    contents, end = read_rdb_prefix(data, on_key, body_crc)
    if end < len(data):
        reader = _Reader(data, "file")
        reader.pos = end
        reader.fail("data after the end of the file")
    return contents


def read_rdb_prefix(data: bytes, on_key=None,
                    body_crc: int | None = None) -> tuple[RdbFile, int]:
    """Parse the RDB file `data` starts with, as read_rdb does, and say where it ends:
    in an old single-file append-only log (`aof-use-rdb-preamble yes`), the commands
    written since follow it."""
    reader = _Reader(data, "file")
    if not is_rdb(data):
        reader.fail("not an RDB file (no REDIS magic)")
    reader.pos = len(MAGIC)
    digits = reader.take(4)
    if not digits.isdigit():
        reader.fail("an RDB version that is not a number")
    version = int(digits)
    if not 1 <= version <= NEWEST_READABLE_VERSION:
        reader.fail(f"RDB version {version}, which this server cannot read")
    result = RdbFile(version)
    db_index, expires_at, idle, freq = 0, 0, None, None
    while True:
        opcode = reader.byte()
        if opcode == EOF:
            break
        if opcode == AUX:
            name = reader.string()
            result.aux[name] = reader.string()
        elif opcode in (FUNCTION2, FUNCTION_RC):
            result.libraries.append(_load_function(reader, opcode))
        elif opcode == SELECTDB:
            db_index = reader.length()
        elif opcode == RESIZEDB:
            reader.length()                    # how many keys, and how many with a TTL:
            reader.length()                    # a hint we have no use for
        elif opcode == EXPIRETIME_MS:
            expires_at = reader.time_ms()
        elif opcode == EXPIRETIME:
            expires_at = reader.signed(4) * 1000
        elif opcode == IDLE:
            idle = reader.length()
        elif opcode == FREQ:
            freq = reader.byte()
        elif opcode == MODULE_AUX:
            reader.pos -= 1
            reader.fail("module data, which this server cannot load")
        else:
            key = reader.string()
            value = _load_value(reader, opcode, allow_empty=True)
            if value is None:
                result.empty_keys.append(key)
            else:
                result.keys.append(RdbKey(db_index, key, value, expires_at, idle, freq))
            expires_at, idle, freq = 0, None, None
            if on_key is not None:
                on_key(reader.pos)
    if version >= FIRST_CHECKSUMMED_VERSION:
        end = reader.pos
        stored = reader.unsigned(8)
        if stored:                              # 0: saved without one (rdbchecksum no)
            if body_crc is None or end != len(data) - 8:
                body_crc = crc64(memoryview(data)[:end])
            if stored != body_crc:
                reader.pos = end
                reader.fail("RDB CRC error: a wrong checksum (the file is damaged)")
    return result, reader.pos
