"""A recursive-descent parser for PostgreSQL's dialect of SQL.

`parse(text)` returns a list of (statement AST, statement text) pairs: a simple Query
message may hold several statements separated by semicolons.

Expression precedence follows PostgreSQL's grammar (gram.y), loosest first:

    OR < AND < NOT < IS, ISNULL, NOTNULL < comparison (< > = <= >= <>)
       < BETWEEN IN LIKE ILIKE SIMILAR < other operators (|| -> ~ ...) < + - < * / %
       < ^ < AT TIME ZONE < COLLATE < unary minus < [ ] subscripts < :: casts
"""

from __future__ import annotations

from ..errors import STATEMENT_TOO_COMPLEX, SYNTAX_ERROR, FEATURE_NOT_SUPPORTED, SqlError
from . import ast as A
from .lexer import EOF, IDENT, NUMBER, OP, PARAM, PUNCT, QIDENT, STRING, Token, tokenize

# Keywords that can never be a column or table name without quotes.
RESERVED = {
    "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "both",
    "case", "cast", "check", "collate", "column", "constraint", "create", "current_catalog",
    "current_date", "current_role", "current_time", "current_timestamp", "current_user",
    "default", "deferrable", "desc", "distinct", "do", "else", "end", "except", "false",
    "fetch", "for", "foreign", "from", "grant", "group", "having", "in", "initially",
    "intersect", "into", "lateral", "leading", "limit", "localtime", "localtimestamp",
    "not", "null", "offset", "on", "only", "or", "order", "placing", "primary",
    "references", "returning", "select", "session_user", "some", "symmetric", "table",
    "then", "to", "trailing", "true", "union", "unique", "user", "using", "variadic",
    "when", "where", "window", "with",
}
# Keywords that may name a function or type but cannot be a bare alias.
NOT_ALIAS = RESERVED | {
    "authorization", "binary", "collation", "concurrently", "cross", "current_schema",
    "freeze", "full", "ilike", "inner", "is", "isnull", "join", "left", "like", "natural",
    "notnull", "outer", "overlaps", "right", "similar", "tablesample", "verbose",
}
# Keywords that may follow an expression in a target list, so cannot be a bare label.
_NOT_BARE_LABEL = NOT_ALIAS | {"over", "filter", "within", "at", "escape", "ordinality"}

_COMPARISON = {"<", ">", "=", "<=", ">=", "<>", "!="}
MAX_DEPTH = 150     # nesting beyond this is refused rather than exhausting the stack

_MULTIWORD_TYPES = {
    ("double", "precision"): "double precision",
    ("character", "varying"): "character varying",
    ("char", "varying"): "character varying",
}


