"""MIGRATE: move keys to another server, which may be a Redis or another of ours.

    MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE]
            [AUTH password | AUTH2 username password] [KEYS key...]

The source acts as a client of the target. Over one connection it sends, in one write:

    AUTH [username] password        if asked for
    SELECT destination-db           unless this connection already has that database
    RESTORE key ttl payload [REPLACE]    for each key, the payload being DUMP's

then reads one reply line per command sent. Each key the target accepted is deleted
here (unless COPY), and the deletions reach the log and the replicas as one DEL, as
Redis rewrites a MIGRATE. Payloads are Redis's own (commands/serialize.py), so keys move
between our servers and Redis both ways. (A cluster node sends RESTORE-ASKING, to be
accepted in a slot being imported; this server is never in a cluster, so plain RESTORE.)

Like Redis, MIGRATE is synchronous: the whole server waits for the target, each
connect, write and read bounded by `timeout` milliseconds. It uses a plain blocking
socket: during that wait no other client is served, as in Redis, which is why the
timeout matters. (So a server must never MIGRATE to itself: it would wait for its own
reply until the timeout.)

Connections are kept for reuse, one per host:port as written (Redis's
migrate_cached_sockets, which INFO shows): moving many keys one MIGRATE at a time does
not pay a connection each. The cron closes those left unused for 10 seconds.
"""

from __future__ import annotations

import random
import socket
import time
from dataclasses import dataclass

from ...resp import ErrorReply, SimpleString, encode_command
from ..client import OK
from ..notifications import GENERIC
from ..table import command
from .args import SYNTAX, now_ms, parse_int, redact
from .serialize import dump_payload

NOKEY = SimpleString("NOKEY")
IOERR_CONNECTING = ErrorReply("IOERR error or timeout connecting to the client")
MUST_BE_EMPTY = ErrorReply("ERR When using MIGRATE KEYS option, the key argument must be "
                           "set to the empty string")
# What MONITOR and the slow log show instead of a password, as in Redis.

CACHE_SIZE = 64            # at most this many cached connections; a new one evicts one
IDLE_SECONDS = 10          # a cached connection unused this long is closed


# -- the connection cache ---------------------------------------------------------------

class LinkFailure(Exception):
    """The connection to the target broke, or a write or read on it timed out. `reply`
    is MIGRATE's answer if it is not tried again; `retryable` says whether it may be."""

    def __init__(self, timed_out: bool, writing: bool):
        super().__init__("timed out" if timed_out else "connection error")
        # A timeout is not retried: the target is there but slow, and another try would
        # double the wait.
        self.retryable = not timed_out
        stage = "writing" if writing else "reading"
        self.reply = ErrorReply(f"IOERR error or timeout {stage} to target instance")


