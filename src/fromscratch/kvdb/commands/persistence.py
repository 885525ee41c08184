"""Persistence commands: SAVE, BGSAVE, LASTSAVE, BGREWRITEAOF, SHUTDOWN.

The work itself is in ../persistence/ (snapshots and the append-only file); these
commands start it and answer as Redis does.
"""

from __future__ import annotations

from ...resp import ErrorReply, SimpleString
from ..client import NO_REPLY, OK
from ..table import command
from .args import SYNTAX

SAVE_RUNNING = ErrorReply("ERR Background save already in progress")


@command("save", arity=1, flags="admin noscript no_async_loading no_multi", group="server",
         since="1.0.0", summary="Synchronously saves the database(s) to disk.",
         complexity="O(N) where N is the total number of keys in all databases")
def save(client, argv):
    snapshots = client.kv.snapshotter
    if snapshots.in_progress:
        raise SAVE_RUNNING
    try:
        snapshots.save()
    except OSError:
        raise ErrorReply("ERR") from None
    return OK


@command("bgsave", arity=-1, flags="admin noscript no_async_loading", group="server",
         since="1.0.0", summary="Asynchronously saves the database(s) to disk.",
         complexity="O(1)", syntax="[SCHEDULE]")
def bgsave(client, argv):
    kv = client.kv
    schedule = len(argv) == 2 and argv[1].upper() == b"SCHEDULE"
    if len(argv) > 1 and not schedule:
        raise SYNTAX
    if kv.snapshotter.in_progress:
        raise SAVE_RUNNING
    if kv.aof_rewriting or kv.in_exec:
        if schedule or kv.in_exec:
            kv.snapshotter.scheduled = True         # the cron starts it when it can
            return SimpleString("Background saving scheduled")
        raise ErrorReply("ERR Another child process is active (AOF?): can't BGSAVE right "
                         "now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever "
                         "possible.")
    kv.snapshotter.start_background()
    return SimpleString("Background saving started")


@command("lastsave", arity=1, flags="loading stale fast", group="server", since="1.0.0",
         summary="Returns the Unix timestamp of the last successful save to disk.",
         complexity="O(1)", acl="@admin @dangerous")
def lastsave(client, argv):
    return int(client.kv.snapshotter.last_save_time)


@command("bgrewriteaof", arity=1, flags="admin noscript no_async_loading", group="server",
         since="1.0.0", summary="Asynchronously rewrites the append-only file to disk.",
         complexity="O(1)")
def bgrewriteaof(client, argv):
    kv = client.kv
    if kv.aof_rewriting:
        raise ErrorReply("ERR Background append only file rewriting already in progress")
    if kv.snapshotter.in_progress or kv.in_exec:
        kv.aof_rewrite_scheduled = True               # the cron starts it when it can
        kv.aof_history.failures = 0                   # asked for: no waiting after failures
        return SimpleString("Background append only file rewriting scheduled")
    kv.rewrite_aof()
    return SimpleString("Background append only file rewriting started")


@command("shutdown", arity=-1, flags="admin noscript loading stale no_multi allow_busy",
         group="server", since="1.0.0",
         summary="Synchronously saves the database(s) to disk and shuts down the Redis server.",
         complexity="O(N) when saving, where N is the total number of keys in all databases "
                    "when saving data, otherwise O(1)",
         syntax="[save-selector: NOSAVE | SAVE] [NOW] [FORCE] [ABORT]")
def shutdown(client, argv):
    words = {arg.upper() for arg in argv[1:]}
    if not words <= {b"NOSAVE", b"SAVE", b"NOW", b"FORCE", b"ABORT"} or \
            {b"NOSAVE", b"SAVE"} <= words or (b"ABORT" in words and len(words) > 1):
        raise SYNTAX
    kv = client.kv
    if b"ABORT" in words:
        if not kv.abort_shutdown():
            raise ErrorReply("ERR No shutdown in progress.")
        return OK
    save = True if b"SAVE" in words else False if b"NOSAVE" in words else None
    force = b"FORCE" in words
    if kv.loading:                       # as Redis: no save of a half-loaded dataset
        kv.exit_now()
    if kv.busy_reply is not None:
        if save is not False:            # a busy script stops only for SHUTDOWN NOSAVE
            raise kv.busy_reply
        kv.exit_now()
    if kv.shutdown_wait is not None:
        # One is under way (waiting for the replicas): as in Redis, this client waits
        # for its outcome, whatever flags it gave.
        kv.shutdown_clients.append(client)
        return kv.blocking.block(client, argv, (), 0, None)
    if b"NOW" not in words and kv.must_wait_for_replicas():
        # As Redis 7: first let lagging replicas catch up (writes paused meanwhile);
        # this client waits, unanswered unless the shutdown fails or is aborted.
        kv.shutdown_clients.append(client)
        kv.wait_for_replicas(lambda caught_up: _finish(kv, caught_up, save, force))
        return kv.blocking.block(client, argv, (), 0, None)
    if not kv.prepare_shutdown(save=save, force=force):
        raise ErrorReply(SHUTDOWN_FAILED)
    kv.stop_requested.set()
    client.close_after_reply = True
    return NO_REPLY


SHUTDOWN_FAILED = "ERR Errors trying to SHUTDOWN. Check logs."


def _finish(kv, caught_up: bool, save: bool | None, force: bool) -> None:
    """After waiting for the replicas: shut down, or tell every client waiting on
    SHUTDOWN why not."""
    if caught_up and kv.prepare_shutdown(save=save, force=force):
        kv.stop_requested.set()
        return
    kv.unpause("shutdown")
    kv.answer_shutdown_clients()
