"""A skip list ordered by (score, member), with ranks: the order half of a sorted set.

A skip list is a sorted linked list with express lanes. Every node is on level 0; a node
is also on level 1 with probability 1/4, on level 2 with probability 1/16, and so on (at
most 32 levels, as in Redis). A search starts on the highest lane at the head and moves
right while the next node still sorts before the target, dropping one lane down when it
would overshoot, so it visits O(log n) nodes on average:

    level 2   head --------------------> c --------------> None
    level 1   head --------> a --------> c --> d --------> None
    level 0   head --> z --> a --> b --> c --> d --> e --> None
    score              0     1     1     2     5     9

Like Redis's zskiplist, each link also records its *span*: how many level-0 steps it
jumps (head->a on level 1 spans 2). Adding up the spans crossed on the way to a node
gives its rank, so rank lookups, "the node at rank r" and counting the nodes of a
score or lex range are O(log n) too. Level 0 also has `backward` links, for walking a
range in reverse.

Ties on score are ordered by member, bytewise (as Redis compares with memcmp).
Every rank here is 0-based. The skip list trusts its caller (SortedSet) to keep each
member at most once.
"""

from __future__ import annotations

from random import random

MAX_LEVEL = 32
P = 0.25


class Node:
    # Slots, and two parallel lists per node: the fewest objects a node can cost.
    __slots__ = ("member", "score", "backward", "forward", "span")

    def __init__(self, member, score: float, level: int):
        self.member = member
        self.score = score
        self.backward: Node | None = None
        self.forward: list[Node | None] = [None] * level
        self.span: list[int] = [0] * level


def random_level() -> int:
    level = 1
    while random() < P and level < MAX_LEVEL:
        level += 1
    return level


