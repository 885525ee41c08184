"""The `bit` library Redis gives scripts (LuaBitOp): bitwise operations on 32-bit
integers.

Lua 5.1 has only double-precision numbers, so LuaBitOp first normalises each argument
to a 32-bit integer (`bit.tobit`: rounded to the nearest integer, ties to even, then
taken modulo 2^32) and returns every result as a signed 32-bit number: bit.bnot(0) is
-1, bit.tobit(0xffffffff) is -1. Shift counts use their low five bits only.
"""

from __future__ import annotations

from .stdlib import check_int, make_table, opt_int
from .values import LuaTable

MASK = 0xFFFFFFFF


def _signed(value: int) -> float:
    """The low 32 bits of `value` as a signed number, the way results come back."""
    value &= MASK
    return float(value - (1 << 32) if value & 0x80000000 else value)


def _operands(args, name: str) -> list[int]:
    if not args:
        check_int(args, 0, name)                     # raises: number expected
    return [check_int(args, index, name) & MASK for index in range(len(args))]


def library() -> LuaTable:
    def tobit(*args):
        return [_signed(check_int(args, 0, "tobit"))]

    def tohex(*args):
        value = check_int(args, 0, "tohex") & MASK
        digits = opt_int(args, 1, "tohex", 8)
        upper = digits < 0
        digits = min(abs(digits), 8)
        text = "%0*x" % (digits, value & ((1 << (4 * digits)) - 1)) if digits else ""
        return [text.upper() if upper else text]

    def bnot(*args):
        return [_signed(~check_int(args, 0, "bnot"))]

    def fold(name, combine):
        def operation(*args):
            values = _operands(args, name)
            result = values[0]
            for value in values[1:]:
                result = combine(result, value)
            return [_signed(result)]
        return operation

    def shift(name, move):
        def operation(*args):
            value = check_int(args, 0, name) & MASK
            count = check_int(args, 1, name) & 31
            return [_signed(move(value, count))]
        return operation

    def arithmetic_right(value: int, count: int) -> int:
        signed = value - (1 << 32) if value & 0x80000000 else value
        return signed >> count

    def bswap(*args):
        value = check_int(args, 0, "bswap") & MASK
        return [_signed(int.from_bytes(value.to_bytes(4, "little"), "big"))]

    return make_table({
        "tobit": tobit,
        "tohex": tohex,
        "bnot": bnot,
        "band": fold("band", lambda a, b: a & b),
        "bor": fold("bor", lambda a, b: a | b),
        "bxor": fold("bxor", lambda a, b: a ^ b),
        "lshift": shift("lshift", lambda v, n: v << n),
        "rshift": shift("rshift", lambda v, n: v >> n),
        "arshift": shift("arshift", arithmetic_right),
        "rol": shift("rol", lambda v, n: (v << n) | (v >> (32 - n)) if n else v),
        "ror": shift("ror", lambda v, n: (v >> n) | (v << (32 - n)) if n else v),
        "bswap": bswap,
    })
