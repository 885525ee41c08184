"""Multi-version concurrency control: transaction ids, the commit log, snapshots, and the
rules deciding which version of a row a transaction sees.

Every change is stamped with the id (xid) of the transaction that made it: a row
version carries `xmin`, the xid that created it, and `xmax`, the xid that deleted or
updated it (0 if none). Versions are never changed in place; an UPDATE writes a new
version and sets the old one's xmax. Whether an xid committed is looked up in the
commit log (clog), one status byte per xid, saved at checkpoints and rebuilt from the
WAL's commit and abort records after a crash (an xid with neither is aborted: that is
all the "undo" recovery needs).

A snapshot freezes which transactions count as committed for a reader:

    xmax      the first xid not yet assigned when the snapshot was taken
    running   the xids in progress then (their changes stay invisible, even after they
              commit)
    xmin      the oldest of those (every xid below it had finished)
    mine      the reader's own live xids: its transaction and its subtransactions not
              rolled back (its own changes are visible to it)

A version is visible to a snapshot when its creator counts as committed (or is mine)
and its deleter does not (or is absent, aborted, or only a row lock). READ COMMITTED
takes a new snapshot for each statement, REPEATABLE READ and SERIALIZABLE one for the
whole transaction.

Xids are 64 bits and never wrap around, so PostgreSQL's freezing is not needed.
"""

from __future__ import annotations

from .pages import XMAX_LOCK_ONLY

IN_PROGRESS, COMMITTED, ABORTED = 0, 1, 2
FIRST_XID = 3          # 1 and 2 are reserved, as in PostgreSQL


class CommitLog:
    """xid -> status, one byte each. Unknown (past the end) reads as in progress."""

    def __init__(self):
        self.status = bytearray(FIRST_XID)
        self.status[1] = self.status[2] = COMMITTED

    def get(self, xid: int) -> int:
        status = self.status
        return status[xid] if xid < len(status) else IN_PROGRESS

    def set(self, xids, value: int) -> None:
        status = self.status
        for xid in xids:
            if xid >= len(status):
                status.extend(bytes(xid + 1 - len(status) + 4096))
            status[xid] = value

    def load(self, path: str) -> None:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return
        self.status[:len(data)] = data


class Snapshot:
    __slots__ = ("xmin", "xmax", "running", "mine")

    def __init__(self, xmin: int, xmax: int, running: frozenset, mine: set):
        self.xmin = xmin
        self.xmax = xmax
        self.running = running
        self.mine = mine


def visible(t, snap: Snapshot, clog: bytearray) -> bool:
    """Is row version `t` (a HeapTuple) visible to `snap`? `clog` is CommitLog.status."""
    xmin = t.xmin
    mine = snap.mine
    if xmin not in mine:
        if xmin >= snap.xmax or xmin in snap.running:
            return False
        if xmin >= len(clog) or clog[xmin] != COMMITTED:
            return False
    xmax = t.xmax
    if not xmax or t.flags & XMAX_LOCK_ONLY:
        return True
    if xmax in mine:
        return False
    if xmax >= snap.xmax or xmax in snap.running:
        return True
    return xmax >= len(clog) or clog[xmax] != COMMITTED


def dead_to_all(t, oldest_xmin: int, clog: bytearray) -> bool:
    """Can no transaction, now or later, see version `t`? True when its creator
    aborted, or its deleter committed before every running snapshot began."""
    xmin = t.xmin
    status = clog[xmin] if xmin < len(clog) else IN_PROGRESS
    if status == ABORTED:
        return True
    if status != COMMITTED or xmin >= oldest_xmin:
        return False
    xmax = t.xmax
    if not xmax or t.flags & XMAX_LOCK_ONLY or xmax >= oldest_xmin:
        return False
    return clog[xmax] == COMMITTED if xmax < len(clog) else False
