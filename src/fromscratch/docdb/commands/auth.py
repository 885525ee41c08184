"""Authentication and users: saslStart saslContinue createUser updateUser dropUser
usersInfo logout connectionStatus.

Users live in the `admin.system.users` collection, as in MongoDB (so they are journaled
like any document), as `{_id: "<db>.<user>", user, db, roles, credentials}` with SCRAM
credentials for SCRAM-SHA-256 and SCRAM-SHA-1 and never the password.

With `--auth`, every command except the handshake and authentication ones needs an
authenticated user. As in MongoDB, a client on localhost may create the first user
before anyone is authenticated (the "localhost exception"). Roles are recorded and
reported but not enforced: any authenticated user may do anything.
"""

from __future__ import annotations

from ..bson import Binary
from ..errors import MongoError, failed_to_parse
from ..scram import MECHANISMS, ScramError, ScramServer, make_credentials
from . import command

USERS = ("admin", "system.users")


def _users(ctx, create: bool = False):
    return ctx.engine.collection(*USERS, create=create)


def find_user(ctx, database: str, username: str) -> dict | None:
    users = _users(ctx)
    return users.get(f"{database}.{username}") if users is not None else None


def mechanisms_of(ctx, qualified: str) -> list[str]:
    database, _, username = qualified.partition(".")
    user = find_user(ctx, database, username)
    return sorted(user["credentials"]) if user else []


def start_conversation(ctx, cmd: dict, database: str) -> dict | None:
    """The first SCRAM step (from saslStart or hello's speculativeAuthenticate)."""
    mechanism = cmd.get("mechanism")
    if mechanism not in MECHANISMS:
        raise MongoError(2, f"Received authentication for mechanism {mechanism} which is not "
                            f"enabled")

    def lookup(username):
        user = find_user(ctx, database, username)
        return user["credentials"].get(mechanism) if user else None

    conversation = ScramServer(mechanism, lookup)
    try:
        answer = conversation.first(bytes(cmd.get("payload") or b""))
    except ScramError:
        raise MongoError(18, "Authentication failed.") from None
    client = ctx.client
    client.conversation_ids += 1
    conversation.database = database
    client.conversations[client.conversation_ids] = conversation
    return {"conversationId": client.conversation_ids, "done": False,
            "payload": Binary(answer, 0)}


@command("saslStart", requires_auth=False)
def sasl_start(ctx, cmd):
    return start_conversation(ctx, cmd, ctx.database)


@command("saslContinue", requires_auth=False)
def sasl_continue(ctx, cmd):
    conversation = ctx.client.conversations.get(cmd.get("conversationId"))
    if conversation is None:
        raise MongoError(17, "No SASL session state found")
    if conversation.done:           # the empty last exchange, when not skipped
        del ctx.client.conversations[cmd["conversationId"]]
        return {"conversationId": cmd["conversationId"], "done": True, "payload": b""}
    try:
        answer = conversation.final(bytes(cmd.get("payload") or b""))
    except ScramError:
        del ctx.client.conversations[cmd["conversationId"]]
        raise MongoError(18, "Authentication failed.") from None
    ctx.client.user = f"{conversation.database}.{conversation.username}"
    skip_empty = (cmd.get("options") or {}).get("skipEmptyExchange", True)
    if skip_empty:
        del ctx.client.conversations[cmd["conversationId"]]
    return {"conversationId": cmd["conversationId"], "done": bool(skip_empty),
            "payload": Binary(answer, 0)}


def _may_manage_users(ctx) -> None:
    users = _users(ctx)
    first_user = users is None or len(users) == 0
    local = ctx.client.peer[0] in ("127.0.0.1", "::1", "localhost")
    if ctx.server.auth_required and not ctx.client.user and not (first_user and local):
        raise MongoError(13, "command requires authentication")


@command("createUser", requires_auth=False)
def create_user(ctx, cmd):
    _may_manage_users(ctx)
    username, password = cmd.get("createUser"), cmd.get("pwd")
    if not isinstance(username, str) or not username:
        raise failed_to_parse("createUser needs a user name")
    if not isinstance(password, str) or not password:
        raise failed_to_parse("createUser needs a password ('pwd')")
    if find_user(ctx, ctx.database, username) is not None:
        raise MongoError(51003, f'User "{username}@{ctx.database}" already exists')
    mechanisms = cmd.get("mechanisms") or list(MECHANISMS)
    for mechanism in mechanisms:
        if mechanism not in MECHANISMS:
            raise MongoError(2, f"Unknown auth mechanism '{mechanism}'")
    ctx.wrote = True
    _users(ctx, create=True).insert({
        "_id": f"{ctx.database}.{username}", "user": username, "db": ctx.database,
        "roles": cmd.get("roles", []),
        "credentials": {m: make_credentials(m, username, password) for m in mechanisms}})
    return {}


@command("updateUser")
def update_user(ctx, cmd):
    username = cmd.get("updateUser")
    user = find_user(ctx, ctx.database, username)
    if user is None:
        raise MongoError(11, f"User {username}@{ctx.database} not found")
    changed = dict(user)
    if "pwd" in cmd:
        changed["credentials"] = {m: make_credentials(m, username, cmd["pwd"])
                                  for m in user["credentials"]}
    if "roles" in cmd:
        changed["roles"] = cmd["roles"]
    ctx.wrote = True
    _users(ctx).replace(user, changed)
    return {}


@command("dropUser")
def drop_user(ctx, cmd):
    username = cmd.get("dropUser")
    user = find_user(ctx, ctx.database, username)
    if user is None:
        raise MongoError(11, f"User {username}@{ctx.database} not found")
    ctx.wrote = True
    _users(ctx).delete(user)
    return {}


@command("usersInfo")
def users_info(ctx, cmd):
    users = _users(ctx)
    wanted = cmd.get("usersInfo")
    out = []
    for user in (users.documents.values() if users is not None else []):
        if user["db"] != ctx.database and wanted != {"forAllDBs": True}:
            continue
        if isinstance(wanted, str) and user["user"] != wanted:
            continue
        out.append({"_id": user["_id"], "user": user["user"], "db": user["db"],
                    "roles": user["roles"], "mechanisms": sorted(user["credentials"])})
    return {"users": out}


@command("logout", requires_auth=False)
def logout(ctx, cmd):
    ctx.client.user = None
    return {}


@command("connectionStatus", requires_auth=False)
def connection_status(ctx, cmd):
    user = ctx.client.user
    users = []
    if user:
        database, _, name = user.partition(".")
        users.append({"user": name, "db": database})
    return {"authInfo": {"authenticatedUsers": users, "authenticatedUserRoles": []}}
