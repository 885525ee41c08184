"""Loading append-only files made by hand or by real Redis: ours and redis-server, started
on the same appendonlydir, load the same data or both refuse to start.

Redis's own test unit tests/integration/aof-multi-part.tcl builds its cases the same way:
a manifest and the files it names, written before the server starts.
"""

import os
import re
import shutil
import time

import pytest
import redis

from compat_tests.kvdb.test_persistence import Restartable, check_every_type, fill_every_type
from compat_tests.servers import start_kvdb, start_redis
from fromscratch.resp import encode_command

KINDS = ["fromscratch", "redis"]
LIBRARY = ("#!lua name=echolib\n"
           "redis.register_function('echo1', function(keys, args) return args[1] end)")


@pytest.fixture(params=KINDS)
def node(request, tmp_path):
    """A server with the log on, its log in `log.txt`; not started yet."""
    instance = Restartable(request.param, str(tmp_path), "--appendonly", "yes",
                           "--logfile", str(tmp_path / "log.txt"))
    yield instance
    if instance.server is not None and instance.server.process.poll() is None:
        instance.server.process.kill()
        instance.server.process.wait()


def log_dir(node) -> str:
    return os.path.join(node.directory, "appendonlydir")


def commands(*argvs) -> bytes:
    return b"".join(encode_command(argv) for argv in argvs)


def make_log(node, manifest: bytes, files: dict[str, bytes]) -> None:
    """Write the appendonlydir: the manifest, and the files (name: contents)."""
    os.makedirs(log_dir(node), exist_ok=True)
    with open(os.path.join(log_dir(node), "appendonly.aof.manifest"), "wb") as handle:
        handle.write(manifest)
    for name, contents in files.items():
        with open(os.path.join(log_dir(node), name), "wb") as handle:
            handle.write(contents)


def read_manifest(node) -> bytes:
    with open(os.path.join(log_dir(node), "appendonly.aof.manifest"), "rb") as handle:
        return handle.read()


def refuse_to_start(node) -> str:
    """Start `node`, which must exit with an error status; returns its log."""
    try:
        node.start()
    except RuntimeError as exc:                 # it exited before it listened
        assert re.search("exited with status [1-9]", str(exc))
    else:                                       # Redis listens first, then loads
        assert node.server.process.wait(20) != 0
    path = os.path.join(node.directory, "log.txt")
    with open(path, encoding="utf-8", errors="replace") as handle:
        return handle.read()


BASE_K1 = {"appendonly.aof.1.base.aof": commands(["SET", "k1", "v1"])}


# -- what loads ----------------------------------------------------------------------------

def test_a_base_of_commands_then_incr_files(node):
    make_log(node, b"file appendonly.aof.1.base.aof seq 1 type b\n"
                   b"file appendonly.aof.1.incr.aof seq 1 type i\n",
             {**BASE_K1, "appendonly.aof.1.incr.aof": commands(["SET", "k2", "v2"],
                                                               ["INCR", "n"], ["INCR", "n"])})
    client = node.start()
    assert client.mget("k1", "k2", "n") == [b"v1", b"v2", b"2"]


def test_incr_sequence_numbers_may_skip(node):
    make_log(node, b"file appendonly.aof.1.base.aof seq 1 type b\n"
                   b"file appendonly.aof.1.incr.aof seq 1 type i\n"
                   b"file appendonly.aof.3.incr.aof seq 3 type i\n",
             {**BASE_K1, "appendonly.aof.1.incr.aof": commands(["SET", "k2", "v2"]),
              "appendonly.aof.3.incr.aof": commands(["SET", "k3", "v3"])})
    client = node.start()
    assert client.mget("k1", "k2", "k3") == [b"v1", b"v2", b"v3"]
    client.set("k4", "v4")                      # appended to the last incr file
    node.stop()
    client = node.start()
    assert client.mget("k1", "k2", "k3", "k4") == [b"v1", b"v2", b"v3", b"v4"]
    assert b"appendonly.aof.3.incr.aof seq 3 type i" in read_manifest(node)


