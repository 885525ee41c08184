"""Connection commands: PING, ECHO, HELLO, AUTH, QUIT, RESET and CLIENT."""

from __future__ import annotations

import time

from ...resp import ErrorReply, SimpleString
from ..client import NO_REPLY, OK
from ..table import command, container, subcommand
from ..version import REDIS_VERSION
from .pubsub import unsubscribe_everything
from .args import SYNTAX, Options, parse_int, redact

PONG = SimpleString("PONG")
WRONGPASS = ErrorReply("WRONGPASS invalid username-password pair or user is disabled.")


@command("ping", arity=-1, flags="fast", group="connection", since="1.0.0",
         summary="Returns the server's liveliness response.", complexity="O(1)",
         syntax="[message]")
def ping(client, argv):
    if len(argv) > 2:
        raise ErrorReply("ERR wrong number of arguments for 'ping' command")
    if client.resp == 2 and client.subscriptions_count():
        return [b"pong", argv[1] if len(argv) == 2 else b""]     # subscribed RESP2 shape
    return argv[1] if len(argv) == 2 else PONG


@command("echo", arity=2, flags="loading stale fast", group="connection", since="1.0.0",
         summary="Returns the given string.", complexity="O(1)", syntax="message")
def echo(client, argv):
    return argv[1]


@command("quit", arity=-1, flags="no_auth noscript loading stale fast allow_busy",
         group="connection", since="1.0.0", summary="Closes the connection.",
         complexity="O(1)")
def quit_(client, argv):
    client.close_after_reply = True
    return OK


@command("reset", arity=1, flags="no_auth noscript loading stale fast allow_busy",
         group="connection", since="6.2.0",
         summary="Resets the connection.", complexity="O(1)")
def reset(client, argv):
    kv = client.kv
    client.discard_transaction()
    kv.remove_monitor(client)
    kv.tracking.disable(client)
    client.db = kv.keyspace.dbs[0]
    client.switch_protocol(2)
    client.name = b""
    client.reply_off = client.skip_next_reply = False
    client.no_evict = False
    client.no_touch = False
    client.user = kv.acl.default
    client.authenticated = kv.acl.default.needs_no_auth
    unsubscribe_everything(client)
    return SimpleString("RESET")


@command("auth", arity=-2, flags="no_auth noscript loading stale fast allow_busy",
         group="connection", since="1.0.0",
         summary="Authenticates the connection.",
         complexity="O(N) where N is the number of passwords defined for the user",
         syntax="[username] password")
def auth(client, argv):
    if len(argv) > 3:
        raise SYNTAX
    secrets = redact(argv, 1)
    acl = client.kv.acl
    if len(argv) == 2 and acl.default.nopass:
        raise ErrorReply("ERR AUTH <password> called without any password configured for "
                         "the default user. Are you sure your configuration is correct?")
    username, password = secrets if len(secrets) == 2 else (b"default", secrets[0])
    log_in(client, username, password, "AUTH")
    return OK


def log_in(client, username: bytes, password: bytes, command: str) -> None:
    """Authenticate as `username`; a failure is refused, and logged as `command`'s."""
    user = client.kv.acl.authenticate(username, password)
    if user is None:
        client.kv.record_denial(client, "auth", command,
                                username=username.decode("utf-8", "replace"))
        raise WRONGPASS
    client.user = user
    client.authenticated = True


@command("hello", arity=-1, flags="no_auth noscript loading stale fast allow_busy",
         group="connection", since="6.0.0",
         summary="Handshakes with the Redis server.", complexity="O(1)",
         syntax="[arguments: protover [AUTH username password] [SETNAME clientname]]")
