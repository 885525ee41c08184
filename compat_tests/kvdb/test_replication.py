"""The replication stream, read as a replica reads it: SYNC, the dataset's payload (an
RDB file), then the changes as commands, which must be Redis's byte for byte. Then real
Redis tools on the other end: a redis-server as the replica, `redis-cli --rdb`."""

import fnmatch
import os
import random
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from compat_tests.servers import free_port, missing_reference, start_kvdb, start_redis
from fromscratch.kvdb.persistence.rdb import read_rdb
from fromscratch.resp import INCOMPLETE, ReplyReader, encode_command

from .conftest import connect


class ReplicaLink:
    """A socket that did SYNC: `commands()` returns the stream's commands so far."""

    def __init__(self, server, *commands):
        # Generous: a real Redis first saves the dataset to disk for a plain SYNC.
        self.sock = socket.create_connection((server.host, server.port), timeout=30)
        try:
            self._attach(commands)
        except BaseException:
            self.sock.close()       # a replica half attached would linger on the server
            raise

    def _attach(self, commands) -> None:
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
            # Newlines are keepalives while the primary prepares the payload.
            line = line.lstrip(b"\n")
            if line.startswith(b"+FULLRESYNC"):
                self.first_line = line
            elif line.startswith(b"$"):
                break
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
    # No PINGs in the stream, and no wait for other replicas before the sync (Redis
    # otherwise waits repl-diskless-sync-delay seconds to serve several at once).
    r.config_set("repl-ping-replica-period", 3600)
    r.config_set("repl-diskless-sync-delay", 0)
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


def test_getset_reaches_the_replica_as_a_set(r, replica):
    r.set("k", "1")
    assert r.getset("k", "2") == b"1"
    assert matches(replica.commands(3), [["select", "0"], ["set", "k", "1"], ["set", "k", "2"]])


def test_published_messages_reach_the_replicas(r, replica):
    r.publish("news", "hello")
    with r.pipeline(transaction=True) as pipe:
        pipe.set("k", "v")
        pipe.publish("news", "inside")
        pipe.execute()
    assert matches(replica.commands(6), [
        ["select", "0"], ["publish", "news", "hello"],
        ["multi"], ["set", "k", "v"], ["publish", "news", "inside"], ["exec"],
    ])


def test_a_replica_passes_published_messages_to_its_subscribers(server, primary,
                                                                start_replica):
    replica = start_replica()
    subscriber = replica.pubsub()
    subscriber.subscribe("news")
    assert subscriber.get_message(timeout=5)["type"] == "subscribe"
    primary.publish("news", "from the primary")
    message = subscriber.get_message(timeout=5)
    assert (message["channel"], message["data"]) == (b"news", b"from the primary")
    subscriber.close()


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


def test_resetstat_zeroes_the_counters_redis_zeroes(server, r):
    r.config_set("repl-ping-replica-period", 3600)
    r.config_set("repl-diskless-sync-delay", 0)
    ReplicaLink(server).close()                                 # a full sync
    refused = ReplicaLink(server, ("PSYNC", "no-such-history", "1"))   # and another
    refused.close()
    no_child = lambda: r.info("persistence")["rdb_bgsave_in_progress"] == 0   # noqa: E731
    wait_until(no_child, what="the sync's child")
    r.save()
    r.bgsave()
    wait_until(no_child, what="BGSAVE")
    with pytest.raises(redis.ResponseError):
        r.execute_command("NO-SUCH-COMMAND")
    r.get("missing")
    before = r.info()
    assert before["sync_full"] >= 2 and before["sync_partial_err"] >= 1
    assert before["rdb_saves"] >= 2 and before["total_forks"] >= 1

    r.config_resetstat()
    after = r.info()
    for field in ("sync_full", "sync_partial_ok", "sync_partial_err", "rdb_saves",
                  "total_forks", "latest_fork_usec", "total_error_replies", "keyspace_misses",
                  "total_net_repl_output_bytes", "aof_rewrites", "rejected_connections"):
        assert after[field] == 0, field
    # Only what came after the reset: the INFO call itself, at most.
    assert after["total_reads_processed"] <= 2
    assert after["total_commands_processed"] <= 2
    assert after["instantaneous_ops_per_sec"] >= 0


def test_a_diskless_sync_waits_for_more_replicas_first(server, r):
    saved = r.config_get("repl-diskless-sync*")
    r.config_set("repl-diskless-sync", "yes")
    # 2 seconds: Redis counts them in whole seconds of its clock, so it may start a
    # second early.
    r.config_set("repl-diskless-sync-delay", 2)
    r.config_set("repl-diskless-sync-max-replicas", 0)
    sock = socket.create_connection((server.host, server.port), timeout=5)
    try:
        sock.sendall(encode_command(["REPLCONF", "capa", "eof", "capa", "psync2"]))
        assert sock.recv(100) == b"+OK\r\n"
        sock.sendall(encode_command(["PSYNC", "?", "-1"]))
        sock.settimeout(0.5)
        reply = b""
        with pytest.raises(socket.timeout):             # unanswered while it waits (but
            while True:                                 # for a newline a second, to keep
                reply += sock.recv(100)                 # the link alive)...
        assert reply.strip(b"\n") == b""
        assert "wait_bgsave" in replica_states(r)
        sock.settimeout(10)
        while b"\r\n" not in reply:
            reply += sock.recv(100)
        assert reply.lstrip(b"\n").startswith(b"+FULLRESYNC")     # ... then the sync starts
    finally:
        sock.close()
        for name, value in saved.items():
            r.config_set(name, value)


def replica_states(r) -> list:
    """The state of each replica INFO lists (one that just left may still be there)."""
    info = r.info("replication")
    return [value["state"] for key, value in info.items() if key.startswith("slave")
            and isinstance(value, dict)]


def _diskless_sync(server) -> tuple[socket.socket, bytes, bytes]:
    """A replica's socket that asked for a diskless sync: (the socket, the payload's
    40-byte end mark, what came after the `$EOF:<mark>` line so far)."""
    sock = socket.create_connection((server.host, server.port), timeout=10)
    sock.sendall(encode_command(["REPLCONF", "capa", "eof", "capa", "psync2"]))
    assert sock.recv(100) == b"+OK\r\n"
    sock.sendall(encode_command(["PSYNC", "?", "-1"]))
    data = b""
    while data.count(b"\r\n") < 2:
        data += sock.recv(65536)
    fullresync, header, rest = data.lstrip(b"\n").split(b"\r\n", 2)
    assert fullresync.startswith(b"+FULLRESYNC ") and header.startswith(b"$EOF:")
    return sock, header[5:], rest


def test_a_diskless_sync_is_written_by_a_child_as_it_goes(server, r):
    saved = {**r.config_get("repl-diskless-sync*"), **r.config_get("rdb-key-save-delay")}
    r.config_set("repl-diskless-sync", "yes")
    r.config_set("repl-diskless-sync-delay", 0)
    r.execute_command("DEBUG", "POPULATE", 100, "key", 20000)     # 2 MB: it streams
    r.config_set("rdb-key-save-delay", 5000)                       # half a second
    try:
        sock, mark, data = _diskless_sync(server)
        assert r.info("persistence")["rdb_bgsave_in_progress"] == 1
        assert "wait_bgsave" in replica_states(r)          # Redis's word for it
        r.set("during", "1")                        # served meanwhile; in the stream
        while mark not in data:
            data += sock.recv(1 << 20)
        payload, stream = data.split(mark, 1)
        assert len(read_rdb(payload).keys) == 100   # the data as it was when it began
        sock.sendall(encode_command(["REPLCONF", "ACK", "0"]))   # the stream starts on it
        while b"during" not in stream:
            stream += sock.recv(65536)
        sock.close()
    finally:
        for name, value in saved.items():
            r.config_set(name, value)


def test_a_replica_that_stops_reading_its_diskless_sync_is_dropped(server, r):
    saved = {**r.config_get("repl-diskless-sync*"), **r.config_get("repl-timeout")}
    r.config_set("repl-diskless-sync", "yes")
    r.config_set("repl-diskless-sync-delay", 0)
    r.config_set("repl-timeout", 1)
    r.execute_command("DEBUG", "POPULATE", 300, "key", 20000)     # 6 MB
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)    # it fills at once
    sock.settimeout(10)
    try:
        sock.connect((server.host, server.port))
        sock.sendall(encode_command(["REPLCONF", "capa", "eof"]))
        assert sock.recv(5) == b"+OK\r\n"
        sock.sendall(encode_command(["PSYNC", "?", "-1"]))
        wait_until(lambda: r.info("replication")["connected_slaves"] == 1, what="the sync")
        # It reads nothing more: after repl-timeout without progress, it is dropped.
        wait_until(lambda: r.info("replication")["connected_slaves"] == 0, timeout=10,
                   what="the stalled replica to be dropped")
    finally:
        sock.close()
        for name, value in saved.items():
            r.config_set(name, value)


