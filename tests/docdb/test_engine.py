"""The query matcher, projection, sort, update operators and aggregation, as functions
of documents: no server, no sockets."""

from __future__ import annotations

import datetime

import pytest

from fromscratch.docdb.aggregation import run_pipeline
from fromscratch.docdb.bson import UTC, Decimal128, Int64
from fromscratch.docdb.errors import MongoError
from fromscratch.docdb.expressions import evaluate
from fromscratch.docdb.matcher import Matcher
from fromscratch.docdb.query import Projection, sort_documents
from fromscratch.docdb.update import apply_update, upsert_seed


def matches(query, document) -> bool:
    return Matcher(query).matches(document)


def test_array_semantics():
    doc = {"a": [1, [2, 3], {"b": 4}], "c": [{"d": [5, 6]}, {"d": 7}]}
    assert matches({"a": 1}, doc)
    assert matches({"a": [2, 3]}, doc)             # an element that is itself an array
    assert not matches({"a": 2}, doc)               # only one level of reaching in
    assert matches({"a.b": 4}, doc)
    assert matches({"c.d": 6}, doc) and matches({"c.d": 7}, doc)
    assert matches({"c.0.d": 5}, doc) and not matches({"c.1.d": 5}, doc)
    assert matches({"x": None}, doc) and matches({"a.b": {"$exists": True}}, doc)
    assert matches({"c.e": None}, doc)


def test_negations_are_complements():
    docs = [{"a": 1}, {"a": [1, 2]}, {"a": None}, {}, {"a": "1"}]
    for condition in ({"$eq": 1}, {"$in": [1, None]}, {"$gt": 0}, {"$exists": True}):
        plain = [matches({"a": condition}, d) for d in docs]
        (operator, argument), = condition.items()
        negated = {"$ne": argument} if operator == "$eq" else \
            {"$nin": argument} if operator == "$in" else {"$not": condition}
        if operator == "$exists":
            negated = {"$exists": not argument}
        assert [matches({"a": negated}, d) for d in docs] == [not p for p in plain]


def test_positional_match_reports_the_element():
    matched, position = Matcher({"grades": {"$gte": 85}}).match({"grades": [80, 85, 90]})
    assert matched and position == 1


def test_query_errors():
    for query in ({"$bogus": 1}, {"a": {"$bogus": 1}}, {"a": {"$size": -1}},
                  {"$or": []}, {"a": {"$mod": [0, 1]}}, {"a": {"$regex": "("}}):
        with pytest.raises(MongoError):
            Matcher(query)


def test_numbers_compare_across_types():
    assert matches({"n": 1}, {"n": 1.0}) and matches({"n": Int64(1)}, {"n": Decimal128("1")})
    assert matches({"n": {"$lt": Decimal128("1.5")}}, {"n": 1})
    assert not matches({"n": {"$gt": 0}}, {"n": "5"})


def test_sort_uses_array_minimum_and_maximum():
    docs = [{"_id": 1, "a": [1, 10]}, {"_id": 2, "a": 5}, {"_id": 3}, {"_id": 4, "a": [3]}]
    assert [d["_id"] for d in sort_documents(docs, {"a": 1})] == [3, 1, 4, 2]
    assert [d["_id"] for d in sort_documents(docs, {"a": -1})] == [1, 2, 4, 3]


def test_projection_modes():
    doc = {"_id": 1, "a": {"b": 1, "c": 2}, "l": [{"x": 1, "y": 2}, {"x": 3}], "z": 0}
    assert Projection({"a.b": 1}).apply(doc) == {"_id": 1, "a": {"b": 1}}
    assert Projection({"l.x": 1, "_id": 0}).apply(doc) == {"l": [{"x": 1}, {"x": 3}]}
    assert Projection({"a": 0, "l": 0}).apply(doc) == {"_id": 1, "z": 0}
    with pytest.raises(MongoError):
        Projection({"a": 1, "z": 0})


def test_update_is_atomic_and_pure():
    doc = {"_id": 1, "n": 1, "s": "x"}
    with pytest.raises(MongoError):
        apply_update(doc, {"$inc": {"n": 1, "s": 1}})
    assert doc == {"_id": 1, "n": 1, "s": "x"}
    assert apply_update(doc, {"$inc": {"n": 1}}) == {"_id": 1, "n": 2, "s": "x"}
    assert doc["n"] == 1


