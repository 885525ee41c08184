"""The `cjson` library Redis gives scripts: cjson.encode, cjson.decode, cjson.null, and
lua-cjson's settings (encode_max_depth, decode_max_depth, encode_invalid_numbers,
decode_invalid_numbers, encode_number_precision, encode_sparse_array,
encode_keep_buffer), which belong to one library table (cjson.new() makes another).

Encoding follows lua-cjson: a table whose keys are all positive integers is an array
(holes become null; one that is too sparse is refused, or with encode_sparse_array's
`convert` written as an object), any other table is an object, an empty table is `{}`;
numbers print as Lua prints them ("%.14g", the precision being a setting); "/" is
escaped as "\\/". JSON null decodes to `cjson.null`, a value distinct from nil so that
arrays keep their length. Decoding takes NaN and Infinity (unless
decode_invalid_numbers is off) but not lua-cjson's hexadecimal numbers.
"""

from __future__ import annotations

import json
import math

from .stdlib import arg_error, check_any, check_int, check_string, make_table
from .values import LuaError, LuaTable, number_to_str, type_name

INT_MAX = 2 ** 31 - 1


class Settings:
    """One cjson table's settings, with lua-cjson's defaults."""

    def __init__(self):
        self.encode_max_depth = 1000
        self.decode_max_depth = 1000
        self.encode_invalid_numbers = 0     # 0: refuse NaN and Inf, 1: write them, 2: null
        self.decode_invalid_numbers = True
        self.encode_number_precision = 14
        self.sparse_convert = False         # encode_sparse_array: write as an object?
        self.sparse_ratio = 2               # ... when the largest index > ratio * count
        self.sparse_safe = 10               # ... and > safe
        self.encode_keep_buffer = True      # (a buffer we do not have: kept as a value)


class JsonNull:
    """cjson.null (a light userdata in lua-cjson)."""

    __slots__ = ()

    def __repr__(self):
        return "cjson.null"


NULL = JsonNull()

_ESCAPES = {'"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f", "\n": "\\n",
            "\r": "\\r", "\t": "\\t"}
for _code in range(32):
    _ESCAPES.setdefault(chr(_code), "\\u%04x" % _code)


def _encode_string(text: str) -> str:
    return '"' + "".join(_ESCAPES.get(char, char) for char in text) + '"'


def _encode_number(number: float, settings: Settings) -> str:
    if number != number or number in (math.inf, -math.inf):
        if settings.encode_invalid_numbers == 0:
            raise LuaError("Cannot serialise number: must not be NaN or Inf")
        if settings.encode_invalid_numbers == 2:
            return "null"
        if number != number:
            return "nan"                    # not "-nan", whatever its sign
    if settings.encode_number_precision == 14:
        return number_to_str(number)        # Lua's own "%.14g"
    return "%.*g" % (settings.encode_number_precision, number)


def _encode(value, depth: int, out: list, settings: Settings) -> None:
    kind = type(value)
    if kind is str:
        out.append(_encode_string(value))
    elif kind is float:
        out.append(_encode_number(value, settings))
    elif kind is bool:
        out.append("true" if value else "false")
    elif value is None or value is NULL:
        out.append("null")
    elif kind is LuaTable:
        if depth >= settings.encode_max_depth:
            raise LuaError(f"Cannot serialise, excessive nesting ({depth + 1})")
        size = _array_size(value, settings)
        if size > 0:
            out.append("[")
            for i in range(1, size + 1):
                if i > 1:
                    out.append(",")
                _encode(value.get(float(i)), depth + 1, out, settings)
            out.append("]")
        else:
            out.append("{")
            for index, (key, item) in enumerate(value.items()):
                if index:
                    out.append(",")
                if type(key) is str:
                    out.append(_encode_string(key))
                elif type(key) is float:
                    out.append('"' + _encode_number(key, settings) + '"')
                else:
                    raise LuaError("Cannot serialise table: table key must be a number or string")
                out.append(":")
                _encode(item, depth + 1, out, settings)
            out.append("}")
    else:
        raise LuaError(f"Cannot serialise {type_name(value)}: type not supported")


def _array_size(table: LuaTable, settings: Settings) -> int:
    """The array length if every key is a positive integer, else 0 (an object, as is
    a too sparse array if encode_sparse_array's `convert` is on)."""
    largest = count = 0
    for key in table.hash:
        if type(key) is not float or key < 1 or not key.is_integer():
            return 0
        largest = max(largest, int(key))
        count += 1
    ratio = settings.sparse_ratio
    if ratio > 0 and largest > count * ratio and largest > settings.sparse_safe:
        if settings.sparse_convert:
            return 0
        raise LuaError("Cannot serialise table: excessively sparse array")
    return largest


def _outside_strings(text: str):
    """The (position, character) of the JSON text's characters outside its strings."""
    in_string = escaped = False
    for position, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        else:
            yield position, char


def _check_decode_depth(text: str, max_depth: int) -> None:
    """lua-cjson's decode_max_depth, checked before parsing: the first array or object
    nested deeper than allowed is an error, at the character after its bracket."""
    depth = 0
    for position, char in _outside_strings(text):
        if char in "[{":
            depth += 1
            if depth > max_depth:
                raise LuaError(f"Found too many nested data structures ({depth}) at "
                               f"character {position + 1}", level=0)
        elif char in "]}":
            depth -= 1


class _InvalidNumber(Exception):
    """A NaN or Infinity in JSON text while decode_invalid_numbers is off."""


