"""Durability: data survives a restart, and a crash (kill -9 in the middle of a pgbench
run) loses no transaction whose COMMIT was acknowledged and leaves none half done.
reldb only: these start, kill and restart the server themselves."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time

import pytest

from .servers import start_reldb

psycopg = pytest.importorskip("psycopg")


def test_data_and_schema_survive_a_restart(tmp_path):
    server = start_reldb(str(tmp_path))
    try:
        with psycopg.connect(server.conninfo(), autocommit=True) as c:
            c.execute("CREATE DATABASE shop")
        with psycopg.connect(server.conninfo("shop"), autocommit=True) as c:
            c.execute("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')")
            c.execute("CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL "
                      "UNIQUE, mood mood DEFAULT 'ok', joined date DEFAULT '2024-01-02', "
                      "score numeric(6,2) CHECK (score >= 0), tags text[], doc jsonb, "
                      "twice int GENERATED ALWAYS AS (id * 2) STORED)")
            c.execute("CREATE TABLE orders (id bigserial PRIMARY KEY, customer int REFERENCES "
                      "customers (id) ON DELETE CASCADE, amount numeric(10,2))")
            c.execute("CREATE INDEX orders_by_customer ON orders (customer, amount DESC)")
            c.execute("CREATE VIEW big_orders AS SELECT * FROM orders WHERE amount > 100")
            c.execute("CREATE SEQUENCE tickets START 100 INCREMENT 5")
            c.execute("COMMENT ON TABLE customers IS 'people who buy'")
            c.execute("CREATE ROLE clerk LOGIN PASSWORD 'secret'")
            for i in range(1, 201):
                c.execute("INSERT INTO customers (name, score, tags, doc) VALUES "
                          "(%s, %s, %s, %s)", (f"c{i}", i, [f"t{i}"], f'{{"n": {i}}}'))
                c.execute("INSERT INTO orders (customer, amount) VALUES (%s, %s)", (i, i * 1.5))
            c.execute("DELETE FROM customers WHERE id > 150")
            assert c.execute("SELECT nextval('tickets'), nextval('tickets')").fetchone() == \
                (100, 105)
            with c.transaction():
                c.execute("INSERT INTO customers (name) VALUES ('committed')")
            c.execute("BEGIN")
            c.execute("INSERT INTO customers (name) VALUES ('rolled back')")
            c.execute("ROLLBACK")
    finally:
        server.stop()
    server = start_reldb(str(tmp_path))
    try:
        with psycopg.connect(server.conninfo("shop"), autocommit=True) as c:
            assert c.execute("SELECT count(*), sum(twice) FROM customers").fetchone() == \
                (151, sum(range(1, 151)) * 2 + 402)
            assert c.execute("SELECT count(*) FROM orders").fetchone() == (150,)
            assert c.execute("SELECT count(*) FROM big_orders").fetchone() == (84,)
            row = c.execute("SELECT mood, joined::text, score, tags, doc FROM customers "
                            "WHERE name = 'c7'").fetchone()
            assert row[0] == "ok" and row[1] == "2024-01-02" and row[3:] == (["t7"], {"n": 7})
            assert c.execute("SELECT name FROM customers WHERE name = 'rolled back'") \
                .fetchall() == []
            assert c.execute("SELECT nextval('tickets')").fetchone() == (110,)
            # 202 went to the rolled-back insert: sequences are not transactional.
            assert c.execute("INSERT INTO customers (name) VALUES ('new') RETURNING id") \
                .fetchone() == (203,)
            assert c.execute("SELECT obj_description('customers'::regclass)").fetchone() == \
                ("people who buy",)
            with pytest.raises(psycopg.errors.UniqueViolation):
                c.execute("INSERT INTO customers (name) VALUES ('c1')")
            with pytest.raises(psycopg.errors.CheckViolation):
                c.execute("INSERT INTO customers (name, score) VALUES ('x', -1)")
            with pytest.raises(psycopg.errors.ForeignKeyViolation):
                c.execute("INSERT INTO orders (customer) VALUES (9999)")
            plan = "\n".join(r[0] for r in c.execute(
                "EXPLAIN SELECT * FROM orders WHERE customer = 3").fetchall())
            assert "orders_by_customer" in plan
            c.execute("DELETE FROM customers WHERE id = 3")
            assert c.execute("SELECT count(*) FROM orders WHERE customer = 3").fetchone() == (0,)
        with psycopg.connect(server.conninfo("shop", user="clerk", password="secret")) as c:
            assert c.execute("SELECT current_user").fetchone() == ("clerk",)
    finally:
        server.stop()


def _pgbench(server, *args, timeout=120):
    command = ["pgbench", "-h", server.host, "-p", str(server.port), "-U", "postgres", *args,
               "postgres"]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


@pytest.mark.skipif(shutil.which("pgbench") is None, reason="pgbench is not installed")
def test_kill_9_during_pgbench_loses_no_acknowledged_commit(tmp_path):
    server = start_reldb(str(tmp_path))
    acknowledged = []
    try:
        assert _pgbench(server, "-i", "-s", "1", "-q").returncode == 0
        bench = subprocess.Popen(["pgbench", "-h", server.host, "-p", str(server.port), "-U",
                                  "postgres", "-n", "-c", "4", "-j", "2", "-T", "60",
                                  "postgres"], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        stop = threading.Event()

        def client(number):
            # pgbench's transaction, with a mark in the history row to find it by.
            try:
                with psycopg.connect(server.conninfo(), autocommit=True) as c:
                    for n in range(10**6):
                        if stop.is_set():
                            return
                        aid, tid, bid, delta = 1 + (n * 7919 + number) % 100000, \
                            1 + n % 10, 1, n % 100 - 50
                        with c.transaction():
                            c.execute("UPDATE pgbench_accounts SET abalance = abalance + %s "
                                      "WHERE aid = %s", (delta, aid))
                            c.execute("UPDATE pgbench_tellers SET tbalance = tbalance + %s "
                                      "WHERE tid = %s", (delta, tid))
                            c.execute("UPDATE pgbench_branches SET bbalance = bbalance + %s "
                                      "WHERE bid = %s", (delta, bid))
                            c.execute("INSERT INTO pgbench_history (tid, bid, aid, delta, "
                                      "mtime, filler) VALUES (%s, %s, %s, %s, now(), %s)",
                                      (tid, bid, aid, delta, f"{number}-{n}"))
                        acknowledged.append(f"{number}-{n}")
            except psycopg.Error:
                return              # the server went away
        clients = [threading.Thread(target=client, args=(i,)) for i in range(2)]
        for t in clients:
            t.start()
        time.sleep(4)
        server.kill()
        stop.set()
        for t in clients:
            t.join(30)
        bench.wait(30)
    finally:
        server.stop()
    assert len(acknowledged) > 10
    server = start_reldb(str(tmp_path))
    try:
        with psycopg.connect(server.conninfo()) as c:
            sums = c.execute("SELECT (SELECT sum(abalance) FROM pgbench_accounts), "
                             "(SELECT sum(tbalance) FROM pgbench_tellers), "
                             "(SELECT sum(bbalance) FROM pgbench_branches), "
                             "(SELECT sum(delta) FROM pgbench_history)").fetchone()
            assert sums[0] == sums[1] == sums[2] == sums[3]
            marks = {row[0].strip() for row in c.execute(
                "SELECT filler FROM pgbench_history WHERE filler IS NOT NULL")}
            assert set(acknowledged) <= marks
            # and the server works on
            assert _pgbench(server, "-n", "-c", "2", "-t", "20").returncode == 0
    finally:
        server.stop()
