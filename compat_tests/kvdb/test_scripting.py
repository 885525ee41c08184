"""Lua scripting (EVAL, EVALSHA, EVAL_RO, SCRIPT) through redis-py, as applications use
it: the conversions both ways, the errors word for word, redis-py's Lock and
register_script, a rate limiter, cjson, bit, cmsgpack, and the append-only log of a script's writes."""

import hashlib
import re
import time

import pytest
import redis
from redis.exceptions import LockError, LockNotOwnedError, NoScriptError, ResponseError

from compat_tests.kvdb.conftest import Wire, raw
from compat_tests.kvdb.test_persistence import KINDS, Restartable
from fromscratch.resp import encode_command


def sha(script: str) -> str:
    return hashlib.sha1(script.encode()).hexdigest()


def error_of(r, *args) -> str:
    with pytest.raises(ResponseError) as info:
        r.execute_command(*args)
    return str(info.value)


# -- conversions ----------------------------------------------------------------------------

def test_lua_values_become_replies(r):
    assert r.eval("return 42", 0) == 42
    assert r.eval("return 3.99", 0) == 3                       # numbers are truncated
    assert r.eval("return -3.99", 0) == -3
    assert r.eval("return 'text'", 0) == b"text"
    assert r.eval("return true", 0) == 1
    assert r.eval("return false", 0) is None
    assert r.eval("return nil", 0) is None
    assert r.eval("return {1, 'two', {3, 'four'}, true, false, 'after'}", 0) == \
        [1, b"two", [3, b"four"], 1, None, b"after"]
    assert r.eval("return {1, 2, nil, 4}", 0) == [1, 2]        # nil ends the array
    assert r.eval("return {a = 1}", 0) == []
    assert r.eval("return {ok = 'FINE'}", 0) in ("FINE", b"FINE")
    assert r.eval("return redis.status_reply('PONG')", 0) in ("PONG", b"PONG")
    assert r.eval("return 'a\\0b'", 0) == b"a\x00b"


def test_lua_error_tables_become_error_replies(r):
    assert error_of(r, "EVAL", "return {err = 'MYERR something failed'}", 0) == \
        "MYERR something failed"
    assert error_of(r, "EVAL", "return redis.error_reply('-CODE text')", 0) == "CODE text"


def test_replies_become_lua_values(r):
    r.set("s", "bulk")
    r.rpush("l", "a", "b")
    script = """
        local out = {}
        out[1] = type(redis.call('incr', 'n'))            -- integer -> number
        out[2] = redis.call('get', 's')                   -- bulk -> string
        out[3] = tostring(redis.call('get', 'missing'))   -- null -> false
        out[4] = #redis.call('lrange', 'l', 0, -1)        -- array -> table
        out[5] = redis.call('set', 'k', 'v').ok           -- status -> {ok = ...}
        out[6] = redis.pcall('incr', 's').err             -- error -> {err = ...}
        out[7] = redis.call('ping').ok
        return out
    """
    assert r.eval(script, 0) == [b"number", b"bulk", b"false", 2, b"OK",
                                 b"ERR value is not an integer or out of range", b"PONG"]


def test_resp3_conversions_after_setresp(r):
    r.hset("h", "f", "v")
    r.zadd("z", {"m": 1.5})
    script = """
        redis.setresp(3)
        local map = redis.call('hgetall', KEYS[1])
        local score = redis.call('zscore', KEYS[2], 'm')
        return {map.map.f, tostring(score.double), tostring(redis.call('get', 'missing'))}
    """
    assert r.eval(script, 2, "h", "z") == [b"v", b"1.5", b"nil"]
    assert r.eval("redis.setresp(3) return redis.call('hgetall', KEYS[1])", 1, "h") in \
        ({b"f": b"v"}, [b"f", b"v"])


def test_keys_and_argv(r):
    assert r.eval("return {KEYS[1], KEYS[2], ARGV[1], ARGV[2], #KEYS, #ARGV}", 2,
                  "k1", "k2", "a1", "a2") == [b"k1", b"k2", b"a1", b"a2", 2, 2]
    assert r.eval("return #KEYS + #ARGV", 0) == 0


def test_numbers_as_command_arguments(r):
    assert r.eval("return redis.call('echo', 100)", 0) == b"100"
    assert r.eval("return redis.call('echo', 1.5)", 0) == b"1.5"
    r.eval("redis.call('set', KEYS[1], 7 * 6)", 1, "answer")
    assert r.get("answer") == b"42"


# -- the script cache ------------------------------------------------------------------------

def test_script_load_evalsha_exists_flush(r):
    script = "return ARGV[1] .. '!'"
    digest = r.script_load(script)
    assert digest == sha(script)
    assert r.evalsha(digest, 0, "hi") == b"hi!"
    assert r.evalsha(digest.upper(), 0, "hi") == b"hi!"
    assert r.script_exists(digest, "0" * 40) == [True, False]
    r.eval("return 'cached by eval'", 0)
    assert r.script_exists(sha("return 'cached by eval'")) == [True]
    assert r.script_flush() is True
    assert r.script_exists(digest) == [False]
    with pytest.raises(NoScriptError, match="No matching script. Please use EVAL."):
        r.evalsha(digest, 0)
    assert r.script_flush("ASYNC") is True


