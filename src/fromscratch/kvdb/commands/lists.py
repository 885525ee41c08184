"""List commands: pushes and pops at both ends, ranges and in-place edits, moves from
one list to another, and the blocking pops (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP).

A list is a `BulkList`: a deque (O(1) at both ends, which is where lists are used, and
O(n) in the middle, as Redis's quicklist is) of its elements written as RESP bulk
strings, so that a range is answered with one join (see structures/bulklist.py). Like
every container a list never exists empty: whatever removes its last element deletes
the key.

A blocking command first tries to do its work like its non-blocking twin. When every key
it names is empty it calls `block()`; it is then re-run from scratch each time one of its
keys changes, until it can serve, times out or is unblocked (see blocking.py).
"""

from __future__ import annotations

from collections import deque
from itertools import islice

from ...resp import NULL_ARRAY, Encoded, ErrorReply
from ..blocking import parse_timeout
from ..client import OK
from ..notifications import LIST
from ..structures.bulklist import BulkList, bulk, element_of
from ..table import command
from .args import INT64_MAX, SYNTAX, Options, count_arg, parse_int

LEFT, RIGHT = b"LEFT", b"RIGHT"

# How to take one item from each end, and how to add one there, and the keyspace events
# that report it.
_POP = {LEFT: deque.popleft, RIGHT: deque.pop}
_PUSH = {LEFT: deque.appendleft, RIGHT: deque.append}
_POPPED = {LEFT: "lpop", RIGHT: "rpop"}
_PUSHED = {LEFT: "lpush", RIGHT: "rpush"}

NO_SUCH_KEY = ErrorReply("ERR no such key")


def parse_end(arg: bytes) -> bytes:
    """LEFT or RIGHT, in any case."""
    end = arg.upper()
    if end not in (LEFT, RIGHT):
        raise SYNTAX
    return end


def _pop_many(db, key: bytes, items: BulkList, end: bytes, count: int) -> list:
    """Up to `count` elements from one end, in the order they come off."""
    pop = _POP[end]
    popped = [element_of(pop(items)) for _ in range(min(count, len(items)))]
    db.removed(key, items, LIST, _POPPED[end], len(popped))
    return popped


def _clamp(length: int, start: int, stop: int) -> tuple[int, int]:
    """An inclusive range as LRANGE and LTRIM read it: negative indexes count from the
    tail, and the result is cut to the list. Empty when start > stop."""
    if start < 0:
        start = max(start + length, 0)
    if stop < 0:
        stop += length
    return start, min(stop, length - 1)


def _slice(items: BulkList, start: int, stop: int) -> list:
    """items[start:stop], walking from the nearer end (a deque has no fast middle)."""
    length = len(items)
    if start > length - stop:
        part = list(islice(reversed(items), length - stop, length - start))
        part.reverse()
        return part
    return list(islice(items, start, stop))


# -- pushing ---------------------------------------------------------------------------------

def _push(client, argv, end: bytes, only_if_exists: bool = False) -> int:
    """Add argv[2:] at one end (one by one: LPUSH k a b c leaves c first, as in Redis)."""
    db, key = client.db, argv[1]
    if only_if_exists:
        items = db.get_for_write(key, BulkList)
        if items is None:
            return 0
    else:
        items = db.get_or_create(key, BulkList)
    if len(argv) == 3:                   # one element, the usual case: no iterator
        _PUSH[end](items, bulk(argv[2]))
    else:
        (items.extend if end == RIGHT else items.extendleft)(map(bulk, islice(argv, 2, None)))
    db.updated(key, LIST, _PUSHED[end], len(argv) - 2)
    return len(items)


_PUSH_COMPLEXITY = ("O(1) for each element added, so O(N) to add N elements when the "
                    "command is called with multiple arguments.")


@command("lpush", arity=-3, flags="write denyoom fast", keys=(1, 1, 1), group="list",
         summary="Prepends one or more elements to a list. Creates the key if it doesn't "
                 "exist.", complexity=_PUSH_COMPLEXITY, syntax="key element...")
def lpush(client, argv):
    return _push(client, argv, LEFT)


@command("rpush", arity=-3, flags="write denyoom fast", keys=(1, 1, 1), group="list",
         summary="Appends one or more elements to a list. Creates the key if it doesn't "
                 "exist.", complexity=_PUSH_COMPLEXITY, syntax="key element...")
def rpush(client, argv):
    return _push(client, argv, RIGHT)


