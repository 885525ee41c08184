"""SQL data types: their identity (name, OID, length), their Python representation,
their text input/output as PostgreSQL spells it, and the casts between them.

How values are held in Python (one representation per type, everywhere in the engine):

    smallint integer bigint oid reg*    int
    real double precision               float
    numeric                             decimal.Decimal (with the scale it carries)
    boolean                             bool
    text varchar char name "char"       str
    bytea                               bytes
    date / time / timestamp             datetime.date / datetime.time / naive datetime
    timestamptz                         aware datetime (in UTC)
    interval                            Interval(months, days, microseconds)
    uuid                                uuid.UUID
    json                                str (the text as given, as PostgreSQL keeps it)
    jsonb                               parsed value; a top-level JSON null is JSON_NULL
    arrays                              list (nested for more dimensions)
    records                             tuple

SQL NULL is None. The wire formats (text and binary) live in pgwire/; text output here
is shared by the protocol and by casts to text.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import re
import struct
import threading
import uuid
from decimal import Decimal

from .errors import (CANNOT_COERCE, DATETIME_FIELD_OVERFLOW, INVALID_DATETIME_FORMAT,
                     INVALID_TEXT_REPRESENTATION, NUMERIC_VALUE_OUT_OF_RANGE,
                     STRING_DATA_RIGHT_TRUNCATION, SqlError, UNDEFINED_OBJECT)

# Arithmetic on numeric: exact for + - *, wide enough for PostgreSQL's 1000-digit scale.
NUMERIC = decimal.Context(prec=2000, rounding=decimal.ROUND_HALF_UP,
                          Emax=999999, Emin=-999999, traps=[decimal.InvalidOperation])

# Output formatting depends on session settings (TimeZone); each session runs in its own
# thread, so the settings the formatter needs live in a thread-local.
session_local = threading.local()


def session_tz() -> dt.tzinfo:
    return getattr(session_local, "tz", dt.timezone.utc)


class SqlType:
    """One SQL type. `typmod` carries varchar(n)/char(n) length and numeric(p,s)."""

    __slots__ = ("name", "oid", "typlen", "category", "typmod", "elem", "array_oid",
                 "preferred", "sql_name", "labels", "schema_oid")

    def __init__(self, name, oid, typlen, category, array_oid=0, elem=None,
                 preferred=False, sql_name=None, typmod=-1):
        self.name = name
        self.oid = oid
        self.typlen = typlen
        self.category = category
        self.array_oid = array_oid
        self.elem = elem
        self.preferred = preferred
        self.sql_name = sql_name or name
        self.typmod = typmod
        self.labels: list[str] | None = None     # an enum type's values, in order
        self.schema_oid = 11                      # pg_catalog, or a user type's schema

    def with_typmod(self, typmod: int) -> "SqlType":
        if typmod == self.typmod:
            return self
        t = SqlType(self.name, self.oid, self.typlen, self.category, self.array_oid,
                    self.elem, self.preferred, self.sql_name, typmod)
        return t

    @property
    def base(self) -> "SqlType":
        return BY_OID[self.oid] if self.typmod != -1 else self

    @property
    def is_array(self) -> bool:
        return self.elem is not None

    def array_of(self) -> "SqlType":
        return BY_OID[self.array_oid]

    def __eq__(self, other):
        return isinstance(other, SqlType) and self.oid == other.oid and self.typmod == other.typmod

    def __hash__(self):
        return hash((self.oid, self.typmod))

    def __repr__(self):
        return f"<{format_type(self)}>"


BY_OID: dict[int, SqlType] = {}
BY_NAME: dict[str, SqlType] = {}


def _t(name, oid, typlen, category, array_oid=0, preferred=False, sql_name=None):
    t = SqlType(name, oid, typlen, category, array_oid, preferred=preferred, sql_name=sql_name)
    BY_OID[oid] = t
    BY_NAME[name] = t
    return t


BOOL = _t("bool", 16, 1, "B", 1000, True, "boolean")
BYTEA = _t("bytea", 17, -1, "U", 1001)
CHAR = _t("char", 18, 1, "Z", 1002, sql_name='"char"')
NAME = _t("name", 19, 64, "S", 1003)
INT8 = _t("int8", 20, 8, "N", 1016, sql_name="bigint")
INT2 = _t("int2", 21, 2, "N", 1005, sql_name="smallint")
INT2VECTOR = _t("int2vector", 22, -1, "A", 1006)
INT4 = _t("int4", 23, 4, "N", 1007, sql_name="integer")
REGPROC = _t("regproc", 24, 4, "N", 1008)
TEXT = _t("text", 25, -1, "S", 1009, True)
OID = _t("oid", 26, 4, "N", 1028, True)
TID = _t("tid", 27, 6, "U", 1010)
XID = _t("xid", 28, 4, "U", 1011)
CID = _t("cid", 29, 4, "U", 1012)
OIDVECTOR = _t("oidvector", 30, -1, "A", 1013)
JSON = _t("json", 114, -1, "U", 199)
PG_NODE_TREE = _t("pg_node_tree", 194, -1, "Z")
FLOAT4 = _t("float4", 700, 4, "N", 1021, sql_name="real")
FLOAT8 = _t("float8", 701, 8, "N", 1022, True, "double precision")
UNKNOWN = _t("unknown", 705, -2, "X")
ACLITEM = _t("aclitem", 1033, 16, "U", 1034)
BPCHAR = _t("bpchar", 1042, -1, "S", 1014, sql_name="character")
VARCHAR = _t("varchar", 1043, -1, "S", 1015, sql_name="character varying")
DATE = _t("date", 1082, 4, "D", 1182)
TIME = _t("time", 1083, 8, "D", 1183, sql_name="time without time zone")
TIMESTAMP = _t("timestamp", 1114, 8, "D", 1115, sql_name="timestamp without time zone")
TIMESTAMPTZ = _t("timestamptz", 1184, 8, "D", 1185, True, "timestamp with time zone")
INTERVAL = _t("interval", 1186, 16, "T", 1187, True)
TIMETZ = _t("timetz", 1266, 12, "D", 1270, sql_name="time with time zone")
NUMERIC_T = _t("numeric", 1700, -1, "N", 1231)
REGCLASS = _t("regclass", 2205, 4, "N", 2210)
REGTYPE = _t("regtype", 2206, 4, "N", 2211)
REGNAMESPACE = _t("regnamespace", 4089, 4, "N", 4090)
REGROLE = _t("regrole", 4096, 4, "N", 4097)
UUID = _t("uuid", 2950, 16, "U", 2951)
JSONB = _t("jsonb", 3802, -1, "U", 3807)
RECORD = _t("record", 2249, -1, "P", 2287)
VOID = _t("void", 2278, 4, "P")
CSTRING = _t("cstring", 2275, -2, "P", 1263)
ANY = _t("any", 2276, 4, "P")
ANYARRAY = _t("anyarray", 2277, -1, "P")
ANYELEMENT = _t("anyelement", 2283, 4, "P")
TRIGGER = _t("trigger", 2279, 4, "P")
PG_LSN = _t("pg_lsn", 3220, 8, "U", 3221)
INET = _t("inet", 869, -1, "I", 1041)

# Array types: one per element type above that declares an array OID.
for _elem in list(BY_OID.values()):
    if _elem.array_oid and _elem.array_oid not in BY_OID:
        _arr = SqlType("_" + _elem.name, _elem.array_oid, -1, "A", elem=_elem)
        BY_OID[_arr.oid] = _arr
        BY_NAME[_arr.name] = _arr

INTEGER_TYPES = {INT2.oid: (-(1 << 15), (1 << 15) - 1, "smallint"),
                 INT4.oid: (-(1 << 31), (1 << 31) - 1, "integer"),
                 INT8.oid: (-(1 << 63), (1 << 63) - 1, "bigint")}
# Numeric promotion order for mixed arithmetic, lowest first.
NUMERIC_RANK = {INT2.oid: 1, INT4.oid: 2, INT8.oid: 3, NUMERIC_T.oid: 4, FLOAT4.oid: 5,
                FLOAT8.oid: 6, OID.oid: 2}
STRING_OIDS = {TEXT.oid, VARCHAR.oid, BPCHAR.oid, NAME.oid, CHAR.oid}
REG_OIDS = {REGCLASS.oid, REGTYPE.oid, REGPROC.oid, REGNAMESPACE.oid, REGROLE.oid}

# Names a user may write, mapped to types (SQL's multi-word names are joined by spaces).
ALIASES = {
    "int": INT4, "integer": INT4, "int4": INT4, "smallint": INT2, "int2": INT2,
    "bigint": INT8, "int8": INT8, "serial": INT4, "serial4": INT4, "bigserial": INT8,
    "serial8": INT8, "smallserial": INT2, "serial2": INT2,
    "real": FLOAT4, "float4": FLOAT4, "double precision": FLOAT8, "float8": FLOAT8,
    "float": FLOAT8, "numeric": NUMERIC_T, "decimal": NUMERIC_T, "dec": NUMERIC_T,
    "boolean": BOOL, "bool": BOOL, "text": TEXT, "varchar": VARCHAR,
    "character varying": VARCHAR, "char varying": VARCHAR, "character": BPCHAR,
    "char": BPCHAR, "bpchar": BPCHAR, "name": NAME, '"char"': CHAR, "bytea": BYTEA,
    "date": DATE, "time": TIME, "time without time zone": TIME,
    "time with time zone": TIMETZ, "timetz": TIMETZ,
    "timestamp": TIMESTAMP, "timestamp without time zone": TIMESTAMP,
    "timestamp with time zone": TIMESTAMPTZ, "timestamptz": TIMESTAMPTZ,
    "interval": INTERVAL, "uuid": UUID, "json": JSON, "jsonb": JSONB, "oid": OID,
    "regclass": REGCLASS, "regtype": REGTYPE, "regproc": REGPROC, "regprocedure": REGPROC,
    "regnamespace": REGNAMESPACE, "regrole": REGROLE, "unknown": UNKNOWN,
    "record": RECORD, "void": VOID, "cstring": CSTRING, "anyarray": ANYARRAY,
    "int2vector": INT2VECTOR, "oidvector": OIDVECTOR, "xid": XID, "tid": TID, "cid": CID,
    "pg_node_tree": PG_NODE_TREE, "aclitem": ACLITEM, "pg_lsn": PG_LSN, "inet": INET,
    "anyelement": ANYELEMENT,
}
SERIAL_NAMES = {"serial": "int4", "serial4": "int4", "bigserial": "int8", "serial8": "int8",
                "smallserial": "int2", "serial2": "int2"}


def lookup_type(name: str, typmods: list[int] | None = None, array_dims: int = 0) -> SqlType:
    """The type for a name as written in SQL (already lower-cased unless quoted)."""
    base = name[len("pg_catalog."):] if name.startswith("pg_catalog.") else name
    t = ALIASES.get(base) or BY_NAME.get(base) or _user_type(base)
    if t is None:
        raise SqlError(UNDEFINED_OBJECT, f'type "{name}" does not exist')
    if typmods:
        t = t.with_typmod(_make_typmod(t, typmods, name))
    elif base in ("char", "character") and t is BPCHAR:
        t = t.with_typmod(1 + 4)         # char without a length means char(1)
    if array_dims:
        t = BY_OID[t.array_oid] if t.typmod == -1 else _array_with_typmod(t)
    return t


def _user_type(name: str) -> SqlType | None:
    """A type created with CREATE TYPE, found through the session's search path."""
    ctx = getattr(session_local, "catalog", None)
    if ctx is None:
        return None
    db, search_path = ctx
    return db.find_type(name.split(".")[-1] if "." in name else name,
                        name.split(".")[0] if "." in name else None, search_path)


