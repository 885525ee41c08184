"""Reading and writing documents: insert find getMore killCursors update delete
findAndModify count distinct.

Write commands carry a batch (`documents`, `updates`, `deletes`). Each statement succeeds
or fails on its own; failures are reported per statement in `writeErrors` with the
statement's index. An `ordered` batch (the default) stops at its first failure, an
unordered one carries on. Every single-document change is atomic (update.py works on a
copy; storage.py validates before it writes).
"""

from __future__ import annotations

from .. import bson, ordering
from ..bson import Int64, ObjectId
from ..documents import MISSING, leaves, split
from ..errors import MongoError, bad_value, failed_to_parse, type_mismatch
from ..expressions import compile_expression
from ..matcher import Matcher
from ..query import Projection, sort_documents
from ..update import apply_update, is_operator_update, upsert_seed, validate_replacement
from . import collection_name, command


def ensure_id(document: dict) -> dict:
    """The document with an `_id` (a new ObjectId if it had none), `_id` first."""
    if not isinstance(document, dict):
        raise bad_value("a document must be an object")
    if "_id" not in document:
        return {"_id": ObjectId(), **document}
    doc_id = document["_id"]
    if type(doc_id) is list:
        raise MongoError(53, "The '_id' value cannot be of type array")
    if isinstance(doc_id, bson.Regex):
        raise MongoError(53, "The '_id' value cannot be of type regex")
    if isinstance(doc_id, dict) and any(key.startswith("$") for key in doc_id):
        raise MongoError(52, "_id fields may not contain '$'-prefixed fields")
    if next(iter(document)) != "_id":
        return {"_id": doc_id, **{k: v for k, v in document.items() if k != "_id"}}
    return document


def _int_option(cmd: dict, name: str, default=None, minimum: int | None = 0):
    value = cmd.get(name, default)
    if value is None or value is default:
        return value
    if not ordering.is_number(value) or not ordering.is_integral(value):
        raise type_mismatch(f"Field '{name}' should be an integer, but is "
                            f"{ordering.type_name(value)}")
    value = int(ordering.number(value))
    if minimum is not None and value < minimum:
        raise bad_value(f"{name} must be >= {minimum}, not {value}")
    return value


def _document_option(cmd: dict, name: str, default=None):
    value = cmd.get(name, default)
    if value is not None and not isinstance(value, dict):
        raise type_mismatch(f"BSON field '{name}' is the wrong type "
                            f"'{ordering.type_name(value)}', expected type 'object'")
    return value


def let_variables(cmd: dict) -> dict:
    """The command's `let` variables, evaluated once (they may be expressions)."""
    spec = _document_option(cmd, "let")
    if not spec:
        return {}
    return {name: compile_expression(value)({}, {"ROOT": {}, "CURRENT": {}})
            for name, value in spec.items()}


def _check_fields(statement: dict, allowed: tuple, where: str) -> None:
    """Refuse unknown fields in a statement, as MongoDB's strict command parser does."""
    for key in statement:
        if key not in allowed:
            raise MongoError(40415, f"BSON field '{where}.{key}' is an unknown field.")


UPDATE_FIELDS = ("q", "u", "upsert", "multi", "arrayFilters", "hint", "collation", "c")
DELETE_FIELDS = ("q", "limit", "hint", "collation")


# -- insert ------------------------------------------------------------------------------------


@command("insert")
def insert(ctx, cmd):
    name = collection_name(cmd, "insert")
    documents = cmd.get("documents")
    if not isinstance(documents, list):
        raise failed_to_parse("BSON field 'insert.documents' is missing but a required field")
    ordered = cmd.get("ordered", True)
    collection = ctx.engine.collection(ctx.database, name, create=True)
    bypass = bool(cmd.get("bypassDocumentValidation"))
    # The documents' bytes as the client sent them (when they came in a kind-1 sequence):
    # a document that needs no change (it has its _id first) is journaled as is.
    raws = ctx.raw_sequences.get("documents")
    ctx.wrote = True
    inserted, errors = 0, []
    for index, document in enumerate(documents):
        try:
            prepared = ensure_id(document)
            raw = raws[index] if raws is not None and prepared is document else None
            collection.insert(prepared, bypass, raw)
            inserted += 1
        except MongoError as error:
            errors.append(error.to_write_error(index))
            if ordered:
                break
    reply = {"n": inserted}
    if errors:
        reply["writeErrors"] = errors
    return reply


# -- find, getMore, killCursors --------------------------------------------------------------------


