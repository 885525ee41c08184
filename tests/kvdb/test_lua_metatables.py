"""Metatables in our Lua: each snippet's results as Lua 5.1 gives them (reference manual
§2.8), and the library functions that honour or bypass metamethods."""

import pytest

from fromscratch.kvdb.scripting import Interpreter, LuaError, LuaTable


def run(source: str):
    interp = Interpreter()
    return interp.call(interp.load(source), [])


def error_of(source: str):
    with pytest.raises(LuaError) as info:
        run(source)
    return info.value.value


# A "class" with every metamethod, for the snippets below.
VECTOR = """
    local V = {}
    V.__index = V
    function V.new(x) return setmetatable({x = x}, V) end
    V.__add = function(a, b) return V.new(a.x + b.x) end
    V.__sub = function(a, b) return V.new(a.x - b.x) end
    V.__mul = function(a, b) return V.new(a.x * (type(b) == 'number' and b or b.x)) end
    V.__div = function(a, b) return 'div' end
    V.__mod = function(a, b) return 'mod' end
    V.__pow = function(a, b) return 'pow' end
    V.__unm = function(a, b) return V.new(-a.x) end
    V.__concat = function(a, b)
        return (type(a) == 'table' and 'V' .. a.x or a) .. '|' .. (type(b) == 'table' and 'V' .. b.x or b)
    end
    V.__eq = function(a, b) return a.x == b.x end
    V.__lt = function(a, b) return a.x < b.x end
    V.__tostring = function(a) return 'V(' .. a.x .. ')' end
    V.__call = function(self, k) return self.x + k end
    function V:get() return self.x end
    local a, b = V.new(1), V.new(2)
"""

CASES = [
    # __index: a table (methods), a function, a chain; own fields come first
    ("local t = setmetatable({}, {__index = {a = 1}}) return t.a, rawget(t, 'a')", [1.0, None]),
    ("local t = setmetatable({a = 'own'}, {__index = {a = 'inherited'}}) return t.a", ["own"]),
    ("local t = setmetatable({}, {__index = function(t, k) return k .. '?' end}) return t.x",
     ["x?"]),
    ("local base = {m = 'base'} local mid = setmetatable({}, {__index = base}) "
     "local t = setmetatable({}, {__index = mid}) return t.m", ["base"]),
    ("local t = setmetatable({}, {}) return t.missing", [None]),
    (VECTOR + "return a:get(), b.get(b)", [1.0, 2.0]),
    # __newindex: only for a missing key
    ("local seen = {} local t = setmetatable({}, {__newindex = function(t, k, v) "
     "seen[#seen + 1] = k rawset(t, k, v) end}) t.a = 1 t.a = 2 t.b = 3 "
     "return t.a, t.b, #seen", [2.0, 3.0, 2.0]),
    ("local store = {} local t = setmetatable({}, {__newindex = store}) t.x = 1 "
     "return rawget(t, 'x'), store.x", [None, 1.0]),
    ("local t = setmetatable({}, {__newindex = function() error('no') end}) "
     "rawset(t, 'k', 'v') return t.k", ["v"]),
    # arithmetic, concatenation, unary minus
    (VECTOR + "return (a + b).x, (b - a).x, (a * 3).x, a / b, a % 1, 2 ^ a, (-b).x",
     [3.0, 1.0, 3.0, "div", "mod", "pow", -2.0]),
    (VECTOR + "return a .. b, a .. 'x', 'x' .. a, 1 .. a, 'p' .. 'q' .. a",
     ["V1|V2", "V1|x", "x|V1", "1|V1", "p|qV1"][:4] + ["pq|V1"]),
    ("local t = setmetatable({}, {__add = function(x, y) return type(x) .. '+' .. type(y) end}) "
     "return 1 + t, t + '2', '3' + 4", ["number+table", "table+string", 7.0]),
    # comparison: __eq only between tables, with the same metamethod
    (VECTOR + "return a == V.new(1), a ~= V.new(1), a == b, a == 1", [True, False, False, False]),
    ("local mt1 = {__eq = function() return true end} "
     "local mt2 = {__eq = function() return true end} "
     "return setmetatable({}, mt1) == setmetatable({}, mt2), "
     "setmetatable({}, mt1) == setmetatable({}, {__eq = mt1.__eq})", [False, True]),
    ("local t = setmetatable({}, {__eq = function() return false end}) return t == t", [True]),
    (VECTOR + "return a < b, a > b, a <= b, b <= a, a >= b", [True, False, True, False, False]),
    ("local mt = {__le = function() return 'le' end} "
     "return setmetatable({}, mt) <= setmetatable({}, mt)", [True]),
    # __call, also through pcall and as an iterator
    (VECTOR + "return a(10), pcall(a, 5)", [11.0, True, 6.0]),
    ("local n = 0 local iter = setmetatable({}, {__call = function() n = n + 1 "
     "if n <= 3 then return n end end}) local s = 0 for i in iter do s = s + i end return s",
     [6.0]),
    # __tostring, __metatable, getmetatable
    (VECTOR + "return tostring(a), tostring(setmetatable({}, {})):sub(1, 6)", ["V(1)", "table:"]),
    ("local mt = {} local t = setmetatable({}, mt) return getmetatable(t) == mt", [True]),
    ("return getmetatable(setmetatable({}, {__metatable = false}))", [False]),
    ("return getmetatable({}), getmetatable(1), getmetatable(type)", [None, None, None]),
    ("return getmetatable('s').__index == string, ('x'):rep(2)", [True, "xx"]),
    ("local t = setmetatable({}, {}) return setmetatable(t, nil) == t, getmetatable(t)",
     [True, None]),
    # rawequal, and library functions that do or do not use metamethods
    (VECTOR + "return rawequal(a, V.new(1)), rawequal(a, a)", [False, True]),
    (VECTOR + "local t = {V.new(3), V.new(1), V.new(2)} table.sort(t) "
     "return t[1].x, t[2].x, t[3].x", [1.0, 2.0, 3.0]),
    ("return (string.gsub('a-b', '%a', setmetatable({}, {__index = function(t, k) "
     "return k:upper() end})))", ["A-B"]),
    ("local t = setmetatable({}, {__index = function() return 'x' end}) "
     "local n = 0 for _ in pairs(t) do n = n + 1 end return n, #t, next(t), t[1]",
     [0.0, 0.0, None, "x"]),
]


