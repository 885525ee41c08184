"""Set commands: membership, random members, set algebra, SSCAN.

A set value is a `RandomSet` (structures/randomset.py): a dict for membership plus a
list, so SPOP and SRANDMEMBER pick a random member in O(1). In RESP3, the commands
that return a whole set answer with the set type (`~`); the random picks are arrays.
"""

from __future__ import annotations

from ...resp import ErrorReply, OrderedSet
from ..cursors import parse_cursor
from ..notifications import GENERIC, SET
from ..structures.randomset import RandomSet
from ..table import command
from .args import SYNTAX, count_arg, parse_int, positive_count, random_count, repeats_fit
from .keys import encoding_of, scan_options


def get_set(db, key: bytes) -> RandomSet | None:
    return db.get_typed(key, RandomSet)


def _sets_of(db, keys) -> list[RandomSet | None]:
    """The sets at `keys` (None for a missing key); every key is type-checked first."""
    return [get_set(db, key) for key in keys]


def parse_numkeys(argv: list, index: int) -> int:
    """SINTERCARD's numkeys: at least 1 and no more than the arguments that follow."""
    numkeys = positive_count(argv[index], "ERR numkeys should be greater than 0")
    if numkeys > len(argv) - index - 1:
        raise ErrorReply("ERR Number of keys can't be greater than number of args")
    return numkeys


def parse_limit(argv: list, start: int) -> int:
    """The optional `LIMIT limit` of SINTERCARD and ZINTERCARD (0: no limit)."""
    limit = 0
    pos = start
    while pos < len(argv):
        if argv[pos].upper() == b"LIMIT" and pos + 1 < len(argv):
            limit = parse_int(argv[pos + 1], ErrorReply("ERR LIMIT can't be negative"))
            if limit < 0:
                raise ErrorReply("ERR LIMIT can't be negative")
            pos += 2
        else:
            raise SYNTAX
    return limit


# -- members ------------------------------------------------------------------------------

@command("sadd", arity=-3, flags="write denyoom fast", keys=(1, 1, 1), group="set",
         summary="Adds one or more members to a set. Creates the key if it doesn't exist.",
         complexity="O(1) for each element added, so O(N) to add N elements when the "
                    "command is called with multiple arguments.", syntax="key member...")
def sadd(client, argv):
    db, key = client.db, argv[1]
    members = db.get_or_create(key, RandomSet)
    added = 0
    for member in argv[2:]:
        added += members.add(member)
    if added:
        db.updated(key, SET, "sadd", added)
    return added


@command("srem", arity=-3, flags="write fast", keys=(1, 1, 1), group="set",
         summary="Removes one or more members from a set. Deletes the set if the last "
                 "member was removed.",
         complexity="O(N) where N is the number of members to be removed.",
         syntax="key member...")
def srem(client, argv):
    db, key = client.db, argv[1]
    members = db.get_for_write(key, RandomSet)
    if members is None:
        return 0
    removed = 0
    for member in argv[2:]:
        removed += members.remove(member)
    if removed:
        db.removed(key, members, SET, "srem", removed)
    return removed


@command("smembers", arity=2, flags="readonly", keys=(1, 1, 1), group="set",
         summary="Returns all members of a set.",
         complexity="O(N) where N is the set cardinality.", syntax="key")
def smembers(client, argv):
    members = get_set(client.db, argv[1])
    return in_reply_order(members.members, client) if members is not None else set()


def in_reply_order(members, client):
    """A set reply in Redis's order: a set of at most set-max-intset-entries integers is
    an intset there, kept sorted, and so comes sorted (so does the result of SINTER,
    SUNION or SDIFF that is one); any other in no particular order."""
    if len(members) > client.kv.config["set-max-intset-entries"]:
        return set(members)
    try:
        values = list(map(int, members))
    except ValueError:
        return set(members)
    members = list(members)
    # Only integers written as Redis writes them ("7", not "07" or "+7") fit an intset.
    if list(map(b"%d".__mod__, values)) != members or not all(
            -2**63 <= value < 2**63 for value in (min(values, default=0), max(values, default=0))):
        return set(members)
    return OrderedSet(member for _, member in sorted(zip(values, members)))


