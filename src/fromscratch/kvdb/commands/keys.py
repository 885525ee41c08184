"""Generic key commands: existence, deletion, renaming, expiry, iteration, databases."""

from __future__ import annotations

from itertools import islice

from ...glob import compile_pattern
from ...resp import ErrorReply, SimpleString
from ..client import OK
from ..cursors import parse_cursor
from ..keyspace import type_name
from ..memory import lfu_decayed
from ..notifications import GENERIC
from ..table import command, container, subcommand
from .args import INT64_MAX, SYNTAX, Options, now_ms, parse_db_index, parse_int

SAME_OBJECT = ErrorReply("ERR source and destination objects are the same")


@command("del", arity=-2, flags="write", keys=(1, -1, 1), group="generic",
         summary="Deletes one or more keys.",
         complexity="O(N) where N is the number of keys that will be removed.", syntax="key...")
def del_(client, argv):
    return _delete(client, argv, lazy=client.kv.config["lazyfree-lazy-user-del"])


@command("unlink", arity=-2, flags="write fast", keys=(1, -1, 1), group="generic",
         since="4.0.0", summary="Asynchronously deletes one or more keys.",
         complexity="O(1) for each key removed regardless of its size.", syntax="key...")
def unlink(client, argv):
    return _delete(client, argv, lazy=True)


def _delete(client, argv, lazy: bool) -> int:
    """DEL and UNLINK. A lazy delete (UNLINK, or DEL with lazyfree-lazy-user-del) of a
    value that takes many allocations to free is what Redis hands to a background
    thread, and counts in INFO's lazyfreed_objects. CPython has no background free, so
    we free at once, but count as Redis does."""
    db, config = client.db, client.kv.config
    deleted = 0
    for key in argv[1:]:
        entry = db.data.get(key) if lazy else None
        if db.delete(key):
            if entry is not None and free_effort(entry.value, config) > LAZYFREE_THRESHOLD:
                client.kv.keyspace.lazyfreed_objects += 1
            db.notify(GENERIC, "del", key)
            deleted += 1
    return deleted


@command("exists", arity=-2, flags="readonly fast", keys=(1, -1, 1), group="generic",
         summary="Determines whether one or more keys exist.",
         complexity="O(N) where N is the number of keys to check.", syntax="key...")
def exists(client, argv):
    db = client.db
    return sum(1 for key in argv[1:] if db.peek(key) is not None)


@command("touch", arity=-2, flags="readonly fast", keys=(1, -1, 1), group="generic",
         since="3.2.1", summary="Returns the number of existing keys out of those specified "
                                "after updating the time they were last accessed.",
         complexity="O(N) where N is the number of keys that will be touched.", syntax="key...")
def touch(client, argv):
    db = client.db
    return sum(1 for key in argv[1:] if db.get(key) is not None)


@command("type", arity=2, flags="readonly fast", keys=(1, 1, 1), group="generic",
         summary="Determines the type of value stored at a key.", complexity="O(1)",
         syntax="key")
def type_(client, argv):
    entry = client.db.peek(argv[1])
    return SimpleString("none" if entry is None else type_name(entry.value))


# -- iteration ---------------------------------------------------------------------------

@command("keys", arity=2, flags="readonly", keys=(0, 0, 0), group="generic", acl="@dangerous",
         summary="Returns all key names that match a pattern.",
         complexity="O(N) with N being the number of keys in the database", syntax="pattern")
def keys(client, argv):
    db = client.db
    match = compile_pattern(argv[1])
    now = now_ms()
    found = []
    for key, entry in list(db.data.items()):
        if entry.expires_at and entry.expires_at <= now:
            db.entry(key)                  # removes it
        elif match(key) is not None:
            found.append(key)
    return found


