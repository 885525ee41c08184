"""The query planner: choose an index for a filter, or scan the collection.

The planner looks at the filter's top-level conditions (and those inside a top-level
`$and`) that an index can answer: equality with a plain value, `$eq`, `$in`, and the
ranges `$gt $gte $lt $lte`. An index is usable when its first field has such a
condition; it scores two points per leading field with an equality and one when the
next field has a range. The best score wins (a unique index breaks ties); no usable
index means a collection scan (COLLSCAN).

An index scan (IXSCAN) only narrows the candidates: every candidate document is still
checked by the full matcher (the FETCH stage), so a plan is never wrong, only more or
less selective. That keeps the bounds simple, and correct for multikey indexes, where
two range conditions may be met by different elements of an array and so may not be
combined into one interval.

A sparse index lacks the documents where the field is missing, and a partial index
those its filter rejects: they are used only when the query cannot match such
documents (an equality on a non-null value; a query that contains the partial filter's
conditions).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from . import ordering
from .bson import Regex
from .indexes import HIGHEST, LOWEST, Index
from .matcher import Matcher


@dataclass
class Condition:
    """What the filter asks of one field, in index terms."""
    points: list | None = None                  # sort keys of equal values
    low: tuple | None = None                    # range bounds (sort keys), inclusive
    high: tuple | None = None


@dataclass
class Plan:
    index: Index | None
    bounds: list[tuple[tuple, tuple]] = field(default_factory=list)

    @property
    def stage(self) -> str:
        return "IXSCAN" if self.index else "COLLSCAN"


@dataclass
class Stats:
    keys_examined: int = 0
    docs_examined: int = 0
    returned: int = 0
    millis: int = 0


def _conditions(query: dict) -> dict[str, Condition]:
    found: dict[str, Condition] = {}

    def visit(clauses: dict):
        for path, value in clauses.items():
            if path == "$and" and isinstance(value, list):
                for clause in value:
                    if isinstance(clause, dict):
                        visit(clause)
                continue
            if path.startswith("$"):
                continue
            condition = _condition(value)
            if condition is not None and path not in found:
                found[path] = condition

    visit(query)
    return found


def _indexable(value) -> bool:
    """Values whose equality an index answers exactly: not null (which also matches
    missing fields), not arrays or regexes (which match in other ways)."""
    return value is not None and not isinstance(value, (list, Regex)) and \
        not (isinstance(value, dict) and any(k.startswith("$") for k in value))


def _condition(value) -> Condition | None:
    if not (isinstance(value, dict) and value and next(iter(value)).startswith("$")):
        return Condition(points=[ordering.sort_key(value)]) if _indexable(value) else None
    condition = Condition()
    for operator, argument in value.items():
        if operator == "$eq" and _indexable(argument):
            condition.points = [ordering.sort_key(argument)]
        elif operator == "$in" and isinstance(argument, list) and \
                all(_indexable(v) for v in argument):
            condition.points = sorted({ordering.sort_key(v) for v in argument})
        elif operator in ("$gt", "$gte") and _indexable(argument) and not ordering.is_nan(argument):
            condition.low = ordering.sort_key(argument)
        elif operator in ("$lt", "$lte") and _indexable(argument) and not ordering.is_nan(argument):
            condition.high = ordering.sort_key(argument)
    if condition.points is None and condition.low is None and condition.high is None:
        return None
    # Comparisons only match values of the same type (type bracketing).
    if condition.low is not None and condition.high is None:
        condition.high = (condition.low[0] + 1,)
    elif condition.high is not None and condition.low is None:
        condition.low = (condition.high[0],)
    return condition


def _partial_covered(index: Index, query: dict) -> bool:
    return all(query.get(key) == value for key, value in index.partial.items())


def choose(indexes: dict[str, Index], query: dict, hint=None) -> Plan:
    conditions = _conditions(query)
    candidates = list(indexes.values())
    if hint is not None:
        candidates = [i for i in candidates if hint in (i.name, {f: d for f, d in i.key})]
        if not candidates:
            from .errors import MongoError
            raise MongoError(2, "hint provided does not correspond to an existing index")
    best, best_score = None, (0,)
    for index in candidates:
        if index.partial is not None and not _partial_covered(index, query):
            continue
        score = 0
        for path, _ in index.key:
            condition = conditions.get(path)
            if condition is None:
                break
            if condition.points is not None:
                score += 2
                continue
            score += 1                           # a range ends the usable prefix
            break
        rank = (score, index.unique, -len(index.key))
        if score and rank > best_score:
            best, best_score = index, rank
    if best is None:
        if hint is not None:
            best = candidates[0]
            if best.sparse or best.partial is not None:
                return Plan(None)
            width = len(best.key)
            return Plan(best, [((LOWEST,) * width, (HIGHEST,) * width)])
        return Plan(None)
    return Plan(best, _bounds(best, conditions))


def _bounds(index: Index, conditions: dict[str, Condition]) -> list[tuple[tuple, tuple]]:
    """Key intervals [low, high] of the index to scan."""
    prefixes: list[tuple] = [()]
    tail = None
    for path, _ in index.key:
        condition = conditions.get(path)
        if condition is None:
            break
        if condition.points is not None:
            prefixes = [prefix + (point,) for prefix in prefixes for point in condition.points]
            continue
        low, high = condition.low, condition.high
        if index.multikey:
            # Different array elements may meet each bound: keep only the type bracket.
            low, high = (low[0],), (low[0] + 1,)
        tail = (low, high)
        break
    width = len(index.key)
    intervals = []
    for prefix in prefixes:
        low = prefix + ((tail[0],) if tail else ())
        high = prefix + ((tail[1],) if tail else ())
        intervals.append((low + (LOWEST,) * (width - len(low)),
                          high + (HIGHEST,) * (width - len(high))))
    return intervals


def execute(plan: Plan, documents: dict, matcher: Matcher, stats: Stats | None = None):
    """Yield the matching documents, in index order or natural order."""
    stats = stats if stats is not None else Stats()
    started = time.monotonic()
    if plan.index is None:
        for document in list(documents.values()):
            stats.docs_examined += 1
            if matcher.matches(document):
                stats.returned += 1
                yield document
    else:
        seen = set()
        ids = []
        for low, high in plan.bounds:
            for _key, doc_id in plan.index.scan(low, high):
                stats.keys_examined += 1
                if doc_id not in seen:
                    seen.add(doc_id)
                    ids.append(doc_id)
        for doc_id in ids:
            document = documents.get(doc_id)
            if document is None:
                continue
            stats.docs_examined += 1
            if matcher.matches(document):
                stats.returned += 1
                yield document
    stats.millis = int((time.monotonic() - started) * 1000)
