"""The binary format of values (PostgreSQL's send/receive functions): used by the
protocol for binary parameters and results, and by COPY's binary format.

Binary layouts follow PostgreSQL's send/recv functions: integers and floats big-endian;
date as days and timestamps as microseconds since 2000-01-01; interval as microseconds,
days, months; numeric as base-10000 digits with weight, sign and display scale; arrays
with dimensions, a has-NULL flag, the element OID and length-prefixed elements.
"""

from __future__ import annotations

import datetime as dt
import struct
import uuid
from decimal import Decimal

from . import types as T
from .errors import INVALID_BINARY_REPRESENTATION, FEATURE_NOT_SUPPORTED, SqlError

EPOCH_DATE = dt.date(2000, 1, 1)
EPOCH = dt.datetime(2000, 1, 1)
EPOCH_TZ = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)

_NUMERIC_POS, _NUMERIC_NEG, _NUMERIC_NAN = 0x0000, 0x4000, 0xC000
_NUMERIC_PINF, _NUMERIC_NINF = 0xD000, 0xF000


# -- binary encoding ---------------------------------------------------------------------

def encode_numeric(value: Decimal) -> bytes:
    if value.is_nan():
        return struct.pack("!hhHh", 0, 0, _NUMERIC_NAN, 0)
    if value.is_infinite():
        return struct.pack("!hhHh", 0, 0, _NUMERIC_PINF if value > 0 else _NUMERIC_NINF, 0)
    sign, digits, exponent = value.as_tuple()
    dscale = max(-exponent, 0)
    text = "".join(map(str, digits))
    # Place the decimal digits on base-10000 boundaries around the decimal point.
    int_len = len(text) + exponent
    if exponent > 0:
        text += "0" * exponent
    int_part = text[:max(int_len, 0)] if int_len > 0 else ""
    frac_part = text[max(int_len, 0):] if int_len >= 0 else "0" * (-int_len) + text
    int_part = int_part.lstrip("0")
    pad_int = (-len(int_part)) % 4
    int_part = "0" * pad_int + int_part
    pad_frac = (-len(frac_part)) % 4
    frac_part = frac_part + "0" * pad_frac
    groups = [int(int_part[i:i + 4]) for i in range(0, len(int_part), 4)]
    weight = len(groups) - 1
    groups += [int(frac_part[i:i + 4]) for i in range(0, len(frac_part), 4)]
    # Trim leading and trailing zero groups (adjusting the weight for leading ones).
    while groups and groups[0] == 0:
        groups.pop(0)
        weight -= 1
    while groups and groups[-1] == 0:
        groups.pop()
    if not groups:
        weight = 0
    header = struct.pack("!hhHh", len(groups), weight, _NUMERIC_NEG if sign else _NUMERIC_POS,
                         dscale)
    return header + b"".join(struct.pack("!h", g) for g in groups)


def decode_numeric(data: bytes) -> Decimal:
    ndigits, weight, sign, dscale = struct.unpack_from("!hhHh", data, 0)
    if sign == _NUMERIC_NAN:
        return Decimal("NaN")
    if sign == _NUMERIC_PINF:
        return Decimal("Infinity")
    if sign == _NUMERIC_NINF:
        return Decimal("-Infinity")
    if len(data) != 8 + 2 * ndigits:
        raise ValueError("bad numeric")
    digits = struct.unpack_from(f"!{ndigits}h", data, 8)
    value = 0
    for d in digits:
        value = value * 10000 + d
    exponent = (weight - ndigits + 1) * 4
    result = Decimal(value).scaleb(exponent, T.NUMERIC)
    if sign == _NUMERIC_NEG:
        result = -result
    return result.quantize(Decimal(1).scaleb(-dscale), context=T.NUMERIC)


def _micros(delta: dt.timedelta) -> int:
    return (delta.days * 86400 + delta.seconds) * 1000000 + delta.microseconds


def encode_binary(value, t: T.SqlType) -> bytes:
    oid = t.oid
    if oid == 16:
        return b"\x01" if value else b"\x00"
    if oid == 21:
        return struct.pack("!h", value)
    if oid == 23:
        return struct.pack("!i", value)
    if oid == 20:
        return struct.pack("!q", value)
    if oid in (26, 24, 2205, 2206, 28, 29, 4089, 4096):
        return struct.pack("!I", value)
    if oid == 700:
        return struct.pack("!f", value)
    if oid == 701:
        return struct.pack("!d", value)
    if oid in T.STRING_OIDS or oid in (114, 705) or t.labels is not None:
        return T.to_text(value, t).encode()
    if oid == 3802:
        return b"\x01" + T.format_jsonb(value).encode()
    if oid == 17:
        return bytes(value)
    if oid == 1082:
        return struct.pack("!i", (value - EPOCH_DATE).days)
    if oid == 1114:
        return struct.pack("!q", _micros(value - EPOCH))
    if oid == 1184:
        return struct.pack("!q", _micros(value - EPOCH_TZ))
    if oid == 1083:
        return struct.pack("!q", ((value.hour * 60 + value.minute) * 60 + value.second)
                           * 1000000 + value.microsecond)
    if oid == 1186:
        return struct.pack("!qii", value.micros, value.days, value.months)
    if oid == 2950:
        return value.bytes
    if oid == 1700:
        return encode_numeric(value if isinstance(value, Decimal) else Decimal(value))
    if t.elem is not None:
        return encode_array(value, t.elem)
    if oid in (22, 30):
        return encode_array(value, T.INT2 if oid == 22 else T.OID)
    raise SqlError(FEATURE_NOT_SUPPORTED, f"binary output of type {T.format_type(t)} "
                   "is not supported")


