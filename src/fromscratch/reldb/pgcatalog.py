"""pg_catalog and information_schema, generated from our own catalog on every read.

Each system table is a list of columns (name, type, default) and a function producing
its rows as dicts from the session's database; missing keys take the column's default.
Only the columns clients actually read are filled with real information (psql's
meta-commands, psycopg, pg8000, SQLAlchemy's dialect); the rest hold PostgreSQL's
values for an ordinary object. protocol_specs/pgwire.md lists the coverage.

Fixed rows (pg_am, pg_collation, pg_settings' descriptions ...) are the values a fresh
PostgreSQL 15 cluster has.
"""

from __future__ import annotations

from . import functions as F
from . import types as T
from .catalog import Index, PG_CATALOG_OID, Sequence, Table, View

NAME, TEXT, OID, INT2, INT4, INT8, BOOL, CHAR = (T.NAME, T.TEXT, T.OID, T.INT2, T.INT4,
                                                 T.INT8, T.BOOL, T.CHAR)
FLOAT4 = T.FLOAT4
INT2V, OIDV = T.INT2VECTOR, T.OIDVECTOR
TEXT_ARR, OID_ARR, INT2_ARR, CHAR_ARR = T.BY_OID[1009], T.BY_OID[1028], T.BY_OID[1005], T.BY_OID[1002]
ACL = T.BY_OID[1034]
NODE = T.PG_NODE_TREE
REGPROC = T.REGPROC
TIMESTAMPTZ = T.TIMESTAMPTZ

# OIDs of the system catalogs themselves, as in PostgreSQL.
SYSTEM_OIDS = {
    "pg_type": 1247, "pg_attribute": 1249, "pg_proc": 1255, "pg_class": 1259,
    "pg_authid": 1260, "pg_database": 1262, "pg_am": 2601, "pg_attrdef": 2604,
    "pg_constraint": 2606, "pg_description": 2609, "pg_index": 2610, "pg_inherits": 2611,
    "pg_namespace": 2615, "pg_trigger": 2620, "pg_sequence": 2224, "pg_collation": 3456,
    "pg_policy": 3256, "pg_statistic_ext": 3381, "pg_publication": 6104,
    "pg_publication_rel": 6106, "pg_publication_namespace": 6237, "pg_enum": 3501,
    "pg_range": 3541, "pg_extension": 3079, "pg_depend": 2608, "pg_tablespace": 1213,
    "pg_roles": 12001, "pg_user": 12005, "pg_settings": 12010, "pg_tables": 12020,
    "pg_views": 12015, "pg_indexes": 12030, "pg_sequences": 12035, "pg_stat_activity": 12040,
    "pg_matviews": 12025, "pg_shdescription": 2396, "pg_locks": 12045, "pg_stat_user_tables": 12050,
    "pg_cursors": 12055, "pg_prepared_statements": 12060, "pg_language": 2612, "pg_shadow": 12065,
    "pg_auth_members": 1261, "pg_foreign_table": 3118, "pg_rewrite": 2618, "pg_opclass": 2616,
    "pg_operator": 2617, "pg_aggregate": 2600, "pg_cast": 2605, "pg_event_trigger": 3466,
    "pg_foreign_server": 1417, "pg_foreign_data_wrapper": 2328, "pg_partitioned_table": 3350,
    "pg_stat_statements": 12070, "pg_timezone_names": 12075, "pg_conversion": 2607,
    "pg_user_mapping": 1418, "pg_default_acl": 826, "pg_init_privs": 3394,
    "pg_largeobject_metadata": 2995, "pg_ts_config": 3602, "pg_transform": 3576,
    "pg_subscription": 6100, "pg_opfamily": 2753, "pg_db_role_setting": 2964,
}
_SYSTEM_BY_OID = {oid: name for name, oid in SYSTEM_OIDS.items()}


def system_relation_name(oid: int) -> str | None:
    return _SYSTEM_BY_OID.get(oid)


def system_relation_oid(names: list[str]) -> int | None:
    if len(names) == 2 and names[0] != "pg_catalog":
        return None
    return SYSTEM_OIDS.get(names[-1])


AM_HEAP, AM_BTREE, AM_HASH = 2, 403, 405
DEFAULT_COLLATION = 100


class SystemTable:
    def __init__(self, name, columns, rows):
        self.name = name
        self.columns = columns          # [(name, type, default)]
        self.rows = rows                # function(session) -> iterable of dicts

    def produce(self, session):
        names = [c[0] for c in self.columns]
        defaults = [c[2] for c in self.columns]
        out = []
        for r in self.rows(session):
            out.append(tuple(r.get(n, d) for n, d in zip(names, defaults)))
        return out


SYSTEM_TABLES: dict[tuple[str, str], SystemTable] = {}


def system(schema: str, name: str, columns: str):
    """Declare a system table. `columns` lists 'name type [default]' one per line."""
    parsed = []
    for line in columns.strip().splitlines():
        parts = line.split(None, 2)
        col_name, type_name = parts[0], parts[1]
        t = _COLUMN_TYPES[type_name]
        default = None
        if len(parts) > 2:
            default = _parse_default(parts[2], t)
        parsed.append((col_name, t, default))

    def register(fn):
        SYSTEM_TABLES[(schema, name)] = SystemTable(name, parsed, fn)
        return fn
    return register


_COLUMN_TYPES = {"name": NAME, "text": TEXT, "oid": OID, "int2": INT2, "int4": INT4,
                 "int8": INT8, "bool": BOOL, "char": CHAR, "float4": FLOAT4, "int2vector": INT2V,
                 "oidvector": OIDV, "text[]": TEXT_ARR, "oid[]": OID_ARR, "int2[]": INT2_ARR,
                 "char[]": CHAR_ARR, "aclitem[]": ACL, "pg_node_tree": NODE, "regproc": REGPROC,
                 "timestamptz": TIMESTAMPTZ, "varchar": T.VARCHAR, "regtype": T.REGTYPE,
                 "regclass": T.REGCLASS, "xid": T.XID, "inet": TEXT, "float8": T.FLOAT8,
                 "interval": T.INTERVAL, "regtype[]": T.BY_OID[2211]}


