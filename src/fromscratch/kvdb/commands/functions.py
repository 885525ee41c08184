"""Functions (Redis 7): FUNCTION LOAD|LIST|DELETE|FLUSH|DUMP|RESTORE|STATS|KILL, FCALL and
FCALL_RO.

A library is Lua code whose first line names it:

    #!lua name=mylib
    redis.register_function('greet', function(keys, args) return 'hi ' .. args[1] end)
    redis.register_function{function_name='count', callback=function(keys, args)
        return redis.call('scard', keys[1]) end, flags={'no-writes'}, description='...'}

FUNCTION LOAD runs that code once, with nothing in reach but register_function,
redis.log and the version (as in Redis), and keeps the functions it registered.
`FCALL greet 0 you` calls one with two tables, its keys and its other arguments;
FCALL_RO refuses functions that did not declare no-writes. Functions run in a Lua state
of their own, as in Redis, through the engine EVAL uses (scripting.py): the same redis
library, the same checks, and the same logging of their writes as MULTI ... EXEC.

Library names are case-sensitive, function names are not (`FCALL GREET 0` calls greet).

Libraries are part of the data: FUNCTION LOAD, DELETE, FLUSH and RESTORE change it, so
they are logged to the append-only file as sent, and snapshots carry the code of every
library (persistence/snapshot.py) to load again at start-up, as Redis's RDB does.

FUNCTION DUMP's payload is Redis's, in DUMP's envelope (serialize.py: the RDB version and
a CRC-64): for each library an RDB FUNCTION2 record with its code (persistence/rdb.py),
so libraries move between our servers and Redis both ways. As in Redis, FUNCTION
RESTORE refuses a key's DUMP ("given type is not a function"), and RESTORE a FUNCTION
DUMP ("Bad data format").

Left out: FUNCTION LOAD's time limit (EVAL has none either: see scripting.py), so a
library whose code never ends stops the server. Nothing runs while a command is read,
so FUNCTION STATS never shows a running function and FUNCTION KILL finds none.
"""

from __future__ import annotations

import re
import time

from ...glob import glob_match
from ...resp import ErrorReply, OrderedSet, ProtocolError, SimpleString, split_inline
from ..client import OK
from ..persistence.rdb import NotAFunction, RdbError, dump_functions, load_functions
from ..persistence.snapshot import CorruptSnapshot, deserialize_libraries
from ..scripting import LuaError, LuaInterrupt, LuaSyntaxError, LuaTable
from ..scripting.values import tostring, type_name
from ..table import command, container, subcommand
from .scripting import (BUSY, EVAL_FLAGS, MAY_WRITE, SCRIPT_FLAGS, basic_redis_api,
                        declared_call_flags, error_message, lua_array, protect_globals,
                        script_error, script_numkeys, set_error_metatable)
from .args import subcommand_syntax_error, text
from .serialize import LEGACY_VERSION, seal, unseal

CHUNK_NAME = "user_function"        # how Redis names a library's code in errors
ENGINE = "LUA"
LOAD_TIMEOUT = 0.5                  # seconds a library's code may run at FUNCTION LOAD
VALID_NAME = re.compile(r"[A-Za-z0-9_]+")
# Redis 7.0 words a bad function name this way too.
BAD_NUMKEYS = ErrorReply("ERR Bad number of keys provided")
BAD_NAME = ("Library names can only contain letters, numbers, or underscores(_) and must "
            "be at least one character long")


# -- libraries ----------------------------------------------------------------------------

class Function:
    __slots__ = ("name", "callback", "description", "flags", "library")

    def __init__(self, name: str, callback, description: str | None, flags: frozenset,
                 library: "Library"):
        self.name = name
        self.callback = callback          # a Lua function of the functions' Lua state
        self.description = description
        self.flags = flags
        self.library = library


class Library:
    __slots__ = ("name", "code", "functions")

    def __init__(self, name: str, code: bytes):
        self.name = name
        self.code = code                  # as loaded, first line included
        self.functions: dict[str, Function] = {}    # by lower-case name


