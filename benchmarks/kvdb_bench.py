"""redis-benchmark against our kvdb and a real redis-server, side by side.

    python benchmarks/kvdb_bench.py [--requests 100000] [--repeat 3] [--tests set,get]
                                    [--random-keys 100000] [--tls]

For each test (SET GET INCR LPUSH LPOP HSET ZADD SADD LRANGE_100), 50 clients, without
and with pipelining (-P 16), it prints both servers' requests per second, the ratio
ours/redis, and each server's CPU time per request (user + system, read from
/proc/PID/stat around the run): the figure least disturbed by a busy machine.
Runs alternate between the two servers and the median of --repeat runs is shown.
By default every command uses redis-benchmark's one key per test; `--random-keys N`
spreads them over N keys (redis-benchmark -r N), which grows the collections (a sorted
set of up to N members, for instance). `--tls` runs everything over TLS (redis-benchmark
--tls, each server's tls-port, a self-signed certificate made with openssl).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

from servers import Pair, cpu_seconds

TESTS = ["set", "get", "incr", "lpush", "lpop", "hset", "zadd", "sadd", "lrange_100"]


def start_servers(directory: str, tls: bool):
    """{name: (process, the port to benchmark)}, and the Pair to close."""
    if not tls:
        pair = Pair(directory, "--appendonly", "no")
        return pair.servers, pair
    certificate, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    key, "-out", certificate, "-days", "1", "-subj", "/CN=localhost"],
                   check=True, capture_output=True)
    pair = Pair(directory, "--appendonly", "no", tls=(certificate, key))
    return {name: (process, pair.tls_ports[name])
            for name, (process, _port) in pair.servers.items()}, pair


def run_benchmark(port: int, pid: int, test: str, requests: int, pipeline: int,
                  random_keys: int, tls: bool) -> tuple[float, float]:
    """(requests per second, server CPU microseconds per request) for one run."""
    before = cpu_seconds(pid)
    spread = ["-r", str(random_keys)] if random_keys else []
    secure = ["--tls", "--insecure"] if tls else []
    done = subprocess.run(["redis-benchmark", "-p", str(port), "-t", test, "-n", str(requests),
                           "-c", "50", "-P", str(pipeline), "--csv", *spread, *secure],
                          capture_output=True, text=True, timeout=600)
    used = cpu_seconds(pid) - before
    rows = list(csv.reader(io.StringIO(done.stdout)))
    wanted = test.upper().replace("LRANGE_100", "LRANGE_100 (first 100 elements)")
    for row in rows:
        if row and row[0] == wanted:
            total = requests * (2 if test == "lrange_100" else 1)   # it fills the list first
            return float(row[1]), used * 1e6 / total
    raise RuntimeError(f"no result for {test}: {done.stdout} {done.stderr}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tests", default=",".join(TESTS))
    parser.add_argument("--random-keys", type=int, default=0)
    parser.add_argument("--tls", action="store_true")
    args = parser.parse_args()
    if not (shutil.which("redis-server") and shutil.which("redis-benchmark")):
        sys.exit("needs redis-server and redis-benchmark (apt-get install redis-server redis-tools)")
    with tempfile.TemporaryDirectory() as directory:
        servers, pair = start_servers(directory, args.tls)
        try:
            print(f"{'test':<12}{'pipeline':>9}{'ours rps':>12}{'redis rps':>12}{'ratio':>8}"
                  f"{'ours cpu/req':>15}{'redis cpu/req':>15}")
            for pipeline in (1, 16):
                for test in args.tests.split(","):
                    results = {"ours": [], "redis": []}
                    for _ in range(args.repeat):
                        for name in ("redis", "ours"):
                            process, port = servers[name]
                            requests = args.requests * (4 if pipeline > 1 else 1)
                            results[name].append(run_benchmark(port, process.pid, test,
                                                               requests, pipeline,
                                                               args.random_keys, args.tls))
                    ours_rps = statistics.median(r[0] for r in results["ours"])
                    redis_rps = statistics.median(r[0] for r in results["redis"])
                    ours_cpu = statistics.median(r[1] for r in results["ours"])
                    redis_cpu = statistics.median(r[1] for r in results["redis"])
                    print(f"{test.upper():<12}{pipeline:>9}{ours_rps:>12.0f}{redis_rps:>12.0f}"
                          f"{ours_rps / redis_rps:>8.2f}{ours_cpu:>13.2f}us{redis_cpu:>13.2f}us",
                          flush=True)
        finally:
            pair.close()


if __name__ == "__main__":
    main()
