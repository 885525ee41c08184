"""redis-cli as people use it: one-shot commands, RESP3 mode, piped input, and the
interactive prompt with its hints (built from COMMAND DOCS) in a pseudo-terminal."""

import fcntl
import os
import pty
import select
import shutil
import struct
import subprocess
import termios
import time

import pytest

from compat_tests.servers import missing_reference

from .conftest import connect


@pytest.fixture
def cli(server):
    """Runs redis-cli against a flushed server (in both protocols, via its own flags)."""
    connect(server).flushall()
    binary = shutil.which("redis-cli")
    if binary is None:
        missing_reference("redis-cli")

    def run(*args, stdin=None):
        done = subprocess.run([binary, "-p", str(server.port), *args], input=stdin,
                              capture_output=True, timeout=20)
        return done.stdout.decode()

    run.binary = binary
    return run


def test_one_shot_commands(cli):
    assert cli("SET", "greeting", "hello world") == "OK\n"
    assert cli("GET", "greeting") == "hello world\n"
    assert cli("INCR", "n") == "1\n"
    assert cli("GET", "missing") == "\n"
    assert cli("--no-raw", "GET", "missing") == "(nil)\n"
    assert cli("--no-raw", "INCR", "n") == "(integer) 2\n"
    assert "ERR unknown command 'NOPE'" in cli("NOPE")


def test_resp3_mode(cli):
    assert cli("-3", "SET", "k", "v") == "OK\n"
    assert cli("-3", "--no-raw", "HELLO", "3").startswith("1# \"server\" => \"redis\"")


def test_piped_commands(cli):
    out = cli(stdin=b"SET a 1\nINCR a\nGET a\n")
    assert out.split() == ["OK", "2", "2"]


def test_info_and_command_docs_are_readable(cli):
    assert "redis_version:" in cli("INFO", "server")
    assert "summary" in cli("COMMAND", "DOCS", "get")


def read_terminal(fd: int, seconds: float) -> bytes:
    """Read what redis-cli draws; answer linenoise's cursor-position queries."""
    out = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if b"\x1b[6n" in chunk:
                os.write(fd, b"\x1b[1;1R")
            out += chunk
    return out


def test_interactive_prompt_shows_hints(cli, server):
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(cli.binary, [cli.binary, "-p", str(server.port)])
    try:
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 200, 0, 0))
        read_terminal(fd, 1.0)
        os.write(fd, b"set ")
        screen = read_terminal(fd, 1.0)
        assert b"key value [NX|XX] [GET] [EX seconds|PX milliseconds" in screen
        os.write(fd, b"\x15get ")                         # Ctrl-U clears the line
        assert b"get \x1b[0;90;49mkey" in read_terminal(fd, 1.0)
        os.write(fd, b"\x15set answer 42\r")
        assert b"OK" in read_terminal(fd, 1.0)
        os.write(fd, b"get answer\r")
        assert b'"42"' in read_terminal(fd, 1.0)
        os.write(fd, b"quit\r")
        read_terminal(fd, 0.5)
    finally:
        os.close(fd)
        os.waitpid(pid, 0)
