"""Built-in functions: scalar functions, aggregates, window functions and set-returning
functions, each declared once with its argument and result types.

A scalar function is `Func(name, arg_types, result, impl)`. Argument types may be a type
or one of the polymorphic markers ANY (any type; unknown literals become text), ANYNUM
(any numeric; the result type follows it), ANYARRAY and ANYELEMENT. Functions are strict
unless declared otherwise: a NULL argument gives NULL without calling `impl`. Functions
that read session state (now(), current_user, nextval ...) take the execution context
as their first argument (`ctx=True`).

`resolve(name, arg_types)` chooses the overload PostgreSQL would: the candidate needing
the fewest implicit casts, unknown literals matching anything.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import math
import random
import re
import time
import uuid
from decimal import Decimal

from . import operators as O
from . import types as T
from .blocking import before_blocking
from .errors import (DIVISION_BY_ZERO, INVALID_PARAMETER_VALUE,
                     NUMERIC_VALUE_OUT_OF_RANGE, UNDEFINED_FUNCTION, UNDEFINED_TABLE, SqlError)

ANY = "any"
ANYNUM = "anynum"
VOID = ""       # the value of a void function: shown as an empty string, not NULL
ANYARRAY = "anyarray"
ANYELEMENT = "anyelement"
TEXT_ARRAY = T.BY_OID[1009]


class Func:
    __slots__ = ("name", "args", "result", "impl", "strict", "variadic", "ctx", "oid", "volatile")

    def __init__(self, name, args, result, impl, strict=True, variadic=False, ctx=False,
                 volatile=False):
        self.name = name
        self.args = args
        self.result = result            # a type, or a function of the argument types
        self.impl = impl
        self.strict = strict
        self.variadic = variadic        # the last argument type repeats
        self.ctx = ctx
        self.volatile = volatile
        self.oid = 0


FUNCTIONS: dict[str, list[Func]] = {}
_BY_OID: dict[int, Func] = {}
_next_oid = [1000000]


def register(name, args, result, impl=None, **options):
    def add(fn):
        f = Func(name, args, result, fn, **options)
        f.oid = _next_oid[0]
        _next_oid[0] += 1
        FUNCTIONS.setdefault(name, []).append(f)
        _BY_OID[f.oid] = f
        return fn
    if impl is not None:
        add(impl)
        return impl
    return add


def function_name_by_oid(oid: int) -> str | None:
    f = _BY_OID.get(oid)
    return f.name if f else None


def function_oid(name: str) -> int | None:
    fs = FUNCTIONS.get(name) or AGGREGATES.get(name)
    return fs[0].oid if fs and isinstance(fs, list) else None


# -- overload resolution ----------------------------------------------------------------

_IMPLICIT = {
    T.INT2.oid: {T.INT4.oid, T.INT8.oid, T.NUMERIC_T.oid, T.FLOAT4.oid, T.FLOAT8.oid, T.OID.oid},
    T.INT4.oid: {T.INT8.oid, T.NUMERIC_T.oid, T.FLOAT4.oid, T.FLOAT8.oid, T.OID.oid,
                 T.REGCLASS.oid, T.REGTYPE.oid},
    T.INT8.oid: {T.NUMERIC_T.oid, T.FLOAT4.oid, T.FLOAT8.oid, T.OID.oid},
    T.NUMERIC_T.oid: {T.FLOAT4.oid, T.FLOAT8.oid},
    T.FLOAT4.oid: {T.FLOAT8.oid},
    T.VARCHAR.oid: {T.TEXT.oid, T.NAME.oid, T.BPCHAR.oid},
    T.BPCHAR.oid: {T.TEXT.oid, T.VARCHAR.oid, T.NAME.oid},
    T.NAME.oid: {T.TEXT.oid, T.VARCHAR.oid},
    T.TEXT.oid: {T.VARCHAR.oid, T.NAME.oid, T.BPCHAR.oid, T.REGCLASS.oid},
    T.CHAR.oid: {T.TEXT.oid},
    T.PG_NODE_TREE.oid: {T.TEXT.oid},
    T.DATE.oid: {T.TIMESTAMP.oid, T.TIMESTAMPTZ.oid},
    T.TIMESTAMP.oid: {T.TIMESTAMPTZ.oid},
    T.OID.oid: {T.INT8.oid, T.REGCLASS.oid, T.REGTYPE.oid, T.REGPROC.oid, T.REGNAMESPACE.oid,
                T.REGROLE.oid},
    T.REGCLASS.oid: {T.OID.oid}, T.REGTYPE.oid: {T.OID.oid}, T.REGPROC.oid: {T.OID.oid},
    T.REGNAMESPACE.oid: {T.OID.oid}, T.REGROLE.oid: {T.OID.oid},
    T.JSON.oid: set(), T.JSONB.oid: set(),
}


def implicitly_castable(src: T.SqlType, dst: T.SqlType) -> bool:
    return src.oid == dst.oid or dst.oid in _IMPLICIT.get(src.oid, ())


def _match(f: Func, arg_types: list[T.SqlType]):
    """(cost, coerced argument types) if `f` accepts these arguments, else None."""
    specs = list(f.args)
    if f.variadic:
        # The last declared argument repeats (implementations take *args).
        if len(arg_types) < len(specs):
            return None
        specs = specs[:-1] + [specs[-1]] * (len(arg_types) - len(specs) + 1)
    if len(specs) != len(arg_types):
        return None
    cost = 0
    targets = []
    elem = None
    for spec, actual in zip(specs, arg_types):
        if spec == ANY:
            targets.append(T.TEXT if actual.oid == T.UNKNOWN.oid else actual)
            continue
        if spec == ANYNUM:
            if actual.oid == T.UNKNOWN.oid:
                targets.append(T.NUMERIC_T)
                cost += 1
            elif T.is_numeric(actual):
                targets.append(actual.base if actual.oid != T.OID.oid else T.INT8)
            else:
                return None
            continue
        if spec == ANYARRAY:
            if actual.elem is None and actual.oid != T.UNKNOWN.oid:
                return None
            targets.append(actual)
            if actual.elem is not None:
                elem = actual.elem
            continue
        if spec == ANYELEMENT:
            targets.append(actual)
            continue
        if actual.oid == T.UNKNOWN.oid:
            # An unknown literal prefers a string-category parameter (PostgreSQL's rule
            # for unknown arguments); others cost a little more.
            targets.append(spec)
            if not T.is_string(spec):
                cost += 0.5
            continue
        if actual.oid == spec.oid:
            targets.append(actual)
            continue
        if implicitly_castable(actual, spec):
            targets.append(spec)
            cost += 1
            continue
        return None
    # Polymorphic arguments settle on one element type.
    for i, spec in enumerate(specs):
        if spec == ANYARRAY and targets[i].oid == T.UNKNOWN.oid:
            targets[i] = elem.array_of() if elem is not None else TEXT_ARRAY
        if spec == ANYELEMENT and elem is not None and targets[i].oid == T.UNKNOWN.oid:
            targets[i] = elem
    return cost, targets


def resolve(name: str, arg_types: list[T.SqlType]):
    """-> (Func, coerced argument types, result type)."""
    candidates = FUNCTIONS.get(name)
    if not candidates:
        raise no_such_function(name, arg_types)
    best = None
    for f in candidates:
        m = _match(f, arg_types)
        if m is not None and (best is None or m[0] < best[1][0]):
            best = (f, m)
    if best is None:
        raise no_such_function(name, arg_types)
    f, (_, targets) = best
    result = f.result(targets) if callable(f.result) and not isinstance(f.result, T.SqlType) \
        else f.result
    return f, targets, result


def no_such_function(name: str, arg_types) -> SqlError:
    args = ", ".join(T.format_type(t) for t in arg_types)
    return SqlError(UNDEFINED_FUNCTION, f"function {name}({args}) does not exist",
                    hint="No function matches the given name and argument types. "
                         "You might need to add explicit type casts.")


def _same(i=0):
    return lambda types: types[i]


# -- strings ----------------------------------------------------------------------------

# Case mapping of the C locale (the one reldb follows): ASCII letters only.
_UPPER = {c: c - 32 for c in range(ord("a"), ord("z") + 1)}
_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def ascii_upper(s: str) -> str:
    return s.translate(_UPPER)


def ascii_lower(s: str) -> str:
    return s.translate(_LOWER)


register("lower", [T.TEXT], T.TEXT, ascii_lower)
register("upper", [T.TEXT], T.TEXT, ascii_upper)
for _n in ("length", "char_length", "character_length"):
    register(_n, [T.TEXT], T.INT4, len)
register("length", [T.BYTEA], T.INT4, len)
register("octet_length", [T.TEXT], T.INT4, lambda s: len(s.encode()))
register("octet_length", [T.BYTEA], T.INT4, len)
register("bit_length", [T.TEXT], T.INT4, lambda s: 8 * len(s.encode()))
register("ascii", [T.TEXT], T.INT4, lambda s: ord(s[0]) if s else 0)
def _chr(n: int) -> str:
    if n == 0:
        raise SqlError("54000", "null character not permitted")
    if n < 0 or n > 0x10FFFF:
        raise SqlError("54000", "requested character too large for encoding: %d" % n)
    return chr(n)


register("chr", [T.INT4], T.TEXT, _chr)
register("reverse", [T.TEXT], T.TEXT, lambda s: s[::-1])
register("initcap", [T.TEXT], T.TEXT,
         lambda s: re.sub(r"[A-Za-z0-9]+", lambda m: ascii_upper(m.group(0)[0]) +
                          ascii_lower(m.group(0)[1:]), s))
register("md5", [T.TEXT], T.TEXT, lambda s: hashlib.md5(s.encode()).hexdigest())
register("md5", [T.BYTEA], T.TEXT, lambda b: hashlib.md5(b).hexdigest())
register("sha256", [T.BYTEA], T.BYTEA, lambda b: hashlib.sha256(b).digest())
register("to_hex", [T.INT4], T.TEXT, lambda n: format(n & 0xFFFFFFFF, "x"))
register("to_hex", [T.INT8], T.TEXT, lambda n: format(n & 0xFFFFFFFFFFFFFFFF, "x"))
register("starts_with", [T.TEXT, T.TEXT], T.BOOL, lambda s, p: s.startswith(p))
register("strpos", [T.TEXT, T.TEXT], T.INT4, lambda s, sub: s.find(sub) + 1)
register("position", [T.TEXT, T.TEXT], T.INT4, lambda s, sub: s.find(sub) + 1)
register("replace", [T.TEXT, T.TEXT, T.TEXT], T.TEXT,
         lambda s, a, b: s.replace(a, b) if a else s)
register("translate", [T.TEXT, T.TEXT, T.TEXT], T.TEXT,
         lambda s, a, b: "".join(b[a.index(c)] if c in a and a.index(c) < len(b)
                                 else ("" if c in a else c) for c in s))
register("repeat", [T.TEXT, T.INT4], T.TEXT, lambda s, n: s * max(n, 0))
register("left", [T.TEXT, T.INT4], T.TEXT, lambda s, n: s[:n] if n >= 0 else s[:max(len(s) + n, 0)])
register("right", [T.TEXT, T.INT4], T.TEXT,
         lambda s, n: (s[-n:] if n > 0 else "") if n >= 0 else s[-n:])
register("split_part", [T.TEXT, T.TEXT, T.INT4], T.TEXT, lambda s, d, n: _split_part(s, d, n))
register("quote_ident", [T.TEXT], T.TEXT, lambda s: quote_ident(s))
register("quote_literal", [T.TEXT], T.TEXT, lambda s: quote_literal(s))
register("quote_literal", [ANY], T.TEXT, lambda s: quote_literal(str(s)))
register("quote_nullable", [T.TEXT], T.TEXT,
         lambda s: "NULL" if s is None else quote_literal(s), strict=False)


def _split_part(s, d, n):
    if n == 0:
        raise SqlError(INVALID_PARAMETER_VALUE, "field position must not be zero")
    parts = s.split(d) if d else [s]
    if n < 0:
        n = len(parts) + n + 1
        if n <= 0:
            return ""
    return parts[n - 1] if n <= len(parts) else ""


_SAFE_IDENT = re.compile(r"[a-z_][a-z0-9_$]*\Z")


def quote_ident(s: str) -> str:
    from .sql.parser import RESERVED
    if _SAFE_IDENT.match(s) and s not in RESERVED:
        return s
    return '"' + s.replace('"', '""') + '"'


def quote_literal(s: str) -> str:
    if "\\" in s:
        return "E'" + s.replace("\\", "\\\\").replace("'", "''") + "'"
    return "'" + s.replace("'", "''") + "'"


def _substr(s, start, count=None):
    if count is not None and count < 0:
        raise SqlError("22011", "negative substring length not allowed")
    end = None if count is None else start + count
    begin = max(start, 1)
    if end is not None:
        if end <= begin:
            return s[:0]
        return s[begin - 1:end - 1]
    return s[begin - 1:]


for _n in ("substr", "substring"):
    register(_n, [T.TEXT, T.INT4], T.TEXT, _substr)
    register(_n, [T.TEXT, T.INT4, T.INT4], T.TEXT, _substr)
    register(_n, [T.BYTEA, T.INT4], T.BYTEA, _substr)
    register(_n, [T.BYTEA, T.INT4, T.INT4], T.BYTEA, _substr)
register("substring", [T.TEXT, T.TEXT], T.TEXT, lambda s, p: _regex_substring(s, p))


def _regex_substring(s, pattern):
    m = O.compile_regex(pattern).search(s)
    if m is None:
        return None
    return m.group(1) if m.groups() else m.group(0)


register("btrim", [T.TEXT], T.TEXT, lambda s: s.strip(" "))
register("btrim", [T.TEXT, T.TEXT], T.TEXT, lambda s, c: s.strip(c))
register("ltrim", [T.TEXT], T.TEXT, lambda s: s.lstrip(" "))
register("ltrim", [T.TEXT, T.TEXT], T.TEXT, lambda s, c: s.lstrip(c))
register("rtrim", [T.TEXT], T.TEXT, lambda s: s.rstrip(" "))
register("rtrim", [T.TEXT, T.TEXT], T.TEXT, lambda s, c: s.rstrip(c))
register("trim", [T.TEXT], T.TEXT, lambda s: s.strip(" "))


def _pad(s, n, fill, left):
    if n <= len(s):
        return s[:max(n, 0)]
    if not fill:
        return s
    need = n - len(s)
    padding = (fill * (need // len(fill) + 1))[:need]
    return padding + s if left else s + padding


register("lpad", [T.TEXT, T.INT4], T.TEXT, lambda s, n: _pad(s, n, " ", True))
register("lpad", [T.TEXT, T.INT4, T.TEXT], T.TEXT, lambda s, n, f: _pad(s, n, f, True))
register("rpad", [T.TEXT, T.INT4], T.TEXT, lambda s, n: _pad(s, n, " ", False))
register("rpad", [T.TEXT, T.INT4, T.TEXT], T.TEXT, lambda s, n, f: _pad(s, n, f, False))
register("overlay", [T.TEXT, T.TEXT, T.INT4], T.TEXT,
         lambda s, new, start: s[:start - 1] + new + s[start - 1 + len(new):])
register("overlay", [T.TEXT, T.TEXT, T.INT4, T.INT4], T.TEXT,
         lambda s, new, start, n: s[:start - 1] + new + s[start - 1 + n:])


def _regexp_replace(s, pattern, replacement, flags=""):
    py_flags = re.IGNORECASE if "i" in flags else 0
    rx = O.compile_regex(pattern, py_flags)
    repl = re.sub(r"\\(\d)", r"\\g<\1>", replacement.replace("\\&", "\\g<0>"))
    return rx.sub(repl, s, count=0 if "g" in flags else 1)


register("regexp_replace", [T.TEXT, T.TEXT, T.TEXT], T.TEXT, _regexp_replace)
register("regexp_replace", [T.TEXT, T.TEXT, T.TEXT, T.TEXT], T.TEXT, _regexp_replace)


def _regexp_match(s, pattern, flags=""):
    m = O.compile_regex(pattern, re.IGNORECASE if "i" in flags else 0).search(s)
    if m is None:
        return None
    return list(m.groups()) if m.groups() else [m.group(0)]


register("regexp_match", [T.TEXT, T.TEXT], TEXT_ARRAY, _regexp_match)
register("regexp_match", [T.TEXT, T.TEXT, T.TEXT], TEXT_ARRAY, _regexp_match)
register("regexp_like", [T.TEXT, T.TEXT], T.BOOL,
         lambda s, p: O.compile_regex(p).search(s) is not None)


def _regexp_split(s, pattern):
    return O.compile_regex(pattern).split(s)


register("regexp_split_to_array", [T.TEXT, T.TEXT], TEXT_ARRAY, _regexp_split)


def _string_to_array(s, delim, null_string=None):
    if s == "":
        return []
    parts = list(s) if delim is None else (s.split(delim) if delim != "" else [s])
    return [None if null_string is not None and p == null_string else p for p in parts]


register("string_to_array", [T.TEXT, T.TEXT], TEXT_ARRAY,
         lambda s, d: None if s is None else _string_to_array(s, d), strict=False)
register("string_to_array", [T.TEXT, T.TEXT, T.TEXT], TEXT_ARRAY,
         lambda s, d, n: None if s is None else _string_to_array(s, d, n), strict=False)


def _encode(data: bytes, fmt: str) -> str:
    fmt = fmt.lower()
    if fmt == "hex":
        return data.hex()
    if fmt == "base64":
        text = base64.b64encode(data).decode()
        return "\n".join(text[i:i + 76] for i in range(0, len(text), 76))
    if fmt == "escape":
        return "".join(chr(b) if 32 <= b < 127 and b != 92 else
                       ("\\\\" if b == 92 else "\\%03o" % b) for b in data)
    raise SqlError(INVALID_PARAMETER_VALUE, f'unrecognized encoding: "{fmt}"')


def _decode(text: str, fmt: str) -> bytes:
    fmt = fmt.lower()
    try:
        if fmt == "hex":
            return bytes.fromhex(text)
        if fmt == "base64":
            return base64.b64decode(text)
        if fmt == "escape":
            return T.parse_bytea(text)
    except ValueError:
        raise SqlError(INVALID_PARAMETER_VALUE, f"invalid {fmt} data") from None
    raise SqlError(INVALID_PARAMETER_VALUE, f'unrecognized encoding: "{fmt}"')


register("encode", [T.BYTEA, T.TEXT], T.TEXT, _encode)
register("decode", [T.TEXT, T.TEXT], T.BYTEA, _decode)
register("convert_to", [T.TEXT, T.TEXT], T.BYTEA, lambda s, enc: s.encode())
register("convert_from", [T.BYTEA, T.TEXT], T.TEXT, lambda b, enc: b.decode())
register("get_byte", [T.BYTEA, T.INT4], T.INT4, lambda b, i: b[i])

# -- mathematics ------------------------------------------------------------------------


for _t in (T.INT2, T.INT4, T.INT8):
    register("abs", [_t], _t, lambda x, t=_t: T.check_int_range(abs(x), t))
for _t in (T.FLOAT4, T.FLOAT8, T.NUMERIC_T):
    register("abs", [_t], _t, abs)


def _round_numeric(x: Decimal, places: int = 0) -> Decimal:
    if not x.is_finite():
        return x
    return x.quantize(Decimal(1).scaleb(-places), rounding="ROUND_HALF_UP", context=T.NUMERIC) \
        if places >= 0 else x.scaleb(places).quantize(Decimal(1), rounding="ROUND_HALF_UP",
                                                       context=T.NUMERIC).scaleb(-places)


def _round_float(x: float) -> float:
    # rint(): halves to even, keeping the sign of a zero result (round(-0.5) is -0).
    return math.copysign(float(round(x)), x)


register("round", [T.FLOAT8], T.FLOAT8, _round_float)
register("round", [T.NUMERIC_T], T.NUMERIC_T, lambda x: _round_numeric(x))
register("round", [T.NUMERIC_T, T.INT4], T.NUMERIC_T, _round_numeric)


def _trunc_numeric(x: Decimal, places: int = 0) -> Decimal:
    return x.quantize(Decimal(1).scaleb(-places), rounding="ROUND_DOWN", context=T.NUMERIC)


register("trunc", [T.FLOAT8], T.FLOAT8, lambda x: math.copysign(float(math.trunc(x)), x))
register("trunc", [T.NUMERIC_T], T.NUMERIC_T, lambda x: _trunc_numeric(x))
register("trunc", [T.NUMERIC_T, T.INT4], T.NUMERIC_T, _trunc_numeric)


def _ceil_numeric(x):
    return x.to_integral_value(rounding="ROUND_CEILING")


def _floor_numeric(x):
    return x.to_integral_value(rounding="ROUND_FLOOR")


for _n in ("ceil", "ceiling"):
    register(_n, [T.FLOAT8], T.FLOAT8, lambda x: math.copysign(float(math.ceil(x)), x))
    register(_n, [T.NUMERIC_T], T.NUMERIC_T, _ceil_numeric)
register("floor", [T.FLOAT8], T.FLOAT8, lambda x: float(math.floor(x)))
register("floor", [T.NUMERIC_T], T.NUMERIC_T, _floor_numeric)


def _sign(x):
    return type(x)((x > 0) - (x < 0))


register("sign", [T.FLOAT8], T.FLOAT8, _sign)
register("sign", [T.NUMERIC_T], T.NUMERIC_T, lambda x: Decimal((x > 0) - (x < 0)))


def _sqrt_numeric(x: Decimal) -> Decimal:
    if x < 0:
        raise SqlError("2201F", "cannot take square root of a negative number")
    result = x.sqrt(T.NUMERIC)
    scale = max(16, O._dscale(x))
    return result.quantize(Decimal(1).scaleb(-scale), context=T.NUMERIC)


register("sqrt", [T.FLOAT8], T.FLOAT8, O._sqrt)
register("sqrt", [T.NUMERIC_T], T.NUMERIC_T, _sqrt_numeric)
register("cbrt", [T.FLOAT8], T.FLOAT8, lambda x: math.copysign(abs(x) ** (1 / 3), x))
for _n in ("power", "pow"):
    register(_n, [T.FLOAT8, T.FLOAT8], T.FLOAT8, O._float_pow)
    register(_n, [T.NUMERIC_T, T.NUMERIC_T], T.NUMERIC_T, O.numeric_pow)
register("exp", [T.FLOAT8], T.FLOAT8, math.exp)


def _ln(x):
    if x == 0:
        raise SqlError("2201E", "cannot take logarithm of zero")
    if x < 0:
        raise SqlError("2201E", "cannot take logarithm of a negative number")
    return math.log(x)


def _ln_numeric(x: Decimal):
    if x <= 0:
        _ln(float(x))
    return x.ln(T.NUMERIC).quantize(Decimal("1E-16"), context=T.NUMERIC)


def _log10_numeric(x: Decimal):
    if x <= 0:
        _ln(float(x))
    return x.log10(T.NUMERIC).quantize(Decimal("1E-16"), context=T.NUMERIC)


register("ln", [T.FLOAT8], T.FLOAT8, _ln)
register("ln", [T.NUMERIC_T], T.NUMERIC_T, _ln_numeric)
register("log", [T.FLOAT8], T.FLOAT8, lambda x: _ln(x) and math.log10(x))
register("log", [T.NUMERIC_T], T.NUMERIC_T, _log10_numeric)
register("log10", [T.FLOAT8], T.FLOAT8, lambda x: _ln(x) and math.log10(x))
register("log", [T.NUMERIC_T, T.NUMERIC_T], T.NUMERIC_T,
         lambda b, x: (x.ln(T.NUMERIC) / b.ln(T.NUMERIC)).quantize(Decimal("1E-16"),
                                                                   context=T.NUMERIC))


def _mod(a, b):
    if b == 0:
        raise SqlError(DIVISION_BY_ZERO, "division by zero")
    if isinstance(a, Decimal):
        return T.NUMERIC.remainder(a, b)
    return O._int_mod(a, b)


register("mod", [T.INT2, T.INT2], T.INT2, _mod)
register("mod", [T.INT4, T.INT4], T.INT4, _mod)
register("mod", [T.INT8, T.INT8], T.INT8, _mod)
register("mod", [T.NUMERIC_T, T.NUMERIC_T], T.NUMERIC_T, _mod)


def _div(a, b):
    if b == 0:
        raise SqlError(DIVISION_BY_ZERO, "division by zero")
    return T.NUMERIC.divide_int(a, b)


register("div", [T.NUMERIC_T, T.NUMERIC_T], T.NUMERIC_T, _div)
for _t in (T.INT4, T.INT8):
    register("gcd", [_t, _t], _t, math.gcd)
    register("lcm", [_t, _t], _t, lambda a, b: abs(a * b) // math.gcd(a, b) if a and b else 0)
register("pi", [], T.FLOAT8, lambda: math.pi)
register("random", [], T.FLOAT8, random.random, volatile=True)
register("setseed", [T.FLOAT8], T.VOID, lambda s: random.seed(s) or VOID, volatile=True)
register("degrees", [T.FLOAT8], T.FLOAT8, math.degrees)
register("radians", [T.FLOAT8], T.FLOAT8, math.radians)
for _n, _f in (("sin", math.sin), ("cos", math.cos), ("tan", math.tan), ("asin", math.asin),
               ("acos", math.acos), ("atan", math.atan)):
    register(_n, [T.FLOAT8], T.FLOAT8, _f)
register("atan2", [T.FLOAT8, T.FLOAT8], T.FLOAT8, math.atan2)


def _width_bucket(x, low, high, count):
    if count <= 0:
        raise SqlError("2201G", "count must be greater than zero")
    if x < low:
        return 0
    if x >= high:
        return count + 1
    return int((x - low) / (high - low) * count) + 1


register("width_bucket", [T.FLOAT8, T.FLOAT8, T.FLOAT8, T.INT4], T.INT4, _width_bucket)
register("scale", [T.NUMERIC_T], T.INT4, O._dscale)

# -- date and time ----------------------------------------------------------------------


def _now(ctx):
    return ctx.session.transaction_time()


register("now", [], T.TIMESTAMPTZ, _now, ctx=True)
register("transaction_timestamp", [], T.TIMESTAMPTZ, _now, ctx=True)
register("current_timestamp", [], T.TIMESTAMPTZ, _now, ctx=True)
register("statement_timestamp", [], T.TIMESTAMPTZ, lambda ctx: ctx.statement_time, ctx=True)
register("clock_timestamp", [], T.TIMESTAMPTZ,
         lambda: dt.datetime.now(dt.timezone.utc), volatile=True)
register("timeofday", [], T.TEXT, lambda: time.strftime("%a %b %d %H:%M:%S %Y %Z"), volatile=True)
register("current_date", [], T.DATE,
         lambda ctx: _now(ctx).astimezone(T.session_tz()).date(), ctx=True)
register("current_time", [], T.TIMETZ,
         lambda ctx: _now(ctx).astimezone(T.session_tz()).timetz(), ctx=True)
register("localtimestamp", [], T.TIMESTAMP,
         lambda ctx: _now(ctx).astimezone(T.session_tz()).replace(tzinfo=None), ctx=True)
register("localtime", [], T.TIME,
         lambda ctx: _now(ctx).astimezone(T.session_tz()).time().replace(tzinfo=None), ctx=True)

_TRUNC_UNITS = ("microseconds", "milliseconds", "second", "minute", "hour", "day", "week",
                "month", "quarter", "year", "decade", "century", "millennium")


def _date_trunc(unit: str, stamp):
    unit = unit.lower().rstrip("s") if unit.lower() not in ("microseconds", "milliseconds") \
        else unit.lower()
    aware = stamp.tzinfo is not None
    if aware:
        stamp = stamp.astimezone(T.session_tz())
    if unit == "microseconds":
        out = stamp
    elif unit == "milliseconds":
        out = stamp.replace(microsecond=stamp.microsecond // 1000 * 1000)
    elif unit == "second":
        out = stamp.replace(microsecond=0)
    elif unit == "minute":
        out = stamp.replace(second=0, microsecond=0)
    elif unit == "hour":
        out = stamp.replace(minute=0, second=0, microsecond=0)
    elif unit == "day":
        out = stamp.replace(hour=0, minute=0, second=0, microsecond=0)
    elif unit == "week":
        day = stamp - dt.timedelta(days=stamp.weekday())
        out = day.replace(hour=0, minute=0, second=0, microsecond=0)
    elif unit == "month":
        out = stamp.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    elif unit == "quarter":
        out = stamp.replace(month=(stamp.month - 1) // 3 * 3 + 1, day=1, hour=0, minute=0,
                            second=0, microsecond=0)
    elif unit == "year":
        out = stamp.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    elif unit == "decade":
        out = stamp.replace(year=stamp.year // 10 * 10, month=1, day=1, hour=0, minute=0,
                            second=0, microsecond=0)
    elif unit == "century":
        out = stamp.replace(year=(stamp.year - 1) // 100 * 100 + 1, month=1, day=1, hour=0,
                            minute=0, second=0, microsecond=0)
    elif unit == "millennium":
        out = stamp.replace(year=(stamp.year - 1) // 1000 * 1000 + 1, month=1, day=1, hour=0,
                            minute=0, second=0, microsecond=0)
    else:
        raise SqlError(INVALID_PARAMETER_VALUE, f'unit "{unit}" not recognized for type '
                       + ("timestamp with time zone" if aware else "timestamp without time zone"))
    if aware:
        out = out.replace(tzinfo=None).replace(tzinfo=T.session_tz()).astimezone(dt.timezone.utc)
    return out


def _date_trunc_interval(unit: str, iv: T.Interval):
    unit = unit.lower().rstrip("s")
    if unit == "year":
        return T.Interval(iv.months // 12 * 12, 0, 0)
    if unit == "month":
        return T.Interval(iv.months, 0, 0)
    if unit == "day":
        return T.Interval(iv.months, iv.days, 0)
    sizes = {"hour": 3600000000, "minute": 60000000, "second": 1000000}
    size = sizes.get(unit, 1)
    return T.Interval(iv.months, iv.days, iv.micros // size * size)


register("date_trunc", [T.TEXT, T.TIMESTAMP], T.TIMESTAMP, _date_trunc)
register("date_trunc", [T.TEXT, T.TIMESTAMPTZ], T.TIMESTAMPTZ, _date_trunc)
register("date_trunc", [T.TEXT, T.INTERVAL], T.INTERVAL, _date_trunc_interval)


def extract_field(field: str, value, t: T.SqlType):
    """EXTRACT / date_part: the value of one field (numeric, as PostgreSQL 14+ returns)."""
    field = field.lower()
    if t.oid == T.INTERVAL.oid:
        return _extract_interval(field, value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        if field == "epoch":
            delta = value - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
            micros = (delta.days * 86400 + delta.seconds) * 1000000 + delta.microseconds
            return (Decimal(micros) / 1000000).quantize(Decimal("0.000001"))
        value = value.astimezone(T.session_tz())
    if field == "epoch":
        if isinstance(value, dt.datetime):
            delta = value - dt.datetime(1970, 1, 1)
            micros = (delta.days * 86400 + delta.seconds) * 1000000 + delta.microseconds
        elif isinstance(value, dt.date):
            return Decimal((value - dt.date(1970, 1, 1)).days * 86400)
        else:
            micros = ((value.hour * 60 + value.minute) * 60 + value.second) * 1000000 + value.microsecond
        return (Decimal(micros) / 1000000).quantize(Decimal("0.000001"))
    simple = {"year": "year", "month": "month", "day": "day", "hour": "hour", "minute": "minute"}
    if field in ("years", "months", "days", "hours", "minutes"):
        field = field[:-1]
    if field in simple:
        return Decimal(getattr(value, simple[field], 0))
    if field in ("second", "seconds"):
        sec = getattr(value, "second", 0)
        micro = getattr(value, "microsecond", 0)
        return (Decimal(sec * 1000000 + micro) / 1000000).quantize(Decimal("0.000001"))
    if field == "milliseconds":
        return (Decimal(value.second * 1000000 + value.microsecond) / 1000).quantize(Decimal("0.001"))
    if field == "microseconds":
        return Decimal(value.second * 1000000 + value.microsecond)
    if field in ("dow",):
        return Decimal((value.weekday() + 1) % 7)
    if field == "isodow":
        return Decimal(value.isoweekday())
    if field == "doy":
        return Decimal(value.timetuple().tm_yday)
    if field == "week":
        return Decimal(value.isocalendar()[1])
    if field == "isoyear":
        return Decimal(value.isocalendar()[0])
    if field == "quarter":
        return Decimal((value.month - 1) // 3 + 1)
    if field == "decade":
        return Decimal(value.year // 10)
    if field == "century":
        return Decimal((value.year - 1) // 100 + 1)
    if field == "millennium":
        return Decimal((value.year - 1) // 1000 + 1)
    if field == "julian":
        return Decimal(value.toordinal() + 1721425)
    if field == "timezone":
        return Decimal(0)
    raise SqlError(INVALID_PARAMETER_VALUE, f'unit "{field}" not recognized for type '
                   f"{T.format_type(t)}")


def _extract_interval(field, iv: T.Interval):
    if field == "epoch":
        total = Decimal(iv.months // 12 * 365 * 86400 + iv.months % 12 * 30 * 86400
                        + iv.days * 86400) * 1000000 + iv.micros
        total = total + Decimal(iv.months // 12 * 21600000000)      # 365.25 days a year
        return (total / 1000000).quantize(Decimal("0.000001"))
    seconds_total = iv.micros
    parts = {
        "year": iv.months // 12, "years": iv.months // 12,
        "month": iv.months % 12, "months": iv.months % 12,
        "day": iv.days, "days": iv.days,
        "hour": seconds_total // 3600000000, "hours": seconds_total // 3600000000,
        "minute": seconds_total % 3600000000 // 60000000,
        "minutes": seconds_total % 3600000000 // 60000000,
    }
    if field in parts:
        return Decimal(parts[field])
    if field in ("second", "seconds"):
        return (Decimal(seconds_total % 60000000) / 1000000).quantize(Decimal("0.000001"))
    raise SqlError(INVALID_PARAMETER_VALUE, f'unit "{field}" not recognized for type interval')


def _date_part(field, value, t):
    return float(extract_field(field, value, t))


register("date_part", [T.TEXT, T.TIMESTAMP], T.FLOAT8,
         lambda f, v: _date_part(f, v, T.TIMESTAMP))
register("date_part", [T.TEXT, T.TIMESTAMPTZ], T.FLOAT8,
         lambda f, v: _date_part(f, v, T.TIMESTAMPTZ))
register("date_part", [T.TEXT, T.INTERVAL], T.FLOAT8,
         lambda f, v: _date_part(f, v, T.INTERVAL))
register("date_part", [T.TEXT, T.DATE], T.FLOAT8, lambda f, v: _date_part(f, v, T.DATE))


def _age(a, b=None, ctx=None):
    if b is None:
        today = ctx.session.transaction_time().astimezone(T.session_tz()).date()
        b, a = a, dt.datetime(today.year, today.month, today.day)
    if isinstance(a, dt.datetime) and a.tzinfo is not None:
        a = a.astimezone(T.session_tz()).replace(tzinfo=None)
        b = b.astimezone(T.session_tz()).replace(tzinfo=None)
    sign = 1
    if a < b:
        a, b, sign = b, a, -1
    months = (a.year - b.year) * 12 + (a.month - b.month)
    anchor = O.add_interval(b, T.Interval(months, 0, 0))
    if anchor > a:
        months -= 1
        anchor = O.add_interval(b, T.Interval(months, 0, 0))
    rest = a - anchor
    micros = rest.seconds * 1000000 + rest.microseconds
    return T.Interval(sign * months, sign * rest.days, sign * micros)


register("age", [T.TIMESTAMP, T.TIMESTAMP], T.INTERVAL, lambda a, b: _age(a, b))
register("age", [T.TIMESTAMPTZ, T.TIMESTAMPTZ], T.INTERVAL, lambda a, b: _age(a, b))
register("age", [T.TIMESTAMP], T.INTERVAL, lambda ctx, a: _age(a, None, ctx), ctx=True)


def _make_date(y, m, d):
    try:
        return dt.date(y, m, d)
    except ValueError:
        raise SqlError("22008", f"date field value out of range: {y:d}-{m:02d}-{d:02d}") from None


register("make_date", [T.INT4, T.INT4, T.INT4], T.DATE, _make_date)
register("make_timestamp", [T.INT4, T.INT4, T.INT4, T.INT4, T.INT4, T.FLOAT8], T.TIMESTAMP,
         lambda y, mo, d, h, mi, s: dt.datetime(y, mo, d, h, mi, int(s),
                                                int(round((s - int(s)) * 1000000))))
register("make_interval", [T.INT4, T.INT4, T.INT4, T.INT4, T.INT4, T.INT4, T.FLOAT8],
         T.INTERVAL, lambda y, m, w, d, h, mi, s: T.Interval(
             y * 12 + m, w * 7 + d, int(round(((h * 60 + mi) * 60 + s) * 1000000))))
register("to_timestamp", [T.FLOAT8], T.TIMESTAMPTZ,
         lambda epoch: dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
         + dt.timedelta(microseconds=round(epoch * 1000000)))
register("isfinite", [T.TIMESTAMP], T.BOOL, lambda v: True)
register("isfinite", [T.DATE], T.BOOL, lambda v: True)
register("justify_days", [T.INTERVAL], T.INTERVAL,
         lambda iv: T.Interval(iv.months + int(iv.days / 30), iv.days - int(iv.days / 30) * 30,
                               iv.micros))
register("justify_hours", [T.INTERVAL], T.INTERVAL,
         lambda iv: T.Interval(iv.months, iv.days + int(iv.micros / 86400000000),
                               iv.micros - int(iv.micros / 86400000000) * 86400000000))


def _timezone(zone, stamp):
    """AT TIME ZONE: timestamptz -> local timestamp there; timestamp -> timestamptz."""
    tz = zone_info(zone)
    if stamp.tzinfo is not None:
        return stamp.astimezone(tz).replace(tzinfo=None)
    return stamp.replace(tzinfo=tz).astimezone(dt.timezone.utc)


def zone_info(name: str) -> dt.tzinfo:
    if isinstance(name, T.Interval):
        return dt.timezone(dt.timedelta(microseconds=name.micros))
    upper = name.strip().upper()
    if upper in ("UTC", "GMT", "Z", "ZULU", "UCT", "ETC/UTC"):
        return dt.timezone.utc
    m = re.match(r"^(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?$", upper)
    if m:
        # A fixed offset such as '+02', 'UTC-5' or '+05:30'.
        sign = 1 if m.group(1) == "+" else -1
        offset = dt.timedelta(hours=int(m.group(2)), minutes=int(m.group(3) or 0))
        return dt.timezone(sign * offset)
    try:
        from zoneinfo import ZoneInfo
        return ZoneInfo(name.strip())
    except Exception:
        raise SqlError(INVALID_PARAMETER_VALUE, f'time zone "{name}" not recognized') from None


register("timezone", [T.TEXT, T.TIMESTAMPTZ], T.TIMESTAMP, _timezone)
register("timezone", [T.TEXT, T.TIMESTAMP], T.TIMESTAMPTZ, _timezone)
register("timezone", [T.INTERVAL, T.TIMESTAMPTZ], T.TIMESTAMP, _timezone)

_TO_CHAR = [
    ("YYYY", lambda d: f"{d.year:04d}"), ("YY", lambda d: f"{d.year % 100:02d}"),
    ("MONTH", lambda d: d.strftime("%B").upper().ljust(9)),
    ("Month", lambda d: d.strftime("%B").ljust(9)), ("month", lambda d: d.strftime("%B").lower().ljust(9)),
    ("MON", lambda d: d.strftime("%b").upper()), ("Mon", lambda d: d.strftime("%b")),
    ("MM", lambda d: f"{d.month:02d}"),
    ("DAY", lambda d: d.strftime("%A").upper().ljust(9)), ("Day", lambda d: d.strftime("%A").ljust(9)),
    ("DY", lambda d: d.strftime("%a").upper()), ("Dy", lambda d: d.strftime("%a")),
    ("DDD", lambda d: f"{d.timetuple().tm_yday:03d}"), ("DD", lambda d: f"{d.day:02d}"),
    ("D", lambda d: str((d.weekday() + 1) % 7 + 1)),
    ("HH24", lambda d: f"{getattr(d, 'hour', 0):02d}"),
    ("HH12", lambda d: f"{(getattr(d, 'hour', 0) % 12) or 12:02d}"),
    ("HH", lambda d: f"{(getattr(d, 'hour', 0) % 12) or 12:02d}"),
    ("MI", lambda d: f"{getattr(d, 'minute', 0):02d}"), ("SS", lambda d: f"{getattr(d, 'second', 0):02d}"),
    ("MS", lambda d: f"{getattr(d, 'microsecond', 0) // 1000:03d}"),
    ("US", lambda d: f"{getattr(d, 'microsecond', 0):06d}"),
    ("AM", lambda d: "AM" if getattr(d, "hour", 0) < 12 else "PM"),
    ("PM", lambda d: "AM" if getattr(d, "hour", 0) < 12 else "PM"),
    ("Q", lambda d: str((d.month - 1) // 3 + 1)),
    ("WW", lambda d: f"{(d.timetuple().tm_yday - 1) // 7 + 1:02d}"),
    ("IW", lambda d: f"{d.isocalendar()[1]:02d}"),
]


def _to_char_datetime(value, fmt: str) -> str:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        value = value.astimezone(T.session_tz())
    out = []
    i = 0
    fill_mode = False
    while i < len(fmt):
        if fmt.startswith("FM", i):
            fill_mode = True
            i += 2
            continue
        if fmt[i] == '"':
            end = fmt.find('"', i + 1)
            end = len(fmt) if end < 0 else end
            out.append(fmt[i + 1:end])
            i = end + 1
            continue
        for pattern, render in _TO_CHAR:
            if fmt.startswith(pattern, i):
                text = render(value)
                if fill_mode:
                    text = text.strip()
                    if text.isdigit():
                        text = text.lstrip("0") or "0"
                    fill_mode = False
                out.append(text)
                i += len(pattern)
                break
        else:
            out.append(fmt[i])
            i += 1
    return "".join(out)


def _to_char_number(value, fmt: str) -> str:
    fm = fmt.startswith("FM")
    body = fmt[2:] if fm else fmt
    decimals = len(body.split(".")[1]) if "." in body else 0
    digits = sum(1 for c in body.split(".")[0] if c in "09")
    number = Decimal(str(value)).quantize(Decimal(1).scaleb(-decimals), rounding="ROUND_HALF_UP")
    text = f"{abs(number):.{decimals}f}"
    whole, _, frac = text.partition(".")
    if "," in body:
        whole = f"{int(whole):,}"
    zero_pad = body.split(".")[0].count("0")
    if zero_pad and len(whole) < digits:
        whole = whole.rjust(digits, "0")
    if len(whole.replace(",", "")) > digits and digits:
        whole = "#" * digits
        frac = "#" * decimals
    result = whole + ("." + frac if decimals else "")
    sign = "-" if number < 0 else ""
    if fm:
        return sign + result
    width = len(body) + 1
    return (sign + result).rjust(width)


def _to_char(value, fmt, t=None):
    return _to_char_datetime(value, fmt)


register("to_char", [T.TIMESTAMP, T.TEXT], T.TEXT, _to_char)
register("to_char", [T.TIMESTAMPTZ, T.TEXT], T.TEXT, _to_char)
register("to_char", [T.DATE, T.TEXT], T.TEXT, _to_char)
register("to_char", [T.INTERVAL, T.TEXT], T.TEXT,
         lambda iv, fmt: _to_char_datetime(dt.datetime(2000, 1, 1) + dt.timedelta(
             microseconds=iv.micros), fmt))
register("to_char", [T.NUMERIC_T, T.TEXT], T.TEXT, _to_char_number)
register("to_char", [T.FLOAT8, T.TEXT], T.TEXT, _to_char_number)
register("to_char", [T.INT8, T.TEXT], T.TEXT, _to_char_number)

_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_TO_DATE = {"YYYY": r"(?P<year>\d{4})", "MM": r"(?P<month>\d{1,2})", "DD": r"(?P<day>\d{1,2})",
            "Mon": r"(?P<mon>[A-Za-z]{3})", "MON": r"(?P<mon>[A-Za-z]{3})",
            "HH24": r"(?P<hour>\d{1,2})", "MI": r"(?P<minute>\d{1,2})", "SS": r"(?P<second>\d{1,2})"}


def _parse_with_format(text: str, fmt: str):
    pattern = re.escape(fmt)
    for key in sorted(_TO_DATE, key=len, reverse=True):
        if key in pattern:
            pattern = pattern.replace(key, _TO_DATE[key], 1)
    m = re.match(pattern, text.strip())
    if not m:
        raise SqlError("22007", f'invalid value "{text}" for "{fmt}"')
    parts = {k: int(v) for k, v in m.groupdict().items() if k != "mon"}
    if m.groupdict().get("mon"):
        parts["month"] = _MONTHS.index(m.group("mon").lower()) + 1
    return dt.datetime(parts.get("year", 1), parts.get("month", 1), parts.get("day", 1),
                       parts.get("hour", 0), parts.get("minute", 0), parts.get("second", 0))


register("to_date", [T.TEXT, T.TEXT], T.DATE, lambda s, f: _parse_with_format(s, f).date())
register("to_timestamp", [T.TEXT, T.TEXT], T.TIMESTAMPTZ,
         lambda s, f: _parse_with_format(s, f).replace(tzinfo=T.session_tz()).astimezone(dt.timezone.utc))
register("to_number", [T.TEXT, T.TEXT], T.NUMERIC_T,
         lambda s, f: T.parse_numeric(re.sub(r"[^0-9.\-]", "", s) or "0"))

# -- JSON -------------------------------------------------------------------------------


def to_json_value(value, t: T.SqlType):
    """A SQL value as a JSON-ready Python value (for to_json, json_agg, build_object)."""
    if value is None:
        return None
    if t.oid == T.JSONB.oid:
        return None if value is T.JSON_NULL else value
    if t.oid == T.JSON.oid:
        return T.parse_jsonb(value) if isinstance(value, str) else value
    if t.oid == T.BOOL.oid:
        return value
    if T.is_integer(t) or t.oid == T.OID.oid:
        return value
    if t.oid == T.NUMERIC_T.oid:
        return value
    if t.oid in (T.FLOAT4.oid, T.FLOAT8.oid):
        if math.isnan(value) or math.isinf(value):
            return T.format_float(value)
        return Decimal(T.format_float(value, t.oid == 700))
    if t.elem is not None:
        return [to_json_value(v, t.elem) if not isinstance(v, list) else to_json_value(v, t)
                for v in value]
    if t.oid == T.TIMESTAMP.oid:
        return T.format_date(value) + "T" + T.format_time(value)
    if t.oid == T.TIMESTAMPTZ.oid:
        text = T.format_timestamptz(value)
        return text[:10] + "T" + text[11:] + (":00" if len(text.split("+")[-1]) == 2
                                              and "+" in text[19:] else "")
    if t.oid == T.RECORD.oid and isinstance(value, T.Record):
        return {name: to_json_value(v, ft) for (name, ft), v in zip(value.fields, value)}
    if t.oid == T.RECORD.oid:
        return {f"f{i}": to_json_value(v, T.guess_type(v)) for i, v in enumerate(value, 1)}
    return T.to_text(value, t)


def json_build_object_text(pairs) -> str:
    """json_build_object's exact text: {"a" : 1, "b" : 2} (PostgreSQL spaces it so)."""
    inner = ", ".join(json.dumps(str(k), ensure_ascii=False) + " : " + T.format_json_compact(v)
                      for k, v in pairs)
    return "{" + inner + "}"


