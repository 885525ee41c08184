"""The abstract syntax tree the parser produces: plain data, no behaviour.

Expressions and statements are dataclasses. `pos` fields hold the character offset of
the construct in the query text (for error positions).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class Node:
    __slots__ = ()


# ---------------------------------------------------------------------------------------
# Expressions

@dataclass(eq=False)
class Const(Node):
    value: Any                 # Python value: str for strings and numbers as written
    kind: str                  # 'int' 'numeric' 'string' 'bool' 'null'
    pos: int = -1


@dataclass(eq=False)
class Param(Node):
    number: int                # $1 is 1
    pos: int = -1


@dataclass(eq=False)
class ColumnRef(Node):
    names: list[str]           # ['t', 'col'] or ['col']; a trailing '*' means all columns
    pos: int = -1


@dataclass(eq=False)
class Star(Node):
    table: list[str] | None = None
    pos: int = -1


@dataclass(eq=False)
class TypeName(Node):
    name: str                  # canonical lower-case name ('double precision', 'int4')
    typmods: list[int] = field(default_factory=list)
    array_dims: int = 0
    pos: int = -1


@dataclass(eq=False)
class UnaryOp(Node):
    op: str
    operand: Node
    pos: int = -1


@dataclass(eq=False)
class BinaryOp(Node):
    op: str                    # '+', '=', '||', '->', '~', 'AND', 'OR', ...
    left: Node
    right: Node
    pos: int = -1


@dataclass(eq=False)
class Not(Node):
    operand: Node
    pos: int = -1


@dataclass(eq=False)
class IsNull(Node):
    operand: Node
    negated: bool = False
    pos: int = -1


@dataclass(eq=False)
class IsBool(Node):
    operand: Node
    value: bool | None         # IS TRUE / IS FALSE / IS UNKNOWN (None)
    negated: bool = False
    pos: int = -1


@dataclass(eq=False)
class IsDistinct(Node):
    left: Node
    right: Node
    negated: bool = False      # IS NOT DISTINCT FROM
    pos: int = -1


@dataclass(eq=False)
class Between(Node):
    operand: Node
    low: Node
    high: Node
    negated: bool = False
    symmetric: bool = False
    pos: int = -1


@dataclass(eq=False)
class Like(Node):
    operand: Node
    pattern: Node
    escape: Node | None = None
    negated: bool = False
    case_insensitive: bool = False
    similar: bool = False
    pos: int = -1


@dataclass(eq=False)
class InList(Node):
    operand: Node
    items: list[Node]
    negated: bool = False
    pos: int = -1


@dataclass(eq=False)
class InSubquery(Node):
    operand: Node
    query: Node
    negated: bool = False
    pos: int = -1


@dataclass(eq=False)
class Exists(Node):
    query: Node
    pos: int = -1


@dataclass(eq=False)
class SubqueryExpr(Node):
    """A scalar subquery, `(SELECT ...)` used as a value."""
    query: Node
    pos: int = -1


@dataclass(eq=False)
class ArraySubquery(Node):
    query: Node
    pos: int = -1


@dataclass(eq=False)
class AnyAll(Node):
    op: str
    left: Node
    quantifier: str            # 'ANY' or 'ALL'
    right: Node                # a subquery (Select...) or an array expression
    is_subquery: bool
    pos: int = -1


@dataclass(eq=False)
class FuncCall(Node):
    name: str                  # lower-case, schema prefix removed
    args: list[Node]
    star: bool = False         # count(*)
    distinct: bool = False
    order_by: list["SortItem"] = field(default_factory=list)
    filter: Node | None = None
    over: "WindowSpec | None" = None
    variadic: bool = False
    pos: int = -1


@dataclass(eq=False)
class WindowSpec(Node):
    name: str | None = None    # a reference to a WINDOW clause entry
    partition_by: list[Node] = field(default_factory=list)
    order_by: list["SortItem"] = field(default_factory=list)
    frame: tuple | None = None   # (mode, start, end) as words, e.g. ('rows', ('preceding', 1), ...)


@dataclass(eq=False)
class Cast(Node):
    operand: Node
    type: TypeName
    pos: int = -1


@dataclass(eq=False)
class Case(Node):
    operand: Node | None
    whens: list[tuple[Node, Node]]
    default: Node | None
    pos: int = -1


@dataclass(eq=False)
class ArrayExpr(Node):
    items: list[Node]
    pos: int = -1


@dataclass(eq=False)
class Subscript(Node):
    operand: Node
    index: Node | None
    upper: Node | None = None
    is_slice: bool = False
    pos: int = -1


@dataclass(eq=False)
class FieldSelect(Node):
    operand: Node
    field: str
    pos: int = -1


@dataclass(eq=False)
class RowExpr(Node):
    items: list[Node]
    pos: int = -1


@dataclass(eq=False)
class Collate(Node):
    operand: Node
    collation: str
    pos: int = -1


@dataclass(eq=False)
class DefaultExpr(Node):
    """DEFAULT in INSERT VALUES or UPDATE SET."""
    pos: int = -1


# ---------------------------------------------------------------------------------------
# Queries

@dataclass(eq=False)
class SortItem(Node):
    expr: Node
    descending: bool = False
    nulls_first: bool | None = None      # None: the default for the direction
    using: str | None = None


@dataclass(eq=False)
class Target(Node):
    expr: Node
    alias: str | None = None
    pos: int = -1


@dataclass(eq=False)
class TableRef(Node):
    name: list[str]            # [schema, table] or [table]
    alias: str | None = None
    column_aliases: list[str] = field(default_factory=list)
    only: bool = False
    pos: int = -1


@dataclass(eq=False)
class SubqueryRef(Node):
    query: Node
    alias: str | None
    column_aliases: list[str] = field(default_factory=list)
    lateral: bool = False
    pos: int = -1


@dataclass(eq=False)
class FunctionRef(Node):
    func: FuncCall
    alias: str | None = None
    column_aliases: list[str] = field(default_factory=list)
    with_ordinality: bool = False
    lateral: bool = False
    pos: int = -1


@dataclass(eq=False)
class Join(Node):
    kind: str                  # 'inner' 'left' 'right' 'full' 'cross'
    left: Node
    right: Node
    on: Node | None = None
    using: list[str] | None = None
    natural: bool = False
    pos: int = -1


@dataclass(eq=False)
class CommonTable(Node):
    name: str
    query: Node
    column_aliases: list[str] = field(default_factory=list)
    materialized: bool | None = None


@dataclass(eq=False)
class With(Node):
    recursive: bool
    tables: list[CommonTable]


@dataclass(eq=False)
class Select(Node):
    """One SELECT core; ORDER BY / LIMIT live on the enclosing Query."""
    targets: list[Target]
    from_: list[Node] = field(default_factory=list)
    where: Node | None = None
    group_by: list[Node] = field(default_factory=list)
    having: Node | None = None
    distinct: bool = False
    distinct_on: list[Node] = field(default_factory=list)
    windows: dict = field(default_factory=dict)
    into: list[str] | None = None
    pos: int = -1


@dataclass(eq=False)
class GroupingSets(Node):
    """GROUP BY ROLLUP (...), CUBE (...) or GROUPING SETS (...): the sets, spelled out."""
    kind: str                  # 'rollup' 'cube' 'sets'
    sets: list[list[Node]]
    pos: int = -1


@dataclass(eq=False)
class Values(Node):
    rows: list[list[Node]]
    pos: int = -1


@dataclass(eq=False)
class SetOp(Node):
    op: str                    # 'union' 'intersect' 'except'
    all: bool
    left: Node
    right: Node


@dataclass(eq=False)
class Query(Node):
    """A complete query: WITH, a body (Select, Values or SetOp), ORDER BY, LIMIT."""
    body: Node
    with_: With | None = None
    order_by: list[SortItem] = field(default_factory=list)
    limit: Node | None = None
    offset: Node | None = None
    locking: str | None = None          # FOR UPDATE / FOR SHARE / ...
    lock_wait: str = "wait"             # or NOWAIT ("nowait") or SKIP LOCKED ("skip")
    pos: int = -1
    with_ties: bool = False     # FETCH FIRST n ROWS WITH TIES


# ---------------------------------------------------------------------------------------
# Data modification

@dataclass(eq=False)
class OnConflict(Node):
    target: list[str]              # conflict columns (may be empty)
    constraint: str | None = None
    action: str = "nothing"        # 'nothing' or 'update'
    assignments: list[tuple[list[str], Node]] = field(default_factory=list)
    where: Node | None = None


@dataclass(eq=False)
class Insert(Node):
    table: TableRef
    columns: list[str]
    source: Node | None            # a Query, or None for DEFAULT VALUES
    on_conflict: OnConflict | None = None
    returning: list[Target] = field(default_factory=list)
    with_: With | None = None
    overriding: str | None = None


@dataclass(eq=False)
class Update(Node):
    table: TableRef
    assignments: list[tuple[list[str], Node]]   # ([col], expr) or ([c1, c2], row expr)
    from_: list[Node] = field(default_factory=list)
    where: Node | None = None
    returning: list[Target] = field(default_factory=list)
    with_: With | None = None


@dataclass(eq=False)
class Delete(Node):
    table: TableRef
    using: list[Node] = field(default_factory=list)
    where: Node | None = None
    returning: list[Target] = field(default_factory=list)
    with_: With | None = None


# ---------------------------------------------------------------------------------------
# Definitions

@dataclass(eq=False)
class ColumnDef(Node):
    name: str
    type: TypeName
    not_null: bool = False
    nullable_explicit: bool = False
    default: Node | None = None
    default_source: str | None = None   # the default's SQL text, as written
    primary_key: bool = False
    unique: bool = False
    check: Node | None = None
    references: "ForeignKey | None" = None
    identity: str | None = None        # 'always' / 'by default'
    generated: Node | None = None      # GENERATED ALWAYS AS (expr) STORED
    generated_text: str | None = None
    collation: str | None = None
    constraint_names: dict = field(default_factory=dict)   # kind -> name
    pos: int = -1


@dataclass(eq=False)
class ForeignKey(Node):
    table: list[str]
    columns: list[str]
    on_delete: str = "no action"
    on_update: str = "no action"


@dataclass(eq=False)
class TableConstraint(Node):
    kind: str                  # 'primary' 'unique' 'check' 'foreign'
    name: str | None = None
    columns: list[str] = field(default_factory=list)
    check: Node | None = None
    check_text: str | None = None
    references: ForeignKey | None = None


@dataclass(eq=False)
class TableLike(Node):
    """LIKE other [INCLUDING ...] inside CREATE TABLE: copy another table's columns."""
    table: list[str]
    including: set


