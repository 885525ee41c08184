"""The Lua interpreter's semantics: each snippet's results, as Lua 5.1 gives them."""

import math

import pytest

from fromscratch.kvdb.scripting import Interpreter, LuaError, LuaSyntaxError, LuaTable


def run(source: str, *args):
    interp = Interpreter()
    return interp.call(interp.load(source), list(args))


def error_of(source: str):
    with pytest.raises(LuaError) as info:
        run(source)
    return info.value.value


CASES = [
    # numbers: doubles, with string coercion in arithmetic
    ("return 1 + 2", [3.0]),
    ("return 10 / 4", [2.5]),
    ("return 7 % 3, -7 % 3, 7 % -3, 5.5 % 2", [1.0, 2.0, -2.0, 1.5]),
    ("return 2 ^ 10, 2 ^ 0.5 == math.sqrt(2)", [1024.0, True]),
    ("return -2 ^ 2", [-4.0]),                         # ^ binds tighter than unary minus
    ("return 2 ^ 3 ^ 2", [512.0]),                     # and is right associative
    ("return 1 + 2 * 3 - 4 / 2", [5.0]),
    ("return '10' + 5, '0x10' * 1, ' 3 ' - 1", [15.0, 16.0, 2.0]),
    ("return 1e3, .5, 0xff, 3.", [1000.0, 0.5, 255.0, 3.0]),
    ("return 1 / 0, -1 / 0", [math.inf, -math.inf]),
    # strings: concatenation coerces numbers, integers print without .0
    ("return 'a' .. 'b' .. 1 .. 2.5", ["ab12.5"]),
    ("return 1 .. ''", ["1"]),
    ("return 'x' .. 1e15, 'x' .. 0.1, 'x' .. 1/3", ["x1e+15", "x0.1", "x0.33333333333333"]),
    ("return #'hello', #''", [5.0, 0.0]),
    ("return 'a\\tb\\n', '\\65\\066', 'it\\'s', \"q\\\"\"", ["a\tb\n", "AB", "it's", 'q"']),
    ("return [[long\nstring]], [==[with ]] inside]==]", ["long\nstring", "with ]] inside"]),
    ("return [[\nfirst newline skipped]]", ["first newline skipped"]),
    ("return 'a' < 'b', 'abc' < 'abd', 'Z' < 'a', '' < 'a'", [True, True, True, True]),
    # truthiness: only nil and false are false
    ("return not nil, not false, not 0, not ''", [True, True, False, False]),
    ("return nil or 'd', false or nil, 0 and 'y', nil and 1", ["d", None, "y", None]),
    ("if 0 then return 'zero is true' end", ["zero is true"]),
    # comparison and equality
    ("return 1 == 1.0, '1' == 1, 1 ~= 2, {} == {}", [True, False, True, False]),
    ("local t = {} return t == t, true == 1", [True, False]),
    ("return 1 < 2, 2 <= 2, 3 > 4, 4 >= 5", [True, True, False, False]),
    # local and global variables, multiple assignment
    ("x = 5 return x", [5.0]),
    ("local a, b, c = 1, 2 return a, b, c", [1.0, 2.0, None]),
    ("local a, b = 1, 2 a, b = b, a return a, b", [2.0, 1.0]),
    ("local a = 1 do local a = 2 end return a", [1.0]),
    ("local x = 1 local x = x + 1 return x", [2.0]),
    ("local i = 1 local t = {} i, t[i] = i + 1, 20 return i, t[1], t[2]", [2.0, 20.0, None]),
    # control flow
    ("local s = 0 for i = 1, 10 do s = s + i end return s", [55.0]),
    ("local s = 0 for i = 10, 1, -2 do s = s + i end return s", [30.0]),
    ("local n = 0 for i = 1, 0 do n = n + 1 end return n", [0.0]),
    ("local s = 0 for i = 0.5, 2 do s = s + i end return s", [2.0]),
    ("local i = 0 while i < 5 do i = i + 1 end return i", [5.0]),
    ("local i = 0 repeat local j = i i = i + 1 until j >= 3 return i", [4.0]),
    ("local i = 0 while true do i = i + 1 if i == 3 then break end end return i", [3.0]),
    ("for i = 1, 3 do for j = 1, 3 do if j == 2 then break end end end return 'ok'", ["ok"]),
    ("local x = 5 if x > 10 then return 'a' elseif x > 3 then return 'b' else return 'c' end",
     ["b"]),
    ("local t = {} for i = 1, 3 do if i == 2 then return i end end", [2.0]),
    # tables
    ("local t = {1, 2, 3} return #t, t[1], t[3]", [3.0, 1.0, 3.0]),
    ("local t = {x = 1, ['y z'] = 2, [3] = 'c'} return t.x, t['y z'], t[3]", [1.0, 2.0, "c"]),
    ("local t = {a = {b = {c = 42}}} return t.a.b.c", [42.0]),
    ("local t = {} t[1.0] = 'one' return t[1]", ["one"]),
    ("local t = {} t[true] = 'yes' t[1] = 'one' return t[true], t[1]", ["yes", "one"]),
    ("local t = {} for i = 1, 100 do t[#t + 1] = i end return #t", [100.0]),
    ("local t = {1, 2, 3} t[#t] = nil return #t", [2.0]),
    ("local t = {1, nil, 3} return #t", [3.0]),
    ("local t = {10, 20; 30,} return #t", [3.0]),
    ("local t = {} t.x = 1 t.x = nil return next(t)", [None]),
    # functions, closures, varargs, multiple results
    ("local function f(a, b) return a + b, a * b end return f(3, 4)", [7.0, 12.0]),
    ("local function f() return 1, 2 end local t = {f(), f()} return #t", [3.0]),
    ("local function f() return 1, 2 end return (f())", [1.0]),
    ("local function f() return 1, 2 end local a, b, c = f() return c", [None]),
    ("local function f() return 1, 2 end local a, b, c = f(), 10 return a, b, c",
     [1.0, 10.0, None]),
    ("local function f(...) return select('#', ...) end return f(), f(nil, nil)", [0.0, 2.0]),
    ("local function f(...) return ... end return f(1, 2, 3)", [1.0, 2.0, 3.0]),
    ("local function f(a, ...) local t = {...} return a, #t end return f(1, 2, 3)",
     [1.0, 2.0]),
    ("return select(2, 'a', 'b', 'c')", ["b", "c"]),
    ("return select(-1, 'a', 'b', 'c')", ["c"]),
    ("local function counter() local n = 0 return function() n = n + 1 return n end end "
     "local c = counter() c() c() return c()", [3.0]),
    ("local fs = {} for i = 1, 3 do fs[i] = function() return i end end "
     "return fs[1](), fs[2](), fs[3]()", [1.0, 2.0, 3.0]),
    ("local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end "
     "return fib(20)", [6765.0]),
    ("local t = {n = 0} function t.inc(self, k) self.n = self.n + k return self end "
     "t:inc(2):inc(3) return t.n", [5.0]),
    ("local obj = {v = 7} function obj:get() return self.v end return obj:get()", [7.0]),
    ("return (function(...) return select('#', ...) end)(1, nil, 3)", [3.0]),
    ("local s = 'abc' return s:upper(), ('x'):rep(3), s:len()", ["ABC", "xxx", 3.0]),
    # iteration
    ("local s = 0 for i, v in ipairs({5, 6, 7}) do s = s + i * v end return s", [38.0]),
    ("local n = 0 for i, v in ipairs({1, 2, nil, 4}) do n = n + 1 end return n", [2.0]),
    ("local s = 0 for k, v in pairs({a = 1, b = 2, 3}) do s = s + v end return s", [6.0]),
    ("local t = {a = 1, b = 2, c = 3} for k in pairs(t) do t[k] = nil end return next(t)",
     [None]),
    ("local k, v = next({'x'}) return k, v", [1.0, "x"]),
    ("local f, s, c = pairs({}) return type(f), c", ["function", None]),
    # comments
    ("-- a comment\nreturn 1 --[[ a long\ncomment ]] + 1", [2.0]),
    ("--[==[ ]] ]==] return 'after'", ["after"]),
    ("#!shebang line\nreturn 1", [1.0]),
]


