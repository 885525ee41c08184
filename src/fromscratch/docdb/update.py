"""Update documents: replacements, operators (`$set`, `$inc`, `$push`, ...) and pipelines.

    updated = apply_update(document, {"$inc": {"n": 1}}, position=None)

`apply_update` never changes its input: it works on a copy, so a failing update (a type
error half-way through) leaves the stored document as it was. That copy is what makes
every single-document write atomic.

Paths may hold positional parts, resolved against the document before an operator runs:
`$` (the array element the query matched, from `Matcher.match`), `$[]` (every element)
and `$[name]` (the elements an `arrayFilters` entry for `name` accepts).
"""

from __future__ import annotations

import datetime
import decimal

from . import ordering
from .bson import UTC, Regex, Timestamp
from .documents import MISSING, deep_copy
from .errors import MongoError, bad_value, failed_to_parse
from .expressions import number_result
from .matcher import Matcher, compile_query

OPERATORS = ("$set", "$unset", "$inc", "$mul", "$rename", "$min", "$max", "$currentDate",
             "$setOnInsert", "$push", "$addToSet", "$pop", "$pull", "$pullAll", "$bit")


def is_operator_update(update) -> bool:
    return isinstance(update, dict) and bool(update) and next(iter(update)).startswith("$")


def validate_replacement(replacement: dict) -> None:
    for key in replacement:
        if key.startswith("$"):
            raise MongoError(52, f"The dollar ($) prefixed field '{key}' in '{key}' is not "
                                 f"allowed in the context of an update's replacement document.")


def apply_update(document: dict, update, *, position: int | None = None,
                 array_filters: list | None = None, is_insert: bool = False,
                 variables: dict | None = None) -> dict:
    """The document after `update` (a replacement, operators, or a pipeline; a
    pipeline sees the command's `let` `variables`)."""
    if isinstance(update, list):
        from .aggregation import run_update_pipeline
        result = run_update_pipeline(document, update, variables)
        if "_id" in document:
            if "_id" not in result:           # a pipeline that drops _id keeps the old one
                result = {"_id": document["_id"], **result}
            elif ordering.sort_key(result["_id"]) != ordering.sort_key(document["_id"]):
                raise _immutable_id()
        return result
    if not is_operator_update(update):
        validate_replacement(update)
        result = {"_id": document["_id"]} if "_id" in document else {}
        for key, value in update.items():
            if key == "_id" and "_id" in document and \
                    ordering.sort_key(value) != ordering.sort_key(document["_id"]):
                raise _immutable_id()
            result[key] = value
        return result
    filters = _compile_array_filters(array_filters)
    result = deep_copy(document)
    touched: list[list[str]] = []
    for operator, fields in update.items():
        if operator not in OPERATORS:
            raise failed_to_parse(f"Unknown modifier: {operator}. Expected a valid update "
                                  f"modifier or pipeline-style update specified as an array")
        if not isinstance(fields, dict):
            raise failed_to_parse(f"Modifiers operate on fields but we found type "
                                  f"{ordering.type_name(fields)} instead. For example: "
                                  f"{{$mod: {{<field>: ...}}}} not {{{operator}: "
                                  f"{ordering.type_name(fields)}}}")
        if operator == "$setOnInsert" and not is_insert:
            for path in fields:
                _claim(touched, path.split("."))
            continue
        for path in sorted(fields) if operator != "$rename" else fields:
            argument = fields[path]
            _check_path(path)
            if operator == "$rename":
                if not isinstance(argument, str) or not argument:
                    raise bad_value("The 'to' field for $rename must be a string")
                _check_path(argument)
                if path == argument:
                    raise bad_value(f"The source and target field for $rename must differ: {path}")
                _claim(touched, path.split("."))
                _claim(touched, argument.split("."))
                _rename(result, path, argument)
                continue
            parts = path.split(".")
            _claim(touched, parts)
            _run(operator, result, parts, argument, position, filters)
    if "_id" in document and not is_insert and ("_id" not in result or ordering.sort_key(
            result["_id"]) != ordering.sort_key(document["_id"])):
        raise _immutable_id()
    return result


def _immutable_id() -> MongoError:
    return MongoError(66, "Performing an update on the path '_id' would modify the immutable "
                          "field '_id'")


def _check_path(path: str) -> None:
    if not path or any(part == "" for part in path.split(".")):
        raise MongoError(56, f"An update path '{path}' contains an empty field name, which "
                             f"is not allowed.")


