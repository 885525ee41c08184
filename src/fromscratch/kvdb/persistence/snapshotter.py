"""Saving snapshots: SAVE, BGSAVE, the `save` rules, and loading at start-up.

A snapshot is written to a temporary file, flushed and fsynced, then renamed over the
old one (and the directory fsynced), so the file on disk is always either the previous
complete snapshot or the new complete one, never a mix.

BGSAVE forks, as Redis does: the child sees the keyspace frozen at the moment of the
fork (the kernel copies pages only as the parent changes them), writes it and exits,
while the parent goes on serving clients. The server's cron collects the child
(`poll()`), and only then counts the save as done: changes made while the child was
writing stay counted as unsaved.

At start-up the file may also be a real Redis's dump.rdb (it starts with "REDIS"): its
keys and function libraries are imported (`import_rdb`), so data moves from Redis to
us by copying the file. What we save afterwards, over it, is our own snapshot format.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time

from ...durable import write_file_atomically
from ...resp import ErrorReply
from ..keyspace import now_ms
from .child_info import ChildProgress, ChildReporter
from .rdb import RdbError, is_rdb, read_rdb
from .snapshot import CorruptSnapshot

log = logging.getLogger("fromscratch.kvdb")

RETRY_DELAY = 5.0     # seconds before a save rule tries again after a failed BGSAVE


def temporary_path(directory: str, pid: int) -> str:
    """Where process `pid` writes a snapshot before renaming it: Redis's name for it,
    which tools (and Redis's tests) look for."""
    return os.path.join(directory, f"temp-{pid}.rdb")


def write_snapshot_file(kv, path: str, dump=None) -> None:
    """Write the data to `path`, atomically, with `dump` (kv.dump_snapshot unless
    told: a function of the file handle)."""
    write_file_atomically(path, dump or kv.dump_snapshot,
                          temporary_path(os.path.dirname(path) or ".", os.getpid()))


def save_in_child(kv, path: str, dump=None) -> int:
    """Fork; the child writes the data as it is now to `path` (with `dump`, see
    write_snapshot_file), reporting its progress (kv.child_progress: see
    child_info.py), and exits (0 on success). Returns the child's pid. The fork is
    counted, and timed, in kv.forks and kv.latest_fork_usec (INFO stats); whoever
    collects the child calls kv.child_finished()."""
    progress, report_fd = ChildProgress.open(sum(len(db.data) for db in kv.keyspace.dbs))
    started = time.perf_counter()
    try:
        pid = os.fork()
    except OSError:
        progress.close_child_end()
        progress.close()
        raise
    if pid != 0:
        kv.forks += 1
        kv.latest_fork_usec = int((time.perf_counter() - started) * 1e6)
        progress.close_child_end()
        kv.child_progress = progress
        return pid
    status = 1
    try:
        os.close(progress.fd)
        kv.child_reporter = ChildReporter(report_fd)
        write_snapshot_file(kv, path, dump)
        kv.child_reporter.report()                      # the final figures
        status = 0
    finally:
        os._exit(status)


def kill_saving_child(kv, pid: int, directory: str) -> None:
    """Stop a child of save_in_child at once and remove the temporary file it was
    writing in `directory`."""
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    kv.child_finished()
    with contextlib.suppress(OSError):
        os.unlink(temporary_path(directory, pid))


def parse_rdb(data: bytes, on_key=None, body_crc: int | None = None):
    """An RDB file's contents (rdb.RdbFile); CorruptSnapshot if it does not read.
    `on_key`, `body_crc`: see read_rdb."""
    try:
        return read_rdb(data, on_key, body_crc)
    except RdbError as error:
        raise CorruptSnapshot(str(error)) from None


class Snapshotter:
    def __init__(self, kv):
        self.kv = kv
        self.last_save_time = time.time()
        self.last_status_ok = True
        self.last_attempt = 0.0
        # A BGSAVE asked for when it could not start (inside EXEC, or with BGSAVE
        # SCHEDULE while the log is rewritten): the cron starts it when it can.
        self.scheduled = False
        self.last_duration = -1
        self.saves = 0
        self.child_pid = 0
        self.child_started = 0.0
        self.dirty_at_fork = 0
        self.then = None                # called with the child's success when it ends
        self.last_cow_size = 0          # the last BGSAVE child's copy-on-write, in bytes

    @property
    def path(self) -> str:
        config = self.kv.config
        return os.path.join(config["dir"], config["dbfilename"])

    @property
    def in_progress(self) -> bool:
        return self.child_pid != 0

    # -- loading ----------------------------------------------------------------------

    def load(self, replace: bool = False) -> int:
        """Load the snapshot file if there is one. A corrupt file stops the server (it
        is never overwritten): raises CorruptSnapshot with the offset. What is already
        in memory is an error unless `replace`."""
        if not os.path.exists(self.path):
            return 0
        with open(self.path, "rb") as handle:
            data = handle.read()
        if self.kv.load_progress is not None:
            self.kv.load_progress.begin_file(len(data))
        try:
            if is_rdb(data):
                loaded = self.import_rdb(data, replace)
                log.warning("imported %d keys from %s, an RDB file (Redis's format); "
                            "it will be saved in our own snapshot format", loaded, self.path)
            else:
                loaded = self.kv.load_snapshot(data, replace)
                log.info("loaded %d keys from %s", loaded, self.path)
        except CorruptSnapshot as exc:
            raise CorruptSnapshot(f"{self.path}: {exc}") from None
        self.last_save_time = os.path.getmtime(self.path)
        return loaded

    def import_rdb(self, data: bytes, replace: bool = False) -> int:
        """Load an RDB file's keys and libraries, as load_snapshot loads a snapshot;
        returns the keys loaded. Keys already expired are left out, as Redis leaves
        them out when it loads a file as a primary (their LRU and LFU data too: every
        key starts fresh). Raises CorruptSnapshot, before any key is loaded, if the file
        does not read or does not fit (a database beyond `databases`, a key already
        here, a library that does not load)."""
        return self.import_contents(parse_rdb(data, self.kv.on_key_loaded), replace)

    def import_contents(self, contents, replace: bool = False) -> int:
        """import_rdb, for a file already read (parse_rdb)."""
        dbs = self.kv.keyspace.dbs
        now = now_ms()
        keys = [record for record in contents.keys
                if not record.expires_at or record.expires_at > now]
        for key in contents.empty_keys[:10]:             # Redis names the first ten
            log.info("rdbLoadObject skipping empty key: %s", key.decode("utf-8", "replace"))
        seen = set()
        for record in keys:
            if record.db >= len(dbs):
                raise CorruptSnapshot(f"database {record.db} is beyond 'databases'")
            if (record.db, record.key) in seen:
                raise CorruptSnapshot(f"the key {record.key!r} is in the file twice")
            seen.add((record.db, record.key))
            if not replace and record.key in dbs[record.db].data:
                raise CorruptSnapshot("a key of the file is already in the keyspace")
        try:
            self.kv.functions.load_codes(contents.libraries, replace)
        except ErrorReply as error:
            raise CorruptSnapshot(f"a function library does not load: "
                                  f"{error.message}") from None
        for record in keys:
            db = dbs[record.db]
            if replace:
                db.delete(record.key)
            db.add(record.key, record.value)
            if record.expires_at:
                db.set_expire(record.key, record.expires_at)
        self.kv.keyspace.dirty = 0
        skipped = (f", empty keys skipped: {len(contents.empty_keys)}"
                   if contents.empty_keys else "")
        log.info("Done loading RDB, keys loaded: %d, keys expired: %d%s.", len(keys),
                 len(contents.keys) - len(keys), skipped)
        return len(keys)

    # -- saving -------------------------------------------------------------------------

    def save(self) -> None:
        """SAVE: write the snapshot now, in this process (everyone waits)."""
        started = time.time()
        dirty = self.kv.keyspace.dirty
        try:
            write_snapshot_file(self.kv, self.path)
        except OSError as exc:
            self._finished(False, started)
            log.error("failed saving the snapshot: %s", exc)
            raise
        self.kv.keyspace.dirty -= dirty
        self._finished(True, started)

    def start_background(self, dump=None, then=None) -> None:
        """BGSAVE: fork a child that writes the snapshot (with `dump`, see
        write_snapshot_file); returns at once. `then(ok)` is called when it ends."""
        self.last_attempt = time.time()
        self.scheduled = False
        pid = save_in_child(self.kv, self.path, dump)
        self.child_pid = pid
        self.child_started = time.time()
        self.dirty_at_fork = self.kv.keyspace.dirty
        self.then = then
        log.info("Background saving started by pid %d", pid)

    def poll(self) -> None:
        """From the cron: collect a finished BGSAVE child."""
        if not self.child_pid:
            return
        pid, status = os.waitpid(self.child_pid, os.WNOHANG)
        if pid == 0:
            return
        self.child_pid = 0
        self.last_cow_size = self.kv.child_finished()
        ok = os.waitstatus_to_exitcode(status) == 0
        if ok:
            self.kv.keyspace.dirty -= self.dirty_at_fork
            log.info("Background saving terminated with success")
        else:
            log.error("Background saving error")
        self._finished(ok, self.child_started)
        self._call_then(ok)

    def kill_child(self) -> None:
        """Stop a running BGSAVE child and remove its unfinished file: at shutdown, and
        at FLUSHALL (the old data must not overwrite the empty snapshot). Not a failed
        save: the changes it was saving stay counted as unsaved."""
        if not self.child_pid:
            return
        kill_saving_child(self.kv, self.child_pid, self.kv.config["dir"])
        self.child_pid = 0
        self._call_then(False)

    def _call_then(self, ok: bool) -> None:
        then, self.then = self.then, None
        if then is not None:
            then(ok)

    def _finished(self, ok: bool, started: float) -> None:
        self.last_status_ok = ok
        self.last_duration = int(time.time() - started)
        if ok:
            self.last_save_time = time.time()
            self.saves += 1
        self.kv.refresh_write_state()

    def rules_due(self) -> bool:
        """Has a `save <seconds> <changes>` rule come due?"""
        if self.in_progress or not self.may_try():
            return False
        now = time.time()
        dirty = self.kv.keyspace.dirty
        return any(dirty >= changes and now - self.last_save_time >= seconds
                   for seconds, changes in self.kv.config["save"])

    def may_try(self) -> bool:
        """After a failed save, the cron waits RETRY_DELAY before it tries again."""
        return self.last_status_ok or time.time() - self.last_attempt >= RETRY_DELAY
