"""The planner: turns a query's AST into a tree of executor operators.

For one SELECT the tree is built bottom-up in SQL's logical order:

    FROM (scans and joins)  ->  WHERE  ->  GROUP BY / aggregates  ->  HAVING
        ->  window functions  ->  SELECT list  ->  DISTINCT  ->  ORDER BY  ->  LIMIT

A few choices make common queries fast without a cost model:
* WHERE conditions are split at AND; each part is applied as early as the tables it
  names allow (under the scan of its single table, or at the join that brings its
  tables together);
* an equality between the two sides of a join makes it a hash join;
* equality conditions covering an index's columns turn a scan into an index lookup;
* an uncorrelated subquery runs once per statement (expressions.py caches it).

The planner knows the catalog (tables, views, system catalogs) but not the protocol.
"""

from __future__ import annotations

from . import functions as F
from . import types as T
from .errors import (AMBIGUOUS_COLUMN, FEATURE_NOT_SUPPORTED, GROUPING_ERROR,
                     INVALID_COLUMN_REFERENCE,
                     SYNTAX_ERROR, UNDEFINED_COLUMN, UNDEFINED_TABLE, WINDOWING_ERROR,
                     SqlError)
from .executor import (Aggregate, CteScan, DataModification, Distinct, Filter, FunctionScan, HashJoin,
                       IndexNestedLoopJoin, Limit, LockRows, MaterializedScan, MergeJoin,
                       NestedLoopJoin, Project,
                       RecursiveUnion, Result, RunFirst, SeqScan, SetOperation, Sort, ValuesScan, Window,
                       WorkTableScan)
from .expressions import Col, Compiler, Expr, QueryLevel, Scope, figure_colname, node_key
from .paths import (DEFAULT_EQUALITY, DESCENT, FETCH, UNKNOWN_ROWS, choose_scan,
                    distinct_values, satisfies, table_rows)
from .sql import ast as A
from .storage.keycodec import encode_key


class CteDef:
    def __init__(self, name, plan, columns, key, recursive_key=None):
        self.name = name
        self.plan = plan
        self.columns = columns
        self.key = key
        self.recursive_key = recursive_key     # set while planning the recursive term


