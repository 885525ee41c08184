"""The response a view returns, and the WSGI call that sends it.

A body is bytes or an iterable of bytes/str chunks (a generator streams). A `Response`
is itself a WSGI application, so it can be returned from anywhere in the stack.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import json
import uuid
from html import escape
from typing import Iterable

from .datastructures import Headers, format_cookie
from .errors import status_line

HTML = "text/html; charset=utf-8"
JSON = "application/json"
TEXT = "text/plain; charset=utf-8"

# Statuses whose responses have no body, and so no Content-Type (RFC 9110 6.4.1).
NO_BODY_STATUSES = frozenset({204, 304})


def _json_default(value):
    """What json.dumps does not know: dates, UUIDs, decimals, sets, dataclasses."""
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (uuid.UUID, decimal.Decimal)):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


# One encoder for every response: json.dumps() with options builds a new one per call.
_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_json_default)


def dumps(value) -> bytes:
    """Compact JSON as UTF-8 bytes, the way every JSON response is encoded."""
    return _encoder.encode(value).encode("utf-8")


class Response:
    """Status, headers and body.

    `body` may be bytes, str (encoded as UTF-8), or an iterable of chunks (streamed,
    without Content-Length; the server chooses chunked encoding).
    """

    __slots__ = ("status_code", "headers", "body")

    def __init__(self, body: bytes | str | Iterable = b"", status: int = 200,
                 headers: Headers | dict | list | None = None, content_type: str | None = None):
        self.status_code = status
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif isinstance(body, (bytearray, memoryview)):
            body = bytes(body)
        self.body = body
        if headers is None:                 # the common case, kept cheap
            if content_type is None and status not in NO_BODY_STATUSES:
                content_type = HTML
            self.headers = Headers([("Content-Type", content_type)] if content_type else [])
            return
        self.headers = headers if isinstance(headers, Headers) else Headers(headers)
        if content_type is not None:
            self.headers["Content-Type"] = content_type
        elif "Content-Type" not in self.headers and status not in NO_BODY_STATUSES:
            self.headers["Content-Type"] = HTML

    @property
    def status(self) -> str:
        return status_line(self.status_code)

    @property
    def content_type(self) -> str | None:
        return self.headers.get("Content-Type")

    @property
    def data(self) -> bytes:
        """The body as bytes (a streamed body is consumed)."""
        if not isinstance(self.body, (bytes, bytearray)):
            self.body = b"".join(c.encode("utf-8") if isinstance(c, str) else c for c in self.body)
        return bytes(self.body)

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "replace")

    def set_cookie(self, key: str, value: str = "", *, max_age: int | None = None,
                   expires=None, path: str | None = "/", domain: str | None = None,
                   secure: bool = False, httponly: bool = False, samesite: str | None = None,
                   partitioned: bool = False) -> None:
        """Add a Set-Cookie header; see RFC 6265bis for what each attribute means."""
        self.headers.add("Set-Cookie", format_cookie(
            key, value, max_age=max_age, expires=expires, path=path, domain=domain,
            secure=secure, httponly=httponly, samesite=samesite, partitioned=partitioned))

    def delete_cookie(self, key: str, *, path: str | None = "/", domain: str | None = None,
                      secure: bool = False, httponly: bool = False,
                      samesite: str | None = None) -> None:
        """Ask the browser to drop a cookie (same path and domain as when it was set)."""
        self.headers.add("Set-Cookie", format_cookie(
            key, "", max_age=0, expires=0, path=path, domain=domain, secure=secure,
            httponly=httponly, samesite=samesite))

    def __call__(self, environ: dict, start_response):
        """Send this response through WSGI."""
        status = self.status_code
        body = self.body
        headers = self.headers.to_list()
        if status in NO_BODY_STATUSES or (100 <= status < 200):
            if not isinstance(body, bytes):
                _close_iterable(body)
            body = b""
            headers = [h for h in headers if h[0].lower() not in ("content-type", "content-length")]
        if isinstance(body, bytes):
            if status not in NO_BODY_STATUSES and "Content-Length" not in self.headers:
                headers = headers + [("Content-Length", str(len(body)))]
            start_response(status_line(status), headers)
            return [body] if environ["REQUEST_METHOD"] != "HEAD" else []
        start_response(status_line(status), headers)
        if environ["REQUEST_METHOD"] == "HEAD":
            _close_iterable(body)
            return []
        return _StreamedBody(body)

    def __repr__(self) -> str:
        return f"<Response {self.status}>"


def _close_iterable(body) -> None:
    close = getattr(body, "close", None)
    if close is not None:
        close()


class _StreamedBody:
    """A streamed body as WSGI sees it: str chunks encoded, and `close()` passed on."""

    __slots__ = ("_body",)

    def __init__(self, body: Iterable):
        self._body = body

    def __iter__(self):
        for chunk in self._body:
            if isinstance(chunk, str):
                chunk = chunk.encode("utf-8")
            if chunk:
                yield chunk

    def close(self) -> None:
        _close_iterable(self._body)


def redirect(location: str, code: int = 302) -> Response:
    """A redirect to `location` (302 by default; 301/303/307/308 also make sense)."""
    body = (f'<!doctype html>\n<title>Redirecting</title>\n'
            f'<p>Redirecting to <a href="{escape(location)}">{escape(location)}</a>.</p>\n')
    return Response(body, code, {"Location": location})


def jsonify(value, status: int = 200) -> Response:
    return Response(dumps(value), status, content_type=JSON)
