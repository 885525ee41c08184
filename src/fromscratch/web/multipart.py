"""multipart/form-data (RFC 7578), parsed as it streams in.

The body is read in chunks and never held whole: each file part goes into a
`SpooledTemporaryFile`, which stays in memory while small and moves to disk past
`spool_size` bytes. Text fields are kept in memory, so their total is capped.

The one subtle point is the boundary: a chunk may end in the middle of
`\\r\\n--boundary`, so the last `len(delimiter)` bytes of a chunk are held back until
the next chunk shows whether they were a boundary or data.
"""

from __future__ import annotations

import shutil
import tempfile
from typing import BinaryIO

from .datastructures import MultiDict, parse_options_header
from .errors import HTTPError

CHUNK_SIZE = 64 * 1024
MAX_PART_HEADER = 8 * 1024
MAX_PARTS = 1000


class FileStorage:
    """An uploaded file: `filename`, `content_type`, and a readable `stream`."""

    def __init__(self, name: str, filename: str, content_type: str, stream: BinaryIO):
        self.name = name
        self.filename = filename
        self.content_type = content_type
        self.stream = stream

    def read(self, size: int = -1) -> bytes:
        return self.stream.read(size)

    def save(self, destination: str) -> None:
        """Copy the upload to `destination` (a path you chose, not `filename` as sent)."""
        self.stream.seek(0)
        with open(destination, "wb") as out:
            shutil.copyfileobj(self.stream, out)

    @property
    def size(self) -> int:
        position = self.stream.tell()
        self.stream.seek(0, 2)
        size = self.stream.tell()
        self.stream.seek(position)
        return size

    def close(self) -> None:
        self.stream.close()

    def __repr__(self) -> str:
        return f"<FileStorage {self.filename!r} ({self.content_type})>"


def _bad(reason: str) -> HTTPError:
    return HTTPError(400, f"malformed multipart body: {reason}")


class _Chunks:
    """Reads the body in chunks, at most `remaining` bytes."""

    def __init__(self, stream: BinaryIO, length: int | None):
        self.stream = stream
        self.remaining = length

    def read(self) -> bytes:
        size = CHUNK_SIZE if self.remaining is None else min(CHUNK_SIZE, self.remaining)
        if size <= 0:
            return b""
        data = self.stream.read(size)
        if self.remaining is not None:
            self.remaining -= len(data)
        return data


def parse_multipart(stream: BinaryIO, boundary: str, length: int | None, *,
                    spool_size: int = 512 * 1024, max_form_memory: int = 1024 * 1024,
                    charset: str = "utf-8") -> tuple[MultiDict, MultiDict]:
    """Parse the body into (form fields, files)."""
    if not boundary or len(boundary) > 200:
        raise _bad("missing or overlong boundary")
    files = MultiDict()
    try:
        return _parse(stream, boundary, length, files, spool_size, max_form_memory, charset)
    except BaseException:
        for _name, upload in files.items(multi=True):     # no temporary file left behind
            upload.close()
        raise


def _parse(stream: BinaryIO, boundary: str, length: int | None, files: MultiDict,
           spool_size: int, max_form_memory: int, charset: str) -> tuple[MultiDict, MultiDict]:
    chunks = _Chunks(stream, length)
    delimiter = b"\r\n--" + boundary.encode("latin-1")
    # Pretend a CRLF came before the body, so the first boundary looks like all others.
    buffer = b"\r\n"
    form = MultiDict()
    form_bytes = 0

    def fill() -> bool:
        nonlocal buffer
        data = chunks.read()
        buffer += data
        return bool(data)

    # Preamble: everything up to the first delimiter is ignored.
    while (index := buffer.find(delimiter)) < 0:
        buffer = buffer[-len(delimiter):]
        if not fill():
            raise _bad("no boundary found")
    buffer = buffer[index + len(delimiter):]

    for _ in range(MAX_PARTS):
        while len(buffer) < 2 and fill():
            pass
        if buffer.startswith(b"--"):
            return form, files                       # the closing delimiter
        if not buffer.startswith(b"\r\n"):
            raise _bad("garbage after a boundary")
        # Part headers, from the CRLF that ends the boundary line up to the blank line.
        while (end := buffer.find(b"\r\n\r\n")) < 0:
            if len(buffer) > MAX_PART_HEADER:
                raise _bad("part headers too large")
            if not fill():
                raise _bad("truncated part headers")
        headers = _part_headers(buffer[2:end])
        buffer = buffer[end + 4:]

        disposition, params = parse_options_header(headers.get("content-disposition"))
        if disposition != "form-data" or "name" not in params:
            raise _bad("part without a form-data name")
        name = params["name"]
        filename = params.get("filename")
        is_file = filename is not None
        content_type = headers.get("content-type")
        if is_file:
            sink = tempfile.SpooledTemporaryFile(max_size=spool_size)
            # Registered at once, so that it is closed even if the body breaks off.
            files.add(name, FileStorage(name, filename,
                                        content_type or "application/octet-stream", sink))
            write = sink.write
        else:
            sink = bytearray()
            write = sink.extend

        # Part body, up to the next delimiter; hold back what may be a partial delimiter.
        keep = len(delimiter) - 1
        while (index := buffer.find(delimiter)) < 0:
            if len(buffer) > keep:
                write(buffer[:-keep])
                buffer = buffer[-keep:]
            if not is_file and form_bytes + len(sink) > max_form_memory:
                raise HTTPError(413, "form fields too large")
            if not fill():
                raise _bad("truncated part body")
        write(buffer[:index])
        buffer = buffer[index + len(delimiter):]
        if is_file:
            sink.seek(0)
        else:
            form_bytes += len(sink)
            if form_bytes > max_form_memory:
                raise HTTPError(413, "form fields too large")
            _type, type_params = parse_options_header(content_type)
            form.add(name, sink.decode(type_params.get("charset", charset), "replace"))
    raise HTTPError(413, f"more than {MAX_PARTS} parts")


def _part_headers(block: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    if not block:
        return headers
    for line in block.decode("utf-8", "replace").split("\r\n"):
        name, sep, value = line.partition(":")
        if not sep:
            raise _bad(f"bad part header line {line[:40]!r}")
        headers[name.strip().lower()] = value.strip()
    return headers
