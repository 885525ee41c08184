"""DUMP and RESTORE: a key's value as an opaque payload, and a key made again from one.

A payload is what Redis writes, so keys move between our servers and Redis both ways
(migration tools DUMP a key on one server and RESTORE it on another):

    payload = body  version:u16  crc:u64          (both little-endian)
    body    = type:u8 object                      one value in Redis's RDB object encoding
                                                  (persistence/rdb.py)
    crc     = CRC-64/Jones of body and version   (crc64.py)

The version is the RDB format's. DUMP writes 10, Redis 7.0's, with only the types 7.0
knows, so that Redis 7.0 and every later version restore our payloads. RESTORE reads
versions up to 11 (Redis 7.2's) and answers a newer one, or a wrong checksum, with
"DUMP payload version or checksum are wrong", as Redis does for versions above its own;
a body that is not one well-formed value gets "Bad data format".

Payloads written by earlier versions of this server are read too: their version is a
marker Redis never writes, 0xF000 plus our snapshot format's version, around a value in
the snapshot encoding (persistence/snapshot.py). Append-only files log RESTORE commands
with their payloads, so files written then still replay.
"""

from __future__ import annotations

import logging

from ...resp import ErrorReply
from ..client import OK
from ..crc64 import crc64
from ..memory import minutes_now
from ..notifications import GENERIC
from ..persistence.rdb import (NEWEST_READABLE_VERSION, RDB_VERSION, RdbError, dump_object,
                               load_object)
from ..persistence.snapshot import (VERSION as SNAPSHOT_VERSION, CorruptSnapshot,
                                    deserialize_value)
from ..table import command
from .args import INT64_MAX, SYNTAX, Options, now_ms, parse_int
from .keys import lfu_policy

log = logging.getLogger("fromscratch.kvdb")

# The version of our own payloads before they were Redis's (see the module docstring).
LEGACY_VERSION = 0xF000 | SNAPSHOT_VERSION
FOOTER = 2 + 8                                   # version and CRC

BUSYKEY = ErrorReply("BUSYKEY Target key name already exists.")
BAD_PAYLOAD = ErrorReply("ERR DUMP payload version or checksum are wrong")
BAD_DATA = ErrorReply("ERR Bad data format")


def seal(body: bytes) -> bytes:
    """A payload: `body`, then the version and the CRC of both. FUNCTION DUMP's
    payloads are made the same way (commands/functions.py)."""
    body += RDB_VERSION.to_bytes(2, "little")
    return body + crc64(body).to_bytes(8, "little")


def unseal(payload: bytes, check_crc: bool = True) -> tuple[int, bytes]:
    """The version and the body of `payload`; BAD_PAYLOAD if the checksum is wrong
    (unless not `check_crc`: DEBUG SET-SKIP-CHECKSUM-VALIDATION) or the version one we
    can't read."""
    if len(payload) < FOOTER:
        raise BAD_PAYLOAD
    version = int.from_bytes(payload[-FOOTER:-8], "little")
    checksum = int.from_bytes(payload[-8:], "little")
    if version > NEWEST_READABLE_VERSION and version != LEGACY_VERSION:
        raise BAD_PAYLOAD
    if check_crc and crc64(payload[:-8]) != checksum:
        raise BAD_PAYLOAD
    return version, payload[:-FOOTER]


def dump_payload(value) -> bytes:
    return seal(dump_object(value))


def restore_payload(payload: bytes, check_crc: bool = True):
    """The value in `payload`; BAD_PAYLOAD if the envelope does not check out, BAD_DATA
    if it does but the body is not a value (as Redis tells the two apart, logging why
    at the verbose level)."""
    version, body = unseal(payload, check_crc)
    try:
        return deserialize_value(body) if version == LEGACY_VERSION else load_object(body)
    except (RdbError, CorruptSnapshot) as exc:
        log.debug("Internal error in RDB reading: %s", exc)
        raise BAD_DATA from None


