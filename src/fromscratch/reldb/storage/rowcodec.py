"""Rows to bytes and back: the format of a heap tuple's data.

A row is a tuple of Python values (types.py lists which Python type holds which SQL
type). On a page it is a count followed by one tagged value per column:

    row   := count:u16 value*
    value := tag:u8 payload

    tag  payload                                   Python value
    0    -                                         None (SQL NULL)
    1/2  -                                         False / True
    3    i64                                       int (any int that fits 64 bits)
    4    len:u8 two's-complement bytes             int (wider)
    5    f64                                       float
    6    len text(utf-8)                           str
    7    len bytes                                 bytes
    8    len ascii                                 Decimal (its str(): keeps the scale)
    9    i32 ordinal                               date
    10   i64 microseconds since 0001-01-01         naive datetime (timestamp)
    11   i64 microseconds since 0001-01-01 UTC     aware datetime (timestamptz)
    12   i64 microseconds since midnight           naive time
    13   i64 microseconds, i32 utc offset seconds  time with time zone
    14   i32 months, i32 days, i64 microseconds    Interval
    15   16 bytes                                  UUID
    16   count:u32 value*                          list (arrays, JSON arrays)
    17   count:u32 value*                          tuple (records)
    18   count:u32 (len key-text, value)*          dict (JSON objects)
    19   -                                         JSON_NULL (a jsonb null at the top)
    20   position:u16 len label                    EnumValue
    21   len text(utf-8)                           a str that is not valid UTF-8 alone
                                                   (lone surrogates), kept exactly
    22   len zlib(value)                           any value, compressed (below)

Lengths (`len`) are one byte below 255, else 255 and a u32. Every value carries its own
tag, so a row decodes without knowing its table's column types: the catalog can change
a column's type (rewriting the rows) without the storage keeping type metadata.

A row too big for a page is encoded again with `compress=True`: each value whose
encoding is over COMPRESS_MIN bytes and shrinks under zlib is stored as tag 22 and its
compressed encoding (PostgreSQL compresses such values too, before moving them out of
line; we have no out-of-line storage, so a row still too big is refused).
"""

from __future__ import annotations

import datetime as dt
import struct
import uuid
import zlib
from decimal import Decimal

from ..types import JSON_NULL, EnumValue, Interval, Record

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
_I64 = struct.Struct("<q")
_F64 = struct.Struct("<d")
_I32I32I64 = struct.Struct("<iiq")
_I64I32 = struct.Struct("<qi")

_EPOCH = dt.datetime(1, 1, 1)
_EPOCH_UTC = dt.datetime(1, 1, 1, tzinfo=dt.timezone.utc)
_UTC = dt.timezone.utc
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


def _length(n: int) -> bytes:
    return bytes((n,)) if n < 255 else b"\xff" + _U32.pack(n)


def _micros(delta: dt.timedelta) -> int:
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


# -- encoding ------------------------------------------------------------------------------

COMPRESS_MIN = 256


def encode_row(row: tuple, compress: bool = False) -> bytes:
    out = [_U16.pack(len(row))]
    if not compress:
        for value in row:
            _ENCODERS[value.__class__](out, value)
        return b"".join(out)
    for value in row:
        parts = []
        _ENCODERS[value.__class__](parts, value)
        encoded = b"".join(parts)
        if len(encoded) > COMPRESS_MIN:
            packed = zlib.compress(encoded)
            if len(packed) + 5 < len(encoded):
                encoded = b"\x16" + _length(len(packed)) + packed
        out.append(encoded)
    return b"".join(out)


def _enc_none(out, v):
    out.append(b"\x00")


def _enc_bool(out, v):
    out.append(b"\x02" if v else b"\x01")


