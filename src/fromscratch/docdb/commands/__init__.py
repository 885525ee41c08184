"""The command table: every command the server answers, one module per family.

    handshake.py   hello/isMaster ping buildInfo serverStatus hostInfo whatsmyuri ...
    namespaces.py  listDatabases listCollections create drop dropDatabase
                   renameCollection collStats dbStats
    crud.py        insert find getMore killCursors update delete findAndModify count distinct
    aggregate.py   aggregate
    indexes.py     createIndexes listIndexes dropIndexes
    explain.py     explain
    sessions.py    startSession endSessions refreshSessions killSessions, transactions (refused)
    auth.py        saslStart saslContinue createUser dropUser usersInfo logout connectionStatus
    testing.py     configureFailPoint (with --enable-test-commands)

Each command is a function `(ctx, cmd) -> reply document` registered with `@command`;
it reads its arguments from the command document, works on the engine, and returns the
reply without `ok` (added here). It raises `MongoError` for errors, which `dispatch`
turns into `{ok: 0, errmsg, code, codeName}`.

`dispatch` also does what every command shares: look the name up (unknown: code 59),
check authentication, hold the engine lock, and, after a write, make it durable as the
write concern asks before the reply can leave.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

from ..errors import MongoError

log = logging.getLogger("fromscratch.docdb")


@dataclass
class Command:
    name: str
    handler: Callable
    requires_auth: bool = True   # needs an authenticated user when auth is on


COMMANDS: dict[str, Command] = {}


def command(*names: str, requires_auth: bool = True):
    def register(handler):
        for name in names:
            COMMANDS[name] = Command(name, handler, requires_auth)
        return handler
    return register


@dataclass
class Context:
    """What a command may use: the engine, the server, and this client's state."""
    server: object                       # server.MongoServer (engine, cursors, config)
    client: object                       # server.ClientState (auth, conversations)
    database: str = "admin"
    acknowledged: bool = True            # False for w:0 or moreToCome
    wrote: bool = False
    raw_sequences: dict = field(default_factory=dict)    # wire.Msg.raw_sequences
    extra: dict = field(default_factory=dict)

    @property
    def engine(self):
        return self.server.engine


def dispatch(ctx: Context, cmd: dict) -> dict:
    """Run one command document and return the reply (always; never raises)."""
    try:
        if not cmd:
            raise MongoError(59, "no such command: ''")
        name = next(iter(cmd))
        entry = COMMANDS.get(name)
        if entry is None:
            raise MongoError(59, f"no such command: '{name}'")
        database = cmd.get("$db", ctx.database)
        if not isinstance(database, str) or not database:
            raise MongoError(73, "Invalid database name: ''")
        ctx.database = database
        if entry.requires_auth and ctx.server.auth_required and not ctx.client.user:
            raise MongoError(13, f"Command {name} requires authentication")
        if "lsid" in cmd:
            ctx.server.sessions.touch(cmd["lsid"], ctx.client.user)
        if "txnNumber" in cmd or "startTransaction" in cmd:
            raise MongoError(20, "Transaction numbers are only allowed on a replica set "
                                 "member or mongos")
        concern = cmd.get("writeConcern") or {}
        if isinstance(concern, dict) and concern.get("w") == 0:
            ctx.acknowledged = False
        with ctx.engine.lock:
            reply = entry.handler(ctx, cmd)
            if ctx.wrote:
                if ctx.acknowledged:
                    journal = concern.get("j") if isinstance(concern, dict) else None
                    ctx.engine.commit(bool(journal) if journal is not None else None)
                else:
                    ctx.engine.journal.flush()
        reply["ok"] = 1.0
        return reply
    except MongoError as error:
        return error.to_reply()
    except RecursionError:
        return MongoError(15, "the request is nested too deeply").to_reply()
    except Exception as error:                       # a bug: tell the client, keep serving
        log.exception("docdb: command failed")
        return MongoError(1, f"internal error: {type(error).__name__}: {error}").to_reply()


def collection_name(cmd: dict, name: str) -> str:
    """The collection argument of a command (`{find: "people"}`), validated."""
    value = cmd[name]
    if not isinstance(value, str) or not value:
        raise MongoError(73, f"collection name has invalid type {type(value).__name__}"
                         if not isinstance(value, str) else "Invalid namespace specified")
    return value


# Register every command family.
from . import (aggregate, auth, crud, explain, handshake, indexes, namespaces,  # noqa: E402,F401
               sessions, testing)
