"""SORT and SORT_RO: the elements of a list, set or sorted set, in order.

    SORT key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]]
             [ASC | DESC] [ALPHA] [STORE destination]

Elements sort as numbers by default (one that isn't a number is an error for the whole
command), and as strings with ALPHA. BY sorts them by the values of other keys instead:
the first `*` of the pattern is replaced by the element to make a key name (`weight_*`),
whose string value is the weight; with `->field` after the `*` the weight is that field
of a hash (`user_*->age`). A weight that is missing counts as 0, or with ALPHA sorts
before every other. Equal numbers are ordered by the elements themselves, so the result
does not depend on the order the elements were stored in.

A BY pattern without `*` (by convention `BY nosort`) skips sorting: a list or sorted set
comes out in its own order (reversed by DESC), a set in whatever order it iterates. As
in Redis, a set is sorted (ALPHA) all the same when the result is stored or a script
asks, so that replicas and the AOF, which replay the command, get the same list.

GET replaces each element by the value a pattern names for it, as BY finds weights, or
by the element itself for `#`; a missing value is a null. With several GETs each element
gives several values. LIMIT keeps a window of the result. STORE saves the result as a
list (a null stored as an empty string), or deletes the destination if the result is
empty, and replies with its length. SORT_RO is SORT without STORE, so it can be sent to
a read-only replica.

Redis compares and parses elements with C library functions, whose quirks are kept:
 * Numbers are read by strtod from a C string: leading whitespace is allowed, bytes after
   a NUL are ignored, the empty string reads as 0; NaN, anything left over and numbers
   out of a double's range (too large, or too small to be represented exactly) are
   errors.
 * ALPHA compares with strcoll, which also stops at a NUL, in the server's locale. Here
   strings compare as in the C and C.UTF-8 locales, byte by byte; a Redis started in
   another locale may order them differently. With STORE, Redis compares every byte
   instead (binary-safe, and the same on replicas whatever their locale).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from fractions import Fraction
from operator import itemgetter

from ...resp import ErrorReply
from ..keyspace import WRONGTYPE, string_reply
from ..notifications import GENERIC, LIST
from ..structures.bulklist import BulkList
from ..structures.randomset import RandomSet
from ..structures.sortedset import SortedSet
from ..table import command
from .args import SYNTAX, parse_float, parse_int

NOT_A_NUMBER = ErrorReply("ERR One or more scores can't be converted into double")
BY_DENIED = ErrorReply("ERR BY option of SORT denied due to insufficient ACL permissions.")
GET_DENIED = ErrorReply("ERR GET option of SORT denied due to insufficient ACL permissions.")

_C_SPACE = b" \t\n\v\f\r"          # what C's isspace() skips before a number


@dataclass
class _Request:
    """SORT's options, as parsed from its arguments."""
    by: bytes | None = None            # the last BY pattern
    dont_sort: bool = False            # some BY pattern had no `*`
    offset: int = 0                    # LIMIT offset count; a negative count means all
    count: int = -1
    gets: list = field(default_factory=list)     # GET patterns, in order
    desc: bool = False
    alpha: bool = False
    store: bytes | None = None         # the STORE destination


def _parse(client, argv: list, readonly: bool) -> _Request:
    """The options after the key, checked in order as Redis does: the first bad one
    gives the error, before the key is even looked at."""
    request = _Request()
    pos = 2
    while pos < len(argv):
        word = argv[pos].upper()
        left = len(argv) - pos - 1               # arguments after this word
        if word == b"ASC":
            request.desc = False
        elif word == b"DESC":
            request.desc = True
        elif word == b"ALPHA":
            request.alpha = True
        elif word == b"LIMIT" and left >= 2:
            request.offset, request.count = parse_int(argv[pos + 1]), parse_int(argv[pos + 2])
            pos += 2
        elif word == b"STORE" and left >= 1 and not readonly:
            request.store = argv[pos + 1]
            pos += 1
        elif word == b"BY" and left >= 1:
            pattern = argv[pos + 1]
            if b"*" not in pattern:
                request.dont_sort = True         # and stays so, even if a later BY has a `*`
            elif not _full_key_access(client, argv):
                raise BY_DENIED
            request.by = pattern
            pos += 1
        elif word == b"GET" and left >= 1:
            if not _full_key_access(client, argv):
                raise GET_DENIED
            request.gets.append(argv[pos + 1])
            pos += 1
        else:
            raise SYNTAX
        pos += 1
    return request


