"""`python -m fromscratch kvdb [--port 6380] [--dir ./data/kvdb] [--name value ...]`

Options are redis.conf directives given as `--name value` (as redis-server takes them),
plus `--config FILE` (or a file name first) for a redis.conf-style file, and `--host`
as another name for `--bind`.
"""

from __future__ import annotations

import gc
import logging
import os
import sys

from ..net import run_servers
from .config import Config, ConfigError, parse_command_line
from .persistence.aof import CorruptAof
from .persistence.snapshot import CorruptSnapshot


def build_config(argv: list[str], defaults: dict[str, str] | None = None) -> Config:
    config_file, directives = parse_command_line(argv)
    config = Config()
    for name, value in (defaults or {}).items():
        config.set(name, value, at_startup=True)
    if config_file:
        config.load_file(config_file)
    for name, values in directives:
        config.apply_directive("bind" if name == "host" else name, values, f"--{name}")
    return config


def serve(name: str, argv: list[str], defaults: dict[str, str] | None = None, table=None,
          usage: str = __doc__) -> int:
    """Parse the options, then run a key-value style server until SIGINT/SIGTERM."""
    from .server import KvServer

    if argv[:1] in (["-h"], ["--help"]):
        print(usage.strip())
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        config = build_config(argv, defaults)
    except (ConfigError, OSError) as exc:
        print(f"fromscratch {name}: {exc}", file=sys.stderr)
        return 1
    os.makedirs(config["dir"], exist_ok=True)
    server = KvServer(config, table=table, name=name)
    try:
        server.load_data()
    except (CorruptSnapshot, CorruptAof) as exc:
        logging.getLogger("fromscratch.kvdb").error(
            "refusing to start: %s (the file is left as it is; repair or move it)", exc)
        return 1
    # A data server makes millions of long-lived objects and few reference cycles:
    # collect the youngest generation less often (measured: random ZADD on a large sorted
    # set is ~20% cheaper), and keep what was loaded out of every future full collection.
    gc.set_threshold(10_000, 10, 10)
    gc.freeze()
    run_servers([server])
    return 0


def main(argv: list[str] | None = None) -> int:
    return serve("kvdb", sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