def _claim(touched: list[list[str]], parts: list[str]) -> None:
    """Refuse two operators (or two paths) that update the same or nested fields."""
    for other in touched:
        shorter = min(len(other), len(parts))
        if other[:shorter] == parts[:shorter]:
            raise MongoError(40, f"Updating the path '{'.'.join(parts)}' would create a "
                                 f"conflict at '{'.'.join(parts[:shorter])}'")
    touched.append(parts)


def _compile_array_filters(array_filters) -> dict:
    filters = {}
    for spec in array_filters or []:
        if not isinstance(spec, dict) or not spec:
            raise failed_to_parse("Cannot use an expression without a top-level field name "
                                  "in arrayFilters")
        names = {key.split(".")[0] for key in spec if not key.startswith("$")}
        if len(names) != 1:
            raise failed_to_parse("Error parsing array filter: each filter must name one "
                                  "identifier")
        name = names.pop()
        if name in filters:
            raise failed_to_parse(f"Found multiple array filters with the same top-level "
                                  f"field name {name}")
        filters[name] = compile_query(spec)
    return filters


# -- resolving positional paths ---------------------------------------------------------------


def _expand(document, parts: list[str], position: int | None,
            filters: dict) -> list[list[str]]:
    """The concrete paths a path with `$`, `$[]` or `$[name]` parts stands for."""
    if not any(p.startswith("$") for p in parts):
        return [parts]
    out: list[list[str]] = []

    def walk(value, index: int, prefix: list[str]):
        if index == len(parts):
            out.append(prefix)
            return
        part = parts[index]
        if part == "$":
            if position is None:
                raise bad_value("The positional operator did not find the match needed "
                                "from the query.")
            walk(_child(value, str(position)), index + 1, prefix + [str(position)])
        elif part.startswith("$["):
            if type(value) is not list:
                raise bad_value(f"The path '{'.'.join(prefix)}' must exist in the document "
                                f"in order to apply array updates.")
            name = part[2:-1]
            if name and name not in filters:
                raise bad_value(f"No array filter found for identifier '{name}' in path "
                                f"'{'.'.join(parts)}'")
            for i, element in enumerate(value):
                if not name or filters[name]({name: element}, None):
                    walk(element, index + 1, prefix + [str(i)])
        else:
            walk(_child(value, part), index + 1, prefix + [part])

    walk(document, 0, [])
    return out


def _child(value, part: str):
    if isinstance(value, dict):
        return value.get(part, MISSING)
    if type(value) is list and part.isdigit() and int(part) < len(value):
        return value[int(part)]
    return MISSING


# -- reading and writing concrete paths -----------------------------------------------------


def _parent(document: dict, parts: list[str], create: bool):
    """The container holding the last part of the path, creating documents on the way
    when `create`; None when the path does not exist (and is not created)."""
    value = document
    for depth, part in enumerate(parts[:-1]):
        if isinstance(value, dict):
            if part not in value:
                if not create:
                    return None
                value[part] = {}
            value = value[part]
        elif type(value) is list:
            if not part.isdigit():
                raise MongoError(28, f"Cannot create field '{part}' in element "
                                     f"{{{parts[depth - 1] if depth else ''}: [...]}}")
            index = int(part)
            if index >= len(value):
                if not create:
                    return None
                value.extend([None] * (index + 1 - len(value)))
            if value[index] is None and create:
                value[index] = {}
            value = value[index]
        else:
            if not create:
                return None
            raise MongoError(28, f"Cannot create field '{part}' in element "
                                 f"{{{parts[depth - 1] if depth else ''}: {_show(value)}}}")
    if not isinstance(value, (dict, list)):
        if not create:
            return None
        raise MongoError(28, f"Cannot create field '{parts[-1]}' in element "
                             f"{{{parts[-2] if len(parts) > 1 else ''}: {_show(value)}}}")
    return value


def _show(value) -> str:
    return repr(value) if not isinstance(value, str) else f'"{value}"'


def _get(container, key: str):
    if isinstance(container, dict):
        return container.get(key, MISSING)
    if key.isdigit() and int(key) < len(container):
        return container[int(key)]
    return MISSING


def _put(container, key: str, value) -> None:
    if isinstance(container, dict):
        container[key] = value
        return
    if not key.isdigit():
        raise MongoError(28, f"Cannot create field '{key}' in an array")
    index = int(key)
    if index >= len(container):
        container.extend([None] * (index + 1 - len(container)))
    container[index] = value


