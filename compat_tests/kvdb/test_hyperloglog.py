"""HyperLogLog commands (PFADD, PFCOUNT, PFMERGE) through redis-py, against our server and
real Redis alike.

The counts are estimates, but deterministic ones: the same elements give the same
registers and the same estimate on both servers. The numbers and digests below were
read once from Redis 7.0 and are asserted on both: the strings are Redis's byte for
byte, sparse and dense.
"""

import hashlib
import random

import pytest
import redis

from .conftest import connect
from .test_notifications import both, events  # noqa: F401  (the events fixture)

NOT_HLL = "^WRONGTYPE Key is not a valid HyperLogLog string value.$"
WRONGTYPE = "^WRONGTYPE Operation against a key holding the wrong kind of value$"
CORRUPT = "^INVALIDOBJ Corrupted HLL object detected$"

HEADER = b"HYLL\x00\x00\x00\x00"            # magic, dense encoding, 3 unused bytes


def elements(first: int, last: int, prefix: str = "element") -> list[str]:
    return [f"{prefix}:{i}" for i in range(first, last + 1)]


def add(r, key: str, items: list) -> None:
    for start in range(0, len(items), 5000):       # in batches: one call is a packet
        r.pfadd(key, *items[start:start + 5000])


def dense(cached: int = 0, stale: bool = False) -> bytes:
    """An empty dense HLL whose header caches `cached`, marked stale or not."""
    card = cached | (1 << 63 if stale else 0)
    return HEADER + card.to_bytes(8, "little") + bytes(12288)


def test_pfadd_reports_whether_anything_changed(r):
    assert r.pfadd("h", "a", "b", "c") == 1
    assert r.pfadd("h", "a", "b") == 0                 # already counted
    assert r.pfadd("h", "c", "d") == 1
    assert r.pfadd("h") == 0
    assert r.pfadd("new") == 1                         # creating the key is a change
    assert r.pfcount("new") == 0
    assert r.type("h") == b"string"                    # an HLL is a string
    assert r.get("h")[:4] == b"HYLL"
    assert r.pfcount("h") == 4
    assert r.pfcount("missing") == 0


@pytest.mark.parametrize("count, expected", [
    (1, 1), (10, 10), (100, 99), (1000, 997), (5000, 5005), (10000, 10017), (20000, 19987),
])
def test_pfcount_is_the_same_estimate_as_redis(r, count, expected):
    add(r, "h", elements(1, count))
    assert r.pfcount("h") == expected
    assert r.pfcount("h") == expected                  # the cached value, now


def test_union_of_several_keys(r):
    add(r, "a", elements(1, 8000))
    add(r, "b", elements(5001, 15000))
    add(r, "c", elements(1, 300, prefix="other"))
    assert (r.pfcount("a"), r.pfcount("b"), r.pfcount("c")) == (8010, 10014, 300)
    assert r.pfcount("a", "b") == 15090
    assert r.pfcount("a", "b", "c", "missing") == 15380
    assert r.pfcount("a", "a") == 8010
    assert r.pfcount("missing", "missing2") == 0
    assert r.pfmerge("m", "a", "b", "c") is True
    assert r.pfcount("m") == 15380
    assert r.pfcount("a") == 8010                      # the sources are unchanged


def test_pfmerge_includes_the_destination(r):
    add(r, "dest", elements(1, 100))
    add(r, "src", elements(101, 200))
    assert r.pfmerge("dest", "src") is True
    assert r.pfcount("dest") == r.pfcount("src", "dest")
    assert r.pfmerge("alone") is True                  # no sources: an empty HLL
    assert r.pfcount("alone") == 0
    assert r.get("alone")[:4] == b"HYLL"
    assert r.pfmerge("dest", "missing") is True
    assert r.pfcount("dest") == r.pfcount("src", "dest")