@command("sismember", arity=3, flags="readonly fast", keys=(1, 1, 1), group="set",
         summary="Determines whether a member belongs to a set.", complexity="O(1)",
         syntax="key member")
def sismember(client, argv):
    members = get_set(client.db, argv[1])
    return 1 if members is not None and argv[2] in members else 0


@command("smismember", arity=-3, flags="readonly fast", keys=(1, 1, 1), group="set",
         since="6.2.0", summary="Determines whether multiple members belong to a set.",
         complexity="O(N) where N is the number of elements being checked for membership",
         syntax="key member...")
def smismember(client, argv):
    members = get_set(client.db, argv[1]) or ()
    return [1 if member in members else 0 for member in argv[2:]]


@command("scard", arity=2, flags="readonly fast", keys=(1, 1, 1), group="set",
         summary="Returns the number of members in a set.", complexity="O(1)", syntax="key")
def scard(client, argv):
    members = get_set(client.db, argv[1])
    return len(members) if members is not None else 0


@command("smove", arity=4, flags="write fast", keys=(1, 2, 1), group="set",
         summary="Moves a member from one set to another.", complexity="O(1)",
         syntax="source destination member")
def smove(client, argv):
    db, source_key, target_key, member = client.db, argv[1], argv[2], argv[3]
    source = db.get_for_write(source_key, RandomSet)
    if source is None:
        return 0
    target = db.get_for_write(target_key, RandomSet)
    if source is target:
        return 1 if member in source else 0
    if not source.remove(member):
        return 0
    db.removed(source_key, source, SET, "srem")
    if target is None:
        target = db.get_or_create(target_key, RandomSet)
    if target.add(member):
        db.updated(target_key, SET, "sadd")
    return 1


# -- random members -----------------------------------------------------------------------

@command("spop", arity=-2, flags="write fast", keys=(1, 1, 1), group="set",
         summary="Returns one or more random members from a set after removing them. "
                 "Deletes the set if the last member was popped.",
         complexity="Without the count argument O(1), otherwise O(N) where N is the value "
                    "of the passed count.", syntax="key [count]")
def spop(client, argv):
    if len(argv) > 3:
        raise SYNTAX
    db, key = client.db, argv[1]
    if len(argv) == 2:
        members = db.get_for_write(key, RandomSet)
        if members is None:
            return None
        popped = members.pop_random()
        db.removed(key, members, SET, "spop")
        return popped
    count = count_arg(argv[2])
    members = db.get_for_write(key, RandomSet)
    if members is None or count == 0:
        return set()
    if count >= len(members):
        popped = set(members.members)
        members.clear()
    else:
        popped = {members.pop_random() for _ in range(count)}
    db.removed(key, members, SET, "spop", len(popped))
    return popped


@command("srandmember", arity=-2, flags="readonly", keys=(1, 1, 1), group="set",
         summary="Get one or multiple random members from a set",
         complexity="Without the count argument O(1), otherwise O(N) where N is the "
                    "absolute value of the passed count.", syntax="key [count]")
def srandmember(client, argv):
    if len(argv) > 3:
        raise SYNTAX
    if len(argv) == 2:
        members = get_set(client.db, argv[1])
        return members.random_member() if members is not None else None
    count = random_count(argv[2])
    members = get_set(client.db, argv[1])
    if members is None or count == 0:
        return []
    if count > 0:                                   # distinct members
        return members.sample(min(count, len(members)))
    if not repeats_fit(client, -count):
        return []
    return [members.random_member() for _ in range(-count)]   # repeats allowed


# -- set algebra ------------------------------------------------------------------------------

def intersection(sets: list) -> list:
    """Members common to all `sets` (a missing set is empty): walk the smallest, keeping
    what each of the others also has."""
    if any(members is None for members in sets):
        return []
    smallest, *others = sorted(sets, key=len)
    common = list(smallest)
    for other in others:
        common = [member for member in common if member in other]
    return common


def union(sets: list) -> set:
    return set().union(*(members.members for members in sets if members is not None))


def difference(sets: list) -> list:
    """Members of the first set that none of the others has."""
    first, others = sets[0], [members for members in sets[1:] if members is not None]
    if first is None:
        return []
    return [member for member in first if not any(member in other for other in others)]


