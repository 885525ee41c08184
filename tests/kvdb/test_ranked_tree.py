"""The ranked tree and the sorted set, driven at random and checked against a plain
sorted list of (score, member) after every step. Small leaves make splits and merges
happen all the time."""

import bisect
import random

import pytest

from fromscratch.kvdb.structures import ranked_tree
from fromscratch.kvdb.structures.ranked_tree import Fenwick, RankedTree
from fromscratch.kvdb.structures.sortedset import LEX_MAX, LEX_MIN, SortedSet


@pytest.fixture(autouse=True)
def small_leaves(monkeypatch):
    monkeypatch.setattr(ranked_tree, "LOAD", 8)


def check_structure(tree: RankedTree, model: list) -> None:
    assert len(tree) == len(model)
    assert [(score, member) for member, score in tree] == model
    assert [pair for leaf in tree.leaves for pair in leaf] == model
    assert all(leaf for leaf in tree.leaves)                       # no empty leaf
    assert all(len(leaf) <= 2 * ranked_tree.LOAD for leaf in tree.leaves)
    assert tree.maxes == [leaf[-1] for leaf in tree.leaves]
    counts = [len(leaf) for leaf in tree.leaves]
    assert [tree.sizes.prefix(i) for i in range(len(counts) + 1)] == \
        [sum(counts[:i]) for i in range(len(counts) + 1)]


def random_member(rng):
    return bytes(rng.choice(b"abcdef") for _ in range(rng.randint(0, 3)))


@pytest.mark.parametrize("seed", range(8))
def test_tree_against_sorted_list(seed):
    rng = random.Random(seed)
    tree, model = RankedTree(), []
    scores = {}
    for step in range(1500):
        action = rng.random()
        if action < 0.55 or not model:
            member = random_member(rng)
            if member in scores:
                continue
            score = float(rng.randint(-5, 5))
            scores[member] = score
            tree.insert(score, member)
            bisect.insort(model, (score, member))
        elif action < 0.8:
            score, member = rng.choice(model)
            assert tree.delete(score, member)
            assert not tree.delete(score, member)
            model.remove((score, member))
            del scores[member]
        elif action < 0.9:
            start = rng.randint(0, len(model))
            stop = rng.randint(start, min(len(model), start + 20))
            removed = tree.delete_slice(start, stop)
            assert removed == [(member, score) for score, member in model[start:stop]]
            for member, _ in removed:
                del scores[member]
            del model[start:stop]
        else:
            # Queries change nothing; check them against the model.
            for rank, pair in enumerate(model):
                assert tree.rank(*pair) == rank
                assert tree.pair_at(rank) == pair
            bound = rng.randint(-6, 6)
            assert tree.count_before(lambda score, _: score < bound) == \
                bisect.bisect_left([s for s, _ in model], bound)
            start = rng.randint(0, len(model))
            stop = rng.randint(start, len(model))
            window = [(m, s) for s, m in model[start:stop]]
            assert tree.slice(start, stop) == window
            assert tree.slice(start, stop, reverse=True) == window[::-1]
        check_structure(tree, model)


def test_from_sorted_builds_a_valid_tree():
    rng = random.Random(1)
    for size in (0, 1, 2, 10, 500):
        model = sorted({(float(rng.randint(0, 50)), random_member(rng) + b"%d" % i)
                        for i in range(size)})
        tree = RankedTree.from_sorted((member, score) for score, member in model)
        check_structure(tree, model)
        tree.insert(25.5, b"new")                   # and it keeps working afterwards
        bisect.insort(model, (25.5, b"new"))
        check_structure(tree, model)


def test_fenwick_prefix_and_find():
    counts = [3, 0, 5, 1, 7]
    tree = Fenwick(counts)
    for position in range(len(counts) + 1):
        assert tree.prefix(position) == sum(counts[:position])
    for rank in range(sum(counts)):
        position, offset = tree.find(rank)
        assert sum(counts[:position]) + offset == rank and offset < counts[position]


def test_ties_on_score_are_ordered_bytewise():
    tree = RankedTree()
    for member in (b"b", b"a\xff", b"", b"a", b"\x00"):
        tree.insert(1.0, member)
    tree.insert(float("-inf"), b"z")
    assert [m for m, _ in tree] == [b"z", b"", b"\x00", b"a", b"a\xff", b"b"]


def test_sorted_set_windows():
    zset = SortedSet()
    for member, score in ((b"a", 1.0), (b"b", 2.0), (b"c", 2.0), (b"d", 3.0)):
        zset.insert(member, score)
    assert zset.score_window((2.0, False), (2.0, False)) == (1, 3)
    assert zset.score_window((2.0, True), (3.0, False)) == (3, 4)
    assert zset.score_window((3.0, False), (1.0, False)) == (3, 3)     # inverted: empty
    assert zset.score_window((float("-inf"), False), (float("inf"), False)) == (0, 4)
    assert zset.lex_window((LEX_MIN, False), (LEX_MAX, False)) == (0, 4)
    assert zset.lex_window((b"b", True), (LEX_MAX, False)) == (2, 4)
    assert zset.lex_window((LEX_MAX, False), (LEX_MIN, False)) == (4, 4)
    zset.update(b"a", 5.0)                   # moves
    assert list(zset.members()) == [b"b", b"c", b"d", b"a"]
    assert zset.rank(b"a") == 3 and zset.rank(b"a", reverse=True) == 0
    assert zset.pop(2, highest=True) == [(b"a", 5.0), (b"d", 3.0)]
    assert zset.pop(5, highest=False) == [(b"b", 2.0), (b"c", 2.0)]
    assert len(zset) == 0 and zset.rank(b"b") is None
    assert zset.delete_slice(0, 0) == []


def test_sorted_set_copy_and_random_items():
    zset = SortedSet.from_scores({b"m%d" % i: float(i % 7) for i in range(100)})
    clone = zset.copy()
    clone.remove(b"m0")
    assert len(zset) == 100 and len(clone) == 99
    assert list(zset.items())[1:] == list(clone.items())
    picked = zset.random_items(100, distinct=True)
    assert sorted(picked) == sorted(zset.scores.items())
    assert all(zset.scores[m] == s for m, s in zset.random_items(300, distinct=False))
