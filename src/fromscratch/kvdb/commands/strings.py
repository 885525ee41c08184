"""String commands: GET, SET and friends, counters, ranges, LCS.

A string value is `bytes`. Counters are stored as their decimal text, as Redis stores
them, and parsed on every INCR: simple, and INCR on a short string is cheap.
"""

from __future__ import annotations

from ...resp import ErrorReply
from .. import longdouble
from ..client import OK
from ..keyspace import WRONGTYPE, string_reply
from ..notifications import GENERIC, STRING
from ..table import command
from .args import (INT64_MAX, INT64_MIN, NOT_FLOAT, SYNTAX, Options,
                   expire_time_ms, now_ms, parse_int)

STRING_MAX = ErrorReply("ERR string exceeds maximum allowed size (proto-max-bulk-len)")


def get_string(db, key: bytes) -> bytes | None:
    """The string at `key`, for a reply (see string_reply)."""
    value = db.get(key)
    if value is not None and type(value) is not bytes:
        value = string_reply(value)
        if value is None:
            raise WRONGTYPE
    return value


# -- GET / SET ------------------------------------------------------------------------

@command("get", arity=2, flags="readonly fast", keys=(1, 1, 1), group="string",
         summary="Returns the string value of a key.", complexity="O(1)", syntax="key")
def get(client, argv):
    return get_string(client.db, argv[1])


@command("set", arity=-3, flags="write denyoom", keys=(1, 1, 1), group="string",
         summary="Sets the string value of a key, ignoring its type. The key is created "
                 "if it doesn't exist.", complexity="O(1)",
         syntax="key value [condition: NX | XX] [GET] [expiration: EX seconds | "
                "PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | "
                "KEEPTTL]")
def set_(client, argv):
    db, key, value = client.db, argv[1], argv[2]
    if len(argv) == 3:                       # the plain SET, kept short: it is hot
        db.set(key, value)
        db.notify(STRING, "set", key)
        return OK
    condition = expire_at = None
    keep_ttl = want_old = False
    opts = Options(argv, 3)
    while opts:
        word = opts.next_word()
        if word in (b"NX", b"XX") and condition in (None, word):
            condition = word
        elif word == b"GET" and not want_old:
            want_old = True
        elif word == b"KEEPTTL" and expire_at is None:
            keep_ttl = True
        elif word in (b"EX", b"PX", b"EXAT", b"PXAT") and expire_at is None and not keep_ttl:
            if not opts:
                raise SYNTAX
            expire_at = _expiry(opts.value(), word, "set")
        else:
            raise SYNTAX
    # With GET this reads the key as GET does; otherwise only its existence matters.
    old = get_string(db, key) if want_old else db.entry(key)
    if (condition == b"NX" and old is not None) or (condition == b"XX" and old is None):
        return old if want_old else None
    _store(db, key, value, expire_at, keep_ttl)
    return old if want_old else OK


def _store(db, key: bytes, value: bytes, expire_at: int | None = None,
           keep_ttl: bool = False) -> None:
    """What the SET family does: store the string, with its expiry if any, and say so."""
    db.set(key, value, keep_ttl=keep_ttl)
    db.notify(STRING, "set", key)
    if expire_at is not None:
        db.set_expire(key, expire_at)
        db.notify(GENERIC, "expire", key)


def _expiry(arg: bytes, unit: bytes, command_name: str) -> int:
    """An EX/PX/EXAT/PXAT value as an absolute time in ms; it must be positive."""
    if parse_int(arg) <= 0:
        raise ErrorReply(f"ERR invalid expire time in '{command_name}' command")
    return expire_time_ms(arg, 1000 if unit in (b"EX", b"EXAT") else 1,
                          absolute=unit in (b"EXAT", b"PXAT"), command=command_name)


@command("setnx", arity=3, flags="write denyoom fast", keys=(1, 1, 1), group="string",
         summary="Set the string value of a key only when the key doesn't exist.",
         complexity="O(1)", syntax="key value")
def setnx(client, argv):
    db = client.db
    if argv[1] in db:
        return 0
    _store(db, argv[1], argv[2])
    return 1


