"""Starting the servers under test, ours and the reference ones, for compat tests.

Every server gets a free port and a temporary directory. A reference server that is not
installed makes its tests skip, unless FROMSCRATCH_REQUIRE_REFERENCE=1 (as CI sets),
in which case they fail: CI must never pass by silently testing nothing.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = os.path.join(ROOT, "src")
REQUIRE_REFERENCE = os.environ.get("FROMSCRATCH_REQUIRE_REFERENCE") == "1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen | None = None, timeout: float = 15.0,
                  probe: bytes = b"", loaded: bool = True) -> None:
    """Until something listens on `port` (and answers `probe`, if given: a server that
    listens before it loads its data, as redis-server does, is up once it answers;
    with `loaded`, other than -LOADING)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with status {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock:
                if not probe:
                    return
                sock.sendall(probe)
                answer = sock.recv(1024)
                if answer and not (loaded and answer.startswith(b"-LOADING")):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on port {port} after {timeout}s")


PING = b"PING\r\n"


def missing_reference(what: str) -> None:
    """Skip (or, in CI, fail) a test whose reference server is not installed."""
    message = f"{what} is not installed"
    if REQUIRE_REFERENCE:
        pytest.fail(message + " and FROMSCRATCH_REQUIRE_REFERENCE=1", pytrace=False)
    pytest.skip(message)


def stop_process(process: subprocess.Popen, timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL if the process has not exited after `timeout` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Server:
    """A server process on 127.0.0.1:port, stopped with `stop()`."""

    def __init__(self, kind: str, port: int, process: subprocess.Popen, directory: str):
        self.kind = kind
        self.host = "127.0.0.1"
        self.port = port
        self.process = process
        self.directory = directory

    def stop(self) -> None:
        stop_process(self.process)

    def __repr__(self):
        return f"<{self.kind} on port {self.port}>"


def start_kvdb(directory: str, *options: str, command: str = "kvdb",
               config_file: str | None = None, loaded: bool = True,
               port: int | None = None) -> Server:
    """Our key-value server (or, with command="pubsub", the standalone pub/sub server),
    run as a user runs it: `python -m fromscratch kvdb [config_file] --options...`, on
    `port` (a free one unless given); returned once its data is loaded (unless not
    `loaded`: once it answers)."""
    port = port or free_port()
    env = dict(os.environ, PYTHONPATH=SOURCE)
    log = open(os.path.join(directory, "server.log"), "ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "fromscratch", command, *filter(None, [config_file]),
         "--port", str(port), "--dir", directory, "--save", "", *options],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    wait_for_port(port, process, probe=PING, loaded=loaded)
    return Server("fromscratch" if command == "kvdb" else f"fromscratch-{command}", port,
                  process, directory)


def start_redis(directory: str, *options: str, config_file: str | None = None,
                loaded: bool = True, port: int | None = None) -> Server:
    """The reference redis-server with persistence off unless asked (started and
    returned as start_kvdb's)."""
    binary = shutil.which("redis-server")
    if binary is None:
        missing_reference("redis-server")
    port = port or free_port()
    process = subprocess.Popen(
        [binary, *filter(None, [config_file]), "--port", str(port), "--dir", directory,
         "--save", "", "--appendonly", "no", "--bind", "127.0.0.1", *options],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port, process, probe=PING, loaded=loaded)
    return Server("redis", port, process, directory)


def make_certificates(directory) -> None:
    """Write, with the openssl command (as Redis's utils/gen-test-certs.sh), a test CA
    (ca.crt, ca.key) into `directory` (a pathlib.Path) and certificates it signed, each
    with its key, for localhost and 127.0.0.1: server.crt (for servers only), other.crt
    (for servers and clients) and client.crt (for clients only)."""
    if shutil.which("openssl") is None:
        missing_reference("openssl")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
            "ca.crt", "-days", "2", "-subj", "/O=fromscratch/CN=Test CA")
    for name, common_name, usage in (("server", "Server-only", "serverAuth"),
                                     ("other", "Other server", "serverAuth,clientAuth"),
                                     ("client", "Client-only", "clientAuth")):
        openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
                "-out", f"{name}.csr", "-subj", f"/O=fromscratch/CN={common_name}")
        (directory / f"{name}.ext").write_text(
            f"extendedKeyUsage={usage}\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out",
                f"{name}.crt")
