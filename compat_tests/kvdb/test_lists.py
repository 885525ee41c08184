"""List commands through redis-py, against our server and real Redis alike.

The blocking pops are in test_blocking.py.
"""

import random

import pytest
import redis


def test_push_order_and_length(r):
    assert r.rpush("k", "a", "b") == 2
    assert r.lpush("k", "x", "y") == 4            # each goes to the head in turn
    assert r.lrange("k", 0, -1) == [b"y", b"x", b"a", b"b"]
    assert r.llen("k") == 4
    assert r.llen("missing") == 0
    assert r.rpush("bin", b"\x00\xff\r\n", b"") == 2
    assert r.lrange("bin", 0, -1) == [b"\x00\xff\r\n", b""]


def test_pushx_needs_an_existing_list(r):
    assert r.lpushx("missing", "a") == 0
    assert r.rpushx("missing", "a") == 0
    assert r.exists("missing") == 0
    r.rpush("k", "m")
    assert r.lpushx("k", "b", "a") == 3
    assert r.rpushx("k", "y", "z") == 5
    assert r.lrange("k", 0, -1) == [b"a", b"b", b"m", b"y", b"z"]


def test_pop_one(r):
    r.rpush("k", "a", "b", "c")
    assert r.lpop("k") == b"a"
    assert r.rpop("k") == b"c"
    assert r.lpop("k") == b"b"
    assert r.exists("k") == 0                     # the last pop deletes the key
    assert r.lpop("k") is None
    assert r.rpop("k") is None


def test_pop_with_count(r):
    r.rpush("k", *"abcdef")
    assert r.lpop("k", 2) == [b"a", b"b"]
    assert r.rpop("k", 2) == [b"f", b"e"]
    assert r.lpop("k", 0) == []
    assert r.rpop("k", 10) == [b"d", b"c"]
    assert r.exists("k") == 0
    assert r.lpop("k", 1) is None
    assert r.lpop("k", 0) is None                 # a missing key beats a zero count


def test_pop_reply_shapes(wire, protocol):
    null_bulk, null_array = (b"$-1\r\n", b"*-1\r\n") if protocol == 2 else (b"_\r\n", b"_\r\n")
    assert wire.call("LPOP", "missing") == null_bulk
    assert wire.call("RPOP", "missing", 3) == null_array
    wire.call("RPUSH", "k", "a", "b")
    assert wire.call("LPOP", "k", 0) == b"*0\r\n"
    assert wire.call("LPOP", "k", 1) == b"*1\r\n$1\r\na\r\n"
    assert wire.call("RPOP", "k") == b"$1\r\nb\r\n"
    assert wire.call("LMPOP", 1, "k", "LEFT") == null_array
    assert wire.call("LPOS", "k", "x") == null_bulk
    assert wire.call("LPOS", "k", "x", "COUNT", 0) == b"*0\r\n"


def test_lrange_and_lindex_indexes(r):
    r.rpush("k", *"abcde")
    assert r.lrange("k", 1, 2) == [b"b", b"c"]
    assert r.lrange("k", -2, -1) == [b"d", b"e"]
    assert r.lrange("k", -100, 100) == [b"a", b"b", b"c", b"d", b"e"]
    assert r.lrange("k", 3, 1) == []
    assert r.lrange("k", 5, 10) == []
    assert r.lrange("k", 0, -100) == []
    assert r.lrange("missing", 0, -1) == []
    assert r.lindex("k", 0) == b"a"
    assert r.lindex("k", -1) == b"e"
    assert r.lindex("k", 5) is None
    assert r.lindex("k", -6) is None
    assert r.lindex("missing", 0) is None


