"""The query language: a filter document compiled into a predicate over documents.

    matcher = Matcher({"age": {"$gte": 18}, "tags": "red"})
    matcher.matches(document)          # True / False
    matcher.match(document)            # (True/False, position in the first array crossed)

A filter is an implicit AND of clauses. A clause is either a logical operator
(`$and $or $nor $expr $jsonSchema`) or `path: condition`, where the condition is a value
(equality) or a document of operators (`$eq $ne $gt $gte $lt $lte $in $nin $not
$exists $type $mod $regex $all $elemMatch $size`).

MongoDB's array semantics live in `documents.leaves()` and in `_any_leaf()` here: a
condition on a path holds when it holds for any value the path reaches, and a condition
on an array value holds when it holds for the array itself or for any of its elements
(so `{tags: "red"}` matches `{tags: ["red", "blue"]}`). `null` matches a missing field.
The negations (`$ne $nin $not $nor`) are the exact complement of what they negate.
Comparisons bracket by type: `{age: {$gt: 5}}` never matches a string.

Compiling once into closures keeps the per-document work to a few calls, which matters
when a collection scan runs the predicate over every document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from . import ordering
from .bson import Regex
from .documents import MISSING, leaves, split
from .errors import MongoError, bad_value

# A compiled predicate: (document, details) -> bool. `details` is a dict or None; when
# given, a match through an array records the element's index under "position".
Predicate = Callable[[dict, dict | None], bool]


@dataclass
class Scope:
    """What compiling a query needs besides the query: the command's `let` variables
    (seen by `$expr`) and the key function values are compared by (the collation's)."""
    variables: dict = field(default_factory=dict)
    key: Callable = ordering.sort_key


class Matcher:
    def __init__(self, query: dict | None, variables: dict | None = None,
                 collation: dict | None = None):
        if query is None:
            query = {}
        if not isinstance(query, dict):
            raise bad_value("the query must be a document")
        self.query = query
        self.key = ordering.collation_key(collation)
        self._predicate = compile_query(query, Scope(variables or {}, self.key))

    def matches(self, document: dict) -> bool:
        return self._predicate(document, None)

    def match(self, document: dict) -> tuple[bool, int | None]:
        details: dict = {}
        matched = self._predicate(document, details)
        return matched, details.get("position")


def compile_query(query: dict, scope: Scope | None = None) -> Predicate:
    scope = scope or Scope()
    clauses = [_compile_clause(key, value, scope) for key, value in query.items()]
    if not clauses:
        return lambda document, details: True
    if len(clauses) == 1:
        return clauses[0]
    return _all_of(clauses)


def _all_of(predicates: list[Predicate]) -> Predicate:
    def test(document, details):
        for predicate in predicates:
            if not predicate(document, details):
                return False
        return True
    return test


def _clause_list(operator: str, value, scope: Scope) -> list[Predicate]:
    if not isinstance(value, list) or not value:
        raise bad_value(f"{operator} must be a nonempty array")
    if not all(isinstance(item, dict) for item in value):
        raise bad_value(f"{operator} argument's entries must be objects")
    return [compile_query(item, scope) for item in value]


def _compile_clause(key: str, value, scope: Scope) -> Predicate:
    if key.startswith("$"):
        if key == "$and":
            return _all_of(_clause_list(key, value, scope))
        if key == "$or":
            options = _clause_list(key, value, scope)
            return lambda doc, details: any(p(doc, details) for p in options)
        if key == "$nor":
            options = _clause_list(key, value, scope)
            return lambda doc, details: not any(p(doc, None) for p in options)
        if key == "$expr":
            from .expressions import compile_expression, truthy
            expression = compile_expression(value)
            variables = scope.variables
            return lambda doc, details: truthy(expression(doc, {**variables, "ROOT": doc,
                                                                "CURRENT": doc}))
        if key == "$comment":
            return lambda doc, details: True
        if key == "$jsonSchema":
            from .schema import compile_schema
            check = compile_schema(value)
            return lambda doc, details: check(doc)
        if key in ("$where", "$text"):
            raise MongoError(2, f"{key} is not supported by this server")
        raise bad_value(f"unknown top level operator: {key}")
    if key == "":
        raise bad_value("the empty string is not a valid field name in a query")
    parts = split(key)
    if isinstance(value, dict) and value and next(iter(value)).startswith("$") \
            and next(iter(value)) not in ("$id", "$ref", "$db"):
        return _compile_operators(parts, value, scope)
    return _path_test(parts, _equality(value, scope))


# -- conditions on a path ------------------------------------------------------------------

# A value test: (leaf value) -> bool, applied by _path_test to every reachable value.
ValueTest = Callable[[object], bool]


def _path_test(parts: list[str], test: ValueTest, element_wise: bool = True,
               missing_matches: bool = False) -> Predicate:
    """A predicate that holds when `test` holds for a value `parts` reaches (or, with
    `element_wise`, for an element of an array value)."""
    if len(parts) == 1:
        name = parts[0]

        def test_top(document, details):
            # The common case, one field and no array on the way, kept short.
            value = document.get(name, MISSING) if isinstance(document, dict) else MISSING
            if value is MISSING:
                return missing_matches or test(MISSING)
            if type(value) is list and element_wise:
                return _any_element(value, test, details, None)
            return test(value)
        return test_top

    def test_path(document, details):
        for value, position in leaves(document, parts):
            if value is MISSING:
                if missing_matches or test(MISSING):
                    return True
            elif type(value) is list and element_wise:
                if _any_element(value, test, details, position):
                    return True
            elif test(value):
                if details is not None and position is not None:
                    details.setdefault("position", position)
                return True
        return False
    return test_path


def _any_element(array: list, test: ValueTest, details, position) -> bool:
    """The array itself, or one of its elements, passes."""
    if test(array):
        return True
    for index, element in enumerate(array):
        if test(element):
            if details is not None:
                details.setdefault("position", index if position is None else position)
            return True
    return False


def _equality(target, scope: Scope) -> ValueTest:
    if isinstance(target, Regex):
        return _regex_test(_compile_regex(target.pattern, target.flags))
    if target is None:
        return lambda value: value is None or value is MISSING
    sort_key = scope.key
    key = sort_key(target)
    return lambda value: value is not MISSING and sort_key(value) == key


def _comparison(operator: str, target, scope: Scope) -> ValueTest:
    rank = ordering.type_rank(target)
    sort_key = scope.key
    key = sort_key(target)
    if rank in (ordering.MINKEY, ordering.MAXKEY):
        # MinKey/MaxKey compare with values of every type.
        check = {"$gt": lambda k: k > key, "$gte": lambda k: k >= key,
                 "$lt": lambda k: k < key, "$lte": lambda k: k <= key}[operator]
        return lambda value: value is not MISSING and check(sort_key(value))
    if rank == ordering.NULL:
        # {$gte: null} and {$lte: null} match null and missing; $gt/$lt match nothing.
        if operator in ("$gte", "$lte"):
            return lambda value: value is None or value is MISSING
        return lambda value: False
    if ordering.is_nan(target):
        # NaN equals only NaN: {$gte: NaN} finds NaNs, {$gt: NaN} nothing.
        if operator in ("$gte", "$lte"):
            return lambda value: ordering.is_number(value) and ordering.is_nan(value)
        return lambda value: False
    if operator == "$gt":
        compare = key.__lt__
    elif operator == "$gte":
        compare = key.__le__
    elif operator == "$lt":
        compare = key.__gt__
    else:
        compare = key.__ge__

    def test(value):
        if value is MISSING or ordering.type_rank(value) != rank:
            return False
        if rank == ordering.NUMBER and ordering.is_nan(value):
            return False
        return compare(sort_key(value))
    return test


_REGEX_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}
_regex_cache: dict[tuple[str, str], re.Pattern] = {}


