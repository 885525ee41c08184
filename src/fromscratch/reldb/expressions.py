"""Expression compilation: an AST expression plus the scope it is evaluated in becomes
a typed closure `fn(row, ctx)`.

A `Scope` lists the columns of the rows an operator produces (their names, the table
label they answer to, and their types) and links to the enclosing query's scope, so a
correlated subquery can read the current outer row from `ctx.outer`. Compiling resolves
names to row positions once, picks operators and functions by type (operators.py,
functions.py) and inserts the casts PostgreSQL would; running is then a call per node.

NULL handling: operators and strict functions return None on a None input; AND/OR/NOT
follow three-valued logic.
"""

from __future__ import annotations

import re
from decimal import Decimal

from . import functions as F
from . import operators as O
from . import types as T
from .errors import (AMBIGUOUS_COLUMN, CANNOT_COERCE, CARDINALITY_VIOLATION,
                     DATATYPE_MISMATCH, FEATURE_NOT_SUPPORTED, GROUPING_ERROR,
                     SYNTAX_ERROR, UNDEFINED_COLUMN,
                     UNDEFINED_TABLE, WINDOWING_ERROR, SqlError)
from .executor import run_subquery
from .sql import ast as A


class Expr:
    """A compiled expression: its closure, its type, and what is known at plan time."""

    __slots__ = ("fn", "type", "const", "value", "param", "name")

    def __init__(self, fn, type_: T.SqlType, const: bool = False, value=None,
                 param: int | None = None, name: str | None = None):
        self.fn = fn
        self.type = type_
        self.const = const
        self.value = value
        self.param = param
        self.name = name


def constant(value, type_: T.SqlType) -> Expr:
    return Expr(lambda row, ctx: value, type_, const=True, value=value)


class Col:
    __slots__ = ("name", "type", "table", "hidden", "bare", "source", "relid")

    def __init__(self, name: str, type_: T.SqlType, table: str | None = None,
                 hidden: bool = False, bare: bool = True):
        self.name = name
        self.type = type_
        self.table = table          # the label it answers to: alias or table name
        self.hidden = hidden        # left out of * (ctid; the second copy of a USING column)
        self.bare = bare            # resolvable by its name alone
        self.source = None          # the catalog table it comes from, if a base column
        self.relid = None           # that table's OID (also for system catalogs)


class QueryLevel:
    """One query level (a SELECT and its FROM); marks itself correlated when an
    expression inside it reads a column of an enclosing query."""

    __slots__ = ("correlated",)

    def __init__(self):
        self.correlated = False


class Scope:
    def __init__(self, columns: list[Col], parent: "Scope | None" = None,
                 level: QueryLevel | None = None, star_order: list[int] | None = None):
        self.columns = columns
        self.parent = parent
        self.level = level or QueryLevel()
        self.star_order = star_order
        # Grouped and windowed queries: AST nodes already computed by an operator below,
        # found by structural key (GROUP BY expressions) or identity (aggregate calls).
        self.replacements: dict = {}
        self.grouped = False
        self.group_source: "Scope | None" = None
        self.column_slots: dict = {}     # grouped input column index -> (slot, type)
        self.grouping = None             # (grouping sets, slot of the set number)

    def width(self) -> int:
        return len(self.columns)

    def star_columns(self, table: str | None = None) -> list[int]:
        if table is not None:
            idx = [i for i, c in enumerate(self.columns) if c.table == table]
            if not idx:
                raise SqlError(UNDEFINED_TABLE,
                               f'missing FROM-clause entry for table "{table}"')
            return [i for i in idx if not (self.columns[i].hidden and self.columns[i].name == "ctid")]
        if self.star_order is not None:
            return list(self.star_order)
        return [i for i, c in enumerate(self.columns) if not c.hidden]

    def lookup(self, names: list[str]):
        """-> index of the column in this scope, or None; raises on ambiguity."""
        if len(names) == 1:
            name = names[0]
            found = [i for i, c in enumerate(self.columns) if c.name == name and c.bare]
        else:
            table, name = names[-2], names[-1]
            found = [i for i, c in enumerate(self.columns) if c.name == name and c.table == table]
        if len(found) > 1:
            raise SqlError(AMBIGUOUS_COLUMN, f'column reference "{".".join(names)}" is ambiguous')
        return found[0] if found else None

    def has_table(self, table: str) -> bool:
        return any(c.table == table for c in self.columns)


def node_key(node) -> object:
    """A structural key for an AST node (positions ignored), to match GROUP BY items."""
    if isinstance(node, A.Node):
        items = []
        for name in node.__dataclass_fields__:
            if name == "pos":
                continue
            items.append(node_key(getattr(node, name)))
        return (type(node).__name__, tuple(items))
    if isinstance(node, (list, tuple)):
        return tuple(node_key(n) for n in node)
    if isinstance(node, dict):
        return tuple(sorted((k, node_key(v)) for k, v in node.items()))
    return node


def figure_colname(node) -> str:
    """The output column name PostgreSQL gives an unaliased target (FigureColname)."""
    name, _ = _figure(node)
    return name or "?column?"


def _figure(node) -> tuple[str | None, int]:
    """(name, strength): a cast names its column after the type only when its operand
    gives no stronger name (a column or function name is strength 2)."""
    if isinstance(node, A.ColumnRef):
        return node.names[-1], 2
    if isinstance(node, A.FuncCall):
        return node.name, 2
    if isinstance(node, A.Cast):
        name, strength = _figure(node.operand)
        if strength <= 1:
            return _type_display_name(node.type), 1
        return name, strength
    if isinstance(node, A.Case):
        return "case", 1
    if isinstance(node, (A.ArrayExpr, A.ArraySubquery)):
        return "array", 2
    if isinstance(node, A.RowExpr):
        return "row", 2
    if isinstance(node, A.Exists):
        return "exists", 2
    if isinstance(node, A.SubqueryExpr):
        body = node.query.body if isinstance(node.query, A.Query) else node.query
        while isinstance(body, (A.SetOp, A.Query)):
            body = body.left if isinstance(body, A.SetOp) else body.body
        if isinstance(body, A.Select) and body.targets:
            t = body.targets[0]
            if t.alias:
                return t.alias, 2
            return _figure(t.expr)
        return None, 0
    if isinstance(node, A.Const) and node.kind == "bool":
        return "bool", 1
    if isinstance(node, A.Subscript):
        return _figure(node.operand)
    if isinstance(node, A.FieldSelect):
        return node.field, 2
    if isinstance(node, A.Collate):
        return _figure(node.operand)
    return None, 0


