"""The executor: plan operators that run as iterators over rows (tuples).

Each operator has `rows(ctx)`, a generator of output rows, and `explain()`, the line
EXPLAIN prints for it. Expressions inside operators are closures `fn(row, ctx)` made by
the planner. `ExecContext` carries what a running statement needs: parameter values,
the stack of outer rows for correlated subqueries, the transaction and storage, caches
of uncorrelated subquery results, and the cancellation check.

Long loops call `ctx.check()` every few hundred rows, so a cancel request or a
statement timeout interrupts them (the session runs in its own thread; the check only
reads a flag).
"""

from __future__ import annotations

import time
from typing import Callable, Iterator

from .blocking import before_blocking
from .errors import QUERY_CANCELED, QUERY_CANCELED_MESSAGE, SqlError

CHECK_EVERY = 256
LONG_STATEMENT = 0.002      # seconds: past this, a statement is run as a long one


class ExecContext:
    def __init__(self, session, txn, storage, params=()):
        self.session = session
        self.txn = txn
        self.storage = storage
        self.params = params
        self.outer: list[tuple] = []
        self.cache: dict = {}
        self.work_tables: dict = {}
        self.deadline = session.statement_deadline() if session is not None else None
        self.started = time.monotonic()
        self.statement_time = session.statement_time if session is not None else None

    def check(self) -> None:
        now = time.monotonic()
        if now - self.started > LONG_STATEMENT:
            before_blocking()           # a long statement: the others carry on meanwhile
        session = self.session
        if session is None:
            return
        if session.cancel_requested:
            session.cancel_requested = False
            raise SqlError(QUERY_CANCELED, QUERY_CANCELED_MESSAGE)
        if self.deadline is not None and now > self.deadline:
            raise SqlError(QUERY_CANCELED, "canceling statement due to statement timeout")


class Actual:
    """What EXPLAIN ANALYZE measured at one operator: how often it was run (loops), the
    rows it gave, and the seconds until its first row and until its last, summed over
    the loops (time in its children included, as PostgreSQL counts it)."""

    __slots__ = ("loops", "rows", "startup", "total")

    def __init__(self):
        self.loops = self.rows = 0
        self.startup = self.total = 0.0

    def text(self) -> str:
        loops = max(self.loops, 1)
        return (f" (actual time={self.startup * 1000 / loops:.3f}.."
                f"{self.total * 1000 / loops:.3f} rows={round(self.rows / loops)} "
                f"loops={self.loops})")


def instrument(plan: "Operator") -> None:
    """Measure every operator of a plan as it runs (EXPLAIN ANALYZE): each one's `rows`
    is replaced, on that instance only, by a wrapper that times and counts."""
    for child in plan.children:
        instrument(child)
    actual = plan.actual = Actual()
    produce = plan.rows
    clock = time.perf_counter

    def measured_rows(ctx):
        actual.loops += 1
        spent = 0.0              # this loop's time inside the operator so far
        began = clock()
        rows = iter(produce(ctx))        # some operators do their work right here
        first = True
        while True:
            try:
                row = next(rows)
            except StopIteration:
                spent += clock() - began
                actual.total += spent
                if first:
                    actual.startup += spent
                return
            spent += clock() - began
            if first:
                actual.startup += spent
                first = False
            actual.rows += 1
            yield row
            began = clock()
    plan.rows = measured_rows


class Operator:
    children: tuple = ()
    actual: Actual | None = None     # set by instrument()
    # True for the right side of a LATERAL join: it reads the left row, so the join
    # re-runs it for every left row.
    lateral = False

    def rows(self, ctx: ExecContext) -> Iterator[tuple]:
        raise NotImplementedError

    def explain(self) -> str:
        return type(self).__name__

    def explain_lines(self, depth: int = 0) -> list[str]:
        """EXPLAIN's layout, as PostgreSQL's: children under '->' six columns further in,
        details of a node two columns right of its arrow's text."""
        lines = [self.headline(depth)]
        lines += [detail_prefix(depth) + detail for detail in self.explain_details()]
        for child in self.children:
            lines.extend(child.explain_lines(depth + 1))
        return lines

    def headline(self, depth: int, actual: Actual | None = None) -> str:
        """The operator's own line, with EXPLAIN ANALYZE's measurements (its own, or
        those of a node shown on this line, such as a Filter above it)."""
        actual = actual or self.actual
        return node_prefix(depth) + self.explain() + (actual.text() if actual else "")

    def explain_details(self) -> list[str]:
        return []


def _unmatched_right(rights, matched, left_width):
    """RIGHT and FULL joins: the right rows no left row matched, with NULLs on the left."""
    left_nulls = (None,) * left_width
    for rrow, was_matched in zip(rights, matched):
        if not was_matched:
            yield left_nulls + rrow


