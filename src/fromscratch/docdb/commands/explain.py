"""explain: how a find, count, distinct, update or delete would run, and what it cost.

The plan is the planner's choice (planner.py): `COLLSCAN`, or `FETCH` over an `IXSCAN`
of one index. With `executionStats` (the default verbosity of the drivers) the query is
also run, and the keys and documents it examined are reported, as MongoDB does.
"""

from __future__ import annotations

from ..errors import MongoError, failed_to_parse
from ..planner import Stats
from .crud import run_query
from . import command
from .handshake import VERSION


def winning_plan(collection, query: dict, hint=None) -> dict:
    if collection is None:
        return {"stage": "EOF"}
    plan = collection.plan(query, hint)
    if plan.index is None:
        return {"stage": "COLLSCAN", "filter": query, "direction": "forward"}
    index = plan.index
    return {"stage": "FETCH", "filter": query,
            "inputStage": {"stage": "IXSCAN", "keyPattern": {f: d for f, d in index.key},
                           "indexName": index.name, "isMultiKey": index.multikey,
                           "isUnique": index.unique, "isSparse": index.sparse,
                           "isPartial": index.partial is not None, "direction": "forward",
                           "indexBounds": {f: [f"{len(plan.bounds)} interval(s)"]
                                           for f, _ in index.key}}}


def describe(ctx, collection, name: str, query: dict, stats: Stats, returned: int,
             hint=None) -> dict:
    return {
        "queryPlanner": {"namespace": f"{ctx.database}.{name}", "parsedQuery": query,
                         "winningPlan": winning_plan(collection, query, hint),
                         "rejectedPlans": []},
        "executionStats": {"executionSuccess": True, "nReturned": returned,
                           "executionTimeMillis": stats.millis,
                           "totalKeysExamined": stats.keys_examined,
                           "totalDocsExamined": stats.docs_examined},
        "serverInfo": {"host": "localhost", "port": ctx.server.port, "version": VERSION},
    }


@command("explain")
def explain(ctx, cmd):
    inner = cmd["explain"]
    if not isinstance(inner, dict) or not inner:
        raise failed_to_parse("explain command requires a nested object")
    kind = next(iter(inner))
    if kind == "aggregate":
        from .aggregate import aggregate
        return aggregate(ctx, {**inner, "explain": True})
    if kind not in ("find", "count", "distinct", "update", "delete", "findAndModify"):
        raise MongoError(59, f"Explain failed due to unknown command: {kind}")
    name = inner[kind]
    collection = ctx.engine.collection(ctx.database, name)
    if kind == "find":
        query = inner.get("filter") or {}
    elif kind in ("count", "distinct", "findAndModify"):
        query = inner.get("query") or {}
    else:
        statements = inner.get("updates" if kind == "update" else "deletes") or [{}]
        query = statements[0].get("q") or {}
    stats = Stats()
    hint = inner.get("hint")
    documents = run_query(ctx, collection, query, hint=hint, stats=stats)
    returned = len(documents)
    if kind == "find":
        returned = len(run_query(ctx, collection, query, inner.get("sort"),
                                 inner.get("skip") or 0, abs(inner.get("limit") or 0), hint))
    return describe(ctx, collection, name, query, stats, returned, hint)