def test_lrange_matches_python_slicing_on_a_long_list(r):
    items = [str(i).encode() for i in range(1000)]
    r.rpush("k", *items)
    for start, stop in [(0, 99), (0, 599), (900, 999), (-100, -1), (-600, -2), (450, 460),
                        (-1, -1), (998, 2000), (-2000, 3)]:
        # LRANGE's stop is inclusive; Python's is not (and -1 + 1 would be 0).
        expected = items[start:stop + 1 if stop != -1 else None]
        assert r.lrange("k", start, stop) == expected, (start, stop)


def test_lset(r):
    r.rpush("k", "a", "b", "c")
    assert r.lset("k", 1, "B") is True
    assert r.lset("k", -1, "C") is True
    assert r.lrange("k", 0, -1) == [b"a", b"B", b"C"]
    with pytest.raises(redis.ResponseError, match="^index out of range$"):
        r.lset("k", 3, "x")
    with pytest.raises(redis.ResponseError, match="^index out of range$"):
        r.lset("k", -4, "x")
    with pytest.raises(redis.ResponseError, match="^no such key$"):
        r.lset("missing", 0, "x")
    with pytest.raises(redis.ResponseError, match="^no such key$"):
        r.execute_command("LSET", "missing", "abc", "x")  # the key is checked first
    with pytest.raises(redis.ResponseError, match="^value is not an integer or out of range$"):
        r.execute_command("LSET", "k", "abc", "x")


def test_linsert(r):
    r.rpush("k", "a", "c", "a")
    assert r.linsert("k", "before", "c", "b") == 4
    assert r.linsert("k", "AFTER", "a", "x") == 5          # the first pivot from the head
    assert r.lrange("k", 0, -1) == [b"a", b"x", b"b", b"c", b"a"]
    assert r.linsert("k", "before", "nope", "y") == -1
    assert r.linsert("missing", "before", "a", "y") == 0
    assert r.exists("missing") == 0
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        r.execute_command("LINSERT", "k", "MIDDLE", "a", "y")


def test_lrem(r):
    r.rpush("k", *"abacada")
    assert r.lrem("k", 2, "a") == 2                        # from the head
    assert r.lrange("k", 0, -1) == [b"b", b"c", b"a", b"d", b"a"]
    assert r.lrem("k", -1, "a") == 1                       # from the tail
    assert r.lrange("k", 0, -1) == [b"b", b"c", b"a", b"d"]
    assert r.lrem("k", 0, "zz") == 0
    assert r.lrem("k", 0, "a") == 1                        # all of them
    assert r.lrange("k", 0, -1) == [b"b", b"c", b"d"]
    for element in "bcd":
        r.lrem("k", 0, element)
    assert r.exists("k") == 0
    assert r.lrem("missing", 0, "a") == 0


def test_ltrim(r):
    r.rpush("k", *"123456")
    assert r.ltrim("k", 1, -2) is True
    assert r.lrange("k", 0, -1) == [b"2", b"3", b"4", b"5"]
    r.ltrim("k", -100, 100)
    assert r.llen("k") == 4
    r.ltrim("k", -1, -1)
    assert r.lrange("k", 0, -1) == [b"5"]
    r.ltrim("k", 2, 1)                                     # an empty range deletes the key
    assert r.exists("k") == 0
    r.rpush("k", "a", "b")
    r.ltrim("k", 5, 10)
    assert r.exists("k") == 0
    assert r.ltrim("missing", 0, 1) is True


def test_lpos(r):
    r.rpush("k", "a", "b", "c", "1", "2", "3", "c", "c")
    assert r.lpos("k", "c") == 2
    assert r.lpos("k", "c", rank=-1) == 7
    assert r.lpos("k", "c", rank=2) == 6
    assert r.lpos("k", "c", rank=4) is None
    assert r.lpos("k", "c", count=0) == [2, 6, 7]
    assert r.lpos("k", "c", rank=2, count=2) == [6, 7]
    assert r.lpos("k", "c", rank=-2, count=0) == [6, 2]
    assert r.lpos("k", "c", rank=4, count=0) == []
    assert r.lpos("k", "c", maxlen=2) is None               # only the first two compared
    assert r.lpos("k", "c", maxlen=3, count=0) == [2]
    assert r.lpos("k", "c", rank=-1, maxlen=2, count=0) == [7, 6]
    assert r.lpos("k", "zz") is None
    assert r.lpos("k", "zz", count=1) == []
    assert r.lpos("missing", "zz") is None
    assert r.lpos("missing", "zz", count=1) == []
    assert r.execute_command("LPOS", "k", "c", "RANK", 1, "RANK", 2) == 6   # the last wins


