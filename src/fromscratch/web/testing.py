"""Tools for testing web apps.

`TestClient` sends requests straight into a WSGI app, no sockets, cookies remembered:

    client = app.test_client()
    r = client.post("/items", json={"name": "x"})
    assert r.status_code == 201 and r.json["name"] == "x"

It works with any WSGI application (wrap one in `wsgiref.validate.validator` to check
the app keeps the WSGI rules), and it consumes and closes every response as a server
would. `LiveServer` runs an app on the real HTTP server in a background thread, for
tests through real clients; `free_port` and `wait_for_port` help start servers in
other processes.
"""

from __future__ import annotations

import asyncio
import io
import json as jsonlib
import mimetypes
import socket
import subprocess
import threading
import time
import uuid
from urllib.parse import urlencode, urlsplit, quote

from ..net.transport import new_event_loop
from .datastructures import Headers, parse_cookie_header
from .wsgi import make_environ


class TestResponse:
    """What the app answered: `status_code`, `headers`, `data`, `text`, `json`."""

    __test__ = False          # not a pytest test class, despite the name

    def __init__(self, status: str, headers: list[tuple[str, str]], data: bytes, request_environ: dict):
        self.status = status
        self.status_code = int(status.split(" ", 1)[0])
        self.headers = Headers(headers)
        self.data = data
        self.environ = request_environ

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "replace")

    @property
    def json(self):
        return jsonlib.loads(self.data) if self.data else None

    @property
    def location(self) -> str | None:
        return self.headers.get("Location")

    def __repr__(self) -> str:
        return f"<TestResponse {self.status}>"


def encode_multipart(fields: dict, files: dict) -> tuple[bytes, str]:
    """(body, content type) for a multipart form; `files` maps a field to
    (filename, bytes[, content type])."""
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                      .encode() + str(item).encode() + b"\r\n")
    for name, spec in files.items():
        filename, content, *rest = spec
        content_type = rest[0] if rest else (mimetypes.guess_type(filename)[0]
                                             or "application/octet-stream")
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                  f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'.encode()
                  + content + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


class TestClient:
    __test__ = False

    def __init__(self, app, use_cookies: bool = True, remote_addr: str = "127.0.0.1"):
        self.app = app
        self.use_cookies = use_cookies
        self.remote_addr = remote_addr
        self.cookies: dict[str, str] = {}

    def open(self, path: str, method: str = "GET", *, headers: dict | None = None,
             query: dict | None = None, data: bytes | str | dict | None = None, json=None,
             files: dict | None = None, follow_redirects: bool = False) -> TestResponse:
        headers = dict(headers or {})
        body = b""
        if json is not None:
            body = jsonlib.dumps(json).encode()
            headers.setdefault("Content-Type", "application/json")
        elif files is not None:
            body, headers["Content-Type"] = encode_multipart(data or {}, files)
        elif isinstance(data, dict):
            body = urlencode(data, doseq=True).encode()
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif data is not None:
            body = data.encode() if isinstance(data, str) else data
        if body or method in ("POST", "PUT", "PATCH"):
            headers["Content-Length"] = str(len(body))
        if self.use_cookies and self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())

        url = urlsplit(path)
        host = headers.setdefault("Host", url.netloc or "localhost")
        raw_path = quote(url.path or "/", safe="/%;:@&=+$,!~*'()").encode("utf-8")
        query_string = url.query
        if query:
            query_string = "&".join(filter(None, [query_string, urlencode(query, doseq=True)]))
        environ = make_environ(
            method.upper(), raw_path, query_string.encode("utf-8"),
            [(name, str(value)) for name, value in headers.items()], io.BytesIO(body),
            server_name=host.partition(":")[0], server_port=int(host.partition(":")[2] or 80),
            remote_addr=self.remote_addr, multithread=False)
        response = self._call(environ)
        if follow_redirects and 300 <= response.status_code < 400 and response.location:
            target = urlsplit(response.location)
            keep = response.status_code in (307, 308)
            return self.open(target.path + ("?" + target.query if target.query else ""),
                             method if keep else "GET", headers=headers if keep else None,
                             data=body if keep else None, follow_redirects=True)
        return response

    def _call(self, environ: dict) -> TestResponse:
        captured = {}
        chunks: list[bytes] = []

        def start_response(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return chunks.append          # the legacy write() callable

        result = self.app(environ, start_response)
        try:
            for chunk in result:
                chunks.append(chunk)
        finally:
            if hasattr(result, "close"):
                result.close()
        response = TestResponse(captured["status"], captured["headers"], b"".join(chunks), environ)
        if self.use_cookies:
            self._remember_cookies(response)
        return response

    def _remember_cookies(self, response: TestResponse) -> None:
        for header in response.headers.get_all("Set-Cookie"):
            pair, _, attributes = header.partition(";")
            name, _, value = pair.partition("=")
            attrs = attributes.lower()
            if "max-age=0" in attrs.replace(" ", "") or (not value and "expires=" in attrs):
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value.strip()

    def get_cookie(self, name: str) -> str | None:
        value = self.cookies.get(name)
        return None if value is None else parse_cookie_header(f"{name}={value}")[name]

    def get(self, path: str, **options) -> TestResponse:
        return self.open(path, "GET", **options)

    def post(self, path: str, **options) -> TestResponse:
        return self.open(path, "POST", **options)

    def put(self, path: str, **options) -> TestResponse:
        return self.open(path, "PUT", **options)

    def patch(self, path: str, **options) -> TestResponse:
        return self.open(path, "PATCH", **options)

    def delete(self, path: str, **options) -> TestResponse:
        return self.open(path, "DELETE", **options)

    def head(self, path: str, **options) -> TestResponse:
        return self.open(path, "HEAD", **options)

    def options(self, path: str, **options) -> TestResponse:
        return self.open(path, "OPTIONS", **options)


class LiveServer:
    """The framework's HTTP server on a free port, in a background thread, for tests:

        with LiveServer(app) as server:
            urllib.request.urlopen(server.url + "/")
    """

    def __init__(self, app, host: str = "127.0.0.1", **options):
        from .http.server import HttpServer
        options.setdefault("access_log", False)
        self.server = HttpServer(app, host, 0, **options)
        self.host = host
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "LiveServer":
        ready = threading.Event()
        failure: list[BaseException] = []

        def run():
            loop = self._loop = new_event_loop()
            try:
                loop.run_until_complete(self.server.start())
            except BaseException as error:       # e.g. the port is taken: report it
                failure.append(error)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="live-server", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Shut down as on SIGTERM: finish requests in flight, then stop."""
        if self._loop is None or not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self.server.shutdown(), self._loop).result(timeout)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)

    def __enter__(self) -> "LiveServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def free_port() -> int:
    """A TCP port nobody listens on right now (for a server started by a test)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen | None = None, timeout: float = 20) -> None:
    """Wait until something accepts connections on 127.0.0.1:port; fail early if the
    server `process` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with status {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on port {port} after {timeout}s")
