"""The storage engine: pages in files, a buffer pool, a write-ahead log with crash
recovery, B+tree indexes, and MVCC transactions (see protocol_specs/storage.md).

    files.py        the OS layer: relation files of 8 KB blocks
    pages.py        page layouts (slotted heap and B+tree pages), checksums
    buffer_pool.py  pages in memory, clock eviction, the write-ahead rule
    wal.py          the log: records, segments, group commit
    recovery.py     redo from the last checkpoint, torn tails, aborting the unfinished
    rowcodec.py     rows as bytes;  keycodec.py  index keys as order-preserving bytes
    heap.py         tables: row versions, HOT chains, pruning
    btree.py        indexes: search, splits, merges, bulk builds
    mvcc.py         xids, the commit log, snapshots, visibility
    locks.py        waiting for transactions, table locks, deadlock detection
    serializable.py SERIALIZABLE's dependency tracking (SSI)
    transactions.py the transaction handle: xids, savepoints, undo of catalog changes
    relation.py     which file holds which table or index
    vacuum.py       VACUUM, ANALYZE, autovacuum
    engine.py       the whole: transactions, logging, checkpoints, background work
    database.py     the interface one database gives the SQL layer
"""

from .database import DatabaseStorage, RowChanged, RowLocked, UniqueViolation
from .engine import StorageEngine

__all__ = ["DatabaseStorage", "RowChanged", "RowLocked", "StorageEngine", "UniqueViolation"]
