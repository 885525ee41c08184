"""Server commands: INFO, CONFIG, COMMAND, SLOWLOG, LATENCY, MONITOR, TIME, DEBUG."""

import os
import re
import signal
import socket
import stat
import threading
import time

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from compat_tests.servers import free_port, missing_reference, start_kvdb, start_redis
from fromscratch.resp import ErrorReply, encode_command

from .conftest import Wire, call_raw, connect, raw


def test_info_fields_clients_read(r):
    info = r.info("everything")
    for field in ("redis_version", "redis_mode", "arch_bits", "os", "process_id", "tcp_port",
                  "uptime_in_seconds", "connected_clients", "used_memory", "used_memory_human",
                  "maxmemory", "maxmemory_policy", "role", "cluster_enabled",
                  "total_commands_processed", "instantaneous_ops_per_sec", "expired_keys",
                  "evicted_keys", "keyspace_hits", "keyspace_misses", "used_cpu_sys",
                  "rdb_changes_since_last_save", "aof_enabled", "connected_slaves"):
        assert field in info, field
    assert info["role"] == "master" and info["cluster_enabled"] == 0
    assert info["arch_bits"] == 64
    version = tuple(int(x) for x in info["redis_version"].split("."))
    assert version >= (7, 0, 15)
    r.set("k", "v", ex=100)
    r.set("j", "v")
    db0 = r.info("keyspace")["db0"]
    assert db0["keys"] == 2 and db0["expires"] == 1 and isinstance(db0["avg_ttl"], int)


def test_info_sections_and_commandstats(r):
    r.set("x", "1")
    r.get("x")
    stats = r.info("commandstats")
    assert stats["cmdstat_set"]["calls"] >= 1 and "usec_per_call" in stats["cmdstat_get"]
    assert set(r.info("server")) & {"redis_version"} and "used_memory" not in r.info("server")
    assert "used_memory" in r.info("memory")
    with pytest.raises(redis.ResponseError):
        r.execute_command("NOSUCHCMD")
    assert r.info("errorstats")["errorstat_ERR"]["count"] >= 1


def test_info_event_loop_and_acl_refusals_of_7_2(r, server, server_version):
    if server_version < (7, 2):
        pytest.skip("Redis 7.2 added these fields (the reference is older)")
    r.config_resetstat()
    r.acl_setuser("limited", enabled=True, nopass=True, keys=["a*"], commands=["+get"])
    limited = connect(server, username="limited", password="x")
    with pytest.raises(redis.exceptions.NoPermissionError):
        limited.set("a", 1)
    with pytest.raises(redis.exceptions.NoPermissionError):
        limited.get("b")
    with pytest.raises(redis.AuthenticationError):
        connect(server, username="nobody", password="wrong", retry=Retry(NoBackoff(), 0)).ping()
    first = r.info("stats")
    # (redis-py's own CLIENT SETINFO is refused to `limited` too, and it retries AUTH)
    assert first["acl_access_denied_cmd"] >= 1 and first["acl_access_denied_auth"] >= 1
    assert (first["acl_access_denied_key"], first["acl_access_denied_channel"]) == (1, 0)
    for _ in range(20):
        r.ping()
    time.sleep(1.2)                        # a second's samples for the instantaneous ones
    second = r.info("stats")
    assert second["eventloop_cycles"] > first["eventloop_cycles"] >= 1
    assert second["eventloop_duration_sum"] > first["eventloop_duration_sum"] > 0
    assert 0 < second["eventloop_duration_cmd_sum"] <= second["eventloop_duration_sum"]
    assert second["instantaneous_eventloop_cycles_per_sec"] > 0
    r.config_resetstat()
    third = r.info("stats")
    assert third["acl_access_denied_cmd"] == 0
    assert third["eventloop_cycles"] < second["eventloop_cycles"]
    limited.close()
    r.acl_deluser("limited")


def test_config_get_set(r):
    assert r.config_get("maxmemory") == {"maxmemory": "0"}
    assert r.config_get("save") is not None
    assert r.config_get("appendonly") == {"appendonly": "no"}
    assert "maxmemory-policy" in r.config_get("maxmemory*")
    r.config_set("maxmemory", "10mb")
    assert r.config_get("maxmemory") == {"maxmemory": "10485760"}
    r.config_set("maxmemory", 0)
    r.config_set("hash-max-ziplist-entries", 256)      # old alias of the listpack name
    assert r.config_get("hash-max-listpack-entries") == {"hash-max-listpack-entries": "256"}
    r.config_set("hash-max-listpack-entries", 512)
    with pytest.raises(redis.ResponseError, match="Unknown option or number of arguments for CONFIG SET - 'nope'"):
        r.config_set("nope", "1")
    with pytest.raises(redis.ResponseError, match="argument must be a memory value"):
        r.config_set("maxmemory", "lots")
    with pytest.raises(redis.ResponseError, match="can't set immutable config"):
        r.config_set("databases", "3")
    with pytest.raises(redis.ResponseError, match="Invalid save parameters"):
        r.config_set("save", "60 x")
    with pytest.raises(redis.ResponseError, match="duplicate parameter"):
        r.execute_command("CONFIG", "SET", "maxmemory", "1mb", "maxmemory", "2mb")


def test_config_set_is_all_or_nothing(r):
    with pytest.raises(redis.ResponseError):
        r.execute_command("CONFIG", "SET", "slowlog-max-len", "99", "maxmemory", "lots")
    assert r.config_get("slowlog-max-len") == {"slowlog-max-len": "128"}


def test_config_rewrite_without_file(r):
    with pytest.raises(redis.ResponseError, match="The server is running without a config file"):
        r.config_rewrite()


def test_config_resetstat(r):
    r.set("x", "1")
    assert r.config_resetstat() is True
    assert "cmdstat_set" not in r.info("commandstats")


