"""SERIALIZABLE: serializable snapshot isolation (SSI), as PostgreSQL does it, simplified.

Snapshot isolation alone allows write skew: two transactions each read what the other
writes, and both commit. SSI watches for read/write dependencies between concurrent
serializable transactions: R -> W when R read data that W changed (R did not see W's
change, its snapshot being older). Every serializable cycle needs a "pivot", a
transaction with a dependency in and a dependency out; when one appears, one
transaction of the structure fails with 40001 "could not serialize access due to
read/write dependencies among transactions" (the one running, if it is the pivot; else
the pivot, at its next statement or its commit).

What a serializable transaction read is remembered (PostgreSQL's SIREAD locks), at
three granularities: a whole relation (a sequential scan, an index range scan), an
index key (an equality lookup, which also covers keys inserted later: phantoms), and a
row. These are kept after the reader commits, for as long as a transaction that
overlapped it is running. Writers check them; readers check the versions they read
(and skip) for newer changes by concurrent serializable transactions.

Granularity is coarser than PostgreSQL's (no page-level predicate locks), so there are
more false positives: a retry is always safe, as PostgreSQL documents.
"""

from __future__ import annotations

from ..errors import SERIALIZATION_FAILURE, SqlError


def _failure() -> SqlError:
    return SqlError(SERIALIZATION_FAILURE, "could not serialize access due to read/write "
                    "dependencies among transactions",
                    detail="Reason code: Canceled on identification as a pivot, during "
                           "conflict in checking.",
                    hint="The transaction might succeed if retried.")


class SerialXact:
    __slots__ = ("txn", "start", "commit_seq", "xids", "ins", "outs", "doomed", "reads")

    def __init__(self, txn, start: int):
        self.txn = txn
        self.start = start
        self.commit_seq = None            # set when it commits
        self.xids: set[int] = set()
        self.ins: set[SerialXact] = set()    # transactions that read what this one wrote
        self.outs: set[SerialXact] = set()   # transactions that wrote what this one read
        self.doomed = False
        self.reads: list = []             # the SIREAD entries it made (for cleanup)


