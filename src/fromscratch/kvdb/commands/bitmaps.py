"""Bitmap commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD and BITFIELD_RO.

A bitmap is a plain string. Bits are numbered as Redis numbers them: bit 0 is the
most significant bit of the first byte, bit 8 that of the second, and so on. Reading
past the end of a string reads zeros; writing past it pads it with zero bytes.

SETBIT and BITFIELD change the string in place, as a bytearray (keyspace.py's
editable_string: Redis's "raw" strings), so a write costs O(1), not the length of the
string; BITOP stores its result as one too, as Redis does. Ranges of bits are read by
turning the bytes into one Python integer, whose popcount and bit length are C-speed.

Like Redis, SETBIT and BITFIELD count as a change only when they change the string
(a bit or field set to the value it had does not notify, abort a WATCH or count for
persistence), and a BITOP whose sources are all empty deletes its destination.
"""

from __future__ import annotations

from typing import NamedTuple

from ...resp import ErrorReply
from ..notifications import GENERIC, STRING
from ..table import command
from .args import INT64_MAX, SYNTAX, parse_int

BAD_OFFSET = ErrorReply("ERR bit offset is not an integer or out of range")
BAD_BIT = ErrorReply("ERR bit is not an integer or out of range")
BAD_TYPE = ErrorReply("ERR Invalid bitfield type. Use something like i16 u8. "
                      "Note that u64 is not supported but i64 is.")


def _int64(value: int) -> int:
    """`value` wrapped to a signed 64-bit integer, as C's arithmetic leaves it."""
    return (value + 2**63) % 2**64 - 2**63


def _bit_offset(client, arg: bytes, field_bits: int = 0) -> int:
    """A bit offset as Redis reads it. BITFIELD (which passes its field width) also takes
    `#n`, the n-th field of that width. The limit is proto-max-bulk-len bytes of bits
    (2^32 - 1 with the default 512 MB)."""
    by_field = field_bits and arg[:1] == b"#"
    offset = parse_int(arg[1:] if by_field else arg, BAD_OFFSET)
    if by_field:
        offset = _int64(offset * field_bits)      # wraps in Redis; a huge #n may pass
    if offset < 0 or offset >> 3 >= client.kv.config["proto-max-bulk-len"]:
        raise BAD_OFFSET
    return offset


def _bits(value: bytes, first: int, last: int) -> int:
    """Bits first..last (inclusive; both within `value`) as an integer of that width."""
    chunk = int.from_bytes(value[first >> 3:(last >> 3) + 1], "big") >> (7 - (last & 7))
    if first & 7:                      # drop the bits before `first` in its byte
        chunk &= (1 << (last - first + 1)) - 1
    return chunk


def _bit_range(length: int, start: int, end: int, in_bits: bool) -> tuple[int, int]:
    """BITCOUNT's and BITPOS's start and end, given in bytes or bits and counted from
    the end when negative, as the first and last bit they cover; first > last when
    the range is empty."""
    total = length * 8 if in_bits else length
    if start < 0:
        start = max(total + start, 0)
    if end < 0:
        end = max(total + end, 0)
    end = min(end, total - 1)
    if in_bits or start > end:
        return start, end
    return start * 8, end * 8 + 7


def _index_unit(arg: bytes) -> bool:
    """BYTE or BIT (either case): whether the range is in bits."""
    unit = arg.upper()
    if unit not in (b"BYTE", b"BIT"):
        raise SYNTAX
    return unit == b"BIT"


def _pad(value: bytearray, size: int) -> bool:
    """Grow `value` with zero bytes to `size` bytes; whether it had to."""
    missing = size - len(value)
    if missing > 0:
        value.extend(bytes(missing))
    return missing > 0


# -- single bits ------------------------------------------------------------------------

@command("setbit", arity=4, flags="write denyoom", keys=(1, 1, 1), group="bitmap",
         since="2.2.0", summary="Sets or clears the bit at offset of the string value. "
                                "Creates the key if it doesn't exist.",
         complexity="O(1)", syntax="key offset value:integer")
