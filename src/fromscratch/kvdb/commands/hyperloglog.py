"""HyperLogLog commands: PFADD, PFCOUNT and PFMERGE (and PFDEBUG, PFSELFTEST).

A HyperLogLog estimates how many distinct elements it was given (within about 0.81%)
in 12 KB, however many there are. As in Redis, it is stored as a string in Redis's own
format, so GET, SET, DUMP and RESTORE carry it as they are, and counts agree with Redis:

    "HYLL" | encoding (0 dense, 1 sparse) | 3 unused bytes |
    cached cardinality: 8 bytes, little endian; the top bit set means "stale" | registers

Dense registers are 16384 counters of 6 bits, 12288 bytes, packed as a little-endian
bit string: register i is bits 6i to 6i+5, counting from the least significant bit of
the first byte. So every 3 bytes hold 4 whole registers, which is how they are read here.

As Redis, a new HLL starts in the sparse encoding: run-length opcodes over the
registers (see `_sparse_runs`), a few bytes while few registers are set. It is changed
opcode by opcode exactly as Redis's hllSparseSet changes it, so its bytes are Redis's
bytes, and it turns dense once it would grow past `hll-sparse-max-bytes` or a register
needs a value above 32.

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
import re
import struct
from bisect import bisect_right
from itertools import accumulate

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
# A new HLL: sparse, cached count 0, one XZERO opcode for all 16384 registers
EMPTY_SPARSE = MAGIC + bytes((SPARSE,)) + bytes(11) + b"\x7f\xff"


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


# Changing the sparse encoding, as Redis's hllSparseSet changes it: byte for byte, for
# the opcodes it leaves depend on the order registers were set in.
ZERO_MAX_LEN = 64
VAL_MAX_VALUE, VAL_MAX_LEN = 32, 4

# XZERO opcodes (01xxxxxx yyyyyyyy), found from the start: every byte before the first
# is an opcode of its own, and so on after each.
_XZERO = re.compile(rb"[\x40-\x7f].", re.DOTALL)
# The registers a VAL or ZERO opcode covers, by its byte
_SPAN_OF_BYTE = bytes((byte & 3) + 1 if byte & 0x80 else (byte & 0x3f) + 1
                      for byte in range(256))


def _val(value: int, length: int) -> int:
    """A VAL opcode: `length` registers (1 to 4) holding `value` (1 to 32)."""
    return 0x80 | (value - 1) << 2 | (length - 1)


def _zeros(length: int) -> list:
    """A run of zero registers: ZERO up to 64, XZERO beyond."""
    if length <= ZERO_MAX_LEN:
        return [length - 1]
    return [0x40 | (length - 1) >> 8, (length - 1) & 0xFF]


class _Promoted(Exception):
    """The sparse HLL must turn dense to take this change."""


class _SparseOpcodes:
    """The opcodes of a sparse HLL being changed, a byte per item, with the first
    register each byte's opcode covers (an XZERO's second byte covers none): the
    opcode of a register is found by bisection, and a split or a merge is a list
    operation (Redis scans and moves the bytes, which is cheap in C only)."""

    def __init__(self, opcodes: bytes):
        self.data = list(opcodes)
        spans = list(opcodes.translate(_SPAN_OF_BYTE))
        end = 0
        for xzero in _XZERO.finditer(opcodes):
            at, end = xzero.span()
            spans[at] = ((opcodes[at] & 0x3f) << 8 | opcodes[at + 1]) + 1
            spans[at + 1] = 0
        if end < len(opcodes) and opcodes[-1] & 0xc0 == 0x40:    # a cut XZERO: reads 0
            spans[-1] = ((opcodes[-1] & 0x3f) << 8) + 1
        # firsts[i]: the first register of the opcode at byte i (of the next opcode for an
        # XZERO's second byte); one more at the end: the registers covered in all
        self.firsts = [0, *accumulate(spans)]

    def encode(self) -> bytes:
        return bytes(self.data)

    def _opcode_before(self, at: int) -> int:
        """Where the opcode before the one at byte `at` starts."""
        firsts = self.firsts
        return at - 2 if at >= 2 and firsts[at - 1] == firsts[at] else at - 1

    def set(self, index: int, count: int, max_bytes: int) -> bool:
        """Raise register `index` to `count`; whether it changed. Raises _Promoted when
        only the dense encoding can take it (`count` over 32, or the string would grow
        past `max_bytes`), CORRUPT if no opcode covers `index`."""
        if count > VAL_MAX_VALUE:
            raise _Promoted
        data, firsts = self.data, self.firsts
        # The zero-span entry of an XZERO's second byte shares its value with the next
        # opcode's first byte: bisect_right lands on an opcode's first byte.
        at = bisect_right(firsts, index) - 1
        if at >= len(data):
            raise CORRUPT
        code, first = data[at], firsts[at]
        span = firsts[at + 1] - first
        oplen = 2 if code & 0xc0 == 0x40 and at + 1 < len(data) else 1
        is_val = code & 0x80
        if is_val:
            old = (code >> 2 & 0x1f) + 1
            if old >= count:
                return False
        if span == 1 and (is_val or not code & 0x40):       # the register's own opcode
            data[at] = _val(count, 1)
        else:       # split: what is before it, the new value, what is after it
            def unchanged(length: int) -> list:       # the rest of the old run
                return [_val(old, length)] if is_val else _zeros(length)

            last = first + span - 1
            parts = []                          # (opcode bytes, its first register)
            if index != first:
                parts.append((unchanged(index - first), first))
            parts.append(([_val(count, 1)], index))
            if index != last:
                parts.append((unchanged(last - index), index + 1))
            new, new_firsts = [], []
            for opcode, opcode_first in parts:
                new += opcode
                new_firsts.append(opcode_first)
                if len(opcode) == 2:                        # XZERO's second byte
                    new_firsts.append(opcode_first + (opcode[0] & 0x3f) * 256 + opcode[1] + 1)
            if (len(new) > oplen
                    and HEADER_SIZE + len(data) + len(new) - oplen > max_bytes):
                raise _Promoted
            data[at:at + oplen] = new
            firsts[at:at + oplen] = new_firsts
        self._merge(self._opcode_before(at) if at else 0)
        return True

    def _merge(self, at: int) -> None:
        """Merge neighbouring VALs of one value while they fit one opcode, looking at up
        to five opcodes from byte `at` (the opcode before the change)."""
        data, firsts = self.data, self.firsts
        looks = 5
        while at < len(data) and looks:
            looks -= 1
            code = data[at]
            if not code & 0x80:
                at += 2 if code & 0x40 else 1
                continue
            if at + 1 < len(data) and data[at + 1] & 0x80:
                following = data[at + 1]
                length = (code & 3) + (following & 3) + 2
                if (code ^ following) & 0x7c == 0 and length <= VAL_MAX_LEN:
                    data[at] = _val((code >> 2 & 0x1f) + 1, length)
                    del data[at + 1], firsts[at + 1]
                    continue                   # and try the merged one with the next
            at += 1


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

def _with_elements(value: bytes, elements, max_bytes: int) -> tuple[bytearray, bool]:
    """The HLL `value` with `elements` added, and whether that changed a register. A
    sparse HLL stays sparse as long as it can (see _SparseOpcodes), then turns dense."""
    elements = iter(elements)
    changed = False
    header = bytearray(value[:HEADER_SIZE])
    if value[ENCODING_AT] == SPARSE:
        sparse = _SparseOpcodes(value[HEADER_SIZE:])
        for element in elements:
            index, run = _register_and_run(element)
            try:
                changed = sparse.set(index, run, max_bytes) or changed
            except _Promoted:        # dense from here on, this element included
                hll = _as_dense(header + sparse.encode())
                _set_register(hll, index, run)
                changed = True
                break
        else:
            return header + sparse.encode(), changed
    else:
        hll = bytearray(value)
    for element in elements:
        index, run = _register_and_run(element)
        if run > _get_register(hll, index):
            _set_register(hll, index, run)
            changed = True
    return hll, changed


@command("pfadd", arity=-2, flags="write denyoom fast", keys=(1, 1, 1), group="hyperloglog",
         since="2.8.9", summary="Adds elements to a HyperLogLog key. Creates the key if it "
                                "doesn't exist.",
         complexity="O(1) to add every element.", syntax="key [element]...")
def pfadd(client, argv):
    db, key = client.db, argv[1]
    value = _load(db, key, for_write=True)
    created = value is None
    hll, changed = _with_elements(EMPTY_SPARSE if created else value, argv[2:],
                                  client.kv.config["hll-sparse-max-bytes"])
    if not (created or changed):
        return 0
    hll[HEADER_SIZE - 1] |= STALE
    db.set(key, hll, keep_ttl=True)         # a bytearray: Redis's HLLs are "raw" strings
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
        return _estimate(_union(db, argv[1:])[0])
    key = argv[1]
    value = _load(db, key)
    if value is None:
        return 0
    count = _cached_count(value)
    if count is None:
        count = _estimate(_registers(value))
        # Caching the count changes the string: WATCH sees it, as in Redis, but it is
        # no event for notifications.
        if type(value) is bytearray:
            value[COUNT_AT:HEADER_SIZE] = count.to_bytes(8, "little")
            db.modified(key)
        else:
            db.set(key, _with_count(value, count), keep_ttl=True)
    return count


def _union(db, keys: list) -> tuple[bytes, bool]:
    """The registers of the union of the HLLs at `keys` (missing ones are empty): the
    largest value of each register; and whether any of them is dense."""
    union, any_dense = bytes(REGISTERS), False
    for key in keys:
        value = _load(db, key)
        if value is not None:
            union = _bytewise_max(union, _registers(value))
            any_dense = any_dense or value[ENCODING_AT] == DENSE
    return union, any_dense


@command("pfmerge", arity=-2, flags="write denyoom", keys=(1, -1, 1), group="hyperloglog",
         since="2.8.9", summary="Merges one or more HyperLogLog values into a single key.",
         complexity="O(N) to merge N HyperLogLogs, but with high constant times.",
         syntax="destkey [sourcekey]...")
def pfmerge(client, argv):
    """As Redis: the result is dense if any HLL involved is; otherwise the union's
    registers are set one by one, in order, into the sparse destination."""
    db, destination = client.db, argv[1]
    # the destination's own registers included
    union, any_dense = _union(db, argv[1:])
    old = _load(db, destination, for_write=True)
    hll = bytearray(EMPTY_SPARSE if old is None else old)
    if not any_dense:
        sparse = _SparseOpcodes(hll[HEADER_SIZE:])
        max_bytes = client.kv.config["hll-sparse-max-bytes"]
        try:
            for index, register in enumerate(union):
                if register:
                    sparse.set(index, register, max_bytes)
            hll[HEADER_SIZE:] = sparse.encode()
        except _Promoted:
            any_dense = True
    if any_dense:
        hll[ENCODING_AT] = DENSE
        hll[HEADER_SIZE:] = _pack_dense(union)
    hll[HEADER_SIZE - 1] |= STALE
    db.set(destination, hll, keep_ttl=True)
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
            db.set(key, _as_dense(value), keep_ttl=True)
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
    within six standard errors (one, for ten elements), the same from an HLL that
    started sparse (and still is, while small)."""
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
    # The same elements go to a dense HLL and to one that starts sparse.
    hll, sparse = bytearray(EMPTY), EMPTY_SPARSE
    max_bytes = client.kv.config["hll-sparse-max-bytes"]
    relative_error = 1.04 / math.sqrt(REGISTERS)
    seed = rng.getrandbits(64)
    checkpoint = 1
    for count in range(1, 10001):
        index, run = _register_and_run((count ^ seed).to_bytes(8, "little"))
        if run > _get_register(hll, index):
            _set_register(hll, index, run)
        if count == checkpoint:
            sparse, _ = _with_elements(sparse, ((n ^ seed).to_bytes(8, "little") for n in
                                                range(checkpoint // 10 + 1, count + 1)),
                                       max_bytes)
            if count < max_bytes / 2 and sparse[ENCODING_AT] != SPARSE:
                raise ErrorReply("TESTFAILED sparse encoding not used")
            estimate = _estimate(_registers(bytes(hll)))
            if _estimate(_registers(sparse)) != estimate:
                raise ErrorReply("TESTFAILED dense/sparse disagree")
            error = abs(count - estimate)
            allowed = 1 if count == 10 else math.ceil(relative_error * 6 * count)
            if error > allowed:
                raise ErrorReply(f"TESTFAILED Too big error. card:{count} abserr:{error}")
            checkpoint *= 10
    return OK
