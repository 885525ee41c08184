"""Pub/sub commands: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH, PUBSUB.

The broker (fromscratch.pubsub) keeps the subscriptions; here the commands turn them
into Redis's confirmations. Each channel is confirmed with its own frame (an array in
RESP2, a push in RESP3) carrying the count of subscriptions the client holds after it:
channels and patterns together, shard channels on their own, as Redis counts them.
In RESP2 a subscribed client may only (un)subscribe, PING, QUIT or RESET; the request
loop enforces that (see Client._call_carefully).
"""

from __future__ import annotations

from ...resp import Push, Replies
from ..persistence.propagation import PROPAGATE_REPLICAS
from ..table import command, container, subcommand


def _confirm(kind: bytes, name: bytes | None, count: int) -> Push:
    return Push([kind, name, count])


def _regular_count(client) -> int:
    return len(client.channels) + len(client.patterns)


def _subscribe(client, argv, kind: bytes, mine: set, add, counter) -> Replies:
    replies = Replies()
    for name in argv[1:]:
        if name not in mine:
            mine.add(name)
            add(client, name)
        replies.append(_confirm(kind, name, counter(client)))
    client.refresh_lane()
    return replies


def _unsubscribe(client, argv, kind: bytes, mine: set, remove, counter) -> Replies:
    names = argv[1:] or list(mine)
    replies = Replies()
    for name in names:
        if name in mine:
            mine.discard(name)
            remove(client, name)
        replies.append(_confirm(kind, name, counter(client)))
    if not names:
        replies.append(_confirm(kind, None, counter(client)))
    client.refresh_lane()
    return replies


_PUBSUB_FLAGS = "pubsub noscript loading stale"


@command("subscribe", arity=-2, flags=_PUBSUB_FLAGS, group="pubsub", since="2.0.0",
         summary="Listens for messages published to channels.",
         complexity="O(N) where N is the number of channels to subscribe to.",
         syntax="channel...")
def subscribe(client, argv):
    return _subscribe(client, argv, b"subscribe", client.channels, client.kv.broker.subscribe,
                      _regular_count)


@command("unsubscribe", arity=-1, flags=_PUBSUB_FLAGS, group="pubsub", since="2.0.0",
         summary="Stops listening to messages posted to channels.",
         complexity="O(N) where N is the number of channels to unsubscribe.",
         syntax="[channel...]")
def unsubscribe(client, argv):
    return _unsubscribe(client, argv, b"unsubscribe", client.channels,
                        client.kv.broker.unsubscribe, _regular_count)


@command("psubscribe", arity=-2, flags=_PUBSUB_FLAGS, group="pubsub", since="2.0.0",
         summary="Listens for messages published to channels that match one or more "
                 "patterns.", complexity="O(N) where N is the number of patterns to "
                                         "subscribe to.", syntax="pattern...")
def psubscribe(client, argv):
    return _subscribe(client, argv, b"psubscribe", client.patterns,
                      client.kv.broker.psubscribe, _regular_count)


@command("punsubscribe", arity=-1, flags=_PUBSUB_FLAGS, group="pubsub", since="2.0.0",
         summary="Stops listening to messages published to channels that match one or "
                 "more patterns.", complexity="O(N) where N is the number of patterns to "
                                              "unsubscribe.", syntax="[pattern...]")
def punsubscribe(client, argv):
    return _unsubscribe(client, argv, b"punsubscribe", client.patterns,
                        client.kv.broker.punsubscribe, _regular_count)


def _shard_count(client) -> int:
    return len(client.shard_channels)


@command("ssubscribe", arity=-2, flags=_PUBSUB_FLAGS, keys=(1, -1, 1), group="pubsub",
         since="7.0.0", summary="Listens for messages published to shard channels.",
         complexity="O(N) where N is the number of shard channels to subscribe to.",
         syntax="shardchannel...")
def ssubscribe(client, argv):
    return _subscribe(client, argv, b"ssubscribe", client.shard_channels,
                      client.kv.broker.ssubscribe, _shard_count)


@command("sunsubscribe", arity=-1, flags=_PUBSUB_FLAGS, keys=(1, -1, 1), group="pubsub",
         since="7.0.0", summary="Stops listening to messages posted to shard channels.",
         complexity="O(N) where N is the number of shard channels to unsubscribe.",
         syntax="[shardchannel...]")
