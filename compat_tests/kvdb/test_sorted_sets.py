"""Sorted set commands through redis-py, against our server and real Redis alike.

redis-py reshapes sorted set replies differently across versions and protocols, so the
tests read them through `scored()`; the exact wire shapes (RESP3 pairs and doubles,
RESP2 flat arrays of bulk strings) are checked with the `wire` client.
"""

import threading
import time

import pytest
import redis

from compat_tests.kvdb.conftest import connect

INF = float("inf")


def scored(reply) -> list:
    """A WITHSCORES-style reply, nested or flat, as [(member, float score), ...]."""
    if reply and isinstance(reply[0], (list, tuple)):
        return [(member, float(score)) for member, score in reply]
    return [(reply[i], float(reply[i + 1])) for i in range(0, len(reply), 2)]


def members(*names) -> list:
    return [name.encode() for name in names]


# -- ZADD -------------------------------------------------------------------------------------

def test_zadd_and_read_back(r):
    assert r.zadd("z", {"a": 1, "b": 2.5, "c": -3}) == 3
    assert r.zadd("z", {"a": 10, "d": 4}) == 1          # a updated, d added
    assert r.zcard("z") == 4
    assert r.zscore("z", "a") == 10.0
    assert r.zscore("z", "missing") is None
    assert r.zscore("nokey", "a") is None
    assert r.zmscore("z", ["a", "nope", "c"]) == [10.0, None, -3.0]
    assert r.zmscore("nokey", ["a", "b"]) == [None, None]
    assert scored(r.zrange("z", 0, -1, withscores=True)) == [
        (b"c", -3.0), (b"b", 2.5), (b"d", 4.0), (b"a", 10.0)]
    assert r.type("z") == b"zset"
    assert r.zcard("nokey") == 0


def test_zadd_orders_ties_by_member_bytes(r):
    r.zadd("z", {"b": 1, "a": 1, "": 1, "a\xff": 1, "\x00": 1, "z": 0})
    assert r.zrange("z", 0, -1) == [b"z", b"", b"\x00", b"a", b"a\xc3\xbf", b"b"]


def test_zadd_conditions(r):
    r.zadd("z", {"a": 5})
    assert r.zadd("z", {"a": 1, "b": 1}, nx=True) == 1      # only b is new
    assert r.zscore("z", "a") == 5
    assert r.zadd("z", {"a": 2, "c": 1}, xx=True) == 0      # only a is updated
    assert r.zscore("z", "a") == 2 and r.zscore("z", "c") is None
    assert r.zadd("nokey", {"a": 1}, xx=True) == 0
    assert r.exists("nokey") == 0                           # XX never creates the key
    assert r.zadd("z", {"a": 1, "b": 9}, gt=True, ch=True) == 1   # only b grows
    assert r.zscore("z", "a") == 2 and r.zscore("z", "b") == 9
    assert r.zadd("z", {"a": 1, "b": 10}, lt=True, ch=True) == 1  # only a shrinks
    assert r.zadd("z", {"new": 1}, gt=True) == 1             # GT still adds new members
    assert r.zadd("z", {"a": 100, "b": 9}, ch=True) == 1     # CH counts changed scores
    assert r.zadd("z", {"a": 100}, xx=True, gt=True) == 0


def test_zadd_incr(r):
    assert r.zadd("z", {"a": 1.5}, incr=True) == 1.5
    assert r.zadd("z", {"a": 1}, incr=True) == 2.5
    assert r.zadd("z", {"a": 1}, incr=True, nx=True) is None  # exists: nothing done
    assert r.zadd("z", {"b": 1}, incr=True, xx=True) is None  # missing: nothing done
    assert r.zadd("z", {"a": -1}, incr=True, gt=True) is None
    assert r.zadd("z", {"a": 0}, incr=True) == 2.5             # touched, unchanged
    assert r.zincrby("z", 10, "a") == 12.5
    assert r.zincrby("z", -5, "new") == -5.0
    r.zadd("z", {"inf": INF})
    assert r.zincrby("z", 1, "inf") == INF
    with pytest.raises(redis.ResponseError, match="^resulting score is not a number \\(NaN\\)"):
        r.zincrby("z", "-inf", "inf")
    assert r.zscore("z", "inf") == INF


@pytest.mark.parametrize("args, message", [
    (["ZADD", "z", "NX", "XX", "1", "a"], "XX and NX options at the same time are not compatible"),
    (["ZADD", "z", "GT", "LT", "1", "a"], "GT, LT, and/or NX options at the same time are not compatible"),
    (["ZADD", "z", "NX", "GT", "1", "a"], "GT, LT, and/or NX options at the same time are not compatible"),
    (["ZADD", "z", "INCR", "1", "a", "2", "b"], "INCR option supports a single increment-element pair"),
    (["ZADD", "z", "1", "a", "2"], "syntax error"),
    (["ZADD", "z", "NX", "1"], "syntax error"),
    (["ZADD", "z", "1"], "wrong number of arguments for 'zadd' command"),
    (["ZADD", "z", "abc", "a"], "value is not a valid float"),
    (["ZADD", "z", "nan", "a"], "value is not a valid float"),
    (["ZADD", "z", "1e400", "a"], "value is not a valid float"),
    (["ZADD", "z", "1e-400", "a"], "value is not a valid float"),
    (["ZADD", "z", " 1", "a"], "value is not a valid float"),
    (["ZADD", "z", "1 ", "a"], "value is not a valid float"),
    (["ZADD", "z", "", "a"], "value is not a valid float"),
    (["ZADD", "z", "1", "a", "x", "b"], "value is not a valid float"),
    (["ZINCRBY", "z", "x", "a"], "value is not a valid float"),
    (["ZINCRBY", "z", "nan", "a"], "value is not a valid float"),
])
def test_zadd_errors(r, args, message):
    with pytest.raises(redis.ResponseError, match=message):
        r.execute_command(*args)
    assert r.exists("z") == 0                    # nothing was added before the error


