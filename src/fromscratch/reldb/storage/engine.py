"""The storage engine of a whole cluster: one buffer pool, one write-ahead log, one xid
space and one lock manager shared by all its databases.

It owns
* the latch: one lock around every change to pages, the pool and the transaction
  table. Sessions run in threads; each storage call takes the latch for a short
  section (a page of a scan, one insert) and gives it up between them, and while it
  waits for a lock, a disk read or an fsync of the log is not done under it;
* transactions: xid assignment, snapshots, commit (log record, group-commit flush,
  then visibility) and abort;
* logging of page changes, with a full page image for the first change of a page
  after a checkpoint;
* checkpoints: every dirty page written and synced, the commit log and the catalogs
  saved, then a CHECKPOINT record and pg_control pointing recovery past everything
  older. A background thread runs one every `checkpoint_seconds` or after
  `max_wal_bytes` of log, flushes the log of asynchronous commits, and vacuums tables
  whose dead row versions pile up (autovacuum);
* the committed catalog images, and the sequences' latest states.

Recovery (recovery.py) runs in `open()`.
"""

from __future__ import annotations

import json
import os
import struct
import threading
import time

from ...durable import write_file_atomically
from ..blocking import before_blocking
from . import wal as W
from .buffer_pool import BufferPool
from .files import FileSet
from .locks import LockManager
from .mvcc import ABORTED, COMMITTED, FIRST_XID, CommitLog, Snapshot
from .pages import PAGE_SIZE, encode_page
from .relation import encode_map
from .transactions import SERIALIZABLE, Transaction

CATALOG, RELMAP = 0, 1                  # kinds of images saved with a commit
_COMMIT_HEAD = struct.Struct("<dI")     # commit time, number of subtransaction xids
_U32 = struct.Struct("<I")
_FILE = struct.Struct("<II")
_IMAGE_HEAD = struct.Struct("<IBI")     # database, kind, length
_SEQUENCE = struct.Struct("<IIqB")      # database, sequence oid, last value, is_called
_CHECKPOINT = struct.Struct("<QQ")      # redo LSN, next xid
IMAGES_PER_RECORD = 64


class Latch:
    """The engine's lock, counting its outermost sections for the buffer pool (a page
    used in the current section is never evicted)."""

    def __init__(self, pool: BufferPool):
        self.lock = threading.RLock()
        self.depth = 0
        self.pool = pool

    def __enter__(self):
        if not self.lock.acquire(blocking=False):
            before_blocking()
            self.lock.acquire()
        self.depth += 1
        if self.depth == 1:
            pool = self.pool
            pool.new_section()
            if len(pool.pages) > pool.capacity:
                pool.shrink()
        return self

    def __exit__(self, *exc):
        self.depth -= 1
        self.lock.release()

    def wait(self, condition: threading.Condition, timeout: float) -> None:
        """Wait on a condition of this latch: the section ends while waiting, and the
        caller must look its pages up again afterwards."""
        depth, self.depth = self.depth, 0
        before_blocking()
        try:
            condition.wait(timeout)
        finally:
            self.depth = depth
            self.pool.new_section()


