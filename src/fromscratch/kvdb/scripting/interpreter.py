"""A tree-walking evaluator for the syntax tree of parser.py.

    interp = Interpreter()                 # globals with the standard library
    main = interp.load("return 1 + ...")   # compile a chunk into a function
    interp.call(main, [2.0])               # -> [3.0]

Statements are run by `execute` methods and expressions valued by `evaluate` methods,
picked by node class from two dispatch tables. A statement's method returns None to go
on, BREAK to leave the innermost loop, or the list of values a `return` gives back,
which every enclosing block passes up to the function call.

Scopes: each block run gets a fresh `Scope` (a dict of variables and a link to the
enclosing scope), so a closure made in a loop keeps that iteration's variables, as in
Lua. A function value (LuaFunction) holds the scope it was made in.

Multiple values: a call or `...` gives a list of values; where one value is wanted it
is cut to its first (`evaluate`), and where many are (the last of an argument list,
a return list, a table constructor or an assignment) `evaluate_list` expands it.

Metatables (reference manual §2.8): a table may have one, whose fields `__index`,
`__newindex`, `__call`, `__eq`, `__lt`, `__le`, `__add` ... `__unm` and `__concat` say
what an operation does when Lua itself has no answer: a missing key, a call of a table,
arithmetic on a table... Strings share one metatable, whose __index is the string
library ("s:upper()"). Every operation first tries its plain case, and looks for a
metamethod only where Lua would otherwise fail or give nil; so a table without a
metatable costs one attribute test on a missing key, and nothing else.

Errors are LuaError; each knows its line, for "user_script:3: attempt to ..." and for
Redis's "on @user_script:3." (`chunk_name` is that "user_script": Redis names its
functions' code "user_function"). Recursion is bounded (MAX_DEPTH nested Lua
calls, "stack overflow") so that no script can exhaust the server's stack.
"""

from __future__ import annotations

import math
import operator
import sys

from . import nodes as n
from .parser import parse
from .values import (CHUNK_NAME, LuaError, LuaFunction, LuaTable, is_function, lua_equals,
                     tonumber, tostring, truthy, type_name)

BREAK = object()                # what `break` sends up to its loop
MAX_DEPTH = 200                 # nested Lua function calls before "stack overflow"
HOOK_EVERY = 1000               # blocks run (loop turns, calls...) between two hook calls
MAX_TAG_LOOP = 100              # Lua's bound on a chain of __index or __newindex tables

# Each nested Lua call costs a handful of Python frames: make room for MAX_DEPTH of
# them (the server is the only user of this interpreter in its process).
sys.setrecursionlimit(max(sys.getrecursionlimit(), 20 * MAX_DEPTH + 1000))


class Scope:
    __slots__ = ("vars", "parent")

    def __init__(self, parent: "Scope | None", variables: dict | None = None):
        self.vars = variables if variables is not None else {}
        self.parent = parent


# -- operators --------------------------------------------------------------------------

def _divide(a: float, b: float) -> float:
    try:
        return a / b
    except ZeroDivisionError:       # IEEE 754, as in C: 1/0 = inf, 0/0 = nan
        if a == 0 or a != a:
            return -math.nan        # x86's 0/0 is the negative nan Lua prints as "-nan"
        return math.copysign(math.inf, a) * math.copysign(1.0, b)


def _modulo(a: float, b: float) -> float:
    # Lua defines a % b as a - floor(a/b)*b; Python's float % agrees (the result takes
    # the sign of b), except that it raises for b == 0 where Lua gives nan.
    if b == 0:
        return math.nan
    return a % b


def _power(a: float, b: float) -> float:
    try:
        return math.pow(a, b)
    except OverflowError:
        return math.inf
    except ValueError:              # a negative number to a fractional power
        return math.nan


ARITHMETIC = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": _divide,
              "%": _modulo, "^": _power}
ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
# The metamethod of each binary operator (== and the comparisons have theirs apart).
EVENTS = {"+": "__add", "-": "__sub", "*": "__mul", "/": "__div", "%": "__mod",
          "^": "__pow", "..": "__concat"}


def describe(expr, value) -> str:
    """How Lua names a value in an error: "local 'x' (a nil value)", "a table value"."""
    kind = type_name(value)
    if isinstance(expr, n.Local):
        return f"{'upvalue' if expr.upvalue else 'local'} '{expr.name}' (a {kind} value)"
    if isinstance(expr, n.Global):
        return f"global '{expr.name}' (a {kind} value)"
    if isinstance(expr, n.Index) and isinstance(expr.key, n.Constant) \
            and type(expr.key.value) is str:
        return f"field '{expr.key.value}' (a {kind} value)"
    return f"a {kind} value"


