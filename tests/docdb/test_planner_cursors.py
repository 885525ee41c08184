"""The planner's choices and cursor batching, without a server."""

from __future__ import annotations

import pytest

from fromscratch.docdb.cursors import CursorManager
from fromscratch.docdb.errors import MongoError
from fromscratch.docdb.indexes import Index, SortedList
from fromscratch.docdb.planner import choose


def indexes(*specs) -> dict:
    built = [Index({"key": {"_id": 1}, "name": "_id_"})] + [Index(spec) for spec in specs]
    return {index.name: index for index in built}


def test_planner_prefers_longer_equality_prefix():
    available = indexes({"key": {"a": 1}, "name": "a"}, {"key": {"a": 1, "b": 1}, "name": "ab"},
                        {"key": {"c": 1}, "name": "c", "unique": True})
    assert choose(available, {"a": 1, "b": 2}).index.name == "ab"
    assert choose(available, {"a": 1, "b": {"$gt": 2}}).index.name == "ab"
    assert choose(available, {"a": {"$gt": 1}}).index.name in ("a", "ab")
    assert choose(available, {"b": 2}).index is None                 # not a prefix
    assert choose(available, {"a": 1, "c": 5}).index.name == "c"     # unique wins the tie
    assert choose(available, {"$and": [{"c": 1}]}).index.name == "c"
    assert choose(available, {"a": None}).index is None              # null also means missing
    assert choose(available, {"a": [1, 2]}).index is None            # arrays match differently
    assert choose(available, {"a": {"$in": [1, 2]}}).index.name in ("a", "ab")
    with pytest.raises(MongoError):
        choose(available, {}, hint="nope")


def test_partial_index_needs_its_filter_in_the_query():
    available = indexes({"key": {"a": 1}, "name": "a", "partialFilterExpression": {"ok": True}})
    assert choose(available, {"a": 1}).index is None
    assert choose(available, {"a": 1, "ok": True}).index.name == "a"


def test_multikey_ranges_keep_only_the_type_bracket():
    index = Index({"key": {"tags": 1}, "name": "tags"})
    index.add({"_id": 1, "tags": [0, 10]}, (2, 1, 1))
    plan = choose({"tags": index}, {"tags": {"$gt": 1, "$lt": 5}})
    [(low, high)] = plan.bounds
    found = [doc_id for _, doc_id in plan.index.scan(low, high)]
    assert found == [(2, 1, 1), (2, 1, 1)]         # both elements, so the doc is a candidate


def test_sorted_list_keeps_order_through_splits():
    items = SortedList()
    values = [(i * 7919) % 5000 for i in range(5000)]
    for value in values:
        items.add(value)
    assert list(items) == sorted(values) and len(items) == 5000
    for value in values[::2]:
        items.remove(value)
    assert list(items) == sorted(values[1::2])
    assert list(items.irange(100, 110)) == sorted(v for v in values[1::2] if 100 <= v <= 110)


def test_cursor_batches_limits_and_exhaustion():
    cursors = CursorManager()
    first = cursors.open("db.c", ({"_id": i} for i in range(10)), batch_size=3, owner=None)
    assert len(first["firstBatch"]) == 3 and first["id"] != 0
    more = cursors.get_more(first["id"], "db.c", 4, None)
    assert len(more["nextBatch"]) == 4 and more["id"] == first["id"]
    last = cursors.get_more(first["id"], "db.c", 100, None)
    assert len(last["nextBatch"]) == 3 and last["id"] == 0      # exhausted: closed
    limited = cursors.open("db.c", ({"_id": i} for i in range(10)), batch_size=5, limit=5,
                           owner=None)
    assert len(limited["firstBatch"]) == 5 and limited["id"] == 0
    single = cursors.open("db.c", ({"_id": i} for i in range(500)), batch_size=None,
                          single_batch=True, owner=None)
    assert len(single["firstBatch"]) == 500 and single["id"] == 0
    with pytest.raises(MongoError) as info:
        cursors.get_more(12345, "db.c", None, None)
    assert info.value.code == 43


def test_cursors_expire_and_check_their_owner():
    cursors = CursorManager(timeout=10)
    reply = cursors.open("db.c", ({"_id": i} for i in range(300)), batch_size=1, owner="a.u")
    with pytest.raises(MongoError) as info:
        cursors.get_more(reply["id"], "db.c", 1, "b.v")
    assert info.value.code == 13
    with pytest.raises(MongoError):
        cursors.get_more(reply["id"], "db.other", 1, "a.u")
    cursor = cursors.cursors[reply["id"]]
    assert cursors.expire(now=cursor.last_used + 5) == 0
    assert cursors.expire(now=cursor.last_used + 11) == 1 and not cursors.cursors