def test_command_introspection(r):
    count = r.command_count()
    assert count > 50
    info = r.command()
    assert info["get"]["arity"] == 2 and "readonly" in info["get"]["flags"]
    assert len(info) == count
    reply = call_raw(r, "COMMAND", "INFO", "get", "nosuchcommand")
    assert reply[1] is None
    get = reply[0]
    assert get[0] in (b"get", "get") and get[1] == 2
    assert get[3:6] == [1, 1, 1]
    names = call_raw(r, "COMMAND", "LIST")
    assert b"get" in names and b"client|setname" in names
    assert len([name for name in names if b"|" not in name]) == count
    assert set(call_raw(r, "COMMAND", "LIST", "FILTERBY", "PATTERN", "s*member*")) == {
        b"sismember", b"smismember", b"srandmember", b"smembers"}
    assert b"get" in call_raw(r, "COMMAND", "LIST", "FILTERBY", "ACLCAT", "string")
    assert call_raw(r, "COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2") == [b"a", b"b"]
    assert call_raw(r, "COMMAND", "GETKEYS", "ZUNIONSTORE", "dst", "2", "a", "b",
                    "WEIGHTS", "1", "2") == [b"dst", b"a", b"b"]
    assert call_raw(r, "COMMAND", "GETKEYS", "BLMPOP", "0", "2", "a", "b", "LEFT") == [b"a", b"b"]
    # keys only the options reveal: the STORE destinations
    assert call_raw(r, "COMMAND", "GETKEYS", "SORT", "s", "LIMIT", "0", "1", "GET", "store",
                    "BY", "x", "STORE", "dst") == [b"s", b"dst"]
    assert call_raw(r, "COMMAND", "GETKEYS", "GEORADIUS", "g", "1", "2", "3", "km", "STORE",
                    "d1", "STOREDIST", "d2") == [b"g", b"d1", b"d2"]
    with pytest.raises(redis.ResponseError, match="Invalid command specified"):
        r.command_getkeys("NOSUCH", "x")


def test_command_flags_in_redis_order(r):
    """Flags are sets, written in Redis's fixed order (clients compare them as lists in
    RESP2); key-spec flags pair RO with access, and RW with a change."""
    get = call_raw(r, "COMMAND", "INFO", "get")[0]
    assert list(get[2]) == [b"readonly", b"fast"]
    assert list(get[6]) == [b"@read", b"@string", b"@fast"]
    assert [[key, list(flags)] for key, flags in call_raw(
        r, "COMMAND", "GETKEYSANDFLAGS", "GET", "k")] == [[b"k", [b"RO", b"access"]]]
    keys = call_raw(r, "COMMAND", "GETKEYSANDFLAGS", "LPUSH", "k", "v")
    assert keys[0][0] == b"k" and list(keys[0][1])[0] == b"RW"


def test_acl_categories_as_redis_gives_them(r):
    """ACL CAT and each command's categories in Redis's order, with Redis's exceptions
    to the group's category; the flags Redis keeps to itself stay hidden; DEBUG is one
    command. (An ACL rule such as -@dangerous must shut out what it shuts out in Redis.)"""
    assert call_raw(r, "ACL", "CAT") == [name.encode() for name in (
        "keyspace read write set sortedset list hash string bitmap hyperloglog geo stream "
        "pubsub admin fast slow blocking dangerous connection transaction scripting").split()]

    def info(name):
        entry = call_raw(r, "COMMAND", "INFO", name)[0]
        return list(entry[2]), list(entry[6]), entry[9]

    expected = {
        "keys": [b"@keyspace", b"@read", b"@slow", b"@dangerous"],
        "swapdb": [b"@keyspace", b"@write", b"@fast", b"@dangerous"],
        "dbsize": [b"@keyspace", b"@read", b"@fast"],
        "wait": [b"@slow", b"@connection"],
        "sort": [b"@write", b"@set", b"@sortedset", b"@list", b"@slow", b"@dangerous"],
        "eval_ro": [b"@slow", b"@scripting"],
        "command": [b"@slow", b"@connection"],
        "command|info": [b"@slow", b"@connection"],
        "client": [b"@slow"],
        "pubsub|help": [b"@slow"],
        "pubsub|channels": [b"@pubsub", b"@slow"],
        "xinfo": [b"@slow"],
        "xinfo|stream": [b"@read", b"@stream", b"@slow"],
    }
    for name, categories in expected.items():
        assert info(name)[1] == categories, name
    assert b"may_replicate" not in info("publish")[0]
    flags, _, subcommands = info("debug")
    assert b"protected" not in flags and subcommands == []
    assert b"keys" in call_raw(r, "ACL", "CAT", "dangerous")
    names = call_raw(r, "COMMAND", "LIST")
    assert b"debug" in names and not [name for name in names if name.startswith(b"debug|")]
    docs = call_raw(r, "COMMAND", "DOCS", "debug")
    docs = docs[b"debug"] if isinstance(docs, dict) else dict(zip(docs[1][::2], docs[1][1::2]))
    assert b"subcommands" not in docs


@pytest.mark.parametrize("call, expected", [
    (["LMOVE", "mylist1", "mylist2", "left", "left"],        # redis-py's own test
     [[b"mylist1", [b"RW", b"access", b"delete"]], [b"mylist2", [b"RW", b"insert"]]]),
    (["SET", "k", "v"], [[b"k", [b"OW", b"update"]]]),
    (["SET", "k", "v", "GET"], [[b"k", [b"RW", b"access", b"update"]]]),
    (["BITFIELD", "k", "GET", "u8", "0"], [[b"k", [b"RO", b"access"]]]),
    (["BITFIELD", "k", "INCRBY", "u8", "0", "1"], [[b"k", [b"RW", b"access", b"update"]]]),
    (["SORT", "s", "BY", "w", "STORE", "d"], [[b"s", [b"RO", b"access"]], [b"d", [b"OW", b"update"]]]),
    (["ZUNIONSTORE", "d", "2", "a", "b"], [[b"d", [b"OW", b"update"]], [b"a", [b"RO", b"access"]],
                                          [b"b", [b"RO", b"access"]]]),
    (["BITOP", "AND", "d", "a"], [[b"d", [b"OW", b"update"]], [b"a", [b"RO", b"access"]]]),
    (["DEL", "a", "b"], [[b"a", [b"RM", b"delete"]], [b"b", [b"RM", b"delete"]]]),
    (["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s1", "s2", "0", "0"],
     [[b"s1", [b"RO", b"access"]], [b"s2", [b"RO", b"access"]]]),
    (["MIGRATE", "h", "1", "", "0", "5", "KEYS", "a", "b"],
     [[b"a", [b"RW", b"access", b"delete"]], [b"b", [b"RW", b"access", b"delete"]]]),
])
def test_command_getkeysandflags(r, call, expected):
    """Each key with what the command does to it, from Redis 7's key specs (and, where
    the arguments decide, as Redis's key-finding functions decide)."""
    got = call_raw(r, "COMMAND", "GETKEYSANDFLAGS", *call)
    assert [[key, list(flags)] for key, flags in got] == expected