class EnumValue(str):
    """A value of an enum type: its label, ordered by its position in the type."""

    def __new__(cls, label: str, position: int):
        value = super().__new__(cls, label)
        value.position = position
        return value

    def __lt__(self, other):
        return self.position < other.position

    def __le__(self, other):
        return self.position <= other.position

    def __gt__(self, other):
        return self.position > other.position

    def __ge__(self, other):
        return self.position >= other.position

    __hash__ = str.__hash__


def make_enum_type(name: str, oid: int, array_oid: int, labels: list[str],
                   schema_oid: int) -> SqlType:
    """A new enum type (and its array type), registered by OID for the value formats."""
    t = SqlType(name, oid, 4, "E", array_oid)
    t.labels = list(labels)
    t.schema_oid = schema_oid
    array = SqlType("_" + name, array_oid, -1, "A", elem=t)
    array.schema_oid = schema_oid
    BY_OID[oid] = t
    BY_OID[array_oid] = array
    return t


def parse_enum(text: str, t: SqlType) -> EnumValue:
    try:
        return EnumValue(text, t.labels.index(text))
    except ValueError:
        raise SqlError(INVALID_TEXT_REPRESENTATION,
                       f'invalid input value for enum {t.name}: "{text}"') from None


def _array_with_typmod(elem: SqlType) -> SqlType:
    arr = BY_OID[elem.array_oid]
    return SqlType(arr.name, arr.oid, -1, "A", elem=elem)


