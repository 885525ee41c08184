"""Starting our servers and the reference servers side by side, for the benchmarks.

* `Pair`: our kvdb and a real redis-server, started with the same options.
* `ReldbProcess` and `PostgresCluster`: our reldb and a real PostgreSQL, each on its own
  data directory, that can be started, stopped cleanly, crashed and started again on
  the same data (the storage and recovery benchmarks).
"""

from __future__ import annotations

import os
import pwd
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from compat_tests.reldb.servers import postgres_bin  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(port: int) -> None:
    for _ in range(400):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on port {port} did not start")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Pair:
    """`ours` and `redis`, each a (process, port), started with the same options. With
    `tls` (a certificate file and its key), each also serves TLS, on tls_ports[name],
    without asking clients for certificates."""

    def __init__(self, directory: str, *options: str, tls: tuple[str, str] | None = None):
        self.servers = {}
        self.tls_ports = {}
        env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
        for name in ("redis", "ours"):
            port = free_port()
            data = os.path.join(directory, name)
            os.makedirs(data, exist_ok=True)
            if name == "ours":
                command = [sys.executable, "-m", "fromscratch", "kvdb"]
            else:
                command = ["redis-server"]
            tls_options = []
            if tls is not None:
                self.tls_ports[name] = free_port()
                tls_options = ["--tls-port", str(self.tls_ports[name]), "--tls-cert-file",
                               tls[0], "--tls-key-file", tls[1], "--tls-auth-clients", "no"]
            process = subprocess.Popen(
                command + ["--port", str(port), "--dir", data, "--save", "", *options,
                           *tls_options],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_for(port)
            self.servers[name] = (process, port)

    def __iter__(self):
        return iter(self.servers.items())

    def close(self) -> None:
        for process, _ in self.servers.values():
            process.terminate()
            process.wait()


# -- reldb and PostgreSQL, durable, restartable on the same data --------------------------------

def wait_ready(conninfo: str, started: float, process=None, timeout: float = 900.0,
               log_path: str | None = None) -> float:
    """Seconds from `started` (a time.perf_counter()) until the server at `conninfo`
    accepts a connection and answers a query (PostgreSQL listens during recovery but
    refuses sessions; a TCP connect is not enough)."""
    import psycopg
    deadline = started + timeout
    while time.perf_counter() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with status {process.returncode} while starting"
                               + log_tail(log_path))
        try:
            with psycopg.connect(conninfo, connect_timeout=5, autocommit=True) as conn:
                conn.execute("SELECT 1").fetchone()
            return time.perf_counter() - started
        except psycopg.OperationalError:
            time.sleep(0.01)
    raise RuntimeError(f"server not ready after {timeout:.0f}s" + log_tail(log_path))


def log_tail(path: str | None, lines: int = 30) -> str:
    if not path or not os.path.exists(path):
        return ""
    with open(path, errors="replace") as handle:
        tail = handle.readlines()[-lines:]
    return f"\n--- last lines of {path} ---\n" + "".join(tail)


class ReldbProcess:
    """Our reldb (`python -m fromscratch reldb`) on `directory`/data, its output in
    `directory`/reldb.log. start() may be called again after stop() or crash()."""

    def __init__(self, directory: str, *options: str):
        self.directory = directory
        self.data = os.path.join(directory, "data")
        self.log_path = os.path.join(directory, "reldb.log")
        self.options = list(options)
        self.port = free_port()
        self.process = None

    def conninfo(self, dbname: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={dbname}"

    def start(self) -> float:
        """Start the server; returns the seconds until it answered a query."""
        env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
        command = [sys.executable, "-m", "fromscratch", "reldb", "--port", str(self.port),
                   "--dir", self.data, *self.options]
        with open(self.log_path, "ab") as log:
            started = time.perf_counter()
            self.process = subprocess.Popen(command, env=env, stdout=log,
                                            stderr=subprocess.STDOUT)
        return wait_ready(self.conninfo(), started, self.process, log_path=self.log_path)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 300.0) -> None:
        """A clean shutdown (SIGTERM: the server checkpoints before it exits)."""
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def crash(self) -> None:
        """kill -9: the server gets no chance to write anything more."""
        if self.alive():
            self.process.kill()
        if self.process is not None:
            self.process.wait()

    close = crash


class PostgresCluster:
    """A throw-away PostgreSQL cluster in `directory`/pgdata, durable as shipped (fsync,
    synchronous_commit, full_page_writes on), C locale, trust on 127.0.0.1, its log in
    `directory`/postgres.log. `settings` are extra -c options. PostgreSQL refuses to run
    as root: as root, its commands run as the `postgres` user."""

    def __init__(self, directory: str, settings: dict | None = None):
        self.bindir = postgres_bin()
        if self.bindir is None:
            raise RuntimeError("PostgreSQL (initdb, pg_ctl) is not installed")
        self.directory = directory
        self.data = os.path.join(directory, "pgdata")
        self.log_path = os.path.join(directory, "postgres.log")
        self.settings = dict(settings or {})
        self.port = free_port()
        self.running = False
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            entry = pwd.getpwnam("postgres")
            os.chown(directory, entry.pw_uid, entry.pw_gid)
            os.chmod(directory, 0o755)
        self._run("initdb", "-D", self.data, "--no-locale", "-E", "UTF8", "-A", "trust",
                  "-U", "postgres")

    def _run(self, program: str, *args: str, check: bool = True, timeout: float = 300.0):
        command = [os.path.join(self.bindir, program), *args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--"] + command
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n"
                               f"{done.stdout}{done.stderr}" + log_tail(self.log_path))
        return done

    def conninfo(self, dbname: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={dbname}"

    def start(self) -> float:
        """Start the cluster; returns the seconds until it answered a query."""
        options = [f"-p {self.port}", f"-k {self.directory}", "-c listen_addresses=127.0.0.1",
                   "-c timezone=UTC"] + [f"-c {k}={v}" for k, v in self.settings.items()]
        started = time.perf_counter()
        # -W: do not wait; wait_ready() polls every 10 ms (pg_ctl's own wait, 100 ms).
        self._run("pg_ctl", "-D", self.data, "-o", " ".join(options), "-l", self.log_path,
                  "-W", "start")
        self.running = True
        return wait_ready(self.conninfo(), started, log_path=self.log_path)

    def stop(self, mode: str = "fast") -> None:
        """pg_ctl stop: "fast" is a clean shutdown, "immediate" a crash (no checkpoint;
        the next start runs crash recovery)."""
        if self.running:
            self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "stop", check=False)
            self.running = False

    def crash(self) -> None:
        self.stop("immediate")

    def close(self) -> None:
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            self._run("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop", check=False)
        self.running = False