def _full_key_access(client, argv: list) -> bool:
    """Whether the user may read every key: BY and GET read keys that ACL can't check
    before the command runs, as they are named by the data. (A script's client has its
    caller's user.)"""
    return client.user.may_read_any_key(client.kv.table.resolve(argv), argv)


def _lookup(db, pattern: bytes, element: bytes) -> bytes | None:
    """The value `pattern` names for `element` (see the module docstring), or None."""
    if pattern == b"#":
        return element
    star = pattern.find(b"*")
    if star < 0:
        return None                              # a fixed key: Redis refuses to read it
    arrow = pattern.find(b"->", star + 1)
    if arrow >= 0 and arrow + 2 < len(pattern):  # `key_*->field`: a field of a hash
        value = db.get(pattern[:star] + element + pattern[star + 1:arrow])
        return value.get(pattern[arrow + 2:]) if type(value) is dict else None
    return string_reply(db.get(pattern[:star] + element + pattern[star + 1:]))


def _c_string(text: bytes) -> bytes:
    """`text` as a C function reads it: up to its first NUL byte."""
    return text.partition(b"\0")[0]


def _score(text: bytes) -> float | None:
    """`text` as a number the way SORT reads it with strtod, or None if it is not one."""
    text = _c_string(text)
    if not text:
        return 0.0        # strtod reads nothing but ends at the end, which Redis accepts
    digits = text.lstrip(_C_SPACE)
    try:
        value = parse_float(digits)              # refuses NaN, overflow, underflow to 0
    except ErrorReply:
        return None
    # strtod also reports underflow for a subnormal result that is not exact.
    if 0 < abs(value) < sys.float_info.min and Fraction(abs(value)) != _exact(digits):
        return None
    return value


def _exact(number: bytes) -> Fraction:
    """The exact magnitude of a number written in decimal or in C's hex (0x1.8p3)."""
    number = number.lstrip(b"+-").lower()
    if not number.startswith(b"0x"):
        return Fraction(number.decode())
    mantissa, _, exponent = number[2:].partition(b"p")
    whole, _, fraction = mantissa.partition(b".")
    return int(whole + fraction or b"0", 16) * Fraction(2) ** (
        int(exponent or b"0") - 4 * len(fraction))


def _sort_keys(db, elements: list, request: _Request) -> list:
    """What each element is compared by: (number, element), its bytes, or for ALPHA with
    BY (has a weight, weight bytes)."""
    by, alpha = request.by, request.alpha
    binary = request.store is not None           # bytewise compare rather than strcoll
    if alpha and by is None:
        return elements if binary else [_c_string(element) for element in elements]
    keys = []
    for element in elements:
        weight = element if by is None else _lookup(db, by, element)
        if alpha:
            keys.append((False, b"") if weight is None
                        else (True, weight if binary else _c_string(weight)))
        else:
            keys.append((0.0 if weight is None else _score(weight), element))
    # Every weight is looked up before failing, as Redis does (it counts in INFO stats).
    if not alpha and any(score is None for score, _ in keys):
        raise NOT_A_NUMBER
    return keys


