"""Passwords, ACL users and protected mode, the same on our server and real Redis."""

import socket
import subprocess

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from .conftest import raw


@pytest.fixture(autouse=True)
def only_the_default_user(r):
    """FLUSHALL does not touch users: remove the ones a test made."""
    yield
    for name in r.acl_users():
        name = name if isinstance(name, str) else name.decode()
        if name != "default":
            r.acl_deluser(name)


@pytest.fixture
def password(r):
    r.config_set("requirepass", "s3cret")
    yield "s3cret"
    authed = connect_with(r, password="s3cret")
    authed.config_set("requirepass", "")
    authed.close()


def refusal(version: tuple, user: str, reason: str, refused: str, dryrun: bool = False) -> str:
    """How the server words a refusal: an error's text (without NOPERM), or ACL DRYRUN's
    answer. Redis 7.2 names the user, and the key or channel only in DRYRUN's; 7.0 said
    "this user" and named none."""
    if version >= (7, 2):
        if reason == "command":
            return f"User {user} has no permissions to run the '{refused}' command"
        if dryrun:
            return f"User {user} has no permissions to access the '{refused}' {reason}"
        return f"No permissions to access a {reason}"
    who = "This user" if dryrun else "this user"
    if reason == "command":
        return f"{who} has no permissions to run the '{refused}' command"
    if dryrun:
        return f"{who} has no permissions to access the '{refused}' {reason}"
    return f"this user has no permissions to access one of the {reason}s used as arguments"


def connect_with(r, **options) -> redis.Redis:
    kwargs = r.connection_pool.connection_kwargs
    return redis.Redis(host=kwargs["host"], port=kwargs["port"],
                       protocol=kwargs.get("protocol", 2), retry=Retry(NoBackoff(), 0), **options)


