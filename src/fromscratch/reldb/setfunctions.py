"""Set-returning functions used in FROM: generate_series, unnest, the JSON expanders,
regexp_split_to_table ... and any scalar function, which yields one row.

`plan_set_function` compiles the arguments and returns (produce(ctx) -> rows, columns).
"""

from __future__ import annotations

from decimal import Decimal

from . import functions as F
from . import operators as O
from . import types as T
from .errors import INVALID_PARAMETER_VALUE, SqlError
from .sql import ast as A


ZIP = "?rows from"     # several set-returning functions of one select list, side by side


def plan_set_function(compiler, call: A.FuncCall, scope):
    name = call.name
    if name == ZIP:
        return _zip(compiler, call, scope)
    args = [compiler.compile(a, scope) for a in call.args]
    handler = _HANDLERS.get(name)
    if handler is not None:
        return handler(compiler, args, call)
    # A scalar function in FROM: one row, one column named after the function.
    e = compiler.c_FuncCall(call, scope) if name not in F.FUNCTIONS else \
        compiler.call(name, args, call.pos)
    fn = e.fn
    return (lambda ctx: [(fn((), ctx),)]), [(name, e.type)]


def _zip(compiler, call, scope):
    parts = [plan_set_function(compiler, c, scope) for c in call.args]

    def produce(ctx):
        iterators = [iter(p(ctx)) for p, _ in parts]
        widths = [len(cols) for _, cols in parts]
        while True:
            row = ()
            alive = False
            for it, width in zip(iterators, widths):
                r = next(it, None)
                if r is None:
                    row += (None,) * width
                else:
                    alive = True
                    row += tuple(r[:width])
            if not alive:
                return
            yield row
    columns = []
    for _, cols in parts:
        columns.extend(cols[:1] if len(cols) == 1 else cols)
    return produce, columns


def _values(args, ctx):
    return [a.fn((), ctx) for a in args]


def _generate_series(compiler, args, call):
    if len(args) not in (2, 3):
        raise F.no_such_function("generate_series", [a.type for a in args])
    kinds = [a.type for a in args[:2]]
    if any(t.oid in (T.TIMESTAMP.oid, T.TIMESTAMPTZ.oid, T.DATE.oid) for t in kinds):
        t = T.TIMESTAMPTZ if any(k.oid == T.TIMESTAMPTZ.oid for k in kinds) else T.TIMESTAMP
        start = compiler.coerce(args[0], t)
        stop = compiler.coerce(args[1], t)
        step = compiler.coerce(args[2], T.INTERVAL)

        def produce(ctx):
            a, b, s = start.fn((), ctx), stop.fn((), ctx), step.fn((), ctx)
            if a is None or b is None or s is None:
                return
            if s.months == 0 and s.days == 0 and s.micros == 0:
                raise SqlError(INVALID_PARAMETER_VALUE, "step size cannot equal zero")
            forward = s._key() > 0
            current = a
            count = 0
            while (current <= b) if forward else (current >= b):
                yield (current,)
                count += 1
                if count % 1024 == 0:
                    ctx.check()
                current = O.add_interval(current, s)
        return produce, [("generate_series", t)]
    t = compiler.common_type([a.type for a in args], "generate_series")
    if t.oid == T.INT2.oid:
        t = T.INT4
    if not T.is_numeric(t):
        raise F.no_such_function("generate_series", [a.type for a in args])
    coerced = [compiler.coerce(a, t) for a in args]

    def produce(ctx):
        values = _values(coerced, ctx)
        if None in values:
            return
        start, stop = values[0], values[1]
        step = values[2] if len(values) > 2 else (Decimal(1) if isinstance(start, Decimal) else 1)
        if step == 0:
            raise SqlError(INVALID_PARAMETER_VALUE, "step size cannot equal zero")
        current = start
        count = 0
        while (current <= stop) if step > 0 else (current >= stop):
            yield (current,)
            count += 1
            if count % 1024 == 0:
                ctx.check()
            current = current + step
    return produce, [("generate_series", t)]


def _unnest(compiler, args, call):
    arrays = []
    for a in args:
        if a.type.oid == T.UNKNOWN.oid:
            a = compiler.coerce(a, F.TEXT_ARRAY)
        elif a.type.oid in (T.INT2VECTOR.oid, T.OIDVECTOR.oid):
            a = compiler.coerce(a, T.BY_OID[1005 if a.type.oid == T.INT2VECTOR.oid else 1028])
        if a.type.elem is None:
            raise F.no_such_function("unnest", [a.type])
        arrays.append(a)

    def flatten(items):
        for x in items:
            if isinstance(x, list):
                yield from flatten(x)
            else:
                yield x

    def produce(ctx):
        lists = [list(flatten(a.fn((), ctx) or [])) for a in arrays]
        longest = max((len(x) for x in lists), default=0)
        for i in range(longest):
            yield tuple(x[i] if i < len(x) else None for x in lists)
    names = ["unnest"] * len(arrays)
    return produce, [(n, a.type.elem) for n, a in zip(names, arrays)]


