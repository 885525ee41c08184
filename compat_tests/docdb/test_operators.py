"""Every query and update operator family, with MongoDB's array semantics, through pymongo."""

from __future__ import annotations

import re

import pytest
from bson import Regex


@pytest.fixture
def items(db):
    db.items.insert_many([
        {"_id": 1, "qty": 5, "tags": ["red", "blank"], "dim": [14, 21], "item": {"name": "ab", "code": "123"}},
        {"_id": 2, "qty": 15, "tags": ["red"], "dim": [22.85, 30], "item": {"name": "cd", "code": "123"}},
        {"_id": 3, "qty": 25, "tags": [], "dim": [1], "item": {"name": "ij", "code": "456"}},
        {"_id": 4, "qty": None, "tags": ["blue", "red"], "item": {"name": "xy", "code": "456"}},
        {"_id": 5, "tags": "red", "results": [{"product": "abc", "score": 10}, {"product": "xyz", "score": 5}]},
        {"_id": 6, "qty": "25", "results": [{"product": "abc", "score": 8}, {"product": "xyz", "score": 7}]},
    ])
    return db.items


def ids(cursor):
    return sorted(d["_id"] for d in cursor)


@pytest.mark.parametrize("query, expected", [
    ({"qty": 15}, [2]),
    ({"qty": {"$eq": 15}}, [2]),
    ({"qty": {"$ne": 15}}, [1, 3, 4, 5, 6]),
    ({"qty": {"$gt": 5}}, [2, 3]),                # type bracketing: "25" is a string
    ({"qty": {"$gte": 5, "$lt": 25}}, [1, 2]),
    ({"qty": {"$lte": 5}}, [1]),
    ({"qty": {"$in": [5, 15]}}, [1, 2]),
    ({"qty": {"$nin": [5, 15]}}, [3, 4, 5, 6]),
    ({"qty": None}, [4, 5]),                      # null matches missing
    ({"qty": {"$exists": False}}, [5]),
    ({"qty": {"$type": "string"}}, [6]),
    ({"qty": {"$type": "number"}}, [1, 2, 3]),
    ({"qty": {"$mod": [10, 5]}}, [1, 2, 3]),
    ({"tags": "red"}, [1, 2, 4, 5]),              # scalar matches an element
    ({"tags": ["red"]}, [2]),                     # an array matches the whole array
    ({"tags": {"$all": ["red", "blue"]}}, [4]),
    ({"tags": {"$size": 2}}, [1, 4]),
    ({"tags": {"$size": 0}}, [3]),
    ({"dim": {"$elemMatch": {"$gt": 22, "$lt": 30}}}, [2]),
    ({"dim": {"$gt": 15, "$lt": 20}}, [1]),       # different elements may meet each bound
    ({"dim.0": {"$gt": 20}}, [2]),
    ({"item.code": "456"}, [3, 4]),
    ({"item": {"name": "ab", "code": "123"}}, [1]),
    ({"results": {"$elemMatch": {"product": "xyz", "score": {"$gte": 7}}}}, [6]),
    ({"results.score": {"$gt": 9}}, [5]),
    ({"item.name": {"$regex": "^A", "$options": "i"}}, [1]),
    ({"item.name": re.compile("y$")}, [4]),
    ({"item.name": {"$not": Regex("^a")}}, [2, 3, 4, 5, 6]),
    ({"qty": {"$not": {"$gt": 10}}}, [1, 4, 5, 6]),
    ({"$or": [{"qty": 5}, {"tags": "blue"}]}, [1, 4]),
    ({"$and": [{"tags": "red"}, {"qty": {"$gt": 1}}]}, [1, 2]),
    ({"$nor": [{"tags": "red"}, {"qty": 25}]}, [6]),
    ({"$expr": {"$gt": [{"$size": {"$ifNull": ["$dim", []]}}, 1]}}, [1, 2]),
])
def test_query_operators(items, query, expected):
    assert ids(items.find(query)) == expected


