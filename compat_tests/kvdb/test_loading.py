"""A server loading its data serves its clients meanwhile, as Redis does: most commands
get -LOADING (redis-py's BusyLoadingError), INFO and CONFIG answer, and a SIGTERM stops
the load without saving. `key-load-delay` (a sleep after each key or command loaded)
keeps a small load under way long enough to look at it; `loading-process-events-
interval-bytes 1024` makes the server stop to serve clients often. DEBUG POPULATE, which
fills the data for these tests, is checked here too.
"""

import os
import signal
import threading
import time

import pytest
import redis

from compat_tests.kvdb.test_persistence import Restartable, wait_for_persistence

KINDS = ["fromscratch", "redis"]
DEBUG = ("--enable-debug-command", "yes")
SLOW_LOAD = ("--key-load-delay", "200", "--loading-process-events-interval-bytes", "1024")
KEYS = 20_000


@pytest.fixture(params=KINDS)
def node(request, tmp_path):
    instance = Restartable(request.param, str(tmp_path), *DEBUG)
    yield instance
    if instance.server is not None and instance.server.process.poll() is None:
        instance.server.process.kill()
        instance.server.process.wait()


def loading(client: redis.Redis) -> bool:
    return client.info("persistence")["loading"] == 1


def wait_until_loaded(client: redis.Redis, timeout: float = 60) -> None:
    client.config_set("key-load-delay", 0)          # finish quickly now
    deadline = time.time() + timeout
    while loading(client):
        assert time.time() < deadline, "the load did not finish"
        time.sleep(0.05)


def restart_slowly(node: Restartable, *options: str) -> redis.Redis:
    node.stop()
    node.options = DEBUG + SLOW_LOAD + options
    client = node.start(loaded=False)
    assert loading(client)
    return client


def test_a_loading_server_answers_loading_and_still_serves_info_and_config(node):
    client = node.start()
    client.execute_command("DEBUG", "POPULATE", KEYS, "key", 100)
    client.save()
    client = restart_slowly(node)

    with pytest.raises(redis.BusyLoadingError, match="Redis is loading the dataset in memory"):
        client.ping()
    with pytest.raises(redis.BusyLoadingError):
        client.get("key:1")
    persistence = client.info("persistence")
    assert persistence["loading"] == 1
    assert persistence["loading_total_bytes"] == os.path.getsize(
        os.path.join(node.directory, "dump.rdb"))
    assert 0 <= persistence["loading_loaded_bytes"] < persistence["loading_total_bytes"]
    assert {"loading_start_time", "loading_loaded_perc", "loading_eta_seconds"} <= set(persistence)
    # Some settings may change during a load, not those that would pull the files away.
    assert client.config_set("loglevel", "debug") is True
    with pytest.raises(redis.BusyLoadingError):
        client.config_set("appendonly", "yes")
    with pytest.raises(redis.ResponseError, match="can't set protected config"):
        client.config_set("dir", "/tmp")                # protected first, then loading
    assert loading(client)

    wait_until_loaded(client)
    assert client.ping() is True
    assert client.dbsize() == KEYS
    assert client.get("key:7") == b"value:7".ljust(100, b"\0")
    assert "loading_total_bytes" not in client.info("persistence")


def test_a_transaction_queued_during_a_load_is_aborted(node):
    client = node.start()
    client.execute_command("DEBUG", "POPULATE", KEYS)
    client.save()
    client = restart_slowly(node)
    with client.pipeline(transaction=True) as pipe:
        pipe.set("x", "1")
        with pytest.raises(redis.BusyLoadingError):
            pipe.execute()
    wait_until_loaded(client)
    assert client.get("x") is None


def test_sigterm_during_a_load_exits_without_saving(node):
    client = node.start()
    client.execute_command("DEBUG", "POPULATE", KEYS)
    client.save()
    dump = os.path.join(node.directory, "dump.rdb")
    with open(dump, "rb") as handle:
        saved = handle.read()
    # Save rules: a SIGTERM would save, but not a dataset only partly loaded.
    restart_slowly(node, "--save", "3600 1")
    node.server.process.send_signal(signal.SIGTERM)
    assert node.server.process.wait(10) == 0
    with open(dump, "rb") as handle:
        assert handle.read() == saved


def test_shutdown_during_a_load_exits_without_saving(node):
    client = node.start()
    client.execute_command("DEBUG", "POPULATE", KEYS)
    client.save()
    dump = os.path.join(node.directory, "dump.rdb")
    modified = os.path.getmtime(dump)
    client = restart_slowly(node, "--save", "3600 1")
    client.shutdown(save=True)              # redis-py: the connection closed, as it should
    assert node.server.process.wait(10) == 0
    assert os.path.getmtime(dump) == modified


def test_the_append_only_file_loads_while_clients_are_told_loading(node):
    node.options = DEBUG + ("--appendonly", "yes")
    client = node.start()
    client.execute_command("DEBUG", "POPULATE", KEYS)          # not logged: in the base
    client.bgrewriteaof()
    wait_for_persistence(client, lambda info: not info["aof_rewrite_in_progress"]
                         and not info["aof_rewrite_scheduled"])
    with client.pipeline(transaction=False) as pipe:           # logged: the incr file
        for number in range(3000):
            pipe.rpush("list", number)
        pipe.execute()
    client = restart_slowly(node, "--appendonly", "yes")
    with pytest.raises(redis.BusyLoadingError):
        client.llen("list")
    wait_until_loaded(client)
    assert client.dbsize() == KEYS + 1
    assert client.lrange("list", -2, -1) == [b"2998", b"2999"]


def test_debug_populate(r):
    assert r.execute_command("DEBUG", "POPULATE", 3) == b"OK"
    assert sorted(r.keys()) == [b"key:0", b"key:1", b"key:2"]
    assert r.get("key:2") == b"value:2"
    r.set("key:1", "mine")
    r.execute_command("DEBUG", "POPULATE", 5)                  # existing keys stay
    assert r.get("key:1") == b"mine"
    assert r.get("key:4") == b"value:4"
    r.execute_command("DEBUG", "POPULATE", 2, "p", 10)         # padded with zero bytes
    assert r.get("p:1") == b"value:1\0\0\0"
    r.execute_command("DEBUG", "POPULATE", 2, "short", 3)      # or cut
    assert r.get("short:1") == b"val"
    for count in (-1, "x"):
        with pytest.raises(redis.ResponseError, match="^value is out of range, must be positive$"):
            r.execute_command("DEBUG", "POPULATE", count)
    r.execute_command("DEBUG", "POPULATE", 0)
    assert r.dbsize() == 9


def test_debug_reload_serves_the_other_clients_while_it_loads(node):
    client = node.start()
    client.execute_command("DEBUG", "POPULATE", KEYS)
    client.config_set("key-load-delay", 200)
    client.config_set("loading-process-events-interval-bytes", 1024)
    reloaded = []
    reloader = threading.Thread(target=lambda: reloaded.append(
        node.client().execute_command("DEBUG", "RELOAD")))
    reloader.start()
    other = node.client()
    deadline = time.time() + 20
    while not loading(other):
        assert time.time() < deadline, "the reload did not start"
        time.sleep(0.01)
    with pytest.raises(redis.BusyLoadingError):
        other.get("key:1")
    other.config_set("key-load-delay", 0)
    reloader.join(30)
    assert reloaded == [b"OK"]
    assert other.get("key:1") == b"value:1"
    assert other.dbsize() == KEYS
