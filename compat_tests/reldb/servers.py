"""Starting reldb and the reference PostgreSQL for compat tests.

Each server gets a free port and a temporary directory. PostgreSQL refuses to run as
root, so as root its cluster is initialised and started as the `postgres` user. The
reference cluster uses the C locale and UTC, the settings reldb follows. A missing
PostgreSQL skips the tests that need it, unless FROMSCRATCH_REQUIRE_REFERENCE=1 (CI),
which makes them fail.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import sys

from compat_tests.servers import SOURCE, free_port, missing_reference, stop_process, wait_for_port


class Server:
    def __init__(self, kind: str, port: int, stop, process=None):
        self.kind = kind
        self.host = "127.0.0.1"
        self.port = port
        self._stop = stop
        self.process = process

    def stop(self) -> None:
        self._stop()

    def kill(self) -> None:
        """kill -9: the server gets no chance to write anything more."""
        self.process.kill()
        self.process.wait()
        self._stop()

    def conninfo(self, dbname: str = "postgres", user: str = "postgres", **extra) -> str:
        parts = [f"host={self.host}", f"port={self.port}", f"user={user}", f"dbname={dbname}"]
        parts += [f"{k}={v}" for k, v in extra.items()]
        return " ".join(parts)

    def __repr__(self):
        return f"<{self.kind} on port {self.port}>"


def start_reldb(directory: str, *options: str) -> Server:
    """Our server, run as a user runs it (its data in `directory`/data: starting it
    again on the same directory restarts it on the same data)."""
    port = free_port()
    env = dict(os.environ, PYTHONPATH=SOURCE)
    log = open(os.path.join(directory, "reldb.log"), "ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "fromscratch.reldb.cli", "--port", str(port), "--dir",
         os.path.join(directory, "data"), *options],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    wait_for_port(port, process, timeout=30.0)

    def stop():
        stop_process(process)
        log.close()
    return Server("reldb", port, stop, process)


def postgres_bin() -> str | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if candidates:
        return os.path.dirname(candidates[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def start_postgres(directory: str) -> Server:
    """A throw-away PostgreSQL cluster (C locale, UTC, fsync off, trust on loopback)."""
    bindir = postgres_bin()
    if bindir is None:
        missing_reference("PostgreSQL (initdb)")
    port = free_port()
    data = os.path.join(directory, "pgdata")
    as_postgres = os.geteuid() == 0
    if as_postgres:
        entry = pwd.getpwnam("postgres")
        os.chown(directory, entry.pw_uid, entry.pw_gid)
        os.chmod(directory, 0o755)

    def run(*args, check=True):
        command = list(args)
        if as_postgres:
            command = ["runuser", "-u", "postgres", "--"] + command
        return subprocess.run(command, check=check, capture_output=True, text=True)

    run(os.path.join(bindir, "initdb"), "-D", data, "--no-locale", "-E", "UTF8", "-A", "trust",
        "-U", "postgres")
    options = (f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off "
               "-c synchronous_commit=off -c full_page_writes=off -c timezone=UTC "
               "-c max_connections=100")
    run(os.path.join(bindir, "pg_ctl"), "-D", data, "-o", options, "-l",
        os.path.join(directory, "postgres.log"), "-w", "start")
    wait_for_port(port, timeout=30.0)

    def stop():
        run(os.path.join(bindir, "pg_ctl"), "-D", data, "-m", "immediate", "stop", check=False)
    return Server("postgresql", port, stop)
