"""Streams and consumer groups through redis-py, in RESP2 and RESP3: on the key-value
server, on the standalone pub/sub server, and on real Redis.

Ids are given explicitly wherever a reply is compared, so every server answers the
same bytes. Where Redis 7.2 differs from the 7.0 reference (XINFO's `inactive` and
`active-time`, the wording of some errors), the test says which it expects of which.
"""

import time

import pytest
import redis

from compat_tests.servers import start_kvdb

from .conftest import call_raw
from .test_blocking import blocked_clients, waiting  # noqa: F401 (waiting: a fixture)
from .test_notifications import both, events  # noqa: F401 (events: a fixture)

SERVERS = {"fromscratch": "kvdb_server", "fromscratch-pubsub": "pubsub_server",
           "redis": "redis_server"}


@pytest.fixture(params=list(SERVERS))
def server(request):
    return request.getfixturevalue(SERVERS[request.param])


def needs_strings(server):
    if server.kind == "fromscratch-pubsub":
        pytest.skip("the pub/sub server serves no string commands")


def entries(reply) -> dict:
    """XREAD/XREADGROUP replies as {stream: [(id, fields)...]}: redis-py gives RESP2's
    array of [key, entries] as a list, and RESP3's map as a dict of [entries]."""
    if isinstance(reply, dict):
        return {key: value[0] if value and isinstance(value[0], list) else value
                for key, value in reply.items()}
    return {key: value for key, value in reply}


def fill(r, key="s", count=3):
    for seq in range(1, count + 1):
        r.xadd(key, {"n": seq}, id=f"{seq}-0")


def error_of(call) -> str:
    with pytest.raises(redis.ResponseError) as error:
        call()
    return str(error.value)


# -- adding and reading entries ---------------------------------------------------------------

def test_xadd_generates_increasing_ids(r):
    first = r.xadd("s", {"a": 1})
    second = r.xadd("s", {"b": 2})
    ms, seq = (int(part) for part in first.split(b"-"))
    assert abs(ms - time.time() * 1000) < 60_000
    assert tuple(int(p) for p in second.split(b"-")) > (ms, seq)
    assert r.xlen("s") == 2 and r.type("s") == b"stream"


def test_xadd_explicit_ids(r):
    assert r.xadd("s", {"a": 1}, id="5-1") == b"5-1"
    assert r.xadd("s", {"a": 1}, id="5-*") == b"5-2"
    assert r.xadd("s", {"a": 1}, id="6-*") == b"6-0"
    assert r.xadd("s", {"a": 1}, id="7") == b"7-0"
    assert r.xadd("e", {"a": 1}, id="0-*") == b"0-1"
    assert error_of(lambda: r.xadd("s", {"a": 1}, id="7-0")) == (
        "The ID specified in XADD is equal or smaller than the target stream top item")
    assert error_of(lambda: r.xadd("s", {"a": 1}, id="3-*")) == (
        "The ID specified in XADD is equal or smaller than the target stream top item")
    assert error_of(lambda: r.xadd("new", {"a": 1}, id="0-0")) == (
        "The ID specified in XADD must be greater than 0-0")
    assert r.exists("new") == 0
    assert error_of(lambda: r.xadd("s", {"a": 1}, id="x")) == (
        "Invalid stream ID specified as stream command argument")


def test_xadd_at_the_last_possible_id(r):
    top = "18446744073709551615-18446744073709551615"
    assert r.xadd("s", {"a": 1}, id=top) == top.encode()
    assert error_of(lambda: r.xadd("s", {"a": 1})) == (
        "The stream has exhausted the last possible ID, unable to add more items")


def test_nomkstream(r):
    assert r.xadd("s", {"a": 1}, nomkstream=True) is None
    assert r.exists("s") == 0
    r.xadd("s", {"a": 1}, id="1-0")
    assert r.xadd("s", {"a": 2}, id="2-0", nomkstream=True) == b"2-0"


def test_fields_keep_their_order_and_repeats(r):
    r.execute_command("XADD", "s", "1-0", "b", "2", "a", "1", "b", "3")
    assert call_raw(r, "XRANGE", "s", "-", "+") == [[b"1-0", [b"b", b"2", b"a", b"1", b"b", b"3"]]]


def test_xrange_and_xrevrange(r):
    fill(r, count=5)
    assert [i for i, _ in r.xrange("s")] == [b"1-0", b"2-0", b"3-0", b"4-0", b"5-0"]
    assert r.xrange("s", "2", "3") == [(b"2-0", {b"n": b"2"}), (b"3-0", {b"n": b"3"})]
    assert [i for i, _ in r.xrange("s", "(2-0", "(5-0")] == [b"3-0", b"4-0"]
    assert [i for i, _ in r.xrange("s", "-", "+", count=2)] == [b"1-0", b"2-0"]
    assert [i for i, _ in r.xrevrange("s", "+", "-", count=2)] == [b"5-0", b"4-0"]
    assert [i for i, _ in r.xrevrange("s", "(4-0", "2")] == [b"3-0", b"2-0"]
    assert r.xrange("missing") == []
    assert r.xrange("s", "9", "+") == []


def test_xrange_over_many_blocks(r):
    with r.pipeline(transaction=False) as pipe:
        for seq in range(1, 1001):
            pipe.xadd("s", {"n": seq}, id=f"1-{seq}")
        pipe.execute()
    assert [i for i, _ in r.xrange("s", "1-250", "1-252")] == [b"1-250", b"1-251", b"1-252"]
    assert [i for i, _ in r.xrevrange("s", "1-101", "1-99")] == [b"1-101", b"1-100", b"1-99"]
    assert len(r.xrange("s", "1-100", "1-899")) == 800
    assert r.xrange("s", "(1-999", "+") == [(b"1-1000", {b"n": b"1000"})]


def test_xrange_reply_shapes(wire, protocol):
    wire("XADD", "s", "1-0", "f", "v")
    assert wire.call("XRANGE", "s", "-", "+") == (
        b"*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n")
    null_array = b"*-1\r\n" if protocol == 2 else b"_\r\n"
    assert wire.call("XRANGE", "s", "-", "+", "COUNT", "0") == null_array
    assert wire.call("XRANGE", "missing", "-", "+") == b"*0\r\n"


