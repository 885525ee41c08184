"""HTTP/1.1 responses to bytes: the status line and headers, and chunked framing."""

from __future__ import annotations

import time
from email.utils import formatdate

from ..errors import status_line

CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
LAST_CHUNK = b"0\r\n\r\n"
SERVER = "fromscratch"

# Hop-by-hop headers belong to the connection, which the server manages (PEP 3333 says
# an application must not send them; we drop them rather than send two framings).
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
                        "te", "trailer", "transfer-encoding", "upgrade"})

_date_cache = (0, "")


def http_date_now() -> str:
    """The Date header value, formatted at most once a second."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, formatdate(now, usegmt=True))
    return _date_cache[1]


class UnsafeHeader(ValueError):
    """A response header with CR or LF: sending it would let the value forge headers."""


def response_head(status: str, headers: list[tuple[str, str]], *, keep_alive: bool,
                  chunked: bool, http10_client: bool = False) -> bytes:
    """Status line and header section for a WSGI status and header list."""
    lines = [f"HTTP/1.1 {status}\r\n"]
    has_date = has_server = False
    for name, value in headers:
        if "\n" in value or "\r" in value or "\n" in name or "\r" in name or ":" in name:
            raise UnsafeHeader(f"unsafe response header {name!r}")
        lower = name.lower()
        if lower in HOP_BY_HOP:
            continue
        if lower == "date":
            has_date = True
        elif lower == "server":
            has_server = True
        lines.append(f"{name}: {value}\r\n")
    if not has_date:
        lines.append(f"Date: {http_date_now()}\r\n")
    if not has_server:
        lines.append(f"Server: {SERVER}\r\n")
    if chunked:
        lines.append("Transfer-Encoding: chunked\r\n")
    if not keep_alive:
        lines.append("Connection: close\r\n")
    elif http10_client:
        lines.append("Connection: keep-alive\r\n")
    lines.append("\r\n")
    return "".join(lines).encode("latin-1")


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def simple_response(code: int, message: str = "", *, keep_alive: bool = False,
                    headers: list[tuple[str, str]] = ()) -> bytes:
    """A complete plain-text response, for errors the server answers by itself."""
    body = (message or status_line(code).partition(" ")[2]).encode("utf-8") + b"\n"
    head = response_head(status_line(code), [
        ("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))),
        *headers], keep_alive=keep_alive, chunked=False)
    return head + body
