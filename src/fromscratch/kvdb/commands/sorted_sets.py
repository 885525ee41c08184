"""Sorted set commands: ZADD and friends, ranges, pops (blocking too), set operations.

A sorted set value is a `SortedSet` (structures/sortedset.py): a dict member -> score
and a ranked B+ tree in (score, member) order. Every range, whether by rank, score or lex,
becomes a window of ranks [start, stop) before anything is read or removed.

Scores are doubles. Replies carry them as Python floats, which the writer sends as
RESP3 doubles or RESP2 bulk strings. Replies "WITHSCORES" differ by protocol, as in
Redis: RESP3 gets [member, score] pairs, RESP2 one flat array.
"""

from __future__ import annotations

from ...resp import NULL_ARRAY, ErrorReply, format_double
from ..blocking import parse_timeout
from ..cursors import parse_cursor
from ..keyspace import WRONGTYPE
from ..notifications import GENERIC, ZSET
from ..structures.randomset import RandomSet
from ..structures.sortedset import LEX_MAX, LEX_MIN, SortedSet
from ..table import command
from .args import (INT64_MAX, SYNTAX, count_arg, parse_float, parse_int, positive_count,
                   random_count, repeats_fit, strtod)
from .keys import encoding_of, scan_options
from .sets import parse_limit


NOT_A_SCORE_RANGE = ErrorReply("ERR min or max is not a float")
NOT_A_LEX_RANGE = ErrorReply("ERR min or max not valid string range item")
NAN_SCORE = ErrorReply("ERR resulting score is not a number (NaN)")


def get_zset(db, key: bytes) -> SortedSet | None:
    return db.get_typed(key, SortedSet)


def with_scores(client, pairs: list) -> list:
    """(member, score) pairs as a reply: the pairs themselves in RESP3, flat in RESP2."""
    if client.resp == 3:
        return pairs
    return [item for pair in pairs for item in pair]


def store(client, argv, destination: bytes, scores: dict, event: str | None = None) -> int:
    """The *STORE commands: `scores` becomes the destination, replacing whatever was
    there; an empty result deletes it. The event is the command's name unless given
    (GEORADIUS ... STORE reports georadiusstore)."""
    db = client.db
    if not scores:
        if db.delete(destination):
            db.notify(GENERIC, "del", destination)
        return 0
    db.set(destination, SortedSet.from_scores(scores))
    db.notify(ZSET, event or argv[0].decode().lower(), destination)    # zunionstore...
    return len(scores)


def pop(db, key: bytes, zset: SortedSet, count: int, highest: bool) -> list:
    pairs = zset.pop(count, highest)
    db.removed(key, zset, ZSET, "zpopmax" if highest else "zpopmin", len(pairs))
    return pairs


# -- ranges as the client writes them -----------------------------------------------------

BY_RANK, BY_SCORE, BY_LEX = "rank", "score", "lex"


def parse_score_bound(arg: bytes) -> tuple[float, bool]:
    """`1.5`, `(1.5` (exclusive), `-inf`, `+inf`... read with C's strtod, as Redis does
    here (unlike for ZADD's scores, leading spaces and out-of-range numbers pass)."""
    exclusive = arg[:1] == b"("
    text = arg[1:] if exclusive else arg
    if not text:
        return 0.0, exclusive                # strtod reads nothing and Redis lets it be
    try:
        value = strtod(text.lstrip())
    except (ValueError, OverflowError):
        raise NOT_A_SCORE_RANGE from None
    if value != value:
        raise NOT_A_SCORE_RANGE
    return value, exclusive


def parse_lex_bound(arg: bytes) -> tuple:
    """`[member` (inclusive), `(member` (exclusive), `-` or `+`."""
    if arg == b"-":
        return LEX_MIN, False
    if arg == b"+":
        return LEX_MAX, False
    if arg[:1] == b"[":
        return arg[1:], False
    if arg[:1] == b"(":
        return arg[1:], True
    raise NOT_A_LEX_RANGE


def parse_range(by: str, low: bytes, high: bytes) -> tuple:
    """min and max as each kind of range reads them: indexes, score or lex bounds."""
    if by == BY_RANK:
        return parse_int(low), parse_int(high)
    if by == BY_SCORE:
        return parse_score_bound(low), parse_score_bound(high)
    return parse_lex_bound(low), parse_lex_bound(high)


def window(zset: SortedSet, by: str, low, high) -> tuple[int, int]:
    """The ranks [start, stop) that a parsed range covers in `zset`."""
    if by == BY_RANK:
        return rank_window(low, high, len(zset))
    if by == BY_SCORE:
        return zset.score_window(low, high)
    return zset.lex_window(low, high)


