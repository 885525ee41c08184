"""Hash commands through redis-py, against our server and real Redis alike."""

import pytest
import redis


def test_hset_hget(r):
    assert r.hset("h", "f", "v") == 1
    assert r.hset("h", "f", "w") == 0                   # replaced, not added
    assert r.hset("h", mapping={"a": "1", "b": "2", "f": "x"}) == 2
    assert r.hget("h", "f") == b"x"
    assert r.hget("h", "missing") is None
    assert r.hget("missing", "f") is None
    assert r.execute_command("HSET", "h", "dup", "1", "dup", "2") == 1
    assert r.hget("h", "dup") == b"2"                   # the last pair wins
    assert r.hset("h", b"\x00\xff", b"\r\n") == 1
    assert r.hget("h", b"\x00\xff") == b"\r\n"


def test_hmset(r):
    assert r.execute_command("HMSET", "h", "a", "1", "b", "2") is True
    assert r.hmget("h", "a", "b", "c") == [b"1", b"2", None]
    assert r.hmget("missing", "a", "b") == [None, None]


@pytest.mark.parametrize("command", ["HSET", "HMSET"])
def test_set_needs_pairs(r, command):
    for args in (["f"], ["f", "v", "g"]):
        with pytest.raises(redis.ResponseError) as error:
            r.execute_command(command, "h", *args)
        assert str(error.value) == f"wrong number of arguments for '{command.lower()}' command"
    assert r.exists("h") == 0


def test_hsetnx(r):
    assert r.hsetnx("h", "f", "1") == 1
    assert r.hsetnx("h", "f", "2") == 0
    assert r.hget("h", "f") == b"1"


def test_whole_hash_reads(r):
    r.hset("h", mapping={"a": "1", "b": "2", "c": "3"})
    assert r.hgetall("h") == {b"a": b"1", b"b": b"2", b"c": b"3"}
    assert sorted(r.hkeys("h")) == [b"a", b"b", b"c"]
    assert sorted(r.hvals("h")) == [b"1", b"2", b"3"]
    assert r.hlen("h") == 3
    assert r.hgetall("missing") == {}
    assert r.hkeys("missing") == []
    assert r.hvals("missing") == []
    assert r.hlen("missing") == 0


def test_hgetall_shape(wire, protocol):
    wire.call("HSET", "h", "a", "1")
    if protocol == 2:
        assert wire.call("HGETALL", "h") == b"*2\r\n$1\r\na\r\n$1\r\n1\r\n"
        assert wire.call("HGETALL", "missing") == b"*0\r\n"
    else:
        assert wire.call("HGETALL", "h") == b"%1\r\n$1\r\na\r\n$1\r\n1\r\n"
        assert wire.call("HGETALL", "missing") == b"%0\r\n"
    assert wire.call("HKEYS", "missing") == b"*0\r\n"


def test_hexists_hstrlen(r):
    r.hset("h", "f", "hello")
    assert r.hexists("h", "f") is True
    assert r.hexists("h", "g") is False
    assert r.hexists("missing", "f") is False
    assert r.hstrlen("h", "f") == 5
    assert r.hstrlen("h", "g") == 0
    assert r.hstrlen("missing", "f") == 0


def test_hdel(r):
    r.hset("h", mapping={"a": "1", "b": "2", "c": "3"})
    assert r.hdel("h", "a", "nope", "a") == 1
    assert r.hdel("h", "b", "c") == 2
    assert r.exists("h") == 0                           # no fields left: no key
    assert r.hdel("missing", "a") == 0


def test_hincrby(r):
    assert r.hincrby("h", "n", 5) == 5
    assert r.hincrby("h", "n", -15) == -10
    r.hset("h", "max", str(2**63 - 1))
    with pytest.raises(redis.ResponseError, match="^increment or decrement would overflow$"):
        r.hincrby("h", "max", 1)
    assert r.hincrby("h", "max", -1) == 2**63 - 2
    for text in ("hello", " 1", "007", "1.5"):
        r.hset("h", "bad", text)
        with pytest.raises(redis.ResponseError, match="^hash value is not an integer$"):
            r.hincrby("h", "bad", 1)
    for increment in ("abc", "1.5", "99999999999999999999"):
        with pytest.raises(redis.ResponseError, match="^value is not an integer or out of range$"):
            r.hincrby("h", "n", increment)


