"""The one command line: `fromscratch <server> [options]` or `fromscratch serve`.

    fromscratch kvdb   [--port 6380] [--dir ./data/kvdb] [--name value ...]
    fromscratch pubsub [--port 6381] [--dir ./data/pubsub] [--name value ...]
    fromscratch reldb  [--port 5433] [--dir ./data/reldb] [--password PW]
    fromscratch docdb  [--port 27018] [--http-port 5984] [--dir ./data/docdb] [--auth]
    fromscratch web    module:app [--host 127.0.0.1] [--port 8000]
    fromscratch serve  every server that exists, each with its defaults

Each server's own `cli.main(argv)` parses its options.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import signal
import subprocess
import sys

# name -> (module with main(argv), the arguments `serve` starts it with)
SERVERS = {
    "kvdb": ("fromscratch.kvdb.cli", []),
    "pubsub": ("fromscratch.pubsub.cli", []),
    "reldb": ("fromscratch.reldb.cli", []),
    "docdb": ("fromscratch.docdb.cli", []),
    "web": ("fromscratch.web.cli", ["examples.todo.app:app"]),
}


def _available(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def serve() -> int:
    """Start every available server in its own process; stop them all together."""
    environment = dict(os.environ)
    source = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [source, environment.get("PYTHONPATH")]))
    children = [subprocess.Popen([sys.executable, "-m", "fromscratch", name, *args],
                                 env=environment)
                for name, (module, args) in SERVERS.items() if _available(module)]

    def stop(signum, frame):
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    status = 0
    for child in children:
        status = max(status, abs(child.wait()))
    return status


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__.strip())
        print("\nservers: " + ", ".join(SERVERS))
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name == "serve":
        return serve()
    if name not in SERVERS:
        print(f"fromscratch: unknown command {name!r}; try --help", file=sys.stderr)
        return 2
    module = importlib.import_module(SERVERS[name][0])
    return module.main(rest)