def test_keys_a_newer_version_adds_are_ignored_as_are_case_and_order(node):
    make_log(node, b"file appendonly.aof.1.base.aof seq 1 type b newkey newvalue\n"
                   b"TYPE i SEQ 2 FILE appendonly.aof.2.incr.aof\n",
             {**BASE_K1, "appendonly.aof.2.incr.aof": commands(["SET", "k2", "v2"])})
    client = node.start()
    assert client.mget("k1", "k2") == [b"v1", b"v2"]


def test_empty_files_and_comments(node):
    make_log(node, b"# written by hand\n"
                   b"file appendonly.aof.1.base.aof seq 1 type b\n"
                   b"file appendonly.aof.1.incr.aof seq 1 type i\n"
                   b"file appendonly.aof.2.incr.aof seq 2 type i\n",
             {**BASE_K1, "appendonly.aof.1.incr.aof": b"",
              "appendonly.aof.2.incr.aof": commands(["SET", "k2", "v2"])})
    client = node.start()
    assert client.mget("k1", "k2") == [b"v1", b"v2"]


def test_timestamp_annotations_are_skipped(node):
    make_log(node, b"file appendonly.aof.1.incr.aof seq 1 type i\n",
             {"appendonly.aof.1.incr.aof": b"#TS:1700000000\r\n" + commands(["SET", "k", "v"])
              + b"#TS:1700000001\r\n" + commands(["APPEND", "k", "w"])})
    client = node.start()
    assert client.get("k") == b"vw"


def test_quoted_file_names(node):
    make_log(node, b'file "base with spaces.aof" seq 1 type b\n'
                   b'file "it\'s \\x41n incr.aof" seq 1 type i\n',
             {"base with spaces.aof": commands(["SET", "k1", "v1"]),
              "it's An incr.aof": commands(["SET", "k2", "v2"])})
    client = node.start()
    assert client.mget("k1", "k2") == [b"v1", b"v2"]


def test_history_files_are_not_loaded_and_are_deleted(node):
    make_log(node, b"file appendonly.aof.2.base.aof seq 2 type b\n"
                   b"file appendonly.aof.1.base.aof seq 1 type h\n"
                   b"file appendonly.aof.2.incr.aof seq 2 type i\n",
             {"appendonly.aof.2.base.aof": commands(["SET", "k1", "v1"]),
              "appendonly.aof.1.base.aof": commands(["SET", "old", "x"]),
              "appendonly.aof.2.incr.aof": commands(["SET", "k2", "v2"])})
    client = node.start()
    assert client.mget("k1", "k2", "old") == [b"v1", b"v2", None]
    assert read_manifest(node) == (b"file appendonly.aof.2.base.aof seq 2 type b\n"
                                   b"file appendonly.aof.2.incr.aof seq 2 type i\n")
    assert not os.path.exists(os.path.join(log_dir(node), "appendonly.aof.1.base.aof"))


def test_a_base_and_no_incr_file_gets_one(node):
    make_log(node, b"file appendonly.aof.1.base.aof seq 1 type b\n", BASE_K1)
    client = node.start()
    assert client.get("k1") == b"v1"
    assert read_manifest(node) == (b"file appendonly.aof.1.base.aof seq 1 type b\n"
                                   b"file appendonly.aof.1.incr.aof seq 1 type i\n")


def test_no_manifest_starts_empty_with_a_new_log(node):
    client = node.start()
    assert client.dbsize() == 0
    assert read_manifest(node) == (b"file appendonly.aof.1.base.rdb seq 1 type b\n"
                                   b"file appendonly.aof.1.incr.aof seq 1 type i\n")


# -- files written by real Redis -----------------------------------------------------------

def fill(client: redis.Redis) -> None:
    fill_every_type(client)
    client.xadd("stream", {"f": "v"}, id="1-1")
    client.function_load(LIBRARY)


def check(client: redis.Redis) -> None:
    check_every_type(client)
    assert client.xrange("stream") == [(b"1-1", {b"f": b"v"})]
    assert client.fcall("echo1", 0, "hello") == b"hello"
    assert client.get("after-rewrite") == b"yes"          # from the incr file


def wait_for_rewrite(client: redis.Redis) -> None:
    deadline = time.time() + 20
    while client.info("persistence")["aof_rewrite_in_progress"] \
            or client.info("persistence")["aof_rewrites"] < 1:
        assert time.time() < deadline, "the rewrite did not finish"
        time.sleep(0.05)


