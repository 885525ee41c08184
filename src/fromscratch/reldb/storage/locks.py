"""Locks: waiting for another transaction, table locks, and deadlock detection.

Row locks live in the rows themselves: a row version whose xmax is a transaction still
in progress is locked by it (updated, deleted, or locked by SELECT ... FOR UPDATE). A
writer that meets such a row waits for that transaction to end, then looks again:
`wait_for_xid`.

Table locks are PostgreSQL's, with its conflict table (a subset of its modes is used):

    ACCESS SHARE        1  reading (SELECT)
    ROW EXCLUSIVE       3  writing rows (INSERT, UPDATE, DELETE)
    SHARE               5  CREATE INDEX: no writers meanwhile
    ACCESS EXCLUSIVE    8  DROP, TRUNCATE, ALTER: nobody else at all

Both are held until the transaction ends. Every waiter records whom it waits for; a
new wait that would close a cycle in that graph is a deadlock, and the transaction
that would close it fails with 40P01 instead of waiting forever.

All of this runs under the engine's latch; waiting releases it (a Condition on it).
"""

from __future__ import annotations

import threading

from ..errors import DEADLOCK_DETECTED, SqlError

ACCESS_SHARE, ROW_SHARE, ROW_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE = 1, 2, 3, 4
SHARE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE = 5, 6, 7, 8

_CONFLICTS = {
    ACCESS_SHARE: {ACCESS_EXCLUSIVE},
    ROW_SHARE: {EXCLUSIVE, ACCESS_EXCLUSIVE},
    ROW_EXCLUSIVE: {SHARE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE},
    SHARE_UPDATE_EXCLUSIVE: {SHARE_UPDATE_EXCLUSIVE, SHARE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE,
                             ACCESS_EXCLUSIVE},
    SHARE: {ROW_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE,
            ACCESS_EXCLUSIVE},
    SHARE_ROW_EXCLUSIVE: {ROW_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE, SHARE, SHARE_ROW_EXCLUSIVE,
                          EXCLUSIVE, ACCESS_EXCLUSIVE},
    EXCLUSIVE: {ROW_SHARE, ROW_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE, SHARE, SHARE_ROW_EXCLUSIVE,
                EXCLUSIVE, ACCESS_EXCLUSIVE},
    ACCESS_EXCLUSIVE: set(range(1, 9)),
}
# As bit masks: the modes (bit 1 << mode) a request conflicts with.
_CONFLICT_MASK = {mode: sum(1 << m for m in others) for mode, others in _CONFLICTS.items()}
MODE_NAMES = {ACCESS_SHARE: "AccessShareLock", ROW_SHARE: "RowShareLock",
              ROW_EXCLUSIVE: "RowExclusiveLock", SHARE_UPDATE_EXCLUSIVE: "ShareUpdateExclusiveLock",
              SHARE: "ShareLock", SHARE_ROW_EXCLUSIVE: "ShareRowExclusiveLock",
              EXCLUSIVE: "ExclusiveLock", ACCESS_EXCLUSIVE: "AccessExclusiveLock"}

LOCK_NOT_AVAILABLE = "55P03"
WAIT_SLICE = 0.1        # seconds between checks for a cancel request while waiting


class LockManager:
    def __init__(self, latch):
        self.latch = latch
        self.changed = threading.Condition(latch.lock)
        # transaction -> the condition those waiting for it alone wait on: its end wakes
        # them, not every waiter in the server.
        self.waiting_for_one: dict = {}
        self.waits_for: dict = {}            # transaction -> transactions it waits for
        self.tables: dict[int, dict] = {}    # lock tag -> {transaction: held modes mask}

    # -- waiting -----------------------------------------------------------------------------

    def wait(self, txn, holders, done, what: str) -> None:
        """Block `txn` until done() is true; `holders` are the transactions it waits
        for (for deadlock detection). Called with the latch held."""
        self.waits_for[txn] = set(holders)
        try:
            if self._closes_cycle(txn):
                raise SqlError(DEADLOCK_DETECTED, "deadlock detected",
                               detail=f"Process {txn.pid} waits for {what}; blocked by "
                                      + ", ".join(f"process {h.pid}" for h in holders) + ".",
                               hint="See server log for query details.")
            condition = self._condition_for(holders)
            while not done():
                self.latch.wait(condition, WAIT_SLICE)
                txn.check_interrupts()
        finally:
            del self.waits_for[txn]

    def _closes_cycle(self, start) -> bool:
        stack = list(self.waits_for.get(start, ()))
        seen = set()
        while stack:
            t = stack.pop()
            if t is start:
                return True
            if t in seen:
                continue
            seen.add(t)
            stack.extend(self.waits_for.get(t, ()))
        return False

    def _condition_for(self, holders):
        if len(holders) != 1:
            return self.changed
        holder = next(iter(holders))
        condition = self.waiting_for_one.get(holder)
        if condition is None:
            condition = self.waiting_for_one[holder] = threading.Condition(self.latch.lock)
        return condition

    def wake(self, txn) -> None:
        """`txn` ended (or gave up locks): those waiting for it look again, and so do
        waits on several transactions. (A wait whose holders changed meanwhile looks
        again after WAIT_SLICE at the latest.)"""
        condition = self.waiting_for_one.pop(txn, None)
        if condition is not None:
            condition.notify_all()
        self.changed.notify_all()

    # -- table locks -------------------------------------------------------------------------

    def lock(self, txn, tag: int, mode: int, name: str = "relation", nowait: bool = False) -> None:
        held = txn.table_locks.get(tag, 0)
        if held & (1 << mode):
            return
        conflict = _CONFLICT_MASK[mode]

        def blockers():
            return [t for t, modes in self.tables.get(tag, {}).items()
                    if t is not txn and modes & conflict]
        if blockers():
            if nowait:
                raise SqlError(LOCK_NOT_AVAILABLE, "could not obtain lock on relation")
            self.wait(txn, blockers(), lambda: not blockers(),
                      f"{MODE_NAMES[mode]} on {name}")
        holders = self.tables.setdefault(tag, {})
        holders[txn] = holders.get(txn, 0) | (1 << mode)
        txn.table_locks[tag] = held | (1 << mode)

    def release_all(self, txn) -> None:
        for tag in txn.table_locks:
            holders = self.tables.get(tag)
            if holders is not None:
                holders.pop(txn, None)
                if not holders:
                    del self.tables[tag]
        txn.table_locks.clear()
