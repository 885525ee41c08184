"""`python -m fromscratch kvdb [--port 6380] [--dir ./data/kvdb] [--name value ...]`

Options are redis.conf directives given as `--name value` (as redis-server takes them),
plus `--config FILE` (or a file name first) for a redis.conf-style file, and `--host`
as another name for `--bind`.
"""

from __future__ import annotations

import logging
import os
import sys

from ..net import run_servers
from .config import Config, ConfigError, parse_command_line


def build_config(argv: list[str]) -> Config:
    config_file, directives = parse_command_line(argv)
    config = Config()
    if config_file:
        config.load_file(config_file)
    for name, values in directives:
        config.apply_directive("bind" if name == "host" else name, values, f"--{name}")
    return config


def main(argv: list[str] | None = None) -> int:
    from .server import KvServer

    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["-h"], ["--help"]):
        print(__doc__.strip())
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        config = build_config(argv)
    except (ConfigError, OSError) as exc:
        print(f"fromscratch kvdb: {exc}", file=sys.stderr)
        return 1
    os.makedirs(config["dir"], exist_ok=True)
    server = KvServer(config)
    run_servers([server])
    return 0


if __name__ == "__main__":
    sys.exit(main())