def scan_options(argv: list, start: int, allow_type: bool = False):
    """The MATCH / COUNT (/ TYPE) options shared by the SCAN family."""
    pattern, count, kind = None, 10, None
    opts = Options(argv, start)
    while opts:
        word = opts.next_word()
        if not opts:
            raise SYNTAX
        if word == b"MATCH":
            pattern = opts.value()
        elif word == b"COUNT":
            count = parse_int(opts.value())
            if count < 1:
                raise SYNTAX
        elif word == b"TYPE" and allow_type:
            kind = opts.value().decode("utf-8", "replace").lower()
        else:
            raise SYNTAX
    match = None if pattern in (None, b"*") else compile_pattern(pattern)
    return match, count, kind


@command("scan", arity=-2, flags="readonly touches_arbitrary_keys", group="generic",
         since="2.8.0",
         summary="Iterates over the key names in the database.",
         complexity="O(1) for every call. O(N) for a complete iteration.",
         syntax="cursor:integer [MATCH pattern] [COUNT count] [TYPE type]")
def scan(client, argv):
    cursor = parse_cursor(argv[1])
    match, count, kind = scan_options(argv, 2, allow_type=True)
    db = client.db
    next_cursor, candidates = client.kv.cursors.page(
        ("keys", db.index, id(db.data)), lambda: db.keys, cursor, count)
    found = []
    for key in candidates:
        entry = db.entry(key, touch=False)
        if entry is None:
            continue
        if match is not None and match(key) is None:
            continue
        if kind is not None and type_name(entry.value) != kind:
            continue
        found.append(key)
    return [b"%d" % next_cursor, found]


@command("randomkey", arity=1, flags="readonly touches_arbitrary_keys", group="generic",
         summary="Returns a random key name from the database.", complexity="O(1)")
def randomkey(client, argv):
    return client.db.random_key()


@command("dbsize", arity=1, flags="readonly fast", group="server", acl="@keyspace",
         summary="Returns the number of keys in the database.", complexity="O(1)")
def dbsize(client, argv):
    return len(client.db)


# -- renaming and copying ------------------------------------------------------------------

def _rename(client, argv, only_if_new: bool):
    db, source, target = client.db, argv[1], argv[2]
    if db.entry(source, touch=False) is None:
        raise ErrorReply("ERR no such key")
    if source == target:
        return 0 if only_if_new else OK
    if only_if_new and target in db:
        return 0
    db.rename(source, target)
    db.notify(GENERIC, "rename_from", source)
    db.notify(GENERIC, "rename_to", target)
    return 1 if only_if_new else OK


@command("rename", arity=3, flags="write", keys=(1, 2, 1), group="generic",
         summary="Renames a key and overwrites the destination.", complexity="O(1)",
         syntax="key newkey")
def rename(client, argv):
    return _rename(client, argv, only_if_new=False)


@command("renamenx", arity=3, flags="write fast", keys=(1, 2, 1), group="generic",
         summary="Renames a key only when the target key name doesn't exist.",
         complexity="O(1)", syntax="key newkey")
def renamenx(client, argv):
    return _rename(client, argv, only_if_new=True)


def copy_value(value):
    return value if type(value) is bytes else value.copy()


@command("copy", arity=-3, flags="write denyoom", keys=(1, 2, 1), group="generic",
         since="6.2.0", summary="Copies the value of a key to a new key.",
         complexity="O(N) worst case for collections, where N is the number of nested "
                    "items. O(1) for string values.",
         syntax="source destination [DB destination-db] [REPLACE]")
def copy(client, argv):
    source_db = client.db
    target_db = source_db
    replace = False
    opts = Options(argv, 3)
    while opts:
        word = opts.next_word()
        if word == b"REPLACE":
            replace = True
        elif word == b"DB" and opts:
            target_db = client.kv.keyspace.dbs[parse_db_index(client.kv, opts.value())]
        else:
            raise SYNTAX
    source, target = argv[1], argv[2]
    if source_db is target_db and source == target:
        raise SAME_OBJECT
    entry = source_db.peek(source)
    if entry is None:
        return 0
    if target in target_db:
        if not replace:
            return 0
        target_db.delete(target)
    target_db.set(target, copy_value(entry.value))
    if entry.expires_at:
        target_db.set_expire(target, entry.expires_at)
    target_db.notify(GENERIC, "copy_to", target)
    return 1


