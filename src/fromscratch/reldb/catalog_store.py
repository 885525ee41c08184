"""Saving and loading the catalog: what exists, as a JSON document per database plus one
for the cluster (its databases and roles).

The storage engine keeps these documents durable: a transaction that changed the
catalog hands the new document to its commit, which logs it with the commit record, and
checkpoints write the latest committed ones to files (engine.py). At startup the last
ones are read back here. Expressions (column defaults, CHECK constraints, generated
columns, views) are kept as the SQL text they were written in and parsed again on load,
as SQLite keeps its schema as CREATE statements. Types are kept by OID and modifier.

    cluster:  {"next_oid", "databases": [{"oid", "name", "comment"}], "roles": [...]}
    database: {"schemas": [{"oid", "name", "owner", "comment", "types": [enum...]}],
               "relations": [table | index | view | sequence, in creation order]}
"""

from __future__ import annotations

import json

from . import types as T
from .catalog import (Cluster, Column, Constraint, Database, Index, Role, Schema, Sequence,
                      Table, View)
from .sql.parser import parse, parse_expression


# -- types ---------------------------------------------------------------------------------

def _type(t: T.SqlType) -> dict:
    out = {"oid": t.oid, "typmod": t.typmod}
    if t.elem is not None and t.elem is not T.BY_OID[t.oid].elem:
        out["elem"] = _type(t.elem)
    return out


def _load_type(d: dict) -> T.SqlType:
    base = T.BY_OID[d["oid"]]
    if "elem" in d:
        base = T.SqlType(base.name, base.oid, -1, "A", elem=_load_type(d["elem"]))
    return base.with_typmod(d["typmod"]) if d["typmod"] != base.typmod else base


# -- saving --------------------------------------------------------------------------------

def dump_cluster(cluster: Cluster) -> bytes:
    return json.dumps({
        "next_oid": cluster.peek_oid(),
        "databases": [{"oid": db.oid, "name": db.name, "comment": db.comment}
                      for db in cluster.databases.values()],
        "roles": [{"oid": r.oid, "name": r.name, "superuser": r.superuser,
                   "password": r.password, "login": r.login} for r in cluster.roles.values()],
    }, sort_keys=True).encode()


def dump_database(db: Database) -> bytes:
    schemas = []
    for schema in db.schemas.values():
        schemas.append({"oid": schema.oid, "name": schema.name, "owner": schema.owner,
                        "comment": schema.comment,
                        "types": [{"name": t.name, "oid": t.oid, "array_oid": t.array_oid,
                                   "labels": t.labels} for t in schema.types.values()]})
    # In creation order: a relation refers only to older ones (a table's constraints and
    # index list are wired up once everything is loaded).
    relations = [_dump_relation(rel) for rel in sorted(db.relations(), key=lambda r: r.oid)]
    return json.dumps({"schemas": schemas, "relations": relations}, sort_keys=True).encode()


def _dump_relation(rel) -> dict:
    base = {"kind": rel.kind, "oid": rel.oid, "name": rel.name, "schema": rel.schema.name,
            "comment": rel.comment}
    if isinstance(rel, Table):
        base.update(next_attnum=rel.next_attnum,
                    columns=[_dump_column(c) for c in rel.columns],
                    constraints=[_dump_constraint(c) for c in rel.constraints],
                    indexes=[i.oid for i in rel.indexes])
    elif isinstance(rel, Index):
        base.update(table=rel.table.oid, columns=rel.columns, unique=rel.unique,
                    primary=rel.primary, method=rel.method, descending=rel.descending,
                    definition=rel.definition, storage_backed=rel.storage_backed)
    elif isinstance(rel, View):
        base.update(text=rel.text, columns=[[n, _type(t)] for n, t in rel.columns])
    elif isinstance(rel, Sequence):
        base.update(data_type=_type(rel.data_type), increment=rel.increment,
                    minvalue=rel.minvalue, maxvalue=rel.maxvalue, start=rel.start,
                    cycle=rel.cycle, cache=rel.cache, last_value=rel.last_value,
                    is_called=rel.is_called,
                    owned_by=[rel.owned_by[0].oid, rel.owned_by[1]] if rel.owned_by else None)
    return base


def _dump_column(c: Column) -> dict:
    return {"name": c.name, "type": _type(c.type), "not_null": c.not_null,
            "default": c.default_source, "default_text": c.default_text,
            "identity": c.identity, "attnum": c.attnum, "comment": c.comment,
            "generated": c.default_text if c.generated is not None else None}


