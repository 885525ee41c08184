"""The Lua 5.1 standard library that Redis scripts have: the base functions, string,
table and math (reference manual, chapter 5).

A library function is a Python function that takes the Lua arguments and returns the
list of its results. Argument errors read as Lua's: "bad argument #1 to 'rep' (string
expected, got no value)". Left out, as in Redis or for want of use: io, os, debug,
coroutine, module/require, load/dofile, collectgarbage/gcinfo. There is no bytecode
here: string.dump gives a binary chunk's header alone, which, as any binary chunk in
Redis (whose loadstring reads text only), loadstring refuses.

Library functions honour metatables where Lua's do (tostring's __tostring, gsub's
table lookups, table.sort's comparisons) and are raw where Lua's are (rawget, next,
ipairs, unpack, the table functions' reads and writes).
"""

from __future__ import annotations

import math
import random

from . import patterns
from .lexer import LuaSyntaxError
from .parser import parse
from .values import (LuaError, LuaFunction, LuaInterrupt, LuaTable, lua_equals, number_to_str,
                     tonumber, tostring, truthy, type_name)

MAX_UNPACK = 8000               # Lua's C stack limit: "too many results to unpack"


# -- argument checks ----------------------------------------------------------------------

def arg_error(index: int, function: str, message: str) -> LuaError:
    return LuaError(f"bad argument #{index + 1} to '{function}' ({message})")


def _type_error(args, index: int, function: str, expected: str) -> LuaError:
    got = type_name(args[index]) if index < len(args) else "no value"
    return arg_error(index, function, f"{expected} expected, got {got}")


def check_any(args, index: int, function: str):
    if index >= len(args):
        raise arg_error(index, function, "value expected")
    return args[index]


def check_string(args, index: int, function: str) -> str:
    value = args[index] if index < len(args) else None
    if type(value) is str:
        return value
    if type(value) is float:
        return number_to_str(value)
    raise _type_error(args, index, function, "string")


def check_number(args, index: int, function: str) -> float:
    number = tonumber(args[index]) if index < len(args) else None
    if number is None:
        raise _type_error(args, index, function, "number")
    return number


def check_int(args, index: int, function: str) -> int:
    # Lua 5.1 on x86 converts with the FPU's round-to-nearest-even, as round() does.
    number = check_number(args, index, function)
    return round(number) if math.isfinite(number) else 0


def opt_int(args, index: int, function: str, default: int) -> int:
    if index >= len(args) or args[index] is None:
        return default
    return check_int(args, index, function)


def check_table(args, index: int, function: str) -> LuaTable:
    value = args[index] if index < len(args) else None
    if type(value) is not LuaTable:
        raise _type_error(args, index, function, "table")
    return value


def make_table(functions: dict) -> LuaTable:
    return LuaTable(dict(functions))


# -- the base library ---------------------------------------------------------------------

