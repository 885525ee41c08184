"""Set commands through redis-py, against our server and real Redis alike."""

import pytest
import redis

from compat_tests.kvdb.conftest import call_raw


def test_add_remove_count(r):
    assert r.sadd("s", "a", "b", "c", "a") == 3
    assert r.sadd("s", "a", "d") == 1
    assert r.scard("s") == 4
    assert r.scard("missing") == 0
    assert r.smembers("s") == {b"a", b"b", b"c", b"d"}
    assert r.smembers("missing") == set()
    assert r.srem("s", "a", "zz") == 1
    assert r.srem("missing", "a") == 0
    assert r.srem("s", "b", "c", "d") == 3
    assert r.exists("s") == 0                      # an emptied set is deleted
    assert r.type("s") == b"none"
    r.sadd("s", b"\x00bin\r\n")
    assert r.type("s") == b"set"
    assert r.smembers("s") == {b"\x00bin\r\n"}


def test_membership(r):
    r.sadd("s", "a", "b")
    assert r.sismember("s", "a") == 1
    assert r.sismember("s", "x") == 0
    assert r.sismember("missing", "a") == 0
    assert r.smismember("s", ["a", "x", "b"]) == [1, 0, 1]
    assert r.smismember("missing", ["a"]) == [0]


def test_whole_set_replies_are_sets_in_resp3(wire, protocol):
    wire("SADD", "s1", "a", "b", "c")
    wire("SADD", "s2", "b", "c", "d")
    whole = {b"a", b"b", b"c"}
    expected_type = set if protocol == 3 else list
    for args, members in ((["SMEMBERS", "s1"], whole),
                          (["SINTER", "s1", "s2"], {b"b", b"c"}),
                          (["SUNION", "s1", "s2"], whole | {b"d"}),
                          (["SDIFF", "s1", "s2"], {b"a"}),
                          (["SMEMBERS", "missing"], set())):
        reply = wire(*args)
        assert type(reply) is expected_type, args
        assert set(reply) == members
    # SPOP with a count answers a set too; SRANDMEMBER with a count an array
    assert type(wire("SPOP", "s2", 2)) is expected_type
    assert type(wire("SPOP", "missing", 2)) is expected_type
    assert type(wire("SRANDMEMBER", "s1", 2)) is list
    assert type(wire("SRANDMEMBER", "s1", -5)) is list


def test_spop(r):
    members = {b"m%d" % i for i in range(10)}
    r.sadd("s", *members)
    one = r.spop("s")
    assert one in members
    three = r.spop("s", 3)
    assert len(three) == 3 and set(three) <= members - {one}
    assert r.scard("s") == 6
    assert r.spop("s", 0) in ([], set())
    rest = r.spop("s", 100)                      # more than there is: all, and the key goes
    assert set(rest) | set(three) | {one} == members
    assert r.exists("s") == 0
    assert r.spop("missing") is None
    assert r.spop("missing", 2) in ([], set())
    r.sadd("s", "a")
    assert r.spop("s") == b"a"
    assert r.exists("s") == 0


@pytest.mark.parametrize("args, message", [
    (["SPOP", "s", "-1"], "value is out of range, must be positive"),
    (["SPOP", "s", "x"], "value is out of range, must be positive"),
    (["SPOP", "s", "1", "2"], "syntax error"),
    (["SRANDMEMBER", "s", "x"], "value is not an integer or out of range"),
    (["SRANDMEMBER", "s", "1", "2"], "syntax error"),
    (["SRANDMEMBER", "s", "-9223372036854775808"],
     "value is out of range, value must between -9223372036854775807 and 9223372036854775807"),
])
def test_spop_srandmember_errors(r, args, message):
    r.sadd("s", "a")
    with pytest.raises(redis.ResponseError, match=message):
        r.execute_command(*args)


def test_srandmember(r):
    members = {b"a", b"b", b"c"}
    r.sadd("s", *members)
    assert r.srandmember("s") in members
    picked = r.srandmember("s", 2)
    assert len(picked) == 2 and len(set(picked)) == 2 and set(picked) <= members
    assert sorted(r.srandmember("s", 10)) == sorted(members)      # distinct, at most all
    repeated = r.srandmember("s", -20)                           # negative: may repeat
    assert len(repeated) == 20 and set(repeated) <= members
    assert r.srandmember("s", 0) == []
    assert r.srandmember("missing") is None
    assert r.srandmember("missing", 5) == []
    assert r.scard("s") == 3                                     # nothing was removed


