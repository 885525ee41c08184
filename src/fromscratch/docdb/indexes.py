"""Secondary indexes: ordered (key, document id) entries kept beside a collection.

An index on `{a: 1, "b.c": -1}` holds, for each document, the tuple of the sort keys
(ordering.sort_key) of its `a` and `b.c` values. A field holding an array contributes one
entry per element (a "multikey" index); a missing field indexes as null unless the index
is `sparse`. A `partialFilterExpression` keeps only the documents it matches, `unique`
refuses a second document with the same key, and `expireAfterSeconds` makes it a TTL
index (storage.py removes expired documents).

Entries live in a `SortedList`: a list of short sorted lists, the structure of the
sortedcontainers package in miniature. Inserting into one flat sorted list moves half
the list on every insert; short sublists keep inserts and deletes cheap while range
scans stay a bisect and a walk.
"""

from __future__ import annotations

import bisect
import itertools

from . import ordering
from .documents import MISSING, leaves, split
from .errors import MongoError
from .matcher import Matcher

# Sentinels below and above every sort key (sort keys start with a rank from 0 to 12).
LOWEST = (-1,)
HIGHEST = (99,)


class SortedList:
    LOAD = 512                # sublists are split when they reach twice this length

    def __init__(self):
        self._lists: list[list] = []
        self._maxes: list = []
        self._length = 0

    def __len__(self) -> int:
        return self._length

    def add(self, item) -> None:
        if not self._lists:
            self._lists.append([item])
            self._maxes.append(item)
        else:
            i = bisect.bisect_left(self._maxes, item)
            if i == len(self._maxes):
                i -= 1
                self._lists[i].append(item)
                self._maxes[i] = item
            else:
                bisect.insort(self._lists[i], item)
            if len(self._lists[i]) > 2 * self.LOAD:
                half = self._lists[i][self.LOAD:]
                del self._lists[i][self.LOAD:]
                self._maxes[i] = self._lists[i][-1]
                self._lists.insert(i + 1, half)
                self._maxes.insert(i + 1, half[-1])
        self._length += 1

    def remove(self, item) -> None:
        i = bisect.bisect_left(self._maxes, item)
        if i == len(self._maxes):
            return
        sub = self._lists[i]
        j = bisect.bisect_left(sub, item)
        if j == len(sub) or sub[j] != item:
            return
        del sub[j]
        self._length -= 1
        if not sub:
            del self._lists[i]
            del self._maxes[i]
        else:
            self._maxes[i] = sub[-1]

    def irange(self, low, high):
        """Items with low <= item <= high, in order."""
        i = bisect.bisect_left(self._maxes, low)
        if i == len(self._maxes):
            return
        j = bisect.bisect_left(self._lists[i], low)
        while i < len(self._lists):
            sub = self._lists[i]
            while j < len(sub):
                item = sub[j]
                if item > high:
                    return
                yield item
                j += 1
            i, j = i + 1, 0

    def __iter__(self):
        return itertools.chain.from_iterable(self._lists)


def default_name(key: list[tuple[str, object]]) -> str:
    return "_".join(f"{field}_{direction}" for field, direction in key)


def parse_key(spec) -> list[tuple[str, object]]:
    if not isinstance(spec, dict) or not spec:
        raise MongoError(67, "The index key pattern must be a non-empty object")
    key = []
    for field, direction in spec.items():
        if isinstance(direction, str):
            raise MongoError(67, f"Index type '{direction}' is not supported by this server")
        if not ordering.is_number(direction) or ordering.number(direction) == 0:
            raise MongoError(67, f"Values in the index key pattern can't be 0: {field}")
        key.append((field, 1 if ordering.number(direction) > 0 else -1))
    return key


