"""Functions (Redis 7: FUNCTION LOAD ... and FCALL) through redis-py: libraries and their
metadata, register_function's two forms, what a library's code may use while it loads,
errors word for word, FUNCTION LIST / STATS / DELETE / FLUSH / DUMP / RESTORE, and the
libraries surviving a restart (snapshot and append-only file).

Redis lists libraries and functions in its hash tables' order, so listings are compared
as dicts and sets."""

import time

import pytest
import redis
from redis.exceptions import ResponseError

from compat_tests.kvdb.conftest import connect
from compat_tests.kvdb.test_persistence import KINDS, Restartable

BAD_NAME = ("Library names can only contain letters, numbers, or underscores(_) and must "
            "be at least one character long")


@pytest.fixture
def r(r):
    """The conftest client, with no library loaded (FLUSHALL leaves functions alone)."""
    r.function_flush()
    return r


def error_of(r, *args) -> str:
    with pytest.raises(ResponseError) as info:
        r.execute_command(*args)
    return str(info.value)


def load_error(r, code: str) -> str:
    return error_of(r, "FUNCTION", "LOAD", "REPLACE", code)


def _as_dict(item) -> dict:
    # RESP2 gives flat [key, value, ...] arrays where RESP3 gives maps.
    return item if isinstance(item, dict) else dict(zip(item[::2], item[1::2]))


def listing(r, **options) -> dict:
    """FUNCTION LIST as {library: {function: (description, flags)}}, plus the code under
    the key None when asked for WITHCODE."""
    result = {}
    for entry in r.function_list(**options):
        entry = _as_dict(entry)
        functions = {}
        for function in map(_as_dict, entry[b"functions"]):
            functions[function[b"name"]] = (function[b"description"],
                                            set(function[b"flags"]))
        assert entry[b"engine"] == b"LUA"
        if b"library_code" in entry:
            functions[None] = entry[b"library_code"]
        result[entry[b"library_name"]] = functions
    return result


def stats(r) -> tuple:
    """FUNCTION STATS as (running script, libraries, functions)."""
    reply = _as_dict(r.function_stats())
    engines = _as_dict(reply[b"engines"])
    assert list(engines) == [b"LUA"]
    counts = _as_dict(engines[b"LUA"])
    return reply[b"running_script"], counts[b"libraries_count"], counts[b"functions_count"]


GREETER = """#!lua name=greeter
redis.register_function('hello', function(keys, args)
    return 'hello ' .. args[1]
end)
redis.register_function{
    function_name = 'count',
    callback = function(keys, args) return redis.call('scard', keys[1]) end,
    flags = {'no-writes'},
    description = 'members of a set',
}
redis.register_function('remember', function(keys, args)
    return redis.call('sadd', keys[1], unpack(args))
end)
"""


# -- loading and calling --------------------------------------------------------------------

def test_load_and_call(r):
    assert r.function_load(GREETER) == b"greeter"
    assert r.fcall("hello", 0, "you") == b"hello you"
    assert r.fcall("remember", 1, "seen", "a", "b") == 2
    assert r.fcall("count", 1, "seen") == 2
    assert r.fcall_ro("count", 1, "seen") == 2
    assert r.fcall("HELLO", 0, "again") == b"hello again"     # names ignore case


def test_keys_and_args_are_the_callback_arguments(r):
    r.function_load("#!lua name=lib\nredis.register_function('f', function(keys, args)\n"
                    "    return {#keys, #args, keys[1], keys[2], args[1]}\nend)")
    assert r.fcall("f", 2, "k1", "k2", "a1") == [2, 1, b"k1", b"k2", b"a1"]
    assert r.fcall("f", 0) == [0, 0]


def test_function_list_shows_names_descriptions_and_flags(r):
    r.function_load(GREETER)
    r.function_load("#!lua name=flags\nredis.register_function{function_name='f', "
                    "callback=function() return 1 end, flags={'ALLOW-OOM', 'no-writes', "
                    "'allow-stale', 'no-cluster', 'allow-cross-slot-keys'}}")
    assert listing(r) == {
        b"greeter": {b"hello": (None, set()), b"remember": (None, set()),
                     b"count": (b"members of a set", {b"no-writes"})},
        b"flags": {b"f": (None, {b"no-writes", b"allow-oom", b"allow-stale", b"no-cluster",
                                 b"allow-cross-slot-keys"})},
    }


