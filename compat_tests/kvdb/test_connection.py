"""Connection commands and the handshakes real clients perform."""

import socket
import threading
import time

import pytest
import redis

from fromscratch.resp import encode_command

from .conftest import connect, raw


def test_ping_echo(r, server):
    assert r.ping() is True
    assert r.echo("hello") == b"hello"
    assert raw(server, b"PING msg\r\n", read_until=b"msg\r\n") == b"$3\r\nmsg\r\n"
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'ping' command"):
        r.execute_command("PING", "a", "b")


def test_hello_replies(r, server, protocol):
    reply = r.execute_command("HELLO", str(protocol))      # RESP3: a map; RESP2: a flat array
    if isinstance(reply, list):
        reply = dict(zip(reply[::2], reply[1::2]))
    reply = {k.decode() if isinstance(k, bytes) else k: v for k, v in reply.items()}
    assert reply["server"] == b"redis"
    assert reply["proto"] == protocol
    assert reply["mode"] == b"standalone" and reply["role"] == b"master"
    assert reply["modules"] == []
    assert isinstance(reply["id"], int)
    with pytest.raises(redis.ResponseError, match="NOPROTO unsupported protocol version"):
        r.execute_command("HELLO", "4")
    with pytest.raises(redis.ResponseError, match="Protocol version is not an integer"):
        r.execute_command("HELLO", "x")
    with pytest.raises(redis.ResponseError, match="Syntax error in HELLO option 'foo'"):
        r.execute_command("HELLO", "3", "foo")


def test_raw_hello3_and_inline_ping(server):
    data = raw(server, b"HELLO 3\r\n", read_until=b"modules")
    assert data.startswith(b"%7\r\n")
    assert raw(server, b"PING\r\n") == b"+PONG\r\n"
    assert raw(server, b"ECHO \"two words\"\r\n", read_until=b"words\r\n") == b"$9\r\ntwo words\r\n"


def test_client_name_and_id(r):
    assert r.client_setname("worker-1") is True
    name = r.client_getname()                  # redis-py decodes it in RESP2 only
    assert (name.decode() if isinstance(name, bytes) else name) == "worker-1"
    assert isinstance(r.client_id(), int)
    with pytest.raises(redis.ResponseError, match="Client names cannot contain spaces"):
        r.client_setname("bad name")
    info = r.client_info()
    assert info["name"] == "worker-1"
    assert info["cmd"] == "client|info"


def test_client_list_finds_itself(r):
    r.client_setname("finder")
    me = [c for c in r.client_list() if c["name"] == "finder"]
    assert len(me) == 1
    for field in ("id", "addr", "laddr", "fd", "age", "idle", "flags", "db", "cmd", "resp"):
        assert field in me[0]
    assert r.client_list(_type="normal")
    with pytest.raises(redis.ResponseError, match="Unknown client type 'foo'"):
        r.execute_command("CLIENT", "LIST", "TYPE", "foo")


def test_client_setinfo_like_redis_py(r, server_version):
    if server_version < (7, 2):
        pytest.skip("CLIENT SETINFO arrived in Redis 7.2")
    assert r.execute_command("CLIENT", "SETINFO", "LIB-NAME", "mylib") == b"OK"
    assert r.execute_command("CLIENT", "SETINFO", "LIB-VER", "1.2") == b"OK"
    info = r.client_info()
    assert info["lib-name"] == "mylib" and info["lib-ver"] == "1.2"
    with pytest.raises(redis.ResponseError, match="Unrecognized option 'x'"):
        r.execute_command("CLIENT", "SETINFO", "x", "y")


def test_client_kill(r, server, protocol):
    victim = connect(server, protocol)
    victim.client_setname("victim")
    victim_id = victim.client_id()
    assert r.client_kill_filter(_id=victim_id) == 1
    time.sleep(0.05)
    assert victim_id not in [int(c["id"]) for c in r.client_list()]
    with pytest.raises(redis.ResponseError, match="No such client"):
        r.client_kill("1.2.3.4:5")
    victim.close()


def test_a_killed_client_goes_at_once_with_its_unread_replies(r, server):
    # A client that stopped reading is dropped with what was waiting for it, as Redis
    # frees it, not kept until it reads its replies (it may never).
    r.set("big", "x" * 1_000_000)
    with socket.create_connection((server.host, server.port)) as stuck:
        stuck.sendall(encode_command(["CLIENT", "SETNAME", "stuck"])
                      + encode_command(["GET", "big"]) * 30)
        deadline = time.time() + 10
        while not any(c["name"] == "stuck" and int(c["omem"]) > 0 for c in r.client_list()):
            assert time.time() < deadline, "the replies did not pile up"
            time.sleep(0.05)
        ip, port = stuck.getsockname()[:2]
        r.execute_command("CLIENT", "KILL", "ADDR", f"{ip}:{port}")
        assert "stuck" not in [c["name"] for c in r.client_list()]