def test_script_command_errors(r):
    assert error_of(r, "SCRIPT", "FLUSH", "NOW") == "SCRIPT FLUSH only support SYNC|ASYNC option"
    assert error_of(r, "SCRIPT", "KILL") == "NOTBUSY No scripts in execution right now."
    assert error_of(r, "SCRIPT", "NOPE").startswith("unknown subcommand 'NOPE'. Try SCRIPT HELP.")
    assert error_of(r, "SCRIPT", "LOAD", "return +") == \
        "Error compiling script (new function): user_script:1: unexpected symbol near '+'"


def test_register_script(r):
    multiply = r.register_script("return redis.call('incrby', KEYS[1], ARGV[1]) * 2")
    r.script_flush()                                      # redis-py reloads on NOSCRIPT
    assert multiply(keys=["n"], args=[5]) == 10
    assert multiply(keys=["n"], args=[1]) == 12
    pipe = r.pipeline()
    multiply(keys=["n"], args=[1], client=pipe)
    assert pipe.execute() == [14]


# -- errors -----------------------------------------------------------------------------------

def test_numkeys_errors(r):
    assert error_of(r, "EVAL", "return 1", -1) == "Number of keys can't be negative"
    assert error_of(r, "EVAL", "return 1", 2, "a") == \
        "Number of keys can't be greater than number of args"
    assert error_of(r, "EVAL", "return 1", "x") == "value is not an integer or out of range"


def test_compile_errors(r):
    assert error_of(r, "EVAL", "return 1 +", 0) == \
        "Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'"
    assert error_of(r, "EVAL", "local x = \n\n = 3", 0) == \
        "Error compiling script (new function): user_script:3: unexpected symbol near '='"
    assert error_of(r, "EVAL", "if x then", 0) == \
        "Error compiling script (new function): user_script:1: 'end' expected near '<eof>'"


def test_runtime_errors_name_the_script_and_line(r):
    script = "local a = 1\nlocal b = nil\nreturn b.x"
    assert error_of(r, "EVAL", script, 0) == (
        "user_script:3: attempt to index local 'b' (a nil value) "
        f"script: {sha(script)}, on @user_script:3.")
    script = "error('boom')"
    assert error_of(r, "EVAL", script, 0) == \
        f"user_script:1: boom script: {sha(script)}, on @user_script:1."
    script = "error({err = 'MYCODE custom'})"
    assert error_of(r, "EVAL", script, 0) == \
        f"MYCODE custom script: {sha(script)}, on @user_script:1."
    script = "return undefined_global"
    assert error_of(r, "EVAL", script, 0) == (
        "user_script:1: Script attempted to access nonexistent global variable "
        f"'undefined_global' script: {sha(script)}, on @user_script:1.")
    script = "x = 1"
    assert error_of(r, "EVAL", script, 0) == \
        f"user_script:1: Attempt to modify a readonly table script: {sha(script)}, on @user_script:1."


def test_errors_from_redis_call(r):
    r.set("s", "not a number")
    script = "local x = 1\nreturn redis.call('incr', KEYS[1])"
    assert error_of(r, "EVAL", script, 1, "s") == (
        f"value is not an integer or out of range script: {sha(script)}, on @user_script:2.")
    for call, message in [
            ("redis.call('nosuch')", "Unknown Redis command called from script"),
            ("redis.call('get')", "Wrong number of args calling Redis command from script"),
            ("redis.call('get', {})", "Lua redis lib command arguments must be strings or integers"),
            ("redis.call()", "Please specify at least one argument for this redis lib call"),
            ("redis.call('multi')", "This Redis command is not allowed from script"),
            ("redis.call('blpop', 'q', 0)", "This Redis command is not allowed from script"),
            ("redis.call('eval', 'return 1', 0)", "This Redis command is not allowed from script"),
    ]:
        script = f"return {call}"
        assert error_of(r, "EVAL", script, 0) == \
            f"{message} script: {sha(script)}, on @user_script:1."
        # pcall catches them; the error is its message
        caught = f"local ok, e = pcall(function() {call} end) return {{tostring(ok), e}}"
        assert r.eval(caught, 0) == [b"false", b"ERR " + message.encode()]


def test_redis_pcall_returns_errors(r):
    r.set("s", "x")
    assert r.eval("local e = redis.pcall('incr', KEYS[1]) return e.err", 1, "s") == \
        b"ERR value is not an integer or out of range"
    assert error_of(r, "EVAL", "return redis.pcall('incr', KEYS[1])", 1, "s") == \
        "value is not an integer or out of range"


def test_read_only_scripts_refuse_writes(r):
    r.set("k", "v")
    assert r.eval_ro("return redis.call('get', KEYS[1])", 1, "k") == b"v"
    script = "return redis.call('set', KEYS[1], 'w')"
    assert error_of(r, "EVAL_RO", script, 1, "k") == (
        f"Write commands are not allowed from read-only scripts. script: {sha(script)}, "
        "on @user_script:1.")
    digest = r.script_load(script)
    with pytest.raises(ResponseError, match="Write commands are not allowed"):
        r.evalsha_ro(digest, 1, "k")
    shebang = "#!lua flags=no-writes\nreturn redis.call('set', KEYS[1], 'w')"
    with pytest.raises(ResponseError, match="Write commands are not allowed"):
        r.eval(shebang, 1, "k")
    assert r.get("k") == b"v"


