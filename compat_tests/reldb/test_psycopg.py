"""psycopg 3 against reldb and PostgreSQL: parameters of every type, executemany,
prepared statements, transactions, COPY, server-side cursors, errors, cancel."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from decimal import Decimal

import pytest

psycopg = pytest.importorskip("psycopg")
from psycopg import errors  # noqa: E402
from psycopg.types.json import Json, Jsonb  # noqa: E402

VALUES = [
    ("boolean", True),
    ("boolean", False),
    ("smallint", 7),
    ("integer", 41),
    ("integer", -2147483648),
    ("bigint", 2 ** 40),
    ("real", 1.5),
    ("double precision", 3.141592653589793),
    ("numeric(12,3)", Decimal("1234.500")),
    ("numeric", Decimal("-0.000001")),
    ("text", "héllo wörld"),
    ("varchar(10)", "short"),
    ("char(3)", "ab "),
    ("bytea", b"\x00\xff\x10"),
    ("date", dt.date(2024, 2, 29)),
    ("time", dt.time(13, 14, 15, 123456)),
    ("timestamp", dt.datetime(2024, 1, 2, 3, 4, 5, 678901)),
    ("timestamptz", dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)),
    ("interval", dt.timedelta(days=3, hours=4, minutes=5)),
    ("uuid", uuid.UUID("12345678-1234-5678-1234-567812345678")),
    ("jsonb", {"a": [1, 2, {"b": None}], "c": "d"}),
    ("json", [1, "two", 3.5]),
    ("integer[]", [1, 2, None, 4]),
    ("text[]", ["a", "b c", ""]),
]


@pytest.mark.parametrize("sql_type,value", VALUES, ids=[f"{t}-{i}" for i, (t, _) in enumerate(VALUES)])
def test_parameter_roundtrip_through_a_table(conn, sql_type, value):
    conn.execute(f"CREATE TABLE t (v {sql_type})")
    param = Jsonb(value) if sql_type == "jsonb" else Json(value) if sql_type == "json" else value
    conn.execute("INSERT INTO t VALUES (%s)", (param,))
    got = conn.execute("SELECT v FROM t").fetchone()[0]
    assert got == value
    # The same value compares equal to the parameter on the server side, too.
    # (psycopg sends lists of small ints as smallint[], which PostgreSQL will not compare
    # with integer[]; floats are compared in the table round trip only.)
    if sql_type not in ("json", "jsonb", "real", "double precision", "integer[]"):
        count = conn.execute("SELECT count(*) FROM t WHERE v = %s", (param,)).fetchone()[0]
        assert count == 1


def test_binary_results(conn):
    conn.execute("CREATE TABLE t (a int, b text, c numeric(8,2), d timestamp, e bool, f float8)")
    conn.execute("INSERT INTO t VALUES (1, 'x', 12.50, '2024-01-01 10:00', true, 0.25)")
    cur = conn.cursor(binary=True)
    row = cur.execute("SELECT a, b, c, d, e, f FROM t").fetchone()
    assert row == (1, "x", Decimal("12.50"), dt.datetime(2024, 1, 1, 10), True, 0.25)


def test_small_int_parameter_compares_with_int_column(conn):
    conn.execute("CREATE TABLE t (id int PRIMARY KEY, big bigint)")
    conn.execute("INSERT INTO t VALUES (41, 5000000000)")
    assert conn.execute("SELECT id FROM t WHERE id = %s", (41,)).fetchone() == (41,)
    assert conn.execute("SELECT id FROM t WHERE big = %s", (5000000000,)).fetchone() == (41,)
    assert conn.execute("SELECT %s + %s", (1, 2)).fetchone() == (3,)


def test_executemany_and_returning(conn):
    conn.execute("CREATE TABLE t (id serial PRIMARY KEY, name text, n int)")
    cur = conn.cursor()
    cur.executemany("INSERT INTO t (name, n) VALUES (%s, %s)", [(f"r{i}", i) for i in range(50)])
    assert conn.execute("SELECT count(*), sum(n) FROM t").fetchone() == (50, sum(range(50)))
    cur.executemany("INSERT INTO t (name, n) VALUES (%s, %s) RETURNING id",
                    [("x", 1), ("y", 2)], returning=True)
    ids = []
    while True:
        ids.append(cur.fetchone()[0])
        if not cur.nextset():
            break
    assert ids == [51, 52]


def test_prepared_statement_after_five_runs(conn):
    conn.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
    conn.execute("INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 20) g")
    for i in range(1, 12):
        assert conn.execute("SELECT v FROM t WHERE id = %s", (i,)).fetchone() == (f"v{i}",)
    names = [r[0] for r in conn.execute("SELECT name FROM pg_prepared_statements")]
    assert any(n.startswith("_pg3_") for n in names)
    conn.execute("CREATE TABLE other (x int)")      # DDL: cached plans must still work
    assert conn.execute("SELECT v FROM t WHERE id = %s", (3,)).fetchone() == ("v3",)
    conn.execute("DEALLOCATE ALL")
    assert conn.execute("SELECT v FROM t WHERE id = %s", (4,)).fetchone() == ("v4",)


def test_explicit_prepare(conn):
    conn.execute("PREPARE q (int) AS SELECT $1 * 2")
    assert conn.execute("EXECUTE q (21)").fetchone() == (42,)
    conn.execute("DEALLOCATE q")
    with pytest.raises(errors.InvalidSqlStatementName):
        conn.execute("EXECUTE q (1)")


def test_transactions_commit_and_rollback(database):
    with psycopg.connect(database) as conn:
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        conn.execute("CREATE TABLE t (x int)")
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        conn.commit()
        conn.execute("INSERT INTO t VALUES (1)")
        conn.rollback()
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)
        conn.execute("INSERT INTO t VALUES (2)")
        conn.commit()
        with conn.transaction():
            conn.execute("INSERT INTO t VALUES (3)")
            with pytest.raises(errors.UndefinedTable):
                with conn.transaction():            # a savepoint
                    conn.execute("INSERT INTO t VALUES (4)")
                    conn.execute("SELECT * FROM missing")
        assert sorted(r[0] for r in conn.execute("SELECT x FROM t")) == [2, 3]


def test_failed_transaction_state(database):
    with psycopg.connect(database) as conn:
        with pytest.raises(errors.DivisionByZero):
            conn.execute("SELECT 1/0")
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
        with pytest.raises(errors.InFailedSqlTransaction):
            conn.execute("SELECT 1")
        conn.rollback()
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_autocommit_ddl_rolls_back_in_a_block(conn):
    with conn.transaction(force_rollback=True):
        conn.execute("CREATE TABLE gone (x int)")
        conn.execute("INSERT INTO gone VALUES (1)")
    with pytest.raises(errors.UndefinedTable):
        conn.execute("SELECT * FROM gone")


def test_copy_in_and_out(conn):
    conn.execute("CREATE TABLE t (id int PRIMARY KEY, name text, note text)")
    cur = conn.cursor()
    with cur.copy("COPY t (id, name, note) FROM STDIN") as copy:
        for i in range(100):
            copy.write_row((i, f"name {i}", None if i % 2 else "tab\there"))
    assert conn.execute("SELECT count(*), count(note) FROM t").fetchone() == (100, 50)
    assert conn.execute("SELECT note FROM t WHERE id = 0").fetchone() == ("tab\there",)
    with cur.copy("COPY (SELECT id, note FROM t WHERE id < 3 ORDER BY id) TO STDOUT") as copy:
        rows = list(copy.rows())
    assert rows == [("0", "tab\there"), ("1", None), ("2", "tab\there")]
    with cur.copy("COPY t TO STDOUT (FORMAT csv, HEADER)") as copy:
        text = b"".join(copy).decode()
    assert text.splitlines()[0] == "id,name,note"
    assert len(text.splitlines()) == 101


def test_copy_csv_in(conn):
    conn.execute("CREATE TABLE t (a int, b text)")
    with conn.cursor().copy("COPY t FROM STDIN (FORMAT csv)") as copy:
        copy.write(b'1,"hello, world"\n2,\n3,""\n')
    rows = conn.execute("SELECT a, b FROM t ORDER BY a").fetchall()
    assert rows == [(1, "hello, world"), (2, None), (3, "")]


def test_copy_binary_format(conn):
    conn.execute("CREATE TABLE t (a int, b text, c numeric(6,2), d timestamp)")
    rows = [(1, "x", Decimal("1.50"), dt.datetime(2024, 1, 1, 8)), (2, None, None, None)]
    with conn.cursor().copy("COPY t FROM STDIN (FORMAT binary)") as copy:
        copy.set_types(["int4", "text", "numeric", "timestamp"])
        for row in rows:
            copy.write_row(row)
    with conn.cursor().copy("COPY t TO STDOUT (FORMAT binary)") as copy:
        copy.set_types(["int4", "text", "numeric", "timestamp"])
        assert sorted(copy.rows(), key=lambda r: r[0]) == rows


def test_copy_error_rolls_back(conn):
    conn.execute("CREATE TABLE t (a int PRIMARY KEY)")
    with pytest.raises(errors.InvalidTextRepresentation):
        with conn.cursor().copy("COPY t FROM STDIN") as copy:
            copy.write(b"1\n2\nnot a number\n")
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)


def test_server_side_cursor(database):
    with psycopg.connect(database) as conn:
        conn.execute("CREATE TABLE t AS SELECT g AS n FROM generate_series(1, 1000) g")
        with conn.cursor(name="big") as cur:
            cur.itersize = 100
            cur.execute("SELECT n FROM t ORDER BY n")
            first = cur.fetchmany(10)
            rest = cur.fetchall()
        assert [r[0] for r in first] == list(range(1, 11))
        assert len(rest) == 990


ERRORS = [
    ("CREATE TABLE t (a int PRIMARY KEY); INSERT INTO t VALUES (1); INSERT INTO t VALUES (1)",
     errors.UniqueViolation),
    ("CREATE TABLE t (a int NOT NULL); INSERT INTO t VALUES (NULL)", errors.NotNullViolation),
    ("CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE c (p int REFERENCES p);"
     " INSERT INTO c VALUES (5)", errors.ForeignKeyViolation),
    ("CREATE TABLE t (a int CHECK (a > 0)); INSERT INTO t VALUES (0)", errors.CheckViolation),
    ("SELECT * FROM nowhere", errors.UndefinedTable),
    ("SELECT nothing FROM pg_class", errors.UndefinedColumn),
    ("SELEC 1", errors.SyntaxError),
    ("CREATE TABLE t (a int); CREATE TABLE t (a int)", errors.DuplicateTable),
    ("SELECT 'abc'::int", errors.InvalidTextRepresentation),
    ("SELECT 2147483647 + 1", errors.NumericValueOutOfRange),
    ("SELECT 1 / 0", errors.DivisionByZero),
    ("SELECT no_such_function(1)", errors.UndefinedFunction),
    ("CREATE TABLE t (v varchar(3)); INSERT INTO t VALUES ('abcd')", errors.StringDataRightTruncation),
]


@pytest.mark.parametrize("sql,error", ERRORS, ids=[e.__name__ for _, e in ERRORS])
def test_errors_map_to_psycopg_classes(conn, sql, error):
    statements = [s for s in sql.split(";") if s.strip()]
    for s in statements[:-1]:
        conn.execute(s)
    with pytest.raises(error):
        conn.execute(statements[-1])


def test_error_fields(conn):
    conn.execute("CREATE TABLE t (a int PRIMARY KEY)")
    conn.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(errors.UniqueViolation) as info:
        conn.execute("INSERT INTO t VALUES (1)")
    diag = info.value.diag
    assert diag.constraint_name == "t_pkey"
    assert diag.table_name == "t"
    assert diag.message_detail == "Key (a)=(1) already exists."
    with pytest.raises(errors.SyntaxError) as info:
        conn.execute("SELECT 1 FROM WHERE")
    assert info.value.diag.statement_position == "15"


def test_notice_on_drop_if_exists(conn):
    notices = []
    conn.add_notice_handler(lambda diag: notices.append(diag.message_primary))
    conn.execute("DROP TABLE IF EXISTS not_there")
    assert notices == ['table "not_there" does not exist, skipping']


def _cancel_when_running(conn, watcher, sql_start):
    """Cancel `conn`'s query once pg_stat_activity shows it running (no timing guess)."""
    while not watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                              "AND query LIKE %s", (sql_start + "%",)).fetchone()[0]:
        time.sleep(0.05)
    conn.cancel()


