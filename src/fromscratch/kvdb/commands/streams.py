"""Stream commands: the log (XADD XLEN XRANGE XREVRANGE XDEL XTRIM XSETID XREAD), consumer
groups (XGROUP XREADGROUP XACK XPENDING XCLAIM XAUTOCLAIM) and XINFO.

The value is a `Stream` (structures/stream.py). Unlike the other containers a stream
may exist empty: XDEL or XTRIM of its last entry keeps the key and its groups.

Ids arrive as `ms-seq` text; `-` and `+` stand for the smallest and largest id in
ranges, `(id` makes a range bound exclusive, `*` asks XADD for the next id, `ms-*` for
the next sequence at a given millisecond, `$` for a stream's last id and `>` for a
consumer group's next undelivered entries.

Consumer groups give at-least-once delivery: XREADGROUP hands each new entry to one
consumer and keeps it pending (in the group's PEL) until XACK; a consumer that dies
leaves its entries pending, and another takes them over with XCLAIM or XAUTOCLAIM.
Changes to groups count as writes for persistence but, as in Redis, leave WATCH alone:
a group is bookkeeping beside the stream's entries, not part of its value.

XREAD and XREADGROUP block like BLPOP (see blocking.py): re-run whenever a key changes.
`$` is resolved to the stream's last id before blocking, and the command waits with that
id written into its arguments (as Redis rewrites them), so a retry does not move the
goalposts. A blocked XREADGROUP also wakes when its stream is deleted or its group
destroyed, and answers NOGROUP.
"""

from __future__ import annotations

from itertools import islice

from ...resp import NULL_ARRAY, Encoded, ErrorReply
from ..client import BLOCKED, OK
from ..keyspace import now_ms
from ..notifications import STREAM
from ..structures.stream import MAX_ID, U64_MAX, ConsumerGroup, Nack, Stream, format_id
from ..table import command, container, subcommand
from .args import INT64_MAX, SYNTAX, parse_int, subcommand_syntax_error, text

INVALID_ID = ErrorReply("ERR Invalid stream ID specified as stream command argument")
NOT_GREATER = ErrorReply("ERR The ID specified in XADD is equal or smaller than the target "
                         "stream top item")
NO_SUCH_KEY = ErrorReply("ERR no such key")
NEEDS_KEY = ErrorReply("ERR The XGROUP subcommand requires the key to exist. Note that for "
                       "CREATE you may want to use the MKSTREAM option to create an empty "
                       "stream automatically.")

# -- ids ---------------------------------------------------------------------------------


def _u64(text: bytes) -> int | None:
    """A 64-bit unsigned number as Redis's string2ull reads it: a canonical integer, or
    failing that what C's strtoull takes whole (leading blanks, a sign, leading zeros;
    a minus wraps around, as in C). None if it is neither."""
    if text.isdigit():                               # the usual case
        value = int(text)
        return value if value <= U64_MAX else None
    body = text.lstrip(b" \t\n\v\f\r")
    negative = body[:1] == b"-"
    if body[:1] in (b"-", b"+"):
        body = body[1:]
    if not body.isdigit() or int(body) > U64_MAX:
        return None
    if negative and text == b"-" + body and body[:1] != b"0" and int(body) <= 2**63:
        return None                                  # a 64-bit integer, and negative
    return -int(body) & U64_MAX if negative else int(body)


def parse_id(arg: bytes, missing_seq: int = 0, strict: bool = True) -> int:
    """An id, `ms-seq` or `ms` (whose sequence is `missing_seq`); unless `strict`, also
    `-` and `+` for the smallest and the greatest id."""
    if not strict and arg in (b"-", b"+"):
        return 0 if arg == b"-" else MAX_ID
    if len(arg) > 127:
        raise INVALID_ID
    ms_text, dash, seq_text = arg.partition(b"-")
    if ms_text.isdigit() and seq_text.isdigit():         # the usual `ms-seq`, kept short
        ms, seq = int(ms_text), int(seq_text)
        if ms <= U64_MAX and seq <= U64_MAX:
            return ms << 64 | seq
    ms = _u64(ms_text)
    seq = _u64(seq_text) if dash else missing_seq
    if ms is None or seq is None:
        raise INVALID_ID
    return ms << 64 | seq


def parse_bound(arg: bytes, missing_seq: int) -> tuple[int, bool]:
    """A range bound: an id, `-`, `+`, or `(id` for an exclusive one."""
    if len(arg) > 1 and arg[:1] == b"(":
        return parse_id(arg[1:], missing_seq), True
    return parse_id(arg, missing_seq, strict=False), False


def parse_range(start_arg: bytes, end_arg: bytes) -> tuple[int, int]:
    """The inclusive [start, end] of XRANGE, XPENDING...: exclusive bounds moved in."""
    start, exclusive = parse_bound(start_arg, 0)
    if exclusive:
        if start == MAX_ID:
            raise ErrorReply("ERR invalid start ID for the interval")
        start += 1
    end, exclusive = parse_bound(end_arg, U64_MAX)
    if exclusive:
        if end == 0:
            raise ErrorReply("ERR invalid end ID for the interval")
        end -= 1
    return start, end


def _xadd_id(arg: bytes) -> tuple[int, int | None]:
    """XADD's explicit id: (ms, seq), with seq None for `ms-*`."""
    if arg.endswith(b"-*") and len(arg) <= 127:
        ms = _u64(arg[:-2])
        if ms is None:
            raise INVALID_ID
        return ms, None
    stream_id = parse_id(arg)
    return stream_id >> 64, stream_id & U64_MAX


def _block_timeout(arg: bytes) -> float:
    """BLOCK's milliseconds, as seconds for blocking.block()."""
    milliseconds = parse_int(arg, ErrorReply("ERR timeout is not an integer or out of range"))
    if milliseconds < 0:
        raise ErrorReply("ERR timeout is negative")
    if milliseconds > INT64_MAX - now_ms():               # the deadline must fit
        raise ErrorReply("ERR timeout is out of range")
    return milliseconds / 1000


# -- looking streams and groups up ------------------------------------------------------------

def get_stream(db, key: bytes) -> Stream | None:
    return db.get_typed(key, Stream)


def _no_group(key: bytes, name: bytes, suffix: str = "") -> ErrorReply:
    return ErrorReply(f"NOGROUP No such key '{text(key)}' or consumer group '{text(name)}'"
                      f"{suffix}")


