"""The write-ahead log: every change is appended here before the page it changes may be
written to its file, and a transaction is committed when its commit record is on disk.

The log is one stream of bytes; a position in it is an LSN (log sequence number). It is
stored in segment files of SEGMENT_SIZE bytes named by their first LSN. A record never
crosses a segment boundary: when the next record does not fit, a SWITCH marker ends the
segment and the record starts the next one.

Record layout:

    length u32     the whole record, header included (0xFFFFFFFF: SWITCH marker)
    crc u32        CRC-32 of the bytes after this field, seeded with the record's LSN
                   (a stale record left at another position never checks)
    type u8        what the record is (the constants below)
    xid u64        the transaction that made the change (0 for none)
    nimages u16    full page images carried by the record, each:
                     database u32, file u32, block u32, 8192 bytes
    payload        the record type's own fields

A full page image is attached to the first change of a page after a checkpoint:
recovery then restores the whole page instead of trusting a copy that may be torn.

Group commit: `flush(lsn)` returns once the log is durable up to `lsn`. The first
caller to find the log behind becomes the flusher: it writes everything appended so
far and fsyncs once, without holding the lock; the committers that arrive meanwhile
wait and are usually covered by that same fsync (or the next one, which they share).
"""

from __future__ import annotations

import os
import struct
import threading
import zlib

from ...durable import sync_directory
from ..blocking import before_blocking
from . import files
from .pages import PAGE_SIZE

SEGMENT_SIZE = 16 * 1024 * 1024
HEADER = struct.Struct("<IIBQH")
HEADER_SIZE = HEADER.size
SWITCH = 0xFFFFFFFF
_IMAGE = struct.Struct("<III")
_U32 = struct.Struct("<I")

# Record types, grouped by the module that writes and replays them.
CHECKPOINT = 1          # engine: redo point, next transaction id
PAGE_IMAGES = 2         # any access method: whole pages (B+tree splits, index builds)
SEQUENCE = 3            # engine: a sequence's new state (not transactional)
COMMIT = 10             # transactions: the commit, its subtransactions, catalogs
ABORT = 11
HEAP_INSERT = 20        # heap.py
HEAP_SET_XMAX = 21
HEAP_UPDATE = 22
HEAP_PRUNE = 23
BTREE_INSERT = 30       # btree.py
BTREE_DELETE = 31


def encode_record(rtype: int, xid: int, payload: bytes, images, lsn: int) -> bytes:
    """images: [(database, file, block, page bytes)]."""
    parts = [b""]
    for db, file, block, image in images:
        parts.append(_IMAGE.pack(db, file, block))
        parts.append(image)
    parts.append(payload)
    body = b"".join(parts)
    length = HEADER_SIZE + len(body)
    head = HEADER.pack(length, 0, rtype, xid, len(images))
    crc = zlib.crc32(body, zlib.crc32(head[8:], lsn & 0xFFFFFFFF))
    return HEADER.pack(length, crc, rtype, xid, len(images)) + body


class Record:
    __slots__ = ("lsn", "end", "type", "xid", "images", "payload")

    def __init__(self, lsn, end, rtype, xid, images, payload):
        self.lsn = lsn
        self.end = end
        self.type = rtype
        self.xid = xid
        self.images = images          # [((database, file), block, page bytes)]
        self.payload = payload


def _segment_name(start: int) -> str:
    return f"{start:016X}"


