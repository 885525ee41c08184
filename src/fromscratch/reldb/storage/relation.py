"""What the storage knows about each table and index of a database: its file, and for
an index the table columns it keys on. This relation map is saved with the catalog
at every commit that changes it, and at checkpoints.

The catalog (the SQL layer) names relations by OID; a relation's data lives in the file
named by its `filenode`. TRUNCATE and REINDEX give a relation a new file, so a rollback
only has to point the map back at the old one.
"""

from __future__ import annotations

import json

HEAP = "heap"
BTREE = "btree"


class Relation:
    def __init__(self, oid: int, db: int, kind: str, filenode: int):
        self.oid = oid
        self.db = db
        self.kind = kind
        self.filenode = filenode
        self.file = None             # the open RelationFile, set by the engine
        # A file made by a transaction still in progress is not logged: it is written
        # out and synced when that transaction commits (and simply removed if it aborts).
        self.logged = True
        # heap
        self.indexes: list[Relation] = []
        self.target = -1             # the page inserts try first
        self.fsm: set[int] = set()   # pages known to have room (the free space map)
        self.live = 0                # estimated live and dead row versions
        self.dead = 0
        self.stats: dict = {}        # ANALYZE's figures: rows, and per column n_distinct
        # btree
        self.table: Relation | None = None
        self.positions: tuple[int, ...] = ()
        self.unique = False
        self.descending: tuple[bool, ...] | None = None

    @property
    def key(self) -> tuple[int, int]:
        return (self.db, self.filenode)

    def index_key(self, row: tuple) -> tuple:
        return tuple([row[i] for i in self.positions])

    def describe(self) -> dict:
        out = {"kind": self.kind, "file": self.filenode}
        if self.kind == BTREE:
            out.update(table=self.table.oid, positions=list(self.positions), unique=self.unique,
                       descending=list(self.descending) if self.descending else None)
        return out


def encode_map(relations: dict[int, Relation]) -> bytes:
    return json.dumps({str(oid): rel.describe() for oid, rel in sorted(relations.items())},
                      sort_keys=True).encode()


def decode_map(db: int, data: bytes) -> dict[int, Relation]:
    described = json.loads(data) if data else {}
    relations = {}
    for oid, d in described.items():
        relations[int(oid)] = Relation(int(oid), db, d["kind"], d["file"])
    for oid, d in described.items():
        rel = relations[int(oid)]
        if rel.kind == BTREE:
            rel.table = relations[d["table"]]
            rel.positions = tuple(d["positions"])
            rel.unique = d["unique"]
            rel.descending = tuple(d["descending"]) if d["descending"] else None
            rel.table.indexes.append(rel)
    return relations
