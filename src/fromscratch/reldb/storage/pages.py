"""Pages: the 8 KB unit of every relation file, in memory and on disk.

In the buffer pool a page is a Python object whose fields the access methods use
directly (a heap page's list of row versions, a B+tree page's sorted list of keys);
`to_bytes()` lays it out as 8192 bytes when it is written to its file, and
`decode_page()` reads those bytes back. The byte layout is PostgreSQL's slotted page:

    offset 0   header (24 bytes)
               lsn u64        the WAL position of the last change (the page's version)
               checksum u32   CRC-32 of the page with this field zero: torn or corrupt
                              pages are detected when read
               kind u8        1 heap, 2 B+tree leaf, 3 B+tree internal, 4 B+tree meta
               level u8       B+tree: the height of the page above the leaves
               nitems u16     number of line pointers
               next u32       B+tree: the right sibling; heap: 0
               reserved u32
    offset 24  line pointers, 4 bytes each: offset (15 bits), state (2 bits), length
               (15 bits); the state says unused, normal or redirect (offset = the
               slot redirected to)
    ...        free space
    ...        item data, packed from the end of the page downwards

A heap item is a row version: a 24-byte tuple header (xmin u64, xmax u64, flags u16,
ctid: block u32 + slot u16) then the row (rowcodec.py). A B+tree leaf item is an entry
(key + tuple id, keycodec.py); an internal item is a child block number (u32) then the
separator key. The meta page (block 0 of an index) holds the root's block number and
the list of free blocks.

Size accounting is exact: a page in memory never holds more than its 8192 bytes can.
"""

from __future__ import annotations

import struct
import zlib
from itertools import accumulate

PAGE_SIZE = 8192
HEADER = struct.Struct("<QIBBHII")
HEADER_SIZE = HEADER.size                     # 24
CAPACITY = PAGE_SIZE - HEADER_SIZE            # room for line pointers and items
LINE_POINTER = 4
_LP = struct.Struct("<I")
_CHECKSUM_AT = 8

KIND_HEAP = 1
KIND_LEAF = 2
KIND_INTERNAL = 3
KIND_META = 4

# Line pointer states (PostgreSQL's LP_DEAD is not used: see heap.py's pruning).
LP_UNUSED, LP_NORMAL, LP_REDIRECT = 0, 1, 2

# -- heap tuples -----------------------------------------------------------------------------

TUPLE_HEADER = struct.Struct("<QQHIH")
TUPLE_HEADER_SIZE = TUPLE_HEADER.size         # 24
MAX_TUPLE_DATA = CAPACITY - LINE_POINTER - TUPLE_HEADER_SIZE

# Tuple flags (PostgreSQL's infomask bits that matter here).
XMAX_LOCK_ONLY = 0x0001   # xmax holds a row lock (SELECT FOR UPDATE), not a deletion
HOT_UPDATED = 0x0002      # updated; the newer version is on this page, with no index entry
HEAP_ONLY = 0x0004        # reached only through its HOT chain, never from an index


class Page:
    """What the buffer pool keeps about any page."""

    __slots__ = ("key", "lsn", "dirty", "ref", "epoch")

    def __init__(self):
        self.key = None        # (file id, block number), set by the buffer pool
        self.lsn = 0
        self.dirty = False
        self.ref = True        # the clock's "recently used" bit
        self.epoch = 0         # the latch section that last used it (never evicted in it)


class HeapTuple:
    """One row version. `ctid` is its own tuple id until an update sets it to the newer
    version's; `row` caches the decoded data."""

    __slots__ = ("xmin", "xmax", "flags", "ctid", "data", "row")

    def __init__(self, xmin: int, xmax: int, flags: int, ctid: int, data: bytes):
        self.xmin = xmin
        self.xmax = xmax
        self.flags = flags
        self.ctid = ctid
        self.data = data
        self.row = None


