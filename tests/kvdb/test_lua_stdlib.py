"""The Lua standard library (base, string with Lua patterns, table, math) and cjson."""

import math

import pytest

from fromscratch.kvdb.scripting import Interpreter, LuaError
from fromscratch.kvdb.scripting import cjson


def run(source: str):
    interp = Interpreter()
    interp.globals.rawset("cjson", cjson.library())
    return interp.call(interp.load(source), [])


CASES = [
    # base
    ("return type(nil), type(true), type(1), type('s'), type({}), type(print or type)",
     ["nil", "boolean", "number", "string", "table", "function"]),
    ("return tostring(1), tostring(1.5), tostring(-0.0), tostring(1e100), tostring(nil)",
     ["1", "1.5", "-0", "1e+100", "nil"]),
    ("return tostring(123456789012), tostring(2^53), tostring(1/0)",
     ["123456789012", "9.007199254741e+15", "inf"]),
    ("return tonumber('42'), tonumber(' 0x1F '), tonumber('1e2'), tonumber('z', 36)",
     [42.0, 31.0, 100.0, 35.0]),
    ("return tonumber('12a'), tonumber(''), tonumber('ff', 16), tonumber('8', 8)",
     [None, None, 255.0, None]),
    ("return tonumber(nil), tonumber({}), tonumber(true)", [None, None, None]),
    ("return unpack({1, 2, 3})", [1.0, 2.0, 3.0]),
    ("return unpack({1, 2, 3}, 2)", [2.0, 3.0]),
    ("return unpack({1, 2, 3}, 2, 5)", [2.0, 3.0, None, None]),
    ("return select('#', unpack({}))", [0.0]),
    ("return assert(1, 'unused'), select('#', assert(true, 2, 3))", [1.0, 3.0]),
    ("return rawget({a = 1}, 'a'), rawequal('a', 'a'), rawequal({}, {})", [1.0, True, False]),
    ("return xpcall(function() error('e') end, function(m) return 'handled: ' .. m end)",
     [False, "handled: user_script:1: e"]),
    # string
    ("return string.len('abc'), ('abc'):len()", [3.0, 3.0]),
    ("return ('hello'):sub(2), ('hello'):sub(2, 3), ('hello'):sub(-3), ('hello'):sub(-3, -2)",
     ["ello", "el", "llo", "ll"]),
    ("return ('hello'):sub(0), ('hello'):sub(10), ('hello'):sub(3, 1), ('hello'):sub(-100, 2)",
     ["hello", "", "", "he"]),
    ("return ('MiXeD'):upper(), ('MiXeD'):lower()", ["MIXED", "mixed"]),
    ("return ('ab'):rep(3), ('ab'):rep(0), ('ab'):reverse()", ["ababab", "", "ba"]),
    ("return ('ABC'):byte(), ('ABC'):byte(-1), ('ABC'):byte(2, 3)", [65.0, 67.0, 66.0, 67.0]),
    ("return string.char(72, 105), string.char()", ["Hi", ""]),
    ("return string.format('%d|%5d|%-5d|%05d', 42, 42, 42, 42)", ["42|   42|42   |00042"]),
    ("return string.format('%.2f|%10.3f|%e|%g|%g', 3.14159, 2.5, 12345.678, 0.0001, 1e20)",
     ["3.14|     2.500|1.234568e+04|0.0001|1e+20"]),
    ("return string.format('%x|%X|%o|%c|%%', 255, 255, 8, 65)", ["ff|FF|10|A|%"]),
    ("return string.format('%s %s %s', 1, 1.5, 'x')", ["1 1.5 x"]),
    ("return string.format('%5s|%-5s|%.2s', 'r', 'l', 'abc')", ["    r|l    |ab"]),
    ("return string.format('%q', 'a\"b\\n\\0')", ['"a\\"b\\\n\\000"']),
    ("return string.format('%d', 3.9), string.format('%x', -1)", ["3", "ffffffffffffffff"]),
    # string: find, match, gmatch, gsub with Lua patterns
    ("return ('hello world'):find('o w')", [5.0, 7.0]),
    ("return ('hello'):find('l'), ('hello'):find('xyz')", [3.0, None]),
    ("return ('a.b'):find('.', 1, true), ('a.b'):find('%.')", [2.0, 2.0, 2.0]),
    ("return ('hello'):find('l+')", [3.0, 4.0]),
    ("return ('key=val'):find('(%w+)=(%w+)')", [1.0, 7.0, "key", "val"]),
    # Lua 5.1 clamps the start to the string's end (5.2 and later answer nil)
    ("return ('hello'):find('', 10), ('hello'):find('', 6)", [6.0, 6.0, 5.0]),
    ("return ('abc'):find('b', -1), ('abc'):find('b', -2)", [None, 2.0, 2.0]),
    ("return string.match('key:123', '(%a+):(%d+)')", ["key", "123"]),
    ("return string.match('  trim me  ', '^%s*(.-)%s*$')", ["trim me"]),
    ("return string.match('2024-01-15', '(%d+)-(%d+)-(%d+)')", ["2024", "01", "15"]),
    ("return string.match('hello', '()ll()')", [3.0, 5.0]),
    ("return string.match('abc', '^b'), string.match('abc', '^a'), string.match('abc', 'c$')",
     [None, "a", "c"]),
    ("return string.match('f(a(b)c)d', '%b()')", ["(a(b)c)"]),
    ("return string.match('THE (quick) fox', '%f[%a]%a+', 5)", ["quick"]),
    ("return string.match('[x]', '[%[]'), string.match('a]b', '[]]')", ["[", "]"]),
    ("return string.match('abc123', '[^%d]+'), string.match('abc123', '[a-b]+')", ["abc", "ab"]),
    ("return string.match('aaa', 'a-b'), string.match('aaab', 'a-b')", [None, "aaab"]),
    ("return string.match('x = 1', '(%w+)%s*=%s*(%w+)')", ["x", "1"]),
    ("return string.match('hello hello', '(h%a+) %1')", ["hello"]),
    ("return string.match('caf\\233', '%a+')", ["caf"]),
    ("return string.match('a?', 'a?%?')", ["a?"]),
    ("local t = {} for w in ('one two  three'):gmatch('%a+') do t[#t + 1] = w end "
     "return table.concat(t, ',')", ["one,two,three"]),
    ("local t = {} for k, v in ('a=1, b=2'):gmatch('(%w+)=(%w+)') do t[#t + 1] = k .. v end "
     "return table.concat(t, ' ')", ["a1 b2"]),
    ("local n = 0 for _ in ('abc'):gmatch('') do n = n + 1 end return n", [4.0]),
    ("return string.gsub('hello world', 'o', '0')", ["hell0 w0rld", 2.0]),
    ("return string.gsub('hello world', 'o', '0', 1)", ["hell0 world", 1.0]),
    ("return string.gsub('abc', '%w', '%0%0')", ["aabbcc", 3.0]),
    ("return string.gsub('hello world', '(%w+) (%w+)', '%2 %1')", ["world hello", 1.0]),
    ("return string.gsub('$name is $age', '%$(%w+)', {name = 'Ann', age = 30})",
     ["Ann is 30", 2.0]),
    ("return string.gsub('abc', '%w', function(c) return c:upper() .. '.' end)",
     ["A.B.C.", 3.0]),
    ("return string.gsub('abc', 'b', function() return nil end)", ["abc", 1.0]),
    ("return string.gsub('abc', '', '-')", ["-a-b-c-", 4.0]),
    ("return string.gsub('  x  ', '^%s+', '')", ["x  ", 1.0]),
    ("return string.gsub('50%', '%%', ' percent')", ["50 percent", 1.0]),
    # table
    ("local t = {1, 2} table.insert(t, 3) table.insert(t, 1, 0) return table.concat(t, ',')",
     ["0,1,2,3"]),
    ("local t = {1, 2, 3} local r = table.remove(t) return r, #t", [3.0, 2.0]),
    ("local t = {1, 2, 3} local r = table.remove(t, 1) return r, t[1], t[2], #t",
     [1.0, 2.0, 3.0, 2.0]),
    ("local t = {} return table.remove(t), #t", [None, 0.0]),
    ("return table.concat({1, 'a', 2.5}), table.concat({1, 2, 3}, ', ', 2, 3)",
     ["1a2.5", "2, 3"]),
    ("local t = {5, 2, 8, 1, 9} table.sort(t) return table.concat(t, ' ')", ["1 2 5 8 9"]),
    ("local t = {'b', 'c', 'a'} table.sort(t) return table.concat(t)", ["abc"]),
    ("local t = {5, 2, 8} table.sort(t, function(a, b) return a > b end) "
     "return table.concat(t, ' ')", ["8 5 2"]),
    ("local t = {{n = 2}, {n = 1}} table.sort(t, function(a, b) return a.n < b.n end) "
     "return t[1].n", [1.0]),
    ("return table.getn({1, 2, 3}), table.maxn({[1] = 1, [10] = 2})", [3.0, 10.0]),
    # math
    ("return math.floor(3.7), math.floor(-3.2), math.ceil(3.2), math.ceil(-3.7)",
     [3.0, -4.0, 4.0, -3.0]),
    ("return math.abs(-4), math.max(1, 5, 3), math.min(4, 2, 8), math.sqrt(16)",
     [4.0, 5.0, 2.0, 4.0]),
    ("return math.fmod(7, 3), math.fmod(-7, 3), math.pow(2, 8), math.huge", [1.0, -1.0, 256.0,
                                                                            math.inf]),
    ("return math.modf(3.7)", [3.0, pytest.approx(0.7)]),
    ("local r = math.random() return r >= 0 and r < 1", [True]),
    ("local r = math.random(6) return r >= 1 and r <= 6 and r == math.floor(r)", [True]),
    ("local r = math.random(5, 8) return r >= 5 and r <= 8", [True]),
    ("math.randomseed(7) local a = math.random(1000) math.randomseed(7) "
     "return a == math.random(1000)", [True]),
    # cjson
    ("return cjson.encode({1, 2, 3}), cjson.encode({a = 1}), cjson.encode({})",
     ["[1,2,3]", '{"a":1}', "{}"]),
    ("return cjson.encode({a = {b = {1.5, 'x', true, false}}})",
     ['{"a":{"b":[1.5,"x",true,false]}}']),
    ("return cjson.encode('a/b\"\\n\\1'), cjson.encode(1/3), cjson.encode(10)",
     ['"a\\/b\\"\\n\\u0001"', "0.33333333333333", "10"]),
    ("return cjson.encode({[1] = 1, [3] = 3}), cjson.encode(cjson.null)", ["[1,null,3]", "null"]),
    ("return cjson.decode('[1, 2, {\"a\": null}]')[3].a == cjson.null", [True]),
    ("local t = cjson.decode('{\"a\": [1, 2], \"s\": \"x\"}') return t.a[2], t.s, #t.a",
     [2.0, "x", 2.0]),
    ("return cjson.decode('1.5'), cjson.decode('true'), cjson.decode('\"caf\\\\u00e9\"')",
     [1.5, True, "caf\xc3\xa9"]),
    ("return cjson.encode(cjson.decode('{\"x\":1e300}'))", ['{"x":1e+300}']),
    ("return pcall(cjson.decode, 'nope')",
     [False, "Expected value but found invalid token at character 1"]),
]


