"""The `struct` library Redis gives scripts (Roberto Ierusalimschy's lua_struct): binary
packing of numbers and strings by a format, as the C library does on x86-64.

    struct.pack(format, ...)          the values packed, as a string
    struct.unpack(format, data [, i]) the values, then the position after them
    struct.size(format)               the size of what the format packs

Format options: `>` big endian, `<` little endian (the default: the machine's), `![n]`
alignment of up to n bytes (default 1: none; `!` alone: 8), `x` a zero byte,
`b`/`B` char, `h`/`H` short, `l`/`L` long, `T` size_t, `i[n]`/`I[n]` an integer of n
bytes (default 4, at most 32), lower case signed; `f` float, `d` double; `s` a
zero-terminated string, `c[n]` n characters (`c0`: the whole string when packing, the
length read just before when unpacking); spaces are ignored.

Integers are Lua numbers converted as C converts a double to a 64-bit integer (bytes
beyond eight are zero), and read back as one. Strings are Lua strings: one character
per byte.
"""

from __future__ import annotations

import math
import struct

from .stdlib import arg_error, check_number, check_string, make_table, opt_int
from .values import LuaError, LuaTable

_MAX_INT_SIZE = 32
_MAX_ALIGN = 8
_NATIVE_SIZES = {"b": 1, "B": 1, "h": 2, "H": 2, "l": 8, "L": 8, "T": 8, "f": 4, "d": 8,
                 "x": 1}
_INTEGERS = set("bBhHlLTiI")
_U64 = (1 << 64) - 1


class _Format:
    """Walks a format string: each option with its size, alignment applied."""

    def __init__(self, text: str, function: str):
        self.text, self.at, self.function = text, 0, function
        self.big_endian = False
        self.align = 1

    def _number(self, default: int) -> int:
        text, at = self.text, self.at
        if at >= len(text) or not text[at].isdigit():
            return default
        value = 0
        while at < len(text) and text[at].isdigit():
            if value > (2**31 - 1 - int(text[at])) // 10:
                raise LuaError("integral size overflow")
            value = value * 10 + int(text[at])
            at += 1
        self.at = at
        return value

    def options(self):
        """(option, size) for each data option, after the control options are applied."""
        while self.at < len(self.text):
            option = self.text[self.at]
            self.at += 1
            if option in _NATIVE_SIZES:
                yield option, _NATIVE_SIZES[option]
            elif option == "c":
                yield option, self._number(1)
            elif option in "iI":
                size = self._number(4)
                if size > _MAX_INT_SIZE:
                    raise LuaError(f"integral size {size} is larger than limit of "
                                   f"{_MAX_INT_SIZE}")
                yield option, size
            elif option == "s":
                yield option, 0
            elif option == " ":
                continue
            elif option == ">":
                self.big_endian = True
            elif option == "<":
                self.big_endian = False
            elif option == "!":
                align = self._number(_MAX_ALIGN)
                if align & (align - 1) or not align:
                    raise LuaError(f"alignment {align} is not a power of 2")
                self.align = align
            else:
                raise arg_error(0, self.function, f"invalid format option '{option}'")

    def padding(self, position: int, option: str, size: int) -> int:
        """The zero bytes before an option of `size` bytes at `position`."""
        if size == 0 or option == "c":
            return 0
        size = min(size, self.align)
        return (size - (position & (size - 1))) & (size - 1)


def _pack_integer(number: float, size: int, big_endian: bool) -> bytes:
    value = int(number) & _U64 if math.isfinite(number) else 0
    little = bytes((value >> 8 * i) & 0xFF if i < 8 else 0 for i in range(size))
    return little[::-1] if big_endian else little


def _unpack_integer(data: bytes, signed: bool, big_endian: bool) -> float:
    # Read into 64 bits, as C does: of a longer integer only its low 8 bytes count.
    value = int.from_bytes(data, "big" if big_endian else "little") & _U64
    bits = min(len(data), 8) * 8
    if signed and value >> (bits - 1):
        value -= 1 << bits
    return float(value)


def _pack_float(code: str, number: float, big_endian: bool) -> bytes:
    try:
        return struct.pack((">" if big_endian else "<") + code, number)
    except OverflowError:                      # too big for a float: C gives infinity
        return struct.pack((">" if big_endian else "<") + code, number * float("inf"))


def pack(*args) -> list:
    form = _Format(check_string(args, 0, "pack"), "pack")
    out = bytearray()
    argument = 1
    for option, size in form.options():
        out += bytes(form.padding(len(out), option, size))
        if option in _INTEGERS:
            out += _pack_integer(check_number(args, argument, "pack"), size, form.big_endian)
            argument += 1
        elif option == "x":
            out += b"\0"
        elif option in "fd":
            out += _pack_float(option, check_number(args, argument, "pack"), form.big_endian)
            argument += 1
        else:                                  # c or s
            text = check_string(args, argument, "pack").encode("latin-1")
            argument += 1
            size = size or len(text)
            if len(text) < size:     # as lua_struct: the argument after the string
                raise arg_error(argument, "pack", "string too short")
            out += text[:size] + (b"\0" if option == "s" else b"")
    return [out.decode("latin-1")]


def unpack(*args) -> list:
    form = _Format(check_string(args, 0, "unpack"), "unpack")
    data = check_string(args, 1, "unpack").encode("latin-1")
    position = opt_int(args, 2, "unpack", 1) - 1
    if not 0 <= position <= len(data):
        raise arg_error(2, "unpack", "offset must be 1 or greater")
    results: list = []
    for option, size in form.options():
        position += form.padding(position, option, size)
        if size > len(data) - position:
            raise arg_error(1, "unpack", "data string too short")
        if option in _INTEGERS:
            results.append(_unpack_integer(data[position:position + size], option.islower(),
                                           form.big_endian))
        elif option in "fd":
            code = (">" if form.big_endian else "<") + option
            results.append(float(struct.unpack(code, data[position:position + size])[0]))
        elif option == "c":
            if size == 0:
                if not results or type(results[-1]) is not float:
                    raise LuaError("format 'c0' needs a previous size")
                size = int(results.pop())
                if size > len(data) - position:
                    raise arg_error(1, "unpack", "data string too short")
            results.append(data[position:position + size].decode("latin-1"))
        elif option == "s":
            end = data.find(b"\0", position)
            if end < 0:
                raise LuaError("unfinished string in data")
            results.append(data[position:end].decode("latin-1"))
            size = end - position + 1
        position += size
    return [*results, float(position + 1)]


def size(*args) -> list:
    form = _Format(check_string(args, 0, "size"), "size")
    position = 0
    for option, option_size in form.options():
        position += form.padding(position, option, option_size)
        if option == "s":
            raise arg_error(0, "size", "option 's' has no fixed size")
        if option == "c" and option_size == 0:
            raise arg_error(0, "size", "option 'c0' has no fixed size")
        position += option_size
    return [float(position)]


def library() -> LuaTable:
    return make_table({"pack": pack, "unpack": unpack, "size": size})