def _type_display_name(tn: A.TypeName) -> str:
    """The type's catalog name (int4, float8, timestamptz ...), as psql shows casts."""
    try:
        t = T.lookup_type(tn.name)
    except SqlError:
        return tn.name
    return t.name


# ---------------------------------------------------------------------------------------

def _strict1(fn, a):
    af = a.fn

    def run(row, ctx):
        x = af(row, ctx)
        return None if x is None else fn(x)
    return run


def _strict2(fn, a, b):
    af, bf = a.fn, b.fn

    def run(row, ctx):
        x = af(row, ctx)
        if x is None:
            return None
        y = bf(row, ctx)
        if y is None:
            return None
        return fn(x, y)
    return run


def _strictn(fn, args, strict=True, with_ctx=False):
    fns = [a.fn for a in args]
    if with_ctx:
        if strict:
            def run(row, ctx):
                values = [f(row, ctx) for f in fns]
                if None in values:
                    return None
                return fn(ctx, *values)
        else:
            def run(row, ctx):
                return fn(ctx, *[f(row, ctx) for f in fns])
        return run
    if strict:
        def run(row, ctx):
            values = [f(row, ctx) for f in fns]
            if None in values:
                return None
            return fn(*values)
    else:
        def run(row, ctx):
            return fn(*[f(row, ctx) for f in fns])
    return run


def can_assign(src: T.SqlType, dst: T.SqlType) -> bool:
    """Is there an assignment cast (INSERT/UPDATE) from src to dst?"""
    if src.oid == dst.oid or src.oid == T.UNKNOWN.oid:
        return True
    if T.is_numeric(src) and T.is_numeric(dst):
        return True
    if T.is_string(dst):
        return True
    if T.is_string(src) and T.is_string(dst):
        return True
    dates = {T.DATE.oid, T.TIMESTAMP.oid, T.TIMESTAMPTZ.oid, T.TIME.oid}
    if src.oid in dates and dst.oid in dates:
        return True
    if {src.oid, dst.oid} <= {T.JSON.oid, T.JSONB.oid}:
        return True
    if src.elem is not None and dst.elem is not None:
        return can_assign(src.elem, dst.elem)
    if src.oid == T.CHAR.oid and T.is_string(dst):
        return True
    if T.is_string(src) and dst.oid == T.CHAR.oid:
        return True
    return False