def test_cancel_a_running_query(database):
    with psycopg.connect(database, autocommit=True) as conn, \
            psycopg.connect(database, autocommit=True) as watcher:
        thread = threading.Thread(target=_cancel_when_running,
                                  args=(conn, watcher, "SELECT pg_sleep(30)"))
        thread.start()
        with pytest.raises(errors.QueryCanceled) as info:
            conn.execute("SELECT pg_sleep(30)")
        thread.join()
        assert "canceling statement due to user request" in str(info.value)
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_cancel_a_long_scan(database):
    with psycopg.connect(database, autocommit=True) as conn, \
            psycopg.connect(database, autocommit=True) as watcher:
        conn.execute("CREATE TABLE t AS SELECT g AS n FROM generate_series(1, 2000) g")
        thread = threading.Thread(target=_cancel_when_running,
                                  args=(conn, watcher, "SELECT count(*) FROM t a, t b, t c"))
        thread.start()
        with pytest.raises(errors.QueryCanceled):
            conn.execute("SELECT count(*) FROM t a, t b, t c")
        thread.join()


def test_slow_query_does_not_stall_other_sessions(database):
    with psycopg.connect(database, autocommit=True) as slow, \
            psycopg.connect(database, autocommit=True) as fast:
        outcome = []

        def run_slow():
            try:
                slow.execute("SELECT pg_sleep(60)")
                outcome.append("finished")
            except errors.QueryCanceled:
                outcome.append("canceled")
        thread = threading.Thread(target=run_slow)
        thread.start()
        while not fast.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE "
                               "'SELECT pg_sleep(60)%'").fetchone()[0]:
            time.sleep(0.05)
        for _ in range(5):
            assert fast.execute("SELECT 1").fetchone() == (1,)
        slow.cancel()               # the slow query is still running: stop it
        thread.join()
        assert outcome == ["canceled"]