@pytest.mark.parametrize("args, message", [
    (["XRANGE", "s", "(-", "+"], "Invalid stream ID specified as stream command argument"),
    (["XRANGE", "s", "-", "(0-0"], "invalid end ID for the interval"),
    (["XRANGE", "s", "(18446744073709551615-18446744073709551615", "+"],
     "invalid start ID for the interval"),
    (["XRANGE", "s", "-", "+", "COUNT"], "syntax error"),
    (["XRANGE", "s", "-", "+", "COUNT", "x"], "value is not an integer or out of range"),
    (["XADD", "s", "MAXLEN", "-1", "*", "a", "1"], "The MAXLEN argument must be >= 0."),
    (["XADD", "s", "MAXLEN", "1", "LIMIT", "10", "*", "a", "1"],
     "syntax error, LIMIT cannot be used without the special ~ option"),
    (["XADD", "s", "LIMIT", "5", "*", "a", "1"],
     "syntax error, LIMIT cannot be used without specifying a trimming strategy"),
    (["XADD", "s", "MINID", "1", "MAXLEN", "1", "*", "a", "1"],
     "syntax error, MAXLEN and MINID options at the same time are not compatible"),
    (["XADD", "s", "*", "a"], "wrong number of arguments for 'xadd' command"),
    (["XADD", "s", "*", "a", "1", "b"], "wrong number of arguments for 'xadd' command"),
    (["XTRIM", "s", "LIMIT", "5", "MAXLEN", "1"],
     "syntax error, LIMIT cannot be used without the special ~ option"),
    (["XTRIM", "s", "FOO", "1"], "syntax error"),
    (["XTRIM", "s", "MAXLEN", "~", "1", "LIMIT", "-1"], "The LIMIT argument must be >= 0."),
    (["XDEL", "s", "1-0", "bad"], "Invalid stream ID specified as stream command argument"),
    (["XSETID", "s", "1-0"], "The ID specified in XSETID is smaller than the target stream "
                             "top item"),
    (["XSETID", "missing", "1-0"], "no such key"),
    (["XSETID", "s", "9", "ENTRIESADDED", "-1"], "entries_added must be positive"),
    (["XSETID", "s", "9", "ENTRIESADDED", "1"],
     "The entries_added specified in XSETID is smaller than the target stream length"),
    (["XSETID", "s", "9", "MAXDELETEDID", "10"],
     "The ID specified in XSETID is smaller than the provided max_deleted_entry_id"),
])
def test_log_errors(r, args, message):
    fill(r, count=3)
    assert error_of(lambda: r.execute_command(*args)) == message


def test_wrong_type(r, server):
    needs_strings(server)
    r.set("str", "x")
    for call in (lambda: r.xadd("str", {"a": 1}), lambda: r.xrange("str"),
                 lambda: r.xlen("str"), lambda: r.xread({"str": 0}),
                 lambda: r.xreadgroup("g", "c", {"str": ">"}),
                 lambda: r.xgroup_create("str", "g"), lambda: r.xinfo_stream("str")):
        assert error_of(call).startswith("WRONGTYPE")


# -- deleting and trimming --------------------------------------------------------------------

def test_xdel_keeps_an_empty_stream(r):
    fill(r, count=3)
    assert r.xdel("s", "2-0", "2-0", "9-0") == 1
    assert r.xdel("missing", "1-0") == 0
    assert r.xdel("s", "1-0", "3-0") == 2
    assert r.exists("s") == 1 and r.xlen("s") == 0
    info = r.xinfo_stream("s")
    assert info["last-generated-id"] == b"3-0" and info["max-deleted-entry-id"] == b"3-0"
    assert info["first-entry"] is None and info["recorded-first-entry-id"] == b"0-0"
    assert r.xadd("s", {"a": 1}, id="3-*") == b"3-1"     # ids never go back


def test_exact_trims(r):
    fill(r, count=10)
    assert r.xtrim("s", maxlen=7, approximate=False) == 3
    assert r.xtrim("s", minid="6", approximate=False) == 2
    assert [i for i, _ in r.xrange("s")][:2] == [b"6-0", b"7-0"]
    r.xadd("s", {"n": 11}, id="11-0", maxlen=3, approximate=False)
    assert [i for i, _ in r.xrange("s")] == [b"9-0", b"10-0", b"11-0"]
    r.xadd("s", {"n": 12}, id="12-0", minid="11", approximate=False)
    assert r.xlen("s") == 2
    assert r.xtrim("missing", maxlen=0) == 0


def test_an_entry_added_after_an_exact_trim_to_nothing_is_the_first(r):
    """MAXLEN 0 empties the stream but leaves its first node (all deleted); the next
    entry goes into that node and is the recorded first entry."""
    fill(r, count=3)
    assert r.xtrim("s", maxlen=0, approximate=False) == 3
    assert r.xinfo_stream("s")["recorded-first-entry-id"] == b"0-0"
    r.xadd("s", {"n": 4}, id="4-0")
    info = r.xinfo_stream("s")
    assert info["recorded-first-entry-id"] == b"4-0" and info["length"] == 1
    r.xgroup_create("s", "g", id="0")
    assert r.xinfo_groups("s")[0]["lag"] == 1


def test_approximate_trims_remove_whole_nodes(r):
    """With the default 100 small entries per node, MAXLEN ~ keeps whole nodes: at least
    the threshold, and less than a node more."""
    with r.pipeline(transaction=False) as pipe:
        for seq in range(1, 1001):
            pipe.xadd("s", {"n": seq}, id=f"1-{seq}")
        pipe.execute()
    assert r.xtrim("s", maxlen=150, approximate=True) == 800
    assert r.xlen("s") == 200
    assert r.xtrim("s", maxlen=150, approximate=True) == 0
    assert r.xtrim("s", minid="1-950", approximate=True) == 100    # the node of 801..900
    assert r.xtrim("s", maxlen=0, approximate=True, limit=50) == 0  # a node is 100
    assert r.xlen("s") == 100


def test_nodes_hold_stream_node_max_entries(r):
    """Nodes fill up to stream-node-max-entries, read at each XADD; by default a `~` trim
    removes at most 100 nodes' worth of entries."""
    r.config_set("stream-node-max-entries", 10)
    try:
        with r.pipeline(transaction=False) as pipe:
            for seq in range(1, 101):
                pipe.xadd("s", {"n": seq}, id=f"1-{seq}")
            pipe.execute()
        r.xadd("s", {"n": 101}, id="1-101", maxlen=55, approximate=True, limit=30)
        assert r.xlen("s") == 71                        # three nodes of ten went
        r.xadd("s", {"n": 102}, id="1-102", maxlen=55, approximate=True, limit=30)
        assert r.xlen("s") == 62                        # 72, less one node of ten
        r.config_set("stream-node-max-entries", 2)      # for nodes to come only
        for seq in range(1, 4):
            r.xadd("t", {"n": seq}, id=f"1-{seq}")
        assert r.xtrim("t", maxlen=0, approximate=True, limit=1) == 0
        assert r.xtrim("t", maxlen=0, approximate=True, limit=2) == 2
        r.config_set("stream-node-max-entries", 1)
        for seq in range(1, 203):
            r.xadd("u", {"n": seq}, id=f"1-{seq}")
        assert r.xtrim("u", maxlen=1, approximate=True) == 100     # 100 nodes of one
    finally:
        r.config_set("stream-node-max-entries", 100)