def collation_of(spec: dict):
    """The `collation` option of a command or statement, checked."""
    collation = spec.get("collation")
    if collation is not None:
        if not isinstance(collation, dict):
            raise type_mismatch("collation must be an object")
        ordering.collation_key(collation)
    return collation


def run_query(ctx, collection, query: dict, sort=None, skip: int = 0, limit: int = 0,
              hint=None, stats=None, variables: dict | None = None,
              collation: dict | None = None) -> list[dict]:
    """The matching documents in order, after skip and limit (no projection)."""
    if collection is None:
        Matcher(query, variables, collation)    # still report a malformed filter
        return []
    documents = collection.find(query, hint, stats, variables, collation)
    if sort:
        documents = sort_documents(documents, sort, ordering.collation_key(collation))
    if skip:
        documents = documents[skip:]
    if limit:
        documents = documents[:limit]
    return documents


def _projector(projection: Projection, query: dict):
    """The per-document transform of a cursor: projection, with the positional
    operator's array index when the projection needs it."""
    if not projection.spec:
        return None
    if projection.positional is None:
        return projection.apply
    matcher = Matcher(query)
    return lambda document: projection.apply(document, matcher.match(document)[1])


# find options that would change the result and that we do not implement: refused, not
# ignored (tailable cursors need capped collections, which we do not have either).
UNSUPPORTED_FIND_OPTIONS = ("tailable", "awaitData", "min", "max", "returnKey", "showRecordId",
                            "oplogReplay", "allowPartialResults")


@command("find")
def find(ctx, cmd):
    name = collection_name(cmd, "find")
    for option in UNSUPPORTED_FIND_OPTIONS:
        if cmd.get(option):
            raise MongoError(2, f"the find option '{option}' is not supported by this server")
    query = _document_option(cmd, "filter", {}) or {}
    sort = _document_option(cmd, "sort")
    projection = Projection(_document_option(cmd, "projection"))
    skip = _int_option(cmd, "skip", 0)
    limit = _int_option(cmd, "limit", 0, minimum=None)
    batch_size = _int_option(cmd, "batchSize")
    single_batch = bool(cmd.get("singleBatch", False))
    if limit < 0:                    # the legacy negative limit: one batch of that many
        limit, single_batch = -limit, True
    collection = ctx.engine.collection(ctx.database, name)
    documents = run_query(ctx, collection, query, sort, skip, limit, cmd.get("hint"),
                          variables=let_variables(cmd), collation=collation_of(cmd))
    cursor = ctx.server.cursors.open(
        f"{ctx.database}.{name}", documents, transform=_projector(projection, query),
        batch_size=batch_size, limit=limit, single_batch=single_batch,
        no_timeout=bool(cmd.get("noCursorTimeout")), owner=ctx.client.user)
    return {"cursor": cursor}


@command("getMore")
def get_more(ctx, cmd):
    cursor_id = cmd["getMore"]
    if not isinstance(cursor_id, int) or isinstance(cursor_id, bool):
        raise type_mismatch("Field 'getMore' must be of type long")
    if "collection" not in cmd:
        raise failed_to_parse("BSON field 'getMore.collection' is missing but a required field")
    name = collection_name(cmd, "collection")
    batch_size = _int_option(cmd, "batchSize")
    cursor = ctx.server.cursors.get_more(int(cursor_id), f"{ctx.database}.{name}",
                                         batch_size, ctx.client.user)
    return {"cursor": cursor}


@command("killCursors")
def kill_cursors(ctx, cmd):
    collection_name(cmd, "killCursors")
    ids = cmd.get("cursors")
    if not isinstance(ids, list):
        raise failed_to_parse("BSON field 'killCursors.cursors' is missing but a required field")
    killed, missing = [], []
    for cursor_id in ids:
        (killed if ctx.server.cursors.kill(int(cursor_id)) else missing).append(Int64(cursor_id))
    return {"cursorsKilled": killed, "cursorsNotFound": missing, "cursorsAlive": [],
            "cursorsUnknown": []}


# -- update ------------------------------------------------------------------------------------


def _unchanged(old: dict, new: dict) -> bool:
    """True when the update changed nothing (compared as BSON: 1 and 1.0 differ)."""
    return bson.encode(old) == bson.encode(new)