@dataclass(eq=False)
class CreateTable(Node):
    name: list[str]
    columns: list[ColumnDef]          # and TableLike entries, in the order written
    constraints: list[TableConstraint]
    if_not_exists: bool = False
    temporary: bool = False
    as_query: Node | None = None
    with_data: bool = True


@dataclass(eq=False)
class DropObjects(Node):
    kind: str                  # 'table' 'view' 'index' 'sequence' 'schema' 'database' 'type'
    names: list[list[str]]
    if_exists: bool = False
    cascade: bool = False


@dataclass(eq=False)
class AlterTable(Node):
    name: list[str]
    actions: list[tuple]       # ('add_column', ColumnDef) ('drop_column', name, if_exists) ...
    if_exists: bool = False


@dataclass(eq=False)
class CreateIndex(Node):
    name: str | None
    table: list[str]
    columns: list[SortItem]
    unique: bool = False
    if_not_exists: bool = False
    method: str = "btree"
    where: Node | None = None
    include: list[str] = field(default_factory=list)


@dataclass(eq=False)
class CreateView(Node):
    name: list[str]
    query: Node
    query_text: str
    column_aliases: list[str] = field(default_factory=list)
    or_replace: bool = False


@dataclass(eq=False)
class CreateEnum(Node):
    name: list[str]
    labels: list[str]