class Planner:
    def __init__(self, session, param_types: list[T.SqlType] | None = None):
        self.session = session
        self.db = session.database
        self.compiler = Compiler(self, param_types if param_types is not None else [])
        self.ctes: list[dict[str, CteDef]] = []
        self.modifications: list[tuple] = []     # data-modifying WITH queries to run

    @property
    def param_types(self):
        return self.compiler.param_types

    def resolve_type(self, tn: A.TypeName) -> T.SqlType:
        return T.lookup_type(tn.name, tn.typmods, tn.array_dims)

    # -- queries ---------------------------------------------------------------------------

    def plan_query(self, q, outer: Scope | None = None, level: QueryLevel | None = None):
        """-> (operator, [(column name, type)])."""
        if not isinstance(q, A.Query):
            q = A.Query(body=q)
        pushed = False
        mark = len(self.modifications)
        if q.with_ is not None:
            self.ctes.append({})
            pushed = True
            for cte in q.with_.tables:
                self.plan_cte(cte, q.with_.recursive, outer)
        try:
            body = q.body
            if isinstance(body, A.Select):
                plan, columns = self.plan_select(body, outer, level, q.order_by, q.limit,
                                                 q.offset, with_ties=q.with_ties,
                                                 locking=q.lock_wait if q.locking else None)
            else:
                plan, columns = self.plan_body(body, outer, level)
                plan, columns = self.order_and_limit(plan, columns, q, outer)
            if len(self.modifications) > mark:
                plan = RunFirst(self.modifications[mark:], plan)
                del self.modifications[mark:]
            return plan, columns
        finally:
            if pushed:
                self.ctes.pop()

    def plan_subquery(self, query, scope: Scope, level: QueryLevel, compiler):
        return self.plan_query(query, scope, level)

    def plan_body(self, body, outer, level=None, keep_unknown=False):
        if isinstance(body, A.Select):
            return self.plan_select(body, outer, level, [], None, None, keep_unknown)
        if isinstance(body, A.Values):
            return self.plan_values(body, outer)
        if isinstance(body, A.SetOp):
            return self.plan_setop(body, outer, level)
        if isinstance(body, A.Query):
            return self.plan_query(body, outer, level)
        raise SqlError(SYNTAX_ERROR, "unexpected query form")

    def order_and_limit(self, plan, columns, q: A.Query, outer):
        if q.order_by:
            scope = Scope([Col(n, t) for n, t in columns], outer)
            keys = []
            for item in q.order_by:
                index = self._output_column(item.expr, columns)
                if index is None:
                    e = self.compiler.compile(item.expr, scope)
                    fn = e.fn
                else:
                    fn = _column_getter(index)
                keys.append(_sort_key(fn, item))
            plan = Sort(plan, keys)
        return self.apply_limit(plan, q.limit, q.offset, outer), columns

    def apply_limit(self, plan, limit, offset, outer, ties=None):
        if limit is None and offset is None:
            return plan
        scope = Scope([], outer)
        lf = self._count_expr(limit, scope) if limit is not None else None
        of = self._count_expr(offset, scope) if offset is not None else None
        return Limit(plan, lf, of, ties)

    def _count_expr(self, node, scope):
        e = self.compiler.compile(node, scope)
        return self.compiler.coerce(e, T.INT8).fn

    def _output_column(self, node, columns) -> int | None:
        """ORDER BY 2 or ORDER BY alias: the output column it names, if it does."""
        if isinstance(node, A.Const) and node.kind == "int":
            n = int(node.value)
            if not 1 <= n <= len(columns):
                raise SqlError(INVALID_COLUMN_REFERENCE,
                               f"ORDER BY position {n} is not in select list",
                               position=node.pos + 1)
            return n - 1
        if isinstance(node, A.ColumnRef) and len(node.names) == 1:
            matches = [i for i, (n, _) in enumerate(columns) if n == node.names[0]]
            if len(matches) > 1:
                raise SqlError(AMBIGUOUS_COLUMN,
                               f'ORDER BY "{node.names[0]}" is ambiguous', position=node.pos + 1)
            if matches:
                return matches[0]
        return None

    # -- CTEs ------------------------------------------------------------------------------

    def plan_cte(self, cte: A.CommonTable, recursive: bool, outer):
        frame = self.ctes[-1]
        key = object()
        if isinstance(cte.query, (A.Insert, A.Update, A.Delete)):
            from .dml import DeletePlan, InsertPlan, UpdatePlan
            cls = {A.Insert: InsertPlan, A.Update: UpdatePlan, A.Delete: DeletePlan}[
                type(cte.query)]
            statement = cls(self, cte.query)
            plan = DataModification(f"{type(cte.query).__name__} ({cte.name})", statement)
            columns = statement.columns or []
            if cte.column_aliases:
                columns = [(n, t) for n, (_, t) in zip(cte.column_aliases, columns)] + \
                    columns[len(cte.column_aliases):]
            frame[cte.name] = CteDef(cte.name, plan, columns, key)
            self.modifications.append((plan, key))
            return
        body = cte.query.body if isinstance(cte.query, A.Query) else cte.query
        if recursive and isinstance(body, A.SetOp) and body.op == "union" and \
                self._references(body.right, cte.name):
            base_plan, base_cols = self.plan_body(body.left, outer)
            names = cte.column_aliases or [n for n, _ in base_cols]
            if len(names) != len(base_cols):
                raise SqlError(SYNTAX_ERROR, f'WITH query "{cte.name}" has {len(base_cols)} '
                               f"columns available but {len(names)} columns specified")
            columns = [(n, t if t.oid != T.UNKNOWN.oid else T.TEXT)
                       for n, (_, t) in zip(names, base_cols)]
            if any(t.oid == T.UNKNOWN.oid for _, t in base_cols):
                base_plan = self._cast_columns(base_plan, base_cols, [t for _, t in columns])
            work_key = object()
            frame[cte.name] = CteDef(cte.name, None, columns, key, recursive_key=work_key)
            rec_plan, rec_cols = self.plan_body(body.right, outer)
            if len(rec_cols) != len(columns):
                raise SqlError(SYNTAX_ERROR, "each UNION query must have the same number of columns")
            rec_plan = self._cast_columns(rec_plan, rec_cols, [t for _, t in columns])
            plan = RecursiveUnion(base_plan, rec_plan, work_key, distinct=not body.all)
            frame[cte.name] = CteDef(cte.name, plan, columns, key)
            return
        plan, cols = self.plan_query(cte.query, outer)
        names = cte.column_aliases or [n for n, _ in cols]
        if len(names) > len(cols):
            raise SqlError(SYNTAX_ERROR, f'WITH query "{cte.name}" has {len(cols)} columns '
                           f"available but {len(names)} columns specified")
        names = names + [n for n, _ in cols[len(names):]]
        frame[cte.name] = CteDef(cte.name, plan, [(n, t) for n, (_, t) in zip(names, cols)], key)

    def _references(self, node, name: str) -> bool:
        if isinstance(node, A.TableRef):
            return len(node.name) == 1 and node.name[0] == name
        if isinstance(node, A.Node):
            return any(self._references(getattr(node, f), name)
                       for f in node.__dataclass_fields__)
        if isinstance(node, (list, tuple)):
            return any(self._references(n, name) for n in node)
        return False

    def find_cte(self, name: str) -> CteDef | None:
        for frame in reversed(self.ctes):
            if name in frame:
                return frame[name]
        return None

    # -- VALUES and set operations ---------------------------------------------------------

    def plan_values(self, values: A.Values, outer):
        scope = Scope([], outer)
        width = len(values.rows[0])
        rows = []
        for row in values.rows:
            if len(row) != width:
                raise SqlError(SYNTAX_ERROR, "VALUES lists must all be the same length",
                               position=values.pos + 1)
            rows.append([self.compiler.compile(e, scope) if not isinstance(e, A.DefaultExpr)
                         else None for e in row])
        types = []
        for i in range(width):
            col_types = [r[i].type for r in rows if r[i] is not None]
            types.append(self.compiler.common_type(col_types, "VALUES"))
        fns = [[self.compiler.coerce(e, types[i]).fn if e is not None else (lambda r, c: None)
                for i, e in enumerate(r)] for r in rows]
        return ValuesScan(fns), [(f"column{i + 1}", t) for i, t in enumerate(types)]

    def plan_setop(self, node: A.SetOp, outer, level=None):
        # Literals stay of unknown type until both sides are seen (SELECT 1 UNION SELECT
        # '2' is integer).
        left, lcols = self.plan_body(node.left, outer, keep_unknown=True)
        right, rcols = self.plan_body(node.right, outer, keep_unknown=True)
        if len(lcols) != len(rcols):
            raise SqlError(SYNTAX_ERROR,
                           f"each {node.op.upper()} query must have the same number of columns")
        types = [self.compiler.common_type([lt, rt], node.op.upper())
                 for (_, lt), (_, rt) in zip(lcols, rcols)]
        left = self._cast_columns(left, lcols, types)
        right = self._cast_columns(right, rcols, types)
        return SetOperation(node.op, node.all, left, right), \
            [(n, t) for (n, _), t in zip(lcols, types)]

    def _cast_columns(self, plan, columns, types):
        if all(c[1] == t for c, t in zip(columns, types)):
            return plan
        fns = []
        for i, ((_, src), dst) in enumerate(zip(columns, types)):
            e = Expr(_column_getter(i), src)
            fns.append(self.compiler.coerce(e, dst).fn)
        return Project(plan, fns)

    # -- SELECT ----------------------------------------------------------------------------

    def plan_select(self, sel: A.Select, outer, level, order_by, limit, offset,
                    keep_unknown=False, with_ties=False, locking=None):
        compiler = self.compiler
        level = level or QueryLevel()
        sel = _set_functions_to_from(sel)
        conjuncts = _split_and(sel.where) if sel.where is not None else []
        if locking is not None and (sel.group_by or sel.distinct or sel.having is not None
                                    or any(_has_aggregate(t.expr) for t in sel.targets)):
            what = "GROUP BY clause" if sel.group_by else \
                "DISTINCT clause" if sel.distinct else "aggregate functions"
            raise SqlError(FEATURE_NOT_SUPPORTED, f"FOR UPDATE is not allowed with {what}")
        # One table, and nothing between its scan and the ORDER BY that reorders rows:
        # an index may give the order (and with a LIMIT, only the first rows).
        wanted = None
        if order_by and len(sel.from_) == 1 and isinstance(sel.from_[0], A.TableRef) and \
                not (sel.group_by or sel.having is not None or sel.distinct or sel.distinct_on
                     or any(_has_aggregate(t.expr) or _has_window(t.expr) for t in sel.targets)):
            wanted = lambda scope: self._order_columns(order_by, sel.targets, scope)  # noqa: E731
        if sel.from_:
            plan, scope, conjuncts = self.plan_from(sel.from_, outer, level, conjuncts,
                                                    locking, wanted, limit is not None)
        else:
            plan, scope = Result(), Scope([], outer, level)
        if conjuncts:
            pred = self._predicate(conjuncts, scope, "WHERE")
            plan = Filter(plan, pred, "")

        targets = self.expand_targets(sel.targets, scope)
        agg_calls = []
        for t in targets:
            _collect_aggregates(t.expr, agg_calls)
        if sel.having is not None:
            _collect_aggregates(sel.having, agg_calls)
        for item in order_by:
            _collect_aggregates(item.expr, agg_calls)
        if sel.where is not None:
            found = []
            _collect_aggregates(sel.where, found)
            if found:
                raise SqlError(GROUPING_ERROR, "aggregate functions are not allowed in WHERE",
                               position=found[0].pos + 1)

        if agg_calls or sel.group_by or sel.having is not None:
            plan, scope = self.plan_aggregate(plan, scope, sel, targets, agg_calls, outer, level)
        if sel.having is not None:
            plan = Filter(plan, self._predicate([sel.having], scope, "HAVING"))

        win_calls = []
        for t in targets:
            _collect_windows(t.expr, win_calls)
        for item in order_by:
            _collect_windows(item.expr, win_calls)
        if win_calls:
            plan, scope = self.plan_window(plan, scope, win_calls, sel.windows)

        # The select list, plus hidden columns for ORDER BY expressions not in it.
        exprs = [compiler.compile(t.expr, scope) for t in targets]
        names = [t.alias or figure_colname(t.expr) for t in targets]
        if not keep_unknown:
            exprs = [compiler.coerce(e, T.TEXT) if e.type.oid == T.UNKNOWN.oid and e.param is None
                     else e for e in exprs]
        columns = [(n, e.type) for n, e in zip(names, exprs)]
        sort_keys = []
        extra = []
        target_keys = None
        for item in order_by:
            index = self._output_column(item.expr, columns)
            if index is None:
                if target_keys is None:
                    target_keys = [node_key(t.expr) for t in targets]
                key = node_key(item.expr)
                if key in target_keys:
                    index = target_keys.index(key)
            if index is None:
                if sel.distinct and not sel.distinct_on:
                    raise SqlError(INVALID_COLUMN_REFERENCE,
                                   "for SELECT DISTINCT, ORDER BY expressions must appear in "
                                   "select list", position=_pos(item.expr))
                e = compiler.compile(item.expr, scope)
                extra.append(e)
                index = len(exprs) + len(extra) - 1
            sort_keys.append(_sort_key(_column_getter(index), item))
        distinct_on = []
        if sel.distinct_on:
            for node in sel.distinct_on:
                index = self._output_column(node, columns)
                if index is None:
                    e = compiler.compile(node, scope)
                    extra.append(e)
                    index = len(exprs) + len(extra) - 1
                distinct_on.append(_column_getter(index))
        for e in exprs:
            if e.param is not None and e.type.oid == T.UNKNOWN.oid:
                compiler.coerce(e, T.TEXT)
        plan = Project(plan, [e.fn for e in exprs + extra])
        width = len(exprs)
        if sel.distinct and not sel.distinct_on:
            plan = Distinct(plan, width=width if extra else None)
        if sort_keys and not (wanted is not None and
                              _ordered_by(plan, self._order_columns(order_by, sel.targets,
                                                                    scope))):
            plan = Sort(plan, sort_keys)
        if distinct_on:
            plan = Distinct(plan, on=distinct_on)
        ties = None
        if with_ties:
            if not sort_keys:
                raise SqlError("42601", "WITH TIES cannot be specified without ORDER BY clause")
            ties = [fn for fn, _, _ in sort_keys]
        plan = self.apply_limit(plan, limit, offset, outer, ties)
        if extra:
            plan = Project(plan, [_column_getter(i) for i in range(width)])
        return plan, columns

    def _order_columns(self, order_by, targets, scope):
        """ORDER BY as [(table column, descending, nulls first)] if every item is a plain
        column of the scanned table (by name, output name or position), else None."""
        out = []
        for item in order_by:
            expr = item.expr
            if isinstance(expr, A.Const) and expr.kind == "int":
                n = int(expr.value)
                if not 1 <= n <= len(targets) or isinstance(targets[n - 1].expr, A.Star):
                    return None
                expr = targets[n - 1].expr
            elif isinstance(expr, A.ColumnRef) and len(expr.names) == 1:
                named = [t.expr for t in targets if t.alias == expr.names[0]]
                if len(named) == 1:
                    expr = named[0]
            if not isinstance(expr, A.ColumnRef) or not self._local(expr, scope):
                return None
            index = scope.lookup(expr.names)
            if index is None or scope.columns[index].source is None:
                return None
            nulls_first = item.nulls_first if item.nulls_first is not None else item.descending
            out.append((index, item.descending, nulls_first))
        return out

    def expand_targets(self, targets: list[A.Target], scope: Scope) -> list[A.Target]:
        out = []
        for t in targets:
            star = t.expr
            if isinstance(star, A.Star) or (isinstance(star, A.ColumnRef) and star.names[-1] == "*"):
                table = star.table[-1] if isinstance(star, A.Star) and star.table else None
                if not scope.columns and table is None:
                    raise SqlError(SYNTAX_ERROR, "SELECT * with no tables specified is not valid",
                                   position=t.pos + 1)
                for i in scope.star_columns(table):
                    col = scope.columns[i]
                    ref = A.ColumnRef([col.table, col.name] if col.table else [col.name], t.pos)
                    out.append(A.Target(_PositionRef(i, col), col.name, t.pos)
                               if not col.table or not col.bare else A.Target(ref, col.name, t.pos))
            else:
                out.append(t)
        return out

    def _predicate(self, conjuncts, scope, clause):
        compiler = self.compiler
        fns = [compiler.to_bool(compiler.compile(c, scope), clause).fn for c in conjuncts]
        if len(fns) == 1:
            return fns[0]

        def pred(row, ctx):
            for f in fns:
                if f(row, ctx) is not True:
                    return False
            return True
        return pred

    # -- FROM ------------------------------------------------------------------------------

    def plan_from(self, items, outer, level, conjuncts, locking=None, wanted=None,
                  limited=False):
        """Plan the FROM list, placing WHERE conjuncts as early as their columns allow.
        Returns (plan, scope, conjuncts still to apply).

        Each item is planned with its own conditions first (which may make it an index
        scan). A list of plain tables joined by inner joins is then joined in the order
        the estimates favour, smallest first, each step's method chosen by paths.py;
        anything else joins left to right. With `locking` (FOR UPDATE's wait policy),
        each table's rows are locked as they are read, after its own conditions.
        `wanted(scope)`: the ORDER BY a single table's scan may provide (with `limited`,
        a LIMIT follows)."""
        flat = []
        pending = list(conjuncts)
        for item in items:
            self._flatten_inner(item, flat, pending)
        reorder = len(flat) > 1 and locking is None and \
            all(isinstance(item, A.TableRef) for item in flat)
        entries = []
        scope = None
        for item in flat:
            lateral_parent = scope if not reorder else None
            if locking is not None and isinstance(item, A.TableRef):
                iplan, iscope = self.plan_table_ref(item, outer, level, with_rowid=True)
            else:
                iplan, iscope = self.plan_from_item(item, outer, level, lateral_parent)
            # Conditions on this item alone go under it (and may make it an index scan).
            mine, pending = self._take_conjuncts(pending, iscope)
            base = iplan if isinstance(iplan, SeqScan) and not iplan.with_rowid else None
            order = wanted(iscope) if wanted is not None and len(flat) == 1 else None
            iplan = self._filtered_scan(iplan, iscope, mine, order, limited)
            if locking is not None and isinstance(item, A.TableRef) and \
                    iscope.columns and iscope.columns[-1].name == "ctid":
                recheck = self._predicate(mine, iscope, "WHERE") if mine else None
                iplan = LockRows(iplan, iscope.columns[0].source, recheck, locking)
                iplan.est_rows = getattr(iplan.child, "est_rows", None)
            entries.append(_FromEntry(iplan, iscope, base, mine))
            if not reorder:
                if scope is None:
                    plan, scope = iplan, iscope
                    continue
                plan, scope, pending = self._join_step(plan, scope, entries[-1], pending,
                                                       outer, level)
        if not reorder:
            return plan, scope, pending
        remaining = list(entries)
        first = min(remaining, key=lambda e: e.rows)
        remaining.remove(first)
        plan, scope, joined = first.plan, first.scope, [first]
        while remaining:
            entry = self._next_to_join(remaining, scope, pending, plan)
            remaining.remove(entry)
            joined.append(entry)
            plan, scope, pending = self._join_step(plan, scope, entry, pending, outer, level)
        if joined == entries:
            return plan, scope, pending
        # Back to the FROM list's column order (what * and the output columns follow).
        start, offsets = 0, {}
        for entry in joined:
            offsets[id(entry)] = start
            start += entry.scope.width()
        getters = [_column_getter(offsets[id(entry)] + i)
                   for entry in entries for i in range(entry.scope.width())]
        rows = _rows(plan)
        plan = Project(plan, getters)
        plan.est_rows = rows
        scope = entries[0].scope
        for entry in entries[1:]:
            scope = Scope(scope.columns + entry.scope.columns, outer, level,
                          _combine_star(scope, entry.scope))
        return plan, scope, pending

    def _next_to_join(self, entries, scope, pending, plan):
        """The item whose join with the inputs so far is estimated smallest, among those
        a condition connects to them (if none is, the smallest item)."""
        connected = []
        for entry in entries:
            combined = Scope(scope.columns + entry.scope.columns)
            if any(self._equi_pair(c, scope, entry.scope, combined) is not None
                   for c in pending if self._resolvable(c, combined)):
                connected.append(entry)
        candidates = connected or entries
        left_rows = _rows(plan)
        return min(candidates, key=lambda e: left_rows * e.rows / max(left_rows, e.rows, 1.0))

    def _join_step(self, plan, scope, entry, pending, outer, level):
        combined = Scope(scope.columns + entry.scope.columns, outer, level,
                         _combine_star(scope, entry.scope))
        join_conds, pending = self._take_conjuncts(pending, combined)
        plan = self._make_join("inner", plan, scope, entry.plan, entry.scope, combined,
                               join_conds, entry.plan.lateral, entry)
        return plan, combined, pending

    def _flatten_inner(self, item, flat, pending):
        if isinstance(item, A.Join) and item.kind in ("inner", "cross") and not item.natural \
                and item.using is None and not _has_lateral(item.right):
            self._flatten_inner(item.left, flat, pending)
            self._flatten_inner(item.right, flat, pending)
            if item.on is not None:
                pending.extend(_split_and(item.on))
        else:
            flat.append(item)

    def _take_conjuncts(self, conjuncts, scope):
        """Split conjuncts into those that can be evaluated in `scope` and the rest."""
        mine, rest = [], []
        for c in conjuncts:
            (mine if self._resolvable(c, scope) else rest).append(c)
        return mine, rest

    def _resolvable(self, node, scope) -> bool:
        if _contains(node, (A.SubqueryExpr, A.Exists, A.InSubquery, A.ArraySubquery,
                            A.AnyAll)):
            # Subqueries may reference any FROM item: evaluate them above the joins.
            return False
        for ref in _column_refs(node):
            if not self._name_resolves(ref, scope):
                return False
        return True

    def _name_resolves(self, ref: A.ColumnRef, scope: Scope) -> bool:
        try:
            if scope.lookup(ref.names) is not None:
                return True
        except SqlError:
            return True     # ambiguous: let the full compile report it
        if len(ref.names) == 1 and scope.has_table(ref.names[0]):
            return True
        # Names from enclosing queries are available everywhere.
        s = scope.parent
        while s is not None:
            try:
                if s.lookup(ref.names) is not None:
                    return True
            except SqlError:
                return True
            s = s.parent
        return False

    def _filtered_scan(self, plan, scope, conjuncts, wanted_order=None, limited=False):
        """A table's plan with its own conditions: the access path paths.py finds
        cheapest, under a Filter for the conditions (all of them: an index path's rows
        satisfy its own, and checking again is cheap). The chosen scan's `order` tells
        what ORDER BY it satisfies."""
        shown = conjuncts
        if isinstance(plan, SeqScan):
            path = choose_scan(self, plan, scope, conjuncts, wanted_order, limited)
            plan = path.plan
            plan.est_rows = path.rows
            plan.order = path.order
            # EXPLAIN lists the index's own conditions as its Index Cond only.
            shown = [c for c in conjuncts if not any(c is u for u in path.used)]
        if conjuncts:
            rows = getattr(plan, "est_rows", None)
            plan = Filter(plan, self._predicate(conjuncts, scope, "WHERE"),
                          _describe(shown) if shown else "")
            plan.est_rows = rows
        return plan

    def value_for_key(self, node, scope) -> bool:
        """Can `node` give an index key for a scan of `scope`'s table: constants,
        parameters and columns of enclosing queries, but no subquery or function call."""
        return all(self._outer_only(ref, scope) for ref in _column_refs(node)) and \
            not _contains(node, (A.SubqueryExpr, A.Exists, A.InSubquery, A.FuncCall))

    def key_function(self, col_type, node, scope, equality: bool):
        """A function computing an index key value of `col_type` from `node` (compiled
        in the enclosing queries' scope), or None when the types do not allow it (the
        key must be of the column's own type to be found in the index)."""
        if col_type.oid == T.BPCHAR.oid:
            return None
        e = self.compiler.compile(node, Scope([], scope.parent, scope.level))
        if T.is_integer(col_type) and T.is_integer(e.type):
            # Any integer key works: out of the column's range, an equality matches
            # nothing (and IndexRangeScan clamps a bound).
            return _integer_key(e.fn, col_type) if equality else e.fn
        common = self._compare_type(col_type, e.type)
        if common is None or common.oid != col_type.base.oid:
            return None
        return self.compiler.coerce(e, col_type.base).fn

    def describe(self, conjuncts) -> str:
        return _describe(conjuncts) if conjuncts else ""

    def _outer_only(self, ref: A.ColumnRef, scope: Scope) -> bool:
        if self._local(ref, scope):
            return False
        s = scope.parent
        while s is not None:
            if self._local(ref, s):
                return True
            s = s.parent
        return False

    @staticmethod
    def _compare_type(a, b):
        from .operators import resolve_comparison_type
        try:
            return resolve_comparison_type(a, b, "=")
        except SqlError:
            return None

    def _make_join(self, kind, lplan, lscope, rplan, rscope, combined, conds, lateral=False,
                   entry=None):
        """Join two planned inputs on `conds` with the method paths.py's estimates favour:
        an index nested loop (when `entry`, the right input, is a plain table with an
        index on the join columns and the left side is small), a hash join, a merge
        join (equality on floats or char(n); or when hash joins are disabled), or a
        nested loop."""
        lwidth, rwidth = lscope.width(), rscope.width()
        kind = kind if kind != "cross" else "inner"
        if lateral:
            cond = self._predicate(conds, combined, "JOIN") if conds else None
            return NestedLoopJoin(lplan, rplan, kind, cond, rwidth, lwidth, lateral=True)
        settings = self.session.settings
        hashed, merged, residual = [], [], []
        for c in conds:
            pair = self._equi_pair(c, lscope, rscope, combined)
            if pair is not None:
                hashed.append((c, pair))
                continue
            pair = self._merge_pair(c, lscope, rscope, combined)
            if pair is not None:
                merged.append((c, pair))
            else:
                residual.append(c)
        left_rows, right_rows = _rows(lplan), _rows(rplan)
        joined_rows = max(left_rows, right_rows) if hashed or merged else left_rows * right_rows
        if entry is not None and entry.base is not None and kind in ("inner", "left") and \
                settings.get("enable_nestloop") != "off":
            plan = self._index_nested_loop(kind, lplan, lscope, entry, conds, combined,
                                           left_rows)
            if plan is not None:
                plan.est_rows = joined_rows
                return plan
        if hashed and settings.get("enable_hashjoin") != "off":
            rest = residual + [c for c, _ in merged]
            res = self._predicate(rest, combined, "JOIN") if rest else None
            plan = HashJoin(lplan, rplan, kind, [p[0] for _, p in hashed],
                            [p[1] for _, p in hashed], res, lwidth, rwidth,
                            " AND ".join(_describe([c]) for c, _ in hashed),
                            build_left=left_rows < right_rows)
        elif hashed or merged:
            keys = [(c, (_encoded(p[0]), _encoded(p[1]))) for c, p in hashed] + merged
            res = self._predicate(residual, combined, "JOIN") if residual else None
            plan = MergeJoin(lplan, rplan, kind, [p[0] for _, p in keys],
                             [p[1] for _, p in keys], res, lwidth, rwidth,
                             " AND ".join(_describe([c]) for c, _ in keys))
        else:
            cond = self._predicate(conds, combined, "JOIN") if conds else None
            plan = NestedLoopJoin(lplan, rplan, kind, cond, rwidth, lwidth)
        plan.est_rows = joined_rows
        return plan

    def _index_nested_loop(self, kind, lplan, lscope, entry, conds, combined, left_rows):
        """An index nested loop into `entry`'s table, if an index leads with columns the
        join conditions equate to left-side values and that is estimated cheaper than
        reading the whole table for a hash join."""
        table = entry.base.table
        keyed = {}
        for c in conds:
            found = self._join_column(c, lscope, entry.scope)
            if found is not None and found[1] not in keyed:
                keyed[found[1]] = (c, found[0])
        if not keyed:
            return None
        total = table_rows(self, table)
        best = None
        for index in table.indexes:
            if not index.storage_backed or index.method != "btree":
                continue
            fns, used, distinct = [], [], 1.0
            for name in index.columns:
                column = table.column_index(name)
                if column not in keyed:
                    break
                c, node = keyed[column]
                fn = self._left_key(table.columns[column].type, node, lscope)
                if fn is None:
                    break
                fns.append(fn)
                used.append(c)
                distinct *= distinct_values(self, table, column) or (1 / DEFAULT_EQUALITY)
            if not fns:
                continue
            if index.unique and len(fns) == len(index.columns):
                distinct = total
            matches = max(total / distinct, 1.0)
            cost = left_rows * (DESCENT + matches * FETCH)
            if best is None or cost < best[0]:
                best = (cost, index, fns, used)
        if best is None or best[0] >= total + left_rows:
            return None
        _, index, fns, used = best
        rest = [c for c in conds if c not in used]
        right_filter = self._predicate(entry.mine, entry.scope, "WHERE") if entry.mine else None
        residual = self._predicate(rest, combined, "JOIN") if rest else None
        return IndexNestedLoopJoin(lplan, table, index, fns, right_filter, residual, kind,
                                   entry.scope.width(), entry.base.label, _describe(used),
                                   _describe(entry.mine) if entry.mine else "")

    def _join_column(self, node, lscope, rscope):
        """(left-side expression, right table column) if `node` equates a plain column of
        the right input with an expression of the left input alone."""
        if not (isinstance(node, A.BinaryOp) and node.op == "="):
            return None
        if _contains(node, (A.SubqueryExpr, A.Exists, A.InSubquery, A.ArraySubquery)):
            return None
        for col_side, other in ((node.right, node.left), (node.left, node.right)):
            if isinstance(col_side, A.ColumnRef) and self._local(col_side, rscope) and \
                    not self._local(col_side, lscope):
                refs = _column_refs(other)
                if refs and all(self._local(r, lscope) and not self._local(r, rscope)
                                for r in refs):
                    index = rscope.lookup(col_side.names)
                    if index is not None and not rscope.columns[index].hidden:
                        return other, index
        return None

    def _left_key(self, col_type, node, lscope):
        """An index key function of a left row (see key_function)."""
        if col_type.oid == T.BPCHAR.oid:
            return None
        e = self.compiler.compile(node, lscope)
        if T.is_integer(col_type) and T.is_integer(e.type):
            return _integer_key(e.fn, col_type)
        common = self._compare_type(col_type, e.type)
        if common is None or common.oid != col_type.base.oid:
            return None
        return self.compiler.coerce(e, col_type.base).fn

    def _merge_pair(self, node, lscope, rscope, combined):
        """Key functions for a merge join on `node` when it equates floats or char(n)
        (which a hash join does not take): each side's value as an encoded index key."""
        if not (isinstance(node, A.BinaryOp) and node.op == "="):
            return None
        if _contains(node, (A.SubqueryExpr, A.Exists, A.InSubquery, A.ArraySubquery)):
            return None
        from .operators import resolve_comparison_type
        for a, b in ((node.left, node.right), (node.right, node.left)):
            a_refs, b_refs = _column_refs(a), _column_refs(b)
            if not a_refs or not b_refs:
                continue
            if all(self._local(r, lscope) and not self._local(r, rscope) for r in a_refs) and \
                    all(self._local(r, rscope) and not self._local(r, lscope) for r in b_refs):
                ea, eb = self.compiler.compile(a, lscope), self.compiler.compile(b, rscope)
                try:
                    common = resolve_comparison_type(ea.type, eb.type, "=")
                except SqlError:
                    return None
                if common.oid not in (T.FLOAT4.oid, T.FLOAT8.oid, T.BPCHAR.oid):
                    return None
                blank_padded = common.oid == T.BPCHAR.oid
                return (_encoded(self.compiler.coerce(ea, common).fn, blank_padded),
                        _encoded(self.compiler.coerce(eb, common).fn, blank_padded))
        return None

    def _equi_pair(self, node, lscope, rscope, combined):
        if not (isinstance(node, A.BinaryOp) and node.op == "="):
            return None
        if _contains(node, (A.SubqueryExpr, A.Exists, A.InSubquery, A.ArraySubquery)):
            return None
        compiler = self.compiler
        for a, b in ((node.left, node.right), (node.right, node.left)):
            a_refs, b_refs = _column_refs(a), _column_refs(b)
            if not a_refs or not b_refs:
                continue
            if all(self._local(r, lscope) for r in a_refs) and \
                    all(self._local(r, rscope) for r in b_refs) and \
                    not any(self._local(r, rscope) for r in a_refs) and \
                    not any(self._local(r, lscope) for r in b_refs):
                # Compile in the full row layout first (reports ambiguity as PostgreSQL
                # does), then against each side's own layout for the hash keys.
                compiler.compile(node, combined)
                ea = compiler.compile(a, lscope)
                eb = compiler.compile(b, rscope)
                from .operators import resolve_comparison_type
                common = resolve_comparison_type(ea.type, eb.type, "=")
                if common.oid in (T.BPCHAR.oid, T.FLOAT4.oid, T.FLOAT8.oid, T.JSONB.oid,
                                  T.RECORD.oid) or common.elem is not None:
                    return None
                ea = compiler.coerce(ea, common)
                eb = compiler.coerce(eb, common)
                return ea.fn, eb.fn
        return None

    @staticmethod
    def _local(ref: A.ColumnRef, scope: Scope) -> bool:
        try:
            return scope.lookup(ref.names) is not None
        except SqlError:
            return False

    def plan_from_item(self, item, outer, level, lateral_parent=None):
        if isinstance(item, A.TableRef):
            return self.plan_table_ref(item, outer, level)
        if isinstance(item, A.SubqueryRef):
            parent = outer
            lateral = False
            if item.lateral and lateral_parent is not None:
                parent = Scope(lateral_parent.columns, outer, QueryLevel())
                lateral = True
            plan, cols = self.plan_query(item.query, parent)
            alias = item.alias
            names = list(item.column_aliases) + [n for n, _ in cols[len(item.column_aliases):]]
            scope = Scope([Col(n, t, alias) for n, (_, t) in zip(names, cols)], outer, level)
            if lateral:
                plan.lateral = True
            return plan, scope
        if isinstance(item, A.FunctionRef):
            return self.plan_function_ref(item, outer, level, lateral_parent)
        if isinstance(item, A.Join):
            return self.plan_join(item, outer, level)
        raise SqlError(SYNTAX_ERROR, "unsupported FROM item")

    def plan_join(self, join: A.Join, outer, level):
        lplan, lscope = self.plan_from_item(join.left, outer, level)
        rplan, rscope = self.plan_from_item(join.right, outer, level, lscope)
        kind = join.kind
        using = join.using
        if join.natural:
            lnames = [c.name for c in lscope.columns if not c.hidden and c.bare]
            rnames = {c.name for c in rscope.columns if not c.hidden and c.bare}
            using = [n for n in lnames if n in rnames]
        combined = Scope(lscope.columns + rscope.columns, outer, level,
                         _combine_star(lscope, rscope))
        conds = _split_and(join.on) if join.on is not None else []
        lateral = rplan.lateral
        if using:
            return self._using_join(join, kind, using, lplan, lscope, rplan, rscope, outer, level)
        plan = self._make_join(kind, lplan, lscope, rplan, rscope, combined, conds, lateral)
        return plan, combined

    def _using_join(self, join, kind, using, lplan, lscope, rplan, rscope, outer, level):
        """JOIN ... USING (cols): one merged column per name, listed first by *."""
        lidx, ridx = [], []
        for name in using:
            li = lscope.lookup([name])
            ri = rscope.lookup([name])
            if li is None:
                raise SqlError(UNDEFINED_COLUMN, f'column "{name}" specified in USING clause '
                               "does not exist in left table")
            if ri is None:
                raise SqlError(UNDEFINED_COLUMN, f'column "{name}" specified in USING clause '
                               "does not exist in right table")
            lidx.append(li)
            ridx.append(ri)
        lw = lscope.width()
        conds_fns_l, conds_fns_r = [], []
        for li, ri in zip(lidx, ridx):
            lt, rt = lscope.columns[li].type, rscope.columns[ri].type
            common = self.compiler.common_type([lt, rt], "JOIN/USING")
            conds_fns_l.append(self.compiler.coerce(Expr(_column_getter(li), lt), common).fn)
            conds_fns_r.append(self.compiler.coerce(Expr(_column_getter(ri), rt), common).fn)
        plan = HashJoin(lplan, rplan, kind, conds_fns_l, conds_fns_r, None, lw, rscope.width(),
                        " AND ".join(f"{n}" for n in using))
        columns = [Col(c.name, c.type, c.table, c.hidden, c.bare and i not in lidx)
                   for i, c in enumerate(lscope.columns)]
        columns += [Col(c.name, c.type, c.table, c.hidden, c.bare and i not in ridx)
                    for i, c in enumerate(rscope.columns)]
        # The merged columns: the left value, the right one for RIGHT JOIN, either for FULL.
        merged = []
        for name, li, ri in zip(using, lidx, ridx):
            lt, rt = lscope.columns[li].type, rscope.columns[ri].type
            t = self.compiler.common_type([lt, rt], "JOIN/USING")
            merged.append((name, t, li, lw + ri))
        base_width = len(columns)
        getters = [_column_getter(i) for i in range(base_width)]
        for name, t, li, ri in merged:
            if kind == "right":
                getters.append(_column_getter(ri))
            elif kind == "full":
                getters.append(_coalesce_getter(li, ri))
            else:
                getters.append(_column_getter(li))
            columns.append(Col(name, t, None, hidden=True, bare=True))
        plan = Project(plan, getters)
        star = [base_width + k for k in range(len(merged))]
        star += [i for i, c in enumerate(lscope.columns) if not c.hidden and i not in lidx]
        star += [lw + i for i, c in enumerate(rscope.columns) if not c.hidden and i not in ridx]
        return plan, Scope(columns, outer, level, star)

    def plan_table_ref(self, ref: A.TableRef, outer, level, with_rowid=False):
        label = ref.alias or ref.name[-1]
        if len(ref.name) == 1:
            cte = self.find_cte(ref.name[0])
            if cte is not None:
                if cte.recursive_key is not None and cte.plan is None:
                    plan = WorkTableScan(cte.name, cte.recursive_key)
                else:
                    plan = CteScan(cte.name, cte.plan, cte.key)
                return plan, self._labelled_scope(cte.columns, ref, label, outer, level)
        from .pgcatalog import system_table
        rel = self.db.find_relation(ref.name, self.session.search_path())
        if rel is None:
            system = system_table(ref.name, self.session)
            if system is not None:
                from .pgcatalog import SYSTEM_OIDS
                columns, produce = system
                plan = MaterializedScan(f"Seq Scan on {ref.name[-1]}", produce)
                scope = self._labelled_scope(columns, ref, label, outer, level)
                for col in scope.columns:
                    col.relid = SYSTEM_OIDS.get(ref.name[-1])
                return plan, scope
            raise SqlError(UNDEFINED_TABLE, f'relation "{".".join(ref.name)}" does not exist',
                           position=ref.pos + 1 if ref.pos >= 0 else None)
        if rel.kind == "v":
            plan, cols = Planner(self.session, self.param_types).plan_query(rel.query, None)
            names = [n for n, _ in rel.columns]
            cols = [(n, t) for n, (_, t) in zip(names, cols)]
            return plan, self._labelled_scope(cols, ref, label, outer, level)
        if rel.kind == "S":
            from .pgcatalog import sequence_row
            cols = [("last_value", T.INT8), ("log_cnt", T.INT8), ("is_called", T.BOOL)]
            plan = MaterializedScan(f"Seq Scan on {rel.name}", lambda ctx, s=rel: [sequence_row(s)])
            return plan, self._labelled_scope(cols, ref, label, outer, level)
        if rel.kind != "r":
            raise SqlError("42809", f'"{rel.name}" is an index')
        cols = [(c.name, c.type) for c in rel.columns]
        scope = self._labelled_scope(cols, ref, label, outer, level)
        for col in scope.columns:
            col.source = rel
            col.relid = rel.oid
        if with_rowid:
            scope.columns.append(Col("ctid", T.TID, label, hidden=True))
        return SeqScan(rel, with_rowid, label), scope

    def _labelled_scope(self, cols, ref, label, outer, level):
        names = [n for n, _ in cols]
        if ref.column_aliases:
            if len(ref.column_aliases) > len(cols):
                raise SqlError(SYNTAX_ERROR, f'table "{label}" has {len(cols)} columns available '
                               f"but {len(ref.column_aliases)} columns specified")
            names[:len(ref.column_aliases)] = ref.column_aliases
        return Scope([Col(n, t, label) for n, (_, t) in zip(names, cols)], outer, level)

    def plan_function_ref(self, item: A.FunctionRef, outer, level, lateral_parent):
        from .setfunctions import plan_set_function
        parent = outer
        lateral = False
        if lateral_parent is not None:
            parent = Scope(lateral_parent.columns, outer, QueryLevel())
            lateral = True
        arg_scope = Scope([], parent)
        produce, columns = plan_set_function(self.compiler, item.func, arg_scope)
        if not arg_scope.level.correlated and lateral:
            lateral = False
        alias = item.alias or item.func.name
        names = [n for n, _ in columns]
        if len(columns) == 1 and not item.column_aliases and item.alias and \
                names[0] == item.func.name:
            names = [item.alias]
        if item.column_aliases:
            names[:len(item.column_aliases)] = item.column_aliases
        types = [t for _, t in columns]
        if item.with_ordinality:
            names.append(item.column_aliases[len(columns)]
                         if len(item.column_aliases) > len(columns) else "ordinality")
            types.append(T.INT8)
        plan = FunctionScan(item.func.name, produce, item.with_ordinality)
        if lateral:
            plan.lateral = True
        return plan, Scope([Col(n, t, alias) for n, t in zip(names, types)], outer, level)

    # -- GROUP BY and aggregates -----------------------------------------------------------

    def plan_aggregate(self, plan, scope, sel, targets, agg_calls, outer, level):
        """The Aggregate operator outputs group keys then aggregate values; the scope
        above it maps the grouped expressions and aggregate calls to those slots."""
        compiler = self.compiler
        def resolve(item):
            node = item
            if isinstance(item, A.Const) and item.kind == "int":
                n = int(item.value)
                if not 1 <= n <= len(targets):
                    raise SqlError(INVALID_COLUMN_REFERENCE,
                                   f"GROUP BY position {n} is not in select list",
                                   position=item.pos + 1)
                node = targets[n - 1].expr
            elif isinstance(item, A.ColumnRef) and len(item.names) == 1 and \
                    scope.lookup(item.names) is None:
                for t in targets:
                    if t.alias == item.names[0]:
                        node = t.expr
                        break
            return node

        key_nodes, sets = _grouping_sets(sel.group_by, resolve)
        key_exprs = [compiler.compile(node, scope) for node in key_nodes]
        # Grouped plain columns, by their position in the input row; a table's primary
        # key among them makes its other columns grouped too (functional dependency).
        column_keys = {}
        for i, node in enumerate(key_nodes):
            index = scope.lookup(node.names) if isinstance(node, A.ColumnRef) else None
            if index is not None:
                column_keys.setdefault(index, i)
        dependents = self._dependent_columns(scope, column_keys) if sets is None else []
        key_fns = [e.fn for e in key_exprs] + [_column_getter(i) for i in dependents]
        factories, agg_types = [], []
        for call in agg_calls:
            factory, rtype = self.aggregate_factory(call, scope)
            factories.append(factory)
            agg_types.append(rtype)
        plan = Aggregate(plan, key_fns, factories, bool(sel.group_by), sets)

        post = Scope([], outer, level)
        post.grouped = True
        post.group_source = scope
        key_types = [e.type for e in key_exprs] + [scope.columns[i].type for i in dependents]
        for i, (node, e) in enumerate(zip(key_nodes, key_exprs)):
            post.replacements.setdefault(node_key(node), (i, e.type))
        post.column_slots = {index: (slot, key_types[slot]) for index, slot in column_keys.items()}
        for k, index in enumerate(dependents):
            slot = len(key_exprs) + k
            post.column_slots[index] = (slot, key_types[slot])
        base = len(key_types)
        for j, (call, t) in enumerate(zip(agg_calls, agg_types)):
            post.replacements[id(call)] = (base + j, t)
        post.columns = [Col(f"?key{i}", t) for i, t in enumerate(key_types)] + \
            [Col(f"?agg{j}", t) for j, t in enumerate(agg_types)]
        if sets is not None:
            post.grouping = (sets, len(post.columns))
            post.columns.append(Col("?set", T.INT4))
        return plan, post

    def _dependent_columns(self, scope, column_keys) -> list[int]:
        out = []
        for index in column_keys:
            col = scope.columns[index]
            table = col.source
            if table is None or table.primary_key is None or \
                    table.primary_key.columns != [col.name]:
                continue
            for i, other in enumerate(scope.columns):
                if other.source is table and other.table == col.table and \
                        i not in column_keys and i not in out and other.name != "ctid":
                    out.append(i)
        return out

    def aggregate_factory(self, call: A.FuncCall, scope):
        compiler = self.compiler
        name = call.name
        if call.star:
            args = []
        else:
            args = [compiler.compile(a, scope) for a in call.args]
        resolved = F.resolve_aggregate(name, [a.type for a in args])
        agg, targets, rtype = resolved
        args = [compiler.coerce(a, t) for a, t in zip(args, targets)]
        arg_fns = [a.fn for a in args]
        cls = agg.factory
        filter_fn = compiler.to_bool(compiler.compile(call.filter, scope), "FILTER").fn \
            if call.filter is not None else None
        order_keys = []
        for item in call.order_by:
            e = compiler.compile(item.expr, scope)
            order_keys.append(_sort_key(e.fn, item))
        distinct = call.distinct
        arg_types = targets

        if not order_keys and not distinct and filter_fn is None:
            if len(arg_fns) == 1:
                only = arg_fns[0]

                class Acc:
                    __slots__ = ("inner",)

                    def __init__(self):
                        self.inner = cls(arg_types)

                    def add(self, row, ctx):
                        self.inner.add(only(row, ctx))

                    def result(self, ctx):
                        return self.inner.result()
            else:
                class Acc:
                    __slots__ = ("inner",)

                    def __init__(self):
                        self.inner = cls(arg_types)

                    def add(self, row, ctx):
                        self.inner.add(*[f(row, ctx) for f in arg_fns])

                    def result(self, ctx):
                        return self.inner.result()
            return Acc, rtype

        class BufferedAcc:
            """FILTER, DISTINCT and ORDER BY inside an aggregate: collect, then feed."""
            __slots__ = ("rows",)

            def __init__(self):
                self.rows = []

            def add(self, row, ctx):
                if filter_fn is not None and filter_fn(row, ctx) is not True:
                    return
                self.rows.append(row)

            def result(self, ctx):
                rows = self.rows
                if order_keys:
                    rows = list(Sort(_Rows(rows), order_keys).rows(ctx))
                inner = cls(arg_types)
                seen = set()
                for row in rows:
                    values = tuple(f(row, ctx) for f in arg_fns)
                    if distinct:
                        if values in seen:
                            continue
                        seen.add(values)
                    inner.add(*values)
                return inner.result()
        return BufferedAcc, rtype

    # -- window functions ------------------------------------------------------------------

    def plan_window(self, plan, scope, calls, named_windows):
        from .windows import compile_window
        funcs = []
        types = []
        for call in calls:
            spec = call.over
            if spec.name is not None and not spec.partition_by and not spec.order_by \
                    and spec.frame is None:
                if spec.name not in named_windows:
                    raise SqlError("42704",
                                   f'window "{spec.name}" does not exist', position=call.pos + 1)
                spec = named_windows[spec.name]
            elif spec.name is not None:
                base = named_windows.get(spec.name)
                if base is None:
                    raise SqlError("42704", f'window "{spec.name}" does not exist')
                spec = A.WindowSpec(None, base.partition_by, spec.order_by or base.order_by,
                                    spec.frame or base.frame)
            func, rtype = compile_window(self, call, spec, scope)
            funcs.append(func)
            types.append(rtype)
        width = scope.width()
        new_scope = Scope(scope.columns + [Col(f"?win{i}", t) for i, t in enumerate(types)],
                          scope.parent, scope.level, scope.star_order)
        new_scope.replacements = dict(scope.replacements)
        new_scope.grouped = scope.grouped
        new_scope.group_source = scope.group_source
        new_scope.column_slots = scope.column_slots
        new_scope.grouping = scope.grouping
        for i, (call, t) in enumerate(zip(calls, types)):
            new_scope.replacements[id(call)] = (width + i, t)
        return Window(plan, funcs), new_scope