def test_zadd_score_spellings(r):
    r.execute_command("ZADD", "z", "inf", "a", "-inf", "b", "+inf", "c", "0x10", "d",
                      "1e3", "e", "-0", "f", ".5", "g")
    assert scored(r.zrange("z", 0, -1, withscores=True)) == [
        (b"b", -INF), (b"f", 0.0), (b"g", 0.5), (b"d", 16.0), (b"e", 1000.0),
        (b"a", INF), (b"c", INF)]


def test_doubles_on_the_wire(wire, protocol, server_version):
    wire("ZADD", "z", "0.1", "a", "2", "b", "inf", "c")
    if protocol == 3:
        assert wire("ZSCORE", "z", "a") == 0.1 and wire.last.startswith(b",")
        assert wire("ZINCRBY", "z", "1", "b") == 3.0
        assert wire("ZSCORE", "z", "c") == INF and wire.last == b",inf\r\n"
        assert wire("ZMSCORE", "z", "a", "nope") == [0.1, None]
    else:
        assert float(wire("ZSCORE", "z", "a")) == 0.1
        assert wire("ZINCRBY", "z", "1", "b") == b"3"
        assert wire("ZSCORE", "z", "c") == b"inf"
        assert wire("ZSCORE", "z", "nope") is None and wire.last == b"$-1\r\n"
    if server_version >= (7, 2):                 # 7.0 wrote 0.10000000000000001
        wire("ZSCORE", "z", "a")
        assert wire.last.endswith(b"0.1\r\n") and b"0000" not in wire.last


def test_negative_zero_is_stored_as_zero(wire, protocol):
    # The reply of ZINCRBY is the computed -0; what a small sorted set keeps is 0.
    assert wire("ZINCRBY", "z", "-0", "m") == (-0.0 if protocol == 3 else b"-0")
    assert wire("ZSCORE", "z", "m") == (0.0 if protocol == 3 else b"0")
    assert wire.last.endswith(b"0\r\n") and b"-" not in wire.last
    wire("ZADD", "z", "-0", "n")
    assert wire("ZRANGE", "z", "0", "-1", "WITHSCORES") == \
        ([[b"m", 0.0], [b"n", 0.0]] if protocol == 3 else [b"m", b"0", b"n", b"0"])
    assert b"-" not in wire.last


def test_zrem(r):
    r.zadd("z", {"a": 1, "b": 2, "c": 3})
    assert r.zrem("z", "a", "x") == 1
    assert r.zrem("nokey", "a") == 0
    assert r.zrem("z", "b", "c") == 2
    assert r.exists("z") == 0


# -- counting and ranks ---------------------------------------------------------------------------

@pytest.fixture
def abcde(r):
    r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5})
    return r


def test_zcount(abcde):
    r = abcde
    assert r.zcount("z", 2, 4) == 3
    assert r.zcount("z", "(2", "(4") == 1
    assert r.zcount("z", "-inf", "+inf") == 5
    assert r.zcount("z", 4, 2) == 0
    assert r.zcount("z", "(3", 3) == 0
    assert r.zcount("nokey", 0, 10) == 0
    # bounds are read with strtod: leading spaces, hex, overflow and "" (zero) pass
    assert r.zcount("z", " 2", "0x4") == 3
    assert r.zcount("z", "1e400", "inf") == 0
    r.zadd("zero", {"at-zero": 0})
    assert r.zcount("zero", "", "") == 1            # "" reads as 0
    assert r.zcount("zero", "(", 1) == 0            # "(" alone is an exclusive 0
    for bad in ("x", "nan", "2 ", "  ", "1_0"):
        with pytest.raises(redis.ResponseError, match="^min or max is not a float$"):
            r.zcount("z", bad, 3)


def test_zlexcount_and_lex_ranges(r):
    r.zadd("z", {m: 0 for m in "abcdefg"})
    assert r.zlexcount("z", "-", "+") == 7
    assert r.zlexcount("z", "[b", "[d") == 3
    assert r.zlexcount("z", "(b", "(d") == 1
    assert r.zlexcount("z", "[d", "[b") == 0
    assert r.zlexcount("z", "+", "-") == 0
    assert r.zlexcount("nokey", "-", "+") == 0
    assert r.zrangebylex("z", "[aa", "(c") == members("b")
    assert r.zrangebylex("z", "-", "[c", start=1, num=5) == members("b", "c")
    assert r.zrevrangebylex("z", "+", "(e") == members("g", "f")
    assert r.zrevrangebylex("z", "[e", "-", start=1, num=2) == members("d", "c")
    for bad in ("a", "", "+x"):
        with pytest.raises(redis.ResponseError, match="^min or max not valid string range item$"):
            r.zlexcount("z", bad, "+")
    assert r.zremrangebylex("z", "[b", "(e") == 3
    assert r.zrange("z", 0, -1) == members("a", "e", "f", "g")
    assert r.zremrangebylex("z", "-", "+") == 4
    assert r.exists("z") == 0


