"""Bitmap commands (SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO)
through redis-py, against our server and real Redis alike."""

import pytest
import redis

from .conftest import call_raw
from .test_notifications import both, events  # noqa: F401  (events is a fixture)

BAD_OFFSET = "^bit offset is not an integer or out of range$"
BAD_TYPE = ("^Invalid bitfield type. Use something like i16 u8. Note that u64 is not "
            "supported but i64 is.$")


def bitfield(r, key, *args):
    return r.execute_command("BITFIELD", key, *args)


# -- SETBIT / GETBIT --------------------------------------------------------------------

def test_setbit_getbit(r):
    assert r.setbit("k", 7, 1) == 0                 # returns the bit it replaced
    assert r.get("k") == b"\x01"
    assert r.setbit("k", 7, 1) == 1
    assert r.setbit("k", 0, 1) == 0
    assert r.get("k") == b"\x81"
    assert r.setbit("k", 7, 0) == 1
    assert r.get("k") == b"\x80"
    assert r.getbit("k", 0) == 1
    assert r.getbit("k", 1) == 0
    assert r.getbit("k", 1000) == 0                 # past the end reads zeros
    assert r.getbit("missing", 0) == 0


def test_setbit_grows_with_zero_bytes_and_keeps_the_ttl(r):
    r.set("k", "a", ex=100)
    assert r.setbit("k", 33, 1) == 0
    assert r.get("k") == b"a\x00\x00\x00\x40"
    assert r.ttl("k") > 90
    assert r.setbit("k", 100, 0) == 0               # clearing past the end still grows
    assert r.strlen("k") == 13


def test_setbit_getbit_limits(r):
    assert r.getbit("k", 4294967295) == 0           # the last offset allowed (512 MB)
    for offset in (4294967296, -1, "x", "1.5", "#1", ""):
        with pytest.raises(redis.ResponseError, match=BAD_OFFSET):
            r.execute_command("SETBIT", "k", offset, 1)
        with pytest.raises(redis.ResponseError, match=BAD_OFFSET):
            r.execute_command("GETBIT", "k", offset)
    for bit in (2, -1, "x", "01"):
        with pytest.raises(redis.ResponseError,
                           match="^bit is not an integer or out of range$"):
            r.execute_command("SETBIT", "k", 0, bit)
    assert r.exists("k") == 0


def test_setbit_getbit_wrong_type(r):
    r.rpush("list", "x")
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
        r.setbit("list", 0, 1)
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
        r.getbit("list", 0)
    with pytest.raises(redis.ResponseError, match=BAD_OFFSET):    # checked before the type
        r.getbit("list", -1)


# -- BITCOUNT ---------------------------------------------------------------------------

def test_bitcount(r):
    r.set("k", "foobar")
    assert r.bitcount("k") == 26
    assert r.bitcount("k", 0, 0) == 4
    assert r.bitcount("k", 1, 1) == 6
    assert r.bitcount("k", 1, 1, "BYTE") == 6
    assert r.bitcount("k", 5, 30, "BIT") == 17
    assert r.execute_command("BITCOUNT", "k", 5, 30, "bit") == 17
    assert r.bitcount("k", -2, -1) == 7              # "ar"
    assert r.bitcount("k", -100, 100) == 26
    assert r.bitcount("k", 4, 2) == 0
    assert r.bitcount("k", -1, -2) == 0
    assert r.bitcount("k", 6, 10) == 0               # starts past the end
    assert r.bitcount("k", -3, -1, "BIT") == 1       # 'r' = 01110010: last three bits 010
    assert r.bitcount("missing") == 0
    r.set("empty", "")
    assert r.bitcount("empty") == 0
    assert r.bitcount("empty", 0, -1) == 0


def test_bitcount_errors(r):
    r.set("k", "foobar")
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        r.execute_command("BITCOUNT", "k", 0)
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        r.execute_command("BITCOUNT", "k", 0, 1, "BITS")
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        r.execute_command("BITCOUNT", "k", 0, 1, "BIT", "x")
    with pytest.raises(redis.ResponseError, match="^value is not an integer or out of range$"):
        r.execute_command("BITCOUNT", "k", "a", 1)
    # Redis 7.0 answers a reversed negative range before reading the unit word.
    assert r.execute_command("BITCOUNT", "k", -1, -2, "BITS") == 0
    r.rpush("list", "x")
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
        r.bitcount("list")


def test_bitcount_of_a_missing_key_ignores_the_range(r):
    # Redis 7.0 looks the key up first (7.2 checks the arguments first: redis#11734).
    assert r.execute_command("BITCOUNT", "missing", 0) == 0
    assert r.execute_command("BITCOUNT", "missing", "a", "b") == 0


