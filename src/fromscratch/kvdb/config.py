"""Server configuration, as redis.conf, `redis-server --name value` and CONFIG know it.

Every parameter is declared once in PARAMETERS with its kind, default and whether CONFIG
SET may change it at run time. The same declarations parse a redis.conf-style file, the
command line and CONFIG SET, and render CONFIG GET, so the three always agree.

Some parameters tune internals that Redis has and we don't (listpack sizes, defrag,
replication, cluster mode). They are accepted and reported so that a redis.conf loads
and tools and test harnesses that set them keep working, and documented as having no
effect in protocol_specs/resp.md; `Param.effective` says which ones do something here.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass

from ..durable import write_file_atomically
from ..resp import ErrorReply, ProtocolError, quote_repr, split_inline
from .notifications import parse_flags, render_flags


class ConfigError(ValueError):
    """A bad parameter value; the message is Redis's wording of the reason."""


class ConfigFileError(ConfigError):
    """A bad line in the configuration (file or command line): which, and why."""


_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2,
          "g": 1000**3, "gb": 1024**3}


def parse_memory(text: str) -> int:
    """'64mb' -> 67108864, '1g' -> 1000000000, '100' -> 100 (units as redis.conf)."""
    match = re.fullmatch(r"(-?\d+)([a-z]*)", text.strip().lower())
    if not match or match.group(2) not in _UNITS:
        raise ConfigError("argument must be a memory value")
    return int(match.group(1)) * _UNITS[match.group(2)]


def _parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("yes", "1", "true"):
        return True
    if lowered in ("no", "0", "false"):
        return False
    raise ConfigError("argument must be 'yes' or 'no'")


def _parse_save(text: str) -> list[tuple[int, int]]:
    words = text.split()
    if len(words) % 2:
        raise ConfigError("Invalid save parameters")
    rules = []
    for seconds, changes in zip(words[::2], words[1::2]):
        if not (seconds.isdigit() and changes.isdigit()):
            raise ConfigError("Invalid save parameters")
        rules.append((int(seconds), int(changes)))
    return rules


def _render_save(rules) -> str:
    return " ".join(f"{seconds} {changes}" for seconds, changes in rules)


def _parse_memory_or_percent(text: str) -> int | str:
    """A size ("64mb") or a share of maxmemory ("10%", kept as text), as
    maxmemory-clients takes it; an empty text is 0."""
    if text.endswith("%"):
        if not text[:-1].isdigit():
            raise ConfigError("argument must be a memory or percent value")
        percent = int(text[:-1])
        if percent > 100:
            raise ConfigError("percentage argument must be less or equal to 100")
        return f"{percent}%" if percent else 0
    try:
        value = parse_memory(text) if text else 0
    except ConfigError:
        value = -1
    if value < 0:
        raise ConfigError("argument must be a memory or percent value")
    return value


def _parse_percentiles(text: str) -> list[float]:
    try:
        values = [float(word) for word in text.split()]
    except ValueError:
        values = None
    if values is None or not all(0.0 <= value <= 100.0 for value in values):
        raise ConfigError("Invalid latency-tracking-info-percentiles parameters")
    return values


def format_percentile(value: float) -> str:
    """A percentile as Redis prints it: %f less its trailing zeros (99.9, 50)."""
    return f"{value:f}".rstrip("0").rstrip(".")


_BUFFER_CLASSES = ("normal", "slave", "replica", "pubsub")


def _parse_output_limits(text: str, current: dict | None = None) -> dict:
    words = text.split()
    if not words or len(words) % 4:
        raise ConfigError("Wrong number of arguments in buffer limit configuration.")
    limits = dict(current or {})
    for i in range(0, len(words), 4):
        klass = words[i].lower()
        if klass not in _BUFFER_CLASSES:
            raise ConfigError("Invalid client class specified in buffer limit configuration.")
        if klass == "replica":
            klass = "slave"
        try:
            hard, soft = parse_memory(words[i + 1]), parse_memory(words[i + 2])
            seconds = int(words[i + 3])
        except (ConfigError, ValueError):
            raise ConfigError("Error in hard, soft or soft_seconds setting in buffer limit "
                              "configuration.") from None
        limits[klass] = (hard, soft, seconds)
    return limits


def _render_output_limits(limits: dict) -> str:
    return " ".join(f"{klass} {hard} {soft} {seconds}"
                    for klass, (hard, soft, seconds) in limits.items())


def _parse_replicaof(text: str) -> str:
    """`replicaof host port` (kept as "host port"), or `no one` or nothing: ""."""
    words = text.split()
    if not words or [word.lower() for word in words] == ["no", "one"]:
        return ""
    if len(words) != 2:
        raise ConfigError("wrong number of arguments")
    if not words[1].isdigit() or int(words[1]) > 65535:
        raise ConfigError("Invalid master port")
    return f"{words[0]} {int(words[1])}"