def test_server_keeps_serving_after_script_errors(r):
    script = "local function f(n) return f(n + 1) + 1 end return f(1)"
    assert "stack overflow" in error_of(r, "EVAL", script, 0)
    assert r.ping() is True


# -- atomicity and transactions ------------------------------------------------------------------

def test_script_runs_atomically_and_sees_its_own_writes(r):
    script = """
        for i = 1, 100 do redis.call('incr', KEYS[1]) end
        return redis.call('get', KEYS[1])
    """
    assert r.eval(script, 1, "counter") == b"100"


def test_eval_in_multi(r):
    pipe = r.pipeline(transaction=True)
    pipe.set("k", "1")
    pipe.eval("return redis.call('incr', KEYS[1])", 1, "k")
    pipe.get("k")
    assert pipe.execute() == [True, 2, b"2"]


def test_select_in_a_script_does_not_change_the_caller_database(r):
    assert r.eval("redis.call('select', 9) redis.call('set', 'k', 'in-9') return 1", 0) == 1
    assert r.get("k") is None
    options = r.connection_pool.connection_kwargs
    with redis.Redis(host=options["host"], port=options["port"], db=9) as db9:
        assert db9.get("k") == b"in-9"


# -- what applications do -------------------------------------------------------------------------

def test_redis_py_lock(r, other):
    lock = r.lock("resource", timeout=5)
    assert lock.acquire(blocking=False) is True
    assert lock.owned() is True
    assert r.lock("resource", timeout=5).acquire(blocking=False) is False
    assert lock.extend(10) is True                          # EVALSHA of LUA_EXTEND_SCRIPT
    assert 10_000 < r.pttl("resource") <= 15_000
    assert lock.reacquire() is True                         # LUA_REACQUIRE_SCRIPT
    assert 4_000 < r.pttl("resource") <= 5_000

    stranger = other.lock("resource", timeout=5)
    stranger.local.token = b"not-the-owner"
    with pytest.raises(LockNotOwnedError):
        stranger.release()                                  # LUA_RELEASE_SCRIPT refuses
    stranger.local.token = b"not-the-owner"             # release() forgot it
    with pytest.raises(LockNotOwnedError):
        stranger.extend(5)
    assert r.exists("resource") == 1

    lock.release()
    assert r.exists("resource") == 0
    with pytest.raises(LockError):
        lock.release()
    with r.lock("resource", timeout=5, blocking_timeout=1):
        assert r.exists("resource") == 1


RATE_LIMITER = """
-- a sliding-window rate limiter: at most ARGV[2] calls per ARGV[1] milliseconds
local key, window, limit, now = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local used = redis.call('ZCARD', key)
if used >= limit then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    return {0, limit - used, tonumber(oldest[2]) + window - now}
end
redis.call('ZADD', key, now, now .. '-' .. used)
redis.call('PEXPIRE', key, window)
return {1, limit - used - 1, 0}
"""


def test_rate_limiter(r):
    limiter = r.register_script(RATE_LIMITER)
    now = 1_000_000
    results = [limiter(keys=["rate:user1"], args=[1000, 3, now + i]) for i in range(5)]
    assert results == [[1, 2, 0], [1, 1, 0], [1, 0, 0], [0, 0, 997], [0, 0, 996]]
    assert limiter(keys=["rate:user1"], args=[1000, 3, now + 1000]) == [1, 0, 0]
    assert 0 < r.pttl("rate:user1") <= 1000


def test_bit_library(r):
    """LuaBitOp: 32-bit operations whose results come back as signed numbers."""
    script = """
        return {bit.tobit(0xffffffff), bit.tobit(2^32 + 5), bit.tobit(2.5), bit.bnot(0),
                bit.band(0xff, 0x0f, 0x3), bit.bor(1, 2, 4), bit.bxor(5, 3),
                bit.lshift(1, 31), bit.lshift(1, 33), bit.rshift(-1, 28),
                bit.arshift(-256, 4), bit.rol(0x12345678, 8), bit.ror(0x12345678, 8),
                bit.bswap(0x12345678), bit.tohex(255), bit.tohex(-1, -4), bit.tohex(0x1234, 2)}
    """
    assert r.eval(script, 0) == [-1, 5, 2, -1, 3, 7, 6, -2147483648, 2, 15, -16, 878082066,
                                 2014458966, 2018915346, b"000000ff", b"FFFF", b"34"]
    with pytest.raises(redis.ResponseError, match="bad argument #1 to 'band' "
                                                  r"\(number expected, got no value\)"):
        r.eval("return bit.band()", 0)


