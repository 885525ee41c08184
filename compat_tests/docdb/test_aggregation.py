"""The aggregation pipeline through pymongo, from the examples in MongoDB's manual."""

from __future__ import annotations

import datetime

import pytest


@pytest.fixture
def sales(db):
    db.sales.insert_many([
        {"_id": 1, "item": "abc", "price": 10, "quantity": 2, "tags": ["a", "b"],
         "date": datetime.datetime(2014, 3, 1, 8)},
        {"_id": 2, "item": "jkl", "price": 20, "quantity": 1, "tags": ["b"],
         "date": datetime.datetime(2014, 3, 1, 9)},
        {"_id": 3, "item": "xyz", "price": 5, "quantity": 10, "tags": [],
         "date": datetime.datetime(2014, 3, 15, 9)},
        {"_id": 4, "item": "xyz", "price": 5, "quantity": 20, "tags": ["c"],
         "date": datetime.datetime(2014, 4, 4, 11)},
        {"_id": 5, "item": "abc", "price": 10, "quantity": 10,
         "date": datetime.datetime(2014, 4, 4, 21)},
    ])
    return db.sales


def test_group_with_every_accumulator(sales):
    result = list(sales.aggregate([
        {"$group": {"_id": "$item", "total": {"$sum": {"$multiply": ["$price", "$quantity"]}},
                    "avg": {"$avg": "$quantity"}, "min": {"$min": "$quantity"},
                    "max": {"$max": "$quantity"}, "first": {"$first": "$_id"},
                    "last": {"$last": "$_id"}, "ids": {"$push": "$_id"},
                    "prices": {"$addToSet": "$price"}, "n": {"$count": {}}}},
        {"$sort": {"_id": 1}}]))
    assert result[0] == {"_id": "abc", "total": 120, "avg": 6.0, "min": 2, "max": 10,
                         "first": 1, "last": 5, "ids": [1, 5], "prices": [10], "n": 2}
    assert [r["_id"] for r in result] == ["abc", "jkl", "xyz"]


def test_count_documents_pipeline_and_count_stage(sales):
    assert sales.count_documents({"price": {"$gte": 10}}) == 3
    assert list(sales.aggregate([{"$match": {"item": "xyz"}}, {"$count": "n"}])) == [{"n": 2}]


def test_project_add_fields_unset_replace_root(sales):
    result = list(sales.aggregate([
        {"$match": {"_id": 1}},
        {"$project": {"item": 1, "total": {"$multiply": ["$price", "$quantity"]},
                      "month": {"$month": "$date"}, "upper": {"$toUpper": "$item"},
                      "label": {"$concat": ["$item", "-", {"$toString": "$price"}]}}},
        {"$addFields": {"big": {"$cond": [{"$gt": ["$total", 15]}, "yes", "no"]}}},
        {"$unset": "_id"},
        {"$replaceRoot": {"newRoot": {"wrapped": "$$ROOT"}}}]))
    assert result == [{"wrapped": {"item": "abc", "total": 20, "month": 3, "upper": "ABC",
                                   "label": "abc-10", "big": "yes"}}]


def test_unwind_sort_by_count_skip_limit(sales):
    assert list(sales.aggregate([{"$unwind": "$tags"}, {"$sortByCount": "$tags"},
                                 {"$limit": 1}])) == [{"_id": "b", "count": 2}]
    kept = list(sales.aggregate([{"$unwind": {"path": "$tags", "preserveNullAndEmptyArrays": True,
                                              "includeArrayIndex": "i"}},
                                 {"$sort": {"_id": 1}}, {"$skip": 3}, {"$limit": 2}]))
    assert [(d["_id"], d.get("tags"), d["i"]) for d in kept] == [(3, None, None), (4, "c", 0)]


def test_lookup_facet_bucket(db, sales):
    db.items.insert_many([{"_id": "abc", "desc": "A"}, {"_id": "xyz", "desc": "X"}])
    joined = list(sales.aggregate([{"$match": {"_id": {"$in": [1, 2]}}},
                                   {"$lookup": {"from": "items", "localField": "item",
                                                "foreignField": "_id", "as": "info"}},
                                   {"$project": {"info.desc": 1}}]))
    assert joined == [{"_id": 1, "info": [{"desc": "A"}]}, {"_id": 2, "info": []}]
    piped = list(sales.aggregate([{"$match": {"_id": 3}},
                                  {"$lookup": {"from": "items", "let": {"name": "$item"},
                                               "pipeline": [{"$match": {"$expr": {
                                                   "$eq": ["$_id", "$$name"]}}}],
                                               "as": "info"}}]))
    assert piped[0]["info"] == [{"_id": "xyz", "desc": "X"}]
    faceted = list(sales.aggregate([{"$facet": {
        "cheap": [{"$match": {"price": {"$lt": 10}}}, {"$count": "n"}],
        "byPrice": [{"$bucket": {"groupBy": "$price", "boundaries": [0, 10, 100],
                                 "output": {"n": {"$sum": 1}}}}]}}]))
    assert faceted == [{"cheap": [{"n": 2}],
                        "byPrice": [{"_id": 0, "n": 2}, {"_id": 10, "n": 3}]}]


