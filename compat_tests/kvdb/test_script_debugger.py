"""The Lua debugger (SCRIPT DEBUG YES|SYNC|NO, Redis's LDB), on the wire and through
`redis-cli --ldb`: where a script stops, each debugger command's log word for word,
the logging of redis.call while stepping, redis.debug() and redis.breakpoint(), the end
of a session, and what becomes of the script's writes in each mode."""

from __future__ import annotations

import hashlib
import re
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from compat_tests.servers import missing_reference
from fromscratch.resp import INCOMPLETE, ReplyReader, encode_command

from .conftest import Wire, connect


def sha(script: str) -> str:
    return hashlib.sha1(script.encode()).hexdigest()


class Session(Wire):
    """A debugging client on a bare socket: SCRIPT DEBUG `mode`, then EVAL, then
    debugger commands, each answered by an array of status lines (returned as a list
    of str)."""

    def __init__(self, server, mode: str = "SYNC"):
        super().__init__(server, protocol=2)
        assert self.command("SCRIPT", "DEBUG", mode) == "OK"

    command = Wire.__call__          # (reads better in these tests)

    def logs(self, *args) -> list[str]:
        """Send a debugger command (or EVAL), read the log it gets."""
        return [str(line) for line in self.command(*args)]

    def eval(self, script: str, keys=(), args=()) -> list[str]:
        return self.logs("EVAL", script, len(keys), *keys, *args)

    def closed(self) -> bool:
        """Whether the server closed the connection (after the session's reply)."""
        self.sock.settimeout(5)
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True


@pytest.fixture
def session(server):
    """Debugging sessions opened by the test (SYNC unless told), closed after it."""
    connect(server).flushall()
    opened = []

    def open_session(mode: str = "SYNC") -> Session:
        opened.append(Session(server, mode))
        return opened[-1]

    yield open_session
    for each in opened:
        each.close()


def stop(line: int, source: str, reason: str = "step over", marker: str = "-> ") -> list:
    return [f"* Stopped at {line}, stop reason = {reason}", f"{marker}{line:<3} {source}"]


SCRIPT = """local a = 1
local t = {1, 2, {x = "y"}}
redis.call('set', KEYS[1], ARGV[1])
local b = a + 1
return b"""


# -- stopping and going on ------------------------------------------------------------------

def test_first_stop_step_next_and_the_end_of_the_session(session):
    debug = session()
    assert debug.eval(SCRIPT, ["k"], ["v"]) == stop(1, "local a = 1")
    assert debug.logs("s") == stop(2, 'local t = {1, 2, {x = "y"}}')
    assert debug.logs("next") == stop(3, "redis.call('set', KEYS[1], ARGV[1])")
    # While stepping, the commands the script runs are logged with their replies.
    assert debug.logs("step") == ["<redis> set k v", '<reply> "+OK"',
                                  *stop(4, "local b = a + 1")]
    assert debug.logs("c") == ["<endsession>"]
    assert debug.read() == 2                           # then EVAL's own reply
    assert debug.closed()                              # and the connection ends


def test_continue_runs_to_a_breakpoint_without_logging_calls(session):
    debug = session()
    debug.eval(SCRIPT, ["k"], ["v"])
    assert debug.logs("b", "4") == ["   3   redis.call('set', KEYS[1], ARGV[1])",
                                    "  #4   local b = a + 1", "   5   return b"]
    assert debug.logs("continue") == stop(4, "local b = a + 1", "break point", "->#")
    assert debug.logs("c") == ["<endsession>"]
    assert debug.read() == 2


def test_breakpoints_listed_added_and_removed(session):
    debug = session()
    debug.eval(SCRIPT, ["k"], ["v"])
    assert debug.logs("b") == ["No breakpoints set. Use 'b <line>' to add one."]
    assert debug.logs("break", "2", "5")[-1] == "  #5   return b"
    assert debug.logs("b") == ["2 breakpoints set:", '  #2   local t = {1, 2, {x = "y"}}',
                               "  #5   return b"]
    assert debug.logs("b", "2") == ["Wrong line number."]          # set already
    assert debug.logs("b", "99") == ["Wrong line number."]
    assert debug.logs("b", "x") == ["Invalid argument:'x'"]
    assert debug.logs("b", "-5") == ["Breakpoint removed."]
    assert debug.logs("b", "-5") == ["No breakpoint in the specified line."]
    assert debug.logs("b", "0") == ["All breakpoints removed."]
    assert debug.logs("b") == ["No breakpoints set. Use 'b <line>' to add one."]
    assert debug.logs("c") == ["<endsession>"]


