"""A small runner for MongoDB's unified test format (CRUD subset), driving pymongo.

    python compat_tests/docdb/unified_runner.py mongodb://127.0.0.1:27018/

prints passed/total per file and per operation. The test suite uses it through
`test_unified_crud.py`.

What it implements of the format (specifications: unified-test-format.md):

* entities: `client` (with `observeEvents`, `ignoreCommandMonitoringEvents`,
  `uriOptions`), `database`, `collection` (with `collectionOptions`), `session`;
* `runOnRequirements` (server version, topology "single", serverless, auth): a test whose
  requirements our server does not meet is *not applicable*, as the format specifies;
* `initialData`, the operations of the CRUD specification on collections and databases,
  `expectResult`, `expectError`, `expectEvents` (command started/succeeded/failed),
  `outcome`;
* the matching rules: extra fields allowed in root-level documents only, numbers
  compared by value, and the special operators `$$exists $$type $$unsetOrMatches
  $$matchesEntity $$matchesHexBytes $$sessionLsid $$lte $$matchAsRoot`.

What it does not implement raises `Unsupported` (failpoints, for instance), so the suite
can list those cases by name rather than skip them silently.
"""

from __future__ import annotations

import binascii
import json
import sys
from dataclasses import dataclass, field

import bson
import pymongo
from bson import json_util
from pymongo import monitoring
from pymongo.errors import (BulkWriteError, ConfigurationError, ConnectionFailure,
                            InvalidOperation, OperationFailure, PyMongoError)
from pymongo.operations import DeleteMany, DeleteOne, InsertOne, ReplaceOne, UpdateMany, UpdateOne
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

SERVER_VERSION = (6, 0, 0)
TOPOLOGY = "single"
SECURITY_COMMANDS = {"authenticate", "saslStart", "saslContinue", "getnonce", "createUser",
                     "updateUser", "copydbgetnonce", "copydbsaslstart", "copydb", "hello",
                     "ismaster", "isMaster"}


class Unsupported(Exception):
    """The test uses a part of the format (or of MongoDB) this runner does not have."""


class NotApplicable(Exception):
    """runOnRequirements say the test is not for this server."""


class DriverLacks(Exception):
    """The installed pymongo has no such option (an older version than the test's)."""


class Mismatch(AssertionError):
    pass


def load(path: str) -> dict:
    with open(path) as file:
        return json_util.loads(file.read())


# -- requirements --------------------------------------------------------------------------


def _version(text: str) -> tuple:
    return tuple(int(part) for part in text.split(".")) + (0,) * (3 - len(text.split(".")))


def requirements_met(requirements: list | None) -> bool:
    if not requirements:
        return True
    for requirement in requirements:
        if "minServerVersion" in requirement and \
                SERVER_VERSION < _version(requirement["minServerVersion"]):
            continue
        if "maxServerVersion" in requirement and \
                SERVER_VERSION > _version(requirement["maxServerVersion"]) + (99,):
            continue
        if "topologies" in requirement and TOPOLOGY not in requirement["topologies"]:
            continue
        if requirement.get("serverless") == "require":
            continue
        if requirement.get("auth") is True or requirement.get("csfle"):
            continue
        if "serverParameters" in requirement:
            continue
        return True
    return False


# -- events ------------------------------------------------------------------------------------


class EventRecorder(monitoring.CommandListener):
    def __init__(self, observe: list[str], ignore: list[str]):
        self.observe = set(observe)
        self.ignore = set(ignore) | SECURITY_COMMANDS
        self.events: list[tuple[str, object]] = []

    def _keep(self, kind: str, event) -> None:
        if kind in self.observe and event.command_name not in self.ignore:
            self.events.append((kind, event))

    def started(self, event):
        self._keep("commandStartedEvent", event)

    def succeeded(self, event):
        self._keep("commandSucceededEvent", event)

    def failed(self, event):
        self._keep("commandFailedEvent", event)


# -- matching ---------------------------------------------------------------------------------

TYPES = {
    "double": (float,), "string": (str,), "object": (dict,), "array": (list,),
    "binData": (bytes, bson.Binary), "objectId": (bson.ObjectId,), "bool": (bool,),
    "date": (__import__("datetime").datetime,), "null": (type(None),), "int": (int,),
    "long": (int, bson.Int64), "decimal": (bson.Decimal128,), "timestamp": (bson.Timestamp,),
    "regex": (bson.Regex,),
}


