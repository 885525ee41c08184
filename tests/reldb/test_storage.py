"""The storage interface on its own: rows, unique and plain indexes, transactions with
savepoints, visibility between transactions, and data surviving a restart."""

import pytest

from fromscratch.reldb.storage import StorageEngine, UniqueViolation


@pytest.fixture
def engine(tmp_path):
    e = StorageEngine(str(tmp_path / "data"), cache_bytes=1 << 20, autovacuum=False)
    e.open()
    yield e
    e.close()


@pytest.fixture
def store(engine):
    s = engine.database(5)
    txn = s.begin()
    s.create_table(txn, 1)
    s.create_index(txn, 10, 1, (0,), unique=True)
    s.create_index(txn, 11, 1, (1,), unique=False)
    txn.commit()
    return s


def begin(store):
    txn = store.begin()
    txn.begin_statement("read committed")
    return txn


def rows(store, txn=None):
    """The rows `txn` sees (by default, a new transaction's, which then ends)."""
    own = txn is None
    txn = txn or begin(store)
    out = sorted((row for _, row in store.scan(txn, 1)), key=repr)
    if own:
        txn.commit()
    return out


def test_insert_scan_fetch(store):
    txn = begin(store)
    rid = store.insert(txn, 1, (1, "a"))
    store.insert(txn, 1, (2, "a"))
    assert store.fetch(txn, 1, rid) == (1, "a")
    assert rows(store, txn) == [(1, "a"), (2, "a")]
    assert sorted(store.index_lookup(txn, 11, ("a",))) == sorted(
        rid for rid, row in store.scan(txn, 1))


def test_unique_index_refuses_duplicates_but_not_nulls(store):
    txn = begin(store)
    store.insert(txn, 1, (1, "a"))
    with pytest.raises(UniqueViolation) as info:
        store.insert(txn, 1, (1, "b"))
    assert info.value.index_id == 10 and info.value.key == (1,)
    store.insert(txn, 1, (None, "c"))
    store.insert(txn, 1, (None, "d"))
    assert len(rows(store, txn)) == 3


def test_update_moves_index_entries(store):
    txn = begin(store)
    rid = store.insert(txn, 1, (1, "a"))
    other = store.insert(txn, 1, (2, "b"))
    rid = store.update(txn, 1, rid, (3, "a"))
    assert store.index_lookup(txn, 10, (1,)) == []
    assert store.index_lookup(txn, 10, (3,)) == [rid]
    with pytest.raises(UniqueViolation):
        store.update(txn, 1, other, (3, "b"))
    assert store.fetch(txn, 1, other) == (2, "b")           # a failed update changes nothing
    assert store.index_lookup(txn, 10, (2,)) == [other]


def test_rollback_and_savepoints(store):
    txn = begin(store)
    store.insert(txn, 1, (1, "a"))
    txn.commit()
    txn = begin(store)
    rid = next(rid for rid, _ in store.scan(txn, 1))
    rid = store.update(txn, 1, rid, (1, "changed"))
    mark = txn.savepoint()
    store.insert(txn, 1, (2, "b"))
    store.delete(txn, 1, rid)
    txn.rollback_to(mark)
    assert rows(store, txn) == [(1, "changed")]
    txn.rollback()
    assert rows(store) == [(1, "a")]
    reader = begin(store)
    assert store.index_lookup(reader, 10, (2,)) == []
    reader.commit()


def test_truncate_and_drop_roll_back(store):
    txn = begin(store)
    store.insert(txn, 1, (1, "a"))
    txn.commit()
    txn = begin(store)
    store.truncate(txn, 1)
    assert rows(store, txn) == []
    txn.rollback()
    assert rows(store) == [(1, "a")]
    txn = begin(store)
    store.drop_table(txn, 1)
    txn.rollback()
    assert rows(store) == [(1, "a")]


def test_creating_a_unique_index_over_duplicates_fails(store):
    txn = begin(store)
    store.insert(txn, 1, (1, "x"))
    store.insert(txn, 1, (2, "x"))
    with pytest.raises(UniqueViolation):
        store.create_index(txn, 12, 1, (1,), unique=True)