class Parser:
    def __init__(self, text: str, tokens=None):
        self.text = text
        self.tokens = tokens if tokens is not None else tokenize(text)
        self.i = 0
        self.depth = 0
        self.max_param = 0

    # -- token helpers -------------------------------------------------------------------

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, offset: int = 1) -> Token:
        j = min(self.i + offset, len(self.tokens) - 1)
        return self.tokens[j]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind != EOF:
            self.i += 1
        return tok

    def error(self, tok: Token | None = None, message: str | None = None) -> SqlError:
        tok = tok or self.tok
        if message is None:
            if tok.kind == EOF:
                message = "syntax error at end of input"
            else:
                text = self.text[tok.pos:self._token_end(tok)]
                message = f'syntax error at or near "{text}"'
        return SqlError(SYNTAX_ERROR, message, position=tok.pos + 1)

    def _token_end(self, tok: Token) -> int:
        idx = self.tokens.index(tok)
        if idx + 1 < len(self.tokens):
            end = self.tokens[idx + 1].pos
            text = self.text[tok.pos:end].rstrip()
            return tok.pos + len(text)
        return len(self.text)

    def is_kw(self, *words: str) -> bool:
        t = self.tok
        return t.kind == IDENT and t.value in words

    def peek_kw(self, offset: int, *words: str) -> bool:
        t = self.peek(offset)
        return t.kind == IDENT and t.value in words

    def accept_kw(self, *words: str) -> bool:
        if self.is_kw(*words):
            self.i += 1
            return True
        return False

    def expect_kw(self, *words: str) -> str:
        if not self.is_kw(*words):
            raise self.error()
        return self.advance().value

    def is_punct(self, p: str) -> bool:
        t = self.tok
        return t.kind == PUNCT and t.value == p

    def accept_punct(self, p: str) -> bool:
        if self.is_punct(p):
            self.i += 1
            return True
        return False

    def expect_punct(self, p: str) -> None:
        if not self.accept_punct(p):
            raise self.error()

    def is_op(self, *ops: str) -> bool:
        t = self.tok
        return t.kind == OP and t.value in ops

    def accept_op(self, op: str) -> bool:
        if self.is_op(op):
            self.i += 1
            return True
        return False

    def ident(self, allow_reserved: bool = False) -> str:
        """A name: an unreserved keyword or identifier, or a quoted identifier."""
        t = self.tok
        if t.kind == QIDENT or (t.kind == IDENT and (allow_reserved or t.value not in RESERVED)):
            self.i += 1
            return t.value
        raise self.error()

    def qualified_name(self) -> list[str]:
        names = [self.ident()]
        while self.is_punct("."):
            self.i += 1
            names.append(self.ident(allow_reserved=True))
        return names

    def ident_list(self) -> list[str]:
        names = [self.ident()]
        while self.accept_punct(","):
            names.append(self.ident())
        return names

    def paren_ident_list(self) -> list[str]:
        self.expect_punct("(")
        names = self.ident_list()
        self.expect_punct(")")
        return names

    # -- statements ----------------------------------------------------------------------

    def parse_statements(self) -> list[tuple[A.Node, str]]:
        out = []
        while True:
            while self.accept_punct(";"):
                pass
            if self.tok.kind == EOF:
                return out
            start = self.tok.pos
            stmt = self.statement()
            end = self.tok.pos if self.tok.kind != EOF else len(self.text)
            if not (self.is_punct(";") or self.tok.kind == EOF):
                raise self.error()
            out.append((stmt, self.text[start:end].strip()))

    def statement(self) -> A.Node:
        t = self.tok
        if t.kind == PUNCT and t.value == "(":
            return self.query()
        if t.kind != IDENT:
            raise self.error()
        word = t.value
        handler = getattr(self, "stmt_" + word, None)
        if handler is None:
            raise self.error()
        return handler()

    def stmt_select(self):
        return self.query()

    stmt_values = stmt_select
    stmt_table = stmt_select

    def stmt_with(self):
        with_ = self.with_clause()
        if self.is_kw("insert"):
            stmt = self.stmt_insert()
        elif self.is_kw("update"):
            stmt = self.stmt_update()
        elif self.is_kw("delete"):
            stmt = self.stmt_delete()
        else:
            stmt = self.query()
            if stmt.with_ is None:
                stmt.with_ = with_
                return stmt
            return A.Query(body=A.Select(targets=[A.Target(A.Star())],
                                         from_=[A.SubqueryRef(stmt, "q")]), with_=with_)
        stmt.with_ = with_
        return stmt

    # -- queries -------------------------------------------------------------------------

    def with_clause(self) -> A.With:
        self.expect_kw("with")
        recursive = self.accept_kw("recursive")
        tables = []
        while True:
            name = self.ident()
            cols = self.paren_ident_list() if self.is_punct("(") else []
            self.expect_kw("as")
            materialized = None
            if self.accept_kw("not"):
                self.expect_kw("materialized")
                materialized = False
            elif self.accept_kw("materialized"):
                materialized = True
            self.expect_punct("(")
            if self.is_kw("insert", "update", "delete"):
                inner = self.statement()
            else:
                inner = self.query()
            self.expect_punct(")")
            tables.append(A.CommonTable(name, inner, cols, materialized))
            if not self.accept_punct(","):
                break
        return A.With(recursive, tables)

    def query(self) -> A.Query:
        """A full query: [WITH] set-operation body [ORDER BY] [LIMIT/OFFSET/FETCH] [FOR ...]."""
        pos = self.tok.pos
        self.enter()
        with_ = self.with_clause() if self.is_kw("with") else None
        body = self.set_operation()
        q = body if isinstance(body, A.Query) and with_ is None else None
        if q is None:
            q = A.Query(body=body, with_=with_, pos=pos)
        elif q.order_by or q.limit is not None or q.offset is not None:
            q = A.Query(body=q, pos=pos)
        self.query_tail(q)
        self.leave()
        return q

    def query_tail(self, q: A.Query) -> None:
        if self.is_kw("order") and self.peek_kw(1, "by"):
            self.i += 2
            q.order_by = self.sort_list()
        while True:
            if self.accept_kw("limit"):
                q.limit = None if self.accept_kw("all") else self.expr()
            elif self.accept_kw("offset"):
                q.offset = self.expr()
                self.accept_kw("row", "rows")
            elif self.accept_kw("fetch"):
                self.expect_kw("first", "next")
                if self.is_kw("row", "rows"):
                    q.limit = A.Const("1", "int")
                else:
                    q.limit = self.primary_expr()
                self.expect_kw("row", "rows")
                if not self.accept_kw("only"):
                    self.expect_kw("with")
                    self.expect_kw("ties")
                    q.with_ties = True
            elif self.is_kw("for") and self.peek_kw(1, "update", "share", "no", "key"):
                self.i += 1
                words = []
                while self.is_kw("update", "share", "no", "key"):
                    words.append(self.advance().value)
                q.locking = " ".join(words)
                if self.accept_kw("of"):
                    self.ident_list()
                if self.accept_kw("nowait"):
                    q.lock_wait = "nowait"
                elif self.accept_kw("skip"):
                    self.expect_kw("locked")
                    q.lock_wait = "skip"
            else:
                break

    def set_operation(self) -> A.Node:
        left = self.set_term()
        while self.is_kw("union", "except"):
            op = self.advance().value
            all_ = self.accept_kw("all")
            self.accept_kw("distinct")
            right = self.set_term()
            left = A.SetOp(op, all_, left, right)
        return left

    def set_term(self) -> A.Node:
        left = self.set_primary()
        while self.is_kw("intersect"):
            self.advance()
            all_ = self.accept_kw("all")
            self.accept_kw("distinct")
            right = self.set_primary()
            left = A.SetOp("intersect", all_, left, right)
        return left

    def set_primary(self) -> A.Node:
        if self.is_punct("("):
            self.advance()
            inner = self.query()
            self.expect_punct(")")
            if not inner.order_by and inner.limit is None and inner.offset is None \
                    and inner.with_ is None and inner.locking is None:
                return inner.body
            return inner
        if self.is_kw("select"):
            return self.select_core()
        if self.is_kw("values"):
            return self.values()
        if self.accept_kw("table"):
            pos = self.tok.pos
            name = self.qualified_name()
            return A.Select(targets=[A.Target(A.Star())], from_=[A.TableRef(name, pos=pos)])
        raise self.error()

    def values(self) -> A.Values:
        pos = self.tok.pos
        self.expect_kw("values")
        rows = []
        while True:
            self.expect_punct("(")
            row = [self.expr_or_default()]
            while self.accept_punct(","):
                row.append(self.expr_or_default())
            self.expect_punct(")")
            rows.append(row)
            if not self.accept_punct(","):
                break
        return A.Values(rows, pos)

    def expr_or_default(self) -> A.Node:
        if self.is_kw("default"):
            tok = self.advance()
            return A.DefaultExpr(tok.pos)
        return self.expr()

    def select_core(self) -> A.Select:
        pos = self.tok.pos
        self.expect_kw("select")
        sel = A.Select(targets=[], pos=pos)
        if self.accept_kw("distinct"):
            sel.distinct = True
            if self.accept_kw("on"):
                self.expect_punct("(")
                sel.distinct_on = self.expr_list()
                self.expect_punct(")")
        else:
            self.accept_kw("all")
        if not (self.tok.kind == EOF or self.is_kw("from", "where", "group", "having", "order",
                                                   "limit", "offset", "union", "intersect",
                                                   "except", "window", "fetch", "into")
                or self.is_punct(")") or self.is_punct(";")):
            sel.targets = self.target_list()
        if self.accept_kw("into"):
            self.accept_kw("temporary", "temp")
            self.accept_kw("table")
            sel.into = self.qualified_name()
        if self.accept_kw("from"):
            sel.from_ = self.from_list()
        if self.accept_kw("where"):
            sel.where = self.expr()
        if self.is_kw("group") and self.peek_kw(1, "by"):
            self.i += 2
            self.accept_kw("all")
            sel.group_by = self.group_list()
        if self.accept_kw("having"):
            sel.having = self.expr()
        if self.accept_kw("window"):
            while True:
                name = self.ident()
                self.expect_kw("as")
                sel.windows[name] = self.window_spec()
                if not self.accept_punct(","):
                    break
        return sel

    def group_list(self) -> list[A.Node]:
        items = []
        while True:
            pos = self.tok.pos
            if self.is_punct("(") and self.peek().kind == PUNCT and self.peek().value == ")":
                self.i += 2          # GROUP BY () — the empty grouping set
                items.append(A.GroupingSets("sets", [[]], pos))
            elif self.is_kw("rollup", "cube") and self.peek().kind == PUNCT \
                    and self.peek().value == "(":
                kind = self.advance().value
                self.advance()
                columns = [self.grouping_element() for _ in [0]]
                while self.accept_punct(","):
                    columns.append(self.grouping_element())
                self.expect_punct(")")
                items.append(A.GroupingSets(kind, columns, pos))
            elif self.is_kw("grouping") and self.peek_kw(1, "sets"):
                self.i += 2
                self.expect_punct("(")
                sets = [self.grouping_element()]
                while self.accept_punct(","):
                    sets.append(self.grouping_element())
                self.expect_punct(")")
                items.append(A.GroupingSets("sets", sets, pos))
            else:
                items.append(self.expr())
            if not self.accept_punct(","):
                return items

    def grouping_element(self) -> list[A.Node]:
        """One element of ROLLUP/CUBE/GROUPING SETS: (a, b), (), or a."""
        if self.is_punct("(") and self.peek().kind == PUNCT and self.peek().value == ")":
            self.i += 2
            return []
        if self.is_punct("("):
            save = self.i
            self.advance()
            items = self.expr_list()
            if self.accept_punct(")") and (self.is_punct(",") or self.is_punct(")")):
                return items
            self.i = save
        return [self.expr()]

    def target_list(self) -> list[A.Target]:
        targets = [self.target()]
        while self.accept_punct(","):
            targets.append(self.target())
        return targets

    def target(self) -> A.Target:
        pos = self.tok.pos
        if self.is_op("*"):
            self.advance()
            return A.Target(A.Star(pos=pos), pos=pos)
        e = self.expr()
        alias = None
        if self.accept_kw("as"):
            alias = self.ident(allow_reserved=True)
        elif self.tok.kind == QIDENT or (self.tok.kind == IDENT
                                         and self.tok.value not in _NOT_BARE_LABEL):
            alias = self.advance().value
        return A.Target(e, alias, pos)

    def sort_list(self) -> list[A.SortItem]:
        items = [self.sort_item()]
        while self.accept_punct(","):
            items.append(self.sort_item())
        return items

    def sort_item(self) -> A.SortItem:
        e = self.expr()
        item = A.SortItem(e)
        if self.accept_kw("desc"):
            item.descending = True
        elif self.accept_kw("asc"):
            pass
        elif self.accept_kw("using"):
            op = self.advance().value
            item.using = op
            item.descending = op == ">"
        if self.accept_kw("nulls"):
            item.nulls_first = self.expect_kw("first", "last") == "first"
        return item

    # -- FROM ----------------------------------------------------------------------------

    def from_list(self) -> list[A.Node]:
        items = [self.from_item()]
        while self.accept_punct(","):
            items.append(self.from_item())
        return items

    def from_item(self) -> A.Node:
        left = self.from_primary()
        while True:
            pos = self.tok.pos
            if self.accept_kw("cross"):
                self.expect_kw("join")
                right = self.from_primary()
                left = A.Join("cross", left, right, pos=pos)
                continue
            natural = self.accept_kw("natural")
            kind = None
            if self.accept_kw("join"):
                kind = "inner"
            elif self.is_kw("inner", "left", "right", "full"):
                kind = self.advance().value
                if kind != "inner":
                    self.accept_kw("outer")
                self.expect_kw("join")
            elif natural:
                raise self.error()
            if kind is None:
                return left
            right = self.from_item_for_join()
            join = A.Join(kind, left, right, natural=natural, pos=pos)
            if not natural:
                if self.accept_kw("on"):
                    join.on = self.expr()
                elif self.accept_kw("using"):
                    join.using = self.paren_ident_list()
                    if self.accept_kw("as"):
                        self.ident()
                else:
                    raise self.error()
            left = join

    def from_item_for_join(self) -> A.Node:
        # The right side of a join binds tighter than later joins: a JOIN b JOIN c is
        # (a JOIN b) JOIN c, but a parenthesised join is a single item.
        return self.from_primary()

    def from_primary(self) -> A.Node:
        pos = self.tok.pos
        lateral = self.accept_kw("lateral")
        if self.is_punct("("):
            self.advance()
            if self.is_kw("select", "values", "with", "table") or self.is_punct("("):
                # Either a subquery or a parenthesised join starting with a subquery.
                save = self.i
                try:
                    q = self.query()
                    self.expect_punct(")")
                    alias, cols = self.alias_clause()
                    return A.SubqueryRef(q, alias, cols, lateral, pos)
                except SqlError:
                    self.i = save
            inner = self.from_item()
            self.expect_punct(")")
            alias, cols = self.alias_clause()
            if alias and isinstance(inner, A.Join):
                return A.SubqueryRef(A.Query(A.Select([A.Target(A.Star())], from_=[inner])),
                                     alias, cols, False, pos)
            return inner
        only = self.accept_kw("only")
        name = self.qualified_name()
        self.accept_op("*")
        if self.is_punct("("):
            func = self.function_call(name, pos)
            with_ordinality = False
            if self.is_kw("with") and self.peek_kw(1, "ordinality"):
                self.i += 2
                with_ordinality = True
            alias, cols = self.alias_clause(allow_coldefs=True)
            return A.FunctionRef(func, alias, cols, with_ordinality, lateral, pos)
        alias, cols = self.alias_clause()
        if self.is_kw("tablesample"):
            raise SqlError(FEATURE_NOT_SUPPORTED, "TABLESAMPLE is not supported")
        return A.TableRef(name, alias, cols, only, pos)

    def alias_clause(self, allow_coldefs: bool = False):
        alias = None
        if self.accept_kw("as"):
            alias = self.ident()
        elif self.tok.kind == QIDENT or (self.tok.kind == IDENT
                                         and self.tok.value not in NOT_ALIAS):
            alias = self.advance().value
        cols: list[str] = []
        if alias and self.is_punct("("):
            self.advance()
            while True:
                cols.append(self.ident())
                if allow_coldefs and not (self.is_punct(",") or self.is_punct(")")):
                    self.type_name()
                if not self.accept_punct(","):
                    break
            self.expect_punct(")")
        return alias, cols

    # -- expressions ---------------------------------------------------------------------

    def enter(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise too_complex()

    def leave(self):
        self.depth -= 1

    def expr_list(self) -> list[A.Node]:
        items = [self.expr()]
        while self.accept_punct(","):
            items.append(self.expr())
        return items

    def expr(self) -> A.Node:
        self.enter()
        try:
            return self.or_expr()
        finally:
            self.leave()

    def or_expr(self) -> A.Node:
        left = self.and_expr()
        while self.is_kw("or"):
            pos = self.advance().pos
            left = A.BinaryOp("OR", left, self.and_expr(), pos)
        return left

    def and_expr(self) -> A.Node:
        left = self.not_expr()
        while self.is_kw("and"):
            pos = self.advance().pos
            left = A.BinaryOp("AND", left, self.not_expr(), pos)
        return left

    def not_expr(self) -> A.Node:
        if self.is_kw("not"):
            pos = self.advance().pos
            self.enter()
            try:
                return A.Not(self.not_expr(), pos)
            finally:
                self.leave()
        return self.is_expr()

    def is_expr(self) -> A.Node:
        e = self.comparison()
        while True:
            pos = self.tok.pos
            if self.accept_kw("isnull"):
                e = A.IsNull(e, False, pos)
            elif self.accept_kw("notnull"):
                e = A.IsNull(e, True, pos)
            elif self.is_kw("is"):
                self.advance()
                negated = self.accept_kw("not")
                if self.accept_kw("null"):
                    e = A.IsNull(e, negated, pos)
                elif self.accept_kw("true"):
                    e = A.IsBool(e, True, negated, pos)
                elif self.accept_kw("false"):
                    e = A.IsBool(e, False, negated, pos)
                elif self.accept_kw("unknown"):
                    e = A.IsBool(e, None, negated, pos)
                elif self.accept_kw("distinct"):
                    self.expect_kw("from")
                    e = A.IsDistinct(e, self.comparison(), negated, pos)
                elif self.accept_kw("normalized"):
                    e = A.FuncCall("is_normalized", [e], pos=pos)
                    if negated:
                        e = A.Not(e, pos)
                else:
                    raise self.error()
            else:
                return e

    def comparison(self) -> A.Node:
        left = self.pattern_expr()
        t = self.tok
        if t.kind == OP and t.value in _COMPARISON:
            op = "<>" if t.value == "!=" else t.value
            self.advance()
            if self.is_kw("any", "some", "all"):
                return self.any_all(op, left, t.pos)
            right = self.pattern_expr()
            return A.BinaryOp(op, left, right, t.pos)
        return left

    def any_all(self, op: str, left: A.Node, pos: int) -> A.Node:
        quantifier = "ALL" if self.advance().value == "all" else "ANY"
        self.expect_punct("(")
        if self.is_kw("select", "values", "with"):
            q = self.query()
            self.expect_punct(")")
            return A.AnyAll(op, left, quantifier, q, True, pos)
        arr = self.expr()
        self.expect_punct(")")
        return A.AnyAll(op, left, quantifier, arr, False, pos)

    def pattern_expr(self) -> A.Node:
        left = self.other_op_expr()
        while True:
            pos = self.tok.pos
            negated = False
            if self.is_kw("not") and self.peek_kw(1, "between", "in", "like", "ilike", "similar"):
                self.advance()
                negated = True
            if self.accept_kw("between"):
                symmetric = self.accept_kw("symmetric")
                self.accept_kw("asymmetric")
                low = self.other_op_expr()
                self.expect_kw("and")
                high = self.other_op_expr()
                left = A.Between(left, low, high, negated, symmetric, pos)
            elif self.accept_kw("in"):
                self.expect_punct("(")
                if self.is_kw("select", "values", "with"):
                    q = self.query()
                    self.expect_punct(")")
                    left = A.InSubquery(left, q, negated, pos)
                else:
                    items = self.expr_list()
                    self.expect_punct(")")
                    left = A.InList(left, items, negated, pos)
            elif self.is_kw("like", "ilike"):
                ci = self.advance().value == "ilike"
                pattern = self.other_op_expr()
                escape = self.other_op_expr() if self.accept_kw("escape") else None
                left = A.Like(left, pattern, escape, negated, ci, False, pos)
            elif self.accept_kw("similar"):
                self.expect_kw("to")
                pattern = self.other_op_expr()
                escape = self.other_op_expr() if self.accept_kw("escape") else None
                left = A.Like(left, pattern, escape, negated, False, True, pos)
            else:
                if negated:
                    raise self.error()
                return left

    def other_op_expr(self) -> A.Node:
        left = self.additive()
        while True:
            t = self.tok
            if t.kind == OP and t.value not in _COMPARISON and t.value not in "+-*/%^":
                self.advance()
                right = self.additive()
                left = A.BinaryOp(t.value, left, right, t.pos)
            elif self.is_kw("operator") and self.peek().kind == PUNCT and self.peek().value == "(":
                pos = self.tok.pos
                op = self.operator_name()
                if op in _COMPARISON:
                    return A.BinaryOp(op, left, self.pattern_expr(), pos)
                left = A.BinaryOp(op, left, self.additive(), pos)
            else:
                return left

    def operator_name(self) -> str:
        """OPERATOR(pg_catalog.~) names an operator with its schema."""
        self.expect_kw("operator")
        self.expect_punct("(")
        while self.tok.kind in (IDENT, QIDENT) and self.peek().kind == PUNCT \
                and self.peek().value == ".":
            self.i += 2
        t = self.advance()
        if t.kind != OP:
            raise self.error(t)
        self.expect_punct(")")
        return t.value

    def additive(self) -> A.Node:
        left = self.multiplicative()
        while self.is_op("+", "-"):
            t = self.advance()
            left = A.BinaryOp(t.value, left, self.multiplicative(), t.pos)
        return left

    def multiplicative(self) -> A.Node:
        left = self.exponent()
        while self.is_op("*", "/", "%"):
            t = self.advance()
            left = A.BinaryOp(t.value, left, self.exponent(), t.pos)
        return left

    def exponent(self) -> A.Node:
        left = self.at_time_zone()
        while self.is_op("^"):
            t = self.advance()
            left = A.BinaryOp("^", left, self.at_time_zone(), t.pos)
        return left

    def at_time_zone(self) -> A.Node:
        left = self.collate()
        while self.is_kw("at") and self.peek_kw(1, "time") and self.peek_kw(2, "zone"):
            pos = self.tok.pos
            self.i += 3
            zone = self.collate()
            left = A.FuncCall("timezone", [zone, left], pos=pos)
        return left

    def collate(self) -> A.Node:
        e = self.unary()
        while self.is_kw("collate"):
            pos = self.advance().pos
            name = self.qualified_name()
            e = A.Collate(e, name[-1], pos)
        return e

    def unary(self) -> A.Node:
        t = self.tok
        if t.kind == OP and t.value in ("-", "+", "~", "@", "|/", "||/", "!!"):
            self.advance()
            self.enter()
            try:
                operand = self.unary()
            finally:
                self.leave()
            if t.value == "-" and isinstance(operand, A.Const) and operand.kind in ("int", "numeric") \
                    and not operand.value.startswith("-"):
                return A.Const("-" + operand.value, operand.kind, t.pos)
            if t.value == "+":
                return operand
            return A.UnaryOp(t.value, operand, t.pos)
        return self.postfix()

    def postfix(self) -> A.Node:
        parenthesised = self.is_punct("(")
        e = self.primary_expr()
        while True:
            if self.is_punct("::"):
                pos = self.advance().pos
                e = A.Cast(e, self.type_name(), pos)
            elif self.is_punct("["):
                pos = self.advance().pos
                lower = upper = None
                is_slice = False
                if not self.is_punct(":"):
                    lower = self.expr()
                if self.accept_punct(":"):
                    is_slice = True
                    if not self.is_punct("]"):
                        upper = self.expr()
                self.expect_punct("]")
                e = A.Subscript(e, lower, upper, is_slice, pos)
            elif self.is_punct(".") and (parenthesised or isinstance(
                    e, (A.FuncCall, A.Subscript, A.RowExpr, A.SubqueryExpr, A.Cast))):
                pos = self.advance().pos
                if self.is_op("*"):
                    self.advance()
                    e = A.FieldSelect(e, "*", pos)
                else:
                    e = A.FieldSelect(e, self.ident(allow_reserved=True), pos)
            else:
                return e

    def primary_expr(self) -> A.Node:
        t = self.tok
        pos = t.pos
        if t.kind == NUMBER:
            self.advance()
            text = t.value
            kind = "int" if text.isdigit() else "numeric"
            return A.Const(text, kind, pos)
        if t.kind == STRING:
            self.advance()
            return A.Const(t.value, "string", pos)
        if t.kind == PARAM:
            self.advance()
            self.max_param = max(self.max_param, t.value)
            return A.Param(t.value, pos)
        if t.kind == PUNCT and t.value == "(":
            self.advance()
            if self.is_kw("select", "values", "with") or (self.is_punct("(") and self._paren_query()):
                q = self.query()
                self.expect_punct(")")
                return A.SubqueryExpr(q, pos)
            e = self.expr()
            if self.accept_punct(","):
                items = [e] + self.expr_list()
                self.expect_punct(")")
                return A.RowExpr(items, pos)
            self.expect_punct(")")
            return e
        if t.kind == QIDENT:
            return self.name_expr()
        if t.kind == OP and t.value == "*":
            self.advance()
            return A.Star(pos=pos)
        if t.kind != IDENT:
            raise self.error()
        word = t.value
        if word == "null":
            self.advance()
            return A.Const(None, "null", pos)
        if word in ("true", "false"):
            self.advance()
            return A.Const(word == "true", "bool", pos)
        if word == "case":
            return self.case_expr()
        if word == "cast" and self.peek().kind == PUNCT and self.peek().value == "(":
            self.i += 2
            e = self.expr()
            self.expect_kw("as")
            tn = self.type_name()
            self.expect_punct(")")
            return A.Cast(e, tn, pos)
        if word == "exists" and self.peek().kind == PUNCT and self.peek().value == "(":
            self.i += 2
            q = self.query()
            self.expect_punct(")")
            return A.Exists(q, pos)
        if word == "array":
            self.advance()
            if self.accept_punct("("):
                q = self.query()
                self.expect_punct(")")
                return A.ArraySubquery(q, pos)
            return self.array_literal(pos)
        if word == "row" and self.peek().kind == PUNCT and self.peek().value == "(":
            self.i += 2
            items = [] if self.is_punct(")") else self.expr_list()
            self.expect_punct(")")
            return A.RowExpr(items, pos)
        if word == "interval" and self.peek().kind == STRING:
            self.advance()
            text = self.advance().value
            self.interval_qualifier()
            return A.Cast(A.Const(text, "string", pos), A.TypeName("interval", pos=pos), pos)
        if word in ("current_date", "current_time", "current_timestamp", "localtime",
                    "localtimestamp", "current_user", "session_user", "user", "current_role",
                    "current_catalog", "current_schema"):
            self.advance()
            if word in ("current_time", "current_timestamp", "localtime", "localtimestamp") \
                    and self.is_punct("("):
                self.advance()
                self.advance()
                self.expect_punct(")")
            if word == "current_schema" and self.is_punct("("):
                self.advance()
                self.expect_punct(")")
            return A.FuncCall(word, [], pos=pos)
        if word in ("extract", "position", "substring", "trim", "overlay") and \
                self.peek().kind == PUNCT and self.peek().value == "(":
            special = getattr(self, "special_" + word)(pos)
            if special is not None:
                return special
        # A type name followed by a string is a typed literal: DATE '2024-01-01'.
        typed = self.typed_literal()
        if typed is not None:
            return typed
        if word in RESERVED:
            raise self.error()
        return self.name_expr()

    def _paren_query(self) -> bool:
        """After '(' at another '(': does a query start here ((SELECT ...) UNION ...)?"""
        j = self.i
        while self.tokens[j].kind == PUNCT and self.tokens[j].value == "(":
            j += 1
        t = self.tokens[j]
        return t.kind == IDENT and t.value in ("select", "values", "with")

    def typed_literal(self) -> A.Node | None:
        t = self.tok
        save = self.i
        if t.kind != IDENT:
            return None
        words = {"date", "time", "timestamp", "timestamptz", "int", "integer", "int2", "int4",
                 "int8", "bigint", "smallint", "numeric", "decimal", "real", "float", "float4",
                 "float8", "double", "text", "varchar", "char", "character", "bool", "boolean",
                 "uuid", "json", "jsonb", "bytea", "interval", "name", "oid", "regclass",
                 "regtype", "regproc", "bpchar", "inet"}
        if t.value not in words:
            return None
        nxt = self.peek()
        if nxt.kind == STRING or (nxt.kind in (IDENT, PUNCT) and t.value in
                                  ("double", "timestamp", "time", "character", "char", "varchar",
                                   "numeric", "decimal")):
            try:
                tn = self.type_name()
            except SqlError:
                self.i = save
                return None
            if self.tok.kind == STRING:
                text = self.advance().value
                return A.Cast(A.Const(text, "string", t.pos), tn, t.pos)
            self.i = save
        return None

    def interval_qualifier(self) -> None:
        """INTERVAL '1' DAY [TO SECOND]: accepted; the unit words are ignored."""
        units = ("year", "month", "day", "hour", "minute", "second")
        if self.accept_kw(*units):
            if self.accept_kw("to"):
                self.expect_kw(*units)

    def array_literal(self, pos: int) -> A.ArrayExpr:
        self.expect_punct("[")
        items = []
        if not self.is_punct("]"):
            while True:
                if self.is_punct("["):
                    items.append(self.array_literal(self.tok.pos))
                else:
                    items.append(self.expr())
                if not self.accept_punct(","):
                    break
        self.expect_punct("]")
        return A.ArrayExpr(items, pos)

    def case_expr(self) -> A.Case:
        pos = self.advance().pos
        operand = None if self.is_kw("when") else self.expr()
        whens = []
        while self.accept_kw("when"):
            cond = self.expr()
            self.expect_kw("then")
            whens.append((cond, self.expr()))
        if not whens:
            raise self.error()
        default = self.expr() if self.accept_kw("else") else None
        self.expect_kw("end")
        return A.Case(operand, whens, default, pos)

    def special_extract(self, pos):
        self.i += 2
        t = self.advance()
        if t.kind not in (IDENT, STRING, QIDENT):
            raise self.error(t)
        self.expect_kw("from")
        e = self.expr()
        self.expect_punct(")")
        return A.FuncCall("extract", [A.Const(t.value.lower(), "string", t.pos), e], pos=pos)

    def special_position(self, pos):
        save = self.i
        self.i += 2
        sub = self.other_op_expr()
        if not self.accept_kw("in"):
            self.i = save
            return None
        s = self.expr()
        self.expect_punct(")")
        return A.FuncCall("position", [s, sub], pos=pos)

    def special_substring(self, pos):
        save = self.i
        self.i += 2
        s = self.expr()
        if not self.is_kw("from", "for", "similar"):
            self.i = save
            return None
        start = count = None
        if self.accept_kw("from"):
            start = self.expr()
        if self.accept_kw("for"):
            count = self.expr()
        self.expect_punct(")")
        args = [s, start or A.Const("1", "int")]
        if count is not None:
            args.append(count)
        return A.FuncCall("substring", args, pos=pos)

    def special_trim(self, pos):
        self.i += 2
        mode = "btrim"
        if self.is_kw("leading", "trailing", "both"):
            mode = {"leading": "ltrim", "trailing": "rtrim", "both": "btrim"}[self.advance().value]
        chars = None
        if self.accept_kw("from"):
            s = self.expr()
        else:
            first = self.expr()
            if self.accept_kw("from"):
                chars, s = first, self.expr()
            elif self.accept_punct(","):
                s, chars = first, self.expr()
            else:
                s = first
        self.expect_punct(")")
        return A.FuncCall(mode, [s] + ([chars] if chars is not None else []), pos=pos)

    def special_overlay(self, pos):
        self.i += 2
        s = self.expr()
        self.expect_kw("placing")
        new = self.expr()
        self.expect_kw("from")
        start = self.expr()
        args = [s, new, start]
        if self.accept_kw("for"):
            args.append(self.expr())
        self.expect_punct(")")
        return A.FuncCall("overlay", args, pos=pos)

    def name_expr(self) -> A.Node:
        pos = self.tok.pos
        names = [self.advance().value]
        while self.is_punct("."):
            self.advance()
            if self.is_op("*"):
                self.advance()
                return A.Star(names, pos)
            names.append(self.ident(allow_reserved=True))
        if self.is_punct("("):
            return self.function_call(names, pos)
        return A.ColumnRef(names, pos)

    def function_call(self, names: list[str], pos: int) -> A.FuncCall:
        self.expect_punct("(")
        name = names[-1] if len(names) <= 2 else names[-1]
        call = A.FuncCall(name, [], pos=pos)
        if self.is_op("*"):
            self.advance()
            call.star = True
        elif not self.is_punct(")"):
            if self.accept_kw("distinct"):
                call.distinct = True
            else:
                self.accept_kw("all")
            while True:
                if self.accept_kw("variadic"):
                    call.variadic = True
                arg = self.expr()
                # Named arguments (name => value) are accepted by position.
                if self.is_op("=>"):
                    self.advance()
                    arg = self.expr()
                call.args.append(arg)
                if not self.accept_punct(","):
                    break
            if self.is_kw("order") and self.peek_kw(1, "by"):
                self.i += 2
                call.order_by = self.sort_list()
        self.expect_punct(")")
        if self.is_kw("within") and self.peek_kw(1, "group"):
            self.i += 2
            self.expect_punct("(")
            self.expect_kw("order")
            self.expect_kw("by")
            call.order_by = self.sort_list()
            self.expect_punct(")")
        if self.is_kw("filter") and self.peek().kind == PUNCT and self.peek().value == "(":
            self.i += 2
            self.expect_kw("where")
            call.filter = self.expr()
            self.expect_punct(")")
        if self.accept_kw("over"):
            if self.is_punct("("):
                call.over = self.window_spec()
            else:
                call.over = A.WindowSpec(name=self.ident())
        return call

    def window_spec(self) -> A.WindowSpec:
        self.expect_punct("(")
        spec = A.WindowSpec()
        if self.tok.kind in (IDENT, QIDENT) and not self.is_kw("partition", "order", "rows",
                                                                "range", "groups"):
            spec.name = self.ident()
        if self.is_kw("partition"):
            self.advance()
            self.expect_kw("by")
            spec.partition_by = self.expr_list()
        if self.is_kw("order"):
            self.advance()
            self.expect_kw("by")
            spec.order_by = self.sort_list()
        if self.is_kw("rows", "range", "groups"):
            mode = self.advance().value
            if self.accept_kw("between"):
                start = self.frame_bound()
                self.expect_kw("and")
                end = self.frame_bound()
            else:
                start = self.frame_bound()
                end = ("current row", None)
            if self.accept_kw("exclude"):
                if self.accept_kw("no"):
                    self.expect_kw("others")
                else:
                    raise SqlError(FEATURE_NOT_SUPPORTED, "frame exclusion is not supported")
            spec.frame = (mode, start, end)
        self.expect_punct(")")
        return spec

    def frame_bound(self):
        if self.accept_kw("unbounded"):
            return ("unbounded " + self.expect_kw("preceding", "following"), None)
        if self.accept_kw("current"):
            self.expect_kw("row")
            return ("current row", None)
        offset = self.additive()
        return (self.expect_kw("preceding", "following"), offset)

    def type_name(self) -> A.TypeName:
        pos = self.tok.pos
        t = self.tok
        if t.kind == QIDENT:
            self.advance()
            name = t.value if t.value != "char" else '"char"'
        else:
            name = self.ident(allow_reserved=True)
            if self.is_punct("."):          # pg_catalog.int4
                self.advance()
                name = self.ident(allow_reserved=True)
            nxt = self.tok
            if nxt.kind == IDENT and (name, nxt.value) in _MULTIWORD_TYPES:
                self.advance()
                name = _MULTIWORD_TYPES[(name, nxt.value)]
            elif name in ("timestamp", "time"):
                mods = self.typmods()
                if self.is_kw("with", "without") and self.peek_kw(1, "time"):
                    with_tz = self.advance().value == "with"
                    self.expect_kw("time")
                    self.expect_kw("zone")
                    name = name + (" with time zone" if with_tz else " without time zone")
                return self.array_suffix(A.TypeName(name, mods, pos=pos))
            elif name == "interval":
                mods = self.typmods()
                self.interval_qualifier()
                return self.array_suffix(A.TypeName(name, mods, pos=pos))
            elif name == "national":
                self.expect_kw("character", "char")
                name = "character varying" if self.accept_kw("varying") else "character"
            elif name == "bit":
                self.accept_kw("varying")
                raise SqlError(FEATURE_NOT_SUPPORTED, "bit string types are not supported")
        mods = self.typmods()
        return self.array_suffix(A.TypeName(name, mods, pos=pos))

    def typmods(self) -> list[int]:
        mods = []
        if self.is_punct("(") and self.peek().kind == NUMBER:
            self.advance()
            while True:
                t = self.advance()
                if t.kind != NUMBER:
                    raise self.error(t)
                mods.append(int(t.value))
                if not self.accept_punct(","):
                    break
            self.expect_punct(")")
        return mods

    def array_suffix(self, tn: A.TypeName) -> A.TypeName:
        while True:
            if self.is_punct("["):
                self.advance()
                if self.tok.kind == NUMBER:
                    self.advance()
                self.expect_punct("]")
                tn.array_dims += 1
            elif self.is_kw("array"):
                self.advance()
                tn.array_dims += 1
                if self.is_punct("["):
                    self.advance()
                    if self.tok.kind == NUMBER:
                        self.advance()
                    self.expect_punct("]")
            else:
                return tn


# Statement parsers that are long enough to live apart.
from .statements import install as _install_statements  # noqa: E402

_install_statements(Parser)


def too_complex() -> SqlError:
    return SqlError(STATEMENT_TOO_COMPLEX, "stack depth limit exceeded",
                    hint='Increase the configuration parameter "max_stack_depth"')


def parse(text: str, tokens=None) -> list[tuple[A.Node, str]]:
    """Parse every statement in `text` (already tokenized, if `tokens` are given);
    returns (AST, statement text) pairs."""
    try:
        return Parser(text, tokens).parse_statements()
    except RecursionError:
        # The depth limit above normally triggers first; this covers small stacks.
        raise too_complex() from None


def parse_expression(text: str) -> A.Node:
    p = Parser(text)
    e = p.expr()
    if p.tok.kind != EOF:
        raise p.error()
    return e