class Matcher:
    def __init__(self, entities: dict):
        self.entities = entities

    def match(self, expected, actual, root: bool = True, where: str = "") -> None:
        if isinstance(expected, dict):
            if len(expected) == 1 and next(iter(expected)).startswith("$$"):
                self._special(next(iter(expected)), expected[next(iter(expected))], actual,
                              where, present=True)
                return
            if not isinstance(actual, dict):
                raise Mismatch(f"{where}: expected a document, got {actual!r}")
            for key, value in expected.items():
                if isinstance(value, dict) and len(value) == 1 and \
                        next(iter(value)) in ("$$exists", "$$unsetOrMatches", "$$type"):
                    operator = next(iter(value))
                    if operator == "$$exists":
                        if (key in actual) != value[operator]:
                            raise Mismatch(f"{where}.{key}: $$exists {value[operator]} failed")
                        continue
                    if key not in actual and operator == "$$unsetOrMatches":
                        continue
                if key not in actual:
                    raise Mismatch(f"{where}: missing field {key!r} in {actual!r}")
                self.match(value, actual[key], False, f"{where}.{key}")
            if not root:
                extra = set(actual) - set(expected)
                if extra:
                    raise Mismatch(f"{where}: unexpected fields {sorted(extra)} in {actual!r}")
            return
        if isinstance(expected, list):
            if not isinstance(actual, list):
                raise Mismatch(f"{where}: expected an array, got {actual!r}")
            if len(expected) != len(actual):
                raise Mismatch(f"{where}: expected {len(expected)} elements, got "
                               f"{len(actual)}: {actual!r}")
            for index, (e, a) in enumerate(zip(expected, actual)):
                self.match(e, a, root and isinstance(e, dict), f"{where}[{index}]")
            return
        if isinstance(expected, (int, float)) and not isinstance(expected, bool):
            if isinstance(actual, bool) or not isinstance(actual, (int, float)) or expected != actual:
                raise Mismatch(f"{where}: expected {expected!r}, got {actual!r}")
            return
        if type(expected) is not type(actual) and not (
                isinstance(expected, bytes) and isinstance(actual, bytes)) or expected != actual:
            raise Mismatch(f"{where}: expected {expected!r}, got {actual!r}")

    def _special(self, operator: str, spec, actual, where: str, present: bool) -> None:
        if operator == "$$unsetOrMatches":
            if actual is None:
                return
            self.match(spec, actual, False, where)
        elif operator == "$$exists":
            if bool(present) != spec:
                raise Mismatch(f"{where}: $$exists {spec}")
        elif operator == "$$type":
            names = spec if isinstance(spec, list) else [spec]
            kinds = tuple(t for name in names for t in TYPES.get(name, ()))
            if not isinstance(actual, kinds) or (isinstance(actual, bool) and bool not in kinds):
                raise Mismatch(f"{where}: {actual!r} is not of type {spec}")
        elif operator == "$$matchesEntity":
            if self.entities[spec] != actual:
                raise Mismatch(f"{where}: does not match entity {spec}")
        elif operator == "$$matchesHexBytes":
            if binascii.unhexlify(spec) != actual:
                raise Mismatch(f"{where}: bytes differ")
        elif operator == "$$sessionLsid":
            if self.entities[spec].session_id != actual:
                raise Mismatch(f"{where}: not the lsid of {spec}")
        elif operator == "$$lte":
            if not actual <= spec:
                raise Mismatch(f"{where}: {actual!r} > {spec!r}")
        elif operator == "$$matchAsRoot":
            self.match(spec, actual, True, where)
        elif operator == "$$matchAsDocument":
            self.match(spec, json_util.loads(actual), False, where)
        else:
            raise Unsupported(f"special operator {operator}")


# -- operations --------------------------------------------------------------------------------

# The format's camelCase options -> pymongo's keyword arguments. Methods that pass unknown
# keyword arguments straight into the command (aggregate, findOneAnd*) keep camelCase.
RENAMES = {"batchSize": "batch_size", "arrayFilters": "array_filters",
           "allowDiskUse": "allow_disk_use", "returnDocument": "return_document",
           "bypassDocumentValidation": "bypass_document_validation",
           "noCursorTimeout": "no_cursor_timeout", "showRecordId": "show_record_id",
           "returnKey": "return_key", "allowPartialResults": "allow_partial_results",
           "maxTimeMS": "max_time_ms"}
