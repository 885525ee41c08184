"""The storage engine: databases of collections of documents, indexes, and the journal.

    engine = Engine("./data/docdb")            # recovers what the journal holds
    people = engine.collection("app", "people", create=True)
    people.insert({"_id": 1, "name": "Ada"})
    engine.commit()                            # durable before the client hears "ok"

Every change is a journal record applied by one function, `Engine._apply`, both when it
happens and when the journal is replayed at start-up: what recovery rebuilds is by
construction what was there. A write checks everything that can fail first (duplicate
keys), then appends its record, then applies it, so a failed write changes nothing.

Documents are never changed in place once stored: an update stores a new dict. Readers
(cursors, compaction) can therefore hold on to stored documents without copying them.

One lock (`engine.lock`) serialises access: the wire server runs on the event loop, the
HTTP API in worker threads.

Revisions for the HTTP API are kept here, beside each document rather than inside it,
so MongoDB clients never see them: every write of a document (from either protocol)
gives it the revision `N-<md5 of its BSON>`, N counting its writes, and a collection
sequence number that orders the `_changes` feed. Deleted documents leave a tombstone
(id, revision, sequence) for the changes feed.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import threading
import time
from dataclasses import dataclass

from . import bson
from .documents import get_simple, split
from .errors import MongoError
from .indexes import Index
from .journal import Journal
from .matcher import Matcher
from .ordering import sort_key
from .planner import Plan, Stats, choose, execute

log = logging.getLogger("fromscratch.docdb")

ID_INDEX = {"key": {"_id": 1}, "name": "_id_"}


def valid_collection_name(name) -> bool:
    return isinstance(name, str) and bool(name) and "$" not in name and "\x00" not in name \
        and not name.startswith(".") and not name.endswith(".")


def valid_database_name(name) -> bool:
    return isinstance(name, str) and bool(name) and len(name) < 64 and \
        not any(c in name for c in '/\\. "$*<>:|?\x00')


@dataclass
class Revision:
    number: int              # how many times the document was written
    digest: str
    seq: int                 # the collection's sequence number of the last write
    doc_id: object = None    # the _id (kept for tombstones, whose document is gone)
    deleted: bool = False

    @property
    def rev(self) -> str:
        return f"{self.number}-{self.digest}"


class Collection:
    def __init__(self, engine: "Engine", database: str, name: str, options: dict | None = None):
        self.engine = engine
        self.database = database
        self.name = name
        self.set_options(options or {})
        self.documents: dict[tuple, dict] = {}          # sort_key(_id) -> document
        self.sizes: dict[tuple, int] = {}               # BSON size of each document
        self.data_size = 0
        self.indexes: dict[str, Index] = {"_id_": Index(ID_INDEX)}
        self.revisions: dict[tuple, Revision] = {}      # includes tombstones; seq order
        self.seq = 0

    @property
    def namespace(self) -> str:
        return f"{self.database}.{self.name}"

    def __len__(self) -> int:
        return len(self.view_documents()) if self.is_view else len(self.documents)

    def set_options(self, options: dict) -> None:
        self.options = options
        validator = options.get("validator")
        self.validator = Matcher(validator) if validator else None

    # -- validation ---------------------------------------------------------------------------
    #
    # A collection's `validator` is a query (with `$jsonSchema` if it likes) that every
    # written document must match. `validationLevel` "moderate" exempts updates of
    # documents that did not match already, "off" turns it off; `validationAction` "warn"
    # only logs. A command may bypass it (`bypassDocumentValidation`).

    def _validate(self, document: dict, old: dict | None, bypass: bool) -> None:
        if self.validator is None or bypass or self.options.get("validationLevel") == "off":
            return
        if self.validator.matches(document):
            return
        if self.options.get("validationLevel") == "moderate" and old is not None and \
                not self.validator.matches(old):
            return
        if self.options.get("validationAction") == "warn":
            log.warning("docdb: document %r fails the validator of %s", document.get("_id"),
                        self.namespace)
            return
        raise MongoError(121, "Document failed validation",
                         errInfo={"failingDocumentId": document.get("_id"),
                                  "details": {"operatorName": "$and",
                                              "specifiedAs": self.options["validator"],
                                              "reason": "the document does not match the "
                                                        "collection's validator"}})

    # -- views -------------------------------------------------------------------------------
    #
    # A view (`create` with `viewOn` and `pipeline`) stores nothing: reading it runs its
    # pipeline over its source (itself possibly a view) at that moment. It cannot be
    # written to or indexed.

    @property
    def is_view(self) -> bool:
        return "viewOn" in self.options

    def view_documents(self) -> list[dict]:
        from .aggregation import Context, run_pipeline
        source = self.engine.collection(self.database, self.options["viewOn"])
        if source is None:
            return []

        def documents_of(name: str) -> list[dict]:
            other = self.engine.collection(self.database, name)
            return other.find({}) if other is not None else []

        return run_pipeline(source.find({}), self.options.get("pipeline", []),
                            Context(documents_of))

    def _writable(self) -> None:
        if self.is_view:
            raise MongoError(166, f"Namespace {self.namespace} is a view, not a collection")

    # -- reading ---------------------------------------------------------------------------

    def get(self, doc_id):
        return self.documents.get(sort_key(doc_id))

    def revision(self, doc_id) -> Revision | None:
        return self.revisions.get(sort_key(doc_id))

    def plan(self, query: dict, hint=None) -> Plan:
        return choose(self.indexes, query, hint)

    def find(self, query: dict | None = None, hint=None, stats: Stats | None = None,
             variables: dict | None = None, collation: dict | None = None) -> list[dict]:
        """The matching documents (a list, so the caller may let go of the lock);
        `variables` are the command's `let` variables. Indexes hold binary string order,
        so a query under another collation scans the collection."""
        query = query or {}
        if not query and not self.is_view:
            # Everything (aggregations start here): no predicate to run.
            if stats is not None:
                stats.docs_examined = stats.returned = len(self.documents)
            return list(self.documents.values())
        matcher = Matcher(query, variables, collation)
        if self.is_view:
            return list(execute(Plan(None), dict(enumerate(self.view_documents())), matcher,
                                stats))
        if matcher.key is not sort_key:
            return list(execute(Plan(None), self.documents, matcher, stats))
        if "_id" in query and not isinstance(query["_id"], dict) and len(query) == 1 \
                and hint is None:
            # The most common lookup of all, by _id, skips the planner.
            document = self.get(query["_id"])
            if stats is not None:
                stats.keys_examined = stats.docs_examined = int(document is not None)
            return [document] if document is not None and matcher.matches(document) else []
        return list(execute(self.plan(query, hint), self.documents, matcher, stats))

    # -- writing -----------------------------------------------------------------------------

    def insert(self, document: dict, bypass_validation: bool = False,
               raw: bytes | None = None) -> None:
        """Store a new document (it must have an _id); `raw`, if given, is its BSON."""
        self._writable()
        self._validate(document, None, bypass_validation)
        key = sort_key(document["_id"])
        if key in self.documents:            # the documents dict is the _id index's truth
            self.indexes["_id_"].check(document, None, self.namespace)
        for index in self.indexes.values():
            if index.name != "_id_":
                index.check(document, key, self.namespace)
        self.engine._write_put(self, key, document, raw)

    def replace(self, old: dict, new: dict, bypass_validation: bool = False) -> None:
        """Store `new` in place of `old` (same _id)."""
        self._writable()
        self._validate(new, old, bypass_validation)
        key = sort_key(old["_id"])
        for index in self.indexes.values():
            if index.name != "_id_":         # same _id: nothing to check there
                index.check(new, key, self.namespace)
        self.engine._write_put(self, key, new)

    def delete(self, document: dict) -> None:
        self._writable()
        previous = self.revisions.get(sort_key(document["_id"]))
        number = previous.number + 1 if previous else 1
        rev = f"{number}-{hashlib.md5(repr(previous).encode()).hexdigest()}"
        self.engine._log({"op": "del", "ns": self.namespace, "id": document["_id"],
                          "rev": rev, "seq": self.seq + 1})

    def create_index(self, spec: dict) -> bool:
        """Add an index; False if an identical one exists. Raises on conflicts and when
        existing documents break a unique index."""
        self._writable()
        index = Index(spec)
        existing = self.indexes.get(index.name)
        if existing is not None:
            if existing.same_definition(index):
                return False
            raise MongoError(86, f"An existing index has the same name as the requested "
                                 f"index but different options. Requested index: "
                                 f"{index.spec()}, existing index: {existing.spec()}")
        for existing in self.indexes.values():
            if existing.key == index.key and existing.partial == index.partial:
                raise MongoError(85, f"Index already exists with a different name: "
                                     f"{existing.name}")
        self._build(index)
        self.engine._log({"op": "createIndex", "ns": self.namespace, "spec": index.spec()},
                         built=index)
        return True

    def _build(self, index: Index) -> None:
        for key, document in self.documents.items():
            index.check(document, key, self.namespace)
            index.add(document, key)

    def drop_index(self, name: str) -> None:
        if name == "_id_":
            raise MongoError(72, "cannot drop _id index")
        if name not in self.indexes:
            raise MongoError(27, f"index not found with name [{name}]")
        self.engine._log({"op": "dropIndex", "ns": self.namespace, "name": name})

    def index_named(self, key_or_name) -> Index | None:
        for index in self.indexes.values():
            if index.name == key_or_name or \
                    (isinstance(key_or_name, dict) and {f: d for f, d in index.key} == key_or_name):
                return index
        return None


class Engine:
    """All databases, with the journal under them."""

    def __init__(self, directory: str, sync: bool = True, compact_threshold: int = 64 << 20):
        self.directory = directory
        self.sync_writes = sync
        self.compact_threshold = compact_threshold
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)     # notified after every write
        self.databases: dict[str, dict[str, Collection]] = {}
        self.journal = Journal(directory)
        self.compacting = False
        self.compactions = 0
        self.replaying = True
        started = time.monotonic()
        count = 0
        for record in self.journal.recover():
            self._apply(record)
            count += 1
        self.replaying = False
        if count:
            log.info("docdb: recovered %d journal records in %.2fs", count,
                     time.monotonic() - started)

    # -- namespaces ------------------------------------------------------------------------

    def database_names(self) -> list[str]:
        return sorted(name for name, colls in self.databases.items() if colls)

    def collection_names(self, database: str) -> list[str]:
        return sorted(self.databases.get(database, {}))

    def collection(self, database: str, name: str, create: bool = False) -> Collection | None:
        found = self.databases.get(database, {}).get(name)
        if found is None and create:
            found = self.create_collection(database, name)
        return found

    def create_collection(self, database: str, name: str, options: dict | None = None) -> Collection:
        if not valid_database_name(database):
            raise MongoError(73, f"Invalid database name: '{database}'")
        if not valid_collection_name(name):
            raise MongoError(73, f"Invalid collection name: {name}")
        if name in self.databases.get(database, {}):
            raise MongoError(48, f"Collection {database}.{name} already exists.")
        Matcher((options or {}).get("validator") or {})   # refuse a bad validator now
        self._log({"op": "create", "ns": f"{database}.{name}", "options": options or {}})
        return self.databases[database][name]

    def set_options(self, database: str, name: str, options: dict) -> None:
        """Replace a collection's options (collMod), e.g. its validator."""
        Matcher(options.get("validator") or {})           # refuse a bad validator now
        self._log({"op": "options", "ns": f"{database}.{name}", "options": options})

    def drop_collection(self, database: str, name: str) -> bool:
        if name not in self.databases.get(database, {}):
            return False
        self._log({"op": "drop", "ns": f"{database}.{name}"})
        return True

    def drop_database(self, database: str) -> None:
        if database in self.databases:
            self._log({"op": "dropDatabase", "db": database})

    def rename_collection(self, source: str, target: str, drop_target: bool = False) -> None:
        db, _, name = source.partition(".")
        new_db, _, new_name = target.partition(".")
        if self.collection(db, name) is None:
            raise MongoError(26, f"Source collection {source} does not exist")
        if not valid_collection_name(new_name) or not valid_database_name(new_db):
            raise MongoError(73, f"Invalid target namespace: {target}")
        if self.collection(new_db, new_name) is not None:
            if not drop_target:
                raise MongoError(48, "target namespace exists")
            self.drop_collection(new_db, new_name)
        self._log({"op": "rename", "ns": source, "to": target})

    # -- the journal -----------------------------------------------------------------------

    def _log(self, record: dict, built: Index | None = None) -> None:
        with self.lock:
            self.journal.append(record)
            self._apply(record, built)

    def _write_put(self, collection: Collection, key: tuple, document: dict,
                   raw: bytes | None = None) -> None:
        try:
            raw = bson.RawDocument(raw if raw is not None else bson.encode(document))
        except bson.BSONError as error:      # e.g. an integer over 64 bits sent as JSON
            raise MongoError(2, f"cannot store the document: {error}") from None
        if len(raw) > bson.MAX_DOCUMENT_SIZE:
            raise MongoError(10334, f"BSONObj size: {len(raw)} is invalid. Size must be "
                                    f"between 0 and 16793600(16MB)")
        previous = collection.revisions.get(key)
        number = previous.number + 1 if previous else 1
        rev = f"{number}-{hashlib.md5(raw).hexdigest()}"
        with self.lock:
            self.journal.append({"op": "put", "ns": collection.namespace, "rev": rev,
                                 "seq": collection.seq + 1, "doc": raw})
            self._put(collection, key, document, rev, collection.seq + 1, len(raw))

    def commit(self, journal: bool | None = None) -> None:
        """Make the writes so far durable, as the write concern asks: `j: true` always
        fsyncs; otherwise fsync when the engine syncs every write, else flush to the
        kernel (a killed process loses nothing, a power cut might)."""
        with self.lock:
            if journal or (journal is None and self.sync_writes):
                self.journal.sync()
            else:
                self.journal.flush()

    def _apply(self, record: dict, built: Index | None = None) -> None:
        """Carry out one journal record (a live write or one being replayed). A new
        index arrives `built` when it was created live (building it was its check)."""
        op = record["op"]
        if op == "dropDatabase":
            self.databases.pop(record["db"], None)
            self._notify()
            return
        database, _, name = record["ns"].partition(".")
        collections = self.databases.setdefault(database, {})
        if op == "create":
            collections[name] = Collection(self, database, name, record.get("options"))
            return
        if op == "drop":
            collections.pop(name, None)
            if not collections:
                del self.databases[database]
            self._notify()
            return
        if op == "rename":
            moved = collections.pop(name)
            new_db, _, new_name = record["to"].partition(".")
            moved.database, moved.name = new_db, new_name
            self.databases.setdefault(new_db, {})[new_name] = moved
            if not collections:
                del self.databases[database]
            return
        collection = collections.get(name)
        if collection is None:           # writes create their collection implicitly
            collection = collections[name] = Collection(self, database, name)
        if op == "put":
            document = record["doc"]
            key = sort_key(document["_id"])
            self._put(collection, key, document, record["rev"], record["seq"],
                      len(bson.encode(document)) if self.replaying else 0)
        elif op == "del":
            key = sort_key(record["id"])
            old = collection.documents.pop(key, None)
            if old is not None:
                for index in collection.indexes.values():
                    index.remove(old, key)
                collection.data_size -= collection.sizes.pop(key, 0)
            collection.revisions.pop(key, None)               # re-inserted last: seq order
            number, _, digest = record["rev"].partition("-")
            collection.revisions[key] = Revision(int(number), digest, record["seq"],
                                                 record["id"], deleted=True)
            collection.seq = max(collection.seq, record["seq"])
            self._notify()
        elif op == "createIndex":
            index = built or Index(record["spec"])
            if index.name not in collection.indexes:
                if built is None:
                    collection._build(index)
                collection.indexes[index.name] = index
        elif op == "dropIndex":
            collection.indexes.pop(record["name"], None)
        elif op == "options":
            collection.set_options(record["options"])
        elif op == "meta":
            collection.seq = max(collection.seq, record["seq"])
        else:
            raise ValueError(f"unknown journal record {op!r}")

    def _put(self, collection: Collection, key: tuple, document: dict, rev: str, seq: int,
             size: int) -> None:
        old = collection.documents.get(key)
        for index in collection.indexes.values():
            if old is not None:
                if index.name == "_id_":     # a replacement keeps its _id and its entry
                    continue
                index.remove(old, key)
            index.add(document, key)
        collection.documents[key] = document
        collection.data_size += size - collection.sizes.get(key, 0)
        collection.sizes[key] = size
        number, _, digest = rev.partition("-")
        collection.revisions.pop(key, None)               # re-inserted last: seq order
        collection.revisions[key] = Revision(int(number), digest, seq, document["_id"])
        collection.seq = max(collection.seq, seq)
        self._notify()

    def _notify(self) -> None:
        if not self.replaying:
            self.changed.notify_all()

    # -- background work -----------------------------------------------------------------------

    def expire_ttl(self, now: float | None = None) -> int:
        """Delete documents whose TTL index date is older than its expireAfterSeconds."""
        now = time.time() if now is None else now
        removed = 0
        with self.lock:
            for collections in list(self.databases.values()):
                for collection in list(collections.values()):
                    for index in list(collection.indexes.values()):
                        if index.expire_after is None or len(index.key) != 1:
                            continue
                        limit = now - float(index.expire_after)
                        parts = split(index.key[0][0])
                        for document in list(collection.documents.values()):
                            if _expired(get_simple(document, parts), limit):
                                collection.delete(document)
                                removed += 1
            if removed:
                self.commit()
        return removed

    def maybe_compact(self, force: bool = False) -> threading.Thread | None:
        """Start a background compaction when the journal has grown past the threshold
        (and past the live data, so a big database is not rewritten over and over)."""
        with self.lock:
            if self.compacting:
                return None
            live = sum(c.data_size for cs in self.databases.values() for c in cs.values())
            if not force and (self.journal.size < self.compact_threshold or
                              self.journal.size < live):
                return None
            self.compacting = True
            generation = self.journal.start_compaction()
            records = list(self._state_records())
        thread = threading.Thread(target=self._compact, args=(generation, records),
                                  name="docdb-compaction", daemon=True)
        thread.start()
        return thread

    def _compact(self, generation: int, records: list[dict]) -> None:
        try:
            self.journal.write_snapshot(generation, records)
            self.compactions += 1
            log.info("docdb: compacted the journal into snapshot %d", generation)
        except OSError:
            log.exception("docdb: compaction failed (the journal is intact)")
        finally:
            with self.lock:
                self.compacting = False

    def _state_records(self):
        """The records that rebuild the current state: a compacted journal."""
        for database, collections in self.databases.items():
            for name, collection in collections.items():
                ns = f"{database}.{name}"
                yield {"op": "create", "ns": ns, "options": collection.options}
                for index in collection.indexes.values():
                    if index.name != "_id_":
                        yield {"op": "createIndex", "ns": ns, "spec": index.spec()}
                for key, revision in collection.revisions.items():
                    if revision.deleted:
                        yield {"op": "del", "ns": ns, "id": revision.doc_id,
                               "rev": revision.rev, "seq": revision.seq}
                    else:
                        yield {"op": "put", "ns": ns, "rev": revision.rev, "seq": revision.seq,
                               "doc": collection.documents[key]}
                yield {"op": "meta", "ns": ns, "seq": collection.seq}

    def close(self) -> None:
        with self.lock:
            self.journal.close()


def _expired(value, limit: float) -> bool:
    values = value if type(value) is list else [value]
    dates = [v for v in values if isinstance(v, datetime.datetime)]
    return bool(dates) and min(dates).timestamp() < limit