def _compile_regex(pattern: str, options: str = "") -> re.Pattern:
    cached = _regex_cache.get((pattern, options))
    if cached is not None:
        return cached
    flags = 0
    for letter in options:
        if letter in _REGEX_FLAGS:
            flags |= _REGEX_FLAGS[letter]
        elif letter not in "u":
            raise bad_value(f"invalid flag in regex options: {letter}")
    try:
        compiled = re.compile(pattern, flags)
    except re.error as error:
        raise MongoError(51091, f"Regular expression is invalid: {error}") from None
    if len(_regex_cache) > 1000:
        _regex_cache.clear()
    _regex_cache[(pattern, options)] = compiled
    return compiled


def _regex_test(compiled: re.Pattern) -> ValueTest:
    def test(value):
        if isinstance(value, str):
            return compiled.search(value) is not None
        if isinstance(value, Regex):        # a stored regex equals the same regex
            return value.pattern == compiled.pattern
        return False
    return test


def _in_test(operator: str, values, scope: Scope) -> ValueTest:
    if not isinstance(values, list):
        raise bad_value(f"{operator} needs an array")
    tests = []
    keys = set()
    for value in values:
        if isinstance(value, dict) and value and next(iter(value)).startswith("$"):
            raise bad_value(f"cannot nest $ operators inside {operator}")
        if isinstance(value, Regex) or value is None:
            tests.append(_equality(value, scope))
        else:
            keys.add(scope.key(value))

    def test(value):
        if value is not MISSING and keys and scope.key(value) in keys:
            return True
        return any(t(value) for t in tests)
    return test


