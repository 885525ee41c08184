"""The keyspace: sixteen databases of keys, with expiry.

Each key maps to an `Entry` holding its value and what the server knows about it: when
it expires, when it was last read (for OBJECT IDLETIME and LRU eviction) and how often
(for LFU). Values are plain Python objects, one type per Redis type:

    string       bytes, or a bytearray once a command edits it in place (APPEND,
                 SETRANGE, SETBIT, BITFIELD: Redis's "raw" strings)
    list         BulkList         (a deque of the elements as RESP bulk strings)
    hash         dict
    set          RandomSet        (a set that can also pick a random member in O(1))
    sorted set   SortedSet        (a dict plus a ranked B+ tree)
    stream       Stream           (blocks of entries by id, and consumer groups)

Every change to a key goes through `Database.modified(key)`, which is what WATCH,
blocked clients, client-side caching and the dirty counter (for snapshots) hang on.
Commands also report what they did with `Database.notify(...)`, for keyspace
notifications (notifications.py); the keyspace reports what it does itself: new keys,
expiry and eviction.

Expiry works as in Redis: lazily, when a key is looked up past its deadline, and
actively, by `Keyspace.active_expire_cycle()` sampling keys that have a TTL and removing
the expired ones, repeating while a sample finds many of them. Sampling needs random
access, so each database keeps a list of all its keys and one of its keys with a TTL,
and each entry knows its place in both (`slot`, `ttl_slot`): add and remove are O(1)
(remove swaps the last key into the hole).
"""

from __future__ import annotations

import contextlib
import random
import time
from collections import deque

from ..resp import ErrorReply
from .notifications import EVICTED, EXPIRED, GENERIC, KEY_MISS, NEW
from .structures.bulklist import BulkList
from .structures.randomset import RandomSet
from .structures.sortedset import SortedSet
from .memory import BYTES_HEADER, entry_size, lfu_touch, minutes_now, string_entry_size
from .structures.stream import Stream

WRONGTYPE = ErrorReply("WRONGTYPE Operation against a key holding the wrong kind of value")


# The name TYPE reports for each value class.
TYPE_NAMES: dict[type, str] = {bytes: "string", bytearray: "string", BulkList: "list",
                               dict: "hash", RandomSet: "set", SortedSet: "zset",
                               Stream: "stream"}


def _wrong_type(value, kind: type) -> bool:
    """Whether `value`, not of class `kind`, is not a `kind` value either (a string
    being edited in place is a bytearray, and still a string)."""
    return not (kind is bytes and type(value) is bytearray)


def string_reply(value) -> bytes | None:
    """A stored value as a reply's string: bytes as they are, a string being edited in
    place (a bytearray) copied, or the reply would change with its next edit; None for
    anything but a string."""
    kind = type(value)
    return value if kind is bytes else bytes(value) if kind is bytearray else None


def type_name(value) -> str:
    return TYPE_NAMES[type(value)]


_frozen_at: int | None = None     # while a script runs: the time it started


_time_ns = time.time_ns


def now_ms() -> int:
    """Unix time in milliseconds, the unit of deadlines. It stands still while a script
    runs, as Redis's time snapshot does: a key can't expire in the middle of one."""
    return _time_ns() // 1_000_000 if _frozen_at is None else _frozen_at


@contextlib.contextmanager
def frozen_time():
    """Stop now_ms() for the duration (one script)."""
    global _frozen_at
    _frozen_at = int(time.time() * 1000)
    try:
        yield
    finally:
        _frozen_at = None


class Entry:
    __slots__ = ("value", "expires_at", "access", "freq", "slot", "ttl_slot", "size")

    def __init__(self, value, access: int, slot: int):
        self.value = value
        self.expires_at = 0      # absolute unix time in ms; 0 means no TTL
        self.access = access     # LRU: the clock (seconds) at the last access;
                                 # LFU: the minute of the counter's last decay
        self.freq = 5            # LFU counter; new keys start at LFU_INIT_VAL as in Redis
        self.slot = slot         # index in Database.keys
        self.ttl_slot = -1       # index in Database.volatile, -1 without a TTL
        self.size = 0            # bytes, as last accounted (memory.py)


