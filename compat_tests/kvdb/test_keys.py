"""Generic key commands: existence, expiry, renaming, iteration, databases."""

import socket
import time

import pytest
import redis

from fromscratch.resp import encode_command

from .conftest import connect
from .test_replication import matches, replica  # noqa: F401  (the replica fixture)


def test_del_exists_unlink_touch(r):
    r.mset({"a": "1", "b": "2", "c": "3"})
    assert r.exists("a", "a", "b", "missing") == 3         # duplicates count
    assert r.delete("a", "missing") == 1
    assert r.unlink("b", "c") == 2
    assert r.exists("a", "b", "c") == 0
    r.set("t", "v")
    assert r.touch("t", "t", "missing") == 2


def test_type(r):
    r.set("s", "v")
    assert r.type("s") == b"string"
    assert r.type("missing") == b"none"


def test_keys_patterns(r):
    r.mset({"hello": 1, "hallo": 1, "hxllo": 1, "hllo": 1, "heeeello": 1, "h*llo": 1})
    assert sorted(r.keys("h?llo")) == [b"h*llo", b"hallo", b"hello", b"hxllo"]
    assert sorted(r.keys("h*llo")) == [b"h*llo", b"hallo", b"heeeello", b"hello", b"hllo", b"hxllo"]
    assert sorted(r.keys("h[ae]llo")) == [b"hallo", b"hello"]
    assert sorted(r.keys("h[^e]llo")) == [b"h*llo", b"hallo", b"hxllo"]
    assert sorted(r.keys("h[a-b]llo")) == [b"hallo"]
    assert r.keys("h\\*llo") == [b"h*llo"]
    assert len(r.keys("*")) == 6


def test_scan_full_iteration(r):
    r.mset({f"key:{i}": i for i in range(1000)})
    r.mset({f"other:{i}": i for i in range(100)})
    seen = set()
    cursor = 0
    calls = 0
    while True:
        cursor, keys = r.scan(cursor, match="key:*", count=50)
        seen.update(keys)
        calls += 1
        if cursor == 0:
            break
    assert seen == {f"key:{i}".encode() for i in range(1000)}
    assert calls > 1
    assert set(r.scan_iter(count=1000)) == set(r.keys("*"))


def test_scan_survives_deletes_during_iteration(r):
    r.mset({f"k{i}": i for i in range(500)})
    survivors = {f"k{i}".encode() for i in range(0, 500, 2)}
    seen = set()
    cursor, keys = r.scan(0, count=100)
    seen.update(keys)
    r.delete(*[f"k{i}" for i in range(1, 500, 2)])        # remove the odd ones
    while cursor:
        cursor, keys = r.scan(cursor, count=100)
        seen.update(keys)
    assert survivors <= seen                              # nothing present throughout is missed


def test_scan_type_and_errors(r):
    r.set("s", "v")
    r.rpush("l", "x")
    assert r.scan(0, _type="string", count=100)[1] == [b"s"]
    with pytest.raises(redis.ResponseError, match="invalid cursor"):
        r.execute_command("SCAN", "abc")
    with pytest.raises(redis.ResponseError, match="syntax error"):
        r.execute_command("SCAN", "0", "COUNT", "0")


def test_randomkey_dbsize(r):
    assert r.randomkey() is None
    assert r.dbsize() == 0
    r.mset({"a": 1, "b": 2})
    assert r.randomkey() in (b"a", b"b")
    assert r.dbsize() == 2


def test_rename_renamenx(r):
    r.set("a", "1", ex=100)
    assert r.rename("a", "b") is True
    assert r.get("b") == b"1" and r.ttl("b") > 90          # the TTL moves with the key
    with pytest.raises(redis.ResponseError, match="no such key"):
        r.rename("a", "c")
    r.set("c", "3")
    assert r.renamenx("b", "c") is False
    assert r.renamenx("b", "d") is True
    assert r.rename("d", "d") is True
    assert r.renamenx("d", "d") is False