class Registry:
    """Libraries by name, and all their functions by lower-case name (Redis's
    functionsLibCtx): the loaded ones, or those a FUNCTION RESTORE is reading."""

    def __init__(self):
        self.libraries: dict[str, Library] = {}
        self.functions: dict[str, Function] = {}

    def add(self, library: Library) -> None:
        self.libraries[library.name] = library
        self.functions.update(library.functions)

    def remove(self, library: Library) -> None:
        del self.libraries[library.name]
        for key in library.functions:
            del self.functions[key]

    def clash(self, functions: dict, replacing: list) -> Function | None:
        """The first of `functions` named like one of ours, leaving out the functions
        of the libraries in `replacing` (which are about to go)."""
        for key, function in functions.items():
            owner = self.functions.get(key)
            if owner is not None and owner.library not in replacing:
                return function
        return None

    def join(self, incoming: "Registry", replace: bool) -> None:
        """Add the libraries of `incoming` (FUNCTION RESTORE). One named like one of
        ours replaces it if `replace`, else it is an error; so is a function named like
        one of a library that stays. On an error nothing changes."""
        replaced = [self.libraries[name] for name in incoming.libraries
                    if name in self.libraries]
        if replaced and not replace:
            raise ErrorReply(f"ERR Library {replaced[0].name} already exists")
        clash = self.clash(incoming.functions, replaced)
        if clash is not None:
            raise ErrorReply(f"ERR Function {clash.name} already exists")
        for library in replaced:
            self.remove(library)
        for library in incoming.libraries.values():
            self.add(library)


def _parse_header(code: bytes) -> tuple[str, bytes]:
    """The library's name from its "#!lua name=<name>" first line, and the code after
    that line, from its line feed on (so that Lua counts lines as the user does)."""
    if not code.startswith(b"#!"):
        raise ErrorReply("ERR Missing library metadata")
    end = code.find(b"\n")
    if end < 0:
        raise ErrorReply("ERR Invalid library metadata")
    try:
        words = split_inline(code[:end])       # Redis splits it as it splits arguments
    except ProtocolError:
        raise ErrorReply("ERR Invalid library metadata") from None
    engine, name = words[0][2:], None
    for word in words[1:]:
        if word[:5].lower() != b"name=":
            raise ErrorReply(f"ERR Invalid metadata value given: {text(word)}")
        if name is not None:
            raise ErrorReply("ERR Invalid metadata value, name argument was given multiple "
                             "times")
        name = word[5:].decode("latin-1")
    if name is None:
        raise ErrorReply("ERR Library name was not given")
    if not VALID_NAME.fullmatch(name):
        raise ErrorReply(f"ERR {BAD_NAME}")
    if engine.upper() != ENGINE.encode():
        raise ErrorReply(f"ERR Engine '{text(engine)}' not found")
    return name, code[end:]


# -- redis.register_function's arguments --------------------------------------------------

def _as_string(value) -> str | None:
    """A Lua string, or a number as its string, as Lua's C API reads strings."""
    return tostring(value) if type(value) in (str, float) else None


def _positional_arguments(name, callback) -> tuple:
    """register_function(name, callback)."""
    name = _as_string(name)
    if name is None:
        raise script_error("ERR first argument to redis.register_function must be a string")
    if type_name(callback) != "function":
        raise script_error("ERR second argument to redis.register_function must be a "
                           "function")
    return name, callback, None, frozenset()


def _named_arguments(table) -> tuple:
    """register_function{function_name=..., callback=..., flags={...}, description=...}."""
    if type(table) is not LuaTable:
        raise script_error("ERR calling redis.register_function with a single argument is "
                           "only applicable to Lua table (representing named arguments).")
    name = callback = description = None
    flags = frozenset()
    for key, value in table.items():
        if type(key) not in (str, float):
            raise script_error("ERR named argument key given to redis.register_function is "
                               "not a string")
        argument = tostring(key).lower()
        if argument == "function_name":
            name = _as_string(value)
            if name is None:
                raise script_error("ERR function_name argument given to "
                                   "redis.register_function must be a string")
        elif argument == "description":
            description = _as_string(value)
            if description is None:
                raise script_error("ERR description argument given to "
                                   "redis.register_function must be a string")
        elif argument == "callback":
            if type_name(value) != "function":
                raise script_error("ERR callback argument given to redis.register_function "
                                   "must be a function")
            callback = value
        elif argument == "flags":
            if type(value) is not LuaTable:
                raise script_error("ERR flags argument to redis.register_function must be "
                                   "a table representing function flags")
            flags = _flags(value)
        else:
            raise script_error("ERR unknown argument given to redis.register_function")
    if name is None:
        raise script_error("ERR redis.register_function must get a function name argument")
    if callback is None:
        raise script_error("ERR redis.register_function must get a callback argument")
    return name, callback, description, flags


