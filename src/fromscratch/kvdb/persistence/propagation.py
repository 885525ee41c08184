"""What a write command is logged as: its effect in a deterministic, absolute form.

Replaying a log must give the same data however long after it happens. Most commands
are logged as they were sent. The others are rewritten from what they did:

* relative times become absolute: EXPIRE / PEXPIRE / EXPIREAT -> PEXPIREAT (or DEL, when
  the time was already past), SET ... EX / SETEX / PSETEX -> SET ... PXAT, GETEX ->
  PEXPIREAT / PERSIST, RESTORE key ttl -> RESTORE key <unix ms> ... ABSTTL;
* floating point is logged as its result, so replay can't round differently:
  INCRBYFLOAT -> SET ... KEEPTTL, HINCRBYFLOAT -> HSET;
* random picks are logged as what was picked: SPOP -> SREM;
* GETSET as the SET it is (as Redis 7 propagates it);
* blocking pops, which can be served long after they were sent, and pops from the
  first of several keys, as the pop that happened: BLPOP -> LPOP, BLMOVE -> LMOVE,
  BZPOPMIN -> ZPOPMIN, LMPOP / BLMPOP -> LPOP key count, ZMPOP / BZMPOP -> ZPOPMIN key
  count; GETDEL -> DEL;
* stream ids and trims as they came out: XADD's `*` becomes the id it gave, and an
  approximate trim (`~`, which depends on how entries sit in nodes) the exact one with
  the same result (`= <length left>` or `= <first id left>`), as Redis rewrites them.

Each rule gets (argv, reply, db) after the command ran and returns the commands to log.
Commands that changed nothing are not logged at all (the keyspace's change counter did
not move).
"""

from __future__ import annotations

from ...resp import ErrorReply
from ..structures.stream import format_id

# Where changes go: the append-only file, the replicas, or both (a script chooses with
# redis.set_repl(): REPL_AOF, REPL_REPLICA, REPL_ALL, REPL_NONE).
PROPAGATE_AOF, PROPAGATE_REPLICAS = 1, 2
PROPAGATE_ALL = PROPAGATE_AOF | PROPAGATE_REPLICAS

PXAT = b"PXAT"


def _expiry_of(db, key: bytes) -> int:
    entry = db.data.get(key)
    return entry.expires_at if entry is not None else 0


def _absolute_expiry(argv, reply, db):
    key = argv[1]
    if key not in db.data:
        return [[b"DEL", key]]                       # the time was already past
    return [[b"PEXPIREAT", key, b"%d" % _expiry_of(db, key)]]


def _set(argv, reply, db):
    key, value = argv[1], argv[2]
    words = {arg.upper() for arg in argv[3:]}
    expires_at = _expiry_of(db, key)
    if expires_at and words & {b"EX", b"PX", b"EXAT", b"PXAT"}:
        return [[b"SET", key, value, PXAT, b"%d" % expires_at]]
    if b"KEEPTTL" in words:
        return [[b"SET", key, value, b"KEEPTTL"]]
    return [[b"SET", key, value]]


def _getset(argv, reply, db):                       # GETSET key value
    return [[b"SET", argv[1], argv[2]]]


def _set_with_ttl(argv, reply, db):                 # SETEX / PSETEX key ttl value
    key = argv[1]
    return [[b"SET", key, argv[3], PXAT, b"%d" % _expiry_of(db, key)]]


def _getex(argv, reply, db):
    key = argv[1]
    if key not in db.data:
        return [[b"DEL", key]]
    expires_at = _expiry_of(db, key)
    if expires_at:
        return [[b"PEXPIREAT", key, b"%d" % expires_at]]
    return [[b"PERSIST", key]]


def _restore(argv, reply, db):          # RESTORE key ttl payload [options]
    key = argv[1]
    if key not in db.data:
        return [[b"DEL", key]]          # an ABSTTL already past: REPLACE only deleted
    if argv[2] == b"0" or any(arg.upper() == b"ABSTTL" for arg in argv[4:]):
        return [argv]                   # no TTL, or an absolute one: as sent
    # A relative TTL becomes the absolute time it gave; the other options go as sent
    # (an IDLETIME then counts from the replay, as in Redis's log).
    return [[b"RESTORE", key, b"%d" % _expiry_of(db, key), *argv[3:], b"ABSTTL"]]


def _incrbyfloat(argv, reply, db):
    return [[b"SET", argv[1], reply, b"KEEPTTL"]]


def _hincrbyfloat(argv, reply, db):
    return [[b"HSET", argv[1], argv[2], reply]]


def _spop(argv, reply, db):
    members = reply if isinstance(reply, (list, set)) else [reply]
    return [[b"SREM", argv[1], *members]] if members else []


def _getdel(argv, reply, db):
    return [[b"DEL", argv[1]]]


def _blocking_pop(pop: bytes):
    """BLPOP, BRPOP, BZPOPMIN, BZPOPMAX: the plain pop of the key that was served."""
    def rule(argv, reply, db):                       # reply: [key, value...]
        return [[pop, reply[0]]]
    return rule