def test_shard_channels_are_not_keys(r):
    with pytest.raises(redis.ResponseError, match="has no key arguments"):
        call_raw(r, "COMMAND", "GETKEYS", "SPUBLISH", "channel", "message")


@pytest.mark.parametrize("protocol", [2, 3])
def test_command_info_key_specs(server, protocol):
    """COMMAND INFO's key specs, in Redis's order: several per command where its keys
    play different parts (RESP3 writes them as a set, in that order)."""
    client = connect(server, protocol)
    info = call_raw(client, "COMMAND", "INFO", "lmove", "xreadgroup", "eval", "zunionstore")
    specs = [list(entry[8]) for entry in info]
    if protocol == 2:                               # each spec is a flat list of pairs
        specs = [[dict(zip(spec[::2], spec[1::2])) for spec in entry] for entry in specs]
    lmove, xreadgroup, evaluate, zunionstore = specs
    assert [list(spec[b"flags"]) for spec in lmove] == [[b"RW", b"access", b"delete"],
                                                        [b"RW", b"insert"]]
    begin = xreadgroup[0][b"begin_search"]
    begin = begin if protocol == 3 else dict(zip(begin[::2], begin[1::2]))
    assert begin[b"type"] == b"keyword"
    assert b"notes" in evaluate[0]
    assert [list(spec[b"flags"]) for spec in zunionstore] == [[b"OW", b"update"],
                                                              [b"RO", b"access"]]
    client.close()


def test_command_docs_shape_for_redis_cli(server):
    # redis-cli builds its hints from COMMAND DOCS: a map of name -> doc map with
    # summary, since, group and arguments (each with name and type).
    client = connect(server, 3)
    docs = call_raw(client, "COMMAND", "DOCS", "set", "client")
    entry = docs[b"set"]
    for field in (b"summary", b"since", b"group", b"arguments"):
        assert field in entry
    arguments = entry[b"arguments"]
    assert arguments[0][b"name"] == b"key" and arguments[0][b"type"] == b"key"
    kinds = {arg[b"type"] for arg in arguments}
    assert b"oneof" in kinds
    assert b"client|setname" in docs[b"client"][b"subcommands"]
    client.close()


def test_role_is_a_primary_without_replicas(r):
    role, offset, replicas = call_raw(r, "ROLE")
    assert role == b"master" and isinstance(offset, int) and replicas == []
    assert r.replicaof("NO", "ONE")
    assert r.execute_command("SLAVEOF", "NO", "ONE")


def test_never_a_cluster(r):
    for command in (["CLUSTER", "INFO"], ["CLUSTER", "KEYSLOT", "k"], ["CLUSTER", "SLOTS"],
                    ["READONLY"], ["READWRITE"], ["ASKING"]):
        with pytest.raises(redis.ResponseError, match="cluster support disabled"):
            r.execute_command(*command)
    with pytest.raises(redis.ResponseError, match="unknown subcommand 'NOSUCH'. Try CLUSTER HELP"):
        r.execute_command("CLUSTER", "NOSUCH")
    assert r.acl_setuser("clusterer", enabled=True, nopass=True, commands=["+get", "+cluster"])
    assert r.acl_deluser("clusterer") == 1


def test_no_modules_and_lolwut(r):
    assert r.module_list() == []
    with pytest.raises(redis.ResponseError, match="MODULE command not allowed"):
        r.module_load("/no/such/module.so")
    assert b"Redis ver. " in r.lolwut()


def test_time_and_lastsave(r):
    seconds, micros = r.time()
    assert abs(seconds - time.time()) < 5 and 0 <= micros < 1_000_000
    assert r.lastsave()


def test_slowlog(r):
    r.config_set("slowlog-log-slower-than", 0)
    try:
        r.slowlog_reset()
        r.set("slow", "x" * 200)
        entries = r.slowlog_get(10)
        assert any(entry["command"].lower().startswith(b"set slow") for entry in entries)
        assert r.slowlog_len() >= 1
        r.slowlog_reset()
        assert r.slowlog_len() <= 1                          # the RESET itself may log
    finally:
        r.config_set("slowlog-log-slower-than", 10000)


def test_latency_monitor(r):
    r.config_set("latency-monitor-threshold", 100)
    try:
        r.execute_command("DEBUG", "SLEEP", "0.15")
        latest = r.execute_command("LATENCY", "LATEST")
        assert any(event[0] in (b"command", b"fast-command") for event in latest)
        assert r.execute_command("LATENCY", "HISTORY", "command")
        assert r.execute_command("LATENCY", "RESET") >= 1
    finally:
        r.config_set("latency-monitor-threshold", 0)


