"""A transaction handle: its xids, snapshot, savepoints, locks and what happens at its
end.

Xids are assigned lazily, at the first write: a read-only transaction costs no xid,
no log record and no fsync. Each savepoint level writes under its own subtransaction
xid (assigned at its first write too), so ROLLBACK TO a savepoint only has to mark
those xids aborted: their row versions become invisible at once, and the rows they
had deleted or locked are free again. COMMIT marks the top xid and every surviving
subxid committed, together.

Catalog changes (made by the SQL layer, and the storage's own map of relation files)
are undone by closures registered with `on_rollback`, replayed backwards on ROLLBACK
or ROLLBACK TO.
"""

from __future__ import annotations

READ_COMMITTED = "read committed"
REPEATABLE_READ = "repeatable read"
SERIALIZABLE = "serializable"


class Level:
    """One savepoint level: where its undo closures start, its xid (0 until it writes)
    and every xid assigned while it was the innermost level."""

    __slots__ = ("undo_mark", "xid", "xids")

    def __init__(self, undo_mark: int):
        self.undo_mark = undo_mark
        self.xid = 0
        self.xids: list[int] = []


class Transaction:
    def __init__(self, engine, pid: int = 0):
        self.engine = engine
        self.pid = pid                       # the session's process id, for messages
        self.xid = 0                         # the top-level xid, once assigned
        self.levels = [Level(0)]
        self.live_xids: set[int] = set()     # xids whose changes this transaction sees
        self.isolation = READ_COMMITTED
        self.snapshot = None
        self.snapshot_frozen = False         # taken once for the whole transaction
        self.undo: list = []
        self.table_locks: dict[int, int] = {}
        self.new_files: list = []            # (relation, file key) this transaction made
        self.changed_maps: set[int] = set()  # databases whose relation map it changed
        self.dropped_files: list = []        # files to remove once it commits
        self.catalog_images: dict = {}       # (database, kind) -> bytes, saved at commit
        self.after_commit: list = []         # what to do once the commit is durable
        self.needs_flush = False             # it logged something a commit must sync
        self.synchronous_commit = True
        self.active = True
        self.serializable = None             # read/write dependency tracking (SSI)
        self.check_interrupts = _no_interrupts

    # -- xids and snapshots --------------------------------------------------------------------

    def write_xid(self) -> int:
        """The xid to stamp a change with (the innermost level's, assigned now if need be)."""
        level = self.levels[-1]
        if not level.xid:
            self.engine.assign_xid(self, level)
        return level.xid

    def begin_statement(self, isolation: str) -> None:
        """A statement starts: READ COMMITTED gets a fresh snapshot (taken at its first
        read); the other levels keep the one their first statement took."""
        if not self.snapshot_frozen:
            self.isolation = isolation
            self.snapshot = None

    def refresh_snapshot(self) -> None:
        """READ COMMITTED, within a statement: see what committed since (ON CONFLICT
        looking again for the row that holds its key)."""
        if not self.snapshot_frozen:
            self.snapshot = None

    def get_snapshot(self):
        snap = self.snapshot
        if snap is None:
            snap = self.snapshot = self.engine.take_snapshot(self)
            if self.isolation != READ_COMMITTED:
                self.snapshot_frozen = True
        return snap

    # -- savepoints ------------------------------------------------------------------------------

    def on_rollback(self, undo) -> None:
        self.undo.append(undo)

    def savepoint(self) -> int:
        self.levels.append(Level(len(self.undo)))
        return len(self.levels) - 1

    def rollback_to(self, mark: int) -> None:
        level = self.levels[mark]
        self._undo_to(level.undo_mark)
        xids = [x for lvl in self.levels[mark:] for x in lvl.xids]
        del self.levels[mark + 1:]
        level.xid = 0
        level.xids = []
        if xids:
            self.engine.abort_subtransactions(self, xids)

    def _undo_to(self, mark: int) -> None:
        while len(self.undo) > mark:
            self.undo.pop()()

    # -- the end ---------------------------------------------------------------------------------

    def commit(self) -> None:
        """Commit; if that fails (a serialization failure), roll back and re-raise."""
        if not self.active:
            return
        try:
            self.engine.commit(self)
        except BaseException:
            if self.active:
                self.rollback()
            raise
        self.undo.clear()

    def rollback(self) -> None:
        if self.active:
            self._undo_to(0)
            self.engine.abort(self)


def _no_interrupts() -> None:
    pass