@command("move", arity=3, flags="write fast", keys=(1, 1, 1), group="generic",
         summary="Moves a key to another database.", complexity="O(1)", syntax="key db")
def move(client, argv):
    kv = client.kv
    index = parse_int(argv[2])
    if not 0 <= index < len(kv.keyspace.dbs):
        raise ErrorReply("ERR DB index is out of range")
    source_db, target_db = client.db, kv.keyspace.dbs[index]
    if source_db is target_db:
        raise SAME_OBJECT
    key = argv[1]
    entry = source_db.entry(key, touch=False)
    if entry is None or key in target_db:
        return 0
    source_db.delete(key)
    target_db.set(key, entry.value)
    if entry.expires_at:
        target_db.set_expire(key, entry.expires_at)
    source_db.notify(GENERIC, "move_from", key)
    target_db.notify(GENERIC, "move_to", key)
    return 1


# -- expiry ---------------------------------------------------------------------------------

def _expire(client, argv, unit_ms: int, absolute: bool, name: str):
    key = argv[1]
    flags = _expire_flags(argv[3:])         # as Redis: the options before the time
    value = parse_int(argv[2])
    invalid = ErrorReply(f"ERR invalid expire time in '{name}' command")
    # Redis's bounds are C's LLONG_MIN / 1000 and LLONG_MAX / 1000, which round toward 0.
    if unit_ms == 1000 and not -(INT64_MAX // 1000) <= value <= INT64_MAX // 1000:
        raise invalid
    when = value * unit_ms
    if not absolute:
        when += now_ms()
        if when > INT64_MAX:
            raise invalid
    db = client.db
    entry = db.entry(key, touch=False)
    if entry is None:
        return 0
    current = entry.expires_at or None          # None: no TTL, "infinite" for GT/LT
    if b"NX" in flags and current is not None:
        return 0
    if b"XX" in flags and current is None:
        return 0
    if b"GT" in flags and (current is None or when <= current):
        return 0
    if b"LT" in flags and current is not None and when >= current:
        return 0
    kv = client.kv
    # In the past: the key goes, except while loading the log (nothing expires then:
    # the log's next commands found it there) and on a replica (its primary decides).
    if when <= now_ms() and not kv.loading and kv.primary_link is None:
        db.delete(key)
        db.notify(GENERIC, "del", key)
    else:
        db.set_expire(key, when)
        db.notify(GENERIC, "expire", key)
    return 1


def _expire_flags(args) -> set:
    """EXPIRE's conditions (NX XX GT LT), checked for conflicts."""
    flags = set()
    for arg in args:
        word = arg.upper()
        if word not in (b"NX", b"XX", b"GT", b"LT"):
            raise ErrorReply(f"ERR Unsupported option {arg.decode('utf-8', 'replace')}")
        flags.add(word)
    if b"NX" in flags and flags & {b"XX", b"GT", b"LT"}:
        raise ErrorReply("ERR NX and XX, GT or LT options at the same time are not compatible")
    if b"GT" in flags and b"LT" in flags:
        raise ErrorReply("ERR GT and LT options at the same time are not compatible")
    return flags


_EXPIRE_OPTIONS = "[condition: NX | XX | GT | LT]"


@command("expire", arity=-3, flags="write fast", keys=(1, 1, 1), group="generic",
         summary="Sets the expiration time of a key in seconds.", complexity="O(1)",
         syntax="key seconds " + _EXPIRE_OPTIONS)
def expire(client, argv):
    return _expire(client, argv, 1000, False, "expire")


@command("pexpire", arity=-3, flags="write fast", keys=(1, 1, 1), group="generic",
         since="2.6.0", summary="Sets the expiration time of a key in milliseconds.",
         complexity="O(1)", syntax="key milliseconds " + _EXPIRE_OPTIONS)
def pexpire(client, argv):
    return _expire(client, argv, 1, False, "pexpire")


@command("expireat", arity=-3, flags="write fast", keys=(1, 1, 1), group="generic",
         since="1.2.0", summary="Sets the expiration time of a key to a Unix timestamp.",
         complexity="O(1)", syntax="key unix-time-seconds " + _EXPIRE_OPTIONS)
def expireat(client, argv):
    return _expire(client, argv, 1000, True, "expireat")


@command("pexpireat", arity=-3, flags="write fast", keys=(1, 1, 1), group="generic",
         since="2.6.0", summary="Sets the expiration time of a key to a Unix milliseconds "
                                "timestamp.", complexity="O(1)",
         syntax="key unix-time-milliseconds " + _EXPIRE_OPTIONS)
def pexpireat(client, argv):
    return _expire(client, argv, 1, True, "pexpireat")


def _ttl(client, key: bytes, unit_ms: int, absolute: bool) -> int:
    entry = client.db.peek(key)
    if entry is None:
        return -2
    if not entry.expires_at:
        return -1
    if absolute:
        return entry.expires_at // unit_ms
    remaining = max(entry.expires_at - now_ms(), 0)
    return (remaining + 500) // 1000 if unit_ms == 1000 else remaining


@command("ttl", arity=2, flags="readonly fast", keys=(1, 1, 1), group="generic",
         summary="Returns the expiration time in seconds of a key.", complexity="O(1)",
         syntax="key")
def ttl(client, argv):
    return _ttl(client, argv[1], 1000, absolute=False)


@command("pttl", arity=2, flags="readonly fast", keys=(1, 1, 1), group="generic",
         since="2.6.0", summary="Returns the expiration time in milliseconds of a key.",
         complexity="O(1)", syntax="key")
def pttl(client, argv):
    return _ttl(client, argv[1], 1, absolute=False)


@command("expiretime", arity=2, flags="readonly fast", keys=(1, 1, 1), group="generic",
         since="7.0.0", summary="Returns the expiration time of a key as a Unix timestamp.",
         complexity="O(1)", syntax="key")
def expiretime(client, argv):
    return _ttl(client, argv[1], 1000, absolute=True)


@command("pexpiretime", arity=2, flags="readonly fast", keys=(1, 1, 1), group="generic",
         since="7.0.0", summary="Returns the expiration time of a key as a Unix milliseconds "
                                "timestamp.", complexity="O(1)", syntax="key")
def pexpiretime(client, argv):
    return _ttl(client, argv[1], 1, absolute=True)


@command("persist", arity=2, flags="write fast", keys=(1, 1, 1), group="generic",
         since="2.2.0", summary="Removes the expiration time of a key.", complexity="O(1)",
         syntax="key")
def persist(client, argv):
    db = client.db
    if db.entry(argv[1], touch=False) is None or not db.persist(argv[1]):
        return 0
    db.notify(GENERIC, "persist", argv[1])
    return 1


# -- databases --------------------------------------------------------------------------------

@command("select", arity=2, flags="loading stale fast", group="connection", since="1.0.0",
         summary="Changes the selected database.", complexity="O(1)", syntax="index:integer")
def select(client, argv):
    index = parse_int(argv[1])
    if not 0 <= index < len(client.kv.keyspace.dbs):
        raise ErrorReply("ERR DB index is out of range")
    client.db = client.kv.keyspace.dbs[index]
    return OK


@command("swapdb", arity=3, flags="write fast", group="server", since="4.0.0",
         acl="@keyspace @dangerous",
         summary="Swaps two Redis databases.",
         complexity="O(N) where N is the count of clients watching or blocking on keys "
                    "from both databases.", syntax="index1 index2")
def swapdb(client, argv):
    kv = client.kv
    first = parse_int(argv[1], ErrorReply("ERR invalid first DB index"))
    second = parse_int(argv[2], ErrorReply("ERR invalid second DB index"))
    count = len(kv.keyspace.dbs)
    if not (0 <= first < count and 0 <= second < count):
        raise ErrorReply("ERR DB index is out of range")
    if first != second:
        # The clients blocked on keys of either database get their try once SWAPDB
        # has run (and been propagated), as after any other command.
        kv.keyspace.swap(first, second)
    return OK


def _flush_mode(client, argv: list, databases: list) -> None:
    """Check FLUSHDB's and FLUSHALL's argument. An asynchronous flush (ASYNC, or by
    default with lazyfree-lazy-user-flush) counts every key of `databases` in
    lazyfreed_objects, as Redis's background flush does (we free at once)."""
    if len(argv) > 2 or (len(argv) == 2 and argv[1].upper() not in (b"ASYNC", b"SYNC")):
        raise SYNTAX
    lazy = (argv[1].upper() == b"ASYNC" if len(argv) == 2
            else client.kv.config["lazyfree-lazy-user-flush"])
    if lazy:
        client.kv.keyspace.lazyfreed_objects += sum(len(db.data) for db in databases)


@command("flushdb", arity=-1, flags="write", group="server", since="1.0.0",
         summary="Remove all keys from the current database.",
         complexity="O(N) where N is the number of keys in the selected database",
         syntax="[flush-type: ASYNC | SYNC]", acl="@keyspace @dangerous")
def flushdb(client, argv):
    _flush_mode(client, argv, [client.db])
    client.kv.keyspace.flush(client.db)
    client.kv.tracking.flushed()
    client.kv.force_propagation = True   # even of an empty database, as in Redis
    return OK


@command("flushall", arity=-1, flags="write", group="server", since="1.0.0",
         summary="Removes all keys from all databases.",
         complexity="O(N) where N is the total number of keys in all databases",
         syntax="[flush-type: ASYNC | SYNC]", acl="@keyspace @dangerous")
def flushall(client, argv):
    _flush_mode(client, argv, client.kv.keyspace.dbs)
    kv = client.kv
    kv.flush_databases()
    # As Redis: a save in progress would write the old data over the empty snapshot
    # that replaces it (when there are save rules), a transfer send it to replicas.
    kv.snapshotter.kill_child()
    kv.replication.abort_transfer()
    if kv.config["save"]:
        kv.snapshotter.save()
    # Even of an empty dataset, it reaches the replicas and the append-only file.
    kv.force_propagation = True
    return OK


# -- OBJECT ---------------------------------------------------------------------------------

container("object", group="generic", since="2.2.3",
          summary="A container for object introspection commands.")


def _string_encoding(value: bytes) -> str:
    if len(value) <= 20:
        try:
            parse_int(value)
            return "int"
        except ErrorReply:
            pass
    return "embstr" if len(value) <= 44 else "raw"


def encoding_of(value, config) -> str:
    """What OBJECT ENCODING reports: the compact encoding Redis would use at this size.

    We keep one representation per type (but strings edited in place: see keyspace.py);
    this names the one Redis would pick, from the same size thresholds
    (hash-max-listpack-entries and friends).
    """
    kind = type_name(value)
    if kind == "string":        # raw if edited in place (a bytearray), as in Redis
        return "raw" if type(value) is bytearray else _string_encoding(value)
    if kind == "list":
        small = len(value) <= 128 and all(len(item) <= 64 for item in value.elements())
        return "listpack" if small else "quicklist"
    if kind == "hash":
        small = (len(value) <= config["hash-max-listpack-entries"]
                 and all(len(f) <= config["hash-max-listpack-value"]
                         and len(v) <= config["hash-max-listpack-value"]
                         for f, v in value.items()))
        return "listpack" if small else "hashtable"
    if kind == "set":
        if len(value) <= config["set-max-intset-entries"] and all(
                _string_encoding(member) == "int" for member in value):
            return "intset"
        small = (len(value) <= config["set-max-listpack-entries"]
                 and all(len(member) <= config["set-max-listpack-value"] for member in value))
        return "listpack" if small else "hashtable"
    if kind == "zset":
        small = (len(value) <= config["zset-max-listpack-entries"]
                 and all(len(member) <= config["zset-max-listpack-value"]
                         for member in value.members()))
        return "listpack" if small else "skiplist"
    return "stream"


# lazyfree.c: a value that takes more allocations than this to free is freed in the
# background by UNLINK, FLUSHALL ASYNC and the lazyfree-lazy-* settings.
LAZYFREE_THRESHOLD = 64

# list-max-listpack-size below zero: the bytes a quicklist node may hold
_NODE_BYTES = {-1: 4096, -2: 8192, -3: 16384, -4: 32768, -5: 65536}


def free_effort(value, config) -> int:
    """The allocations Redis frees with `value` (lazyfree.c's lazyfreeGetFreeEffort):
    the elements of a hash table or skip list, a list's quicklist nodes, a stream's
    nodes and its groups' pending entries (as many per group as the first group has);
    1 for anything in one compact allocation."""
    encoding = encoding_of(value, config)
    if encoding in ("hashtable", "skiplist"):
        return len(value)
    if encoding == "quicklist":
        node_size = config["list-max-listpack-size"]
        if node_size > 0:
            return -(-len(value) // node_size)
        # Nodes hold up to so many bytes: estimated from a sample of the items (each
        # with its listpack header and back-length, two bytes for short items).
        sample = list(islice(value.elements(), 8))
        average = sum(len(item) + 2 for item in sample) / len(sample)
        return int(len(value) * average // _NODE_BYTES.get(node_size, 65536)) + 1
    if encoding == "stream":
        effort = value.entries.block_count()
        if value.groups:
            first = value.groups[min(value.groups)]     # Redis's first: in name order
            effort += len(value.groups) * (1 + len(first.pending))
        return effort
    return 1


def _object_entry(client, key: bytes):
    return client.db.entry(key, touch=False)


@subcommand("object", "encoding", arity=3, flags="readonly", keys=(2, 2, 1), since="2.2.3",
            summary="Returns the internal encoding of a Redis object.", complexity="O(1)",
            syntax="key")
def object_encoding(client, argv):
    entry = _object_entry(client, argv[2])
    return None if entry is None else encoding_of(entry.value, client.kv.config).encode()


def lfu_policy(client) -> bool:
    return client.kv.config["maxmemory-policy"].endswith("lfu")


@subcommand("object", "freq", arity=3, flags="readonly", keys=(2, 2, 1), since="4.0.0",
            summary="Returns the logarithmic access frequency counter of a Redis object.",
            complexity="O(1)", syntax="key")
def object_freq(client, argv):
    entry = _object_entry(client, argv[2])
    if entry is None:
        return None
    if not lfu_policy(client):
        raise ErrorReply("ERR An LFU maxmemory policy is not selected, access frequency not "
                         "tracked. Please note that when switching between policies at "
                         "runtime LRU and LFU data will take some time to adjust.")
    return lfu_decayed(entry, client.kv.config["lfu-decay-time"])


@subcommand("object", "idletime", arity=3, flags="readonly", keys=(2, 2, 1), since="2.2.3",
            summary="Returns the time since the last access to a Redis object.",
            complexity="O(1)", syntax="key")
def object_idletime(client, argv):
    entry = _object_entry(client, argv[2])
    if entry is None:
        return None
    if lfu_policy(client):
        raise ErrorReply("ERR An LFU maxmemory policy is selected, idle time not tracked. "
                         "Please note that when switching between policies at runtime LRU "
                         "and LFU data will take some time to adjust.")
    return max(client.kv.keyspace.lru_clock - entry.access, 0)


@subcommand("object", "refcount", arity=3, flags="readonly", keys=(2, 2, 1), since="2.2.3",
            summary="Returns the reference count of a value of a key.", complexity="O(1)",
            syntax="key")
def object_refcount(client, argv):
    entry = _object_entry(client, argv[2])
    if entry is None:
        return None
    value = entry.value
    # Redis shares one object for each small integer string, and reports it as such,
    # except under maxmemory with an LRU or LFU policy, where each value needs its own
    # access time (here judged by the settings now, not when the value was made).
    config = client.kv.config
    shared = not (config["maxmemory"] and config["maxmemory-policy"].endswith(("lru", "lfu")))
    if (shared and type(value) is bytes and _string_encoding(value) == "int"
            and 0 <= int(value) < 10000):
        return 2147483647
    return 1
