"""The lean socket transport over real TCP sockets: echo, flow control, close and abort,
no callback left behind in the Multiplexer, errors contained to one connection."""

import asyncio
import logging
import os
import select
import socket
from contextlib import contextmanager

import pytest

from fromscratch.net.transport import Multiplexer, new_event_loop, open_listeners

HOST = "127.0.0.1"
TIMEOUT = 10.0          # generous: a condition that holds arrives long before this
BIG = 8 * 1024 * 1024   # more than the kernel buffers of a client that does not read


# Each test runs on the loop the servers run on (its selector is the Multiplexer) and on
# asyncio's own (the Multiplexer is one reader of it).
LOOPS = {"new_event_loop": new_event_loop, "asyncio's loop": asyncio.new_event_loop}
loop_factory = new_event_loop


@pytest.fixture(autouse=True, params=list(LOOPS))
def each_loop(request):
    global loop_factory
    loop_factory = LOOPS[request.param]


def run(coro):
    """Run one test's coroutine on a fresh event loop."""
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(asyncio.wait_for(coro, 3 * TIMEOUT))


async def wait(awaitable):
    """Await a condition, failing the test instead of hanging if it never comes."""
    return await asyncio.wait_for(awaitable, TIMEOUT)


async def settle(turns: int = 5) -> None:
    """Let the loop run a few turns, so a callback that should not come would have."""
    for _ in range(turns):
        await asyncio.sleep(0)


@contextmanager
def serving(factory):
    """Listen on 127.0.0.1, a free port; yields the port."""
    listeners = open_listeners(asyncio.get_running_loop(), HOST, 0, factory)
    try:
        yield listeners[0].sock.getsockname()[1]
    finally:
        for listener in listeners:
            listener.close()


async def raw_client(port: int) -> socket.socket:
    """A plain non-blocking client socket: it reads only when the test says so."""
    sock = socket.socket()
    sock.setblocking(False)
    await wait(asyncio.get_running_loop().sock_connect(sock, (HOST, port)))
    return sock


async def recv_exactly(sock: socket.socket, size: int) -> bytes:
    loop = asyncio.get_running_loop()
    data = bytearray()
    while len(data) < size:
        chunk = await wait(loop.sock_recv(sock, 1 << 20))
        assert chunk, f"EOF after {len(data)} of {size} bytes"
        data += chunk
    return bytes(data)


class Recorder(asyncio.Protocol):
    """Records what the transport does to it."""

    def __init__(self):
        loop = asyncio.get_running_loop()
        self.made = loop.create_future()       # resolves at connection_made
        self.lost = loop.create_future()       # resolves with connection_lost's exc
        self.lost_calls = 0
        self.flow: list[str] = []              # "pause" / "resume", in call order
        self.paused = asyncio.Event()
        self.resumed = asyncio.Event()

    def connection_made(self, transport):
        self.transport = transport
        self.fd = transport.get_extra_info("socket").fileno()
        self.made.set_result(transport)

    def connection_lost(self, exc):
        self.lost_calls += 1
        if not self.lost.done():
            self.lost.set_result(exc)

    def pause_writing(self):
        self.flow.append("pause")
        self.paused.set()

    def resume_writing(self):
        self.flow.append("resume")
        self.resumed.set()


class Echo(Recorder):
    def data_received(self, data):
        self.transport.write(data)


class Factory:
    """A protocol factory that hands the test each server-side protocol in accept order."""

    def __init__(self, cls):
        self.cls = cls
        self.made: list = []
        self._arrived: asyncio.Queue = asyncio.Queue()

    def __call__(self):
        protocol = self.cls()
        self.made.append(protocol)
        self._arrived.put_nowait(protocol)
        return protocol

    async def next(self):
        """The next accepted connection's protocol, once connection_made has run."""
        protocol = await wait(self._arrived.get())
        await wait(protocol.made)
        return protocol


# -- serving -----------------------------------------------------------------------------

