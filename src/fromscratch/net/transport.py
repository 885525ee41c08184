"""A lean socket transport and listener for asyncio's event loop.

asyncio's own selector transport is general (SSL hooks, buffered protocols, many
checks per call). For small request/reply servers that generality costs about a
microsecond of CPU per request, a noticeable share of the whole. This transport does
only what our servers use, with the same interface towards a protocol:

* reading: the loop calls `_read_ready` when the socket is readable; it receives up to
  64 KB and hands the bytes to `protocol.data_received`. At an empty read (the peer
  finished sending) the protocol's `eof_received()` decides: a true answer keeps the
  transport open to finish replying, as asyncio's does; otherwise it closes.
* writing: `write()` sends at once when nothing is queued; what the kernel does not take
  is queued and sent when the socket is writable again. Past the high-water mark the
  protocol's `pause_writing()` is called, and `resume_writing()` below the low mark: the
  protocol's chance to stop reading from a client that does not read its replies.
* closing: `close()` stops reading, sends what is queued, then closes; `abort()` drops
  the queue and closes at once. Either way `protocol.connection_lost()` is called once:
  at the loop's next turn, as asyncio does, or at once when the peer went away (found
  reading, outside any protocol callback), so that a gone client is dropped even while
  a long load or script serves the sockets without the loop (serve_ready_sockets).

`Listener` accepts connections on a listening socket and gives each a transport and a
fresh protocol.

The sockets are not registered with the event loop one by one but with a `Multiplexer`,
an epoll set that serves every ready socket in a tight loop when it wakes; asyncio's
per-socket dispatch (a selector key lookup, a callback handle and a context switch for
each) would cost about a microsecond more per request. The servers' loops are made by
`new_event_loop()`, whose selector is the Multiplexer itself; under another loop, the
Multiplexer is one reader of it. Work that should follow the whole batch (the replies,
written in one burst) asks for it with `call_after_dispatch`.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import math
import os
import select
import selectors
import socket
import ssl
import struct
import time
import types
import weakref

log = logging.getLogger("fromscratch")

READ_SIZE = 65536
# The plain read(2) and write(2) of a socket's descriptor: they do what recv and send
# with no flags do, for about 0.15 us less each than the socket object's methods.
_read, _write = os.read, os.write
_perf_ns = time.perf_counter_ns
_TRY_AGAIN = (BlockingIOError, InterruptedError)
_detached = False           # a forked child that must leave its parent's sockets alone


def detach_after_fork() -> None:
    """For a forked child that goes on without the event loop (a Lua debugging
    session): its sockets and its epoll set are its parent's too, so from now on
    whatever is written to any transport is dropped as if sent, and no change of
    interest reaches the epoll set."""
    global _write, _detached
    _write = _pretend_sent
    _detached = True


def _pretend_sent(fd: int, data) -> int:
    return len(data)


class Multiplexer(selectors.BaseSelector):
    """Readiness callbacks for many sockets on one epoll set.

    `set_reader(fd, callback)` / `set_writer(fd, callback)` (None to stop) mirror the
    loop's add_reader/add_writer. It works in one of two ways:

    * as the event loop's selector (a loop made by `new_event_loop()`, as every server
      runs on): the loop's own file descriptors and our sockets share the epoll set,
      and `select()`, the loop's one wait for I/O, serves our ready sockets itself
      before it returns the loop's: one system call per wake instead of two, and no
      callback handle. A wake serves only two or three sockets when 50 clients each
      wait for a reply: redis-benchmark without pipelining gained 3-8%;
    * under any other loop, as one reader of that loop: when the epoll set is
      readable, `dispatch()` serves what is ready.

    Where epoll is missing, the calls are the loop's own add_reader/add_writer.
    """

    _of_loop: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()

    @classmethod
    def of(cls, loop) -> "Multiplexer":
        mux = cls._of_loop.get(loop)
        if mux is None:
            mux = cls._of_loop[loop] = cls()
            mux._attach(loop)
            if mux.epoll is not None:
                loop.add_reader(mux.epoll.fileno(), mux.dispatch)
        return mux

    def __init__(self):
        self._loop = None               # a weak reference: see _attach
        self.callbacks: dict[int, list] = {}        # fd -> [reader, writer]
        self._keys: dict[int, selectors.SelectorKey] = {}   # the loop's, as its selector
        self._depth = 0                 # dispatch() calls under way
        self._after: list = []          # call_after_dispatch's callbacks
        self.epoll = select.epoll() if hasattr(select, "epoll") else None
        # As the loop's selector: its turns, and the time they took but for the wait
        # (Redis's eventloop_cycles and eventloop_duration_sum).
        self.cycles = 0
        self.busy_ns = 0
        self._turn_started = 0

    def _attach(self, loop) -> None:
        # Only a weak reference: the table of multiplexers by loop must not keep
        # finished loops (and their epoll sets) alive.
        self._loop = weakref.ref(loop)

    # -- our sockets -----------------------------------------------------------------------

    def set_reader(self, fd: int, callback) -> None:
        if self.epoll is not None:
            self._set(fd, 0, callback)
        elif callback is not None:
            self._loop().add_reader(fd, callback)
        else:
            self._loop().remove_reader(fd)

    def set_writer(self, fd: int, callback) -> None:
        if self.epoll is not None:
            self._set(fd, 1, callback)
        elif callback is not None:
            self._loop().add_writer(fd, callback)
        else:
            self._loop().remove_writer(fd)

    def _set(self, fd: int, which: int, callback) -> None:
        pair = self.callbacks.get(fd)
        if pair is None:
            if callback is None:
                return
            pair = self.callbacks[fd] = [None, None]
            pair[which] = callback
            self._watch(fd, _MASKS[pair[0] is not None, pair[1] is not None], new=True)
            return
        if (pair[which] is None) == (callback is None):
            pair[which] = callback                  # the same interest: no system call
            return
        pair[which] = callback
        if pair[0] is None and pair[1] is None:
            del self.callbacks[fd]
            self._unwatch(fd)
        else:
            self._watch(fd, _MASKS[pair[0] is not None, pair[1] is not None], new=False)

    def _watch(self, fd: int, mask: int, new: bool) -> None:
        # The set can disagree with our table when a socket was closed behind our back
        # (epoll drops it) and its number reused: then the other call does it.
        if _detached:
            return
        try:
            (self.epoll.register if new else self.epoll.modify)(fd, mask)
        except FileExistsError:
            self.epoll.modify(fd, mask)
        except FileNotFoundError:
            self.epoll.register(fd, mask)

    def _unwatch(self, fd: int) -> None:
        if _detached:
            return
        try:
            self.epoll.unregister(fd)
        except OSError:
            pass                                # closed already: epoll forgot it

    def call_after_dispatch(self, callback) -> None:
        """Call `callback` once the sockets being served now are all served, or soon
        if none is being served (a timer's work, say)."""
        if self._depth:
            self._after.append(callback)
        else:
            self._loop().call_soon(callback)

    def dispatch(self) -> None:
        """Serve the sockets that are ready now (the loop calls this when any is, and a
        long command to serve clients meanwhile), then what asked to run after them."""
        self._serve(self.epoll.poll(0, _BATCH))

    def _serve(self, ready: list) -> list:
        """Call the callbacks of our sockets in `ready` (pairs of fd and events), then
        what asked to run after them (call_after_dispatch): replies written in one
        burst, without waiting for another turn of the loop. Returns the pairs that
        are not ours."""
        callbacks = self.callbacks
        others = []
        self._depth += 1                # a long command may serve sockets from inside
        try:
            for fd, events in ready:
                pair = callbacks.get(fd)
                if pair is None:        # the loop's, or dropped by a callback before
                    others.append((fd, events))
                    continue
                try:
                    if events & _READ_EVENTS and pair[0] is not None:
                        pair[0]()
                    if events & _WRITE_EVENTS and pair[1] is not None:
                        pair[1]()
                except Exception:
                    log.exception("error serving a connection")
        finally:
            self._depth -= 1
        if not self._depth and self._after:
            after, self._after = self._after, []
            for callback in after:
                try:
                    callback()
                except Exception:
                    log.exception("error after serving connections")
        return others

    # -- as the loop's selector (selectors.BaseSelector) ------------------------------------

    def register(self, fileobj, events, data=None):
        fd = _fd(fileobj)
        if fd in self._keys:
            raise KeyError(f"{fileobj!r} is already registered")
        if self.callbacks.pop(fd, None) is not None:
            self._unwatch(fd)           # a closed socket of ours left behind: not ours now
        key = self._keys[fd] = selectors.SelectorKey(fileobj, fd, events, data)
        self._watch(fd, _SELECTOR_MASKS[events], new=True)
        return key

    def unregister(self, fileobj):
        key = self._keys.pop(_fd(fileobj))
        self._unwatch(key.fd)
        return key

    def modify(self, fileobj, events, data=None):
        key = self._keys[_fd(fileobj)]
        if events != key.events:
            self._watch(key.fd, _SELECTOR_MASKS[events], new=False)
        key = self._keys[key.fd] = key._replace(events=events, data=data)
        return key

    def get_key(self, fileobj):
        return self._keys[_fd(fileobj)]

    def get_map(self):
        return types.MappingProxyType(self._keys)

    def select(self, timeout=None):
        if timeout is None:
            timeout = -1
        elif timeout <= 0:
            timeout = 0
        else:
            timeout = math.ceil(timeout * 1e3) * 1e-3   # never round a wait down to 0
        if self._turn_started:                  # the turn that ends here
            self.cycles += 1
            self.busy_ns += _perf_ns() - self._turn_started
        try:
            ready = self.epoll.poll(timeout, _BATCH)
        except InterruptedError:
            ready = []
        self._turn_started = _perf_ns()
        others = self._serve(ready)
        if not others:
            return others
        keys = self._keys
        return [(key, _as_selector_events(events) & key.events)
                for fd, events in others if (key := keys.get(fd)) is not None]

    def close(self):
        self._keys.clear()
        self.callbacks.clear()
        if self.epoll is not None:
            self.epoll.close()


def new_event_loop() -> asyncio.AbstractEventLoop:
    """An event loop whose selector is a Multiplexer, where there is epoll (else
    asyncio's usual loop): the servers run on one."""
    if not hasattr(select, "epoll"):
        return asyncio.new_event_loop()
    mux = Multiplexer()
    loop = asyncio.SelectorEventLoop(mux)
    mux._attach(loop)
    Multiplexer._of_loop[loop] = mux
    return loop


def _fd(fileobj) -> int:
    return fileobj if isinstance(fileobj, int) else fileobj.fileno()


def _as_selector_events(events: int) -> int:
    """epoll's events as the selectors module's: hang-ups and errors wake both."""
    return ((selectors.EVENT_WRITE if events & ~select.EPOLLIN else 0)
            | (selectors.EVENT_READ if events & ~select.EPOLLOUT else 0))


# Up to this many sockets served per wake: if more are ready, the next wake has them.
_BATCH = 512

if hasattr(select, "epoll"):
    # epoll interest masks by (reading, writing); hang-ups and errors wake both sides
    _MASKS = {(True, False): select.EPOLLIN, (False, True): select.EPOLLOUT,
              (True, True): select.EPOLLIN | select.EPOLLOUT}
    _SELECTOR_MASKS = {selectors.EVENT_READ: select.EPOLLIN,
                       selectors.EVENT_WRITE: select.EPOLLOUT,
                       selectors.EVENT_READ | selectors.EVENT_WRITE:
                           select.EPOLLIN | select.EPOLLOUT}
    _READ_EVENTS = select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR
    _WRITE_EVENTS = select.EPOLLOUT | select.EPOLLHUP | select.EPOLLERR


class SocketTransport(asyncio.Transport):
    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket, protocol):
        super().__init__()
        self._loop = loop
        self._mux = Multiplexer.of(loop)
        self._sock = sock
        self._fd = sock.fileno()
        self._protocol = protocol
        # Where the socket's bytes go: the protocol (a TLS transport decrypts them first).
        self._data_received = protocol.data_received
        self._queue: list[bytes] = []            # bytes the kernel has not taken yet
        self._queued = 0
        self._high, self._low = 64 * 1024, 16 * 1024
        self._protocol_paused = False
        self._reading = True
        self._closing = False
        self._lost = False
        self._output_ended = False                # write_eof() was called
        self._extra = {"socket": sock, "peername": _address(sock.getpeername),
                       "sockname": _address(sock.getsockname)}
        self._mux.set_reader(self._fd, self._read_ready)

    # -- reading ----------------------------------------------------------------------

    def _read_ready(self) -> None:
        try:
            data = _read(self._fd, READ_SIZE)
        except _TRY_AGAIN:
            return
        except OSError as exc:
            self._fail(exc)
            self._finish(exc)
            return
        if data:
            self._data_received(data)
            return
        self._at_eof()

    def _at_eof(self) -> None:
        """The peer finished sending."""
        self._reading = False                     # nothing more will come
        self._mux.set_reader(self._fd, None)
        if not self._protocol.eof_received():
            self.close()
            if not self._queue:
                self._finish(None)

    def pause_reading(self) -> None:
        if self._reading and not self._closing:
            self._reading = False
            self._mux.set_reader(self._fd, None)

    def resume_reading(self) -> None:
        if not self._reading and not self._closing:
            self._reading = True
            self._mux.set_reader(self._fd, self._read_ready)

    def is_reading(self) -> bool:
        return self._reading and not self._closing

    # -- writing ----------------------------------------------------------------------

    def write(self, data) -> None:
        if self._closing or not data:
            return
        if self._output_ended:
            raise RuntimeError("Cannot call write() after write_eof()")
        if not self._queue:
            try:
                sent = _write(self._fd, data)
            except _TRY_AGAIN:
                sent = 0
            except OSError as exc:
                self._fail(exc)
                return
            if sent == len(data):
                return
            data = data[sent:]
            self._mux.set_writer(self._fd, self._write_ready)
        self._queue.append(bytes(data))
        self._queued += len(data)
        if not self._protocol_paused and self._queued > self._high:
            self._protocol_paused = True
            self._protocol.pause_writing()

    def _write_ready(self) -> None:
        data = b"".join(self._queue) if len(self._queue) > 1 else self._queue[0]
        try:
            sent = _write(self._fd, data)
        except _TRY_AGAIN:
            return
        except OSError as exc:
            self._fail(exc)
            return
        rest = memoryview(data)[sent:]            # a view: no copy of what is left
        self._queue = [rest] if rest else []
        self._queued = len(rest)
        if self._protocol_paused and self._queued <= self._low:
            self._protocol_paused = False
            self._protocol.resume_writing()       # which may write, and queue, again
        if not self._queue:
            self._mux.set_writer(self._fd, None)
            if self._closing:
                self._finish(None)
            elif self._output_ended:
                self._shut_output()

    def get_write_buffer_size(self) -> int:
        return self._queued

    def set_write_buffer_limits(self, high=None, low=None) -> None:
        # asyncio's defaults: 64 KB, or four times the low mark; the low mark a quarter
        if high is None:
            high = 64 * 1024 if low is None else 4 * low
        if low is None:
            low = high // 4
        if not high >= low >= 0:
            raise ValueError(f"high ({high!r}) must be >= low ({low!r}) must be >= 0")
        self._high, self._low = high, low

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        """End our output, once what is queued is sent: the peer reads to the end of
        it and then sees EOF, while we can still read what it sends."""
        if self._closing or self._output_ended:
            return
        self._output_ended = True
        if not self._queue:
            self._shut_output()

    def _shut_output(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass                                # the peer is gone: nothing to tell it

    # -- lending the socket -------------------------------------------------------------

    def lend_blocking(self, send_timeout: float) -> socket.socket:
        """Lend the socket to code that talks over it directly and blockingly while the
        event loop waits (the Lua debugger, as Redis's connBlock): what is queued is
        sent first, and sends then give up after `send_timeout` seconds. Reads wait as
        long as it takes. `take_back` makes it ours again."""
        sock = self._sock
        sock.setblocking(True)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO,
                        struct.pack("ll", int(send_timeout), 0))
        if self._queue:
            data = b"".join(self._queue)
            self._queue, self._queued = [], 0
            self._mux.set_writer(self._fd, None)
            try:
                sock.sendall(data)
            except OSError:
                pass                        # the peer is gone: the next read says so
        return sock

    def take_back(self) -> None:
        """End a loan of lend_blocking: the socket is non-blocking again."""
        sock = self._sock
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", 0, 0))
        sock.setblocking(False)

    # -- closing ------------------------------------------------------------------------

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        if self._reading:
            self._mux.set_reader(self._fd, None)
        if not self._queue:
            self._loop.call_soon(self._finish, None)

    def abort(self) -> None:
        self._fail(None)

    def _fail(self, exc) -> None:
        if exc is not None and not isinstance(exc, (ConnectionResetError, BrokenPipeError)):
            log.debug("connection error: %s", exc)
        self._closing = True
        self._queue, self._queued = [], 0
        self._mux.set_reader(self._fd, None)
        self._mux.set_writer(self._fd, None)
        self._loop.call_soon(self._finish, exc)

    def _finish(self, exc) -> None:
        if self._lost:
            return
        self._lost = True
        self._mux.set_reader(self._fd, None)
        self._mux.set_writer(self._fd, None)
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
        self._data_received = protocol.data_received