PASS_THROUGH = {"aggregate": {"batchSize", "allowDiskUse", "bypassDocumentValidation",
                              "maxTimeMS"},
                "findOneAndUpdate": {"bypassDocumentValidation", "maxTimeMS"},
                "findOneAndReplace": {"bypassDocumentValidation", "maxTimeMS"},
                "findOneAndDelete": {"maxTimeMS"},
                "countDocuments": {"maxTimeMS"}, "estimatedDocumentCount": {"maxTimeMS"},
                "distinct": {"maxTimeMS"}}


def _kwargs(arguments: dict, entities: dict, operation: str = "") -> dict:
    out = {}
    keep = PASS_THROUGH.get(operation, set())
    for key, value in arguments.items():
        if key in keep:
            out[key] = value
        elif key == "session":
            out["session"] = entities[value]
        elif key == "returnDocument":
            out["return_document"] = value == "After"
        else:
            out[RENAMES.get(key, key)] = value
    return out


def _write_model(request: dict, namespace: str | None = None):
    """A pymongo write model; `namespace` for MongoClient.bulk_write's models."""
    (kind, arguments), = request.items()
    if kind == "insertOne":
        return InsertOne(arguments["document"], namespace=namespace)
    options = {"namespace": namespace} if namespace else {}
    for key in ("upsert", "collation", "hint", "sort"):
        if key in arguments:
            options[key] = arguments[key]
    if "arrayFilters" in arguments:
        options["array_filters"] = arguments["arrayFilters"]
    if kind == "updateOne":
        return UpdateOne(arguments["filter"], arguments["update"], **options)
    if kind == "updateMany":
        options.pop("sort", None)
        return UpdateMany(arguments["filter"], arguments["update"], **options)
    if kind == "replaceOne":
        options.pop("array_filters", None)
        return ReplaceOne(arguments["filter"], arguments["replacement"], **options)
    if kind in ("deleteOne", "deleteMany"):
        options = {k: v for k, v in options.items() if k in ("collation", "hint")}
        return (DeleteOne if kind == "deleteOne" else DeleteMany)(arguments["filter"], **options)
    raise Unsupported(f"bulk write model {kind}")


def _update_result(result) -> dict:
    out = {"matchedCount": result.matched_count, "modifiedCount": result.modified_count,
           "upsertedCount": 1 if result.upserted_id is not None else 0}
    if result.upserted_id is not None:
        out["upsertedId"] = result.upserted_id
    return out


def _bulk_result(result) -> dict:
    # pymongo's BulkWriteResult has no inserted ids: insertedIds stays unset, which the
    # tests allow ($$unsetOrMatches).
    upserted = {str(k): v for k, v in result.upserted_ids.items()}
    return {"deletedCount": result.deleted_count, "insertedCount": result.inserted_count,
            "matchedCount": result.matched_count,
            "modifiedCount": result.modified_count, "upsertedCount": result.upserted_count,
            "upsertedIds": upserted}