def test_echo_to_many_concurrent_clients():
    """50 concurrent clients each get every message back, in order, unmixed."""
    async def main():
        factory = Factory(Echo)
        with serving(factory) as port:
            async def client(i):
                reader, writer = await wait(asyncio.open_connection(HOST, port))
                for n in range(5):                      # one at a time
                    message = f"client {i} message {n};".encode() * (n + 1)
                    writer.write(message)
                    assert await wait(reader.readexactly(len(message))) == message
                burst = [f"<{i}:{n}>".encode() for n in range(20)]
                for message in burst:                   # pipelined
                    writer.write(message)
                expected = b"".join(burst)
                assert await wait(reader.readexactly(len(expected))) == expected
                writer.close()
                await wait(writer.wait_closed())

            await wait(asyncio.gather(*(client(i) for i in range(50))))
            assert len(factory.made) == 50
            for protocol in factory.made:               # each saw its client leave
                assert await wait(protocol.lost) is None
                assert protocol.lost_calls == 1
    run(main())


def test_large_write_to_a_slow_reader_pauses_then_resumes_the_protocol():
    """8 MB to a client that does not read: pause_writing; once it reads, resume_writing,
    and every byte arrives intact."""
    async def main():
        payload = os.urandom(BIG)
        factory = Factory(Recorder)
        with serving(factory) as port:
            sock = await raw_client(port)
            server = await factory.next()
            server.transport.write(payload)
            await wait(server.paused.wait())
            assert server.transport.get_write_buffer_size() > 0
            await settle()
            assert server.flow == ["pause"]             # no resume while nobody reads

            assert await recv_exactly(sock, len(payload)) == payload
            await wait(server.resumed.wait())
            assert server.flow == ["pause", "resume"]
            assert server.transport.get_write_buffer_size() == 0

            sock.close()
            assert await wait(server.lost) is None
    run(main())


def test_close_sends_queued_data_then_eof_and_loses_the_connection_once():
    """close() with output still queued: the peer gets all of it, then EOF;
    connection_lost is called once, even if close()/abort() are called again."""
    payload = os.urandom(BIG)

    class SendThenClose(Recorder):
        def data_received(self, data):
            for start in range(0, len(payload), 65536):
                self.transport.write(payload[start:start + 65536])
            self.queued_at_close = self.transport.get_write_buffer_size()
            self.transport.close()

    async def main():
        factory = Factory(SendThenClose)
        with serving(factory) as port:
            reader, writer = await wait(asyncio.open_connection(HOST, port))
            server = await factory.next()
            writer.write(b"go")
            assert await wait(reader.read()) == payload   # read() returns at EOF
            assert server.queued_at_close > 0              # close() had to drain a queue
            assert server.transport.is_closing()

            assert await wait(server.lost) is None
            server.transport.close()
            server.transport.abort()
            await settle()
            assert server.lost_calls == 1
            assert server.fd not in Multiplexer.of(asyncio.get_running_loop()).callbacks
            writer.close()
    run(main())


def test_abort_drops_the_queue_and_unregisters_the_socket():
    """abort() with output queued: the fd leaves the Multiplexer at once, the queue is
    dropped, and connection_lost(None) is called exactly once."""
    async def main():
        loop = asyncio.get_running_loop()
        factory = Factory(Recorder)
        with serving(factory) as port:
            sock = await raw_client(port)
            server = await factory.next()
            mux = Multiplexer.of(loop)
            server.transport.write(b"x" * BIG)
            assert server.fd in mux.callbacks              # reading, and waiting to write
            server.transport.abort()
            assert server.fd not in mux.callbacks
            assert server.transport.get_write_buffer_size() == 0

            assert await wait(server.lost) is None
            server.transport.abort()
            server.transport.close()
            await settle()
            assert server.lost_calls == 1
            assert server.fd not in mux.callbacks

            received = 0                                   # what the kernel had taken
            try:
                while chunk := await wait(loop.sock_recv(sock, 1 << 20)):
                    received += len(chunk)
            except ConnectionResetError:
                pass
            assert received < BIG
            sock.close()
    run(main())


def test_closed_connections_leave_no_callbacks_behind():
    """200 connect/disconnect cycles: afterwards the Multiplexer holds only the sockets
    of the connections still open."""
    async def main():
        factory = Factory(Echo)
        with serving(factory) as port:
            mux = Multiplexer.of(asyncio.get_running_loop())
            live = []
            for _ in range(3):
                reader, writer = await wait(asyncio.open_connection(HOST, port))
                live.append((reader, writer, await factory.next()))
            live_fds = {server.fd for _, _, server in live}
            assert set(mux.callbacks) == live_fds

            for i in range(200):
                reader, writer = await wait(asyncio.open_connection(HOST, port))
                server = await factory.next()
                writer.write(b"ping %d" % i)
                assert await wait(reader.readexactly(len(b"ping %d" % i))) == b"ping %d" % i
                writer.close()
                await wait(writer.wait_closed())
                assert await wait(server.lost) is None
                assert set(mux.callbacks) == live_fds

            for reader, writer, server in live:           # the survivors still work
                writer.write(b"still here")
                assert await wait(reader.readexactly(10)) == b"still here"
                writer.close()
                await wait(server.lost)
            assert mux.callbacks == {}
            assert all(p.lost_calls == 1 for p in factory.made)
    run(main())


