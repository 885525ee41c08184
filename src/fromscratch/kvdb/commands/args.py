"""Reading command arguments the way Redis does, with Redis's error messages."""

from __future__ import annotations

import math

from ...resp import ErrorReply
from ..keyspace import now_ms

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

NOT_INTEGER = ErrorReply("ERR value is not an integer or out of range")
NOT_FLOAT = ErrorReply("ERR value is not a valid float")
SYNTAX = ErrorReply("ERR syntax error")
OUT_OF_RANGE_DB = ErrorReply("ERR DB index is out of range")


def parse_int(arg: bytes, error: ErrorReply = NOT_INTEGER) -> int:
    """A 64-bit integer written as Redis's string2ll accepts it: an optional minus, then
    digits without leading zeros; no spaces, no '+', nothing after."""
    if arg.isdigit() and len(arg) < 19 and (arg[0] != 48 or len(arg) == 1):
        return int(arg)            # the usual case, decided at once: fits, no sign, no '0'
    digits = arg[1:] if arg[:1] == b"-" else arg
    if not digits.isdigit() or (digits[:1] == b"0" and arg != b"0"):
        raise error
    value = int(arg)
    if not INT64_MIN <= value <= INT64_MAX:
        raise error
    return value


def parse_nonneg_int(arg: bytes, what: str = "value") -> int:
    value = parse_int(arg)
    if value < 0:
        raise ErrorReply(f"ERR {what} is out of range, must be positive")
    return value


def strtod(text: bytes) -> float:
    """C's strtod reading the whole of `text` (ValueError otherwise): decimal or hex
    (0x1p3), inf and infinity in any case. Python's float() would also take '1_0' and
    surrounding spaces, which C doesn't, and not hex, which C does."""
    if b"_" in text or text.strip() != text:
        raise ValueError(text)
    try:
        return float(text)
    except ValueError:
        if text.lstrip(b"+-")[:2].lower() != b"0x":
            raise
        return float.fromhex(text.decode("ascii"))


_ZERO_OR_INFINITE = (0.0, math.inf, -math.inf)


def parse_float(arg: bytes, error: ErrorReply = NOT_FLOAT) -> float:
    """A double as Redis's string2d accepts it: strtod over the whole argument, with
    inf allowed; nan, spaces, and overflow or underflow of a finite number refused."""
    if arg.isdigit() and len(arg) < 300:     # a whole number (most scores): fits at once
        return float(arg)
    try:
        value = strtod(arg)
    except (ValueError, OverflowError):
        raise error from None
    if value != value or (value in _ZERO_OR_INFINITE and _out_of_range(arg, value)):
        raise error
    return value


def _out_of_range(text: bytes, value: float) -> bool:
    """Whether C's strtod would have set ERANGE on the way to `value`: a finite number
    too large (1e400, read as inf) or a non-zero one too small (1e-400, read as 0)."""
    if not text.strip(b"+-0."):
        return False                                 # a plain zero: 0, -0, 0.00
    text = text.lower()
    mantissa = text.split(b"p" if b"x" in text else b"e")[0]
    if value == 0:
        return mantissa.strip(b"+-0x.") != b""
    return b"inf" not in mantissa


def parse_db_index(kv, arg: bytes) -> int:
    index = parse_int(arg)
    if not 0 <= index < len(kv.keyspace.dbs):
        raise OUT_OF_RANGE_DB
    return index


def c_long_long(number: float) -> int:
    """C's (long long) cast of a double, as Redis applies it: truncation, and LLONG_MIN
    for NaN or anything out of range."""
    if not -2.0 ** 63 <= number < 2.0 ** 63:         # NaN fails this too
        return INT64_MIN
    return int(number)


def text(arg: bytes) -> str:
    """An argument as text for an error message (undecodable bytes replaced)."""
    return arg.decode("utf-8", "replace")


