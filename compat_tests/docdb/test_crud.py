"""CRUD through pymongo: what a user of the driver sees, from MongoDB's documentation."""

from __future__ import annotations

import pymongo
import pytest
from bson import Decimal128, Int64, ObjectId
from pymongo import DeleteOne, InsertOne, ReplaceOne, ReturnDocument, UpdateMany, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure


def test_insert_one_assigns_an_object_id(db):
    result = db.people.insert_one({"name": "Ada"})
    assert isinstance(result.inserted_id, ObjectId)
    assert db.people.find_one({"_id": result.inserted_id})["name"] == "Ada"


def test_types_round_trip(db):
    import datetime
    import uuid
    from bson.binary import Binary, UuidRepresentation
    from bson.codec_options import CodecOptions
    document = {"_id": 1, "int": 7, "long": Int64(2**40), "double": 1.5, "string": "é",
                "bool": True, "none": None, "list": [1, "a", {"b": 2}],
                "date": datetime.datetime(2024, 5, 6, 7, 8, 9, 123000),
                "decimal": Decimal128("1.10"), "bytes": b"\x00\x01",
                "uuid": Binary.from_uuid(uuid.UUID(int=5)), "oid": ObjectId()}
    db.types.insert_one(document)
    assert db.types.find_one({"_id": 1}) == document
    options = CodecOptions(uuid_representation=UuidRepresentation.STANDARD)
    assert db.get_collection("types", options).find_one({"_id": 1})["uuid"] == uuid.UUID(int=5)


def test_duplicate_id_is_error_11000(db):
    db.people.insert_one({"_id": 1})
    with pytest.raises(DuplicateKeyError) as info:
        db.people.insert_one({"_id": 1})
    assert info.value.code == 11000
    assert info.value.details["keyValue"] == {"_id": 1}


def test_insert_many_ordered_stops_at_first_error(db):
    with pytest.raises(BulkWriteError) as info:
        db.c.insert_many([{"_id": 1}, {"_id": 1}, {"_id": 2}])
    details = info.value.details
    assert details["nInserted"] == 1
    assert [e["index"] for e in details["writeErrors"]] == [1]
    assert db.c.count_documents({}) == 1


def test_insert_many_unordered_carries_on(db):
    with pytest.raises(BulkWriteError) as info:
        db.c.insert_many([{"_id": 1}, {"_id": 1}, {"_id": 2}, {"_id": 2}], ordered=False)
    assert info.value.details["nInserted"] == 2
    assert [e["index"] for e in info.value.details["writeErrors"]] == [1, 3]


def test_find_sort_skip_limit_projection(db):
    db.c.insert_many([{"_id": i, "n": i % 5, "name": f"x{i}", "extra": i} for i in range(20)])
    found = list(db.c.find({"n": {"$gte": 2}}, {"name": 1, "_id": 0})
                 .sort([("n", -1), ("_id", 1)]).skip(2).limit(3))
    assert found == [{"name": "x14"}, {"name": "x19"}, {"name": "x3"}]
    assert db.c.find_one({"_id": 3}, {"extra": 0}) == {"_id": 3, "n": 3, "name": "x3"}


def test_cursor_over_thousands_of_documents(db):
    db.big.insert_many([{"_id": i, "pad": "x" * 100} for i in range(5000)])
    cursor = db.big.find({}, batch_size=333)
    assert [d["_id"] for d in cursor] == list(range(5000))
    assert db.big.count_documents({"_id": {"$lt": 2500}}) == 2500
    assert len(list(db.big.find().limit(1234))) == 1234


def test_kill_cursor_and_get_more_on_it(db):
    db.big.insert_many([{"_id": i} for i in range(300)])
    cursor = db.big.find(batch_size=10)
    next(cursor)
    cursor_id = cursor.cursor_id
    cursor.close()
    with pytest.raises(OperationFailure) as info:
        db.command("getMore", cursor_id, collection="big")
    assert info.value.code == 43


def test_update_operators_and_results(db):
    db.c.insert_many([{"_id": 1, "n": 1, "tags": ["a"]}, {"_id": 2, "n": 2, "tags": []}])
    result = db.c.update_one({"_id": 1}, {"$inc": {"n": 5}, "$push": {"tags": "b"}})
    assert (result.matched_count, result.modified_count) == (1, 1)
    assert db.c.find_one({"_id": 1}) == {"_id": 1, "n": 6, "tags": ["a", "b"]}
    result = db.c.update_many({}, {"$set": {"flag": True}})
    assert (result.matched_count, result.modified_count) == (2, 2)
    result = db.c.update_many({}, {"$set": {"flag": True}})
    assert (result.matched_count, result.modified_count) == (2, 0)


