"""DUMP and RESTORE, on our server and real Redis alike.

Payloads are Redis's (an RDB object, RDB version 10, a CRC-64), so besides what a
payload does on the server that made it -- a value dumped and restored reads back the
same, with the TTL, REPLACE, ABSTTL, IDLETIME and FREQ behaviour and the errors of
Redis 7.0 -- the tests DUMP every type on one server and RESTORE it on the other, both
ways between ours and a real redis-server.
"""

import time

import pytest
import redis

from .conftest import connect
from .test_blocking import Waiter, blocked_clients, wait_until
from .test_notifications import events  # noqa: F401 (a fixture)
from .test_persistence import Restartable


def read_back(r, key: str):
    """Everything a client can read of `key`, in a form to compare."""
    kind = r.type(key)
    if kind == b"string":
        return r.get(key)
    if kind == b"list":
        return r.lrange(key, 0, -1)
    if kind == b"hash":
        return r.hgetall(key)
    if kind == b"set":
        return r.smembers(key)
    if kind == b"zset":
        return r.zrange(key, 0, -1, withscores=True)
    if kind == b"stream":
        return read_stream(r, key)
    raise AssertionError(f"unexpected type {kind!r}")


def read_stream(r, key: str):
    # Idle times are measured when asked, so they are left out of the comparison.
    def without_times(rows):
        return [{k: v for k, v in row.items() if k not in ("idle", "inactive",
                                                           "time_since_delivered")}
                for row in rows]
    info = r.xinfo_stream(key)
    groups = r.xinfo_groups(key)
    return (r.xrange(key), info["length"], info["last-generated-id"],
            info["max-deleted-entry-id"], info["entries-added"],
            info["recorded-first-entry-id"], groups,
            {g["name"]: (without_times(r.xinfo_consumers(key, g["name"])),
                         without_times(r.xpending_range(key, g["name"], "-", "+", 100)))
             for g in groups})


def fill_stream(r, key: str) -> None:
    """A stream with deleted entries, two groups, consumers and pending entries."""
    for i in range(10):
        r.xadd(key, {"n": str(i), "payload": "x" * i}, id=f"{i + 1}-0")
    r.xdel(key, "3-0", "7-0")
    r.xgroup_create(key, "workers", id="0")
    r.xgroup_create(key, "late", id="$")
    r.xreadgroup("workers", "alice", {key: ">"}, count=3)
    r.xreadgroup("workers", "bob", {key: ">"}, count=2)
    r.xack(key, "workers", "1-0")
    r.xgroup_createconsumer(key, "workers", "idle-one")
    r.xclaim(key, "workers", "bob", 0, ["2-0"])


VALUES = {
    "string": lambda r, k: r.set(k, "hello"),
    "integer string": lambda r, k: r.set(k, "12345"),
    "empty string": lambda r, k: r.set(k, ""),
    "binary string": lambda r, k: r.set(k, bytes(range(256)) * 40),
    "list": lambda r, k: r.rpush(k, "a", "b", "", "a"),
    "long list": lambda r, k: r.rpush(k, *[f"item-{i}" for i in range(1000)]),
    "hash": lambda r, k: r.hset(k, mapping={"f": "1", "g": "", "h": "x" * 100}),
    "big hash": lambda r, k: r.hset(k, mapping={f"f{i}": i for i in range(600)}),
    "intset": lambda r, k: r.sadd(k, 1, 2, 3, -7),
    "set": lambda r, k: r.sadd(k, "x", "y", "z"),
    "zset": lambda r, k: r.zadd(k, {"a": 1.5, "b": -2, "c": 1e300, "d": 0, "e": 1 / 3}),
    "zset with infinities": lambda r, k: r.zadd(k, {"low": "-inf", "high": "+inf"}),
    "big zset": lambda r, k: r.zadd(k, {f"m{i}": i * 0.5 for i in range(300)}),
    "stream": fill_stream,
    "empty stream": lambda r, k: (r.xadd(k, {"a": "1"}, id="5-1"), r.xdel(k, "5-1")),
}


@pytest.mark.parametrize("kind", VALUES)
def test_every_type_round_trips(r, kind):
    VALUES[kind](r, "original")
    payload = r.dump("original")
    assert isinstance(payload, bytes)
    assert r.restore("copy", 0, payload) == b"OK"
    assert r.type("copy") == r.type("original")
    assert read_back(r, "copy") == read_back(r, "original")
    assert r.ttl("copy") == -1


