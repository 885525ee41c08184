"""The syntax tree the parser builds and the interpreter walks.

Every node knows its source line, for error messages. A block is a plain list of
statements. Names are resolved by the parser: a `Local` names a variable declared in
an enclosing block (by its `key`, unique within its block, so that `local x = 1
local x = 2` makes two variables as in Lua), anything else is a `Global`.
"""

from __future__ import annotations

from dataclasses import dataclass


def node(cls):
    return dataclass(slots=True, eq=False)(cls)


# -- expressions ----------------------------------------------------------------------

@node
class Constant:                 # nil, true, false, a number or a string
    value: object
    line: int


@node
class Vararg:                   # ...
    line: int


@node
class Function:                 # function (params) body end
    params: list                # variable keys, in order
    is_vararg: bool
    body: list
    name: str                   # for error messages: "f", "t.f", "t:m", or "anonymous"
    line: int
    end_line: int = 0           # the line of its `end`, where Lua makes the closure


@node
class Local:
    key: str                    # the variable's key in its scope
    name: str                   # its name in the source
    upvalue: bool               # declared in an enclosing function
    line: int


@node
class Global:
    name: str
    line: int


@node
class Index:                    # obj[key], obj.key
    obj: object
    key: object
    line: int


@node
class Call:                     # func(args)
    func: object
    args: list
    line: int


@node
class MethodCall:               # obj:method(args)
    obj: object
    method: str
    args: list
    line: int


@node
class BinOp:                    # + - * / % ^ .. == ~= < <= > >=
    op: str
    left: object
    right: object
    line: int


@node
class And:
    left: object
    right: object
    line: int


@node
class Or:
    left: object
    right: object
    line: int


@node
class UnOp:                     # not, - (negation), # (length)
    op: str
    operand: object
    line: int


@node
class Table:                    # { [k] = v, name = v, v, ... }
    items: list                 # (key expression, or None for the next array slot, value)
    line: int


@node
class Paren:                    # (expr): one value, even from a call
    expr: object
    line: int


# -- statements -----------------------------------------------------------------------

@node
class LocalAssign:              # local a, b = exprs
    keys: list
    exprs: list
    line: int


@node
class Assign:                   # a, t.b = exprs
    targets: list
    exprs: list
    line: int


@node
class CallStatement:
    call: object
    line: int


@node
class Do:
    body: list
    line: int


@node
class While:
    cond: object
    body: list
    line: int


@node
class Repeat:                   # repeat body until cond (cond sees body's locals)
    body: list
    cond: object
    line: int


@node
class If:
    clauses: list               # (condition, block) for the if and each elseif
    orelse: list | None
    line: int


@node
class NumericFor:               # for var = start, stop, step do body end
    var: str
    start: object
    stop: object
    step: object | None
    body: list
    line: int


@node
class GenericFor:               # for k, v in exprs do body end
    keys: list
    exprs: list
    body: list
    line: int


@node
class LocalFunction:            # local function f: f is in scope in its own body
    key: str
    func: Function
    line: int


@node
class Return:
    exprs: list
    line: int


@node
class Break:
    line: int