def rank_window(start: int, end: int, size: int) -> tuple[int, int]:
    """Redis's index range (inclusive, negative counts from the end) as [start, stop)."""
    if start < 0:
        start = max(size + start, 0)
    if end < 0:
        end += size
    end = min(end, size - 1)
    return (start, end + 1) if start <= end else (0, 0)


# -- adding, scoring, removing ---------------------------------------------------------------

_ZADD_OPTIONS = frozenset((b"NX", b"XX", b"GT", b"LT", b"CH", b"INCR"))


def zadd_generic(client, argv, incr: bool = False):
    """ZADD, and ZINCRBY as ZADD key INCR increment member (options are read the same
    way, as Redis does)."""
    options = set()
    pos = 2
    while pos < len(argv):
        option = argv[pos].upper()
        if option not in _ZADD_OPTIONS:
            break
        options.add(option)
        pos += 1
    pairs = argv[pos:]
    if not pairs or len(pairs) % 2:
        raise SYNTAX
    nx, xx, gt, lt = b"NX" in options, b"XX" in options, b"GT" in options, b"LT" in options
    incr = incr or b"INCR" in options
    if nx and xx:
        raise ErrorReply("ERR XX and NX options at the same time are not compatible")
    if (gt or lt) and nx or gt and lt:
        raise ErrorReply("ERR GT, LT, and/or NX options at the same time are not compatible")
    if incr and len(pairs) > 2:
        raise ErrorReply("ERR INCR option supports a single increment-element pair")
    # Every score is read before anything changes: the command does all or nothing.
    scores = list(map(parse_float, pairs[0::2]))

    db, key = client.db, argv[1]
    zset = db.get_for_write(key, SortedSet)
    if zset is None:
        if xx:
            return None if incr else 0
        zset = SortedSet()
        db.add(key, zset)
    added = updated = 0
    processed = False                      # INCR: whether the member was touched at all
    for score, member in zip(scores, pairs[1::2]):
        current = zset.scores.get(member)
        if current is None:
            if xx:
                continue
            zset.insert(member, score)
            added += 1
        else:
            if nx:
                continue
            if incr:
                score += current
                if score != score:
                    raise NAN_SCORE
            if (lt and score >= current) or (gt and score <= current):
                continue
            if score != current:
                zset.update(member, score)
                updated += 1
        processed = True
    if added or updated:
        db.updated(key, ZSET, "zincr" if incr else "zadd", added + updated)
    if incr:
        return score if processed else None
    return added + updated if b"CH" in options else added


@command("zadd", arity=-4, flags="write denyoom fast", keys=(1, 1, 1), group="sorted-set",
         since="1.2.0", summary="Adds one or more members to a sorted set, or updates their "
                                "scores. Creates the key if it doesn't exist.",
         complexity="O(log(N)) for each item added, where N is the number of elements in "
                    "the sorted set.",
         syntax="key [condition: NX | XX] [comparison: GT | LT] [CH] [INCR] "
                "(data: score member)...")
def zadd(client, argv):
    if len(argv) == 4 and argv[2].upper() not in _ZADD_OPTIONS:
        return _zadd_one(client, argv[1], parse_float(argv[2]), argv[3])
    return zadd_generic(client, argv)


def _zadd_one(client, key: bytes, score: float, member: bytes) -> int:
    """The plain ZADD key score member, kept short: it is hot."""
    db = client.db
    zset = db.get_or_create(key, SortedSet)
    current = zset.scores.get(member)
    if current is None:
        zset.insert(member, score)
    elif score != current:
        zset.update(member, score)
    else:
        return 0
    db.updated(key, ZSET, "zadd")
    return 1 if current is None else 0


@command("zincrby", arity=4, flags="write denyoom fast", keys=(1, 1, 1), group="sorted-set",
         since="1.2.0", summary="Increments the score of a member in a sorted set.",
         complexity="O(log(N)) where N is the number of elements in the sorted set.",
         syntax="key increment:double member")
def zincrby(client, argv):
    return zadd_generic(client, argv, incr=True)


@command("zrem", arity=-3, flags="write fast", keys=(1, 1, 1), group="sorted-set",
         since="1.2.0", summary="Removes one or more members from a sorted set. Deletes the "
                                "sorted set if all members were removed.",
         complexity="O(M*log(N)) with N being the number of elements in the sorted set and "
                    "M the number of elements to be removed.", syntax="key member...")
def zrem(client, argv):
    db, key = client.db, argv[1]
    zset = db.get_for_write(key, SortedSet)
    if zset is None:
        return 0
    removed = sum(zset.remove(member) for member in argv[2:])
    if removed:
        db.removed(key, zset, ZSET, "zrem", removed)
    return removed


@command("zscore", arity=3, flags="readonly fast", keys=(1, 1, 1), group="sorted-set",
         since="1.2.0", summary="Returns the score of a member in a sorted set.",
         complexity="O(1)", syntax="key member")