def _run(operator: str, document: dict, parts: list[str], argument, position, filters) -> None:
    for concrete in _expand(document, parts, position, filters):
        OPERATIONS[operator](document, concrete, argument)


def _set(document, parts, value):
    _put(_parent(document, parts, True), parts[-1], deep_copy(value))


def _unset(document, parts, _argument):
    container = _parent(document, parts, False)
    if container is None:
        return
    if isinstance(container, dict):
        container.pop(parts[-1], None)
    elif parts[-1].isdigit() and int(parts[-1]) < len(container):
        container[int(parts[-1])] = None            # $unset in an array leaves a null


def _arithmetic(name: str, combine):
    def run(document, parts, argument):
        if not ordering.is_number(argument):
            raise bad_value(f"Cannot {name[1:]} with non-numeric argument: "
                            f"{{{'.'.join(parts)}: {_show(argument)}}}")
        container = _parent(document, parts, True)
        current = _get(container, parts[-1])
        if current is MISSING:
            value = argument if name == "$inc" else number_result(0, argument)
        elif not ordering.is_number(current):
            raise MongoError(14, f"Cannot apply {name} to a value of non-numeric type. "
                                 f"{{_id: ...}} has the field '{parts[-1]}' of non-numeric "
                                 f"type {ordering.type_name(current)}")
        else:
            a, b = ordering.number(current), ordering.number(argument)
            if isinstance(a, decimal.Decimal) or isinstance(b, decimal.Decimal):
                a, b = decimal.Decimal(a), decimal.Decimal(b)
            value = number_result(combine(a, b), current, argument)
        _put(container, parts[-1], value)
    return run


def _extreme(largest: bool):
    def run(document, parts, argument):
        container = _parent(document, parts, True)
        current = _get(container, parts[-1])
        if current is MISSING or (ordering.compare(argument, current) > 0) == largest and \
                ordering.compare(argument, current) != 0:
            _put(container, parts[-1], deep_copy(argument))
    return run


def _current_date(document, parts, argument):
    now = datetime.datetime.now(UTC)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    if isinstance(argument, dict):
        kind = argument.get("$type")
        if kind == "timestamp":
            _set(document, parts, Timestamp(int(now.timestamp()), 1))
            return
        if kind != "date":
            raise bad_value("The '$type' string field is required to be 'date' or 'timestamp'")
    elif argument is not True and not isinstance(argument, bool):
        raise bad_value(f"{_show(argument)} is not valid type for $currentDate. Please use a "
                        f"boolean ('true') or a $type expression ({{$type: 'timestamp/date'}}).")
    _set(document, parts, now)


def _array_at(document, parts, operator: str, create: bool = True):
    container = _parent(document, parts, create)
    if container is None:
        return None, None
    current = _get(container, parts[-1])
    if current is MISSING:
        if not create:
            return container, None
        current = []
        _put(container, parts[-1], current)
    elif type(current) is not list:
        raise bad_value(f"The field '{'.'.join(parts)}' must be an array but is of type "
                        f"{ordering.type_name(current)} in document {{_id: ...}}")
    return container, current


def _push(document, parts, argument):
    if isinstance(argument, dict) and "$each" in argument:
        for key in argument:
            if key not in ("$each", "$slice", "$sort", "$position"):
                raise bad_value(f"Unrecognized clause in $push: {key}")
        items = argument["$each"]
        if type(items) is not list:
            raise bad_value("The argument to $each in $push must be an array")
    else:
        argument, items = {}, [argument]
    _container, array = _array_at(document, parts, "$push")
    items = [deep_copy(item) for item in items]
    where = argument.get("$position")
    if where is None:
        array.extend(items)
    else:
        where = int(ordering.number(where))
        if where < 0:
            where = max(0, len(array) + where)
        array[where:where] = items
    if "$sort" in argument:
        _sort_array(array, argument["$sort"])
    if "$slice" in argument:
        n = int(ordering.number(argument["$slice"]))
        array[:] = array[:n] if n >= 0 else array[len(array) + n:] if -n < len(array) else array


def _sort_array(array: list, spec) -> None:
    if isinstance(spec, dict):
        from .query import sort_documents
        array[:] = sort_documents(array, spec)
    elif spec in (1, -1):
        array.sort(key=ordering.sort_key, reverse=spec == -1)
    else:
        raise bad_value("The $sort is invalid: use 1/-1 to sort the whole element, or "
                        "{field:1/-1} to sort embedded fields")


