"""Scripting: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT LOAD|EXISTS|FLUSH|KILL, and
the engine that runs Lua against the keyspace for them and for FCALL (functions.py).

A script is Lua 5.1 (our interpreter: ../scripting/), run atomically: nothing else
runs until it returns. It reaches the data through `redis.call(...)`, which runs a
command on the server's script client much as EXEC runs a queued command: checked
first (unknown, wrong arity, `noscript` commands, writes from a read-only script,
permissions, OOM), never blocking. A script's writes are logged as their effects (the
commands they amount to, see persistence/propagation.py), wrapped in MULTI ... EXEC:
Redis 7's "effects replication".

Values cross between Redis and Lua as Redis documents it:

    reply -> Lua                         Lua -> reply
    integer       number                 number          integer (truncated)
    bulk string   string                 string          bulk string
    null          false (nil in RESP3)   true / false    1 / null (RESP3: booleans)
    array         table                  nil             null
    status        {ok = text}            table           array, up to the first nil
    error         {err = text}           {ok = text}     status
    RESP3 map     {map = {...}}          {err = text}    error
    RESP3 set     {set = {k = true}}     {double = n}, {map = t}, {set = t},
    RESP3 double  {double = n}           {big_number = s}: the RESP3 types

Scripts are cached by the SHA1 of their text (EVAL caches them too), compiled once.
Errors read as Redis 7's: "ERR user_script:1: boom script: <sha>, on @user_script:1."

As in Redis, EVAL's scripts and FCALL's functions live in two Lua states (each an
Interpreter with the same libraries); `ScriptEngine.run` runs either kind. A script
whose shebang declares flags ("#!lua flags=no-writes") and every function are checked
against their flags before they start (a script that may write is refused by EVAL_RO,
when out of memory or when writes are refused); a script without a shebang runs in
Redis's compatibility mode, where only the commands it calls are checked.

A script that runs longer than busy-reply-threshold (lua-time-limit) makes the server
busy, as in Redis: between two of the interpreter's hook calls it serves the other
clients, refusing their commands with -BUSY but for the few that may run (SCRIPT KILL,
FUNCTION KILL, FUNCTION STATS, SHUTDOWN NOSAVE, AUTH, MULTI...: the allow_busy
flag). SCRIPT KILL (FUNCTION KILL for a function) stops a script that has not written
yet, with an error pcall cannot catch; one that has written can only be stopped by
SHUTDOWN NOSAVE.

SCRIPT DEBUG YES|SYNC makes the client's next EVAL a debugging session (Redis's
LDB): the script stops line by line and the client drives it with debugger commands
(../scripting/debugger.py has the debugger itself; here is its glue to the client's
socket). In SYNC mode the server runs the session and serves nobody else meanwhile;
in YES mode it forks, the child runs the session with that client alone and exits
(its changes to the data go with it) while the server drops the client and goes on.
Either way the client gets the "<endsession>" log, then EVAL's reply, then is
disconnected.
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import time

from ...net.transport import detach_after_fork
from ...resp import (NULL_ARRAY, BigNumber, Encoded, ErrorReply, OrderedSet, ReplyReader,
                     SimpleString, Verbatim)
from ...resp.values import Attributed
from ...resp.writer import format_double
from ..acl import Denied
from ..client import NO_REPLY, OK, OOM, Client, CountedError, find_subcommand
from ..keyspace import frozen_time
from ..persistence.propagation import PROPAGATE_ALL, PROPAGATE_AOF, PROPAGATE_REPLICAS
from ..scripting import Interpreter, LuaError, LuaInterrupt, LuaSyntaxError, LuaTable
from ..scripting import bitop, cjson, cmsgpack, structlib
from ..scripting.debugger import Debugger, lua_value_text
from ..scripting.values import CHUNK_NAME, tostring
from ..table import command, container, subcommand
from ..version import REDIS_VERSION
from . import introspection  # noqa: F401  (declares DEBUG, which gets a subcommand here)
from .args import NOT_INTEGER, c_long_long, parse_int

log = logging.getLogger("fromscratch.kvdb")

NOSCRIPT = ErrorReply("NOSCRIPT No matching script. Please use EVAL.")
# How deep a script's reply may nest tables: Redis's Lua stack allows some 8000 levels,
# Python's recursion limit (the reply writer recurses too) fewer.
MAX_REPLY_DEPTH = 1000
STACK_LIMIT = ErrorReply("ERR reached lua stack limit")
NOTBUSY = ErrorReply("NOTBUSY No scripts in execution right now.")   # SCRIPT / FUNCTION KILL
# What other clients' commands get while a script is busy, by what runs.
BUSY = {"script": ErrorReply("BUSY Redis is busy running a script. You can only call "
                             "SCRIPT KILL or SHUTDOWN NOSAVE."),
        "function": ErrorReply("BUSY Redis is busy running a script. You can only call "
                               "FUNCTION KILL or SHUTDOWN NOSAVE.")}
UNKILLABLE = ErrorReply("UNKILLABLE Sorry the script already executed write commands "
                        "against the dataset. You can either wait the script termination "
                        "or kill the server in a hard way using the SHUTDOWN NOSAVE command.")
LOG_LEVELS = {"LOG_DEBUG": 0, "LOG_VERBOSE": 1, "LOG_NOTICE": 2, "LOG_WARNING": 3}
PYTHON_LOG_LEVELS = [logging.DEBUG, logging.DEBUG, logging.INFO, logging.WARNING]
# The flags a script or function may declare, in the order Redis lists them.
SCRIPT_FLAGS = ("no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys")


def sha1hex(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


# -- Redis <-> Lua ------------------------------------------------------------------------

def _lua_string(data) -> str:
    """Bytes (or text) as a Lua string: one character per byte."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    return data.decode("latin-1")