# What SIGTERM or SIGINT does (shutdown-on-sigterm, -sigint): SHUTDOWN's own flags, in
# the order Redis lists them; none ("default") saves when there are save rules.
SHUTDOWN_FLAGS = ("save", "nosave", "now", "force")


def _parse_shutdown_flags(text: str) -> tuple[str, ...]:
    words = {word.lower() for word in text.split()}
    if not words or not words <= {"default", *SHUTDOWN_FLAGS}:
        raise ConfigError("argument(s) must be one of the following: default, save, nosave, "
                          "now, force")
    if {"save", "nosave"} <= words:
        raise ConfigError("shutdown options SAVE and NOSAVE can't be used simultaneously")
    return tuple(flag for flag in SHUTDOWN_FLAGS if flag in words)


def _parse_oom_values(text: str) -> list[int]:
    words = text.split()
    if len(words) != 3:
        raise ConfigError("wrong number of arguments")
    try:
        values = [int(word) for word in words]
    except ValueError:
        values = []
    if len(values) != 3 or not all(-2000 <= value <= 2000 for value in values):
        raise ConfigError("Invalid oom-score-adj-values, elements must be between -2000 "
                          "and 2000.")
    return values


# proc-title-template's variables, and whether each can expand to nothing here (an
# empty title as Redis validates with, no cluster or sentinel mode, no unix socket).
_TITLE_VARIABLE_MAY_BE_EMPTY = {"title": True, "server-mode": True, "unixsocket": True,
                                "listen-addr": False, "port": False, "tls-port": False,
                                "config-file": False}


def _valid_title_template(text: str) -> bool:
    """Whether Redis accepts `text` as proc-title-template: `{{` and `}}` stand for
    braces, other braces enclose known variables, and the title must not come out
    blank when the title itself is empty."""
    shown = []
    for piece in re.split(r"(\{\{|\}\}|\{[^{}]*\})", text):
        if piece in ("{{", "}}"):
            shown.append(piece[0])
        elif piece.startswith("{") and piece.endswith("}"):
            may_be_empty = _TITLE_VARIABLE_MAY_BE_EMPTY.get(piece[1:-1])
            if may_be_empty is None:
                return False
            shown.append("" if may_be_empty else "x")
        elif "{" in piece:                # an unclosed variable (a lone } is text)
            return False
        else:
            shown.append(piece)
    return "".join(shown).strip(" ") != ""


@dataclass
class Param:
    name: str
    kind: str                      # bool int octal memory enum string save limits events
                                   # percentiles replicaof memory-or-percent
                                   # shutdown-flags oom-values title-template
    default: object
    mutable: bool = True
    choices: tuple = ()
    minimum: int | None = None
    maximum: int | None = None
    aliases: tuple = ()
    effective: bool = True         # False: accepted and reported, changes nothing here
    protected: bool = False        # CONFIG SET needs enable-protected-configs
    sensitive: bool = False        # a secret: CONFIG SET hides its value from SLOWLOG
    hidden: bool = False           # a test knob: CONFIG GET shows it only when named
    deny_loading: bool = False     # CONFIG SET refuses it (-LOADING) while data loads

    def parse(self, text: str, current=None):
        kind = self.kind
        if kind == "bool":
            return _parse_bool(text)
        if kind == "int":
            try:
                value = int(text)
            except ValueError:
                raise ConfigError("argument couldn't be parsed into an integer") from None
            return self._bounded(value)
        if kind == "octal":
            try:
                value = int(text, 8)
            except ValueError:
                raise ConfigError("argument couldn't be parsed as an octal number") from None
            return self._bounded(value)
        if kind == "memory":
            return self._bounded(parse_memory(text))
        if kind == "enum":
            lowered = text.lower()
            if lowered not in self.choices:
                raise ConfigError(f"argument(s) must be one of the following: "
                                  f"{', '.join(self.choices)}")
            return lowered
        if kind == "save":
            return _parse_save(text)
        if kind == "limits":
            return _parse_output_limits(text, current)
        if kind == "events":
            try:
                return parse_flags(text)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
        if kind == "percentiles":
            return _parse_percentiles(text)
        if kind == "memory-or-percent":
            return _parse_memory_or_percent(text)
        if kind == "shutdown-flags":
            return _parse_shutdown_flags(text)
        if kind == "oom-values":
            return _parse_oom_values(text)
        if kind == "title-template" and not _valid_title_template(text):
            raise ConfigError("template format is invalid or contains unknown variables")
        if kind == "replicaof":
            return _parse_replicaof(text)
        return text

    def _bounded(self, value: int) -> int:
        if ((self.minimum is not None and value < self.minimum)
                or (self.maximum is not None and value > self.maximum)):
            low, high = ((f"{self.minimum:o}", f"{self.maximum:o}") if self.kind == "octal"
                         else (self.minimum, self.maximum))
            raise ConfigError(f"argument must be between {low} and {high} inclusive")
        return value

    def render(self, value) -> str:
        if self.kind == "bool":
            return "yes" if value else "no"
        if self.kind == "save":
            return _render_save(value)
        if self.kind == "limits":
            return _render_output_limits(value)
        if self.kind == "events":
            return render_flags(value)
        if self.kind == "percentiles":
            return " ".join(map(format_percentile, value))
        if self.kind == "shutdown-flags":
            return " ".join(value) or "default"
        if self.kind == "oom-values":
            return " ".join(map(str, value))
        if self.kind == "octal":
            return f"{value:o}"
        return str(value)


