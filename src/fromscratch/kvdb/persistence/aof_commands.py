"""The data as commands: the base of the append-only file with `aof-use-rdb-preamble no`.

Redis rewrites its log either as an RDB file (the default) or, without the preamble, as
the commands that rebuild the data (aof.c, rewriteAppendOnlyFileRio). This writes the
latter, as Redis 7.0 does, so that the file reads the same and loads in either server:

- with aof-timestamp-enabled, a `#TS:<unix seconds>` annotation first;
- each function library as `FUNCTION LOAD <code>`;
- then each database that has keys, after `SELECT <n>`, each key as the command that
  makes it: `SET`; `RPUSH`, `SADD`, `ZADD` and `HMSET` of at most 64 items (pairs) at a
  time; a stream as one `XADD` per entry (`XADD key MAXLEN 0 0-1 x y` for an empty one),
  then `XSETID` with its last id, ENTRIESADDED and MAXDELETEDID, then per group
  `XGROUP CREATE ... ENTRIESREAD`, and per consumer either `XGROUP CREATECONSUMER` or
  one `XCLAIM ... TIME RETRYCOUNT JUSTID FORCE` per pending entry;
- and after a key with a time to live, `PEXPIREAT <key> <unix ms>`.
"""

from __future__ import annotations

import time

from ...resp import encode_command
from ..structures.bulklist import BulkList
from ..structures.randomset import RandomSet
from ..structures.sortedset import SortedSet
from ..structures.stream import Stream, entry_fields, format_id

ITEMS_PER_COMMAND = 64              # Redis's AOF_REWRITE_ITEMS_PER_CMD


def write_commands(handle, databases, libraries=(), after_key=None,
                   timestamp: bool = False) -> None:
    """Write the function `libraries` and every key of `databases` (keyspace.Database)
    to `handle` as commands, in RESP, after a `#TS:<unix seconds>` line if `timestamp`
    (aof-timestamp-enabled). `after_key()`, if given, is called after each key."""
    write = handle.write
    if timestamp:
        write(b"#TS:%d\r\n" % time.time())
    for code in libraries:
        write(encode_command([b"FUNCTION", b"LOAD", code]))
    for db in databases:
        if not db.data:
            continue
        write(encode_command([b"SELECT", b"%d" % db.index]))
        for key, entry in db.data.items():
            for argv in _commands_for(key, entry.value):
                write(encode_command(argv))
            if entry.expires_at:
                write(encode_command([b"PEXPIREAT", key, b"%d" % entry.expires_at]))
            if after_key is not None:
                after_key()


def _commands_for(key: bytes, value):
    kind = type(value)
    if kind is bytes or kind is bytearray:
        yield [b"SET", key, bytes(value)]
    elif kind is BulkList:
        yield from _batches(b"RPUSH", key, list(value.elements()))
    elif kind is RandomSet:
        yield from _batches(b"SADD", key, list(value))
    elif kind is SortedSet:
        yield from _batches(b"ZADD", key, [item for member, score in value.items()
                                          for item in (b"%.17g" % score, member)], 2)
    elif kind is dict:
        yield from _batches(b"HMSET", key, [item for pair in value.items() for item in pair], 2)
    elif kind is Stream:
        yield from _stream_commands(key, value)
    else:
        raise TypeError(f"no command makes a {kind.__name__}")


def _batches(name: bytes, key: bytes, items: list, width: int = 1):
    """`name key item...` commands of at most ITEMS_PER_COMMAND items (of `width`
    arguments each)."""
    step = ITEMS_PER_COMMAND * width
    for start in range(0, len(items), step):
        yield [name, key, *items[start:start + step]]


def _stream_commands(key: bytes, stream: Stream):
    if stream.length:
        for stream_id, entry in stream.entries.items():
            yield [b"XADD", key, format_id(stream_id), *entry_fields(entry)]
    else:
        # An empty stream exists too: one entry, at once trimmed away.
        yield [b"XADD", key, b"MAXLEN", b"0", b"0-1", b"x", b"y"]
    yield [b"XSETID", key, format_id(stream.last_id), b"ENTRIESADDED",
           b"%d" % stream.entries_added, b"MAXDELETEDID", format_id(stream.max_deleted_id)]
    for name in sorted(stream.groups):
        group = stream.groups[name]
        entries_read = -1 if group.entries_read is None else group.entries_read
        yield [b"XGROUP", b"CREATE", key, name, format_id(group.last_id), b"ENTRIESREAD",
               b"%d" % entries_read]
        for consumer_name in sorted(group.consumers):
            consumer = group.consumers[consumer_name]
            if not consumer.pending.length:
                yield [b"XGROUP", b"CREATECONSUMER", key, name, consumer_name]
            for stream_id, nack in consumer.pending.items():
                yield [b"XCLAIM", key, name, consumer_name, b"0", format_id(stream_id),
                       b"TIME", b"%d" % nack.delivery_time, b"RETRYCOUNT",
                       b"%d" % nack.delivery_count, b"JUSTID", b"FORCE"]
