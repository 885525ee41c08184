"""The catalog: what exists. A cluster of databases, each with schemas holding tables,
views, indexes and sequences, plus the roles shared by the whole cluster.

Every object has an OID (user objects from 16384, as in PostgreSQL) so the pg_catalog
views (pgcatalog.py) can present it the way psql and the drivers expect. Changes made
inside a transaction register an undo with the transaction, so DDL rolls back.
"""

from __future__ import annotations

import itertools
import threading

from . import types as T
from .errors import (DUPLICATE_TABLE, UNDEFINED_COLUMN, UNDEFINED_OBJECT, UNDEFINED_SCHEMA,
                     UNDEFINED_TABLE, SqlError, WRONG_OBJECT_TYPE)

FIRST_USER_OID = 16384
PG_CATALOG_OID = 11
PUBLIC_OID = 2200
INFORMATION_SCHEMA_OID = 13000
BOOTSTRAP_SUPERUSER_OID = 10


class Column:
    __slots__ = ("name", "type", "not_null", "default", "default_source", "default_text",
                 "identity", "attnum", "comment", "generated")

    def __init__(self, name: str, type_: T.SqlType, not_null: bool = False,
                 default=None, default_text: str | None = None, identity: str | None = None,
                 attnum: int = 0):
        self.name = name
        self.type = type_
        self.not_null = not_null
        self.default = default              # AST of the default expression, or None
        self.default_source = None          # its SQL text (what the catalog saves)
        self.default_text = default_text    # as pg_get_expr shows it
        self.identity = identity            # 'a' (always) / 'd' (by default) / None
        self.attnum = attnum
        self.comment = None
        self.generated = None               # AST of GENERATED ALWAYS AS (...) STORED


class Constraint:
    """PRIMARY KEY (p), UNIQUE (u), CHECK (c) or FOREIGN KEY (f)."""

    __slots__ = ("oid", "name", "kind", "columns", "check", "check_text", "index",
                 "ref_table", "ref_columns", "on_delete", "on_update")

    def __init__(self, oid, name, kind, columns, check=None, check_text=None):
        self.oid = oid
        self.name = name
        self.kind = kind
        self.columns: list[str] = columns
        self.check = check
        self.check_text = check_text
        self.index: "Index | None" = None
        self.ref_table: "Table | None" = None
        self.ref_columns: list[str] = []
        self.on_delete = "no action"
        self.on_update = "no action"


class Relation:
    kind = "?"

    def __init__(self, oid: int, name: str, schema: "Schema"):
        self.oid = oid
        self.name = name
        self.schema = schema
        self.comment: str | None = None

    @property
    def qualified_name(self) -> str:
        return f"{self.schema.name}.{self.name}"


class Table(Relation):
    kind = "r"

    def __init__(self, oid, name, schema):
        super().__init__(oid, name, schema)
        self.columns: list[Column] = []
        self.constraints: list[Constraint] = []
        self.indexes: list[Index] = []
        self.next_attnum = 1

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise SqlError(UNDEFINED_COLUMN,
                       f'column "{name}" of relation "{self.name}" does not exist')

    def column_index(self, name: str) -> int:
        for i, col in enumerate(self.columns):
            if col.name == name:
                return i
        raise SqlError(UNDEFINED_COLUMN,
                       f'column "{name}" of relation "{self.name}" does not exist')

    def has_column(self, name: str) -> bool:
        return any(c.name == name for c in self.columns)

    @property
    def primary_key(self) -> Constraint | None:
        for c in self.constraints:
            if c.kind == "p":
                return c
        return None


class Index(Relation):
    kind = "i"

    def __init__(self, oid, name, schema, table: Table, columns: list[str], unique: bool,
                 primary: bool = False, method: str = "btree", descending=None,
                 definition: str | None = None):
        super().__init__(oid, name, schema)
        self.table = table
        self.columns = columns             # column names (expression indexes: their text)
        self.unique = unique
        self.primary = primary
        self.method = method
        self.descending = descending or [False] * len(columns)
        self.definition = definition
        self.constraint: Constraint | None = None
        self.storage_backed = True          # False for expression indexes we only record