def test_zrank(abcde):
    r = abcde
    assert r.zrank("z", "a") == 0
    assert r.zrank("z", "e") == 4
    assert r.zrevrank("z", "a") == 4
    assert r.zrank("z", "nope") is None
    assert r.zrevrank("nokey", "a") is None
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'zrank'"):
        r.execute_command("ZRANK", "z", "a", "WITHSCORE", "extra")


def test_zrank_withscore(abcde, wire, protocol, server_version):
    if server_version < (7, 2):
        pytest.skip("WITHSCORE came in Redis 7.2")
    r = abcde
    assert wire("ZRANK", "z", "c", "WITHSCORE") == ([2, 3.0] if protocol == 3 else [2, b"3"])
    assert wire("ZREVRANK", "z", "c", "withscore") == ([2, 3.0] if protocol == 3 else [2, b"3"])
    assert wire("ZRANK", "z", "nope", "WITHSCORE") is None
    assert wire.last == (b"_\r\n" if protocol == 3 else b"*-1\r\n")
    assert wire("ZRANK", "z", "nope") is None
    assert wire.last == (b"_\r\n" if protocol == 3 else b"$-1\r\n")
    with pytest.raises(redis.ResponseError, match="syntax error"):
        r.execute_command("ZRANK", "z", "a", "WITHSCORES")


# -- ranges -------------------------------------------------------------------------------------

def test_zrange_by_rank(abcde):
    r = abcde
    assert r.zrange("z", 0, -1) == members(*"abcde")
    assert r.zrange("z", 1, 2) == members("b", "c")
    assert r.zrange("z", -2, -1) == members("d", "e")
    assert r.zrange("z", -100, 1) == members("a", "b")
    assert r.zrange("z", 3, 100) == members("d", "e")
    assert r.zrange("z", 3, 1) == []
    assert r.zrange("z", 5, 10) == []
    assert r.zrange("z", 0, -6) == []
    assert r.zrange("z", 0, 1, desc=True) == members("e", "d")
    assert r.zrevrange("z", 0, 1) == members("e", "d")
    assert r.zrevrange("z", -1, -1) == members("a")
    assert scored(r.zrevrange("z", 0, 0, withscores=True)) == [(b"e", 5.0)]
    assert r.zrange("nokey", 0, -1) == []


def test_zrange_by_score(abcde):
    r = abcde
    assert r.zrange("z", 2, 4, byscore=True) == members("b", "c", "d")
    assert r.zrange("z", "(2", "4", byscore=True) == members("c", "d")
    assert r.zrange("z", "-inf", "(3", byscore=True) == members("a", "b")
    assert r.zrange("z", "4", "2", byscore=True, desc=True) == members("d", "c", "b")
    assert r.zrange("z", "-inf", "+inf", byscore=True, offset=1, num=2) == members("b", "c")
    assert r.zrange("z", "+inf", "-inf", byscore=True, desc=True, offset=1, num=2) == \
        members("d", "c")
    assert r.zrange("z", 1, 5, byscore=True, offset=3, num=-1) == members("d", "e")
    assert r.zrange("z", 1, 5, byscore=True, offset=0, num=0) == []
    assert r.zrange("z", 1, 5, byscore=True, offset=-1, num=2) == []
    assert r.zrange("z", 1, 5, byscore=True, offset=10, num=2) == []
    assert r.zrangebyscore("z", 2, "(4") == members("b", "c")
    assert scored(r.zrangebyscore("z", 4, "inf", withscores=True)) == [(b"d", 4.0), (b"e", 5.0)]
    assert r.zrangebyscore("z", "-inf", "inf", start=4, num=10) == members("e")
    assert r.zrevrangebyscore("z", 4, 2) == members("d", "c", "b")
    assert r.zrevrangebyscore("z", "+inf", "-inf", start=0, num=1) == members("e")
    assert r.zrevrangebyscore("z", 2, 4) == []


def test_zrange_withscores_shapes(abcde, wire, protocol):
    reply = wire("ZRANGE", "z", "0", "1", "WITHSCORES")
    if protocol == 3:
        assert reply == [[b"a", 1.0], [b"b", 2.0]]
    else:
        assert reply == [b"a", b"1", b"b", b"2"]
    assert wire("ZRANGE", "z", "0", "0", "WITHSCORES", "WITHSCORES") == \
        ([[b"a", 1.0]] if protocol == 3 else [b"a", b"1"])