def _set_functions_to_from(sel: A.Select) -> A.Select:
    """SELECT srf(...) [FROM ...]: set-returning functions in the select list become one
    LATERAL item in FROM that runs them side by side (the shorter ones padded with NULLs,
    as PostgreSQL's ProjectSet does); each target then reads its column."""
    from .setfunctions import SET_FUNCTIONS, ZIP
    calls = [t.expr for t in sel.targets if isinstance(t.expr, A.FuncCall)
             and t.expr.name in SET_FUNCTIONS and t.expr.over is None]
    if not calls:
        return sel
    alias = "?srf"
    names = [f"?{i}" for i in range(len(calls))]
    item = A.FunctionRef(A.FuncCall(ZIP, calls), alias, names, lateral=True)
    targets = []
    for t in sel.targets:
        if any(t.expr is c for c in calls):
            i = next(i for i, c in enumerate(calls) if c is t.expr)
            targets.append(A.Target(A.ColumnRef([alias, names[i]], t.pos), t.alias or t.expr.name,
                                    t.pos))
        else:
            targets.append(t)
    return A.Select(targets, list(sel.from_) + [item], sel.where, sel.group_by, sel.having,
                    sel.distinct, sel.distinct_on, sel.windows, sel.into, sel.pos)


class _Rows:
    def __init__(self, rows):
        self.list_rows = rows

    def rows(self, ctx):
        return iter(self.list_rows)


