"""INSERT, UPDATE and DELETE: plans built once (so a prepared INSERT run 100,000 times
compiles its expressions once) and run against the storage interface.

`TableWriter` is the one place rows enter or change a table: it fills defaults,
applies the column types, and enforces NOT NULL, CHECK, UNIQUE (through the storage's
unique indexes) and FOREIGN KEY constraints, including ON DELETE/UPDATE actions of the
tables that reference this one. COPY FROM uses it too.

Concurrent writers (READ COMMITTED): when the row an UPDATE or DELETE went to change
was changed by a transaction that committed meanwhile, the storage hands back the
newest version (RowChanged); the statement checks its WHERE condition on that version
and, if it still holds, applies its change there, as PostgreSQL's EvalPlanQual does.
"""

from __future__ import annotations

from . import types as T
from .catalog import Table
from .errors import (CARDINALITY_VIOLATION, CHECK_VIOLATION, FEATURE_NOT_SUPPORTED,
                     SERIALIZATION_FAILURE,
                     FOREIGN_KEY_VIOLATION, NOT_NULL_VIOLATION, SYNTAX_ERROR,
                     UNDEFINED_COLUMN, UNIQUE_VIOLATION, INVALID_COLUMN_REFERENCE, SqlError)
from .executor import Filter
from .expressions import Col, Expr, Scope
from .planner import Planner, _split_and
from .sql import ast as A
from .storage import RowChanged, UniqueViolation


class Result:
    """What one statement produced: a row description (or None), rows, a command tag."""

    def __init__(self, tag: str, columns=None, rows=None):
        self.tag = tag
        self.columns = columns          # [(name, type)] or None for no result set
        self.rows = rows if rows is not None else []


def _row_text(row: tuple, table: Table) -> str:
    parts = []
    for value, col in zip(row, table.columns):
        parts.append("null" if value is None else T.to_text(value, col.type))
    return "(" + ", ".join(parts) + ")"


def _key_text(values, table, names) -> str:
    cols = ", ".join(names)
    vals = ", ".join("null" if v is None else T.to_text(v, table.column(n).type)
                     for v, n in zip(values, names))
    return f"({cols})=({vals})"


