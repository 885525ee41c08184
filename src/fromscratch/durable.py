"""Making files survive a crash: what the servers with data on disk all need.

A new or renamed file is only durable once its directory is synced too; a file is
replaced without a moment of being half written by writing a temporary file, syncing
it, and renaming it over the old one.
"""

from __future__ import annotations

import os


def sync_directory(path: str) -> None:
    """Make a file's creation, rename or removal in directory `path` durable."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_file_atomically(path: str, write, temporary: str | None = None) -> None:
    """Call `write(handle)` on a temporary file (`temporary`, or one named after our
    pid next to `path`), then make it `path` in one rename."""
    directory = os.path.dirname(path) or "."
    temporary = temporary or os.path.join(directory,
                                          f"temp-{os.getpid()}-{os.path.basename(path)}")
    try:
        with open(temporary, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
        sync_directory(directory)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


class ChecksummedWriter:
    """Writes to `handle` in pieces of `piece_size` bytes or so (large for a file; a
    pipe's reader wants them sooner), keeping the running checksum of everything
    written: `checksum(data, running)` is zlib.crc32's form (our snapshots use CRC32,
    RDB files CRC-64)."""

    def __init__(self, handle, checksum, piece_size: int = 1 << 20):
        self.handle = handle
        self.checksum = checksum
        self.piece_size = piece_size
        self.crc = 0
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> None:
        self.parts.append(data)
        self.size += len(data)
        if self.size >= self.piece_size:
            self.flush()

    def flush(self) -> None:
        data = b"".join(self.parts)
        self.crc = self.checksum(data, self.crc)
        self.handle.write(data)
        self.parts, self.size = [], 0