def test_dense_bytes_are_redis_bytes(r):
    # 20000 elements fill the registers: Redis too is in the dense encoding by then.
    add(r, "h", elements(1, 20000))
    value = r.get("h")
    assert len(value) == 12304
    assert value[:16] == HEADER + bytes(7) + b"\x80"   # count not computed yet: stale
    assert hashlib.sha256(value).hexdigest() == (
        "5091d94eca7c228d2ae8890beeaeebca1e67529e41cb03c9cc3b89baf3f36501")
    assert r.pfcount("h") == 19987
    value = r.get("h")
    assert value[8:16] == (19987).to_bytes(8, "little")       # the count, cached
    assert hashlib.sha256(value).hexdigest() == (
        "1a3a99f9cc58a2f4c6cfd8fb9c821d292b2a542b09bcd750706cbc7fa5b3f5be")


def test_the_cached_count_is_trusted(r):
    r.set("h", dense(cached=42))
    assert r.pfcount("h") == 42                        # registers empty, but cached
    assert r.pfcount("h", "h") == 0                    # a union is always computed
    r.set("h", dense(cached=42, stale=True))
    assert r.pfcount("h") == 0
    assert r.get("h") == dense(cached=0)               # recomputed and cached


def test_a_sparse_hll_written_by_redis_is_read(r):
    # Registers 100 and 101 at 3, the others 0, in the sparse encoding's run-length
    # opcodes: XZERO(100), VAL(3, run of 2), XZERO(16282).
    sparse = b"HYLL\x01\x00\x00\x00" + bytes(7) + b"\x80" + b"\x40\x63\x89\x7f\x99"
    add(r, "c", elements(1, 300, prefix="other"))
    r.set("sp", sparse)
    assert r.pfcount("sp") == 2
    assert r.pfcount("sp", "c") == 302
    assert r.pfmerge("m", "sp", "c") is True
    assert r.pfcount("m") == 302
    assert r.pfadd("sp", "x", "y") == 1
    assert r.pfcount("sp") == 4
    assert r.pfcount("sp", "c") == 304


def test_corrupt_sparse_hll(r):
    # The runs cover only 101 of the 16384 registers.
    r.set("bad", b"HYLL\x01\x00\x00\x00" + bytes(7) + b"\x80" + b"\x40\x63\x89")
    with pytest.raises(redis.ResponseError, match=CORRUPT):
        r.pfcount("bad")
    with pytest.raises(redis.ResponseError, match=CORRUPT):
        r.pfcount("bad", "missing")
    with pytest.raises(redis.ResponseError, match=CORRUPT):
        r.pfmerge("m", "bad")
    assert r.exists("m") == 0


@pytest.mark.parametrize("value", [
    b"hello", b"123", b"HYLL", HEADER + bytes(100),            # too short for dense
    b"HYLX" + bytes(12300), b"HYLL\x02" + bytes(12299),        # bad magic, bad encoding
    b"HYLL\xff" + bytes(12299),
])
def test_a_string_that_is_not_an_hll(r, value):
    r.set("s", value)
    add(r, "h", ["a"])
    for call in (lambda: r.pfadd("s", "a"), lambda: r.pfcount("s"),
                 lambda: r.pfcount("h", "s"), lambda: r.pfmerge("s", "h"),
                 lambda: r.pfmerge("h", "s")):
        with pytest.raises(redis.ResponseError, match=NOT_HLL):
            call()
    assert r.get("s") == value


def test_other_types_are_wrongtype(r):
    r.rpush("l", "a")
    add(r, "h", ["a"])
    for call in (lambda: r.pfadd("l", "a"), lambda: r.pfcount("l"),
                 lambda: r.pfcount("h", "l"), lambda: r.pfmerge("l", "h"),
                 lambda: r.pfmerge("h", "l")):
        with pytest.raises(redis.ResponseError, match=WRONGTYPE):
            call()
    for command in ("PFADD", "PFCOUNT", "PFMERGE"):
        with pytest.raises(redis.ResponseError,
                           match=f"^wrong number of arguments for '{command.lower()}'"):
            r.execute_command(command)


def test_changes_keep_the_ttl(r):
    add(r, "h", ["a"])
    r.expire("h", 100)
    r.pfadd("h", "b")
    r.pfcount("h")
    r.pfmerge("h", "missing")
    assert 0 < r.ttl("h") <= 100


