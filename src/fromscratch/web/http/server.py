"""The HTTP/1.1 server: asyncio for the sockets, a thread pool for the WSGI application.

Built on the project's TCP skeleton (`fromscratch.net`), which brings the listener, the
connection limit (a connection over it gets a 503), the counters and the shutdown
sequence. This module adds HTTP:

* One connection = one `RequestParser`. Requests are answered one at a time in the
  order they arrived, so pipelining needs no bookkeeping: while the app works on one
  request, the bytes of the next ones just wait in the parser's buffer (reading pauses
  if too many pile up).
* The body is read completely (to memory, or to a temporary file past 1 MiB) before
  the app runs. Its size limit is checked on `Content-Length` before a single body byte
  is read, and `100 Continue` is sent only once the limits have passed.
* The app runs in a worker thread (`_WsgiResponse`), so a slow view stalls only its own
  connection. Output goes back to the event loop with `call_soon_threadsafe`; when the
  client reads slower than the app writes, the worker blocks (flow control through
  `pause_writing`/`resume_writing`), so a big streamed response never piles up in memory.
* Timeouts, checked by one periodic sweep: a request head must be complete within
  `header_timeout` of its first byte (against slowloris), a body may not stall for more
  than `body_timeout`, and an idle keep-alive connection is closed after
  `keepalive_timeout`.
* Graceful shutdown: stop accepting, close idle connections, let in-flight requests
  finish (their responses say `Connection: close`), then stop.
"""

from __future__ import annotations

import asyncio
import io
import logging
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from ...net import Connection, TcpServer, run_servers
from ..wsgi import make_environ
from .parser import NEED_DATA, Data, ProtocolError, RequestHead, RequestParser
from .writer import CONTINUE, LAST_CHUNK, chunk, response_head, simple_response

log = logging.getLogger("fromscratch.web.server")
access_log = logging.getLogger("fromscratch.web.access")

SPOOL_SIZE = 1024 * 1024       # request bodies larger than this go to a temporary file
WRITE_HIGH_WATER = 256 * 1024  # a worker waits while this much output is still queued
LINGER_SECONDS = 2.0           # how long to drain a client's input after an error

# Where a connection is in its request cycle, for the timeouts.
IDLE, HEAD, BODY, BUSY = "idle", "head", "body", "busy"


class ClientGone(Exception):
    """The client disconnected (or stopped reading) while its response was being sent."""