def test_expression_operators(db):
    db.e.insert_one({"_id": 1, "a": 7, "b": 2, "s": " Hello World ", "arr": [1, 2, 3, 4],
                     "d": datetime.datetime(2024, 2, 29, 13, 45, 6, 789000), "n": None})
    [result] = db.e.aggregate([{"$project": {
        "_id": 0, "add": {"$add": ["$a", "$b", 1]}, "sub": {"$subtract": ["$a", "$b"]},
        "div": {"$divide": ["$a", "$b"]}, "mod": {"$mod": ["$a", "$b"]},
        "abs": {"$abs": -3}, "ceil": {"$ceil": 2.1}, "floor": {"$floor": 2.9},
        "round": {"$round": [2.567, 2]}, "pow": {"$pow": [2, 10]},
        "cmp": {"$cmp": ["$a", "$b"]}, "and": {"$and": [True, "$a"]}, "or": {"$or": [False, 0]},
        "not": {"$not": ["$n"]}, "trim": {"$trim": {"input": "$s"}},
        "split": {"$split": [{"$trim": {"input": "$s"}}, " "]},
        "substr": {"$substrCP": ["$s", 1, 5]}, "lower": {"$toLower": "$s"},
        "len": {"$strLenCP": "$s"}, "year": {"$year": "$d"}, "dow": {"$dayOfWeek": "$d"},
        "fmt": {"$dateToString": {"format": "%Y-%m-%d %H:%M:%S.%L", "date": "$d"}},
        "size": {"$size": "$arr"}, "elem": {"$arrayElemAt": ["$arr", -1]},
        "filter": {"$filter": {"input": "$arr", "as": "x", "cond": {"$gt": ["$$x", 2]}}},
        "map": {"$map": {"input": "$arr", "in": {"$multiply": ["$$this", 10]}}},
        "reduce": {"$reduce": {"input": "$arr", "initialValue": 0,
                               "in": {"$add": ["$$value", "$$this"]}}},
        "in": {"$in": [3, "$arr"]}, "slice": {"$slice": ["$arr", 1, 2]},
        "concat": {"$concatArrays": ["$arr", [5]]}, "sum": {"$sum": "$arr"},
        "avg": {"$avg": "$arr"}, "ifnull": {"$ifNull": ["$n", "default"]},
        "switch": {"$switch": {"branches": [{"case": {"$lt": ["$a", 5]}, "then": "small"}],
                               "default": "big"}},
        "type": {"$type": "$a"}, "int": {"$toInt": "42"},
        "let": {"$let": {"vars": {"x": 3}, "in": {"$multiply": ["$$x", "$a"]}}}}}])
    assert result == {
        "add": 10, "sub": 5, "div": 3.5, "mod": 1, "abs": 3, "ceil": 3.0, "floor": 2.0,
        "round": 2.57, "pow": 1024, "cmp": 1, "and": True, "or": False, "not": True,
        "trim": "Hello World", "split": ["Hello", "World"], "substr": "Hello",
        "lower": " hello world ", "len": 13, "year": 2024, "dow": 5,
        "fmt": "2024-02-29 13:45:06.789", "size": 4, "elem": 4, "filter": [3, 4],
        "map": [10, 20, 30, 40], "reduce": 10, "in": True, "slice": [2, 3],
        "concat": [1, 2, 3, 4, 5], "sum": 10, "avg": 2.5, "ifnull": "default",
        "switch": "big", "type": "int", "int": 42, "let": 21}


def test_aggregate_cursor_batches_and_out(db):
    db.many.insert_many([{"_id": i, "g": i % 7} for i in range(3000)])
    cursor = db.many.aggregate([{"$sort": {"_id": -1}}], batchSize=100)
    assert [d["_id"] for d in cursor] == list(range(2999, -1, -1))
    db.many.aggregate([{"$group": {"_id": "$g", "n": {"$sum": 1}}}, {"$out": "counts"}])
    assert sorted((d["_id"], d["n"]) for d in db.counts.find())[0] == (0, 429)


def test_aggregation_errors(db):
    from pymongo.errors import OperationFailure
    db.e.insert_one({"x": 1})
    with pytest.raises(OperationFailure) as info:
        list(db.e.aggregate([{"$bogus": {}}]))
    assert info.value.code == 40324
    with pytest.raises(OperationFailure) as info:
        list(db.e.aggregate([{"$project": {"y": {"$nope": 1}}}]))
    assert info.value.code == 168