def test_a_replica_whose_command_answers_is_dropped(server, r):
    # The link carries the stream alone: an answer on it would corrupt it.
    r.config_set("repl-diskless-sync-delay", 0)
    link = ReplicaLink(server)
    try:
        link.send("PING")
        with pytest.raises(ConnectionError):
            link.commands(1)
        assert r.ping()
    finally:
        link.close()


def test_a_replica_may_not_touch_the_keyspace(start, tmp_path):
    # Redis's replication.tcl: a command of a replica that reads or writes keys is
    # refused (it would get round CLIENT PAUSE), and the refusal, like any answer on
    # the link, drops the replica; both logged. A PSYNC whose offset is not a number
    # is an error, logged too.
    log_file = tmp_path / "replication.log"
    server = start("--repl-diskless-sync-delay", "0", "--logfile", str(log_file))
    client = redis.Redis(port=server.port)
    with pytest.raises(redis.ResponseError, match="value is not an integer"):
        client.execute_command("PSYNC", "replicationid", "offset_str")
    link = ReplicaLink(server, ("PSYNC", "replicationid", "-1"))
    try:
        link.send("GET", "foo")
        with pytest.raises(ConnectionError):
            link.commands(1)
        assert client.ping()
    finally:
        link.close()
        client.close()
    log = log_file.read_text()
    assert "asks for synchronization but with a wrong offset" in log
    assert "Replica generated a reply to command 'get', disconnecting it" in log
    assert ("== CRITICAL == This master is sending an error to its replica: 'Replica "
            "can't interact with the keyspace' after processing the command 'get'") in log


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


def _needs_waitaof(server):
    if server.kind == "redis":
        pytest.skip("WAITAOF arrived in Redis 7.2 (the reference is older)")


@pytest.mark.parametrize("appendfsync", ["always", "everysec"])
def test_waitaof_waits_for_the_local_fsync(start, appendfsync):
    """A write, then WAITAOF 1 0: answered once the log is on disk (at once with
    `always`, within a second with `everysec`), in a pipeline too."""
    server = start("--appendonly", "yes", "--appendfsync", appendfsync)
    _needs_waitaof(server)
    client = connect(server)
    pipe = client.pipeline(transaction=False)
    pipe.set("k", "v")
    pipe.execute_command("WAITAOF", 1, 0, 5000)
    started = time.monotonic()
    assert pipe.execute() == [True, [1, 0]]
    assert time.monotonic() - started < 2.5
    assert client.execute_command("WAITAOF", 1, 0, 0) == [1, 0]   # nothing new since
    client.close()


def test_waitaof_local_never_comes_with_appendfsync_no(start):
    server = start("--appendonly", "yes", "--appendfsync", "no")
    _needs_waitaof(server)
    client = connect(server)
    client.set("k", "v")
    started = time.monotonic()
    assert client.execute_command("WAITAOF", 1, 0, 300) == [0, 0]     # the timeout's answer
    assert time.monotonic() - started >= 0.25
    client.close()


def test_waitaof_refusals(r, server):
    _needs_waitaof(server)
    with pytest.raises(redis.ResponseError, match="^WAITAOF cannot be used when numlocal is "
                                                  "set but appendonly is disabled.$"):
        r.execute_command("WAITAOF", 1, 0, 0)
    assert r.execute_command("WAITAOF", 0, 0, 0) == [0, 0]
    for args, message in (((2, 0, 0), "value is out of range, value must between 0 and 1"),
                          ((0, -1, 0), "value is out of range, must be positive"),
                          ((0, 0, -1), "timeout is negative"),
                          (("x", 0, 0), "value is not an integer or out of range")):
        with pytest.raises(redis.ResponseError, match=f"^{message}$"):
            r.execute_command("WAITAOF", *args)


def test_waitaof_counts_replicas_that_say_their_log_has_it(server, r, replica):
    """A replica's REPLCONF ACK counts for WAIT; only its FACK (the stream's offset on
    disk in its log, as Redis 7.2's replicas and ours send) counts for WAITAOF."""
    _needs_waitaof(server)
    r.set("k", "1")
    replica.send("REPLCONF", "ACK", str(1 << 40))
    assert r.execute_command("WAIT", 1, 1000) == 1
    assert r.execute_command("WAITAOF", 0, 1, 150) == [0, 0]
    result = []
    waiter = connect(server)
    waiter.set("k", "2")
    thread = threading.Thread(target=lambda: result.append(
        waiter.execute_command("WAITAOF", 0, 1, 5000)))
    thread.start()
    time.sleep(0.2)
    replica.send("REPLCONF", "ACK", str(1 << 40), "FACK", str(1 << 40))
    thread.join(5)
    waiter.close()
    assert result == [[0, 1]]


def test_a_replica_with_a_log_tells_its_primary_what_is_on_disk(start):
    """Ours as a replica, with appendonly: its acknowledgements say how much of the
    stream its log has on disk, so the primary's WAITAOF counts it; a replica without
    a log never counts."""
    primary = start("--appendonly", "yes", "--repl-diskless-sync-delay", "0")
    _needs_waitaof(primary)
    client = connect(primary)
    logged = start("--appendonly", "yes", "--replicaof", primary.host, str(primary.port))
    start("--replicaof", primary.host, str(primary.port))           # without a log
    deadline = time.monotonic() + 20
    while client.info("replication")["connected_slaves"] < 2 or not all(
            client.info("replication")[f"slave{i}"]["state"] == "online" for i in (0, 1)):
        assert time.monotonic() < deadline, client.info("replication")
        time.sleep(0.1)
    client.set("k", "v")
    assert client.execute_command("WAITAOF", 1, 1, 5000) == [1, 1]
    assert client.execute_command("WAITAOF", 1, 2, 300) == [1, 1]
    assert client.wait(2, 5000) == 2
    with pytest.raises(redis.ResponseError, match="cannot be used with replica instances"):
        connect(logged).execute_command("WAITAOF", 0, 0, 0)
    client.close()


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


# -- the payload ------------------------------------------------------------------------

def test_pops_and_stream_writes_propagate_as_what_happened(r, replica):
    r.rpush("list", "a", "b", "c")
    r.execute_command("LMPOP", 2, "nolist", "list", "RIGHT", "COUNT", 2)
    r.zadd("zset", {"m": 1, "n": 2})
    r.execute_command("ZMPOP", 1, "zset", "MAX")
    r.set("gone", "1")
    r.getdel("gone")
    entry_id = r.xadd("stream", {"f": "v"})
    r.xadd("stream", {"f": "v"}, maxlen=1, approximate=True)
    commands = replica.commands(9)
    entry_id = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    assert matches(commands, [
        ["select", "*"], ["rpush", "list", "a", "b", "c"],
        ["rpop", "list", "2"],
        ["zadd", "zset", "*", "m", "*", "n"], ["zpopmax", "zset", "1"],
        ["set", "gone", "1"], ["del", "gone"],
        ["xadd", "stream", entry_id, "f", "v"],
        ["xadd", "stream", "MAXLEN", "=", "*", "*-*", "f", "v"],   # `~` made exact
    ]), commands


def test_group_reads_propagate_as_the_claims_they_made(r, replica):
    # A delivery's time must be the primary's: XREADGROUP goes as XCLAIM ... TIME.
    entry = r.xadd("jobs", {"n": "1"}, id="1-1")
    r.xgroup_create("jobs", "workers", id="0")
    r.xreadgroup("workers", "alice", {"jobs": ">"})
    r.xadd("jobs", {"n": "2"}, id="2-1")
    r.xreadgroup("workers", "bob", {"jobs": ">"}, noack=True)
    commands = replica.commands(6)
    assert entry in (b"1-1", "1-1")
    assert matches(commands, [
        ["select", "*"], ["xadd", "jobs", "1-1", "n", "1"],
        ["xgroup", "create", "jobs", "workers", "0"],
        ["xclaim", "jobs", "workers", "alice", "0", "1-1", "time", "*", "retrycount", "1",
         "force", "justid", "lastid", "1-1"],
        ["xadd", "jobs", "2-1", "n", "2"],
        ["multi"],               # NOACK: the new consumer, and where the group now is
    ]), commands
    assert matches(replica.commands(3), [
        ["xgroup", "createconsumer", "jobs", "workers", "bob"],
        ["xgroup", "setid", "jobs", "workers", "2-1", "entriesread", "2"], ["exec"]])


