"""C's `long double` on x86-64 (the x87 80-bit format), emulated exactly.

INCRBYFLOAT and HINCRBYFLOAT parse their operands with strtold, add them in long double
and print the sum with "%.17Lf", trailing zeros trimmed. To give the same digits we do
the same arithmetic: exact fractions, rounded to the nearest value with a 64-bit
significand after every step (ties to even), with the format's exponent range. That is
why 0.1 + 0.2 prints as 0.3 here, as it does in Redis, and not 0.30000000000000004.
"""

from __future__ import annotations

import math
from fractions import Fraction

SIGNIFICAND_BITS = 64
MIN_EXPONENT = -16381          # smallest normal: 2**-16382 = 2**(MIN_EXPONENT - 1)
OVERFLOW = Fraction(2) ** 16384


class Overflow(ArithmeticError):
    """The value is beyond long double's range (strtold reports ERANGE)."""


def _round_half_even(value: Fraction) -> int:
    floor = value.numerator // value.denominator
    rest = value - floor
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and floor % 2):
        return floor + 1
    return floor


def to_long_double(value: Fraction) -> Fraction:
    """The long double nearest to `value` (raises Overflow past the largest)."""
    if value == 0:
        return Fraction(0)
    sign = -1 if value < 0 else 1
    magnitude = abs(value)
    # e such that 2**(e-1) <= magnitude < 2**e
    e = magnitude.numerator.bit_length() - magnitude.denominator.bit_length()
    if Fraction(2) ** e <= magnitude:
        e += 1
    elif Fraction(2) ** (e - 1) > magnitude:
        e -= 1
    shift = SIGNIFICAND_BITS - max(e, MIN_EXPONENT)      # subnormals keep fewer bits
    significand = _round_half_even(magnitude * Fraction(2) ** shift)
    result = Fraction(significand) / Fraction(2) ** shift
    if result >= OVERFLOW:
        raise Overflow
    return sign * result


def parse(text: str) -> Fraction | float:
    """Parse as strtold would (decimal, hex floats, inf); ValueError for anything else,
    Overflow for values out of range. Infinities are returned as float."""
    lowered = text.lower().lstrip("+-")
    if lowered in ("inf", "infinity"):
        return -math.inf if text.startswith("-") else math.inf
    if lowered.startswith("0x"):
        exact = Fraction(float.fromhex(text))
    else:
        # Fraction also reads "1/3" and "1_000", which strtold stops at.
        if not text or lowered.startswith(("nan", "_")) or "_" in text or "/" in text:
            raise ValueError(text)
        exact = Fraction(text)
    rounded = to_long_double(exact)
    if rounded == 0 and exact != 0:
        raise Overflow                               # underflow is ERANGE too
    return rounded


def add(a, b):
    if isinstance(a, float) or isinstance(b, float):
        return float(a) + float(b)                   # an infinity is involved
    return to_long_double(a + b)


def format_human(value: Fraction) -> str:
    """"%.17Lf" with trailing zeros (and a trailing point) removed, as Redis prints."""
    scaled = _round_half_even(abs(value) * 10**17)
    digits = str(scaled).rjust(18, "0")
    text = digits[:-17] + "." + digits[-17:]
    text = text.rstrip("0").rstrip(".")
    if value < 0 and text != "0":
        text = "-" + text
    return text