class TargetLink:
    """One connection to a target, with what we know of its state."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.replies = sock.makefile("rb")
        self.selected_db = -1               # the database SELECTed on it; -1: unknown
        self.last_use = time.monotonic()

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError as error:            # TimeoutError is an OSError
            raise LinkFailure(isinstance(error, TimeoutError), writing=True) from None

    def read_line(self) -> bytes:
        """The next reply line, without its CRLF. The replies awaited here (to AUTH,
        SELECT and RESTORE) are all one line: a status or an error."""
        try:
            line = self.replies.readline()
        except OSError as error:
            raise LinkFailure(isinstance(error, TimeoutError), writing=False) from None
        if not line.endswith(b"\n"):        # the target closed the connection
            raise LinkFailure(timed_out=False, writing=False)
        return line.rstrip(b"\r\n")

    def close(self) -> None:
        self.replies.close()
        self.sock.close()


class MigrationLinks:
    """The cached connections to MIGRATE targets, by "host:port" as MIGRATE was given
    them. The server keeps one of these; its cron calls close_idle."""

    def __init__(self):
        self.links: dict[bytes, TargetLink] = {}

    def __len__(self) -> int:
        return len(self.links)

    def get(self, host: bytes, port: bytes, timeout: float, tls=None) -> TargetLink:
        """The cached connection to host:port, or a new one (over TLS with the
        SSLContext `tls`); IOERR_CONNECTING if it can't be made within `timeout`
        seconds."""
        name = host + b":" + port
        link = self.links.get(name)
        if link is None:
            if len(self.links) == CACHE_SIZE:
                self.links.pop(random.choice(list(self.links))).close()
            try:
                sock = socket.create_connection((host.decode(), int(port)), timeout=timeout)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if tls is not None:
                    sock = tls.wrap_socket(sock)
            except (OSError, ValueError, OverflowError):    # also a bad host or port
                raise IOERR_CONNECTING from None
            link = self.links[name] = TargetLink(sock)
        # The timeout is this MIGRATE's, for every write and read it makes.
        link.sock.settimeout(timeout)
        link.last_use = time.monotonic()
        return link

    def close(self, host: bytes, port: bytes) -> None:
        """Forget the connection to host:port after an error: the next MIGRATE there
        starts afresh (and SELECTs again)."""
        link = self.links.pop(host + b":" + port, None)
        if link is not None:
            link.close()

    def close_idle(self) -> None:
        now = time.monotonic()
        for name, link in list(self.links.items()):
            if now - link.last_use > IDLE_SECONDS:
                del self.links[name]
                link.close()


# -- the command ------------------------------------------------------------------------

@dataclass
class Request:
    copy: bool = False
    replace: bool = False
    username: bytes | None = None
    password: bytes | None = None
    first_key: int = 3                 # where the keys are in argv: the `key` argument,
    key_count: int = 1                 # or those after KEYS


def _parse(argv: list) -> Request:
    """The options after the five fixed arguments. Passwords are redacted from argv once
    read, so that MONITOR and the slow log do not show them."""
    request = Request()
    index = 6
    while index < len(argv):
        word = argv[index].upper()
        remaining = len(argv) - 1 - index
        if word == b"COPY":
            request.copy = True
        elif word == b"REPLACE":
            request.replace = True
        elif word == b"AUTH":
            if remaining < 1:
                raise SYNTAX
            index += 1
            request.password, = redact(argv, index, index + 1)
        elif word == b"AUTH2":
            if remaining < 2:
                raise SYNTAX
            request.username, request.password = redact(argv, index + 1, index + 3)
            index += 2
        elif word == b"KEYS":
            if argv[3]:
                raise MUST_BE_EMPTY
            request.first_key, request.key_count = index + 1, remaining
            break                           # all the arguments left are keys
        else:
            raise SYNTAX
        index += 1
    return request


def _keys_option(argv: list, fixed: list[int]) -> list[int]:
    """The keys, for COMMAND GETKEYS and ACL checks, found as Redis finds them: the
    `key` argument at 3 (the fixed position), or, when it is the empty string, the keys
    after KEYS (skipping the arguments of AUTH and AUTH2)."""
    if argv[3]:
        return fixed
    skip = {b"AUTH": 1, b"AUTH2": 2}
    index = 6
    while index < len(argv):
        word = argv[index].upper()
        if word == b"KEYS":
            return list(range(index + 1, len(argv)))
        index += 1 + skip.get(word, 0)
    return fixed


@command("migrate", arity=-6, flags="write movablekeys", keys=(3, 3, 1),
         option_keys=_keys_option, group="generic", since="2.6.0", acl="@dangerous",
         summary="Atomically transfer a key from a Redis instance to another one.",
         complexity="This command actually executes a DUMP+DEL in the source instance, and "
                    "a RESTORE in the target instance. See the pages of these commands for "
                    "time complexity. Also an O(N) data transfer between the two instances "
                    "is performed.",
         syntax="host port:integer (key_or_empty_string: key | empty_string:string) "
                "destination-db timeout:integer [COPY] [REPLACE] "
                "[authentication: AUTH password | AUTH2 username password] [KEYS key...]")
def migrate(client, argv):
    # The checks come in Redis's order, which decides the error when several apply.
    request = _parse(argv)
    timeout = parse_int(argv[5])
    db_index = parse_int(argv[4])
    if timeout <= 0:
        timeout = 1000
    db = client.db
    keys = [key for key in argv[request.first_key:request.first_key + request.key_count]
            if db.get(key) is not None]      # a read: expired keys go, hits are counted
    if not keys:
        # Not an error: usually a key that expired meanwhile, nothing to move.
        return NOKEY
    kv = client.kv
    links = kv.migrate_links
    host, port = argv[1], argv[2]
    tls = kv.tls.client if kv.config["tls-cluster"] else None     # as Redis decides it
    # A cached connection the target has since closed only shows when used: then one
    # more try, on a new connection.
    may_retry = True
    while True:
        link = links.get(host, port, timeout / 1000, tls)
        try:
            return _transfer(client, link, request, keys, db_index)
        except LinkFailure as failure:
            links.close(host, port)
            if not (failure.retryable and may_retry):
                raise failure.reply from None
            may_retry = False


def _transfer(client, link: TargetLink, request: Request, keys: list, db_index: int):
    """Send the commands for `keys` over `link` and act on the replies. LinkFailure if
    the connection fails before anything was restored, which may then be retried."""
    db = client.db
    commands = []
    if request.password is not None:
        commands.append([b"AUTH", request.password] if request.username is None
                        else [b"AUTH", request.username, request.password])
    select = link.selected_db != db_index
    if select:
        commands.append([b"SELECT", b"%d" % db_index])
    sent = []
    for key in keys:
        expires_at = db.data[key].expires_at
        ttl = 0                                 # RESTORE's "no expiry"
        if expires_at:
            ttl = expires_at - now_ms()
            if ttl < 0:
                continue                        # expired while we were busy
            ttl = max(ttl, 1)                   # 0 would mean no expiry
        restore = [b"RESTORE", key, b"%d" % ttl, dump_payload(db.data[key].value)]
        if request.replace:
            restore.append(b"REPLACE")
        commands.append(restore)
        sent.append(key)
    link.send(b"".join(encode_command(args) for args in commands))

    # AUTH's and SELECT's replies first: their errors explain RESTORE's (NOAUTH...).
    setup_error = None
    for _ in range(len(commands) - len(sent)):
        line = link.read_line()
        if setup_error is None and line.startswith(b"-"):
            setup_error = line
    target_error = None
    moved = []
    failure = None
    for done, key in enumerate(sent):
        try:
            line = link.read_line()
        except LinkFailure as broken:
            if done == 0:
                raise                           # nothing happened yet: may be retried
            failure = broken
            failure.retryable = False           # keys moved: another try would redo them
            break
        error = setup_error or (line if line.startswith(b"-") else None)
        if error is not None:
            if target_error is None:
                target_error = ErrorReply("ERR Target instance replied with error: "
                                          + error[1:].decode("utf-8", "replace"))
                link.selected_db = -1           # the SELECT may not have happened
        elif not request.copy:
            db.delete(key)
            db.notify(GENERIC, "del", key)
            moved.append(key)
    if moved:
        client.kv.also_propagate(db.index, [b"DEL", *moved])
    if failure is not None:
        # The target's error, if it sent one before breaking, says more than IOERR.
        if target_error is not None:
            failure.reply = target_error
        raise failure
    if target_error is not None:
        raise target_error
    link.selected_db = db_index
    return OK

