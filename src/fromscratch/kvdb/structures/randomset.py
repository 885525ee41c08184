"""A set that can also hand out a random member in O(1) (for SPOP and SRANDMEMBER).

Python's set can't pick a random member without copying itself. This one keeps the
members in a list, and a dict from member to its place in the list; removal moves the
last member into the hole, so add, remove, membership and random choice are all O(1).
The dict's keys also give set algebra (`a.members.keys() & b.members.keys()`).
"""

from __future__ import annotations

import random


class RandomSet:
    __slots__ = ("members", "order")

    def __init__(self, items=()):
        self.members: dict[bytes, int] = {}
        self.order: list[bytes] = []
        for item in items:
            self.add(item)

    def __len__(self):
        return len(self.order)

    def __bool__(self):
        return bool(self.order)

    def __contains__(self, member) -> bool:
        return member in self.members

    def __iter__(self):
        return iter(self.order)

    def add(self, member: bytes) -> bool:
        if member in self.members:
            return False
        self.members[member] = len(self.order)
        self.order.append(member)
        return True

    def remove(self, member: bytes) -> bool:
        index = self.members.pop(member, None)
        if index is None:
            return False
        last = self.order.pop()
        if index < len(self.order):
            self.order[index] = last
            self.members[last] = index
        return True

    def clear(self) -> None:
        self.members = {}
        self.order = []

    def random_member(self) -> bytes:
        return self.order[int(random.random() * len(self.order))]

    def pop_random(self) -> bytes:
        member = self.random_member()
        self.remove(member)
        return member

    def sample(self, count: int) -> list[bytes]:
        """`count` distinct random members (count <= len(self))."""
        return random.sample(self.order, count)

    def copy(self) -> "RandomSet":
        clone = RandomSet()
        clone.members = dict(self.members)
        clone.order = list(self.order)
        return clone