def encode_array(items: list, elem: T.SqlType) -> bytes:
    dims = []
    level = items
    while isinstance(level, list):
        dims.append(len(level))
        level = level[0] if level else None
    if dims == [0]:
        return struct.pack("!iiI", 0, 0, elem.oid)
    flat = _flatten(items)
    has_null = any(v is None for v in flat)
    parts = [struct.pack("!iiI", len(dims), int(has_null), elem.oid)]
    for d in dims:
        parts.append(struct.pack("!ii", d, 1))
    for v in flat:
        if v is None:
            parts.append(b"\xff\xff\xff\xff")
        else:
            data = encode_binary(v, elem)
            parts.append(struct.pack("!i", len(data)) + data)
    return b"".join(parts)


def _flatten(items):
    out = []
    for v in items:
        if isinstance(v, list):
            out.extend(_flatten(v))
        else:
            out.append(v)
    return out


# -- binary decoding -----------------------------------------------------------------------

_FIXED = {16: 1, 21: 2, 23: 4, 20: 8, 26: 4, 700: 4, 701: 8, 1082: 4, 1114: 8, 1184: 8,
          1083: 8, 1186: 16, 2950: 16}


def decode_binary(data: bytes, t: T.SqlType):
    oid = t.oid
    try:
        expected = _FIXED.get(oid)
        if expected is not None and len(data) != expected:
            raise ValueError("length")
        if oid == 16:
            return data != b"\x00"
        if oid == 21:
            return struct.unpack("!h", data)[0]
        if oid == 23:
            return struct.unpack("!i", data)[0]
        if oid == 20:
            return struct.unpack("!q", data)[0]
        if oid in (26, 2205, 2206, 24):
            return struct.unpack("!I", data)[0]
        if oid == 700:
            return struct.unpack("!f", data)[0]
        if oid == 701:
            return struct.unpack("!d", data)[0]
        if oid in T.STRING_OIDS or oid in (114, 705):
            text = data.decode()
            if oid in (1042, 1043):
                return T.apply_string_typmod(text, t, explicit=False)
            if oid == 114:
                return T.parse_json_text(text)
            return text
        if t.labels is not None:
            return T.parse_enum(data.decode(), t)
        if oid == 3802:
            if not data or data[0] != 1:
                raise ValueError("jsonb version")
            return T.parse_jsonb(data[1:].decode())
        if oid == 17:
            return bytes(data)
        if oid == 1082:
            return EPOCH_DATE + dt.timedelta(days=struct.unpack("!i", data)[0])
        if oid == 1114:
            return EPOCH + dt.timedelta(microseconds=struct.unpack("!q", data)[0])
        if oid == 1184:
            return EPOCH_TZ + dt.timedelta(microseconds=struct.unpack("!q", data)[0])
        if oid == 1083:
            micros = struct.unpack("!q", data)[0]
            return (EPOCH + dt.timedelta(microseconds=micros)).time()
        if oid == 1186:
            micros, days, months = struct.unpack("!qii", data)
            return T.Interval(months, days, micros)
        if oid == 2950:
            return uuid.UUID(bytes=bytes(data))
        if oid == 1700:
            return T.apply_numeric_typmod(decode_numeric(data), t.typmod)
        if t.elem is not None:
            return decode_array(data, t.elem)
    except SqlError:
        raise
    except (ValueError, struct.error, UnicodeDecodeError, OverflowError):
        raise SqlError(INVALID_BINARY_REPRESENTATION,
                       "incorrect binary data format in bind parameter") from None
    raise SqlError(FEATURE_NOT_SUPPORTED,
                   f"binary input of type {T.format_type(t)} is not supported")


def decode_array(data: bytes, elem: T.SqlType):
    ndim, _, elem_oid = struct.unpack_from("!iiI", data, 0)
    pos = 12
    if ndim == 0:
        return []
    if ndim > 6 or ndim < 0:
        raise ValueError("dimensions")
    dims = []
    for _ in range(ndim):
        size, _lower = struct.unpack_from("!ii", data, pos)
        pos += 8
        dims.append(size)
    inner = T.BY_OID.get(elem_oid, elem)
    flat = []
    total = 1
    for d in dims:
        total *= d
    for _ in range(total):
        (size,) = struct.unpack_from("!i", data, pos)
        pos += 4
        if size == -1:
            flat.append(None)
        else:
            flat.append(decode_binary(data[pos:pos + size], inner))
            pos += size
    if pos != len(data):
        raise ValueError("trailing data")

    def build(level, items):
        if level == len(dims) - 1:
            return items
        step = len(items) // dims[level]
        return [build(level + 1, items[i * step:(i + 1) * step]) for i in range(dims[level])]
    return build(0, flat)
