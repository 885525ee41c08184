"""reldb against PostgreSQL, through psycopg, in the same run.

    python benchmarks/reldb_bench.py [--rows 100000] [--repeat 3] [--reference-conninfo ...]

Cases:
  point select   SELECT by primary key with a prepared statement (queries/s)
  executemany    INSERT of N rows with cursor.executemany (rows/s)
  copy           INSERT of N rows with COPY FROM STDIN (rows/s)
  join+group     a join of N orders with 1,000 customers, grouped by region (queries/s)

Each case runs --repeat times on each server; the median is printed with the ratio
ours/PostgreSQL (higher is better for reldb). PostgreSQL runs with fsync off, the
in-memory reldb has nothing to sync: the storage issue adds durability to both sides.
The machine is shared, so figures vary between runs; ratios are steadier.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "src"))

from compat_tests.reldb.servers import postgres_bin, start_postgres, start_reldb  # noqa: E402

import psycopg  # noqa: E402


def fresh_database(conninfo_admin: str, name: str) -> None:
    with psycopg.connect(conninfo_admin, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")


def bench_point_select(conninfo: str, rows: int) -> float:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS kv")
        conn.execute("CREATE TABLE kv (id int PRIMARY KEY, v text)")
        with conn.cursor().copy("COPY kv FROM STDIN") as copy:
            for i in range(10000):
                copy.write_row((i, f"value {i}"))
        cur = conn.cursor()
        n = 3000
        start = time.perf_counter()
        for i in range(n):
            cur.execute("SELECT v FROM kv WHERE id = %s", (i * 7 % 10000,), prepare=True)
            cur.fetchone()
        return n / (time.perf_counter() - start)


def bench_executemany(conninfo: str, rows: int) -> float:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS items")
        conn.execute("CREATE TABLE items (id int PRIMARY KEY, name text, qty int, price numeric(10,2))")
        data = [(i, f"item {i}", i % 100, i % 1000 / 10) for i in range(rows)]
        start = time.perf_counter()
        with conn.transaction():
            conn.cursor().executemany("INSERT INTO items VALUES (%s, %s, %s, %s)", data)
        return rows / (time.perf_counter() - start)


def bench_copy(conninfo: str, rows: int) -> float:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS items2")
        conn.execute("CREATE TABLE items2 (id int PRIMARY KEY, name text, qty int, price numeric(10,2))")
        start = time.perf_counter()
        with conn.cursor().copy("COPY items2 FROM STDIN") as copy:
            for i in range(rows):
                copy.write_row((i, f"item {i}", i % 100, i % 1000 / 10))
        return rows / (time.perf_counter() - start)


def bench_join_group(conninfo: str, rows: int) -> float:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS orders")
        conn.execute("DROP TABLE IF EXISTS customers")
        conn.execute("CREATE TABLE customers (id int PRIMARY KEY, region text)")
        conn.execute("CREATE TABLE orders (id int PRIMARY KEY, customer_id int, amount numeric(10,2))")
        with conn.cursor().copy("COPY customers FROM STDIN") as copy:
            for i in range(1000):
                copy.write_row((i, f"region {i % 10}"))
        with conn.cursor().copy("COPY orders FROM STDIN") as copy:
            for i in range(rows):
                copy.write_row((i, i % 1000, (i % 500) + 0.25))
        conn.execute("ANALYZE")
        query = ("SELECT c.region, count(*), sum(o.amount) FROM orders o "
                 "JOIN customers c ON c.id = o.customer_id GROUP BY c.region ORDER BY 1")
        n = 3
        start = time.perf_counter()
        for _ in range(n):
            result = conn.execute(query).fetchall()
        assert len(result) == 10
        return n / (time.perf_counter() - start)


CASES = [("point select (prepared)", "queries/s", bench_point_select),
         ("insert by executemany", "rows/s", bench_executemany),
         ("insert by COPY", "rows/s", bench_copy),
         ("join + group by", "queries/s", bench_join_group)]


def run(servers: dict[str, str], rows: int, repeat: int) -> None:
    print(f"rows={rows} repeat={repeat} (median of the repeats)")
    print(f"{'case':28} {'reldb':>14} {'postgresql':>14} {'ratio':>8}")
    for title, unit, fn in CASES:
        medians = {}
        for name, conninfo in servers.items():
            figures = [fn(conninfo, rows) for _ in range(repeat)]
            medians[name] = statistics.median(figures)
        ours = medians.get("reldb")
        ref = medians.get("postgresql")
        ratio = f"{ours / ref:.3f}x" if ours and ref else "-"
        ref_text = f"{ref:,.0f}" if ref else "-"
        print(f"{title:28} {ours:>14,.0f} {ref_text:>14} {ratio:>8}  {unit}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--reference-conninfo", help="use this PostgreSQL instead of starting one")
    args = parser.parse_args()
    stops = []
    servers = {}
    with tempfile.TemporaryDirectory(prefix="reldb-bench-") as directory:
        ours = start_reldb(directory)
        stops.append(ours.stop)
        fresh_database(ours.conninfo(), "bench")
        servers["reldb"] = ours.conninfo("bench")
        if args.reference_conninfo:
            fresh_database(args.reference_conninfo + " dbname=postgres", "bench")
            servers["postgresql"] = args.reference_conninfo + " dbname=bench"
        elif postgres_bin() is not None:
            pgdir = tempfile.mkdtemp(prefix="pg-bench-")
            reference = start_postgres(pgdir)
            stops.append(reference.stop)
            stops.append(lambda: shutil.rmtree(pgdir, ignore_errors=True))
            fresh_database(reference.conninfo(), "bench")
            servers["postgresql"] = reference.conninfo("bench")
        else:
            print("PostgreSQL is not installed: reldb figures only")
        try:
            run(servers, args.rows, args.repeat)
        finally:
            for stop in stops:
                stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
