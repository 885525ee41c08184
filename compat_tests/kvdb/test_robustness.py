"""Bad input over real sockets: the offender gets Redis's error, everyone else carries on."""

import random
import socket
import threading
import time

import pytest
import redis

from .conftest import connect


def closed_after(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    data = b""
    sock.settimeout(5)
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


@pytest.mark.parametrize("payload, error", [
    (b"*1\r\n+PING\r\n", b"-ERR Protocol error: expected '$', got '+'\r\n"),
    (b"*x\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
    (b"*1\r\n$-5\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    (b"*1\r\n$99999999999\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    (b"SET k \"open\r\n", b"-ERR Protocol error: unbalanced quotes in request\r\n"),
])
def test_protocol_errors_close_the_connection(server, payload, error):
    with socket.create_connection((server.host, server.port)) as sock:
        sock.sendall(b"PING\r\n" + payload + b"PING\r\n")
        assert closed_after(sock) == b"+PONG\r\n" + error


def test_huge_inline_and_count_strings(server):
    with socket.create_connection((server.host, server.port)) as sock:
        sock.sendall(b"x" * (70 * 1024))
        assert closed_after(sock) == b"-ERR Protocol error: too big inline request\r\n"


def test_lying_lengths_do_not_allocate(server, r):
    # A client announcing a 2-billion-argument command and 500 MB strings, then going
    # silent, must not make the server allocate any of it.
    sockets = []
    for _ in range(20):
        sock = socket.create_connection((server.host, server.port))
        sock.sendall(b"*2147483647\r\n$536870000\r\nxx")
        sockets.append(sock)
    time.sleep(0.2)
    assert r.ping()
    info = r.info("memory")
    assert info["used_memory_rss"] < 1024**3
    for sock in sockets:
        sock.close()


def test_garbage_from_many_clients_never_disturbs_others(r, server, protocol):
    good = connect(server, protocol)
    good.set("stable", "yes")
    rng = random.Random(7)
    stop = threading.Event()

    def vandal():
        while not stop.is_set():
            try:
                with socket.create_connection((server.host, server.port), timeout=2) as sock:
                    sock.sendall(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 3000))))
                    sock.settimeout(0.05)
                    try:
                        sock.recv(4096)
                    except OSError:
                        pass
            except OSError:
                pass

    vandals = [threading.Thread(target=vandal) for _ in range(8)]
    for thread in vandals:
        thread.start()
    try:
        for i in range(300):
            assert good.incr("counter") == i + 1
            assert good.get("stable") == b"yes"
    finally:
        stop.set()
        for thread in vandals:
            thread.join()
    good.close()


def test_half_sent_command_does_not_block_others(server, r):
    with socket.create_connection((server.host, server.port)) as slow:
        slow.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\nabc")      # and then nothing
        assert r.set("other", "fine") and r.get("other") == b"fine"
        slow.sendall(b"defghij\r\n")
        slow.settimeout(5)
        assert slow.recv(100) == b"+OK\r\n"
    assert r.get("k") == b"abcdefghij"


def wait_for_clients(control, count: int) -> None:
    deadline = time.time() + 5
    while control.info("clients")["connected_clients"] != count:
        assert time.time() < deadline, control.client_list()
        time.sleep(0.05)


def test_maxclients_and_query_buffer_limit(start):
    server = start("--maxclients", "5", "--client-query-buffer-limit", "1mb")
    control = redis.Redis(host=server.host, port=server.port)
    wait_for_clients(control, 1)                     # the start-up probe may linger
    keep = [socket.create_connection((server.host, server.port)) for _ in range(4)]
    wait_for_clients(control, 5)
    with socket.create_connection((server.host, server.port)) as extra:
        assert closed_after(extra) == b"-ERR max number of clients reached\r\n"
    assert control.info("stats")["rejected_connections"] >= 1
    for sock in keep:
        sock.close()
    time.sleep(0.2)
    with socket.create_connection((server.host, server.port)) as greedy:
        greedy.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4000000\r\n")
        try:
            for _ in range(20):
                greedy.sendall(b"x" * 100_000)
        except OSError:
            pass                                    # closed on us: that is the point
        greedy.settimeout(5)
        try:
            while greedy.recv(65536):
                pass
        except OSError:
            pass
    assert control.set("after", "ok")                # the server is fine
    wait_for_clients(control, 1)                     # Redis frees clients lazily
    control.close()


def test_a_client_that_never_reads_is_cut_off_at_its_output_limit(start):
    server = start("--client-output-buffer-limit", "normal 1mb 256kb 1")
    control = redis.Redis(host=server.host, port=server.port)
    control.set("big", "x" * 100_000)
    connections = control.info("stats")["total_connections_received"]
    greedy = socket.create_connection((server.host, server.port))
    greedy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    greedy.sendall(b"GET big\r\n" * 2000)              # 200 MB of replies, never read
    deadline = time.time() + 10
    # First the server takes the connection (it may serve the control client
    # before), then it must drop it.
    while (time.time() < deadline
           and control.info("stats")["total_connections_received"] == connections):
        time.sleep(0.05)
    while time.time() < deadline and len(control.client_list()) > 1:
        time.sleep(0.1)
    assert len(control.client_list()) == 1             # only the control client left
    assert control.get("big") == b"x" * 100_000
    greedy.close()


def test_idle_clients_are_disconnected_after_timeout(start):
    server = start("--timeout", "1")
    idle = socket.create_connection((server.host, server.port))
    busy = redis.Redis(host=server.host, port=server.port)
    deadline = time.time() + 4
    while time.time() < deadline:
        busy.ping()                                   # this one keeps talking
        time.sleep(0.2)
    assert closed_after(idle) == b""                   # closed by the server, silently
    assert busy.ping()
    idle.close()


def test_a_reply_over_the_hard_output_limit_is_never_sent(start):
    server = start("--client-output-buffer-limit", "normal 100000 0 0")
    control = redis.Redis(host=server.host, port=server.port)
    control.rpush("big-list", *(["x" * 1000] * 150))      # a 150 KB reply
    reader = socket.create_connection((server.host, server.port))
    reader.sendall(b"LRANGE big-list 0 -1\r\n")
    reader.settimeout(5)
    assert reader.recv(65536) == b""                       # closed, nothing sent
    reader.close()
    assert len(control.client_list()) == 1


@pytest.mark.parametrize("setup, command", [
    (("HSET", "hash", "a", "b"), ("HRANDFIELD", "hash", "-999999999")),
    (("SADD", "set", "a"), ("SRANDMEMBER", "set", "-999999999")),
    (("ZADD", "zset", "1", "a"), ("ZRANDMEMBER", "zset", "-999999999")),
])
def test_a_huge_count_of_random_picks_stops_at_the_output_limit(start, setup, command):
    # Redis's obuf-limits.tcl: a billion picks with repeats are drawn until the client
    # is over its hard output limit, which closes it; the server goes on.
    server = start("--client-output-buffer-limit", "normal 1000000 0 0")
    control = redis.Redis(host=server.host, port=server.port)
    control.execute_command(*setup)
    greedy = socket.create_connection((server.host, server.port), timeout=30)
    greedy.sendall(" ".join(command).encode() + b"\r\n")
    while greedy.recv(1 << 20):                 # (Redis may send part of it first)
        pass
    greedy.close()
    assert len(control.client_list()) == 1
    assert len(control.execute_command(*command[:2], "-1000")) == 1000