def setbit(client, argv):
    db, key = client.db, argv[1]
    offset = _bit_offset(client, argv[2])
    bit = parse_int(argv[3], BAD_BIT)
    if bit not in (0, 1):
        raise BAD_BIT
    byte, mask = offset >> 3, 0x80 >> (offset & 7)
    entry = db.entry_for_write(key, bytes)
    if entry is None:
        value = bytearray(byte + 1)
        value[byte] = mask if bit else 0
        db.set(key, value)
        db.notify(STRING, "setbit", key)
        return 0
    value = db.editable_string(key, entry)
    grown = _pad(value, byte + 1)
    was = 1 if value[byte] & mask else 0
    if was != bit:
        value[byte] ^= mask
    if grown or was != bit:                   # longer, or a flip: a change
        db.updated(key, STRING, "setbit")
    return was


@command("getbit", arity=3, flags="readonly fast", keys=(1, 1, 1), group="bitmap",
         since="2.2.0", summary="Returns a bit value by offset.", complexity="O(1)",
         syntax="key offset")
def getbit(client, argv):
    offset = _bit_offset(client, argv[2])
    value = client.db.get_typed(argv[1], bytes)
    if value is None or offset >> 3 >= len(value):
        return 0
    return 1 if value[offset >> 3] & (0x80 >> (offset & 7)) else 0


# -- counting and searching -------------------------------------------------------------

@command("bitcount", arity=-2, flags="readonly", keys=(1, 1, 1), group="bitmap",
         since="2.6.0", summary="Counts the number of set bits (population counting) in "
                                "a string.", complexity="O(N)",
         syntax="key [index: start end [index_unit: BYTE | BIT]]")
def bitcount(client, argv):
    # Redis 7.0 looks the key up first: a missing key is 0 whatever the arguments.
    value = client.db.get_typed(argv[1], bytes)
    if value is None:
        return 0
    if len(argv) == 2:
        first, last = 0, len(value) * 8 - 1
    elif len(argv) in (4, 5):
        start, end = parse_int(argv[2]), parse_int(argv[3])
        if start < 0 and end < 0 and start > end:
            return 0                   # decided before BYTE|BIT is even read, as in 7.0
        in_bits = len(argv) == 5 and _index_unit(argv[4])
        first, last = _bit_range(len(value), start, end, in_bits)
    else:
        raise SYNTAX
    return _bits(value, first, last).bit_count() if first <= last else 0


@command("bitpos", arity=-3, flags="readonly", keys=(1, 1, 1), group="bitmap",
         since="2.8.7", summary="Finds the first set (1) or clear (0) bit in a string.",
         complexity="O(N)",
         syntax="key bit:integer [index: start [end_index: end [index_unit: BYTE | BIT]]]")
def bitpos(client, argv):
    bit = parse_int(argv[2])
    if bit not in (0, 1):
        raise ErrorReply("ERR The bit argument must be 1 or 0.")
    value = client.db.get_typed(argv[1], bytes)
    if value is None:
        return -1 if bit else 0        # a missing key is an endless run of zeros
    end_given = len(argv) >= 5
    if len(argv) == 3:
        first, last = 0, len(value) * 8 - 1
    elif len(argv) <= 6:
        start = parse_int(argv[3])
        in_bits = len(argv) == 6 and _index_unit(argv[5])   # read before the end, as Redis
        end = parse_int(argv[4]) if end_given else len(value) - 1
        first, last = _bit_range(len(value), start, end, in_bits)
    else:
        raise SYNTAX
    if first > last:
        return -1
    width = last - first + 1
    found = _bits(value, first, last)
    if not bit:
        found ^= (1 << width) - 1      # look for a set bit among the flipped ones
    if found:
        return first + width - found.bit_length()
    # No clear bit: without an explicit end, the string goes on with zeros after it.
    return -1 if bit or end_given else last + 1


# -- BITOP ------------------------------------------------------------------------------

@command("bitop", arity=-4, flags="write denyoom", keys=(2, -1, 1), group="bitmap",
         since="2.6.0", summary="Performs bitwise operations on multiple strings, and "
                                "stores the result.", complexity="O(N)",
         syntax="operation destkey key...")
