"""The heap: a table as an unordered file of slotted pages holding row versions.

A row version is named by its tuple id, `tid = block << 16 | slot`. Inserting puts a
version on the table's current target page (or a page known to have room, or a new
page at the end). Updating writes a new version and sets the old one's xmax and ctid.

HOT (heap-only tuple) updates, as in PostgreSQL: when no indexed column changes and the
new version fits on the old one's page, it goes there with no index entries. The index
keeps pointing at the chain's first version (the root); readers walk the chain
(`ctid` links, same page) to the version their snapshot sees. Most of pgbench's
updates are HOT.

Pruning keeps chains short without a VACUUM: when an update finds its page full, the
versions no snapshot can see any more are removed from each HOT chain; the root's slot
becomes a redirect to the first surviving version. A chain that is entirely dead keeps
its last version, whose key VACUUM needs to remove the chain's index entries.

Every change is logged (wal.py) before it may reach the file; the redo functions at
the end replay these records during recovery.
"""

from __future__ import annotations

import struct

from ..errors import PROGRAM_LIMIT_EXCEEDED, SqlError
from . import wal
from .mvcc import ABORTED, dead_to_all, visible
from .pages import (HEAP_ONLY, HOT_UPDATED, MAX_TUPLE_DATA, XMAX_LOCK_ONLY, HeapPage,
                    HeapTuple)
from .rowcodec import decode_row, encode_row

_INSERT = struct.Struct("<IIIHB")          # db, file, block, slot, init
_SET_XMAX = struct.Struct("<IIIHQH")       # db, file, block, slot, xmax, flags
_UPDATE = struct.Struct("<IIIHIHHBB")      # db, file, old block, old slot, new block,
                                           # new slot, old flags, hot, init
_PRUNE = struct.Struct("<IIIH")            # db, file, block, count; then (slot, target)*
_PRUNE_ITEM = struct.Struct("<Hh")         # target: -1 unused, else the redirect's slot

# A page with less free space than this is not worth remembering for inserts.
FSM_THRESHOLD = 512


class RowTooBig(SqlError):
    def __init__(self, size: int):
        super().__init__(PROGRAM_LIMIT_EXCEEDED,
                         f"row is too big: size {size}, maximum size {MAX_TUPLE_DATA}")
        self.size = size


def row_of(t: HeapTuple) -> tuple:
    row = t.row
    if row is None:
        row = t.row = decode_row(t.data)
    return row


# -- reading -----------------------------------------------------------------------------------

def fetch_visible(pool, rel, tid: int, snap, clog):
    """The version of the row whose chain starts at `tid` (an index entry's tid) that
    `snap` sees: (tid, HeapTuple), or None."""
    block = tid >> 16
    page = pool.get(rel.file, block)
    if page is None:
        return None
    items = page.items
    slot = tid & 0xFFFF
    if slot >= len(items):
        return None
    item = items[slot]
    if item.__class__ is int:
        slot = item
        item = items[slot]
    while item.__class__ is HeapTuple:
        if visible(item, snap, clog):
            return block << 16 | slot, item
        if not item.flags & HOT_UPDATED:
            return None
        slot = item.ctid & 0xFFFF
        following = items[slot] if slot < len(items) else None
        if following.__class__ is not HeapTuple or following.xmin != item.xmax:
            return None
        item = following
    return None


def chain_versions(pool, rel, tid: int):
    """Every version in the HOT chain starting at `tid`: [(tid, HeapTuple)]."""
    block = tid >> 16
    page = pool.get(rel.file, block)
    if page is None:
        return []
    items = page.items
    slot = tid & 0xFFFF
    if slot >= len(items):
        return []
    item = items[slot]
    if item.__class__ is int:
        slot = item
        item = items[slot]
    out = []
    while item.__class__ is HeapTuple:
        out.append((block << 16 | slot, item))
        if not item.flags & HOT_UPDATED:
            break
        slot = item.ctid & 0xFFFF
        following = items[slot] if slot < len(items) else None
        if following.__class__ is not HeapTuple or following.xmin != item.xmax:
            break
        item = following
    return out


def version(pool, rel, tid: int):
    """The exact version at `tid`: (page, HeapTuple), or (None, None)."""
    page = pool.get(rel.file, tid >> 16)
    if page is None:
        return None, None
    slot = tid & 0xFFFF
    if slot >= len(page.items):
        return None, None
    item = page.items[slot]
    return (page, item) if item.__class__ is HeapTuple else (None, None)


def scan_page(pool, rel, block: int, snap, clog) -> list:
    """The visible rows of one page: [(tid, row)]."""
    page = pool.get(rel.file, block)
    if page is None:
        return []
    out = []
    base = block << 16
    for slot, item in enumerate(page.items):
        if item.__class__ is HeapTuple and visible(item, snap, clog):
            row = item.row
            if row is None:
                row = item.row = decode_row(item.data)
            out.append((base | slot, row))
    return out