def subcommand_syntax_error(argv: list) -> ErrorReply:
    """A container's subcommand given a wrong number of arguments, in Redis's words
    (which echo the subcommand as sent, cut at 128 characters)."""
    return ErrorReply(f"ERR unknown subcommand or wrong number of arguments for "
                      f"'{text(argv[1])[:128]}'. Try {text(argv[0]).upper()} HELP.")


def upper(arg: bytes) -> bytes:
    return arg.upper()


def expire_time_ms(arg: bytes, unit_ms: int, absolute: bool, command: str) -> int:
    """EX/PX/EXAT/PXAT values to an absolute unix time in ms, refusing what Redis refuses."""
    value = parse_int(arg)
    invalid = ErrorReply(f"ERR invalid expire time in '{command}' command")
    if unit_ms == 1000:
        if value > INT64_MAX // 1000 or value < INT64_MIN // 1000:
            raise invalid
    when = value * unit_ms
    if not absolute:
        when += now_ms()
    if when > INT64_MAX or when < INT64_MIN:
        raise invalid
    return when


def count_arg(arg: bytes) -> int:
    """A COUNT that must be positive (LPOP/SPOP style)."""
    value = parse_int(arg, ErrorReply("ERR value is out of range, must be positive"))
    if value < 0:
        raise ErrorReply("ERR value is out of range, must be positive")
    return value


def positive_count(arg: bytes, message: str) -> int:
    """An integer >= 1, with `message` as the error either way (ZMPOP's numkeys and
    COUNT, SINTERCARD's numkeys...)."""
    error = ErrorReply(message)
    value = parse_int(arg, error)
    if value < 1:
        raise error
    return value


def random_count(arg: bytes) -> int:
    """SRANDMEMBER's, ZRANDMEMBER's and HRANDFIELD's count: any 64-bit integer but the
    lowest, whose negation would not fit."""
    count = parse_int(arg)
    if count < -INT64_MAX:
        raise ErrorReply(f"ERR value is out of range, value must between {-INT64_MAX} and "
                         f"{INT64_MAX}")
    return count


def repeats_fit(client, count: int) -> bool:
    """Whether `count` random picks with repeats (a negative count of SRANDMEMBER,
    HRANDFIELD, ZRANDMEMBER) can fit the client's output buffer hard limit, each at least
    an empty bulk string. Redis writes such a reply as it draws, and stops once over the
    limit, closing the client; here the reply is drawn whole first, so one that cannot
    fit closes the client before anything is drawn: an absurd count then costs nothing
    rather than the server's memory."""
    hard = client.hard_output_limit()
    if hard and count * len(b"$0\r\n\r\n") + client.output_buffer_size > hard:
        client.drop_over_output_limit()
        return False
    return True


class Options:
    """Walks optional arguments: `opts.take(b"EX")`, `opts.value()`..."""

    __slots__ = ("argv", "pos")

    def __init__(self, argv: list, start: int):
        self.argv = argv
        self.pos = start

    def __bool__(self):
        return self.pos < len(self.argv)

    def next_word(self) -> bytes:
        word = self.argv[self.pos].upper()
        self.pos += 1
        return word

    def value(self) -> bytes:
        """The argument after an option name; syntax error if there is none."""
        if self.pos >= len(self.argv):
            raise SYNTAX
        value = self.argv[self.pos]
        self.pos += 1
        return value

    def remaining(self) -> int:
        return len(self.argv) - self.pos


# -- secrets -------------------------------------------------------------------------------

REDACTED = b"(redacted)"


def redact(argv: list, start: int, stop: int | None = None) -> list:
    """Replace the secrets argv[start:stop] (passwords, ACL rules) by "(redacted)" and
    return them: SLOWLOG and MONITOR show a command's arguments after it ran, and must
    not show those, as Redis's redactClientCommandArgument ensures."""
    secrets = argv[start:stop]
    argv[start:stop] = [REDACTED] * len(secrets)
    return secrets
