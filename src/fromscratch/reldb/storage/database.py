"""The storage interface one database presents to the SQL layer.

    txn = storage.begin()                       a transaction (storage/transactions.py)
    storage.create_table(txn, table_id)         / drop_table / truncate
    storage.scan(txn, table_id)                 -> iterator of (rowid, row)
    storage.fetch(txn, table_id, rowid)         -> row or None
    storage.insert(txn, table_id, row)          -> rowid
    storage.update(txn, table_id, rowid, row)   -> the new version's rowid
    storage.delete(txn, table_id, rowid)
    storage.lock_row(txn, table_id, rowid)      SELECT ... FOR UPDATE
    storage.create_index(txn, index_id, table_id, positions, unique, descending)
    storage.drop_index(txn, index_id) / reindex(txn, index_id)
    storage.index_lookup(txn, index_id, key)    -> rowids of the rows with that key
    storage.index_rows(txn, index_id, key)      -> [(rowid, row)]
    storage.index_scan(txn, index_id, ...)      -> (rowid, row) in index order, in a range
    storage.vacuum(table_id) / analyze(txn, table_id)

A rowid names one version of a row (its tuple id). Every read sees the rows visible to
the transaction's snapshot; every write stamps the transaction's xid.

Writers and concurrency, as in PostgreSQL:
* changing a row another transaction has changed and not yet committed waits for it;
* if that transaction committed after the snapshot was taken: READ COMMITTED raises
  RowChanged with the newest version, which the statement re-checks and retries on;
  REPEATABLE READ and SERIALIZABLE fail with 40001;
* a unique index refuses a key held by a committed row, and waits for an uncommitted
  one's transaction to end (keys holding a NULL never conflict); UniqueViolation;
* tables are locked (locks.py) for the whole transaction: reads share, writes share
  with each other, DDL is exclusive.
"""

from __future__ import annotations

from . import btree, heap
from .engine import RELMAP
from .keycodec import VALUE, decode_tid, encode_key, encode_tid, successor
from .locks import ACCESS_EXCLUSIVE, ACCESS_SHARE, ROW_EXCLUSIVE, ROW_SHARE, SHARE
from .mvcc import ABORTED, COMMITTED, dead_to_all, visible
from .pages import HEAP_ONLY, XMAX_LOCK_ONLY, HeapTuple
from .relation import BTREE, HEAP, Relation, decode_map
from .transactions import READ_COMMITTED
from ..errors import SERIALIZATION_FAILURE, SqlError

PROGRAM_LIMIT_EXCEEDED = "54000"
SCAN_BATCH = 64


class UniqueViolation(Exception):
    def __init__(self, index_id: int, key: tuple):
        super().__init__(index_id, key)
        self.index_id = index_id
        self.key = key


class RowChanged(Exception):
    """READ COMMITTED: the row version a statement went to change was updated or
    deleted by a transaction that committed meanwhile. `rowid` and `row` are the newer
    version (None if the row was deleted): the statement checks its condition on it and,
    if it still holds, retries there."""

    def __init__(self, rowid: int | None, row: tuple | None):
        super().__init__(rowid)
        self.rowid = rowid
        self.row = row


class RowLocked(Exception):
    """SELECT ... FOR UPDATE NOWAIT met a row another transaction holds."""