def test_cmsgpack_library(r):
    """MessagePack as lua-cmsgpack writes it (byte for byte) and reads it back."""
    packed = r.eval("""
        local t = {} for i = 1, 20 do t[i] = i end
        return cmsgpack.pack(1, -1, 127, 128, -33, 255, 256, 65536, 2^32, -2^31, -2^40,
                             0.5, 0.1, 1/0, "hi", string.rep("x", 40), true, false, nil,
                             {1, 2, 3}, {}, t, {a = 1}, {[1] = 1, [3] = 3})
    """, 0)
    assert packed == (
        b"\x01\xff\x7f\xcc\x80\xd0\xdf\xcc\xff\xcd\x01\x00\xce\x00\x01\x00\x00"
        b"\xcf\x00\x00\x00\x01\x00\x00\x00\x00\xd2\x80\x00\x00\x00"
        b"\xd3\xff\xff\xff\x00\x00\x00\x00\x00\xca\x3f\x00\x00\x00"
        b"\xcb\x3f\xb9\x99\x99\x99\x99\x99\x9a\xca\x7f\x80\x00\x00\xa2hi"
        b"\xd9\x28" + b"x" * 40 + b"\xc3\xc2\xc0\x93\x01\x02\x03\x90\xdc\x00\x14"
        + bytes(range(1, 21)) + b"\x81\xa1a\x01\x82\x01\x01\x03\x03")
    assert r.eval("""
        local a, b, c = cmsgpack.unpack(cmsgpack.pack({1, {x = "y"}, "z"}, 2.5, -7))
        local o, v = cmsgpack.unpack_one(cmsgpack.pack(1, 2))
        return {a[1], a[2].x, a[3], tostring(b), c, o, v}
    """, 0) == [1, b"y", b"z", b"2.5", -7, 1, 1]
    assert r.eval("return cmsgpack.unpack(ARGV[1]).name", 0, b"\x81\xa4name\xa3Joe") == b"Joe"
    with pytest.raises(redis.ResponseError, match="Missing bytes in input"):
        r.eval("return cmsgpack.unpack(ARGV[1])", 0, b"\x92\x01")
    with pytest.raises(redis.ResponseError, match="Bad data format in input"):
        r.eval("return cmsgpack.unpack(ARGV[1])", 0, b"\xc7\x01")


def test_command_info_inside_a_script(r):
    """Flag sets (written in a fixed order) reach a script as arrays of status tables."""
    assert r.eval("local info = redis.call('COMMAND', 'INFO', 'get')[1] "
                  "return {info[1], info[3][1]['ok'], info[3][2]['ok']}", 0) == [
        b"get", b"readonly", b"fast"]


def test_stream_and_geo_replies_inside_a_script(r):
    """Replies the server keeps already encoded (stream entries, GEOPOS coordinates in
    RESP3) reach a script as the values they encode."""
    r.xadd("s", {"f": "v"}, id="1-1")
    assert r.eval("return redis.call('XRANGE', 's', '-', '+')", 0) == [[b"1-1", [b"f", b"v"]]]
    r.geoadd("g", (13.361389, 38.115556, "Palermo"))
    assert r.eval("redis.setresp(3) local p = redis.call('GEOPOS', 'g', 'Palermo')[1] "
                  "return {tostring(p[1]['double'] > 13.36), tostring(p[2]['double'] < 38.12)}",
                  0) == [b"true", b"true"]


def test_cjson(r):
    r.set("doc", '{"name": "Ann", "tags": ["a", "b"], "visits": 3, "ratio": 0.5}')
    script = """
        local doc = cjson.decode(redis.call('get', KEYS[1]))
        doc.visits = doc.visits + 1
        return {doc.name, #doc.tags, doc.visits, cjson.encode(doc.tags),
                cjson.encode({ok = true, n = 1.5})}
    """
    name, tags, visits, encoded_tags, encoded = r.eval(script, 1, "doc")
    assert (name, tags, visits, encoded_tags) == (b"Ann", 2, 4, b'["a","b"]')
    assert encoded in (b'{"ok":true,"n":1.5}', b'{"n":1.5,"ok":true}')
    assert r.eval("return cjson.encode({1, 2, 'x'})", 0) == b'[1,2,"x"]'
    assert r.eval("return cjson.decode('[1, null, 3]')[2] == cjson.null", 0) == 1


def test_string_and_table_libraries(r):
    script = """
        local parts = {}
        for word in string.gmatch(ARGV[1], '[^,]+') do
            table.insert(parts, string.upper(word))
        end
        table.sort(parts)
        return {table.concat(parts, '|'), string.format('%05.1f', 3.14159),
                (string.gsub(ARGV[1], ',', ';')), string.rep('ab', 3, nil)}
    """
    assert r.eval(script, 0, "pear,apple,fig") == \
        [b"APPLE|FIG|PEAR", b"003.1", b"pear;apple;fig", b"ababab"]


def test_sha1hex_and_log(r):
    assert r.eval("return redis.sha1hex('abc')", 0) == b"a9993e364706816aba3e25717850c26c9cd0d89d"
    assert r.eval("redis.log(redis.LOG_WARNING, 'from a script') return 1", 0) == 1
    assert r.eval("return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE}", 0) == [0, 1, 2]


# -- metatables and the protected globals ---------------------------------------------------------