def test_the_payload_is_an_rdb_file_that_says_where_the_stream_starts(server, r):
    r.config_set("repl-ping-replica-period", 3600)
    r.set("key", "value", ex=100)
    r.select(2)
    r.rpush("list", "a", "b")
    link = ReplicaLink(server, ("REPLCONF", "capa", "psync2"), ("PSYNC", "?", "-1"))
    try:
        _, replid, offset = link.first_line.split()
        contents = read_rdb(link.payload)
        assert contents.version <= 10 or server.kind == "redis"
        assert contents.aux[b"repl-id"] == replid
        assert contents.aux[b"repl-offset"] == offset
        assert contents.aux[b"repl-stream-db"].isdigit()   # the stream starts with SELECT
        assert {(record.db, record.key) for record in contents.keys} == \
            {(0, b"key"), (2, b"list")}
    finally:
        link.close()


def test_rdb_only_gets_the_payload_then_the_link_closes(server, r):
    r.set("key", "value")
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        for option in (("capa", "eof"), ("rdb-only", "1")):
            sock.sendall(encode_command(["REPLCONF", *option]))
            assert sock.recv(100) == b"+OK\r\n"
        sock.sendall(encode_command(["SYNC"]))
        data = b""
        while chunk := sock.recv(65536):                # until the primary closes
            data += chunk
    header, payload = data.lstrip(b"\n").split(b"\r\n", 1)
    if header.startswith(b"$EOF:"):                    # Redis sends it diskless
        mark = header[5:]
        assert payload.endswith(mark)
        payload = payload[:-len(mark)]
    else:
        assert int(header[1:]) == len(payload)
    assert [record.key for record in read_rdb(payload).keys] == [b"key"]
    assert r.info("replication")["connected_slaves"] == 0


def test_replconf_payload_options_are_checked(r):
    with pytest.raises(redis.ResponseError,
                       match="value is out of range, value must between 0 and 1"):
        r.execute_command("REPLCONF", "rdb-only", "2")
    with pytest.raises(redis.ResponseError, match="Unsupported rdb-filter-only option: keys"):
        r.execute_command("REPLCONF", "rdb-filter-only", "functions keys")
    assert r.execute_command("REPLCONF", "rdb-filter-only", "functions") in (b"OK", "OK", True)


# -- a real Redis, or ours, as the replica --------------------------------------------------------

LIBRARY = ("#!lua name=replicated\n"
           "redis.register_function('bump', function(keys) "
           "return redis.call('incr', keys[1]) end)")


def fill(primary: redis.Redis) -> None:
    """Every type, TTLs, a stream with a consumer group, three databases, a library."""
    primary.set("string", "text")
    primary.set("number", 12345)
    primary.set("timed", "v", px=3_600_000)
    primary.set("binary", bytes(range(256)) * 40)
    primary.rpush("list", *[f"item{i}" for i in range(300)])
    primary.rpush("small-list", "a", "1")
    primary.hset("hash", mapping={"f": "v", "n": "7"})
    primary.hset("big-hash", mapping={f"field{i}": "x" * 70 for i in range(20)})
    primary.sadd("set", "a", "b", "c")
    primary.sadd("intset", 1, 2, -3)
    primary.zadd("zset", {"a": 1.5, "b": -2, "c": 1e300})
    primary.zadd("big-zset", {f"m{i}": i / 3 for i in range(200)})
    primary.expire("hash", 3600)
    for i in range(120):
        primary.xadd("stream", {"n": i, "tag": "x" * (i % 5)}, id=f"{1000 + i}-{i % 2}")
    primary.xdel("stream", "1003-1")
    primary.xgroup_create("stream", "workers", id="0")
    primary.xreadgroup("workers", "alice", {"stream": ">"}, count=3)
    primary.xgroup_create("stream", "idle", id="$")
    primary.function_load(LIBRARY)
    for db, key in ((3, "in-three"), (15, "in-fifteen")):
        other = redis.Redis(port=primary.connection_pool.connection_kwargs["port"], db=db)
        other.set(key, db, ex=7200)
        other.close()


def read_value(client: redis.Redis, key: bytes):
    kind = client.type(key)
    if kind == b"string":
        value = client.get(key)
    elif kind == b"list":
        value = client.lrange(key, 0, -1)
    elif kind == b"hash":
        value = client.hgetall(key)
    elif kind == b"set":
        value = client.smembers(key)
    elif kind == b"zset":
        value = client.zrange(key, 0, -1, withscores=True)
    else:
        info = client.xinfo_stream(key, full=True)
        value = (info["entries"], info["last-generated-id"], info["max-deleted-entry-id"],
                 info["entries-added"], info["recorded-first-entry-id"],
                 [(group["name"], group["last-delivered-id"], group["entries-read"],
                   group["pending"], [consumer[b"name"] for consumer in group["consumers"]])
                  for group in info["groups"]])
    return kind, value, client.execute_command("PEXPIRETIME", key)


def dataset(port: int) -> dict:
    """Every key of every database, with its type, value and expiry time."""
    found = {}
    for db in range(16):
        client = redis.Redis(port=port, db=db)
        for key in client.keys():
            found[db, key] = read_value(client, key)
        client.close()
    return found


def libraries(port: int) -> list:
    client = redis.Redis(port=port)
    listing = client.execute_command("FUNCTION", "LIST", "WITHCODE")
    client.close()
    return sorted(tuple(entry[name] for name in (b"library_name", b"library_code"))
                  for entry in listing)


def wait_until(condition, timeout: float = 15.0, what: str = "the replica") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def primary(server):
    """A client of the server under test, made ready to have a real replica: nothing
    stored, and no delay before a diskless sync (Redis waits 5 seconds for others)."""
    client = connect(server)
    client.flushall()
    client.function_flush()
    delay = client.config_get("repl-diskless-sync-delay")["repl-diskless-sync-delay"]
    client.config_set("repl-diskless-sync-delay", 0)
    yield client
    client.flushall()
    client.function_flush()
    client.config_set("repl-diskless-sync-delay", delay)
    client.close()


@pytest.fixture(params=["redis-replica", "fromscratch-replica"])
def start_replica(request, server, primary, tmp_path):
    """Starts a replica of the server under test, a real redis-server or ours (with
    `--replicaof`, as in redis.conf); returns a client of it once it has loaded the
    dataset."""
    replicas = []
    launch = start_redis if request.param == "redis-replica" else start_kvdb

    def start() -> redis.Redis:
        replica = launch(str(tmp_path), "--replicaof", server.host, str(server.port))
        replicas.append(replica)
        client = redis.Redis(port=replica.port)
        wait_until(lambda: client.info("replication").get("master_link_status") == "up"
                   and not client.info("replication").get("master_sync_in_progress"))
        return client

    yield start
    for replica in replicas:
        replica.stop()
    # The primary forgets it: later tests count the replicas they attach themselves.
    wait_until(lambda: primary.info("replication")["connected_slaves"] == 0,
               what="the primary to drop its replica")


def test_a_real_redis_replica_copies_everything_then_follows(server, primary, start_replica):
    fill(primary)
    replica = start_replica()
    port = replica.connection_pool.connection_kwargs["port"]
    expected = dataset(server.port)
    assert len(expected) == 15
    assert dataset(port) == expected
    assert libraries(port) == libraries(server.port)

    # Writes of every kind, then WAIT: once the replica acknowledged them all, it has
    # exactly what the primary has.
    primary.set("string", "changed", ex=100)
    primary.expire("list", 500)
    primary.persist("hash")
    primary.incrbyfloat("float", 1.25)
    primary.spop("set")
    primary.zincrby("big-zset", 2.5, "m7")
    with primary.pipeline(transaction=True) as pipe:
        pipe.lpush("small-list", "first")
        pipe.hincrby("hash", "n", 5)
        pipe.execute()
    primary.eval("redis.call('set', KEYS[1], ARGV[1]); redis.call('del', KEYS[2])",
                 2, "scripted", "number", "value")
    primary.fcall("bump", 1, "counter")
    primary.xadd("stream", {"n": "late"})
    primary.xreadgroup("workers", "bob", {"stream": ">"}, count=2)
    primary.xack("stream", "workers", "1000-0")
    primary.set("short", "v", px=20)
    time.sleep(0.05)
    assert primary.get("short") is None                 # expired: the replica gets a DEL
    other = redis.Redis(port=server.port, db=3)
    other.flushdb()
    other.set("after-flush", "v")
    other.close()
    primary.execute_command("SELECT", 0)
    primary.set("back-in-zero", "v")
    assert primary.execute_command("WAIT", 1, 5000) == 1
    expected = dataset(server.port)
    assert (0, b"short") not in expected and (3, b"in-three") not in expected
    assert dataset(port) == expected

    # The primary lists it, with the port it listens on, at the offset it acknowledged.
    info = primary.info("replication")
    assert info["connected_slaves"] == 1
    assert info["slave0"]["port"] == port and info["slave0"]["state"] == "online"
    assert 0 < info["slave0"]["offset"] <= info["master_repl_offset"]
    assert replica.info("replication")["master_repl_offset"] <= info["master_repl_offset"]
    assert [int(entry[1]) for entry in primary.execute_command("ROLE")[2]] == [port]