def hello(client, argv):
    version = client.resp
    if len(argv) > 1:
        try:
            version = parse_int(argv[1])
        except ErrorReply:
            raise ErrorReply("ERR Protocol version is not an integer or out of range") from None
        if version not in (2, 3):
            raise ErrorReply("NOPROTO unsupported protocol version")
    credentials = name = None
    i = 2
    while i < len(argv):
        word = argv[i].upper()
        remaining = len(argv) - i - 1
        if word == b"AUTH" and remaining >= 2:
            credentials = tuple(redact(argv, i + 1, i + 3))
            i += 3
        elif word == b"SETNAME" and remaining >= 1:
            name = argv[i + 1]
            i += 2
        else:
            raise ErrorReply(f"ERR Syntax error in HELLO option "
                             f"'{argv[i].decode('utf-8', 'replace')}'")
    if credentials is not None:
        log_in(client, *credentials, "HELLO")
    elif not client.authenticated:
        raise ErrorReply("NOAUTH HELLO must be called with the client already authenticated, "
                         "otherwise the HELLO <proto> AUTH <user> <pass> option can be used to "
                         "authenticate the client and select the RESP protocol version at the "
                         "same time")
    if name is not None:
        validate_name(name, "Client names")
        client.name = name
    client.switch_protocol(version)
    return {"server": b"redis", "version": REDIS_VERSION.encode(), "proto": version,
            "id": client.id, "mode": b"standalone", "role": b"master", "modules": []}


def validate_name(name: bytes, what: str) -> None:
    if any(byte < 33 or byte > 126 for byte in name):
        raise ErrorReply(f"ERR {what} cannot contain spaces, newlines or special characters.")


# -- CLIENT ------------------------------------------------------------------------------

container("client", group="connection", since="2.4.0",
          summary="A container for client connection commands.")


@subcommand("client", "id", arity=2, flags="noscript loading stale", since="5.0.0",
            summary="Returns the unique client ID of the connection.", complexity="O(1)")
def client_id(client, argv):
    return client.id


@subcommand("client", "setname", arity=3, flags="noscript loading stale", since="2.6.9",
            summary="Sets the connection name.", complexity="O(1)", syntax="connection-name")
def client_setname(client, argv):
    validate_name(argv[2], "Client names")
    client.name = argv[2]
    return OK


@subcommand("client", "getname", arity=2, flags="noscript loading stale", since="2.6.9",
            summary="Returns the name of the connection.", complexity="O(1)")
def client_getname(client, argv):
    return client.name or None


@subcommand("client", "setinfo", arity=4, flags="noscript loading stale", since="7.2.0",
            summary="Sets information specific to the client or connection.",
            complexity="O(1)", syntax="[attr: LIB-NAME libname | LIB-VER libver]")
def client_setinfo(client, argv):
    attribute, value = argv[2].upper(), argv[3]
    if attribute == b"LIB-NAME":
        validate_name(value, "lib-name")
        client.lib_name = value
    elif attribute == b"LIB-VER":
        validate_name(value, "lib-ver")
        client.lib_ver = value
    else:
        raise ErrorReply(f"ERR Unrecognized option '{argv[2].decode('utf-8', 'replace')}'")
    return OK


def client_flags(client) -> str:
    """CLIENT LIST's flags, in Redis's order."""
    flags = ""
    if client.monitor:
        flags += "O"
    elif client.replica_since is not None:
        flags += "S"
    if client.is_primary_link:
        flags += "M"
    if client.subscriptions_count():
        flags += "P"
    if client.multi is not None:
        flags += "x"
    if client.blocked is not None:
        flags += "b"
    if client.tracking is not None:
        flags += "t"
        if client.tracking.broken_redirect:
            flags += "R"
        if client.tracking.bcast:
            flags += "B"
    if client.watch_broken:
        flags += "d"
    if client.close_after_reply:
        flags += "c"
    if client.unix_socket:
        flags += "U"
    if client.no_evict:
        flags += "e"
    if client.no_touch:
        flags += "T"
    return flags or "N"


def client_info_line(client) -> str:
    now = time.time()
    channels, patterns, shard_channels = client.subscription_counts()
    query_buffer = client.query_buffer_size
    output = client.output_buffer_size
    fields = [
        ("id", client.id), ("addr", f"{client.peer[0]}:{client.peer[1]}"),
        ("laddr", f"{client.local[0]}:{client.local[1]}"), ("fd", client.fd),
        ("name", client.name.decode("utf-8", "replace")),
        ("age", int(now - client.connected_at)),
        ("idle", int(client.server.clock - client.last_active)),
        ("flags", client_flags(client)),
        ("db", client.db.index), ("sub", channels), ("psub", patterns),
        ("ssub", shard_channels),
        ("multi", len(client.multi) if client.multi is not None else -1),
        ("qbuf", query_buffer),
        ("qbuf-free", max(client.parser.query_buffer_room - query_buffer, 0)),
        ("argv-mem", client.parser.argument_bytes), ("multi-mem", client.queued_bytes if client.multi is not None else 0),
        ("rbs", 16384), ("rbp", 0), ("obl", 0), ("oll", 0), ("omem", output),
        ("tot-mem", client.memory_usage()), ("events", "r" + ("w" if output else "")),
        ("cmd", client.last_command_name), ("user", client.user.name),
        ("redir", client.tracking.redirect if client.tracking is not None else -1),
        ("resp", client.resp), ("lib-name", client.lib_name.decode("utf-8", "replace")),
        ("lib-ver", client.lib_ver.decode("utf-8", "replace")),
    ]
    return " ".join(f"{name}={value}" for name, value in fields)


