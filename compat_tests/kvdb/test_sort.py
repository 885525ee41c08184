"""SORT and SORT_RO through redis-py, against our server and real Redis alike."""

import pytest
import redis

from .conftest import connect
from .test_notifications import both, events  # noqa: F401  (the events fixture)

NOT_A_NUMBER = "^One or more scores can't be converted into double$"
SYNTAX = "^syntax error$"


def sort(r, *args):
    return r.execute_command("SORT", *args)


def test_numbers_by_default(r):
    r.rpush("l", "3", "1", "2", "10", "-5", "1.5", "2")
    assert sort(r, "l") == [b"-5", b"1", b"1.5", b"2", b"2", b"3", b"10"]
    assert sort(r, "l", "DESC") == [b"10", b"3", b"2", b"2", b"1.5", b"1", b"-5"]
    assert sort(r, "l", "desc", "asc") == sort(r, "l")          # the last one wins
    assert r.lrange("l", 0, -1) == [b"3", b"1", b"2", b"10", b"-5", b"1.5", b"2"]
    # Equal numbers are ordered by the elements' bytes.
    r.rpush("eq", "1.0", "01", "1", "1e0")
    assert sort(r, "eq") == [b"01", b"1", b"1.0", b"1e0"]
    assert sort(r, "eq", "DESC") == [b"1e0", b"1.0", b"1", b"01"]


def test_numbers_as_strtod_reads_them(r):
    r.rpush("l", "0x10", "inf", "-INFINITY", " 5", "", "1\x00junk", "2.5e1")
    assert sort(r, "l") == [b"-INFINITY", b"", b"1\x00junk", b" 5", b"0x10", b"2.5e1",
                            b"inf"]


@pytest.mark.parametrize("bad", ["abc", "1 ", "nan", "1_0", "+", " ", "0x", "1e"])
def test_not_a_number(r, bad):
    r.rpush("l", "1", bad, "2")
    with pytest.raises(redis.ResponseError, match=NOT_A_NUMBER):
        sort(r, "l")
    assert sort(r, "l", "ALPHA") is not None                    # fine as strings


def test_numbers_out_of_range(r):
    # Redis reads ERANGE from errno without clearing it first, so after this error it
    # refuses every numeric SORT until something else sets errno (a new connection
    # does): these checks come last in their test.
    for bad in ("1e400", "-1e309", "1e-400", "1e-320"):
        r.delete("l")
        r.rpush("l", bad)
        with pytest.raises(redis.ResponseError, match=NOT_A_NUMBER):
            sort(r, "l")


def test_alpha(r):
    r.rpush("l", "banana", "apple", "Cherry", "apple", "10", "9")
    assert sort(r, "l", "ALPHA") == [b"10", b"9", b"Cherry", b"apple", b"apple", b"banana"]
    assert sort(r, "l", "alpha", "desc") == [b"banana", b"apple", b"apple", b"Cherry", b"9",
                                             b"10"]
    with pytest.raises(redis.ResponseError, match=NOT_A_NUMBER):
        sort(r, "l")


def test_alpha_compares_up_to_a_nul_byte_unless_storing(r):
    r.rpush("l", "b\x00z", "b\x00a", "a")
    # strcoll stops at the NUL: the first two are equal and keep their order...
    assert sort(r, "l", "ALPHA") == [b"a", b"b\x00z", b"b\x00a"]
    # ... while STORE compares every byte.
    assert sort(r, "l", "ALPHA", "STORE", "dst") == 3
    assert r.lrange("dst", 0, -1) == [b"a", b"b\x00a", b"b\x00z"]


@pytest.mark.parametrize("limit, expected", [
    ((0, 2), [b"1", b"2"]), ((1, 2), [b"2", b"3"]), ((-1, 2), [b"1", b"2"]),
    ((3, -1), [b"4", b"5"]), ((3, 100), [b"4", b"5"]), ((5, 1), []), ((0, 0), []),
    ((100, 2), []), ((-5, -5), [b"1", b"2", b"3", b"4", b"5"]),
])
def test_limit(r, limit, expected):
    r.rpush("l", "5", "3", "1", "4", "2")
    assert sort(r, "l", "LIMIT", *limit) == expected


def test_sorted_sets_sort_by_member_not_score(r):
    r.zadd("z", {"3": 1, "1": 2, "2": 3})
    assert sort(r, "z") == [b"1", b"2", b"3"]
    assert sort(r, "z", "DESC", "LIMIT", 0, 2) == [b"3", b"2"]
    r.zadd("names", {"c": 1, "a": 2, "b": 3})
    assert sort(r, "names", "ALPHA") == [b"a", b"b", b"c"]
    with pytest.raises(redis.ResponseError, match=NOT_A_NUMBER):
        sort(r, "names")


def test_sets(r):
    r.sadd("s", "5", "3", "9", "1")
    assert sort(r, "s") == [b"1", b"3", b"5", b"9"]
    assert sort(r, "s", "DESC", "LIMIT", 1, 2) == [b"5", b"3"]
    r.sadd("names", "x", "b", "a")
    assert sort(r, "names", "ALPHA") == [b"a", b"b", b"x"]