@pytest.fixture(scope="module", params=["yes", "no"], ids=["rdb-base", "resp-base"])
def redis_log(request, tmp_path_factory) -> str:
    """A directory whose appendonlydir real Redis wrote: a base by BGREWRITEAOF (an RDB
    file with aof-use-rdb-preamble yes, commands with no), then an incr file."""
    directory = str(tmp_path_factory.mktemp("written-by-redis"))
    write_a_log(start_redis(directory, "--appendonly", "yes",
                            "--aof-use-rdb-preamble", request.param))
    return directory


def write_a_log(server) -> None:
    """Fill `server`, rewrite its log, write once more (into the incr file), stop it."""
    try:
        client = redis.Redis(host=server.host, port=server.port)
        fill(client)
        client.bgrewriteaof()
        wait_for_rewrite(client)
        client.set("after-rewrite", "yes")
    finally:
        server.stop()


def test_a_log_written_by_redis(node, redis_log):
    shutil.copytree(os.path.join(redis_log, "appendonlydir"), log_dir(node))
    client = node.start()
    check(client)


def test_an_old_single_file_log_is_moved_into_the_directory(node):
    with open(os.path.join(node.directory, "appendonly.aof"), "wb") as handle:
        handle.write(commands(["SET", "k1", "v1"], ["SET", "k2", "v2"]))
    client = node.start()
    assert client.mget("k1", "k2") == [b"v1", b"v2"]
    assert not os.path.exists(os.path.join(node.directory, "appendonly.aof"))
    assert read_manifest(node) == (b"file appendonly.aof seq 1 type b\n"
                                   b"file appendonly.aof.1.incr.aof seq 1 type i\n")


def test_an_old_single_file_log_written_by_redis(node, redis_log):
    # What Redis before 7 wrote: the base (with aof-use-rdb-preamble yes, an RDB file
    # as the "preamble"), then the commands since, all in one file.
    redis_dir = os.path.join(redis_log, "appendonlydir")
    base, = [name for name in os.listdir(redis_dir) if ".base." in name]
    incr, = [name for name in os.listdir(redis_dir) if ".incr." in name]
    with open(os.path.join(node.directory, "appendonly.aof"), "wb") as handle:
        for name in (base, incr):
            with open(os.path.join(redis_dir, name), "rb") as part:
                handle.write(part.read())
    client = node.start()
    check(client)


def test_an_upgrade_cut_short_is_finished(node):
    # The manifest naming the old file was written; the crash came before the move.
    with open(os.path.join(node.directory, "appendonly.aof"), "wb") as handle:
        handle.write(commands(["SET", "k1", "v1"]))
    make_log(node, b"file appendonly.aof seq 1 type b\n", {})
    client = node.start()
    assert client.get("k1") == b"v1"
    assert os.path.exists(os.path.join(log_dir(node), "appendonly.aof"))


# -- what does not load --------------------------------------------------------------------

@pytest.mark.parametrize("manifest, message", [
    (b"", "Found an empty AOF manifest"),
    (b"file appendonly.aof.1.base.aof seq 1 type b\n\n", "Invalid AOF manifest file format"),
    (b"filx appendonly.aof.1.base.aof seq 1 type b\n", "Invalid AOF manifest file format"),
    (b"file appendonly.aof.1.base.aof type b\n", "Invalid AOF manifest file format"),
    (b"file appendonly.aof.1.base.aof seq 1 type b newkey\n", "Invalid AOF manifest file format"),
    (b"file appendonly.aof.1.base.aof seq 0 type b\n", "Invalid AOF manifest file format"),
    (b'file "appendonly.aof.1.base.aof seq 1 type b\n', "Invalid AOF manifest file format"),
    (b"file appendonly.aof.1.base.aof seq 1 type x\n", "Unknown AOF file type"),
    (b"file appendonly.aof.1.base.aof seq 1 type b\n" * 2, "Found duplicate base file information"),
    (b"file appendonly.aof.2.incr.aof seq 2 type i\nfile appendonly.aof.1.incr.aof seq 1 type i\n",
     "Found a non-monotonic sequence number"),
    (b"file appendonly.aof.1.incr.aof seq 1 type i\n" * 2, "Found a non-monotonic sequence number"),
    (b"file ../appendonly.aof.1.base.aof seq 1 type b\n",
     "File can't be a path, just a filename"),
    (b"file appendonly.aof.1.base.aof seq 1 type b" + b" k v" * 300 + b"\n",
     "The AOF manifest file contains too long line"),
    (b"file appendonly.aof.1.base.aof seq 1 type b",
     "The AOF manifest file contains too long line"),
], ids=["empty", "blank-line", "missing-key", "too-short", "odd", "seq-zero", "unbalanced-quote",
        "unknown-type", "two-bases", "decreasing", "repeated-seq", "path", "too-long",
        "no-final-newline"])