def _make_typmod(t: SqlType, mods: list[int], name: str) -> int:
    if t.oid in (VARCHAR.oid, BPCHAR.oid):
        if mods[0] < 1:
            raise SqlError("22023", f"length for type {t.name} must be at least 1")
        return mods[0] + 4
    if t.oid == NUMERIC_T.oid:
        precision = mods[0]
        scale = mods[1] if len(mods) > 1 else 0
        if not 1 <= precision <= 1000:
            raise SqlError("22023", f"NUMERIC precision {precision} must be between 1 and 1000")
        return ((precision << 16) | (scale & 0xFFFF)) + 4
    if t.oid in (TIMESTAMP.oid, TIMESTAMPTZ.oid, TIME.oid, INTERVAL.oid, TIMETZ.oid):
        return mods[0]
    if t.oid in (FLOAT4.oid, FLOAT8.oid):
        return -1
    raise SqlError("42601", f"type modifier is not allowed for type \"{name}\"")


def format_type(t: SqlType, typmod: int | None = None) -> str:
    """The type's name as PostgreSQL's format_type() spells it."""
    if typmod is None:
        typmod = t.typmod
    if t.elem is not None:
        return format_type(t.elem, typmod) + "[]"
    name = t.sql_name
    if typmod is not None and typmod >= 0:
        if t.oid in (VARCHAR.oid, BPCHAR.oid):
            return f"{name}({typmod - 4})"
        if t.oid == NUMERIC_T.oid:
            mod = typmod - 4
            return f"numeric({mod >> 16},{mod & 0xFFFF})"
        if t.oid in (TIMESTAMP.oid, TIMESTAMPTZ.oid):
            return name.replace("timestamp", f"timestamp({typmod})")
    return name


def is_string(t: SqlType) -> bool:
    return t.oid in STRING_OIDS


def is_numeric(t: SqlType) -> bool:
    return t.oid in NUMERIC_RANK


def is_integer(t: SqlType) -> bool:
    return t.oid in INTEGER_TYPES


# ---------------------------------------------------------------------------------------
# Values that need their own class

class Interval:
    """PostgreSQL's interval: months, days and microseconds kept apart, as it does."""

    __slots__ = ("months", "days", "micros")

    def __init__(self, months: int = 0, days: int = 0, micros: int = 0):
        self.months = months
        self.days = days
        self.micros = micros

    def _key(self):
        # Comparison treats a month as 30 days and a day as 24 hours, as PostgreSQL does.
        return (self.months * 30 + self.days) * 86400_000000 + self.micros

    def __eq__(self, other):
        return isinstance(other, Interval) and self._key() == other._key()

    def __lt__(self, other):
        return self._key() < other._key()

    def __le__(self, other):
        return self._key() <= other._key()

    def __gt__(self, other):
        return self._key() > other._key()

    def __ge__(self, other):
        return self._key() >= other._key()

    def __hash__(self):
        return hash(self._key())

    def __add__(self, other):
        return Interval(self.months + other.months, self.days + other.days,
                        self.micros + other.micros)

    def __sub__(self, other):
        return Interval(self.months - other.months, self.days - other.days,
                        self.micros - other.micros)

    def __neg__(self):
        return Interval(-self.months, -self.days, -self.micros)

    def scale(self, factor: float) -> "Interval":
        # Fractions of months cascade into days and of days into time, as in PostgreSQL.
        months = self.months * factor
        whole_months = int(months)
        days = self.days * factor + (months - whole_months) * 30
        whole_days = int(days)
        micros = self.micros * factor + (days - whole_days) * 86400_000000
        return Interval(whole_months, whole_days, int(round(micros)))

    def total_seconds(self) -> float:
        return self.months * 30 * 86400 + self.days * 86400 + self.micros / 1e6

    def __repr__(self):
        return f"Interval({self.months}, {self.days}, {self.micros})"


class Record(tuple):
    """A row value that knows its field names and types (a whole-row reference like
    `t` in SELECT t FROM t): row_to_json and json_agg need the names."""

    def __new__(cls, values, fields):
        record = super().__new__(cls, values)
        record.fields = fields
        return record


class _JsonNull:
    """A JSON null at the top of a jsonb value (None there would mean SQL NULL)."""

    __slots__ = ()

    def __repr__(self):
        return "JSON_NULL"


JSON_NULL = _JsonNull()


# ---------------------------------------------------------------------------------------
# Text output

