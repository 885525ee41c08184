"""DEBUG DIGEST and DEBUG DIGEST-VALUE: a fingerprint of the data, to check that two
states hold the same values (before and after a reload, on a primary and its replica).

What a value means is fingerprinted, not how it happens to be stored: lists and
streams are ordered, but the members of sets, hashes and sorted sets are combined with
XOR, so that the order a dictionary keeps them in does not count. The dataset's digest
combines every key's (database, name, value, expiry) the same way, and is forty zeros
when there are no keys, as in Redis. The digests are our own: they are not Redis's
numbers, which depend on its encodings.
"""

from __future__ import annotations

import hashlib

from .persistence.snapshot import encode_value
from .structures.bulklist import BulkList
from .structures.randomset import RandomSet
from .structures.sortedset import SortedSet

EMPTY = "0" * 40


def _sha1(*parts: bytes) -> bytes:
    # Each part is length-prefixed, so ("ab", "c") and ("a", "bc") differ.
    hasher = hashlib.sha1()
    for part in parts:
        hasher.update(b"%d:" % len(part))
        hasher.update(part)
    return hasher.digest()


def _xor(digests) -> bytes:
    total = 0
    for digest in digests:
        total ^= int.from_bytes(digest, "big")
    return total.to_bytes(20, "big")


def value_digest(value) -> bytes:
    """The 20-byte digest of one value."""
    kind = type(value)
    if kind is bytes or kind is bytearray:
        return _sha1(b"string", value)
    if kind is BulkList:
        return _sha1(b"list", *value.elements())
    if kind is dict:
        return _sha1(b"hash", _xor(_sha1(field, item) for field, item in value.items()))
    if kind is RandomSet:
        return _sha1(b"set", _xor(_sha1(member) for member in value))
    if kind is SortedSet:
        return _sha1(b"zset", _xor(_sha1(member, repr(score).encode())
                                   for member, score in value.items()))
    # A stream: its entries, groups and pending lists, in the snapshot's encoding.
    return _sha1(b"stream", encode_value(value)[1])


def dataset_digest(keyspace) -> str:
    """The hex digest of every key of every database."""
    digests = [_sha1(b"%d" % db.index, key, value_digest(entry.value),
                     b"%d" % entry.expires_at)
               for db in keyspace.dbs for key, entry in db.data.items()]
    return _xor(digests).hex() if digests else EMPTY
