"""Databases and collections: listDatabases listCollections create drop dropDatabase
renameCollection collStats dbStats.

Databases and collections come into being on first write (or `create`) and disappear
with `drop`/`dropDatabase`; a database without collections is not listed.
"""

from __future__ import annotations

import uuid

from ..bson import Binary, Int64
from ..errors import MongoError, failed_to_parse
from ..matcher import Matcher
from . import collection_name, command


def _storage_size(collection) -> int:
    return collection.data_size


def _index_size(collection) -> int:
    # An estimate: each entry holds a key and a document id, ~ 32 bytes apiece.
    return sum(len(index.entries) for index in collection.indexes.values()) * 32


@command("listDatabases")
def list_databases(ctx, cmd):
    matcher = Matcher(cmd.get("filter") or {})
    databases = []
    for name in ctx.engine.database_names():
        collections = ctx.engine.databases[name].values()
        size = sum(_storage_size(c) + _index_size(c) for c in collections)
        entry = {"name": name, "sizeOnDisk": Int64(size), "empty": size == 0}
        if matcher.matches(entry):
            databases.append({"name": name} if cmd.get("nameOnly") else entry)
    total = sum(d.get("sizeOnDisk", 0) for d in databases)
    return {"databases": databases, "totalSize": Int64(total), "totalSizeMb": Int64(total >> 20)}


def collection_info(collection) -> dict:
    if collection.is_view:
        return {"name": collection.name, "type": "view", "options": collection.options,
                "info": {"readOnly": True}}
    return {"name": collection.name, "type": "collection", "options": collection.options,
            "info": {"readOnly": False,
                     "uuid": Binary(uuid.uuid5(uuid.NAMESPACE_URL, collection.namespace).bytes, 4)},
            "idIndex": {"v": 2, "key": {"_id": 1}, "name": "_id_"}}


@command("listCollections")
def list_collections(ctx, cmd):
    matcher = Matcher(cmd.get("filter") or {})
    batch = []
    for name in ctx.engine.collection_names(ctx.database):
        info = collection_info(ctx.engine.collection(ctx.database, name))
        if matcher.matches(info):
            batch.append({"name": name, "type": "collection"} if cmd.get("nameOnly") else info)
    cursor = ctx.server.cursors.open(f"{ctx.database}.$cmd.listCollections", batch,
                                     batch_size=(cmd.get("cursor") or {}).get("batchSize"),
                                     owner=ctx.client.user)
    return {"cursor": cursor}


@command("create")
def create(ctx, cmd):
    name = collection_name(cmd, "create")
    if "viewOn" in cmd:
        if not isinstance(cmd["viewOn"], str) or not cmd["viewOn"]:
            raise MongoError(14, "'viewOn' must be a collection name")
        pipeline = cmd.get("pipeline", [])
        from ..aggregation import Context, compile_pipeline
        compile_pipeline(pipeline, Context())          # refuse a bad pipeline now
        if any(isinstance(stage, dict) and ("$out" in stage or "$merge" in stage)
               for stage in pipeline):
            raise MongoError(2, "$out and $merge are not allowed in a view's pipeline")
    options = {key: value for key, value in cmd.items()
               if key not in ("create", "$db", "lsid", "writeConcern", "$readPreference",
                              "comment", "$clusterTime")}
    ctx.wrote = True
    ctx.engine.create_collection(ctx.database, name, options)
    return {}


VALIDATION_OPTIONS = ("validator", "validationLevel", "validationAction")


@command("collMod")
def coll_mod(ctx, cmd):
    """Change a collection's validation options (the only options collMod changes here)."""
    name = collection_name(cmd, "collMod")
    collection = ctx.engine.collection(ctx.database, name)
    if collection is None:
        raise MongoError(26, f"ns does not exist: {ctx.database}.{name}")
    changes = {key: value for key, value in cmd.items()
               if key not in ("collMod", "$db", "lsid", "writeConcern", "$readPreference",
                              "comment", "$clusterTime")}
    for key in changes:
        if key not in VALIDATION_OPTIONS:
            raise MongoError(72, f"collMod option '{key}' is not supported by this server")
    if changes.get("validationLevel", "strict") not in ("off", "strict", "moderate"):
        raise MongoError(2, "validationLevel must be off, strict or moderate")
    if changes.get("validationAction", "error") not in ("error", "warn"):
        raise MongoError(2, "validationAction must be error or warn")
    ctx.wrote = True
    ctx.engine.set_options(ctx.database, name, {**collection.options, **changes})
    return {}


@command("drop")
def drop(ctx, cmd):
    name = collection_name(cmd, "drop")
    collection = ctx.engine.collection(ctx.database, name)
    if collection is None:
        raise MongoError(26, "ns not found")
    indexes = len(collection.indexes)
    ctx.wrote = True
    ctx.engine.drop_collection(ctx.database, name)
    return {"nIndexesWas": indexes, "ns": f"{ctx.database}.{name}"}


@command("dropDatabase")
def drop_database(ctx, cmd):
    ctx.wrote = True
    ctx.engine.drop_database(ctx.database)
    return {"dropped": ctx.database}


@command("renameCollection")
def rename_collection(ctx, cmd):
    source, target = cmd.get("renameCollection"), cmd.get("to")
    if not isinstance(source, str) or not isinstance(target, str):
        raise failed_to_parse("renameCollection and to must be namespace strings")
    if ctx.database != "admin":
        raise MongoError(13, "renameCollection may only be run against the admin database.")
    ctx.wrote = True
    ctx.engine.rename_collection(source, target, bool(cmd.get("dropTarget")))
    return {}


@command("collStats")
def coll_stats(ctx, cmd):
    name = collection_name(cmd, "collStats")
    collection = ctx.engine.collection(ctx.database, name)
    if collection is None:
        raise MongoError(26, f"Collection [{ctx.database}.{name}] not found.")
    count, size = len(collection), collection.data_size
    sizes = {index.name: len(index.entries) * 32 for index in collection.indexes.values()}
    return {"ns": collection.namespace, "count": count, "size": size,
            "avgObjSize": size // count if count else 0, "storageSize": size,
            "nindexes": len(collection.indexes), "totalIndexSize": sum(sizes.values()),
            "indexSizes": sizes, "capped": False}


@command("dbStats")
def db_stats(ctx, cmd):
    collections = list(ctx.engine.databases.get(ctx.database, {}).values())
    objects = sum(len(c) for c in collections)
    size = sum(c.data_size for c in collections)
    index_size = sum(_index_size(c) for c in collections)
    return {"db": ctx.database, "collections": len(collections), "views": 0,
            "objects": objects, "avgObjSize": size / objects if objects else 0,
            "dataSize": float(size), "storageSize": float(size),
            "indexes": sum(len(c.indexes) for c in collections), "indexSize": float(index_size),
            "totalSize": float(size + index_size), "scaleFactor": 1}