def _set_with_ttl(client, argv, unit_ms: int, name: str):
    key, ttl, value = argv[1], argv[2], argv[3]
    if parse_int(ttl) <= 0:
        raise ErrorReply(f"ERR invalid expire time in '{name}' command")
    when = expire_time_ms(ttl, unit_ms, absolute=False, command=name)
    _store(client.db, key, value, when)
    return OK


@command("setex", arity=4, flags="write denyoom", keys=(1, 1, 1), group="string",
         since="2.0.0", summary="Sets the string value and expiration time of a key.",
         complexity="O(1)", syntax="key seconds value")
def setex(client, argv):
    return _set_with_ttl(client, argv, 1000, "setex")


@command("psetex", arity=4, flags="write denyoom", keys=(1, 1, 1), group="string",
         since="2.6.0", summary="Sets both string value and expiration time in "
                                "milliseconds of a key.", complexity="O(1)",
         syntax="key milliseconds value")
def psetex(client, argv):
    return _set_with_ttl(client, argv, 1, "psetex")


@command("getset", arity=3, flags="write denyoom fast", keys=(1, 1, 1), group="string",
         summary="Returns the previous string value of a key after setting it to a new "
                 "value.", complexity="O(1)", syntax="key value")
def getset(client, argv):
    old = get_string(client.db, argv[1])
    _store(client.db, argv[1], argv[2])
    return old


@command("getdel", arity=2, flags="write fast", keys=(1, 1, 1), group="string",
         since="6.2.0", summary="Returns the string value of a key after deleting the key.",
         complexity="O(1)", syntax="key")
def getdel(client, argv):
    value = get_string(client.db, argv[1])
    if value is not None:
        client.db.delete(argv[1])
        client.db.notify(GENERIC, "del", argv[1])
    return value


@command("getex", arity=-2, flags="write fast", keys=(1, 1, 1), group="string",
         since="6.2.0", summary="Returns the string value of a key after setting its "
                                "expiration time.", complexity="O(1)",
         syntax="key [expiration: EX seconds | PX milliseconds | EXAT unix-time-seconds | "
                "PXAT unix-time-milliseconds | PERSIST]")
def getex(client, argv):
    db, key = client.db, argv[1]
    expire_at = None
    persist = False
    opts = Options(argv, 2)
    while opts:
        word = opts.next_word()
        if word in (b"EX", b"PX", b"EXAT", b"PXAT") and expire_at is None and not persist:
            if not opts:
                raise SYNTAX
            expire_at = _expiry(opts.value(), word, "getex")
        elif word == b"PERSIST" and expire_at is None:
            persist = True
        else:
            raise SYNTAX
    value = get_string(db, key)
    if value is None:
        return None
    if expire_at is not None:
        if expire_at <= now_ms():
            db.delete(key)
            db.notify(GENERIC, "del", key)
        else:
            db.set_expire(key, expire_at)
            db.notify(GENERIC, "expire", key)
    elif persist and db.persist(key):
        db.notify(GENERIC, "persist", key)
    return value


# -- several keys -----------------------------------------------------------------------

@command("mget", arity=-2, flags="readonly fast", keys=(1, -1, 1), group="string",
         summary="Atomically returns the string values of one or more keys.",
         complexity="O(N) where N is the number of keys to retrieve.", syntax="key...")
def mget(client, argv):
    db = client.db
    values = []
    for key in argv[1:]:
        values.append(string_reply(db.get(key)))
    return values


def _pairs(argv, name):
    if len(argv) % 2 == 0:
        raise ErrorReply(f"ERR wrong number of arguments for '{name}' command")
    return zip(argv[1::2], argv[2::2])


@command("mset", arity=-3, flags="write denyoom", keys=(1, -1, 2), group="string",
         since="1.0.1", summary="Atomically creates or modifies the string values of one "
                                "or more keys.",
         complexity="O(N) where N is the number of keys to set.", syntax="(data: key value)...")
def mset(client, argv):
    db = client.db
    for key, value in _pairs(argv, "mset"):
        _store(db, key, value)
    return OK


