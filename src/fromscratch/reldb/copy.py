"""COPY's data formats: text (tab-separated, \\N for NULL, backslash escapes), CSV, and
binary (a signature, then per row a field count and length-prefixed values in their
binary send format, then -1).

`CopyIn` receives the client's data in chunks (CopyData messages), splits it into rows
and hands each row to a TableWriter; `copy_out_lines` renders query rows as lines.
Sans-I/O: the protocol layer moves the bytes.
"""

from __future__ import annotations

import struct

from . import types as T
from .binary import decode_binary, encode_binary
from .errors import BAD_COPY_FORMAT, FEATURE_NOT_SUPPORTED, SqlError

BINARY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"

_UNESCAPE = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}


class CopyOptions:
    def __init__(self, options: dict):
        fmt = str(options.get("format", "text")).lower()
        if fmt not in ("text", "csv", "binary"):
            raise SqlError(FEATURE_NOT_SUPPORTED, f"COPY format \"{fmt}\" not recognized")
        self.csv = fmt == "csv"
        self.binary = fmt == "binary"
        self.delimiter = options.get("delimiter", "," if self.csv else "\t")
        self.null = options.get("null", "" if self.csv else "\\N")
        self.header = str(options.get("header", "false")).lower() in ("true", "on", "1", "match")
        self.quote = options.get("quote", '"')
        self.escape = options.get("escape", self.quote)
        if len(self.delimiter) != 1:
            raise SqlError(FEATURE_NOT_SUPPORTED, "COPY delimiter must be a single one-byte character")


def parse_text_line(line: str, opts: CopyOptions) -> list[str | None]:
    if "\\" not in line:
        # No escapes (the common case): a plain split.
        null = opts.null
        return [None if f == null else f for f in line.split(opts.delimiter)]
    fields = []
    current = []
    i = 0
    raw_field = []
    while i <= len(line):
        c = line[i] if i < len(line) else None
        if c is None or c == opts.delimiter:
            raw = "".join(raw_field)
            fields.append(None if raw == opts.null else "".join(current))
            current, raw_field = [], []
            i += 1
            if c is None:
                break
            continue
        raw_field.append(c)
        if c == "\\" and i + 1 < len(line):
            nxt = line[i + 1]
            raw_field.append(nxt)
            if nxt in _UNESCAPE:
                current.append(_UNESCAPE[nxt])
                i += 2
                continue
            if nxt in "01234567":
                j = i + 1
                while j < len(line) and j < i + 4 and line[j] in "01234567":
                    j += 1
                current.append(chr(int(line[i + 1:j], 8)))
                raw_field.extend(line[i + 2:j])
                i = j
                continue
            if nxt == "x" and i + 2 < len(line):
                j = i + 2
                while j < len(line) and j < i + 4 and line[j] in "0123456789abcdefABCDEF":
                    j += 1
                current.append(chr(int(line[i + 2:j], 16)))
                raw_field.extend(line[i + 2:j])
                i = j
                continue
            current.append(nxt)
            i += 2
            continue
        current.append(c)
        i += 1
    return fields


def escape_text(value: str, delimiter: str) -> str:
    out = []
    for c in value:
        if c == "\\":
            out.append("\\\\")
        elif c == "\n":
            out.append("\\n")
        elif c == "\r":
            out.append("\\r")
        elif c == "\t":
            out.append("\\t")
        elif c == delimiter:
            out.append("\\" + c)
        else:
            out.append(c)
    return "".join(out)