class DatabaseStorage:
    def __init__(self, engine, oid: int):
        self.engine = engine
        self.oid = oid
        self.relations: dict[int, Relation] = decode_map(oid, engine.images.get((oid, RELMAP)))
        for rel in self.relations.values():
            rel.file = engine.files.get(rel.key)
            rel.target = rel.file.nblocks - 1
            saved = engine.stats.get(f"{oid}/{rel.oid}")
            if saved:
                rel.live, rel.dead, rel.stats = saved["live"], saved["dead"], saved["stats"]

    def begin(self, pid: int = 0):
        return self.engine.begin(pid)

    # -- locks -----------------------------------------------------------------------------------

    def lock_catalog(self, txn) -> None:
        """DDL in this database: one transaction at a time changes its catalog, so the
        catalog saved at a commit holds no other transaction's uncommitted changes."""
        with self.engine.latch:
            self.engine.locks.lock(txn, -self.oid, ACCESS_EXCLUSIVE, "the catalog")

    def lock_table(self, txn, table_id: int, mode: int, nowait: bool = False) -> None:
        """LOCK TABLE: take a table lock until the transaction ends."""
        with self.engine.latch:
            self.engine.locks.lock(txn, table_id, mode, nowait=nowait)

    # -- tables --------------------------------------------------------------------------------

    def _new_relation(self, txn, oid: int, kind: str) -> Relation:
        engine = self.engine
        rel = Relation(oid, self.oid, kind, engine.new_filenode())
        rel.file = engine.files.get(rel.key)
        rel.logged = False
        txn.new_files.append((rel, rel.key))
        return rel

    def _discard_file(self, txn, rel: Relation, key) -> None:
        """Undo of making a file: forget it and remove it."""
        if (rel, key) in txn.new_files:
            txn.new_files.remove((rel, key))
        self.engine._remove_file(key)

    def _changed(self, txn) -> None:
        txn.changed_maps.add(self.oid)

    def create_table(self, txn, table_id: int) -> None:
        with self.engine.latch:
            self.engine.locks.lock(txn, table_id, ACCESS_EXCLUSIVE)
            txn.write_xid()
            rel = self._new_relation(txn, table_id, HEAP)
            self.relations[table_id] = rel
            self._changed(txn)

        def undo():
            with self.engine.latch:
                self.relations.pop(table_id, None)
                self._discard_file(txn, rel, rel.key)
        txn.on_rollback(undo)

    def drop_table(self, txn, table_id: int) -> None:
        with self.engine.latch:
            self.engine.locks.lock(txn, table_id, ACCESS_EXCLUSIVE)
            txn.write_xid()
            rel = self.relations.pop(table_id)
            removed = [rel] + list(rel.indexes)
            for index in rel.indexes:
                self.relations.pop(index.oid, None)
            keys = [r.key for r in removed]
            txn.dropped_files.extend(keys)
            self._changed(txn)

        def undo():
            with self.engine.latch:
                for r in removed:
                    self.relations[r.oid] = r
                for key in keys:
                    txn.dropped_files.remove(key)
        txn.on_rollback(undo)

    def truncate(self, txn, table_id: int) -> None:
        """A new, empty file for the table and each of its indexes; the old files go
        when the transaction commits."""
        engine = self.engine
        with engine.latch:
            engine.locks.lock(txn, table_id, ACCESS_EXCLUSIVE)
            txn.write_xid()
            rel = self.relations[table_id]
            saved = []
            for r in [rel] + list(rel.indexes):
                saved.append((r, r.filenode, r.file, r.logged, r.target, r.fsm, r.live, r.dead))
                txn.dropped_files.append(r.key)
                r.filenode = engine.new_filenode()
                r.file = engine.files.get(r.key)
                r.logged = False
                r.target, r.fsm, r.live, r.dead = -1, set(), 0, 0
                txn.new_files.append((r, r.key))
                if r.kind == BTREE:
                    btree.create(engine, r)
            self._changed(txn)

        def undo():
            with engine.latch:
                for r, filenode, f, logged, target, fsm, live, dead in saved:
                    self._discard_file(txn, r, r.key)
                    txn.dropped_files.remove((r.db, filenode))
                    r.filenode, r.file, r.logged = filenode, f, logged
                    r.target, r.fsm, r.live, r.dead = target, fsm, live, dead
        txn.on_rollback(undo)

    def count(self, txn, table_id: int) -> int:
        """An estimate of the live rows (kept up to date by writes and VACUUM)."""
        rel = self.relations.get(table_id)
        return max(rel.live, 0) if rel is not None else 0

    def relation_size(self, rel_id: int) -> int:
        rel = self.relations.get(rel_id)
        return rel.file.nblocks * 8192 if rel is not None else 0

    def table_stats(self, table_id: int) -> dict:
        rel = self.relations.get(table_id)
        if rel is None:
            return {}
        return dict(rel.stats, live=max(rel.live, 0))

    # -- reading -------------------------------------------------------------------------------

    def _begin_read(self, txn, rel: Relation):
        if rel.oid not in txn.table_locks:
            self.engine.locks.lock(txn, rel.oid, ACCESS_SHARE)
        return txn.get_snapshot()

    def scan(self, txn, table_id: int):
        engine = self.engine
        with engine.latch:
            rel = self.relations[table_id]
            snap = self._begin_read(txn, rel)
            nblocks = rel.file.nblocks
            if txn.serializable is not None:
                engine.serializable.read_relation(txn, rel.oid)
        clog = engine.clog.status
        pool = engine.pool
        for block in range(nblocks):
            with engine.latch:
                rows = heap.scan_page(pool, rel, block, snap, clog)
                if txn.serializable is not None:
                    engine.serializable.read_page(txn, rel, block, snap)
            yield from rows

    def fetch(self, txn, table_id: int, rowid: int):
        engine = self.engine
        with engine.latch:
            rel = self.relations[table_id]
            snap = self._begin_read(txn, rel)
            _, t = heap.version(engine.pool, rel, rowid)
            if t is None or not visible(t, snap, engine.clog.status):
                return None
            return heap.row_of(t)

    def index_lookup(self, txn, index_id: int, key: tuple) -> list[int]:
        return [rowid for rowid, _ in self.index_rows(txn, index_id, key)]

    def index_rows(self, txn, index_id: int, key: tuple) -> list:
        """The visible rows whose leading index columns equal `key`: [(rowid, row)]."""
        if None in key:
            return []
        engine = self.engine
        with engine.latch:
            index = self.relations[index_id]
            table = index.table
            snap = self._begin_read(txn, table)
            desc = index.descending
            prefix = encode_key(key, desc[:len(key)] if desc else None)
            entries = btree.prefix_entries(engine, index, prefix)
            if txn.serializable is not None:
                engine.serializable.read_key(txn, index.oid, prefix)
            return self._visible_rows(txn, index, entries, snap)

    def _visible_rows(self, txn, index: Relation, entries: list[bytes], snap) -> list:
        """The row each entry leads to, when the snapshot sees a version of it whose key
        is the entry's own (a chain's versions may differ in columns an index added
        after them keys on)."""
        engine = self.engine
        pool, clog, table, desc = engine.pool, engine.clog.status, index.table, index.descending
        positions = index.positions
        out = []
        ssi = txn.serializable
        for entry in entries:
            found = heap.fetch_visible(pool, table, decode_tid(entry), snap, clog)
            if found is None:
                continue
            tid, t = found
            row = t.row
            if row is None:
                row = t.row = heap.decode_row(t.data)
            key = encode_key(tuple([row[i] for i in positions]), desc)
            if len(entry) - len(key) != 6 or not entry.startswith(key):
                continue
            if ssi is not None:
                engine.serializable.read_version(txn, table, tid, t, snap)
            out.append((tid, row))
        return out

    def index_scan(self, txn, index_id: int, prefix: tuple = (), low=None, low_inclusive=True,
                   high=None, high_inclusive=True, reverse: bool = False):
        """(rowid, row) in index order (reversed if asked): rows whose leading columns
        equal `prefix` and whose next column lies between `low` and `high` (each bound
        None for open; NULLs are left out when a bound is given)."""
        engine = self.engine
        with engine.latch:
            index = self.relations[index_id]
            snap = self._begin_read(txn, index.table)
            if txn.serializable is not None:
                engine.serializable.read_relation(txn, index.oid)
        if None in prefix:
            return
        desc = index.descending or (False,) * len(index.positions)
        start = encode_key(prefix, desc[:len(prefix)])
        stop = successor(start)
        if low is not None or high is not None:
            column_desc = desc[len(prefix)]
            marker = VALUE if not column_desc else bytes((255 - VALUE[0],))
            start, stop = start + marker, successor(start + marker)
            # In a DESC column's bytes the order is reversed: the SQL low bound is the
            # byte range's upper end.
            bounds = [(low, low_inclusive, column_desc), (high, high_inclusive, not column_desc)]
            for value, inclusive, is_upper in bounds:
                if value is None:
                    continue
                edge = encode_key(prefix + (value,), desc[:len(prefix) + 1])
                if is_upper:
                    limit = successor(edge) if inclusive else edge
                    stop = limit if stop is None or limit < stop else stop
                else:
                    limit = edge if inclusive else successor(edge)
                    start = max(start, limit)
        yield from self._ordered_rows(txn, index, snap, start, stop, reverse)

    def _ordered_rows(self, txn, index, snap, start: bytes, stop: bytes | None, reverse: bool):
        engine = self.engine
        after = None
        before = stop
        while True:
            with engine.latch:
                if reverse:
                    entries = btree.entries_before(engine, index, before, SCAN_BATCH)
                    cut = [e for e in entries if e >= start]
                else:
                    entries = btree.entries_after(engine, index, after, start, SCAN_BATCH)
                    cut = [e for e in entries if stop is None or e < stop]
                rows = self._visible_rows(txn, index, cut, snap)
            yield from rows
            if len(cut) < len(entries) or len(entries) < SCAN_BATCH:
                return
            if reverse:
                before = entries[-1]
            else:
                after = entries[-1]

    # -- writing -------------------------------------------------------------------------------

    def _begin_write(self, txn, rel: Relation) -> int:
        if not txn.table_locks.get(rel.oid, 0) & (1 << ROW_EXCLUSIVE):
            self.engine.locks.lock(txn, rel.oid, ROW_EXCLUSIVE)
        txn.get_snapshot()
        return txn.write_xid()

    def insert(self, txn, table_id: int, row: tuple) -> int:
        engine = self.engine
        with engine.latch:
            rel = self.relations[table_id]
            xid = self._begin_write(txn, rel)
            keys = self._index_keys(rel, row)
            while (holder := self._unique_conflict(txn, rel, keys, None)) is not None:
                engine.wait_for_xid(txn, holder)
            tid = heap.insert(engine, rel, xid, row)
            self._insert_entries(rel, keys, tid)
            rel.live += 1
            if engine.serializable.active:
                engine.serializable.wrote(txn, rel, keys, None)
            return tid

    def update(self, txn, table_id: int, rowid: int, row: tuple) -> int:
        engine = self.engine
        with engine.latch:
            rel = self.relations[table_id]
            xid = self._begin_write(txn, rel)
            while True:
                page, old = self._writable_version(txn, rel, rowid)
                if old is None:
                    return rowid           # already changed by this very statement
                old_row = heap.row_of(old)
                keys = self._index_keys(rel, row)
                changed = [k for k in keys if k[1] != self._entry_key(k[0], old_row)]
                holder = self._unique_conflict(txn, rel, changed, rowid)
                if holder is None:
                    break
                engine.wait_for_xid(txn, holder)       # then look at the row again
            new_tid, hot = heap.update(engine, rel, page, rowid, old, xid, row,
                                       hot_allowed=not changed)
            if not hot:
                self._insert_entries(rel, keys, new_tid)
            rel.dead += 1
            if engine.serializable.active:
                engine.serializable.wrote(txn, rel, changed, rowid)
            return new_tid

    def delete(self, txn, table_id: int, rowid: int) -> None:
        engine = self.engine
        with engine.latch:
            rel = self.relations[table_id]
            xid = self._begin_write(txn, rel)
            page, old = self._writable_version(txn, rel, rowid)
            if old is None:
                return
            heap.set_xmax(engine, rel, page, rowid, old, xid, lock_only=False)
            rel.live -= 1
            rel.dead += 1
            if engine.serializable.active:
                engine.serializable.wrote(txn, rel, (), rowid)

    def lock_row(self, txn, table_id: int, rowid: int, wait: str = "wait") -> bool:
        """SELECT ... FOR UPDATE (and FOR SHARE, which takes the same exclusive lock).
        `wait`: "wait" for a holder to finish, "nowait" (raise RowLocked) or "skip"
        (return False)."""
        engine = self.engine
        with engine.latch:
            rel = self.relations[table_id]
            if not txn.table_locks.get(rel.oid, 0) & (1 << ROW_SHARE):
                engine.locks.lock(txn, rel.oid, ROW_SHARE)
            xid = txn.write_xid()
            page, old = self._writable_version(txn, rel, rowid, wait)
            if page is None and old is not None:
                return False
            if old is None or old.xmax in txn.live_xids:
                return True
            heap.set_xmax(engine, rel, page, rowid, old, xid, lock_only=True)
            return True

    def rewrite(self, txn, table_id: int, transform) -> None:
        """Replace every row by transform(row): ADD/DROP COLUMN and type changes."""
        for rowid, row in list(self.scan(txn, table_id)):
            self.update(txn, table_id, rowid, transform(row))

    def _writable_version(self, txn, rel: Relation, rowid: int, wait: str = "wait"):
        """The version at `rowid`, once no other transaction holds it: (page, tuple), or
        (None, None) if this transaction already replaced or deleted it. Raises
        RowChanged (READ COMMITTED) or 40001 if a committed transaction did. If another
        transaction holds it and `wait` is "nowait", raises RowLocked; if "skip",
        returns (None, the tuple)."""
        engine = self.engine
        while True:
            page, t = heap.version(engine.pool, rel, rowid)
            if t is None:
                raise RowChanged(None, None)
            xmax = t.xmax
            if not xmax:
                return page, t
            if xmax in txn.live_xids:
                return (page, t) if t.flags & XMAX_LOCK_ONLY else (None, None)
            if xmax in engine.running:
                if wait == "skip":
                    return None, t
                if wait == "nowait":
                    raise RowLocked()
                engine.wait_for_xid(txn, xmax)
                continue
            status = engine.clog.get(xmax)
            if status == ABORTED or t.flags & XMAX_LOCK_ONLY:
                return page, t
            deleted = t.ctid == rowid
            if txn.isolation != READ_COMMITTED:
                raise SqlError(SERIALIZATION_FAILURE, "could not serialize access due to "
                               "concurrent " + ("delete" if deleted else "update"))
            if deleted:
                raise RowChanged(None, None)
            _, newer = heap.version(engine.pool, rel, t.ctid)
            raise RowChanged(t.ctid, heap.row_of(newer) if newer is not None else None)

    # -- index entries ---------------------------------------------------------------------------

    def _index_keys(self, rel: Relation, row: tuple) -> list:
        """[(index, encoded key, does the key hold a NULL)] for each index of the table."""
        out = []
        for index in rel.indexes:
            values = tuple([row[i] for i in index.positions])
            out.append((index, encode_key(values, index.descending), None in values))
        return out

    @staticmethod
    def _entry_key(index: Relation, row: tuple) -> bytes:
        return encode_key(tuple([row[i] for i in index.positions]), index.descending)

    def _insert_entries(self, rel: Relation, keys: list, tid: int) -> None:
        engine = self.engine
        suffix = encode_tid(tid)
        for index, key, _ in keys:
            try:
                btree.insert(engine, index, key + suffix)
            except btree.EntryTooBig as exc:
                raise SqlError(PROGRAM_LIMIT_EXCEEDED, f"index row size {exc.size} exceeds "
                               f"btree version 4 maximum {btree.MAX_ENTRY} for index") from None

    def _unique_conflict(self, txn, rel: Relation, keys: list, replacing: int | None):
        """Check the keys of a row about to be written against the unique indexes.
        Raises UniqueViolation if a live row holds one; returns the xid of a running
        transaction whose row holds one (wait for it, then check again); None if all
        are free. Keys holding a NULL never conflict."""
        engine = self.engine
        pool, clog, running = engine.pool, engine.clog, engine.running
        for index, key, has_null in keys:
            if not index.unique or has_null:
                continue
            for entry in btree.prefix_entries(engine, index, key):
                for tid, t in heap.chain_versions(pool, rel, decode_tid(entry)):
                    if tid == replacing:
                        continue
                    row = heap.row_of(t)
                    if self._entry_key(index, row) != key:
                        continue
                    holder = _live_holder(t, txn, clog, running)
                    if holder is _LIVE:
                        raise UniqueViolation(index.oid, index.index_key(row))
                    if holder:
                        return holder
        return None

    # -- indexes -------------------------------------------------------------------------------

    def create_index(self, txn, index_id: int, table_id: int, positions, unique: bool,
                     descending=None) -> None:
        engine = self.engine
        with engine.latch:
            engine.locks.lock(txn, table_id, SHARE)
            txn.write_xid()
            table = self.relations[table_id]
            index = self._new_relation(txn, index_id, BTREE)
            index.table = table
            index.positions = tuple(positions)
            index.unique = unique
            index.descending = tuple(descending) if descending and any(descending) else None
            btree.create(engine, index)
            self._build(txn, index)
            table.indexes.append(index)
            self.relations[index_id] = index
            self._changed(txn)

        def undo():
            with engine.latch:
                self.relations.pop(index_id, None)
                if index in table.indexes:
                    table.indexes.remove(index)
                self._discard_file(txn, index, index.key)
        txn.on_rollback(undo)

    def _build(self, txn, index: Relation) -> None:
        """Fill a new index from its table: an entry for each distinct key among the
        versions of each row some snapshot may still see, pointing at the row's chain."""
        engine = self.engine
        table = index.table
        oldest = engine.oldest_xmin()
        clog = engine.clog.status
        entries = []
        current_keys = {}
        for block in range(table.file.nblocks):
            # Nothing from the pages before is kept: let the pool evict them (a table
            # larger than the pool is read through it).
            engine.pool.new_section()
            page = engine.pool.get(table.file, block)
            if page is None:
                continue
            for slot, item in enumerate(page.items):
                if not (item.__class__ is int or (item.__class__ is HeapTuple
                                                  and not item.flags & HEAP_ONLY)):
                    continue
                root = block << 16 | slot
                keys = set()
                for _, t in heap.chain_versions(engine.pool, table, root):
                    if dead_to_all(t, oldest, clog):
                        continue
                    row = heap.row_of(t)
                    values = index.index_key(row)
                    key = encode_key(values, index.descending)
                    keys.add(key)
                    if index.unique and _is_current(t, txn, engine.clog) and None not in values:
                        if key in current_keys:
                            raise UniqueViolation(index.oid, index.index_key(row))
                        current_keys[key] = root
                suffix = encode_tid(root)
                entries.extend(key + suffix for key in keys)
        entries.sort()
        try:
            btree.build(engine, index, entries)
        except btree.EntryTooBig as exc:
            raise SqlError(PROGRAM_LIMIT_EXCEEDED, f"index row size {exc.size} exceeds btree "
                           f"version 4 maximum {btree.MAX_ENTRY} for index") from None

    def drop_index(self, txn, index_id: int) -> None:
        engine = self.engine
        with engine.latch:
            index = self.relations[index_id]
            table = index.table
            engine.locks.lock(txn, table.oid, ACCESS_EXCLUSIVE)
            txn.write_xid()
            del self.relations[index_id]
            table.indexes.remove(index)
            txn.dropped_files.append(index.key)
            self._changed(txn)

        def undo():
            with engine.latch:
                self.relations[index_id] = index
                table.indexes.append(index)
                txn.dropped_files.remove(index.key)
        txn.on_rollback(undo)

    def reindex(self, txn, index_id: int) -> None:
        """Rebuild an index into a new file."""
        engine = self.engine
        with engine.latch:
            index = self.relations[index_id]
            engine.locks.lock(txn, index.table.oid, ACCESS_EXCLUSIVE)
            txn.write_xid()
            old = (index.filenode, index.file, index.logged)
            txn.dropped_files.append(index.key)
            index.filenode = engine.new_filenode()
            index.file = engine.files.get(index.key)
            index.logged = False
            txn.new_files.append((index, index.key))
            btree.create(engine, index)
            self._build(txn, index)
            self._changed(txn)

        def undo():
            with engine.latch:
                self._discard_file(txn, index, index.key)
                txn.dropped_files.remove((index.db, old[0]))
                index.filenode, index.file, index.logged = old
        txn.on_rollback(undo)

    # -- maintenance ---------------------------------------------------------------------------

    def vacuum(self, table_id: int) -> dict:
        from .vacuum import vacuum
        return vacuum(self.engine, self.relations[table_id])

    def analyze(self, txn, table_id: int) -> dict:
        from .vacuum import analyze
        return analyze(self, txn, self.relations[table_id])

    def log_sequence(self, txn, seq_oid: int, value: int, called: bool) -> None:
        self.engine.log_sequence(txn, self.oid, seq_oid, value, called)

    def sequence_state(self, seq_oid: int):
        return self.engine.sequences.get((self.oid, seq_oid))


_LIVE = "live"


def _live_holder(t, txn, clog, running):
    """For a unique check: does version `t` hold its key? _LIVE (a live row: a
    violation), an xid to wait for (its insert or delete is still in progress), or
    None (the version is dead, or deleted by this transaction)."""
    xmin = t.xmin
    if xmin not in txn.live_xids:
        if xmin in running:
            return xmin
        if clog.get(xmin) != COMMITTED:
            return None
    xmax = t.xmax
    if not xmax or t.flags & XMAX_LOCK_ONLY:
        return _LIVE
    if xmax in txn.live_xids:
        return None
    if xmax in running:
        return xmax
    return None if clog.get(xmax) == COMMITTED else _LIVE


def _is_current(t, txn, clog) -> bool:
    """Is `t` the live version of its row (not deleted, creator committed or us)?"""
    if t.xmin not in txn.live_xids and clog.get(t.xmin) != COMMITTED:
        return False
    xmax = t.xmax
    return not xmax or bool(t.flags & XMAX_LOCK_ONLY) or clog.get(xmax) == ABORTED
