"""Server configuration, as redis.conf, `redis-server --name value` and CONFIG know it.

Every parameter is declared once in PARAMETERS with its kind, default and whether CONFIG
SET may change it at run time. The same declarations parse a redis.conf-style file, the
command line and CONFIG SET, and render CONFIG GET, so the three always agree.

Some parameters tune internals that Redis has and we don't (listpack sizes, defrag,
TLS, replication). They are accepted and reported so that tools and test harnesses
that set them keep working, and documented as having no effect in
protocol_specs/resp.md; `Param.effective` says which ones do something here.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass

from ..durable import write_file_atomically
from ..resp import ErrorReply
from .notifications import parse_flags, render_flags


class ConfigError(ValueError):
    """A bad parameter value; the message is Redis's wording of the reason."""


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


@dataclass
class Param:
    name: str
    kind: str                      # bool int memory enum string save limits events
                                   # percentiles replicaof memory-or-percent
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
        if kind == "replicaof" and text.strip():
            raise ConfigError("replication is not supported by this server: it is always a "
                              "primary")
        return text

    def _bounded(self, value: int) -> int:
        if ((self.minimum is not None and value < self.minimum)
                or (self.maximum is not None and value > self.maximum)):
            raise ConfigError(f"argument must be between {self.minimum} and {self.maximum} "
                              f"inclusive")
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
        return str(value)


_POLICIES = ("volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
             "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction")

_MAX = 2**63 - 1