def _table(**fields) -> LuaTable:
    return LuaTable(fields)


def lua_array(items) -> LuaTable:
    """Arguments as a Lua array of strings: KEYS and ARGV, a function's keys and args."""
    return LuaTable.from_list([_lua_string(item) for item in items])


def reply_to_lua(reply, resp: int):
    """A command's reply as the Lua value redis.call returns (`resp`: the protocol the
    script asked for with redis.setresp)."""
    kind = type(reply)
    if kind is bytes:
        return reply.decode("latin-1")
    if kind is int:
        return float(reply)
    if kind is list or kind is tuple:
        return LuaTable.from_list([reply_to_lua(item, resp) for item in reply])
    if kind is SimpleString:
        return _table(ok=_lua_string(reply))
    if reply is None or reply is NULL_ARRAY:
        return None if resp == 3 else False
    if isinstance(reply, ErrorReply):
        return _table(err=_lua_string(reply.message))
    if kind is bool:
        return reply if resp == 3 else float(reply)
    if kind is float:
        return _table(double=reply) if resp == 3 else format_double(reply).decode()
    if kind is BigNumber:
        return _table(big_number=str(reply)) if resp == 3 else str(reply)
    if kind is Verbatim:
        if resp == 3:
            return _table(verbatim_string=_table(format=reply.format, string=_lua_string(reply)))
        return _lua_string(reply)
    if kind is dict:
        if resp == 3:
            return _table(map=LuaTable({reply_to_lua(k, resp): reply_to_lua(v, resp)
                                        for k, v in reply.items()}))
        return LuaTable.from_list([reply_to_lua(x, resp) for pair in reply.items() for x in pair])
    if kind is set or kind is frozenset or kind is OrderedSet:
        if resp == 3:
            return _table(set=LuaTable({reply_to_lua(item, resp): True for item in reply}))
        return LuaTable.from_list([reply_to_lua(item, resp) for item in reply])
    if kind is Attributed:
        return reply_to_lua(reply.value, resp)
    if kind is Encoded:                            # written already (stream entries): read it
        reader = ReplyReader()
        reader.feed(reply.data)
        return reply_to_lua(reader.get(), resp)
    return _lua_string(reply)                      # a plain str: a bulk string


def _big_number(text: str, caller_resp: int):
    """{big_number = text} as a reply. Redis sends the text as it is (line breaks made
    spaces): a big number to a RESP3 caller, a bulk string to a RESP2 one. Our BigNumber
    holds integers only, so other text is written here for the caller's protocol."""
    text = text.replace("\r", " ").replace("\n", " ")
    if text.lstrip("-").isdigit():
        return BigNumber(int(text))
    data = text.encode("latin-1")
    return Encoded(b"(" + data + b"\r\n") if caller_resp == 3 else data


def lua_to_reply(value, resp: int, caller_resp: int, depth: int = 0):
    """The script's result (or a part of it, `depth` tables down) as a reply, for a
    script speaking RESP`resp` (redis.setresp) to a caller speaking RESP`caller_resp`.
    A table nested too deep (one that contains itself) ends in an error where Redis
    runs out of Lua stack, as the innermost element of the reply."""
    kind = type(value)
    if kind is str:
        return value.encode("latin-1")
    if kind is float:
        return c_long_long(value)
    if kind is bool:
        if resp == 3:
            return value
        return 1 if value else None
    if kind is LuaTable:
        if depth >= MAX_REPLY_DEPTH:
            return STACK_LIMIT
        depth += 1
        err = value.get("err")
        if type(err) is str:
            # A redis.pcall error returned as it came: counted when the command failed.
            if value.get("ignore_error_stats_update") is True:
                return CountedError(err)
            return ErrorReply(err)
        ok = value.get("ok")
        if type(ok) is str:
            return SimpleString(ok)
        double = value.get("double")
        if type(double) is float:
            return double
        big_number = value.get("big_number")
        if type(big_number) is str:
            return _big_number(big_number, caller_resp)
        verbatim = value.get("verbatim_string")
        if type(verbatim) is LuaTable:
            text, form = verbatim.get("string"), verbatim.get("format")
            if type(text) is str and type(form) is str:
                # Redis writes exactly three characters of format, padded with spaces.
                return Verbatim(text.encode("latin-1").decode("utf-8", "surrogateescape"),
                                (form + "   ")[:3])
        mapping = value.get("map")
        if type(mapping) is LuaTable:
            return {lua_to_reply(k, resp, caller_resp, depth):
                    lua_to_reply(v, resp, caller_resp, depth) for k, v in mapping.items()}
        members = value.get("set")
        if type(members) is LuaTable:
            return {lua_to_reply(k, resp, caller_resp, depth) for k, _ in members.items()}
        return [lua_to_reply(item, resp, caller_resp, depth) for item in value.array()]
    return None                                    # nil, functions, cjson.null...