def _flags(table: LuaTable) -> frozenset:
    """The flags of {'no-writes', ...}: its array part, in any case."""
    flags = set()
    for value in table.array():
        flag = _as_string(value)
        if flag is None or flag.lower() not in SCRIPT_FLAGS:
            raise script_error("ERR unknown flag given")
        flags.add(flag.lower())
    return frozenset(flags)


# -- the engine ---------------------------------------------------------------------------

class FunctionEngine:
    """The loaded libraries, and the Lua state their code runs in."""

    def __init__(self, kv):
        self.kv = kv
        self.registry = Registry()
        self.interp = None                 # the functions' Lua state, made on first use
        self.load_globals = None           # the globals a library's code is loaded with
        self.loading: Library | None = None     # the library whose code is being loaded

    def _start(self) -> None:
        self.interp = self.kv.scripting.new_state(CHUNK_NAME)
        redis = LuaTable({**basic_redis_api(), "register_function": self._register_function})
        set_error_metatable(redis)         # Redis: "...nonexistent global variable 'call'"
        self.load_globals = LuaTable({"redis": redis})
        protect_globals(self.load_globals)

    def create(self, code: bytes, registry: Registry, replace: bool) -> Library:
        """FUNCTION LOAD's work: make a library of `code` and add it to `registry`,
        replacing the library of the same name if `replace`. Raises ErrorReply, with
        `registry` unchanged, for anything Redis refuses."""
        name, body = _parse_header(code)
        old = registry.libraries.get(name)
        if old is not None and not replace:
            raise ErrorReply(f"ERR Library '{name}' already exists")
        library = self._compile(name, code, body)
        clash = registry.clash(library.functions, [old] if old is not None else [])
        if clash is not None:
            raise ErrorReply(f"ERR Function {clash.name} already exists")
        if old is not None:
            registry.remove(old)
        registry.add(library)
        return library

    def _compile(self, name: str, code: bytes, body: bytes) -> Library:
        """Run the library's code: the functions it registers make the library."""
        if self.interp is None:
            self._start()
        interp = self.interp
        try:
            main = interp.load(body.decode("latin-1"))
        except LuaSyntaxError as error:
            raise ErrorReply(f"ERR Error compiling function: {error}") from None
        library = Library(name, code)
        # As Redis does, the code runs with other globals than the functions will.
        runtime_globals, interp.globals = interp.globals, self.load_globals
        self.loading = library
        deadline = time.monotonic() + LOAD_TIMEOUT
        interp.hook = lambda: _check_load_time(deadline)
        try:
            interp.call(main, [])
        except LuaError as error:
            message = f"ERR Error registering functions: {error_message(error)}"
            raise ErrorReply(message) from None
        finally:
            interp.globals, self.loading, interp.hook = runtime_globals, None, None
        if not library.functions:
            raise ErrorReply("ERR No functions registered")
        return library

    def _register_function(self, *args):
        library = self.loading
        if library is None:             # a function kept the load-time redis table
            raise script_error("ERR redis.register_function can only be called on FUNCTION "
                               "LOAD command")
        if len(args) == 1:
            name, callback, description, flags = _named_arguments(args[0])
        elif len(args) == 2:
            name, callback, description, flags = _positional_arguments(*args)
        else:
            raise script_error("ERR wrong number of arguments to redis.register_function")
        if not VALID_NAME.fullmatch(name):
            raise script_error(f"ERR {BAD_NAME}")
        key = name.lower()
        if key in library.functions:
            raise script_error("ERR Function already exists in the library")
        library.functions[key] = Function(name, callback, description, flags, library)
        return []

    def find(self, name: bytes) -> Function | None:
        return self.registry.functions.get(name.lower().decode("latin-1"))

    # -- persistence ---------------------------------------------------------------------

    def codes(self) -> list[bytes]:
        """The code of every library, in the order they were loaded: what a snapshot
        keeps."""
        return [library.code for library in self.registry.libraries.values()]

    def load_codes(self, codes: list[bytes], replace: bool = False) -> None:
        """Load libraries back from a snapshot."""
        for code in codes:
            self.create(code, self.registry, replace)

    def clear(self) -> None:
        self.registry = Registry()