def node_prefix(depth: int) -> str:
    return "" if depth == 0 else " " * (2 + 6 * (depth - 1)) + "->  "


def detail_prefix(depth: int) -> str:
    return "  " if depth == 0 else " " * (2 + 6 * depth)


class Result(Operator):
    """One row with no columns: the input of SELECT without FROM."""

    def rows(self, ctx):
        yield ()

    def explain(self):
        return "Result"


class SeqScan(Operator):
    def __init__(self, table, with_rowid: bool = False, label: str | None = None):
        self.table = table
        self.with_rowid = with_rowid
        self.label = label

    def rows(self, ctx):
        storage = ctx.storage
        count = 0
        if self.with_rowid:
            for rowid, row in storage.scan(ctx.txn, self.table.oid):
                count += 1
                if count % CHECK_EVERY == 0:
                    ctx.check()
                yield row + (rowid,)
        else:
            for _, row in storage.scan(ctx.txn, self.table.oid):
                count += 1
                if count % CHECK_EVERY == 0:
                    ctx.check()
                yield row

    def explain(self):
        alias = f" {self.label}" if self.label and self.label != self.table.name else ""
        return f"Seq Scan on {self.table.name}{alias}"


class IndexScan(Operator):
    """Rows found through an index: those whose leading index columns equal the key
    (computed from constants, parameters or enclosing queries' columns)."""

    def __init__(self, table, index, key_fns: list[Callable], with_rowid: bool = False,
                 label: str | None = None, condition: str = ""):
        self.table = table
        self.index = index
        self.key_fns = key_fns
        self.with_rowid = with_rowid
        self.label = label
        self.condition = condition

    def rows(self, ctx):
        key = tuple([fn(None, ctx) for fn in self.key_fns])
        found = ctx.storage.index_rows(ctx.txn, self.index.oid, key)
        if self.with_rowid:
            for rowid, row in found:
                yield row + (rowid,)
        else:
            for _, row in found:
                yield row

    def explain(self):
        alias = f" {self.label}" if self.label and self.label != self.table.name else ""
        return f"Index Scan using {self.index.name} on {self.table.name}{alias}"

    def explain_details(self):
        return [f"Index Cond: {self.condition}"] if self.condition else []


class IndexRangeScan(Operator):
    """Rows through an index, in index order (or reversed): the leading columns equal
    to `prefix_fns`' values, the next one between two bounds (`low`/`high`: a value
    function and whether the bound is inclusive; None for open). An ORDER BY that the
    index order satisfies needs no Sort above this scan.

    `clamp`: for an integer column, its range; a bound outside it opens or empties the
    range (the key encoding holds only the column's own values)."""

    def __init__(self, table, index, prefix_fns, low, high, reverse: bool,
                 with_rowid: bool = False, label: str | None = None, condition: str = "",
                 clamp: tuple | None = None):
        self.table = table
        self.index = index
        self.prefix_fns = prefix_fns
        self.low = low
        self.high = high
        self.reverse = reverse
        self.with_rowid = with_rowid
        self.label = label
        self.condition = condition
        self.clamp = clamp

    def _bounds(self, ctx):
        low = high = None
        low_inclusive = high_inclusive = True
        if self.low is not None:
            low, low_inclusive = self.low[0](None, ctx), self.low[1]
            if low is None:
                return None
        if self.high is not None:
            high, high_inclusive = self.high[0](None, ctx), self.high[1]
            if high is None:
                return None
        if self.clamp is not None:
            smallest, largest = self.clamp
            if low is not None:
                if low > largest:
                    return None
                if low < smallest:
                    low, low_inclusive = None, True
            if high is not None:
                if high < smallest:
                    return None
                if high > largest:
                    high, high_inclusive = None, True
        return low, low_inclusive, high, high_inclusive

    def rows(self, ctx):
        prefix = tuple([fn(None, ctx) for fn in self.prefix_fns])
        bounds = self._bounds(ctx)
        if bounds is None:
            return
        low, low_inclusive, high, high_inclusive = bounds
        found = ctx.storage.index_scan(ctx.txn, self.index.oid, prefix, low, low_inclusive,
                                       high, high_inclusive, self.reverse)
        count = 0
        with_rowid = self.with_rowid
        for rowid, row in found:
            count += 1
            if count % CHECK_EVERY == 0:
                ctx.check()
            yield row + (rowid,) if with_rowid else row

    def explain(self):
        alias = f" {self.label}" if self.label and self.label != self.table.name else ""
        way = " Backward" if self.reverse else ""
        return f"Index Scan{way} using {self.index.name} on {self.table.name}{alias}"

    def explain_details(self):
        return [f"Index Cond: {self.condition}"] if self.condition else []