PARAMETERS = [
    # networking and clients
    Param("bind", "string", "127.0.0.1 -::1"),
    Param("port", "int", 6380, minimum=0, maximum=65535),
    Param("protected-mode", "bool", True),
    # There is no unix socket listener here: TCP only.
    Param("unixsocket", "string", "", mutable=False, effective=False),
    Param("unixsocketperm", "int", 0, mutable=False, minimum=0, maximum=0o777,
          effective=False),
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
    Param("dir", "string", "./data/kvdb", protected=True),
    Param("dbfilename", "string", "dump.rdb", protected=True),
    Param("save", "save", [(3600, 1), (300, 100), (60, 10000)]),
    Param("appendonly", "bool", False),
    Param("appendfilename", "string", "appendonly.aof", mutable=False),
    Param("appenddirname", "string", "appendonlydir", mutable=False),
    Param("appendfsync", "enum", "everysec", choices=("always", "everysec", "no")),
    Param("auto-aof-rewrite-percentage", "int", 100, minimum=0, maximum=2**31 - 1),
    Param("auto-aof-rewrite-min-size", "memory", 64 * 1024**2, minimum=0, maximum=_MAX),
    Param("aof-load-truncated", "bool", True),
    Param("stop-writes-on-bgsave-error", "bool", True),
    Param("rdbcompression", "bool", True, effective=False),
    Param("rdbchecksum", "bool", True, effective=False),
    # memory
    Param("maxmemory", "memory", 0, minimum=0, maximum=_MAX),
    Param("maxmemory-policy", "enum", "noeviction", choices=_POLICIES),
    # Client eviction (by the memory clients use) is not implemented.
    Param("maxmemory-clients", "memory-or-percent", 0, effective=False),
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
    Param("appendonly-timestamp", "bool", False, effective=False),
    # the AOF's base file is always a snapshot (our format): the "preamble" is always on
    Param("aof-use-rdb-preamble", "bool", True, effective=False),
    Param("rdb-key-save-delay", "int", 0, minimum=-(2**31), maximum=2**31 - 1, effective=False,
          hidden=True),
    Param("key-load-delay", "int", 0, minimum=-(2**31), maximum=2**31 - 1, effective=False,
          hidden=True),
    Param("lazyfree-lazy-eviction", "bool", False, effective=False),
    Param("lazyfree-lazy-expire", "bool", False, effective=False),
    Param("lazyfree-lazy-server-del", "bool", False, effective=False),
    Param("lazyfree-lazy-user-del", "bool", False),
    Param("lazyfree-lazy-user-flush", "bool", False),
    Param("activerehashing", "bool", True, effective=False),
    Param("activedefrag", "bool", False, effective=False),
    Param("replica-read-only", "bool", True, aliases=("slave-read-only",), effective=False),
    Param("replica-serve-stale-data", "bool", True, aliases=("slave-serve-stale-data",),
          effective=False),
    Param("repl-backlog-size", "memory", 1024**2, minimum=1, maximum=_MAX, effective=False),
    # Always empty: this server is always a primary (see replication.py).
    Param("replicaof", "replicaof", "", mutable=False, aliases=("slaveof",)),
    Param("masterauth", "string", "", effective=False, sensitive=True),
    Param("masteruser", "string", "", effective=False, sensitive=True),
    Param("replica-priority", "int", 100, minimum=0, maximum=2**31 - 1,
          aliases=("slave-priority",), effective=False),
    Param("replica-announced", "bool", True, aliases=("slave-announced",), effective=False),
    Param("repl-backlog-ttl", "int", 3600, minimum=0, maximum=2**31 - 1, effective=False),
    Param("repl-ping-replica-period", "int", 10, minimum=1, maximum=2**31 - 1,
          aliases=("repl-ping-slave-period",), effective=False),
    Param("repl-timeout", "int", 60, minimum=1, maximum=2**31 - 1, effective=False),
    Param("repl-diskless-sync", "bool", True, effective=False),
    Param("repl-diskless-sync-delay", "int", 5, minimum=0, maximum=2**31 - 1, effective=False),
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
    Param("stream-node-max-bytes", "memory", 4096, minimum=0, maximum=_MAX, effective=False),
    Param("stream-node-max-entries", "int", 100, minimum=0, maximum=2**63 - 1),
]

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
        self._listeners: dict[str, list] = {}

    def __getitem__(self, name: str):
        return self.values[name]

    def on_change(self, name: str, listener) -> None:
        """Call `listener(value)` whenever `name` is set."""
        self._listeners.setdefault(name, []).append(listener)

    def set(self, name: str, text: str, at_startup: bool = False) -> None:
        param = find(name)
        if param is None:
            raise ConfigError(f"Bad directive or wrong number of arguments")
        if not param.mutable and not at_startup:
            raise ConfigError("can't set immutable config")
        value = param.parse(text, self.values[param.name])
        previous, self.values[param.name] = self.values[param.name], value
        try:
            for listener in self._listeners.get(param.name, ()):
                listener(value)
        except ConfigError:                  # it could not take effect: as it was
            self.values[param.name] = previous
            raise

    def rendered(self) -> dict[str, str]:
        """Every parameter and alias but the hidden ones, with its value as CONFIG GET
        shows it (a hidden one only when named: see render)."""
        return {name: param.render(self.values[param.name]) for name, param in _BY_NAME.items()
                if not param.hidden}

    def load_file(self, path: str) -> None:
        with open(path, encoding="utf-8") as handle:
            self.load_text(handle.read(), source=path)
        self.file = os.path.abspath(path)

    def load_text(self, text: str, source: str = "config") -> None:
        for number, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            try:
                words = shlex.split(line)
            except ValueError as exc:
                raise ConfigError(f"{source}:{number}: {exc}") from None
            name, args = words[0].lower(), words[1:]
            if name == "include":
                for path in args:
                    self.load_file(path)
                continue
            self.apply_directive(name, args, f"{source}:{number}")

    def apply_directive(self, name: str, args: list[str], where: str) -> None:
        if name == "user":
            self.user_lines.append(" ".join(["user", *args]))
            return
        param = find(name)
        if param is None:
            raise ConfigError(f"{where}: Bad directive or wrong number of arguments: {name}")
        # The first `save` replaces the default rules, the next ones add theirs, and an
        # empty one (`save ""`) removes them all, as in Redis.
        if param.kind == "save" and self._saw_save and args not in ([], [""]):
            text = self.render(param.name) + " " + " ".join(args)
        else:
            text = " ".join(args)
        if param.kind == "save":
            self._saw_save = True
        try:
            self.set(param.name, text.strip(), at_startup=True)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {name}: {exc}") from None

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
        lines += user_lines
        text = ("\n".join(lines) + "\n").encode("utf-8")
        write_file_atomically(self.file, lambda handle: handle.write(text))


def _copy(value):
    return dict(value) if isinstance(value, dict) else list(value) if isinstance(value, list) else value


def _quote(text: str) -> str:
    return f'"{text}"' if (not text or " " in text) else text


def parse_command_line(argv: list[str]) -> tuple[str | None, list[tuple[str, list[str]]]]:
    """`[--config FILE] --name value [value ...] ...` -> (file, [(name, values)])."""
    config_file = None
    directives: list[tuple[str, list[str]]] = []
    i = 0
    while i < len(argv):
        word = argv[i]
        if not word.startswith("--"):
            if i == 0 and config_file is None:
                config_file = word            # `redis-server /path/redis.conf` form
                i += 1
                continue
            raise ConfigError(f"unexpected argument {word!r}: options are --name value")
        name = word[2:]
        values = []
        i += 1
        while i < len(argv) and not argv[i].startswith("--"):
            values.append(argv[i])
            i += 1
        if name == "config":
            if len(values) != 1:
                raise ConfigError("--config takes one file name")
            config_file = values[0]
        else:
            directives.append((name, values))
    return config_file, directives
