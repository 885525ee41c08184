"""The PostgreSQL v3 wire format, sans-I/O: bytes in, message objects out (frontend),
and message objects to bytes (backend).

Framing: the first message of a connection has no type byte (int32 length including
itself, int32 code: 196608 for protocol 3.0 startup, 80877103 SSLRequest, 80877104
GSSENCRequest, 80877102 CancelRequest); every later message is a type byte, an int32
length including itself, and the body. Strings are NUL-terminated UTF-8.

`FrontendReader.feed(data)` buffers partial input; `read()` returns the next complete
message or None. Malformed input raises `ProtocolError` carrying the SQLSTATE to report
before closing (08P01 protocol_violation, 22021 for invalid UTF-8).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102
MAX_STARTUP_LENGTH = 10000          # as PostgreSQL's MAX_STARTUP_PACKET_LENGTH
MAX_MESSAGE_LENGTH = 1 << 30        # PostgreSQL refuses messages of 1 GB and more


class ProtocolError(Exception):
    def __init__(self, message: str, code: str = "08P01"):
        super().__init__(message)
        self.code = code
        self.message = message


# -- frontend messages ---------------------------------------------------------------------

@dataclass
class Startup:
    version: int
    params: dict


@dataclass
class SSLRequest:
    pass


@dataclass
class GSSENCRequest:
    pass


@dataclass
class CancelRequest:
    pid: int
    secret: int


@dataclass
class Query:
    sql: str


@dataclass
class Parse:
    name: str
    sql: str
    param_types: list[int]


@dataclass
class Bind:
    portal: str
    statement: str
    param_formats: list[int]
    params: list            # bytes or None each
    result_formats: list[int]


@dataclass
class Describe:
    kind: str               # 'S' statement or 'P' portal
    name: str


@dataclass
class Execute:
    portal: str
    max_rows: int


@dataclass
class Close:
    kind: str
    name: str


@dataclass
class Sync:
    pass


@dataclass
class Flush:
    pass


@dataclass
class Terminate:
    pass


@dataclass
class CopyData:
    data: bytes


@dataclass
class CopyDone:
    pass


@dataclass
class CopyFail:
    message: str


@dataclass
class PasswordData:
    """'p': a password, an MD5 response, or SASL data: its meaning depends on the
    authentication exchange in progress, so the body stays raw."""
    data: bytes


@dataclass
class FunctionCall:
    data: bytes = field(default=b"")


class _Body:
    """Cursor over one message body."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def int16(self) -> int:
        if self.pos + 2 > len(self.data):
            raise ProtocolError("invalid message format")
        (value,) = struct.unpack_from("!h", self.data, self.pos)
        self.pos += 2
        return value

    def int32(self) -> int:
        if self.pos + 4 > len(self.data):
            raise ProtocolError("invalid message format")
        (value,) = struct.unpack_from("!i", self.data, self.pos)
        self.pos += 4
        return value

    def uint32(self) -> int:
        if self.pos + 4 > len(self.data):
            raise ProtocolError("invalid message format")
        (value,) = struct.unpack_from("!I", self.data, self.pos)
        self.pos += 4
        return value

    def cstring(self) -> str:
        end = self.data.find(b"\x00", self.pos)
        if end < 0:
            raise ProtocolError("invalid string in message")
        raw = self.data[self.pos:end]
        self.pos = end + 1
        return decode_utf8(raw)

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ProtocolError("insufficient data left in message")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def rest(self) -> bytes:
        chunk = self.data[self.pos:]
        self.pos = len(self.data)
        return chunk

    def end(self) -> None:
        if self.pos != len(self.data):
            raise ProtocolError("invalid message format")


def decode_utf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start:exc.start + 2]
        shown = " ".join(f"0x{b:02x}" for b in bad)
        raise ProtocolError(f'invalid byte sequence for encoding "UTF8": {shown}', "22021") \
            from None