def test_a_bad_manifest_stops_the_start(node, manifest, message):
    make_log(node, manifest, {**BASE_K1, "appendonly.aof.1.incr.aof": b"",
                              "appendonly.aof.2.incr.aof": b""})
    assert message in refuse_to_start(node)


def test_a_missing_file_stops_the_start(node):
    make_log(node, b"file appendonly.aof.1.base.aof seq 1 type b\n"
                   b"file appendonly.aof.1.incr.aof seq 1 type i\n"
                   b"file appendonly.aof.2.incr.aof seq 2 type i\n",
             {**BASE_K1, "appendonly.aof.2.incr.aof": commands(["SET", "k2", "v2"])})
    log = refuse_to_start(node)
    assert any("appendonly.aof.1.incr.aof" in line and "No such file or directory" in line
               for line in log.splitlines())


def test_an_old_file_named_but_nowhere_stops_the_start(node):
    make_log(node, b"file appendonly.aof seq 1 type b\n", {})
    assert "No such file or directory" in refuse_to_start(node)


def test_bytes_that_are_not_commands_stop_the_start(node):
    make_log(node, b"file appendonly.aof.1.incr.aof seq 1 type i\n",
             {"appendonly.aof.1.incr.aof": commands(["SET", "k", "v"]) + b"!!!"
              + commands(["SET", "k", "w"])})
    assert "Bad file format reading the append only file" in refuse_to_start(node)


def test_a_cut_short_file_that_is_not_the_last_stops_the_start(node):
    # aof-load-truncated forgives a cut-short end in the last file only: the files
    # after it were written later, on top of the commands lost.
    make_log(node, b"file appendonly.aof.1.incr.aof seq 1 type i\n"
                   b"file appendonly.aof.2.incr.aof seq 2 type i\n",
             {"appendonly.aof.1.incr.aof": commands(["SET", "k", "v"])[:-3],
              "appendonly.aof.2.incr.aof": commands(["SET", "k2", "v2"])})
    refuse_to_start(node)


def test_a_cut_short_last_file_is_truncated_and_loads(node):
    whole = commands(["SET", "k1", "v1"])
    make_log(node, b"file appendonly.aof.1.base.aof seq 1 type b\n"
                   b"file appendonly.aof.1.incr.aof seq 1 type i\n",
             {**BASE_K1, "appendonly.aof.1.incr.aof": whole + commands(["SET", "k2", "v2"])[:-3]})
    client = node.start()
    assert client.mget("k1", "k2") == [b"v1", None]
    assert os.path.getsize(os.path.join(log_dir(node), "appendonly.aof.1.incr.aof")) == len(whole)


def test_an_unknown_command_stops_the_start(node):
    make_log(node, b"file appendonly.aof.1.incr.aof seq 1 type i\n",
             {"appendonly.aof.1.incr.aof": commands(["SET", "k", "v"], ["BLA", "k", "v"],
                                                    ["SET", "k", "w"])})
    assert "Unknown command 'BLA' reading the append only file" in refuse_to_start(node)


