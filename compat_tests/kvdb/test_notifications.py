"""Keyspace notifications (notify-keyspace-events) through redis-py's PubSub, in RESP2 and
RESP3, on our server and real Redis: which commands send which events, in which order,
on which channels, and what each flag lets through."""

import time

import pytest
import redis

from .conftest import connect

END = "__keyevent@0__:zz-end"          # published last, so a test knows it has seen all


@pytest.fixture
def events(r, server, protocol):
    """events(flags) turns notifications on and returns `collect()`, which gives every
    (channel, message) published since, in order. Off again after the test."""
    listener = connect(server, protocol).pubsub(ignore_subscribe_messages=True)
    listener.psubscribe("__key*__:*")

    def start(flags: str):
        r.config_set("notify-keyspace-events", flags)
        return collect

    def collect() -> list:
        r.publish(END, "x")
        got, deadline = [], time.monotonic() + 5
        while time.monotonic() < deadline:
            message = listener.get_message(timeout=0.1)
            if message is None:
                continue
            channel, data = message["channel"].decode(), message["data"].decode()
            if channel == END:
                return got
            got.append((channel, data))
        raise AssertionError(f"the end marker never came; got {got}")

    yield start
    r.config_set("notify-keyspace-events", "")
    listener.close()


def both(*pairs):
    """The K and E messages of each (event, key), as Redis sends them: keyspace first."""
    return [message for event, key in pairs for message in
            ((f"__keyspace@0__:{key}", event), (f"__keyevent@0__:{event}", key))]


def run(r, commands: str):
    for command in filter(None, commands.split(";")):
        r.execute_command(*command.split())


