"""The handshake both ways (legacy OP_QUERY and OP_MSG), compression, and the server
information commands."""

from __future__ import annotations

import struct
import zlib

import pymongo
import pytest

from fromscratch.docdb import bson, wire

from .wireclient import RawConnection


def test_legacy_op_query_is_master_gets_op_reply(docdb):
    """pymongo <= 4.17 opens with OP_QUERY {isMaster: 1} on admin.$cmd."""
    connection = RawConnection(docdb.port)
    opcode, documents = connection.legacy_command(
        "admin", {"isMaster": 1, "helloOk": True, "client": {"driver": {"name": "test"}}})
    assert opcode == wire.OP_REPLY
    reply = documents[0]
    assert reply["ok"] == 1.0 and reply["ismaster"] is True and reply["helloOk"] is True
    assert reply["maxWireVersion"] >= 9 and reply["minWireVersion"] == 0
    assert "setName" not in reply and "topologyVersion" not in reply
    connection.close()


def test_op_msg_hello_from_the_first_message(docdb):
    """pymongo 4.20 sends OP_MSG from the start."""
    connection = RawConnection(docdb.port)
    reply = connection.command({"hello": 1, "helloOk": True, "$db": "admin"})
    assert reply["isWritablePrimary"] is True
    assert reply["maxBsonObjectSize"] == 16777216
    assert reply["maxMessageSizeBytes"] == 48000000
    assert reply["maxWriteBatchSize"] == 100000
    assert reply["logicalSessionTimeoutMinutes"] == 30
    connection.close()


def test_kind_one_sequences_and_more_to_come(docdb):
    connection = RawConnection(docdb.port)
    documents = [{"_id": i} for i in range(3)]
    reply = connection.command({"insert": "seq", "$db": "raw"}, {"documents": documents})
    assert reply == {"n": 3, "ok": 1.0}
    # moreToCome: no reply at all; the next reply answers the next request.
    connection.request_id += 1
    connection.send(wire.encode_msg_request(connection.request_id,
                                            {"insert": "seq", "documents": [{"_id": 9}],
                                             "$db": "raw"}, flags=wire.MORE_TO_COME))
    reply = connection.command({"count": "seq", "$db": "raw"})
    assert reply["n"] == 4
    connection.command({"dropDatabase": 1, "$db": "raw"})
    connection.close()


def test_compressed_request_gets_compressed_reply(docdb):
    connection = RawConnection(docdb.port)
    hello = connection.command({"hello": 1, "compression": ["snappy", "zlib"], "$db": "admin"})
    assert hello["compression"] == ["zlib"]
    connection.send(wire.compress(wire.encode_msg_request(7, {"ping": 1, "$db": "admin"}),
                                  wire.ZLIB))
    raw = connection.receive()
    assert struct.unpack_from("<i", raw, 12)[0] == wire.OP_COMPRESSED
    original, size, compressor = struct.unpack_from("<iiB", raw, 16)
    assert (original, compressor) == (wire.OP_MSG, wire.ZLIB)
    body = zlib.decompress(raw[25:])
    assert bson.decode(body[5:]) == {"ok": 1.0}
    connection.close()


def test_pymongo_with_zlib_compression(docdb):
    client = pymongo.MongoClient(docdb.uri, compressors="zlib")
    client.z.c.insert_many([{"text": "word " * 200} for _ in range(50)])
    assert client.z.c.count_documents({}) == 50
    assert len(list(client.z.c.find())) == 50
    client.drop_database("z")
    client.close()


def test_server_information_commands(client):
    admin = client.admin
    assert admin.command("ping") == {"ok": 1.0}
    info = admin.command("buildInfo")
    assert info["version"].startswith("6.") and info["versionArray"][0] == 6
    status = admin.command("serverStatus")
    assert status["connections"]["current"] >= 1 and "opcounters" in status
    assert "system" in admin.command("hostInfo")
    assert admin.command("whatsmyuri")["you"].startswith("127.0.0.1:")
    assert "featureCompatibilityVersion" in admin.command({"getParameter": "*"})
    assert client.server_info()["ok"] == 1.0


def test_old_pymongo_style_connects(docdb):
    """Whatever the installed pymongo, its whole handshake and a round trip work."""
    client = pymongo.MongoClient(docdb.uri, appname="compat")
    assert client.admin.command("hello")["isWritablePrimary"] is True
    client.close()


def test_many_concurrent_clients(docdb):
    import threading
    errors = []

    def work(n):
        try:
            client = pymongo.MongoClient(docdb.uri)
            for i in range(50):
                client.conc.c.insert_one({"w": n, "i": i})
            assert client.conc.c.count_documents({"w": n}) == 50
            client.close()
        except Exception as error:         # reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    client = pymongo.MongoClient(docdb.uri)
    assert client.conc.c.count_documents({}) == 400
    client.drop_database("conc")
    client.close()


@pytest.mark.parametrize("command", [{"hello": 1}, {"isMaster": 1}, {"ismaster": 1}])
def test_hello_spellings(client, command):
    assert client.admin.command(command)["ok"] == 1.0