def test_requirepass(r, server, password):
    assert raw(server, b"GET k\r\n") == b"-NOAUTH Authentication required.\r\n"
    assert raw(server, b"AUTH wrong\r\n") == (
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n")
    assert raw(server, b"AUTH s3cret\r\nGET k\r\n", read_until=b"$-1\r\n") == b"+OK\r\n$-1\r\n"
    assert raw(server, b"AUTH default s3cret\r\nPING\r\n", read_until=b"PONG\r\n") == b"+OK\r\n+PONG\r\n"
    assert raw(server, b"HELLO 3 AUTH default s3cret\r\n", read_until=b"modules").startswith(b"%7")
    assert raw(server, b"HELLO 3\r\n").startswith(b"-NOAUTH HELLO must be called")
    client = connect_with(r, password=password)          # redis-py: AUTH or HELLO AUTH
    assert client.set("k", "v") and client.get("k") == b"v"
    client.close()


def test_strangers_may_send_only_small_commands(r, server, password):
    # Before AUTH, at most 10 arguments of at most 16 KB each: a guard against memory
    # use by whoever can connect. The connection is closed after the error.
    assert raw(server, b"*100\r\n") == b"-ERR Protocol error: unauthenticated multibulk length\r\n"
    assert raw(server, b"*1\r\n$100000000\r\n") == (
        b"-ERR Protocol error: unauthenticated bulk length\r\n")
    # AUTH lifts the limits at once, even for what came in the same read.
    value = b"v" * 20000
    request = (b"*2\r\n$4\r\nAUTH\r\n$6\r\ns3cret\r\n"
               b"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$20000\r\n" + value + b"\r\n")
    assert raw(server, request, read_until=b"+OK\r\n+OK\r\n") == b"+OK\r\n+OK\r\n"


def test_acl_user_rights(r, server_version):
    assert r.acl_setuser("alice", enabled=True, passwords=["+pw"], keys=["app:*"],
                         commands=["+@read", "+set", "-@dangerous", "+acl|whoami"]) is True
    alice = connect_with(r, username="alice", password="pw")
    assert alice.set("app:1", "x")
    assert alice.get("app:1") == b"x"
    with pytest.raises(redis.exceptions.NoPermissionError) as refused:
        alice.get("other")
    assert str(refused.value) == refusal(server_version, "alice", "key", "other")
    with pytest.raises(redis.exceptions.NoPermissionError) as refused:
        alice.delete("app:1")
    assert str(refused.value) == refusal(server_version, "alice", "command", "del")
    with pytest.raises(redis.exceptions.NoPermissionError) as refused:
        alice.publish("news", "x")
    assert str(refused.value) == refusal(server_version, "alice", "command", "publish")
    assert alice.acl_whoami() in ("alice", b"alice")
    users = r.acl_users()
    assert {u if isinstance(u, str) else u.decode() for u in users} >= {"default", "alice"}
    details = r.acl_getuser("alice")
    assert "on" in details["flags"] and details["keys"] in (["~app:*"], "~app:*", [b"~app:*"])
    assert any("alice" in (line if isinstance(line, str) else line.decode())
               for line in r.acl_list())
    assert r.acl_deluser("alice") == 1
    with pytest.raises(redis.ConnectionError):
        alice.get("app:1")                                # deleted: disconnected
    alice.close()


def test_acl_errors_and_categories(r):
    with pytest.raises(redis.ResponseError, match="Error in ACL SETUSER modifier 'nonsense'"):
        r.execute_command("ACL", "SETUSER", "bob", "nonsense")
    with pytest.raises(redis.ResponseError, match="Unknown command or category name in ACL"):
        r.execute_command("ACL", "SETUSER", "bob", "+@nothing")
    assert r.execute_command("ACL", "USERS") in ([b"default"], ["default"])   # nothing created
    with pytest.raises(redis.ResponseError, match="The 'default' user cannot be removed"):
        r.acl_deluser("default")
    categories = [c if isinstance(c, str) else c.decode() for c in r.acl_cat()]
    assert {"read", "write", "string", "keyspace", "dangerous"} <= set(categories)
    assert b"get" in [c if isinstance(c, bytes) else c.encode() for c in r.acl_cat("string")]


def test_every_redis_category_is_known(r):
    """Redis 7's 21 categories are valid in rules even where a category's commands are
    missing (ours has no GEO commands): -@geo must not be an error."""
    categories = {c if isinstance(c, str) else c.decode() for c in r.acl_cat()}
    assert {"bitmap", "hyperloglog", "geo", "stream", "scripting"} <= categories
    assert r.acl_setuser("catuser", enabled=True, nopass=True,
                         commands=["+@all", "-@geo", "-@bitmap", "-@hyperloglog"])
    assert r.acl_deluser("catuser") == 1


def test_disabled_user_cannot_log_in(r, server):
    r.acl_setuser("off-user", enabled=False, passwords=["+pw"], commands=["+@all"], keys=["*"])
    assert raw(server, b"AUTH off-user pw\r\n") == (
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n")
    r.acl_deluser("off-user")


def outside_address() -> str | None:
    """An address of this machine that is not loopback, if it has one."""
    try:
        words = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()
    except OSError:
        return None
    return next((w for w in words if ":" not in w and not w.startswith("127.")), None)


def test_protected_mode_refuses_outside_clients_without_a_password(start):
    address = outside_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    server = start("--bind", f"127.0.0.1 {address}")
    with socket.create_connection((address, server.port), timeout=5) as sock:
        sock.sendall(b"PING\r\n")
        reply = sock.recv(4096)
    assert reply.startswith(b"-DENIED Redis is running in protected mode")
    local = redis.Redis(host="127.0.0.1", port=server.port)
    assert local.ping()
    local.config_set("requirepass", "pw")                 # with a password: allowed in
    with socket.create_connection((address, server.port), timeout=5) as sock:
        sock.sendall(b"PING\r\n")
        assert sock.recv(4096) == b"-NOAUTH Authentication required.\r\n"


def test_acl_log_records_refusals(r, server_version):
    """ACL LOG: refused commands, keys and channels, failed AUTHs and refusals inside
    scripts, newest first; a repeat counts on its entry; RESET empties the log."""
    r.acl_log_reset()
    r.acl_setuser("logged", enabled=True, passwords=["+pw"], keys=["foo*"],
                  channels=["news"], commands=["+@connection", "+get", "+eval", "+publish"])
    user = connect_with(r, username="logged", password="pw")
    with pytest.raises(redis.exceptions.NoPermissionError):
        user.set("foo", 1)
    for _ in range(2):
        with pytest.raises(redis.exceptions.NoPermissionError):
            user.get("bar")
    with pytest.raises(redis.exceptions.NoPermissionError):
        user.publish("sports", "x")
    with pytest.raises(redis.ResponseError) as refused:
        user.eval("return redis.call('get', 'zzz')", 0)
    if server_version >= (7, 2):
        assert str(refused.value).startswith(
            "ACL failure in script: No permissions to access a key")
    else:
        assert "can't access at least one of the keys" in str(refused.value)
    with pytest.raises(redis.AuthenticationError):
        connect_with(r, username="logged", password="wrong").ping()
    user.close()

    def text(value):
        return value.decode() if isinstance(value, bytes) else value

    entries = [{key: text(value) for key, value in entry.items()}
               for entry in r.acl_log()]
    seen = [(e["reason"], e["context"], e["object"], e["username"], e["count"])
            for e in entries]
    hello = r.connection_pool.connection_kwargs.get("protocol", 2) == 3   # AUTH inside HELLO
    assert seen == [("auth", "toplevel", "HELLO" if hello else "AUTH", "logged", 1),
                    ("key", "lua", "zzz", "logged", 1),
                    ("channel", "toplevel", "sports", "logged", 1),
                    ("key", "toplevel", "bar", "logged", 2),
                    ("command", "toplevel", "set", "logged", 1)]
    assert all("client-info" in e and float(e["age-seconds"]) >= 0 for e in entries)
    assert len(r.acl_log(count=2)) == 2
    assert r.acl_log_reset()
    assert r.acl_log() == []


def test_key_patterns_cover_store_destinations(r):
    """A user limited to s* keys may not SORT or GEORADIUS into another key."""
    r.acl_setuser("limited", enabled=True, nopass=True, keys=["s*"], commands=["+@all"])
    user = connect_with(r, username="limited", password="x")
    assert user.sort("s1", store="s2") == 0
    with pytest.raises(redis.exceptions.NoPermissionError):
        user.sort("s1", store="other")
    with pytest.raises(redis.exceptions.NoPermissionError):
        user.georadius("s1", 1, 2, 3, unit="km", store="other")
    user.close()


def test_acl_dryrun(r, server_version):
    r.acl_setuser("dry", enabled=True, nopass=True, keys=["a*"], commands=["+get"])
    assert r.acl_dryrun("dry", "get", "a1") in (b"OK", "OK", True)
    assert _text(r.acl_dryrun("dry", "get", "b")) == refusal(server_version, "dry", "key", "b",
                                                            dryrun=True)
    assert _text(r.acl_dryrun("dry", "set", "a1", "1")) == refusal(server_version, "dry",
                                                                  "command", "set",
                                                                  dryrun=True)
    with pytest.raises(redis.ResponseError, match="User 'nobody' not found"):
        r.acl_dryrun("nobody", "get", "a")
    with pytest.raises(redis.ResponseError, match="Command 'nosuch' not found"):
        r.acl_dryrun("dry", "nosuch", "a")
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'get'"):
        r.acl_dryrun("dry", "get")


def _text(value):
    return value.decode() if isinstance(value, bytes) else value


def test_acl_setuser_validates_names_hashes_and_patterns(r):
    with pytest.raises(redis.ResponseError, match="Usernames can't contain spaces"):
        r.execute_command("ACL", "SETUSER", "a b")
    with pytest.raises(redis.ResponseError, match="password hash must be exactly 64"):
        r.execute_command("ACL", "SETUSER", "bob", "#" + "A" * 64)
    with pytest.raises(redis.ResponseError, match="password hash must be exactly 64"):
        r.execute_command("ACL", "SETUSER", "bob", "!abc")
    with pytest.raises(redis.ResponseError, match="password you are trying to remove"):
        r.execute_command("ACL", "SETUSER", "bob", "<never-set")
    with pytest.raises(redis.ResponseError, match="Try 'resetkeys'"):
        r.execute_command("ACL", "SETUSER", "bob", "allkeys", "~foo")
    with pytest.raises(redis.ResponseError, match="Try 'resetchannels'"):
        r.execute_command("ACL", "SETUSER", "bob", "allchannels", "&foo")
    with pytest.raises(redis.ResponseError, match="first-arg of a subcommand is not supported"):
        r.execute_command("ACL", "SETUSER", "bob", "+config|get|appendonly")
    with pytest.raises(redis.ResponseError, match="Unknown command or category"):
        r.execute_command("ACL", "SETUSER", "bob", "+get|a|b")
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'CAT'"):
        r.execute_command("ACL", "CAT", "string", "hash")


def test_acl_rules_read_back(r):
    r.execute_command("ACL", "SETUSER", "bob", "on", "~k1", "&foo", "+get")
    assert [_text(line) for line in r.acl_list() if b"bob" in _bytes(line)] == [
        "user bob on ~k1 resetchannels &foo -@all +get"]
    r.execute_command("ACL", "SETUSER", "carl", "+memory|doctor")
    assert _commands(r, "carl") == "-@all +memory|doctor"
    r.execute_command("ACL", "SETUSER", "carl", "+memory")     # engulfs the subcommand
    assert _commands(r, "carl") == "-@all +memory"
    r.execute_command("ACL", "SETUSER", "carl", "+@all", "+client|id")
    assert _commands(r, "carl") == "+@all"


def _commands(r, user: str) -> str:
    """ACL GETUSER's command rules, as the server wrote them (redis-py's reading of the
    reply rewrites them, so it is read plain)."""
    conn = r.connection_pool.get_connection()
    try:
        conn.send_command("ACL", "GETUSER", user)
        reply = conn.read_response()
    finally:
        r.connection_pool.release(conn)
    fields = reply if isinstance(reply, dict) else dict(zip(reply[::2], reply[1::2]))
    return _text(fields.get(b"commands", fields.get("commands")))


def _bytes(value):
    return value.encode() if isinstance(value, str) else value


def test_acl_first_argument_rule(r):
    r.execute_command("ACL", "SETUSER", "dbzero", "on", "nopass", "-@all", "+select|0")
    assert "+select|0" in _commands(r, "dbzero")
    client = connect_with(r, username="dbzero", password="x")
    assert client.execute_command("SELECT", "0")
    with pytest.raises(redis.exceptions.NoPermissionError, match="select"):
        client.execute_command("SELECT", "1")
    client.close()


def test_shard_channels_are_checked_as_channels(r, server_version):
    r.execute_command("ACL", "SETUSER", "ps", "on", "nopass", "+@pubsub", "resetchannels",
                      "&allowed:*")
    client = connect_with(r, username="ps", password="x")
    assert client.execute_command("SPUBLISH", "allowed:1", "hi") == 0
    with pytest.raises(redis.exceptions.NoPermissionError) as refused:
        client.execute_command("SPUBLISH", "other", "hi")
    assert str(refused.value) == refusal(server_version, "ps", "channel", "other")
    client.close()


def test_subscribers_are_disconnected_when_their_channel_is_revoked(r, server):
    r.execute_command("ACL", "SETUSER", "sub", "on", ">pw", "+@all", "resetchannels", "&news")
    payload = b"AUTH sub pw\r\nSUBSCRIBE news\r\n"
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(payload)
        data = b""
        while b"news" not in data:
            data += sock.recv(65536)
        r.execute_command("ACL", "SETUSER", "sub", "resetchannels", "&sports")
        while True:                                   # the server closes the connection
            chunk = sock.recv(65536)
            if not chunk:
                break


def test_exec_checks_rights_again_and_logs_the_multi_context(r, other):
    r.execute_command("ACL", "LOG", "RESET")
    r.execute_command("ACL", "SETUSER", "tx", "on", ">pw", "~*", "+multi", "+exec", "+incr",
                      "+acl")
    client = connect_with(r, username="tx", password="pw")
    client_conn = client.connection_pool.get_connection()
    client_conn.send_command("MULTI")
    assert _text(client_conn.read_response()) == "OK"
    client_conn.send_command("INCR", "counter")
    assert _text(client_conn.read_response()) == "QUEUED"
    r.execute_command("ACL", "SETUSER", "tx", "-incr")
    client_conn.send_command("EXEC")
    replies = client_conn.read_response()
    assert isinstance(replies[0], redis.ResponseError)
    assert "ACLs rules changed" in str(replies[0])
    entry = r.acl_log()[0]
    assert (_text(entry["context"]), _text(entry["object"])) == ("multi", "incr")
    client_conn.send_command("MULTI")
    client_conn.read_response()
    client_conn.send_command("INCR", "counter")
    with pytest.raises(redis.exceptions.NoPermissionError):
        client_conn.read_response()
    assert _text(r.acl_log()[0]["context"]) == "multi"       # refused while queuing
    client.connection_pool.release(client_conn)
    client.close()


def test_new_connections_need_auth_when_the_default_user_is_off(r, server):
    r.execute_command("ACL", "SETUSER", "admin", "on", ">pw", "+@all", "~*", "&*")
    r.execute_command("ACL", "SETUSER", "default", "off")
    try:
        reply = raw(server, b"PING\r\n")
        assert reply.startswith(b"-NOAUTH")
    finally:
        admin = connect_with(r, username="admin", password="pw")
        admin.execute_command("ACL", "SETUSER", "default", "on")
        admin.close()


def test_read_and_write_key_permissions(r, server_version):
    """%R~ and %W~ patterns: a key is allowed when a pattern grants what the command
    does to it (read for an access, write for an insert, delete or update)."""
    r.acl_setuser("rw", enabled=True, nopass=True, commands=["+@all"],
                  keys=["%R~read*", "%W~write*", "~both*"])
    allowed = b"OK", "OK", True
    assert r.acl_dryrun("rw", "get", "read1") in allowed
    refused = refusal(server_version, "rw", "key", "write1", dryrun=True)
    assert _text(r.acl_dryrun("rw", "get", "write1")) == refused
    assert r.acl_dryrun("rw", "lpush", "write1", "v") in allowed    # RW insert: no read
    assert _text(r.acl_dryrun("rw", "incr", "write1")) == refused     # RW access update
    assert r.acl_dryrun("rw", "copy", "read1", "write1") in allowed
    assert r.acl_dryrun("rw", "incr", "both1") in allowed
    assert r.acl_dryrun("rw", "exists", "write1") in allowed        # RO, no access
    keys = r.acl_getuser("rw")["keys"]                  # redis-py may split it in a list
    assert (keys if isinstance(keys, str) else " ".join(map(_text, keys))) == (
        "%R~read* %W~write* ~both*")


def test_selectors(r, server_version):
    """Rules in parentheses add a selector: a call is allowed when one selector allows
    all of it; the refusal told is the most relevant of all the selectors'."""
    r.execute_command("ACL", "SETUSER", "sel", "on", "nopass", "+get", "~app*",
                      "(+set %W~app* &chan)", "(+lpush", "~list*)")
    allowed = b"OK", "OK", True
    assert r.acl_dryrun("sel", "get", "app1") in allowed
    assert r.acl_dryrun("sel", "set", "app1", "v") in allowed
    assert r.acl_dryrun("sel", "lpush", "list1", "v") in allowed
    assert _text(r.acl_dryrun("sel", "set", "other", "v")) == refusal(
        server_version, "sel", "key", "other", dryrun=True)
    assert _text(r.acl_dryrun("sel", "del", "app1")) == refusal(
        server_version, "sel", "command", "del", dryrun=True)
    line = next(_text(line) for line in r.acl_list() if _text(line).startswith("user sel "))
    assert line == ("user sel on nopass ~app* resetchannels -@all +get "
                    "(%W~app* resetchannels &chan -@all +set) "
                    "(~list* resetchannels -@all +lpush)")
    raw_user = r.execute_command("ACL", "GETUSER", "sel")
    details = raw_user if isinstance(raw_user, dict) else dict(zip(raw_user[::2], raw_user[1::2]))
    selectors = details.get("selectors", details.get(b"selectors"))
    assert len(selectors) == 2
    r.execute_command("ACL", "SETUSER", "sel", "clearselectors")
    assert _text(r.acl_dryrun("sel", "set", "app1", "v")) == refusal(
        server_version, "sel", "command", "set", dryrun=True)
    with pytest.raises(redis.ResponseError, match="Unmatched parenthesis in acl selector"):
        r.execute_command("ACL", "SETUSER", "sel", "(+get ~x")
    with pytest.raises(redis.ResponseError, match=r"modifier '\(nonsense\)': Syntax error"):
        r.execute_command("ACL", "SETUSER", "sel", "(nonsense)")
    with pytest.raises(redis.ResponseError, match="Syntax error"):
        r.execute_command("ACL", "SETUSER", "sel", "%X~app*")
