"""What persistence costs, ours against a real redis-server, side by side.

    python benchmarks/kvdb_persistence_bench.py [--requests 50000]

1. SET throughput (redis-benchmark, 50 clients) with no AOF, `appendfsync everysec` and
   `appendfsync always`, for both servers; each mode is printed with its ratio to the
   same server without AOF (the persistence overhead) and ours/redis.
2. BGSAVE under load: while 20 clients keep sending SETs, a BGSAVE of a 200k-key dataset
   runs; we print the worst and the 99th percentile latency a client saw, with and
   without the BGSAVE.
"""

from __future__ import annotations

import argparse
import csv
import io
import statistics
import subprocess
import tempfile
import threading
import time

import redis

from servers import Pair


def set_throughput(port: int, requests: int) -> float:
    done = subprocess.run(["redis-benchmark", "-p", str(port), "-t", "set", "-n", str(requests),
                           "-c", "50", "-r", "100000", "--csv"],
                          capture_output=True, text=True, timeout=600)
    for row in csv.reader(io.StringIO(done.stdout)):
        if row and row[0] == "SET":
            return float(row[1])
    raise RuntimeError(done.stdout + done.stderr)


def persistence_overhead(requests: int) -> None:
    print("SET requests/s by AOF mode (50 clients)")
    print(f"{'mode':<16}{'ours':>10}{'redis':>10}{'ours/redis':>12}{'ours vs no AOF':>16}{'redis vs no AOF':>17}")
    baseline = {}
    for mode in ("none", "everysec", "always"):
        options = ("--appendonly", "no") if mode == "none" else (
            "--appendonly", "yes", "--appendfsync", mode)
        with tempfile.TemporaryDirectory() as directory:
            pair = Pair(directory, *options)
            try:
                figures = {name: statistics.median(set_throughput(port, requests) for _ in range(3))
                           for name, (_, port) in pair}
            finally:
                pair.close()
        if mode == "none":
            baseline = figures
        print(f"{mode:<16}{figures['ours']:>10.0f}{figures['redis']:>10.0f}"
              f"{figures['ours'] / figures['redis']:>12.2f}"
              f"{figures['ours'] / baseline['ours']:>16.2f}{figures['redis'] / baseline['redis']:>17.2f}",
              flush=True)


def latencies_under_load(port: int, seconds: float, during=None) -> list[float]:
    stop = threading.Event()
    samples: list[float] = []
    lock = threading.Lock()

    def client():
        conn = redis.Redis(port=port)
        mine = []
        i = 0
        while not stop.is_set():
            started = time.perf_counter()
            conn.set(f"load:{i % 1000}", "x")
            mine.append(time.perf_counter() - started)
            i += 1
        with lock:
            samples.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(20)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    if during is not None:
        during()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    return samples


def bgsave_pause() -> None:
    print("\nlatency of 20 SET clients (ms), without and during a BGSAVE of 200k keys")
    print(f"{'server':<10}{'p99 idle':>10}{'max idle':>10}{'p99 bgsave':>12}{'max bgsave':>12}")
    with tempfile.TemporaryDirectory() as directory:
        pair = Pair(directory, "--appendonly", "no")
        try:
            for name, (_, port) in pair:
                conn = redis.Redis(port=port)
                for start in range(0, 200_000, 5000):
                    with conn.pipeline(transaction=False) as pipe:
                        for i in range(start, start + 5000):
                            pipe.set(f"data:{i}", "v" * 100)
                        pipe.execute()
                quiet = latencies_under_load(port, 2.0)
                busy = latencies_under_load(port, 3.0, during=conn.bgsave)

                def p99(values):
                    return sorted(values)[int(len(values) * 0.99)] * 1000

                print(f"{name:<10}{p99(quiet):>10.2f}{max(quiet) * 1000:>10.2f}"
                      f"{p99(busy):>12.2f}{max(busy) * 1000:>12.2f}", flush=True)
        finally:
            pair.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=50_000)
    args = parser.parse_args()
    persistence_overhead(args.requests)
    bgsave_pause()


if __name__ == "__main__":
    main()