def _command_arguments(args) -> list:
    """The arguments of redis.call (and acl_check_cmd) as a command's argv."""
    if not args:
        raise script_error("ERR Please specify at least one argument for this redis lib call")
    return [_command_argument(arg) for arg in args]


def _command_argument(value) -> bytes:
    if type(value) is str:
        return value.encode("latin-1")
    if type(value) is float:
        return b"%.17g" % value                    # Redis converts numbers this way
    raise script_error("ERR Lua redis lib command arguments must be strings or integers")


def _error_text(message: str) -> str:
    """redis.error_reply's message as Redis words it: "CODE rest" from "-CODE rest" or
    "CODE rest" (one word alone, or nothing, is the message of an ERR), line breaks
    trimmed from its ends."""
    code, space, text = message.removeprefix("-").partition(" ")
    if not space:
        code, text = "ERR", code
    return code + " " + text.strip("\r\n")


def script_error(message: str) -> LuaError:
    """An error as redis.call raises it: a table {err = message}, with no position."""
    return LuaError(_table(err=message), level=0)


# -- the engine ---------------------------------------------------------------------------

def _parse_shebang(source: bytes) -> frozenset | None:
    """A "#!lua flags=..." first line: returns the flags it declares, None when there
    is no shebang; raises for anything Redis refuses."""
    if not source.startswith(b"#!"):
        return None
    line = source.split(b"\n", 1)[0].decode("utf-8", "replace").rstrip("\r")
    words = line.split()
    if words[0] != "#!lua":
        raise ErrorReply(f"ERR Unexpected engine in script shebang: {words[0]}")
    flags: set[str] = set()
    for option in words[1:]:
        if not option.startswith("flags="):
            raise ErrorReply(f"ERR Unknown lua shebang option: {option}")
        for flag in filter(None, option[len("flags="):].split(",")):
            if flag not in SCRIPT_FLAGS:
                raise ErrorReply(f"ERR Unexpected flag in script shebang: {flag}")
            flags.add(flag)
    return frozenset(flags)


def _protected_table_error(*args):
    """The __index of Redis's protected tables (luaProtectedTableError): reading a
    missing key is an error, not nil."""
    if len(args) != 2:
        raise LuaError("Wrong number of arguments to luaProtectedTableError")
    key = args[1]
    if type(key) is not str and type(key) is not float:
        raise LuaError("Second argument to luaProtectedTableError must be a string or number")
    raise LuaError(f"Script attempted to access nonexistent global variable '{tostring(key)}'")


def set_error_metatable(table: LuaTable) -> None:
    """Give `table` Redis's error metatable (luaSetErrorMetatable)."""
    table.metatable = LuaTable({"__index": _protected_table_error})


def protect_recursively(table: LuaTable) -> None:
    """Make `table` readonly, and every table reachable from it, keys, values and
    metatables (Redis's luaSetTableProtectionRecursively)."""
    pending = [table]
    while pending:
        table = pending.pop()
        if table.readonly:                  # seen already (_G._G is _G)
            continue
        table.readonly = True
        for key, value in table.items():
            pending.extend(each for each in (key, value) if type(each) is LuaTable)
        if table.metatable is not None:
            pending.append(table.metatable)


def protect_globals(globals_: LuaTable) -> None:
    """Lock a Lua state's globals as Redis does once it has set them up: reading a
    global that does not exist is an error, not nil, and scripts may change neither
    the globals nor any table they reach (the libraries, and the error metatable)."""
    set_error_metatable(globals_)
    protect_recursively(globals_)


class Script:
    __slots__ = ("function", "flags")

    def __init__(self, function, flags: frozenset | None):
        self.function = function
        self.flags = flags                         # None: no shebang


class _Run:
    """A script or function being run: what SCRIPT KILL, FUNCTION KILL and FUNCTION
    STATS look at."""

    def __init__(self, kind: str, name: str, command: list):
        self.kind = kind                     # "script" (EVAL...) or "function" (FCALL...)
        self.name = name
        self.command = command
        self.started = time.monotonic()
        self.wrote = False                   # it ran a write command: it can't be killed
        self.busy = False                    # past busy-reply-threshold
        self.killed = False                  # SCRIPT KILL or FUNCTION KILL asked


