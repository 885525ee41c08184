"""Bad input over the network: malformed BSON and messages, lying and giant lengths,
half-sent messages, garbage. Each gets an error (or, when the stream cannot be
trusted any more, a closed connection), never a crash: the server keeps serving."""

from __future__ import annotations

import random
import socket
import struct
import urllib.request

import pymongo

from fromscratch.docdb import bson, wire

from .wireclient import RawConnection


def still_serving(docdb) -> None:
    client = pymongo.MongoClient(docdb.uri, serverSelectionTimeoutMS=5000)
    assert client.admin.command("ping")["ok"] == 1.0
    client.close()


def test_giant_and_tiny_lengths_close_the_connection(docdb):
    for length in (2**31 - 1, 48_000_001, 0, 3, -5):
        connection = RawConnection(docdb.port)
        connection.send(struct.pack("<iiii", length, 1, 0, wire.OP_MSG))
        assert connection.closed_by_server()
        connection.close()
    still_serving(docdb)


def test_malformed_bson_gets_an_error_reply(docdb):
    connection = RawConnection(docdb.port)
    body = bson.encode({"ping": 1, "$db": "admin"})
    lying = struct.pack("<i", len(body) + 50) + body[4:]          # the document lies
    payload = struct.pack("<I", 0) + b"\x00" + lying
    message = struct.pack("<iiii", 16 + len(payload), 5, 0, wire.OP_MSG) + payload
    connection.send(message)
    _, [reply] = wire.parse_reply(connection.receive())
    assert reply["ok"] == 0.0 and reply["code"] in (9, 22)
    assert connection.command({"ping": 1, "$db": "admin"})["ok"] == 1.0     # still usable
    connection.close()


def test_unknown_section_kind_and_flags(docdb):
    connection = RawConnection(docdb.port)
    body = bson.encode({"ping": 1, "$db": "admin"})
    for flags, kind in ((0, 7), (1 << 5, 0)):
        payload = struct.pack("<I", flags) + bytes([kind]) + body
        connection.send(struct.pack("<iiii", 16 + len(payload), 9, 0, wire.OP_MSG) + payload)
        _, [reply] = wire.parse_reply(connection.receive())
        assert reply["ok"] == 0.0
    connection.close()


def test_unknown_opcode_closes(docdb):
    connection = RawConnection(docdb.port)
    connection.send(struct.pack("<iiii", 20, 1, 0, 2002) + b"\x00" * 4)     # OP_INSERT, gone
    assert connection.closed_by_server()
    still_serving(docdb)


def test_half_sent_message_then_disconnect(docdb):
    message = wire.encode_msg_request(1, {"insert": "x", "documents": [{"a": 1}] * 100,
                                          "$db": "fuzz"})
    sock = socket.create_connection(("127.0.0.1", docdb.port))
    sock.sendall(message[: len(message) // 2])
    sock.close()
    still_serving(docdb)


def test_random_garbage_and_mutations(docdb):
    rng = random.Random(8)
    valid = wire.encode_msg_request(1, {"find": "c", "filter": {"a": {"$gt": 1}},
                                        "$db": "fuzz"})
    for round_number in range(200):
        if round_number % 2:
            data = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 200)))
        else:
            data = bytearray(valid)
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] = rng.getrandbits(8)
            data = bytes(data)
        sock = socket.create_connection(("127.0.0.1", docdb.port), timeout=2)
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            while sock.recv(65536):
                pass
        except OSError:
            pass
        finally:
            sock.close()
    still_serving(docdb)


def test_compressed_bomb_is_refused(docdb):
    import zlib
    connection = RawConnection(docdb.port)
    inner = wire.encode_msg_request(1, {"ping": 1, "$db": "admin", "pad": "x" * 1000})
    body = inner[16:]
    packed = zlib.compress(body)
    # Claims a small size but inflates to more: refused, not inflated without bound.
    payload = struct.pack("<iiB", wire.OP_MSG, 10, wire.ZLIB) + packed
    connection.send(struct.pack("<iiii", 16 + len(payload), 3, 0, wire.OP_COMPRESSED) + payload)
    _, [reply] = wire.parse_reply(connection.receive())
    assert reply["ok"] == 0.0
    connection.close()
    still_serving(docdb)


def test_json_beyond_what_bson_holds(docdb):
    """Our limits, not CouchDB's (it takes big integers): a 400 each, never a 500."""
    from .test_http import call
    base = f"{docdb.http}/limits"
    call("PUT", base)
    status, _, _ = call("PUT", f"{base}/huge", raw=b'{"n": 123456789012345678901234567890}',
                        headers={"Content-Type": "application/json"})
    assert status == 400                              # no 64-bit integer holds it
    status, _, _ = call("PUT", f"{base}/deep", raw=b'{"a": ' * 100000 + b"1" + b"}" * 100000,
                        headers={"Content-Type": "application/json"})
    assert status == 400
    status, _, _ = call("PUT", f"{base}/deep2", raw=b'{"a": ' * 300 + b"1" + b"}" * 300,
                        headers={"Content-Type": "application/json"})
    assert status == 400                              # deeper than BSON's 200 levels
    call("DELETE", base)


def test_invalid_http_input(docdb):
    for raw in (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
                b"\x00\x01\x02 garbage\r\n\r\n",
                b"PUT /db/doc HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999999\r\n\r\n"):
        sock = socket.create_connection(("127.0.0.1", docdb.http_port), timeout=5)
        sock.sendall(raw)
        response = sock.recv(65536)
        sock.close()
        assert response.startswith(b"HTTP/1.1 4")
    with urllib.request.urlopen(f"{docdb.http}/_up", timeout=5) as response:
        assert response.status == 200


def test_client_that_does_not_read_its_replies(docdb):
    """Requests pile in faster than replies are read: the server stops reading that
    client for a while (no unbounded buffering) and every reply still arrives, in order."""
    connection = RawConnection(docdb.port, timeout=20)
    connection.command({"insert": "slow", "documents": [{"pad": "x" * 1000}] * 50,
                        "$db": "fuzz"})
    requests = b"".join(wire.encode_msg_request(i, {"find": "slow", "batchSize": 50,
                                                    "$db": "fuzz"}) for i in range(1, 401))
    connection.sock.sendall(requests)
    for i in range(1, 401):
        response_to, [reply] = wire.parse_reply(connection.receive())
        assert response_to == i and len(reply["cursor"]["firstBatch"]) == 50
    connection.command({"dropDatabase": 1, "$db": "fuzz"})
    connection.close()
