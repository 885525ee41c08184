"""Values to RESP bytes.

`encode(value, protocol)` writes one reply. In RESP2 the RESP3-only types are
downgraded the way Redis downgrades them: a map becomes a flat array of key, value,
key, value...; a set or a push becomes an array; a boolean becomes the integer 1 or 0;
a double or a big number becomes a bulk string; a verbatim string loses its format;
null becomes the null bulk string `$-1`, except NULL_ARRAY, which is `*-1`.

`encode_command(args)` writes a request the way clients send it: an array of bulk
strings.
"""

from __future__ import annotations

from itertools import chain
from math import copysign

from .values import (NULL_ARRAY, Attributed, BigNumber, Encoded, ErrorReply, OrderedSet, Push,
                     Replies, SimpleString, Verbatim)

CRLF = b"\r\n"


_INTEGER_LIMIT = 2.0 ** 62      # Redis prints whole doubles within +-LLONG_MAX/2 as integers


def format_double(value: float) -> bytes:
    """A double as Redis 7.2 prints it: the shortest text that reads back as the same
    double (0.1, not 0.10000000000000001), whole numbers without a fraction (3, not 3.0),
    and inf, -inf, nan, -0. (Redis 7.0 printed %.17g.)"""
    if value.is_integer() and -_INTEGER_LIMIT <= value <= _INTEGER_LIMIT:
        if value == 0 and copysign(1.0, value) < 0:
            return b"-0"
        return b"%d" % value
    return repr(value).encode()         # Python's repr is the shortest round-trip form


# `$len` for lengths below 8192, premade: most arrays are of short bulk strings.
BULK_HEADERS = [b"$%d" % length for length in range(8192)]
# What goes before and between items all of one short length: `$len CRLF` and
# `CRLF $len CRLF`.
BULK_HEADER_LINES = [b"$%d\r\n" % length for length in range(256)]
_BULK_SEPARATORS = [b"\r\n$%d\r\n" % length for length in range(256)]


def _write_bulk_strings(items, out: list) -> None:
    """Append the items of an array of short bulk strings (LRANGE, MGET...) to `out`,
    written by joins whose loops run in C: `$len CRLF item CRLF` for each. Anything else
    in the array raises TypeError (or IndexError for a long item) before anything is
    written, and the caller writes the items one by one."""
    if len(items) <= 4:             # a few: written one by one, the least work for them
        out.append(b"".join([b"$%d\r\n%s\r\n" % (len(item), item) for item in items]))
        return
    lengths = list(map(len, items))
    first = lengths[0]
    if first < 256 and lengths.count(first) == len(lengths):
        # Items of one length (counters, ids, benchmark values) share one header, so
        # the reply is a plain join: about twice as fast as pairing headers.
        body = _BULK_SEPARATORS[first].join(items)
        out.append(BULK_HEADER_LINES[first])
        out.append(body)
        out.append(CRLF)
        return
    # Headers and items interleaved by slice assignment, all in C: it takes about half
    # the time of zipping them.
    parts = [b""] * (2 * len(items) + 1)
    parts[0:-1:2] = map(BULK_HEADERS.__getitem__, lengths)
    parts[1::2] = items
    out.append(b"\r\n".join(parts))


def _line(text: str) -> bytes:
    # A simple string or error can't hold a line break; Redis swaps them for spaces.
    data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
    if b"\r" in data or b"\n" in data:
        data = data.replace(b"\r", b" ").replace(b"\n", b" ")
    return data


def encode(value, protocol: int = 2) -> bytes:
    """Encode one reply for a client speaking RESP `protocol` (2 or 3)."""
    parts: list[bytes] = []
    (write_resp3 if protocol == 3 else write_resp2)(value, parts)
    return b"".join(parts)


def _encode_common(value, out: list, kind: type, encode_item) -> bool:
    """The types written alike in both protocols. Returns False for the others."""
    if kind is bytes or kind is bytearray or kind is memoryview:
        out.append(b"$%d\r\n" % len(value))
        out.append(value)
        out.append(CRLF)
    elif kind is int:
        out.append(b":%d\r\n" % value)
    elif kind is SimpleString:
        out.append(b"+" + _line(value) + CRLF)
    elif kind is str:
        data = value.encode("utf-8", "surrogateescape")
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    elif kind is list or kind is tuple:
        out.append(b"*%d\r\n" % len(value))
        write_items(value, out, encode_item)
    elif kind is Encoded:
        out.append(value.data)
    elif issubclass(kind, ErrorReply):
        out.append(b"-" + _line(value.message) + CRLF)
    elif kind is Replies:
        for item in value:
            encode_item(item, out)
    else:
        return False
    return True


