"""BSON, the binary document format of MongoDB (bsonspec.org): bytes <-> Python values.

Sans-I/O: `encode(document) -> bytes` and `decode(data) -> dict`. Every length in the
input is checked before it is trusted, so truncated data, lying lengths and garbage
raise `BSONError` and never crash or allocate what the length claims.

How BSON types map to Python values:

    0x01 double      float             0x0B regex       Regex
    0x02 string      str               0x10 int32       int
    0x03 document    dict              0x11 timestamp   Timestamp
    0x04 array       list              0x12 int64       Int64 (an int subclass)
    0x05 binary      bytes (subtype 0) / Binary         0x13 decimal128  Decimal128
    0x07 ObjectId    ObjectId          0xFF minKey      MIN_KEY
    0x08 bool        bool              0x7F maxKey      MAX_KEY
    0x09 UTC date    datetime (aware, UTC, millisecond precision)
    0x0A null        None

Encoding a plain `int` picks int32 when it fits, else int64; `Int64` always encodes as
int64, so an int64 read from a client goes back as an int64.
"""

from __future__ import annotations

import datetime
import decimal
import itertools
import os
import struct
import threading
import time

MAX_DOCUMENT_SIZE = 16 * 1024 * 1024


class BSONError(ValueError):
    """The bytes are not valid BSON, or a value cannot be encoded."""


# -- the value types that Python lacks -----------------------------------------------------


