"""Operators: how `a + b`, `a = b`, `a || b`, `a -> b`, `a ~ b` ... are typed and computed.

`resolve_binary(op, left_type, right_type)` picks the operator PostgreSQL would pick and
returns (result type, implementation, left input type, right input type): the planner
casts each operand to its input type, then calls the implementation on non-NULL values
(every operator here is strict: NULL in, NULL out). Integer arithmetic checks its range
("integer out of range"), and division by zero raises 22012.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal

from . import types as T
from .errors import (DIVISION_BY_ZERO, INVALID_REGEX, NUMERIC_VALUE_OUT_OF_RANGE,
                     UNDEFINED_FUNCTION, SqlError)

NUMERIC = T.NUMERIC


def undefined_operator(op: str, left: T.SqlType | None, right: T.SqlType) -> SqlError:
    sides = (f"{T.format_type(left)} {op} " if left is not None else f"{op} ") + T.format_type(right)
    return SqlError(UNDEFINED_FUNCTION, f"operator does not exist: {sides}",
                    hint="No operator matches the given name and argument types. "
                         "You might need to add explicit type casts.")


def common_numeric(a: T.SqlType, b: T.SqlType) -> T.SqlType:
    # real meets anything but real as double precision (PostgreSQL has float48 operators
    # and casts integers and numeric to float8).
    if T.FLOAT4.oid in (a.oid, b.oid) and a.oid != b.oid:
        return T.FLOAT8
    ra, rb = T.NUMERIC_RANK[a.oid], T.NUMERIC_RANK[b.oid]
    t = a if ra >= rb else b
    if t.oid == T.OID.oid:
        return T.INT8
    return T.BY_OID[t.oid]


def _overflow(t: T.SqlType):
    return SqlError(NUMERIC_VALUE_OUT_OF_RANGE, f"{T.INTEGER_TYPES[t.oid][2]} out of range")


def _int_op(t: T.SqlType, fn):
    low, high, _ = T.INTEGER_TYPES[t.oid]

    def op(a, b):
        r = fn(a, b)
        if r < low or r > high:
            raise _overflow(t)
        return r
    return op


def _zero():
    return SqlError(DIVISION_BY_ZERO, "division by zero")


def _int_div(t):
    low, high, _ = T.INTEGER_TYPES[t.oid]

    def op(a, b):
        if b == 0:
            raise _zero()
        q = abs(a) // abs(b)
        r = q if (a >= 0) == (b >= 0) else -q       # truncation toward zero
        if r < low or r > high:
            raise _overflow(t)
        return r
    return op


def _int_mod(a, b):
    if b == 0:
        raise _zero()
    return int(math.fmod(a, b)) if abs(a) < 2 ** 52 else a - b * int(a / b)


def _float_check(t):
    def check(r):
        if math.isinf(r):
            raise SqlError(NUMERIC_VALUE_OUT_OF_RANGE, "value out of range: overflow")
        return r if t.oid == 701 else T._float4_round(r)
    return check


def _float_div(a, b):
    if b == 0:
        raise _zero()
    return a / b


def _float_pow(a, b):
    if a == 0 and b < 0:
        raise SqlError("2201F", "zero raised to a negative power is undefined")
    if a < 0 and b != int(b):
        raise SqlError("2201F", "a negative number raised to a non-integer power yields a complex result")
    try:
        return math.pow(a, b)
    except OverflowError:
        raise SqlError(NUMERIC_VALUE_OUT_OF_RANGE, "value out of range: overflow") from None


def numeric_div_scale(a: Decimal, b: Decimal) -> int:
    """The result scale PostgreSQL's numeric division chooses (select_div_scale)."""
    def weight_first(x: Decimal):
        if x == 0:
            return 0, 0
        e = x.copy_abs().adjusted()
        weight = e // 4
        first = int(x.copy_abs().scaleb(-4 * weight, NUMERIC))
        return weight, first
    w1, f1 = weight_first(a)
    w2, f2 = weight_first(b)
    qweight = w1 - w2
    if f1 <= f2:
        qweight -= 1
    scale = 16 - qweight * 4
    scale = max(scale, _dscale(a), _dscale(b), 0)
    return min(scale, 1000)