def _no_such_group(key: bytes, name: bytes) -> ErrorReply:
    return ErrorReply(f"NOGROUP No such consumer group '{text(name)}' for key name "
                      f"'{text(key)}'")


def _group(client, key: bytes, name: bytes) -> tuple[Stream, ConsumerGroup]:
    """The stream at `key` and its group `name`, or NOGROUP."""
    stream = get_stream(client.db, key)
    group = stream.groups.get(name) if stream is not None else None
    if group is None:
        raise _no_group(key, name)
    return stream, group


def _counted(client, changes: int) -> None:
    """Count group bookkeeping as changes (for persistence), without touching WATCH."""
    client.db.keyspace.dirty += changes


def _consumer(client, key: bytes, group: ConsumerGroup, name: bytes, now: int):
    """Group member `name`, created if new (as XREADGROUP and the claims do); its
    seen-time becomes now."""
    consumer = group.consumers.get(name)
    if consumer is None:
        consumer = group.add_consumer(name, now)
        _counted(client, 1)
        client.db.notify(STREAM, "xgroup-createconsumer", key)
    consumer.seen_time = now
    return consumer


def _entries(encoded: list) -> Encoded:
    """An array of entries as a reply: the entries are kept encoded (see Stream)."""
    return Encoded(b"*%d\r\n%s" % (len(encoded), b"".join(encoded)))


# -- adding and trimming ----------------------------------------------------------------------

class _TrimOptions:
    """XADD's and XTRIM's options: NOMKSTREAM, MAXLEN/MINID [=|~] threshold, LIMIT."""

    __slots__ = ("maxlen", "minid", "approx", "limit", "nomkstream", "id_at", "explicit_id")

    def __init__(self, argv: list, xadd: bool, node_entries: int):
        self.maxlen = self.minid = self.explicit_id = None
        self.approx = self.nomkstream = False
        limit = None
        strategy_error = ErrorReply("ERR syntax error, MAXLEN and MINID options at the same "
                                    "time are not compatible")
        index = 2
        while index < len(argv):
            arg = argv[index]
            more = len(argv) - 1 - index
            if xadd and arg == b"*":
                break
            word = arg.upper()
            if word in (b"MAXLEN", b"MINID") and more:
                if self.maxlen is not None or self.minid is not None:
                    raise strategy_error
                self.approx = False
                if more >= 2 and argv[index + 1] in (b"~", b"="):
                    self.approx = argv[index + 1] == b"~"
                    index += 1
                if word == b"MAXLEN":
                    self.maxlen = parse_int(argv[index + 1])
                    if self.maxlen < 0:
                        raise ErrorReply("ERR The MAXLEN argument must be >= 0.")
                else:
                    self.minid = parse_id(argv[index + 1])
                index += 2
            elif word == b"LIMIT" and more:
                limit = parse_int(argv[index + 1])
                if limit < 0:
                    raise ErrorReply("ERR The LIMIT argument must be >= 0.")
                index += 2
            elif xadd and word == b"NOMKSTREAM":
                self.nomkstream = True
                index += 1
            elif xadd:
                self.explicit_id = _xadd_id(arg)
                break
            else:
                raise SYNTAX
        self.id_at = index
        if limit and not self.trims:
            raise ErrorReply("ERR syntax error, LIMIT cannot be used without specifying a "
                             "trimming strategy")
        if not xadd and not self.trims:
            raise ErrorReply("ERR syntax error, XTRIM must be called with a trimming strategy")
        if limit is not None and not self.approx:
            raise ErrorReply("ERR syntax error, LIMIT cannot be used without the special ~ "
                             "option")
        if limit is None:
            # `~` removes whole blocks, at most 100 blocks' worth unless told otherwise
            # (as Redis caps it: 10000 when blocks have no entry limit, at most 1000000).
            limit = min(100 * node_entries or 10000, 1_000_000) if self.approx else 0
        self.limit = limit

    @property
    def trims(self) -> bool:
        return self.maxlen is not None or self.minid is not None

    def apply(self, stream: Stream) -> int:
        return stream.trim(self.maxlen, self.minid, self.approx, self.limit)


def _explicit_id(stream: Stream, explicit: tuple) -> int:
    """The id XADD gives its entry when asked for `ms-seq` or `ms-*` (explicit: (ms, seq)
    or (ms, None))."""
    last = stream.last_id
    ms, seq = explicit
    if seq is None:                                  # `ms-*`
        if ms == last >> 64:
            if last & U64_MAX == U64_MAX:
                raise NOT_GREATER
            return last + 1
        new = ms << 64
    else:
        new = ms << 64 | seq
    if new <= last:
        raise NOT_GREATER
    return new


def xadd_run(client, commands: list, index: int) -> list:
    """Serve at once a pipeline's run of `XADD key * field value...` on one key, from
    commands[index] on: one lookup, one clock reading and one change notice for them
    all, where each XADD alone takes one of each (a sixth of its time). Only where
    nothing could tell the difference: no client of the database waits on or WATCHes a
    key, none tracks keys, no stream keyspace event is asked for, and LFU's counter
    (which counts every access) is not kept; otherwise, and for any other XADD, it
    serves none and xadd() takes them one by one. The run happens at one instant, as a
    transaction's commands do. Returns the replies (the new ids) of the calls served."""
    if len(commands) - index < 2:                    # no run: an XADD alone
        return []
    db = client.db
    keyspace = db.keyspace
    if (db.watched or db.blocked or keyspace.tracking is not None
            or keyspace.notify_flags & STREAM or keyspace.touch_mode == 2):
        return []
    name, key = commands[index][0], commands[index][1]
    run = []
    for argv in islice(commands, index, None):
        if not (argv[0] == name and argv[1] == key and argv[2] == b"*"
                and len(argv) >= 5 and len(argv) % 2):
            break
        run.append(argv)
    if len(run) < 2:
        return []
    try:
        stream = db.get_or_create(key, Stream)
    except ErrorReply:                               # WRONGTYPE: each call says so
        return []
    kv = client.kv
    node_entries, node_bytes = kv.stream_node_entries, kv.stream_node_bytes
    ms = now_ms()
    replies = []
    for argv in run:
        last = stream.last_id
        if last == MAX_ID:                           # exhausted: xadd() says so
            break
        stream_id = ms << 64 if ms > last >> 64 else last + 1
        replies.append(stream.add(stream_id, argv[3:], node_entries, node_bytes))
    if replies:
        db.updated(key, STREAM, "xadd", len(replies))
    return replies