def test_a_replica_acknowledges_on_its_own(server, primary, start_replica):
    replica = start_replica()
    primary.set("key", "value")
    # Without GETACK: a replica reports its offset every second.
    wait_until(lambda: primary.info("replication")["slave0"]["offset"]
               == primary.info("replication")["master_repl_offset"], what="an ACK")
    assert replica.get("key") == b"value"
    assert primary.execute_command("WAIT", 1, 0) == 1   # acknowledged: no wait


# -- redis-cli --rdb --------------------------------------------------------------------

def redis_cli(*args: str) -> subprocess.CompletedProcess:
    binary = shutil.which("redis-cli")
    if binary is None:
        missing_reference("redis-cli")
    return subprocess.run([binary, *args], capture_output=True, timeout=30)


def test_redis_cli_saves_our_dataset_as_an_rdb_file(server, primary, tmp_path):
    fill(primary)
    expected = dataset(server.port)
    directory = tmp_path / "restored"
    directory.mkdir()
    path = directory / "dump.rdb"
    done = redis_cli("-p", str(server.port), "--rdb", str(path))
    assert done.returncode == 0, done.stderr
    assert len(read_rdb(path.read_bytes()).keys) == len(expected)
    check = shutil.which("redis-check-rdb")
    if check is not None:
        checked = subprocess.run([check, str(path)], capture_output=True, timeout=30)
        assert checked.returncode == 0 and b"RDB looks OK" in checked.stdout, checked.stdout
    restored = start_redis(str(directory), "--dbfilename", "dump.rdb")
    try:
        assert dataset(restored.port) == expected
        assert libraries(restored.port) == libraries(server.port)
    finally:
        restored.stop()
    # --functions-rdb: the libraries alone.
    functions = tmp_path / "functions.rdb"
    done = redis_cli("-p", str(server.port), "--functions-rdb", str(functions))
    assert done.returncode == 0, done.stderr
    contents = read_rdb(functions.read_bytes())
    assert contents.keys == [] and contents.libraries == [LIBRARY.encode()]
    assert primary.info("replication")["connected_slaves"] == 0



def test_min_replicas_to_write_refuses_writes_until_a_replica_is_there(server, primary,
                                                                        start_replica):
    primary.set("x", "some value")
    primary.config_set("min-replicas-to-write", 1)
    try:
        with pytest.raises(redis.ResponseError, match="Not enough good replicas to write"):
            primary.set("x", "other")
        assert primary.get("x") == b"some value"                   # reads go on
        assert primary.eval("#!lua flags=no-writes\nreturn redis.call('get','x')", 1, "x") \
            == b"some value"
        assert primary.eval("return redis.call('get','x')", 1, "x") == b"some value"
        for script in ("#!lua\nreturn redis.call('get','x')", "return redis.call('set','x',1)"):
            with pytest.raises(redis.ResponseError, match="Not enough good replicas"):
                primary.eval(script, 1, "x")
        start_replica()
        wait_until(lambda: _set_allowed(primary), what="writes to be allowed")
        assert primary.get("x") == b"after"
    finally:
        primary.config_set("min-replicas-to-write", 0)


def _set_allowed(primary) -> bool:
    try:
        return primary.set("x", "after")
    except redis.ResponseError:
        return False


def test_flushes_of_nothing_still_reach_the_replica(r, replica):
    r.flushall()                                 # nothing to flush: still propagated
    r.flushdb()
    r.set("after", "v")
    commands = replica.commands(4)
    assert matches(commands, [["select", "0"], ["flushall"], ["flushdb"],
                              ["set", "after", "v"]]), commands


def test_info_counts_full_syncs_and_refused_partial_ones(server, r):
    r.config_set("repl-diskless-sync-delay", 0)
    before = r.info("stats")
    link = ReplicaLink(server, ("PSYNC", "?", "-1"))
    link.close()
    other = ReplicaLink(server, ("PSYNC", "0123456789012345678901234567890123456789", "5"))
    other.close()
    after = r.info("stats")
    assert after["sync_full"] == before["sync_full"] + 2
    assert after["sync_partial_err"] == before["sync_partial_err"] + 1
    assert after["total_net_repl_output_bytes"] > before["total_net_repl_output_bytes"]


def test_a_replica_is_read_only_until_replicaof_no_one(server, primary, start_replica):
    primary.set("k", "v")
    replica = start_replica()
    assert replica.get("k") == b"v"
    with pytest.raises(redis.ReadOnlyError):
        replica.set("k", "mine")
    role = replica.execute_command("ROLE")
    assert role[:4] == [b"slave", server.host.encode(), server.port, b"connected"]
    assert replica.execute_command("REPLICAOF", server.host, server.port) in (
        b"OK Already connected to specified master", "OK Already connected to specified master")
    info = replica.info("replication")
    assert (info["role"], info["master_port"], info["slave_read_only"]) == ("slave", server.port, 1)
    replica.config_set("replica-read-only", "no")
    replica.set("written-on-the-replica", "x")
    replica.config_set("replica-read-only", "yes")
    assert replica.execute_command("REPLICAOF", "NO", "ONE")
    assert replica.execute_command("ROLE")[0] == b"master"
    replica.set("k", "mine")                            # a primary now: writable
    primary.set("k", "theirs")
    time.sleep(0.2)
    assert replica.get("k") == b"mine"                  # and no longer following
    assert replica.config_get("replicaof") == {"replicaof": ""}


def test_a_script_chooses_where_its_writes_go(server, primary, start_replica):
    replica = start_replica()
    primary.eval("redis.call('set', 'a', '1'); redis.set_repl(redis.REPL_NONE); "
                 "redis.call('set', 'b', '2'); redis.set_repl(redis.REPL_AOF); "
                 "redis.call('set', 'c', '3'); redis.set_repl(redis.REPL_ALL); "
                 "redis.call('set', 'd', '4')", 0)
    assert primary.execute_command("WAIT", 1, 5000) == 1
    assert primary.mget("a", "b", "c", "d") == [b"1", b"2", b"3", b"4"]
    assert replica.mget("a", "b", "c", "d") == [b"1", None, None, b"4"]
    with pytest.raises(redis.ResponseError, match="Invalid replication flags"):
        primary.eval("redis.set_repl(12345)", 0)


def test_a_replica_without_its_primary_serves_stale_data_only_if_allowed(start):
    replica = connect(start())
    replica.set("k", "v")
    replica.config_set("replica-serve-stale-data", "no")
    replica.execute_command("REPLICAOF", "127.0.0.1", free_port())   # nobody there
    try:
        with pytest.raises(redis.ResponseError, match="Link with MASTER is down"):
            replica.get("k")
        # INFO, CONFIG, REPLICAOF... are flagged `stale`: allowed (PING, GET are not)
        assert replica.info("replication")["master_link_status"] == "down"
        with replica.pipeline(transaction=True) as pipe:
            pipe.ping().get("k")
            with pytest.raises(redis.ResponseError, match="Link with MASTER is down"):
                pipe.execute()
        replica.config_set("replica-serve-stale-data", "yes")
        assert replica.get("k") == b"v"
    finally:
        replica.execute_command("REPLICAOF", "NO", "ONE")


def test_a_replica_that_lost_its_link_continues_from_the_backlog(server, primary,
                                                                start_replica):
    replica = start_replica()
    primary.set("before", "1")
    assert primary.execute_command("WAIT", 1, 5000) == 1
    stats = primary.info("stats")
    primary.client_kill_filter(_type="replica")
    primary.set("while-away", "2")                   # kept in the backlog for it
    wait_until(lambda: primary.info("stats")["sync_partial_ok"] == stats["sync_partial_ok"] + 1,
               what="a partial resynchronization")
    assert primary.info("stats")["sync_full"] == stats["sync_full"]
    info = primary.info("replication")
    assert info["repl_backlog_active"] == 1 and info["repl_backlog_histlen"] > 0
    primary.set("after", "3")
    assert primary.execute_command("WAIT", 1, 5000) == 1
    assert replica.mget("before", "while-away", "after") == [b"1", b"2", b"3"]


def read_line(sock: socket.socket) -> bytes:
    """One CRLF-ended line from `sock`, the primary's keepalive newlines before it
    left out."""
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = sock.recv(1)
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data.lstrip(b"\n")[:-2]