class LockRows(Operator):
    """SELECT ... FOR UPDATE: locks each row of a table as it passes (its rows end with
    their row id). A row changed by a transaction that committed meanwhile is locked in
    its newest version if that still satisfies the query's conditions on the table, as
    PostgreSQL does; a deleted one drops out. Under SKIP LOCKED a held row is passed
    over; under NOWAIT it is an error."""

    def __init__(self, child, table, recheck: Callable | None, wait: str):
        self.child = child
        self.table = table
        self.width = len(table.columns)
        self.recheck = recheck
        self.wait = wait
        self.children = (child,)

    def rows(self, ctx):
        from .storage import RowChanged, RowLocked
        storage, table, width = ctx.storage, self.table, self.width
        for row in self.child.rows(ctx):
            while row is not None:
                try:
                    if not storage.lock_row(ctx.txn, table.oid, row[width], self.wait):
                        row = None
                    break
                except RowChanged as changed:
                    row = None if changed.row is None else changed.row + (changed.rowid,)
                    if row is not None and self.recheck is not None and \
                            self.recheck(row, ctx) is not True:
                        row = None
                except RowLocked:
                    raise SqlError("55P03", f'could not obtain lock on row in relation '
                                   f'"{table.name}"') from None
            if row is not None:
                yield row

    def explain(self):
        return "LockRows"


class ValuesScan(Operator):
    def __init__(self, rows: list[list[Callable]]):
        self.value_rows = rows

    def rows(self, ctx):
        for fns in self.value_rows:
            yield tuple(fn((), ctx) for fn in fns)

    def explain(self):
        return "Values Scan"


class FunctionScan(Operator):
    """A set-returning function in FROM: generate_series, unnest, json_each, ..."""

    def __init__(self, name: str, produce: Callable, ordinality: bool = False):
        self.name = name
        self.produce = produce
        self.ordinality = ordinality

    def rows(self, ctx):
        if self.ordinality:
            for i, row in enumerate(self.produce(ctx), 1):
                yield row + (i,)
        else:
            yield from self.produce(ctx)

    def explain(self):
        return f"Function Scan on {self.name}"


class MaterializedScan(Operator):
    """Rows computed by a function of the context (system catalogs, CTE buffers)."""

    def __init__(self, label: str, produce: Callable):
        self.label = label
        self.produce = produce

    def rows(self, ctx):
        yield from self.produce(ctx)

    def explain(self):
        return self.label


class CteScan(Operator):
    """Reads a WITH query, computed once per statement and shared by every reference."""

    def __init__(self, name: str, plan: Operator, key: object):
        self.name = name
        self.plan = plan
        self.key = key
        self.children = (plan,)

    def rows(self, ctx):
        buffer = ctx.cache.get(self.key)
        if buffer is None:
            buffer = list(self.plan.rows(ctx))
            ctx.cache[self.key] = buffer
        return iter(buffer)

    def explain(self):
        return f"CTE Scan on {self.name}"


class DataModification(Operator):
    """A data-modifying statement inside WITH: runs it and yields its RETURNING rows."""

    def __init__(self, label: str, statement):
        self.label = label
        self.statement = statement          # an InsertPlan/UpdatePlan/DeletePlan

    def rows(self, ctx):
        yield from self.statement.execute(ctx).rows

    def explain(self):
        return self.label


class RunFirst(Operator):
    """Runs the data-modifying WITH queries of a statement (once each, even when nothing
    reads them), then its main query."""

    def __init__(self, modifications: list[tuple[Operator, object]], main):
        self.modifications = modifications
        self.main = main
        self.children = tuple(m for m, _ in modifications) + (main,)

    def rows(self, ctx):
        run_modifications(self.modifications, ctx)
        yield from self.main.rows(ctx)

    def explain_lines(self, depth=0):
        return self.main.explain_lines(depth)


def run_modifications(modifications, ctx) -> None:
    for plan, key in modifications:
        if key not in ctx.cache:
            ctx.cache[key] = list(plan.rows(ctx))


class WorkTableScan(Operator):
    """The recursive reference inside WITH RECURSIVE: the previous iteration's rows."""

    def __init__(self, name: str, key: object):
        self.name = name
        self.key = key

    def rows(self, ctx):
        return iter(ctx.work_tables.get(self.key, ()))

    def explain(self):
        return f"WorkTable Scan on {self.name}"


