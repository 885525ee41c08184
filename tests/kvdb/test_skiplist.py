"""The skip list and the sorted set, driven at random and checked against a plain sorted
list of (score, member) after every step."""

import bisect
import random

import pytest

from fromscratch.kvdb.structures.skiplist import MAX_LEVEL, SkipList
from fromscratch.kvdb.structures.sortedset import LEX_MAX, LEX_MIN, SortedSet


def check_structure(skiplist: SkipList, model: list) -> None:
    """Every link, span, backward pointer and count agrees with the model."""
    assert len(skiplist) == len(model)
    assert [(score, member) for member, score in skiplist] == model
    position = {id(skiplist.head): 0}            # ranks counted from 1, the head is 0
    node, rank = skiplist.head.forward[0], 1
    previous = None
    while node is not None:
        position[id(node)] = rank
        assert node.backward is previous
        assert 1 <= len(node.forward) <= MAX_LEVEL
        previous, node, rank = node, node.forward[0], rank + 1
    assert skiplist.tail is previous
    for level in range(MAX_LEVEL):
        node = skiplist.head
        while node.forward[level] is not None:          # a node on lane L has L+1 links
            nxt = node.forward[level]
            assert node.span[level] == position[id(nxt)] - position[id(node)]
            node = nxt
    # The levels in use are exactly those with a node on them.
    assert skiplist.head.forward[skiplist.level - 1] is not None or not model
    assert all(skiplist.head.forward[level] is None for level in range(skiplist.level, MAX_LEVEL))


def random_member(rng):
    return bytes(rng.choice(b"abcdef") for _ in range(rng.randint(0, 3)))


@pytest.mark.parametrize("seed", range(8))
def test_skiplist_against_sorted_list(seed):
    rng = random.Random(seed)
    skiplist, model = SkipList(), []
    scores = {}
    for step in range(1500):
        action = rng.random()
        if action < 0.55 or not model:
            member = random_member(rng)
            if member in scores:
                continue
            score = float(rng.randint(-5, 5))
            scores[member] = score
            skiplist.insert(score, member)
            bisect.insort(model, (score, member))
        elif action < 0.8:
            score, member = rng.choice(model)
            assert skiplist.delete(score, member)
            assert not skiplist.delete(score, member)
            model.remove((score, member))
            del scores[member]
        elif action < 0.9:
            start = rng.randint(0, len(model))
            stop = rng.randint(start, min(len(model), start + 5))
            removed = skiplist.delete_slice(start, stop)
            assert removed == [(member, score) for score, member in model[start:stop]]
            for member, _ in removed:
                del scores[member]
            del model[start:stop]
        else:
            # Queries don't change anything; check them against the model.
            for rank, (score, member) in enumerate(model):
                assert skiplist.rank(score, member) == rank
                node = skiplist.node_at(rank)
                assert (node.score, node.member) == (score, member)
            bound = rng.randint(-6, 6)
            assert skiplist.count_before(lambda node, bound=bound: node.score < bound) == \
                bisect.bisect_left([s for s, _ in model], bound)
            start = rng.randint(0, len(model))
            stop = rng.randint(start, len(model))
            window = [(m, s) for s, m in model[start:stop]]
            assert skiplist.slice(start, stop) == window
            assert skiplist.slice(start, stop, reverse=True) == window[::-1]
        if step % 50 == 0:
            check_structure(skiplist, model)
    check_structure(skiplist, model)


def test_from_sorted_builds_a_valid_list():
    rng = random.Random(1)
    for size in (0, 1, 2, 10, 500):
        model = sorted({(float(rng.randint(0, 50)), random_member(rng) + b"%d" % i)
                        for i in range(size)})
        skiplist = SkipList.from_sorted((member, score) for score, member in model)
        check_structure(skiplist, model)
        # and it keeps working as a normal skip list afterwards
        skiplist.insert(25.5, b"new")
        bisect.insort(model, (25.5, b"new"))
        check_structure(skiplist, model)


def test_ties_on_score_are_ordered_bytewise():
    skiplist = SkipList()
    for member in (b"b", b"a\xff", b"", b"a", b"\x00"):
        skiplist.insert(1.0, member)
    skiplist.insert(float("-inf"), b"z")
    assert [m for m, _ in skiplist] == [b"z", b"", b"\x00", b"a", b"a\xff", b"b"]


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