def _multi_pop(numkeys_at: int, first_side: bytes, pops: tuple[bytes, bytes]):
    """LMPOP, BLMPOP, ZMPOP, BZMPOP: the pop that happened on the key it hit, with the
    number of items it took. The side (LEFT/RIGHT, MIN/MAX) is the word after the keys."""
    def rule(argv, reply, db):                       # reply: [key, [items]]
        side = argv[numkeys_at + 1 + int(argv[numkeys_at])].upper()
        pop = pops[0] if side == first_side else pops[1]
        return [[pop, reply[0], b"%d" % len(reply[1])]]
    return rule


def _trim_positions(argv: list, xadd: bool) -> tuple[int, int, int, int]:
    """Where XADD's or XTRIM's arguments are: the `~`, the trim threshold and the LIMIT
    word (each 0 if absent) and, for XADD, the id."""
    approx_at = threshold_at = limit_at = 0
    index = 2
    while index < len(argv):
        word = argv[index].upper()
        if word in (b"MAXLEN", b"MINID"):
            if argv[index + 1] in (b"~", b"="):
                index += 1
                approx_at = index if argv[index] == b"~" else 0
            threshold_at = index + 1
            index += 2
        elif word == b"LIMIT":
            limit_at = index
            index += 2
        elif word == b"NOMKSTREAM" and xadd:
            index += 1
        else:
            break                                    # XADD's id
    return approx_at, threshold_at, limit_at, index


def _exact_trim(argv: list, db, approx_at: int, threshold_at: int, limit_at: int) -> list:
    """An approximate trim is logged as the exact one that gives the same stream: `=`
    and the length (MAXLEN) or first id (MINID) it left, as Redis rewrites it. Its
    LIMIT goes (Redis keeps it, which only a replica or AOF load would accept)."""
    if not approx_at:
        return argv
    stream = db.data[argv[1]].value
    argv[approx_at] = b"="
    argv[threshold_at] = (b"%d" % stream.length if argv[approx_at - 1].upper() == b"MAXLEN"
                          else format_id(stream.first_id))
    if limit_at:
        del argv[limit_at:limit_at + 2]
    return argv


def _xadd(argv, reply, db):                          # reply: the new entry's id
    approx_at, threshold_at, limit_at, id_at = _trim_positions(argv, xadd=True)
    argv = list(argv)
    argv[id_at] = reply                              # `*` and `ms-*` become the id given
    return [_exact_trim(argv, db, approx_at, threshold_at, limit_at)]


def _xtrim(argv, reply, db):
    approx_at, threshold_at, limit_at, _ = _trim_positions(argv, xadd=False)
    return [_exact_trim(list(argv), db, approx_at, threshold_at, limit_at)]


def _blmove(argv, reply, db):                        # BLMOVE src dst from to timeout
    return [[b"LMOVE", *argv[1:5]]]


def _brpoplpush(argv, reply, db):                    # BRPOPLPUSH src dst timeout
    return [[b"RPOPLPUSH", argv[1], argv[2]]]


RULES = {
    "expire": _absolute_expiry, "pexpire": _absolute_expiry, "expireat": _absolute_expiry,
    "pexpireat": _absolute_expiry, "set": _set, "getset": _getset, "setex": _set_with_ttl,
    "psetex": _set_with_ttl, "getex": _getex, "restore": _restore,
    "incrbyfloat": _incrbyfloat, "hincrbyfloat": _hincrbyfloat, "spop": _spop,
    "getdel": _getdel, "xadd": _xadd, "xtrim": _xtrim,
    "blpop": _blocking_pop(b"LPOP"), "brpop": _blocking_pop(b"RPOP"),
    "bzpopmin": _blocking_pop(b"ZPOPMIN"), "bzpopmax": _blocking_pop(b"ZPOPMAX"),
    "lmpop": _multi_pop(1, b"LEFT", (b"LPOP", b"RPOP")),
    "blmpop": _multi_pop(2, b"LEFT", (b"LPOP", b"RPOP")),
    "zmpop": _multi_pop(1, b"MIN", (b"ZPOPMIN", b"ZPOPMAX")),
    "bzmpop": _multi_pop(2, b"MIN", (b"ZPOPMIN", b"ZPOPMAX")),
    "blmove": _blmove, "brpoplpush": _brpoplpush,
}


def _logged_by_the_command(argv, reply, db):
    """These commands say what they did themselves, through KvServer.also_propagate:
    XREADGROUP, XCLAIM and XAUTOCLAIM as XCLAIMs and XGROUP SETID (a delivery's time
    must be the one the primary gave it, which only the command knows as it happens);
    MIGRATE as the DEL of the keys the target accepted (gone even when a later key was
    refused and the reply is an error)."""
    return []


RULES.update(dict.fromkeys(("xreadgroup", "xclaim", "xautoclaim", "migrate"),
                           _logged_by_the_command))


def effects(cmd, argv: list, reply, db) -> list[list[bytes]]:
    """The commands that reproduce what `argv` just did to `db`."""
    if isinstance(reply, ErrorReply):
        return []
    rule = RULES.get(cmd.full_name)      # "function|restore" is not RESTORE
    return rule(argv, reply, db) if rule is not None else [argv]