@pytest.mark.parametrize("source, expected", CASES)
def test_library(source, expected):
    assert run(source) == expected


LIBRARY_ERRORS = [
    ("string.rep()", "user_script:1: bad argument #1 to 'rep' (string expected, got no value)"),
    ("string.sub('x', {})", "user_script:1: bad argument #2 to 'sub' (number expected, "
                            "got table)"),
    ("pairs(nil)", "user_script:1: bad argument #1 to 'pairs' (table expected, got nil)"),
    ("string.char(256)", "user_script:1: bad argument #1 to 'char' (invalid value)"),
    ("assert(false)", "user_script:1: assertion failed!"),
    ("assert(nil, 'custom')", "user_script:1: custom"),
    ("select(0)", "user_script:1: bad argument #1 to 'select' (index out of range)"),
    ("table.concat({{}})", "user_script:1: invalid value (at index 1) in table for 'concat'"),
    ("table.sort({1, 'x'})", "user_script:1: attempt to compare string with number"),
    ("string.format('%y', 1)", "user_script:1: invalid option '%y' to 'format'"),
    ("string.format('%d')", "user_script:1: bad argument #2 to 'format' (number expected, "
                            "got no value)"),
    # %s takes strings and numbers only (tostring would take anything)
    ("string.format('%s', true)", "user_script:1: bad argument #2 to 'format' (string "
                                  "expected, got boolean)"),
    ("string.find('a', '[a')", "user_script:1: malformed pattern (missing ']')"),
    ("string.find('a', '%')", "user_script:1: malformed pattern (ends with '%')"),
    ("string.gsub('a', '(a)', '%2')", "user_script:1: invalid capture index"),
    ("math.random(0)", "user_script:1: bad argument #1 to 'random' (interval is empty)"),
    ("cjson.encode({[1] = 1, [100] = 2})", "user_script:1: Cannot serialise table: "
                                           "excessively sparse array"),
    ("cjson.encode(function() end)", "user_script:1: Cannot serialise function: "
                                     "type not supported"),
    ("cjson.encode(0/0)", "user_script:1: Cannot serialise number: must not be NaN or Inf"),
]


@pytest.mark.parametrize("source, message", LIBRARY_ERRORS)
def test_library_error(source, message):
    with pytest.raises(LuaError) as info:
        run(source)
    assert info.value.value == message