def _parse_default(text, t):
    if text == "null":
        return None
    if t is BOOL:
        return text == "true"
    if t in (INT2, INT4, INT8, OID, REGPROC, T.XID):
        return int(text)
    if t is FLOAT4:
        return float(text)
    if t in (INT2V, OIDV, OID_ARR, INT2_ARR, TEXT_ARR, CHAR_ARR):
        return [] if text == "{}" else [int(x) for x in text.strip("{}").split(",")]
    return text.strip("'")


def system_table(names: list[str], session):
    """(columns, produce) for a pg_catalog / information_schema table, or None."""
    if len(names) == 1:
        key = ("pg_catalog", names[0])
        if key not in SYSTEM_TABLES and "information_schema" in session.search_path():
            key = ("information_schema", names[0])
    elif len(names) == 2:
        key = (names[0], names[1])
    else:
        key = (names[-2], names[-1])
    table = SYSTEM_TABLES.get(key)
    if table is None:
        return None
    columns = [(n, t) for n, t, _ in table.columns]
    return columns, lambda ctx: table.produce(ctx.session)


# ---------------------------------------------------------------------------------------
# helpers

def index_definition(index: Index) -> str:
    unique = "UNIQUE " if index.unique else ""
    cols = ", ".join(_quote(c) + (" DESC" if d else "")
                     for c, d in zip(index.columns, index.descending))
    return (f"CREATE {unique}INDEX {_quote(index.name)} ON "
            f"{index.table.schema.name}.{_quote(index.table.name)} USING {index.method} ({cols})")


def constraint_definition(c, pretty: bool = True) -> str:
    cols = ", ".join(_quote(n) for n in c.columns)
    if c.kind == "p":
        return f"PRIMARY KEY ({cols})"
    if c.kind == "u":
        return f"UNIQUE ({cols})"
    if c.kind == "c":
        return f"CHECK ({c.check_text})" if pretty else f"CHECK (({c.check_text}))"
    if c.kind == "f":
        ref = c.ref_table
        text = f"FOREIGN KEY ({cols}) REFERENCES {_quote(ref.name)}(" + \
            ", ".join(_quote(n) for n in c.ref_columns) + ")"
        if c.on_update != "no action":
            text += f" ON UPDATE {c.on_update.upper()}"
        if c.on_delete != "no action":
            text += f" ON DELETE {c.on_delete.upper()}"
        return text
    return ""


def _quote(name: str) -> str:
    return F.quote_ident(name)


def sequence_row(seq: Sequence):
    return (seq.last_value, 0 if seq.is_called else 0, seq.is_called)


def _attnums(table: Table, names: list[str]) -> list[int]:
    out = []
    for n in names:
        for col in table.columns:
            if col.name == n:
                out.append(col.attnum)
    return out


# ---------------------------------------------------------------------------------------
# pg_catalog

@system("pg_catalog", "pg_namespace", """
oid oid
nspname name
nspowner oid 10
nspacl aclitem[]
""")
def _pg_namespace(session):
    for schema in session.database.schemas.values():
        yield {"oid": schema.oid, "nspname": schema.name, "nspowner": schema.owner}


@system("pg_catalog", "pg_class", """
oid oid
relname name
relnamespace oid
reltype oid 0
reloftype oid 0
relowner oid 10
relam oid 0
relfilenode oid 0
reltablespace oid 0
relpages int4 0
reltuples float4 -1
relallvisible int4 0
reltoastrelid oid 0
relhasindex bool false
relisshared bool false
relpersistence char p
relkind char r
relnatts int2 0
relchecks int2 0
relhasrules bool false
relhastriggers bool false
relhassubclass bool false
relrowsecurity bool false
relforcerowsecurity bool false
relispopulated bool true
relreplident char d
relispartition bool false
relrewrite oid 0
relfrozenxid xid 0
relminmxid xid 0
relacl aclitem[]
reloptions text[]
relpartbound pg_node_tree
""")
def _pg_class(session):
    for name, oid in SYSTEM_OIDS.items():
        if (("pg_catalog", name)) in SYSTEM_TABLES:
            table = SYSTEM_TABLES[("pg_catalog", name)]
            yield {"oid": oid, "relname": name, "relnamespace": PG_CATALOG_OID,
                   "relkind": "r" if oid < 12000 else "v", "relam": AM_HEAP if oid < 12000 else 0,
                   "relnatts": len(table.columns), "relfilenode": oid}
    for rel in session.database.relations():
        row = {"oid": rel.oid, "relname": rel.name, "relnamespace": rel.schema.oid,
               "relkind": rel.kind, "relfilenode": rel.oid, "reltype": 0}
        if isinstance(rel, Table):
            row.update(relam=AM_HEAP, relnatts=len(rel.columns),
                       relchecks=sum(1 for c in rel.constraints if c.kind == "c"),
                       relhasindex=bool(rel.indexes),
                       # PostgreSQL enforces foreign keys with triggers, and psql shows
                       # foreign keys only for tables that have some.
                       relhastriggers=any(c.kind == "f" for c in rel.constraints) or
                       bool(session.database.referencing_constraints(rel)),
                       reltuples=float(session.database.storage.count(None, rel.oid)))
        elif isinstance(rel, Index):
            row.update(relam=AM_BTREE if rel.method == "btree" else AM_HASH,
                       relnatts=len(rel.columns))
        elif isinstance(rel, View):
            row.update(relnatts=len(rel.columns))
        elif isinstance(rel, Sequence):
            row.update(relnatts=3, relam=0)
        yield row


