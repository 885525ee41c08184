"""Two sessions at once: the classic anomalies at each isolation level, row locks and
their waits, deadlocks, SELECT ... FOR UPDATE and savepoints, as PostgreSQL behaves.
Each test runs against reldb and against a real PostgreSQL.

Steps that block (a writer waiting for another transaction's row) run in a thread; a
step is taken as blocked when it has not finished 0.3 s after it began.
"""

from __future__ import annotations

import threading

import pytest

psycopg = pytest.importorskip("psycopg")
errors = psycopg.errors

LEVELS = ["read committed", "repeatable read", "serializable"]
BLOCKED = 0.3


def connect(conninfo):
    return psycopg.connect(conninfo, autocommit=True)


@pytest.fixture
def accounts(database):
    with connect(database) as c:
        c.execute("CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL)")
        c.execute("INSERT INTO accounts VALUES (1, 100), (2, 100)")
    return database


def balance(conn, account=1):
    return conn.execute("SELECT balance FROM accounts WHERE id = %s", (account,)).fetchone()[0]


class Background:
    """Run one statement in another thread; remember its result or its error."""

    def __init__(self, conn, sql, params=None):
        self.result = self.error = None
        self.thread = threading.Thread(target=self._run, args=(conn, sql, params))
        self.thread.start()

    def _run(self, conn, sql, params):
        try:
            cur = conn.execute(sql, params)
            self.result = cur.fetchall() if cur.description else cur.rowcount
        except psycopg.Error as exc:
            self.error = exc

    def blocked(self) -> bool:
        self.thread.join(BLOCKED)
        return self.thread.is_alive()

    def finish(self):
        self.thread.join(10)
        assert not self.thread.is_alive(), "still blocked"
        return self


@pytest.mark.parametrize("level", LEVELS)
def test_no_dirty_reads(accounts, level):
    with connect(accounts) as t1, connect(accounts) as t2:
        t1.execute("BEGIN")
        t1.execute("UPDATE accounts SET balance = 0 WHERE id = 1")
        t2.execute(f"BEGIN ISOLATION LEVEL {level}")
        assert balance(t2) == 100                   # not the uncommitted 0
        t1.execute("ROLLBACK")
        assert balance(t2) == 100
        t2.execute("COMMIT")


@pytest.mark.parametrize("level, second_read", [("read committed", 50),
                                                ("repeatable read", 100),
                                                ("serializable", 100)])
def test_non_repeatable_reads(accounts, level, second_read):
    with connect(accounts) as t1, connect(accounts) as t2:
        t2.execute(f"BEGIN ISOLATION LEVEL {level}")
        assert balance(t2) == 100
        t1.execute("UPDATE accounts SET balance = 50 WHERE id = 1")     # commits
        assert balance(t2) == second_read
        t2.execute("COMMIT")
        assert balance(t2) == 50


@pytest.mark.parametrize("level, rows", [("read committed", 3), ("repeatable read", 2),
                                         ("serializable", 2)])
def test_phantoms(accounts, level, rows):
    with connect(accounts) as t1, connect(accounts) as t2:
        t2.execute(f"BEGIN ISOLATION LEVEL {level}")
        assert t2.execute("SELECT count(*) FROM accounts").fetchone() == (2,)
        t1.execute("INSERT INTO accounts VALUES (3, 100)")
        assert t2.execute("SELECT count(*) FROM accounts").fetchone() == (rows,)
        t2.execute("COMMIT")


def test_concurrent_increments_wait_and_lose_nothing(accounts):
    """READ COMMITTED: the second writer waits for the first, then adds to its result."""
    with connect(accounts) as t1, connect(accounts) as t2:
        t1.execute("BEGIN")
        t1.execute("UPDATE accounts SET balance = balance + 10 WHERE id = 1")
        t2.execute("BEGIN")
        second = Background(t2, "UPDATE accounts SET balance = balance + 10 WHERE id = 1 "
                                "RETURNING balance")
        assert second.blocked()
        t1.execute("COMMIT")
        assert second.finish().result == [(120,)]
        t2.execute("COMMIT")
        assert balance(t1) == 120


def test_waiting_writer_rechecks_its_condition(accounts):
    """READ COMMITTED: a row that no longer matches after the wait is left alone."""
    with connect(accounts) as t1, connect(accounts) as t2:
        t1.execute("BEGIN")
        t1.execute("UPDATE accounts SET balance = 0 WHERE id = 1")
        second = Background(t2, "UPDATE accounts SET balance = balance + 1 "
                                "WHERE balance = 100")
        assert second.blocked()
        t1.execute("COMMIT")
        assert second.finish().result == 1         # only account 2 still matched
        assert (balance(t1, 1), balance(t1, 2)) == (0, 101)