@pytest.mark.parametrize("checksum", ["yes", "no"])
def test_rdbchecksum_no_ends_the_payload_with_a_zero_checksum(start, checksum):
    primary_server = start("--rdbchecksum", checksum, "--repl-diskless-sync", "no")
    connect(primary_server).set("k", "v")
    link = ReplicaLink(primary_server)
    try:
        assert link.payload.startswith(b"REDIS")
        assert (link.payload[-8:] == bytes(8)) == (checksum == "no")
        assert read_rdb(link.payload).keys[0].key == b"k"       # read either way
    finally:
        link.close()


def test_a_replica_without_its_primary_refuses_to_be_synced_from(start):
    # Its primary is a port where nothing listens: its link stays down. Were it to
    # hand on what it has (nothing yet), whoever synced from it would lose its data.
    replica_server = start("--replicaof", "127.0.0.1", str(free_port()))
    for command in (("SYNC",), ("PSYNC", "?", "-1")):
        with socket.create_connection((replica_server.host, replica_server.port),
                                      timeout=10) as link:
            link.sendall(encode_command(command))
            assert read_line(link) == (b"-NOMASTERLINK Can't SYNC while not connected "
                                       b"with my master")


def test_the_backlog_keeps_what_a_syncing_replica_needs_for_others_to_continue(start):
    primary_server = start("--repl-backlog-size", "16384", "--save", "",
                           "--repl-diskless-sync", "no")
    primary = connect(primary_server)
    # A replica waits for a BGSAVE that takes its time (a second per key).
    primary.set("a", "1")
    primary.config_set("rdb-key-save-delay", 1_000_000)
    waiting = socket.create_connection((primary_server.host, primary_server.port), timeout=10)
    try:
        waiting.sendall(encode_command(["PSYNC", "?", "-1"]))
        assert read_line(waiting).startswith(b"+FULLRESYNC")
        # What comes meanwhile is kept for it, past repl-backlog-size...
        for i in range(200):
            primary.set(f"key:{i}", "x" * 1000)
            if i == 9:
                replid, offset = (primary.info("replication")[field]
                                  for field in ("master_replid", "master_repl_offset"))
        info = primary.info()
        assert info["repl_backlog_histlen"] > 200_000
        assert info["mem_total_replication_buffers"] >= info["repl_backlog_histlen"]
        # ...and another replica, which had it up to key:9, continues from there.
        with socket.create_connection((primary_server.host, primary_server.port),
                                      timeout=10) as other:
            other.sendall(encode_command(["PSYNC", replid, offset + 1]))
            assert read_line(other).startswith(b"+CONTINUE")
            stream = b""
            while b"key:199" not in stream:
                stream += other.recv(65536)
            assert b"key:10\r\n" in stream and b"key:9\r\n" not in stream
        wait_until(lambda: primary.info("replication")["connected_slaves"] == 1,
                   what="the primary to drop the replica that continued")
        # The waiting replica's output (all it has yet to get) counts against its
        # client-output-buffer-limit: past it, it is dropped, and the backlog shrinks.
        primary.config_set("client-output-buffer-limit", "replica 64kb 0 0")
        primary.set("one-more", "x" * 20_000)
        wait_until(lambda: primary.info("replication")["connected_slaves"] == 0,
                   what="the primary to drop the replica over its limit")
        wait_until(lambda: primary.info("replication")["repl_backlog_histlen"] < 100_000,
                   what="the backlog to shrink")
    finally:
        waiting.close()


def test_a_replica_announces_the_address_it_is_told_to(server, primary, start):
    replica = connect(start("--replica-announce-ip", "10.1.2.3", "--replica-announce-port",
                            "4567", "--replicaof", server.host, str(server.port)))
    wait_until(lambda: primary.info("replication").get("slave0", {}).get("ip") == "10.1.2.3")
    assert primary.info("replication")["slave0"]["port"] == 4567
    with pytest.raises(redis.ResponseError, match="WAIT cannot be used with replica"):
        replica.execute_command("WAIT", 1, 0)
    replica.execute_command("REPLICAOF", "NO", "ONE")
    wait_until(lambda: primary.info("replication")["connected_slaves"] == 0)


def start_primary_and_replica(start):
    """A fresh primary and a replica of it, both of the test's kind, once the link is up:
    (primary server, its client, replica server, its client)."""
    primary_server = start("--repl-diskless-sync-delay", "0")     # no wait for others
    replica_server = start("--replicaof", primary_server.host, str(primary_server.port))
    replica = connect(replica_server)
    wait_until(lambda: replica.info("replication")["master_link_status"] == "up")
    return primary_server, connect(primary_server), replica_server, replica


def test_a_replica_sent_elsewhere_and_back_continues_in_the_streams_database(start):
    primary_server, primary, replica_server, replica = start_primary_and_replica(start)
    nine = redis.Redis(port=primary_server.port, db=9)
    nine.set("before", "1")                 # the stream SELECTs 9, once
    assert nine.execute_command("WAIT", 1, 5000) == 1
    replica.execute_command("REPLICAOF", "127.0.0.1", free_port())     # nobody there
    wait_until(lambda: primary.info("replication")["connected_slaves"] == 0,
               what="the primary to see its replica go")
    nine.set("while-away", "2")
    replica.execute_command("REPLICAOF", primary_server.host, primary_server.port)
    wait_until(lambda: primary.info("stats")["sync_partial_ok"] == 1,
               what="a partial resynchronization")
    nine.set("after", "3")                  # still in 9: no SELECT in the stream
    assert nine.execute_command("WAIT", 1, 5000) == 1
    assert connect(replica_server, db=9).mget("before", "while-away", "after") == [b"1", b"2", b"3"]
    assert replica.dbsize() == 0


def test_a_replica_that_stops_reading_is_dropped_past_its_output_limit(start):
    primary_server, primary, replica_server, replica = start_primary_and_replica(start)
    primary.config_set("client-output-buffer-limit", "replica 2mb 0 0")
    replica_server.process.send_signal(signal.SIGSTOP)         # it reads no more
    try:
        value = "x" * 100_000
        for i in range(400):                                    # 40 MB of stream
            primary.set(f"key:{i}", value)
            if not primary.info("replication")["connected_slaves"]:
                break
        wait_until(lambda: primary.info("replication")["connected_slaves"] == 0,
                   what="the primary to drop its replica")
    finally:
        replica_server.process.send_signal(signal.SIGCONT)
        # (The replica comes back for 40 MB: the primary's stop needn't wait for it.)
        primary.config_set("shutdown-timeout", 0)


def test_shutdown_waits_for_a_lagging_replica_and_can_be_aborted(start):
    primary_server, primary, replica_server, replica = start_primary_and_replica(start)
    primary.set("k", "v")
    assert primary.execute_command("WAIT", 1, 5000) == 1
    replica_server.process.send_signal(signal.SIGSTOP)     # from now on it lags
    try:
        primary.set("k", "changed")
        primary.config_set("shutdown-timeout", 60)
        errors = []

        def shut_down():
            try:
                connect(primary_server).shutdown(nosave=True)
            except redis.ResponseError as error:
                errors.append(str(error))

        # Two of them: the second waits for the first's outcome, as in Redis.
        waiting = [threading.Thread(target=shut_down) for _ in range(2)]
        for thread in waiting:
            thread.start()
        time.sleep(0.5)
        assert all(thread.is_alive() for thread in waiting)     # they wait for the replica
        clients = primary.info("clients")
        assert clients["blocked_clients"] == 2
        assert clients["connected_clients"] == 3            # the replica is not counted
        assert primary.execute_command("SHUTDOWN", "ABORT") in (True, b"OK")
        for thread in waiting:
            thread.join(5)
        assert len(errors) == 2 and all("Errors trying to SHUTDOWN" in e for e in errors)
        assert primary.set("after", "1")                   # writes go on
        with pytest.raises(redis.ResponseError, match="No shutdown in progress"):
            primary.execute_command("SHUTDOWN", "ABORT")
    finally:
        replica_server.process.send_signal(signal.SIGCONT)


def test_shutdown_lets_a_lagging_replica_catch_up_first(start):
    primary_server, primary, replica_server, replica = start_primary_and_replica(start)
    replica_server.process.send_signal(signal.SIGSTOP)
    try:
        primary.set("last-write", "v")
        primary.config_set("shutdown-timeout", 60)
        waiting = threading.Thread(target=lambda: connect(primary_server).shutdown(nosave=True))
        waiting.start()
        time.sleep(0.5)
        assert primary_server.process.poll() is None       # still there, waiting
    finally:
        replica_server.process.send_signal(signal.SIGCONT)
    assert primary_server.process.wait(15) == 0            # exits once the replica caught up
    waiting.join(5)
    assert replica.get("last-write") == b"v"