def test_function_list_libraryname_pattern_and_withcode(r):
    r.function_load(GREETER)
    r.function_load("#!lua name=GREETER2\nredis.register_function('g', function() end)")
    r.function_load("#!lua name=other\nredis.register_function('o', function() end)")
    assert set(listing(r, library="greet*")) == {b"greeter", b"GREETER2"}   # any case
    assert set(listing(r, library="*other")) == {b"other"}
    assert listing(r, library="nothing*") == {}
    with_code = listing(r, library="greeter", withcode=True)
    assert with_code[b"greeter"][None] == GREETER.encode()


def test_library_names_are_case_sensitive(r):
    r.function_load("#!lua name=lib\nredis.register_function('f1', function() return 1 end)")
    r.function_load("#!lua name=LIB\nredis.register_function('f2', function() return 2 end)")
    assert set(listing(r)) == {b"lib", b"LIB"}
    assert r.function_delete("LIB") is True
    assert set(listing(r)) == {b"lib"}


def test_load_replace(r):
    code = "#!lua name=lib\nredis.register_function('f', function() return %d end)"
    r.function_load(code % 1)
    assert error_of(r, "FUNCTION", "LOAD", code % 2) == "Library 'lib' already exists"
    assert r.function_load(code % 2, replace=True) == b"lib"
    assert r.fcall("f", 0) == 2
    # a replacement that fails leaves the library as it was
    assert "Error compiling function" in load_error(r, "#!lua name=lib\nnot lua")
    assert r.fcall("f", 0) == 2
    # REPLACE may come more than once, in any case
    assert r.execute_command("FUNCTION", "LOAD", "replace", "REPLACE", code % 3) == b"lib"
    assert r.fcall("f", 0) == 3


def test_library_state_lives_between_calls(r):
    r.function_load("#!lua name=lib\nlocal calls = 0\n"
                    "redis.register_function('next', function() calls = calls + 1 "
                    "return calls end)")
    assert [r.fcall("next", 0) for _ in range(3)] == [1, 2, 3]


def test_functions_share_local_helpers(r):
    r.function_load("""#!lua name=lib
local function add(a, b) return a + b end
redis.register_function('add', function(keys, args) return add(args[1], args[2]) end)
redis.register_function('twice', function(keys, args) return add(args[1], args[1]) end)
""")
    assert r.fcall("add", 0, 2, 3) == 5
    assert r.fcall("twice", 0, 21) == 42


# -- what FUNCTION LOAD refuses ---------------------------------------------------------------

@pytest.mark.parametrize("code, message", [
    ("return 1", "Missing library metadata"),
    ("#!lua name=lib", "Invalid library metadata"),                  # no line feed
    ('#!lua name="lib\nreturn 1', "Invalid library metadata"),       # unbalanced quotes
    ("#!lua\nreturn 1", "Library name was not given"),
    ("#!lua name=lib foo=bar\nreturn 1", "Invalid metadata value given: foo=bar"),
    ("#!lua name=a name=b\nreturn 1",
     "Invalid metadata value, name argument was given multiple times"),
    ("#!lua name=bad-name\nreturn 1", BAD_NAME),
    ("#!lua name=\nreturn 1", BAD_NAME),
    ("#!python name=lib\nreturn 1", "Engine 'python' not found"),
    ("#!lua name=lib\nreturn 1", "No functions registered"),
    ("#!lua name=lib\nredis.register_function('f', function() return 1 end",
     "Error compiling function: user_function:2: ')' expected near '<eof>'"),
])
def test_library_metadata_and_code_errors(r, code, message):
    assert load_error(r, code) == message
    assert listing(r) == {}


def test_shebang_forms_redis_accepts(r):
    assert r.function_load('#!LUA   NAME="quoted"  \nredis.register_function('
                           "'f', function() return 1 end)") == b"quoted"
    assert r.fcall("f", 0) == 1