def test_an_exception_in_one_connection_does_not_stop_the_others(caplog):
    """data_received raising for one connection is logged; the other connections, and
    new ones, keep being served."""
    class Touchy(Echo):
        def __init__(self):
            super().__init__()
            self.raised = asyncio.Event()

        def data_received(self, data):
            if data.startswith(b"boom"):
                self.raised.set()
                raise RuntimeError("boom from data_received")
            super().data_received(data)

    async def main():
        factory = Factory(Touchy)
        with serving(factory) as port:
            clients = [await wait(asyncio.open_connection(HOST, port)) for _ in range(3)]
            servers = [await factory.next() for _ in clients]

            async def echo(reader, writer, message):
                writer.write(message)
                assert await wait(reader.readexactly(len(message))) == message

            _, bad = clients[1]
            bad.write(b"boom")
            await wait(servers[1].raised.wait())
            for round_ in range(3):
                for reader, writer in (clients[0], clients[2]):
                    await echo(reader, writer, b"round %d" % round_)
            late = await wait(asyncio.open_connection(HOST, port))
            await echo(*late, b"newcomer")

            for _, writer in clients + [late]:
                writer.close()
            for server in factory.made:
                await wait(server.lost)

    with caplog.at_level(logging.ERROR, logger="fromscratch"):
        run(main())
    errors = [r for r in caplog.records if r.exc_info and r.exc_info[0] is RuntimeError]
    assert len(errors) == 1
    assert errors[0].name == "fromscratch"        # caught by the server, not by asyncio
    assert "boom from data_received" in str(errors[0].exc_info[1])


# -- the Multiplexer on its own ----------------------------------------------------------

@pytest.mark.skipif(not hasattr(select, "epoll"), reason="the epoll Multiplexer")
def test_multiplexer_switches_interest_between_reading_and_writing():
    """On a socketpair: the reader fires on input; after set_reader(fd, None) pending
    input wakes nothing, and a writer fires because the socket is writable; None for an
    fd it does not know is a no-op."""
    async def main():
        mux = Multiplexer.of(asyncio.get_running_loop())
        a, b = socket.socketpair()
        a.setblocking(False)
        fd = a.fileno()
        reads, writes = [], []
        readable, writable = asyncio.Event(), asyncio.Event()

        def on_read():
            reads.append(a.recv(100))
            readable.set()

        def on_write():
            writes.append("writable")
            mux.set_writer(fd, None)                      # once is enough
            writable.set()

        mux.set_reader(fd, None)                          # unknown fds: no-ops
        mux.set_writer(fd, None)
        mux.set_reader(b.fileno(), None)
        assert mux.callbacks == {}

        mux.set_reader(fd, on_read)
        assert mux.callbacks[fd] == [on_read, None]
        b.send(b"one")
        await wait(readable.wait())
        assert reads == [b"one"]

        mux.set_reader(fd, None)
        assert fd not in mux.callbacks
        b.send(b"two")                                    # input nobody listens for
        mux.set_writer(fd, on_write)
        assert mux.callbacks[fd] == [None, on_write]
        await wait(writable.wait())
        await settle()
        assert writes == ["writable"]
        assert reads == [b"one"]
        assert fd not in mux.callbacks
        assert a.recv(100) == b"two"

        # both at once, then dropping the writer leaves the reader working
        readable.clear()
        writable.clear()
        mux.set_reader(fd, on_read)
        mux.set_writer(fd, on_write)
        await wait(writable.wait())
        assert mux.callbacks[fd] == [on_read, None]
        b.send(b"three")
        await wait(readable.wait())
        assert reads == [b"one", b"three"]
        mux.set_reader(fd, None)
        assert mux.callbacks == {}
        a.close()
        b.close()
    run(main())


