"""The key-value server: wires the RESP codec, the command table and the keyspace.

    server = KvServer(config)
    run_servers([server.tcp], setup=...)   # or `python -m fromscratch kvdb`

`KvServer` owns what all clients share: the keyspace, the configuration, the client
list, the blocking machinery, MONITOR subscribers, the slow log and the server cron
(active expiry, the LRU clock, CLIENT PAUSE expiry), which runs `hz` times a second.
"""

from __future__ import annotations

import contextlib
import gc
import ipaddress
import logging
import math
import os
import signal
import struct
import time
from ..net import TcpServer
from ..pubsub import Broker
from ..resp import ErrorReply, quote_repr
from . import commands  # noqa: F401  (registers every command in the table)
from .blocking import PAUSED, Blocking
from .client import Client, CountedError, deliver_to_clients
from .commands.connection import client_info_line
from .config import PARAMETERS, Config, ConfigError
from .cursors import Cursors
from .diagnostics import LatencyMonitor, SlowLog
from .failover import Failover
from .following import PrimaryLink
from .acl import Acl, AclFileError, Denied
from .commands.functions import FunctionEngine
from .commands.migrate import MigrationLinks
from .commands.persistence import SHUTDOWN_FAILED
from .commands.scripting import ScriptEngine
from .keyspace import Keyspace
from .memory import Evictor
from .persistence.aof import AppendOnlyFile, RewriteHistory
from .persistence.aof_commands import write_commands
from .persistence.child_info import ChildProgress, ChildReporter
from .persistence.loading import Loading, pause_after_key
from .persistence.propagation import (PROPAGATE_ALL, PROPAGATE_AOF, PROPAGATE_REPLICAS,
                                      effects)
from .persistence.rdb import is_rdb, write_rdb
from .persistence.snapshot import CorruptSnapshot, read_snapshot, write_snapshot
from .persistence.snapshotter import Snapshotter, parse_rdb, temporary_path
from .replication import Replication
from .structures.stream import node_byte_limit
from .version import REDIS_VERSION
from .notifications import Notifier, effective_flags
from .table import TABLE, CommandTable
from .tls import TlsContexts, TlsError, TlsSettings, make_contexts
from .tracking import Tracking

log = logging.getLogger("fromscratch.kvdb")

UNBLOCKED = ErrorReply("UNBLOCKED force unblock from blocking operation, instance state "
                       "changed (master -> replica?)")
MASTERDOWN = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."

# The parameter saying how each stopping signal shuts us down.
_SHUTDOWN_CONFIGS = {signal.SIGTERM: "shutdown-on-sigterm", signal.SIGINT: "shutdown-on-sigint"}


class StartError(Exception):
    """The server could not start (its port is taken, TLS can't be configured...): the
    log says why."""


def is_local(client) -> bool:
    """Connected through a Unix socket or from a loopback address."""
    return client.unix_socket or is_loopback(client.peer[0])


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return address.startswith("/")                     # a unix socket is local


def _listen_addresses(bind: str) -> tuple[list[str], list[str]]:
    """redis.conf's bind: addresses, those prefixed with '-' optional."""
    required, optional = [], []
    for word in bind.split():
        (optional if word.startswith("-") else required).append(word.lstrip("-"))
    return required, optional