@system("pg_catalog", "pg_attribute", """
attrelid oid
attname name
atttypid oid
attstattarget int4 -1
attlen int2
attnum int2
attndims int4 0
attcacheoff int4 -1
atttypmod int4 -1
attbyval bool false
attalign char i
attstorage char p
attcompression char
attnotnull bool false
atthasdef bool false
atthasmissing bool false
attidentity char
attgenerated char
attisdropped bool false
attislocal bool true
attinhcount int4 0
attcollation oid 0
attacl aclitem[]
attoptions text[]
attfdwoptions text[]
attmissingval text
""")
def _pg_attribute(session):
    for (schema, name), table in SYSTEM_TABLES.items():
        oid = SYSTEM_OIDS.get(name)
        if schema != "pg_catalog" or oid is None:
            continue
        for num, (col_name, t, _) in enumerate(table.columns, 1):
            yield {"attrelid": oid, "attname": col_name, "atttypid": t.oid, "attlen": t.typlen,
                   "attnum": num, "attnotnull": col_name == "oid", "attidentity": "",
                   "attgenerated": "", "attcollation": 950 if t.oid == 19 else 0}
    for rel in session.database.relations():
        if isinstance(rel, Table):
            for col in rel.columns:
                t = col.type
                yield {"attrelid": rel.oid, "attname": col.name,
                       "atttypid": t.oid, "attlen": t.typlen, "attnum": col.attnum,
                       "atttypmod": t.typmod, "attnotnull": col.not_null,
                       "atthasdef": col.default is not None or col.generated is not None,
                       "attidentity": {"always": "a", "by default": "d"}.get(col.identity, ""),
                       "attgenerated": "s" if col.generated is not None else "",
                       "attcompression": "",
                       "attndims": 1 if t.elem is not None else 0,
                       "attcollation": DEFAULT_COLLATION if T.is_string(t) else 0,
                       "attbyval": t.typlen in (1, 2, 4, 8),
                       "attstorage": _storage(t), "attalign": _align(t)}
            for num, (name, tid) in ((-1, ("ctid", 27)), (-2, ("xmin", 28)),
                                     (-3, ("cmin", 29)), (-4, ("xmax", 28))):
                yield {"attrelid": rel.oid, "attname": name, "atttypid": tid, "attnum": num,
                       "attlen": 6 if tid == 27 else 4, "attnotnull": True,
                       "attidentity": "", "attgenerated": ""}
        elif isinstance(rel, View):
            for i, (name, t) in enumerate(rel.columns, 1):
                yield {"attrelid": rel.oid, "attname": name, "atttypid": t.oid,
                       "attlen": t.typlen, "attnum": i, "atttypmod": t.typmod,
                       "attidentity": "", "attgenerated": ""}
        elif isinstance(rel, Index):
            for i, name in enumerate(rel.columns, 1):
                col = next((c for c in rel.table.columns if c.name == name), None)
                tid = col.type.oid if col else 25
                yield {"attrelid": rel.oid, "attname": name, "atttypid": tid, "attnum": i,
                       "attidentity": "", "attgenerated": ""}


def _storage(t: T.SqlType) -> str:
    """attstorage as PostgreSQL sets it: plain for fixed-size types, main for numeric,
    extended for the other variable-length ones."""
    if t.typlen != -1:
        return "p"
    return "m" if t.oid == T.NUMERIC_T.oid else "x"


def _align(t: T.SqlType) -> str:
    return {1: "c", 2: "s", 8: "d"}.get(t.typlen, "i")


@system("pg_catalog", "pg_attrdef", """
oid oid
adrelid oid
adnum int2
adbin pg_node_tree
""")
def _pg_attrdef(session):
    for rel in session.database.relations():
        if isinstance(rel, Table):
            for col in rel.columns:
                if col.default is not None or col.generated is not None:
                    yield {"oid": rel.oid * 100 + col.attnum, "adrelid": rel.oid,
                           "adnum": col.attnum, "adbin": col.default_text}


@system("pg_catalog", "pg_type", """
oid oid
typname name
typnamespace oid 11
typowner oid 10
typlen int2
typbyval bool false
typtype char b
typcategory char
typispreferred bool false
typisdefined bool true
typdelim char ,
typrelid oid 0
typsubscript regproc 0
typelem oid 0
typarray oid 0
typinput regproc 0
typoutput regproc 0
typreceive regproc 0
typsend regproc 0
typmodin regproc 0
typmodout regproc 0
typanalyze regproc 0
typalign char i
typstorage char p
typnotnull bool false
typbasetype oid 0
typtypmod int4 -1
typndims int4 0
typcollation oid 0
typdefaultbin pg_node_tree
typdefault text
typacl aclitem[]
""")
def _pg_type(session):
    user_types = list(session.database.user_types())
    for t in user_types:
        yield {"oid": t.oid, "typname": t.name, "typnamespace": t.schema_oid, "typlen": 4,
               "typbyval": True, "typtype": "e", "typcategory": "E", "typarray": t.array_oid,
               "typinput": 3504, "typoutput": 3505}
        yield {"oid": t.array_oid, "typname": "_" + t.name, "typnamespace": t.schema_oid,
               "typlen": -1, "typtype": "b", "typcategory": "A", "typelem": t.oid,
               "typstorage": "x"}
    user_oids = {t.oid for t in user_types} | {t.array_oid for t in user_types}
    for oid, t in sorted(T.BY_OID.items()):
        if t.typmod != -1 or oid in user_oids or t.labels is not None or \
                (t.elem is not None and t.elem.labels is not None):
            continue
        yield {"oid": oid, "typname": t.name, "typlen": t.typlen,
               "typbyval": t.typlen in (1, 2, 4, 8) and t.elem is None,
               "typtype": "p" if t.category == "P" else "b", "typcategory": t.category,
               "typispreferred": t.preferred, "typelem": t.elem.oid if t.elem else 0,
               "typarray": t.array_oid, "typcollation": DEFAULT_COLLATION if T.is_string(t) else 0,
               "typalign": "d" if t.typlen == 8 else ("c" if t.typlen == 1 else "i"),
               "typstorage": "x" if t.typlen == -1 else "p"}