@pytest.mark.parametrize("args, message", [
    (["ZRANGE", "z", "0", "-1", "BYLEX"], "min or max not valid string range item"),
    (["ZRANGE", "z", "a", "b", "BYSCORE"], "min or max is not a float"),
    (["ZRANGE", "z", "0", "x"], "value is not an integer or out of range"),
    (["ZRANGE", "z", "0", "1", "LIMIT", "0", "1"],
     "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"),
    (["ZREVRANGE", "z", "0", "1", "LIMIT", "0", "1"],
     "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"),
    (["ZRANGE", "z", "[a", "[b", "BYLEX", "WITHSCORES"],
     "syntax error, WITHSCORES not supported in combination with BYLEX"),
    (["ZRANGEBYLEX", "z", "-", "+", "WITHSCORES"],
     "syntax error, WITHSCORES not supported in combination with BYLEX"),
    (["ZRANGE", "z", "0", "1", "BYSCORE", "BYLEX"], "syntax error"),
    (["ZRANGE", "z", "0", "1", "REV", "REV"], "syntax error"),
    (["ZRANGE", "z", "0", "1", "BYSCORE", "LIMIT", "1"], "syntax error"),
    (["ZRANGE", "z", "0", "1", "BYSCORE", "LIMIT", "x", "1"], "value is not an integer"),
    (["ZRANGE", "z", "0", "1", "FOO"], "syntax error"),
    (["ZRANGEBYSCORE", "z", "0", "1", "REV"], "syntax error"),
    (["ZRANGEBYSCORE", "z", "0", "1", "BYLEX"], "syntax error"),
    (["ZRANGESTORE", "d", "z", "0", "-1", "WITHSCORES"], "syntax error"),
])
def test_zrange_errors(abcde, args, message):
    with pytest.raises(redis.ResponseError, match=message):
        abcde.execute_command(*args)


def test_zrange_quirks(abcde):
    r = abcde
    # LIMIT with a count of -1 is "no LIMIT", so even a rank range accepts it
    assert r.execute_command("ZRANGE", "z", "0", "0", "LIMIT", "0", "-1") == members("a")
    r.set("str", "x")
    with pytest.raises(redis.ResponseError, match="value is not an integer"):
        r.execute_command("ZRANGE", "str", "0", "x")    # arguments come before the type
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
        r.zrange("str", 0, 1)


def test_zrangestore(abcde):
    r = abcde
    assert r.zrangestore("dst", "z", 1, 2) == 2
    assert scored(r.zrange("dst", 0, -1, withscores=True)) == [(b"b", 2.0), (b"c", 3.0)]
    assert r.zrangestore("dst", "z", "(1", "+inf", byscore=True, offset=1, num=2) == 2
    assert r.zrange("dst", 0, -1) == members("c", "d")
    assert r.zrangestore("dst", "z", "+", "[c", bylex=True, desc=True) == 3
    assert r.zrange("dst", 0, -1) == members("c", "d", "e")
    r.set("other", "x", ex=100)
    assert r.zrangestore("other", "z", 0, 0) == 1
    assert r.type("other") == b"zset" and r.ttl("other") == -1
    assert r.zrangestore("dst", "z", 10, 20) == 0           # empty: the destination goes
    assert r.exists("dst") == 0
    assert r.zrangestore("dst", "nokey", 0, -1) == 0


def test_zremrange(abcde):
    r = abcde
    assert r.zremrangebyrank("z", 1, -2) == 3
    assert r.zrange("z", 0, -1) == members("a", "e")
    assert r.zremrangebyrank("z", 5, 10) == 0
    r.zadd("z", {"b": 2, "c": 3, "d": 4})
    assert r.zremrangebyscore("z", "(1", 3) == 2
    assert r.zremrangebyscore("z", "-inf", "(4") == 1
    assert r.zrange("z", 0, -1) == members("d", "e")
    assert r.zremrangebyscore("nokey", 0, 1) == 0
    assert r.zremrangebyrank("z", 0, -1) == 2
    assert r.exists("z") == 0
    for args, message in ((["ZREMRANGEBYSCORE", "z", "x", "1"], "min or max is not a float"),
                          (["ZREMRANGEBYRANK", "z", "a", "1"], "value is not an integer"),
                          (["ZREMRANGEBYLEX", "z", "a", "b"], "min or max not valid string")):
        with pytest.raises(redis.ResponseError, match=message):
            r.execute_command(*args)


# -- popping ------------------------------------------------------------------------------------

def test_zpop(abcde):
    r = abcde
    assert scored(r.zpopmin("z")) == [(b"a", 1.0)]
    assert scored(r.zpopmax("z", 2)) == [(b"e", 5.0), (b"d", 4.0)]
    assert scored(r.zpopmin("z", 10)) == [(b"b", 2.0), (b"c", 3.0)]
    assert r.exists("z") == 0
    assert r.zpopmin("nokey") == []
    assert r.zpopmax("nokey", 3) == []
    r.zadd("z", {"a": 1})
    assert r.zpopmin("z", 0) == []
    with pytest.raises(redis.ResponseError, match="value is out of range, must be positive"):
        r.zpopmin("z", -1)
    with pytest.raises(redis.ResponseError, match="syntax error"):
        r.execute_command("ZPOPMIN", "z", "1", "2")


def test_zpop_shapes(abcde, wire, protocol):
    # Without a count: one flat pair in both protocols; with one, pairs in RESP3.
    if protocol == 3:
        assert wire("ZPOPMIN", "z") == [b"a", 1.0]
        assert wire("ZPOPMIN", "z", "1") == [[b"b", 2.0]]
        assert wire("ZPOPMAX", "z", "2") == [[b"e", 5.0], [b"d", 4.0]]
    else:
        assert wire("ZPOPMIN", "z") == [b"a", b"1"]
        assert wire("ZPOPMIN", "z", "1") == [b"b", b"2"]
        assert wire("ZPOPMAX", "z", "2") == [b"e", b"5", b"d", b"4"]
    assert wire("ZPOPMIN", "nokey") == [] and wire.last == b"*0\r\n"


