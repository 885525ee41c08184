"""Shaping query results: sort order and projection.

    sort_documents(documents, {"age": -1, "name": 1})
    Projection({"name": 1, "tags": {"$slice": 2}}).apply(document, position)

Sorting by a field that holds an array uses the array's smallest element in an
ascending sort and its largest in a descending one; a missing field sorts as null
(docs: "sort() behaviour").

A projection either includes fields (`{a: 1, "b.c": 1}`, plus `_id` unless `_id: 0`) or
excludes them (`{a: 0}`), never both. On top of either: `$slice` and `$elemMatch` on an
array field, the positional `"arr.$": 1` (the element the query matched), and, in an
inclusion projection, computed fields (`{total: {$add: ["$a", "$b"]}}`).
"""

from __future__ import annotations

from . import ordering
from .documents import MISSING, leaves, split
from .errors import MongoError, bad_value
from .matcher import Matcher

_NULL_KEY = ordering.sort_key(None)


def _sort_value(document: dict, parts: list[str], descending: bool, sort_key):
    keys = []
    for value, _position in leaves(document, parts):
        if value is MISSING:
            keys.append(_NULL_KEY)
        elif type(value) is list:
            if not value:
                keys.append((ordering.NULL - 0.5,))   # an empty array sorts before null
            keys.extend(sort_key(item) for item in value)
        else:
            keys.append(sort_key(value))
    if not keys:
        return _NULL_KEY
    return max(keys) if descending else min(keys)


def parse_sort(spec) -> list[tuple[list[str], bool]]:
    """`{a: 1, b: -1}` -> [(["a"], False), (["b"], True)]."""
    if spec is None:
        return []
    if not isinstance(spec, dict):
        raise bad_value("the sort must be a document")
    keys = []
    for path, direction in spec.items():
        if isinstance(direction, dict):
            raise bad_value(f"unsupported sort key: {path}: {direction} ($meta needs $text)")
        if not ordering.is_number(direction) or ordering.number(direction) not in (1, -1):
            raise bad_value("$sort key ordering must be 1 (for ascending) or -1 "
                            "(for descending)")
        keys.append((split(path), ordering.number(direction) == -1))
    return keys


def sort_documents(documents: list, spec, sort_key=ordering.sort_key) -> list:
    """A new list of `documents` in `spec` order (stable: ties keep their order);
    `sort_key` may be a collation's (ordering.collation_key)."""
    keys = parse_sort(spec)
    out = list(documents)
    # One stable sort per key, least significant first: the classic multi-key sort.
    for parts, descending in reversed(keys):
        out.sort(key=lambda doc, p=parts, d=descending: _sort_value(doc, p, d, sort_key),
                 reverse=descending)
    return out


# -- projection --------------------------------------------------------------------------------