class ScriptEngine:
    """Runs Lua against the keyspace: makes the Lua states, and runs scripts and
    functions on the client their redis.call commands go through. Also EVAL's script
    cache and Lua state."""

    def __init__(self, kv):
        self.kv = kv
        self.scripts: dict[str, Script] = {}
        self.interp: Interpreter | None = None     # EVAL's Lua state, made on first use
        self.client: Client | None = None          # made with the first Lua state
        # The run in progress: the client it runs for, and what it may do and did.
        self.caller = None
        self.read_only = False
        self.allow_oom = False
        self.running: _Run | None = None
        # DEBUG SET-DISABLE-DENY-SCRIPTS 1 lets scripts run `noscript` commands (tests do).
        self.deny_noscript = True
        # SCRIPT DEBUG: the session of the script being debugged here (None: none),
        # and the children running forked sessions, which SHUTDOWN kills.
        self.debugger: Debugger | None = None
        self.debug_children: list[int] = []

    def new_state(self, chunk_name: str) -> Interpreter:
        """A Lua state for user code whose errors name it `chunk_name`: the standard
        library, redis, cjson, bit and cmsgpack, behind protected globals."""
        interp = Interpreter(chunk_name=chunk_name)
        globals_ = interp.globals
        globals_.rawset("redis", self._redis_library())
        globals_.rawset("cjson", cjson.library())
        globals_.rawset("bit", bitop.library())
        globals_.rawset("cmsgpack", cmsgpack.library())
        globals_.rawset("struct", structlib.library())
        globals_.rawset("pcall", self._pcall(globals_.get("pcall")))
        protect_globals(globals_)
        interp.string_metatable.readonly = True    # Redis locks it too
        if self.client is None:
            self.client = Client(self.kv)
            self.client.in_exec = True             # so nothing a script calls blocks
        return interp

    @staticmethod
    def _pcall(base_pcall):
        # Redis's pcall gives the message of an error table ({err = ...}) as a string.
        def pcall(*args):
            results = base_pcall(*args)
            if results[0] is False and type(results[1]) is LuaTable:
                err = results[1].get("err")
                if type(err) is str:
                    results[1] = err
            return results
        return pcall

    # -- the cache ---------------------------------------------------------------------

    def load(self, source: bytes) -> str:
        """Compile and cache a script; returns its SHA1."""
        sha = sha1hex(source)
        if sha not in self.scripts:
            flags = _parse_shebang(source)
            if self.interp is None:
                self.interp = self.new_state(CHUNK_NAME)
            try:
                function = self.interp.load(source.decode("latin-1"))
            except LuaSyntaxError as error:
                raise ErrorReply(f"ERR Error compiling script (new function): {error}") from None
            self.scripts[sha] = Script(function, flags)
        return sha

    # -- running -----------------------------------------------------------------------

    def run_script(self, client, sha: str, argv: list, numkeys: int, read_only: bool):
        """Run a cached script: argv is EVAL's, with `numkeys` keys after argv[2], which
        the script reads as the globals KEYS and ARGV."""
        script = self.scripts[sha]
        globals_ = self.interp.globals
        globals_.rawset("KEYS", lua_array(argv[3:3 + numkeys]))
        globals_.rawset("ARGV", lua_array(argv[3 + numkeys:]))
        return self.run(client, self.interp, script.function, [], sha, script.flags, read_only,
                        argv)

    def run(self, client, interp: Interpreter, function, args: list, name: str,
            flags: frozenset | None, read_only: bool, command: list):
        """Call `function`, made in the Lua state `interp`, with `args` for `client`;
        returns the reply. `name` is what errors call it (the SHA1 of a script, the
        name of a function), `flags` what it declared (None: a script without a
        shebang), `read_only` says it was called by EVAL_RO, FCALL_RO..., and
        `command` is the caller's command (FUNCTION STATS shows it)."""
        self._check_flags(flags, read_only)
        declared = flags or frozenset()
        script_client = self.client
        script_client.db = client.db
        script_client.user = client.user        # the script acts with its caller's rights
        script_client.switch_protocol(2)
        self.caller = client
        self.read_only = read_only or "no-writes" in declared
        self.allow_oom = "allow-oom" in declared
        self.running = _Run("script" if interp is self.interp else "function", name, command)
        interp.hook = self._check_running
        debugger = self.debugger
        if debugger is not None:
            debugger.install(interp)        # (its own hook: nobody else is served)
        # An error answer is raised, so that the command counts as failed.
        try:
            with frozen_time():
                results = interp.call(function, args)
        except LuaError as error:
            raise _error_reply(error, name, interp.chunk_name) from None
        except RecursionError:
            raise ErrorReply(f"ERR stack overflow script: {name}, on "
                             f"@{interp.chunk_name}:0.") from None
        finally:
            if debugger is not None:
                debugger.uninstall()
            interp.hook = None
            self.kv.propagate_to = PROPAGATE_ALL
            if self.running.busy:
                log.warning("Slow script finished in %d milliseconds",
                            (time.monotonic() - self.running.started) * 1000)
                self.kv.end_busy()
            self.caller = self.running = None
        reply = lua_to_reply(results[0] if results else None, script_client.resp, client.resp)
        if isinstance(reply, ErrorReply):
            raise reply
        return reply

    def _check_running(self) -> None:
        """The interpreter's hook: once the run has lasted busy-reply-threshold, the
        server is busy and serves the other clients from here, and a kill stops it."""
        run = self.running
        if not run.busy:
            elapsed_ms = (time.monotonic() - run.started) * 1000
            if elapsed_ms < self.kv.config["busy-reply-threshold"] or not self.kv.serving:
                return
            run.busy = True
            log.warning("Slow script detected: still in execution after %d milliseconds. "
                        "You can try killing the script using the %s command. Script name "
                        "is: %s.", elapsed_ms, "SCRIPT KILL" if run.kind == "script"
                        else "FUNCTION KILL", run.name)
            self.kv.begin_busy(BUSY[run.kind], self.caller)
        self.kv.serve_while_busy()
        if run.killed:
            log.warning("Lua script killed by user with SCRIPT KILL.")
            raise LuaInterrupt("Script killed by user with SCRIPT KILL...")

    def kill(self, kind: str) -> None:
        """SCRIPT KILL (kind "script") or FUNCTION KILL ("function")."""
        run = self.running
        if run is None:
            raise NOTBUSY
        if run.wrote:
            raise UNKILLABLE
        if run.kind != kind:
            raise BUSY[run.kind]         # the other KILL is the one for what runs
        run.killed = True

    def reap_debug_sessions(self) -> None:
        """From the cron: collect the children of forked debugging sessions that ended."""
        for pid in list(self.debug_children):
            try:
                ended = os.waitpid(pid, os.WNOHANG)[0] != 0
            except ChildProcessError:
                ended = True
            if ended:
                self.debug_children.remove(pid)

    def kill_debug_sessions(self) -> None:
        """At shutdown: end the forked debugging sessions (Redis's ldbKillForkedSessions)."""
        for pid in self.debug_children:
            log.warning("Killing debugging session %d", pid)
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except OSError:
                pass                            # gone already
        self.debug_children = []

    def _check_flags(self, flags: frozenset | None, read_only: bool) -> None:
        """Redis's checks before a run, for code that declared its flags: unless it
        declared no-writes, it may write, so it is refused where writes are (as Redis
        then treats the command as a write), and by the *_RO commands. A script without
        flags is refused by a stale replica (one that declared them, by their flags)."""
        kv = self.kv
        if flags is None and kv.stale_reply is not None:
            raise ErrorReply(kv.stale_reply)
        if flags is None or "no-writes" in flags:
            return
        if "allow-oom" not in flags and kv.out_of_memory():
            raise OOM
        if kv.refuse_writes is not None:
            raise ErrorReply(kv.refuse_writes)
        if read_only:
            raise ErrorReply("ERR Can not execute a script with write flag using *_ro command.")

    def call(self, args, raise_errors: bool):
        """redis.call / redis.pcall: run a command from the script. While a debugging
        session steps, the command and its reply (or why it was refused) are logged."""
        debugger = self.debugger
        logging_calls = debugger is not None and debugger.logging_calls
        try:
            argv = _command_arguments(args)
        except LuaError as error:
            if logging_calls:
                debugger.log_error(error_message(error).removeprefix("ERR "))
            raise
        if logging_calls:
            debugger.log_command(argv)
        try:
            reply = self._run_command(argv)
        except ErrorReply as error:
            if logging_calls:
                debugger.log_error(error.message.removeprefix("ERR "))
            reply = error
        else:
            if logging_calls:
                if isinstance(reply, ErrorReply):       # as Lua gets it, then as sent
                    debugger.log_error("-" + reply.message)
                out: list[bytes] = []
                self.client.write(reply, out)
                debugger.log_reply(b"".join(out))
        if isinstance(reply, ErrorReply):
            # As Redis marks it: this error was counted (errorstats) when it arose.
            error = _table(err=_lua_string(reply.message), ignore_error_stats_update=True)
            if raise_errors:
                raise LuaError(error, level=0)
            return [error]
        return [reply_to_lua(reply, self.client.resp)]

    def acl_check(self, args) -> list:
        """redis.acl_check_cmd: whether the script's caller may run this command with
        these arguments (its ACL rules; nothing is logged, nothing run)."""
        argv = _command_arguments(args)
        cmd = self.kv.table.lookup(argv[0])
        if cmd is not None and cmd.subcommands and len(argv) > 1:
            cmd = cmd.subcommands.get(argv[1].decode("latin-1").lower())
        if cmd is None:
            raise script_error("ERR Invalid command passed to redis.acl_check_cmd()")
        try:
            self.caller.user.check(cmd, argv)
        except Denied:
            return [False]
        return [True]

    def _run_command(self, argv: list):
        kv = self.kv
        cmd = kv.table.lookup(argv[0])
        try:
            if cmd is None:
                raise ErrorReply("ERR Unknown Redis command called from script")
            if (cmd.arity > 0 and len(argv) != cmd.arity) or len(argv) < -cmd.arity:
                raise ErrorReply("ERR Wrong number of args calling Redis command from script")
            if cmd.subcommands and len(argv) > 1:
                cmd = find_subcommand(cmd, argv)
            self._check_allowed(cmd, argv)
        except ErrorReply as error:            # refused: counted as Redis counts it
            if cmd is not None:
                cmd.counted_as.rejected_calls += 1
            kv.count_error(error)
            raise
        if cmd.is_write:
            self.running.wrote = True
        return self.client.run_contained(cmd, argv)

    def _check_allowed(self, cmd, argv: list) -> None:
        """Whether the script may run `cmd` (ErrorReply if not)."""
        kv = self.kv
        if self.deny_noscript and ("noscript" in cmd.flags
                                   or "noscript" in (cmd.parent or cmd).flags):
            raise ErrorReply("ERR This Redis command is not allowed from script")
        if kv.stale_reply is not None and "stale" not in cmd.flags:
            raise ErrorReply("ERR Can not execute the command on a stale replica")
        caller = self.caller
        if not caller.user.unrestricted:
            try:
                kv.check_acl(caller, cmd, argv, context="lua")
            except Denied as denied:
                # Redis 7.2's words (7.0: "The user executing the script can't run this
                # command or subcommand", "...can't access at least one of the keys...")
                raise ErrorReply("ERR ACL failure in script: "
                                 + denied.explanation(verbose=False)) from None
        if self.read_only and (cmd.is_write or "may_replicate" in cmd.flags):
            # PUBLISH too: it reaches the replicas, which a read-only script must not.
            raise ErrorReply("ERR Write commands are not allowed from read-only scripts.")
        if self.running.wrote:
            return      # as Redis: a script that changed the data is not stopped halfway
        if cmd.is_write and kv.refuse_writes is not None:
            raise ErrorReply(kv.refuse_writes)
        if cmd.denyoom and not self.allow_oom and kv.out_of_memory():
            raise OOM

    # -- the redis library ---------------------------------------------------------------

    def _redis_library(self) -> LuaTable:
        def call(*args):
            return self.call(args, raise_errors=True)

        def pcall(*args):
            return self.call(args, raise_errors=False)

        def status_reply(*args):
            if len(args) != 1 or type(args[0]) is not str:
                return [_table(err="ERR wrong number or type of arguments")]
            return [_table(ok=args[0])]

        def error_reply(*args):
            if len(args) != 1 or type(args[0]) is not str:
                return [_table(err="ERR wrong number or type of arguments")]
            return [_table(err=_error_text(args[0]))]

        def sha1hex_(*args):
            if len(args) != 1:
                raise script_error("ERR wrong number of arguments")
            return [sha1hex(tostring(args[0]).encode("latin-1"))]

        def setresp(*args):
            if len(args) != 1:
                raise script_error("ERR redis.setresp() requires one argument.")
            if args[0] not in (2.0, 3.0):
                raise script_error("ERR RESP version must be 2 or 3.")
            self.client.switch_protocol(int(args[0]))
            return []

        def set_repl(*args):
            # Where the script's next writes go: the log, the replicas, both or neither.
            if len(args) != 1:
                raise script_error("ERR redis.set_repl() requires two arguments.")
            number = args[0]
            targets = int(number) if type(number) in (int, float) else -1
            if targets & ~PROPAGATE_ALL:
                raise script_error("ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, "
                                   "REPL_ALL or REPL_NONE.")
            self.kv.propagate_to = targets
            return []

        def replicate_commands(*args):
            return [True]

        def acl_check_cmd(*args):
            return self.acl_check(args)

        def breakpoint_(*args):
            # In a debugging session: stop at the next line, as at a breakpoint.
            if self.debugger is None:
                return [False]
            self.debugger.lua_breakpoint = True
            return [True]

        def debug(*args):
            # In a debugging session: log the arguments ("<debug> line 3: 1, "a"").
            debugger = self.debugger
            if debugger is not None:
                debugger.log(f"<debug> line {debugger.current_line}: "
                             + ", ".join(lua_value_text(arg) for arg in args))
            return []

        library = basic_redis_api()
        library.update({
            "call": call, "pcall": pcall, "status_reply": status_reply,
            "error_reply": error_reply, "sha1hex": sha1hex_,
            "setresp": setresp, "set_repl": set_repl,
            "replicate_commands": replicate_commands, "acl_check_cmd": acl_check_cmd,
            "breakpoint": breakpoint_, "debug": debug,
            "REPL_NONE": 0.0, "REPL_AOF": float(PROPAGATE_AOF),
            "REPL_REPLICA": float(PROPAGATE_REPLICAS), "REPL_SLAVE": float(PROPAGATE_REPLICAS),
            "REPL_ALL": float(PROPAGATE_ALL),
        })
        return LuaTable(library)