@dataclass(eq=False)
class AlterEnum(Node):
    name: list[str]
    label: str
    if_not_exists: bool = False


@dataclass(eq=False)
class CreateSequence(Node):
    name: list[str]
    options: dict
    if_not_exists: bool = False


@dataclass(eq=False)
class AlterSequence(Node):
    name: list[str]
    options: dict


@dataclass(eq=False)
class CreateSchema(Node):
    name: str
    if_not_exists: bool = False


@dataclass(eq=False)
class CreateDatabase(Node):
    name: str


@dataclass(eq=False)
class Truncate(Node):
    tables: list[list[str]]
    restart_identity: bool = False
    cascade: bool = False


@dataclass(eq=False)
class Comment(Node):
    kind: str
    name: list[str]
    text: str | None


# ---------------------------------------------------------------------------------------
# Session and utility statements

@dataclass(eq=False)
class Transaction(Node):
    action: str                # 'begin' 'commit' 'rollback' 'savepoint' 'release' 'rollback_to'
    savepoint: str | None = None
    options: dict = field(default_factory=dict)
    chain: bool = False
    tag: str | None = None       # the command tag when it differs from the action's


@dataclass(eq=False)
class SetVariable(Node):
    name: str
    value: list[str] | None    # None means DEFAULT
    local: bool = False