def _type_test(spec) -> ValueTest:
    specs = spec if isinstance(spec, list) else [spec]
    names = set()
    for item in specs:
        if isinstance(item, str):
            if item != "number" and item not in ordering.TYPE_CODES:
                raise bad_value(f"Unknown type name alias: {item}")
            names.add(item)
        elif ordering.is_number(item) and ordering.is_integral(item) and \
                int(ordering.number(item)) in ordering.TYPE_NAMES:
            names.add(ordering.TYPE_NAMES[int(ordering.number(item))])
        else:
            raise bad_value(f"Invalid numerical type code: {item}")

    def test(value):
        if value is MISSING:
            return False
        name = ordering.type_name(value)
        return name in names or ("number" in names and ordering.is_number(value))
    return test


def _mod_test(spec) -> ValueTest:
    if not isinstance(spec, list) or len(spec) != 2:
        raise bad_value("malformed mod, needs to be an array of [divisor, remainder]")
    divisor, remainder = (ordering.number(v) for v in spec)
    if not all(ordering.is_number(v) for v in spec):
        raise bad_value("malformed mod, divisor and remainder must be numbers")
    divisor, remainder = int(divisor), int(remainder)
    if divisor == 0:
        raise bad_value("divisor cannot be 0")

    def test(value):
        if not ordering.is_number(value) or ordering.is_nan(value):
            return False
        number = int(ordering.number(value))         # MongoDB truncates toward zero
        result = abs(number) % abs(divisor)
        return (result if number >= 0 else -result) == remainder
    return test