def bitop(client, argv):
    db, operation, destination = client.db, argv[1].upper(), argv[2]
    if operation not in (b"AND", b"OR", b"XOR", b"NOT"):
        raise SYNTAX
    if operation == b"NOT" and len(argv) != 4:
        raise ErrorReply("ERR BITOP NOT must be called with a single source key.")
    sources = [db.get_typed(key, bytes) or b"" for key in argv[3:]]
    length = max(len(source) for source in sources)
    if not length:
        if db.delete(destination):
            db.notify(GENERIC, "del", destination)
        return 0
    # Shorter strings count as padded with zero bytes, which shifting left gives.
    numbers = [int.from_bytes(source, "big") << (8 * (length - len(source)))
               for source in sources]
    result = numbers[0]
    if operation == b"NOT":
        result ^= (1 << (8 * length)) - 1
    for number in numbers[1:]:
        if operation == b"AND":
            result &= number
        elif operation == b"OR":
            result |= number
        else:
            result ^= number
    db.set(destination, bytearray(result.to_bytes(length, "big")))     # raw, as in Redis
    db.notify(STRING, "set", destination)
    return length


# -- BITFIELD ---------------------------------------------------------------------------

class _FieldOp(NamedTuple):
    action: bytes          # GET, SET or INCRBY
    signed: bool
    bits: int
    offset: int
    operand: int           # SET's value or INCRBY's increment
    overflow: bytes        # WRAP, SAT or FAIL: the OVERFLOW in force when it was given


def _field_type(arg: bytes) -> tuple[bool, int]:
    """i1..i64 or u1..u63 (lower case only, as in Redis): (signed, bits)."""
    signed = arg[:1] == b"i"
    if not signed and arg[:1] != b"u":
        raise BAD_TYPE
    bits = parse_int(arg[1:], BAD_TYPE)
    if not 1 <= bits <= (64 if signed else 63):
        raise BAD_TYPE
    return signed, bits


def _field_ops(client, argv) -> list[_FieldOp]:
    """BITFIELD's subcommands, all checked before any runs."""
    ops = []
    overflow = b"WRAP"
    pos = 2
    while pos < len(argv):
        action, left = argv[pos].upper(), len(argv) - pos - 1
        if action == b"OVERFLOW" and left >= 1:
            overflow = argv[pos + 1].upper()
            if overflow not in (b"WRAP", b"SAT", b"FAIL"):
                raise ErrorReply("ERR Invalid OVERFLOW type specified")
            pos += 2
            continue
        if not ((action == b"GET" and left >= 2)
                or (action in (b"SET", b"INCRBY") and left >= 3)):
            raise SYNTAX
        signed, bits = _field_type(argv[pos + 1])
        offset = _bit_offset(client, argv[pos + 2], bits)
        operand = parse_int(argv[pos + 3]) if action != b"GET" else 0
        ops.append(_FieldOp(action, signed, bits, offset, operand, overflow))
        pos += 3 if action == b"GET" else 4
    return ops


def _get_field(value, op: _FieldOp) -> int:
    """The field's integer, reading zeros past the end of the string."""
    first, last = op.offset >> 3, (op.offset + op.bits - 1) >> 3
    chunk = value[first:last + 1].ljust(last - first + 1, b"\0")
    field = _bits(chunk, op.offset & 7, (op.offset & 7) + op.bits - 1)
    if op.signed and field >> (op.bits - 1):
        field -= 1 << op.bits
    return field


def _set_field(buffer: bytearray, op: _FieldOp, number: int) -> None:
    """Store the low op.bits bits of `number` in the field (the buffer is long enough)."""
    first, last = op.offset >> 3, (op.offset + op.bits - 1) >> 3
    shift = 7 - ((op.offset + op.bits - 1) & 7)
    mask = ((1 << op.bits) - 1) << shift
    chunk = int.from_bytes(buffer[first:last + 1], "big")
    chunk = (chunk & ~mask) | ((number << shift) & mask)
    buffer[first:last + 1] = chunk.to_bytes(last - first + 1, "big")


def _limits(op: _FieldOp) -> tuple[int, int]:
    """The smallest and largest integers the field holds."""
    if op.signed:
        return -(1 << (op.bits - 1)), (1 << (op.bits - 1)) - 1
    return 0, (1 << op.bits) - 1