def test_copy_and_move(r, server, protocol):
    r.set("src", "v", ex=100)
    assert r.copy("src", "dst") is True
    assert r.get("dst") == b"v" and r.ttl("dst") > 90
    assert r.copy("src", "dst") is False
    r.set("src", "w")
    assert r.copy("src", "dst", replace=True) is True
    assert r.get("dst") == b"w"
    assert r.copy("src", "dst", destination_db=3) is True
    other = connect(server, protocol, db=3)
    assert other.get("dst") == b"w"
    with pytest.raises(redis.ResponseError, match="source and destination objects are the same"):
        r.copy("src", "src")
    assert r.move("src", 3) is True
    assert r.exists("src") == 0
    assert other.get("src") == b"w"
    r.set("src", "again")
    assert r.move("src", 3) is False                       # already there
    with pytest.raises(redis.ResponseError, match="source and destination objects are the same"):
        r.move("src", 0)
    with pytest.raises(redis.ResponseError, match="DB index is out of range"):
        r.move("src", 99)
    other.close()


def test_expire_family(r):
    r.set("k", "v")
    assert r.ttl("k") == -1 and r.pttl("k") == -1
    assert r.ttl("missing") == -2 and r.pttl("missing") == -2
    assert r.expire("k", 100) is True
    assert 99 <= r.ttl("k") <= 100
    assert r.pexpire("k", 200000) is True
    assert 199000 < r.pttl("k") <= 200000
    at = int(time.time()) + 300
    assert r.expireat("k", at) is True
    assert r.expiretime("k") == at
    assert r.pexpireat("k", at * 1000 + 5) is True
    assert r.pexpiretime("k") == at * 1000 + 5
    assert r.persist("k") is True
    assert r.persist("k") is False
    assert r.expiretime("k") == -1
    assert r.expiretime("missing") == -2
    assert r.expire("missing", 10) is False


def test_expire_conditions(r):
    r.set("k", "v")
    assert r.expire("k", 100, xx=True) is False
    assert r.expire("k", 100, nx=True) is True
    assert r.expire("k", 200, nx=True) is False
    assert r.expire("k", 50, gt=True) is False
    assert r.expire("k", 200, gt=True) is True
    assert r.expire("k", 300, lt=True) is False
    assert r.expire("k", 10, lt=True) is True
    r.set("forever", "v")
    assert r.expire("forever", 10, gt=True) is False      # no TTL counts as infinite
    assert r.expire("forever", 10, lt=True) is True
    with pytest.raises(redis.ResponseError, match="NX and XX, GT or LT options"):
        r.execute_command("EXPIRE", "k", 10, "NX", "XX")
    with pytest.raises(redis.ResponseError, match="GT and LT options at the same time"):
        r.execute_command("EXPIRE", "k", 10, "GT", "LT")
    with pytest.raises(redis.ResponseError, match="Unsupported option foo"):
        r.execute_command("EXPIRE", "k", 10, "foo")
    with pytest.raises(redis.ResponseError, match="invalid expire time in 'expire' command"):
        r.execute_command("EXPIRE", "k", "99999999999999999")
    # The options are read before the time
    with pytest.raises(redis.ResponseError, match="NX and XX, GT or LT options"):
        r.execute_command("EXPIRE", "k", "99999999999999999", "NX", "XX")
    with pytest.raises(redis.ResponseError, match="Unsupported option foo"):
        r.execute_command("PEXPIRE", "k", "ten", "foo")


def test_expire_in_the_past_deletes(r):
    r.set("k", "v")
    assert r.expire("k", -1) is True
    assert r.exists("k") == 0
    r.set("k", "v")
    assert r.pexpireat("k", 1000) is True
    assert r.get("k") is None


def test_active_expiry_removes_keys_nobody_reads(r):
    r.mset({f"k{i}": i for i in range(200)})
    for i in range(200):
        r.pexpire(f"k{i}", 50)
    deadline = time.time() + 5
    while time.time() < deadline and r.info("keyspace").get("db0"):
        time.sleep(0.1)
    assert r.info("keyspace").get("db0") is None            # gone without being touched
    assert r.info("stats")["expired_keys"] >= 200


