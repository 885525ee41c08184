"""RESP bytes to values, incrementally and without I/O.

Two readers live here, because the two directions of the protocol are not symmetric:

* `RequestParser` reads what a *client* sends a Redis server: arrays of bulk strings
  (`*2\\r\\n$3\\r\\nGET\\r\\n$1\\r\\nk\\r\\n`) or inline commands (`GET k\\r\\n`, the
  form telnet and redis-benchmark's PING_INLINE use). It is the server's hot path, so it
  parses straight from the received bytes, remembers a half-received command instead of
  re-reading it, and refuses absurd lengths before allocating anything. Its error
  messages are Redis's own.

* `ReplyReader` reads what a *server* sends: any RESP2 or RESP3 value, nested to any
  depth (within a limit). Clients and tests use it.

Both are fed bytes as they arrive (`feed`) and hand back whole values.
"""

from __future__ import annotations

import re

from .values import Attributed, BigNumber, ErrorReply, Push, SimpleString, Verbatim

INLINE_MAX = 64 * 1024          # Redis's PROTO_INLINE_MAX_SIZE
# Redis's PROTO_MBULK_BIG_ARG: a bulk string at least this long is received into a
# buffer sized for it once its length is read (and counted so in the client's memory).
BIG_ARG = 32 * 1024
MULTIBULK_MAX = 2**31 - 1       # Redis refuses a count above INT_MAX
DEFAULT_MAX_BULK = 512 * 1024 * 1024   # proto-max-bulk-len


class ProtocolError(Exception):
    """Bytes that are not RESP. The message is what Redis would answer after `-ERR `."""


def _is_count(text: bytes) -> bool:
    """A length field: digits with an optional leading minus, as Redis's string2ll takes."""
    if text[:1] == b"-":
        text = text[1:]
    return text.isdigit() and len(text) < 20


# -- requests (client -> server) -------------------------------------------------------

_QUOTES_OR_ODD_SPACE = frozenset(b"\"'\x0b\x0c")
_WORD_BREAK = frozenset(b" \n\r\t")
_ESCAPES = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b", ord("a"): b"\a"}
_HEX = frozenset(b"0123456789abcdefABCDEF")


def split_inline(line: bytes) -> list[bytes]:
    """Split an inline command line into arguments the way redis-cli and Redis do.

    Words are separated by spaces; "double quotes" take C-style escapes (\\n, \\t,
    \\xHH...), 'single quotes' take only \\'. A closing quote must end the word.
    Redis splits a C string, so a NUL byte ends the line.
    """
    if 0 in line:
        line = line[:line.index(0)]
    if not _QUOTES_OR_ODD_SPACE.intersection(line):
        return line.split()
    args: list[bytes] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in b" \t\n\r\x0b\x0c":
            i += 1
        if i >= n:
            return args
        word = bytearray()
        in_double = in_single = False
        while True:
            if in_double:
                if i >= n:
                    raise ProtocolError("Protocol error: unbalanced quotes in request")
                c = line[i]
                if (c == 0x5C and i + 3 < n and line[i + 1] == 0x78
                        and line[i + 2] in _HEX and line[i + 3] in _HEX):
                    word.append(int(line[i + 2:i + 4], 16))
                    i += 3
                elif c == 0x5C and i + 1 < n:
                    i += 1
                    word += _ESCAPES.get(line[i], bytes((line[i],)))
                elif c == 0x22:
                    if i + 1 < n and line[i + 1] not in b" \t\n\r\x0b\x0c":
                        raise ProtocolError("Protocol error: unbalanced quotes in request")
                    i += 1
                    break
                else:
                    word.append(c)
            elif in_single:
                if i >= n:
                    raise ProtocolError("Protocol error: unbalanced quotes in request")
                c = line[i]
                if c == 0x5C and i + 1 < n and line[i + 1] == 0x27:
                    i += 1
                    word.append(0x27)
                elif c == 0x27:
                    if i + 1 < n and line[i + 1] not in b" \t\n\r\x0b\x0c":
                        raise ProtocolError("Protocol error: unbalanced quotes in request")
                    i += 1
                    break
                else:
                    word.append(c)
            else:
                if i >= n:
                    break
                c = line[i]
                if c in _WORD_BREAK:
                    break
                if c == 0x22:
                    in_double = True
                elif c == 0x27:
                    in_single = True
                else:
                    word.append(c)
            i += 1
        args.append(bytes(word))


