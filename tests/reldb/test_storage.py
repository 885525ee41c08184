"""The storage interface on its own: rows, unique and plain indexes, and transactions
as undo logs (rollback, savepoints), as the SQL layer relies on them."""

import pytest

from fromscratch.reldb.storage import MemoryStorage, UniqueViolation


@pytest.fixture
def store():
    s = MemoryStorage()
    txn = s.begin()
    s.create_table(txn, 1)
    s.create_index(txn, 10, 1, (0,), unique=True)
    s.create_index(txn, 11, 1, (1,), unique=False)
    txn.commit()
    return s


def rows(store):
    return sorted((row for _, row in store.scan(store.begin(), 1)), key=repr)


def test_insert_scan_fetch(store):
    txn = store.begin()
    rid = store.insert(txn, 1, (1, "a"))
    store.insert(txn, 1, (2, "a"))
    assert store.fetch(txn, 1, rid) == (1, "a")
    assert rows(store) == [(1, "a"), (2, "a")]
    assert sorted(store.index_lookup(txn, 11, ("a",))) == sorted(
        rid for rid, row in store.scan(txn, 1))


def test_unique_index_refuses_duplicates_but_not_nulls(store):
    txn = store.begin()
    store.insert(txn, 1, (1, "a"))
    with pytest.raises(UniqueViolation) as info:
        store.insert(txn, 1, (1, "b"))
    assert info.value.index_id == 10 and info.value.key == (1,)
    store.insert(txn, 1, (None, "c"))
    store.insert(txn, 1, (None, "d"))
    assert len(rows(store)) == 3


def test_update_moves_index_entries(store):
    txn = store.begin()
    rid = store.insert(txn, 1, (1, "a"))
    other = store.insert(txn, 1, (2, "b"))
    store.update(txn, 1, rid, (3, "a"))
    assert list(store.index_lookup(txn, 10, (1,))) == []
    assert list(store.index_lookup(txn, 10, (3,))) == [rid]
    with pytest.raises(UniqueViolation):
        store.update(txn, 1, other, (3, "b"))
    assert store.fetch(txn, 1, other) == (2, "b")           # a failed update changes nothing
    assert list(store.index_lookup(txn, 10, (2,))) == [other]


def test_rollback_and_savepoints(store):
    txn = store.begin()
    store.insert(txn, 1, (1, "a"))
    txn.commit()
    txn = store.begin()
    rid = next(rid for rid, _ in store.scan(txn, 1))
    store.update(txn, 1, rid, (1, "changed"))
    mark = txn.savepoint()
    store.insert(txn, 1, (2, "b"))
    store.delete(txn, 1, rid)
    txn.rollback_to(mark)
    assert rows(store) == [(1, "changed")]
    txn.rollback()
    assert rows(store) == [(1, "a")]
    assert list(store.index_lookup(store.begin(), 10, (2,))) == []


def test_truncate_and_drop_roll_back(store):
    txn = store.begin()
    store.insert(txn, 1, (1, "a"))
    txn.commit()
    txn = store.begin()
    store.truncate(txn, 1)
    assert rows(store) == []
    txn.rollback()
    assert rows(store) == [(1, "a")]
    txn = store.begin()
    store.drop_table(txn, 1)
    txn.rollback()
    assert list(store.index_lookup(store.begin(), 10, (1,)))


def test_creating_a_unique_index_over_duplicates_fails(store):
    txn = store.begin()
    store.insert(txn, 1, (1, "x"))
    store.insert(txn, 1, (2, "x"))
    with pytest.raises(UniqueViolation):
        store.create_index(txn, 12, 1, (1,), unique=True)


def test_scan_is_a_snapshot(store):
    txn = store.begin()
    for i in range(5):
        store.insert(txn, 1, (i, "v"))
    seen = 0
    for rid, row in store.scan(txn, 1):
        store.delete(txn, 1, rid)            # changing the table while scanning it
        seen += 1
    assert seen == 5 and rows(store) == []