def format_float(value: float, single: bool = False) -> str:
    """Shortest text that reads back as the same float, in PostgreSQL's layout."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 else "0"
    if single:
        digits = None
        for precision in range(1, 10):
            text = "%.*e" % (precision - 1, value)
            if struct.unpack("f", struct.pack("f", float(text)))[0] == struct.unpack(
                    "f", struct.pack("f", value))[0]:
                digits = text
                break
        text = digits or "%.8e" % value
    else:
        text = repr(value)
    # Re-layout from the mantissa and exponent: plain notation for exponents -4..14.
    mantissa, _, exp = ("%.17e" % float(text) if "e" not in text else text).partition("e")
    if "e" not in text:
        d = Decimal(text)
        sign, digs, e = d.normalize().as_tuple()
        digit_str = "".join(map(str, digs))
        exponent = len(digs) + e - 1
    else:
        sign = 1 if mantissa.startswith("-") else 0
        digit_str = mantissa.lstrip("-").replace(".", "").rstrip("0") or "0"
        exponent = int(exp)
    prefix = "-" if sign else ""
    limit = 6 if single else 15
    if -4 <= exponent < limit:
        if exponent >= 0:
            whole = digit_str[:exponent + 1].ljust(exponent + 1, "0")
            frac = digit_str[exponent + 1:]
        else:
            whole = "0"
            frac = "0" * (-exponent - 1) + digit_str
        return prefix + whole + ("." + frac if frac else "")
    mant = digit_str[0] + ("." + digit_str[1:] if len(digit_str) > 1 else "")
    return f"{prefix}{mant}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"


def format_numeric(value: Decimal) -> str:
    if value.is_nan():
        return "NaN"
    if value.is_infinite():
        return "Infinity" if value > 0 else "-Infinity"
    text = format(value, "f")
    return "0" if text == "-0" else text


def format_date(d: dt.date) -> str:
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d}"


def format_time(t) -> str:
    text = f"{t.hour:02d}:{t.minute:02d}:{t.second:02d}"
    if t.microsecond:
        text += (".%06d" % t.microsecond).rstrip("0")
    return text


def format_offset(offset: dt.timedelta) -> str:
    seconds = int(offset.total_seconds())
    sign = "-" if seconds < 0 else "+"
    seconds = abs(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{sign}{hours:02d}"
    if minutes or secs:
        text += f":{minutes:02d}"
    if secs:
        text += f":{secs:02d}"
    return text


def format_timestamptz(value: dt.datetime) -> str:
    local = value.astimezone(session_tz())
    return format_date(local) + " " + format_time(local) + format_offset(local.utcoffset())


def format_interval(iv: Interval) -> str:
    """PostgreSQL's "postgres" IntervalStyle: plural unless exactly 1, and once a field is
    negative the later positive fields carry an explicit '+'."""
    parts = []
    negative_seen = False

    def field(value: int, unit: str) -> None:
        nonlocal negative_seen
        if value == 0:
            return
        sign = "+" if negative_seen and value > 0 else ""
        parts.append(f"{sign}{value} {unit}{'' if value == 1 else 's'}")
        negative_seen = negative_seen or value < 0

    years = int(iv.months / 12)
    months = iv.months - years * 12
    field(years, "year")
    field(months, "mon")
    field(iv.days, "day")
    if iv.micros or not parts:
        micros = abs(iv.micros)
        hours, rest = divmod(micros, 3600_000000)
        minutes, rest = divmod(rest, 60_000000)
        seconds, frac = divmod(rest, 1_000000)
        text = f"{hours:02d}:{minutes:02d}:{seconds:02d}"
        if frac:
            text += (".%06d" % frac).rstrip("0")
        if iv.micros < 0:
            text = "-" + text
        elif negative_seen:
            text = "+" + text
        parts.append(text)
    return " ".join(parts)


def _array_item_text(item, elem: SqlType) -> str:
    if item is None:
        return "NULL"
    if isinstance(item, list):
        return format_array(item, elem)
    text = to_text(item, elem)
    if text == "" or text.upper() == "NULL" or any(c in text for c in '{},"\\ \t\n\r\x0b\x0c'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def format_array(items: list, elem: SqlType) -> str:
    return "{" + ",".join(_array_item_text(i, elem) for i in items) + "}"


def format_record(values: tuple, types: list[SqlType] | None = None) -> str:
    out = []
    for i, v in enumerate(values):
        if v is None:
            out.append("")
            continue
        t = types[i] if types else guess_type(v)
        text = to_text(v, t)
        if text == "" or any(c in text for c in '(),"\\ \t\n'):
            text = '"' + text.replace("\\", "\\\\").replace('"', '""') + '"'
        out.append(text)
    return "(" + ",".join(out) + ")"


def _jsonb_sort_key(key: str):
    encoded = key.encode()
    return (len(encoded), encoded)


def format_jsonb(value) -> str:
    """jsonb's canonical text: keys ordered by length then bytes, ', ' and ': '."""
    return _json_text(value, ", ", ": ", True)


def format_json_compact(value) -> str:
    """JSON text with no spaces and keys in their order (row_to_json, json_agg items)."""
    return _json_text(value, ",", ":", False)


def _json_text(value, item_separator: str, key_separator: str, sort_keys: bool) -> str:
    if value is JSON_NULL or value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Decimal):
        return format_numeric(value)
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + item_separator.join(
            _json_text(v, item_separator, key_separator, sort_keys) for v in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value, key=_jsonb_sort_key) if sort_keys else value
        return "{" + item_separator.join(
            json.dumps(k, ensure_ascii=False) + key_separator
            + _json_text(value[k], item_separator, key_separator, sort_keys)
            for k in keys) + "}"
    return json.dumps(value)


def to_text(value, t: SqlType) -> str:
    """The text form of a non-NULL value of type `t`, as PostgreSQL's output functions."""
    oid = t.oid
    if oid in STRING_OIDS:
        return value
    if oid in _INT_OIDS:
        return str(value)
    if oid == 16:
        return "t" if value else "f"
    if oid == 1700:
        return format_numeric(value) if isinstance(value, Decimal) else str(value)
    if oid == 701:
        return format_float(value)
    if oid == 700:
        return format_float(value, single=True)
    if oid == 1114:
        return format_date(value) + " " + format_time(value)
    if oid == 1184:
        return format_timestamptz(value)
    if oid == 1082:
        return format_date(value)
    if oid == 1083:
        return format_time(value)
    if oid == 1266:
        return format_time(value) + format_offset(value.utcoffset() or dt.timedelta())
    if oid == 1186:
        return format_interval(value)
    if oid == 17:
        return "\\x" + value.hex()
    if oid == 2950:
        return str(value)
    if oid == 114:
        return value if isinstance(value, str) else format_jsonb(value)
    if oid == 3802:
        return format_jsonb(value)
    if t.elem is not None or oid in (22, 30):
        if oid in (22, 30):
            return " ".join(str(v) for v in value)
        return format_array(value, t.elem)
    if oid == 2249:
        return format_record(value, [t for _, t in value.fields] if isinstance(value, Record)
                             else None)
    if oid in REG_OIDS:
        from .catalog import regformat      # the names behind reg* OIDs live in the catalog
        return regformat(value, t)
    if oid == 2278:
        return ""
    return str(value)


_INT_OIDS = {20, 21, 23, 26, 28, 29}


def guess_type(value) -> SqlType:
    """The natural type of a Python value (for records and other untyped corners)."""
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INT4 if -(1 << 31) <= value < (1 << 31) else INT8
    if isinstance(value, float):
        return FLOAT8
    if isinstance(value, Decimal):
        return NUMERIC_T
    if isinstance(value, str):
        return TEXT
    if isinstance(value, bytes):
        return BYTEA
    if isinstance(value, dt.datetime):
        return TIMESTAMPTZ if value.tzinfo else TIMESTAMP
    if isinstance(value, dt.date):
        return DATE
    if isinstance(value, dt.time):
        return TIME
    if isinstance(value, Interval):
        return INTERVAL
    if isinstance(value, uuid.UUID):
        return UUID
    if isinstance(value, tuple):
        return RECORD
    if isinstance(value, list):
        return BY_OID[1009]
    return TEXT


# ---------------------------------------------------------------------------------------
# Text input

def invalid(type_name: str, text: str) -> SqlError:
    # Date/time input errors carry invalid_datetime_format, the others 22P02.
    datetime_types = ("date", "time", "timestamp", "interval")
    code = INVALID_DATETIME_FORMAT if type_name.startswith(datetime_types) \
        else INVALID_TEXT_REPRESENTATION
    return SqlError(code, f'invalid input syntax for type {type_name}: "{text}"')