def test_metatables(r):
    script = """
        local Vector = {}
        Vector.__index = Vector
        Vector.__add = function(a, b) return setmetatable({x = a.x + b.x}, Vector) end
        Vector.__eq = function(a, b) return a.x == b.x end
        Vector.__lt = function(a, b) return a.x < b.x end
        Vector.__le = function(a, b) return a.x <= b.x end
        Vector.__unm = function(a) return setmetatable({x = -a.x}, Vector) end
        Vector.__concat = function(a, b) return tostring(a) .. '&' .. tostring(b) end
        Vector.__tostring = function(a) return 'V' .. a.x end
        Vector.__call = function(self, k) return self.x * k end
        function Vector:double() return self.x * 2 end
        local a, b = setmetatable({x = 1}, Vector), setmetatable({x = 2}, Vector)
        return {(a + b).x, tostring(a == setmetatable({x = 1}, Vector)), tostring(a < b),
                tostring(b <= a), tostring(a > b), (-a).x, a .. b, a(10), a:double(),
                tostring(getmetatable(a) == Vector), tostring(rawequal(a, b))}
    """
    assert r.eval(script, 0) == [3, b"true", b"true", b"false", b"false", -1, b"V1&V2",
                                 10, 2, b"true", b"false"]


def test_index_and_newindex(r):
    script = """
        local defaults = setmetatable({}, {__index = {colour = 'red'}})
        local computed = setmetatable({}, {__index = function(t, k) return k .. '!' end})
        local log = {}
        local logged = setmetatable({}, {__newindex = function(t, k, v)
            log[#log + 1] = k
            rawset(t, k, v)
        end})
        logged.a = 1
        logged.a = 2          -- the field exists now: no __newindex
        logged.b = 3
        return {defaults.colour, tostring(rawget(defaults, 'colour')), computed.hi,
                table.concat(log, ','), logged.a}
    """
    assert r.eval(script, 0) == [b"red", b"nil", b"hi!", b"a,b", 2]


def test_protected_metatables(r):
    script = """
        local t = setmetatable({}, {__metatable = 'locked'})
        local ok, err = pcall(setmetatable, t, {})
        return {getmetatable(t), err, tostring(getmetatable('').__index == string)}
    """
    assert r.eval(script, 0) == [b"locked", b"cannot change a protected metatable", b"true"]


def test_metamethod_errors(r):
    assert "attempt to index a number value" in \
        error_of(r, "EVAL", "return setmetatable({}, {__index = 5}).x", 0)
    assert "loop in gettable" in \
        error_of(r, "EVAL", "local t = {} setmetatable(t, {__index = t}) return t.x", 0)
    assert "attempt to compare two table values" in error_of(
        r, "EVAL", "return setmetatable({}, {__lt = function() return true end}) < {}", 0)
    assert "bad argument #2 to 'setmetatable' (nil or table expected)" in \
        error_of(r, "EVAL", "setmetatable({}, 1)", 0)


def test_replies_ignore_metatables(r):
    # Redis reads a returned table raw: its __index is never called.
    assert r.eval("local a = {} setmetatable(a, {__index = function() foo() end}) "
                  "return a", 0) == []
    assert r.eval("return setmetatable({}, {__index = {err = 'no'}})", 0) == []


def test_globals_are_protected(r):
    assert error_of(r, "EVAL", "return nosuch", 0).startswith(
        "user_script:1: Script attempted to access nonexistent global variable 'nosuch'")
    for script in ("setmetatable(_G, {})", "getmetatable(_G).__index = {}", "x = 1",
                   "_G.x = 1", "redis.call = 1", "cjson.encode = 1",
                   "getmetatable('').__index = {}", "rawset(_G, 'x', 1)"):
        assert "Attempt to modify a readonly table" in error_of(r, "EVAL", script, 0), script
    assert r.eval("return type(getmetatable(_G).__index)", 0) == b"function"
    assert r.eval("return tostring(rawget(_G, 'nosuch'))", 0) == b"nil"


def test_tostring_and_format(r):
    assert r.eval("return tostring(setmetatable({}, {__tostring = function() "
                  "return 'custom' end}))", 0) == b"custom"
    assert "bad argument #2 to 'format' (string expected, got boolean)" in \
        error_of(r, "EVAL", "return string.format('%s', true)", 0)


# -- more of what Redis gives scripts ---------------------------------------------------------------

def test_cjson_settings(r):
    # The settings belong to the Lua state, which outlives the script: restore them.
    script = """
        local out = {}
        cjson.encode_max_depth(1)
        out[1] = select(2, pcall(cjson.encode, {a = {}}))
        cjson.encode_max_depth(1000)
        cjson.decode_max_depth(1)
        out[2] = select(2, pcall(cjson.decode, '{"obj": {"a": [1]}}'))
        cjson.decode_max_depth(1000)
        out[3] = cjson.encode_invalid_numbers('null')
        out[4] = cjson.encode({0/0})
        cjson.encode_invalid_numbers(false)
        out[5] = select(2, pcall(cjson.encode_max_depth, 0))
        out[6] = tostring(cjson.encode_keep_buffer(false))
        cjson.encode_keep_buffer(true)
        return out
    """
    reply = r.eval(script, 0)
    assert reply[:4] + reply[5:] == [
        b"Cannot serialise, excessive nesting (2)",
        b"Found too many nested data structures (2) at character 9",
        b"null", b"[null]", b"false"]
    # (Lua names the function '?' when pcall calls it; we name it anyway)
    assert reply[4].endswith(b"(expected integer between 1 and 2147483647)")