class _PositionRef(A.Node):
    """A select-list entry made by expanding *: a column by position (it may have no name
    a user could write, like the merged column of JOIN ... USING)."""

    __dataclass_fields__ = {"index": None}

    def __init__(self, index: int, col: Col):
        self.index = index
        self.col = col
        self.pos = -1


def _c_position_ref(self, node: _PositionRef, scope):
    index = node.index
    return Expr(_column_getter(index), node.col.type, name=node.col.name)


Compiler.c__PositionRef = _c_position_ref


def _grouping_sets(items, resolve):
    """GROUP BY items -> (distinct key expressions, grouping sets as lists of their
    positions, or None without ROLLUP/CUBE/GROUPING SETS). Several items combine as
    PostgreSQL does: the cross product of their sets."""
    from itertools import combinations
    if not any(isinstance(item, A.GroupingSets) for item in items):
        return [resolve(item) for item in items], None
    combined = [[]]
    for item in items:
        if not isinstance(item, A.GroupingSets):
            options = [[resolve(item)]]
        else:
            elements = [[resolve(n) for n in element] for element in item.sets]
            if item.kind == "rollup":
                options = [sum(elements[:k], []) for k in range(len(elements), -1, -1)]
            elif item.kind == "cube":
                options = [sum(chosen, []) for k in range(len(elements), -1, -1)
                           for chosen in combinations(elements, k)]
            else:
                options = elements
        combined = [base + option for base in combined for option in options]
    nodes, keys = [], []
    positions = []
    for group in combined:
        chosen = []
        for node in group:
            key = node_key(node)
            if key not in keys:
                keys.append(key)
                nodes.append(node)
            chosen.append(keys.index(key))
        positions.append(sorted(set(chosen)))
    return nodes, positions