class Database:
    def __init__(self, keyspace: "Keyspace", index: int):
        self.keyspace = keyspace
        self.index = index
        self.data: dict[bytes, Entry] = {}
        self.keys: list[bytes] = []          # every key, for random sampling
        self.volatile: list[bytes] = []      # keys with a TTL, for random sampling
        self.resized: set[bytes] = set()     # keys changed since their size was counted
        self.watched: dict[bytes, set] = {}  # key -> clients WATCHing it
        self.blocked: dict[bytes, deque] = {}  # key -> clients blocked on it, oldest first

    def __len__(self):
        return len(self.data)

    # -- reading -----------------------------------------------------------------------
    #
    # As in Redis, a command looks a key up either to read it (get, get_typed, peek),
    # which counts a keyspace hit or miss and sends a keymiss notification for a missing
    # key, or to change it (get_for_write), which does neither. GETDEL reads; LPOP writes.

    def entry(self, key: bytes, touch: bool = True) -> Entry | None:
        """The live entry of `key`, removing it first if it has expired."""
        entry = self.data.get(key)
        if entry is None:
            return None
        if entry.expires_at and entry.expires_at <= now_ms() and self._expire(key):
            return None
        if touch:
            self.keyspace.touch(entry)
        return entry

    def get(self, key: bytes):
        """The value of `key`, or None (counted as a keyspace hit or miss)."""
        entry = self.data.get(key)
        if entry is None:
            self._missed(key)
            return None
        if entry.expires_at and entry.expires_at <= now_ms() and self._expire(key):
            self._missed(key)
            return None
        keyspace = self.keyspace
        if keyspace.touch_mode == 1:              # LRU, inline: this is the hot path
            entry.access = keyspace.lru_clock
        else:
            keyspace.touch(entry)
        keyspace.hits += 1
        return entry.value

    def get_typed(self, key: bytes, kind: type):
        """The value of `key` if it is a `kind`; None if missing; WRONGTYPE otherwise.
        A string may be a bytearray (see the module docstring): the caller reads it, and
        copies what it keeps or replies with."""
        value = self.get(key)
        if value is not None and type(value) is not kind and _wrong_type(value, kind):
            raise WRONGTYPE
        return value

    def peek(self, key: bytes) -> Entry | None:
        """The live entry of `key`, read without touching it (EXISTS, TYPE, TTL...)."""
        entry = self.entry(key, touch=False)
        if entry is None:
            self._missed(key)
        else:
            self.keyspace.hits += 1
        return entry

    def get_for_write(self, key: bytes, kind: type):
        """The value of `key` for a command that changes it: like get_typed, but not
        counted as a hit or miss."""
        entry = self.entry_for_write(key, kind)
        return None if entry is None else entry.value

    def entry_for_write(self, key: bytes, kind: type) -> Entry | None:
        """The live entry of `key`, touched, for a command that changes its `kind` value
        in place (WRONGTYPE if it holds another kind)."""
        entry = self.data.get(key)
        if entry is None:
            return None
        if entry.expires_at and entry.expires_at <= now_ms() and self._expire(key):
            return None
        keyspace = self.keyspace
        if keyspace.touch_mode == 1:              # LRU, inline: this is the hot path
            entry.access = keyspace.lru_clock
        else:
            keyspace.touch(entry)
        if type(entry.value) is not kind and _wrong_type(entry.value, kind):
            raise WRONGTYPE
        return entry

    def editable_string(self, key: bytes, entry: Entry) -> bytearray:
        """The value of the string `entry` of `key` (from entry_for_write) as a bytearray,
        for a command that changes it in place and then reports it with updated(). The
        first edit copies it, as Redis makes a string "raw" before editing it; later ones
        grow it in place, so that APPEND or SETBIT cost O(1), not the string's length."""
        value = entry.value
        if type(value) is bytes:
            value = entry.value = bytearray(value)
            self.resized.add(key)
        return value

    def __contains__(self, key: bytes) -> bool:
        return self.entry(key, touch=False) is not None

    def _missed(self, key: bytes) -> None:
        self.keyspace.misses += 1
        self.notify(KEY_MISS, "keymiss", key)

    # -- writing -----------------------------------------------------------------------

    def set(self, key: bytes, value, keep_ttl: bool = False, changes: int = 1) -> None:
        """Store `value` under `key`, replacing any value (and TTL, unless keep_ttl),
        counted as `changes` changes (BITFIELD counts each write that changed a field)."""
        entry = self.data.get(key)
        if entry is not None and entry.expires_at:
            keyspace = self.keyspace
            if (entry.expires_at <= now_ms() and not keyspace.expiry_paused
                    and not keyspace.ttl_ignored):
                # Expired: gone first, and said so (an "expired" event, a DEL to
                # propagate), as Redis's lookup for a write does; no TTL to keep.
                self._expire(key)
                entry = None
            elif not keep_ttl:
                self._clear_ttl(key, entry)
        if entry is None:
            entry = self._insert(key, value)
        else:
            entry.value = value
            keyspace = self.keyspace
            if keyspace.touch_mode == 1:          # LRU, inline: this is the hot path
                entry.access = keyspace.lru_clock
            else:
                keyspace.touch(entry)
        if type(value) is bytes:                  # a string: its size is known at once
            size = string_entry_size(key, value)
            self.keyspace.used += size - entry.size
            entry.size = size
            self._changed(key, changes)
        else:
            self.modified(key, changes)

    def replace_string(self, key: bytes, entry: Entry, value: bytes) -> None:
        """Give the live string `entry` of `key` (from entry_for_write) a new value,
        keeping its TTL."""
        # Only the value's own size changes, by whole 8-byte words (see memory.py); a
        # counter's mostly keeps its length.
        old = entry.value
        entry.value = value
        if type(old) is bytearray:              # sized otherwise: counted afresh
            self.resized.add(key)
        elif len(value) != len(old):
            growth = ((BYTES_HEADER + len(value) + 7) & ~7) - ((BYTES_HEADER + len(old) + 7) & ~7)
            entry.size += growth
            self.keyspace.used += growth
        self._changed(key, 1)

    def add(self, key: bytes, value) -> None:
        """Create `key`, which the caller knows is absent (not counted as a change yet:
        the caller fills the value and then calls modified())."""
        self._insert(key, value)

    def get_or_create(self, key: bytes, kind: type, factory=None):
        """The `kind` value of `key`, creating an empty one if missing."""
        entry = self.entry_for_write(key, kind)
        if entry is not None:
            return entry.value
        value = (factory or kind)()
        self._insert(key, value)
        return value

    def delete(self, key: bytes) -> bool:
        """Remove `key` (expired or not). True if it held a live value."""
        entry = self.data.get(key)
        if entry is None:
            return False
        live = not (entry.expires_at and entry.expires_at <= now_ms())
        self._remove(key, entry)
        self.modified(key)
        return live

    def removed(self, key: bytes, value, kind: int, event: str, changes: int = 1) -> None:
        """Items left the container `value` at `key` (by `event`: lpop, hdel...): report
        it, and drop the key if that emptied it (containers don't exist empty in Redis),
        reporting that too."""
        self.notify(kind, event, key)
        if not value:
            self._remove(key, self.data[key])
            self.notify(GENERIC, "del", key)
        self.modified(key, changes)

    def updated(self, key: bytes, kind: int, event: str, changes: int = 1) -> None:
        """The value at `key` was changed in place by `event` (lpush, hset...): as
        modified(), with the keyspace notification. One call for the pair: every write
        to a container ends here."""
        self.resized.add(key)
        keyspace = self.keyspace
        keyspace.dirty += changes              # _changed, inline: every container write
        if self.watched or self.blocked or keyspace.tracking is not None:
            self._tell_watchers(key, True)
        flags = keyspace.notify_flags
        if flags & kind:
            keyspace.notifier(flags, self.index, event, key)

    def modified(self, key: bytes, changes: int = 1) -> None:
        """Record that `key` changed: its size is recounted, WATCHers abort, blocked
        clients get another try."""
        self.resized.add(key)
        self._changed(key, changes)

    def _changed(self, key: bytes, changes: int, by_client: bool = True) -> None:
        keyspace = self.keyspace
        keyspace.dirty += changes
        if self.watched or self.blocked or keyspace.tracking is not None:
            self._tell_watchers(key, by_client)

    def _tell_watchers(self, key: bytes, by_client: bool) -> None:
        """WATCHers of `key` abort, clients blocked on it get another try, tracking
        clients hear it changed."""
        keyspace = self.keyspace
        if self.watched:
            clients = self.watched.get(key)
            if clients:
                for client in clients:
                    client.watch_broken = True
        if self.blocked and key in self.blocked:
            keyspace.ready_keys.append((self, key))
        if keyspace.tracking is not None:
            keyspace.tracking.invalidate(key, by_client)

    def wake(self, key: bytes) -> None:
        """Give clients blocked on `key` another try without counting a change (XGROUP
        DESTROY: a consumer group is not part of the key's value for WATCH)."""
        if self.blocked and key in self.blocked:
            self.keyspace.ready_keys.append((self, key))

    def notify(self, kind: int, event: str, key: bytes) -> None:
        """Publish a keyspace notification of class `kind` (see notifications.py), if
        notify-keyspace-events asks for it."""
        flags = self.keyspace.notify_flags
        if flags & kind:
            self.keyspace.notifier(flags, self.index, event, key)

    def rename(self, key: bytes, new_key: bytes) -> None:
        """Move `key` (which exists) to `new_key`, with its TTL, replacing new_key."""
        entry = self.data[key]
        ttl = entry.expires_at
        self._remove(key, entry)
        self.modified(key)
        self.set(new_key, entry.value)
        if ttl:
            self.set_expire(new_key, ttl)

    # -- expiry ------------------------------------------------------------------------

    def set_expire(self, key: bytes, when_ms: int) -> None:
        entry = self.data[key]
        if not entry.expires_at:
            entry.ttl_slot = len(self.volatile)
            self.volatile.append(key)
        entry.expires_at = when_ms
        self.modified(key)
        keyspace = self.keyspace
        if keyspace.local_expires is not None and not keyspace.ttl_ignored:
            keyspace.local_expires.add((self.index, key))

    def get_expire(self, key: bytes) -> int:
        """The absolute expiry of `key` in ms, 0 for none (the key must be live)."""
        return self.data[key].expires_at

    def persist(self, key: bytes) -> bool:
        entry = self.data[key]
        if not entry.expires_at:
            return False
        self._clear_ttl(key, entry)
        self.modified(key)
        return True

    def _expire(self, key: bytes, force: bool = False) -> bool:
        """`key` was found past its time: remove it, and say whether it is gone for
        the command looking. During CLIENT PAUSE, and on a replica, it only looks gone
        (it stays until unpaused, or until the primary deletes it) unless `force`; for
        the primary's own commands on a replica, it is still there."""
        keyspace = self.keyspace
        if keyspace.ttl_ignored:
            return False
        if keyspace.expiry_paused and not force:
            return True
        self._remove(key, self.data[key])
        keyspace.expired_keys += 1
        if keyspace.on_expired is not None:
            keyspace.on_expired(self, key)
        self.notify(EXPIRED, "expired", key)
        self.resized.add(key)
        self._changed(key, 0, by_client=False)
        return True

    def evict(self, key: bytes) -> None:
        """Remove `key` to make room under maxmemory."""
        self._remove(key, self.data[key])
        self.keyspace.evicted_keys += 1
        self.notify(EVICTED, "evicted", key)
        self.modified(key, changes=0)

    # -- random access -----------------------------------------------------------------

    def random_key(self) -> bytes | None:
        """A random live key (expired ones met on the way are removed), or None."""
        for _ in range(100):
            if not self.keys:
                return None
            key = self.keys[int(random.random() * len(self.keys))]
            if self.entry(key, touch=False) is not None:
                return key
        return None

    def average_ttl(self) -> int:
        """Mean remaining TTL in ms of keys with one, estimated from a sample."""
        now = now_ms()
        remaining = [self.data[key].expires_at - now for key in set(self.sample_volatile(100))]
        remaining = [ms for ms in remaining if ms > 0]
        return sum(remaining) // len(remaining) if remaining else 0

    def sample_volatile(self, count: int) -> list[bytes]:
        if not self.volatile:
            return []
        return random.choices(self.volatile, k=count)

    # -- bookkeeping -------------------------------------------------------------------

    def _insert(self, key: bytes, value) -> Entry:
        keyspace = self.keyspace
        clock = minutes_now() if keyspace.touch_mode == 2 else keyspace.lru_clock
        entry = self.data[key] = Entry(value, clock, len(self.keys))
        self.keys.append(key)
        self.notify(NEW, "new", key)
        return entry

    def _remove(self, key: bytes, entry: Entry) -> None:
        del self.data[key]
        self.keyspace.used -= entry.size
        _swap_remove(self.keys, entry.slot, self.data, "slot")
        if entry.expires_at:
            _swap_remove(self.volatile, entry.ttl_slot, self.data, "ttl_slot")

    def _clear_ttl(self, key: bytes, entry: Entry) -> None:
        _swap_remove(self.volatile, entry.ttl_slot, self.data, "ttl_slot")
        entry.expires_at = 0
        entry.ttl_slot = -1

    def clear(self) -> None:
        self.keyspace.used -= sum(entry.size for entry in self.data.values())
        self.data = {}
        self.keys = []
        self.volatile = []
        self.resized = set()