def _repr_of_byte(byte: int) -> str:
    named = {0x5C: "\\\\", 0x22: '\\"', 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t",
             0x07: "\\a", 0x08: "\\b"}
    if byte in named:
        return named[byte]
    return chr(byte) if 32 <= byte < 127 else "\\x%02x" % byte


# How sdscatrepr writes each byte, made once: quoting is a lookup per byte.
_BYTE_REPRS = [_repr_of_byte(byte) for byte in range(256)]


def quote_repr(data: bytes) -> str:
    """An argument as Redis shows it (MONITOR, CLIENT LIST, its command lines and
    config files): in double quotes with C-style escapes (sdscatrepr); split_inline
    reads it back as that one argument."""
    return '"' + "".join(map(_BYTE_REPRS.__getitem__, data)) + '"'


class RequestParser:
    """Incremental parser of client requests.

    `feed(data)` returns the commands completed by `data`, each a list of bytes. If the
    stream turns out not to be RESP, the commands before the fault are still returned
    and `error` is set to the message Redis would send; the server then answers it and
    closes the connection, as Redis does. If a half-received command holds more than
    `max_buffer` bytes, `overflow` is set: Redis closes such a client without a word.
    """

    __slots__ = ("max_bulk_len", "max_buffer", "error", "overflow", "unauthenticated",
                 "held_back", "_buf", "_args", "_missing", "_need", "_need_header", "_chunks",
                 "_chunks_len", "_partial_bytes", "_layout", "_missed_size")

    def __init__(self, max_bulk_len: int = DEFAULT_MAX_BULK, max_buffer: int = 1024**3):
        self.max_bulk_len = max_bulk_len
        self.max_buffer = max_buffer    # client-query-buffer-limit: held bytes allowed
        self.error: str | None = None
        self.overflow = False           # set when a half-received command holds too much
        # A client that has yet to authenticate may send only small commands (Redis's
        # guard against memory use by strangers: 10 arguments, 16 KB each), and they are
        # parsed one at a time, each after the one before has run (an AUTH among them
        # lifts the limits for the rest). `held_back` says a command waits to be parsed.
        self.unauthenticated = False
        self.held_back = False
        self._buf = b""            # bytes received but not parsed yet
        self._args = None          # a command whose arguments are still arriving
        self._missing = 0          # how many arguments it still needs
        self._need = 0             # bytes a large bulk string needs before parsing resumes
        self._need_header = 0      # how many of those are its `$len` line
        self._chunks: list[bytes] = []
        self._chunks_len = 0
        self._partial_bytes = 0    # bytes held by the arguments already parsed
        self._layout: Layout | None = None   # tried first (see Layout)
        self._missed_size = 0      # the size of the last read it did not fit

    @property
    def pending_bytes(self) -> int:
        """How much memory a half-received command holds (the query buffer size)."""
        return len(self._buf) + self._chunks_len + self._partial_bytes

    @property
    def query_buffer_bytes(self) -> int:
        """CLIENT LIST's qbuf: the bytes received and not yet made arguments. A large
        bulk string on its way is counted from its first byte: Redis consumes its `$len`
        line and keeps the string alone in the buffer."""
        if self._need:
            return self._chunks_len - self._need_header
        return len(self._buf)

    @property
    def query_buffer_room(self) -> int:
        """The query buffer's size: what it holds, or, while a large bulk string is on
        its way, the whole string (CRLF included), as Redis sizes its buffer for it once
        it has read the length."""
        if self._need:
            return self._need - self._need_header
        return len(self._buf)

    @property
    def argument_bytes(self) -> int:
        """CLIENT LIST's argv-mem: the arguments of a half-received command so far."""
        return self._partial_bytes

    @property
    def mid_command(self) -> bool:
        """Whether part of a command has been received: everything fed so far is not
        whole commands."""
        return bool(self._buf) or self._args is not None or self._need > 0

    def feed(self, data: bytes) -> list[list[bytes]]:
        if self.error is not None:
            return []
        if self._need:
            # Waiting for a large bulk string: collect chunks, join once it is whole.
            self._chunks.append(data)
            self._chunks_len += len(data)
            if self._chunks_len < self._need:
                self.overflow = self.pending_bytes > self.max_buffer
                return []
            data = b"".join(self._chunks)
            self._chunks, self._chunks_len, self._need = [], 0, 0
        elif self._buf:
            data = self._buf + data
            self._buf = b""
        data = bytes(data)
        commands: list[list[bytes]] = []
        position = 0
        self.held_back = False
        if (self._args is None and data[:1] == b"*" and len(data) <= self.max_bulk_len
                and not self.unauthenticated):
            layout = self._layout
            if layout is not None and not len(data) % layout.size:
                cut = layout.cut(data)
                if cut is not None:                 # commands laid out as the last one
                    return cut
            position = _split_commands(data, commands)
            # A layout is learnt from a read the size of the one before (both missed):
            # likely the same commands again. Reads that differ each time cost no more.
            if len(data) == self._missed_size and commands:
                self._layout = layout_of(commands[-1])
            self._missed_size = len(data)
            if position == len(data):               # the usual case: nothing left over
                return commands
        try:
            self._parse(data, position, commands)
        except ProtocolError as exc:
            self.error = str(exc)
            self._buf, self._args, self._need = b"", None, 0
        if self.pending_bytes > self.max_buffer:
            self.overflow = True
        return commands

    def _parse(self, buf: bytes, pos: int, commands: list) -> None:
        """The general parser, from `pos`: inline commands, partial frames, arguments
        holding CRLF, and every error."""
        n = len(buf)
        args, missing = self._args, self._missing
        find = buf.find
        while True:
            if args is None:
                if pos >= n:
                    break
                if commands and self.unauthenticated:
                    self.held_back = True                           # see __init__
                    break
                if buf[pos] == 42:                                  # '*': multibulk
                    end = find(b"\r\n", pos)
                    if end < 0:
                        if n - pos > INLINE_MAX:
                            raise ProtocolError("Protocol error: too big mbulk count string")
                        break
                    field = buf[pos + 1:end]
                    if not _is_count(field) or int(field) > MULTIBULK_MAX:
                        raise ProtocolError("Protocol error: invalid multibulk length")
                    if self.unauthenticated and int(field) > 10:
                        raise ProtocolError("Protocol error: unauthenticated multibulk length")
                    pos = end + 2
                    missing = int(field)
                    if missing <= 0:
                        continue                                    # `*0` / `*-1`: nothing
                    args = []
                    self._partial_bytes = 0
                else:                                               # inline command
                    end = find(b"\n", pos)
                    if end < 0:
                        if n - pos > INLINE_MAX:
                            raise ProtocolError("Protocol error: too big inline request")
                        break
                    line = buf[pos:end]
                    pos = end + 1
                    words = split_inline(line)
                    if words:
                        commands.append(words)
                    continue
            while missing:
                if pos >= n:
                    break
                if buf[pos] != 36:                                  # '$'
                    raise ProtocolError(
                        "Protocol error: expected '$', got '%s'" % chr(buf[pos]))
                end = find(b"\r\n", pos)
                if end < 0:
                    if n - pos > INLINE_MAX:
                        raise ProtocolError("Protocol error: too big bulk count string")
                    break
                field = buf[pos + 1:end]
                if not field.isdigit() or len(field) > 19 or int(field) > self.max_bulk_len:
                    raise ProtocolError("Protocol error: invalid bulk length")
                if self.unauthenticated and int(field) > 16384:
                    raise ProtocolError("Protocol error: unauthenticated bulk length")
                start = end + 2
                stop = start + int(field)
                if stop + 2 > n:
                    if stop - start >= BIG_ARG:                     # see feed()
                        self._need, self._need_header = stop + 2 - pos, start - pos
                    break
                args.append(buf[start:stop])
                self._partial_bytes += stop - start
                pos = stop + 2
                missing -= 1
            if missing:
                break
            commands.append(args)
            args = None
        self._args, self._missing = args, missing
        self._buf = buf[pos:] if pos < n else b""
        if self._need:
            self._chunks = [self._buf]
            self._chunks_len = len(self._buf)
            self._buf = b""
        if args is None:
            self._partial_bytes = 0


