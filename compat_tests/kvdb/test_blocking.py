"""Blocking list pops (BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP) through redis-py, against our
server and real Redis alike.

A waiting client runs in a thread on its own connection; the test's main client `r`
then changes keys and checks who got what. "Is it waiting yet?" is read from INFO's
blocked_clients, so no test depends on sleeping long enough.
"""

import threading
import time

import pytest
import redis

from compat_tests.kvdb.conftest import connect


def blocked_clients(r) -> int:
    return r.info("clients")["blocked_clients"]


def wait_until(condition, what: str, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.005)


class Waiter:
    """One blocking call running in a thread on its own connection."""

    def __init__(self, client, call):
        self.client = client
        self.id = client.client_id()
        self.outcome = None
        self.thread = threading.Thread(target=self._run, args=(call,), daemon=True)
        self.thread.start()

    def _run(self, call):
        try:
            self.outcome = ("reply", call(self.client))
        except redis.RedisError as error:
            self.outcome = ("error", error)

    def result(self):
        """The call's reply, once it has come (re-raising an error reply)."""
        self.thread.join(5)
        assert not self.thread.is_alive(), "the blocked call never returned"
        kind, value = self.outcome
        if kind == "error":
            raise value
        return value

    @property
    def done(self) -> bool:
        return not self.thread.is_alive()


@pytest.fixture
def waiting(server, protocol, r):
    """waiting(call): start `call(client)` on a new connection and return once the
    server counts it as blocked; the Waiter gives its result later."""
    waiters = []

    def start(call) -> Waiter:
        before = blocked_clients(r)
        waiter = Waiter(connect(server, protocol), call)
        waiters.append(waiter)
        wait_until(lambda: blocked_clients(r) == before + 1, "the client blocks")
        return waiter

    yield start
    for waiter in waiters:
        if not waiter.done:                       # a failed test: set it free
            r.client_unblock(waiter.id)
        waiter.client.close()


# -- without waiting ------------------------------------------------------------------------

def test_data_present_is_served_at_once(r):
    r.rpush("b", "1", "2")
    r.rpush("c", "3")
    assert list(r.blpop(["a", "b", "c"], 0)) == [b"b", b"1"]
    assert list(r.brpop(["a", "c", "b"], 0)) == [b"c", b"3"]      # keys in given order
    assert r.blmove("b", "d", 0, "LEFT", "RIGHT") == b"2"
    assert r.exists("b", "c") == 0
    r.rpush("d", "x")
    assert r.brpoplpush("d", "e", 0) == b"x"
    assert r.blmpop(0, 2, "a", "e", direction="LEFT", count=5) == [b"e", [b"x"]]


def test_timeouts_answer_null_after_the_timeout(r):
    for call in (lambda: r.blpop(["k"], 0.1), lambda: r.brpop(["k", "j"], 0.1),
                 lambda: r.blmove("k", "d", 0.1, "LEFT", "LEFT"),
                 lambda: r.brpoplpush("k", "d", 0.1),
                 lambda: r.blmpop(0.1, 1, "k", direction="RIGHT")):
        started = time.monotonic()
        assert call() is None
        assert time.monotonic() - started >= 0.099       # Redis counts whole milliseconds
    assert r.blpop(["k"], 0.0001) is None                # rounded up to 1 ms, not forever


def test_timeout_reply_shapes(wire, protocol):
    null_array = b"*-1\r\n" if protocol == 2 else b"_\r\n"
    assert wire.call("BLPOP", "k", "0.01") == null_array
    assert wire.call("BRPOP", "k", "0.01") == null_array
    assert wire.call("BLMPOP", "0.01", 1, "k", "LEFT") == null_array
    # BLMOVE and BRPOPLPUSH answer a single element, yet time out with a null *array*.
    assert wire.call("BLMOVE", "k", "d", "LEFT", "LEFT", "0.01") == null_array
    assert wire.call("BRPOPLPUSH", "k", "d", "0.01") == null_array


