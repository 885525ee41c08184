"""Starting our kvdb and a real redis-server side by side, for the benchmarks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
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
    """`ours` and `redis`, each a (process, port), started with the same options."""

    def __init__(self, directory: str, *options: str):
        self.servers = {}
        env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
        for name in ("redis", "ours"):
            port = free_port()
            data = os.path.join(directory, name)
            os.makedirs(data, exist_ok=True)
            if name == "ours":
                command = [sys.executable, "-m", "fromscratch", "kvdb"]
            else:
                command = ["redis-server"]
            process = subprocess.Popen(
                command + ["--port", str(port), "--dir", data, "--save", "", *options],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_for(port)
            self.servers[name] = (process, port)

    def __iter__(self):
        return iter(self.servers.items())

    def close(self) -> None:
        for process, _ in self.servers.values():
            process.terminate()
            process.wait()