def test_smove(r):
    r.sadd("src", "a", "b")
    r.sadd("dst", "b")
    assert r.smove("src", "dst", "a") == 1
    assert r.smembers("src") == {b"b"} and r.smembers("dst") == {b"a", b"b"}
    assert r.smove("src", "dst", "zz") == 0
    assert r.smove("src", "dst", "b") == 1                       # already there: still 1
    assert r.exists("src") == 0
    assert r.smove("missing", "dst", "a") == 0
    assert r.smove("dst", "new", "a") == 1
    assert r.smembers("new") == {b"a"}
    assert r.smove("new", "new", "a") == 1                       # same set: membership
    assert r.smove("new", "new", "x") == 0
    r.set("str", "x")
    assert r.smove("missing", "str", "a") == 0                   # a missing source wins
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
        r.smove("dst", "str", "b")
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
        r.smove("str", "dst", "b")
    assert r.smembers("dst") == {b"b"}


def test_algebra(r):
    r.sadd("a", 1, 2, 3, 4)
    r.sadd("b", 3, 4, 5)
    r.sadd("c", 4, 6)
    assert r.sinter("a", "b") == {b"3", b"4"}
    assert r.sinter("a", "b", "c") == {b"4"}
    assert r.sinter("a", "missing") == set()
    assert r.sunion("a", "b", "missing") == {b"1", b"2", b"3", b"4", b"5"}
    assert r.sdiff("a", "b") == {b"1", b"2"}
    assert r.sdiff("a", "b", "c") == {b"1", b"2"}
    assert r.sdiff("a", "missing") == {b"1", b"2", b"3", b"4"}
    assert r.sdiff("missing", "a") == set()


def test_algebra_store(r):
    r.sadd("a", 1, 2, 3)
    r.sadd("b", 2, 3, 4)
    assert r.sinterstore("dst", ["a", "b"]) == 2
    assert r.smembers("dst") == {b"2", b"3"}
    assert r.sunionstore("dst", ["a", "b"]) == 4
    assert r.smembers("dst") == {b"1", b"2", b"3", b"4"}
    assert r.sdiffstore("dst", ["a", "b"]) == 1
    assert r.smembers("dst") == {b"1"}
    assert r.sdiffstore("a", ["a", "b"]) == 1                    # a source may be the target
    assert r.smembers("a") == {b"1"}
    r.set("dst", "string", ex=100)                               # any value is replaced,
    assert r.sunionstore("dst", ["b"]) == 3                      # its TTL too
    assert r.type("dst") == b"set" and r.ttl("dst") == -1
    assert r.sinterstore("dst", ["a", "b"]) == 0                 # empty: deleted
    assert r.exists("dst") == 0


def test_sintercard(r):
    r.sadd("a", 1, 2, 3, 4)
    r.sadd("b", 2, 3, 4, 5)
    assert r.sintercard(2, ["a", "b"]) == 3
    assert r.sintercard(2, ["a", "b"], limit=2) == 2
    assert r.sintercard(2, ["a", "b"], limit=0) == 3             # 0: no limit
    assert r.sintercard(2, ["a", "missing"]) == 0
    assert r.sintercard(1, ["a"]) == 4


@pytest.mark.parametrize("args, message", [
    (["SINTERCARD", "0", "a"], "numkeys should be greater than 0"),
    (["SINTERCARD", "x", "a"], "numkeys should be greater than 0"),
    (["SINTERCARD", "3", "a"], "Number of keys can't be greater than number of args"),
    (["SINTERCARD", "1", "a", "LIMIT", "-1"], "LIMIT can't be negative"),
    (["SINTERCARD", "1", "a", "LIMIT", "x"], "LIMIT can't be negative"),
    (["SINTERCARD", "1", "a", "LIMIT"], "syntax error"),
    (["SINTERCARD", "1", "a", "FOO", "1"], "syntax error"),
])
def test_sintercard_errors(r, args, message):
    with pytest.raises(redis.ResponseError, match=message):
        r.execute_command(*args)


def test_wrong_type(r):
    r.set("str", "x")
    r.sadd("s", "a")
    calls = [
        lambda: r.sadd("str", "a"), lambda: r.srem("str", "a"), lambda: r.smembers("str"),
        lambda: r.sismember("str", "a"), lambda: r.smismember("str", ["a"]),
        lambda: r.scard("str"), lambda: r.spop("str"), lambda: r.spop("str", 2),
        lambda: r.srandmember("str"), lambda: r.srandmember("str", 2),
        lambda: r.sinter("s", "str"), lambda: r.sinter("missing", "str"),
        lambda: r.sunion("str"), lambda: r.sdiff("missing", "str"),
        lambda: r.sinterstore("dst", ["s", "str"]), lambda: r.sintercard(2, ["s", "str"]),
        lambda: r.sscan("str"),
    ]
    for call in calls:
        with pytest.raises(redis.ResponseError, match="^WRONGTYPE Operation against a key"):
            call()