def update_documents(ctx, collection, query: dict, update, *, multi: bool, upsert: bool,
                     array_filters=None, sort=None, hint=None, variables=None,
                     collation=None, bypass_validation: bool = False) -> dict:
    """Apply one update statement. Returns {n, nModified, upserted (the _id or MISSING),
    before, after} (before/after of the last document touched, for findAndModify)."""
    if not isinstance(query, dict):
        raise type_mismatch("the update query must be an object")
    if isinstance(update, dict):
        if not is_operator_update(update):
            if multi:
                raise failed_to_parse("multi update is not supported for replacement-style update")
            validate_replacement(update)
    elif not isinstance(update, list):
        raise failed_to_parse("the update must be an object or a pipeline")
    if array_filters is not None and not isinstance(array_filters, list):
        raise type_mismatch("arrayFilters must be an array")
    matcher = Matcher(query, variables, collation)
    result = {"n": 0, "nModified": 0, "upserted": MISSING, "before": None, "after": None}
    candidates = run_query(ctx, collection, query, sort, hint=hint, variables=variables,
                           collation=collation)
    if not multi:
        candidates = candidates[:1]
    for old in candidates:
        position = matcher.match(old)[1]
        new = apply_update(old, update, position=position, array_filters=array_filters,
                           variables=variables)
        result["n"] += 1
        result["before"], result["after"] = old, new
        if not _unchanged(old, new):
            collection.replace(old, new, bypass_validation)
            result["nModified"] += 1
    if not candidates and upsert:
        if isinstance(update, dict) and not is_operator_update(update):
            seed = upsert_seed(query)
            base = {"_id": seed["_id"]} if "_id" in seed else {}
            new = apply_update(base, update, is_insert=True)
            if "_id" in seed and "_id" in update and \
                    ordering.sort_key(update["_id"]) != ordering.sort_key(seed["_id"]):
                raise MongoError(66, "the _id of the replacement differs from the query's")
        else:
            seed = upsert_seed(query)
            new = apply_update(seed, update, array_filters=array_filters, is_insert=True,
                               variables=variables)
        new = ensure_id(new)
        if collection is None:
            collection = ctx.engine.create_collection(ctx.database, ctx.extra["collection"])
        collection.insert(new, bypass_validation)
        result["n"] = 1
        result["upserted"] = new["_id"]
        result["after"] = new
    return result


@command("update")
def update(ctx, cmd):
    name = collection_name(cmd, "update")
    statements = cmd.get("updates")
    if not isinstance(statements, list):
        raise failed_to_parse("BSON field 'update.updates' is missing but a required field")
    ordered = cmd.get("ordered", True)
    for statement in statements:
        if isinstance(statement, dict):
            _check_fields(statement, UPDATE_FIELDS, "update.updates")
    ctx.extra["collection"] = name
    ctx.wrote = True
    variables = let_variables(cmd)
    matched = modified = 0
    upserted, errors = [], []
    for index, statement in enumerate(statements):
        try:
            if not isinstance(statement, dict) or "q" not in statement or "u" not in statement:
                raise failed_to_parse("an update statement needs 'q' and 'u'")
            collection = ctx.engine.collection(ctx.database, name)
            outcome = update_documents(
                ctx, collection, statement["q"], statement["u"],
                multi=bool(statement.get("multi", False)),
                upsert=bool(statement.get("upsert", False)),
                array_filters=statement.get("arrayFilters"), hint=statement.get("hint"),
                variables={**variables, **(statement.get("c") or {})},
                collation=collation_of(statement),
                bypass_validation=bool(cmd.get("bypassDocumentValidation")))
            matched += outcome["n"]
            modified += outcome["nModified"]
            if outcome["upserted"] is not MISSING:
                upserted.append({"index": index, "_id": outcome["upserted"]})
        except MongoError as error:
            errors.append(error.to_write_error(index))
            if ordered:
                break
    reply = {"n": matched, "nModified": modified}
    if upserted:
        reply["upserted"] = upserted
    if errors:
        reply["writeErrors"] = errors
    return reply


# -- delete ------------------------------------------------------------------------------------


@command("delete")
def delete(ctx, cmd):
    name = collection_name(cmd, "delete")
    statements = cmd.get("deletes")
    if not isinstance(statements, list):
        raise failed_to_parse("BSON field 'delete.deletes' is missing but a required field")
    ordered = cmd.get("ordered", True)
    for statement in statements:
        if isinstance(statement, dict):
            _check_fields(statement, DELETE_FIELDS, "delete.deletes")
    ctx.wrote = True
    variables = let_variables(cmd)
    removed, errors = 0, []
    for index, statement in enumerate(statements):
        try:
            if not isinstance(statement, dict) or "q" not in statement or "limit" not in statement:
                raise failed_to_parse("a delete statement needs 'q' and 'limit'")
            limit = statement["limit"]
            if limit not in (0, 1):
                raise failed_to_parse("The limit field in delete objects must be 0 or 1. "
                                      f"Got {limit}")
            collection = ctx.engine.collection(ctx.database, name)
            for document in run_query(ctx, collection, statement["q"], limit=limit,
                                      hint=statement.get("hint"), variables=variables,
                                      collation=collation_of(statement)):
                collection.delete(document)
                removed += 1
        except MongoError as error:
            errors.append(error.to_write_error(index))
            if ordered:
                break
    reply = {"n": removed}
    if errors:
        reply["writeErrors"] = errors
    return reply


