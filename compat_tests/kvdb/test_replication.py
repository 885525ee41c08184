"""The replication stream, read as a replica reads it: SYNC, the dataset's payload, then
the changes as commands. The payload differs (RDB there, our snapshot here); the stream
after it must be Redis's."""

import fnmatch
import socket
import threading
import time

import pytest

from fromscratch.resp import INCOMPLETE, ReplyReader, encode_command

from .conftest import connect


class ReplicaLink:
    """A socket that did SYNC: `commands()` returns the stream's commands so far."""

    def __init__(self, server, *commands):
        self.sock = socket.create_connection((server.host, server.port), timeout=10)
        *setup, sync = commands or [("SYNC",)]
        data = b""
        for command in setup:       # one at a time: SYNC is refused while replies wait
            self.sock.sendall(encode_command(command))
            while b"\r\n" not in data:
                data += self._receive()
            reply, data = data.split(b"\r\n", 1)
            assert reply == b"+OK", reply
        self.sock.sendall(encode_command(sync))
        self.first_line = b""
        while True:
            while b"\r\n" not in data:
                data += self._receive()
            line, data = data.split(b"\r\n", 1)
            if line.startswith(b"+FULLRESYNC"):
                self.first_line = line
            elif line.startswith(b"$"):
                break
            # empty lines are keepalives while the primary prepares the payload
        length = int(line[1:])
        while len(data) < length:
            data += self._receive()
        self.payload, rest = data[:length], data[length:]
        self.reader = ReplyReader()
        self.reader.feed(rest)

    def _receive(self) -> bytes:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the primary closed the replication link")
        return chunk

    def commands(self, count: int, timeout: float = 5.0) -> list[list[str]]:
        """The next `count` commands of the stream (PINGs skipped)."""
        found = []
        deadline = time.monotonic() + timeout
        while len(found) < count:
            value = self.reader.get()
            if value is INCOMPLETE:
                self.sock.settimeout(max(deadline - time.monotonic(), 0.01))
                self.reader.feed(self._receive())
                continue
            command = [part.decode("latin-1") for part in value]   # payloads are binary
            if command != ["PING"]:
                found.append(command)
        return found

    def send(self, *args) -> None:
        self.sock.sendall(encode_command(args))

    def close(self) -> None:
        self.sock.close()


def matches(commands, patterns) -> bool:
    return len(commands) == len(patterns) and all(
        len(command) == len(pattern) and all(
            fnmatch.fnmatchcase(part.lower(), want.lower()) for part, want in zip(command, pattern))
        for command, pattern in zip(commands, patterns))


@pytest.fixture
def replica(server, r):
    r.config_set("repl-ping-replica-period", 3600)
    link = ReplicaLink(server)
    yield link
    link.close()


def test_writes_reach_the_replica_as_redis_propagates_them(r, replica):
    r.set("plain", "v")
    r.incrbyfloat("float", "1.5")
    r.set("timed", "v", ex=100)
    r.expire("plain", 100)
    r.get("missing")                              # reads are not propagated
    r.execute_command("SELECT", 3)
    r.set("elsewhere", "x")
    commands = replica.commands(6)
    assert matches(commands, [
        ["select", "0"],
        ["set", "plain", "v"],
        ["set", "float", "1.5", "keepttl"],
        ["set", "timed", "v", "pxat", "*"],
        ["pexpireat", "plain", "*"],
        ["select", "3"],
    ]), commands
    assert matches(replica.commands(1), [["set", "elsewhere", "x"]])


def test_transactions_and_expired_keys(server, r, replica):
    with r.pipeline(transaction=True) as pipe:
        pipe.set("a", "1")
        pipe.incr("a")
        pipe.execute()
    r.set("short", "v", px=1)
    time.sleep(0.01)
    assert r.get("short") is None                 # expires on access: a DEL follows
    commands = replica.commands(7)
    assert matches(commands, [
        ["select", "*"],
        ["multi"], ["set", "a", "1"], ["incrby", "a", "1"], ["exec"],
        ["set", "short", "v", "pxat", "*"],
        ["del", "short"],
    ]), commands