class TableWriter:
    """Writes rows into one table with every constraint checked."""

    def __init__(self, planner: Planner, table: Table):
        self.planner = planner
        self.table = table
        self.db = planner.db
        compiler = planner.compiler
        empty = Scope([])
        self.defaults = []
        for col in table.columns:
            if col.default is None:
                self.defaults.append(None)
            else:
                e = compiler.compile(col.default, empty)
                self.defaults.append(compiler.coerce(e, col.type, "assignment").fn)
        self.not_null = [i for i, c in enumerate(table.columns) if c.not_null]
        scope = Scope([Col(c.name, c.type, table.name) for c in table.columns])
        # Generated columns, computed from the other columns of the row being written.
        self.generated = []
        for i, col in enumerate(table.columns):
            if col.generated is not None:
                e = compiler.compile(col.generated, scope)
                self.generated.append((i, compiler.coerce(e, col.type, "assignment").fn))
        self.checks = []
        for c in table.constraints:
            if c.kind == "c":
                fn = compiler.to_bool(compiler.compile(c.check, scope), "CHECK").fn
                self.checks.append((c, fn))
        self.foreign = []
        for c in table.constraints:
            if c.kind == "f":
                positions = [table.column_index(n) for n in c.columns]
                index = _unique_index(c.ref_table, c.ref_columns)
                self.foreign.append((c, positions, index))
        self.referencing = []
        for child, c in self.db.referencing_constraints(table):
            parent_positions = [table.column_index(n) for n in c.ref_columns]
            child_positions = [child.column_index(n) for n in c.columns]
            child_index = next((i for i in child.indexes if i.storage_backed
                                and i.columns == c.columns), None)
            self.referencing.append((child, c, parent_positions, child_positions, child_index))
        self.index_names = {i.oid: i for i in table.indexes}

    # -- checks --------------------------------------------------------------------------

    def with_generated(self, row: tuple, ctx) -> tuple:
        if not self.generated:
            return row
        values = list(row)
        for i, fn in self.generated:
            values[i] = fn(row, ctx)
        return tuple(values)

    def check(self, row: tuple, ctx) -> None:
        table = self.table
        for i in self.not_null:
            if row[i] is None:
                col = table.columns[i]
                raise SqlError(NOT_NULL_VIOLATION,
                               f'null value in column "{col.name}" of relation "{table.name}" '
                               "violates not-null constraint",
                               detail=f"Failing row contains {_row_text(row, table)}.",
                               table_name=table.name, column_name=col.name,
                               schema_name=table.schema.name)
        for c, fn in self.checks:
            if fn(row, ctx) is False:
                raise SqlError(CHECK_VIOLATION,
                               f'new row for relation "{table.name}" violates check constraint '
                               f'"{c.name}"', detail=f"Failing row contains {_row_text(row, table)}.",
                               table_name=table.name, constraint_name=c.name,
                               schema_name=table.schema.name)
        for c, positions, index in self.foreign:
            key = tuple(row[i] for i in positions)
            if None in key:
                continue
            if not self._parent_exists(c, index, key, ctx):
                raise SqlError(FOREIGN_KEY_VIOLATION,
                               f'insert or update on table "{table.name}" violates foreign key '
                               f'constraint "{c.name}"',
                               detail=f"Key {_key_text(key, table, c.columns)} is not present in "
                                      f'table "{c.ref_table.name}".',
                               table_name=table.name, constraint_name=c.name,
                               schema_name=table.schema.name)

    def _parent_exists(self, c, index, key, ctx) -> bool:
        storage = ctx.storage
        if index is not None:
            return bool(storage.index_lookup(ctx.txn, index.oid, key))
        positions = [c.ref_table.column_index(n) for n in c.ref_columns]
        return any(tuple(r[i] for i in positions) == key
                   for _, r in storage.scan(ctx.txn, c.ref_table.oid))

    def unique_error(self, exc: UniqueViolation) -> SqlError:
        index = self.index_names.get(exc.index_id)
        name = index.name if index else "?"
        detail = None
        if index is not None:
            detail = f"Key {_key_text(exc.key, self.table, index.columns)} already exists."
        return SqlError(UNIQUE_VIOLATION,
                        f'duplicate key value violates unique constraint "{name}"',
                        detail=detail, table_name=self.table.name, constraint_name=name,
                        schema_name=self.table.schema.name)

    # -- writes --------------------------------------------------------------------------

    def complete(self, values: list, provided: list[bool], ctx) -> tuple:
        """A full row from the provided values, filling defaults for the others."""
        for i, given in enumerate(provided):
            if not given:
                fn = self.defaults[i]
                values[i] = fn((), ctx) if fn is not None else None
        return self.with_generated(tuple(values), ctx)

    def insert(self, row: tuple, ctx, arbiters=()) -> int | None:
        """Insert a complete row (see complete()); returns its row id, or None when an
        index in `arbiters` (ON CONFLICT's) already holds its key."""
        self.check(row, ctx)
        try:
            return ctx.storage.insert(ctx.txn, self.table.oid, row)
        except UniqueViolation as exc:
            if exc.index_id in arbiters:
                return None
            raise self.unique_error(exc) from None

    def update(self, rowid: int, old: tuple, new: tuple, ctx) -> tuple[int, tuple]:
        """Replace a row version; returns the new version's row id and the row as stored
        (generated columns recomputed). Raises RowChanged (see the module doc)."""
        new = self.with_generated(new, ctx)
        self.check(new, ctx)
        if self.referencing:
            self._on_parent_change(old, new, ctx)
        try:
            return ctx.storage.update(ctx.txn, self.table.oid, rowid, new), new
        except UniqueViolation as exc:
            raise self.unique_error(exc) from None

    def delete(self, rowid: int, old: tuple, ctx) -> None:
        if self.referencing:
            self._on_parent_change(old, None, ctx)
        ctx.storage.delete(ctx.txn, self.table.oid, rowid)

    def _children(self, child, child_positions, child_index, key, ctx):
        storage = ctx.storage
        if child_index is not None:
            yield from storage.index_rows(ctx.txn, child_index.oid, key)
            return
        for rowid, row in storage.scan(ctx.txn, child.oid):
            if tuple(row[i] for i in child_positions) == key:
                yield rowid, row

    def _on_parent_change(self, old: tuple, new: tuple | None, ctx) -> None:
        """Foreign keys pointing at this table: act on rows referencing the old key."""
        for child, c, parent_positions, child_positions, child_index in self.referencing:
            key = tuple(old[i] for i in parent_positions)
            if None in key:
                continue
            if new is not None and tuple(new[i] for i in parent_positions) == key:
                continue
            action = c.on_delete if new is None else c.on_update
            children = list(self._children(child, child_positions, child_index, key, ctx))
            if not children:
                continue
            if action in ("no action", "restrict"):
                raise SqlError(FOREIGN_KEY_VIOLATION,
                               f'update or delete on table "{self.table.name}" violates foreign key '
                               f'constraint "{c.name}" on table "{child.name}"',
                               detail=f"Key {_key_text(key, self.table, c.ref_columns)} is still "
                                      f'referenced from table "{child.name}".',
                               table_name=child.name, constraint_name=c.name,
                               schema_name=child.schema.name)
            writer = TableWriter(self.planner, child)
            for rowid, row in children:
                while True:
                    try:
                        if action == "cascade" and new is None:
                            writer.delete(rowid, row, ctx)
                        else:
                            writer.update(rowid, row, self._child_update(
                                writer, row, action, new, child_positions, parent_positions,
                                ctx), ctx)
                        break
                    except RowChanged as changed:
                        # A concurrent change of the child row: act on its newest version
                        # if it still references the key.
                        if changed.row is None or \
                                tuple(changed.row[i] for i in child_positions) != key:
                            break
                        rowid, row = changed.rowid, changed.row

    @staticmethod
    def _child_update(writer, row, action, new, child_positions, parent_positions, ctx):
        updated = list(row)
        for ci, pi in zip(child_positions, parent_positions):
            if action == "cascade":
                updated[ci] = new[pi]
            elif action == "set null":
                updated[ci] = None
            else:
                fn = writer.defaults[ci]
                updated[ci] = fn((), ctx) if fn else None
        return tuple(updated)


