"""Walking dotted paths through documents and arrays, shared by every engine module.

A path like "a.b.0.c" names a field through embedded documents; where it meets an
array, MongoDB either indexes into it (a numeric part) or reaches into every element.
Two flavours are needed:

* `leaves(document, path)`: every value the path reaches, as the query matcher sees
  them (each element of an array is tried; a missing field yields MISSING), with the
  position in the first array crossed, which the positional `$` operators need;
* `lookup(document, path)`: the one value aggregation's "$a.b" denotes (through an
  array, the list of what each element holds).
"""

from __future__ import annotations


class _Missing:
    """A field that is not there (different from a field holding null)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING = _Missing()


def split(path: str) -> list[str]:
    return path.split(".")


def leaves(value, parts: list[str], start: int = 0, position: int | None = None):
    """Yield (leaf value or MISSING, index in the first array crossed or None)."""
    for i in range(start, len(parts)):
        part = parts[i]
        if isinstance(value, dict):
            if part not in value:
                yield MISSING, position
                return
            value = value[part]
        elif type(value) is list:
            found = False
            if part.isdigit():
                index = int(part)
                if index < len(value):
                    found = True
                    yield from leaves(value[index], parts, i + 1,
                                      index if position is None else position)
            for index, element in enumerate(value):
                if isinstance(element, dict):
                    found = True
                    yield from leaves(element, parts, i,
                                      index if position is None else position)
            if not found:
                yield MISSING, position
            return
        else:
            yield MISSING, position
            return
    yield value, position


def lookup(value, path: str | list[str]):
    """The value at `path` as aggregation sees it, or MISSING.

    Through an array the result is the list of what each element holds, with elements
    that lack the field left out (`{a: [{b: 1}, {}, {b: 2}]}` -> "$a.b" is [1, 2]).
    """
    parts = split(path) if isinstance(path, str) else path
    for i, part in enumerate(parts):
        if isinstance(value, dict):
            value = value.get(part, MISSING)
            if value is MISSING:
                return MISSING
        elif type(value) is list:
            out = []
            for element in value:
                if isinstance(element, (dict, list)):
                    found = lookup(element, parts[i:])
                    if found is not MISSING:
                        out.append(found)
            return out
        else:
            return MISSING
    return value


def get_simple(value, parts: list[str]):
    """The value at a path through documents and numeric array indexes only, or MISSING."""
    for part in parts:
        if isinstance(value, dict):
            if part not in value:
                return MISSING
            value = value[part]
        elif type(value) is list and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return MISSING
    return value


def deep_copy(value):
    """A copy sharing nothing mutable (documents and arrays); far cheaper than copy.deepcopy
    because BSON values other than dicts and lists are immutable."""
    kind = type(value)
    if kind is dict:
        return {key: deep_copy(item) if type(item) in (dict, list) else item
                for key, item in value.items()}
    if kind is list:
        return [deep_copy(item) if type(item) in (dict, list) else item for item in value]
    return value
