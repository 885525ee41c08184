"""The aggregation pipeline: documents flow through stages, each a generator.

    run_pipeline(documents, [{"$match": {...}}, {"$group": {...}}, {"$sort": {...}}],
                 Context(collection_documents=lambda name: [...]))

Stages: $match $project $addFields/$set $unset $group $sort $limit $skip $unwind
$lookup $count $facet $replaceRoot/$replaceWith $sortByCount $bucket $sample.
Group accumulators: $sum $avg $min $max $first $last $push $addToSet $count.

Stages are generators chained one into the next, so `$limit` after `$match` stops the
scan early; `$group`, `$sort`, `$bucket`, `$facet` and `$sample` must see every input.
The pipeline knows nothing of storage: `$lookup` asks the `Context` for the documents of
another collection.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from . import ordering
from .documents import MISSING, deep_copy, leaves, split
from .errors import MongoError
from .expressions import average, compile_expression, extreme, number_result, sum_numbers
from .matcher import Matcher
from .query import Projection, sort_documents


@dataclass
class Context:
    """What a pipeline may ask of the outside world: another collection's documents (for
    $lookup), a way to replace a collection's contents (for $out), and the `let`
    variables of the command."""
    collection_documents: Callable[[str], list[dict]] = lambda name: []
    replace_collection: Callable[[str, list[dict]], None] | None = None
    variables: dict = field(default_factory=dict)
    # merge_into(collection, documents, on fields, whenMatched, whenNotMatched), for $merge
    merge_into: Callable | None = None
    collation: dict | None = None         # how strings compare in $match, $sort, $group

    @property
    def sort_key(self):
        return ordering.collation_key(self.collation)

    def scope(self, document: dict) -> dict:
        """The variables an expression sees while evaluated against `document`."""
        return {**self.variables, "ROOT": document, "CURRENT": document}


Stage = Callable[[Iterator[dict]], Iterator[dict]]


def run_pipeline(documents: Iterable[dict], pipeline: list, context: Context | None = None) -> list[dict]:
    return list(stream_pipeline(documents, pipeline, context or Context()))


def stream_pipeline(documents: Iterable[dict], pipeline: list, context: Context) -> Iterator[dict]:
    stream: Iterator[dict] = iter(documents)
    for stage in compile_pipeline(pipeline, context):
        stream = stage(stream)
    return stream


def compile_pipeline(pipeline, context: Context) -> list[Stage]:
    if not isinstance(pipeline, list):
        raise MongoError(14, "'pipeline' option must be specified as an array")
    stages = []
    for spec in pipeline:
        if not isinstance(spec, dict) or len(spec) != 1:
            raise MongoError(40323, "A pipeline stage specification object must contain "
                                    "exactly one field.")
        name, argument = next(iter(spec.items()))
        if name not in STAGES:
            raise MongoError(40324, f"Unrecognized pipeline stage name: '{name}'")
        stages.append(STAGES[name](argument, context))
    return stages


UPDATE_STAGES = ("$addFields", "$set", "$project", "$unset", "$replaceRoot", "$replaceWith")


def run_update_pipeline(document: dict, pipeline: list, variables: dict | None = None) -> dict:
    """An update given as a pipeline (`update_one(q, [{"$set": ...}])`)."""
    for spec in pipeline:
        if not isinstance(spec, dict) or next(iter(spec), None) not in UPDATE_STAGES:
            raise MongoError(72, f"{next(iter(spec), '?')} is not allowed to be used within "
                                 f"an update")
    results = run_pipeline([document], pipeline, Context(variables=variables or {}))
    return results[0] if results else {}


# -- the stages ------------------------------------------------------------------------------


def _match(spec, context) -> Stage:
    if not isinstance(spec, dict):
        raise MongoError(15959, "the match filter must be an expression in an object")
    matcher = Matcher(spec, context.variables, context.collation)
    return lambda stream: (doc for doc in stream if matcher.matches(doc))


def _project(spec, context) -> Stage:
    if not isinstance(spec, dict) or not spec:
        raise MongoError(51272 if isinstance(spec, dict) else 15969,
                         "$project specification must be a non-empty object")
    projection = Projection(spec, aggregation=True, variables=context.variables)
    return lambda stream: (projection.apply(doc) for doc in stream)


def _add_fields(spec, context) -> Stage:
    if not isinstance(spec, dict):
        raise MongoError(40272, "$addFields specification stage must be an object")
    fields = [(split(path), compile_expression(value)) for path, value in spec.items()]

    def stage(stream):
        for doc in stream:
            out = deep_copy(doc)
            variables = context.scope(doc)
            for parts, expression in fields:
                value = expression(doc, variables)
                _assign(out, parts, value)
            yield out
    return stage


def _assign(document: dict, parts: list[str], value) -> None:
    for part in parts[:-1]:
        child = document.get(part)
        if not isinstance(child, dict):
            child = document[part] = {}
        document = child
    if value is MISSING:
        document.pop(parts[-1], None)
    else:
        document[parts[-1]] = value


def _unset(spec, context) -> Stage:
    paths = [spec] if isinstance(spec, str) else spec
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise MongoError(31002, "$unset specification must be a string or an array of strings")
    projection = Projection({path: 0 for path in paths})
    return lambda stream: (projection.apply(doc) for doc in stream)


def _replace_root(spec, context) -> Stage:
    if not isinstance(spec, dict) or "newRoot" not in spec:
        raise MongoError(40231, "no newRoot specified for the $replaceRoot stage")
    return _replace_with(spec["newRoot"], context)


def _replace_with(spec, context) -> Stage:
    expression = compile_expression(spec)

    def stage(stream):
        for doc in stream:
            value = expression(doc, context.scope(doc))
            if not isinstance(value, dict):
                raise MongoError(40228, f"'newRoot' expression must evaluate to an object, "
                                        f"but resulting value was: {value!r}")
            yield value
    return stage


def _sort(spec, context) -> Stage:
    if not isinstance(spec, dict) or not spec:
        raise MongoError(15976, "$sort stage must have at least one sort key")
    return lambda stream: iter(sort_documents(list(stream), spec, context.sort_key))


def _limit(spec, context) -> Stage:
    if not ordering.is_number(spec) or ordering.number(spec) <= 0:
        raise MongoError(15958, "the limit must be positive")
    limit = int(ordering.number(spec))

    def stage(stream):
        for count, doc in enumerate(stream, 1):
            yield doc
            if count >= limit:
                return
    return stage


def _skip(spec, context) -> Stage:
    if not ordering.is_number(spec) or ordering.number(spec) < 0:
        raise MongoError(15956, "the skip must be a non-negative number")
    skip = int(ordering.number(spec))

    def stage(stream):
        for count, doc in enumerate(stream):
            if count >= skip:
                yield doc
    return stage


def _count(spec, context) -> Stage:
    if not isinstance(spec, str) or not spec or spec.startswith("$") or "." in spec:
        raise MongoError(40156, "the count field must be a non-empty string without '$' or '.'")

    def stage(stream):
        total = sum(1 for _ in stream)
        if total:
            yield {spec: total}
    return stage


def _unwind(spec, context) -> Stage:
    if isinstance(spec, str):
        spec = {"path": spec}
    path = spec.get("path")
    if not isinstance(path, str) or not path.startswith("$"):
        raise MongoError(28818, "path option to $unwind stage should be prefixed with a '$'")
    parts = split(path[1:])
    index_field = spec.get("includeArrayIndex")
    keep_empty = bool(spec.get("preserveNullAndEmptyArrays", False))

    def stage(stream):
        for doc in stream:
            value = _get(doc, parts)
            if type(value) is list and value:
                for index, item in enumerate(value):
                    out = deep_copy(doc)
                    _assign(out, parts, item)
                    if index_field:
                        out[index_field] = number_result(index)
                    yield out
            elif type(value) is list or value is MISSING or value is None:
                if keep_empty:
                    out = deep_copy(doc)
                    if type(value) is list:
                        _assign(out, parts, MISSING)
                    if index_field:
                        out[index_field] = None
                    yield out
            else:
                out = doc
                if index_field:
                    out = {**doc, index_field: None}
                yield out
    return stage


def _get(document, parts: list[str]):
    for part in parts:
        if not isinstance(document, dict) or part not in document:
            return MISSING
        document = document[part]
    return document


def _lookup(spec, context) -> Stage:
    name = spec.get("from")
    target = spec.get("as")
    if not isinstance(target, str):
        raise MongoError(40321, "must specify 'as' field for a $lookup")
    if "pipeline" in spec:
        let = {key: compile_expression(value) for key, value in spec.get("let", {}).items()}
        pipeline = spec["pipeline"]
        local, foreign = spec.get("localField"), spec.get("foreignField")

        def stage(stream):
            foreign_docs = context.collection_documents(name)
            for doc in stream:
                scope = context.scope(doc)
                variables = {key: expression(doc, scope) for key, expression in let.items()}
                candidates = foreign_docs
                if local is not None:
                    candidates = _equal_on(foreign_docs, doc, local, foreign)
                inner = Context(context.collection_documents,
                                variables={**context.variables, **variables},
                                collation=context.collation)
                yield {**doc, target: run_pipeline(candidates, pipeline, inner)}
        return stage
    local, foreign = spec.get("localField"), spec.get("foreignField")
    if not isinstance(local, str) or not isinstance(foreign, str):
        raise MongoError(4570, "$lookup needs localField and foreignField, or a pipeline")

    def stage(stream):
        foreign_docs = context.collection_documents(name)
        for doc in stream:
            yield {**doc, target: _equal_on(foreign_docs, doc, local, foreign)}
    return stage


def _equal_on(foreign_docs: list, doc: dict, local: str, foreign: str) -> list:
    """Foreign documents whose `foreign` field equals (any of) the local field's value(s)."""
    wanted = set()
    for value, _ in leaves(doc, split(local)):
        values = value if type(value) is list else [value]
        for item in values:
            wanted.add(ordering.sort_key(None if item is MISSING else item))
    out = []
    foreign_parts = split(foreign)
    for other in foreign_docs:
        for value, _ in leaves(other, foreign_parts):
            values = value if type(value) is list and value else [value]
            if any(ordering.sort_key(None if v is MISSING else v) in wanted for v in values):
                out.append(other)
                break
    return out


