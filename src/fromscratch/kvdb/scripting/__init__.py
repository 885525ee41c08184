"""A Lua 5.1 interpreter for server-side scripts, as Redis embeds one.

    lexer.py        source text -> tokens
    parser.py       tokens -> syntax tree (nodes.py holds the node classes)
    interpreter.py  walks the tree: statements, expressions, calls, scopes
    values.py       the Lua values: tables, functions, errors, number <-> string
    stdlib.py       the base library, string, table, math (patterns.py: Lua patterns)
    cjson.py        the cjson library Redis ships
    bitop.py        the bit library (LuaBitOp) Redis ships
    cmsgpack.py     the cmsgpack library (lua-cmsgpack) Redis ships
    debugger.py     the Lua debugger of SCRIPT DEBUG: stepping, breakpoints, its logs

Nothing here knows about the key-value server: `commands/scripting.py` adds the
`redis` library and the EVAL family of commands on top.
"""

from .interpreter import Interpreter
from .lexer import LuaSyntaxError
from .values import LuaError, LuaFunction, LuaInterrupt, LuaTable

__all__ = ["Interpreter", "LuaError", "LuaFunction", "LuaInterrupt", "LuaSyntaxError",
           "LuaTable"]
