"""Sending files: safe paths, caching validators, conditional requests and ranges.

`send_file` answers the way a good static file server does (RFC 9110 sections 13-14):

* `ETag` and `Last-Modified` on every file;
* `If-None-Match` (or, without it, `If-Modified-Since`) -> 304 Not Modified;
* `Range: bytes=a-b` -> 206 Partial Content, `If-Range` respected, an unsatisfiable
  range -> 416; several ranges at once are answered with the whole file (allowed, and
  simpler than multipart/byteranges).

`safe_join` is the guard against path traversal. The server has already
percent-decoded the URL, so `%2e%2e/` arrives here as `../` and is refused like it.
"""

from __future__ import annotations

import mimetypes
import os
import re
from email.utils import parsedate_to_datetime
from urllib.parse import quote

from .datastructures import http_date
from .errors import HTTPError
from .response import Response

CHUNK_SIZE = 64 * 1024


def safe_join(directory: str, filename: str) -> str | None:
    """`directory/filename` if it stays inside `directory`, else None."""
    if not filename or "\x00" in filename or "\\" in filename:
        return None
    parts = filename.split("/")
    if filename.startswith("/") or ".." in parts or os.path.isabs(filename):
        return None
    path = os.path.join(directory, *[p for p in parts if p not in ("", ".")])
    # Resolve symlinks too: a link inside the folder must not lead out of it.
    root = os.path.realpath(directory)
    if os.path.commonpath([root, os.path.realpath(path)]) != root:
        return None
    return path


class _FileRange:
    """Iterates `length` bytes of an open file from `start`, then closes it."""

    def __init__(self, file, start: int, length: int):
        self.file = file
        self.start = start
        self.remaining = length

    def __iter__(self):
        self.file.seek(self.start)
        while self.remaining > 0:
            chunk = self.file.read(min(CHUNK_SIZE, self.remaining))
            if not chunk:
                break
            self.remaining -= len(chunk)
            yield chunk

    def close(self) -> None:
        self.file.close()


_RANGE = re.compile(r"bytes=\s*(\d*)\s*-\s*(\d*)\s*\Z")


def _parse_range(header: str, size: int) -> tuple[int, int] | None | bool:
    """(start, end inclusive) for one satisfiable range, None to ignore the header, or
    False when it cannot be satisfied (416)."""
    match = _RANGE.match(header.strip())
    if not match or "," in header:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:                            # bytes=-N: the last N bytes
        length = int(last)
        if length == 0:
            return False
        return max(0, size - length), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if last and int(last) < start:
        return None                          # invalid: ignored, as RFC 9110 14.1.1 says
    if start >= size:
        return False
    return start, end


def _etag_matches(header: str, etag: str, weak: bool = True) -> bool:
    if header.strip() == "*":
        return True
    for candidate in header.split(","):
        candidate = candidate.strip()
        if weak and candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate == etag:
            return True
    return False


def _not_modified_since(header: str, mtime: float) -> bool:
    try:
        since = parsedate_to_datetime(header).timestamp()
    except (TypeError, ValueError, IndexError):
        return False
    return int(mtime) <= since


def send_file(request, path: str, *, mimetype: str | None = None, as_attachment: bool = False,
              download_name: str | None = None, max_age: int | None = None) -> Response:
    """A response with the file at `path`, honouring the request's conditional and
    range headers. `max_age` sets `Cache-Control: public, max-age=N` (default: the
    browser revalidates every time, which the ETag makes cheap)."""
    try:
        file = open(path, "rb")
        stat = os.fstat(file.fileno())
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise HTTPError(404) from None
    except PermissionError:
        raise HTTPError(403) from None
    if not os.path.isfile(path):
        file.close()
        raise HTTPError(404)
    size = stat.st_size
    name = download_name or os.path.basename(path)
    if mimetype is None:
        mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if mimetype.startswith("text/") or mimetype in ("application/javascript", "application/json"):
        mimetype += "; charset=utf-8"
    etag = f'"{stat.st_mtime_ns:x}-{size:x}-{stat.st_ino:x}"'
    headers = {
        "ETag": etag,
        "Last-Modified": http_date(stat.st_mtime),
        "Cache-Control": f"public, max-age={max_age}" if max_age is not None else "no-cache",
        "Accept-Ranges": "bytes",
    }
    if as_attachment:
        ascii_name = name.encode("ascii", "replace").decode("ascii").replace('"', "")
        headers["Content-Disposition"] = (f'attachment; filename="{ascii_name}"; '
                                          f"filename*=UTF-8''{quote(name)}")

    env = request.environ
    if_none_match = env.get("HTTP_IF_NONE_MATCH")
    if if_none_match is not None:
        not_modified = _etag_matches(if_none_match, etag)
    else:
        since = env.get("HTTP_IF_MODIFIED_SINCE")
        not_modified = since is not None and _not_modified_since(since, stat.st_mtime)
    if not_modified and request.method in ("GET", "HEAD"):
        file.close()
        return Response(b"", 304, headers)

    start, end, status = 0, size - 1, 200
    range_header = env.get("HTTP_RANGE")
    if range_header and request.method in ("GET", "HEAD"):
        if_range = env.get("HTTP_IF_RANGE")
        # If-Range: honour the Range only if the client's copy is still current.
        if if_range is None or (_etag_matches(if_range, etag, weak=False)
                                if if_range.strip().startswith(('"', "W/"))
                                else _not_modified_since(if_range, stat.st_mtime)):
            wanted = _parse_range(range_header, size)
            if wanted is False:
                file.close()
                headers["Content-Range"] = f"bytes */{size}"
                return Response(b"", 416, headers, content_type="text/plain; charset=utf-8")
            if wanted is not None:
                start, end = wanted
                status = 206
                headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(end - start + 1)
    return Response(_FileRange(file, start, end - start + 1), status, headers, content_type=mimetype)


def send_from_directory(request, directory: str, filename: str, **options) -> Response:
    """`send_file` for a path taken from the URL: refuses to leave `directory` (404)."""
    path = safe_join(directory, filename)
    if path is None:
        raise HTTPError(404)
    return send_file(request, path, **options)