def _dump_constraint(c: Constraint) -> dict:
    return {"oid": c.oid, "name": c.name, "kind": c.kind, "columns": c.columns,
            "check": c.check_text if c.kind == "c" else None,
            "index": c.index.oid if c.index is not None else None,
            "ref_table": c.ref_table.oid if c.ref_table is not None else None,
            "ref_columns": c.ref_columns, "on_delete": c.on_delete, "on_update": c.on_update}


# -- loading -------------------------------------------------------------------------------

def load_cluster(data: bytes, storage) -> Cluster:
    d = json.loads(data)
    cluster = Cluster(storage, bootstrap=False)
    cluster.set_next_oid(d["next_oid"])
    cluster.roles = {r["name"]: Role(r["oid"], r["name"], r["superuser"], r["password"],
                                     r["login"]) for r in d["roles"]}
    for entry in d["databases"]:
        db = cluster.create_database(entry["name"], entry["oid"])
        db.comment = entry["comment"]
        image = storage.catalog_image(db.oid)
        if image is not None:
            load_database(db, image)
    return cluster


def load_database(db: Database, data: bytes) -> None:
    d = json.loads(data)
    db.schemas = {}
    for s in d["schemas"]:
        schema = Schema(s["oid"], s["name"], s["owner"])
        schema.comment = s["comment"]
        for t in s["types"]:
            schema.types[t["name"]] = T.make_enum_type(t["name"], t["oid"], t["array_oid"],
                                                       t["labels"], schema.oid)
        db.schemas[schema.name] = schema
    pending = []          # (table, its saved form): constraints and indexes come last
    for r in d["relations"]:
        schema = db.schemas[r["schema"]]
        kind = r["kind"]
        if kind == "r":
            rel = Table(r["oid"], r["name"], schema)
            rel.next_attnum = r["next_attnum"]
            rel.columns = [_load_column(c) for c in r["columns"]]
            pending.append((rel, r))
        elif kind == "i":
            table = db.by_oid[r["table"]]
            rel = Index(r["oid"], r["name"], schema, table, r["columns"], r["unique"],
                        r["primary"], r["method"], r["descending"], r["definition"])
            rel.storage_backed = r["storage_backed"]
        elif kind == "v":
            query = parse(r["text"])[0][0]
            rel = View(r["oid"], r["name"], schema, query, r["text"],
                       [(n, _load_type(t)) for n, t in r["columns"]])
        else:
            rel = Sequence(r["oid"], r["name"], schema, start=r["start"],
                           increment=r["increment"], minvalue=r["minvalue"],
                           maxvalue=r["maxvalue"], cycle=r["cycle"],
                           data_type=_load_type(r["data_type"]), cache=r["cache"])
            rel.last_value, rel.is_called = r["last_value"], r["is_called"]
            state = db.storage.sequence_state(rel.oid)
            if state is not None:
                rel.last_value, rel.is_called = state
            if r["owned_by"]:
                rel.owned_by = (r["owned_by"][0], r["owned_by"][1])
        rel.comment = r["comment"]
        schema.relations[rel.name] = rel
        db.by_oid[rel.oid] = rel
    for rel in list(db.by_oid.values()):
        if isinstance(rel, Sequence) and rel.owned_by:
            rel.owned_by = (db.by_oid[rel.owned_by[0]], rel.owned_by[1])
    for table, r in pending:
        table.indexes = [db.by_oid[oid] for oid in r["indexes"]]
        for c in r["constraints"]:
            constraint = Constraint(c["oid"], c["name"], c["kind"], c["columns"],
                                    parse_expression(c["check"]) if c["check"] else None,
                                    c["check"])
            if c["index"] is not None:
                constraint.index = db.by_oid[c["index"]]
                constraint.index.constraint = constraint
            if c["ref_table"] is not None:
                constraint.ref_table = db.by_oid[c["ref_table"]]
            constraint.ref_columns = c["ref_columns"]
            constraint.on_delete, constraint.on_update = c["on_delete"], c["on_update"]
            table.constraints.append(constraint)
            db.add_constraint(constraint)


def _load_column(c: dict) -> Column:
    col = Column(c["name"], _load_type(c["type"]), c["not_null"], attnum=c["attnum"],
                 identity=c["identity"])
    if c["default"] is not None:
        col.default = parse_expression(c["default"])
        col.default_source = c["default"]
    col.default_text = c["default_text"]
    if c["generated"] is not None:
        col.generated = parse_expression(c["generated"])
    col.comment = c["comment"]
    return col
