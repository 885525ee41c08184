"""The index arithmetic of LRANGE and LTRIM, against Python's own slicing."""

from collections import deque

from fromscratch.kvdb.commands.lists import _clamp, _slice


def test_slice_walks_from_either_end_to_the_same_result():
    for length in range(8):
        items = deque(range(length))
        for start in range(length + 1):
            for stop in range(start, length + 1):
                assert _slice(items, start, stop) == list(range(length))[start:stop]


def test_clamp_reads_indexes_as_redis_does():
    for length in range(1, 6):
        values = list(range(length))
        for start in range(-8, 8):
            for stop in range(-8, 8):
                first, last = _clamp(length, start, stop)
                got = values[first:last + 1] if first <= last else []
                # Redis: negative counts from the tail, then clamp to the list.
                begin = max(start + length if start < 0 else start, 0)
                end = stop + length if stop < 0 else stop
                expected = values[begin:end + 1] if end >= 0 else []
                assert got == expected, (length, start, stop)