def base_library(interp) -> dict:
    call = interp.call
    metatable_of = interp.metatable_of

    def lua_assert(*args):
        if not truthy(check_any(args, 0, "assert")):
            message = check_string(args, 1, "assert") if len(args) > 1 else "assertion failed!"
            raise LuaError(message)
        return list(args)

    def lua_error(*args):
        value = args[0] if args else None
        level = opt_int(args, 1, "error", 1)
        raise LuaError(value, level=min(level, 1))

    def protected_call(function, args: list):
        """Call `function` for pcall or xpcall: its results, or raises LuaError."""
        try:
            return call(function, args)
        except LuaError as error:
            if type(function) is not LuaFunction and not isinstance(error, LuaInterrupt):
                # A library function called by pcall itself has no name Lua can find
                # (it names functions by how they were called): "to '?'".
                error.value = _unnamed(error.value)
            raise

    def lua_pcall(*args):
        function = check_any(args, 0, "pcall")
        try:
            return [True, *protected_call(function, list(args[1:]))]
        except LuaInterrupt:
            raise
        except LuaError as error:
            return [False, error.value]

    def lua_xpcall(*args):
        function, handler = check_any(args, 0, "xpcall"), check_any(args, 1, "xpcall")
        try:
            return [True, *protected_call(function, [])]
        except LuaInterrupt:
            raise
        except LuaError as error:
            return [False, *call(handler, [error.value])[:1]]

    def lua_select(*args):
        selector = check_any(args, 0, "select")
        count = len(args) - 1
        if selector == "#":
            return [float(count)]
        index = check_int(args, 0, "select")
        if index < 0:
            index += count + 1
        if index < 1:
            raise arg_error(0, "select", "index out of range")
        return list(args[index:])

    def lua_type(*args):
        return [type_name(check_any(args, 0, "type"))]

    def lua_tostring(*args):
        value = check_any(args, 0, "tostring")
        handler = interp.metamethod(value, "__tostring")
        if handler is not None:
            return call(handler, [value])[:1] or [None]
        return [tostring(value)]

    def lua_tonumber(*args):
        value = check_any(args, 0, "tonumber")
        base = opt_int(args, 1, "tonumber", 10)
        if base == 10:
            return [tonumber(value)]
        if not 2 <= base <= 36:
            raise arg_error(1, "tonumber", "base out of range")
        text = check_string(args, 0, "tonumber").strip(" \t\n\r\f\v").lower()
        try:
            return [float(int(text, base))] if text.isalnum() else [None]
        except ValueError:
            return [None]

    def lua_pairs(*args):
        table = check_table(args, 0, "pairs")
        entries = table.items()

        def iterate(*_):
            for key, value in entries:
                return [key, value]
            return [None]

        return [iterate, table, None]

    def ipairs_step(table, index):
        index += 1.0
        value = table.get(index)
        return [None] if value is None else [index, value]

    def lua_ipairs(*args):
        return [ipairs_step, check_table(args, 0, "ipairs"), 0.0]

    def lua_next(*args):
        table = check_table(args, 0, "next")
        entry = table.next(args[1] if len(args) > 1 else None)
        return list(entry) if entry is not None else [None]

    def lua_unpack(*args):
        table = check_table(args, 0, "unpack")
        first = opt_int(args, 1, "unpack", 1)
        last = opt_int(args, 2, "unpack", table.length())
        if last - first >= MAX_UNPACK:
            raise LuaError("too many results to unpack")
        return [table.get(float(i)) for i in range(first, last + 1)]

    def lua_rawget(*args):
        return [check_table(args, 0, "rawget").get(check_any(args, 1, "rawget"))]

    def lua_rawset(*args):
        table = check_table(args, 0, "rawset")
        table.set(check_any(args, 1, "rawset"), check_any(args, 2, "rawset"))
        return [table]

    def lua_rawequal(*args):
        a, b = check_any(args, 0, "rawequal"), check_any(args, 1, "rawequal")
        return [lua_equals(a, b)]

    def lua_getmetatable(*args):
        # A metatable with a __metatable field is hidden behind that field's value.
        metatable = metatable_of(check_any(args, 0, "getmetatable"))
        if metatable is None:
            return [None]
        protected = metatable.get("__metatable")
        return [metatable if protected is None else protected]

    def lua_setmetatable(*args):
        table = check_table(args, 0, "setmetatable")
        metatable = args[1] if len(args) > 1 else None
        if len(args) < 2 or (metatable is not None and type(metatable) is not LuaTable):
            raise arg_error(1, "setmetatable", "nil or table expected")
        if table.metatable is not None and table.metatable.get("__metatable") is not None:
            raise LuaError("cannot change a protected metatable")
        if table.readonly:          # Redis: a readonly table keeps its metatable too
            raise LuaError("Attempt to modify a readonly table")
        table.metatable = metatable
        return [table]

    def lua_loadstring(*args):
        source = check_string(args, 0, "loadstring")
        name = check_string(args, 1, "loadstring") if len(args) > 1 else source
        try:
            return [LuaFunction(parse(source, _chunk_id(name)), None)]
        except LuaSyntaxError as error:
            return [None, str(error)]

    return {
        "assert": lua_assert, "error": lua_error, "pcall": lua_pcall, "xpcall": lua_xpcall,
        "loadstring": lua_loadstring,
        "select": lua_select, "type": lua_type, "tostring": lua_tostring,
        "tonumber": lua_tonumber, "pairs": lua_pairs, "ipairs": lua_ipairs,
        "next": lua_next, "unpack": lua_unpack, "rawget": lua_rawget, "rawset": lua_rawset,
        "rawequal": lua_rawequal, "getmetatable": lua_getmetatable,
        "setmetatable": lua_setmetatable, "_VERSION": "Lua 5.1",
    }


