"""Our docdb against PostgreSQL storing the same documents as jsonb, side by side.

    python benchmarks/docdb_bench.py [--documents 100000] [--lookups 3000] [--repeat 3]

PostgreSQL plays the part FerretDB gives it: each document is one `jsonb` value in a
table, and the indexed field gets an expression index, `CREATE INDEX ON docs ((doc->'k'))`.
Both sides get the same 100k documents and the same questions:

* insert_many: pymongo `insert_many` (acknowledged, journaled) against psycopg
  `executemany` of `INSERT ... VALUES (%s)` in one transaction (one commit, fsync on);
* find by an indexed field: `find_one({"k": x})` against `SELECT doc ... WHERE doc->'k' = x`,
  one query at a time over one connection;
* an aggregate $group over every document against `SELECT ... GROUP BY` on the jsonb;
* our HTTP API alone (there is no CouchDB here): document GET and PUT requests/s from
  4 keep-alive client threads.

PostgreSQL 15 is started as the `postgres` user with initdb + pg_ctl in a temporary
directory on a free port. The machine is small and shared: every figure is the median
of --repeat runs, and the two systems run one after the other, never at the same time.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on port {port}")


def documents(count: int) -> list[dict]:
    rng = random.Random(42)
    return [{"_id": i, "k": i, "group": i % 100, "name": f"user{i}",
             "score": round(rng.random() * 100, 3), "tags": ["a", "b"][: i % 3],
             "address": {"city": f"city{i % 50}", "zip": f"{i % 99999:05d}"}}
            for i in range(count)]


# -- the two servers -------------------------------------------------------------------------


class Ours:
    name = "docdb"

    def __init__(self, directory: str):
        self.port, self.http_port = free_port(), free_port()
        env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "fromscratch", "docdb", "--port", str(self.port),
             "--http-port", str(self.http_port), "--dir", directory],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self.port)
        wait_for(self.http_port)
        import pymongo
        self.client = pymongo.MongoClient(f"mongodb://127.0.0.1:{self.port}/")
        self.collection = self.client.bench.docs

    def reset(self) -> None:
        self.collection.drop()
        self.collection.create_index("k")

    def insert(self, docs: list[dict]) -> None:
        self.collection.insert_many(docs)

    def lookup(self, key: int):
        return self.collection.find_one({"k": key})

    def group(self) -> list:
        return list(self.collection.aggregate([
            {"$group": {"_id": "$group", "n": {"$sum": 1}, "avg": {"$avg": "$score"}}}]))

    def stop(self) -> None:
        self.client.close()
        self.process.terminate()
        self.process.wait(30)


class Postgres:
    name = "postgresql"

    def __init__(self, directory: str):
        for tool in ("initdb", "pg_ctl"):
            if shutil.which(tool) is None:
                raise RuntimeError(f"{tool} not found: PostgreSQL is needed for the reference")
        self.directory = os.path.join(directory, "pg")
        os.makedirs(self.directory)
        shutil.chown(self.directory, "postgres")
        os.chmod(directory, 0o755)
        self.port = free_port()
        self._as_postgres(["initdb", "-D", self.directory, "-A", "trust", "-U", "postgres",
                           "--no-sync"])
        self._as_postgres(["pg_ctl", "-D", self.directory, "-l",
                           os.path.join(self.directory, "log"), "-w", "start", "-o",
                           f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"])
        import psycopg
        self.connection = psycopg.connect(host="127.0.0.1", port=self.port, user="postgres",
                                          dbname="postgres", autocommit=True)

    def _as_postgres(self, command: list[str]) -> None:
        prefix = [] if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--"]
        subprocess.run(prefix + command, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)

    def reset(self) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS docs")
            cursor.execute("CREATE TABLE docs (id bigserial PRIMARY KEY, doc jsonb NOT NULL)")
            cursor.execute("CREATE INDEX docs_k ON docs ((doc->'k'))")

    def insert(self, docs: list[dict]) -> None:
        from psycopg.types.json import Jsonb
        with self.connection.transaction():
            with self.connection.cursor() as cursor:
                cursor.executemany("INSERT INTO docs (doc) VALUES (%s)",
                                   [(Jsonb(doc),) for doc in docs])

    def lookup(self, key: int):
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT doc FROM docs WHERE doc->'k' = %s::jsonb", (str(key),))
            return cursor.fetchone()

    def group(self) -> list:
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT doc->'group', count(*), avg((doc->>'score')::float8) "
                           "FROM docs GROUP BY doc->'group'")
            return cursor.fetchall()

    def stop(self) -> None:
        self.connection.close()
        self._as_postgres(["pg_ctl", "-D", self.directory, "-m", "fast", "-w", "stop"])


# -- the workloads ----------------------------------------------------------------------------


def timed(function, *args) -> float:
    started = time.perf_counter()
    function(*args)
    return time.perf_counter() - started


def run_lookups(server, keys: list[int]) -> float:
    started = time.perf_counter()
    for key in keys:
        if server.lookup(key) is None:
            raise AssertionError(f"{server.name}: key {key} not found")
    return time.perf_counter() - started


def call(connection, method, path, body=None):
    connection.request(method, path, body=body,
                       headers={"Content-Type": "application/json"} if body else {})
    response = connection.getresponse()
    data = response.read()
    if response.status >= 300:
        raise AssertionError(f"{method} {path}: {response.status} {data!r}")
    return data


def prepare_http(port: int) -> None:
    setup = http.client.HTTPConnection("127.0.0.1", port)
    call(setup, "PUT", "/httpbench")
    for i in range(200):
        call(setup, "PUT", f"/httpbench/doc{i}", json.dumps({"n": i, "text": "x" * 100}))
    setup.close()


def http_requests(port: int, seconds: float, round_number: int,
                  threads: int = 4) -> tuple[float, float]:
    """(GET requests/s, PUT requests/s) against our HTTP API: GETs of existing documents,
    PUTs of new ones."""
    def load(method: str) -> float:
        counts = [0] * threads

        def worker(slot: int):
            connection = http.client.HTTPConnection("127.0.0.1", port)
            rng = random.Random(slot)
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline:
                if method == "GET":
                    call(connection, "GET", f"/httpbench/doc{rng.randrange(200)}")
                else:
                    call(connection, "PUT", f"/httpbench/w{round_number}-{slot}-{counts[slot]}",
                         json.dumps({"n": counts[slot], "text": "y" * 100}))
                counts[slot] += 1
            connection.close()

        workers = [threading.Thread(target=worker, args=(slot,)) for slot in range(threads)]
        started = time.perf_counter()
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join()
        return sum(counts) / (time.perf_counter() - started)

    return load("GET"), load("PUT")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--http-seconds", type=float, default=3.0)
    args = parser.parse_args()
    docs = documents(args.documents)
    keys = [random.Random(7).randrange(args.documents) for _ in range(args.lookups)]
    results: dict[str, dict[str, list[float]]] = {}
    directory = tempfile.mkdtemp(prefix="docdb-bench-")
    servers = [Ours(os.path.join(directory, "ours")), Postgres(directory)]
    try:
        for round_number in range(args.repeat):
            for server in servers:
                figures = results.setdefault(server.name, {})
                server.reset()
                figures.setdefault("insert", []).append(
                    args.documents / timed(server.insert, [dict(d) for d in docs]))
                figures.setdefault("lookup", []).append(args.lookups / run_lookups(server, keys))
                figures.setdefault("group", []).append(timed(server.group) * 1000)
                print(f"  round {round_number + 1} {server.name}: "
                      f"{figures['insert'][-1]:,.0f} docs/s, {figures['lookup'][-1]:,.0f} "
                      f"lookups/s, $group {figures['group'][-1]:,.0f} ms", flush=True)
        gets, puts = [], []
        prepare_http(servers[0].http_port)
        for round_number in range(args.repeat):
            get_rate, put_rate = http_requests(servers[0].http_port, args.http_seconds,
                                               round_number)
            gets.append(get_rate)
            puts.append(put_rate)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(directory, ignore_errors=True)

    ours, reference = results["docdb"], results["postgresql"]
    median = statistics.median
    print(f"\nmedians of {args.repeat} runs, {args.documents:,} documents")
    print(f"{'case':34s} {'docdb':>14s} {'postgresql':>14s} {'ratio':>8s}")
    rows = [("insert_many (docs/s)", "insert", True), ("find by indexed field (queries/s)",
                                                       "lookup", True),
            ("aggregate $group (ms, lower wins)", "group", False)]
    for label, key, higher_is_better in rows:
        a, b = median(ours[key]), median(reference[key])
        ratio = a / b if higher_is_better else b / a
        print(f"{label:34s} {a:14,.0f} {b:14,.0f} {ratio:7.2f}x")
    print(f"{'HTTP GET /db/doc (requests/s)':34s} {median(gets):14,.0f} {'-':>14s}")
    print(f"{'HTTP PUT /db/doc (requests/s)':34s} {median(puts):14,.0f} {'-':>14s}")
    print("ratio: docdb's speed as a fraction of PostgreSQL's (1.00x = as fast)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
