"""Strings changed in place (APPEND, SETRANGE, SETBIT, BITFIELD), against our server and
real Redis alike: the encoding OBJECT reports, and that every reader sees a value that
does not change under it when the string is edited again."""

import random

import pytest
import redis


def encoding(r, key):
    return r.object("encoding", key)


def test_editing_makes_a_string_raw(r):
    r.append("appended", "12")                 # a new key stores the argument as SET does
    assert encoding(r, "appended") == b"int"
    r.append("appended", "3")
    assert encoding(r, "appended") == b"raw"
    assert r.get("appended") == b"123"
    r.set("ranged", "abc")
    r.setrange("ranged", 1, "X")
    assert encoding(r, "ranged") == b"raw"
    r.setrange("fresh", 2, "ab")
    assert encoding(r, "fresh") == b"raw"
    assert r.get("fresh") == b"\x00\x00ab"
    r.setbit("bits", 9, 1)
    assert encoding(r, "bits") == b"raw"
    r.set("unchanged", "abc")
    assert r.setbit("unchanged", 0, 0) == 0    # no change, but raw all the same
    assert encoding(r, "unchanged") == b"raw"
    r.bitfield("field").set("u8", 0, 1).execute()
    assert encoding(r, "field") == b"raw"
    r.set("a", "1")
    r.bitop("OR", "ored", "a")
    assert encoding(r, "ored") == b"raw"
    r.pfadd("hll", "x")
    assert encoding(r, "hll") == b"raw"


def test_a_raw_string_changed_by_value_is_encoded_anew(r):
    r.set("n", "1")
    r.append("n", "2")
    assert encoding(r, "n") == b"raw"
    assert r.incr("n") == 13
    assert encoding(r, "n") == b"int"
    r.append("n", ".5")
    assert r.incrbyfloat("n", 1) == 14.5
    assert encoding(r, "n") == b"embstr"
    r.append("n", "x")
    r.set("n", "plain")
    assert encoding(r, "n") == b"embstr"


def test_copy_of_a_raw_string_is_raw_and_separate(r):
    r.set("source", "abc")
    r.append("source", "def")
    assert r.copy("source", "copy") is True
    assert encoding(r, "copy") == b"raw"
    r.append("source", "ghi")
    r.setrange("copy", 0, "X")
    assert r.get("source") == b"abcdefghi"
    assert r.get("copy") == b"Xbcdef"


def test_replies_in_one_pipeline_keep_the_value_they_read(r):
    r.set("k", "ab")
    r.append("k", "c")
    pipe = r.pipeline(transaction=False)
    pipe.get("k")
    pipe.append("k", "d")
    pipe.mget("k", "missing")
    pipe.setrange("k", 0, "XY")
    pipe.getrange("k", 0, -1)
    pipe.setbit("k", 7, 0)
    pipe.getex("k")
    pipe.set("k", "new", get=True)
    assert pipe.execute() == [b"abc", 4, [b"abcd", None], 4, b"XYcd", 0, b"XYcd", b"XYcd"]


def test_transaction_replies_keep_the_value_they_read(r):
    r.set("k", "ab")
    r.append("k", "c")
    with r.pipeline(transaction=True) as pipe:
        pipe.get("k")
        pipe.append("k", "d")
        pipe.get("k")
        pipe.append("k", "e")
        assert pipe.execute() == [b"abc", 4, b"abcd", 5]


def test_scripts_read_a_raw_string_as_it_was(r):
    r.set("k", "ab")
    r.append("k", "c")
    script = ("local before = redis.call('GET', KEYS[1]) "
              "redis.call('APPEND', KEYS[1], 'd') "
              "return {before, redis.call('GETRANGE', KEYS[1], 0, -1), "
              "redis.call('STRLEN', KEYS[1])}")
    assert r.eval(script, 1, "k") == [b"abc", b"abcd", 4]


def test_sort_reads_raw_strings_for_by_and_get(r):
    r.rpush("ids", "1", "2")
    r.set("weight_1", "9")
    r.append("weight_1", "0")
    r.set("weight_2", "5")
    r.set("name_1", "one")
    r.append("name_1", "!")
    r.set("name_2", "two")
    assert r.sort("ids", by="weight_*", get="name_*") == [b"two", b"one!"]


