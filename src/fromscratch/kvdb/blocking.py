"""Clients waiting: blocking commands (BLPOP, BZPOPMIN, BLMOVE...) and CLIENT PAUSE.

A blocking command first tries to do its work. If it can't (every key is empty), it
calls `block()`, which queues the client on each key it waits for, in arrival order,
and returns BLOCKED; the client stops running commands until it is woken.

Whenever a key with waiting clients changes, the keyspace puts it on `ready_keys`;
after the command that changed it, `serve_ready_keys()` re-runs each waiting client's
command, oldest first. A command that now succeeds replies and wakes its client; one
that still can't keeps waiting in the same place. This "retry the whole command" rule
is Redis 7's, and it keeps every blocking command's logic in its own module.

A key that is deleted wakes only the clients that asked for it (`wake_on_delete`):
XREADGROUP, whose consumer group went with the key, so that it answers NOGROUP rather
than wait forever. Everyone else keeps waiting for the key to come back.

A timeout (any fraction of a second; 0 waits forever) answers the command's timeout
reply (a null) and wakes the client. Inside MULTI/EXEC nothing blocks: the command
answers its timeout reply at once.
"""

from __future__ import annotations

import math
import time
from collections import deque

from ..resp import ErrorReply
from . import longdouble
from .client import BLOCKED

INT64_MAX = 2**63 - 1


def parse_timeout(arg: bytes) -> float:
    """A blocking command's timeout in seconds, read as Redis 7.2 reads it: a long double
    in strtold's syntax (so "1e3" and "0x10" too, but no spaces), turned into whole
    milliseconds rounded up: 0.0001 waits 1 ms, and -0.0001 rounds to 0, which is forever."""
    text = arg.decode("ascii", "replace")
    try:
        if not text or text[0].isspace() or text[-1].isspace():
            raise ValueError(text)
        seconds = longdouble.parse(text)
    except (ValueError, longdouble.Overflow):
        raise ErrorReply("ERR timeout is not a float or out of range") from None
    if seconds == math.inf:
        raise ErrorReply("ERR timeout is out of range")
    if seconds == -math.inf:
        raise ErrorReply("ERR timeout is negative")
    milliseconds = math.ceil(seconds * 1000)
    if milliseconds < 0:
        raise ErrorReply("ERR timeout is negative")
    if milliseconds > INT64_MAX - int(time.time() * 1000):    # the deadline must fit
        raise ErrorReply("ERR timeout is out of range")
    return milliseconds / 1000


class BlockState:
    __slots__ = ("db", "keys", "argv", "cmd", "timeout_reply", "timer", "wake_on_delete")

    def __init__(self, db, keys, argv, cmd, timeout_reply, wake_on_delete):
        self.db = db
        self.keys = keys
        self.argv = argv
        self.cmd = cmd                  # the command argv names, run again when woken
        self.timeout_reply = timeout_reply
        self.timer = None
        self.wake_on_delete = wake_on_delete


class PauseState:
    """A client held by CLIENT PAUSE: its command is first in `pending`."""


PAUSED = PauseState()


class Blocking:
    def __init__(self, kv):
        self.kv = kv
        # INFO's blocked_clients: those waiting on keys and, as Redis counts them, those
        # held by CLIENT PAUSE
        self.blocked_clients = 0
        self.paused_clients: list = []

    # -- blocking on keys --------------------------------------------------------------

    def block(self, client, argv: list, keys, timeout: float, timeout_reply,
              wake_on_delete: bool = False):
        """Make `client` wait on `keys` to run `argv` again; returns what the command
        should answer now (BLOCKED, or at once its timeout reply inside MULTI)."""
        if client.in_exec:
            return timeout_reply
        if client.retrying:
            return BLOCKED                # still waiting, already queued
        db = client.db
        state = BlockState(db, list(dict.fromkeys(keys)), argv, self.kv.table.resolve(argv),
                           timeout_reply, wake_on_delete)
        for key in state.keys:
            db.blocked.setdefault(key, deque()).append(client)
        if timeout > 0:
            state.timer = self.kv.loop.call_later(timeout, self._timed_out, client, state)
        client.blocked = state
        self.blocked_clients += 1
        return BLOCKED

    def remove(self, client) -> None:
        """Stop `client` waiting (it was served, timed out, unblocked or left)."""
        state = client.blocked
        if state is None:
            return
        client.blocked = None
        self.blocked_clients -= 1
        if state is PAUSED:
            self.paused_clients.remove(client)
            return
        if state.timer is not None:
            state.timer.cancel()
        for key in state.keys:
            queue = state.db.blocked.get(key)
            if queue is not None:
                try:
                    queue.remove(client)
                except ValueError:
                    pass
                if not queue:
                    del state.db.blocked[key]

    def serve_ready_keys(self) -> None:
        if self.kv.busy_reply is not None:
            return          # a busy script is still running: its changes are not done
        keyspace = self.kv.keyspace
        while keyspace.ready_keys:
            ready, keyspace.ready_keys = keyspace.ready_keys, []
            seen = set()
            for db, key in ready:
                if (db.index, key) in seen:
                    continue
                seen.add((db.index, key))
                queue = db.blocked.get(key)
                if not queue:
                    continue
                for client in list(queue):
                    state = client.blocked
                    if state is None or state is PAUSED:
                        continue
                    if key in db.data or state.wake_on_delete:
                        self._retry(client)

    def _retry(self, client) -> None:
        state = client.blocked
        tracking = self.kv.tracking
        # The client runs its command again, as if just sent: client-side caching credits
        # it with the writes, and holds back its own invalidations until its reply is
        # written (see Client._call_carefully). This runs between commands, when no
        # other client is executing.
        tracking.executing = client if client.tracking is not None else None
        tracking.deferred = []
        client.retrying = True
        cmd = state.cmd
        started = time.perf_counter_ns()
        try:
            result = cmd.handler(client, state.argv)
        except ErrorReply as error:
            result = error
        finally:
            client.retrying = False
        if result is not BLOCKED:
            if not isinstance(result, ErrorReply):
                self.kv.propagate(client, cmd, state.argv, result)
            self.kv.flush_ops(client)
            self.wake(client, result, time.perf_counter_ns() - started)
        if tracking.deferred:
            tracking.command_done(client, False, False)
        tracking.executing, tracking.deferred = None, []

    def wake(self, client, reply, elapsed_ns: int = 0) -> None:
        """Answer a blocked client and let it run what it sent meanwhile. Its command,
        counted as a call when it blocked, is timed now by the try that answered (see
        Client.count_calls)."""
        state = client.blocked
        self.remove(client)
        if state is not None and state is not PAUSED:
            client.count_answer(state.cmd, state.argv, reply, elapsed_ns)
        client.reply(reply)
        self.kv.loop.call_soon(client.resume)

    def _timed_out(self, client, state) -> None:
        if client.blocked is state:
            self.wake(client, state.timeout_reply)

    # -- CLIENT PAUSE ------------------------------------------------------------------

    def pause(self, client, argv) -> None:
        """Hold `client` (whose command `argv` falls under the pause) until unpause."""
        client.pending.appendleft(argv)
        client.blocked = PAUSED
        self.blocked_clients += 1
        self.paused_clients.append(client)

    def release_paused(self) -> None:
        clients, self.paused_clients = self.paused_clients, []
        self.blocked_clients -= len(clients)
        for client in clients:
            client.blocked = None
            self.kv.loop.call_soon(client.resume)
