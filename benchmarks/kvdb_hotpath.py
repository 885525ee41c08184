"""In-process cost of the kvdb request loop, without sockets: a fake transport receives
the replies. Prints microseconds per command for a few pipelines. Used to profile the
hot path (python benchmarks/kvdb_hotpath.py --profile)."""

from __future__ import annotations

import asyncio
import cProfile
import os
import pstats
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

from fromscratch.kvdb.config import Config  # noqa: E402
from fromscratch.kvdb.server import KvServer  # noqa: E402
from fromscratch.resp import encode_command  # noqa: E402


class NullTransport(asyncio.Transport):
    def __init__(self):
        super().__init__()
        self.sent = 0

    def write(self, data):
        self.sent += len(data)

    def get_extra_info(self, name, default=None):
        return {"peername": ("127.0.0.1", 1), "sockname": ("127.0.0.1", 2)}.get(name, default)

    def set_write_buffer_limits(self, high=None, low=None):
        pass

    def get_write_buffer_size(self):
        return 0

    def close(self):
        pass


class TurnLoop:
    """Stands in for the event loop: what the server defers to the end of the loop's
    turn (sending replies) waits until `end_turn()`."""

    def __init__(self):
        self.ready = []

    def call_soon(self, callback, *args):
        self.ready.append((callback, args))

    def add_reader(self, fd, callback):
        pass                    # no sockets here: the server's epoll set stays idle

    def end_turn(self):
        ready, self.ready = self.ready, []
        for callback, args in ready:
            callback(*args)


def feeder(client):
    """A function that hands `data` to the client as one read, then ends the turn."""
    receive, end_turn = client.data_received, client.kv.loop.end_turn

    def feed(data):
        receive(data)
        end_turn()
    return feed


def make_client():
    config = Config()
    config.set("save", "")
    server = KvServer(config)
    server.loop = server.tcp.loop = TurnLoop()
    client = server.tcp.connection_class(server.tcp)
    client.connection_made(NullTransport())
    return client


CASES = {
    "SET": [b"SET", b"key:000000000042", b"xxx"],
    "GET": [b"GET", b"key:000000000042"],
    "INCR": [b"INCR", b"counter:__rand_int__"],
    "LPUSH": [b"LPUSH", b"mylist", b"xxx"],
    "LRANGE_100": [b"LRANGE", b"mylist", b"0", b"99"],
    "LPOP": [b"LPOP", b"mylist"],
}


def measure(client, argv, pipeline: int, rounds: int) -> float:
    payload = encode_command(argv) * pipeline
    feed = feeder(client)
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(rounds):
            feed(payload)
        best = min(best, (time.perf_counter() - started) / (rounds * pipeline))
    return best * 1e6


def main():
    client = make_client()
    if "--profile" in sys.argv:
        payload = encode_command(CASES["GET"]) * 16 + encode_command(CASES["SET"]) * 16
        feed = feeder(client)
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(20000):
            feed(payload)
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(15)
        return
    for name, argv in CASES.items():
        for pipeline in (1, 16):
            print(f"{name:5} pipeline {pipeline:2}: {measure(client, argv, pipeline, 20000 // pipeline):.2f} us/command")


if __name__ == "__main__":
    main()