_CLIENT_TYPES = ("normal", "master", "replica", "slave", "pubsub")
_BAD_CLIENT_ID = ErrorReply("ERR client-id should be greater than 0")


def client_type(client) -> str:
    """The class CLIENT LIST TYPE and CLIENT KILL TYPE select by."""
    if client.replica_since is not None:
        return "replica"
    if client.is_primary_link:
        return "master"
    return "pubsub" if client.subscriptions_count() else "normal"


@subcommand("client", "list", arity=-2, flags="admin noscript loading stale", since="2.4.0",
            summary="Lists open connections.",
            complexity="O(N) where N is the number of client connections",
            syntax="[client-type: TYPE NORMAL | MASTER | REPLICA | PUBSUB] [ID client-id...]")
def client_list(client, argv):
    clients = list(client.kv.clients.values())
    opts = Options(argv, 2)
    while opts:
        word = opts.next_word()
        if word == b"TYPE" and opts:
            kind = opts.value().decode("utf-8", "replace").lower()
            if kind not in _CLIENT_TYPES:
                raise ErrorReply(f"ERR Unknown client type '{kind}'")
            if kind == "slave":
                kind = "replica"
            clients = [c for c in clients if client_type(c) == kind]
        elif word == b"ID" and opts:
            ids = set()
            while opts:
                ids.add(parse_int(opts.value(), ErrorReply("ERR Invalid client ID")))
            clients = [c for c in clients if c.id in ids]
        else:
            raise SYNTAX
    text = "".join(client_info_line(c) + "\n" for c in sorted(clients, key=lambda c: c.id))
    return text.encode()


@subcommand("client", "info", arity=2, flags="noscript loading stale", since="6.2.0",
            summary="Returns information about the connection.", complexity="O(1)")
def client_info(client, argv):
    return (client_info_line(client) + "\n").encode()


@subcommand("client", "kill", arity=-3, flags="admin noscript loading stale", since="2.4.0",
            summary="Terminates open connections.",
            complexity="O(N) where N is the number of client connections",
            syntax="(filter: old-format | (new-filter: [ID client-id] [TYPE type] "
                   "[USER username] [ADDR addr] [LADDR laddr] [SKIPME skipme])...)")
def client_kill(client, argv):
    clients = client.kv.clients.values()
    if len(argv) == 3:                          # the old form: CLIENT KILL addr:port
        address = argv[2].decode("utf-8", "replace")
        for other in list(clients):
            if f"{other.peer[0]}:{other.peer[1]}" == address:
                _kill(client, other)
                return OK
        raise ErrorReply("ERR No such client")
    tests = []
    skip_me = True
    # The filters are read in order, each refused as Redis refuses it when it comes.
    opts = Options(argv, 2)
    while opts:
        name = opts.next_word()
        value = opts.value()
        text = value.decode("utf-8", "replace")
        if name == b"ID":
            wanted = parse_int(value, _BAD_CLIENT_ID)
            if wanted < 1:
                raise _BAD_CLIENT_ID
            tests.append(lambda c, wanted=wanted: c.id == wanted)
        elif name == b"TYPE":
            kind = text.lower()
            if kind not in _CLIENT_TYPES:
                raise ErrorReply(f"ERR Unknown client type '{text}'")
            kind = "replica" if kind == "slave" else kind
            tests.append(lambda c, kind=kind: client_type(c) == kind)
        elif name == b"USER":
            if text not in client.kv.acl.users:
                raise ErrorReply(f"ERR No such user '{text}'")
            tests.append(lambda c, text=text: c.user.name == text)
        elif name == b"ADDR":
            tests.append(lambda c, text=text: f"{c.peer[0]}:{c.peer[1]}" == text)
        elif name == b"LADDR":
            tests.append(lambda c, text=text: f"{c.local[0]}:{c.local[1]}" == text)
        elif name == b"SKIPME":
            if text.lower() not in ("yes", "no"):
                raise SYNTAX
            skip_me = text.lower() == "yes"
        else:
            raise SYNTAX
    killed = 0
    for other in list(clients):
        if skip_me and other is client:
            continue
        if all(test(other) for test in tests):
            _kill(client, other)
            killed += 1
    return killed