def basic_redis_api() -> dict:
    """The part of the redis library that needs no running script: redis.log and the
    version. It is all FUNCTION LOAD gives a library's code, with register_function."""
    def log_(*args):
        if len(args) < 2:
            raise script_error("ERR redis.log() requires two arguments or more.")
        level = args[0]
        if type(level) is not float or level not in (0.0, 1.0, 2.0, 3.0):
            raise script_error("ERR Invalid debug level.")
        message = " ".join(tostring(arg) for arg in args[1:] if type(arg) in (str, float))
        log.log(PYTHON_LOG_LEVELS[int(level)], "script: %s", message)
        return []

    major, minor, patch = (int(part) for part in REDIS_VERSION.split("."))
    api = {"log": log_, "REDIS_VERSION": REDIS_VERSION,
           "REDIS_VERSION_NUM": float((major << 16) | (minor << 8) | patch)}
    api.update({name: float(level) for name, level in LOG_LEVELS.items()})
    return api


def error_message(error: LuaError) -> str:
    """A Lua error as Redis words it: the `err` of an error table, else "ERR " and
    the value."""
    value = error.value
    err = value.get("err") if type(value) is LuaTable else None
    return err if type(err) is str else "ERR " + tostring(value)


def _error_reply(error: LuaError, name: str, chunk_name: str) -> ErrorReply:
    value = error.value
    counted = type(value) is LuaTable and value.get("ignore_error_stats_update") is True
    return (CountedError if counted else ErrorReply)(
        f"{error_message(error)} script: {name}, on @{chunk_name}:{error.line or 0}.")


