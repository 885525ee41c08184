"""The Lua values, as Python objects.

    Lua          Python
    ---          ------
    nil          None
    boolean      bool
    number       float (Lua 5.1 numbers are doubles: 3 is 3.0, and prints as "3")
    string       str, one character per byte (Latin-1): Lua strings are byte strings,
                 and this way len(), slicing and comparison work on bytes
    table        LuaTable
    function     LuaFunction (written in Lua) or any Python callable (a library
                 function: it takes the Lua arguments and returns a list of results)

Errors raised by scripts, and by the interpreter on their behalf, are LuaError.
"""

from __future__ import annotations

import math
import re

CHUNK_NAME = "user_script"          # the name Redis gives EVAL's scripts in error messages


class LuaError(Exception):
    """A Lua error carrying any Lua value (usually a message string).

    `level` is error()'s level: 1 asks for the position of the Lua code that called
    the failing function ("user_script:3: ") to be put before a string message, 0 for
    no position. `line` is where the error happened, filled in by the interpreter."""

    def __init__(self, value, level: int = 1, line: int | None = None):
        super().__init__(value)
        self.value = value
        self.level = level
        self.line = line

    def locate(self, line: int, chunk_name: str) -> None:
        """Record where the error happened (once: the innermost place wins), in the
        chunk `chunk_name` ("user_script")."""
        if self.line is None:
            self.line = line
            if self.level and isinstance(self.value, (str, float)):
                self.value = f"{chunk_name}:{line}: {tostring(self.value)}"


class LuaInterrupt(LuaError):
    """An error the host raises to stop a script (SCRIPT KILL): pcall and xpcall do not
    catch it, so the script can't go on."""

    def __init__(self, message: str):
        super().__init__(message, level=0)


# -- tables ---------------------------------------------------------------------------

# Python thinks True == 1 == 1.0, Lua does not: booleans are stored under these keys.
_TRUE_KEY, _FALSE_KEY = ("true",), ("false",)


def _store_key(key):
    if key is True:
        return _TRUE_KEY
    if key is False:
        return _FALSE_KEY
    return key


def _lua_key(key):
    if key is _TRUE_KEY:
        return True
    if key is _FALSE_KEY:
        return False
    return key


class LuaTable:
    """A Lua table: one dict for every key (Lua's array part is an optimisation we
    do without), plus the last length found, where the next `#` starts looking.

    `metatable` is the table's metatable (None for most tables), whose metamethods the
    interpreter consults; the methods here are Lua's raw accesses, which never do.
    `readonly` is Redis's patch to Lua: a flag that makes every change to the table,
    raw or not, an error (Redis sets it on its libraries and on the globals)."""

    __slots__ = ("hash", "border", "readonly", "metatable")

    def __init__(self, items: dict | None = None):
        self.hash = items if items is not None else {}
        self.border = 0
        self.readonly = False
        self.metatable: LuaTable | None = None

    @classmethod
    def from_list(cls, values) -> "LuaTable":
        table = cls({float(i): v for i, v in enumerate(values, 1) if v is not None})
        return table

    def get(self, key):
        if type(key) is bool:
            key = _store_key(key)
        return self.hash.get(key)

    def set(self, key, value) -> None:
        """t[key] = value, as Lua's rawset: refused on a readonly table."""
        if self.readonly:
            raise LuaError("Attempt to modify a readonly table")
        self.rawset(key, value)

    def rawset(self, key, value) -> None:
        """The assignment itself, for the interpreter and the libraries that build
        tables (readonly or not)."""
        kind = type(key)
        if kind is bool:
            key = _store_key(key)
        elif key is None:
            raise LuaError("table index is nil")
        elif kind is float and key != key:
            raise LuaError("table index is NaN")
        if value is None:
            self.hash.pop(key, None)
        else:
            self.hash[key] = value

    def length(self) -> int:
        """`#t`: a border, an n with t[n] not nil and t[n+1] nil (0 if t[1] is nil).
        Lua allows any border when a table has holes; we find the one nearest the
        last answer, which makes `t[#t + 1] = v` in a loop cheap."""
        hash_ = self.hash
        n = self.border
        if n and float(n) not in hash_:
            while n and float(n) not in hash_:
                n -= 1
        else:
            while float(n + 1) in hash_:
                n += 1
        self.border = n
        return n

    def next(self, key):
        """Lua's next(t, key): the entry after `key` (the first for nil), or None."""
        keys = iter(self.hash)
        if key is not None:
            wanted = _store_key(key)
            for each in keys:
                if each == wanted and type(each) is type(wanted):
                    break
            else:
                raise LuaError("invalid key to 'next'")
        for each in keys:
            return _lua_key(each), self.hash[each]
        return None

    def items(self):
        """The entries, as (key, value) in Lua terms, from a snapshot of the keys (so a
        loop may clear or change fields as Lua allows)."""
        hash_ = self.hash
        for key in list(hash_):
            value = hash_.get(key)
            if value is not None:
                yield _lua_key(key), value

    def array(self) -> list:
        """t[1], t[2], ... up to the first nil."""
        values = []
        hash_ = self.hash
        i = 1.0
        while i in hash_:
            values.append(hash_[i])
            i += 1.0
        return values

    def __repr__(self):
        return f"LuaTable({self.hash!r})"