def test_hincrbyfloat(r):
    assert r.hincrbyfloat("h", "f", 10.5) == 10.5
    assert r.hincrbyfloat("h", "f", 0.1) == pytest.approx(10.6)
    assert r.hget("h", "f") == b"10.6"
    r.hset("h", "e", "5.0e3")
    assert r.hincrbyfloat("h", "e", "2.0e2") == 5200
    assert r.hget("h", "e") == b"5200"
    r.hset("h", "hex", "0x10")
    assert r.hincrbyfloat("h", "hex", 1) == 17
    assert r.hincrby("h", "hex", 1) == 18               # the float text is an integer now
    r.hset("h", "precise", "16")
    r.hincrbyfloat("h", "precise", "123456789.987654321")
    assert r.hget("h", "precise") == b"123456805.98765432099753525"   # long double digits


@pytest.mark.parametrize("stored, increment, message", [
    (None, "abc", "value is not a valid float"),
    (None, "nan", "value is not a valid float"),
    (None, " 1", "value is not a valid float"),
    (None, "1/2", "value is not a valid float"),
    (None, "1e5000", "value is not a valid float"),
    (None, "inf", "value is NaN or Infinity"),
    (None, "-inf", "value is NaN or Infinity"),
    ("hello", "1", "hash value is not a float"),
    (" 1", "1", "hash value is not a float"),
    ("1e4932", "1e4932", "increment would produce NaN or Infinity"),
    ("inf", "1", "increment would produce NaN or Infinity"),
])
def test_hincrbyfloat_errors(r, stored, increment, message):
    r.hset("h", "other", "1")
    if stored is not None:
        r.hset("h", "f", stored)
    with pytest.raises(redis.ResponseError) as error:
        r.hincrbyfloat("h", "f", increment)
    assert str(error.value) == message
    assert r.hget("h", "f") == (stored.encode() if stored is not None else None)


def test_hscan_small_hash_in_one_call(r):
    fields = {f"f{i}": str(i) for i in range(20)}
    r.hset("h", mapping=fields)
    cursor, found = r.hscan("h", 0, count=5)             # compact: all at once anyway
    assert cursor == 0
    assert found == {k.encode(): v.encode() for k, v in fields.items()}
    assert r.hscan("h", 0, match="f1*") == (0, {b"f1": b"1", **{
        f"f1{i}".encode(): f"1{i}".encode() for i in range(10)}})
    assert r.hscan("missing", 0) == (0, {})


def test_hscan_large_hash_across_calls(r):
    fields = {f"field:{i}".encode(): b"x" * 70 for i in range(300)}
    r.hset("h", mapping=fields)
    cursor, seen, calls = 0, {}, 0
    while True:
        cursor, page = r.hscan("h", cursor, count=50)
        seen.update(page)
        calls += 1
        if cursor == 0:
            break
    assert seen == fields
    assert calls > 1
    assert dict(r.hscan_iter("h", match="field:1?")) == {
        f"field:1{i}".encode(): b"x" * 70 for i in range(10)}


@pytest.mark.parametrize("args, message", [
    (["abc"], "invalid cursor"),
    (["18446744073709551616"], "invalid cursor"),
    (["0", "COUNT", "abc"], "value is not an integer or out of range"),
    (["0", "COUNT", "0"], "syntax error"),
    (["0", "MATCH"], "syntax error"),
    (["0", "FOO", "bar"], "syntax error"),
    (["0", "TYPE", "string"], "syntax error"),
])
def test_hscan_errors(r, args, message):
    r.hset("h", "f", "v")
    with pytest.raises(redis.ResponseError) as error:
        r.execute_command("HSCAN", "h", *args)
    assert str(error.value) == message


