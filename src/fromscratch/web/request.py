"""The request a view receives: a lazy, read-only view of the WSGI environ.

Nothing is parsed until asked for: a view that only reads `request.args` never touches
the body, and a hello-world costs one object. Each parsed part is cached on first use
(`functools.cached_property`).
"""

from __future__ import annotations

import json
from functools import cached_property
from urllib.parse import parse_qsl, quote

from .datastructures import (Headers, MultiDict, accept_quality, parse_accept,
                             parse_cookie_header, parse_options_header)
from .errors import HTTPError
from .multipart import parse_multipart


def _wsgi_str_to_text(value: str) -> str:
    """PEP 3333 hands over URL bytes as latin-1 text; the URL itself is UTF-8."""
    if value.isascii():
        return value
    return value.encode("latin-1").decode("utf-8", "replace")


class Request:
    """One HTTP request. Views get it as their first argument."""

    # Set from the app's config; None means no limit.
    max_content_length: int | None = None
    # Uploaded files bigger than this go to a temporary file instead of memory.
    spool_size: int = 512 * 1024

    def __init__(self, environ: dict, app=None):
        self.environ = environ
        self.app = app
        self.method: str = environ["REQUEST_METHOD"]
        self.path: str = _wsgi_str_to_text(environ.get("PATH_INFO") or "/")
        # Filled in by the app once routing has chosen a rule.
        self.rule = None
        self.view_args: dict = {}

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.path!r}>"

    @property
    def endpoint(self) -> str | None:
        return self.rule.endpoint if self.rule else None

    @property
    def blueprint(self):
        return self.rule.blueprint if self.rule else None

    # -- URL ---------------------------------------------------------------------------

    @cached_property
    def args(self) -> MultiDict:
        """The query string, `?a=1&a=2` -> args["a"] == "1", args.getlist("a") == ["1", "2"]."""
        query = self.environ.get("QUERY_STRING", "")
        return MultiDict(parse_qsl(_wsgi_str_to_text(query), keep_blank_values=True))

    @property
    def query_string(self) -> str:
        return self.environ.get("QUERY_STRING", "")

    @property
    def scheme(self) -> str:
        return self.environ.get("wsgi.url_scheme", "http")

    @cached_property
    def host(self) -> str:
        """`Host` as sent, or the server's name and port (PEP 3333's URL reconstruction)."""
        host = self.environ.get("HTTP_HOST")
        if host:
            return host
        host, port = self.environ.get("SERVER_NAME", "localhost"), self.environ.get("SERVER_PORT", "")
        default = "443" if self.scheme == "https" else "80"
        return host if port in ("", default) else f"{host}:{port}"

    @property
    def script_root(self) -> str:
        return _wsgi_str_to_text(self.environ.get("SCRIPT_NAME", "")).rstrip("/")

    @property
    def full_path(self) -> str:
        return self.path + "?" + self.query_string

    @property
    def base_url(self) -> str:
        """The URL without the query string."""
        return (f"{self.scheme}://{self.host}"
                f"{quote(self.script_root)}{quote(self.path)}")

    @property
    def url(self) -> str:
        qs = self.query_string
        return self.base_url + ("?" + qs if qs else "")

    @property
    def url_root(self) -> str:
        return f"{self.scheme}://{self.host}{quote(self.script_root)}/"

    def url_for(self, endpoint: str, *, _external: bool = False, **values) -> str:
        """A URL for `endpoint`, under this request's script root; `_external` adds host."""
        path = self.script_root + self.app.router.build(endpoint, values)
        return f"{self.scheme}://{self.host}{path}" if _external else path

    @property
    def remote_addr(self) -> str | None:
        return self.environ.get("REMOTE_ADDR")

    # -- headers -----------------------------------------------------------------------

    @cached_property
    def headers(self) -> Headers:
        """The request headers, case-insensitive: `request.headers["user-agent"]`."""
        headers = Headers()
        for key, value in self.environ.items():
            if key.startswith("HTTP_"):
                headers.add(key[5:].replace("_", "-").title(), value)
            elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
                headers.add(key.replace("_", "-").title(), value)
        return headers

    @cached_property
    def cookies(self) -> dict[str, str]:
        return parse_cookie_header(_wsgi_str_to_text(self.environ.get("HTTP_COOKIE", "")))

    @cached_property
    def _content_type(self) -> tuple[str, dict[str, str]]:
        return parse_options_header(self.environ.get("CONTENT_TYPE"))

    @property
    def mimetype(self) -> str:
        """The media type of the body, without parameters: `application/json`."""
        return self._content_type[0]

    @property
    def content_type(self) -> str:
        return self.environ.get("CONTENT_TYPE", "")

    @property
    def content_length(self) -> int | None:
        try:
            length = int(self.environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            return None
        return length if length >= 0 else None

    @property
    def is_json(self) -> bool:
        mimetype = self.mimetype
        return mimetype == "application/json" or (
            mimetype.startswith("application/") and mimetype.endswith("+json"))

    # -- content negotiation -------------------------------------------------------------

    @cached_property
    def accept_mimetypes(self) -> list[tuple[str, float]]:
        """`Accept`, parsed: [(media type, quality)], best first."""
        return parse_accept(self.environ.get("HTTP_ACCEPT"))

    def accepts(self, mimetype: str) -> bool:
        """Would the client take `mimetype`? (True when it sends no Accept at all.)"""
        if not self.accept_mimetypes:
            return True
        return accept_quality(self.accept_mimetypes, mimetype) > 0

    def best_match(self, offers: list[str], default: str | None = None) -> str | None:
        """Of the media types we can produce, the one the client likes best.

        Ties go to the earlier offer, so list your preferred type first.
        """
        if not self.accept_mimetypes:
            return offers[0] if offers else default
        best, best_quality = default, 0.0
        for offer in offers:
            quality = accept_quality(self.accept_mimetypes, offer)
            if quality > best_quality:
                best, best_quality = offer, quality
        return best

    @cached_property
    def accept_languages(self) -> list[tuple[str, float]]:
        return parse_accept(self.environ.get("HTTP_ACCEPT_LANGUAGE"))

    # -- body --------------------------------------------------------------------------

    def _check_length(self) -> int | None:
        """The body length, after enforcing `max_content_length` (413 before reading)."""
        length = self.content_length
        limit = self.max_content_length
        if limit is not None and length is not None and length > limit:
            raise HTTPError(413, f"the body is larger than {limit} bytes")
        return length

    @cached_property
    def body(self) -> bytes:
        """The raw body. A body of unknown length (chunked) is read to its end only when
        the server says the input is terminated (`wsgi.input_terminated`)."""
        length = self._check_length()
        stream = self.environ["wsgi.input"]
        limit = self.max_content_length
        if length is not None:
            data = stream.read(length) if length else b""
        elif self.environ.get("wsgi.input_terminated"):
            data = stream.read() if limit is None else stream.read(limit + 1)
            if limit is not None and len(data) > limit:
                raise HTTPError(413, f"the body is larger than {limit} bytes")
        else:
            data = b""
        return data

    @property
    def data(self) -> bytes:
        return self.body

    def get_data(self, as_text: bool = False) -> bytes | str:
        return self.body.decode("utf-8", "replace") if as_text else self.body

    @cached_property
    def json(self):
        """The body as JSON when the Content-Type says JSON, else None; bad JSON is a 400."""
        if not self.is_json:
            return None
        try:
            return json.loads(self.body)
        except ValueError as error:
            raise HTTPError(400, f"invalid JSON body: {error}") from None

    @cached_property
    def _form_and_files(self) -> tuple[MultiDict, MultiDict]:
        mimetype, params = self._content_type
        if mimetype == "application/x-www-form-urlencoded":
            text = self.body.decode(params.get("charset", "utf-8"), "replace")
            return MultiDict(parse_qsl(text, keep_blank_values=True)), MultiDict()
        if mimetype == "multipart/form-data":
            length = self._check_length()
            if length is None and not self.environ.get("wsgi.input_terminated"):
                length = 0
            return parse_multipart(self.environ["wsgi.input"], params.get("boundary", ""),
                                   length, spool_size=self.spool_size)
        return MultiDict(), MultiDict()

    @property
    def form(self) -> MultiDict:
        """Fields of a urlencoded or multipart form."""
        return self._form_and_files[0]

    @property
    def files(self) -> MultiDict:
        """Uploaded files (`FileStorage`), by field name."""
        return self._form_and_files[1]

    @property
    def values(self) -> MultiDict:
        """Query string and form together, form last."""
        combined = MultiDict(self.args.items(multi=True))
        for key, value in self.form.items(multi=True):
            combined.add(key, value)
        return combined

    # -- session -----------------------------------------------------------------------

    @cached_property
    def session(self):
        """The signed-cookie session (a dict); needs the app's `secret_key`."""
        return self.app.session_interface.open(self)

    def close(self) -> None:
        """Release uploaded files' temporary storage."""
        if "_form_and_files" in self.__dict__:
            for _name, upload in self.files.items(multi=True):
                upload.close()
