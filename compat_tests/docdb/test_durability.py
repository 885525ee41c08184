"""Durability as a user sees it: kill -9 loses no acknowledged write, restarts recover,
the journal is compacted in the background, idle cursors time out."""

from __future__ import annotations

import glob
import os
import threading
import time

import pymongo
import pytest
from pymongo.errors import AutoReconnect, OperationFailure, ServerSelectionTimeoutError

from .conftest import DocdbServer


def test_kill_9_loses_no_acknowledged_write(tmp_path):
    server = DocdbServer(str(tmp_path))
    acknowledged: list[int] = []
    updated: dict[int, int] = {}
    stop = threading.Event()

    def writer():
        client = pymongo.MongoClient(server.uri, serverSelectionTimeoutMS=2000,
                                     retryWrites=False)
        i = 0
        try:
            while not stop.is_set():
                client.d.c.insert_one({"_id": i, "v": 0})
                acknowledged.append(i)
                if i % 3 == 0:
                    client.d.c.update_one({"_id": i}, {"$set": {"v": i}})
                    updated[i] = i
                i += 1
        except (AutoReconnect, ServerSelectionTimeoutError, OSError):
            pass                                   # the server died under us: expected
        finally:
            client.close()

    try:
        thread = threading.Thread(target=writer)
        thread.start()
        deadline = time.monotonic() + 20
        while len(acknowledged) < 300 and time.monotonic() < deadline:
            time.sleep(0.01)
        server.kill()                              # SIGKILL while writes are in flight
        stop.set()
        thread.join()
        assert len(acknowledged) >= 300
        server.start()
        client = server.client()
        stored = {d["_id"]: d["v"] for d in client.d.c.find()}
        missing = [i for i in acknowledged if i not in stored]
        assert missing == []
        assert all(stored[i] == v for i, v in updated.items())
        client.close()
    finally:
        stop.set()
        server.stop()


def test_restart_recovers_everything(tmp_path):
    server = DocdbServer(str(tmp_path))
    try:
        client = server.client()
        client.d.a.insert_many([{"_id": i, "x": i} for i in range(1000)])
        client.d.a.update_many({"x": {"$lt": 10}}, {"$set": {"small": True}})
        client.d.a.delete_many({"x": {"$gte": 990}})
        client.d.b.insert_one({"_id": "other"})
        client.d.b.rename("renamed")
        client.e.c.insert_one({"gone": True})
        client.drop_database("e")
        client.close()
        server.stop()                              # a clean shutdown...
        server.start()
        client = server.client()
        assert client.d.a.count_documents({}) == 990
        assert client.d.a.count_documents({"small": True}) == 10
        assert sorted(client.d.list_collection_names()) == ["a", "renamed"]
        assert "e" not in client.list_database_names()
        client.close()
        server.kill()                              # ...and a crash: same state
        server.start()
        client = server.client()
        assert client.d.a.count_documents({}) == 990
        client.close()
    finally:
        server.stop()


def test_background_compaction_keeps_the_data(tmp_path):
    server = DocdbServer(str(tmp_path), "--compact-threshold", "200000")
    try:
        client = server.client()
        for round_number in range(5):
            client.d.c.delete_many({})
            client.d.c.insert_many([{"_id": i, "round": round_number, "pad": "p" * 100}
                                    for i in range(500)])
        deadline = time.monotonic() + 15
        while not glob.glob(os.path.join(str(tmp_path), "snapshot.*")) and \
                time.monotonic() < deadline:
            time.sleep(0.1)
        assert glob.glob(os.path.join(str(tmp_path), "snapshot.*"))
        status = client.admin.command("serverStatus")
        assert status["storageEngine"]["compactions"] >= 0
        client.d.c.insert_one({"_id": "after"})
        client.close()
        server.kill()
        server.start()
        client = server.client()
        assert client.d.c.count_documents({"round": 4}) == 500
        assert client.d.c.find_one({"_id": "after"}) == {"_id": "after"}
        client.close()
    finally:
        server.stop()


def test_idle_cursors_time_out(tmp_path):
    server = DocdbServer(str(tmp_path), "--cursor-timeout", "1")
    try:
        client = server.client()
        client.d.c.insert_many([{"_id": i} for i in range(50)])
        reply = client.d.command("find", "c", batchSize=2)
        cursor_id = reply["cursor"]["id"]
        assert cursor_id != 0
        deadline = time.monotonic() + 10           # the sweep runs once a second
        while time.monotonic() < deadline:
            status = client.admin.command("serverStatus")
            if status["metrics"]["cursor"]["timedOut"] >= 1:
                break
            time.sleep(0.2)
        with pytest.raises(OperationFailure) as info:
            client.d.command("getMore", cursor_id, collection="c")
        assert info.value.code == 43
        client.close()
    finally:
        server.stop()