def test_acl_check_cmd(r, server):
    r.acl_setuser("bob", enabled=True, passwords=["+123"], commands=["+@scripting", "+set"],
                  keys=["x*"])
    try:
        bob = redis.Redis(host=server.host, port=server.port, username="bob", password="123")
        assert bob.eval("return redis.acl_check_cmd('set', 'xx', 1)", 1, "xx") == 1
        assert bob.eval("return redis.acl_check_cmd('hset', 'xx', 'f', 1)", 1, "xx") is None
        assert bob.eval("return redis.acl_check_cmd('set', 'yy', 1)", 0) is None
        assert "Invalid command passed to redis.acl_check_cmd()" in \
            error_of(bob, "EVAL", "return redis.acl_check_cmd('invalid-cmd', 'arg')", 0)
    finally:
        r.acl_deluser("bob")


def test_error_reply_wording(r):
    # A message gets an error code: its first word, or ERR when it is one word.
    assert r.eval("return redis.error_reply('oops').err", 0) == b"ERR oops"
    assert r.eval("return redis.error_reply('-X').err", 0) == b"ERR X"
    assert r.eval("return redis.error_reply('').err", 0) == b"ERR "
    assert error_of(r, "EVAL", "return redis.error_reply('MY_CODE some text')", 0) == \
        "MY_CODE some text"


def test_recursive_table_reply_ends_in_an_error(server):
    # A table that contains itself: nested arrays, then the error where Lua runs out of
    # stack (the depth differs between servers; too deep for redis-py's parser).
    reply = raw(server, encode_command(["EVAL", "local a = {} local b = {a} a[1] = b "
                                        "return a", "0"]), b"limit\r\n")
    nested, error = reply.rsplit(b"*1\r\n", 1)
    assert error == b"-ERR reached lua stack limit\r\n"
    assert nested == b"*1\r\n" * (nested.count(b"*1\r\n")) and nested.count(b"*1") > 100


def test_big_number_and_verbatim_replies(server, protocol):
    wire = Wire(server, protocol)
    try:
        resp3 = protocol == 3
        assert wire.call("EVAL", "return {big_number = '123'}", 0) == \
            (b"(123\r\n" if resp3 else b"$3\r\n123\r\n")
        assert wire.call("EVAL", "return {verbatim_string = {format = 'txt', "
                                 "string = 'hello'}}", 0) == \
            (b"=9\r\ntxt:hello\r\n" if resp3 else b"$5\r\nhello\r\n")
    finally:
        wire.close()
    # Any text is sent as it is, line breaks made spaces (more than readers take).
    hello = encode_command(["HELLO", "3"]) if protocol == 3 else b""
    reply = raw(server, hello + encode_command(["EVAL", "return {big_number = '12\\r\\n3x'}",
                                                "0"]), b"3x\r\n")
    assert reply.endswith(b"\r\n(12  3x\r\n") if protocol == 3 else \
        reply == b"$6\r\n12  3x\r\n"


def test_debug_set_disable_deny_scripts(r):
    assert "This Redis command is not allowed from script" in \
        error_of(r, "EVAL", "return redis.call('debug', 'protocol', 'true')", 0)
    r.execute_command("DEBUG", "SET-DISABLE-DENY-SCRIPTS", 1)
    try:
        assert r.eval("return redis.call('debug', 'protocol', 'attrib')", 0) == \
            b"Some real reply following the attribute"
    finally:
        r.execute_command("DEBUG", "SET-DISABLE-DENY-SCRIPTS", 0)


# -- persistence ----------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_script_writes_are_logged_as_their_effects(kind, tmp_path):
    node = Restartable(kind, str(tmp_path), "--appendonly", "yes")
    client = node.start()
    try:
        client.sadd("s", "a", "b", "c")
        popped = client.eval("""
            redis.call('set', KEYS[1], 'v')
            redis.call('expire', KEYS[1], 100)
            return redis.call('spop', KEYS[2])
        """, 2, "k", "s")
        node.stop()
        with open(node.aof_files()[-1], "rb") as handle:
            log = handle.read()
        assert b"EVAL" not in log.upper()
        assert b"MULTI" in log and b"PEXPIREAT" in log and b"SREM" in log
        client = node.start()
        assert client.get("k") == b"v" and 90 < client.ttl("k") <= 100
        assert popped not in client.smembers("s") and client.scard("s") == 2
    finally:
        if node.server.process.poll() is None:
            node.server.process.kill()
            node.server.process.wait()


def test_scripts_do_not_block_other_clients_for_long(r, other):
    started = time.monotonic()
    r.eval("local s = 0 for i = 1, 20000 do s = s + i end return s", 0)
    assert time.monotonic() - started < 5
    assert other.ping() is True