def _unnamed(message):
    """An argument error's message with the function's name as '?'."""
    if type(message) is str and message.startswith("bad argument #"):
        head, opening, rest = message.partition(" to '")
        _name, closing, tail = rest.partition("'")
        if opening and closing:
            return f"{head} to '?'{tail}"
    return message


def _chunk_id(name: str) -> str:
    """How Lua 5.1 names a chunk loaded from a string in its syntax errors
    (luaO_chunkid, with the lexer's 80 bytes): `=name` and `@file` as they are, else
    [string "its first line"], cut to 63 characters and "..." if there is more."""
    if name[:1] in ("=", "@"):
        return name[1:]
    line_end = min((at for at in (name.find("\n"), name.find("\r")) if at >= 0),
                   default=len(name))
    shown = name[:min(line_end, 63)]
    return f'[string "{shown}"]' if shown == name else f'[string "{shown}..."]'


# -- string -------------------------------------------------------------------------------

_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _start_index(position: int, length: int) -> int:
    """A 1-based, possibly negative, string position as a 0-based start, clamped."""
    if position < 0:
        position += length + 1
    return min(max(position, 1), length + 1) - 1


def _end_index(position: int, length: int) -> int:
    """A 1-based, possibly negative, inclusive end position as a 0-based stop."""
    if position < 0:
        position += length + 1
    return min(max(position, 0), length)


def string_library(interp) -> dict:
    call = interp.call

    def lua_len(*args):
        return [float(len(check_string(args, 0, "len")))]

    def lua_sub(*args):
        text = check_string(args, 0, "sub")
        start = _start_index(check_int(args, 1, "sub"), len(text))
        stop = _end_index(opt_int(args, 2, "sub", -1), len(text))
        return [text[start:stop]]

    def lua_upper(*args):
        return [check_string(args, 0, "upper").translate(_UPPER)]

    def lua_lower(*args):
        return [check_string(args, 0, "lower").translate(_LOWER)]

    def lua_rep(*args):
        text = check_string(args, 0, "rep")
        return [text * max(check_int(args, 1, "rep"), 0)]

    def lua_reverse(*args):
        return [check_string(args, 0, "reverse")[::-1]]

    def lua_byte(*args):
        text = check_string(args, 0, "byte")
        first = opt_int(args, 1, "byte", 1)
        start = _start_index(first, len(text))
        stop = _end_index(opt_int(args, 2, "byte", first), len(text))
        return [float(ord(char)) for char in text[start:stop]]

    def lua_char(*args):
        chars = []
        for index in range(len(args)):
            code = check_int(args, index, "char")
            if not 0 <= code <= 255:
                raise arg_error(index, "char", "invalid value")
            chars.append(chr(code))
        return ["".join(chars)]

    def find(args, function: str, want_positions: bool):
        text = check_string(args, 0, function)
        pattern = check_string(args, 1, function)
        init = _start_index(opt_int(args, 2, function, 1), len(text))
        plain = len(args) > 3 and truthy(args[3])
        if want_positions and (plain or not patterns.has_specials(pattern)):
            found = text.find(pattern, init)
            return [None] if found < 0 else [float(found + 1), float(found + len(pattern))]
        result = patterns.search(text, pattern, init)
        if result is None:
            return [None]
        matcher, start, end = result
        if want_positions:
            return [float(start + 1), float(end), *matcher.all_captures(start, end, False)]
        return matcher.all_captures(start, end)

    def lua_find(*args):
        return find(args, "find", True)

    def lua_match(*args):
        return find(args, "match", False)

    def lua_gmatch(*args):
        text = check_string(args, 0, "gmatch")
        pattern = check_string(args, 1, "gmatch")
        position = 0

        def step(*_):
            nonlocal position
            while position <= len(text):
                matcher = patterns.Matcher(text, pattern)
                end = matcher.match(position, 0)
                start = position
                if end != -1:
                    position = end + 1 if end == start else end    # an empty match
                    return matcher.all_captures(start, end)
                position += 1
            return [None]

        return [step]

    def lua_gsub(*args):
        text = check_string(args, 0, "gsub")
        pattern = check_string(args, 1, "gsub")
        replacement = args[2] if len(args) > 2 else None
        if type(replacement) not in (str, float, LuaTable, LuaFunction) \
                and not callable(replacement):
            raise _type_error(args, 2, "gsub", "string/function/table")
        limit = opt_int(args, 3, "gsub", len(text) + 1)
        anchored = pattern.startswith("^")
        p = 1 if anchored else 0
        out = []
        position = count = 0
        while count < limit:
            matcher = patterns.Matcher(text, pattern)
            end = matcher.match(position, p)
            if end != -1:
                count += 1
                out.append(substitute(matcher, position, end, replacement))
            if end != -1 and end > position:
                position = end
            elif position < len(text):
                out.append(text[position])
                position += 1
            else:
                break
            if anchored:
                break
        out.append(text[position:])
        return ["".join(out), float(count)]

    def substitute(matcher, start: int, end: int, replacement) -> str:
        whole = matcher.subject[start:end]
        if type(replacement) in (str, float):
            return expand(tostring(replacement), matcher, start, end)
        first = matcher.capture(0, start, end)
        if type(replacement) is LuaTable:
            value = interp.index(replacement, first)
        else:
            results = call(replacement, matcher.all_captures(start, end))
            value = results[0] if results else None
        if not truthy(value):
            return whole                        # nil or false: keep the match
        if type(value) in (str, float):
            return tostring(value)
        raise LuaError(f"invalid replacement value (a {type_name(value)})")

    def expand(template: str, matcher, start: int, end: int) -> str:
        """A replacement string: %0 is the match, %1-%9 captures, %x is x."""
        if "%" not in template:
            return template
        out = []
        i = 0
        while i < len(template):
            char = template[i]
            if char == "%" and i + 1 < len(template):
                i += 1
                char = template[i]
                if char.isdigit():
                    value = (matcher.subject[start:end] if char == "0"
                             else matcher.capture(int(char) - 1, start, end))
                    char = tostring(value)
            out.append(char)
            i += 1
        return "".join(out)

    return {
        "len": lua_len, "sub": lua_sub, "upper": lua_upper, "lower": lua_lower,
        "rep": lua_rep, "reverse": lua_reverse, "byte": lua_byte, "char": lua_char,
        "format": lua_format, "find": lua_find, "match": lua_match, "gmatch": lua_gmatch,
        "gfind": lua_gmatch,                  # Lua 5.0's name, kept by 5.1's compat mode
        "gsub": lua_gsub, "dump": lua_dump,
    }


