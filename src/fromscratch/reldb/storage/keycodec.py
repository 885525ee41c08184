"""Index keys as byte strings that sort the way SQL sorts the values.

A B+tree then only ever compares bytes (in C, through `bisect`), and the same code
serves every column type, multi-column keys and DESC columns:

* each column's value becomes `marker + payload`: marker 0x01 for a value, 0x02 for
  NULL, so NULLs sort after every value (PostgreSQL's NULLS LAST for ascending order);
* a DESC column has all the bytes of its part inverted (b -> 255 - b): the order flips,
  and NULLs come first, as PostgreSQL does for DESC;
* every payload is self-delimiting (fixed width, or terminated), so no key is a prefix of
  another: the entries of one key are exactly those starting with its bytes, and the
  entries whose first column equals v are exactly those starting with v's part.

Payloads, by the Python class of the value:

    int          8 bytes big-endian, sign bit flipped
    float        IEEE 754 big-endian; sign bit flipped if positive, all bits if negative
                 (-0.0 is 0.0; NaN sorts after +Infinity, as in PostgreSQL)
    Decimal      class byte (-inf, negative, zero, positive, +inf, NaN), then for a
                 nonzero value its exponent (8 bytes) and its digits, ended by 0x00;
                 inverted for negatives. Trailing zeros are dropped: 1.0 and 1.00 are
                 one key, as they are equal in SQL
    str, bytes   the bytes (UTF-8 for str) with 0x00 escaped as 0x00 0xFF, ended by
                 0x00 0x01: byte order, which is the C collation's order
    bool         0x00 / 0x01
    date         the ordinal, as int
    datetime     microseconds since 0001-01-01 (UTC for aware values), as int
    time         microseconds since midnight (adjusted to UTC for time with time zone)
    Interval     its comparison key (a month is 30 days), as int
    UUID         its 16 bytes
    EnumValue    its position in the type, as u16
    list, tuple  each element as marker + payload, then 0x00 (a shorter array sorts
                 first, as in PostgreSQL)
    dict, JSON   the canonical JSON text as str: equal documents, equal keys (jsonb has
                 no useful range order, so the planner uses such indexes for equality)

A leaf entry is the key followed by the 6-byte tuple id of the row version it points
at: entries are all distinct, and removing one is a plain search.
"""

from __future__ import annotations

import datetime as dt
import json
import struct
import uuid
from decimal import Decimal

from ..types import JSON_NULL, EnumValue, Interval, Record

VALUE = b"\x01"
NULL = b"\x02"
TID_SIZE = 6

_INVERT = bytes(range(255, -1, -1))
_F64 = struct.Struct(">d")
_U64 = struct.Struct(">Q")
_SIGN = 1 << 63
_EPOCH = dt.datetime(1, 1, 1)
_EPOCH_UTC = dt.datetime(1, 1, 1, tzinfo=dt.timezone.utc)


def encode_key(values: tuple, descending: tuple[bool, ...] | None = None) -> bytes:
    if descending is None:
        return b"".join([VALUE + _PAYLOAD[v.__class__](v) if v is not None else NULL
                         for v in values])
    parts = []
    for value, desc in zip(values, descending):
        part = VALUE + _PAYLOAD[value.__class__](value) if value is not None else NULL
        parts.append(part.translate(_INVERT) if desc else part)
    return b"".join(parts)


def encode_tid(tid: int) -> bytes:
    return tid.to_bytes(TID_SIZE, "big")


def decode_tid(entry: bytes) -> int:
    return int.from_bytes(entry[-TID_SIZE:], "big")


def successor(prefix: bytes) -> bytes | None:
    """The smallest byte string greater than every string that starts with `prefix`
    (None when there is none: the prefix is all 0xFF)."""
    trimmed = prefix.rstrip(b"\xff")
    if not trimmed:
        return None
    return trimmed[:-1] + bytes((trimmed[-1] + 1,))


# -- payloads ------------------------------------------------------------------------------

def _int(v: int) -> bytes:
    # Column values fit 64 bits; the planner drops lookup keys out of a column's range.
    return _U64.pack(v + _SIGN)


def _float(v: float) -> bytes:
    if v == 0.0:
        v = 0.0
    elif v != v:
        v = float("nan")
    bits = _U64.unpack(_F64.pack(v))[0]
    bits = bits ^ 0xFFFFFFFFFFFFFFFF if bits & _SIGN else bits | _SIGN
    return _U64.pack(bits)


def _decimal(v: Decimal) -> bytes:
    if v.is_nan():
        return b"\x05"
    if v.is_infinite():
        return b"\x04" if v > 0 else b"\x00"
    sign, digits, exponent = v.as_tuple()
    digits = list(digits)
    while digits and digits[-1] == 0:
        digits.pop()
        exponent += 1
    start = 0
    while start < len(digits) and digits[start] == 0:
        start += 1
    digits = digits[start:]
    if not digits:
        return b"\x02"
    # The value is 0.d1d2d3... x 10^magnitude with d1 nonzero.
    magnitude = len(digits) + exponent
    body = _int(magnitude) + bytes(48 + d for d in digits) + b"\x00"
    return b"\x01" + body.translate(_INVERT) if sign else b"\x03" + body


def _text(v: str) -> bytes:
    return _bytes(v.encode("utf-8", "surrogatepass"))


def _bytes(v: bytes) -> bytes:
    return bytes(v).replace(b"\x00", b"\x00\xff") + b"\x00\x01"


def _bool(v: bool) -> bytes:
    return b"\x01" if v else b"\x00"


def _date(v: dt.date) -> bytes:
    return _int(v.toordinal())


def _datetime(v: dt.datetime) -> bytes:
    delta = v - (_EPOCH if v.tzinfo is None else _EPOCH_UTC)
    return _int((delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds)


def _time(v: dt.time) -> bytes:
    micros = ((v.hour * 60 + v.minute) * 60 + v.second) * 1_000_000 + v.microsecond
    if v.tzinfo is not None:
        offset = v.utcoffset()
        micros -= (offset.days * 86400 + offset.seconds) * 1_000_000
    return _int(micros)


def _interval(v: Interval) -> bytes:
    return _int(v._key())


def _uuid(v: uuid.UUID) -> bytes:
    return v.bytes


def _enum(v: EnumValue) -> bytes:
    return v.position.to_bytes(2, "big")


def _sequence(v) -> bytes:
    return b"".join([VALUE + _PAYLOAD[item.__class__](item) if item is not None else NULL
                     for item in v]) + b"\x00"


def _json(v) -> bytes:
    return _text(json.dumps(v, sort_keys=True, separators=(",", ":"), default=str))


def _json_null(v) -> bytes:
    return b"\x00"


_PAYLOAD = {
    int: _int, float: _float, Decimal: _decimal, str: _text, bytes: _bytes, bool: _bool,
    dt.date: _date, dt.datetime: _datetime, dt.time: _time, Interval: _interval,
    uuid.UUID: _uuid, EnumValue: _enum, list: _sequence, tuple: _sequence,
    Record: _sequence, dict: _json, type(JSON_NULL): _json_null,
}