@command("msetnx", arity=-3, flags="write denyoom", keys=(1, -1, 2), group="string",
         since="1.0.1", summary="Atomically modifies the string values of one or more keys "
                                "only when all keys don't exist.",
         complexity="O(N) where N is the number of keys to set.", syntax="(data: key value)...")
def msetnx(client, argv):
    db = client.db
    pairs = list(_pairs(argv, "msetnx"))
    if any(key in db for key, _ in pairs):
        return 0
    for key, value in pairs:
        _store(db, key, value)
    return 1


# -- editing ----------------------------------------------------------------------------

@command("append", arity=3, flags="write denyoom fast", keys=(1, 1, 1), group="string",
         since="2.0.0", summary="Appends a string to the value of a key. Creates the key if "
                                "it doesn't exist.", complexity="O(1)", syntax="key value")
def append(client, argv):
    db, key, tail = client.db, argv[1], argv[2]
    entry = db.entry_for_write(key, bytes)
    if entry is None:
        db.set(key, tail)
        db.notify(STRING, "append", key)
        return len(tail)
    if len(entry.value) + len(tail) > client.kv.config["proto-max-bulk-len"]:
        raise STRING_MAX
    value = db.editable_string(key, entry)
    value += tail
    db.updated(key, STRING, "append")
    return len(value)


@command("strlen", arity=2, flags="readonly fast", keys=(1, 1, 1), group="string",
         since="2.2.0", summary="Returns the length of a string value.", complexity="O(1)",
         syntax="key")
def strlen(client, argv):
    value = client.db.get_typed(argv[1], bytes)
    return len(value) if value is not None else 0


def _getrange(client, argv):
    start, end = parse_int(argv[2]), parse_int(argv[3])
    value = client.db.get_typed(argv[1], bytes)
    if value is None:
        return b""
    length = len(value)
    if start < 0 and end < 0 and start > end:
        return b""
    if start < 0:
        start = max(length + start, 0)
    if end < 0:
        end = max(length + end, 0)
    end = min(end, length - 1)
    if start > end or length == 0:
        return b""
    return bytes(value[start:end + 1])         # bytes already, unless a bytearray's


@command("getrange", arity=4, flags="readonly", keys=(1, 1, 1), group="string",
         since="2.4.0", summary="Returns a substring of the string stored at a key.",
         complexity="O(N) where N is the length of the returned string.",
         syntax="key start end")
def getrange(client, argv):
    return _getrange(client, argv)


@command("substr", arity=4, flags="readonly", keys=(1, 1, 1), group="string",
         since="1.0.0", summary="Returns a substring from a string value.",
         complexity="O(N) where N is the length of the returned string.",
         syntax="key start end")
def substr(client, argv):
    return _getrange(client, argv)


@command("setrange", arity=4, flags="write denyoom", keys=(1, 1, 1), group="string",
         since="2.2.0", summary="Overwrites a part of a string value with another by an "
                                "offset. Creates the key if it doesn't exist.",
         complexity="O(1), not counting the time taken to copy the new string in place.",
         syntax="key offset value")
def setrange(client, argv):
    db, key, patch = client.db, argv[1], argv[3]
    offset = parse_int(argv[2])
    if offset < 0:
        raise ErrorReply("ERR offset is out of range")
    entry = db.entry_for_write(key, bytes)
    if not patch:
        return len(entry.value) if entry is not None else 0
    if offset + len(patch) > client.kv.config["proto-max-bulk-len"]:
        raise STRING_MAX
    if entry is None:
        db.set(key, bytearray(offset) + patch)
        db.notify(STRING, "setrange", key)
        return offset + len(patch)
    value = db.editable_string(key, entry)
    if len(value) < offset:
        value.extend(bytes(offset - len(value)))
    value[offset:offset + len(patch)] = patch
    db.updated(key, STRING, "setrange")
    return len(value)


# -- counters ---------------------------------------------------------------------------