class HttpConnection(Connection):
    def __init__(self, server: "HttpServer"):
        super().__init__(server)
        self.server: HttpServer = server
        self.parser = RequestParser(max_request_line=server.max_request_line,
                                    max_header_size=server.max_header_size,
                                    max_headers=server.max_headers)
        self.phase = IDLE
        self.phase_since = server.clock
        self.requests = 0
        self.busy = False
        self.head: RequestHead | None = None
        self.body = None
        self.body_size = 0
        self._client_eof = False
        self._lingering = False
        # Flow control between the worker thread writing a response and the loop.
        self._flow = threading.Condition()
        self._paused = False
        self._queued = 0

    # -- asyncio callbacks -----------------------------------------------------------------

    def refuse(self) -> None:
        self.send(simple_response(503, "too many connections"))

    def data_received(self, data: bytes) -> None:
        self.server.stats.bytes_received += len(data)
        if self._lingering:
            return
        self.parser.feed(data)
        if self.busy:
            if self.parser.buffered > self.server.max_pipeline_buffer:
                self.transport.pause_reading()
            return
        self._advance()

    def eof_received(self) -> bool:
        """The client finished sending. Answer what it sent, then close."""
        self._client_eof = True
        return self.busy          # True keeps the transport open for our response

    def pause_writing(self) -> None:
        with self._flow:
            self._paused = True

    def resume_writing(self) -> None:
        with self._flow:
            self._paused = False
            self._flow.notify_all()

    def on_disconnect(self) -> None:
        with self._flow:
            self._flow.notify_all()          # wake a worker waiting to write
        if not self.busy:                    # else the worker still reads it
            self._discard_body()

    def _discard_body(self) -> None:
        """Release the request body (it may be a temporary file)."""
        if self.body is not None:
            self.body.close()
            self.body = None

    # -- reading requests ----------------------------------------------------------------

    def _enter(self, phase: str) -> None:
        self.phase = phase
        self.phase_since = self.server.clock

    def _advance(self) -> None:
        """Turn buffered bytes into requests until one is being handled or bytes run out."""
        while not self.busy and not self.closed:
            try:
                event = self.parser.next_event()
            except ProtocolError as error:
                self._reject(error.status, error.reason)
                return
            if event is NEED_DATA:
                if self._client_eof:
                    self.close()
                elif self.phase == IDLE and self.parser.in_request:
                    self._enter(HEAD)
                return
            if type(event) is RequestHead:
                self._on_head(event)
            elif type(event) is Data:
                self._on_data(event.data)
            else:
                self._dispatch()

    def _on_head(self, head: RequestHead) -> None:
        self.head = head
        self._enter(BODY)
        limit = self.server.max_body_size
        if limit is not None and head.content_length is not None and head.content_length > limit:
            self._reject(413, f"the body may be at most {limit} bytes")
            return
        if head.expect_continue and head.has_body:
            self.send(CONTINUE)
        if head.chunked or (head.content_length or 0) > SPOOL_SIZE:
            self.body = tempfile.SpooledTemporaryFile(max_size=SPOOL_SIZE)
        else:
            self.body = io.BytesIO()
        self.body_size = 0

    def _on_data(self, data: bytes) -> None:
        self.body_size += len(data)
        limit = self.server.max_body_size
        if limit is not None and self.body_size > limit:      # a chunked body grew too big
            self._reject(413, f"the body may be at most {limit} bytes")
            return
        self.body.write(data)
        self.phase_since = self.server.clock

    def _dispatch(self) -> None:
        """The request is complete: hand it to the app in a worker thread."""
        head = self.head
        self.busy = True
        self._enter(BUSY)
        self.requests += 1
        if not head.keep_alive:
            self.parser.close()        # nothing after a `Connection: close` request counts
        self.body.seek(0)
        environ = self._environ(head)
        self.server.executor.submit(self._run_app, environ, head)

    def _environ(self, head: RequestHead) -> dict:
        target = head.target
        if target[:1] == b"/":
            path, _, query = target.partition(b"?")
        elif target == b"*":
            path, query = b"*", b""
        else:                                   # absolute-form: http://host/path?query
            parts = urlsplit(target)
            path, query = parts.path or b"/", parts.query
        headers = head.headers
        if head.chunked:
            # The body has been de-chunked; tell the app its real length.
            headers = headers + [("Content-Length", str(self.body_size))]
        return make_environ(
            head.method, path, query, headers, self.body,
            server_name=self.local[0], server_port=self.local[1],
            remote_addr=self.peer[0], remote_port=self.peer[1], protocol=head.version)

    # -- errors and timeouts ----------------------------------------------------------

    def _reject(self, status: int, reason: str) -> None:
        """Answer a request we will not serve, then close."""
        self.parser.close()
        self._discard_body()
        self.send(simple_response(status, reason))
        self._log_access(self.head, status, 0)
        self._linger()

    def _linger(self) -> None:
        """Close without destroying the error response. Closing a socket that still has
        unread input makes the kernel send RST, and the client may lose our response;
        so half-close our side and discard input for a moment first."""
        self._lingering = True
        self._enter(BUSY)              # exempt from the timeouts; the timer below closes
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.server.loop.call_later(LINGER_SECONDS, self.close)

    def check_timeout(self, now: float) -> None:
        elapsed = now - self.phase_since
        if self.phase == IDLE:
            limit = self.server.keepalive_timeout if self.requests else self.server.header_timeout
            if elapsed > limit:
                self.server.stats.connections_timed_out += 1
                self.close()
        elif (self.phase == HEAD and elapsed > self.server.header_timeout) or \
                (self.phase == BODY and elapsed > self.server.body_timeout):
            self.server.stats.connections_timed_out += 1
            self._reject(408, "timed out waiting for the request")

    # -- the worker side ----------------------------------------------------------------

    def _run_app(self, environ: dict, head: RequestHead) -> None:
        """Runs in a worker thread: call the app and stream its response back."""
        response = _WsgiResponse(self, head)
        try:
            result = self.server.app(environ, response.start_response)
            try:
                if type(result) is list and len(result) <= 1 and not response.head_sent:
                    # The common case: the whole body at once, so its length is known.
                    response.send_whole(result[0] if result else b"")
                else:
                    for data in result:
                        response.write(data)
                    response.finish()
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except ClientGone:
            self._end_and_close(head, b"", response.status_code, response.bytes_sent)
        except Exception:
            log.exception("error in WSGI application %s %s", head.method,
                          head.target.decode("latin-1"))
            if response.head_sent:
                # The status is already on the wire; all we can do is cut it short.
                self.server.loop.call_soon_threadsafe(self.abort)
                self._end_and_close(head, b"", response.status_code, response.bytes_sent)
            else:
                self._end_and_close(head, simple_response(500, "internal server error"), 500, 0)

    def _end_and_close(self, head: RequestHead, data: bytes, status: int, size: int) -> None:
        """From the worker: the response ends here, and so does the connection."""
        self.server.loop.call_soon_threadsafe(self._response_done, data, False, head, status, size)

    def send_from_worker(self, data: bytes) -> None:
        """Queue output from the worker thread, waiting while the client is behind."""
        with self._flow:
            while (self._paused or self._queued > WRITE_HIGH_WATER) and not self.closed:
                if not self._flow.wait(self.server.write_timeout):
                    self.server.loop.call_soon_threadsafe(self.abort)
                    raise ClientGone("the client stopped reading")
            if self.closed:
                raise ClientGone("the client disconnected")
            self._queued += len(data)
        self.server.loop.call_soon_threadsafe(self._write_queued, data)

    def _write_queued(self, data: bytes) -> None:
        self.send(data)
        with self._flow:
            self._queued -= len(data)
            self._flow.notify_all()

    def _response_done(self, data: bytes, keep_alive: bool, head: RequestHead,
                       status: int, size: int) -> None:
        """Back on the loop: the response is complete. Next request, or close."""
        if data:
            self.send(data)
        self._log_access(head, status, size)
        self.busy = False
        self.head = None
        self._discard_body()
        if not keep_alive or self.server.draining:
            self.close()
            return
        self._enter(IDLE)
        self.transport.resume_reading()
        self._advance()

    # -- logging -----------------------------------------------------------------------

    def _log_access(self, head: RequestHead | None, status: int, size: int) -> None:
        """One line per request in the Common Log Format."""
        if not self.server.access_log or not access_log.isEnabledFor(logging.INFO):
            return
        if head is not None:
            target = head.target.decode("latin-1").replace('"', '\\"')
            request_line = f"{head.method} {target} {head.version}"
        else:
            request_line = "-"
        access_log.info('%s - - [%s] "%s" %d %s', self.peer[0], _clf_time(), request_line,
                        status, size if size else "-")


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _clf_time() -> str:
    """`10/Oct/2000:13:55:36 +0000`, in English whatever the locale."""
    t = time.gmtime()
    return f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"


