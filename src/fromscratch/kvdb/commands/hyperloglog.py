"""HyperLogLog commands: PFADD, PFCOUNT and PFMERGE (and PFDEBUG, PFSELFTEST).

A HyperLogLog estimates how many distinct elements it was given (within about 0.81%)
in 12 KB, however many there are. As in Redis, it is stored as a string in Redis's own
format, so GET, SET, DUMP and RESTORE carry it as they are, and counts agree with Redis:

    "HYLL" | encoding (0 dense, 1 sparse) | 3 unused bytes |
    cached cardinality: 8 bytes, little endian; the top bit set means "stale" | registers

Dense registers are 16384 counters of 6 bits, 12288 bytes, packed as a little-endian
bit string: register i is bits 6i to 6i+5, counting from the least significant bit of
the first byte. So every 3 bytes hold 4 whole registers, which is how they are read here.

Redis starts small HLLs in a sparse encoding: run-length opcodes over the registers
(see `_sparse_registers`), switched to dense once it grows. Here every HLL we write is
dense, so GET of a small one shows 12304 bytes where Redis shows a short string; both
hold the same registers, hence the same counts. A sparse HLL made by Redis (restored or
SET) is read as it is, and becomes dense the first time it changes.

Adding an element hashes it with MurmurHash64A: the low 14 bits of the hash choose a
register, and the register keeps the largest "run" seen, the position of the lowest set
bit among the other 50 (1 to 51). The count is estimated from how many registers hold
each value, with Otmar Ertl's estimator ("New cardinality estimation algorithms for
HyperLogLog sketches", 2017), which Redis uses since 5.0. PFCOUNT of one key caches it
in the header until the next change.
"""

from __future__ import annotations

import math
import random
import struct

from ...resp import ErrorReply, SimpleString
from ..client import OK
from ..notifications import STRING
from ..table import command

INDEX_BITS = 14
REGISTERS = 1 << INDEX_BITS                   # 16384
RUN_BITS = 64 - INDEX_BITS                    # the hash bits that give the run: 50
HEADER_SIZE = 16
ENCODING_AT = 4
COUNT_AT = 8                      # where the cached count's 8 bytes start in the header
DENSE_SIZE = HEADER_SIZE + REGISTERS * 6 // 8  # 12304
MAGIC = b"HYLL"
DENSE, SPARSE = 0, 1
STALE = 0x80                      # the top bit of the count's last byte (the header's)
ALPHA_INF = 0.721347520444481703680           # 0.5 / ln(2)

NOT_HLL = ErrorReply("WRONGTYPE Key is not a valid HyperLogLog string value.")
CORRUPT = ErrorReply("INVALIDOBJ Corrupted HLL object detected")

EMPTY = MAGIC + bytes(DENSE_SIZE - len(MAGIC))    # dense, cached count 0, no registers set


# -- hashing -----------------------------------------------------------------------------

_MASK64 = (1 << 64) - 1
_MURMUR_MULTIPLIER = 0xc6a4a7935bd1e995
_MURMUR_SHIFT = 47
_SEED = 0xadc83b19


def murmurhash64a(data: bytes, seed: int = _SEED) -> int:
    """Austin Appleby's MurmurHash64A, as Redis's hyperloglog.c has it (for a
    little-endian machine: 8-byte words are read little endian)."""
    m, r = _MURMUR_MULTIPLIER, _MURMUR_SHIFT
    length = len(data)
    h = (seed ^ (length * m)) & _MASK64
    whole = length - length % 8
    for (k,) in struct.iter_unpack("<Q", memoryview(data)[:whole]):
        k = (k * m) & _MASK64
        k ^= k >> r
        k = (k * m) & _MASK64
        h ^= k
        h = (h * m) & _MASK64
    if whole < length:                       # the last 1 to 7 bytes
        h ^= int.from_bytes(data[whole:], "little")
        h = (h * m) & _MASK64
    h ^= h >> r
    h = (h * m) & _MASK64
    h ^= h >> r
    return h


