"""The key-value server: wires the RESP codec, the command table and the keyspace.

    server = KvServer(config)
    run_servers([server.tcp], setup=...)   # or `python -m fromscratch kvdb`

`KvServer` owns what all clients share: the keyspace, the configuration, the client
list, the blocking machinery, MONITOR subscribers, the slow log and the server cron
(active expiry, the LRU clock, CLIENT PAUSE expiry), which runs `hz` times a second.
"""

from __future__ import annotations

import logging
import time
from collections import deque

from ..net import TcpServer
from . import commands  # noqa: F401  (registers every command in the table)
from .blocking import Blocking
from .client import Client
from .config import Config
from .keyspace import Keyspace
from .table import TABLE

log = logging.getLogger("fromscratch.kvdb")

REDIS_VERSION = "7.2.4"      # the Redis release whose behaviour we follow


class SlowLog:
    """SLOWLOG: the most recent commands that took longer than a threshold."""

    def __init__(self, max_len: int):
        self.entries: deque = deque(maxlen=max_len)
        self.next_id = 0

    def add(self, client, argv: list, micros: int) -> None:
        shown = [arg if len(arg) <= 128 else
                 arg[:128] + b"... (%d more bytes)" % (len(arg) - 128) for arg in argv[:32]]
        if len(argv) > 32:
            shown[-1] = b"... (%d more arguments)" % (len(argv) - 31)
        self.entries.appendleft([self.next_id, int(time.time()), micros, shown,
                                 f"{client.peer[0]}:{client.peer[1]}".encode(), client.name])
        self.next_id += 1

    def resize(self, max_len: int) -> None:
        self.entries = deque(self.entries, maxlen=max_len)


def _listen_addresses(bind: str) -> tuple[list[str], list[str]]:
    """redis.conf's bind: addresses, those prefixed with '-' optional."""
    required, optional = [], []
    for word in bind.split():
        (optional if word.startswith("-") else required).append(word.lstrip("-"))
    return required, optional


class KvServer:
    def __init__(self, config: Config | None = None):
        self.config = config or Config()
        self.table = TABLE
        self.keyspace = Keyspace(self.config["databases"])
        required, optional = _listen_addresses(self.config["bind"])
        self.tcp = TcpServer("kvdb", required + optional, self.config["port"],
                             lambda tcp: Client(self),
                             max_connections=self.config["maxclients"],
                             idle_timeout=self.config["timeout"])
        self.optional_addresses = optional
        self.loop = None
        self.clients: dict[int, Client] = {}
        self.blocking = Blocking(self)
        self.monitors: set = set()
        self.slowlog = SlowLog(self.config["slowlog-max-len"])
        self.slowlog_threshold_ns = 0
        self.pause_mode: str | None = None      # "all" or "write" during CLIENT PAUSE
        self.pause_until = 0.0
        self.started_at = time.time()
        self.run_id = "%040x" % int.from_bytes(__import__("os").urandom(20), "big")
        self.stat_reset_at = time.time()
        self._apply_config()

    def _apply_config(self) -> None:
        config = self.config

        def slowlog_threshold(value):
            # Negative disables the slow log; 0 logs every command.
            self.slowlog_threshold_ns = float("inf") if value < 0 else value * 1000 - 1

        slowlog_threshold(config["slowlog-log-slower-than"])
        config.on_change("slowlog-log-slower-than", slowlog_threshold)
        config.on_change("slowlog-max-len", self.slowlog.resize)
        config.on_change("maxclients", lambda value: setattr(self.tcp, "max_connections", value))
        config.on_change("timeout", lambda value: setattr(self.tcp, "idle_timeout", value))

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

    # -- the cron ----------------------------------------------------------------------

    def cron(self) -> None:
        self.keyspace.tick()
        effort = self.config["active-expire-effort"]
        self.keyspace.active_expire_cycle(time_budget=0.002 * effort + 0.003)
        if self.pause_mode and time.monotonic() >= self.pause_until:
            self.unpause()

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
        self.loop.call_later(seconds, self._pause_timer)

    def _pause_timer(self) -> None:
        if self.pause_mode and time.monotonic() >= self.pause_until - 0.001:
            self.unpause()

    def unpause(self) -> None:
        self.pause_mode = None
        self.blocking.release_paused()

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

    def feed_monitors(self, client, argv: list) -> None:
        now = time.time()
        peer = f"{client.peer[0]}:{client.peer[1]}"
        words = " ".join(quote_repr(arg) for arg in argv)
        line = f"+{now:.6f} [{client.db.index} {peer}] {words}\r\n".encode()
        for monitor in list(self.monitors):
            if monitor is not client:
                monitor.send(line)

    # -- statistics ----------------------------------------------------------------------

    @property
    def commands_processed(self) -> int:
        total = 0
        for cmd in TABLE:
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