@pytest.mark.parametrize("source, expected", CASES)
def test_snippet(source, expected):
    assert run(source) == expected


ERRORS = [
    ("return setmetatable({}, {__index = 5}).x", "user_script:1: attempt to index a number value"),
    ("local t = {} setmetatable(t, {__index = t}) return t.x", "user_script:1: loop in gettable"),
    ("local t = {} setmetatable(t, {__newindex = t}) t.x = 1", "user_script:1: loop in settable"),
    ("local t = setmetatable({}, {__call = 5}) return t()",
     "user_script:1: attempt to call local 't' (a table value)"),
    ("return setmetatable({}, {__index = function() error('inside') end}).x",
     "user_script:1: inside"),
    ("local t = setmetatable({}, {}) return t + 1",
     "user_script:1: attempt to perform arithmetic on local 't' (a table value)"),
    ("return 'x' .. setmetatable({}, {})", "user_script:1: attempt to concatenate a table value"),
    ("local mt = {__lt = function() return true end} "
     "return setmetatable({}, mt) < setmetatable({}, {__lt = function() end})",
     "user_script:1: attempt to compare two table values"),
    ("return setmetatable({}, {__lt = function() return true end}) < 1",
     "user_script:1: attempt to compare table with number"),
    ("return 1 > 'x'", "user_script:1: attempt to compare string with number"),
    ("setmetatable(1, {})",
     "user_script:1: bad argument #1 to 'setmetatable' (table expected, got number)"),
    ("setmetatable({})", "user_script:1: bad argument #2 to 'setmetatable' (nil or table expected)"),
    ("setmetatable(setmetatable({}, {__metatable = 1}), {})",
     "user_script:1: cannot change a protected metatable"),
]


@pytest.mark.parametrize("source, message", ERRORS)
def test_error(source, message):
    assert error_of(source) == message


def test_readonly_tables_keep_their_metatable():
    # Redis's readonly flag refuses setmetatable too, and comes before __newindex.
    interp = Interpreter()
    locked = LuaTable({"a": 1.0})
    locked.metatable = LuaTable({"__newindex": LuaTable()})
    locked.readonly = True
    interp.globals.rawset("locked", locked)
    for source in ("setmetatable(locked, {})", "locked.b = 1", "rawset(locked, 'b', 1)"):
        with pytest.raises(LuaError) as info:
            interp.call(interp.load(source), [])
        assert info.value.value == "user_script:1: Attempt to modify a readonly table"


def test_plain_tables_have_no_metatable():
    (table,) = run("return {1, 2}")
    assert table.metatable is None