@pytest.mark.parametrize("args, message", [
    (["c", "RANK", "0"], "RANK can't be zero: use 1 to start from the first match, 2 from "
                         "the second ... or use negative to start from the end of the list"),
    (["c", "RANK", "abc"], "value is not an integer or out of range"),
    (["c", "COUNT", "-1"], "COUNT can't be negative"),
    (["c", "COUNT", "abc"], "COUNT can't be negative"),
    (["c", "MAXLEN", "-1"], "MAXLEN can't be negative"),
    (["c", "MAXLEN", "abc"], "MAXLEN can't be negative"),
    (["c", "FOO"], "syntax error"),
    (["c", "RANK"], "syntax error"),
])
def test_lpos_errors(r, args, message):
    r.rpush("k", "c")
    for key in ("k", "missing"):                           # options are read first
        with pytest.raises(redis.ResponseError) as error:
            r.execute_command("LPOS", key, *args)
        assert str(error.value) == message


def test_lpos_rank_of_int64_min(r, server_version):
    r.rpush("k", "a", "a")
    if server_version < (7, 2):
        pytest.skip("Redis 7.0 negated it into -1; 7.2 refuses it")
    with pytest.raises(redis.ResponseError, match="^value is out of range, value must between "
                                                  "-9223372036854775807 and 9223372036854775807$"):
        r.execute_command("LPOS", "k", "a", "RANK", "-9223372036854775808")


def test_lmove_every_direction(r):
    r.rpush("src", "1", "2", "3", "4")
    assert r.lmove("src", "dst", "LEFT", "LEFT") == b"1"
    assert r.lmove("src", "dst", "RIGHT", "LEFT") == b"4"
    assert r.lmove("src", "dst", "left", "right") == b"2"
    assert r.lmove("src", "dst", "RIGHT", "RIGHT") == b"3"
    assert r.exists("src") == 0
    assert r.lrange("dst", 0, -1) == [b"4", b"1", b"2", b"3"]
    assert r.lmove("src", "dst") is None
    assert r.lmove("dst", "dst", "LEFT", "RIGHT") == b"4"   # a rotation
    assert r.lrange("dst", 0, -1) == [b"1", b"2", b"3", b"4"]
    r.rpush("one", "x")
    assert r.lmove("one", "one", "LEFT", "LEFT") == b"x"    # never empty on the way
    assert r.lrange("one", 0, -1) == [b"x"]
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        r.execute_command("LMOVE", "dst", "x", "UP", "LEFT")


def test_lmove_wrong_type(r):
    r.set("s", "x")
    assert r.lmove("missing", "s") is None                  # nothing to move: no check
    r.rpush("k", "a")
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
        r.lmove("k", "s")
    assert r.lrange("k", 0, -1) == [b"a"]                   # nothing moved
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
        r.lmove("s", "k")


def test_rpoplpush(r):
    r.rpush("src", "a", "b")
    assert r.rpoplpush("src", "dst") == b"b"
    assert r.rpoplpush("src", "dst") == b"a"
    assert r.rpoplpush("src", "dst") is None
    assert r.lrange("dst", 0, -1) == [b"a", b"b"]
    assert r.exists("src") == 0