def json_build_array_text(items) -> str:
    return "[" + ", ".join(T.format_json_compact(v) for v in items) + "]"


def _jsonb_typeof(v):
    if v is T.JSON_NULL or v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float, Decimal)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


register("jsonb_typeof", [T.JSONB], T.TEXT, _jsonb_typeof)
register("row_to_json", [T.RECORD], T.JSON,
         lambda r: T.format_json_compact(to_json_value(r, T.RECORD)))
register("json_typeof", [T.JSON], T.TEXT, lambda s: _jsonb_typeof(T.parse_jsonb(s)))


def _jsonb_array_length(v):
    if not isinstance(v, list):
        raise SqlError(INVALID_PARAMETER_VALUE, "cannot get array length of a non-array")
    return len(v)


register("jsonb_array_length", [T.JSONB], T.INT4, _jsonb_array_length)
register("json_array_length", [T.JSON], T.INT4, lambda s: _jsonb_array_length(T.parse_jsonb(s)))
register("jsonb_extract_path", [T.JSONB, T.TEXT], T.JSONB,
         lambda v, *path: O.json_path(v, path), variadic=True)
register("jsonb_extract_path_text", [T.JSONB, T.TEXT], T.TEXT,
         lambda v, *path: O.json_path_text(v, path), variadic=True)
