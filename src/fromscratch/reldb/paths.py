"""How to read a table and how to join two inputs: the planner's choices, made with
estimates.

Estimates come from the storage (each table's live row count, kept current by writes
and VACUUM) and from ANALYZE (per column: distinct values, NULL fraction, smallest and
largest value). Where nothing is known, PostgreSQL's defaults: an equality keeps 0.5%
of the rows, a one-sided range a third, a range bounded on both sides 0.5%.

Costs are this engine's, in units of one row read by a sequential scan: a row fetched
through an index costs FETCH (a B+tree descent is amortized, then a heap page and a
version check), each index search DESCENT more.

For one table and its own conditions the candidates are
  * Seq Scan;
  * Index Scan: equality on the leading columns of an index;
  * Index Scan with a range: equality on some leading columns, then <, <=, >, >= or
    BETWEEN on the next one. Rows come in index order, so an ORDER BY on those columns
    needs no Sort (a backward scan gives the reverse order), which with a LIMIT reads
    only the first rows.
For a join of the inputs so far with one more table: hash join (equi-join; it builds
its table on the smaller side), index nested loop (an index of the table leads with the
join columns and few rows come from the left), merge join (equi-joins on floats or
char(n), whose hashing would miss SQL's equality), nested loop (anything else).
"""

from __future__ import annotations

from . import types as T
from .executor import IndexRangeScan, IndexScan, SeqScan
from .expressions import Scope
from .sql import ast as A

FETCH = 2.0
DESCENT = 4.0
DEFAULT_EQUALITY = 0.005
DEFAULT_RANGE = 1 / 3
DEFAULT_BETWEEN = 0.005
DEFAULT_OTHER = 1 / 3
UNKNOWN_ROWS = 1000

_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "="}
# Types an index can be searched by range on (their keys sort as SQL sorts them).
_NO_RANGE = {T.BPCHAR.oid, T.JSON.oid, T.JSONB.oid, T.RECORD.oid}


class Conditions:
    """What a table's own conditions say about each of its columns."""

    def __init__(self):
        self.equal: dict[int, tuple] = {}        # column -> (conjunct, value node)
        self.low: dict[int, list] = {}           # column -> [(conjunct, node, inclusive)]
        self.high: dict[int, list] = {}
        self.other: list = []                     # conjuncts not about one column


def table_rows(planner, table) -> float:
    """Live rows, but never fewer than UNKNOWN_ROWS (as PostgreSQL assumes ten pages of
    a table never vacuumed): plans are kept (prepared statements, generic plans), so one
    made while a table is empty or tiny must still suit it once filled. Below that size
    every plan is fast anyway."""
    rows = planner.db.storage.count(None, table.oid)
    return float(max(rows, UNKNOWN_ROWS))


def column_stats(planner, table, column: int) -> dict | None:
    stats = planner.db.storage.table_stats(table.oid).get("columns")
    if stats and column < len(stats):
        return stats[column]
    return None


def distinct_values(planner, table, column: int) -> float | None:
    """Estimated number of distinct values in a column (None if unknown)."""
    if any(i.unique and i.storage_backed and i.columns == [table.columns[column].name]
           for i in table.indexes):
        return table_rows(planner, table)
    stats = column_stats(planner, table, column)
    if not stats:
        return None
    n = stats["n_distinct"]
    return -n * table_rows(planner, table) if n < 0 else max(n, 1.0)


