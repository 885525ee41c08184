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


def client_fields(client: redis.Redis, name: str) -> dict:
    for entry in client.client_list():
        if entry["name"] == name:
            return entry
    return {}


def named_connection(client: redis.Redis, name: str) -> socket.socket:
    sock = connect(client)
    sock.sendall(b"CLIENT SETNAME %s\r\n" % name.encode())
    assert sock.recv(100) == b"+OK\r\n"
    return sock


def wait_until_closed(sock: socket.socket, seconds: float = 20) -> bool:
    """Whether the server closed `sock` within `seconds` (what it sent is dropped)."""
    sock.settimeout(seconds)
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        pass
    except TimeoutError:
        return False
    return True


def test_a_large_argument_is_counted_whole_once_its_length_is_read(client):
    # Redis sizes its query buffer for a bulk string of 32 KB or more as soon as it has
    # read the length: qbuf is what came of the string so far, argv-mem the arguments
    # before it, and tot-mem counts the whole string.
    sock = named_connection(client, "big")
    size = 220_200
    sock.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n" % size + b"v" * 1000)
    deadline = time.time() + 10
    while int(client_fields(client, "big")["qbuf"]) < 1000:
        assert time.time() < deadline
        time.sleep(0.01)
    fields = client_fields(client, "big")
    assert int(fields["qbuf"]) == 1000
    assert int(fields["argv-mem"]) == 4                   # SET and k
    assert int(fields["qbuf"]) + int(fields["qbuf-free"]) >= size + 2
    assert int(fields["tot-mem"]) > size
    sock.sendall(b"v" * (size - 1000) + b"\r\n")
    assert sock.recv(100) == b"+OK\r\n"
    assert client.strlen("k") == size
    assert int(client_fields(client, "big")["qbuf"]) == 0
    sock.close()


def test_a_client_starting_an_argument_over_maxmemory_clients_is_evicted(client):
    client.client_no_evict("on")
    client.config_set("maxmemory-clients", "3000000")
    sock = named_connection(client, "big")
    # The whole string is not needed: its length says what the buffer will hold.
    sock.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3000000\r\n" + b"v" * 1000)
    assert wait_until_closed(sock)
    assert client_fields(client, "big") == {}
    assert client.info("stats")["evicted_clients"] == 1
    assert client.ping()


def test_multi_mem_counts_the_queued_arguments(client):
    sock = named_connection(client, "queue")
    sock.sendall(b"MULTI\r\nSET a bbbbbbbbbb\r\nSET c dddddddddd\r\n")
    expected = b"+OK\r\n+QUEUED\r\n+QUEUED\r\n"
    received = b""
    while len(received) < len(expected):
        received += sock.recv(100)
    assert received == expected
    # Each: its arguments' bytes (3 + 1 + 10) and a pointer (8 bytes) per argument.
    assert int(client_fields(client, "queue")["multi-mem"]) == 2 * (14 + 3 * 8)
    sock.sendall(b"EXEC\r\n")
    sock.recv(100)
    assert int(client_fields(client, "queue")["multi-mem"]) == 0
    sock.close()


@pytest.mark.parametrize("command", [b"WATCH", b"SUBSCRIBE", b"PSUBSCRIBE"])
def test_a_client_s_own_tables_count_towards_client_eviction(client, command):
    # Redis's client-eviction.tcl: each watched key, channel or pattern adds a few
    # dozen bytes to what its client holds, until maxmemory-clients disconnects it.
    client.client_no_evict("on")
    client.config_set("maxmemory-clients", "200000")
    sock = named_connection(client, "tables")
    sock.settimeout(10)
    for batch in range(200):                                    # up to 200,000 names
        names = [b"%s-%d-%d" % (command, batch, number) for number in range(1000)]
        try:
            sock.sendall(b"*%d\r\n" % (len(names) + 1) + b"".join(
                b"$%d\r\n%s\r\n" % (len(name), name) for name in [command] + names))
            if command == b"WATCH":
                assert sock.recv(100) == b"+OK\r\n"
            elif not sock.recv(1 << 20):
                break
        except (ConnectionResetError, BrokenPipeError):
            break
        if not client_fields(client, "tables"):
            break
    assert batch < 199, "never evicted"
    assert client_fields(client, "tables") == {}
    assert client.info("stats")["evicted_clients"] == 1
    sock.close()