def zscore(client, argv):
    zset = get_zset(client.db, argv[1])
    return zset.scores.get(argv[2]) if zset is not None else None


@command("zmscore", arity=-3, flags="readonly fast", keys=(1, 1, 1), group="sorted-set",
         since="6.2.0", summary="Returns the score of one or more members in a sorted set.",
         complexity="O(N) where N is the number of members being requested.",
         syntax="key member...")
def zmscore(client, argv):
    zset = get_zset(client.db, argv[1])
    scores = zset.scores if zset is not None else {}
    return [scores.get(member) for member in argv[2:]]


@command("zcard", arity=2, flags="readonly fast", keys=(1, 1, 1), group="sorted-set",
         since="1.2.0", summary="Returns the number of members in a sorted set.",
         complexity="O(1)", syntax="key")
def zcard(client, argv):
    zset = get_zset(client.db, argv[1])
    return len(zset) if zset is not None else 0


@command("zcount", arity=4, flags="readonly fast", keys=(1, 1, 1), group="sorted-set",
         since="2.0.0", summary="Returns the count of members in a sorted set that have "
                                "scores within a range.",
         complexity="O(log(N)) with N being the number of elements in the sorted set.",
         syntax="key min max")
def zcount(client, argv):
    return _count(client, argv, BY_SCORE)


@command("zlexcount", arity=4, flags="readonly fast", keys=(1, 1, 1), group="sorted-set",
         since="2.8.9", summary="Returns the number of members in a sorted set within a "
                                "lexicographical range.",
         complexity="O(log(N)) with N being the number of elements in the sorted set.",
         syntax="key min:string max:string")
def zlexcount(client, argv):
    return _count(client, argv, BY_LEX)


def _count(client, argv, by: str) -> int:
    low, high = parse_range(by, argv[2], argv[3])
    zset = get_zset(client.db, argv[1])
    if zset is None:
        return 0
    start, stop = window(zset, by, low, high)
    return stop - start


def _zrank(client, argv, reverse: bool):
    if len(argv) > 4:
        raise ErrorReply(f"ERR wrong number of arguments for '{argv[0].decode().lower()}' "
                         "command")
    with_score = len(argv) == 4
    if with_score and argv[3].upper() != b"WITHSCORE":
        raise SYNTAX
    zset = get_zset(client.db, argv[1])
    rank = zset.rank(argv[2], reverse) if zset is not None else None
    if rank is None:
        return NULL_ARRAY if with_score else None
    return [rank, zset.scores[argv[2]]] if with_score else rank


@command("zrank", arity=-3, flags="readonly fast", keys=(1, 1, 1), group="sorted-set",
         since="2.0.0", summary="Returns the index of a member in a sorted set ordered by "
                                "ascending scores.",
         complexity="O(log(N))", syntax="key member [WITHSCORE]")
def zrank(client, argv):
    return _zrank(client, argv, reverse=False)


@command("zrevrank", arity=-3, flags="readonly fast", keys=(1, 1, 1), group="sorted-set",
         since="2.0.0", summary="Returns the index of a member in a sorted set ordered by "
                                "descending scores.",
         complexity="O(log(N))", syntax="key member [WITHSCORE]")
def zrevrank(client, argv):
    return _zrank(client, argv, reverse=True)


# -- ZRANGE and its older forms ---------------------------------------------------------------


def zrange_generic(client, argv, first: int, by=None, reverse=None, destination=None):
    """ZRANGE, ZRANGESTORE, ZREVRANGE, Z[REV]RANGEBYSCORE, Z[REV]RANGEBYLEX.

    `first` is where the key is in argv (min and max follow); `by` and `reverse` are
    fixed by the older commands and left None for ZRANGE[STORE] to read from options.
    """
    scores_too = False
    offset, limit = 0, -1                     # -1: no limit (also if given, as in Redis)
    pos = first + 3
    while pos < len(argv):
        word = argv[pos].upper()
        if word == b"WITHSCORES" and destination is None:
            scores_too = True
        elif word == b"LIMIT" and pos + 2 < len(argv):
            offset, limit = parse_int(argv[pos + 1]), parse_int(argv[pos + 2])
            pos += 2
        elif word == b"REV" and reverse is None:
            reverse = True
        elif word == b"BYSCORE" and by is None:
            by = BY_SCORE
        elif word == b"BYLEX" and by is None:
            by = BY_LEX
        else:
            raise SYNTAX
        pos += 1
    by = by or BY_RANK
    reverse = bool(reverse)
    if limit != -1 and by == BY_RANK:
        raise ErrorReply("ERR syntax error, LIMIT is only supported in combination with "
                         "either BYSCORE or BYLEX")
    if scores_too and by == BY_LEX:
        raise ErrorReply("ERR syntax error, WITHSCORES not supported in combination with "
                         "BYLEX")
    low, high = argv[first + 1], argv[first + 2]
    if reverse and by != BY_RANK:
        low, high = high, low                 # given as max min
    low, high = parse_range(by, low, high)

    zset = get_zset(client.db, argv[first])
    pairs = [] if zset is None else _range(zset, by, low, high, reverse, offset, limit)
    if destination is not None:
        return store(client, argv, destination, dict(pairs))
    return with_scores(client, pairs) if scores_too else [member for member, _ in pairs]


