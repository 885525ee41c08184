"""One client connection of the key-value server: the request loop.

Bytes arrive in `data_received`; the RESP parser turns them into commands; each command
is looked up in the table, checked (arity, authentication, MULTI queuing), run, and its
reply encoded into `self.out`. The replies go out in one write per client once every
ready socket has been served (KvServer.flush_soon).

`run_commands` is the hot path of the whole server, so it has two lanes. The fast lane
is for the usual case: a known top-level command, from an unrestricted, authenticated
client outside MULTI, while nothing server-wide (CLIENT PAUSE, MONITOR, an append-only
file to feed, a maxmemory to keep) needs a look at each command. Anything else takes
`_call_carefully`, which makes every check in Redis's order. Whether a client or the
server needs the careful lane is kept up to date in one flag each (`careful`), refreshed
whenever one of the states behind it changes.

A command that must wait (BLPOP on an empty list, CLIENT PAUSE) returns BLOCKED; the
client then stops running commands, and the ones it already sent wait in `pending`
until it is woken (`resume`), in order, as in Redis.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from itertools import islice

from ..net import Connection
from ..resp import (Encoded, ErrorReply, Push, Replies, RequestParser, SimpleString,
                    write_items, write_resp2, write_resp3)
from .acl import PROTECTED_MODE_DENIED, Denied
from .commands.pubsub import unsubscribe_everything
from .memory import (ARGUMENT_POINTER, CHANNEL, CLIENT_OVERHEAD, PATTERN, QUEUED_COMMAND,
                     TRACKING_PREFIX, WATCHED_KEY)

log = logging.getLogger("fromscratch.kvdb")

OK = SimpleString("OK")
QUEUED = SimpleString("QUEUED")
BLOCKED = object()          # a handler's answer when the client must wait
NO_REPLY = object()         # a handler's answer when it must not be answered

_perf_ns = time.perf_counter_ns
_KEYSPACE_FLAGS = frozenset({"readonly", "write", "may_replicate"})
_OK_BYTES = b"+OK\r\n"
ALLOWED_WHILE_SUBSCRIBED = frozenset({"subscribe", "unsubscribe", "psubscribe", "punsubscribe",
                                      "ssubscribe", "sunsubscribe", "ping", "quit", "reset"})
# MONITOR sees a command once it has run (a SELECT in its new database, an EXEC after
# its commands), as Redis's call() shows it, but a script (Command.runs_script) as it
# starts, before the commands it runs: that is why Redis flags scripts skip_monitor and
# shows them itself. Client-side caching tracks the keys of the commands a read-only
# script runs, not the script's.
# Why EXEC refuses a queued command the user may no longer run (Redis's words), by the
# reason a Denied carries.
_EXEC_DENIALS = {"command": "no permission to execute the command or subcommand",
                 "key": "no permission to touch the specified keys",
                 "channel": "no permission to access one of the channels used as arguments"}
OOM = ErrorReply("OOM command not allowed when used memory > 'maxmemory'.")
LOADING = "LOADING Redis is loading the dataset in memory"
PROTECTED_REFUSED = (
    "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", "
    "you can run it from a local connection, otherwise you need to set this option in the "
    "configuration file, and then restart the server.")


class CountedError(ErrorReply):
    """An error reply already counted in INFO errorstats where it arose (a command a
    script ran): the script that answers it fails, but the error is not counted twice."""


def refreshing(name: str) -> property:
    """An attribute that sends the client down the careful lane or back when it changes
    (stored as `_name`; see Client._refresh)."""
    private = "_" + name

    def get(self):
        return getattr(self, private)

    def set(self, value) -> None:
        setattr(self, private, value)
        self._refresh()

    return property(get, set)


class Client(Connection):
    def __init__(self, server):
        super().__init__(server.tcp)
        self.kv = server
        self.lookup_exact = server.table.lookup_exact
        self.db = server.keyspace.dbs[0]
        self.resp = 2
        self.write = write_resp2
        self.parser = RequestParser(server.config["proto-max-bulk-len"],
                                    server.config["client-query-buffer-limit"])
        self.out: list[bytes] = []
        self.reading = b""          # the read whose commands are running
        self.name = b""
        self.lib_name = b""
        self.lib_ver = b""
        self._user = server.acl.default
        self.last_command = None
        self.careful = False
        self._authenticated = self._user.needs_no_auth
        # MULTI/EXEC: queued commands, or None outside a transaction
        self._multi: list | None = None
        self.multi_failed = False
        self.queued_bytes = 0       # what the queued commands take (CLIENT LIST multi-mem)
        self.in_exec = False
        self.watching: dict[tuple, bool] = {}      # (db index, key) -> existed at WATCH
        self.watch_broken = False
        # blocking: what we wait for, and the commands that came in meanwhile
        self.blocked = None
        self.pending: deque = deque()
        self.retrying = False
        # reply mode (CLIENT REPLY OFF / SKIP) and other flags
        self._reply_off = False
        self._skip_next_reply = False
        self.no_evict = False
        self._no_touch = False
        self.monitor = False
        self.close_after_reply = False
        # SCRIPT DEBUG: its next EVAL runs in a debugging session, "yes" in a forked
        # child of the server, "sync" in the server itself; None: no debugging.
        self.lua_debug = None
        # pub/sub: subscriptions (channels, patterns, shard channels), and messages
        # waiting in self.out for the next flush
        self.channels: set = set()
        self.patterns: set = set()
        self.shard_channels: set = set()
        self.buffered = 0          # the transport's backlog as of our last write (or more)
        self.flush_scheduled = False
        self.over_soft_limit_since = None
        self.soft_limit_class = "normal"
        self._tracking = None      # CLIENT TRACKING: its mode (tracking.Mode), or None
        self.replica_since = None  # when SYNC made it a replica (replication.py), or None
        self.replica_port = 0      # the port it says it listens on (REPLCONF)
        self.replica_ip = ""       # the address it says it has (REPLCONF ip-address)
        self.replica_acked = 0     # the stream offset it last said it has (REPLCONF ACK)
        self.replica_fsynced = 0   # and has in its append-only file, on disk (... FACK)
        self.replica_ack_time = 0.0  # when it last said so (INFO's lag)
        self.replica_rdb_only = False   # REPLCONF rdb-only 1: the payload, not the stream
        self.replica_capa_eof = False   # REPLCONF capa eof: takes a diskless payload
        self.replica_acked_payload = False  # acknowledged its diskless payload
        self.replica_stream_from = 0    # the first offset of the stream in its output
        self.replica_rdb_filter = None  # REPLCONF rdb-filter-only: the parts it wants
        self.write_offset = 0      # the replication stream's offset after its last write
        self.logged_offset = 0     # the append-only log's size after it (WAITAOF)
        # The server's own client (replaying the append-only file, or applying a
        # primary's stream): it applies changes already made, so nothing may refuse or
        # hold them (no maxmemory, MISCONF, READONLY or CLIENT PAUSE), as in Redis.
        self.trusted = False
        self.is_primary_link = False   # it applies our primary's stream (following.py)
        self._refresh()

    # -- the states that send commands down the careful lane ---------------------------

    def _refresh(self) -> None:
        self.parser.unauthenticated = not self._authenticated
        self.careful = (not self._authenticated or self._multi is not None
                        or self._reply_off or self._skip_next_reply or self._no_touch
                        or not self._user.unrestricted or self._tracking is not None
                        or self.subscriptions_count() > 0
                        or self.replica_since is not None)   # answers go through reply()

    def refresh_lane(self) -> None:
        """After a change `_refresh` looks at that no attribute announces (the
        subscriptions, becoming a replica)."""
        self._refresh()

    authenticated = refreshing("authenticated")
    multi = refreshing("multi")                  # queued commands, or None outside MULTI
    user = refreshing("user")
    no_touch = refreshing("no_touch")
    reply_off = refreshing("reply_off")
    skip_next_reply = refreshing("skip_next_reply")
    tracking = refreshing("tracking")            # the reads of a tracking client are noted

    # -- connection events ---------------------------------------------------------------

    def on_connect(self):
        if self.kv.protected_mode_refuses(self):
            self.transport.write(PROTECTED_MODE_DENIED)
            self.close()
            return
        self.kv.clients[self.id] = self
        # Bound what a client that sends without reading can make us hold (see
        # pause_writing): replies beyond this stop us reading its socket.
        hard = self.kv.config["client-output-buffer-limit"]["normal"][0]
        self.transport.set_write_buffer_limits(high=min(hard or 4 << 20, 4 << 20))

    def on_disconnect(self):
        kv = self.kv
        kv.clients.pop(self.id, None)
        if self.blocked is not None:
            kv.blocking.remove(self)
        kv.unwatch_all(self)
        if self._tracking is not None:
            kv.tracking.disable(self)
        if self.monitor:
            kv.remove_monitor(self)
        if self.subscriptions_count():
            unsubscribe_everything(self)
        kv.replication.detach(self)
        self.pending.clear()

    @property
    def replica_address(self) -> str:
        """Where a replica says it is (replica-announce-ip), or where it connects from."""
        return self.replica_ip or self.peer[0]

    @property
    def replica_name(self) -> str:
        """How Redis names a replica in its log: address and listening port."""
        return (f"{self.replica_address}:{self.replica_port}" if self.replica_port
                else f"{self.replica_address}:<unknown-replica-port>")

    def refuse(self):
        self.transport.write(b"-ERR max number of clients reached\r\n")

    def idle_exempt(self) -> bool:
        return self.blocked is not None or self.replica_since is not None

    def pause_writing(self):
        # Replies pile up. As Redis, the client is still read (it may be sending more
        # than the kernel holds while it does not read yet: to stop reading would stall
        # both), but dropped if over its client-output-buffer-limit; and its buffers
        # count against maxmemory and maxmemory-clients.
        if not self.closed and self.over_output_limit():
            self.drop_over_output_limit()

    def drop_over_output_limit(self) -> None:
        log.warning("closing client %s: over its client-output-buffer-limit", self.id)
        self.abort()

    def resume_writing(self):
        pass

    def memory_usage(self) -> int:
        """What the client holds, as Redis counts it (CLIENT LIST tot-mem, client
        eviction): its connection's own cost, its query buffer (sized for the whole of a
        large argument once its length is read), the arguments of a half-received
        command, the replies not yet sent, and its own tables (multi_memory,
        subscriptions, tracking prefixes)."""
        size = (CLIENT_OVERHEAD + max(len(self.reading), self.parser.query_buffer_room)
                + self.parser.argument_bytes + self.output_buffer_size + self.multi_memory())
        if self.channels or self.patterns or self.shard_channels:
            size += (len(self.channels) + len(self.shard_channels)) * CHANNEL
            size += len(self.patterns) * PATTERN
        if self._tracking is not None:
            size += len(self._tracking.prefixes) * TRACKING_PREFIX
        return size

    def multi_memory(self) -> int:
        """What the queued commands and the watched keys take (Redis's
        multiStateMemOverhead; CLIENT LIST's multi-mem shows the commands' arguments)."""
        size = len(self.watching) * WATCHED_KEY
        if self._multi is not None:
            size += self.queued_bytes + len(self._multi) * QUEUED_COMMAND
        return size

    # -- the request loop ----------------------------------------------------------------

    def data_received(self, data: bytes):
        self.last_active = self.server.clock
        stats = self.server.stats
        stats.bytes_received += len(data)
        stats.reads += 1
        parser = self.parser
        self.reading = data                 # while its commands run (query_buffer_size)
        commands = parser.feed(data)
        while True:
            if self.blocked is not None or self.pending:
                self.pending.extend(commands)
            elif commands:
                try:
                    self.run_commands(commands)
                except MemoryError:
                    # A reply too big for the machine (an absurd count without an
                    # output limit): this client goes, the others are served.
                    log.warning("closing client %s: out of memory building its reply", self.id)
                    self.out.clear()
                    self.abort()
            # Before authenticating, commands are parsed one by one (see RequestParser).
            if not parser.held_back or self.closed or self.close_after_reply:
                break
            commands = parser.feed(b"")
        self.reading = b""
        if parser.error is not None:
            self.out.append(b"-ERR " + parser.error.encode() + b"\r\n")
            self.close_after_reply = True
        elif parser.overflow:
            log.warning("closing client %s: query buffer over client-query-buffer-limit",
                        self.id)
            self.abort()
            return
        if self.kv.watch_client_memory:     # (what a command added is counted too)
            self.kv.evictor.buffered_clients.add(self)
        self.kv.flush_soon(self)

    def flush(self) -> None:
        aof = self.kv.aof
        if aof is not None and aof.buffer:
            aof.hold(self)          # replies leave only after the log has the changes
            return
        self.flush_now()

    def flush_now(self) -> None:
        out = self.out
        if out and not self.closed:
            data = b"".join(out) if len(out) > 1 else out[0]
            out.clear()
            size = len(data)
            # What this turn's replies add to the client's backlog is checked against its
            # client-output-buffer-limit before any is written, as Redis checks its output
            # buffer: a reply over the hard limit is never sent, the client is dropped.
            # (A replica's dataset payload is not output in Redis's sense: not counted.)
            if (size + self.buffered > self.kv.output_limit_floor
                    and self.over_output_limit(None, size)):
                self.drop_over_output_limit()
                return
            stats = self.server.stats
            if self.replica_since is None:
                stats.bytes_sent += size
            else:                               # Redis counts replicas' traffic apart
                self.kv.replication.bytes_sent += size
            stats.writes += 1
            self.transport.write(data)
            self.buffered = self.transport.get_write_buffer_size()
            if self.buffered and self.kv.watch_client_memory:
                self.kv.evictor.buffered_clients.add(self)
            if self.over_soft_limit_since is not None:
                # restarts the soft limit's clock if now under
                self.over_output_limit(self.soft_limit_class)
        if self.close_after_reply:
            self.close()

    def reply(self, value) -> None:
        if self.replica_since is not None:
            self._replica_replied(value)
            return
        if self._reply_off or self._skip_next_reply:
            if self._skip_next_reply:           # SKIP covers one command's answer
                self.skip_next_reply = False
            # Pub/sub confirmations are pushes, which Redis sends even to a client that
            # turned its replies off: they are not answers it could do without.
            if not _is_push(value):
                return
        self.write(value, self.out)

    def _replica_replied(self, value) -> None:
        """A replica's link carries the stream alone: a command of a replica that
        answers anything (anything but REPLCONF ACK) would corrupt it. As Redis, we
        drop the replica instead, saying why."""
        from .commands.connection import client_info_line     # (it imports us)
        if not self.closed:
            name = self.last_command.full_name if self.last_command else "unknown"
            log.warning("Replica generated a reply to command '%s', disconnecting it: %s",
                        name, client_info_line(self))
            if isinstance(value, ErrorReply):
                log.warning("== CRITICAL == This master is sending an error to its replica: "
                            "'%s' after processing the command '%s'",
                            value.message.removeprefix("ERR "), name)
            self.abort()

    def call(self, argv: list) -> None:
        """Run one command, its reply written into self.out."""
        self.run_commands((argv,))

    def run_commands(self, commands) -> None:
        """Run commands in order, writing their replies into self.out, until one blocks
        (the rest then wait in `pending`) or closes the connection."""
        index, count = 0, len(commands)
        while index < count:
            end = self._run_fast(commands, index)
            if end == index:                    # not one for the fast lane
                self._call_carefully(commands[index])
                end += 1
            index = end
            if self.blocked is not None:
                self.pending.extend(commands[index:])
                return
            if self.close_after_reply:          # QUIT, or CLIENT KILL of ourselves
                return

    def _run_fast(self, commands, index: int) -> int:
        """Run, in the fast lane, the commands from `index` on that are the same command
        and need no check (a pipeline mostly repeats one command); returns the index of
        the first command not run. The loop is written out inline: it is where the server
        spends its time.

        The run is timed as a whole and each of its calls is counted with an equal share
        (INFO commandstats, LATENCY HISTOGRAM, the slow log): one clock reading per
        command cost about a tenth of a pipelined command's time."""
        kv = self.kv
        argv = commands[index]
        cmd = self.lookup_exact(argv[0])
        if (cmd is None or self.careful or kv.careful
                or not cmd.fast_min_argc <= len(argv) <= cmd.fast_max_argc):
            return index
        # What the run's calls share is looked up once; each call is checked for its
        # name, its argument count and the flags a call before it may have raised.
        name, handler = argv[0], cmd.handler
        low, high = cmd.fast_min_argc, cmd.fast_max_argc
        keyspace = kv.keyspace
        out = self.out
        append = out.append
        first = index
        started = _perf_ns()
        if cmd.run_handler is not None:         # some of the run served at once (XADD)
            for reply in cmd.run_handler(self, commands, index):
                append(b"$%d\r\n%s\r\n" % (len(reply), reply))
                index += 1
        for argv in islice(commands, index, None):
            if not low <= len(argv) <= high or argv[0] != name:
                break
            try:                                        # _invoke, inlined
                result = handler(self, argv)
            except ErrorReply as error:
                cmd.failed_calls += 1
                kv.count_error(error)
                result = error
            except Exception:
                result = self._internal_error(cmd, argv)
            kind = type(result)
            if kind is bytes:
                append(b"$%d\r\n%s\r\n" % (len(result), result))
            elif result is OK:
                append(_OK_BYTES)
            elif kind is int:
                append(b":%d\r\n" % result)
            elif kind is list:                          # the same in RESP2 and RESP3
                append(b"*%d\r\n" % len(result))
                write_items(result, out, self.write)
            elif kind is Encoded:                       # written already: a list's range...
                append(result.data)
            elif result is not BLOCKED and result is not NO_REPLY:
                self.write(result, self.out)
            index += 1
            # Blocked clients woken by this command are served before the next one.
            if (keyspace.ready_keys or self.blocked is not None or self.close_after_reply
                    or self.careful or kv.careful):
                break
        self.last_command = cmd
        self.count_calls(cmd, commands[first:index], _perf_ns() - started,
                         last_blocked=self.blocked is not None)
        if keyspace.ready_keys:
            kv.blocking.serve_ready_keys()
        return index

    def count_calls(self, cmd, calls, elapsed_ns: int, slow_log: bool = True,
                    last_blocked: bool = False) -> None:
        """Count `calls` (their argument lists) of `cmd`, which took elapsed_ns in all,
        in INFO commandstats, and time them (see _time_calls). As in Redis 7.0, a call
        that blocked (the last, if last_blocked) is counted at once and timed once
        answered (Blocking.wake)."""
        cmd = cmd.counted_as
        cmd.calls += len(calls)
        cmd.usec += elapsed_ns // 1000
        answered = calls[:-1] if last_blocked else calls
        if answered:
            self._time_calls(cmd, answered, elapsed_ns // len(calls), slow_log)

    def count_answer(self, cmd, argv: list, reply, elapsed_ns: int) -> None:
        """A call of `cmd` that blocked is answered, by a try that took elapsed_ns
        (0 for a timeout): it was counted when it blocked, now it is timed, and an
        error answer counts as Redis counts it."""
        cmd = cmd.counted_as
        cmd.usec += elapsed_ns // 1000
        self._time_calls(cmd, (argv,), elapsed_ns)
        if isinstance(reply, ErrorReply):
            cmd.failed_calls += 1
            self.kv.count_error(reply)

    def _time_calls(self, cmd, calls, each_ns: int, slow_log: bool = True) -> None:
        """Enter `calls` of `cmd` (as counted: counted_as), each_ns each, in the latency
        histogram (unless latency-tracking is off) and, with slow_log, the slow log and
        latency monitor."""
        kv = self.kv
        if kv.latency_tracking:
            cmd.histogram[(each_ns // 1000).bit_length()] += len(calls)
        if slow_log and each_ns > kv.slow_ns:
            for argv in calls:
                kv.note_slow(self, cmd, argv, each_ns)

    def _refused_while_loading(self, cmd, flags) -> bool:
        """As Redis: a load refuses every command not flagged `loading`; an async load
        (the old data still served) only those flagged no_async_loading. An EXEC is
        judged by the commands it would run."""
        kv = self.kv
        if kv.async_loading:
            return "no_async_loading" in flags
        if cmd.name == "exec":
            return any("loading" not in c.flags_of_call(kv, a) for c, a in self._multi or ())
        return "loading" not in flags

    def _call_carefully(self, argv: list) -> None:
        """Every check, in Redis's order: the lane for everything unusual."""
        kv = self.kv
        if kv.tracking.readers:      # as Redis, before any command: not only in the cron
            kv.tracking.limit_keys(kv.config["tracking-table-max-keys"])
        cmd = kv.table.lookup(argv[0])
        try:
            if cmd is None:
                raise _unknown_command(argv)
            argc = len(argv)
            if (cmd.arity > 0 and argc != cmd.arity) or argc < -cmd.arity:
                cmd.check_arity(argc)
            # As Redis: a protected command (DEBUG, MODULE) is refused before anything
            # but its existence is checked (DEBUG's subcommands are its arguments there).
            if cmd.protected and cmd.one_command and not kv.allows_protected(self):
                raise ErrorReply(PROTECTED_REFUSED)
            if cmd.subcommands and argc > 1:
                cmd = find_subcommand(cmd, argv)
            if (cmd.parent or cmd).protected and not kv.allows_protected(self):
                raise ErrorReply(PROTECTED_REFUSED)
            if not self._authenticated and not cmd.no_auth:
                raise ErrorReply("NOAUTH Authentication required.")
            if not self._user.unrestricted and not cmd.no_auth:
                kv.check_acl(self, cmd, argv, "toplevel" if self._multi is None else "multi")
            # Memory and disk errors refuse a command before it can join a transaction,
            # which then fails at EXEC (EXECABORT), as in Redis. A script is judged by
            # the flags it declared, an EXEC by the commands it would run.
            flags = cmd.flags_of_call(kv, argv)
            if cmd.name == "exec" and self._multi:
                flags = flags.union(*(c.flags_of_call(kv, a) for c, a in self._multi))
            # As Redis: evict (if over maxmemory) before any command, so that the
            # evicted keys' invalidations come before its reply; refuse only a command
            # that may grow the data when nothing is left to evict.
            if (kv.config["maxmemory"] and kv.pause_mode is None and kv.busy_reply is None
                    and not kv.loading and not self.trusted):
                may_grow = "denyoom" in flags
                if not kv.evictor.make_room(quick=not may_grow) and may_grow:
                    raise OOM
            if kv.refuse_writes is not None and "write" in flags and not self.trusted:
                raise ErrorReply(kv.refuse_writes)
            if kv.stale_reply is not None and not self.trusted and (
                    any("stale" not in c.flags_of_call(kv, a) for c, a in self._multi or ())
                    if cmd.name == "exec" else "stale" not in flags):
                raise ErrorReply(kv.stale_reply)
            if (self.resp == 2 and self.subscriptions_count()
                    and cmd.name not in ALLOWED_WHILE_SUBSCRIBED):
                raise ErrorReply(f"ERR Can't execute '{cmd.full_name}': only (P|S)SUBSCRIBE / "
                                 f"(P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this "
                                 f"context")
            if kv.loading and not self.trusted and self._refused_while_loading(cmd, flags):
                raise ErrorReply(LOADING)
            if kv.busy_reply is not None and "allow_busy" not in cmd.flags:
                raise kv.busy_reply
            # A replica talks replication only: touching the keyspace would also get
            # round CLIENT PAUSE, which replicas are exempt from.
            if self.replica_since is not None and not flags.isdisjoint(_KEYSPACE_FLAGS):
                raise ErrorReply("ERR Replica can't interact with the keyspace")
            if self._multi is not None and cmd.no_multi and cmd.queued_in_multi:
                raise ErrorReply("ERR Command not allowed inside a transaction")
            # Before queuing, as in Redis: CLIENT PAUSE holds a write even on its way
            # into a transaction, and an EXEC by the commands it would run.
            if kv.pause_mode is not None and kv.pause_applies(flags) and not self.trusted:
                kv.blocking.pause(self, argv)
                return
            if self._multi is not None and cmd.queued_in_multi:
                self._multi.append((cmd, argv))
                self.queued_bytes += sum(map(len, argv)) + ARGUMENT_POINTER * len(argv)
                self.reply(QUEUED)
                return
        except ErrorReply as error:
            if cmd is not None:
                cmd.counted_as.rejected_calls += 1
            # As Redis: CLIENT LIST's cmd is the last command looked up, NULL if unknown
            # (a container still here with arguments: its subcommand was not found).
            unknown = cmd is None or (cmd.subcommands and len(argv) > 1 and not cmd.one_command)
            self.last_command = None if unknown else cmd.counted_as
            if self._multi is not None:
                self.multi_failed = True
            if cmd is not None and cmd.name == "exec":
                # A refused EXEC ends the transaction, as Redis's execCommandAbort.
                self.discard_transaction()
                error = ErrorReply("EXECABORT Transaction discarded because of: "
                                   + error.message)
            kv.count_error(error)
            self.reply(error)
            return
        if kv.monitors and cmd.runs_script:
            kv.feed_monitors(self, argv)
        self.last_command = cmd.counted_as
        keyspace = kv.keyspace
        changes_before = keyspace.dirty
        touch_mode = keyspace.touch_mode
        no_touch = self._no_touch and cmd.name != "touch"
        if no_touch:
            keyspace.touch_mode = 0             # CLIENT NO-TOUCH: leave LRU/LFU alone
        tracking = kv.tracking
        if self._tracking is not None:
            tracking.executing = self
        started = _perf_ns()
        kv.in_command = True
        kv.force_propagation = False
        out_before = len(self.out)
        try:
            result = self._invoke(cmd, argv)
        finally:
            # (unless the command chose another mode: CONFIG SET maxmemory-policy)
            if no_touch and keyspace.touch_mode == 0:
                keyspace.touch_mode = touch_mode
            tracking.executing = None
            kv.in_command = False
        elapsed = _perf_ns() - started
        if cmd.is_write and kv.changed_since(changes_before) and result is not BLOCKED:
            kv.propagate(self, cmd, argv, result)
        if kv.pending_ops:
            kv.flush_ops(self, wrap="touches_arbitrary_keys" not in cmd.flags)
        self.count_calls(cmd, (argv,), elapsed, last_blocked=result is BLOCKED)
        if kv.monitors and _shown_after_running(cmd):
            kv.feed_monitors(self, argv)
        held = None
        if len(self.out) > out_before and self.resp == 3 and self.subscriptions_count():
            # Messages a subscriber published to itself (by PUBLISH, in a transaction or
            # a script, or as keyspace events of its own writes) follow the command's
            # reply, as in Redis 7.2.
            held = self.out[out_before:]
            del self.out[out_before:]
        if result is not BLOCKED and result is not NO_REPLY:
            self.reply(result)
        if held:
            self.out.extend(held)
        if self._tracking is not None:
            # Read-only scripts are not tracked themselves: the commands they run are.
            if cmd.is_readonly and not cmd.runs_script:
                tracking.remember(self, cmd, argv)
        if self._tracking is not None or tracking.deferred:
            # Also after a command that turned tracking off (an EXEC of SET and CLIENT
            # TRACKING OFF): its deferred invalidations must not wait for another client.
            tracking.command_done(self, self._multi is not None,
                                  (cmd.parent or cmd).name == "client")
        if kv.keyspace.ready_keys:
            kv.blocking.serve_ready_keys()

    def discard_transaction(self) -> None:
        """Leave MULTI, forgetting the queued commands and the watched keys."""
        self.multi = None
        self.multi_failed = False
        self.kv.unwatch_all(self)

    def _invoke(self, cmd, argv: list):
        """Run a command's handler: its result, or the error it raised (counted) as the
        reply."""
        try:
            return cmd.handler(self, argv)
        except ErrorReply as error:
            cmd.counted_as.failed_calls += 1
            self.kv.count_error(error)
            return error
        except Exception:
            return self._internal_error(cmd, argv)

    def _internal_error(self, cmd, argv) -> ErrorReply:
        # A bug of ours must not take the server down: log it, answer an error.
        log.exception("command %r failed", argv[:1])
        cmd.counted_as.failed_calls += 1
        error = ErrorReply(f"ERR internal error while running '{cmd.full_name}'")
        self.kv.count_error(error)
        return error

    def run_queued(self, commands) -> list:
        """EXEC: run the queued commands and collect their replies. The user's rights are
        checked again, as Redis does: ACL SETUSER may have taken one away meanwhile."""
        # (The server's own loading client is always in_exec: it never blocks.)
        was_in_exec, self.in_exec = self.in_exec, True
        self.kv.in_exec = True
        try:
            return [self._refused_in_exec(cmd, argv)
                    or self.run_contained(cmd, argv, in_transaction=True)
                    for cmd, argv in commands]
        finally:
            self.in_exec, self.kv.in_exec = was_in_exec, False

    def _refused_in_exec(self, cmd, argv: list) -> ErrorReply | None:
        if self._user.unrestricted or cmd.no_auth:
            return None
        try:
            self.kv.check_acl(self, cmd, argv, "multi")
        except Denied as denied:
            error = ErrorReply("NOPERM ACLs rules changed between the moment the transaction "
                               "was accumulated and the EXEC call. This command is no longer "
                               f"allowed for the following reason: {_EXEC_DENIALS[denied.reason]}")
            self.kv.count_error(error)
            return error
        return None

    def run_contained(self, cmd, argv: list, in_transaction: bool = False):
        """Run one command of a transaction or a script, already checked: it never
        blocks (in_exec), its statistics are kept, its reply is returned (an error
        too), and what it changed joins the ops of the EXEC or script (which go as one
        MULTI ... EXEC: see KvServer.flush_ops). A transaction's commands may enter the
        slow log (EXEC itself does not), a script's do not (the script does), as in
        Redis."""
        kv = self.kv
        keyspace = kv.keyspace
        changes_before = keyspace.dirty
        if kv.monitors and cmd.runs_script:
            kv.feed_monitors(self, argv)
        started = _perf_ns()
        kv.force_propagation = False
        result = self._invoke(cmd, argv)
        self.count_calls(cmd, (argv,), _perf_ns() - started, slow_log=in_transaction)
        if kv.monitors and _shown_after_running(cmd):
            kv.feed_monitors(self, argv)
        if cmd.is_write and kv.changed_since(changes_before):
            kv.propagate(self, cmd, argv, result)
        tracker = kv.tracking.executing     # the tracking client of the EXEC or the script
        if tracker is not None and cmd.is_readonly:
            kv.tracking.remember(tracker, cmd, argv)
        return result

    # -- blocking ----------------------------------------------------------------------

    def resume(self) -> None:
        """Run the commands that arrived while we were blocked, then send the replies."""
        if self.pending and not self.closed and not self.close_after_reply:
            commands = list(self.pending)
            self.pending.clear()
            self.run_commands(commands)
        self.flush()

    # -- what CLIENT LIST and INFO show ------------------------------------------------

    @property
    def last_command_name(self) -> str:
        return self.last_command.full_name if self.last_command else "NULL"

    @property
    def query_buffer_size(self) -> int:
        """CLIENT LIST's qbuf. Redis empties its query buffer only once the commands of a
        read have run, so while they run it still holds them all: here, the bytes of
        that read (Redis would also count the start of a command that an earlier read
        brought). Between reads, what a half-received command holds."""
        return len(self.reading) or self.parser.query_buffer_bytes

    def subscription_counts(self) -> tuple[int, int, int]:
        return len(self.channels), len(self.patterns), len(self.shard_channels)

    def subscriptions_count(self) -> int:
        return len(self.channels) + len(self.patterns) + len(self.shard_channels)

    @property
    def fd(self) -> int:
        sock = self.transport.get_extra_info("socket") if self.transport else None
        return sock.fileno() if sock is not None else -1

    def switch_protocol(self, version: int) -> None:
        self.resp = version
        self.write = write_resp3 if version == 3 else write_resp2
        self._refresh()

    # -- pub/sub delivery --------------------------------------------------------------

    def deliver(self, frame: bytes) -> None:
        """A published message for us, already encoded for our protocol. It joins our
        output after whatever we were answering, and goes out on the next flush."""
        self.out.append(frame)                      # the limits are checked in flush_now
        if not self.flush_scheduled:                # checked here too: this runs per delivery
            self.kv.flush_soon(self)

    def _output_class(self) -> str:
        """client-output-buffer-limit's class of this client's own traffic."""
        if self.replica_since is not None:
            return "slave"
        return "pubsub" if self.subscriptions_count() else "normal"

    def hard_output_limit(self) -> int:
        """client-output-buffer-limit's hard limit for the client's class (0: none)."""
        return self.kv.config["client-output-buffer-limit"][self._output_class()][0]

    def over_output_limit(self, klass: str | None = None, pending: int = 0) -> bool:
        """client-output-buffer-limit for a class of traffic ("pubsub" for deliveries,
        else the client's own class), counting the socket's backlog and `pending` bytes
        not yet written (for a replica, the stream it has yet to get): over the hard
        limit at once, or over the soft limit for longer than its time."""
        if klass is None:
            klass = self._output_class()
        config = self.kv.config
        hard, soft, seconds = config["client-output-buffer-limit"][klass]
        if klass == "slave":
            size = self.kv.replication.unsent(self, pending)
            # As Redis: a replica's hard limit below the backlog is raised to it (the
            # replica could continue from the backlog anyway).
            hard = hard and max(hard, config["repl-backlog-size"])
        else:
            size = pending + self.output_buffer_size
        if hard and size > hard:
            return True
        if soft and size > soft:
            now = time.monotonic()
            if self.over_soft_limit_since is None:
                self.over_soft_limit_since = now
                self.soft_limit_class = klass
            return now - self.over_soft_limit_since > seconds
        self.over_soft_limit_since = None
        return False


def deliver_to_clients(clients, frames) -> None:
    """The broker's deliver_all for our clients: Client.deliver for each, written out
    (a message to fifty subscribers is fifty deliveries; a call for each cost a third of
    the time of each)."""
    encoded = frames.encoded
    for client in clients:
        client.out.append(encoded[client.resp] or frames.for_protocol(client.resp))
        if not client.flush_scheduled:              # the limits are checked in flush_now
            client.kv.flush_soon(client)


def _shown_after_running(cmd) -> bool:
    """Whether MONITOR sees `cmd` once it has run: not the commands flagged
    skip_monitor (scripts show themselves as they start), nor administrative ones,
    which Redis deems too dangerous to show."""
    return not cmd.skip_monitor and "admin" not in cmd.flags


def _is_push(value) -> bool:
    return type(value) is Push or (type(value) is Replies
                                   and all(type(item) is Push for item in value))


def _unknown_command(argv: list) -> ErrorReply:
    name = argv[0].decode("utf-8", "replace")
    args = "".join(f"'{arg.decode('utf-8', 'replace')[:128]}' " for arg in argv[1:])
    return ErrorReply(f"ERR unknown command '{name[:128]}', with args beginning with: {args}")


def find_subcommand(cmd, argv: list):
    """The subcommand argv names (CLIENT SETNAME...), arity checked."""
    name = argv[1].decode("utf-8", "replace")
    sub = cmd.subcommands.get(name.lower())
    if cmd.one_command and (sub is None or not sub.arity_allows(len(argv))):
        return cmd          # DEBUG's subcommands are its arguments: it answers the error
    if sub is None:
        raise ErrorReply(f"ERR unknown subcommand '{name[:128]}'. Try {cmd.name.upper()} HELP.")
    sub.check_arity(len(argv))
    return sub