class View(Relation):
    kind = "v"

    def __init__(self, oid, name, schema, query, text: str, columns: list[tuple[str, T.SqlType]]):
        super().__init__(oid, name, schema)
        self.query = query
        self.text = text
        self.columns = columns


class Sequence(Relation):
    kind = "S"

    def __init__(self, oid, name, schema, start=1, increment=1, minvalue=None, maxvalue=None,
                 cycle=False, data_type: T.SqlType = T.INT8, cache=1):
        super().__init__(oid, name, schema)
        self.data_type = data_type
        low, high, _ = T.INTEGER_TYPES[data_type.oid]
        self.increment = increment
        self.minvalue = minvalue if minvalue is not None else (1 if increment > 0 else low)
        self.maxvalue = maxvalue if maxvalue is not None else (high if increment > 0 else -1)
        self.start = start if start is not None else (
            self.minvalue if increment > 0 else self.maxvalue)
        self.cycle = cycle
        self.cache = cache
        self.last_value = self.start
        self.is_called = False
        self.owned_by: tuple[Table, str] | None = None
        self.lock = threading.Lock()


class Schema:
    def __init__(self, oid: int, name: str, owner: int = BOOTSTRAP_SUPERUSER_OID):
        self.oid = oid
        self.name = name
        self.owner = owner
        self.relations: dict[str, Relation] = {}
        self.types: dict[str, T.SqlType] = {}      # CREATE TYPE ... AS ENUM
        self.comment: str | None = None