def _dscale(x: Decimal) -> int:
    exp = x.as_tuple().exponent
    return -exp if isinstance(exp, int) and exp < 0 else 0


def numeric_div(a: Decimal, b: Decimal) -> Decimal:
    if b == 0:
        raise _zero()
    if not (a.is_finite() and b.is_finite()):
        return NUMERIC.divide(a, b)
    scale = numeric_div_scale(a, b)
    return NUMERIC.divide(a, b).quantize(Decimal(1).scaleb(-scale), context=NUMERIC)


def numeric_mod(a: Decimal, b: Decimal) -> Decimal:
    if b == 0:
        raise _zero()
    return NUMERIC.remainder(a, b)


def numeric_pow(a: Decimal, b: Decimal) -> Decimal:
    """numeric ^ numeric, shown with 16 decimals (or the inputs' scale if larger)."""
    if a == 0 and b < 0:
        raise SqlError("2201F", "zero raised to a negative power is undefined")
    if a < 0 and b != b.to_integral_value():
        raise SqlError("2201F", "a negative number raised to a non-integer power yields a complex result")
    exponent = int(b) if b == b.to_integral_value() and abs(b) < 100000 else b
    result = NUMERIC.power(a, exponent)
    scale = max(16, _dscale(a), _dscale(b))
    return result.quantize(Decimal(1).scaleb(-scale), context=NUMERIC)


# -- date/time arithmetic --------------------------------------------------------------

def add_interval(stamp, iv: T.Interval):
    """timestamp + interval: months first (clamping the day), then days, then time."""
    if iv.months:
        year, month = divmod(stamp.month - 1 + iv.months, 12)
        year += stamp.year
        month += 1
        day = min(stamp.day, _days_in_month(year, month))
        stamp = stamp.replace(year=year, month=month, day=day)
    if isinstance(stamp, dt.datetime) and stamp.tzinfo is not None and iv.days:
        local = stamp.astimezone(T.session_tz())
        local = (local.replace(tzinfo=None) + dt.timedelta(days=iv.days)).replace(
            tzinfo=T.session_tz())
        stamp = local.astimezone(dt.timezone.utc)
    elif iv.days:
        stamp = stamp + dt.timedelta(days=iv.days)
    return stamp + dt.timedelta(microseconds=iv.micros)


def _days_in_month(year, month):
    if month == 12:
        return 31
    return (dt.date(year, month + 1, 1) - dt.date(year, month, 1)).days


def timestamp_diff(a, b) -> T.Interval:
    delta = a - b
    micros = delta.days * 86400_000000 + delta.seconds * 1000000 + delta.microseconds
    days, rest = divmod(abs(micros), 86400_000000)
    sign = -1 if micros < 0 else 1
    return T.Interval(0, sign * days, sign * rest)


def _date_plus_int(d, n):
    return d + dt.timedelta(days=n)


def _date_minus_int(d, n):
    return d - dt.timedelta(days=n)


def _date_minus_date(a, b):
    return (a - b).days


def _date_to_ts(d):
    return dt.datetime(d.year, d.month, d.day)


# -- pattern operators -----------------------------------------------------------------

_regex_cache: dict = {}


def compile_regex(pattern: str, flags: int = 0):
    key = (pattern, flags)
    rx = _regex_cache.get(key)
    if rx is None:
        try:
            rx = re.compile(_translate_regex(pattern), flags)
        except re.error as exc:
            raise SqlError(INVALID_REGEX, f"invalid regular expression: {exc}") from None
        if len(_regex_cache) > 1000:
            _regex_cache.clear()
        _regex_cache[key] = rx
    return rx


def _translate_regex(pattern: str) -> str:
    """POSIX ARE -> Python: the bracket classes and word boundaries that differ."""
    for posix, py in (("[[:alpha:]]", "[a-zA-Z]"), ("[[:digit:]]", "\\d"),
                      ("[[:alnum:]]", "[a-zA-Z0-9]"), ("[[:space:]]", "\\s"),
                      ("[[:upper:]]", "[A-Z]"), ("[[:lower:]]", "[a-z]"),
                      ("[[:punct:]]", "[!-/:-@\\[-`{-~]"), ("\\m", "\\b"), ("\\M", "\\b"),
                      ("\\y", "\\b")):
        pattern = pattern.replace(posix, py)
    return pattern


