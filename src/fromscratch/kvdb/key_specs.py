"""Key specifications: for each command, where its keys are and what it does with
them, as Redis 7 describes them in COMMAND INFO (`key_specs`) and answers COMMAND
GETKEYSANDFLAGS.

Each spec is one line, `flags | begin_search | find_keys [| notes]`:

* flags: RO/RW/OW/RM (read only, read-write, overwrite, remove), then what is done:
  access, update, insert, delete; `not_key` (a shard channel, not a key), `incomplete`
  (the spec may miss keys), `variable_flags` (the flags depend on the arguments);
* begin_search: `index N` (the search starts at argv[N]), `keyword WORD FROM` (just
  after WORD, looked for from argv[FROM] on, or backwards from the end for a negative
  FROM), or `unknown`;
* find_keys: `range LAST STEP LIMIT` (keys up to LAST, relative to the start, or
  counted from the end when negative; with a LIMIT, only the first 1/LIMIT of what
  remains) or `keynum INDEX FIRST STEP` (a count of keys at start+INDEX, the keys from
  start+FIRST), or `unknown`.

The table is what a real Redis 7.0 answers to COMMAND, which these replies must match.
Where the flags depend on the arguments (SET with GET, BITFIELD's operations, SORT ...
STORE, MIGRATE ... KEYS), `flags_by_index` works them out as Redis's own key-finding
functions do for those commands.
"""

from __future__ import annotations

from functools import cache


class KeySpec:
    __slots__ = ("flags", "begin", "find", "notes")

    def __init__(self, text: str):
        fields = text.split(" | ")
        self.flags = tuple(fields[0].split())
        self.begin = fields[1].split()
        self.find = fields[2].split()
        self.notes = fields[3] if len(fields) > 3 else None

    def info(self) -> dict:
        """This spec as COMMAND INFO shows it."""
        kind, *args = self.begin
        if kind == "index":
            begin = {"index": int(args[0])}
        elif kind == "keyword":
            begin = {"keyword": args[0], "startfrom": int(args[1])}
        else:
            begin = {}
        find_kind, *args = self.find
        if find_kind == "range":
            find = dict(zip(("lastkey", "keystep", "limit"), map(int, args)))
        elif find_kind == "keynum":
            find = dict(zip(("keynumidx", "firstkey", "keystep"), map(int, args)))
        else:
            find = {}
        spec = {"notes": self.notes} if self.notes else {}
        spec["flags"] = self.flags
        spec["begin_search"] = {"type": kind, "spec": begin}
        spec["find_keys"] = {"type": find_kind, "spec": find}
        return spec

    def indexes(self, argv: list) -> list[int]:
        """Where this spec finds keys in argv (argv[0] is the command's name), as Redis
        finds them; none when its search fails."""
        kind, *args = self.begin
        if kind == "index":
            start = int(args[0])
        elif kind == "keyword":
            word, start_from = args[0].encode(), int(args[1])
            order = (range(start_from, len(argv)) if start_from > 0
                     else range(len(argv) + start_from, 0, -1))
            start = next((index + 1 for index in order if argv[index].upper() == word), None)
            if start is None:
                return []
        else:
            return []
        if start >= len(argv):
            return []
        kind, *args = self.find
        if kind == "range":
            last_key, step, limit = map(int, args)
            if last_key >= 0:
                last = start + last_key
            elif not limit:
                last = len(argv) + last_key
            else:
                last = start + (len(argv) - start) // limit + last_key
        elif kind == "keynum":
            count_at, first_key, step = map(int, args)
            count = argv[start + count_at] if start + count_at < len(argv) else b""
            if not count.isdigit():
                return []
            start += first_key
            last = start + (int(count) - 1) * step
        else:
            return []
        return [index for index in range(start, last + 1, step) if index < len(argv)]


@cache
def specs_of(name: str) -> tuple[KeySpec, ...]:
    """The key specs of the command (or `container|subcommand`) `name`; empty for a
    command without keys."""
    return tuple(map(KeySpec, _SPECS.get(name, ())))


def only_channels(name: str) -> bool:
    """Whether what `name` declares as keys are all shard channels (SPUBLISH): COMMAND
    GETKEYS then finds no key."""
    specs = specs_of(name)
    return bool(specs) and all("not_key" in spec.flags for spec in specs)


def flags_by_index(name: str, argv: list) -> dict[int, tuple]:
    """The flags of each key of a call of `name` (argv[0] its name), by the key's
    index in argv (the keys themselves are found by Command.key_indexes)."""
    flags_of_call = _FLAGS_OF_CALL.get(name)
    if flags_of_call is not None:
        return flags_of_call(argv)
    found: dict[int, tuple] = {}
    for spec in specs_of(name):
        for index in spec.indexes(argv):
            found.setdefault(index, spec.flags)
    return found


