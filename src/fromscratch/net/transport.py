"""A lean socket transport and listener for asyncio's event loop.

asyncio's own selector transport is general (SSL hooks, buffered protocols, many
checks per call). For small request/reply servers that generality costs about a
microsecond of CPU per request, a noticeable share of the whole. This transport does
only what our servers use, with the same interface towards a protocol:

* reading: the loop calls `_read_ready` when the socket is readable; it receives up to
  64 KB and hands the bytes to `protocol.data_received`; an empty read (the peer closed)
  closes the transport.
* writing: `write()` sends at once when nothing is queued; what the kernel does not take
  is queued and sent when the socket is writable again. Past the high-water mark the
  protocol's `pause_writing()` is called, and `resume_writing()` below the low mark: the
  protocol's chance to stop reading from a client that does not read its replies.
* closing: `close()` stops reading, sends what is queued, then closes; `abort()` drops
  the queue and closes at once. Either way `protocol.connection_lost()` is called once.

`Listener` accepts connections on a listening socket and gives each a transport and a
fresh protocol.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket

log = logging.getLogger("fromscratch")

READ_SIZE = 65536
_TRY_AGAIN = (BlockingIOError, InterruptedError)


class SocketTransport(asyncio.Transport):
    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket, protocol):
        super().__init__()
        self._loop = loop
        self._sock = sock
        self._fd = sock.fileno()
        self._protocol = protocol
        self._queue: list[bytes] = []            # bytes the kernel has not taken yet
        self._queued = 0
        self._high, self._low = 64 * 1024, 16 * 1024
        self._protocol_paused = False
        self._reading = True
        self._closing = False
        self._lost = False
        self._extra = {"socket": sock, "peername": _address(sock.getpeername),
                       "sockname": _address(sock.getsockname)}
        loop.add_reader(self._fd, self._read_ready)

    # -- reading ----------------------------------------------------------------------

    def _read_ready(self) -> None:
        try:
            data = self._sock.recv(READ_SIZE)
        except _TRY_AGAIN:
            return
        except OSError as exc:
            self._fail(exc)
            return
        if data:
            self._protocol.data_received(data)
        else:
            self.close()

    def pause_reading(self) -> None:
        if self._reading and not self._closing:
            self._reading = False
            self._loop.remove_reader(self._fd)

    def resume_reading(self) -> None:
        if not self._reading and not self._closing:
            self._reading = True
            self._loop.add_reader(self._fd, self._read_ready)

    def is_reading(self) -> bool:
        return self._reading and not self._closing

    # -- writing ----------------------------------------------------------------------

    def write(self, data) -> None:
        if self._closing or not data:
            return
        if not self._queue:
            try:
                sent = self._sock.send(data)
            except _TRY_AGAIN:
                sent = 0
            except OSError as exc:
                self._fail(exc)
                return
            if sent == len(data):
                return
            data = data[sent:]
            self._loop.add_writer(self._fd, self._write_ready)
        self._queue.append(bytes(data))
        self._queued += len(data)
        if not self._protocol_paused and self._queued > self._high:
            self._protocol_paused = True
            self._protocol.pause_writing()

    def _write_ready(self) -> None:
        data = b"".join(self._queue) if len(self._queue) > 1 else self._queue[0]
        try:
            sent = self._sock.send(data)
        except _TRY_AGAIN:
            return
        except OSError as exc:
            self._fail(exc)
            return
        rest = data[sent:]
        self._queue = [rest] if rest else []
        self._queued = len(rest)
        if self._protocol_paused and self._queued <= self._low:
            self._protocol_paused = False
            self._protocol.resume_writing()
        if not rest:
            self._loop.remove_writer(self._fd)
            if self._closing:
                self._finish(None)

    def get_write_buffer_size(self) -> int:
        return self._queued

    def set_write_buffer_limits(self, high=None, low=None) -> None:
        self._high = 64 * 1024 if high is None else high
        self._low = self._high // 4 if low is None else low

    def can_write_eof(self) -> bool:
        return False

    # -- closing ------------------------------------------------------------------------

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        if self._reading:
            self._loop.remove_reader(self._fd)
        if not self._queue:
            self._loop.call_soon(self._finish, None)

    def abort(self) -> None:
        self._fail(None)

    def _fail(self, exc) -> None:
        if exc is not None and not isinstance(exc, (ConnectionResetError, BrokenPipeError)):
            log.debug("connection error: %s", exc)
        self._closing = True
        self._queue, self._queued = [], 0
        self._loop.remove_reader(self._fd)
        self._loop.remove_writer(self._fd)
        self._loop.call_soon(self._finish, exc)

    def _finish(self, exc) -> None:
        if self._lost:
            return
        self._lost = True
        self._loop.remove_reader(self._fd)
        self._loop.remove_writer(self._fd)
        try:
            self._protocol.connection_lost(exc)
        finally:
            self._sock.close()

    def get_extra_info(self, name, default=None):
        return self._extra.get(name, default)

    def get_protocol(self):
        return self._protocol

    def set_protocol(self, protocol) -> None:
        self._protocol = protocol


def _address(getter):
    try:
        return getter()
    except OSError:
        return None


class Listener:
    """A listening socket whose connections each get a SocketTransport and a protocol."""

    def __init__(self, loop, sock: socket.socket, protocol_factory, backlog: int):
        self.loop = loop
        self.sock = sock
        self.protocol_factory = protocol_factory
        sock.listen(backlog)
        sock.setblocking(False)
        loop.add_reader(sock.fileno(), self._accept)

    def _accept(self) -> None:
        for _ in range(128):             # take a burst, then let other work run
            try:
                conn, _ = self.sock.accept()
            except _TRY_AGAIN:
                return
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    log.error("cannot accept connections: %s", exc)
                    return
                raise
            conn.setblocking(False)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            protocol = self.protocol_factory()
            transport = SocketTransport(self.loop, conn, protocol)
            protocol.connection_made(transport)

    def close(self) -> None:
        self.loop.remove_reader(self.sock.fileno())
        self.sock.close()


def open_listeners(loop, hosts, port: int, protocol_factory, backlog: int = 1024) -> list[Listener]:
    """Listen on every address of every host (one port for all; port 0 picks one)."""
    listeners: list[Listener] = []
    for host in ([hosts] if isinstance(hosts, str) else hosts):
        for family, kind, proto, _, address in socket.getaddrinfo(
                host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE):
            if port:
                address = (address[0], port, *address[2:])
            sock = socket.socket(family, kind, proto)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind(address)
            except OSError:
                sock.close()
                for listener in listeners:
                    listener.close()
                raise
            if port == 0:
                port = sock.getsockname()[1]         # the others take the same port
            listeners.append(Listener(loop, sock, protocol_factory, backlog))
    return listeners