@command("lpushx", arity=-3, flags="write denyoom fast", keys=(1, 1, 1), group="list",
         since="2.2.0", summary="Prepends one or more elements to a list only when the list "
                                "exists.", complexity=_PUSH_COMPLEXITY, syntax="key element...")
def lpushx(client, argv):
    return _push(client, argv, LEFT, only_if_exists=True)


@command("rpushx", arity=-3, flags="write denyoom fast", keys=(1, 1, 1), group="list",
         since="2.2.0", summary="Appends an element to a list only when the list exists.",
         complexity=_PUSH_COMPLEXITY, syntax="key element...")
def rpushx(client, argv):
    return _push(client, argv, RIGHT, only_if_exists=True)


# -- popping ---------------------------------------------------------------------------------

def _pop(client, argv, end: bytes, name: str):
    """LPOP/RPOP: one element (a bulk), or with a count an array of up to count."""
    if len(argv) > 3:
        raise ErrorReply(f"ERR wrong number of arguments for '{name}' command")
    count = count_arg(argv[2]) if len(argv) == 3 else None
    db, key = client.db, argv[1]
    items = db.get_for_write(key, BulkList)
    if items is None:
        return None if count is None else NULL_ARRAY
    if count is None:
        item = _POP[end](items)
        db.removed(key, items, LIST, _POPPED[end])
        return Encoded(item)
    if count == 0:
        return []                  # and the list is left untouched (no WATCH abort)
    return _pop_many(db, key, items, end, count)


@command("lpop", arity=-2, flags="write fast", keys=(1, 1, 1), group="list",
         summary="Returns the first elements in a list after removing it. Deletes the list "
                 "if the last element was popped.",
         complexity="O(N) where N is the number of elements returned", syntax="key [count]")
def lpop(client, argv):
    return _pop(client, argv, LEFT, "lpop")


@command("rpop", arity=-2, flags="write fast", keys=(1, 1, 1), group="list",
         summary="Returns and removes the last elements of the list. Deletes the list if "
                 "the last element was popped.",
         complexity="O(N) where N is the number of elements returned", syntax="key [count]")
def rpop(client, argv):
    return _pop(client, argv, RIGHT, "rpop")


# -- reading ---------------------------------------------------------------------------------

@command("llen", arity=2, flags="readonly fast", keys=(1, 1, 1), group="list",
         summary="Returns the length of a list.", complexity="O(1)", syntax="key")
def llen(client, argv):
    items = client.db.get_typed(argv[1], BulkList)
    return len(items) if items is not None else 0


@command("lrange", arity=4, flags="readonly", keys=(1, 1, 1), group="list",
         summary="Returns a range of elements from a list.",
         complexity="O(S+N) where S is the distance of start offset from HEAD for small "
                    "lists, from nearest end (HEAD or TAIL) for large lists; and N is the "
                    "number of elements in the specified range.", syntax="key start stop")
def lrange(client, argv):
    start, stop = parse_int(argv[2]), parse_int(argv[3])
    items = client.db.get_typed(argv[1], BulkList)
    if items is None:
        return []
    start, stop = _clamp(len(items), start, stop)
    if start > stop:
        return []
    # The items are the reply's elements already: the array is their join.
    return Encoded(b"*%d\r\n%s" % (stop + 1 - start, b"".join(_slice(items, start, stop + 1))))


def _index(items: BulkList, arg: bytes) -> int | None:
    """The position `arg` names (negative from the tail), or None if outside the list."""
    index = parse_int(arg)
    if index < 0:
        index += len(items)
    return index if 0 <= index < len(items) else None


@command("lindex", arity=3, flags="readonly", keys=(1, 1, 1), group="list",
         summary="Returns an element from a list by its index.",
         complexity="O(N) where N is the number of elements to traverse to get to the "
                    "element at index. This makes asking for the first or the last element "
                    "of the list O(1).", syntax="key index")
def lindex(client, argv):
    items = client.db.get_typed(argv[1], BulkList)
    if items is None:
        return None
    index = _index(items, argv[2])
    return Encoded(items[index]) if index is not None else None


def _lpos_options(argv) -> tuple[int, int | None, int]:
    """LPOS's RANK, COUNT and MAXLEN, with Redis's own error for each."""
    rank, count, maxlen = 1, None, 0
    opts = Options(argv, 3)
    while opts:
        word = opts.next_word()
        if not opts:
            raise SYNTAX
        if word == b"RANK":
            rank = parse_int(opts.value())
            if rank == 0:
                raise ErrorReply("ERR RANK can't be zero: use 1 to start from the first "
                                 "match, 2 from the second ... or use negative to start "
                                 "from the end of the list")
            if rank < -INT64_MAX:           # Redis 7.2 refuses what it can't negate
                raise ErrorReply(f"ERR value is out of range, value must between "
                                 f"{-INT64_MAX} and {INT64_MAX}")
        elif word == b"COUNT":
            count = _non_negative(opts.value(), "COUNT")
        elif word == b"MAXLEN":
            maxlen = _non_negative(opts.value(), "MAXLEN")
        else:
            raise SYNTAX
    return rank, count, maxlen