def script_numkeys(argv: list, not_a_number: ErrorReply = NOT_INTEGER) -> int:
    """The numkeys of EVAL and FCALL (argv[2]), checked against the arguments after it."""
    numkeys = parse_int(argv[2], not_a_number)
    if numkeys > len(argv) - 3:
        raise ErrorReply("ERR Number of keys can't be greater than number of args")
    if numkeys < 0:
        raise ErrorReply("ERR Number of keys can't be negative")
    return numkeys


# -- commands -----------------------------------------------------------------------------

def _eval(client, argv, read_only: bool):
    if client.lua_debug is not None:
        return _eval_debugging(client, argv, read_only)
    return _run_eval(client, argv, read_only)


def _run_eval(client, argv, read_only: bool):
    engine = client.kv.scripting
    numkeys = script_numkeys(argv)         # argument errors come before compile errors
    sha = engine.load(argv[1])
    return engine.run_script(client, sha, argv, numkeys, read_only)


def _evalsha(client, argv, read_only: bool):
    engine = client.kv.scripting
    if client.lua_debug is not None and len(argv[1]) == 40:
        raise ErrorReply("ERR Please use EVAL instead of EVALSHA for debugging")
    numkeys = script_numkeys(argv)
    sha = argv[1].decode("latin-1").lower()
    if sha not in engine.scripts:
        raise NOSCRIPT
    return engine.run_script(client, sha, argv, numkeys, read_only)