def test_statement_timeout(conn):
    conn.execute("SET statement_timeout = '200ms'")
    with pytest.raises(errors.QueryCanceled):
        conn.execute("SELECT pg_sleep(5)")
    conn.execute("RESET statement_timeout")


def test_pipeline_mode(conn):
    conn.execute("CREATE TABLE t (a int)")
    with conn.pipeline():
        cur = conn.cursor()
        for i in range(10):
            cur.execute("INSERT INTO t VALUES (%s)", (i,))
        cur.execute("SELECT sum(a) FROM t")
    assert cur.fetchone() == (45,)


def test_settings_and_parameter_status(conn):
    conn.execute("SET application_name = 'compat-test'")
    assert conn.info.parameter_status("application_name") == "compat-test"
    assert conn.execute("SHOW application_name").fetchone() == ("compat-test",)
    conn.execute("SET TIME ZONE 'America/New_York'")
    row = conn.execute("SELECT '2024-07-01 12:00:00+00'::timestamptz::text").fetchone()
    assert row == ("2024-07-01 08:00:00-04",)
    assert conn.execute("SHOW transaction isolation level").fetchone() == ("read committed",)
    assert conn.info.server_version >= 150000


def test_missing_database_is_3d000(server):
    with pytest.raises(psycopg.OperationalError) as info:
        psycopg.connect(server.conninfo("no_such_db"))
    assert 'database "no_such_db" does not exist' in str(info.value)