@pytest.mark.parametrize("call, message", [
    ("redis.register_function()", "wrong number of arguments to redis.register_function"),
    ("redis.register_function('f', function() end, 'description')",
     "wrong number of arguments to redis.register_function"),
    ("redis.register_function('f')", "calling redis.register_function with a single "
     "argument is only applicable to Lua table (representing named arguments)."),
    ("redis.register_function(nil, function() end)",
     "first argument to redis.register_function must be a string"),
    ("redis.register_function('f', 'not a function')",
     "second argument to redis.register_function must be a function"),
    ("redis.register_function('', function() end)", BAD_NAME),
    ("redis.register_function('a-b', function() end)", BAD_NAME),
    ("redis.register_function{callback=function() end}",
     "redis.register_function must get a function name argument"),
    ("redis.register_function{function_name='f'}",
     "redis.register_function must get a callback argument"),
    ("redis.register_function{function_name=function() end, callback=function() end}",
     "function_name argument given to redis.register_function must be a string"),
    ("redis.register_function{function_name='f', callback='x'}",
     "callback argument given to redis.register_function must be a function"),
    ("redis.register_function{function_name='f', callback=function() end, description={}}",
     "description argument given to redis.register_function must be a string"),
    ("redis.register_function{function_name='f', callback=function() end, flags='x'}",
     "flags argument to redis.register_function must be a table representing function "
     "flags"),
    ("redis.register_function{function_name='f', callback=function() end, flags={'x'}}",
     "unknown flag given"),
    ("redis.register_function{function_name='f', callback=function() end, other=1}",
     "unknown argument given to redis.register_function"),
    ("redis.register_function('f', function() end) redis.register_function('f', function() "
     "end)", "Function already exists in the library"),
])
def test_register_function_errors(r, call, message):
    assert load_error(r, f"#!lua name=lib\n{call}") == \
        f"Error registering functions: ERR {message}"


def test_numbers_pass_for_strings_in_register_function(r):
    r.function_load("#!lua name=lib\nredis.register_function{function_name=42, "
                    "callback=function() return 1 end, description=7}")
    assert listing(r) == {b"lib": {b"42": (b"7", set())}}
    assert r.fcall("42", 0) == 1


@pytest.mark.parametrize("code, message", [
    ("return math.floor(1)", "Script attempted to access nonexistent global variable 'math'"),
    ("return redis.call('ping')",
     "Script attempted to access nonexistent global variable 'call'"),
    ("redis.setresp(3)", "Script attempted to access nonexistent global variable 'setresp'"),
    ("local ok = pcall(print)", "Script attempted to access nonexistent global variable "
     "'pcall'"),
    ("counter = 1", "Attempt to modify a readonly table"),
    ("redis.extra = 1", "Attempt to modify a readonly table"),
    ("local x = nil + 1", "attempt to perform arithmetic on a nil value"),
])
def test_only_register_function_log_and_version_while_loading(r, code, message):
    """While its code loads, a library sees nothing but redis.register_function,
    redis.log and the version: no other part of the API, no standard library."""
    assert load_error(r, f"#!lua name=lib\n{code}") == \
        f"Error registering functions: ERR user_function:2: {message}"


def test_log_and_version_while_loading(r):
    r.function_load("#!lua name=lib\nredis.log(redis.LOG_NOTICE, 'loading')\n"
                    "local version = redis.REDIS_VERSION\n"
                    "redis.register_function('v', function() return version end)")
    assert r.fcall("v", 0) == r.info("server")["redis_version"].encode()


def test_runtime_errors_while_loading_give_the_line(r):
    assert load_error(r, "#!lua name=lib\nlocal t = {}\nt.x.y = 1") == \
        "Error registering functions: ERR user_function:3: attempt to index field 'x' (a " \
        "nil value)"


def test_function_names_clash_across_libraries(r):
    r.function_load("#!lua name=one\nredis.register_function('shared', function() end)")
    assert error_of(r, "FUNCTION", "LOAD", "#!lua name=two\n"
                    "redis.register_function('SHARED', function() end)") == \
        "Function SHARED already exists"
    assert set(listing(r)) == {b"one"}
    # replacing a library may keep its own function names
    r.function_load("#!lua name=one\nredis.register_function('shared', function() return 2 "
                    "end)", replace=True)
    assert r.fcall("shared", 0) == 2