# -- debugging sessions (SCRIPT DEBUG) ----------------------------------------------------

DEBUG_SEND_TIMEOUT = 5          # seconds a send to the debugging client may block


class _DebugConnection:
    """The debugging client's socket, used directly and blockingly for the session."""

    def __init__(self, sock):
        self.sock = sock

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError:
            pass            # the client is gone (or stuck): the next read tells

    def receive(self) -> bytes:
        try:
            return self.sock.recv(1024)
        except OSError:
            return b""


def _eval_debugging(client, argv, read_only: bool):
    """EVAL for a client that asked for SCRIPT DEBUG: run the script in a debugging
    session, forked (YES) or in the server itself (SYNC)."""
    engine = client.kv.scripting
    forked = client.lua_debug == "yes"
    transport = client.transport
    client.flush_now()                           # what came before goes first
    sock = transport.lend_blocking(DEBUG_SEND_TIMEOUT)
    if forked:
        try:
            pid = os.fork()
        except OSError as error:
            transport.take_back()
            client.lua_debug = None
            raise ErrorReply("ERR Fork() failed: can't run EVAL in debugging mode: "
                             + os.strerror(error.errno)) from None
        if pid != 0:
            # The child goes on with the client: here it is dropped, and forgotten.
            engine.debug_children.append(pid)
            client.lua_debug = None
            client.close_after_reply = True      # nothing more it sent is run here
            client.abort()
            return NO_REPLY
        _run_forked_session(client, argv, read_only, sock)      # never returns
    log.warning("Redis synchronous debugging eval session started")
    try:
        reply = _debug_session(client, argv, read_only, sock)
        log.warning("Redis synchronous debugging eval session ended")
    finally:
        transport.take_back()
        client.close_after_reply = True          # the session ends with the connection
    if isinstance(reply, ErrorReply):
        raise reply
    return reply


def _debug_session(client, argv, read_only: bool, sock):
    """Run EVAL with the debugger on; returns its reply (an error too), once the
    session's last logs and "<endsession>" are sent."""
    engine = client.kv.scripting
    debugger = Debugger(argv[1], _DebugConnection(sock),
                        client.kv.config["busy-reply-threshold"])
    engine.debugger = debugger
    try:
        reply = _run_eval(client, argv, read_only)
    except ErrorReply as error:
        reply = error
    finally:
        engine.debugger = None
    debugger.log("<endsession>")
    debugger.send_logs()
    return reply


def _run_forked_session(client, argv, read_only: bool, sock) -> None:
    """The child of a forked session: run it with this client alone, send the reply,
    exit. Nothing here may reach the parent's files or clients: the append-only file
    is dropped, what the script's writes would send (to replicas, subscribers,
    monitors, clients it wakes) goes nowhere, and the event loop is never entered
    again."""
    status = 1
    try:
        detach_after_fork()
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        log.warning("Redis forked for debugging eval")
        kv = client.kv
        kv.aof = kv.offline_aof = None
        reply = _debug_session(client, argv, read_only, sock)
        out: list[bytes] = []
        client.write(reply, out)
        _DebugConnection(sock).send(b"".join(out))
        log.warning("Lua debugging session child exiting")
        status = 0
    finally:
        os._exit(status)


EVAL_FLAGS = "noscript stale skip_monitor no_mandatory_keys movablekeys"
# What a script will do is unknown until it runs: it may replicate, as Redis flags it
# (only the *_RO variants are known to be read-only).
MAY_WRITE = "may_replicate " + EVAL_FLAGS


def declared_call_flags(flags: frozenset, declared: frozenset | None) -> frozenset:
    """The flags of a call of code that declared `declared` (None: a script without a
    shebang, which keeps the command's own), as Redis's scriptFlagsToCmdFlags: it may
    write unless no-writes, is refused out of memory unless allow-oom or no-writes,
    may run stale only with allow-stale, and, what it does being known, is no longer
    only may_replicate."""
    if declared is None:
        return flags
    result = set(flags) - {"stale", "denyoom", "write", "may_replicate"}
    if not declared & {"allow-oom", "no-writes"}:
        result.add("denyoom")
    if "no-writes" not in declared:
        result.add("write")
    if "allow-stale" in declared:
        result.add("stale")
    return frozenset(result)