def test_update_number_types():
    assert type(apply_update({"n": 2**31 - 1}, {"$inc": {"n": 1}})["n"]) is Int64
    assert apply_update({"n": 1}, {"$inc": {"n": 0.5}})["n"] == 1.5
    assert apply_update({"n": Decimal128("1.1")}, {"$inc": {"n": 1}})["n"] == Decimal128("2.1")
    assert apply_update({}, {"$mul": {"n": 5}})["n"] == 0


def test_array_filters_and_nested_positional():
    doc = {"_id": 1, "m": [{"v": [1, 5]}, {"v": [7, 2]}]}
    result = apply_update(doc, {"$inc": {"m.$[].v.$[big]": 10}},
                          array_filters=[{"big": {"$gt": 4}}])
    assert result["m"] == [{"v": [1, 15]}, {"v": [17, 2]}]


def test_upsert_seed():
    assert upsert_seed({"a": 1, "b.c": 2, "d": {"$gt": 1}, "e": {"$eq": 3},
                        "$and": [{"f": 4}]}) == {"a": 1, "b": {"c": 2}, "e": 3, "f": 4}


def test_group_accumulators_and_types():
    docs = [{"g": "a", "v": 1}, {"g": "a", "v": 2.5}, {"g": "b", "v": Int64(3)},
            {"g": "b"}, {"g": None, "v": "text"}]
    result = run_pipeline(docs, [{"$group": {"_id": "$g", "sum": {"$sum": "$v"},
                                             "avg": {"$avg": "$v"}, "n": {"$sum": 1}}},
                                 {"$sort": {"_id": 1}}])
    assert result == [{"_id": None, "sum": 0, "avg": None, "n": 1},
                      {"_id": "a", "sum": 3.5, "avg": 1.75, "n": 2},
                      {"_id": "b", "sum": Int64(3), "avg": 3.0, "n": 2}]


def test_expressions():
    doc = {"a": 5, "d": datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)}
    assert evaluate({"$add": ["$d", 1000]}, doc) == datetime.datetime(2024, 1, 2, 3, 4, 6,
                                                                      tzinfo=UTC)
    assert evaluate({"$subtract": ["$d", datetime.datetime(2024, 1, 2, tzinfo=UTC)]}, doc) == \
        (3 * 3600 + 4 * 60 + 5) * 1000
    assert evaluate({"$cond": {"if": {"$gte": ["$a", 5]}, "then": "hi", "else": "lo"}}, doc) == "hi"
    assert evaluate({"$ifNull": ["$missing", "$a"]}, doc) == 5
    assert evaluate({"$concat": ["a", "$missing"]}, doc) is None
    assert evaluate({"$arrayToObject": [[["k", 1]]]}, doc) == {"k": 1}
    with pytest.raises(MongoError):
        evaluate({"$divide": [1, 0]}, doc)
    with pytest.raises(MongoError):
        evaluate({"$nope": 1}, doc)


def test_json_schema_keywords():
    from fromscratch.docdb.schema import compile_schema
    check = compile_schema({
        "bsonType": "object", "required": ["a"], "additionalProperties": False,
        "properties": {"a": {"enum": [1, 2]}, "tags": {"bsonType": "array", "items":
                                                        {"bsonType": "string"},
                                                        "uniqueItems": True, "maxItems": 2},
                       "n": {"type": "number", "exclusiveMinimum": True, "minimum": 0}},
        "anyOf": [{"required": ["tags"]}, {"required": ["n"]}]})
    assert check({"a": 1, "tags": ["x"]})
    assert check({"a": 2, "n": 0.5})
    assert not check({"a": 3, "n": 1})                    # enum
    assert not check({"a": 1})                            # anyOf
    assert not check({"a": 1, "n": 0})                    # exclusiveMinimum
    assert not check({"a": 1, "tags": ["x", "x"]})        # uniqueItems
    assert not check({"a": 1, "tags": ["x", 1]})          # items
    assert not check({"a": 1, "n": 1, "extra": True})     # additionalProperties
    assert compile_schema({"minimum": 5})("a string")     # keywords only apply to their kind
    with pytest.raises(MongoError):
        compile_schema({"$ref": "#/x"})