def test_latency_and_memory_doctors_report_as_redis(r):
    """LATENCY DOCTOR with monitoring off, with no spike and with one; MEMORY DOCTOR of
    an instance this small: Redis's words (a verbatim string in RESP3)."""
    def doctor(*args):
        text = r.execute_command(*args)
        return text.decode() if isinstance(text, bytes) else str(text)

    r.execute_command("LATENCY", "RESET")
    assert doctor("LATENCY", "DOCTOR").startswith(
        "I'm sorry, Dave, I can't do that. Latency monitoring is disabled")
    r.config_set("latency-monitor-threshold", 100)
    try:
        assert doctor("LATENCY", "DOCTOR").startswith(
            "Dave, no latency spike was observed during the lifetime of this Redis instance")
        r.execute_command("DEBUG", "SLEEP", "0.15")
        report = doctor("LATENCY", "DOCTOR")
        assert report.startswith("Dave, I have observed latency spikes in this Redis "
                                 "instance. You don't mind talking about it, do you Dave?")
        assert re.search(r"\n1\. command: 1 latency spikes \(average 1\d\dms, mean "
                         r"deviation 0ms, period \d+\.\d\d sec\)\. Worst all time event "
                         r"1\d\dms\.", report), report
    finally:
        r.config_set("latency-monitor-threshold", 0)
        r.execute_command("LATENCY", "RESET")
    assert doctor("MEMORY", "DOCTOR").startswith(
        "Hi Sam, this instance is empty or is using very little memory")


def test_latency_graph(r):
    """LATENCY GRAPH of an event with one sample: the header, a rule, the sample on
    the bottom row and its label; an event without samples is an error."""
    r.execute_command("LATENCY", "RESET")
    with pytest.raises(redis.ResponseError, match="No samples available for event 'command'"):
        r.execute_command("LATENCY", "GRAPH", "command")
    r.config_set("latency-monitor-threshold", 100)
    try:
        r.execute_command("DEBUG", "SLEEP", "0.15")
        graph = r.execute_command("LATENCY", "GRAPH", "command")
        graph = graph.decode() if isinstance(graph, bytes) else str(graph)
        assert re.fullmatch(r"command - high (1\d\d) ms, low \1 ms \(all time high \1 ms\)\n"
                            + "-" * 80 + r"\n \n \n \n_\n \n\d\ns\n", graph), graph
    finally:
        r.config_set("latency-monitor-threshold", 0)
        r.execute_command("LATENCY", "RESET")


def test_latency_histogram(r, server_version):
    r.set("k", "v")
    histogram = r.execute_command("LATENCY", "HISTOGRAM", "set")
    if isinstance(histogram, list):
        histogram = dict(zip(histogram[::2], histogram[1::2]))
    assert b"set" in histogram



def _histogram_calls(r, command: str) -> int:
    histogram = call_raw(r, "LATENCY", "HISTOGRAM", command)
    if isinstance(histogram, list):
        histogram = dict(zip(histogram[::2], histogram[1::2]))
    details = histogram.get(command.encode(), [b"calls", 0])
    if isinstance(details, list):
        details = dict(zip(details[::2], details[1::2]))
    return details[b"calls"]


def test_pipelined_commands_each_count_in_the_stats_and_the_slow_log(r):
    # A pipeline's commands arrive together and may be timed together: each must still
    # count as one call, in INFO commandstats, LATENCY HISTOGRAM and the slow log.
    r.config_resetstat()
    r.config_set("slowlog-log-slower-than", 0)
    try:
        r.slowlog_reset()
        pipe = r.pipeline(transaction=False)
        for _ in range(100):
            pipe.incr("pipelined-counter")                # INCRBY, as redis-py sends it
        for number in range(100):
            pipe.get(f"pipelined-{number}")
        pipe.execute()
        logged = [entry["command"].split()[0].lower() for entry in r.slowlog_get(128)]
    finally:
        r.config_set("slowlog-log-slower-than", 10000)
    assert logged.count(b"incrby") == 28 and logged.count(b"get") == 100    # the newest 128
    stats = r.info("commandstats")
    assert stats["cmdstat_incrby"]["calls"] == 100 and stats["cmdstat_get"]["calls"] == 100
    assert _histogram_calls(r, "incrby") == 100 and _histogram_calls(r, "get") == 100

    pipe = r.pipeline(transaction=False)
    for _ in range(50):
        pipe.incr("pipelined-counter")
    pipe.execute()
    assert r.info("commandstats")["cmdstat_incrby"]["calls"] == 150
    assert _histogram_calls(r, "incrby") == 150

def test_monitor_sees_other_clients(r, server, protocol):
    seen = []
    ready = threading.Event()

    def watch():
        with connect(server, 2).monitor() as monitor:
            ready.set()
            for event in monitor.listen():
                seen.append(event["command"])
                if "monitored" in event["command"]:
                    return

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    ready.wait(5)
    time.sleep(0.2)
    r.set("monitored", "value")
    thread.join(5)
    assert any(command.startswith("SET monitored") or command.startswith("set monitored")
               for command in seen)


def test_debug_sleep_blocks_everyone(r, server, protocol):
    other = connect(server, protocol)
    thread = threading.Thread(target=lambda: r.execute_command("DEBUG", "SLEEP", "0.3"))
    thread.start()
    time.sleep(0.05)
    started = time.monotonic()
    other.ping()
    assert time.monotonic() - started > 0.15
    thread.join()
    other.close()


DEBUG_PROTOCOL_RESP3 = {
    "string": b"$11\r\nHello World\r\n",
    "integer": b":12345\r\n",
    "double": b",3.141\r\n",
    "bignum": b"(1234567999999999999999999999999999999\r\n",
    "null": b"_\r\n",
    "array": b"*3\r\n:0\r\n:1\r\n:2\r\n",
    "set": b"~3\r\n:0\r\n:1\r\n:2\r\n",
    "map": b"%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n",
    "true": b"#t\r\n",
    "false": b"#f\r\n",
    "verbatim": b"=29\r\ntxt:This is a verbatim\nstring\r\n",
    "attrib": b"|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n"
              b"$39\r\nSome real reply following the attribute\r\n",
}
DEBUG_PROTOCOL_RESP2 = {
    "double": b"$5\r\n3.141\r\n",
    "bignum": b"$37\r\n1234567999999999999999999999999999999\r\n",
    "null": b"$-1\r\n",
    "set": b"*3\r\n:0\r\n:1\r\n:2\r\n",
    "map": b"*6\r\n:0\r\n:0\r\n:1\r\n:1\r\n:2\r\n:0\r\n",
    "true": b":1\r\n",
    "false": b":0\r\n",
    "verbatim": b"$25\r\nThis is a verbatim\nstring\r\n",
    "attrib": b"$39\r\nSome real reply following the attribute\r\n",
}


