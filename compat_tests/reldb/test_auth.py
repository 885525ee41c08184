"""Password authentication with the real clients: SCRAM-SHA-256 (psql, psycopg, pg8000,
asyncpg), MD5 and cleartext; a wrong password is 28P01. reldb only: the reference
cluster of the other tests trusts loopback."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile

import pytest

from .servers import start_reldb

psycopg = pytest.importorskip("psycopg")


@pytest.fixture(scope="module", params=["scram-sha-256", "md5", "password"])
def secured(request):
    with tempfile.TemporaryDirectory(prefix="reldb-auth-") as directory:
        server = start_reldb(directory, "--password", "s3cret pass", "--auth", request.param)
        yield server
        server.stop()


def test_psycopg(secured):
    with psycopg.connect(secured.conninfo(password="'s3cret pass'")) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("postgres",)
    with pytest.raises(psycopg.OperationalError) as info:
        psycopg.connect(secured.conninfo(password="wrong"))
    assert 'password authentication failed for user "postgres"' in str(info.value)


def test_pg8000(secured):
    pg8000 = pytest.importorskip("pg8000")
    conn = pg8000.connect(user="postgres", password="s3cret pass", host=secured.host,
                          port=secured.port, database="postgres")
    try:
        cur = conn.cursor()
        cur.execute("SELECT 1")
        assert cur.fetchone() == [1]
    finally:
        conn.close()
    with pytest.raises(pg8000.DatabaseError) as info:
        pg8000.connect(user="postgres", password="nope", host=secured.host, port=secured.port)
    assert info.value.args[0]["C"] == "28P01"


def test_asyncpg(secured):
    asyncpg = pytest.importorskip("asyncpg")

    async def run():
        conn = await asyncpg.connect(user="postgres", password="s3cret pass", host=secured.host,
                                     port=secured.port, database="postgres")
        try:
            return await conn.fetchval("SELECT 40 + 2")
        finally:
            await conn.close()
    assert asyncio.run(run()) == 42


@pytest.mark.skipif(shutil.which("psql") is None, reason="psql is not installed")
def test_psql(secured):
    env = dict(os.environ, PGPASSWORD="s3cret pass")
    result = subprocess.run(["psql", "-X", "-h", secured.host, "-p", str(secured.port),
                             "-U", "postgres", "-Atc", "SELECT 'ok'"], env=env,
                            capture_output=True, text=True, timeout=30)
    assert result.stdout.strip() == "ok", result.stderr
    env["PGPASSWORD"] = "wrong"
    result = subprocess.run(["psql", "-X", "-w", "-h", secured.host, "-p", str(secured.port),
                             "-U", "postgres", "-Atc", "SELECT 1"], env=env,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "password authentication failed" in result.stderr


def test_users_file(tmp_path):
    users = tmp_path / "users"
    users.write_text("# name:password\nalice:wonder land\nbob:builder\n")
    server = start_reldb(str(tmp_path), "--users", str(users))
    try:
        with psycopg.connect(server.conninfo(user="alice", password="'wonder land'")) as conn:
            assert conn.execute("SELECT current_user").fetchone() == ("alice",)
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(server.conninfo(user="bob", password="wrong"))
        with pytest.raises(psycopg.OperationalError):      # no password: cannot log in
            psycopg.connect(server.conninfo())
    finally:
        server.stop()
