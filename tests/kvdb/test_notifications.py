"""Keyspace notifications without a server: flag letters, who publishes what, and the
keyspace's own events (new keys, expiry, eviction)."""

import pytest

from fromscratch.kvdb.keyspace import Keyspace, now_ms
from fromscratch.kvdb.notifications import (ALL, EVICTED, EXPIRED, GENERIC, KEYEVENT, KEYSPACE,
                                            NEW, STRING, Notifier, effective_flags,
                                            parse_flags, render_flags)


class Recorder:
    def __init__(self):
        self.published = []

    def publish(self, channel, message):
        self.published.append((channel, message))
        return 0


def notifying(flags: str):
    keyspace = Keyspace()
    broker = Recorder()
    keyspace.notifier = Notifier(broker)
    keyspace.notify_flags = effective_flags(parse_flags(flags))
    return keyspace.dbs[2], broker.published


def test_flag_letters_round_trip_in_redis_order():
    assert parse_flags("A") == ALL
    assert parse_flags("KEg") == KEYSPACE | KEYEVENT | GENERIC
    assert [parse_flags(letter) for letter in "xen"] == [EXPIRED, EVICTED, NEW]
    assert render_flags(parse_flags("tKg$")) == "g$tK"
    assert render_flags(parse_flags("AnKE")) == "AKE"        # n is not shown beside A
    with pytest.raises(ValueError, match="Invalid event class character"):
        parse_flags("KEX")


def test_nothing_is_published_without_a_channel_flag():
    assert effective_flags(parse_flags("A")) == 0
    db, published = notifying("A")
    db.notify(STRING, "set", b"k")
    assert published == []


def test_both_channels_carry_the_event():
    db, published = notifying("KE$")
    db.notify(STRING, "set", b"k")
    db.notify(GENERIC, "del", b"k")                       # class not enabled
    assert published == [(b"__keyspace@2__:k", b"set"), (b"__keyevent@2__:set", b"k")]


def test_the_keyspace_reports_new_expired_and_evicted_keys():
    db, published = notifying("En")
    db.set(b"a", b"1")
    db.set(b"a", b"2")
    assert published == [(b"__keyevent@2__:new", b"a")]
    db, published = notifying("Exe")
    db.set(b"gone", b"1")
    db.set_expire(b"gone", now_ms() - 1)
    db.set(b"victim", b"1")
    assert db.get(b"gone") is None
    db.evict(b"victim")
    assert published == [(b"__keyevent@2__:expired", b"gone"),
                         (b"__keyevent@2__:evicted", b"victim")]
    assert db.keyspace.evicted_keys == 1 and b"victim" not in db
