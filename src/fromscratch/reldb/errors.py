"""SQL errors as PostgreSQL reports them: a SQLSTATE code, a message, and the optional
detail, hint and cursor position (1-based, in characters of the query text).

Every layer below the protocol raises `SqlError`; the protocol turns it into an
ErrorResponse. Codes follow PostgreSQL's errcodes.txt.
"""

from __future__ import annotations


class SqlError(Exception):
    def __init__(self, code: str, message: str, *, detail: str | None = None,
                 hint: str | None = None, position: int | None = None,
                 severity: str = "ERROR", **fields):
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail
        self.hint = hint
        self.position = position
        self.severity = severity
        self.fields = fields          # schema_name, table_name, column_name, constraint_name

    def __repr__(self):
        return f"SqlError({self.code!r}, {self.message!r})"


# The SQLSTATE codes we raise, by name, so call sites read as prose.
SYNTAX_ERROR = "42601"
UNDEFINED_TABLE = "42P01"
UNDEFINED_COLUMN = "42703"
UNDEFINED_FUNCTION = "42883"
UNDEFINED_OBJECT = "42704"
UNDEFINED_SCHEMA = "3F000"
UNDEFINED_PSTATEMENT = "26000"
UNDEFINED_CURSOR = "34000"
DUPLICATE_TABLE = "42P07"
DUPLICATE_OBJECT = "42710"
DUPLICATE_COLUMN = "42701"
DUPLICATE_SCHEMA = "42P06"
DUPLICATE_DATABASE = "42P04"
DUPLICATE_PSTATEMENT = "42P05"
AMBIGUOUS_COLUMN = "42702"
DATATYPE_MISMATCH = "42804"
GROUPING_ERROR = "42803"
WINDOWING_ERROR = "42P20"
INVALID_COLUMN_REFERENCE = "42P10"
INDETERMINATE_DATATYPE = "42P18"
WRONG_OBJECT_TYPE = "42809"
INVALID_TABLE_DEFINITION = "42P16"
DEPENDENT_OBJECTS = "2BP01"
CANNOT_COERCE = "42846"
UNIQUE_VIOLATION = "23505"
NOT_NULL_VIOLATION = "23502"
FOREIGN_KEY_VIOLATION = "23503"
CHECK_VIOLATION = "23514"
INVALID_TEXT_REPRESENTATION = "22P02"
INVALID_DATETIME_FORMAT = "22007"
DATETIME_FIELD_OVERFLOW = "22008"
NUMERIC_VALUE_OUT_OF_RANGE = "22003"
DIVISION_BY_ZERO = "22012"
STRING_DATA_RIGHT_TRUNCATION = "22001"
INVALID_PARAMETER_VALUE = "22023"
CARDINALITY_VIOLATION = "21000"
INVALID_REGEX = "2201B"
INVALID_BINARY_REPRESENTATION = "22P03"
IN_FAILED_TRANSACTION = "25P02"
NO_ACTIVE_TRANSACTION = "25P01"
ACTIVE_TRANSACTION = "25001"
SAVEPOINT_EXCEPTION = "3B001"
QUERY_CANCELED = "57014"
SERIALIZATION_FAILURE = "40001"
DEADLOCK_DETECTED = "40P01"
FEATURE_NOT_SUPPORTED = "0A000"
PROTOCOL_VIOLATION = "08P01"
INVALID_AUTHORIZATION = "28000"
INVALID_PASSWORD = "28P01"
OBJECT_IN_USE = "55006"
INVALID_CATALOG_NAME = "3D000"
STATEMENT_TOO_COMPLEX = "54001"
PROGRAM_LIMIT_EXCEEDED = "54000"
INTERNAL_ERROR = "XX000"
BAD_COPY_FORMAT = "22P04"
QUERY_CANCELED_MESSAGE = "canceling statement due to user request"