def _set_flags(argv: list) -> dict:
    if any(arg.upper() == b"GET" for arg in argv[3:]):
        return {1: ("RW", "access", "update")}
    return {1: ("OW", "update")}


def _bitfield_flags(argv: list) -> dict:
    """Read only when every operation is a GET (or OVERFLOW); a malformed call counts
    as a write, the safer guess (as Redis guesses)."""
    index = 2
    while index < len(argv):
        word, left = argv[index].upper(), len(argv) - index - 1
        if word == b"GET" and left >= 2:
            index += 3
        elif word == b"OVERFLOW" and left >= 1:
            index += 2
        else:
            return {1: ("RW", "access", "update")}
    return {1: ("RO", "access")}


def _sort_flags(argv: list) -> dict:
    """The sorted key is read; any other key is STORE's destination."""
    return dict.fromkeys(range(2, len(argv)), ("OW", "update")) | {1: ("RO", "access")}


def _migrate_flags(argv: list) -> dict:
    """Every key MIGRATE names (the one key, or those after KEYS) moves away."""
    return dict.fromkeys(range(1, len(argv)), ("RW", "access", "delete"))


_FLAGS_OF_CALL = {"set": _set_flags, "bitfield": _bitfield_flags, "sort": _sort_flags,
                  "sort_ro": lambda argv: {1: ("RO", "access")}, "migrate": _migrate_flags}


