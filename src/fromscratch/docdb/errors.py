"""MongoDB's error codes and names, and the exception the engine raises with them.

The engine (matcher, updates, aggregation, storage) raises `MongoError`; the server turns
it into `{ok: 0, errmsg, code, codeName}` or into one entry of `writeErrors`, and the
HTTP API into a CouchDB-style JSON error. The names are MongoDB's
(src/mongo/base/error_codes.yml), so drivers recognise them.
"""

from __future__ import annotations

CODE_NAMES = {
    1: "InternalError",
    2: "BadValue",
    4: "NoSuchKey",
    9: "FailedToParse",
    11: "UserNotFound",
    13: "Unauthorized",
    14: "TypeMismatch",
    15: "Overflow",
    17: "AuthenticationFailed",
    18: "AuthenticationFailed",
    20: "IllegalOperation",
    22: "InvalidBSON",
    26: "NamespaceNotFound",
    27: "IndexNotFound",
    28: "PathNotViable",
    40: "ConflictingUpdateOperators",
    43: "CursorNotFound",
    48: "NamespaceExists",
    52: "DollarPrefixedFieldName",
    53: "InvalidIdField",
    54: "NotSingleValueField",
    56: "EmptyFieldName",
    57: "DottedFieldName",
    59: "CommandNotFound",
    66: "ImmutableField",
    67: "CannotCreateIndex",
    72: "InvalidOptions",
    73: "InvalidNamespace",
    85: "IndexOptionsConflict",
    86: "IndexKeySpecsConflict",
    96: "OperationFailed",
    115: "CommandNotSupported",
    121: "DocumentValidationFailure",
    125: "InvalidReplicaSetConfig",
    136: "CappedPositionLost",
    166: "CommandNotSupportedOnView",
    168: "InvalidPipelineOperator",
    171: "CannotIndexParallelArrays",
    197: "InvalidIndexSpecificationOption",
    241: "ConversionFailure",
    251: "NoSuchTransaction",
    263: "OperationNotSupportedInTransaction",
    292: "QueryExceededMemoryLimitNoDiskUseAllowed",
    10334: "BSONObjectTooLarge",
    11000: "DuplicateKey",
}


class MongoError(Exception):
    """An error with MongoDB's numeric code; `details` become extra reply fields."""

    def __init__(self, code: int, message: str, **details):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    @property
    def code_name(self) -> str:
        return CODE_NAMES.get(self.code, f"Location{self.code}")

    def to_reply(self) -> dict:
        reply = {"ok": 0.0, "errmsg": self.message, "code": self.code, "codeName": self.code_name}
        reply.update(self.details)
        return reply

    def to_write_error(self, index: int) -> dict:
        entry = {"index": index, "code": self.code, "errmsg": self.message}
        entry.update(self.details)
        return entry


def bad_value(message: str) -> MongoError:
    return MongoError(2, message)


def failed_to_parse(message: str) -> MongoError:
    return MongoError(9, message)


def type_mismatch(message: str) -> MongoError:
    return MongoError(14, message)