def _add(client, key: bytes, delta: int) -> int:
    db = client.db
    entry = db.entry_for_write(key, bytes)
    if entry is None:
        db.set(key, b"%d" % delta)
        result = delta
    else:
        current = entry.value
        # parse_int's usual case, inline: every INCR reads its counter
        if current.isdigit() and len(current) < 19 and (current[0] != 48 or len(current) == 1):
            result = int(current) + delta
        else:
            result = parse_int(current) + delta
        if not INT64_MIN <= result <= INT64_MAX:
            raise ErrorReply("ERR increment or decrement would overflow")
        db.replace_string(key, entry, b"%d" % result)
    db.notify(STRING, "incrby", key)
    return result


@command("incr", arity=2, flags="write denyoom fast", keys=(1, 1, 1), group="string",
         summary="Increments the integer value of a key by one. Uses 0 as initial value if "
                 "the key doesn't exist.", complexity="O(1)", syntax="key")
def incr(client, argv):
    return _add(client, argv[1], 1)


@command("decr", arity=2, flags="write denyoom fast", keys=(1, 1, 1), group="string",
         summary="Decrements the integer value of a key by one. Uses 0 as initial value if "
                 "the key doesn't exist.", complexity="O(1)", syntax="key")
def decr(client, argv):
    return _add(client, argv[1], -1)


@command("incrby", arity=3, flags="write denyoom fast", keys=(1, 1, 1), group="string",
         summary="Increments the integer value of a key by a number. Uses 0 as initial "
                 "value if the key doesn't exist.", complexity="O(1)", syntax="key increment")
def incrby(client, argv):
    return _add(client, argv[1], parse_int(argv[2]))


@command("decrby", arity=3, flags="write denyoom fast", keys=(1, 1, 1), group="string",
         summary="Decrements a number from the integer value of a key. Uses 0 as initial "
                 "value if the key doesn't exist.", complexity="O(1)", syntax="key decrement")
def decrby(client, argv):
    delta = parse_int(argv[2])
    if delta == INT64_MIN:
        raise ErrorReply("ERR decrement would overflow")
    return _add(client, argv[1], -delta)


def add_long_double(current: bytes | None, increment: bytes) -> bytes:
    """The new text of a float counter, as INCRBYFLOAT and HINCRBYFLOAT compute it (in
    C's long double, emulated exactly: see longdouble.py)."""
    base = parse_long_double(current) if current is not None else 0
    try:
        total = longdouble.add(base, parse_long_double(increment))
    except longdouble.Overflow:
        total = float("inf")
    if isinstance(total, float):
        raise ErrorReply("ERR increment would produce NaN or Infinity")
    return longdouble.format_human(total).encode()


def parse_long_double(arg: bytes):
    text = arg.decode("ascii", "replace")
    if not text or text[0].isspace() or text[-1].isspace():
        raise NOT_FLOAT
    try:
        return longdouble.parse(text)
    except (ValueError, ZeroDivisionError, longdouble.Overflow):
        raise NOT_FLOAT from None


@command("incrbyfloat", arity=3, flags="write denyoom fast", keys=(1, 1, 1), group="string",
         since="2.6.0", summary="Increment the floating point value of a key by a number. "
                                "Uses 0 as initial value if the key doesn't exist.",
         complexity="O(1)", syntax="key increment:double")
def incrbyfloat(client, argv):
    db, key = client.db, argv[1]
    old = db.get_for_write(key, bytes)
    try:
        if old is not None:
            parse_long_double(old)
    except ErrorReply:
        raise ErrorReply("ERR value is not a valid float") from None
    value = add_long_double(old, argv[2])
    db.set(key, value, keep_ttl=True)
    db.notify(STRING, "incrbyfloat", key)
    return value


# -- LCS --------------------------------------------------------------------------------

@command("lcs", arity=-3, flags="readonly", keys=(1, 2, 1), group="string", since="7.0.0",
         summary="Finds the longest common substring.",
         complexity="O(N*M) where N and M are the lengths of s1 and s2, respectively",
         syntax="key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len:integer] [WITHMATCHLEN]")
