"""MongoDB's order across BSON types, for sort, range queries and index keys.

Values of different types compare by a fixed rank of their type
(docs: "Comparison/Sort Order"):

    MinKey < null < numbers < strings < objects < arrays < binary data < ObjectId
           < booleans < dates < timestamps < regular expressions < MaxKey

Within a type: numbers by value whatever their width (1 == 1.0 == Int64(1)), strings
by their UTF-8 bytes (the same as by code points), objects field by field (type, then
name, then value), arrays element by element, binary by length, then subtype, then bytes.

`sort_key(value)` turns any value into a tuple that Python orders exactly that way, and
that is equal (and hashes equal) for values MongoDB treats as equal: one function serves
sorting, comparisons, equality, `$group` keys and index keys. `collation_key(spec)` gives
the same function for a collation, comparing strings by strength rather than by bytes.
"""

from __future__ import annotations

import datetime
import decimal
import functools
import math
import re
import unicodedata

from .bson import MAX_KEY, MIN_KEY, Binary, Decimal128, Int64, ObjectId, Regex, Timestamp, \
    millis_from_datetime
from .errors import MongoError

MINKEY, NULL, NUMBER, STRING, OBJECT, ARRAY, BINARY, OBJECTID, BOOL, DATE, TIMESTAMP, \
    REGEX, MAXKEY = range(13)


def type_rank(value) -> int:
    kind = type(value)
    if kind is str:
        return STRING
    if kind is int or kind is float or kind is Int64 or kind is Decimal128 or kind is decimal.Decimal:
        return NUMBER
    if kind is bool:
        return BOOL
    if value is None:
        return NULL
    if isinstance(value, dict):
        return OBJECT
    if kind is list:
        return ARRAY
    if kind is ObjectId:
        return OBJECTID
    if kind is datetime.datetime:
        return DATE
    if kind is bytes or kind is Binary:
        return BINARY
    if kind is Timestamp:
        return TIMESTAMP
    if kind is Regex:
        return REGEX
    if value is MIN_KEY:
        return MINKEY
    if value is MAX_KEY:
        return MAXKEY
    raise TypeError(f"no BSON type for {kind.__name__}")


def number(value):
    """A number as a value Python compares exactly (Decimal128 -> Decimal)."""
    return value.to_decimal() if type(value) is Decimal128 else value


def sort_key(value, strings=None) -> tuple:
    """`strings`, when given, turns a string into what it compares by (a collation)."""
    kind = type(value)
    if kind is str:
        return (STRING, value if strings is None else strings(value))
    if kind is int or kind is Int64:
        return (NUMBER, 1, value)
    if kind is float:
        return (NUMBER, 0, 0) if value != value else (NUMBER, 1, value)   # NaN sorts first
    if kind is bool:
        return (BOOL, value)
    if value is None:
        return (NULL,)
    if isinstance(value, dict):
        items = []
        for name, item in value.items():
            key = sort_key(item, strings)
            items.append((key[0], name, key))
        return (OBJECT, tuple(items))
    if kind is list:
        return (ARRAY, tuple(sort_key(item, strings) for item in value))
    if kind is ObjectId:
        return (OBJECTID, value.binary)
    if kind is datetime.datetime:
        return (DATE, millis_from_datetime(value))
    if kind is Decimal128 or kind is decimal.Decimal:
        exact = number(value)
        return (NUMBER, 0, 0) if exact.is_nan() else (NUMBER, 1, exact)
    if kind is bytes or kind is Binary:
        return (BINARY, len(value), getattr(value, "subtype", 0), bytes(value))
    if kind is Timestamp:
        return (TIMESTAMP, value.time, value.inc)
    if kind is Regex:
        return (REGEX, value.pattern, value.flags)
    if value is MIN_KEY:
        return (MINKEY,)
    if value is MAX_KEY:
        return (MAXKEY,)
    raise TypeError(f"no BSON type for {kind.__name__}")