def test_failed_pipeline_rolls_back_the_whole_batch(conn):
    conn.execute("CREATE TABLE t (a int PRIMARY KEY)")
    with pytest.raises(errors.UniqueViolation):
        conn.cursor().executemany("INSERT INTO t VALUES (%s)", [(1,), (2,), (2,), (3,)])
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)


def test_many_sessions_at_once(database):
    results = []

    def work(n):
        with psycopg.connect(database, autocommit=True) as c:
            c.execute("CREATE TABLE IF NOT EXISTS shared (n int)")
            for i in range(20):
                c.execute("INSERT INTO shared VALUES (%s)", (n * 100 + i,))
            results.append(c.execute("SELECT count(*) FROM shared WHERE n / 100 = %s",
                                     (n,)).fetchone()[0])

    with psycopg.connect(database, autocommit=True) as c:
        c.execute("CREATE TABLE shared (n int)")
    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [20] * 8
    with psycopg.connect(database) as c:
        assert c.execute("SELECT count(*), count(DISTINCT n) FROM shared").fetchone() == (160, 160)


def test_listen_notify(database):
    with psycopg.connect(database, autocommit=True) as listener, \
            psycopg.connect(database, autocommit=True) as sender:
        listener.execute("LISTEN jobs")
        sender.execute("NOTIFY jobs, 'first'")
        with sender.transaction():
            sender.execute("SELECT pg_notify('jobs', 'second')")
            sender.execute("SELECT pg_notify('jobs', 'second')")     # folded: same payload
        try:
            with sender.transaction():
                sender.execute("NOTIFY jobs, 'rolled back'")
                raise RuntimeError
        except RuntimeError:
            pass
        received = []
        for note in listener.notifies(timeout=5, stop_after=2):
            received.append((note.channel, note.payload, note.pid == sender.info.backend_pid))
        assert received == [("jobs", "first", True), ("jobs", "second", True)]
        listener.execute("UNLISTEN *")
        sender.execute("NOTIFY jobs, 'unheard'")
        assert list(listener.notifies(timeout=0.5)) == []