def like_to_regex(pattern: str, escape: str | None = "\\") -> str:
    out = ["(?s)"]
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if escape and c == escape:
            i += 1
            if i >= len(pattern):
                raise SqlError("22025", "LIKE pattern must not end with escape character")
            out.append(re.escape(pattern[i]))
        elif c == "%":
            out.append(".*")
        elif c == "_":
            out.append(".")
        else:
            out.append(re.escape(c))
        i += 1
    out.append(r"\Z")
    return "".join(out)


def similar_to_regex(pattern: str) -> str:
    out = ["(?s)"]
    for c in pattern:
        if c == "%":
            out.append(".*")
        elif c == "_":
            out.append(".")
        elif c in "|*+?()[]{}":
            out.append(c)
        else:
            out.append(re.escape(c))
    out.append(r"\Z")
    return "".join(out)


def _regex_match(flags):
    def op(s, p):
        return compile_regex(p, flags).search(s) is not None
    return op


def _regex_not_match(flags):
    def op(s, p):
        return compile_regex(p, flags).search(s) is None
    return op


# -- JSON operators --------------------------------------------------------------------

def json_get(value, key):
    """-> : object field by name or array element by index (negative from the end)."""
    if isinstance(value, str) and not isinstance(key, int):
        value = T.parse_jsonb(value)
    if isinstance(value, dict):
        if isinstance(key, str) and key in value:
            v = value[key]
            return T.JSON_NULL if v is None else v
        return None
    if isinstance(value, list) and isinstance(key, int):
        if -len(value) <= key < len(value):
            v = value[key]
            return T.JSON_NULL if v is None else v
    return None


def json_get_text(value, key):
    v = json_get(value, key)
    if v is None or v is T.JSON_NULL:
        return None
    if isinstance(v, str):
        return v
    return T.format_jsonb(v)


def json_path(value, path):
    for step in path:
        if step is None:
            return None
        if isinstance(value, list):
            try:
                step = int(step)
            except ValueError:
                return None
        value = json_get(value, step)
        if value is None:
            return None
    return value


def json_path_text(value, path):
    v = json_path(value, path)
    if v is None or v is T.JSON_NULL:
        return None
    return v if isinstance(v, str) else T.format_jsonb(v)


def jsonb_contains(a, b) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return all(k in a and jsonb_contains(a[k], v) for k, v in b.items())
    if isinstance(a, list) and isinstance(b, list):
        return all(any(jsonb_contains(x, y) for x in a) for y in b)
    if isinstance(a, list) and not isinstance(b, (list, dict)):
        return any(jsonb_contains(x, b) for x in a)
    if a is T.JSON_NULL:
        a = None
    if b is T.JSON_NULL:
        b = None
    return a == b and type(a) is type(b) if not isinstance(a, (int, Decimal, float)) else a == b


def jsonb_concat(a, b):
    if isinstance(a, dict) and isinstance(b, dict):
        merged = dict(a)
        merged.update(b)
        return merged
    left = a if isinstance(a, list) else [a]
    right = b if isinstance(b, list) else [b]
    return left + right


def jsonb_has_key(a, key) -> bool:
    if isinstance(a, dict):
        return key in a
    if isinstance(a, list):
        return key in a
    return a == key


def jsonb_delete(a, key):
    if isinstance(a, dict):
        return {k: v for k, v in a.items() if k != key}
    if isinstance(a, list):
        if isinstance(key, int):
            out = list(a)
            if -len(out) <= key < len(out):
                del out[key]
            return out
        return [v for v in a if v != key]
    raise SqlError("22023", "cannot delete from scalar")


# -- arrays ----------------------------------------------------------------------------

def array_contains(a, b) -> bool:
    return all(x in a for x in b if x is not None) and None not in b


def array_overlap(a, b) -> bool:
    return any(x in a for x in b if x is not None)


def _concat_text(a, b):
    return a + b


def _bytea_concat(a, b):
    return a + b


