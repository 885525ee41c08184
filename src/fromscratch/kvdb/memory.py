"""Memory: what the data costs, `maxmemory`, and eviction.

Accounting. Each entry knows its size in bytes (`Entry.size`), and the keyspace keeps
the total. The size is what the objects really occupy in CPython: the key and value
objects as sys.getsizeof reports them (rounded up to pymalloc's 8-byte classes), plus
the bookkeeping each key and each element costs (the Entry, its dict slot and list
slot; a deque slot; a dict entry; a tree leaf slot...). The per-element constants were
measured with tracemalloc on CPython 3.11 (tests/kvdb/test_memory.py checks that the
estimate stays close to tracemalloc's count). A container's elements are not all
measured on every change: their average size is taken from a sample of up to eight, so
an update costs O(1) whatever the size of the container.

A string written with SET is accounted for at once (its size is arithmetic). Values
changed in place (containers) are brought up to date lazily: a change marks the key
(`Database.resized`) and `Keyspace.used_memory()` settles the marked ones. It runs before
each command that may grow memory when `maxmemory` is set, for INFO and MEMORY, and in
the cron.

Eviction follows Redis (evict.c). Past `maxmemory`, a command flagged `denyoom` first
makes room: the victim is chosen by `maxmemory-policy` — at random, or the best of an
*eviction pool*: each round samples `maxmemory-samples` keys per database and keeps the
16 best candidates seen so far (most idle for LRU, least used for LFU, soonest to expire
for volatile-ttl), so that over rounds the choice approaches true LRU/LFU without a
global order. If nothing can be evicted the command is refused with -OOM, and reads go on.

LFU uses Redis's 8-bit logarithmic counter: a hit increments it with probability
1 / ((counter - 5) * lfu-log-factor + 1), and it decays by one every `lfu-decay-time`
minutes without access.
"""

from __future__ import annotations

import logging
import random
import sys
import time
from itertools import islice

from .structures.bulklist import BulkList
from .structures.randomset import RandomSet
from .structures.sortedset import SortedSet
from .structures.stream import Stream

log = logging.getLogger("fromscratch.kvdb")

# Bookkeeping per key and per element, in bytes (see the module docstring).
KEY_OVERHEAD = 154          # Entry (with GC header), its slot in the dict and key list
LIST_SLOT = 8               # a deque slot (blocks of 64 pointers)
HASH_SLOT = 40              # a dict entry, amortised over the table's spare room
SET_SLOT = 88               # RandomSet: dict entry, position int, list slot
ZSET_SLOT = 120             # SortedSet: dict entry, float, (score, member) tuple, leaf slot
STREAM_SLOT = 60            # Stream: the id (a 128-bit int) and its slots in the block
PENDING_SLOT = 150          # a pending entry: the Nack, and its place in two maps
# A connection (its Client, parser, transport and socket objects), idle: the server's
# resident size grew by about this much per connection over 2,000 of them.
CLIENT_OVERHEAD = 3500
# What a client's own tables take per item, as Redis counts it in a client's memory
# (getClientMemoryUsage): a queued MULTI command (multiCmd) and a pointer per argument,
# a watched key (list node and watchedKey), a pattern (list node), a channel (dict entry
# and table slot), a tracking prefix (its radix tree nodes, roughly).
QUEUED_COMMAND = 24
ARGUMENT_POINTER = 8
WATCHED_KEY = 56
PATTERN = 24
CHANNEL = 32
TRACKING_PREFIX = 32
SAMPLE = 8

LFU_INIT_VAL = 5
POOL_SIZE = 16


def object_size(item) -> int:
    """An object's size as pymalloc allocates it (rounded up to 8 bytes)."""
    return (sys.getsizeof(item) + 7) & ~7


def _sampled_average(items) -> float:
    sample = list(items)
    return sum(map(object_size, sample)) / len(sample) if sample else 0.0


