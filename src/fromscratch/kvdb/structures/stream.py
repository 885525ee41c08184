r"""The stream value type: an append-only log of entries, each under a unique id, with
the consumer groups that read it.

An id is two unsigned 64-bit numbers, milliseconds and a sequence (`1700000000000-3`).
We hold it as one Python int, `ms << 64 | seq`, so that ids compare, sort and bisect
as plain integers; `format_id` writes it back as text.

Entries live in an `IdMap`: a map from id to value kept sorted as a list of blocks of
a bounded number of ids each, with the first id of every block in a separate list:

    starts  [ 100-0 ,           250-3 ,           410-0 ]      bisect here first...
    blocks  [ ids    100-0 100-1 ...  , ids 250-3 ...    , ids 410-0 ... ]
              values v     v     ...    values v ...       values v ...
                                                             ...then inside one block

Appending goes to the last block (or starts a new one when it is full): O(1). Finding
an id is two bisects, one over `starts` and one inside a block, so reading k entries
from any position costs O(log n + k). The blocks are Redis's listpack nodes: XADD
fills them up to `stream-node-max-entries` entries (BLOCK_SIZE, 100, by default) or
`stream-node-max-bytes` bytes of Redis's listpack encoding (see "Listpack nodes"; both
settings are read at each append, as Redis does, so a change applies from the next
entry on), and the pending entries lists use BLOCK_SIZE; a deleted entry stays in its
block as a tombstone (Redis flags it deleted in its node), still taking a place, until
the block's last live entry goes and the block with it; trimming with `~` removes whole
blocks from the front. So approximate trims keep exactly what Redis keeps. (The pending
entries lists use the same map but take ids out for good: see IdMap.)

An entry is written once and read many times (by XREAD, every consumer group, XRANGE),
always as the same reply element `[id, [field, value, ...]]`. So the map keeps each
entry as the bytes of that element in RESP, built when the entry is added:

    *2\r\n $13\r\n 1700000000000-0\r\n *2\r\n $5\r\n field\r\n $5\r\n value\r\n

(the same in RESP2 and RESP3), and a reply of entries is a join of bytes. It is compact
too: one bytes object per entry. `entry_fields` reads the fields back (for snapshots).

A consumer group keeps its last delivered id, a count of entries read (for the lag),
and its pending entries list (PEL): every id delivered and not yet acknowledged, with a
`Nack` saying to whom, when and how often. Each consumer keeps its own PEL of the same
`Nack` objects, so either side can be walked in id order:

    Stream ─ entries: IdMap  id -> b"*2\r\n$3\r\n1-0\r\n*2\r\n..." (the encoded entry)
           └ groups: {name: ConsumerGroup}
                       ├ pending: IdMap  id -> Nack(consumer, delivery_time, delivery_count)
                       └ consumers: {name: Consumer}
                                          └ pending: IdMap  id -> the same Nack
"""

from __future__ import annotations

import copy
from bisect import bisect_left, bisect_right

from ...resp.writer import BULK_HEADER_LINES, BULK_HEADERS

BLOCK_SIZE = 100
U64_MAX = 2**64 - 1
MAX_ID = U64_MAX << 64 | U64_MAX
NODE_BYTES = 4096               # stream-node-max-bytes' default


def make_id(ms: int, seq: int) -> int:
    return ms << 64 | seq


def format_id(stream_id: int) -> bytes:
    return b"%d-%d" % (stream_id >> 64, stream_id & U64_MAX)


_ENTRY_HEADS = [b"*2\r\n$%d\r\n" % length for length in range(42)]    # ids: 41 digits at most


def encode_entry(id_text: bytes, fields: list) -> bytes:
    """The entry as its reply element [id, [field, value, ...]], in RESP."""
    if len(fields) == 2:
        # One field and its value, the common entry: one join with premade length
        # headers takes two thirds of the time of formatting the three lengths.
        field, value = fields
        try:
            return b"\r\n".join((b"*2", BULK_HEADERS[len(id_text)], id_text, b"*2",
                                  BULK_HEADERS[len(field)], field, BULK_HEADERS[len(value)],
                                  value, b""))
        except IndexError:                  # 8 KB or more: no premade header
            pass
    parts = [b"*2\r\n$%d\r\n%s\r\n*%d\r\n" % (len(id_text), id_text, len(fields))]
    for item in fields:
        parts.append(b"$%d\r\n%s\r\n" % (len(item), item))
    return b"".join(parts)