class ConflictTracker:
    def __init__(self, engine):
        self.engine = engine
        self.active = False               # is any serializable transaction tracked?
        self.seq = 0
        self.xacts: set[SerialXact] = set()
        self.by_xid: dict[int, SerialXact] = {}
        self.relation_readers: dict[int, set] = {}
        self.key_readers: dict[int, dict[bytes, set]] = {}
        self.row_readers: dict[tuple[int, int], set] = {}

    def register(self, txn) -> None:
        self.seq += 1
        sx = txn.serializable = SerialXact(txn, self.seq)
        self.xacts.add(sx)
        self.active = True

    # -- reads --------------------------------------------------------------------------------

    def _check(self, txn) -> SerialXact:
        sx = txn.serializable
        if sx.doomed:
            raise _failure()
        return sx

    def read_relation(self, txn, oid: int) -> None:
        sx = self._check(txn)
        readers = self.relation_readers.setdefault(oid, set())
        if sx not in readers:
            readers.add(sx)
            sx.reads.append(("rel", oid))

    def read_key(self, txn, index_oid: int, prefix: bytes) -> None:
        sx = self._check(txn)
        readers = self.key_readers.setdefault(index_oid, {}).setdefault(prefix, set())
        if sx not in readers:
            readers.add(sx)
            sx.reads.append(("key", index_oid, prefix))

    def read_version(self, txn, table, tid: int, t, snap) -> None:
        sx = self._check(txn)
        readers = self.row_readers.setdefault((table.oid, tid), set())
        if sx not in readers:
            readers.add(sx)
            sx.reads.append(("row", table.oid, tid))
        self._newer_version(sx, t, snap)

    def read_page(self, txn, rel, block: int, snap) -> None:
        """A scan read this page: versions it skipped because a concurrent serializable
        transaction made them, and versions it read that one deleted, are dependencies."""
        sx = self._check(txn)
        page = self.engine.pool.get(rel.file, block)
        if page is None:
            return
        for item in page.items:
            if item.__class__ is int or item is None:
                continue
            xmin = item.xmin
            if xmin not in snap.mine and (xmin >= snap.xmax or xmin in snap.running):
                self._depends(sx, self._writer(xmin), sx)
            else:
                self._newer_version(sx, item, snap)

    def _newer_version(self, sx, t, snap) -> None:
        xmax = t.xmax
        if xmax and xmax not in snap.mine and (xmax >= snap.xmax or xmax in snap.running):
            self._depends(sx, self._writer(xmax), sx)

    def _writer(self, xid: int):
        owner = self.engine.running.get(xid)
        if owner is not None:
            return owner.serializable
        return self.by_xid.get(xid)

    # -- writes ---------------------------------------------------------------------------------

    def wrote(self, txn, rel, keys, old_rowid: int | None) -> None:
        """A transaction wrote a row of `rel` (new index keys `keys`; replacing the version
        at `old_rowid`): every concurrent serializable reader of that data depends on it."""
        sx = txn.serializable
        if sx is None:
            return
        self._check(txn)
        readers = set(self.relation_readers.get(rel.oid, ()))
        if old_rowid is not None:
            readers |= self.row_readers.get((rel.oid, old_rowid), set())
        for index, key, _ in keys:
            readers |= self.relation_readers.get(index.oid, set())
            for prefix, holders in self.key_readers.get(index.oid, {}).items():
                if key.startswith(prefix):
                    readers |= holders
        for reader in readers:
            self._depends(reader, sx, sx)

    def _depends(self, reader, writer, current) -> None:
        """Record reader -> writer (`current` is the transaction whose read or write
        found it), and fail a pivot if that made one: the current transaction if it is
        one; else the other, at its next step, unless it already committed (then the
        current transaction fails instead)."""
        if reader is None or writer is None or reader is writer:
            return
        if not self._concurrent(reader, writer) or writer in reader.outs:
            return
        reader.outs.add(writer)
        writer.ins.add(reader)
        if current.ins and current.outs:
            raise _failure()
        other = writer if current is reader else reader
        if other.ins and other.outs:
            if other.commit_seq is not None:
                raise _failure()
            other.doomed = True

    @staticmethod
    def _concurrent(a, b) -> bool:
        return (a.commit_seq is None or a.commit_seq > b.start) and \
            (b.commit_seq is None or b.commit_seq > a.start)

    # -- the end of a transaction -------------------------------------------------------------

    def before_commit(self, txn) -> None:
        sx = txn.serializable
        if sx.doomed:
            raise _failure()

    def finish(self, txn, committed: bool) -> None:
        sx = txn.serializable
        if committed:
            self.seq += 1
            sx.commit_seq = self.seq
            sx.xids = set(txn.live_xids)
            for xid in sx.xids:
                self.by_xid[xid] = sx
        else:
            for other in sx.ins:
                other.outs.discard(sx)
            for other in sx.outs:
                other.ins.discard(sx)
            self._forget(sx)
        self._cleanup()

    def _cleanup(self) -> None:
        """Forget committed transactions no running serializable transaction overlaps."""
        running = [sx.start for sx in self.xacts if sx.commit_seq is None]
        oldest = min(running) if running else self.seq + 1
        for sx in [sx for sx in self.xacts if sx.commit_seq is not None and sx.commit_seq < oldest]:
            self._forget(sx)
        self.active = bool(self.xacts)

    def _forget(self, sx) -> None:
        self.xacts.discard(sx)
        for xid in sx.xids:
            self.by_xid.pop(xid, None)
        for entry in sx.reads:
            if entry[0] == "rel":
                readers = self.relation_readers.get(entry[1])
            elif entry[0] == "key":
                readers = self.key_readers.get(entry[1], {}).get(entry[2])
            else:
                readers = self.row_readers.get((entry[1], entry[2]))
            if readers is not None:
                readers.discard(sx)
        sx.reads.clear()
        for other in sx.ins | sx.outs:
            other.ins.discard(sx)
            other.outs.discard(sx)
        sx.ins.clear()
        sx.outs.clear()
        if not self.xacts:
            self.relation_readers.clear()
            self.key_readers.clear()
            self.row_readers.clear()
