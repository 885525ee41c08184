"""redis-benchmark runs its default tests against our server without an error."""

import re

import shutil
import subprocess

import pytest

from compat_tests.servers import missing_reference

DEFAULT_TESTS = ["ping_inline", "ping_mbulk", "set", "get", "incr", "lpush", "rpush", "lpop",
                 "rpop", "sadd", "hset", "spop", "zadd", "zpopmin", "lrange_100",
                 "lrange_300", "lrange_500", "lrange_600", "mset"]
REPORTED = {"ping_inline": "PING_INLINE", "ping_mbulk": "PING_MBULK",
            "lrange_100": "LRANGE_100 (first 100 elements)",
            "lrange_300": "LRANGE_300 (first 300 elements)",
            "lrange_500": "LRANGE_500 (first 500 elements)",
            "lrange_600": "LRANGE_600 (first 600 elements)", "mset": "MSET (10 keys)"}


def test_default_tests_run_clean(kvdb_server):
    binary = shutil.which("redis-benchmark")
    if binary is None:
        missing_reference("redis-benchmark")
    done = subprocess.run([binary, "-p", str(kvdb_server.port), "-n", "2000", "-c", "20",
                           "-r", "1000", "--csv", "-t", ",".join(DEFAULT_TESTS)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    output = done.stdout + done.stderr
    assert "ERR" not in output and "Error" not in output, output
    for test in DEFAULT_TESTS:
        name = REPORTED.get(test, test.upper())
        assert f'"{name}",' in done.stdout, f"{name} missing from:\n{done.stdout}"


def test_xadd_runs_clean(kvdb_server):
    """`-t xadd` came with redis-benchmark 7.2; an older one sends the same command (XADD
    mystream * myfield <data>) given explicitly."""
    binary = shutil.which("redis-benchmark")
    if binary is None:
        missing_reference("redis-benchmark")
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    major, minor = (int(part) for part in re.search(r"(\d+)\.(\d+)", version).groups())
    test = ["-t", "xadd"] if (major, minor) >= (7, 2) else ["XADD", "mystream", "*",
                                                              "myfield", "x" * 3]
    done = subprocess.run([binary, "-p", str(kvdb_server.port), "-n", "2000", "-c", "20",
                           "--csv", *test], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "ERR" not in done.stdout + done.stderr
    assert re.search(r'^"XADD[^"]*",', done.stdout, re.M), done.stdout