def _non_negative(arg: bytes, what: str) -> int:
    error = ErrorReply(f"ERR {what} can't be negative")
    value = parse_int(arg, error)
    if value < 0:
        raise error
    return value


@command("lpos", arity=-3, flags="readonly", keys=(1, 1, 1), group="list", since="6.0.6",
         summary="Returns the index of matching elements in a list.",
         complexity="O(N) where N is the number of elements in the list, for the average "
                    "case. When searching for elements near the head or the tail of the "
                    "list, or when the MAXLEN option is provided, the command may run in "
                    "constant time.",
         syntax="key element [RANK rank] [COUNT num-matches:integer] [MAXLEN len]")
def lpos(client, argv):
    rank, count, maxlen = _lpos_options(argv)
    items = client.db.get_typed(argv[1], BulkList)
    if items is None:
        return [] if count is not None else None
    # A negative rank searches from the tail; positions are still counted from the head.
    from_tail = rank < 0
    skip = abs(rank) - 1                       # matches to pass over before reporting
    scanned = islice(reversed(items) if from_tail else items, maxlen or None)
    last = len(items) - 1
    wanted = bulk(argv[2])
    found = []
    for offset, item in enumerate(scanned):
        if item != wanted:
            continue
        if skip:
            skip -= 1
            continue
        found.append(last - offset if from_tail else offset)
        if count is None or len(found) == count:
            break
    if count is not None:
        return found
    return found[0] if found else None


# -- editing ---------------------------------------------------------------------------------

@command("lset", arity=4, flags="write denyoom", keys=(1, 1, 1), group="list",
         summary="Sets the value of an element in a list by its index.",
         complexity="O(N) where N is the length of the list. Setting either the first or "
                    "the last element of the list is O(1).", syntax="key index element")
def lset(client, argv):
    db, key = client.db, argv[1]
    items = db.get_for_write(key, BulkList)
    if items is None:
        raise NO_SUCH_KEY
    index = _index(items, argv[2])
    if index is None:
        raise ErrorReply("ERR index out of range")
    items[index] = bulk(argv[3])
    db.updated(key, LIST, "lset")
    return OK


@command("linsert", arity=5, flags="write denyoom", keys=(1, 1, 1), group="list",
         since="2.2.0", summary="Inserts an element before or after another element in a "
                                "list.",
         complexity="O(N) where N is the number of elements to traverse before seeing the "
                    "value pivot. This means that inserting somewhere on the left end on the "
                    "list (head) can be considered O(1) and inserting somewhere on the right "
                    "end (tail) is O(N).",
         syntax="key (where: BEFORE | AFTER) pivot element")
def linsert(client, argv):
    where = argv[2].upper()
    if where not in (b"BEFORE", b"AFTER"):
        raise SYNTAX
    db, key = client.db, argv[1]
    items = db.get_for_write(key, BulkList)
    if items is None:
        return 0
    try:
        index = items.index(bulk(argv[3]))
    except ValueError:
        return -1
    items.insert(index + 1 if where == b"AFTER" else index, bulk(argv[4]))
    db.updated(key, LIST, "linsert")
    return len(items)


@command("lrem", arity=4, flags="write", keys=(1, 1, 1), group="list",
         summary="Removes elements from a list. Deletes the list if the last element was "
                 "removed.",
         complexity="O(N+M) where N is the length of the list and M is the number of "
                    "elements removed.", syntax="key count element")
def lrem(client, argv):
    count = parse_int(argv[2])
    db, key, element = client.db, argv[1], bulk(argv[3])
    items = db.get_for_write(key, BulkList)
    if items is None:
        return 0
    # Remove up to |count| matches (all of them for 0), from the tail when count < 0,
    # by keeping the rest: one pass, where deque.remove would rescan for each match.
    limit = abs(count) or len(items)
    kept, removed = [], 0
    for item in reversed(items) if count < 0 else items:
        if removed < limit and item == element:
            removed += 1
        else:
            kept.append(item)
    if removed:
        if count < 0:
            kept.reverse()
        items.clear()
        items.extend(kept)
        db.removed(key, items, LIST, "lrem", removed)
    return removed