_BOOL_WORDS = {"t": True, "true": True, "yes": True, "y": True, "on": True, "1": True,
               "f": False, "false": False, "no": False, "n": False, "off": False, "0": False}


def parse_bool(text: str) -> bool:
    word = text.strip().lower()
    if word in _BOOL_WORDS:
        return _BOOL_WORDS[word]
    # PostgreSQL accepts any unique prefix of true/false/yes/no (and "of"/"on" fully).
    for full, value in (("true", True), ("false", False), ("yes", True), ("no", False)):
        if word and full.startswith(word):
            return value
    raise invalid("boolean", text)


def check_int_range(value: int, t: SqlType) -> int:
    low, high, name = INTEGER_TYPES[t.oid]
    if not low <= value <= high:
        raise SqlError(NUMERIC_VALUE_OUT_OF_RANGE, f"{name} out of range")
    return value


_INT_RE = re.compile(r"\s*[+-]?\d+\s*\Z")


def parse_int(text: str, t: SqlType) -> int:
    low, high, name = INTEGER_TYPES.get(t.oid, (0, (1 << 32) - 1, "oid"))
    if not _INT_RE.match(text):
        raise invalid(name, text)
    value = int(text)
    if not low <= value <= high:
        raise SqlError(NUMERIC_VALUE_OUT_OF_RANGE,
                       f'value "{text}" is out of range for type {name}')
    return value


_FLOAT_SPECIAL = {"nan": math.nan, "infinity": math.inf, "+infinity": math.inf,
                  "-infinity": -math.inf, "inf": math.inf, "+inf": math.inf, "-inf": -math.inf}


def parse_float(text: str, t: SqlType) -> float:
    word = text.strip().lower()
    if word in _FLOAT_SPECIAL:
        return _FLOAT_SPECIAL[word]
    name = "real" if t.oid == 700 else "double precision"
    try:
        if "_" in word or not word:
            raise ValueError
        value = float(word)
    except ValueError:
        raise invalid(name, text) from None
    if math.isinf(value) or (t.oid == 700 and abs(value) > 3.4028234663852886e38):
        raise SqlError(NUMERIC_VALUE_OUT_OF_RANGE,
                       f'"{text.strip()}" is out of range for type {name}')
    if t.oid == 700:
        value = struct.unpack("f", struct.pack("f", value))[0]
    return value


_NUMERIC_RE = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*\Z")


def parse_numeric(text: str) -> Decimal:
    word = text.strip()
    if word.lower() == "nan":
        return Decimal("NaN")
    if word.lower() in ("infinity", "+infinity", "inf"):
        return Decimal("Infinity")
    if word.lower() in ("-infinity", "-inf"):
        return Decimal("-Infinity")
    if not _NUMERIC_RE.match(word):
        raise invalid("numeric", text)
    value = Decimal(word)
    if value.as_tuple().exponent > 0:     # '1e3' is 1000 with scale 0
        value = value.quantize(Decimal(1), context=NUMERIC)
    return value


def apply_numeric_typmod(value: Decimal, typmod: int) -> Decimal:
    if typmod < 0 or not value.is_finite():
        return value
    mod = typmod - 4
    precision, scale = mod >> 16, mod & 0xFFFF
    rounded = value.quantize(Decimal(1).scaleb(-scale), context=NUMERIC)
    if rounded != 0 and rounded.adjusted() >= precision - scale:
        raise SqlError(NUMERIC_VALUE_OUT_OF_RANGE, "numeric field overflow",
                       detail=f"A field with precision {precision}, scale {scale} must round"
                              f" to an absolute value less than 10^{precision - scale}.")
    return rounded


_DATE_RE = re.compile(r"\s*(\d{1,4})-(\d{1,2})-(\d{1,2})(?:\s+BC)?")
_TIME_RE = re.compile(r"[T\s]*(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?")
_TZ_RE = re.compile(r"\s*(Z|UTC|GMT|[+-]\d{1,2}(?::?\d{2})?(?::?\d{2})?)?\s*\Z", re.I)


def _parse_tz(text: str | None):
    if not text or text.upper() in ("Z", "UTC", "GMT"):
        return dt.timezone.utc if text else None
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours = int(digits[:2]) if len(digits) >= 2 else int(digits)
    minutes = int(digits[2:4]) if len(digits) >= 4 else 0
    seconds = int(digits[4:6]) if len(digits) >= 6 else 0
    return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes, seconds=seconds))


def _special_now():
    return dt.datetime.now(dt.timezone.utc)


def parse_date(text: str) -> dt.date:
    word = text.strip().lower()
    if word in ("today", "now"):
        return _special_now().astimezone(session_tz()).date()
    if word == "tomorrow":
        return _special_now().astimezone(session_tz()).date() + dt.timedelta(days=1)
    if word == "yesterday":
        return _special_now().astimezone(session_tz()).date() - dt.timedelta(days=1)
    if word == "epoch":
        return dt.date(1970, 1, 1)
    m = _DATE_RE.match(text)
    if not m:
        raise invalid("date", text)
    rest = text[m.end():]
    if rest.strip() and not _TIME_RE.match(rest):
        raise invalid("date", text)
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise SqlError(DATETIME_FIELD_OVERFLOW, f'date/time field value out of range: "{text}"')


def _parse_time_part(text: str, type_name: str, whole: str):
    m = _TIME_RE.match(text)
    if not m:
        raise invalid(type_name, whole)
    hour, minute = int(m.group(1)), int(m.group(2))
    second = int(m.group(3) or 0)
    frac = m.group(4) or ""
    micro = int(round(int(frac[:7].ljust(7, "0")) / 10)) if frac else 0
    extra = dt.timedelta()
    if micro >= 1000000:
        micro -= 1000000
        extra = dt.timedelta(seconds=1)
    if hour == 24 and minute == 0 and second == 0:
        return dt.time(0, 0), dt.timedelta(days=1) + extra, text[m.end():]
    try:
        return dt.time(hour, minute, second, micro), extra, text[m.end():]
    except ValueError:
        raise SqlError(DATETIME_FIELD_OVERFLOW,
                       f'date/time field value out of range: "{whole}"') from None