def _unique_index(table: Table, columns: list[str]):
    """A unique index keyed exactly on `columns` (in that order), or None (then lookups
    fall back to a scan)."""
    for index in table.indexes:
        if index.unique and index.storage_backed and index.columns == columns:
            return index
    return None


def target_columns(table: Table, names: list[str]) -> list[int]:
    if not names:
        return list(range(len(table.columns)))
    out = []
    for name in names:
        if not table.has_column(name):
            raise SqlError(UNDEFINED_COLUMN,
                           f'column "{name}" of relation "{table.name}" does not exist')
        i = table.column_index(name)
        if i in out:
            raise SqlError("42701", f'column "{name}" specified more than once')
        out.append(i)
    return out


def _returning(planner, targets, scope):
    if not targets:
        return None, None
    targets = planner.expand_targets(targets, scope)
    from .expressions import figure_colname
    exprs = [planner.compiler.compile(t.expr, scope) for t in targets]
    exprs = [planner.compiler.coerce(e, T.TEXT) if e.type.oid == T.UNKNOWN.oid else e
             for e in exprs]
    columns = [(t.alias or figure_colname(t.expr), e.type) for t, e in zip(targets, exprs)]
    return [e.fn for e in exprs], columns


# ---------------------------------------------------------------------------------------

class InsertPlan:
    def __init__(self, planner: Planner, stmt: A.Insert):
        db = planner.db
        table = db.relation(stmt.table.name, planner.session.search_path(), "rv")
        if table.kind != "r":
            raise SqlError(FEATURE_NOT_SUPPORTED, f'cannot insert into view "{table.name}"')
        self.table = table
        self.writer = TableWriter(planner, table)
        compiler = planner.compiler
        positions = target_columns(table, stmt.columns)
        self.positions = positions
        for i in positions:
            col = table.columns[i]
            if col.generated is not None and not _all_default(stmt.source, positions.index(i)):
                raise SqlError("428C9", f'cannot insert a non-DEFAULT value into column '
                               f'"{col.name}"', detail=f'Column "{col.name}" is a generated column.')
            if col.identity == "always" and stmt.overriding != "system":
                raise SqlError("428C9", f'cannot insert a non-DEFAULT value into column '
                               f'"{col.name}"', detail=f'Column "{col.name}" is an identity '
                               "column defined as GENERATED ALWAYS.",
                               hint="Use OVERRIDING SYSTEM VALUE to override.")
        width = len(table.columns)
        self.width = width
        source = stmt.source
        if source is None:
            self.value_rows = [[]]
            self.positions = []
        elif isinstance(source, A.Query) and isinstance(source.body, A.Values) and \
                source.with_ is None and not source.order_by and source.limit is None:
            # VALUES: each cell compiled straight to its column's type; DEFAULT allowed.
            self.value_rows = []
            empty = Scope([])
            for row in source.body.rows:
                if len(row) > len(positions):
                    raise SqlError(SYNTAX_ERROR, "INSERT has more expressions than target columns",
                                   position=_pos(row[len(positions)]))
                if len(row) < len(positions):
                    raise SqlError(SYNTAX_ERROR, "INSERT has more target columns than expressions",
                                   position=None)
                cells = []
                for node, i in zip(row, positions):
                    if isinstance(node, A.DefaultExpr):
                        cells.append(None)
                        continue
                    col = table.columns[i]
                    e = compiler.compile(node, empty)
                    cells.append(compiler.coerce(e, col.type, "assignment",
                                                 what=f'column "{col.name}"', pos=_pos0(node)).fn)
                self.value_rows.append(cells)
        else:
            plan, columns = planner.plan_query(source)
            if len(columns) > len(positions):
                raise SqlError(SYNTAX_ERROR, "INSERT has more expressions than target columns")
            casts = []
            for k, (_, t) in enumerate(columns):
                col = table.columns[positions[k]]
                getter = Expr((lambda k: lambda row, ctx: row[k])(k), t)
                casts.append(compiler.coerce(getter, col.type, "assignment",
                                             what=f'column "{col.name}"').fn)
            self.source_plan = plan
            self.source_casts = casts
            self.value_rows = None
            self.positions = positions[:len(columns)]
        label = stmt.table.alias or table.name
        scope = Scope([Col(c.name, c.type, label) for c in table.columns])
        self.returning, self.columns = _returning(planner, stmt.returning, scope)
        self.on_conflict = None
        if stmt.on_conflict is not None:
            self.on_conflict = _ConflictPlan(planner, table, stmt.on_conflict, label)

    def rows(self, ctx):
        positions = self.positions
        width = self.width
        if self.value_rows is not None:
            for cells in self.value_rows:
                values = [None] * width
                provided = [False] * width
                for fn, i in zip(cells, positions):
                    if fn is not None:
                        values[i] = fn((), ctx)
                        provided[i] = True
                yield values, provided
            return
        casts = self.source_casts
        for row in list(self.source_plan.rows(ctx)):
            values = [None] * width
            provided = [False] * width
            for k, i in enumerate(positions):
                values[i] = casts[k](row, ctx)
                provided[i] = True
            yield values, provided

    def execute(self, ctx) -> Result:
        writer = self.writer
        count = 0
        out = []
        touched = set()
        for values, provided in self.rows(ctx):
            row = writer.complete(values, provided, ctx)
            if self.on_conflict is None:
                rowid, final = writer.insert(row, ctx), row
            else:
                rowid, final = self.on_conflict.apply(row, writer, ctx, touched)
                if final is None:
                    continue
            touched.add(rowid)
            count += 1
            if self.returning:
                out.append(tuple(f(final, ctx) for f in self.returning))
        return Result(f"INSERT 0 {count}", self.columns, out)