def test_client_reply_off_and_skip(server):
    data = raw(server, b"CLIENT REPLY OFF\r\nSET a 1\r\nCLIENT REPLY ON\r\nGET a\r\n",
               read_until=b"1\r\n")
    assert data == b"+OK\r\n$1\r\n1\r\n"
    data = raw(server, b"CLIENT REPLY SKIP\r\nSET a 2\r\nGET a\r\n", read_until=b"2\r\n")
    assert data == b"$1\r\n2\r\n"


def test_client_reply_on_cancels_a_pending_skip(server):
    data = raw(server, b"CLIENT REPLY SKIP\r\nCLIENT REPLY ON\r\nPING\r\n", read_until=b"PONG\r\n")
    assert data == b"+OK\r\n+PONG\r\n"


def test_qbuf_holds_the_commands_of_the_read_being_run(server):
    # Redis empties a query buffer once all the commands read have run: while they
    # run, CLIENT INFO counts them all (26 bytes each here).
    command = b"*2\r\n$6\r\nclient\r\n$4\r\ninfo\r\n"
    assert b" qbuf=26 " in raw(server, command, read_until=b"\n\r\n")
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(command * 2)                   # one read: both run, then it is emptied
        data = b""
        while data.count(b"\n\r\n") < 2:
            data += sock.recv(65536)
    assert data.count(b" qbuf=52 ") == 2


def test_client_list_shows_the_last_command_looked_up_even_if_refused(server, r):
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(b"CLIENT SETNAME refused\r\n")
        assert sock.recv(100) == b"+OK\r\n"
        for command, shown in ((b"SET a", "set"), (b"NOSUCHCOMMAND", "NULL"),
                               (b"CLIENT NOSUCHSUBCOMMAND", "NULL"), (b"CLIENT", "client")):
            sock.sendall(command + b"\r\n")
            assert sock.recv(1000).startswith(b"-ERR")
            [entry] = [c for c in r.client_list() if c["name"] == "refused"]
            assert entry["cmd"] == shown, command


@pytest.mark.parametrize("args, message", [
    (("ID", "-1"), "client-id should be greater than 0"),
    (("ID", "0"), "client-id should be greater than 0"),
    (("ID", "str"), "client-id should be greater than 0"),
    (("ID", "-1", "extra"), "client-id should be greater than 0"),   # read in order
    (("ID", "10", "extra"), "syntax error"),
    (("USER", "nobody-here"), "No such user 'nobody-here'"),
    (("TYPE", "wrong"), "Unknown client type 'wrong'"),
    (("SKIPME", "maybe"), "syntax error"),
])
def test_client_kill_filter_errors(r, args, message):
    with pytest.raises(redis.ResponseError) as error:
        r.execute_command("CLIENT", "KILL", *args)
    assert str(error.value) == message


def test_client_kill_by_user(r, server, protocol):
    victim = connect(server, protocol)
    victim.ping()
    assert r.client_kill_filter(user="default") >= 1   # everyone but the caller
    assert r.ping()
    victim.close()


def test_monitor_shows_commands_once_run(server):
    # As Redis's call() does: a command once it has run (SELECT in its new database,
    # EXEC after its commands), a script before the commands it runs, and no
    # administrative command.
    with socket.create_connection((server.host, server.port), timeout=5) as monitor:
        monitor.sendall(b"MONITOR\r\n")
        assert monitor.recv(100) == b"+OK\r\n"
        raw(server, b"EVAL \"return redis.call('get', 'k')\" 0\r\nCONFIG GET port\r\n"
                    b"MULTI\r\nSET k v\r\nSELECT 3\r\nEXEC\r\nSELECT 0\r\n",
            read_until=b"+OK\r\n+OK\r\n")
        lines = b""
        while lines.count(b"\r\n") < 7:
            lines += monitor.recv(65536)
    shown = [line.split(b"] ", 1)[1] for line in lines.splitlines()]
    databases = [line.split(b"[", 1)[1].split(b" ", 1)[0] for line in lines.splitlines()]
    assert shown == [b'"EVAL" "return redis.call(\'get\', \'k\')" "0"', b'"get" "k"',
                     b'"MULTI"', b'"SET" "k" "v"', b'"SELECT" "3"', b'"EXEC"', b'"SELECT" "0"']
    assert databases == [b"0", b"0", b"0", b"0", b"3", b"3", b"0"]


