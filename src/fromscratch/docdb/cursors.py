"""Server-side cursors: the rest of a result, handed out batch by batch with getMore.

A query's result is computed when the query runs (a snapshot of the matching documents)
and kept here under a random 63-bit id until the client has read it all, kills it, or
leaves it unused for `timeout` seconds (MongoDB's default is ten minutes), unless it was
opened with `noCursorTimeout`.

Batches are lists of `RawDocument`s: each document is encoded once, which gives its
size (a batch stops at 16 MiB, as MongoDB's do) and lets the reply embed the bytes
without encoding them again.
"""

from __future__ import annotations

import random
import time
from typing import Callable, Iterator

from . import bson
from .bson import Int64
from .errors import MongoError

BATCH_BYTES = 16 * 1024 * 1024
FIRST_BATCH_DEFAULT = 101


class Cursor:
    def __init__(self, cursor_id: int, namespace: str, source: Iterator[dict],
                 transform: Callable[[dict], dict] | None, limit: int, no_timeout: bool,
                 owner: str | None):
        self.id = cursor_id
        self.namespace = namespace
        self.source = source
        self.transform = transform
        self.remaining = limit or None         # documents still allowed by the limit
        self.no_timeout = no_timeout
        self.owner = owner                     # the user who opened it (auth on)
        self.last_used = time.monotonic()
        self.exhausted = False
        self.pending = None                    # one document read ahead of the batch

    def next_batch(self, size: int | None) -> list:
        """Up to `size` documents (None: as many as fit in 16 MiB), encoded."""
        self.last_used = time.monotonic()
        batch, total = [], 0
        while size is None or len(batch) < size:
            if self.remaining is not None and self.remaining <= 0:
                self.exhausted = True
                break
            document = self._next()
            if document is None:
                self.exhausted = True
                break
            raw = bson.RawDocument(bson.encode(document))
            if batch and total + len(raw) > BATCH_BYTES:
                self.pending = document
                break
            batch.append(raw)
            total += len(raw)
            if self.remaining is not None:
                self.remaining -= 1
        if not self.exhausted and self.pending is None:
            if self.remaining is not None and self.remaining <= 0:
                self.exhausted = True
            else:
                self._peek()
        return batch

    def _next(self):
        if self.pending is not None:
            document, self.pending = self.pending, None
            return document
        for document in self.source:
            return self.transform(document) if self.transform else document
        return None

    def _peek(self) -> None:
        """Read one ahead so an exhausted cursor reports id 0 in the same reply."""
        document = self._next()
        if document is None:
            self.exhausted = True
        else:
            self.pending = document


class CursorManager:
    def __init__(self, timeout: float = 600.0):
        self.timeout = timeout
        self.cursors: dict[int, Cursor] = {}
        self.timed_out = 0

    def open(self, namespace: str, source, *, transform=None, batch_size: int | None,
             limit: int = 0, single_batch: bool = False, no_timeout: bool = False,
             owner: str | None = None) -> dict:
        """Run the first batch; returns the `cursor` sub-document of the reply."""
        cursor = Cursor(0, namespace, iter(source), transform, limit, no_timeout, owner)
        size = FIRST_BATCH_DEFAULT if batch_size is None else batch_size
        if single_batch and not batch_size:
            size = None                    # one batch: everything that fits in 16 MiB
        batch = cursor.next_batch(size)
        if cursor.exhausted or single_batch:
            cursor_id = 0
        else:
            cursor_id = self._new_id()
            cursor.id = cursor_id
            self.cursors[cursor_id] = cursor
        return {"firstBatch": batch, "id": Int64(cursor_id), "ns": namespace}

    def _new_id(self) -> int:
        while True:
            cursor_id = random.getrandbits(62) + 1
            if cursor_id not in self.cursors:
                return cursor_id

    def get_more(self, cursor_id: int, namespace: str, batch_size: int | None,
                 user: str | None) -> dict:
        cursor = self.cursors.get(cursor_id)
        if cursor is None:
            raise MongoError(43, f"cursor id {cursor_id} not found")
        if cursor.namespace != namespace:
            raise MongoError(13, f"Requested getMore on namespace '{namespace}', but cursor "
                                 f"belongs to a different namespace {cursor.namespace}")
        if cursor.owner != user:
            raise MongoError(13, f"cursor id {cursor_id} was not created by the "
                                 f"authenticated user")
        batch = cursor.next_batch(batch_size or None)
        if cursor.exhausted:
            del self.cursors[cursor_id]
            cursor_id = 0
        return {"nextBatch": batch, "id": Int64(cursor_id), "ns": namespace}

    def kill(self, cursor_id: int) -> bool:
        return self.cursors.pop(cursor_id, None) is not None

    def expire(self, now: float | None = None) -> int:
        """Drop cursors idle for longer than the timeout; returns how many."""
        now = time.monotonic() if now is None else now
        stale = [cid for cid, c in self.cursors.items()
                 if not c.no_timeout and now - c.last_used > self.timeout]
        for cursor_id in stale:
            del self.cursors[cursor_id]
        self.timed_out += len(stale)
        return len(stale)
