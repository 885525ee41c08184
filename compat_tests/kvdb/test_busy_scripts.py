"""A script that runs too long: the server turns busy, answers other clients with -BUSY,
and lets SCRIPT KILL, FUNCTION KILL, FUNCTION STATS and SHUTDOWN NOSAVE through."""

import contextlib
import threading
import time

import pytest
import redis

from compat_tests.servers import start_kvdb, start_redis

from .conftest import connect

SPIN = "local i = 0 while true do i = i + 1 end"
LIBRARY = """#!lua name=busylib
redis.register_function('spin', function() while true do end end)
redis.register_function('spin_after_write', function(keys)
    redis.call('set', keys[1], 'written')
    while true do end
end)"""


class Background:
    """A command run by another client in a thread; `result` is its reply or error."""

    def __init__(self, server, *command):
        self.client = connect(server, 2, socket_timeout=20)
        self.result = None
        self.thread = threading.Thread(target=self._run, args=command, daemon=True)
        self.thread.start()

    def _run(self, *command):
        try:
            self.result = self.client.execute_command(*command)
        except (redis.ResponseError, redis.ConnectionError) as error:
            self.result = error

    def join(self):
        self.thread.join(20)
        assert not self.thread.is_alive()
        self.client.close()
        return self.result


def wait_until_busy(client) -> str:
    """Ping until the server answers BUSY; returns that error's message."""
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            client.ping()
        except redis.ResponseError as error:
            if str(error).startswith("BUSY"):
                return str(error)
            raise
        time.sleep(0.02)
    raise AssertionError("the server never turned busy")


@pytest.fixture
def busy_ready(r):
    r.config_set("busy-reply-threshold", 50)
    yield r
    r.config_set("busy-reply-threshold", 5000)


def test_script_kill_stops_a_busy_script(busy_ready, server):
    r = busy_ready
    assert_notbusy(r)
    running = Background(server, "EVAL", SPIN, 0)
    message = wait_until_busy(r)
    assert message == ("BUSY Redis is busy running a script. You can only call SCRIPT KILL "
                       "or SHUTDOWN NOSAVE.")
    # a new connection is accepted and refused alike
    newcomer = connect(server)
    with pytest.raises(redis.ResponseError, match="^BUSY"):
        newcomer.get("anything")
    newcomer.close()
    with pytest.raises(redis.ResponseError, match="^BUSY"):
        r.function_kill()                        # the KILL of what runs: SCRIPT KILL
    with pytest.raises(redis.ResponseError, match="^BUSY"):
        r.function_stats()
    assert r.script_kill()
    error = running.join()
    assert isinstance(error, redis.ResponseError)
    assert str(error).startswith("Script killed by user with SCRIPT KILL...")
    assert r.ping()
    assert_notbusy(r)


def assert_notbusy(r):
    for kill in (r.script_kill, r.function_kill):
        with pytest.raises(redis.ResponseError, match="No scripts in execution right now"):
            kill()


def test_pcall_cannot_catch_the_kill(busy_ready, server):
    r = busy_ready
    script = "while true do pcall(function() while true do end end) end"
    running = Background(server, "EVAL", script, 0)
    wait_until_busy(r)
    r.script_kill()
    assert "killed by user" in str(running.join())
    assert r.ping()


def test_function_kill_stops_a_busy_function_and_stats_show_it(busy_ready, server):
    r = busy_ready
    r.function_load(LIBRARY, replace=True)
    try:
        running = Background(server, "FCALL", "spin", 0)
        message = wait_until_busy(r)
        assert message.endswith("You can only call FUNCTION KILL or SHUTDOWN NOSAVE.")
        script = as_text(r.function_stats())["running_script"]
        assert script["name"] == "spin"
        assert [script["command"][0].lower(), *script["command"][1:]] == ["fcall", "spin", "0"]
        assert script["duration_ms"] >= 50
        with pytest.raises(redis.ResponseError, match="^BUSY"):
            r.script_kill()
        assert r.function_kill()
        assert "killed by user" in str(running.join())
    finally:
        with contextlib.suppress(redis.ResponseError):
            r.function_kill()                    # whatever failed above, stop it
        r.function_flush()