@pytest.mark.parametrize("args, message", [
    (["BLPOP", "k", "abc"], "timeout is not a float or out of range"),
    (["BLPOP", "k", " 1"], "timeout is not a float or out of range"),
    (["BLPOP", "k", "nan"], "timeout is not a float or out of range"),
    (["BRPOP", "k", "-1"], "timeout is negative"),
    (["BRPOPLPUSH", "k", "d", "-0.5"], "timeout is negative"),
    (["BLMOVE", "k", "d", "UP", "LEFT", "abc"], "syntax error"),
    (["BLMOVE", "k", "d", "LEFT", "LEFT", "abc"], "timeout is not a float or out of range"),
    (["BLMPOP", "abc", "0", "k", "LEFT"], "numkeys should be greater than 0"),  # before timeout
    (["BLMPOP", "abc", "1", "k", "LEFT"], "timeout is not a float or out of range"),
    (["BLMPOP", "0", "1", "k", "LEFT", "COUNT", "0"], "count should be greater than 0"),
    (["BLMPOP", "0", "1", "k"], "wrong number of arguments for 'blmpop' command"),
    (["BLPOP", "k"], "wrong number of arguments for 'blpop' command"),
])
def test_argument_errors(r, args, message):
    with pytest.raises(redis.ResponseError) as error:
        r.execute_command(*args)
    assert str(error.value) == message


def test_timeouts_beyond_64_bits(r, server_version):
    if server_version < (7, 2):
        pytest.skip("Redis 7.0 let these overflow into 'timeout is negative'")
    for timeout in ("inf", "1e20"):
        with pytest.raises(redis.ResponseError, match="^timeout is out of range$"):
            r.execute_command("BLPOP", "k", timeout)


def test_wrong_type_keys(r):
    r.set("s", "x")
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
        r.blpop(["missing", "s"], 0.01)
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
        r.blmove("s", "d", 0.01, "LEFT", "LEFT")
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
        r.blmpop(0.01, 2, "missing", "s", direction="LEFT")
    # An empty source waits without looking at the destination.
    assert r.blmove("missing", "s", 0.01, "LEFT", "LEFT") is None


def test_inside_multi_nothing_waits(r):
    with r.pipeline() as pipe:
        pipe.blpop(["k"], 0)
        pipe.brpop(["k"], 0)
        pipe.blmove("k", "d", 0, "LEFT", "LEFT")
        pipe.brpoplpush("k", "d", 0)
        pipe.blmpop(0, 1, "k", direction="LEFT")
        assert pipe.execute() == [None] * 5


def test_inside_multi_reply_shapes(wire, protocol):
    wire.call("MULTI")
    for command in (["BLPOP", "k", 0], ["BLMOVE", "k", "d", "LEFT", "LEFT", 0],
                    ["BRPOPLPUSH", "k", "d", 0], ["BLMPOP", 0, 1, "k", "LEFT"]):
        assert wire.call(*command) == b"+QUEUED\r\n"
    if protocol == 2:        # here BLMOVE and BRPOPLPUSH answer a null bulk
        assert wire.call("EXEC") == b"*4\r\n*-1\r\n$-1\r\n$-1\r\n*-1\r\n"
    else:
        assert wire.call("EXEC") == b"*4\r\n_\r\n_\r\n_\r\n_\r\n"


# -- waiting and being served ---------------------------------------------------------------

def test_a_push_serves_a_waiting_client(r, waiting):
    waiter = waiting(lambda c: c.blpop(["a", "k"], 0))
    assert r.rpush("k", "x", "y") == 2
    assert list(waiter.result()) == [b"k", b"x"]
    assert r.lrange("k", 0, -1) == [b"y"]


def test_brpop_takes_from_the_tail(r, waiting):
    waiter = waiting(lambda c: c.brpop(["k"], 0))
    r.rpush("k", "x", "y")
    assert list(waiter.result()) == [b"k", b"y"]