# -- calling ---------------------------------------------------------------------------------

def test_fcall_argument_errors(r):
    r.function_load(GREETER)
    assert error_of(r, "FCALL", "nosuch", 0) == "Function not found"
    assert error_of(r, "FCALL_RO", "nosuch", "x") == "Function not found"
    assert error_of(r, "FCALL", "hello", "x") == "Bad number of keys provided"
    assert error_of(r, "FCALL", "hello", "99999999999999999999") == \
        "Bad number of keys provided"
    assert error_of(r, "FCALL", "hello", -1) == "Number of keys can't be negative"
    assert error_of(r, "FCALL", "hello", 2, "k") == \
        "Number of keys can't be greater than number of args"
    assert error_of(r, "FCALL", "hello") == "wrong number of arguments for 'fcall' command"
    assert error_of(r, "FCALL_RO", "hello") == \
        "wrong number of arguments for 'fcall_ro' command"


def test_runtime_errors_name_the_function_and_line(r):
    r.function_load("""#!lua name=lib
redis.register_function('boom', function()
    error('boom')
end)
redis.register_function('custom', function() error({err = 'MYCODE custom'}) end)
redis.register_function('index', function() local t = nil return t.x end)
redis.register_function('globals', function() return KEYS end)
redis.register_function('assign', function() counter = 1 end)
redis.register_function('call', function() return redis.call('nosuch') end)
redis.register_function('deep', function() local function f() return f() + 1 end return f() end)
""")
    assert error_of(r, "FCALL", "boom", 0) == \
        "user_function:3: boom script: boom, on @user_function:3."
    assert error_of(r, "FCALL", "custom", 0) == \
        "MYCODE custom script: custom, on @user_function:5."
    assert error_of(r, "FCALL", "index", 0) == ("user_function:6: attempt to index local "
                                                "'t' (a nil value) script: index, on "
                                                "@user_function:6.")
    assert error_of(r, "FCALL", "globals", 0) == (
        "user_function:7: Script attempted to access nonexistent global variable 'KEYS' "
        "script: globals, on @user_function:7.")
    assert error_of(r, "FCALL", "assign", 0) == ("user_function:8: Attempt to modify a "
                                                 "readonly table script: assign, on "
                                                 "@user_function:8.")
    assert error_of(r, "FCALL", "call", 0) == \
        "Unknown Redis command called from script script: call, on @user_function:9."
    assert "stack overflow script: deep, on @user_function:10." in error_of(r, "FCALL", "deep", 0)
    assert r.ping() is True


def test_register_function_is_only_for_loading(r):
    r.function_load("""#!lua name=lib
local loader = redis
redis.register_function('nested', function() redis.register_function('x', function() end) end)
redis.register_function('kept', function() loader.register_function('x', function() end) end)
redis.register_function('api', function() return {type(redis.call), type(cjson), type(bit)} end)
""")
    assert error_of(r, "FCALL", "nested", 0) == (
        "user_function:3: attempt to call field 'register_function' (a nil value) script: "
        "nested, on @user_function:3.")
    assert error_of(r, "FCALL", "kept", 0) == (
        "redis.register_function can only be called on FUNCTION LOAD command script: kept, "
        "on @user_function:4.")
    assert r.fcall("api", 0) == [b"function", b"table", b"table"]


def test_functions_may_not_call_scripting_commands(r):
    r.function_load("#!lua name=lib\nredis.register_function('f', function(keys, args) "
                    "return redis.call(unpack(args)) end)")
    for command in (["fcall", "f", "0"], ["function", "list"], ["eval", "return 1", "0"]):
        assert error_of(r, "FCALL", "f", 0, *command) == \
            "This Redis command is not allowed from script script: f, on @user_function:2."