register("json_extract_path", [T.JSON, T.TEXT], T.JSON,
         lambda v, *path: _json_text_or_none(O.json_path(T.parse_jsonb(v), path)), variadic=True)
register("json_extract_path_text", [T.JSON, T.TEXT], T.TEXT,
         lambda v, *path: O.json_path_text(T.parse_jsonb(v), path), variadic=True)


def _json_text_or_none(v):
    return None if v is None else T.format_jsonb(v)
register("jsonb_pretty", [T.JSONB], T.TEXT, lambda v: _jsonb_pretty(v, 0))


def _jsonb_pretty(v, depth):
    pad = "    " * (depth + 1)
    if isinstance(v, dict):
        if not v:
            return "{\n" + "    " * depth + "}"
        items = [pad + json.dumps(k) + ": " + _jsonb_pretty(v[k], depth + 1)
                 for k in sorted(v, key=T._jsonb_sort_key)]
        return "{\n" + ",\n".join(items) + "\n" + "    " * depth + "}"
    if isinstance(v, list):
        if not v:
            return "[\n" + "    " * depth + "]"
        return "[\n" + ",\n".join(pad + _jsonb_pretty(x, depth + 1) for x in v) + "\n" \
            + "    " * depth + "]"
    return T.format_jsonb(v)