def test_timestamp_annotations_are_written_when_enabled(node):
    client = node.start()
    client.config_set("aof-timestamp-enabled", "yes")
    client.set("k", "v")
    node.stop()
    incr, = [name for name in os.listdir(log_dir(node)) if ".incr." in name]
    with open(os.path.join(log_dir(node), incr), "rb") as handle:
        assert re.match(rb"#TS:\d+\r\n\*2\r\n\$6\r\nSELECT\r\n", handle.read())
    client = node.start()
    assert client.get("k") == b"v"
    # A base of commands starts with one too.
    client.config_set("aof-timestamp-enabled", "yes")
    client.config_set("aof-use-rdb-preamble", "no")
    client.bgrewriteaof()
    wait_for_rewrite(client)
    base, = [name for name in os.listdir(log_dir(node)) if ".base." in name]
    with open(os.path.join(log_dir(node), base), "rb") as handle:
        assert re.match(rb"#TS:\d+\r\n\*2\r\n\$6\r\nSELECT\r\n", handle.read())


@pytest.mark.parametrize("preamble, base_kind", [("yes", ".base.rdb"), ("no", ".base.aof")])
def test_a_log_written_here_loads_in_redis(tmp_path, preamble, base_kind):
    # Our bases are RDB files, or commands without the preamble, as Redis writes them:
    # our appendonlydir moves to Redis.
    write_a_log(start_kvdb(str(tmp_path), "--appendonly", "yes",
                           "--aof-use-rdb-preamble", preamble))
    base, = [name for name in os.listdir(tmp_path / "appendonlydir") if ".base." in name]
    assert base.endswith(base_kind)
    theirs = start_redis(str(tmp_path), "--appendonly", "yes")
    try:
        check(redis.Redis(host=theirs.host, port=theirs.port))
    finally:
        theirs.stop()


def stream_state(client: redis.Redis, key: str) -> dict:
    """What a stream holds, as XINFO STREAM FULL shows it, without the times a reload
    may change (when consumers were last seen)."""
    info = client.xinfo_stream(key, full=True)
    groups = [{"name": group["name"], "last-delivered-id": group["last-delivered-id"],
               "entries-read": group["entries-read"], "lag": group["lag"],
               "pending": group["pending"],
               "consumers": [(consumer[b"name"], consumer[b"pending"])
                             for consumer in group["consumers"]]}
              for group in info["groups"]]
    return {name: info[name] for name in ("length", "last-generated-id", "entries-added",
                                          "max-deleted-entry-id", "entries")} | {
        "groups": groups}


def test_a_rewrite_as_commands_keeps_every_kind_of_value(node):
    node.options += ("--aof-use-rdb-preamble", "no")
    client = node.start()
    fill_every_type(client)
    client.function_load(LIBRARY)
    client.rpush("long list", *range(150))               # more than one RPUSH
    client.zadd("scores", {"tenth": 0.1, "top": float("inf"), "bottom": float("-inf")})
    for number in range(1, 6):
        client.xadd("stream", {"f": number, "g": "x"}, id=f"1-{number}")
    client.xdel("stream", "1-5")                          # the last id stays 1-5
    client.xgroup_create("stream", "workers", id="0")
    client.xreadgroup("workers", "alice", {"stream": ">"}, count=2)
    client.xgroup_createconsumer("stream", "workers", "bob")
    client.xgroup_create("stream", "late", id="$")
    client.xadd("empty stream", {"x": "y"}, id="5-5")
    client.xdel("empty stream", "5-5")
    client.pexpire("stream", 10_000_000)
    streams = {key: stream_state(client, key) for key in ("stream", "empty stream")}
    client.bgrewriteaof()
    wait_for_rewrite(client)
    base, = [name for name in os.listdir(log_dir(node)) if ".base." in name]
    assert base.endswith(".base.aof")
    with open(os.path.join(log_dir(node), base), "rb") as handle:
        contents = handle.read()
    assert contents.startswith(b"*3\r\n$8\r\nFUNCTION\r\n$4\r\nLOAD\r\n")
    assert b"XSETID" in contents and b"XCLAIM" in contents
    node.stop()
    client = node.start()
    check_every_type(client)
    assert client.fcall("echo1", 0, "hello") == b"hello"
    assert client.lrange("long list", 0, -1) == [b"%d" % number for number in range(150)]
    assert client.zrange("scores", 0, -1, withscores=True) == [
        (b"bottom", float("-inf")), (b"tenth", 0.1), (b"top", float("inf"))]
    assert {key: stream_state(client, key) for key in streams} == streams
    assert 9_000_000 < client.pttl("stream") <= 10_000_000
