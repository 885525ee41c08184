"""Aggregation expressions: `{$add: ["$price", "$tax"]}` compiled into a function.

    expression = compile_expression({"$concat": ["$first", " ", "$last"]})
    expression(document, {"ROOT": document, "CURRENT": document})   # -> "Ada Lovelace"

An expression is one of:

* a field path, "$a.b" (through arrays it yields the list of values, see
  documents.lookup), or a variable, "$$ROOT", "$$CURRENT.a", "$$name", "$$NOW",
  "$$REMOVE" (which makes the field disappear);
* a literal (a number, a string that does not start with "$", true, null...);
* an object whose only key is an operator, `{$op: arguments}`;
* any other object or array: each member is an expression.

A missing field evaluates to MISSING; most operators treat it like null ("null in,
null out"), as MongoDB does. Numbers follow MongoDB's widening: int32 + int32 stays an
integer (becoming an Int64 past 32 bits), anything with a double is a double, anything
with a decimal is a decimal.
"""

from __future__ import annotations

import datetime
import decimal
import math
import re
from typing import Callable

from . import ordering
from .bson import UTC, Decimal128, Int64, ObjectId, Regex, datetime_from_millis, \
    millis_from_datetime
from .documents import MISSING, lookup
from .errors import MongoError

Expression = Callable[[object, dict], object]


def truthy(value) -> bool:
    """MongoDB's truth: false, null, missing and zero are false; everything else true."""
    if value is None or value is MISSING or value is False:
        return False
    if ordering.is_number(value):
        return ordering.number(value) != 0
    return True


def compile_expression(spec) -> Expression:
    if isinstance(spec, str):
        if spec.startswith("$$"):
            return _variable(spec[2:])
        if spec.startswith("$"):
            path = spec[1:]
            if not path:
                raise MongoError(16872, "'$' by itself is not a valid FieldPath")
            parts = path.split(".")
            if len(parts) == 1:
                return lambda doc, variables: doc.get(path, MISSING) \
                    if isinstance(doc, dict) else MISSING
            return lambda doc, variables: lookup(doc, parts)
        return lambda doc, variables: spec
    if isinstance(spec, dict):
        if len(spec) == 1:
            operator = next(iter(spec))
            if operator.startswith("$"):
                if operator not in OPERATORS:
                    raise MongoError(168, f"Unrecognized expression '{operator}'")
                return OPERATORS[operator](spec[operator])
        for key in spec:
            if key.startswith("$"):
                raise MongoError(15983, f"an expression object may not mix operators and "
                                        f"fields, or have several operators: {key}")
        members = {key: compile_expression(value) for key, value in spec.items()}

        def build_object(doc, variables):
            out = {}
            for key, member in members.items():
                value = member(doc, variables)
                if value is not MISSING:
                    out[key] = value
            return out
        return build_object
    if isinstance(spec, list):
        items = [compile_expression(item) for item in spec]
        return lambda doc, variables: [
            None if (value := item(doc, variables)) is MISSING else value for item in items]
    return lambda doc, variables: spec


