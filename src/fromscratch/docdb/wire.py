"""The MongoDB wire protocol's messages: bytes <-> message objects, no sockets.

Every message starts with a 16-byte header of little-endian int32s:

    messageLength  requestID  responseTo  opCode

The opcodes we speak (protocol_specs/mongo-wire.md has the layouts):

* OP_MSG (2013): flagBits, then sections. Kind 0 is the command document; kind 1 is a
  named sequence of documents (pymongo sends insert `documents`, update `updates` and
  delete `deletes` that way). Flag bit 0 says a CRC-32C checksum ends the message;
  bit 1 (`moreToCome`) says the client wants no reply.
* OP_QUERY (2004) and OP_REPLY (1): the legacy pair, still used by pymongo <= 4.17 for
  its first `isMaster`. We accept OP_QUERY only for commands (`<db>.$cmd`).
* OP_COMPRESSED (2012): another message, compressed; we speak zlib (id 2) and noop (0).

`MessageReader` takes bytes as they arrive and yields whole messages. A header that
cannot be right (a length under 16 or over `max_size`) is a `FramingError`: the stream
cannot be resynchronised and the server closes the connection. A well-framed message
whose content is bad is a `MessageError`: the client gets an error reply and may go on.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

from . import bson

OP_REPLY = 1
OP_QUERY = 2004
OP_COMPRESSED = 2012
OP_MSG = 2013

CHECKSUM_PRESENT = 1 << 0
MORE_TO_COME = 1 << 1               # (bit 16, exhaustAllowed, is optional: we ignore it)

NOOP, ZLIB = 0, 2                   # compressor ids (1 snappy and 3 zstd we do not speak)
COMPRESSORS = {"zlib": ZLIB}              # what we can offer in the handshake

MAX_MESSAGE_SIZE = 48_000_000
HEADER = struct.Struct("<iiii")


class FramingError(Exception):
    """The byte stream is not a sequence of messages any more: close the connection."""


INVALID_BSON, FAILED_TO_PARSE = 22, 9           # the error codes MongoDB answers them with


class MessageError(Exception):
    """One message is malformed; its sender gets an error reply with `code`."""

    def __init__(self, message: str, request_id: int = 0, opcode: int = OP_MSG,
                 code: int = FAILED_TO_PARSE):
        super().__init__(message)
        self.request_id = request_id
        self.opcode = opcode
        self.code = code


@dataclass
class Msg:
    """An OP_MSG: the command document and the kind-1 document sequences."""
    request_id: int
    flags: int
    body: dict
    sequences: dict[str, list[dict]] = field(default_factory=dict)
    compressor: int | None = None           # set when it arrived in an OP_COMPRESSED
    # The bytes of each document of each sequence, as sent: an insert can journal them
    # as they are instead of encoding the documents again.
    raw_sequences: dict[str, list[bytes]] = field(default_factory=dict)

    @property
    def more_to_come(self) -> bool:
        return bool(self.flags & MORE_TO_COME)

    def command(self) -> dict:
        """The command with its document sequences folded in as arrays, as the server
        sees it: `{insert: "c", documents: [...]}` whichever way they were sent."""
        if not self.sequences:
            return self.body
        merged = dict(self.body)
        for name, documents in self.sequences.items():
            merged[name] = documents
        return merged


@dataclass
class Query:
    """A legacy OP_QUERY (for us: a command sent to `<db>.$cmd`)."""
    request_id: int
    flags: int
    collection: str
    skip: int
    limit: int
    query: dict
    fields: dict | None = None
    compressor: int | None = None

    @property
    def database(self) -> str:
        return self.collection.split(".", 1)[0]


class MessageReader:
    """Incremental decoder: `feed(bytes)`, then `next_message()` until it returns None."""

    def __init__(self, max_size: int = MAX_MESSAGE_SIZE):
        self.max_size = max_size
        self.buffer = bytearray()

    def feed(self, data: bytes) -> None:
        self.buffer += data

    def next_message(self):
        """The next whole message (Msg or Query), or None until more bytes arrive."""
        if len(self.buffer) < 4:
            return None
        length = struct.unpack_from("<i", self.buffer, 0)[0]
        if length < HEADER.size or length > self.max_size:
            raise FramingError(f"message length {length} is out of range")
        if len(self.buffer) < length:
            return None
        data = bytes(self.buffer[:length])
        del self.buffer[:length]
        return parse_message(data)


def parse_message(data: bytes, compressor: int | None = None, depth: int = 0):
    """One complete message (header included) -> Msg or Query."""
    length, request_id, _response_to, opcode = HEADER.unpack_from(data, 0)
    if opcode == OP_MSG:
        return _parse_msg(data, request_id, compressor)
    if opcode == OP_QUERY:
        return _parse_query(data, request_id, compressor)
    if opcode == OP_COMPRESSED and depth == 0:
        return _parse_compressed(data, request_id)
    raise FramingError(f"unsupported opcode {opcode}")


def _parse_msg(data: bytes, request_id: int, compressor: int | None) -> Msg:
    if len(data) < 21:
        raise MessageError("OP_MSG too short", request_id)
    flags = struct.unpack_from("<I", data, 16)[0]
    end = len(data)
    if flags & CHECKSUM_PRESENT:
        end -= 4          # a CRC-32C; TCP already guards the bytes, so we do not verify it
    # Bits 0-15 are required: a flag we do not know there must be refused.
    if flags & 0xFFFF & ~(CHECKSUM_PRESENT | MORE_TO_COME):
        raise MessageError(f"unknown required OP_MSG flag bits {flags:#x}", request_id)
    position, body, sequences, raw_sequences = 20, None, {}, {}
    try:
        while position < end:
            kind = data[position]
            position += 1
            if kind == 0:
                if body is not None:
                    raise MessageError("OP_MSG has more than one kind-0 section", request_id)
                size = bson.document_length(data, position, end)
                body = bson.decode(data[position:position + size])
                position += size
            elif kind == 1:
                if end - position < 4:
                    raise MessageError("truncated document sequence", request_id)
                size = struct.unpack_from("<i", data, position)[0]
                stop = position + size
                if size < 5 or stop > end:
                    raise MessageError("bad document sequence length", request_id)
                nul = data.find(b"\x00", position + 4, stop)
                if nul < 0:
                    raise MessageError("unterminated sequence identifier", request_id)
                name = data[position + 4:nul].decode("utf-8")
                if name in sequences:
                    raise MessageError(f"duplicate document sequence {name!r}", request_id)
                documents, raws, cursor = [], [], nul + 1
                while cursor < stop:
                    one = bson.document_length(data, cursor, stop)
                    raw = data[cursor:cursor + one]
                    documents.append(bson.decode(raw))
                    raws.append(raw)
                    cursor += one
                sequences[name] = documents
                raw_sequences[name] = raws
                position = stop
            else:
                raise MessageError(f"unknown OP_MSG section kind {kind}", request_id)
    except (bson.BSONError, UnicodeDecodeError) as error:
        raise MessageError(f"invalid BSON in OP_MSG: {error}", request_id,
                           code=INVALID_BSON) from None
    if body is None:
        raise MessageError("OP_MSG has no kind-0 section", request_id)
    return Msg(request_id, flags, body, sequences, compressor, raw_sequences)


def _parse_query(data: bytes, request_id: int, compressor: int | None) -> Query:
    try:
        flags = struct.unpack_from("<i", data, 16)[0]
        nul = data.find(b"\x00", 20)
        if nul < 0:
            raise MessageError("unterminated collection name", request_id, OP_QUERY)
        collection = data[20:nul].decode("utf-8")
        position = nul + 1
        if len(data) - position < 8:
            raise MessageError("truncated OP_QUERY", request_id, OP_QUERY)
        skip, limit = struct.unpack_from("<ii", data, position)
        position += 8
        size = bson.document_length(data, position, len(data))
        query = bson.decode(data[position:position + size])
        position += size
        fields = None
        if position < len(data):
            size = bson.document_length(data, position, len(data))
            fields = bson.decode(data[position:position + size])
            position += size
        if position != len(data):
            raise MessageError("bytes after the end of OP_QUERY", request_id, OP_QUERY)
    except (bson.BSONError, UnicodeDecodeError, struct.error) as error:
        raise MessageError(f"invalid OP_QUERY: {error}", request_id, OP_QUERY,
                           code=INVALID_BSON) from None
    return Query(request_id, flags, collection, skip, limit, query, fields, compressor)


def _parse_compressed(data: bytes, request_id: int):
    if len(data) < 25:
        raise MessageError("OP_COMPRESSED too short", request_id)
    original_opcode, size, compressor = struct.unpack_from("<iiB", data, 16)
    if size < 0 or size + HEADER.size > MAX_MESSAGE_SIZE:
        raise MessageError(f"bad uncompressed size {size}", request_id)
    payload = data[25:]
    if compressor == ZLIB:
        try:
            inflater = zlib.decompressobj()
            # max_length bounds the output: a "zip bomb" cannot make us allocate more
            # than the size the header announced.
            body = inflater.decompress(payload, size + 1)
        except zlib.error as error:
            raise MessageError(f"cannot decompress: {error}", request_id) from None
    elif compressor == NOOP:
        body = payload
    else:
        raise MessageError(f"unsupported compressor id {compressor}", request_id)
    if len(body) != size:
        raise MessageError("decompressed size differs from the announced size", request_id)
    header = HEADER.pack(HEADER.size + size, request_id, 0, original_opcode)
    return parse_message(header + body, compressor, depth=1)


# -- building replies --------------------------------------------------------------------


def encode_msg(request_id: int, response_to: int, body: dict, flags: int = 0) -> bytes:
    """An OP_MSG with one kind-0 section: every reply the server sends."""
    payload = struct.pack("<I", flags) + b"\x00" + bson.encode(body)
    return HEADER.pack(HEADER.size + len(payload), request_id, response_to, OP_MSG) + payload


def encode_msg_request(request_id: int, body: dict, sequences: dict | None = None,
                       flags: int = 0) -> bytes:
    """An OP_MSG as a client sends it (used by tests and tools)."""
    payload = bytearray(struct.pack("<I", flags) + b"\x00" + bson.encode(body))
    for name, documents in (sequences or {}).items():
        section = name.encode() + b"\x00" + b"".join(bson.encode(d) for d in documents)
        payload += b"\x01" + struct.pack("<i", len(section) + 4) + section
    return HEADER.pack(HEADER.size + len(payload), request_id, 0, OP_MSG) + bytes(payload)


def encode_reply(request_id: int, response_to: int, documents: list[dict],
                 cursor_id: int = 0, flags: int = 0) -> bytes:
    """An OP_REPLY: flags, cursorID, startingFrom, numberReturned, documents."""
    payload = struct.pack("<iqii", flags, cursor_id, 0, len(documents)) + \
        b"".join(bson.encode(d) for d in documents)
    return HEADER.pack(HEADER.size + len(payload), request_id, response_to, OP_REPLY) + payload


def encode_query(request_id: int, collection: str, query: dict, skip: int = 0,
                 limit: int = -1, flags: int = 0) -> bytes:
    """An OP_QUERY as a legacy client sends it (used by tests and tools)."""
    payload = struct.pack("<i", flags) + collection.encode() + b"\x00" + \
        struct.pack("<ii", skip, limit) + bson.encode(query)
    return HEADER.pack(HEADER.size + len(payload), request_id, 0, OP_QUERY) + payload


def compress(message: bytes, compressor: int) -> bytes:
    """Wrap a whole message (header included) in an OP_COMPRESSED."""
    length, request_id, response_to, opcode = HEADER.unpack_from(message, 0)
    body = message[HEADER.size:]
    packed = zlib.compress(body) if compressor == ZLIB else body
    payload = struct.pack("<iiB", opcode, len(body), compressor) + packed
    return HEADER.pack(HEADER.size + len(payload), request_id, response_to, OP_COMPRESSED) + payload


def parse_reply(data: bytes) -> tuple[int, list[dict]]:
    """(responseTo, documents) of an OP_MSG or OP_REPLY reply (for tests and tools)."""
    length, _request_id, response_to, opcode = HEADER.unpack_from(data, 0)
    if opcode == OP_COMPRESSED:
        message = parse_message(data)
        return response_to, [message.body]
    if opcode == OP_MSG:
        return response_to, [_parse_msg(data, 0, None).body]
    if opcode == OP_REPLY:
        return response_to, bson.decode_all(data[36:length])
    raise FramingError(f"not a reply: opcode {opcode}")
