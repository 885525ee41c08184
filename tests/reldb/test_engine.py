"""The engine through its session API (no protocol): statements, transactions,
savepoints, constraints, settings, prepared statements, COPY data, cancellation."""

import threading
import time

import pytest

from fromscratch.reldb import types as T
from fromscratch.reldb.engine import Engine
from fromscratch.reldb.errors import SqlError


@pytest.fixture
def session(engine):
    s = engine.new_session()
    s.connect("postgres", "postgres", {})
    return s


def run(session, sql):
    """Text of every row of the last statement's result."""
    results = list(session.simple_query(sql))
    last = results[-1]
    if last.columns is None:
        return last.tag
    return [tuple(None if v is None else T.to_text(v, t) for v, (_, t) in zip(row, last.columns))
            for row in last.rows]


def error(session, sql):
    with pytest.raises(SqlError) as info:
        list(session.simple_query(sql))
    return info.value.code


def test_create_insert_select(session):
    run(session, "CREATE TABLE t (id serial PRIMARY KEY, name text NOT NULL, score numeric(5,1))")
    assert run(session, "INSERT INTO t (name, score) VALUES ('a', 1.25), ('b', NULL)") == "INSERT 0 2"
    assert run(session, "SELECT id, name, score FROM t ORDER BY id") == [("1", "a", "1.3"), ("2", "b", None)]
    assert run(session, "SELECT count(*), avg(score) FROM t") == [("2", "1.30000000000000000000")]


def test_constraint_errors(session):
    run(session, "CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE c (p int REFERENCES p, "
                 "n int CHECK (n > 0))")
    run(session, "INSERT INTO p VALUES (1)")
    assert error(session, "INSERT INTO p VALUES (1)") == "23505"
    assert error(session, "INSERT INTO c VALUES (2, 1)") == "23503"
    assert error(session, "INSERT INTO c VALUES (1, 0)") == "23514"
    assert error(session, "INSERT INTO p VALUES (NULL)") == "23502"
    run(session, "INSERT INTO c VALUES (1, 1)")
    assert error(session, "DELETE FROM p") == "23503"


def test_statements_of_one_query_share_a_transaction(session):
    run(session, "CREATE TABLE t (a int PRIMARY KEY)")
    assert error(session, "INSERT INTO t VALUES (1); INSERT INTO t VALUES (1)") == "23505"
    assert run(session, "SELECT count(*) FROM t") == [("0",)]


def test_explicit_transactions_and_savepoints(session):
    run(session, "CREATE TABLE t (a int)")
    run(session, "BEGIN")
    assert session.status == "T"
    run(session, "INSERT INTO t VALUES (1); SAVEPOINT s1; INSERT INTO t VALUES (2)")
    run(session, "ROLLBACK TO SAVEPOINT s1")
    run(session, "INSERT INTO t VALUES (3)")
    assert error(session, "SELECT * FROM missing") == "42P01"
    assert session.status == "E"
    assert error(session, "SELECT 1") == "25P02"
    run(session, "ROLLBACK TO s1")
    assert session.status == "T"
    run(session, "COMMIT")
    assert session.status == "I"
    assert run(session, "SELECT a FROM t ORDER BY a") == [("1",)]


def test_ddl_rolls_back(session):
    run(session, "BEGIN; CREATE TABLE gone (a int); INSERT INTO gone VALUES (1); ROLLBACK")
    assert error(session, "SELECT * FROM gone") == "42P01"


def test_commit_of_a_failed_transaction_rolls_back(session):
    run(session, "CREATE TABLE t (a int)")
    run(session, "BEGIN; INSERT INTO t VALUES (1)")
    error(session, "SELECT 1/0")
    assert run(session, "COMMIT") == "ROLLBACK"
    assert run(session, "SELECT count(*) FROM t") == [("0",)]


def test_settings(session):
    run(session, "SET search_path TO myschema, public")
    assert run(session, "SHOW search_path") == [("myschema, public",)]
    run(session, "RESET search_path")
    assert run(session, "SHOW search_path") == [('"$user", public',)]
    assert error(session, "SET no_such_setting = 1") == "42704"
    run(session, "SET TIME ZONE 'UTC'")
    assert session.changed_parameters["TimeZone"] == "UTC"


def test_prepared_statements_plan_once(session):
    run(session, "CREATE TABLE t (id int PRIMARY KEY, v text)")
    run(session, "INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 10) g")
    prepared = session.prepare("SELECT v FROM t WHERE id = $1", [T.UNKNOWN])
    assert prepared.param_types == [T.INT4]
    assert [(c, t.name) for c, t in prepared.columns] == [("v", "text")]
    plan = prepared.plan
    assert session.execute(prepared, [3]).rows == [("v3",)]
    assert session.execute(prepared, [4]).rows == [("v4",)]
    assert prepared.plan is plan
    assert "Index Scan" in plan.explain_lines()[0] or "Index Scan" in "\n".join(plan.explain_lines())