def run_operation(operation: dict, entities: dict):
    name = operation["name"]
    target = entities.get(operation["object"])
    arguments = dict(operation.get("arguments") or {})
    if operation["object"] == "testRunner":
        if name != "failPoint":
            raise Unsupported(f"test runner operation {name}")
        # Set on the client's server through an internal client, so that the command does
        # not show among the client's events; needs the server's --enable-test-commands.
        host, port = entities[arguments["client"]].address
        with pymongo.MongoClient(host, port, serverSelectionTimeoutMS=5000) as internal:
            internal.admin.command(arguments["failPoint"])
        return None
    if name == "insertOne":
        result = target.insert_one(arguments.pop("document"), **_kwargs(arguments, entities, name))
        return {"insertedId": result.inserted_id} if result.acknowledged else None
    if name == "insertMany":
        result = target.insert_many(arguments.pop("documents"), **_kwargs(arguments, entities, name))
        return {"insertedIds": {str(i): v for i, v in enumerate(result.inserted_ids)}} \
            if result.acknowledged else None
    if name in ("find", "findOne"):
        query = arguments.pop("filter", {})
        kwargs = _kwargs(arguments, entities, name)
        if name == "findOne":
            return target.find_one(query, **kwargs)
        return list(target.find(query, **kwargs))
    if name in ("updateOne", "updateMany", "replaceOne"):
        query = arguments.pop("filter")
        change = arguments.pop("replacement" if name == "replaceOne" else "update")
        method = {"updateOne": target.update_one, "updateMany": target.update_many,
                  "replaceOne": target.replace_one}[name]
        result = method(query, change, **_kwargs(arguments, entities, name))
        return _update_result(result) if result.acknowledged else None
    if name in ("deleteOne", "deleteMany"):
        method = target.delete_one if name == "deleteOne" else target.delete_many
        result = method(arguments.pop("filter"), **_kwargs(arguments, entities, name))
        return {"deletedCount": result.deleted_count} if result.acknowledged else None
    if name == "countDocuments":
        return target.count_documents(arguments.pop("filter"), **_kwargs(arguments, entities, name))
    if name == "estimatedDocumentCount":
        return target.estimated_document_count(**_kwargs(arguments, entities, name))
    if name == "count":
        command = {"count": target.name, "query": arguments.pop("filter", {})}
        command.update(arguments)
        return target.database.command(command)["n"]
    if name == "distinct":
        return target.distinct(arguments.pop("fieldName"), arguments.pop("filter", None),
                               **_kwargs(arguments, entities, name))
    if name in ("findOneAndUpdate", "findOneAndReplace", "findOneAndDelete"):
        query = arguments.pop("filter")
        if name == "findOneAndDelete":
            return target.find_one_and_delete(query, **_kwargs(arguments, entities, name))
        change = arguments.pop("replacement" if name == "findOneAndReplace" else "update")
        method = target.find_one_and_replace if name == "findOneAndReplace" \
            else target.find_one_and_update
        return method(query, change, **_kwargs(arguments, entities, name))
    if name == "bulkWrite":
        models = [_write_model(request) for request in arguments.pop("requests")]
        result = target.bulk_write(models, **_kwargs(arguments, entities, name))
        return _bulk_result(result) if result.acknowledged else None
    if name == "clientBulkWrite":
        # MongoClient.bulk_write needs MongoDB 8.0's bulkWrite command, which we lack; the
        # driver's own validation (what these tests check on a 6.0 server) runs first.
        models = []
        for request in arguments.pop("models"):
            (kind, spec), = request.items()
            spec = dict(spec)
            models.append(_write_model({kind: spec}, spec.pop("namespace")))
        return target.bulk_write(models, **_kwargs(arguments, entities, name))
    if name == "aggregate":
        pipeline = arguments.pop("pipeline")
        return list(target.aggregate(pipeline, **_kwargs(arguments, entities, name)))
    if name == "createIndex":
        keys = list(arguments.pop("keys").items())
        return target.create_index(keys, **_kwargs(arguments, entities, name))
    if name == "modifyCollection":
        return target.command({"collMod": arguments.pop("collection"), **arguments})
    if name == "dropCollection":
        return target.drop_collection(arguments.pop("collection"))
    if name == "createCollection":
        # The operation is the create command alone: no listCollections existence check.
        return target.create_collection(arguments.pop("collection"), check_exists=False,
                                        **_kwargs(arguments, entities, name))
    raise Unsupported(f"operation {name}")


# -- running one test ---------------------------------------------------------------------------


@dataclass
class Outcome:
    file: str
    description: str
    status: str           # passed, failed, unsupported, not-applicable, driver-lacks
    detail: str = ""
    operations: list[str] = field(default_factory=list)