_POLICIES = ("volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
             "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction")

_MAX = 2**63 - 1

PARAMETERS = [
    # networking and clients
    Param("bind", "bind", "127.0.0.1 -::1"),
    Param("port", "int", 6380, minimum=0, maximum=65535),
    Param("protected-mode", "bool", True),
    Param("unixsocket", "string", "", mutable=False),
    Param("unixsocketperm", "octal", 0, mutable=False, minimum=0, maximum=0o777),
    Param("maxclients", "int", 10000, minimum=1, maximum=2**31 - 1),
    Param("timeout", "int", 0, minimum=0, maximum=2**31 - 1),
    Param("tracking-table-max-keys", "int", 1_000_000, minimum=0, maximum=2**63 - 1),
    Param("tcp-keepalive", "int", 300, minimum=0, maximum=2**31 - 1, effective=False),
    Param("tcp-backlog", "int", 511, mutable=False, minimum=0, maximum=2**31 - 1,
          effective=False),
    Param("requirepass", "string", "", sensitive=True),
    Param("proto-max-bulk-len", "memory", 512 * 1024**2, minimum=1024 * 1024, maximum=_MAX),
    Param("client-query-buffer-limit", "memory", 1024**3, minimum=1024 * 1024, maximum=_MAX),
    Param("client-output-buffer-limit", "limits",
          {"normal": (0, 0, 0), "slave": (256 * 1024**2, 64 * 1024**2, 60),
           "pubsub": (32 * 1024**2, 8 * 1024**2, 60)}),
    # keyspace
    Param("databases", "int", 16, mutable=False, minimum=1, maximum=2**31 - 1),
    Param("hz", "int", 10, minimum=1, maximum=500),
    Param("dynamic-hz", "bool", True, effective=False),
    Param("active-expire-effort", "int", 1, minimum=1, maximum=10),
    Param("notify-keyspace-events", "events", 0),
    # persistence (see the persistence issue; accepted now)
    Param("dir", "string", "./data/kvdb", protected=True, deny_loading=True),
    Param("dbfilename", "string", "dump.rdb", protected=True),
    Param("save", "save", [(3600, 1), (300, 100), (60, 10000)]),
    Param("appendonly", "bool", False, deny_loading=True),
    Param("appendfilename", "string", "appendonly.aof", mutable=False),
    Param("appenddirname", "string", "appendonlydir", mutable=False),
    Param("appendfsync", "enum", "everysec", choices=("always", "everysec", "no")),
    Param("auto-aof-rewrite-percentage", "int", 100, minimum=0, maximum=2**31 - 1),
    Param("auto-aof-rewrite-min-size", "memory", 64 * 1024**2, minimum=0, maximum=_MAX),
    Param("aof-load-truncated", "bool", True),
    Param("stop-writes-on-bgsave-error", "bool", True),
    Param("rdbcompression", "bool", True, effective=False),
    Param("rdbchecksum", "bool", True),
    # memory
    Param("maxmemory", "memory", 0, minimum=0, maximum=_MAX),
    Param("maxmemory-policy", "enum", "noeviction", choices=_POLICIES),
    # Client eviction (by the memory clients use) is not implemented.
    Param("maxmemory-clients", "memory-or-percent", 0),
    Param("maxmemory-samples", "int", 5, minimum=1, maximum=64),
    Param("maxmemory-eviction-tenacity", "int", 10, minimum=0, maximum=100),
    Param("lfu-log-factor", "int", 10, minimum=0, maximum=2**31 - 1),
    Param("lfu-decay-time", "int", 1, minimum=0, maximum=2**31 - 1),
    # diagnostics
    Param("loglevel", "enum", "notice", choices=("debug", "verbose", "notice", "warning",
                                                 "nothing")),
    Param("logfile", "string", "", mutable=False),
    Param("slowlog-log-slower-than", "int", 10000, minimum=-1, maximum=_MAX),
    Param("slowlog-max-len", "int", 128, minimum=0, maximum=2**31 - 1),
    Param("latency-monitor-threshold", "int", 0, minimum=0, maximum=_MAX),
    Param("latency-tracking", "bool", True),
    Param("latency-tracking-info-percentiles", "percentiles", [50.0, 99.0, 99.9]),
    Param("enable-debug-command", "enum", "no", mutable=False, choices=("no", "yes", "local")),
    # Where files are written is not for any client to change: the classic attack on an
    # open Redis was CONFIG SET dir and dbfilename, then SAVE.
    Param("enable-protected-configs", "enum", "no", mutable=False,
          choices=("no", "yes", "local")),
    # There are no modules to load here, whatever this says (MODULE LOAD is refused).
    Param("enable-module-command", "enum", "no", mutable=False, choices=("no", "yes", "local"),
          effective=False),
    Param("no-appendfsync-on-rewrite", "bool", False, effective=False),
    Param("propagation-error-behavior", "enum", "ignore", effective=False,
          choices=("ignore", "panic", "panic-on-replicas")),
    Param("busy-reply-threshold", "int", 5000, minimum=0, maximum=_MAX,
          aliases=("lua-time-limit",), effective=False),
    Param("daemonize", "bool", False, mutable=False),
    Param("pidfile", "string", "", mutable=False),
    Param("supervised", "string", "no", mutable=False, effective=False),
    Param("always-show-logo", "bool", False, mutable=False),
    Param("io-threads", "int", 1, mutable=False, minimum=1, maximum=128, effective=False),
    Param("io-threads-do-reads", "bool", False, mutable=False, effective=False),
    # the AOF's base file is always a snapshot (our format): the "preamble" is always on
    Param("aof-use-rdb-preamble", "bool", True),
    # Test knobs: a sleep after each key a snapshot writes (microseconds; negative: one
    # microsecond once in that many keys), to keep a save in progress for a while.
    Param("rdb-key-save-delay", "int", 0, minimum=-(2**31), maximum=2**31 - 1, hidden=True),
    # ... and after each key or command a load reads, to keep a load under way.
    Param("key-load-delay", "int", 0, minimum=-(2**31), maximum=2**31 - 1, hidden=True),
    # How often a load stops to serve the clients (see persistence/loading.py).
    Param("loading-process-events-interval-bytes", "int", 2 * 1024 * 1024, minimum=1024,
          maximum=2**31 - 1, hidden=True),
    Param("lazyfree-lazy-eviction", "bool", False, effective=False),
    Param("lazyfree-lazy-expire", "bool", False, effective=False),
    Param("lazyfree-lazy-server-del", "bool", False, effective=False),
    Param("lazyfree-lazy-user-del", "bool", False),
    Param("lazyfree-lazy-user-flush", "bool", False),
    Param("activerehashing", "bool", True, effective=False),
    Param("activedefrag", "bool", False, effective=False),
    Param("replica-read-only", "bool", True, aliases=("slave-read-only",)),
    Param("replica-serve-stale-data", "bool", True, aliases=("slave-serve-stale-data",),
          effective=False),
    Param("repl-backlog-size", "memory", 1024**2, minimum=1, maximum=_MAX),
    # "host port" while following a primary (set at start-up, or by REPLICAOF), else "".
    Param("replicaof", "replicaof", "", mutable=False, aliases=("slaveof",)),
    # Following a primary: where we connect from, and what we tell it about us.
    Param("bind-source-addr", "string", ""),
    Param("replica-announce-ip", "string", "", aliases=("slave-announce-ip",)),
    Param("replica-announce-port", "int", 0, minimum=0, maximum=65535,
          aliases=("slave-announce-port",)),
    Param("masterauth", "string", "", effective=False, sensitive=True),
    Param("masteruser", "string", "", effective=False, sensitive=True),
    Param("replica-priority", "int", 100, minimum=0, maximum=2**31 - 1,
          aliases=("slave-priority",), effective=False),
    Param("replica-announced", "bool", True, effective=False),
    Param("repl-backlog-ttl", "int", 3600, minimum=0, maximum=2**31 - 1),
    Param("repl-ping-replica-period", "int", 10, minimum=1, maximum=2**31 - 1,
          aliases=("repl-ping-slave-period",), effective=False),
    Param("repl-timeout", "int", 60, minimum=1, maximum=2**31 - 1),
    Param("repl-diskless-sync", "bool", True),
    Param("repl-diskless-sync-delay", "int", 5, minimum=0, maximum=2**31 - 1),
    Param("min-replicas-to-write", "int", 0, minimum=0, maximum=2**31 - 1,
          aliases=("min-slaves-to-write",)),
    Param("min-replicas-max-lag", "int", 10, minimum=0, maximum=2**31 - 1,
          aliases=("min-slaves-max-lag",)),
    Param("cluster-enabled", "bool", False, mutable=False, effective=False),
    Param("acllog-max-len", "int", 128, minimum=0, maximum=2**31 - 1, effective=False),
    Param("aclfile", "string", "", mutable=False),
    Param("acl-pubsub-default", "enum", "resetchannels", choices=("allchannels",
                                                                  "resetchannels")),
    # encodings: Redis switches representations at these sizes; we have one each
    Param("hash-max-listpack-entries", "memory", 512, minimum=0, maximum=_MAX,
          aliases=("hash-max-ziplist-entries",), effective=False),
    Param("hash-max-listpack-value", "memory", 64, minimum=0, maximum=_MAX,
          aliases=("hash-max-ziplist-value",), effective=False),
    Param("list-max-listpack-size", "int", -2, minimum=-(2**31), maximum=2**31 - 1,
          aliases=("list-max-ziplist-size",), effective=False),
    Param("list-compress-depth", "int", 0, minimum=0, maximum=2**31 - 1, effective=False),
    Param("set-max-intset-entries", "memory", 512, minimum=0, maximum=_MAX, effective=False),
    Param("set-max-listpack-entries", "memory", 128, minimum=0, maximum=_MAX, effective=False),
    Param("set-max-listpack-value", "memory", 64, minimum=0, maximum=_MAX, effective=False),
    Param("zset-max-listpack-entries", "memory", 128, minimum=0, maximum=_MAX,
          aliases=("zset-max-ziplist-entries",), effective=False),
    Param("zset-max-listpack-value", "memory", 64, minimum=0, maximum=_MAX,
          aliases=("zset-max-ziplist-value",), effective=False),
    Param("hll-sparse-max-bytes", "memory", 3000, minimum=0, maximum=_MAX, effective=False),
    Param("stream-node-max-bytes", "memory", 4096, minimum=0, maximum=_MAX),
    Param("stream-node-max-entries", "int", 100, minimum=0, maximum=2**63 - 1),
    # TLS (tls.py): a port that speaks it, the files, what to accept. Redis's session
    # cache knobs and TLS 1.3 cipher suites can't be set through Python's ssl module:
    # accepted, changing nothing (OpenSSL's defaults apply).
    Param("tls-port", "int", 0, minimum=0, maximum=65535),
    Param("tls-cert-file", "string", ""),
    Param("tls-key-file", "string", ""),
    Param("tls-key-file-pass", "string", ""),
    Param("tls-client-cert-file", "string", ""),
    Param("tls-client-key-file", "string", ""),
    Param("tls-client-key-file-pass", "string", ""),
    Param("tls-dh-params-file", "string", ""),
    Param("tls-ca-cert-file", "string", ""),
    Param("tls-ca-cert-dir", "string", ""),
    Param("tls-auth-clients", "enum", "yes", choices=("no", "yes", "optional")),
    Param("tls-replication", "bool", False),
    Param("tls-cluster", "bool", False),        # no cluster here: MIGRATE's connections
    Param("tls-protocols", "string", ""),
    Param("tls-ciphers", "string", ""),
    Param("tls-ciphersuites", "string", "", effective=False),
    Param("tls-prefer-server-ciphers", "bool", False),
    Param("tls-session-caching", "bool", True, effective=False),
    Param("tls-session-cache-size", "int", 20 * 1024, minimum=0, maximum=2**31 - 1,
          effective=False),
    Param("tls-session-cache-timeout", "int", 300, minimum=0, maximum=2**31 - 1,
          effective=False),
    # Redis 7.2: the locale SORT ALPHA compares by (we compare bytes, as the C locale)
    Param("locale-collate", "string", "", effective=False),
    # shutting down on a signal
    Param("shutdown-on-sigint", "shutdown-flags", ()),
    Param("shutdown-on-sigterm", "shutdown-flags", ()),
    # How long a shutdown waits for lagging replicas (0: it does not).
    Param("shutdown-timeout", "int", 10, minimum=0, maximum=2**31 - 1),
    # The rest are Redis's knobs for what this server does not have: the process (title,
    # OOM score, huge pages, crash log, syslog), the allocator and defragmentation,
    # incremental fsync, replicas and cluster mode. They are accepted, so that a
    # redis.conf loads, and shown, and change nothing.
    Param("set-proc-title", "bool", True, mutable=False, effective=False),
    Param("proc-title-template", "title-template", "{title} {listen-addr} {server-mode}",
          effective=False),
    Param("oom-score-adj", "enum", "no", choices=("no", "yes", "relative", "absolute"),
          effective=False),
    Param("oom-score-adj-values", "oom-values", [0, 200, 800], effective=False),
    Param("disable-thp", "bool", True, mutable=False, effective=False),
    Param("crash-log-enabled", "bool", True, effective=False),
    Param("crash-memcheck-enabled", "bool", True, effective=False),
    Param("use-exit-on-panic", "bool", False, effective=False, hidden=True),
    Param("watchdog-period", "int", 0, minimum=0, maximum=2**31 - 1, effective=False,
          hidden=True),
    Param("ignore-warnings", "string", "", effective=False),
    Param("syslog-enabled", "bool", False, mutable=False, effective=False),
    Param("syslog-ident", "string", "redis", mutable=False, effective=False),
    Param("syslog-facility", "enum", "local0", mutable=False, effective=False,
          choices=("user", *(f"local{n}" for n in range(8)))),
    Param("socket-mark-id", "int", 0, mutable=False, minimum=0, maximum=2**32 - 1,
          effective=False),
    *(Param(f"{thread}_cpulist", "string", "", mutable=False, effective=False)
      for thread in ("server", "bio", "aof_rewrite", "bgsave")),
    Param("jemalloc-bg-thread", "bool", True, effective=False),
    Param("active-defrag-ignore-bytes", "memory", 100 * 1024**2, minimum=1, maximum=_MAX,
          effective=False),
    Param("active-defrag-threshold-lower", "int", 10, minimum=0, maximum=1000,
          effective=False),
    Param("active-defrag-threshold-upper", "int", 100, minimum=0, maximum=1000,
          effective=False),
    Param("active-defrag-cycle-min", "int", 1, minimum=1, maximum=99, effective=False),
    Param("active-defrag-cycle-max", "int", 25, minimum=1, maximum=99, effective=False),
    Param("active-defrag-max-scan-fields", "int", 1000, minimum=1, maximum=_MAX,
          effective=False),
    Param("sanitize-dump-payload", "enum", "no", choices=("no", "yes", "clients"),
          effective=False),
    Param("rdb-del-sync-files", "bool", False, effective=False),
    Param("rdb-save-incremental-fsync", "bool", True, effective=False),
    Param("aof-rewrite-incremental-fsync", "bool", True, effective=False),
    Param("aof-timestamp-enabled", "bool", False),
    Param("aof-disable-auto-gc", "bool", False),
    Param("repl-disable-tcp-nodelay", "bool", False, effective=False),
    Param("repl-diskless-load", "enum", "disabled", effective=False,
          choices=("disabled", "on-empty-db", "swapdb"), deny_loading=True),
    Param("repl-diskless-sync-max-replicas", "int", 0, minimum=0, maximum=2**31 - 1),
    Param("replica-ignore-maxmemory", "bool", True, aliases=("slave-ignore-maxmemory",),
          effective=False),
    Param("replica-lazy-flush", "bool", False, aliases=("slave-lazy-flush",),
          effective=False),
    Param("replica-ignore-disk-write-errors", "bool", False, effective=False),
    Param("cluster-config-file", "string", "nodes.conf", mutable=False, effective=False),
    Param("cluster-port", "int", 0, mutable=False, minimum=0, maximum=65535, effective=False),
    Param("cluster-node-timeout", "int", 15000, minimum=0, maximum=_MAX, effective=False),
    Param("cluster-require-full-coverage", "bool", True, effective=False),
    Param("cluster-replica-no-failover", "bool", False, aliases=("cluster-slave-no-failover",),
          effective=False),
    Param("cluster-replica-validity-factor", "int", 10, minimum=0, maximum=2**31 - 1,
          aliases=("cluster-slave-validity-factor",), effective=False),
    Param("cluster-migration-barrier", "int", 1, minimum=0, maximum=2**31 - 1,
          effective=False),
    Param("cluster-allow-replica-migration", "bool", True, effective=False),
    Param("cluster-allow-reads-when-down", "bool", False, effective=False),
    Param("cluster-allow-pubsubshard-when-down", "bool", True, effective=False),
    Param("cluster-announce-ip", "string", "", effective=False),
    Param("cluster-announce-hostname", "string", "", effective=False),
    Param("cluster-announce-human-nodename", "string", "", effective=False),   # Redis 7.2
    Param("cluster-announce-port", "int", 0, minimum=0, maximum=65535, effective=False),
    Param("cluster-announce-bus-port", "int", 0, minimum=0, maximum=65535, effective=False),
    Param("cluster-announce-tls-port", "int", 0, minimum=0, maximum=65535, effective=False),
    Param("cluster-preferred-endpoint-type", "enum", "ip", effective=False,
          choices=("ip", "hostname", "unknown-endpoint")),
    Param("cluster-link-sendbuf-limit", "memory", 0, minimum=0, maximum=2**64 - 1,
          effective=False),
]