def test_lost_update_with_client_side_arithmetic_in_read_committed(accounts):
    """The anomaly READ COMMITTED allows: both read 100, both write 100 + 10."""
    with connect(accounts) as t1, connect(accounts) as t2:
        t1.execute("BEGIN")
        t2.execute("BEGIN")
        seen1, seen2 = balance(t1), balance(t2)
        t1.execute("UPDATE accounts SET balance = %s WHERE id = 1", (seen1 + 10,))
        t1.execute("COMMIT")
        t2.execute("UPDATE accounts SET balance = %s WHERE id = 1", (seen2 + 10,))
        t2.execute("COMMIT")
        assert balance(t1) == 110


@pytest.mark.parametrize("level", ["repeatable read", "serializable"])
def test_lost_update_is_a_serialization_failure(accounts, level):
    with connect(accounts) as t1, connect(accounts) as t2:
        t1.execute(f"BEGIN ISOLATION LEVEL {level}")
        t2.execute(f"BEGIN ISOLATION LEVEL {level}")
        seen1, seen2 = balance(t1), balance(t2)
        t1.execute("UPDATE accounts SET balance = %s WHERE id = 1", (seen1 + 10,))
        t1.execute("COMMIT")
        with pytest.raises(errors.SerializationFailure) as info:
            t2.execute("UPDATE accounts SET balance = %s WHERE id = 1", (seen2 + 10,))
        assert "could not serialize access due to concurrent update" in str(info.value)
        t2.execute("ROLLBACK")
        assert balance(t1) == 110


@pytest.mark.parametrize("level", ["repeatable read", "serializable"])
def test_waiting_writer_fails_when_the_holder_commits(accounts, level):
    with connect(accounts) as t1, connect(accounts) as t2:
        t1.execute("BEGIN")
        t1.execute("UPDATE accounts SET balance = 0 WHERE id = 1")
        t2.execute(f"BEGIN ISOLATION LEVEL {level}")
        assert balance(t2, 2) == 100                 # the snapshot is taken
        second = Background(t2, "UPDATE accounts SET balance = 1 WHERE id = 1")
        assert second.blocked()
        t1.execute("COMMIT")
        assert isinstance(second.finish().error, errors.SerializationFailure)
        t2.execute("ROLLBACK")


@pytest.fixture
def doctors(database):
    with connect(database) as c:
        c.execute("CREATE TABLE doctors (name text PRIMARY KEY, on_call bool NOT NULL)")
        c.execute("INSERT INTO doctors VALUES ('alice', true), ('bob', true)")
    return database


def _write_skew(conninfo, level):
    """Each doctor checks that another is on call, then goes off call. Returns how many
    of the two transactions committed, and how many doctors are left on call."""
    with connect(conninfo) as t1, connect(conninfo) as t2:
        sessions = {"alice": t1, "bob": t2}
        alive = dict.fromkeys(sessions, True)

        def step(name, sql):
            if not alive[name]:
                return
            try:
                sessions[name].execute(sql)
            except errors.SerializationFailure:
                alive[name] = False
                sessions[name].execute("ROLLBACK")
        for name in sessions:
            step(name, f"BEGIN ISOLATION LEVEL {level}")
        for name in sessions:
            step(name, "SELECT count(*) FROM doctors WHERE on_call")
        for name in sessions:
            step(name, f"UPDATE doctors SET on_call = false WHERE name = '{name}'")
        for name in sessions:
            step(name, "COMMIT")
        left = t1.execute("SELECT count(*) FROM doctors WHERE on_call").fetchone()[0]
        return sum(alive.values()), left


@pytest.mark.parametrize("level", ["read committed", "repeatable read"])
def test_write_skew_is_allowed_below_serializable(doctors, level):
    assert _write_skew(doctors, level) == (2, 0)


def test_write_skew_is_refused_by_serializable(doctors):
    committed, left = _write_skew(doctors, "serializable")
    assert committed == 1 and left == 1