def _add_to_set(document, parts, argument):
    if isinstance(argument, dict) and "$each" in argument:
        items = argument["$each"]
        if type(items) is not list:
            raise bad_value("The argument to $each in $addToSet must be an array")
    else:
        items = [argument]
    _container, array = _array_at(document, parts, "$addToSet")
    present = {ordering.sort_key(item) for item in array}
    for item in items:
        key = ordering.sort_key(item)
        if key not in present:
            present.add(key)
            array.append(deep_copy(item))


def _pop(document, parts, argument):
    if not ordering.is_number(argument) or ordering.number(argument) not in (1, -1):
        raise failed_to_parse("$pop expects 1 or -1")
    _container, array = _array_at(document, parts, "$pop", create=False)
    if array:
        array.pop(0 if ordering.number(argument) == -1 else -1)


def _pull(document, parts, condition):
    _container, array = _array_at(document, parts, "$pull", create=False)
    if not array:
        return
    if isinstance(condition, dict) and condition:
        if all(key.startswith("$") for key in condition) and \
                not any(key in ("$and", "$or", "$nor") for key in condition):
            test = Matcher({"v": condition})
            keep = [item for item in array if not test.matches({"v": item})]
        else:
            test = Matcher(condition)
            keep = [item for item in array if not (isinstance(item, dict) and test.matches(item))]
    elif isinstance(condition, Regex):
        test = Matcher({"v": condition})
        keep = [item for item in array if not test.matches({"v": item})]
    else:                                       # a value: remove the elements equal to it
        unwanted = ordering.sort_key(condition)
        keep = [item for item in array if ordering.sort_key(item) != unwanted]
    array[:] = keep


def _pull_all(document, parts, values):
    if type(values) is not list:
        raise bad_value("$pullAll requires an array argument")
    _container, array = _array_at(document, parts, "$pullAll", create=False)
    if array:
        unwanted = {ordering.sort_key(value) for value in values}
        array[:] = [item for item in array if ordering.sort_key(item) not in unwanted]


def _bit(document, parts, argument):
    container = _parent(document, parts, True)
    current = _get(container, parts[-1])
    value = 0 if current is MISSING else current
    if not isinstance(value, int):
        raise MongoError(14, "Cannot apply $bit to a value of non-integral type")
    for kind, operand in argument.items():
        if kind == "and":
            value &= operand
        elif kind == "or":
            value |= operand
        elif kind == "xor":
            value ^= operand
        else:
            raise bad_value(f"The $bit modifier only supports 'and', 'or', and 'xor', not '{kind}'")
    _put(container, parts[-1], number_result(value, current if current is not MISSING else 0,
                                             *argument.values()))


def _rename(document, source: str, target: str) -> None:
    source_parts, target_parts = source.split("."), target.split(".")
    container = _parent(document, source_parts, False)
    if container is None or not isinstance(container, dict) or source_parts[-1] not in container:
        if container is not None and type(container) is list:
            raise bad_value(f"The source field cannot be an array element, '{source}'")
        return
    value = container.pop(source_parts[-1])
    destination = _parent(document, target_parts, True)
    if type(destination) is list:
        raise bad_value(f"The destination field cannot be an array element, '{target}'")
    destination[target_parts[-1]] = value


OPERATIONS = {
    "$set": _set, "$setOnInsert": _set, "$unset": _unset,
    "$inc": _arithmetic("$inc", lambda a, b: a + b),
    "$mul": _arithmetic("$mul", lambda a, b: a * b),
    "$min": _extreme(False), "$max": _extreme(True),
    "$currentDate": _current_date, "$push": _push, "$addToSet": _add_to_set,
    "$pop": _pop, "$pull": _pull, "$pullAll": _pull_all, "$bit": _bit,
}


# -- upserts -------------------------------------------------------------------------------


def upsert_seed(query: dict) -> dict:
    """The document an upsert starts from: the query's equality conditions on fields
    (`{a: 1, "b.c": 2, d: {$eq: 3}, $and: [{e: 4}]}` -> `{a: 1, b: {c: 2}, d: 3, e: 4}`)."""
    seed: dict = {}

    def collect(clauses: dict):
        for key, value in clauses.items():
            if key == "$and" and isinstance(value, list):
                for clause in value:
                    collect(clause)
            elif key.startswith("$"):
                continue
            elif isinstance(value, dict) and value and next(iter(value)).startswith("$"):
                if "$eq" in value:
                    _set(seed, key.split("."), value["$eq"])
            else:
                _set(seed, key.split("."), value)

    collect(query)
    return seed