def test_select_swapdb_flush(r, server, protocol):
    r.set("zero", "0")
    other = connect(server, protocol, db=1)
    other.set("one", "1")
    assert r.swapdb(0, 1) is True
    assert r.get("one") == b"1" and r.get("zero") is None
    assert other.get("zero") == b"0"
    with pytest.raises(redis.ResponseError, match="invalid first DB index"):
        r.execute_command("SWAPDB", "a", 1)
    with pytest.raises(redis.ResponseError, match="DB index is out of range"):
        r.execute_command("SWAPDB", 0, 100)
    with pytest.raises(redis.ResponseError, match="DB index is out of range"):
        r.execute_command("SELECT", 16)
    with pytest.raises(redis.ResponseError, match="value is not an integer or out of range"):
        r.execute_command("SELECT", "x")
    assert r.flushdb() is True
    assert r.dbsize() == 0 and other.dbsize() == 1
    assert r.flushall(asynchronous=True) is True
    assert other.dbsize() == 0
    with pytest.raises(redis.ResponseError, match="syntax error"):
        r.execute_command("FLUSHALL", "NOW")
    other.close()


def _lazyfreed(r) -> int:
    """INFO's lazyfreed_objects once Redis's background thread is done (ours is at once)."""
    deadline = time.monotonic() + 5
    while r.info("memory")["lazyfree_pending_objects"] and time.monotonic() < deadline:
        time.sleep(0.01)
    return r.info("memory")["lazyfreed_objects"]


def test_unlink_and_async_flush_count_lazily_freed_values(r):
    """What Redis frees in the background is counted: big values by UNLINK (or DEL with
    lazyfree-lazy-user-del), every key by FLUSHDB/FLUSHALL ASYNC."""
    r.config_resetstat()
    r.sadd("small", *range(10))
    r.sadd("big", *(f"m{i}" for i in range(200)))        # a hash table of 200
    r.rpush("list", *range(200))                           # one quicklist node
    r.zadd("zset", {f"m{i}": i for i in range(200)})       # a skip list of 200
    r.hset("hash", mapping={f"f{i}": i for i in range(200)})
    assert r.unlink("small", "big", "list", "zset") == 4
    assert _lazyfreed(r) == 2
    assert r.delete("hash") == 1                          # DEL frees at once
    assert _lazyfreed(r) == 2
    r.config_set("lazyfree-lazy-user-del", "yes")
    try:
        r.sadd("big", *(f"m{i}" for i in range(200)))
        r.delete("big")
        assert _lazyfreed(r) == 3
    finally:
        r.config_set("lazyfree-lazy-user-del", "no")
    r.rpush("long", *(b"x" * 100 for _ in range(10000)))  # about 125 quicklist nodes
    r.unlink("long")
    assert _lazyfreed(r) == 4
    r.mset({"a": 1, "b": 2, "c": 3})
    r.flushdb(asynchronous=True)
    assert _lazyfreed(r) == 7
    r.mset({"a": 1, "b": 2})
    r.flushall()                                           # SYNC by default
    assert _lazyfreed(r) == 7
    r.config_resetstat()
    assert r.info("memory")["lazyfreed_objects"] == 0


def test_lazily_freed_streams_count_their_nodes_and_groups(r):
    r.config_resetstat()
    r.config_set("stream-node-max-entries", 5)
    try:
        for i in range(400):                               # 80 nodes
            r.xadd("stream", {"foo": i})
        r.xgroup_create("stream", "group", 0)
        r.xreadgroup("group", "alice", {"stream": ">"}, count=2)
        r.unlink("stream")
        assert _lazyfreed(r) == 1
        for i in range(40):                                # 8 nodes ...
            r.xadd("stream", {"foo": i})
        for name in ("g1", "g2"):                          # ... and 2 x (1 + 40 pending)
            r.xgroup_create("stream", name, 0)
        r.xreadgroup("g1", "alice", {"stream": ">"})
        r.unlink("stream")
        assert _lazyfreed(r) == 2
        r.xadd("s", {"a": "b"})
        r.xgroup_create("s", "gone", "$")
        r.xgroup_destroy("s", "gone")
        r.unlink("s")
        assert _lazyfreed(r) == 2
    finally:
        r.config_set("stream-node-max-entries", 100)