def _integer_key(fn, column_type):
    low, high, _ = T.INTEGER_TYPES[column_type.oid]

    def key(row, ctx):
        v = fn(row, ctx)
        return v if v is not None and low <= v <= high else None
    return key


def _column_getter(index):
    return lambda row, ctx: row[index]


def _coalesce_getter(a, b):
    def get(row, ctx):
        v = row[a]
        return v if v is not None else row[b]
    return get


def _sort_key(fn, item: A.SortItem):
    nulls_first = item.nulls_first if item.nulls_first is not None else item.descending
    return (fn, item.descending, nulls_first)


def _combine_star(left: Scope, right: Scope):
    if left.star_order is None and right.star_order is None:
        return None
    lw = left.width()
    return left.star_columns() + [lw + i for i in right.star_columns()]


def _split_and(node) -> list:
    if node is None:
        return []
    if isinstance(node, A.BinaryOp) and node.op == "AND":
        return _split_and(node.left) + _split_and(node.right)
    return [node]


def _walk(node):
    if isinstance(node, A.Node):
        yield node
        for name in node.__dataclass_fields__:
            value = getattr(node, name, None)
            if isinstance(value, (A.Node, list, tuple)):
                yield from _walk(value)
    elif isinstance(node, (list, tuple)):
        for n in node:
            yield from _walk(n)