@dataclass(eq=False)
class ShowVariable(Node):
    name: str


@dataclass(eq=False)
class ResetVariable(Node):
    name: str                  # 'all' for RESET ALL


@dataclass(eq=False)
class Prepare(Node):
    name: str
    param_types: list[TypeName]
    statement: Node
    statement_text: str


@dataclass(eq=False)
class ExecutePrepared(Node):
    name: str
    params: list[Node]


@dataclass(eq=False)
class Deallocate(Node):
    name: str | None           # None: ALL


@dataclass(eq=False)
class Discard(Node):
    what: str


@dataclass(eq=False)
class Explain(Node):
    statement: Node
    analyze: bool = False
    verbose: bool = False


@dataclass(eq=False)
class Copy(Node):
    table: list[str] | None
    columns: list[str]
    query: Node | None
    direction: str             # 'from' or 'to'
    target: str                # 'stdin' 'stdout' or a file name
    options: dict = field(default_factory=dict)


@dataclass(eq=False)
class Maintenance(Node):
    """VACUUM and ANALYZE: the tables named (all of the database's if none)."""
    vacuum: bool
    analyze: bool
    tables: list[list[str]]


@dataclass(eq=False)
class Reindex(Node):
    kind: str                  # 'index', 'table', 'schema', 'database' or 'system'
    name: list[str]


@dataclass(eq=False)
class LockTable(Node):
    tables: list[list[str]]
    mode: str                  # e.g. 'access exclusive'
    nowait: bool = False


@dataclass(eq=False)
class Utility(Node):
    """Statements accepted and acknowledged without effect (VACUUM, ANALYZE, ...)."""
    tag: str


@dataclass(eq=False)
class Listen(Node):
    action: str                # 'listen' 'unlisten' 'notify'
    channel: str | None        # None: UNLISTEN *
    payload: str = ""


@dataclass(eq=False)
class DeclareCursor(Node):
    name: str
    query: Node
    hold: bool = False


@dataclass(eq=False)
class Fetch(Node):
    name: str
    count: int | None          # None: ALL
    move: bool = False


@dataclass(eq=False)
class CloseCursor(Node):
    name: str | None           # None: ALL


@dataclass(eq=False)
class CreateRole(Node):
    name: str
    options: dict
    alter: bool = False


@dataclass(eq=False)
class DropRole(Node):
    names: list[str]
    if_exists: bool = False