CASES = [
    # strings
    ("", "SET k v EX 100", [("set", "k"), ("expire", "k")]),
    ("SET k v", "SET k w NX", []),
    ("", "SETEX k 100 v", [("set", "k"), ("expire", "k")]),
    ("", "MSET a 1 b 2", [("set", "a"), ("set", "b")]),
    ("SET k v", "GETDEL k", [("del", "k")]),
    ("SET k v", "GETEX k PXAT 1", [("del", "k")]),
    ("SET k v EX 100", "GETEX k PERSIST", [("persist", "k")]),
    ("", "APPEND k w", [("append", "k")]),
    ("SET k v", "SETRANGE k 1 xx", [("setrange", "k")]),
    ("", "INCR k", [("incrby", "k")]),
    ("", "DECRBY k 5", [("incrby", "k")]),
    ("", "INCRBYFLOAT k 1.5", [("incrbyfloat", "k")]),
    # keys
    ("SET a 1", "DEL a b", [("del", "a")]),
    ("SET a 1", "RENAME a b", [("rename_from", "a"), ("rename_to", "b")]),
    ("SET a 1", "COPY a b", [("copy_to", "b")]),
    ("SET a 1", "EXPIRE a 100", [("expire", "a")]),
    ("SET a 1", "EXPIRE a 0", [("del", "a")]),
    ("SET a 1", "EXPIRE a 100 XX", []),
    ("SET a 1 EX 100", "PERSIST a", [("persist", "a")]),
    ("SET a 1", "FLUSHALL", []),
    # lists
    ("", "LPUSH l a b", [("lpush", "l")]),
    ("", "RPUSHX l a", []),
    ("RPUSH l a b", "LPOP l", [("lpop", "l")]),
    ("RPUSH l a", "RPOP l 5", [("rpop", "l"), ("del", "l")]),
    ("RPUSH l a b", "LSET l 0 x", [("lset", "l")]),
    ("RPUSH l a b", "LINSERT l BEFORE a x", [("linsert", "l")]),
    ("RPUSH l a a", "LREM l 0 a", [("lrem", "l"), ("del", "l")]),
    ("RPUSH l a b c", "LTRIM l 0 -1", [("ltrim", "l")]),
    ("RPUSH l a", "LMOVE l m RIGHT LEFT", [("lpush", "m"), ("rpop", "l"), ("del", "l")]),
    ("RPUSH l a b", "BLMPOP 0 1 l RIGHT", [("rpop", "l")]),
    # hashes
    ("HSET h f v", "HSET h f v", [("hset", "h")]),
    ("HSET h f v", "HSETNX h f v", []),
    ("HSET h f v", "HDEL h f z", [("hdel", "h"), ("del", "h")]),
    ("", "HINCRBY h f 1", [("hincrby", "h")]),
    ("", "HINCRBYFLOAT h f 1.5", [("hincrbyfloat", "h")]),
    # sets
    ("SADD s a", "SADD s a", []),
    ("SADD s a b", "SREM s a", [("srem", "s")]),
    ("SADD s a", "SMOVE s t a", [("srem", "s"), ("del", "s"), ("sadd", "t")]),
    ("SADD s a b", "SPOP s 5", [("spop", "s"), ("del", "s")]),
    ("SADD a x y;SADD b y", "SINTERSTORE d a b", [("sinterstore", "d")]),
    ("SADD a x;SADD b y;SET d 1", "SINTERSTORE d a b", [("del", "d")]),
    # sorted sets
    ("", "ZADD z 1 a 2 b", [("zadd", "z")]),
    ("ZADD z 1 a", "ZADD z 1 a", []),
    ("ZADD z 1 a", "ZADD z INCR 2 a", [("zincr", "z")]),
    ("", "ZINCRBY z 2 a", [("zincr", "z")]),
    ("ZADD z 1 a", "ZREM z a", [("zrem", "z"), ("del", "z")]),
    ("ZADD z 1 a 2 b 3 c", "ZREMRANGEBYSCORE z 1 2", [("zremrangebyscore", "z")]),
    ("ZADD z 1 a 2 b", "ZPOPMAX z", [("zpopmax", "z")]),
    ("ZADD z 1 a", "BZPOPMIN z 0", [("zpopmin", "z"), ("del", "z")]),
    ("ZADD a 1 x;ZADD b 2 y", "ZUNIONSTORE d 2 a b", [("zunionstore", "d")]),
    ("ZADD a 1 x 2 y", "ZRANGESTORE d a 0 -1", [("zrangestore", "d")]),
    # streams
    ("XADD x 1 a 1;XADD x 2 a 1", "XADD x MAXLEN 1 3 a 1", [("xadd", "x"), ("xtrim", "x")]),
    ("", "XADD x NOMKSTREAM 1 a 1", []),
    ("XADD x 1 a 1;XADD x 2 a 1", "XTRIM x MAXLEN 1", [("xtrim", "x")]),
    ("XADD x 1 a 1", "XDEL x 1", [("xdel", "x")]),
    ("XADD x 1 a 1", "XSETID x 5", [("xsetid", "x")]),
    ("", "XGROUP CREATE x g 0 MKSTREAM", [("xgroup-create", "x")]),
    ("XGROUP CREATE x g 0 MKSTREAM", "XGROUP SETID x g 0", [("xgroup-setid", "x")]),
    ("XGROUP CREATE x g 0 MKSTREAM", "XGROUP CREATECONSUMER x g c",
     [("xgroup-createconsumer", "x")]),
    ("XGROUP CREATE x g 0 MKSTREAM;XGROUP CREATECONSUMER x g c", "XGROUP DELCONSUMER x g c",
     [("xgroup-delconsumer", "x")]),
    ("XGROUP CREATE x g 0 MKSTREAM", "XGROUP DESTROY x g", [("xgroup-destroy", "x")]),
    ("XADD x 1 a 1;XGROUP CREATE x g 0", "XREADGROUP GROUP g c STREAMS x >",
     [("xgroup-createconsumer", "x")]),
    ("XADD x 1 a 1;XGROUP CREATE x g 0;XREADGROUP GROUP g c STREAMS x >", "XACK x g 1", []),
    ("XADD x 1 a 1;XGROUP CREATE x g 0;XREADGROUP GROUP g c STREAMS x >",
     "XAUTOCLAIM x g d 0 0", [("xgroup-createconsumer", "x")]),
]


@pytest.mark.parametrize("setup, command, expected", CASES,
                         ids=[command for _, command, _ in CASES])