class Wal:
    def __init__(self, directory: str):
        self.directory = os.path.join(directory, "wal")
        os.makedirs(self.directory, exist_ok=True)
        self.lock = threading.Lock()
        self.flushed_cond = threading.Condition(self.lock)
        self.insert_lsn = 0           # where the next record goes
        self.flushed_lsn = 0          # durable up to here
        self.pending: list[tuple[int, bytes]] = []    # (lsn, bytes) not yet written
        self.flushing = False
        self._fds: dict[int, int] = {}               # segment start -> fd
        self.fsyncs = 0               # how many fsyncs the log has cost (for stats)

    # -- reading (recovery) ------------------------------------------------------------------

    def segments(self) -> list[int]:
        return sorted(int(name, 16) for name in os.listdir(self.directory)
                      if len(name) == 16 and all(c in "0123456789ABCDEF" for c in name))

    def records(self, start: int):
        """Every valid record from `start` on; stops at the end of the log, which is
        the first record that is missing, truncated or fails its checksum."""
        self.end_of_log = start
        segments = set(self.segments())
        lsn = start
        while True:
            seg = lsn - lsn % SEGMENT_SIZE
            if seg not in segments:
                return
            with open(os.path.join(self.directory, _segment_name(seg)), "rb") as f:
                data = f.read()
            pos = lsn - seg
            while True:
                if SEGMENT_SIZE - pos < HEADER_SIZE:
                    break                                    # no room left: next segment
                # A SWITCH marker is only 4 bytes: the segment's file may end after it.
                if pos + 4 <= len(data) and _U32.unpack_from(data, pos)[0] == SWITCH:
                    break
                if pos + HEADER_SIZE > len(data):
                    return
                length, crc, rtype, xid, nimages = HEADER.unpack_from(data, pos)
                if length < HEADER_SIZE or pos + length > len(data):
                    return
                body = data[pos + HEADER_SIZE:pos + length]
                if zlib.crc32(body, zlib.crc32(data[pos + 8:pos + HEADER_SIZE],
                                               (seg + pos) & 0xFFFFFFFF)) != crc:
                    return
                images = []
                at = 0
                for _ in range(nimages):
                    db, file, block = _IMAGE.unpack_from(body, at)
                    at += _IMAGE.size
                    images.append(((db, file), block, body[at:at + PAGE_SIZE]))
                    at += PAGE_SIZE
                record = Record(seg + pos, seg + pos + length, rtype, xid, images, body[at:])
                pos += length
                self.end_of_log = seg + pos
                yield record
            lsn = seg + SEGMENT_SIZE
            self.end_of_log = lsn

    def start_writing(self, end: int) -> None:
        """After recovery: append from `end`, cutting off whatever follows it (a torn
        tail, or records of a flush that never completed)."""
        seg = end - end % SEGMENT_SIZE
        for start in self.segments():
            if start > seg:
                os.unlink(os.path.join(self.directory, _segment_name(start)))
        path = os.path.join(self.directory, _segment_name(seg))
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        os.ftruncate(fd, end - seg)
        os.fsync(fd)
        self._fds[seg] = fd
        sync_directory(self.directory)
        self.insert_lsn = self.flushed_lsn = end

    # -- writing ---------------------------------------------------------------------------

    def insert(self, rtype: int, xid: int, payload: bytes, images=()) -> int:
        """Append a record; returns its end LSN (what a page changed by it records, and
        what a committer waits for)."""
        with self.lock:
            lsn = self.insert_lsn
            room = SEGMENT_SIZE - lsn % SEGMENT_SIZE
            size = HEADER_SIZE + len(payload) + sum(_IMAGE.size + PAGE_SIZE for _ in images)
            if size > room:
                if size > SEGMENT_SIZE:
                    raise ValueError("log record larger than a segment")
                if room >= 4:
                    self.pending.append((lsn, _U32.pack(SWITCH)))
                lsn += room
            record = encode_record(rtype, xid, payload, images, lsn)
            self.pending.append((lsn, record))
            self.insert_lsn = lsn + len(record)
            return self.insert_lsn

    def flush(self, lsn: int | None = None) -> None:
        """Return once the log is on disk up to `lsn` (everything appended, if None)."""
        if self.flushed_lsn < (self.insert_lsn if lsn is None else lsn):
            before_blocking()                   # an fsync, or waiting for one
        with self.lock:
            if lsn is None:
                lsn = self.insert_lsn
            while self.flushed_lsn < lsn:
                if self.flushing:
                    self.flushed_cond.wait()
                    continue
                self.flushing = True
                pending, self.pending = self.pending, []
                end = self.insert_lsn
                self.lock.release()
                try:
                    self._write(pending)
                finally:
                    self.lock.acquire()
                    self.flushing = False
                    self.flushed_cond.notify_all()
                self.flushed_lsn = end

    def _write(self, pending: list[tuple[int, bytes]]) -> None:
        touched = []
        run_start, run_end, run = 0, 0, []
        for lsn, data in pending:
            seg = lsn - lsn % SEGMENT_SIZE
            if run and (run_start - run_start % SEGMENT_SIZE != seg or run_end != lsn):
                touched.append(self._write_run(run_start, run))
                run = []
            if not run:
                run_start = run_end = lsn
            run.append(data)
            run_end += len(data)
        if run:
            touched.append(self._write_run(run_start, run))
        for fd in dict.fromkeys(touched):
            files.disk.sync(fd)
            self.fsyncs += 1

    def _write_run(self, lsn: int, chunks: list[bytes]) -> int:
        seg = lsn - lsn % SEGMENT_SIZE
        fd = self._fds.get(seg)
        if fd is None:
            fd = os.open(os.path.join(self.directory, _segment_name(seg)),
                         os.O_RDWR | os.O_CREAT, 0o600)
            self._fds[seg] = fd
            sync_directory(self.directory)
        files.disk.write(fd, b"".join(chunks), lsn - seg)
        return fd

    def remove_before(self, lsn: int) -> None:
        """Drop the segments that end at or before `lsn` (a checkpoint made them
        unnecessary)."""
        for start in self.segments():
            if start + SEGMENT_SIZE <= lsn - lsn % SEGMENT_SIZE:
                fd = self._fds.pop(start, None)
                if fd is not None:
                    os.close(fd)
                os.unlink(os.path.join(self.directory, _segment_name(start)))

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