@system("pg_catalog", "pg_index", """
indexrelid oid
indrelid oid
indnatts int2
indnkeyatts int2
indisunique bool false
indnullsnotdistinct bool false
indisprimary bool false
indisexclusion bool false
indimmediate bool true
indisclustered bool false
indisvalid bool true
indcheckxmin bool false
indisready bool true
indislive bool true
indisreplident bool false
indkey int2vector
indcollation oidvector
indclass oidvector
indoption int2vector
indexprs pg_node_tree
indpred pg_node_tree
""")
def _pg_index(session):
    for rel in session.database.relations():
        if isinstance(rel, Index):
            keys = _attnums(rel.table, rel.columns)
            yield {"indexrelid": rel.oid, "indrelid": rel.table.oid, "indnatts": len(keys),
                   "indnkeyatts": len(keys), "indisunique": rel.unique,
                   "indisprimary": rel.primary, "indkey": keys,
                   "indcollation": [0] * len(keys), "indclass": [1978] * len(keys),
                   "indoption": [3 if d else 0 for d in rel.descending]}


@system("pg_catalog", "pg_constraint", """
oid oid
conname name
connamespace oid
contype char
condeferrable bool false
condeferred bool false
convalidated bool true
conrelid oid 0
contypid oid 0
conindid oid 0
conparentid oid 0
confrelid oid 0
confupdtype char
confdeltype char
confmatchtype char
conislocal bool true
coninhcount int4 0
connoinherit bool false
conkey int2[]
confkey int2[]
conpfeqop oid[]
conppeqop oid[]
conffeqop oid[]
confdelsetcols int2[]
conexclop oid[]
conbin pg_node_tree
""")
def _pg_constraint(session):
    actions = {"no action": "a", "restrict": "r", "cascade": "c", "set null": "n",
               "set default": "d"}
    for rel in session.database.relations():
        if not isinstance(rel, Table):
            continue
        for c in rel.constraints:
            row = {"oid": c.oid, "conname": c.name, "connamespace": rel.schema.oid,
                   "contype": c.kind, "conrelid": rel.oid, "conkey": _attnums(rel, c.columns),
                   "confupdtype": " ", "confdeltype": " ", "confmatchtype": " "}
            if c.index is not None:
                row["conindid"] = c.index.oid
            if c.kind == "c":
                row["conbin"] = c.check_text
            if c.kind == "f":
                row.update(confrelid=c.ref_table.oid,
                           confkey=_attnums(c.ref_table, c.ref_columns),
                           confupdtype=actions[c.on_update], confdeltype=actions[c.on_delete],
                           confmatchtype="s")
                ref_index = next((i for i in c.ref_table.indexes
                                  if i.unique and i.columns == c.ref_columns), None)
                if ref_index is not None:
                    row["conindid"] = ref_index.oid
            yield row


@system("pg_catalog", "pg_database", """
oid oid
datname name
datdba oid 10
encoding int4 6
datlocprovider char c
datistemplate bool false
datallowconn bool true
datconnlimit int4 -1
datfrozenxid xid 0
datminmxid xid 1
dattablespace oid 1663
datcollate text C
datctype text C
daticulocale text
datcollversion text
datacl aclitem[]
""")
def _pg_database(session):
    for db in session.database.cluster.databases.values():
        row = {"oid": db.oid, "datname": db.name}
        if db.name in ("template0", "template1"):
            row["datistemplate"] = True
            row["datacl"] = ["=c/postgres", "postgres=CTc/postgres"]
            row["datallowconn"] = db.name != "template0"
        yield row


@system("pg_catalog", "pg_am", """
oid oid
amname name
amhandler regproc 0
amtype char
""")
def _pg_am(session):
    yield {"oid": AM_HEAP, "amname": "heap", "amtype": "t"}
    yield {"oid": AM_BTREE, "amname": "btree", "amtype": "i"}
    yield {"oid": AM_HASH, "amname": "hash", "amtype": "i"}


_ROLE_COLUMNS = """
rolname name
rolsuper bool false
rolinherit bool true
rolcreaterole bool false
rolcreatedb bool false
rolcanlogin bool true
rolreplication bool false
rolconnlimit int4 -1
rolpassword text
rolvaliduntil timestamptz
rolbypassrls bool false
rolconfig text[]
oid oid
"""


def _roles(session):
    for role in session.database.cluster.roles.values():
        yield {"rolname": role.name, "rolsuper": role.superuser, "rolcreaterole": role.superuser,
               "rolcreatedb": role.superuser, "rolreplication": role.superuser,
               "rolbypassrls": role.superuser, "rolcanlogin": role.login,
               "rolpassword": "********" if role.password else None, "oid": role.oid}


system("pg_catalog", "pg_roles", _ROLE_COLUMNS)(_roles)
system("pg_catalog", "pg_authid", _ROLE_COLUMNS)(_roles)


@system("pg_catalog", "pg_user", """
usename name
usesysid oid
usecreatedb bool false
usesuper bool false
userepl bool false
usebypassrls bool false
passwd text ********
valuntil timestamptz
useconfig text[]
""")
def _pg_user(session):
    for role in session.database.cluster.roles.values():
        if role.login:
            yield {"usename": role.name, "usesysid": role.oid, "usecreatedb": role.superuser,
                   "usesuper": role.superuser, "userepl": role.superuser,
                   "usebypassrls": role.superuser}


@system("pg_catalog", "pg_auth_members", """
roleid oid
member oid
grantor oid
admin_option bool false
""")
def _pg_auth_members(session):
    return []


@system("pg_catalog", "pg_proc", """
oid oid
proname name
pronamespace oid 11
proowner oid 10
prolang oid 12
procost float4 1
prorows float4 0
provariadic oid 0
prosupport regproc 0
prokind char f
prosecdef bool false
proleakproof bool false
proisstrict bool true
proretset bool false
provolatile char i
proparallel char s
pronargs int2 0
pronargdefaults int2 0
prorettype oid 25
proargtypes oidvector
proallargtypes oid[]
proargmodes char[]
proargnames text[]
proargdefaults pg_node_tree
protrftypes oid[]
prosrc text
probin text
prosqlbody pg_node_tree
proconfig text[]
proacl aclitem[]
""")
def _pg_proc(session):
    for name, funcs in F.FUNCTIONS.items():
        for f in funcs:
            result = f.result if isinstance(f.result, T.SqlType) else T.ANYELEMENT
            yield {"oid": f.oid, "proname": name, "pronargs": len(f.args),
                   "prorettype": result.oid, "prosrc": name, "proisstrict": f.strict,
                   "provolatile": "v" if f.volatile else "i",
                   "proargtypes": [a.oid if isinstance(a, T.SqlType) else 2276 for a in f.args]}
    for name, aggs in F.AGGREGATES.items():
        for agg in aggs:
            yield {"oid": agg.oid, "proname": name, "prokind": "a", "pronargs": len(agg.args),
                   "prosrc": "aggregate_dummy", "proargtypes": []}