def test_notifications(r, events):  # noqa: F811
    collect = events("KEA")
    r.pfadd("h", "a")
    r.pfadd("h", "a")                                  # nothing changed: no event
    r.pfcount("h")                                     # caching the count: no event
    r.pfmerge("m", "h")                                # reported as a pfadd
    assert collect() == both(("pfadd", "h"), ("pfadd", "m"))


def test_watch_sees_the_cached_count_change(r, other):
    add(r, "h", ["a", "b"])

    def aborted_by(action) -> bool:
        with r.pipeline() as pipe:
            pipe.watch("h")
            action()
            pipe.multi()
            pipe.set("x", 1)
            try:
                pipe.execute()
            except redis.WatchError:
                return True
            return False

    assert aborted_by(lambda: other.pfcount("h")) is True     # the count is cached
    assert aborted_by(lambda: other.pfcount("h")) is False    # read from the cache
    assert aborted_by(lambda: other.pfadd("h", "a")) is False  # no register changed
    assert aborted_by(lambda: other.pfcount("h", "h")) is False
    assert aborted_by(lambda: other.pfadd("h", "c")) is True


# Register 0 holds 2, the 16383 others 0: VAL(2, 1 register) then XZERO(16383), after a
# header saying "sparse" with a stale cached count. Redis writes small HLLs like this.
SPARSE_HLL = b"HYLL\x01\x00\x00\x00" + bytes(7) + b"\x80" + b"\x84\x7f\xfe"


def test_pfdebug_shows_and_converts_the_encoding(r):
    r.set("hll", SPARSE_HLL)
    assert r.execute_command("PFDEBUG", "ENCODING", "hll") in (b"sparse", "sparse")
    assert r.execute_command("PFDEBUG", "DECODE", "hll") in (b"v:2,1 Z:16383", "v:2,1 Z:16383")
    registers = r.execute_command("PFDEBUG", "GETREG", "hll")   # converts it to dense
    assert len(registers) == 16384 and registers[0] == 2 and not any(registers[1:])
    assert r.execute_command("PFDEBUG", "ENCODING", "hll") in (b"dense", "dense")
    assert r.execute_command("PFDEBUG", "TODENSE", "hll") == 0
    assert r.pfcount("hll") == 1
    with pytest.raises(redis.ResponseError, match="HLL encoding is not sparse"):
        r.execute_command("PFDEBUG", "DECODE", "hll")
    r.set("hll2", SPARSE_HLL)
    assert r.execute_command("PFDEBUG", "TODENSE", "hll2") == 1
    assert r.execute_command("PFDEBUG", "GETREG", "hll2") == registers
    with pytest.raises(redis.ResponseError, match="Unknown PFDEBUG subcommand 'NOPE'"):
        r.execute_command("PFDEBUG", "NOPE", "hll")
    with pytest.raises(redis.ResponseError, match="The specified key does not exist"):
        r.execute_command("PFDEBUG", "ENCODING", "missing")
    r.set("text", "not an hll")
    with pytest.raises(redis.ResponseError, match="Key is not a valid HyperLogLog"):
        r.execute_command("PFDEBUG", "ENCODING", "text")


def test_pfselftest(r):
    assert r.execute_command("PFSELFTEST") in (b"OK", "OK", True)


def test_small_hlls_are_sparse_as_redis_writes_them(r):
    assert r.pfadd("h") == 1
    # sparse, the count stale (a change), one XZERO over all 16384 registers
    assert r.get("h") == b"HYLL\x01" + bytes(10) + b"\x80" + b"\x7f\xff"
    assert r.pfadd("h", "a", "b", "c") == 1
    value = r.get("h")
    assert value[:16] == b"HYLL\x01" + bytes(10) + b"\x80"    # sparse, count stale
    assert r.execute_command("PFDEBUG", "DECODE", "h") in (
        b"Z:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603",
        "Z:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603")
    add(r, "h", elements(1, 500))
    assert r.execute_command("PFDEBUG", "ENCODING", "h") in (b"sparse", "sparse")
    assert hashlib.sha256(r.get("h")).hexdigest() == SPARSE_500


