"""The `cmsgpack` library Redis gives scripts (lua-cmsgpack): MessagePack in and out.

    cmsgpack.pack(v1, v2, ...)               the encodings of the values, one after another
    cmsgpack.unpack(s)                       every value encoded in s
    cmsgpack.unpack_one(s [, offset])        the next offset (-1 at the end), one value
    cmsgpack.unpack_limit(s, n [, offset])   the next offset, up to n values

Encoding follows lua-cmsgpack. Lua 5.1 numbers are doubles: one with an integral value
is written as the smallest integer type that holds it, any other as a 32-bit float when
that loses nothing, else a 64-bit one. A table whose keys are exactly 1..n is an array,
any other a map, written in our table's key order (Redis's Lua writes its hash order, so
a map of several keys may come out in another order, though it decodes the same).
Tables nested deeper than 16 are written as nil; functions too. Strings are Lua strings:
here a Python str holding one character per byte.
"""

from __future__ import annotations

import struct

from .stdlib import check_int, check_string, make_table, opt_int
from .values import LuaError, LuaTable

MAX_NESTING = 16


# -- packing ------------------------------------------------------------------------------

def _pack_integer(n: int, out: bytearray) -> None:
    if n >= 0:
        if n <= 0x7F:
            out.append(n)
        elif n <= 0xFF:
            out += b"\xcc" + struct.pack(">B", n)
        elif n <= 0xFFFF:
            out += b"\xcd" + struct.pack(">H", n)
        elif n <= 0xFFFFFFFF:
            out += b"\xce" + struct.pack(">I", n)
        else:
            out += b"\xcf" + struct.pack(">Q", n)
    elif n >= -32:
        out += struct.pack(">b", n)                # negative fixint: 111xxxxx
    elif n >= -0x80:
        out += b"\xd0" + struct.pack(">b", n)
    elif n >= -0x8000:
        out += b"\xd1" + struct.pack(">h", n)
    elif n >= -0x80000000:
        out += b"\xd2" + struct.pack(">i", n)
    else:
        out += b"\xd3" + struct.pack(">q", n)


def _pack_number(value: float, out: bytearray) -> None:
    if value == value and -2.0**63 <= value < 2.0**63 and value.is_integer():
        _pack_integer(int(value), out)
        return
    try:
        single = struct.pack(">f", value)
    except OverflowError:                          # beyond a float's range
        single = None
    if single is not None and struct.unpack(">f", single)[0] == value:
        out += b"\xca" + single                    # a float loses nothing (NaN: never equal)
    else:
        out += b"\xcb" + struct.pack(">d", value)


def _pack_header(count: int, fixed: int, fixed_limit: int, wide: bytes, out: bytearray) -> None:
    """A count in the type's fix form (`fixed | count`) below `fixed_limit`, else after
    its 16-bit code (wide[0]) or its 32-bit one (wide[1])."""
    if count < fixed_limit:
        out.append(fixed | count)
    elif count <= 0xFFFF:
        out += wide[:1] + struct.pack(">H", count)
    else:
        out += wide[1:] + struct.pack(">I", count)


def _array_length(table: LuaTable) -> int | None:
    """n if the keys are exactly 1..n (an empty table is an empty array), else None."""
    largest = 0
    for key in table.hash:
        if type(key) is not float or key < 1 or not key.is_integer():
            return None
        largest = max(largest, int(key))
    return largest if largest == len(table.hash) else None


def _pack(value, level: int, out: bytearray) -> None:
    kind = type(value)
    if kind is str:
        data = value.encode("latin-1")
        if 32 <= len(data) <= 0xFF:
            out += b"\xd9" + struct.pack(">B", len(data))     # str 8
        else:
            _pack_header(len(data), 0xA0, 32, b"\xda\xdb", out)
        out += data
    elif kind is float:
        _pack_number(value, out)
    elif kind is bool:
        out.append(0xC3 if value else 0xC2)
    elif kind is LuaTable and level < MAX_NESTING:
        length = _array_length(value)
        if length is not None:
            _pack_header(length, 0x90, 16, b"\xdc\xdd", out)
            for index in range(1, length + 1):
                _pack(value.get(float(index)), level + 1, out)
        else:
            _pack_header(len(value.hash), 0x80, 16, b"\xde\xdf", out)
            for key, item in value.hash.items():
                _pack(key, level + 1, out)
                _pack(item, level + 1, out)
    else:
        out.append(0xC0)                           # nil, functions, too deep a table


