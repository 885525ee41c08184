"""pgbench, unmodified: initialisation (DROP/CREATE, COPY, VACUUM, primary keys), the
default TPC-B-like script, -S and -M prepared; the balances add up afterwards."""

from __future__ import annotations

import shutil
import subprocess

import pytest

psycopg = pytest.importorskip("psycopg")
pytestmark = pytest.mark.skipif(shutil.which("pgbench") is None,
                                reason="pgbench is not installed")


def pgbench(server, dbname, *args):
    command = ["pgbench", "-h", server.host, "-p", str(server.port), "-U", "postgres", *args,
               dbname]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr


def test_pgbench_runs_and_balances_hold(server, database):
    dbname = database.split("dbname=")[1].split()[0]
    out = pgbench(server, dbname, "-i", "-s", "1", "-q")
    assert "done" in out
    # Without -n a run first vacuums and truncates pgbench_history: only the first
    # run that writes may do that, or the balances would no longer add up.
    for args in (["-S", "-c", "2", "-t", "200", "-M", "prepared"], ["-c", "2", "-t", "100"],
                 ["-n", "-c", "2", "-t", "100", "-M", "prepared"]):
        out = pgbench(server, dbname, *args)
        assert "number of failed transactions: 0" in out
    with psycopg.connect(database) as conn:
        accounts, tellers, branches, history, count = conn.execute(
            "SELECT (SELECT sum(abalance) FROM pgbench_accounts),"
            " (SELECT sum(tbalance) FROM pgbench_tellers),"
            " (SELECT sum(bbalance) FROM pgbench_branches),"
            " (SELECT sum(delta) FROM pgbench_history),"
            " (SELECT count(*) FROM pgbench_history)").fetchone()
    assert count == 400
    assert accounts == tellers == branches == history