@system("pg_catalog", "pg_description", """
objoid oid
classoid oid
objsubid int4 0
description text
""")
def _pg_description(session):
    db = session.database
    for rel in db.relations():
        if rel.comment is not None:
            yield {"objoid": rel.oid, "classoid": 1259, "description": rel.comment}
        if isinstance(rel, Table):
            for col in rel.columns:
                if col.comment is not None:
                    yield {"objoid": rel.oid, "classoid": 1259, "objsubid": col.attnum,
                           "description": col.comment}
    for schema in db.schemas.values():
        if schema.comment is not None:
            yield {"objoid": schema.oid, "classoid": 2615, "description": schema.comment}


@system("pg_catalog", "pg_shdescription", """
objoid oid
classoid oid
description text
""")
def _pg_shdescription(session):
    for db in session.database.cluster.databases.values():
        if db.comment is not None:
            yield {"objoid": db.oid, "classoid": 1262, "description": db.comment}


@system("pg_catalog", "pg_settings", """
name text
setting text
unit text
category text
short_desc text
extra_desc text
context text user
vartype text string
source text default
min_val text
max_val text
enumvals text[]
boot_val text
reset_val text
sourcefile text
sourceline int4
pending_restart bool false
""")
def _pg_settings(session):
    for name in sorted(session.settings):
        value = session.show_setting(name)
        yield {"name": name, "setting": value, "boot_val": value, "reset_val": value,
               "category": "Client Connection Defaults", "short_desc": name}


@system("pg_catalog", "pg_tables", """
schemaname name
tablename name
tableowner name postgres
tablespace name
hasindexes bool false
hasrules bool false
hastriggers bool false
rowsecurity bool false
""")
def _pg_tables(session):
    for rel in session.database.relations():
        if isinstance(rel, Table):
            yield {"schemaname": rel.schema.name, "tablename": rel.name,
                   "hasindexes": bool(rel.indexes)}


@system("pg_catalog", "pg_views", """
schemaname name
viewname name
viewowner name postgres
definition text
""")
def _pg_views(session):
    for rel in session.database.relations():
        if isinstance(rel, View):
            yield {"schemaname": rel.schema.name, "viewname": rel.name,
                   "definition": " " + rel.text.rstrip(";") + ";"}


@system("pg_catalog", "pg_matviews", """
schemaname name
matviewname name
matviewowner name
tablespace name
hasindexes bool false
ispopulated bool true
definition text
""")
def _pg_matviews(session):
    return []


@system("pg_catalog", "pg_indexes", """
schemaname name
tablename name
indexname name
tablespace name
indexdef text
""")
def _pg_indexes(session):
    for rel in session.database.relations():
        if isinstance(rel, Index):
            yield {"schemaname": rel.schema.name, "tablename": rel.table.name,
                   "indexname": rel.name, "indexdef": index_definition(rel)}


@system("pg_catalog", "pg_sequence", """
seqrelid oid
seqtypid oid
seqstart int8
seqincrement int8
seqmax int8
seqmin int8
seqcache int8 1
seqcycle bool false
""")
def _pg_sequence(session):
    for rel in session.database.relations():
        if isinstance(rel, Sequence):
            yield {"seqrelid": rel.oid, "seqtypid": rel.data_type.oid, "seqstart": rel.start,
                   "seqincrement": rel.increment, "seqmax": rel.maxvalue, "seqmin": rel.minvalue,
                   "seqcache": rel.cache, "seqcycle": rel.cycle}


@system("pg_catalog", "pg_sequences", """
schemaname name
sequencename name
sequenceowner name postgres
data_type regtype
start_value int8
min_value int8
max_value int8
increment_by int8
cycle bool false
cache_size int8 1
last_value int8
""")
def _pg_sequences(session):
    for rel in session.database.relations():
        if isinstance(rel, Sequence):
            yield {"schemaname": rel.schema.name, "sequencename": rel.name,
                   "data_type": rel.data_type.oid, "start_value": rel.start,
                   "min_value": rel.minvalue, "max_value": rel.maxvalue,
                   "increment_by": rel.increment, "cycle": rel.cycle,
                   "last_value": rel.last_value if rel.is_called else None}


@system("pg_catalog", "pg_inherits", """
inhrelid oid
inhparent oid
inhseqno int4
inhdetachpending bool false
""")
def _pg_inherits(session):
    return []


@system("pg_catalog", "pg_policy", """
oid oid
polname name
polrelid oid
polcmd char
polpermissive bool true
polroles oid[]
polqual pg_node_tree
polwithcheck pg_node_tree
""")
def _pg_policy(session):
    return []


@system("pg_catalog", "pg_statistic_ext", """
oid oid
stxrelid oid
stxname name
stxnamespace oid
stxowner oid
stxstattarget int4 -1
stxkeys int2vector
stxkind char[]
stxexprs pg_node_tree
""")
def _pg_statistic_ext(session):
    return []


@system("pg_catalog", "pg_collation", """
oid oid
collname name
collnamespace oid 11
collowner oid 10
collprovider char c
collisdeterministic bool true
collencoding int4 -1
collcollate text
collctype text
colliculocale text
collversion text
""")
def _pg_collation(session):
    yield {"oid": 100, "collname": "default", "collprovider": "d"}
    yield {"oid": 950, "collname": "C", "collcollate": "C", "collctype": "C"}
    yield {"oid": 951, "collname": "POSIX", "collcollate": "POSIX", "collctype": "POSIX"}


