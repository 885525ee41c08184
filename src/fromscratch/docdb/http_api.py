"""A CouchDB-style HTTP/JSON API over the same engine, built on fromscratch.web.

    app = create_app(engine)          # a WSGI app; the docdb CLI serves it on port 5984

An HTTP database is a collection of the MongoDB database `couch` (COUCH_DATABASE): a
document written with pymongo to `couch.recipes` is `GET /recipes/<id>` here, and the
other way round. What CouchDB keeps inside a document is mapped like this:

* `_id`: the document's `_id`. A string id is used as is; an ObjectId written by a
  MongoDB client shows as its 24-digit hex string, and `GET /db/<hex>` finds it.
* `_rev`: not stored in the document (so MongoDB clients never see it) but beside it,
  by the engine (storage.Revision): every write, from either side, makes the revision
  `N-<md5 of the document's BSON>`, N counting the writes. `_rev` is added to every
  document this API returns, and checked on every write it accepts (409 `conflict`
  when stale). Only the current revision is kept: there is no revision tree.
* `_deleted`: a delete leaves a tombstone (id, revision, sequence) for `_changes`.

Values MongoDB has and JSON lacks are shown as JSON (ObjectId -> hex string, dates ->
ISO 8601 strings, binary -> base64, Decimal128 -> number); protocol_specs/couch-http.md
lists every difference from CouchDB.

Every view takes the engine lock for its reads and writes (the HTTP server runs views in
worker threads, the wire server on the event loop) and commits before answering a write.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import hashlib
import json
import re
import time
import uuid

from ..web import App, HTTPError, Response
from . import bson
from .bson import Decimal128, ObjectId
from .errors import MongoError
from .query import Projection, sort_documents
from .scram import verify_password
from .storage import Engine

COUCH_DATABASE = "couch"
VERSION = "3.3.3"
JSON_TYPE = "application/json"
DB_NAME = re.compile(r"^[a-z][a-z0-9_()+\-]*$")
SPECIAL_FIELDS = ("_id", "_rev", "_deleted")


class CouchError(Exception):
    """An error answered as CouchDB does: a status and `{"error": ..., "reason": ...}`."""

    def __init__(self, status: int, error: str, reason: str):
        super().__init__(reason)
        self.status, self.error, self.reason = status, error, reason


def not_found(reason: str = "missing") -> CouchError:
    return CouchError(404, "not_found", reason)


def conflict() -> CouchError:
    return CouchError(409, "conflict", "Document update conflict.")


# -- JSON <-> stored documents ----------------------------------------------------------------


def to_json(value):
    """A stored value as JSON can carry it."""
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_json(item) for item in value]
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, datetime.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, (Decimal128, decimal.Decimal)):
        number = value.to_decimal() if isinstance(value, Decimal128) else value
        return float(number) if number.is_finite() else str(number)
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, (bson.Regex, bson.Timestamp)) or value in (bson.MIN_KEY, bson.MAX_KEY):
        return repr(value)
    return value


def parse_json(data: bytes):
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise CouchError(400, "bad_request", "invalid UTF-8 JSON") from None


def _id_candidates(docid: str) -> list:
    """The _id values a document id in a URL may stand for."""
    return [docid, ObjectId(docid)] if ObjectId.is_valid(docid) else [docid]


class CouchApi:
    def __init__(self, engine: Engine, auth: bool = False):
        self.engine = engine
        self.auth = auth
        self.instance = uuid.uuid4().hex
        self._verified: dict[tuple[str, str], float] = {}

    # -- helpers --------------------------------------------------------------------------

    def collection(self, db: str):
        found = self.engine.collection(COUCH_DATABASE, db)
        if found is None:
            raise not_found("Database does not exist.")
        return found

    def find_document(self, collection, docid: str):
        """(stored document or None, its revision or tombstone or None, its _id)."""
        for candidate in _id_candidates(docid):
            revision = collection.revision(candidate)
            if revision is not None:
                return collection.get(candidate), revision, candidate
        return None, None, docid

    @staticmethod
    def render(document: dict, revision) -> dict:
        """A stored document as JSON, with `_rev` after `_id` (as CouchDB shows it)."""
        out = to_json(document)
        return {"_id": out["_id"], "_rev": revision.rev,
                **{k: v for k, v in out.items() if k != "_id"}}

    def check_auth(self, request) -> None:
        if not self.auth or request.path in ("/", "/_up"):
            return
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                user = password = ""
            if self._password_ok(user, password):
                return
        raise CouchError(401, "unauthorized", "Authentication required.")

    def _password_ok(self, user: str, password: str) -> bool:
        marker = (user, hashlib.sha256(password.encode()).hexdigest())
        if self._verified.get(marker, 0) > time.monotonic():
            return True
        with self.engine.lock:
            users = self.engine.collection("admin", "system.users")
            stored = users.get(f"admin.{user}") if users is not None else None
        if stored is None:
            return False
        mechanism, credentials = next(iter(stored["credentials"].items()))
        if verify_password(mechanism, credentials, user, password):
            self._verified[marker] = time.monotonic() + 60      # PBKDF2 is slow on purpose
            return True
        return False

    # -- documents ----------------------------------------------------------------------------

    def save(self, collection, docid: str, body: dict, rev: str | None) -> str:
        """Create or update a document at `docid`, checking `rev`; returns the new rev."""
        if not isinstance(body, dict):
            raise CouchError(400, "bad_request", "Document must be a JSON object")
        for key in body:
            if key.startswith("_") and key not in SPECIAL_FIELDS:
                raise CouchError(400, "doc_validation", f"Bad special document member: {key}")
        rev = body.get("_rev", rev) if rev is None else rev
        document, revision, doc_id = self.find_document(collection, docid)
        if body.get("_deleted") is True:
            if document is None or rev != revision.rev:
                raise conflict() if document is not None else not_found("missing")
            collection.delete(document)
            return collection.revision(doc_id).rev
        if document is not None:
            if rev != revision.rev:
                raise conflict()
        elif rev is not None and (revision is None or rev != revision.rev):
            raise conflict()
        stored = {"_id": doc_id, **{k: v for k, v in body.items() if k not in SPECIAL_FIELDS}}
        try:
            if document is not None:
                collection.replace(document, stored)
            else:
                collection.insert(stored)
        except MongoError as error:
            if error.code == 11000:                    # a unique index said no
                raise CouchError(409, "conflict", error.message) from None
            if error.code == 121:                      # the collection's validator said no
                raise CouchError(403, "forbidden", error.message) from None
            raise CouchError(400, "bad_request", error.message) from None
        return collection.revision(doc_id).rev

    def changes(self, collection, since: int, include_docs: bool, limit: int | None,
                descending: bool = False) -> tuple[list[dict], int]:
        results = []
        revisions = list(collection.revisions.values())
        if descending:
            revisions.reverse()
        for revision in revisions:
            if revision.seq <= since:
                continue
            entry = {"seq": format_seq(revision.seq), "id": to_json(revision.doc_id),
                     "changes": [{"rev": revision.rev}]}
            if revision.deleted:
                entry["deleted"] = True
            if include_docs:
                document = collection.get(revision.doc_id)
                entry["doc"] = self.render(document, revision) if document is not None else \
                    {"_id": to_json(revision.doc_id), "_rev": revision.rev, "_deleted": True}
            results.append(entry)
            if limit is not None and len(results) >= limit:
                break
        return results, collection.seq


def format_seq(seq: int) -> str:
    """CouchDB 2+ sequences are opaque strings; ours are `<number>-docdb`."""
    return f"{seq}-docdb"


def parse_seq(value: str | None, collection) -> int:
    if value in (None, "", "0"):
        return 0
    if value == "now":
        return collection.seq
    try:
        return int(str(value).split("-", 1)[0])
    except ValueError:
        raise CouchError(400, "bad_request", "Malformed sequence supplied in 'since' "
                                             "parameter.") from None


def _json_param(request, name: str, default=None):
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        return json.loads(raw)
    except ValueError:
        raise CouchError(400, "bad_request", f"invalid JSON in the {name} parameter") from None


def _bool_param(request, name: str, default: bool = False) -> bool:
    raw = request.args.get(name)
    if raw is None:
        return default
    if raw not in ("true", "false"):
        raise CouchError(400, "query_parse_error", f"Invalid boolean parameter: \"{raw}\"")
    return raw == "true"


def _int_param(request, name: str, default: int | None = None) -> int | None:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise CouchError(400, "query_parse_error", f"Invalid value for integer: \"{raw}\"") from None
    if value < 0:
        raise CouchError(400, "query_parse_error", f"Invalid value for positive integer: "
                                                   f"\"{raw}\"")
    return value


def json_response(body, status: int = 200, headers: dict | None = None) -> Response:
    response = Response(json.dumps(body, separators=(",", ":")) + "\n", status,
                        headers, content_type=JSON_TYPE)
    response.headers["Cache-Control"] = "must-revalidate"
    return response


def require_json(request) -> object:
    mimetype = request.mimetype
    if mimetype != JSON_TYPE:
        raise CouchError(415, "bad_content_type", "Content-Type must be application/json")
    return parse_json(request.body)


# -- Mango selectors --------------------------------------------------------------------------

COUCH_TYPES = {"null": "null", "boolean": "bool", "number": "number", "string": "string",
               "array": "array", "object": "object"}


def mango_to_query(selector):
    """A Mango selector as our query language (they are nearly the same: Mango's type
    names differ, and $allMatch, $keyMapMatch and $beginsWith are Mango's own)."""
    if isinstance(selector, list):
        return [mango_to_query(item) for item in selector]
    if not isinstance(selector, dict):
        return selector
    out = {}
    for key, value in selector.items():
        if key == "$type" and isinstance(value, str):
            if value not in COUCH_TYPES:
                raise CouchError(400, "invalid_operator", f"Invalid type for $type: {value}")
            out[key] = COUCH_TYPES[value]
        elif key == "$allMatch":
            inner = mango_to_query(value)
            out["$elemMatch"] = inner
            out["$not"] = {"$elemMatch": {"$nor": [inner]} if not _operators_only(inner)
                           else {"$not": inner}}
        elif key == "$beginsWith":
            out["$regex"] = "^" + re.escape(value)
        elif key == "$keyMapMatch":
            raise CouchError(400, "invalid_operator", "$keyMapMatch is not supported")
        else:
            out[key] = mango_to_query(value)
    return out


def _operators_only(query) -> bool:
    return isinstance(query, dict) and all(k.startswith("$") for k in query)


def _index_fields(spec) -> list[tuple[str, int]]:
    """Mango index/sort fields: ["a", {"b": "desc"}] -> [("a", 1), ("b", -1)]."""
    if not isinstance(spec, list) or not spec:
        raise CouchError(400, "invalid_index_fields", "fields must be a non-empty array")
    fields = []
    for item in spec:
        if isinstance(item, str):
            fields.append((item, 1))
        elif isinstance(item, dict) and len(item) == 1:
            name, direction = next(iter(item.items()))
            if direction not in ("asc", "desc"):
                raise CouchError(400, "invalid_sort_json", "sort direction must be asc or desc")
            fields.append((name, 1 if direction == "asc" else -1))
        else:
            raise CouchError(400, "invalid_sort_json", "invalid field specification")
    return fields


# -- the application ------------------------------------------------------------------------------


def create_app(engine: Engine, auth: bool = False) -> App:
    api = CouchApi(engine, auth)
    app = App(static_folder=None, root_path=".")

    @app.before_request
    def authenticate(request):
        api.check_auth(request)

    @app.after_request
    def server_header(request, response):
        response.headers["Server"] = f"CouchDB/{VERSION} (fromscratch docdb)"
        return response

    @app.errorhandler(CouchError)
    def couch_error(request, error):
        headers = {"WWW-Authenticate": 'Basic realm="server"'} if error.status == 401 else None
        return json_response({"error": error.error, "reason": error.reason}, error.status, headers)

    @app.errorhandler(MongoError)
    def engine_error(request, error):
        return json_response({"error": "bad_request", "reason": error.message}, 400)

    @app.errorhandler(HTTPError)
    def http_error(request, error):
        names = {404: "not_found", 405: "method_not_allowed", 413: "too_large",
                 400: "bad_request", 415: "bad_content_type"}
        reason = error.description or error.name
        if error.code == 405:
            reason = f"Only {error.headers.get('Allow', '')} allowed"
        return json_response({"error": names.get(error.code, "error"), "reason": reason},
                             error.code, dict(error.headers))

    # -- server ---------------------------------------------------------------------------

    @app.get("/")
    def welcome(request):
        return json_response({"couchdb": "Welcome", "version": VERSION, "git_sha": "fromscratch",
                              "uuid": api.instance, "features": ["access-ready"],
                              "vendor": {"name": "fromscratch docdb"}})

    @app.get("/_up")
    def up(request):
        return json_response({"status": "ok"})

    @app.get("/_all_dbs")
    def all_dbs(request):
        with engine.lock:
            names = engine.collection_names(COUCH_DATABASE)
        if _bool_param(request, "descending"):
            names.reverse()
        skip = _int_param(request, "skip", 0)
        limit = _int_param(request, "limit")
        names = names[skip:]
        return json_response(names[:limit] if limit is not None else names)

    @app.get("/_uuids")
    def uuids(request):
        count = _int_param(request, "count", 1)
        if count > 1000:
            raise CouchError(400, "bad_request", "count parameter too large")
        return json_response({"uuids": [uuid.uuid4().hex for _ in range(count)]})

    # -- databases -----------------------------------------------------------------------------

    @app.route("/<db>", methods=["PUT"])
    def create_db(request, db):
        if not DB_NAME.match(db):
            raise CouchError(400, "illegal_database_name",
                             f"Name: '{db}'. Only lowercase characters (a-z), digits (0-9), and "
                             f"any of the characters _, (, ), +, and - are allowed. Must begin "
                             f"with a letter.")
        with engine.lock:
            if engine.collection(COUCH_DATABASE, db) is not None:
                raise CouchError(412, "file_exists", "The database could not be created, the "
                                                     "file already exists.")
            engine.create_collection(COUCH_DATABASE, db)
            engine.commit()
        return json_response({"ok": True}, 201, {"Location": f"/{db}"})

    @app.route("/<db>", methods=["GET"])
    def db_info(request, db):
        with engine.lock:
            collection = api.collection(db)
            deleted = sum(1 for r in collection.revisions.values() if r.deleted)
            return json_response({
                "db_name": db, "doc_count": len(collection), "doc_del_count": deleted,
                "update_seq": format_seq(collection.seq), "purge_seq": 0,
                "compact_running": engine.compacting,
                "sizes": {"active": collection.data_size, "external": collection.data_size,
                          "file": collection.data_size},
                "disk_format_version": 8, "instance_start_time": "0",
                "props": {}, "cluster": {"q": 1, "n": 1, "w": 1, "r": 1}})

    @app.route("/<db>", methods=["DELETE"])
    def delete_db(request, db):
        if request.args.get("rev") is not None:
            raise CouchError(400, "bad_request", "You tried to DELETE a database with a ?rev= "
                                                 "parameter. Did you mean to DELETE a document "
                                                 "instead?")
        with engine.lock:
            api.collection(db)
            engine.drop_collection(COUCH_DATABASE, db)
            engine.commit()
        return json_response({"ok": True})

    @app.route("/<db>", methods=["POST"])
    def post_doc(request, db):
        body = require_json(request)
        if not isinstance(body, dict):
            raise CouchError(400, "bad_request", "Document must be a JSON object")
        docid = body.get("_id") or uuid.uuid4().hex
        if not isinstance(docid, str):
            raise CouchError(400, "illegal_docid", "Document id must be a string")
        with engine.lock:
            rev = api.save(api.collection(db), docid, body, None)
            engine.commit()
        return json_response({"ok": True, "id": docid, "rev": rev}, 201,
                             {"Location": f"/{db}/{docid}", "ETag": f'"{rev}"'})

    # -- _all_docs, _bulk_docs, _find, _index, _changes ----------------------------------------------

    @app.route("/<db>/_all_docs", methods=["GET", "POST"])
    def all_docs(request, db):
        keys = _json_param(request, "keys")
        if request.method == "POST":
            body = require_json(request)
            if not isinstance(body, dict):
                raise CouchError(400, "bad_request", "the body must be a JSON object")
            keys = body.get("keys", keys)
        include_docs = _bool_param(request, "include_docs")
        descending = _bool_param(request, "descending")
        skip = _int_param(request, "skip", 0)
        limit = _int_param(request, "limit")
        with engine.lock:
            collection = api.collection(db)
            if keys is not None:
                if not isinstance(keys, list):
                    raise CouchError(400, "bad_request", "`keys` must be an array")
                rows = []
                for key in keys:
                    document, revision, _ = api.find_document(collection, str(key))
                    if revision is None:
                        rows.append({"key": key, "error": "not_found"})
                    elif revision.deleted:
                        rows.append({"id": key, "key": key, "value": {"rev": revision.rev,
                                                                     "deleted": True},
                                     **({"doc": None} if include_docs else {})})
                    else:
                        row = {"id": key, "key": key, "value": {"rev": revision.rev}}
                        if include_docs:
                            row["doc"] = api.render(document, revision)
                        rows.append(row)
                total = len(collection)
                rows = rows[skip:]
                return json_response({"total_rows": total, "offset": skip,
                                      "rows": rows[:limit] if limit is not None else rows})
            start = _json_param(request, "startkey", _json_param(request, "start_key"))
            end = _json_param(request, "endkey", _json_param(request, "end_key"))
            single = _json_param(request, "key")
            inclusive_end = _bool_param(request, "inclusive_end", True)
            entries = sorted(((str(to_json(doc["_id"])), doc) for doc in collection.documents.values()),
                             key=lambda pair: pair[0], reverse=descending)
            rows, offset = [], 0
            for docid, document in entries:
                if single is not None and docid != single:
                    continue
                before_start = start is not None and (docid > start if descending else docid < start)
                if before_start:
                    offset += 1
                    continue
                if end is not None:
                    past = (docid < end if descending else docid > end) or \
                        (not inclusive_end and docid == end)
                    if past:
                        break
                rows.append((docid, document))
            offset += skip
            rows = rows[skip:]
            if limit is not None:
                rows = rows[:limit]
            out = []
            for docid, document in rows:
                revision = collection.revision(document["_id"])
                row = {"id": docid, "key": docid, "value": {"rev": revision.rev}}
                if include_docs:
                    row["doc"] = api.render(document, revision)
                out.append(row)
            return json_response({"total_rows": len(collection), "offset": offset, "rows": out})

    @app.route("/<db>/_bulk_docs", methods=["POST"])
    def bulk_docs(request, db):
        body = require_json(request)
        if not isinstance(body, dict) or not isinstance(body.get("docs"), list):
            raise CouchError(400, "bad_request", "POST body must include `docs` parameter.")
        if body.get("new_edits") is False:
            raise CouchError(400, "bad_request", "new_edits=false (replication) is not supported")
        results = []
        with engine.lock:
            collection = api.collection(db)
            for doc in body["docs"]:
                if not isinstance(doc, dict):
                    results.append({"error": "bad_request", "reason": "Document must be a JSON object"})
                    continue
                docid = doc.get("_id") or uuid.uuid4().hex
                try:
                    rev = api.save(collection, str(docid), doc, None)
                    results.append({"ok": True, "id": docid, "rev": rev})
                except CouchError as error:
                    results.append({"id": docid, "error": error.error, "reason": error.reason})
            engine.commit()
        return json_response(results, 201)

    @app.route("/<db>/_find", methods=["POST"])
    def find(request, db):
        body = require_json(request)
        if not isinstance(body, dict) or not isinstance(body.get("selector"), dict):
            raise CouchError(400, "bad_request", "Missing required key: selector")
        query = mango_to_query(body["selector"])
        limit = body.get("limit", 25)
        skip = body.get("skip", 0)
        bookmark = body.get("bookmark")
        if bookmark not in (None, "nil"):
            try:
                skip += json.loads(base64.urlsafe_b64decode(bookmark.encode()))["skip"]
            except (ValueError, KeyError, TypeError):
                raise CouchError(400, "invalid_bookmark", f"Invalid bookmark value: "
                                                          f"{bookmark!r}") from None
        fields = body.get("fields")
        sort = _index_fields(body["sort"]) if body.get("sort") else []
        with engine.lock:
            collection = api.collection(db)
            if sort and not _sort_covered(collection, sort):
                raise CouchError(400, "no_usable_index",
                                 "No index exists for this sort, try indexing by the sort fields.")
            plan = collection.plan(query)
            documents = collection.find(query)
            if sort:
                documents = sort_documents(documents, {f: d for f, d in sort})
            page = documents[skip:skip + limit]
            # Mango's `fields` names exactly what is returned (_id and _rev included).
            projection = Projection({**{name: 1 for name in fields if name != "_rev"},
                                     "_id": int("_id" in fields)}) if fields else None
            docs = []
            for document in page:
                revision = collection.revision(document["_id"])
                if projection is None:
                    docs.append(api.render(document, revision))
                    continue
                shaped = to_json(projection.apply(document))
                if "_rev" in fields:
                    shaped["_rev"] = revision.rev
                docs.append(shaped)
        reply = {"docs": docs, "bookmark": base64.urlsafe_b64encode(
            json.dumps({"skip": skip + len(docs)}).encode()).decode()}
        if plan.index is None:
            reply["warning"] = ("No matching index found, create an index to optimize query "
                                "time.")
        if body.get("execution_stats"):
            reply["execution_stats"] = {"results_returned": len(docs)}
        return json_response(reply)

    def _sort_covered(collection, sort: list[tuple[str, int]]) -> bool:
        directions = {d for _, d in sort}
        if len(directions) != 1:
            return False
        wanted = [f for f, _ in sort]
        if wanted == ["_id"]:
            return True
        return any([f for f, _ in index.key][:len(wanted)] == wanted
                   for index in collection.indexes.values())

    @app.route("/<db>/_index", methods=["POST"])
    def create_index(request, db):
        body = require_json(request)
        if not isinstance(body, dict) or not isinstance(body.get("index"), dict):
            raise CouchError(400, "bad_request", "Missing required key: index")
        if body.get("type", "json") != "json":
            raise CouchError(400, "invalid_index_type", "only json indexes are supported")
        fields = _index_fields(body["index"].get("fields"))
        name = body.get("name") or "-".join(f for f, _ in fields)
        spec = {"key": {f: 1 for f, _ in fields}, "name": name}
        if "partial_filter_selector" in body["index"]:
            spec["partialFilterExpression"] = mango_to_query(body["index"]["partial_filter_selector"])
        with engine.lock:
            collection = api.collection(db)
            created = collection.create_index(spec)
            engine.commit()
        return json_response({"result": "created" if created else "exists",
                              "id": f"_design/{body.get('ddoc') or name}", "name": name})

    @app.route("/<db>/_index", methods=["GET"])
    def list_indexes(request, db):
        with engine.lock:
            collection = api.collection(db)
            indexes = [{"ddoc": None, "name": "_all_docs", "type": "special",
                        "def": {"fields": [{"_id": "asc"}]}}]
            for index in collection.indexes.values():
                if index.name == "_id_":
                    continue
                indexes.append({"ddoc": f"_design/{index.name}", "name": index.name,
                                "type": "json",
                                "def": {"fields": [{f: "asc" if d == 1 else "desc"}
                                                   for f, d in index.key]}})
        return json_response({"total_rows": len(indexes), "indexes": indexes})

    @app.route("/<db>/_index/<path:rest>", methods=["DELETE"])
    def delete_index(request, db, rest):
        name = rest.rstrip("/").split("/")[-1]
        with engine.lock:
            collection = api.collection(db)
            if name not in collection.indexes or name == "_id_":
                raise not_found("Index not found")
            collection.drop_index(name)
            engine.commit()
        return json_response({"ok": True})

    @app.route("/<db>/_changes", methods=["GET", "POST"])
    def changes(request, db):
        feed = request.args.get("feed", "normal")
        if feed not in ("normal", "longpoll", "continuous", "eventsource"):
            raise CouchError(400, "bad_request", "Supported `feed` types: normal, longpoll, "
                                                 "continuous, eventsource")
        include_docs = _bool_param(request, "include_docs")
        descending = _bool_param(request, "descending")
        limit = _int_param(request, "limit")
        timeout = _int_param(request, "timeout", 60000) / 1000
        heartbeat = _int_param(request, "heartbeat")
        with engine.lock:
            collection = api.collection(db)
            since = parse_seq(request.args.get("since"), collection)
            results, last = api.changes(collection, since, include_docs, limit, descending)
        if feed == "normal" or (feed == "longpoll" and results):
            pending = max(0, collection.seq - since - len(results)) if limit else 0
            return json_response({"results": results,
                                  "last_seq": format_seq(last if not limit or not results
                                                         else int(results[-1]["seq"].split("-")[0])),
                                  "pending": pending})
        if feed == "longpoll":
            deadline = time.monotonic() + timeout
            with engine.lock:
                while not results and time.monotonic() < deadline:
                    engine.changed.wait(min(1.0, deadline - time.monotonic()))
                    current = engine.collection(COUCH_DATABASE, db)
                    if current is None:
                        break
                    results, last = api.changes(current, since, include_docs, limit)
            return json_response({"results": results, "last_seq": format_seq(last), "pending": 0})
        return Response(_stream(engine, api, db, feed, since, include_docs, limit, timeout,
                                heartbeat, results),
                        200, content_type="text/event-stream" if feed == "eventsource"
                        else JSON_TYPE)

    # -- documents (last: `<path:docid>` would match the special paths above) ---------------------------

    def _check_docid(docid: str) -> None:
        if docid.startswith("_") and not docid.startswith(("_design/", "_local/")):
            raise CouchError(400, "illegal_docid", "Only reserved document ids may start with "
                                                   "underscore.")

    @app.route("/<db>/<path:docid>", methods=["GET"])
    def get_doc(request, db, docid):
        _check_docid(docid)
        with engine.lock:
            document, revision, _ = api.find_document(api.collection(db), docid)
        if revision is None:
            raise not_found("missing")
        wanted = request.args.get("rev")
        if revision.deleted:
            raise not_found("deleted")
        if wanted is not None and wanted != revision.rev:
            raise not_found("missing")
        etag = f'"{revision.rev}"'
        if request.headers.get("If-None-Match") == etag:
            return Response(b"", 304, {"ETag": etag})
        return json_response(api.render(document, revision), 200, {"ETag": etag})

    @app.route("/<db>/<path:docid>", methods=["PUT"])
    def put_doc(request, db, docid):
        _check_docid(docid)
        body = parse_json(request.body)
        if not isinstance(body, dict):
            raise CouchError(400, "bad_request", "Document must be a JSON object")
        if "_id" in body and str(body["_id"]) != docid:
            raise CouchError(400, "bad_request", "Document id must match the URL")
        rev = request.args.get("rev") or (request.headers.get("If-Match") or "").strip('"') or None
        with engine.lock:
            new_rev = api.save(api.collection(db), docid, body, rev)
            engine.commit()
        status = 202 if request.args.get("batch") == "ok" else 201
        return json_response({"ok": True, "id": docid, "rev": new_rev}, status,
                             {"ETag": f'"{new_rev}"', "Location": f"/{db}/{docid}"})

    @app.route("/<db>/<path:docid>", methods=["DELETE"])
    def delete_doc(request, db, docid):
        _check_docid(docid)
        rev = request.args.get("rev") or (request.headers.get("If-Match") or "").strip('"') or None
        with engine.lock:
            collection = api.collection(db)
            document, revision, doc_id = api.find_document(collection, docid)
            if document is None:
                raise not_found("deleted" if revision is not None else "missing")
            if rev != revision.rev:
                raise conflict()
            collection.delete(document)
            engine.commit()
            new_rev = collection.revision(doc_id).rev
        return json_response({"ok": True, "id": docid, "rev": new_rev}, 200,
                             {"ETag": f'"{new_rev}"'})

    app.api = api
    return app


def _stream(engine: Engine, api: CouchApi, db: str, feed: str, since: int, include_docs: bool,
            limit: int | None, timeout: float, heartbeat: int | None, first: list):
    """The continuous and eventsource feeds: one line (or event) per change, as changes
    happen, until `timeout` passes without one or `limit` changes were sent."""
    sent = 0

    def frame(entry) -> str:
        if feed == "eventsource":
            return f"data: {json.dumps(entry)}\nid: {entry['seq']}\n\n"
        return json.dumps(entry) + "\n"

    results, last = first, since
    deadline = time.monotonic() + timeout
    beat = heartbeat / 1000 if heartbeat else None
    while True:
        for entry in results:
            yield frame(entry)
            sent += 1
            last = int(entry["seq"].split("-")[0])
            deadline = time.monotonic() + timeout
            if limit is not None and sent >= limit:
                break
        if (limit is not None and sent >= limit) or time.monotonic() >= deadline:
            break
        with engine.lock:
            engine.changed.wait(min(beat or 1.0, max(0.0, deadline - time.monotonic())))
            collection = engine.collection(COUCH_DATABASE, db)
            if collection is None:
                break
            results, _ = api.changes(collection, last, include_docs,
                                     None if limit is None else limit - sent)
        if not results and beat and feed == "continuous":
            yield "\n"
    if feed == "continuous":
        yield json.dumps({"last_seq": format_seq(last), "pending": 0}) + "\n"