def test_time_stands_still_while_a_script_runs(r):
    # A key set to expire in 1 ms is still there after a 10 ms sleep in the same script.
    r.execute_command("DEBUG", "SET-DISABLE-DENY-SCRIPTS", 1)     # for DEBUG SLEEP
    try:
        assert r.eval("""
            redis.call('SET', KEYS[1], 'value', 'PX', 1)
            redis.call('DEBUG', 'SLEEP', 0.01)
            return redis.call('EXISTS', KEYS[1])""", 1, "frozen") == 1
    finally:
        r.execute_command("DEBUG", "SET-DISABLE-DENY-SCRIPTS", 0)
    time.sleep(0.01)
    assert r.exists("frozen") == 0


def _stats(r):
    errors = {key.removeprefix("errorstat_"): value["count"]
              for key, value in r.info("errorstats").items()}
    commands = {key.removeprefix("cmdstat_"): (value["calls"], value["rejected_calls"],
                                               value["failed_calls"])
                for key, value in r.info("commandstats").items()}
    return errors, commands, r.info("stats")["total_error_replies"]


def test_script_errors_are_counted_once_where_they_arise(r):
    # A command's error inside a script counts (errorstats, its failed or rejected
    # calls) once; the script answering it fails without counting the error again.
    try:
        r.config_resetstat()
        r.config_set("maxmemory", 1)
        with pytest.raises(ResponseError, match="command not allowed when used memory"):
            r.eval("return redis.call('set','x','y')", 1, "x")
        errors, commands, total = _stats(r)
        assert errors == {"OOM": 1} and total == 1
        assert commands["set"][1:] == (1, 0) and commands["eval"] == (1, 0, 1)

        r.config_resetstat()
        assert r.eval("return redis.pcall('set','x','y')['err'] ~= nil", 1, "x") == 1
        errors, commands, total = _stats(r)
        assert errors == {"OOM": 1} and total == 1 and commands["eval"] == (1, 0, 0)

        r.config_resetstat()
        with pytest.raises(ResponseError, match="command not allowed when used memory"):
            r.eval("return redis.pcall('set','x','y')", 1, "x")     # the error, returned
        errors, commands, total = _stats(r)
        assert errors == {"OOM": 1} and total == 1 and commands["eval"] == (1, 0, 1)
    finally:
        r.config_set("maxmemory", 0)

    r.config_resetstat()
    with pytest.raises(ResponseError, match="DB index is out of range"):
        r.eval("return redis.call('select',99)", 0)
    errors, commands, total = _stats(r)
    assert errors == {"ERR": 1} and total == 1
    assert commands["select"] == (1, 0, 1) and commands["eval"] == (1, 0, 1)

    r.config_resetstat()
    with pytest.raises(ResponseError, match="custom msg"):
        r.eval("return redis.error_reply('MY_ERR_CODE custom msg')", 0)
    errors, commands, total = _stats(r)
    assert errors == {"MY_ERR_CODE": 1} and total == 1 and commands["eval"] == (1, 0, 1)


@pytest.mark.parametrize("script, expected", [
    # struct (lua_struct, as Redis bundles it)
    ("return struct.pack('>I', 1)", b"\x00\x00\x00\x01"),
    ("return struct.pack('<i2', -2)", b"\xfe\xff"),
    ("return struct.pack('bBhH', -1, 255, -300, 65000)", b"\xff\xff\xd4\xfe\xe8\xfd"),
    ("return struct.pack('lLT', -5, 7, 9)",
     b"\xfb" + b"\xff" * 7 + b"\x07" + bytes(7) + b"\x09" + bytes(7)),
    ("return struct.pack('!4 b i', 1, 2)", b"\x01\x00\x00\x00\x02\x00\x00\x00"),
    ("return struct.pack('!bd', 1, 1.5)", b"\x01" + bytes(7) + b"\x00" * 6 + b"\xf8?"),
    ("return struct.pack('s c3 c0', 'ab', 'xyz', 'hello')", b"ab\x00xyzhello"),
    ("return struct.pack('>i9', -1)", b"\x00" + b"\xff" * 8),
    ("return {struct.unpack('>I', struct.pack('>I', 4000000000))}", [4000000000, 5]),
    ("return {struct.unpack('HH', struct.pack('HH', 1, 2))}", [1, 2, 5]),
    ("return {struct.unpack('i', struct.pack('i', -7))}", [-7, 5]),
    ("return {struct.unpack('b c0', struct.pack('b', 3) .. 'abcdef')}", [b"abc", 5]),
    ("return {struct.unpack('s s', 'ab\\0cd\\0')}", [b"ab", b"cd", 7]),
    ("return {struct.unpack('I2', 'abcd', 3)}", [25699, 5]),
    ("return tostring(struct.unpack('f', struct.pack('f', 0.1)))", b"0.10000000149012"),
    ("return struct.size('!8 b d i3 c5')", 26),
    ("local ok, e = pcall(struct.pack, 'z', 1) return e",
     b"bad argument #1 to '?' (invalid format option 'z')"),
    ("local ok, e = pcall(struct.size, 's') return e",
     b"bad argument #1 to '?' (option 's' has no fixed size)"),
    ("local ok, e = pcall(struct.unpack, 'I', 'ab') return e",
     b"bad argument #2 to '?' (data string too short)"),
    ("local ok, e = pcall(struct.pack, 'c5', 'ab') return e",
     b"bad argument #3 to '?' (string too short)"),
    ("local ok, e = pcall(struct.unpack, 's', 'ab') return e", b"unfinished string in data"),
    ("local ok, e = pcall(struct.pack, 'i33', 1) return e",
     b"integral size 33 is larger than limit of 32"),
    ("local ok, e = pcall(struct.unpack, 'c0', 'ab') return e",
     b"format 'c0' needs a previous size"),
    # loadstring, and its chunk names in syntax errors
    ("return loadstring('return 1 + 2')()", 3),
    ("local f, e = loadstring('return +') return e",
     b"[string \"return +\"]:1: unexpected symbol near '+'"),
    ("local f, e = loadstring('local a = 1\\nreturn +') return e",
     b"[string \"local a = 1...\"]:2: unexpected symbol near '+'"),
    ("local f, e = loadstring('x = ', '=named') return e",
     b"named:1: unexpected symbol near '<eof>'"),
    ("local f, e = loadstring(string.rep('x', 70)) return e",
     b"[string \"" + b"x" * 63 + b"...\"]:1: '=' expected near '<eof>'"),
    # the rest of Lua 5.1's library, and the redis debugger's calls outside a session
    ("return tostring(redis.breakpoint())", b"false"),
    ("redis.debug('x') return 1", 1),
    ("return {math.frexp(8)}", [0, 4]),                  # 0.5 becomes 0 as an integer
    ("return math.ldexp(0.5, 4)", 8),
    ("return math.mod(7, 3)", 1),
    ("local t = {} for w in string.gfind('a b', '%a') do t[#t+1] = w end return t",
     [b"a", b"b"]),
    ("return table.foreachi({5, 6}, function(i, v) if v == 6 then return i end end)", 2),
    ("local t = {} table.foreach({a=1}, function(k, v) t[#t+1] = k .. v end) return t",
     [b"a1"]),
    ("local ok, e = pcall(table.setn, {}, 1) return e", b"'setn' is obsolete"),
    ("local ok, e = pcall(string.rep) return e",
     b"bad argument #1 to '?' (string expected, got no value)"),
])
def test_lua_libraries_redis_gives_scripts(r, script, expected):
    assert r.eval(script, 0) == expected