def _overflow(op: _FieldOp, value: int, increment: int) -> int:
    """1, -1 or 0: whether value + increment is too large, too small or fits in the
    field, as Redis decides it. For a signed field Redis computes max - value in 64-bit
    arithmetic, which wraps for a SET value from INT64_MIN to INT64_MIN + max: such a
    value counts as too large (OVERFLOW SAT stores max). For an unsigned field a
    negative SET value is read as a huge unsigned one, so it is too large too."""
    low, high = _limits(op)
    total = value + increment
    if op.signed:
        too_large = total > high or (op.bits < 64 and high - value > INT64_MAX)
    else:
        too_large = total > high or value < 0
    if too_large:
        return 1
    return -1 if total < low else 0


def _write_field(buffer: bytearray, op: _FieldOp) -> tuple[int, int | None]:
    """Run a SET or INCRBY on the field: (the value it had, the value it got, or None
    when OVERFLOW FAIL left it alone)."""
    old = _get_field(buffer, op)
    value, increment = (old, op.operand) if op.action == b"INCRBY" else (op.operand, 0)
    direction = _overflow(op, value, increment)
    if not direction:
        new = value + increment
    elif op.overflow == b"FAIL":
        return old, None
    elif op.overflow == b"SAT":
        new = _limits(op)[direction > 0]
    else:                                                    # WRAP: modulo 2^bits
        new = (value + increment) & ((1 << op.bits) - 1)
        if op.signed and new >> (op.bits - 1):
            new -= 1 << op.bits
    _set_field(buffer, op, new)
    return old, new


def _bitfield(client, argv, read_only: bool):
    db, key = client.db, argv[1]
    ops = _field_ops(client, argv)
    writes = [op for op in ops if op.action != b"GET"]
    if not writes:
        value = db.get_typed(key, bytes) or b""
        return [_get_field(value, op) for op in ops]
    if read_only:
        raise ErrorReply("ERR BITFIELD_RO only supports the GET subcommand")
    entry = db.entry_for_write(key, bytes)
    # Like Redis, make room for the farthest write first, even one that will FAIL.
    size = max((op.offset + op.bits - 1) >> 3 for op in writes) + 1
    if entry is None:
        buffer, grown = bytearray(size), True
    else:
        buffer = db.editable_string(key, entry)
        grown = _pad(buffer, size)
    replies, changes = [], 0
    for op in ops:
        if op.action == b"GET":
            replies.append(_get_field(buffer, op))
            continue
        old, new = _write_field(buffer, op)
        if new is None:
            replies.append(None)
            continue
        replies.append(new if op.action == b"INCRBY" else old)
        if grown or new != old:           # a write counts only if it changed the string
            changes += 1
    if entry is None:
        db.add(key, buffer)
    if changes:
        db.updated(key, STRING, "setbit", changes)
    elif grown:
        # Made or padded although every write FAILed: kept, as in Redis, but not
        # counted as a change (no WATCH abort, no event but "new", nothing for the
        # AOF); only its size is counted again.
        db.resized.add(key)
    return replies


@command("bitfield", arity=-2, flags="write denyoom", keys=(1, 1, 1), group="bitmap",
         since="3.2.0", summary="Performs arbitrary bitfield integer operations on strings.",
         complexity="O(1) for each subcommand specified",
         syntax="key [operation: (encoding_offset: GET encoding offset) | (write: "
                "[wrap_sat_fail: OVERFLOW (WRAP | SAT | FAIL)] (write_operation: "
                "(encoding_offset_value: SET encoding offset value:integer) | "
                "(encoding_offset_increment: INCRBY encoding offset increment)))]...")
def bitfield(client, argv):
    return _bitfield(client, argv, read_only=False)


@command("bitfield_ro", arity=-2, flags="readonly fast", keys=(1, 1, 1), group="bitmap",
         since="6.0.0", summary="Performs arbitrary read-only bitfield integer operations "
                                "on strings.",
         complexity="O(1) for each subcommand specified",
         syntax="key [encoding_offset: GET encoding offset]...")
def bitfield_ro(client, argv):
    return _bitfield(client, argv, read_only=True)