class HeapPage(Page):
    """`items[slot]` is a HeapTuple, None (unused) or an int (a redirect to that slot).
    Slot numbers never change while an index may point at them."""

    __slots__ = ("items", "used", "has_unused", "pruned_at", "prune_xid")
    kind = KIND_HEAP

    def __init__(self):
        super().__init__()
        self.items: list = []
        self.used = 0
        self.has_unused = False
        self.pruned_at = 0      # the oldest running snapshot when last pruned (in memory)
        # The smallest xid that deleted or updated a version here since the last prune:
        # until every snapshot is newer, pruning can find nothing (PostgreSQL's
        # pd_prune_xid; in memory only, found again when a page is read). 0: none.
        self.prune_xid = 0

    @property
    def free(self) -> int:
        return CAPACITY - self.used

    def fits(self, data_size: int) -> bool:
        extra = 0 if self.has_unused else LINE_POINTER
        return self.used + extra + TUPLE_HEADER_SIZE + data_size <= CAPACITY

    def put(self, tup: HeapTuple, slot: int | None = None) -> int:
        """Store a tuple in a free slot (or the given one, when replaying the log)."""
        items = self.items
        if slot is None:
            slot = items.index(None) if self.has_unused else len(items)
        if slot >= len(items):
            self.used += LINE_POINTER * (slot + 1 - len(items))
            items.extend([None] * (slot + 1 - len(items)))
        else:
            self._release(items[slot])
        items[slot] = tup
        self.used += TUPLE_HEADER_SIZE + len(tup.data)
        self.has_unused = None in items
        return slot

    def set_item(self, slot: int, item) -> None:
        """Pruning: turn a slot into a redirect (an int) or an unused one (None)."""
        self._release(self.items[slot])
        self.items[slot] = item
        if item is None:
            self.has_unused = True

    def trim(self) -> None:
        """Give back trailing unused line pointers."""
        items = self.items
        while items and items[-1] is None:
            items.pop()
            self.used -= LINE_POINTER
        self.has_unused = None in items

    def _release(self, old) -> None:
        if old.__class__ is HeapTuple:
            self.used -= TUPLE_HEADER_SIZE + len(old.data)

    def to_bytes(self) -> bytearray:
        upper = PAGE_SIZE
        pointers = []
        parts = []                      # item data, last item first (it sits lowest)
        pack = TUPLE_HEADER.pack
        for item in self.items:
            if item is None:
                pointers.append(LP_UNUSED << 15)
            elif item.__class__ is int:
                pointers.append(item | LP_REDIRECT << 15)
            else:
                size = TUPLE_HEADER_SIZE + len(item.data)
                upper -= size
                parts.append(item.data)
                parts.append(pack(item.xmin, item.xmax, item.flags, item.ctid >> 16,
                                  item.ctid & 0xFFFF))
                pointers.append(upper | LP_NORMAL << 15 | size << 17)
        return _assemble(KIND_HEAP, self.lsn, 0, 0, pointers, b"".join(reversed(parts)))

    @classmethod
    def from_bytes(cls, buf, lsn: int, nitems: int, next_: int, level: int) -> "HeapPage":
        page = cls()
        page.lsn = lsn
        pointers = struct.unpack_from(f"<{nitems}I", buf, HEADER_SIZE)
        items = page.items
        used = LINE_POINTER * nitems
        prune_xid = 0
        for lp in pointers:
            state = lp >> 15 & 3
            if state == LP_NORMAL:
                offset = lp & 0x7FFF
                size = lp >> 17
                xmin, xmax, flags, block, slot = TUPLE_HEADER.unpack_from(buf, offset)
                data = bytes(buf[offset + TUPLE_HEADER_SIZE:offset + size])
                items.append(HeapTuple(xmin, xmax, flags, block << 16 | slot, data))
                used += size
                if flags & HOT_UPDATED and (not prune_xid or xmax < prune_xid):
                    prune_xid = xmax            # what heap.prune could remove, as there
            elif state == LP_REDIRECT:
                items.append(lp & 0x7FFF)
            else:
                items.append(None)
        page.used = used
        page.has_unused = None in items
        page.prune_xid = prune_xid
        return page


# -- B+tree pages ------------------------------------------------------------------------------

_CHILD = struct.Struct("<I")