def test_loops_stop_where_lua_reports_lines(session):
    script = """local function f(x)
  local y = x * 2
  return y
end
for i = 1, 2 do
  f(i)
end
local n = 0
while n < 1 do
  n = n + 1
end
repeat
  n = n - 1
until n == 0
return n"""
    debug = session()
    lines = [int(re.match(r"\* Stopped at (\d+)", debug.eval(script)[0]).group(1))]
    while True:
        logs = debug.logs("s")
        if logs == ["<endsession>"]:
            break
        lines.append(int(re.match(r"\* Stopped at (\d+)", logs[0]).group(1)))
    assert lines == [4, 5, 6, 2, 3, 5, 6, 2, 3, 5, 8, 9, 10, 9, 13, 14, 15]
    assert debug.read() == 0


def test_lines_of_functions_tables_and_calls_spread_over_lines(session):
    # Where Lua 5.1 reports lines: a local function's `end` (its closure), each line
    # of a table constructor or of a call's arguments, then the call's own line.
    script = """local function f(x)
  local y = x * 2
  return y
end
local t = {
  a = 1,
  b = f(2)
}
for k, v in pairs({10}) do
  redis.call('ping')
end
if #t == 0 then
  t = nil
else
  t = 1
end
do
  local z = 1
end
redis.call('set',
  'a', 'b')
return f(3)"""
    debug = session()
    lines = [int(re.match(r"\* Stopped at (\d+)", debug.eval(script)[0]).group(1))]
    while True:
        logs = debug.logs("s")
        if logs == ["<endsession>"]:
            break
        lines.append(int(re.match(r"\* Stopped at (\d+)", logs[-2]).group(1)))
    assert lines == [4, 5, 6, 7, 2, 3, 9, 10, 9, 12, 13, 18, 20, 21, 20, 22, 2, 3]
    assert debug.read() == 6


def test_a_script_running_too_long_is_stopped(session, server):
    client = connect(server)
    client.config_set("busy-reply-threshold", 200)
    try:
        debug = session()
        debug.eval("local i = 0\nwhile true do\n  i = i + 1\nend")
        assert debug.logs("c") == stop(3, "  i = i + 1", "timeout reached, infinite loop?")
        assert debug.logs("a") == ["<endsession>"]
        assert debug.read().message.startswith("ERR script aborted for user request script:")
    finally:
        client.config_set("busy-reply-threshold", 5000)


# -- looking at the script --------------------------------------------------------------------

def test_list_and_whole(session):
    source = "\n".join(f"local v{i} = {i}" for i in range(1, 13)) + "\nreturn v1\n"
    debug = session()
    debug.eval(source)
    for _ in range(7):
        debug.logs("s")
    around_8 = [f"{'-> ' if i == 8 else '   '}{i:<3} local v{i} = {i}" for i in range(3, 13)]
    assert debug.logs("list") == around_8 + ["   13  return v1"]
    assert debug.logs("l", "2", "1") == ["   1   local v1 = 1", "   2   local v2 = 2",
                                         "   3   local v3 = 3"]
    whole = debug.logs("w")
    assert len(whole) == 13 and whole[7] == "-> 8   local v8 = 8"
    assert debug.logs("l", "0", "0") == ["-> 8   local v8 = 8"]          # 0: where it is


def test_print_locals_and_variables(session):
    script = """local a = 1
local s = "two\\n"
local t = {1, {x = "y"}, true}
local u = {k = {1, {2}}}
return a"""
    debug = session()
    debug.eval(script, ["key1"], ["arg1", "arg2"])
    assert debug.logs("p") == ["No local variables in the current context."]
    for _ in range(4):
        debug.logs("s")
    assert debug.logs("print") == [
        "<value> a = 1", '<value> s = "two\\n"', '<value> t = {1; {["x"]="y"}; true}',
        '<value> u = {["k"]={1; {2}}}']
    assert debug.logs("p", "t") == ['<value> {1; {["x"]="y"}; true}']
    assert debug.logs("p", "KEYS") == ['<value> {"key1"}']
    assert debug.logs("p", "ARGV") == ['<value> {"arg1"; "arg2"}']
    assert debug.logs("p", "nothere") == ["No such variable."]
    assert debug.logs("c") == ["<endsession>"]