def _array_concat(a, b):
    return a + b


def _interval_div(iv, n):
    if n == 0:
        raise _zero()
    return iv.scale(1 / float(n))


_CMP = {
    "=": lambda a, b: a == b,
    "<>": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
}
COMPARISON_OPS = set(_CMP)


def comparison_function(op: str, t: T.SqlType):
    base = _CMP[op]
    if t.oid == T.BPCHAR.oid:
        # char(n) compares without its trailing spaces.
        return lambda a, b: base(a.rstrip(" "), b.rstrip(" "))
    if t.oid == T.FLOAT8.oid or t.oid == T.FLOAT4.oid:
        # NaN equals itself and sorts above every other value, as in PostgreSQL.
        def cmp(a, b):
            if a != a or b != b:
                ka = (1, 0) if a != a else (0, a)
                kb = (1, 0) if b != b else (0, b)
                return base(ka, kb)
            return base(a, b)
        return cmp
    if t.oid in (T.JSONB.oid,):
        return lambda a, b: base(_jsonb_key(a), _jsonb_key(b))
    if t.elem is not None:
        # Arrays compare element by element; NULL elements equal each other and sort last.
        return lambda a, b: base(_array_key(a), _array_key(b))
    if t.oid == T.RECORD.oid:
        return lambda a, b: _compare_composite(op, a, b)
    return base


def _array_key(items):
    return [(1, 0) if v is None else (0, _array_key(v) if isinstance(v, list) else v)
            for v in items]


def _jsonb_key(v):
    return T.format_jsonb(v)


def _compare_composite(op: str, a, b):
    """Row and array comparison: element by element; NULL elements make = unknown."""
    for x, y in zip(a, b):
        if x is None or y is None:
            if op in ("=", "<>"):
                continue
            return None
        if x != y:
            return _CMP[op](x, y)
    if any(x is None or y is None for x, y in zip(a, b)) and op in ("=", "<>"):
        return None
    return _CMP[op](len(a), len(b))


def resolve_comparison_type(left: T.SqlType, right: T.SqlType, op: str) -> T.SqlType:
    """The common type two operands are compared in."""
    if left.oid == T.UNKNOWN.oid and right.oid == T.UNKNOWN.oid:
        return T.TEXT
    if left.oid == T.UNKNOWN.oid:
        return right.base if right.oid != T.BPCHAR.oid else right
    if right.oid == T.UNKNOWN.oid:
        return left.base if left.oid != T.BPCHAR.oid else left
    if left.oid == right.oid:
        return left.base if left.elem is None else left
    oidish = T.REG_OIDS | {T.OID.oid}
    if (left.oid in oidish or right.oid in oidish) and \
            (T.is_numeric(left) or left.oid in oidish) and (T.is_numeric(right) or right.oid in oidish):
        return T.OID
    if T.is_numeric(left) and T.is_numeric(right):
        return common_numeric(left, right)
    if T.is_string(left) and T.is_string(right):
        if T.BPCHAR.oid in (left.oid, right.oid) and T.NAME.oid not in (left.oid, right.oid):
            return T.TEXT
        return T.TEXT if T.NAME.oid not in (left.oid, right.oid) else T.NAME
    dt_rank = {T.DATE.oid: 1, T.TIMESTAMP.oid: 2, T.TIMESTAMPTZ.oid: 3}
    if left.oid in dt_rank and right.oid in dt_rank:
        return left if dt_rank[left.oid] > dt_rank[right.oid] else right
    if left.elem is not None and right.elem is not None:
        return left
    if {left.oid, right.oid} <= {T.JSON.oid, T.JSONB.oid}:
        return T.JSONB
    if {left.oid, right.oid} == {T.RECORD.oid}:
        return T.RECORD
    if T.CHAR.oid in (left.oid, right.oid) and (T.is_string(left) or T.is_string(right)):
        return T.TEXT
    raise undefined_operator(op, left, right)