def _enc_int(out, v):
    if _INT64_MIN <= v <= _INT64_MAX:
        out.append(b"\x03" + _I64.pack(v))
    else:
        data = v.to_bytes((v.bit_length() + 8) // 8, "little", signed=True)
        out.append(b"\x04" + bytes((len(data),)) + data)


def _enc_float(out, v):
    out.append(b"\x05" + _F64.pack(v))


def _enc_str(out, v):
    try:
        data = v.encode("utf-8")
        tag = b"\x06"
    except UnicodeEncodeError:
        data = v.encode("utf-8", "surrogatepass")
        tag = b"\x15"
    out.append(tag + _length(len(data)) + data)


def _enc_bytes(out, v):
    out.append(b"\x07" + _length(len(v)) + bytes(v))


def _enc_decimal(out, v):
    data = str(v).encode("ascii")
    out.append(b"\x08" + _length(len(data)) + data)


def _enc_date(out, v):
    out.append(b"\x09" + _I32.pack(v.toordinal()))


def _enc_datetime(out, v):
    if v.tzinfo is None:
        out.append(b"\x0a" + _I64.pack(_micros(v - _EPOCH)))
    else:
        out.append(b"\x0b" + _I64.pack(_micros(v - _EPOCH_UTC)))


def _enc_time(out, v):
    micros = ((v.hour * 60 + v.minute) * 60 + v.second) * 1_000_000 + v.microsecond
    if v.tzinfo is None:
        out.append(b"\x0c" + _I64.pack(micros))
    else:
        offset = v.utcoffset()
        out.append(b"\x0d" + _I64I32.pack(micros, offset.days * 86400 + offset.seconds))


def _enc_interval(out, v):
    out.append(b"\x0e" + _I32I32I64.pack(v.months, v.days, v.micros))


def _enc_uuid(out, v):
    out.append(b"\x0f" + v.bytes)


def _enc_list(out, v):
    out.append(b"\x10" + _U32.pack(len(v)))
    for item in v:
        _ENCODERS[item.__class__](out, item)


def _enc_tuple(out, v):
    out.append(b"\x11" + _U32.pack(len(v)))
    for item in v:
        _ENCODERS[item.__class__](out, item)


def _enc_dict(out, v):
    out.append(b"\x12" + _U32.pack(len(v)))
    for key, item in v.items():
        data = key.encode("utf-8", "surrogatepass")
        out.append(_length(len(data)) + data)
        _ENCODERS[item.__class__](out, item)


def _enc_json_null(out, v):
    out.append(b"\x13")


def _enc_enum(out, v):
    data = str.__str__(v).encode("utf-8")
    out.append(b"\x14" + _U16.pack(v.position) + _length(len(data)) + data)


_ENCODERS = {
    type(None): _enc_none, bool: _enc_bool, int: _enc_int, float: _enc_float, str: _enc_str,
    bytes: _enc_bytes, bytearray: _enc_bytes, memoryview: _enc_bytes, Decimal: _enc_decimal,
    dt.date: _enc_date, dt.datetime: _enc_datetime, dt.time: _enc_time,
    Interval: _enc_interval, uuid.UUID: _enc_uuid, list: _enc_list, tuple: _enc_tuple,
    Record: _enc_tuple, dict: _enc_dict, type(JSON_NULL): _enc_json_null,
    EnumValue: _enc_enum,
}


# -- decoding ------------------------------------------------------------------------------

def decode_row(data: bytes) -> tuple:
    count = _U16.unpack_from(data, 0)[0]
    values = []
    pos = 2
    decoders = _DECODERS
    for _ in range(count):
        value, pos = decoders[data[pos]](data, pos + 1)
        values.append(value)
    return tuple(values)


def _read_length(data, pos):
    n = data[pos]
    if n < 255:
        return n, pos + 1
    return _U32.unpack_from(data, pos + 1)[0], pos + 5


def _dec_none(data, pos):
    return None, pos


def _dec_false(data, pos):
    return False, pos


def _dec_true(data, pos):
    return True, pos


def _dec_int(data, pos):
    return _I64.unpack_from(data, pos)[0], pos + 8


def _dec_bigint(data, pos):
    n = data[pos]
    return int.from_bytes(data[pos + 1:pos + 1 + n], "little", signed=True), pos + 1 + n


def _dec_float(data, pos):
    return _F64.unpack_from(data, pos)[0], pos + 8


def _dec_str(data, pos):
    n, pos = _read_length(data, pos)
    return data[pos:pos + n].decode("utf-8"), pos + n


def _dec_surrogate_str(data, pos):
    n, pos = _read_length(data, pos)
    return data[pos:pos + n].decode("utf-8", "surrogatepass"), pos + n


def _dec_bytes(data, pos):
    n, pos = _read_length(data, pos)
    return bytes(data[pos:pos + n]), pos + n


def _dec_decimal(data, pos):
    n, pos = _read_length(data, pos)
    return Decimal(data[pos:pos + n].decode("ascii")), pos + n


def _dec_date(data, pos):
    return dt.date.fromordinal(_I32.unpack_from(data, pos)[0]), pos + 4


def _dec_timestamp(data, pos):
    return _EPOCH + dt.timedelta(microseconds=_I64.unpack_from(data, pos)[0]), pos + 8


def _dec_timestamptz(data, pos):
    return _EPOCH_UTC + dt.timedelta(microseconds=_I64.unpack_from(data, pos)[0]), pos + 8


def _time_of(micros: int, tz=None) -> dt.time:
    seconds, micro = divmod(micros, 1_000_000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return dt.time(hour, minute, second, micro, tzinfo=tz)


def _dec_time(data, pos):
    return _time_of(_I64.unpack_from(data, pos)[0]), pos + 8


def _dec_timetz(data, pos):
    micros, offset = _I64I32.unpack_from(data, pos)
    return _time_of(micros, dt.timezone(dt.timedelta(seconds=offset))), pos + 12


def _dec_interval(data, pos):
    months, days, micros = _I32I32I64.unpack_from(data, pos)
    return Interval(months, days, micros), pos + 16


def _dec_uuid(data, pos):
    return uuid.UUID(bytes=bytes(data[pos:pos + 16])), pos + 16


def _dec_items(data, pos):
    count = _U32.unpack_from(data, pos)[0]
    pos += 4
    items = []
    for _ in range(count):
        item, pos = _DECODERS[data[pos]](data, pos + 1)
        items.append(item)
    return items, pos


def _dec_list(data, pos):
    return _dec_items(data, pos)


def _dec_tuple(data, pos):
    items, pos = _dec_items(data, pos)
    return tuple(items), pos


def _dec_dict(data, pos):
    count = _U32.unpack_from(data, pos)[0]
    pos += 4
    out = {}
    for _ in range(count):
        n, pos = _read_length(data, pos)
        key = data[pos:pos + n].decode("utf-8", "surrogatepass")
        pos += n
        out[key], pos = _DECODERS[data[pos]](data, pos + 1)
    return out, pos


def _dec_json_null(data, pos):
    return JSON_NULL, pos


def _dec_enum(data, pos):
    position = _U16.unpack_from(data, pos)[0]
    n, pos = _read_length(data, pos + 2)
    return EnumValue(data[pos:pos + n].decode("utf-8"), position), pos + n


def _dec_compressed(data, pos):
    n, pos = _read_length(data, pos)
    inner = zlib.decompress(data[pos:pos + n])
    value, _ = _DECODERS[inner[0]](inner, 1)
    return value, pos + n


_DECODERS = [_dec_none, _dec_false, _dec_true, _dec_int, _dec_bigint, _dec_float, _dec_str,
             _dec_bytes, _dec_decimal, _dec_date, _dec_timestamp, _dec_timestamptz, _dec_time,
             _dec_timetz, _dec_interval, _dec_uuid, _dec_list, _dec_tuple, _dec_dict,
             _dec_json_null, _dec_enum, _dec_surrogate_str, _dec_compressed]
