"""The aggregate command: a pipeline over a collection, answered with a cursor.

A leading `$match` is handed to the collection's planner, so it can use an index; the
rest of the pipeline runs in aggregation.py. `explain: true` describes that plan.
"""

from __future__ import annotations

from ..aggregation import Context, compile_pipeline, documents_stage, stream_pipeline
from ..errors import MongoError, failed_to_parse
from ..planner import Stats
from . import command
from .crud import collation_of, ensure_id, let_variables


def pipeline_source(ctx, collection, pipeline: list, context: Context,
                    stats: Stats | None = None):
    """The documents entering the pipeline, and the stages left to run."""
    if collection is None:
        return [], pipeline
    if pipeline and isinstance(pipeline[0], dict) and "$match" in pipeline[0] \
            and isinstance(pipeline[0]["$match"], dict):
        return collection.find(pipeline[0]["$match"], stats=stats, variables=context.variables,
                               collation=context.collation), pipeline[1:]
    return collection.find({}, stats=stats), pipeline


def pipeline_context(ctx, cmd: dict) -> Context:
    """What the pipeline may reach: this database's collections ($lookup), writing one
    ($out), and the command's `let` variables."""
    bypass = bool(cmd.get("bypassDocumentValidation"))

    def documents_of(name: str) -> list[dict]:
        other = ctx.engine.collection(ctx.database, name) if isinstance(name, str) else None
        return other.find({}) if other is not None else []

    def replace_collection(name: str, documents: list[dict]) -> None:
        ctx.wrote = True
        ctx.engine.drop_collection(ctx.database, name)
        target = ctx.engine.create_collection(ctx.database, name)
        for document in documents:
            target.insert(ensure_id(document), bypass)

    def merge_into(name: str, documents: list[dict], on: list[str], when_matched: str,
                   when_not_matched: str) -> None:
        ctx.wrote = True
        target = ctx.engine.collection(ctx.database, name, create=True)
        for document in documents:
            document = ensure_id(document)
            query = {field: document.get(field) for field in on}
            existing = target.find(query)
            if existing:
                old = existing[0]
                if when_matched == "fail":
                    target.indexes["_id_"].check(document, None, target.namespace)
                    raise MongoError(11000, "E11000 duplicate key error in $merge")
                if when_matched == "keepExisting":
                    continue
                new = document if when_matched == "replace" else {**old, **document}
                target.replace(old, {**new, "_id": old["_id"]}, bypass)
            elif when_not_matched == "insert":
                target.insert(document, bypass)
            elif when_not_matched == "fail":
                raise MongoError(13113, "$merge could not find a matching document in the "
                                        "target collection")

    return Context(documents_of, replace_collection, let_variables(cmd), merge_into,
                   collation_of(cmd))


COLLECTION_LESS = ("$documents", "$listLocalSessions")


def collection_less_source(ctx, stage: dict, context: Context) -> list[dict]:
    """The documents a collection-less aggregate starts from (`aggregate: 1`)."""
    name, spec = next(iter(stage.items()))
    if name == "$documents":
        return documents_stage(spec, context)
    spec = spec if isinstance(spec, dict) else {}
    return ctx.server.sessions.documents(ctx.client.user, bool(spec.get("allUsers")))


@command("aggregate")
def aggregate(ctx, cmd):
    target = cmd["aggregate"]
    pipeline = cmd.get("pipeline")
    if not isinstance(pipeline, list):
        raise failed_to_parse("'pipeline' option must be specified as an array")
    first_stage = next(iter(pipeline[0]), None) if pipeline and isinstance(pipeline[0], dict) \
        else None
    if target == 1 and first_stage not in COLLECTION_LESS:
        raise MongoError(115, "collection-less aggregations other than $documents and "
                              "$listLocalSessions ($currentOp, ...) are not supported")
    if not isinstance(target, str) and target != 1:
        raise failed_to_parse("the aggregate command needs a collection name or 1")
    cursor_options = cmd.get("cursor")
    if not cmd.get("explain") and not isinstance(cursor_options, dict):
        raise failed_to_parse("The 'cursor' option is required, except for aggregate with "
                              "the explain argument")
    context = pipeline_context(ctx, cmd)
    compile_pipeline(pipeline[1:] if target == 1 else pipeline, context)   # errors first
    collection = ctx.engine.collection(ctx.database, target) if target != 1 else None
    if cmd.get("explain"):
        from .explain import describe
        context.replace_collection = lambda name, documents: None     # explain writes nothing
        stats = Stats()
        source, rest = pipeline_source(ctx, collection, pipeline, context, stats)
        first = pipeline[0].get("$match", {}) if pipeline and "$match" in pipeline[0] else {}
        results = list(stream_pipeline(source, rest, context))
        return {"stages": [{"$cursor": describe(ctx, collection, target, first, stats,
                                                len(results))}] +
                [stage for stage in pipeline[1 if first else 0:]]}
    if target == 1:
        source, rest = collection_less_source(ctx, pipeline[0], context), pipeline[1:]
        target = "$cmd.aggregate"
    else:
        source, rest = pipeline_source(ctx, collection, pipeline, context)
    results = list(stream_pipeline(source, rest, context))
    cursor = ctx.server.cursors.open(f"{ctx.database}.{target}", results,
                                     batch_size=cursor_options.get("batchSize"),
                                     owner=ctx.client.user)
    return {"cursor": cursor}
