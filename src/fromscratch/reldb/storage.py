"""The storage interface the executor runs over, and its in-memory implementation.

The SQL layer sees storage only through these calls, so the storage issue can replace
`MemoryStorage` with paged files, a WAL and MVCC without touching the planner:

    txn = storage.begin()                       a transaction handle
    storage.create_table(table_id)              / drop_table / truncate
    storage.scan(txn, table_id)                 -> iterator of (rowid, row)
    storage.fetch(txn, table_id, rowid)         -> row or None
    storage.insert(txn, table_id, row)          -> rowid
    storage.update(txn, table_id, rowid, row)
    storage.delete(txn, table_id, rowid)
    storage.create_index(txn, index_id, table_id, key_positions, unique)
    storage.index_lookup(txn, index_id, key)    -> iterator of rowids
    txn.savepoint() / txn.rollback_to(mark) / txn.commit() / txn.rollback()

Rows are tuples in column order. A unique index refuses a second row with the same key
(keys holding a NULL are never equal, as in SQL) by raising `UniqueViolation`, which
the executor turns into SQLSTATE 23505 with the constraint's name.

MemoryStorage keeps each table as a dict rowid -> row and each index as a dict key ->
set of rowids (a hash index: equality lookups only). A transaction is an undo log:
rollback replays it backwards. Changes are visible to other sessions at once; isolation
between concurrent transactions is the storage issue's work (MVCC).
"""

from __future__ import annotations

import itertools
import threading
from typing import Callable, Iterator


class UniqueViolation(Exception):
    def __init__(self, index_id: int, key: tuple):
        super().__init__(index_id, key)
        self.index_id = index_id
        self.key = key


class Transaction:
    """A transaction handle: an undo log of closures, plus savepoint marks into it."""

    def __init__(self, txid: int):
        self.txid = txid
        self.undo: list[Callable[[], None]] = []
        self.active = True

    def on_rollback(self, undo: Callable[[], None]) -> None:
        """Register how to undo a change (storage and catalog changes both use this)."""
        self.undo.append(undo)

    def savepoint(self) -> int:
        return len(self.undo)

    def rollback_to(self, mark: int) -> None:
        while len(self.undo) > mark:
            self.undo.pop()()

    def commit(self) -> None:
        self.undo.clear()
        self.active = False

    def rollback(self) -> None:
        self.rollback_to(0)
        self.active = False


class _Index:
    __slots__ = ("table_id", "positions", "unique", "entries")

    def __init__(self, table_id: int, positions: tuple[int, ...], unique: bool):
        self.table_id = table_id
        self.positions = positions
        self.unique = unique
        self.entries: dict[tuple, set[int]] = {}

    def key(self, row: tuple) -> tuple | None:
        if len(self.positions) == 1:        # the common case, kept short
            value = row[self.positions[0]]
            if value is None:
                return None
            return (value,) if value.__class__ not in _UNHASHABLE else freeze((value,))
        key = tuple([row[i] for i in self.positions])
        if None in key:
            return None
        return freeze(key)


_UNHASHABLE = (list, dict)


def freeze(key: tuple) -> tuple:
    """Arrays and JSON objects are lists and dicts: make such keys hashable."""
    for v in key:
        if v.__class__ in _UNHASHABLE:
            return tuple(_frozen(v) for v in key)
    return key


def _frozen(value):
    if isinstance(value, list):
        return ("[]",) + tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return ("{}",) + tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    return value


class _Table:
    __slots__ = ("rows", "indexes")

    def __init__(self):
        self.rows: dict[int, tuple] = {}
        self.indexes: list[int] = []


