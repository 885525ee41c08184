"""B+tree indexes: sorted entries in leaf pages, separator keys in internal pages.

Block 0 of an index file is its meta page (the root's block and the free blocks);
the tree starts as one empty leaf. Entries are byte strings (keycodec.py: the key's
bytes, then the tid of the row version), compared as bytes, so every search is a
`bisect` on a page's list of keys:

* search: from the root, child i = bisect_right(keys, probe) - 1, down to a leaf;
* insert: into its leaf; a leaf that overflows splits in two (at the middle, or near
  the end when the insert was at the right edge, so ascending keys fill pages), and
  the new right page's separator goes into the parent, which may split in turn; a
  root that splits gets a new root above it;
* delete (VACUUM): from its leaf; a leaf left under a quarter full merges with a
  sibling under the same parent when both fit in one page, which may leave the parent
  under-full in turn; a root left with one child is replaced by that child;
* scans walk leaves left to right along `next` links, or right to left by searching
  again; each step re-finds its place by the last entry returned, so a scan survives
  splits and merges made by others between its steps.

Separators are the shortest prefix of the right page's first entry that is greater
than the left page's last (suffix truncation keeps internal pages wide).

Logging: a plain leaf insert or delete is a small record (page, entry); a split or a
merge logs the images of every page it changed, in one record.
"""

from __future__ import annotations

import struct
from bisect import bisect_left, bisect_right, insort

from . import wal
from .pages import CAPACITY, LINE_POINTER, MAX_FREE_LIST, BTreePage, MetaPage

_ENTRY = struct.Struct("<III")                  # db, file, block; then the entry
MAX_ENTRY = CAPACITY // 3 - LINE_POINTER - 8    # three entries must fit in a page
LEAF_FILL = 0.9                                 # how full a rightmost split leaves a page
MERGE_BELOW = CAPACITY // 4


class EntryTooBig(Exception):
    def __init__(self, size: int):
        super().__init__(size)
        self.size = size


def create(engine, rel) -> None:
    """A new index: the meta page and an empty root leaf."""
    pool = engine.pool
    meta = pool.add(rel.file, 0, MetaPage(root=1))
    leaf = pool.add(rel.file, 1, BTreePage(0))
    engine.log_images(rel, [(0, meta), (1, leaf)])


def _meta(engine, rel) -> MetaPage:
    return engine.pool.get(rel.file, 0)


def _descend(engine, rel, probe: bytes):
    """The leaf where `probe` belongs, and the path to it: [(block, page, child index)]."""
    pool = engine.pool
    block = _meta(engine, rel).root
    page = pool.get(rel.file, block)
    path = []
    while page.level:
        i = bisect_right(page.keys, probe) - 1
        if i < 0:
            i = 0
        path.append((block, page, i))
        block = page.children[i]
        page = pool.get(rel.file, block)
    return block, page, path


# -- searching ---------------------------------------------------------------------------------

def prefix_entries(engine, rel, prefix: bytes) -> list[bytes]:
    """Every entry that starts with `prefix` (an equality lookup on a key or on its
    leading columns)."""
    _, page, _ = _descend(engine, rel, prefix)
    pool = engine.pool
    out = []
    i = bisect_left(page.keys, prefix)
    while True:
        keys = page.keys
        while i < len(keys):
            entry = keys[i]
            if not entry.startswith(prefix):
                return out
            out.append(entry)
            i += 1
        if not page.next:
            return out
        page = pool.get(rel.file, page.next)
        i = 0


def entries_after(engine, rel, after: bytes | None, low: bytes | None,
                  limit: int) -> list[bytes]:
    """Up to `limit` entries in ascending order: those > `after` when resuming a scan,
    else those >= `low` (from the first entry if None)."""
    pool = engine.pool
    probe = after if after is not None else (low or b"")
    _, page, _ = _descend(engine, rel, probe)
    i = bisect_right(page.keys, after) if after is not None else bisect_left(page.keys, probe)
    out = []
    while True:
        taken = page.keys[i:i + limit - len(out)]
        out.extend(taken)
        if len(out) >= limit or not page.next:
            return out
        page = pool.get(rel.file, page.next)
        i = 0


def entries_before(engine, rel, before: bytes | None, limit: int) -> list[bytes]:
    """Up to `limit` entries in descending order, each < `before` (from the last entry
    if None)."""
    pool = engine.pool
    out = []
    while len(out) < limit:
        if before is None:
            page, path = _rightmost_leaf(engine, rel, pool.get(rel.file, _meta(engine, rel).root),
                                         _meta(engine, rel).root, [])
            i = len(page.keys)
        else:
            _, page, path = _descend(engine, rel, before)
            i = bisect_left(page.keys, before)
        while i == 0:
            page, path = _previous_leaf(engine, rel, path)
            if page is None:
                return out
            i = len(page.keys)
        taken = page.keys[max(0, i - (limit - len(out))):i]
        out.extend(reversed(taken))
        before = taken[0]
    return out


