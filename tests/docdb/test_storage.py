"""The storage engine and its journal: recovery, torn tails, compaction, indexes,
revisions and TTL, in-process."""

from __future__ import annotations

import datetime
import glob
import os

import pytest

from fromscratch.docdb.bson import UTC
from fromscratch.docdb.errors import MongoError
from fromscratch.docdb.journal import encode_record
from fromscratch.docdb.planner import Stats
from fromscratch.docdb.storage import Engine


def fill(engine: Engine, count: int = 100) -> None:
    people = engine.collection("app", "people", create=True)
    people.create_index({"key": {"age": 1}, "name": "age_1"})
    for i in range(count):
        people.insert({"_id": i, "age": i % 50, "name": f"p{i}"})
    engine.commit()


def test_recovery_replays_the_journal(tmp_path):
    engine = Engine(str(tmp_path))
    fill(engine)
    people = engine.collection("app", "people")
    people.replace(people.get(1), {"_id": 1, "age": 99})
    people.delete(people.get(2))
    engine.close()
    again = Engine(str(tmp_path))
    people = again.collection("app", "people")
    assert len(people) == 99 and people.get(1) == {"_id": 1, "age": 99}
    assert people.get(2) is None and people.revision(2).deleted
    assert people.revision(1).number == 2
    stats = Stats()
    assert len(people.find({"age": 10}, stats=stats)) == 2 and stats.keys_examined == 2
    again.close()


def test_torn_tail_is_cut(tmp_path):
    engine = Engine(str(tmp_path))
    fill(engine, 10)
    engine.close()
    [journal] = glob.glob(os.path.join(str(tmp_path), "journal.*"))
    good_size = os.path.getsize(journal)
    record = encode_record({"op": "put", "ns": "app.people", "rev": "1-x", "seq": 99,
                            "doc": {"_id": "torn"}})
    with open(journal, "ab") as file:
        file.write(record[: len(record) // 2])          # a crash in the middle of a write
    engine = Engine(str(tmp_path))
    assert len(engine.collection("app", "people")) == 10
    assert os.path.getsize(journal) == good_size
    engine.collection("app", "people").insert({"_id": "after"})
    engine.close()
    assert Engine(str(tmp_path)).collection("app", "people").get("after") == {"_id": "after"}


def test_corrupt_record_stops_replay(tmp_path):
    engine = Engine(str(tmp_path))
    fill(engine, 10)
    engine.close()
    [journal] = glob.glob(os.path.join(str(tmp_path), "journal.*"))
    data = bytearray(open(journal, "rb").read())
    data[-3] ^= 0xFF                                    # flip bits in the last record
    open(journal, "wb").write(data)
    assert len(Engine(str(tmp_path)).collection("app", "people")) == 9


def test_compaction_then_recovery(tmp_path):
    engine = Engine(str(tmp_path))
    fill(engine, 200)
    people = engine.collection("app", "people")
    for i in range(100):
        people.delete(people.get(i))
    seq = people.seq
    engine.maybe_compact(force=True).join()
    people.insert({"_id": "later", "age": 1})
    engine.close()
    files = sorted(os.path.basename(p) for p in glob.glob(os.path.join(str(tmp_path), "*")))
    assert files == ["journal.1", "snapshot.1"]
    again = Engine(str(tmp_path))
    people = again.collection("app", "people")
    assert len(people) == 101 and people.seq == seq + 1
    assert people.revision(5).deleted                    # tombstones survive compaction
    assert "age_1" in people.indexes and len(people.find({"age": 1})) == 3


def test_compaction_cut_short_is_ignored(tmp_path):
    engine = Engine(str(tmp_path))
    fill(engine, 20)
    engine.close()
    with open(os.path.join(str(tmp_path), "snapshot.1.tmp"), "wb") as file:
        file.write(b"half a snapshot")                 # a crash while compacting
    again = Engine(str(tmp_path))
    assert len(again.collection("app", "people")) == 20
    assert not os.path.exists(os.path.join(str(tmp_path), "snapshot.1.tmp"))
    again.close()


def test_unique_violation_changes_nothing(tmp_path):
    engine = Engine(str(tmp_path))
    people = engine.collection("app", "people", create=True)
    people.create_index({"key": {"email": 1}, "name": "email_1", "unique": True})
    people.insert({"_id": 1, "email": "a"})
    people.insert({"_id": 2, "email": "b"})
    with pytest.raises(MongoError) as info:
        people.replace(people.get(2), {"_id": 2, "email": "a"})
    assert info.value.code == 11000 and info.value.details["keyValue"] == {"email": "a"}
    assert people.get(2) == {"_id": 2, "email": "b"}
    assert people.revision(2).number == 1
    engine.close()


def test_ttl_expiry(tmp_path):
    engine = Engine(str(tmp_path))
    sessions = engine.collection("app", "sessions", create=True)
    sessions.create_index({"key": {"at": 1}, "name": "at_1", "expireAfterSeconds": 60})
    now = datetime.datetime.now(UTC)
    sessions.insert({"_id": 1, "at": now - datetime.timedelta(minutes=5)})
    sessions.insert({"_id": 2, "at": [now, now - datetime.timedelta(hours=1)]})
    sessions.insert({"_id": 3, "at": now})
    sessions.insert({"_id": 4, "at": "not a date"})
    assert engine.expire_ttl() == 2
    assert sorted(d["_id"] for d in sessions.find({})) == [3, 4]
    engine.close()


def test_revisions_follow_every_write(tmp_path):
    engine = Engine(str(tmp_path))
    docs = engine.collection("couch", "docs", create=True)
    docs.insert({"_id": "a", "v": 1})
    first = docs.revision("a").rev
    docs.replace(docs.get("a"), {"_id": "a", "v": 2})
    second = docs.revision("a")
    assert first.startswith("1-") and second.rev.startswith("2-") and second.seq == 2
    docs.insert({"_id": "b"})
    assert [r.doc_id for r in docs.revisions.values()] == ["a", "b"]
    docs.replace(docs.get("a"), {"_id": "a", "v": 3})
    assert [r.doc_id for r in docs.revisions.values()] == ["b", "a"]     # seq order
    engine.close()