class MemoryStorage:
    """Tables and hash indexes held in dicts; transactions as undo logs."""

    def __init__(self):
        self.tables: dict[int, _Table] = {}
        self.indexes: dict[int, _Index] = {}
        self._rowids = itertools.count(1)
        self._txids = itertools.count(1)
        # One lock makes each call atomic (a unique check and its insert, say) when
        # sessions run in parallel threads.
        self.lock = threading.RLock()

    # -- transactions --------------------------------------------------------------------

    def begin(self) -> Transaction:
        return Transaction(next(self._txids))

    # -- tables --------------------------------------------------------------------------

    def create_table(self, txn: Transaction, table_id: int) -> None:
        with self.lock:
            self.tables[table_id] = _Table()
        txn.on_rollback(lambda: self.tables.pop(table_id, None))

    def drop_table(self, txn: Transaction, table_id: int) -> None:
        with self.lock:
            table = self.tables.pop(table_id)
            dropped = {i: self.indexes.pop(i) for i in table.indexes}

        def undo():
            self.tables[table_id] = table
            self.indexes.update(dropped)
        txn.on_rollback(undo)

    def truncate(self, txn: Transaction, table_id: int) -> None:
        with self.lock:
            table = self.tables[table_id]
            old_rows = table.rows
            old_entries = {i: self.indexes[i].entries for i in table.indexes}
            table.rows = {}
            for i in table.indexes:
                self.indexes[i].entries = {}

        def undo():
            table.rows = old_rows
            for i, entries in old_entries.items():
                self.indexes[i].entries = entries
        txn.on_rollback(undo)

    def count(self, txn: Transaction, table_id: int) -> int:
        return len(self.tables[table_id].rows)

    def scan(self, txn: Transaction, table_id: int) -> Iterator[tuple[int, tuple]]:
        # A snapshot of the row list, so writes during the scan (ours or another
        # session's) cannot disturb the iteration.
        with self.lock:
            items = list(self.tables[table_id].rows.items())
        return iter(items)

    def fetch(self, txn: Transaction, table_id: int, rowid: int) -> tuple | None:
        return self.tables[table_id].rows.get(rowid)

    def insert(self, txn: Transaction, table_id: int, row: tuple) -> int:
        with self.lock:
            table = self.tables[table_id]
            rowid = next(self._rowids)
            self._add_index_entries(table, rowid, row)
            table.rows[rowid] = row
        txn.on_rollback(lambda: self._undo_insert(table_id, rowid))
        return rowid

    def update(self, txn: Transaction, table_id: int, rowid: int, row: tuple) -> None:
        with self.lock:
            table = self.tables[table_id]
            old = table.rows[rowid]
            self._remove_index_entries(table, rowid, old)
            try:
                self._add_index_entries(table, rowid, row)
            except UniqueViolation:
                self._add_index_entries(table, rowid, old)
                raise
            table.rows[rowid] = row
        txn.on_rollback(lambda: self._restore(table_id, rowid, old))

    def delete(self, txn: Transaction, table_id: int, rowid: int) -> None:
        with self.lock:
            table = self.tables[table_id]
            old = table.rows.pop(rowid)
            self._remove_index_entries(table, rowid, old)
        txn.on_rollback(lambda: self._restore(table_id, rowid, old))

    def rewrite(self, txn: Transaction, table_id: int, transform: Callable[[tuple], tuple]) -> None:
        """Replace every row by transform(row): ADD/DROP COLUMN and type changes."""
        for rowid, row in self.scan(txn, table_id):
            self.update(txn, table_id, rowid, transform(row))

    # -- indexes -------------------------------------------------------------------------

    def create_index(self, txn: Transaction, index_id: int, table_id: int,
                     positions: tuple[int, ...], unique: bool) -> None:
        with self.lock:
            table = self.tables[table_id]
            index = _Index(table_id, tuple(positions), unique)
            for rowid, row in table.rows.items():
                key = index.key(row)
                if key is None:
                    continue
                holders = index.entries.setdefault(key, set())
                if unique and holders:
                    raise UniqueViolation(index_id, tuple(row[i] for i in positions))
                holders.add(rowid)
            self.indexes[index_id] = index
            table.indexes.append(index_id)
        txn.on_rollback(lambda: self._undo_create_index(index_id, table_id))

    def drop_index(self, txn: Transaction, index_id: int) -> None:
        with self.lock:
            index = self.indexes.pop(index_id)
            self.tables[index.table_id].indexes.remove(index_id)

        def undo():
            self.indexes[index_id] = index
            self.tables[index.table_id].indexes.append(index_id)
        txn.on_rollback(undo)

    def index_lookup(self, txn: Transaction, index_id: int, key: tuple) -> Iterator[int]:
        if None in key:
            return iter(())
        holders = self.indexes[index_id].entries.get(freeze(key))
        return iter(list(holders)) if holders else iter(())

    # -- internals -----------------------------------------------------------------------

    def _add_index_entries(self, table: _Table, rowid: int, row: tuple) -> None:
        added = []
        try:
            for index_id in table.indexes:
                index = self.indexes[index_id]
                key = index.key(row)
                if key is None:
                    continue
                holders = index.entries.get(key)
                if holders is None:
                    index.entries[key] = {rowid}
                else:
                    if index.unique and holders - {rowid}:
                        raise UniqueViolation(index_id, tuple(row[i] for i in index.positions))
                    holders.add(rowid)
                added.append((index, key))
        except UniqueViolation:
            for index, key in added:
                index.entries[key].discard(rowid)
                if not index.entries[key]:
                    del index.entries[key]
            raise

    def _remove_index_entries(self, table: _Table, rowid: int, row: tuple) -> None:
        for index_id in table.indexes:
            index = self.indexes[index_id]
            key = index.key(row)
            if key is None:
                continue
            holders = index.entries.get(key)
            if holders is not None:
                holders.discard(rowid)
                if not holders:
                    del index.entries[key]

    def _undo_insert(self, table_id: int, rowid: int) -> None:
        table = self.tables.get(table_id)
        if table is not None and rowid in table.rows:
            self._remove_index_entries(table, rowid, table.rows.pop(rowid))

    def _restore(self, table_id: int, rowid: int, old: tuple) -> None:
        table = self.tables.get(table_id)
        if table is None:
            return
        current = table.rows.get(rowid)
        if current is not None:
            self._remove_index_entries(table, rowid, current)
        self._add_index_entries(table, rowid, old)
        table.rows[rowid] = old

    def _undo_create_index(self, index_id: int, table_id: int) -> None:
        self.indexes.pop(index_id, None)
        table = self.tables.get(table_id)
        if table is not None and index_id in table.indexes:
            table.indexes.remove(index_id)