def _register_and_run(element: bytes) -> tuple[int, int]:
    """The register `element` falls in, and the run length it brings there."""
    hashed = murmurhash64a(element)
    index = hashed & (REGISTERS - 1)
    # A bit above the 50 used caps the run at 51, even for hash bits all zero.
    rest = (hashed >> INDEX_BITS) | (1 << RUN_BITS)
    return index, (rest & -rest).bit_length()      # 1 + the count of trailing zeros


# -- registers ----------------------------------------------------------------------------

def _get_register(hll: bytearray, index: int) -> int:
    """Register `index` of a dense HLL (header included)."""
    start = HEADER_SIZE + index // 4 * 3     # the 3 bytes holding registers 4k..4k+3
    group = int.from_bytes(hll[start:start + 3], "little")
    return group >> (index % 4 * 6) & 63


def _set_register(hll: bytearray, index: int, value: int) -> None:
    start = HEADER_SIZE + index // 4 * 3
    shift = index % 4 * 6
    group = int.from_bytes(hll[start:start + 3], "little")
    group = group & ~(63 << shift) | value << shift
    hll[start:start + 3] = group.to_bytes(3, "little")


# All the registers at once are handled as `bytes`, one byte per register, and every
# step over them runs in C: a byte-to-byte function is a bytes.translate() table, slices
# with a step pick every third byte or every fourth register, and bytes that share no
# bits are combined by OR-ing them as big integers. A register loop in Python would take
# milliseconds; a PFCOUNT over several keys must not stall the server for that long.

def _table(function) -> bytes:
    return bytes(function(byte) & 0xFF for byte in range(256))


def _bytewise_or(a: bytes, b: bytes) -> bytes:
    """a[i] | b[i] for each i: as big integers, byte i of each is its digit i."""
    return (int.from_bytes(a, "little") | int.from_bytes(b, "little")).to_bytes(len(a), "little")


# Registers 4k..4k+3 are packed in bytes 3k..3k+2, 6 bits each, from the lowest bit:
#   byte 0 = r0 | (r1 & 3) << 6,  byte 1 = r1 >> 2 | (r2 & 15) << 4,  byte 2 = r2 >> 4 | r3 << 2
_R0_OF_BYTE0, _R1_OF_BYTE0 = _table(lambda b: b & 63), _table(lambda b: b >> 6)
_R1_OF_BYTE1, _R2_OF_BYTE1 = _table(lambda b: (b & 15) << 2), _table(lambda b: b >> 4)
_R2_OF_BYTE2, _R3_OF_BYTE2 = _table(lambda b: (b & 3) << 4), _table(lambda b: b >> 2)
_BYTE0_OF_R1, _BYTE1_OF_R1 = _table(lambda r: r << 6), _table(lambda r: r >> 2)
_BYTE1_OF_R2, _BYTE2_OF_R2 = _table(lambda r: r << 4), _table(lambda r: r >> 4)
_BYTE2_OF_R3 = _table(lambda r: r << 2)


def _dense_registers(packed: bytes) -> bytes:
    """The 16384 registers of the dense encoding, a byte each."""
    byte0, byte1, byte2 = packed[0::3], packed[1::3], packed[2::3]
    registers = bytearray(REGISTERS)
    registers[0::4] = byte0.translate(_R0_OF_BYTE0)
    registers[1::4] = _bytewise_or(byte0.translate(_R1_OF_BYTE0), byte1.translate(_R1_OF_BYTE1))
    registers[2::4] = _bytewise_or(byte1.translate(_R2_OF_BYTE1), byte2.translate(_R2_OF_BYTE2))
    registers[3::4] = byte2.translate(_R3_OF_BYTE2)
    return bytes(registers)


