"""Keyspace notifications: every change to a key published on pub/sub, as Redis does.

With `notify-keyspace-events` set, a command that changes a key publishes one event
name (set, del, lpush, xadd, expired...) on up to two channels:

    __keyspace@<db>__:<key>      message: the event      (flag K)
    __keyevent@<db>__:<event>    message: the key        (flag E)

The other flags choose which classes of event are sent at all:

    g generic (del, expire, rename...)   $ strings    l lists    s sets    h hashes
    z sorted sets    t streams    x expired    e evicted    d module types (none here)
    n new keys    m key misses (a read command that finds no key)
    A all of g$lshzxetd

Commands report events with `db.notify(STREAM, "xadd", key)` where Redis calls
notifyKeyspaceEvent; that costs one bit test while notifications are off. The
keyspace knows nothing of pub/sub: the server gives it a `Notifier` around its broker.
"""

from __future__ import annotations

KEYSPACE = 1 << 0        # K
KEYEVENT = 1 << 1        # E
GENERIC = 1 << 2         # g
STRING = 1 << 3          # $
LIST = 1 << 4            # l
SET = 1 << 5             # s
HASH = 1 << 6            # h
ZSET = 1 << 7            # z
EXPIRED = 1 << 8         # x
EVICTED = 1 << 9         # e
STREAM = 1 << 10         # t
MODULE = 1 << 11         # d
NEW = 1 << 12            # n
KEY_MISS = 1 << 13       # m
ALL = GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE

# Each letter's class, in the order CONFIG GET shows them.
_CLASSES = {"g": GENERIC, "$": STRING, "l": LIST, "s": SET, "h": HASH, "z": ZSET,
            "x": EXPIRED, "e": EVICTED, "t": STREAM, "d": MODULE, "n": NEW}
_CHANNELS = {"K": KEYSPACE, "E": KEYEVENT, "m": KEY_MISS}


def parse_flags(text: str) -> int:
    """notify-keyspace-events' letters as a bit set; ValueError for a stray letter."""
    flags = 0
    for letter in text:
        if letter == "A":
            flags |= ALL
        elif letter in _CLASSES:
            flags |= _CLASSES[letter]
        elif letter in _CHANNELS:
            flags |= _CHANNELS[letter]
        else:
            raise ValueError("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
    return flags


def render_flags(flags: int) -> str:
    """The letters as Redis writes them back: A when every class of A is on (and then,
    as in Redis, no n even if it is set), else each class; then K, E and m."""
    if flags & ALL == ALL:
        text = "A"
    else:
        text = "".join(letter for letter, bit in _CLASSES.items() if flags & bit)
    return text + "".join(letter for letter, bit in _CHANNELS.items() if flags & bit)


def effective_flags(flags: int) -> int:
    """What the keyspace tests events against: nothing at all unless K or E says where
    to publish, so that notify() is a single failed bit test when they are off."""
    return flags if flags & (KEYSPACE | KEYEVENT) else 0


class Notifier:
    """Publishes events through a pub/sub broker."""

    def __init__(self, broker):
        self.broker = broker

    def __call__(self, flags: int, db_index: int, event: str, key: bytes) -> None:
        name = event.encode()
        if flags & KEYSPACE:
            self.broker.publish(b"__keyspace@%d__:%s" % (db_index, key), name)
        if flags & KEYEVENT:
            self.broker.publish(b"__keyevent@%d__:%s" % (db_index, name), key)
