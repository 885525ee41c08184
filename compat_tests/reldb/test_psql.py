"""psql 15 against reldb, compared line by line with the same commands against
PostgreSQL: meta-commands read the catalogs, so their output shows whether pg_catalog
is right."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

pytestmark = pytest.mark.skipif(shutil.which("psql") is None, reason="psql is not installed")

SCHEMA = """
CREATE TABLE authors (id serial PRIMARY KEY, name varchar(40) NOT NULL UNIQUE,
                      born date, active boolean DEFAULT true);
CREATE TABLE books (id bigserial PRIMARY KEY, author_id int REFERENCES authors(id) ON DELETE CASCADE,
                    title text NOT NULL, pages int CHECK (pages > 0), price numeric(8,2),
                    added timestamp DEFAULT now());
CREATE INDEX books_title_idx ON books (title);
CREATE VIEW long_books AS SELECT id, title FROM books WHERE pages > 500;
CREATE SCHEMA extra;
CREATE TABLE extra.notes (n text);
INSERT INTO authors (name, born) VALUES ('Ann', '1970-01-01'), ('Bob', NULL);
INSERT INTO books (author_id, title, pages, price) VALUES (1, 'Tome', 900, 12.5), (2, 'Leaflet', 2, 1);
"""


def psql(server, dbname, *args, stdin=None, cwd=None):
    command = ["psql", "-X", "-h", server.host, "-p", str(server.port), "-U", "postgres",
               "-d", dbname, "-v", "ON_ERROR_STOP=1", "-P", "pager=off", *args]
    result = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=60,
                            cwd=cwd, env=dict(os.environ, PGTZ="UTC"))
    return result


@pytest.fixture(scope="module")
def both(reldb_server, postgres_server):
    """The same schema in a fresh database on each server."""
    import psycopg
    name = "psql_compare"
    for server in (reldb_server, postgres_server):
        with psycopg.connect(server.conninfo(), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name}")
            admin.execute(f"CREATE DATABASE {name}")
        result = psql(server, name, stdin=SCHEMA)
        assert result.returncode == 0, result.stderr
    yield reldb_server, postgres_server, name
    for server in (reldb_server, postgres_server):
        with psycopg.connect(server.conninfo(), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name}")


COMMANDS = [r"\dt", r"\d", r"\d authors", r"\d books", r"\di", r"\dn", r"\dv", r"\d long_books",
            r"\dt extra.*", r"\d extra.notes", r"\ds", r"\d+ books", r"\du", r"\df", r"\dT",
            r"\dD", r"\dv+", r"\dy",
            "SELECT id, author_id, title, pages, price FROM books ORDER BY id",
            r"\x on" + "\nSELECT * FROM authors ORDER BY id",
            "SELECT count(*), sum(price), avg(pages) FROM books"]


@pytest.mark.parametrize("command", COMMANDS)
def test_output_matches_postgresql(both, command):
    ours, reference, name = both
    expected = psql(reference, name, stdin=command + "\n")
    got = psql(ours, name, stdin=command + "\n")
    assert expected.returncode == 0, expected.stderr
    assert got.stdout == expected.stdout
    assert got.returncode == 0


def test_list_databases_and_table_sizes(both):
    ours, reference, name = both
    for command in (r"\l", r"\dt+"):
        expected = psql(reference, name, "-c", command).stdout.splitlines()
        got = psql(ours, name, "-c", command).stdout.splitlines()
        assert got[:3] == expected[:3]          # title, column headers, rule
    rows = [[cell.strip() for cell in line.split("|")]
            for line in psql(ours, name, "-c", r"\l").stdout.splitlines() if "|" in line]
    assert ["postgres", "postgres", "UTF8", "C", "C", "", "libc", ""] in rows
    assert any(row[0] == name for row in rows)


def test_error_reporting(both):
    ours, reference, name = both
    for sql in ("SELECT * FROM nope;", "SELECT 1 +;", "SELECT 1/0;",
                "INSERT INTO authors (name) VALUES ('Ann');"):
        expected = psql(reference, name, "-c", sql)
        got = psql(ours, name, "-c", sql)
        assert got.returncode == expected.returncode == 1
        assert got.stderr == expected.stderr


def test_copy_meta_command(both, tmp_path):
    ours, reference, name = both
    source = tmp_path / "in.csv"
    source.write_text("10,Zed,2000-02-02,false\n11,\"Quote, Inc\",,true\n")
    outputs = []
    for server in (ours, reference):
        out = tmp_path / f"out-{server.kind}.txt"
        result = psql(server, name, stdin=(
            "BEGIN;\n"
            f"\\copy authors (id, name, born, active) from '{source}' csv\n"
            f"\\copy (SELECT * FROM authors ORDER BY id) to '{out}'\n"
            "ROLLBACK;\n"))
        assert result.returncode == 0, result.stderr
        outputs.append((result.stdout, out.read_text()))
    assert outputs[0] == outputs[1]
    assert "Quote, Inc" in outputs[0][1]


def test_timing_and_multiple_statements(both):
    ours, _, name = both
    result = psql(ours, name, stdin="\\timing on\nSELECT 1 AS a; SELECT 2 AS b;\n")
    assert result.returncode == 0
    assert "Time:" in result.stdout and " a " in result.stdout and " b " in result.stdout