class Int64(int):
    """An integer that stays a BSON int64 (type 0x12) when encoded again."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Int64({int(self)})"


class ObjectId:
    """A 12-byte identifier: 4-byte big-endian seconds, 5 random bytes per process,
    3-byte counter. Generated ids sort by creation time."""

    __slots__ = ("binary",)
    _random = os.urandom(5)
    _pid = os.getpid()
    _counter = itertools.count(int.from_bytes(os.urandom(3), "big"))
    _lock = threading.Lock()

    def __init__(self, value: bytes | str | None = None):
        if value is None:
            value = self._generate()
        elif isinstance(value, str):
            try:
                value = bytes.fromhex(value)
            except ValueError:
                raise BSONError(f"{value!r} is not a valid ObjectId") from None
        if not isinstance(value, (bytes, bytearray)) or len(value) != 12:
            raise BSONError(f"an ObjectId is 12 bytes, got {value!r}")
        self.binary = bytes(value)

    @classmethod
    def _generate(cls) -> bytes:
        if os.getpid() != cls._pid:              # a forked child needs its own random part
            cls._pid, cls._random = os.getpid(), os.urandom(5)
        with cls._lock:
            counter = next(cls._counter) & 0xFFFFFF
        return struct.pack(">I", int(time.time()) & 0xFFFFFFFF) + cls._random + \
            counter.to_bytes(3, "big")

    @staticmethod
    def is_valid(text: str) -> bool:
        return isinstance(text, str) and len(text) == 24 and \
            all(c in "0123456789abcdefABCDEF" for c in text)

    @property
    def generation_time(self) -> datetime.datetime:
        seconds = struct.unpack(">I", self.binary[:4])[0]
        return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)

    def __str__(self) -> str:
        return self.binary.hex()

    def __repr__(self) -> str:
        return f"ObjectId('{self.binary.hex()}')"

    def __eq__(self, other) -> bool:
        return isinstance(other, ObjectId) and other.binary == self.binary

    def __lt__(self, other: "ObjectId") -> bool:
        return self.binary < other.binary

    def __hash__(self) -> int:
        return hash(self.binary)


class Binary(bytes):
    """Binary data with a subtype other than 0 (4 is a UUID, 3 an old-style UUID...)."""

    def __new__(cls, data: bytes, subtype: int = 0):
        self = super().__new__(cls, data)
        self.subtype = subtype
        return self

    def __repr__(self) -> str:
        return f"Binary({bytes(self)!r}, {self.subtype})"

    def __eq__(self, other) -> bool:
        return isinstance(other, bytes) and bytes(self) == bytes(other) and \
            self.subtype == getattr(other, "subtype", 0)

    def __hash__(self) -> int:
        return hash((bytes(self), self.subtype))


class Regex:
    """A regular expression as stored: a pattern and option letters (imsx...)."""

    __slots__ = ("pattern", "flags")

    def __init__(self, pattern: str, flags: str = ""):
        self.pattern = pattern
        self.flags = "".join(sorted(flags))

    def __eq__(self, other) -> bool:
        return isinstance(other, Regex) and (self.pattern, self.flags) == (other.pattern, other.flags)

    def __hash__(self) -> int:
        return hash((self.pattern, self.flags))

    def __repr__(self) -> str:
        return f"Regex({self.pattern!r}, {self.flags!r})"


class Timestamp:
    """An internal MongoDB timestamp: seconds and an increment (ordinal within a second)."""

    __slots__ = ("time", "inc")

    def __init__(self, time: int, inc: int):
        self.time, self.inc = time, inc

    def __eq__(self, other) -> bool:
        return isinstance(other, Timestamp) and (self.time, self.inc) == (other.time, other.inc)

    def __hash__(self) -> int:
        return hash((self.time, self.inc))

    def __repr__(self) -> str:
        return f"Timestamp({self.time}, {self.inc})"


class Decimal128:
    """An IEEE 754-2008 128-bit decimal, kept as its 16 bytes; `.to_decimal()` for maths."""

    __slots__ = ("bid",)

    _BIAS = 6176
    _CONTEXT = decimal.Context(prec=34, Emin=-6143, Emax=6144, clamp=1,
                               traps=[decimal.InvalidOperation, decimal.Overflow,
                                      decimal.Inexact])

    def __init__(self, value):
        if isinstance(value, bytes):
            if len(value) != 16:
                raise BSONError("a decimal128 is 16 bytes")
            self.bid = value
        else:
            self.bid = self._encode(decimal.Decimal(value) if not isinstance(value, decimal.Decimal)
                                    else value)

    @classmethod
    def _encode(cls, value: decimal.Decimal) -> bytes:
        if value.is_nan():
            high = 0x7C00000000000000
            low = 0
        elif value.is_infinite():
            high = 0x7800000000000000 | (1 << 63 if value.is_signed() else 0)
            low = 0
        else:
            try:
                value = cls._CONTEXT.create_decimal(value)
            except (decimal.Inexact, decimal.InvalidOperation, decimal.Overflow):
                raise BSONError(f"{value} does not fit in a decimal128") from None
            sign, digits, exponent = value.as_tuple()
            coefficient = int("".join(map(str, digits)) or "0")
            biased = exponent + cls._BIAS
            if not 0 <= biased < 1 << 14 or coefficient >= 1 << 113:
                raise BSONError(f"{value} does not fit in a decimal128")
            high = (sign << 63) | (biased << 49) | (coefficient >> 64)
            low = coefficient & 0xFFFFFFFFFFFFFFFF
        return struct.pack("<QQ", low, high)

    def to_decimal(self) -> decimal.Decimal:
        low, high = struct.unpack("<QQ", self.bid)
        sign = high >> 63
        if (high >> 58) & 0x1F == 0x1F:
            return decimal.Decimal("NaN")
        if (high >> 58) & 0x1F == 0x1E:
            return decimal.Decimal("-Infinity" if sign else "Infinity")
        if (high >> 61) & 0x3 == 0x3:                # the "large coefficient" form: never canonical
            exponent = (high >> 47) & 0x3FFF
            coefficient = 0                           # non-canonical coefficients are zero
        else:
            exponent = (high >> 49) & 0x3FFF
            coefficient = ((high & 0x1FFFFFFFFFFFF) << 64) | low
            if coefficient > 9999999999999999999999999999999999:
                coefficient = 0
        digits = tuple(int(d) for d in str(coefficient))
        return decimal.Decimal((sign, digits, exponent - self._BIAS))

    def __eq__(self, other) -> bool:
        return isinstance(other, Decimal128) and self.bid == other.bid

    def __hash__(self) -> int:
        return hash(self.bid)

    def __str__(self) -> str:
        return str(self.to_decimal())

    def __repr__(self) -> str:
        return f"Decimal128('{self}')"


class RawDocument(bytes):
    """A document already encoded as BSON, embedded verbatim when encoded again (so a
    document encoded once can go into a journal record without a second encoding)."""

    __slots__ = ()


class _Bound:
    """MinKey and MaxKey: smaller / greater than every other value."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name

    def __reduce__(self):
        return self.name


MIN_KEY = _Bound("MIN_KEY")
MAX_KEY = _Bound("MAX_KEY")

UTC = datetime.timezone.utc
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=UTC)


def datetime_from_millis(millis: int) -> datetime.datetime:
    try:
        return EPOCH + datetime.timedelta(milliseconds=millis)
    except OverflowError:
        raise BSONError(f"date {millis} ms is outside the range this server represents") from None


