"""`fromscratch reldb`: run the PostgreSQL-compatible server.

    fromscratch reldb [--host 127.0.0.1] [--port 5433] [--dir ./data/reldb]
                      [--password PW] [--auth scram-sha-256|md5|password|trust]

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
    parser.add_argument("--auth", default=None,
                        choices=["scram-sha-256", "md5", "password", "trust"],
                        help="authentication method when a password is set")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    os.makedirs(args.dir, exist_ok=True)
    server = ReldbServer(args.host, args.port, args.password, args.auth)
    run_servers([server.tcp])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