@pytest.mark.parametrize("kind", sorted(DEBUG_PROTOCOL_RESP3))
def test_debug_protocol_writes_each_reply_type(wire, protocol, kind):
    expected = DEBUG_PROTOCOL_RESP3[kind]
    if protocol == 2:
        expected = DEBUG_PROTOCOL_RESP2.get(kind, expected)
    assert wire.call("DEBUG", "PROTOCOL", kind) == expected


def test_debug_protocol_push_and_errors(server, wire, protocol):
    if protocol == 2:
        assert wire("DEBUG", "PROTOCOL", "push") == ErrorReply(
            "ERR RESP2 is not supported by this command")
    else:
        # The push, then a real reply for clients that skip pushes.
        request = encode_command(["HELLO", "3"]) + encode_command(["DEBUG", "PROTOCOL", "push"])
        reply = raw(server, request, read_until=b"push reply\r\n")
        assert reply.endswith(b">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n"
                              b"$40\r\nSome real reply following the push reply\r\n")
    assert str(wire("DEBUG", "PROTOCOL", "nope")).startswith("ERR Wrong protocol type name")


def test_debug_reload_saves_and_loads_back_everything(r):
    r.set("reloaded", "1", ex=100)
    r.rpush("reloaded:list", "a", "b")
    r.function_load("#!lua name=reloadlib\nredis.register_function('reloaded', "
                    "function() return 7 end)", replace=True)
    assert r.execute_command("DEBUG", "RELOAD") in (b"OK", "OK", True)
    assert r.get("reloaded") in (b"1", "1")
    assert 0 < r.ttl("reloaded") <= 100
    assert r.lrange("reloaded:list", 0, -1) in ([b"a", b"b"], ["a", "b"])
    assert r.fcall("reloaded", 0) == 7
    # NOSAVE loads what was saved: a later change is gone.
    r.set("reloaded", "2")
    r.execute_command("DEBUG", "RELOAD", "NOSAVE")
    assert r.get("reloaded") in (b"1", "1")
    # MERGE NOFLUSH keeps what is in memory and takes the file's keys over it.
    r.set("reloaded:extra", "x")
    r.set("reloaded", "3")
    r.execute_command("DEBUG", "RELOAD", "MERGE", "NOFLUSH", "NOSAVE")
    assert r.mget("reloaded", "reloaded:extra") in ([b"1", b"x"], ["1", "x"])
    with pytest.raises(redis.ResponseError, match="only supports the MERGE, NOFLUSH"):
        r.execute_command("DEBUG", "RELOAD", "SOON")
    r.function_delete("reloadlib")


def test_debug_digest_fingerprints_the_data(r):
    assert r.execute_command("DEBUG", "DIGEST") in (b"0" * 40, "0" * 40)
    r.rpush("digest:list", "a", "b")
    r.sadd("digest:set", *"xyz")
    r.hset("digest:hash", mapping={"f": "1", "g": "2"})
    r.zadd("digest:zset", {"m": 1.5})
    r.xadd("digest:stream", {"f": "v"})
    r.set("digest:string", "v", ex=100)
    before = r.execute_command("DEBUG", "DIGEST")
    values = r.execute_command("DEBUG", "DIGEST-VALUE", "digest:list", "digest:set", "missing")
    assert len(values) == 3 and values[2] in (b"0" * 40, "0" * 40)
    assert len(set(values)) == 3
    r.execute_command("DEBUG", "RELOAD")
    assert r.execute_command("DEBUG", "DIGEST") == before
    assert r.execute_command("DEBUG", "DIGEST-VALUE", "digest:list", "digest:set", "missing") \
        == values
    r.rpush("digest:list", "c")
    assert r.execute_command("DEBUG", "DIGEST") != before
    assert r.execute_command("DEBUG", "DIGEST-VALUE", "digest:list")[0] != values[0]


def test_debug_loadaof_replays_the_append_only_file(r):
    r.config_set("appendonly", "yes")
    try:
        deadline = time.monotonic() + 10
        while r.info("persistence")["aof_rewrite_in_progress"] and time.monotonic() < deadline:
            time.sleep(0.05)
        r.set("aof:kept", "1")
        r.set("aof:timed", "1", ex=100)
        r.getex("aof:timed", persist=True)
        assert r.execute_command("DEBUG", "LOADAOF") in (b"OK", "OK", True)
        assert r.get("aof:kept") in (b"1", "1")
        assert r.ttl("aof:timed") == -1
    finally:
        r.config_set("appendonly", "no")


