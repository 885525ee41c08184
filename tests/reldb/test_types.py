"""Values: PostgreSQL's text formats, parsing, casts, and the binary wire formats."""

import datetime as dt
import math
import uuid
from decimal import Decimal

import pytest

from fromscratch.reldb import types as T
from fromscratch.reldb.errors import SqlError
from fromscratch.reldb.binary import (decode_binary, decode_numeric, encode_binary,
                                              encode_numeric)


@pytest.mark.parametrize("value,text", [(1e20, "1e+20"), (1e15, "1e+15"), (123456789012345.0,
                         "123456789012345"), (0.0001, "0.0001"), (0.00001, "1e-05"), (0.1, "0.1"),
                         (-2.5, "-2.5"), (100.0, "100"), (math.inf, "Infinity"), (-0.0, "-0")])
def test_float8_output(value, text):
    assert T.format_float(value) == text


def test_float4_output_is_shortest_for_single_precision():
    assert T.format_float(T._float4_round(0.1), single=True) == "0.1"
    assert T.format_float(T._float4_round(1e7), single=True) == "1e+07"


@pytest.mark.parametrize("text,out", [("1 day", "1 day"), ("-1 day", "-1 days"),
                         ("1 year 2 months 3 days 04:05:06.5", "1 year 2 mons 3 days 04:05:06.5"),
                         ("90 minutes", "01:30:00"), ("-1 month 2 days", "-1 mons +2 days"),
                         ("P1Y2M3DT4H5M6S", "1 year 2 mons 3 days 04:05:06"), ("0", "00:00:00")])
def test_interval_text(text, out):
    assert T.format_interval(T.parse_interval(text)) == out


def test_timestamp_parsing_and_time_zones():
    stamp = T.parse_timestamp("2024-01-02 03:04:05.5+02", True)
    assert stamp == dt.datetime(2024, 1, 2, 1, 4, 5, 500000, tzinfo=dt.timezone.utc)
    assert T.to_text(stamp, T.TIMESTAMPTZ) == "2024-01-02 01:04:05.5+00"
    with pytest.raises(SqlError) as info:
        T.parse_timestamp("2024-02-30 00:00", False)
    assert info.value.code == "22008"


def test_arrays_and_records_text():
    assert T.parse_array('{1,NULL,"3"}', T.INT4) == [1, None, 3]
    assert T.format_array(["a b", "", None, "NULL", 'q"'], T.TEXT) == '{"a b","",NULL,"NULL","q\\""}'
    assert T.format_record((1, "a b", None)) == '(1,"a b",)'


def test_jsonb_canonical_text():
    value = T.parse_jsonb('{"bb": 1.50, "a": [1, null, true], "c": {}}')
    # PostgreSQL orders keys by length, then bytewise.
    assert T.format_jsonb(value) == '{"a": [1, null, true], "c": {}, "bb": 1.50}'


def test_casts_and_errors():
    assert T.cast_value("42", T.TEXT, T.INT4) == 42
    assert T.cast_value(2.5, T.FLOAT8, T.INT4) == 2          # rint: halves to even
    assert T.cast_value(Decimal("2.5"), T.NUMERIC_T, T.INT4) == 3
    assert T.cast_value("abcdef", T.TEXT, T.lookup_type("varchar", [3])) == "abc"
    with pytest.raises(SqlError) as info:
        T.cast_value(2 ** 40, T.INT8, T.INT4)
    assert info.value.code == "22003"
    with pytest.raises(SqlError) as info:
        T.from_text("x1", T.INT4)
    assert info.value.code == "22P02"
    with pytest.raises(SqlError) as info:
        T.apply_string_typmod("abcd", T.lookup_type("varchar", [3]), explicit=False)
    assert info.value.code == "22001"


def test_numeric_typmod_rounds_and_overflows():
    t = T.lookup_type("numeric", [5, 2])
    assert T.from_text("1.005", t) == Decimal("1.01")
    with pytest.raises(SqlError) as info:
        T.from_text("1234.5", t)
    assert info.value.code == "22003"


@pytest.mark.parametrize("value", ["0", "1", "-1.5", "12345678901234567890.0001", "0.000001",
                                   "1E+5", "10000", "-0.10", "NaN"])
def test_numeric_binary_roundtrip(value):
    d = Decimal(value)
    back = decode_numeric(encode_numeric(d))
    assert str(back) == str(d) or (d.is_nan() and back.is_nan()) or back == d


@pytest.mark.parametrize("value,t", [
    (True, T.BOOL), (-5, T.INT2), (2 ** 31 - 1, T.INT4), (-(2 ** 63), T.INT8), (1.5, T.FLOAT8),
    ("héllo", T.TEXT), (b"\x00\xff", T.BYTEA), (dt.date(1999, 12, 31), T.DATE),
    (dt.datetime(2024, 1, 2, 3, 4, 5, 6), T.TIMESTAMP),
    (dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc), T.TIMESTAMPTZ),
    (T.Interval(1, 2, 3), T.INTERVAL), (uuid.UUID(int=7), T.UUID),
    (Decimal("-12.340"), T.NUMERIC_T), ([1, None, 3], T.BY_OID[1007]), ({"a": [1]}, T.JSONB)])
def test_binary_roundtrip(value, t):
    assert decode_binary(encode_binary(value, t), t) == value


def test_binary_garbage_is_22p03():
    with pytest.raises(SqlError) as info:
        decode_binary(b"\x00\x01\x02", T.INT4)
    assert info.value.code == "22P03"