# Kinds of parameters that take several arguments in a config line (Redis's
# MULTI_ARG_CONFIG); the others take exactly one.
_MULTI_ARG_KINDS = {"save", "limits", "shutdown-flags", "oom-values", "replicaof",
                    "percentiles", "bind"}

# Directives Redis still accepts (with one value) and ignores.
_DEPRECATED = {"list-max-ziplist-entries", "list-max-ziplist-value", "lua-replicate-commands"}

_BY_NAME: dict[str, Param] = {}
for _param in PARAMETERS:
    for _name in (_param.name, *_param.aliases):
        _BY_NAME[_name] = _param


def find(name: str) -> Param | None:
    return _BY_NAME.get(name.lower())


class Config:
    """The values of every parameter, with listeners for the ones that act on change."""

    def __init__(self, file: str | None = None):
        self.values = {param.name: _copy(param.default) for param in PARAMETERS}
        self.file = file            # the config file, for CONFIG REWRITE
        # `user` directives, in ACL LIST's format: users to create at start-up (acl.py)
        self.user_lines: list[str] = []
        # `rename-command old new` directives (new "" removes the command): the server
        # applies them to its command table
        self.renamed_commands: list[tuple[str, str]] = []
        self._listeners: dict[str, list] = {}

    def __getitem__(self, name: str):
        return self.values[name]

    def on_change(self, names, listener) -> None:
        """Call `listener(value)` whenever the parameter `names` (or one of a list of
        them: then once for several set together) is set."""
        for name in [names] if isinstance(names, str) else names:
            self._listeners.setdefault(name, []).append(listener)

    def set(self, name: str, text: str, at_startup: bool = False) -> None:
        self.set_many([(name, text)], at_startup)

    def set_many(self, pairs: list[tuple[str, str]], at_startup: bool = False) -> None:
        """Set parameters as one change, as Redis 7's CONFIG SET does: every value is
        parsed and set first, then each listener runs once (so TLS's certificate and
        key, set together, are loaded together). If a value is bad or can't take
        effect (a listener raises ConfigError), every parameter is as it was again and
        the error says which (`.name`)."""
        previous: dict[str, object] = {}
        called: list[tuple[object, str]] = []        # (listener, the parameter's name)
        name = ""
        try:
            for name, text in pairs:
                param = find(name)
                if param is None:
                    raise ConfigError("Bad directive or wrong number of arguments")
                if not param.mutable and not at_startup:
                    raise ConfigError("can't set immutable config")
                value = param.parse(text, self.values[param.name])
                previous.setdefault(param.name, self.values[param.name])
                self.values[param.name] = value
            for name, _text in pairs:
                key = find(name).name
                for listener in self._listeners.get(key, ()):
                    if all(listener is not done for done, _ in called):
                        called.append((listener, key))
                        listener(self.values[key])
        except ConfigError as exc:            # as it was, in effect too
            self.values.update(previous)
            for listener, key in called:
                with contextlib.suppress(ConfigError):
                    listener(self.values[key])
            exc.name = name
            raise

    def rendered(self) -> dict[str, str]:
        """Every parameter and alias but the hidden ones, with its value as CONFIG GET
        shows it (a hidden one only when named: see render)."""
        return {name: param.render(self.values[param.name]) for name, param in _BY_NAME.items()
                if not param.hidden}

    def load_file(self, path: str) -> None:
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            self.load_text(handle.read())
        self.file = os.path.abspath(path)

    def load_text(self, text: str) -> None:
        """Apply config lines, as redis.conf holds them. A bad one raises
        ConfigFileError saying, as Redis does, which line and why."""
        for number, line in enumerate(text.split("\n"), 1):
            line = line.strip(" \t\r\n")
            if not line or line.startswith("#"):
                continue
            try:
                try:
                    words = split_args(line)
                except ValueError:
                    raise ConfigError("Unbalanced quotes in configuration line") from None
                if words:
                    self.apply_directive(words[0].lower(), words[1:])
            except ConfigFileError:
                raise                            # from an included file: its own line
            except ConfigError as exc:
                raise ConfigFileError(f"Reading the configuration file, at line {number}\n"
                                      f">>> '{line}'\n{exc}") from None

    def apply_directive(self, name: str, args: list[str]) -> None:
        """One config line: `name` (lower case) and its arguments."""
        if name == "include" and len(args) == 1:
            self.load_file(args[0])
            return
        if name == "user" and args:
            self.user_lines.append(" ".join(["user", *args]))
            return
        if name == "rename-command" and len(args) == 2:
            self.renamed_commands.append((args[0], args[1]))
            return
        if name in _DEPRECATED and len(args) == 1:
            return
        param = find(name)
        if param is None:
            raise ConfigError("Bad directive or wrong number of arguments")
        if param.kind not in _MULTI_ARG_KINDS:
            if len(args) != 1:
                raise ConfigError("wrong number of arguments")
        elif len(args) == 1 and args[0]:
            args = split_args(args[0])       # `--save "60 1 300 10"`: one word, several
        # The first `save` replaces the default rules, the next ones add theirs, and an
        # empty one (`save ""`) removes them all, as in Redis.
        if param.kind == "save" and self._saw_save and args not in ([], [""]):
            text = self.render(param.name) + " " + " ".join(args)
        else:
            text = " ".join(args)
        if param.kind == "save":
            self._saw_save = True
        # A string is taken as its quotes gave it, spaces and all, as Redis takes it.
        self.set(param.name, text if param.kind == "string" else text.strip(),
                 at_startup=True)

    _saw_save = False

    def render(self, name: str) -> str:
        return find(name).render(self.values[find(name).name])

    def rewrite(self, user_lines: list[str], force_all: bool = False) -> None:
        """CONFIG REWRITE: write the current values back to the config file, and the
        users as `user_lines` (ACL LIST's lines; none when they live in an aclfile).
        Only values that differ from the default are written, unless `force_all`
        (DEBUG CONFIG-REWRITE-FORCE-ALL, which tests that every value reads back)."""
        if not self.file:
            raise ErrorReply("ERR The server is running without a config file")
        lines = ["# Rewritten by fromscratch kvdb (CONFIG REWRITE)"]
        for param in PARAMETERS:
            value = self.values[param.name]
            if force_all or value != param.default:
                lines.append(f"{param.name} {_quote(param.render(value))}")
        lines += [f"rename-command {_quote(old)} {_quote(new)}"
                  for old, new in self.renamed_commands]
        lines += user_lines
        text = ("\n".join(lines) + "\n").encode("utf-8")
        write_file_atomically(self.file, lambda handle: handle.write(text))


