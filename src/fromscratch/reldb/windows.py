"""Window functions: compiles one `f(...) OVER (...)` call into what the Window
operator runs: partition key functions, sort keys, and an evaluator that maps a sorted
partition to one value per row.

Frames follow PostgreSQL's defaults: with ORDER BY, RANGE BETWEEN UNBOUNDED PRECEDING
AND CURRENT ROW (the current row's peers included); without, the whole partition.
ROWS frames and RANGE frames take offsets (RANGE: numbers, or intervals for dates and
times); GROUPS frames with offsets are not supported.
"""

from __future__ import annotations

from . import functions as F
from . import types as T
from .errors import FEATURE_NOT_SUPPORTED, SqlError, WINDOWING_ERROR
from .sql import ast as A


def compile_window(planner, call: A.FuncCall, spec: A.WindowSpec, scope):
    compiler = planner.compiler
    partition_fns = [compiler.compile(p, scope).fn for p in spec.partition_by]
    order_keys = []
    for item in spec.order_by:
        fn = compiler.compile(item.expr, scope).fn
        nulls_first = item.nulls_first if item.nulls_first is not None else item.descending
        order_keys.append((fn, item.descending, nulls_first))
    frame = _frame_bounds(spec, compiler, scope)
    name = call.name

    if name in ("row_number", "rank", "dense_rank", "percent_rank", "cume_dist"):
        def evaluate(rows, peers, ctx):
            return F.ranking(name, peers, len(rows))
        return (partition_fns, order_keys, evaluate), F.window_result_type(name, [])

    if name == "ntile":
        arg = compiler.coerce(compiler.compile(call.args[0], scope), T.INT4).fn

        def evaluate(rows, peers, ctx):
            n = len(rows)
            if not n:
                return []
            buckets = F.check_positive(arg(rows[0], ctx))
            size, extra = divmod(n, buckets)
            out = []
            for b in range(buckets):
                out.extend([b + 1] * (size + (1 if b < extra else 0)))
            return out[:n]
        return (partition_fns, order_keys, evaluate), T.INT4

    if name in ("lag", "lead"):
        value = compiler.compile(call.args[0], scope)
        offset = compiler.coerce(compiler.compile(call.args[1], scope), T.INT4).fn \
            if len(call.args) > 1 else None
        default = None
        rtype = value.type if value.type.oid != T.UNKNOWN.oid else T.TEXT
        value = compiler.coerce(value, rtype)
        if len(call.args) > 2:
            default = compiler.coerce(compiler.compile(call.args[2], scope), rtype).fn
        sign = -1 if name == "lag" else 1
        vf = value.fn

        def evaluate(rows, peers, ctx):
            out = []
            n = len(rows)
            for i, row in enumerate(rows):
                k = offset(row, ctx) if offset else 1
                j = i + sign * (k if k is not None else 0)
                if k is None:
                    out.append(None)
                elif 0 <= j < n:
                    out.append(vf(rows[j], ctx))
                else:
                    out.append(default(row, ctx) if default else None)
            return out
        return (partition_fns, order_keys, evaluate), rtype

    if name in ("first_value", "last_value", "nth_value"):
        value = compiler.compile(call.args[0], scope)
        rtype = value.type if value.type.oid != T.UNKNOWN.oid else T.TEXT
        vf = compiler.coerce(value, rtype).fn
        nth = compiler.coerce(compiler.compile(call.args[1], scope), T.INT4).fn \
            if name == "nth_value" else None

        def evaluate(rows, peers, ctx):
            out = []
            for i, (start, end) in enumerate(frame(rows, peers, ctx)):
                if start >= end:
                    out.append(None)
                elif name == "first_value":
                    out.append(vf(rows[start], ctx))
                elif name == "last_value":
                    out.append(vf(rows[end - 1], ctx))
                else:
                    k = nth(rows[i], ctx)
                    out.append(vf(rows[start + k - 1], ctx) if k and start + k - 1 < end else None)
            return out
        return (partition_fns, order_keys, evaluate), rtype

    if not F.is_aggregate(name):
        raise SqlError("42809", f"function {name} is not a window function nor an aggregate")
    agg_call = A.FuncCall(name, call.args, call.star, call.distinct, call.order_by,
                          call.filter, None, pos=call.pos)
    factory, rtype = planner.aggregate_factory(agg_call, scope)

    def evaluate(rows, peers, ctx):
        bounds = frame(rows, peers, ctx)
        out = []
        running = None
        running_end = 0
        for start, end in bounds:
            if start == 0 and end >= running_end and running is not None:
                for row in rows[running_end:end]:
                    running.add(row, ctx)
                running_end = end
                out.append(running.result(ctx))
                continue
            if start == 0:
                running = factory()
                for row in rows[:end]:
                    running.add(row, ctx)
                running_end = end
                out.append(running.result(ctx))
                continue
            acc = factory()
            for row in rows[start:end]:
                acc.add(row, ctx)
            out.append(acc.result(ctx))
        return out
    return (partition_fns, order_keys, evaluate), rtype