def as_text(reply):
    """A reply with its strings decoded and its maps (flat pairs in RESP2) as dicts."""
    if isinstance(reply, bytes):
        return reply.decode()
    if isinstance(reply, dict):
        return {as_text(key): as_text(value) for key, value in reply.items()}
    if isinstance(reply, list):
        items = [as_text(item) for item in reply]
        if items and all(isinstance(key, str) for key in items[::2]) and len(items) % 2 == 0 \
                and items[0] in ("running_script", "name", "engines"):
            return dict(zip(items[::2], items[1::2]))
        return items
    return reply


def _stop_by_shutdown(r):
    with pytest.raises(redis.ResponseError, match="^BUSY"):
        r.shutdown(nosave=False, save=False)            # SHUTDOWN alone is refused
    try:
        r.shutdown(nosave=True)
    except redis.ConnectionError:
        pass


@pytest.fixture(params=["fromscratch", "redis"])
def own_server(request, tmp_path):
    start = start_kvdb if request.param == "fromscratch" else start_redis
    server = start(str(tmp_path), "--busy-reply-threshold", "50")
    yield server
    server.stop()


def test_only_shutdown_nosave_stops_a_busy_script_that_wrote(own_server):
    # (a server of its own: the test ends it)
    r = connect(own_server)
    r.function_load(LIBRARY)
    running = Background(own_server, "FCALL", "spin_after_write", 1, "busy-key")
    wait_until_busy(r)
    with pytest.raises(redis.ResponseError, match="^UNKILLABLE Sorry the script already"):
        r.function_kill()
    with pytest.raises(redis.ResponseError, match="^BUSY"):
        r.ping()
    _stop_by_shutdown(r)
    assert isinstance(running.join(), redis.ConnectionError)    # never answered
    own_server.process.wait(10)
    assert own_server.process.returncode == 0


def test_clients_blocked_on_a_busy_scripts_keys_wait_for_its_end(busy_ready, server):
    # A command allowed while busy (HELLO) must not serve the clients the script's
    # first push woke: the script is not done, its last push comes first in the list.
    r = busy_ready
    r.execute_command("DEBUG", "SET-DISABLE-DENY-SCRIPTS", "1")
    try:
        blocked = Background(server, "BLPOP", "busy-list", 0)
        deadline = time.time() + 5
        while r.info("clients")["blocked_clients"] < 1 and time.time() < deadline:
            time.sleep(0.01)
        script = """
            redis.call('lpush', KEYS[1], 'y')
            while not string.find(redis.call('client', 'list'), 'abortscript') do end
            redis.call('lpush', KEYS[1], 'z')"""
        running = Background(server, "EVAL", script, 1, "busy-list")
        wait_until_busy(r)
        helper = connect(server)
        helper.execute_command("HELLO", "2", "SETNAME", "abortscript")
        assert running.join() is None
        assert list(blocked.join()) == [b"busy-list", b"z"]
        helper.close()
    finally:
        r.execute_command("DEBUG", "SET-DISABLE-DENY-SCRIPTS", "0")


def test_an_exec_that_arrives_while_busy_aborts_its_transaction(busy_ready, server):
    r = busy_ready
    r.set("xx", 1)
    queuer = connect(server)
    queuer.execute_command("MULTI")
    queuer.execute_command("INCR", "xx")
    running = Background(server, "EVAL", SPIN, 0)
    wait_until_busy(r)
    with pytest.raises(redis.ResponseError, match="Transaction discarded because of: BUSY"):
        queuer.execute_command("EXEC")
    r.script_kill()
    running.join()
    assert r.get("xx") == b"1"
    assert queuer.get("xx") == b"1"                 # answered, not QUEUED: out of MULTI
    queuer.close()