class Database:
    """One database: its schemas and its storage."""

    def __init__(self, cluster: "Cluster", oid: int, name: str):
        self.cluster = cluster
        self.oid = oid
        self.name = name
        self.schemas: dict[str, Schema] = {}
        self.storage = cluster.storage.database(oid)
        self.comment: str | None = None
        self.version = 0          # bumped by every DDL change; cached plans check it
        self._referencing = (-1, {})
        self.by_oid: dict[int, Relation] = {}
        self.constraint_by_oid: dict[int, Constraint] = {}
        for oid_, name_ in ((PG_CATALOG_OID, "pg_catalog"), (PUBLIC_OID, "public"),
                            (INFORMATION_SCHEMA_OID, "information_schema"),
                            (99, "pg_toast")):
            self.schemas[name_] = Schema(oid_, name_)
        self.schemas["public"].owner = 6171   # pg_database_owner, as in PostgreSQL 15

    # -- lookups -------------------------------------------------------------------------

    def schema(self, name: str) -> Schema:
        try:
            return self.schemas[name]
        except KeyError:
            raise SqlError(UNDEFINED_SCHEMA, f'schema "{name}" does not exist') from None

    def find_relation(self, names: list[str], search_path: list[str]) -> Relation | None:
        if len(names) == 3:
            if names[0] != self.name:
                raise SqlError("0A000", "cross-database references are not implemented: "
                               + ".".join(names))
            names = names[1:]
        if len(names) == 2:
            schema = self.schemas.get(names[0])
            if schema is None:
                raise SqlError(UNDEFINED_SCHEMA, f'schema "{names[0]}" does not exist')
            return schema.relations.get(names[1])
        for schema_name in search_path:
            schema = self.schemas.get(schema_name)
            if schema is not None and names[0] in schema.relations:
                return schema.relations[names[0]]
        return None

    def relation(self, names: list[str], search_path: list[str], kinds: str = "rvS",
                 what: str = "relation") -> Relation:
        rel = self.find_relation(names, search_path)
        if rel is None:
            raise SqlError(UNDEFINED_TABLE, f'{what} "{".".join(names)}" does not exist')
        if rel.kind not in kinds:
            raise SqlError(WRONG_OBJECT_TYPE, f'"{rel.name}" is not a {_KIND_WORDS[kinds[0]]}')
        return rel

    def creation_schema(self, names: list[str], search_path: list[str]) -> Schema:
        if len(names) > 1:
            return self.schema(names[-2])
        for name in search_path:
            if name in self.schemas and name != "pg_catalog":
                return self.schemas[name]
        raise SqlError("3F000", "no schema has been selected to create in")

    def find_type(self, name: str, schema_name: str | None, search_path: list[str]):
        names = [schema_name] if schema_name else search_path
        for schema_name in names:
            schema = self.schemas.get(schema_name)
            if schema is not None and name in schema.types:
                return schema.types[name]
        return None

    def user_types(self):
        for schema in list(self.schemas.values()):
            yield from list(schema.types.values())

    def relations(self):
        # Snapshots: another session's DDL may change these dicts meanwhile.
        for schema in list(self.schemas.values()):
            yield from list(schema.relations.values())

    # -- changes (each registers its undo with the transaction) --------------------------

    def add_relation(self, txn, rel: Relation) -> None:
        if rel.name in rel.schema.relations:
            raise SqlError(DUPLICATE_TABLE, f'relation "{rel.name}" already exists')
        rel.schema.relations[rel.name] = rel
        self.by_oid[rel.oid] = rel

        def undo():
            rel.schema.relations.pop(rel.name, None)
            self.by_oid.pop(rel.oid, None)
        txn.on_rollback(undo)

    def remove_relation(self, txn, rel: Relation) -> None:
        rel.schema.relations.pop(rel.name, None)
        self.by_oid.pop(rel.oid, None)

        def undo():
            rel.schema.relations[rel.name] = rel
            self.by_oid[rel.oid] = rel
        txn.on_rollback(undo)

    def rename_relation(self, txn, rel: Relation, new_name: str) -> None:
        if new_name in rel.schema.relations:
            raise SqlError(DUPLICATE_TABLE, f'relation "{new_name}" already exists')
        old = rel.name
        del rel.schema.relations[old]
        rel.name = new_name
        rel.schema.relations[new_name] = rel

        def undo():
            rel.schema.relations.pop(new_name, None)
            rel.name = old
            rel.schema.relations[old] = rel
        txn.on_rollback(undo)

    def add_constraint(self, constraint: Constraint) -> None:
        self.constraint_by_oid[constraint.oid] = constraint

    def referencing_constraints(self, table: Table) -> list[tuple[Table, Constraint]]:
        """Foreign keys in any table that point at `table` (every write plan asks: the
        answer is kept until the catalog changes)."""
        version, cache = self._referencing
        if version != self.version:
            cache = {}
            self._referencing = (self.version, cache)
        found = cache.get(table.oid)
        if found is None or found[0] is not table:
            out = []
            for rel in self.relations():
                if isinstance(rel, Table):
                    for c in rel.constraints:
                        if c.kind == "f" and c.ref_table is table:
                            out.append((rel, c))
            found = cache[table.oid] = (table, out)
        return found[1]

    def unique_name(self, schema: Schema, base: str) -> str:
        """PostgreSQL's choice of a free name: base, then base1, base2, ..."""
        names = set(schema.relations) | {c.name for rel in schema.relations.values()
                                         if isinstance(rel, Table) for c in rel.constraints}
        if base not in names:
            return base
        for n in itertools.count(1):
            candidate = f"{base}{n}"
            if candidate not in names:
                return candidate
        raise AssertionError("unreachable")


_KIND_WORDS = {"r": "table", "v": "view", "S": "sequence", "i": "index"}


class Role:
    def __init__(self, oid: int, name: str, superuser: bool = False, password: str | None = None,
                 login: bool = True):
        self.oid = oid
        self.name = name
        self.superuser = superuser
        self.password = password
        self.login = login


class Cluster:
    """Everything a server holds: databases and roles, and the OID counter. A new
    cluster starts as initdb leaves one; a saved one is loaded by catalog_store.py."""

    def __init__(self, storage, bootstrap: bool = True):
        self.storage = storage            # the storage engine all databases share
        self._next_oid = FIRST_USER_OID
        self.lock = threading.RLock()
        self.databases: dict[str, Database] = {}
        self.roles: dict[str, Role] = {
            "postgres": Role(BOOTSTRAP_SUPERUSER_OID, "postgres", superuser=True),
            # The role that owns schema public in PostgreSQL 15; it cannot log in.
            "pg_database_owner": Role(6171, "pg_database_owner", login=False),
        }
        if bootstrap:
            self.create_database("postgres", oid=5)
            self.create_database("template1", oid=1)
            self.create_database("template0", oid=4)

    def next_oid(self) -> int:
        with self.lock:
            oid = self._next_oid
            self._next_oid += 1
            return oid

    def peek_oid(self) -> int:
        return self._next_oid

    def set_next_oid(self, oid: int) -> None:
        self._next_oid = oid

    def create_database(self, name: str, oid: int | None = None) -> Database:
        db = Database(self, oid if oid is not None else self.next_oid(), name)
        self.databases[name] = db
        return db

    def role_by_oid(self, oid: int) -> Role | None:
        for role in self.roles.values():
            if role.oid == oid:
                return role
        return None