class StorageEngine:
    def __init__(self, directory: str, cache_bytes: int = 256 * 1024 * 1024,
                 synchronous_commit: bool = True, checkpoint_seconds: float = 300,
                 max_wal_bytes: int = 1024 * 1024 * 1024, autovacuum: bool = True):
        self.directory = directory
        os.makedirs(directory, exist_ok=True)
        self.files = FileSet(directory)
        self.wal = W.Wal(directory)
        self.pool = BufferPool(self.files, self.wal, cache_bytes // PAGE_SIZE)
        self.latch = Latch(self.pool)
        self.locks = LockManager(self.latch)
        self.clog = CommitLog()
        self.next_xid = FIRST_XID
        self.running: dict[int, Transaction] = {}     # xid -> its transaction
        self.active: set[Transaction] = set()         # transactions holding a snapshot
        self.redo_lsn = 0
        # xid -> where the log ended before its COMMIT record went in, for commits whose
        # record is in the log but not yet in the commit log (see checkpoint()).
        self.committing: dict[int, int] = {}
        self.databases: dict = {}                     # oid -> DatabaseStorage
        self.images: dict[tuple[int, int], bytes] = {}
        self.sequences: dict[tuple[int, int], tuple[int, bool]] = {}
        self.stats: dict = {}                         # (db, relation) -> saved figures
        self.synchronous_commit = synchronous_commit
        self.checkpoint_seconds = checkpoint_seconds
        self.max_wal_bytes = max_wal_bytes
        self.autovacuum = autovacuum
        self.serializable = None
        self._next_filenode = None
        self._checkpointing = threading.Lock()
        self._stop = threading.Event()
        self._background = None
        self.last_checkpoint = time.monotonic()
        self.recovery_report = None

    # -- startup and shutdown ------------------------------------------------------------------

    def open(self) -> None:
        """Recover from the log, then start the background work."""
        from .recovery import recover
        from .serializable import ConflictTracker
        self.serializable = ConflictTracker(self)
        self.recovery_report = recover(self)
        self._background = threading.Thread(target=self._background_work,
                                            name="reldb-storage", daemon=True)
        self._background.start()

    def close(self) -> None:
        """A clean shutdown: stop the background work and checkpoint."""
        self._stop.set()
        if self._background is not None:
            self._background.join()
        self.checkpoint()
        self.wal.close()
        self.files.close()

    def database(self, oid: int):
        from .database import DatabaseStorage
        db = self.databases.get(oid)
        if db is None:
            db = self.databases[oid] = DatabaseStorage(self, oid)
        return db

    def catalog_image(self, db: int) -> bytes | None:
        return self.images.get((db, CATALOG))

    def remove_orphans(self, databases: list[int]) -> None:
        """After the catalog is loaded: delete the directories of databases it does not
        list, and the files no relation owns (left by a transaction that never
        committed, or by a crash before a drop's files were removed)."""
        live = set(databases)
        with self.latch:
            for db in self.files.databases_on_disk():
                if db not in live:
                    self._remove_database_files(db)
                    continue
                owned = {rel.filenode for rel in self.database(db).relations.values()}
                for filenode in self.files.on_disk(db):
                    if filenode not in owned:
                        self.files.unlink((db, filenode))
            for db in list(self.databases):
                if db not in live:
                    del self.databases[db]

    def _remove_database_files(self, db: int) -> None:
        for filenode in self.files.on_disk(db):
            key = (db, filenode)
            f = self.files.files.get(key)
            if f is not None:
                self.pool.drop_file(f)
            self.files.unlink(key)
        path = self.files.database_dir(db)
        for name in os.listdir(path) if os.path.isdir(path) else ():
            os.unlink(os.path.join(path, name))
        if os.path.isdir(path):
            os.rmdir(path)

    def drop_database(self, db: int) -> None:
        """Remove a database's files (after its removal from the catalog committed)."""
        with self.latch:
            self.databases.pop(db, None)
            for key in [k for k in self.images if k[0] == db]:
                del self.images[key]
            self._remove_database_files(db)

    # -- transactions ------------------------------------------------------------------------

    def begin(self, pid: int = 0) -> Transaction:
        txn = Transaction(self, pid)
        txn.synchronous_commit = self.synchronous_commit
        return txn

    def assign_xid(self, txn: Transaction, level) -> None:
        with self.latch:
            top = txn.levels[0]
            if level is not top and not top.xid:
                self.assign_xid(txn, top)
            xid = self.next_xid
            self.next_xid += 1
            level.xid = xid
            level.xids.append(xid)
            if level is top:
                txn.xid = xid
            txn.live_xids.add(xid)
            self.running[xid] = txn

    def take_snapshot(self, txn: Transaction) -> Snapshot:
        with self.latch:
            running = self.running
            xmin = min(running) if running else self.next_xid
            snap = Snapshot(xmin, self.next_xid, frozenset(running), txn.live_xids)
            self.active.add(txn)
            if txn.isolation == SERIALIZABLE and txn.serializable is None:
                self.serializable.register(txn)
            return snap

    def oldest_xmin(self) -> int:
        """No snapshot of a running transaction sees anything deleted before this."""
        oldest = min(self.running) if self.running else self.next_xid
        for txn in self.active:
            snap = txn.snapshot
            if snap is not None and snap.xmin < oldest:
                oldest = snap.xmin
        return oldest

    def wait_for_xid(self, txn: Transaction, xid: int) -> None:
        """Wait (latch held) until transaction `xid` has ended or rolled back."""
        holder = self.running.get(xid)
        if holder is None or holder is txn:
            return
        self.locks.wait(txn, [holder], lambda: xid not in self.running,
                        f"ShareLock on transaction {xid}")

    def commit(self, txn: Transaction) -> None:
        if txn.serializable is not None:
            self.serializable.before_commit(txn)
        if txn.changed_maps:
            with self.latch:
                for db in txn.changed_maps:
                    if db in self.databases:
                        txn.catalog_images[(db, RELMAP)] = \
                            encode_map(self.databases[db].relations)
        if txn.catalog_images and not txn.xid:
            txn.write_xid()
        new_files = [rel for rel, key in txn.new_files if rel.key == key and not rel.logged]
        if new_files:
            # Files made by this transaction were not logged: they must be on disk
            # before the commit record can be.
            with self.latch:
                for rel in new_files:
                    self.pool.flush_file(rel.file)
            for rel in new_files:
                rel.file.sync()
        lsn = 0
        if txn.xid:
            payload = self._commit_payload(txn)
            with self.latch:
                self.committing[txn.xid] = self.wal.insert_lsn
                lsn = self.wal.insert(W.COMMIT, txn.xid, payload)
        elif txn.needs_flush:
            lsn = self.wal.insert_lsn
        must_sync = txn.synchronous_commit or txn.dropped_files or txn.catalog_images or \
            txn.after_commit
        if lsn and must_sync:
            self.wal.flush(lsn)
        with self.latch:
            if txn.xid:
                self.clog.set(txn.live_xids, COMMITTED)
                self.committing.pop(txn.xid, None)
            for rel in new_files:
                rel.logged = True
            self.images.update(txn.catalog_images)
            for key in txn.dropped_files:
                self._remove_file(key)
            self._finish(txn, committed=True)
        for action in txn.after_commit:
            action()

    def _commit_payload(self, txn: Transaction) -> bytes:
        subxids = sorted(txn.live_xids - {txn.xid})
        parts = [_COMMIT_HEAD.pack(time.time(), len(subxids)),
                 struct.pack(f"<{len(subxids)}Q", *subxids),
                 _U32.pack(len(txn.dropped_files))]
        parts += [_FILE.pack(*key) for key in txn.dropped_files]
        parts.append(_U32.pack(len(txn.catalog_images)))
        for (db, kind), data in txn.catalog_images.items():
            parts.append(_IMAGE_HEAD.pack(db, kind, len(data)))
            parts.append(data)
        return b"".join(parts)

    def abort(self, txn: Transaction) -> None:
        with self.latch:
            if txn.xid:
                subxids = sorted(txn.live_xids - {txn.xid})
                self.wal.insert(W.ABORT, txn.xid, _COMMIT_HEAD.pack(time.time(), len(subxids))
                                + struct.pack(f"<{len(subxids)}Q", *subxids))
                self.clog.set(txn.live_xids, ABORTED)
            for _, key in txn.new_files:
                self._remove_file(key)
            self._finish(txn, committed=False)

    def abort_subtransactions(self, txn: Transaction, xids: list[int]) -> None:
        with self.latch:
            self.clog.set(xids, ABORTED)
            for xid in xids:
                self.running.pop(xid, None)
                txn.live_xids.discard(xid)
            self.locks.wake(txn)

    def _finish(self, txn: Transaction, committed: bool) -> None:
        for level in txn.levels:
            for xid in level.xids:
                self.running.pop(xid, None)
        self.active.discard(txn)
        self.locks.release_all(txn)
        if txn.serializable is not None:
            self.serializable.finish(txn, committed)
        txn.active = False
        txn.snapshot = None
        self.locks.wake(txn)

    def new_filenode(self) -> int:
        """A file number not used in any database (relation files are named by these)."""
        if self._next_filenode is None:
            used = [16383]
            for db in self.files.databases_on_disk():
                used += self.files.on_disk(db)
            for (db, kind), data in self.images.items():
                if kind == RELMAP:
                    used += [d["file"] for d in json.loads(data).values()]
            self._next_filenode = max(used) + 1
        number = self._next_filenode
        self._next_filenode += 1
        return number

    def _remove_file(self, key: tuple[int, int]) -> None:
        f = self.files.files.get(key)
        if f is not None:
            self.pool.drop_file(f)
        self.files.unlink(key)

    # -- logging page changes --------------------------------------------------------------

    def log_change(self, rel, rtype: int, xid: int, payload: bytes, pages: list,
                   last_is_new: bool = False) -> None:
        """Log a change already made to `pages` (under the latch) and stamp them. A page
        changed for the first time since the last checkpoint travels whole in the
        record; a page just created does not need to (its record rebuilds it)."""
        if not rel.logged:
            for page in pages:
                page.dirty = True
            return
        images = []
        redo = self.redo_lsn
        last = len(pages) - 1
        for i, page in enumerate(pages):
            if page.lsn <= redo and not (last_is_new and i == last):
                images.append((rel.db, rel.filenode, page.key & 0xFFFFFFFF, encode_page(page)))
        end = self.wal.insert(rtype, xid, payload, images)
        for page in pages:
            page.lsn = end
            page.dirty = True

    def log_images(self, rel, changed: list) -> None:
        """Log whole pages: [(block, page)] (B+tree splits, merges and builds)."""
        if not rel.logged:
            for _, page in changed:
                page.dirty = True
            return
        for start in range(0, len(changed), IMAGES_PER_RECORD):
            chunk = changed[start:start + IMAGES_PER_RECORD]
            images = [(rel.db, rel.filenode, block, encode_page(page)) for block, page in chunk]
            end = self.wal.insert(W.PAGE_IMAGES, 0, b"", images)
            for _, page in chunk:
                page.lsn = end
                page.dirty = True

    # -- sequences -----------------------------------------------------------------------------

    def log_sequence(self, txn, db: int, oid: int, value: int, called: bool) -> None:
        """A sequence moved (not transactional: kept even if `txn` rolls back)."""
        with self.latch:
            self.sequences[(db, oid)] = (value, called)
            self.wal.insert(W.SEQUENCE, 0, _SEQUENCE.pack(db, oid, value, called))
        if txn is not None:
            txn.needs_flush = True

    # -- checkpoints ---------------------------------------------------------------------------

    def checkpoint(self) -> None:
        with self._checkpointing:
            with self.latch:
                # Redo starts before any COMMIT record whose transaction the commit log
                # does not show yet: the state saved below may miss it, replay will not.
                redo = min([self.wal.insert_lsn, *self.committing.values()])
                self.redo_lsn = redo
                dirty = self.pool.dirty_pages()
            for start in range(0, len(dirty), 256):
                with self.latch:
                    for page in dirty[start:start + 256]:
                        if page.dirty and page.key is not None:
                            self.pool.write(page)
            self.files.sync_all()
            with self.latch:
                clog = bytes(self.clog.status)
                images = dict(self.images)
                sequences = dict(self.sequences)
                stats = self._collect_stats()
                next_xid = self.next_xid
            self._save_state(clog, images, sequences, stats)
            with self.latch:
                lsn = self.wal.insert(W.CHECKPOINT, 0, _CHECKPOINT.pack(redo, next_xid))
            self.wal.flush(lsn)
            write_control(self.directory, {"redo": redo, "checkpoint": lsn, "next_xid": next_xid})
            self.wal.remove_before(redo)
            self.last_checkpoint = time.monotonic()

    def _collect_stats(self) -> dict:
        # Databases not opened since start-up keep the figures saved for them.
        out = {key: saved for key, saved in self.stats.items()
               if int(key.split("/")[0]) not in self.databases}
        for db, storage in self.databases.items():
            for oid, rel in storage.relations.items():
                if rel.kind == "heap":
                    out[f"{db}/{oid}"] = {"live": rel.live, "dead": rel.dead, "stats": rel.stats}
        return out

    def _save_state(self, clog: bytes, images: dict, sequences: dict, stats: dict) -> None:
        state = os.path.join(self.directory, "global")
        _write_file(os.path.join(state, "pg_xact"), clog)
        for (db, kind), data in images.items():
            name = "catalog.json" if kind == CATALOG else "relmap.json"
            directory = state if db == 0 else self.files.database_dir(db)
            os.makedirs(directory, exist_ok=True)
            _write_file(os.path.join(directory, name), data)
        _write_file(os.path.join(state, "sequences.json"), json.dumps(
            [[db, oid, value, called] for (db, oid), (value, called) in sequences.items()]).encode())
        _write_file(os.path.join(state, "stats.json"), json.dumps(stats).encode())

    # -- background work -------------------------------------------------------------------

    def _background_work(self) -> None:
        from .vacuum import autovacuum
        last_vacuum = time.monotonic()
        while not self._stop.wait(0.2):
            try:
                if self.wal.flushed_lsn < self.wal.insert_lsn:
                    self.wal.flush()          # the log of asynchronous commits
                now = time.monotonic()
                if now - self.last_checkpoint > self.checkpoint_seconds or \
                        self.wal.insert_lsn - self.redo_lsn > self.max_wal_bytes:
                    self.checkpoint()
                if self.autovacuum and now - last_vacuum > 1.0:
                    last_vacuum = now
                    autovacuum(self)
            except Exception:       # keep the server up; the next round tries again
                import logging
                logging.getLogger("fromscratch.reldb").exception("storage background work")


def _write_file(path: str, data: bytes) -> None:
    """Replace a file atomically and durably."""
    write_file_atomically(path, lambda handle: handle.write(data))


def read_control(directory: str) -> dict | None:
    try:
        with open(os.path.join(directory, "pg_control")) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def write_control(directory: str, control: dict) -> None:
    _write_file(os.path.join(directory, "pg_control"), json.dumps(control).encode())


def decode_commit(payload: bytes):
    """(subxids, dropped files, images) of a COMMIT record."""
    _, nsub = _COMMIT_HEAD.unpack_from(payload, 0)
    at = _COMMIT_HEAD.size
    subxids = list(struct.unpack_from(f"<{nsub}Q", payload, at))
    at += 8 * nsub
    (ndropped,) = _U32.unpack_from(payload, at)
    at += 4
    dropped = []
    for _ in range(ndropped):
        dropped.append(_FILE.unpack_from(payload, at))
        at += _FILE.size
    (nimages,) = _U32.unpack_from(payload, at)
    at += 4
    images = {}
    for _ in range(nimages):
        db, kind, length = _IMAGE_HEAD.unpack_from(payload, at)
        at += _IMAGE_HEAD.size
        images[(db, kind)] = bytes(payload[at:at + length])
        at += length
    return subxids, dropped, images


def decode_abort(payload: bytes) -> list[int]:
    _, nsub = _COMMIT_HEAD.unpack_from(payload, 0)
    return list(struct.unpack_from(f"<{nsub}Q", payload, _COMMIT_HEAD.size))


def decode_sequence(payload: bytes):
    return _SEQUENCE.unpack_from(payload)


def decode_checkpoint(payload: bytes):
    return _CHECKPOINT.unpack_from(payload)