def test_string_dump_gives_a_binary_chunk_that_loadstring_refuses(r):
    # Redis's scripting.tcl: loadstring reads text only, so a dumped function does
    # not load back (and calling what it gives calls nil).
    with pytest.raises(redis.ResponseError, match="attempt to call a nil value"):
        r.eval("return loadstring(string.dump(function() return 1 end))()", 0)
    assert r.eval("return {string.byte(string.dump(function() end), 1, 5)}", 0) == \
        [27, 76, 117, 97, 81]                               # ESC "LuaQ"
    with pytest.raises(redis.ResponseError, match="unable to dump given function"):
        r.eval("return string.dump(string.len)", 0)
    with pytest.raises(redis.ResponseError, match=r"bad argument #1 to 'dump' \(function "
                                                  r"expected, got no value\)"):
        r.eval("return string.dump()", 0)


def test_a_script_that_wrote_is_not_stopped_halfway(r):
    # As Redis: the checks that refuse a write (OOM here; MISCONF and NOREPLICAS too)
    # apply until the script's first write; after it, stopping would leave half its work.
    r.delete("big", "after")
    used = r.info("memory")["used_memory"]
    r.config_set("maxmemory-policy", "noeviction")
    r.config_set("maxmemory", used + 200_000)
    try:
        assert r.eval("redis.call('set', 'big', string.rep('x', 1000000)) "
                      "redis.call('set', 'after', 'still written') return 1", 0) == 1
        assert r.get("after") == b"still written"
        with pytest.raises(redis.exceptions.OutOfMemoryError):
            r.eval("redis.call('set', 'another', 'no') return 1", 0)
    finally:
        r.config_set("maxmemory", 0)
        r.delete("big", "after")


def test_a_stale_replica_runs_only_scripts_that_allow_it(start):
    # Redis's scripting.tcl: a replica whose primary is down, with
    # replica-serve-stale-data no, refuses a script without flags or without
    # allow-stale (MASTERDOWN), and inside one that allows it, commands that are not
    # flagged stale (GET; not ECHO).
    server = start("--replica-serve-stale-data", "no", "--replicaof", "127.0.0.1", "1")
    client = redis.Redis(host=server.host, port=server.port)
    masterdown = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
    for script in ("return 1", "#!lua flags=no-writes\nreturn 1"):
        with pytest.raises(redis.ResponseError, match=re.escape(masterdown.split(" ", 1)[1])):
            client.eval(script, 0)
    assert client.eval("#!lua flags=allow-stale,no-writes\nreturn 1", 0) == 1
    assert client.eval("#!lua flags=allow-stale,no-writes\n"
                       "return redis.call('echo', 'foobar')", 0) == b"foobar"
    with pytest.raises(redis.ResponseError, match="Can not execute the command on a stale "
                                                  "replica"):
        client.eval("#!lua flags=allow-stale,no-writes\nreturn redis.call('get', 'x')", 1, "x")
    client.close()