class SkipList:
    __slots__ = ("head", "tail", "level", "length")

    def __init__(self):
        self.head = Node(None, 0.0, MAX_LEVEL)   # a sentinel before the first node
        self.tail: Node | None = None
        self.level = 1                           # levels in use
        self.length = 0

    def __len__(self):
        return self.length

    # -- finding the place of (score, member) ------------------------------------------

    def _predecessors(self, score: float, member) -> tuple[list, list]:
        """For each level in use, the last node sorting before (score, member), and its
        rank counted as 1 for the first node (0 for the head)."""
        update = [None] * self.level
        ranks = [0] * self.level
        node, rank = self.head, 0
        for level in range(self.level - 1, -1, -1):
            nxt = node.forward[level]
            while nxt is not None and (nxt.score < score or
                                       (nxt.score == score and nxt.member < member)):
                rank += node.span[level]
                node = nxt
                nxt = node.forward[level]
            update[level] = node
            ranks[level] = rank
        return update, ranks

    def insert(self, score: float, member) -> Node:
        update, ranks = self._predecessors(score, member)
        level = random_level()
        if level > self.level:
            # New lanes start at the head and, so far, span the whole list.
            for lane in range(self.level, level):
                update.append(self.head)
                ranks.append(0)
                self.head.span[lane] = self.length
            self.level = level
        node = Node(member, score, level)
        before = ranks[0]                        # nodes sorting before the new one
        for lane in range(level):
            previous = update[lane]
            node.forward[lane] = previous.forward[lane]
            previous.forward[lane] = node
            # previous used to jump span[lane] steps; the new node cuts that jump in two.
            node.span[lane] = previous.span[lane] - (before - ranks[lane])
            previous.span[lane] = before - ranks[lane] + 1
        for lane in range(level, self.level):
            update[lane].span[lane] += 1         # higher links now jump one more node
        node.backward = update[0] if update[0] is not self.head else None
        if node.forward[0] is not None:
            node.forward[0].backward = node
        else:
            self.tail = node
        self.length += 1
        return node

    def delete(self, score: float, member) -> bool:
        update, _ = self._predecessors(score, member)
        node = update[0].forward[0]
        if node is None or node.score != score or node.member != member:
            return False
        self._unlink(node, update)
        return True

    def _unlink(self, node: Node, update: list) -> None:
        for lane in range(self.level):
            previous = update[lane]
            if previous.forward[lane] is node:
                previous.span[lane] += node.span[lane] - 1
                previous.forward[lane] = node.forward[lane]
            else:
                previous.span[lane] -= 1         # it jumped over the node
        if node.forward[0] is not None:
            node.forward[0].backward = node.backward
        else:
            self.tail = node.backward
        while self.level > 1 and self.head.forward[self.level - 1] is None:
            self.level -= 1
        self.length -= 1

    # -- ranks -------------------------------------------------------------------------

    def rank(self, score: float, member) -> int:
        """The rank of (score, member), which must be in the list."""
        _, ranks = self._predecessors(score, member)
        return ranks[0]

    def count_before(self, goes_before) -> int:
        """How many nodes satisfy `goes_before(node)`, a test that holds for a prefix of
        the list (e.g. "score < 5"). That count is also the rank where the rest begins."""
        node, rank = self.head, 0
        for level in range(self.level - 1, -1, -1):
            nxt = node.forward[level]
            while nxt is not None and goes_before(nxt):
                rank += node.span[level]
                node = nxt
                nxt = node.forward[level]
        return rank

    def node_at(self, rank: int) -> Node:
        """The node at `rank` (0 <= rank < len)."""
        node, traversed = self.head, -1          # the head sits just before rank 0
        for level in range(self.level - 1, -1, -1):
            nxt = node.forward[level]
            while nxt is not None and traversed + node.span[level] <= rank:
                traversed += node.span[level]
                node = nxt
                nxt = node.forward[level]
            if traversed == rank:
                return node
        raise IndexError(rank)

    # -- walking and removing runs of nodes ----------------------------------------------

    def slice(self, start: int, stop: int, reverse: bool = False) -> list[tuple]:
        """(member, score) pairs of the ranks start..stop-1 (clamped by the caller),
        from `start` up, or from `stop - 1` down when `reverse`."""
        pairs = []
        if stop <= start:
            return pairs
        if reverse:
            node = self.node_at(stop - 1)
            for _ in range(stop - start):
                pairs.append((node.member, node.score))
                node = node.backward
        else:
            node = self.node_at(start)
            for _ in range(stop - start):
                pairs.append((node.member, node.score))
                node = node.forward[0]
        return pairs

    def delete_slice(self, start: int, stop: int) -> list[tuple]:
        """Remove the nodes of ranks start..stop-1; returns their (member, score) pairs."""
        if start == 0:
            update = [self.head] * self.level    # popping the lowest: no search needed
        else:
            update = [None] * self.level
            node, traversed = self.head, -1
            for level in range(self.level - 1, -1, -1):
                nxt = node.forward[level]
                while nxt is not None and traversed + node.span[level] < start:
                    traversed += node.span[level]
                    node = nxt
                    nxt = node.forward[level]
                update[level] = node
        # update[] holds the predecessors of rank `start`, and stays right as each node
        # of the run is unlinked: the next one takes its place.
        removed = []
        node = update[0].forward[0]
        for _ in range(stop - start):
            following = node.forward[0]
            self._unlink(node, update)
            removed.append((node.member, node.score))
            node = following
        return removed

    def __iter__(self):
        """(member, score) pairs in order."""
        node = self.head.forward[0]
        while node is not None:
            yield node.member, node.score
            node = node.forward[0]

    @classmethod
    def from_sorted(cls, pairs) -> "SkipList":
        """A skip list of (member, score) pairs already in (score, member) order, built in
        O(n) by appending each node after the last node of each of its lanes."""
        skiplist = cls()
        head = skiplist.head
        last = [head] * MAX_LEVEL                # the rightmost node of each lane so far
        last_rank = [0] * MAX_LEVEL              # its rank, counted from 1
        previous = None
        rank = 0
        for member, score in pairs:
            rank += 1
            level = random_level()
            node = Node(member, score, level)
            for lane in range(level):
                last[lane].forward[lane] = node
                last[lane].span[lane] = rank - last_rank[lane]
                last[lane] = node
                last_rank[lane] = rank
            node.backward = previous
            previous = node
            skiplist.level = max(skiplist.level, level)
        # Links that lead nowhere span what is left after them, as insert() keeps them.
        for lane in range(skiplist.level):
            last[lane].span[lane] = rank - last_rank[lane]
        skiplist.tail = previous
        skiplist.length = rank
        return skiplist