@system("pg_catalog", "pg_publication", """
oid oid
pubname name
pubowner oid
puballtables bool false
pubinsert bool true
pubupdate bool true
pubdelete bool true
pubtruncate bool true
pubviaroot bool false
""")
def _pg_publication(session):
    return []


@system("pg_catalog", "pg_publication_rel", """
oid oid
prpubid oid
prrelid oid
prqual pg_node_tree
prattrs int2vector
""")
def _pg_publication_rel(session):
    return []


@system("pg_catalog", "pg_publication_namespace", """
oid oid
pnpubid oid
pnnspid oid
""")
def _pg_publication_namespace(session):
    return []


@system("pg_catalog", "pg_trigger", """
oid oid
tgrelid oid
tgparentid oid 0
tgname name
tgfoid oid
tgtype int2
tgenabled char O
tgisinternal bool false
tgconstrrelid oid 0
tgconstrindid oid 0
tgconstraint oid 0
tgdeferrable bool false
tginitdeferred bool false
tgnargs int2 0
tgattr int2vector
tgargs text
tgqual pg_node_tree
tgoldtable name
tgnewtable name
""")
def _pg_trigger(session):
    return []


@system("pg_catalog", "pg_enum", """
oid oid
enumtypid oid
enumsortorder float4
enumlabel name
""")
def _pg_enum(session):
    for t in session.database.user_types():
        for position, label in enumerate(t.labels, 1):
            yield {"oid": t.oid * 1000 + position, "enumtypid": t.oid,
                   "enumsortorder": float(position), "enumlabel": label}


@system("pg_catalog", "pg_range", """
rngtypid oid
rngsubtype oid
rngmultitypid oid
rngcollation oid
rngsubopc oid
rngcanonical regproc
rngsubdiff regproc
""")
def _pg_range(session):
    return []


@system("pg_catalog", "pg_extension", """
oid oid
extname name
extowner oid 10
extnamespace oid 11
extrelocatable bool false
extversion text
extconfig oid[]
extcondition text[]
""")
def _pg_extension(session):
    yield {"oid": 13500, "extname": "plpgsql", "extversion": "1.0"}


@system("pg_catalog", "pg_language", """
oid oid
lanname name
lanowner oid 10
lanispl bool false
lanpltrusted bool false
lanplcallfoid oid 0
laninline oid 0
lanvalidator oid 0
lanacl aclitem[]
""")
def _pg_language(session):
    yield {"oid": 12, "lanname": "internal"}
    yield {"oid": 14, "lanname": "sql", "lanpltrusted": True}


@system("pg_catalog", "pg_depend", """
classid oid
objid oid
objsubid int4
refclassid oid
refobjid oid
refobjsubid int4
deptype char
""")
def _pg_depend(session):
    for rel in session.database.relations():
        if isinstance(rel, Sequence) and rel.owned_by is not None:
            table, column = rel.owned_by
            attnum = next((c.attnum for c in table.columns if c.name == column), 0)
            yield {"classid": 1259, "objid": rel.oid, "objsubid": 0, "refclassid": 1259,
                   "refobjid": table.oid, "refobjsubid": attnum, "deptype": "a"}


@system("pg_catalog", "pg_tablespace", """
oid oid
spcname name
spcowner oid 10
spcacl aclitem[]
spcoptions text[]
""")
def _pg_tablespace(session):
    yield {"oid": 1663, "spcname": "pg_default"}
    yield {"oid": 1664, "spcname": "pg_global"}


@system("pg_catalog", "pg_stat_activity", """
datid oid
datname name
pid int4
leader_pid int4
usesysid oid
usename name
application_name text
client_addr inet
client_hostname text
client_port int4
backend_start timestamptz
xact_start timestamptz
query_start timestamptz
state_change timestamptz
wait_event_type text
wait_event text
state text
backend_xid xid
backend_xmin xid
query_id int8
query text
backend_type text client backend
""")
def _pg_stat_activity(session):
    for other in session.engine.sessions.values():
        if other.database is None:
            continue
        yield {"datid": other.database.oid, "datname": other.database.name, "pid": other.pid,
               "usename": other.user, "application_name": other.settings.get("application_name", ""),
               "state": "active" if other.running or other is session else
               ("idle in transaction" if other.block else "idle"),
               "query": other.current_query,
               "backend_start": other.started_at}


@system("pg_catalog", "pg_stat_user_tables", """
relid oid
schemaname name
relname name
seq_scan int8 0
n_live_tup int8 0
""")
def _pg_stat_user_tables(session):
    for rel in session.database.relations():
        if isinstance(rel, Table):
            yield {"relid": rel.oid, "schemaname": rel.schema.name, "relname": rel.name,
                   "n_live_tup": session.database.storage.count(None, rel.oid)}


@system("pg_catalog", "pg_locks", """
locktype text
database oid
relation oid
pid int4
mode text
granted bool true
""")
def _pg_locks(session):
    return []


@system("pg_catalog", "pg_prepared_statements", """
name text
statement text
prepare_time timestamptz
parameter_types regtype[]
from_sql bool true
""")
def _pg_prepared_statements(session):
    for name, stmt in session.prepared.items():
        yield {"name": name, "statement": stmt.text, "from_sql": stmt.from_sql}


@system("pg_catalog", "pg_cursors", """
name text
statement text
is_holdable bool false
is_binary bool false
is_scrollable bool false
creation_time timestamptz
""")
def _pg_cursors(session):
    for name in session.cursors:
        yield {"name": name}


@system("pg_catalog", "pg_timezone_names", """
name text
abbrev text
utc_offset interval
is_dst bool false
""")
def _pg_timezone_names(session):
    yield {"name": "UTC", "abbrev": "UTC", "utc_offset": T.Interval()}


# ---------------------------------------------------------------------------------------
# information_schema

def _info_type(t: T.SqlType) -> str:
    if t.elem is not None:
        return "ARRAY"
    return {"int4": "integer", "int2": "smallint", "int8": "bigint", "float4": "real",
            "float8": "double precision", "bool": "boolean", "varchar": "character varying",
            "bpchar": "character", "timestamp": "timestamp without time zone",
            "timestamptz": "timestamp with time zone", "time": "time without time zone",
            "timetz": "time with time zone"}.get(t.name, t.name)


