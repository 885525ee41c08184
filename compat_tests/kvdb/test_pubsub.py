"""Pub/sub through redis-py's PubSub, in RESP2 and RESP3: on the key-value server, on the
standalone pub/sub server (`fromscratch pubsub`), and on real Redis."""

import socket
import threading
import time

import pytest
import redis

from .conftest import connect, raw

SERVERS = {"fromscratch": "kvdb_server", "fromscratch-pubsub": "pubsub_server",
           "redis": "redis_server"}


@pytest.fixture(params=list(SERVERS))
def server(request):
    return request.getfixturevalue(SERVERS[request.param])


def next_message(pubsub, timeout: float = 2.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.1)
        if message is not None:
            return message
    raise AssertionError("no message arrived")


def test_subscribe_publish_get_message(r, server, protocol):
    pubsub = connect(server, protocol).pubsub()
    pubsub.subscribe("news", "sport")
    assert next_message(pubsub) == {"type": "subscribe", "pattern": None, "channel": b"news", "data": 1}
    assert next_message(pubsub)["data"] == 2
    assert r.publish("news", "hello") == 1
    assert r.publish("nobody", "x") == 0
    assert next_message(pubsub) == {"type": "message", "pattern": None, "channel": b"news", "data": b"hello"}
    pubsub.unsubscribe("news")
    assert next_message(pubsub)["type"] == "unsubscribe"
    assert r.publish("news", "again") == 0
    pubsub.close()


def test_patterns(r, server, protocol):
    pubsub = connect(server, protocol).pubsub()
    pubsub.psubscribe("user:*", "h?llo")
    next_message(pubsub)
    next_message(pubsub)
    assert r.publish("user:42", "joined") == 1
    assert r.publish("hello", "x") == 1
    first = next_message(pubsub)
    assert first == {"type": "pmessage", "pattern": b"user:*", "channel": b"user:42", "data": b"joined"}
    assert next_message(pubsub)["pattern"] == b"h?llo"
    pubsub.subscribe("user:42")
    next_message(pubsub)
    assert r.publish("user:42", "twice") == 2                 # channel and pattern both
    pubsub.close()


def test_messages_arrive_in_publish_order(r, server, protocol):
    pubsub = connect(server, protocol).pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe("seq")
    next_message_or_none = pubsub.get_message(timeout=0.5)
    assert next_message_or_none is None
    with r.pipeline(transaction=False) as pipe:
        for i in range(1000):
            pipe.publish("seq", str(i))
        assert pipe.execute() == [1] * 1000
    got = [int(next_message(pubsub)["data"]) for _ in range(1000)]
    assert got == list(range(1000))
    pubsub.close()


def test_listen_and_run_in_thread(r, server, protocol):
    received = []
    done = threading.Event()

    def handler(message):
        received.append(message["data"])
        if message["data"] == b"stop":
            done.set()

    pubsub = connect(server, protocol).pubsub()
    pubsub.subscribe(events=handler)
    worker = pubsub.run_in_thread(sleep_time=0.01)
    time.sleep(0.2)
    for word in ("a", "b", "stop"):
        r.publish("events", word)
    assert done.wait(5)
    worker.stop()
    worker.join(5)
    assert received == [b"a", b"b", b"stop"]


def test_sharded_pubsub(r, server, protocol):
    pubsub = connect(server, protocol).pubsub()
    pubsub.ssubscribe("orders")
    assert next_message(pubsub)["type"] == "ssubscribe"
    assert r.spublish("orders", "o1") == 1
    assert r.publish("orders", "not for shard subscribers") == 0
    message = next_message(pubsub)
    assert message["type"] == "smessage" and message["data"] == b"o1"
    assert r.pubsub_shardchannels() == [b"orders"]
    assert r.pubsub_shardnumsub("orders") == [(b"orders", 1)]
    pubsub.close()


def test_pubsub_introspection(r, server, protocol):
    pubsub = connect(server, protocol).pubsub()
    pubsub.subscribe("a", "b")
    pubsub.psubscribe("p*")
    for _ in range(3):
        next_message(pubsub)
    assert sorted(r.pubsub_channels()) == [b"a", b"b"]
    assert r.pubsub_channels("a*") == [b"a"]
    assert r.pubsub_numsub("a", "zzz") == [(b"a", 1), (b"zzz", 0)]
    assert r.pubsub_numpat() == 1
    pubsub.close()
    time.sleep(0.1)
    assert r.pubsub_channels() == []


def test_resp2_subscribed_context_rules(server):
    data = raw(server, b"SUBSCRIBE a\r\nEXISTS x\r\nPING\r\nUNSUBSCRIBE\r\nEXISTS x\r\n",
               read_until=b":0\r\n:0\r\n")
    assert b"-ERR Can't execute 'exists': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / " \
           b"QUIT / RESET are allowed in this context\r\n" in data
    assert b"*2\r\n$4\r\npong\r\n$0\r\n\r\n" in data
    assert data.endswith(b":0\r\n:0\r\n")                  # allowed again once out


def version_of(server) -> tuple:
    client = connect(server)
    try:
        return tuple(int(part) for part in client.info("server")["redis_version"].split("."))
    finally:
        client.close()


def message(channel: bytes, text: bytes) -> bytes:
    return b">3\r\n$7\r\nmessage\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (
        len(channel), channel, len(text), text)


def test_resp3_client_mixes_commands_and_pushes(server):
    data = raw(server, b"HELLO 3\r\nSUBSCRIBE me\r\nEXISTS k\r\nPUBLISH me hi\r\nPING\r\n",
               read_until=b"+PONG\r\n")
    if version_of(server) >= (7, 2):                # a message to itself after the reply
        assert data.endswith(b":0\r\n:1\r\n" + message(b"me", b"hi") + b"+PONG\r\n")
    else:
        assert data.endswith(b":0\r\n" + message(b"me", b"hi") + b":1\r\n+PONG\r\n")