# Lua 5.1's binary chunk header (ESC "Lua", version 5.1, official format, little-endian,
# the sizes of int, size_t, an instruction and a number, floating-point numbers).
BINARY_CHUNK_HEADER = "\x1bLuaQ\x00\x01\x04\x08\x04\x08\x00"


def lua_dump(*args):
    function = args[0] if args else None
    if type(function) is LuaFunction:
        return [BINARY_CHUNK_HEADER]
    if type_name(function) == "function":                  # a library's, in Python
        raise LuaError("unable to dump given function")
    raise _type_error(args, 0, "dump", "function")


def _quoted(text: str) -> str:
    """%q: a Lua string literal that reads back as `text`."""
    out = ['"']
    for char in text:
        if char in '"\\\n':
            out.append("\\" + char)
        elif char == "\r":
            out.append("\\r")
        elif char == "\0":
            out.append("\\000")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def lua_format(*args):
    """string.format: C's printf conversions (%d %i %u %c %o %x %X %e %E %f %g %G),
    plus %q (a quoted Lua string) and %s (tostring)."""
    template = check_string(args, 0, "format")
    out = []
    argument = 0
    i = 0
    while i < len(template):
        char = template[i]
        i += 1
        if char != "%":
            out.append(char)
            continue
        if template[i:i + 1] == "%":
            out.append("%")
            i += 1
            continue
        start = i
        while i < len(template) and template[i] in "-+ #0":
            i += 1
        while i < len(template) and template[i].isdigit():
            i += 1
        if template[i:i + 1] == ".":
            i += 1
            while i < len(template) and template[i].isdigit():
                i += 1
        if i >= len(template):
            raise LuaError("invalid option '%' to 'format'")
        spec, conversion = template[start:i], template[i]
        i += 1
        argument += 1
        if conversion in "di":
            out.append(("%" + spec + "d") % int(check_number(args, argument, "format")))
        elif conversion in "ouxX":
            number = int(check_number(args, argument, "format"))
            if number < 0:
                number += 1 << 64           # C prints the unsigned two's complement
            out.append(("%" + spec + ("d" if conversion == "u" else conversion)) % number)
        elif conversion == "c":
            out.append(chr(int(check_number(args, argument, "format")) & 0xFF))
        elif conversion in "eEfgG":
            out.append(("%" + spec + conversion) % check_number(args, argument, "format"))
        elif conversion == "q":
            out.append(_quoted(check_string(args, argument, "format")))
        elif conversion == "s":
            out.append(("%" + spec + "s") % check_string(args, argument, "format"))
        else:
            raise LuaError(f"invalid option '%{conversion}' to 'format'")
    return ["".join(out)]