@pytest.mark.parametrize("source, expected", CASES)
def test_snippet(source, expected):
    assert run(source) == expected


def test_chunk_arguments_are_varargs():
    assert run("local a, b = ... return b, a", 1.0, 2.0) == [2.0, 1.0]
    assert run("return select('#', ...)", 1.0, None, None) == [3.0]


def test_nan_is_not_equal_to_itself():
    assert run("local n = 0/0 return n ~= n, tostring(0/0)") == [True, "-nan"]


def test_tables_are_lua_tables():
    (table,) = run("return {1, 'two', x = true}")
    assert isinstance(table, LuaTable)
    assert table.array() == [1.0, "two"] and table.get("x") is True


def test_globals_persist_between_calls_of_one_interpreter():
    interp = Interpreter()
    interp.call(interp.load("counter = (counter or 0) + 1"), [])
    interp.call(interp.load("counter = counter + 1"), [])
    assert interp.call(interp.load("return counter"), []) == [2.0]


RUNTIME_ERRORS = [
    ("local t = nil return t.x", "user_script:1: attempt to index local 't' (a nil value)"),
    ("local t = {} return t.a.b", "user_script:1: attempt to index field 'a' (a nil value)"),
    ("return undefined.x", "user_script:1: attempt to index global 'undefined' (a nil value)"),
    ("local f f()", "user_script:1: attempt to call local 'f' (a nil value)"),
    ("return ('x'):nope()", "user_script:1: attempt to call method 'nope' (a nil value)"),
    ("return 1 + {}", "user_script:1: attempt to perform arithmetic on a table value"),
    ("local s = 'a' return s + 1",
     "user_script:1: attempt to perform arithmetic on local 's' (a string value)"),
    ("return -{}", "user_script:1: attempt to perform arithmetic on a table value"),
    ("return #5", "user_script:1: attempt to get length of a number value"),
    ("return {} .. 'x'", "user_script:1: attempt to concatenate a table value"),
    ("return {} < {}", "user_script:1: attempt to compare two table values"),
    ("return 1 < 'x'", "user_script:1: attempt to compare number with string"),
    ("local t = {} t[nil] = 1", "user_script:1: table index is nil"),
    ("for i = 'a', 2 do end", "user_script:1: 'for' initial value must be a number"),
    ("for k in {} do end", "user_script:1: attempt to call a table value"),
    ("\n\nerror('on line three')", "user_script:3: on line three"),
    ("error('no position', 0)", "no position"),
    ("local function f() return f() end return f()", "user_script:1: stack overflow"),
]