SPARSE_500 = "8069177981feca77c85740995fcb28161859f14f7030f8ae9bbf4276695fd921"


def test_sparse_merges_stay_sparse_and_the_bytes_follow_redis(r):
    add(r, "a", elements(1, 200))
    add(r, "b", elements(150, 400))
    assert r.pfmerge("m", "a", "b") is True
    assert r.execute_command("PFDEBUG", "ENCODING", "m") in (b"sparse", "sparse")
    assert r.pfcount("m") == r.pfcount("a", "b")
    assert hashlib.sha256(r.get("m")).hexdigest() == SPARSE_MERGED
    r.execute_command("PFDEBUG", "TODENSE", "b")
    assert r.pfmerge("m2", "a", "b") is True                  # a dense source: dense
    assert r.execute_command("PFDEBUG", "ENCODING", "m2") in (b"dense", "dense")
    assert r.pfcount("m2") == r.pfcount("m")


SPARSE_MERGED = "ecea41a63f20ee539a5fe6a2e90b8beac0bb62938eabd31d2b455a60d3a008a3"


def test_merged_neighbours_fill_val_opcodes_up_to_four_registers(r):
    # Registers 0 to 5 at 1: VAL(1, 4 registers), VAL(1, 2), XZERO(16378)
    sparse_header = b"HYLL\x01" + bytes(10) + b"\x80"
    r.set("src", sparse_header + b"\x83\x81\x7f\xf9")
    assert r.execute_command("PFDEBUG", "DECODE", "src") in (
        b"v:1,4 v:1,2 Z:16378", "v:1,4 v:1,2 Z:16378")
    assert r.pfmerge("dest", "src") is True      # sets 0 to 5 one by one, merging
    assert r.get("dest") == sparse_header + b"\x83\x81\x7f\xf9"


def test_a_sparse_hll_turns_dense_past_hll_sparse_max_bytes(r):
    r.config_set("hll-sparse-max-bytes", 100)
    try:
        add(r, "h", elements(1, 20))
        assert r.execute_command("PFDEBUG", "ENCODING", "h") in (b"sparse", "sparse")
        assert len(r.get("h")) <= 100
        add(r, "h", elements(21, 60))
        assert r.execute_command("PFDEBUG", "ENCODING", "h") in (b"dense", "dense")
        assert len(r.get("h")) == 12304
        assert r.pfcount("h") == 60
    finally:
        r.config_set("hll-sparse-max-bytes", 3000)


def test_random_changes_leave_the_same_bytes_as_redis(kvdb_server, redis_server):
    """Differential: random PFADD, PFMERGE and PFCOUNT sequences on both servers at
    once, with several hll-sparse-max-bytes; every HLL's string must match Redis's after
    every step (sparse opcodes depend on the order of changes, so this checks them)."""
    ours, reference = connect(kvdb_server), connect(redis_server)
    rng = random.Random(20261126)
    keys = ["a", "b", "c"]
    try:
        for _ in range(40):
            max_bytes = rng.choice([3000, 1000, 200, 40])
            for client in (ours, reference):
                client.flushall()
                client.config_set("hll-sparse-max-bytes", max_bytes)
            for _ in range(rng.randint(1, 15)):
                roll = rng.random()
                if roll < 0.7:
                    count = rng.choice([0, 1, 2, 5, 20, 100, 400])
                    call = ("PFADD", rng.choice(keys),
                            *(f"e{rng.randrange(100000)}" for _ in range(count)))
                elif roll < 0.9:
                    call = ("PFMERGE", *rng.sample(keys, rng.randint(1, 3)))
                else:
                    call = ("PFCOUNT", rng.choice(keys))
                assert ours.execute_command(*call) == reference.execute_command(*call), call
                for key in keys:
                    assert ours.get(key) == reference.get(key), (call[:2], key, max_bytes)
    finally:
        for client in (ours, reference):
            client.config_set("hll-sparse-max-bytes", 3000)
            client.close()