class RecursiveUnion(Operator):
    def __init__(self, base: Operator, recursive: Operator, key: object, distinct: bool):
        self.base = base
        self.recursive = recursive
        self.key = key
        self.distinct = distinct
        self.children = (base, recursive)

    def rows(self, ctx):
        seen = set()
        work = []
        for row in self.base.rows(ctx):
            if self.distinct:
                if row in seen:
                    continue
                seen.add(row)
            work.append(row)
            yield row
        iterations = 0
        while work:
            iterations += 1
            ctx.check()
            ctx.work_tables[self.key] = work
            new = []
            for row in self.recursive.rows(ctx):
                if self.distinct:
                    if row in seen:
                        continue
                    seen.add(row)
                new.append(row)
                yield row
            work = new
        ctx.work_tables.pop(self.key, None)

    def explain(self):
        return "Recursive Union"


class Filter(Operator):
    def __init__(self, child: Operator, predicate: Callable, text: str = ""):
        self.child = child
        self.predicate = predicate
        self.text = text
        self.children = (child,)

    def rows(self, ctx):
        pred = self.predicate
        for row in self.child.rows(ctx):
            if pred(row, ctx) is True:
                yield row

    def explain_lines(self, depth=0):
        # A filter shows as a detail of the operator it sits on, after that operator's
        # own details (an index scan's Index Cond), as in PostgreSQL. One that only
        # rechecks an index scan's conditions has no text and does not show.
        lines = self.child.explain_lines(depth)
        at = 1 + len(self.child.explain_details())
        if self.text:
            lines.insert(at, detail_prefix(depth) + f"Filter: {self.text}")
            at += 1
        if self.actual is not None and self.child.actual is not None:
            lines[0] = self.child.headline(depth, self.actual)
            removed = self.child.actual.rows - self.actual.rows
            lines.insert(at, detail_prefix(depth) + f"Rows Removed by Filter: {removed}")
        return lines


class Project(Operator):
    def __init__(self, child: Operator, exprs: list[Callable]):
        self.child = child
        self.exprs = exprs
        self.children = (child,)

    def rows(self, ctx):
        exprs = self.exprs
        if len(exprs) == 1:
            only = exprs[0]
            for row in self.child.rows(ctx):
                yield (only(row, ctx),)
        else:
            for row in self.child.rows(ctx):
                yield tuple([fn(row, ctx) for fn in exprs])

    def explain_lines(self, depth=0):
        return self.child.explain_lines(depth)


class NestedLoopJoin(Operator):
    """Joins by trying every pair; the right side is materialized once (unless lateral,
    when it is re-run for each left row with that row as its outer context)."""

    def __init__(self, left, right, kind: str, condition: Callable | None,
                 right_width: int, left_width: int, lateral: bool = False):
        self.left = left
        self.right = right
        self.kind = kind
        self.condition = condition
        self.right_width = right_width
        self.left_width = left_width
        self.lateral = lateral
        self.children = (left, right)

    def rows(self, ctx):
        cond = self.condition
        kind = self.kind
        right_nulls = (None,) * self.right_width
        if self.lateral:
            for lrow in self.left.rows(ctx):
                ctx.outer.append(lrow)
                try:
                    rights = list(self.right.rows(ctx))
                finally:
                    ctx.outer.pop()
                matched = False
                for rrow in rights:
                    row = lrow + rrow
                    if cond is None or cond(row, ctx) is True:
                        matched = True
                        yield row
                if not matched and kind == "left":
                    yield lrow + right_nulls
            return
        rights = list(self.right.rows(ctx))
        right_matched = [False] * len(rights) if kind in ("right", "full") else None
        count = 0
        for lrow in self.left.rows(ctx):
            matched = False
            for i, rrow in enumerate(rights):
                count += 1
                if count % 4096 == 0:
                    ctx.check()
                row = lrow + rrow
                if cond is None or cond(row, ctx) is True:
                    matched = True
                    if right_matched is not None:
                        right_matched[i] = True
                    yield row
            if not matched and kind in ("left", "full"):
                yield lrow + right_nulls
        if right_matched is not None:
            yield from _unmatched_right(rights, right_matched, self.left_width)

    def explain(self):
        kind = {"inner": "", "cross": "", "left": " Left Join", "right": " Right Join",
                "full": " Full Join"}[self.kind]
        return "Nested Loop" + kind