class TestRun:
    def __init__(self, uri: str, spec: dict, test: dict):
        self.uri = uri
        self.spec = spec
        self.test = test
        self.entities: dict = {}
        self.recorders: dict[str, EventRecorder] = {}
        self.clients: list = []

    def run(self) -> None:
        if not requirements_met(self.spec.get("runOnRequirements")) or \
                not requirements_met(self.test.get("runOnRequirements")):
            raise NotApplicable("runOnRequirements")
        if "skipReason" in self.test:
            raise NotApplicable(self.test["skipReason"])
        try:
            self._create_entities()
            self._initial_data()
            for recorder in self.recorders.values():
                recorder.events.clear()
            for operation in self.test["operations"]:
                self._operation(operation)
            self._check_events()
            self._check_outcome()
        finally:
            if any(op["name"] == "failPoint" for op in self.test["operations"]):
                with pymongo.MongoClient(self.uri, serverSelectionTimeoutMS=5000) as client:
                    client.admin.command({"configureFailPoint": "failCommand", "mode": "off"})
            for client in self.clients:
                client.close()

    def _create_entities(self) -> None:
        for entry in self.spec.get("createEntities", []):
            (kind, spec), = entry.items()
            if kind == "client":
                recorder = EventRecorder(spec.get("observeEvents", []),
                                         spec.get("ignoreCommandMonitoringEvents", []))
                options = dict(spec.get("uriOptions", {}))
                if "appname" in options:
                    options["appName"] = options.pop("appname")
                client = pymongo.MongoClient(self.uri, event_listeners=[recorder],
                                             serverSelectionTimeoutMS=5000, **options)
                self.clients.append(client)
                self.recorders[spec["id"]] = recorder
                self.entities[spec["id"]] = client
            elif kind == "database":
                self.entities[spec["id"]] = self.entities[spec["client"]].get_database(
                    spec["databaseName"], **self._options(spec.get("databaseOptions", {})))
            elif kind == "collection":
                self.entities[spec["id"]] = self.entities[spec["database"]].get_collection(
                    spec["collectionName"], **self._options(spec.get("collectionOptions", {})))
            elif kind == "session":
                self.entities[spec["id"]] = self.entities[spec["client"]].start_session()
            else:
                raise Unsupported(f"entity {kind}")

    @staticmethod
    def _options(spec: dict) -> dict:
        options = {}
        if "writeConcern" in spec:
            options["write_concern"] = WriteConcern(**spec["writeConcern"])
        if "readConcern" in spec:
            options["read_concern"] = ReadConcern(**spec["readConcern"])
        return options

    def _initial_data(self) -> None:
        if not self.spec.get("initialData"):
            return
        setup = pymongo.MongoClient(self.uri, serverSelectionTimeoutMS=5000)
        self.clients.append(setup)
        for data in self.spec["initialData"]:
            database = setup[data["databaseName"]]
            database.drop_collection(data["collectionName"])
            database.create_collection(data["collectionName"])
            if data["documents"]:
                database[data["collectionName"]].insert_many(data["documents"])

    def _operation(self, operation: dict) -> None:
        expect_error = operation.get("expectError")
        try:
            result = run_operation(operation, self.entities)
        except Unsupported:
            raise
        except TypeError as error:
            if "unexpected keyword argument" in str(error):
                raise DriverLacks(f"pymongo {pymongo.version}: {error}") from None
            if expect_error is None:
                raise Mismatch(f"{operation['name']} raised {error!r}") from error
            self._check_error(error, expect_error)
            return
        except (PyMongoError, ValueError) as error:
            if expect_error is None:
                raise Mismatch(f"{operation['name']} raised {error!r}") from error
            self._check_error(error, expect_error)
            return
        if expect_error is not None:
            raise Mismatch(f"{operation['name']} succeeded but an error was expected: "
                           f"{expect_error}")
        if "expectResult" in operation:
            Matcher(self.entities).match(operation["expectResult"], result, True,
                                         operation["name"])
        if "saveResultAsEntity" in operation:
            self.entities[operation["saveResultAsEntity"]] = result

    def _check_error(self, error: Exception, expected: dict) -> None:
        server_error = isinstance(error, OperationFailure)
        if expected.get("isClientError") and server_error:
            raise Mismatch(f"expected a client error, got a server error {error!r}")
        if expected.get("isClientError") and isinstance(error, PyMongoError) and \
                not isinstance(error, (InvalidOperation, ConfigurationError, ConnectionFailure)):
            raise Mismatch(f"expected a client error, got {error!r}")
        details = getattr(error, "details", None) or {}
        if isinstance(error, BulkWriteError) and details.get("writeErrors"):
            details = details["writeErrors"][0]
        if "errorCode" in expected and details.get("code") != expected["errorCode"]:
            raise Mismatch(f"expected error code {expected['errorCode']}, got {details}")
        if "errorCodeName" in expected and details.get("codeName") != expected["errorCodeName"]:
            raise Mismatch(f"expected error {expected['errorCodeName']}, got {details}")
        if "errorContains" in expected and \
                expected["errorContains"].lower() not in str(getattr(error, "details", None) or
                                                              error).lower():
            raise Mismatch(f"error {error} does not contain {expected['errorContains']!r}")
        if "errorResponse" in expected:
            Matcher(self.entities).match(expected["errorResponse"], getattr(error, "details", {}))
        if "expectResult" in expected and isinstance(error, BulkWriteError):
            partial = error.details
            actual = {"deletedCount": partial.get("nRemoved", 0),
                      "insertedCount": partial.get("nInserted", 0),
                      "matchedCount": partial.get("nMatched", 0),
                      "modifiedCount": partial.get("nModified", 0),
                      "upsertedCount": partial.get("nUpserted", 0),
                      "upsertedIds": {str(u["index"]): u["_id"] for u in partial.get("upserted", [])}}
            Matcher(self.entities).match(expected["expectResult"], actual, True, "bulk result")
        for label in expected.get("errorLabelsContain", []):
            if not (isinstance(error, PyMongoError) and error.has_error_label(label)):
                raise Mismatch(f"error lacks label {label}")

    def _check_events(self) -> None:
        for expectation in self.test.get("expectEvents", []):
            if expectation.get("eventType", "command") != "command":
                raise Unsupported(f"{expectation['eventType']} events")
            actual = self.recorders[expectation["client"]].events
            expected = expectation["events"]
            if expectation.get("ignoreExtraEvents"):
                actual = actual[:len(expected)]
            if len(actual) != len(expected):
                raise Mismatch(f"expected {len(expected)} events, got "
                               f"{[(k, e.command_name) for k, e in actual]}")
            matcher = Matcher(self.entities)
            for index, (want, (kind, event)) in enumerate(zip(expected, actual)):
                (want_kind, spec), = want.items()
                if want_kind != kind:
                    raise Mismatch(f"event {index}: expected {want_kind}, got {kind}")
                if "commandName" in spec and spec["commandName"] != event.command_name:
                    raise Mismatch(f"event {index}: expected {spec['commandName']}, got "
                                   f"{event.command_name}")
                if "databaseName" in spec and spec["databaseName"] != event.database_name:
                    raise Mismatch(f"event {index}: database {event.database_name}")
                if "command" in spec:
                    matcher.match(spec["command"], event.command, True, f"event {index} command")
                if "reply" in spec:
                    matcher.match(spec["reply"], event.reply, True, f"event {index} reply")

    def _check_outcome(self) -> None:
        if not self.test.get("outcome"):
            return
        checker = pymongo.MongoClient(self.uri, serverSelectionTimeoutMS=5000)
        self.clients.append(checker)
        for data in self.test["outcome"]:
            collection = checker[data["databaseName"]][data["collectionName"]]
            actual = list(collection.find({}, sort=[("_id", 1)]))
            Matcher(self.entities).match(data["documents"], actual, False, "outcome")