def _kill(me, other) -> None:
    if other is me:
        me.close_after_reply = True      # answer first, then go
    else:
        other.abort()                    # as Redis frees it: what it has not read goes too


@subcommand("client", "pause", arity=-3, flags="admin noscript loading stale", since="3.0.0",
            summary="Suspends commands processing.", complexity="O(1)",
            syntax="timeout:integer [mode: WRITE | ALL]")
def client_pause(client, argv):
    milliseconds = parse_int(argv[2], ErrorReply("ERR timeout is not an integer or out of range"))
    if milliseconds < 0:
        raise ErrorReply("ERR timeout is negative")
    mode = "all"
    if len(argv) == 4:
        mode = argv[3].decode("utf-8", "replace").lower()
        if mode not in ("write", "all"):
            raise ErrorReply("ERR CLIENT PAUSE mode must be WRITE or ALL")
    elif len(argv) > 4:
        raise SYNTAX
    client.kv.pause(milliseconds / 1000, mode)
    return OK


@subcommand("client", "unpause", arity=2, flags="admin noscript loading stale", since="6.2.0",
            summary="Resumes processing commands from paused clients.",
            complexity="O(N) Where N is the number of paused clients")
def client_unpause(client, argv):
    client.kv.unpause()
    return OK


def _on_off(arg: bytes) -> bool:
    word = arg.upper()
    if word not in (b"ON", b"OFF"):
        raise SYNTAX
    return word == b"ON"


@subcommand("client", "no-evict", arity=3, flags="admin noscript loading stale", since="7.0.0",
            summary="Sets the client eviction mode of the connection.", complexity="O(1)",
            syntax="[enabled: ON | OFF]")
def client_no_evict(client, argv):
    client.no_evict = _on_off(argv[2])
    return OK


@subcommand("client", "no-touch", arity=3, flags="noscript loading stale", since="7.2.0",
            summary="Controls whether commands sent by the client affect the LRU/LFU of "
                    "accessed keys.", complexity="O(1)", syntax="[enabled: ON | OFF]")
def client_no_touch(client, argv):
    client.no_touch = _on_off(argv[2])
    return OK


@subcommand("client", "reply", arity=3, flags="noscript loading stale", since="3.2.0",
            summary="Instructs the server whether to reply to commands.", complexity="O(1)",
            syntax="[action: ON | OFF | SKIP]")
def client_reply(client, argv):
    mode = argv[2].upper()
    if mode == b"ON":
        # Also cancels a SKIP given just before, so that this OK is sent (as in Redis).
        client.reply_off = client.skip_next_reply = False
        return OK
    if mode == b"OFF":
        client.reply_off = True
        return NO_REPLY
    if mode == b"SKIP":
        client.skip_next_reply = True
        return NO_REPLY
    raise SYNTAX


@subcommand("client", "unblock", arity=-3, flags="admin noscript loading stale",
            since="5.0.0", summary="Unblocks a client blocked by a blocking command from a "
                                   "different connection.",
            complexity="O(log N) where N is the number of client connections",
            syntax="client-id [unblock-type: TIMEOUT | ERROR]")
