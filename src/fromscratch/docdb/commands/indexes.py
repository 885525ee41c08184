"""Index management: createIndexes listIndexes dropIndexes."""

from __future__ import annotations

from ..errors import MongoError, failed_to_parse
from . import collection_name, command


@command("createIndexes")
def create_indexes(ctx, cmd):
    name = collection_name(cmd, "createIndexes")
    specs = cmd.get("indexes")
    if not isinstance(specs, list) or not specs:
        raise failed_to_parse("Must specify at least one index to create")
    for spec in specs:
        if not isinstance(spec, dict) or "key" not in spec:
            raise failed_to_parse("The 'key' field is a required property of an index specification")
        if "name" not in spec:
            raise failed_to_parse("The 'name' field is a required property of an index specification")
    ctx.wrote = True
    collection = ctx.engine.collection(ctx.database, name)
    created_collection = collection is None
    if collection is None:
        collection = ctx.engine.create_collection(ctx.database, name)
    before = len(collection.indexes)
    for spec in specs:
        collection.create_index(spec)
    reply = {"numIndexesBefore": before, "numIndexesAfter": len(collection.indexes),
             "createdCollectionAutomatically": created_collection}
    if before == len(collection.indexes):
        reply["note"] = "all indexes already exist"
    return reply


@command("listIndexes")
def list_indexes(ctx, cmd):
    name = collection_name(cmd, "listIndexes")
    collection = ctx.engine.collection(ctx.database, name)
    if collection is None:
        raise MongoError(26, f"ns does not exist: {ctx.database}.{name}")
    specs = [index.spec() for index in collection.indexes.values()]
    cursor = ctx.server.cursors.open(f"{ctx.database}.{name}", specs,
                                     batch_size=(cmd.get("cursor") or {}).get("batchSize"),
                                     owner=ctx.client.user)
    return {"cursor": cursor}


@command("dropIndexes", "deleteIndexes")
def drop_indexes(ctx, cmd):
    name = collection_name(cmd, next(iter(cmd)))
    collection = ctx.engine.collection(ctx.database, name)
    if collection is None:
        raise MongoError(26, f"ns not found {ctx.database}.{name}")
    before = len(collection.indexes)
    wanted = cmd.get("index")
    ctx.wrote = True
    if wanted == "*":
        for index_name in [n for n in collection.indexes if n != "_id_"]:
            collection.drop_index(index_name)
    else:
        for item in (wanted if isinstance(wanted, list) else [wanted]):
            index = collection.index_named(item)
            if index is None:
                raise MongoError(27, f"index not found with name [{item}]")
            collection.drop_index(index.name)
    return {"nIndexesWas": before}