def test_zmpop(abcde, wire, protocol):
    score = (lambda text: float(text)) if protocol == 3 else (lambda text: text.encode())
    assert wire("ZMPOP", "2", "nokey", "z", "MIN") == [b"z", [[b"a", score("1")]]]
    assert wire("ZMPOP", "1", "z", "MAX", "COUNT", "2") == \
        [b"z", [[b"e", score("5")], [b"d", score("4")]]]
    assert wire("ZMPOP", "1", "z", "min", "count", "10") == \
        [b"z", [[b"b", score("2")], [b"c", score("3")]]]
    assert wire("EXISTS", "z") == 0
    assert wire("ZMPOP", "1", "z", "MIN") is None
    assert wire.last == (b"_\r\n" if protocol == 3 else b"*-1\r\n")


@pytest.mark.parametrize("args, message", [
    (["ZMPOP", "0", "z", "MIN"], "numkeys should be greater than 0"),
    (["ZMPOP", "x", "z", "MIN"], "numkeys should be greater than 0"),
    (["ZMPOP", "2", "z", "MIN"], "syntax error"),
    (["ZMPOP", "99999999999999", "z", "MIN"], "syntax error"),
    (["ZMPOP", "1", "z", "FOO"], "syntax error"),
    (["ZMPOP", "1", "z", "MIN", "COUNT", "0"], "count should be greater than 0"),
    (["ZMPOP", "1", "z", "MIN", "COUNT", "x"], "count should be greater than 0"),
    (["ZMPOP", "1", "z", "MIN", "COUNT", "1", "COUNT", "2"], "syntax error"),
    (["ZMPOP", "1", "z", "MIN", "COUNT"], "syntax error"),
    (["BZMPOP", "x", "1", "z", "MIN"], "timeout is not a float or out of range"),
    (["BZMPOP", "-1", "1", "z", "MIN"], "timeout is negative"),
    (["BZMPOP", "0", "0", "z", "MIN"], "numkeys should be greater than 0"),
    (["BZPOPMIN", "z", "x"], "timeout is not a float or out of range"),
    (["BZPOPMIN", "z", "-1"], "timeout is negative"),
])
def test_pop_errors(r, args, message):
    with pytest.raises(redis.ResponseError, match=message):
        r.execute_command(*args)


# -- blocking pops ----------------------------------------------------------------------------

def wait_for_blocked(r, count: int) -> None:
    deadline = time.monotonic() + 5
    while r.info("clients")["blocked_clients"] != count:
        assert time.monotonic() < deadline, "clients did not block"
        time.sleep(0.01)


def in_background(server, protocol, command, *args):
    """Run a blocking command on its own connection; returns (thread, replies list)."""
    replies = []

    def run():
        client = connect(server, protocol)
        try:
            replies.append(client.execute_command(command, *args))
        finally:
            client.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, replies


def triple(reply):
    key, member, score = reply
    return key, member, float(score)


def test_bzpopmin_pops_at_once(abcde):
    r = abcde
    assert triple(r.bzpopmin(["nokey", "z"], timeout=1)) == (b"z", b"a", 1.0)
    assert triple(r.bzpopmax(["z"], timeout=0)) == (b"z", b"e", 5.0)
    r.set("str", "x")
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
        r.bzpopmin(["str", "z"], timeout=0)


def test_bzpop_shapes(abcde, wire, protocol):
    if protocol == 3:
        assert wire("BZPOPMIN", "z", "0") == [b"z", b"a", 1.0]
    else:
        assert wire("BZPOPMIN", "z", "0") == [b"z", b"a", b"1"]
    assert wire("BZPOPMIN", "nokey", "0.01") is None
    assert wire.last == (b"_\r\n" if protocol == 3 else b"*-1\r\n")
    assert wire("BZMPOP", "0.01", "1", "nokey", "MIN") is None
    assert wire.last == (b"_\r\n" if protocol == 3 else b"*-1\r\n")


def test_bzpopmin_times_out(r):
    started = time.monotonic()
    assert r.bzpopmin(["nokey"], timeout=0.1) is None
    assert 0.09 <= time.monotonic() - started < 2
    assert r.info("clients")["blocked_clients"] == 0


def test_blocked_clients_are_served_in_arrival_order(r, server, protocol):
    first, first_reply = in_background(server, protocol, "BZPOPMIN", "z", "other", "5")
    wait_for_blocked(r, 1)
    second, second_reply = in_background(server, protocol, "BZPOPMIN", "z", "5")
    wait_for_blocked(r, 2)
    r.zadd("z", {"low": 1, "high": 2})
    first.join(5)
    second.join(5)
    assert triple(first_reply[0]) == (b"z", b"low", 1.0)
    assert triple(second_reply[0]) == (b"z", b"high", 2.0)
    assert r.exists("z") == 0


def test_bzmpop_waits_then_pops_count(r, server, protocol):
    thread, replies = in_background(server, protocol, "BZMPOP", "5", "2", "a", "b", "MAX",
                                    "COUNT", "2")
    wait_for_blocked(r, 1)
    r.zadd("b", {"x": 1, "y": 2, "z": 3})
    thread.join(5)
    key, pairs = replies[0]
    assert key == b"b" and scored(pairs) == [(b"z", 3.0), (b"y", 2.0)]
    assert r.zrange("b", 0, -1) == [b"x"]