@command("dump", arity=2, flags="readonly", keys=(1, 1, 1), group="generic", since="2.6.0",
         summary="Returns a serialized representation of the value stored at a key.",
         complexity="O(1) to access the key and additional O(N*M) to serialize it, where N "
                    "is the number of Redis objects composing the value and M their average "
                    "size. For small string values the time complexity is thus O(1)+O(1*M) "
                    "where M is small, so simply O(1).", syntax="key")
def dump(client, argv):
    value = client.db.get(argv[1])
    return None if value is None else dump_payload(value)


def _restore_options(argv: list):
    """(replace, absolute ttl, idle seconds or None, LFU counter or None). IDLETIME and
    FREQ exclude each other: the second one given is a syntax error, as in Redis."""
    replace = absolute = False
    idle = freq = None
    opts = Options(argv, 4)
    while opts:
        word = opts.next_word()
        if word == b"REPLACE":
            replace = True
        elif word == b"ABSTTL":
            absolute = True
        elif word == b"IDLETIME" and opts and freq is None:
            idle = parse_int(opts.value())
            if idle < 0:
                raise ErrorReply("ERR Invalid IDLETIME value, must be >= 0")
        elif word == b"FREQ" and opts and idle is None:
            freq = parse_int(opts.value())
            if not 0 <= freq <= 255:
                raise ErrorReply("ERR Invalid FREQ value, must be >= 0 and <= 255")
        else:
            raise SYNTAX
    return replace, absolute, idle, freq


_RESTORE_COMPLEXITY = (
    "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, "
    "where N is the number of Redis objects composing the value and M their average size. "
    "For small string values the time complexity is thus O(1)+O(1*M) where M is small, so "
    "simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because "
    "inserting values into sorted sets is O(log(N)).")
_RESTORE_SYNTAX = ("key ttl:integer serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] "
                   "[FREQ frequency:integer]")


@command("restore", arity=-4, flags="write denyoom", keys=(1, 1, 1), group="generic",
         since="2.6.0", summary="Creates a key from the serialized representation of a value.",
         complexity=_RESTORE_COMPLEXITY, syntax=_RESTORE_SYNTAX, acl="@dangerous")
# What a cluster node sends while migrating keys: RESTORE, flagged `asking` (there is
# no cluster here, so nothing else differs).
@command("restore-asking", arity=-4, flags="write denyoom asking", keys=(1, 1, 1),
         group="server", since="3.0.0",
         summary="An internal command for migrating keys in a cluster",
         complexity=_RESTORE_COMPLEXITY, syntax=_RESTORE_SYNTAX, acl="@keyspace @dangerous")
def restore(client, argv):
    # The checks come in Redis's order, which decides the error when several apply.
    replace, absolute, idle, freq = _restore_options(argv)
    db, key = client.db, argv[1]
    if not replace and key in db:
        raise BUSYKEY
    ttl = parse_int(argv[2])
    if ttl < 0:
        raise ErrorReply("ERR Invalid TTL value, must be >= 0")
    value = restore_payload(argv[3], not client.kv.skip_checksum_validation)
    deleted = replace and db.delete(key)
    expires_at = 0                                  # 0: no expiry
    if ttl:
        expires_at = ttl if absolute else now_ms() + ttl
    # A time already past (an ABSTTL, or a relative TTL so large that Redis's 64-bit sum
    # wraps negative): the key would expire at once, so it is not created, yet the reply
    # is OK (Redis's choice). REPLACE still removed the old value.
    if expires_at and not now_ms() < expires_at <= INT64_MAX:
        if deleted:
            db.notify(GENERIC, "del", key)
        return OK
    db.set(key, value)
    if expires_at:
        db.set_expire(key, expires_at)
    _set_access(client, db.data[key], idle, freq)
    db.notify(GENERIC, "restore", key)
    return OK


def _set_access(client, entry, idle: int | None, freq: int | None) -> None:
    """IDLETIME / FREQ, as OBJECT IDLETIME / OBJECT FREQ will read them back. Like Redis,
    only the one the eviction policy keeps is applied; the other is ignored."""
    if lfu_policy(client):
        if freq is not None:
            entry.freq = freq
            entry.access = minutes_now()         # the counter starts decaying from now
    elif idle is not None:
        entry.access = client.kv.keyspace.lru_clock - idle