class IndexNestedLoopJoin(Operator):
    """For each left row, the matching right rows looked up through an index of the right
    table, keyed by values from the left row: the join for a few left rows against a
    large indexed table. `right_filter` is the right table's own condition, `residual`
    the rest of the join condition."""

    def __init__(self, left, table, index, key_fns, right_filter, residual, kind: str,
                 right_width: int, label: str | None, condition: str, filter_text: str):
        self.left = left
        self.table = table
        self.index = index
        self.key_fns = key_fns
        self.right_filter = right_filter
        self.residual = residual
        self.kind = kind
        self.right_width = right_width
        self.label = label
        self.condition = condition
        self.filter_text = filter_text
        self.children = (left,)

    def rows(self, ctx):
        storage, txn, oid = ctx.storage, ctx.txn, self.index.oid
        key_fns, right_filter, residual = self.key_fns, self.right_filter, self.residual
        nulls = (None,) * self.right_width
        left_join = self.kind == "left"
        count = 0
        for lrow in self.left.rows(ctx):
            count += 1
            if count % CHECK_EVERY == 0:
                ctx.check()
            key = tuple([fn(lrow, ctx) for fn in key_fns])
            matched = False
            if None not in key:
                for _, rrow in storage.index_rows(txn, oid, key):
                    if right_filter is not None and right_filter(rrow, ctx) is not True:
                        continue
                    row = lrow + rrow
                    if residual is not None and residual(row, ctx) is not True:
                        continue
                    matched = True
                    yield row
            if not matched and left_join:
                yield lrow + nulls

    def explain(self):
        return "Nested Loop" + (" Left Join" if self.kind == "left" else "")

    def explain_lines(self, depth=0):
        lines = [self.headline(depth)]
        lines += self.left.explain_lines(depth + 1)
        alias = f" {self.label}" if self.label and self.label != self.table.name else ""
        lines.append(node_prefix(depth + 1) +
                     f"Index Scan using {self.index.name} on {self.table.name}{alias}")
        lines.append(detail_prefix(depth + 1) + f"Index Cond: {self.condition}")
        if self.filter_text:
            lines.append(detail_prefix(depth + 1) + f"Filter: {self.filter_text}")
        return lines


class MergeJoin(Operator):
    """Equi-join by sorting both inputs on the join key and walking them together. Keys
    are compared as index keys are (keycodec.py), which gives floats, char(n) and the
    like their SQL equality: NaN equals NaN, -0 equals 0, trailing blanks of char(n)
    do not count. Inner, left, right and full joins."""

    def __init__(self, left, right, kind: str, left_keys, right_keys, residual,
                 left_width: int, right_width: int, text: str = ""):
        self.left = left
        self.right = right
        self.kind = kind
        self.left_keys = left_keys          # functions of a row -> comparable bytes or None
        self.right_keys = right_keys
        self.residual = residual
        self.left_width = left_width
        self.right_width = right_width
        self.text = text
        self.children = (left, right)

    @staticmethod
    def _sorted(plan, keys, ctx):
        keyed = []
        for row in plan.rows(ctx):
            parts = [fn(row, ctx) for fn in keys]
            keyed.append((None if None in parts else b"".join(parts), row))
        ctx.check()
        keyed.sort(key=lambda pair: (pair[0] is None, pair[0] or b""))
        return keyed

    def rows(self, ctx):
        left = self._sorted(self.left, self.left_keys, ctx)
        right = self._sorted(self.right, self.right_keys, ctx)
        kind, residual = self.kind, self.residual
        left_nulls, right_nulls = (None,) * self.left_width, (None,) * self.right_width
        right_matched = [False] * len(right)
        i = j = 0
        while i < len(left):
            key, lrow = left[i]
            if key is None:
                break                        # NULL keys sort last and match nothing
            while j < len(right) and right[j][0] is not None and right[j][0] < key:
                j += 1
            end = j
            while end < len(right) and right[end][0] == key:
                end += 1
            start = i
            while i < len(left) and left[i][0] == key:
                i += 1
            for _, lrow in left[start:i]:
                matched = False
                for k in range(j, end):
                    row = lrow + right[k][1]
                    if residual is None or residual(row, ctx) is True:
                        matched = True
                        right_matched[k] = True
                        yield row
                if not matched and kind in ("left", "full"):
                    yield lrow + right_nulls
            j = end
        if kind in ("left", "full"):
            for _, lrow in left[i:]:
                yield lrow + right_nulls
        if kind in ("right", "full"):
            for k, (_, rrow) in enumerate(right):
                if not right_matched[k]:
                    yield left_nulls + rrow

    def explain(self):
        return {"left": "Merge Left Join", "right": "Merge Right Join",
                "full": "Merge Full Join"}.get(self.kind, "Merge Join")

    def explain_details(self):
        return [f"Merge Cond: {self.text}"] if self.text else []


