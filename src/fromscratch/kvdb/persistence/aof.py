"""The append-only file: every change, logged before it is acknowledged.

Layout (Redis 7's multi-part AOF), in `<dir>/<appenddirname>/`:

    appendonly.aof.manifest        which files make up the log, in order
    appendonly.aof.3.base.rdb      a snapshot (our snapshot format: snapshot.py)
    appendonly.aof.3.incr.aof      the commands since that snapshot, as RESP

The manifest has one line per file, `file <name> seq <n> type <b|i>`, base first; it is
replaced atomically. To load, read the base snapshot, then replay the incremental files
in order through the normal command table.

What is logged is each change in a deterministic, absolute form (propagation.py):
`EXPIRE k 10` is logged as `PEXPIREAT k <unix ms>`, `SPOP s` as `SREM s <member>`, so
replaying gives the same data whenever it happens. A transaction is logged between
MULTI and EXEC, and a database change as SELECT.

Durability (`appendfsync`): commands are written to the file at the end of each event
loop turn, *before* any reply leaves; `always` also fsyncs there (one fsync for every
client served in that turn: group commit), so a write that was acknowledged survives
kill -9 and power loss; `everysec` fsyncs from a background thread once a second;
`no` leaves it to the kernel. kill -9 loses nothing acknowledged with any of the three;
only `always` also survives losing the machine.

Rewriting (BGREWRITEAOF, or automatic past `auto-aof-rewrite-percentage`): the parent
starts a new incremental file at once and keeps appending there; a forked child writes
the keyspace as it was at that moment as a new base; when the child succeeds, the
manifest is switched to [new base, new incr] and the old files are deleted. Service
never stops, and a failed rewrite leaves a valid (longer) log.

Loading: a last command cut short (a crash mid-write) is dropped with a warning and
the file truncated to the last whole command (`aof-load-truncated yes`); bytes that are
not RESP anywhere else stop start-up with a message naming the file and offset.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time

from ...resp import encode_command
from .snapshot import CorruptSnapshot
from ...durable import sync_directory, write_file_atomically
from .snapshotter import save_in_child, temporary_path

log = logging.getLogger("fromscratch.kvdb")


class CorruptAof(Exception):
    """Bytes in the log that are not commands; the message names the file and offset."""


# -- reading the log ----------------------------------------------------------------------------

def parse_log(data: bytes, name: str):
    """Yield (argv, end offset) for each whole command in `data`. Returns the offset
    where an incomplete last command starts (len(data) when the file ends cleanly);
    raises CorruptAof for anything that is not a RESP command."""
    position, size = 0, len(data)
    while position < size:
        start = position
        if data[position] != 0x2A:                     # '*'
            raise CorruptAof(f"{name}: expected a command ('*') at offset {start}")
        end = data.find(b"\r\n", position)
        if end < 0:
            return start
        count = data[position + 1:end]
        if not count.isdigit():
            raise CorruptAof(f"{name}: bad argument count at offset {start}")
        position = end + 2
        argv = []
        for _ in range(int(count)):
            if position >= size:
                return start
            if data[position] != 0x24:                 # '$'
                raise CorruptAof(f"{name}: expected an argument ('$') at offset {position}")
            end = data.find(b"\r\n", position)
            if end < 0:
                return start
            length = data[position + 1:end]
            if not length.isdigit():
                raise CorruptAof(f"{name}: bad argument length at offset {position}")
            payload_end = end + 2 + int(length)
            if payload_end + 2 > size:
                return start
            if data[payload_end:payload_end + 2] != b"\r\n":
                raise CorruptAof(f"{name}: argument not followed by CRLF at offset {payload_end}")
            argv.append(data[end + 2:payload_end])
            position = payload_end + 2
        yield argv, position
    return size


# -- the manifest -----------------------------------------------------------------------------------

class Manifest:
    """The ordered list of files that make up the log."""

    def __init__(self, base: tuple[str, int] | None = None, incrs: list[tuple[str, int]] | None = None):
        self.base = base                          # (file name, seq)
        self.incrs = incrs or []                  # [(file name, seq)], oldest first

    @classmethod
    def read(cls, path: str) -> "Manifest":
        manifest = cls()
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                words = line.split()
                if not words:
                    continue
                fields = dict(zip(words[::2], words[1::2]))
                if set(fields) != {"file", "seq", "type"} or not fields["seq"].isdigit():
                    raise CorruptAof(f"{path}: invalid manifest line {number}: {line.strip()!r}")
                entry = (fields["file"], int(fields["seq"]))
                if fields["type"] == "b":
                    manifest.base = entry
                elif fields["type"] == "i":
                    manifest.incrs.append(entry)
                else:
                    raise CorruptAof(f"{path}: unknown file type on line {number}")
        return manifest

    def text(self) -> str:
        lines = []
        if self.base:
            lines.append(f"file {self.base[0]} seq {self.base[1]} type b")
        lines += [f"file {name} seq {seq} type i" for name, seq in self.incrs]
        return "\n".join(lines) + "\n"

    def files(self) -> list[str]:
        return ([self.base[0]] if self.base else []) + [name for name, _ in self.incrs]


# -- the log itself -----------------------------------------------------------------------------

class RewriteHistory:
    """How the log's rewrites went, server-wide (whichever log did them, on or off):
    INFO persistence's aof_rewrites and the rest."""

    def __init__(self):
        self.rewrites = 0
        self.last_ok = True
        self.failures = 0               # in a row, since the last success
        self.last_duration = -1
        self._retry_delay = 0           # minutes (see limited)
        self._retry_at = 0.0

    def limited(self) -> bool:
        """After three failed rewrites in a row, the cron waits before it tries again:
        a minute, then twice as long each time, up to an hour (as Redis)."""
        if self.failures < 3:
            self._retry_delay, self._retry_at = 0, 0.0
            return False
        if self._retry_at:
            if time.time() < self._retry_at:
                return True
            self._retry_at = 0.0
            return False
        self._retry_delay = min(2 * self._retry_delay or 1, 60)
        self._retry_at = time.time() + 60 * self._retry_delay
        log.warning("Background AOF rewrite has repeatedly failed and triggered the limit, "
                    "will retry in %d minutes", self._retry_delay)
        return True