def client_unblock(client, argv):
    target_id = parse_int(argv[2])
    mode = b"TIMEOUT"
    if len(argv) == 4:
        mode = argv[3].upper()
        if mode not in (b"TIMEOUT", b"ERROR"):
            raise ErrorReply("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
    elif len(argv) > 4:
        raise SYNTAX
    target = client.kv.clients.get(target_id)
    state = getattr(target, "blocked", None)
    if target is None or state is None or not hasattr(state, "timeout_reply"):
        return 0
    reply = (state.timeout_reply if mode == b"TIMEOUT" else
             ErrorReply("UNBLOCKED client unblocked via CLIENT UNBLOCK"))
    client.kv.blocking.wake(target, reply)
    return 1


@subcommand("client", "tracking", arity=-3, flags="noscript loading stale", since="6.0.0",
            summary="Controls server-assisted client-side caching for the connection.",
            complexity="O(1). Some options may introduce additional complexity.",
            syntax="status: ON | OFF [REDIRECT client-id] [PREFIX prefix...] [BCAST] "
                   "[OPTIN] [OPTOUT] [NOLOOP]")
def client_tracking(client, argv):
    tracking = client.kv.tracking
    redirect = 0
    prefixes: list[bytes] = []
    options = set()
    opts = Options(argv, 3)
    # The options are all read before ON or OFF is looked at, as Redis does.
    while opts:
        word = opts.next_word()
        if word == b"REDIRECT" and opts:
            if redirect:
                raise ErrorReply("ERR A client can only redirect to a single other client")
            redirect = parse_int(opts.value())
            if redirect not in client.kv.clients:
                raise ErrorReply("ERR The client ID you want redirect to does not exist")
        elif word in (b"BCAST", b"OPTIN", b"OPTOUT", b"NOLOOP"):
            options.add(word)
        elif word == b"PREFIX" and opts:
            prefixes.append(opts.value())
        else:
            raise SYNTAX
    if not _on_off(argv[2]):
        tracking.disable(client)
        return OK
    bcast = b"BCAST" in options
    mode = client.tracking
    if prefixes and not bcast:
        raise ErrorReply("ERR PREFIX option requires BCAST mode to be enabled")
    if mode is not None and mode.bcast != bcast:
        raise ErrorReply("ERR You can't switch BCAST mode on/off before disabling tracking "
                         "for this client, and then re-enabling it with a different mode.")
    if bcast and options & {b"OPTIN", b"OPTOUT"}:
        raise ErrorReply("ERR OPTIN and OPTOUT are not compatible with BCAST")
    if {b"OPTIN", b"OPTOUT"} <= options:
        raise ErrorReply("ERR You can't specify both OPTIN mode and OPTOUT mode")
    if mode is not None and ((b"OPTIN" in options and mode.optout)
                             or (b"OPTOUT" in options and mode.optin)):
        raise ErrorReply("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking "
                         "for this client, and then re-enabling it with a different mode.")
    if bcast:
        conflict = tracking.prefix_conflict(client, prefixes)
        if conflict is not None:
            raise ErrorReply(conflict)
    tracking.enable(client, redirect, bcast, b"OPTIN" in options, b"OPTOUT" in options,
                    b"NOLOOP" in options, prefixes)
    return OK


@subcommand("client", "caching", arity=3, flags="noscript loading stale", since="6.0.0",
            summary="Instructs the server whether to track the keys in the next request.",
            complexity="O(1)", syntax="mode: YES | NO")
def client_caching(client, argv):
    mode = client.tracking
    if mode is None:
        raise ErrorReply("ERR CLIENT CACHING can be called only when the client is in "
                         "tracking mode with OPTIN or OPTOUT mode enabled")
    word = argv[2].upper()
    if word == b"YES":
        if not mode.optin:
            raise ErrorReply("ERR CLIENT CACHING YES is only valid when tracking is enabled "
                             "in OPTIN mode.")
    elif word == b"NO":
        if not mode.optout:
            raise ErrorReply("ERR CLIENT CACHING NO is only valid when tracking is enabled "
                             "in OPTOUT mode.")
    else:
        raise SYNTAX
    mode.caching = True         # for the next command (see Tracking.command_done)
    return OK


@subcommand("client", "getredir", arity=2, flags="noscript loading stale", since="6.0.0",
            summary="Returns the client ID to which the connection's tracking "
                    "notifications are redirected.", complexity="O(1)")
def client_getredir(client, argv):
    return client.tracking.redirect if client.tracking is not None else -1


@subcommand("client", "trackinginfo", arity=2, flags="noscript loading stale", since="6.2.0",
            summary="Returns information about server-assisted client-side caching for "
                    "the connection.", complexity="O(1)")
def client_trackinginfo(client, argv):
    return client.kv.tracking.info(client)