class Layout:
    """The layout of a command: how many arguments, and each one's length. A client
    mostly sends commands laid out alike (the same command, keys and values of one
    width: counters, ids, benchmarks), so the parser remembers the last command's
    layout and first tries to read the next bytes as a run of commands laid out the
    same. A regular expression with the exact lengths reads such a run in one C-level
    pass: about twice as fast as splitting on CRLF and checking every `$len` header.

    It is exact, not a guess: each match is one whole command of `size` bytes whose
    arguments have the lengths their headers say (they may hold CRLF), and the run is
    taken only if the matches tile the bytes from the first to the last."""

    __slots__ = ("size", "_pattern", "_single")

    def __init__(self, lengths: tuple):
        pattern = b"\\*%d\r\n" % len(lengths) + b"".join(
            b"\\$%d\r\n(.{%d})\r\n" % (length, length) for length in lengths)
        self._pattern = re.compile(pattern, re.DOTALL)
        self._single = len(lengths) == 1     # findall then gives strings, not tuples
        self.size = len(b"*%d\r\n" % len(lengths)) + sum(
            len(b"$%d\r\n" % length) + length + 2 for length in lengths)

    def cut(self, data: bytes) -> list[list[bytes]] | None:
        """The commands `data` holds if it is a run of commands of this layout (its
        length a multiple of `size`), else None."""
        if len(data) == self.size:                  # one command: no list of matches
            match = self._pattern.fullmatch(data)
            return [list(match.groups())] if match is not None else None
        found = self._pattern.findall(data)
        if len(found) * self.size != len(data):     # they do not tile it: not a run
            return None
        if self._single:
            return [[argument] for argument in found]
        return list(map(list, found))