def test_a_replica_leaves_expiring_to_its_primary(server, primary, start_replica):
    replica = start_replica()
    primary.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 0)
    try:
        primary.set("short", "v", px=100)
        assert primary.execute_command("WAIT", 1, 5000) == 1
        time.sleep(0.2)
        assert replica.get("short") is None                 # past its time: not shown...
        assert replica.dbsize() == 1                        # ...but not deleted either
    finally:
        primary.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 1)
    assert primary.get("short") is None                     # the primary deletes it...
    assert primary.execute_command("WAIT", 1, 5000) == 1
    assert replica.dbsize() == 0                            # ...and the replica follows


def test_killing_a_replicas_master_link_makes_it_continue(server, primary, start_replica):
    replica = start_replica()
    primary.set("before", "1")
    assert primary.execute_command("WAIT", 1, 5000) == 1
    assert "flags=M" in replica.execute_command("CLIENT", "LIST", "TYPE", "master").decode()
    partial = primary.info("stats")["sync_partial_ok"]
    assert replica.client_kill_filter(_type="master") == 1
    wait_until(lambda: primary.info("stats")["sync_partial_ok"] == partial + 1,
               what="a partial resynchronization")
    primary.set("after", "2")
    assert primary.execute_command("WAIT", 1, 5000) == 1
    assert replica.mget("before", "after") == [b"1", b"2"]


def test_a_writable_replica_expires_the_keys_its_clients_wrote(server, primary, start_replica):
    replica = start_replica()
    replica.config_set("replica-read-only", "no")
    try:
        replica.set("local", "v", px=100)
        replica.set("kept", "v")
        time.sleep(0.5)
        wait_until(lambda: replica.dbsize() == 1, what="the replica's own key to expire")
        assert replica.get("kept") == b"v"
    finally:
        replica.config_set("replica-read-only", "yes")


def test_clients_blocked_on_a_new_replica_are_released(server, start):
    instance = start()
    blocked = connect(instance)
    outcome = {}

    def pop():
        try:
            outcome["reply"] = blocked.blpop("queue", 0)
        except redis.RedisError as error:
            outcome["error"] = str(error)

    waiting = threading.Thread(target=pop)
    waiting.start()
    client = connect(instance)
    wait_until(lambda: client.info("clients")["blocked_clients"] == 1, what="BLPOP to block")
    client.execute_command("REPLICAOF", server.host, server.port)
    waiting.join(5)
    assert "force unblock from blocking operation" in outcome["error"]
    client.execute_command("REPLICAOF", "NO", "ONE")


def test_our_replica_of_a_redis_replica_follows_the_database_its_stream_is_in(
        server, primary, tmp_path):
    """A replica passes its primary's stream on as it came, with no SELECT for a new
    replica of its own: the database the stream is in comes in the payload's
    repl-stream-db field."""
    (tmp_path / "middle").mkdir()
    (tmp_path / "last").mkdir()
    in_nine = redis.Redis(port=server.port, db=9)
    in_nine.set("before", "1")
    middle = start_redis(str(tmp_path / "middle"), "--replicaof", server.host, str(server.port),
                         "--repl-diskless-sync-delay", "0")
    last = None
    try:
        middle_client = redis.Redis(port=middle.port)
        wait_until(lambda: middle_client.info("replication")["master_link_status"] == "up")
        in_nine.set("between", "x")      # the stream is in database 9 from here on
        wait_until(lambda: redis.Redis(port=middle.port, db=9).get("between") == b"x")
        last = start_kvdb(str(tmp_path / "last"), "--replicaof", middle.host, str(middle.port))
        last_client = redis.Redis(port=last.port, db=9)
        wait_until(lambda: last_client.info("replication")["master_link_status"] == "up")
        in_nine.set("after", "2")
        wait_until(lambda: last_client.get("after") == b"2", what="the write in database 9")
        assert last_client.get("before") == b"1"
        assert redis.Redis(port=last.port, db=0).dbsize() == 0
    finally:
        for instance in (last, middle):
            if instance is not None:
                instance.stop()
        in_nine.flushdb()
        wait_until(lambda: primary.info("replication")["connected_slaves"] == 0)


def test_a_replica_loads_a_payload_of_megabytes(server, primary, start_replica):
    """Bigger than any read: a real Redis sends it diskless (up to a 40-byte mark)."""
    values = random.Random(7).randbytes(3_000_000)       # random: nothing to compress
    with primary.pipeline(transaction=False) as pipe:
        for i in range(300):
            pipe.set(f"big:{i}", values[i * 10_000:(i + 1) * 10_000])
        pipe.execute()
    replica = start_replica()
    assert replica.dbsize() == 300
    assert replica.get("big:299") == values[2_990_000:]


def test_after_a_failover_the_old_primary_continues_from_the_new_one(start):
    """Redis's psync2: a replica takes its primary's replication id and offsets, and
    once promoted keeps them as its previous history, so the old primary, now its
    replica, continues (+CONTINUE) instead of loading everything again."""
    _old_server, old, new_server, new = start_primary_and_replica(start)
    old.set("k", "1")
    assert old.execute_command("WAIT", 1, 5000) == 1
    assert new.info("replication")["master_replid"] == old.info("replication")["master_replid"]
    new.execute_command("REPLICAOF", "NO", "ONE")
    old.execute_command("REPLICAOF", new_server.host, new_server.port)
    wait_until(lambda: old.info("replication")["master_link_status"] == "up")
    stats = new.info("stats")
    assert (stats["sync_partial_ok"], stats["sync_full"]) == (1, 0)
    new.set("k", "2")
    assert new.execute_command("WAIT", 1, 5000) == 1
    assert old.get("k") == b"2"


@pytest.mark.parametrize("kind", ["fromscratch", "redis"])
def test_a_restarted_primary_continues_its_replicas_stream(kind, tmp_path):
    # The snapshot a primary saves at shutdown says where its stream had come to (RDB
    # aux fields repl-id and repl-offset in Redis): once restarted, it continues that
    # stream, and its replica resynchronizes partially, as Redis's psync2 does. A key
    # that expired while it was down reaches the replica as a DEL.
    launch = start_kvdb if kind == "fromscratch" else start_redis
    (tmp_path / "primary").mkdir()
    (tmp_path / "replica").mkdir()
    port = free_port()
    primary_options = ("--save", "3600 1", "--repl-diskless-sync-delay", "0")
    primary_server = launch(str(tmp_path / "primary"), *primary_options, port=port)
    replica_server = launch(str(tmp_path / "replica"), "--replicaof", "127.0.0.1", str(port))
    try:
        primary, replica = connect(primary_server), connect(replica_server)
        wait_until(lambda: replica.info("replication")["master_link_status"] == "up")
        primary.set("kept", "1")
        primary.set("brief", "2", px=1500)
        assert primary.execute_command("WAIT", 1, 5000) == 1
        before = primary.info("replication")
        primary_server.stop()                               # SIGTERM: saves
        time.sleep(1.6)                                     # "brief" expires meanwhile
        primary_server = launch(str(tmp_path / "primary"), *primary_options, port=port)
        primary = connect(primary_server)
        wait_until(lambda: primary.info("stats")["sync_partial_ok"] == 1,
                   what="a partial resynchronization")
        info = primary.info("replication")
        assert info["master_replid"] != before["master_replid"]
        assert info["master_replid2"] == before["master_replid"]
        # Where the stream had come to at shutdown (Redis adds a GETACK meanwhile), and
        # beyond it the DEL.
        saved = info["second_repl_offset"] - 1
        assert saved >= before["master_repl_offset"]
        assert info["master_repl_offset"] > saved
        assert primary.info("stats")["sync_full"] == 0
        wait_until(lambda: replica.get("brief") is None, what="the DEL of the expired key")
        assert replica.get("kept") == b"1"
        primary.set("after", "3")
        assert primary.execute_command("WAIT", 1, 5000) == 1
        assert replica.get("after") == b"3"
    finally:
        primary_server.stop()
        replica_server.stop()