class _ConflictPlan:
    """ON CONFLICT: find an existing row with the same key in an arbiter index, then do
    nothing or update it with SET expressions that may read excluded.* values."""

    def __init__(self, planner, table, oc: A.OnConflict, label):
        self.action = oc.action
        if oc.constraint:
            c = next((c for c in table.constraints if c.name == oc.constraint), None)
            if c is None:
                raise SqlError("42704", f'constraint "{oc.constraint}" for table "{table.name}" '
                               "does not exist")
            indexes = [c.index]
        elif oc.target:
            indexes = [i for i in table.indexes if i.unique and sorted(i.columns) == sorted(oc.target)]
            if not indexes:
                raise SqlError(INVALID_COLUMN_REFERENCE,
                               "there is no unique or exclusion constraint matching the "
                               "ON CONFLICT specification")
        else:
            if oc.action == "update":
                raise SqlError(SYNTAX_ERROR, "ON CONFLICT DO UPDATE requires inference "
                               "specification or constraint name",
                               hint="For example, ON CONFLICT (column_name).")
            indexes = [i for i in table.indexes if i.unique]
        self.arbiters = [(i, [table.column_index(n) for n in i.columns]) for i in indexes]
        self.table = table
        if oc.action == "update":
            compiler = planner.compiler
            cols = [Col(c.name, c.type, label) for c in table.columns] + \
                [Col(c.name, c.type, "excluded") for c in table.columns]
            scope = Scope(cols)
            self.assignments = _compile_assignments(planner, table, oc.assignments, scope)
            self.where = compiler.to_bool(compiler.compile(oc.where, scope), "WHERE").fn \
                if oc.where is not None else None

    def apply(self, row, writer, ctx, touched):
        """Insert `row`, or act on the row already holding its key: (row id, the row
        inserted or updated), or (None, None) when nothing was done. A row with the key
        committed by another transaction after this statement's snapshot is found by
        looking again with a new snapshot, as READ COMMITTED allows."""
        arbiter_ids = {index.oid for index, _ in self.arbiters}
        while True:
            try:
                found = self._existing(row, writer, ctx, touched)
                if found is not None:
                    return found
                rowid = writer.insert(row, ctx, arbiter_ids)
                if rowid is not None:
                    return rowid, row
            except RowChanged:
                pass
            if ctx.txn.isolation != "read committed":
                raise SqlError(SERIALIZATION_FAILURE, "could not serialize access due to "
                               "concurrent update")
            ctx.txn.refresh_snapshot()

    def _existing(self, row, writer, ctx, touched):
        storage = ctx.storage
        for index, positions in self.arbiters:
            key = tuple(row[i] for i in positions)
            if None in key:
                continue
            found = storage.index_rows(ctx.txn, index.oid, key)
            if not found:
                continue
            rowid, old = found[0]
            if self.action == "nothing":
                return None, None
            if rowid in touched:
                raise SqlError(CARDINALITY_VIOLATION, "ON CONFLICT DO UPDATE command cannot "
                               "affect row a second time",
                               hint="Ensure that no rows proposed for insertion within the same "
                                    "command have duplicate constrained values.")
            combined = old + row
            if self.where is not None and self.where(combined, ctx) is not True:
                return None, None
            new = list(old)
            for i, fn in self.assignments:
                new[i] = fn(combined, ctx)
            return writer.update(rowid, old, tuple(new), ctx)
        return None


