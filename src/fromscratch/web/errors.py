"""HTTP errors as exceptions: `abort(404)` anywhere in a view unwinds to the error handlers."""

from __future__ import annotations

from http import HTTPStatus

# "200 OK", "404 Not Found", ...: the WSGI status line for every code the stdlib knows,
# built once because every response needs one.
STATUS_LINES = {status.value: f"{status.value} {status.phrase}" for status in HTTPStatus}


def status_line(code: int) -> str:
    """The WSGI status string for `code`; unknown codes get a generic reason phrase."""
    line = STATUS_LINES.get(code)
    if line is None:
        if not 100 <= code <= 999:
            raise ValueError(f"invalid HTTP status code {code}")
        line = f"{code} Unknown"
    return line


def reason_phrase(code: int) -> str:
    return status_line(code).partition(" ")[2]


class HTTPError(Exception):
    """An HTTP error response, raised. `description` is shown to the client."""

    def __init__(self, code: int = 500, description: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(code, description)
        self.code = code
        self.description = description
        self.headers = headers or {}
        # For a 500 that wraps an unhandled exception, the exception itself.
        self.original: BaseException | None = None

    @property
    def name(self) -> str:
        return reason_phrase(self.code)

    def __str__(self) -> str:
        return f"{self.code} {self.name}" + (f": {self.description}" if self.description else "")


class BadRequestKeyError(KeyError, HTTPError):
    """A missing form or query field: a KeyError to Python, a 400 to the client."""

    def __init__(self, key: str):
        HTTPError.__init__(self, 400, f"missing field {key!r}")
        self.args = (key,)

    def __str__(self) -> str:
        return HTTPError.__str__(self)


def abort(code: int, description: str | None = None,
          headers: dict[str, str] | None = None):
    """Stop handling the request and answer with `code` (through the error handlers)."""
    raise HTTPError(code, description, headers)