def _range(zset, by, low, high, reverse: bool, offset: int, limit: int) -> list:
    start, stop = window(zset, by, low, high)
    if by == BY_RANK:
        if reverse:                           # the indexes count from the highest
            start, stop = len(zset) - stop, len(zset) - start
        return zset.slice(start, stop, reverse)
    if offset < 0:
        return []
    # LIMIT skips `offset` members from the end we start at, then takes `limit` (< 0: all).
    if reverse:
        stop -= offset
        if limit >= 0:
            start = max(start, stop - limit)
    else:
        start += offset
        if limit >= 0:
            stop = min(stop, start + limit)
    return zset.slice(start, stop, reverse)


@command("zrange", arity=-4, flags="readonly", keys=(1, 1, 1), group="sorted-set",
         since="1.2.0", summary="Returns members in a sorted set within a range of indexes.",
         complexity="O(log(N)+M) with N being the number of elements in the sorted set and "
                    "M the number of elements returned.",
         syntax="key start:string stop:string [sortby: BYSCORE | BYLEX] [REV] "
                "[limit: LIMIT offset count] [WITHSCORES]")
def zrange(client, argv):
    return zrange_generic(client, argv, 1)


@command("zrangestore", arity=-5, flags="write denyoom", keys=(1, 2, 1), group="sorted-set",
         since="6.2.0", summary="Stores a range of members from sorted set in a key.",
         complexity="O(log(N)+M) with N being the number of elements in the sorted set and "
                    "M the number of elements stored into the destination key.",
         syntax="dst:key src:key min:string max:string [sortby: BYSCORE | BYLEX] [REV] "
                "[limit: LIMIT offset count]")
def zrangestore(client, argv):
    return zrange_generic(client, argv, 2, destination=argv[1])


@command("zrevrange", arity=-4, flags="readonly", keys=(1, 1, 1), group="sorted-set",
         since="1.2.0", summary="Returns members in a sorted set within a range of indexes "
                                "in reverse order.",
         complexity="O(log(N)+M) with N being the number of elements in the sorted set and "
                    "M the number of elements returned.",
         syntax="key start stop [WITHSCORES]")
def zrevrange(client, argv):
    return zrange_generic(client, argv, 1, by=BY_RANK, reverse=True)


@command("zrangebyscore", arity=-4, flags="readonly", keys=(1, 1, 1), group="sorted-set",
         since="1.0.5", summary="Returns members in a sorted set within a range of scores.",
         complexity="O(log(N)+M) with N being the number of elements in the sorted set and "
                    "M the number of elements being returned.",
         syntax="key min max [WITHSCORES] [limit: LIMIT offset count]")
def zrangebyscore(client, argv):
    return zrange_generic(client, argv, 1, by=BY_SCORE, reverse=False)


@command("zrevrangebyscore", arity=-4, flags="readonly", keys=(1, 1, 1), group="sorted-set",
         since="2.2.0", summary="Returns members in a sorted set within a range of scores "
                                "in reverse order.",
         complexity="O(log(N)+M) with N being the number of elements in the sorted set and "
                    "M the number of elements being returned.",
         syntax="key max min [WITHSCORES] [limit: LIMIT offset count]")
def zrevrangebyscore(client, argv):
    return zrange_generic(client, argv, 1, by=BY_SCORE, reverse=True)


@command("zrangebylex", arity=-4, flags="readonly", keys=(1, 1, 1), group="sorted-set",
         since="2.8.9", summary="Returns members in a sorted set within a lexicographical "
                                "range.",
         complexity="O(log(N)+M) with N being the number of elements in the sorted set and "
                    "M the number of elements being returned.",
         syntax="key min:string max:string [limit: LIMIT offset count]")
def zrangebylex(client, argv):
    return zrange_generic(client, argv, 1, by=BY_LEX, reverse=False)


@command("zrevrangebylex", arity=-4, flags="readonly", keys=(1, 1, 1), group="sorted-set",
         since="2.8.9", summary="Returns members in a sorted set within a lexicographical "
                                "range in reverse order.",
         complexity="O(log(N)+M) with N being the number of elements in the sorted set and "
                    "M the number of elements being returned.",
         syntax="key max:string min:string [limit: LIMIT offset count]")
def zrevrangebylex(client, argv):
    return zrange_generic(client, argv, 1, by=BY_LEX, reverse=True)