def test_waiting_clients_are_served_in_arrival_order(r, waiting):
    waiters = [waiting(lambda c: c.blpop(["k"], 0)) for _ in range(3)]
    r.rpush("k", "1", "2", "3")
    assert [list(w.result()) for w in waiters] == [[b"k", b"1"], [b"k", b"2"], [b"k", b"3"]]
    assert r.exists("k") == 0


def test_one_element_serves_one_client(r, waiting):
    first = waiting(lambda c: c.blpop(["k"], 0))
    second = waiting(lambda c: c.brpop(["k"], 0))
    r.lpush("k", "1")
    assert list(first.result()) == [b"k", b"1"]
    assert blocked_clients(r) == 1 and not second.done
    r.lpush("k", "2")
    assert list(second.result()) == [b"k", b"2"]


def test_a_timeout_while_waiting(r, waiting):
    started = time.monotonic()
    waiter = waiting(lambda c: c.blpop(["k"], 0.15))
    assert waiter.result() is None
    assert time.monotonic() - started >= 0.149
    assert blocked_clients(r) == 0


def test_blmpop_is_served_with_its_count(r, waiting):
    waiter = waiting(lambda c: c.blmpop(0, 2, "a", "b", direction="RIGHT", count=2))
    r.rpush("b", "1", "2", "3")
    assert waiter.result() == [b"b", [b"3", b"2"]]
    assert r.lrange("b", 0, -1) == [b"1"]


def test_a_blmove_push_wakes_the_next_waiter(r, waiting):
    mover = waiting(lambda c: c.blmove("src", "dst", 0, "RIGHT", "LEFT"))
    reader = waiting(lambda c: c.blpop(["dst"], 0))
    r.rpush("src", "x")
    assert mover.result() == b"x"
    assert list(reader.result()) == [b"dst", b"x"]
    assert r.exists("src", "dst") == 0


def test_brpoplpush_chain(r, waiting):
    first = waiting(lambda c: c.brpoplpush("a", "b", 0))
    second = waiting(lambda c: c.brpoplpush("b", "c", 0))
    r.lpush("a", "x")
    assert first.result() == b"x"
    assert second.result() == b"x"
    assert r.lrange("c", 0, -1) == [b"x"]


def test_pushes_in_a_transaction_serve_after_exec(r, waiting):
    waiter = waiting(lambda c: c.blpop(["k"], 0))
    with r.pipeline() as pipe:
        pipe.rpush("k", "a")
        pipe.rpush("k", "b")
        pipe.execute()
    assert list(waiter.result()) == [b"k", b"a"]
    assert r.lrange("k", 0, -1) == [b"b"]


def test_a_list_gone_by_the_end_of_exec_serves_nobody(r, waiting):
    waiter = waiting(lambda c: c.blpop(["k"], 0))
    with r.pipeline() as pipe:
        pipe.rpush("k", "a")
        pipe.lpop("k")
        assert pipe.execute() == [1, b"a"]
    assert blocked_clients(r) == 1 and not waiter.done
    r.rpush("k", "b")
    assert list(waiter.result()) == [b"k", b"b"]


def test_a_key_of_another_type_keeps_clients_waiting(r, waiting):
    waiter = waiting(lambda c: c.blpop(["k"], 0))
    r.set("k", "string")
    r.hset("h", "f", "v")
    assert blocked_clients(r) == 1 and not waiter.done
    r.delete("k")
    r.rpush("k", "x")                                   # re-created as a list
    assert list(waiter.result()) == [b"k", b"x"]


def test_woken_by_one_key_fails_on_an_earlier_one_of_another_type(r, waiting, server_version):
    if server_version < (7, 2):
        pytest.skip("Redis 7.0 served the woken key directly; 7.2 re-runs the command")
    waiter = waiting(lambda c: c.blpop(["a", "b"], 0))
    r.set("a", "string")
    r.rpush("b", "x")
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
        waiter.result()
    assert r.lrange("b", 0, -1) == [b"x"]