class FrontendReader:
    """Splits the client's byte stream into messages."""

    def __init__(self):
        self.buffer = bytearray()
        self.startup = True          # the next message is a startup-phase packet

    def feed(self, data: bytes) -> None:
        self.buffer += data

    def read(self):
        buf = self.buffer
        if self.startup:
            if len(buf) < 4:
                return None
            (length,) = struct.unpack_from("!i", buf, 0)
            if length < 8 or length > MAX_STARTUP_LENGTH:
                raise ProtocolError("invalid length of startup packet")
            if len(buf) < length:
                return None
            body = bytes(buf[4:length])
            del buf[:length]
            return self._startup(body)
        if len(buf) < 5:
            return None
        kind = buf[0]
        (length,) = struct.unpack_from("!i", buf, 1)
        if length < 4:
            raise ProtocolError(f"invalid message length {length}")
        if length >= MAX_MESSAGE_LENGTH:
            raise ProtocolError(f"invalid message length {length}", "54000")
        if len(buf) < 1 + length:
            return None
        body = bytes(buf[5:1 + length])
        del buf[:1 + length]
        return self._message(chr(kind), body)

    def _startup(self, body: bytes):
        b = _Body(body)
        code = b.int32()
        if code == SSL_REQUEST:
            return SSLRequest()
        if code == GSSENC_REQUEST:
            return GSSENCRequest()
        if code == CANCEL_REQUEST:
            return CancelRequest(b.int32(), b.int32())
        if code >> 16 != 3:
            raise ProtocolError(f"unsupported frontend protocol {code >> 16}.{code & 0xFFFF}: "
                                "server supports 3.0 to 3.0", "0A000")
        params = {}
        while True:
            name = b.cstring()
            if not name:
                break
            params[name] = b.cstring()
        self.startup = False
        return Startup(code, params)

    def _message(self, kind: str, body: bytes):
        b = _Body(body)
        if kind == "Q":
            sql = b.cstring()
            return Query(sql)
        if kind == "P":
            name = b.cstring()
            sql = b.cstring()
            count = b.int16()
            if count < 0:
                raise ProtocolError("invalid message format")
            types = [b.uint32() for _ in range(count)]
            return Parse(name, sql, types)
        if kind == "B":
            return _bind(b)
        if kind == "D":
            which = chr(b.take(1)[0])
            name = b.cstring()
            if which not in "SP":
                raise ProtocolError(f"invalid DESCRIBE message subtype {ord(which)}")
            return Describe(which, name)
        if kind == "E":
            portal = b.cstring()
            return Execute(portal, b.int32())
        if kind == "C":
            which = chr(b.take(1)[0])
            name = b.cstring()
            if which not in "SP":
                raise ProtocolError(f"invalid CLOSE message subtype {ord(which)}")
            return Close(which, name)
        if kind == "S":
            return Sync()
        if kind == "H":
            return Flush()
        if kind == "X":
            return Terminate()
        if kind == "d":
            return CopyData(body)
        if kind == "c":
            return CopyDone()
        if kind == "f":
            return CopyFail(b.cstring())
        if kind == "p":
            return PasswordData(body)
        if kind == "F":
            return FunctionCall(body)
        raise ProtocolError(f"invalid frontend message type {ord(kind)}")


def _bind(b: _Body) -> Bind:
    """Bind, decoded with direct struct calls: it is the one message sent per row by
    executemany, so it is worth the less pretty code."""
    portal = b.cstring()
    statement = b.cstring()
    data, pos = b.data, b.pos
    try:
        (nformats,) = unpack_from("!h", data, pos)
        formats = list(unpack_from(f"!{nformats}h", data, pos + 2))
        pos += 2 + 2 * nformats
        (nparams,) = unpack_from("!h", data, pos)
        pos += 2
        if nformats < 0 or nparams < 0:
            raise ProtocolError("invalid message format")
        params = []
        for _ in range(nparams):
            (size,) = unpack_from("!i", data, pos)
            pos += 4
            if size == -1:
                params.append(None)
                continue
            if size < 0 or pos + size > len(data):
                raise ProtocolError("insufficient data left in message")
            params.append(data[pos:pos + size])
            pos += size
        (nresults,) = unpack_from("!h", data, pos)
        results = list(unpack_from(f"!{nresults}h", data, pos + 2))
        pos += 2 + 2 * nresults
    except struct.error:
        raise ProtocolError("invalid message format") from None
    if nresults < 0 or pos != len(data):
        raise ProtocolError("invalid message format")
    return Bind(portal, statement, formats, params, results)


unpack_from = struct.unpack_from


# -- backend messages ----------------------------------------------------------------------