def test_index_lookup_with_a_wider_integer_key(session):
    run(session, "CREATE TABLE t (id int PRIMARY KEY, v text)")
    run(session, "INSERT INTO t VALUES (1, 'one')")
    prepared = session.prepare("SELECT v FROM t WHERE id = $1", [T.INT8])
    assert "Index Scan" in "\n".join(prepared.plan.explain_lines())
    assert session.execute(prepared, [1]).rows == [("one",)]
    assert session.execute(prepared, [2 ** 40]).rows == []


def test_parameter_types_are_inferred_from_context(session):
    run(session, "CREATE TABLE t (a bigint, b date, c boolean)")
    prepared = session.prepare("INSERT INTO t VALUES ($1, $2, $3)", [])
    assert [t.name for t in prepared.param_types] == ["int8", "date", "bool"]
    prepared = session.prepare("SELECT $1::int + $2", [])
    assert [t.name for t in prepared.param_types] == ["int4", "int4"]


def test_copy_in_text_format(session):
    run(session, "CREATE TABLE t (a int, b text)")
    result, = list(session.simple_query("COPY t FROM STDIN"))
    result.copy_in.feed(b"1\tone\n2\t\\N\n3\tth")
    result.copy_in.feed(b"ree\\tx\n\\.\n")
    assert session.finish_copy(result, None).tag == "COPY 3"
    assert run(session, "SELECT a, b FROM t ORDER BY a") == [("1", "one"), ("2", None), ("3", "three\tx")]


def test_cancel_interrupts_a_running_statement(session):
    engine = session.engine

    def cancel_once_running():
        while not session.running:
            time.sleep(0.01)
        engine.cancel(session.pid, session.secret)
    thread = threading.Thread(target=cancel_once_running)
    thread.start()
    assert error(session, "SELECT pg_sleep(30)") == "57014"
    thread.join()
    assert run(session, "SELECT 1") == [("1",)]


def test_wrong_cancel_key_is_ignored(session):
    assert not session.engine.cancel(session.pid, session.secret + 1)


def test_databases_are_separate(session):
    run(session, "CREATE DATABASE other")
    assert error(session, "CREATE DATABASE other") == "42P04"
    other = session.engine.new_session()
    other.connect("postgres", "other", {})
    list(other.simple_query("CREATE TABLE only_here (a int)"))
    assert error(session, "SELECT * FROM only_here") == "42P01"
    with pytest.raises(SqlError) as info:
        session.engine.new_session().connect("postgres", "missing", {})
    assert info.value.code == "3D000"


def test_rows_over_a_page_are_compressed_or_refused_with_a_clear_error(tmp_path):
    def open_session():
        engine = Engine(str(tmp_path / "data"))
        session = engine.new_session()
        session.connect("postgres", "postgres", {})
        return engine, session
    engine, session = open_session()
    run(session, "CREATE TABLE docs (id int PRIMARY KEY, body text, raw bytea)")
    run(session, "INSERT INTO docs (id, body) VALUES (1, repeat('ab', 500000))")
    run(session, "UPDATE docs SET body = body || 'c' WHERE id = 1")
    # md5 digests do not compress: a thousand of them cannot fit a page.
    assert error(session, "INSERT INTO docs (id, raw) SELECT 2, decode(string_agg(md5(g::text), "
                          "''), 'hex') FROM generate_series(1, 1000) g") == "54000"
    engine.close()
    engine, session = open_session()
    assert run(session, "SELECT id, length(body), right(body, 3) FROM docs") == \
        [("1", "1000001", "abc")]
    engine.close()


def test_statements_differing_only_in_numbers_share_a_plan_and_get_their_own_values(session):
    from fromscratch.reldb.sql import lexer
    run(session, "CREATE TABLE t1 (a int, b text)")
    run(session, "INSERT INTO t1 VALUES (1, 'x'), (2, 'y'), (3, 'z')")
    assert run(session, "SELECT a + 10 FROM t1 WHERE a = 2") == [("12",)]
    calls = []
    real = lexer.tokenize

    def counting(text):
        calls.append(text)
        return real(text)
    import fromscratch.reldb.engine as engine_module
    engine_module.tokenize, saved = counting, engine_module.tokenize
    try:
        assert run(session, "SELECT a + 10 FROM t1 WHERE a = 2") == [("12",)]
        assert run(session, "SELECT a + 20 FROM t1 WHERE a = 3") == [("23",)]
        assert calls == []                 # known shapes: not even tokenized
        # A number of another type is another shape; ORDER BY's position is no value.
        assert run(session, "SELECT a + 3000000000 FROM t1 WHERE a = 1") == [("3000000001",)]
        assert run(session, "SELECT a FROM t1 WHERE a >= 2 ORDER BY 1") == [("2",), ("3",)]
        assert run(session, "SELECT b, a FROM t1 WHERE a >= 2 ORDER BY 2 DESC") == \
            [("z", "3"), ("y", "2")]
        assert run(session, "SELECT b, a FROM t1 WHERE a >= 1 ORDER BY 1 DESC") == \
            [("z", "3"), ("y", "2"), ("x", "1")]
        assert run(session, "SELECT 'a1' || a FROM t1 WHERE a = 1") == [("a11",)]
        assert run(session, "SELECT 'a1' || a FROM t1 WHERE a = 2") == [("a12",)]
    finally:
        engine_module.tokenize = saved
