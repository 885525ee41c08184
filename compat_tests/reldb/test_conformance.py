"""The SQL conformance suite: several hundred statements whose outcomes were recorded
from PostgreSQL 15 (conformance/record.py), replayed against reldb.

Statements we knowingly answer differently are listed in conformance/known_differences.txt
with the reason; they are reported as expected failures, and one that starts matching
makes the test fail so the list stays honest.
"""

from __future__ import annotations

import json
import os

import pytest

from .conformance.runner import HERE, compare, files, run_file

psycopg = pytest.importorskip("psycopg")


def _known_differences() -> dict[tuple[str, int], str]:
    known = {}
    path = os.path.join(HERE, "known_differences.txt")
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            where, _, reason = line.partition(" ")
            name, _, number = where.partition(":")
            known[(name, int(number))] = reason.strip()
    return known


@pytest.mark.parametrize("name", files())
def test_conformance_file(reldb_server, name):
    with open(os.path.join(HERE, name.replace(".sql", ".out.json")), encoding="utf-8") as f:
        expected = json.load(f)["results"]
    db = "conformance_" + name.split(".")[0]
    with psycopg.connect(reldb_server.conninfo(), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {db}")
        admin.execute(f"CREATE DATABASE {db}")
    try:
        got = run_file(psycopg, reldb_server.conninfo(db), os.path.join(HERE, name))
    finally:
        with psycopg.connect(reldb_server.conninfo(), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {db}")
    assert [e["sql"] for e in got] == [e["sql"] for e in expected], \
        f"{name} changed since it was recorded: run conformance/record.py"
    known = _known_differences()
    failures, fixed = [], []
    for number, (want, have) in enumerate(zip(expected, got), 1):
        problem = compare(want, have)
        if (name, number) in known:
            if problem is None:
                fixed.append(f"{name}:{number} now matches; remove it from known_differences.txt")
            continue
        if problem is not None:
            failures.append(f"{name}:{number}: {want['sql']}\n    {problem}")
    assert not failures, f"{len(failures)} of {len(expected)} statements differ:\n" + \
        "\n".join(failures)
    assert not fixed, "\n".join(fixed)