def test_print_in_a_loop_shows_its_hidden_state(session):
    debug = session()
    debug.eval("local x = 0\nfor i = 1, 3 do\n  x = x + i\nend\nreturn x")
    debug.logs("s")
    debug.logs("s")
    assert debug.logs("p") == ["<value> x = 0", "<value> (for index) = 1",
                               "<value> (for limit) = 3", "<value> (for step) = 1",
                               "<value> i = 1"]
    assert debug.logs("c") == ["<endsession>"]
    assert debug.read() == 6


def test_trace_in_a_function(session):
    script = """local function f()
  return 1
end
local x = f()
return x"""
    debug = session()
    debug.eval(script)
    debug.logs("s")
    assert debug.logs("s") == stop(2, "  return 1")
    assert debug.logs("t") == ["In f:", "-> 2     return 1", "From top level:",
                               "   4   local x = f()"]
    assert debug.logs("c") == ["<endsession>"]


def test_eval(session):
    debug = session()
    debug.eval("local a = 1\nreturn a")
    assert debug.logs("e", "1", "+", "1") == ["<retval> 2"]
    assert debug.logs("eval", "{a=1}") == ['<retval> {["a"]=1}']
    assert debug.logs("e", "error('boom')") == ["<error> ldb_eval:1: boom"]
    assert debug.logs("e", "redis.call('ping')") == ['<retval> {["ok"]="PONG"}']
    assert debug.logs("c") == ["<endsession>"]


def test_redis_command_logs_each_kind_of_reply(session):
    debug = session()
    debug.eval("return 1")
    assert debug.logs("r", "set", "k", "v") == ["<redis> set k v", '<reply> "+OK"']
    assert debug.logs("r", "get", "k") == ["<redis> get k", '<reply> "v"']
    assert debug.logs("r", "get", "missing") == ["<redis> get missing", "<reply> NULL"]
    assert debug.logs("redis", "incr", "k") == [
        "<redis> incr k", "<error> -ERR value is not an integer or out of range",
        '<reply> "-ERR value is not an integer or out of range"']
    assert debug.logs("r", "rpush", "l", "a", "b") == ["<redis> rpush l a b", "<reply> 2"]
    assert debug.logs("r", "xadd", "s", "1-1", "f", "v") == ["<redis> xadd s 1-1 f v",
                                                            '<reply> "1-1"']
    assert debug.logs("r", "xrange", "s", "-", "+") == [
        "<redis> xrange s - +", '<reply> [["1-1",["f","v"]]]']
    assert debug.logs("r", "mget", "k", "missing") == ["<redis> mget k missing",
                                                       '<reply> ["v",NULL]']
    assert debug.logs("r", "nosuchcommand") == [
        "<redis> nosuchcommand", "<error> Unknown Redis command called from script"]
    assert debug.logs("r", "set", "k") == [
        "<redis> set k", "<error> Wrong number of args calling Redis command from script"]
    assert debug.logs("r", "del", *"abcdefghijkl") == [
        "<redis> del a b c d e f g h i ... (2 more)", "<reply> 2"]
    assert debug.logs("c") == ["<endsession>"]


def test_maxlen_trims_replies_and_values_with_a_hint(session):
    debug = session()
    debug.eval("local s = string.rep('x', 300)\nreturn 1")
    debug.logs("s")
    assert debug.logs("maxlen") == ["<value> replies are truncated at 256 bytes."]
    assert debug.logs("p") == ["<value> s = \"" + "x" * 243 + " ...",
                               "<hint> The above reply was trimmed. Use 'maxlen 0' to disable "
                               "trimming."]
    assert debug.logs("p", "s") == ["<value> \"" + "x" * 247 + " ..."]        # one hint
    assert debug.logs("m", "10") == ["<value> replies are truncated at 60 bytes."]
    assert debug.logs("r", "get", "nothere") == ["<redis> get nothere", "<reply> NULL"]
    assert debug.logs("m", "0") == ["<value> replies are unlimited."]
    assert debug.logs("p", "s") == ["<value> \"" + "x" * 300 + "\""]
    assert debug.logs("c") == ["<endsession>"]


def test_help_and_an_unknown_command(session):
    debug = session()
    debug.eval("return 1")
    help_lines = debug.logs("h")
    assert help_lines[0] == "Redis Lua debugger help:"
    assert help_lines[-1] == "                     next line of code."
    assert len(help_lines) == 30 and debug.logs("help") == help_lines
    assert debug.logs("frobnicate") == [
        "<error> Unknown Redis Lua debugger command or wrong number of arguments."]
    assert debug.logs("r") == [
        "<error> Unknown Redis Lua debugger command or wrong number of arguments."]
    assert debug.logs("c") == ["<endsession>"]