@system("information_schema", "schemata", """
catalog_name name
schema_name name
schema_owner name postgres
default_character_set_catalog name
default_character_set_schema name
default_character_set_name name
sql_path varchar
""")
def _is_schemata(session):
    for schema in session.database.schemas.values():
        yield {"catalog_name": session.database.name, "schema_name": schema.name,
               "schema_owner": "pg_database_owner" if schema.name == "public" else "postgres"}


@system("information_schema", "tables", """
table_catalog name
table_schema name
table_name name
table_type varchar
self_referencing_column_name name
reference_generation varchar
user_defined_type_catalog name
user_defined_type_schema name
user_defined_type_name name
is_insertable_into varchar YES
is_typed varchar NO
commit_action varchar
""")
def _is_tables(session):
    for rel in session.database.relations():
        if isinstance(rel, (Table, View)):
            yield {"table_catalog": session.database.name, "table_schema": rel.schema.name,
                   "table_name": rel.name,
                   "table_type": "BASE TABLE" if isinstance(rel, Table) else "VIEW",
                   "is_insertable_into": "YES" if isinstance(rel, Table) else "NO"}


@system("information_schema", "views", """
table_catalog name
table_schema name
table_name name
view_definition varchar
check_option varchar NONE
is_updatable varchar NO
is_insertable_into varchar NO
""")
def _is_views(session):
    for rel in session.database.relations():
        if isinstance(rel, View):
            yield {"table_catalog": session.database.name, "table_schema": rel.schema.name,
                   "table_name": rel.name, "view_definition": " " + rel.text + ";"}


@system("information_schema", "columns", """
table_catalog name
table_schema name
table_name name
column_name name
ordinal_position int4
column_default varchar
is_nullable varchar
data_type varchar
character_maximum_length int4
character_octet_length int4
numeric_precision int4
numeric_precision_radix int4
numeric_scale int4
datetime_precision int4
interval_type varchar
udt_catalog name
udt_schema name pg_catalog
udt_name name
is_identity varchar NO
identity_generation varchar
is_generated varchar NEVER
is_updatable varchar YES
collation_name name
""")
def _is_columns(session):
    for rel in session.database.relations():
        if isinstance(rel, Table):
            cols = [(c.name, c.type, c.not_null, c.default_text, c.identity, c.attnum)
                    for c in rel.columns]
        elif isinstance(rel, View):
            cols = [(n, t, False, None, None, i) for i, (n, t) in enumerate(rel.columns, 1)]
        else:
            continue
        for name, t, not_null, default, identity, attnum in cols:
            row = {"table_catalog": session.database.name, "table_schema": rel.schema.name,
                   "table_name": rel.name, "column_name": name, "ordinal_position": attnum,
                   "column_default": default, "is_nullable": "NO" if not_null else "YES",
                   "data_type": _info_type(t), "udt_catalog": session.database.name,
                   "udt_name": t.name, "is_identity": "YES" if identity else "NO",
                   "identity_generation": identity.upper() if identity else None}
            if t.oid in (T.VARCHAR.oid, T.BPCHAR.oid) and t.typmod >= 0:
                row["character_maximum_length"] = t.typmod - 4
                row["character_octet_length"] = (t.typmod - 4) * 4
            elif T.is_string(t):
                row["character_octet_length"] = 1073741824
            if T.is_integer(t):
                row.update(numeric_precision={21: 16, 23: 32, 20: 64}[t.oid],
                           numeric_precision_radix=2, numeric_scale=0)
            elif t.oid in (T.FLOAT4.oid, T.FLOAT8.oid):
                row.update(numeric_precision=24 if t.oid == 700 else 53, numeric_precision_radix=2)
            elif t.oid == T.NUMERIC_T.oid:
                row["numeric_precision_radix"] = 10
                if t.typmod >= 0:
                    row["numeric_precision"] = (t.typmod - 4) >> 16
                    row["numeric_scale"] = (t.typmod - 4) & 0xFFFF
            elif t.category == "D" and t.oid != T.DATE.oid:
                row["datetime_precision"] = 6
            elif t.oid == T.DATE.oid:
                row["datetime_precision"] = 0
            yield row


def _constraint_kind(kind):
    return {"p": "PRIMARY KEY", "u": "UNIQUE", "c": "CHECK", "f": "FOREIGN KEY"}[kind]


@system("information_schema", "table_constraints", """
constraint_catalog name
constraint_schema name
constraint_name name
table_catalog name
table_schema name
table_name name
constraint_type varchar
is_deferrable varchar NO
initially_deferred varchar NO
enforced varchar YES
nulls_distinct varchar
""")
def _is_table_constraints(session):
    for rel in session.database.relations():
        if isinstance(rel, Table):
            for c in rel.constraints:
                yield {"constraint_catalog": session.database.name,
                       "constraint_schema": rel.schema.name, "constraint_name": c.name,
                       "table_catalog": session.database.name, "table_schema": rel.schema.name,
                       "table_name": rel.name, "constraint_type": _constraint_kind(c.kind),
                       "nulls_distinct": "YES" if c.kind in "pu" else None}


@system("information_schema", "key_column_usage", """
constraint_catalog name
constraint_schema name
constraint_name name
table_catalog name
table_schema name
table_name name
column_name name
ordinal_position int4
position_in_unique_constraint int4
""")
def _is_key_column_usage(session):
    for rel in session.database.relations():
        if isinstance(rel, Table):
            for c in rel.constraints:
                if c.kind == "c":
                    continue
                for i, col in enumerate(c.columns, 1):
                    yield {"constraint_catalog": session.database.name,
                           "constraint_schema": rel.schema.name, "constraint_name": c.name,
                           "table_catalog": session.database.name,
                           "table_schema": rel.schema.name, "table_name": rel.name,
                           "column_name": col, "ordinal_position": i,
                           "position_in_unique_constraint": i if c.kind == "f" else None}