def parse_timestamp(text: str, with_tz: bool):
    type_name = "timestamp with time zone" if with_tz else "timestamp without time zone"
    word = text.strip().lower()
    if word == "now":
        now = _special_now()
        return now if with_tz else now.astimezone(session_tz()).replace(tzinfo=None)
    if word in ("today", "tomorrow", "yesterday", "epoch"):
        day = parse_date(word)
        stamp = dt.datetime(day.year, day.month, day.day)
        return stamp.replace(tzinfo=session_tz()).astimezone(dt.timezone.utc) if with_tz else stamp
    if word in ("infinity", "-infinity"):
        raise SqlError("0A000", "infinite timestamps are not supported")
    m = _DATE_RE.match(text)
    if not m:
        raise invalid(type_name, text)
    try:
        day = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise SqlError(DATETIME_FIELD_OVERFLOW,
                       f'date/time field value out of range: "{text}"') from None
    rest = text[m.end():]
    clock, extra = dt.time(0, 0), dt.timedelta()
    if rest.strip() and _TIME_RE.match(rest):
        clock, extra, rest = _parse_time_part(rest, type_name, text)
    tzm = _TZ_RE.match(rest)
    if not tzm:
        raise invalid(type_name, text)
    stamp = dt.datetime.combine(day, clock) + extra
    tz = _parse_tz(tzm.group(1))
    if with_tz:
        return stamp.replace(tzinfo=tz or session_tz()).astimezone(dt.timezone.utc)
    return stamp


def parse_time(text: str) -> dt.time:
    word = text.strip().lower()
    if word == "now":
        return _special_now().astimezone(session_tz()).time().replace(tzinfo=None)
    m = _DATE_RE.match(text)
    if m:
        text = text[m.end():]
    clock, extra, rest = _parse_time_part(text, "time without time zone", text)
    if not _TZ_RE.match(rest):
        raise invalid("time without time zone", text)
    if extra >= dt.timedelta(days=1):
        raise SqlError(DATETIME_FIELD_OVERFLOW, f'date/time field value out of range: "{text}"')
    return clock


_INTERVAL_UNITS = {
    "microsecond": ("us", 1), "microseconds": ("us", 1), "us": ("us", 1), "usec": ("us", 1),
    "millisecond": ("us", 1000), "milliseconds": ("us", 1000), "ms": ("us", 1000),
    "msec": ("us", 1000), "msecs": ("us", 1000),
    "second": ("us", 1000000), "seconds": ("us", 1000000), "sec": ("us", 1000000),
    "secs": ("us", 1000000), "s": ("us", 1000000),
    "minute": ("us", 60000000), "minutes": ("us", 60000000), "min": ("us", 60000000),
    "mins": ("us", 60000000), "m": ("us", 60000000),
    "hour": ("us", 3600000000), "hours": ("us", 3600000000), "h": ("us", 3600000000),
    "hr": ("us", 3600000000), "hrs": ("us", 3600000000),
    "day": ("d", 1), "days": ("d", 1), "d": ("d", 1),
    "week": ("d", 7), "weeks": ("d", 7), "w": ("d", 7),
    "month": ("m", 1), "months": ("m", 1), "mon": ("m", 1), "mons": ("m", 1),
    "year": ("m", 12), "years": ("m", 12), "y": ("m", 12), "yr": ("m", 12), "yrs": ("m", 12),
    "decade": ("m", 120), "decades": ("m", 120), "century": ("m", 1200),
    "centuries": ("m", 1200), "millennium": ("m", 12000), "millennia": ("m", 12000),
}
_INTERVAL_TOKEN = re.compile(r"\s*([+-]?\d+:\d+(?::\d+(?:\.\d+)?)?)"
                             r"|\s*([+-]?\d+(?:\.\d*)?|[+-]?\.\d+)\s*([a-zA-Z]+)?")
_ISO_INTERVAL = re.compile(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
                           r"(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?\Z")


def parse_interval(text: str) -> Interval:
    word = text.strip()
    if not word:
        raise invalid("interval", text)
    iso = _ISO_INTERVAL.match(word.upper())
    if iso and word.upper() != "P":
        y, mo, w, d, h, mi, s = (g or "0" for g in iso.groups())
        return Interval(int(y) * 12 + int(mo), int(w) * 7 + int(d),
                        int(h) * 3600000000 + int(mi) * 60000000 + int(Decimal(s) * 1000000))
    ago = False
    if word.startswith("@"):
        word = word[1:]
    if word.lower().endswith(" ago"):
        ago, word = True, word[:-4]
    months = days = 0
    micros = Decimal(0)
    pos = 0
    found = False
    while pos < len(word):
        m = _INTERVAL_TOKEN.match(word, pos)
        if not m or m.end() == pos:
            if word[pos:].strip() == "":
                break
            raise invalid("interval", text)
        pos = m.end()
        found = True
        if m.group(1):
            clock = m.group(1)
            sign = -1 if clock.startswith("-") else 1
            pieces = clock.lstrip("+-").split(":")
            hours, minutes = int(pieces[0]), int(pieces[1])
            seconds = Decimal(pieces[2]) if len(pieces) > 2 else Decimal(0)
            micros += sign * ((hours * 3600 + minutes * 60) * 1000000 + seconds * 1000000)
            continue
        number = Decimal(m.group(2))
        unit = (m.group(3) or "second").lower()
        if unit not in _INTERVAL_UNITS:
            raise invalid("interval", text)
        kind, factor = _INTERVAL_UNITS[unit]
        if kind == "us":
            micros += number * factor
        elif kind == "d":
            whole = int(number * factor)
            days += whole
            micros += (number * factor - whole) * 86400000000
        else:
            total = number * factor
            whole = int(total)
            months += whole
            frac_days = (total - whole) * 30
            days += int(frac_days)
            micros += (frac_days - int(frac_days)) * 86400000000
    if not found:
        raise invalid("interval", text)
    result = Interval(months, days, int(micros.to_integral_value(decimal.ROUND_HALF_EVEN)))
    return -result if ago else result


def parse_bytea(text: str) -> bytes:
    if text.startswith("\\x"):
        try:
            return bytes.fromhex(text[2:])
        except ValueError:
            raise invalid("bytea", text) from None
    out = bytearray()
    i = 0
    raw = text.encode()
    while i < len(raw):
        c = raw[i]
        if c == 0x5C:
            if raw[i + 1:i + 2] == b"\\":
                out.append(0x5C)
                i += 2
            elif re.match(rb"[0-3][0-7][0-7]", raw[i + 1:i + 4]):
                out.append(int(raw[i + 1:i + 4], 8))
                i += 4
            else:
                raise invalid("bytea", text)
        else:
            out.append(c)
            i += 1
    return bytes(out)


def parse_uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        raise invalid("uuid", text) from None


def _json_error(text: str) -> SqlError:
    return SqlError(INVALID_TEXT_REPRESENTATION, "invalid input syntax for type json",
                    detail=f"Token \"{text[:30]}\" is invalid.")


def parse_json_text(text: str) -> str:
    try:
        json.loads(text)
    except ValueError:
        raise _json_error(text) from None
    return text


