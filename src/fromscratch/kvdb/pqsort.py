"""Redis's partial quicksort (pqsort.c), for the geo searches' COUNT.

To return the nearest COUNT of N points Redis does not sort them all: it runs the
Bentley & McIlroy quicksort of "Engineering a Sort Function" (as in the BSD libc), but
only recurses into the parts that overlap the positions wanted. The result is the same
as a full sort's in those positions, up to the order of equal items, which quicksort
does not keep. Redis's replies show that order (points at the same place, and COUNT),
so this follows the C code step for step, comparing and swapping the same items.
"""

from __future__ import annotations

from typing import Callable

Compare = Callable[[object, object], int]      # < 0, 0 or > 0, as for C's qsort


def pqsort(items: list, compare: Compare, first: int, last: int) -> None:
    """Sort `items` in place well enough that positions first..last (inclusive) hold
    what a sort would put there."""
    _pqsort(items, 0, len(items), compare, first, last)


def _pqsort(a: list, start: int, n: int, compare: Compare, first: int, last: int) -> None:
    """The n items from `start`."""
    while True:
        if n < 7:                                   # few items: insertion sort
            for m in range(start + 1, start + n):
                position = m
                while position > start and compare(a[position - 1], a[position]) > 0:
                    a[position - 1], a[position] = a[position], a[position - 1]
                    position -= 1
            return
        # The pivot: the middle item, or the median of three (of three medians of
        # three for many items), moved to the front.
        middle = start + n // 2
        if n > 7:
            low, high = start, start + n - 1
            if n > 40:
                d = n // 8
                low = _median_of_three(a, low, low + d, low + 2 * d, compare)
                middle = _median_of_three(a, middle - d, middle, middle + d, compare)
                high = _median_of_three(a, high - 2 * d, high - d, high, compare)
            middle = _median_of_three(a, low, middle, high, compare)
        a[start], a[middle] = a[middle], a[start]
        # Partition into = < ? > =, keeping the items equal to the pivot at both ends,
        # then move those to the middle: = < ... becomes < = ... .
        pa = pb = start + 1
        pc = pd = start + n - 1
        while True:
            while pb <= pc:
                order = compare(a[pb], a[start])
                if order > 0:
                    break
                if order == 0:
                    a[pa], a[pb] = a[pb], a[pa]
                    pa += 1
                pb += 1
            while pb <= pc:
                order = compare(a[pc], a[start])
                if order < 0:
                    break
                if order == 0:
                    a[pc], a[pd] = a[pd], a[pc]
                    pd -= 1
                pc -= 1
            if pb > pc:
                break
            a[pb], a[pc] = a[pc], a[pb]
            pb += 1
            pc -= 1
        end = start + n
        size = min(pa - start, pb - pa)
        _swap_blocks(a, start, pb - size, size)
        size = min(pd - pc, end - pd - 1)
        _swap_blocks(a, pb, end - size, size)
        # Now the smaller items are at the front, the larger at the back: sort those
        # parts that reach into first..last (the second by looping, as C does).
        size = pb - pa
        if size > 1 and _overlaps(start, size, first, last):
            _pqsort(a, start, size, compare, first, last)
        size = pd - pc
        if size <= 1:
            return
        start, n = end - size, size
        if not _overlaps(start, n, first, last):
            return


def _median_of_three(a: list, i: int, j: int, k: int, compare: Compare) -> int:
    if compare(a[i], a[j]) < 0:
        if compare(a[j], a[k]) < 0:
            return j
        return k if compare(a[i], a[k]) < 0 else i
    if compare(a[j], a[k]) > 0:
        return j
    return i if compare(a[i], a[k]) < 0 else k


def _swap_blocks(a: list, i: int, j: int, size: int) -> None:
    """Swap a[i:i+size] with a[j:j+size], item by item from the front."""
    for offset in range(size):
        a[i + offset], a[j + offset] = a[j + offset], a[i + offset]


def _overlaps(start: int, n: int, first: int, last: int) -> bool:
    """Whether the n items from `start` include any of the positions first..last."""
    return first < start + n and last >= start