def test_a_replica_promoted_makes_its_replicas_learn_its_new_id(start):
    # A <- B <- C. When B is promoted (REPLICAOF NO ONE), C is disconnected to learn
    # B's new id, and continues at once (a partial resynchronization): a replica that
    # kept the old id would be two histories behind after one more change, and need a
    # full synchronization.
    a = start("--repl-diskless-sync-delay", "0")
    b = start("--replicaof", a.host, str(a.port), "--repl-diskless-sync-delay", "0")
    c = start("--replicaof", b.host, str(b.port))
    a_client, b_client, c_client = connect(a), connect(b), connect(c)
    for client in (b_client, c_client):
        wait_until(lambda: client.info("replication")["master_link_status"] == "up")
    a_client.set("k", "1")
    wait_until(lambda: c_client.get("k") == b"1")
    served = b_client.info("stats")
    b_client.execute_command("REPLICAOF", "NO", "ONE")
    new_id = b_client.info("replication")["master_replid"]
    wait_until(lambda: c_client.info("replication")["master_replid"] == new_id,
               what="C to learn B's new id")
    wait_until(lambda: c_client.info("replication")["master_link_status"] == "up")
    stats = b_client.info("stats")
    assert stats["sync_partial_ok"] == served["sync_partial_ok"] + 1
    assert stats["sync_full"] == served["sync_full"]
    b_client.set("k", "2")
    wait_until(lambda: c_client.get("k") == b"2")


def test_a_paused_replica_reads_its_primarys_writes_but_holds_them(start):
    # CLIENT PAUSE WRITE on a replica holds the primary's writes as any client's, as in
    # Redis: they are read (slave_read_repl_offset) but applied only once unpaused.
    primary_server = start("--repl-diskless-sync-delay", "0")
    replica_server = start("--replicaof", primary_server.host, str(primary_server.port))
    primary, replica = connect(primary_server), connect(replica_server)
    wait_until(lambda: replica.info("replication")["master_link_status"] == "up")
    primary.set("foo", "bar")
    applied = primary.info("replication")["master_repl_offset"]
    wait_until(lambda: replica.info("replication")["slave_repl_offset"] == applied)
    replica.client_pause(100_000, all=False)
    primary.set("foo2", "bar2")
    sent = primary.info("replication")["master_repl_offset"]
    wait_until(lambda: replica.info("replication")["slave_read_repl_offset"] == sent)
    assert replica.info("replication")["slave_repl_offset"] == applied
    assert replica.get("foo2") is None                  # reads go on during the pause
    replica.client_unpause()
    wait_until(lambda: replica.info("replication")["slave_repl_offset"] == sent)
    assert replica.get("foo2") == b"bar2"


@pytest.mark.parametrize("replica_kind", ["fromscratch", "redis"])
def test_a_swapdb_replica_keeps_its_old_data_until_the_new_is_loaded(replica_kind, tmp_path):
    # The primary is a real Redis (for both): its dataset leaves at rdb-key-save-delay's
    # pace, slowly enough to watch the replica while it arrives.
    (tmp_path / "primary").mkdir()
    (tmp_path / "replica").mkdir()
    primary_server = start_redis(str(tmp_path / "primary"), "--repl-diskless-sync", "yes",
                                 "--repl-diskless-sync-delay", "0", "--rdbcompression", "no",
                                 "--enable-debug-command", "yes")
    launch = start_kvdb if replica_kind == "fromscratch" else start_redis
    # (A Redis loading serves its clients every loading-process-events-interval-bytes:
    # 2 MB, 100 of these keys, by default.)
    replica_log = tmp_path / "replica" / "replica.log"
    replica_server = launch(str(tmp_path / "replica"), "--repl-diskless-load", "swapdb",
                            "--loading-process-events-interval-bytes", "65536",
                            "--enable-debug-command", "yes", "--logfile", str(replica_log))
    primary = redis.Redis(port=primary_server.port)
    # No retries: redis-py takes -LOADING for a connection error, and tries again.
    replica = redis.Redis(port=replica_server.port, retry=Retry(NoBackoff(), 0))

    def loading_state():
        info = replica.info("persistence")
        return info["loading"], info["async_loading"]

    try:
        replica.execute_command("DEBUG", "POPULATE", 200, "old", 10)
        replica.set("mykey", "myvalue")
        # Values too big for the primary's write buffer: each key leaves as it is saved.
        primary.execute_command("DEBUG", "POPULATE", 400, "new", 20000)
        primary.config_set("rdb-key-save-delay", 5000)           # 2 seconds for 400 keys

        # Another history: a plain load, every command refused while the data arrives...
        replica.replicaof(primary_server.host, primary_server.port)
        wait_until(lambda: loading_state() == (1, 0), what="the replica to load")
        with pytest.raises(redis.BusyLoadingError):
            replica.get("mykey")
        # ... and the old data back when the transfer fails.
        primary.config_set("repl-diskless-sync-delay", 5)        # no new try at once
        primary.client_kill_filter(_type="replica")
        wait_until(lambda: loading_state() == (0, 0), what="the load to fail")
        assert replica.get("mykey") == b"myvalue"
        assert replica.dbsize() == 201
        # Logged as Redis logs a short read of the socket it loads from.
        log = replica_log.read_text()
        assert "Internal error in RDB reading offset" in log
        assert "Unexpected EOF reading RDB file. Failure loading rdb format from socket" in log
        assert "Failed trying to load the MASTER synchronization DB from socket" in log
        assert "MASTER <-> REPLICA sync: Discarding temporary DB in background" in log

        primary.config_set("rdb-key-save-delay", 0)
        primary.config_set("repl-diskless-sync-delay", 0)
        wait_until(lambda: replica.info("replication")["master_link_status"] == "up")
        assert replica.get("mykey") is None
        assert replica.dbsize() == 400

        # The same history again (the backlog outrun, so a full sync): an async load, the
        # old data served meanwhile; only what would change the replica's role or files
        # is refused.
        replica.config_set("replica-read-only", "no")
        replica.set("mykey", "myvalue")
        primary.config_set("rdb-key-save-delay", 10000)
        with primary.pipeline(transaction=True) as pipe:
            pipe.client_kill_filter(_type="replica")
            pipe.config_set("repl-backlog-size", 16384)
            for n in range(10):
                pipe.set(f"filler:{n}", "A" * 16384)
            pipe.execute()
        wait_until(lambda: loading_state() == (0, 1), what="the replica to load async")
        assert replica.get("mykey") == b"myvalue"
        assert replica.dbsize() == 401
        with pytest.raises(redis.BusyLoadingError):
            replica.execute_command("REPLICAOF", "NO", "ONE")
        with pytest.raises(redis.BusyLoadingError):
            replica.config_set("appendonly", "no")
        wait_until(lambda: loading_state() == (0, 0)
                   and replica.info("replication")["master_link_status"] == "up",
                   what="the async load to finish")
        assert replica.get("mykey") is None
        assert replica.dbsize() == 410
    finally:
        primary.close()
        replica.close()
        replica_server.stop()
        primary_server.stop()


def test_failover_hands_the_primary_role_over_without_a_full_sync(start):
    first, primary, second, replica = start_primary_and_replica(start)

    def replication(client):
        return client.info("replication")

    try:
        wait_until(lambda: replication(primary).get("slave0", {}).get("state") == "online")
        for args, error in [(("TO", "127.0.0.1", "1"), "target HOST and PORT is not a replica"),
                            (("FORCE", "TIMEOUT", "100"), "requires both a timeout"),
                            (("TIMEOUT", "0"), "timeout must be greater than 0"),
                            (("TO", "127.0.0.1"), "syntax error"),
                            (("ABORT",), "No failover in progress")]:
            with pytest.raises(redis.ResponseError, match=error):
                primary.execute_command("FAILOVER", *args)
        with pytest.raises(redis.ResponseError, match="not valid when server is a replica"):
            replica.execute_command("FAILOVER")

        primary.set("before", "1")
        assert primary.execute_command("FAILOVER", "TO", second.host, second.port) == b"OK"
        wait_until(lambda: replication(primary)["master_failover_state"] == "no-failover",
                   what="the failover")
        wait_until(lambda: replication(primary)["role"] == "slave"
                   and replication(primary)["master_link_status"] == "up", what="the old primary")
        assert replication(replica)["role"] == "master"
        assert replica.get("before") == b"1"
        stats = replica.info("stats")
        assert (stats["sync_full"], stats["sync_partial_ok"]) == (0, 1)   # it continued
        replica.set("after", "2")
        wait_until(lambda: primary.get("after") == b"2", what="the write to reach the old primary")

        # One that waits for a replica that does not acknowledge can be aborted; reads go
        # on meanwhile, and REPLICAOF is refused.
        new_primary, new_replica = replica, primary
        os.kill(first.process.pid, signal.SIGSTOP)
        try:
            new_primary.set("unacknowledged", "3")
            new_primary.execute_command("FAILOVER", "TO", first.host, first.port, "TIMEOUT", 60000)
            assert replication(new_primary)["master_failover_state"] == "waiting-for-sync"
            assert new_primary.get("unacknowledged") == b"3"
            with pytest.raises(redis.ResponseError, match="not allowed while failing over"):
                new_primary.replicaof(first.host, first.port)
            assert new_primary.execute_command("FAILOVER", "ABORT") == b"OK"
            assert replication(new_primary)["master_failover_state"] == "no-failover"
        finally:
            os.kill(first.process.pid, signal.SIGCONT)
        assert replication(new_primary)["role"] == "master"
        new_primary.set("still-writable", "4")
        wait_until(lambda: new_replica.get("still-writable") == b"4")
    finally:
        primary.close()
        replica.close()