def value_size(value) -> int:
    """An estimate of the bytes `value` occupies (see the module docstring)."""
    kind = type(value)
    if kind is bytes or kind is bytearray:      # a bytearray: with its spare room
        return object_size(value)
    if kind is BulkList:
        if not value:
            return object_size(value)
        ends = list(islice(value, SAMPLE // 2)) + list(islice(reversed(value), SAMPLE // 2))
        return int(len(value) * (LIST_SLOT + _sampled_average(ends))) + 624
    if kind is dict:
        pairs = list(islice(value.items(), SAMPLE))
        per_field = (sum(object_size(f) + object_size(v) for f, v in pairs) / len(pairs)
                     if pairs else 0)
        return int(len(value) * (HASH_SLOT + per_field)) + 64
    if kind is RandomSet:
        sample = value.sample(min(SAMPLE, len(value))) if value else []
        return int(len(value) * (SET_SLOT + _sampled_average(sample))) + 120
    if kind is SortedSet:
        return int(len(value) * (ZSET_SLOT + _sampled_average(islice(value.scores, SAMPLE)))) + 200
    if kind is Stream:
        blocks = value.entries.blocks
        recent = [v for v in blocks[-1].values[-SAMPLE:] if type(v) is bytes] if blocks else []
        pending = sum(len(group.pending) for group in value.groups.values())
        return (int(len(value.entries) * (STREAM_SLOT + _sampled_average(recent)))
                + pending * PENDING_SLOT + 200)
    raise TypeError(f"no size estimate for {kind.__name__}")


def entry_size(key: bytes, value) -> int:
    return KEY_OVERHEAD + object_size(key) + value_size(value)


BYTES_HEADER = sys.getsizeof(b"")        # a bytes object's size beyond its contents


def string_entry_size(key: bytes, value: bytes) -> int:
    """entry_size for a string value, as arithmetic: SET accounts for it at once."""
    return KEY_OVERHEAD + ((BYTES_HEADER + len(key) + 7) & ~7) + ((BYTES_HEADER + len(value) + 7) & ~7)


def human_bytes(count: int) -> str:
    for unit, size in (("G", 1024**3), ("M", 1024**2), ("K", 1024)):
        if count >= size:
            return f"{count / size:.2f}{unit}"
    return f"{count}B"


# -- LFU -------------------------------------------------------------------------------------

def minutes_now() -> int:
    return int(time.monotonic() // 60)


def lfu_decayed(entry, decay_time: int) -> int:
    """The counter after the decay owed since the entry's last decrement."""
    if not decay_time:
        return entry.freq
    periods = (minutes_now() - entry.access) // decay_time
    return max(entry.freq - periods, 0) if periods > 0 else entry.freq


def lfu_touch(entry, log_factor: int, decay_time: int) -> None:
    counter = lfu_decayed(entry, decay_time)
    if counter < 255:
        base = max(counter - LFU_INIT_VAL, 0)
        if random.random() < 1.0 / (base * log_factor + 1):
            counter += 1
    entry.freq = counter
    entry.access = minutes_now()


# -- eviction ---------------------------------------------------------------------------------

class Evictor:
    """Chooses and removes keys while used memory is over `maxmemory`, and clients
    while theirs is over `maxmemory-clients`.

    As in Redis, what clients hold in their buffers (a command half received, replies
    the client has not read) counts against maxmemory, replicas' apart: many clients
    that do not read their replies can make keys go. With maxmemory-clients, the
    clients that hold the most are disconnected first instead. Summing every client's
    buffers before each command would cost as much as the command, so the clients
    that may hold something are noted as their buffers fill (`buffered_clients`, while
    a limit is set: KvServer.watch_client_memory), and only those are summed."""

    def __init__(self, kv):
        self.kv = kv
        self.buffered_clients: set = set()
        self.evicted_clients = 0                          # INFO stats
        self.pool: list[tuple[float, int, bytes]] = []   # (score, db index, key), best last
        self.next_db = 0                                  # round robin for random policies
        # Time spent over maxmemory (INFO's eviction_exceeded_time): past spells in all,
        # and when the current one began (None while under).
        self.exceeded_seconds = 0.0
        self.exceeded_since: float | None = None

    def make_room(self, quick: bool = False) -> bool:
        """Evict until under maxmemory. False if over it with nothing left to evict.
        `quick` (before a command that can't grow the data) trusts the sizes counted
        so far, without recounting the values changed since (the cron does that)."""
        kv = self.kv
        limit = kv.config["maxmemory"]
        keyspace = kv.keyspace
        if not limit:
            return self._under_limit()
        # Redis limits all it uses but replication and AOF buffers.
        connections = len(kv.clients) * CLIENT_OVERHEAD + self.client_buffers()
        if (keyspace.used if quick else keyspace.used_memory()) + connections <= limit:
            return self._under_limit()
        policy = kv.config["maxmemory-policy"]
        if policy == "noeviction":
            return self._over_limit()
        while keyspace.used_memory() + connections > limit:
            victim = self._choose(policy)
            if victim is None:
                return self._over_limit()
            db, key = victim
            db.evict(key)
            kv.propagate_deletion(db, key, kv.config["lazyfree-lazy-eviction"])
        return self._under_limit()

    def client_buffers(self) -> int:
        """The bytes held in the buffers of every client but the replicas."""
        total = 0
        for client in list(self.buffered_clients):
            held = client.memory_usage() - CLIENT_OVERHEAD
            if not held or client.closed:
                self.buffered_clients.discard(client)
            elif client.replica_since is None:
                total += held
        return total

    def evict_clients(self) -> None:
        """maxmemory-clients (bytes, or a share of maxmemory): while the clients hold
        more than that, disconnect the one that holds the most (but those that said
        CLIENT NO-EVICT, replicas and the primary's link), as Redis does."""
        kv = self.kv
        limit = kv.config["maxmemory-clients"]
        if isinstance(limit, str):                       # "10%"
            limit = kv.config["maxmemory"] * int(limit[:-1]) // 100
        if not limit or len(kv.clients) * CLIENT_OVERHEAD + self.client_buffers() < limit:
            return
        # A client closed already (over its output buffer limit, say) holds nothing.
        usage = [(client.memory_usage(), client) for client in kv.clients.values()
                 if client.replica_since is None and not client.closed]
        total = sum(size for size, _ in usage)
        evictable = sorted((pair for pair in usage
                            if not (pair[1].no_evict or pair[1].trusted or pair[1].closed)),
                           key=lambda pair: pair[0])
        while evictable and total >= limit:
            size, client = evictable.pop()
            total -= size
            log.info("Evicting client: %s", kv.client_info(client))
            self.evicted_clients += 1
            client.abort()

    # A spell over maxmemory begins when eviction can't get under it, and ends when
    # memory is found under it again, as Redis counts it.

    def _over_limit(self) -> bool:
        if self.exceeded_since is None:
            self.exceeded_since = time.monotonic()
        return False

    def _under_limit(self) -> bool:
        if self.exceeded_since is not None:
            self.exceeded_seconds += time.monotonic() - self.exceeded_since
            self.exceeded_since = None
        return True

    def exceeded_ms(self) -> tuple[int, int]:
        """Milliseconds over maxmemory: in all, and in the current spell (0 if under)."""
        current = time.monotonic() - self.exceeded_since if self.exceeded_since else 0.0
        return int((self.exceeded_seconds + current) * 1000), int(current * 1000)

    def reset_stats(self) -> None:
        self.evicted_clients = 0
        self.exceeded_seconds = 0.0
        if self.exceeded_since is not None:
            self.exceeded_since = time.monotonic()

    def _choose(self, policy: str):
        volatile = policy.startswith("volatile")
        if policy.endswith("random"):
            return self._random_victim(volatile)
        return self._pool_victim(policy, volatile)

    def _random_victim(self, volatile: bool):
        dbs = self.kv.keyspace.dbs
        for step in range(len(dbs)):
            db = dbs[(self.next_db + step) % len(dbs)]
            candidates = db.volatile if volatile else db.keys
            if candidates:
                self.next_db = (self.next_db + step + 1) % len(dbs)
                return db, candidates[int(random.random() * len(candidates))]
        return None

    def _score(self, policy: str, entry) -> float:
        """Higher is a better victim."""
        keyspace = self.kv.keyspace
        if policy.endswith("lru"):
            return keyspace.lru_clock - entry.access
        if policy.endswith("lfu"):
            return 255 - lfu_decayed(entry, self.kv.config["lfu-decay-time"])
        return -entry.expires_at                                  # volatile-ttl

    def _pool_victim(self, policy: str, volatile: bool):
        samples = self.kv.config["maxmemory-samples"]
        dbs = self.kv.keyspace.dbs
        for db in dbs:
            candidates = db.volatile if volatile else db.keys
            if not candidates:
                continue
            for key in random.choices(candidates, k=samples):
                entry = db.data.get(key)
                if entry is not None:
                    self._offer((self._score(policy, entry), db.index, key))
        while self.pool:
            _, index, key = self.pool.pop()
            db = dbs[index]
            entry = db.data.get(key)
            if entry is not None and (entry.expires_at or not volatile):
                return db, key
        return None

    def _offer(self, candidate) -> None:
        pool = self.pool
        if any(existing[1:] == candidate[1:] for existing in pool):
            return
        if len(pool) < POOL_SIZE:
            pool.append(candidate)
        elif candidate[0] > pool[0][0]:
            pool[0] = candidate
        else:
            return
        pool.sort(key=lambda item: item[0])
