"""String commands through redis-py, against our server and real Redis alike."""

import time

import pytest
import redis


def test_get_set_basics(r):
    assert r.get("missing") is None
    assert r.set("k", "v") is True
    assert r.get("k") == b"v"
    assert r.set("k", b"\x00\xffbinary\r\n") is True
    assert r.get("k") == b"\x00\xffbinary\r\n"
    assert r.set("empty", "") is True
    assert r.get("empty") == b""


def test_set_conditions(r):
    assert r.set("k", "1", nx=True) is True
    assert r.set("k", "2", nx=True) is None
    assert r.get("k") == b"1"
    assert r.set("other", "1", xx=True) is None
    assert r.set("k", "3", xx=True) is True
    assert r.get("k") == b"3"


def test_set_get_option(r):
    assert r.set("k", "a", get=True) is None
    assert r.set("k", "b", get=True) == b"a"
    assert r.set("k", "c", nx=True, get=True) == b"b"      # allowed together since 7.0
    assert r.get("k") == b"b"
    r.rpush("list", "x")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        r.set("list", "v", get=True)


def test_set_expiry_options(r):
    r.set("ex", "v", ex=100)
    assert 99 <= r.ttl("ex") <= 100
    r.set("px", "v", px=100000)
    assert 99000 < r.pttl("px") <= 100000
    r.set("exat", "v", exat=int(time.time()) + 100)
    assert 98 <= r.ttl("exat") <= 100
    r.set("pxat", "v", pxat=int(time.time() * 1000) + 100000)
    assert 98 <= r.ttl("pxat") <= 100
    r.set("keep", "v", ex=100)
    r.set("keep", "w", keepttl=True)
    assert r.ttl("keep") > 90
    r.set("keep", "x")
    assert r.ttl("keep") == -1


@pytest.mark.parametrize("args, message", [
    (["SET", "k", "v", "EX", "0"], "invalid expire time in 'set' command"),
    (["SET", "k", "v", "EX", "-5"], "invalid expire time in 'set' command"),
    (["SET", "k", "v", "EX", "abc"], "value is not an integer or out of range"),
    (["SET", "k", "v", "EX"], "syntax error"),
    (["SET", "k", "v", "NX", "XX"], "syntax error"),
    (["SET", "k", "v", "EX", "10", "PX", "100"], "syntax error"),
    (["SET", "k", "v", "KEEPTTL", "EX", "10"], "syntax error"),
    (["SET", "k", "v", "BOGUS"], "syntax error"),
    (["SET", "k", "v", "EX", "99999999999999999"], "invalid expire time in 'set' command"),
])
def test_set_errors(r, args, message):
    with pytest.raises(redis.ResponseError, match=message):
        r.execute_command(*args)


def test_expired_key_is_gone(r):
    r.set("k", "v", px=30)
    time.sleep(0.06)
    assert r.get("k") is None
    assert r.exists("k") == 0


def test_setnx_setex_psetex_getset(r):
    assert r.setnx("k", "1") is True
    assert r.setnx("k", "2") is False
    assert r.setex("e", 100, "v") is True
    assert 99 <= r.ttl("e") <= 100
    assert r.psetex("p", 100000, "v") is True
    assert r.pttl("p") > 99000
    with pytest.raises(redis.ResponseError, match="invalid expire time in 'setex' command"):
        r.setex("e", 0, "v")
    assert r.getset("k", "new") == b"1"
    assert r.getset("nothing", "x") is None


def test_getdel_getex(r):
    r.set("k", "v")
    assert r.getdel("k") == b"v"
    assert r.getdel("k") is None
    r.set("k", "v")
    assert r.getex("k", ex=100) == b"v"
    assert 99 <= r.ttl("k") <= 100
    assert r.getex("k", persist=True) == b"v"
    assert r.ttl("k") == -1
    assert r.getex("missing", ex=10) is None
    with pytest.raises(redis.ResponseError, match="syntax error"):
        r.execute_command("GETEX", "k", "EX", "10", "PERSIST")


def test_mget_mset_msetnx(r):
    assert r.mset({"a": "1", "b": "2"}) is True
    r.rpush("list", "x")
    assert r.mget("a", "b", "missing", "list") == [b"1", b"2", None, None]
    assert r.msetnx({"a": "9", "c": "3"}) is False
    assert r.get("c") is None
    assert r.msetnx({"c": "3", "d": "4"}) is True
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'mset' command"):
        r.execute_command("MSET", "a", "1", "b")


