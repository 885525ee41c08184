"""Hash commands: fields and their values under one key, counters in fields, iteration
(HSCAN) and random fields (HRANDFIELD).

A hash is a plain `dict` of bytes to bytes, which keeps insertion order as Redis's
compact listpack encoding does. Like every container it never exists empty: HDEL of
its last field deletes the key. Numbers in fields are stored as their text, as Redis
does, and parsed by HINCRBY and HINCRBYFLOAT on each call.
"""

from __future__ import annotations

import random
from itertools import islice

from ...resp import ErrorReply
from ..client import OK
from ..cursors import parse_cursor
from ..notifications import HASH
from ..table import command
from .args import INT64_MAX, INT64_MIN, SYNTAX, parse_int, random_count, repeats_fit
from .keys import encoding_of, scan_options
from .strings import add_long_double, parse_long_double


def get_hash(db, key: bytes) -> dict | None:
    return db.get_typed(key, dict)


# -- setting fields --------------------------------------------------------------------------

def _set_fields(client, argv, name: str) -> int:
    """Set each field/value pair of argv[2:]; returns how many fields are new."""
    if len(argv) % 2:
        raise ErrorReply(f"ERR wrong number of arguments for '{name}' command")
    db, key = client.db, argv[1]
    fields = db.get_or_create(key, dict)
    before = len(fields)
    if len(argv) == 4:                           # one pair, the usual case: no loop
        fields[argv[2]] = argv[3]
    else:
        for index in range(2, len(argv), 2):
            fields[argv[index]] = argv[index + 1]
    db.updated(key, HASH, "hset", (len(argv) - 2) // 2)
    return len(fields) - before


@command("hset", arity=-4, flags="write denyoom fast", keys=(1, 1, 1), group="hash",
         since="2.0.0", summary="Creates or modifies the value of a field in a hash.",
         complexity="O(1) for each field/value pair added, so O(N) to add N field/value "
                    "pairs when the command is called with multiple field/value pairs.",
         syntax="key (data: field value)...")
def hset(client, argv):
    return _set_fields(client, argv, "hset")


@command("hmset", arity=-4, flags="write denyoom fast", keys=(1, 1, 1), group="hash",
         since="2.0.0", summary="Sets the values of multiple fields.",
         complexity="O(N) where N is the number of fields being set.",
         syntax="key (data: field value)...")
def hmset(client, argv):
    _set_fields(client, argv, "hmset")
    return OK


@command("hsetnx", arity=4, flags="write denyoom fast", keys=(1, 1, 1), group="hash",
         since="2.0.0", summary="Sets the value of a field in a hash only when the field "
                                "doesn't exist.", complexity="O(1)", syntax="key field value")
def hsetnx(client, argv):
    db, key, field = client.db, argv[1], argv[2]
    fields = db.get_or_create(key, dict)
    if field in fields:
        return 0
    fields[field] = argv[3]
    db.updated(key, HASH, "hset")
    return 1


# -- reading fields --------------------------------------------------------------------------

@command("hget", arity=3, flags="readonly fast", keys=(1, 1, 1), group="hash", since="2.0.0",
         summary="Returns the value of a field in a hash.", complexity="O(1)",
         syntax="key field")
def hget(client, argv):
    fields = get_hash(client.db, argv[1])
    return fields.get(argv[2]) if fields is not None else None


@command("hmget", arity=-3, flags="readonly fast", keys=(1, 1, 1), group="hash",
         since="2.0.0", summary="Returns the values of all fields in a hash.",
         complexity="O(N) where N is the number of fields being requested.",
         syntax="key field...")
def hmget(client, argv):
    fields = get_hash(client.db, argv[1]) or {}
    return [fields.get(field) for field in argv[2:]]


@command("hgetall", arity=2, flags="readonly", keys=(1, 1, 1), group="hash", since="2.0.0",
         summary="Returns all fields and values in a hash.",
         complexity="O(N) where N is the size of the hash.", syntax="key")
def hgetall(client, argv):
    # A copy: inside EXEC a later command could change the hash before this is written.
    return dict(get_hash(client.db, argv[1]) or {})


@command("hkeys", arity=2, flags="readonly", keys=(1, 1, 1), group="hash", since="2.0.0",
         summary="Returns all fields in a hash.",
         complexity="O(N) where N is the size of the hash.", syntax="key")
def hkeys(client, argv):
    return list(get_hash(client.db, argv[1]) or ())


@command("hvals", arity=2, flags="readonly", keys=(1, 1, 1), group="hash", since="2.0.0",
         summary="Returns all values in a hash.",
         complexity="O(N) where N is the size of the hash.", syntax="key")
def hvals(client, argv):
    return list((get_hash(client.db, argv[1]) or {}).values())


@command("hexists", arity=3, flags="readonly fast", keys=(1, 1, 1), group="hash",
         since="2.0.0", summary="Determines whether a field exists in a hash.",
         complexity="O(1)", syntax="key field")
def hexists(client, argv):
    fields = get_hash(client.db, argv[1])
    return int(fields is not None and argv[2] in fields)


@command("hlen", arity=2, flags="readonly fast", keys=(1, 1, 1), group="hash", since="2.0.0",
         summary="Returns the number of fields in a hash.", complexity="O(1)", syntax="key")
def hlen(client, argv):
    fields = get_hash(client.db, argv[1])
    return len(fields) if fields is not None else 0


@command("hstrlen", arity=3, flags="readonly fast", keys=(1, 1, 1), group="hash",
         since="3.2.0", summary="Returns the length of the value of a field.",
         complexity="O(1)", syntax="key field")
def hstrlen(client, argv):
    fields = get_hash(client.db, argv[1])
    value = fields.get(argv[2]) if fields is not None else None
    return len(value) if value is not None else 0


# -- deleting fields -------------------------------------------------------------------------

@command("hdel", arity=-3, flags="write fast", keys=(1, 1, 1), group="hash", since="2.0.0",
         summary="Deletes one or more fields and their values from a hash. Deletes the hash "
                 "if no fields remain.",
         complexity="O(N) where N is the number of fields to be removed.",
         syntax="key field...")
def hdel(client, argv):
    db, key = client.db, argv[1]
    fields = db.get_for_write(key, dict)
    if fields is None:
        return 0
    removed = sum(fields.pop(field, None) is not None for field in argv[2:])
    if removed:
        db.removed(key, fields, HASH, "hdel", removed)
    return removed


# -- counters --------------------------------------------------------------------------------

@command("hincrby", arity=4, flags="write denyoom fast", keys=(1, 1, 1), group="hash",
         since="2.0.0", summary="Increments the integer value of a field in a hash by a "
                                "number. Uses 0 as initial value if the field doesn't exist.",
         complexity="O(1)", syntax="key field increment")
def hincrby(client, argv):
    increment = parse_int(argv[3])
    db, key, field = client.db, argv[1], argv[2]
    fields = db.get_or_create(key, dict)
    current = fields.get(field)
    if current is None:
        current = 0
    else:
        current = parse_int(current, ErrorReply("ERR hash value is not an integer"))
    result = current + increment
    if not INT64_MIN <= result <= INT64_MAX:
        raise ErrorReply("ERR increment or decrement would overflow")
    fields[field] = b"%d" % result
    db.updated(key, HASH, "hincrby")
    return result


@command("hincrbyfloat", arity=4, flags="write denyoom fast", keys=(1, 1, 1), group="hash",
         since="2.6.0", summary="Increments the floating point value of a field by a number. "
                                "Uses 0 as initial value if the field doesn't exist.",
         complexity="O(1)", syntax="key field increment:double")
def hincrbyfloat(client, argv):
    increment = argv[3]
    if isinstance(parse_long_double(increment), float):        # an infinity
        raise ErrorReply("ERR value is NaN or Infinity")
    db, key, field = client.db, argv[1], argv[2]
    fields = db.get_or_create(key, dict)
    current = fields.get(field)
    if current is not None:
        try:
            parse_long_double(current)
        except ErrorReply:
            raise ErrorReply("ERR hash value is not a float") from None
    value = add_long_double(current, increment)
    fields[field] = value
    db.updated(key, HASH, "hincrbyfloat")
    return value


# -- iteration and sampling ------------------------------------------------------------------

@command("hscan", arity=-3, flags="readonly", keys=(1, 1, 1), group="hash", since="2.8.0",
         summary="Iterates over fields and values of a hash.",
         complexity="O(1) for every call. O(N) for a complete iteration, including enough "
                    "command calls for the cursor to return back to 0. N is the number of "
                    "elements inside the collection..",
         syntax="key cursor [MATCH pattern] [COUNT count]")
def hscan(client, argv):
    cursor = parse_cursor(argv[2])
    db, key = client.db, argv[1]
    fields = get_hash(db, key)
    if fields is None:
        return [b"0", []]
    match, count, _ = scan_options(argv, 3)
    if encoding_of(fields, client.kv.config) == "listpack":
        # Redis answers a hash this small whole, in one call, whatever the cursor.
        next_cursor, names = 0, fields
    else:
        next_cursor, names = client.kv.cursors.page(("hash", db.index, key), lambda: fields,
                                                    cursor, count)
    found = []
    for name in names:
        value = fields.get(name)              # a field deleted since the snapshot is gone
        if value is not None and (match is None or match(name) is not None):
            found += (name, value)
    return [b"%d" % next_cursor, found]


def _random_field(fields: dict) -> bytes:
    # A dict has no random access: walk to a random position (O(N), where Redis is O(1)).
    return next(islice(fields, random.randrange(len(fields)), None))


def _fields_reply(client, fields: dict, names, with_values: bool) -> list:
    """Field names, or with WITHVALUES field/value pairs: an array of two-element arrays in
    RESP3, one flat array in RESP2."""
    if not with_values:
        return list(names)
    if client.resp == 3:
        return [[name, fields[name]] for name in names]
    return [item for name in names for item in (name, fields[name])]


@command("hrandfield", arity=-2, flags="readonly", keys=(1, 1, 1), group="hash",
         since="6.2.0", summary="Returns one or more random fields from a hash.",
         complexity="O(N) where N is the number of fields returned",
         syntax="key [options: count [WITHVALUES]]")
def hrandfield(client, argv):
    if len(argv) == 2:
        fields = get_hash(client.db, argv[1])
        return _random_field(fields) if fields is not None else None
    count = random_count(argv[2])
    if len(argv) > 4 or (len(argv) == 4 and argv[3].upper() != b"WITHVALUES"):
        raise SYNTAX
    with_values = len(argv) == 4
    if with_values and abs(count) > INT64_MAX // 2:     # the reply would be 2*count long
        raise ErrorReply("ERR value is out of range")
    fields = get_hash(client.db, argv[1])
    if fields is None or count == 0:
        return []
    if count < 0:                              # repeats allowed, in random order
        if not repeats_fit(client, -count):
            return []
        names = random.choices(list(fields), k=-count)
    elif count >= len(fields):                 # the whole hash, in its own order
        names = fields
    else:                                      # distinct fields
        names = random.sample(list(fields), count)
    return _fields_reply(client, fields, names, with_values)
