"""The append-only file: every change, logged before it is acknowledged.

Layout (Redis 7's multi-part AOF), in `<dir>/<appenddirname>/`:

    appendonly.aof.manifest        which files make up the log, in order
    appendonly.aof.3.base.rdb      the data at the last rewrite: an RDB file (rdb.py), or
                                   with aof-use-rdb-preamble no, appendonly.aof.3.base.aof:
                                   the commands that rebuild it (aof_commands.py)
    appendonly.aof.5.incr.aof      the commands since that snapshot, as RESP

The manifest has one line per file, `file <name> seq <n> type <b|h|i>`: the base first,
then history (files a rewrite replaced, not loaded, deleted soon after), then the
incremental files, oldest first. It is replaced atomically. To load, read the base,
then replay the incremental files in order through the normal command table.

Every file is read the same way, by what it holds, not by its name, as Redis reads
them: a snapshot first -- ours, or a real Redis's RDB file (it starts with "REDIS") --
then commands, as RESP. So a base may be our snapshot, an RDB file, or a command log
(what Redis writes with `aof-use-rdb-preamble no`), and a real Redis's appendonlydir
loads here as it is. Redis before 7 kept the whole log in one file,
`<dir>/<appendfilename>`: found there, it is moved in as the base of a multi-part log.

What is logged is each change in a deterministic, absolute form (propagation.py):
`EXPIRE k 10` is logged as `PEXPIREAT k <unix ms>`, `SPOP s` as `SREM s <member>`, so
replaying gives the same data whenever it happens. A transaction is logged between
MULTI and EXEC, and a database change as SELECT.

Durability (`appendfsync`): commands are written to the file at the end of each event
loop turn, *before* any reply leaves; `always` also fsyncs there (one fsync for every
client served in that turn: group commit), so a write that was acknowledged survives
kill -9 and power loss; `everysec` fsyncs from a background thread once a second;
`no` leaves it to the kernel. kill -9 loses nothing acknowledged with any of the three;
only `always` also survives losing the machine. WAITAOF asks how much of the log is
known to be on disk: the bytes logged, written and fsynced are counted (`logged`,
`written`, `synced`), and a client's last write is remembered as the `logged` count after
it; with `no`, nothing is ever known to be on disk, as in Redis.

Rewriting (BGREWRITEAOF, or automatic past `auto-aof-rewrite-percentage`): the parent
starts a new incremental file at once and keeps appending there; a forked child writes
the keyspace as it was at that moment as a new base; when the child succeeds, the
manifest is switched to [new base, new incr] and the old files become history, deleted
at once unless `aof-disable-auto-gc yes`. Service never stops, and a failed rewrite
leaves a valid (longer) log. Bases and incremental files are numbered apart, each one
more than the last of its kind, as Redis numbers them.

Loading: a last command cut short (a crash mid-write) is dropped with a warning and
the file truncated to the last whole command (`aof-load-truncated yes`); anything else
wrong -- a manifest Redis would refuse, a file it names missing, bytes that are not
RESP -- stops start-up with Redis's message for it, naming the file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import time

from ...resp import ProtocolError, encode_command, quote_repr, split_inline
from .rdb import RdbError, is_rdb, read_rdb_prefix
from .snapshot import MAGIC as SNAPSHOT_MAGIC, CorruptSnapshot
from ...durable import sync_directory, write_file_atomically
from .snapshotter import kill_saving_child, save_in_child

log = logging.getLogger("fromscratch.kvdb")


class CorruptAof(Exception):
    """The log cannot be loaded; the message is Redis's for the problem, naming the file
    (and the offset or line)."""


# -- reading the log ----------------------------------------------------------------------------

def _bad_format(name: str, problem: str, offset: int) -> CorruptAof:
    return CorruptAof(f"Bad file format reading the append only file {name}: "
                      f"{problem} at offset {offset}")


def parse_log(data: bytes, name: str, position: int = 0):
    """Yield (argv, end offset) for each whole command in `data`, from `position` on.
    Returns the offset where an incomplete last command starts (len(data) when the file
    ends cleanly); raises CorruptAof for anything that is not a RESP command.

    A line starting with '#' between commands is an annotation (Redis's timestamps,
    `aof-timestamp-enabled`), skipped. One cut short counts as incomplete, not as
    the end: whatever is appended after it must not become part of it."""
    size = len(data)
    while position < size:
        start = position
        if data[position] == 0x23:                     # '#'
            end = data.find(b"\n", position)
            if end < 0:
                return start
            position = end + 1
            continue
        if data[position] != 0x2A:                     # '*'
            raise _bad_format(name, "expected a command ('*')", start)
        end = data.find(b"\r\n", position)
        if end < 0:
            return start
        count = data[position + 1:end]
        if not count.isdigit() or int(count) < 1:
            raise _bad_format(name, "bad argument count", start)
        position = end + 2
        argv = []
        for _ in range(int(count)):
            if position >= size:
                return start
            if data[position] != 0x24:                 # '$'
                raise _bad_format(name, "expected an argument ('$')", position)
            end = data.find(b"\r\n", position)
            if end < 0:
                return start
            length = data[position + 1:end]
            if not length.isdigit():
                raise _bad_format(name, "bad argument length", position)
            payload_end = end + 2 + int(length)
            if payload_end + 2 > size:
                return start
            if data[payload_end:payload_end + 2] != b"\r\n":
                raise _bad_format(name, "argument not followed by CRLF", payload_end)
            argv.append(data[end + 2:payload_end])
            position = payload_end + 2
        yield argv, position
    return size


# -- the manifest -----------------------------------------------------------------------------------

BASE, HISTORY, INCR = "b", "h", "i"
MANIFEST_MAX_LINE = 1024            # Redis reads lines into a buffer of this size
_LEADING_INTEGER = re.compile(rb"\s*([+-]?[0-9]+)")


class Manifest:
    """The files that make up the log: the base, history, and the incremental files in
    the order they replay; each an entry (file name, seq).

    base_seq and incr_seq are the sequence numbers last given to a base and to an
    incremental file: the next ones follow them, whatever the files listed now."""

    def __init__(self, base: tuple[str, int] | None = None,
                 incrs: list[tuple[str, int]] | None = None,
                 history: list[tuple[str, int]] | None = None):
        self.base = base
        self.history = history or []
        self.incrs = incrs or []
        self.base_seq = base[1] if base else 0
        self.incr_seq = self.incrs[-1][1] if self.incrs else 0

    # -- reading ----------------------------------------------------------------------

    @classmethod
    def read(cls, path: str) -> "Manifest":
        """The manifest at `path`. Raises CorruptAof if Redis would refuse it."""
        source = os.path.basename(path)
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise CorruptAof(f"Fatal error: can't open the AOF manifest file {source} "
                             f"for reading: {exc.strerror}") from None
        return cls.parse(data, source)

    @classmethod
    def parse(cls, data: bytes, source: str) -> "Manifest":
        """A manifest's text, checked as Redis checks it (aof.c, aofLoadManifestFromFile);
        `source` names it in the messages. Raises CorruptAof, with Redis's message."""
        if not data:
            raise CorruptAof(f"Found an empty AOF manifest ({source})")
        manifest = cls()
        *lines, unterminated = data.split(b"\n")
        numbered = [(number, line, True) for number, line in enumerate(lines, 1)]
        if unterminated:
            numbered.append((len(lines) + 1, unterminated, False))
        for number, line, terminated in numbered:
            if line.startswith(b"#"):
                continue                                    # a comment
            # Redis reads a line with fgets into 1024 bytes and wants its newline among
            # them: a longer line, or a last line without a newline, is "too long".
            if not terminated or len(line) >= MANIFEST_MAX_LINE:
                raise CorruptAof(f"The AOF manifest file contains too long line "
                                 f"(line {number} of {source})")
            line = line.strip(b" \t\r")
            context = f"line {number} of {source}: '{line.decode('utf-8', 'backslashreplace')}'"
            entry, kind = _parse_entry(line, context)
            manifest._add(entry, kind, context)
        return manifest

    def _add(self, entry: tuple[str, int], kind: str, context: str) -> None:
        """One line's entry, where its type says; `context` is for the messages."""
        if kind == BASE:
            if self.base is not None:
                raise CorruptAof(f"Found duplicate base file information ({context})")
            self.set_base(entry)
        elif kind == HISTORY:
            self.history.append(entry)
        elif kind == INCR:
            if entry[1] <= self.incr_seq:
                raise CorruptAof(f"Found a non-monotonic sequence number ({context})")
            self.add_incr(entry)
        else:
            raise CorruptAof(f"Unknown AOF file type ({context})")

    # -- writing ------------------------------------------------------------------------

    def text(self) -> str:
        """The manifest as Redis writes it: base, history, then incremental files."""
        entries = ([(self.base, BASE)] if self.base else []) \
            + [(entry, HISTORY) for entry in self.history] \
            + [(entry, INCR) for entry in self.incrs]
        return "".join(f"file {_quoted_if_needed(name)} seq {seq} type {kind}\n"
                       for (name, seq), kind in entries)

    # -- the files ----------------------------------------------------------------------

    def files(self) -> list[str]:
        """The files to load, in order: the base and the incremental files."""
        return ([self.base[0]] if self.base else []) + [name for name, _ in self.incrs]

    def next_base(self, prefix: str, rdb: bool = True) -> tuple[str, int]:
        """The name and number of the next base: `.base.rdb` for an RDB file, else
        `.base.aof` (commands), as Redis names them."""
        seq = self.base_seq + 1
        return f"{prefix}.{seq}.base.{'rdb' if rdb else 'aof'}", seq

    def next_incr(self, prefix: str) -> tuple[str, int]:
        seq = self.incr_seq + 1
        return f"{prefix}.{seq}.incr.aof", seq

    def set_base(self, entry: tuple[str, int]) -> None:
        self.base = entry
        self.base_seq = entry[1]

    def add_incr(self, entry: tuple[str, int]) -> None:
        self.incrs.append(entry)
        self.incr_seq = entry[1]