def _json_number(text: str):
    return Decimal(text)


def parse_jsonb(text: str):
    try:
        value = json.loads(text, parse_float=_json_number, parse_constant=_reject_constant)
    except ValueError:
        raise _json_error(text) from None
    return JSON_NULL if value is None else value


def _reject_constant(name):
    raise ValueError(name)


def parse_array(text: str, elem: SqlType):
    """'{1,2,NULL}' (nested braces for more dimensions) into a list of `elem` values."""
    pos = 0
    text_stripped = text.strip()
    if text_stripped.startswith("["):        # explicit bounds: '[1:2]={...}'
        text_stripped = text_stripped[text_stripped.index("=") + 1:]
    s = text_stripped

    def fail():
        return SqlError(INVALID_TEXT_REPRESENTATION, f'malformed array literal: "{text}"')

    def parse_level():
        nonlocal pos
        if pos >= len(s) or s[pos] != "{":
            raise fail()
        pos += 1
        items = []
        while True:
            while pos < len(s) and s[pos].isspace():
                pos += 1
            if pos >= len(s):
                raise fail()
            if s[pos] == "}" and not items:
                pos += 1
                return items
            if s[pos] == "{":
                items.append(parse_level())
            elif s[pos] == '"':
                pos += 1
                chars = []
                while pos < len(s) and s[pos] != '"':
                    if s[pos] == "\\":
                        pos += 1
                    if pos < len(s):
                        chars.append(s[pos])
                    pos += 1
                if pos >= len(s):
                    raise fail()
                pos += 1
                items.append(from_text("".join(chars), elem))
            else:
                start = pos
                chars = []
                while pos < len(s) and s[pos] not in ",}":
                    if s[pos] == "\\":
                        pos += 1
                    if pos < len(s):
                        chars.append(s[pos])
                    pos += 1
                word = "".join(chars).strip()
                if not word and pos - start == 0:
                    raise fail()
                items.append(None if word.upper() == "NULL" else from_text(word, elem))
            while pos < len(s) and s[pos].isspace():
                pos += 1
            if pos >= len(s):
                raise fail()
            if s[pos] == ",":
                pos += 1
            elif s[pos] == "}":
                pos += 1
                return items
            else:
                raise fail()

    result = parse_level()
    if s[pos:].strip():
        raise fail()
    return result


def parse_record(text: str) -> tuple:
    s = text.strip()
    if not (s.startswith("(") and s.endswith(")")):
        raise SqlError(INVALID_TEXT_REPRESENTATION, f'malformed record literal: "{text}"')
    fields, current, quoted, i, inner = [], [], False, 0, s[1:-1]
    saw_quote = False
    while i < len(inner):
        c = inner[i]
        if quoted:
            if c == '"' and inner[i + 1:i + 2] == '"':
                current.append('"')
                i += 1
            elif c == '"':
                quoted = False
            elif c == "\\":
                i += 1
                current.append(inner[i])
            else:
                current.append(c)
        elif c == '"':
            quoted = saw_quote = True
        elif c == ",":
            fields.append("".join(current) if current or saw_quote else None)
            current, saw_quote = [], False
        else:
            current.append(c)
        i += 1
    fields.append("".join(current) if current or saw_quote else None)
    return tuple(fields)


def from_text(text: str, t: SqlType):
    """Parse the text form of a value of type `t` (the type's input function)."""
    oid = t.oid
    if oid in (25, 19):
        return text
    if oid in (1042, 1043):
        return apply_string_typmod(text, t, explicit=False)
    if oid in (20, 21, 23, 26, 28, 29):
        return parse_int(text, t)
    if oid == 16:
        return parse_bool(text)
    if oid in (700, 701):
        return parse_float(text, t)
    if oid == 1700:
        return apply_numeric_typmod(parse_numeric(text), t.typmod)
    if oid == 1082:
        return parse_date(text)
    if oid == 1114:
        return parse_timestamp(text, False)
    if oid == 1184:
        return parse_timestamp(text, True)
    if oid == 1083:
        return parse_time(text)
    if oid == 1186:
        return parse_interval(text)
    if oid == 17:
        return parse_bytea(text)
    if oid == 2950:
        return parse_uuid(text)
    if oid == 114:
        return parse_json_text(text)
    if oid == 3802:
        return parse_jsonb(text)
    if oid == 18:
        return text[:1]
    if t.elem is not None:
        return parse_array(text, t.elem)
    if oid in (22, 30):
        return [int(x) for x in text.split()]
    if oid in REG_OIDS:
        from .catalog import regparse      # names resolve through the catalog
        return regparse(text, t)
    if oid == 2249:
        return parse_record(text)
    if oid == 705:
        return text
    if t.labels is not None:
        return parse_enum(text, t)
    if oid == 1266:
        clock = parse_time(text)
        return clock
    return text


def input_function(t: SqlType):
    """from_text specialised for one type: for loops that parse many values (COPY,
    parameters)."""
    oid = t.oid
    if oid in (25, 19, 705):
        return _identity
    if oid in INTEGER_TYPES:
        low, high, _ = INTEGER_TYPES[oid]

        def parse_integer(text):
            if "_" not in text:
                try:
                    value = int(text)
                except ValueError:
                    pass
                else:
                    if low <= value <= high:
                        return value
            return parse_int(text, t)
        return parse_integer
    if oid == NUMERIC_T.oid:
        typmod = t.typmod

        def parse_decimal(text):
            body = text[1:] if text[:1] == "-" else text
            plain = body.replace(".", "", 1)
            value = Decimal(text) if plain.isascii() and plain.isdigit() else parse_numeric(text)
            return apply_numeric_typmod(value, typmod)
        return parse_decimal
    return lambda text: from_text(text, t)


def apply_string_typmod(text: str, t: SqlType, explicit: bool) -> str:
    """varchar(n)/char(n): too long is an error on assignment (unless only spaces are
    cut), truncation on an explicit cast; char(n) pads with spaces."""
    if t.typmod < 0:
        return text
    length = t.typmod - 4
    if len(text) > length:
        if not explicit and text[length:].strip(" "):
            kind = "character varying" if t.oid == 1043 else "character"
            raise SqlError(STRING_DATA_RIGHT_TRUNCATION,
                           f"value too long for type {kind}({length})")
        text = text[:length]
    if t.oid == 1042:
        text = text.ljust(length)
    return text


# ---------------------------------------------------------------------------------------
# Casts

def _int_from_float(value: float, t: SqlType) -> int:
    if math.isnan(value) or math.isinf(value):
        raise SqlError(NUMERIC_VALUE_OUT_OF_RANGE, f"{INTEGER_TYPES[t.oid][2]} out of range")
    return check_int_range(int(round(value)), t)      # rint(): halves to even