class Compiler:
    """Compiles expressions for one statement. Holds the statement-wide state: the
    parameter types (resolved as parameters meet typed context) and a callback to plan
    subqueries."""

    def __init__(self, planner, param_types: list[T.SqlType]):
        self.planner = planner
        self.param_types = param_types

    # -- coercion ------------------------------------------------------------------------

    def coerce(self, e: Expr, target: T.SqlType, context: str = "implicit",
               what: str | None = None, pos: int = -1) -> Expr:
        """Convert `e` to `target`. context: implicit | assignment | explicit."""
        src = e.type
        if src.oid == target.oid and (target.typmod < 0 or src.typmod == target.typmod) \
                and (src.elem is None or target.elem is None or src.elem.oid == target.elem.oid):
            return e
        if target.oid in (T.ANY.oid, T.ANYELEMENT.oid, T.ANYARRAY.oid):
            return e
        if e.param is not None and src.oid == T.UNKNOWN.oid:
            self.param_types[e.param] = target.base if target.elem is None else target
            index = e.param
            if target.typmod >= 0:
                fn = T.cast_function(target.base, target, True)
                return Expr(lambda row, ctx: _apply(fn, ctx.params[index]), target)
            return Expr(e.fn, target, param=None)
        if context == "assignment" and not can_assign(src, target):
            raise SqlError(DATATYPE_MISMATCH,
                           f'{what or "column"} is of type {T.format_type(target)} but expression '
                           f"is of type {T.format_type(src)}",
                           hint="You will need to rewrite or cast the expression.",
                           position=pos + 1 if pos >= 0 else None)
        explicit = context == "explicit"
        fn = T.cast_function(src, target, explicit)
        if fn is None and src.oid == T.UNKNOWN.oid:
            fn = T.cast_function(T.TEXT, target, True)
        if fn is None and context != "implicit":
            fn = T.cast_function(src, target, True) if (T.is_string(target) or
                                                        context == "explicit") else None
        if fn is None:
            raise SqlError(CANNOT_COERCE, f"cannot cast type {T.format_type(src)} to "
                           f"{T.format_type(target)}", position=pos + 1 if pos >= 0 else None)
        if src.oid == T.UNKNOWN.oid and target.oid in (T.VARCHAR.oid, T.BPCHAR.oid):
            fn = (lambda v, t=target, x=explicit: T.apply_string_typmod(v, t, x))
        if e.const:
            value = None if e.value is None else fn(e.value)
            return constant(value, target)
        inner = e.fn

        def run(row, ctx):
            v = inner(row, ctx)
            return None if v is None else fn(v)
        return Expr(run, target)

    def to_bool(self, e: Expr, clause: str) -> Expr:
        if e.type.oid == T.BOOL.oid:
            return e
        if e.type.oid == T.UNKNOWN.oid:
            return self.coerce(e, T.BOOL)
        raise SqlError(DATATYPE_MISMATCH,
                       f"argument of {clause} must be type boolean, not type "
                       f"{T.format_type(e.type)}")

    # -- entry point -----------------------------------------------------------------------

    def compile(self, node, scope: Scope) -> Expr:
        if scope.replacements:
            hit = scope.replacements.get(id(node))
            if hit is None and not isinstance(node, (A.Const, A.Param)):
                hit = scope.replacements.get(node_key(node))
            if hit is not None:
                index, type_ = hit
                return Expr(lambda row, ctx: row[index], type_)
        method = getattr(self, "c_" + type(node).__name__, None)
        if method is None:
            raise SqlError(FEATURE_NOT_SUPPORTED, f"{type(node).__name__} is not supported here")
        return method(node, scope)

    # -- leaves ----------------------------------------------------------------------------

    def c_Const(self, node: A.Const, scope) -> Expr:
        kind = node.kind
        if kind == "int":
            value = int(node.value)
            if -(1 << 31) <= value < (1 << 31):
                return constant(value, T.INT4)
            if -(1 << 63) <= value < (1 << 63):
                return constant(value, T.INT8)
            return constant(Decimal(node.value), T.NUMERIC_T)
        if kind == "numeric":
            return constant(T.parse_numeric(node.value), T.NUMERIC_T)
        if kind == "string":
            return constant(node.value, T.UNKNOWN)
        if kind == "bool":
            return constant(node.value, T.BOOL)
        return constant(None, T.UNKNOWN)

    def c_Param(self, node: A.Param, scope) -> Expr:
        index = node.number - 1
        if index < 0:
            raise SqlError(SYNTAX_ERROR, f"there is no parameter ${node.number}",
                           position=node.pos + 1)
        while len(self.param_types) <= index:
            self.param_types.append(T.UNKNOWN)
        t = self.param_types[index]

        def fn(row, ctx):
            return ctx.params[index]
        if t.oid == T.UNKNOWN.oid:
            return Expr(fn, T.UNKNOWN, param=index)
        return Expr(fn, t)

    def c_ColumnRef(self, node: A.ColumnRef, scope: Scope) -> Expr:
        names = node.names
        if names[-1] == "tableoid" and scope.lookup(names) is None:
            relid = _table_oid(scope, names[0] if len(names) == 2 else None)
            if relid is not None:
                return constant(relid, T.OID)
        depth = 0
        s = scope
        while s is not None:
            if s.grouped:
                index = s.group_source.lookup(names) if s.group_source else None
                if index is not None and index in s.column_slots:
                    slot, t = s.column_slots[index]
                    if depth == 0:
                        return Expr(lambda row, ctx: row[slot], t)
                    self._mark_correlated(scope, depth)
                    d = depth
                    return Expr(lambda row, ctx: ctx.outer[-d][slot], t)
                if index is not None:
                    col = s.group_source.columns[index]
                    raise SqlError(GROUPING_ERROR,
                                   f'column "{col.table + "." if col.table else ""}{col.name}" must '
                                   "appear in the GROUP BY clause or be used in an aggregate function",
                                   position=node.pos + 1)
            index = s.lookup(names)
            if index is not None:
                t = s.columns[index].type
                if depth == 0:
                    return Expr(lambda row, ctx: row[index], t, name=s.columns[index].name)
                self._mark_correlated(scope, depth)
                d = depth
                return Expr(lambda row, ctx: ctx.outer[-d][index], t, name=s.columns[index].name)
            if len(names) >= 2 and s.has_table(names[-2]) and len(names) == 2:
                raise SqlError(UNDEFINED_COLUMN,
                               f'column {names[-2]}.{names[-1]} does not exist',
                               position=node.pos + 1)
            s = s.parent
            depth += 1
        if len(names) >= 2:
            # A whole-row reference to a table (t.*) is handled by Star; a two-part name
            # whose table is unknown is PostgreSQL's missing FROM-clause entry.
            raise SqlError(UNDEFINED_TABLE, f'missing FROM-clause entry for table "{names[-2]}"',
                           position=node.pos + 1)
        # A bare name that is a table's label means the whole row (SELECT t FROM t).
        s, depth = scope, 0
        while s is not None:
            if s.has_table(names[0]):
                idx = s.star_columns(names[0])
                fields = [(s.columns[i].name, s.columns[i].type) for i in idx]
                d = depth
                if d:
                    self._mark_correlated(scope, d)
                if d == 0:
                    return Expr(lambda row, ctx: T.Record((row[i] for i in idx), fields),
                                T.RECORD)
                return Expr(lambda row, ctx: T.Record((ctx.outer[-d][i] for i in idx), fields),
                            T.RECORD)
            s = s.parent
            depth += 1
        raise SqlError(UNDEFINED_COLUMN, f'column "{names[0]}" does not exist',
                       position=node.pos + 1)

    def _mark_correlated(self, scope: Scope, depth: int) -> None:
        s = scope
        for _ in range(depth):
            s.level.correlated = True
            s = s.parent

    def c_Star(self, node: A.Star, scope) -> Expr:
        if node.table:
            idx = scope.star_columns(node.table[-1])
            return Expr(lambda row, ctx: tuple(row[i] for i in idx), T.RECORD)
        raise SqlError(SYNTAX_ERROR, "a * is not allowed here", position=node.pos + 1)

    def c_DefaultExpr(self, node, scope) -> Expr:
        raise SqlError(SYNTAX_ERROR, "DEFAULT is not allowed in this context",
                       position=node.pos + 1)

    # -- operators -------------------------------------------------------------------------

    def c_UnaryOp(self, node: A.UnaryOp, scope) -> Expr:
        e = self.compile(node.operand, scope)
        result, impl, in_type = O.resolve_unary(node.op, e.type)
        e = self.coerce(e, in_type)
        if e.const:
            folded = _fold(impl, e.value)
            if folded is not _FAILED:
                return constant(folded, result)
        return Expr(_strict1(impl, e), result)

    def c_BinaryOp(self, node: A.BinaryOp, scope) -> Expr:
        op = node.op
        if op in ("AND", "OR"):
            return self._bool_op(node, scope)
        if op in O.COMPARISON_OPS and isinstance(node.left, A.RowExpr) and \
                isinstance(node.right, A.RowExpr):
            return self._row_comparison(op, node, scope)
        left = self.compile(node.left, scope)
        right = self.compile(node.right, scope)
        return self.binary(op, left, right, node.pos)

    def _row_comparison(self, op, node, scope) -> Expr:
        """(a, b) op (c, d), element by element with each pair typed on its own:
        = and <> combine all pairs; the ordering operators stop at the first pair that is
        not equal (or NULL, which makes the result NULL)."""
        lefts, rights = node.left.items, node.right.items
        if len(lefts) != len(rights):
            raise SqlError(SYNTAX_ERROR, "unequal number of entries in row expressions",
                           position=node.pos + 1)
        pairs = []
        for a, b in zip(lefts, rights):
            left, right = self.compile(a, scope), self.compile(b, scope)
            equal = self.binary("=", left, right).fn
            ordered = self.binary(op if op not in ("=", "<>") else "=", left, right).fn
            pairs.append((equal, ordered))
        if op in ("=", "<>"):
            def run(row, ctx):
                result = True
                for equal, _ in pairs:
                    v = equal(row, ctx)
                    if v is False:
                        return op == "<>"
                    if v is None:
                        result = None
                return result if result is None else op == "="
        else:
            def run(row, ctx):
                for equal, ordered in pairs:
                    v = equal(row, ctx)
                    if v is None:
                        return None
                    if v is False:
                        return ordered(row, ctx)
                return op in ("<=", ">=")
        return Expr(run, T.BOOL)

    def binary(self, op: str, left: Expr, right: Expr, pos: int = -1) -> Expr:
        if op == "~~":
            return self._like(left, right, None, False, False, False)
        try:
            result, impl, lt, rt = O.resolve_binary(op, left.type, right.type)
        except SqlError as exc:
            if exc.position is None and pos >= 0:
                exc.position = pos + 1
            raise
        left = self.coerce(left, lt)
        right = self.coerce(right, rt)
        if left.const and right.const:
            folded = _fold(impl, left.value, right.value)
            if folded is not _FAILED:
                return constant(folded, result)
        return Expr(_strict2(impl, left, right), result)

    def _bool_op(self, node, scope) -> Expr:
        # Flatten chains of the same operator so long AND lists stay shallow.
        parts = []
        stack = [node]
        while stack:
            n = stack.pop()
            if isinstance(n, A.BinaryOp) and n.op == node.op:
                stack.append(n.right)
                stack.append(n.left)
            else:
                parts.append(n)
        clause = node.op
        fns = [self.to_bool(self.compile(p, scope), clause).fn for p in parts]
        if clause == "AND":
            def run(row, ctx):
                result = True
                for f in fns:
                    v = f(row, ctx)
                    if v is False:
                        return False
                    if v is None:
                        result = None
                return result
        else:
            def run(row, ctx):
                result = False
                for f in fns:
                    v = f(row, ctx)
                    if v is True:
                        return True
                    if v is None:
                        result = None
                return result
        return Expr(run, T.BOOL)

    def c_Not(self, node: A.Not, scope) -> Expr:
        e = self.to_bool(self.compile(node.operand, scope), "NOT")
        f = e.fn

        def run(row, ctx):
            v = f(row, ctx)
            return None if v is None else not v
        return Expr(run, T.BOOL)

    def c_IsNull(self, node: A.IsNull, scope) -> Expr:
        e = self.compile(node.operand, scope)
        f = e.fn
        if e.type.oid == T.RECORD.oid:
            # A row IS NULL when every field is; IS NOT NULL when none is.
            if node.negated:
                return Expr(lambda row, ctx: all(v is not None for v in (f(row, ctx) or (None,))),
                            T.BOOL)
            return Expr(lambda row, ctx: all(v is None for v in (f(row, ctx) or (None,))), T.BOOL)
        if node.negated:
            return Expr(lambda row, ctx: f(row, ctx) is not None, T.BOOL)
        return Expr(lambda row, ctx: f(row, ctx) is None, T.BOOL)

    def c_IsBool(self, node: A.IsBool, scope) -> Expr:
        e = self.to_bool(self.compile(node.operand, scope), "IS")
        f, want, negated = e.fn, node.value, node.negated

        def run(row, ctx):
            return (f(row, ctx) is want) != negated
        return Expr(run, T.BOOL)

    def c_IsDistinct(self, node: A.IsDistinct, scope) -> Expr:
        left = self.compile(node.left, scope)
        right = self.compile(node.right, scope)
        _, eq, lt, rt = O.resolve_binary("=", left.type, right.type)
        lf, rf = self.coerce(left, lt).fn, self.coerce(right, rt).fn
        negated = node.negated

        def run(row, ctx):
            a, b = lf(row, ctx), rf(row, ctx)
            if a is None or b is None:
                distinct = (a is None) != (b is None)
            else:
                distinct = not eq(a, b)
            return distinct != negated
        return Expr(run, T.BOOL)

    def c_Between(self, node: A.Between, scope) -> Expr:
        x = self.compile(node.operand, scope)
        low = self.compile(node.low, scope)
        high = self.compile(node.high, scope)
        ge = self.binary(">=", x, low)
        le = self.binary("<=", x, high)
        gef, lef = ge.fn, le.fn
        if node.symmetric:
            ge2 = self.binary(">=", x, high).fn
            le2 = self.binary("<=", x, low).fn

            def run(row, ctx):
                a = _and(gef(row, ctx), lef(row, ctx))
                return _or(a, _and(ge2(row, ctx), le2(row, ctx)))
        else:
            def run(row, ctx):
                return _and(gef(row, ctx), lef(row, ctx))
        if node.negated:
            inner = run

            def run(row, ctx):
                v = inner(row, ctx)
                return None if v is None else not v
        return Expr(run, T.BOOL)

    def c_Like(self, node: A.Like, scope) -> Expr:
        operand = self.compile(node.operand, scope)
        pattern = self.compile(node.pattern, scope)
        escape = self.compile(node.escape, scope) if node.escape is not None else None
        return self._like(operand, pattern, escape, node.negated, node.case_insensitive,
                          node.similar)

    def _like(self, operand, pattern, escape, negated, ci, similar) -> Expr:
        if operand.type.oid == T.BYTEA.oid:
            operand = self.coerce(operand, T.BYTEA)
            pattern = self.coerce(pattern, T.BYTEA)
            to_text = lambda v: v.decode("latin-1")         # noqa: E731
        else:
            operand = self.coerce(operand, T.TEXT if operand.type.oid != T.BPCHAR.oid else
                                  operand.type)
            pattern = self.coerce(pattern, T.TEXT)
            to_text = None
        flags = (re.IGNORECASE if ci else 0) | re.DOTALL
        esc_value = "\\"
        if escape is not None:
            escape = self.coerce(escape, T.TEXT)
            if not escape.const:
                raise SqlError(FEATURE_NOT_SUPPORTED, "ESCAPE must be a constant")
            esc_value = escape.value or None
        convert = O.similar_to_regex if similar else (lambda p: O.like_to_regex(p, esc_value))
        of, pf = operand.fn, pattern.fn
        if pattern.const and pattern.value is not None:
            p = pattern.value.decode("latin-1") if isinstance(pattern.value, bytes) else pattern.value
            rx = O.compile_regex(convert(p), flags)

            def run(row, ctx):
                v = of(row, ctx)
                if v is None:
                    return None
                if to_text:
                    v = to_text(v)
                return (rx.match(v) is not None) != negated
        else:
            def run(row, ctx):
                v = of(row, ctx)
                p = pf(row, ctx)
                if v is None or p is None:
                    return None
                if to_text:
                    v, p = to_text(v), to_text(p)
                return (O.compile_regex(convert(p), flags).match(v) is not None) != negated
        return Expr(run, T.BOOL)

    def c_InList(self, node: A.InList, scope) -> Expr:
        x = self.compile(node.operand, scope)
        items = [self.compile(i, scope) for i in node.items]
        common = x.type
        for item in items:
            common = O.resolve_comparison_type(common, item.type, "=") \
                if common.oid != T.UNKNOWN.oid else item.type
        if common.oid == T.UNKNOWN.oid:
            common = T.TEXT
        x = self.coerce(x, common)
        items = [self.coerce(i, common) for i in items]
        eq = O.comparison_function("=", common)
        xf = x.fn
        negated = node.negated
        if all(i.const for i in items) and common.elem is None and common.oid not in (
                T.FLOAT4.oid, T.FLOAT8.oid, T.BPCHAR.oid, T.RECORD.oid, T.JSONB.oid):
            values = {i.value for i in items if i.value is not None}
            has_null = any(i.value is None for i in items)

            def run(row, ctx):
                v = xf(row, ctx)
                if v is None:
                    return None
                if v in values:
                    return not negated
                return None if has_null else negated
            return Expr(run, T.BOOL)
        fns = [i.fn for i in items]

        def run(row, ctx):
            v = xf(row, ctx)
            if v is None:
                return None
            saw_null = False
            for f in fns:
                w = f(row, ctx)
                if w is None:
                    saw_null = True
                elif eq(v, w):
                    return not negated
            return None if saw_null else negated
        return Expr(run, T.BOOL)

    # -- subqueries ------------------------------------------------------------------------

    def _subplan(self, query, scope: Scope):
        level = QueryLevel()
        plan, columns = self.planner.plan_subquery(query, scope, level, self)
        return plan, columns, level

    def c_SubqueryExpr(self, node: A.SubqueryExpr, scope) -> Expr:
        plan, columns, level = self._subplan(node.query, scope)
        if len(columns) != 1:
            raise SqlError(SYNTAX_ERROR, "subquery must return only one column",
                           position=node.pos + 1)
        key = object()

        def run(row, ctx):
            rows = run_subquery(plan, row, ctx, level.correlated, key)
            if len(rows) > 1:
                raise SqlError(CARDINALITY_VIOLATION,
                               "more than one row returned by a subquery used as an expression")
            return rows[0][0] if rows else None
        t = columns[0][1]
        return Expr(run, t if t.oid != T.UNKNOWN.oid else T.TEXT)

    def c_ArraySubquery(self, node: A.ArraySubquery, scope) -> Expr:
        plan, columns, level = self._subplan(node.query, scope)
        if len(columns) != 1:
            raise SqlError(SYNTAX_ERROR, "subquery must return only one column")
        key = object()

        def run(row, ctx):
            return [r[0] for r in run_subquery(plan, row, ctx, level.correlated, key)]
        t = columns[0][1]
        return Expr(run, t.array_of() if t.array_oid else F.TEXT_ARRAY)

    def c_Exists(self, node: A.Exists, scope) -> Expr:
        plan, columns, level = self._subplan(node.query, scope)
        key = object()

        def run(row, ctx):
            if not level.correlated:
                cached = ctx.cache.get(key)
                if cached is None:
                    cached = ctx.cache[key] = next(iter(plan.rows(ctx)), None) is not None
                return cached
            ctx.outer.append(row)
            try:
                return next(iter(plan.rows(ctx)), None) is not None
            finally:
                ctx.outer.pop()
        return Expr(run, T.BOOL)

    def c_InSubquery(self, node: A.InSubquery, scope) -> Expr:
        x = self.compile(node.operand, scope)
        plan, columns, level = self._subplan(node.query, scope)
        if isinstance(node.operand, A.RowExpr):
            if len(columns) != len(node.operand.items):
                raise SqlError(SYNTAX_ERROR, "subquery has too few columns" if len(columns) <
                               len(node.operand.items) else "subquery has too many columns")
            xf = x.fn
            key = object()
            negated = node.negated

            def run_row(row, ctx):
                v = xf(row, ctx)
                rows = run_subquery(plan, row, ctx, level.correlated, key)
                found = any(tuple(r) == tuple(v) for r in rows)
                return found != negated
            return Expr(run_row, T.BOOL)
        if len(columns) != 1:
            raise SqlError(SYNTAX_ERROR, "subquery has too many columns", position=node.pos + 1)
        sub_type = columns[0][1]
        common = O.resolve_comparison_type(x.type, sub_type, "=")
        x = self.coerce(x, common)
        convert = T.cast_function(sub_type, common, False) if sub_type.oid != common.oid else None
        xf = x.fn
        key = object()
        negated = node.negated

        def values_of(row, ctx):
            if not level.correlated:
                cached = ctx.cache.get(key)
                if cached is not None:
                    return cached
            rows = run_subquery(plan, row, ctx, True if level.correlated else False, (key, 0))
            values = set()
            has_null = False
            for r in rows:
                v = r[0]
                if v is None:
                    has_null = True
                else:
                    values.add(convert(v) if convert else v)
            result = (values, has_null)
            if not level.correlated:
                ctx.cache[key] = result
            return result

        def run(row, ctx):
            v = xf(row, ctx)
            values, has_null = values_of(row, ctx)
            if v is None:
                return None if (values or has_null) else negated
            if v in values:
                return not negated
            return None if has_null else negated
        return Expr(run, T.BOOL)

    def c_AnyAll(self, node: A.AnyAll, scope) -> Expr:
        x = self.compile(node.left, scope)
        is_all = node.quantifier == "ALL"
        if node.is_subquery:
            plan, columns, level = self._subplan(node.right, scope)
            if len(columns) != 1:
                raise SqlError(SYNTAX_ERROR, "subquery has too many columns")
            elem_type = columns[0][1]
            key = object()

            def items(row, ctx):
                return [r[0] for r in run_subquery(plan, row, ctx, level.correlated, key)]
        else:
            arr = self.compile(node.right, scope)
            if arr.type.oid == T.UNKNOWN.oid:
                arr = self.coerce(arr, x.type.array_of() if x.type.array_oid else F.TEXT_ARRAY)
            if arr.type.elem is None:
                raise SqlError(DATATYPE_MISMATCH, "op ANY/ALL (array) requires array on right side")
            elem_type = arr.type.elem
            af = arr.fn

            def items(row, ctx):
                return af(row, ctx)
        result, cmp, lt, rt = O.resolve_binary(node.op, x.type, elem_type)
        x = self.coerce(x, lt)
        convert = T.cast_function(elem_type, rt, False) if elem_type.oid != rt.oid else None
        xf = x.fn

        def run(row, ctx):
            values = items(row, ctx)
            if values is None:
                return None
            v = xf(row, ctx)
            if not values:
                return is_all
            if v is None:
                return None
            saw_null = False
            for w in values:
                if w is None:
                    saw_null = True
                    continue
                if convert:
                    w = convert(w)
                if cmp(v, w):
                    if not is_all:
                        return True
                elif is_all:
                    return False
            if saw_null:
                return None
            return is_all
        return Expr(run, T.BOOL)

    # -- other forms -----------------------------------------------------------------------

    def c_Cast(self, node: A.Cast, scope) -> Expr:
        target = self.planner.resolve_type(node.type)
        e = self.compile(node.operand, scope)
        try:
            return self.coerce(e, target, "explicit", pos=node.pos)
        except SqlError as exc:
            if exc.position is None and isinstance(node.operand, A.Const):
                exc.position = node.operand.pos + 1
            raise

    def c_Collate(self, node: A.Collate, scope) -> Expr:
        return self.compile(node.operand, scope)

    def c_Case(self, node: A.Case, scope) -> Expr:
        results = [self.compile(r, scope) for _, r in node.whens]
        default = self.compile(node.default, scope) if node.default is not None else None
        all_results = results + ([default] if default is not None else [])
        rtype = self.common_type([r.type for r in all_results], "CASE")
        results = [self.coerce(r, rtype) for r in results]
        default = self.coerce(default, rtype) if default is not None else None
        if node.operand is not None:
            operand = self.compile(node.operand, scope)
            conds = [self.binary("=", operand, self.compile(w, scope)) for w, _ in node.whens]
        else:
            conds = [self.to_bool(self.compile(w, scope), "CASE") for w, _ in node.whens]
        pairs = [(c.fn, r.fn) for c, r in zip(conds, results)]
        dfn = default.fn if default is not None else None

        def run(row, ctx):
            for cond, res in pairs:
                if cond(row, ctx) is True:
                    return res(row, ctx)
            return dfn(row, ctx) if dfn is not None else None
        return Expr(run, rtype)

    def common_type(self, types: list[T.SqlType], context: str) -> T.SqlType:
        """The type UNION/CASE/COALESCE/ARRAY results unify to (select_common_type)."""
        known = [t for t in types if t.oid != T.UNKNOWN.oid]
        if not known:
            return T.TEXT
        result = known[0]
        for t in known[1:]:
            if t.oid == result.oid:
                if t.typmod != result.typmod:
                    result = result.base
                continue
            if T.is_numeric(t) and T.is_numeric(result):
                result = O.common_numeric(result, t)
            elif T.is_string(t) and T.is_string(result):
                result = T.TEXT if T.TEXT.oid in (t.oid, result.oid) or t.oid != result.oid \
                    else result
                if result.oid in (T.VARCHAR.oid, T.BPCHAR.oid) and t.oid != result.oid:
                    result = T.TEXT
            elif {t.oid, result.oid} <= {T.DATE.oid, T.TIMESTAMP.oid, T.TIMESTAMPTZ.oid}:
                result = T.TIMESTAMPTZ if T.TIMESTAMPTZ.oid in (t.oid, result.oid) else T.TIMESTAMP
            elif {t.oid, result.oid} <= {T.JSON.oid, T.JSONB.oid}:
                result = T.JSONB
            else:
                raise SqlError(DATATYPE_MISMATCH, f"{context} types {T.format_type(result)} and "
                               f"{T.format_type(t)} cannot be matched")
        return result

    def c_ArrayExpr(self, node: A.ArrayExpr, scope) -> Expr:
        items = [self.compile(i, scope) for i in node.items]
        if not items:
            return constant([], F.TEXT_ARRAY)
        nested = all(isinstance(i, A.ArrayExpr) for i in node.items)
        if nested:
            elem_types = [i.type.elem for i in items if i.type.elem is not None]
            elem = self.common_type(elem_types, "ARRAY")
            items = [self.coerce(i, elem.array_of()) for i in items]
            fns = [i.fn for i in items]
            return Expr(lambda row, ctx: [f(row, ctx) for f in fns], elem.array_of())
        elem = self.common_type([i.type for i in items], "ARRAY")
        items = [self.coerce(i, elem) for i in items]
        fns = [i.fn for i in items]
        atype = elem.array_of() if elem.array_oid else elem
        if all(i.const for i in items):
            return constant([i.value for i in items], atype)
        return Expr(lambda row, ctx: [f(row, ctx) for f in fns], atype)

    def c_RowExpr(self, node: A.RowExpr, scope) -> Expr:
        items = [self.compile(i, scope) for i in node.items]
        items = [self.coerce(i, T.TEXT) if i.type.oid == T.UNKNOWN.oid else i for i in items]
        fns = [i.fn for i in items]
        return Expr(lambda row, ctx: tuple(f(row, ctx) for f in fns), T.RECORD)

    def c_Subscript(self, node: A.Subscript, scope) -> Expr:
        # a[i][j]...: collect the chain, so every step but the last yields a sub-array.
        chain = []
        base = node
        while isinstance(base, A.Subscript):
            chain.append(base)
            base = base.operand
        chain.reverse()
        arr = self.compile(base, scope)
        if arr.type.oid == T.JSONB.oid:
            e = arr
            for step in chain:
                e = self.binary("->", e, self.compile(step.index, scope))
            return e
        vector = arr.type.oid in (T.INT2VECTOR.oid, T.OIDVECTOR.oid)
        if arr.type.elem is None and not vector:
            raise SqlError(DATATYPE_MISMATCH, f"cannot subscript type {T.format_type(arr.type)} "
                           "because it does not support subscripting")
        elem = arr.type.elem or (T.INT2 if arr.type.oid == T.INT2VECTOR.oid else T.OID)
        base_index = 0 if vector else 1      # int2vector/oidvector count from zero
        steps = []
        any_slice = any(step.is_slice for step in chain)
        for step in chain:
            if step.is_slice:
                lo = self.coerce(self.compile(step.index, scope), T.INT4).fn if step.index else None
                hi = self.coerce(self.compile(step.upper, scope), T.INT4).fn if step.upper else None
                steps.append(("slice", lo, hi))
            else:
                steps.append(("index", self.coerce(self.compile(step.index, scope), T.INT4).fn, None))
        af = arr.fn

        def run(row, ctx):
            value = af(row, ctx)
            for kind, lo, hi in steps:
                if value is None:
                    return None
                if kind == "index":
                    i = lo(row, ctx)
                    if i is None:
                        return None
                    i -= base_index
                    value = value[i] if 0 <= i < len(value) else None
                else:
                    start = lo(row, ctx) if lo else 1
                    end = hi(row, ctx) if hi else len(value)
                    if start is None or end is None:
                        return None
                    value = value[max(start, 1) - 1:max(end, 0)]
            return value
        return Expr(run, arr.type if any_slice else elem)

    def c_FieldSelect(self, node: A.FieldSelect, scope) -> Expr:
        operand = node.operand
        if isinstance(operand, A.ColumnRef) and len(operand.names) == 1 and node.field != "*":
            # (t).col where t is a table: the column of that row.
            return self.compile(A.ColumnRef([operand.names[0], node.field], node.pos), scope)
        e = self.compile(operand, scope)
        raise SqlError(FEATURE_NOT_SUPPORTED, f"field selection from {T.format_type(e.type)} "
                       "is not supported")

    # -- function calls --------------------------------------------------------------------

    def c_FuncCall(self, node: A.FuncCall, scope) -> Expr:
        name = node.name
        if node.over is not None:
            raise SqlError(WINDOWING_ERROR, "window functions are not allowed here",
                           position=node.pos + 1)
        if F.is_aggregate(name):
            raise SqlError(GROUPING_ERROR, "aggregate functions are not allowed here"
                           if not scope.grouped else
                           "aggregate function calls cannot be nested", position=node.pos + 1)
        if name in F.WINDOW_FUNCTIONS:
            raise SqlError("42809",
                           f"window function {name} requires an OVER clause", position=node.pos + 1)
        special = getattr(self, "f_" + name, None)
        if special is not None:
            return special(node, scope)
        args = [self.compile(a, scope) for a in node.args]
        return self.call(name, args, node.pos)

    def call(self, name: str, args: list[Expr], pos: int = -1) -> Expr:
        try:
            f, targets, result = F.resolve(name, [a.type for a in args])
        except SqlError as exc:
            if exc.position is None and pos >= 0:
                exc.position = pos + 1
            raise
        args = [self.coerce(a, t) for a, t in zip(args, targets)]
        impl = f.impl
        if f.ctx:
            return Expr(_strictn(impl, args, f.strict, with_ctx=True), result)
        if not f.volatile and all(a.const for a in args):
            values = [a.value for a in args]
            if f.strict and None in values:
                return constant(None, result)
            folded = _fold(impl, *values, strict=False)
            if folded is not _FAILED:
                return constant(folded, result)
        if f.strict and len(args) == 1:
            return Expr(_strict1(impl, args[0]), result)
        if f.strict and len(args) == 2:
            return Expr(_strict2(impl, args[0], args[1]), result)
        return Expr(_strictn(impl, args, f.strict), result)

    # Special forms: conditional or variadic-any functions with their own typing rules.

    def f_coalesce(self, node, scope) -> Expr:
        args = [self.compile(a, scope) for a in node.args]
        t = self.common_type([a.type for a in args], "COALESCE")
        fns = [self.coerce(a, t).fn for a in args]

        def run(row, ctx):
            for f in fns:
                v = f(row, ctx)
                if v is not None:
                    return v
            return None
        return Expr(run, t)

    def f_nullif(self, node, scope) -> Expr:
        a = self.compile(node.args[0], scope)
        b = self.compile(node.args[1], scope)
        eq = self.binary("=", a, b).fn
        af = self.coerce(a, a.type if a.type.oid != T.UNKNOWN.oid else b.type
                         if b.type.oid != T.UNKNOWN.oid else T.TEXT).fn
        t = a.type if a.type.oid != T.UNKNOWN.oid else (b.type if b.type.oid != T.UNKNOWN.oid else T.TEXT)

        def run(row, ctx):
            return None if eq(row, ctx) is True else af(row, ctx)
        return Expr(run, t)

    def _extremum(self, node, scope, greatest: bool) -> Expr:
        args = [self.compile(a, scope) for a in node.args]
        t = self.common_type([a.type for a in args], node.name.upper())
        fns = [self.coerce(a, t).fn for a in args]

        def run(row, ctx):
            best = None
            for f in fns:
                v = f(row, ctx)
                if v is not None and (best is None or (v > best if greatest else v < best)):
                    best = v
            return best
        return Expr(run, t)

    def f_greatest(self, node, scope):
        return self._extremum(node, scope, True)

    def f_least(self, node, scope):
        return self._extremum(node, scope, False)

    def _texts(self, node, scope):
        out = []
        for a in node.args:
            e = self.compile(a, scope)
            if e.type.oid == T.UNKNOWN.oid:
                e = self.coerce(e, T.TEXT)
            out.append(e)
        return out

    def f_concat(self, node, scope) -> Expr:
        if not node.args:
            raise F.no_such_function("concat", [])
        args = self._texts(node, scope)
        parts = [(a.fn, a.type) for a in args]

        def run(row, ctx):
            out = []
            for f, t in parts:
                v = f(row, ctx)
                if v is not None:
                    out.append(T.to_text(v, t))
            return "".join(out)
        return Expr(run, T.TEXT)

    def f_concat_ws(self, node, scope) -> Expr:
        args = self._texts(node, scope)
        sep = self.coerce(args[0], T.TEXT).fn
        parts = [(a.fn, a.type) for a in args[1:]]

        def run(row, ctx):
            s = sep(row, ctx)
            if s is None:
                return None
            return s.join(T.to_text(v, t) for v, t in ((f(row, ctx), t) for f, t in parts)
                          if v is not None)
        return Expr(run, T.TEXT)

    def f_format(self, node, scope) -> Expr:
        args = self._texts(node, scope)
        fmt = self.coerce(args[0], T.TEXT).fn
        parts = [(a.fn, a.type) for a in args[1:]]

        def run(row, ctx):
            f = fmt(row, ctx)
            if f is None:
                return None
            values = [(g(row, ctx), t) for g, t in parts]
            return _format(f, values)
        return Expr(run, T.TEXT)

    def f_grouping(self, node, scope) -> Expr:
        """GROUPING(a, b): a bit per argument, set when the row's grouping set leaves that
        column out (so it shows NULL as a subtotal)."""
        s = scope
        while s is not None and not s.grouped:
            s = s.parent
        if s is None:
            raise SqlError(GROUPING_ERROR, "arguments to GROUPING must be grouping expressions "
                           "of the associated query level", position=node.pos + 1)
        positions = []
        for arg in node.args:
            hit = s.replacements.get(node_key(arg))
            if hit is None:
                raise SqlError(GROUPING_ERROR, "arguments to GROUPING must be grouping "
                               "expressions of the associated query level",
                               position=node.pos + 1)
            positions.append(hit[0])
        if s.grouping is None:
            return constant(0, T.INT4)
        sets, slot = s.grouping

        def run(row, ctx):
            chosen = sets[row[slot]]
            value = 0
            for p in positions:
                value = (value << 1) | (p not in chosen)
            return value
        return Expr(run, T.INT4)

    def f_pg_typeof(self, node, scope) -> Expr:
        e = self.compile(node.args[0], scope)
        return constant(e.type.oid, T.REGTYPE)

    def f_array_to_string(self, node, scope) -> Expr:
        args = [self.compile(a, scope) for a in node.args]
        arr = args[0]
        if arr.type.elem is None:
            raise F.no_such_function("array_to_string", [a.type for a in args])
        sep = self.coerce(args[1], T.TEXT).fn
        null = self.coerce(args[2], T.TEXT).fn if len(args) > 2 else None
        af, elem = arr.fn, arr.type.elem

        def run(row, ctx):
            a, s = af(row, ctx), sep(row, ctx)
            if a is None or s is None:
                return None
            return F.array_to_string_typed(a, s, null(row, ctx) if null else None, elem)
        return Expr(run, T.TEXT)

    def _json_builder(self, node, scope, kind: str, binary: bool) -> Expr:
        args = self._texts(node, scope)
        parts = [(a.fn, a.type) for a in args]
        if kind == "object" and len(parts) % 2:
            raise SqlError("22023", "argument list must have even number of elements",
                           hint=f"The arguments of {node.name}() must consist of "
                                "alternating keys and values.")

        def values(row, ctx):
            return [F.to_json_value(f(row, ctx), t) for f, t in parts]

        if kind == "object":
            key_parts = parts[0::2]

            def run(row, ctx):
                vals = values(row, ctx)
                keys = []
                for (f, t) in key_parts:
                    k = f(row, ctx)
                    if k is None:
                        raise SqlError("22004", "null value not allowed for object key")
                    keys.append(T.to_text(k, t))
                pairs = list(zip(keys, vals[1::2]))
                return dict(pairs) if binary else F.json_build_object_text(pairs)
        else:
            def run(row, ctx):
                vals = values(row, ctx)
                return vals if binary else F.json_build_array_text(vals)
        return Expr(run, T.JSONB if binary else T.JSON)

    def f_json_build_object(self, node, scope):
        return self._json_builder(node, scope, "object", False)

    def f_jsonb_build_object(self, node, scope):
        return self._json_builder(node, scope, "object", True)

    def f_json_build_array(self, node, scope):
        return self._json_builder(node, scope, "array", False)

    def f_jsonb_build_array(self, node, scope):
        return self._json_builder(node, scope, "array", True)

    def _to_json(self, node, scope, binary: bool) -> Expr:
        e = self._texts(node, scope)[0]
        f, t = e.fn, e.type

        def run(row, ctx):
            v = f(row, ctx)
            if v is None:
                return None
            value = F.to_json_value(v, t)
            if binary:
                return T.JSON_NULL if value is None else value
            return T.format_json_compact(value) if t.oid != T.JSON.oid else v
        return Expr(run, T.JSONB if binary else T.JSON)

    def f_to_json(self, node, scope):
        return self._to_json(node, scope, False)

    def f_to_jsonb(self, node, scope):
        return self._to_json(node, scope, True)

    def f_extract(self, node, scope) -> Expr:
        field = node.args[0].value
        e = self.compile(node.args[1], scope)
        if e.type.oid == T.UNKNOWN.oid:
            e = self.coerce(e, T.TIMESTAMPTZ)
        t = e.type
        if t.oid not in (T.DATE.oid, T.TIME.oid, T.TIMESTAMP.oid, T.TIMESTAMPTZ.oid,
                         T.INTERVAL.oid, T.TIMETZ.oid):
            raise F.no_such_function("extract", [T.UNKNOWN, t])
        f = e.fn

        def run(row, ctx):
            v = f(row, ctx)
            return None if v is None else F.extract_field(field, v, t)
        return Expr(run, T.NUMERIC_T)

    def f_nextval(self, node, scope) -> Expr:
        args = [self.compile(a, scope) for a in node.args]
        if args and args[0].type.oid == T.UNKNOWN.oid:
            args[0] = self.coerce(args[0], T.TEXT)
        return self.call("nextval", args, node.pos)


