"""The operating-system layer: relation files made of 8 KB blocks, and the `disk` through
which every page and log byte is written and synced.

Layout under the data directory (PostgreSQL's):

    base/<database oid>/<file number>    one file per table or index
    wal/<first LSN, 16 hex digits>       the write-ahead log, in segments
    global/, base/<oid>/catalog.json     catalogs saved at checkpoints
    pg_control                           where recovery starts

`disk` is that single choke point (SQLite calls it the VFS): the crash tests replace
it with one that, at a random moment, loses what was written since the last sync, or
keeps only part of it, as a power failure does in the middle of a page.
"""

from __future__ import annotations

import os

from .pages import PAGE_SIZE


class Disk:
    def write(self, fd: int, data: bytes, offset: int) -> None:
        """Write all of `data` at `offset` (pwrite may write less than asked)."""
        view = memoryview(data)
        while view:
            written = os.pwrite(fd, view, offset)
            view = view[written:]
            offset += written

    def sync(self, fd: int) -> None:
        """Make what was written to `fd` durable."""
        os.fdatasync(fd)


disk = Disk()


class RelationFile:
    """One table's or index's file. `nblocks` counts the blocks that exist, in the file
    or only in the buffer pool so far (a new block is written when it is evicted or at
    the next checkpoint)."""

    def __init__(self, path: str, key: tuple[int, int], fid: int):
        self.path = path
        self.key = key          # (database oid, file number)
        self.fid = fid          # a small number naming the file in page keys
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self.nblocks = os.fstat(self.fd).st_size // PAGE_SIZE
        self.unsynced = False

    def read_block(self, block: int) -> bytes:
        data = os.pread(self.fd, PAGE_SIZE, block * PAGE_SIZE)
        if len(data) < PAGE_SIZE:
            data += bytes(PAGE_SIZE - len(data))      # past the end: never written
        return data

    def write_block(self, block: int, data: bytes) -> None:
        disk.write(self.fd, data, block * PAGE_SIZE)
        self.unsynced = True

    def sync(self) -> None:
        if self.unsynced:
            self.unsynced = False
            disk.sync(self.fd)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class FileSet:
    """The open relation files, by (database oid, file number)."""

    def __init__(self, directory: str):
        self.directory = directory
        self.files: dict[tuple[int, int], RelationFile] = {}
        self.by_fid: dict[int, RelationFile] = {}
        self._next_fid = 1
        os.makedirs(os.path.join(directory, "base"), exist_ok=True)
        os.makedirs(os.path.join(directory, "global"), exist_ok=True)

    def database_dir(self, db: int) -> str:
        return os.path.join(self.directory, "base", str(db))

    def path(self, key: tuple[int, int]) -> str:
        return os.path.join(self.database_dir(key[0]), str(key[1]))

    def get(self, key: tuple[int, int]) -> RelationFile:
        f = self.files.get(key)
        if f is None:
            os.makedirs(self.database_dir(key[0]), exist_ok=True)
            f = self.files[key] = RelationFile(self.path(key), key, self._next_fid)
            self.by_fid[f.fid] = f
            self._next_fid += 1
        return f

    def exists(self, key: tuple[int, int]) -> bool:
        return key in self.files or os.path.exists(self.path(key))

    def unlink(self, key: tuple[int, int]) -> None:
        f = self.files.pop(key, None)
        if f is not None:
            self.by_fid.pop(f.fid, None)
            f.close()
        try:
            os.unlink(self.path(key))
        except FileNotFoundError:
            pass

    def on_disk(self, db: int) -> list[int]:
        """The file numbers present in a database's directory."""
        try:
            names = os.listdir(self.database_dir(db))
        except FileNotFoundError:
            return []
        return [int(n) for n in names if n.isdigit()]

    def databases_on_disk(self) -> list[int]:
        return [int(n) for n in os.listdir(os.path.join(self.directory, "base")) if n.isdigit()]

    def sync_all(self) -> None:
        for f in list(self.files.values()):
            f.sync()

    def close(self) -> None:
        for f in self.files.values():
            f.close()
        self.files.clear()
        self.by_fid.clear()
