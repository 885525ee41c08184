"""`python -m fromscratch kvdb [--port 6380] [--dir ./data/kvdb] [--name value ...]`

The command line is redis-server's: a redis.conf-style file first (or `--config FILE`),
then directives as `--name value [value...]`, which override the file's (see
config.parse_command_line), and `-` to read more directives from stdin. `--host` is
another name for `--bind`, as every fromscratch server takes it.

The process behaves as redis-server does towards whoever runs it: it logs to stdout (or
appends to `logfile`), at `loglevel`; `daemonize yes` detaches it; `pidfile` names a
file holding its process id while it runs; and the log says when it is ready.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time

from ..net import run_servers
from . import crash
from .acl import AclFileError
from .config import Config, ConfigError, parse_command_line
from .persistence.aof import CorruptAof
from .persistence.snapshot import CorruptSnapshot
from .table import TABLE
from .version import REDIS_VERSION

log = logging.getLogger("fromscratch.kvdb")

# redis.conf's log levels; Python has nothing between DEBUG and INFO for "verbose".
LOG_LEVELS = {"debug": logging.DEBUG, "verbose": logging.DEBUG, "notice": logging.INFO,
              "warning": logging.WARNING, "nothing": logging.CRITICAL + 1}


def build_config(argv: list[str], defaults: dict[str, str] | None = None) -> Config:
    """The configuration redis-server would build from this command line: `defaults`,
    then the config file, then stdin's lines if asked, then the options."""
    config_file, from_stdin, options = parse_command_line(argv)
    config = Config()
    for name, value in (defaults or {}).items():
        config.set(name, value, at_startup=True)
    text = ""
    if config_file:
        with open(config_file, encoding="utf-8", errors="surrogateescape") as handle:
            text = handle.read()
    if from_stdin:
        text += "\n" + sys.stdin.read()
    # As Redis, one text: a bad option is reported at its line after the file's.
    config.load_text(text + "\n" + options)
    if config_file:
        config.file = os.path.abspath(config_file)
    return config


def serve(name: str, argv: list[str], defaults: dict[str, str] | None = None, table=None,
          usage: str = __doc__) -> int:
    """Parse the options, then run a key-value style server until SIGINT/SIGTERM."""
    from .server import KvServer, StartError

    if argv[:1] in (["-h"], ["--help"]):
        print(usage.strip())
        return 0
    try:
        config = build_config(argv, defaults)
        table = (table or TABLE).renamed(config.renamed_commands)
    except (ConfigError, ValueError) as exc:     # ValueError: a bad rename-command
        print(f"\n*** FATAL CONFIG FILE ERROR (Redis {REDIS_VERSION}) ***\n{exc}",
              file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"Fatal error, can't open config file '{exc.filename}': {exc.strerror}",
              file=sys.stderr)
        return 1
    if config["daemonize"]:
        daemonize()
    log_format, log_stream = start_logging(config)
    log.info("%s version=%s, pid=%d, just started", name, REDIS_VERSION, os.getpid())
    os.makedirs(config["dir"], exist_ok=True)
    try:
        server = KvServer(config, table=table, name=name)
    except AclFileError as exc:
        log.error("Aborting Redis startup because of ACL errors: %s", exc)
        return 1
    log_format.server = server
    crash.install(server, log_stream)
    # As redis-server, the banner comes once the server listens: scripts that wait for
    # it then connect.
    port = config["port"] or config["tls-port"]          # as redis-server shows it
    if config["always-show-logo"]:
        server.banner = (f"\n  fromscratch {name} {REDIS_VERSION} (Redis compatible)\n"
                         f"  Running in standalone mode\n  Port: {port}\n"
                         f"  PID: {os.getpid()}\n")
    else:
        server.banner = f"Running mode=standalone, port={port}."
    # As redis-server: a pid file when asked for one, or by default when detached.
    pidfile = config["pidfile"] or ("/var/run/redis.pid" if config["daemonize"] else "")
    if pidfile:
        write_pidfile(pidfile)
        server.pidfile = pidfile
    try:
        run_servers([server])
    except StartError:
        return 1
    except CorruptSnapshot as exc:                  # ours, between Redis's words
        log.warning("Internal error in RDB reading: %s", exc)
        log.error("refusing to start: %s (the file is left as it is; repair or move it)", exc)
        log.warning("Terminating server after rdb file reading failure.")
        return 1
    except CorruptAof as exc:
        log.error("refusing to start: %s (the file is left as it is; repair or move it)", exc)
        return 1
    finally:
        if pidfile:
            with contextlib.suppress(OSError):
                os.unlink(pidfile)
    return 0


def daemonize() -> None:
    """`daemonize yes`: run on in a child process of a new session, detached from the
    terminal; the parent returns to the shell at once."""
    if os.fork():
        os._exit(0)
    os.setsid()
    with open(os.devnull, "r+b") as null:
        for stream in (sys.stdin, sys.stdout, sys.stderr):
            os.dup2(null.fileno(), stream.fileno())


class RedisLogFormat(logging.Formatter):
    """Redis's log line, which tools and test suites read: `pid:role day month year
    time.ms level message`. The role is M, or S while the server (set once it exists)
    follows a primary; the level mark is `.` debug, `*` notice, `#` warning."""

    MARKS = {logging.DEBUG: ".", logging.INFO: "*"}
    server = None

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%d %b %Y %H:%M:%S", time.localtime(record.created))
        role = "S" if self.server is not None and self.server.primary_link else "M"
        line = (f"{os.getpid()}:{role} {stamp}.{int(record.msecs):03d} "
                f"{self.MARKS.get(record.levelno, '#')} {record.getMessage()}")
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def start_logging(config: Config) -> tuple[RedisLogFormat, object]:
    """Log to stdout, or append to `logfile`, at `loglevel` (CONFIG SET may change it).
    Returns the line format, to be told of the server once it exists, and the stream."""
    handler = (logging.FileHandler(config["logfile"]) if config["logfile"]
               else logging.StreamHandler(sys.stdout))
    log_format = RedisLogFormat()
    handler.setFormatter(log_format)
    logging.getLogger().addHandler(handler)
    # The level is our servers' own: other libraries (asyncio) keep logging warnings only.
    ours = logging.getLogger("fromscratch")

    def set_level(level: str) -> None:
        ours.setLevel(LOG_LEVELS[level])

    set_level(config["loglevel"])
    config.on_change("loglevel", set_level)
    return log_format, handler.stream


def write_pidfile(path: str) -> None:
    # Not being able to write it is no reason to refuse to serve (Redis only warns).
    try:
        with open(path, "w", encoding="ascii") as handle:
            handle.write(f"{os.getpid()}\n")
    except OSError as exc:
        log.warning("failed to write PID file %s: %s", path, exc)


def main(argv: list[str] | None = None) -> int:
    return serve("kvdb", sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
