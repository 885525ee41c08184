"""TlsTransport over real sockets: echo to many clients, large writes, what is written
before the handshake, the peer's close_notify, and clients that are not TLS or stop
halfway, which are closed without disturbing the others."""

import asyncio
import logging
import socket
import ssl

import pytest

from compat_tests.servers import make_certificates
from fromscratch.net.transport import open_listeners

from .test_transport import Echo, Factory, HOST, run, wait


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    directory = tmp_path_factory.mktemp("certs")
    make_certificates(directory)
    return directory


def server_context(certs) -> ssl.SSLContext:
    """A server's context that asks its clients for a certificate the CA signed."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(certs / "server.crt"), str(certs / "server.key"))
    context.load_verify_locations(str(certs / "ca.crt"))
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def client_context(certs, with_certificate: bool = True) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(certs / "ca.crt"))
    if with_certificate:
        context.load_cert_chain(str(certs / "client.crt"), str(certs / "client.key"))
    return context


# -- the transport -------------------------------------------------------------------------

def serving_tls(factory, context: ssl.SSLContext):
    listeners = open_listeners(asyncio.get_running_loop(), HOST, 0, factory,
                               tls=lambda: context)
    return listeners, listeners[0].sock.getsockname()[1]


def test_echo_over_tls_to_many_clients_with_large_writes(certs):
    async def main():
        factory = Factory(Echo)
        listeners, port = serving_tls(factory, server_context(certs))

        async def one_client(number: int) -> None:
            reader, writer = await wait(asyncio.open_connection(
                HOST, port, ssl=client_context(certs), server_hostname="localhost"))
            message = (b"%d:" % number) * (1000 if number % 10 else 400_000)   # some MBs
            writer.write(message)
            assert await wait(reader.readexactly(len(message))) == message
            writer.close()
            await writer.wait_closed()

        await wait(asyncio.gather(*(one_client(n) for n in range(50))))
        for listener in listeners:
            listener.close()
    run(main())


class Greeter(Echo):
    """Writes as soon as it is connected, before the handshake is done; notes the EOF."""

    def connection_made(self, transport):
        super().connection_made(transport)
        self.eof = False
        transport.write(b"hello\r\n")

    def eof_received(self):
        self.eof = True
        return False                  # the transport then closes


def test_writes_before_the_handshake_wait_for_it_and_a_peer_closing_is_an_eof(certs):
    async def main():
        factory = Factory(Greeter)
        listeners, port = serving_tls(factory, server_context(certs))
        reader, writer = await wait(asyncio.open_connection(
            HOST, port, ssl=client_context(certs), server_hostname="localhost"))
        assert await wait(reader.readline()) == b"hello\r\n"
        protocol = await factory.next()
        assert protocol.transport.get_extra_info("ssl_object").version() in ("TLSv1.2",
                                                                           "TLSv1.3")
        writer.write(b"ping")
        assert await wait(reader.readexactly(4)) == b"ping"
        writer.close()                                 # close_notify, then the socket
        assert await wait(protocol.lost) is None
        assert protocol.eof
        # A peer gone without close_notify is an EOF too.
        _reader, writer = await wait(asyncio.open_connection(
            HOST, port, ssl=client_context(certs), server_hostname="localhost"))
        protocol = await factory.next()
        writer.transport.abort()
        assert await wait(protocol.lost) is None
        assert protocol.eof
        for listener in listeners:
            listener.close()
    run(main())


@pytest.mark.parametrize("first_bytes", [
    b"PING\r\n",                                          # plain text on the TLS port
    b"\x16\x03\x01\x00\x40" + b"\x01" * 20,               # half a handshake record...
    b"\x16\x03\x01\xff\xff" + b"\x00" * 300,              # ...a record that is no ClientHello
    bytes(range(256)) * 4,                                # noise
])
def test_clients_that_do_not_speak_tls_are_closed_and_others_carry_on(certs, first_bytes,
                                                                      caplog):
    async def main():
        factory = Factory(Echo)
        listeners, port = serving_tls(factory, server_context(certs))
        reader, writer = await wait(asyncio.open_connection(
            HOST, port, ssl=client_context(certs), server_hostname="localhost"))
        good = await factory.next()
        loop = asyncio.get_running_loop()
        bad_socket = socket.socket()
        bad_socket.setblocking(False)
        await wait(loop.sock_connect(bad_socket, (HOST, port)))
        await wait(loop.sock_sendall(bad_socket, first_bytes))
        if first_bytes.startswith(b"\x16\x03\x01\x00\x40"):
            bad_socket.shutdown(socket.SHUT_WR)           # and stops halfway
        bad = await factory.next()
        await wait(bad.lost)                              # closed by the server
        while await wait(loop.sock_recv(bad_socket, 4096)):
            pass                                          # an alert maybe, then EOF
        bad_socket.close()
        writer.write(b"still here")
        assert await wait(reader.readexactly(10)) == b"still here"
        assert not good.lost.done()
        writer.close()
        for listener in listeners:
            listener.close()
    with caplog.at_level(logging.DEBUG, logger="fromscratch"):
        run(main())
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


def test_a_client_without_the_certificate_asked_for_is_refused(certs):
    async def main():
        factory = Factory(Echo)
        listeners, port = serving_tls(factory, server_context(certs))
        with pytest.raises((ssl.SSLError, ConnectionError, asyncio.IncompleteReadError)):
            reader, writer = await wait(asyncio.open_connection(
                HOST, port, ssl=client_context(certs, with_certificate=False),
                server_hostname="localhost"))
            writer.write(b"x")                # TLS 1.3: the refusal comes after
            await wait(reader.readexactly(1))
        refused = await factory.next()
        assert await wait(refused.lost) is None
        for listener in listeners:
            listener.close()
    run(main())
