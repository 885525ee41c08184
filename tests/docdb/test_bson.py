"""The BSON codec: known encodings, every type both ways, pymongo's codec as the
reference, MongoDB's order across types, and fuzzing."""

from __future__ import annotations

import datetime
import decimal
import random

import pytest

from fromscratch.docdb import bson, ordering
from fromscratch.docdb.bson import (MAX_KEY, MIN_KEY, Binary, BSONError, Decimal128, Int64,
                                    ObjectId, Regex, Timestamp)

reference = pytest.importorskip("bson")          # pymongo's codec


def test_bsonspec_examples():
    assert bson.encode({"hello": "world"}) == \
        b"\x16\x00\x00\x00\x02hello\x00\x06\x00\x00\x00world\x00\x00"
    assert bson.encode({"BSON": ["awesome", 5.05, 1986]}) == (
        b"\x31\x00\x00\x00\x04BSON\x00\x26\x00\x00\x00\x020\x00\x08\x00\x00\x00awesome\x00"
        b"\x011\x00\x33\x33\x33\x33\x33\x33\x14\x40\x102\x00\xc2\x07\x00\x00\x00\x00")


EVERYTHING = {
    "double": 1.5, "nan": float("inf"), "string": "héllo", "empty": "",
    "document": {"a": {"b": [1, {"c": None}]}}, "array": [1, "two", [3]],
    "binary": b"\x00\xff", "uuid": Binary(b"0123456789abcdef", 4), "user": Binary(b"x", 128),
    "old binary": Binary(b"xyz", 2),
    "oid": ObjectId("0123456789abcdef01234567"), "true": True, "false": False,
    "date": datetime.datetime(2020, 2, 29, 12, 0, 0, 123000, tzinfo=bson.UTC),
    "before1970": datetime.datetime(1900, 1, 1, tzinfo=bson.UTC), "null": None,
    "regex": Regex("^a.*b$", "im"), "int32": -2**31, "int64": Int64(2**40),
    "bigint": 2**62, "timestamp": Timestamp(1700000000, 7),
    "decimal": Decimal128("-12345.6789E-10"), "min": MIN_KEY, "max": MAX_KEY,
}


def test_every_type_round_trips():
    decoded = bson.decode(bson.encode(EVERYTHING))
    assert decoded == EVERYTHING
    assert type(decoded["int64"]) is Int64 and type(decoded["int32"]) is int
    assert type(decoded["bigint"]) is Int64


def test_agrees_with_pymongo():
    ours = bson.encode(EVERYTHING)
    theirs = reference.decode(ours, codec_options=reference.CodecOptions(tz_aware=True))
    assert theirs["string"] == "héllo" and theirs["int64"] == 2**40
    assert str(theirs["decimal"]) == str(EVERYTHING["decimal"])
    assert theirs["regex"].pattern == "^a.*b$" and theirs["oid"] == reference.ObjectId(
        "0123456789abcdef01234567")
    assert theirs["timestamp"] == reference.Timestamp(1700000000, 7)
    assert reference.encode(theirs) == ours
    back = bson.decode(reference.encode({"d": reference.Decimal128("0.1"),
                                         "l": reference.Int64(5), "m": reference.MaxKey()}))
    assert back == {"d": Decimal128("0.1"), "l": Int64(5), "m": MAX_KEY}


@pytest.mark.parametrize("text", ["0", "-0", "1.10", "1E+6144", "-1E-6176", "Infinity",
                                  "-Infinity", "NaN", "9999999999999999999999999999999999",
                                  "0.000001234"])
def test_decimal128_matches_pymongo(text):
    assert Decimal128(text).bid == reference.Decimal128(text).bid
    if text != "NaN":
        assert str(Decimal128(text).to_decimal()) == str(reference.Decimal128(text).to_decimal())


def test_decimal128_out_of_range():
    with pytest.raises(BSONError):
        Decimal128("1E+9999")
    with pytest.raises(BSONError):
        Decimal128("1.0000000000000000000000000000000001")   # 35 digits


def test_objectid_generation():
    first, second = ObjectId(), ObjectId()
    assert first != second and first.binary[:4] <= second.binary[:4]
    assert abs((first.generation_time - datetime.datetime.now(bson.UTC)).total_seconds()) < 5
    assert ObjectId(str(first)) == first
    with pytest.raises(BSONError):
        ObjectId("xyz")


def test_encoding_errors():
    with pytest.raises(BSONError):
        bson.encode({"a": object()})
    with pytest.raises(BSONError):
        bson.encode({"a\x00b": 1})
    with pytest.raises(BSONError):
        bson.encode({"a": 2**64})
    with pytest.raises(BSONError):
        bson.encode({1: "non-string key"})


def test_mongodb_order_across_types():
    values = [MAX_KEY, Regex("a"), Timestamp(1, 1),
              datetime.datetime(2000, 1, 1, tzinfo=bson.UTC), True, False,
              ObjectId("0" * 24), b"zz", b"a", [1], {"a": 1}, "b", "a", 2.5, Int64(2),
              1, float("nan"), None, MIN_KEY]
    ordered = sorted(values, key=ordering.sort_key)
    assert ordering.is_nan(ordered[2])                     # NaN sorts before other numbers
    del ordered[2]
    assert ordered == [MIN_KEY, None, 1, Int64(2), 2.5, "a", "b", {"a": 1}, [1],
                       b"a", b"zz", ObjectId("0" * 24), False, True,
                       datetime.datetime(2000, 1, 1, tzinfo=bson.UTC), Timestamp(1, 1),
                       Regex("a"), MAX_KEY]
    assert ordering.sort_key(1) == ordering.sort_key(1.0) == ordering.sort_key(Int64(1)) == \
        ordering.sort_key(Decimal128("1"))
    assert ordering.compare({"a": 1, "b": 2}, {"a": 1}) == 1
    assert ordering.compare([1, 2], [1, 3]) == -1
    assert ordering.compare(decimal.Decimal("0.1"), 0.1) != 0      # exact comparison


# -- fuzzing --------------------------------------------------------------------------------


def _mutations(rng: random.Random, data: bytes):
    for _ in range(300):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 6)):
            mutated[rng.randrange(len(mutated))] = rng.getrandbits(8)
        yield bytes(mutated)
    for cut in range(len(data)):
        yield data[:cut]                                  # every truncation
    for length in (0, 4, 5, len(data) - 1, len(data) + 1, 2**31 - 1, -1):
        yield length.to_bytes(4, "little", signed=True) + data[4:]     # lying lengths


def test_fuzz_never_fails_other_than_bson_error():
    rng = random.Random(1234)
    data = bson.encode(EVERYTHING)
    for candidate in _mutations(rng, data):
        try:
            bson.decode(candidate)
        except BSONError:
            pass
    for _ in range(2000):
        noise = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 64)))
        try:
            bson.decode(noise)
        except BSONError:
            pass


def test_deep_nesting_is_an_error_not_a_crash():
    document: dict = {}
    for _ in range(150):
        document = {"a": document}
    assert bson.decode(bson.encode(document)) == document
    raw = b""
    for _ in range(1000):
        raw = b"\x03a\x00" + (len(raw) + 5).to_bytes(4, "little") + raw + b"\x00" if raw else \
            b"\x05\x00\x00\x00\x00"
    nested = (len(raw) + 5).to_bytes(4, "little") + raw + b"\x00"
    with pytest.raises(BSONError):
        bson.decode(nested)