@contextlib.contextmanager
def _insistence_exits(directory: str):
    """While a shutdown a signal asked for saves in the event loop's thread (whose
    signal handlers wait for it): a SIGINT exits at once, removing the unfinished file,
    as Redis's handler does."""
    def insist(_signum, _frame):
        log.warning("You insist... exiting now.")
        with contextlib.suppress(OSError):
            os.unlink(temporary_path(directory, os.getpid()))
        os._exit(1)
    previous = signal.signal(signal.SIGINT, insist)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class KvServer:
    def __init__(self, config: Config | None = None, table: CommandTable | None = None,
                 name: str = "kvdb"):
        self.config = config or Config()
        self.table = table or TABLE
        self.keyspace = Keyspace(self.config["databases"])
        required, optional = _listen_addresses(self.config["bind"])
        self.tcp = TcpServer(name, required + optional, self.config["port"],
                             lambda tcp: Client(self),
                             max_connections=self.config["maxclients"],
                             idle_timeout=self.config["timeout"])
        self.optional_addresses = optional
        self.tls: TlsContexts | None = None     # made when something uses TLS (_start_tls)
        self.loop = None
        self.clients: dict[int, Client] = {}
        self.flush_queue: list[Client] = []      # clients with replies to send
        self.blocking = Blocking(self)
        self.monitors: set = set()
        self.broker = Broker(deliver_to_clients)
        self.acl = Acl(self.table)
        self.keyspace.notifier = Notifier(self.broker)
        self.keyspace.on_expired = self._propagate_expiry
        self.tracking = Tracking(self.keyspace, self.clients,
                                 lambda callback: self.loop.call_soon(callback))
        self.slowlog = SlowLog(self.config["slowlog-max-len"])
        self.latency = LatencyMonitor()
        self.error_counts: dict[str, int] = {}
        self.slowlog_threshold_ns = self.slow_ns = 0
        # True while every command needs a look (CLIENT PAUSE, MONITOR): see Client.call
        self.careful = False
        self.watch_client_memory = False      # see refresh_lanes
        self.pause_mode: str | None = None      # "all" or "write" while paused
        # The pauses under way by purpose ("client": CLIENT PAUSE; "shutdown": waiting
        # for the replicas; "failover"): (mode, until). pause_mode is the strictest.
        self.pauses: dict[str, tuple[str, float]] = {}
        # While a script runs past busy-reply-threshold: what other clients' commands
        # get (-BUSY ...), and the script's caller, whose socket is not read meanwhile.
        self.busy_reply = None
        self._busy_caller = None
        self._busy_caller_paused = False
        self.pidfile = ""           # the one the command line wrote, if any
        self.force_propagation = False
        self.forks = 0                  # BGSAVE and BGREWRITEAOF children made
        # The saving child's reports (see child_info.py): its progress in the parent,
        # the reporter in the child.
        self.child_progress: ChildProgress | None = None
        self.child_reporter: ChildReporter | None = None
        self.last_load_keys = (0, 0)    # the last snapshot loaded: keys loaded, expired
        # ... its AUX facts, and the keys it left out as expired (for Replication.restore)
        self.loaded_aux: dict[bytes, bytes] = {}
        self.loaded_expired: list[tuple[int, bytes]] = []
        self.latest_fork_usec = 0
        self.started_at = time.time()
        self.run_id = os.urandom(20).hex()
        self.primary_link: PrimaryLink | None = None   # REPLICAOF: the primary we follow
        self.cursors = Cursors()
        self.migrate_links = MigrationLinks()    # MIGRATE's cached connections
        self.active_expire_enabled = True
        self.skip_checksum_validation = False   # DEBUG SET-SKIP-CHECKSUM-VALIDATION
        self.cron_paused = False
        self.snapshotter = Snapshotter(self)
        self.banner = ""            # logged once listening, before the data loads
        self.aof: AppendOnlyFile | None = None
        # A log rewrite asked for when it could not start (inside EXEC, or during a
        # BGSAVE): the cron starts it when it can.
        self.aof_rewrite_scheduled = False
        # BGREWRITEAOF with appendonly off: Redis still writes the files, from a child.
        self.offline_aof: AppendOnlyFile | None = None
        self.aof_flush_sleep = 0        # microseconds (DEBUG AOF-FLUSH-SLEEP)
        self.aof_history = RewriteHistory()
        # EXEC is running its queue. Nothing forks meanwhile: a child's snapshot would
        # hold half a transaction (BGSAVE and BGREWRITEAOF are scheduled instead).
        self.in_exec = False
        self.replication = Replication(self)
        self.failover = Failover(self)
        self.pending_ops: list[tuple[int, list[bytes]]] = []    # see flush_ops
        # A script's redis.set_repl(): where its next changes go (PROPAGATE_AOF,
        # PROPAGATE_REPLICAS, both or neither), and, for the pending ops it narrowed,
        # id(command) -> where that one goes.
        self.propagate_to = PROPAGATE_ALL
        self.narrowed_ops: dict[int, int] = {}
        self.in_command = False
        self.loading = False
        self.async_loading = False      # loading, while the old data is still served
        self.load_progress: Loading | None = None   # while loading, for INFO and -LOADING
        self.refuse_writes: str | None = None   # MISCONF: why writes are refused, if they are
        self.stale_reply: str | None = None     # MASTERDOWN, while it refuses commands
        self.shutdown_done = False
        # A stopping signal that came while DEBUG PAUSE-CRON held the cron: a future, done
        # (True) when the cron runs again, or (False) at SHUTDOWN ABORT.
        self.signal_held = None
        # Waiting for replicas before a shutdown: (deadline, what to call when over)
        self.shutdown_wait = None
        self.shutdown_clients: list = []         # blocked on a SHUTDOWN that waits
        self.evictor = Evictor(self)
        self.scripting = ScriptEngine(self)
        self.functions = FunctionEngine(self)
        self.peak_memory = 0
        self.ops_per_sec = 0
        self.traffic_kbps = (0.0, 0.0, 0.0)     # input, output, output to replicas
        self._ops_sample = (time.monotonic(), 0, 0, 0, 0, 0, 0)
        # The event loop's turns per second and average turn (us), over the last second.
        self.loop_turns_per_sec, self.loop_turn_usec = 0, 0
        self._loop_base = (0, 0)                # the loop's figures at the last RESETSTAT
        # ACL refusals by reason (auth, command, key, channel), for INFO stats.
        self.acl_denials = dict.fromkeys(("auth", "command", "key", "channel"), 0)
        self._apply_config()

    def _apply_config(self) -> None:
        config = self.config

        def thresholds(_value=None):
            # Negative disables the slow log; 0 logs every command. `slow_ns` is the
            # lowest of the two thresholds: the one number the request loop checks.
            slowlog = config["slowlog-log-slower-than"]
            self.slowlog_threshold_ns = float("inf") if slowlog < 0 else slowlog * 1000 - 1
            latency = config["latency-monitor-threshold"]
            latency_ns = latency * 1_000_000 - 1 if latency else float("inf")
            self.slow_ns = min(self.slowlog_threshold_ns, latency_ns)

        thresholds()
        config.on_change("slowlog-log-slower-than", thresholds)
        config.on_change("latency-monitor-threshold", thresholds)
        config.on_change("slowlog-max-len", self.slowlog.resize)
        for name in ("min-replicas-to-write", "min-replicas-max-lag", "replica-read-only",
                     "replica-serve-stale-data"):
            config.on_change(name, lambda _value: self.refresh_write_state())
        self.latency_tracking = config["latency-tracking"]
        config.on_change("latency-tracking",
                         lambda value: setattr(self, "latency_tracking", value))
        # Read by every XADD: an attribute costs less than a lookup in the config.
        self.stream_node_entries = config["stream-node-max-entries"]
        config.on_change("stream-node-max-entries",
                         lambda value: setattr(self, "stream_node_entries", value))
        self.stream_node_bytes = node_byte_limit(config["stream-node-max-bytes"])
        config.on_change("stream-node-max-bytes", lambda value: setattr(
            self, "stream_node_bytes", node_byte_limit(value)))

        def notifications(flags):
            self.keyspace.notify_flags = effective_flags(flags)

        notifications(config["notify-keyspace-events"])
        config.on_change("notify-keyspace-events", notifications)
        config.on_change("maxclients", lambda value: setattr(self.tcp, "max_connections", value))

        def output_limit(limits):
            # The smallest output buffer limit set: below it no client's replies need a
            # look.
            self.output_limit_floor = min((limit for klass in ("normal", "pubsub", "slave")
                                           for limit in limits[klass][:2] if limit),
                                          default=float("inf"))

        output_limit(config["client-output-buffer-limit"])
        config.on_change("client-output-buffer-limit", output_limit)
        config.on_change("timeout", lambda value: setattr(self.tcp, "idle_timeout", value))

        def memory_settings(_value=None):
            keyspace = self.keyspace
            keyspace.touch_mode = 2 if config["maxmemory-policy"].endswith("lfu") else 1
            keyspace.lfu_log_factor = config["lfu-log-factor"]
            keyspace.lfu_decay_time = config["lfu-decay-time"]
            self.refresh_lanes()

        self.acl.set_default_password(config["requirepass"])
        config.on_change("requirepass", self.acl.set_default_password)
        self.acl.pubsub_default_all = config["acl-pubsub-default"] == "allchannels"
        config.on_change("acl-pubsub-default", lambda value: setattr(
            self.acl, "pubsub_default_all", value == "allchannels"))
        self._load_users()

        memory_settings()
        for name in ("maxmemory", "maxmemory-policy", "lfu-log-factor", "lfu-decay-time",
                     "maxmemory-clients"):
            config.on_change(name, memory_settings)

        def parser_limits(_value):
            for client in self.clients.values():
                client.parser.max_bulk_len = config["proto-max-bulk-len"]
                client.parser.max_buffer = config["client-query-buffer-limit"]

        config.on_change("proto-max-bulk-len", parser_limits)
        config.on_change("client-query-buffer-limit", parser_limits)

    # -- data on disk ---------------------------------------------------------------------

    def _load_users(self) -> None:
        """The users of redis.conf's `user` lines or of the aclfile (not both): as Redis,
        AclFileError stops the start."""
        config = self.config
        if config.user_lines and config["aclfile"]:
            raise AclFileError(
                "Configuring Redis with users defined in redis.conf and at the same setting "
                "an ACL file path is invalid. This setup is very likely to lead to "
                "configuration errors and security holes, please define either an ACL file "
                "or declare users directly in your redis.conf, but not both.")
        if config["aclfile"]:
            self.acl.load_file(self.acl_file_path())
        elif config.user_lines:
            self.acl.load_lines(config.user_lines, "redis.conf")

    def acl_file_path(self) -> str:
        """The aclfile, found from `dir` as Redis finds it (it works in that directory)."""
        return os.path.join(self.config["dir"], self.config["aclfile"])

    def load_data(self) -> None:
        """At start-up: the append-only file when enabled, else the snapshot. A damaged
        file raises (CorruptAof / CorruptSnapshot) and the server does not start."""
        with self._loading():
            if self.config["appendonly"]:
                self.aof = AppendOnlyFile(self)
                self.aof.load()
                self.aof.start()
            else:
                self.snapshotter.load()
                self.replication.restore(self.loaded_aux, self.loaded_expired,
                                         replica=bool(self.config["replicaof"]))
        self.config.on_change("appendonly", self._switch_aof)
        # Turned back on, the replaced files left meanwhile go at once, as in Redis.
        self.config.on_change("aof-disable-auto-gc", lambda disabled: disabled
                              or self.aof is None or self.aof.collect_history())
        self.refresh_lanes()

    def dump_snapshot(self, handle) -> None:
        """Write the data as a snapshot: the keyspace, the function libraries, and as
        AUX facts Redis's: the version and time that wrote it, and the stream's place."""
        facts = [(name.encode(), str(value).encode())
                 for name, value in self.rdb_header_fields() + self.replication.save_info()]
        write_snapshot(self.keyspace, handle, self.functions.codes(), self.after_key_hook(), facts)

    def after_key_hook(self):
        """What a writer of the data calls after each key (None if nothing):
        rdb-key-save-delay's pause, a test knob, and in a saving child its progress
        report to the parent (child_info.py)."""
        delay, reporter = self.config["rdb-key-save-delay"], self.child_reporter
        if not delay and reporter is None:
            return None

        def after_key():
            if delay:
                pause_after_key(delay)
            if reporter is not None:
                reporter.key_written()
        return after_key

    def child_finished(self) -> int:
        """The saving child is gone: its progress pipe is closed, and the copy-on-write
        size of its last report returned (INFO's rdb_last_cow_size, aof_last_cow_size)."""
        progress, self.child_progress = self.child_progress, None
        if progress is None:
            return 0
        progress.close()
        return progress.cow_size

    def rdb_header_fields(self) -> list:
        """The AUX fields Redis starts an RDB file with."""
        return [("redis-ver", REDIS_VERSION), ("redis-bits", struct.calcsize("P") * 8),
                ("ctime", int(time.time())), ("used-mem", self.used_memory())]

    def dump_aof_base(self, handle) -> None:
        """Write the data as the base of the append-only file, as Redis writes it (so
        that a real Redis loads our log as well): an RDB file (AUX aof-base 1), or with
        aof-use-rdb-preamble no, the commands that rebuild it."""
        if not self.config["aof-use-rdb-preamble"]:
            write_commands(handle, self.keyspace.dbs, self.functions.codes(),
                           self.after_key_hook(), self.config["aof-timestamp-enabled"])
            return
        write_rdb(handle, self.keyspace.dbs, self.functions.codes(),
                  self.rdb_header_fields() + [("aof-base", 1)],
                  self.config["maxmemory-policy"], self.after_key_hook(),
                  checksum=self.config["rdbchecksum"])

    @property
    def on_key_loaded(self):
        """What a reader calls after each key it loads: None unless a load is under way."""
        return self.load_progress.key_loaded if self.load_progress is not None else None

    def load_snapshot(self, data: bytes, replace: bool = False) -> int:
        """Load a snapshot into the keyspace and libraries; returns the keys loaded.
        What is already there is an error unless `replace`. Raises CorruptSnapshot."""
        codes: list[bytes] = []
        self.loaded_aux, self.loaded_expired = {}, []
        loaded, expired = read_snapshot(data, self.keyspace, codes, replace,
                                        self.on_key_loaded, self.loaded_aux,
                                        self.loaded_expired)
        self.last_load_keys = (loaded, expired)          # INFO persistence
        try:
            self.functions.load_codes(codes, replace)
        except ErrorReply as error:
            message = f"a function library does not load: {error.message}"
            raise CorruptSnapshot(message) from None
        return loaded

    def reload_data(self, save: bool = True, flush: bool = True, merge: bool = False,
                    caller=None) -> None:
        """DEBUG RELOAD (from `caller`): save the snapshot, drop every key and function
        library, and load the snapshot back. Raises OSError (saving) or CorruptSnapshot
        (loading)."""
        if save:
            self.snapshotter.save()
        if flush:
            self._empty_data()
        with self._loading(caller):
            self.snapshotter.load(replace=merge)

    def reload_aof(self, caller=None) -> None:
        """DEBUG LOADAOF (from `caller`): write out the append-only file, drop the data
        and replay the file (the one on disk, even while appendonly is off). Raises
        CorruptAof."""
        if self.aof is not None:
            self.aof.flush()
        self._empty_data()
        with self._loading(caller):
            (self.aof or AppendOnlyFile(self)).load()
        self.keyspace.dirty = 0

    # -- following a primary (following.py) ----------------------------------------------

    def follow(self, host: str, port: int, resumable: bool = True) -> None:
        """REPLICAOF host port: become a replica of that server (from the next full
        synchronization on, our data is its data). Our own replicas stay, as in Redis
        7: they are dropped only when our history changes (a full sync's load, or a
        new id to continue under), and may well continue with us otherwise. Unless not
        `resumable`, the link first asks to continue our own history."""
        stream_db = None
        if self.primary_link is not None:
            self.primary_link.stop()
            stream_db = self.primary_link.stream_client.db
        # Clients blocked here as on a primary must not be served by the primary's
        # writes: they are answered and disconnected, as Redis does.
        for client in list(self.clients.values()):
            if client.blocked is not None and client.blocked is not PAUSED:
                client.close_after_reply = True
                self.blocking.wake(client, UNBLOCKED)
        # The first link asks to continue our own history: the new primary may have
        # followed us (a failover), and then holds what we have.
        replication = self.replication
        self.primary_link = PrimaryLink(self, host, port, replication.replid,
                                        replication.offset, stream_db, resumable)
        self.keyspace.local_expires = set()
        self.config.values["replicaof"] = f"{host} {port}"
        self.refresh_write_state()

    def stop_following(self, reason: str = "user request from a client") -> None:
        """REPLICAOF NO ONE (or a failover): a primary again, keeping the data we have,
        under a new replication id. Our replicas are disconnected to learn it, as Redis
        does (they continue at once): one that kept the old id would find it forgotten
        after one more change of history, and need a full synchronization."""
        if self.primary_link is None:
            return
        self.primary_link.stop()
        self.primary_link = None
        self.replication.new_history()
        self.replication.drop_replicas()
        self.keyspace.local_expires = None
        self.config.values["replicaof"] = ""
        log.info("MASTER MODE enabled (%s)", reason)
        self.refresh_write_state()

    def load_from_primary(self, data: bytes, swap: bool = False,
                          body_crc: int | None = None) -> int:
        """A full synchronization: drop every key and library and load the primary's
        dataset (an RDB file, or one of our snapshots). With `swap` (repl-diskless-load
        swapdb) the old data goes only once the new is read, as Redis swaps them;
        otherwise first, to make room. The append-only file, if on, starts again from
        the new data. Returns the database the primary's stream is in (the file's
        repl-stream-db: a stream passed on by a replica starts without a SELECT).
        `body_crc`: see rdb.read_rdb."""
        self.replication.drop_replicas()
        aof_on = self.aof is not None
        if aof_on:
            self._switch_aof(False)
        rdb = is_rdb(data)
        if not (swap and rdb):
            log.info("MASTER <-> REPLICA sync: Flushing old data")
            self._empty_data()
        self.keyspace.local_expires = set()
        stream_db = 0
        if not self.loading:            # else said as the transfer began (receiving_dataset)
            log.info("MASTER <-> REPLICA sync: Loading DB in memory")
        with self._loading():
            self.load_progress.begin_file(len(data))
            if rdb:
                contents = parse_rdb(data, self.on_key_loaded, body_crc)
                if swap:
                    log.info("MASTER <-> REPLICA sync: Swapping active DB with loaded DB")
                    self._empty_data()
                self.snapshotter.import_contents(contents, replace=True)
                stream_db = contents.aux.get(b"repl-stream-db", b"0")
                stream_db = int(stream_db) if stream_db.isdigit() else 0
            else:
                self.load_snapshot(data, replace=True)
        self.keyspace.dirty = 0
        if aof_on:
            self._switch_aof(True)
        return stream_db if 0 <= stream_db < len(self.keyspace.dbs) else 0

    def changes_applied(self) -> None:
        """After a batch of the primary's stream: what it changed goes to the log (and
        any client it woke or told about is written to) at the loop's next turn."""
        if self.aof is not None and self.aof.buffer and not self.flush_queue:
            self.loop.call_soon(self._flush_clients)

    def flush_databases(self) -> None:
        """Empty every database (FLUSHALL); tracking clients drop their caches."""
        for db in self.keyspace.dbs:
            self.keyspace.flush(db)
        self.tracking.flushed()

    @contextlib.contextmanager
    def receiving_dataset(self, primary_replid: str):
        """While a full synchronization's dataset arrives. With repl-diskless-load
        swapdb, or on-empty-db and no key here, Redis reads it from the socket straight
        into memory, and its clients see the load from the transfer's first byte on:
        -LOADING, or async loading (INFO async_loading:1; the old data served, only
        commands flagged no_async_loading refused) with swapdb when the primary sends
        the history this replica already holds (the same replication id). Either way
        the old data stays should the transfer fail. (Here the payload is read whole
        first, then loaded: the same states, seen from outside.) With disabled, Redis
        saves the payload to disk meanwhile and serves its data as usual.

        Yields (swap, progress): whether to keep the old data until the new is read
        (load_from_primary's `swap`), and a Loading for the bytes received, or None."""
        mode = self.config["repl-diskless-load"]
        if not (mode == "swapdb" or (mode == "on-empty-db" and not any(self.keyspace.dbs))):
            yield False, None
            return
        log.info("MASTER <-> REPLICA sync: Loading DB in memory")
        self.loading = True
        self.async_loading = mode == "swapdb" and primary_replid == self.replication.replid
        self.load_progress = Loading(self.config, lambda: None, self._stop_while_loading)
        self.refresh_lanes()
        try:
            yield mode == "swapdb", self.load_progress
        finally:
            self.loading = self.async_loading = False
            self.load_progress = None
            self.refresh_lanes()

    def _empty_data(self) -> None:
        self.flush_databases()
        self.functions.clear()

    @contextlib.contextmanager
    def _loading(self, caller=None):
        """While data is loaded from disk: nothing is propagated (see `propagating`),
        loading is not an event (no "new" key notifications), and nothing expires (the
        log's commands found their keys there when they ran), as in Redis. The readers
        report their progress to `load_progress`, which stops now and then to serve
        the other clients (see persistence/loading.py); the client that asked for the
        load (`caller`: DEBUG RELOAD's), is not read meanwhile."""
        keyspace = self.keyspace
        notify_flags, keyspace.notify_flags = keyspace.notify_flags, 0
        ttl_ignored, keyspace.ttl_ignored = keyspace.ttl_ignored, True
        transport = caller.transport if caller is not None else None
        paused = transport is not None and transport.is_reading()
        if paused:
            transport.pause_reading()
        self.loading = True
        self.load_progress = Loading(self.config, self._serve_while_loading,
                                     self._stop_while_loading)
        self.refresh_lanes()                    # -LOADING is the careful lane's answer
        try:
            with self.load_progress:
                yield
        finally:
            self.loading = False
            self.load_progress = None
            self.refresh_lanes()
            keyspace.notify_flags = notify_flags
            keyspace.ttl_ignored = ttl_ignored
            if paused and not caller.closed:
                transport.resume_reading()

    def _serve_while_loading(self) -> None:
        # Not inside a transaction (DEBUG RELOAD in MULTI): nothing may run in its middle.
        if self.serving and not self.in_exec:
            self.serve_while_busy()

    def _stop_while_loading(self, signum: int) -> None:
        """SIGTERM or SIGINT during a load: exit without saving, as Redis does."""
        log.warning("Received shutdown signal during loading, scheduling shutdown.")
        self.exit_now()

    def _switch_aof(self, enabled: bool) -> None:
        """CONFIG SET appendonly. Turned on, the log starts with a base written by a
        child (a rewrite), as in Redis; turned off, a rewrite in progress is stopped."""
        if enabled and self.aof is None:
            if self.in_exec or self.snapshotter.in_progress:
                self.aof_rewrite_scheduled = True
                log.warning("AOF was enabled %s. An AOF background was scheduled to start "
                            "when possible.", "during a transaction" if self.in_exec else
                            "but there is already another background operation")
                return
            if self.offline_aof is not None:
                log.warning("AOF was enabled but there is already an AOF rewriting in "
                            "background. Stopping background AOF and starting a rewrite now.")
                self.offline_aof.stop_rewrite()
                self.offline_aof = None
            self.aof = AppendOnlyFile(self)
            self.aof.start_rewrite()
        elif not enabled:
            self.aof_rewrite_scheduled = False
            if self.aof is not None:
                self.aof.stop_rewrite()
                self.aof.close()
                self.aof = None
        self.refresh_lanes()

    @property
    def aof_rewriting(self) -> AppendOnlyFile | None:
        """The log whose rewrite child is running, if one is."""
        for aof in (self.aof, self.offline_aof):
            if aof is not None and aof.rewriting:
                return aof
        return None

    def rewrite_aof(self) -> None:
        """BGREWRITEAOF, or the rewrite scheduled for when it could start: a new base
        for the log, written by a child; if appendonly is off, the files are written
        all the same but not kept open."""
        self.aof_rewrite_scheduled = False
        if self.aof is not None:
            self.aof.start_rewrite()
        elif self.config["appendonly"]:
            self._switch_aof(True)
        else:
            self.offline_aof = AppendOnlyFile(self)
            self.offline_aof.start_rewrite()

    def loading_client(self, kind: type = Client):
        """A client (of class `kind`) with no connection, to replay the append-only file
        or a primary's stream: it never blocks, and nothing refuses it (`requirepass`,
        the default user's ACL rules, maxmemory: see Client.trusted), as what it replays
        was already allowed."""
        client = kind(self)
        client.in_exec = True
        client.trusted = True
        client.user = self.acl.unrestricted_user("(server)")
        client.authenticated = True
        return client

    # -- propagation: the changes, as commands, for the log and the replicas -------------

    @property
    def propagating(self) -> bool:
        return (self.aof is not None or self.replication.streaming) and not self.loading

    # A change travels as an op: (database index, the command that makes it). The ops of
    # one top-level command -- its own effects, those of the commands a transaction or a
    # script ran, and the deletions of keys found expired on the way -- wait in
    # `pending_ops` until it has run, then go together (flush_ops), as Redis's
    # also_propagate array does.

    def changed_since(self, dirty_before: int) -> bool:
        """Whether the command that ran since keyspace.dirty was `dirty_before` is to be
        propagated: it changed something, or it said it must go anyway (force_propagation,
        as Redis's forceCommandPropagation: a FLUSHALL of nothing still reaches the
        replicas)."""
        forced, self.force_propagation = self.force_propagation, False
        return forced or self.keyspace.dirty != dirty_before

    def propagate(self, client, cmd, argv: list, reply) -> None:
        """A write command changed the keyspace: what it did joins the pending ops."""
        if self.propagating:
            db = client.db
            changes = effects(cmd, argv, reply, db)
            self.pending_ops += [(db.index, change) for change in changes]
            if self.propagate_to != PROPAGATE_ALL:
                self._narrow(changes, self.propagate_to)

    def also_propagate(self, db_index: int, argv: list, targets: int = PROPAGATE_ALL) -> None:
        """For a command that says itself what it did, op by op (XREADGROUP, XCLAIM...),
        as Redis's alsoPropagate: `argv` joins the pending ops, going to `targets`
        (PUBLISH: to the replicas only)."""
        if self.propagating:
            self.pending_ops.append((db_index, argv))
            targets &= self.propagate_to
            if targets != PROPAGATE_ALL:
                self._narrow([argv], targets)

    def _narrow(self, changes: list, targets: int) -> None:
        """These pending ops go only to `targets` (see flush_ops)."""
        for argv in changes:
            self.narrowed_ops[id(argv)] = targets

    def propagate_deletion(self, db, key: bytes, lazy: bool = False) -> None:
        """A key that expired or was evicted is gone for good: the log and the replicas
        are told with a DEL (UNLINK if freed lazily), as Redis propagates it; with the
        running command's ops, or at once outside any command (the cron)."""
        if self.propagating:
            self.pending_ops.append((db.index, [b"UNLINK" if lazy else b"DEL", key]))
            if not self.in_command:
                self.flush_ops()

    def flush_ops(self, client=None, wrap: bool = True) -> None:
        """Feed the pending ops to the append-only file and the replicas. Two or more go
        as one MULTI ... EXEC (unless `wrap` is off: a command such as SCAN that deleted
        expired keys here and there), MULTI in the first op's database and EXEC in the
        last's, so that no SELECT is needed around them."""
        ops, self.pending_ops = self.pending_ops, []
        if not ops:
            return
        if wrap and len(ops) > 1:
            ops = [(ops[0][0], [b"MULTI"]), *ops, (ops[-1][0], [b"EXEC"])]
        to_log = to_replicas = ops
        if self.narrowed_ops:                # some went only one way, or nowhere
            narrowed, self.narrowed_ops = self.narrowed_ops, {}
            to_log = [op for op in ops if narrowed.get(id(op[1]), PROPAGATE_ALL) & PROPAGATE_AOF]
            to_replicas = [op for op in ops
                           if narrowed.get(id(op[1]), PROPAGATE_ALL) & PROPAGATE_REPLICAS]
        if self.aof is not None and to_log:
            self.aof.append(to_log)
        # A replica passes its primary's stream on as it came (following.py), and its
        # own clients' writes reach no replica, as in Redis.
        if self.replication.streaming and to_replicas and self.primary_link is None:
            self.replication.feed(to_replicas)
        if client is not None:
            client.write_offset = self.replication.offset
            if self.aof is not None:
                client.logged_offset = self.aof.logged

    def stream_offset(self) -> int:
        """How far the replication stream this server passes on has come: ours, or on a
        replica its primary's, as far as applied."""
        link = self.primary_link
        return self.replication.offset if link is None else link.offset

    def _propagate_expiry(self, db, key: bytes) -> None:
        self.propagate_deletion(db, key, self.config["lazyfree-lazy-expire"])

    def refresh_write_state(self) -> None:
        """MISCONF: refuse writes while the last save or AOF write failed, as Redis does
        with stop-writes-on-bgsave-error; READONLY: while following a primary;
        NOREPLICAS: while fewer replicas than min-replicas-to-write have acknowledged
        within min-replicas-max-lag seconds. And MASTERDOWN: refuse the commands not
        flagged `stale` while the link to our primary is down, with
        replica-serve-stale-data off."""
        if self.aof is not None and not self.aof.last_write_ok:
            self.refuse_writes = ("MISCONF Errors writing to the AOF file: the disk may be "
                                  "full or read-only")
        elif (not self.snapshotter.last_status_ok and self.config["save"]
                and self.config["stop-writes-on-bgsave-error"]):
            self.refuse_writes = (
                "MISCONF Redis is configured to save RDB snapshots, but it's currently unable "
                "to persist to disk. Commands that may modify the data set are disabled, "
                "because this instance is configured to report errors during writes if RDB "
                "snapshotting fails (stop-writes-on-bgsave-error option). Please check the "
                "Redis logs for details about the RDB error.")
        elif self.primary_link is not None and self.config["replica-read-only"]:
            self.refuse_writes = "READONLY You can't write against a read only replica."
        elif self.replication.good_replicas_missing():
            self.refuse_writes = "NOREPLICAS Not enough good replicas to write."
        else:
            self.refuse_writes = None
        link = self.primary_link
        self.stale_reply = (MASTERDOWN if link is not None and not link.link_up
                            and not self.config["replica-serve-stale-data"] else None)
        self.refresh_lanes()

    def prepare_shutdown(self, save: bool | None = None, force: bool = False,
                         by_signal: bool = False) -> bool:
        """Persist what must be before exiting: the AOF is synced and closed, and a
        snapshot is saved if `save` (default: when save rules exist). Returns False if
        saving failed (the server then keeps running, as Redis does, unless `force`).
        The log says what Redis's says. When a signal asked for the shutdown, a SIGINT
        during the final save exits at once, as Redis's "You insist"."""
        if self.shutdown_done:
            return True
        log.warning("User requested shutdown...")
        self._log_replicas_in_sync()
        if self.aof is not None and self.aof.writing_initial:
            if not force:
                log.warning("Writing initial AOF, can't exit.")
                return self._shutdown_failed()
            log.warning("Writing initial AOF. Exit anyway.")
        if self.snapshotter.in_progress:
            log.warning("There is a child saving an .rdb. Killing it!")
        self.replication.stop_syncs()
        self.snapshotter.kill_child()
        self.scripting.kill_debug_sessions()
        for aof in (self.aof, self.offline_aof):
            if aof is not None:
                if aof.rewriting:
                    log.warning("There is a child rewriting the AOF. Killing it!")
                aof.stop_rewrite()
                aof.close()
        self.aof = self.offline_aof = None
        if save is None:
            save = bool(self.config["save"])
        if save:
            log.info("Saving the final RDB snapshot before exiting.")
            try:
                with (_insistence_exits(os.path.dirname(self.snapshotter.path) or ".")
                      if by_signal else contextlib.nullcontext()):
                    self.snapshotter.save()
            except OSError:
                if not force:
                    log.warning("Error trying to save the DB, can't exit.")
                    return self._shutdown_failed()
                log.warning("Error trying to save the DB. Exit anyway.")
        # As Redis: no new connection from here on, though the last replies are still
        # to be written (a client that sees its SHUTDOWN's connection close finds the
        # port closed already).
        self.tcp.stop_listening()
        log.warning("Redis is now ready to exit, bye bye...")
        self.shutdown_done = True
        return True

    def _log_replicas_in_sync(self) -> None:
        """Which replicas have everything, in Redis's words."""
        replication = self.replication
        replicas = replication.replicas
        lagging = [replica for replica in replicas if replica.replica_acked != replication.offset]
        for replica in lagging:
            log.warning("Lagging replica %s:%s reported offset %d behind master, lag=%d, "
                        "state=online.", replica.replica_address, replica.replica_port,
                        replication.offset - replica.replica_acked,
                        int(time.time() - replica.replica_ack_time))
        if replicas:
            log.info("%d of %d replicas are in sync when shutting down.",
                     len(replicas) - len(lagging), len(replicas))

    @staticmethod
    def _shutdown_failed() -> bool:
        log.warning("Errors trying to shut down the server. Check the logs for more "
                    "information.")
        return False

    async def start(self) -> None:
        """Listen, then load the data, as redis-server does: a client that connects
        meanwhile waits for its first answer until the data is there, instead of being
        refused. Raises StartError, or CorruptSnapshot / CorruptAof for a damaged file
        (the server does not start)."""
        unix_path = self.config["unixsocket"]
        # Port 0 with a Unix socket or a TLS port: those only, as in Redis.
        tcp = bool(self.config["port"] or not (unix_path or self.config["tls-port"]))
        self._start_tls()
        try:
            try:
                await self.tcp.start(tcp)
            except OSError:
                if not self.optional_addresses:
                    raise
                # An optional address (like -::1 without IPv6) may be missing: go without.
                self.tcp.host = [h for h in self.tcp.host if h not in self.optional_addresses]
                await self.tcp.start(tcp)
            self.config.on_change("bind", lambda _value: self._listen_again(
                "Failed to bind to specified addresses."))
            self.config.on_change("port", lambda _value: self._listen_again(
                "Unable to listen on this port. Check server logs."))
        except OSError as exc:
            # Redis's words: scripts that start servers look for them to try another port.
            log.error("Failed listening on port %d (tcp), aborting: %s", self.tcp.port,
                      exc.strerror or exc)
            raise StartError() from exc
        if self.config["tls-port"]:
            try:            # (as CONFIG SET tls-port: an optional address may be missing)
                self._listen_again("", tls=True)
            except ConfigError:
                log.error("Failed listening on port %d (tls), aborting.",
                          self.config["tls-port"])
                raise StartError() from None
        if unix_path:
            try:
                self.tcp.listen_unix(unix_path, self.config["unixsocketperm"])
            except OSError as exc:
                log.error("Failed opening Unix socket: %s", exc.strerror or exc)
                raise StartError() from exc
        if self.banner:
            log.info("%s", self.banner)
        try:
            self.load_data()
        except Exception:
            # Not started: nobody may be served, not even while the loop winds down.
            self.tcp.stop_listening()
            raise
        # A data server makes millions of long-lived objects and few reference cycles:
        # collect the youngest generation less often (measured: random ZADD on a large
        # sorted set is ~20% cheaper), and keep what was loaded out of every future full
        # collection.
        gc.set_threshold(10_000, 10, 10)
        gc.freeze()
        if unix_path:
            log.info("The server is now ready to accept connections at %s", unix_path)
        if tcp:
            log.info("Ready to accept connections tcp")
        if self.tcp.tls_port:
            log.info("Ready to accept connections tls")
        self.loop = self.tcp.loop
        if self.config["replicaof"]:                  # redis.conf's `replicaof host port`
            host, port = self.config["replicaof"].split()
            # Without a history from the snapshot there is nothing to continue.
            self.follow(host, int(port), resumable=self.replication.restored)
        self.tcp.every(1 / self.config["hz"], self.cron)
        self.tcp.every(1.0, self._enforce_output_limits)
        self.tcp.every(1.0, self._sample_ops)

    @property
    def stop_requested(self):
        return self.tcp.stop_requested

    async def shutdown(self, signum: int | None = None) -> bool:
        """SIGTERM/SIGINT or SHUTDOWN: persist, then close every connection. On a
        signal, shutdown-on-sigterm or -sigint says whether to save, whether a failure
        to save keeps us running, and whether to first wait for lagging replicas, as
        SHUTDOWN's flags do (SHUTDOWN did all that itself before asking us to stop)."""
        flags, waited = (), False
        if self.loading:                    # as Redis: no save of a half-received dataset
            self.exit_now()
        if signum in _SHUTDOWN_CONFIGS:
            log.warning("Received %s scheduling shutdown...", signal.Signals(signum).name)
            # Redis acts on a signal in its cron: while the cron is paused, SHUTDOWN
            # ABORT can still cancel it.
            if self.cron_paused:
                self.signal_held = self.loop.create_future()
                if not await self.signal_held:
                    return False
            flags = self.config[_SHUTDOWN_CONFIGS[signum]]
            if "now" not in flags and self.must_wait_for_replicas():
                caught_up = self.loop.create_future()
                self.wait_for_replicas(caught_up.set_result)
                waited = True
                if not await caught_up:              # SHUTDOWN ABORT
                    self.answer_shutdown_clients()
                    return False
        save = True if "save" in flags else False if "nosave" in flags else None
        if not self.prepare_shutdown(save=save, force="force" in flags,
                                     by_signal=signum is not None):
            if waited:
                self.unpause("shutdown")
            self.answer_shutdown_clients()
            return False
        await self.tcp.shutdown()
        return True

    # -- before shutting down: lagging replicas catch up (Redis 7) -----------------------

    def must_wait_for_replicas(self) -> bool:
        replication = self.replication
        return bool(self.config["shutdown-timeout"]) and any(
            replica.replica_acked < replication.offset for replica in replication.replicas)

    def wait_for_replicas(self, done) -> None:
        """Writes are paused and the replicas asked how far they are; `done(True)` is
        called once every one has caught up or shutdown-timeout seconds have passed,
        `done(False)` if SHUTDOWN ABORT comes first."""
        log.info("Waiting for replicas before shutting down.")
        timeout = self.config["shutdown-timeout"]
        self.shutdown_wait = (time.monotonic() + timeout, done)
        self.pause(timeout, "write", "shutdown")
        self.replication.request_acks()

    def answer_shutdown_clients(self) -> None:
        """A shutdown that waited failed or was aborted: the clients blocked on SHUTDOWN
        are told so, and served on."""
        waiting, self.shutdown_clients = self.shutdown_clients, []
        for client in waiting:
            if client.blocked is not None:
                self.blocking.wake(client, ErrorReply(SHUTDOWN_FAILED))

    def check_shutdown_wait(self) -> None:
        """From the cron and after each acknowledgement: is the wait over?"""
        deadline, done = self.shutdown_wait
        if self.must_wait_for_replicas() and time.monotonic() < deadline:
            return
        self.shutdown_wait = None
        done(True)

    def _release_signal(self, go_on: bool) -> None:
        held, self.signal_held = self.signal_held, None
        held.set_result(go_on)

    def abort_shutdown(self) -> bool:
        """SHUTDOWN ABORT: stop waiting for the replicas (or for the cron, to act on a
        signal), and serve on."""
        if self.signal_held is not None:
            self._release_signal(False)
            log.info("Shutdown manually aborted.")
            return True
        if self.shutdown_wait is None:
            return False
        _deadline, done = self.shutdown_wait
        self.shutdown_wait = None
        self.unpause("shutdown")
        log.info("Shutdown manually aborted.")
        done(False)
        return True

    def _listen_again(self, failure: str, tls: bool = False) -> None:
        """CONFIG SET bind, port or tls-port: listen where they now say (ConfigError
        `failure` if we can't, and then where we did before)."""
        required, optional = _listen_addresses(self.config["bind"])
        if tls:
            def listen(hosts):
                self.tcp.listen_tls(hosts, self.config["tls-port"], self.tls_server_context)
        else:
            def listen(hosts):
                self.tcp.listen(hosts, self.config["port"] or None)    # 0: no TCP
                if self.tcp.tls_port:
                    self.tcp.listen_tls(hosts, self.tcp.tls_port, self.tls_server_context)
        try:
            try:
                listen(required + optional)
            except OSError:
                if not optional:
                    raise
                listen(required)
        except OSError as exc:
            log.warning("Failed listening on port %d (%s): %s",
                        self.config["tls-port" if tls else "port"], "tls" if tls else "tcp",
                        exc.strerror or exc)
            raise ConfigError(failure) from None
        self.optional_addresses = optional

    # -- TLS -----------------------------------------------------------------------------

    def _start_tls(self) -> None:
        """Make the TLS contexts if anything uses TLS (StartError if they can't be made),
        and remake them whenever a TLS setting changes."""
        if self._uses_tls() and not self._make_tls():
            log.warning("Failed to configure TLS. Check logs for more info.")
            raise StartError()
        self.config.on_change([param.name for param in PARAMETERS
                               if param.name.startswith("tls-") and param.name != "tls-port"],
                              self._tls_settings_changed)
        self.config.on_change("tls-port", self._tls_port_changed)

    def _uses_tls(self) -> bool:
        return bool(self.config["tls-port"] or self.config["tls-replication"]
                    or self.config["tls-cluster"])

    def _make_tls(self) -> bool:
        """Make the TLS contexts from the settings; if they can't be made, say why and
        keep those in use (False)."""
        config = self.config
        settings = TlsSettings(
            cert_file=config["tls-cert-file"], key_file=config["tls-key-file"],
            key_file_pass=config["tls-key-file-pass"],
            client_cert_file=config["tls-client-cert-file"],
            client_key_file=config["tls-client-key-file"],
            client_key_file_pass=config["tls-client-key-file-pass"],
            ca_cert_file=config["tls-ca-cert-file"], ca_cert_dir=config["tls-ca-cert-dir"],
            dh_params_file=config["tls-dh-params-file"], protocols=config["tls-protocols"],
            ciphers=config["tls-ciphers"],
            prefer_server_ciphers=config["tls-prefer-server-ciphers"],
            auth_clients=config["tls-auth-clients"],
            peers_checked=config["tls-replication"] or config["tls-cluster"])
        try:
            self.tls = make_contexts(settings)
        except TlsError as exc:
            log.warning("%s", exc)
            return False
        return True

    def _tls_settings_changed(self, _value) -> None:
        # New connections get the new contexts; those open keep theirs, as in Redis.
        if self._uses_tls() and not self._make_tls():
            raise ConfigError("Unable to update TLS configuration. Check server logs.")

    def _tls_port_changed(self, port: int) -> None:
        if port and self.tls is None and not self._make_tls():
            raise ConfigError("Unable to update TLS configuration. Check server logs.")
        self._listen_again("Unable to listen on this port. Check server logs.", tls=True)

    def tls_server_context(self):
        return self.tls.server

    # -- a busy script -------------------------------------------------------------------

    @property
    def serving(self) -> bool:
        """Whether clients are being served (not loading data before the start)."""
        return self.tcp.loop is not None and not self.tcp.stopped.is_set()

    def begin_busy(self, reply, caller) -> None:
        """A script has run too long: from now until end_busy, other clients' commands
        get `reply` (a -BUSY error) unless they are allowed (see Client._call_carefully),
        and the caller's socket is left unread, as Redis protects the client."""
        self.busy_reply = reply
        self._busy_caller = caller
        transport = caller.transport
        self._busy_caller_paused = transport is not None and transport.is_reading()
        if self._busy_caller_paused:
            transport.pause_reading()
        self.refresh_lanes()

    def end_busy(self) -> None:
        self.busy_reply = None
        if self._busy_caller_paused and not self._busy_caller.closed:
            self._busy_caller.transport.resume_reading()
        self._busy_caller = None
        self.refresh_lanes()

    def exit_now(self) -> None:
        """SHUTDOWN NOSAVE while a script is busy, or a SHUTDOWN or stopping signal while
        loading: exit there and then, leaving the script or load unfinished and nothing
        saved, as Redis does (a busy script's changes so far were never logged)."""
        self.prepare_shutdown(save=False, force=True)      # (closes the port too)
        if self.pidfile:
            with contextlib.suppress(OSError):
                os.unlink(self.pidfile)
        logging.shutdown()
        os._exit(0)

    def serve_while_busy(self) -> None:
        """Called now and then while busy: take connections, read and answer commands."""
        self.tcp.serve_ready_sockets()
        self._flush_clients()

    # -- sending replies ----------------------------------------------------------------

    def flush_soon(self, client) -> None:
        """Send `client`'s replies once every ready socket has been served. As Redis
        does before it sleeps, we first read and run what every ready client sent,
        then write all the replies in one burst. With 50 clients sending pipelines of
        16, that cut the CPU per request by about 15% against a write after each read:
        the sends come back to back, and a client process woken by the first is still
        running when the others arrive. (Writing right after the sockets are served,
        rather than at the loop's next turn, saves that turn: 2-3% without pipelining.)"""
        if not client.flush_scheduled:
            client.flush_scheduled = True
            self.flush_queue.append(client)
            if len(self.flush_queue) == 1:
                self.tcp.call_after_io(self._flush_clients)

    def _flush_clients(self) -> None:
        if self.aof is not None and self.aof.buffer:
            self.aof.flush()             # the log gets this turn's changes before replies go
        queue, self.flush_queue = self.flush_queue, []
        for client in queue:
            client.flush_scheduled = False
            client.flush()
        if self.evictor.buffered_clients and self.config["maxmemory-clients"]:
            self.evictor.evict_clients()          # as Redis, before it sleeps

    # -- the cron ----------------------------------------------------------------------

    def cron(self) -> None:
        if self.cron_paused:                    # DEBUG PAUSE-CRON
            return
        if self.signal_held is not None:
            self._release_signal(True)
        self.keyspace.tick()
        # A replica leaves expiring to its primary, whose DELs it applies, but for the
        # keys its own clients wrote (a writable replica's).
        if self.primary_link is not None and self.active_expire_enabled:
            self.keyspace.expire_local_keys()
        if self.active_expire_enabled and self.pause_mode is None and self.primary_link is None:
            effort = self.config["active-expire-effort"]
            started = time.monotonic()
            self.keyspace.active_expire_cycle(time_budget=0.002 * effort + 0.003)
            self.note_latency("expire-cycle", time.monotonic() - started)
            if self.keyspace.ready_keys:          # an expired stream answers its readers
                self.blocking.serve_ready_keys()
        if self.pauses:
            self._end_pauses_due()
        self._persistence_cron()
        self.replication.cron()
        self.failover.check()
        if self.shutdown_wait is not None:
            self.check_shutdown_wait()
        self.tracking.limit_keys(self.config["tracking-table-max-keys"])
        if self.config["min-replicas-to-write"]:
            self.refresh_write_state()          # replicas fall behind as time passes
        self.migrate_links.close_idle()
        self.keyspace.used_memory()              # keep the pending size updates few
        if self.config["maxmemory"] and self.pause_mode is None:
            self.evictor.make_room()

    def _persistence_cron(self) -> None:
        snapshotter, aof, offline = self.snapshotter, self.aof, self.offline_aof
        snapshotter.poll()
        self.scripting.reap_debug_sessions()
        if aof is not None:
            aof.poll()
        if offline is not None:
            offline.poll()
            if not offline.rewriting:
                offline.close()
                self.offline_aof = None
        if snapshotter.in_progress or self.aof_rewriting:
            return
        if self.aof_rewrite_scheduled and not self.aof_history.limited():
            self.rewrite_aof()
        elif snapshotter.rules_due() or (snapshotter.scheduled and snapshotter.may_try()):
            snapshotter.start_background()
        elif aof is not None and aof.rewrite_due() and not self.aof_history.limited():
            aof.start_rewrite()

    def _sample_ops(self) -> None:
        """instantaneous_ops_per_sec, _kbps and _eventloop_*: commands, traffic and turns
        of the event loop over the last second."""
        sample = self._ops_now()
        elapsed = max(sample[0] - self._ops_sample[0], 1e-9)
        processed, *traffic, turns, busy_ns = (
            now - before for now, before in zip(sample[1:], self._ops_sample[1:]))
        self.ops_per_sec = int(processed / elapsed)
        self.traffic_kbps = tuple(count / elapsed / 1024 for count in traffic)
        self.loop_turns_per_sec = int(turns / elapsed)
        self.loop_turn_usec = busy_ns // turns // 1000 if turns > 0 else 0
        self._ops_sample = sample

    def _ops_now(self) -> tuple:
        stats = self.tcp.stats
        mux = self.tcp.multiplexer()
        return (time.monotonic(), self.commands_processed, stats.bytes_received,
                stats.bytes_sent, self.replication.bytes_sent, mux.cycles, mux.busy_ns)

    def event_loop_figures(self) -> tuple[int, int]:
        """(the event loop's turns, the microseconds they took but for their waits) since
        the last RESETSTAT: Redis 7.2's eventloop_cycles and eventloop_duration_sum."""
        mux = self.tcp.multiplexer()
        return mux.cycles - self._loop_base[0], (mux.busy_ns - self._loop_base[1]) // 1000

    def _enforce_output_limits(self) -> None:
        """Soft output buffer limits are about time: check the clients with a backlog."""
        for client in list(self.clients.values()):
            pending = sum(map(len, client.out))
            if ((client.output_buffer_size or pending or client.replica_since is not None)
                    and client.over_output_limit(None, pending)):
                client.drop_over_output_limit()

    # -- CLIENT PAUSE ------------------------------------------------------------------

    @property
    def paused(self) -> bool:
        return self.pause_mode is not None

    def pause_applies(self, flags: frozenset) -> bool:
        """Whether CLIENT PAUSE holds back a call with these `flags` (a script's as it
        declared them, an EXEC's with its queued commands'): everything under ALL;
        under WRITE, what may change the data or feed the replicas."""
        return self.pause_mode == "all" or "write" in flags or "may_replicate" in flags

    def pause(self, seconds: float, mode: str, purpose: str = "client") -> None:
        """Hold back clients' writes ("write") or every command ("all") for `seconds`
        (math.inf: until unpaused), for `purpose`. As in Redis, a second pause for the
        same purpose can only extend the first, or widen it from WRITE to ALL."""
        until = time.monotonic() + seconds
        if purpose in self.pauses:
            old_mode, old_until = self.pauses[purpose]
            mode = "all" if "all" in (mode, old_mode) else mode
            until = max(until, old_until)
        self.pauses[purpose] = (mode, until)
        self._apply_pauses()
        if seconds != math.inf:
            self.loop.call_later(seconds, self._end_pauses_due)

    def _end_pauses_due(self) -> None:
        now = time.monotonic() + 0.001
        for purpose, (_mode, until) in list(self.pauses.items()):
            if until <= now:
                self.unpause(purpose)

    def unpause(self, purpose: str = "client") -> None:
        if self.pauses.pop(purpose, None) is not None:
            self._apply_pauses()

    def _apply_pauses(self) -> None:
        modes = {mode for mode, _until in self.pauses.values()}
        was, self.pause_mode = self.pause_mode, ("all" if "all" in modes
                                                 else "write" if modes else None)
        self.refresh_lanes()
        if was is not None and self.pause_mode != was:     # lifted, or narrowed to WRITE:
            self.blocking.release_paused()                 # the held commands try again

    def refresh_lanes(self) -> None:
        # A pause freezes the data: nothing expires (keys past their time only look
        # gone) and nothing is evicted, so that no deletion reaches the replicas. A
        # replica likewise leaves deleting them to its primary.
        self.keyspace.expiry_paused = self.pause_mode is not None or self.primary_link is not None
        # The careful lane is also where writes are logged and MISCONF refuses them.
        # Clients' buffers are only watched when a limit counts them (see memory.py);
        # when one is set, every client may already hold something.
        was_watching = self.watch_client_memory
        self.watch_client_memory = bool(self.config["maxmemory"]
                                        or self.config["maxmemory-clients"])
        if self.watch_client_memory and not was_watching:
            self.evictor.buffered_clients.update(self.clients.values())
        self.careful = (self.pause_mode is not None or self.busy_reply is not None
                        or self.loading
                        or bool(self.monitors)
                        or self.aof is not None or self.replication.streaming
                        or self.refuse_writes is not None or self.stale_reply is not None
                        or bool(self.config["maxmemory"]))

    def protected_mode_refuses(self, client) -> bool:
        """Protected mode: without a password, only local clients are served."""
        return (self.config["protected-mode"] and self.acl.default.nopass
                and not is_local(client))

    def allows_protected(self, client) -> bool:
        """DEBUG is refused unless enable-debug-command is yes (or local, from loopback)."""
        return self._enabled_for("enable-debug-command", client)

    def allows_protected_config(self, client) -> bool:
        """CONFIG SET of a protected parameter (dir, dbfilename), likewise, with
        enable-protected-configs."""
        return self._enabled_for("enable-protected-configs", client)

    def _enabled_for(self, setting: str, client) -> bool:
        value = self.config[setting]
        return value == "yes" or (value == "local" and is_local(client))

    # -- WATCH -------------------------------------------------------------------------

    def unwatch_all(self, client) -> None:
        for (index, key) in client.watching:
            db = self.keyspace.dbs[index]
            watchers = db.watched.get(key)
            if watchers is not None:
                watchers.discard(client)
                if not watchers:
                    del db.watched[key]
        client.watching = {}
        client.watch_broken = False

    # -- MONITOR -----------------------------------------------------------------------

    def add_monitor(self, client) -> None:
        client.monitor = True
        self.monitors.add(client)
        self.refresh_lanes()

    def remove_monitor(self, client) -> None:
        client.monitor = False
        self.monitors.discard(client)
        self.refresh_lanes()

    def feed_monitors(self, client, argv: list) -> None:
        now = time.time()
        # Commands a script runs come from its client, which has no connection.
        if client.transport is None:
            peer = "lua"
        elif client.unix_socket:
            peer = f"unix:{client.peer[0]}"
        else:
            peer = f"{client.peer[0]}:{client.peer[1]}"
        words = " ".join(quote_repr(arg) for arg in argv)
        line = f"+{now:.6f} [{client.db.index} {peer}] {words}\r\n".encode()
        for monitor in list(self.monitors):
            if monitor is not client:
                monitor.send(line)

    # -- statistics ----------------------------------------------------------------------

    def used_memory(self) -> int:
        """The data (see memory.py) plus the clients: each connection's own cost and
        what it holds in its buffers."""
        return self.keyspace.used_memory() + sum(
            client.memory_usage() for client in self.clients.values())

    def client_info(self, client) -> str:
        """CLIENT INFO's line for `client`."""
        return client_info_line(client)

    @property
    def evicted_keys(self) -> int:
        return self.keyspace.evicted_keys

    def pubsub_channel_count(self) -> int:
        return len(self.broker.channels)

    def pubsub_pattern_count(self) -> int:
        return self.broker.pattern_count()

    def out_of_memory(self) -> bool:
        """Over maxmemory with nothing left to evict (a maxmemory must be set): what
        refuses denyoom commands with -OOM."""
        return bool(self.config["maxmemory"]) and not self.evictor.make_room()

    def check_acl(self, client, cmd, argv: list, context: str = "toplevel") -> None:
        """Raise `Denied` (logged for ACL LOG) unless `client`'s user may run this."""
        try:
            client.user.check(cmd, argv)
        except Denied as denied:
            self.record_denial(client, denied.reason, denied.refused, context)
            raise

    def record_denial(self, client, reason: str, refused: str, context: str = "toplevel",
                      username: str | None = None) -> None:
        """An ACL refusal (a command, key or channel, or a failed AUTH), for ACL LOG."""
        self.acl_denials[reason] += 1
        self.acl.log.record(reason, context, refused, username or client.user.name,
                            client_info_line(client), self.config["acllog-max-len"])

    def count_error(self, error) -> None:
        if isinstance(error, CountedError):
            return
        code = error.code
        self.error_counts[code] = self.error_counts.get(code, 0) + 1

    def note_slow(self, client, cmd, argv: list, elapsed_ns: int) -> None:
        """A command took longer than the slow log or latency monitor threshold."""
        micros = elapsed_ns // 1000
        if elapsed_ns > self.slowlog_threshold_ns and not cmd.skip_slowlog:
            self.slowlog.add(client, argv, micros)
        self.note_latency("fast-command" if "fast" in cmd.flags else "command",
                          elapsed_ns / 1e9)

    def note_latency(self, event: str, seconds: float) -> None:
        """LATENCY's events: record one that took latency-monitor-threshold or more."""
        threshold = self.config["latency-monitor-threshold"]
        if threshold and seconds * 1000 >= threshold:
            self.latency.record(event, int(seconds * 1000))

    def reset_stats(self) -> None:
        for cmd in self.table:
            for each in (cmd, *cmd.subcommands.values()):
                each.reset_stats()
        self.error_counts.clear()
        keyspace = self.keyspace
        keyspace.expired_keys = keyspace.evicted_keys = keyspace.hits = keyspace.misses = 0
        keyspace.lazyfreed_objects = keyspace.expire_time_cap_reached = 0
        keyspace.expire_cycle_seconds = keyspace.expired_stale_share = 0.0
        self.evictor.reset_stats()
        stats = self.tcp.stats
        stats.connections_received = stats.connections_rejected = 0
        stats.bytes_received = stats.bytes_sent = stats.reads = stats.writes = 0
        self.replication.reset_stats()
        self.snapshotter.saves = 0
        self.aof_history.rewrites = self.aof_history.failures = 0
        self.forks = self.latest_fork_usec = 0
        self.peak_memory = 0
        # The instantaneous figures start again from zero, as Redis's samples do.
        self.ops_per_sec, self.traffic_kbps = 0, (0.0, 0.0, 0.0)
        self.loop_turns_per_sec, self.loop_turn_usec = 0, 0
        self._ops_sample = self._ops_now()
        mux = self.tcp.multiplexer()
        self._loop_base = (mux.cycles, mux.busy_ns)
        self.acl_denials = dict.fromkeys(self.acl_denials, 0)

    @property
    def commands_usec(self) -> int:
        """The microseconds commands took, all together (eventloop_duration_cmd_sum)."""
        return sum(each.usec for cmd in self.table for each in (cmd, *cmd.subcommands.values()))

    @property
    def commands_processed(self) -> int:
        total = 0
        for cmd in self.table:
            total += cmd.calls
            for sub in cmd.subcommands.values():
                total += sub.calls
        return total