def run_test(uri: str, path: str, spec: dict, test: dict) -> Outcome:
    operations = [op["name"] for op in test["operations"]]
    name = path.rsplit("/", 1)[-1]
    try:
        TestRun(uri, spec, test).run()
    except NotApplicable as reason:
        return Outcome(name, test["description"], "not-applicable", str(reason), operations)
    except Unsupported as reason:
        return Outcome(name, test["description"], "unsupported", str(reason), operations)
    except DriverLacks as reason:
        return Outcome(name, test["description"], "driver-lacks", str(reason), operations)
    except (Mismatch, PyMongoError, AssertionError, KeyError, TypeError) as error:
        return Outcome(name, test["description"], "failed", f"{type(error).__name__}: {error}",
                       operations)
    return Outcome(name, test["description"], "passed", "", operations)


def main(argv: list[str]) -> int:
    import glob
    import os
    uri = argv[0] if argv else "mongodb://127.0.0.1:27018/"
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "unified", "crud")
    by_file: dict[str, list[Outcome]] = {}
    for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
        spec = load(path)
        by_file[os.path.basename(path)] = [run_test(uri, path, spec, t) for t in spec["tests"]]
    totals = {"passed": 0, "failed": 0, "unsupported": 0, "not-applicable": 0,
              "driver-lacks": 0}
    for name, outcomes in by_file.items():
        applicable = [o for o in outcomes if o.status not in ("not-applicable", "driver-lacks")]
        passed = sum(o.status == "passed" for o in applicable)
        for outcome in outcomes:
            totals[outcome.status] += 1
        note = f" ({len(outcomes) - len(applicable)} not applicable)" \
            if len(applicable) != len(outcomes) else ""
        print(f"{name:55s} {passed}/{len(applicable)}{note}")
        for outcome in applicable:
            if outcome.status != "passed":
                print(f"    {outcome.status}: {outcome.description}: {outcome.detail[:300]}")
    print("\nper operation (files named after it), passed/applicable (not applicable):")
    by_operation: dict[str, list[Outcome]] = {}
    for name, outcomes in by_file.items():
        by_operation.setdefault(name.split("-")[0].removesuffix(".json"), []).extend(outcomes)
    for operation, outcomes in sorted(by_operation.items()):
        applicable = [o for o in outcomes if o.status not in ("not-applicable", "driver-lacks")]
        passed = sum(o.status == "passed" for o in applicable)
        print(f"  {operation:28s} {passed}/{len(applicable)} "
              f"({len(outcomes) - len(applicable)})")
    print(json.dumps(totals))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
