"""Data definition: CREATE/DROP/ALTER of tables, indexes, views, sequences, schemas and
databases, TRUNCATE and COMMENT.

Names of implicit objects follow PostgreSQL (t_pkey, t_col_key, t_col_check,
t_col_fkey, t_col_seq, t_col_idx). Every change registers its undo with the
transaction, so DDL inside BEGIN ... ROLLBACK leaves no trace.
"""

from __future__ import annotations

from . import types as T
from .catalog import Column, Constraint, Index, Schema, Sequence, Table, View
from .errors import (DEPENDENT_OBJECTS, DUPLICATE_COLUMN, DUPLICATE_OBJECT, DUPLICATE_SCHEMA,
                     DUPLICATE_TABLE, FEATURE_NOT_SUPPORTED, INVALID_TABLE_DEFINITION,
                     UNDEFINED_COLUMN, UNDEFINED_OBJECT, UNDEFINED_SCHEMA, UNDEFINED_TABLE,
                     UNIQUE_VIOLATION, SqlError, WRONG_OBJECT_TYPE)
from .expressions import Col, Scope
from .sql import ast as A
from .sql.unparse import quote_literal, unparse
from .storage import UniqueViolation
from .storage.locks import ACCESS_EXCLUSIVE


class DDL:
    """Runs definition statements for a session (uses its database, search path and
    transaction)."""

    def __init__(self, session, txn):
        self.session = session
        self.db = session.database
        self.txn = txn
        self.notices: list[str] = []

    def changed(self) -> None:
        self.db.version += 1

    # -- tables --------------------------------------------------------------------------

    def create_table(self, stmt: A.CreateTable) -> str:
        db = self.db
        path = self.session.search_path()
        schema = db.creation_schema(stmt.name, path)
        name = stmt.name[-1]
        if name in schema.relations:
            if stmt.if_not_exists:
                self.notices.append(f'relation "{name}" already exists, skipping')
                return "CREATE TABLE"
            raise SqlError(DUPLICATE_TABLE, f'relation "{name}" already exists')
        table = Table(db.cluster.next_oid(), name, schema)
        seen = set()
        for cdef in stmt.columns:
            if isinstance(cdef, A.TableLike):
                continue
            if cdef.name in seen:
                raise SqlError(DUPLICATE_COLUMN, f'column "{cdef.name}" specified more than once')
            seen.add(cdef.name)
        db.add_relation(self.txn, table)
        db.storage.create_table(self.txn, table.oid)
        for cdef in stmt.columns:
            if isinstance(cdef, A.TableLike):
                self._copy_like(table, cdef)
            else:
                self._add_column(table, cdef)
        for c in stmt.constraints:
            self._add_table_constraint(table, c)
        self.changed()
        return "CREATE TABLE"

    def _resolve_column_type(self, tn: A.TypeName) -> tuple[T.SqlType, bool]:
        serial = T.SERIAL_NAMES.get(tn.name) if not tn.array_dims else None
        if serial:
            return T.BY_NAME[serial], True
        return T.lookup_type(tn.name, tn.typmods, tn.array_dims), False

    def _add_column(self, table: Table, cdef: A.ColumnDef) -> Column:
        t, serial = self._resolve_column_type(cdef.type)
        if t.category == "P" and t.oid != T.RECORD.oid or t.oid == T.UNKNOWN.oid:
            raise SqlError("42P16", f'column "{cdef.name}" has pseudo-type {T.format_type(t)}')
        col = Column(cdef.name, t, not_null=cdef.not_null, attnum=table.next_attnum)
        table.next_attnum += 1
        if serial or cdef.identity:
            seq = self._create_sequence_for(table, cdef.name, t)
            col.default = A.FuncCall("nextval", [A.Cast(A.Const(seq.qualified_name if
                                                             seq.schema.name != "public" else seq.name,
                                                             "string"),
                                                    A.TypeName("regclass"))])
            col.default_text = f"nextval('{seq.name}'::regclass)"
            col.default_source = "nextval(" + quote_literal(
                seq.qualified_name if seq.schema.name != "public" else seq.name) + "::regclass)"
            col.not_null = True
            if cdef.identity:
                col.identity = cdef.identity
                col.default_text = None
        if cdef.default is not None:
            col.default = cdef.default
            col.default_source = cdef.default_source
            col.default_text = _default_text(cdef.default, t)
        if cdef.generated is not None:
            if cdef.default is not None:
                raise SqlError("42601", f'both default and generation expression specified for '
                               f'column "{cdef.name}" of table "{table.name}"')
            col.generated = cdef.generated
            col.default_text = cdef.generated_text
        table.columns.append(col)
        if cdef.primary_key:
            self._add_table_constraint(table, A.TableConstraint(
                "primary", cdef.constraint_names.get("primary"), [cdef.name]))
        if cdef.unique:
            self._add_table_constraint(table, A.TableConstraint(
                "unique", cdef.constraint_names.get("unique"), [cdef.name]))
        if cdef.check is not None:
            self._add_table_constraint(table, A.TableConstraint(
                "check", cdef.constraint_names.get("check"), [cdef.name], check=cdef.check,
                check_text=cdef.constraint_names.get("check_text")))
        if cdef.references is not None:
            self._add_table_constraint(table, A.TableConstraint(
                "foreign", cdef.constraint_names.get("foreign"), [cdef.name],
                references=cdef.references))
        return col

    def _copy_like(self, table: Table, like: A.TableLike) -> None:
        """The columns of another table: names, types and NOT NULL always; defaults,
        generation expressions, CHECK constraints and indexes when INCLUDING says so."""
        source = self.db.relation(like.table, self.session.search_path(), "rv")
        if not isinstance(source, Table):
            raise SqlError(FEATURE_NOT_SUPPORTED, "LIKE of a view is not supported")
        for col in source.columns:
            if table.has_column(col.name):
                raise SqlError(DUPLICATE_COLUMN, f'column "{col.name}" specified more than once')
            copy = Column(col.name, col.type, col.not_null, attnum=table.next_attnum)
            table.next_attnum += 1
            if "defaults" in like.including and col.default is not None and col.identity is None:
                copy.default, copy.default_text = col.default, col.default_text
                copy.default_source = col.default_source
            if "generated" in like.including and col.generated is not None:
                copy.generated, copy.default_text = col.generated, col.default_text
            table.columns.append(copy)
        for c in source.constraints:
            if c.kind == "c" and "constraints" in like.including:
                # A copied CHECK keeps its name, as in PostgreSQL.
                self._add_table_constraint(table, A.TableConstraint(
                    "check", c.name, list(c.columns), check=c.check, check_text=c.check_text))
            if c.kind in "pu" and "indexes" in like.including:
                self._add_table_constraint(table, A.TableConstraint(
                    "primary" if c.kind == "p" else "unique", None, list(c.columns)))

    def _create_sequence_for(self, table: Table, column: str, t: T.SqlType) -> Sequence:
        schema = table.schema
        name = self.db.unique_name(schema, f"{table.name}_{column}_seq")
        seq = Sequence(self.db.cluster.next_oid(), name, schema, data_type=t)
        seq.owned_by = (table, column)
        self.db.add_relation(self.txn, seq)
        return seq

    def _add_table_constraint(self, table: Table, c: A.TableConstraint) -> None:
        db = self.db
        for name in c.columns:
            if not table.has_column(name):
                raise SqlError(UNDEFINED_COLUMN, f'column "{name}" named in key does not exist'
                               if c.kind in ("primary", "unique") else
                               f'column "{name}" referenced in foreign key constraint does not exist')
        if c.kind == "primary":
            if table.primary_key is not None:
                raise SqlError(INVALID_TABLE_DEFINITION,
                               f'multiple primary keys for table "{table.name}" are not allowed')
            name = c.name or db.unique_name(table.schema, f"{table.name}_pkey")
            for col_name in c.columns:
                col = table.column(col_name)
                if not col.not_null:
                    self._set_not_null(table, col)
            self._add_key(table, name, "p", c.columns)
        elif c.kind == "unique":
            name = c.name or db.unique_name(table.schema, f"{table.name}_{'_'.join(c.columns)}_key")
            self._add_key(table, name, "u", c.columns)
        elif c.kind == "check":
            cols = c.columns or _referenced_columns(c.check, table)
            base = f"{table.name}_{cols[0]}_check" if cols else f"{table.name}_check"
            name = c.name or db.unique_name(table.schema, base)
            scope = Scope([Col(col.name, col.type, table.name) for col in table.columns])
            from .planner import Planner
            planner = Planner(self.session)
            planner.compiler.to_bool(planner.compiler.compile(c.check, scope), "CHECK")
            constraint = Constraint(db.cluster.next_oid(), name, "c", cols, c.check,
                                    c.check_text or unparse(c.check))
            self._verify_check(table, constraint, planner, scope)
            self._attach(table, constraint)
        elif c.kind == "foreign":
            fk = c.references
            ref = db.relation(fk.table, self.session.search_path(), "r")
            ref_cols = fk.columns or (ref.primary_key.columns if ref.primary_key else [])
            if not ref_cols:
                raise SqlError(INVALID_TABLE_DEFINITION, f'there is no primary key for referenced '
                               f'table "{ref.name}"')
            if len(ref_cols) != len(c.columns):
                raise SqlError(INVALID_TABLE_DEFINITION, "number of referencing and referenced "
                               "columns for foreign key disagree")
            if not any(i.unique and sorted(i.columns) == sorted(ref_cols) for i in ref.indexes):
                raise SqlError(INVALID_COLUMN_REFERENCE_FK, "there is no unique constraint "
                               f'matching given keys for referenced table "{ref.name}"')
            name = c.name or db.unique_name(table.schema, f"{table.name}_{'_'.join(c.columns)}_fkey")
            constraint = Constraint(db.cluster.next_oid(), name, "f", list(c.columns))
            constraint.ref_table = ref
            constraint.ref_columns = list(ref_cols)
            constraint.on_delete = fk.on_delete
            constraint.on_update = fk.on_update
            self._attach(table, constraint)
            self._verify_foreign_key(table, constraint)

    def _attach(self, table: Table, constraint: Constraint) -> None:
        table.constraints.append(constraint)
        self.db.add_constraint(constraint)

        def undo():
            if constraint in table.constraints:
                table.constraints.remove(constraint)
            self.db.constraint_by_oid.pop(constraint.oid, None)
        self.txn.on_rollback(undo)

    def _set_not_null(self, table: Table, col: Column) -> None:
        index = table.columns.index(col)
        for _, row in self.db.storage.scan(self.txn, table.oid):
            if row[index] is None:
                raise SqlError("23502", f'column "{col.name}" of relation "{table.name}" '
                               "contains null values")
        col.not_null = True
        self.txn.on_rollback(lambda: setattr(col, "not_null", False))

    def _add_key(self, table: Table, name: str, kind: str, columns: list[str]) -> None:
        constraint = Constraint(self.db.cluster.next_oid(), name, kind, list(columns))
        index = self._create_index(table, name, columns, unique=True, primary=kind == "p")
        constraint.index = index
        index.constraint = constraint
        self._attach(table, constraint)

    def _create_index(self, table: Table, name: str, columns: list[str], unique: bool,
                      primary: bool = False, descending=None, method="btree",
                      expression: bool = False) -> Index:
        if name in table.schema.relations:
            raise SqlError(DUPLICATE_TABLE, f'relation "{name}" already exists')
        index = Index(self.db.cluster.next_oid(), name, table.schema, table, list(columns),
                      unique, primary, method, descending)
        # GIN, GiST and the like answer other questions than equality: recorded only.
        index.storage_backed = not expression and method in ("btree", "hash")
        self.db.add_relation(self.txn, index)
        table.indexes.append(index)
        self.txn.on_rollback(lambda: index in table.indexes and table.indexes.remove(index))
        if index.storage_backed:
            positions = tuple(table.column_index(c) for c in columns)
            try:
                self.db.storage.create_index(self.txn, index.oid, table.oid, positions, unique,
                                             index.descending)
            except UniqueViolation as exc:
                from .dml import _key_text
                raise SqlError(UNIQUE_VIOLATION, f'could not create unique index "{name}"',
                               detail=f"Key {_key_text(exc.key, table, columns)} is duplicated.") \
                    from None
        return index

    def _verify_check(self, table, constraint, planner, scope):
        fn = planner.compiler.compile(constraint.check, scope).fn
        for _, row in self.db.storage.scan(self.txn, table.oid):
            if fn(row, None) is False:
                raise SqlError("23514", f'check constraint "{constraint.name}" of relation '
                               f'"{table.name}" is violated by some row')

    def _verify_foreign_key(self, table, constraint):
        from .dml import TableWriter
        from .executor import ExecContext
        from .planner import Planner
        writer = TableWriter(Planner(self.session), table)
        ctx = ExecContext(self.session, self.txn, self.db.storage)
        for _, row in self.db.storage.scan(self.txn, table.oid):
            writer.check(row, ctx)

    def drop(self, stmt: A.DropObjects) -> str:
        kind = stmt.kind
        tag = "DROP " + kind.upper()
        if kind == "database":
            for names in stmt.names:
                self.session.engine.drop_database(self.session, names[-1], stmt.if_exists,
                                                  self.notices)
            return tag
        if kind == "schema":
            for names in stmt.names:
                self._drop_schema(names[-1], stmt.if_exists, stmt.cascade)
            self.changed()
            return tag
        if kind == "type":
            for names in stmt.names:
                self._drop_type(names, stmt.if_exists, stmt.cascade)
            self.changed()
            return tag
        want = {"table": "r", "view": "v", "index": "i", "sequence": "S"}[kind]
        targets = []
        for names in stmt.names:
            rel = self.db.find_relation(names, self.session.search_path())
            if rel is None:
                if stmt.if_exists:
                    self.notices.append(f'{kind} "{names[-1]}" does not exist, skipping')
                    continue
                noun = {"table": "table", "view": "view", "index": "index",
                        "sequence": "sequence"}[kind]
                raise SqlError(UNDEFINED_TABLE if kind != "index" else UNDEFINED_OBJECT,
                               f'{noun} "{names[-1]}" does not exist')
            if rel.kind != want:
                raise SqlError(WRONG_OBJECT_TYPE, f'"{rel.name}" is not a {kind}',
                               hint=f"Use DROP {_KIND_NAMES[rel.kind]} to remove a "
                                    f"{_KIND_NAMES[rel.kind].lower()}.")
            targets.append(rel)
        for rel in targets:
            self._drop_relation(rel, stmt.cascade)
        self.changed()
        return tag

    def _drop_relation(self, rel, cascade: bool) -> None:
        db = self.db
        if isinstance(rel, Table):
            for child, c in db.referencing_constraints(rel):
                if child is rel:
                    continue
                if not cascade:
                    raise SqlError(DEPENDENT_OBJECTS, f"cannot drop table {rel.name} because other "
                                   "objects depend on it",
                                   detail=f"constraint {c.name} on table {child.name} depends on "
                                          f"table {rel.name}",
                                   hint="Use DROP ... CASCADE to drop the dependent objects too.")
                self.notices.append(f"drop cascades to constraint {c.name} on table {child.name}")
                self._drop_constraint_object(child, c)
            for view in [r for r in db.relations() if isinstance(r, View)]:
                if _view_uses(view, rel):
                    if not cascade:
                        raise SqlError(DEPENDENT_OBJECTS, f"cannot drop table {rel.name} because "
                                       "other objects depend on it",
                                       detail=f"view {view.name} depends on table {rel.name}",
                                       hint="Use DROP ... CASCADE to drop the dependent objects too.")
                    self.notices.append(f"drop cascades to view {view.name}")
                    db.remove_relation(self.txn, view)
            for index in list(rel.indexes):
                db.remove_relation(self.txn, index)
            for seq in [r for r in db.relations() if isinstance(r, Sequence)
                        and r.owned_by and r.owned_by[0] is rel]:
                db.remove_relation(self.txn, seq)
            for c in rel.constraints:
                db.constraint_by_oid.pop(c.oid, None)
            db.remove_relation(self.txn, rel)
            db.storage.drop_table(self.txn, rel.oid)
        elif isinstance(rel, Index):
            if rel.constraint is not None:
                c = rel.constraint
                raise SqlError(DEPENDENT_OBJECTS, f"cannot drop index {rel.name} because constraint "
                               f"{c.name} on table {rel.table.name} requires it",
                               hint=f"You can drop constraint {c.name} on table {rel.table.name} "
                                    "instead.")
            self._drop_index(rel)
        else:
            db.remove_relation(self.txn, rel)

    def _drop_index(self, index: Index) -> None:
        table = index.table
        self.db.remove_relation(self.txn, index)
        if index in table.indexes:
            table.indexes.remove(index)
            self.txn.on_rollback(lambda: table.indexes.append(index))
        if index.storage_backed:
            self.db.storage.drop_index(self.txn, index.oid)

    def _drop_constraint_object(self, table: Table, c: Constraint) -> None:
        table.constraints.remove(c)
        self.db.constraint_by_oid.pop(c.oid, None)
        self.txn.on_rollback(lambda: table.constraints.append(c))
        if c.index is not None:
            c.index.constraint = None
            self._drop_index(c.index)

    def _drop_schema(self, name: str, if_exists: bool, cascade: bool) -> None:
        schema = self.db.schemas.get(name)
        if schema is None:
            if if_exists:
                self.notices.append(f'schema "{name}" does not exist, skipping')
                return
            raise SqlError(UNDEFINED_SCHEMA, f'schema "{name}" does not exist')
        if schema.relations and not cascade:
            first = next(iter(schema.relations.values()))
            raise SqlError(DEPENDENT_OBJECTS, f"cannot drop schema {name} because other objects "
                           "depend on it",
                           detail=f"{_KIND_NAMES[first.kind].lower()} {first.name} depends on "
                                  f"schema {name}",
                           hint="Use DROP ... CASCADE to drop the dependent objects too.")
        for rel in list(schema.relations.values()):
            if rel.name in schema.relations and isinstance(rel, Table):
                self.notices.append(f"drop cascades to table {name}.{rel.name}")
                self._drop_relation(rel, True)
        for rel in list(schema.relations.values()):
            self.db.remove_relation(self.txn, rel)
        del self.db.schemas[name]
        self.txn.on_rollback(lambda: self.db.schemas.__setitem__(name, schema))

    # -- enum types ----------------------------------------------------------------------

    def create_enum(self, stmt: A.CreateEnum) -> str:
        schema = self.db.creation_schema(stmt.name, self.session.search_path())
        name = stmt.name[-1]
        if name in schema.types or name in T.ALIASES or name in T.BY_NAME:
            raise SqlError(DUPLICATE_OBJECT, f'type "{name}" already exists')
        if len(set(stmt.labels)) != len(stmt.labels):
            raise SqlError("42710", "enum labels must be unique")
        cluster = self.db.cluster
        t = T.make_enum_type(name, cluster.next_oid(), cluster.next_oid(), stmt.labels,
                             schema.oid)
        schema.types[name] = t
        self.txn.on_rollback(lambda: schema.types.pop(name, None))
        self.changed()
        return "CREATE TYPE"

    def alter_enum(self, stmt: A.AlterEnum) -> str:
        t = self.db.find_type(stmt.name[-1], stmt.name[0] if len(stmt.name) > 1 else None,
                              self.session.search_path())
        if t is None or t.labels is None:
            raise SqlError(UNDEFINED_OBJECT, f'type "{".".join(stmt.name)}" does not exist')
        if stmt.label in t.labels:
            if stmt.if_not_exists:
                self.notices.append(f'enum label "{stmt.label}" already exists, skipping')
                return "ALTER TYPE"
            raise SqlError(DUPLICATE_OBJECT, f'enum label "{stmt.label}" already exists')
        t.labels.append(stmt.label)
        self.txn.on_rollback(lambda: t.labels.remove(stmt.label))
        return "ALTER TYPE"

    def _drop_type(self, names: list[str], if_exists: bool, cascade: bool) -> None:
        t = self.db.find_type(names[-1], names[0] if len(names) > 1 else None,
                              self.session.search_path())
        if t is None:
            if if_exists:
                self.notices.append(f'type "{names[-1]}" does not exist, skipping')
                return
            raise SqlError(UNDEFINED_OBJECT, f'type "{".".join(names)}" does not exist')
        for rel in self.db.relations():
            if isinstance(rel, Table) and any(c.type.oid in (t.oid, t.array_oid)
                                              for c in rel.columns):
                if not cascade:
                    raise SqlError(DEPENDENT_OBJECTS, f"cannot drop type {t.name} because other "
                                   "objects depend on it",
                                   detail=f"column of table {rel.name} depends on type {t.name}",
                                   hint="Use DROP ... CASCADE to drop the dependent objects too.")
                raise SqlError(FEATURE_NOT_SUPPORTED, "DROP TYPE ... CASCADE of a type in use "
                               "is not supported")
        schema = next(s for s in self.db.schemas.values() if s.types.get(t.name) is t)
        del schema.types[t.name]
        self.txn.on_rollback(lambda: schema.types.__setitem__(t.name, t))

    # -- ALTER TABLE ---------------------------------------------------------------------

    def alter_table(self, stmt: A.AlterTable) -> str:
        rel = self.db.find_relation(stmt.name, self.session.search_path())
        if rel is None:
            if stmt.if_exists:
                self.notices.append(f'relation "{stmt.name[-1]}" does not exist, skipping')
                return "ALTER TABLE"
            raise SqlError(UNDEFINED_TABLE, f'relation "{".".join(stmt.name)}" does not exist')
        if not isinstance(rel, Table):
            if all(a[0] in ("rename_table", "noop") for a in stmt.actions):
                for action in stmt.actions:
                    if action[0] == "rename_table":
                        self.db.rename_relation(self.txn, rel, action[1])
                self.changed()
                return "ALTER TABLE"
            raise SqlError(WRONG_OBJECT_TYPE, f'"{rel.name}" is not a table')
        self.db.storage.lock_table(self.txn, rel.oid, ACCESS_EXCLUSIVE)
        for action in stmt.actions:
            getattr(self, "alter_" + action[0])(rel, *action[1:])
        self.changed()
        return "ALTER TABLE"

    def alter_noop(self, table):
        pass

    def alter_add_column(self, table: Table, cdef: A.ColumnDef, if_not_exists: bool = False):
        if table.has_column(cdef.name):
            if if_not_exists:
                self.notices.append(f'column "{cdef.name}" of relation "{table.name}" already '
                                    "exists, skipping")
                return
            raise SqlError(DUPLICATE_COLUMN,
                           f'column "{cdef.name}" of relation "{table.name}" already exists')
        old_columns = list(table.columns)
        old_next = table.next_attnum
        pending_constraints = []
        col_def = A.ColumnDef(cdef.name, cdef.type, cdef.not_null, cdef.nullable_explicit,
                              cdef.default, cdef.default_source, False, False, None, None,
                              cdef.identity, generated=cdef.generated,
                              generated_text=cdef.generated_text)
        col = self._add_column(table, col_def)

        def undo():
            table.columns[:] = old_columns
            table.next_attnum = old_next
        self.txn.on_rollback(undo)
        # Existing rows get the default (evaluated once per row, as PostgreSQL does for
        # volatile defaults) or NULL.
        from .dml import TableWriter
        from .executor import ExecContext
        from .planner import Planner
        writer = TableWriter(Planner(self.session), table)
        ctx = ExecContext(self.session, self.txn, self.db.storage)
        default = writer.defaults[-1]
        for rowid, row in self.db.storage.scan(self.txn, table.oid):
            value = default((), ctx) if default is not None else None
            if value is None and col.not_null:
                raise SqlError("23502", f'column "{col.name}" of relation "{table.name}" '
                               "contains null values")
            self.db.storage.update(self.txn, table.oid, rowid,
                                   writer.with_generated(row + (value,), ctx))
        for kind in ("primary", "unique"):
            if getattr(cdef, "primary_key" if kind == "primary" else "unique"):
                pending_constraints.append(A.TableConstraint(
                    kind, cdef.constraint_names.get(kind), [cdef.name]))
        if cdef.check is not None:
            pending_constraints.append(A.TableConstraint(
                "check", cdef.constraint_names.get("check"), [cdef.name], check=cdef.check,
                check_text=cdef.constraint_names.get("check_text")))
        if cdef.references is not None:
            pending_constraints.append(A.TableConstraint(
                "foreign", cdef.constraint_names.get("foreign"), [cdef.name],
                references=cdef.references))
        for c in pending_constraints:
            self._add_table_constraint(table, c)

    def alter_drop_column(self, table: Table, name: str, if_exists: bool, cascade: bool):
        if not table.has_column(name):
            if if_exists:
                self.notices.append(f'column "{name}" of relation "{table.name}" does not exist, '
                                    "skipping")
                return
            raise SqlError(UNDEFINED_COLUMN,
                           f'column "{name}" of relation "{table.name}" does not exist')
        index = table.column_index(name)
        for c in list(table.constraints):
            if name in c.columns:
                if c.kind == "c" and len(c.columns) > 1 and not cascade:
                    raise SqlError(DEPENDENT_OBJECTS, f"cannot drop column {name} of table "
                                   f"{table.name} because other objects depend on it")
                self._drop_constraint_object(table, c)
        for child, c in self.db.referencing_constraints(table):
            if name in c.ref_columns:
                if not cascade:
                    raise SqlError(DEPENDENT_OBJECTS, f"cannot drop column {name} of table "
                                   f"{table.name} because other objects depend on it",
                                   detail=f"constraint {c.name} on table {child.name} depends on "
                                          f"column {name} of table {table.name}",
                                   hint="Use DROP ... CASCADE to drop the dependent objects too.")
                self._drop_constraint_object(child, c)
        for idx in list(table.indexes):
            if name in idx.columns:
                self._drop_index(idx)
        # Index entries refer to row positions: rebuild the remaining indexes after the
        # rows are rewritten without the column.
        remaining = [i for i in table.indexes if i.storage_backed]
        for idx in remaining:
            self.db.storage.drop_index(self.txn, idx.oid)
        col = table.columns[index]
        table.columns.remove(col)
        self.txn.on_rollback(lambda: table.columns.insert(index, col))
        self.db.storage.rewrite(self.txn, table.oid, lambda row: row[:index] + row[index + 1:])
        for idx in remaining:
            positions = tuple(table.column_index(c) for c in idx.columns)
            self.db.storage.create_index(self.txn, idx.oid, table.oid, positions, idx.unique,
                                         idx.descending)
        for seq in [r for r in self.db.relations() if isinstance(r, Sequence)
                    and r.owned_by == (table, name)]:
            self.db.remove_relation(self.txn, seq)

    def alter_rename_column(self, table: Table, old: str, new: str):
        col = table.column(old)
        if table.has_column(new):
            raise SqlError(DUPLICATE_COLUMN,
                           f'column "{new}" of relation "{table.name}" already exists')
        col.name = new
        renamed = []
        for c in table.constraints:
            c.columns = [new if n == old else n for n in c.columns]
        for idx in table.indexes:
            idx.columns = [new if n == old else n for n in idx.columns]
        for _, c in self.db.referencing_constraints(table):
            if old in c.ref_columns:
                c.ref_columns = [new if n == old else n for n in c.ref_columns]
                renamed.append(c)

        def undo():
            col.name = old
            for c in table.constraints:
                c.columns = [old if n == new else n for n in c.columns]
            for idx in table.indexes:
                idx.columns = [old if n == new else n for n in idx.columns]
            for c in renamed:
                c.ref_columns = [old if n == new else n for n in c.ref_columns]
        self.txn.on_rollback(undo)

    def alter_rename_table(self, table: Table, new: str):
        self.db.rename_relation(self.txn, table, new)

    def alter_rename_constraint(self, table: Table, old: str, new: str):
        c = next((c for c in table.constraints if c.name == old), None)
        if c is None:
            raise SqlError(UNDEFINED_OBJECT, f'constraint "{old}" for table "{table.name}" does '
                           "not exist")
        c.name = new
        self.txn.on_rollback(lambda: setattr(c, "name", old))
        if c.index is not None:
            self.db.rename_relation(self.txn, c.index, new)

    def alter_add_constraint(self, table: Table, c: A.TableConstraint):
        self._add_table_constraint(table, c)

    def alter_drop_constraint(self, table: Table, name: str, if_exists: bool):
        c = next((c for c in table.constraints if c.name == name), None)
        if c is None:
            if if_exists:
                self.notices.append(f'constraint "{name}" of relation "{table.name}" does not '
                                    "exist, skipping")
                return
            raise SqlError(UNDEFINED_OBJECT, f'constraint "{name}" of relation "{table.name}" '
                           "does not exist")
        self._drop_constraint_object(table, c)

    def alter_set_default(self, table: Table, name: str, expr, source: str):
        col = table.column(name)
        old = (col.default, col.default_text, col.default_source)
        col.default = expr
        col.default_source = source
        col.default_text = _default_text(expr, col.type)
        self.txn.on_rollback(lambda: (setattr(col, "default", old[0]),
                                      setattr(col, "default_text", old[1]),
                                      setattr(col, "default_source", old[2])))

    def alter_drop_default(self, table: Table, name: str):
        col = table.column(name)
        old = (col.default, col.default_text, col.default_source)
        col.default = col.default_text = col.default_source = None
        self.txn.on_rollback(lambda: (setattr(col, "default", old[0]),
                                      setattr(col, "default_text", old[1]),
                                      setattr(col, "default_source", old[2])))

    def alter_set_not_null(self, table: Table, name: str):
        self._set_not_null(table, table.column(name))

    def alter_drop_not_null(self, table: Table, name: str):
        col = table.column(name)
        pk = table.primary_key
        if pk is not None and name in pk.columns:
            raise SqlError(INVALID_TABLE_DEFINITION, f'column "{name}" is in a primary key')
        col.not_null = False
        self.txn.on_rollback(lambda: setattr(col, "not_null", True))

    def alter_set_type(self, table: Table, name: str, tn: A.TypeName, using):
        col = table.column(name)
        new_type, _ = self._resolve_column_type(tn)
        index = table.column_index(name)
        from .planner import Planner
        planner = Planner(self.session)
        scope = Scope([Col(c.name, c.type, table.name) for c in table.columns])
        source = planner.compiler.compile(using, scope) if using is not None else \
            planner.compiler.compile(A.ColumnRef([name]), scope)
        fn = planner.compiler.coerce(source, new_type, "assignment" if using is None else
                                     "explicit", what=f'column "{name}"').fn
        old_type = col.type
        rows = list(self.db.storage.scan(self.txn, table.oid))
        for rowid, row in rows:
            value = fn(row, None)
            self.db.storage.update(self.txn, table.oid, rowid,
                                   row[:index] + (value,) + row[index + 1:])
        col.type = new_type
        self.txn.on_rollback(lambda: setattr(col, "type", old_type))

    # -- indexes, views, sequences, schemas ------------------------------------------------

    def create_index(self, stmt: A.CreateIndex) -> str:
        table = self.db.relation(stmt.table, self.session.search_path(), "r")
        columns, expression = [], False
        for item in stmt.columns:
            if isinstance(item.expr, A.ColumnRef) and len(item.expr.names) == 1:
                table.column(item.expr.names[0])
                columns.append(item.expr.names[0])
            else:
                expression = True
                columns.append(unparse(item.expr))
        name = stmt.name
        if name is None:
            base = "_".join(c if not expression else "expr" for c in columns)
            name = self.db.unique_name(table.schema, f"{table.name}_{base}_idx")
        elif name in table.schema.relations:
            if stmt.if_not_exists:
                self.notices.append(f'relation "{name}" already exists, skipping')
                return "CREATE INDEX"
            raise SqlError(DUPLICATE_TABLE, f'relation "{name}" already exists')
        if stmt.where is not None:
            expression = True       # partial indexes are recorded, not maintained
        self._create_index(table, name, columns, stmt.unique,
                           descending=[i.descending for i in stmt.columns], method=stmt.method,
                           expression=expression)
        self.changed()
        return "CREATE INDEX"

    def create_view(self, stmt: A.CreateView) -> str:
        from .planner import Planner
        schema = self.db.creation_schema(stmt.name, self.session.search_path())
        name = stmt.name[-1]
        _, columns = Planner(self.session).plan_query(stmt.query)
        names = list(stmt.column_aliases) + [n for n, _ in columns[len(stmt.column_aliases):]]
        cols = [(n, t if t.oid != T.UNKNOWN.oid else T.TEXT) for n, (_, t) in zip(names, columns)]
        existing = schema.relations.get(name)
        if existing is not None:
            if not (stmt.or_replace and isinstance(existing, View)):
                raise SqlError(DUPLICATE_TABLE, f'relation "{name}" already exists')
            self.db.remove_relation(self.txn, existing)
        oid = existing.oid if existing is not None else self.db.cluster.next_oid()
        view = View(oid, name, schema, stmt.query, stmt.query_text, cols)
        self.db.add_relation(self.txn, view)
        self.changed()
        return "CREATE VIEW"

    def create_sequence(self, stmt: A.CreateSequence) -> str:
        schema = self.db.creation_schema(stmt.name, self.session.search_path())
        name = stmt.name[-1]
        if name in schema.relations:
            if stmt.if_not_exists:
                self.notices.append(f'relation "{name}" already exists, skipping')
                return "CREATE SEQUENCE"
            raise SqlError(DUPLICATE_TABLE, f'relation "{name}" already exists')
        o = stmt.options
        data_type = T.lookup_type(o["as"]) if "as" in o else T.INT8
        seq = Sequence(self.db.cluster.next_oid(), name, schema, start=o.get("start"),
                       increment=o.get("increment", 1), minvalue=o.get("minvalue"),
                       maxvalue=o.get("maxvalue"), cycle=o.get("cycle", False),
                       data_type=data_type, cache=o.get("cache", 1))
        if "owned_by" in o:
            owner = o["owned_by"]
            table = self.db.relation(owner[:-1], self.session.search_path(), "r")
            seq.owned_by = (table, owner[-1])
        self.db.add_relation(self.txn, seq)
        self.changed()
        return "CREATE SEQUENCE"

    def alter_sequence(self, stmt: A.AlterSequence) -> str:
        seq = self.db.relation(stmt.name, self.session.search_path(), "S", "relation")
        o = stmt.options
        for key, attr in (("increment", "increment"), ("minvalue", "minvalue"),
                          ("maxvalue", "maxvalue"), ("cycle", "cycle"), ("start", "start")):
            if key in o and o[key] is not None:
                setattr(seq, attr, o[key])
        if "restart" in o:
            seq.last_value = o["restart"] if o["restart"] is not None else seq.start
            seq.is_called = False
            self.db.storage.log_sequence(self.txn, seq.oid, seq.last_value, False)
        return "ALTER SEQUENCE"

    def create_schema(self, stmt: A.CreateSchema) -> str:
        if stmt.name in self.db.schemas:
            if stmt.if_not_exists:
                self.notices.append(f'schema "{stmt.name}" already exists, skipping')
                return "CREATE SCHEMA"
            raise SqlError(DUPLICATE_SCHEMA, f'schema "{stmt.name}" already exists')
        schema = Schema(self.db.cluster.next_oid(), stmt.name)
        self.db.schemas[stmt.name] = schema
        self.txn.on_rollback(lambda: self.db.schemas.pop(stmt.name, None))
        self.changed()
        return "CREATE SCHEMA"

    def truncate(self, stmt: A.Truncate) -> str:
        tables = [self.db.relation(n, self.session.search_path(), "r") for n in stmt.tables]
        for table in list(tables):
            for child, c in self.db.referencing_constraints(table):
                if child in tables:
                    continue
                if not stmt.cascade:
                    raise SqlError(FEATURE_NOT_SUPPORTED, "cannot truncate a table referenced in "
                                   "a foreign key constraint",
                                   detail=f'Table "{child.name}" references "{table.name}".',
                                   hint=f'Truncate table "{child.name}" at the same time, or use '
                                        "TRUNCATE ... CASCADE.")
                self.notices.append(f"truncate cascades to table \"{child.name}\"")
                tables.append(child)
        for table in tables:
            self.db.storage.truncate(self.txn, table.oid)
            if stmt.restart_identity:
                for seq in self.db.relations():
                    if isinstance(seq, Sequence) and seq.owned_by and seq.owned_by[0] is table:
                        seq.last_value, seq.is_called = seq.start, False
                        self.db.storage.log_sequence(self.txn, seq.oid, seq.start, False)
        return "TRUNCATE TABLE"

    def comment(self, stmt: A.Comment) -> str:
        if stmt.kind == "column":
            table = self.db.relation(stmt.name[:-1], self.session.search_path(), "rv")
            if isinstance(table, Table):
                table.column(stmt.name[-1]).comment = stmt.text
        elif stmt.kind == "schema":
            self.db.schema(stmt.name[-1]).comment = stmt.text
        elif stmt.kind == "database":
            db = self.db.cluster.databases.get(stmt.name[-1])
            if db is None:
                raise SqlError("3D000", f'database "{stmt.name[-1]}" does not exist')
            db.comment = stmt.text
        elif stmt.kind != "constraint":
            rel = self.db.relation(stmt.name, self.session.search_path(), "rvSi")
            rel.comment = stmt.text
        return "COMMENT"


