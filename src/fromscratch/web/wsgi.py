"""Building a WSGI environ (PEP 3333), shared by the HTTP server and the test client.

Both turn "a method, a target and some headers" into the same dict, so a test through
the test client sees exactly what a request through the real server would.
"""

from __future__ import annotations

import sys
from typing import BinaryIO, Iterable
from urllib.parse import unquote_to_bytes


def make_environ(method: str, raw_path: bytes, query: bytes, headers: Iterable[tuple[str, str]],
                 body: BinaryIO, *, server_name: str = "localhost", server_port: int = 80,
                 remote_addr: str = "127.0.0.1", remote_port: int = 0, scheme: str = "http",
                 protocol: str = "HTTP/1.1", multithread: bool = True) -> dict:
    """The environ for one request.

    `raw_path` and `query` are the bytes of the request target, still percent-encoded;
    PATH_INFO is decoded (`%2F` becomes `/`, as in every WSGI server) and, like all
    environ strings, carries bytes as latin-1 text. Header names with an underscore are
    dropped: `X_User` would otherwise become indistinguishable from `X-User`, a known
    way to smuggle a trusted header past a proxy.
    """
    environ = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote_to_bytes(raw_path).decode("latin-1"),
        "QUERY_STRING": query.decode("latin-1"),
        "SERVER_NAME": server_name,
        "SERVER_PORT": str(server_port),
        "SERVER_PROTOCOL": protocol,
        "REMOTE_ADDR": remote_addr,
        "REMOTE_PORT": str(remote_port),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scheme,
        "wsgi.input": body,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": multithread,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        # The body is complete and readable to its end (the server has it all).
        "wsgi.input_terminated": True,
    }
    for name, value in headers:
        if "_" in name:
            continue
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        if key in environ:
            separator = "; " if key == "HTTP_COOKIE" else ", "
            environ[key] += separator + value
        else:
            environ[key] = value
    return environ