def test_redis_debug_and_redis_breakpoint(session):
    script = """redis.debug('x', 1, {2, 'y'})
redis.breakpoint()
local a = 1
redis.debug()
return a"""
    debug = session()
    debug.eval(script)
    assert debug.logs("c") == ['<debug> line 1: "x", 1, {2; "y"}',
                               *stop(3, "local a = 1", "redis.breakpoint() called")]
    assert debug.logs("c") == ["<debug> line 4: ", "<endsession>"]
    assert debug.read() == 1


def test_abort_keeps_the_writes_in_sync_mode(session, server):
    script = "redis.call('set', 'k', 'v')\nreturn 1"
    debug = session()
    debug.eval(script)
    debug.logs("s")
    assert debug.logs("abort") == ["<endsession>"]
    error = debug.read()
    assert error.message == ("ERR script aborted for user request script: "
                             f"{sha(script)}, on @user_script:2.")
    assert debug.closed()
    assert connect(server).get("k") == b"v"


def test_script_errors_end_the_session(session):
    debug = session()
    assert debug.eval("return +") == ["<endsession>"]      # it never runs
    assert debug.read().message.startswith("ERR Error compiling script")


# -- the two modes ----------------------------------------------------------------------------

def test_sync_keeps_the_writes_yes_rolls_them_back(session, server):
    other = connect(server)
    script = "redis.call('set', KEYS[1], 'changed')\nreturn 1"
    for mode, expected in (("SYNC", b"changed"), ("YES", None)):
        debug = session(mode)
        debug.eval(script, [mode])
        assert debug.logs("c") == ["<endsession>"]
        assert debug.read() == 1
        assert debug.closed()
        for _ in range(50):             # (the forked session's child may still be exiting)
            if other.get(mode) == expected:
                break
            time.sleep(0.02)
        assert other.get(mode) == expected


def test_forked_session_leaves_the_server_serving(session, server):
    debug = session("YES")
    debug.eval("redis.call('set', 'k', 'v')\nreturn 1")
    other = connect(server)
    assert other.ping() is True                     # while the session is stopped
    other.set("mine", "1")
    assert debug.logs("r", "get", "mine") == ["<redis> get mine", "<reply> NULL"]
    assert debug.logs("c") == ["<endsession>"]
    assert debug.read() == 1
    assert other.get("mine") == b"1"


def test_a_forked_session_says_nothing_to_the_servers_other_clients(session, server):
    """What the script in a forked session publishes, the clients its push would wake
    and the monitors its commands would be shown to are the child's copies: nothing
    reaches the server's real clients, whose connections go on (the child shares
    their sockets, and must leave them alone)."""
    monitor = socket.create_connection((server.host, server.port), timeout=10)
    monitor.sendall(encode_command(["MONITOR"]))
    assert monitor.recv(100) == b"+OK\r\n"
    listener = connect(server).pubsub()
    listener.subscribe("news")
    assert listener.get_message(timeout=5)["type"] == "subscribe"
    waiter = socket.create_connection((server.host, server.port), timeout=10)
    waiter.sendall(encode_command(["BLPOP", "queue", "0"]))
    other = connect(server)
    for _ in range(100):
        if other.info("clients")["blocked_clients"] == 1:
            break
        time.sleep(0.02)
    debug = session("YES")
    debug.eval("redis.call('publish', 'news', 'from the child')\n"
               "redis.call('rpush', 'queue', 'from the child')\nreturn 1")
    assert debug.logs("c") == ["<endsession>"]
    assert debug.read() == 1
    assert listener.get_message(timeout=0.5) is None
    waiter.settimeout(0.5)
    with pytest.raises(socket.timeout):
        waiter.recv(100)
    other.publish("news", "from the server")
    assert listener.get_message(timeout=5)["data"] == b"from the server"
    other.rpush("queue", "from the server")
    waiter.settimeout(5)
    assert waiter.recv(100) == b"*2\r\n$5\r\nqueue\r\n$15\r\nfrom the server\r\n"
    waiter.close()
    listener.close()
    seen = b""
    monitor.settimeout(0.5)
    try:
        while True:
            seen += monitor.recv(65536)
    except socket.timeout:
        pass
    monitor.close()
    assert b'"from the server"' in seen
    assert b" lua] " not in seen                # the script's own commands: never shown