def test_upsert_builds_from_the_query(db):
    result = db.c.update_one({"name": "Ada", "age": {"$gt": 3}}, {"$set": {"x": 1}}, upsert=True)
    assert result.upserted_id is not None
    assert db.c.find_one({"_id": result.upserted_id}, {"_id": 0}) == {"name": "Ada", "x": 1}
    result = db.c.replace_one({"_id": 9}, {"v": 1}, upsert=True)
    assert result.upserted_id == 9
    assert db.c.find_one({"_id": 9}) == {"_id": 9, "v": 1}


def test_replace_keeps_id_and_refuses_operators(db):
    db.c.insert_one({"_id": 1, "a": 1})
    db.c.replace_one({"_id": 1}, {"b": 2})
    assert db.c.find_one() == {"_id": 1, "b": 2}
    with pytest.raises(ValueError):
        db.c.replace_one({"_id": 1}, {"$set": {"b": 3}})


def test_update_of_id_is_refused(db):
    db.c.insert_one({"_id": 1})
    with pytest.raises(OperationFailure) as info:
        db.c.update_one({"_id": 1}, {"$set": {"_id": 2}})
    assert info.value.code == 66


def test_delete(db):
    db.c.insert_many([{"_id": i, "even": i % 2 == 0} for i in range(10)])
    assert db.c.delete_one({"even": True}).deleted_count == 1
    assert db.c.delete_many({"even": True}).deleted_count == 4
    assert db.c.count_documents({}) == 5


def test_find_one_and_modify_family(db):
    db.c.insert_many([{"_id": 1, "n": 1}, {"_id": 2, "n": 2}])
    before = db.c.find_one_and_update({"_id": 1}, {"$inc": {"n": 1}})
    assert before == {"_id": 1, "n": 1}
    after = db.c.find_one_and_update({"_id": 1}, {"$inc": {"n": 1}},
                                     return_document=ReturnDocument.AFTER, projection={"_id": 0})
    assert after == {"n": 3}
    replaced = db.c.find_one_and_replace({"_id": 2}, {"m": 1}, return_document=ReturnDocument.AFTER)
    assert replaced == {"_id": 2, "m": 1}
    deleted = db.c.find_one_and_delete({}, sort=[("_id", -1)])
    assert deleted["_id"] == 2
    assert db.c.find_one_and_update({"_id": 7}, {"$set": {"a": 1}}, upsert=True,
                                    return_document=ReturnDocument.AFTER) == {"_id": 7, "a": 1}


def test_count_distinct_estimated(db):
    db.c.insert_many([{"k": [1, 2]}, {"k": 2}, {"k": 3}, {"other": 1}])
    assert db.c.estimated_document_count() == 4
    assert db.c.count_documents({"k": 2}) == 2
    assert db.c.distinct("k") == [1, 2, 3]
    assert db.command("count", "c", query={"k": {"$exists": True}})["n"] == 3


def test_bulk_write_mixed(db):
    result = db.c.bulk_write([InsertOne({"_id": 1}), InsertOne({"_id": 2}),
                              UpdateOne({"_id": 1}, {"$set": {"a": 1}}),
                              UpdateMany({}, {"$set": {"b": 1}}),
                              ReplaceOne({"_id": 3}, {"c": 1}, upsert=True),
                              DeleteOne({"_id": 2})])
    assert (result.inserted_count, result.matched_count, result.modified_count,
            result.upserted_count, result.deleted_count) == (2, 3, 3, 1, 1)


def test_unacknowledged_writes(db):
    fast = db.get_collection("c", write_concern=pymongo.WriteConcern(w=0))
    fast.insert_one({"_id": 1})
    fast.insert_many([{"_id": i} for i in range(2, 50)])
    assert db.c.count_documents({}) == 49


def test_namespaces(client, db):
    db.create_collection("made")
    with pytest.raises(pymongo.errors.CollectionInvalid):
        db.create_collection("made")
    db.other.insert_one({})
    assert sorted(db.list_collection_names()) == ["made", "other"]
    assert "compat" in client.list_database_names()
    db.other.rename("renamed")
    assert sorted(db.list_collection_names()) == ["made", "renamed"]
    stats = db.command("collStats", "renamed")
    assert stats["count"] == 1 and stats["nindexes"] == 1
    assert db.command("dbStats")["collections"] == 2
    db.drop_collection("made")
    client.drop_database("compat")
    assert "compat" not in client.list_database_names()


def test_errors_have_mongodb_codes(db):
    with pytest.raises(OperationFailure) as info:
        db.command("noSuchCommand")
    assert (info.value.code, info.value.details["codeName"]) == (59, "CommandNotFound")
    with pytest.raises(OperationFailure) as info:
        list(db.c.find({"a": {"$bogus": 1}}))
    assert info.value.code == 2
    with pytest.raises(OperationFailure) as info:
        db.command("drop", "missing")
    assert info.value.code == 26
    with pytest.raises(OperationFailure) as info:
        db.c.update_one({}, {"$set": {"a": 1}, "$unset": {"a": 1}}, upsert=True)
    assert info.value.code == 40