def _rightmost_leaf(engine, rel, page, block, path):
    while page.level:
        i = len(page.children) - 1
        path.append((block, page, i))
        block = page.children[i]
        page = engine.pool.get(rel.file, block)
    return page, path


def _previous_leaf(engine, rel, path):
    """The leaf left of the one `path` leads to, and its path; (None, None) at the
    first leaf."""
    for depth in range(len(path) - 1, -1, -1):
        block, page, i = path[depth]
        if i > 0:
            child = page.children[i - 1]
            return _rightmost_leaf(engine, rel, engine.pool.get(rel.file, child), child,
                                   path[:depth] + [(block, page, i - 1)])
    return None, None


# -- inserting ---------------------------------------------------------------------------------

def insert(engine, rel, entry: bytes) -> None:
    if len(entry) > MAX_ENTRY:
        raise EntryTooBig(len(entry))
    block, page, path = _descend(engine, rel, entry)
    pos = bisect_left(page.keys, entry)
    page.keys.insert(pos, entry)
    page.used += LINE_POINTER + len(entry)
    if page.used <= CAPACITY:
        engine.log_change(rel, wal.BTREE_INSERT, 0,
                          _ENTRY.pack(rel.db, rel.filenode, block) + entry, [page])
        return
    at_right_edge = pos == len(page.keys) - 1 and page.next == 0
    changed = _split(engine, rel, block, page, path, at_right_edge)
    engine.log_images(rel, changed)


def _split(engine, rel, block, page, path, at_right_edge) -> list:
    """Split an overflowing page, then its ancestors as needed. Returns the changed
    pages as [(block, page)]."""
    changed = []
    while True:
        keys = page.keys
        at = _split_point(page, at_right_edge)
        right = BTreePage(page.level)
        right_block = _allocate(engine, rel, changed)
        engine.pool.add(rel.file, right_block, right)
        right.keys = keys[at:]
        del keys[at:]
        if page.level:
            right.children = page.children[at:]
            del page.children[at:]
            separator = right.keys[0]
        else:
            right.next = page.next
            page.next = right_block
            separator = _shortest_separator(keys[-1], right.keys[0])
        page.recount()
        right.recount()
        changed += [(block, page), (right_block, right)]
        if not path:
            # The root split: a new root above the two halves.
            root = BTreePage(page.level + 1)
            root_block = _allocate(engine, rel, changed)
            engine.pool.add(rel.file, root_block, root)
            root.keys = [b"", separator]
            root.children = [block, right_block]
            root.recount()
            meta = _meta(engine, rel)
            meta.root = root_block
            changed += [(root_block, root), (0, meta)]
            return changed
        block, page, i = path.pop()
        page.keys.insert(i + 1, separator)
        page.children.insert(i + 1, right_block)
        page.used += page.item_size(separator)
        if page.used <= CAPACITY:
            changed.append((block, page))
            return changed
        at_right_edge = at_right_edge and i + 1 == len(page.keys) - 1


def _split_point(page: BTreePage, at_right_edge: bool) -> int:
    # Half the bytes each (an entry is at most a third of a page, so both halves fit);
    # at the right edge, a full left page and a nearly empty right one.
    target = CAPACITY * LEAF_FILL if at_right_edge else page.used / 2
    size = 0
    for i, key in enumerate(page.keys):
        size += page.item_size(key)
        if size > target:
            return max(1, min(i, len(page.keys) - 1))
    return len(page.keys) - 1


def _shortest_separator(left_last: bytes, right_first: bytes) -> bytes:
    n = 0
    limit = min(len(left_last), len(right_first))
    while n < limit and left_last[n] == right_first[n]:
        n += 1
    return right_first[:n + 1]


def _allocate(engine, rel, changed) -> int:
    meta = _meta(engine, rel)
    if meta.free:
        if not any(b == 0 for b, _ in changed):
            changed.append((0, meta))
        return meta.free.pop()
    return rel.file.nblocks


# -- deleting ----------------------------------------------------------------------------------

def delete(engine, rel, entry: bytes) -> bool:
    """Remove one entry (VACUUM); False if it was not there."""
    block, page, path = _descend(engine, rel, entry)
    i = bisect_left(page.keys, entry)
    if i >= len(page.keys) or page.keys[i] != entry:
        return False
    del page.keys[i]
    page.used -= LINE_POINTER + len(entry)
    if page.used >= MERGE_BELOW or not path:
        engine.log_change(rel, wal.BTREE_DELETE, 0,
                          _ENTRY.pack(rel.db, rel.filenode, block) + entry, [page])
        return True
    engine.log_images(rel, _merge(engine, rel, block, page, path))
    return True