def write_items(items, out: list, encode_item) -> None:
    """The elements of an aggregate (a list, tuple or set), after its header: in one join
    when they are all short bulk strings, as they mostly are, else one by one."""
    try:
        _write_bulk_strings(items, out)
    except (TypeError, IndexError):
        for item in items:
            encode_item(item, out)


def write_resp2(value, out: list) -> None:
    """Append `value` encoded for a RESP2 client to `out` (a list of bytes)."""
    kind = type(value)
    if _encode_common(value, out, kind, write_resp2):
        return
    if value is None:
        out.append(b"$-1\r\n")
    elif value is NULL_ARRAY:
        out.append(b"*-1\r\n")
    elif kind is bool:
        out.append(b":1\r\n" if value else b":0\r\n")
    elif kind is float:
        text = format_double(value)
        out.append(b"$%d\r\n%s\r\n" % (len(text), text))
    elif kind is BigNumber:
        text = b"%d" % value
        out.append(b"$%d\r\n%s\r\n" % (len(text), text))
    elif kind is Verbatim:
        data = value.encode("utf-8", "surrogateescape")
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    elif kind is dict:
        out.append(b"*%d\r\n" % (2 * len(value)))
        write_items(list(chain.from_iterable(value.items())), out, write_resp2)
    elif kind is set or kind is frozenset or kind is OrderedSet or kind is Push:
        out.append(b"*%d\r\n" % len(value))
        write_items(value, out, write_resp2)
    elif kind is Attributed:
        write_resp2(value.value, out)
    else:
        raise TypeError(f"cannot encode {kind.__name__} as RESP")


def write_resp3(value, out: list) -> None:
    """Append `value` encoded for a RESP3 client to `out` (a list of bytes)."""
    kind = type(value)
    if _encode_common(value, out, kind, write_resp3):
        return
    if value is None or value is NULL_ARRAY:
        out.append(b"_\r\n")
    elif kind is bool:
        out.append(b"#t\r\n" if value else b"#f\r\n")
    elif kind is float:
        out.append(b"," + format_double(value) + CRLF)
    elif kind is BigNumber:
        out.append(b"(%d\r\n" % value)
    elif kind is Verbatim:
        data = value.format.encode() + b":" + value.encode("utf-8", "surrogateescape")
        out.append(b"=%d\r\n%s\r\n" % (len(data), data))
    elif kind is dict:
        out.append(b"%%%d\r\n" % len(value))
        write_items(list(chain.from_iterable(value.items())), out, write_resp3)
    elif kind is set or kind is frozenset or kind is OrderedSet:
        out.append(b"~%d\r\n" % len(value))
        write_items(value, out, write_resp3)
    elif kind is Push:
        out.append(b">%d\r\n" % len(value))
        write_items(value, out, write_resp3)
    elif kind is Attributed:
        out.append(b"|%d\r\n" % len(value.attributes))
        for key, item in value.attributes.items():
            write_resp3(key, out)
            write_resp3(item, out)
        write_resp3(value.value, out)
    else:
        raise TypeError(f"cannot encode {kind.__name__} as RESP")


def _as_bytes(arg) -> bytes:
    if isinstance(arg, bytes):
        return arg
    if isinstance(arg, str):
        return arg.encode()
    if isinstance(arg, (int, float)):
        return repr(arg).encode()
    if isinstance(arg, (bytearray, memoryview)):
        return bytes(arg)
    raise TypeError(f"a command argument must be bytes, str, int or float, not {type(arg).__name__}")


def encode_command(args) -> bytes:
    """A request as an array of bulk strings: ["SET", "k", 1] -> *3 $3 SET $1 k $1 1."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = _as_bytes(arg)
        parts.append(b"$%d\r\n" % len(data))
        parts.append(data)
        parts.append(CRLF)
    return b"".join(parts)