def _json_input(compiler, args, name):
    a = args[0]
    if a.type.oid == T.UNKNOWN.oid:
        a = compiler.coerce(a, T.JSON if name.startswith("json_") else T.JSONB)
    if a.type.oid not in (T.JSON.oid, T.JSONB.oid):
        raise F.no_such_function(name, [a.type])
    is_json = a.type.oid == T.JSON.oid

    def value(ctx):
        v = a.fn((), ctx)
        if v is None:
            return None
        return T.parse_jsonb(v) if is_json else v
    return value, is_json


def _element(v, as_json: bool):
    if as_json:
        return T.format_json_compact(v)
    return T.JSON_NULL if v is None else v


def _array_elements(text_mode):
    def handler(compiler, args, call):
        value, is_json = _json_input(compiler, args, call.name)

        def produce(ctx):
            v = value(ctx)
            if v is None:
                return
            if not isinstance(v, list):
                raise SqlError(INVALID_PARAMETER_VALUE, "cannot extract elements from "
                               + ("a scalar" if not isinstance(v, dict) else "an object"))
            for item in v:
                if text_mode:
                    yield (None if item is None else item if isinstance(item, str)
                           else T.format_jsonb(item),)
                else:
                    yield (_element(item, is_json),)
        t = T.TEXT if text_mode else (T.JSON if is_json else T.JSONB)
        return produce, [("value", t)]
    return handler


def _each(text_mode):
    def handler(compiler, args, call):
        value, is_json = _json_input(compiler, args, call.name)

        def produce(ctx):
            v = value(ctx)
            if v is None:
                return
            if not isinstance(v, dict):
                raise SqlError(INVALID_PARAMETER_VALUE, "cannot call " + call.name +
                               " on a non-object")
            keys = v.keys() if is_json else sorted(v, key=T._jsonb_sort_key)
            for k in keys:
                item = v[k]
                if text_mode:
                    yield (k, None if item is None else item if isinstance(item, str)
                           else T.format_jsonb(item))
                else:
                    yield (k, _element(item, is_json))
        t = T.TEXT if text_mode else (T.JSON if is_json else T.JSONB)
        return produce, [("key", T.TEXT), ("value", t)]
    return handler


def _object_keys(compiler, args, call):
    value, is_json = _json_input(compiler, args, call.name)

    def produce(ctx):
        v = value(ctx)
        if v is None:
            return
        if not isinstance(v, dict):
            raise SqlError(INVALID_PARAMETER_VALUE, f"cannot call {call.name} on a scalar")
        for k in (v.keys() if is_json else sorted(v, key=T._jsonb_sort_key)):
            yield (k,)
    return produce, [(call.name, T.TEXT)]


def _regexp_split_to_table(compiler, args, call):
    s = compiler.coerce(args[0], T.TEXT)
    p = compiler.coerce(args[1], T.TEXT)

    def produce(ctx):
        text, pattern = s.fn((), ctx), p.fn((), ctx)
        if text is None or pattern is None:
            return
        for part in O.compile_regex(pattern).split(text):
            yield (part,)
    return produce, [("regexp_split_to_table", T.TEXT)]


def _string_to_table(compiler, args, call):
    s = compiler.coerce(args[0], T.TEXT)
    d = compiler.coerce(args[1], T.TEXT)

    def produce(ctx):
        text, delim = s.fn((), ctx), d.fn((), ctx)
        if text is None:
            return
        for part in F._string_to_array(text, delim):
            yield (part,)
    return produce, [("string_to_table", T.TEXT)]


def _generate_subscripts(compiler, args, call):
    arr = args[0]

    def produce(ctx):
        a = arr.fn((), ctx)
        if a:
            for i in range(1, len(a) + 1):
                yield (i,)
    return produce, [("generate_subscripts", T.INT4)]


def _partition_ancestors(compiler, args, call):
    rel = compiler.coerce(args[0], T.REGCLASS)

    def produce(ctx):
        oid = rel.fn((), ctx)
        if oid is not None:
            yield (oid,)
    return produce, [("relid", T.REGCLASS)]


def _no_rows(columns):
    def handler(compiler, args, call):
        return (lambda ctx: iter(())), columns
    return handler


_HANDLERS = {
    "generate_series": _generate_series,
    "unnest": _unnest,
    "jsonb_array_elements": _array_elements(False),
    "json_array_elements": _array_elements(False),
    "jsonb_array_elements_text": _array_elements(True),
    "json_array_elements_text": _array_elements(True),
    "jsonb_each": _each(False),
    "json_each": _each(False),
    "jsonb_each_text": _each(True),
    "json_each_text": _each(True),
    "jsonb_object_keys": _object_keys,
    "json_object_keys": _object_keys,
    "regexp_split_to_table": _regexp_split_to_table,
    "string_to_table": _string_to_table,
    "generate_subscripts": _generate_subscripts,
    "pg_partition_ancestors": _partition_ancestors,
    "pg_get_keywords": _no_rows([("word", T.NAME), ("catcode", T.CHAR), ("catdesc", T.TEXT)]),
}

SET_FUNCTIONS = set(_HANDLERS)
