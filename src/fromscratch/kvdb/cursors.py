"""Cursors for SCAN, HSCAN, SSCAN and ZSCAN.

Redis's SCAN guarantees that an element present for the whole iteration is returned at
least once, lets a client stop at any point, and keeps no state on the server: the
cursor is a position in its hash table. Python's dict exposes no such position, and a
position in a list of keys shifts when keys are removed, which would skip elements.

So an iteration over a large collection works on a snapshot of its keys, taken when the
client asks for cursor 0 and kept here under an id. The cursor handed back is
`id << 32 | position`. Elements removed since the snapshot are skipped when a page is
read; elements added since may or may not be returned — both as SCAN promises. A
collection small enough to fit in one page is returned whole, with cursor 0, as Redis
does for its compact encodings.

Snapshots are dropped when their iteration ends, and the least recently used are dropped
beyond MAX_OPEN. A cursor whose snapshot is gone restarts from a fresh snapshot at the
same position (the one place we can differ from Redis; see protocol_specs/resp.md).
"""

from __future__ import annotations

from collections import OrderedDict

from ..resp import ErrorReply

MAX_OPEN = 256
_POSITION_BITS = 32
_POSITION_MASK = (1 << _POSITION_BITS) - 1


def parse_cursor(arg: bytes) -> int:
    if not arg.isdigit() or len(arg) > 20 or int(arg) >= 2**64:
        raise ErrorReply("ERR invalid cursor")
    return int(arg)


class Cursors:
    def __init__(self):
        self._open: OrderedDict[int, tuple] = OrderedDict()
        self._next_id = 1

    def page(self, target, keys_of, cursor: int, count: int) -> tuple[int, list]:
        """The next slice of the iteration over `target` (an identity such as
        ('hash', db index, key)), `keys_of()` giving its current keys in some order.
        Returns (next cursor, candidate keys); the caller filters them."""
        if cursor == 0:
            keys = keys_of()
            if len(keys) <= count:
                return 0, list(keys)
            snapshot_id = self._open_snapshot(target, list(keys))
            position = 0
        else:
            snapshot_id, position = cursor >> _POSITION_BITS, cursor & _POSITION_MASK
            entry = self._open.get(snapshot_id)
            if entry is None or entry[0] != target:
                snapshot_id = self._open_snapshot(target, list(keys_of()))
            else:
                self._open.move_to_end(snapshot_id)
        keys = self._open[snapshot_id][1]
        chunk = keys[position:position + count]
        position += count
        if position >= len(keys):
            del self._open[snapshot_id]
            return 0, chunk
        return (snapshot_id << _POSITION_BITS) | position, chunk

    def _open_snapshot(self, target, keys: list) -> int:
        snapshot_id = self._next_id
        self._next_id += 1
        self._open[snapshot_id] = (target, keys)
        while len(self._open) > MAX_OPEN:
            self._open.popitem(last=False)
        return snapshot_id
