"""The buffer pool: a bounded set of pages held in memory, read from their files on a
miss and written back when evicted or at a checkpoint.

A page is named by `fid << 32 | block` (fid: the open file's small number). Eviction
is the clock algorithm: the hand sweeps the pages in a ring, clearing each one's
"recently used" bit and taking the first page whose bit was already clear. A dirty
victim is written first, and before that the log is flushed up to the page's LSN: the
write-ahead rule, so no change reaches a data file before its log record is durable.

Callers work on page objects under the engine's latch. The engine counts its latch
sections (`epoch`); a page used in the current section is never evicted, so an
operation may hold several pages at once (an update's old and new page, a B+tree
split) without pinning them. If a section needs more pages than the pool has, the
pool grows past its size until the next section lets it shrink back.
"""

from __future__ import annotations

from .files import FileSet, RelationFile
from .pages import Page, decode_page, encode_page
from .wal import Wal


class BufferPool:
    def __init__(self, files: FileSet, wal: Wal, capacity: int):
        self.files = files
        self.wal = wal
        self.capacity = max(capacity, 16)
        self.pages: dict[int, Page] = {}
        self.ring: list[int] = []       # page keys in clock order (may hold stale keys)
        self.hand = 0
        self.epoch = 0
        self.full_epoch = -1        # a sweep in this epoch found every page in use
        self.reads = self.writes = 0

    def new_section(self) -> None:
        """Start a new section: the pages used so far may be evicted again. `full_epoch`
        relies on this: a sweep that found every page in use stays true until then."""
        self.epoch += 1

    # -- lookup ----------------------------------------------------------------------------

    def get(self, f: RelationFile, block: int) -> Page | None:
        """The page at `block` of `f`, or None if that block was never written."""
        key = f.fid << 32 | block
        page = self.pages.get(key)
        if page is not None:
            page.ref = True
            page.epoch = self.epoch
            return page
        if block >= f.nblocks:
            return None
        page = decode_page(f.read_block(block))
        self.reads += 1
        if page is None:
            return None
        self._install(key, page)
        return page

    def add(self, f: RelationFile, block: int, page: Page) -> Page:
        """Register a page created in memory (a new block, or one rebuilt by recovery)."""
        key = f.fid << 32 | block
        old = self.pages.pop(key, None)
        if old is not None:
            old.key = None
        if block >= f.nblocks:
            f.nblocks = block + 1
        page.dirty = True
        self._install(key, page)
        return page

    def _install(self, key: int, page: Page) -> None:
        if len(self.pages) >= self.capacity:
            self._evict()
        page.key = key
        page.ref = True
        page.epoch = self.epoch
        self.pages[key] = page
        self.ring.append(key)

    # -- eviction --------------------------------------------------------------------------

    def shrink(self) -> None:
        """Back to the pool's size after a section that needed more pages."""
        while len(self.pages) > self.capacity and self._evict():
            pass

    def _evict(self) -> bool:
        """Drop one page (writing it first if dirty); False if every page is in use by
        the current section."""
        if self.full_epoch == self.epoch:
            return False            # still so: only a new section frees pages
        ring = self.ring
        if len(ring) > 2 * len(self.pages) + 64:
            ring[:] = [k for k in dict.fromkeys(ring) if k in self.pages]
            self.hand = 0
        for _ in range(2 * len(ring) + 1):
            if self.hand >= len(ring):
                self.hand = 0
                if not ring:
                    return False
            key = ring[self.hand]
            page = self.pages.get(key)
            if page is None or page.key != key:
                ring[self.hand] = ring[-1]        # a stale entry: drop it
                ring.pop()
                continue
            if page.ref or page.epoch == self.epoch:
                page.ref = False
                self.hand += 1
                continue
            if page.dirty:
                self.write(page)
            del self.pages[key]
            page.key = None
            ring[self.hand] = ring[-1]
            ring.pop()
            return True
        self.full_epoch = self.epoch
        return False                # every page is in use by the current section: grow

    def write(self, page: Page) -> None:
        """Write a dirty page to its file (after the log records that changed it)."""
        if page.lsn > self.wal.flushed_lsn:
            self.wal.flush(page.lsn)
        f = self.files.by_fid[page.key >> 32]
        f.write_block(page.key & 0xFFFFFFFF, encode_page(page))
        page.dirty = False
        self.writes += 1

    # -- whole files -------------------------------------------------------------------------

    def dirty_pages(self, fid: int | None = None) -> list[Page]:
        return [p for p in self.pages.values()
                if p.dirty and (fid is None or p.key >> 32 == fid)]

    def flush_file(self, f: RelationFile) -> None:
        for page in self.dirty_pages(f.fid):
            self.write(page)

    def drop_file(self, f: RelationFile) -> None:
        """Forget a file's pages without writing them (the file is being removed)."""
        fid = f.fid
        for key in [k for k in self.pages if k >> 32 == fid]:
            self.pages.pop(key).key = None
