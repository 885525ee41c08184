"""The reldb server: the asyncio connection skeleton (net/) wired to the protocol state
machine and the engine.

Each connection gets a worker thread that owns its protocol state and session: the
event loop only moves bytes. So a long query runs in its thread while the loop keeps
serving other clients, and a CancelRequest (which arrives on a new connection) can set
the running session's cancel flag, which the executor checks as it goes.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading

from ...net import Connection, TcpServer
from ..engine import Engine
from .protocol import Backend

log = logging.getLogger("fromscratch.reldb")

_CLOSED = object()


class PgConnection(Connection):
    def __init__(self, server: "TcpServer"):
        super().__init__(server)
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()
        self.worker: threading.Thread | None = None

    def on_connect(self) -> None:
        reldb = self.server.reldb
        self.backend = Backend(reldb.engine, reldb.auth_method)
        self.worker = threading.Thread(target=self._work, name=f"reldb-conn-{self.id}",
                                       daemon=True)
        self.worker.start()

    def data_received(self, data: bytes) -> None:
        self.server.stats.bytes_received += len(data)
        self.mark_active()
        self.inbox.put(data)

    def on_disconnect(self) -> None:
        self.inbox.put(_CLOSED)

    def idle_exempt(self) -> bool:
        return True

    def refuse(self) -> None:
        from .messages import error_response
        self.transport.write(error_response("FATAL", "53300", "sorry, too many clients already"))

    # -- the worker thread ---------------------------------------------------------------

    def _work(self) -> None:
        backend = self.backend
        loop = self.server.loop
        try:
            while True:
                data = self.inbox.get()
                if data is _CLOSED:
                    break
                backend.feed(data)
                while backend.step():
                    if backend.should_flush():
                        self._write(loop, backend.take_output())
                out = backend.take_output()
                if out:
                    self._write(loop, out)
                if backend.closed:
                    loop.call_soon_threadsafe(self.close)
                    break
        except Exception:
            log.exception("reldb connection worker failed")
            loop.call_soon_threadsafe(self.close)
        finally:
            backend.close()

    def _write(self, loop, data: bytes) -> None:
        if data:
            loop.call_soon_threadsafe(self.send, data)


# Deeply nested SQL recurses in the parser and planner: give connection threads room
# (the parser refuses nesting past its own limit well before this runs out).
WORKER_STACK_SIZE = 64 * 1024 * 1024
RECURSION_LIMIT = 20000


class ReldbServer:
    """Holds the engine and the TCP server; `tcp` goes to net.run_servers()."""

    def __init__(self, host: str = "127.0.0.1", port: int = 5433, password: str | None = None,
                 auth_method: str | None = None, max_connections: int = 1000):
        threading.stack_size(WORKER_STACK_SIZE)
        if sys.getrecursionlimit() < RECURSION_LIMIT:
            sys.setrecursionlimit(RECURSION_LIMIT)
        self.engine = Engine(password=password)
        self.auth_method = auth_method or ("scram-sha-256" if password else "trust")
        self.tcp = TcpServer("reldb", host, port, PgConnection, max_connections=max_connections)
        self.tcp.reldb = self