# -- BITPOS -----------------------------------------------------------------------------

def test_bitpos(r):
    r.set("k", b"\xff\xf0\x00")
    assert r.bitpos("k", 0) == 12
    r.set("k", b"\x00\xff\xf0")
    assert r.bitpos("k", 1, 0) == 8
    assert r.bitpos("k", 1, 2) == 16
    assert r.bitpos("k", 1, 2, -1, "BYTE") == 16
    assert r.bitpos("k", 1, 7, 15, "BIT") == 8
    assert r.bitpos("k", 1, 7, -3, "BIT") == 8
    assert r.bitpos("k", 0, 8, 19, "BIT") == -1     # all ones: no clear bit in range
    assert r.bitpos("k", 0, 8, 20, "BIT") == 20
    assert r.bitpos("k", 0, 1, 2) == 20
    assert r.bitpos("k", 1, 3, 1) == -1             # an empty range
    assert r.bitpos("k", 1, 10) == -1               # starts past the end
    r.set("zeros", b"\x00\x00")
    assert r.bitpos("zeros", 1) == -1
    assert r.bitpos("zeros", 0) == 0


def test_bitpos_clear_bits_past_the_end(r):
    r.set("k", b"\xff\xff\xff")
    # Without an end, the string counts as followed by zeros...
    assert r.bitpos("k", 0) == 24
    assert r.bitpos("k", 0, 1) == 24
    assert r.bitpos("k", 0, -1) == 24
    # ...but an explicit end limits the search to the string.
    assert r.bitpos("k", 0, 0, -1) == -1
    assert r.bitpos("k", 0, 0, 100) == -1
    assert r.bitpos("k", 0, 0, -1, "BIT") == -1


def test_bitpos_missing_and_empty(r):
    assert r.bitpos("missing", 0) == 0              # an endless run of zeros
    assert r.bitpos("missing", 1) == -1
    assert r.bitpos("missing", 0, 5, 10, "BIT") == 0
    r.set("empty", "")
    assert r.bitpos("empty", 0) == -1               # an empty range, unlike a missing key
    assert r.bitpos("empty", 1) == -1


def test_bitpos_errors(r):
    r.set("k", "x")
    for bit in (2, -1):
        with pytest.raises(redis.ResponseError, match="^The bit argument must be 1 or 0.$"):
            r.execute_command("BITPOS", "missing", bit)
    with pytest.raises(redis.ResponseError, match="^value is not an integer or out of range$"):
        r.execute_command("BITPOS", "k", "x")
    with pytest.raises(redis.ResponseError, match="^value is not an integer or out of range$"):
        r.execute_command("BITPOS", "k", 1, 0, "x")
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        r.execute_command("BITPOS", "k", 1, 0, "x", "BITS")   # the unit is read first
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        r.execute_command("BITPOS", "k", 1, 0, 1, "BIT", "x")
    # Redis 7.0 answers for a missing key before reading the range (see BITCOUNT).
    assert r.execute_command("BITPOS", "missing", 1, "x") == -1
    r.rpush("list", "x")
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
        r.bitpos("list", 1)


# -- BITOP ------------------------------------------------------------------------------

def test_bitop_pads_shorter_strings_with_zeros(r):
    r.set("a", b"\xf0\x0f\xff")
    r.set("b", b"\xff")
    assert r.bitop("AND", "d", "a", "b") == 3
    assert r.get("d") == b"\xf0\x00\x00"
    assert r.bitop("OR", "d", "a", "b") == 3
    assert r.get("d") == b"\xff\x0f\xff"
    assert r.bitop("XOR", "d", "a", "b") == 3
    assert r.get("d") == b"\x0f\x0f\xff"
    assert r.bitop("NOT", "d", "a") == 3
    assert r.get("d") == b"\x0f\xf0\x00"
    assert r.execute_command("BITOP", "xor", "d", "a", "a", "b") == 3    # any case
    assert r.get("d") == b"\xff\x00\x00"
    assert r.bitop("AND", "d", "a", "missing") == 3                     # missing: empty
    assert r.get("d") == b"\x00\x00\x00"
    assert r.bitop("OR", "a", "a", "b", "missing") == 3                 # dest among sources
    assert r.get("a") == b"\xff\x0f\xff"


def test_bitop_replaces_the_destination(r):
    r.set("a", "x")
    r.rpush("d", "item")
    assert r.bitop("OR", "d", "a") == 1
    assert r.get("d") == b"x"
    r.set("d", "old", ex=100)
    assert r.bitop("NOT", "d", "a") == 1
    assert r.ttl("d") == -1