def gather(planner, table, scope: Scope, conjuncts) -> Conditions:
    """Sort a table's conjuncts by the column they restrict (when the other side is a
    constant, a parameter or a column of an enclosing query)."""
    found = Conditions()
    width = len(table.columns)

    def column(node):
        if isinstance(node, A.ColumnRef):
            index = _own_column(planner, node, scope)
            if index is not None and index < width:
                return index
        return None

    def value(node) -> bool:
        return planner.value_for_key(node, scope)

    for c in conjuncts:
        if isinstance(c, A.BinaryOp) and c.op in _FLIP:
            for col_side, val_side, op in ((c.left, c.right, c.op),
                                           (c.right, c.left, _FLIP[c.op])):
                i = column(col_side)
                if i is not None and value(val_side):
                    if op == "=":
                        found.equal.setdefault(i, (c, val_side))
                    elif op in ("<", "<="):
                        found.high.setdefault(i, []).append((c, val_side, op == "<="))
                    else:
                        found.low.setdefault(i, []).append((c, val_side, op == ">="))
                    break
            else:
                found.other.append(c)
        elif isinstance(c, A.Between) and not c.negated and not c.symmetric:
            i = column(c.operand)
            if i is not None and value(c.low) and value(c.high):
                found.low.setdefault(i, []).append((c, c.low, True))
                found.high.setdefault(i, []).append((c, c.high, True))
            else:
                found.other.append(c)
        else:
            found.other.append(c)
    return found


def _own_column(planner, ref: A.ColumnRef, scope: Scope):
    """The index of a column of `scope` itself (not of an enclosing query)."""
    if not planner._local(ref, scope):
        return None
    return scope.lookup(ref.names)


def _range_fraction(planner, table, column: int, lows, highs) -> float:
    """The fraction of rows a range keeps: interpolated between the column's smallest and
    largest values when ANALYZE knows them and the bounds are constants."""
    stats = column_stats(planner, table, column)
    if stats and stats.get("min") is not None:
        low, high = stats["min"], stats["max"]
        span = _number(high) - _number(low) if _number(low) is not None else None
        if span:
            start, end = _number(low), _number(high)
            for _, node, _ in lows:
                v = _constant_number(node)
                if v is not None:
                    start = max(start, v)
            for _, node, _ in highs:
                v = _constant_number(node)
                if v is not None:
                    end = min(end, v)
            return max(0.0, min(1.0, (end - start) / span)) or 1 / table_rows(planner, table)
    if lows and highs:
        return DEFAULT_BETWEEN
    return DEFAULT_RANGE