def _int_from_numeric(value: Decimal, t: SqlType) -> int:
    if not value.is_finite():
        raise SqlError(NUMERIC_VALUE_OUT_OF_RANGE, f"{INTEGER_TYPES[t.oid][2]} out of range")
    return check_int_range(int(value.to_integral_value(decimal.ROUND_HALF_UP)), t)


def _float_from_numeric(value: Decimal, t: SqlType) -> float:
    f = float(value)
    if t.oid == 700:
        f = struct.unpack("f", struct.pack("f", f))[0]
    return f


def _numeric_from_float(value: float) -> Decimal:
    if math.isnan(value):
        return Decimal("NaN")
    if math.isinf(value):
        return Decimal("Infinity") if value > 0 else Decimal("-Infinity")
    # Through the float's shortest text form, as PostgreSQL's float8_numeric does.
    return Decimal(format_float(value)) if "e" not in format_float(value) else \
        Decimal(repr(value)).normalize()


def _float4_round(value: float) -> float:
    try:
        return struct.unpack("f", struct.pack("f", value))[0]
    except OverflowError:
        raise SqlError(NUMERIC_VALUE_OUT_OF_RANGE, "value out of range: overflow") from None


def cast_function(src: SqlType, dst: SqlType, explicit: bool = True):
    """A function converting a non-NULL value of `src` into `dst`, or None if there is no
    such cast. Casting to the same type still applies the target's typmod."""
    s, d = src.oid, dst.oid
    if d == 705 or (s == d and dst.typmod < 0 and src.elem is None):
        return _identity
    if s == 705 or (s in STRING_OIDS and d not in STRING_OIDS and explicit):
        return lambda v: from_text(v, dst) if d not in (1042, 1043) else \
            apply_string_typmod(v, dst, explicit)
    if s == 16 and d in STRING_OIDS:
        return _bool_words                  # boolean::text is 'true'/'false', not 't'/'f'
    if d in (25, 19):
        if s in STRING_OIDS:
            return _rstrip_spaces if s == 1042 else _identity
        return lambda v: to_text(v, src)
    if d in (1043, 1042):
        if s in STRING_OIDS:
            if s == 1042 and d == 1043:
                return lambda v: apply_string_typmod(v.rstrip(" "), dst, explicit)
            return lambda v: apply_string_typmod(v, dst, explicit)
        return lambda v: apply_string_typmod(to_text(v, src), dst, explicit)
    if d == 18 and s in STRING_OIDS:
        return lambda v: v[:1]
    if d in INTEGER_TYPES or d in (26,):
        if s in INTEGER_TYPES or s in (26,) or s in REG_OIDS:
            return (lambda v: check_int_range(v, dst)) if d in INTEGER_TYPES else _identity
        if s in (700, 701):
            return lambda v: _int_from_float(v, dst)
        if s == 1700:
            return lambda v: _int_from_numeric(v, dst)
        if s == 16 and d == 23:
            return int
    if d in (700, 701):
        if s in INTEGER_TYPES:
            return float if d == 701 else (lambda v: _float4_round(float(v)))
        if s == 700:
            return _identity
        if s == 701:
            return _identity if d == 701 else _float4_round
        if s == 1700:
            return lambda v: _float_from_numeric(v, dst)
    if d == 1700:
        if s in INTEGER_TYPES:
            return lambda v: apply_numeric_typmod(Decimal(v), dst.typmod)
        if s in (700, 701):
            return lambda v: apply_numeric_typmod(_numeric_from_float(v), dst.typmod)
        if s == 1700:
            return lambda v: apply_numeric_typmod(v, dst.typmod)
    if d == 16 and s == 23:
        return bool
    if d in REG_OIDS and (s in INTEGER_TYPES or s in REG_OIDS or s == 26):
        return _identity
    if d == 1082:
        if s == 1114:
            return lambda v: v.date()
        if s == 1184:
            return lambda v: v.astimezone(session_tz()).date()
    if d == 1114:
        if s == 1082:
            return lambda v: dt.datetime(v.year, v.month, v.day)
        if s == 1184:
            return lambda v: v.astimezone(session_tz()).replace(tzinfo=None)
        if s == 1114:
            return _identity
    if d == 1184:
        if s == 1082:
            return lambda v: dt.datetime(v.year, v.month, v.day, tzinfo=session_tz()
                                         ).astimezone(dt.timezone.utc)
        if s == 1114:
            return lambda v: v.replace(tzinfo=session_tz()).astimezone(dt.timezone.utc)
        if s == 1184:
            return _identity
    if d == 1083:
        if s == 1114:
            return lambda v: v.time()
        if s == 1184:
            return lambda v: v.astimezone(session_tz()).time()
        if s == 1186:
            return lambda v: (dt.datetime(2000, 1, 1) + dt.timedelta(
                microseconds=v.micros % 86400000000)).time()
        if s == 1083:
            return _identity
    if d == 1186:
        if s == 1083:
            return lambda v: Interval(0, 0, ((v.hour * 60 + v.minute) * 60 + v.second)
                                      * 1000000 + v.microsecond)
        if s == 1186:
            return _identity
    if d == 3802 and s == 114:
        return parse_jsonb
    if d == 114 and s == 3802:
        return format_jsonb
    if d == 17 and s in STRING_OIDS:
        return lambda v: parse_bytea(v)
    if s in STRING_OIDS and d not in STRING_OIDS:
        return lambda v: from_text(v, dst)
    if s in (22, 30) and dst.elem is not None:
        return _identity                      # int2vector/oidvector are arrays already
    if dst.elem is not None and src.elem is not None:
        inner = cast_function(src.elem, dst.elem, explicit)
        if inner is None:
            return None
        return lambda v: _map_array(v, inner)
    if dst.elem is not None and s == 705:
        return lambda v: parse_array(v, dst.elem)
    if s == d:
        return _identity
    return None


def _map_array(items, fn):
    return [None if i is None else _map_array(i, fn) if isinstance(i, list) else fn(i)
            for i in items]


def _identity(v):
    return v


def _bool_words(v):
    return "true" if v else "false"


def _rstrip_spaces(v):
    return v.rstrip(" ")


def cast_value(value, src: SqlType, dst: SqlType, explicit: bool = True):
    if value is None:
        return None
    fn = cast_function(src, dst, explicit)
    if fn is None:
        raise SqlError(CANNOT_COERCE,
                       f"cannot cast type {format_type(src)} to {format_type(dst)}")
    return fn(value)