def _frame_bounds(spec: A.WindowSpec, compiler, scope):
    """A function giving, for a sorted partition, each row's frame as [start, end)."""
    has_order = bool(spec.order_by)
    if spec.frame is None:
        if not has_order:
            return lambda rows, peers, ctx: [(0, len(rows))] * len(rows)
        return _range_to_current

    mode, start, end = spec.frame
    if mode == "groups" and (start[1] is not None or end[1] is not None):
        raise SqlError(FEATURE_NOT_SUPPORTED, "GROUPS frames with offsets are not supported")
    if mode == "range" and (start[1] is not None or end[1] is not None):
        return _range_offsets(spec, start, end, compiler, scope)
    offsets = {}
    for which, bound in (("start", start), ("end", end)):
        if bound[1] is not None:
            offsets[which] = compiler.coerce(compiler.compile(bound[1], scope), T.INT8).fn
    if start[0] == "unbounded following" or end[0] == "unbounded preceding":
        raise SqlError(WINDOWING_ERROR, "frame start cannot be UNBOUNDED FOLLOWING")

    def bounds(rows, peers, ctx):
        n = len(rows)
        ends = F.peer_ends(peers) if mode != "rows" else None
        out = []
        for i, row in enumerate(rows):
            out.append((_bound(start, i, n, peers, ends, offsets.get("start"), row, ctx, True),
                        _bound(end, i, n, peers, ends, offsets.get("end"), row, ctx, False)))
        return out
    return bounds


def _bound(bound, i, n, peers, ends, offset_fn, row, ctx, is_start):
    kind = bound[0]
    if kind == "unbounded preceding":
        return 0
    if kind == "unbounded following":
        return n
    if kind == "current row":
        if ends is None:
            return i if is_start else i + 1
        return peers[i] if is_start else ends[i] + 1
    k = offset_fn(row, ctx)
    if k is None or k < 0:
        raise SqlError("22013", "frame starting offset must not be negative"
                       if is_start else "frame ending offset must not be negative")
    position = i - k if kind == "preceding" else i + k
    position = position if is_start else position + 1
    return max(0, min(n, position))


def _range_offsets(spec, start, end, compiler, scope):
    """RANGE BETWEEN x PRECEDING AND y FOLLOWING: the frame holds the rows whose sort
    key lies within the offsets of the current row's key (one ORDER BY column; for
    dates and timestamps the offset is an interval)."""
    if len(spec.order_by) != 1:
        raise SqlError(WINDOWING_ERROR, "RANGE with offset PRECEDING/FOLLOWING requires "
                       "exactly one ORDER BY column")
    item = spec.order_by[0]
    key = compiler.compile(item.expr, scope)
    descending = item.descending
    steps = {}
    for which, bound in (("start", start), ("end", end)):
        if bound[1] is None:
            continue
        offset = compiler.compile(bound[1], scope)
        # key - offset and key + offset, typed as PostgreSQL's in_range functions are.
        forward = (bound[0] == "following") != descending
        op = "+" if forward else "-"
        from .expressions import Expr
        placeholder = Expr(lambda row, ctx: row[0], key.type)
        offset_value = Expr(lambda row, ctx: row[1], offset.type)
        shifted = compiler.binary(op, placeholder, offset_value)
        # Keys compare with the bound in the bound's type (date - interval is a timestamp).
        convert = T.cast_function(key.type, shifted.type, False) \
            if shifted.type.oid != key.type.oid else None
        steps[which] = (offset.fn, shifted.fn, convert)
    key_fn = key.fn

    def limit_value(which, value, row, ctx):
        offset_fn, shifted, _ = steps[which]
        amount = offset_fn(row, ctx)
        if amount is None or (not hasattr(amount, "months") and amount < 0):
            raise SqlError("22013", "invalid preceding or following size in window function")
        return shifted((value, amount), ctx)

    def comparable(which, keys):
        convert = steps[which][2] if which in steps else None
        return [None if k is None or convert is None else convert(k) for k in keys] \
            if convert is not None else keys

    def bounds(rows, peers, ctx):
        raw = [key_fn(r, ctx) for r in rows]
        low_keys, high_keys = comparable("start", raw), comparable("end", raw)
        n = len(rows)
        ends = F.peer_ends(peers)
        out = []
        for i, row in enumerate(rows):
            value = raw[i]
            if start[0] == "unbounded preceding":
                lo = 0
            elif start[0] == "current row" or value is None:
                lo = peers[i]
            else:
                target = limit_value("start", value, row, ctx)
                keys = low_keys
                lo = next((j for j in range(n) if keys[j] is not None and
                           (keys[j] >= target if not descending else keys[j] <= target)), n)
            if end[0] == "unbounded following":
                hi = n
            elif end[0] == "current row" or value is None:
                hi = ends[i] + 1
            else:
                target = limit_value("end", value, row, ctx)
                keys = high_keys
                hi = next((j for j in range(n - 1, -1, -1) if keys[j] is not None and
                           (keys[j] <= target if not descending else keys[j] >= target)), -1) + 1
            out.append((lo, max(lo, hi)))
        return out
    return bounds


def _range_to_current(rows, peers, ctx):
    ends = F.peer_ends(peers)
    return [(0, ends[i] + 1) for i in range(len(rows))]