@command("xadd", arity=-5, flags="write denyoom fast", keys=(1, 1, 1), group="stream",
         since="5.0.0", summary="Appends a new entry to a stream", run_handler=xadd_run,
         complexity="O(1) when adding a new entry, O(N) when trimming where N being the "
                    "number of entries evicted.",
         syntax="key [NOMKSTREAM] [trim: (strategy: MAXLEN | MINID) [operator: = | ~] "
                "threshold [LIMIT count]] (id-selector: * | id) (data: field value)...")
def xadd(client, argv):
    key, kv = argv[1], client.kv
    node_entries = kv.stream_node_entries
    if argv[2] == b"*" and len(argv) % 2:    # XADD key * field value...: kept short, it is hot
        options = explicit = None
        fields = argv[3:]
    else:
        options = _TrimOptions(argv, xadd=True, node_entries=node_entries)
        fields = argv[options.id_at + 1:]
        if len(fields) < 2 or len(fields) % 2:
            raise ErrorReply("ERR wrong number of arguments for 'xadd' command")
        explicit = options.explicit_id
        if explicit == (0, 0):
            raise ErrorReply("ERR The ID specified in XADD must be greater than 0-0")
    db = client.db
    entry = db.entry_for_write(key, Stream)
    if entry is not None:
        stream = entry.value
    elif options and options.nomkstream:
        return None
    else:
        stream = Stream()
        db.add(key, stream)
    if stream.last_id == MAX_ID:
        raise ErrorReply("ERR The stream has exhausted the last possible ID, unable to add "
                         "more items")
    if explicit is None:        # `*`: the clock's millisecond, or the last id's next if behind
        ms, last = now_ms(), stream.last_id
        stream_id = ms << 64 if ms > last >> 64 else last + 1
    else:
        stream_id = _explicit_id(stream, explicit)
    reply = stream.add(stream_id, fields, node_entries, kv.stream_node_bytes)
    db.updated(key, STREAM, "xadd")
    if options and options.trims and options.apply(stream):
        db.notify(STREAM, "xtrim", key)
    return reply


@command("xtrim", arity=-4, flags="write", keys=(1, 1, 1), group="stream", since="5.0.0",
         summary="Trims the stream to (approximately if '~' is passed) a certain size",
         complexity="O(N), with N being the number of evicted entries. Constant times are "
                    "very small however, since entries are organized in macro nodes "
                    "containing multiple entries that can be released with a single "
                    "deallocation.",
         syntax="key (strategy: MAXLEN | MINID) [operator: = | ~] threshold [LIMIT count]")
def xtrim(client, argv):
    options = _TrimOptions(argv, xadd=False,
                           node_entries=client.kv.stream_node_entries)
    db, key = client.db, argv[1]
    stream = db.get_for_write(key, Stream)
    if stream is None:
        return 0
    removed = options.apply(stream)
    if removed:
        db.updated(key, STREAM, "xtrim", removed)
    return removed


@command("xdel", arity=-3, flags="write fast", keys=(1, 1, 1), group="stream", since="5.0.0",
         summary="Removes the specified entries from the stream. Returns the number of items "
                 "actually deleted, that may be different from the number of IDs passed in "
                 "case certain IDs do not exist.",
         complexity="O(1) for each single item to delete in the stream, regardless of the "
                    "stream size.", syntax="key id...")
def xdel(client, argv):
    db, key = client.db, argv[1]
    stream = db.get_for_write(key, Stream)
    if stream is None:
        return 0
    ids = [parse_id(arg) for arg in argv[2:]]         # all or nothing
    deleted = sum(stream.delete(stream_id) for stream_id in ids)
    if deleted:
        db.updated(key, STREAM, "xdel", deleted)
    return deleted


@command("xsetid", arity=-3, flags="write denyoom fast", keys=(1, 1, 1), group="stream",
         since="5.0.0", summary="An internal command for replicating stream values",
         complexity="O(1)",
         syntax="key last-id [ENTRIESADDED entries-added:integer] "
                "[MAXDELETEDID max-deleted-id]")
def xsetid(client, argv):
    last_id = parse_id(argv[2])
    entries_added = max_deleted = None
    index = 3
    while index < len(argv):
        word = argv[index].upper()
        if word == b"ENTRIESADDED" and index + 1 < len(argv):
            entries_added = parse_int(argv[index + 1])
            if entries_added < 0:
                raise ErrorReply("ERR entries_added must be positive")
        elif word == b"MAXDELETEDID" and index + 1 < len(argv):
            max_deleted = parse_id(argv[index + 1])
            if last_id < max_deleted:
                raise ErrorReply("ERR The ID specified in XSETID is smaller than the provided "
                                 "max_deleted_entry_id")
        else:
            raise SYNTAX
        index += 2
    db, key = client.db, argv[1]
    stream = db.get_for_write(key, Stream)
    if stream is None:
        raise NO_SUCH_KEY
    if last_id < stream.max_deleted_id:
        raise ErrorReply("ERR The ID specified in XSETID is smaller than current "
                         "max_deleted_entry_id")
    if stream.length:
        if last_id < stream.entries.last_id():
            raise ErrorReply("ERR The ID specified in XSETID is smaller than the target "
                             "stream top item")
        if entries_added is not None and entries_added < stream.length:
            raise ErrorReply("ERR The entries_added specified in XSETID is smaller than the "
                             "target stream length")
    stream.last_id = last_id
    if entries_added is not None:
        stream.entries_added = entries_added
    if max_deleted:
        stream.max_deleted_id = max_deleted
    _counted(client, 1)
    db.notify(STREAM, "xsetid", key)
    return OK


# -- reading ----------------------------------------------------------------------------------

@command("xlen", arity=2, flags="readonly fast", keys=(1, 1, 1), group="stream", since="5.0.0",
         summary="Return the number of entries in a stream", complexity="O(1)", syntax="key")
def xlen(client, argv):
    stream = get_stream(client.db, argv[1])
    return stream.length if stream is not None else 0