INVALID_COLUMN_REFERENCE_FK = "42830"
_KIND_NAMES = {"r": "TABLE", "v": "VIEW", "i": "INDEX", "S": "SEQUENCE"}


def _default_text(node, t: T.SqlType) -> str:
    """A column default as pg_get_expr shows it: literals carry their type."""
    if isinstance(node, A.Const) and node.kind == "string":
        return "'" + node.value.replace("'", "''") + "'::" + T.format_type(t.base if t.typmod < 0
                                                                            else t).split("(")[0]
    if isinstance(node, A.Const) and node.kind in ("int", "numeric") and node.value.startswith("-"):
        return f"'{node.value}'::{T.format_type(t).split('(')[0]}" if t.oid == T.NUMERIC_T.oid \
            else f"'{node.value}'::{T.format_type(t)}"
    text = unparse(node)
    if text.startswith("(") and text.endswith(")") and isinstance(node, A.BinaryOp):
        text = text[1:-1]
    return text


def _referenced_columns(node, table: Table) -> list[str]:
    from .planner import _column_refs
    names = []
    for ref in _column_refs(node):
        name = ref.names[-1]
        if table.has_column(name) and name not in names:
            names.append(name)
    return names


def _view_uses(view: View, table: Table) -> bool:
    from .planner import _walk
    for node in _walk(view.query):
        if isinstance(node, A.TableRef) and node.name[-1] == table.name:
            return True
    return False