def test_raw_strings_survive_dump_restore_and_read_as_strings(r):
    r.set("k", "hello")
    r.append("k", " world")
    assert r.type("k") == b"string"
    assert list(r.scan_iter(_type="string")) == [b"k"]
    assert r.strlen("k") == 11
    payload = r.dump("k")
    r.restore("restored", 0, payload)
    assert r.get("restored") == b"hello world"
    assert r.lcs("k", "restored") == b"hello world"
    r.rpush("list", "x")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        r.append("list", "x")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        r.setbit("list", 0, 1)


def test_many_appends_and_setbits_build_the_expected_values(r):
    pipe = r.pipeline(transaction=False)
    for i in range(5000):
        pipe.append("log", b"%04d;" % i)
        pipe.setbit("bitmap", i * 97 % 400_000, 1)
    replies = pipe.execute()
    assert replies[-2] == 5000 * 5
    assert r.get("log") == b"".join(b"%04d;" % i for i in range(5000))
    assert r.bitcount("bitmap") == len({i * 97 % 400_000 for i in range(5000)})
    assert r.strlen("bitmap") == max(i * 97 % 400_000 for i in range(5000)) // 8 + 1
    assert r.getbit("bitmap", 97) == 1 and r.getbit("bitmap", 98) == 0


def test_setrange_past_the_end_pads_an_edited_string(r):
    r.set("k", "ab")
    r.append("k", "c")
    assert r.setrange("k", 5, "Z") == 6
    assert r.get("k") == b"abc\x00\x00Z"
    assert r.setrange("k", 4, "xyz") == 7
    assert r.get("k") == b"abc\x00xyz"
    assert r.setrange("k", 1, "") == 7          # nothing to write: only the length
    assert r.get("k") == b"abc\x00xyz"


def test_bitfield_grows_an_edited_string_and_fail_keeps_it(r):
    r.set("k", "a")
    r.append("k", "b")
    assert r.bitfield("k").set("u8", 24, 255).execute() == [0]
    assert r.get("k") == b"ab\x00\xff"
    assert r.bitfield("k", default_overflow="FAIL").incrby("u8", 40, 300).execute() == [None]
    assert r.strlen("k") == 6                 # padded for the write that failed
    assert r.bitfield("k").incrby("u8", 24, 1).execute() == [0]    # wraps
    assert r.get("k") == b"ab\x00\x00\x00\x00"


def random_edits(client, seed: int) -> list:
    """A seeded random run of string commands on a few keys, each one's reply and then
    every key's value and encoding."""
    rnd = random.Random(seed)
    client.flushall()
    keys = ["a", "b", "c"]
    seen = []
    for _ in range(300):
        key = rnd.choice(keys)
        value = rnd.choice([b"", b"7", b"-3", b"12345678901234567890", b"x" * rnd.randrange(60),
                            bytes(rnd.randrange(256) for _ in range(rnd.randrange(8)))])
        command = rnd.choice([
            ("APPEND", key, value), ("SETRANGE", key, rnd.randrange(70), value),
            ("SETBIT", key, rnd.randrange(600), rnd.randrange(2)),
            ("BITFIELD", key, "INCRBY", rnd.choice(["u8", "i16", "u3"]), rnd.randrange(500),
             rnd.randrange(-300, 300)),
            ("GET", key), ("GETRANGE", key, rnd.randrange(-20, 20), rnd.randrange(-20, 60)),
            ("STRLEN", key), ("INCR", key), ("INCRBYFLOAT", key, "1.5"), ("SET", key, value),
            ("GETBIT", key, rnd.randrange(600)), ("BITCOUNT", key), ("BITPOS", key, 1),
            ("COPY", key, rnd.choice(keys), "REPLACE"), ("GETDEL", key),
            ("BITOP", "XOR", key, *rnd.sample(keys, 2)), ("LCS", key, rnd.choice(keys)),
            ("MGET", *keys), ("GETEX", key), ("SET", key, value, "GET"),
        ])
        try:
            seen.append(client.execute_command(*command))
        except redis.ResponseError as error:
            seen.append(str(error))
        if rnd.random() < 0.05 and client.exists(key):
            client.restore(key, 0, client.dump(key), replace=True)
    for key in keys:
        seen.append((client.get(key) if client.type(key) == b"string" else None,
                     client.object("encoding", key)))
    return seen


@pytest.mark.parametrize("seed", range(8))
def test_random_edits_match_redis(pair, seed):
    ours, theirs = pair
    assert random_edits(ours, seed) == random_edits(theirs, seed)