def _contains(node, kinds) -> bool:
    return any(isinstance(n, kinds) for n in _walk(node))


def _column_refs(node) -> list[A.ColumnRef]:
    return [n for n in _walk(node) if isinstance(n, A.ColumnRef)]


def _has_lateral(item) -> bool:
    return isinstance(item, (A.SubqueryRef, A.FunctionRef)) and (
        getattr(item, "lateral", False) or isinstance(item, A.FunctionRef))


def _collect_aggregates(node, out: list) -> None:
    """Aggregate calls in an expression, not looking inside subqueries."""
    if isinstance(node, A.FuncCall):
        if node.over is None and F.is_aggregate(node.name):
            out.append(node)
            for a in node.args:
                inner = []
                _collect_aggregates(a, inner)
                if inner:
                    raise SqlError(GROUPING_ERROR, "aggregate function calls cannot be nested",
                                   position=inner[0].pos + 1)
            return
        for a in node.args:
            _collect_aggregates(a, out)
        if node.over is not None:
            for p in node.over.partition_by:
                _collect_aggregates(p, out)
            for s in node.over.order_by:
                _collect_aggregates(s.expr, out)
        return
    if isinstance(node, (A.SubqueryExpr, A.Exists, A.ArraySubquery, A.Query, A.Select)):
        return
    if isinstance(node, A.InSubquery):
        _collect_aggregates(node.operand, out)
        return
    if isinstance(node, A.AnyAll) and node.is_subquery:
        _collect_aggregates(node.left, out)
        return
    if isinstance(node, A.Node):
        for name in node.__dataclass_fields__:
            value = getattr(node, name, None)
            if isinstance(value, (A.Node, list, tuple)):
                _collect_aggregates(value, out)
    elif isinstance(node, (list, tuple)):
        for n in node:
            _collect_aggregates(n, out)