def _compile_operators(parts: list[str], spec: dict, scope: Scope) -> Predicate:
    predicates: list[Predicate] = []
    regex_options = spec.get("$options", "")
    for operator, argument in spec.items():
        if operator == "$eq":
            predicates.append(_path_test(parts, _equality(argument, scope)))
        elif operator == "$ne":
            inner = _path_test(parts, _equality(argument, scope))
            predicates.append(lambda doc, details, inner=inner: not inner(doc, None))
        elif operator in ("$gt", "$gte", "$lt", "$lte"):
            predicates.append(_path_test(parts, _comparison(operator, argument, scope)))
        elif operator == "$in":
            predicates.append(_path_test(parts, _in_test(operator, argument, scope)))
        elif operator == "$nin":
            inner = _path_test(parts, _in_test(operator, argument, scope))
            predicates.append(lambda doc, details, inner=inner: not inner(doc, None))
        elif operator == "$exists":
            exists = _path_test(parts, lambda value: value is not MISSING, element_wise=False)
            if ordering.is_number(argument) or isinstance(argument, bool):
                wanted = bool(ordering.number(argument))
            else:
                wanted = argument is not None
            predicates.append(exists if wanted else
                              (lambda doc, details, inner=exists: not inner(doc, None)))
        elif operator == "$type":
            predicates.append(_path_test(parts, _type_test(argument)))
        elif operator == "$mod":
            predicates.append(_path_test(parts, _mod_test(argument)))
        elif operator == "$regex":
            if isinstance(argument, Regex):
                compiled = _compile_regex(argument.pattern, regex_options or argument.flags)
            elif isinstance(argument, str):
                compiled = _compile_regex(argument, regex_options)
            else:
                raise bad_value("$regex has to be a string")
            predicates.append(_path_test(parts, _regex_test(compiled)))
        elif operator == "$options":
            if "$regex" not in spec:
                raise bad_value("$options needs a $regex")
        elif operator == "$size":
            if not ordering.is_number(argument) or not ordering.is_integral(argument) \
                    or ordering.number(argument) < 0:
                raise bad_value("$size needs a non-negative whole number")
            size = int(ordering.number(argument))
            predicates.append(_path_test(
                parts, lambda value, size=size: type(value) is list and len(value) == size,
                element_wise=False))
        elif operator == "$all":
            predicates.append(_all_test(parts, argument, scope))
        elif operator == "$elemMatch":
            predicates.append(_path_test(parts, _elem_match_test(argument, scope),
                                         element_wise=False))
        elif operator == "$not":
            predicates.append(_not(parts, argument, scope))
        elif operator == "$comment":
            continue
        else:
            raise bad_value(f"unknown operator: {operator}")
    return predicates[0] if len(predicates) == 1 else _all_of(predicates)


def _not(parts: list[str], argument, scope: Scope) -> Predicate:
    if isinstance(argument, Regex):
        inner = _path_test(parts, _regex_test(_compile_regex(argument.pattern, argument.flags)))
    elif isinstance(argument, dict) and argument:
        if not all(key.startswith("$") for key in argument):
            raise bad_value("$not needs a regex or a document of operators")
        inner = _compile_operators(parts, argument, scope)
    else:
        raise bad_value("$not needs a regex or a document")
    return lambda doc, details: not inner(doc, None)


def _all_test(parts: list[str], values, scope: Scope) -> Predicate:
    if not isinstance(values, list):
        raise bad_value("$all needs an array")
    if not values:
        return lambda doc, details: False
    predicates = []
    for value in values:
        if isinstance(value, dict) and "$elemMatch" in value:
            predicates.append(_path_test(parts, _elem_match_test(value["$elemMatch"], scope),
                                         element_wise=False))
        else:
            predicates.append(_path_test(parts, _equality(value, scope)))
    return _all_of(predicates)


def _elem_match_test(spec, scope: Scope) -> ValueTest:
    if not isinstance(spec, dict):
        raise bad_value("$elemMatch needs an Object")
    operators_only = spec and all(key.startswith("$") for key in spec) and \
        not any(key in ("$and", "$or", "$nor", "$expr") for key in spec)
    if operators_only:
        # {$elemMatch: {$gt: 1, $lt: 5}}: one element must meet every condition itself.
        inner = _compile_operators(["value"], spec, scope)

        def test(value):
            return type(value) is list and any(
                inner({"value": element}, None) for element in value)
    else:
        inner = compile_query(spec, scope)

        def test(value):
            return type(value) is list and any(
                isinstance(element, dict) and inner(element, None) for element in value)
    return test