# -- functions ------------------------------------------------------------------------

class LuaFunction:
    """A function written in Lua: its syntax tree and the scope it closes over."""

    __slots__ = ("node", "scope")

    def __init__(self, node, scope):
        self.node = node
        self.scope = scope

    def __repr__(self):
        return f"LuaFunction({self.node.name or '?'})"


# -- types, numbers and strings -------------------------------------------------------

def type_name(value) -> str:
    if value is None:
        return "nil"
    kind = type(value)
    if kind is bool:
        return "boolean"
    if kind is float:
        return "number"
    if kind is str:
        return "string"
    if kind is LuaTable:
        return "table"
    if is_function(value):
        return "function"
    return "userdata"


def is_function(value) -> bool:
    """A value Lua can call as it is (a table with a __call is no function)."""
    return type(value) is LuaFunction or callable(value)


def number_to_str(number: float) -> str:
    """A number as Lua 5.1 prints it (C's "%.14g"): 3 is "3", 0.1 is "0.1",
    1e15 is "1e+15"."""
    if number != number:
        return "-nan" if math.copysign(1.0, number) < 0 else "nan"
    return "%.14g" % number


def tostring(value) -> str:
    kind = type(value)
    if kind is str:
        return value
    if kind is float:
        return number_to_str(value)
    if value is None:
        return "nil"
    if kind is bool:
        return "true" if value else "false"
    return f"{type_name(value)}: 0x{id(value):08x}"


_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_HEX = re.compile(r"[+-]?0[xX][0-9a-fA-F]+")
LUA_SPACE = " \t\n\r\f\v"


def str_to_number(text: str) -> float | None:
    """A string read as a number the way Lua reads one (decimal or 0x hex, surrounding
    spaces allowed), or None."""
    text = text.strip(LUA_SPACE)
    if _DECIMAL.fullmatch(text):
        return float(text)
    if _HEX.fullmatch(text):
        return float(int(text, 16))
    return None


def tonumber(value) -> float | None:
    """The coercion arithmetic applies: numbers, and strings that read as numbers."""
    if type(value) is float:
        return value
    if type(value) is str:
        return str_to_number(value)
    return None


def lua_equals(a, b) -> bool:
    # Python's == says True == 1.0; Lua compares values of the same type only (and
    # tables and functions by identity, which is what == does for them in Python).
    return a == b and type(a) is type(b)


def truthy(value) -> bool:
    """Only nil and false are false in Lua (0 and "" are true)."""
    return value is not None and value is not False