class HashJoin(Operator):
    """Equi-join: builds a hash table on the right input's keys, probes with the left
    (an inner join whose left input is the smaller builds on the left instead)."""

    def __init__(self, left, right, kind: str, left_keys: list[Callable],
                 right_keys: list[Callable], residual: Callable | None,
                 left_width: int, right_width: int, text: str = "",
                 build_left: bool = False):
        self.left = left
        self.right = right
        self.kind = kind
        self.left_keys = left_keys
        self.right_keys = right_keys
        self.residual = residual
        self.left_width = left_width
        self.right_width = right_width
        self.text = text
        self.build_left = build_left and kind == "inner"
        self.children = (left, right)

    def _build_left_rows(self, ctx):
        table: dict = {}
        lkeys, rkeys, residual = self.left_keys, self.right_keys, self.residual
        single = len(lkeys) == 1
        for lrow in self.left.rows(ctx):
            key = lkeys[0](lrow, ctx) if single else tuple(fn(lrow, ctx) for fn in lkeys)
            if key is None or (not single and None in key):
                continue
            table.setdefault(key, []).append(lrow)
        count = 0
        for rrow in self.right.rows(ctx):
            count += 1
            if count % CHECK_EVERY == 0:
                ctx.check()
            key = rkeys[0](rrow, ctx) if single else tuple(fn(rrow, ctx) for fn in rkeys)
            for lrow in table.get(key, ()) if key is not None else ():
                row = lrow + rrow
                if residual is None or residual(row, ctx) is True:
                    yield row

    def rows(self, ctx):
        if self.build_left:
            yield from self._build_left_rows(ctx)
            return
        table: dict = {}
        rights = []
        rkeys = self.right_keys
        single = len(rkeys) == 1
        for i, rrow in enumerate(self.right.rows(ctx)):
            rights.append(rrow)
            key = rkeys[0](rrow, ctx) if single else tuple(fn(rrow, ctx) for fn in rkeys)
            if key is None or (not single and None in key):
                continue
            bucket = table.get(key)
            if bucket is None:
                table[key] = [i]
            else:
                bucket.append(i)
        kind = self.kind
        residual = self.residual
        right_nulls = (None,) * self.right_width
        right_matched = [False] * len(rights) if kind in ("right", "full") else None
        lkeys = self.left_keys
        count = 0
        for lrow in self.left.rows(ctx):
            count += 1
            if count % CHECK_EVERY == 0:
                ctx.check()
            key = lkeys[0](lrow, ctx) if single else tuple(fn(lrow, ctx) for fn in lkeys)
            matched = False
            bucket = table.get(key) if key is not None else None
            if bucket:
                for i in bucket:
                    row = lrow + rights[i]
                    if residual is None or residual(row, ctx) is True:
                        matched = True
                        if right_matched is not None:
                            right_matched[i] = True
                        yield row
            if not matched and kind in ("left", "full"):
                yield lrow + right_nulls
        if right_matched is not None:
            yield from _unmatched_right(rights, right_matched, self.left_width)

    def explain(self):
        return {"left": "Hash Left Join", "right": "Hash Right Join",
                "full": "Hash Full Join"}.get(self.kind, "Hash Join")

    def explain_details(self):
        return [f"Hash Cond: {self.text}"] if self.text else []


class Aggregate(Operator):
    """GROUP BY: one output row per group, holding the group keys then the aggregates.

    `aggregates` are factories of accumulator objects with add(row, ctx) and result().
    With no GROUP BY there is exactly one group, even over no rows.
    """

    def __init__(self, child: Operator, keys: list[Callable], aggregates: list,
                 grouped: bool, sets: list[list[int]] | None = None):
        self.child = child
        self.keys = keys
        self.aggregates = aggregates
        self.grouped = grouped
        self.sets = sets                  # grouping sets: the key positions each uses
        self.children = (child,)

    def rows(self, ctx):
        if self.sets is not None:
            yield from self._grouping_sets(ctx)
            return
        keys = self.keys
        make = self.aggregates
        single = keys[0] if len(keys) == 1 else None
        groups: dict = {}           # group key -> (accumulators, their add methods)
        count = 0
        for row in self.child.rows(ctx):
            count += 1
            if count % CHECK_EVERY == 0:
                ctx.check()
            # One grouping column (the common case) keys the dict by its bare value.
            key = single(row, ctx) if single is not None else \
                tuple([fn(row, ctx) for fn in keys])
            try:
                group = groups.get(key)
            except TypeError:               # an array or jsonb key: use a hashable twin
                key = _Frozen(key)
                group = groups.get(key)
            if group is None:
                accs = [factory() for factory in make]
                group = groups[key] = (accs, [acc.add for acc in accs])
            for add in group[1]:
                add(row, ctx)
        if not groups and not self.grouped:
            groups[()] = ([factory() for factory in make], None)
        for key, (accs, _) in groups.items():
            if isinstance(key, _Frozen):
                key = key.value
            if single is not None:
                key = (key,)
            yield key + tuple(acc.result(ctx) for acc in accs)

    def _grouping_sets(self, ctx):
        """One pass, every grouping set at once: a row joins one group per set, keyed by
        the set's columns (the others NULL in the output)."""
        keys, make, width = self.keys, self.aggregates, len(self.keys)
        masks = [[j in chosen for j in range(width)] for chosen in self.sets]
        groups: dict = {}
        count = 0
        for row in self.child.rows(ctx):
            count += 1
            if count % CHECK_EVERY == 0:
                ctx.check()
            values = [fn(row, ctx) for fn in keys]
            for s, mask in enumerate(masks):
                key = (s,) + tuple(v if m else None for v, m in zip(values, mask))
                accs = groups.get(key)
                if accs is None:
                    accs = groups[key] = [factory() for factory in make]
                for acc in accs:
                    acc.add(row, ctx)
        for s, chosen in enumerate(self.sets):
            if not chosen and (s,) + (None,) * width not in groups:
                groups[(s,) + (None,) * width] = [factory() for factory in make]
        # The set's number rides at the end of the row, for GROUPING().
        for key, accs in groups.items():
            yield key[1:] + tuple(acc.result(ctx) for acc in accs) + (key[0],)

    def explain(self):
        if self.sets is not None:
            return "MixedAggregate"
        return "HashAggregate" if self.grouped else "Aggregate"


