"""The `cjson` library Redis gives scripts: cjson.encode, cjson.decode, cjson.null.

Encoding follows lua-cjson's defaults: a table whose keys are all positive integers is
an array (holes become null; one that is too sparse is refused), any other table is an
object, an empty table is `{}`; numbers print as Lua prints them ("%.14g"); "/" is
escaped as "\\/". JSON null decodes to `cjson.null`, a value distinct from nil so that
arrays keep their length.
"""

from __future__ import annotations

import json

from .stdlib import check_any, check_string, make_table
from .values import LuaError, LuaTable, number_to_str, tostring, type_name

MAX_DEPTH = 1000
SPARSE_RATIO, SPARSE_SAFE = 2, 10        # lua-cjson's encode_sparse_array defaults


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


def _encode(value, depth: int, out: list) -> None:
    kind = type(value)
    if kind is str:
        out.append(_encode_string(value))
    elif kind is float:
        if value != value or value in (float("inf"), float("-inf")):
            raise LuaError("Cannot serialise number: must not be NaN or Inf")
        out.append(number_to_str(value))
    elif kind is bool:
        out.append("true" if value else "false")
    elif value is None or value is NULL:
        out.append("null")
    elif kind is LuaTable:
        if depth >= MAX_DEPTH:
            raise LuaError(f"Cannot serialise, excessive nesting ({depth + 1})")
        size = _array_size(value)
        if size > 0:
            out.append("[")
            for i in range(1, size + 1):
                if i > 1:
                    out.append(",")
                _encode(value.get(float(i)), depth + 1, out)
            out.append("]")
        else:
            out.append("{")
            for index, (key, item) in enumerate(value.items()):
                if type(key) not in (str, float):
                    raise LuaError("Cannot serialise table: table key must be a number or string")
                if index:
                    out.append(",")
                out.append(_encode_string(tostring(key)))
                out.append(":")
                _encode(item, depth + 1, out)
            out.append("}")
    else:
        raise LuaError(f"Cannot serialise {type_name(value)}: type not supported")


def _array_size(table: LuaTable) -> int:
    """The array length if every key is a positive integer, else 0 (an object)."""
    largest = count = 0
    for key in table.hash:
        if type(key) is not float or key < 1 or not key.is_integer():
            return 0
        largest = max(largest, int(key))
        count += 1
    if largest > SPARSE_SAFE and largest > count * SPARSE_RATIO:
        raise LuaError("Cannot serialise table: excessively sparse array")
    return largest


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


def library() -> LuaTable:
    def encode(*args):
        out: list[str] = []
        _encode(check_any(args, 0, "encode"), 0, out)
        return ["".join(out)]

    def decode(*args):
        text = check_string(args, 0, "decode")
        try:
            data = json.loads(text.encode("latin-1").decode("utf-8", "surrogateescape"))
        except json.JSONDecodeError as error:
            raise LuaError(f"Expected value but found invalid token at character "
                           f"{error.pos + 1}", level=0) from None
        except RecursionError:
            raise LuaError(f"Found too many nested data structures ({MAX_DEPTH}) at "
                           f"character 1", level=0) from None
        return [_from_json(data)]

    return make_table({"encode": encode, "decode": decode, "null": NULL})