def test_replicaof_keeps_the_replicas_until_the_history_changes(start):
    _primary, old_primary, _replica, client = start_primary_and_replica(start)
    try:
        syncs = [old_primary.info("stats")[name] for name in ("sync_full", "sync_partial_ok")]
        # Following a server that is not there (yet): the replica keeps its link, and
        # never had to sync again.
        old_primary.replicaof("127.0.0.1", free_port())
        time.sleep(2)
        assert client.info("replication")["master_link_status"] == "up"
        assert [old_primary.info("stats")[name]
                for name in ("sync_full", "sync_partial_ok")] == syncs
    finally:
        old_primary.close()
        client.close()


def test_flushall_stops_a_diskless_transfer_and_the_replica_syncs_again(start, tmp_path):
    # Redis's "diskless replication read pipe cleanup": the transfer of data FLUSHALL
    # removed is stopped (its child killed) and the replica, dropped, syncs again.
    log_file = tmp_path / "primary.log"
    primary_server = start("--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0",
                           "--logfile", str(log_file), "--enable-debug-command", "yes")
    primary = connect(primary_server)
    primary.execute_command("DEBUG", "POPULATE", 1000, "key", 100)
    primary.config_set("rdb-key-save-delay", 10000)           # 10 s for the transfer
    replica_server = start("--replicaof", primary_server.host, str(primary_server.port))
    replica = connect(replica_server)
    wait_until(lambda: "Background RDB transfer started by pid" in log_file.read_text(),
               what="the transfer")
    primary.config_set("rdb-key-save-delay", 0)
    primary.flushall()
    wait_until(lambda: replica.info("replication")["master_link_status"] == "up")
    assert replica.dbsize() == 0
    # (Redis logs the child's end once its cron has collected it.)
    wait_until(lambda: "Background RDB transfer terminated with success"
               in log_file.read_text(), what="the second transfer's child to end")
    log = log_file.read_text()
    assert "Background transfer terminated by signal" in log
    assert log.count("Background RDB transfer started by pid") == 2


def child_pids(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(child) for child in handle.read().split()]
    except OSError:
        return []


def process_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def disk_sync_primary(start, tmp_path, *options):
    """A primary that syncs its replicas from disk, with 400 keys whose save takes
    rdb-key-save-delay's time; its log in tmp_path."""
    log_file = tmp_path / "primary.log"
    server = start("--repl-diskless-sync", "no", "--logfile", str(log_file),
                   "--enable-debug-command", "yes", *options)
    primary = connect(server)
    primary.execute_command("DEBUG", "POPULATE", 400, "key", 10)
    primary.config_set("rdb-key-save-delay", 5000)                # 2 s for 400 keys
    return server, primary, log_file


def test_a_disk_sync_is_a_bgsave_its_replicas_share(start, tmp_path):
    # Redis, without repl-diskless-sync: a BGSAVE child saves dump.rdb, the replicas
    # wait (state wait_bgsave), a second one shares it, then both get the file.
    server, primary, log_file = disk_sync_primary(start, tmp_path)
    first = start("--replicaof", server.host, str(server.port))
    wait_until(lambda: primary.info("persistence")["rdb_bgsave_in_progress"] == 1,
               what="the BGSAVE")
    second = start("--replicaof", server.host, str(server.port))
    wait_until(lambda: primary.info("replication")["connected_slaves"] == 2)
    states = [value["state"] for name, value in primary.info("replication").items()
              if name.startswith("slave")]
    assert states == ["wait_bgsave", "wait_bgsave"]
    primary.set("during", "the save")                  # held for both meanwhile
    primary.config_set("rdb-key-save-delay", 0)
    for replica in map(connect, (first, second)):
        wait_until(lambda: replica.info("replication")["master_link_status"] == "up")
        wait_until(lambda: replica.dbsize() == 401)
        assert replica.get("during") == b"the save"
    assert os.path.exists(os.path.join(server.directory, "dump.rdb"))
    log = log_file.read_text()
    assert "Starting BGSAVE for SYNC with target: disk" in log
    assert "Waiting for end of BGSAVE for SYNC" in log
    assert log.count("Synchronization with replica") == 2


@pytest.mark.parametrize("save", ["", "900 1"])
def test_a_bgsave_no_replica_waits_for_is_stopped_unless_saves_are_due(start, tmp_path, save):
    server, primary, _log = disk_sync_primary(start, tmp_path, "--save", save)
    replica_server = start("--replicaof", server.host, str(server.port))
    wait_until(lambda: primary.info("persistence")["rdb_bgsave_in_progress"] == 1,
               what="the BGSAVE")
    connect(replica_server).replicaof("NO", "ONE")
    time.sleep(0.5)
    assert primary.info("persistence")["rdb_bgsave_in_progress"] == (1 if save else 0)


def test_a_bgsave_child_ends_when_its_parent_is_killed(start, tmp_path):
    # Redis's replication.tcl: as Redis's, the child finds out when it next reports
    # its progress (every 1024 keys, a second apart at most).
    server, primary, _log = disk_sync_primary(start, tmp_path)
    primary.execute_command("DEBUG", "POPULATE", 10000, "more", 10)
    primary.config_set("rdb-key-save-delay", 1000)                      # 10 s to save
    start("--replicaof", server.host, str(server.port))
    wait_until(lambda: primary.info("persistence")["rdb_bgsave_in_progress"] == 1,
               what="the BGSAVE")
    [child] = child_pids(server.process.pid)
    server.process.kill()
    server.process.wait()
    wait_until(lambda: not process_alive(child), timeout=5, what="the child to end")


def test_the_primary_logs_each_sync_as_redis_does(start, tmp_path):
    log_file = tmp_path / "primary.log"
    server = start("--logfile", str(log_file), "--repl-diskless-sync-delay", "1")
    primary = connect(server)
    primary.set("k", "v")
    replica_server = start("--replicaof", server.host, str(server.port))
    replica = connect(replica_server)
    port = replica_server.port
    # (The primary may see its transfer end after the replica has loaded it.)
    wait_until(lambda: f"Synchronization with replica 127.0.0.1:{port} succeeded"
               in log_file.read_text())
    log = log_file.read_text()
    for line in (f"Replica 127.0.0.1:{port} asks for synchronization",
                 f"Full resync requested by replica 127.0.0.1:{port}",
                 "Delay next BGSAVE for diskless SYNC",
                 "Starting BGSAVE for SYNC with target: replicas sockets",
                 f"Synchronization with replica 127.0.0.1:{port} succeeded"):
        assert line in log
    stats = primary.info("stats")                 # a first sync is no failed PSYNC
    assert (stats["sync_full"], stats["sync_partial_err"]) == (1, 0)
    # The link breaks; the replica continues from where it was.
    primary.set("more", "1")
    wait_until(lambda: replica.get("more") == b"1")
    primary.client_kill_filter(_type="replica")
    wait_until(lambda: "Partial resynchronization request from" in log_file.read_text())
    assert fnmatch.fnmatch(log_file.read_text(), f"*Partial resynchronization request from "
                           f"127.0.0.1:{port} accepted. Sending * bytes of backlog starting "
                           f"from offset *")
    assert primary.info("stats")["sync_partial_ok"] == 1


def test_a_promoted_replica_keeps_its_backlog_for_its_former_siblings(start):
    # A replica that never had replicas of its own, promoted: the siblings that come
    # to it later continue (repl-backlog-ttl counts from the promotion, not from when
    # the server started, nor from the machine's boot).
    primary_server = start("--repl-diskless-sync-delay", "0")
    primary = connect(primary_server)
    first, second = start("--replicaof", "127.0.0.1", str(primary_server.port)), \
        start("--replicaof", "127.0.0.1", str(primary_server.port))
    primary.set("k", "v")
    primary.wait(2, 10000)
    promoted, sibling = connect(first), connect(second)
    promoted.replicaof("no", "one")
    time.sleep(0.5)                                   # a few of its cron's turns
    sibling.replicaof("127.0.0.1", first.port)
    wait_until(lambda: sibling.info("replication")["master_link_status"] == "up")
    stats = promoted.info("stats")
    assert (stats["sync_partial_ok"], stats["sync_full"]) == (1, 0)
    assert promoted.info("replication")["repl_backlog_active"] == 1
