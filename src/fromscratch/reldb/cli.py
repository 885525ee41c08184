"""`fromscratch reldb`: run the PostgreSQL-compatible server.

    fromscratch reldb [--host 127.0.0.1] [--port 5433] [--dir ./data/reldb]
                      [--password PW] [--users FILE] [--auth scram-sha-256|md5|password|trust]

A users file holds one `name:password` a line (# starts a comment); each becomes a
login role. With a password or a users file, clients must authenticate (SCRAM-SHA-256
unless --auth says otherwise); a role without a password then cannot log in.

Also runs as `PYTHONPATH=src python3 -m fromscratch.reldb.cli`. Tables live in memory
for now; --dir is created and reserved for the durable storage engine.
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
    server = ReldbServer(args.host, args.port, args.password, args.auth, users=users)
    run_servers([server.tcp])
    return 0


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