def _store(client, argv, operation):
    """S*STORE: write the result to the destination (deleting it when empty)."""
    db, destination = client.db, argv[1]
    result = operation(_sets_of(db, argv[2:]))
    if not result:
        if db.delete(destination):
            db.notify(GENERIC, "del", destination)
        return 0
    db.set(destination, RandomSet(result))
    db.notify(SET, argv[0].decode().lower(), destination)        # sinterstore...
    return len(result)


@command("sinter", arity=-2, flags="readonly", keys=(1, -1, 1), group="set",
         summary="Returns the intersect of multiple sets.",
         complexity="O(N*M) worst case where N is the cardinality of the smallest set and "
                    "M is the number of sets.", syntax="key...")
def sinter(client, argv):
    return in_reply_order(intersection(_sets_of(client.db, argv[1:])), client)


@command("sinterstore", arity=-3, flags="write denyoom", keys=(1, -1, 1), group="set",
         summary="Stores the intersect of multiple sets in a key.",
         complexity="O(N*M) worst case where N is the cardinality of the smallest set and "
                    "M is the number of sets.", syntax="destination key...")
def sinterstore(client, argv):
    return _store(client, argv, intersection)


@command("sintercard", numkeys_at=1, arity=-3, flags="readonly movablekeys", keys=(0, 0, 0), group="set",
         since="7.0.0", summary="Returns the number of members of the intersect of "
                                "multiple sets.",
         complexity="O(N*M) worst case where N is the cardinality of the smallest set and "
                    "M is the number of sets.", syntax="numkeys key... [LIMIT limit]")
def sintercard(client, argv):
    numkeys = parse_numkeys(argv, 1)
    limit = parse_limit(argv, 2 + numkeys)
    count = len(intersection(_sets_of(client.db, argv[2:2 + numkeys])))
    return min(count, limit) if limit else count


@command("sunion", arity=-2, flags="readonly", keys=(1, -1, 1), group="set",
         summary="Returns the union of multiple sets.",
         complexity="O(N) where N is the total number of elements in all given sets.",
         syntax="key...")
def sunion(client, argv):
    return in_reply_order(union(_sets_of(client.db, argv[1:])), client)


@command("sunionstore", arity=-3, flags="write denyoom", keys=(1, -1, 1), group="set",
         summary="Stores the union of multiple sets in a key.",
         complexity="O(N) where N is the total number of elements in all given sets.",
         syntax="destination key...")
def sunionstore(client, argv):
    return _store(client, argv, union)


@command("sdiff", arity=-2, flags="readonly", keys=(1, -1, 1), group="set",
         summary="Returns the difference of multiple sets.",
         complexity="O(N) where N is the total number of elements in all given sets.",
         syntax="key...")
def sdiff(client, argv):
    return in_reply_order(difference(_sets_of(client.db, argv[1:])), client)


@command("sdiffstore", arity=-3, flags="write denyoom", keys=(1, -1, 1), group="set",
         summary="Stores the difference of multiple sets in a key.",
         complexity="O(N) where N is the total number of elements in all given sets.",
         syntax="destination key...")
def sdiffstore(client, argv):
    return _store(client, argv, difference)


# -- SSCAN ------------------------------------------------------------------------------------

@command("sscan", arity=-3, flags="readonly", keys=(1, 1, 1), group="set", since="2.8.0",
         summary="Iterates over members of a set.",
         complexity="O(1) for every call. O(N) for a complete iteration, including enough "
                    "command calls for the cursor to return back to 0. N is the number of "
                    "elements inside the collection.",
         syntax="key cursor:integer [MATCH pattern] [COUNT count]")
def sscan(client, argv):
    cursor = parse_cursor(argv[2])
    db, key = client.db, argv[1]
    members = get_set(db, key)
    if members is None:
        return [b"0", []]
    match, count, _ = scan_options(argv, 3)
    if encoding_of(members, client.kv.config) != "hashtable":
        # Redis answers a set this small whole, in one call, whatever the cursor, in the
        # order SMEMBERS gives (an intset's: by value)
        next_cursor, candidates = 0, in_reply_order(members.members, client)
    else:
        next_cursor, candidates = client.kv.cursors.page(
            ("set", db.index, key), lambda: members.order, cursor, count)
    found = [member for member in candidates
             if member in members and (match is None or match(member) is not None)]
    return [b"%d" % next_cursor, found]