_SPECS = {
    'append': ('RW insert | index 1 | range 0 1 0',),
    'bitcount': ('RO access | index 1 | range 0 1 0',),
    'bitfield': (
        'RW access update variable_flags | index 1 | range 0 1 0 | This command allows '
        'both access and modification of the key',
    ),
    'bitfield_ro': ('RO access | index 1 | range 0 1 0',),
    'bitop': (
        'OW update | index 2 | range 0 1 0',
        'RO access | index 3 | range -1 1 0',
    ),
    'bitpos': ('RO access | index 1 | range 0 1 0',),
    'blmove': (
        'RW access delete | index 1 | range 0 1 0',
        'RW insert | index 2 | range 0 1 0',
    ),
    'blmpop': ('RW access delete | index 2 | keynum 0 1 1',),
    'blpop': ('RW access delete | index 1 | range -2 1 0',),
    'brpop': ('RW access delete | index 1 | range -2 1 0',),
    'brpoplpush': (
        'RW access delete | index 1 | range 0 1 0',
        'RW insert | index 2 | range 0 1 0',
    ),
    'bzmpop': ('RW access delete | index 2 | keynum 0 1 1',),
    'bzpopmax': ('RW access delete | index 1 | range -2 1 0',),
    'bzpopmin': ('RW access delete | index 1 | range -2 1 0',),
    'copy': (
        'RO access | index 1 | range 0 1 0',
        'OW update | index 2 | range 0 1 0',
    ),
    'decr': ('RW access update | index 1 | range 0 1 0',),
    'decrby': ('RW access update | index 1 | range 0 1 0',),
    'del': ('RM delete | index 1 | range -1 1 0',),
    'dump': ('RO access | index 1 | range 0 1 0',),
    'eval': (
        'RW access update | index 2 | keynum 0 1 1 | We cannot tell how the keys will be '
        'used so we assume the worst, RW and UPDATE',
    ),
    'eval_ro': (
        'RO access | index 2 | keynum 0 1 1 | We cannot tell how the keys will be used so'
        ' we assume the worst, RO and ACCESS',
    ),
    'evalsha': ('RW access update | index 2 | keynum 0 1 1',),
    'evalsha_ro': ('RO access | index 2 | keynum 0 1 1',),
    'exists': ('RO | index 1 | range -1 1 0',),
    'expire': ('RW update | index 1 | range 0 1 0',),
    'expireat': ('RW update | index 1 | range 0 1 0',),
    'expiretime': ('RO access | index 1 | range 0 1 0',),
    'fcall': (
        'RW access update | index 2 | keynum 0 1 1 | We cannot tell how the keys will be '
        'used so we assume the worst, RW and UPDATE',
    ),
    'fcall_ro': (
        'RO access | index 2 | keynum 0 1 1 | We cannot tell how the keys will be used so'
        ' we assume the worst, RO and ACCESS',
    ),
    'geoadd': ('RW update | index 1 | range 0 1 0',),
    'geodist': ('RO access | index 1 | range 0 1 0',),
    'geohash': ('RO access | index 1 | range 0 1 0',),
    'geopos': ('RO access | index 1 | range 0 1 0',),
    'georadius': (
        'RO access | index 1 | range 0 1 0',
        'OW update | keyword STORE 6 | range 0 1 0',
        'OW update | keyword STOREDIST 6 | range 0 1 0',
    ),
    'georadius_ro': ('RO access | index 1 | range 0 1 0',),
    'georadiusbymember': (
        'RO access | index 1 | range 0 1 0',
        'OW update | keyword STORE 5 | range 0 1 0',
        'OW update | keyword STOREDIST 5 | range 0 1 0',
    ),
    'georadiusbymember_ro': ('RO access | index 1 | range 0 1 0',),
    'geosearch': ('RO access | index 1 | range 0 1 0',),
    'geosearchstore': (
        'OW update | index 1 | range 0 1 0',
        'RO access | index 2 | range 0 1 0',
    ),
    'get': ('RO access | index 1 | range 0 1 0',),
    'getbit': ('RO access | index 1 | range 0 1 0',),
    'getdel': ('RW access delete | index 1 | range 0 1 0',),
    'getex': (
        'RW access update | index 1 | range 0 1 0 | RW and UPDATE because it changes the TTL',
    ),
    'getrange': ('RO access | index 1 | range 0 1 0',),
    'getset': ('RW access update | index 1 | range 0 1 0',),
    'hdel': ('RW delete | index 1 | range 0 1 0',),
    'hexists': ('RO | index 1 | range 0 1 0',),
    'hget': ('RO access | index 1 | range 0 1 0',),
    'hgetall': ('RO access | index 1 | range 0 1 0',),
    'hincrby': ('RW access update | index 1 | range 0 1 0',),
    'hincrbyfloat': ('RW access update | index 1 | range 0 1 0',),
    'hkeys': ('RO access | index 1 | range 0 1 0',),
    'hlen': ('RO | index 1 | range 0 1 0',),
    'hmget': ('RO access | index 1 | range 0 1 0',),
    'hmset': ('RW update | index 1 | range 0 1 0',),
    'hrandfield': ('RO access | index 1 | range 0 1 0',),
    'hscan': ('RO access | index 1 | range 0 1 0',),
    'hset': ('RW update | index 1 | range 0 1 0',),
    'hsetnx': ('RW insert | index 1 | range 0 1 0',),
    'hstrlen': ('RO | index 1 | range 0 1 0',),
    'hvals': ('RO access | index 1 | range 0 1 0',),
    'incr': ('RW access update | index 1 | range 0 1 0',),
    'incrby': ('RW access update | index 1 | range 0 1 0',),
    'incrbyfloat': ('RW access update | index 1 | range 0 1 0',),
    'lcs': ('RO access | index 1 | range 1 1 0',),
    'lindex': ('RO access | index 1 | range 0 1 0',),
    'linsert': ('RW insert | index 1 | range 0 1 0',),
    'llen': ('RO | index 1 | range 0 1 0',),
    'lmove': (
        'RW access delete | index 1 | range 0 1 0',
        'RW insert | index 2 | range 0 1 0',
    ),
    'lmpop': ('RW access delete | index 1 | keynum 0 1 1',),
    'lpop': ('RW access delete | index 1 | range 0 1 0',),
    'lpos': ('RO access | index 1 | range 0 1 0',),
    'lpush': ('RW insert | index 1 | range 0 1 0',),
    'lpushx': ('RW insert | index 1 | range 0 1 0',),
    'lrange': ('RO access | index 1 | range 0 1 0',),
    'lrem': ('RW delete | index 1 | range 0 1 0',),
    'lset': ('RW update | index 1 | range 0 1 0',),
    'ltrim': ('RW delete | index 1 | range 0 1 0',),
    'memory|usage': ('RO | index 2 | range 0 1 0',),
    'mget': ('RO access | index 1 | range -1 1 0',),
    'migrate': (
        'RW access delete | index 3 | range 0 1 0',
        'RW access delete incomplete | keyword KEYS -2 | range -1 1 0',
    ),
    'move': ('RW access update | index 1 | range 0 1 0',),
    'mset': ('OW update | index 1 | range -1 2 0',),
    'msetnx': ('OW insert | index 1 | range -1 2 0',),
    'object|encoding': ('RO | index 2 | range 0 1 0',),
    'object|freq': ('RO | index 2 | range 0 1 0',),
    'object|idletime': ('RO | index 2 | range 0 1 0',),
    'object|refcount': ('RO | index 2 | range 0 1 0',),
    'persist': ('RW update | index 1 | range 0 1 0',),
    'pexpire': ('RW update | index 1 | range 0 1 0',),
    'pexpireat': ('RW update | index 1 | range 0 1 0',),
    'pexpiretime': ('RO access | index 1 | range 0 1 0',),
    'pfadd': ('RW insert | index 1 | range 0 1 0',),
    'pfcount': (
        'RW access | index 1 | range -1 1 0 | RW because it may change the internal '
        'representation of the key, and propagate to replicas',
    ),
    'pfdebug': ('RW access | index 2 | range 0 1 0',),
    'pfmerge': (
        'RW access insert | index 1 | range 0 1 0',
        'RO access | index 2 | range -1 1 0',
    ),
    'psetex': ('OW update | index 1 | range 0 1 0',),
    'pttl': ('RO access | index 1 | range 0 1 0',),
    'rename': (
        'RW access delete | index 1 | range 0 1 0',
        'OW update | index 2 | range 0 1 0',
    ),
    'renamenx': (
        'RW access delete | index 1 | range 0 1 0',
        'OW insert | index 2 | range 0 1 0',
    ),
    'restore': ('OW update | index 1 | range 0 1 0',),
    'restore-asking': ('OW update | index 1 | range 0 1 0',),
    'rpop': ('RW access delete | index 1 | range 0 1 0',),
    'rpoplpush': (
        'RW access delete | index 1 | range 0 1 0',
        'RW insert | index 2 | range 0 1 0',
    ),
    'rpush': ('RW insert | index 1 | range 0 1 0',),
    'rpushx': ('RW insert | index 1 | range 0 1 0',),
    'sadd': ('RW insert | index 1 | range 0 1 0',),
    'scard': ('RO | index 1 | range 0 1 0',),
    'sdiff': ('RO access | index 1 | range -1 1 0',),
    'sdiffstore': (
        'OW update | index 1 | range 0 1 0',
        'RO access | index 2 | range -1 1 0',
    ),
    'set': (
        'RW access update variable_flags | index 1 | range 0 1 0 | RW and ACCESS due to '
        'the optional `GET` argument',
    ),
    'setbit': ('RW access update | index 1 | range 0 1 0',),
    'setex': ('OW update | index 1 | range 0 1 0',),
    'setnx': ('OW insert | index 1 | range 0 1 0',),
    'setrange': ('RW update | index 1 | range 0 1 0',),
    'sinter': ('RO access | index 1 | range -1 1 0',),
    'sintercard': ('RO access | index 1 | keynum 0 1 1',),
    'sinterstore': (
        'RW update | index 1 | range 0 1 0',
        'RO access | index 2 | range -1 1 0',
    ),
    'sismember': ('RO | index 1 | range 0 1 0',),
    'smembers': ('RO access | index 1 | range 0 1 0',),
    'smismember': ('RO access | index 1 | range 0 1 0',),
    'smove': (
        'RW access delete | index 1 | range 0 1 0',
        'RW insert | index 2 | range 0 1 0',
    ),
    'sort': (
        'RO access | index 1 | range 0 1 0',
        'RO access | unknown | unknown | For the optional BY/GET keyword. It is marked '
        "'unknown' because the key names derive from the content of the key we sort",
        'OW update | unknown | unknown | For the optional STORE keyword. It is marked '
        "'unknown' because the keyword can appear anywhere in the argument array",
    ),
    'sort_ro': (
        'RO access | index 1 | range 0 1 0',
        'RO access | unknown | unknown | For the optional BY/GET keyword. It is marked '
        "'unknown' because the key names derive from the content of the key we sort",
    ),
    'spop': ('RW access delete | index 1 | range 0 1 0',),
    'spublish': ('not_key | index 1 | range 0 1 0',),
    'srandmember': ('RO access | index 1 | range 0 1 0',),
    'srem': ('RW delete | index 1 | range 0 1 0',),
    'sscan': ('RO access | index 1 | range 0 1 0',),
    'ssubscribe': ('not_key | index 1 | range -1 1 0',),
    'strlen': ('RO | index 1 | range 0 1 0',),
    'substr': ('RO access | index 1 | range 0 1 0',),
    'sunion': ('RO access | index 1 | range -1 1 0',),
    'sunionstore': (
        'OW update | index 1 | range 0 1 0',
        'RO access | index 2 | range -1 1 0',
    ),
    'sunsubscribe': ('not_key | index 1 | range -1 1 0',),
    'touch': ('RO | index 1 | range -1 1 0',),
    'ttl': ('RO access | index 1 | range 0 1 0',),
    'type': ('RO | index 1 | range 0 1 0',),
    'unlink': ('RM delete | index 1 | range -1 1 0',),
    'watch': ('RO | index 1 | range -1 1 0',),
    'xack': ('RW update | index 1 | range 0 1 0',),
    'xadd': (
        'RW update | index 1 | range 0 1 0 | UPDATE instead of INSERT because of the '
        'optional trimming feature',
    ),
    'xautoclaim': ('RW delete | index 1 | range 0 1 0',),
    'xclaim': ('RW update | index 1 | range 0 1 0',),
    'xdel': ('RW delete | index 1 | range 0 1 0',),
    'xgroup|create': ('RW insert | index 2 | range 0 1 0',),
    'xgroup|createconsumer': ('RW insert | index 2 | range 0 1 0',),
    'xgroup|delconsumer': ('RW delete | index 2 | range 0 1 0',),
    'xgroup|destroy': ('RW delete | index 2 | range 0 1 0',),
    'xgroup|setid': ('RW update | index 2 | range 0 1 0',),
    'xinfo|consumers': ('RO access | index 2 | range 0 1 0',),
    'xinfo|groups': ('RO access | index 2 | range 0 1 0',),
    'xinfo|stream': ('RO access | index 2 | range 0 1 0',),
    'xlen': ('RO | index 1 | range 0 1 0',),
    'xpending': ('RO access | index 1 | range 0 1 0',),
    'xrange': ('RO access | index 1 | range 0 1 0',),
    'xread': ('RO access | keyword STREAMS 1 | range -1 1 2',),
    'xreadgroup': ('RO access | keyword STREAMS 4 | range -1 1 2',),
    'xrevrange': ('RO access | index 1 | range 0 1 0',),
    'xsetid': ('RW update | index 1 | range 0 1 0',),
    'xtrim': ('RW delete | index 1 | range 0 1 0',),
    'zadd': ('RW update | index 1 | range 0 1 0',),
    'zcard': ('RO | index 1 | range 0 1 0',),
    'zcount': ('RO access | index 1 | range 0 1 0',),
    'zdiff': ('RO access | index 1 | keynum 0 1 1',),
    'zdiffstore': (
        'OW update | index 1 | range 0 1 0',
        'RO access | index 2 | keynum 0 1 1',
    ),
    'zincrby': ('RW access update | index 1 | range 0 1 0',),
    'zinter': ('RO access | index 1 | keynum 0 1 1',),
    'zintercard': ('RO access | index 1 | keynum 0 1 1',),
    'zinterstore': (
        'OW update | index 1 | range 0 1 0',
        'RO access | index 2 | keynum 0 1 1',
    ),
    'zlexcount': ('RO access | index 1 | range 0 1 0',),
    'zmpop': ('RW access delete | index 1 | keynum 0 1 1',),
    'zmscore': ('RO access | index 1 | range 0 1 0',),
    'zpopmax': ('RW access delete | index 1 | range 0 1 0',),
    'zpopmin': ('RW access delete | index 1 | range 0 1 0',),
    'zrandmember': ('RO access | index 1 | range 0 1 0',),
    'zrange': ('RO access | index 1 | range 0 1 0',),
    'zrangebylex': ('RO access | index 1 | range 0 1 0',),
    'zrangebyscore': ('RO access | index 1 | range 0 1 0',),
    'zrangestore': (
        'OW update | index 1 | range 0 1 0',
        'RO access | index 2 | range 0 1 0',
    ),
    'zrank': ('RO access | index 1 | range 0 1 0',),
    'zrem': ('RW delete | index 1 | range 0 1 0',),
    'zremrangebylex': ('RW delete | index 1 | range 0 1 0',),
    'zremrangebyrank': ('RW delete | index 1 | range 0 1 0',),
    'zremrangebyscore': ('RW delete | index 1 | range 0 1 0',),
    'zrevrange': ('RO access | index 1 | range 0 1 0',),
    'zrevrangebylex': ('RO access | index 1 | range 0 1 0',),
    'zrevrangebyscore': ('RO access | index 1 | range 0 1 0',),
    'zrevrank': ('RO access | index 1 | range 0 1 0',),
    'zscan': ('RO access | index 1 | range 0 1 0',),
    'zscore': ('RO access | index 1 | range 0 1 0',),
    'zunion': ('RO access | index 1 | keynum 0 1 1',),
    'zunionstore': (
        'OW update | index 1 | range 0 1 0',
        'RO access | index 2 | keynum 0 1 1',
    ),
}