class _WsgiResponse:
    """The server's side of one WSGI response, used in the worker thread.

    It holds the status and headers from `start_response` until the first body bytes
    (PEP 3333: an app may still change its mind with `exc_info` until then), then
    decides the framing: the app's Content-Length, or a length we know because the body
    is a single chunk, or chunked encoding for HTTP/1.1, or closing the connection.
    """

    def __init__(self, connection: HttpConnection, head: RequestHead):
        self.connection = connection
        self.request = head
        self.status: str | None = None
        self.headers: list[tuple[str, str]] = []
        self.status_code = 0
        self.head_sent = False
        self.keep_alive = head.keep_alive
        self.chunked = False
        self.no_body = False
        self.declared_length: int | None = None
        self.bytes_sent = 0

    def start_response(self, status: str, headers: list[tuple[str, str]], exc_info=None):
        if exc_info is not None:
            try:
                if self.head_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status is not None:
            raise RuntimeError("start_response() called twice without exc_info")
        self.status, self.headers = status, headers
        return self.write

    def _head(self, body_length: int | None) -> bytes:
        """Frame the response and format its head (once). `body_length`: if known."""
        if self.status is None:
            raise RuntimeError("the application returned without calling start_response()")
        code = self.status_code = int(self.status[:3])
        self.no_body = self.request.method == "HEAD" or code in (204, 304) or code < 200
        headers = self.headers
        for name, value in headers:
            lower = name.lower()
            if lower == "content-length":
                self.declared_length = int(value)
            elif lower == "connection" and "close" in value.lower():
                self.keep_alive = False
        if self.connection.server.draining:
            self.keep_alive = False
        if self.declared_length is None and not self.no_body:
            if body_length is not None:
                headers = headers + [("Content-Length", str(body_length))]
                self.declared_length = body_length
            elif self.request.version == "HTTP/1.1":
                self.chunked = True
            else:
                self.keep_alive = False        # HTTP/1.0: the body ends when we close
        head = response_head(self.status, headers, keep_alive=self.keep_alive,
                             chunked=self.chunked, http10_client=self.request.version == "HTTP/1.0")
        self.head_sent = True
        return head

    def _frame(self, data: bytes) -> bytes:
        if self.no_body or not data:
            return b""
        if self.declared_length is not None:
            # Never send more than announced: the extra would be read as the next response.
            data = data[:max(0, self.declared_length - self.bytes_sent)]
        self.bytes_sent += len(data)
        return chunk(data) if self.chunked else data

    def write(self, data: bytes) -> None:
        out = b"" if self.head_sent else self._head(None)
        out += self._frame(data)
        if out:
            self.connection.send_from_worker(out)

    def send_whole(self, body: bytes) -> None:
        """The whole response at once: one hand-over to the loop."""
        out = self._head(len(body)) + self._frame(body)
        self._done(out)

    def finish(self) -> None:
        out = b"" if self.head_sent else self._head(0)
        if self.chunked:
            out += LAST_CHUNK
        self._done(out)

    def _done(self, out: bytes) -> None:
        if self.declared_length is not None and not self.no_body and \
                self.bytes_sent < self.declared_length:
            self.keep_alive = False            # the app sent less than it announced
        connection = self.connection
        connection.server.loop.call_soon_threadsafe(
            connection._response_done, out, self.keep_alive, self.request,
            self.status_code, self.bytes_sent)


