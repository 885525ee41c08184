"""client-output-buffer-limit for pub/sub clients, checked on a client whose socket
backlog the test controls. Deliveries are checked as a turn's output goes out
(Client.flush_now): the cheap estimate there must never let a client over a limit
through, and the soft limit's clock must restart once it is under."""

import asyncio

import pytest

from fromscratch.kvdb.config import Config
from fromscratch.kvdb.server import KvServer


class Backlog(asyncio.Transport):
    """Keeps whatever is written, as a socket that is not read from would, until the
    test says the other end reads."""

    def __init__(self):
        super().__init__()
        self.backlog = 0
        self.read_by_peer = False
        self.aborted = False

    def write(self, data):
        if not self.read_by_peer:
            self.backlog += len(data)

    def get_write_buffer_size(self):
        return self.backlog

    def get_extra_info(self, name, default=None):
        return {"peername": ("127.0.0.1", 1), "sockname": ("127.0.0.1", 2)}.get(name, default)

    def set_write_buffer_limits(self, high=None, low=None):
        pass

    def abort(self):
        self.aborted = True

    def close(self):
        pass


@pytest.fixture
def subscriber():
    config = Config()
    config.set("client-output-buffer-limit", "pubsub 1000 400 1")
    server = KvServer(config)
    server.loop = server.tcp.loop = asyncio.new_event_loop()
    client = server.tcp.connection_class(server.tcp)
    client.connection_made(Backlog())
    client.channels.add(b"news")        # a subscriber: the pub/sub limits are its own
    yield client
    server.loop.close()


def test_the_hard_limit_counts_what_the_socket_still_holds(subscriber):
    subscriber.deliver(b"x" * 600)
    subscriber.flush()                                  # 600 bytes stuck in the socket
    assert not subscriber.transport.aborted
    subscriber.deliver(b"x" * 500)                      # 1100 in all: over the hard limit
    subscriber.flush()
    assert subscriber.transport.aborted
    assert subscriber.transport.backlog == 600          # the over-limit output never went


def test_the_soft_limit_clock_restarts_once_under(subscriber, monkeypatch):
    clock = [100.0]
    monkeypatch.setattr("fromscratch.kvdb.client.time.monotonic", lambda: clock[0])
    subscriber.deliver(b"x" * 500)                      # over the soft limit from t=100
    subscriber.flush()
    assert subscriber.over_soft_limit_since == 100.0
    subscriber.transport.backlog = 0                    # the peer reads everything
    subscriber.transport.read_by_peer = True
    subscriber.deliver(b"x")
    subscriber.flush()                                  # under the soft limit again
    assert subscriber.over_soft_limit_since is None
    clock[0] = 105.0
    subscriber.transport.read_by_peer = False
    subscriber.deliver(b"x" * 500)                      # over again: a new clock, not 5 s
    subscriber.flush()
    assert not subscriber.transport.aborted
    clock[0] = 106.5
    subscriber.deliver(b"x")                            # over for 1.5 s: too long
    subscriber.flush()
    assert subscriber.transport.aborted