def test_by_nosort_keeps_lists_and_sorted_sets_in_their_order(r):
    r.rpush("l", "c", "a", "d", "b")
    assert sort(r, "l", "BY", "nosort") == [b"c", b"a", b"d", b"b"]
    assert sort(r, "l", "BY", "nosort", "DESC") == [b"b", b"d", b"a", b"c"]
    assert sort(r, "l", "BY", "nosort", "LIMIT", 1, 2) == [b"a", b"d"]
    assert sort(r, "l", "BY", "nosort", "DESC", "LIMIT", 1, 5) == [b"d", b"a", b"c"]
    assert sort(r, "l", "BY", "constant") == [b"c", b"a", b"d", b"b"]   # any `*`-less one
    r.zadd("z", {"c": 1, "a": 2, "b": 3})
    assert sort(r, "z", "BY", "nosort") == [b"c", b"a", b"b"]
    assert sort(r, "z", "BY", "nosort", "DESC", "LIMIT", 0, 2) == [b"b", b"a"]
    # Once a BY without `*` is seen, a later BY with one does not sort either.
    assert sort(r, "l", "BY", "nosort", "BY", "w_*") == [b"c", b"a", b"d", b"b"]


def test_by_nosort_on_a_set(r):
    r.sadd("s", "c", "a", "d", "b")
    unsorted = sort(r, "s", "BY", "nosort")
    assert sorted(unsorted) == [b"a", b"b", b"c", b"d"]         # in the set's own order,
    assert sort(r, "s", "BY", "nosort", "DESC") == unsorted     # which DESC doesn't flip
    # Stored, or in a script, a set is sorted ALPHA all the same, for replication.
    assert sort(r, "s", "BY", "nosort", "DESC", "STORE", "dst") == 4
    assert r.lrange("dst", 0, -1) == [b"d", b"c", b"b", b"a"]
    script = "return redis.call('SORT', KEYS[1], 'BY', 'nosort', 'LIMIT', 1, 2)"
    assert r.eval(script, 1, "s") == [b"b", b"c"]


def test_by_pattern(r):
    r.rpush("l", "a", "b", "c", "d")
    r.mset({"w_a": "3", "w_b": "1", "w_c": "-2"})                # w_d is missing: 0
    assert sort(r, "l", "BY", "w_*") == [b"c", b"d", b"b", b"a"]
    assert sort(r, "l", "BY", "w_*", "DESC") == [b"a", b"b", b"d", b"c"]
    assert sort(r, "l", "BY", "w_*", "LIMIT", 1, 2) == [b"d", b"b"]
    # ALPHA compares the weights as strings; a missing one comes first.
    assert sort(r, "l", "BY", "w_*", "ALPHA") == [b"d", b"c", b"b", b"a"]
    assert sort(r, "l", "BY", "w_*", "ALPHA", "DESC") == [b"a", b"b", b"c", b"d"]
    # The `*` can be anywhere; only the first one is replaced.
    r.mset({"a-x*": "2", "b-x*": "1"})
    assert sort(r, "l", "BY", "*-x*", "LIMIT", 0, 2) == [b"c", b"d"]
    r.set("w_a", "heavy")
    with pytest.raises(redis.ResponseError, match=NOT_A_NUMBER):
        sort(r, "l", "BY", "w_*")


def test_by_hash_field(r):
    r.rpush("l", "1", "2", "3")
    r.hset("user_1", mapping={"age": "30", "name": "carol"})
    r.hset("user_2", mapping={"age": "20", "name": "alice"})
    r.hset("user_3", mapping={"name": "bob"})                   # no age: 0
    assert sort(r, "l", "BY", "user_*->age") == [b"3", b"2", b"1"]
    assert sort(r, "l", "BY", "user_*->name", "ALPHA") == [b"2", b"3", b"1"]
    # `->` with nothing after it is part of a key name, not a field.
    r.mset({"k_1->": "3", "k_2->": "2", "k_3->": "1"})
    assert sort(r, "l", "BY", "k_*->") == [b"3", b"2", b"1"]
    # A weight of the wrong type counts as missing.
    r.set("user_1", "string now")
    assert sort(r, "l", "BY", "user_*->age") == [b"1", b"3", b"2"]


def test_get(r):
    r.rpush("l", "2", "1", "3")
    r.mset({"name_1": "one", "name_2": "two"})
    r.hset("h_3", "f", "three")
    assert sort(r, "l", "GET", "#") == [b"1", b"2", b"3"]
    assert sort(r, "l", "GET", "name_*") == [b"one", b"two", None]
    assert sort(r, "l", "GET", "#", "GET", "name_*", "GET", "h_*->f", "DESC") == [
        b"3", None, b"three", b"2", b"two", None, b"1", b"one", None]
    assert sort(r, "l", "GET", "fixed", "LIMIT", 0, 2) == [None, None]  # needs a `*`
    assert sort(r, "l", "BY", "nosort", "GET", "name_*") == [b"two", b"one", None]
    r.rpush("wrong", "x")
    assert sort(r, "l", "GET", "wrong", "GET", "h_*") == [None] * 6


