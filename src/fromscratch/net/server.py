"""The TCP server every fromscratch server shares.

A server is a `TcpServer` plus a `Connection` subclass that speaks its protocol. The
skeleton does what all of them need and nothing protocol-specific:

* listen and accept, giving each connection a protocol object (asyncio's Protocol
  interface) over our lean transport (transport.py): protocols cost much less CPU per
  request than streams, and the request loop is the hot path of every server;
* a connection limit: a connection over it is handed to `Connection.refuse()`, which a
  protocol overrides to say why in its own language, then closed;
* an idle timeout, enforced by one sweep a second rather than a timer per connection;
* periodic jobs (`every(seconds, callback)`), the place for a server's cron;
* counters that INFO-like commands report;
* graceful shutdown: stop accepting, run the server's shutdown hooks (flush what must
  persist), close every connection after its pending output, then stop.

`run_servers()` runs one or more servers on one event loop until SIGINT or SIGTERM.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import resource
import signal
import socket
import time
from typing import Callable

from .transport import Multiplexer, new_event_loop, open_listeners, open_unix_listener

log = logging.getLogger("fromscratch")


class ServerStats:
    """Counters about connections, kept by the skeleton for every server."""

    __slots__ = ("started_at", "connections_received", "connections_rejected",
                 "connections_timed_out", "bytes_received", "bytes_sent", "reads", "writes")

    def __init__(self):
        self.started_at = time.time()
        self.connections_received = 0
        self.connections_rejected = 0
        self.connections_timed_out = 0
        self.bytes_received = 0
        self.bytes_sent = 0
        self.reads = 0                  # reads from client sockets (data_received calls)
        self.writes = 0                 # writes to them


class Connection(asyncio.Protocol):
    """One client connection. Subclasses implement `data_received` for their protocol.

    Subclasses should call `self.mark_active()` whenever the client does something, so
    the idle sweep leaves it alone, and use `self.send()` to write.
    """

    _ids = itertools.count(1)

    def __init__(self, server: "TcpServer"):
        self.server = server
        self.id = next(self._ids)
        self.transport: asyncio.Transport | None = None
        self.peer = ("?", 0)
        self.local = ("?", 0)
        self.unix_socket = False
        self.connected_at = time.time()
        self.last_active = server.clock
        self.closed = False

    # -- asyncio callbacks -------------------------------------------------------------

    def connection_made(self, transport):
        self.transport = transport
        self.peer = _address(transport.get_extra_info("peername"))
        self.local = _address(transport.get_extra_info("sockname"))
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family == socket.AF_UNIX:
            # Its peer has no name: both ends go by the socket's path, as in Redis.
            self.unix_socket = True
            self.peer = self.local
        if not self.server._admit(self):
            self.refuse()
            self.close()
            return
        self.on_connect()

    def connection_lost(self, exc):
        self.closed = True
        self.server._forget(self)
        self.on_disconnect()

    # -- for subclasses ----------------------------------------------------------------

    def on_connect(self) -> None:
        """Called once the connection is admitted."""

    def on_disconnect(self) -> None:
        """Called once the connection is gone, whoever closed it."""

    def refuse(self) -> None:
        """Tell the client that the server is full (the connection is closed after)."""

    def idle_exempt(self) -> bool:
        """True while the connection may stay silent past the idle timeout."""
        return False

    def mark_active(self) -> None:
        self.last_active = self.server.clock

    def send(self, data: bytes) -> None:
        if not self.closed:
            self.server.stats.bytes_sent += len(data)
            self.transport.write(data)

    def close(self) -> None:
        """Close after the output already written has been sent."""
        if not self.closed:
            self.closed = True
            self.transport.close()

    def abort(self) -> None:
        """Close at once, dropping pending output (for clients that do not read)."""
        self.closed = True
        self.transport.abort()

    @property
    def output_buffer_size(self) -> int:
        return self.transport.get_write_buffer_size() if self.transport else 0


def _raise_descriptor_limit(wanted: int) -> None:
    """Let the process hold `wanted` sockets, as far as the hard limit allows (the soft
    limit is often 1024, below a server's connection limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open file limit to %d: %s", target, exc)


def _address(info) -> tuple[str, int]:
    if isinstance(info, tuple) and len(info) >= 2:
        return info[0], info[1]
    return (str(info), 0)


class TcpServer:
    """Listens on host:port and serves each connection with `connection_class(self)`."""

    def __init__(self, name: str, host: str, port: int,
                 connection_class: Callable[["TcpServer"], Connection],
                 max_connections: int = 10000, idle_timeout: float = 0):
        self.name = name
        self.host = host
        self.port = port
        self.connection_class = connection_class
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self.connections: dict[int, Connection] = {}
        self.stats = ServerStats()
        self.clock = time.monotonic()         # refreshed by the sweep; coarse on purpose
        self.loop: asyncio.AbstractEventLoop | None = None
        self._mux: Multiplexer | None = None     # the loop's, once asked for
        self._listeners: list = []           # TCP
        self._tls_listeners: list = []       # TLS (listen_tls)
        self.tls_port = 0
        self._unix_listener = None
        self.unix_path = ""                  # the Unix domain socket we listen on, if any
        self._periodic: dict[int, asyncio.TimerHandle] = {}
        self._shutdown_hooks: list[Callable[[], object]] = []
        self.stop_requested = asyncio.Event()   # set to ask run_servers() to stop us
        self.stopped = asyncio.Event()

    # -- life cycle --------------------------------------------------------------------

    async def start(self, tcp: bool = True) -> None:
        """Start serving: listen on host and port, unless not `tcp` (a server that
        listens only on a Unix domain socket: see listen_unix)."""
        self.loop = asyncio.get_running_loop()
        self._mux = None
        _raise_descriptor_limit(self.max_connections + 64)
        if tcp:
            self.listen(self.host, self.port)
            hosts = self.host if isinstance(self.host, str) else ", ".join(self.host)
            log.info("%s ready to accept connections on %s port %d", self.name, hosts,
                     self.port)
        self.every(0.1, self._tick)
        self.every(1.0, self._sweep_idle)

    def listen(self, host, port: int | None) -> None:
        """Listen on `host` (one address or a list) and `port` (0 picks one, None: no
        TCP at all) instead of where we listen now (CONFIG SET port or bind too),
        keeping the connections. If that fails (OSError), we listen where we did
        before."""
        previous = (self.host, self.port) if self._listeners else None
        self._listen_instead("_listeners", previous, host, port, None)
        self.host = host
        self.port = self._listeners[0].sock.getsockname()[1] if self._listeners else 0

    def listen_tls(self, host, port: int, tls) -> None:
        """Listen for TLS connections on `host` and `port` (0: not at all) instead of
        where we do now, as listen(); `tls()` gives the SSLContext for each new one."""
        previous = (self.host, self.tls_port) if self._tls_listeners else None
        self._listen_instead("_tls_listeners", previous, host, port or None, tls)
        self.tls_port = self._tls_listeners[0].sock.getsockname()[1] if port else 0

    def _listen_instead(self, attribute: str, previous, host, port: int | None, tls) -> None:
        for listener in getattr(self, attribute):
            listener.close()            # first: the new address may be the same one
        setattr(self, attribute, [])
        if port is None:
            return
        try:
            setattr(self, attribute, open_listeners(
                self.loop, host, port, lambda: self.connection_class(self), tls=tls))
        except OSError:
            if previous is not None:
                setattr(self, attribute, open_listeners(
                    self.loop, *previous, lambda: self.connection_class(self), tls=tls))
            raise

    def listen_unix(self, path: str, permissions: int = 0) -> None:
        """Also listen on a Unix domain socket at `path` (OSError if we can't)."""
        self._unix_listener = open_unix_listener(self.loop, path, permissions,
                                                 lambda: self.connection_class(self))
        self.unix_path = path

    def stop_listening(self) -> None:
        """Accept no more connections (and remove our Unix socket's file)."""
        for listener in self._all_listeners():
            listener.close()
        self._listeners, self._tls_listeners, self._unix_listener = [], [], None
        if self.unix_path:
            log.info("Removing the unix socket file.")
            try:
                os.unlink(self.unix_path)
            except OSError as exc:
                log.warning("Error removing the unix socket file: %s", exc.strerror)
            self.unix_path = ""

    def _all_listeners(self) -> list:
        unix = [] if self._unix_listener is None else [self._unix_listener]
        return self._listeners + self._tls_listeners + unix

    def multiplexer(self) -> Multiplexer:
        """The loop's Multiplexer (looked up once: this is on every request's path)."""
        mux = self._mux
        if mux is None:
            mux = self._mux = Multiplexer.of(self.loop)
        return mux

    def call_after_io(self, callback) -> None:
        """Call `callback` once the sockets being served now are served (replies are
        then written in one burst), or soon if this is not socket work."""
        (self._mux or self.multiplexer()).call_after_dispatch(callback)

    def serve_ready_sockets(self) -> None:
        """Accept waiting connections and read what clients sent, now, without the
        event loop: for a command that holds the loop up for long (a busy script), as
        Redis's processEventsWhileBlocked. Timers and callbacks wait for the loop."""
        for listener in self._all_listeners():
            listener.accept()
        mux = Multiplexer.of(self.loop)
        if mux.epoll is not None:
            mux.dispatch()

    def on_shutdown(self, hook: Callable[[], object]) -> None:
        """Run `hook` (a function or a coroutine function) when the server stops."""
        self._shutdown_hooks.append(hook)

    async def shutdown(self, signum: int | None = None) -> None:
        """Stop listening and close every connection (`signum`: the signal that
        stopped us, if one did)."""
        if self.stopped.is_set():
            return
        self.stopped.set()
        log.info("%s shutting down", self.name)
        self.stop_listening()
        for handle in self._periodic.values():
            handle.cancel()
        for hook in self._shutdown_hooks:
            try:
                result = hook()
                if asyncio.iscoroutine(result):
                    await result
            except Exception:
                log.exception("%s: shutdown hook failed", self.name)
        for conn in list(self.connections.values()):
            conn.close()
        # Give closing transports a moment to flush what was already written.
        for _ in range(50):
            if not self.connections:
                break
            await asyncio.sleep(0.01)

    def every(self, seconds: float, callback: Callable[[], object]) -> None:
        """Call `callback()` every `seconds` while the server runs."""
        def fire():
            if self.stopped.is_set():
                return
            try:
                callback()
            except Exception:
                log.exception("%s: periodic job %s failed", self.name, callback)
            self._periodic[job] = self.loop.call_later(seconds, fire)
        job = len(self._periodic)
        self._periodic[job] = self.loop.call_later(seconds, fire)

    # -- connection bookkeeping ----------------------------------------------------------

    def _admit(self, conn: Connection) -> bool:
        self.stats.connections_received += 1
        if len(self.connections) >= self.max_connections or self.stopped.is_set():
            self.stats.connections_rejected += 1
            return False
        self.connections[conn.id] = conn
        return True

    def _forget(self, conn: Connection) -> None:
        self.connections.pop(conn.id, None)

    def _tick(self) -> None:
        self.clock = time.monotonic()

    def _sweep_idle(self) -> None:
        if not self.idle_timeout:
            return
        deadline = self.clock - self.idle_timeout
        for conn in list(self.connections.values()):
            if conn.last_active < deadline and not conn.idle_exempt():
                self.stats.connections_timed_out += 1
                conn.close()


def run_servers(servers: list, setup: Callable[[], object] | None = None) -> None:
    """Start `servers` on one event loop and serve until SIGINT or SIGTERM (or until one
    of them asks to stop). A server is a TcpServer or anything with the same `start()`,
    `shutdown(signum)` and `stop_requested`; `signum` is the signal that stops it, or
    None when it asked. A server's shutdown() may return False to refuse (the
    key-value server does when it cannot save): then everything keeps running."""

    async def main():
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        received: list[int] = []

        def on_signal(signum: int) -> None:
            received.append(signum)
            stop.set()

        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, on_signal, signum)
        if setup is not None:
            setup()
        for server in servers:
            await server.start()
        while True:
            waiters = [asyncio.create_task(stop.wait())]
            waiters += [asyncio.create_task(s.stop_requested.wait()) for s in servers]
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            for task in waiters:
                task.cancel()
            signum = received[-1] if stop.is_set() else None
            results = [await server.shutdown(signum) for server in servers]
            if all(result is not False for result in results):
                return
            log.error("shutdown refused; still serving")
            stop.clear()
            received.clear()
            for server in servers:
                server.stop_requested.clear()

    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        runner.run(main())