def _xrange(client, argv, reverse: bool):
    if reverse:
        start, end = parse_range(argv[3], argv[2])
    else:
        start, end = parse_range(argv[2], argv[3])
    count = None
    index = 4
    while index < len(argv):
        if argv[index].upper() != b"COUNT" or index + 1 >= len(argv):
            raise SYNTAX
        count = max(parse_int(argv[index + 1]), 0)
        index += 2
    stream = get_stream(client.db, argv[1])
    if stream is None:
        return []
    if count == 0:
        return NULL_ARRAY
    entries = stream.entries
    found = entries.items_reversed(end, start) if reverse else entries.items(start, end)
    return _entries([entry for _, entry in islice(found, count)])


_RANGE_COMPLEXITY = ("O(N) with N being the number of elements being returned. If N is "
                     "constant (e.g. always asking for the first 10 elements with COUNT), you "
                     "can consider it O(1).")


@command("xrange", arity=-4, flags="readonly", keys=(1, 1, 1), group="stream", since="5.0.0",
         summary="Return a range of elements in a stream, with IDs matching the specified "
                 "IDs interval", complexity=_RANGE_COMPLEXITY,
         syntax="key start end [COUNT count]")
def xrange(client, argv):
    return _xrange(client, argv, reverse=False)


@command("xrevrange", arity=-4, flags="readonly", keys=(1, 1, 1), group="stream",
         since="5.0.0",
         summary="Return a range of elements in a stream, with IDs matching the specified IDs "
                 "interval, in reverse order (from greater to smaller IDs) compared to XRANGE",
         complexity=_RANGE_COMPLEXITY.replace("being returned", "returned"),
         syntax="key end start [COUNT count]")
def xrevrange(client, argv):
    return _xrange(client, argv, reverse=True)


# -- XREAD and XREADGROUP -----------------------------------------------------------------------

NEW_ENTRIES = -1          # the `>` of XREADGROUP, as an id


class _ReadRequest:
    """The arguments of XREAD or XREADGROUP."""

    __slots__ = ("timeout", "count", "group", "consumer", "noack", "keys", "ids_at")

    def __init__(self, argv: list, group_read: bool):
        self.timeout = None
        self.count = 0
        self.group = self.consumer = None
        self.noack = False
        name = "xreadgroup" if group_read else "xread"
        index, streams_at = 1, 0
        while index < len(argv):
            word = argv[index].upper()
            more = len(argv) - index - 1
            if word == b"BLOCK" and more:
                self.timeout = _block_timeout(argv[index + 1])
                index += 2
            elif word == b"COUNT" and more:
                self.count = max(parse_int(argv[index + 1]), 0)
                index += 2
            elif word == b"STREAMS" and more:
                streams_at = index + 1
                if (len(argv) - streams_at) % 2:
                    symbol = ">" if group_read else "$"
                    raise ErrorReply(f"ERR Unbalanced '{name}' list of streams: for each "
                                     f"stream key an ID or '{symbol}' must be specified.")
                break
            elif word == b"GROUP" and more >= 2:
                if not group_read:
                    raise ErrorReply("ERR The GROUP option is only supported by XREADGROUP. "
                                     "You called XREAD instead.")
                self.group, self.consumer = argv[index + 1], argv[index + 2]
                index += 3
            elif word == b"NOACK":
                if not group_read:
                    raise ErrorReply("ERR The NOACK option is only supported by XREADGROUP. "
                                     "You called XREAD instead.")
                self.noack = True
                index += 1
            else:
                raise SYNTAX
        if not streams_at:
            raise SYNTAX
        if group_read and self.group is None:
            raise ErrorReply("ERR Missing GROUP option for XREADGROUP")
        half = (len(argv) - streams_at) // 2
        self.keys = argv[streams_at:streams_at + half]
        self.ids_at = streams_at + half


def _resolve_ids(client, argv, request: _ReadRequest, group_read: bool) -> list:
    """(key, group, id to read after) for each stream, checking types, groups and ids
    in Redis's order, stream by stream."""
    db = client.db
    resolved = []
    for key, arg in zip(request.keys, argv[request.ids_at:]):
        stream = get_stream(db, key)
        group = None
        if group_read:
            group = stream.groups.get(request.group) if stream is not None else None
            if group is None:
                raise _no_group(key, request.group, " in XREADGROUP with GROUP option")
        if arg == b"$":
            if group_read:
                raise ErrorReply(
                    "ERR The $ ID is meaningless in the context of XREADGROUP: you want to "
                    "read the history of this consumer by specifying a proper ID, or use the "
                    "> ID to get new messages. The $ ID would just return an empty result set.")
            after = stream.last_id if stream is not None else 0
        elif arg == b">":
            if not group_read:
                raise ErrorReply("ERR The > ID can be specified only when calling XREADGROUP "
                                 "using the GROUP <group> <consumer> option.")
            after = NEW_ENTRIES
        elif arg == b"+" and not group_read:         # XREAD's last entry (Redis 7.4)
            after = stream.last_id - 1 if stream is not None and stream.last_id else 0
        else:
            after = parse_id(arg)
        resolved.append((key, group, after))
    return resolved


def _read_new(stream: Stream, after: int, count: int) -> Encoded | None:
    """XREAD: the entries after `after`, or None if there are none."""
    last = stream.entries.last_id()
    if last is None or last <= after:
        return None
    return _entries(stream.entries.after(after, count)[1])


def _deliver(client, key: bytes, stream: Stream, group: ConsumerGroup, consumer, request,
             now: int) -> Encoded | None:
    """XREADGROUP `>`: hand the group's next entries to `consumer`, or None if there are
    none. Each is pending for the consumer until acknowledged, unless NOACK."""
    last = stream.entries.last_id()
    if last is None or last <= group.last_id:
        return None
    ids, entries = stream.entries.after(group.last_id, request.count)
    stream.advance_group(group, ids)
    propagating = client.kv.propagating        # else no need to build what is logged
    if request.noack:
        if propagating:
            _propagate_group_position(client, key, group)
    else:
        group.deliver(ids, consumer, now)
        consumer.active_time = now
        if propagating:
            for stream_id in ids:
                _propagate_claim(client, key, group, stream_id, group.pending.get(stream_id))
    return _entries(entries)