def _parse_entry(line: bytes, context: str) -> tuple[tuple[str, int], str]:
    """One manifest line: ((file name, seq), type letter).

    Words are split as Redis splits them (quotes and escapes: split_inline) and go in
    pairs, key then value, keys in any case and order. Keys Redis does not know are
    ignored, left for newer versions, so a line has at least six words; the three keys
    it needs must be there, with values that are not empty or (seq) zero."""
    invalid = CorruptAof(f"Invalid AOF manifest file format ({context})")
    try:
        words = split_inline(line)
    except ProtocolError:                   # unbalanced quotes
        raise invalid from None
    if len(words) < 6 or len(words) % 2:
        raise invalid
    fields = {key.lower(): value for key, value in zip(words[::2], words[1::2])}
    name = fields.get(b"file", b"")
    seq = _c_integer(fields.get(b"seq", b""))
    kind = fields.get(b"type", b"")[:1].decode("latin-1")
    if b"/" in name or b"\\" in name:
        raise CorruptAof(f"File can't be a path, just a filename ({context})")
    if not name or not seq or not kind:
        raise invalid
    return (name.decode("utf-8", "surrogateescape"), seq), kind


def _c_integer(text: bytes) -> int:
    """`text` read as C's atoll reads it (Redis reads `seq` so): the integer it starts
    with, 0 if none."""
    match = _LEADING_INTEGER.match(text)
    return int(match.group(1)) if match else 0


