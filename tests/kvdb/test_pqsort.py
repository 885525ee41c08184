"""Redis's partial quicksort: the positions asked for hold what a full sort puts there."""

import random

from fromscratch.kvdb.pqsort import pqsort


def compare(a, b) -> int:
    return (a > b) - (a < b)


def test_sorts_the_range_asked_for():
    rnd = random.Random(7)
    for n in (0, 1, 2, 6, 7, 8, 40, 41, 100, 1000):
        for _ in range(20):
            items = [rnd.randrange(n // 3 + 1) for _ in range(n)]   # many equal items
            first = rnd.randrange(n) if n else 0
            last = rnd.randrange(first, n) if n else -1
            wanted = sorted(items)[first:last + 1]
            pqsort(items, compare, first, last)
            assert items[first:last + 1] == wanted
            assert sorted(items) == sorted(wanted + items[:first] + items[last + 1:])


def test_a_whole_range_is_a_full_sort():
    items = list(range(500))
    random.Random(3).shuffle(items)
    pqsort(items, compare, 0, 499)
    assert items == list(range(500))