class CopyIn:
    """Rows arriving from the client for COPY ... FROM STDIN."""

    def __init__(self, opts: CopyOptions, types: list[T.SqlType], write_row):
        self.opts = opts
        self.types = types
        self.parsers = [T.input_function(t) for t in types]
        self.binary_decoders = [lambda data, t=t: decode_binary(data, t) for t in types]
        self.write_row = write_row      # function(list of values) -> None
        self.buffer = b""
        self.count = 0
        self.line_no = 0
        self.done = False
        self.header_pending = opts.header

    def feed(self, data: bytes) -> None:
        self.buffer += data
        if self.opts.binary:
            self._binary_rows()
            return
        if self.opts.csv:
            return                       # CSV fields may hold newlines: parsed at the end
        *lines, self.buffer = self.buffer.split(b"\n")
        for line in lines:
            self._text_line(line)

    def finish(self) -> int:
        if self.opts.binary:
            self._binary_rows()
            if self.buffer or not self.done:
                raise SqlError(BAD_COPY_FORMAT, "unexpected EOF in COPY data")
            return self.count
        if self.opts.csv:
            self._csv(self.buffer)
        elif self.buffer and not self.done:
            self._text_line(self.buffer)
        self.buffer = b""
        return self.count

    def _binary_rows(self) -> None:
        buf = self.buffer
        pos = 0
        if self.line_no == 0:                # the signature, flags and header extension
            if len(buf) < 19:
                return
            if buf[:11] != BINARY_SIGNATURE:
                raise SqlError(BAD_COPY_FORMAT, "COPY file signature not recognized")
            (extension,) = struct.unpack_from("!i", buf, 15)
            if len(buf) < 19 + extension:
                return
            pos = 19 + extension
            self.line_no = 1
        decoders = self.binary_decoders
        while not self.done and len(buf) - pos >= 2:
            (count,) = struct.unpack_from("!h", buf, pos)
            if count == -1:
                self.done = True
                pos += 2
                break
            if count != len(self.types):
                raise SqlError(BAD_COPY_FORMAT, f"row field count is {count}, expected "
                               f"{len(self.types)}", detail=f"COPY line {self.line_no}")
            cursor = pos + 2
            values = []
            for decode in decoders:
                if len(buf) - cursor < 4:
                    break
                (size,) = struct.unpack_from("!i", buf, cursor)
                cursor += 4
                if size == -1:
                    values.append(None)
                    continue
                if len(buf) - cursor < size:
                    break
                values.append(decode(buf[cursor:cursor + size]))
                cursor += size
            if len(values) < len(decoders):
                break                        # the rest of the row has not arrived yet
            pos = cursor
            self.line_no += 1
            self.write_row(values)
            self.count += 1
        self.buffer = buf[pos:]

    def _decode(self, line: bytes) -> str:
        try:
            return line.decode()
        except UnicodeDecodeError:
            raise SqlError("22021", "invalid byte sequence for encoding \"UTF8\"") from None

    def _text_line(self, raw: bytes) -> None:
        if self.done:
            return
        line = self._decode(raw)
        if line.endswith("\r"):
            line = line[:-1]
        self.line_no += 1
        if line == "\\.":
            self.done = True
            return
        if self.header_pending:
            self.header_pending = False
            return
        self._row(parse_text_line(line, self.opts))

    def _csv(self, data: bytes) -> None:
        text = self._decode(data)
        for record in _csv_records(text, self.opts):
            self.line_no += 1
            if self.header_pending:
                self.header_pending = False
                continue
            self._row(record)

    def _row(self, fields: list) -> None:
        if len(fields) != len(self.types):
            if len(fields) > len(self.types):
                raise SqlError(BAD_COPY_FORMAT, "extra data after last expected column",
                               detail=f"COPY line {self.line_no}")
            raise SqlError(BAD_COPY_FORMAT, "missing data for column",
                           detail=f"COPY line {self.line_no}")
        values = []
        for text, parse in zip(fields, self.parsers):
            if text is None:
                values.append(None)
                continue
            try:
                values.append(parse(text))
            except SqlError as exc:
                exc.detail = exc.detail or f"COPY line {self.line_no}"
                raise
        self.write_row(values)
        self.count += 1


def _csv_records(text: str, opts: CopyOptions):
    """CSV records with PostgreSQL's NULL rule: an unquoted empty field is NULL, a quoted
    one is the empty string."""
    i, n = 0, len(text)
    q, d = opts.quote, opts.delimiter
    while i < n:
        record = []
        while True:
            if i < n and text[i] == q:
                i += 1
                value = []
                while i < n:
                    if text[i] == opts.escape and i + 1 < n and text[i + 1] == q:
                        value.append(q)
                        i += 2
                    elif text[i] == q:
                        i += 1
                        break
                    else:
                        value.append(text[i])
                        i += 1
                record.append("".join(value))
            else:
                start = i
                while i < n and text[i] not in (d, "\n", "\r"):
                    i += 1
                raw = text[start:i]
                if raw == "\\." and not record:
                    return
                record.append(None if raw == opts.null else raw)
            if i < n and text[i] == d:
                i += 1
                continue
            if i < n and text[i] == "\r":
                i += 1
            if i < n and text[i] == "\n":
                i += 1
            break
        yield record


def copy_out_lines(rows, types: list[T.SqlType], opts: CopyOptions, names: list[str]):
    """Render rows as COPY output chunks (text and CSV: one line each)."""
    if opts.binary:
        # The header travels with the first row (clients parse one message at a time).
        header = BINARY_SIGNATURE + struct.pack("!ii", 0, 0)
        for row in rows:
            parts = [header, struct.pack("!h", len(row))]
            header = b""
            for v, t in zip(row, types):
                if v is None:
                    parts.append(b"\xff\xff\xff\xff")
                else:
                    data = encode_binary(v, t)
                    parts.append(struct.pack("!i", len(data)) + data)
            yield b"".join(parts)
        yield header + b"\xff\xff"
        return
    if opts.csv:
        if opts.header:
            yield opts.delimiter.join(_csv_field(n, opts, False) for n in names) + "\n"
        for row in rows:
            yield opts.delimiter.join(
                opts.null if v is None else _csv_field(T.to_text(v, t), opts, True)
                for v, t in zip(row, types)) + "\n"
        return
    if opts.header:
        yield opts.delimiter.join(names) + "\n"
    for row in rows:
        yield opts.delimiter.join(
            opts.null if v is None else escape_text(T.to_text(v, t), opts.delimiter)
            for v, t in zip(row, types)) + "\n"


def _csv_field(text: str, opts: CopyOptions, value: bool) -> str:
    if text == "" and value and opts.null == "" or any(c in text for c in (
            opts.delimiter, opts.quote, "\n", "\r")) or text == "\\.":
        return opts.quote + text.replace(opts.quote, opts.escape + opts.quote) + opts.quote
    return text