def test_another_type_on_the_key_keeps_the_client_waiting(r, server, protocol):
    thread, replies = in_background(server, protocol, "BZPOPMIN", "k", "5")
    wait_for_blocked(r, 1)
    r.set("k", "a string")                       # not a sorted set: no reason to wake
    time.sleep(0.05)
    assert replies == [] and r.info("clients")["blocked_clients"] == 1
    r.delete("k")
    r.zadd("k", {"m": 1})
    thread.join(5)
    assert triple(replies[0]) == (b"k", b"m", 1.0)


def test_stores_and_transactions_wake_waiting_clients(r, server, protocol):
    r.zadd("src", {"a": 1, "b": 2})
    thread, replies = in_background(server, protocol, "BZPOPMAX", "dst", "5")
    wait_for_blocked(r, 1)
    r.zunionstore("dst", ["src"])
    thread.join(5)
    assert triple(replies[0]) == (b"dst", b"b", 2.0)
    thread, replies = in_background(server, protocol, "BZPOPMIN", "t", "5")
    wait_for_blocked(r, 1)
    with r.pipeline() as pipe:                 # served after EXEC, seeing the whole of it
        pipe.zadd("t", {"x": 5})
        pipe.zadd("t", {"y": 1})
        pipe.execute()
    thread.join(5)
    assert triple(replies[0]) == (b"t", b"y", 1.0)


def test_blocking_pops_do_not_block_inside_multi(r):
    with r.pipeline() as pipe:
        pipe.bzpopmin(["nokey"], timeout=0)
        pipe.bzmpop(0, 1, ["nokey"], min=True)
        pipe.zadd("z", {"a": 1})
        pipe.bzpopmax(["z"], timeout=0)
        started = time.monotonic()
        replies = pipe.execute()
    assert time.monotonic() - started < 1
    assert replies[0] is None and replies[1] is None
    assert triple(replies[3]) == (b"z", b"a", 1.0)


def test_a_pop_on_another_connection_breaks_watch(r, server, protocol):
    r.zadd("z", {"a": 1})
    with r.pipeline() as pipe:
        pipe.watch("z")
        other = connect(server, protocol)
        triple(other.bzpopmin(["z"], timeout=1))
        other.close()
        pipe.multi()
        pipe.zcard("z")
        with pytest.raises(redis.WatchError):
            pipe.execute()


# -- random members and iteration -----------------------------------------------------------------

def test_zrandmember(abcde):
    r = abcde
    everything = set(members(*"abcde"))
    assert r.zrandmember("z") in everything
    picked = r.zrandmember("z", 3)
    assert len(set(picked)) == 3 and set(picked) <= everything
    assert sorted(r.zrandmember("z", 10)) == sorted(everything)
    repeated = r.zrandmember("z", -20)
    assert len(repeated) == 20 and set(repeated) <= everything
    pairs = scored(r.zrandmember("z", -7, withscores=True))
    assert len(pairs) == 7 and all(r.zscore("z", member) == score for member, score in pairs)
    assert r.zrandmember("z", 0) == []
    assert r.zrandmember("nokey") is None
    assert r.zrandmember("nokey", 3) == []
    for args, message in ((["ZRANDMEMBER", "z", "x"], "value is not an integer"),
                          (["ZRANDMEMBER", "z", "1", "FOO"], "syntax error"),
                          (["ZRANDMEMBER", "z", "WITHSCORES"], "value is not an integer"),
                          (["ZRANDMEMBER", "z", "5000000000000000000", "WITHSCORES"],
                           "value is out of range")):
        with pytest.raises(redis.ResponseError, match=message):
            r.execute_command(*args)


def test_zrandmember_withscores_shape(abcde, wire, protocol):
    reply = wire("ZRANDMEMBER", "z", "-2", "WITHSCORES")
    if protocol == 3:
        assert len(reply) == 2 and all(isinstance(pair[1], float) for pair in reply)
    else:
        assert len(reply) == 4 and all(isinstance(item, bytes) for item in reply)


def test_zscan(r, wire):
    r.zadd("z", {"apple": 1.5, "banana": 2, "avocado": 0.1})
    cursor, pairs = r.zscan("z")
    assert cursor == 0
    assert sorted(pairs) == [(b"apple", 1.5), (b"avocado", 0.1), (b"banana", 2.0)]
    assert sorted(r.zscan("z", match="a*")[1]) == [(b"apple", 1.5), (b"avocado", 0.1)]
    assert r.zscan("nokey") == (0, [])
    cursor, flat = wire("ZSCAN", "z", "0", "MATCH", "b*")
    assert flat == [b"banana", b"2"]             # scores are text, in RESP3 too
    with pytest.raises(redis.ResponseError, match="invalid cursor"):
        r.execute_command("ZSCAN", "z", "x")


def test_zscan_of_a_small_zset_comes_whole_in_score_order(r):
    """A listpack sorted set is answered in one call, whatever COUNT, in its order: by
    score, then member (walrus iterates its ZSet this way)."""
    r.zadd("z", {"e": 5, "a": 1, "c": 3, "b": 1})
    assert r.zscan("z", 0, count=2) == (0, [(b"a", 1.0), (b"b", 1.0), (b"c", 3.0),
                                            (b"e", 5.0)])