@system("information_schema", "referential_constraints", """
constraint_catalog name
constraint_schema name
constraint_name name
unique_constraint_catalog name
unique_constraint_schema name
unique_constraint_name name
match_option varchar SIMPLE
update_rule varchar
delete_rule varchar
""")
def _is_referential_constraints(session):
    for rel in session.database.relations():
        if isinstance(rel, Table):
            for c in rel.constraints:
                if c.kind != "f":
                    continue
                target = next((k for k in c.ref_table.constraints if k.kind in "pu"
                               and k.columns == c.ref_columns), None)
                yield {"constraint_catalog": session.database.name,
                       "constraint_schema": rel.schema.name, "constraint_name": c.name,
                       "unique_constraint_catalog": session.database.name,
                       "unique_constraint_schema": c.ref_table.schema.name,
                       "unique_constraint_name": target.name if target else None,
                       "update_rule": c.on_update.upper(), "delete_rule": c.on_delete.upper()}


@system("information_schema", "constraint_column_usage", """
table_catalog name
table_schema name
table_name name
column_name name
constraint_catalog name
constraint_schema name
constraint_name name
""")
def _is_constraint_column_usage(session):
    for rel in session.database.relations():
        if isinstance(rel, Table):
            for c in rel.constraints:
                table, cols = (c.ref_table, c.ref_columns) if c.kind == "f" else (rel, c.columns)
                for col in cols:
                    yield {"table_catalog": session.database.name,
                           "table_schema": table.schema.name, "table_name": table.name,
                           "column_name": col, "constraint_catalog": session.database.name,
                           "constraint_schema": rel.schema.name, "constraint_name": c.name}


@system("information_schema", "sequences", """
sequence_catalog name
sequence_schema name
sequence_name name
data_type varchar
numeric_precision int4
numeric_precision_radix int4 2
numeric_scale int4 0
start_value varchar
minimum_value varchar
maximum_value varchar
increment varchar
cycle_option varchar
""")
def _is_sequences(session):
    for rel in session.database.relations():
        if isinstance(rel, Sequence):
            yield {"sequence_catalog": session.database.name, "sequence_schema": rel.schema.name,
                   "sequence_name": rel.name, "data_type": _info_type(rel.data_type),
                   "numeric_precision": {21: 16, 23: 32, 20: 64}[rel.data_type.oid],
                   "start_value": str(rel.start), "minimum_value": str(rel.minvalue),
                   "maximum_value": str(rel.maxvalue), "increment": str(rel.increment),
                   "cycle_option": "YES" if rel.cycle else "NO"}



@system("pg_catalog", "pg_opclass", """
oid oid
opcmethod oid
opcname name
opcnamespace oid 11
opcowner oid 10
opcfamily oid
opcintype oid
opcdefault bool true
opckeytype oid 0
""")
def _pg_opclass(session):
    yield {"oid": 1978, "opcmethod": AM_BTREE, "opcname": "int4_ops", "opcfamily": 1976,
           "opcintype": 23}


# Catalogs of objects reldb does not have: present (psql's \\dC \\do \\dc \\dy \\des
# read them) and empty.
for _name, _columns in (
        ("pg_cast", "oid oid\ncastsource oid\ncasttarget oid\ncastfunc oid\ncastcontext char\n"
                    "castmethod char"),
        ("pg_operator", "oid oid\noprname name\noprnamespace oid\noprowner oid\noprkind char\n"
                        "oprleft oid\noprright oid\noprresult oid\noprcode regproc"),
        ("pg_conversion", "oid oid\nconname name\nconnamespace oid\nconowner oid\n"
                          "conforencoding int4\ncontoencoding int4\nconproc regproc\n"
                          "condefault bool"),
        ("pg_event_trigger", "oid oid\nevtname name\nevtevent name\nevtowner oid\n"
                             "evtfoid oid\nevtenabled char\nevttags text[]"),
        ("pg_foreign_server", "oid oid\nsrvname name\nsrvowner oid\nsrvfdw oid\nsrvtype text\n"
                              "srvversion text\nsrvacl aclitem[]\nsrvoptions text[]"),
        ("pg_foreign_data_wrapper", "oid oid\nfdwname name\nfdwowner oid\nfdwhandler oid\n"
                                    "fdwvalidator oid\nfdwacl aclitem[]\nfdwoptions text[]"),
        ("pg_foreign_table", "ftrelid oid\nftserver oid\nftoptions text[]"),
        ("pg_user_mapping", "oid oid\numuser oid\numserver oid\numoptions text[]"),
        ("pg_rewrite", "oid oid\nrulename name\nev_class oid\nev_type char\nev_enabled char\n"
                       "is_instead bool"),
        ("pg_aggregate", "aggfnoid regproc\naggkind char\naggnumdirectargs int2"),
        ("pg_partitioned_table", "partrelid oid\npartstrat char\npartnatts int2"),
        ("pg_default_acl", "oid oid\ndefaclrole oid\ndefaclnamespace oid\ndefaclobjtype char\n"
                           "defaclacl aclitem[]"),
        ("pg_init_privs", "objoid oid\nclassoid oid\nobjsubid int4\nprivtype char\n"
                          "initprivs aclitem[]"),
        ("pg_largeobject_metadata", "oid oid\nlomowner oid\nlomacl aclitem[]"),
        ("pg_ts_config", "oid oid\ncfgname name\ncfgnamespace oid\ncfgowner oid\n"
                         "cfgparser oid"),
        ("pg_transform", "oid oid\ntrftype oid\ntrflang oid\ntrffromsql regproc\n"
                         "trftosql regproc"),
        ("pg_subscription", "oid oid\nsubdbid oid\nsubname name\nsubowner oid\n"
                            "subenabled bool"),
        ("pg_opfamily", "oid oid\nopfmethod oid\nopfname name\nopfnamespace oid\nopfowner oid"),
        ("pg_db_role_setting", "setdatabase oid\nsetrole oid\nsetconfig text[]")):
    system("pg_catalog", _name, _columns)(lambda session: [])
