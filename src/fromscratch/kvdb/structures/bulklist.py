r"""The list value type: a deque whose items are its elements written as RESP bulk
strings, `$3\r\nabc\r\n` for the element `abc`.

A list is read mostly in ranges (LRANGE: a queue's peek, a page of a timeline), and a
range's reply is its elements as bulk strings, one after the other. Kept in that form,
an element is encoded once, when it is pushed, and a range reply is one join of the
deque's items; a command that answers with one element (LPOP, LINDEX, LMOVE) answers
with its item as it is. Redis keeps its list elements encoded too, in listpacks.
Measured in-process (benchmarks/kvdb_hotpath.py), LRANGE 0 99 of short elements went
from 9.5 to 7.3 us without pipelining and from 6.1 to 3.9 us in pipelines of 16; the
price is a push's encoding, 0.15 us on LPUSH's 1.3 us, and a few bytes per element.
Commands that answer with several elements otherwise (LMPOP, BLPOP, SORT) and the
persistence formats read the elements back (`elements`, `element_of`).

Two elements are equal exactly when their bulk strings are, so LPOS, LREM and LINSERT
compare the encoded argument with the items as they are.
"""

from __future__ import annotations

from collections import deque

from ...resp.writer import BULK_HEADER_LINES


def bulk(element: bytes) -> bytes:
    """`element` as a list keeps it: a RESP bulk string."""
    length = len(element)
    if length < 256:                  # a join with a premade header: 3/4 of the time
        return b"".join((BULK_HEADER_LINES[length], element, b"\r\n"))
    return b"$%d\r\n%s\r\n" % (length, element)


def element_of(item: bytes) -> bytes:
    """The element a list's item holds: its bulk string without the header and CRLF."""
    return item[item.index(b"\n") + 1:-2]


class BulkList(deque):
    """A list value: a deque of bulk strings (see the module docstring). Its methods are
    deque's, on the encoded items; `of` and `elements` convert."""

    __slots__ = ()

    @classmethod
    def of(cls, elements) -> BulkList:
        """The list of `elements` (bytes), head first."""
        return cls(map(bulk, elements))

    def elements(self):
        """The elements, head to tail (an iterator)."""
        return map(element_of, self)