# -- flow control and half-closed connections --------------------------------------------

def test_writing_from_resume_writing_keeps_the_output_flowing():
    """The asyncio flow-control idiom: a producer writes its next chunk from
    resume_writing(). Every chunk must reach the client."""
    chunk, chunks = b"z" * (1024 * 1024), 3

    class Producer(Recorder):
        def connection_made(self, transport):
            super().connection_made(transport)
            self.stalled = asyncio.get_running_loop().create_future()
            # Small buffers, and resume only once the queue is empty: deterministic.
            transport.get_extra_info("socket").setsockopt(
                socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
            transport.set_write_buffer_limits(high=65536, low=0)
            self.left = chunks
            self._next()

        def _next(self):
            if self.left:
                self.left -= 1
                self.transport.write(chunk)

        def resume_writing(self):
            super().resume_writing()
            self._next()
            asyncio.get_running_loop().call_soon(self._check)

        def _check(self):
            """Bytes queued with no writer registered will never be sent."""
            queued = self.transport.get_write_buffer_size()
            pair = Multiplexer.of(asyncio.get_running_loop()).callbacks.get(self.fd)
            if queued and (pair is None or pair[1] is None) and not self.stalled.done():
                self.stalled.set_result(queued)

    async def main():
        factory = Factory(Producer)
        with serving(factory) as port:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
            sock.setblocking(False)
            loop = asyncio.get_running_loop()
            await wait(loop.sock_connect(sock, (HOST, port)))
            server = await factory.next()

            async def read_all():                   # no timeout: the wait below has it
                data = bytearray()
                while piece := await loop.sock_recv(sock, 1 << 20):
                    data += piece
                    if len(data) == len(chunk) * chunks:
                        break
                return bytes(data)

            reading = asyncio.ensure_future(read_all())
            await asyncio.wait({reading, server.stalled}, timeout=TIMEOUT,
                               return_when=asyncio.FIRST_COMPLETED)
            if not reading.done():
                reading.cancel()
                await asyncio.wait({reading})
            sock.close()
            server.transport.abort()
            assert not server.stalled.done(), \
                f"{server.stalled.result()} bytes queued, no writer registered"
            assert reading.done() and not reading.cancelled()
            assert reading.result() == chunk * chunks
    run(main())


class LateReply(Recorder):
    """Answers after the client has stopped sending, if eof_received says so."""

    keep_open = True

    def data_received(self, data):
        self.request = data

    def eof_received(self):
        if not self.keep_open:
            return None
        loop = asyncio.get_running_loop()
        loop.call_later(0.05, self._answer)
        return True

    def _answer(self):
        self.transport.write(b"answer to " + self.request)
        self.transport.close()


@pytest.mark.parametrize("keep_open", [True, False])
def test_eof_received_decides_whether_a_half_closed_connection_stays_open(keep_open):
    """A client that shuts down its sending side still gets the answer when the protocol's
    eof_received() returns true; otherwise the transport closes at once."""
    async def main():
        factory = Factory(type("Protocol", (LateReply,), {"keep_open": keep_open}))
        with serving(factory) as port:
            sock = await raw_client(port)
            await wait(asyncio.get_running_loop().sock_sendall(sock, b"question"))
            sock.shutdown(socket.SHUT_WR)
            protocol = await factory.next()
            received = bytearray()
            while chunk := await wait(asyncio.get_running_loop().sock_recv(sock, 65536)):
                received += chunk
            assert bytes(received) == (b"answer to question" if keep_open else b"")
            assert await wait(protocol.lost) is None
            assert protocol.lost_calls == 1
            sock.close()
    run(main())


class Refusal(Recorder):
    """Answers once, ends its output, and keeps reading (as a server that drains a
    rejected client's input): what it reads afterwards is recorded."""

    answer = b"no"

    def data_received(self, data):
        if self.transport.can_write_eof() and not hasattr(self, "after"):
            self.after = bytearray()
            self.transport.write(self.answer)
            self.transport.write_eof()
        else:
            self.after += data


@pytest.mark.parametrize("answer", [b"no", b"n" * BIG], ids=["sent at once", "queued first"])
def test_write_eof_ends_the_output_after_what_is_queued_and_reading_goes_on(answer):
    """The peer reads the whole answer, then EOF, with the connection still open; what
    it sends after is still read; write() after write_eof() is refused."""
    async def main():
        factory = Factory(type("Protocol", (Refusal,), {"answer": answer}))
        with serving(factory) as port:
            sock = await raw_client(port)
            loop = asyncio.get_running_loop()
            await wait(loop.sock_sendall(sock, b"request"))
            protocol = await factory.next()
            received = bytearray()
            while chunk := await wait(loop.sock_recv(sock, 1 << 20)):
                received += chunk
            assert bytes(received) == answer
            await wait(loop.sock_sendall(sock, b"more"))
            for _ in range(100):
                if protocol.after == b"more":
                    break
                await asyncio.sleep(0.01)
            assert protocol.after == b"more" and not protocol.lost.done()
            with pytest.raises(RuntimeError):
                protocol.transport.write(b"late")
            protocol.transport.close()
            assert await wait(protocol.lost) is None
            sock.close()
    run(main())


def test_finished_loops_do_not_keep_their_multiplexer():
    """The table of multiplexers by loop holds them weakly: a finished loop and its
    epoll set go away."""
    import gc

    async def one_connection():
        with serving(Factory(Echo)) as port:
            sock = await raw_client(port)
            sock.close()

    for _ in range(20):
        run(one_connection())
    gc.collect()
    assert len(Multiplexer._of_loop) <= 1


@pytest.mark.skipif(not hasattr(select, "epoll"), reason="the epoll Multiplexer")
def test_a_socket_closed_behind_the_multiplexers_back_does_not_break_its_number():
    """A socket closed without being dropped from the Multiplexer leaves a stale entry
    (epoll itself forgets closed sockets); a new socket given the same number must
    still be watched, whichever call the table suggests."""
    async def main():
        mux = Multiplexer.of(asyncio.get_running_loop())
        old, old_peer = socket.socketpair()
        fd = old.fileno()
        mux.set_reader(fd, lambda: None)
        old.close()                                       # no set_reader(fd, None)
        new, new_peer = socket.socketpair()
        if new.fileno() != fd:
            os.dup2(new.fileno(), fd)                     # take the stale number
            new.close()
            new = socket.socket(fileno=fd)
        new.setblocking(False)
        readable = asyncio.Event()

        def on_read():
            new.recv(100)
            readable.set()

        mux.set_writer(fd, lambda: mux.set_writer(fd, None))   # a modify of the stale entry
        mux.set_reader(fd, on_read)
        new_peer.send(b"ping")
        await wait(readable.wait())
        mux.set_reader(fd, None)
        await settle()
        assert fd not in mux.callbacks
        for sock in (new, new_peer, old_peer):
            sock.close()
    run(main())


def test_on_the_servers_loop_asyncio_and_our_sockets_share_the_multiplexer(each_loop):
    """On new_event_loop's loop the Multiplexer is the selector: asyncio's own readers
    (here its sock_* calls of an echo client, and an add_reader) are served beside our
    sockets from the one epoll set, each by its owner; and a number left behind by a
    socket of ours closed behind our back goes to asyncio's reader when reused."""
    if loop_factory is not new_event_loop:
        pytest.skip("the Multiplexer is the selector only on new_event_loop's loop")

    async def main():
        loop = asyncio.get_running_loop()
        mux = Multiplexer.of(loop)
        with serving(Factory(Echo)) as port:
            client = await raw_client(port)              # asyncio's sock_connect
            await loop.sock_sendall(client, b"hello")
            assert await recv_exactly(client, 5) == b"hello"
            client.close()

        ours, ours_peer = socket.socketpair()
        fd = ours.fileno()
        mux.set_reader(fd, lambda: pytest.fail("a closed socket's callback ran"))
        ours.close()                                      # no set_reader(fd, None)
        mine, peer = socket.socketpair()
        if mine.fileno() != fd:
            os.dup2(mine.fileno(), fd)
            mine.close()
            mine = socket.socket(fileno=fd)
        mine.setblocking(False)
        readable = asyncio.Event()
        loop.add_reader(fd, readable.set)
        assert mux.get_key(fd).fd == fd and fd not in mux.callbacks
        peer.send(b"ping")
        await wait(readable.wait())
        loop.remove_reader(fd)
        assert fd not in mux.get_map()
        for sock in (mine, peer, ours_peer):
            sock.close()
    run(main())