# -- findAndModify ----------------------------------------------------------------------------------


@command("findAndModify", "findandmodify")
def find_and_modify(ctx, cmd):
    name = collection_name(cmd, next(iter(cmd)))
    query = _document_option(cmd, "query", {}) or {}
    sort = _document_option(cmd, "sort")
    fields = Projection(_document_option(cmd, "fields"))
    remove = bool(cmd.get("remove", False))
    update_spec = cmd.get("update")
    if remove and update_spec is not None:
        raise failed_to_parse("Cannot specify both an update and remove=true")
    if not remove and update_spec is None:
        raise failed_to_parse("Either an update or remove=true must be specified")
    if remove and cmd.get("new"):
        raise failed_to_parse("Cannot specify both new=true and remove=true; 'remove' always "
                              "returns the deleted document")
    if remove and cmd.get("upsert"):
        raise failed_to_parse("Cannot specify both upsert=true and remove=true")
    ctx.extra["collection"] = name
    ctx.wrote = True
    collection = ctx.engine.collection(ctx.database, name)
    variables = let_variables(cmd)
    collation = collation_of(cmd)
    if remove:
        found = run_query(ctx, collection, query, sort, limit=1, hint=cmd.get("hint"),
                          variables=variables, collation=collation)
        if found:
            collection.delete(found[0])
        value = fields.apply(found[0]) if found else None
        return {"lastErrorObject": {"n": len(found)}, "value": value}
    outcome = update_documents(ctx, collection, query, update_spec, multi=False,
                               upsert=bool(cmd.get("upsert", False)),
                               array_filters=cmd.get("arrayFilters"), sort=sort,
                               hint=cmd.get("hint"), variables=variables,
                               collation=collation,
                               bypass_validation=bool(cmd.get("bypassDocumentValidation")))
    last_error = {"n": outcome["n"], "updatedExisting": outcome["n"] > 0 and
                  outcome["upserted"] is MISSING}
    if outcome["upserted"] is not MISSING:
        last_error["upserted"] = outcome["upserted"]
        value = outcome["after"] if cmd.get("new") else None
    else:
        value = outcome["after"] if cmd.get("new") else outcome["before"]
    if value is not None:
        value = fields.apply(value, Matcher(query, variables).match(value)[1]
                             if fields.positional else None)
    return {"lastErrorObject": last_error, "value": value}


# -- count and distinct ------------------------------------------------------------------------------


@command("count")
def count(ctx, cmd):
    name = collection_name(cmd, "count")
    query = _document_option(cmd, "query", {}) or {}
    skip = _int_option(cmd, "skip", 0)
    limit = abs(_int_option(cmd, "limit", 0, minimum=None))
    collection = ctx.engine.collection(ctx.database, name)
    if collection is not None and not query:
        total = max(0, len(collection) - skip)        # the metadata count: no scan
        return {"n": min(total, limit) if limit else total}
    return {"n": len(run_query(ctx, collection, query, skip=skip, limit=limit,
                               hint=cmd.get("hint"), collation=collation_of(cmd)))}


@command("distinct")
def distinct(ctx, cmd):
    name = collection_name(cmd, "distinct")
    key = cmd.get("key")
    if not isinstance(key, str):
        raise failed_to_parse("BSON field 'distinct.key' is missing but a required field")
    query = _document_option(cmd, "query", {}) or {}
    collection = ctx.engine.collection(ctx.database, name)
    collation = collation_of(cmd)
    sort_key = ordering.collation_key(collation)
    seen, values = set(), []
    for document in run_query(ctx, collection, query, collation=collation):
        for value, _ in leaves(document, split(key)):
            if value is MISSING:
                continue
            for item in (value if type(value) is list else [value]):
                marker = sort_key(item)
                if marker not in seen:
                    seen.add(marker)
                    values.append(item)
    values.sort(key=sort_key)
    return {"values": values}