def resolve_binary(op: str, left: T.SqlType, right: T.SqlType):
    """-> (result type, impl, left input type, right input type)."""
    lo, ro = left.oid, right.oid
    unknown = T.UNKNOWN.oid
    if op in COMPARISON_OPS:
        common = resolve_comparison_type(left, right, op)
        return T.BOOL, comparison_function(op, common), common, common
    if op == "-" and lo == T.JSONB.oid:
        return T.JSONB, jsonb_delete, T.JSONB, (T.INT4 if T.is_integer(right) else T.TEXT)
    if op in ("+", "-", "*", "/", "%", "^"):
        return _resolve_arithmetic(op, left, right)
    if op == "||":
        if left.elem is not None or right.elem is not None:
            arr = left if left.elem is not None else right
            if left.elem is not None and right.elem is not None:
                return arr, _array_concat, arr, arr
            if left.elem is not None:
                return arr, lambda a, b: a + [b], arr, arr.elem if ro != unknown else arr.elem
            return arr, lambda a, b: [a] + b, arr.elem, arr
        if lo == T.JSONB.oid and ro in (T.JSONB.oid, unknown):
            return T.JSONB, jsonb_concat, T.JSONB, T.JSONB
        if lo == T.BYTEA.oid and ro in (T.BYTEA.oid, unknown):
            return T.BYTEA, _bytea_concat, T.BYTEA, T.BYTEA
        if lo == unknown and ro == T.BYTEA.oid:
            return T.BYTEA, _bytea_concat, T.BYTEA, T.BYTEA
        if T.is_string(left) or T.is_string(right) or lo == unknown or ro == unknown:
            return T.TEXT, _concat_text, T.TEXT, T.TEXT
        raise undefined_operator(op, left, right)
    if op in ("->", "->>", "#>", "#>>"):
        if lo not in (T.JSON.oid, T.JSONB.oid):
            raise undefined_operator(op, left, right)
        result = left if op in ("->", "#>") else T.TEXT
        if op in ("#>", "#>>"):
            impl = json_path if op == "#>" else json_path_text
            return result, impl, T.JSONB, T.BY_OID[1009]
        impl = json_get if op == "->" else json_get_text
        key_type = T.INT4 if T.is_integer(right) else T.TEXT
        return result, impl, T.JSONB, key_type
    if op in ("@>", "<@"):
        if lo == T.JSONB.oid or ro == T.JSONB.oid:
            impl = jsonb_contains if op == "@>" else (lambda a, b: jsonb_contains(b, a))
            return T.BOOL, impl, T.JSONB, T.JSONB
        arr = left if left.elem is not None else right
        if arr.elem is None:
            raise undefined_operator(op, left, right)
        impl = array_contains if op == "@>" else (lambda a, b: array_contains(b, a))
        return T.BOOL, impl, arr, arr
    if op == "&&":
        arr = left if left.elem is not None else right
        if arr.elem is None:
            raise undefined_operator(op, left, right)
        return T.BOOL, array_overlap, arr, arr
    if op == "?" and lo == T.JSONB.oid:
        return T.BOOL, jsonb_has_key, T.JSONB, T.TEXT
    if op in ("?|", "?&") and lo == T.JSONB.oid:
        impl = (lambda a, keys: any(jsonb_has_key(a, k) for k in keys)) if op == "?|" else \
            (lambda a, keys: all(jsonb_has_key(a, k) for k in keys))
        return T.BOOL, impl, T.JSONB, T.BY_OID[1009]
    if op in ("~", "~*", "!~", "!~*"):
        flags = re.IGNORECASE if "*" in op else 0
        impl = _regex_match(flags) if not op.startswith("!") else _regex_not_match(flags)
        return T.BOOL, impl, T.TEXT, T.TEXT
    if op in ("~~", "!~~", "~~*", "!~~*"):
        flags = re.IGNORECASE | re.DOTALL if "*" in op else re.DOTALL
        negate = op.startswith("!")
        return T.BOOL, (lambda s, p: (compile_regex(like_to_regex(p), flags).match(s) is None)
                        == negate), T.TEXT, T.TEXT
    if op in ("&", "|", "#", "<<", ">>") and (T.is_integer(left) or lo == unknown) \
            and (T.is_integer(right) or ro == unknown):
        t = left if T.is_integer(left) else right
        if op in ("<<", ">>"):
            t = left if T.is_integer(left) else T.INT4
            fn = {"<<": lambda a, b: _wrap_int(a << b, t), ">>": lambda a, b: a >> b}[op]
            return t, fn, t, T.INT4
        t = common_numeric(left, right) if T.is_integer(left) and T.is_integer(right) else t
        fn = {"&": lambda a, b: a & b, "|": lambda a, b: a | b, "#": lambda a, b: a ^ b}[op]
        return t, fn, t, t
    if op == "^@":
        return T.BOOL, lambda a, b: a.startswith(b), T.TEXT, T.TEXT
    raise undefined_operator(op, left, right)


