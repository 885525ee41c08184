"""Indexes through pymongo: unique, compound, sparse, partial and TTL, and the planner's
choice as explain reports it."""

from __future__ import annotations

import datetime
import time

import pytest
from pymongo.errors import DuplicateKeyError, OperationFailure


def stage(explanation: dict) -> str:
    plan = explanation["queryPlanner"]["winningPlan"]
    return plan.get("inputStage", plan)["stage"]


def test_create_list_drop(db):
    assert db.c.create_index("a") == "a_1"
    assert db.c.create_index([("a", 1), ("b", -1)], name="ab") == "ab"
    assert db.c.create_index("a") == "a_1"                    # the same again: no error
    names = [index["name"] for index in db.c.list_indexes()]
    assert names == ["_id_", "a_1", "ab"]
    assert db.c.index_information()["ab"]["key"] == [("a", 1), ("b", -1)]
    with pytest.raises(OperationFailure) as info:
        db.c.create_index("a", name="ab")                      # same name, other key
    assert info.value.code == 86
    db.c.drop_index("ab")
    assert [i["name"] for i in db.c.list_indexes()] == ["_id_", "a_1"]
    with pytest.raises(OperationFailure) as info:
        db.c.drop_index("nope")
    assert info.value.code == 27
    db.c.drop_indexes()
    assert [i["name"] for i in db.c.list_indexes()] == ["_id_"]


def test_unique_index(db):
    db.users.create_index("email", unique=True)
    db.users.insert_one({"email": "a@x"})
    with pytest.raises(DuplicateKeyError) as info:
        db.users.insert_one({"email": "a@x"})
    assert info.value.details["keyPattern"] == {"email": 1}
    assert info.value.details["keyValue"] == {"email": "a@x"}
    db.users.insert_one({"name": "no email"})
    with pytest.raises(DuplicateKeyError):                     # missing counts as null
        db.users.insert_one({"name": "no email either"})
    db.users.insert_one({"email": "b@x"})
    with pytest.raises(DuplicateKeyError):
        db.users.update_one({"email": "b@x"}, {"$set": {"email": "a@x"}})
    assert db.users.count_documents({"email": "b@x"}) == 1


def test_unique_index_on_existing_duplicates_fails(db):
    db.c.insert_many([{"a": 1}, {"a": 1}])
    with pytest.raises(OperationFailure) as info:
        db.c.create_index("a", unique=True)
    assert info.value.code == 11000


def test_sparse_and_partial_unique(db):
    db.s.create_index("code", unique=True, sparse=True)
    db.s.insert_many([{"x": 1}, {"x": 2}, {"code": 1}])
    with pytest.raises(DuplicateKeyError):
        db.s.insert_one({"code": 1})
    db.p.create_index("email", unique=True, partialFilterExpression={"active": True})
    db.p.insert_many([{"email": "a", "active": False}, {"email": "a", "active": False},
                      {"email": "a", "active": True}])
    with pytest.raises(DuplicateKeyError):
        db.p.insert_one({"email": "a", "active": True})


def test_compound_and_multikey(db):
    db.c.create_index([("a", 1), ("b", 1)])
    db.c.insert_many([{"a": i % 10, "b": i, "tags": [i, i + 1]} for i in range(200)])
    assert db.c.count_documents({"a": 3, "b": {"$gt": 100}}) == 10
    db.c.create_index("tags")
    assert sorted(d["b"] for d in db.c.find({"tags": 50})) == [49, 50]
    # two bounds met by different elements of one array: still found
    assert db.c.count_documents({"tags": {"$gt": 10, "$lt": 11}}) == 1
    with pytest.raises(OperationFailure):
        db.c.create_index([("tags", 1), ("other", 1)]) and db.c.insert_one(
            {"tags": [1, 2], "other": [3, 4]})


def test_explain_ixscan_versus_collscan(db):
    db.c.insert_many([{"_id": i, "a": i, "b": i % 3} for i in range(500)])
    db.c.create_index("a")
    indexed = db.c.find({"a": {"$gte": 10, "$lt": 20}}).explain()
    assert stage(indexed) == "IXSCAN"
    assert indexed["queryPlanner"]["winningPlan"]["inputStage"]["indexName"] == "a_1"
    stats = indexed["executionStats"]
    assert stats["nReturned"] == 10
    assert stats["totalDocsExamined"] <= 11 and stats["totalKeysExamined"] <= 11
    scanned = db.c.find({"b": 1}).explain()
    assert stage(scanned) == "COLLSCAN"
    assert scanned["executionStats"]["totalDocsExamined"] == 500
    assert scanned["executionStats"]["totalKeysExamined"] == 0
    hinted = db.c.find({"b": 1}).hint("a_1").explain()
    assert stage(hinted) == "IXSCAN"
    assert hinted["executionStats"]["nReturned"] == 167


def test_ttl_index_removes_expired_documents(db):
    db.sessions.create_index("at", expireAfterSeconds=1)
    now = datetime.datetime.now(datetime.timezone.utc)
    db.sessions.insert_many([{"_id": "old", "at": now - datetime.timedelta(seconds=30)},
                             {"_id": "new", "at": now + datetime.timedelta(hours=1)},
                             {"_id": "no date", "at": "yesterday"}])
    deadline = time.monotonic() + 10
    while db.sessions.count_documents({"_id": "old"}) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sorted(d["_id"] for d in db.sessions.find()) == ["new", "no date"]
    info = db.sessions.index_information()["at_1"]
    assert info["expireAfterSeconds"] == 1


def test_index_survives_restart(tmp_path):
    from .conftest import DocdbServer
    server = DocdbServer(str(tmp_path))
    try:
        client = server.client()
        client.db.c.create_index("k", unique=True)
        client.db.c.insert_one({"k": 1})
        client.close()
        server.stop()
        server.start()
        client = server.client()
        with pytest.raises(DuplicateKeyError):
            client.db.c.insert_one({"k": 1})
        assert stage(client.db.c.find({"k": 1}).explain()) == "IXSCAN"
        client.close()
    finally:
        server.stop()
