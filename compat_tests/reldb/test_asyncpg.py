"""asyncpg (binary format by default, named prepared statements with Describe + Flush,
type introspection, binary COPY) against reldb and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from decimal import Decimal

import pytest

asyncpg = pytest.importorskip("asyncpg")


def run(coro):
    return asyncio.run(coro)


def test_asyncpg_types_statements_transactions_copy(server, database):
    dbname = database.split("dbname=")[1].split()[0]

    async def scenario():
        conn = await asyncpg.connect(host=server.host, port=server.port, user="postgres",
                                     database=dbname)
        try:
            await conn.execute("CREATE TABLE a (id serial PRIMARY KEY, name text, n numeric(8,2),"
                               " at timestamptz, j jsonb, tags text[], u uuid, f float8, d date,"
                               " b bool, i interval, s smallint, big bigint)")
            at = dt.datetime(2024, 1, 1, 12, 30, tzinfo=dt.timezone.utc)
            await conn.execute(
                "INSERT INTO a (name, n, at, j, tags, u, f, d, b, i, s, big) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                "x", Decimal("1.50"), at, '{"k": [1, 2]}', ["p", "q r"], uuid.UUID(int=9), 2.5,
                dt.date(2024, 2, 29), True, dt.timedelta(days=1, seconds=5), 7, 2 ** 40)
            row = await conn.fetchrow("SELECT * FROM a WHERE id = $1", 1)
            assert (row["name"], row["n"], row["at"], row["tags"], row["u"], row["f"], row["d"],
                    row["b"], row["i"], row["s"], row["big"]) == \
                ("x", Decimal("1.50"), at, ["p", "q r"], uuid.UUID(int=9), 2.5,
                 dt.date(2024, 2, 29), True, dt.timedelta(days=1, seconds=5), 7, 2 ** 40)
            assert row["j"] == '{"k": [1, 2]}'
            await conn.executemany("INSERT INTO a (name) VALUES ($1)", [("m1",), ("m2",)])
            statement = await conn.prepare("SELECT name FROM a WHERE id > $1 ORDER BY id")
            assert [r["name"] for r in await statement.fetch(1)] == ["m1", "m2"]
            with pytest.raises(asyncpg.UniqueViolationError):
                await conn.execute("INSERT INTO a (id, name) VALUES (1, 'dup')")
            async with conn.transaction():
                await conn.execute("INSERT INTO a (name) VALUES ('in tx')")
            try:
                async with conn.transaction():
                    await conn.execute("INSERT INTO a (name) VALUES ('rolled back')")
                    raise RuntimeError("abort")
            except RuntimeError:
                pass
            assert await conn.fetchval("SELECT count(*) FROM a") == 4
            await conn.copy_records_to_table("a", records=[(100, "c1"), (101, None)],
                                             columns=["id", "name"])
            assert await conn.fetchval("SELECT count(*) FROM a WHERE id >= 100") == 2
            out = await conn.fetch("SELECT id, name FROM a WHERE id >= 100 ORDER BY id")
            assert [tuple(r) for r in out] == [(100, "c1"), (101, None)]
        finally:
            await conn.close()

    run(scenario())


def test_asyncpg_listener(server, database):
    dbname = database.split("dbname=")[1].split()[0]

    async def scenario():
        listener = await asyncpg.connect(host=server.host, port=server.port, user="postgres",
                                         database=dbname)
        sender = await asyncpg.connect(host=server.host, port=server.port, user="postgres",
                                       database=dbname)
        got = asyncio.Queue()
        try:
            await listener.add_listener("events", lambda c, pid, ch, payload: got.put_nowait(payload))
            await sender.execute("NOTIFY events, 'hello'")
            await sender.execute("SELECT pg_notify('events', 'world')")
            first = await asyncio.wait_for(got.get(), 5)
            second = await asyncio.wait_for(got.get(), 5)
            return first, second
        finally:
            await listener.close()
            await sender.close()

    assert run(scenario()) == ("hello", "world")