def test_events_of_each_command(r, events, setup, command, expected):
    run(r, setup)
    collect = events("KEA")
    run(r, command)
    assert collect() == both(*expected)


def test_events_within_a_transaction_arrive_in_order(r, events):
    collect = events("KEA")
    with r.pipeline() as pipe:
        pipe.rpush("l", "a")
        pipe.lpop("l")
        pipe.set("k", "v")
        pipe.execute()
    assert collect() == both(("rpush", "l"), ("lpop", "l"), ("del", "l"), ("set", "k"))


def test_flags_choose_channels_and_classes(r, events):
    collect = events("Kl")                          # keyspace channel, list events only
    r.rpush("l", "a")
    r.set("k", "v")
    r.delete("l")                                   # generic: not asked for
    assert collect() == [("__keyspace@0__:l", "rpush")]
    collect = events("Eg$")                         # keyevent channel, generic and strings
    r.set("k", "v")
    r.rpush("l", "a")
    r.expire("k", 100)
    assert collect() == [("__keyevent@0__:set", "k"), ("__keyevent@0__:expire", "k")]
    collect = events("A")                           # classes but no channel: nothing
    r.set("k", "v")
    assert collect() == []


def test_the_database_is_in_the_channel(r, events):
    collect = events("KE$")
    r.execute_command("SELECT", 3)
    r.set("k", "v")
    r.execute_command("SELECT", 0)
    assert collect() == [("__keyspace@3__:k", "set"), ("__keyevent@3__:set", "k")]


def test_new_keys_and_key_misses(r, events):
    collect = events("KEnm")                        # only new keys and misses
    r.set("k", "v")
    r.set("k", "w")                                 # not new
    r.get("missing")
    r.incr("counter")                               # a write: created, not missed
    assert collect() == both(("new", "k"), ("keymiss", "missing"), ("new", "counter"))


def test_expiry_sends_expired_when_the_key_is_found_expired(r, events):
    r.set("k", "v", px=1)
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 0)
    try:
        collect = events("KEx")
        time.sleep(0.01)
        assert r.get("k") is None
        assert collect() == both(("expired", "k"))
    finally:
        r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 1)


def test_active_expiry_sends_expired(r, events):
    collect = events("Ex")
    r.set("k", "v", px=20)
    deadline = time.monotonic() + 3
    got = []
    while not got and time.monotonic() < deadline:
        time.sleep(0.05)
        got = collect()
    assert got == [("__keyevent@0__:expired", "k")]


def test_config_get_writes_the_flags_back_as_redis_does(r, events):
    for flags, shown in (("KEA", "AKE"), ("Ex", "xE"), ("KEg$lshzxetd", "AKE"),
                         ("nKEg", "gnKE"), ("KEAmn", "AKEm"), ("", "")):
        events(flags)
        assert r.config_get("notify-keyspace-events") == {"notify-keyspace-events": shown}
    with pytest.raises(redis.ResponseError, match="Invalid event class character"):
        r.config_set("notify-keyspace-events", "KEQ")


def test_the_pubsub_server_notifies_stream_events(pubsub_server, protocol):
    client = connect(pubsub_server, protocol)
    client.flushall()
    listener = connect(pubsub_server, protocol).pubsub(ignore_subscribe_messages=True)
    listener.psubscribe("__keyevent@0__:*")
    client.config_set("notify-keyspace-events", "Et")
    try:
        client.xadd("x", {"a": 1}, id="1-0")
        client.xgroup_create("x", "g", "0")
        client.publish(END, "x")
        got, deadline = [], time.monotonic() + 5
        while (not got or got[-1][0] != END) and time.monotonic() < deadline:
            message = listener.get_message(timeout=0.1)      # None for the confirmation
            if message is not None:
                got.append((message["channel"].decode(), message["data"].decode()))
        assert got[:-1] == [("__keyevent@0__:xadd", "x"), ("__keyevent@0__:xgroup-create", "x")]
    finally:
        client.config_set("notify-keyspace-events", "")
        listener.close()
        client.close()