def test_blmove_into_a_wrong_type_fails_when_woken(r, waiting):
    waiter = waiting(lambda c: c.blmove("src", "dst", 0, "LEFT", "LEFT"))
    r.set("dst", "string")
    r.rpush("src", "x")
    with pytest.raises(redis.ResponseError, match="^WRONGTYPE"):
        waiter.result()
    assert r.lrange("src", 0, -1) == [b"x"]            # nothing was moved


def test_client_unblock(r, waiting):
    waiter = waiting(lambda c: c.blpop(["k"], 0))
    assert r.client_unblock(waiter.id) == 1
    assert waiter.result() is None
    assert r.client_unblock(waiter.id) == 0             # not blocked any more
    waiter = waiting(lambda c: c.blmove("k", "d", 0, "LEFT", "LEFT"))
    assert r.client_unblock(waiter.id, error=True) == 1
    with pytest.raises(redis.ResponseError,
                       match="^UNBLOCKED client unblocked via CLIENT UNBLOCK"):
        waiter.result()


def test_a_waiting_client_runs_what_it_sent_meanwhile(r, server, protocol):
    client = connect(server, protocol)
    with client.pipeline(transaction=False) as pipe:
        pipe.blpop(["k"], 0)
        pipe.lpush("k2", "after")
        pipe.llen("k2")
        thread_result = []
        thread = threading.Thread(target=lambda: thread_result.append(pipe.execute()))
        thread.start()
        wait_until(lambda: blocked_clients(r) == 1, "the client blocks")
        assert r.llen("k2") == 0                        # not run while it waits
        r.rpush("k", "x")
        thread.join(5)
    assert [list(thread_result[0][0])] + thread_result[0][1:] == [[b"k", b"x"], 1, 1]
    client.close()


def test_waiting_keeps_no_other_client_waiting(r, waiting):
    waiter = waiting(lambda c: c.blpop(["k"], 0))
    assert r.ping() is True
    assert r.rpush("other", "x") == 1
    assert not waiter.done
    r.rpush("k", "done")
    waiter.result()


# -- CLIENT PAUSE -----------------------------------------------------------------------------

@pytest.fixture
def lift_pause(r):
    """Whatever happens in the test, no pause outlives it."""
    yield
    r.client_unpause()


def test_clients_held_by_a_pause_count_as_blocked(r, waiting, lift_pause):
    r.client_pause(60000, all=False)
    waiter = waiting(lambda c: c.set("k", "v"))        # returns once blocked_clients is 1
    assert [c["flags"] for c in r.client_list() if int(c["id"]) == waiter.id] == ["b"]
    r.client_unpause()
    assert waiter.result() is True
    assert blocked_clients(r) == 0


def test_a_write_pause_judges_a_transaction_by_its_commands(r, server, protocol, lift_pause):
    r.set("k", "v")
    r.client_pause(60000, all=False)
    client = connect(server, protocol)
    with client.pipeline() as pipe:                 # MULTI ... EXEC of reads: not held
        pipe.ping()
        pipe.get("k")
        assert pipe.execute() == [True, b"v"]
    assert blocked_clients(r) == 0
    r.client_unpause()
    conn = client.connection_pool.get_connection()
    conn.send_command("MULTI")
    assert conn.read_response() == b"OK"
    conn.send_command("SET", "k", "queued before the pause")
    assert conn.read_response() == b"QUEUED"
    r.client_pause(60000, all=False)
    conn.send_command("EXEC")                       # it would write: held
    wait_until(lambda: blocked_clients(r) == 1, "EXEC is held")
    r.client_unpause()
    assert conn.read_response() == [b"OK"]
    conn.send_command("MULTI")
    assert conn.read_response() == b"OK"
    r.client_pause(60000, all=False)
    conn.send_command("SET", "k", "queued during the pause")    # held before it is queued
    wait_until(lambda: blocked_clients(r) == 1, "the write is held")
    r.client_unpause()
    assert conn.read_response() == b"QUEUED"
    conn.send_command("EXEC")
    assert conn.read_response() == [b"OK"]
    client.connection_pool.release(conn)
    client.close()