def test_append_strlen_ranges(r):
    assert r.append("k", "Hello") == 5
    assert r.append("k", " World") == 11
    assert r.strlen("k") == 11
    assert r.strlen("missing") == 0
    assert r.getrange("k", 0, 4) == b"Hello"
    assert r.getrange("k", -5, -1) == b"World"
    assert r.getrange("k", 5, 3) == b""
    assert r.getrange("k", -100, 100) == b"Hello World"
    assert r.getrange("k", -1, -5) == b""
    assert r.getrange("missing", 0, 10) == b""
    assert r.setrange("k", 6, "Redis") == 11
    assert r.get("k") == b"Hello Redis"
    assert r.setrange("pad", 3, "x") == 4
    assert r.get("pad") == b"\x00\x00\x00x"
    assert r.setrange("nothing", 5, "") == 0
    assert r.exists("nothing") == 0
    with pytest.raises(redis.ResponseError, match="offset is out of range"):
        r.setrange("k", -1, "x")
    assert r.execute_command("SUBSTR", "k", 0, 4) == b"Hello"


def test_counters(r):
    assert r.incr("n") == 1
    assert r.incrby("n", 10) == 11
    assert r.decr("n") == 10
    assert r.decrby("n", 20) == -10
    r.set("big", str(2**63 - 1))
    with pytest.raises(redis.ResponseError, match="increment or decrement would overflow"):
        r.incr("big")
    r.set("text", "abc")
    with pytest.raises(redis.ResponseError, match="value is not an integer or out of range"):
        r.incr("text")
    r.set("spaced", " 1")
    with pytest.raises(redis.ResponseError, match="value is not an integer or out of range"):
        r.incr("spaced")
    with pytest.raises(redis.ResponseError, match="value is not an integer or out of range"):
        r.incrby("n", "1.5")
    r.set("ttl", "5", ex=100)
    r.incr("ttl")
    assert r.ttl("ttl") > 90                     # counters keep their TTL


def test_incrbyfloat(r):
    assert r.incrbyfloat("f", 10.5) == 10.5
    assert r.incrbyfloat("f", 0.1) == pytest.approx(10.6)
    assert r.get("f") == b"10.6"
    r.set("g", "0.1")
    r.incrbyfloat("g", "0.2")
    assert r.get("g") == b"0.3"
    r.set("e", "5.0e3")
    assert r.incrbyfloat("e", "2.0e2") == 5200
    assert r.get("e") == b"5200"
    r.set("text", "abc")
    with pytest.raises(redis.ResponseError, match="value is not a valid float"):
        r.incrbyfloat("text", 1)
    with pytest.raises(redis.ResponseError, match="value is not a valid float"):
        r.incrbyfloat("f", "nan")
    # Redis adds in long double: 1e308 + 1e308 is fine, 1e4932 + 1e4932 overflows.
    r.set("huge", "1e308")
    r.incrbyfloat("huge", "1e308")
    assert r.get("huge").startswith(b"19999999999999999999337175931169129132")
    r.set("huger", "1e4932")
    with pytest.raises(redis.ResponseError, match="increment would produce NaN or Infinity"):
        r.incrbyfloat("huger", "1e4932")
    with pytest.raises(redis.ResponseError, match="value is not a valid float"):
        r.incrbyfloat("f", "1e5000")
    r.set("precise", "16")
    r.incrbyfloat("precise", "123456789.987654321")
    assert r.get("precise") == b"123456805.98765432099753525"     # long double digits


def test_lcs(r):
    r.mset({"key1": "ohmytext", "key2": "mynewtext"})
    assert r.lcs("key1", "key2") == b"mytext"
    assert r.lcs("key1", "key2", len=True) == 6
    reply = r.execute_command("LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN")
    # RESP2 gives a flat list, RESP3 a map: normalise
    if isinstance(reply, list):
        reply = dict(zip(reply[::2], reply[1::2]))
    reply = {k.decode() if isinstance(k, bytes) else k: v for k, v in reply.items()}
    assert reply["len"] == 6
    assert reply["matches"] == [[[4, 7], [5, 8], 4]]


def test_lcs_refuses_a_table_larger_than_proto_max_bulk_len(r):
    r.setrange("long", 423324, "1450173551")        # (423334 + 1)^2 counts: far too many
    with pytest.raises(redis.ResponseError, match="Insufficient memory, transient memory "
                                                  "for LCS exceeds proto-max-bulk-len"):
        r.lcs("long", "long")
    assert r.ping()


def test_wrong_type(r):
    r.rpush("list", "x")
    for call in (lambda: r.get("list"), lambda: r.incr("list"), lambda: r.append("list", "x"),
                 lambda: r.strlen("list"), lambda: r.getrange("list", 0, 1)):
        with pytest.raises(redis.ResponseError, match="^WRONGTYPE Operation against a key"):
            call()


def test_set_keepttl_on_an_expired_key_keeps_no_ttl(r):
    # The expired key is gone before the write: there is no TTL left to keep.
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    try:
        r.set("stale", "old", px=1)
        time.sleep(0.01)
        r.set("stale", "new", keepttl=True)
        assert r.get("stale") in (b"new", "new")
        assert r.ttl("stale") == -1
    finally:
        r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1")