# -- unpacking ----------------------------------------------------------------------------

class _Truncated(Exception):
    pass


class _Reader:
    def __init__(self, data: bytes, position: int):
        self.data = data
        self.position = position

    def take(self, count: int) -> bytes:
        end = self.position + count
        if end > len(self.data):
            raise _Truncated
        chunk = self.data[self.position:end]
        self.position = end
        return chunk

    def number(self, fmt: str) -> float:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]


_FIXED = {0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q", 0xD0: ">b", 0xD1: ">h",
          0xD2: ">i", 0xD3: ">q", 0xCA: ">f", 0xCB: ">d"}
_STRING_LENGTHS = {0xD9: ">B", 0xDA: ">H", 0xDB: ">I", 0xC4: ">B", 0xC5: ">H", 0xC6: ">I"}


def _unpack(reader: _Reader):
    code = reader.take(1)[0]
    if code <= 0x7F:
        return float(code)
    if code >= 0xE0:
        return float(code - 0x100)
    if 0xA0 <= code <= 0xBF:
        return reader.take(code & 0x1F).decode("latin-1")
    if 0x90 <= code <= 0x9F:
        return _unpack_array(reader, code & 0x0F)
    if 0x80 <= code <= 0x8F:
        return _unpack_map(reader, code & 0x0F)
    if code == 0xC0:
        return None
    if code in (0xC2, 0xC3):
        return code == 0xC3
    if code in _FIXED:
        return float(reader.number(_FIXED[code]))
    if code in _STRING_LENGTHS:                     # str 8/16/32 and bin 8/16/32
        return reader.take(int(reader.number(_STRING_LENGTHS[code]))).decode("latin-1")
    if code in (0xDC, 0xDD):
        return _unpack_array(reader, int(reader.number(">H" if code == 0xDC else ">I")))
    if code in (0xDE, 0xDF):
        return _unpack_map(reader, int(reader.number(">H" if code == 0xDE else ">I")))
    raise LuaError("Bad data format in input.")    # ext types, and 0xc1 (never used)


def _unpack_array(reader: _Reader, count: int) -> LuaTable:
    table = LuaTable()
    for index in range(1, count + 1):
        item = _unpack(reader)
        if item is not None:
            table.rawset(float(index), item)
    return table


def _unpack_map(reader: _Reader, count: int) -> LuaTable:
    table = LuaTable()
    for _ in range(count):
        key, item = _unpack(reader), _unpack(reader)
        if key is not None and key == key:         # a nil or NaN key can't be stored
            table.rawset(key, item)
    return table


def _unpack_values(data: str, limit: int, offset: int) -> tuple[int, list]:
    """Up to `limit` values (0: all) from `offset`; the offset after them, -1 at the end."""
    raw = data.encode("latin-1")
    if offset < 0 or offset > len(raw):
        raise LuaError("Start offset %d greater than input length %d." % (offset, len(raw)))
    reader = _Reader(raw, offset)
    values = []
    try:
        while reader.position < len(raw) and (not limit or len(values) < limit):
            values.append(_unpack(reader))
    except _Truncated:
        raise LuaError("Missing bytes in input.") from None
    return (-1 if reader.position >= len(raw) else reader.position), values


def library() -> LuaTable:
    def pack(*args):
        if not args:
            raise LuaError("bad argument #0 to 'pack' (MessagePack pack needs input.)")
        out = bytearray()
        for value in args:
            _pack(value, 0, out)
        return [out.decode("latin-1")]

    def unpack(*args):
        return _unpack_values(check_string(args, 0, "unpack"), 0, 0)[1]

    def unpack_one(*args):
        offset = opt_int(args, 1, "unpack_one", 0)
        offset, values = _unpack_values(check_string(args, 0, "unpack_one"), 1, offset)
        return [float(offset), *values]

    def unpack_limit(*args):
        limit = check_int(args, 1, "unpack_limit")
        offset = opt_int(args, 2, "unpack_limit", 0)
        offset, values = _unpack_values(check_string(args, 0, "unpack_limit"), limit, offset)
        return [float(offset), *values]

    return make_table({"pack": pack, "unpack": unpack, "unpack_one": unpack_one,
                       "unpack_limit": unpack_limit})
