"""HTTP/1.1 requests from bytes, as a pure state machine (no sockets), in the spirit of h11.

Feed it whatever arrived (`feed`), then ask for events (`next_event`) until it says
`NEED_DATA`. One request is three kinds of events:

    RequestHead(method, target, version, headers, ...)   once the head is complete
    Data(bytes)                                           zero or more times
    EndOfMessage()                                        when the body is complete

then the next pipelined request starts, if its bytes are already there. Anything that
breaks the grammar of RFC 9112, or a limit, raises `ProtocolError(status, reason)`:
the server answers with that status and closes the connection.

The body framing rules (RFC 9112 section 6) are the security-sensitive part:

* `Transfer-Encoding: chunked` frames the body; any other transfer coding -> 501;
* both `Transfer-Encoding` and `Content-Length` -> 400 (RFC 9112 6.1 allows accepting
  it, but a request that could be read two ways is how requests are smuggled);
* `Content-Length` must be digits; a list of identical values is one value; any other
  disagreement -> 400;
* neither: no body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Grammar pieces from RFC 9110 / 9112.
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_VERSION = re.compile(rb"HTTP/(\d)\.(\d)\Z")
# A field value may hold visible characters, spaces, tabs and obs-text; no other controls.
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;.*)?\Z")


class ProtocolError(Exception):
    """The request cannot be served; answer `status` and close."""

    def __init__(self, status: int, reason: str):
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason


@dataclass(slots=True)
class RequestHead:
    method: str
    target: bytes
    version: str                              # "HTTP/1.1" or "HTTP/1.0"
    headers: list[tuple[str, str]]            # as sent, decoded as latin-1
    content_length: int | None = None
    chunked: bool = False
    keep_alive: bool = True
    expect_continue: bool = False

    @property
    def has_body(self) -> bool:
        return self.chunked or bool(self.content_length)


@dataclass(slots=True)
class Data:
    data: bytes


@dataclass(slots=True)
class EndOfMessage:
    trailers: list[tuple[str, str]] = field(default_factory=list)


NEED_DATA = type("NeedData", (), {"__repr__": lambda self: "NEED_DATA"})()

# Parser states.
_HEAD, _BODY, _CHUNK_HEADER, _CHUNK_DATA, _CHUNK_END, _TRAILERS, _END, _CLOSED = range(8)


class RequestParser:
    """Turns the bytes of one connection into request events."""

    def __init__(self, *, max_request_line: int = 8192, max_header_size: int = 65536,
                 max_headers: int = 100):
        self.max_request_line = max_request_line
        self.max_header_size = max_header_size
        self.max_headers = max_headers
        self._buffer = bytearray()
        self._state = _HEAD
        self._remaining = 0            # body or chunk bytes still to come
        self._trailers: list[tuple[str, str]] = []
        self._trailer_bytes = 0
        # How much of an incomplete head has been searched for its end already: without
        # it, a head trickling in byte by byte would be rescanned in full each time.
        self._scanned = 0

    def feed(self, data: bytes) -> None:
        if self._state != _CLOSED:
            self._buffer += data

    @property
    def buffered(self) -> int:
        """Bytes received and not yet turned into events."""
        return len(self._buffer)

    @property
    def in_request(self) -> bool:
        """True between the first byte of a request and its EndOfMessage."""
        return self._state != _HEAD or bool(self._buffer.lstrip(b"\r\n"))

    def close(self) -> None:
        """Stop parsing (after a request that ends the connection)."""
        self._state = _CLOSED
        self._buffer.clear()

    def next_event(self):
        state = self._state
        if state == _HEAD:
            return self._read_head()
        if state == _BODY:
            return self._read_body()
        if state == _END:
            self._state = _HEAD
            return EndOfMessage()
        if state == _CLOSED:
            return NEED_DATA
        return self._read_chunked()

    # -- head --------------------------------------------------------------------------

    def _read_head(self):
        buffer = self._buffer
        # RFC 9112 2.2: ignore empty lines before a request line (robustness).
        while buffer[:2] == b"\r\n" or buffer[:1] == b"\n":
            del buffer[:2 if buffer[:1] == b"\r" else 1]
        end = _HEAD_END.search(buffer, max(0, self._scanned - 3))
        if end is None:
            # Checked once, when the buffer first grows past the request line limit.
            if self._scanned <= self.max_request_line < len(buffer) and \
                    buffer.find(b"\n", 0, self.max_request_line + 1) < 0:
                raise ProtocolError(414, "request line too long")
            if len(buffer) > self.max_header_size:
                raise ProtocolError(431, "request header section too large")
            self._scanned = len(buffer)
            return NEED_DATA
        self._scanned = 0
        if end.start() > self.max_header_size:
            raise ProtocolError(431, "request header section too large")
        lines = bytes(buffer[:end.start()]).split(b"\n")
        del buffer[:end.end()]
        head = self._parse_head([line[:-1] if line.endswith(b"\r") else line for line in lines])
        if head.chunked:
            self._state = _CHUNK_HEADER
        elif head.content_length:
            self._state = _BODY
            self._remaining = head.content_length
        else:
            self._state = _END               # no body: EndOfMessage is next
        return head

    def _parse_head(self, lines: list[bytes]) -> RequestHead:
        request_line = lines[0]
        if len(request_line) > self.max_request_line:
            raise ProtocolError(414, "request line too long")
        parts = request_line.split(b" ")
        if len(parts) != 3:
            raise ProtocolError(400, "malformed request line")
        method, target, version = parts
        if not _TOKEN.match(method):
            raise ProtocolError(400, "malformed method")
        version_match = _VERSION.match(version)
        if not version_match:
            raise ProtocolError(400, "malformed HTTP version")
        if version_match.group(1) != b"1":
            raise ProtocolError(505, "only HTTP/1.x is supported")
        if not target or any(byte <= 0x20 or byte == 0x7f for byte in target):
            raise ProtocolError(400, "malformed request target")
        if not (target[:1] == b"/" or target[:7].lower() == b"http://"
                or target[:8].lower() == b"https://" or (target == b"*" and method == b"OPTIONS")):
            raise ProtocolError(400, "unsupported request target form")

        header_lines = lines[1:]
        if len(header_lines) > self.max_headers:
            raise ProtocolError(431, "too many header fields")
        headers: list[tuple[str, str]] = []
        for line in header_lines:
            name, colon, value = line.partition(b":")
            if not colon or not _TOKEN.match(name):
                # Also catches obs-fold (a line starting with whitespace): RFC 9112 5.2
                # lets a server reject it, and nobody sends it any more.
                raise ProtocolError(400, "malformed header field")
            value = value.strip(b" \t")
            if _BAD_VALUE.search(value):
                raise ProtocolError(400, "invalid character in header field")
            headers.append((name.decode("latin-1"), value.decode("latin-1")))

        # HTTP/1.2 and up would be compatible with 1.1 (RFC 9110 2.5): treat them as 1.1.
        version_text = "HTTP/1.0" if version_match.group(2) == b"0" else "HTTP/1.1"
        head = RequestHead(method.decode("ascii"), target, version_text, headers)
        self._apply_semantics(head)
        return head

    def _apply_semantics(self, head: RequestHead) -> None:
        """Framing, persistence and expectations, from the headers."""
        hosts, lengths, encodings, connection, expect = 0, [], [], [], None
        for name, value in head.headers:
            lower = name.lower()
            if lower == "host":
                hosts += 1
            elif lower == "content-length":
                lengths += [v.strip() for v in value.split(",")]
            elif lower == "transfer-encoding":
                encodings += [v.strip().lower() for v in value.split(",") if v.strip()]
            elif lower == "connection":
                connection += [v.strip().lower() for v in value.split(",")]
            elif lower == "expect":
                expect = value.strip().lower()
        http11 = head.version == "HTTP/1.1"
        if http11 and hosts != 1:
            raise ProtocolError(400, "HTTP/1.1 requests need exactly one Host header")
        if encodings:
            if not http11:
                raise ProtocolError(400, "Transfer-Encoding in an HTTP/1.0 request")
            if lengths:
                raise ProtocolError(400, "both Transfer-Encoding and Content-Length")
            if encodings[-1] != "chunked":
                raise ProtocolError(400, "the final transfer coding must be chunked")
            if encodings != ["chunked"]:
                raise ProtocolError(501, f"transfer coding {encodings[0]!r} not implemented")
            head.chunked = True
        elif lengths:
            if len(set(lengths)) != 1 or not lengths[0].isdigit() or len(lengths[0]) > 18:
                raise ProtocolError(400, "invalid Content-Length")
            head.content_length = int(lengths[0])
        if http11:
            head.keep_alive = "close" not in connection
        else:
            head.keep_alive = "keep-alive" in connection and "close" not in connection
        if expect is not None:
            if expect != "100-continue":
                raise ProtocolError(417, "only the 100-continue expectation is supported")
            head.expect_continue = http11

    # -- bodies ------------------------------------------------------------------------

    def _read_body(self):
        if not self._buffer:
            return NEED_DATA
        take = min(self._remaining, len(self._buffer))
        data = bytes(self._buffer[:take])
        del self._buffer[:take]
        self._remaining -= take
        if self._remaining == 0:
            self._state = _END
        return Data(data)

    def _read_chunked(self):
        buffer = self._buffer
        state = self._state
        if state == _CHUNK_HEADER:
            line_end = buffer.find(b"\n")
            if line_end < 0:
                if len(buffer) > 1024:
                    raise ProtocolError(400, "chunk header too long")
                return NEED_DATA
            line = bytes(buffer[:line_end]).rstrip(b"\r")
            match = _CHUNK_SIZE.match(line)
            if not match:
                raise ProtocolError(400, "malformed chunk size")
            del buffer[:line_end + 1]
            self._remaining = int(match.group(1), 16)
            self._state = _CHUNK_DATA if self._remaining else _TRAILERS
            self._trailers, self._trailer_bytes = [], 0
            return self.next_event()
        if state == _CHUNK_DATA:
            if not buffer:
                return NEED_DATA
            take = min(self._remaining, len(buffer))
            data = bytes(buffer[:take])
            del buffer[:take]
            self._remaining -= take
            if self._remaining == 0:
                self._state = _CHUNK_END
            return Data(data)
        if state == _CHUNK_END:
            if buffer[:2] == b"\r\n":
                del buffer[:2]
            elif buffer[:1] == b"\n":
                del buffer[:1]
            elif len(buffer) < 2 and buffer in (b"", b"\r"):
                return NEED_DATA
            else:
                raise ProtocolError(400, "chunk data not followed by CRLF")
            self._state = _CHUNK_HEADER
            return self.next_event()
        return self._read_trailers()

    def _read_trailers(self):
        """Trailer fields after the last chunk, up to an empty line; then EndOfMessage."""
        buffer = self._buffer
        while True:
            line_end = buffer.find(b"\n")
            if line_end < 0:
                if self._trailer_bytes + len(buffer) > self.max_header_size:
                    raise ProtocolError(431, "trailer section too large")
                return NEED_DATA
            line = bytes(buffer[:line_end]).rstrip(b"\r")
            del buffer[:line_end + 1]
            self._trailer_bytes += line_end + 1
            if self._trailer_bytes > self.max_header_size:
                raise ProtocolError(431, "trailer section too large")
            if not line:
                self._state = _HEAD
                return EndOfMessage(self._trailers)
            name, colon, value = line.partition(b":")
            if not colon or not _TOKEN.match(name):
                raise ProtocolError(400, "malformed trailer field")
            self._trailers.append((name.decode("latin-1"), value.strip().decode("latin-1")))
