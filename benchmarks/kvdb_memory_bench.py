"""The memory bound, ours against a real redis-server, side by side.

    python benchmarks/kvdb_memory_bench.py [--maxmemory-mb 64] [--requests 300000]

1. Bounded growth: with `--maxmemory 64mb --maxmemory-policy allkeys-lru`, write ten
   times that much; print used_memory (must stay <= maxmemory) and the growth of the
   process's RSS (target <= 1.5 x maxmemory) for each server.
2. Hit rate: a cache-aside trace over 200k keys whose popularity follows a Zipf law
   (s = 1.0): GET a key, and SET it on a miss. With a smaller maxmemory (16 MB,
   allkeys-lru) the server can hold only part of the keys; the share of GETs that hit
   is the eviction policy's score. Target: ours within 5 points of Redis's.
"""

from __future__ import annotations

import argparse
import bisect
import random
import tempfile

import redis

from servers import Pair, rss_bytes

VALUE = b"v" * 1000


def bounded_growth(maxmemory_mb: int) -> None:
    limit = maxmemory_mb * 1024 * 1024
    print(f"writing {10 * maxmemory_mb} MB into maxmemory {maxmemory_mb} MB (allkeys-lru)")
    print(f"{'server':<10}{'used_memory MB':>16}{'RSS growth MB':>16}{'growth/maxmemory':>18}{'evicted':>10}")
    with tempfile.TemporaryDirectory() as directory:
        pair = Pair(directory, "--maxmemory", f"{maxmemory_mb}mb",
                    "--maxmemory-policy", "allkeys-lru", "--appendonly", "no")
        try:
            for name, (process, port) in pair:
                conn = redis.Redis(port=port)
                rss_before = rss_bytes(process.pid)
                count = 10 * limit // len(VALUE)
                for start in range(0, count, 2000):
                    with conn.pipeline(transaction=False) as pipe:
                        for i in range(start, min(start + 2000, count)):
                            pipe.set(f"key:{i}", VALUE)
                        pipe.execute()
                used = conn.info("memory")["used_memory"]
                growth = rss_bytes(process.pid) - rss_before
                print(f"{name:<10}{used / 2**20:>16.1f}{growth / 2**20:>16.1f}"
                      f"{growth / limit:>18.2f}{conn.info('stats')['evicted_keys']:>10}", flush=True)
        finally:
            pair.close()


def zipf_sampler(keys: int, s: float, rng: random.Random):
    weights = [1.0 / (rank ** s) for rank in range(1, keys + 1)]
    total = sum(weights)
    cumulative, running = [], 0.0
    for weight in weights:
        running += weight / total
        cumulative.append(running)
    return lambda: min(bisect.bisect_left(cumulative, rng.random()), keys - 1)


def hit_rate(requests: int) -> None:
    keys, batch = 200_000, 200
    print(f"\ncache-aside hit rate, {requests} requests, Zipf(1.0) over {keys} keys, "
          f"maxmemory 16 MB allkeys-lru")
    with tempfile.TemporaryDirectory() as directory:
        pair = Pair(directory, "--maxmemory", "16mb", "--maxmemory-policy", "allkeys-lru",
                    "--appendonly", "no")
        try:
            results = {}
            for name, (_, port) in pair:
                rng = random.Random(42)                      # the same trace for both
                sample = zipf_sampler(keys, 1.0, rng)
                conn = redis.Redis(port=port)
                hits = 0
                for _ in range(requests // batch):
                    wanted = [f"item:{sample()}" for _ in range(batch)]
                    values = conn.mget(wanted)
                    misses = {key for key, value in zip(wanted, values) if value is None}
                    hits += batch - sum(1 for value in values if value is None)
                    if misses:
                        with conn.pipeline(transaction=False) as pipe:
                            for key in misses:
                                pipe.set(key, VALUE)
                            pipe.execute()
                results[name] = hits / requests
                print(f"{name:<10} hit rate {100 * results[name]:.1f}%  "
                      f"({conn.dbsize()} keys held)", flush=True)
            print(f"difference: {100 * (results['ours'] - results['redis']):+.1f} points")
        finally:
            pair.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--maxmemory-mb", type=int, default=64)
    parser.add_argument("--requests", type=int, default=300_000)
    args = parser.parse_args()
    bounded_growth(args.maxmemory_mb)
    hit_rate(args.requests)


if __name__ == "__main__":
    main()