def test_large_documents_and_batches(db):
    big = "x" * (4 * 1024 * 1024)
    db.c.insert_many([{"_id": i, "s": big} for i in range(6)])
    assert [len(d["s"]) for d in db.c.find()] == [len(big)] * 6
    with pytest.raises(pymongo.errors.DocumentTooLarge):
        db.c.insert_one({"s": "x" * (17 * 1024 * 1024)})


def test_collation(db):
    db.c.insert_many([{"_id": 1, "s": "ping"}, {"_id": 2, "s": "PING"}, {"_id": 3, "s": "Péng"},
                      {"_id": 4, "s": "b"}, {"_id": 5, "s": "A"}, {"_id": 6, "s": "10"},
                      {"_id": 7, "s": "9"}])
    insensitive = {"locale": "en_US", "strength": 2}
    assert db.c.count_documents({"s": "ping"}) == 1
    assert db.c.count_documents({"s": "ping"}, collation=insensitive) == 2
    assert db.c.count_documents({"s": "peng"}, collation={"locale": "fr", "strength": 1}) == 1
    ordered = [d["s"] for d in db.c.find({"_id": {"$in": [4, 5]}}, sort=[("s", 1)],
                                         collation={"locale": "en"})]
    assert ordered == ["A", "b"]                       # binary order would put "b" last too
    assert [d["s"] for d in db.c.find({"_id": {"$in": [4, 5]}}).sort("s", -1)] == ["b", "A"]
    numeric = {"locale": "en", "numericOrdering": True}
    assert [d["s"] for d in db.c.find({"_id": {"$in": [6, 7]}}, sort=[("s", 1)],
                                      collation=numeric)] == ["9", "10"]
    assert sorted(db.c.distinct("s", {"_id": {"$lte": 2}}, collation=insensitive)) in \
        (["PING"], ["ping"])
    assert db.c.update_many({"s": "PING"}, {"$set": {"hit": True}},
                            collation=insensitive).modified_count == 2
    groups = list(db.c.aggregate([{"$match": {"_id": {"$lte": 2}}},
                                  {"$group": {"_id": "$s", "n": {"$sum": 1}}}],
                                 collation=insensitive))
    assert [g["n"] for g in groups] == [2]


def test_views(db):
    db.orders.insert_many([{"_id": i, "amount": i * 10, "status": "A" if i % 2 else "B"}
                           for i in range(1, 7)])
    db.create_collection("big_orders", viewOn="orders",
                         pipeline=[{"$match": {"amount": {"$gte": 30}}},
                                   {"$project": {"amount": 1, "status": 1}}])
    view = db.big_orders
    assert view.estimated_document_count() == 4
    assert [d["_id"] for d in view.find({"status": "A"}).sort("_id", 1)] == [3, 5]
    assert list(view.aggregate([{"$group": {"_id": None, "total": {"$sum": "$amount"}}}])) == \
        [{"_id": None, "total": 180}]
    info = next(db.list_collections(filter={"name": "big_orders"}))
    assert info["type"] == "view" and info["options"]["viewOn"] == "orders"
    db.orders.insert_one({"_id": 7, "amount": 70, "status": "A"})
    assert view.count_documents({}) == 5                 # computed when read
    with pytest.raises((OperationFailure, BulkWriteError)) as info:
        view.insert_one({"x": 1})
    assert info.value.code == 166 or info.value.details["writeErrors"][0]["code"] == 166


def test_validators_and_json_schema(db):
    from pymongo.errors import WriteError
    db.create_collection("people", validator={"$jsonSchema": {
        "bsonType": "object", "required": ["name", "age"],
        "properties": {"name": {"bsonType": "string", "minLength": 1},
                       "age": {"bsonType": "int", "minimum": 0, "maximum": 150},
                       "email": {"bsonType": "string", "pattern": "@"}}}})
    db.people.insert_one({"name": "Ada", "age": 36})
    for bad in ({"name": "Bob"}, {"name": "", "age": 1}, {"name": "C", "age": 200},
                {"name": "D", "age": 5, "email": "nope"}, {"name": "E", "age": "5"}):
        with pytest.raises(WriteError) as info:
            db.people.insert_one(bad)
        assert info.value.code == 121
        assert "failingDocumentId" in info.value.details["errInfo"]
    with pytest.raises(WriteError):
        db.people.update_one({"name": "Ada"}, {"$set": {"age": -1}})
    db.people.insert_one({"name": "Bob"}, bypass_document_validation=True)
    assert db.people.count_documents({"$jsonSchema": {"required": ["age"]}}) == 1
    db.command("collMod", "people", validator={"age": {"$gte": 18}},
               validationLevel="moderate")
    db.people.update_one({"name": "Bob"}, {"$set": {"note": "was invalid already"}})
    with pytest.raises(WriteError):
        db.people.insert_one({"name": "Kid", "age": 3})
    db.command("collMod", "people", validationAction="warn")
    db.people.insert_one({"name": "Kid", "age": 3})
    info = next(db.list_collections(filter={"name": "people"}))
    assert info["options"]["validator"] == {"age": {"$gte": 18}}
