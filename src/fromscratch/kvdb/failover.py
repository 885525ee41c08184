"""FAILOVER: a primary hands its role over to one of its replicas without losing a write,
as Redis 6.2's coordinated failover does.

1. `FAILOVER [TO host port [FORCE]] [TIMEOUT ms]`: clients' writes are paused (as with
   CLIENT PAUSE WRITE), and the state is `waiting-for-sync` (INFO replication's
   master_failover_state).
2. At each cron tick: the target (or, without TO, the first replica) that has
   acknowledged the whole stream is the one. Past the TIMEOUT the failover is aborted,
   unless FORCE was given: then it goes on with the target anyway.
3. `failover-in-progress`: this server becomes a replica of the target, and its PSYNC
   carries a FAILOVER argument. The target, seeing its own replication id, becomes a
   primary (a new history, the old one kept as its second id) and answers +CONTINUE.
   The pause ends: `no-failover`. Should the target refuse, the failover is aborted:
   this server is a primary again, and writes resume.

`FAILOVER ABORT` stops it at any point. While it lasts, REPLICAOF is refused, and so
are replicas' SYNC and PSYNC.
"""

from __future__ import annotations

import logging
import math
import time

from ..resp import ErrorReply

log = logging.getLogger("fromscratch.kvdb")

NO_FAILOVER = "no-failover"
WAITING_FOR_SYNC = "waiting-for-sync"
IN_PROGRESS = "failover-in-progress"


class Failover:
    def __init__(self, kv):
        self.kv = kv
        self.state = NO_FAILOVER
        self.target: tuple[str, int] | None = None      # (host, port) of the replica
        self.deadline: float | None = None              # monotonic; None: no timeout
        self.force = False

    def start(self, target: tuple[str, int] | None, timeout_ms: int, force: bool) -> None:
        """FAILOVER's checks (in Redis's order, with its errors), then step 1."""
        kv = self.kv
        if self.state != NO_FAILOVER:
            raise ErrorReply("ERR FAILOVER already in progress.")
        if kv.primary_link is not None:
            raise ErrorReply("ERR FAILOVER is not valid when server is a replica.")
        if not kv.replication.replicas:
            raise ErrorReply("ERR FAILOVER requires connected replicas.")
        if force and not (timeout_ms and target):
            raise ErrorReply("ERR FAILOVER with force option requires both a timeout and "
                             "target HOST and IP.")
        if target is not None:
            if self._find(target) is None:
                raise ErrorReply("ERR FAILOVER target HOST and PORT is not a replica.")
            log.info("FAILOVER requested to %s:%d.", *target)
        else:
            log.info("FAILOVER requested to any replica.")
        self.target = target
        self.deadline = time.monotonic() + timeout_ms / 1000 if timeout_ms else None
        self.force = force
        self.state = WAITING_FOR_SYNC
        kv.pause(math.inf, "write", "failover")

    def _find(self, target: tuple[str, int]):
        host, port = target
        for replica in self.kv.replication.replicas:
            if replica.replica_address.lower() == host.lower() and replica.replica_port == port:
                return replica
        return None

    def check(self) -> None:
        """Step 2, from the cron."""
        if self.state != WAITING_FOR_SYNC:
            return
        if self.deadline is not None and time.monotonic() >= self.deadline:
            if not self.force:
                self.abort("Replica never caught up before timeout")
                return
            log.info("FAILOVER to %s:%d time out exceeded, failing over.", *self.target)
            self._hand_over()
            return
        offset = self.kv.replication.offset
        if self.target is not None:
            replica = self._find(self.target)
            caught_up = replica is not None and replica.replica_acked == offset
        else:
            replica = next((r for r in self.kv.replication.replicas
                            if r.replica_acked == offset), None)
            caught_up = replica is not None
            if caught_up:
                self.target = (replica.replica_address, replica.replica_port)
        if caught_up:
            log.info("Failover target %s:%d is synced, failing over.", *self.target)
            self._hand_over()

    def _hand_over(self) -> None:
        """Step 3: follow the target; the link's PSYNC carries FAILOVER (see
        `in_progress`) and reports the answer to `psync_answered`."""
        self.state = IN_PROGRESS
        self.kv.follow(*self.target)

    @property
    def in_progress(self) -> bool:
        return self.state == IN_PROGRESS

    def psync_answered(self, accepted: bool) -> None:
        """The target answered our PSYNC FAILOVER: +CONTINUE (or, as can happen,
        +FULLRESYNC), or an error."""
        if accepted:
            self._clear()
        else:
            self.abort("Failover target rejected psync request")

    def abort(self, reason: str) -> None:
        if self.state == NO_FAILOVER:
            return
        if self.target is not None:
            log.info("FAILOVER to %s:%d aborted: %s", *self.target, reason)
        else:
            log.info("FAILOVER to any replica aborted: %s", reason)
        if self.state == IN_PROGRESS:
            self.kv.stop_following()
        self._clear()

    def _clear(self) -> None:
        self.state = NO_FAILOVER
        self.target = self.deadline = None
        self.force = False
        self.kv.unpause("failover")

    def take_over(self, replid: bytes, requested_by: str) -> None:
        """PSYNC <replid> <offset> FAILOVER, from our primary: we become the primary
        if it names our history (the target's side of step 3)."""
        kv = self.kv
        log.warning("Failover request received for replid %s.",
                    replid.decode("utf-8", "replace"))
        if kv.primary_link is None:
            raise ErrorReply("ERR PSYNC FAILOVER can't be sent to a master.")
        if replid != kv.replication.replid.encode():
            raise ErrorReply("ERR PSYNC FAILOVER replid must match my replid.")
        kv.stop_following(f"failover request from '{requested_by}'")
