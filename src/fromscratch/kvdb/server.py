"""The key-value server: wires the RESP codec, the command table and the keyspace.

    server = KvServer(config)
    run_servers([server.tcp], setup=...)   # or `python -m fromscratch kvdb`

`KvServer` owns what all clients share: the keyspace, the configuration, the client
list, the blocking machinery, MONITOR subscribers, the slow log and the server cron
(active expiry, the LRU clock, CLIENT PAUSE expiry), which runs `hz` times a second.
"""

from __future__ import annotations

import logging
import os
import time
from ..net import TcpServer
from ..pubsub import Broker
from . import commands  # noqa: F401  (registers every command in the table)
from .blocking import Blocking
from .client import Client
from .commands.introspection import process_rss
from .config import Config
from .cursors import Cursors
from .diagnostics import LatencyMonitor, SlowLog
from .keyspace import Keyspace
from .notifications import Notifier, effective_flags
from .table import TABLE, CommandTable

log = logging.getLogger("fromscratch.kvdb")



def _listen_addresses(bind: str) -> tuple[list[str], list[str]]:
    """redis.conf's bind: addresses, those prefixed with '-' optional."""
    required, optional = [], []
    for word in bind.split():
        (optional if word.startswith("-") else required).append(word.lstrip("-"))
    return required, optional