def test_get_reply_shape(wire, protocol):
    wire("RPUSH", "l", "1")
    null = b"$-1\r\n" if protocol == 2 else b"_\r\n"
    assert wire.call("SORT", "l", "GET", "#", "GET", "missing_*") == (
        b"*2\r\n$1\r\n1\r\n" + null)
    assert wire.call("SORT", "missing") == b"*0\r\n"


def test_store(r):
    r.rpush("l", "3", "1", "2")
    r.set("dst", "old", ex=100)
    assert sort(r, "l", "STORE", "dst") == 3
    assert r.type("dst") == b"list"
    assert r.lrange("dst", 0, -1) == [b"1", b"2", b"3"]
    assert r.ttl("dst") == -1                                   # a new value, no TTL
    # With GET, a missing value is stored as an empty string.
    r.set("name_2", "two")
    assert sort(r, "l", "GET", "#", "GET", "name_*", "STORE", "dst") == 6
    assert r.lrange("dst", 0, -1) == [b"1", b"", b"2", b"two", b"3", b""]
    # The source can be the destination.
    assert sort(r, "l", "DESC", "STORE", "l") == 3
    assert r.lrange("l", 0, -1) == [b"3", b"2", b"1"]
    # An empty result deletes the destination.
    assert sort(r, "l", "LIMIT", 0, 0, "STORE", "dst") == 0
    assert r.exists("dst") == 0
    assert sort(r, "missing", "STORE", "l") == 0
    assert r.exists("l") == 0


def test_sort_ro(r):
    r.rpush("l", "2", "3", "1")
    r.mset({"w_1": "9"})
    assert r.execute_command("SORT_RO", "l") == [b"1", b"2", b"3"]
    assert r.execute_command("SORT_RO", "l", "BY", "w_*", "GET", "#", "LIMIT", 0, 1) == [b"2"]
    with pytest.raises(redis.ResponseError, match=SYNTAX):
        r.execute_command("SORT_RO", "l", "STORE", "dst")
    assert r.exists("dst") == 0


@pytest.mark.parametrize("args, message", [
    (("LIMIT", 1), SYNTAX), (("LIMIT",), SYNTAX), (("BY",), SYNTAX), (("GET",), SYNTAX),
    (("STORE",), SYNTAX), (("ALPHA", "NOPE"), SYNTAX),
    (("LIMIT", "a", 1), "^value is not an integer or out of range$"),
    (("LIMIT", 0, "99999999999999999999"), "^value is not an integer or out of range$"),
])
def test_syntax_errors(r, args, message):
    r.rpush("l", "1")
    with pytest.raises(redis.ResponseError, match=message):
        sort(r, "l", *args)
    r.set("str", "x")                                           # checked before the type
    with pytest.raises(redis.ResponseError, match=message):
        sort(r, "str", *args)


def test_wrong_type_and_arity(r):
    r.set("str", "x")
    r.hset("h", "f", "v")
    for key in ("str", "h"):
        with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
            sort(r, key)
    with pytest.raises(redis.ResponseError, match="^wrong number of arguments for 'sort'"):
        r.execute_command("SORT")
    with pytest.raises(redis.ResponseError, match="^wrong number of arguments for 'sort_ro'"):
        r.execute_command("SORT_RO")


def test_by_and_get_need_access_to_every_key(r, server, protocol):
    r.sadd("s", "b", "a")
    r.acl_setuser("limited", enabled=True, nopass=True, keys=["s*", "w*"],
                  commands=["+@all"])
    try:
        limited = connect(server, protocol, username="limited", password="x")
        with pytest.raises(redis.ResponseError, match="^BY option of SORT denied due to "
                                                      "insufficient ACL permissions.$"):
            sort(limited, "s", "BY", "w_*")
        with pytest.raises(redis.ResponseError, match="^GET option of SORT denied due to "
                                                      "insufficient ACL permissions.$"):
            sort(limited, "s", "GET", "#")
        with pytest.raises(redis.ResponseError, match="^BY option of SORT denied"):
            limited.eval("return redis.call('SORT', KEYS[1], 'BY', 'w_*')", 1, "s")
        assert sort(limited, "s", "ALPHA", "BY", "nosort") is not None
        limited.close()
    finally:
        r.acl_deluser("limited")


def test_notifications(r, events):  # noqa: F811
    r.rpush("l", "2", "1")
    r.set("dst", "x")
    collect = events("KEA")
    sort(r, "l", "STORE", "dst")
    sort(r, "missing", "STORE", "dst")
    sort(r, "missing", "STORE", "dst")                          # nothing to delete
    sort(r, "l")
    assert collect() == both(("sortstore", "dst"), ("del", "dst"))


def test_command_info(wire):
    # SORT writes (STORE), SORT_RO only reads; both find more keys than the first.
    for name, flag in ((b"sort", "write"), (b"sort_ro", "readonly")):
        info = wire("COMMAND", "INFO", name)[0]
        assert info[:2] == [name, -2]
        assert {flag, "movablekeys"} <= set(info[2])          # flags are status replies
        assert info[3:6] == [1, 1, 1]
