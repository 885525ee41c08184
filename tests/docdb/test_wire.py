"""Wire messages, sans I/O: parsing what drivers send, building what they expect, and
fuzzing the reader with garbage, truncations and lying lengths."""

from __future__ import annotations

import random
import struct
import zlib

import pytest

from fromscratch.docdb import bson, wire


def test_op_msg_with_document_sequence():
    data = wire.encode_msg_request(7, {"insert": "c", "$db": "d"},
                                   {"documents": [{"_id": 1}, {"_id": 2}]})
    reader = wire.MessageReader()
    reader.feed(data)
    message = reader.next_message()
    assert isinstance(message, wire.Msg) and message.request_id == 7
    assert message.sequences == {"documents": [{"_id": 1}, {"_id": 2}]}
    assert message.command() == {"insert": "c", "$db": "d", "documents": [{"_id": 1}, {"_id": 2}]}
    assert reader.next_message() is None


def test_reader_takes_bytes_one_at_a_time():
    data = wire.encode_msg_request(1, {"ping": 1, "$db": "admin"}) + \
        wire.encode_query(2, "admin.$cmd", {"isMaster": 1})
    reader = wire.MessageReader()
    messages = []
    for byte in data:
        reader.feed(bytes([byte]))
        message = reader.next_message()
        if message is not None:
            messages.append(message)
    assert [type(m).__name__ for m in messages] == ["Msg", "Query"]
    assert messages[1].query == {"isMaster": 1} and messages[1].database == "admin"


def test_checksum_flag_and_more_to_come():
    body = struct.pack("<I", wire.CHECKSUM_PRESENT | wire.MORE_TO_COME) + b"\x00" + \
        bson.encode({"ping": 1}) + b"\x12\x34\x56\x78"
    data = wire.HEADER.pack(16 + len(body), 3, 0, wire.OP_MSG) + body
    message = wire.parse_message(data)
    assert message.body == {"ping": 1} and message.more_to_come


def test_replies():
    response_to, [document] = wire.parse_reply(wire.encode_msg(10, 4, {"ok": 1.0}))
    assert (response_to, document) == (4, {"ok": 1.0})
    reply = wire.encode_reply(11, 5, [{"ismaster": True}, {"x": 1}])
    assert struct.unpack_from("<iqii", reply, 16) == (0, 0, 0, 2)
    assert wire.parse_reply(reply) == (5, [{"ismaster": True}, {"x": 1}])


def test_compression_round_trip():
    original = wire.encode_msg_request(3, {"find": "c", "$db": "d", "pad": "x" * 500})
    packed = wire.compress(original, wire.ZLIB)
    assert len(packed) < len(original)
    message = wire.parse_message(packed)
    assert message.body["pad"] == "x" * 500 and message.compressor == wire.ZLIB


@pytest.mark.parametrize("length", [0, 15, -1, wire.MAX_MESSAGE_SIZE + 1, 2**31 - 1])
def test_impossible_lengths_are_framing_errors(length):
    reader = wire.MessageReader()
    reader.feed(struct.pack("<iiii", length, 1, 0, wire.OP_MSG))
    with pytest.raises(wire.FramingError):
        reader.next_message()


def test_bad_content_is_a_message_error():
    for body in (struct.pack("<I", 0) + b"\x09",                       # unknown section kind
                 struct.pack("<I", 0),                                  # no body section
                 struct.pack("<I", 1 << 4) + b"\x00" + bson.encode({})):  # unknown required flag
        with pytest.raises(wire.MessageError):
            wire.parse_message(wire.HEADER.pack(16 + len(body), 1, 0, wire.OP_MSG) + body)
    bomb = zlib.compress(b"\x00" * 100000)
    payload = struct.pack("<iiB", wire.OP_MSG, 100, wire.ZLIB) + bomb
    with pytest.raises(wire.MessageError):
        wire.parse_message(wire.HEADER.pack(16 + len(payload), 1, 0, wire.OP_COMPRESSED) + payload)


def test_fuzzed_messages_raise_only_wire_errors():
    rng = random.Random(99)
    samples = [wire.encode_msg_request(1, {"insert": "c", "$db": "d"},
                                       {"documents": [{"a": i} for i in range(3)]}),
               wire.encode_query(2, "admin.$cmd", {"isMaster": 1}),
               wire.compress(wire.encode_msg_request(3, {"ping": 1, "$db": "a"}), wire.ZLIB)]
    for sample in samples:
        candidates = [sample[:cut] for cut in range(len(sample))]
        for _ in range(400):
            mutated = bytearray(sample)
            for _ in range(rng.randint(1, 5)):
                mutated[rng.randrange(len(mutated))] = rng.getrandbits(8)
            candidates.append(bytes(mutated))
        for candidate in candidates:
            reader = wire.MessageReader()
            reader.feed(candidate)
            try:
                while reader.next_message() is not None:
                    pass
            except (wire.FramingError, wire.MessageError):
                pass