class HttpServer(TcpServer):
    """Serves a WSGI application over HTTP/1.1."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 8000, *, name: str = "web",
                 threads: int = 8, max_connections: int = 1000,
                 max_body_size: int | None = 100 * 1024 * 1024, max_request_line: int = 8192,
                 max_header_size: int = 65536, max_headers: int = 100,
                 header_timeout: float = 10.0, body_timeout: float = 30.0,
                 keepalive_timeout: float = 5.0, write_timeout: float = 30.0,
                 shutdown_timeout: float = 30.0, access_log: bool = True):
        super().__init__(name, host, port, HttpConnection, max_connections=max_connections)
        self.app = app
        self.threads = threads
        self.max_body_size = max_body_size
        self.max_request_line = max_request_line
        self.max_header_size = max_header_size
        self.max_headers = max_headers
        self.max_pipeline_buffer = max_header_size + SPOOL_SIZE
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self.keepalive_timeout = keepalive_timeout
        self.write_timeout = write_timeout
        self.shutdown_timeout = shutdown_timeout
        self.access_log = access_log
        self.draining = False
        self.executor: ThreadPoolExecutor | None = None
        self.on_shutdown(self._drain)

    async def start(self) -> None:
        self.executor = ThreadPoolExecutor(self.threads, thread_name_prefix=f"{self.name}-worker")
        await super().start()
        # Sweep often enough that a timeout fires within a fraction of its length.
        shortest = min(self.header_timeout, self.body_timeout, self.keepalive_timeout)
        self.every(max(0.05, min(1.0, shortest / 4)), self._check_timeouts)

    def _check_timeouts(self) -> None:
        self.clock = time.monotonic()
        for connection in list(self.connections.values()):
            connection.check_timeout(self.clock)

    async def _drain(self) -> None:
        """Shutdown hook: close idle connections, wait for requests in progress."""
        self.draining = True
        for connection in list(self.connections.values()):
            if not connection.busy:
                connection.close()
        deadline = time.monotonic() + self.shutdown_timeout
        while any(c.busy for c in self.connections.values()) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)


def configure_logging() -> None:
    """Server messages and the access log on stderr, unless logging is set up already."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not access_log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        access_log.addHandler(handler)
        access_log.setLevel(logging.INFO)
        access_log.propagate = False


def serve(app, host: str = "127.0.0.1", port: int = 8000, **options) -> None:
    """Serve a WSGI app until SIGINT or SIGTERM (see HttpServer for the options)."""
    configure_logging()
    if options.get("max_body_size", 0) is None:
        del options["max_body_size"]          # no app limit: keep the server's own
    run_servers([HttpServer(app, host, port, **options)])