def _changed(client) -> None:
    """The libraries are data: count the change, for the save rules and for the
    append-only file (which logs the command)."""
    client.kv.keyspace.dirty += 1


# -- FUNCTION DUMP / RESTORE payloads -----------------------------------------------------

def read_payload(payload: bytes, check_crc: bool = True) -> list[bytes]:
    """The libraries' code in a FUNCTION DUMP payload, with Redis's errors. (A payload
    of an earlier version of this server holds snapshot FUNCTION records: serialize.py.)"""
    version, body = unseal(payload, check_crc)
    try:
        if version == LEGACY_VERSION:
            return deserialize_libraries(body)
        return load_functions(body)
    except NotAFunction:
        raise ErrorReply("ERR given type is not a function") from None
    except (RdbError, CorruptSnapshot):
        raise ErrorReply("ERR Failed loading library payload") from None


def _check_load_time(deadline: float) -> None:
    if time.monotonic() > deadline:
        raise LuaInterrupt("FUNCTION LOAD timeout")


# -- FCALL --------------------------------------------------------------------------------

def _fcall(client, argv, read_only: bool):
    functions = client.kv.functions
    function = functions.find(argv[1])
    if function is None:
        raise ErrorReply("ERR Function not found")
    numkeys = script_numkeys(argv, BAD_NUMKEYS)
    keys, args = lua_array(argv[3:3 + numkeys]), lua_array(argv[3 + numkeys:])
    return client.kv.scripting.run(client, functions.interp, function.callback, [keys, args],
                                   function.name, function.flags, read_only, argv)


def _fcall_call_flags(kv, argv: list) -> frozenset:
    cmd = kv.table.lookup(argv[0])
    function = kv.functions.find(argv[1])
    return declared_call_flags(cmd.flags, function.flags if function is not None else None)


@command("fcall", arity=-3, flags=MAY_WRITE, numkeys_at=2, call_flags=_fcall_call_flags,
         group="scripting",
         since="7.0.0", summary="Invokes a function.",
         complexity="Depends on the function that is executed.",
         syntax="function numkeys [key...] [arg...]")
def fcall(client, argv):
    return _fcall(client, argv, read_only=False)


@command("fcall_ro", arity=-3, flags="readonly " + EVAL_FLAGS, numkeys_at=2,
         call_flags=_fcall_call_flags, group="scripting", since="7.0.0", summary="Invokes a read-only function.",
         complexity="Depends on the function that is executed.",
         syntax="function numkeys [key...] [arg...]")
def fcall_ro(client, argv):
    return _fcall(client, argv, read_only=True)


# -- FUNCTION -----------------------------------------------------------------------------

container("function", group="scripting", since="7.0.0",
          summary="A container for function commands.")


@subcommand("function", "load", arity=-3, flags="write denyoom noscript", since="7.0.0",
            summary="Creates a library.",
            complexity="O(1) (considering compilation time is redundant)",
            syntax="[REPLACE] function-code")
def function_load(client, argv):
    replace = False
    for option in argv[2:-1]:
        if option.upper() != b"REPLACE":
            raise ErrorReply(f"ERR Unknown option given: {text(option)}")
        replace = True
    functions = client.kv.functions
    library = functions.create(argv[-1], functions.registry, replace)
    _changed(client)
    return library.name.encode()


@subcommand("function", "delete", arity=3, flags="write noscript", since="7.0.0",
            summary="Deletes a library and its functions.", complexity="O(1)",
            syntax="library-name")
def function_delete(client, argv):
    registry = client.kv.functions.registry
    library = registry.libraries.get(argv[2].decode("latin-1"))
    if library is None:
        raise ErrorReply("ERR Library not found")
    registry.remove(library)
    _changed(client)
    return OK