# What the group commands did is logged as Redis logs it (see propagation.py): each
# delivery or claim as the XCLAIM that reproduces it exactly, and a move of the group's
# position that no XCLAIM carries (NOACK, XCLAIM ... LASTID) as XGROUP SETID.

def _propagate_claim(client, key: bytes, group: ConsumerGroup, stream_id: int,
                     nack: Nack) -> None:
    client.kv.also_propagate(client.db.index, [
        b"XCLAIM", key, group.name, nack.consumer.name, b"0", format_id(stream_id),
        b"TIME", b"%d" % nack.delivery_time, b"RETRYCOUNT", b"%d" % nack.delivery_count,
        b"FORCE", b"JUSTID", b"LASTID", format_id(group.last_id)])


def _propagate_group_position(client, key: bytes, group: ConsumerGroup) -> None:
    entries_read = group.entries_read if group.entries_read is not None else -1
    client.kv.also_propagate(client.db.index, [
        b"XGROUP", b"SETID", key, group.name, format_id(group.last_id),
        b"ENTRIESREAD", b"%d" % entries_read])


def _history(client, stream: Stream, consumer, after: int, count: int, now: int) -> Encoded:
    """XREADGROUP with an id: the consumer's own pending entries after it, delivered
    again (an entry deleted since shows as [id, nil])."""
    null_array = b"*-1\r\n" if client.resp == 2 else b"_\r\n"
    found = []
    for stream_id, nack in islice(consumer.pending.items(after + 1), count or None):
        entry = stream.entries.get(stream_id)
        if entry is None:
            text = format_id(stream_id)
            found.append(b"*2\r\n$%d\r\n%s\r\n%s" % (len(text), text, null_array))
        else:
            nack.delivery_time = now
            nack.delivery_count += 1
            found.append(entry)
    return _entries(found)


def _holds_stream(db, key: bytes) -> bool:
    entry = db.entry(key, touch=False)
    return entry is not None and type(entry.value) is Stream


def _xread(client, argv, group_read: bool):
    request = _ReadRequest(argv, group_read)
    db = client.db
    # A blocked XREAD is woken by any change to its keys, but (as in Redis) only goes on
    # once one of them holds a stream: a key turned into a list leaves it waiting.
    if client.retrying and not group_read and not any(_holds_stream(db, k) for k in request.keys):
        return BLOCKED
    resolved = _resolve_ids(client, argv, request, group_read)
    now = now_ms()
    served = []
    for key, group, after in resolved:
        # Looked up again, as Redis does (its hit counts and keymiss events show it).
        stream = get_stream(db, key)
        if stream is None:
            continue
        if group is None:
            entries = _read_new(stream, after, request.count)
        else:
            if request.noack and request.consumer not in group.consumers:
                # Without a delivery's XCLAIM to make it, the new consumer is logged.
                client.kv.also_propagate(db.index, [b"XGROUP", b"CREATECONSUMER", key,
                                                    group.name, request.consumer])
            consumer = _consumer(client, key, group, request.consumer, now)
            if after == NEW_ENTRIES:
                entries = _deliver(client, key, stream, group, consumer, request, now)
            else:
                entries = _history(client, stream, consumer, after, request.count, now)
            if entries is not None:
                _counted(client, 1)
        if entries is not None:
            served.append((key, entries))
    if served:
        return dict(served) if client.resp == 3 else [list(pair) for pair in served]
    if request.timeout is None:
        return NULL_ARRAY
    if not group_read:
        argv = _with_resolved_ids(argv, request, resolved)
    return client.kv.blocking.block(client, argv, request.keys, request.timeout, NULL_ARRAY,
                                    wake_on_delete=group_read)


def _with_resolved_ids(argv: list, request: _ReadRequest, resolved: list) -> list:
    """XREAD's arguments with `$` and `+` replaced by the ids they stood for now."""
    ids = argv[request.ids_at:]
    if b"$" not in ids and b"+" not in ids:
        return argv
    fixed = [format_id(after) if arg in (b"$", b"+") else arg
             for arg, (_, _, after) in zip(ids, resolved)]
    return argv[:request.ids_at] + fixed


@command("xread", arity=-4, flags="readonly blocking movablekeys", keyword=(b"STREAMS", 1),
         group="stream", since="5.0.0",
         summary="Return never seen elements in multiple streams, with IDs greater than the "
                 "ones reported by the caller for each stream. Can block.",
         complexity="For each stream mentioned: O(N) with N being the number of elements "
                    "being returned, it means that XREAD-ing with a fixed COUNT is O(1). Note "
                    "that when the BLOCK option is used, XADD will pay O(M) time in order to "
                    "serve the M clients blocked on the stream getting new data.",
         syntax="[COUNT count] [BLOCK milliseconds] STREAMS (streams: key... id...)")
def xread(client, argv):
    return _xread(client, argv, group_read=False)


@command("xreadgroup", arity=-7, flags="write blocking movablekeys", keyword=(b"STREAMS", 4),
         group="stream", since="5.0.0",
         summary="Return new entries from a stream using a consumer group, or access the "
                 "history of the pending entries for a given consumer. Can block.",
         complexity="For each stream mentioned: O(M) with M being the number of elements "
                    "returned. If M is constant (e.g. always asking for the first 10 elements "
                    "with COUNT), you can consider it O(1). On the other side when XREADGROUP "
                    "blocks, XADD will pay the O(N) time in order to serve the N clients "
                    "blocked on the stream getting new data.",
         syntax="GROUP (group-block: group consumer) [COUNT count] [BLOCK milliseconds] "
                "[NOACK] STREAMS (streams: key... id...)")
def xreadgroup(client, argv):
    return _xread(client, argv, group_read=True)


# -- acknowledging and inspecting pending entries -------------------------------------------------

@command("xack", arity=-4, flags="write fast", keys=(1, 1, 1), group="stream", since="5.0.0",
         summary="Marks a pending message as correctly processed, effectively removing it "
                 "from the pending entries list of the consumer group. Return value of the "
                 "command is the number of messages successfully acknowledged, that is, the "
                 "IDs we were actually able to resolve in the PEL.",
         complexity="O(1) for each message ID processed.", syntax="key group id...")