_LAYOUTS: dict[tuple, Layout] = {}


def layout_of(argv: list[bytes]) -> Layout | None:
    """The layout of the command `argv`, made once and shared by every parser; None
    for a command too big to be worth it."""
    lengths = tuple(map(len, argv))
    layout = _LAYOUTS.get(lengths)
    if layout is None:
        if len(lengths) > 32 or sum(lengths) > 16384:
            return None
        if len(_LAYOUTS) >= 1024:           # many layouts come and go: start afresh
            _LAYOUTS.clear()
        layout = _LAYOUTS[lengths] = Layout(lengths)
    return layout


# `$len` headers, premade: the fast path compares whole commands' headers at once.
_HEADER_OF_LENGTH = [b"$%d" % length for length in range(8192)].__getitem__


def _split_commands(buf: bytes, commands: list) -> int:
    """The fast path: parse the leading run of whole multibulk commands in `buf`, using
    one C-level split on CRLF. Valid only while no argument itself contains CRLF: each
    `$len` header is checked against the argument that follows it, and at the first
    mismatch (or inline command, or partial command) we stop and say how far we got; the
    general parser takes over from there. Returns the byte offset reached."""
    parts = buf.split(b"\r\n")
    last = len(parts) - 1              # parts[last] is whatever follows the final CRLF
    if last >= 16 and _split_uniform(parts, last, commands):   # a pipeline, likely
        return len(buf) - len(parts[last])
    header_of = _HEADER_OF_LENGTH
    append = commands.append
    i = 0
    while i < last:
        count_field = parts[i][1:]
        if parts[i][:1] != b"*" or not count_field.isdigit():
            break
        end = i + 2 * int(count_field)              # index of the last argument
        if end >= last or end == i:
            break
        args = parts[i + 2:end + 1:2]
        try:
            if parts[i + 1:end:2] != list(map(header_of, map(len, args))):
                break
        except IndexError:                          # a long argument: not for this path
            break
        append(args)
        i = end + 1
    if i == last:                                   # all consumed but a partial tail
        return len(buf) - len(parts[last])
    return sum(map(len, parts[:i])) + 2 * i