# -- table --------------------------------------------------------------------------------

def table_library(interp) -> dict:
    call = interp.call

    def lua_insert(*args):
        table = check_table(args, 0, "insert")
        end = table.length() + 1
        if len(args) == 2:
            table.set(float(end), args[1])
        elif len(args) == 3:
            position = check_int(args, 1, "insert")
            for i in range(end, position, -1):          # shift up to make room
                table.set(float(i), table.get(float(i - 1)))
            table.set(float(position), args[2])
        else:
            raise LuaError("wrong number of arguments to 'insert'")
        return []

    def lua_remove(*args):
        table = check_table(args, 0, "remove")
        size = table.length()
        position = opt_int(args, 1, "remove", size)
        if size == 0:
            return []
        removed = table.get(float(position))
        for i in range(position, size):
            table.set(float(i), table.get(float(i + 1)))
        table.set(float(size), None)
        return [removed]

    def lua_concat(*args):
        table = check_table(args, 0, "concat")
        separator = check_string(args, 1, "concat") if len(args) > 1 and args[1] is not None else ""
        first = opt_int(args, 2, "concat", 1)
        last = opt_int(args, 3, "concat", table.length())
        parts = []
        for i in range(first, last + 1):
            value = table.get(float(i))
            if type(value) not in (str, float):
                raise LuaError(f"invalid value (at index {i}) in table for 'concat'")
            parts.append(tostring(value))
        return [separator.join(parts)]

    def lua_sort(*args):
        table = check_table(args, 0, "sort")
        compare = args[1] if len(args) > 1 and args[1] is not None else None
        size = table.length()
        values = [table.get(float(i)) for i in range(1, size + 1)]
        if compare is None:
            less = interp.less_than
        else:
            def less(a, b):
                results = call(compare, [a, b])
                return bool(results) and truthy(results[0])
        values.sort(key=lambda value: _SortKey(value, less))
        for i, value in enumerate(values, 1):
            table.set(float(i), value)
        return []

    def lua_getn(*args):
        return [float(check_table(args, 0, "getn").length())]

    def lua_maxn(*args):
        table = check_table(args, 0, "maxn")
        numbers = [key for key, _ in table.items() if type(key) is float and key > 0]
        return [max(numbers, default=0.0)]

    def lua_foreach(*args):
        table = check_table(args, 0, "foreach")
        function = check_any(args, 1, "foreach")
        for key, value in list(table.items()):
            results = call(function, [key, value])
            if results and results[0] is not None:
                return [results[0]]
        return []

    def lua_foreachi(*args):
        table = check_table(args, 0, "foreachi")
        function = check_any(args, 1, "foreachi")
        for index in range(1, table.length() + 1):
            results = call(function, [float(index), table.get(float(index))])
            if results and results[0] is not None:
                return [results[0]]
        return []

    def lua_setn(*args):
        check_table(args, 0, "setn")
        raise LuaError("'setn' is obsolete")

    return {"insert": lua_insert, "remove": lua_remove, "concat": lua_concat,
            "sort": lua_sort, "getn": lua_getn, "maxn": lua_maxn,
            "foreach": lua_foreach, "foreachi": lua_foreachi, "setn": lua_setn}


class _SortKey:
    """Sorts by a Lua comparison (list.sort only ever asks `<`)."""

    __slots__ = ("value", "less")

    def __init__(self, value, less):
        self.value = value
        self.less = less

    def __lt__(self, other: "_SortKey") -> bool:
        return self.less(self.value, other.value)