@subcommand("function", "list", arity=-2, flags="noscript", since="7.0.0",
            summary="Returns information about all libraries.",
            complexity="O(N) where N is the number of functions",
            syntax="[LIBRARYNAME library-name-pattern] [WITHCODE]")
def function_list(client, argv):
    with_code, pattern = False, None
    position = 2
    while position < len(argv):
        word = argv[position].upper()
        if word == b"WITHCODE" and not with_code:
            with_code = True
        elif word == b"LIBRARYNAME" and pattern is None:
            if position + 1 >= len(argv):
                raise ErrorReply("ERR library name argument was not given")
            position += 1
            pattern = argv[position]
        else:
            raise ErrorReply(f"ERR Unknown argument {text(argv[position])}")
        position += 1
    return [_library_info(library, with_code)
            for library in client.kv.functions.registry.libraries.values()
            if pattern is None or glob_match(pattern, library.name.encode(), nocase=True)]


def _library_info(library: Library, with_code: bool) -> dict:
    info = {"library_name": library.name, "engine": ENGINE, "functions": [
        {"name": function.name,
         "description": None if function.description is None
         else function.description.encode("latin-1"),
         "flags": OrderedSet(SimpleString(flag) for flag in SCRIPT_FLAGS
                             if flag in function.flags)}
        for function in library.functions.values()]}
    if with_code:
        info["library_code"] = library.code
    return info


@subcommand("function", "stats", arity=2, flags="noscript allow_busy", since="7.0.0",
            summary="Returns information about a function during execution.",
            complexity="O(1)")
def function_stats(client, argv):
    registry = client.kv.functions.registry
    run = client.kv.scripting.running
    if run is not None and run.kind == "script":
        raise BUSY["script"]             # EVAL's script is not FUNCTION's business
    running = None if run is None else {
        "name": run.name, "command": run.command,
        "duration_ms": int((time.monotonic() - run.started) * 1000)}
    return {"running_script": running,
            "engines": {ENGINE: {"libraries_count": len(registry.libraries),
                                 "functions_count": len(registry.functions)}}}


@subcommand("function", "kill", arity=2, flags="noscript allow_busy", since="7.0.0",
            summary="Terminates a function during execution.", complexity="O(1)")
def function_kill(client, argv):
    client.kv.scripting.kill("function")
    return OK


@subcommand("function", "flush", arity=-2, flags="write noscript", since="7.0.0",
            summary="Deletes all libraries and functions.",
            complexity="O(N) where N is the number of functions deleted",
            syntax="[async: ASYNC | SYNC]")
def function_flush(client, argv):
    if len(argv) > 3:
        raise subcommand_syntax_error(argv)
    if len(argv) == 3 and argv[2].upper() not in (b"ASYNC", b"SYNC"):
        raise ErrorReply("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
    client.kv.functions.clear()
    _changed(client)
    return OK


@subcommand("function", "dump", arity=2, flags="noscript", since="7.0.0",
            summary="Dumps all libraries into a serialized binary payload.",
            complexity="O(N) where N is the number of functions")
def function_dump(client, argv):
    return seal(dump_functions(client.kv.functions.codes()))


@subcommand("function", "restore", arity=-3, flags="write denyoom noscript", since="7.0.0",
            summary="Restores all libraries from a payload.",
            complexity="O(N) where N is the number of functions on the payload",
            syntax="serialized-value [policy: FLUSH | APPEND | REPLACE]")
def function_restore(client, argv):
    if len(argv) > 4:
        raise subcommand_syntax_error(argv)
    policy = argv[3].upper() if len(argv) == 4 else b"APPEND"
    if policy not in (b"FLUSH", b"APPEND", b"REPLACE"):
        raise ErrorReply("ERR Wrong restore policy given, value should be either FLUSH, "
                         "APPEND or REPLACE.")
    functions = client.kv.functions
    incoming = Registry()
    for code in read_payload(argv[2], not client.kv.skip_checksum_validation):
        functions.create(code, incoming, replace=False)
    if policy == b"FLUSH":
        functions.registry = incoming
    else:
        functions.registry.join(incoming, replace=policy == b"REPLACE")
    _changed(client)
    return OK