def xack(client, argv):
    stream = get_stream(client.db, argv[1])
    group = stream.groups.get(argv[2]) if stream is not None else None
    if group is None:
        return 0
    ids = [parse_id(arg) for arg in argv[3:]]           # all or nothing
    acknowledged = 0
    for stream_id in ids:
        acknowledged += group.acknowledge(stream_id)
    _counted(client, acknowledged)
    return acknowledged


@command("xpending", arity=-3, flags="readonly", keys=(1, 1, 1), group="stream",
         since="5.0.0",
         summary="Return information and entries from a stream consumer group pending "
                 "entries list, that are messages fetched but never acknowledged.",
         complexity="O(N) with N being the number of elements returned, so asking for a small "
                    "fixed number of entries per call is O(1). O(M), where M is the total "
                    "number of entries scanned when used with the IDLE filter. When the "
                    "command returns just the summary and the list of consumers is small, it "
                    "runs in O(1) time; otherwise, an additional O(N) time for iterating "
                    "every consumer.",
         syntax="key group [filters: [IDLE min-idle-time:integer] start end count "
                "[consumer]]")
def xpending(client, argv):
    min_idle = 0
    extended = len(argv) >= 6
    if extended:
        at = 3
        if argv[3].upper() == b"IDLE":
            min_idle = parse_int(argv[4])
            if len(argv) < 8:
                raise SYNTAX
            at = 5
        count = max(parse_int(argv[at + 2]), 0)
        start, end = parse_range(argv[at], argv[at + 1])
        consumer_name = argv[at + 3] if at + 3 < len(argv) else None
    elif len(argv) != 3:
        raise SYNTAX
    stream = get_stream(client.db, argv[1])
    group = stream.groups.get(argv[2]) if stream is not None else None
    if group is None:
        raise _no_group(argv[1], argv[2])
    if not extended:
        return _pending_summary(group)
    pending = group.pending
    if consumer_name is not None:
        consumer = group.consumers.get(consumer_name)
        if consumer is None:
            return []
        pending = consumer.pending
    now = now_ms()
    found = []
    for stream_id, nack in pending.items(start, end):
        if len(found) >= count:
            break
        idle = now - nack.delivery_time
        if min_idle and idle < min_idle:
            continue
        found.append([format_id(stream_id), nack.consumer.name, max(idle, 0),
                      nack.delivery_count])
    return found


def _pending_summary(group: ConsumerGroup) -> list:
    """[count, smallest id, greatest id, [[consumer, its count as text]...]]."""
    pending = group.pending
    if not pending.length:
        return [0, None, None, NULL_ARRAY]
    owners = [[name, b"%d" % consumer.pending.length]
              for name, consumer in sorted(group.consumers.items()) if consumer.pending.length]
    return [pending.length, format_id(pending.first_id()), format_id(pending.last_id()), owners]


# -- claiming ---------------------------------------------------------------------------------

def _min_idle(arg: bytes, name: str) -> int:
    return max(parse_int(arg, ErrorReply(f"ERR Invalid min-idle-time argument for {name}")), 0)


class _ClaimOptions:
    """XCLAIM's ids and options: IDLE ms | TIME unix-ms, RETRYCOUNT, FORCE, JUSTID, LASTID."""

    __slots__ = ("ids", "delivery_time", "retry_count", "force", "justid", "last_id")

    def __init__(self, argv: list, now: int):
        self.ids = []
        index = 5
        while index < len(argv):                    # the ids, up to the first non-id
            try:
                self.ids.append(parse_id(argv[index]))
            except ErrorReply:
                break
            index += 1
        self.delivery_time = self.retry_count = None
        self.force = self.justid = False
        self.last_id = 0
        while index < len(argv):
            option = argv[index]
            word = option.upper()
            more = index + 1 < len(argv)
            if word == b"FORCE":
                self.force = True
            elif word == b"JUSTID":
                self.justid = True
            elif word in (b"IDLE", b"TIME", b"RETRYCOUNT") and more:
                name = word.decode()
                index += 1
                value = parse_int(argv[index], ErrorReply(f"ERR Invalid {name} option argument "
                                                          f"for XCLAIM"))
                if word == b"IDLE":
                    self.delivery_time = now - value
                elif word == b"TIME":
                    self.delivery_time = value
                else:                   # a negative count is as none given, in Redis
                    self.retry_count = value if value >= 0 else None
            elif word == b"LASTID" and more:
                index += 1
                self.last_id = parse_id(argv[index])
            else:
                raise ErrorReply(f"ERR Unrecognized XCLAIM option '{text(option)}'")
            index += 1
        # A time in the future or before 1970 is taken as now (clocks disagree).
        if self.delivery_time is None or not 0 <= self.delivery_time <= now:
            self.delivery_time = now


def _claim_one(group: ConsumerGroup, stream_id: int, nack: Nack, consumer, delivery_time: int,
               delivery_count: int) -> None:
    group.claim(stream_id, nack, consumer)
    nack.delivery_time = delivery_time
    nack.delivery_count = delivery_count


def _forget_deleted(client, group: ConsumerGroup, stream_id: int) -> None:
    """A pending entry whose stream entry was deleted: claiming drops it."""
    group.acknowledge(stream_id)
    _counted(client, 1)


@command("xclaim", arity=-6, flags="write fast", keys=(1, 1, 1), group="stream",
         since="5.0.0",
         summary="Changes (or acquires) ownership of a message in a consumer group, as if the "
                 "message was delivered to the specified consumer.",
         complexity="O(log N) with N being the number of messages in the PEL of the consumer "
                    "group.",
         syntax="key group consumer min-idle-time:integer id... "
                "[IDLE milliseconds:integer] [TIME unix-time-milliseconds:integer] "
                "[RETRYCOUNT count] [FORCE] [JUSTID] [LASTID lastid:string]")
