"""Run a conformance file against a server and capture what a client sees.

A file holds SQL statements, one per line ending with ';' (a statement may span lines;
it ends at a line ending with ';'). Each statement runs in autocommit mode through
psycopg, and its outcome is captured exactly as sent on the wire: the column names and
type OIDs, the values as text (psycopg's raw result bytes), the command tag, or the
SQLSTATE of the error.
"""

from __future__ import annotations

import os

HERE = os.path.dirname(os.path.abspath(__file__))


def statements(path: str) -> list[str]:
    out, current = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip() and not current:
                continue
            current.append(line.rstrip("\n"))
            if line.rstrip().endswith(";"):
                out.append("\n".join(current).strip())
                current = []
    if current and "".join(current).strip():
        out.append("\n".join(current).strip())
    return out


def files() -> list[str]:
    return sorted(f for f in os.listdir(HERE) if f.endswith(".sql"))


def run_file(psycopg, conninfo: str, path: str) -> list[dict]:
    """Outcomes of every statement of `path`, run in order on a fresh connection."""
    results = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        for sql in statements(path):
            cur = conn.cursor()
            entry = {"sql": sql}
            try:
                cur.execute(sql, prepare=False)
            except psycopg.Error as exc:
                entry["error"] = exc.sqlstate
                results.append(entry)
                continue
            entry["status"] = cur.statusmessage
            res = cur.pgresult
            if cur.description is not None and res is not None:
                entry["columns"] = [[res.fname(i).decode(), res.ftype(i)]
                                    for i in range(res.nfields)]
                entry["rows"] = [[None if res.get_value(r, c) is None
                                  else res.get_value(r, c).decode()
                                  for c in range(res.nfields)] for r in range(res.ntuples)]
            results.append(entry)
    return results


def compare(expected: dict, got: dict) -> str | None:
    """None if the outcomes match, else a description of the difference. Rows compare as
    a multiset when the statement has no ORDER BY (SQL leaves the order open)."""
    if expected.get("error") or got.get("error"):
        if expected.get("error") != got.get("error"):
            return f"error {got.get('error')!r}, expected {expected.get('error')!r}"
        return None
    if expected.get("status") != got.get("status"):
        return f"status {got.get('status')!r}, expected {expected.get('status')!r}"
    if expected.get("columns") != got.get("columns"):
        return f"columns {got.get('columns')}, expected {expected.get('columns')}"
    want, have = expected.get("rows"), got.get("rows")
    if want is not None and "order by" not in expected["sql"].lower():
        want = sorted(want, key=repr)
        have = sorted(have or [], key=repr)
    if want != have:
        return f"rows {have}, expected {want}"
    return None
