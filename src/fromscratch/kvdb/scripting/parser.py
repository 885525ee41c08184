"""Tokens to a syntax tree: a recursive-descent parser for Lua 5.1.

The grammar is the reference manual's (section 8, "The Complete Syntax of Lua"), and
operator precedence is the manual's table, lowest first:

    or
    and
    <  >  <=  >=  ~=  ==
    ..                      (right associative)
    +  -
    *  /  %
    not  #  - (unary)
    ^                       (right associative, binds tighter than unary minus)

implemented as Lua's own parser does it, with a left and a right priority per binary
operator (`_PRIORITY`). The parser also resolves names to locals or globals, checks
that `break` is inside a loop and `...` inside a vararg function, and reports errors
with Lua's wording: `user_script:1: 'end' expected near '<eof>'`.
"""

from __future__ import annotations

from . import nodes as n
from .lexer import Lexer, LuaSyntaxError
from .values import CHUNK_NAME

# binary operator: (left priority, right priority); right < left makes it right-associative
_PRIORITY = {
    "or": (1, 1), "and": (2, 2),
    "<": (3, 3), ">": (3, 3), "<=": (3, 3), ">=": (3, 3), "~=": (3, 3), "==": (3, 3),
    "..": (5, 4), "+": (6, 6), "-": (6, 6), "*": (7, 7), "/": (7, 7), "%": (7, 7),
    "^": (10, 9),
}
_UNARY_PRIORITY = 8
_BLOCK_ENDS = frozenset({"return", "end", "else", "elseif", "until", "eof"})
MAX_NESTING = 200               # Lua's LUAI_MAXCCALLS: "chunk has too many syntax levels"


class _FunctionState:
    """What the parser tracks per function: its block scopes (name -> variable key),
    how many loops enclose the current point, and whether it takes `...`."""

    def __init__(self, parent, is_vararg: bool):
        self.parent = parent
        self.is_vararg = is_vararg
        self.scopes: list[dict] = []
        self.loops = 0


def parse(source: str, chunk_name: str = CHUNK_NAME) -> n.Function:
    """Parse a whole script: the main function of the chunk (which takes `...`).
    Errors name the source `chunk_name`."""
    return Parser(source, chunk_name).chunk()