# -- writing -----------------------------------------------------------------------------------

def _encode(row: tuple) -> bytes:
    data = encode_row(row)
    if len(data) > MAX_TUPLE_DATA:
        data = encode_row(row, compress=True)
        if len(data) > MAX_TUPLE_DATA:
            raise RowTooBig(len(data))
    return data


def _page_with_room(engine, rel, size: int, avoid: int = -1):
    """(block, page, is_new): the target page if it has room, else a page the free
    space map offers, else a new page at the end of the file."""
    pool = engine.pool
    block = rel.target
    if block >= 0 and block != avoid:
        page = pool.get(rel.file, block)
        if page is not None and page.fits(size):
            return block, page, False
    while rel.fsm:
        block = rel.fsm.pop()
        if block == avoid:
            continue
        page = pool.get(rel.file, block)
        if page is not None and page.fits(size):
            rel.target = block
            return block, page, False
    block = rel.file.nblocks
    page = pool.add(rel.file, block, HeapPage())
    rel.target = block
    return block, page, True


def insert(engine, rel, xid: int, row: tuple) -> int:
    data = _encode(row)
    block, page, new = _page_with_room(engine, rel, len(data))
    t = HeapTuple(xid, 0, 0, 0, data)
    t.row = row
    slot = page.put(t)
    tid = block << 16 | slot
    t.ctid = tid
    engine.log_change(rel, wal.HEAP_INSERT, xid,
                      _INSERT.pack(rel.db, rel.filenode, block, slot, new) + data, [page], new)
    return tid


def set_xmax(engine, rel, page, tid: int, t: HeapTuple, xid: int, lock_only: bool) -> None:
    """Delete a version (xmax = xid), or lock it for SELECT ... FOR UPDATE."""
    t.xmax = xid
    t.flags = (t.flags & HEAP_ONLY) | (XMAX_LOCK_ONLY if lock_only else 0)
    if not lock_only:
        t.ctid = tid                # (a deleted version is VACUUM's to remove, not prune's)
    engine.log_change(rel, wal.HEAP_SET_XMAX, xid,
                      _SET_XMAX.pack(rel.db, rel.filenode, tid >> 16, tid & 0xFFFF, xid,
                                     t.flags), [page])


def update(engine, rel, page, tid: int, old: HeapTuple, xid: int, row: tuple,
           hot_allowed: bool) -> tuple[int, bool]:
    """Write `row` as the new version of `old`; returns (new tid, was it HOT)."""
    data = _encode(row)
    block = tid >> 16
    hot = hot_allowed and page.fits(len(data))
    if hot_allowed and not hot:
        prune(engine, rel, page, block)
        hot = page.fits(len(data))
    if hot:
        new_block, new_page, new = block, page, False
    else:
        new_block, new_page, new = _page_with_room(engine, rel, len(data), avoid=block)
    t = HeapTuple(xid, 0, HEAP_ONLY if hot else 0, 0, data)
    t.row = row
    slot = new_page.put(t)
    new_tid = new_block << 16 | slot
    t.ctid = new_tid
    old.xmax = xid
    old.ctid = new_tid
    old.flags = (old.flags & HEAP_ONLY) | (HOT_UPDATED if hot else 0)
    if hot:
        _may_prune(page, xid)
    pages = [page] if hot else [page, new_page]
    engine.log_change(rel, wal.HEAP_UPDATE, xid,
                      _UPDATE.pack(rel.db, rel.filenode, block, tid & 0xFFFF, new_block, slot,
                                   old.flags, hot, new) + data, pages, new)
    return new_tid, hot


# -- pruning -----------------------------------------------------------------------------------

def _may_prune(page: HeapPage, xid: int) -> None:
    """A version on `page` was HOT-updated by `xid`: once no snapshot sees it, prune
    can remove it (pd_prune_xid)."""
    if page.prune_xid == 0 or xid < page.prune_xid:
        page.prune_xid = xid