def xclaim(client, argv):
    key = argv[1]
    stream, group = _group(client, key, argv[2])
    min_idle = _min_idle(argv[4], "XCLAIM")
    now = now_ms()
    options = _ClaimOptions(argv, now)
    moved = options.last_id > group.last_id
    if moved:
        group.last_id = options.last_id
        _counted(client, 1)
    consumer = _consumer(client, key, group, argv[3], now)
    claimed = []
    for stream_id in options.ids:
        nack = group.pending.get(stream_id)
        entry = stream.entries.get(stream_id)
        if entry is None:
            if nack is not None:
                _propagate_claim(client, key, group, stream_id, nack)
                _forget_deleted(client, group, stream_id)
                moved = False                       # the XCLAIM carries the position
            continue
        if nack is None:
            if not options.force:
                continue
            nack = Nack(None, now)                  # FORCE: pending from now on
            group.pending.set(stream_id, nack)
        elif min_idle and now - nack.delivery_time < min_idle:
            continue
        if options.retry_count is not None:
            delivery_count = options.retry_count
        else:
            delivery_count = nack.delivery_count + (not options.justid)
        _claim_one(group, stream_id, nack, consumer, options.delivery_time, delivery_count)
        _propagate_claim(client, key, group, stream_id, nack)
        moved = False
        claimed.append(format_id(stream_id) if options.justid else entry)
        consumer.active_time = now
        _counted(client, 1)
    if moved:
        _propagate_group_position(client, key, group)
    return claimed if options.justid else _entries(claimed)


@command("xautoclaim", arity=-6, flags="write fast", keys=(1, 1, 1), group="stream",
         since="6.2.0",
         summary="Changes (or acquires) ownership of messages in a consumer group, as if the "
                 "messages were delivered to the specified consumer.",
         complexity="O(1) if COUNT is small.",
         syntax="key group consumer min-idle-time:integer start [COUNT count] [JUSTID]")
def xautoclaim(client, argv):
    min_idle = _min_idle(argv[4], "XAUTOCLAIM")
    start, exclusive = parse_bound(argv[5], 0)
    if exclusive:
        if start == MAX_ID:
            raise ErrorReply("ERR invalid start ID for the interval")
        start += 1
    count, justid = 100, False
    index = 6
    while index < len(argv):
        word = argv[index].upper()
        if word == b"COUNT" and index + 1 < len(argv):
            count_error = ErrorReply("ERR COUNT must be > 0")
            count = parse_int(argv[index + 1], count_error)
            if not 1 <= count <= INT64_MAX // 16:      # Redis's bound on its buffer
                raise count_error
            index += 1
        elif word == b"JUSTID":
            justid = True
        else:
            raise SYNTAX
        index += 1
    key = argv[1]
    stream, group = _group(client, key, argv[2])
    now = now_ms()
    consumer = _consumer(client, key, group, argv[3], now)
    claimed, deleted = [], []
    # It looks at up to ten times COUNT pending entries (skipping those delivered too
    # recently) and stops once COUNT are claimed or dropped; the reply's cursor is the
    # next pending id after where it stopped, or 0-0 at the end.
    attempts = count * 10
    cursor = 0
    for stream_id, nack in list(islice(group.pending.items(start), attempts + 1)):
        if not attempts or not count:
            cursor = stream_id
            break
        attempts -= 1
        entry = stream.entries.get(stream_id)
        if entry is None:
            _propagate_claim(client, key, group, stream_id, nack)
            _forget_deleted(client, group, stream_id)
            deleted.append(format_id(stream_id))
            count -= 1
            continue
        if min_idle and now - nack.delivery_time < min_idle:
            continue
        _claim_one(group, stream_id, nack, consumer, now, nack.delivery_count + (not justid))
        _propagate_claim(client, key, group, stream_id, nack)
        claimed.append(format_id(stream_id) if justid else entry)
        consumer.active_time = now
        count -= 1
        _counted(client, 1)
    return [format_id(cursor), claimed if justid else _entries(claimed), deleted]


# -- XGROUP -----------------------------------------------------------------------------------

container("xgroup", group="stream", since="5.0.0",
          summary="A container for consumer groups commands")


def _entries_read(arg: bytes) -> int | None:
    value = parse_int(arg)
    if value < 0 and value != -1:
        raise ErrorReply("ERR value for ENTRIESREAD must be positive or -1")
    return None if value == -1 else value


def _group_options(argv: list, create: bool) -> tuple[bool, int | None | bool]:
    """CREATE's and SETID's trailing options: (MKSTREAM, ENTRIESREAD); ENTRIESREAD is
    False when not given (CREATE then works it out; SETID forgets the count)."""
    mkstream, entries_read = False, False
    index = 5
    while index < len(argv):
        word = argv[index].upper()
        if create and word == b"MKSTREAM":
            mkstream = True
            index += 1
        elif word == b"ENTRIESREAD" and index + 1 < len(argv):
            entries_read = _entries_read(argv[index + 1])
            index += 2
        else:
            raise subcommand_syntax_error(argv)
    return mkstream, entries_read


def _group_stream(client, argv, mkstream: bool = False) -> Stream | None:
    """The stream XGROUP works on: it must exist, unless CREATE ... MKSTREAM."""
    stream = client.db.get_for_write(argv[2], Stream)
    if stream is None and not mkstream:
        raise NEEDS_KEY
    return stream


def _existing_group(stream: Stream, argv) -> ConsumerGroup:
    group = stream.groups.get(argv[3])
    if group is None:
        raise _no_such_group(argv[2], argv[3])
    return group


@subcommand("xgroup", "create", arity=-5, flags="write denyoom", keys=(2, 2, 1),
            since="5.0.0", summary="Create a consumer group.", complexity="O(1)",
            syntax="key group (id-selector: id | $) [MKSTREAM] [ENTRIESREAD entries-read]")
def xgroup_create(client, argv):
    mkstream, entries_read = _group_options(argv, create=True)
    stream = _group_stream(client, argv, mkstream)
    if len(argv) > 8:
        raise subcommand_syntax_error(argv)
    if argv[4] == b"$":
        last_id = stream.last_id if stream is not None else 0
    else:
        last_id = parse_id(argv[4])
    db, key, name = client.db, argv[2], argv[3]
    if stream is None:
        stream = Stream()
        db.add(key, stream)
        db.modified(key)
    if name in stream.groups:
        raise ErrorReply("BUSYGROUP Consumer Group name already exists")
    stream.groups[name] = ConsumerGroup(name, last_id,
                                        None if entries_read is False else entries_read)
    _counted(client, 1)
    db.notify(STREAM, "xgroup-create", key)
    return OK


@subcommand("xgroup", "setid", arity=-5, flags="write", keys=(2, 2, 1), since="5.0.0",
            summary="Set a consumer group to an arbitrary last delivered ID value.",
            complexity="O(1)",
            syntax="key group (id-selector: id | $) [ENTRIESREAD entriesread]")