class Parser:
    def __init__(self, source: str, chunk_name: str):
        self.chunk_name = chunk_name
        self.tokens = Lexer(source, chunk_name).tokens()
        self.pos = 0
        self.function: _FunctionState | None = None
        self.nesting = 0
        self.unique = 0             # numbers the variables a block declares twice

    # -- tokens ------------------------------------------------------------------------

    @property
    def kind(self) -> str:
        return self.tokens[self.pos][0]

    @property
    def line(self) -> int:
        return self.tokens[self.pos][2]

    def advance(self) -> tuple:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def accept(self, kind: str) -> bool:
        if self.tokens[self.pos][0] == kind:
            self.pos += 1
            return True
        return False

    def expect(self, kind: str) -> tuple:
        if self.kind != kind:
            raise self.error(f"'{kind}' expected")
        return self.advance()

    def expect_closing(self, kind: str, opener: str, line: int) -> None:
        """`end`, `)`, `}`... closing what opened at `line`; Lua names the opener when
        it is on another line."""
        if self.kind == kind:
            self.advance()
        elif line == self.line:
            raise self.error(f"'{kind}' expected")
        else:
            raise self.error(f"'{kind}' expected (to close '{opener}' at line {line})")

    def name(self) -> str:
        if self.kind != "name":
            raise self.error("'<name>' expected")
        return self.advance()[1]

    def error(self, message: str) -> LuaSyntaxError:
        kind, value, line = self.tokens[self.pos]
        if kind == "eof":
            near = "<eof>"
        elif kind == "string":
            near = value
        elif kind == "number":
            near = "%.14g" % value           # Lua shows the source text; close enough
        else:
            near = value
        return LuaSyntaxError(f"{self.chunk_name}:{line}: {message} near '{near}'")

    def enter(self) -> None:
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise LuaSyntaxError(f"{self.chunk_name}:{self.line}: chunk has too many syntax "
                                 "levels")

    def leave(self) -> None:
        self.nesting -= 1

    # -- scopes ------------------------------------------------------------------------

    def open_scope(self, names=()) -> list:
        self.function.scopes.append({})
        return [self.declare(name) for name in names]

    def close_scope(self) -> None:
        self.function.scopes.pop()

    def declare(self, name: str) -> str:
        scope = self.function.scopes[-1]
        key = name
        if name in scope:                    # a second `local x` in the same block
            self.unique += 1
            key = f"{name}#{self.unique}"
        scope[name] = key
        return key

    def resolve(self, name: str, line: int):
        function, upvalue = self.function, False
        while function is not None:
            for scope in reversed(function.scopes):
                if name in scope:
                    return n.Local(scope[name], name, upvalue, line)
            function, upvalue = function.parent, True
        return n.Global(name, line)

    # -- blocks and statements ---------------------------------------------------------

    def chunk(self) -> n.Function:
        self.function = _FunctionState(None, is_vararg=True)
        self.open_scope()
        body = self.block()
        if self.kind != "eof":
            raise self.error("'<eof>' expected")
        return n.Function([], True, body, "main chunk", 0)

    def block(self) -> list:
        """Statements up to the end of a block; the caller opened its scope."""
        statements = []
        while self.kind not in _BLOCK_ENDS:
            statement = self.statement()
            self.accept(";")
            statements.append(statement)
            if isinstance(statement, n.Break):
                break                       # break, like return, must end its block
        if self.kind == "return":
            statements.append(self.return_statement())
        return statements

    def scoped_block(self, names=()) -> tuple[list, list]:
        keys = self.open_scope(names)
        body = self.block()
        self.close_scope()
        return keys, body

    def statement(self):
        kind, line = self.kind, self.line
        self.enter()
        try:
            if kind == "if":
                return self.if_statement()
            if kind == "while":
                self.advance()
                cond = self.expression()
                self.expect("do")
                body = self.loop_body()
                self.expect_closing("end", "while", line)
                return n.While(cond, body, line)
            if kind == "do":
                self.advance()
                _, body = self.scoped_block()
                self.expect_closing("end", "do", line)
                return n.Do(body, line)
            if kind == "for":
                return self.for_statement()
            if kind == "repeat":
                return self.repeat_statement()
            if kind == "function":
                return self.function_statement()
            if kind == "local":
                self.advance()
                if self.accept("function"):
                    return self.local_function(line)
                return self.local_statement(line)
            if kind == "break":
                self.advance()
                if not self.function.loops:
                    raise self.error("no loop to break")
                return n.Break(line)
            return self.expression_statement()
        finally:
            self.leave()

    def loop_body(self, names=()) -> list:
        self.function.loops += 1
        _, body = self.scoped_block(names)
        self.function.loops -= 1
        return body

    def if_statement(self) -> n.If:
        line = self.line
        clauses = []
        orelse = None
        self.advance()                                   # if
        while True:
            cond = self.expression()
            self.expect("then")
            _, body = self.scoped_block()
            clauses.append((cond, body))
            if self.accept("elseif"):
                continue
            if self.accept("else"):
                _, orelse = self.scoped_block()
            self.expect_closing("end", "if", line)
            return n.If(clauses, orelse, line)

    def for_statement(self):
        line = self.line
        self.advance()                                   # for
        first = self.name()
        if self.accept("="):
            start = self.expression()
            self.expect(",")
            stop = self.expression()
            step = self.expression() if self.accept(",") else None
            self.expect("do")
            self.function.loops += 1
            keys = self.open_scope([first])
            body = self.block()
            self.close_scope()
            self.function.loops -= 1
            self.expect_closing("end", "for", line)
            return n.NumericFor(keys[0], start, stop, step, body, line)
        if self.kind not in (",", "in"):
            raise self.error("'=' or 'in' expected")
        names = [first]
        while self.accept(","):
            names.append(self.name())
        self.expect("in")
        exprs = self.expression_list()
        self.expect("do")
        self.function.loops += 1
        keys = self.open_scope(names)
        body = self.block()
        self.close_scope()
        self.function.loops -= 1
        self.expect_closing("end", "for", line)
        return n.GenericFor(keys, exprs, body, line)

    def repeat_statement(self) -> n.Repeat:
        line = self.line
        self.advance()                                   # repeat
        self.function.loops += 1
        self.open_scope()
        body = self.block()
        self.expect_closing("until", "repeat", line)
        cond = self.expression()                         # sees the body's locals
        self.close_scope()
        self.function.loops -= 1
        return n.Repeat(body, cond, line)

    def function_statement(self) -> n.Assign:
        line = self.line
        self.advance()                                   # function
        name = self.name()
        target = self.resolve(name, line)
        full_name = name
        is_method = False
        while self.kind in (".", ":"):
            is_method = self.advance()[0] == ":"
            key = self.name()
            full_name += (":" if is_method else ".") + key
            target = n.Index(target, n.Constant(key, line), line)
            if is_method:
                break
        func = self.function_body(line, full_name, is_method)
        return n.Assign([target], [func], line)

    def local_function(self, line: int) -> n.LocalFunction:
        name = self.name()
        key = self.declare(name)                         # visible in its own body
        return n.LocalFunction(key, self.function_body(line, name, False), line)

    def local_statement(self, line: int) -> n.LocalAssign:
        names = [self.name()]
        while self.accept(","):
            names.append(self.name())
        exprs = self.expression_list() if self.accept("=") else []
        keys = [self.declare(name) for name in names]    # after the values: `local x = x`
        return n.LocalAssign(keys, exprs, line)

    def return_statement(self) -> n.Return:
        line = self.line
        self.advance()                                   # return
        exprs = [] if self.kind in _BLOCK_ENDS or self.kind == ";" else self.expression_list()
        self.accept(";")
        return n.Return(exprs, line)     # what encloses the block checks that it ends here

    def expression_statement(self):
        line = self.line
        expr = self.suffixed_expression()
        if self.kind in ("=", ","):
            targets = [expr]
            while self.accept(","):
                targets.append(self.suffixed_expression())
            for target in targets:
                if not isinstance(target, (n.Local, n.Global, n.Index)):
                    raise self.error("syntax error")
            self.expect("=")
            return n.Assign(targets, self.expression_list(), line)
        if isinstance(expr, (n.Call, n.MethodCall)):
            return n.CallStatement(expr, line)
        if not isinstance(expr, (n.Local, n.Global, n.Index)):
            raise self.error("syntax error")
        raise self.error("'=' expected")

    # -- expressions -------------------------------------------------------------------

    def expression_list(self) -> list:
        exprs = [self.expression()]
        while self.accept(","):
            exprs.append(self.expression())
        return exprs

    def expression(self, limit: int = 0):
        self.enter()
        line = self.line
        if self.kind in ("not", "-", "#"):
            op = self.advance()[0]
            left = n.UnOp(op, self.expression(_UNARY_PRIORITY), line)
        else:
            left = self.simple_expression()
        while True:
            op = self.kind
            priority = _PRIORITY.get(op)
            if priority is None or priority[0] <= limit:
                break
            line = self.line
            self.advance()
            right = self.expression(priority[1])
            if op == "and":
                left = n.And(left, right, line)
            elif op == "or":
                left = n.Or(left, right, line)
            else:
                left = n.BinOp(op, left, right, line)
        self.leave()
        return left

    def simple_expression(self):
        kind, value, line = self.tokens[self.pos]
        if kind in ("number", "string"):
            self.advance()
            return n.Constant(value, line)
        if kind in ("nil", "true", "false"):
            self.advance()
            return n.Constant({"nil": None, "true": True, "false": False}[kind], line)
        if kind == "...":
            if not self.function.is_vararg:
                raise self.error("cannot use '...' outside a vararg function")
            self.advance()
            return n.Vararg(line)
        if kind == "{":
            return self.table_constructor()
        if kind == "function":
            self.advance()
            return self.function_body(line, "anonymous", False)
        return self.suffixed_expression()

    def primary_expression(self):
        kind, value, line = self.tokens[self.pos]
        if kind == "name":
            self.advance()
            return self.resolve(value, line)
        if kind == "(":
            self.advance()
            expr = self.expression()
            self.expect_closing(")", "(", line)
            return n.Paren(expr, line)
        raise self.error("unexpected symbol")

    def suffixed_expression(self):
        expr = self.primary_expression()
        while True:
            kind, line = self.kind, self.line
            if kind == ".":
                self.advance()
                expr = n.Index(expr, n.Constant(self.name(), line), line)
            elif kind == "[":
                self.advance()
                key = self.expression()
                self.expect("]")
                expr = n.Index(expr, key, line)
            elif kind == ":":
                self.advance()
                method = self.name()
                expr = n.MethodCall(expr, method, self.call_arguments(), line)
            elif kind in ("(", "string", "{"):
                expr = n.Call(expr, self.call_arguments(), line)
            else:
                return expr

    def call_arguments(self) -> list:
        kind, value, line = self.tokens[self.pos]
        if kind == "string":
            self.advance()
            return [n.Constant(value, line)]
        if kind == "{":
            return [self.table_constructor()]
        if kind != "(":
            raise self.error("function arguments expected")
        self.advance()
        args = [] if self.kind == ")" else self.expression_list()
        self.expect_closing(")", "(", line)
        return args

    def table_constructor(self) -> n.Table:
        line = self.line
        self.expect("{")
        items = []
        while self.kind != "}":
            if self.kind == "[":
                self.advance()
                key = self.expression()
                self.expect("]")
                self.expect("=")
                items.append((key, self.expression()))
            elif self.kind == "name" and self.tokens[self.pos + 1][0] == "=":
                key = n.Constant(self.advance()[1], self.line)
                self.advance()                           # =
                items.append((key, self.expression()))
            else:
                items.append((None, self.expression()))
            if not (self.accept(",") or self.accept(";")):
                break
        self.expect_closing("}", "{", line)
        return n.Table(items, line)

    def function_body(self, line: int, name: str, is_method: bool) -> n.Function:
        self.function = _FunctionState(self.function, is_vararg=False)
        self.expect("(")
        params = ["self"] if is_method else []
        while self.kind != ")":
            if self.accept("..."):
                self.function.is_vararg = True
                break
            params.append(self.name())
            if not self.accept(","):
                break
        self.expect(")")
        keys = self.open_scope(params)
        body = self.block()
        self.close_scope()
        end_line = self.line
        self.expect_closing("end", "function", line)
        function, self.function = self.function, self.function.parent
        return n.Function(keys, function.is_vararg, body, name, line, end_line)
