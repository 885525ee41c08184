"""pg8000 (pure-Python driver: unnamed statements with inferred parameter types, Flush
as well as Sync) against reldb and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

pg8000 = pytest.importorskip("pg8000")


@pytest.fixture
def pg8000_conn(server, database):
    dbname = database.split("dbname=")[1].split()[0]
    conn = pg8000.connect(user="postgres", host=server.host, port=server.port, database=dbname)
    yield conn
    conn.close()


def test_dbapi_crud(pg8000_conn):
    conn = pg8000_conn
    cur = conn.cursor()
    cur.execute("CREATE TABLE people (id serial PRIMARY KEY, name text, born date, "
                "height numeric(4,2), active boolean)")
    cur.execute("INSERT INTO people (name, born, height, active) VALUES (%s, %s, %s, %s)",
                ("Ada", dt.date(1815, 12, 10), Decimal("1.65"), True))
    cur.executemany("INSERT INTO people (name, active) VALUES (%s, %s)",
                    [("Bob", False), ("Cy", None)])
    conn.commit()
    cur.execute("SELECT name, born, height, active FROM people ORDER BY id")
    assert list(cur.fetchall()) == [["Ada", dt.date(1815, 12, 10), Decimal("1.65"), True],
                              ["Bob", None, None, False], ["Cy", None, None, None]]
    cur.execute("UPDATE people SET active = %s WHERE name = %s", (True, "Cy"))
    assert cur.rowcount == 1
    cur.execute("DELETE FROM people WHERE active")
    assert cur.rowcount == 2
    conn.rollback()
    cur.execute("SELECT count(*) FROM people")
    assert cur.fetchone() == [3]


def test_native_interface_and_inferred_types(server, database):
    import pg8000.native
    dbname = database.split("dbname=")[1].split()[0]
    conn = pg8000.native.Connection("postgres", host=server.host, port=server.port,
                                    database=dbname)
    try:
        conn.run("CREATE TABLE t (a int, b text, c timestamp)")
        conn.run("INSERT INTO t VALUES (:a, :b, :c)", a=5, b="five",
                 c=dt.datetime(2020, 5, 5, 5, 5, 5))
        assert conn.run("SELECT a + :n, b || :s, c FROM t", n=1, s="!") == \
            [[6, "five!", dt.datetime(2020, 5, 5, 5, 5, 5)]]
        assert conn.run("SELECT :x::int * 2", x="21") == [[42]]
        with pytest.raises(pg8000.native.DatabaseError) as info:
            conn.run("SELECT * FROM missing_table")
        assert info.value.args[0]["C"] == "42P01"
        assert conn.run("SELECT 1") == [[1]]
    finally:
        conn.close()


def test_prepared_statement_object(server, database):
    import pg8000.native
    dbname = database.split("dbname=")[1].split()[0]
    conn = pg8000.native.Connection("postgres", host=server.host, port=server.port,
                                    database=dbname)
    try:
        ps = conn.prepare("SELECT CAST(:v AS integer) * 10")
        assert [ps.run(v=i) for i in range(3)] == [[[0]], [[10]], [[20]]]
        ps.close()
    finally:
        conn.close()