# -- Listpack nodes ---------------------------------------------------------------------
#
# Redis keeps a stream's entries in listpacks of at most stream-node-max-bytes bytes, so
# entries with long values fill a node before it has stream-node-max-entries of them,
# and approximate trims (which drop whole nodes) remove as many as Redis's would. To
# start new blocks where Redis starts new nodes we count the bytes each node would take,
# element by element, in listpack.c's encodings:
#
#   node    = header(6) master entry* end(1)
#   master  = live deleted field-count field* 0
#   entry   = flags ms-delta seq-delta value* lp-count             (the master's fields)
#           | flags ms-delta seq-delta field-count (field value)* lp-count
#
# each element taking its encoding and data, then its length again (the backlen, so the
# listpack can be walked backwards). A string that reads as a 64-bit integer is stored
# as that integer.

LISTPACK_OVERHEAD = 7           # the header (total bytes, element count) and the end byte
LISTPACK_MAX = 1 << 30          # STREAM_LISTPACK_MAX_SIZE: the node limit when none is set


def node_byte_limit(setting: int) -> int:
    """The bytes a node may reach under stream-node-max-bytes (0, or too much: the
    listpack's own limit), worked out once when the setting changes, not per XADD."""
    return setting if 0 < setting <= LISTPACK_MAX else LISTPACK_MAX
_NUMBER_START = frozenset(b"-0123456789")      # a string's first byte if it may be a number


def _integer_size(value: int) -> int:
    """An integer element's bytes: its encoding (7, 13, 16, 24, 32 or 64 bits) and a
    one-byte backlen."""
    if 0 <= value <= 127:
        return 2
    if -4096 <= value <= 4095:
        return 3
    if -32768 <= value <= 32767:
        return 4
    if -8388608 <= value <= 8388607:
        return 5
    if -2**31 <= value < 2**31:
        return 6
    return 10


def _backlen_size(size: int) -> int:
    return 1 if size <= 127 else 2 if size < 16383 else 3 if size < 2097151 else (
        4 if size < 268435455 else 5)


def _element_size(item: bytes) -> int:
    """A string element's bytes; as an integer if it reads as one (lpStringToInt64: an
    optional minus, no leading zero, no sign on 0, within 64 bits)."""
    size = len(item)
    if 0 < size < 21:
        digits = item[1:] if item[0] == 45 else item        # 45: b"-"
        if digits.isdigit() and (digits[0] != 48 or item == b"0"):
            value = int(item)
            if -2**63 <= value < 2**63:
                return _integer_size(value)
    if size < 64:
        return size + 2                 # 6-bit length in the encoding byte
    if size < 4096:
        return size + 2 + _backlen_size(size + 2)          # 12-bit length
    return size + 5 + _backlen_size(size + 5)              # 32-bit length