def xgroup_setid(client, argv):
    _, entries_read = _group_options(argv, create=False)
    stream = _group_stream(client, argv)
    group = _existing_group(stream, argv)
    if len(argv) not in (5, 7):
        raise subcommand_syntax_error(argv)
    if argv[4] == b"$":
        group.last_id = stream.last_id
    else:
        group.last_id = parse_id(argv[4], strict=False)
    group.entries_read = None if entries_read is False else entries_read
    _counted(client, 1)
    client.db.notify(STREAM, "xgroup-setid", argv[2])
    return OK


@subcommand("xgroup", "destroy", arity=4, flags="write", keys=(2, 2, 1), since="5.0.0",
            summary="Destroy a consumer group.",
            complexity="O(N) where N is the number of entries in the group's pending entries "
                       "list (PEL).", syntax="key group")
def xgroup_destroy(client, argv):
    stream = _group_stream(client, argv)
    if stream.groups.pop(argv[3], None) is None:
        return 0
    db, key = client.db, argv[2]
    _counted(client, 1)
    db.notify(STREAM, "xgroup-destroy", key)
    db.wake(key)                  # its blocked readers answer NOGROUP
    return 1


@subcommand("xgroup", "createconsumer", arity=5, flags="write denyoom", keys=(2, 2, 1),
            since="6.2.0", summary="Create a consumer in a consumer group.",
            complexity="O(1)", syntax="key group consumer")
def xgroup_createconsumer(client, argv):
    group = _existing_group(_group_stream(client, argv), argv)
    if argv[4] in group.consumers:
        return 0
    _consumer(client, argv[2], group, argv[4], now_ms())
    return 1


@subcommand("xgroup", "delconsumer", arity=5, flags="write", keys=(2, 2, 1), since="5.0.0",
            summary="Delete a consumer from a consumer group.", complexity="O(1)",
            syntax="key group consumer")
def xgroup_delconsumer(client, argv):
    group = _existing_group(_group_stream(client, argv), argv)
    if argv[4] not in group.consumers:
        return 0
    pending = group.remove_consumer(argv[4])
    _counted(client, 1)
    client.db.notify(STREAM, "xgroup-delconsumer", argv[2])
    return pending


# -- XINFO ------------------------------------------------------------------------------------

container("xinfo", group="stream", since="5.0.0",
          summary="A container for stream introspection commands")


def _info_stream(client, argv) -> Stream:
    stream = get_stream(client.db, argv[2])
    if stream is None:
        raise NO_SUCH_KEY
    return stream


def _lag_fields(stream: Stream, group: ConsumerGroup) -> dict:
    return {"entries-read": group.entries_read, "lag": stream.lag(group)}


@subcommand("xinfo", "groups", arity=3, flags="readonly", keys=(2, 2, 1), since="5.0.0",
            summary="List the consumer groups of a stream", complexity="O(1)", syntax="key")
def xinfo_groups(client, argv):
    stream = _info_stream(client, argv)
    return [{"name": name, "consumers": len(group.consumers), "pending": group.pending.length,
             "last-delivered-id": format_id(group.last_id), **_lag_fields(stream, group)}
            for name, group in sorted(stream.groups.items())]


@subcommand("xinfo", "consumers", arity=4, flags="readonly", keys=(2, 2, 1), since="5.0.0",
            summary="List the consumers in a consumer group", complexity="O(1)",
            syntax="key group")
def xinfo_consumers(client, argv):
    stream = _info_stream(client, argv)
    group = stream.groups.get(argv[3])
    if group is None:
        raise _no_such_group(argv[2], argv[3])
    now = now_ms()
    return [{"name": name, "pending": consumer.pending.length,
             "idle": max(now - consumer.seen_time, 0),
             "inactive": now - consumer.active_time if consumer.active_time != -1 else -1}
            for name, consumer in sorted(group.consumers.items())]


@subcommand("xinfo", "stream", arity=-3, flags="readonly", keys=(2, 2, 1), since="5.0.0",
            summary="Get information about a stream", complexity="O(1)",
            syntax="key [full-block: FULL [COUNT count]]")
def xinfo_stream(client, argv):
    stream = _info_stream(client, argv)
    full, count = len(argv) > 3, 10
    if (len(argv) not in (3, 4, 6) or (full and argv[3].upper() != b"FULL")
            or (len(argv) == 6 and argv[4].upper() != b"COUNT")):
        raise subcommand_syntax_error(argv)
    if len(argv) == 6:
        count = parse_int(argv[5])
        if count < 0:
            count = 10
    entries = stream.entries
    info = {
        "length": stream.length,
        # Our blocks stand where Redis has radix tree keys (listpack nodes).
        "radix-tree-keys": entries.block_count(),
        "radix-tree-nodes": entries.block_count() + 1,
        "last-generated-id": format_id(stream.last_id),
        "max-deleted-entry-id": format_id(stream.max_deleted_id),
        "entries-added": stream.entries_added,
        "recorded-first-entry-id": format_id(stream.first_id),
    }
    if not full:
        info["groups"] = len(stream.groups)
        first, last = entries.first(), entries.last()
        info["first-entry"] = Encoded(first) if first is not None else None
        info["last-entry"] = Encoded(last) if last is not None else None
        return info
    limit = count or None
    info["entries"] = _entries([entry for _, entry in islice(entries.items(), limit)])
    info["groups"] = [_full_group(stream, group, limit)
                      for _, group in sorted(stream.groups.items())]
    return info


def _full_group(stream: Stream, group: ConsumerGroup, limit: int | None) -> dict:
    return {
        "name": group.name,
        "last-delivered-id": format_id(group.last_id),
        **_lag_fields(stream, group),
        "pel-count": group.pending.length,
        "pending": [[format_id(stream_id), nack.consumer.name, nack.delivery_time,
                     nack.delivery_count]
                    for stream_id, nack in islice(group.pending.items(), limit)],
        "consumers": [{
            "name": name,
            "seen-time": consumer.seen_time,
            "active-time": consumer.active_time,
            "pel-count": consumer.pending.length,
            "pending": [[format_id(stream_id), nack.delivery_time, nack.delivery_count]
                        for stream_id, nack in islice(consumer.pending.items(), limit)],
        } for name, consumer in sorted(group.consumers.items())],
    }