def test_lmpop(r):
    r.rpush("b", "1", "2", "3")
    assert r.lmpop(2, "a", "b", direction="RIGHT", count=2) == [b"b", [b"3", b"2"]]
    assert r.lmpop(2, "a", "b", direction="LEFT") == [b"b", [b"1"]]
    assert r.exists("b") == 0
    assert r.lmpop(2, "a", "b", direction="LEFT") is None
    r.rpush("a", "x")
    r.rpush("b", "y")
    assert r.lmpop(2, "a", "b", direction="LEFT", count=10) == [b"a", [b"x"]]


@pytest.mark.parametrize("args, message", [
    (["0", "k", "LEFT"], "numkeys should be greater than 0"),
    (["-1", "k", "LEFT"], "numkeys should be greater than 0"),
    (["abc", "k", "LEFT"], "numkeys should be greater than 0"),
    (["2", "k", "LEFT"], "syntax error"),
    (["1", "k", "UP"], "syntax error"),
    (["1", "k", "LEFT", "COUNT", "0"], "count should be greater than 0"),
    (["1", "k", "LEFT", "COUNT", "abc"], "count should be greater than 0"),
    (["1", "k", "LEFT", "COUNT", "1", "COUNT", "2"], "syntax error"),
    (["1", "k", "LEFT", "COUNT"], "syntax error"),
    (["1", "k", "LEFT", "FOO"], "syntax error"),
    (["1", "k"], "wrong number of arguments for 'lmpop' command"),
])
def test_lmpop_errors(r, args, message):
    with pytest.raises(redis.ResponseError) as error:
        r.execute_command("LMPOP", *args)
    assert str(error.value) == message


@pytest.mark.parametrize("args, message", [
    (["LPOP", "k", "-1"], "value is out of range, must be positive"),
    (["LPOP", "k", "abc"], "value is out of range, must be positive"),
    (["RPOP", "k", "1", "2"], "wrong number of arguments for 'rpop' command"),
    (["LPUSH", "k"], "wrong number of arguments for 'lpush' command"),
    (["LRANGE", "k", "a", "1"], "value is not an integer or out of range"),
    (["LINDEX", "k", "1.5"], "value is not an integer or out of range"),
    (["LREM", "k", "abc", "x"], "value is not an integer or out of range"),
    (["LTRIM", "k", "0", "abc"], "value is not an integer or out of range"),
])
def test_argument_errors(r, args, message):
    r.rpush("k", "a")
    with pytest.raises(redis.ResponseError) as error:
        r.execute_command(*args)
    assert str(error.value) == message


def test_wrong_type(r):
    r.set("s", "x")
    for args in (["LPUSH", "s", "a"], ["RPUSHX", "s", "a"], ["LPOP", "s"], ["RPOP", "s", "0"],
                 ["LLEN", "s"], ["LRANGE", "s", "0", "-1"], ["LINDEX", "s", "0"],
                 ["LSET", "s", "0", "a"], ["LINSERT", "s", "BEFORE", "a", "b"],
                 ["LREM", "s", "0", "a"], ["LTRIM", "s", "0", "1"], ["LPOS", "s", "a"],
                 ["LMPOP", "2", "missing", "s", "LEFT"]):
        with pytest.raises(redis.ResponseError, match="^WRONGTYPE Operation against a key"):
            r.execute_command(*args)
    r.rpush("k", "a")
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
        r.get("k")
    assert r.type("k") == b"list"


def test_a_push_on_a_watched_key_aborts_exec(r, other):
    r.rpush("k", "a")
    with r.pipeline() as pipe:
        pipe.watch("k")
        other.rpush("k", "b")
        pipe.multi()
        pipe.lpop("k")
        with pytest.raises(redis.WatchError):
            pipe.execute()
    assert r.lrange("k", 0, -1) == [b"a", b"b"]