def test_a_payload_with_a_wrong_checksum_restores_only_when_checks_are_off(r):
    r.rpush("list", "a", "b")
    payload = r.dump("list")
    damaged = payload[:-1] + bytes([payload[-1] ^ 1])
    with pytest.raises(redis.ResponseError, match="checksum are wrong"):
        r.restore("copy", 0, damaged)
    r.execute_command("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", 1)
    try:
        assert r.restore("copy", 0, damaged)
        assert r.lrange("copy", 0, -1) == [b"a", b"b"]
        with pytest.raises(redis.ResponseError, match="Bad data format"):
            r.restore("broken", 0, b"\x01\x00" + damaged[-10:])      # an empty list
    finally:
        r.execute_command("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", 0)


def test_dump_of_a_missing_key_is_nil(r):
    assert r.dump("missing") is None
    r.set("gone", "v", px=1)
    time.sleep(0.01)
    assert r.dump("gone") is None


def test_a_restored_value_is_independent_of_the_original(r):
    r.rpush("list", "a", "b")
    r.restore("copy", 0, r.dump("list"))
    r.rpush("list", "c")
    r.restore("again", 0, r.dump("list"))
    assert r.lrange("copy", 0, -1) == [b"a", b"b"]
    assert r.lrange("again", 0, -1) == [b"a", b"b", b"c"]


def test_ttl_is_relative_milliseconds_and_zero_means_none(r):
    r.set("k", "v", ex=100)
    payload = r.dump("k")                      # a payload carries no TTL
    r.restore("forever", 0, payload)
    assert r.ttl("forever") == -1
    r.restore("soon", 5000, payload)
    assert 4000 < r.pttl("soon") <= 5000


def test_absttl(r):
    r.set("k", "v")
    payload = r.dump("k")
    when = int(time.time() * 1000) + 60_000
    r.restore("absolute", when, payload, absttl=True)
    assert r.pexpiretime("absolute") == when
    r.restore("zero", 0, payload, absttl=True)      # 0 is still "no expiry"
    assert r.ttl("zero") == -1


def test_absttl_in_the_past_replies_ok_without_creating_the_key(r):
    r.set("k", "v")
    payload = r.dump("k")
    past = int(time.time() * 1000) - 1000
    assert r.execute_command("RESTORE", "new", past, payload, "ABSTTL") == b"OK"
    assert r.exists("new") == 0
    r.rpush("old", "x")                      # REPLACE still deletes what was there
    assert r.execute_command("RESTORE", "old", past, payload, "ABSTTL", "REPLACE") == b"OK"
    assert r.exists("old") == 0
    with pytest.raises(redis.ResponseError, match="^BUSYKEY Target key name already exists.$"):
        r.execute_command("RESTORE", "k", past, payload, "ABSTTL")
    # A relative TTL that takes the time past 64 bits wraps around in Redis: past too.
    assert r.restore("huge", 2**63 - 1000, payload) == b"OK"
    assert r.exists("huge") == 0


def test_busykey_and_replace(r):
    r.set("string", "v")
    r.rpush("list", "a", "b")
    r.expire("list", 100)
    payload = r.dump("string")
    with pytest.raises(redis.ResponseError, match="^BUSYKEY Target key name already exists.$"):
        r.restore("list", 0, payload)
    assert r.lrange("list", 0, -1) == [b"a", b"b"]
    assert r.restore("list", 0, payload, replace=True) == b"OK"
    assert r.get("list") == b"v"
    assert r.ttl("list") == -1               # the old key's TTL went with it
    r.set("volatile", "x", ex=100)
    assert r.execute_command("RESTORE", "volatile", 0, payload, "replace") == b"OK"
    assert r.ttl("volatile") == -1


def test_an_expired_key_is_not_busy(r):
    r.set("k", "v")
    payload = r.dump("k")
    r.set("expired", "old", px=1)
    time.sleep(0.01)
    assert r.restore("expired", 0, payload) == b"OK"
    assert r.get("expired") == b"v"


def test_idletime_sets_the_lru_idle_time(r):
    r.set("k", "v")
    payload = r.dump("k")
    r.restore("idle", 0, payload, idletime=1000)
    assert 1000 <= r.object("idletime", "idle") <= 1002
    r.restore("fresh", 0, payload)
    assert r.object("idletime", "fresh") <= 2
    r.restore("freq-ignored", 0, payload, frequency=100)   # no LFU policy: FREQ is ignored
    assert r.object("idletime", "freq-ignored") <= 2