def _eval_call_flags(kv, argv: list) -> frozenset:
    cmd = kv.table.lookup(argv[0])
    script = kv.scripting.scripts.get(sha1hex(argv[1]))
    if script is not None:
        return declared_call_flags(cmd.flags, script.flags)
    try:
        declared = _parse_shebang(argv[1])     # not compiled yet: its shebang says
    except ErrorReply:
        declared = None                        # the run will give the error
    return declared_call_flags(cmd.flags, declared)


def _evalsha_call_flags(kv, argv: list) -> frozenset:
    cmd = kv.table.lookup(argv[0])
    script = kv.scripting.scripts.get(argv[1].decode("latin-1").lower())
    return declared_call_flags(cmd.flags, script.flags if script is not None else None)


@command("eval", arity=-3, flags=MAY_WRITE, numkeys_at=2, call_flags=_eval_call_flags,
         group="scripting",
         since="2.6.0", summary="Executes a server-side Lua script.",
         complexity="Depends on the script that is executed.",
         syntax="script numkeys [key...] [arg...]")
def eval_(client, argv):
    return _eval(client, argv, read_only=False)


@command("eval_ro", arity=-3, flags="readonly " + EVAL_FLAGS, numkeys_at=2,
         call_flags=_eval_call_flags, group="scripting", since="7.0.0",
         summary="Executes a read-only server-side Lua script.",
         complexity="Depends on the script that is executed.",
         syntax="script numkeys [key...] [arg...]")
def eval_ro(client, argv):
    return _eval(client, argv, read_only=True)


@command("evalsha", arity=-3, flags=MAY_WRITE, numkeys_at=2,
         call_flags=_evalsha_call_flags, group="scripting",
         since="2.6.0", summary="Executes a server-side Lua script by SHA1 digest.",
         complexity="Depends on the script that is executed.",
         syntax="sha1 numkeys [key...] [arg...]")
def evalsha(client, argv):
    return _evalsha(client, argv, read_only=False)


@command("evalsha_ro", arity=-3, flags="readonly " + EVAL_FLAGS, numkeys_at=2,
         call_flags=_evalsha_call_flags, group="scripting", since="7.0.0",
         summary="Executes a read-only server-side Lua script by SHA1 digest.",
         complexity="Depends on the script that is executed.",
         syntax="sha1 numkeys [key...] [arg...]")
def evalsha_ro(client, argv):
    return _evalsha(client, argv, read_only=True)


container("script", group="scripting", since="2.6.0",
          summary="A container for Lua scripts management commands.")


@subcommand("script", "load", arity=3, flags="noscript stale", since="2.6.0",
            summary="Loads a server-side Lua script to the script cache.",
            complexity="O(N) with N being the length in bytes of the script body.",
            syntax="script")
def script_load(client, argv):
    return client.kv.scripting.load(argv[2]).encode()


@subcommand("script", "exists", arity=-3, flags="noscript", since="2.6.0",
            summary="Determines whether server-side Lua scripts exist in the script cache.",
            complexity="O(N) with N being the number of scripts to check.",
            syntax="sha1...")
def script_exists(client, argv):
    scripts = client.kv.scripting.scripts
    return [int(sha.decode("latin-1").lower() in scripts) for sha in argv[2:]]


@subcommand("script", "flush", arity=-2, flags="noscript", since="2.6.0",
            summary="Removes all server-side Lua scripts from the script cache.",
            complexity="O(N) with N being the number of scripts in cache",
            syntax="[flush-type: ASYNC | SYNC]")
def script_flush(client, argv):
    if len(argv) > 3 or (len(argv) == 3 and argv[2].upper() not in (b"ASYNC", b"SYNC")):
        raise ErrorReply("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
    client.kv.scripting.scripts.clear()
    return OK


@subcommand("script", "debug", arity=3, flags="noscript", since="3.2.0",
            summary="Set the debug mode for executed scripts.",
            complexity="O(1)",
            syntax="(mode: YES | SYNC | NO)")
def script_debug(client, argv):
    # Redis refuses it with replies pending (a pipeline, a transaction): the
    # session's logs would overtake them.
    if client.out or client.in_exec or client.output_buffer_size:
        raise ErrorReply("ERR SCRIPT DEBUG must be called outside a pipeline")
    mode = argv[2].lower()
    if mode not in (b"yes", b"sync", b"no"):
        raise ErrorReply("ERR Use SCRIPT DEBUG YES/SYNC/NO")
    if mode != b"no" and client.transport.get_extra_info("ssl_object") is not None:
        # The session talks over the bare socket, which TLS does not allow.
        raise ErrorReply("ERR SCRIPT DEBUG is not supported over TLS")
    client.lua_debug = None if mode == b"no" else mode.decode()
    return OK


@subcommand("script", "kill", arity=2, flags="noscript allow_busy", since="2.6.0",
            summary="Terminates a server-side Lua script during execution.",
            complexity="O(1)")
def script_kill(client, argv):
    client.kv.scripting.kill("script")
    return OK


@subcommand("debug", "set-disable-deny-scripts", arity=3,
            flags="admin noscript loading stale",
            summary="Lets scripts run the commands they may not (1), or not (0).",
            syntax="flag:integer")
def debug_set_disable_deny_scripts(client, argv):
    client.kv.scripting.deny_noscript = parse_int(argv[2]) == 0
    return OK