def _strip_nulls(v):
    if isinstance(v, dict):
        return {k: _strip_nulls(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [_strip_nulls(x) for x in v]
    return v


register("jsonb_strip_nulls", [T.JSONB], T.JSONB, _strip_nulls)


def _jsonb_set(target, path, new_value, create=True):
    if not path:
        return new_value
    import copy
    result = copy.deepcopy(target)
    node = result
    for i, step in enumerate(path):
        last = i == len(path) - 1
        if isinstance(node, dict):
            if last:
                if step in node or create:
                    node[step] = None if new_value is T.JSON_NULL else new_value
            elif step in node:
                node = node[step]
            else:
                return result
        elif isinstance(node, list):
            try:
                idx = int(step)
            except ValueError:
                raise SqlError("22P02", f'path element at position {i + 1} is not an integer: "{step}"')
            if last:
                if -len(node) <= idx < len(node):
                    node[idx] = new_value
                elif create:
                    if idx < 0:
                        node.insert(0, new_value)
                    else:
                        node.append(new_value)
            elif -len(node) <= idx < len(node):
                node = node[idx]
            else:
                return result
        else:
            return result
    return result


register("jsonb_set", [T.JSONB, TEXT_ARRAY, T.JSONB], T.JSONB, _jsonb_set)
register("jsonb_set", [T.JSONB, TEXT_ARRAY, T.JSONB, T.BOOL], T.JSONB, _jsonb_set)
register("jsonb_insert", [T.JSONB, TEXT_ARRAY, T.JSONB], T.JSONB, _jsonb_set)

# -- arrays -----------------------------------------------------------------------------


def _array_length(arr, dim):
    if dim == 1:
        return len(arr) if arr else None
    if dim == 2 and arr and isinstance(arr[0], list):
        return len(arr[0])
    return None


register("array_length", [ANYARRAY, T.INT4], T.INT4, _array_length)
register("array_upper", [ANYARRAY, T.INT4], T.INT4, _array_length)
register("array_lower", [ANYARRAY, T.INT4], T.INT4,
         lambda arr, dim: 1 if _array_length(arr, dim) else None)
register("cardinality", [ANYARRAY], T.INT4,
         lambda arr: sum(len(x) if isinstance(x, list) else 1 for x in arr))
register("array_ndims", [ANYARRAY], T.INT4,
         lambda arr: None if not arr else (2 if isinstance(arr[0], list) else 1))
register("array_dims", [ANYARRAY], T.TEXT,
         lambda arr: None if not arr else (f"[1:{len(arr)}][1:{len(arr[0])}]"
                                           if isinstance(arr[0], list) else f"[1:{len(arr)}]"))
register("array_append", [ANYARRAY, ANYELEMENT], _same(),
         lambda arr, v: (arr or []) + [v], strict=False)
register("array_prepend", [ANYELEMENT, ANYARRAY], _same(1),
         lambda v, arr: [v] + (arr or []), strict=False)
register("array_cat", [ANYARRAY, ANYARRAY], _same(),
         lambda a, b: None if a is None and b is None else (a or []) + (b or []), strict=False)
register("array_remove", [ANYARRAY, ANYELEMENT], _same(),
         lambda arr, v: None if arr is None else [x for x in arr if x != v], strict=False)
register("array_replace", [ANYARRAY, ANYELEMENT, ANYELEMENT], _same(),
         lambda arr, a, b: None if arr is None else [b if x == a else x for x in arr], strict=False)
register("array_position", [ANYARRAY, ANYELEMENT], T.INT4,
         lambda arr, v: None if arr is None else next(
             (i + 1 for i, x in enumerate(arr) if x == v), None), strict=False)
register("array_positions", [ANYARRAY, ANYELEMENT], T.BY_OID[1007],
         lambda arr, v: None if arr is None else [i + 1 for i, x in enumerate(arr) if x == v],
         strict=False)


def array_to_string_typed(arr, sep, null_text, elem):
    out = []
    for x in arr:
        if isinstance(x, list):
            out.append(array_to_string_typed(x, sep, null_text, elem))
        elif x is None:
            if null_text is not None:
                out.append(null_text)
        else:
            out.append(T.to_text(x, elem))
    return sep.join(out)


# -- system information ------------------------------------------------------------------

SERVER_VERSION = "15.0 (fromscratch)"
VERSION_STRING = ("PostgreSQL 15.0 (fromscratch) on x86_64-pc-linux-gnu, "
                  "compiled by CPython, 64-bit")

register("version", [], T.TEXT, lambda: VERSION_STRING)
register("current_database", [], T.NAME, lambda ctx: ctx.session.database.name, ctx=True)
register("current_catalog", [], T.NAME, lambda ctx: ctx.session.database.name, ctx=True)
register("current_user", [], T.NAME, lambda ctx: ctx.session.user, ctx=True)
register("current_role", [], T.NAME, lambda ctx: ctx.session.user, ctx=True)
register("user", [], T.NAME, lambda ctx: ctx.session.user, ctx=True)
register("session_user", [], T.NAME, lambda ctx: ctx.session.user, ctx=True)
register("current_schema", [], T.NAME, lambda ctx: ctx.session.current_schema(), ctx=True)
register("current_schemas", [T.BOOL], T.BY_OID[1003],
         lambda ctx, implicit: ctx.session.current_schemas(implicit), ctx=True)
register("pg_backend_pid", [], T.INT4, lambda ctx: ctx.session.pid, ctx=True)
register("inet_server_addr", [], T.TEXT, lambda: None, strict=False)
register("inet_server_port", [], T.INT4, lambda: None, strict=False)
register("inet_client_addr", [], T.TEXT, lambda: None, strict=False)
register("pg_is_in_recovery", [], T.BOOL, lambda: False)
register("pg_postmaster_start_time", [], T.TIMESTAMPTZ,
         lambda ctx: ctx.session.engine.started_at, ctx=True)
register("pg_conf_load_time", [], T.TIMESTAMPTZ,
         lambda ctx: ctx.session.engine.started_at, ctx=True)
register("txid_current", [], T.INT8, lambda ctx: ctx.session.txid(), ctx=True)
register("pg_current_xact_id", [], T.INT8, lambda ctx: ctx.session.txid(), ctx=True)
register("gen_random_uuid", [], T.UUID, uuid.uuid4, volatile=True)
register("uuid_generate_v4", [], T.UUID, uuid.uuid4, volatile=True)
register("pg_sleep", [T.FLOAT8], T.VOID, lambda ctx, s: _sleep(ctx, s) or VOID, ctx=True,
         volatile=True)
register("current_setting", [T.TEXT], T.TEXT,
         lambda ctx, name: ctx.session.show_setting(name), ctx=True)
register("current_setting", [T.TEXT, T.BOOL], T.TEXT,
         lambda ctx, name, missing_ok: ctx.session.show_setting(name, missing_ok), ctx=True)
register("set_config", [T.TEXT, T.TEXT, T.BOOL], T.TEXT,
         lambda ctx, name, value, local: ctx.session.set_setting(name, [value]) or
         ctx.session.show_setting(name), ctx=True, volatile=True)
register("pg_encoding_to_char", [T.INT4], T.NAME,
         lambda n: {6: "UTF8", 0: "SQL_ASCII", 8: "LATIN1"}.get(n, ""))
register("pg_char_to_encoding", [T.NAME], T.INT4, lambda s: 6 if s.upper() in ("UTF8", "UTF-8") else 0)
register("pg_client_encoding", [], T.NAME, lambda: "UTF8")
register("pg_notify", [T.TEXT, T.TEXT], T.VOID,
         lambda ctx, channel, payload: ctx.session.notify(channel, payload or "") or VOID,
         ctx=True, strict=False, volatile=True)
register("getdatabaseencoding", [], T.NAME, lambda: "UTF8")
register("pg_cancel_backend", [T.INT4], T.BOOL,
         lambda ctx, pid: ctx.session.engine.cancel_backend(pid), ctx=True, volatile=True)
register("pg_terminate_backend", [T.INT4], T.BOOL,
         lambda ctx, pid: ctx.session.engine.cancel_backend(pid), ctx=True, volatile=True)
for _n in ("pg_advisory_lock", "pg_advisory_xact_lock", "pg_advisory_lock_shared"):
    register(_n, [T.INT8], T.VOID, lambda key: VOID)
for _n in ("pg_try_advisory_lock", "pg_advisory_unlock", "pg_try_advisory_xact_lock"):
    register(_n, [T.INT8], T.BOOL, lambda key: True)
register("pg_advisory_unlock_all", [], T.VOID, lambda: VOID)
register("pg_size_pretty", [T.INT8], T.TEXT, lambda n: _size_pretty(n))
register("pg_size_pretty", [T.NUMERIC_T], T.TEXT, lambda n: _size_pretty(int(n)))
register("pg_column_size", [ANY], T.INT4, lambda v: len(str(v).encode()) + 1)
register("pg_typeof", [ANY], T.REGTYPE, None, strict=False)   # compiled specially
register("num_nulls", [ANY], T.INT4, lambda *vs: sum(v is None for v in vs), strict=False,
         variadic=True)
register("num_nonnulls", [ANY], T.INT4, lambda *vs: sum(v is not None for v in vs), strict=False,
         variadic=True)


def _sleep(ctx, seconds):
    deadline = time.monotonic() + seconds
    while True:
        ctx.check()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        before_blocking()
        time.sleep(min(remaining, 0.01))


def _size_pretty(n: int) -> str:
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if abs(n) < 10 * 1024 or unit == "TB":
            return f"{n} {unit}"
        n = (n + 512) // 1024 if n >= 0 else -((-n + 512) // 1024)
    return f"{n} PB"


# Catalog-backed functions: they read the session's database.

def _db(ctx):
    return ctx.session.database


def _relation(ctx, oid):
    return _db(ctx).by_oid.get(oid)


def _table_is_visible(ctx, oid):
    rel = _relation(ctx, oid)
    if rel is None:
        from .pgcatalog import system_relation_name
        return system_relation_name(oid) is not None
    return _db(ctx).find_relation([rel.name], ctx.session.search_path()) is rel


register("pg_table_is_visible", [T.OID], T.BOOL, _table_is_visible, ctx=True)
register("pg_type_is_visible", [T.OID], T.BOOL, lambda oid: True)
register("pg_function_is_visible", [T.OID], T.BOOL, lambda oid: True)
for _n in ("pg_collation_is_visible", "pg_operator_is_visible", "pg_conversion_is_visible",
           "pg_opclass_is_visible", "pg_ts_config_is_visible", "pg_statistics_obj_is_visible",
           "pg_opfamily_is_visible"):
    register(_n, [T.OID], T.BOOL, lambda oid: True)
register("pg_get_userbyid", [T.OID], T.NAME,
         lambda ctx, oid: (_db(ctx).cluster.role_by_oid(oid).name
                           if _db(ctx).cluster.role_by_oid(oid) else f"unknown (OID={oid})"),
         ctx=True)
register("format_type", [T.OID, T.INT4], T.TEXT,
         lambda oid, mod: (T.format_type(T.BY_OID[oid], mod if mod is not None else -1)
                           if oid in T.BY_OID else "???") if oid is not None else None,
         strict=False)
register("pg_get_expr", [T.TEXT, T.OID], T.TEXT, lambda expr, rel: expr)
register("pg_get_expr", [T.TEXT, T.OID, T.BOOL], T.TEXT, lambda expr, rel, pretty: expr)


def _indexdef(ctx, oid, column=0, pretty=False):
    from .pgcatalog import index_definition
    index = _relation(ctx, oid)
    if index is None or index.kind != "i":
        return None
    if column:
        return index.columns[column - 1] if column <= len(index.columns) else None
    return index_definition(index)


register("pg_get_indexdef", [T.OID], T.TEXT, _indexdef, ctx=True)
register("pg_get_indexdef", [T.OID, T.INT4, T.BOOL], T.TEXT, _indexdef, ctx=True)


def _constraintdef(ctx, oid, pretty=False):
    from .pgcatalog import constraint_definition
    c = _db(ctx).constraint_by_oid.get(oid)
    return constraint_definition(c) if c is not None else None


register("pg_get_constraintdef", [T.OID], T.TEXT, _constraintdef, ctx=True)
register("pg_get_constraintdef", [T.OID, T.BOOL], T.TEXT, _constraintdef, ctx=True)


def _viewdef(ctx, oid, pretty=False):
    rel = _relation(ctx, oid)
    return (" " + rel.text.rstrip(";") + ";") if rel is not None and rel.kind == "v" else None


register("pg_get_viewdef", [T.OID], T.TEXT, _viewdef, ctx=True)
register("pg_get_viewdef", [T.OID, T.BOOL], T.TEXT, _viewdef, ctx=True)
register("pg_get_viewdef", [T.TEXT], T.TEXT,
         lambda ctx, name: _viewdef(ctx, _regclass(ctx, name)), ctx=True)
register("pg_get_triggerdef", [T.OID], T.TEXT, lambda oid: None)
register("pg_get_triggerdef", [T.OID, T.BOOL], T.TEXT, lambda oid, pretty: None)
register("pg_relation_is_publishable", [T.REGCLASS], T.BOOL, lambda oid: False)
register("pg_get_partkeydef", [T.OID], T.TEXT, lambda oid: None, strict=False)
register("pg_get_statisticsobjdef_columns", [T.OID], T.TEXT, lambda oid: None)
register("pg_get_function_identity_arguments", [T.OID], T.TEXT, lambda oid: "")
register("pg_get_function_result", [T.OID], T.TEXT, lambda oid: None)
register("pg_get_function_arguments", [T.OID], T.TEXT, lambda oid: "")
register("pg_get_ruledef", [T.OID], T.TEXT, lambda oid: None)
register("pg_get_functiondef", [T.OID], T.TEXT,
         lambda oid: None if oid not in _BY_OID else
         f"-- {_BY_OID[oid].name}() is built into reldb (written in Python)\n")


def _get_serial_sequence(ctx, table, column):
    db = _db(ctx)
    rel = db.find_relation(_split(table), ctx.session.search_path())
    if rel is None:
        raise SqlError(UNDEFINED_TABLE, f'relation "{table}" does not exist')
    for r in db.relations():
        if r.kind == "S" and r.owned_by and r.owned_by[0] is rel and r.owned_by[1] == column:
            return f"{r.schema.name}.{r.name}"
    return None


def _split(name):
    from .catalog import _split_name
    return _split_name(name)


register("pg_get_serial_sequence", [T.TEXT, T.TEXT], T.TEXT, _get_serial_sequence, ctx=True)


def _description(ctx, oid, catalog=None):
    db = _db(ctx)
    rel = db.by_oid.get(oid)
    if rel is not None:
        return rel.comment
    for schema in db.schemas.values():
        if schema.oid == oid:
            return schema.comment
    if oid == db.oid:
        return db.comment
    return None


register("obj_description", [T.OID, T.NAME], T.TEXT, _description, ctx=True)
register("obj_description", [T.OID], T.TEXT, _description, ctx=True)
register("shobj_description", [T.OID, T.NAME], T.TEXT,
         lambda ctx, oid, cat: next((d.comment for d in _db(ctx).cluster.databases.values()
                                     if d.oid == oid), None), ctx=True)


def _col_description(ctx, oid, attnum):
    rel = _relation(ctx, oid)
    if rel is None or rel.kind != "r":
        return None
    for col in rel.columns:
        if col.attnum == attnum:
            return col.comment
    return None


register("col_description", [T.OID, T.INT4], T.TEXT, _col_description, ctx=True)
for _n, _args in (("has_table_privilege", [T.TEXT, T.TEXT]),
                  ("has_table_privilege", [T.NAME, T.TEXT, T.TEXT]),
                  ("has_table_privilege", [T.OID, T.TEXT]),
                  ("has_schema_privilege", [T.TEXT, T.TEXT]),
                  ("has_schema_privilege", [T.NAME, T.TEXT, T.TEXT]),
                  ("has_schema_privilege", [T.OID, T.TEXT]),
                  ("has_database_privilege", [T.TEXT, T.TEXT]),
                  ("has_database_privilege", [T.NAME, T.TEXT, T.TEXT]),
                  ("has_column_privilege", [T.TEXT, T.TEXT, T.TEXT]),
                  ("has_sequence_privilege", [T.TEXT, T.TEXT]),
                  ("has_function_privilege", [T.TEXT, T.TEXT]),
                  ("pg_has_role", [T.NAME, T.TEXT]),
                  ("pg_has_role", [T.NAME, T.NAME, T.TEXT])):
    register(_n, _args, T.BOOL, lambda *args: True)


def _regclass(ctx, name):
    from .catalog import regparse
    try:
        return regparse(name, T.REGCLASS)
    except SqlError:
        return None


register("to_regclass", [T.TEXT], T.REGCLASS, _regclass, ctx=True)


def _to_regtype(name):
    from .catalog import regparse
    try:
        return regparse(name, T.REGTYPE)
    except SqlError:
        return None


register("to_regtype", [T.TEXT], T.REGTYPE, _to_regtype)
register("to_regnamespace", [T.TEXT], T.REGNAMESPACE,
         lambda ctx, name: (_db(ctx).schemas[name].oid if name in _db(ctx).schemas else None),
         ctx=True)


def _relation_size(ctx, oid, fork="main"):
    """The size of a table's or an index's file (its pages, 8 kB each)."""
    rel = _relation(ctx, oid)
    if rel is None or rel.kind not in ("r", "i"):
        return 0
    return _db(ctx).storage.relation_size(rel.oid)


def _indexes_size(ctx, oid):
    rel = _relation(ctx, oid)
    if rel is None or rel.kind != "r":
        return 0
    return sum(_db(ctx).storage.relation_size(index.oid) for index in rel.indexes)


def _total_size(ctx, oid):
    return _relation_size(ctx, oid) + _indexes_size(ctx, oid)


def _database_size(ctx, name_or_oid):
    for db in ctx.session.engine.cluster.databases.values():
        if name_or_oid in (db.name, db.oid):
            return sum(db.storage.relation_size(rel.oid) for rel in db.relations())
    raise SqlError("3D000", f'database "{name_or_oid}" does not exist')


for _n in ("pg_relation_size", "pg_table_size"):
    register(_n, [T.REGCLASS], T.INT8, _relation_size, ctx=True)
register("pg_relation_size", [T.REGCLASS, T.TEXT], T.INT8, _relation_size, ctx=True)
register("pg_total_relation_size", [T.REGCLASS], T.INT8, _total_size, ctx=True)
register("pg_indexes_size", [T.REGCLASS], T.INT8, _indexes_size, ctx=True)
register("pg_database_size", [T.NAME], T.INT8, _database_size, ctx=True)
register("pg_database_size", [T.OID], T.INT8, _database_size, ctx=True)
register("pg_tablespace_location", [T.OID], T.TEXT, lambda oid: "")


# -- sequences --------------------------------------------------------------------------

def _sequence(ctx, name_or_oid):
    db = _db(ctx)
    if isinstance(name_or_oid, int):
        rel = db.by_oid.get(name_or_oid)
    else:
        rel = db.find_relation(_split(name_or_oid), ctx.session.search_path())
    if rel is None:
        raise SqlError(UNDEFINED_TABLE, f'relation "{name_or_oid}" does not exist')
    if rel.kind != "S":
        raise SqlError("42809", f'"{rel.name}" is not a sequence')
    return rel


def nextval(ctx, name):
    seq = _sequence(ctx, name)
    with seq.lock:
        if seq.is_called:
            value = seq.last_value + seq.increment
        else:
            value = seq.last_value
        if value > seq.maxvalue or value < seq.minvalue:
            if not seq.cycle:
                limit = "maximum" if value > seq.maxvalue else "minimum"
                bound = seq.maxvalue if value > seq.maxvalue else seq.minvalue
                raise SqlError("2200H", f'nextval: reached {limit} value of sequence '
                               f'"{seq.name}" ({bound})')
            value = seq.minvalue if value > seq.maxvalue else seq.maxvalue
        seq.last_value = value
        seq.is_called = True
        # Not transactional: logged now, kept even if the transaction rolls back.
        ctx.storage.log_sequence(ctx.txn, seq.oid, value, True)
    ctx.session.last_sequence_values[seq.oid] = value
    ctx.session.last_sequence = seq.oid
    return value


def currval(ctx, name):
    seq = _sequence(ctx, name)
    if seq.oid not in ctx.session.last_sequence_values:
        raise SqlError("55000", f'currval of sequence "{seq.name}" is not yet defined in this session')
    return ctx.session.last_sequence_values[seq.oid]


def setval(ctx, name, value, is_called=True):
    seq = _sequence(ctx, name)
    if value > seq.maxvalue or value < seq.minvalue:
        raise SqlError(NUMERIC_VALUE_OUT_OF_RANGE, f'setval: value {value} is out of bounds for '
                       f'sequence "{seq.name}" ({seq.minvalue}..{seq.maxvalue})')
    with seq.lock:
        seq.last_value = value
        seq.is_called = is_called
        ctx.storage.log_sequence(ctx.txn, seq.oid, value, is_called)
    if is_called:
        ctx.session.last_sequence_values[seq.oid] = value
    return value


def lastval(ctx):
    if ctx.session.last_sequence is None:
        raise SqlError("55000", "lastval is not yet defined in this session")
    return ctx.session.last_sequence_values[ctx.session.last_sequence]


for _t in (T.TEXT, T.REGCLASS):
    register("nextval", [_t], T.INT8, nextval, ctx=True, volatile=True)
    register("currval", [_t], T.INT8, currval, ctx=True, volatile=True)
    register("setval", [_t, T.INT8], T.INT8, setval, ctx=True, volatile=True)
    register("setval", [_t, T.INT8, T.BOOL], T.INT8, setval, ctx=True, volatile=True)
register("lastval", [], T.INT8, lastval, ctx=True, volatile=True)


# ---------------------------------------------------------------------------------------
# Aggregates: each is a class with add(value...) and result(); the planner wraps it with
# argument evaluation, FILTER, DISTINCT and ORDER BY.

class Accumulator:
    def __init__(self, arg_types):
        self.arg_types = arg_types

    def add(self, *values):
        raise NotImplementedError

    def result(self):
        raise NotImplementedError


class CountStar(Accumulator):
    def __init__(self, arg_types):
        self.n = 0

    def add(self, *values):
        self.n += 1

    def result(self):
        return self.n


class Count(CountStar):
    def add(self, value):
        if value is not None:
            self.n += 1


class Sum(Accumulator):
    def __init__(self, arg_types):
        self.total = None
        t = arg_types[0]
        self.numeric = t.oid in (T.NUMERIC_T.oid, T.INT8.oid)

    def add(self, value):
        if value is None:
            return
        if self.total is None:
            self.total = Decimal(value) if self.numeric and isinstance(value, int) else value
        elif self.numeric:
            self.total = T.NUMERIC.add(self.total, value)
        else:
            self.total = self.total + value

    def result(self):
        if isinstance(self.total, float) and math.isinf(self.total):
            raise SqlError(NUMERIC_VALUE_OUT_OF_RANGE, "value out of range: overflow")
        return self.total


def sum_type(types):
    t = types[0]
    if t.oid in (T.INT2.oid, T.INT4.oid):
        return T.INT8
    if t.oid == T.INT8.oid:
        return T.NUMERIC_T
    return t.base


class Avg(Accumulator):
    def __init__(self, arg_types):
        self.total = 0
        self.n = 0
        t = arg_types[0]
        self.kind = "float" if t.oid in (T.FLOAT4.oid, T.FLOAT8.oid) else \
            "interval" if t.oid == T.INTERVAL.oid else "numeric"
        if self.kind == "interval":
            self.total = T.Interval()

    def add(self, value):
        if value is None:
            return
        self.n += 1
        self.total = self.total + value if self.kind != "numeric" else \
            T.NUMERIC.add(self.total, value if isinstance(value, Decimal) else Decimal(value))

    def result(self):
        if self.n == 0:
            return None
        if self.kind == "float":
            return self.total / self.n
        if self.kind == "interval":
            return self.total.scale(1 / self.n)
        return O.numeric_div(Decimal(self.total), Decimal(self.n))


def avg_type(types):
    t = types[0]
    if t.oid in (T.FLOAT4.oid, T.FLOAT8.oid):
        return T.FLOAT8
    if t.oid == T.INTERVAL.oid:
        return T.INTERVAL
    return T.NUMERIC_T


class Min(Accumulator):
    greater = False

    def __init__(self, arg_types):
        self.value = None

    def add(self, value):
        if value is None:
            return
        if self.value is None or (value > self.value if self.greater else value < self.value):
            self.value = value

    def result(self):
        return self.value


class Max(Min):
    greater = True


class BoolAnd(Accumulator):
    def __init__(self, arg_types):
        self.value = None

    def add(self, value):
        if value is not None:
            self.value = value if self.value is None else (self.value and value)

    def result(self):
        return self.value


class BoolOr(BoolAnd):
    def add(self, value):
        if value is not None:
            self.value = value if self.value is None else (self.value or value)


class BitAnd(BoolAnd):
    def add(self, value):
        if value is not None:
            self.value = value if self.value is None else (self.value & value)


class BitOr(BoolAnd):
    def add(self, value):
        if value is not None:
            self.value = value if self.value is None else (self.value | value)


class StringAgg(Accumulator):
    def __init__(self, arg_types):
        self.parts = []
        self.seps = []

    def add(self, value, sep=None):
        if value is not None:
            self.parts.append(value)
            self.seps.append(sep or ("" if not isinstance(value, bytes) else b""))

    def result(self):
        if not self.parts:
            return None
        out = self.parts[0]
        for sep, part in zip(self.seps[1:], self.parts[1:]):
            out = out + sep + part
        return out


class ArrayAgg(Accumulator):
    def __init__(self, arg_types):
        self.items = []

    def add(self, value):
        self.items.append(value)

    def result(self):
        return list(self.items) if self.items else None


class JsonAgg(Accumulator):
    binary = False

    def __init__(self, arg_types):
        self.items = []
        self.t = arg_types[0]

    def add(self, value):
        self.items.append(to_json_value(value, self.t))

    def result(self):
        if not self.items:
            return None
        if self.binary:
            return list(self.items)
        # PostgreSQL puts a newline before each array or record element after the first.
        structured = self.t.oid == T.RECORD.oid or self.t.elem is not None
        separator = ", \n " if structured else ", "
        return "[" + separator.join(T.format_json_compact(v) for v in self.items) + "]"


class JsonbAgg(JsonAgg):
    binary = True


class JsonObjectAgg(Accumulator):
    binary = False

    def __init__(self, arg_types):
        self.pairs = []
        self.types = arg_types

    def add(self, key, value):
        if key is None:
            raise SqlError("22004", "field name must not be null")
        self.pairs.append((T.to_text(key, self.types[0]), to_json_value(value, self.types[1])))

    def result(self):
        if not self.pairs:
            return None
        if self.binary:
            return dict(self.pairs)
        return "{ " + ", ".join(json.dumps(k, ensure_ascii=False) + " : " + T.format_json_compact(v)
                                for k, v in self.pairs) + " }"


class JsonbObjectAgg(JsonObjectAgg):
    binary = True


class Variance(Accumulator):
    """Welford's running variance, over numeric for exact types, float otherwise."""
    sample = True
    root = False

    def __init__(self, arg_types):
        self.values = []
        self.exact = arg_types[0].oid not in (T.FLOAT4.oid, T.FLOAT8.oid)

    def add(self, value):
        if value is not None:
            self.values.append(Decimal(value) if self.exact else float(value))

    def result(self):
        n = len(self.values)
        if n == 0 or (self.sample and n == 1):
            return None
        if self.exact:
            # PostgreSQL's formula and result scale: (n*sum(x^2) - sum(x)^2) / (n*(n-1)),
            # at the scale numeric division picks for those two operands; the standard
            # deviation is the square root at that same scale.
            total = sum(self.values, Decimal(0))
            squares = sum((v * v for v in self.values), Decimal(0))
            numerator = T.NUMERIC.subtract(T.NUMERIC.multiply(Decimal(n), squares),
                                           T.NUMERIC.multiply(total, total))
            denominator = Decimal(n * (n - 1) if self.sample else n * n)
            scale = O.numeric_div_scale(numerator, denominator)
            quantum = Decimal(1).scaleb(-scale)
            if numerator <= 0:
                return Decimal(0).quantize(quantum)
            var = T.NUMERIC.divide(numerator, denominator)
            if self.root:
                var = var.sqrt(T.NUMERIC)
            return var.quantize(quantum, context=T.NUMERIC)
        mean = sum(self.values) / n
        var = sum((v - mean) ** 2 for v in self.values) / (n - 1 if self.sample else n)
        return math.sqrt(var) if self.root else var


def _variance(sample, root):
    return type("Variance", (Variance,), {"sample": sample, "root": root})


def variance_type(types):
    t = types[0]
    return T.FLOAT8 if t.oid in (T.FLOAT4.oid, T.FLOAT8.oid) else T.NUMERIC_T


class Aggregate:
    def __init__(self, name, args, result, factory):
        self.name = name
        self.args = args
        self.result = result
        self.factory = factory
        self.oid = _next_oid[0]
        _next_oid[0] += 1


AGGREGATES: dict[str, list[Aggregate]] = {}


def aggregate(name, args, result, factory):
    agg = Aggregate(name, args, result, factory)
    AGGREGATES.setdefault(name, []).append(agg)
    _BY_OID[agg.oid] = agg


aggregate("count", [], T.INT8, CountStar)
aggregate("count", [ANY], T.INT8, Count)
aggregate("sum", [ANYNUM], sum_type, Sum)
aggregate("sum", [T.INTERVAL], T.INTERVAL, Sum)
aggregate("avg", [ANYNUM], avg_type, Avg)
aggregate("avg", [T.INTERVAL], T.INTERVAL, Avg)
for _n, _cls in (("min", Min), ("max", Max)):
    aggregate(_n, [ANY], _same(), _cls)
aggregate("bool_and", [T.BOOL], T.BOOL, BoolAnd)
aggregate("every", [T.BOOL], T.BOOL, BoolAnd)
aggregate("bool_or", [T.BOOL], T.BOOL, BoolOr)
aggregate("bit_and", [ANYNUM], _same(), BitAnd)
aggregate("bit_or", [ANYNUM], _same(), BitOr)
aggregate("string_agg", [T.TEXT, T.TEXT], T.TEXT, StringAgg)
aggregate("string_agg", [T.BYTEA, T.BYTEA], T.BYTEA, StringAgg)
aggregate("array_agg", [ANY], lambda types: types[0].array_of() if types[0].array_oid
          else (types[0] if types[0].elem is not None else TEXT_ARRAY), ArrayAgg)
aggregate("json_agg", [ANY], T.JSON, JsonAgg)
aggregate("jsonb_agg", [ANY], T.JSONB, JsonbAgg)
aggregate("json_object_agg", [ANY, ANY], T.JSON, JsonObjectAgg)
aggregate("jsonb_object_agg", [ANY, ANY], T.JSONB, JsonbObjectAgg)
for _n, _s, _r in (("stddev", True, True), ("stddev_samp", True, True),
                   ("stddev_pop", False, True), ("variance", True, False),
                   ("var_samp", True, False), ("var_pop", False, False)):
    aggregate(_n, [ANYNUM], variance_type, _variance(_s, _r))


def resolve_aggregate(name: str, arg_types: list[T.SqlType]):
    """-> (Aggregate, coerced argument types, result type), or None if not an aggregate."""
    candidates = AGGREGATES.get(name)
    if not candidates:
        return None
    best = None
    for agg in candidates:
        f = Func(name, agg.args, agg.result, None)
        m = _match(f, arg_types)
        if m is not None and (best is None or m[0] < best[1][0]):
            best = (agg, m)
    if best is None:
        raise no_such_function(name, arg_types)
    agg, (_, targets) = best
    result = agg.result(targets) if callable(agg.result) and not isinstance(agg.result, T.SqlType) \
        else agg.result
    return agg, targets, result


def is_aggregate(name: str) -> bool:
    return name in AGGREGATES


# ---------------------------------------------------------------------------------------
# Window-only functions: evaluate(values per row, peer group starts) -> list of results.

WINDOW_FUNCTIONS = {"row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile",
                    "lag", "lead", "first_value", "last_value", "nth_value"}


def window_result_type(name: str, arg_types: list[T.SqlType]) -> T.SqlType:
    if name in ("row_number", "rank", "dense_rank"):
        return T.INT8
    if name in ("percent_rank", "cume_dist"):
        return T.FLOAT8
    if name == "ntile":
        return T.INT4
    if not arg_types:
        raise no_such_function(name, arg_types)
    return arg_types[0] if arg_types[0].oid != T.UNKNOWN.oid else T.TEXT


def ranking(name: str, peers: list[int], n: int, arg=None) -> list:
    if name == "row_number":
        return list(range(1, n + 1))
    if name == "rank":
        return [p + 1 for p in peers]
    if name == "dense_rank":
        out, rank, last = [], 0, None
        for p in peers:
            if p != last:
                rank += 1
                last = p
            out.append(rank)
        return out
    if name == "percent_rank":
        return [0.0 if n == 1 else p / (n - 1) for p in peers]
    if name == "cume_dist":
        ends = _peer_ends(peers)
        return [(ends[i] + 1) / n for i in range(n)]
    raise AssertionError(name)


def _peer_ends(peers: list[int]) -> list[int]:
    ends = [0] * len(peers)
    i = len(peers) - 1
    while i >= 0:
        start = peers[i]
        for j in range(start, i + 1):
            ends[j] = i
        i = start - 1
    return ends


def peer_ends(peers):
    return _peer_ends(peers)


def check_positive(value, what="argument of ntile"):
    if value is None or value <= 0:
        raise SqlError("22014", f"{what} must be greater than zero")
    return value