def test_bitop_of_empty_sources_deletes_the_destination(r):
    r.set("empty", "")
    r.rpush("d", "item")                            # whatever its type
    assert r.bitop("OR", "d", "missing", "empty") == 0
    assert r.exists("d") == 0
    assert r.bitop("NOT", "d", "missing") == 0


def test_bitop_errors(r):
    r.set("a", "x")
    with pytest.raises(redis.ResponseError,
                       match="^BITOP NOT must be called with a single source key.$"):
        r.bitop("NOT", "d", "a", "a")
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        r.bitop("NAND", "d", "a")
    with pytest.raises(redis.ResponseError, match="^wrong number of arguments for 'bitop'"):
        r.execute_command("BITOP", "AND", "d")
    r.rpush("list", "x")
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
        r.bitop("AND", "d", "a", "list")
    assert r.exists("d") == 0


# -- BITFIELD ---------------------------------------------------------------------------

def test_bitfield_set_get_incrby(r):
    assert bitfield(r, "k", "SET", "i8", 0, 100, "GET", "u4", 0, "INCRBY", "u4", 4, 1) == \
        [0, 6, 5]
    assert r.get("k") == b"\x65"
    assert bitfield(r, "k", "GET", "i8", 0, "GET", "u8", 8, "GET", "i64", 1000) == [101, 0, 0]
    assert bitfield(r, "k", "set", "u8", 8, 255, "get", "i8", 8) == [0, -1]
    assert bitfield(r, "k", "INCRBY", "i5", 100, 1, "GET", "u4", 0) == [1, 6]
    assert r.strlen("k") == 14                      # bits 100-104 are in byte 13
    assert bitfield(r, "k") == []                   # no subcommand at all


def test_bitfield_unaligned_and_wide_fields(r):
    # 5000 is 13 bits; at offset 3 it ends on a byte boundary.
    assert bitfield(r, "a", "SET", "u13", 3, 5000, "GET", "u13", 3, "GET", "u16", 0) == \
        [0, 5000, 5000]
    assert r.get("a") == b"\x13\x88"
    assert bitfield(r, "b", "SET", "i64", 5, -2, "GET", "i64", 5, "GET", "u63", 6) == \
        [0, -2, 2**63 - 2]
    assert bitfield(r, "c", "SET", "u63", 1, 2**63 - 1, "GET", "i64", 0) == [0, 2**63 - 1]
    assert bitfield(r, "d", "SET", "i1", 0, -1, "GET", "u1", 0, "GET", "i1", 0) == [0, 1, -1]


def test_bitfield_hash_offsets_count_in_fields(r):
    assert bitfield(r, "k", "SET", "u8", "#1", 200, "SET", "i4", "#1", -1) == [0, 0]
    assert r.get("k") == b"\x0f\xc8"
    assert bitfield(r, "k", "GET", "u8", "#1", "GET", "i4", "#1", "GET", "u4", "#3") == \
        [200, -1, 8]


@pytest.mark.parametrize("field, start, increment, wrap, sat", [
    ("i8", 127, 1, -128, 127),
    ("i8", -128, -1, 127, -128),
    ("i8", 100, 300, -112, 127),
    ("u8", 255, 1, 0, 255),
    ("u8", 0, -1, 255, 0),
    ("u8", 10, -300, 222, 0),
    ("u1", 1, 1, 0, 1),
    ("i64", 2**63 - 1, 1, -2**63, 2**63 - 1),
    ("i64", -2**63, -1, 2**63 - 1, -2**63),
    ("u63", 2**63 - 1, 2, 1, 2**63 - 1),
])
def test_bitfield_incrby_overflow(r, field, start, increment, wrap, sat):
    bitfield(r, "k", "SET", field, 0, start)
    assert bitfield(r, "k", "INCRBY", field, 0, increment) == [wrap]        # WRAP by default
    bitfield(r, "k", "SET", field, 0, start)
    assert bitfield(r, "k", "OVERFLOW", "SAT", "INCRBY", field, 0, increment) == [sat]
    bitfield(r, "k", "SET", field, 0, start)
    assert bitfield(r, "k", "OVERFLOW", "FAIL", "INCRBY", field, 0, increment,
                    "GET", field, 0) == [None, start]


