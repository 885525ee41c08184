"""Record the expected outcomes of the conformance suite from a real PostgreSQL.

    python compat_tests/reldb/conformance/record.py [--conninfo "host=... port=..."]

Without --conninfo a throw-away PostgreSQL cluster is started (C locale, UTC). Each
file runs in a fresh database; the outcomes go to <file>.out.json next to it. Run it
again only when the suite changes; the recordings are kept in the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))))

from compat_tests.reldb.conformance.runner import HERE, files, run_file  # noqa: E402
from compat_tests.reldb.servers import start_postgres  # noqa: E402


def record(psycopg, conninfo_base: str) -> None:
    for name in files():
        db = "conformance_" + name.split(".")[0]
        with psycopg.connect(conninfo_base + " dbname=postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {db}")
            admin.execute(f"CREATE DATABASE {db}")
        results = run_file(psycopg, conninfo_base + f" dbname={db}", os.path.join(HERE, name))
        with psycopg.connect(conninfo_base + " dbname=postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {db}")
        with open(os.path.join(HERE, name.replace(".sql", ".out.json")), "w") as f:
            json.dump({"server_version": _version(psycopg, conninfo_base), "results": results},
                      f, indent=1, ensure_ascii=False)
            f.write("\n")
        print(f"{name}: {len(results)} statements recorded")


def _version(psycopg, conninfo_base):
    with psycopg.connect(conninfo_base + " dbname=postgres") as conn:
        return conn.execute("SHOW server_version").fetchone()[0]


def main() -> int:
    import psycopg
    parser = argparse.ArgumentParser()
    parser.add_argument("--conninfo", help="libpq conninfo of a PostgreSQL server "
                        "(without dbname); default: start a temporary cluster")
    args = parser.parse_args()
    if args.conninfo:
        record(psycopg, args.conninfo)
        return 0
    directory = tempfile.mkdtemp(prefix="pgrecord-")
    server = start_postgres(directory)
    try:
        record(psycopg, f"host={server.host} port={server.port} user=postgres")
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