@command("ltrim", arity=4, flags="write", keys=(1, 1, 1), group="list",
         summary="Removes elements from both ends a list. Deletes the list if all elements "
                 "were trimmed.",
         complexity="O(N) where N is the number of elements to be removed by the "
                    "operation.", syntax="key start stop")
def ltrim(client, argv):
    start, stop = parse_int(argv[2]), parse_int(argv[3])
    db, key = client.db, argv[1]
    items = db.get_for_write(key, BulkList)
    if items is None:
        return OK
    length = len(items)
    start, stop = _clamp(length, start, stop)
    if start > stop:
        start, stop = length, length - 1       # nothing is kept
    for _ in range(start):
        items.popleft()
    for _ in range(length - 1 - stop):
        items.pop()
    # Redis signals the key even when nothing was trimmed (a WATCH on it aborts).
    db.removed(key, items, LIST, "ltrim", length - len(items))
    return OK


# -- moving between lists ------------------------------------------------------------------

def _move(client, source: bytes, destination: bytes, wherefrom: bytes, whereto: bytes):
    """LMOVE: pop from one end of `source`, push at one end of `destination`."""
    db = client.db
    items = db.get_for_write(source, BulkList)
    if items is None:
        return None
    # Looked up before the pop: a wrong-typed destination refuses with nothing moved,
    # and with source == destination this is the same list (a rotation).
    target = db.get_or_create(destination, BulkList)
    item = _POP[wherefrom](items)
    _PUSH[whereto](target, item)
    db.updated(destination, LIST, _PUSHED[whereto])
    db.removed(source, items, LIST, _POPPED[wherefrom])
    return Encoded(item)


@command("lmove", arity=5, flags="write denyoom", keys=(1, 2, 1), group="list",
         since="6.2.0", summary="Returns an element after popping it from one list and "
                                "pushing it to another. Deletes the list if the last element "
                                "was moved.", complexity="O(1)",
         syntax="source destination (wherefrom: LEFT | RIGHT) (whereto: LEFT | RIGHT)")
def lmove(client, argv):
    wherefrom, whereto = parse_end(argv[3]), parse_end(argv[4])
    return _move(client, argv[1], argv[2], wherefrom, whereto)


@command("rpoplpush", arity=3, flags="write denyoom", keys=(1, 2, 1), group="list",
         since="1.2.0", summary="Returns the last element of a list after removing and "
                                "pushing it to another list. Deletes the list if the last "
                                "element was popped.", complexity="O(1)",
         syntax="source destination")
def rpoplpush(client, argv):
    return _move(client, argv[1], argv[2], RIGHT, LEFT)


# -- popping from the first non-empty of several lists --------------------------------------

def _mpop_arguments(argv, numkeys_at: int) -> tuple[list, bytes, int]:
    """`numkeys key... LEFT|RIGHT [COUNT count]` from argv[numkeys_at] on."""
    numkeys_error = ErrorReply("ERR numkeys should be greater than 0")
    numkeys = parse_int(argv[numkeys_at], numkeys_error)
    if numkeys < 1:
        raise numkeys_error
    end_at = numkeys_at + 1 + numkeys
    if end_at >= len(argv):
        raise SYNTAX
    end = parse_end(argv[end_at])
    count = None
    opts = Options(argv, end_at + 1)
    while opts:
        if opts.next_word() != b"COUNT" or count is not None or not opts:
            raise SYNTAX
        count_error = ErrorReply("ERR count should be greater than 0")
        count = parse_int(opts.value(), count_error)
        if count < 1:
            raise count_error
    return argv[numkeys_at + 1:end_at], end, count or 1


def _first_list(client, keys) -> tuple[bytes, BulkList] | None:
    """The first of `keys` that holds a list, with the list; WRONGTYPE if a key of
    another type comes first.

    A blocked client is re-run after any change to one of its keys, but Redis wakes it
    only for a key that now holds a list: one turned into, say, a string leaves it
    waiting rather than failing."""
    db = client.db
    if client.retrying and not any(_holds_list(db, key) for key in keys):
        return None
    for key in keys:
        items = db.get_for_write(key, BulkList)
        if items is not None:
            return key, items
    return None


def _holds_list(db, key: bytes) -> bool:
    entry = db.entry(key, touch=False)
    return entry is not None and type(entry.value) is BulkList


