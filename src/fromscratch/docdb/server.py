"""The MongoDB wire server: wires the message codec (wire.py) to the command table
(commands/) and the engine (storage.py), over the shared TCP skeleton (fromscratch.net).

    server = MongoServer(Engine("./data/docdb"), host="127.0.0.1", port=27018)
    run_servers([server])

Per connection: bytes go into a `MessageReader`; each whole message is run at once, in
order, and answered in kind: an OP_MSG with an OP_MSG (none when the client set
`moreToCome`), a legacy OP_QUERY with an OP_REPLY, and a compressed request with a reply
compressed the same way. A message whose header cannot be right closes the connection
(as mongod does); a well-framed message with bad content gets an error reply.

The server also runs the periodic jobs: expiring idle cursors, the TTL monitor, flushing
the journal (for writes that did not fsync) and starting background compaction.
"""

from __future__ import annotations

import itertools
import logging

from ..net import Connection, TcpServer
from . import wire
from .commands import Context, dispatch
from .commands.sessions import SessionCache
from .commands.testing import FailCommand
from .cursors import CursorManager
from .errors import MongoError
from .storage import Engine

log = logging.getLogger("fromscratch.docdb")

# Replies to these are never compressed (the handshake and authentication, per the
# compression specification), even when the request was.
UNCOMPRESSED = {"hello", "isMaster", "ismaster", "saslStart", "saslContinue", "getnonce",
                "authenticate", "createUser", "updateUser", "copydbSaslStart", "copydbgetnonce",
                "copydb"}

OPCOUNTERS = {"insert": "insert", "find": "query", "update": "update", "delete": "delete",
              "getMore": "getmore"}


class ClientState:
    """What the server remembers about one client between its commands."""

    def __init__(self, connection_id: int, peer):
        self.connection_id = connection_id
        self.peer = peer if isinstance(peer, tuple) and len(peer) >= 2 else ("?", 0)
        self.user: str | None = None             # "<db>.<name>" once authenticated
        self.conversations: dict[int, object] = {}
        self.conversation_ids = 0
        self.compressors: list[str] | None = None
        self.app_name: str | None = None         # from the handshake's client metadata


class MongoConnection(Connection):
    server: "MongoServer"

    def __init__(self, server: "MongoServer"):
        super().__init__(server)
        self.reader = wire.MessageReader()
        self.client: ClientState | None = None

    def on_connect(self) -> None:
        self.client = ClientState(self.id, self.peer)

    # A client that sends requests without reading the replies stops being read once
    # its unsent replies pass the transport's high-water mark, so they cannot pile up.
    def pause_writing(self) -> None:
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        self.server.stats.bytes_received += len(data)
        self.mark_active()
        self.reader.feed(data)
        while not self.closed:
            try:
                message = self.reader.next_message()
            except wire.FramingError as error:
                log.info("docdb: closing connection %d: %s", self.id, error)
                self.close()
                return
            except wire.MessageError as error:
                self._reply_error(error)
                continue
            if message is None:
                return
            self._handle(message)

    def _handle(self, message) -> None:
        server = self.server
        server.requests += 1
        if isinstance(message, wire.Query):
            self._handle_query(message)
            return
        ctx = Context(server, self.client, acknowledged=not message.more_to_come,
                      raw_sequences=message.raw_sequences)
        command = message.command()
        name = next(iter(command), "")
        failure = server.fail_command.trigger(name, self.client.app_name)
        if failure is not None and failure.get("closeConnection"):
            self.abort()
            return
        reply = server.fail_command.error_reply(failure) if failure is not None else \
            dispatch(ctx, command)
        server.opcounters[OPCOUNTERS.get(name, "command")] += 1
        if message.more_to_come:
            return
        data = wire.encode_msg(next(server.request_ids), message.request_id, reply)
        if message.compressor is not None and name not in UNCOMPRESSED:
            data = wire.compress(data, message.compressor)
        self.send(data)

    def _handle_query(self, query: wire.Query) -> None:
        """A legacy OP_QUERY: only commands (`<db>.$cmd`), answered with OP_REPLY."""
        if not query.collection.endswith(".$cmd"):
            reply = {"$err": "OP_QUERY is only supported for commands", "code": 5739101,
                     "ok": 0.0}
            self.send(wire.encode_reply(next(self.server.request_ids), query.request_id,
                                        [reply], flags=2))
            return
        command = query.query
        if "$query" in command:                # the wrapped form, with read preference
            command = command["$query"]
        command = {**command, "$db": query.database}
        reply = dispatch(Context(self.server, self.client), command)
        self.server.opcounters["command"] += 1
        data = wire.encode_reply(next(self.server.request_ids), query.request_id, [reply])
        if query.compressor is not None and next(iter(command), "") not in UNCOMPRESSED:
            data = wire.compress(data, query.compressor)
        self.send(data)

    def _reply_error(self, error: wire.MessageError) -> None:
        reply = MongoError(error.code, str(error)).to_reply()
        request_id = next(self.server.request_ids)
        if error.opcode == wire.OP_QUERY:
            self.send(wire.encode_reply(request_id, error.request_id, [reply], flags=2))
        else:
            self.send(wire.encode_msg(request_id, error.request_id, reply))


class MongoServer(TcpServer):
    def __init__(self, engine: Engine, host: str = "127.0.0.1", port: int = 27018, *,
                 auth: bool = False, cursor_timeout: float = 600.0, ttl_interval: float = 1.0,
                 max_connections: int = 10000, test_commands: bool = False,
                 options: dict | None = None):
        super().__init__("docdb", host, port, MongoConnection,
                         max_connections=max_connections)
        self.engine = engine
        self.auth_required = auth
        self.cursors = CursorManager(cursor_timeout)
        self.ttl_interval = ttl_interval
        self.ttl_deleted = 0
        self.requests = 0
        self.request_ids = itertools.count(1)
        self.opcounters = {name: 0 for name in ("insert", "query", "update", "delete",
                                                "getmore", "command")}
        self.options = options or {}
        self.test_commands = test_commands
        self.fail_command = FailCommand()
        self.sessions = SessionCache()
        self.on_shutdown(self.engine.close)

    async def start(self) -> None:
        await super().start()
        self.every(1.0, self._housekeeping)
        self.every(self.ttl_interval, self._expire_ttl)

    def _housekeeping(self) -> None:
        with self.engine.lock:
            self.cursors.expire()
            self.sessions.expire()
            self.engine.journal.flush()
        self.engine.maybe_compact()

    def _expire_ttl(self) -> None:
        self.ttl_deleted += self.engine.expire_ttl()