def _has_window(node) -> bool:
    found = []
    _collect_windows(node, found)
    return bool(found)


def _ordered_by(plan, wanted) -> bool:
    """Does `plan` (a Project over filters over a table scan) already yield its rows in
    the `wanted` order?"""
    if not wanted:
        return False
    while isinstance(plan, (Project, Filter, LockRows)):
        plan = plan.child
    order = getattr(plan, "order", None)
    return bool(order) and satisfies(order, wanted)


def _has_aggregate(node) -> bool:
    found = []
    _collect_aggregates(node, found)
    return bool(found)


def _collect_windows(node, out: list) -> None:
    if isinstance(node, A.FuncCall) and node.over is not None:
        for a in node.args:
            inner = []
            _collect_windows(a, inner)
            if inner:
                raise SqlError(WINDOWING_ERROR, "window function calls cannot be nested",
                               position=inner[0].pos + 1)
        out.append(node)
        return
    if isinstance(node, (A.SubqueryExpr, A.Exists, A.ArraySubquery, A.Query, A.Select,
                         A.InSubquery)):
        return
    if isinstance(node, A.Node):
        for name in node.__dataclass_fields__:
            value = getattr(node, name, None)
            if isinstance(value, (A.Node, list, tuple)):
                _collect_windows(value, out)
    elif isinstance(node, (list, tuple)):
        for n in node:
            _collect_windows(n, out)