def _refuse_constant(name: str):
    raise _InvalidNumber(name)


def _constant_position(text: str) -> int:
    """Where the first NaN or Infinity of the text starts."""
    return next(position for position, char in _outside_strings(text)
                if char in "NI" or (char == "-" and text[position + 1:position + 2] == "I"))


def _from_json(value):
    """A value from Python's json module as a Lua value (strings as Latin-1 bytes)."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape").decode("latin-1")
    if isinstance(value, bool) or value is None:
        return NULL if value is None else value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, list):
        table = LuaTable({float(i): _from_json(item) for i, item in enumerate(value, 1)})
        return table
    return LuaTable({_from_json(key): _from_json(item) for key, item in value.items()})


def _check_arguments(args, count: int, function: str) -> None:
    if len(args) > count:
        raise arg_error(count, function, "found too many arguments")


def _integer_setting(args, function: str, settings: Settings, name: str, low: int,
                     high: int) -> int:
    """An integer setting: set it when given (within low..high), return it."""
    _check_arguments(args, 1, function)
    if args and args[0] is not None:
        value = check_int(args, 0, function)
        if not low <= value <= high:
            raise arg_error(0, function, f"expected integer between {low} and {high}")
        setattr(settings, name, value)
    return getattr(settings, name)


def _option(args, index: int, function: str, current: int, options=("off", "on")) -> int:
    """An on/off setting (or one of `options`): true, false or the option's name."""
    if index >= len(args) or args[index] is None:
        return current
    value = args[index]
    if type(value) is bool:
        return int(value)
    name = check_string(args, index, function)
    if name not in options:
        raise arg_error(index, function, f"invalid option '{name}'")
    return options.index(name)


def _option_value(setting: int, options=("off", "on")):
    """How a setting is given back: a boolean for off and on, else its name."""
    return bool(setting) if setting <= 1 else options[setting]


def library() -> LuaTable:
    settings = Settings()

    def encode(*args):
        out: list[str] = []
        _encode(check_any(args, 0, "encode"), 0, out, settings)
        return ["".join(out)]

    def decode(*args):
        text = check_string(args, 0, "decode")
        _check_decode_depth(text, settings.decode_max_depth)
        # Python's json takes NaN and Infinity; parse_constant refuses them when off.
        constants = {} if settings.decode_invalid_numbers else \
            {"parse_constant": _refuse_constant}
        try:
            data = json.loads(text.encode("latin-1").decode("utf-8", "surrogateescape"),
                              **constants)
        except json.JSONDecodeError as error:
            raise LuaError(f"Expected value but found invalid token at character "
                           f"{error.pos + 1}", level=0) from None
        except _InvalidNumber:
            raise LuaError(f"Expected value but found invalid token at character "
                           f"{_constant_position(text) + 1}", level=0) from None
        return [_from_json(data)]

    def encode_max_depth(*args):
        return [float(_integer_setting(args, "encode_max_depth", settings,
                                       "encode_max_depth", 1, INT_MAX))]

    def decode_max_depth(*args):
        return [float(_integer_setting(args, "decode_max_depth", settings,
                                       "decode_max_depth", 1, INT_MAX))]

    def encode_number_precision(*args):
        return [float(_integer_setting(args, "encode_number_precision", settings,
                                       "encode_number_precision", 1, 14))]

    def encode_invalid_numbers(*args):
        _check_arguments(args, 1, "encode_invalid_numbers")
        options = ("off", "on", "null")
        settings.encode_invalid_numbers = _option(args, 0, "encode_invalid_numbers",
                                                  settings.encode_invalid_numbers, options)
        return [_option_value(settings.encode_invalid_numbers, options)]

    def decode_invalid_numbers(*args):
        _check_arguments(args, 1, "decode_invalid_numbers")
        settings.decode_invalid_numbers = bool(_option(
            args, 0, "decode_invalid_numbers", int(settings.decode_invalid_numbers)))
        return [settings.decode_invalid_numbers]

    def encode_keep_buffer(*args):
        _check_arguments(args, 1, "encode_keep_buffer")
        settings.encode_keep_buffer = bool(_option(
            args, 0, "encode_keep_buffer", int(settings.encode_keep_buffer)))
        return [settings.encode_keep_buffer]

    def encode_sparse_array(*args):
        _check_arguments(args, 3, "encode_sparse_array")
        settings.sparse_convert = bool(_option(args, 0, "encode_sparse_array",
                                               int(settings.sparse_convert)))
        for index, name in ((1, "sparse_ratio"), (2, "sparse_safe")):
            if index < len(args) and args[index] is not None:
                value = check_int(args, index, "encode_sparse_array")
                if not 0 <= value <= INT_MAX:
                    raise arg_error(0, "encode_sparse_array",
                                    f"expected integer between 0 and {INT_MAX}")
                setattr(settings, name, value)
        return [settings.sparse_convert, float(settings.sparse_ratio),
                float(settings.sparse_safe)]

    def new(*args):
        return [library()]

    return make_table({
        "encode": encode, "decode": decode, "null": NULL, "new": new,
        "encode_max_depth": encode_max_depth, "decode_max_depth": decode_max_depth,
        "encode_number_precision": encode_number_precision,
        "encode_invalid_numbers": encode_invalid_numbers,
        "decode_invalid_numbers": decode_invalid_numbers,
        "encode_keep_buffer": encode_keep_buffer,
        "encode_sparse_array": encode_sparse_array,
        "_NAME": "cjson", "_VERSION": "2.1.0",
    })