def test_scan_sees_its_snapshot(store):
    txn = begin(store)
    for i in range(5):
        store.insert(txn, 1, (i, "v"))
    seen = 0
    for rid, row in store.scan(txn, 1):
        store.delete(txn, 1, rid)            # changing the table while scanning it
        seen += 1
    assert seen == 5 and rows(store, txn) == []


def test_uncommitted_rows_are_invisible_to_others(store):
    writer = begin(store)
    store.insert(writer, 1, (1, "a"))
    reader = begin(store)
    assert rows(store, reader) == []
    writer.commit()
    assert rows(store, reader) == []         # the same statement's snapshot
    reader.begin_statement("read committed")
    assert rows(store, reader) == [(1, "a")]


def test_committed_data_survives_a_restart(tmp_path):
    path = str(tmp_path / "data")
    engine = StorageEngine(path, autovacuum=False)
    engine.open()
    store = engine.database(5)
    txn = store.begin()
    store.create_table(txn, 1)
    store.create_index(txn, 10, 1, (0,), unique=True)
    txn.commit()
    txn = begin(store)
    for i in range(1000):
        store.insert(txn, 1, (i, f"row {i}"))
    txn.commit()
    engine.close()
    engine = StorageEngine(path, autovacuum=False)
    engine.open()
    store = engine.database(5)
    txn = begin(store)
    assert len(rows(store, txn)) == 1000
    assert store.index_rows(txn, 10, (500,))[0][1] == (500, "row 500")
    engine.close()


def test_a_table_larger_than_the_cache(engine):
    store = engine.database(5)
    txn = store.begin()
    store.create_table(txn, 1)
    store.create_index(txn, 10, 1, (0,), unique=True)
    txn.commit()
    txn = begin(store)
    for i in range(4000):                     # ~ 500 kB of rows through a 1 MB cache...
        store.insert(txn, 1, (i, "x" * 400))  # ... and 1.6 MB of them
    txn.commit()
    txn = begin(store)
    assert sum(1 for _ in store.scan(txn, 1)) == 4000
    assert store.index_rows(txn, 10, (3999,))[0][1][0] == 3999
    assert len(engine.pool.pages) <= engine.pool.capacity


def test_the_pool_grows_for_a_section_that_needs_it_then_shrinks_back(store):
    engine = store.engine
    txn = begin(store)
    for i in range(3000):
        store.insert(txn, 1, (i, "y" * 400))
    txn.commit()
    pool, rel = engine.pool, store.relations[1]
    with engine.latch:          # one section holding more pages than the pool has
        for block in range(rel.file.nblocks):
            pool.get(rel.file, block)
        assert len(pool.pages) > pool.capacity
    txn = begin(store)
    assert len(rows(store, txn)) == 3000      # later sections read through the pool
    txn.commit()
    assert len(pool.pages) <= pool.capacity


def test_building_an_index_reads_a_table_larger_than_the_pool_through_it(engine):
    store = engine.database(5)
    txn = store.begin()
    store.create_table(txn, 1)
    txn.commit()
    txn = begin(store)
    for i in range(6000):
        store.insert(txn, 1, (i, "z" * 600))
    txn.commit()
    pool = engine.pool
    heap_pages = store.relations[1].file.nblocks
    assert heap_pages > 2 * pool.capacity
    largest = []
    install = pool._install

    def watched(key, page):
        install(key, page)
        largest.append(len(pool.pages))
    pool._install = watched
    txn = begin(store)
    store.create_index(txn, 10, 1, (0,), unique=True)
    txn.commit()
    pool._install = install
    # The heap pages passed through the pool; only the new index's pages stay pinned
    # while it is built.
    index_pages = store.relations[10].file.nblocks
    assert max(largest) < pool.capacity + index_pages + 8 < heap_pages
    txn = begin(store)
    assert store.index_rows(txn, 10, (3999,))[0][1][0] == 3999
    txn.commit()