def _facet(spec, context) -> Stage:
    if not isinstance(spec, dict) or not spec:
        raise MongoError(40169, "$facet requires a non-empty object")
    facets = {name: pipeline for name, pipeline in spec.items()}
    for pipeline in facets.values():
        compile_pipeline(pipeline, context)            # report errors before running

    def stage(stream):
        documents = list(stream)
        yield {name: run_pipeline(documents, pipeline, context)
               for name, pipeline in facets.items()}
    return stage


def _sort_by_count(spec, context) -> Stage:
    group = _group({"_id": spec, "count": {"$sum": 1}}, context)
    return lambda stream: iter(sort_documents(list(group(stream)), {"count": -1}))


def _sample(spec, context) -> Stage:
    size = spec.get("size") if isinstance(spec, dict) else None
    if not ordering.is_number(size) or ordering.number(size) < 0:
        raise MongoError(28747, "size argument to $sample must be a non-negative number")

    def stage(stream):
        documents = list(stream)
        return iter(random.sample(documents, min(int(size), len(documents))))
    return stage


def _bucket(spec, context) -> Stage:
    group_by = compile_expression(spec.get("groupBy"))
    boundaries = spec.get("boundaries")
    if not isinstance(boundaries, list) or len(boundaries) < 2:
        raise MongoError(40192, "The $bucket 'boundaries' field must be an array of at least "
                                "two values")
    keys = [ordering.sort_key(b) for b in boundaries]
    if keys != sorted(keys) or len(set(keys)) != len(keys):
        raise MongoError(40194, "The 'boundaries' option to $bucket must be sorted in "
                                "ascending order")
    has_default = "default" in spec
    output = spec.get("output", {"count": {"$sum": 1}})
    accumulators = _compile_accumulators(output)

    def stage(stream):
        buckets: dict[int, list] = {}
        for doc in stream:
            value = group_by(doc, context.scope(doc))
            key = ordering.sort_key(None if value is MISSING else value)
            slot = None
            for i in range(len(boundaries) - 1):
                if keys[i] <= key < keys[i + 1]:
                    slot = i
                    break
            if slot is None:
                if not has_default:
                    raise MongoError(40066, "$bucket could not find a matching branch for an "
                                            "input, and no default was specified.")
                slot = len(boundaries)
            state = buckets.setdefault(slot, [acc.start() for _, acc in accumulators])
            scope = context.scope(doc)
            for (_, acc), current in zip(accumulators, state):
                acc.add(current, doc, scope)
        for slot in sorted(buckets):
            identifier = boundaries[slot] if slot < len(boundaries) else spec["default"]
            out = {"_id": identifier}
            for (name, acc), current in zip(accumulators, buckets[slot]):
                out[name] = acc.result(current)
            yield out
    return stage