def _merge(engine, rel, block, page, path) -> list:
    """Merge an under-full page with a sibling under the same parent, then the parent
    if that left it under-full. Returns the changed pages."""
    pool = engine.pool
    changed = [(block, page)]
    meta = _meta(engine, rel)
    while path and page.used < MERGE_BELOW:
        parent_block, parent, i = path.pop()
        if len(parent.children) < 2:
            break
        if i + 1 < len(parent.children):
            left_block, left, right_index = block, page, i + 1
        else:
            left_block, right_index = parent.children[i - 1], i
            left = pool.get(rel.file, left_block)
        right_block = parent.children[right_index]
        right = page if right_block == block else pool.get(rel.file, right_block)
        if left.used + right.used > CAPACITY:
            break
        if left.level:
            left.children.extend(right.children)
            right_keys = list(right.keys)
            right_keys[0] = parent.keys[right_index]
            left.keys.extend(right_keys)
        else:
            left.keys.extend(right.keys)
            left.next = right.next
        left.recount()
        del parent.keys[right_index]
        del parent.children[right_index]
        parent.recount()
        right.keys, right.children, right.next = [], [], 0
        right.recount()
        if len(meta.free) < MAX_FREE_LIST:
            meta.free.append(right_block)
        changed = [c for c in changed if c[0] not in (left_block, right_block)]
        changed += [(left_block, left), (right_block, right), (parent_block, parent), (0, meta)]
        block, page = parent_block, parent
    root = pool.get(rel.file, meta.root)
    if root.level and len(root.children) == 1:
        old_root = meta.root
        meta.root = root.children[0]
        root.keys, root.children = [], []
        root.recount()
        if len(meta.free) < MAX_FREE_LIST:
            meta.free.append(old_root)
        changed += [(old_root, root), (0, meta)]
    return list({b: (b, p) for b, p in changed}.values())


# -- building ----------------------------------------------------------------------------------

def build(engine, rel, entries: list[bytes]) -> None:
    """Load sorted entries bottom-up into a new, empty index (CREATE INDEX): leaves
    filled to LEAF_FILL, then each level of separators above them."""
    pool = engine.pool
    limit = CAPACITY * LEAF_FILL
    leaves = [BTreePage(0)]
    for entry in entries:
        if len(entry) > MAX_ENTRY:
            raise EntryTooBig(len(entry))
        size = LINE_POINTER + len(entry)
        page = leaves[-1]
        if page.keys and page.used + size > limit:
            page = BTreePage(0)
            leaves.append(page)
        page.keys.append(entry)
        page.used += size
    written = []

    def place(page, block=None):
        block = rel.file.nblocks if block is None else block
        pool.add(rel.file, block, page)
        written.append((block, page))
        return block
    lower = [(place(leaf, 1 if k == 0 else None), leaf) for k, leaf in enumerate(leaves)]
    for (_, leaf), (following, _) in zip(lower, lower[1:]):
        leaf.next = following
    level = 0
    while len(lower) > 1:
        level += 1
        uppers = [BTreePage(level)]
        for i, (block, page) in enumerate(lower):
            if i == 0:
                separator = b""
            elif level == 1:
                separator = _shortest_separator(lower[i - 1][1].keys[-1], page.keys[0])
            else:
                separator = page.keys[0]     # an internal page's first key is its low bound
            parent = uppers[-1]
            size = parent.item_size(separator)
            if parent.keys and parent.used + size > limit:
                parent = BTreePage(level)
                uppers.append(parent)
            parent.keys.append(separator)
            parent.children.append(block)
            parent.used += size
        lower = [(place(page), page) for page in uppers]
    meta = _meta(engine, rel)
    meta.root = lower[0][0]
    written.append((0, meta))
    engine.log_images(rel, written)


def all_entries(engine, rel) -> list[bytes]:
    """Every entry in order (REINDEX and checks)."""
    pool = engine.pool
    page = pool.get(rel.file, _meta(engine, rel).root)
    while page.level:
        page = pool.get(rel.file, page.children[0])
    out = []
    while True:
        out.extend(page.keys)
        if not page.next:
            return out
        page = pool.get(rel.file, page.next)


# -- redo --------------------------------------------------------------------------------------

def redo(record, access) -> None:
    db, file, block = _ENTRY.unpack_from(record.payload)
    page = access.page((db, file), block, record.end)
    if page is None:
        return
    entry = bytes(record.payload[_ENTRY.size:])
    if record.type == wal.BTREE_INSERT:
        insort(page.keys, entry)
        page.used += LINE_POINTER + len(entry)
    else:
        i = bisect_left(page.keys, entry)
        if i < len(page.keys) and page.keys[i] == entry:
            del page.keys[i]
            page.used -= LINE_POINTER + len(entry)