def test_sync_refused_with_replies_pending(server):
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(encode_command(["PING"]) + encode_command(["SYNC"]))
        data = b""
        while data.count(b"\r\n") < 2:
            data += sock.recv(65536)
        assert data == b"+PONG\r\n-ERR SYNC and PSYNC are invalid with pending output\r\n"


def test_psync_and_replica_listing(server, r):
    r.config_set("repl-ping-replica-period", 3600)
    # As a replica starts: its port, its capabilities, then PSYNC for a full copy.
    link = ReplicaLink(server, ("REPLCONF", "listening-port", "7777"),
                       ("REPLCONF", "capa", "psync2"), ("PSYNC", "?", "-1"))
    try:
        assert link.first_line.startswith(b"+FULLRESYNC ")
        info = r.info("replication")
        assert info["connected_slaves"] >= 1
        assert any(isinstance(value, dict) and value.get("port") == 7777
                   for key, value in info.items() if key.startswith("slave"))
        role = r.execute_command("ROLE")
        assert role[0] in (b"master", "master")
        assert any(int(entry[1]) == 7777 for entry in role[2])
    finally:
        link.close()


def test_wait_counts_replicas_that_acknowledged(server, r, replica):
    r.set("acked", "1")
    assert r.execute_command("WAIT", 0, 0) == 0   # enough at once: none needed, none has it
    started = time.monotonic()
    assert r.execute_command("WAIT", 1, 150) == 0  # the replica never acknowledged
    assert time.monotonic() - started >= 0.1
    # WAIT asks the replicas where they are, in the stream.
    assert ["REPLCONF", "GETACK", "*"] in [
        [part.upper() if part.isalpha() else part for part in command]
        for command in replica.commands(3)]
    result = []
    waiter = connect(server, 2)
    waiter.set("acked", "2")
    thread = threading.Thread(target=lambda: result.append(
        waiter.execute_command("WAIT", 1, 5000)))
    thread.start()
    time.sleep(0.2)
    replica.send("REPLCONF", "ACK", str(1 << 40))  # far past anything written
    thread.join(5)
    waiter.close()
    assert result == [1]
    with pytest.raises(Exception, match="timeout is negative"):
        r.execute_command("WAIT", 0, -1)


def test_a_single_write_is_not_wrapped(r, replica):
    # A transaction or a script with one change propagates it alone (Redis 7).
    with r.pipeline(transaction=True) as pipe:
        pipe.set("one", "1")
        pipe.get("one")
        pipe.execute()
    r.eval("redis.call('set', KEYS[1], 'x'); return redis.call('get', KEYS[1])", 1, "two")
    r.eval("redis.call('set', KEYS[1], 'x'); redis.call('set', KEYS[2], 'y')", 2, "a", "b")
    commands = replica.commands(7)
    assert matches(commands, [
        ["select", "*"], ["set", "one", "1"], ["set", "two", "x"],
        ["multi"], ["set", "a", "x"], ["set", "b", "y"], ["exec"],
    ]), commands


def test_restore_propagates_an_absolute_ttl(r, replica):
    r.set("source", "v")
    payload = r.dump("source")
    r.restore("relative", 100000, payload)
    r.restore("absolute", int(time.time() * 1000) + 100000, payload, absttl=True)
    r.restore("forever", 0, payload)
    commands = replica.commands(5)
    assert matches(commands[2:], [
        ["restore", "relative", "*", "*", "ABSTTL"],
        ["restore", "absolute", "*", "*", "absttl"],     # as sent: already absolute
        ["restore", "forever", "0", "*"],
    ]), commands


def test_an_expired_key_deleted_by_a_write_goes_with_it(r, replica):
    # The deletion and the write that found the key expired are one change (Redis 7.0
    # wraps them); a SCAN's deletions go one by one.
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    try:
        r.set("stale", "old", px=1)
        r.set("stale2", "old", px=1)
        time.sleep(0.01)
        r.set("stale", "new")
        r.scan(0)
    finally:
        r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1")
    commands = replica.commands(8)
    assert matches(commands, [
        ["select", "*"], ["set", "stale", "old", "pxat", "*"],
        ["set", "stale2", "old", "pxat", "*"],
        ["multi"], ["del", "stale"], ["set", "stale", "new"], ["exec"],
        ["del", "stale2"],
    ]), commands