class Projection:
    """A find projection; with `aggregation=True`, the `$project` stage's flavour, where
    every object or string value is an expression (`{$slice: [...]}` included)."""

    def __init__(self, spec: dict | None, aggregation: bool = False,
                 variables: dict | None = None):
        self.spec = spec or {}
        self.aggregation = aggregation
        self.variables = variables or {}
        if not isinstance(self.spec, dict):
            raise bad_value("the projection must be a document")
        self.include_id = True
        self.inclusion: bool | None = None      # None: only $slice or nothing was given
        self.tree: dict = {}                     # path tree of included / excluded fields
        self.computed: dict = {}                 # field -> compiled expression
        self.slices: dict[str, object] = {}
        self.elem_matches: dict[str, Matcher] = {}
        self.positional: str | None = None
        for path, value in self.spec.items():
            self._add(path, value)
        if self.inclusion is None and (self.elem_matches or self.spec.get("_id", 0)):
            self.inclusion = True           # {arr: {$elemMatch: ...}} or {_id: 1} alone

    def _mode(self, inclusion: bool, path: str) -> None:
        if self.inclusion is None:
            self.inclusion = inclusion
        elif self.inclusion != inclusion:
            kind = "exclusion" if not inclusion else "inclusion"
            other = "inclusion" if not inclusion else "exclusion"
            raise MongoError(31254 if not inclusion else 31253,
                             f"Cannot do {kind} on field {path} in {other} projection")

    def _add(self, path: str, value) -> None:
        if path.endswith(".$"):
            if self.positional is not None:
                raise bad_value("Cannot specify more than one positional projection per query.")
            self.positional = path[:-2]
            self._mode(True, path)
            self._mark(path[:-2], True)
            return
        if self.aggregation and (isinstance(value, (dict, list, str)) and not
                                 (isinstance(value, dict) and not value)):
            from .expressions import compile_expression
            if isinstance(value, dict) and value and not next(iter(value)).startswith("$"):
                for key, inner in value.items():            # {a: {b: 1}} means "a.b": 1
                    self._add(f"{path}.{key}", inner)
                return
            self._mode(True, path)
            self.computed[path] = compile_expression(value)
            return
        if isinstance(value, dict) and len(value) == 1 and "$slice" in value:
            self.slices[path] = value["$slice"]
            return
        if isinstance(value, dict) and len(value) == 1 and "$elemMatch" in value:
            self.elem_matches[path] = Matcher(value["$elemMatch"])
            self._mark(path, True)
            return
        if isinstance(value, (dict, list)) or (isinstance(value, str) and value.startswith("$")):
            from .expressions import compile_expression
            self._mode(True, path)
            self.computed[path] = compile_expression(value)
            return
        include = bool(ordering.number(value)) if ordering.is_number(value) or \
            isinstance(value, bool) else True
        if path == "_id":
            self.include_id = include
            return
        self._mode(include, path)
        self._mark(path, True)

    def _mark(self, path: str, flag: bool) -> None:
        node = self.tree
        parts = split(path)
        for part in parts[:-1]:
            child = node.get(part)
            if child is True:
                return
            node = node.setdefault(part, {})
        node[parts[-1]] = flag

    def apply(self, document: dict, position: int | None = None) -> dict:
        if not self.spec:
            return document
        if self.inclusion:
            result = _include(document, self.tree)
            if self.include_id and "_id" in document:
                result = {"_id": document["_id"], **{k: v for k, v in result.items() if k != "_id"}}
            elif not self.include_id:
                result.pop("_id", None)
        else:
            tree = self.tree if self.include_id else {**self.tree, "_id": True}
            result = _exclude(document, tree)
        for path, matcher in self.elem_matches.items():
            array = document.get(path)
            if type(array) is list:
                for element in array:
                    if isinstance(element, dict) and matcher.matches(element):
                        result[path] = [element]
                        break
                else:
                    result.pop(path, None)
            else:
                result.pop(path, None)
        if self.positional is not None:
            _positional(result, split(self.positional), position)
        for path, spec in self.slices.items():
            _slice(result, split(path), spec)
        if self.computed:
            variables = {**self.variables, "ROOT": document, "CURRENT": document}
            for path, expression in self.computed.items():
                value = expression(document, variables)
                if value is not MISSING:
                    _set_path(result, split(path), value)
        return result


def _include(value, tree: dict):
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            rule = tree.get(key)
            if rule is True:
                out[key] = item
            elif isinstance(rule, dict):
                if isinstance(item, dict):
                    out[key] = _include(item, rule)
                elif type(item) is list:
                    out[key] = [_include(e, rule) for e in item if isinstance(e, (dict, list))]
        return out
    if type(value) is list:
        return [_include(e, tree) for e in value if isinstance(e, (dict, list))]
    return value


def _exclude(value, tree: dict):
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            rule = tree.get(key)
            if rule is True:
                continue
            if isinstance(rule, dict) and isinstance(item, (dict, list)):
                out[key] = _exclude(item, rule)
            else:
                out[key] = item
        return out
    if type(value) is list:
        return [_exclude(e, tree) if isinstance(e, (dict, list)) else e for e in value]
    return value


def _positional(result: dict, parts: list[str], position: int | None) -> None:
    node = result
    for part in parts[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
    if not isinstance(node, dict) or type(node.get(parts[-1])) is not list:
        return
    if position is None:
        raise MongoError(51246, "Executor error during find command :: caused by :: positional "
                                "operator '.$' couldn't find a matching element in the array")
    array = node[parts[-1]]
    node[parts[-1]] = array[position:position + 1]


def _slice(result: dict, parts: list[str], spec) -> None:
    node = result
    for part in parts[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
    if not isinstance(node, dict) or type(node.get(parts[-1])) is not list:
        return
    array = node[parts[-1]]
    if isinstance(spec, list) and len(spec) == 2:
        skip, limit = (int(ordering.number(v)) for v in spec)
        if limit <= 0:
            raise bad_value("$slice limit must be positive")
        start = skip if skip >= 0 else max(0, len(array) + skip)
        node[parts[-1]] = array[start:start + limit]
    elif ordering.is_number(spec):
        n = int(ordering.number(spec))
        node[parts[-1]] = array[:n] if n >= 0 else array[n:]
    else:
        raise bad_value("$slice only supports numbers and [skip, limit] arrays")


def _set_path(document: dict, parts: list[str], value) -> None:
    for part in parts[:-1]:
        child = document.get(part)
        if not isinstance(child, dict):
            child = document[part] = {}
        document = child
    document[parts[-1]] = value