def test_sscan_small_and_options(r):
    r.sadd("s", "apple", "banana", "avocado")
    cursor, members = r.sscan("s")
    assert cursor == 0 and sorted(members) == [b"apple", b"avocado", b"banana"]
    assert sorted(r.sscan("s", match="a*")[1]) == [b"apple", b"avocado"]
    assert r.sscan("missing") == (0, [])
    with pytest.raises(redis.ResponseError, match="invalid cursor"):
        r.execute_command("SSCAN", "s", "abc")
    with pytest.raises(redis.ResponseError, match="syntax error"):
        r.execute_command("SSCAN", "s", "0", "COUNT", "0")
    with pytest.raises(redis.ResponseError, match="syntax error"):
        r.execute_command("SSCAN", "s", "0", "TYPE", "set")


def test_sscan_of_a_small_integer_set_comes_whole_and_in_order(r):
    """An intset is answered in one call, whatever COUNT, sorted by value as it is kept."""
    r.sadd("s", 5, 3, 10, 1, -7)
    assert r.sscan("s", 0, count=2) == (0, [b"-7", b"1", b"3", b"5", b"10"])


def test_sscan_large_set_returns_every_member(r):
    members = {b"member:%d" % i for i in range(10_000)}
    pipe = r.pipeline(transaction=False)
    chunk = list(members)
    for start in range(0, len(chunk), 1000):
        pipe.sadd("big", *chunk[start:start + 1000])
    pipe.execute()
    seen = list(r.sscan_iter("big", count=500))
    assert set(seen) == members                    # every member, maybe some twice
    matched = set(r.sscan_iter("big", match="member:99*", count=500))
    assert matched == {m for m in members if m.startswith(b"member:99")}


def test_sscan_survives_changes_during_iteration(r):
    r.sadd("s", *range(300))
    cursor, seen = r.sscan("s", 0, count=50)
    r.srem("s", *range(0, 300, 2))                 # remove the even ones midway
    while cursor:
        cursor, members = r.sscan("s", cursor, count=50)
        seen += members
    odd = {b"%d" % i for i in range(1, 300, 2)}
    assert odd <= set(seen)                         # every member present throughout


def test_watch_sees_only_real_changes(r):
    r.sadd("s", "a")
    with r.pipeline() as pipe:
        pipe.watch("s")
        r.sadd("s", "a")                           # already there: not a change
        r.srem("s", "zz")                          # not there: not a change
        pipe.multi()
        pipe.scard("s")
        assert pipe.execute() == [1]
    with r.pipeline() as pipe:
        pipe.watch("s")
        r.sadd("s", "b")
        pipe.multi()
        pipe.scard("s")
        with pytest.raises(redis.WatchError):
            pipe.execute()
    with r.pipeline() as pipe:
        pipe.watch("dst")
        r.sadd("src", "x")
        r.smove("src", "dst", "x")
        pipe.multi()
        pipe.scard("dst")
        with pytest.raises(redis.WatchError):
            pipe.execute()


def test_encoding_and_copy(r):
    r.sadd("ints", 1, 2, 3)
    assert r.object("encoding", "ints") == b"intset"
    r.sadd("big", *range(1000), "text")
    assert r.object("encoding", "big") == b"hashtable"
    assert r.copy("ints", "clone") == 1
    r.sadd("clone", 4)
    assert r.scard("ints") == 3 and r.scard("clone") == 4


def test_a_small_set_of_integers_comes_sorted(r):
    # Redis keeps it as an intset, sorted by value; redis-py's sets hide the order.
    r.sadd("ints", 10, 2, -3, 1, 5)
    r.sadd("more", 3, 1)
    assert call_raw(r, "SMEMBERS", "ints") == [b"-3", b"1", b"2", b"5", b"10"]
    assert call_raw(r, "SUNION", "ints", "more") == [b"-3", b"1", b"2", b"3", b"5", b"10"]
    assert call_raw(r, "SDIFF", "ints", "more") == [b"-3", b"2", b"5", b"10"]
    assert call_raw(r, "SINTER", "ints", "more") == [b"1"]
    r.sadd("padded", "07", "2")                     # "07" is no intset member: any order
    assert sorted(call_raw(r, "SMEMBERS", "padded")) == [b"07", b"2"]
