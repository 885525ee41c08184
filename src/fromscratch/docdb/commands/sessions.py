"""Sessions: startSession endSessions refreshSessions killSessions killAllSessions, the
session cache behind `$listLocalSessions`, and the transaction commands, which a
standalone server refuses.

Drivers attach a logical session id (`lsid`) to every command once `hello` reports
`logicalSessionTimeoutMinutes`. Like mongod, we keep a cache of the sessions we have
seen (id, user, last use), which `endSessions` and `killSessions` empty and
`$listLocalSessions` lists; sessions idle for 30 minutes are forgotten. A standalone
server has no retryable writes or transactions, so a session carries nothing else.
"""

from __future__ import annotations

import datetime
import hashlib
import time
import uuid

from ..bson import UTC, Binary
from ..errors import MongoError
from . import command

TIMEOUT_MINUTES = 30


class SessionCache:
    def __init__(self):
        self.sessions: dict[bytes, dict] = {}        # session id bytes -> entry

    def touch(self, lsid, user: str | None) -> None:
        """Note a command's `lsid` (a document `{id: UUID}`)."""
        if not isinstance(lsid, dict) or not isinstance(lsid.get("id"), bytes):
            return
        self.sessions[bytes(lsid["id"])] = {"id": lsid["id"], "user": user,
                                            "last_use": time.time()}

    def end(self, lsids) -> None:
        for lsid in lsids if isinstance(lsids, list) else []:
            if isinstance(lsid, dict) and isinstance(lsid.get("id"), bytes):
                self.sessions.pop(bytes(lsid["id"]), None)

    def expire(self, now: float | None = None) -> None:
        limit = (now or time.time()) - TIMEOUT_MINUTES * 60
        for key in [k for k, entry in self.sessions.items() if entry["last_use"] < limit]:
            del self.sessions[key]

    def documents(self, user: str | None, all_users: bool) -> list[dict]:
        """The `$listLocalSessions` documents: `{_id: {id, uid}, lastUse, user}`."""
        out = []
        for entry in self.sessions.values():
            if not all_users and entry["user"] != user:
                continue
            name = entry["user"] or ""
            out.append({"_id": {"id": entry["id"],
                                "uid": hashlib.sha256(name.encode()).digest()},
                        "lastUse": datetime.datetime.fromtimestamp(
                            int(entry["last_use"] * 1000) / 1000, UTC),
                        "user": {"name": name}})
        return out


@command("startSession")
def start_session(ctx, cmd):
    session_id = Binary(uuid.uuid4().bytes, 4)
    ctx.server.sessions.touch({"id": session_id}, ctx.client.user)
    return {"id": {"id": session_id}, "timeoutMinutes": TIMEOUT_MINUTES}


@command("endSessions", "killSessions", requires_auth=False)
def end_sessions(ctx, cmd):
    ctx.server.sessions.end(cmd[next(iter(cmd))])
    return {}


@command("refreshSessions", requires_auth=False)
def refresh_sessions(ctx, cmd):
    for lsid in cmd["refreshSessions"] if isinstance(cmd["refreshSessions"], list) else []:
        ctx.server.sessions.touch(lsid, ctx.client.user)
    return {}


@command("killAllSessions")
def kill_all_sessions(ctx, cmd):
    ctx.server.sessions.sessions.clear()
    return {}


@command("commitTransaction", "abortTransaction")
def transactions(ctx, cmd):
    raise MongoError(20, "Transaction numbers are only allowed on a replica set member or mongos")