# -- $group and its accumulators -------------------------------------------------------------


class Accumulator:
    """One `{$op: expression}` of a $group: a mutable state per group."""

    def __init__(self, operator: str, argument):
        self.operator = operator
        if operator == "$count":
            if argument != {}:
                raise MongoError(15952, "$count takes no arguments, i.e. $count:{}")
            argument = 1
            self.operator = "$sum"
        self.expression = compile_expression(argument)

    def start(self) -> list:
        return [[] if self.operator in ("$push", "$addToSet", "$sum", "$avg", "$min", "$max")
                else MISSING, set()]

    def add(self, state: list, doc: dict, scope: dict) -> None:
        """Fold one document in (`scope`: the variables its expressions see)."""
        value = self.expression(doc, scope)
        op = self.operator
        if op == "$first":
            if state[0] is MISSING:
                state[0] = None if value is MISSING else value
        elif op == "$last":
            state[0] = None if value is MISSING else value
        elif op == "$addToSet":
            if value is not MISSING:
                key = ordering.sort_key(value)
                if key not in state[1]:
                    state[1].add(key)
                    state[0].append(value)
        elif value is not MISSING:
            state[0].append(value)

    def result(self, state: list):
        op, values = self.operator, state[0]
        if op == "$sum":
            return sum_numbers(values)
        if op == "$avg":
            return average(values)
        if op in ("$min", "$max"):
            return extreme(values, op == "$max")
        return values