def test_hscan_of_a_missing_key_reads_no_options(r):
    assert r.execute_command("HSCAN", "missing", "0", "COUNT", "abc") == (0, {})


def test_hrandfield(r):
    fields = {b"a": b"1", b"b": b"2", b"c": b"3"}
    r.hset("h", mapping=fields)
    assert r.hrandfield("h") in fields
    assert r.hrandfield("missing") is None
    picked = r.hrandfield("h", 2)
    assert len(picked) == 2 and len(set(picked)) == 2 and set(picked) <= set(fields)
    assert sorted(r.hrandfield("h", 10)) == [b"a", b"b", b"c"]      # at most the hash
    repeated = r.hrandfield("h", -10)                              # repeats allowed
    assert len(repeated) == 10 and set(repeated) <= set(fields)
    assert r.hrandfield("h", 0) == []
    assert r.hrandfield("missing", 3) == []


def test_hrandfield_withvalues_shape(r, protocol):
    r.hset("h", mapping={"a": "1", "b": "2", "c": "3"})
    reply = r.hrandfield("h", -5, withvalues=True)
    if protocol == 3:                                   # an array of [field, value] pairs
        pairs = reply
    else:                                               # one flat array
        pairs = [reply[i:i + 2] for i in range(0, len(reply), 2)]
    assert len(pairs) == 5
    assert all(pair in ([b"a", b"1"], [b"b", b"2"], [b"c", b"3"]) for pair in pairs)


def test_hrandfield_withvalues_wire(wire, protocol):
    wire.call("HSET", "h", "a", "1")
    if protocol == 3:
        expected = b"*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    else:
        expected = b"*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    assert wire.call("HRANDFIELD", "h", 1, "WITHVALUES") == expected
    assert wire.call("HRANDFIELD", "missing") == (b"$-1\r\n" if protocol == 2 else b"_\r\n")


@pytest.mark.parametrize("args, message", [
    (["abc"], "value is not an integer or out of range"),
    (["-9223372036854775808"], "value is out of range, value must between "
                               "-9223372036854775807 and 9223372036854775807"),
    (["4611686018427387904", "WITHVALUES"], "value is out of range"),
    (["-4611686018427387904", "WITHVALUES"], "value is out of range"),
    (["1", "FOO"], "syntax error"),
    (["1", "WITHVALUES", "x"], "syntax error"),
])
def test_hrandfield_errors(r, args, message):
    r.hset("h", "f", "v")
    with pytest.raises(redis.ResponseError) as error:
        r.execute_command("HRANDFIELD", "h", *args)
    assert str(error.value) == message


def test_wrong_type(r):
    r.set("s", "x")
    for args in (["HSET", "s", "f", "v"], ["HSETNX", "s", "f", "v"], ["HGET", "s", "f"],
                 ["HMGET", "s", "f"], ["HGETALL", "s"], ["HKEYS", "s"], ["HVALS", "s"],
                 ["HLEN", "s"], ["HEXISTS", "s", "f"], ["HSTRLEN", "s", "f"],
                 ["HDEL", "s", "f"], ["HINCRBY", "s", "f", "1"],
                 ["HINCRBYFLOAT", "s", "f", "1"], ["HSCAN", "s", "0"], ["HRANDFIELD", "s"],
                 ["HRANDFIELD", "s", "1"]):
        with pytest.raises(redis.ResponseError, match="^WRONGTYPE Operation against a key"):
            r.execute_command(*args)
    r.hset("h", "f", "v")
    assert r.type("h") == b"hash"
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
        r.lpush("h", "x")


def test_an_hset_on_a_watched_key_aborts_exec(r, other):
    r.hset("h", "f", "1")
    with r.pipeline() as pipe:
        pipe.watch("h")
        other.hset("h", "f", "1")                        # same value, still a change
        pipe.multi()
        pipe.hget("h", "f")
        with pytest.raises(redis.WatchError):
            pipe.execute()
