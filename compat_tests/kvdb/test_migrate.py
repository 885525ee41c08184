"""MIGRATE: keys moved to a second server of the same kind, and across kinds.

Each source server (ours, then Redis) migrates to a target of its own kind started for
this module; two more tests move keys from ours to Redis and back, since payloads and
the protocol between the two must agree.
"""

from __future__ import annotations

import socket
import time

import pytest
import redis

from compat_tests.kvdb.conftest import call_raw, connect
from compat_tests.servers import free_port, start_kvdb, start_redis


@pytest.fixture(scope="module")
def kvdb_target(tmp_path_factory):
    server = start_kvdb(str(tmp_path_factory.mktemp("kvdb-target")))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def redis_target(tmp_path_factory):
    server = start_redis(str(tmp_path_factory.mktemp("redis-target")))
    yield server
    server.stop()


@pytest.fixture
def target(request, server):
    """The server MIGRATE sends to: of the kind under test, flushed."""
    kind = "kvdb" if server.kind == "fromscratch" else "redis"
    return request.getfixturevalue(f"{kind}_target")


@pytest.fixture
def t(target):
    """A client of the target."""
    client = connect(target)
    client.flushall()
    yield client
    client.close()


def migrate(r, target, *args):
    return r.execute_command("MIGRATE", target.host, target.port, *args)


def test_single_key(r, t, target):
    r.rpush("list", "a", "b", "c")
    assert migrate(r, target, "list", 0, 5000) in (b"OK", "OK", True)
    assert r.exists("list") == 0
    assert t.lrange("list", 0, -1) == [b"a", b"b", b"c"]
    assert t.ttl("list") == -1


def test_several_keys_with_keys_option(r, t, target):
    r.set("s", "v")
    r.hset("h", mapping={"f": "1", "g": "2"})
    r.zadd("z", {"m": 1.5})
    migrate(r, target, "", 0, 5000, "KEYS", "s", "h", "z", "missing")
    assert r.dbsize() == 0
    assert t.get("s") == b"v"
    assert t.hgetall("h") == {b"f": b"1", b"g": b"2"}
    assert t.zscore("z", "m") == 1.5


def test_keys_option_needs_empty_key(r, target):
    r.set("s", "v")
    with pytest.raises(redis.ResponseError, match="the key argument must be set to the empty"):
        migrate(r, target, "s", 0, 5000, "KEYS", "s")


def test_copy_keeps_the_source(r, t, target):
    r.set("k", "v")
    migrate(r, target, "k", 0, 5000, "COPY")
    assert r.get("k") == b"v"
    assert t.get("k") == b"v"


def test_busykey_unless_replace(r, t, target):
    r.set("k", "new")
    t.set("k", "old")
    with pytest.raises(redis.ResponseError) as error:
        migrate(r, target, "k", 0, 5000)
    assert str(error.value) == ("Target instance replied with error: BUSYKEY Target key "
                                "name already exists.")
    assert r.get("k") == b"new"                    # not deleted: the target refused it
    migrate(r, target, "k", 0, 5000, "REPLACE")
    assert t.get("k") == b"new"
    assert r.exists("k") == 0


def test_only_accepted_keys_are_deleted(r, t, target):
    r.mset({"a": "1", "b": "2", "c": "3"})
    t.set("b", "taken")
    with pytest.raises(redis.ResponseError, match="BUSYKEY"):
        migrate(r, target, "", 0, 5000, "KEYS", "a", "b", "c")
    assert r.keys("*") == [b"b"]
    assert t.mget("a", "b", "c") == [b"1", b"taken", b"3"]


def test_ttl_is_carried(r, t, target):
    r.set("k", "v", px=100_000)
    migrate(r, target, "k", 0, 5000)
    assert 90_000 < t.pttl("k") <= 100_000


def test_nokey(r, target):
    assert migrate(r, target, "missing", 0, 5000) in (b"NOKEY", "NOKEY")
    assert migrate(r, target, "", 0, 5000, "KEYS", "x", "y") in (b"NOKEY", "NOKEY")


def test_destination_db(r, t, target):
    r.set("k", "v")
    migrate(r, target, "k", 5, 5000)
    assert t.exists("k") == 0
    assert connect(target, db=5).get("k") == b"v"
    r.set("k2", "v2")                             # the cached connection selects again
    migrate(r, target, "k2", 0, 5000)
    assert t.get("k2") == b"v2"


def test_connections_are_cached(r, t, target):
    r.set("k", "v")
    migrate(r, target, "k", 0, 5000)
    assert r.info("stats")["migrate_cached_sockets"] >= 1


