"""Pub/sub and Streams throughput: our standalone pub/sub server against a real
redis-server, in the same run.

    python benchmarks/pubsub_bench.py [--repeat 3] [--messages 100000] [--entries 500000]

1. fan-out: one publisher, 50 subscribers of one channel. The subscribers are raw
   sockets in two other processes that only count the bytes they receive, so the
   client side stays cheap; the figure is messages delivered per second (published x 50).
2. XADD: redis-benchmark, 50 clients, pipelines of 16 (`XADD mystream * myfield xxx`).
3. XREADGROUP + XACK: eight consumers of one group (in two processes) drain the stream
   XADD filled, each round trip acknowledging the last batch and reading the next 100
   (`XACK ...` and `XREADGROUP ... COUNT 100` in one write); entries acknowledged per
   second.

For each it prints both servers' throughput, the ratio ours/redis, and each server's CPU
time per operation (user + system from /proc/PID/stat around the run: the figure least
disturbed by other work on the machine). Runs alternate between the servers and the
median of --repeat runs is shown. The defaults make each run last a second or more:
shorter runs swing with how the processes happen to be scheduled. Last, the in-process
cost of XADD and of XREADGROUP + XACK per entry in our server, without sockets.
"""

from __future__ import annotations

import argparse
import csv
import io
import multiprocessing
import os
import re
import selectors
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "src"))
sys.path.insert(0, HERE)

from fromscratch.resp import encode_command  # noqa: E402
from servers import cpu_seconds, free_port, wait_for  # noqa: E402

SUBSCRIBERS = 50
SUBSCRIBER_PROCESSES = 2
CONSUMERS = 8
CONSUMER_PROCESSES = 2
BATCH = 100                  # entries per XREADGROUP, PUBLISHes per pipeline
PAYLOAD = b"x" * 32
CHANNEL = b"news"


