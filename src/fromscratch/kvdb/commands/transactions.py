"""Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.

Between MULTI and EXEC the client queues commands (see Client.call); EXEC runs them
back to back, with nothing from other clients in between. WATCH is optimistic locking:
any change to a watched key before EXEC (a write, an expiry, a FLUSHALL or SWAPDB that
touches it) makes EXEC answer null and run nothing.
"""

from __future__ import annotations

from ...resp import NULL_ARRAY, ErrorReply
from ..client import OK
from ..table import command
from .args import now_ms

EXECABORT = ErrorReply("EXECABORT Transaction discarded because of previous errors.")


@command("multi", arity=1, flags="noscript loading stale fast allow_busy",
         group="transactions", since="1.2.0",
         summary="Starts a transaction.", complexity="O(1)")
def multi(client, argv):
    if client.multi is not None:
        raise ErrorReply("ERR MULTI calls can not be nested")
    client.multi = []
    client.multi_failed = False
    client.queued_bytes = 0
    return OK


@command("discard", arity=1, flags="noscript loading stale fast allow_busy",
         group="transactions", since="2.0.0",
         summary="Discards a transaction.",
         complexity="O(N), when N is the number of queued commands")
def discard(client, argv):
    if client.multi is None:
        raise ErrorReply("ERR DISCARD without MULTI")
    client.discard_transaction()
    return OK


def watched_key_expired(client) -> bool:
    """A key that existed at WATCH and has since expired (not yet deleted) also aborts."""
    databases = client.kv.keyspace.dbs
    for (index, key), existed in client.watching.items():
        if existed:
            entry = databases[index].data.get(key)
            if entry is not None and entry.expires_at and entry.expires_at <= now_ms():
                return True
    return False


@command("exec", arity=1, flags="noscript loading stale skip_slowlog", group="transactions",
         since="1.2.0", summary="Executes all commands in a transaction.",
         complexity="Depends on commands in the transaction")
def exec_(client, argv):
    if client.multi is None:
        raise ErrorReply("ERR EXEC without MULTI")
    queued, failed = client.multi, client.multi_failed
    aborted = client.watch_broken or watched_key_expired(client)
    client.discard_transaction()
    if failed:
        raise EXECABORT
    if aborted:
        return NULL_ARRAY
    return client.run_queued(queued)


@command("watch", arity=-2, flags="noscript loading stale fast allow_busy", keys=(1, -1, 1),
         group="transactions", since="2.2.0",
         summary="Monitors changes to keys to determine the execution of a transaction.",
         complexity="O(1) for every key.", syntax="key...")
def watch(client, argv):
    if client.multi is not None:
        raise ErrorReply("ERR WATCH inside MULTI is not allowed")
    db = client.db
    for key in argv[1:]:
        slot = (db.index, key)
        if slot in client.watching:
            continue
        client.watching[slot] = db.entry(key, touch=False) is not None
        db.watched.setdefault(key, set()).add(client)
    return OK


@command("unwatch", arity=1, flags="noscript loading stale fast allow_busy",
         group="transactions", since="2.2.0",
         summary="Forgets about watched keys of a transaction.", complexity="O(1)")
def unwatch(client, argv):
    client.kv.unwatch_all(client)
    return OK