class _Node:
    """The size of the listpack node Redis keeps for a block of stream entries: its
    master entry's field names and id, and its bytes but for the fixed overhead and the
    counts of live and deleted entries (which change as entries come and go)."""

    __slots__ = ("fields", "ms", "seq", "bytes", "field", "slack", "field_part")

    def __init__(self, master_id: int, fields: list):
        self.fields = fields
        self.ms, self.seq = master_id >> 64, master_id & U64_MAX
        self.bytes = (_integer_size(len(fields)) + sum(map(_element_size, fields))
                      + 2)                                     # the terminating 0
        # For take's usual case: the one field name, what its check adds to the value's
        # length, and what goes between the id and the value in the encoded entry.
        self.field = fields[0] if len(fields) == 1 else None
        self.slack = _frame_size(1, 1) + (len(self.field) if len(fields) == 1 else 0)
        self.field_part = (b"\r\n*2\r\n$%d\r\n%s\r\n" % (len(self.field), self.field)
                           if len(fields) == 1 else None)

    def take(self, block: "_Block", ms: int, seq: int, text: bytes, fields: list,
             max_entries: int, max_bytes: int) -> bytes | None:
        """Count the entry (id `ms`-`seq`, `text` as text) in this node, the node of
        `block`, if Redis would add it here, and return it encoded (encode_entry); None
        if the node is full: `max_entries` entries, deleted ones too (0: no limit), or
        its bytes and the entry's fields and values would reach `max_bytes`. Every XADD
        comes here, so the usual entry (one field, the master's, with a short value that
        is not a number, in a node of at most 127 entries) is decided, sized and encoded
        at once, the field's part of the encoding made once for the node."""
        entries = len(block.ids)
        if max_entries and entries >= max_entries:
            return None
        try:
            field, value = fields
        except ValueError:
            return self._take(block, ms, seq, text, fields, max_bytes)
        length = len(value)
        if not (field == self.field and 0 < length < 64 and entries <= 127
                and value[0] not in _NUMBER_START):
            return self._take(block, ms, seq, text, fields, max_bytes)
        if self.bytes + self.slack + length >= max_bytes:
            return None
        # flags, the ms and seq differences (the ms one is never negative), the value
        # with its 6-bit length, lp-count 4
        ms_delta, seq_delta = ms - self.ms, seq - self.seq
        self.bytes += (2 + (2 if ms_delta <= 127 else _delta_size(ms_delta))
                       + (2 if 0 <= seq_delta <= 127 else
                          3 if -4096 <= seq_delta <= 4095 else _delta_size(seq_delta))
                       + length + 2 + 2)
        return b"".join((_ENTRY_HEADS[len(text)], text, self.field_part,
                         BULK_HEADER_LINES[length], value, b"\r\n"))

    def _take(self, block: "_Block", ms: int, seq: int, text: bytes, fields: list,
              max_bytes: int) -> bytes | None:
        """take, for any entry."""
        size = _frame_size(len(block.ids), block.live) + self.bytes
        if size + sum(map(len, fields)) >= max_bytes:
            return None
        self.count(ms, seq, fields)
        return encode_entry(text, fields)

    def count(self, ms: int, seq: int, fields: list) -> None:
        """Count an entry: its ids are kept as differences from the master's (in C's
        64-bit arithmetic), its field names left out when they are the master's."""
        size = 2 + _delta_size(ms - self.ms) + _delta_size(seq - self.seq)
        count = len(fields) // 2
        if fields[0::2] == self.fields:
            size += sum(map(_element_size, fields[1::2])) + _integer_size(count + 3)
        else:
            size += (_integer_size(count) + sum(map(_element_size, fields))
                     + _integer_size(2 * count + 4))
        self.bytes += size


def _delta_size(delta: int) -> int:
    return _integer_size((delta + 2**63) % 2**64 - 2**63)


def _frame_size(entries: int, live: int) -> int:
    """A node's bytes besides its _Node.bytes: the listpack's header and end, and the
    master entry's counts of live and deleted entries (one byte and a backlen each up to
    127)."""
    return LISTPACK_OVERHEAD + _integer_size(live) + _integer_size(entries - live)


def listpack_node(ids: list, values: list, fields: list, size: int) -> _Node:
    """The node of a block read from one of Redis's listpacks of `size` bytes (a DUMP
    payload's, an RDB file's) whose master entry has the field names `fields`."""
    node = _Node(ids[0], fields)
    node.bytes = size - _frame_size(len(ids), sum(value is not None for value in values))
    return node


def _measured_node(block: "_Block") -> _Node:
    """The node of a block read from our own snapshot format, worked out from its
    entries. A deleted entry's fields are gone: it counts as if it had the master's
    fields with empty values (Redis's node still holds them)."""
    first = next(value for value in block.values if value is not None)
    node = block.node = _Node(block.ids[0], entry_fields(first)[0::2])
    for stream_id, value in zip(block.ids, block.values):
        fields = (entry_fields(value) if value is not None
                  else [item for field in node.fields for item in (field, b"")])
        node.count(stream_id >> 64, stream_id & U64_MAX, fields)
    return node