def _table_oid(scope: Scope, label: str | None):
    """The tableoid system column: the OID of the table a row comes from."""
    relids = {c.relid for c in scope.columns
              if c.relid is not None and (label is None or c.table == label)}
    return relids.pop() if len(relids) == 1 else None


_FAILED = object()


def _fold(fn, *values, strict=True):
    """Evaluate a constant expression at plan time. If it raises, leave it to run time,
    so the error comes from executing the statement, as in PostgreSQL."""
    if strict and None in values:
        return None
    try:
        return fn(*values)
    except SqlError:
        return _FAILED


def _apply(fn, value):
    return None if value is None else fn(value)


def _and(a, b):
    if a is False or b is False:
        return False
    if a is None or b is None:
        return None
    return True


def _or(a, b):
    if a is True or b is True:
        return True
    if a is None or b is None:
        return None
    return False


_FORMAT_SPEC = re.compile(r"%(?:(\d+)\$)?(-)?(\d+)?([sIL%])")


def _format(fmt: str, values: list) -> str:
    out = []
    pos = 0
    next_arg = 0
    for m in _FORMAT_SPEC.finditer(fmt):
        out.append(fmt[pos:m.start()])
        pos = m.end()
        kind = m.group(4)
        if kind == "%":
            out.append("%")
            continue
        index = int(m.group(1)) - 1 if m.group(1) else next_arg
        next_arg = index + 1
        if index >= len(values):
            raise SqlError("22023", "too few arguments for format()")
        v, t = values[index]
        if kind == "s":
            text = "" if v is None else T.to_text(v, t)
        elif kind == "I":
            if v is None:
                raise SqlError("22004", "null values cannot be formatted as an SQL identifier")
            text = F.quote_ident(T.to_text(v, t))
        else:
            text = "NULL" if v is None else F.quote_literal(T.to_text(v, t))
        width = int(m.group(3)) if m.group(3) else 0
        text = text.ljust(width) if m.group(2) else text.rjust(width)
        out.append(text)
    out.append(fmt[pos:])
    return "".join(out)

