"""The pub/sub broker: who listens to what, and delivering what is published.

Fire-and-forget, as Redis pub/sub: a message goes to whoever is subscribed at the moment
it is published and is not kept. Three kinds of subscription:

* channels (SUBSCRIBE): exact names;
* patterns (PSUBSCRIBE): Redis glob patterns, matched against each published channel;
* shard channels (SSUBSCRIBE / SPUBLISH): separate names, as in Redis cluster.

The broker knows nothing of sockets: the server that mounts it gives it
`deliver_all(subscribers, frames)`, which hands one message to a list of subscribers
(any objects the server knows), in publish order; `frames.for_protocol(resp)` is the
message encoded for RESP2 or RESP3, once for all who speak it. One call for all the
subscribers, not one each: a message to fifty subscribers is fifty deliveries.
Subscribers of a channel are kept in insertion order (a dict used as an ordered set),
so delivery order among them is stable.
"""

from __future__ import annotations

from ..glob import compile_pattern
from ..resp import Push, encode


class Broker:
    def __init__(self, deliver_all):
        self.deliver_all = deliver_all
        self.channels: dict[bytes, dict] = {}         # channel -> {subscriber: None}
        self.patterns: dict[bytes, dict] = {}         # pattern -> {subscriber: None}
        self.shard_channels: dict[bytes, dict] = {}
        self.messages_published = 0

    # -- subscribing ---------------------------------------------------------------------

    @staticmethod
    def _add(table: dict, name: bytes, subscriber) -> bool:
        subscribers = table.setdefault(name, {})
        if subscriber in subscribers:
            return False
        subscribers[subscriber] = None
        return True

    @staticmethod
    def _remove(table: dict, name: bytes, subscriber) -> bool:
        subscribers = table.get(name)
        if subscribers is None or subscriber not in subscribers:
            return False
        del subscribers[subscriber]
        if not subscribers:
            del table[name]
        return True

    def subscribe(self, subscriber, channel: bytes) -> bool:
        return self._add(self.channels, channel, subscriber)

    def unsubscribe(self, subscriber, channel: bytes) -> bool:
        return self._remove(self.channels, channel, subscriber)

    def psubscribe(self, subscriber, pattern: bytes) -> bool:
        return self._add(self.patterns, pattern, subscriber)

    def punsubscribe(self, subscriber, pattern: bytes) -> bool:
        return self._remove(self.patterns, pattern, subscriber)

    def ssubscribe(self, subscriber, channel: bytes) -> bool:
        return self._add(self.shard_channels, channel, subscriber)

    def sunsubscribe(self, subscriber, channel: bytes) -> bool:
        return self._remove(self.shard_channels, channel, subscriber)

    # -- publishing ------------------------------------------------------------------------

    def publish(self, channel: bytes, message: bytes) -> int:
        """Deliver to the channel's subscribers and to every matching pattern's; returns
        how many deliveries were made (what PUBLISH answers)."""
        self.messages_published += 1
        receivers = self._deliver(self.channels.get(channel), [b"message", channel, message])
        for pattern, subscribers in list(self.patterns.items()):
            if compile_pattern(pattern)(channel) is not None:
                receivers += self._deliver(subscribers, [b"pmessage", pattern, channel, message])
        return receivers

    def spublish(self, channel: bytes, message: bytes) -> int:
        self.messages_published += 1
        return self._deliver(self.shard_channels.get(channel), [b"smessage", channel, message])

    def _deliver(self, subscribers: dict | None, parts: list) -> int:
        if not subscribers:
            return 0
        receivers = list(subscribers)   # a copy: a delivery may end a subscription
        self.deliver_all(receivers, Frames(parts))
        return len(receivers)

    # -- PUBSUB introspection ----------------------------------------------------------------

    def active_channels(self, pattern: bytes | None = None, shard: bool = False) -> list[bytes]:
        table = self.shard_channels if shard else self.channels
        if pattern is None:
            return list(table)
        match = compile_pattern(pattern)
        return [channel for channel in table if match(channel) is not None]

    def subscriber_count(self, channel: bytes, shard: bool = False) -> int:
        return len((self.shard_channels if shard else self.channels).get(channel, ()))

    def pattern_count(self) -> int:
        return len(self.patterns)


class Frames:
    """One message, encoded at most once for each protocol version (the first
    subscriber who speaks it has it encoded): `for_protocol(resp)`, or `encoded[resp]`
    once it has been."""

    __slots__ = ("parts", "encoded")

    def __init__(self, parts: list):
        self.parts = parts
        self.encoded = [None, None, None, None]

    def for_protocol(self, resp: int) -> bytes:
        frame = self.encoded[resp]
        if frame is None:
            frame = self.encoded[resp] = encode(Push(self.parts), resp)
        return frame