def _msg(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("!i", len(body) + 4) + body


def _cstr(text: str) -> bytes:
    return text.encode() + b"\x00"


def auth_ok() -> bytes:
    return _msg(b"R", struct.pack("!i", 0))


def auth_cleartext() -> bytes:
    return _msg(b"R", struct.pack("!i", 3))


def auth_md5(salt: bytes) -> bytes:
    return _msg(b"R", struct.pack("!i", 5) + salt)


def auth_sasl(mechanisms: list[str]) -> bytes:
    return _msg(b"R", struct.pack("!i", 10) + b"".join(_cstr(m) for m in mechanisms) + b"\x00")


def auth_sasl_continue(data: bytes) -> bytes:
    return _msg(b"R", struct.pack("!i", 11) + data)


def auth_sasl_final(data: bytes) -> bytes:
    return _msg(b"R", struct.pack("!i", 12) + data)


def notification(pid: int, channel: str, payload: str) -> bytes:
    return _msg(b"A", struct.pack("!i", pid) + _cstr(channel) + _cstr(payload))


def parameter_status(name: str, value: str) -> bytes:
    return _msg(b"S", _cstr(name) + _cstr(value))


def backend_key_data(pid: int, secret: int) -> bytes:
    return _msg(b"K", struct.pack("!ii", pid, secret))


def ready_for_query(status: str) -> bytes:
    return _msg(b"Z", status.encode())


def row_description(fields: list[tuple[str, int, int, int, int]]) -> bytes:
    """fields: (name, type oid, type size, type modifier, format)."""
    parts = [struct.pack("!h", len(fields))]
    for name, oid, size, typmod, fmt in fields:
        parts.append(_cstr(name) + struct.pack("!ihihih", 0, 0, oid, size, typmod, fmt))
    return _msg(b"T", b"".join(parts))


def data_row(values: list) -> bytes:
    """values: encoded bytes or None for NULL."""
    parts = [struct.pack("!h", len(values))]
    for v in values:
        if v is None:
            parts.append(b"\xff\xff\xff\xff")
        else:
            parts.append(struct.pack("!i", len(v)))
            parts.append(v)
    body = b"".join(parts)
    return b"D" + struct.pack("!i", len(body) + 4) + body


def command_complete(tag: str) -> bytes:
    return _msg(b"C", _cstr(tag))


def empty_query_response() -> bytes:
    return _msg(b"I", b"")


def parse_complete() -> bytes:
    return _msg(b"1", b"")


def bind_complete() -> bytes:
    return _msg(b"2", b"")


def close_complete() -> bytes:
    return _msg(b"3", b"")


def no_data() -> bytes:
    return _msg(b"n", b"")


def portal_suspended() -> bytes:
    return _msg(b"s", b"")


def parameter_description(oids: list[int]) -> bytes:
    return _msg(b"t", struct.pack("!h", len(oids)) + b"".join(struct.pack("!I", o) for o in oids))


def copy_in_response(ncolumns: int, binary: bool = False) -> bytes:
    fmt = 1 if binary else 0
    return _msg(b"G", struct.pack("!bh", fmt, ncolumns) + struct.pack("!h", fmt) * ncolumns)


def copy_out_response(ncolumns: int, binary: bool = False) -> bytes:
    fmt = 1 if binary else 0
    return _msg(b"H", struct.pack("!bh", fmt, ncolumns) + struct.pack("!h", fmt) * ncolumns)


def copy_data(data: bytes) -> bytes:
    return _msg(b"d", data)


def copy_done() -> bytes:
    return _msg(b"c", b"")


def _fields(severity: str, code: str, message: str, detail=None, hint=None, position=None,
            extra: dict | None = None) -> bytes:
    parts = [b"S" + _cstr(severity), b"V" + _cstr(severity), b"C" + _cstr(code),
             b"M" + _cstr(message)]
    if detail:
        parts.append(b"D" + _cstr(detail))
    if hint:
        parts.append(b"H" + _cstr(hint))
    if position:
        parts.append(b"P" + _cstr(str(position)))
    for key, letter in (("schema_name", b"s"), ("table_name", b"t"), ("column_name", b"c"),
                        ("constraint_name", b"n")):
        if extra and extra.get(key):
            parts.append(letter + _cstr(extra[key]))
    parts.append(b"\x00")
    return b"".join(parts)


def error_response(severity: str, code: str, message: str, detail=None, hint=None,
                   position=None, extra=None) -> bytes:
    return _msg(b"E", _fields(severity, code, message, detail, hint, position, extra))


def notice_response(message: str, code: str = "00000", severity: str = "NOTICE",
                    detail=None, hint=None) -> bytes:
    return _msg(b"N", _fields(severity, code, message, detail, hint))