def test_client_pause_write_holds_writes_only(r, server, protocol):
    other = connect(server, protocol)
    r.client_pause(300, all=False)
    started = time.monotonic()
    assert other.get("k") is None                      # reads go through
    read_time = time.monotonic() - started
    other.set("k", "v")                                # writes wait for the pause
    write_time = time.monotonic() - started
    assert read_time < 0.25 <= write_time
    assert r.get("k") == b"v"
    other.close()


def test_client_unpause_releases_at_once(r, server, protocol):
    other = connect(server, protocol)
    r.client_pause(10000, all=False)
    done = threading.Event()
    thread = threading.Thread(target=lambda: (other.set("k", "v"), done.set()))
    thread.start()
    time.sleep(0.1)
    assert not done.is_set()
    r.client_unpause()
    assert done.wait(5)
    thread.join()
    other.close()


def held_by_a_write_pause(r, other, *command) -> bool:
    """Whether `command` from `other` waits while `r` holds a WRITE pause."""
    done = threading.Event()
    thread = threading.Thread(target=lambda: (other.execute_command(*command), done.set()))
    r.client_pause(10000, all=False)
    try:
        thread.start()
        held = not done.wait(0.3)
    finally:
        r.client_unpause()
    thread.join(5)
    return held


def test_a_write_pause_judges_scripts_by_their_declared_flags(r, server, protocol):
    other = connect(server, protocol)
    try:
        assert not held_by_a_write_pause(r, other, "EVAL", "#!lua flags=no-writes\nreturn 1", 0)
        assert held_by_a_write_pause(r, other, "EVAL", "#!lua\nreturn 2", 0)
        assert held_by_a_write_pause(r, other, "EVAL", "return 3", 0)    # may write
        assert not held_by_a_write_pause(r, other, "EVAL_RO", "return 4", 0)
    finally:
        other.close()


def test_read_only_scripts_may_not_publish(r):
    for command in (["EVAL_RO", "return redis.call('publish', 'ch', 'msg')", 0],
                    ["EVAL", "#!lua flags=no-writes\nreturn redis.call('publish', 'ch', 'm')",
                     0]):
        with pytest.raises(redis.ResponseError,
                           match="Write commands are not allowed from read-only scripts"):
            r.execute_command(*command)
    assert r.eval("return redis.call('publish', 'ch', 'msg')", 0) == 0


def test_nothing_expires_during_a_pause(r, server, protocol):
    r.set("soon", "v", px=100)
    expired_before = r.info("stats")["expired_keys"]
    r.client_pause(500, all=False)
    try:
        time.sleep(0.3)
        assert r.get("soon") is None                   # looks gone...
        assert r.info("stats")["expired_keys"] == expired_before   # ...but is not deleted
        assert r.dbsize() == 1
    finally:
        r.client_unpause()


def test_quit_closes(server):
    assert raw(server, b"QUIT\r\nPING\r\n", read_until=b"never") == b"+OK\r\n"


def test_reset(server):
    # RESET returns the connection to RESP2, db 0, no name: check on the wire.
    data = raw(server, b"HELLO 3\r\nSELECT 3\r\nCLIENT SETNAME x\r\nMULTI\r\nRESET\r\n"
                       b"CLIENT GETNAME\r\nCLIENT INFO\r\nEXEC\r\n",
               read_until=b"without MULTI\r\n")
    after = data[data.index(b"+RESET\r\n") + len(b"+RESET\r\n"):]
    assert after.startswith(b"$-1\r\n")                 # no name, and RESP2's null
    assert b" db=0 " in after and b" resp=2" in after
    assert after.endswith(b"-ERR EXEC without MULTI\r\n")


def test_auth_without_password(server):
    assert raw(server, b"AUTH secret\r\n").startswith(
        b"-ERR AUTH <password> called without any password configured for the default user.")
    assert raw(server, b"AUTH someone secret\r\n") == (
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n")


def test_unknown_command_and_arity_errors(r):
    with pytest.raises(redis.ResponseError) as error:
        r.execute_command("NOSUCH", "a", "b")
    assert str(error.value) == "unknown command 'NOSUCH', with args beginning with: 'a' 'b' "
    with pytest.raises(redis.ResponseError) as error:
        r.execute_command("GET")
    assert str(error.value) == "wrong number of arguments for 'get' command"
    with pytest.raises(redis.ResponseError) as error:
        r.execute_command("CLIENT", "SETNAME")
    assert str(error.value) == "wrong number of arguments for 'client|setname' command"
    with pytest.raises(redis.ResponseError, match="unknown subcommand 'bogus'. Try CLIENT HELP."):
        r.execute_command("CLIENT", "bogus")


def test_commands_are_case_insensitive(r):
    assert r.execute_command("sEt", "k", "v") is True
    assert r.execute_command("get", "k") == b"v"