# -- removing ranges --------------------------------------------------------------------------

def _remove_range(client, argv, by: str) -> int:
    low, high = parse_range(by, argv[2], argv[3])
    db, key = client.db, argv[1]
    zset = db.get_for_write(key, SortedSet)
    if zset is None:
        return 0
    removed = len(zset.delete_slice(*window(zset, by, low, high)))
    if removed:
        db.removed(key, zset, ZSET, argv[0].decode().lower(), removed)   # zremrangebyscore...
    return removed


@command("zremrangebyscore", arity=4, flags="write", keys=(1, 1, 1), group="sorted-set",
         since="1.2.0", summary="Removes members in a sorted set within a range of scores. "
                                "Deletes the sorted set if all members were removed.",
         complexity="O(log(N)+M) with N being the number of elements in the sorted set and "
                    "M the number of elements removed by the operation.",
         syntax="key min max")
def zremrangebyscore(client, argv):
    return _remove_range(client, argv, BY_SCORE)


@command("zremrangebyrank", arity=4, flags="write", keys=(1, 1, 1), group="sorted-set",
         since="2.0.0", summary="Removes members in a sorted set within a range of indexes. "
                                "Deletes the sorted set if all members were removed.",
         complexity="O(log(N)+M) with N being the number of elements in the sorted set and "
                    "M the number of elements removed by the operation.",
         syntax="key start stop")
def zremrangebyrank(client, argv):
    return _remove_range(client, argv, BY_RANK)


@command("zremrangebylex", arity=4, flags="write", keys=(1, 1, 1), group="sorted-set",
         since="2.8.9", summary="Removes members in a sorted set within a lexicographical "
                                "range. Deletes the sorted set if all members were removed.",
         complexity="O(log(N)+M) with N being the number of elements in the sorted set and "
                    "M the number of elements removed by the operation.",
         syntax="key min:string max:string")
def zremrangebylex(client, argv):
    return _remove_range(client, argv, BY_LEX)


# -- popping, and waiting to pop ----------------------------------------------------------------

def _first_zset(client, keys):
    """(key, sorted set) for the first of `keys` holding one, or None. Types are checked
    in order, so a key of another type before it is an error, as in Redis.

    A blocked client re-runs its command whenever one of its keys changes. Redis only
    wakes it when a sorted set appears, so a re-run that finds none keeps waiting rather
    than answering WRONGTYPE for, say, a string SET meanwhile."""
    db = client.db
    for key in keys:
        entry = db.entry(key)
        if entry is None:
            continue
        if type(entry.value) is SortedSet:
            return key, entry.value
        if client.retrying and not any(_holds_zset(db, other) for other in keys):
            return None
        raise WRONGTYPE
    return None


def _holds_zset(db, key: bytes) -> bool:
    entry = db.entry(key, touch=False)
    return entry is not None and type(entry.value) is SortedSet


def _zpop(client, argv, highest: bool):
    if len(argv) > 3:
        raise SYNTAX
    count = count_arg(argv[2]) if len(argv) == 3 else None
    db, key = client.db, argv[1]
    zset = db.get_for_write(key, SortedSet)
    if zset is None or count == 0:
        return []
    pairs = pop(db, key, zset, count or 1, highest)
    if count is None:
        return list(pairs[0])                 # a single pop is flat in RESP3 too
    return with_scores(client, pairs)


@command("zpopmin", arity=-2, flags="write fast", keys=(1, 1, 1), group="sorted-set",
         since="5.0.0", summary="Returns the lowest-scoring members from a sorted set after "
                                "removing them. Deletes the sorted set if the last member "
                                "was popped.",
         complexity="O(log(N)*M) with N being the number of elements in the sorted set, and "
                    "M being the number of elements popped.", syntax="key [count]")
def zpopmin(client, argv):
    return _zpop(client, argv, highest=False)


@command("zpopmax", arity=-2, flags="write fast", keys=(1, 1, 1), group="sorted-set",
         since="5.0.0", summary="Returns the highest-scoring members from a sorted set after "
                                "removing them. Deletes the sorted set if the last member "
                                "was popped.",
         complexity="O(log(N)*M) with N being the number of elements in the sorted set, and "
                    "M being the number of elements popped.", syntax="key [count]")
def zpopmax(client, argv):
    return _zpop(client, argv, highest=True)


def _bzpop(client, argv, highest: bool):
    timeout = parse_timeout(argv[-1])
    keys = argv[1:-1]
    found = _first_zset(client, keys)
    if found is None:
        return client.kv.blocking.block(client, argv, keys, timeout, NULL_ARRAY)
    key, zset = found
    [(member, score)] = pop(client.db, key, zset, 1, highest)
    return [key, member, score]


