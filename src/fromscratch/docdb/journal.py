"""The write-ahead journal: every change, appended to a file before it is acknowledged.

A record is one BSON document (`{op: "put", ns: "db.c", doc: {...}, ...}`), framed as

    length (uint32 LE) | CRC-32 of the payload (uint32 LE) | payload

so that recovery can tell a complete record from the torn tail a crash leaves behind:
replay stops at the first record that is short or fails its checksum, and the file is
cut there.

Files live in the data directory, numbered by generation:

    snapshot.<G>   the state as of the start of journal G, written by compaction
    journal.<G>    the changes made since

Compaction (`start_compaction` then `write_snapshot`) starts journal G+1 at once, then
writes snapshot G+1 from a frozen copy of the state without holding up writers; only
when the snapshot is complete and fsynced is it renamed into place and the older files
deleted. Recovery loads the newest complete snapshot and replays every journal from its
generation on: a crash at any moment leaves a consistent set of files.

Durability: `append` writes into a buffer; `flush` hands it to the kernel (a `kill -9`
can no longer lose it); `sync` also fsyncs (a power cut cannot). The server syncs before
acknowledging a write unless told otherwise.
"""

from __future__ import annotations

import logging
import os
import re
import struct
import time
import zlib
from typing import Iterable, Iterator

from ..durable import sync_directory
from . import bson

log = logging.getLogger("fromscratch.docdb")

FRAME = struct.Struct("<II")
MAX_RECORD = 64 * 1024 * 1024
FLUSH_AT = 1024 * 1024           # buffered bytes that trigger a write to the kernel


def encode_record(record: dict) -> bytes:
    payload = bson.encode(record)
    return FRAME.pack(len(payload), zlib.crc32(payload)) + payload


def read_records(path: str) -> Iterator[tuple[dict, int]]:
    """(record, offset after it) for each intact record; stops at a torn or bad one."""
    with open(path, "rb") as file:
        data = file.read()
    position = 0
    while position + FRAME.size <= len(data):
        length, checksum = FRAME.unpack_from(data, position)
        start = position + FRAME.size
        if length > MAX_RECORD or start + length > len(data):
            return
        payload = data[start:start + length]
        if zlib.crc32(payload) != checksum:
            return
        try:
            record = bson.decode(payload)
        except bson.BSONError:
            return
        position = start + length
        yield record, position


class Journal:
    def __init__(self, directory: str):
        self.directory = directory
        os.makedirs(directory, exist_ok=True)
        self.generation = 0
        self.fd: int | None = None
        self.buffer = bytearray()
        self.dirty = False                  # written to the kernel but not fsynced
        self.size = 0                       # bytes in the current journal file

    # -- recovery ------------------------------------------------------------------------

    def _generations(self, prefix: str) -> list[int]:
        pattern = re.compile(re.escape(prefix) + r"\.(\d+)$")
        found = []
        for name in os.listdir(self.directory):
            match = pattern.match(name)
            if match:
                found.append(int(match.group(1)))
        return sorted(found)

    def _path(self, prefix: str, generation: int) -> str:
        return os.path.join(self.directory, f"{prefix}.{generation}")

    def recover(self) -> Iterator[dict]:
        """Every record of the newest snapshot, then of the journals after it. Leaves the
        journal open for appending (its torn tail, if any, cut off)."""
        snapshots = self._generations("snapshot")
        base = snapshots[-1] if snapshots else 0
        if snapshots:
            for record, _ in read_records(self._path("snapshot", base)):
                yield record
        journals = [g for g in self._generations("journal") if g >= base]
        for generation in journals:
            path = self._path("journal", generation)
            good = 0
            for record, good in read_records(path):
                yield record
            if good != os.path.getsize(path):
                log.warning("journal %s: cutting a torn tail of %d bytes",
                            path, os.path.getsize(path) - good)
                with open(path, "r+b") as file:
                    file.truncate(good)
        self.generation = journals[-1] if journals else base
        self._open(self.generation)
        self._remove_older_than(base)
        for name in os.listdir(self.directory):
            if name.startswith("snapshot.") and name.endswith(".tmp"):
                os.remove(os.path.join(self.directory, name))     # a compaction cut short

    def _open(self, generation: int) -> None:
        path = self._path("journal", generation)
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.size = os.fstat(self.fd).st_size
        sync_directory(self.directory)

    def _remove_older_than(self, generation: int) -> None:
        for prefix in ("journal", "snapshot"):
            for old in self._generations(prefix):
                if old < generation:
                    os.remove(self._path(prefix, old))

    # -- appending -----------------------------------------------------------------------

    def append(self, record: dict) -> bytes:
        """Queue a record; returns its encoded payload frame (callers hash it)."""
        frame = encode_record(record)
        self.buffer += frame
        if len(self.buffer) >= FLUSH_AT:
            self.flush()
        return frame

    def flush(self) -> None:
        """Hand buffered records to the kernel: they survive the process being killed."""
        if self.buffer:
            view = memoryview(self.buffer)
            while view:
                written = os.write(self.fd, view)
                view = view[written:]
            self.size += len(self.buffer)
            self.buffer = bytearray()
            self.dirty = True

    def sync(self) -> None:
        """Flush and fsync: the records survive a power cut too."""
        self.flush()
        if self.dirty:
            os.fsync(self.fd)
            self.dirty = False

    def close(self) -> None:
        if self.fd is not None:
            self.sync()
            os.close(self.fd)
            self.fd = None

    # -- compaction ------------------------------------------------------------------------

    def start_compaction(self) -> int:
        """Switch to a new journal generation; returns it. Call with writers held off;
        then write the frozen state with `write_snapshot(generation, records)`."""
        self.sync()
        os.close(self.fd)
        self.generation += 1
        self._open(self.generation)
        return self.generation

    def write_snapshot(self, generation: int, records: Iterable[dict]) -> None:
        """Write snapshot `generation` (the state as of the start of journal
        `generation`), then drop what it replaces. Safe to run in another thread."""
        final = self._path("snapshot", generation)
        temporary = final + ".tmp"
        with open(temporary, "wb") as file:
            chunk = bytearray()
            for count, record in enumerate(records, 1):
                chunk += encode_record(record)
                if count % 16 == 0:
                    # Background work: hand the GIL to the serving thread often, so that
                    # requests wait for a few records' encoding, not a whole switch interval.
                    time.sleep(0)
                if len(chunk) >= FLUSH_AT:
                    file.write(chunk)
                    chunk = bytearray()
            file.write(chunk)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, final)
        sync_directory(self.directory)
        self._remove_older_than(generation)