def _copy(value):
    return dict(value) if isinstance(value, dict) else list(value) if isinstance(value, list) else value


def _quote(text: str) -> str:
    """`text` as one argument of a config line: bare if it can be, else in quotes."""
    return text if text and not re.search(r"[\s\"'\\]", text) else quote_arg(text)


def quote_arg(text: str) -> str:
    """`text` as one quoted argument of a config line (split_args reads it back)."""
    return quote_repr(text.encode("utf-8", "surrogateescape"))


def split_args(line: str) -> list[str]:
    """A config line's words as Redis splits them (sdssplitargs, as for an inline
    command). ValueError for unbalanced quotes."""
    try:
        words = split_inline(line.encode("utf-8", "surrogateescape"))
    except ProtocolError:
        raise ValueError("unbalanced quotes") from None
    return [word.decode("utf-8", "surrogateescape") for word in words]


def parse_command_line(argv: list[str]) -> tuple[str | None, bool, str]:
    """redis-server's command line, read as redis-server reads it, into (the config file
    or None, whether to read more config from stdin, the options as config lines).

    A first word not starting with `-` names the config file (`--config FILE` too,
    ours, as is `--host` for `--bind`); `-` first or last reads stdin. Each `--name` starts a line; the word after a
    bare `--name` is always its value, even one starting with `--`; further words are
    more values until the next `--name`. `--name value` in one word is a whole line.
    Values are quoted, so the lines split back into the same words (`--save` with no
    value means `save ""`). The lines are read after the file, so they override it."""
    config_file, from_stdin = None, False
    if argv and not argv[0].startswith("-"):
        config_file, argv = argv[0], argv[1:]
    stdin_may_be_first = config_file is None
    lines: list[str] = []
    value_due = False            # a bare `--name` just seen: the next word is its value
    j = 0
    while j < len(argv):
        word = argv[j]
        following = argv[j + 1] if j + 1 < len(argv) else None
        if word == "-" and ((j == 0 and stdin_may_be_first) or following is None):
            from_stdin = True
        elif word == "--config" and following is not None and not value_due:
            config_file = following
            j += 1
        elif not value_due and word.startswith("--"):
            name = word[2:]
            if name.split(" ", 1)[0].lower() == "host":     # ours: every server has --host
                name = "bind" + name[4:]
            lines.append(name + " ")
            try:
                value_due = len(split_args(word)) == 1
            except ValueError:
                value_due = False
            if value_due and word.lower() == "--save" and \
                    (following is None or following.startswith("--")):
                lines[-1] += '""'                 # `--save` alone: no save rules
                value_due = following is None
        else:
            if not lines:
                lines.append("")
            lines[-1] += quote_arg(word) + " "
            value_due = False
        j += 1
    return config_file, from_stdin, "\n".join(lines)