def test_deadlock_is_detected(accounts):
    with connect(accounts) as t1, connect(accounts) as t2:
        t1.execute("BEGIN")
        t2.execute("BEGIN")
        t1.execute("UPDATE accounts SET balance = 1 WHERE id = 1")
        t2.execute("UPDATE accounts SET balance = 2 WHERE id = 2")
        first = Background(t1, "UPDATE accounts SET balance = 1 WHERE id = 2")
        assert first.blocked()
        # This closes the cycle: one of the two fails with 40P01 and rolls back, and
        # then the other goes ahead.
        second_error = None
        try:
            t2.execute("UPDATE accounts SET balance = 2 WHERE id = 1")
        except errors.DeadlockDetected as exc:
            second_error = exc
            t2.execute("ROLLBACK")
        if second_error is None:
            first.finish()
            assert isinstance(first.error, errors.DeadlockDetected)
            t1.execute("ROLLBACK")
            t2.execute("COMMIT")
            assert (balance(t1, 1), balance(t1, 2)) == (2, 2)
        else:
            assert first.finish().error is None
            t1.execute("COMMIT")
            assert (balance(t1, 1), balance(t1, 2)) == (1, 1)


def test_select_for_update_blocks_writers(accounts):
    with connect(accounts) as t1, connect(accounts) as t2:
        t1.execute("BEGIN")
        assert t1.execute("SELECT balance FROM accounts WHERE id = 1 FOR UPDATE").fetchone() \
            == (100,)
        writer = Background(t2, "UPDATE accounts SET balance = balance * 2 WHERE id = 1")
        assert writer.blocked()
        t1.execute("UPDATE accounts SET balance = 5 WHERE id = 1")
        t1.execute("COMMIT")
        assert writer.finish().error is None
        assert balance(t1) == 10
        t2.execute("BEGIN")
        t2.execute("SELECT * FROM accounts WHERE id = 2 FOR UPDATE")
        with pytest.raises(errors.LockNotAvailable):
            t1.execute("SELECT * FROM accounts WHERE id = 2 FOR UPDATE NOWAIT")
        assert t1.execute("SELECT id FROM accounts ORDER BY id FOR UPDATE SKIP LOCKED") \
            .fetchall() == [(1,)]
        t2.execute("COMMIT")


def test_rolling_back_to_a_savepoint_releases_its_row_locks(accounts):
    with connect(accounts) as t1, connect(accounts) as t2:
        t1.execute("BEGIN")
        t1.execute("UPDATE accounts SET balance = 1 WHERE id = 2")
        t1.execute("SAVEPOINT s")
        t1.execute("UPDATE accounts SET balance = 0 WHERE id = 1")
        t1.execute("ROLLBACK TO SAVEPOINT s")
        writer = Background(t2, "UPDATE accounts SET balance = 7 WHERE id = 1")
        assert not writer.blocked()                  # account 1 is free again
        blocked = Background(t2, "UPDATE accounts SET balance = 7 WHERE id = 2")
        assert blocked.blocked()                     # account 2 is still t1's
        t1.execute("COMMIT")
        assert blocked.finish().error is None
        assert (balance(t1, 1), balance(t1, 2)) == (7, 7)


@pytest.mark.parametrize("outcome", ["ROLLBACK", "COMMIT"])
def test_a_duplicate_key_waits_for_the_first_inserter(accounts, outcome):
    with connect(accounts) as t1, connect(accounts) as t2:
        t1.execute("BEGIN")
        t1.execute("INSERT INTO accounts VALUES (3, 1)")
        second = Background(t2, "INSERT INTO accounts VALUES (3, 2)")
        assert second.blocked()
        t1.execute(outcome)
        second.finish()
        if outcome == "COMMIT":
            assert isinstance(second.error, errors.UniqueViolation)
            assert balance(t1, 3) == 1
        else:
            assert second.error is None
            assert balance(t1, 3) == 2


def test_on_conflict_do_nothing_under_a_concurrent_insert(accounts):
    with connect(accounts) as t1, connect(accounts) as t2:
        t1.execute("BEGIN")
        t1.execute("INSERT INTO accounts VALUES (4, 1)")
        second = Background(t2, "INSERT INTO accounts VALUES (4, 2) ON CONFLICT DO NOTHING")
        assert second.blocked()
        t1.execute("COMMIT")
        assert second.finish().error is None and second.result == 0
        assert balance(t1, 4) == 1


def test_sessions_each_see_their_own_uncommitted_work(accounts):
    with connect(accounts) as t1, connect(accounts) as t2:
        t1.execute("BEGIN")
        t1.execute("INSERT INTO accounts VALUES (5, 5)")
        t1.execute("DELETE FROM accounts WHERE id = 2")
        assert t1.execute("SELECT id FROM accounts ORDER BY id").fetchall() == [(1,), (5,)]
        assert t2.execute("SELECT id FROM accounts ORDER BY id").fetchall() == [(1,), (2,)]
        t1.execute("COMMIT")
        assert t2.execute("SELECT id FROM accounts ORDER BY id").fetchall() == [(1,), (5,)]