@command("bzpopmin", arity=-3, flags="write noscript blocking fast", keys=(1, -2, 1),
         group="sorted-set", since="5.0.0",
         summary="Removes and returns the member with the lowest score from one or more "
                 "sorted sets. Blocks until a member is available otherwise. Deletes the "
                 "sorted set if the last element was popped.",
         complexity="O(log(N)) with N being the number of elements in the sorted set.",
         syntax="key... timeout")
def bzpopmin(client, argv):
    return _bzpop(client, argv, highest=False)


@command("bzpopmax", arity=-3, flags="write noscript blocking fast", keys=(1, -2, 1),
         group="sorted-set", since="5.0.0",
         summary="Removes and returns the member with the highest score from one or more "
                 "sorted sets. Blocks until a member is available otherwise. Deletes the "
                 "sorted set if the last element was popped.",
         complexity="O(log(N)) with N being the number of elements in the sorted set.",
         syntax="key... timeout")
def bzpopmax(client, argv):
    return _bzpop(client, argv, highest=True)


def _mpop_arguments(argv: list, numkeys_index: int) -> tuple[list, bool, int]:
    """numkeys key... MIN|MAX [COUNT count] -> (keys, highest, count)."""
    numkeys = positive_count(argv[numkeys_index], "ERR numkeys should be greater than 0")
    where_index = numkeys_index + numkeys + 1
    if where_index >= len(argv) or argv[where_index].upper() not in (b"MIN", b"MAX"):
        raise SYNTAX
    count = None
    pos = where_index + 1
    while pos < len(argv):
        if count is None and argv[pos].upper() == b"COUNT" and pos + 1 < len(argv):
            count = positive_count(argv[pos + 1], "ERR count should be greater than 0")
            pos += 2
        else:
            raise SYNTAX
    keys = argv[numkeys_index + 1:where_index]
    return keys, argv[where_index].upper() == b"MAX", count or 1


@command("zmpop", numkeys_at=1, arity=-4, flags="write movablekeys", group="sorted-set", since="7.0.0",
         summary="Returns the highest- or lowest-scoring members from one or more sorted sets "
                 "after removing them. Deletes the sorted set if the last member was popped.",
         complexity="O(K) + O(M*log(N)) where K is the number of provided keys, N being the "
                    "number of elements in the sorted set, and M being the number of elements "
                    "popped.", syntax="numkeys key... (where: MIN | MAX) [COUNT count]")
def zmpop(client, argv):
    keys, highest, count = _mpop_arguments(argv, 1)
    found = _first_zset(client, keys)
    if found is None:
        return NULL_ARRAY
    key, zset = found
    return [key, pop(client.db, key, zset, count, highest)]


@command("bzmpop", numkeys_at=2, arity=-5, flags="write blocking movablekeys", group="sorted-set",
         since="7.0.0", summary="Removes and returns a member by score from one or more "
                                "sorted sets. Blocks until a member is available otherwise. "
                                "Deletes the sorted set if the last element was popped.",
         complexity="O(K) + O(M*log(N)) where K is the number of provided keys, N being the "
                    "number of elements in the sorted set, and M being the number of elements "
                    "popped.", syntax="timeout numkeys key... (where: MIN | MAX) [COUNT count]")
def bzmpop(client, argv):
    timeout = parse_timeout(argv[1])
    keys, highest, count = _mpop_arguments(argv, 2)
    found = _first_zset(client, keys)
    if found is None:
        return client.kv.blocking.block(client, argv, keys, timeout, NULL_ARRAY)
    key, zset = found
    return [key, pop(client.db, key, zset, count, highest)]


# -- random members and iteration -------------------------------------------------------------

@command("zrandmember", arity=-2, flags="readonly", keys=(1, 1, 1), group="sorted-set",
         since="6.2.0", summary="Returns one or more random members from a sorted set.",
         complexity="O(N) where N is the number of members returned",
         syntax="key [options: count [WITHSCORES]]")
def zrandmember(client, argv):
    if len(argv) == 2:
        zset = get_zset(client.db, argv[1])
        return zset.random_items(1, distinct=True)[0][0] if zset is not None else None
    count = random_count(argv[2])
    if len(argv) > 4 or (len(argv) == 4 and argv[3].upper() != b"WITHSCORES"):
        raise SYNTAX
    scores_too = len(argv) == 4
    if scores_too and abs(count) > INT64_MAX // 2:
        raise ErrorReply("ERR value is out of range")   # the reply would be twice as long
    zset = get_zset(client.db, argv[1])
    if zset is None or count == 0:
        return []
    if count >= len(zset):
        pairs = list(zset.items())            # all of them, in order, as Redis answers
    elif count > 0:
        pairs = zset.random_items(count, distinct=True)
    elif repeats_fit(client, -count):
        pairs = zset.random_items(-count, distinct=False)
    else:
        return []
    return with_scores(client, pairs) if scores_too else [member for member, _ in pairs]