class _FromEntry:
    """One FROM item as planned with its own conditions: the plan, its scope, the bare
    table scan if it is a plain table (for index nested loops), those conditions, and
    its estimated rows."""

    __slots__ = ("plan", "scope", "base", "mine", "rows")

    def __init__(self, plan, scope, base, mine):
        self.plan = plan
        self.scope = scope
        self.base = base
        self.mine = mine
        self.rows = _rows(plan)


def _rows(plan) -> float:
    rows = getattr(plan, "est_rows", None)
    return float(rows) if rows is not None else float(UNKNOWN_ROWS)


def _encoded(fn, blank_padded: bool = False):
    """A value as an index key: equal keys for values SQL calls equal (NULL: None)."""
    def key(row, ctx):
        value = fn(row, ctx)
        if value is None:
            return None
        return encode_key((value.rstrip(" ") if blank_padded else value,))
    return key


def _describe(conjuncts) -> str:
    from .sql.unparse import unparse
    try:
        texts = [unparse(c) for c in conjuncts]
        if len(texts) == 1:
            return texts[0] if texts[0].startswith("(") else "(" + texts[0] + ")"
        return "(" + " AND ".join(texts) + ")"
    except Exception:
        return "..."


def _pos(node):
    p = getattr(node, "pos", -1)
    return p + 1 if p is not None and p >= 0 else None

