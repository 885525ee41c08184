"""The aggregate command: a pipeline over a collection, answered with a cursor.

A leading `$match` is handed to the collection's planner, so it can use an index; the
rest of the pipeline runs in aggregation.py. `explain: true` describes that plan.
"""

from __future__ import annotations

from ..aggregation import Context, compile_pipeline, stream_pipeline
from ..errors import MongoError, failed_to_parse
from ..planner import Stats
from . import command


def pipeline_source(ctx, collection, pipeline: list, stats: Stats | None = None):
    """The documents entering the pipeline, and the stages left to run."""
    if collection is None:
        return [], pipeline
    if pipeline and isinstance(pipeline[0], dict) and "$match" in pipeline[0] \
            and isinstance(pipeline[0]["$match"], dict):
        return collection.find(pipeline[0]["$match"], stats=stats), pipeline[1:]
    return collection.find({}, stats=stats), pipeline


def lookup_context(ctx) -> Context:
    def documents_of(name: str) -> list[dict]:
        other = ctx.engine.collection(ctx.database, name) if isinstance(name, str) else None
        return list(other.documents.values()) if other is not None else []
    return Context(documents_of)


@command("aggregate")
def aggregate(ctx, cmd):
    target = cmd["aggregate"]
    pipeline = cmd.get("pipeline")
    if not isinstance(pipeline, list):
        raise failed_to_parse("'pipeline' option must be specified as an array")
    if target == 1:
        raise MongoError(115, "collection-less aggregations ($currentOp, $documents, ...) "
                              "are not supported by this server")
    if not isinstance(target, str):
        raise failed_to_parse("the aggregate command needs a collection name or 1")
    cursor_options = cmd.get("cursor")
    if not cmd.get("explain") and not isinstance(cursor_options, dict):
        raise failed_to_parse("The 'cursor' option is required, except for aggregate with "
                              "the explain argument")
    context = lookup_context(ctx)
    compile_pipeline(pipeline, context)                # report errors before any work
    collection = ctx.engine.collection(ctx.database, target)
    if cmd.get("explain"):
        from .explain import describe
        stats = Stats()
        source, rest = pipeline_source(ctx, collection, pipeline, stats)
        first = pipeline[0].get("$match", {}) if pipeline and "$match" in pipeline[0] else {}
        results = list(stream_pipeline(source, rest, context))
        return {"stages": [{"$cursor": describe(ctx, collection, target, first, stats,
                                                len(results))}] +
                [stage for stage in pipeline[1 if first else 0:]]}
    source, rest = pipeline_source(ctx, collection, pipeline)
    results = list(stream_pipeline(source, rest, context))
    cursor = ctx.server.cursors.open(f"{ctx.database}.{target}", results,
                                     batch_size=cursor_options.get("batchSize"),
                                     owner=ctx.client.user)
    return {"cursor": cursor}