@command("zscan", arity=-3, flags="readonly", keys=(1, 1, 1), group="sorted-set",
         since="2.8.0", summary="Iterates over members and scores of a sorted set.",
         complexity="O(1) for every call. O(N) for a complete iteration, including enough "
                    "command calls for the cursor to return back to 0. N is the number of "
                    "elements inside the collection.",
         syntax="key cursor:integer [MATCH pattern] [COUNT count]")
def zscan(client, argv):
    cursor = parse_cursor(argv[2])
    db, key = client.db, argv[1]
    zset = get_zset(db, key)
    if zset is None:
        return [b"0", []]
    match, count, _ = scan_options(argv, 3)
    if encoding_of(zset, client.kv.config) == "listpack":
        # Redis answers a sorted set this small whole, in one call, whatever the
        # cursor, in its listpack's order: by score (clients such as walrus rely on it).
        next_cursor, candidates = 0, zset.members()
    else:
        next_cursor, candidates = client.kv.cursors.page(
            ("zset", db.index, key), zset.scores.keys, cursor, count)
    found = []
    for member in candidates:
        score = zset.scores.get(member)
        if score is not None and (match is None or match(member) is not None):
            found += (member, format_double(score))     # scores as text, in RESP3 too
    return [b"%d" % next_cursor, found]


# -- union, intersection, difference -------------------------------------------------------------

UNION, INTER, DIFF = "union", "inter", "diff"


def _inputs(db, keys) -> list:
    """The values at `keys`: sorted sets, or sets (whose members score 1), or None."""
    values = []
    for key in keys:
        value = db.get(key)
        if value is not None and type(value) is not SortedSet and type(value) is not RandomSet:
            raise WRONGTYPE
        values.append(value)
    return values


def _scored_items(value):
    if type(value) is SortedSet:
        return value.scores.items()
    return ((member, 1.0) for member in value)


def _score_in(value, member):
    if type(value) is SortedSet:
        return value.scores.get(member)
    return 1.0 if member in value else None


def _weighted(weight: float, score: float) -> float:
    product = weight * score
    return 0.0 if product != product else product        # 0 * inf counts as 0


def _sum(a: float, b: float) -> float:
    total = a + b
    return 0.0 if total != total else total              # inf + -inf counts as 0


AGGREGATES = {b"SUM": _sum, b"MIN": min, b"MAX": max}


def setop_generic(client, argv, operation: str, numkeys_index: int, destination=None,
                  cardinality: bool = False):
    """Z{UNION,INTER,DIFF}[STORE] and ZINTERCARD: numkeys key... then options."""
    name = argv[0].decode("utf-8", "replace").lower()
    numkeys = parse_int(argv[numkeys_index])
    if numkeys < 1:
        raise ErrorReply(f"ERR at least 1 input key is needed for '{name}' command")
    if numkeys > len(argv) - numkeys_index - 1:
        raise SYNTAX
    first_option = numkeys_index + 1 + numkeys
    inputs = _inputs(client.db, argv[numkeys_index + 1:first_option])
    if cardinality:
        limit = parse_limit(argv, first_option)
        count = len(_intersection(inputs, [1.0] * numkeys, _sum))
        return min(count, limit) if limit else count

    weights, aggregate, scores_too = [1.0] * numkeys, _sum, False
    pos = first_option
    while pos < len(argv):
        word = argv[pos].upper()
        left = len(argv) - pos - 1
        if word == b"WEIGHTS" and operation != DIFF and left >= numkeys:
            weights = [parse_float(arg, ErrorReply("ERR weight value is not a float"))
                       for arg in argv[pos + 1:pos + 1 + numkeys]]
            pos += 1 + numkeys
        elif word == b"AGGREGATE" and operation != DIFF and left >= 1:
            aggregate = AGGREGATES.get(argv[pos + 1].upper())
            if aggregate is None:
                raise SYNTAX
            pos += 2
        elif word == b"WITHSCORES" and destination is None:
            scores_too = True
            pos += 1
        else:
            raise SYNTAX

    if operation == UNION:
        result = _union(inputs, weights, aggregate)
    elif operation == INTER:
        result = _intersection(inputs, weights, aggregate)
    else:
        result = _difference(inputs)
    if destination is not None:
        return store(client, argv, destination, result)
    pairs = sorted(result.items(), key=lambda pair: (pair[1], pair[0]))
    return with_scores(client, pairs) if scores_too else [member for member, _ in pairs]


def _by_size(inputs, weights):
    """(value, weight) pairs, smallest value first, as Redis orders its inputs."""
    return sorted(zip(inputs, weights), key=lambda pair: len(pair[0] or ()))