def _number(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _constant_number(node):
    if isinstance(node, A.Const) and node.kind in ("int", "numeric"):
        return float(node.value)
    return None


def estimate_filter(planner, table, conditions: Conditions) -> float:
    """The fraction of a table's rows its own conditions keep."""
    fraction = 1.0
    for column in conditions.equal:
        distinct = distinct_values(planner, table, column)
        fraction *= 1 / distinct if distinct else DEFAULT_EQUALITY
    for column in set(conditions.low) | set(conditions.high):
        if column in conditions.equal:
            continue
        fraction *= _range_fraction(planner, table, column, conditions.low.get(column, []),
                                    conditions.high.get(column, []))
    fraction *= DEFAULT_OTHER ** len(conditions.other)
    return fraction


class Path:
    """A way to read a table: the plan, its cost, its rows, the order of its rows
    ((column, descending) pairs, or [] if none) and the conjuncts its index search
    applies (`used`)."""

    def __init__(self, plan, cost: float, rows: float, order=(), used=()):
        self.plan = plan
        self.cost = cost
        self.rows = rows
        self.order = list(order)
        self.used = list(used)


def choose_scan(planner, scan: SeqScan, scope: Scope, conjuncts, wanted_order=None,
                limited: bool = False) -> Path:
    """The cheapest way to read `scan`'s table with its conditions; `wanted_order`
    ([(column, descending, nulls_first)]) is the ORDER BY a path may also satisfy, which
    wins when the query has a LIMIT (`limited`)."""
    table = scan.table
    total = table_rows(planner, table)
    conditions = gather(planner, table, scope, conjuncts)
    rows = total * estimate_filter(planner, table, conditions)
    best = Path(scan, total, rows)
    enable_index = planner.session.settings.get("enable_indexscan", "on") != "off"
    enable_seq = planner.session.settings.get("enable_seqscan", "on") != "off"
    if not enable_seq:
        best.cost = float("inf")
    if not enable_index:
        return best
    for index in table.indexes:
        if not index.storage_backed or index.method not in ("btree", "hash"):
            continue
        path = _index_path(planner, scan, scope, index, conditions, total, wanted_order)
        if path is None:
            continue
        if wanted_order and limited and path.order and satisfies(path.order, wanted_order):
            path.cost = min(path.cost, DESCENT)
        if path.cost < best.cost:
            best = path
    return best


def _index_path(planner, scan, scope, index, conditions: Conditions, total, wanted_order):
    table = scan.table
    positions = [table.column_index(name) for name in index.columns]
    prefix_fns, used = [], []
    fraction = 1.0
    for column in positions:
        if column not in conditions.equal:
            break
        conjunct, node = conditions.equal[column]
        fn = planner.key_function(table.columns[column].type, node, scope, equality=True)
        if fn is None:
            break
        prefix_fns.append(fn)
        used.append(conjunct)
        distinct = distinct_values(planner, table, column)
        fraction *= 1 / distinct if distinct else DEFAULT_EQUALITY
    k = len(prefix_fns)
    if k == len(positions) or (k and not _range_column(conditions, positions, k)
                               and not wanted_order):
        if index.unique and k == len(positions):
            fraction = min(fraction, 1 / total)
        rows = max(total * fraction, 1.0)
        plan = IndexScan(table, index, prefix_fns, scan.with_rowid, scan.label,
                         planner.describe(used))
        return Path(plan, DESCENT + rows * FETCH, rows, used=used)
    column = positions[k]
    low = high = None
    col_type = table.columns[column].type
    if _range_column(conditions, positions, k) and col_type.oid not in _NO_RANGE \
            and col_type.elem is None:
        for bound, conj, node, inclusive in _bounds(conditions, column):
            fn = planner.key_function(col_type, node, scope, equality=False)
            if fn is None:
                continue
            if bound == "low" and low is None:
                low = (fn, inclusive)
                used.append(conj)
            elif bound == "high" and high is None:
                high = (fn, inclusive)
                if conj not in used:
                    used.append(conj)
        if low is not None or high is not None:
            fraction *= _range_fraction(planner, table, column,
                                        conditions.low.get(column, []) if low else [],
                                        conditions.high.get(column, []) if high else [])
    if not used and not wanted_order:
        return None
    rows = max(total * fraction, 1.0)
    descending = index.descending or [False] * len(positions)
    order = [(c, d) for c, d in zip(positions[k:], descending[k:])]
    reverse = False
    if wanted_order and satisfies(order, wanted_order, reverse=True) and \
            not satisfies(order, wanted_order):
        reverse = True
        order = [(c, not d) for c, d in order]
    clamp = T.INTEGER_TYPES.get(col_type.oid)
    plan = IndexRangeScan(table, index, prefix_fns, low, high, reverse, scan.with_rowid,
                          scan.label, planner.describe(used),
                          clamp[:2] if clamp else None)
    return Path(plan, DESCENT + rows * FETCH, rows, order, used)


def _range_column(conditions, positions, k) -> bool:
    return k < len(positions) and (positions[k] in conditions.low or
                                   positions[k] in conditions.high)


def _bounds(conditions, column):
    for conj, node, inclusive in conditions.low.get(column, []):
        yield "low", conj, node, inclusive
    for conj, node, inclusive in conditions.high.get(column, []):
        yield "high", conj, node, inclusive


def satisfies(order, wanted, reverse: bool = False) -> bool:
    """Does an index order ([(column, descending)]) give the wanted ORDER BY
    ([(column, descending, nulls_first)])? An index keeps NULLs last in ascending order
    and first in descending order, as ORDER BY does by default."""
    if len(wanted) > len(order):
        return False
    for (column, descending), (want_column, want_desc, nulls_first) in zip(order, wanted):
        if reverse:
            descending = not descending
        if column != want_column or descending != want_desc or nulls_first != descending:
            return False
    return True