def _wrap_int(value, t):
    bits = {T.INT2.oid: 16, T.INT4.oid: 32, T.INT8.oid: 64}[t.oid]
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >= 1 << (bits - 1) else value


def _resolve_arithmetic(op, left, right):
    lo, ro = left.oid, right.oid
    unknown = T.UNKNOWN.oid
    if lo == unknown and ro == unknown:
        raise SqlError(UNDEFINED_FUNCTION, f"operator is not unique: unknown {op} unknown",
                       hint="Could not choose a best candidate operator. "
                            "You might need to add explicit type casts.")
    # Date and time arithmetic.
    dates = {T.DATE.oid, T.TIMESTAMP.oid, T.TIMESTAMPTZ.oid, T.TIME.oid}
    if lo in dates or ro in dates or lo == T.INTERVAL.oid or ro == T.INTERVAL.oid:
        return _resolve_datetime(op, left, right)
    if lo == unknown:
        left = right if T.is_numeric(right) else T.NUMERIC_T
    if ro == unknown:
        right = left if T.is_numeric(left) else T.NUMERIC_T
    if not (T.is_numeric(left) and T.is_numeric(right)):
        raise undefined_operator(op, left, right)
    t = common_numeric(left, right)
    if op == "^":
        if t.oid in (T.FLOAT4.oid, T.FLOAT8.oid) or T.is_integer(t):
            return T.FLOAT8, _checked_float(_float_pow, T.FLOAT8), T.FLOAT8, T.FLOAT8
        return T.NUMERIC_T, numeric_pow, T.NUMERIC_T, T.NUMERIC_T
    if T.is_integer(t):
        if op == "+":
            return t, _int_op(t, int.__add__), t, t
        if op == "-":
            return t, _int_op(t, int.__sub__), t, t
        if op == "*":
            return t, _int_op(t, int.__mul__), t, t
        if op == "/":
            return t, _int_div(t), t, t
        return t, _int_mod, t, t
    if t.oid in (T.FLOAT4.oid, T.FLOAT8.oid):
        check = _float_check(t)
        if op == "+":
            return t, lambda a, b: check(a + b), t, t
        if op == "-":
            return t, lambda a, b: check(a - b), t, t
        if op == "*":
            return t, lambda a, b: check(a * b), t, t
        if op == "/":
            return t, lambda a, b: check(_float_div(a, b)), t, t
        raise undefined_operator(op, left, right)
    if op == "+":
        return t, NUMERIC.add, t, t
    if op == "-":
        return t, NUMERIC.subtract, t, t
    if op == "*":
        return t, NUMERIC.multiply, t, t
    if op == "/":
        return t, numeric_div, t, t
    return t, numeric_mod, t, t


def _checked_float(fn, t):
    check = _float_check(t)
    return lambda a, b: check(fn(a, b))