def test_debug_quicklist_packed_threshold_is_checked(r):
    assert r.execute_command("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1K") in (b"OK", "OK", True)
    for bad in ("-1", "4gb", "lots"):
        with pytest.raises(redis.ResponseError, match="bigger than 1 and smaller than 4gb"):
            r.execute_command("DEBUG", "QUICKLIST-PACKED-THRESHOLD", bad)
    r.execute_command("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "0")     # the default again


def test_where_files_go_is_a_protected_config(r):
    # enable-protected-configs defaults to no: CONFIG SET dir + dbfilename + SAVE was
    # the classic way to write files through an open Redis.
    for name, value in (("dir", "/tmp"), ("dbfilename", "evil.rdb")):
        with pytest.raises(redis.ResponseError, match="can't set protected config"):
            r.config_set(name, value)
    assert r.config_get("enable-protected-configs") in (
        {"enable-protected-configs": "no"}, {b"enable-protected-configs": b"no"})


def test_command_getkeys_of_lcs_and_latency_histogram_of_a_container(r):
    assert call_raw(r, "COMMAND", "GETKEYS", "LCS", "key1", "key2") == [b"key1", b"key2"]
    r.config_resetstat()
    r.client_id()
    r.client_list()
    histogram = call_raw(r, "LATENCY", "HISTOGRAM", "client")
    if isinstance(histogram, list):
        histogram = dict(zip(histogram[::2], histogram[1::2]))
    assert set(histogram) == {b"client|id", b"client|list"}


def test_redis_7_parameters_test_suites_set_are_accepted(r):
    assert r.config_get("maxmemory-clients") == {"maxmemory-clients": "0"}
    assert "latency-tracking-info-percentiles" in r.config_get("latency-tracking-info-percentiles")


@pytest.mark.parametrize("kind", ["fromscratch", "redis"])
def test_pidfile_logfile_and_readiness_line(tmp_path, kind):
    """What scripts that start a server look at: the pid file while it runs, and the
    log (appended to `logfile`) saying it is ready."""
    pidfile, logfile = tmp_path / "server.pid", tmp_path / "logfile.log"
    start = start_kvdb if kind == "fromscratch" else start_redis
    server = start(str(tmp_path), "--pidfile", str(pidfile), "--logfile", str(logfile),
                   "--daemonize", "no")
    try:
        assert int(pidfile.read_text()) == server.process.pid
        assert "Ready to accept connections" in logfile.read_text()
    finally:
        server.stop()
    assert not pidfile.exists()                    # removed on a clean shutdown


@pytest.mark.parametrize("cause", ["DEBUG SEGFAULT", "SIGABRT"])
def test_a_crash_leaves_a_bug_report_in_the_log(start, tmp_path, cause):
    logfile = tmp_path / "crash.log"
    server = start("--logfile", str(logfile), "--enable-debug-command", "yes",
                   "--crash-memcheck-enabled", "no")
    if cause == "SIGABRT":
        fatal = signal.SIGABRT
        server.process.send_signal(fatal)
    else:
        fatal = signal.SIGSEGV
        with socket.create_connection((server.host, server.port), timeout=15) as link:
            link.sendall(encode_command(["DEBUG", "SEGFAULT"]))
            assert link.recv(100) == b""                # no answer: it is gone
    assert server.process.wait(15) == -fatal           # it dies by that signal
    report = logfile.read_text()
    assert f"crashed by signal: {fatal.value}" in report
    for part in ("=== REDIS BUG REPORT START", "------ INFO OUTPUT ------", "redis_version:",
                 "=== REDIS BUG REPORT END"):
        assert part in report


def test_slowlog_never_shows_secrets(r, server):
    r.config_set("slowlog-log-slower-than", 0)
    try:
        r.slowlog_reset()
        # Refused or not, a secret is never shown (a bare socket: no client retries).
        raw(server, encode_command(["AUTH", "secretpw"]))
        raw(server, encode_command(["HELLO", "2", "AUTH", "default", "secretpw"]))
        r.acl_setuser("slowlog-user", enabled=True, passwords=["+secretpw"])
        r.config_set("masterauth", "secretpw")
        logged = [[arg.decode() if isinstance(arg, bytes) else arg for arg in entry["command"]]
                  if isinstance(entry["command"], list) else entry["command"]
                  for entry in r.slowlog_get(10)]
    finally:
        r.config_set("slowlog-log-slower-than", 10000)
        r.acl_deluser("slowlog-user")
        r.config_set("masterauth", "")
    text = " ".join(str(entry) for entry in logged)
    assert "secretpw" not in text and "(redacted)" in text


def test_slowlog_shows_a_transactions_commands_not_exec(r):
    r.config_set("slowlog-log-slower-than", 100000)
    try:
        r.slowlog_reset()
        with r.pipeline(transaction=True) as pipe:
            pipe.execute_command("DEBUG", "SLEEP", "0.2")
            pipe.execute()
        entries = r.slowlog_get(10)
    finally:
        r.config_set("slowlog-log-slower-than", 10000)
    assert len(entries) == 1
    command = entries[0]["command"]
    assert (command.decode() if isinstance(command, bytes) else command) == "DEBUG SLEEP 0.2"


def test_a_blocked_command_enters_the_histogram_and_slow_log_once_answered(r, server):
    # Redis counts the call at once, and times it (histogram, slow log) when it is served.
    r.config_resetstat()
    r.config_set("slowlog-log-slower-than", 0)
    try:
        waiter = connect(server, 2)
        thread = threading.Thread(target=lambda: waiter.blpop("counted-list", 10), daemon=True)
        thread.start()
        deadline = time.time() + 5
        while r.info("clients")["blocked_clients"] < 1 and time.time() < deadline:
            time.sleep(0.01)
        assert r.info("commandstats")["cmdstat_blpop"]["calls"] == 1
        assert _histogram_calls(r, "blpop") == 0
        r.slowlog_reset()
        r.rpush("counted-list", "x")
        thread.join(5)
        newest = r.slowlog_get(1)[0]
    finally:
        r.config_set("slowlog-log-slower-than", 10000)
        waiter.close()
    assert newest["command"].split()[0].lower() == b"blpop"
    assert r.info("commandstats")["cmdstat_blpop"]["calls"] == 1
    assert _histogram_calls(r, "blpop") == 1


def test_latency_tracking_and_its_percentiles(r):
    try:
        r.config_resetstat()
        r.config_set("latency-tracking", "no")
        r.set("tracked", "v")
        assert "latency_percentiles_usec_set" not in r.info("latencystats")
        r.config_set("latency-tracking", "yes")
        r.config_set("latency-tracking-info-percentiles", "0.0 50.0 99.90")
        assert r.config_get("latency-tracking-info-percentiles") == {
            "latency-tracking-info-percentiles": "0 50 99.9"}
        r.set("tracked", "v")
        percentiles = r.info("latencystats")["latency_percentiles_usec_set"]    # parsed
        assert list(percentiles) == ["p0", "p50", "p99.9"]
        for bad in ("10 50 a", "10 101"):
            with pytest.raises(redis.ResponseError, match="CONFIG SET failed"):
                r.config_set("latency-tracking-info-percentiles", bad)
        assert r.config_get("latency-tracking-info-percentiles") == {
            "latency-tracking-info-percentiles": "0 50 99.9"}
    finally:
        r.config_set("latency-tracking", "yes")
        r.config_set("latency-tracking-info-percentiles", "50 99 99.9")


def test_debug_object_shows_an_expired_key_not_yet_removed(r):
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    try:
        r.set("short-lived", "v", px=1)
        time.sleep(0.01)
        details = r.execute_command("DEBUG", "OBJECT", "short-lived")   # no error: still there
        assert "refcount" in (details if isinstance(details, dict) else str(details))
        assert r.eval("return redis.call('EXISTS', KEYS[1])", 1, "short-lived") == 0
        with pytest.raises(redis.ResponseError, match="no such key"):
            r.execute_command("DEBUG", "OBJECT", "short-lived")     # now gone
    finally:
        r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1")


@pytest.fixture(params=["fromscratch", "redis"])
def own_server(request, tmp_path):
    start = start_kvdb if request.param == "fromscratch" else start_redis
    server = start(str(tmp_path))
    yield server
    server.stop()


def test_config_set_port_moves_the_listener_and_keeps_the_connections(own_server):
    client = redis.Redis(port=own_server.port, single_connection_client=True)
    client.set("k", "v")
    new_port = free_port()
    assert client.config_set("port", new_port)
    assert client.get("k") == b"v"                          # this connection stays
    assert redis.Redis(port=new_port).get("k") == b"v"
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", own_server.port), timeout=2)

    # A port in use: an error, and every parameter of the call as it was.
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    try:
        with pytest.raises(redis.ResponseError, match="argument 'port'.*Unable to listen"):
            client.execute_command("CONFIG", "SET", "maxmemory", 10000001,
                                   "port", blocker.getsockname()[1])
    finally:
        blocker.close()
    assert client.config_get("port")["port"] == str(new_port)
    assert client.config_get("maxmemory")["maxmemory"] == "0"
    assert redis.Redis(port=new_port).ping()
    client.close()


# Redis's stock config file, as the redis-server package installs it.
PACKAGED_REDIS_CONF = "/etc/redis/redis.conf"


def test_a_packaged_redis_conf_gives_the_same_config_as_redis(tmp_path):
    """Differential: both servers started with the redis.conf that comes with
    redis-server (and the options a test needs after it) load it, and CONFIG GET *
    then names the same parameters with the same values (TLS's too); only Redis 7.2's
    additions are extra."""
    if not os.path.exists(PACKAGED_REDIS_CONF):
        missing_reference(PACKAGED_REDIS_CONF)
    after_the_file = ("--daemonize", "no", "--pidfile", "", "--logfile", "",
                      "--bind", "127.0.0.1")
    configs = {}
    for start in (start_kvdb, start_redis):
        directory = tmp_path / start.__name__
        directory.mkdir()
        server = start(str(directory), *after_the_file, config_file=PACKAGED_REDIS_CONF)
        try:
            configs[start] = connect(server).config_get("*")
        finally:
            server.stop()
    ours, reference = configs[start_kvdb], configs[start_redis]
    for config in (ours, reference):
        del config["port"], config["dir"]
    assert set(ours) - set(reference) == {"set-max-listpack-entries", "set-max-listpack-value",
                                          "locale-collate", "cluster-announce-human-nodename"}
    assert set(reference) - set(ours) == set()
    assert {name: value for name, value in ours.items() if name in reference} == reference


def test_rename_command_survives_config_rewrite(start, tmp_path):
    config_file = tmp_path / "server.conf"
    config_file.write_text('rename-command flushdb badger\nrename-command "DEBUG" ""\n')
    server = start(config_file=str(config_file))
    client = connect(server)
    client.set("k", "v")
    with pytest.raises(redis.ResponseError, match="unknown command"):
        client.flushdb()
    with pytest.raises(redis.ResponseError, match="unknown command"):
        client.execute_command("DEBUG", "SLEEP", "0")
    assert client.execute_command("BADGER") in (True, b"OK")
    assert client.dbsize() == 0
    assert client.config_rewrite()
    assert "rename-command" in config_file.read_text()


def test_shutdown_on_signal_parameters(r):
    for given, shown in (("save now", "save now"), ("FORCE nosave", "nosave force"),
                         ("default force", "force"), ("default", "default")):
        r.config_set("shutdown-on-sigterm", given)
        assert r.config_get("shutdown-on-sigterm") == {"shutdown-on-sigterm": shown}
    with pytest.raises(redis.ResponseError, match="SAVE and NOSAVE"):
        r.config_set("shutdown-on-sigint", "save nosave")
    with pytest.raises(redis.ResponseError, match="must be one of the following"):
        r.config_set("shutdown-on-sigint", "later")


def test_config_get_patterns_skip_hidden_parameters_and_show_aliases(r):
    assert "key-load-delay" not in r.config_get("*")
    assert r.config_get("key-load-delay") == {"key-load-delay": "0"}     # named: shown
    found = r.config_get("*of")
    assert found["replicaof"] == found["slaveof"] == ""


def test_maxmemory_clients_takes_a_size_or_a_percentage(r):
    try:
        for given, shown in (("10%", "10%"), ("0%", "0"), ("10kb", "10240"), ("", "0")):
            assert r.config_set("maxmemory-clients", given)
            assert r.config_get("maxmemory-clients")["maxmemory-clients"] == shown
        with pytest.raises(redis.ResponseError, match="less or equal to 100"):
            r.config_set("maxmemory-clients", "101%")
        for bad in ("-1", "10%x", "0.5%"):
            with pytest.raises(redis.ResponseError, match="memory or percent value"):
                r.config_set("maxmemory-clients", bad)
    finally:
        r.config_set("maxmemory-clients", 0)


def test_debug_counts_as_one_command(r):
    r.config_resetstat()
    r.execute_command("DEBUG", "SLEEP", "0")
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1")
    assert r.info("commandstats")["cmdstat_debug"]["calls"] == 2
    assert "latency_percentiles_usec_debug" in r.info("latencystats")
    clients = r.client_list()
    assert any(each["cmd"] in ("debug", "client|list") for each in clients)


def test_an_unblocked_blocking_command_counts_its_error(r, server):
    waiter = connect(server, 2)
    waiter_id = waiter.client_id()
    r.config_resetstat()
    outcome = []
    thread = threading.Thread(target=lambda: outcome.append(_blpop_error(waiter)), daemon=True)
    thread.start()
    deadline = time.time() + 5
    while r.info("clients")["blocked_clients"] < 1 and time.time() < deadline:
        time.sleep(0.01)
    assert r.client_unblock(waiter_id, error=True)
    thread.join(5)
    assert "client unblocked via CLIENT UNBLOCK" in outcome[0]
    assert r.info("errorstats")["errorstat_UNBLOCKED"]["count"] == 1
    stats = r.info("commandstats")["cmdstat_blpop"]
    assert stats["calls"] == 1 and stats["failed_calls"] == 1
    assert r.info("stats")["total_error_replies"] == 1
    waiter.close()


def _blpop_error(client) -> str:
    try:
        client.blpop("unblocked-list", 0)
    except redis.ResponseError as error:
        return str(error)
    return ""


def test_config_set_bind_to_an_impossible_address_fails_and_keeps_listening(own_server):
    client = redis.Redis(port=own_server.port, single_connection_client=True)
    with pytest.raises(redis.ResponseError, match="Failed to bind to specified addresses"):
        client.config_set("bind", "999.999.999.999")
    assert redis.Redis(port=own_server.port).ping()
    client.close()


def test_info_counts_reads_writes_forks_and_traffic(r):
    stats = r.info("stats")
    for field in ("total_net_repl_input_bytes", "total_net_repl_output_bytes",
                  "instantaneous_input_kbps", "instantaneous_output_kbps",
                  "instantaneous_input_repl_kbps", "instantaneous_output_repl_kbps",
                  "sync_full", "sync_partial_ok", "sync_partial_err", "evicted_clients",
                  "pubsubshard_channels", "io_threaded_reads_processed",
                  "io_threaded_writes_processed"):
        assert field in stats, field
    assert stats["total_reads_processed"] > 0 and stats["total_writes_processed"] > 0
    forks = stats["total_forks"]
    r.set("k", "v")
    r.bgsave()
    deadline = time.time() + 10
    while r.info("persistence")["rdb_bgsave_in_progress"] and time.time() < deadline:
        time.sleep(0.05)
    stats = r.info("stats")
    assert stats["total_forks"] == forks + 1 and stats["latest_fork_usec"] > 0
    memory = r.info("memory")
    for field in ("mem_fragmentation_bytes", "mem_not_counted_for_evict",
                  "mem_replication_backlog", "mem_total_replication_buffers",
                  "mem_clients_slaves", "mem_clients_normal", "mem_aof_buffer"):
        assert field in memory, field
    assert memory["mem_clients_normal"] > 0


def test_debug_error_answers_the_error_it_is_given(r, server, protocol):
    """redis-py's own tests fake server errors this way."""
    # (No retries: newer redis-py would try a LOADING error again, for seconds.)
    r = connect(server, protocol, retry=Retry(NoBackoff(), 0))
    with pytest.raises(redis.exceptions.BusyLoadingError):
        r.execute_command("DEBUG", "ERROR", "LOADING Redis is loading the dataset in memory")
    with pytest.raises(redis.exceptions.ReadOnlyError):
        r.execute_command("DEBUG", "ERROR", "READONLY You can't write against a read only replica.")
    with pytest.raises(redis.ResponseError, match="^no ERR prefix,  one line$"):
        r.execute_command("DEBUG", "ERROR", "no ERR prefix,\r\none line")
    r.config_resetstat()
    for call in (("NOSUCH",), ("SLEEP",), ("ERROR", "a", "b")):
        with pytest.raises(redis.ResponseError,
                           match=rf"^unknown subcommand or wrong number of arguments for "
                                 rf"'{call[0]}'. Try DEBUG HELP.$"):
            r.execute_command("DEBUG", *call)
    with pytest.raises(redis.ResponseError, match="^not counted$"):
        r.execute_command("DEBUG", "ERROR", "not counted")
    # Replies of DEBUG itself: calls that failed (DEBUG ERROR's reply is not a failure)
    stats = r.info("commandstats")["cmdstat_debug"]
    assert (stats["calls"], stats["failed_calls"], stats["rejected_calls"]) == (4, 3, 0)


def test_debug_is_refused_before_authentication_when_not_enabled(start):
    wire = Wire(start("--requirepass", "secret"), protocol=2)
    for call in (("DEBUG", "SLEEP", "0"), ("DEBUG", "NOSUCH")):
        assert str(wire(*call)).startswith("ERR DEBUG command not allowed")
    assert str(wire("GET", "k")).startswith("NOAUTH")
    wire.close()


def test_info_counts_the_keys_of_the_last_load(r):
    r.mset({"a": 1, "b": 2, "c": 3})
    r.set("soon", "x", px=1)
    time.sleep(0.01)                      # expired, but still in the dataset
    assert r.execute_command("DEBUG", "RELOAD") in (b"OK", "OK", True)
    persistence = r.info("persistence")
    assert persistence["rdb_last_load_keys_loaded"] == 3
    # Redis saves the expired key and leaves it out on load; we leave it out on saving.
    assert persistence["rdb_last_load_keys_expired"] in (0, 1)
    assert r.exists("a", "b", "c", "soon") == 3


def test_clients_connect_through_a_unix_socket(start, tmp_path):
    path = str(tmp_path / "kv.sock")
    server = start("--unixsocket", path, "--unixsocketperm", "700")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o700
    client = redis.Redis(unix_socket_path=path, retry=Retry(NoBackoff(), 0))
    client.set("k", "v")
    assert redis.Redis(port=server.port).get("k") == b"v"       # the same server
    me = client.client_info()
    assert me["addr"] == me["laddr"] == f"{path}:0"
    assert "U" in me["flags"]
    assert client.config_get("unixsocket*") == {"unixsocket": path, "unixsocketperm": "700"}
    client.shutdown(nosave=True)
    server.process.wait(20)
    assert not os.path.exists(path)                             # removed on the way out