def entry_fields(entry: bytes) -> list:
    """The fields and values of an encoded entry."""
    def header(pos: int) -> tuple[int, int]:           # `*n` or `$n` and its CRLF
        end = entry.index(b"\r\n", pos)
        return int(entry[pos + 1:end]), end + 2

    id_length, pos = header(4)                          # after the *2
    count, pos = header(pos + id_length + 2)
    fields = []
    for _ in range(count):
        length, pos = header(pos)
        fields.append(entry[pos:pos + length])
        pos += length + 2
    return fields


class _Block:
    """A run of ids in order, with their values; a value of None is a deleted entry
    still holding its place (see IdMap.bury). `live` counts the others. A block of
    stream entries has the `_Node` of its listpack node in Redis (None until needed)."""

    __slots__ = ("ids", "values", "live", "node")

    def __init__(self, ids: list, values: list):
        self.ids = ids
        self.values = values
        self.live = len(ids)
        self.node: _Node | None = None


class IdMap:
    """A map from id to value, in id order (see the module docstring).

    Entries leave it in one of two ways. `pop` takes the id out of its block, as the
    pending entries lists want. `bury` leaves a tombstone in its place, as Redis marks a
    deleted stream entry inside its listpack node: the block keeps counting it towards
    its size and its last id, which is what decides how XADD fills blocks and what
    approximate trims remove, and the block goes once its last live entry is deleted.
    Readers skip tombstones."""

    __slots__ = ("starts", "blocks", "length")

    def __init__(self):
        self.starts: list[int] = []
        self.blocks: list[_Block] = []
        self.length = 0               # live entries

    def __len__(self):
        return self.length

    def copy(self) -> "IdMap":
        """The same blocks, tombstones included (the values are shared)."""
        twin = IdMap()
        for block in self.blocks:
            twin.append_block(list(block.ids), list(block.values))
            twin.blocks[-1].node = copy.copy(block.node)
        return twin

    def layout(self):
        """(ids, values, master) of each block, tombstones (None) included, with the
        field names of its node's master entry if known (see _Node): for snapshots."""
        return ((block.ids, block.values, block.node and block.node.fields)
                for block in self.blocks)

    def append_block(self, ids: list, values: list) -> None:
        """Add a whole block as `layout` gave it (its ids after every id in the map)."""
        block = _Block(ids, values)
        block.live = sum(value is not None for value in values)
        self.blocks.append(block)
        self.starts.append(ids[0])
        self.length += block.live

    def _find(self, key: int) -> tuple[int, int]:
        """(block index, position in the block) where `key` is or would be inserted;
        the block index is -1 when the map is empty."""
        index = bisect_right(self.starts, key) - 1
        if index < 0:
            index = 0 if self.blocks else -1
        if index < 0:
            return -1, 0
        return index, bisect_left(self.blocks[index].ids, key)

    def _locate(self, key: int) -> tuple[int, int]:
        """(block index, position in the block) of `key`, or (-1, 0) if it is absent."""
        index = bisect_right(self.starts, key) - 1
        if index >= 0:
            block = self.blocks[index]
            position = bisect_left(block.ids, key)
            if (position < len(block.ids) and block.ids[position] == key
                    and block.values[position] is not None):
                return index, position
        return -1, 0

    def get(self, key: int):
        index, position = self._locate(key)
        return self.blocks[index].values[position] if index >= 0 else None

    def _edge(self, last: bool):
        """(id, value) of the first or the last live entry, or None."""
        for block in (reversed(self.blocks) if last else self.blocks):
            if block.live == len(block.ids):
                return (block.ids[-1], block.values[-1]) if last else (block.ids[0],
                                                                       block.values[0])
            pairs = zip(block.ids, block.values)
            for key, value in (reversed(list(pairs)) if last else pairs):
                if value is not None:
                    return key, value
        return None

    def first_id(self) -> int | None:
        edge = self._edge(last=False)
        return edge[0] if edge else None

    def last_id(self) -> int | None:
        edge = self._edge(last=True)
        return edge[0] if edge else None

    def first(self):
        edge = self._edge(last=False)
        return edge[1] if edge else None

    def last(self):
        edge = self._edge(last=True)
        return edge[1] if edge else None

    # -- adding ----------------------------------------------------------------------------

    def append(self, key: int, value, block_size: int = BLOCK_SIZE) -> None:
        """Add `key`, which is greater than every key in the map (tombstones too), to
        the last block if it holds fewer than `block_size` ids (0: no limit), else to a
        new one."""
        blocks = self.blocks
        if blocks and (not block_size or len(blocks[-1].ids) < block_size):
            block = blocks[-1]
            block.ids.append(key)
            block.values.append(value)
            block.live += 1
        else:
            blocks.append(_Block([key], [value]))
            self.starts.append(key)
        self.length += 1

    def extend(self, keys: list, values: list) -> None:
        """Add `keys` (ascending, all greater than every key in the map), a block's worth
        of slices at a time."""
        blocks, done = self.blocks, 0
        while done < len(keys):
            if blocks and len(blocks[-1].ids) < BLOCK_SIZE:
                block = blocks[-1]
                room = BLOCK_SIZE - len(block.ids)
                block.ids += keys[done:done + room]
                block.values += values[done:done + room]
                block.live += len(keys[done:done + room])
            else:
                room = BLOCK_SIZE
                blocks.append(_Block(keys[done:done + room], values[done:done + room]))
                self.starts.append(keys[done])
            done += room
        self.length += len(keys)

    def set(self, key: int, value) -> None:
        """Add or replace `key` anywhere (appending is the common, fast case)."""
        if not self.blocks or key > self.blocks[-1].ids[-1]:
            self.append(key, value)
            return
        index, position = self._find(key)
        block = self.blocks[index]
        if position < len(block.ids) and block.ids[position] == key:
            if block.values[position] is None:                  # a tombstone comes back
                block.live += 1
                self.length += 1
            block.values[position] = value
            return
        block.ids.insert(position, key)
        block.values.insert(position, value)
        block.live += 1
        self.starts[index] = block.ids[0]
        self.length += 1
        if len(block.ids) > 2 * BLOCK_SIZE:            # split an overgrown block in two
            half = len(block.ids) // 2
            tail = _Block(block.ids[half:], block.values[half:])
            del block.ids[half:], block.values[half:]
            block.live -= tail.live
            self.blocks.insert(index + 1, tail)
            self.starts.insert(index + 1, tail.ids[0])

    # -- removing --------------------------------------------------------------------------

    def pop(self, key: int):
        """Take `key` out of its block; its value, or None if it was not there."""
        index, position = self._locate(key)
        if index < 0:
            return None
        block = self.blocks[index]
        value = block.values[position]
        del block.ids[position], block.values[position]
        block.live -= 1
        self.length -= 1
        if not block.ids:
            del self.blocks[index], self.starts[index]
        elif position == 0:
            self.starts[index] = block.ids[0]
        return value

    def bury(self, key: int) -> bool:
        """Delete `key` leaving a tombstone (or its whole block, if it was the block's
        last live entry); False if it was not there."""
        index, position = self._locate(key)
        if index < 0:
            return False
        block = self.blocks[index]
        block.values[position] = None
        block.live -= 1
        self.length -= 1
        if not block.live:
            del self.blocks[index], self.starts[index]
        return True

    def first_block_live(self) -> int:
        return self.blocks[0].live

    def first_block_last_id(self) -> int:
        """The first block's last id, a tombstone's if that is where it ends."""
        return self.blocks[0].ids[-1]

    def drop_first_block(self) -> None:
        self.length -= self.blocks[0].live
        del self.blocks[0], self.starts[0]

    def bury_first(self, count: int) -> None:
        """Bury the first `count` live entries, all in the first block, which stays even
        if none is left alive (as a Redis node does when trimmed)."""
        block = self.blocks[0]
        values = block.values
        position = 0
        for _ in range(count):
            while values[position] is None:
                position += 1
            values[position] = None
        block.live -= count
        self.length -= count

    def first_block_live_before(self, key: int) -> int:
        """How many live entries of the first block have an id below `key`."""
        block = self.blocks[0]
        end = bisect_left(block.ids, key)
        return sum(value is not None for value in block.values[:end])

    # -- ranges ----------------------------------------------------------------------------

    def items(self, start: int = 0, end: int = MAX_ID):
        """(id, value) for start <= id <= end, in ascending order."""
        index, position = self._find(start)
        if index < 0:
            return
        blocks = self.blocks
        while index < len(blocks):
            block = blocks[index]
            ids, values = block.ids, block.values
            for position in range(position, len(ids)):
                key = ids[position]
                if key > end:
                    return
                if values[position] is not None:
                    yield key, values[position]
            index += 1
            position = 0

    def items_reversed(self, end: int = MAX_ID, start: int = 0):
        """(id, value) for end >= id >= start, in descending order."""
        index = bisect_right(self.starts, end) - 1
        if index < 0:
            return
        blocks = self.blocks
        position = bisect_right(blocks[index].ids, end) - 1
        while index >= 0:
            block = blocks[index]
            ids, values = block.ids, block.values
            for position in range(position, -1, -1):
                key = ids[position]
                if key < start:
                    return
                if values[position] is not None:
                    yield key, values[position]
            index -= 1
            if index >= 0:
                position = len(blocks[index].ids) - 1

    def after(self, key: int, count: int = 0) -> tuple[list, list]:
        """The ids and values of up to `count` (all if 0) entries after `key`, in
        ascending order: the read every XREAD and XREADGROUP makes, done in slices
        (entry by entry only in a block with tombstones)."""
        index, position = self._find(key + 1)
        ids: list = []
        values: list = []
        blocks = self.blocks
        while 0 <= index < len(blocks):
            block = blocks[index]
            if block.live == len(block.ids):
                stop = position + count - len(ids) if count else len(block.ids)
                ids += block.ids[position:stop]
                values += block.values[position:stop]
            else:
                for stream_id, value in zip(block.ids[position:], block.values[position:]):
                    if value is not None:
                        ids.append(stream_id)
                        values.append(value)
                        if len(ids) == count:
                            break
            if count and len(ids) >= count:
                break
            index += 1
            position = 0
        return ids, values

    def block_count(self) -> int:
        return len(self.blocks)