def test_zscan_large_zset_returns_every_member(r):
    scores = {b"m%d" % i: float(i) / 8 for i in range(10_000)}
    r.zadd("big", scores)
    seen = dict(r.zscan_iter("big", count=500))
    assert seen == scores


# -- union, intersection, difference ----------------------------------------------------------------

@pytest.fixture
def operands(r):
    r.zadd("z1", {"a": 1, "b": 2})
    r.zadd("z2", {"b": 10, "c": 20})
    r.sadd("s", "b", "c", "d")                    # a plain set: every member scores 1
    return r


def test_zunion_zinter_zdiff(operands):
    r = operands
    assert scored(r.zunion(["z1", "z2"], withscores=True)) == [
        (b"a", 1.0), (b"b", 12.0), (b"c", 20.0)]
    assert scored(r.zunion({"z1": 2, "z2": 3}, aggregate="MAX", withscores=True)) == [
        (b"a", 2.0), (b"b", 30.0), (b"c", 60.0)]
    assert scored(r.zunion(["z1", "s"], aggregate="MIN", withscores=True)) == [
        (b"a", 1.0), (b"b", 1.0), (b"c", 1.0), (b"d", 1.0)]
    assert r.zunion(["z1", "nokey"]) == members("a", "b")
    assert scored(r.zinter(["z1", "z2", "s"], withscores=True)) == [(b"b", 13.0)]
    assert r.zinter(["z1", "nokey"]) == []
    assert scored(r.zdiff(["z2", "z1"], withscores=True)) == [(b"c", 20.0)]
    assert r.zdiff(["s", "z1", "nokey"]) == members("c", "d")
    assert r.zdiff(["nokey", "z1"]) == []
    assert r.zintercard(3, ["z1", "z2", "s"]) == 1
    assert r.zintercard(2, ["z2", "s"]) == 2
    assert r.zintercard(2, ["z2", "s"], limit=1) == 1
    assert r.zintercard(2, ["z2", "nokey"]) == 0


def test_infinities_in_set_operations(operands):
    r = operands
    r.zadd("pos", {"x": INF})
    r.zadd("neg", {"x": -INF})
    # inf + -inf and 0 * inf count as 0, as in Redis
    assert scored(r.zunion(["pos", "neg"], withscores=True)) == [(b"x", 0.0)]
    assert scored(r.zunion({"pos": 0, "z1": 1}, withscores=True)) == [
        (b"x", 0.0), (b"a", 1.0), (b"b", 2.0)]
    assert scored(r.zinter({"pos": 1, "neg": 1}, aggregate="MAX", withscores=True)) == [
        (b"x", INF)]
    assert scored(r.zunion({"z1": "inf"}, withscores=True)) == [(b"a", INF), (b"b", INF)]
    # In an intersection only the first input's 0 * inf counts as 0; a later one makes
    # the SUM NaN, which counts as 0, and MIN and MAX pass it over
    r.zadd("pos2", {"x": INF})
    for aggregate, score in (("SUM", 0.0), ("MIN", INF), ("MAX", INF)):
        assert scored(r.zinter({"pos": 1, "pos2": 0}, aggregate=aggregate,
                               withscores=True)) == [(b"x", score)]
    assert scored(r.zinter({"pos": 0, "pos2": 1}, withscores=True)) == [(b"x", INF)]


def test_store_variants(operands):
    r = operands
    assert r.zunionstore("dst", ["z1", "z2"]) == 3
    assert scored(r.zrange("dst", 0, -1, withscores=True)) == [
        (b"a", 1.0), (b"b", 12.0), (b"c", 20.0)]
    assert r.zinterstore("dst", {"z1": 1, "s": 5}) == 1
    assert scored(r.zrange("dst", 0, -1, withscores=True)) == [(b"b", 7.0)]
    assert r.zdiffstore("dst", ["s", "z2"]) == 1
    assert scored(r.zrange("dst", 0, -1, withscores=True)) == [(b"d", 1.0)]
    r.set("str", "x", ex=100)
    assert r.zunionstore("str", ["z1"]) == 2                 # replaces any value, and TTL
    assert r.type("str") == b"zset" and r.ttl("str") == -1
    assert r.zinterstore("dst", ["z1", "nokey"]) == 0        # empty: deleted
    assert r.exists("dst") == 0
    assert r.zunionstore("z1", ["z1", "z2"]) == 3            # a source can be the target