def _ordered(db, value, request: _Request) -> list:
    """The elements in the order the result lists them, before LIMIT."""
    if type(value) is RandomSet:
        elements = list(value)                   # in the set's own (arbitrary) order
        if request.dont_sort:
            return elements                      # ... which DESC does not reverse
    else:
        elements = list(value.members() if type(value) is SortedSet else value.elements())
        if request.dont_sort:
            return elements[::-1] if request.desc else elements
    keys = _sort_keys(db, elements, request)
    # Elements that compare equal (by equal ALPHA weights) keep their stored order: a
    # stable sort, which is also what glibc's qsort usually is.
    pairs = sorted(zip(keys, elements), key=itemgetter(0), reverse=request.desc)
    return [element for _, element in pairs]


def _window(length: int, offset: int, count: int) -> tuple[int, int]:
    """LIMIT offset count as a slice [start, stop) of a result of `length` elements: a
    negative offset counts as 0, a negative count means all the rest."""
    start = min(max(offset, 0), length)
    stop = length if count < 0 else min(start + count, length)
    return start, stop


def _sort(client, argv: list, readonly: bool):
    request = _parse(client, argv, readonly)
    db = client.db
    value = db.get(argv[1])
    if value is None:
        value = BulkList()                       # a missing key sorts as an empty list
    elif type(value) not in (BulkList, RandomSet, SortedSet):
        raise WRONGTYPE
    in_script = client is client.kv.scripting.client
    if (request.dont_sort and type(value) is RandomSet
            and (request.store is not None or in_script)):
        request.dont_sort, request.alpha, request.by = False, True, None
    start, stop = _window(len(value), request.offset, request.count)
    chosen = _ordered(db, value, request)[start:stop]
    if request.gets:
        result = [_lookup(db, pattern, element)
                  for element in chosen for pattern in request.gets]
    else:
        result = chosen
    if request.store is None:
        return result
    return _store(db, request.store, result)


def _store(db, key: bytes, result: list) -> int:
    """STORE: the result as a list at `key` (replacing any value and TTL), or no key at
    all if it is empty."""
    if result:
        db.set(key, BulkList.of(b"" if item is None else item for item in result))
        db.notify(LIST, "sortstore", key)
    elif db.delete(key):
        db.notify(GENERIC, "del", key)
    return len(result)


_SYNTAX_LINE = ("key [BY pattern] [offset_count: LIMIT offset count] [GET pattern]... "
                "[order: ASC | DESC] [ALPHA]")
_COMPLEXITY = ("O(N+M*log(M)) where N is the number of elements in the list or set to "
               "sort, and M the number of returned elements. When the elements are not "
               "sorted, complexity is O(N).")


def _store_key(argv: list, fixed: list[int]) -> list[int]:
    """The key, then where SORT's STORE destination is, found as Redis finds it:
    skipping LIMIT's two arguments and GET's and BY's one, the last STORE counting."""
    skip = {b"LIMIT": 2, b"GET": 1, b"BY": 1}
    found = []
    index = 2
    while index < len(argv):
        word = argv[index].upper()
        if word == b"STORE" and index + 1 < len(argv):
            found = [index + 1]
        index += 1 + (1 if word == b"STORE" else skip.get(word, 0))
    return fixed + found


@command("sort", arity=-2, flags="write denyoom movablekeys", keys=(1, 1, 1),
         option_keys=_store_key, group="generic", acl="@set @sortedset @list @dangerous",
         group_category=False,
         summary="Sorts the elements in a list, a set, or a sorted set, optionally storing "
                 "the result.", complexity=_COMPLEXITY,
         syntax=_SYNTAX_LINE + " [STORE destination]")
def sort(client, argv):
    return _sort(client, argv, readonly=False)


@command("sort_ro", arity=-2, flags="readonly movablekeys", keys=(1, 1, 1),
         group="generic", since="7.0.0", acl="@set @sortedset @list @dangerous",
         group_category=False,
         summary="Returns the sorted elements of a list, a set, or a sorted set.",
         complexity=_COMPLEXITY, syntax=_SYNTAX_LINE)
def sort_ro(client, argv):
    return _sort(client, argv, readonly=True)