def _union(inputs, weights, aggregate) -> dict:
    result = {}
    for value, weight in _by_size(inputs, weights):
        if value is None:
            continue
        for member, score in _scored_items(value):
            score = _weighted(weight, score)
            current = result.get(member)
            result[member] = score if current is None else aggregate(current, score)
    return result


def _intersection(inputs, weights, aggregate) -> dict:
    """Members in every input, walking the smallest and looking each up in the others."""
    if any(value is None for value in inputs):
        return {}
    (smallest, first_weight), *others = _by_size(inputs, weights)
    result = {}
    for member, score in _scored_items(smallest):
        total = _weighted(first_weight, score)
        for value, weight in others:
            other = _score_in(value, member)
            if other is None:
                break
            # As Redis: only the first product is taken as 0 when NaN (0 * inf); the
            # others go to the aggregate as they are (a NaN SUM is 0, MIN/MAX skip NaN).
            total = aggregate(total, weight * other)
        else:
            result[member] = total
    return result


def _difference(inputs) -> dict:
    first, others = inputs[0], [value for value in inputs[1:] if value is not None]
    if first is None:
        return {}
    return {member: score for member, score in _scored_items(first)
            if not any(member in other for other in others)}


_SETOP_OPTIONS = "[WEIGHTS weight...] [AGGREGATE (aggregate: SUM | MIN | MAX)]"


@command("zunion", numkeys_at=1, arity=-3, flags="readonly movablekeys", group="sorted-set", since="6.2.0",
         summary="Returns the union of multiple sorted sets.",
         complexity="O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted "
                    "sets, and M being the number of elements in the resulting sorted set.",
         syntax=f"numkeys key... {_SETOP_OPTIONS} [WITHSCORES]")
def zunion(client, argv):
    return setop_generic(client, argv, UNION, 1)


@command("zinter", numkeys_at=1, arity=-3, flags="readonly movablekeys", group="sorted-set", since="6.2.0",
         summary="Returns the intersect of multiple sorted sets.",
         complexity="O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted "
                    "set, K being the number of input sorted sets and M being the number of "
                    "elements in the resulting sorted set.",
         syntax=f"numkeys key... {_SETOP_OPTIONS} [WITHSCORES]")
def zinter(client, argv):
    return setop_generic(client, argv, INTER, 1)


@command("zdiff", numkeys_at=1, arity=-3, flags="readonly movablekeys", group="sorted-set", since="6.2.0",
         summary="Returns the difference between multiple sorted sets.",
         complexity="O(L + (N-K)log(N)) worst case where L is the total number of elements "
                    "in all the sets, N is the size of the first set, and K is the size of "
                    "the result set.", syntax="numkeys key... [WITHSCORES]")
def zdiff(client, argv):
    return setop_generic(client, argv, DIFF, 1)


@command("zunionstore", numkeys_at=2, arity=-4, flags="write denyoom movablekeys", keys=(1, 1, 1),
         group="sorted-set", since="2.0.0",
         summary="Stores the union of multiple sorted sets in a key.",
         complexity="O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted "
                    "sets, and M being the number of elements in the resulting sorted set.",
         syntax=f"destination numkeys key... {_SETOP_OPTIONS}")
def zunionstore(client, argv):
    return setop_generic(client, argv, UNION, 2, destination=argv[1])


@command("zinterstore", numkeys_at=2, arity=-4, flags="write denyoom movablekeys", keys=(1, 1, 1),
         group="sorted-set", since="2.0.0",
         summary="Stores the intersect of multiple sorted sets in a key.",
         complexity="O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted "
                    "set, K being the number of input sorted sets and M being the number of "
                    "elements in the resulting sorted set.",
         syntax=f"destination numkeys key... {_SETOP_OPTIONS}")
def zinterstore(client, argv):
    return setop_generic(client, argv, INTER, 2, destination=argv[1])


@command("zdiffstore", numkeys_at=2, arity=-4, flags="write denyoom movablekeys", keys=(1, 1, 1),
         group="sorted-set", since="6.2.0",
         summary="Stores the difference of multiple sorted sets in a key.",
         complexity="O(L + (N-K)log(N)) worst case where L is the total number of elements "
                    "in all the sets, N is the size of the first set, and K is the size of "
                    "the result set.", syntax="destination numkeys key...")
def zdiffstore(client, argv):
    return setop_generic(client, argv, DIFF, 2, destination=argv[1])


@command("zintercard", numkeys_at=1, arity=-3, flags="readonly movablekeys", group="sorted-set",
         since="7.0.0", summary="Returns the number of members of the intersect of multiple "
                                "sorted sets.",
         complexity="O(N*K) worst case with N being the smallest input sorted set, K being "
                    "the number of input sorted sets.", syntax="numkeys key... [LIMIT limit]")
def zintercard(client, argv):
    return setop_generic(client, argv, INTER, 1, cardinality=True)