def _quoted_if_needed(name: str) -> str:
    """A file name as a manifest line holds it: as it is, or quoted as Redis quotes it
    (sdscatrepr) when it holds a space, a quote, a backslash or a byte that is not
    printable ASCII. Redis leaves a single quote unquoted, which its own reader then
    misreads; quoting it too keeps every name readable, by both."""
    raw = name.encode("utf-8", "surrogateescape")
    if all(0x21 <= byte <= 0x7E and byte not in b"\\\"'" for byte in raw):
        return name
    return quote_repr(raw)


# -- the log itself -----------------------------------------------------------------------------

class RewriteHistory:
    """How the log's rewrites went, server-wide (whichever log did them, on or off):
    INFO persistence's aof_rewrites and the rest."""

    def __init__(self):
        self.rewrites = 0
        self.last_ok = True
        self.failures = 0               # in a row, since the last success
        self.last_duration = -1
        self.last_cow_size = 0          # the last rewrite child's copy-on-write, in bytes
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
        self.last_timestamp = 0                 # the last #TS: annotation's
        self.handle = None                      # the incremental file being appended to
        self.manifest = Manifest()
        # Whether the log is complete on disk -- a base, and the file appended to listed
        # after it -- from start() or the first rewrite of a log turned on at runtime.
        self.started = False
        self.held_clients: list = []            # replies waiting for the write (and fsync)
        self.flush_scheduled = False
        self.last_write_ok = True
        self.base_size = 0                      # size of the log after the last rewrite
        self.rewrite_child = 0
        self.rewrite_started = 0.0
        self.history: RewriteHistory = kv.aof_history
        self._unsynced = False
        # For WAITAOF: bytes of commands logged since start, written to the file, and
        # known to be on disk; the last also as the offset of the replication stream
        # then (what a replica reports to its primary as FACK).
        self.logged = 0
        self.written = 0
        self.written_stream_offset = 0
        self.synced = 0
        self.synced_stream_offset = 0
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
        """Replay the log into the keyspace, as Redis loads it (aof.c,
        loadAppendOnlyFiles). Returns the commands replayed. Raises CorruptAof, with
        Redis's message, for a log Redis would refuse to load."""
        self.manifest = self._read_manifest()
        self._upgrade_old_style_file()
        names = self.manifest.files()
        # All there before anything loads, as Redis checks them.
        total_size = sum(self._file_size(name) for name in names)
        if self.kv.load_progress is not None:
            self.kv.load_progress.expect(total_size)
        replayed = 0
        for position, name in enumerate(names):
            replayed += self._load_file(name, is_last=position == len(names) - 1)
        self.base_size = self.current_size()
        self.collect_history()
        if names:
            log.info("DB loaded from append only file: %d commands replayed", replayed)
        return replayed

    def _read_manifest(self) -> Manifest:
        """The manifest on disk; an empty one when there is none yet."""
        if not os.path.exists(self.manifest_path):
            return Manifest()
        return Manifest.read(self.manifest_path)

    def _upgrade_old_style_file(self) -> None:
        """Redis before 7 kept the whole log in one file, `<dir>/<appendfilename>`.
        Found there while the manifest lists no incremental file, and no base or only
        that file as the base (a first upgrade cut short after writing the manifest)
        but it is not in the directory yet, it becomes the base of a multi-part log, as
        Redis upgrades it (aofUpgradePrepare): the manifest is written first, then the
        file moved in, so a crash between the two is finished at the next start."""
        old_path = os.path.join(self.kv.config["dir"], self.prefix)
        if not os.path.isfile(old_path) or self.manifest.incrs:
            return
        base = self.manifest.base
        moved_already = os.path.isfile(self._path(self.prefix))
        if base is not None and (base[0] != self.prefix or moved_already):
            return
        os.makedirs(self.directory, exist_ok=True)
        self.manifest.set_base((self.prefix, 1))
        self._write_manifest()
        try:
            os.rename(old_path, self._path(self.prefix))
        except OSError as exc:
            raise CorruptAof(f"Error trying to move the old AOF file {self.prefix} into dir "
                             f"{self.kv.config['appenddirname']}: {exc.strerror}") from None
        log.info("Successfully migrated an old-style AOF file (%s) into the AOF directory (%s).",
                 self.prefix, self.kv.config["appenddirname"])

    def _file_size(self, name: str) -> int:
        try:
            return os.stat(self._path(name)).st_size
        except OSError as exc:
            raise CorruptAof(f"Unable to obtain the AOF file {name} length. "
                             f"stat: {exc.strerror}") from None

    def _load_file(self, name: str, is_last: bool) -> int:
        """Load one file of the log: the snapshot it starts with, if any, then its
        commands. Returns the commands replayed."""
        with open(self._path(name), "rb") as handle:
            data = handle.read()
        if self.kv.load_progress is not None:
            self.kv.load_progress.begin_file(len(data))
        try:
            commands_start = self._load_snapshot_part(data)
        except CorruptSnapshot as exc:
            raise CorruptAof(f"Error reading the snapshot at the start of the AOF file "
                             f"{name}, AOF loading aborted: {exc}") from None
        return self._replay(data, commands_start, name, is_last)

    def _load_snapshot_part(self, data: bytes) -> int:
        """Load the snapshot `data` starts with, if it starts with one: an RDB file (our
        bases, or a real Redis's, whose old single-file log has the commands since after
        it), or our snapshot format (always a whole file). Returns the offset where the
        commands start.
        Raises CorruptSnapshot."""
        if is_rdb(data):
            try:
                contents, end = read_rdb_prefix(data, self.kv.on_key_loaded)
            except RdbError as error:
                raise CorruptSnapshot(str(error)) from None
            self.kv.snapshotter.import_contents(contents)
            return end
        if data.startswith(SNAPSHOT_MAGIC):
            self.kv.load_snapshot(data)
            return len(data)
        return 0

    def _replay(self, data: bytes, start: int, name: str, is_last: bool) -> int:
        """Run the commands of `data` from `start` on; returns how many ran. An
        incomplete end (a crash mid-write, or a transaction never finished) is cut off
        the last file with `aof-load-truncated yes`; anywhere else it is an error."""
        client = self.kv.loading_client()
        progress = self.kv.load_progress
        commands = parse_log(data, name, start)
        replayed = 0
        transaction_start = None
        while True:
            try:
                argv, end = next(commands)
            except StopIteration as stop:
                clean_end = stop.value
                break
            word = argv[0].upper()
            if word == b"MULTI":
                transaction_start = end - len(encode_command(argv))
            elif word == b"EXEC":
                transaction_start = None
            if self.kv.table.lookup(argv[0]) is None:
                # Redis refuses to start rather than load the log without it.
                raise CorruptAof(f"Unknown command '{argv[0].decode('utf-8', 'replace')}' "
                                 f"reading the append only file {name}")
            client.call(argv)
            client.out.clear()
            replayed += 1
            if progress is not None:
                progress.command_replayed(end)
        if transaction_start is not None:
            log.warning("Revert incomplete MULTI/EXEC transaction in AOF file %s", name)
            clean_end = min(clean_end, transaction_start)
        if clean_end < len(data):
            if not self.kv.config["aof-load-truncated"]:
                raise CorruptAof(f"Unexpected end of file reading the append only file {name}: "
                                 f"the last whole command ends at offset {clean_end}")
            if not is_last:          # the files after it were written on top of what is lost
                raise CorruptAof(f"Fatal error: the truncated file {name} is not the last file "
                                 f"(the last whole command ends at offset {clean_end})")
            log.warning("!!! Warning: short read while loading the AOF file %s: dropping the "
                        "last %d bytes (an incomplete command) !!!", name, len(data) - clean_end)
            with open(self._path(name), "r+b") as handle:
                handle.truncate(clean_end)
                os.fsync(handle.fileno())
        return replayed

    def start(self) -> None:
        """Open the log for appending, as Redis does at start-up: a log with no files
        yet gets a base first (the data as it is); then appending goes on at the end of
        the last incremental file, or in a new one."""
        os.makedirs(self.directory, exist_ok=True)
        changed = False
        if self.manifest.base is None and not self.manifest.incrs:
            self._write_first_base()
            changed = True
        if self.manifest.incrs:
            name = self.manifest.incrs[-1][0]
            self.handle = open(self._path(name), "ab")
            log.info("Opening AOF incr file %s on server start", name)
        else:
            incr = self.manifest.next_incr(self.prefix)
            # Empty, even if a file of that name is left from when the log was last on:
            # the base already holds everything, and old commands must not replay.
            self.handle = open(self._path(incr[0]), "wb")
            self.manifest.add_incr(incr)
            log.info("Creating AOF incr file %s on server start", incr[0])
            changed = True
        if changed:
            self._write_manifest()
        self.started = True
        self.base_size = self.current_size()
        self.db_index = -1
        if self.kv.config["appendfsync"] == "everysec":
            self._start_fsync_thread()

    def _write_first_base(self) -> None:
        base = self.manifest.next_base(self.prefix, self.kv.config["aof-use-rdb-preamble"])
        write_file_atomically(self._path(base[0]), self.kv.dump_aof_base)
        self.manifest.set_base(base)
        log.info("Creating AOF base file %s on server start", base[0])

    def collect_history(self) -> None:
        """Delete the files a rewrite replaced, listed as history until then (they
        stay with `aof-disable-auto-gc yes`)."""
        if not self.manifest.history or self.kv.config["aof-disable-auto-gc"]:
            return
        old = [name for name, _ in self.manifest.history]
        self.manifest.history = []
        self._write_manifest()
        for name in old:
            log.info("Removing the history file %s", name)
        self._remove_files(old)

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
        changes, and with `aof-timestamp-enabled` a `#TS:<unix seconds>` line (which
        loading skips) when the second has changed since the last."""
        buffered = len(self.buffer)
        if self.kv.config["aof-timestamp-enabled"]:
            now = int(time.time())
            if now > self.last_timestamp:
                self.last_timestamp = now
                self.buffer.append(b"#TS:%d\r\n" % now)
        for db_index, argv in ops:
            if db_index != self.db_index:
                self.buffer.append(encode_command([b"SELECT", b"%d" % db_index]))
                self.db_index = db_index
            self.buffer.append(encode_command(argv))
        self.logged += sum(map(len, self.buffer[buffered:]))

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
            if self.kv.aof_flush_sleep:             # DEBUG AOF-FLUSH-SLEEP, a test knob
                time.sleep(self.kv.aof_flush_sleep / 1e6)
            data = b"".join(self.buffer)
            self.buffer = []
            try:
                self.handle.write(data)
                self.handle.flush()
                # (counted once in the kernel's hands: the fsync thread may read them)
                self.written += len(data)
                self.written_stream_offset = self.kv.stream_offset()
                fsync = self.kv.config["appendfsync"]
                if fsync == "always":
                    os.fsync(self.handle.fileno())
                    self._synced(self.written, self.written_stream_offset)
                elif fsync == "everysec":
                    self._unsynced = True
                    self._start_fsync_thread()          # (if set so at run time)
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
                if (self._unsynced and handle is not None
                        and self.kv.config["appendfsync"] == "everysec"):
                    self._unsynced = False
                    # What the fsync covers: at least what was written before it.
                    written, stream_offset = self.written, self.written_stream_offset
                    try:
                        os.fsync(handle.fileno())
                    except (OSError, ValueError):
                        continue                       # closed meanwhile: nothing to sync
                    try:
                        self.kv.loop.call_soon_threadsafe(self._synced, written, stream_offset)
                    except RuntimeError:
                        return                         # the loop is closed: we are stopping

        self._fsync_thread = threading.Thread(target=fsync_every_second, daemon=True,
                                              name="aof-fsync")
        self._fsync_thread.start()

    def _synced(self, written: int, stream_offset: int) -> None:
        """The first `written` bytes are on disk: clients waiting in WAITAOF may go."""
        if written > self.synced:
            self.synced, self.synced_stream_offset = written, stream_offset
            self.kv.replication.serve_waiting()

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
        return self.rewriting and not self.started

    def start_rewrite(self) -> None:
        """BGREWRITEAOF: a new base, written by a forked child. As in Redis, what
        happens to the commands meanwhile depends on the log's state:

        * started: they go to a new incr file, listed at once after the others, so a
          failed rewrite leaves a valid (longer) log;
        * turned on at runtime, not started yet: they go to an incr file listed only
          with the new base, since before that it alone would load as an empty dataset;
        * off (BGREWRITEAOF with appendonly off): nowhere; only the base is written.

        Unless started, the log continues from the manifest on disk, if there is one:
        the new files take the next sequence numbers, and the old ones are replaced."""
        self.flush()
        os.makedirs(self.directory, exist_ok=True)
        if not self.started:
            self.manifest = self._manifest_to_continue()
        if self.kv.aof is self:
            self._open_next_incr()
        self.rewrite_started = time.time()
        self._rewrite_base = self.manifest.next_base(self.prefix,
                                                     self.kv.config["aof-use-rdb-preamble"])
        pid = save_in_child(self.kv, self._path(self._rewrite_base[0]), self.kv.dump_aof_base)
        self.rewrite_child = pid
        log.info("background append-only file rewriting started by pid %d", pid)

    def _manifest_to_continue(self) -> Manifest:
        """The manifest on disk, or an empty one if there is none or it does not read
        (the new base replaces whatever it listed)."""
        try:
            return self._read_manifest()
        except CorruptAof as exc:
            log.warning("Starting the log afresh: %s", exc)
            return Manifest()

    def _open_next_incr(self) -> None:
        """Go on appending in a new incr file (see start_rewrite)."""
        incr = self.manifest.next_incr(self.prefix)
        old_handle = self.handle
        # Truncated: a file of that name can only be a failed first attempt's, whose
        # commands are in the next base.
        self.handle = open(self._path(incr[0]), "wb")
        self.db_index = -1
        if old_handle is not None:
            os.fsync(old_handle.fileno())
            old_handle.close()
        if self.started:
            self.manifest.add_incr(incr)
            self._write_manifest()
        sync_directory(self.directory)
        if self.kv.config["appendfsync"] == "everysec":
            self._start_fsync_thread()
        self._rewrite_incr = incr

    def poll(self) -> None:
        """From the cron: finish a rewrite whose child is done."""
        if not self.rewrite_child:
            return
        pid, status = os.waitpid(self.rewrite_child, os.WNOHANG)
        if pid == 0:
            return
        self.rewrite_child = 0
        history = self.history
        history.last_cow_size = self.kv.child_finished()
        history.last_duration = int(time.time() - self.rewrite_started)
        if os.waitstatus_to_exitcode(status) != 0:
            history.last_ok = False
            history.failures += 1
            log.error("background append-only file rewriting failed")
            if self.kv.aof is self and not self.started:
                self._remove_unlisted_incr()
                self.kv.aof_rewrite_scheduled = True    # the log is on but not there yet
            return
        self._switch_to_new_base()
        history.rewrites += 1
        history.last_ok = True
        history.failures = 0
        self.base_size = self.current_size()
        log.info("background append-only file rewriting terminated with success")

    def _switch_to_new_base(self) -> None:
        """A rewrite succeeded: the log is now its base, then the incr file appended to
        since it started (none if the log is off). The files they replace become
        history, newest first (as Redis lists them), and are deleted (collect_history)."""
        manifest = self.manifest
        kept = manifest.incrs[-1:] if self.started else []
        replaced = [entry for entry in manifest.incrs if entry not in kept][::-1]
        if manifest.base is not None:
            replaced.append(manifest.base)
        manifest.history = replaced + manifest.history
        manifest.set_base(self._rewrite_base)
        manifest.incrs = kept
        if self.kv.aof is self and not self.started:
            manifest.add_incr(self._rewrite_incr)
            self.started = True
        self._write_manifest()
        self.collect_history()

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
        incr file of a log not started yet, which no manifest lists)."""
        if not self.rewrite_child:
            return
        log.info("Killing running AOF rewrite child: %d", self.rewrite_child)
        kill_saving_child(self.kv, self.rewrite_child, self.directory)
        self.rewrite_child = 0
        if self.kv.aof is self and not self.started:
            self.close()
            self._remove_unlisted_incr()

    def _remove_unlisted_incr(self) -> None:
        """The incr file of a log not started yet: its commands will be in the next
        base. (Appending goes on in it, if it is open, until the next attempt.)"""
        log.info("Removing the temp incr aof file %s", self._rewrite_incr[0])
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(self._rewrite_incr[0]))
