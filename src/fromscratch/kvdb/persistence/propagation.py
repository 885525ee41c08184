"""What a write command is logged as: its effect in a deterministic, absolute form.

Replaying a log must give the same data however long after it happens. Most commands
are logged as they were sent. The others are rewritten from what they did:

* relative times become absolute: EXPIRE / PEXPIRE / EXPIREAT -> PEXPIREAT (or DEL, when
  the time was already past), SET ... EX / SETEX / PSETEX -> SET ... PXAT, GETEX ->
  PEXPIREAT / PERSIST, RESTORE key ttl -> RESTORE key <unix ms> ... ABSTTL;
* floating point is logged as its result, so replay can't round differently:
  INCRBYFLOAT -> SET ... KEEPTTL, HINCRBYFLOAT -> HSET;
* random picks are logged as what was picked: SPOP -> SREM;
* blocking pops, which can be served long after they were sent, as the pop that
  happened: BLPOP -> LPOP, BLMOVE -> LMOVE, BZPOPMIN -> ZREM...

Each rule gets (argv, reply, db) after the command ran and returns the commands to log.
Commands that changed nothing are not logged at all (the keyspace's change counter did
not move).
"""

from __future__ import annotations

from ...resp import ErrorReply

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


def _blocking_list_pop(pop: bytes):
    def rule(argv, reply, db):                       # reply: [key, value]
        return [[pop, reply[0]]]
    return rule


def _blmpop(argv, reply, db):                        # reply: [key, [values]]
    side = b"LPOP" if b"LEFT" in (arg.upper() for arg in argv) else b"RPOP"
    return [[side, reply[0], b"%d" % len(reply[1])]]


def _blmove(argv, reply, db):                        # BLMOVE src dst from to timeout
    return [[b"LMOVE", *argv[1:5]]]


def _brpoplpush(argv, reply, db):                    # BRPOPLPUSH src dst timeout
    return [[b"RPOPLPUSH", argv[1], argv[2]]]


def _bzpop(argv, reply, db):                         # reply: [key, member, score]
    return [[b"ZREM", reply[0], reply[1]]]


def _bzmpop(argv, reply, db):                        # reply: [key, [[member, score]...]]
    return [[b"ZREM", reply[0], *(pair[0] for pair in reply[1])]]


RULES = {
    "expire": _absolute_expiry, "pexpire": _absolute_expiry, "expireat": _absolute_expiry,
    "pexpireat": _absolute_expiry, "set": _set, "setex": _set_with_ttl,
    "psetex": _set_with_ttl, "getex": _getex, "restore": _restore,
    "incrbyfloat": _incrbyfloat, "hincrbyfloat": _hincrbyfloat, "spop": _spop,
    "blpop": _blocking_list_pop(b"LPOP"), "brpop": _blocking_list_pop(b"RPOP"),
    "blmpop": _blmpop, "blmove": _blmove, "brpoplpush": _brpoplpush,
    "bzpopmin": _bzpop, "bzpopmax": _bzpop, "bzmpop": _bzmpop,
}


def effects(cmd, argv: list, reply, db) -> list[list[bytes]]:
    """The commands that reproduce what `argv` just did to `db`."""
    if isinstance(reply, ErrorReply):
        return []
    rule = RULES.get(cmd.full_name)      # "function|restore" is not RESTORE
    return rule(argv, reply, db) if rule is not None else [argv]