def test_fcall_ro_and_the_no_writes_flag(r):
    r.function_load(GREETER)
    r.set("k", "v")
    assert error_of(r, "FCALL_RO", "remember", 1, "s", "x") == \
        "Can not execute a script with write flag using *_ro command."
    r.function_load("#!lua name=ro\nredis.register_function{function_name='sneaky', "
                    "callback=function(keys) return redis.call('set', keys[1], 'w') end, "
                    "flags={'no-writes'}}")
    for command in ("FCALL", "FCALL_RO"):
        assert error_of(r, command, "sneaky", 1, "k") == (
            "Write commands are not allowed from read-only scripts. script: sneaky, on "
            "@user_function:2.")
    assert r.get("k") == b"v"
    # EVAL_RO refuses a script whose shebang does not declare no-writes the same way
    assert error_of(r, "EVAL_RO", "#!lua\nreturn 1", 0) == \
        "Can not execute a script with write flag using *_ro command."
    assert r.eval_ro("#!lua flags=no-writes\nreturn 1", 0) == 1


def test_out_of_memory_and_the_flags(r):
    r.function_load("""#!lua name=lib
redis.register_function('write', function(keys) return redis.call('set', keys[1], 'w') end)
redis.register_function{function_name='read', flags={'no-writes'},
                        callback=function(keys) return redis.call('get', keys[1]) end}
redis.register_function{function_name='anyway', flags={'allow-oom'},
                        callback=function(keys) return redis.call('set', keys[1], 'a') end}
""")
    r.set("k", "v")
    r.config_set("maxmemory", 1)
    try:
        oom = "command not allowed when used memory > 'maxmemory'."
        assert error_of(r, "FCALL", "write", 1, "k") == oom
        assert r.fcall("read", 1, "k") == b"v"
        assert r.fcall("anyway", 1, "k") == b"OK"
        assert error_of(r, "FUNCTION", "LOAD", "#!lua name=more\n"
                        "redis.register_function('m', function() end)") == oom
    finally:
        r.config_set("maxmemory", 0)
    assert r.get("k") == b"a"


def test_fcall_in_a_transaction(r):
    r.function_load(GREETER)
    pipe = r.pipeline(transaction=True)
    pipe.fcall("remember", 1, "s", "a")
    pipe.function_load("#!lua name=later\nredis.register_function('later', function() "
                       "return 'loaded in MULTI' end)")
    pipe.fcall("count", 1, "s")
    assert pipe.execute() == [1, b"later", 1]
    assert r.fcall("later", 0) == b"loaded in MULTI"


def test_select_in_a_function_does_not_change_the_caller_database(r):
    r.function_load("#!lua name=lib\nredis.register_function('f', function() "
                    "redis.call('select', 9) return redis.call('set', 'k', 'in-9') end)")
    assert r.fcall("f", 0) == b"OK"
    assert r.get("k") is None
    options = r.connection_pool.connection_kwargs
    with redis.Redis(host=options["host"], port=options["port"], db=9) as db9:
        assert db9.get("k") == b"in-9"


def test_resp3_conversions_in_functions(r):
    r.hset("h", "f", "v")
    r.function_load("#!lua name=lib\nredis.register_function('f', function(keys) "
                    "redis.setresp(3) return redis.call('hgetall', keys[1]) end)")
    assert r.fcall("f", 1, "h") in ({b"f": b"v"}, [b"f", b"v"])


# -- FUNCTION DELETE, FLUSH, STATS, KILL -------------------------------------------------------

def test_delete_flush_and_stats(r):
    assert stats(r) == (None, 0, 0)
    r.function_load(GREETER)
    r.function_load("#!lua name=other\nredis.register_function('o', function() end)")
    assert stats(r) == (None, 2, 4)
    assert r.function_delete("greeter") is True
    assert stats(r) == (None, 1, 1)
    assert error_of(r, "FCALL", "hello", 0, "x") == "Function not found"
    assert error_of(r, "FUNCTION", "DELETE", "greeter") == "Library not found"
    assert r.function_flush() is True
    assert stats(r) == (None, 0, 0)
    r.function_load(GREETER)
    assert r.function_flush("ASYNC") is True
    assert listing(r) == {}


def test_flushall_keeps_functions(r):
    r.function_load(GREETER)
    r.flushall()
    r.flushdb()
    assert r.fcall("hello", 0, "still") == b"hello still"