def test_freq_sets_the_lfu_counter(r):
    r.config_set("maxmemory-policy", "allkeys-lfu")
    r.set("k", "v")
    payload = r.dump("k")
    r.restore("frequent", 0, payload, frequency=100)
    assert r.object("freq", "frequent") == 100
    r.restore("zero", 0, payload, frequency=0)
    assert r.object("freq", "zero") == 0
    r.restore("idle-ignored", 0, payload, idletime=1000)   # LFU: IDLETIME is ignored
    assert r.object("freq", "idle-ignored") == 5          # a new key's counter


@pytest.mark.parametrize("args, message", [
    (["0", "PAYLOAD", "BOGUS"], "syntax error"),
    (["0", "PAYLOAD", "IDLETIME"], "syntax error"),
    (["0", "PAYLOAD", "FREQ"], "syntax error"),
    (["0", "PAYLOAD", "IDLETIME", "1", "FREQ", "1"], "syntax error"),
    (["0", "PAYLOAD", "FREQ", "1", "IDLETIME", "1"], "syntax error"),
    (["0", "PAYLOAD", "IDLETIME", "x"], "value is not an integer or out of range"),
    (["0", "PAYLOAD", "IDLETIME", "-1"], "Invalid IDLETIME value, must be >= 0"),
    (["0", "PAYLOAD", "FREQ", "-1"], "Invalid FREQ value, must be >= 0 and <= 255"),
    (["0", "PAYLOAD", "FREQ", "256"], "Invalid FREQ value, must be >= 0 and <= 255"),
    (["abc", "PAYLOAD"], "value is not an integer or out of range"),
    (["-1", "PAYLOAD"], "Invalid TTL value, must be >= 0"),
    (["0", "not a payload"], "DUMP payload version or checksum are wrong"),
    (["0", ""], "DUMP payload version or checksum are wrong"),
])
def test_argument_errors(r, args, message):
    r.set("k", "v")
    payload = r.dump("k")
    args = [payload if arg == "PAYLOAD" else arg for arg in args]
    with pytest.raises(redis.ResponseError, match=f"^{message}$"):
        r.execute_command("RESTORE", "new", *args)
    assert r.exists("new") == 0


def test_errors_come_in_redis_order(r):
    r.set("k", "v")
    # options first, then an existing key, then the TTL, then the payload
    with pytest.raises(redis.ResponseError, match="syntax error"):
        r.execute_command("RESTORE", "k", "-1", "junk", "BOGUS")
    with pytest.raises(redis.ResponseError, match="Target key name already exists"):
        r.execute_command("RESTORE", "k", "-1", "junk")
    with pytest.raises(redis.ResponseError, match="Invalid TTL value"):
        r.execute_command("RESTORE", "k", "-1", "junk", "REPLACE")
    with pytest.raises(redis.ResponseError, match="wrong number of arguments"):
        r.execute_command("RESTORE", "k", "0")
    with pytest.raises(redis.ResponseError, match="wrong number of arguments"):
        r.execute_command("DUMP", "k", "extra")


@pytest.mark.parametrize("where", ["first", "middle", "version", "checksum", "last"])
def test_a_damaged_payload_is_refused(r, where):
    r.hset("h", mapping={"field": "value", "other": "x" * 50})
    payload = bytearray(r.dump("h"))
    index = {"first": 0, "middle": len(payload) // 2, "version": len(payload) - 10,
             "checksum": len(payload) - 5, "last": len(payload) - 1}[where]
    payload[index] ^= 0x01
    with pytest.raises(redis.ResponseError,
                       match="^DUMP payload version or checksum are wrong$"):
        r.restore("copy", 0, bytes(payload))
    assert r.exists("copy") == 0


def test_a_truncated_or_extended_payload_is_refused(r):
    r.set("k", "some value")
    payload = r.dump("k")
    for damaged in (payload[:-1], payload + b"\x00", payload[:9]):
        with pytest.raises(redis.ResponseError, match="version or checksum are wrong"):
            r.restore("copy", 0, damaged)
    # A CRC that starts from zero can't see leading zero bytes: without the string's
    # kind byte (0) the checksum still holds, and it is the body that is refused.
    assert payload[0] == 0
    with pytest.raises(redis.ResponseError, match="^Bad data format$"):
        r.restore("copy", 0, payload[1:])
    assert r.exists("copy") == 0


# -- between our server and Redis ----------------------------------------------------------

