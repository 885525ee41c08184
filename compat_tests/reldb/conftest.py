"""Fixtures: our server and the reference PostgreSQL, and a fresh database per test.

`server` runs each test twice, against reldb and against PostgreSQL; a test that fails
on PostgreSQL is a wrong test.
"""

from __future__ import annotations

import itertools
import os
import shutil
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "src"))

from .servers import start_postgres, start_reldb  # noqa: E402

psycopg = pytest.importorskip("psycopg")

_counter = itertools.count(1)


@pytest.fixture(scope="session")
def reldb_server():
    with tempfile.TemporaryDirectory(prefix="reldb-") as directory:
        server = start_reldb(directory)
        yield server
        server.stop()


@pytest.fixture(scope="session")
def postgres_server():
    directory = tempfile.mkdtemp(prefix="pgref-")
    try:
        server = start_postgres(directory)
        yield server
        server.stop()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(params=["reldb", "postgresql"])
def server(request):
    if request.param == "reldb":
        return request.getfixturevalue("reldb_server")
    return request.getfixturevalue("postgres_server")


@pytest.fixture
def database(server):
    """A fresh database on `server` for one test; yields its conninfo."""
    name = f"test_{os.getpid()}_{next(_counter)}"
    with psycopg.connect(server.conninfo(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield server.conninfo(name)
    with psycopg.connect(server.conninfo(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')


@pytest.fixture
def conn(database):
    with psycopg.connect(database, autocommit=True) as connection:
        yield connection
