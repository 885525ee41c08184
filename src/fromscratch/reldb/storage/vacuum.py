"""VACUUM, ANALYZE and autovacuum.

VACUUM walks a table page by page. It prunes each page (heap.py), then finds the rows
whose every version is dead to all snapshots: it removes their index entries (it
computes them from the row's last version, which pruning kept for this) and frees their
slots, and notes pages with room in the free space map. It runs outside any
transaction and holds the latch for one page at a time, so sessions carry on.

ANALYZE reads a sample of the table (every page of a small one) and keeps the row count
and, per column, the number of distinct values and the fraction of NULLs, which the
planner uses to order joins.

Autovacuum, from the engine's background thread: a table whose dead versions exceed
50 + 20% of its live rows is vacuumed, as PostgreSQL's defaults do.
"""

from __future__ import annotations

import random
from decimal import Decimal

from . import btree, heap
from .keycodec import encode_key, encode_tid
from .mvcc import COMMITTED, dead_to_all
from .pages import HEAP_ONLY, XMAX_LOCK_ONLY, HeapTuple

SAMPLE_PAGES = 300


def vacuum(engine, rel) -> dict:
    removed = live = 0
    for block in range(rel.file.nblocks):
        with engine.latch:
            page = engine.pool.get(rel.file, block)
            if page is None:
                continue
            heap.prune(engine, rel, page, block)
            oldest = engine.oldest_xmin()
            clog = engine.clog.status
            dead_slots = []
            for slot, item in enumerate(page.items):
                if item.__class__ is HeapTuple:
                    if item.flags & HEAP_ONLY:
                        continue        # reached through its chain's root
                elif item.__class__ is not int:
                    continue            # an unused slot
                root = block << 16 | slot
                chain = heap.chain_versions(engine.pool, rel, root)
                if not all(dead_to_all(t, oldest, clog) for _, t in chain):
                    live += any(_is_live(t, clog) for _, t in chain)
                    continue
                suffix = encode_tid(root)
                for index in rel.indexes:
                    keys = {encode_key(index.index_key(heap.row_of(t)), index.descending)
                            for _, t in chain}
                    for key in keys:
                        btree.delete(engine, index, key + suffix)
                dead_slots.append(slot)
                dead_slots.extend(tid & 0xFFFF for tid, _ in chain if tid != root)
            if dead_slots:
                heap.remove_versions(engine, rel, page, block, dead_slots)
                removed += len(dead_slots)
            if page.free >= heap.FSM_THRESHOLD:
                rel.fsm.add(block)
    rel.live = live
    rel.dead = 0
    return {"removed": removed, "live": live}


def _is_live(t, clog) -> bool:
    xmin = t.xmin
    if xmin >= len(clog) or clog[xmin] != COMMITTED:
        return False
    xmax = t.xmax
    return not xmax or bool(t.flags & XMAX_LOCK_ONLY) or \
        (xmax < len(clog) and clog[xmax] != COMMITTED)


def analyze(storage, txn, rel) -> dict:
    """Row count and per-column figures from a sample of the table."""
    engine = storage.engine
    with engine.latch:
        snap = storage._begin_read(txn, rel)
        nblocks = rel.file.nblocks
    blocks = range(nblocks)
    if nblocks > SAMPLE_PAGES:
        blocks = sorted(random.sample(range(nblocks), SAMPLE_PAGES))
    rows = []
    for block in blocks:
        with engine.latch:
            rows.extend(row for _, row in heap.scan_page(engine.pool, rel, block, snap,
                                                         engine.clog.status))
    total = len(rows) if nblocks <= SAMPLE_PAGES else \
        int(len(rows) / max(len(blocks), 1) * nblocks)
    columns = []
    width = len(rows[0]) if rows else 0
    for i in range(width):
        values = [r[i] for r in rows]
        present = [v for v in values if v is not None]
        try:
            distinct = len(set(present))
        except TypeError:               # arrays and documents: count their texts
            distinct = len({repr(v) for v in present})
        # PostgreSQL's convention: a negative n_distinct is a fraction of the rows (a
        # column whose sampled values are all different grows with the table).
        n_distinct = -1.0 if present and distinct == len(present) and total > len(rows) \
            else float(distinct)
        column = {"n_distinct": n_distinct,
                  "null_frac": (len(values) - len(present)) / len(values)}
        # Smallest and largest of a numeric column: the planner interpolates ranges.
        if present and all(isinstance(v, (int, float, Decimal)) and not isinstance(v, bool)
                           for v in present):
            column["min"], column["max"] = float(min(present)), float(max(present))
        columns.append(column)
    rel.stats = {"rows": total, "columns": columns}
    rel.live = total
    return rel.stats


def autovacuum(engine) -> None:
    for storage in list(engine.databases.values()):
        for rel in list(storage.relations.values()):
            if rel.kind != "heap" or rel.file is None:
                continue
            if rel.dead > 50 + 0.2 * max(rel.live, 0) and rel.oid in storage.relations:
                vacuum(engine, rel)