def fill_consumer_groups(r, key: str) -> None:
    """A stream whose groups cover the odd cases: a group whose entries-read counter is
    unknown (created at an id before a deleted entry), one with a pending entry
    delivered several times, and a consumer that never read."""
    for i in range(1, 8):
        r.xadd(key, {"f": str(i)}, id=f"{i}-1")
    r.xdel(key, "4-1")
    r.xgroup_create(key, "unknown-lag", id="2-1")
    r.xgroup_create(key, "retried", id="0")
    r.xreadgroup("retried", "c1", {key: ">"}, count=2)
    r.xclaim(key, "retried", "c2", 0, ["1-1"])
    r.xclaim(key, "retried", "c2", 0, ["1-1"])
    r.xgroup_createconsumer(key, "retried", "never-read")


CROSSING = {
    **VALUES,
    "negative integer": lambda r, k: r.set(k, "-70000"),
    "64-bit integer": lambda r, k: r.set(k, "-9223372036854775808"),
    "not quite an integer": lambda r, k: r.set(k, "007"),
    "compressible string": lambda r, k: r.set(k, "abc" * 10_000),
    "megabyte string": lambda r, k: r.set(k, bytes(range(256)) * 4096),
    "list of integers": lambda r, k: r.rpush(k, 0, 127, 128, -4096, 70000, -2**40, 2**63 - 1),
    "list with a big element": lambda r, k: r.rpush(k, "small", "x" * 20_000, "small"),
    "big list": lambda r, k: r.rpush(k, *[f"element-{i}" * 3 for i in range(20_000)]),
    "set of many integers": lambda r, k: r.sadd(k, *range(-300, 600)),
    "set of mixed members": lambda r, k: r.sadd(k, 1, "two", 3),
    "hash with long values": lambda r, k: r.hset(k, mapping={"short": "1", "long": "y" * 65}),
    "hash of integers": lambda r, k: r.hset(k, mapping={str(i): -i for i in range(50)}),
    "zset with integer scores": lambda r, k: r.zadd(k, {"a": 1, "b": 2**53, "c": -5}),
    "zset with a long member": lambda r, k: r.zadd(k, {"m" * 65: 1, "n": 2}),
    "stream of many nodes": lambda r, k: [r.xadd(k, {"i": i, "pad": "p" * 50})
                                          for i in range(500)],
    "trimmed stream": lambda r, k: ([r.xadd(k, {"i": i}) for i in range(300)],
                                    r.xtrim(k, 150)),
    "stream of mixed fields": lambda r, k: (r.xadd(k, {"a": 1, "b": 2}, id="1-1"),
                                            r.xadd(k, {"a": 1}, id="1-2"),
                                            r.xadd(k, {"c": 3, "b": 2}, id="2-0")),
    "stream with consumer groups": fill_consumer_groups,
    "stream of groups only": lambda r, k: r.xgroup_create(k, "g", id="$", mkstream=True),
}


@pytest.mark.parametrize("kind", CROSSING)
@pytest.mark.parametrize("direction", ["redis-to-fromscratch", "fromscratch-to-redis"])
def test_payloads_cross_between_servers(pair, direction, kind):
    ours, theirs = pair
    source, target = (theirs, ours) if direction == "redis-to-fromscratch" else (ours, theirs)
    CROSSING[kind](source, "original")
    payload = source.dump("original")
    assert target.restore("copy", 0, payload) == b"OK"
    assert target.type("copy") == source.type("original")
    assert read_back(target, "copy") == read_back(source, "original")
    # What the target made of it, it dumps again in a form the source reads the same.
    assert source.restore("again", 0, target.dump("copy")) == b"OK"
    assert read_back(source, "again") == read_back(source, "original")


def test_a_crossed_stream_keeps_working(pair):
    """A stream restored from Redis takes new entries, deliveries and acknowledgements
    as the original does."""
    ours, theirs = pair
    fill_consumer_groups(theirs, "s")
    ours.restore("s", 0, theirs.dump("s"))
    for client in (ours, theirs):
        client.xadd("s", {"new": "1"}, id="9-0")
        client.xack("s", "retried", "2-1")
        client.xreadgroup("retried", "c1", {"s": ">"})
        client.xdel("s", "5-1")
    assert read_back(ours, "s") == read_back(theirs, "s")