class TlsTransport(SocketTransport):
    """The server side of a TLS connection: the socket's bytes go through an
    ssl.SSLObject over two memory buffers (what the peer sent, what we must send), so
    that reading and writing keep the plain transport's non-blocking calls and its
    queue; the protocol sees only plaintext. What the protocol writes before the
    handshake is done waits for it."""

    def __init__(self, loop, sock: socket.socket, protocol, context: ssl.SSLContext):
        self._received, self._to_send = ssl.MemoryBIO(), ssl.MemoryBIO()
        self._tls = context.wrap_bio(self._received, self._to_send, server_side=True)
        self._handshaking = True
        self._early_writes: list[bytes] = []
        super().__init__(loop, sock, protocol)
        self._data_received = self._decrypt
        self._extra["ssl_object"] = self._tls

    def set_protocol(self, protocol) -> None:
        self._protocol = protocol                 # (the socket's bytes still go to TLS)

    def can_write_eof(self) -> bool:
        return False              # no half-close under TLS (as asyncio's TLS transport)

    def write_eof(self) -> None:
        raise NotImplementedError("TLS has no half-close")

    def _decrypt(self, data: bytes) -> None:
        self._received.write(data)
        self._process_records()

    def _at_eof(self) -> None:
        self._received.write_eof()                # TLS decides what the end means
        self._process_records()

    def _process_records(self) -> None:
        """Take the records received: the handshake's, then the plaintext they carry
        (for the protocol), or the end of the connection."""
        plaintext, at_eof = [], False
        try:
            if self._handshaking:
                self._tls.do_handshake()
                self._handshaking = False
                early, self._early_writes = self._early_writes, []
                for waiting in early:
                    self.write(waiting)
            while chunk := self._tls.read(READ_SIZE):
                plaintext.append(chunk)
            at_eof = True                         # b"": the peer's close_notify
        except ssl.SSLWantReadError:
            pass                                  # all that arrived is read
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            at_eof = True                         # the peer closed its side
        except ssl.SSLError as exc:               # not TLS, or not a client we accept
            log.debug("Error accepting a client connection: %s", exc.reason or exc)
            self._send_records()
            self.close()
            return
        self._send_records()                      # handshake replies, session tickets
        if plaintext:
            self._protocol.data_received(b"".join(plaintext))
        if at_eof and not self._closing:
            SocketTransport._at_eof(self)

    def write(self, data) -> None:
        if self._closing or not data:
            return
        if self._handshaking:
            self._early_writes.append(bytes(data))
            return
        try:
            self._tls.write(data)
        except ssl.SSLError as exc:
            self._fail(exc)
            return
        self._send_records()

    def _send_records(self) -> None:
        """Send what TLS has made for the peer."""
        records = self._to_send.read()
        if records:
            SocketTransport.write(self, records)

    def close(self) -> None:
        if self._closing:
            return
        if not self._handshaking:
            with contextlib.suppress(ssl.SSLError):
                self._tls.unwrap()                # close_notify (no wait for the peer's)
            self._send_records()
        super().close()


