"""The reldb server: the asyncio connection skeleton (net/) wired to the protocol state
machine and the engine.

The skeleton accepts connections, enforces the connection limit, keeps the registry
and shuts everything down on SIGINT/SIGTERM. Each admitted connection then gets a worker
thread that owns its protocol state and session and does the connection's I/O itself,
with blocking calls on its own handle of the socket:

* a long query runs in its thread while the event loop and the other sessions carry on;
* a CancelRequest (which arrives on a new connection, so in another thread) sets the
  running session's cancel flag, which the executor checks as it goes;
* a round trip costs no hand-off between the loop and the worker (measured: handing
  each request and reply through the loop halved the rate of short queries).
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading

from ...net import Connection, TcpServer
from ..engine import Engine
from .protocol import Backend

log = logging.getLogger("fromscratch.reldb")

READ_SIZE = 256 * 1024


class PgConnection(Connection):
    def on_connect(self) -> None:
        reldb = self.server.reldb
        self.backend = Backend(reldb.engine, reldb.auth_method)
        # The loop stops reading this socket: the worker reads and writes it.
        self.transport.pause_reading()
        sock = self.transport.get_extra_info("socket")
        self.sock = socket.socket(fileno=os.dup(sock.fileno()))
        self.sock.setblocking(True)
        # Held by the worker while it handles a request; a notification for an idle
        # session is written by the notifying session's thread under it.
        self.io_lock = threading.Lock()
        self.worker = threading.Thread(target=self._work, name=f"reldb-conn-{self.id}",
                                       daemon=True)
        self.worker.start()

    def idle_exempt(self) -> bool:
        return True

    def refuse(self) -> None:
        from .messages import error_response
        self.transport.write(error_response("FATAL", "53300", "sorry, too many clients already"))

    def close(self) -> None:
        # Wake the worker blocked in recv(): shutting the socket down ends its read.
        sock = getattr(self, "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        super().close()

    # -- the worker thread ---------------------------------------------------------------

    def _work(self) -> None:
        backend = self.backend
        loop = self.server.loop
        stats = self.server.stats
        try:
            while not backend.closed:
                try:
                    data = self.sock.recv(READ_SIZE)
                except OSError:
                    break
                if not data:
                    break
                stats.bytes_received += len(data)
                with self.io_lock:
                    backend.feed(data)
                    while backend.step():
                        if backend.should_flush():
                            self._write(backend.take_output())
                    self._write(backend.take_output())
                session = backend.session
                if session is not None and session.wake is None:
                    session.wake = self._wake
                self._wake()          # anything that arrived while we were busy
        except Exception:
            log.exception("reldb connection worker failed")
        finally:
            backend.close()
            self.sock.close()
            loop.call_soon_threadsafe(self._finish)

    def _wake(self) -> None:
        """Send pending notifications now, unless the worker is busy (it sends them
        before its next ReadyForQuery)."""
        if not self.io_lock.acquire(blocking=False):
            return
        try:
            if not self.backend.closed:
                self._write(self.backend.take_notifications())
        finally:
            self.io_lock.release()

    def _finish(self) -> None:
        if not self.closed:
            Connection.close(self)

    def _write(self, data: bytes) -> None:
        if not data:
            return
        try:
            self.sock.sendall(data)
        except OSError:
            self.backend.closed = True
            return
        self.server.stats.bytes_sent += len(data)


# Deeply nested SQL recurses in the parser and planner: give connection threads room
# (the parser refuses nesting past its own limit well before this runs out).
WORKER_STACK_SIZE = 16 * 1024 * 1024
RECURSION_LIMIT = 20000


class ReldbServer:
    """Holds the engine and the TCP server; `tcp` goes to net.run_servers()."""

    def __init__(self, host: str = "127.0.0.1", port: int = 5433, password: str | None = None,
                 auth_method: str | None = None, max_connections: int = 1000,
                 users: dict[str, str] | None = None, data_dir: str = "./data/reldb",
                 **storage_options):
        threading.stack_size(WORKER_STACK_SIZE)
        if sys.getrecursionlimit() < RECURSION_LIMIT:
            sys.setrecursionlimit(RECURSION_LIMIT)
        self.engine = Engine(data_dir, password=password, **storage_options)
        for name, secret in (users or {}).items():
            self.engine.add_user(name, secret)
        secured = password is not None or bool(users)
        self.auth_method = auth_method or ("scram-sha-256" if secured else "trust")
        self.tcp = TcpServer("reldb", host, port, PgConnection, max_connections=max_connections)
        self.tcp.reldb = self