def _split_uniform(parts: list, last: int, commands: list) -> bool:
    """A pipeline of commands of one size (what benchmarks and bulk loads send) is
    periodic after the split: each command is `*n`, then n pairs of `$len` and argument,
    2n + 1 parts in all. Then the whole batch is checked and cut column by column with
    slices, all in C. Returns False, having added nothing, unless every part fits."""
    head = parts[0]
    count = head[1:]
    if not last or head[:1] != b"*" or not count.isdigit() or len(count) > 9 or count == b"0":
        return False
    width = 2 * int(count) + 1
    if last < 2 * width:                            # one command: the loop is faster
        return False
    if last % width or parts[0:last:width].count(head) != last // width:
        return False
    columns = [parts[offset:last:width] for offset in range(2, width, 2)]
    try:
        for offset, arguments in zip(range(1, width, 2), columns):
            if parts[offset:last:width] != list(map(_HEADER_OF_LENGTH, map(len, arguments))):
                return False
    except IndexError:                              # a long argument: not for this path
        return False
    commands.extend(map(list, zip(*columns)))
    return True


# -- replies (server -> client) ---------------------------------------------------------

class _Incomplete(Exception):
    pass


INCOMPLETE = object()   # what ReplyReader.get() returns until a whole value has arrived


class ReplyReader:
    """Incremental reader of server replies: every RESP2 and RESP3 type.

    Call `feed(data)` with received bytes and `get()` until it returns INCOMPLETE.
    Malformed input raises ProtocolError; the stream can't be trusted after that.
    """

    def __init__(self, max_bulk_len: int = DEFAULT_MAX_BULK, max_depth: int = 1000,
                 max_aggregate_len: int = MULTIBULK_MAX):
        self.max_bulk_len = max_bulk_len
        self.max_depth = max_depth
        self.max_aggregate_len = max_aggregate_len
        self._buf = bytearray()

    def feed(self, data: bytes) -> None:
        self._buf += data

    def get(self):
        if not self._buf:
            return INCOMPLETE
        try:
            value, pos = self._value(0, 0)
        except _Incomplete:
            return INCOMPLETE
        del self._buf[:pos]
        return value

    def _line(self, pos: int) -> tuple[bytes, int]:
        end = self._buf.find(b"\r\n", pos)
        if end < 0:
            if len(self._buf) - pos > INLINE_MAX:
                raise ProtocolError("line too long")
            raise _Incomplete
        return bytes(self._buf[pos:end]), end + 2

    def _count(self, pos: int, allow_stream: bool = False) -> tuple[int | None, int]:
        field, pos = self._line(pos)
        if allow_stream and field == b"?":
            return None, pos
        if not _is_count(field):
            raise ProtocolError(f"invalid length {field[:32]!r}")
        return int(field), pos

    def _bytes(self, pos: int, length: int) -> tuple[bytes, int]:
        if length > self.max_bulk_len:
            raise ProtocolError(f"bulk length {length} is above the limit")
        end = pos + length
        if end + 2 > len(self._buf):
            raise _Incomplete
        if self._buf[end:end + 2] != b"\r\n":
            raise ProtocolError("bulk string not followed by CRLF")
        return bytes(self._buf[pos:end]), end + 2

    def _value(self, pos: int, depth: int):
        if depth > self.max_depth:
            raise ProtocolError("values nested too deep")
        if pos >= len(self._buf):
            raise _Incomplete
        kind = self._buf[pos]
        pos += 1
        if kind == 0x2B:                                    # + simple string
            line, pos = self._line(pos)
            return SimpleString(line.decode("utf-8", "surrogateescape")), pos
        if kind == 0x2D:                                    # - error
            line, pos = self._line(pos)
            return ErrorReply(line.decode("utf-8", "surrogateescape")), pos
        if kind == 0x3A:                                    # : integer
            line, pos = self._line(pos)
            if not _is_count(line):
                raise ProtocolError(f"invalid integer {line[:32]!r}")
            return int(line), pos
        if kind == 0x24:                                    # $ bulk string
            length, pos = self._count(pos, allow_stream=True)
            if length is None:
                return self._streamed_string(pos)
            if length < 0:
                return None, pos
            return self._bytes(pos, length)
        if kind in (0x2A, 0x7E, 0x3E, 0x25, 0x7C):          # * ~ > % |  aggregates
            length, pos = self._count(pos, allow_stream=True)
            if length is not None and length < 0:
                return None, pos
            if length is not None and length > self.max_aggregate_len:
                raise ProtocolError(f"aggregate length {length} is above the limit")
            per_entry = 2 if kind in (0x25, 0x7C) else 1
            items = []
            if length is None:                              # streamed: ends with `.`
                while True:
                    if pos >= len(self._buf):
                        raise _Incomplete
                    if self._buf[pos] == 0x2E:
                        _, pos = self._line(pos + 1)
                        break
                    item, pos = self._value(pos, depth + 1)
                    items.append(item)
            else:
                for _ in range(length * per_entry):
                    item, pos = self._value(pos, depth + 1)
                    items.append(item)
            if kind == 0x2A:
                return items, pos
            if kind == 0x3E:
                return Push(items), pos
            if kind == 0x7E:
                return {_hashable(item) for item in items}, pos
            mapping = {_hashable(items[i]): items[i + 1] for i in range(0, len(items) - 1, 2)}
            if kind == 0x25:
                return mapping, pos
            value, pos = self._value(pos, depth + 1)         # | attribute, then its value
            return Attributed(value, mapping), pos
        if kind == 0x5F:                                    # _ null
            line, pos = self._line(pos)
            if line:
                raise ProtocolError("null with a payload")
            return None, pos
        if kind == 0x23:                                    # # boolean
            line, pos = self._line(pos)
            if line not in (b"t", b"f"):
                raise ProtocolError(f"invalid boolean {line[:32]!r}")
            return line == b"t", pos
        if kind == 0x2C:                                    # , double
            line, pos = self._line(pos)
            try:
                return float(line), pos
            except ValueError:
                raise ProtocolError(f"invalid double {line[:32]!r}") from None
        if kind == 0x28:                                    # ( big number
            line, pos = self._line(pos)
            if not line.lstrip(b"+-").isdigit():
                raise ProtocolError(f"invalid big number {line[:32]!r}")
            return BigNumber(int(line)), pos
        if kind == 0x21 or kind == 0x3D:                    # ! blob error, = verbatim
            length, pos = self._count(pos)
            if length < 0:
                raise ProtocolError("negative length")
            data, pos = self._bytes(pos, length)
            text = data.decode("utf-8", "surrogateescape")
            if kind == 0x21:
                return ErrorReply(text), pos
            if len(data) < 4 or data[3:4] != b":":
                raise ProtocolError("verbatim string without a format")
            return Verbatim(text[4:], text[:3]), pos
        raise ProtocolError(f"unknown type byte {chr(kind)!r}")

    def _streamed_string(self, pos: int):
        # `$?` then `;<len>` chunks, ended by `;0`.
        chunks = []
        while True:
            if pos >= len(self._buf):
                raise _Incomplete
            if self._buf[pos] != 0x3B:
                raise ProtocolError("expected ';' in a streamed string")
            length, pos = self._count(pos + 1)
            if length == 0:
                return b"".join(chunks), pos
            chunk, pos = self._bytes(pos, length)
            chunks.append(chunk)


def _hashable(value):
    """Map keys and set members must be hashable in Python; RESP allows arrays there."""
    if isinstance(value, list):
        return tuple(_hashable(item) for item in value)
    if isinstance(value, (dict, set)):
        return repr(value)
    return value