def _compile_assignments(planner, table, assignments, scope):
    compiler = planner.compiler
    out = []
    seen = set()
    writer_defaults = None
    for names, node in assignments:
        if len(names) > 1:
            items = node.items if isinstance(node, A.RowExpr) else None
            if items is None or len(items) != len(names):
                if isinstance(node, A.SubqueryExpr):
                    raise SqlError(FEATURE_NOT_SUPPORTED,
                                   "multiple-column UPDATE from a subquery is not supported")
                raise SqlError(SYNTAX_ERROR, "number of columns does not match number of values")
            pairs = list(zip(names, items))
        else:
            pairs = [(names[0], node)]
        for name, value in pairs:
            if not table.has_column(name):
                raise SqlError(UNDEFINED_COLUMN,
                               f'column "{name}" of relation "{table.name}" does not exist')
            i = table.column_index(name)
            if i in seen:
                raise SqlError("42601", f'multiple assignments to same column "{name}"')
            seen.add(i)
            col = table.columns[i]
            if col.generated is not None and not isinstance(value, A.DefaultExpr):
                raise SqlError("428C9", f'column "{col.name}" can only be updated to DEFAULT',
                               detail=f'Column "{col.name}" is a generated column.')
            if isinstance(value, A.DefaultExpr):
                if writer_defaults is None:
                    writer_defaults = TableWriter(planner, table).defaults
                d = writer_defaults[i]
                out.append((i, (lambda d: lambda row, ctx: d((), ctx) if d else None)(d)))
                continue
            e = compiler.compile(value, scope)
            out.append((i, compiler.coerce(e, col.type, "assignment",
                                           what=f'column "{col.name}"', pos=_pos0(value)).fn))
    return out


def _all_default(source, k: int) -> bool:
    """Does every VALUES row give DEFAULT for the k-th target column?"""
    if isinstance(source, A.Query) and isinstance(source.body, A.Values):
        return all(isinstance(row[k], A.DefaultExpr) for row in source.body.rows if k < len(row))
    return source is None


def _pos(node):
    p = getattr(node, "pos", -1)
    return p + 1 if p is not None and p >= 0 else None


def _pos0(node):
    p = getattr(node, "pos", -1)
    return p if p is not None else -1