def _resolve_datetime(op, left, right):
    lo, ro = left.oid, right.oid
    D, TS, TZ, IV, TM = T.DATE.oid, T.TIMESTAMP.oid, T.TIMESTAMPTZ.oid, T.INTERVAL.oid, T.TIME.oid
    unknown = T.UNKNOWN.oid
    if ro == unknown:
        right = T.INTERVAL if op in "+-" and lo != IV or lo == IV else left
        if lo == D and op == "-":
            right = T.DATE
        ro = right.oid
    if lo == unknown:
        left = T.INTERVAL if ro != IV else T.TIMESTAMP
        lo = left.oid
    if op == "+":
        if lo == D and T.is_integer(right):
            return T.DATE, _date_plus_int, T.DATE, T.INT4
        if ro == D and T.is_integer(left):
            return T.DATE, lambda n, d: _date_plus_int(d, n), T.INT4, T.DATE
        if lo == D and ro == IV:
            return T.TIMESTAMP, lambda d, iv: add_interval(_date_to_ts(d), iv), T.DATE, T.INTERVAL
        if lo == IV and ro == D:
            return T.TIMESTAMP, lambda iv, d: add_interval(_date_to_ts(d), iv), T.INTERVAL, T.DATE
        if lo in (TS, TZ) and ro == IV:
            return left.base, add_interval, left.base, T.INTERVAL
        if lo == IV and ro in (TS, TZ):
            return right.base, lambda iv, s: add_interval(s, iv), T.INTERVAL, right.base
        if lo == IV and ro == IV:
            return T.INTERVAL, lambda a, b: a + b, T.INTERVAL, T.INTERVAL
        if lo == D and ro == TM:
            return T.TIMESTAMP, lambda d, t: dt.datetime.combine(d, t), T.DATE, T.TIME
        if lo == TM and ro == IV:
            return T.TIME, lambda t, iv: (dt.datetime.combine(dt.date(2000, 1, 1), t)
                                          + dt.timedelta(microseconds=iv.micros)).time(), T.TIME, T.INTERVAL
    if op == "-":
        if lo == D and T.is_integer(right):
            return T.DATE, _date_minus_int, T.DATE, T.INT4
        if lo == D and ro == D:
            return T.INT4, _date_minus_date, T.DATE, T.DATE
        if lo == D and ro == IV:
            return T.TIMESTAMP, lambda d, iv: add_interval(_date_to_ts(d), -iv), T.DATE, T.INTERVAL
        if lo in (TS, TZ) and ro == IV:
            return left.base, lambda s, iv: add_interval(s, -iv), left.base, T.INTERVAL
        if lo in (TS, TZ, D) and ro in (TS, TZ, D):
            common = resolve_comparison_type(left, right, op)
            if common.oid == D:
                common = T.TIMESTAMP
            return T.INTERVAL, timestamp_diff, common, common
        if lo == IV and ro == IV:
            return T.INTERVAL, lambda a, b: a - b, T.INTERVAL, T.INTERVAL
        if lo == TM and ro == TM:
            return T.INTERVAL, lambda a, b: timestamp_diff(
                dt.datetime.combine(dt.date(2000, 1, 1), a),
                dt.datetime.combine(dt.date(2000, 1, 1), b)), T.TIME, T.TIME
    if op == "*":
        if lo == IV and T.is_numeric(right):
            return T.INTERVAL, lambda iv, n: iv.scale(float(n)), T.INTERVAL, T.FLOAT8
        if ro == IV and T.is_numeric(left):
            return T.INTERVAL, lambda n, iv: iv.scale(float(n)), T.FLOAT8, T.INTERVAL
    if op == "/" and lo == IV and T.is_numeric(right):
        return T.INTERVAL, _interval_div, T.INTERVAL, T.FLOAT8
    raise undefined_operator(op, left, right)


def resolve_unary(op: str, t: T.SqlType):
    if t.oid == T.UNKNOWN.oid:
        t = T.NUMERIC_T if op in ("-", "+", "@") else T.INT4
    if op == "-":
        if T.is_integer(t):
            low, high, _ = T.INTEGER_TYPES[t.oid]

            def neg(a):
                if -a > high:
                    raise _overflow(t)
                return -a
            return t, neg, t
        if t.oid in (T.FLOAT4.oid, T.FLOAT8.oid, T.NUMERIC_T.oid):
            return t, lambda a: -a, t
        if t.oid == T.INTERVAL.oid:
            return t, lambda a: -a, t
    if op == "~" and T.is_integer(t):
        return t, lambda a: ~a, t
    if op == "@" and T.is_numeric(t):
        return t, abs, t
    if op == "|/" and T.is_numeric(t):
        return T.FLOAT8, _sqrt, T.FLOAT8
    raise undefined_operator(op, None, t)


def _sqrt(x):
    if x < 0:
        raise SqlError("2201F", "cannot take square root of a negative number")
    return math.sqrt(x)
