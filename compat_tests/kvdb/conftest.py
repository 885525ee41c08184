"""Fixtures for the key-value compat tests.

`r` is a redis-py client connected to one server under test; every test runs four
times: against our server and the reference redis-server, each in RESP2 and RESP3.
The servers are shared by all tests of a session and flushed before each test.
"""

from __future__ import annotations

import socket

import pytest
import redis

from compat_tests.servers import start_kvdb, start_redis
from fromscratch.resp import INCOMPLETE, ReplyReader, encode_command

TARGETS = ["fromscratch", "redis"]


@pytest.fixture(scope="session")
def kvdb_server(tmp_path_factory):
    server = start_kvdb(str(tmp_path_factory.mktemp("kvdb")), "--enable-debug-command", "yes")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pubsub_server(tmp_path_factory):
    server = start_kvdb(str(tmp_path_factory.mktemp("pubsub")), command="pubsub")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = start_redis(str(tmp_path_factory.mktemp("redis")), "--enable-debug-command", "yes")
    yield server
    server.stop()


@pytest.fixture(params=TARGETS)
def server(request):
    return request.getfixturevalue("kvdb_server" if request.param == "fromscratch" else "redis_server")


@pytest.fixture(params=TARGETS)
def start(request, tmp_path):
    """A function that starts a server of this test's kind (ours, or the reference
    redis-server) in tmp_path with the command-line options (and config file) it is
    given; every server started is stopped after the test."""
    servers = []

    def start_server(*options, config_file=None):
        launch = start_kvdb if request.param == "fromscratch" else start_redis
        server = launch(str(tmp_path), *options, config_file=config_file)
        servers.append(server)
        return server

    yield start_server
    for server in servers:
        server.stop()


def connect(server, protocol: int = 2, **options) -> redis.Redis:
    return redis.Redis(host=server.host, port=server.port, protocol=protocol, **options)


@pytest.fixture
def pair(kvdb_server, redis_server):
    """Clients of our server and of a real redis-server, both flushed before and after:
    for tests that do the same on both and compare."""
    ours, theirs = connect(kvdb_server), connect(redis_server)
    for client in (ours, theirs):
        client.flushall()
    yield ours, theirs
    for client in (ours, theirs):
        client.flushall()
        client.close()


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def protocol(request):
    return request.param


@pytest.fixture
def r(server, protocol):
    client = connect(server, protocol)
    client.flushall()
    client.config_set("maxmemory", 0)
    client.config_set("maxmemory-policy", "noeviction")
    yield client
    client.close()


@pytest.fixture
def other(server, protocol, r):
    """A second client of the same server, for what one client does while another waits."""
    client = connect(server, protocol)
    yield client
    client.close()


@pytest.fixture
def server_version(r) -> tuple:
    return tuple(int(part) for part in r.info("server")["redis_version"].split("."))


@pytest.fixture
def is_reference(server) -> bool:
    return server.kind == "redis"


def raw(server, payload: bytes, read_until: bytes = b"\r\n", timeout: float = 5.0) -> bytes:
    """Send bytes on a fresh socket and read until `read_until` appears (or EOF)."""
    with socket.create_connection((server.host, server.port), timeout=timeout) as sock:
        sock.sendall(payload)
        data = b""
        while read_until not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        return data


def call_raw(client, *args):
    """Run a command and return the reply as the server sent it, without redis-py's
    reply callbacks (which, for instance, parse every COMMAND reply as COMMAND INFO)."""
    conn = client.connection_pool.get_connection(args[0])
    try:
        conn.send_command(*args)
        return conn.read_response()
    finally:
        client.connection_pool.release(conn)


class Wire:
    """A bare RESP connection, for the exact shape of a reply. redis-py converts replies
    per command (RESP3 sets become lists, `$-1` and `*-1` both become None); here
    `wire(*args)` returns the reply as our ReplyReader reads it (set, float for a double,
    None for a null, ErrorReply for an error, returned not raised), and
    `wire.call(*args)` its exact bytes. `last` holds the bytes of the last reply."""

    def __init__(self, server, protocol: int):
        self.sock = socket.create_connection((server.host, server.port), timeout=10)
        self.reader = ReplyReader()
        self.last = b""
        if protocol == 3:
            self("HELLO", "3")

    def __call__(self, *args):
        self.sock.sendall(encode_command(args))
        self.last = b""
        return self.read()

    def read(self):
        """The next reply, from what was received already or from the socket."""
        while True:
            value = self.reader.get()
            if value is not INCOMPLETE:
                return value
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("server closed the connection")
            self.last += data
            self.reader.feed(data)

    def call(self, *args) -> bytes:
        self(*args)
        return self.last

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def wire(server, protocol, r):
    """Raw replies from the server under test (flushed by `r`), in the test's protocol."""
    connection = Wire(server, protocol)
    yield connection
    connection.close()

