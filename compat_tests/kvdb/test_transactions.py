"""MULTI/EXEC/WATCH, pipelines, and many clients at once."""

import socket
import threading
import time

import pytest
import redis

from .conftest import connect, raw


def test_multi_exec(r):
    with r.pipeline(transaction=True) as pipe:
        pipe.set("a", "1").incr("a").get("a")
        assert pipe.execute() == [True, 2, b"2"]


def test_runtime_errors_are_replies_inside_exec(r):
    r.set("s", "text")
    with r.pipeline(transaction=True) as pipe:
        pipe.incr("s").set("t", "ok").get("t")
        results = pipe.execute(raise_on_error=False)
    assert isinstance(results[0], redis.ResponseError)
    assert results[1:] == [True, b"ok"]                 # the rest still ran


def test_queueing_errors_abort_with_execabort(r, server):
    with r.pipeline(transaction=True) as pipe:
        pipe.set("a", "1")
        pipe.execute_command("GET")                      # wrong arity: rejected when queued
        # redis-py reports the queuing error that caused the EXECABORT
        with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'get'"):
            pipe.execute()
    assert r.get("a") is None
    data = raw(server, b"MULTI\r\nSET a 1\r\nNOSUCH\r\nEXEC\r\n", read_until=b"errors.\r\n")
    assert data.endswith(b"-EXECABORT Transaction discarded because of previous errors.\r\n")
    assert r.get("a") is None


def test_multi_errors(r):
    conn = r.connection_pool.get_connection("MULTI")
    try:
        conn.send_command("MULTI")
        assert conn.read_response() in (b"OK", "OK")
        conn.send_command("MULTI")
        with pytest.raises(redis.ResponseError, match="MULTI calls can not be nested"):
            conn.read_response()
        conn.send_command("WATCH", "x")
        with pytest.raises(redis.ResponseError, match="WATCH inside MULTI is not allowed"):
            conn.read_response()
        conn.send_command("DISCARD")
        assert conn.read_response() in (b"OK", "OK")
        conn.send_command("EXEC")
        with pytest.raises(redis.ResponseError, match="EXEC without MULTI"):
            conn.read_response()
        conn.send_command("DISCARD")
        with pytest.raises(redis.ResponseError, match="DISCARD without MULTI"):
            conn.read_response()
    finally:
        r.connection_pool.release(conn)


def test_watch_conflict_aborts(r, server, protocol):
    other = connect(server, protocol)
    r.set("balance", "100")
    with r.pipeline() as pipe:
        pipe.watch("balance")
        current = int(pipe.get("balance"))
        other.set("balance", "0")                        # someone else changes it
        pipe.multi()
        pipe.set("balance", current - 10)
        with pytest.raises(redis.WatchError):
            pipe.execute()
    assert r.get("balance") == b"0"
    other.close()


def test_watch_without_conflict_commits(r):
    r.set("balance", "100")
    with r.pipeline() as pipe:
        pipe.watch("balance")
        current = int(pipe.get("balance"))
        pipe.multi()
        pipe.set("balance", current - 10)
        assert pipe.execute() == [True]
    assert r.get("balance") == b"90"


def test_watch_sees_expiry(r):
    r.set("k", "v", px=100)
    with r.pipeline() as pipe:
        pipe.watch("k")
        time.sleep(0.2)                                   # it expires while watched
        pipe.multi()
        pipe.set("other", "x")
        with pytest.raises(redis.WatchError):
            pipe.execute()


def test_watch_sees_flushall_from_another_database(r, server, protocol):
    r.set("k", "v")
    other = connect(server, protocol, db=5)
    with r.pipeline() as pipe:
        pipe.watch("k")
        other.flushall()
        pipe.multi()
        pipe.set("x", "1")
        with pytest.raises(redis.WatchError):
            pipe.execute()
    other.close()


def test_watch_of_missing_key_survives_unrelated_flush(r, server, protocol):
    other = connect(server, protocol, db=5)
    with r.pipeline() as pipe:
        pipe.watch("never-existed")
        other.flushall()
        pipe.multi()
        pipe.set("x", "1")
        assert pipe.execute() == [True]
    other.close()