def _swap_remove(keys: list, index: int, data: dict, attribute: str) -> None:
    """Remove keys[index] in O(1) by moving the last key into its place."""
    last = keys.pop()
    if index < len(keys):
        keys[index] = last
        setattr(data[last], attribute, index)


class Keyspace:
    """All the databases, plus the counters and queues they share."""

    def __init__(self, databases: int = 16):
        self.dbs = [Database(self, i) for i in range(databases)]
        self.dirty = 0                 # changes since the last snapshot
        self.expired_keys = 0
        self.evicted_keys = 0
        self.lazyfreed_objects = 0         # values Redis would have freed in the background
        self.expire_cycle_seconds = 0.0    # spent in active_expire_cycle
        self.expire_time_cap_reached = 0   # cycles stopped by their time budget
        self.expired_stale_share = 0.0     # of keys with a TTL, expired and still there
        self.hits = 0                  # lookups that found a key (keyspace_hits)
        self.misses = 0
        self.ready_keys: list = []     # (db, key) pairs that blocked clients wait on
        self.lru_clock = int(time.monotonic())
        self.used = 0                  # bytes the entries take, as last accounted
        # What a lookup records: 1 the LRU clock, 2 the LFU counter, 0 nothing (a
        # client with CLIENT NO-TOUCH is running).
        self.touch_mode = 1
        self.lfu_log_factor = 10
        self.lfu_decay_time = 1
        # keyspace notifications: the classes to publish (0 while off), and who
        # publishes them
        self.notify_flags = 0
        self.notifier = None
        # called with (db, key) when a key expires, to propagate its deletion
        self.on_expired = None
        self.expiry_paused = False      # during CLIENT PAUSE or on a replica, expired keys
                                        # stay (unseen)
        self.ttl_ignored = False        # applying a primary's stream: keys never expire
        # On a writable replica: the keys its own clients gave a TTL, as (db, key): they
        # expire here, as the primary never hears of them (None on a primary).
        self.local_expires: set | None = None
        # client-side caching (tracking.py): set only while some key or prefix is
        # tracked, so that changes cost nothing otherwise
        self.tracking = None

    def tick(self) -> None:
        self.lru_clock = int(time.monotonic())

    def touch(self, entry: Entry) -> None:
        mode = self.touch_mode
        if mode == 1:
            entry.access = self.lru_clock
        elif mode == 2:
            lfu_touch(entry, self.lfu_log_factor, self.lfu_decay_time)

    def used_memory(self) -> int:
        """Bytes the data takes, after settling the sizes of keys changed since."""
        for db in self.dbs:
            if db.resized:
                data = db.data
                for key in db.resized:
                    entry = data.get(key)
                    if entry is not None:
                        size = entry_size(key, entry.value)
                        self.used += size - entry.size
                        entry.size = size
                db.resized = set()
        return self.used

    def flush(self, db: Database) -> int:
        """Empty one database; WATCHers of keys that existed are told."""
        removed = len(db.data)
        for key, clients in db.watched.items():
            if key in db.data:
                for client in clients:
                    client.watch_broken = True
        # Clients blocked on a key that goes (XREADGROUP) get their answer.
        self.ready_keys += [(db, key) for key in db.blocked if key in db.data]
        db.clear()
        self.dirty += removed
        return removed

    def swap(self, a: int, b: int) -> None:
        self.used_memory()             # settle sizes while keys are where they were marked
        first, second = self.dbs[a], self.dbs[b]
        now = now_ms()

        def live(db, key) -> bool:            # an expired key is no value to swap
            entry = db.data.get(key)
            return entry is not None and not (entry.expires_at and entry.expires_at <= now)

        for db, other in ((first, second), (second, first)):
            for key, clients in db.watched.items():
                if live(db, key) or live(other, key):
                    for client in clients:
                        client.watch_broken = True
        first.data, second.data = second.data, first.data
        first.keys, second.keys = second.keys, first.keys
        first.volatile, second.volatile = second.volatile, first.volatile
        # Keys that appear, change or vanish under blocked clients give them a try.
        for db in (first, second):
            self.ready_keys += [(db, key) for key in db.blocked]
        self.dirty += 1

    def expire_local_keys(self) -> None:
        """On a replica, remove its own clients' keys that are past their time."""
        now = now_ms()
        for index, key in list(self.local_expires):
            db = self.dbs[index]
            entry = db.data.get(key)
            if entry is None or not entry.expires_at:
                self.local_expires.discard((index, key))
            elif entry.expires_at <= now:
                db._expire(key, force=True)
                self.local_expires.discard((index, key))

    def active_expire_cycle(self, time_budget: float = 0.005) -> int:
        """Remove expired keys by sampling, as Redis's activeExpireCycle does: take 20
        keys with a TTL, delete the expired ones, and go again while more than a tenth
        of a sample had expired and the time budget lasts."""
        started = time.perf_counter()
        deadline = started + time_budget
        removed = sampled = 0
        for db in self.dbs:
            while db.volatile:
                now = now_ms()
                sample = db.sample_volatile(20)
                expired = 0
                for key in set(sample):
                    entry = db.data.get(key)
                    if entry is not None and entry.expires_at and entry.expires_at <= now:
                        db._expire(key)
                        expired += 1
                removed += expired
                sampled += len(sample)
                if expired * 10 <= len(sample):
                    break
                if time.perf_counter() > deadline:
                    self.expire_time_cap_reached += 1
                    break
        # INFO stats, as Redis keeps them: the cycle's time, and a running estimate of
        # the share of keys with a TTL that have expired but are still there.
        self.expire_cycle_seconds += time.perf_counter() - started
        share = removed / sampled if sampled else 0.0
        self.expired_stale_share = share * 0.05 + self.expired_stale_share * 0.95
        return removed