def _variable(name: str) -> Expression:
    base, _, rest = name.partition(".")
    if base == "NOW":
        return lambda doc, variables: datetime.datetime.now(UTC).replace(
            microsecond=datetime.datetime.now(UTC).microsecond // 1000 * 1000)
    if base == "REMOVE":
        return lambda doc, variables: MISSING
    parts = rest.split(".") if rest else []

    def get(doc, variables):
        if base == "CURRENT" and "CURRENT" not in variables:
            value = doc
        elif base not in variables:
            raise MongoError(17276, f"Use of undefined variable: {base}")
        else:
            value = variables[base]
        return lookup(value, parts) if parts else value
    return get


def evaluate(spec, document: dict, variables: dict | None = None):
    """Compile and evaluate once (for one-off expressions)."""
    variables = variables if variables is not None else {"ROOT": document, "CURRENT": document}
    return compile_expression(spec)(document, variables)


# -- operator registry ---------------------------------------------------------------------

OPERATORS: dict[str, Callable[[object], Expression]] = {}


def operator(*names: str):
    def register(factory):
        for name in names:
            OPERATORS[name] = factory
        return factory
    return register


def _arguments(spec, name: str, count: int | tuple[int, int] | None = None) -> list[Expression]:
    args = spec if isinstance(spec, list) else [spec]
    if count is not None:
        low, high = (count, count) if isinstance(count, int) else count
        if not low <= len(args) <= high:
            raise MongoError(16020, f"Expression {name} takes exactly {count} arguments. "
                                    f"{len(args)} were passed in.")
    return [compile_expression(arg) for arg in args]


def _simple(name: str, count, function):
    """Register an operator whose arguments are evaluated first, then passed on."""
    def factory(spec):
        args = _arguments(spec, name, count)

        def run(doc, variables):
            return function(*[arg(doc, variables) for arg in args])
        return run
    OPERATORS[name] = factory


def _nullish(value) -> bool:
    return value is None or value is MISSING


# -- numbers -------------------------------------------------------------------------------


def _numeric(value, name: str):
    if not ordering.is_number(value):
        raise MongoError(16554, f"{name} only supports numeric types, not "
                                f"{ordering.type_name(value) if value is not MISSING else 'missing'}")
    return ordering.number(value)


def number_result(value, *operands):
    """Give a computed number MongoDB's type: decimal if any operand was, else double if
    any was, else int (Int64 when any operand was a long or the value needs 64 bits)."""
    kinds = {type(o) for o in operands}
    if Decimal128 in kinds or decimal.Decimal in kinds:
        return Decimal128(decimal.Decimal(value) if not isinstance(value, decimal.Decimal) else value)
    if float in kinds or isinstance(value, float):
        return float(value)
    if isinstance(value, int):
        if Int64 in kinds or not -0x80000000 <= value <= 0x7FFFFFFF:
            if not -0x8000000000000000 <= value <= 0x7FFFFFFFFFFFFFFF:
                return float(value)
            return Int64(value)
        return int(value)
    return value


def _to_decimal_context(values):
    return [decimal.Decimal(v) if isinstance(v, (int, float)) and not isinstance(v, bool)
            else v for v in values]


@operator("$add")
def _add(spec):
    args = _arguments(spec, "$add")

    def run(doc, variables):
        values = [arg(doc, variables) for arg in args]
        if any(_nullish(v) for v in values):
            return None
        dates = [v for v in values if isinstance(v, datetime.datetime)]
        if len(dates) > 1:
            raise MongoError(16612, "only one date allowed in an $add expression")
        numbers = [v for v in values if not isinstance(v, datetime.datetime)]
        exact = [_numeric(v, "$add") for v in numbers]
        if any(isinstance(v, decimal.Decimal) for v in exact):
            exact = _to_decimal_context(exact)
        total = sum(exact) if exact else 0
        if dates:
            return datetime_from_millis(millis_from_datetime(dates[0]) + int(round(total)))
        return number_result(total, *numbers)
    return run


@operator("$subtract")
def _subtract(spec):
    first, second = _arguments(spec, "$subtract", 2)

    def run(doc, variables):
        a, b = first(doc, variables), second(doc, variables)
        if _nullish(a) or _nullish(b):
            return None
        if isinstance(a, datetime.datetime):
            if isinstance(b, datetime.datetime):
                return Int64(millis_from_datetime(a) - millis_from_datetime(b))
            return datetime_from_millis(millis_from_datetime(a) - int(round(_numeric(b, "$subtract"))))
        x, y = _numeric(a, "$subtract"), _numeric(b, "$subtract")
        if isinstance(x, decimal.Decimal) or isinstance(y, decimal.Decimal):
            x, y = _to_decimal_context([x, y])
        return number_result(x - y, a, b)
    return run


@operator("$multiply")
def _multiply(spec):
    args = _arguments(spec, "$multiply")

    def run(doc, variables):
        values = [arg(doc, variables) for arg in args]
        if any(_nullish(v) for v in values):
            return None
        exact = [_numeric(v, "$multiply") for v in values]
        if any(isinstance(v, decimal.Decimal) for v in exact):
            exact = _to_decimal_context(exact)
        return number_result(math.prod(exact), *values)
    return run


@operator("$divide")
def _divide(spec):
    first, second = _arguments(spec, "$divide", 2)

    def run(doc, variables):
        a, b = first(doc, variables), second(doc, variables)
        if _nullish(a) or _nullish(b):
            return None
        x, y = _numeric(a, "$divide"), _numeric(b, "$divide")
        if y == 0:
            raise MongoError(2, "can't $divide by zero")
        if isinstance(x, decimal.Decimal) or isinstance(y, decimal.Decimal):
            x, y = _to_decimal_context([x, y])
            return Decimal128(x / y)
        return x / y
    return run


@operator("$mod")
def _mod(spec):
    first, second = _arguments(spec, "$mod", 2)

    def run(doc, variables):
        a, b = first(doc, variables), second(doc, variables)
        if _nullish(a) or _nullish(b):
            return None
        x, y = _numeric(a, "$mod"), _numeric(b, "$mod")
        if y == 0:
            raise MongoError(16610, "can't $mod by zero")
        result = math.fmod(x, y) if isinstance(x, float) or isinstance(y, float) else \
            (abs(x) % abs(y)) * (1 if x >= 0 else -1)
        return number_result(result, a, b)
    return run


def _unary_math(name: str, function, keep_type: bool = False):
    def factory(spec):
        (arg,) = _arguments(spec, name, 1)

        def run(doc, variables):
            value = arg(doc, variables)
            if _nullish(value):
                return None
            exact = _numeric(value, name)
            result = function(exact)
            return number_result(result, value) if keep_type else \
                (Decimal128(result) if isinstance(exact, decimal.Decimal) else float(result))
        return run
    OPERATORS[name] = factory


_unary_math("$abs", abs, keep_type=True)
_unary_math("$ceil", lambda x: math.ceil(x) if not isinstance(x, float) else float(math.ceil(x)),
            keep_type=True)
_unary_math("$floor", lambda x: math.floor(x) if not isinstance(x, float) else float(math.floor(x)),
            keep_type=True)
_unary_math("$sqrt", lambda x: math.sqrt(x) if x >= 0 else _raise(28714, "$sqrt's argument must be >= 0"))
_unary_math("$exp", math.exp)
_unary_math("$ln", lambda x: math.log(x) if x > 0 else _raise(28766, "$ln's argument must be > 0"))
_unary_math("$log10", lambda x: math.log10(x) if x > 0 else _raise(28761, "$log10's argument must be > 0"))


def _raise(code: int, message: str):
    raise MongoError(code, message)


@operator("$rand")
def _rand(spec):
    import random
    return lambda doc, variables: random.random()


@operator("$log")
def _log(spec):
    first, second = _arguments(spec, "$log", 2)

    def run(doc, variables):
        a, b = first(doc, variables), second(doc, variables)
        if _nullish(a) or _nullish(b):
            return None
        x, base = float(_numeric(a, "$log")), float(_numeric(b, "$log"))
        if x <= 0 or base <= 0 or base == 1:
            raise MongoError(28758, "$log's arguments must be positive, and the base not 1")
        return math.log(x, base)
    return run


@operator("$pow")
def _pow(spec):
    first, second = _arguments(spec, "$pow", 2)

    def run(doc, variables):
        a, b = first(doc, variables), second(doc, variables)
        if _nullish(a) or _nullish(b):
            return None
        x, y = _numeric(a, "$pow"), _numeric(b, "$pow")
        if x == 0 and y < 0:
            raise MongoError(28764, "$pow cannot take a base of 0 and a negative exponent")
        if isinstance(x, int) and isinstance(y, int) and y >= 0:
            return number_result(x ** y, a, b)
        return number_result(float(x) ** float(y), a, b, 0.0)
    return run


def _rounding(name: str, mode):
    def factory(spec):
        args = _arguments(spec, name, (1, 2))

        def run(doc, variables):
            value = args[0](doc, variables)
            places = args[1](doc, variables) if len(args) > 1 else 0
            if _nullish(value) or _nullish(places):
                return None
            exact = _numeric(value, name)
            places = int(_numeric(places, name))
            quantum = decimal.Decimal(1).scaleb(-places)
            rounded = decimal.Decimal(str(exact) if isinstance(exact, float) else exact) \
                .quantize(quantum, rounding=mode) if math.isfinite(float(exact)) else exact
            if isinstance(exact, float):
                return float(rounded)
            if isinstance(exact, decimal.Decimal):
                return Decimal128(rounded)
            return number_result(int(rounded), value)
        return run
    OPERATORS[name] = factory


_rounding("$round", decimal.ROUND_HALF_EVEN)
_rounding("$trunc", decimal.ROUND_DOWN)


# -- comparison and booleans ---------------------------------------------------------------


def _compare_values(a, b) -> int:
    a = None if a is MISSING else a
    b = None if b is MISSING else b
    return ordering.compare(a, b)


for _name, _test in {"$eq": lambda c: c == 0, "$ne": lambda c: c != 0, "$gt": lambda c: c > 0,
                     "$gte": lambda c: c >= 0, "$lt": lambda c: c < 0,
                     "$lte": lambda c: c <= 0}.items():
    _simple(_name, 2, lambda a, b, _test=_test: _test(_compare_values(a, b)))
_simple("$cmp", 2, _compare_values)


@operator("$and")
def _and(spec):
    args = _arguments(spec, "$and")
    return lambda doc, variables: all(truthy(arg(doc, variables)) for arg in args)


@operator("$or")
def _or(spec):
    args = _arguments(spec, "$or")
    return lambda doc, variables: any(truthy(arg(doc, variables)) for arg in args)


_simple("$not", 1, lambda value: not truthy(value))


# -- conditionals and variables -----------------------------------------------------------


@operator("$cond")
def _cond(spec):
    if isinstance(spec, dict):
        try:
            spec = [spec["if"], spec["then"], spec["else"]]
        except KeyError as missing:
            raise MongoError(17080, f"Missing {missing} parameter to $cond") from None
    condition, then, otherwise = _arguments(spec, "$cond", 3)
    return lambda doc, variables: then(doc, variables) if truthy(condition(doc, variables)) \
        else otherwise(doc, variables)


@operator("$ifNull")
def _if_null(spec):
    args = _arguments(spec, "$ifNull")
    if len(args) < 2:
        raise MongoError(1257300, "$ifNull needs at least two arguments")

    def run(doc, variables):
        for arg in args[:-1]:
            value = arg(doc, variables)
            if not _nullish(value):
                return value
        return args[-1](doc, variables)
    return run


@operator("$switch")
def _switch(spec):
    if not isinstance(spec, dict) or "branches" not in spec:
        raise MongoError(40061, "$switch requires at least one branch")
    branches = [(compile_expression(b["case"]), compile_expression(b["then"]))
                for b in spec["branches"]]
    default = compile_expression(spec["default"]) if "default" in spec else None

    def run(doc, variables):
        for case, then in branches:
            if truthy(case(doc, variables)):
                return then(doc, variables)
        if default is None:
            raise MongoError(40066, "$switch could not find a matching branch for an input, "
                                    "and no default was specified.")
        return default(doc, variables)
    return run


@operator("$let")
def _let(spec):
    bound = {name: compile_expression(value) for name, value in spec.get("vars", {}).items()}
    body = compile_expression(spec.get("in"))

    def run(doc, variables):
        inner = dict(variables)
        for name, value in bound.items():
            inner[name] = value(doc, variables)
        return body(doc, inner)
    return run


@operator("$literal")
def _literal(spec):
    return lambda doc, variables: spec


# -- strings -------------------------------------------------------------------------------


def _text(value, name: str) -> str:
    if _nullish(value):
        return ""
    if isinstance(value, str):
        return value
    if ordering.is_number(value) or isinstance(value, datetime.datetime):
        return to_string(value)
    raise MongoError(16007, f"{name} needs string arguments, not {ordering.type_name(value)}")


@operator("$concat")
def _concat(spec):
    args = _arguments(spec, "$concat")

    def run(doc, variables):
        values = [arg(doc, variables) for arg in args]
        if any(_nullish(v) for v in values):
            return None
        for value in values:
            if not isinstance(value, str):
                raise MongoError(16702, f"$concat only supports strings, not "
                                        f"{ordering.type_name(value)}")
        return "".join(values)
    return run


_simple("$toLower", 1, lambda v: _text(v, "$toLower").lower())
_simple("$toUpper", 1, lambda v: _text(v, "$toUpper").upper())
_simple("$strLenCP", 1, lambda v: len(v) if isinstance(v, str) else
        _raise(34471, "$strLenCP requires a string argument"))
_simple("$strLenBytes", 1, lambda v: len(v.encode()) if isinstance(v, str) else
        _raise(34473, "$strLenBytes requires a string argument"))
def _strcasecmp(a, b) -> int:
    x, y = _text(a, "$strcasecmp").lower(), _text(b, "$strcasecmp").lower()
    return (x > y) - (x < y)


_simple("$strcasecmp", 2, _strcasecmp)


def _substr(value, start, length):
    text = _text(value, "$substr")
    start, length = int(_numeric(start, "$substr")), int(_numeric(length, "$substr"))
    if start < 0:
        return ""
    return text[start:] if length < 0 else text[start:start + length]


_simple("$substr", 3, _substr)
_simple("$substrCP", 3, _substr)
def _substr_bytes(value, start, length):
    data = _text(value, "$substrBytes").encode("utf-8")
    start, length = int(_numeric(start, "$substrBytes")), int(_numeric(length, "$substrBytes"))
    piece = data[start:] if length < 0 else data[start:start + length]
    return piece.decode("utf-8", "replace")


_simple("$substrBytes", 3, _substr_bytes)


@operator("$split")
def _split(spec):
    first, second = _arguments(spec, "$split", 2)

    def run(doc, variables):
        text, separator = first(doc, variables), second(doc, variables)
        if _nullish(text):
            return None
        if not isinstance(text, str) or not isinstance(separator, str):
            raise MongoError(40085, "$split requires a string and a string delimiter")
        if not separator:
            raise MongoError(40087, "$split requires a non-empty separator")
        return text.split(separator)
    return run


def _trim_factory(name: str, which: str):
    def factory(spec):
        if not isinstance(spec, dict) or "input" not in spec:
            raise MongoError(50695, f"{name} requires an 'input' argument")
        source = compile_expression(spec["input"])
        chars = compile_expression(spec["chars"]) if "chars" in spec else None

        def run(doc, variables):
            text = source(doc, variables)
            if _nullish(text):
                return None
            strip = chars(doc, variables) if chars else None
            if which == "both":
                return text.strip(strip)
            return text.lstrip(strip) if which == "left" else text.rstrip(strip)
        return run
    OPERATORS[name] = factory


_trim_factory("$trim", "both")
_trim_factory("$ltrim", "left")
_trim_factory("$rtrim", "right")


@operator("$indexOfCP", "$indexOfBytes")
def _index_of_cp(spec):
    args = _arguments(spec, "$indexOfCP", (2, 4))

    def run(doc, variables):
        values = [arg(doc, variables) for arg in args]
        if _nullish(values[0]):
            return None
        start = int(_numeric(values[2], "$indexOfCP")) if len(values) > 2 else 0
        end = int(_numeric(values[3], "$indexOfCP")) if len(values) > 3 else len(values[0])
        return values[0].find(values[1], start, end)
    return run


def _replace_factory(name: str, count: int):
    def factory(spec):
        source, find, replacement = (compile_expression(spec.get(k))
                                     for k in ("input", "find", "replacement"))

        def run(doc, variables):
            values = source(doc, variables), find(doc, variables), replacement(doc, variables)
            if any(_nullish(v) for v in values):
                return None
            return values[0].replace(values[1], values[2], count)
        return run
    OPERATORS[name] = factory


_replace_factory("$replaceAll", -1)
_replace_factory("$replaceOne", 1)


def _regex_factory(name: str):
    def factory(spec):
        source = compile_expression(spec.get("input"))
        pattern = compile_expression(spec.get("regex"))
        options = compile_expression(spec.get("options", ""))

        def run(doc, variables):
            text, regex, flags = source(doc, variables), pattern(doc, variables), options(doc, variables)
            if isinstance(regex, Regex):
                regex, flags = regex.pattern, (flags or "") + regex.flags
            if _nullish(text):
                return False if name == "$regexMatch" else None
            compiled = re.compile(regex, sum({"i": re.I, "m": re.M, "s": re.S, "x": re.X}
                                             .get(letter, 0) for letter in set(flags or "")))
            if name == "$regexMatch":
                return compiled.search(text) is not None
            found = compiled.search(text)
            if found is None:
                return None
            return {"match": found.group(0), "idx": found.start(),
                    "captures": list(found.groups())}
        return run
    OPERATORS[name] = factory


_regex_factory("$regexMatch")
_regex_factory("$regexFind")


# -- arrays --------------------------------------------------------------------------------


def _array(value, name: str):
    if type(value) is not list:
        raise MongoError(28667 if name == "$size" else 17124,
                         f"The argument to {name} must be an array, but was of type: "
                         f"{ordering.type_name(value) if value is not MISSING else 'missing'}")
    return value


_simple("$size", 1, lambda v: len(_array(v, "$size")))
_simple("$isArray", 1, lambda v: type(v) is list)
_simple("$reverseArray", 1, lambda v: None if _nullish(v) else _array(v, "$reverseArray")[::-1])


def _element_at(array, index):
    if _nullish(array) or _nullish(index):
        return None
    array = _array(array, "$arrayElemAt")
    index = int(_numeric(index, "$arrayElemAt"))
    if -len(array) <= index < len(array):
        return array[index]
    return MISSING


_simple("$arrayElemAt", 2, _element_at)
def _end_element(name: str, index: int):
    """$first / $last: an array's first or last element (missing for an empty array)."""
    def element(value):
        if _nullish(value):
            return None
        array = _array(value, name)
        return array[index] if array else MISSING
    _simple(name, 1, element)


_end_element("$first", 0)
_end_element("$last", -1)


@operator("$concatArrays")
def _concat_arrays(spec):
    args = _arguments(spec, "$concatArrays")

    def run(doc, variables):
        out = []
        for arg in args:
            value = arg(doc, variables)
            if _nullish(value):
                return None
            out.extend(_array(value, "$concatArrays"))
        return out
    return run


@operator("$in")
def _in(spec):
    needle, haystack = _arguments(spec, "$in", 2)

    def run(doc, variables):
        value, array = needle(doc, variables), haystack(doc, variables)
        array = _array(array, "$in")
        key = ordering.sort_key(None if value is MISSING else value)
        return any(ordering.sort_key(item) == key for item in array)
    return run


@operator("$indexOfArray")
def _index_of_array(spec):
    args = _arguments(spec, "$indexOfArray", (2, 4))

    def run(doc, variables):
        values = [arg(doc, variables) for arg in args]
        if _nullish(values[0]):
            return None
        array = _array(values[0], "$indexOfArray")
        start = int(values[2]) if len(values) > 2 else 0
        end = int(values[3]) if len(values) > 3 else len(array)
        key = ordering.sort_key(values[1])
        for index in range(start, min(end, len(array))):
            if ordering.sort_key(array[index]) == key:
                return index
        return -1
    return run


@operator("$slice")
def _slice(spec):
    args = _arguments(spec, "$slice", (2, 3))

    def run(doc, variables):
        values = [arg(doc, variables) for arg in args]
        if any(_nullish(v) for v in values):
            return None
        array = _array(values[0], "$slice")
        if len(values) == 2:
            n = int(values[1])
            return array[:n] if n >= 0 else array[n:]
        position, n = int(values[1]), int(values[2])
        if position < 0:
            position = max(0, len(array) + position)
        return array[position:position + n]
    return run


@operator("$range")
def _range(spec):
    args = _arguments(spec, "$range", (2, 3))

    def run(doc, variables):
        values = [int(_numeric(arg(doc, variables), "$range")) for arg in args]
        return list(range(*values))
    return run


@operator("$filter")
def _filter(spec):
    source = compile_expression(spec["input"])
    name = spec.get("as", "this")
    condition = compile_expression(spec["cond"])
    limit = compile_expression(spec["limit"]) if "limit" in spec else None

    def run(doc, variables):
        array = source(doc, variables)
        if _nullish(array):
            return None
        out, inner = [], dict(variables)
        most = limit(doc, variables) if limit else None
        for item in _array(array, "$filter"):
            inner[name] = item
            if truthy(condition(doc, inner)):
                out.append(item)
                if most is not None and len(out) >= most:
                    break
        return out
    return run


@operator("$map")
def _map(spec):
    source = compile_expression(spec["input"])
    name = spec.get("as", "this")
    body = compile_expression(spec["in"])

    def run(doc, variables):
        array = source(doc, variables)
        if _nullish(array):
            return None
        inner = dict(variables)
        out = []
        for item in _array(array, "$map"):
            inner[name] = item
            value = body(doc, inner)
            out.append(None if value is MISSING else value)
        return out
    return run


@operator("$reduce")
def _reduce(spec):
    source = compile_expression(spec["input"])
    initial = compile_expression(spec["initialValue"])
    body = compile_expression(spec["in"])

    def run(doc, variables):
        array = source(doc, variables)
        if _nullish(array):
            return None
        inner = dict(variables)
        inner["value"] = initial(doc, variables)
        for item in _array(array, "$reduce"):
            inner["this"] = item
            inner["value"] = body(doc, inner)
        return inner["value"]
    return run


@operator("$arrayToObject")
def _array_to_object(spec):
    (arg,) = _arguments(spec, "$arrayToObject", 1)

    def run(doc, variables):
        array = arg(doc, variables)
        if _nullish(array):
            return None
        out = {}
        for item in _array(array, "$arrayToObject"):
            if isinstance(item, dict):
                out[item["k"]] = item["v"]
            else:
                out[item[0]] = item[1]
        return out
    return run


@operator("$getField")
def _get_field(spec):
    if not isinstance(spec, dict):
        spec = {"field": spec}
    name = compile_expression(spec.get("field"))
    source = compile_expression(spec.get("input", "$$CURRENT"))

    def run(doc, variables):
        field, value = name(doc, variables), source(doc, variables)
        if not isinstance(field, str):
            raise MongoError(3041704, "$getField requires 'field' to evaluate to a string")
        return value.get(field, MISSING) if isinstance(value, dict) else \
            (None if _nullish(value) else MISSING)
    return run


def _set_field_factory(name: str):
    def factory(spec):
        field = compile_expression(spec.get("field"))
        source = compile_expression(spec.get("input"))
        value = compile_expression(spec.get("value")) if name == "$setField" else None

        def run(doc, variables):
            key, target = field(doc, variables), source(doc, variables)
            if not isinstance(key, str):
                raise MongoError(4161106, f"{name} requires 'field' to evaluate to a string")
            if _nullish(target):
                return None
            out = {k: v for k, v in target.items() if k != key}
            if value is not None:
                new = value(doc, variables)
                if new is not MISSING:
                    out = {**target, key: new} if key in target else {**out, key: new}
            return out
        return run
    OPERATORS[name] = factory


_set_field_factory("$setField")
_set_field_factory("$unsetField")
_simple("$objectToArray", 1, lambda v: None if _nullish(v) else
        [{"k": k, "v": item} for k, item in v.items()])


@operator("$mergeObjects")
def _merge_objects(spec):
    args = _arguments(spec, "$mergeObjects")

    def run(doc, variables):
        out = {}
        for arg in args:
            value = arg(doc, variables)
            if isinstance(value, dict):
                out.update(value)
        return out
    return run


def _set_operator(name: str, combine):
    def factory(spec):
        args = _arguments(spec, name)

        def run(doc, variables):
            arrays = [arg(doc, variables) for arg in args]
            if any(_nullish(a) for a in arrays):
                return None
            return combine([_array(a, name) for a in arrays])
        return run
    OPERATORS[name] = factory


def _distinct(values):
    seen, out = set(), []
    for value in values:
        key = ordering.sort_key(value)
        if key not in seen:
            seen.add(key)
            out.append(value)
    return out


def _keys(array: list) -> set:
    return {ordering.sort_key(value) for value in array}


_set_operator("$setUnion", lambda arrays: _distinct([v for a in arrays for v in a]))
_set_operator("$setIntersection", lambda arrays: _distinct(
    [v for v in arrays[0] if all(ordering.sort_key(v) in _keys(a) for a in arrays[1:])])
    if arrays else [])
_set_operator("$setDifference", lambda arrays: _distinct(
    [v for v in arrays[0] if ordering.sort_key(v) not in _keys(arrays[1])]))
_set_operator("$setIsSubset", lambda arrays: _keys(arrays[0]) <= _keys(arrays[1]))
_set_operator("$setEquals", lambda arrays: all(_keys(a) == _keys(arrays[0]) for a in arrays))


# -- accumulator-like operators over arrays ($sum, $avg, $min, $max in $project) -------------


def sum_numbers(values):
    """The $sum of the numbers among `values` (others are ignored), with MongoDB's type."""
    numbers = [v for v in values if ordering.is_number(v)]
    if not numbers:
        return 0
    exact = [ordering.number(v) for v in numbers]
    if any(isinstance(v, decimal.Decimal) for v in exact):
        return Decimal128(sum(_to_decimal_context(exact), decimal.Decimal(0)))
    if any(isinstance(v, float) for v in exact):
        return math.fsum(exact)
    return number_result(sum(exact), *numbers)


def average(values):
    numbers = [v for v in values if ordering.is_number(v)]
    if not numbers:
        return None
    exact = [ordering.number(v) for v in numbers]
    if any(isinstance(v, decimal.Decimal) for v in exact):
        return Decimal128(sum(_to_decimal_context(exact), decimal.Decimal(0)) / len(exact))
    return math.fsum(exact) / len(exact)


def extreme(values, largest: bool):
    present = [v for v in values if not _nullish(v)]
    if not present:
        return None
    return (max if largest else min)(present, key=ordering.sort_key)


def _array_accumulator(name: str, combine):
    def factory(spec):
        args = _arguments(spec, name)

        def run(doc, variables):
            values = [arg(doc, variables) for arg in args]
            if len(values) == 1:
                value = values[0]
                values = value if type(value) is list else [value]
            return combine(values)
        return run
    OPERATORS[name] = factory


_array_accumulator("$sum", sum_numbers)
_array_accumulator("$avg", average)
_array_accumulator("$min", lambda values: extreme(values, False))
_array_accumulator("$max", lambda values: extreme(values, True))


# -- types and conversion -------------------------------------------------------------------


_simple("$type", 1, lambda v: "missing" if v is MISSING else ordering.type_name(v))
_simple("$isNumber", 1, ordering.is_number)


def to_string(value):
    if _nullish(value):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if value != int(value) or abs(value) >= 1e15 else str(int(value))
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    if isinstance(value, (int, ObjectId, Decimal128)):
        return str(value)
    raise MongoError(241, f"Unsupported conversion from {ordering.type_name(value)} to string")


def _to_int(value, bits: int):
    if _nullish(value):
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            raise MongoError(241, f"Failed to parse number '{value}' in $convert") from None
    if ordering.is_number(value):
        result = int(ordering.number(value))
        return Int64(result) if bits == 64 else result
    if isinstance(value, datetime.datetime) and bits == 64:
        return Int64(millis_from_datetime(value))
    raise MongoError(241, f"Unsupported conversion from {ordering.type_name(value)} to int")


def _to_double(value):
    if _nullish(value):
        return None
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise MongoError(241, f"Failed to parse number '{value}' in $convert") from None
    if isinstance(value, datetime.datetime):
        return float(millis_from_datetime(value))
    if ordering.is_number(value) or isinstance(value, bool):
        return float(ordering.number(value))
    raise MongoError(241, f"Unsupported conversion from {ordering.type_name(value)} to double")


def _to_date(value):
    if _nullish(value):
        return None
    if isinstance(value, datetime.datetime):
        return value
    if isinstance(value, ObjectId):
        return value.generation_time
    if ordering.is_number(value):
        return datetime_from_millis(int(ordering.number(value)))
    if isinstance(value, str):
        return parse_date(value)
    raise MongoError(241, f"Unsupported conversion from {ordering.type_name(value)} to date")


def parse_date(text: str) -> datetime.datetime:
    try:
        parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise MongoError(241, f"Error parsing date string '{text}'") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _to_bool(value):
    if _nullish(value):
        return None
    return truthy(value)


def _to_object_id(value):
    if _nullish(value):
        return None
    if isinstance(value, ObjectId):
        return value
    if isinstance(value, str) and ObjectId.is_valid(value):
        return ObjectId(value)
    raise MongoError(241, f"Failed to parse objectId '{value}' in $convert")


CONVERTERS = {
    "string": to_string, "int": lambda v: _to_int(v, 32), "long": lambda v: _to_int(v, 64),
    "double": _to_double, "decimal": lambda v: None if _nullish(v) else
    Decimal128(decimal.Decimal(str(ordering.number(v)) if isinstance(v, float) else ordering.number(v))),
    "date": _to_date, "bool": _to_bool, "objectId": _to_object_id,
}
for _name, _target in {"$toString": "string", "$toInt": "int", "$toLong": "long",
                       "$toDouble": "double", "$toDecimal": "decimal", "$toDate": "date",
                       "$toBool": "bool", "$toObjectId": "objectId"}.items():
    _simple(_name, 1, CONVERTERS[_target])


@operator("$convert")
def _convert(spec):
    source = compile_expression(spec.get("input"))
    target = spec.get("to")
    if isinstance(target, int):
        target = ordering.TYPE_NAMES.get(target, target)
    if target not in CONVERTERS:
        raise MongoError(2, f"Unknown type name: {target}")
    on_error = compile_expression(spec["onError"]) if "onError" in spec else None
    on_null = compile_expression(spec["onNull"]) if "onNull" in spec else None

    def run(doc, variables):
        value = source(doc, variables)
        if _nullish(value) and on_null is not None:
            return on_null(doc, variables)
        try:
            return CONVERTERS[target](value)
        except (MongoError, ValueError, TypeError, OverflowError):
            if on_error is None:
                raise
            return on_error(doc, variables)
    return run


# -- dates -------------------------------------------------------------------------------


def _date_part(name: str, extract):
    def factory(spec):
        if isinstance(spec, dict) and "date" in spec:
            source = compile_expression(spec["date"])
        else:
            (source,) = _arguments(spec, name, 1)

        def run(doc, variables):
            value = source(doc, variables)
            if _nullish(value):
                return None
            if isinstance(value, ObjectId):
                value = value.generation_time
            if not isinstance(value, datetime.datetime):
                raise MongoError(16006, f"can't convert from BSON type "
                                        f"{ordering.type_name(value)} to Date")
            return extract(value.astimezone(UTC))
        return run
    OPERATORS[name] = factory


_date_part("$year", lambda d: d.year)
_date_part("$month", lambda d: d.month)
_date_part("$dayOfMonth", lambda d: d.day)
_date_part("$hour", lambda d: d.hour)
_date_part("$minute", lambda d: d.minute)
_date_part("$second", lambda d: d.second)
_date_part("$millisecond", lambda d: d.microsecond // 1000)
_date_part("$dayOfWeek", lambda d: d.isoweekday() % 7 + 1)      # Sunday is 1
_date_part("$dayOfYear", lambda d: d.timetuple().tm_yday)
_date_part("$week", lambda d: int(d.strftime("%U")))
_date_part("$isoWeek", lambda d: d.isocalendar()[1])
_date_part("$isoWeekYear", lambda d: d.isocalendar()[0])
_date_part("$isoDayOfWeek", lambda d: d.isoweekday())

# MongoDB's $dateToString format letters -> strftime (and our own for milliseconds).
_DATE_FORMAT = {"%Y": "%Y", "%m": "%m", "%d": "%d", "%H": "%H", "%M": "%M", "%S": "%S",
                "%j": "%j", "%w": "%w", "%U": "%U", "%G": "%G", "%V": "%V", "%u": "%u",
                "%%": "%%", "%z": "+0000", "%Z": "+0000"}


@operator("$dateToString")
def _date_to_string(spec):
    source = compile_expression(spec.get("date"))
    text_format = spec.get("format", "%Y-%m-%dT%H:%M:%S.%LZ")
    on_null = compile_expression(spec["onNull"]) if "onNull" in spec else None

    def run(doc, variables):
        value = source(doc, variables)
        if _nullish(value):
            return on_null(doc, variables) if on_null else None
        value = _to_date(value).astimezone(UTC)
        out, i = [], 0
        while i < len(text_format):
            piece = text_format[i:i + 2]
            if piece == "%L":
                out.append(f"{value.microsecond // 1000:03d}")
                i += 2
            elif piece in _DATE_FORMAT:
                out.append(value.strftime(_DATE_FORMAT[piece]))
                i += 2
            else:
                out.append(text_format[i])
                i += 1
        return "".join(out)
    return run


@operator("$dateFromString")
def _date_from_string(spec):
    source = compile_expression(spec.get("dateString"))

    def run(doc, variables):
        value = source(doc, variables)
        return None if _nullish(value) else parse_date(value)
    return run