# -- collation ---------------------------------------------------------------------------------
#
# MongoDB compares strings with ICU collations. We model the part drivers use most: the
# comparison strength (1: base letters only, ignoring case and accents; 2: accents too;
# 3, the default: case too, lower case first) and numericOrdering ("10" after "9").
# Locales are accepted but all compare alike (no language-specific tailoring).


def _fold(text: str, keep_accents: bool) -> str:
    decomposed = unicodedata.normalize("NFD", text).casefold()
    if keep_accents:
        return decomposed
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _numeric_runs(text: str) -> tuple:
    return tuple((0, int(run)) if run.isdigit() else (1, run)
                 for run in re.findall(r"\d+|\D+", text))


def collation_key(spec: dict | None):
    """The key function (like sort_key) of a collation document, or sort_key itself for
    none or `{locale: "simple"}` (binary comparison)."""
    if spec is None or spec.get("locale") == "simple":
        return sort_key
    if not isinstance(spec.get("locale"), str):
        raise MongoError(9, "collation needs a locale")
    strength = spec.get("strength", 3)
    if strength not in (1, 2, 3, 4, 5):
        raise MongoError(2, f"collation strength must be 1 to 5, not {strength!r}")
    if spec.get("caseLevel"):
        strength = max(strength, 3)
    numeric = bool(spec.get("numericOrdering"))

    def strings(text: str) -> tuple:
        parts = [_fold(text, keep_accents=False)]
        if strength >= 2:
            parts.append(_fold(text, keep_accents=True))
        if strength >= 3:
            parts.append(tuple(ch.isupper() for ch in text))
        if numeric:
            parts = [_numeric_runs(part) if isinstance(part, str) else part for part in parts]
        return tuple(parts)

    return functools.partial(sort_key, strings=strings)


def compare(a, b) -> int:
    """-1, 0 or 1, as MongoDB orders a and b."""
    ka, kb = sort_key(a), sort_key(b)
    return (ka > kb) - (ka < kb)


def is_number(value) -> bool:
    kind = type(value)
    return kind is int or kind is float or kind is Int64 or kind is Decimal128 or \
        kind is decimal.Decimal


def is_nan(value) -> bool:
    value = number(value)
    return value != value if isinstance(value, float) else \
        isinstance(value, decimal.Decimal) and value.is_nan()


# -- type names and codes, for $type and the aggregation operator $type ---------------------

TYPE_CODES = {
    "double": 1, "string": 2, "object": 3, "array": 4, "binData": 5, "undefined": 6,
    "objectId": 7, "bool": 8, "date": 9, "null": 10, "regex": 11, "javascript": 13,
    "int": 16, "timestamp": 17, "long": 18, "decimal": 19, "minKey": -1, "maxKey": 127,
}
TYPE_NAMES = {code: name for name, code in TYPE_CODES.items()}


def type_name(value) -> str:
    kind = type(value)
    if kind is float:
        return "double"
    if kind is int:
        return "int" if -0x80000000 <= value <= 0x7FFFFFFF else "long"
    if kind is Int64:
        return "long"
    if kind is Decimal128 or kind is decimal.Decimal:
        return "decimal"
    return {STRING: "string", BOOL: "bool", NULL: "null", OBJECT: "object", ARRAY: "array",
            OBJECTID: "objectId", DATE: "date", BINARY: "binData", TIMESTAMP: "timestamp",
            REGEX: "regex", MINKEY: "minKey", MAXKEY: "maxKey"}[type_rank(value)]


def is_integral(value) -> bool:
    """True for a number with no fractional part (as $mod, $bitsAll... require)."""
    value = number(value)
    if isinstance(value, float):
        return math.isfinite(value) and value == int(value)
    if isinstance(value, decimal.Decimal):
        return value.is_finite() and value == value.to_integral_value()
    return isinstance(value, int) and not isinstance(value, bool)
