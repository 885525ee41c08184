"""LCS's table, computed a row at a time with bit vectors, against the plain dynamic
programming it stands for."""

import random

from fromscratch.kvdb.commands.strings import LcsTable, _lcs_walk


def cell_by_cell(a: bytes, b: bytes) -> list[list[int]]:
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            if a[i - 1] == b[j - 1]:
                table[i][j] = table[i - 1][j - 1] + 1
            else:
                table[i][j] = max(table[i][j - 1], table[i - 1][j])
    return table


def test_every_cell_agrees_with_the_plain_table():
    rng = random.Random(3)
    for _ in range(1500):
        a = bytes(rng.choice(b"abc\x00\xff") for _ in range(rng.randrange(0, 25)))
        b = bytes(rng.choice(b"abcd\x00") for _ in range(rng.randrange(0, 25)))
        table, expected = LcsTable(a, b), cell_by_cell(a, b)
        assert table.length == expected[len(a)][len(b)]
        assert all(table.cell(i, j) == expected[i][j]
                   for i in range(len(a) + 1) for j in range(len(b) + 1))


def test_redis_s_example():
    table = LcsTable(b"ohmytext", b"mynewtext")
    assert table.length == 6
    matches, common = _lcs_walk(table, b"ohmytext", b"mynewtext")
    assert common == b"mytext"
    assert matches == [(4, 7, 5, 8), (2, 3, 0, 1)]
