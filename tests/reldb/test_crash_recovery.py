"""Crash recovery under simulated power failures.

A bank of accounts takes random transfers, each one a transaction that moves money
between two accounts and records the transfer in a history table, with checkpoints
now and then and a buffer pool small enough to write pages out all the time. The
disk (storage/files.py's `disk`) is replaced by one that fails at a random moment:
every write not yet synced then survives, vanishes, or survives only in part (a torn
write: the first sectors new, the rest old), chosen at random, for data pages and log
alike. After recovery:

* every transfer whose COMMIT returned is in the history;
* no transfer is there in part: the balances are exactly what the history says;
* the money is all there, and every index agrees with its table.
"""

import os
import random
import threading

import pytest

from fromscratch.reldb.storage import StorageEngine, files, wal
from fromscratch.reldb.storage.engine import read_control

ACCOUNTS = 150
START = 1000
SECTOR = 512


class PowerFailure(Exception):
    pass


class FailingDisk(files.Disk):
    """Writes reach the files at once (the engine reads them back), but each one not yet
    synced is remembered with the bytes it replaced, for the power failure to undo."""

    def __init__(self, rng: random.Random, writes_before_failure: int):
        self.rng = rng
        self.countdown = writes_before_failure
        self.unsynced: dict[int, list] = {}
        self.failed = False

    def _tick(self) -> None:
        if self.failed:
            raise PowerFailure()
        self.countdown -= 1
        if self.countdown <= 0:
            self.failed = True
            self._lose_unsynced_writes()
            raise PowerFailure()

    def write(self, fd, data, offset):
        self._tick()
        data = bytes(data)
        old = os.pread(fd, len(data), offset).ljust(len(data), b"\0")
        super().write(fd, data, offset)
        self.unsynced.setdefault(fd, []).append((offset, old, data))

    def sync(self, fd):
        self._tick()
        self.unsynced.pop(fd, None)      # durable from now on (no need to really sync)

    def _lose_unsynced_writes(self) -> None:
        for fd, writes in self.unsynced.items():
            for offset, old, new in reversed(writes):
                fate = self.rng.random()
                if fate < 0.3:
                    continue                                   # it made it to the disk
                if fate < 0.6:
                    os.pwrite(fd, old, offset)                 # it never did
                else:
                    cut = self.rng.randrange(len(new) // SECTOR + 1) * SECTOR
                    os.pwrite(fd, old[cut:], offset + cut)     # torn after `cut` bytes


def open_engine(path):
    engine = StorageEngine(path, cache_bytes=24 * 8192, autovacuum=False,
                           checkpoint_seconds=1e9)
    engine.open()
    return engine


def begin(store):
    txn = store.begin()
    txn.begin_statement("read committed")
    return txn


def create_bank(path):
    engine = open_engine(path)
    store = engine.database(5)
    txn = store.begin()
    store.create_table(txn, 1)                        # accounts (id, balance, note)
    store.create_index(txn, 2, 1, (0,), unique=True)
    store.create_table(txn, 3)                        # history (transfer, from, to, amount)
    store.create_index(txn, 4, 3, (0,), unique=True)
    txn.commit()
    txn = begin(store)
    for i in range(ACCOUNTS):
        store.insert(txn, 1, (i, START, "account %d " % i + "." * 300))
    txn.commit()
    engine.checkpoint()
    return engine


def transfer(store, rng, number):
    txn = begin(store)
    a, b = rng.sample(range(ACCOUNTS), 2)
    amount = rng.randint(1, 50)
    for account, change in ((a, -amount), (b, amount)):
        [(rowid, row)] = store.index_rows(txn, 2, (account,))
        store.update(txn, 1, rowid, (account, row[1] + change, row[2]))
    store.insert(txn, 3, (number, a, b, amount))
    txn.commit()


def crash_and_recover(path, seed, first_number):
    rng = random.Random(seed)
    engine = open_engine(path)
    store = engine.database(5)
    disk = FailingDisk(rng, writes_before_failure=rng.randrange(5, 300))
    acknowledged = []
    files.disk = disk
    try:
        for number in range(first_number, first_number + 10**6):
            transfer(store, rng, number)
            acknowledged.append(number)
            if number % 7 == 6:
                engine.checkpoint()
    except PowerFailure:
        pass
    finally:
        files.disk = files.Disk()
        engine._stop.set()
        engine._background.join()
        engine.wal.close()
        engine.files.close()
    return acknowledged


def check(path, acknowledged):
    engine = open_engine(path)
    store = engine.database(5)
    txn = begin(store)
    accounts = {row[0]: row[1] for _, row in store.scan(txn, 1)}
    history = [row for _, row in store.scan(txn, 3)]
    numbers = {row[0] for row in history}
    assert set(acknowledged) <= numbers
    expected = {i: START for i in range(ACCOUNTS)}
    for _, source, target, amount in history:
        expected[source] -= amount
        expected[target] += amount
    assert accounts == expected
    assert sum(accounts.values()) == ACCOUNTS * START
    for i in range(ACCOUNTS):
        assert [row[1] for _, row in store.index_rows(txn, 2, (i,))] == [accounts[i]]
    for number in numbers:
        assert len(store.index_rows(txn, 4, (number,))) == 1
    txn.commit()
    engine.close()
    return len(history)


@pytest.mark.parametrize("seed", range(12))
def test_power_failures_lose_nothing_acknowledged(tmp_path, seed):
    run_rounds(str(tmp_path / "data"), seed)


@pytest.mark.parametrize("seed", range(4))
def test_power_failures_with_the_log_crossing_segments(tmp_path, seed, monkeypatch):
    # Segments of 64 KiB: a few transfers (with their full-page images) fill one, so
    # recovery must follow the log from segment to segment.
    monkeypatch.setattr(wal, "SEGMENT_SIZE", 64 * 1024)
    path = str(tmp_path / "data")
    run_rounds(path, 1000 + seed)
    assert read_control(path)["checkpoint"] > 4 * wal.SEGMENT_SIZE


def run_rounds(path, seed):
    create_bank(path).close()
    committed = 0
    for round_ in range(3):         # crash, recover, work on, crash again
        acknowledged = crash_and_recover(path, seed * 10 + round_, round_ * 10**6)
        committed = check(path, acknowledged)
    assert committed > 0


def test_a_checkpoint_between_commit_record_and_commit_log_loses_nothing(tmp_path):
    """A checkpoint that runs after a COMMIT record is logged but before the commit log
    says so (the committer is waiting for its fsync) must not lose that commit."""
    path = str(tmp_path / "data")
    engine = create_bank(path)
    store = engine.database(5)
    flush = engine.wal.flush
    checkpoints = []

    def flush_with_a_checkpoint_in_between(lsn=None):
        if not checkpoints:
            checkpoints.append(threading.Thread(target=engine.checkpoint))
            checkpoints[0].start()
            checkpoints[0].join()
        flush(lsn)
    txn = begin(store)
    store.insert(txn, 3, (1, 0, 1, 10))
    engine.wal.flush = flush_with_a_checkpoint_in_between
    txn.commit()
    engine.wal.flush = flush
    assert checkpoints
    engine._stop.set()                 # crash: no shutdown checkpoint
    engine._background.join()
    engine.wal.close()
    engine.files.close()
    engine = open_engine(path)
    txn = begin(engine.database(5))
    assert [row for _, row in engine.database(5).scan(txn, 3)] == [(1, 0, 1, 10)]
    txn.commit()
    engine.close()