class _TargetScan:
    """The rows an UPDATE or DELETE touches: the target table (with row ids) joined with
    FROM/USING items and filtered by WHERE."""

    def __init__(self, planner: Planner, target: A.TableRef, extra_from, where):
        table = planner.db.relation(target.name, planner.session.search_path(), "rv")
        if table.kind != "r":
            raise SqlError(FEATURE_NOT_SUPPORTED, f'cannot change view "{table.name}"')
        self.table = table
        plan, scope = planner.plan_table_ref(target, None, None, with_rowid=True)
        conjuncts = _split_and(where)
        mine, rest = planner._take_conjuncts(conjuncts, scope)
        if mine:
            plan = planner._filtered_scan(plan, scope, mine)
        if extra_from:
            fplan, fscope, rest = planner.plan_from(extra_from, None, None, rest)
            combined = Scope(scope.columns + fscope.columns)
            conds, rest = planner._take_conjuncts(rest, combined)
            plan = planner._make_join("inner", plan, scope, fplan, fscope, combined, conds)
            scope = combined
        if rest:
            plan = Filter(plan, planner._predicate(rest, scope, "WHERE"))
        self.plan = plan
        self.scope = scope
        self.width = len(table.columns)
        # The whole condition again, to check a row's newer version on (RowChanged).
        self.recheck = planner._predicate(conjuncts, scope, "WHERE") if conjuncts else None

    def newer(self, changed: RowChanged, full: tuple, ctx):
        """The joined row with the target's newer version in it, if the statement's
        condition still holds for it (else None: the row is skipped)."""
        if changed.row is None:
            return None
        w = self.width
        full = changed.row + (changed.rowid,) + full[w + 1:]
        if self.recheck is not None and self.recheck(full, ctx) is not True:
            return None
        return full

    def write_newest(self, rowid, old, full, ctx, write):
        """write(rowid, table row, full row) on the row, or, when a concurrent transaction
        changed it first, on its newest version if that still qualifies (READ COMMITTED's
        recheck). Returns (full row, what write returned), or (None, None) if skipped."""
        while True:
            try:
                return full, write(rowid, old, full)
            except RowChanged as changed:
                full = self.newer(changed, full, ctx)
                if full is None:
                    return None, None
                rowid, old = changed.rowid, changed.row

    def matches(self, ctx):
        """(rowid, table row, full joined row) for each target row, each row once."""
        seen = set()
        out = []
        w = self.width
        for row in self.plan.rows(ctx):
            rowid = row[w]
            if rowid in seen:
                continue
            seen.add(rowid)
            out.append((rowid, row[:w], row))
        return out


class UpdatePlan:
    def __init__(self, planner: Planner, stmt: A.Update):
        self.target = _TargetScan(planner, stmt.table, stmt.from_, stmt.where)
        table = self.target.table
        self.writer = TableWriter(planner, table)
        self.assignments = _compile_assignments(planner, table, stmt.assignments,
                                                self.target.scope)
        self.returning, self.columns = _returning(planner, stmt.returning, self.target.scope)

    def execute(self, ctx) -> Result:
        writer = self.writer
        w = self.target.width
        out = []
        count = 0
        assignments = self.assignments

        def update(rowid, old, full):
            new = list(old)
            for i, fn in assignments:
                new[i] = fn(full, ctx)
            return writer.update(rowid, old, tuple(new), ctx)[1]
        for rowid, old, full in self.target.matches(ctx):
            full, new = self.target.write_newest(rowid, old, full, ctx, update)
            if full is None:
                continue
            count += 1
            if self.returning:
                full_new = new + full[w:]
                out.append(tuple(f(full_new, ctx) for f in self.returning))
        return Result(f"UPDATE {count}", self.columns, out)


class DeletePlan:
    def __init__(self, planner: Planner, stmt: A.Delete):
        self.target = _TargetScan(planner, stmt.table, stmt.using, stmt.where)
        self.writer = TableWriter(planner, self.target.table)
        self.returning, self.columns = _returning(planner, stmt.returning, self.target.scope)

    def execute(self, ctx) -> Result:
        out = []
        count = 0
        writer = self.writer

        def delete(rowid, old, full):
            writer.delete(rowid, old, ctx)
        for rowid, old, full in self.target.matches(ctx):
            full, _ = self.target.write_newest(rowid, old, full, ctx, delete)
            if full is None:
                continue
            count += 1
            if self.returning:
                out.append(tuple(f(full, ctx) for f in self.returning))
        return Result(f"DELETE {count}", self.columns, out)