class AppendOnlyFile:
    def __init__(self, kv):
        self.kv = kv
        self.buffer: list[bytes] = []           # commands not yet written to the file
        self.db_index = -1                      # the database the log last SELECTed
        self.handle = None                      # the incremental file being appended to
        self.manifest = Manifest()
        self.held_clients: list = []            # replies waiting for the write (and fsync)
        self.flush_scheduled = False
        self.last_write_ok = True
        self.base_size = 0                      # size of the log after the last rewrite
        self.rewrite_child = 0
        self.rewrite_started = 0.0
        self.history: RewriteHistory = kv.aof_history
        self._unsynced = False
        self._fsync_stop = threading.Event()
        self._fsync_thread: threading.Thread | None = None

    # -- where things are ---------------------------------------------------------------

    @property
    def directory(self) -> str:
        return os.path.join(self.kv.config["dir"], self.kv.config["appenddirname"])

    @property
    def prefix(self) -> str:
        return self.kv.config["appendfilename"]

    def _path(self, name: str) -> str:
        return os.path.join(self.directory, name)

    @property
    def manifest_path(self) -> str:
        return self._path(self.prefix + ".manifest")

    def current_size(self) -> int:
        return sum(os.path.getsize(self._path(name)) for name in self.manifest.files()
                   if os.path.exists(self._path(name)))

    # -- start-up ---------------------------------------------------------------------------

    def load(self) -> int:
        """Replay the log into the keyspace. Returns the commands replayed."""
        if not os.path.exists(self.manifest_path):
            return 0
        self.manifest = Manifest.read(self.manifest_path)
        if self.manifest.base:
            path = self._path(self.manifest.base[0])
            with open(path, "rb") as handle:
                try:
                    self.kv.load_snapshot(handle.read())
                except CorruptSnapshot as exc:
                    raise CorruptAof(f"{path}: {exc}") from None
        replayed = 0
        last = len(self.manifest.incrs) - 1
        for position, (name, _) in enumerate(self.manifest.incrs):
            replayed += self._replay(self._path(name), is_last=position == last)
        self.base_size = self.current_size()
        log.info("loaded the append-only file: %d commands replayed", replayed)
        return replayed

    def _replay(self, path: str, is_last: bool) -> int:
        with open(path, "rb") as handle:
            data = handle.read()
        client = self.kv.loading_client()
        name = os.path.basename(path)
        commands = parse_log(data, name)
        replayed = 0
        transaction_start = None
        clean_end = len(data)
        while True:
            try:
                argv, end = next(commands)
            except StopIteration as stop:
                clean_end = stop.value
                break
            word = argv[0].upper() if argv else b""
            if word == b"MULTI":
                transaction_start = end - len(encode_command(argv))
            elif word == b"EXEC":
                transaction_start = None
            client.call(argv)
            client.out.clear()
            replayed += 1
        if transaction_start is not None:
            clean_end = min(clean_end, transaction_start)   # a transaction never finished
        if clean_end < len(data):
            if not (is_last and self.kv.config["aof-load-truncated"]):
                raise CorruptAof(f"{path}: unexpected end of file at offset {clean_end}")
            log.warning("!!! Warning: short read while loading the append-only file %s: "
                        "dropping the last %d bytes (an incomplete command) !!!",
                        name, len(data) - clean_end)
            with open(path, "r+b") as handle:
                handle.truncate(clean_end)
                os.fsync(handle.fileno())
        return replayed

    def start(self) -> None:
        """Open the log for appending; create it (base + incr) if there is none."""
        os.makedirs(self.directory, exist_ok=True)
        if not self.manifest.incrs:
            self._create_from_current_data()
        self.handle = open(self._path(self.manifest.incrs[-1][0]), "ab")
        self.db_index = -1
        if self.kv.config["appendfsync"] == "everysec":
            self._start_fsync_thread()

    def _create_from_current_data(self) -> None:
        seq = (self.manifest.base[1] if self.manifest.base else 0) + 1
        base = f"{self.prefix}.{seq}.base.rdb"
        incr = f"{self.prefix}.{seq}.incr.aof"
        write_file_atomically(self._path(base), self.kv.dump_snapshot)
        # Empty, even if a file of that name is left from when the log was last on:
        # the new base already holds everything, and old commands must not replay.
        open(self._path(incr), "wb").close()
        old = self.manifest.files()
        self.manifest = Manifest((base, seq), [(incr, seq)])
        self._write_manifest()
        self._remove_files(old)
        self.base_size = self.current_size()

    def _write_manifest(self) -> None:
        write_file_atomically(self.manifest_path,
                              lambda handle: handle.write(self.manifest.text().encode()))

    def _remove_files(self, names) -> None:
        for name in names:
            if name not in self.manifest.files() and os.path.exists(self._path(name)):
                os.unlink(self._path(name))

    # -- appending ------------------------------------------------------------------------------

    def append(self, ops: list[tuple[int, list[bytes]]]) -> None:
        """Log changes, each (database index, command), with a SELECT when the database
        changes."""
        for db_index, argv in ops:
            if db_index != self.db_index:
                self.buffer.append(encode_command([b"SELECT", b"%d" % db_index]))
                self.db_index = db_index
            self.buffer.append(encode_command(argv))

    def hold(self, client) -> None:
        """Keep `client`'s replies until the log has been written (see flush)."""
        self.held_clients.append(client)
        if not self.flush_scheduled:
            self.flush_scheduled = True
            self.kv.loop.call_soon(self.flush)

    def flush(self) -> None:
        """End of an event loop turn: write the log (fsync for `always`), then let the
        replies that waited for it go."""
        self.flush_scheduled = False
        if self.buffer and self.handle is not None:
            data = b"".join(self.buffer)
            self.buffer = []
            try:
                self.handle.write(data)
                self.handle.flush()
                if self.kv.config["appendfsync"] == "always":
                    os.fsync(self.handle.fileno())
                else:
                    self._unsynced = True
                self.last_write_ok = True
            except OSError as exc:
                log.error("error writing the append-only file: %s", exc)
                self.last_write_ok = False
                self.kv.refresh_write_state()
        clients, self.held_clients = self.held_clients, []
        for client in clients:
            client.flush_now()

    def _start_fsync_thread(self) -> None:
        if self._fsync_thread is not None:
            return
        self._fsync_stop.clear()

        def fsync_every_second():
            while not self._fsync_stop.wait(1.0):
                handle = self.handle
                if self._unsynced and handle is not None:
                    self._unsynced = False
                    try:
                        os.fsync(handle.fileno())
                    except (OSError, ValueError):
                        pass                           # closed meanwhile: nothing to sync

        self._fsync_thread = threading.Thread(target=fsync_every_second, daemon=True,
                                              name="aof-fsync")
        self._fsync_thread.start()

    def close(self) -> None:
        """Write, fsync and close (at shutdown, or when AOF is turned off)."""
        self.flush()
        self._fsync_stop.set()
        if self._fsync_thread is not None:
            self._fsync_thread.join()
            self._fsync_thread = None
        if self.handle is not None:
            os.fsync(self.handle.fileno())
            self.handle.close()
            self.handle = None

    # -- rewriting ----------------------------------------------------------------------------------

    @property
    def rewriting(self) -> bool:
        return self.rewrite_child != 0

    @property
    def writing_initial(self) -> bool:
        """The first base is being written: until it is, there is no log to load."""
        return self.rewriting and not self.manifest.incrs

    def start_rewrite(self) -> None:
        """BGREWRITEAOF: new incr file now, new base from a forked child.

        The log turned on at runtime (or rewritten while appendonly is off) starts the
        same way, but with no manifest until the child's base is written: before that,
        its incr file alone would load as an empty dataset."""
        self.flush()
        os.makedirs(self.directory, exist_ok=True)
        seq = max(seq for _, seq in self.manifest.incrs) + 1 if self.manifest.incrs else 1
        incr = f"{self.prefix}.{seq}.incr.aof"
        old_handle = self.handle
        if self.manifest.incrs:
            self.handle = open(self._path(incr), "ab")
        else:            # (a failed first attempt's commands are in the next base)
            self.handle = open(self._path(incr), "wb")
        self.db_index = -1
        if old_handle is not None:
            os.fsync(old_handle.fileno())
            old_handle.close()
        if self.manifest.incrs:
            self.manifest.incrs.append((incr, seq))
            self._write_manifest()
        sync_directory(self.directory)
        if self.kv.config["appendfsync"] == "everysec":
            self._start_fsync_thread()
        self.rewrite_started = time.time()
        pid = save_in_child(self.kv, self._path(f"{self.prefix}.{seq}.base.rdb"))
        self.rewrite_child = pid
        self._rewrite_seq = seq
        log.info("background append-only file rewriting started by pid %d", pid)

    def poll(self) -> None:
        """From the cron: finish a rewrite whose child is done."""
        if not self.rewrite_child:
            return
        pid, status = os.waitpid(self.rewrite_child, os.WNOHANG)
        if pid == 0:
            return
        self.rewrite_child = 0
        history = self.history
        history.last_duration = int(time.time() - self.rewrite_started)
        seq = self._rewrite_seq
        if os.waitstatus_to_exitcode(status) != 0:
            history.last_ok = False
            history.failures += 1
            log.error("background append-only file rewriting failed")
            if not self.manifest.incrs and self.kv.aof is self:
                self.kv.aof_rewrite_scheduled = True    # the log is on but not there yet
            return
        old = self.manifest.files()
        self.manifest = Manifest((f"{self.prefix}.{seq}.base.rdb", seq),
                                 [(f"{self.prefix}.{seq}.incr.aof", seq)])
        self._write_manifest()
        self._remove_files(old)
        history.rewrites += 1
        history.last_ok = True
        history.failures = 0
        self.base_size = self.current_size()
        log.info("background append-only file rewriting terminated with success")

    def rewrite_due(self) -> bool:
        """`auto-aof-rewrite-percentage` growth past `auto-aof-rewrite-min-size`."""
        config = self.kv.config
        percentage = config["auto-aof-rewrite-percentage"]
        if not percentage or self.rewriting:
            return False
        size = self.current_size()
        if size < config["auto-aof-rewrite-min-size"]:
            return False
        base = max(self.base_size, 1)
        return (size - base) * 100 / base >= percentage

    def stop_rewrite(self) -> None:
        """Kill a running rewrite child and remove what it left unfinished (and the
        log of a first rewrite, which no manifest names)."""
        if not self.rewrite_child:
            return
        log.info("Killing running AOF rewrite child: %d", self.rewrite_child)
        os.kill(self.rewrite_child, signal.SIGKILL)
        os.waitpid(self.rewrite_child, 0)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary_path(self.directory, self.rewrite_child))
        self.rewrite_child = 0
        if not self.manifest.incrs:
            self.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._path(f"{self.prefix}.{self._rewrite_seq}.incr.aof"))