def _pack_dense(registers: bytes) -> bytes:
    """The dense encoding of 16384 registers (a byte each)."""
    r0, r1, r2, r3 = registers[0::4], registers[1::4], registers[2::4], registers[3::4]
    packed = bytearray(REGISTERS * 6 // 8)
    packed[0::3] = _bytewise_or(r0, r1.translate(_BYTE0_OF_R1))
    packed[1::3] = _bytewise_or(r1.translate(_BYTE1_OF_R1), r2.translate(_BYTE1_OF_R2))
    packed[2::3] = _bytewise_or(r2.translate(_BYTE2_OF_R2), r3.translate(_BYTE2_OF_R3))
    return bytes(packed)


_ALL_ONES = (1 << 8 * REGISTERS) - 1
_TOP_BITS = int.from_bytes(b"\x80" * REGISTERS, "little")


def _bytewise_max(a: bytes, b: bytes) -> bytes:
    """max(a[i], b[i]) for each i, for bytes below 128, eight bits per lane of two big
    integers. In each lane (b | 0x80) - a lies between 1 and 255, so the subtraction never
    borrows from the next lane, and its top bit is set exactly where b >= a. Those bits,
    spread to whole lanes, choose between b and a."""
    a_int, b_int = int.from_bytes(a, "little"), int.from_bytes(b, "little")
    b_wins = ((b_int | _TOP_BITS) - a_int) & _TOP_BITS
    lanes = (b_wins >> 7) * 0xFF                    # 0xFF in every lane where b >= a
    return ((b_int & lanes) | (a_int & (_ALL_ONES ^ lanes))).to_bytes(len(a), "little")


def _sparse_runs(opcodes: bytes):
    """The runs of the sparse encoding, as (opcode name, register value, length):

        00xxxxxx            ZERO: xxxxxx + 1 registers (1 to 64) hold 0
        01xxxxxx yyyyyyyy   XZERO: xxxxxxyyyyyyyy + 1 registers (1 to 16384) hold 0
        1vvvvvxx            VAL: xx + 1 registers (1 to 4) hold vvvvv + 1 (1 to 32)
    """
    # Redis reads a truncated XZERO's second byte from its strings' NUL terminator.
    padded = opcodes + b"\0"
    pos = 0
    while pos < len(opcodes):
        opcode = padded[pos]
        if opcode & 0x80:
            yield "v", (opcode >> 2 & 0x1f) + 1, (opcode & 0x03) + 1
            pos += 1
        elif opcode & 0x40:
            yield "Z", 0, ((opcode & 0x3f) << 8 | padded[pos + 1]) + 1
            pos += 2
        else:
            yield "z", 0, (opcode & 0x3f) + 1
            pos += 1


def _sparse_registers(opcodes: bytes) -> bytes:
    """The 16384 registers of the sparse encoding, a byte each. Its runs must cover the
    registers exactly (INVALIDOBJ otherwise)."""
    registers = bytearray()
    for _, value, length in _sparse_runs(opcodes):
        registers += bytes((value,)) * length
        if len(registers) > REGISTERS:
            raise CORRUPT
    if len(registers) != REGISTERS:
        raise CORRUPT
    return bytes(registers)


# -- the string value ---------------------------------------------------------------------

def _is_hll(value: bytes) -> bool:
    """Redis's check: the magic, a known encoding, and the exact size if dense."""
    if len(value) < HEADER_SIZE or value[:4] != MAGIC:
        return False
    encoding = value[ENCODING_AT]
    return encoding == SPARSE or (encoding == DENSE and len(value) == DENSE_SIZE)


def _load(db, key: bytes, for_write: bool = False) -> bytes | None:
    """The HLL at `key`, None if there is none; WRONGTYPE for another type, or for a
    string that is not an HLL."""
    value = db.get_for_write(key, bytes) if for_write else db.get_typed(key, bytes)
    if value is not None and not _is_hll(value):
        raise NOT_HLL
    return value


def _registers(value: bytes) -> bytes:
    if value[ENCODING_AT] == DENSE:
        return _dense_registers(value[HEADER_SIZE:])
    return _sparse_registers(value[HEADER_SIZE:])


def _as_dense(value: bytes) -> bytearray:
    """`value` in the dense encoding, its header kept (cached count included)."""
    if value[ENCODING_AT] == DENSE:
        return bytearray(value)
    header = bytearray(value[:HEADER_SIZE])
    header[ENCODING_AT] = DENSE
    return header + _pack_dense(_sparse_registers(value[HEADER_SIZE:]))


def _cached_count(value: bytes) -> int | None:
    """The count cached in the header, or None if it is stale."""
    if value[HEADER_SIZE - 1] & STALE:
        return None
    return int.from_bytes(value[COUNT_AT:HEADER_SIZE], "little")


def _with_count(value: bytes, count: int) -> bytes:
    """`value` with `count` cached in its header."""
    return value[:COUNT_AT] + count.to_bytes(8, "little") + value[HEADER_SIZE:]


# -- estimating ---------------------------------------------------------------------------

def _sigma(x: float) -> float:
    """Ertl's sigma(x) = x + sum over k >= 1 of x^(2^k) * 2^(k-1), to convergence."""
    if x == 1.0:
        return math.inf
    y, z = 1.0, x
    while True:
        x *= x
        previous = z
        z += x * y
        y += y
        if z == previous:
            return z


def _tau(x: float) -> float:
    """Ertl's tau(x) = (1 - x - sum over k >= 1 of (1 - x^(2^-k))^2 * 2^-k) / 3, to
    convergence."""
    if x == 0.0 or x == 1.0:
        return 0.0
    y, z = 1.0, 1 - x
    while True:
        x = math.sqrt(x)
        previous = z
        y *= 0.5
        z -= (1 - x) ** 2 * y
        if z == previous:
            return z / 3


def _estimate(registers: bytes) -> int:
    """The cardinality from the registers (a byte each), computed step by step as
    Redis's hllCount does: the same floating-point operations give the same number."""
    histogram = [registers.count(run) for run in range(RUN_BITS + 2)]
    m = float(REGISTERS)
    z = m * _tau((m - histogram[RUN_BITS + 1]) / m)
    for run in range(RUN_BITS, 0, -1):
        z += histogram[run]
        z *= 0.5
    z += m * _sigma(histogram[0] / m)
    return _round_half_away(ALPHA_INF * m * m / z)


def _round_half_away(x: float) -> int:
    """C's llroundl for x >= 0: halves round up (Python's round() goes to even)."""
    whole = math.floor(x)
    return whole + (x - whole >= 0.5)


# -- commands -----------------------------------------------------------------------------

@command("pfadd", arity=-2, flags="write denyoom fast", keys=(1, 1, 1), group="hyperloglog",
         since="2.8.9", summary="Adds elements to a HyperLogLog key. Creates the key if it "
                                "doesn't exist.",
         complexity="O(1) to add every element.", syntax="key [element]...")
def pfadd(client, argv):
    db, key = client.db, argv[1]
    value = _load(db, key, for_write=True)
    created = value is None
    hll = bytearray(EMPTY) if created else _as_dense(value)
    changed = False
    for element in argv[2:]:
        index, run = _register_and_run(element)
        if run > _get_register(hll, index):
            _set_register(hll, index, run)
            changed = True
    if not (created or changed):
        return 0
    hll[HEADER_SIZE - 1] |= STALE
    db.set(key, bytes(hll), keep_ttl=True)
    db.notify(STRING, "pfadd", key)
    return 1


@command("pfcount", arity=-2, flags="readonly may_replicate", keys=(1, -1, 1),
         group="hyperloglog",
         since="2.8.9", summary="Returns the approximated cardinality of the set(s) "
                                "observed by the HyperLogLog key(s).",
         complexity="O(1) with a very small average constant time when called with a "
                    "single key. O(N) with N being the number of keys, and much bigger "
                    "constant times, when called with multiple keys.", syntax="key...")
def pfcount(client, argv):
    db = client.db
    if len(argv) > 2:                        # the count of the union, not cached anywhere
        return _estimate(_union(db, argv[1:]))
    key = argv[1]
    value = _load(db, key)
    if value is None:
        return 0
    count = _cached_count(value)
    if count is None:
        count = _estimate(_registers(value))
        # Caching the count changes the string: WATCH sees it, as in Redis, but it is
        # no event for notifications.
        db.set(key, _with_count(value, count), keep_ttl=True)
    return count


def _union(db, keys: list) -> bytes:
    """The registers of the union of the HLLs at `keys` (missing ones are empty): the
    largest value of each register."""
    union = bytes(REGISTERS)
    for key in keys:
        value = _load(db, key)
        if value is not None:
            union = _bytewise_max(union, _registers(value))
    return union


@command("pfmerge", arity=-2, flags="write denyoom", keys=(1, -1, 1), group="hyperloglog",
         since="2.8.9", summary="Merges one or more HyperLogLog values into a single key.",
         complexity="O(N) to merge N HyperLogLogs, but with high constant times.",
         syntax="destkey [sourcekey]...")
def pfmerge(client, argv):
    db, destination = client.db, argv[1]
    union = _union(db, argv[1:])             # the destination's own registers included
    old = _load(db, destination, for_write=True)
    header = bytearray(old[:HEADER_SIZE] if old is not None else EMPTY[:HEADER_SIZE])
    header[ENCODING_AT] = DENSE
    header[HEADER_SIZE - 1] |= STALE
    db.set(destination, bytes(header) + _pack_dense(union), keep_ttl=True)
    # Redis reports a merge as a PFADD: in effect it adds the sources' elements.
    db.notify(STRING, "pfadd", destination)
    return OK


@command("pfdebug", arity=3, flags="write denyoom admin", keys=(2, 2, 1), group="hyperloglog",
         since="2.8.9", summary="Internal commands for debugging HyperLogLog values.",
         complexity="N/A", syntax="subcommand key")
def pfdebug(client, argv):
    db, key, subcommand = client.db, argv[2], argv[1].lower()
    value = db.get_for_write(key, bytes)
    if value is None:
        raise ErrorReply("ERR The specified key does not exist")
    if not _is_hll(value):
        raise NOT_HLL
    sparse = value[ENCODING_AT] == SPARSE
    if subcommand in (b"getreg", b"todense"):
        if sparse:                        # both leave the HLL dense, as a change
            db.set(key, bytes(_as_dense(value)), keep_ttl=True)
        if subcommand == b"todense":
            return int(sparse)
        return list(_registers(value))
    if subcommand == b"encoding":
        return SimpleString("sparse" if sparse else "dense")
    if subcommand == b"decode":
        if not sparse:
            raise ErrorReply("ERR HLL encoding is not sparse")
        return " ".join(f"{name}:{register},{length}" if name == "v" else f"{name}:{length}"
                        for name, register, length in _sparse_runs(value[HEADER_SIZE:])).encode()
    raise ErrorReply(f"ERR Unknown PFDEBUG subcommand '{argv[1].decode('utf-8', 'replace')}'")


@command("pfselftest", arity=1, flags="admin", group="hyperloglog", since="2.8.9",
         summary="An internal command for testing HyperLogLog values.", complexity="N/A",
         syntax="")
def pfselftest(client, argv):
    """Redis's two checks, at a Python pace: the dense registers keep what is written in
    them (one at a time or all at once), and counts of 1 to 10000 distinct elements stay
    within six standard errors (one, for ten elements)."""
    rng = random.Random()
    for _ in range(3):
        registers = bytes(rng.randrange(64) for _ in range(REGISTERS))
        hll = bytearray(EMPTY)
        for index, value in enumerate(registers):
            _set_register(hll, index, value)
        for index, value in enumerate(registers):
            if _get_register(hll, index) != value:
                raise ErrorReply(f"TESTFAILED Register {index} should be {value} but is "
                                 f"{_get_register(hll, index)}")
        if (_pack_dense(registers) != hll[HEADER_SIZE:]
                or _dense_registers(bytes(hll[HEADER_SIZE:])) != registers):
            raise ErrorReply("TESTFAILED packed and unpacked registers disagree")
    hll = bytearray(EMPTY)
    relative_error = 1.04 / math.sqrt(REGISTERS)
    seed = rng.getrandbits(64)
    checkpoint = 1
    for count in range(1, 10001):
        index, run = _register_and_run((count ^ seed).to_bytes(8, "little"))
        if run > _get_register(hll, index):
            _set_register(hll, index, run)
        if count == checkpoint:
            error = abs(count - _estimate(_registers(bytes(hll))))
            allowed = 1 if count == 10 else math.ceil(relative_error * 6 * count)
            if error > allowed:
                raise ErrorReply(f"TESTFAILED Too big error. card:{count} abserr:{error}")
            checkpoint *= 10
    return OK