def _address(getter):
    try:
        return getter()
    except OSError:
        return None


class Listener:
    """A listening socket whose connections each get a SocketTransport and a protocol."""

    def __init__(self, loop, sock: socket.socket, protocol_factory, backlog: int,
                 tls=None):
        self.loop = loop
        self.sock = sock
        self.protocol_factory = protocol_factory
        self.tls = tls          # for TLS: a function giving the current SSLContext
        self.is_tcp = sock.family != socket.AF_UNIX
        sock.listen(backlog)
        sock.setblocking(False)
        loop.add_reader(sock.fileno(), self.accept)

    def accept(self) -> None:
        """Take the connections waiting (the loop calls this when any is)."""
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
            if self.is_tcp:
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            protocol = self.protocol_factory()
            if self.tls is None:
                transport = SocketTransport(self.loop, conn, protocol)
            else:
                transport = TlsTransport(self.loop, conn, protocol, self.tls())
            protocol.connection_made(transport)

    def close(self) -> None:
        self.loop.remove_reader(self.sock.fileno())
        self.sock.close()


def open_listeners(loop, hosts, port: int, protocol_factory, backlog: int = 1024,
                   tls=None) -> list[Listener]:
    """Listen on every address of every host (one port for all; port 0 picks one);
    with `tls` (a function giving the SSLContext to use), for TLS connections."""
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
            listeners.append(Listener(loop, sock, protocol_factory, backlog, tls))
    return listeners


def open_unix_listener(loop, path: str, permissions: int, protocol_factory,
                       backlog: int = 1024) -> Listener:
    """Listen on a Unix domain socket at `path` (a file left there by a server that
    did not stop cleanly is replaced, as Redis does), with the file's `permissions`
    if not 0."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        if permissions:
            os.chmod(path, permissions)
    except OSError:
        sock.close()
        raise
    return Listener(loop, sock, protocol_factory, backlog)
