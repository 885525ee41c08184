"""Sessions and SCRAM authentication through pymongo."""

from __future__ import annotations

import pymongo
import pytest
from pymongo import monitoring
from pymongo.errors import OperationFailure

from .conftest import DocdbServer


class Commands(monitoring.CommandListener):
    def __init__(self):
        self.events = []

    def started(self, event):
        self.events.append(event)

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def test_sessions_carry_lsid_and_end(docdb):
    listener = Commands()
    client = pymongo.MongoClient(docdb.uri, event_listeners=[listener])
    with client.start_session() as session:
        client.s.c.insert_one({"a": 1}, session=session)
        assert client.s.c.find_one({}, session=session)["a"] == 1
        lsid = session.session_id
    inserts = [e for e in listener.events if e.command_name == "insert"]
    assert inserts[0].command["lsid"] == lsid
    client.drop_database("s")
    client.close()
    assert any(e.command_name == "endSessions" for e in listener.events)


def test_start_session_command(client):
    reply = client.admin.command("startSession")
    assert reply["id"]["id"].subtype == 4 and reply["timeoutMinutes"] == 30


def test_transactions_are_refused_on_a_standalone(client):
    with client.start_session() as session:
        with pytest.raises((OperationFailure, pymongo.errors.ConfigurationError,
                            pymongo.errors.InvalidOperation)) as info:
            with session.start_transaction():
                client.t.c.insert_one({"a": 1}, session=session)
    if isinstance(info.value, OperationFailure):
        assert info.value.code == 20


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    server = DocdbServer(str(tmp_path_factory.mktemp("auth")), "--auth")
    yield server
    server.stop()


def test_scram_authentication(secured):
    anonymous = secured.client()
    # The localhost exception: the first user may be created without logging in.
    anonymous.admin.command("createUser", "root", pwd="s3cret", roles=["root"])
    with pytest.raises(OperationFailure) as info:
        anonymous.app.c.insert_one({"x": 1})
    assert info.value.code == 13
    with pytest.raises(OperationFailure) as info:        # no second user without logging in
        anonymous.admin.command("createUser", "other", pwd="x", roles=[])
    assert info.value.code == 13
    assert anonymous.admin.command("ping")["ok"] == 1.0
    anonymous.close()

    for mechanism in ("SCRAM-SHA-256", "SCRAM-SHA-1", "DEFAULT"):
        options = {} if mechanism == "DEFAULT" else {"authMechanism": mechanism}
        client = pymongo.MongoClient(secured.uri, username="root", password="s3cret",
                                     authSource="admin", serverSelectionTimeoutMS=5000, **options)
        client.app.c.insert_one({"by": mechanism})
        status = client.admin.command("connectionStatus")
        assert status["authInfo"]["authenticatedUsers"] == [{"user": "root", "db": "admin"}]
        client.close()

    wrong = pymongo.MongoClient(secured.uri, username="root", password="nope",
                                serverSelectionTimeoutMS=5000)
    with pytest.raises(pymongo.errors.OperationFailure) as info:
        wrong.app.c.find_one()
    assert info.value.code == 18
    wrong.close()

    admin = pymongo.MongoClient(secured.uri, username="root", password="s3cret")
    admin.app.command("createUser", "reader", pwd="pw", roles=["read"])
    users = admin.app.command("usersInfo")["users"]
    assert [u["user"] for u in users] == ["reader"]
    reader = pymongo.MongoClient(secured.uri, username="reader", password="pw", authSource="app")
    assert reader.app.c.count_documents({}) == 3
    reader.close()
    admin.app.command("dropUser", "reader")
    gone = pymongo.MongoClient(secured.uri, username="reader", password="pw", authSource="app",
                               serverSelectionTimeoutMS=5000)
    with pytest.raises(OperationFailure):
        gone.app.c.find_one()
    gone.close()
    admin.close()


def test_users_survive_a_restart(secured):
    secured.stop()
    secured.start()
    client = pymongo.MongoClient(secured.uri, username="root", password="s3cret")
    assert client.app.c.count_documents({}) == 3
    client.close()


def test_list_local_sessions(docdb):
    client = pymongo.MongoClient(docdb.uri)
    with client.start_session() as session:
        client.admin.command("ping", session=session)
        listed = list(client.admin.aggregate([{"$listLocalSessions": {}}], session=session))
        session_id = session.session_id["id"]
        assert session_id in [entry["_id"]["id"] for entry in listed]
    client.close()                       # sends endSessions: the server forgets them
    other = pymongo.MongoClient(docdb.uri)
    ids = [entry["_id"]["id"] for entry in other.admin.aggregate([{"$listLocalSessions": {}}])]
    assert session_id not in ids
    other.close()