def test_flushall_of_nothing_still_reaches_replicas(r, replica):
    # Redis forces FLUSHALL into the stream: a replica may hold keys its primary lacks.
    r.flushall()
    r.set("after", "1")
    assert matches(replica.commands(3), [["select", "0"], ["flushall"], ["set", "after", "1"]])


def test_swapdb_reaches_replicas_before_the_pops_it_allows(server, protocol, r, replica):
    waiting = socket.create_connection((server.host, server.port), timeout=5)
    waiting.sendall(encode_command(["BRPOP", "k", "0"]))
    while r.info("clients")["blocked_clients"] < 1:
        time.sleep(0.01)
    one = connect(server, protocol, db=1)
    one.rpush("k", "v")
    r.swapdb(0, 1)                   # k is now in db 0, where the client waits
    assert waiting.recv(100) == b"*2\r\n$1\r\nk\r\n$1\r\nv\r\n"
    assert matches(replica.commands(5), [
        ["select", "1"], ["rpush", "k", "v"], ["select", "0"], ["swapdb", "0", "1"],
        ["rpop", "k"]])
    waiting.close()
    one.close()


def test_object_subcommands(r):
    r.set("int", "12345")
    r.set("short", "hello")
    r.set("long", "x" * 100)
    assert r.object("encoding", "int") == b"int"
    assert r.object("encoding", "short") == b"embstr"
    assert r.object("encoding", "long") == b"raw"
    assert r.object("encoding", "missing") is None
    assert r.object("refcount", "short") == 1
    assert r.object("idletime", "short") <= 1
    with pytest.raises(redis.ResponseError, match="An LFU maxmemory policy is not selected"):
        r.object("freq", "short")
    r.config_set("maxmemory-policy", "allkeys-lfu")
    try:
        assert isinstance(r.object("freq", "short"), int)
        with pytest.raises(redis.ResponseError, match="An LFU maxmemory policy is selected"):
            r.object("idletime", "short")
    finally:
        r.config_set("maxmemory-policy", "noeviction")
    with pytest.raises(redis.ResponseError, match="unknown subcommand 'nope'. Try OBJECT HELP."):
        r.execute_command("OBJECT", "nope", "x")
    assert any(b"ENCODING" in line.encode() if isinstance(line, str) else b"ENCODING" in line
               for line in r.execute_command("OBJECT", "HELP"))


def test_a_policy_set_at_run_time_counts_reads(r):
    """CONFIG SET maxmemory-policy to an LFU policy: each read now counts in the key's
    frequency (a new key's 5 goes to 6 at its first read, always), and back to LRU its
    idle time is kept again. (We once undid the change when the CONFIG SET ended.)"""
    r.config_set("maxmemory-policy", "allkeys-lfu")
    try:
        r.set("k", "v")
        assert r.object("freq", "k") == 5
        r.get("k")
        assert r.object("freq", "k") == 6
    finally:
        r.config_set("maxmemory-policy", "noeviction")
    r.get("k")
    assert r.object("idletime", "k") == 0


def test_keys_with_many_stars_answers_at_once(r):
    # Redis's regression test: a matcher that backtracks never answers this.
    r.set("a" * 40, 1)
    assert r.keys("a*" * 20 + "b") == []
    assert r.keys("a*a*a") in ([b"a" * 40], ["a" * 40])


def test_expire_in_seconds_that_overflow_milliseconds(r):
    r.set("foo", "bar")
    for seconds in (-9223372036854776, -9999999999999999, 9223372036854776):
        with pytest.raises(redis.ResponseError, match="invalid expire time in 'expire'"):
            r.expire("foo", seconds)
    assert r.ttl("foo") == -1


def test_small_integers_are_shared_unless_an_lru_policy_needs_their_access_times(r):
    r.set("small", "1")
    assert r.object("refcount", "small") == 2147483647      # one shared object
    r.config_set("maxmemory", 1 << 30)
    r.config_set("maxmemory-policy", "allkeys-lru")
    try:
        r.set("own", "1")
        assert r.object("refcount", "own") == 1
    finally:
        r.config_set("maxmemory", 0)
        r.config_set("maxmemory-policy", "noeviction")
