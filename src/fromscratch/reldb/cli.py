"""`fromscratch reldb`: run the PostgreSQL-compatible server.

    fromscratch reldb [--host 127.0.0.1] [--port 5433] [--dir ./data/reldb]
                      [--cache-size 256mb] [--synchronous-commit on|off]
                      [--checkpoint-timeout 300]
                      [--password PW] [--users FILE] [--auth scram-sha-256|md5|password|trust]

The cluster lives in --dir (created on first start, recovered after a crash):
relation files, the write-ahead log, catalogs. --cache-size bounds the buffer pool;
--synchronous-commit off acknowledges a COMMIT before its log record is on disk (the
last fraction of a second of commits may be lost in a crash; never consistency).

A users file holds one `name:password` a line (# starts a comment); each becomes a
login role. With a password or a users file, clients must authenticate (SCRAM-SHA-256
unless --auth says otherwise); a role without a password then cannot log in.

Also runs as `PYTHONPATH=src python3 -m fromscratch.reldb.cli`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from ..net import run_servers
from .pgwire.server import ReldbServer


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="fromscratch reldb",
                                     description="A PostgreSQL-compatible relational database.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5433)
    parser.add_argument("--dir", default="./data/reldb")
    parser.add_argument("--cache-size", default="256mb", type=parse_size,
                        help="buffer pool size (e.g. 64mb, 1gb)")
    parser.add_argument("--synchronous-commit", default="on", choices=["on", "off"])
    parser.add_argument("--checkpoint-timeout", default=300.0, type=float,
                        help="seconds between checkpoints")
    parser.add_argument("--password", default=None,
                        help="require this password for the postgres role (SCRAM-SHA-256)")
    parser.add_argument("--users", default=None,
                        help="file of name:password lines: login roles with passwords")
    parser.add_argument("--auth", default=None,
                        choices=["scram-sha-256", "md5", "password", "trust"],
                        help="authentication method when a password is set")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    os.makedirs(args.dir, exist_ok=True)
    users = read_users(args.users) if args.users else None
    server = ReldbServer(args.host, args.port, args.password, args.auth, users=users,
                         data_dir=args.dir, cache_bytes=args.cache_size,
                         synchronous_commit=args.synchronous_commit == "on",
                         checkpoint_seconds=args.checkpoint_timeout)
    try:
        run_servers([server.tcp])
    finally:
        server.engine.close()
    return 0


def parse_size(text: str) -> int:
    """'64mb' -> bytes (kb, mb, gb; a bare number is bytes)."""
    text = text.strip().lower()
    for suffix, factor in (("kb", 1 << 10), ("mb", 1 << 20), ("gb", 1 << 30), ("b", 1)):
        if text.endswith(suffix):
            return int(float(text[:-len(suffix)]) * factor)
    return int(text)


def read_users(path: str) -> dict[str, str]:
    users = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, sep, password = line.partition(":")
            if not sep or not name:
                raise SystemExit(f"{path}:{number}: expected name:password")
            users[name.strip()] = password
    return users


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