def lcs(client, argv):
    want_len = want_idx = with_match_len = False
    min_match = 0
    opts = Options(argv, 3)
    while opts:
        word = opts.next_word()
        if word == b"LEN":
            want_len = True
        elif word == b"IDX":
            want_idx = True
        elif word == b"WITHMATCHLEN":
            with_match_len = True
        elif word == b"MINMATCHLEN" and opts:
            min_match = max(parse_int(opts.value()), 0)
        else:
            raise SYNTAX
    if want_len and want_idx:
        raise ErrorReply("ERR If you want both the length and indexes, please just use IDX.")
    a = _lcs_operand(client.db, argv[1])
    b = _lcs_operand(client.db, argv[2])
    # As Redis: its table of 32-bit counts may not take more than proto-max-bulk-len.
    if (len(a) + 1) * (len(b) + 1) * 4 > client.kv.config["proto-max-bulk-len"]:
        raise ErrorReply("ERR Insufficient memory, transient memory for LCS exceeds "
                         "proto-max-bulk-len")
    table = LcsTable(a, b)
    if want_len:
        return table.length
    matches, sequence = _lcs_walk(table, a, b)
    if not want_idx:
        return sequence
    shown = []
    for (a_start, a_end, b_start, b_end) in matches:
        length = a_end - a_start + 1
        if length < min_match:
            continue
        entry = [[a_start, a_end], [b_start, b_end]]
        if with_match_len:
            entry.append(length)
        shown.append(entry)
    return {"matches": shown, "len": table.length}


def _lcs_operand(db, key):
    value = db.get(key)
    if value is None:
        return b""
    if type(value) is not bytes and type(value) is not bytearray:
        raise ErrorReply("ERR The specified keys must contain string values")
    return bytes(value)


class LcsTable:
    """The lengths of the longest common subsequences of a[:i] and b[:j], for every i
    and j (the classic dynamic programming table, which Redis fills cell by cell),
    kept as one bit vector over b for each i and computed a whole row at a time with
    integer arithmetic (Allison and Dix's bit-parallel method, as Hyyro writes it):
    row i's bits say where the count grows along b, so that cell (i, j) is j less the
    ones among its low j bits. Two strings of 11,000 bytes (121 million cells) take
    30 ms and 15 MB here, where a cell at a time in Python took minutes and gigabytes."""

    def __init__(self, a: bytes, b: bytes):
        full = (1 << len(b)) - 1
        where = {}                       # byte -> the bits of its positions in b
        for byte in set(b):
            digits = b.translate(_ONE_WHERE[byte])          # b"0"s, b"1" where it is
            where[byte] = int(digits[::-1], 2)
        row = full
        self.rows = [row]
        for byte in a:
            found = row & where.get(byte, 0)
            row = ((row + found) | (row - found)) & full
            self.rows.append(row)
        self.length = len(b) - row.bit_count()

    def cell(self, i: int, j: int) -> int:
        """The length of the LCS of a[:i] and b[:j]."""
        return j - (self.rows[i] & ((1 << j) - 1)).bit_count()


# _ONE_WHERE[byte]: a translation table giving b"1" for `byte` and b"0" for the others.
_ONE_WHERE = [bytes(b"1"[0] if other == byte else b"0"[0] for other in range(256))
              for byte in range(256)]


def _lcs_walk(table, a: bytes, b: bytes):
    """Walk back from the end, as Redis does, collecting the common string and the
    ranges it matched in (latest first)."""
    i, j = len(a), len(b)
    out = bytearray()
    matches = []
    current = None                 # [a_start, a_end, b_start, b_end] being extended
    while i > 0 and j > 0:
        if a[i - 1] == b[j - 1]:
            out.append(a[i - 1])
            if current is not None and current[0] == i and current[2] == j:
                current[0], current[2] = i - 1, j - 1
            else:
                if current is not None:
                    matches.append(tuple(current))
                current = [i - 1, i - 1, j - 1, j - 1]
            i -= 1
            j -= 1
        elif table.cell(i - 1, j) > table.cell(i, j - 1):
            i -= 1
        else:
            j -= 1
    if current is not None:
        matches.append(tuple(current))
    out.reverse()
    return matches, bytes(out)
