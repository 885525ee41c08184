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

TARGETS = ["fromscratch", "redis"]


@pytest.fixture(scope="session")
def kvdb_server(tmp_path_factory):
    server = start_kvdb(str(tmp_path_factory.mktemp("kvdb")))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = start_redis(str(tmp_path_factory.mktemp("redis")))
    yield server
    server.stop()


@pytest.fixture(params=TARGETS)
def server(request):
    return request.getfixturevalue("kvdb_server" if request.param == "fromscratch" else "redis_server")


def connect(server, protocol: int = 2, **options) -> redis.Redis:
    return redis.Redis(host=server.host, port=server.port, protocol=protocol, **options)


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def protocol(request):
    return request.param


@pytest.fixture
def r(server, protocol):
    client = connect(server, protocol)
    client.flushall()
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


class Wire:
    """A bare connection that returns each reply's exact bytes: for the tests that must
    tell apart shapes redis-py maps to the same value (`$-1` and `*-1` are both None)."""

    def __init__(self, server, protocol: int):
        self.sock = socket.create_connection((server.host, server.port), timeout=10)
        self.file = self.sock.makefile("rb")
        if protocol == 3:
            self.call("HELLO", "3")

    def call(self, *args) -> bytes:
        words = [arg if isinstance(arg, bytes) else str(arg).encode() for arg in args]
        self.sock.sendall(b"*%d\r\n" % len(words)
                          + b"".join(b"$%d\r\n%s\r\n" % (len(word), word) for word in words))
        return self._reply()

    def _reply(self) -> bytes:
        line = self.file.readline()
        kind, size = line[:1], line[1:-2]
        if kind in b"$=!" and int(size) >= 0:
            return line + self.file.read(int(size) + 2)
        if kind in b"*~>%|" and int(size) > 0:
            items = int(size) * (2 if kind in b"%|" else 1)
            return line + b"".join(self._reply() for _ in range(items))
        return line

    def close(self) -> None:
        self.file.close()
        self.sock.close()


@pytest.fixture
def wire(server, protocol, r):
    """Raw replies from the server under test (flushed by `r`), in the test's protocol."""
    connection = Wire(server, protocol)
    yield connection
    connection.close()