@command("lmpop", numkeys_at=1, arity=-4, flags="write movablekeys", group="list", since="7.0.0",
         summary="Returns multiple elements from a list after removing them. Deletes the "
                 "list if the last element was popped.",
         complexity="O(N+M) where N is the number of provided keys and M is the number of "
                    "elements returned.",
         syntax="numkeys key... (where: LEFT | RIGHT) [COUNT count]")
def lmpop(client, argv):
    keys, end, count = _mpop_arguments(argv, 1)
    found = _first_list(client, keys)
    if found is None:
        return NULL_ARRAY
    key, items = found
    return [key, _pop_many(client.db, key, items, end, count)]


# -- blocking --------------------------------------------------------------------------------
#
# Every list command that blocks answers its timeout (and CLIENT UNBLOCK) with a null
# array, *-1 in RESP2, as Redis does for all of them.

def _block(client, argv, keys, timeout: float):
    return client.kv.blocking.block(client, argv, keys, timeout, NULL_ARRAY)


def _blocking_pop(client, argv, end: bytes):
    keys = argv[1:-1]
    timeout = parse_timeout(argv[-1])
    found = _first_list(client, keys)
    if found is None:
        return _block(client, argv, keys, timeout)
    key, items = found
    element = element_of(_POP[end](items))
    client.db.removed(key, items, LIST, _POPPED[end])
    return [key, element]


_BPOP_COMPLEXITY = "O(N) where N is the number of provided keys."


@command("blpop", arity=-3, flags="write noscript blocking", keys=(1, -2, 1), group="list",
         since="2.0.0", summary="Removes and returns the first element in a list. Blocks "
                                "until an element is available otherwise. Deletes the list "
                                "if the last element was popped.",
         complexity=_BPOP_COMPLEXITY, syntax="key... timeout")
def blpop(client, argv):
    return _blocking_pop(client, argv, LEFT)


@command("brpop", arity=-3, flags="write noscript blocking", keys=(1, -2, 1), group="list",
         since="2.0.0", summary="Removes and returns the last element in a list. Blocks "
                                "until an element is available otherwise. Deletes the list "
                                "if the last element was popped.",
         complexity=_BPOP_COMPLEXITY, syntax="key... timeout")
def brpop(client, argv):
    return _blocking_pop(client, argv, RIGHT)


def _blocking_move(client, argv, wherefrom: bytes, whereto: bytes, timeout: float):
    source = argv[1]
    if _first_list(client, [source]) is None:
        if client.in_exec:
            return None            # inside MULTI a null bulk, where a timeout is *-1
        return _block(client, argv, [source], timeout)
    return _move(client, source, argv[2], wherefrom, whereto)


@command("blmove", arity=6, flags="write denyoom noscript blocking", keys=(1, 2, 1),
         group="list", since="6.2.0",
         summary="Pops an element from a list, pushes it to another list and returns it. "
                 "Blocks until an element is available otherwise. Deletes the list if the "
                 "last element was moved.", complexity="O(1)",
         syntax="source destination (wherefrom: LEFT | RIGHT) (whereto: LEFT | RIGHT) "
                "timeout")
def blmove(client, argv):
    wherefrom, whereto = parse_end(argv[3]), parse_end(argv[4])
    return _blocking_move(client, argv, wherefrom, whereto, parse_timeout(argv[5]))


@command("brpoplpush", arity=4, flags="write denyoom noscript blocking", keys=(1, 2, 1),
         group="list", since="2.2.0",
         summary="Pops an element from a list, pushes it to another list and returns it. "
                 "Block until an element is available otherwise. Deletes the list if the "
                 "last element was popped.", complexity="O(1)",
         syntax="source destination timeout")
def brpoplpush(client, argv):
    return _blocking_move(client, argv, RIGHT, LEFT, parse_timeout(argv[3]))


@command("blmpop", numkeys_at=2, arity=-5, flags="write blocking movablekeys", group="list",
         since="7.0.0", summary="Pops the first element from one of multiple lists. Blocks "
                                "until an element is available otherwise. Deletes the list "
                                "if the last element was popped.",
         complexity="O(N+M) where N is the number of provided keys and M is the number of "
                    "elements returned.",
         syntax="timeout numkeys key... (where: LEFT | RIGHT) [COUNT count]")
def blmpop(client, argv):
    keys, end, count = _mpop_arguments(argv, 2)
    timeout = parse_timeout(argv[1])
    found = _first_list(client, keys)
    if found is None:
        return _block(client, argv, keys, timeout)
    key, items = found
    return [key, _pop_many(client.db, key, items, end, count)]