def test_evalsha_refused_while_debugging(session):
    debug = session()
    assert debug.command("SCRIPT", "LOAD", "return 1") == sha("return 1").encode()
    assert debug.command("EVALSHA", sha("return 1"), 0).message == \
        "ERR Please use EVAL instead of EVALSHA for debugging"
    assert debug.command("EVALSHA", "abc", 0).message.startswith("NOSCRIPT")
    assert debug.command("SCRIPT", "DEBUG", "NO") == "OK"
    assert debug.command("EVALSHA", sha("return 1"), 0) == 1       # no session: answered


def test_script_debug_arguments_pipelines_and_transactions(server):
    client = connect(server)
    with pytest.raises(Exception, match="Use SCRIPT DEBUG YES/SYNC/NO"):
        client.execute_command("SCRIPT", "DEBUG", "MAYBE")
    with pytest.raises(Exception, match="wrong number of arguments for 'script|debug'"):
        client.execute_command("SCRIPT", "DEBUG")
    pipe = client.pipeline(transaction=True)
    pipe.execute_command("SCRIPT", "DEBUG", "YES")
    result = pipe.execute(raise_on_error=False)
    assert "SCRIPT DEBUG must be called outside a pipeline" in str(result[0])
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(b"PING\r\nSCRIPT DEBUG YES\r\n")
        data = b""
        while data.count(b"\r\n") < 2:
            data += sock.recv(1024)
    assert data == b"+PONG\r\n-ERR SCRIPT DEBUG must be called outside a pipeline\r\n"


def test_script_debug_is_declared_as_in_redis(server):
    client = connect(server)
    info = client.execute_command("COMMAND", "INFO", "script|debug")
    entry = info["script|debug"] if isinstance(info, dict) else info[0]
    if isinstance(entry, dict):
        assert entry["arity"] == 3 and entry["flags"] == ["noscript"]
    else:
        assert entry[1] == 3 and [flag.decode() if isinstance(flag, bytes) else flag
                                  for flag in entry[2]] == ["noscript"]
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(encode_command(["COMMAND", "DOCS", "script|debug"]))
        reader = ReplyReader()
        while (docs := reader.get()) is INCOMPLETE:
            reader.feed(sock.recv(65536))
    assert docs == [b"script|debug", [
        b"summary", b"Set the debug mode for executed scripts.", b"since", b"3.2.0",
        b"group", b"scripting", b"complexity", b"O(1)", b"arguments", [
            [b"name", b"mode", b"type", b"oneof", b"arguments", [
                [b"name", name.lower(), b"type", b"pure-token", b"token", name]
                for name in (b"YES", b"SYNC", b"NO")]]]]]


# -- redis-cli --ldb -------------------------------------------------------------------------

def run_cli(server, *options, script: str, commands: str) -> list[str]:
    """redis-cli --ldb on a script file, fed debugger commands; its output lines,
    colours stripped."""
    binary = shutil.which("redis-cli")
    if binary is None:
        missing_reference("redis-cli")
    connect(server).flushall()
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as file:
        file.write(script)
        file.flush()
        done = subprocess.run([binary, "-p", str(server.port), *options, "--eval", file.name,
                               "key1", ",", "arg1"], input=commands.encode(),
                              capture_output=True, timeout=20)
    output = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout.decode())
    return output.splitlines()


def test_redis_cli_ldb(server):
    script = "local a = 1\nredis.call('set', KEYS[1], ARGV[1])\nreturn a\n"
    lines = run_cli(server, "--ldb", script=script, commands="s\np\ns\nc\n")
    start = lines.index("* Stopped at 1, stop reason = step over")
    assert lines[start:start + 10] == [
        "* Stopped at 1, stop reason = step over", "-> 1   local a = 1",
        "* Stopped at 2, stop reason = step over",
        "-> 2   redis.call('set', KEYS[1], ARGV[1])",
        "<value> a = 1",
        "<redis> set key1 arg1", '<reply> "+OK"',
        "* Stopped at 3, stop reason = step over", "-> 3   return a",
        ""]
    assert "(integer) 1" in lines
    assert "(Lua debugging session ended -- dataset changes rolled back)" in lines
    assert connect(server).get("key1") is None


def test_redis_cli_ldb_sync_mode(server):
    script = "redis.call('set', KEYS[1], ARGV[1])\nredis.debug(ARGV[1])\nreturn 'done'\n"
    lines = run_cli(server, "--ldb-sync-mode", script=script, commands="c\n")
    assert lines[lines.index("* Stopped at 1, stop reason = step over") + 1:][:3] == [
        "-> 1   redis.call('set', KEYS[1], ARGV[1])", '<debug> line 2: "arg1"', ""]
    assert '"done"' in lines
    assert "(Lua debugging session ended)" in lines
    assert connect(server).get("key1") == b"arg1"