def sunsubscribe(client, argv):
    return _unsubscribe(client, argv, b"sunsubscribe", client.shard_channels,
                        client.kv.broker.sunsubscribe, _shard_count)


def unsubscribe_everything(client) -> None:
    """On disconnect and RESET: leave every channel, pattern and shard channel."""
    broker = client.kv.broker
    for channel in client.channels:
        broker.unsubscribe(client, channel)
    for pattern in client.patterns:
        broker.punsubscribe(client, pattern)
    for channel in client.shard_channels:
        broker.sunsubscribe(client, channel)
    client.channels.clear()
    client.patterns.clear()
    client.shard_channels.clear()
    client.refresh_lane()


@command("publish", arity=3, flags="pubsub loading stale fast may_replicate", group="pubsub",
         since="2.0.0", summary="Posts a message to a channel.",
         complexity="O(N+M) where N is the number of clients subscribed to the receiving "
                    "channel and M is the total number of subscribed patterns (by any client).",
         syntax="channel message")
def publish(client, argv):
    _to_replicas(client, argv)
    return client.kv.broker.publish(argv[1], argv[2])


def _to_replicas(client, argv) -> None:
    """As Redis (outside cluster mode), a message is passed on to the replicas, whose
    own subscribers get it too; the append-only file does not keep it."""
    kv = client.kv
    if kv.replication.streaming:
        kv.also_propagate(client.db.index, argv, PROPAGATE_REPLICAS)


@command("spublish", arity=3, flags="pubsub loading stale fast may_replicate", keys=(1, 1, 1),
         group="pubsub", since="7.0.0", summary="Post a message to a shard channel",
         complexity="O(N) where N is the number of clients subscribed to the receiving "
                    "shard channel.", syntax="shardchannel message")
def spublish(client, argv):
    _to_replicas(client, argv)
    return client.kv.broker.spublish(argv[1], argv[2])


container("pubsub", group="pubsub", since="2.8.0",
          summary="A container for Pub/Sub commands.")


def _optional_pattern(argv) -> bytes | None:
    return argv[2] if len(argv) > 2 else None


@subcommand("pubsub", "channels", arity=-2, flags="pubsub loading stale", since="2.8.0",
            summary="Returns the active channels.",
            complexity="O(N) where N is the number of active channels, and assuming constant "
                       "time pattern matching (relatively short channels and patterns)",
            syntax="[pattern]")
def pubsub_channels(client, argv):
    return client.kv.broker.active_channels(_optional_pattern(argv))


@subcommand("pubsub", "shardchannels", arity=-2, flags="pubsub loading stale", since="7.0.0",
            summary="Returns the active shard channels.",
            complexity="O(N) where N is the number of active shard channels, and assuming "
                       "constant time pattern matching (relatively short shard channels).",
            syntax="[pattern]")
def pubsub_shardchannels(client, argv):
    return client.kv.broker.active_channels(_optional_pattern(argv), shard=True)


@subcommand("pubsub", "numsub", arity=-2, flags="pubsub loading stale", since="2.8.0",
            summary="Returns a count of subscribers to channels.",
            complexity="O(N) for the NUMSUB subcommand, where N is the number of requested "
                       "channels", syntax="[channel...]")
def pubsub_numsub(client, argv):
    broker = client.kv.broker
    return [item for channel in argv[2:] for item in (channel, broker.subscriber_count(channel))]


@subcommand("pubsub", "shardnumsub", arity=-2, flags="pubsub loading stale", since="7.0.0",
            summary="Returns the count of subscribers of shard channels.",
            complexity="O(N) for the SHARDNUMSUB subcommand, where N is the number of "
                       "requested shard channels", syntax="[shardchannel...]")
def pubsub_shardnumsub(client, argv):
    broker = client.kv.broker
    return [item for channel in argv[2:]
            for item in (channel, broker.subscriber_count(channel, shard=True))]


@subcommand("pubsub", "numpat", arity=2, flags="pubsub loading stale", since="2.8.0",
            summary="Returns a count of unique pattern subscriptions.", complexity="O(1)")
def pubsub_numpat(client, argv):
    return client.kv.broker.pattern_count()