@pytest.mark.parametrize("field, value, wrap, sat", [
    ("i8", 200, -56, 127),
    ("i8", -200, 56, -128),
    ("u8", 256, 0, 255),
    ("u8", -1, 255, 255),                   # a negative value is a huge unsigned one
    ("u4", -100, 12, 15),
    # Redis computes max - value in 64 bits: near INT64_MIN that wraps, and SAT gives max
    ("i8", -2**63, 0, 127),
    ("i8", -2**63 + 127, 127, 127),
    ("i8", -2**63 + 128, -128, -128),
])
def test_bitfield_set_overflow(r, field, value, wrap, sat):
    assert bitfield(r, "k", "SET", field, 0, value, "GET", field, 0) == [0, wrap]
    assert bitfield(r, "k", "OVERFLOW", "SAT", "SET", field, 0, value, "GET", field, 0) == \
        [wrap, sat]
    assert bitfield(r, "k", "OVERFLOW", "FAIL", "SET", field, 0, value, "GET", field, 0) == \
        [None, sat]


def test_bitfield_overflow_applies_to_what_follows(r):
    # The example of the BITFIELD documentation: two 2-bit counters, one wrapping, one
    # saturating.
    replies = [bitfield(r, "k", "INCRBY", "u2", 100, 1,
                        "OVERFLOW", "SAT", "INCRBY", "u2", 102, 1) for _ in range(4)]
    assert replies == [[1, 1], [2, 2], [3, 3], [0, 3]]
    assert bitfield(r, "k", "OVERFLOW", "fail", "INCRBY", "u2", 102, 1,
                    "OVERFLOW", "wrap", "INCRBY", "u2", 102, 1) == [None, 0]


def test_bitfield_fail_still_creates_and_pads_the_string(r, wire, protocol):
    # Redis makes room for every write before running them, even for one that FAILs.
    null = b"$-1" if protocol == 2 else b"_"
    assert wire.call("BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "u2", 20, 9,
                     "GET", "u2", 0) == b"*2\r\n" + null + b"\r\n:0\r\n"
    assert r.get("k") == b"\x00\x00\x00"


def test_bitfield_errors(r):
    r.set("k", "x")
    for field in ("I8", "u64", "i65", "i0", "u0", "", "i", "i08", "i-1", "x8"):
        with pytest.raises(redis.ResponseError, match=BAD_TYPE):
            bitfield(r, "k", "GET", field, 0)
    for offset in (-1, 4294967296, "#-1", "#", "x", "#x"):
        with pytest.raises(redis.ResponseError, match=BAD_OFFSET):
            bitfield(r, "k", "GET", "u8", offset)
    with pytest.raises(redis.ResponseError, match=BAD_OFFSET):     # 2^32 bits of u8
        bitfield(r, "k", "GET", "u8", "#536870912")
    assert bitfield(r, "k", "GET", "u8", "#536870911") == [0]
    with pytest.raises(redis.ResponseError, match="^Invalid OVERFLOW type specified$"):
        bitfield(r, "k", "OVERFLOW", "SATURATE")
    with pytest.raises(redis.ResponseError, match="^value is not an integer or out of range$"):
        bitfield(r, "k", "SET", "u8", 0, "x")
    for args in (["GET", "u8"], ["SET", "u8", 0], ["OVERFLOW"], ["BOGUS"], ["GET"]):
        with pytest.raises(redis.ResponseError, match="^syntax error$"):
            bitfield(r, "k", *args)
    # Every subcommand is checked before any runs.
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        bitfield(r, "k", "SET", "u8", 0, 1, "BOGUS")
    assert r.get("k") == b"x"
    r.rpush("list", "x")
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
        bitfield(r, "list", "GET", "u8", 0)
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
        bitfield(r, "list")
    with pytest.raises(redis.ResponseError, match=BAD_TYPE):       # before the key's type
        bitfield(r, "list", "SET", "u64", 0, 1)


def test_bitfield_ro(r):
    r.set("k", b"\xff\x01")
    assert r.execute_command("BITFIELD_RO", "k", "GET", "i8", 0, "GET", "u16", 0) == [-1, 65281]
    assert r.execute_command("BITFIELD_RO", "missing", "GET", "u8", 100) == [0]
    assert r.execute_command("BITFIELD_RO", "k", "OVERFLOW", "SAT", "GET", "u4", 4) == [15]
    assert r.execute_command("BITFIELD_RO", "k") == []
    for write in (["SET", "u8", 0, 1], ["INCRBY", "u8", 0, 1]):
        with pytest.raises(redis.ResponseError,
                           match="^BITFIELD_RO only supports the GET subcommand$"):
            r.execute_command("BITFIELD_RO", "k", "GET", "u8", 0, *write)
    with pytest.raises(redis.ResponseError, match="^value is not an integer or out of range$"):
        r.execute_command("BITFIELD_RO", "k", "SET", "u8", 0, "x")   # parsed first
    assert r.get("k") == b"\xff\x01"
    r.rpush("list", "x")
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
        r.execute_command("BITFIELD_RO", "list", "GET", "u8", 0)