# -- math ---------------------------------------------------------------------------------

def math_library(interp) -> dict:
    generator = random.Random()

    def unary(function, name: str):
        def apply(*args):
            try:
                return [float(function(check_number(args, 0, name)))]
            except (ValueError, OverflowError):       # outside the domain: nan, as in C
                return [math.nan]
        return apply

    def rounding(function, name: str):
        def apply(*args):
            number = check_number(args, 0, name)
            return [float(function(number)) if math.isfinite(number) else number]
        return apply

    def binary(function, name: str):
        def apply(*args):
            try:
                return [float(function(check_number(args, 0, name),
                                       check_number(args, 1, name)))]
            except (ValueError, ZeroDivisionError):
                return [math.nan]
            except OverflowError:
                return [math.inf]
        return apply

    def extreme(pick, name: str):
        def apply(*args):
            numbers = [check_number(args, 0, name)]
            numbers += [check_number(args, i, name) for i in range(1, len(args))]
            return [pick(numbers)]
        return apply

    def lua_modf(*args):
        number = check_number(args, 0, "modf")
        fraction, whole = math.modf(number)
        return [whole, fraction]

    def lua_frexp(*args):
        mantissa, exponent = math.frexp(check_number(args, 0, "frexp"))
        return [mantissa, float(exponent)]

    def lua_ldexp(*args):
        try:
            return [math.ldexp(check_number(args, 0, "ldexp"), check_int(args, 1, "ldexp"))]
        except OverflowError:
            return [math.copysign(math.inf, check_number(args, 0, "ldexp"))]

    def lua_random(*args):
        # Redis 7 no longer reseeds before each script: the numbers are random.
        if not args:
            return [generator.random()]
        low, high = (1, check_int(args, 0, "random")) if len(args) == 1 else \
            (check_int(args, 0, "random"), check_int(args, 1, "random"))
        if len(args) > 2:
            raise LuaError("wrong number of arguments")
        if low > high:
            raise arg_error(len(args) - 1, "random", "interval is empty")
        return [float(generator.randint(low, high))]

    def lua_randomseed(*args):
        generator.seed(check_int(args, 0, "randomseed"))
        return []

    library = {
        "floor": rounding(math.floor, "floor"), "ceil": rounding(math.ceil, "ceil"),
        "abs": unary(abs, "abs"), "sqrt": unary(math.sqrt, "sqrt"),
        "exp": unary(math.exp, "exp"), "log": unary(math.log, "log"),
        "log10": unary(math.log10, "log10"), "sin": unary(math.sin, "sin"),
        "cos": unary(math.cos, "cos"), "tan": unary(math.tan, "tan"),
        "asin": unary(math.asin, "asin"), "acos": unary(math.acos, "acos"),
        "atan": unary(math.atan, "atan"), "sinh": unary(math.sinh, "sinh"),
        "cosh": unary(math.cosh, "cosh"), "tanh": unary(math.tanh, "tanh"),
        "deg": unary(math.degrees, "deg"), "rad": unary(math.radians, "rad"),
        "pow": binary(math.pow, "pow"), "fmod": binary(math.fmod, "fmod"),
        "mod": binary(math.fmod, "mod"),      # Lua 5.0's name, kept by 5.1's compat mode
        "frexp": lua_frexp, "ldexp": lua_ldexp,
        "atan2": binary(math.atan2, "atan2"),
        "max": extreme(max, "max"), "min": extreme(min, "min"), "modf": lua_modf,
        "random": lua_random, "randomseed": lua_randomseed,
        "huge": math.inf, "pi": math.pi,
    }
    return library


# -- installing ---------------------------------------------------------------------------

def install(interp) -> LuaTable:
    """Put the standard library into the interpreter's globals; returns the string
    library (where the interpreter finds string methods)."""
    globals_ = interp.globals
    for name, value in base_library(interp).items():
        globals_.rawset(name, value)
    globals_.rawset("_G", globals_)
    strings = make_table(string_library(interp))
    globals_.rawset("string", strings)
    globals_.rawset("table", make_table(table_library(interp)))
    globals_.rawset("math", make_table(math_library(interp)))
    return strings

