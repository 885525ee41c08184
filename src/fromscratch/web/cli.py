"""`fromscratch web module:app [--host H] [--port P]`: serve any WSGI app.

`module:app` names a module importable from the current directory (or PYTHONPATH) and
the WSGI callable in it; `module` alone means `module:app`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from .http.server import serve


def load_app(spec: str):
    """`package.module:attribute` -> the object (the current directory is importable)."""
    module_name, _, attribute = spec.partition(":")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    module = importlib.import_module(module_name)
    obj = module
    for part in (attribute or "app").split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError(f"{spec} is not a WSGI application")
    return obj


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="fromscratch web",
                                     description="Serve a WSGI application over HTTP/1.1.")
    parser.add_argument("app", help="the application, as module:attribute")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--threads", type=int, default=8,
                        help="worker threads running the application (default 8)")
    parser.add_argument("--max-connections", type=int, default=1000)
    parser.add_argument("--no-access-log", action="store_true",
                        help="do not log one line per request")
    args = parser.parse_args(argv)
    try:
        app = load_app(args.app)
    except (ImportError, AttributeError, TypeError) as error:
        print(f"fromscratch web: cannot load {args.app}: {error}", file=sys.stderr)
        return 2
    options = dict(threads=args.threads, max_connections=args.max_connections,
                   access_log=not args.no_access_log)
    config = getattr(app, "config", None)
    if isinstance(config, dict) and config.get("MAX_CONTENT_LENGTH"):
        options["max_body_size"] = config["MAX_CONTENT_LENGTH"]
    try:
        serve(app, args.host, args.port, **options)
    except OSError as error:           # typically: the port is taken
        print(f"fromscratch web: cannot listen on {args.host}:{args.port}: {error.strerror or error}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
