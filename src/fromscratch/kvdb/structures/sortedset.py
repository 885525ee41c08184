"""The sorted set value type: a dict from member to score, plus a ranked tree of
(score, member) pairs for everything that needs the order (ranked_tree.py).

As in Redis, the dict answers ZSCORE and membership in O(1); the tree answers ranks and
ranges in O(log n). The two always hold the same members.

Ranges by score or by lex are turned into ranks first: a half-open window
[start, stop) of positions in (score, member) order. Counting, listing, LIMIT and
removing then all work on that window, the same way for all three kinds of range.

A score -0 is stored as 0, as clients see it in Redis: it keeps small sorted sets as
text in a listpack, where -0 reads back as 0.

A bound is a pair (value, exclusive), e.g. (1.5, True) for the `(1.5` of ZRANGEBYSCORE.
A lex bound's value is bytes, or LEX_MIN / LEX_MAX for `-` and `+`.
"""

from __future__ import annotations

import random

from .ranked_tree import RankedTree

LEX_MIN = object()      # `-`: before every member
LEX_MAX = object()      # `+`: after every member


class SortedSet:
    __slots__ = ("scores", "order")

    def __init__(self):
        self.scores: dict[bytes, float] = {}
        self.order = RankedTree()

    @classmethod
    def from_scores(cls, scores: dict) -> "SortedSet":
        """A sorted set holding `scores` (member -> score), built in one sort."""
        zset = cls()
        zset.scores = {member: score + 0.0 for member, score in scores.items()}
        pairs = sorted(zset.scores.items(), key=lambda pair: (pair[1], pair[0]))
        zset.order = RankedTree.from_sorted(pairs)
        return zset

    def copy(self) -> "SortedSet":
        zset = SortedSet()
        zset.scores = dict(self.scores)
        zset.order = RankedTree.from_sorted(self.order)
        return zset

    def __len__(self):
        return len(self.scores)

    def __contains__(self, member) -> bool:
        return member in self.scores

    def members(self):
        """The members in order."""
        return (member for member, _ in self.order)

    def items(self):
        """(member, score) pairs in order."""
        return iter(self.order)

    # -- one member ----------------------------------------------------------------------

    def insert(self, member: bytes, score: float) -> None:
        """Add `member`, which must not be in the set yet."""
        score += 0.0                       # -0 becomes 0
        self.scores[member] = score
        self.order.insert(score, member)

    def update(self, member: bytes, score: float) -> None:
        """Move `member`, which must be in the set, to a new score."""
        score += 0.0                       # -0 becomes 0
        self.order.delete(self.scores[member], member)
        self.order.insert(score, member)
        self.scores[member] = score

    def remove(self, member: bytes) -> bool:
        score = self.scores.pop(member, None)
        if score is None:
            return False
        self.order.delete(score, member)
        return True

    def rank(self, member: bytes, reverse: bool = False) -> int | None:
        score = self.scores.get(member)
        if score is None:
            return None
        rank = self.order.rank(score, member)
        return len(self.scores) - 1 - rank if reverse else rank

    def random_items(self, count: int, distinct: bool) -> list[tuple]:
        """`count` random (member, score) pairs: distinct ones (count <= len), or drawn
        with repetition. Each costs one O(log n) rank lookup."""
        size = len(self.scores)
        if distinct:
            ranks = random.sample(range(size), count)
        else:
            ranks = [int(random.random() * size) for _ in range(count)]
        pair_at = self.order.pair_at
        return [(member, score) for score, member in map(pair_at, ranks)]

    # -- windows of ranks --------------------------------------------------------------

    def score_window(self, low: tuple, high: tuple) -> tuple[int, int]:
        """The ranks [start, stop) of the members scored between two bounds."""
        start = self._score_position(low[0], after_equal=low[1])
        stop = self._score_position(high[0], after_equal=not high[1])
        return start, max(start, stop)

    def _score_position(self, score: float, after_equal: bool) -> int:
        if after_equal:
            return self.order.count_before(lambda this, _: this <= score)
        return self.order.count_before(lambda this, _: this < score)

    def lex_window(self, low: tuple, high: tuple) -> tuple[int, int]:
        """The ranks [start, stop) of the members between two lex bounds (meaningful
        when all scores are equal, as Redis documents)."""
        start = self._lex_position(low[0], after_equal=low[1])
        stop = self._lex_position(high[0], after_equal=not high[1])
        return start, max(start, stop)

    def _lex_position(self, member, after_equal: bool) -> int:
        if member is LEX_MIN:
            return 0
        if member is LEX_MAX:
            return len(self.scores)
        if after_equal:
            return self.order.count_before(lambda _, this: this <= member)
        return self.order.count_before(lambda _, this: this < member)

    def slice(self, start: int, stop: int, reverse: bool = False) -> list[tuple]:
        """(member, score) pairs of the ranks [start, stop), highest first if reverse."""
        return self.order.slice(start, stop, reverse)

    def delete_slice(self, start: int, stop: int) -> list[tuple]:
        """Remove the members of the ranks [start, stop); returns their (member, score)
        pairs, lowest first."""
        if stop <= start:
            return []
        removed = self.order.delete_slice(start, stop)
        scores = self.scores
        for member, _ in removed:
            del scores[member]
        return removed

    def pop(self, count: int, highest: bool) -> list[tuple]:
        """Remove and return up to `count` lowest (or highest) (member, score) pairs,
        in the order they were taken."""
        size = len(self.scores)
        count = min(count, size)
        if not highest:
            return self.delete_slice(0, count)
        pairs = self.delete_slice(size - count, size)
        pairs.reverse()
        return pairs
