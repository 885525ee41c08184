"""The reldb server: the asyncio connection skeleton (net/) wired to the protocol state
machine and the engine.

The skeleton accepts connections, enforces the connection limit, keeps the registry
and shuts everything down on SIGINT/SIGTERM. Each admitted connection's socket is then
served by a pool of threads in the leader/followers pattern (Dispatcher):

* one thread, the leader, waits on an epoll of every connection; when a socket is
  readable, it reads, runs what arrived through the protocol state machine and the
  engine, and writes the reply, all itself, then waits again. While sessions keep
  sending, the same thread serves one after another: no hand-off between threads, so
  the GIL does not change hands for each statement (measured: thread-per-connection
  spent more time handing the GIL over than running statements; pgbench's TPC-B went
  from about 790 to about 970 transactions per second);
* a thread about to wait (a row lock, the commit's fsync, pg_sleep) or running a long
  statement first hands the leadership to another thread (blocking.py), starting one
  if none is free, so every other session carries on, the one that ends the wait too;
* each socket is armed once (EPOLLONESHOT): one thread at a time serves a connection;
* a CancelRequest (which arrives on a new connection) sets the running session's
  cancel flag, which the executor checks as it goes.
"""

from __future__ import annotations

import logging
import os
import select
import socket
import sys
import threading

from ...net import Connection, TcpServer
from ..blocking import before_blocking, set_hook
from ..engine import Engine
from .protocol import Backend

log = logging.getLogger("fromscratch.reldb")

READ_SIZE = 256 * 1024
ARMED = select.EPOLLIN | select.EPOLLONESHOT
SPARE_THREADS = 64          # followers kept waiting; more than this end


class PgConnection(Connection):
    def on_connect(self) -> None:
        reldb = self.server.reldb
        self.backend = Backend(reldb.engine, reldb.auth_method)
        # The loop stops reading this socket: the dispatcher's threads read and write it.
        self.transport.pause_reading()
        sock = self.transport.get_extra_info("socket")
        self.sock = socket.socket(fileno=os.dup(sock.fileno()))
        self.sock.setblocking(True)
        # Held while a thread serves this connection; a notification for an idle
        # session is written by the notifying session's thread under it.
        self.io_lock = threading.Lock()
        self.ended = False
        reldb.dispatcher.add(self)

    def idle_exempt(self) -> bool:
        return True

    def refuse(self) -> None:
        from .messages import error_response
        self.transport.write(error_response("FATAL", "53300", "sorry, too many clients already"))

    def close(self) -> None:
        # Shutting the socket down makes it readable: a thread then ends the session.
        sock = getattr(self, "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        super().close()

    # -- served by a dispatcher thread ---------------------------------------------------

    def serve(self) -> bool:
        """Read what arrived and answer it. False when the session has ended."""
        backend = self.backend
        stats = self.server.stats
        with self.io_lock:
            try:
                data = self.sock.recv(READ_SIZE, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return True
            except OSError:
                data = b""
            if data:
                stats.bytes_received += len(data)
                backend.feed(data)
                while backend.step():
                    if backend.should_flush():
                        self._write(backend.take_output())
                self._write(backend.take_output())
        if not data or backend.closed:
            return False
        session = backend.session
        if session is not None and session.wake is None:
            session.wake = self._wake
        self._wake()          # anything that arrived while we were busy
        return True

    def end(self) -> None:
        """The session is over: release it, and let the skeleton forget the connection."""
        if self.ended:
            return
        self.ended = True
        self.backend.close()
        self.sock.close()
        self.server.loop.call_soon_threadsafe(self._finish)

    def _wake(self) -> None:
        """Send pending notifications now, unless a thread is serving this connection
        (it sends them before its next ReadyForQuery)."""
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
            try:
                sent = self.sock.send(data, socket.MSG_DONTWAIT)
            except BlockingIOError:
                sent = 0
            if sent < len(data):
                before_blocking()           # a slow reader: wait for it on our own
                self.sock.sendall(data[sent:])
        except OSError:
            self.backend.closed = True
            return
        self.server.stats.bytes_sent += len(data)


class Dispatcher:
    """Leader/followers (see the module doc): `leader` is held by the thread watching the
    sockets; the others wait for it, or run statements that had to wait."""

    def __init__(self):
        self.epoll = select.epoll()
        self.connections: dict[int, PgConnection] = {}
        self.leader = threading.Lock()
        self.counts = threading.Lock()       # guards `waiting`
        self.waiting = 0                     # threads waiting to lead
        self.local = threading.local()

    def add(self, connection: PgConnection) -> None:
        fd = connection.sock.fileno()
        self.connections[fd] = connection
        self.epoll.register(fd, ARMED)
        self._ensure_follower()

    def _ensure_follower(self) -> None:
        """Someone must be (or become) the leader: start a thread if none is waiting."""
        with self.counts:
            if self.waiting:
                return
            self.waiting += 1
        threading.Thread(target=self._run, name="reldb-worker", daemon=True,
                         args=(True,)).start()

    def hand_on(self) -> None:
        """This thread is about to wait or run long: another one leads meanwhile."""
        local = self.local
        if getattr(local, "leading", False):
            local.leading = False
            self._ensure_follower()
            self.leader.release()

    def _run(self, counted: bool) -> None:
        set_hook(self.hand_on)
        local = self.local
        while True:
            if not counted:
                with self.counts:
                    if self.waiting >= SPARE_THREADS:
                        return
                    self.waiting += 1
            counted = False
            self.leader.acquire()
            with self.counts:
                self.waiting -= 1
            local.leading = True
            try:
                for fd, _ in self.epoll.poll(-1, 1):
                    self._serve(fd)
            except Exception:       # a bug must not leave the sockets without a leader
                log.exception("reldb dispatcher")
            finally:
                if local.leading:
                    local.leading = False
                    self.leader.release()

    def _serve(self, fd: int) -> None:
        connection = self.connections.get(fd)
        if connection is None:
            return
        try:
            alive = connection.serve()
        except Exception:
            log.exception("reldb connection failed")
            alive = False
        if alive:
            try:
                self.epoll.modify(fd, ARMED)
            except OSError:
                pass
            return
        self.connections.pop(fd, None)
        try:
            self.epoll.unregister(fd)
        except OSError:
            pass
        connection.end()


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
        self.dispatcher = Dispatcher()
        self.tcp = TcpServer("reldb", host, port, PgConnection, max_connections=max_connections)
        self.tcp.reldb = self
