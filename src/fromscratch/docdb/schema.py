"""`$jsonSchema`: MongoDB's dialect of JSON Schema (draft 4), for queries and validators.

    compile_schema({"bsonType": "object", "required": ["name"],
                    "properties": {"age": {"bsonType": "int", "minimum": 0}}})(document)

Keywords: `bsonType` (BSON type names, and "number"), `type` (JSON's: object array
number string boolean null), `enum`, `required`, `properties`, `additionalProperties`,
`patternProperties`, `minProperties`/`maxProperties`, `minimum`/`maximum` with
`exclusiveMinimum`/`exclusiveMaximum`, `multipleOf`, `minLength`/`maxLength`, `pattern`,
`items` (one schema, or one per position with `additionalItems`), `minItems`/`maxItems`,
`uniqueItems`, `allOf`/`anyOf`/`oneOf`/`not`, and the annotations `title` and
`description`. As in JSON Schema, a keyword about one kind of value says nothing about
values of other kinds: `{minimum: 5}` accepts a string.
"""

from __future__ import annotations

import re
from typing import Callable

from . import ordering
from .errors import MongoError

Check = Callable[[object], bool]

JSON_TYPES = {"object": ("object",), "array": ("array",), "string": ("string",),
              "boolean": ("bool",), "null": ("null",),
              "number": ("int", "long", "double", "decimal")}


def compile_schema(schema) -> Check:
    if not isinstance(schema, dict):
        raise MongoError(9, "$jsonSchema must be an object")
    checks: list[Check] = []
    for keyword, argument in schema.items():
        if keyword in ("title", "description"):
            continue
        if keyword in ("exclusiveMinimum", "exclusiveMaximum", "additionalItems"):
            continue                              # read with minimum / maximum / items
        builder = KEYWORDS.get(keyword)
        if builder is None:
            raise MongoError(9, f"$jsonSchema keyword '{keyword}' is not supported")
        checks.append(builder(argument, schema))
    return lambda value: all(check(value) for check in checks)


def _names(argument) -> set[str]:
    return set(argument if isinstance(argument, list) else [argument])


def _bson_type(argument, schema) -> Check:
    wanted = _names(argument)
    for name in wanted:
        if name != "number" and name not in ordering.TYPE_CODES:
            raise MongoError(9, f"unknown bsonType '{name}'")

    def check(value):
        name = ordering.type_name(value)
        return name in wanted or ("number" in wanted and ordering.is_number(value))
    return check


def _json_type(argument, schema) -> Check:
    wanted = set()
    for name in _names(argument):
        if name not in JSON_TYPES:
            raise MongoError(9, f"unknown JSON type '{name}' (use bsonType for BSON types)")
        wanted.update(JSON_TYPES[name])
    return lambda value: ordering.type_name(value) in wanted


def _enum(argument, schema) -> Check:
    keys = {ordering.sort_key(item) for item in argument}
    return lambda value: ordering.sort_key(value) in keys


def _object_rule(rule: Callable[[dict], bool]) -> Check:
    return lambda value: not isinstance(value, dict) or rule(value)


def _required(argument, schema) -> Check:
    return _object_rule(lambda document: all(name in document for name in argument))


def _properties(argument, schema) -> Check:
    checks = {name: compile_schema(sub) for name, sub in argument.items()}
    return _object_rule(lambda document: all(
        check(document[name]) for name, check in checks.items() if name in document))


def _pattern_properties(argument, schema) -> Check:
    checks = [(re.compile(pattern), compile_schema(sub)) for pattern, sub in argument.items()]
    return _object_rule(lambda document: all(
        check(value) for name, value in document.items()
        for pattern, check in checks if pattern.search(name)))


def _additional_properties(argument, schema) -> Check:
    known = set(schema.get("properties", {}))
    patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
    extra_check = (lambda value: argument) if isinstance(argument, bool) else \
        compile_schema(argument)

    def rule(document):
        return all(extra_check(value) for name, value in document.items()
                   if name not in known and not any(p.search(name) for p in patterns))
    return _object_rule(rule)


def _count_rule(kind: str, compare) -> Callable:
    def builder(argument, schema) -> Check:
        def check(value):
            if kind == "object" and isinstance(value, dict):
                return compare(len(value), argument)
            if kind == "array" and type(value) is list:
                return compare(len(value), argument)
            if kind == "string" and isinstance(value, str):
                return compare(len(value), argument)
            return True
        return check
    return builder


def _minimum(argument, schema) -> Check:
    exclusive = schema.get("exclusiveMinimum", False)
    bound = ordering.number(argument)
    return lambda value: not ordering.is_number(value) or (
        ordering.number(value) > bound if exclusive else ordering.number(value) >= bound)


def _maximum(argument, schema) -> Check:
    exclusive = schema.get("exclusiveMaximum", False)
    bound = ordering.number(argument)
    return lambda value: not ordering.is_number(value) or (
        ordering.number(value) < bound if exclusive else ordering.number(value) <= bound)


def _multiple_of(argument, schema) -> Check:
    divisor = ordering.number(argument)
    return lambda value: not ordering.is_number(value) or ordering.number(value) % divisor == 0


def _pattern(argument, schema) -> Check:
    compiled = re.compile(argument)
    return lambda value: not isinstance(value, str) or compiled.search(value) is not None


def _items(argument, schema) -> Check:
    if isinstance(argument, list):
        positional = [compile_schema(sub) for sub in argument]
        extra = schema.get("additionalItems", True)
        extra_check = (lambda value: extra) if isinstance(extra, bool) else compile_schema(extra)

        def rule(array):
            return all(check(item) for check, item in zip(positional, array)) and \
                all(extra_check(item) for item in array[len(positional):])
    else:
        each = compile_schema(argument)

        def rule(array):
            return all(each(item) for item in array)
    return lambda value: type(value) is not list or rule(value)


def _unique_items(argument, schema) -> Check:
    if not argument:
        return lambda value: True
    return lambda value: type(value) is not list or \
        len({ordering.sort_key(item) for item in value}) == len(value)


def _all_of(argument, schema) -> Check:
    checks = [compile_schema(sub) for sub in argument]
    return lambda value: all(check(value) for check in checks)


def _any_of(argument, schema) -> Check:
    checks = [compile_schema(sub) for sub in argument]
    return lambda value: any(check(value) for check in checks)


def _one_of(argument, schema) -> Check:
    checks = [compile_schema(sub) for sub in argument]
    return lambda value: sum(check(value) for check in checks) == 1


def _not(argument, schema) -> Check:
    check = compile_schema(argument)
    return lambda value: not check(value)


KEYWORDS = {
    "bsonType": _bson_type, "type": _json_type, "enum": _enum, "required": _required,
    "properties": _properties, "patternProperties": _pattern_properties,
    "additionalProperties": _additional_properties,
    "minProperties": _count_rule("object", lambda n, bound: n >= bound),
    "maxProperties": _count_rule("object", lambda n, bound: n <= bound),
    "minItems": _count_rule("array", lambda n, bound: n >= bound),
    "maxItems": _count_rule("array", lambda n, bound: n <= bound),
    "minLength": _count_rule("string", lambda n, bound: n >= bound),
    "maxLength": _count_rule("string", lambda n, bound: n <= bound),
    "minimum": _minimum, "maximum": _maximum, "multipleOf": _multiple_of,
    "pattern": _pattern, "items": _items, "uniqueItems": _unique_items,
    "allOf": _all_of, "anyOf": _any_of, "oneOf": _one_of, "not": _not,
}