def test_function_kill_finds_nothing_running(r):
    with pytest.raises(ResponseError, match="^NOTBUSY No scripts in execution right now.$"):
        r.function_kill()


def test_function_subcommand_errors(r):
    assert error_of(r, "FUNCTION") == "wrong number of arguments for 'function' command"
    assert error_of(r, "FUNCTION", "NOPE").startswith(
        "unknown subcommand 'NOPE'. Try FUNCTION HELP.")
    assert error_of(r, "FUNCTION", "LOAD") == \
        "wrong number of arguments for 'function|load' command"
    assert error_of(r, "FUNCTION", "LOAD", "FORCE", GREETER) == "Unknown option given: FORCE"
    assert error_of(r, "FUNCTION", "LOAD", "REPLACE") == "Missing library metadata"
    assert error_of(r, "FUNCTION", "DELETE") == \
        "wrong number of arguments for 'function|delete' command"
    assert error_of(r, "FUNCTION", "FLUSH", "NOW") == \
        "FUNCTION FLUSH only supports SYNC|ASYNC option"
    assert error_of(r, "FUNCTION", "FLUSH", "SYNC", "extra") == \
        "unknown subcommand or wrong number of arguments for 'FLUSH'. Try FUNCTION HELP."
    assert error_of(r, "FUNCTION", "LIST", "bogus") == "Unknown argument bogus"
    assert error_of(r, "FUNCTION", "LIST", "LIBRARYNAME") == \
        "library name argument was not given"
    assert error_of(r, "FUNCTION", "LIST", "WITHCODE", "withcode") == \
        "Unknown argument withcode"
    assert error_of(r, "FUNCTION", "LIST", "LIBRARYNAME", "a", "LIBRARYNAME", "b") == \
        "Unknown argument LIBRARYNAME"
    assert error_of(r, "FUNCTION", "STATS", "x") == \
        "wrong number of arguments for 'function|stats' command"
    assert error_of(r, "FUNCTION", "DUMP", "x") == \
        "wrong number of arguments for 'function|dump' command"


