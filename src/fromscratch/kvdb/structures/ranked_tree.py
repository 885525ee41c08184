r"""The order of a sorted set: a B+ tree of (score, member) pairs that also knows ranks.

A sorted set must find a member's place, insert, delete, and go from a rank to a pair
and back, all in O(log n). A skip list does that with one small object per member and
a walk from node to node; in CPython every step of that walk is several pointer chases
through scattered objects, and on a set of 100k members the walks cost tens of
microseconds. This tree keeps the pairs in *leaves*: plain sorted Python lists of up to
2 x LOAD pairs, searched and edited by C code (`bisect`, `list.insert`). Above them,
one index level:

    maxes   [ (1.0, b"c")  (7.5, b"q")  (9.0, b"z") ]     the last pair of each leaf
    sizes   Fenwick tree over [ 3, 4, 2 ]                  pairs per leaf, for ranks
    leaves  [ (0.5,a) (0.7,b) (1.0,c) ] [ (2,d) ... (7.5,q) ] [ (8,r) (9.0,z) ]

* find the leaf of a pair: bisect `maxes` (C);  then bisect inside the leaf (C);
* rank of a pair: the pairs in all earlier leaves (a Fenwick prefix sum, O(log leaves))
  plus its position in its leaf;
* pair at a rank: a Fenwick search finds the leaf and the offset in it;
* insert / delete: a bisect and a list insert or delete in one leaf, and an O(log
  leaves) update of its count. A leaf that grows past 2 x LOAD splits in two; one that
  shrinks below LOAD / 4 merges into a neighbour; then the index is rebuilt, which
  costs O(leaves) but happens at most once every LOAD / 4 changes.

With LOAD = 512 a set of a million members has about two thousand leaves. The height
is two — the index level is arrays rather than nodes — which is what keeps every step
in C for the sizes sorted sets really have.

Pairs are tuples (score, member) so that Python compares them as Redis orders them:
by score, then by member bytes.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from itertools import chain

LOAD = 512


class Fenwick:
    """Prefix sums over a list of counts, with O(log n) update, prefix and search."""

    __slots__ = ("tree",)

    def __init__(self, counts: list[int]):
        tree = [0] + list(counts)
        for index in range(1, len(tree)):
            parent = index + (index & -index)
            if parent < len(tree):
                tree[parent] += tree[index]
        self.tree = tree

    def add(self, position: int, delta: int) -> None:
        tree = self.tree
        index = position + 1
        while index < len(tree):
            tree[index] += delta
            index += index & -index

    def prefix(self, position: int) -> int:
        """The sum of the counts before `position`."""
        tree, index, total = self.tree, position, 0
        while index:
            total += tree[index]
            index -= index & -index
        return total

    def find(self, rank: int) -> tuple[int, int]:
        """(position, offset): the count that contains the `rank`-th unit (0-based)."""
        tree = self.tree
        size = len(tree)
        position, remaining = 0, rank
        step = 1 << (size - 1).bit_length()
        while step:
            following = position + step
            if following < size and tree[following] <= remaining:
                position = following
                remaining -= tree[following]
            step >>= 1
        return position, remaining


class RankedTree:
    __slots__ = ("leaves", "maxes", "sizes", "length")

    def __init__(self):
        self.leaves: list[list[tuple]] = []
        self.maxes: list[tuple] = []
        self.sizes = Fenwick([])
        self.length = 0

    def __len__(self):
        return self.length

    @classmethod
    def from_sorted(cls, pairs) -> "RankedTree":
        """A tree of (member, score) pairs already in (score, member) order: O(n)."""
        tree = cls()
        flat = [(score, member) for member, score in pairs]
        tree.leaves = [flat[i:i + LOAD] for i in range(0, len(flat), LOAD)]
        tree.length = len(flat)
        tree._reindex()
        return tree

    def _reindex(self) -> None:
        self.maxes = [leaf[-1] for leaf in self.leaves]
        self.sizes = Fenwick([len(leaf) for leaf in self.leaves])

    def _leaf_of(self, pair: tuple) -> int:
        index = bisect_left(self.maxes, pair)
        return min(index, len(self.leaves) - 1)

    # -- changes ---------------------------------------------------------------------

    def insert(self, score: float, member) -> None:
        pair = (score, member)
        self.length += 1
        if not self.leaves:
            self.leaves.append([pair])
            self._reindex()
            return
        index = self._leaf_of(pair)
        leaf = self.leaves[index]
        insort(leaf, pair)
        self.maxes[index] = leaf[-1]
        if len(leaf) > 2 * LOAD:
            self.leaves[index:index + 1] = [leaf[:LOAD], leaf[LOAD:]]
            self._reindex()
        else:
            self.sizes.add(index, 1)

    def delete(self, score: float, member) -> bool:
        pair = (score, member)
        if not self.leaves:
            return False
        index = self._leaf_of(pair)
        leaf = self.leaves[index]
        position = bisect_left(leaf, pair)
        if position == len(leaf) or leaf[position] != pair:
            return False
        del leaf[position]
        self.length -= 1
        self._shrunk(index, 1)
        return True

    def _shrunk(self, index: int, removed: int) -> None:
        """Leaf `index` lost `removed` pairs: keep the index right, merge if small."""
        leaf = self.leaves[index]
        if not leaf:
            del self.leaves[index]
            self._reindex()
        elif len(leaf) < LOAD // 4 and len(self.leaves) > 1:
            neighbour = index - 1 if index else index + 1
            first, second = sorted((index, neighbour))
            merged = self.leaves[first] + self.leaves[second]
            self.leaves[first:second + 1] = (
                [merged] if len(merged) <= 2 * LOAD else [merged[:LOAD], merged[LOAD:]])
            self._reindex()
        else:
            self.maxes[index] = leaf[-1]
            self.sizes.add(index, -removed)

    # -- ranks ---------------------------------------------------------------------------

    def rank(self, score: float, member) -> int:
        """The rank of (score, member), which must be in the tree."""
        pair = (score, member)
        index = self._leaf_of(pair)
        return self.sizes.prefix(index) + bisect_left(self.leaves[index], pair)

    def count_before(self, goes_before) -> int:
        """How many pairs satisfy `goes_before(score, member)`, a test that holds for a
        prefix of the order (e.g. "score < 5"): also the rank where the rest begins."""
        leaves = self.leaves
        low, high = 0, len(leaves)
        while low < high:                       # the first leaf not wholly before
            middle = (low + high) // 2
            if goes_before(*leaves[middle][-1]):
                low = middle + 1
            else:
                high = middle
        if low == len(leaves):
            return self.length
        leaf = leaves[low]
        start, stop = 0, len(leaf)
        while start < stop:
            middle = (start + stop) // 2
            if goes_before(*leaf[middle]):
                start = middle + 1
            else:
                stop = middle
        return self.sizes.prefix(low) + start

    def _locate(self, rank: int) -> tuple[int, int]:
        """(leaf, offset) of `rank`. Ranks in the first or last leaf (pops, the top of a
        ZRANGE or ZREVRANGE) need no search."""
        leaves = self.leaves
        if rank < len(leaves[0]):
            return 0, rank
        last = len(leaves) - 1
        first_of_last = self.length - len(leaves[last])
        if rank >= first_of_last:
            return last, rank - first_of_last
        return self.sizes.find(rank)

    def pair_at(self, rank: int) -> tuple:
        """The (score, member) pair at `rank` (0 <= rank < len)."""
        if not 0 <= rank < self.length:
            raise IndexError(rank)
        index, offset = self._locate(rank)
        return self.leaves[index][offset]

    # -- runs of pairs -----------------------------------------------------------------------

    def _pairs_from(self, rank: int):
        """Every pair from `rank` on, in order."""
        if rank >= self.length:
            return iter(())
        index, offset = self._locate(rank)
        return chain(self.leaves[index][offset:], *self.leaves[index + 1:])

    def slice(self, start: int, stop: int, reverse: bool = False) -> list[tuple]:
        """(member, score) pairs of the ranks start..stop-1 (clamped by the caller),
        lowest first, or highest first when `reverse`."""
        if stop <= start:
            return []
        pairs = []
        for score, member in self._pairs_from(start):
            pairs.append((member, score))
            if len(pairs) == stop - start:
                break
        if reverse:
            pairs.reverse()
        return pairs

    def delete_slice(self, start: int, stop: int) -> list[tuple]:
        """Remove the pairs of ranks start..stop-1; returns them as (member, score)."""
        if stop <= start:
            return []
        index, offset = self._locate(start)
        leaf = self.leaves[index]
        if offset + stop - start <= len(leaf):      # within one leaf: pops, mostly
            taken = leaf[offset:offset + stop - start]
            del leaf[offset:offset + stop - start]
            self.length -= stop - start
            self._shrunk(index, stop - start)
            return [(member, score) for score, member in taken]
        removed = self.slice(start, stop)
        self.length -= len(removed)
        remaining = len(removed)
        while remaining:
            leaf = self.leaves[index]
            taken = min(remaining, len(leaf) - offset)
            del leaf[offset:offset + taken]
            remaining -= taken
            if leaf:
                index, offset = index + 1, 0
            else:
                del self.leaves[index]
                offset = 0
        self.leaves = [leaf for leaf in self.leaves if leaf]
        self._merge_small()
        self._reindex()
        return removed

    def _merge_small(self) -> None:
        leaves, merged = self.leaves, []
        for leaf in leaves:
            if merged and (len(leaf) < LOAD // 4 or len(merged[-1]) < LOAD // 4):
                combined = merged[-1] + leaf
                merged[-1:] = [combined] if len(combined) <= 2 * LOAD else [
                    combined[:LOAD], combined[LOAD:]]
            else:
                merged.append(leaf)
        self.leaves = merged

    def __iter__(self):
        """(member, score) pairs in order."""
        for leaf in self.leaves:
            for score, member in leaf:
                yield member, score
