"""In-process cost of the set and sorted set commands redis-benchmark runs (SADD, SPOP,
ZADD, ZPOPMIN), without sockets, in microseconds per command (pipelines of 16).

Each runs twice: on one member over and over, as redis-benchmark sends them by
default, and on 100,000 random members, as with `redis-benchmark -r 100000`, where the
skip list's insert and delete do the work. Best of three runs, CPU time.
"""

from __future__ import annotations

import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))

from kvdb_hotpath import feeder, make_client  # noqa: E402
from fromscratch.resp import encode_command  # noqa: E402

N = 100_000


def cost(setup: list, commands: list) -> float:
    """Microseconds per command of `commands`, on a server that first ran `setup`."""
    best = float("inf")
    for _ in range(3):
        client = make_client()
        feed = feeder(client)
        for argv_batch in _batches(setup):
            feed(argv_batch)
        batches = list(_batches(commands))
        started = time.process_time()
        for batch in batches:
            feed(batch)
        best = min(best, (time.process_time() - started) / len(commands) * 1e6)
    return best


def _batches(commands: list, size: int = 16):
    for start in range(0, len(commands), size):
        yield b"".join(map(encode_command, commands[start:start + size]))


def main():
    rng = random.Random(1)
    numbers = [rng.randrange(N) for _ in range(N)]
    members = [b"element:%012d" % number for number in numbers]
    sadds = [[b"SADD", b"myset", member] for member in members]
    zadds = [[b"ZADD", b"myzset", b"%d" % number, member]
             for number, member in zip(numbers, members)]
    cases = [
        ("SADD one member", [], [[b"SADD", b"myset", b"element:__rand_int__"]] * N),
        ("SADD random members", [], sadds),
        ("SPOP from 63k members", sadds, [[b"SPOP", b"myset"]] * (N // 2)),
        ("ZADD one member", [], [[b"ZADD", b"myzset", b"0", b"element:__rand_int__"]] * N),
        ("ZADD random members", [], zadds),
        ("ZPOPMIN from 63k members", zadds, [[b"ZPOPMIN", b"myzset"]] * (N // 2)),
        ("ZPOPMAX from 63k members", zadds, [[b"ZPOPMAX", b"myzset"]] * (N // 2)),
    ]
    for name, setup, commands in cases:
        print(f"{name:26} {cost(setup, commands):6.2f} us/command")


if __name__ == "__main__":
    main()