class Nack:
    """One pending entry: the consumer it was delivered to, when, and how many times."""

    __slots__ = ("consumer", "delivery_time", "delivery_count")

    def __init__(self, consumer: "Consumer | None", delivery_time: int, delivery_count: int = 1):
        self.consumer = consumer
        self.delivery_time = delivery_time
        self.delivery_count = delivery_count


class Consumer:
    """A reader in a group. `seen_time` is its last attempt to read or claim,
    `active_time` its last success (-1 for never), as Redis 7.2 keeps them."""

    __slots__ = ("name", "seen_time", "active_time", "pending")

    def __init__(self, name: bytes, now: int):
        self.name = name
        self.seen_time = now
        self.active_time = -1
        self.pending = IdMap()


class ConsumerGroup:
    __slots__ = ("name", "last_id", "entries_read", "pending", "consumers")

    def __init__(self, name: bytes, last_id: int, entries_read: int | None):
        self.name = name
        self.last_id = last_id
        self.entries_read = entries_read      # None: unknown (Redis's SCG_INVALID...)
        self.pending = IdMap()
        self.consumers: dict[bytes, Consumer] = {}

    def add_consumer(self, name: bytes, now: int) -> Consumer:
        consumer = self.consumers[name] = Consumer(name, now)
        return consumer

    def remove_consumer(self, name: bytes) -> int:
        """Delete a consumer and its pending entries; how many entries it had."""
        consumer = self.consumers.pop(name)
        for stream_id, _ in consumer.pending.items():
            self.pending.pop(stream_id)
        return len(consumer.pending)

    def deliver(self, ids: list, consumer: Consumer, now: int) -> None:
        """Record that `ids` (ascending) went to `consumer` through `>`: pending,
        delivered once, to this consumer, even if one was pending for another (after
        SETID moved the group back). Usually they are all newer than anything pending,
        and are appended in bulk."""
        pending, own = self.pending, consumer.pending
        first = ids[0]
        if (not pending.length or first > pending.last_id()) and (
                not own.length or first > own.last_id()):
            nacks = [Nack(consumer, now) for _ in ids]
            pending.extend(ids, nacks)
            own.extend(ids, nacks)
            return
        for stream_id in ids:
            nack = pending.get(stream_id)
            if nack is None:
                nack = Nack(consumer, now)
                pending.set(stream_id, nack)
            else:
                nack.consumer.pending.pop(stream_id)
                nack.consumer, nack.delivery_time, nack.delivery_count = consumer, now, 1
            own.set(stream_id, nack)

    def acknowledge(self, stream_id: int) -> bool:
        nack = self.pending.pop(stream_id)
        if nack is None:
            return False
        nack.consumer.pending.pop(stream_id)
        return True

    def claim(self, stream_id: int, nack: Nack, consumer: Consumer) -> None:
        """Move the pending entry `stream_id` to `consumer` (from its owner, if it has
        one yet: XCLAIM FORCE makes entries pending without one)."""
        if nack.consumer is not consumer:
            if nack.consumer is not None:
                nack.consumer.pending.pop(stream_id)
            nack.consumer = consumer
            consumer.pending.set(stream_id, nack)