class Sort(Operator):
    """ORDER BY: keys are (fn, descending, nulls_first); NULLs sort as PostgreSQL does
    (last ascending, first descending, unless NULLS FIRST/LAST says otherwise)."""

    def __init__(self, child: Operator, keys: list[tuple[Callable, bool, bool]], text=""):
        self.child = child
        self.keys = keys
        self.text = text
        self.children = (child,)

    def rows(self, ctx):
        rows = list(self.child.rows(ctx))
        ctx.check()
        # Stable sorts applied from the last key to the first give the combined order.
        for fn, descending, nulls_first in reversed(self.keys):
            decorated = [(fn(r, ctx), r) for r in rows]
            nulls = [r for v, r in decorated if v is None]
            values = [(v, r) for v, r in decorated if v is not None]
            try:
                values.sort(key=_first, reverse=descending)
            except TypeError:
                values.sort(key=lambda p: _sortable(p[0]), reverse=descending)
            ordered = [r for _, r in values]
            rows = nulls + ordered if nulls_first else ordered + nulls
        return iter(rows)

    def explain(self):
        return "Sort"

    def explain_details(self):
        return [f"Sort Key: {self.text}"] if self.text else []


def _first(pair):
    return pair[0]


def _sortable(value):
    """A key for values Python will not compare directly (records with NULLs, say)."""
    if isinstance(value, (tuple, list)):
        return tuple((v is None, _sortable(v) if v is not None else 0) for v in value)
    return value


class Limit(Operator):
    def __init__(self, child: Operator, limit: Callable | None, offset: Callable | None,
                 ties: list[Callable] | None = None):
        self.child = child
        self.limit = limit
        self.offset = offset
        self.ties = ties            # WITH TIES: sort keys; rows equal to the last go too
        self.children = (child,)

    def rows(self, ctx):
        offset = self.offset((), ctx) if self.offset else 0
        limit = self.limit((), ctx) if self.limit else None
        if offset is not None and offset < 0:
            raise SqlError("2201X", "OFFSET must not be negative")
        if limit is not None and limit < 0:
            raise SqlError("2201W", "LIMIT must not be negative")
        offset = offset or 0
        if limit == 0:
            return
        produced = 0
        last_key = None
        for i, row in enumerate(self.child.rows(ctx)):
            if i < offset:
                continue
            if limit is not None and produced >= limit:
                if self.ties is None or tuple(fn(row, ctx) for fn in self.ties) != last_key:
                    return
            yield row
            produced += 1
            if self.ties is not None and limit is not None and produced == limit:
                last_key = tuple(fn(row, ctx) for fn in self.ties)

    def explain(self):
        return "Limit"


class Distinct(Operator):
    def __init__(self, child: Operator, width: int | None = None,
                 on: list[Callable] | None = None):
        self.child = child
        self.width = width
        self.on = on
        self.children = (child,)

    def rows(self, ctx):
        seen = set()
        on = self.on
        width = self.width
        for row in self.child.rows(ctx):
            if on is not None:
                key = tuple(fn(row, ctx) for fn in on)
            else:
                key = row if width is None else row[:width]
            key = _hashable(key)
            if key in seen:
                continue
            seen.add(key)
            yield row

    def explain(self):
        return "Unique" if self.on is None else "Unique (DISTINCT ON)"


class _Frozen:
    """A group key holding lists or dicts, hashed by a canonical form, kept as it was."""

    __slots__ = ("value", "canonical")

    def __init__(self, value):
        self.value = value
        self.canonical = _hashable(value if isinstance(value, tuple) else (value,))

    def __hash__(self):
        return hash(self.canonical)

    def __eq__(self, other):
        return isinstance(other, _Frozen) and self.canonical == other.canonical