ACCUMULATORS = ("$sum", "$avg", "$min", "$max", "$first", "$last", "$push", "$addToSet", "$count")


def _compile_accumulators(spec: dict) -> list[tuple[str, Accumulator]]:
    out = []
    for name, definition in spec.items():
        if "." in name:
            raise MongoError(40235, f"The field name '{name}' cannot contain '.'")
        if not isinstance(definition, dict) or len(definition) != 1:
            raise MongoError(40234, f"The field '{name}' must be an accumulator object")
        operator, argument = next(iter(definition.items()))
        if operator not in ACCUMULATORS:
            raise MongoError(15952, f"unknown group operator '{operator}'")
        out.append((name, Accumulator(operator, argument)))
    return out


def _group(spec, context) -> Stage:
    if not isinstance(spec, dict) or "_id" not in spec:
        raise MongoError(15955, "a group specification must include an _id")
    key_expression = compile_expression(spec["_id"])
    accumulators = _compile_accumulators({k: v for k, v in spec.items() if k != "_id"})

    sort_key = context.sort_key

    def stage(stream):
        groups: dict[tuple, tuple] = {}            # key -> (group _id, states)
        for doc in stream:
            scope = context.scope(doc)
            identifier = key_expression(doc, scope)
            if identifier is MISSING:
                identifier = None
            key = sort_key(identifier)
            entry = groups.get(key)
            if entry is None:
                entry = groups[key] = (identifier, [acc.start() for _, acc in accumulators])
            for (_, acc), state in zip(accumulators, entry[1]):
                acc.add(state, doc, scope)
        for identifier, states in groups.values():
            out = {"_id": identifier}
            for (name, acc), state in zip(accumulators, states):
                out[name] = acc.result(state)
            yield out
    return stage


def _out(spec, context) -> Stage:
    name = spec.get("coll") if isinstance(spec, dict) else spec
    if not isinstance(name, str) or not name:
        raise MongoError(16990, "$out needs a collection name")
    if context.replace_collection is None:
        raise MongoError(40324, "$out is not allowed here")

    def stage(stream):
        context.replace_collection(name, list(stream))
        return iter(())
    return stage


MERGE_WHEN_MATCHED = ("replace", "keepExisting", "merge", "fail")
MERGE_WHEN_NOT_MATCHED = ("insert", "discard", "fail")


def _merge(spec, context) -> Stage:
    if isinstance(spec, str):
        spec = {"into": spec}
    into = spec.get("into") if isinstance(spec, dict) else None
    if isinstance(into, dict):
        into = into.get("coll")
    if not isinstance(into, str) or not into:
        raise MongoError(51178, "$merge 'into' must be a collection name")
    on = spec.get("on", ["_id"])
    on = [on] if isinstance(on, str) else on
    matched = spec.get("whenMatched", "merge")
    not_matched = spec.get("whenNotMatched", "insert")
    if matched not in MERGE_WHEN_MATCHED or not_matched not in MERGE_WHEN_NOT_MATCHED:
        raise MongoError(51181, "$merge whenMatched/whenNotMatched: unsupported mode "
                                "(pipelines are not supported)")
    if context.merge_into is None:
        raise MongoError(40324, "$merge is not allowed here")

    def stage(stream):
        context.merge_into(into, list(stream), on, matched, not_matched)
        return iter(())
    return stage


def _unsupported(name: str):
    def factory(spec, context):
        raise MongoError(40324, f"the {name} stage is not supported by this server")
    return factory


def documents_stage(spec, context: Context) -> list[dict]:
    """`$documents`, the first stage of a collection-less aggregate: its documents."""
    value = compile_expression(spec)({}, context.scope({}))
    if not isinstance(value, list) or not all(isinstance(d, dict) for d in value):
        raise MongoError(5858203, "$documents must evaluate to an array of objects")
    return value


STAGES = {
    "$match": _match, "$project": _project, "$addFields": _add_fields, "$set": _add_fields,
    "$unset": _unset, "$replaceRoot": _replace_root, "$replaceWith": _replace_with,
    "$sort": _sort, "$limit": _limit, "$skip": _skip, "$count": _count, "$unwind": _unwind,
    "$lookup": _lookup, "$facet": _facet, "$sortByCount": _sort_by_count,
    "$sample": _sample, "$bucket": _bucket, "$group": _group,
    "$out": _out, "$merge": _merge, "$documents": _unsupported("$documents (not first)"),
}