def prune(engine, rel, page: HeapPage, block: int) -> None:
    """Remove the versions of this page that no snapshot can see (see the module doc)."""
    oldest = engine.oldest_xmin()
    if oldest <= page.pruned_at or not 0 < page.prune_xid < oldest:
        return              # nothing became dead since the last time, or can be yet
    page.pruned_at = oldest
    clog = engine.clog.status
    items = page.items
    n = len(items)
    changes: dict[int, int | None] = {}      # slot -> redirect target, or None: unused
    reached = set()
    for root, item in enumerate(items):
        if item.__class__ is int:
            start = item
        elif item.__class__ is HeapTuple and item.flags & HOT_UPDATED and \
                not item.flags & HEAP_ONLY:
            start = root
        else:
            continue        # a root with no HOT successor stays as it is, dead or alive
        chain = []
        slot, prior_xmax = start, None
        while slot < n:
            t = items[slot]
            if t.__class__ is not HeapTuple or (prior_xmax is not None and t.xmin != prior_xmax):
                break
            chain.append(slot)
            reached.add(slot)
            if not t.flags & HOT_UPDATED:
                break
            prior_xmax, slot = t.xmax, t.ctid & 0xFFFF
        if not chain:
            continue
        first_live = next((i for i, s in enumerate(chain)
                           if not dead_to_all(items[s], oldest, clog)), None)
        survivor = chain[-1] if first_live is None else chain[first_live]
        if survivor == start:
            continue
        for s in chain:
            if s == survivor:
                break
            if s != root:
                changes[s] = None
        changes[root] = survivor
    for slot, item in enumerate(items):
        if item.__class__ is HeapTuple and item.flags & HEAP_ONLY and slot not in reached \
                and dead_to_all(item, oldest, clog):
            changes[slot] = None
    if changes:
        apply_prune(page, changes)
    # What is left to prune later: versions HOT-updated by transactions still running or
    # committed too recently (not by ones that aborted: those versions live on). Only
    # those: prune removes nothing else, so another deleted version must not keep the
    # page coming back here.
    size = len(clog)
    page.prune_xid = min((t.xmax for t in items if t.__class__ is HeapTuple
                          and t.flags & HOT_UPDATED
                          and not (t.xmax < size and clog[t.xmax] == ABORTED)), default=0)
    if not changes:
        return
    payload = _PRUNE.pack(rel.db, rel.filenode, block, len(changes)) + b"".join(
        _PRUNE_ITEM.pack(slot, -1 if target is None else target)
        for slot, target in changes.items())
    engine.log_change(rel, wal.HEAP_PRUNE, 0, payload, [page])
    if page.free >= FSM_THRESHOLD:
        rel.fsm.add(block)


def apply_prune(page: HeapPage, changes: dict) -> None:
    for slot, target in changes.items():
        page.set_item(slot, target)
    page.trim()


def remove_versions(engine, rel, page: HeapPage, block: int, slots: list[int]) -> None:
    """VACUUM: free slots whose versions are dead and whose index entries are gone."""
    changes = {slot: None for slot in slots}
    apply_prune(page, changes)
    payload = _PRUNE.pack(rel.db, rel.filenode, block, len(changes)) + b"".join(
        _PRUNE_ITEM.pack(slot, -1) for slot in changes)
    engine.log_change(rel, wal.HEAP_PRUNE, 0, payload, [page])


# -- redo --------------------------------------------------------------------------------------

def redo(record, access) -> None:
    """Replay a heap record. `access.page(key, block, end, init)` returns the page to
    change, or None when the page already holds this change (its LSN is not older)."""
    p = record.payload
    end = record.end
    if record.type == wal.HEAP_INSERT:
        db, file, block, slot, init = _INSERT.unpack_from(p)
        page = access.page((db, file), block, end, init)
        if page is not None:
            data = bytes(p[_INSERT.size:])
            page.put(HeapTuple(record.xid, 0, 0, block << 16 | slot, data), slot)
    elif record.type == wal.HEAP_SET_XMAX:
        db, file, block, slot, xmax, flags = _SET_XMAX.unpack_from(p)
        page = access.page((db, file), block, end)
        if page is not None:
            t = page.items[slot]
            t.xmax, t.flags = xmax, flags
            if not flags & XMAX_LOCK_ONLY:
                t.ctid = block << 16 | slot
    elif record.type == wal.HEAP_UPDATE:
        db, file, block, slot, new_block, new_slot, old_flags, hot, init = \
            _UPDATE.unpack_from(p)
        new_tid = new_block << 16 | new_slot
        page = access.page((db, file), block, end)
        if page is not None:
            t = page.items[slot]
            t.xmax, t.ctid, t.flags = record.xid, new_tid, old_flags
            if hot:
                _may_prune(page, record.xid)
        new_page = access.page((db, file), new_block, end, init)
        if new_page is not None:
            data = bytes(p[_UPDATE.size:])
            new_page.put(HeapTuple(record.xid, 0, HEAP_ONLY if hot else 0, new_tid, data),
                         new_slot)
    elif record.type == wal.HEAP_PRUNE:
        db, file, block, count = _PRUNE.unpack_from(p)
        page = access.page((db, file), block, end)
        if page is not None:
            changes = {}
            for i in range(count):
                slot, target = _PRUNE_ITEM.unpack_from(p, _PRUNE.size + i * _PRUNE_ITEM.size)
                changes[slot] = None if target < 0 else target
            apply_prune(page, changes)