def _hashable(value):
    if isinstance(value, (list, dict)):
        import json
        return json.dumps(value, sort_keys=True, default=str)
    if isinstance(value, tuple) and any(isinstance(v, (list, dict)) for v in value):
        return tuple(_hashable(v) for v in value)
    return value


class SetOperation(Operator):
    def __init__(self, op: str, all_: bool, left: Operator, right: Operator):
        self.op = op
        self.all = all_
        self.left = left
        self.right = right
        self.children = (left, right)

    def rows(self, ctx):
        if self.op == "union":
            if self.all:
                yield from self.left.rows(ctx)
                yield from self.right.rows(ctx)
                return
            seen = set()
            for source in (self.left, self.right):
                for row in source.rows(ctx):
                    key = _hashable(row)
                    if key not in seen:
                        seen.add(key)
                        yield row
            return
        right_counts: dict = {}
        for row in self.right.rows(ctx):
            key = _hashable(row)
            right_counts[key] = right_counts.get(key, 0) + 1
        emitted: dict = {}
        for row in self.left.rows(ctx):
            key = _hashable(row)
            if self.op == "intersect":
                available = right_counts.get(key, 0)
                if self.all:
                    if available > 0:
                        right_counts[key] = available - 1
                        yield row
                elif available and key not in emitted:
                    emitted[key] = True
                    yield row
            else:
                if self.all:
                    available = right_counts.get(key, 0)
                    if available > 0:
                        right_counts[key] = available - 1
                    else:
                        yield row
                elif key not in right_counts and key not in emitted:
                    emitted[key] = True
                    yield row

    def explain(self):
        word = {"union": "Append", "intersect": "SetOp Intersect", "except": "SetOp Except"}
        return word[self.op] + (" All" if self.all and self.op != "union" else "")


class Window(Operator):
    """Window functions: partitions the input, orders each partition, and appends one
    column per window function. `funcs` are (partition fns, order keys, evaluate) where
    evaluate(partition rows, peer groups, ctx) returns one value per row."""

    def __init__(self, child: Operator, funcs: list):
        self.child = child
        self.funcs = funcs
        self.children = (child,)

    def rows(self, ctx):
        rows = list(self.child.rows(ctx))
        results = [[None] * len(self.funcs) for _ in rows]
        for f_index, (partition_fns, order_keys, evaluate) in enumerate(self.funcs):
            partitions: dict = {}
            for i, row in enumerate(rows):
                key = _hashable(tuple(fn(row, ctx) for fn in partition_fns))
                partitions.setdefault(key, []).append(i)
            for indexes in partitions.values():
                ordered = indexes
                if order_keys:
                    sorter = Sort(_ListSource([rows[i] + (i,) for i in indexes]), order_keys)
                    ordered = [r[-1] for r in sorter.rows(ctx)]
                part_rows = [rows[i] for i in ordered]
                peers = _peer_groups(part_rows, order_keys, ctx)
                values = evaluate(part_rows, peers, ctx)
                for i, value in zip(ordered, values):
                    results[i][f_index] = value
            ctx.check()
        # Rows come out in the order the last window sorted them in (partition, then
        # ORDER BY), as PostgreSQL's WindowAgg over its sorted input does.
        partition_fns, order_keys, _ = self.funcs[-1]
        order = range(len(rows))
        if partition_fns or order_keys:
            keys = [(fn, False, False) for fn in partition_fns] + list(order_keys)
            order = [r[-1] for r in
                     Sort(_ListSource([row + (i,) for i, row in enumerate(rows)]), keys).rows(ctx)]
        for i in order:
            yield rows[i] + tuple(results[i])

    def explain(self):
        return "WindowAgg"


def _peer_groups(rows, order_keys, ctx) -> list[int]:
    """For each row, the index of the first row of its peer group (equal sort keys)."""
    if not order_keys:
        return [0] * len(rows)
    out = []
    prev_key = object()
    start = 0
    for i, row in enumerate(rows):
        key = tuple(fn(row, ctx) for fn, _, _ in order_keys)
        if key != prev_key:
            start = i
            prev_key = key
        out.append(start)
    return out


class _ListSource(Operator):
    def __init__(self, rows):
        self.list_rows = rows

    def rows(self, ctx):
        return iter(self.list_rows)


def run_subquery(plan: Operator, row: tuple, ctx: ExecContext, correlated: bool,
                 key: object) -> list[tuple]:
    """Rows of a subquery evaluated for `row`; uncorrelated results are cached."""
    if not correlated:
        cached = ctx.cache.get(key)
        if cached is None:
            cached = ctx.cache[key] = list(plan.rows(ctx))
        return cached
    ctx.outer.append(row)
    try:
        return list(plan.rows(ctx))
    finally:
        ctx.outer.pop()

