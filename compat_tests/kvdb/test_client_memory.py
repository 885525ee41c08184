"""What clients hold in their buffers, as Redis counts it: a command half received and
replies not yet read count against maxmemory (keys are evicted for them), and with
maxmemory-clients the clients holding the most are disconnected instead. Each test
starts its own server: idle clients of a shared one would change the sums.

These are Redis's own cases (tests/unit/maxmemory.tcl, "eviction due to ..."), through
raw sockets that write and do not read.
"""

import socket
import threading
import time

import pytest
import redis

from compat_tests.servers import start_kvdb, start_redis

KEYS = 50                    # of 100 KB each: 5 MB of data
VALUE_SIZE = 100_000


@pytest.fixture(params=["fromscratch", "redis"])
def client(request, tmp_path):
    start = start_kvdb if request.param == "fromscratch" else start_redis
    server = start(str(tmp_path))
    client = redis.Redis(host=server.host, port=server.port)
    yield client
    client.close()
    server.stop()


def fill(client: redis.Redis, client_eviction: bool) -> None:
    """Redis's set-up: maxmemory 11mb, allkeys-lru, with client eviction at 3mb (the
    test's own client exempt) or without, and 5 MB of keys."""
    client.config_set("maxmemory", "11mb")
    client.config_set("maxmemory-policy", "allkeys-lru")
    client.config_set("maxmemory-clients", "3mb" if client_eviction else "0")
    if client_eviction:
        client.client_no_evict("on")
    for key in range(KEYS):
        client.setrange(key, VALUE_SIZE, "x")
    client.config_resetstat()


def evicted(client: redis.Redis, client_eviction: bool) -> bool:
    """Redis's check: clients evicted and no key, or keys evicted and no client."""
    stats = client.info("stats")
    if client_eviction:
        return stats["evicted_clients"] > 0 and stats["evicted_keys"] == 0 \
            and client.dbsize() == KEYS
    return stats["evicted_clients"] == 0 and stats["evicted_keys"] > 0 and client.dbsize() < KEYS


def connect(client: redis.Redis) -> socket.socket:
    options = client.connection_pool.connection_kwargs
    return socket.create_connection((options["host"], options["port"]))


def wait_for_eviction(client, client_eviction: bool, write_more) -> None:
    deadline = time.time() + 20
    while not evicted(client, client_eviction):
        assert time.time() < deadline, client.info("stats")
        write_more()


@pytest.mark.parametrize("client_eviction", [False, True], ids=["keys", "clients"])
def test_replies_not_read_count_against_maxmemory(client, client_eviction):
    fill(client, client_eviction)
    readers = [connect(client) for _ in range(20)]
    for sock in readers:
        sock.setblocking(False)

    def write_more():
        for sock in readers:
            try:
                sock.send(b"MGET 1\r\n")          # 100 KB back each time, never read
            except OSError:                         # evicted, or its buffer full
                pass
    wait_for_eviction(client, client_eviction, write_more)
    for sock in readers:
        sock.close()


@pytest.mark.parametrize("client_eviction", [False, True], ids=["keys", "clients"])
def test_commands_half_received_count_against_maxmemory(client, client_eviction):
    fill(client, client_eviction)
    writers = [connect(client) for _ in range(30)]
    for sock in writers:          # 249 of 250 arguments of 1000 bytes: 250 KB held each
        try:
            sock.sendall(b"*250\r\n" + (b"$1000\r\n" + b"x" * 1000 + b"\r\n") * 249)
        except OSError:                             # evicted already
            pass
    wait_for_eviction(client, client_eviction, lambda: time.sleep(0.05))
    for sock in writers:
        sock.close()


@pytest.mark.parametrize("client_eviction", [False, True], ids=["keys", "clients"])
def test_messages_to_subscribers_that_do_not_read_count_against_maxmemory(
        client, client_eviction):
    fill(client, client_eviction)
    subscribers = [connect(client) for _ in range(20)]
    for sock in subscribers:
        sock.sendall(b"SUBSCRIBE news\r\n")
    message = "x" * 100_000
    time.sleep(0.2)

    def publish():
        try:
            client.publish("news", message)
        except redis.ConnectionError:
            pass
    wait_for_eviction(client, client_eviction, publish)
    for sock in subscribers:
        sock.close()


def test_a_client_that_writes_everything_before_reading_is_served(client):
    # 20 MB of requests whose 20 MB of replies pile up meanwhile: the server keeps
    # reading (as Redis does), else both sides would wait on full socket buffers.
    value = b"v" * 10_000
    request = b"*2\r\n$4\r\nECHO\r\n$10000\r\n" + value + b"\r\n"
    reply = b"$10000\r\n" + value + b"\r\n"
    count = 2000
    sock = connect(client)
    sock.settimeout(60)
    sender = threading.Thread(target=lambda: sock.sendall(request * count))
    sender.start()
    sender.join(60)
    assert not sender.is_alive(), "the server stopped reading"
    expected, received = len(reply) * count, bytearray()
    while len(received) < expected:
        chunk = sock.recv(1 << 20)
        assert chunk
        received += chunk
    assert bytes(received) == reply * count
    sock.close()