@pytest.mark.parametrize("source, message", RUNTIME_ERRORS)
def test_runtime_error(source, message):
    assert error_of(source) == message


def test_error_values_need_not_be_strings():
    value = error_of("error({code = 42})")
    assert isinstance(value, LuaTable) and value.get("code") == 42.0


def test_error_records_its_line():
    with pytest.raises(LuaError) as info:
        run("local x = 1\nlocal y = nil\nreturn y.z")
    assert info.value.line == 3


def test_pcall_catches_errors_and_returns_their_value():
    assert run("return pcall(error, 'x')") == [False, "x"]
    assert run("return pcall(function() error('y') end)") == [False, "user_script:1: y"]
    assert run("return pcall(function(a) return a * 2 end, 21)") == [True, 42.0]
    assert run("local ok, e = pcall(error) return ok, e") == [False, None]


SYNTAX_ERRORS = [
    ("return 1 +", "user_script:1: unexpected symbol near '<eof>'"),
    ("x = ", "user_script:1: unexpected symbol near '<eof>'"),
    ("local x = \n\n = 3", "user_script:3: unexpected symbol near '='"),
    ("return 'abc", "user_script:1: unfinished string near '<eof>'"),
    ("return 'abc\n'", "user_script:1: unfinished string near ''abc'"),
    ("for i = 1 do end", "user_script:1: ',' expected near 'do'"),
    ("local t = {1,2 3}", "user_script:1: '}' expected near '3'"),
    ("if x then", "user_script:1: 'end' expected near '<eof>'"),
    ("while true do\n\nx()", "user_script:3: 'end' expected (to close 'while' at line 1) "
                             "near '<eof>'"),
    ("return 1 end", "user_script:1: '<eof>' expected near 'end'"),
    ("local 5 = 3", "user_script:1: '<name>' expected near '5'"),
    ("break", "user_script:1: no loop to break near '<eof>'"),
    ("goto x", "user_script:1: '=' expected near 'x'"),
    ("x", "user_script:1: '=' expected near '<eof>'"),
    ("(x) = 1", "user_script:1: syntax error near '='"),
    ("return 0x", "user_script:1: malformed number near '0x'"),
    ("return 3x", "user_script:1: malformed number near '3x'"),
    ("return [[abc", "user_script:1: unfinished long string near '<eof>'"),
    ("return @", "user_script:1: unexpected symbol near '@'"),
    ("function f() return ... end", "user_script:1: cannot use '...' outside a vararg "
                                    "function near '...'"),
    ("return " + "(" * 300 + "1" + ")" * 300, "user_script:1: chunk has too many syntax levels"),
]


@pytest.mark.parametrize("source, message", SYNTAX_ERRORS)
def test_syntax_error(source, message):
    with pytest.raises(LuaSyntaxError) as info:
        Interpreter().load(source)
    assert str(info.value) == message


def test_deep_recursion_is_an_error_not_a_crash():
    message = error_of("local function down(n) return 1 + down(n + 1) end return down(1)")
    assert message == "user_script:1: stack overflow"
    assert run("local function down(n) if n == 0 then return 0 end return 1 + down(n - 1) end "
               "return down(150)") == [150.0]
