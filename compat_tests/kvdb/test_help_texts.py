"""<CONTAINER> HELP answers with Redis 7.2's texts, line for line.

The reference server is Redis 7.0, whose texts are 7.2's but for two differences, the
only ones: 7.0's last line reads "Prints this help." where 7.2 says "Print this help.",
and 7.2 added the lines of CLIENT SETINFO and CLIENT NO-TOUCH. The comparisons below
undo exactly those two differences on both sides (`comparable`), so they hold against
either server; what 7.2 added is checked on its own, against the server's version.
"""

from __future__ import annotations

import pytest

from fromscratch.kvdb import commands  # noqa: F401  (fills the command table)
from fromscratch.kvdb.help_texts import HELP_TEXTS
from fromscratch.kvdb.table import TABLE

from .conftest import call_raw, connect

# Every container but CLUSTER, which Redis answers (HELP too) with "cluster support
# disabled" when not in cluster mode, and DEBUG, compared on its own below.
CONTAINERS = ["acl", "client", "command", "config", "function", "latency", "memory",
              "module", "object", "pubsub", "script", "slowlog", "xgroup", "xinfo"]

# The lines Redis 7.2 added to 7.0's texts: (container, subcommand).
ADDED_IN_7_2 = {("client", "SETINFO"), ("client", "NO-TOUCH")}

# The DEBUG subcommands Redis has and we do not: their lines are left out of our help.
DEBUG_LEFT_OUT = {
    "CHANGE-REPL-ID", "CRASH-AND-RECOVER", "LEAK", "HTSTATS", "HTSTATS-KEY", "MALLCTL",
    "MALLCTL-STR", "DROP-CLUSTER-PACKET-FILTER", "OOM", "RESTART", "SDSLEN",
    "STRINGMATCH-TEST", "STRUCTSIZE", "LISTPACK", "QUICKLIST", "CLIENT-EVICTION",
    "CLUSTERLINK"}

# Subcommands of ours that Redis's help does not mention.
UNLISTED = {"debug": {"set-disable-deny-scripts"}}


@pytest.fixture(scope="module")
def reference(redis_server):
    """A client of the reference redis-server, whatever server the test runs against."""
    client = connect(redis_server)
    yield client
    client.close()


def help_lines(client, container: str) -> list[str]:
    # call_raw: redis-py would parse COMMAND HELP's reply as COMMAND INFO's.
    return [line.decode() if isinstance(line, bytes) else line
            for line in call_raw(client, container.upper(), "HELP")]


def blocks(lines: list[str]) -> list[list[str]]:
    """The lines grouped by subcommand: its syntax line, then the indented lines."""
    grouped: list[list[str]] = []
    for line in lines:
        if line.startswith(" ") and grouped:
            grouped[-1].append(line)
        else:
            grouped.append([line])
    return grouped


def head_word(block: list[str]) -> str:
    return block[0].split()[0]


def comparable(container: str, lines: list[str]) -> list[list[str]]:
    """The blocks of a HELP reply, with 7.0's and 7.2's known differences undone."""
    lines = ["    Print this help." if line == "    Prints this help." else line
             for line in lines]
    return [block for block in blocks(lines)
            if (container, head_word(block)) not in ADDED_IN_7_2]


@pytest.mark.parametrize("container", CONTAINERS)
def test_help_is_the_reference_text(r, reference, container):
    assert comparable(container, help_lines(r, container)) == \
        comparable(container, help_lines(reference, container))


def test_debug_help_is_the_reference_text_less_what_we_lack(r, reference, is_reference):
    ours = comparable("debug", help_lines(r, "debug"))
    left_out = set() if is_reference else DEBUG_LEFT_OUT
    expected = [block for block in comparable("debug", help_lines(reference, "debug"))
                if head_word(block) not in left_out]
    assert ours == expected
    assert ours[0] == ["DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"]
    assert ["SLEEP <seconds>", "    Stop the server for <seconds>. Decimals allowed."] in ours


def test_client_help_has_what_7_2_added(r, server_version):
    lines = help_lines(r, "client")
    if server_version < (7, 2):
        assert "SETINFO <option> <value>" not in lines
        return
    setname = lines.index("SETNAME <name>")
    assert lines[setname + 2:setname + 6] == [
        "SETINFO <option> <value>",
        "    Set client meta attr. Options are:",
        "    * LIB-NAME: the client lib name.",
        "    * LIB-VER: the client lib version."]
    no_evict = lines.index("NO-EVICT (ON|OFF)")
    assert lines[no_evict + 2:] == [
        "NO-TOUCH (ON|OFF)",
        "    Will not touch LRU/LFU stats when this mode is on.",
        "HELP",
        "    Print this help."]


def last_line(server_version) -> str:
    return "    Print this help." if server_version >= (7, 2) else "    Prints this help."


def test_pubsub_help_word_for_word(r, server_version):
    # As fakeredis's tests expect it of Redis 7.1 and later.
    assert help_lines(r, "pubsub") == [
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> "
        "(default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        "HELP",
        last_line(server_version)]


def test_script_help_word_for_word(r, server_version):
    assert help_lines(r, "script") == [
        "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DEBUG (YES|SYNC|NO)",
        "    Set the debug mode for subsequent scripts executed.",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache. Very dangerous on replicas.",
        "    When called without the optional mode argument, the behavior is determined "
        "by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the scripts cache.",
        "    * SYNC: Synchronously flush the scripts cache.",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
        "HELP",
        last_line(server_version)]


def test_function_help_names_load_and_restore_as_redis_does(r):
    lines = help_lines(r, "function")
    assert "LOAD [REPLACE] <FUNCTION CODE>" in lines
    assert "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]" in lines
    assert lines.index("    Create a new library with the given library name and code.") == \
        lines.index("LOAD [REPLACE] <FUNCTION CODE>") + 1


def test_the_pubsub_server_answers_the_same(pubsub_server):
    client = connect(pubsub_server)
    try:
        lines = help_lines(client, "pubsub")
    finally:
        client.close()
    assert lines[1:-2] == HELP_TEXTS["pubsub"]
    assert lines[-1] == "    Print this help."


# -- The texts against our command table (no server) ------------------------------------

def containers() -> list[str]:
    return sorted(cmd.name for cmd in TABLE if "help" in cmd.subcommands)


def test_every_container_but_cluster_has_redis_text():
    assert set(containers()) - set(HELP_TEXTS) == {"cluster"}
    assert set(HELP_TEXTS) <= set(containers())


@pytest.mark.parametrize("container", sorted(HELP_TEXTS))
def test_the_text_names_exactly_our_subcommands(container):
    named = {head_word(block).lower() for block in blocks(HELP_TEXTS[container])}
    named.discard("(no")        # COMMAND's "(no subcommand)": COMMAND called alone
    ours = set(TABLE.commands[container].subcommands) - {"help"}
    assert named == ours - UNLISTED.get(container, set())
    for block in blocks(HELP_TEXTS[container]):
        assert not block[0].startswith(" ")
        assert all(line == line.rstrip() for line in block)


def test_debug_text_leaves_out_only_what_we_lack():
    ours = {name.upper() for name in TABLE.commands["debug"].subcommands}
    assert not ours & DEBUG_LEFT_OUT


def test_cluster_help_says_cluster_support_is_disabled(r):
    with pytest.raises(Exception, match="^This instance has cluster support disabled$"):
        call_raw(r, "CLUSTER", "HELP")