def test_function_help(r, server_version):
    lines = r.execute_command("FUNCTION", "HELP")
    text = b"\n".join(line if isinstance(line, bytes) else line.encode() for line in lines)
    for subcommand in (b"LOAD", b"DELETE", b"LIST", b"STATS", b"KILL", b"FLUSH", b"DUMP",
                       b"RESTORE"):
        assert subcommand in text
    # Every HELP has Redis's frame: the header first, HELP itself last (worded as a
    # command since 7.2)
    assert text.startswith(b"FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
    verb = b"Print" if server_version >= (7, 2) else b"Prints"
    assert text.endswith(b"\nHELP\n    " + verb + b" this help.")


# -- FUNCTION DUMP and RESTORE ------------------------------------------------------------------

def test_dump_and_restore(r):
    r.function_load(GREETER)
    r.function_load("#!lua name=other\nredis.register_function('o', function() return 'o' "
                    "end)")
    payload = r.function_dump()
    before = listing(r, withcode=True)
    r.function_flush()
    assert r.function_restore(payload) is True
    assert listing(r, withcode=True) == before
    assert r.fcall("hello", 0, "back") == b"hello back"


def test_restore_policies(r):
    original = "#!lua name=lib\nredis.register_function('f', function() return 'old' end)"
    r.function_load(original)
    payload = r.function_dump()
    newer = "#!lua name=lib\nredis.register_function('f', function() return 'new' end)"
    r.function_load(newer, replace=True)

    # APPEND (the default) refuses a library that exists; nothing changes
    assert error_of(r, "FUNCTION", "RESTORE", payload) == "Library lib already exists"
    assert error_of(r, "FUNCTION", "RESTORE", payload, "APPEND") == \
        "Library lib already exists"
    assert r.fcall("f", 0) == b"new"
    # REPLACE replaces it
    assert r.function_restore(payload, "REPLACE") is True
    assert r.fcall("f", 0) == b"old"
    # FLUSH drops every library first
    r.function_load("#!lua name=extra\nredis.register_function('e', function() end)")
    assert r.function_restore(payload, "flush") is True
    assert set(listing(r)) == {b"lib"}
    # APPEND adds libraries of other names
    r.function_flush()
    r.function_load("#!lua name=extra\nredis.register_function('e', function() end)")
    assert r.function_restore(payload) is True
    assert set(listing(r)) == {b"lib", b"extra"}


def test_restore_refuses_a_function_of_a_library_that_stays(r):
    r.function_load("#!lua name=lib\nredis.register_function('f', function() end)")
    payload = r.function_dump()
    r.function_flush()
    r.function_load("#!lua name=holder\nredis.register_function('F', function() end)")
    for policy in ("APPEND", "REPLACE"):
        assert error_of(r, "FUNCTION", "RESTORE", payload, policy) == \
            "Function f already exists"
    assert set(listing(r)) == {b"holder"}


def test_restore_errors(r):
    r.function_load(GREETER)
    payload = r.function_dump()
    damaged = payload[:5] + bytes([payload[5] ^ 1]) + payload[6:]
    for bad in (b"", b"bad payload", damaged, payload[:-1]):
        assert error_of(r, "FUNCTION", "RESTORE", bad) == \
            "DUMP payload version or checksum are wrong"
    assert error_of(r, "FUNCTION", "RESTORE", payload, "MERGE") == \
        "Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE."
    assert error_of(r, "FUNCTION", "RESTORE", payload, "FLUSH", "extra") == \
        "unknown subcommand or wrong number of arguments for 'RESTORE'. Try FUNCTION HELP."
    assert set(listing(r)) == {b"greeter"}                  # nothing changed


def test_function_and_key_payloads_are_told_apart(r):
    r.function_load(GREETER)
    r.set("k", "v")
    assert error_of(r, "FUNCTION", "RESTORE", r.dump("k")) == "given type is not a function"
    assert error_of(r, "RESTORE", "k2", 0, r.function_dump()) == "Bad data format"


def test_empty_dump_restores_nothing(r):
    empty = r.function_dump()
    r.function_load(GREETER)
    assert r.function_restore(empty) is True
    assert set(listing(r)) == {b"greeter"}
    assert r.function_restore(empty, "FLUSH") is True
    assert listing(r) == {}


# A library long enough that Redis compresses its code in the payload (LZF).
VERBOSE = "#!lua name=verbose\n" + "".join(
    f"redis.register_function('f{i}', function(keys, args) return 'result {i}' end)\n"
    for i in range(20))


@pytest.mark.parametrize("direction", ["redis-to-fromscratch", "fromscratch-to-redis"])
def test_payloads_cross_between_servers(kvdb_server, redis_server, direction):
    ours, theirs = connect(kvdb_server), connect(redis_server)
    source, target = (theirs, ours) if direction == "redis-to-fromscratch" else (ours, theirs)
    try:
        for client in (ours, theirs):
            client.function_flush()
        source.function_load(GREETER)
        source.function_load(VERBOSE)
        payload = source.function_dump()
        assert target.function_restore(payload) is True
        assert listing(target, withcode=True) == listing(source, withcode=True)
        assert target.fcall("hello", 0, "there") == b"hello there"
        assert target.fcall("f7", 0) == b"result 7"
        # and the target's dump of them goes back
        assert source.function_restore(target.function_dump(), "REPLACE") is True
        assert listing(source, withcode=True) == listing(target, withcode=True)
    finally:
        for client in (ours, theirs):
            client.function_flush()
            client.close()


# -- persistence --------------------------------------------------------------------------------

def _kill_if_running(node) -> None:
    if node.server is not None and node.server.process.poll() is None:
        node.server.process.kill()
        node.server.process.wait()


@pytest.mark.parametrize("kind", KINDS)
def test_libraries_survive_a_restart_from_the_snapshot(kind, tmp_path):
    node = Restartable(kind, str(tmp_path))
    client = node.start()
    try:
        client.function_load(GREETER)
        client.function_load("#!lua name=gone\nredis.register_function('g', function() end)")
        client.function_delete("gone")
        client.fcall("remember", 1, "s", "a", "b")
        assert client.save() is True
        node.kill()
        client = node.start()
        assert set(listing(client, withcode=True)) == {b"greeter"}
        assert listing(client, withcode=True)[b"greeter"][None] == GREETER.encode()
        assert client.fcall("count", 1, "s") == 2
    finally:
        _kill_if_running(node)


@pytest.mark.parametrize("kind", KINDS)
def test_libraries_survive_a_restart_from_the_append_only_file(kind, tmp_path):
    node = Restartable(kind, str(tmp_path), "--appendonly", "yes")
    client = node.start()
    try:
        client.function_load(GREETER)
        client.function_load("#!lua name=gone\nredis.register_function('g', function() end)")
        client.function_delete("gone")
        client.fcall("remember", 1, "s", "a", "b")
        node.stop()
        with open(node.aof_files()[-1], "rb") as handle:
            log = handle.read().upper()
        # the library changes as sent; a function's writes as their effects
        assert b"FUNCTION" in log and b"LOAD" in log and b"DELETE" in log
        assert b"FCALL" not in log and b"SADD" in log
        client = node.start()
        assert set(listing(client)) == {b"greeter"}
        assert client.fcall("count", 1, "s") == 2
    finally:
        _kill_if_running(node)


@pytest.mark.parametrize("kind", KINDS)
def test_libraries_survive_an_append_only_file_rewrite(kind, tmp_path):
    node = Restartable(kind, str(tmp_path), "--appendonly", "yes")
    client = node.start()
    try:
        client.function_load(GREETER)
        assert client.bgrewriteaof() is True
        deadline = time.time() + 20
        while client.info("persistence")["aof_rewrites"] < 1 and time.time() < deadline:
            time.sleep(0.1)
        client.function_load("#!lua name=after\nredis.register_function('a', function() "
                             "return 'after' end)")
        node.kill()
        client = node.start()
        assert set(listing(client)) == {b"greeter", b"after"}
        assert client.fcall("a", 0) == b"after"
    finally:
        _kill_if_running(node)


def test_library_code_runs_without_the_runtime_globals(r):
    # Loading sees only redis.register_function, redis.log and the version: not even
    # getmetatable.
    with pytest.raises(ResponseError) as info:
        r.function_load("#!lua name=test1\nmt = getmetatable(_G)")
    assert "Script attempted to access nonexistent global variable 'getmetatable'" in \
        str(info.value)


def test_functions_cannot_trick_the_global_protection(r):
    r.function_load("#!lua name=test1\nredis.register_function('f1', function()\n"
                    "  mt = getmetatable(_G)\n  original_globals = mt.__index\n"
                    "  original_globals['redis'] = function() return 1 end\nend)")
    with pytest.raises(ResponseError) as info:
        r.fcall("f1", 0)
    assert "Attempt to modify a readonly table" in str(info.value)


def test_functions_use_metatables(r):
    r.function_load("#!lua name=meta\nredis.register_function('f', function(keys, args)\n"
                    "  local counts = setmetatable({}, {__index = function() return 0 end})\n"
                    "  for _, word in ipairs(args) do counts[word] = counts[word] + 1 end\n"
                    "  return {counts.a, counts.b, counts.zzz}\nend)")
    assert r.fcall("f", 0, "a", "b", "a") == [2, 1, 0]


def test_info_counts_cached_scripts_functions_and_libraries(r):
    r.script_flush()
    r.function_flush()
    r.script_load("return 1")
    r.function_load("#!lua name=countlib\nredis.register_function('one', function() return 1 end)"
                    "\nredis.register_function('two', function() return 2 end)")
    memory = r.info("memory")
    assert (memory["number_of_cached_scripts"], memory["number_of_functions"],
            memory["number_of_libraries"]) == (1, 2, 1)
    r.function_flush()


def test_a_library_whose_code_runs_too_long_is_refused(r):
    with pytest.raises(redis.ResponseError, match="FUNCTION LOAD timeout"):
        r.function_load("#!lua name=endless\nlocal a = 1\nwhile 1 do a = a + 1 end")
    assert r.function_list() == [] and r.ping()
