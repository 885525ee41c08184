"""`fromscratch docdb [--host 127.0.0.1] [--port 27018] [--http-port 5984] [--dir ./data/docdb] [--auth]`

Serves the MongoDB wire protocol on --port and the CouchDB-style HTTP/JSON API on
--http-port (0 turns it off), both over one storage engine in --dir.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from ..net import run_servers


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="fromscratch docdb", description=__doc__.split("\n\n")[1])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=27018, help="MongoDB wire port")
    parser.add_argument("--http-port", type=int, default=5984,
                        help="CouchDB-style HTTP port (0: no HTTP API)")
    parser.add_argument("--dir", default="./data/docdb", help="where the data lives")
    parser.add_argument("--auth", action="store_true",
                        help="require SCRAM authentication (MongoDB) / basic auth (HTTP)")
    parser.add_argument("--no-sync", action="store_true",
                        help="do not fsync every acknowledged write (only j:true ones); "
                             "writes still reach the kernel before the reply")
    parser.add_argument("--cursor-timeout", type=float, default=600.0,
                        help="seconds before an idle cursor is dropped")
    parser.add_argument("--ttl-interval", type=float, default=1.0,
                        help="seconds between TTL monitor passes")
    parser.add_argument("--compact-threshold", type=int, default=64 << 20,
                        help="journal bytes that trigger a background compaction")
    parser.add_argument("--enable-test-commands", action="store_true",
                        help="allow configureFailPoint (for drivers' test suites)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    from .server import MongoServer
    from .storage import Engine
    os.makedirs(args.dir, exist_ok=True)
    engine = Engine(args.dir, sync=not args.no_sync, compact_threshold=args.compact_threshold)
    mongo = MongoServer(engine, args.host, args.port, auth=args.auth,
                        cursor_timeout=args.cursor_timeout, ttl_interval=args.ttl_interval,
                        test_commands=args.enable_test_commands,
                        options={"port": args.port, "httpPort": args.http_port,
                                 "dir": args.dir, "auth": args.auth})
    servers = []
    if args.http_port:
        from ..web.http.server import HttpServer
        from .http_api import create_app
        # First in the list: it shuts down (drains its requests) before the engine closes.
        servers.append(HttpServer(create_app(engine, auth=args.auth), args.host,
                                  args.http_port, name="docdb-http", access_log=False))
    servers.append(mongo)
    try:
        run_servers(servers)
    except OSError as error:
        print(f"fromscratch docdb: cannot listen: {error.strerror or error}", file=sys.stderr)
        engine.close()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