@pytest.mark.parametrize("request_, reply", [
    (b"MULTI\r\nPING abc\r\nPUBLISH me bar\r\nPUBLISH me vaz\r\nPING def\r\nEXEC\r\n",
     b"*4\r\n$3\r\nabc\r\n:1\r\n:1\r\n$3\r\ndef\r\n"),
    (b"EVAL \"redis.call('publish', 'me', 'bar') redis.call('publish', 'me', 'vaz') "
     b"return 'bla'\" 0\r\n", b"$3\r\nbla\r\n"),
], ids=["multi", "script"])
def test_messages_to_self_follow_the_reply_in_7_2(server, request_, reply):
    """As Redis 7.2's own tests have it (Redis 7.0 wrote each message at once)."""
    if version_of(server) < (7, 2):
        pytest.skip("the reference is older than 7.2")
    if request_.startswith(b"EVAL") and server.kind == "fromscratch-pubsub":
        pytest.skip("the pub/sub server runs no scripts")
    data = raw(server, b"HELLO 3\r\nSUBSCRIBE me\r\n" + request_,
               read_until=message(b"me", b"vaz"))
    assert data.endswith(reply + message(b"me", b"bar") + message(b"me", b"vaz"))


def test_unsubscribing_inside_multi_answers_within_exec(server):
    data = raw(server, b"HELLO 3\r\nSUBSCRIBE me bar baz\r\nMULTI\r\nPING abc\r\n"
                       b"UNSUBSCRIBE bar\r\nUNSUBSCRIBE baz\r\nPING def\r\nEXEC\r\n",
               read_until=b"$3\r\ndef\r\n")
    assert data.endswith(b"*4\r\n$3\r\nabc\r\n"
                         b">3\r\n$11\r\nunsubscribe\r\n$3\r\nbar\r\n:2\r\n"
                         b">3\r\n$11\r\nunsubscribe\r\n$3\r\nbaz\r\n:1\r\n$3\r\ndef\r\n")


def test_slow_subscriber_is_disconnected_and_others_carry_on(r, server):
    r.config_set("client-output-buffer-limit", "pubsub 256kb 64kb 1")
    try:
        lazy = socket.create_connection((server.host, server.port))
        lazy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        lazy.sendall(b"SUBSCRIBE firehose\r\n")             # and never reads again
        attentive = connect(server, 2).pubsub(ignore_subscribe_messages=True)
        attentive.subscribe("firehose")
        received = []

        def consume():
            deadline = time.monotonic() + 20
            while len(received) < 1000 and time.monotonic() < deadline:
                message = attentive.get_message(timeout=0.5)
                if message is not None:
                    received.append(message)

        consumer = threading.Thread(target=consume)
        time.sleep(0.2)
        consumer.start()
        payload = "x" * 10_000
        for _ in range(1000):            # 10 MB: more than socket buffers hold, over the limit
            r.publish("firehose", payload)
        consumer.join(30)
        assert len(received) == 1000                          # the reader got everything
        subscribed = [c for c in r.client_list() if c.get("sub") == "1"]
        assert len(subscribed) == 1                           # the lazy one was cut off
        assert r.ping()
        attentive.close()
        lazy.close()
    finally:
        r.config_set("client-output-buffer-limit", "pubsub 32mb 8mb 60")


def test_subscribe_inside_multi(server):
    data = raw(server, b"MULTI\r\nSUBSCRIBE x\r\nEXEC\r\n", read_until=b":1\r\n")
    assert data == b"+OK\r\n+QUEUED\r\n*1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nx\r\n:1\r\n"


@pytest.mark.parametrize("silence", [b"CLIENT REPLY OFF", b"CLIENT REPLY SKIP"])
def test_confirmations_and_messages_reach_a_silenced_client(server, protocol, silence):
    # CLIENT REPLY OFF and SKIP silence replies, not pushes: a subscriber still sees its
    # (un)subscriptions confirmed and its messages, in either protocol.
    kind = b">" if protocol == 3 else b"*"
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        if protocol == 3:
            sock.sendall(b"HELLO 3\r\n")
            hello = b""
            while not hello.endswith(b"modules\r\n*0\r\n"):
                hello += sock.recv(65536)
        sock.sendall(silence + b"\r\nSUBSCRIBE ch\r\nPSUBSCRIBE c*\r\n")
        assert_receives(sock, kind + b"3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"
                        + kind + b"3\r\n$10\r\npsubscribe\r\n$2\r\nc*\r\n:2\r\n")
        publisher = connect(server, 2)
        assert publisher.publish("ch", "hi") == 2
        publisher.close()
        assert_receives(sock, kind + b"3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n"
                        + kind + b"4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$2\r\nhi\r\n")
        sock.sendall(b"UNSUBSCRIBE ch\r\n")
        assert_receives(sock, kind + b"3\r\n$11\r\nunsubscribe\r\n$2\r\nch\r\n:1\r\n")


def test_a_skip_covers_one_subscribe_however_many_confirmations(server):
    # SKIP lapses with the SUBSCRIBE it covered, whose confirmations go out anyway.
    data = raw(server, b"CLIENT REPLY SKIP\r\nSUBSCRIBE a b\r\nPING\r\n",
               read_until=b"pong\r\n$0\r\n\r\n")
    assert data == (b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"
                    b"*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n"
                    b"*2\r\n$4\r\npong\r\n$0\r\n\r\n")


def assert_receives(sock, expected: bytes) -> None:
    """The next bytes on `sock` are `expected`, and nothing else came with them."""
    data = b""
    while len(data) < len(expected):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    assert data == expected