# -- what counts as a change ------------------------------------------------------------

BITMAP_EVENTS = [
    ("", "SETBIT k 3 1", [("setbit", "k")]),
    ("SETBIT k 3 1", "SETBIT k 3 1", []),                       # no change: no event
    ("SETBIT k 3 1", "SETBIT k 20 0", [("setbit", "k")]),       # longer: a change
    ("SET k a", "BITFIELD k SET u8 0 97 GET u8 0", []),
    ("SET k a", "BITFIELD k SET u8 0 98 INCRBY u8 0 1", [("setbit", "k")]),
    ("", "BITFIELD k SET u8 0 0", [("setbit", "k")]),
    ("", "BITFIELD k OVERFLOW FAIL INCRBY u2 0 9", []),
    ("SET k a", "BITFIELD k OVERFLOW FAIL INCRBY u2 100 9", []),
    ("SET a x", "BITOP OR d a", [("set", "d")]),
    ("SET d x", "BITOP OR d missing", [("del", "d")]),
    ("", "BITOP OR d missing", []),
    ("SET k x", "GETBIT k 0;BITCOUNT k;BITPOS k 1;BITFIELD_RO k GET u8 0;BITFIELD k GET u8 0",
     []),
]


@pytest.mark.parametrize("setup, command, expected", BITMAP_EVENTS,
                         ids=[command for _, command, _ in BITMAP_EVENTS])
def test_keyspace_events(r, events, setup, command, expected):
    for each in filter(None, setup.split(";")):
        r.execute_command(*each.split())
    collect = events("KEA")
    for each in command.split(";"):
        r.execute_command(*each.split())
    assert collect() == both(*expected)


def test_a_failed_bitfield_creates_the_key_as_new_only(r, events):
    collect = events("KEAn")
    assert bitfield(r, "k", "OVERFLOW", "FAIL", "INCRBY", "u2", 0, 9) == [None]
    assert collect() == both(("new", "k"))
    assert r.get("k") == b"\x00"


def changes(r) -> int:
    return r.info("persistence")["rdb_changes_since_last_save"]


def test_only_real_changes_count(r, other):
    r.set("k", b"\x80")
    before = changes(r)
    with r.pipeline() as pipe:
        pipe.watch("k")
        assert other.setbit("k", 0, 1) == 1                    # the same bit: no change
        assert bitfield(other, "k", "SET", "u8", 0, 128) == [128]
        assert bitfield(other, "k", "OVERFLOW", "FAIL", "INCRBY", "u8", 40, 300) == [None]
        pipe.multi()
        pipe.get("k")
        assert pipe.execute() == [b"\x80\x00\x00\x00\x00\x00"]  # WATCH held all the same
    assert changes(r) == before
    # Each BITFIELD write that changes something counts once.
    assert bitfield(r, "k", "SET", "u8", 0, 1, "SET", "u8", 8, 2, "SET", "u8", 16, 0) == \
        [128, 0, 0]
    assert changes(r) == before + 2
    with r.pipeline() as pipe:
        pipe.watch("k")
        other.setbit("k", 0, 1)
        pipe.multi()
        pipe.get("k")
        with pytest.raises(redis.WatchError):
            pipe.execute()


# -- introspection ----------------------------------------------------------------------

def test_command_info_and_acl_category(r):
    expected = {"setbit": (4, 1, 1), "getbit": (3, 1, 1), "bitcount": (-2, 1, 1),
                "bitpos": (-3, 1, 1), "bitop": (-4, 2, -1), "bitfield": (-2, 1, 1),
                "bitfield_ro": (-2, 1, 1)}
    info = call_raw(r, "COMMAND", "INFO", *expected)
    for (name, (arity, first, last)), entry in zip(expected.items(), info):
        assert entry[0] == name.encode()
        assert (entry[1], entry[3], entry[4]) == (arity, first, last)
        assert b"@bitmap" in entry[6]
    names = [name.decode() if isinstance(name, bytes) else name
             for name in r.acl_cat("bitmap")]
    assert sorted(names) == sorted(expected)
    docs = call_raw(r, "COMMAND", "DOCS", "bitfield")
    if isinstance(docs, list):
        docs = dict(zip(docs[::2], docs[1::2]))
    doc = docs[b"bitfield"]
    if isinstance(doc, list):
        doc = dict(zip(doc[::2], doc[1::2]))
    assert doc[b"group"] == b"bitmap" and doc[b"since"] == b"3.2.0"