class Stream:
    __slots__ = ("entries", "last_id", "entries_added", "max_deleted_id", "first_id", "groups")

    def __init__(self):
        self.entries = IdMap()
        self.last_id = 0             # the greatest id ever added (or set by XSETID)
        self.entries_added = 0       # how many entries were ever added
        self.max_deleted_id = 0      # the greatest id XDEL removed
        self.first_id = 0            # the first entry's id (kept, as Redis, for the lag)
        self.groups: dict[bytes, ConsumerGroup] = {}

    @property
    def length(self) -> int:
        return self.entries.length

    def copy(self) -> "Stream":
        """A deep copy (COPY), groups and pending entries included."""
        stream = Stream()
        stream.entries = self.entries.copy()
        stream.last_id, stream.entries_added = self.last_id, self.entries_added
        stream.max_deleted_id, stream.first_id = self.max_deleted_id, self.first_id
        for name, group in self.groups.items():
            twin = stream.groups[name] = ConsumerGroup(name, group.last_id, group.entries_read)
            for consumer in group.consumers.values():
                copy = twin.consumers[consumer.name] = Consumer(consumer.name, consumer.seen_time)
                copy.active_time = consumer.active_time
            for stream_id, nack in group.pending.items():
                owner = twin.consumers[nack.consumer.name]
                nack = Nack(owner, nack.delivery_time, nack.delivery_count)
                twin.pending.append(stream_id, nack)
                owner.pending.append(stream_id, nack)
        return stream

    # -- adding and removing entries --------------------------------------------------------

    def add(self, stream_id: int, fields: list, node_entries: int = BLOCK_SIZE,
            node_bytes: int = NODE_BYTES) -> bytes:
        """Append an entry (its id is greater than last_id) to the last block, or to a new
        one where Redis starts a new listpack node: when the last holds `node_entries`
        entries (stream-node-max-entries, 0 for no limit), deleted ones too, or when its
        bytes and the new entry's fields and values would reach `node_bytes`
        (stream-node-max-bytes, as node_byte_limit gives it). Returns the id as text."""
        ms, seq = stream_id >> 64, stream_id & U64_MAX
        text = b"%d-%d" % (ms, seq)                         # format_id, inline
        entries = self.entries
        if not entries.length:
            self.first_id = stream_id
        blocks = entries.blocks
        tail = blocks[-1] if blocks else None
        encoded = None if tail is None else (tail.node or _measured_node(tail)).take(
            tail, ms, seq, text, fields, node_entries, node_bytes)
        if encoded is not None:
            tail.ids.append(stream_id)          # entries.append's work, inline: it is hot
            tail.values.append(encoded)
            tail.live += 1
            entries.length += 1
        else:
            entries.append_block([stream_id], [encode_entry(text, fields)])
            node = blocks[-1].node = _Node(stream_id, fields[0::2])
            node.count(ms, seq, fields)
        self.last_id = stream_id
        self.entries_added += 1
        return text

    def delete(self, stream_id: int) -> bool:
        if not self.entries.bury(stream_id):
            return False
        if stream_id > self.max_deleted_id:
            self.max_deleted_id = stream_id
        if stream_id == self.first_id:
            self.first_id = self.entries.first_id() or 0
        return True

    def trim(self, maxlen: int | None, minid: int | None, approx: bool, limit: int) -> int:
        """Remove entries from the front until at most `maxlen` remain, or every id is
        at least `minid`, as Redis does node by node: a whole block goes when what
        remains is still enough (or its last id, even a tombstone's, is below minid); with
        `approx` only whole blocks go, otherwise the rest is buried in the first block;
        a `limit` (0 for none) caps the entries removed. Returns how many went."""
        entries = self.entries
        removed = 0
        while entries.blocks:
            if maxlen is not None and entries.length <= maxlen:
                break
            live = entries.first_block_live()
            if limit and removed + live > limit:
                break
            if maxlen is not None:
                whole = entries.length - live >= maxlen
            else:
                whole = entries.first_block_last_id() < minid
            if whole:
                entries.drop_first_block()
                removed += live
                continue
            if not approx:                    # part of the first block, and then done
                if maxlen is not None:
                    count = entries.length - maxlen
                else:
                    count = entries.first_block_live_before(minid)
                entries.bury_first(count)
                removed += count
            break
        if removed:
            self.first_id = entries.first_id() or 0
        return removed

    # -- the lag of a consumer group (Redis 7's entries-read arithmetic) --------------------

    def has_tombstones_after(self, start: int) -> bool:
        """Whether an entry deleted by XDEL might lie at or after `start`."""
        if not self.entries.length or not self.max_deleted_id:
            return False
        if self.first_id > self.max_deleted_id:
            return False
        return start <= self.max_deleted_id

    def entries_read_at(self, stream_id: int) -> int | None:
        """How many entries were ever added up to and including `stream_id`, when that
        can be known without counting: None when it can't."""
        if not self.entries_added:
            return 0
        if not self.entries.length and stream_id <= self.last_id:
            return self.entries_added
        if stream_id == self.last_id:
            return self.entries_added
        if stream_id > self.last_id:
            return None
        if not self.max_deleted_id or self.max_deleted_id < self.first_id:
            if stream_id < self.first_id:
                return self.entries_added - self.entries.length
            if stream_id == self.first_id:
                return self.entries_added - self.entries.length + 1
        return None

    def lag(self, group: ConsumerGroup) -> int | None:
        """Entries not yet delivered to `group`, or None when that can't be known."""
        if not self.entries_added:
            return 0
        if group.entries_read is not None and not self.has_tombstones_after(group.last_id):
            return self.entries_added - group.entries_read
        read = self.entries_read_at(group.last_id)
        return None if read is None else self.entries_added - read

    def advance_group(self, group: ConsumerGroup, ids: list) -> None:
        """The group was just handed `ids` (ascending) through `>`: move its last id on
        and keep its entries-read count, entry by entry as Redis does (all at once when
        no deleted entry lies ahead, the usual case)."""
        if group.entries_read is not None and not self.has_tombstones_after(ids[0]):
            group.entries_read += len(ids)
        else:
            for stream_id in ids:
                if group.entries_read is not None and not self.has_tombstones_after(stream_id):
                    group.entries_read += 1
                elif self.entries_added:
                    group.entries_read = self.entries_read_at(stream_id)
        group.last_id = ids[-1]