# -- XREAD ------------------------------------------------------------------------------------

def test_xread(r):
    fill(r, "a", 3)
    fill(r, "b", 1)
    assert entries(r.xread({"a": "1-0", "b": 0})) == {
        b"a": [(b"2-0", {b"n": b"2"}), (b"3-0", {b"n": b"3"})], b"b": [(b"1-0", {b"n": b"1"})]}
    assert entries(r.xread({"a": 0, "b": "1-0"}, count=1)) == {b"a": [(b"1-0", {b"n": b"1"})]}
    assert not r.xread({"a": "$", "missing": 0})
    assert not r.xread({"a": "3-0"})


def test_xread_reply_shapes(wire, protocol):
    wire("XADD", "s", "1-0", "f", "v")
    entry = b"*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"
    if protocol == 2:
        assert wire.call("XREAD", "STREAMS", "s", "0") == b"*1\r\n*2\r\n$1\r\ns\r\n" + entry
        assert wire.call("XREAD", "STREAMS", "s", "$") == b"*-1\r\n"
    else:
        assert wire.call("XREAD", "STREAMS", "s", "0") == b"%1\r\n$1\r\ns\r\n" + entry
        assert wire.call("XREAD", "STREAMS", "s", "$") == b"_\r\n"


@pytest.mark.parametrize("args, message", [
    (["XREAD", "STREAMS", "a", "b"], "Invalid stream ID specified as stream command argument"),
    (["XREAD", "COUNT", "x", "STREAMS", "a", "0"], "value is not an integer or out of range"),
    (["XREAD", "BLOCK", "-1", "STREAMS", "a", "0"], "timeout is negative"),
    (["XREAD", "BLOCK", "1.5", "STREAMS", "a", "0"], "timeout is not an integer or out of range"),
    (["XREAD", "FOO", "STREAMS", "a", "0"], "syntax error"),
    (["XREAD", "COUNT", "1", "a", "0"], "syntax error"),
    (["XREAD", "STREAMS", "a", ">"], "The > ID can be specified only when calling XREADGROUP "
                                     "using the GROUP <group> <consumer> option."),
    (["XREAD", "NOACK", "STREAMS", "a", "0"],
     "The NOACK option is only supported by XREADGROUP. You called XREAD instead."),
    (["XREAD", "GROUP", "g", "c", "STREAMS", "a", "0"],
     "The GROUP option is only supported by XREADGROUP. You called XREAD instead."),
    (["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "$"],
     "The $ ID is meaningless in the context of XREADGROUP: you want to read the history of "
     "this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID "
     "would just return an empty result set."),
    (["XREADGROUP", "COUNT", "1", "NOACK", "STREAMS", "s", ">"],
     "Missing GROUP option for XREADGROUP"),
    (["XREADGROUP", "GROUP", "nog", "c", "STREAMS", "s", ">"],
     "NOGROUP No such key 's' or consumer group 'nog' in XREADGROUP with GROUP option"),
    (["XREADGROUP", "GROUP", "g", "c", "STREAMS", "missing", ">"],
     "NOGROUP No such key 'missing' or consumer group 'g' in XREADGROUP with GROUP option"),
])
def test_read_errors(r, args, message):
    fill(r, count=1)
    r.xgroup_create("s", "g", "0")
    assert error_of(lambda: r.execute_command(*args)) == message


def test_unbalanced_streams(r, server_version):
    message = error_of(lambda: r.execute_command("XREAD", "STREAMS", "a", "b", "0"))
    group_message = error_of(lambda: r.execute_command("XREADGROUP", "GROUP", "g", "c",
                                                       "STREAMS", "a", "b", ">"))
    if server_version >= (7, 2):
        assert message == ("Unbalanced 'xread' list of streams: for each stream key an ID or "
                           "'$' must be specified.")
        assert group_message == ("Unbalanced 'xreadgroup' list of streams: for each stream "
                                 "key an ID or '>' must be specified.")
    else:
        assert message == group_message == ("Unbalanced XREAD list of streams: for each stream "
                                            "key an ID or '$' must be specified.")


def test_xread_plus_reads_the_last_entry(r, server, server_version):
    if server.kind == "redis" and server_version < (7, 4):
        pytest.skip("XREAD's + arrived in Redis 7.4 (we serve it too)")
    fill(r, count=3)
    assert entries(r.xread({"s": "+"})) == {b"s": [(b"3-0", {b"n": b"3"})]}
    assert not r.xread({"missing": "+"})
    assert not r.xread({"missing": "+"}, block=10)


# -- blocking reads -----------------------------------------------------------------------------

def test_xread_block_waits_for_a_new_entry(r, waiting):
    fill(r, count=1)
    waiter = waiting(lambda c: c.xread({"s": "$"}, block=0))
    r.xadd("s", {"n": 2}, id="2-0")
    assert entries(waiter.result()) == {b"s": [(b"2-0", {b"n": b"2"})]}


def test_xread_block_dollar_is_fixed_when_it_starts_waiting(r, waiting):
    """`$` means entries added after the call: a stream that appears and fills while
    the client waits serves it from its first entry."""
    waiter = waiting(lambda c: c.xread({"other": "$", "s": "$"}, block=0))
    with r.pipeline() as pipe:
        pipe.xadd("s", {"n": 1}, id="1-0")
        pipe.xadd("s", {"n": 2}, id="2-0")
        pipe.execute()
    assert entries(waiter.result()) == {b"s": [(b"1-0", {b"n": b"1"}), (b"2-0", {b"n": b"2"})]}


def test_xread_block_timeout(r, waiting):
    started = time.monotonic()
    assert r.xread({"s": "$"}, block=100) in (None, [], {})
    assert time.monotonic() - started >= 0.099
    waiter = waiting(lambda c: c.xread({"s": 0}, block=150))
    assert waiter.result() in (None, [], {})


def test_xread_block_reply_on_timeout(wire, protocol):
    assert wire.call("XREAD", "BLOCK", "10", "STREAMS", "s", "$") == (
        b"*-1\r\n" if protocol == 2 else b"_\r\n")


def test_blocked_readers_all_see_the_entry(r, waiting):
    readers = [waiting(lambda c: c.xread({"s": "$"}, block=0)) for _ in range(3)]
    r.xadd("s", {"n": 1}, id="1-0")
    assert [entries(w.result()) for w in readers] == [{b"s": [(b"1-0", {b"n": b"1"})]}] * 3


def test_xread_keeps_waiting_through_a_delete(r, waiting, server):
    fill(r, count=1)
    waiter = waiting(lambda c: c.xread({"s": "$"}, block=0))
    r.delete("s")
    assert blocked_clients(r) == 1 and not waiter.done
    r.xadd("s", {"n": 9}, id="9-0")
    assert entries(waiter.result()) == {b"s": [(b"9-0", {b"n": b"9"})]}


def test_xread_keeps_waiting_through_a_change_of_type(r, waiting, server):
    needs_strings(server)
    waiter = waiting(lambda c: c.xread({"s": 0}, block=0))
    r.set("s", "x")
    assert blocked_clients(r) == 1 and not waiter.done
    r.delete("s")
    r.xadd("s", {"n": 1}, id="1-0")
    assert entries(waiter.result()) == {b"s": [(b"1-0", {b"n": b"1"})]}


def test_inside_multi_nothing_blocks(r):
    r.xgroup_create("s", "g", "$", mkstream=True)
    with r.pipeline() as pipe:
        pipe.xread({"s": "$"}, block=0)
        pipe.xreadgroup("g", "c", {"s": ">"}, block=0)
        assert pipe.execute() in ([None, None], [[], []], [{}, {}])


# -- consumer groups ------------------------------------------------------------------------------

def test_xreadgroup_delivers_each_entry_once(r, server_version):
    fill(r, count=4)
    r.xgroup_create("s", "g", "0")
    first = entries(r.xreadgroup("g", "alice", {"s": ">"}, count=2))
    second = entries(r.xreadgroup("g", "bob", {"s": ">"}))
    assert [i for i, _ in first[b"s"]] == [b"1-0", b"2-0"]
    assert [i for i, _ in second[b"s"]] == [b"3-0", b"4-0"]
    assert not r.xreadgroup("g", "carol", {"s": ">"})
    summary = r.xpending("s", "g")
    assert summary["pending"] == 4 and (summary["min"], summary["max"]) == (b"1-0", b"4-0")
    assert summary["consumers"] == [{"name": b"alice", "pending": 2},
                                    {"name": b"bob", "pending": 2}]
    # A consumer exists from its first read; Redis 7.0 waited for one that found entries.
    consumers = [b"alice", b"bob", b"carol"] if server_version >= (7, 2) else [b"alice", b"bob"]
    assert [c["name"] for c in r.xinfo_consumers("s", "g")] == consumers


def test_xreadgroup_history_rereads_own_pending_entries(r):
    fill(r, count=3)
    r.xgroup_create("s", "g", "0")
    r.xreadgroup("g", "alice", {"s": ">"})
    history = entries(r.xreadgroup("g", "alice", {"s": "0"}))
    assert [i for i, _ in history[b"s"]] == [b"1-0", b"2-0", b"3-0"]
    assert entries(r.xreadgroup("g", "bob", {"s": "0"})) == {b"s": []}
    r.xack("s", "g", "2-0")
    r.xdel("s", "3-0")
    reply = call_raw(r, "XREADGROUP", "GROUP", "g", "alice", "COUNT", "5", "STREAMS", "s", "1")
    history = reply[b"s"] if isinstance(reply, dict) else reply[0][1]
    assert history == [[b"3-0", None]]                   # pending, but deleted
    times = {p["message_id"]: p["times_delivered"]
             for p in r.xpending_range("s", "g", "-", "+", 10)}
    assert times == {b"1-0": 2, b"3-0": 2}


def test_history_reply_shape_of_a_deleted_entry(wire, protocol):
    wire("XADD", "s", "1-0", "f", "v")
    wire("XGROUP", "CREATE", "s", "g", "0")
    wire("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">")
    wire("XDEL", "s", "1-0")
    reply = wire.call("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "0")
    if protocol == 2:
        assert reply == b"*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-0\r\n*-1\r\n"
    else:
        assert reply == b"%1\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-0\r\n_\r\n"


def test_noack_leaves_nothing_pending(r):
    fill(r, count=2)
    r.xgroup_create("s", "g", "0")
    assert len(entries(r.xreadgroup("g", "c", {"s": ">"}, noack=True))[b"s"]) == 2
    assert r.xpending("s", "g")["pending"] == 0
    assert r.xinfo_groups("s")[0]["last-delivered-id"] == b"2-0"


def test_xack(r):
    fill(r, count=3)
    r.xgroup_create("s", "g", "0")
    r.xreadgroup("g", "c", {"s": ">"})
    assert r.xack("s", "g", "1-0", "1-0", "3-0", "9-0") == 2
    assert r.xack("s", "nog", "2-0") == 0 and r.xack("missing", "g", "2-0") == 0
    assert error_of(lambda: r.xack("s", "g", "2-0", "bad")).startswith("Invalid stream ID")
    assert r.xpending("s", "g")["pending"] == 1            # nothing acked by the bad call
    assert r.xinfo_consumers("s", "g")[0]["pending"] == 1


def test_xgroup_subcommands(r):
    assert error_of(lambda: r.xgroup_create("s", "g")) == (
        "The XGROUP subcommand requires the key to exist. Note that for CREATE you may want "
        "to use the MKSTREAM option to create an empty stream automatically.")
    assert r.xgroup_create("s", "g", "$", mkstream=True) is True
    assert r.type("s") == b"stream" and r.xlen("s") == 0
    assert error_of(lambda: r.xgroup_create("s", "g")) == (
        "BUSYGROUP Consumer Group name already exists")
    assert r.xgroup_createconsumer("s", "g", "c") == 1
    assert r.xgroup_createconsumer("s", "g", "c") == 0
    assert error_of(lambda: r.xgroup_createconsumer("s", "nog", "c")) == (
        "NOGROUP No such consumer group 'nog' for key name 's'")
    fill(r, count=2)
    r.xreadgroup("g", "c", {"s": ">"})
    assert r.xgroup_delconsumer("s", "g", "c") == 2
    assert r.xgroup_delconsumer("s", "g", "nobody") == 0
    assert r.xpending("s", "g")["pending"] == 0
    assert r.xgroup_setid("s", "g", "1-0") is True
    assert [i for i, _ in entries(r.xreadgroup("g", "c", {"s": ">"}))[b"s"]] == [b"2-0"]
    assert r.xgroup_destroy("s", "g") == 1 and r.xgroup_destroy("s", "g") == 0
    assert r.xinfo_groups("s") == []


@pytest.mark.parametrize("args, message", [
    (["XGROUP", "CREATE", "s", "g", "$", "FOO"],
     "unknown subcommand or wrong number of arguments for 'CREATE'. Try XGROUP HELP."),
    (["XGROUP", "CREATE", "s", "g", "0", "ENTRIESREAD", "-5"],
     "value for ENTRIESREAD must be positive or -1"),
    (["XGROUP", "CREATE", "s", "g", "bad"],
     "Invalid stream ID specified as stream command argument"),
    (["XGROUP", "SETID", "s", "nog", "0"], "NOGROUP No such consumer group 'nog' for key name 's'"),
    (["XGROUP", "SETID", "missing", "g", "0"],
     "The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to "
     "use the MKSTREAM option to create an empty stream automatically."),
    (["XGROUP", "CREATE", "s"], "wrong number of arguments for 'xgroup|create' command"),
    (["XGROUP", "FOO", "s"], "unknown subcommand 'FOO'. Try XGROUP HELP."),
    (["XINFO", "STREAM", "missing"], "no such key"),
    (["XINFO", "CONSUMERS", "s", "nog"], "NOGROUP No such consumer group 'nog' for key name 's'"),
    (["XINFO", "STREAM", "s", "FULL", "COUNT", "x"], "value is not an integer or out of range"),
    (["XINFO", "STREAM", "s", "FOO"],
     "unknown subcommand or wrong number of arguments for 'STREAM'. Try XINFO HELP."),
])
def test_group_errors(r, args, message):
    r.xgroup_create("s", "g", "$", mkstream=True)
    assert error_of(lambda: r.execute_command(*args)) == message


def test_entries_read_and_lag(r):
    fill(r, count=5)
    r.xgroup_create("s", "g", "0")
    r.xgroup_create("s", "late", "$")
    r.xgroup_create("s", "told", "0", entries_read=3)
    groups = {g["name"]: g for g in r.xinfo_groups("s")}
    assert (groups[b"g"]["entries-read"], groups[b"g"]["lag"]) == (None, 5)
    assert (groups[b"late"]["entries-read"], groups[b"late"]["lag"]) == (None, 0)
    assert (groups[b"told"]["entries-read"], groups[b"told"]["lag"]) == (3, 2)
    r.xreadgroup("g", "c", {"s": ">"}, count=2)
    assert r.xinfo_groups("s")[0]["entries-read"] == 2 and r.xinfo_groups("s")[0]["lag"] == 3
    r.xdel("s", "4-0")                               # a tombstone ahead: the lag is unknown
    assert r.xinfo_groups("s")[0]["lag"] is None
    r.xreadgroup("g", "c", {"s": ">"})
    assert r.xinfo_groups("s")[0]["entries-read"] == 5 and r.xinfo_groups("s")[0]["lag"] == 0


# -- an at-least-once work queue ----------------------------------------------------------------

def test_a_dead_consumers_work_is_claimed_and_finished(r):
    """Two workers share a queue; one takes jobs and dies before acknowledging them; the
    survivor finds them pending, claims them once they have been idle long enough, and
    acknowledges them: every job is done at least once, none is lost."""
    for job in range(1, 7):
        r.xadd("jobs", {"job": job}, id=f"{job}-0")
    r.xgroup_create("jobs", "workers", "0")
    doomed = entries(r.xreadgroup("workers", "doomed", {"jobs": ">"}, count=3))[b"jobs"]
    survivor = entries(r.xreadgroup("workers", "survivor", {"jobs": ">"}, count=3))[b"jobs"]
    assert r.xack("jobs", "workers", *[i for i, _ in survivor]) == 3
    # The doomed worker never acknowledges. Nothing is claimable while it is fresh...
    assert r.xautoclaim("jobs", "workers", "survivor", 60_000, "0-0")[1] == []
    time.sleep(0.06)
    pending = r.xpending_range("jobs", "workers", "-", "+", 10, idle=50)
    assert [(p["message_id"], p["consumer"]) for p in pending] == [
        (i, b"doomed") for i, _ in doomed]
    cursor, claimed, deleted = r.xautoclaim("jobs", "workers", "survivor", 50, "0-0", count=2)
    assert (cursor, deleted) == (b"3-0", []) and claimed == doomed[:2]
    cursor, claimed, _ = r.xautoclaim("jobs", "workers", "survivor", 50, cursor)
    assert (cursor, claimed) == (b"0-0", doomed[2:])
    assert r.xpending_range("jobs", "workers", "-", "+", 10, consumername="doomed") == []
    redelivered = r.xpending_range("jobs", "workers", "-", "+", 10)
    assert [(p["consumer"], p["times_delivered"]) for p in redelivered] == [(b"survivor", 2)] * 3
    assert r.xack("jobs", "workers", *[i for i, _ in doomed]) == 3
    assert r.xpending("jobs", "workers")["pending"] == 0
    assert r.xgroup_delconsumer("jobs", "workers", "doomed") == 0


def test_xautoclaim_drops_deleted_entries(r):
    fill(r, count=3)
    r.xgroup_create("s", "g", "0")
    r.xreadgroup("g", "a", {"s": ">"})
    r.xdel("s", "2-0")
    reply = call_raw(r, "XAUTOCLAIM", "s", "g", "b", "0", "0-0", "JUSTID")
    assert reply == [b"0-0", [b"1-0", b"3-0"], [b"2-0"]]
    assert r.xpending("s", "g")["pending"] == 2


def test_xautoclaim_errors(r):
    r.xgroup_create("s", "g", "$", mkstream=True)
    assert error_of(lambda: r.execute_command("XAUTOCLAIM", "s", "g", "c", "x", "0")) == (
        "Invalid min-idle-time argument for XAUTOCLAIM")
    assert error_of(lambda: r.execute_command("XAUTOCLAIM", "s", "g", "c", "0", "0", "COUNT",
                                              "0")) == "COUNT must be > 0"
    assert error_of(lambda: r.execute_command("XAUTOCLAIM", "missing", "g", "c", "0", "0")) == (
        "NOGROUP No such key 'missing' or consumer group 'g'")


def test_xclaim_options(r):
    fill(r, count=3)
    r.xgroup_create("s", "g", "0")
    r.xreadgroup("g", "a", {"s": ">"}, count=2)
    assert r.xclaim("s", "g", "b", 60_000, ["1-0"]) == []            # not idle long enough
    assert r.xclaim("s", "g", "b", 0, ["1-0", "3-0"]) == [(b"1-0", {b"n": b"1"})]
    assert r.xclaim("s", "g", "b", 0, ["2-0"], justid=True) == [b"2-0"]
    assert r.xclaim("s", "g", "c", 0, ["3-0"], force=True, justid=True) == [b"3-0"]
    r.xclaim("s", "g", "c", 0, ["1-0"], idle=5000, retrycount=7)
    pending = {p["message_id"]: p for p in r.xpending_range("s", "g", "-", "+", 10)}
    assert pending[b"1-0"]["consumer"] == b"c" and pending[b"1-0"]["times_delivered"] == 7
    assert pending[b"1-0"]["time_since_delivered"] >= 5000
    assert pending[b"2-0"]["times_delivered"] == 1                  # JUSTID doesn't count
    r.xclaim("s", "g", "c", 0, ["1-0"], retrycount=-1)              # negative: as none
    assert r.xpending_range("s", "g", "1-0", "1-0", 1)[0]["times_delivered"] == 8
    r.xclaim("s", "g", "c", 0, ["2-0"], time=int(time.time() * 1000) - 10_000)
    assert r.xpending_range("s", "g", "2-0", "2-0", 1)[0]["time_since_delivered"] >= 10_000
    r.execute_command("XCLAIM", "s", "g", "c", "0", "2-0", "LASTID", "7-0")
    assert r.xinfo_groups("s")[0]["last-delivered-id"] == b"7-0"
    r.xdel("s", "3-0")
    assert r.xclaim("s", "g", "c", 0, ["3-0"]) == []                # deleted: dropped
    assert r.xpending("s", "g")["pending"] == 2
    assert error_of(lambda: r.execute_command("XCLAIM", "s", "g", "c", "0", "1-0", "FOO")) == (
        "Unrecognized XCLAIM option 'FOO'")
    assert error_of(lambda: r.execute_command("XCLAIM", "s", "g", "c", "x", "1-0")) == (
        "Invalid min-idle-time argument for XCLAIM")


def test_xpending_extended_and_filters(r):
    fill(r, count=4)
    r.xgroup_create("s", "g", "0")
    r.xreadgroup("g", "a", {"s": ">"}, count=1)
    r.xreadgroup("g", "b", {"s": ">"})
    rows = r.xpending_range("s", "g", "-", "+", 10)
    assert [(p["message_id"], p["consumer"], p["times_delivered"]) for p in rows] == [
        (b"1-0", b"a", 1), (b"2-0", b"b", 1), (b"3-0", b"b", 1), (b"4-0", b"b", 1)]
    assert [p["message_id"] for p in r.xpending_range("s", "g", "(1-0", "3", 2)] == [
        b"2-0", b"3-0"]
    assert [p["message_id"] for p in r.xpending_range("s", "g", "-", "+", 10, "a")] == [b"1-0"]
    assert r.xpending_range("s", "g", "-", "+", 10, "nobody") == []
    assert r.xpending_range("s", "g", "-", "+", 10, idle=60_000) == []
    assert error_of(lambda: r.execute_command("XPENDING", "s", "g", "-", "+")) == "syntax error"
    assert error_of(lambda: r.execute_command("XPENDING", "s", "nog")) == (
        "NOGROUP No such key 's' or consumer group 'nog'")


def test_xpending_reply_shapes(wire, protocol):
    wire("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    null = b"$-1\r\n" if protocol == 2 else b"_\r\n"
    null_array = b"*-1\r\n" if protocol == 2 else b"_\r\n"
    assert wire.call("XPENDING", "s", "g") == b"*4\r\n:0\r\n" + null + null + null_array
    wire("XADD", "s", "1-0", "f", "v")
    wire("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">")
    assert wire.call("XPENDING", "s", "g") == (          # the count is a bulk string
        b"*4\r\n:1\r\n$3\r\n1-0\r\n$3\r\n1-0\r\n*1\r\n*2\r\n$1\r\nc\r\n$1\r\n1\r\n")


# -- blocking consumer groups -------------------------------------------------------------------

def test_xreadgroup_block_is_served_by_xadd_in_arrival_order(r, waiting):
    r.xgroup_create("s", "g", "$", mkstream=True)
    first = waiting(lambda c: c.xreadgroup("g", "a", {"s": ">"}, block=0, count=1))
    second = waiting(lambda c: c.xreadgroup("g", "b", {"s": ">"}, block=0, count=1))
    r.xadd("s", {"n": 1}, id="1-0")
    assert entries(first.result()) == {b"s": [(b"1-0", {b"n": b"1"})]}
    assert blocked_clients(r) == 1 and not second.done
    r.xadd("s", {"n": 2}, id="2-0")
    assert entries(second.result()) == {b"s": [(b"2-0", {b"n": b"2"})]}
    owners = [(p["message_id"], p["consumer"]) for p in r.xpending_range("s", "g", "-", "+", 9)]
    assert owners == [(b"1-0", b"a"), (b"2-0", b"b")]


def test_xreadgroup_block_timeout(r, waiting):
    r.xgroup_create("s", "g", "$", mkstream=True)
    started = time.monotonic()
    waiter = waiting(lambda c: c.xreadgroup("g", "a", {"s": ">"}, block=120))
    assert waiter.result() in (None, [], {})
    assert time.monotonic() - started >= 0.119


def test_a_deleted_stream_wakes_xreadgroup(r, waiting, server_version):
    r.xgroup_create("s", "g", "$", mkstream=True)
    waiter = waiting(lambda c: c.xreadgroup("g", "a", {"s": ">"}, block=0))
    r.delete("s")
    message = error_of(waiter.result)
    if server_version >= (7, 2):
        assert message == ("NOGROUP No such key 's' or consumer group 'g' in XREADGROUP with "
                           "GROUP option")
    else:
        assert message == "UNBLOCKED the stream key no longer exists"


def test_a_destroyed_group_wakes_xreadgroup(r, waiting, server_version):
    r.xgroup_create("s", "g", "$", mkstream=True)
    waiter = waiting(lambda c: c.xreadgroup("g", "a", {"s": ">"}, block=0))
    r.xgroup_destroy("s", "g")
    message = error_of(waiter.result)
    if server_version >= (7, 2):
        assert message == ("NOGROUP No such key 's' or consumer group 'g' in XREADGROUP with "
                           "GROUP option")
    else:
        assert message == "NOGROUP the consumer group this client was blocked on no longer exists"


def test_a_flush_wakes_xreadgroup(r, waiting, server_version):
    r.xgroup_create("s", "g", "$", mkstream=True)
    waiter = waiting(lambda c: c.xreadgroup("g", "a", {"s": ">"}, block=0))
    r.flushall()
    message = error_of(waiter.result)
    if server_version >= (7, 2):
        assert message.startswith("NOGROUP No such key 's' or consumer group 'g'")
    else:
        assert message == "UNBLOCKED the stream key no longer exists"


def test_a_stream_turned_into_a_string_fails_xreadgroup(r, waiting, server, server_version):
    needs_strings(server)
    r.xgroup_create("s", "g", "$", mkstream=True)
    waiter = waiting(lambda c: c.xreadgroup("g", "a", {"s": ">"}, block=0))
    r.set("s", "x")
    message = error_of(waiter.result)
    if server_version >= (7, 2):                        # 7.2 runs the command again
        assert message.startswith("WRONGTYPE")
    else:
        assert message == "UNBLOCKED the stream key no longer exists"


# -- a pipeline of XADDs ----------------------------------------------------------------------
#
# We serve a pipeline's run of `XADD key *` on one key at once (xadd_run in
# commands/streams.py). Nothing a client can see may tell it from one XADD at a time.

def pipelined(r, *commands) -> list:
    with r.pipeline(transaction=False) as pipe:
        for command in commands:
            pipe.execute_command(*command)
        return pipe.execute(raise_on_error=False)


def xadds(count: int, key: str = "s") -> list:
    return [("XADD", key, "*", "n", i) for i in range(count)]


def test_a_pipeline_of_xadds_adds_every_entry_in_order(r):
    replies = pipelined(r, *xadds(50))
    ids = [tuple(map(int, reply.split(b"-"))) for reply in replies]
    assert ids == sorted(set(ids)) and len(ids) == 50
    assert [fields for _, fields in r.xrange("s")] == [{b"n": b"%d" % i} for i in range(50)]
    info = r.xinfo_stream("s")
    assert (info["length"], info["entries-added"], info["last-generated-id"]) == (
        50, 50, replies[-1])


def test_a_pipeline_mixing_xadds_of_every_form(r):
    future = "9999999999999"
    replies = pipelined(r, ("XADD", "s", "*", "a", 1), ("XADD", "t", "*", "x", 1),
                        ("XADD", "s", f"{future}-1", "d", 4), ("XADD", "s", "*", "e", 5),
                        ("XLEN", "s"), ("XADD", "s", "MAXLEN", 2, "*", "f", 6),
                        ("XADD", "s", "*", "odd"), ("XADD", "s", "*", "g", 7, "h", 8))
    assert replies[2:6] == [f"{future}-1".encode(), f"{future}-2".encode(), 3,
                            f"{future}-3".encode()]
    assert "wrong number of arguments" in str(replies[6])
    assert replies[7] == f"{future}-4".encode()
    assert [fields for _, fields in r.xrange("s")] == [
        {b"e": b"5"}, {b"f": b"6"}, {b"g": b"7", b"h": b"8"}]
    assert r.xlen("t") == 1


def test_a_pipeline_of_xadds_on_a_string_is_refused_call_by_call(r, server):
    needs_strings(server)
    r.set("s", "text")
    replies = pipelined(r, *xadds(3))
    assert all(str(reply).startswith("WRONGTYPE") for reply in replies)


def test_a_pipeline_of_xadds_past_the_last_possible_id(r):
    r.xadd("s", {"a": 1}, id="18446744073709551615-18446744073709551614")
    replies = pipelined(r, *xadds(3))
    assert replies[0] == b"18446744073709551615-18446744073709551615"
    assert all("exhausted the last possible ID" in str(reply) for reply in replies[1:])
    assert r.xlen("s") == 2


def test_a_waiting_reader_is_served_after_the_first_xadd_of_a_pipeline(r, waiting):
    fill(r, count=1)
    waiter = waiting(lambda c: c.xread({"s": "$"}, block=0))
    pipelined(r, *xadds(4))
    [(_, fields)] = entries(waiter.result())[b"s"]
    assert fields == {b"n": b"0"}


def test_each_xadd_of_a_pipeline_is_an_event(r, events):
    collect = events("KEt")
    pipelined(r, *xadds(3))
    assert collect() == both(("xadd", "s"), ("xadd", "s"), ("xadd", "s"))


def test_a_pipeline_of_xadds_counts_every_access_for_lfu(r, server):
    if server.kind == "fromscratch-pubsub":
        pytest.skip("the pub/sub server has no OBJECT")
    r.config_set("maxmemory-policy", "allkeys-lfu")
    r.config_set("lfu-log-factor", 0)                 # every access counts one
    try:
        pipelined(r, *xadds(10, "s"))
        for command in xadds(10, "t"):
            r.execute_command(*command)
        assert r.object("freq", "s") == r.object("freq", "t") > 5
    finally:
        r.config_set("lfu-log-factor", 10)


# -- introspection ----------------------------------------------------------------------------

def test_xinfo_stream(r):
    fill(r, count=3)
    r.xgroup_create("s", "g", "0")
    info = r.xinfo_stream("s")
    assert {k: info[k] for k in ("length", "last-generated-id", "max-deleted-entry-id",
                                  "entries-added", "recorded-first-entry-id", "groups")} == {
        "length": 3, "last-generated-id": b"3-0", "max-deleted-entry-id": b"0-0",
        "entries-added": 3, "recorded-first-entry-id": b"1-0", "groups": 1}
    assert info["first-entry"] == (b"1-0", {b"n": b"1"})
    assert info["last-entry"] == (b"3-0", {b"n": b"3"})
    assert info["radix-tree-keys"] >= 1 and info["radix-tree-nodes"] >= 1


def test_xinfo_stream_full(r, server_version):
    fill(r, count=3)
    r.xgroup_create("s", "g", "0")
    r.xreadgroup("g", "c", {"s": ">"}, count=2)
    before = int(time.time() * 1000)
    full = r.xinfo_stream("s", full=True)
    assert list(full["entries"]) == [b"1-0", b"2-0", b"3-0"]
    group = full["groups"][0]
    assert {k: group[k] for k in ("name", "last-delivered-id", "entries-read", "lag",
                                   "pel-count")} == {
        "name": b"g", "last-delivered-id": b"2-0", "entries-read": 2, "lag": 1, "pel-count": 2}
    assert [(p[0], p[1], p[3]) for p in group["pending"]] == [(b"1-0", b"c", 1), (b"2-0", b"c", 1)]
    assert all(abs(p[2] - before) < 60_000 for p in group["pending"])
    consumer = {(k.decode() if isinstance(k, bytes) else k): v
                for k, v in group["consumers"][0].items()}
    assert consumer["name"] == b"c" and consumer["pel-count"] == 2
    assert [p[0] for p in consumer["pending"]] == [b"1-0", b"2-0"]
    expected = {"name", "seen-time", "pel-count", "pending"}
    if server_version >= (7, 2):
        expected.add("active-time")
    assert set(consumer) == expected
    counted = r.execute_command("XINFO", "STREAM", "s", "FULL", "COUNT", "1")
    counted = dict(zip(counted[::2], counted[1::2])) if isinstance(counted, list) else counted
    assert len(counted[b"entries"]) == 1


def test_xinfo_consumers(r, server_version):
    r.xgroup_create("s", "g", "$", mkstream=True)
    r.xgroup_createconsumer("s", "g", "idle")
    fill(r, count=1)
    r.xreadgroup("g", "busy", {"s": ">"})
    consumers = r.xinfo_consumers("s", "g")
    assert [(c["name"], c["pending"]) for c in consumers] == [(b"busy", 1), (b"idle", 0)]
    assert all(0 <= c["idle"] < 60_000 for c in consumers)
    if server_version >= (7, 2):
        assert consumers[1]["inactive"] == -1 and 0 <= consumers[0]["inactive"] < 60_000
    else:
        assert "inactive" not in consumers[0]


def test_xinfo_reply_shapes(wire, protocol):
    wire("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    reply = wire.call("XINFO", "GROUPS", "s")
    opening = b"*1\r\n*12\r\n" if protocol == 2 else b"*1\r\n%6\r\n"
    null = b"$-1\r\n" if protocol == 2 else b"_\r\n"
    assert reply == opening + (b"$4\r\nname\r\n$1\r\ng\r\n$9\r\nconsumers\r\n:0\r\n"
                               b"$7\r\npending\r\n:0\r\n$17\r\nlast-delivered-id\r\n$3\r\n0-0\r\n"
                               b"$12\r\nentries-read\r\n" + null + b"$3\r\nlag\r\n:0\r\n")


# -- streams as keys --------------------------------------------------------------------------

def test_a_stream_is_a_key_like_any_other(r):
    fill(r, count=2)
    r.xgroup_create("s", "g", "0")
    assert r.type("s") == b"stream"
    assert r.scan(0, _type="stream")[1] == [b"s"]
    assert r.expire("s", 100) is True and 0 < r.ttl("s") <= 100
    assert r.delete("s") == 1 and r.exists("s") == 0


def test_copy_and_rename_keep_groups(r, server):
    needs_strings(server)
    fill(r, count=2)
    r.xgroup_create("s", "g", "0")
    r.xreadgroup("g", "c", {"s": ">"})
    assert r.copy("s", "t") is True
    r.xack("s", "g", "1-0")
    assert r.xpending("t", "g")["pending"] == 2 and r.xpending("s", "g")["pending"] == 1
    r.rename("t", "u")
    assert r.xinfo_groups("u")[0]["pending"] == 2
    assert r.object("encoding", "u") == b"stream"


def test_command_getkeys_for_stream_reads(r):
    assert call_raw(r, "COMMAND", "GETKEYS", "XREAD", "COUNT", "2", "STREAMS", "a", "b", "0",
                    "0") == [b"a", b"b"]
    assert call_raw(r, "COMMAND", "GETKEYS", "XREADGROUP", "GROUP", "g", "c", "STREAMS", "a",
                    ">") == [b"a"]


def test_watch_sees_entries_but_not_group_bookkeeping(r, other):
    fill(r, count=2)
    r.xgroup_create("s", "g", "0")
    for change, aborts in ((lambda: other.xreadgroup("g", "c", {"s": ">"}), False),
                           (lambda: other.xack("s", "g", "1-0"), False),
                           (lambda: other.xgroup_setid("s", "g", "0"), False),
                           (lambda: other.xadd("s", {"n": 3}, id="3-0"), True),
                           (lambda: other.xdel("s", "3-0"), True)):
        with r.pipeline() as pipe:
            pipe.watch("s")
            change()
            pipe.multi()
            pipe.ping()
            if aborts:
                with pytest.raises(redis.WatchError):
                    pipe.execute()
            else:
                assert pipe.execute() == [True]


def test_an_expiring_stream_wakes_xreadgroup(r, waiting, server_version):
    r.xgroup_create("s", "g", "$", mkstream=True)
    waiter = waiting(lambda c: c.xreadgroup("g", "a", {"s": ">"}, block=0))
    r.pexpire("s", 50)                      # gone by the active expiry cycle, unasked
    message = error_of(waiter.result)
    if server_version >= (7, 2):
        assert message.startswith("NOGROUP No such key 's' or consumer group 'g'")
    else:
        assert message == "UNBLOCKED the stream key no longer exists"


def test_the_pubsub_server_keeps_its_streams_across_a_shutdown(tmp_path):
    """The standalone pub/sub server's streams are durable as the key-value server's: SAVE
    and LASTSAVE, and SHUTDOWN saves (there are save points) what the restart loads,
    consumer groups and pending entries included."""
    server = start_kvdb(str(tmp_path), "--save", "3600 1", command="pubsub")
    try:
        client = redis.Redis(port=server.port)
        before = client.lastsave()
        client.xadd("jobs", {"n": 1}, id="1-0")
        client.xgroup_create("jobs", "workers", "0")
        client.xreadgroup("workers", "w1", {"jobs": ">"})
        assert client.save() is True and client.lastsave() >= before
        client.xadd("jobs", {"n": 2}, id="2-0")
        client.shutdown()                       # (redis-py expects the connection to drop)
        assert server.process.wait(10) == 0
    finally:
        server.stop()
    server = start_kvdb(str(tmp_path), command="pubsub")
    try:
        client = redis.Redis(port=server.port)
        assert client.xlen("jobs") == 2
        assert client.xpending("jobs", "workers")["pending"] == 1
    finally:
        server.stop()