def millis_from_datetime(value: datetime.datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - EPOCH
    return (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000


# -- decoding ----------------------------------------------------------------------------

_int32 = struct.Struct("<i")
_uint32 = struct.Struct("<I")
_int64 = struct.Struct("<q")
_double = struct.Struct("<d")
_uint64 = struct.Struct("<Q")


def decode(data: bytes | memoryview) -> dict:
    """One BSON document, exactly filling `data`."""
    data = bytes(data)
    document, end = _decode_document(data, 0, len(data), 0)
    if end != len(data):
        raise BSONError(f"{len(data) - end} bytes after the end of the document")
    return document


def decode_all(data: bytes) -> list[dict]:
    """A sequence of BSON documents laid end to end."""
    data = bytes(data)
    documents, position = [], 0
    while position < len(data):
        document, position = _decode_document(data, position, len(data), 0)
        documents.append(document)
    return documents


def document_length(data: bytes, position: int, limit: int) -> int:
    """The declared length of the document at `position`, checked against the space left."""
    if limit - position < 5:
        raise BSONError("truncated document")
    length = _int32.unpack_from(data, position)[0]
    if length < 5 or position + length > limit:
        raise BSONError(f"bad document length {length}")
    return length


def _cstring(data: bytes, position: int, end: int) -> tuple[str, int]:
    nul = data.find(b"\x00", position, end)
    if nul < 0:
        raise BSONError("unterminated key or cstring")
    try:
        return data[position:nul].decode("utf-8"), nul + 1
    except UnicodeDecodeError:
        raise BSONError("invalid UTF-8 in a key or cstring") from None


MAX_DEPTH = 200          # deeper nesting is refused rather than exhausting the stack


def _decode_document(data: bytes, position: int, limit: int, depth: int,
                     as_array: bool = False):
    if depth > MAX_DEPTH:
        raise BSONError("documents nested too deeply")
    length = document_length(data, position, limit)
    end = position + length - 1                  # the closing NUL
    if data[end] != 0:
        raise BSONError("document does not end with a NUL byte")
    position += 4
    out = [] if as_array else {}
    while position < end:
        kind = data[position]
        key, position = _cstring(data, position + 1, end)
        value, position = _decode_value(kind, data, position, end, depth)
        if as_array:
            out.append(value)
        else:
            out[key] = value
    if position != end:
        raise BSONError("element overruns its document")
    return out, end + 1


def _decode_value(kind: int, data: bytes, position: int, end: int, depth: int):
    if kind == 0x02:                            # string: int32 length (with NUL), bytes, NUL
        if end - position < 4:
            raise BSONError("truncated string")
        size = _int32.unpack_from(data, position)[0]
        start = position + 4
        if size < 1 or start + size > end or data[start + size - 1] != 0:
            raise BSONError("bad string length")
        try:
            return data[start:start + size - 1].decode("utf-8"), start + size
        except UnicodeDecodeError:
            raise BSONError("invalid UTF-8 in a string") from None
    if kind == 0x10:
        if end - position < 4:
            raise BSONError("truncated int32")
        return _int32.unpack_from(data, position)[0], position + 4
    if kind == 0x01:
        if end - position < 8:
            raise BSONError("truncated double")
        return _double.unpack_from(data, position)[0], position + 8
    if kind == 0x03:
        return _decode_document(data, position, end, depth + 1)
    if kind == 0x04:
        return _decode_document(data, position, end, depth + 1, as_array=True)
    if kind == 0x07:
        if end - position < 12:
            raise BSONError("truncated ObjectId")
        return ObjectId(data[position:position + 12]), position + 12
    if kind == 0x08:
        if end - position < 1 or data[position] > 1:
            raise BSONError("bad boolean")
        return data[position] == 1, position + 1
    if kind == 0x12:
        if end - position < 8:
            raise BSONError("truncated int64")
        return Int64(_int64.unpack_from(data, position)[0]), position + 8
    if kind == 0x0A:
        return None, position
    if kind == 0x09:
        if end - position < 8:
            raise BSONError("truncated date")
        return datetime_from_millis(_int64.unpack_from(data, position)[0]), position + 8
    if kind == 0x05:
        if end - position < 5:
            raise BSONError("truncated binary")
        size = _int32.unpack_from(data, position)[0]
        subtype = data[position + 4]
        start = position + 5
        if size < 0 or start + size > end:
            raise BSONError("bad binary length")
        payload = data[start:start + size]
        if subtype == 2:                        # the old binary subtype nests a length
            if size < 4 or _int32.unpack_from(payload, 0)[0] != size - 4:
                raise BSONError("bad old-style binary length")
            payload = payload[4:]
        return (payload if subtype == 0 else Binary(payload, subtype)), start + size
    if kind == 0x0B:
        pattern, position = _cstring(data, position, end)
        flags, position = _cstring(data, position, end)
        return Regex(pattern, flags), position
    if kind == 0x11:
        if end - position < 8:
            raise BSONError("truncated timestamp")
        inc, seconds = struct.unpack_from("<II", data, position)
        return Timestamp(seconds, inc), position + 8
    if kind == 0x13:
        if end - position < 16:
            raise BSONError("truncated decimal128")
        return Decimal128(data[position:position + 16]), position + 16
    if kind == 0xFF:
        return MIN_KEY, position
    if kind == 0x7F:
        return MAX_KEY, position
    if kind == 0x06:                            # undefined (deprecated): read as null
        return None, position
    if kind == 0x0E:                            # symbol (deprecated): read as a string
        return _decode_value(0x02, data, position, end, depth)
    raise BSONError(f"unsupported BSON type 0x{kind:02x}")


# -- encoding ----------------------------------------------------------------------------


def encode(document: dict) -> bytes:
    """A dict (keys are strings) as one BSON document."""
    if not isinstance(document, dict):
        raise BSONError(f"cannot encode {type(document).__name__} as a document")
    out = bytearray()
    _encode_document(out, document, 0)
    return bytes(out)


def _encode_document(out: bytearray, document, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise BSONError("documents nested too deeply")
    start = len(out)
    out += b"\x00\x00\x00\x00"
    items = document.items() if isinstance(document, dict) else \
        ((str(i), v) for i, v in enumerate(document))
    for key, value in items:
        name = _KEY_NAMES.get(key)
        if name is None:
            name = _key_name(key)
        _encode_element(out, name, value, depth)
    out.append(0)
    out[start:start + 4] = _int32.pack(len(out) - start)


# Field names repeat from document to document: their encoded form is kept (a few
# thousand at most) rather than encoded and checked again every time.
_KEY_NAMES: dict[str, bytes] = {}


def _key_name(key) -> bytes:
    if not isinstance(key, str):
        raise BSONError(f"document keys must be strings, not {type(key).__name__}")
    name = key.encode("utf-8")
    if b"\x00" in name:
        raise BSONError(f"key {key!r} contains a NUL byte")
    if len(_KEY_NAMES) < 4096:
        _KEY_NAMES[key] = name
    return name


def _encode_element(out: bytearray, name: bytes, value, depth: int) -> None:
    kind = type(value)
    if kind is str:
        raw = value.encode("utf-8")
        out += b"\x02" + name + b"\x00" + _int32.pack(len(raw) + 1) + raw + b"\x00"
    elif kind is int or kind is Int64:
        if kind is int and -0x80000000 <= value <= 0x7FFFFFFF:
            out += b"\x10" + name + b"\x00" + _int32.pack(value)
        elif -0x8000000000000000 <= value <= 0x7FFFFFFFFFFFFFFF:
            out += b"\x12" + name + b"\x00" + _int64.pack(value)
        else:
            raise BSONError(f"integer {value} does not fit in 64 bits")
    elif kind is float:
        out += b"\x01" + name + b"\x00" + _double.pack(value)
    elif kind is dict or isinstance(value, dict):
        out += b"\x03" + name + b"\x00"
        _encode_document(out, value, depth + 1)
    elif kind is list or kind is tuple:
        out += b"\x04" + name + b"\x00"
        _encode_document(out, value, depth + 1)
    elif kind is RawDocument:
        out += b"\x03" + name + b"\x00" + value
    elif kind is bool:
        out += b"\x08" + name + b"\x00" + (b"\x01" if value else b"\x00")
    elif value is None:
        out += b"\x0A" + name + b"\x00"
    elif kind is ObjectId:
        out += b"\x07" + name + b"\x00" + value.binary
    elif kind is datetime.datetime:
        out += b"\x09" + name + b"\x00" + _int64.pack(millis_from_datetime(value))
    elif kind is bytes or kind is bytearray or kind is Binary:
        subtype = value.subtype if kind is Binary else 0
        payload = _int32.pack(len(value)) + value if subtype == 2 else value   # old binary
        out += b"\x05" + name + b"\x00" + _int32.pack(len(payload)) + bytes((subtype,)) + payload
    elif kind is Regex:
        out += b"\x0B" + name + b"\x00" + _cstring_bytes(value.pattern) + _cstring_bytes(value.flags)
    elif kind is Timestamp:
        out += b"\x11" + name + b"\x00" + struct.pack("<II", value.inc, value.time)
    elif kind is Decimal128:
        out += b"\x13" + name + b"\x00" + value.bid
    elif kind is decimal.Decimal:
        out += b"\x13" + name + b"\x00" + Decimal128(value).bid
    elif value is MIN_KEY:
        out += b"\xFF" + name + b"\x00"
    elif value is MAX_KEY:
        out += b"\x7F" + name + b"\x00"
    else:
        raise BSONError(f"cannot encode a {kind.__name__} in BSON")


def _cstring_bytes(text: str) -> bytes:
    raw = text.encode("utf-8")
    if b"\x00" in raw:
        raise BSONError("a cstring may not contain a NUL byte")
    return raw + b"\x00"