def start_servers(directory: str) -> dict:
    ours_port, redis_port = free_port(), free_port()
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
    ours = subprocess.Popen([sys.executable, "-m", "fromscratch", "pubsub", "--port",
                             str(ours_port), "--dir", directory, "--save", ""],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    reference = subprocess.Popen(["redis-server", "--port", str(redis_port), "--save", "",
                                  "--appendonly", "no", "--dir", directory],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(ours_port)
    wait_for(redis_port)
    return {"ours": (ours, ours_port), "redis": (reference, redis_port)}


def call(port: int, *args) -> bytes:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(encode_command(args))
        return sock.recv(65536)


# -- 1. fan-out ----------------------------------------------------------------------------

def subscriber_process(port: int, count: int, expected: int, ready, results) -> None:
    """`count` subscriber connections; reports when each has all `expected` bytes."""
    selector = selectors.DefaultSelector()
    confirmation = len(b"*3\r\n$9\r\nsubscribe\r\n$%d\r\n%s\r\n:1\r\n" % (len(CHANNEL), CHANNEL))
    received = {}
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(encode_command([b"SUBSCRIBE", CHANNEL]))
        got = b""
        while len(got) < confirmation:
            got += sock.recv(65536)
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
        received[sock] = 0
    ready.put(True)
    finished = []
    while received:
        for key, _ in selector.select(timeout=30):
            sock = key.fileobj
            data = sock.recv(1 << 20)
            received[sock] += len(data)
            if received[sock] >= expected:
                finished.append(time.monotonic())
                selector.unregister(sock)
                sock.close()
                del received[sock]
    results.put(max(finished))


def fan_out(port: int, pid: int, messages: int) -> tuple[float, float]:
    """(messages delivered per second, server CPU microseconds per delivery)."""
    frame = len(b"*3\r\n$7\r\nmessage\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
                % (len(CHANNEL), CHANNEL, len(PAYLOAD), PAYLOAD))
    ready, results = multiprocessing.Queue(), multiprocessing.Queue()
    share = SUBSCRIBERS // SUBSCRIBER_PROCESSES
    workers = [multiprocessing.Process(target=subscriber_process,
                                       args=(port, share, messages * frame, ready, results))
               for _ in range(SUBSCRIBER_PROCESSES)]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.get(timeout=60)
    batch = encode_command([b"PUBLISH", CHANNEL, PAYLOAD]) * BATCH
    reply_size = len(b":%d\r\n" % SUBSCRIBERS) * BATCH
    before = cpu_seconds(pid)
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port)) as publisher:
        for _ in range(messages // BATCH):
            publisher.sendall(batch)
            got = 0
            while got < reply_size:
                got += len(publisher.recv(65536))
    done = max(results.get(timeout=120) for _ in workers)
    used = cpu_seconds(pid) - before
    for worker in workers:
        worker.join()
    deliveries = messages * SUBSCRIBERS
    return deliveries / (done - started), used * 1e6 / deliveries


# -- 2. XADD -------------------------------------------------------------------------------

def xadd(port: int, pid: int, entries: int) -> tuple[float, float]:
    """(XADDs per second, server CPU microseconds per XADD), from redis-benchmark."""
    call(port, "DEL", "mystream")
    before = cpu_seconds(pid)
    done = subprocess.run(["redis-benchmark", "-p", str(port), "-c", "50", "-P", "16",
                           "-n", str(entries), "--csv", "XADD", "mystream", "*", "myfield",
                           "xxx"], capture_output=True, text=True, timeout=600)
    used = cpu_seconds(pid) - before
    for row in csv.reader(io.StringIO(done.stdout)):
        if row and row[0].startswith("XADD"):
            return float(row[1]), used * 1e6 / entries
    raise RuntimeError(f"redis-benchmark gave no XADD result: {done.stdout} {done.stderr}")


# -- 3. XREADGROUP + XACK ------------------------------------------------------------------

ENTRY_END = b"myfield\r\n$3\r\nxxx\r\n"
ENTRY_ID = re.compile(rb"\*2\r\n\$\d+\r\n(\d+-\d+)\r\n\*2\r\n")
ENTRY_COUNT = re.compile(rb"\*1\r\n\*2\r\n\$8\r\nmystream\r\n\*(\d+)\r\n")


def consumer_process(port: int, names: list, start, results) -> None:
    """Consumers that each read BATCH entries and acknowledge them on the next round trip,
    until the stream has nothing new; reports (entries acknowledged, finish time). Every
    consumer's request is sent before any reply is read, so all are in flight at once."""
    socks = dict(zip(names, (socket.create_connection(("127.0.0.1", port)) for _ in names)))
    start.wait()
    acked, pending = 0, {name: [] for name in names}
    while socks:
        for name, sock in socks.items():
            request = b""
            if pending[name]:
                request += encode_command([b"XACK", b"mystream", b"g", *pending[name]])
            request += encode_command([b"XREADGROUP", b"GROUP", b"g", name, b"COUNT",
                                       b"%d" % BATCH, b"STREAMS", b"mystream", b">"])
            sock.sendall(request)
        for name, sock in list(socks.items()):
            data = b""
            if pending[name]:                    # the XACK's integer comes first
                while b"\r\n" not in data:
                    data += sock.recv(1 << 20)
                line, data = data.split(b"\r\n", 1)
                acked += int(line[1:])
            while True:                          # then the entries, or a null when done
                if data.startswith(b"*-1\r\n"):
                    sock.close()
                    del socks[name]
                    break
                header = ENTRY_COUNT.match(data)
                if header and data.count(ENTRY_END) == int(header.group(1)):
                    pending[name] = ENTRY_ID.findall(data)
                    break
                data += sock.recv(1 << 20)
    results.put((acked, time.monotonic()))


def read_and_ack(port: int, pid: int, entries: int) -> tuple[float, float]:
    """(entries read and acknowledged per second, server CPU microseconds per entry)."""
    call(port, "XGROUP", "CREATE", "mystream", "g", "0")
    start, results = multiprocessing.Event(), multiprocessing.Queue()
    names = [b"consumer-%d" % i for i in range(CONSUMERS)]
    workers = [multiprocessing.Process(target=consumer_process,
                                       args=(port, names[i::CONSUMER_PROCESSES], start, results))
               for i in range(CONSUMER_PROCESSES)]
    for worker in workers:
        worker.start()
    time.sleep(0.5)                              # connected and waiting
    before = cpu_seconds(pid)
    started = time.monotonic()
    start.set()
    outcomes = [results.get(timeout=600) for _ in workers]
    used = cpu_seconds(pid) - before
    for worker in workers:
        worker.join()
    acked = sum(count for count, _ in outcomes)
    if acked != entries:
        raise RuntimeError(f"{acked} entries acknowledged of {entries}")
    return acked / (max(done for _, done in outcomes) - started), used * 1e6 / acked


# -- in-process ---------------------------------------------------------------------------

def in_process(entries: int) -> tuple[float, float]:
    """Microseconds of CPU per XADD, and per entry read and acknowledged (COUNT 100)."""
    from kvdb_hotpath import feeder, make_client
    client = make_client()
    feed = feeder(client)
    xadds = encode_command([b"XADD", b"mystream", b"*", b"myfield", b"xxx"]) * 16
    started = time.process_time()
    for _ in range(entries // 16):
        feed(xadds)
    xadd_cost = (time.process_time() - started) / (entries // 16 * 16) * 1e6
    feed(encode_command([b"XGROUP", b"CREATE", b"mystream", b"g", b"0"]))
    stream = client.db.get(b"mystream")
    ids = [entry.split(b"\r\n")[2] for _, entry in stream.entries.items()]
    read = encode_command([b"XREADGROUP", b"GROUP", b"g", b"c", b"COUNT", b"%d" % BATCH,
                           b"STREAMS", b"mystream", b">"])
    started = time.process_time()
    for first in range(0, len(ids), BATCH):
        feed(read)
        feed(encode_command([b"XACK", b"mystream", b"g",
                                             *ids[first:first + BATCH]]))
    return xadd_cost, (time.process_time() - started) / len(ids) * 1e6


# -- the run --------------------------------------------------------------------------------

def median_of(runs: list) -> tuple[float, float]:
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def report(name: str, unit: str, results: dict) -> None:
    ours_rate, ours_cpu = median_of(results["ours"])
    redis_rate, redis_cpu = median_of(results["redis"])
    print(f"{name:<22}{ours_rate:>12,.0f}{redis_rate:>12,.0f}{ours_rate / redis_rate:>8.2f}"
          f"{ours_cpu:>12.2f}us{redis_cpu:>10.2f}us  per {unit}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=500_000)
    args = parser.parse_args()
    if not (shutil.which("redis-server") and shutil.which("redis-benchmark")):
        sys.exit("needs redis-server and redis-benchmark (apt-get install redis-server redis-tools)")
    multiprocessing.set_start_method("fork")
    with tempfile.TemporaryDirectory() as directory:
        servers = start_servers(directory)
        try:
            print(f"{'':<22}{'ours/s':>12}{'redis/s':>12}{'ratio':>8}{'ours cpu':>14}"
                  f"{'redis cpu':>12}")
            tests = [("fan-out (50 subs)", "delivery", lambda p, pid: fan_out(p, pid, args.messages)),
                     ("XADD (-P 16)", "XADD", lambda p, pid: xadd(p, pid, args.entries)),
                     ("XREADGROUP+XACK", "entry", lambda p, pid: read_and_ack(p, pid, args.entries))]
            results = {name: {"ours": [], "redis": []} for name, _, _ in tests}
            for _ in range(args.repeat):
                for server in ("redis", "ours"):
                    process, port = servers[server]
                    for name, _, run in tests:      # XADD fills what the consumers read
                        results[name][server].append(run(port, process.pid))
            for name, unit, _ in tests:
                report(name, unit, results[name])
        finally:
            for process, _ in servers.values():
                process.terminate()
                process.wait()
    xadd_cost, read_cost = in_process(args.entries // 2)
    print(f"in-process (ours): XADD {xadd_cost:.2f} us, XREADGROUP+XACK {read_cost:.2f} us "
          f"per entry")


if __name__ == "__main__":
    main()