# ---------------------------------------------------------------------------------------
# reg* types: OIDs shown as names and names read as OIDs, resolved against the catalog
# of the session running in this thread.

def _session_catalog():
    return getattr(T.session_local, "catalog", None)


def regformat(oid: int, t: T.SqlType) -> str:
    ctx = _session_catalog()
    if t.oid == T.REGTYPE.oid:
        typ = T.BY_OID.get(oid)
        return T.format_type(typ) if typ else str(oid)
    if ctx is None:
        return str(oid)
    db, search_path = ctx
    if t.oid == T.REGCLASS.oid:
        rel = db.by_oid.get(oid)
        if rel is None:
            from .pgcatalog import system_relation_name
            name = system_relation_name(oid)
            return name or str(oid)
        visible = db.find_relation([rel.name], search_path) is rel
        return rel.name if visible else f"{rel.schema.name}.{rel.name}"
    if t.oid == T.REGNAMESPACE.oid:
        for schema in db.schemas.values():
            if schema.oid == oid:
                return schema.name
    if t.oid == T.REGROLE.oid:
        role = db.cluster.role_by_oid(oid)
        if role:
            return role.name
    if t.oid == T.REGPROC.oid:
        from .functions import function_name_by_oid
        return function_name_by_oid(oid) or ("-" if oid == 0 else str(oid))
    return str(oid)


def regparse(text: str, t: T.SqlType) -> int:
    text = text.strip()
    if text.isdigit():
        return int(text)
    if t.oid == T.REGTYPE.oid:
        from .sql.parser import Parser
        p = Parser(text)
        tn = p.type_name()
        return T.lookup_type(tn.name, tn.typmods, tn.array_dims).oid
    ctx = _session_catalog()
    names = _split_name(text)
    if t.oid == T.REGCLASS.oid:
        from .pgcatalog import system_relation_oid
        db, search_path = ctx
        rel = db.find_relation(names, search_path)
        if rel is not None:
            return rel.oid
        oid = system_relation_oid(names)
        if oid is not None:
            return oid
        raise SqlError(UNDEFINED_TABLE, f'relation "{text}" does not exist')
    if t.oid == T.REGNAMESPACE.oid:
        db, _ = ctx
        schema = db.schemas.get(names[-1])
        if schema is None:
            raise SqlError(UNDEFINED_SCHEMA, f'schema "{text}" does not exist')
        return schema.oid
    if t.oid == T.REGROLE.oid:
        db, _ = ctx
        role = db.cluster.roles.get(names[-1])
        if role is None:
            raise SqlError(UNDEFINED_OBJECT, f'role "{text}" does not exist')
        return role.oid
    if t.oid == T.REGPROC.oid:
        from .functions import function_oid
        oid = function_oid(names[-1])
        if oid is None:
            raise SqlError("42883", f'function "{text}" does not exist')
        return oid
    raise SqlError(UNDEFINED_OBJECT, f'"{text}" does not exist')


def _split_name(text: str) -> list[str]:
    """'public."My Table"' -> ['public', 'My Table'] (unquoted parts lower-cased)."""
    parts, current, quoted, i = [], [], False, 0
    while i < len(text):
        c = text[i]
        if quoted:
            if c == '"' and text[i + 1:i + 2] == '"':
                current.append('"')
                i += 1
            elif c == '"':
                quoted = False
            else:
                current.append(c)
        elif c == '"':
            quoted = True
        elif c == ".":
            parts.append("".join(current))
            current = []
        else:
            current.append(c.lower())
        i += 1
    parts.append("".join(current))
    return parts