class Interpreter:
    def __init__(self, globals_: LuaTable | None = None, chunk_name: str = CHUNK_NAME):
        from .stdlib import install          # the library needs Interpreter.call
        self.globals = globals_ if globals_ is not None else LuaTable()
        self.chunk_name = chunk_name
        self.depth = 0
        # Called every HOOK_EVERY blocks, as Lua's count hook: the host's chance to look
        # at a long-running script (serve other clients, stop it by raising LuaInterrupt).
        self.hook = None
        self._until_hook = HOOK_EVERY
        # The metatable all strings share: its __index makes "s:upper()" string.upper.
        self.string_metatable = LuaTable({"__index": install(self)})
        self.execute = {
            n.LocalAssign: self.exec_local, n.Assign: self.exec_assign,
            n.CallStatement: self.exec_call, n.Do: self.exec_do, n.While: self.exec_while,
            n.Repeat: self.exec_repeat, n.If: self.exec_if,
            n.NumericFor: self.exec_numeric_for, n.GenericFor: self.exec_generic_for,
            n.LocalFunction: self.exec_local_function, n.Return: self.exec_return,
            n.Break: self.exec_break,
        }
        self.evaluate_node = {
            n.Constant: self.eval_constant, n.Local: self.eval_local,
            n.Global: self.eval_global, n.Index: self.eval_index, n.Call: self.eval_call,
            n.MethodCall: self.eval_call, n.BinOp: self.eval_binop, n.And: self.eval_and,
            n.Or: self.eval_or, n.UnOp: self.eval_unop, n.Table: self.eval_table,
            n.Function: self.eval_function, n.Paren: self.eval_paren,
            n.Vararg: self.eval_vararg,
        }

    # -- entry points ----------------------------------------------------------------

    def load(self, source: str) -> LuaFunction:
        """Compile a chunk (raises LuaSyntaxError) into a function of no scope."""
        return LuaFunction(parse(source, self.chunk_name), None)

    def call(self, function, args: list) -> list:
        """Call any Lua value with a list of arguments (a value that is no function
        through its __call); returns the results."""
        if type(function) is LuaFunction:
            return self.call_lua(function, args)
        if callable(function):
            return function(*args)
        handler = self.metamethod(function, "__call")
        if is_function(handler):
            return self.call(handler, [function, *args])
        raise LuaError(f"attempt to call a {type_name(function)} value")

    def call_lua(self, function: LuaFunction, args: list) -> list:
        node = function.node
        params = node.params
        variables = dict(zip(params, args))
        for key in params[len(args):]:
            variables[key] = None
        if node.is_vararg:
            variables["..."] = args[len(params):]
        self.depth += 1
        try:
            result = self.exec_block(node.body, Scope(function.scope, variables))
        finally:
            self.depth -= 1
        return result if result is not None and result is not BREAK else []

    def runtime_error(self, message: str, line: int) -> LuaError:
        """An error the interpreter detected at `line`, with its position."""
        return LuaError(f"{self.chunk_name}:{line}: {message}", level=0, line=line)

    def error_at(self, message: str, node) -> LuaError:
        """An error at the node being run; with no node (an operation a library
        function asked for), the caller of that function will give the position."""
        if node is None:
            return LuaError(message)
        return self.runtime_error(message, node.line)

    def call_at(self, function, args: list, node, function_node) -> list:
        """A call from the script at `node`: errors get that position."""
        if type(function) is LuaFunction:
            if self.depth >= MAX_DEPTH:
                raise self.runtime_error("stack overflow", node.line)
            return self.call_lua(function, args)
        if not callable(function):
            handler = self.metamethod(function, "__call")
            if is_function(handler):
                return self.call_at(handler, [function, *args], node, None)
            if isinstance(node, n.MethodCall):
                raise self.runtime_error(f"attempt to call method '{node.method}' "
                                         f"(a {type_name(function)} value)", node.line)
            raise self.runtime_error(f"attempt to call {describe(function_node, function)}",
                                     node.line)
        try:
            return function(*args)
        except LuaError as error:
            error.locate(node.line, self.chunk_name)
            raise
        except RecursionError:
            raise self.runtime_error("stack overflow", node.line) from None

    # -- statements ------------------------------------------------------------------

    def exec_block(self, block: list, scope: Scope):
        self._until_hook -= 1
        if self._until_hook <= 0:
            self._until_hook = HOOK_EVERY
            if self.hook is not None:
                self.hook()
        execute = self.execute
        for statement in block:
            try:
                signal = execute[type(statement)](statement, scope)
            except LuaError as error:
                error.locate(statement.line, self.chunk_name)   # e.g. a readonly table
                raise
            if signal is not None:
                return signal
        return None

    def exec_local(self, node: n.LocalAssign, scope: Scope):
        keys = node.keys
        if len(keys) == 1 and len(node.exprs) == 1:
            scope.vars[keys[0]] = self.evaluate(node.exprs[0], scope)
            return None
        values = self.evaluate_list(node.exprs, scope)
        variables = scope.vars
        for i, key in enumerate(keys):
            variables[key] = values[i] if i < len(values) else None
        return None

    def exec_local_function(self, node: n.LocalFunction, scope: Scope):
        scope.vars[node.key] = LuaFunction(node.func, scope)
        return None

    def exec_assign(self, node: n.Assign, scope: Scope):
        targets = node.targets
        if len(targets) == 1 and len(node.exprs) == 1:
            target = targets[0]
            if type(target) is n.Index:
                obj = self.evaluate(target.obj, scope)
                key = self.evaluate(target.key, scope)
                self.set_index(obj, key, self.evaluate(node.exprs[0], scope), target)
            else:
                self.assign(target, self.evaluate(node.exprs[0], scope), scope)
            return None
        # Lua evaluates the tables and keys of the targets before any assignment.
        places = [(self.evaluate(t.obj, scope), self.evaluate(t.key, scope))
                  if type(t) is n.Index else None for t in targets]
        values = self.evaluate_list(node.exprs, scope)
        for i, target in enumerate(targets):
            value = values[i] if i < len(values) else None
            if places[i] is not None:
                self.set_index(places[i][0], places[i][1], value, target)
            else:
                self.assign(target, value, scope)
        return None

    def assign(self, target, value, scope: Scope) -> None:
        if type(target) is n.Local:
            key = target.key
            while key not in scope.vars:
                scope = scope.parent
            scope.vars[key] = value
        else:
            self.set_index(self.globals, target.name, value, target)

    def exec_call(self, node: n.CallStatement, scope: Scope):
        self.call_node(node.call, scope)
        return None

    def exec_do(self, node: n.Do, scope: Scope):
        return self.exec_block(node.body, Scope(scope))

    def exec_while(self, node: n.While, scope: Scope):
        while truthy(self.evaluate(node.cond, scope)):
            signal = self.exec_block(node.body, Scope(scope))
            if signal is BREAK:
                break
            if signal is not None:
                return signal
        return None

    def exec_repeat(self, node: n.Repeat, scope: Scope):
        while True:
            inner = Scope(scope)
            signal = self.exec_block(node.body, inner)
            if signal is BREAK:
                break
            if signal is not None:
                return signal
            if truthy(self.evaluate(node.cond, inner)):
                break
        return None

    def exec_if(self, node: n.If, scope: Scope):
        for cond, body in node.clauses:
            if truthy(self.evaluate(cond, scope)):
                return self.exec_block(body, Scope(scope))
        if node.orelse is not None:
            return self.exec_block(node.orelse, Scope(scope))
        return None

    def numeric_for_bounds(self, node: n.NumericFor, scope: Scope) -> tuple:
        """A numeric for's start, limit and step, each checked to be a number."""
        start = tonumber(self.evaluate(node.start, scope))
        if start is None:
            raise self.runtime_error("'for' initial value must be a number", node.line)
        stop = tonumber(self.evaluate(node.stop, scope))
        if stop is None:
            raise self.runtime_error("'for' limit must be a number", node.line)
        step = 1.0 if node.step is None else tonumber(self.evaluate(node.step, scope))
        if step is None:
            raise self.runtime_error("'for' step must be a number", node.line)
        return start, stop, step

    def exec_numeric_for(self, node: n.NumericFor, scope: Scope):
        start, stop, step = self.numeric_for_bounds(node, scope)
        i, var, body = start, node.var, node.body
        while (i <= stop) if step > 0 else (i >= stop):
            signal = self.exec_block(body, Scope(scope, {var: i}))
            if signal is BREAK:
                break
            if signal is not None:
                return signal
            i += step
        return None

    def exec_generic_for(self, node: n.GenericFor, scope: Scope):
        values = self.evaluate_list(node.exprs, scope)
        iterator, state, control = (values + [None, None, None])[:3]
        keys, body = node.keys, node.body
        while True:
            results = self.call_at(iterator, [state, control], node, None)
            if not results or results[0] is None:
                return None
            control = results[0]
            variables = {key: results[i] if i < len(results) else None
                         for i, key in enumerate(keys)}
            signal = self.exec_block(body, Scope(scope, variables))
            if signal is BREAK:
                return None
            if signal is not None:
                return signal

    def exec_return(self, node: n.Return, scope: Scope):
        return self.evaluate_list(node.exprs, scope)

    def exec_break(self, node: n.Break, scope: Scope):
        return BREAK

    # -- expressions -----------------------------------------------------------------

    def evaluate(self, expr, scope: Scope):
        """The value of an expression (the first, for a call or `...`)."""
        return self.evaluate_node[type(expr)](expr, scope)

    def evaluate_list(self, exprs: list, scope: Scope) -> list:
        """The values of an expression list, the last one expanded to all its values."""
        if not exprs:
            return []
        evaluate_node = self.evaluate_node
        values = [evaluate_node[type(expr)](expr, scope) for expr in exprs[:-1]]
        last = exprs[-1]
        kind = type(last)
        if kind is n.Call or kind is n.MethodCall:
            values.extend(self.call_node(last, scope))
        elif kind is n.Vararg:
            values.extend(self.varargs(scope))
        else:
            values.append(evaluate_node[kind](last, scope))
        return values

    def eval_constant(self, node: n.Constant, scope: Scope):
        return node.value

    def eval_local(self, node: n.Local, scope: Scope):
        key = node.key
        while key not in scope.vars:
            scope = scope.parent
        return scope.vars[key]

    def eval_global(self, node: n.Global, scope: Scope):
        # Globals are fields of the globals table, its metatable included (Redis's
        # protection of the globals is one).
        globals_ = self.globals
        value = globals_.hash.get(node.name)
        if value is None and globals_.metatable is not None:
            return self.index(globals_, node.name, node)
        return value

    def eval_index(self, node: n.Index, scope: Scope):
        obj = self.evaluate(node.obj, scope)
        key = self.evaluate(node.key, scope)
        if type(obj) is LuaTable:                    # the common case, inline
            value = obj.get(key)
            if value is not None or obj.metatable is None:
                return value
        return self.index(obj, key, node)

    # -- metatables ------------------------------------------------------------------

    def metatable_of(self, value) -> LuaTable | None:
        """A value's metatable: a table's own, the strings' shared one, or None (other
        types have none: Lua gives them one only from C)."""
        kind = type(value)
        if kind is LuaTable:
            return value.metatable
        if kind is str:
            return self.string_metatable
        return None

    def metamethod(self, value, event: str):
        """The field `event` ("__index") of the value's metatable, read raw, or None."""
        metatable = self.metatable_of(value)
        return None if metatable is None else metatable.hash.get(event)

    def index(self, obj, key, node=None):
        """obj[key] as Lua reads it: a table's own field, else what its __index gives,
        a function's result or another table's field (maybe through its own __index).
        `node` (an Index, MethodCall or Global) is where the script reads it."""
        kind = type(obj)
        # The common cases first: a table's own field, a string method ("s:upper()").
        if kind is LuaTable:
            value = obj.get(key)
            if value is not None or obj.metatable is None:
                return value
        elif kind is str:
            methods = self.string_metatable.hash.get("__index")
            if type(methods) is LuaTable and methods.metatable is None:
                return methods.get(key)
        for hop in range(MAX_TAG_LOOP):
            if type(obj) is LuaTable:
                value = obj.get(key)
                if value is not None or obj.metatable is None:
                    return value
                handler = obj.metatable.hash.get("__index")
                if handler is None:
                    return None
            else:
                handler = self.metamethod(obj, "__index")
                if handler is None:
                    raise self.index_error(obj, node, hop)
            if is_function(handler):
                results = self.call_handler(handler, [obj, key], node)
                return results[0] if results else None
            obj = handler
        raise self.error_at("loop in gettable", node)

    def set_index(self, obj, key, value, node=None) -> None:
        """obj[key] = value as Lua assigns it: a table's field, unless the field is
        missing and the table has a __newindex, which then gets the assignment (a
        function is called, a table assigned to, maybe through its own __newindex)."""
        if type(obj) is LuaTable and obj.metatable is None:     # the common case first
            obj.set(key, value)
            return
        for hop in range(MAX_TAG_LOOP):
            if type(obj) is LuaTable:
                metatable = obj.metatable
                # Redis refuses any change to a readonly table, before all else.
                if metatable is None or obj.readonly or obj.get(key) is not None:
                    obj.set(key, value)
                    return
                handler = metatable.hash.get("__newindex")
                if handler is None:
                    obj.set(key, value)
                    return
            else:
                handler = self.metamethod(obj, "__newindex")
                if handler is None:
                    raise self.index_error(obj, node, hop)
            if is_function(handler):
                self.call_handler(handler, [obj, key, value], node)
                return
            obj = handler
        raise self.error_at("loop in settable", node)

    def index_error(self, value, node, hop: int) -> LuaError:
        """"attempt to index" a value that is neither a table nor has an __index (or
        __newindex). It is named by the expression the script wrote ("local 't' (a nil
        value)") when it is that expression's value, not one met `hop` steps down a
        chain of __index tables."""
        if hop == 0 and (type(node) is n.Index or type(node) is n.MethodCall):
            return self.error_at(f"attempt to index {describe(node.obj, value)}", node)
        return self.error_at(f"attempt to index a {type_name(value)} value", node)

    def call_handler(self, handler, args: list, node) -> list:
        """Call a metamethod for the operation at `node` (None: for a library)."""
        if node is None:
            return self.call(handler, args)
        return self.call_at(handler, args, node, None)

    def eval_call(self, node, scope: Scope):
        results = self.call_node(node, scope)
        return results[0] if results else None

    def call_node(self, node, scope: Scope) -> list:
        if type(node) is n.MethodCall:
            obj = self.evaluate(node.obj, scope)
            function = self.index(obj, node.method, node)
            args = [obj, *self.evaluate_list(node.args, scope)]
            return self.call_at(function, args, node, None)
        function = self.evaluate(node.func, scope)
        return self.call_at(function, self.evaluate_list(node.args, scope), node, node.func)

    def varargs(self, scope: Scope) -> list:
        while "..." not in scope.vars:
            scope = scope.parent
        return scope.vars["..."]

    def eval_vararg(self, node: n.Vararg, scope: Scope):
        values = self.varargs(scope)
        return values[0] if values else None

    def eval_function(self, node: n.Function, scope: Scope):
        return LuaFunction(node, scope)

    def eval_paren(self, node: n.Paren, scope: Scope):
        return self.evaluate(node.expr, scope)

    def eval_and(self, node: n.And, scope: Scope):
        left = self.evaluate(node.left, scope)
        return self.evaluate(node.right, scope) if truthy(left) else left

    def eval_or(self, node: n.Or, scope: Scope):
        left = self.evaluate(node.left, scope)
        return left if truthy(left) else self.evaluate(node.right, scope)

    def eval_binop(self, node: n.BinOp, scope: Scope):
        op = node.op
        a = self.evaluate(node.left, scope)
        b = self.evaluate(node.right, scope)
        arithmetic = ARITHMETIC.get(op)
        if arithmetic is not None:
            if type(a) is float and type(b) is float:
                return arithmetic(a, b)
            x, y = tonumber(a), tonumber(b)        # "10" + 1 is 11
            if x is not None and y is not None:
                return arithmetic(x, y)
            handler = self.binary_handler(a, b, EVENTS[op])
            if handler is None:
                culprit, value = (node.left, a) if x is None else (node.right, b)
                raise self.runtime_error("attempt to perform arithmetic on "
                                         + describe(culprit, value), node.line)
            return self.first(self.call_handler(handler, [a, b], node))
        if op == "..":
            if type(a) is str and type(b) is str:
                return a + b
            if type(a) in (str, float) and type(b) in (str, float):
                return tostring(a) + tostring(b)
            handler = self.binary_handler(a, b, "__concat")
            if handler is None:
                culprit, value = (node.right, b) if type(a) in (str, float) else (node.left, a)
                raise self.runtime_error("attempt to concatenate " + describe(culprit, value),
                                         node.line)
            return self.first(self.call_handler(handler, [a, b], node))
        if op == "==":
            return (a == b and type(a) is type(b)) or self.meta_equals(a, b, node)
        if op == "~=":
            return not ((a == b and type(a) is type(b)) or self.meta_equals(a, b, node))
        kind = type(a)
        if kind is type(b) and (kind is float or kind is str):
            return ORDER[op](a, b)
        # a > b is b < a, a >= b is b <= a, for metamethods and error messages alike.
        if op == ">" or op == ">=":
            a, b = b, a
        return self.less_than(a, b, node) if op in ("<", ">") else self.less_equal(a, b, node)

    @staticmethod
    def first(results: list):
        return results[0] if results else None

    def binary_handler(self, a, b, event: str):
        """The metamethod of an arithmetic or concatenation: the first operand's, else
        the second's."""
        handler = self.metamethod(a, event)
        return handler if handler is not None else self.metamethod(b, event)

    def meta_equals(self, a, b, node) -> bool:
        """a == b for two different tables: by their __eq, when both have the same."""
        if type(a) is not LuaTable or type(b) is not LuaTable or a is b:
            return False
        handler = self.comparison_handler(a.metatable, b.metatable, "__eq")
        return handler is not None and truthy(self.first(self.call_handler(handler, [a, b],
                                                                           node)))

    @staticmethod
    def comparison_handler(first: LuaTable | None, second: LuaTable | None, event: str):
        """The metamethod of == for tables with these metatables: Lua calls one only
        when both tables have it (the same function, or the same metatable)."""
        handler = None if first is None else first.hash.get(event)
        if handler is None or first is second:
            return handler
        other = None if second is None else second.hash.get(event)
        return handler if other is not None and lua_equals(handler, other) else None

    def order_handler(self, a, b, event: str):
        """The __lt or __le of a comparison: both operands must have the same one."""
        handler = self.metamethod(a, event)
        if handler is None or not lua_equals(handler, self.metamethod(b, event)):
            return None
        return handler

    def less_than(self, a, b, node=None) -> bool:
        """a < b: numbers, strings, or values of one type with the same __lt."""
        kind = type(a)
        if kind is type(b):
            if kind is float or kind is str:
                return a < b
            handler = self.order_handler(a, b, "__lt")
            if handler is not None:
                return truthy(self.first(self.call_handler(handler, [a, b], node)))
        raise self.order_error(a, b, node)

    def less_equal(self, a, b, node=None) -> bool:
        """a <= b: numbers, strings, a shared __le, else not (b < a) by a shared __lt."""
        kind = type(a)
        if kind is type(b):
            if kind is float or kind is str:
                return a <= b
            handler = self.order_handler(a, b, "__le")
            if handler is not None:
                return truthy(self.first(self.call_handler(handler, [a, b], node)))
            handler = self.order_handler(b, a, "__lt")
            if handler is not None:
                return not truthy(self.first(self.call_handler(handler, [b, a], node)))
        raise self.order_error(a, b, node)

    def order_error(self, a, b, node) -> LuaError:
        if type(a) is type(b):
            return self.error_at(f"attempt to compare two {type_name(a)} values", node)
        return self.error_at(f"attempt to compare {type_name(a)} with {type_name(b)}", node)

    def eval_unop(self, node: n.UnOp, scope: Scope):
        value = self.evaluate(node.operand, scope)
        op = node.op
        if op == "not":
            return not truthy(value)
        if op == "-":
            number = tonumber(value)
            if number is not None:
                return -number
            handler = self.metamethod(value, "__unm")
            if handler is None:
                raise self.runtime_error("attempt to perform arithmetic on "
                                         + describe(node.operand, value), node.line)
            return self.first(self.call_handler(handler, [value, value], node))
        if type(value) is str:                       # '#'
            return float(len(value))
        if type(value) is LuaTable:
            return float(value.length())
        raise self.runtime_error("attempt to get length of " + describe(node.operand, value),
                                 node.line)

    def eval_table(self, node: n.Table, scope: Scope):
        table = LuaTable()
        items = node.items
        position = 0
        for i, (key, value) in enumerate(items):
            if key is not None:
                table.rawset(self.evaluate(key, scope), self.evaluate(value, scope))
                continue
            if i == len(items) - 1 and type(value) in (n.Call, n.MethodCall, n.Vararg):
                values = self.evaluate_list([value], scope)
            else:
                values = [self.evaluate(value, scope)]
            for each in values:
                position += 1
                if each is not None:
                    table.hash[float(position)] = each
        # Lua sizes the array part for every positional item, nil or not, and `#`
        # then answers that size: {1, nil, 3} has length 3.
        table.border = position
        return table