class BTreePage(Page):
    """A leaf (level 0) holds sorted entries; an internal page holds sorted separator
    keys and one child per key: child i holds the entries >= keys[i] (keys[0] is b"",
    the low end) and < keys[i + 1]. Leaves are chained left to right by `next`."""

    __slots__ = ("level", "next", "keys", "children", "used")

    def __init__(self, level: int = 0):
        super().__init__()
        self.level = level
        self.next = 0
        self.keys: list[bytes] = []
        self.children: list[int] = []
        self.used = 0

    @property
    def kind(self) -> int:
        return KIND_LEAF if self.level == 0 else KIND_INTERNAL

    @property
    def is_leaf(self) -> bool:
        return self.level == 0

    def item_size(self, key: bytes) -> int:
        return LINE_POINTER + len(key) + (0 if self.level == 0 else _CHILD.size)

    def recount(self) -> None:
        extra = 0 if self.level == 0 else _CHILD.size
        self.used = sum(map(len, self.keys)) + (LINE_POINTER + extra) * len(self.keys)

    def to_bytes(self) -> bytearray:
        items = self.keys if self.level == 0 else \
            [_CHILD.pack(child) + key for child, key in zip(self.children, self.keys)]
        sizes = list(map(len, items))
        # Item i sits just below items 0..i-1, which fill the page from its end.
        normal = LP_NORMAL << 15
        pointers = [(PAGE_SIZE - end) | normal | size << 17
                    for end, size in zip(accumulate(sizes), sizes)]
        return _assemble(self.kind, self.lsn, self.level, self.next, pointers,
                         b"".join(reversed(items)))

    @classmethod
    def from_bytes(cls, buf, lsn: int, nitems: int, next_: int, level: int) -> "BTreePage":
        page = cls(level)
        page.lsn = lsn
        page.next = next_
        pointers = struct.unpack_from(f"<{nitems}I", buf, HEADER_SIZE)
        buf = bytes(buf)                # keys are bytes, whatever the buffer was
        items = [buf[lp & 0x7FFF:(lp & 0x7FFF) + (lp >> 17)] for lp in pointers]
        if level == 0:
            page.keys = items
        else:
            page.children = [_CHILD.unpack_from(item)[0] for item in items]
            page.keys = [item[_CHILD.size:] for item in items]
        page.recount()
        return page


class MetaPage(Page):
    """Block 0 of an index file: where the root is, and the blocks free for reuse."""

    __slots__ = ("root", "free")
    kind = KIND_META

    def __init__(self, root: int = 1):
        super().__init__()
        self.root = root
        self.free: list[int] = []

    def to_bytes(self) -> bytearray:
        buf = bytearray(PAGE_SIZE)
        HEADER.pack_into(buf, 0, self.lsn, 0, KIND_META, 0, len(self.free), self.root, 0)
        struct.pack_into(f"<{len(self.free)}I", buf, HEADER_SIZE, *self.free)
        return buf

    @classmethod
    def from_bytes(cls, buf, lsn: int, nitems: int, next_: int, level: int) -> "MetaPage":
        page = cls(next_)
        page.lsn = lsn
        page.free = list(struct.unpack_from(f"<{nitems}I", buf, HEADER_SIZE))
        return page


def _assemble(kind: int, lsn: int, level: int, next_: int, pointers: list,
              body: bytes) -> bytearray:
    """Header, line pointers, free space, then the items' bytes at the end."""
    buf = bytearray(HEADER.pack(lsn, 0, kind, level, len(pointers), next_, 0))
    buf += struct.pack(f"<{len(pointers)}I", *pointers)
    buf += bytes(PAGE_SIZE - len(buf) - len(body))
    buf += body
    return buf


MAX_FREE_LIST = (CAPACITY // 4) - 1

_CLASSES = {KIND_HEAP: HeapPage, KIND_LEAF: BTreePage, KIND_INTERNAL: BTreePage,
            KIND_META: MetaPage}


class CorruptPage(Exception):
    pass


def encode_page(page: Page) -> bytes:
    """The page's 8192 bytes, checksum included."""
    buf = page.to_bytes()
    struct.pack_into("<I", buf, _CHECKSUM_AT, zlib.crc32(buf))
    return bytes(buf)


def decode_page(buf: bytes) -> Page | None:
    """A page read from a file, or None for a block never written (all zeros)."""
    lsn, checksum, kind, level, nitems, next_, _ = HEADER.unpack_from(buf, 0)
    if checksum == 0 and kind == 0 and not any(buf):
        return None
    check = bytearray(buf)
    struct.pack_into("<I", check, _CHECKSUM_AT, 0)
    if zlib.crc32(check) != checksum or kind not in _CLASSES:
        raise CorruptPage("page checksum mismatch")
    return _CLASSES[kind].from_bytes(buf, lsn, nitems, next_, level)