@pytest.mark.parametrize("noop", [
    ["LPUSHX", "missing", "a"], ["LPOP", "k", "0"], ["LREM", "k", "0", "zz"],
    ["LINSERT", "k", "BEFORE", "zz", "b"], ["LMOVE", "missing", "k", "LEFT", "LEFT"],
])
def test_a_command_that_changes_nothing_keeps_the_watch(r, other, noop):
    r.rpush("k", "a")
    with r.pipeline() as pipe:
        pipe.watch("k", "missing")
        other.execute_command(*noop)
        pipe.multi()
        pipe.lpop("k")
        assert pipe.execute() == [b"a"]


def test_ltrim_touches_the_key_even_when_nothing_goes(r, other):
    r.rpush("k", "a")
    with r.pipeline() as pipe:
        pipe.watch("k")
        other.ltrim("k", 0, -1)
        pipe.multi()
        pipe.lpop("k")
        with pytest.raises(redis.WatchError):
            pipe.execute()


# -- elements of every shape, compared with Redis ---------------------------------------------
#
# We keep a list's elements as RESP bulk strings (structures/bulklist.py): elements that
# look like RESP themselves, empty ones, binary ones and long ones must come back exactly
# as pushed, by every command that reads, moves, compares, stores or serializes them.

TRICKY = [b"", b"x", b"$3\r\nabc\r\n", b"\r\n", b"*2\r\n", b"a\r\nb", b"\x00\xff\n", b"7",
          b"-12", b"y" * 255, b"z" * 256, b"w" * 9000]


def random_list_commands(client, seed: int) -> list:
    """A seeded random run of list commands (and scripts, transactions and DUMP/RESTORE
    over lists) on a few keys, each one's reply, then every list's elements."""
    rnd = random.Random(seed)
    client.flushall()
    keys = ["a", "b"]
    seen = []
    for _ in range(250):
        key, other = rnd.choice(keys), rnd.choice(keys)
        element = rnd.choice(TRICKY)
        index = rnd.randrange(-4, 4)
        command = rnd.choice([
            ("LPUSH", key, element, rnd.choice(TRICKY)), ("RPUSH", key, element),
            ("LPOP", key), ("RPOP", key, rnd.randrange(3)), ("LRANGE", key, index, -1),
            ("LINDEX", key, index), ("LPOS", key, element, "COUNT", 0),
            ("LREM", key, rnd.randrange(-2, 3), element), ("LSET", key, index, element),
            ("LINSERT", key, rnd.choice(["BEFORE", "AFTER"]), element, rnd.choice(TRICKY)),
            ("LMOVE", key, other, rnd.choice(["LEFT", "RIGHT"]), rnd.choice(["LEFT", "RIGHT"])),
            ("LMPOP", 2, *keys, "RIGHT", "COUNT", 2), ("BLPOP", key, other, "0.01"),
            ("SORT", key, "ALPHA", "LIMIT", 0, 3), ("SORT", key, "ALPHA", "STORE", other),
            ("EVAL", "return {redis.call('lpop', KEYS[1]), redis.call('lindex', KEYS[1], 0),"
                     " redis.call('lrange', KEYS[1], 0, 2)}", 1, key),
            ("LLEN", key),
        ])
        try:
            if rnd.random() < 0.1:                    # the same, in a transaction
                with client.pipeline() as pipe:
                    pipe.execute_command(*command)
                    pipe.lrange(key, 0, -1)
                    seen.append([str(reply) if isinstance(reply, Exception) else reply
                                 for reply in pipe.execute(raise_on_error=False)])
            else:
                seen.append(client.execute_command(*command))
        except redis.ResponseError as error:
            seen.append(str(error))
        if rnd.random() < 0.05 and client.exists(key):
            client.restore(key, 0, client.dump(key), replace=True)
    return seen + [client.lrange(key, 0, -1) for key in keys if client.type(key) == b"list"]


@pytest.mark.parametrize("seed", range(6))
def test_random_list_commands_match_redis(pair, seed):
    ours, theirs = pair
    assert random_list_commands(ours, seed) == random_list_commands(theirs, seed)