def test_projection_operators(items):
    assert items.find_one({"_id": 1}, {"tags": {"$slice": 1}, "qty": 0, "item": 0, "dim": 0}) == \
        {"_id": 1, "tags": ["red"]}
    assert items.find_one({"_id": 6}, {"results": {"$elemMatch": {"score": {"$gt": 7}}}}) == \
        {"_id": 6, "results": [{"product": "abc", "score": 8}]}
    assert items.find_one({"_id": 5}, {"results": {"$elemMatch": {"score": {"$lt": 7}}}}) == \
        {"_id": 5, "results": [{"product": "xyz", "score": 5}]}
    assert items.find_one({"tags": "blue"}, {"tags.$": 1}) == {"_id": 4, "tags": ["blue"]}
    assert items.find_one({"_id": 1}, {"item.name": 1}) == {"_id": 1, "item": {"name": "ab"}}
    assert items.find_one({"_id": 1}, {"double": {"$multiply": ["$qty", 2]}, "_id": 0}) == \
        {"double": 10}


def test_update_operators(db):
    c = db.u
    c.insert_one({"_id": 1, "n": 5, "f": 2.5, "s": "x", "a": [3, 1, 2], "doc": {"k": 1},
                  "grades": [{"g": 80, "m": 1}, {"g": 90, "m": 2}, {"g": 95, "m": 3}]})
    c.update_one({"_id": 1}, {"$set": {"doc.new": 1}, "$unset": {"s": ""},
                              "$inc": {"n": 2}, "$mul": {"f": 2}, "$min": {"low": 3},
                              "$max": {"z": 10}, "$currentDate": {"when": True}})
    c.update_one({"_id": 1}, {"$rename": {"doc": "renamed"}})
    doc = c.find_one()
    assert doc["n"] == 7 and doc["f"] == 5.0 and doc["z"] == 10 and doc["low"] == 3 and "s" not in doc
    assert doc["renamed"] == {"k": 1, "new": 1} and "when" in doc
    c.update_one({"_id": 1}, {"$push": {"a": {"$each": [9, 0], "$sort": 1, "$slice": 4}}})
    assert c.find_one()["a"] == [0, 1, 2, 3]
    c.update_one({"_id": 1}, {"$push": {"a": {"$each": [7], "$position": 0}}})
    c.update_one({"_id": 1}, {"$addToSet": {"a": {"$each": [7, 8]}}})
    assert c.find_one()["a"] == [7, 0, 1, 2, 3, 8]
    c.update_one({"_id": 1}, {"$pop": {"a": -1}})
    c.update_one({"_id": 1}, {"$pull": {"a": {"$gte": 3}}})
    c.update_one({"_id": 1}, {"$pullAll": {"a": [0]}})
    assert c.find_one()["a"] == [1, 2]
    c.update_one({"_id": 1, "grades.g": 90}, {"$set": {"grades.$.g": 91}})
    c.update_one({"_id": 1}, {"$inc": {"grades.$[].m": 10}})
    c.update_one({"_id": 1}, {"$set": {"grades.$[high].top": True}},
                 array_filters=[{"high.g": {"$gte": 91}}])
    assert c.find_one()["grades"] == [{"g": 80, "m": 11}, {"g": 91, "m": 12, "top": True},
                                      {"g": 95, "m": 13, "top": True}]
    c.update_one({"_id": 1}, {"$pull": {"grades": {"g": 80}}})
    assert len(c.find_one()["grades"]) == 2
    c.update_one({"_id": 2}, {"$set": {"a": 1}, "$setOnInsert": {"created": True}}, upsert=True)
    c.update_one({"_id": 2}, {"$set": {"a": 2}, "$setOnInsert": {"created": False}}, upsert=True)
    assert c.find_one({"_id": 2}) == {"_id": 2, "a": 2, "created": True}
    c.update_one({"_id": 2}, [{"$set": {"b": {"$add": ["$a", 1]}}}])
    assert c.find_one({"_id": 2})["b"] == 3


def test_update_errors(db):
    from pymongo.errors import WriteError
    db.u.insert_one({"_id": 1, "s": "text", "a": 1})
    with pytest.raises(WriteError) as info:
        db.u.update_one({"_id": 1}, {"$inc": {"s": 1}})
    assert info.value.code == 14
    with pytest.raises(WriteError):
        db.u.update_one({"_id": 1}, {"$push": {"a": 1}})
    with pytest.raises(WriteError) as info:
        db.u.update_one({"_id": 1}, {"$set": {"a.b": 1}})
    assert info.value.code == 28
    assert db.u.find_one() == {"_id": 1, "s": "text", "a": 1}     # nothing half-applied