def test_function_payloads_are_told_apart_across_servers(pair):
    ours, theirs = pair
    for source, target in ((ours, theirs), (theirs, ours)):
        source.set("k", "v")
        with pytest.raises(redis.ResponseError, match="^given type is not a function$"):
            target.function_restore(source.dump("k"))
        with pytest.raises(redis.ResponseError, match="^Bad data format$"):
            target.restore("k2", 0, source.function_dump())


def test_redis_py_dump_and_restore(r):
    r.zadd("scores", {"alice": 10, "bob": 7.5})
    payload = r.dump("scores")
    assert r.restore("copy", 0, payload) == b"OK"
    when = int(time.time() * 1000) + 30_000
    assert r.restore("copy", when, payload, replace=True, absttl=True, idletime=50) == b"OK"
    assert r.pexpiretime("copy") == when
    assert 50 <= r.object("idletime", "copy") <= 52
    assert r.zrange("copy", 0, -1) == [b"bob", b"alice"]
    assert r.zscore("copy", "bob") == 7.5
    with pytest.raises(redis.ResponseError, match="Target key name already exists"):
        r.restore("copy", 0, payload)


def test_restore_wakes_a_blocked_client(r, server, protocol):
    r.rpush("source", "job")
    payload = r.dump("source")
    waiter = Waiter(connect(server, protocol), lambda client: client.blpop(["queue"], 5))
    wait_until(lambda: blocked_clients(r) == 1, "the BLPOP is waiting")
    r.restore("queue", 0, payload)
    assert list(waiter.result()) == [b"queue", b"job"]
    assert r.exists("queue") == 0


def test_restore_sends_keyspace_events(r, events):
    r.set("k", "v")
    payload = r.dump("k")
    collect = events("KEA")
    r.restore("new", 0, payload)
    r.restore("new", 0, payload, replace=True)
    past = int(time.time() * 1000) - 1000
    r.restore("new", past, payload, replace=True, absttl=True)
    assert collect() == [("__keyspace@0__:new", "restore"), ("__keyevent@0__:restore", "new"),
                         ("__keyspace@0__:new", "restore"), ("__keyevent@0__:restore", "new"),
                         ("__keyspace@0__:new", "del"), ("__keyevent@0__:del", "new")]


def test_restore_inside_multi(r):
    r.set("k", "v")
    payload = r.dump("k")
    with r.pipeline(transaction=True) as pipe:
        pipe.restore("a", 0, payload)
        pipe.restore("a", 0, payload)
        pipe.get("a")
        results = pipe.execute(raise_on_error=False)
    assert results[0] == b"OK"
    assert isinstance(results[1], redis.ResponseError)
    assert results[2] == b"v"


# -- the append-only file ---------------------------------------------------------------

@pytest.fixture(params=["fromscratch", "redis"])
def node(request, tmp_path):
    instance = Restartable(request.param, str(tmp_path), "--appendonly", "yes")
    yield instance
    if instance.server is not None and instance.server.process.poll() is None:
        instance.server.process.kill()
        instance.server.process.wait()


def test_restore_is_replayed_from_the_append_only_file(node):
    client = node.start()
    client.rpush("list", "a", "b", "c")
    client.hset("hash", mapping={"f": "1"})
    list_payload, hash_payload = client.dump("list"), client.dump("hash")
    client.restore("copy", 0, list_payload)
    client.restore("volatile", 5000, hash_payload)      # logged as an absolute time
    when = int(time.time() * 1000) + 60_000
    client.restore("absolute", when, hash_payload, absttl=True)
    client.set("replaced", "old")
    client.restore("replaced", 0, hash_payload, replace=True)
    client.set("deleted", "old")
    past = int(time.time() * 1000) - 1000
    client.restore("deleted", past, hash_payload, replace=True, absttl=True)
    with client.pipeline(transaction=True) as pipe:
        pipe.restore("in-multi", 0, list_payload)
        pipe.execute()
    time.sleep(1.5)                          # so that a replay from a relative TTL shows
    node.stop()
    with open(node.aof_files()[-1], "rb") as handle:
        assert b"ABSTTL" in handle.read()
    client = node.start()
    assert client.lrange("copy", 0, -1) == [b"a", b"b", b"c"]
    assert client.ttl("copy") == -1
    assert client.hgetall("volatile") == {b"f": b"1"}
    assert 0 < client.pttl("volatile") <= 3500
    assert client.pexpiretime("absolute") == when
    assert client.hgetall("replaced") == {b"f": b"1"}
    assert client.exists("deleted") == 0
    assert client.lrange("in-multi", 0, -1) == [b"a", b"b", b"c"]