class Index:
    OPTIONS = ("key", "name", "unique", "sparse", "partialFilterExpression",
               "expireAfterSeconds", "v", "background", "hidden", "collation")

    def __init__(self, spec: dict):
        for option in spec:
            if option not in self.OPTIONS:
                raise MongoError(197, f"The field '{option}' is not valid for an index "
                                      f"specification. Specification: {spec}")
        self.key = parse_key(spec.get("key"))
        self.name = spec.get("name") or default_name(self.key)
        if not isinstance(self.name, str):
            raise MongoError(14, "The index name must be a string")
        self.unique = bool(spec.get("unique", False))
        self.sparse = bool(spec.get("sparse", False))
        self.partial = spec.get("partialFilterExpression")
        self.partial_matcher = Matcher(self.partial) if self.partial is not None else None
        self.expire_after = spec.get("expireAfterSeconds")
        if self.expire_after is not None and (not ordering.is_number(self.expire_after) or
                                              ordering.number(self.expire_after) < 0):
            raise MongoError(2, "TTL index 'expireAfterSeconds' option must be a non-negative number")
        if self.name == "_id_":
            self.unique = True
        self.paths = [split(field) for field, _ in self.key]
        self.entries = SortedList()
        self.unique_keys: dict[tuple, object] = {}      # key -> document id (unique only)
        self.multikey = False

    def spec(self) -> dict:
        """The listIndexes form."""
        out = {"v": 2, "key": {field: direction for field, direction in self.key},
               "name": self.name}
        if self.unique and self.name != "_id_":
            out["unique"] = True
        if self.sparse:
            out["sparse"] = True
        if self.partial is not None:
            out["partialFilterExpression"] = self.partial
        if self.expire_after is not None:
            out["expireAfterSeconds"] = self.expire_after
        return out

    def same_definition(self, other: "Index") -> bool:
        return (self.key, self.unique, self.sparse, self.partial, self.expire_after) == \
            (other.key, other.unique, other.sparse, other.partial, other.expire_after)

    # -- keys ----------------------------------------------------------------------------

    def keys_for(self, document: dict) -> list[tuple]:
        """The index keys of a document (several for an array field; none when the index
        skips the document)."""
        if self.partial_matcher is not None and not self.partial_matcher.matches(document):
            return []
        per_field = []
        all_missing = True
        for parts in self.paths:
            values = []
            for value, _ in leaves(document, parts):
                if value is MISSING:
                    values.append(None)
                    continue
                all_missing = False
                if type(value) is list:
                    self.multikey = True
                    values.extend(value if value else [[]])
                else:
                    values.append(value)
            per_field.append({ordering.sort_key(v): None for v in values} or
                             {ordering.sort_key(None): None})
        if self.sparse and all_missing:
            return []
        if len(per_field) == 1:
            return [(k,) for k in per_field[0]]
        if sum(len(keys) > 1 for keys in per_field) > 1:
            raise MongoError(171, f"cannot index parallel arrays in index {self.name}")
        return [tuple(combo) for combo in itertools.product(*per_field)]

    def key_value(self, key: tuple, document: dict) -> dict:
        """`{field: value}` of a key, for duplicate-key errors (`keyValue`)."""
        out = {}
        for (field, _), parts in zip(self.key, self.paths):
            values = [v for v, _ in leaves(document, parts)]
            value = values[0] if values else None
            out[field] = None if value is MISSING else value
        if len(self.key) == 1:
            wanted = key[0]
            for value, _ in leaves(document, self.paths[0]):
                for item in (value if type(value) is list else [value]):
                    if item is not MISSING and ordering.sort_key(item) == wanted:
                        out[self.key[0][0]] = item
        return out

    # -- maintenance ------------------------------------------------------------------------

    def check(self, document: dict, doc_id, namespace: str) -> None:
        """Raise a duplicate key error if adding `document` would break uniqueness."""
        if not self.unique:
            return
        for key in self.keys_for(document):
            owner = self.unique_keys.get(key)
            if owner is not None and owner != doc_id:
                value = self.key_value(key, document)
                shown = ", ".join(f"{k}: {_show(v)}" for k, v in value.items())
                raise MongoError(
                    11000, f"E11000 duplicate key error collection: {namespace} index: "
                           f"{self.name} dup key: {{ {shown} }}",
                    keyPattern={f: d for f, d in self.key}, keyValue=value)

    def add(self, document: dict, doc_id) -> None:
        for key in self.keys_for(document):
            self.entries.add((key, doc_id))
            if self.unique:
                self.unique_keys[key] = doc_id

    def remove(self, document: dict, doc_id) -> None:
        for key in self.keys_for(document):
            self.entries.remove((key, doc_id))
            if self.unique and self.unique_keys.get(key) == doc_id:
                del self.unique_keys[key]

    def scan(self, low: tuple, high: tuple):
        """(key, document id) entries with low <= key <= high."""
        return self.entries.irange((low, LOWEST), (high, HIGHEST))


def _show(value) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if value is None:
        return "null"
    return repr(value)