def test_unwatch_and_discard_forget(r, server, protocol):
    other = connect(server, protocol)
    with r.pipeline() as pipe:
        pipe.watch("k")
        pipe.unwatch()
        other.set("k", "changed")
        pipe.multi()
        pipe.set("x", "1")
        assert pipe.execute() == [True]
    other.close()


def test_transfers_between_accounts_stay_consistent(r, server, protocol):
    """Many clients move money with WATCH/MULTI: the total never changes."""
    r.mset({"acct:a": 1000, "acct:b": 1000})

    def transfer(times):
        client = connect(server, protocol)
        for i in range(times):
            source, target = ("acct:a", "acct:b") if i % 2 else ("acct:b", "acct:a")

            def move(pipe):
                balance = int(pipe.get(source))
                pipe.multi()
                pipe.set(source, balance - 1)
                pipe.incr(target)

            client.transaction(move, source, target)
        client.close()

    threads = [threading.Thread(target=transfer, args=(50,)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert int(r.get("acct:a")) + int(r.get("acct:b")) == 2000


def test_pipeline_of_ten_thousand_commands(r):
    with r.pipeline(transaction=False) as pipe:
        for i in range(10_000):
            pipe.set(f"k{i}", i)
        assert pipe.execute() == [True] * 10_000
    with r.pipeline(transaction=True) as pipe:
        for i in range(10_000):
            pipe.incr(f"k{i}")
        assert pipe.execute() == list(range(1, 10_001))
    assert r.dbsize() == 10_000


def test_five_hundred_concurrent_clients(r, server, protocol):
    clients = [connect(server, protocol, single_connection_client=True) for _ in range(500)]
    try:
        for i, client in enumerate(clients):
            client.set(f"client:{i}", i)
        barrier = threading.Barrier(50)
        errors = []

        def work(group):
            barrier.wait()
            try:
                for client in group:
                    client.incr("shared")
                    assert client.ping()
            except Exception as exc:                        # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(clients[i::50],)) for i in range(50)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors
        assert int(r.get("shared")) == 500
        assert r.info("clients")["connected_clients"] >= 500
        assert [int(c.get(f"client:{i}")) for i, c in enumerate(clients)] == list(range(500))
    finally:
        for client in clients:
            client.close()


def test_three_thousand_connections_at_once(r, server):
    """Thousands of clients on one event loop: each gets its answer, nobody waits."""
    sockets = [socket.create_connection((server.host, server.port)) for _ in range(3000)]
    try:
        for i, sock in enumerate(sockets):
            sock.sendall(b"INCR shared\r\nPING\r\n")
        answers = 0
        for sock in sockets:
            data = b""
            sock.settimeout(10)
            while not data.endswith(b"+PONG\r\n"):
                data += sock.recv(100)
            answers += 1
        assert answers == 3000
        assert int(r.get("shared")) == 3000
        assert r.info("clients")["connected_clients"] >= 3000
    finally:
        for sock in sockets:
            sock.close()


def test_swapdb_of_expired_keys_leaves_watch_alone(r, server, protocol):
    # A key that has expired is no value: swapping it in or out changes nothing WATCH sees.
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    client = connect(server, protocol, db=1)
    try:
        r.set("x", "foo", px=1)                      # db 0
        time.sleep(0.01)
        with client.pipeline(transaction=True) as pipe:
            pipe.watch("x")                          # db 1, where x never was
            r.swapdb(0, 1)
            pipe.multi()
            pipe.ping()
            assert pipe.execute() == [True]
    finally:
        client.close()
        r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1")


def test_exec_is_refused_by_what_it_would_run_and_ends_the_transaction(r, other):
    r.set("xx", 1)
    r.execute_command("MULTI")
    r.execute_command("INCR", "xx")                 # queued while writes were allowed
    other.config_set("min-replicas-to-write", 2)
    try:
        with pytest.raises(redis.ResponseError,
                           match="Transaction discarded because of: NOREPLICAS"):
            r.execute_command("EXEC")
    finally:
        other.config_set("min-replicas-to-write", 0)
    assert r.get("xx") == b"1"
    assert r.ping()                                 # no longer in MULTI
    with pytest.raises(redis.ResponseError, match="EXEC without MULTI"):
        r.execute_command("EXEC")