class KvServer:
    def __init__(self, config: Config | None = None, broker: Broker | None = None,
                 table: CommandTable | None = None, name: str = "kvdb"):
        self.config = config or Config()
        self.table = table or TABLE
        self.keyspace = Keyspace(self.config["databases"])
        required, optional = _listen_addresses(self.config["bind"])
        self.tcp = TcpServer(name, required + optional, self.config["port"],
                             lambda tcp: Client(self),
                             max_connections=self.config["maxclients"],
                             idle_timeout=self.config["timeout"])
        self.optional_addresses = optional
        self.loop = None
        self.clients: dict[int, Client] = {}
        self.blocking = Blocking(self)
        self.monitors: set = set()
        self.broker = broker or Broker()
        self.keyspace.notifier = Notifier(self.broker)
        self.slowlog = SlowLog(self.config["slowlog-max-len"])
        self.latency = LatencyMonitor()
        self.error_counts: dict[str, int] = {}
        self.slowlog_threshold_ns = self.slow_ns = 0
        # True while every command needs a look (CLIENT PAUSE, MONITOR): see Client.call
        self.careful = False
        self.pause_mode: str | None = None      # "all" or "write" during CLIENT PAUSE
        self.pause_until = 0.0
        self.started_at = time.time()
        self.run_id = os.urandom(20).hex()
        self.cursors = Cursors()
        self.active_expire_enabled = True
        self.last_save_time = time.time()
        self.startup_memory = process_rss()
        self.peak_memory = 0
        self.ops_per_sec = 0
        self._ops_sample = (time.monotonic(), 0)
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

        def notifications(flags):
            self.keyspace.notify_flags = effective_flags(flags)

        notifications(config["notify-keyspace-events"])
        config.on_change("notify-keyspace-events", notifications)
        config.on_change("maxclients", lambda value: setattr(self.tcp, "max_connections", value))

        def output_limit(limits):
            # The smallest pub/sub output buffer limit set: below it no client needs a look.
            hard, soft, _ = limits["pubsub"]
            self.pubsub_output_limit = min((limit for limit in (hard, soft) if limit),
                                           default=float("inf"))

        output_limit(config["client-output-buffer-limit"])
        config.on_change("client-output-buffer-limit", output_limit)
        config.on_change("timeout", lambda value: setattr(self.tcp, "idle_timeout", value))

        def parser_limits(_value):
            for client in self.clients.values():
                client.parser.max_bulk_len = config["proto-max-bulk-len"]
                client.parser.max_buffer = config["client-query-buffer-limit"]

        config.on_change("proto-max-bulk-len", parser_limits)
        config.on_change("client-query-buffer-limit", parser_limits)

    async def start(self) -> None:
        try:
            await self.tcp.start()
        except OSError:
            if not self.optional_addresses:
                raise
            # An optional address (like -::1 without IPv6) may be missing: go without it.
            self.tcp.host = [h for h in self.tcp.host if h not in self.optional_addresses]
            await self.tcp.start()
        self.loop = self.tcp.loop
        self.tcp.every(1 / self.config["hz"], self.cron)

    @property
    def stop_requested(self):
        return self.tcp.stop_requested

    async def shutdown(self) -> None:
        await self.tcp.shutdown()

    # -- the cron ----------------------------------------------------------------------

    def cron(self) -> None:
        self.keyspace.tick()
        if self.active_expire_enabled:
            effort = self.config["active-expire-effort"]
            self.keyspace.active_expire_cycle(time_budget=0.002 * effort + 0.003)
            if self.keyspace.ready_keys:          # an expired stream answers its readers
                self.blocking.serve_ready_keys()
        if self.pause_mode and time.monotonic() >= self.pause_until:
            self.unpause()
        self._sample_ops()

    def _sample_ops(self) -> None:
        now, processed = time.monotonic(), self.commands_processed
        then, before = self._ops_sample
        if now - then >= 1.0:
            self.ops_per_sec = int((processed - before) / (now - then))
            self._ops_sample = (now, processed)

    # -- CLIENT PAUSE ------------------------------------------------------------------

    @property
    def paused(self) -> bool:
        return self.pause_mode is not None

    def pause_applies(self, cmd) -> bool:
        if self.pause_mode == "all":
            return True
        return cmd.is_write or "may_replicate" in cmd.flags

    def pause(self, seconds: float, mode: str) -> None:
        until = time.monotonic() + seconds
        # A second pause can only extend the first, or widen it from WRITE to ALL.
        if self.pause_mode is None or until > self.pause_until:
            self.pause_until = until
        if self.pause_mode != "all":
            self.pause_mode = mode
        self._refresh()
        self.loop.call_later(seconds, self._pause_timer)

    def _pause_timer(self) -> None:
        if self.pause_mode and time.monotonic() >= self.pause_until - 0.001:
            self.unpause()

    def unpause(self) -> None:
        self.pause_mode = None
        self._refresh()
        self.blocking.release_paused()

    def _refresh(self) -> None:
        self.careful = self.pause_mode is not None or bool(self.monitors)

    def allows_protected(self, client) -> bool:
        """DEBUG is refused unless enable-debug-command is yes (or local, from loopback)."""
        setting = self.config["enable-debug-command"]
        return setting == "yes" or (setting == "local" and client.peer[0] in ("127.0.0.1", "::1"))

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
        self._refresh()

    def remove_monitor(self, client) -> None:
        client.monitor = False
        self.monitors.discard(client)
        self._refresh()

    def feed_monitors(self, client, argv: list) -> None:
        now = time.time()
        peer = f"{client.peer[0]}:{client.peer[1]}"
        words = " ".join(quote_repr(arg) for arg in argv)
        line = f"+{now:.6f} [{client.db.index} {peer}] {words}\r\n".encode()
        for monitor in list(self.monitors):
            if monitor is not client:
                monitor.send(line)

    # -- statistics ----------------------------------------------------------------------

    def used_memory(self) -> int:
        # The process's resident memory: per-key accounting comes with maxmemory.
        return process_rss()

    def pubsub_channel_count(self) -> int:
        return len(self.broker.channels)

    def pubsub_pattern_count(self) -> int:
        return self.broker.pattern_count()

    def count_error(self, error) -> None:
        code = error.code
        self.error_counts[code] = self.error_counts.get(code, 0) + 1

    def note_slow(self, client, cmd, argv: list, elapsed_ns: int) -> None:
        """A command took longer than the slow log or latency monitor threshold."""
        micros = elapsed_ns // 1000
        if elapsed_ns > self.slowlog_threshold_ns and not cmd.skip_slowlog:
            self.slowlog.add(client, argv, micros)
        threshold = self.config["latency-monitor-threshold"]
        if threshold and micros >= threshold * 1000:
            event = "fast-command" if "fast" in cmd.flags else "command"
            self.latency.record(event, micros // 1000)

    def reset_stats(self) -> None:
        for cmd in self.table:
            for each in (cmd, *cmd.subcommands.values()):
                each.reset_stats()
        self.error_counts.clear()
        keyspace = self.keyspace
        keyspace.expired_keys = keyspace.evicted_keys = keyspace.hits = keyspace.misses = 0
        stats = self.tcp.stats
        stats.connections_received = stats.connections_rejected = 0
        stats.bytes_received = stats.bytes_sent = 0
        self.peak_memory = 0

    @property
    def commands_processed(self) -> int:
        total = 0
        for cmd in self.table:
            total += cmd.calls
            for sub in cmd.subcommands.values():
                total += sub.calls
        return total


def quote_repr(data: bytes) -> str:
    """An argument as Redis shows it in MONITOR and CLIENT LIST: C-style quoted."""
    out = ['"']
    for byte in data:
        char = chr(byte)
        if char in '\\"':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif char == "\a":
            out.append("\\a")
        elif char == "\b":
            out.append("\\b")
        elif 32 <= byte < 127:
            out.append(char)
        else:
            out.append("\\x%02x" % byte)
    out.append('"')
    return "".join(out)
