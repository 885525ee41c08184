"""Crash recovery: bring the data files back to the state the log describes.

1. pg_control says where the last completed checkpoint began (its redo point); every
   change before it is in the data files, which that checkpoint synced. The commit
   log, catalogs and sequences saved by that checkpoint are loaded.
2. Redo: every record from the redo point on is replayed, in order, onto the pages it
   names. A record's full page images are installed first (so a page torn by the crash
   is replaced whole); then its change is applied to each page whose LSN is older than
   the record (a newer page already has it). Commit and abort records set the commit
   log; commits also bring the catalog images saved with them.
3. The end of the log is the first record that is missing, cut short or fails its
   checksum (a torn tail): the log is truncated there, and writing resumes.
4. Every transaction with no commit record is marked aborted. Nothing else needs
   undoing: their row versions stay on the pages, invisible, until VACUUM removes them.
5. A checkpoint makes the recovered state the new starting point.
"""

from __future__ import annotations

import json
import os
import time

from . import btree, heap
from . import wal as W
from .engine import (CATALOG, RELMAP, decode_abort, decode_checkpoint, decode_commit,
                     decode_sequence, read_control, write_control)
from .mvcc import ABORTED, COMMITTED, FIRST_XID, IN_PROGRESS
from .pages import HeapPage, decode_page


class RedoAccess:
    """Pages for the redo functions: `page()` hands out a page only if it is older than
    the record; the pages handed out are stamped with the record's LSN afterwards."""

    def __init__(self, engine):
        self.engine = engine
        self.touched = []

    def page(self, key, block: int, end: int, init: bool = False):
        engine = self.engine
        f = engine.files.get(key)
        if init:
            page = engine.pool.add(f, block, HeapPage())
        else:
            page = engine.pool.get(f, block)
            if page is None or page.lsn >= end:
                # Never written: the change belongs to a file a later record removes.
                return None
        if page not in self.touched:
            self.touched.append(page)
        return page

    def install(self, key, block: int, image: bytes, end: int) -> None:
        page = decode_page(image)
        page.lsn = end
        self.engine.pool.add(self.engine.files.get(key), block, page)

    def stamp(self, end: int) -> None:
        for page in self.touched:
            page.lsn = end
            page.dirty = True
        self.touched.clear()


_REDO = {W.HEAP_INSERT: heap.redo, W.HEAP_SET_XMAX: heap.redo, W.HEAP_UPDATE: heap.redo,
         W.HEAP_PRUNE: heap.redo, W.BTREE_INSERT: btree.redo, W.BTREE_DELETE: btree.redo}


def recover(engine) -> dict:
    """Run recovery; returns what it did (for the log and the benchmarks)."""
    started = time.monotonic()
    directory = engine.directory
    control = read_control(directory)
    if control is None:
        # A new cluster: nothing to recover; the first checkpoint makes pg_control.
        engine.wal.start_writing(0)
        write_control(directory, {"redo": 0, "checkpoint": 0, "next_xid": FIRST_XID})
        return {"records": 0, "seconds": 0.0, "new": True}
    _load_state(engine)
    redo = control["redo"]
    max_xid = control["next_xid"] - 1
    access = RedoAccess(engine)
    count = 0
    # Everything being replayed is on disk already: pages written while evicting during
    # redo need not wait for the log.
    engine.wal.flushed_lsn = 1 << 62
    with engine.latch:
        for record in engine.wal.records(redo):
            count += 1
            engine.pool.new_section()
            for key, block, image in record.images:
                access.install(key, block, image, record.end)
            if record.xid > max_xid:
                max_xid = record.xid
            redo_function = _REDO.get(record.type)
            if redo_function is not None:
                redo_function(record, access)
                access.stamp(record.end)
            elif record.type == W.COMMIT:
                subxids, dropped, images = decode_commit(record.payload)
                engine.clog.set([record.xid] + subxids, COMMITTED)
                max_xid = max([max_xid] + subxids)
                engine.images.update(images)
                for key in dropped:
                    engine._remove_file(key)
            elif record.type == W.ABORT:
                subxids = decode_abort(record.payload)
                engine.clog.set([record.xid] + subxids, ABORTED)
                max_xid = max([max_xid] + subxids)
            elif record.type == W.SEQUENCE:
                db, oid, value, called = decode_sequence(record.payload)
                engine.sequences[(db, oid)] = (value, bool(called))
            elif record.type == W.CHECKPOINT:
                max_xid = max(max_xid, decode_checkpoint(record.payload)[1] - 1)
        end = engine.wal.end_of_log
        engine.wal.start_writing(end)
        engine.next_xid = max(max_xid + 1, FIRST_XID)
        _abort_unfinished(engine)
        engine.redo_lsn = redo
    engine.checkpoint()
    return {"records": count, "seconds": time.monotonic() - started, "new": False}


def _abort_unfinished(engine) -> None:
    """Transactions that were running at the crash never committed: mark them aborted."""
    status = engine.clog.status
    end = min(len(status), engine.next_xid)
    xid = status.find(IN_PROGRESS, FIRST_XID, end)
    while xid != -1:
        status[xid] = ABORTED
        xid = status.find(IN_PROGRESS, xid + 1, end)
    if engine.next_xid > len(status):
        engine.clog.set(range(len(status), engine.next_xid), ABORTED)


def _load_state(engine) -> None:
    """What the last checkpoint saved: commit log, catalogs, sequences, statistics."""
    state = os.path.join(engine.directory, "global")
    engine.clog.load(os.path.join(state, "pg_xact"))
    catalog = os.path.join(state, "catalog.json")
    if os.path.exists(catalog):
        with open(catalog, "rb") as f:
            engine.images[(0, CATALOG)] = f.read()
    for db in engine.files.databases_on_disk():
        for name, kind in (("catalog.json", CATALOG), ("relmap.json", RELMAP)):
            path = os.path.join(engine.files.database_dir(db), name)
            if os.path.exists(path):
                with open(path, "rb") as f:
                    engine.images[(db, kind)] = f.read()
    path = os.path.join(state, "sequences.json")
    if os.path.exists(path):
        with open(path) as f:
            for db, oid, value, called in json.load(f):
                engine.sequences[(db, oid)] = (value, called)
    path = os.path.join(state, "stats.json")
    if os.path.exists(path):
        with open(path) as f:
            engine.stats = json.load(f)