@pytest.mark.parametrize("args, message", [
    (["ZUNIONSTORE", "d", "0", "z1"], "at least 1 input key is needed for 'zunionstore' command"),
    (["ZUNION", "-1", "z1"], "at least 1 input key is needed for 'zunion' command"),
    (["ZDIFF", "0", "z1"], "at least 1 input key is needed for 'zdiff' command"),
    (["ZINTERCARD", "0", "z1"], "at least 1 input key is needed for 'zintercard' command"),
    (["ZINTERCARD", "x", "z1"], "value is not an integer or out of range"),
    (["ZUNIONSTORE", "d", "x", "z1"], "value is not an integer or out of range"),
    (["ZUNIONSTORE", "d", "3", "z1", "z2"], "syntax error"),
    (["ZUNIONSTORE", "d", "2", "z1", "z2", "WEIGHTS", "1"], "syntax error"),
    (["ZUNIONSTORE", "d", "2", "z1", "z2", "WEIGHTS", "1", "x"], "weight value is not a float"),
    (["ZUNION", "1", "z1", "WEIGHTS", "nan"], "weight value is not a float"),
    (["ZUNIONSTORE", "d", "2", "z1", "z2", "AGGREGATE", "AVG"], "syntax error"),
    (["ZUNION", "1", "z1", "AGGREGATE"], "syntax error"),
    (["ZUNIONSTORE", "d", "2", "z1", "z2", "WITHSCORES"], "syntax error"),
    (["ZDIFF", "2", "z1", "s", "WEIGHTS", "1", "1"], "syntax error"),
    (["ZDIFF", "1", "z1", "AGGREGATE", "MIN"], "syntax error"),
    (["ZINTERCARD", "1", "z1", "LIMIT", "-2"], "LIMIT can't be negative"),
    (["ZINTERCARD", "1", "z1", "LIMIT", "x"], "LIMIT can't be negative"),
    (["ZINTERCARD", "1", "z1", "WITHSCORES"], "syntax error"),
    (["ZINTER", "2", "z1", "str"], "WRONGTYPE"),
    (["ZINTER", "1", "str", "BOGUS"], "WRONGTYPE"),         # keys are checked first
])
def test_set_operation_errors(operands, args, message):
    operands.set("str", "x")
    with pytest.raises(redis.ResponseError, match=message):
        operands.execute_command(*args)


def test_repeated_options_take_the_last(operands):
    r = operands
    assert scored(r.execute_command("ZUNION", "1", "z1", "WEIGHTS", "1", "WEIGHTS", "2",
                                    "WITHSCORES")) == [(b"a", 2.0), (b"b", 4.0)]
    assert scored(r.execute_command("ZUNION", "2", "z1", "z2", "AGGREGATE", "MIN",
                                    "AGGREGATE", "MAX", "WITHSCORES")) == [
        (b"a", 1.0), (b"b", 10.0), (b"c", 20.0)]


# -- everything else ------------------------------------------------------------------------------

def test_wrong_type(r):
    r.set("str", "x")
    calls = [
        lambda: r.zadd("str", {"a": 1}), lambda: r.zincrby("str", 1, "a"),
        lambda: r.zrem("str", "a"), lambda: r.zscore("str", "a"),
        lambda: r.zmscore("str", ["a"]), lambda: r.zcard("str"), lambda: r.zcount("str", 0, 1),
        lambda: r.zlexcount("str", "-", "+"), lambda: r.zrange("str", 0, 1),
        lambda: r.zrangebyscore("str", 0, 1), lambda: r.zrank("str", "a"),
        lambda: r.zrevrank("str", "a"), lambda: r.zremrangebyrank("str", 0, 1),
        lambda: r.zremrangebyscore("str", 0, 1), lambda: r.zremrangebylex("str", "-", "+"),
        lambda: r.zpopmin("str"), lambda: r.zpopmax("str", 0), lambda: r.zrandmember("str"),
        lambda: r.zscan("str"), lambda: r.zunion(["str"]), lambda: r.zmpop(1, ["str"], min=True),
        lambda: r.zrangestore("dst", "str", 0, 1),
    ]
    for call in calls:
        with pytest.raises(redis.ResponseError, match="^WRONGTYPE Operation against a key"):
            call()


def test_watch_sees_only_real_changes(r):
    r.zadd("z", {"a": 1})
    with r.pipeline() as pipe:
        pipe.watch("z")
        r.zadd("z", {"a": 1})                     # same score: not a change
        r.zadd("z", {"b": 1}, xx=True)            # nothing done
        r.zrem("z", "nope")
        r.zremrangebyscore("z", 5, 10)
        pipe.multi()
        pipe.zcard("z")
        assert pipe.execute() == [1]
    for change in (lambda: r.zadd("z", {"a": 2}), lambda: r.zincrby("z", 1, "a"),
                   lambda: r.zpopmin("z"), lambda: r.zunionstore("z", ["z", "other"])):
        r.zadd("z", {"a": 1})
        with r.pipeline() as pipe:
            pipe.watch("z")
            change()
            pipe.multi()
            pipe.zcard("z")
            with pytest.raises(redis.WatchError):
                pipe.execute()


def test_encoding_copy_and_ranks_of_a_large_set(r):
    r.zadd("small", {"a": 1})
    assert r.object("encoding", "small") == b"listpack"
    scores = {b"m%05d" % i: float(i % 100) for i in range(2000)}
    r.zadd("big", scores)
    assert r.object("encoding", "big") == b"skiplist"
    ordered = sorted(scores, key=lambda member: (scores[member], member))
    assert r.zrange("big", 0, -1) == ordered
    for rank in (0, 1, 999, 1998, 1999):
        assert r.zrank("big", ordered[rank]) == rank
        assert r.zrange("big", rank, rank) == [ordered[rank]]
    assert r.zcount("big", 10, "(20") == 200
    assert r.copy("big", "clone") == 1
    r.zrem("clone", ordered[0])
    assert r.zcard("big") == 2000 and r.zcard("clone") == 1999
    assert r.zrange("clone", 0, 0) == [ordered[1]]