def test_auth_to_protected_target(r, t, target):
    t.config_set("requirepass", "secret")
    try:
        r.rpush("list", "a")
        migrate(r, target, "list", 0, 5000, "AUTH", "secret")
        r.rpush("other", "b")
        migrate(r, target, "other", 0, 5000, "AUTH2", "default", "secret")
        r.rpush("third", "c")
        with pytest.raises(redis.ResponseError, match="WRONGPASS"):
            migrate(r, target, "third", 0, 5000, "AUTH", "wrong")
        assert r.exists("third") == 1
    finally:
        admin = connect(target, password="secret")
        admin.config_set("requirepass", "")
    assert t.lrange("list", 0, -1) == [b"a"]
    assert t.lrange("other", 0, -1) == [b"b"]


def test_closed_port(r, server):
    r.set("k", "v")
    with pytest.raises(redis.ResponseError) as error:
        r.execute_command("MIGRATE", "127.0.0.1", free_port(), "k", 0, 500)
    # Redis 7.0's blocking connect does not check that it succeeded: a refused
    # connection shows when MIGRATE writes or reads. Ours reports it as it happens.
    assert str(error.value).startswith("IOERR error or timeout ")
    if server.kind == "fromscratch":
        assert str(error.value) == "IOERR error or timeout connecting to the client"
    assert r.get("k") == b"v"


def test_timeout_reading(r):
    # A listener that accepts and never answers: MIGRATE gives up after its timeout.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        r.set("k", "v")
        started = time.monotonic()
        with pytest.raises(redis.ResponseError) as error:
            r.execute_command("MIGRATE", "127.0.0.1", silent.getsockname()[1], "k", 0, 300)
        assert time.monotonic() - started < 3
    assert str(error.value) == "IOERR error or timeout reading to target instance"
    assert r.get("k") == b"v"


def test_syntax_errors(r, target):
    with pytest.raises(redis.ResponseError, match="syntax error"):
        migrate(r, target, "k", 0, 5000, "BOGUS")
    with pytest.raises(redis.ResponseError, match="syntax error"):
        migrate(r, target, "k", 0, 5000, "AUTH2", "user")
    with pytest.raises(redis.ResponseError, match="not an integer"):
        migrate(r, target, "k", 0, "soon")


def test_getkeys(r):
    assert call_raw(r, "COMMAND", "GETKEYS", "MIGRATE", "h", "1", "k", "0", "5") == [b"k"]
    assert call_raw(r, "COMMAND", "GETKEYS", "MIGRATE", "h", "1", "k", "0", "5",
                    "AUTH2", "keys", "pw") == [b"k"]
    # the empty key of the KEYS form is no key
    assert call_raw(r, "COMMAND", "GETKEYS", "MIGRATE", "h", "1", "", "0", "5",
                    "KEYS", "a", "b") == [b"a", b"b"]


def test_cached_connections_are_closed_when_idle(server, target):
    client = connect(server)
    client.set("idle", "v")
    migrate(client, target, "idle", 0, 5000)
    deadline = time.monotonic() + 15
    while client.info("stats")["migrate_cached_sockets"] and time.monotonic() < deadline:
        time.sleep(0.5)
    assert client.info("stats")["migrate_cached_sockets"] == 0
    client.close()


@pytest.mark.parametrize("direction", ["kvdb-to-redis", "redis-to-kvdb"])
def test_across_servers(direction, kvdb_server, redis_server):
    source, destination = ((kvdb_server, redis_server) if direction == "kvdb-to-redis"
                           else (redis_server, kvdb_server))
    src, dst = connect(source), connect(destination)
    src.flushall()
    dst.flushall()
    src.set("s", "v", px=100_000)
    src.rpush("l", *range(200))
    src.hset("h", mapping={"f": "1"})
    src.sadd("set", "x", "y")
    src.zadd("z", {"m": 2})
    src.xadd("stream", {"f": "v"}, id="1-1")
    migrate(src, destination, "", 0, 5000, "KEYS", "s", "l", "h", "set", "z", "stream")
    assert src.dbsize() == 0
    assert dst.get("s") == b"v" and 90_000 < dst.pttl("s") <= 100_000
    assert dst.lrange("l", 0, -1) == [str(i).encode() for i in range(200)]
    assert dst.hgetall("h") == {b"f": b"1"}
    assert dst.smembers("set") == {b"x", b"y"}
    assert dst.zscore("z", "m") == 2
    assert dst.xrange("stream") == [(b"1-1", {b"f": b"v"})]
    src.close()
    dst.close()
