"""Server-assisted client-side caching (CLIENT TRACKING), as Redis 7.0 does it.

A client that caches values locally asks the server to tell it when they go stale. Two
modes:

* default: the server remembers which keys each tracking client read (the keys of the
  read-only commands it ran) and, when one of them changes, sends that client one
  invalidation and forgets the pair: tracking is one-shot, a client must read the key
  again to hear about the next change. OPTIN remembers only the reads that follow
  CLIENT CACHING YES; OPTOUT all but those that follow CLIENT CACHING NO.
* BCAST: nothing is remembered; a client hears of every changed key that starts with
  one of its prefixes (every key without one). Changes are gathered per prefix and sent
  once per turn of the event loop, as Redis does before it sleeps.

An invalidation is the push `>2 invalidate [key...]` (a null instead of the keys when
FLUSHALL or FLUSHDB drops everything). With REDIRECT the pushes go to another
connection; a RESP2 one gets them as pub/sub messages on `__redis__:invalidate` if it
is subscribed to anything. NOLOOP spares a client the invalidations of its own writes.

As in Redis, keys are tracked by name across all databases, and the table is lazy:
the reads of a client that stopped tracking or went away stay until the key changes.

This module knows nothing of sockets. A client is any object with `id`, `resp`,
`tracking` (its Mode, or None), `deliver(frame)` and `subscriptions_count()`.
"""

from __future__ import annotations

from ..resp import Encoded, OrderedSet, Push, encode

INVALIDATE_CHANNEL = b"__redis__:invalidate"
# "Everything is stale" is a null in the protocol of the tracking client, even when a
# redirect target of the other protocol receives it: Redis sends it so.
_EVERYTHING = {2: Encoded(b"$-1\r\n"), 3: Encoded(b"_\r\n")}


class Mode:
    """How one client tracks: the options of its CLIENT TRACKING ON."""

    __slots__ = ("redirect", "bcast", "optin", "optout", "noloop", "caching",
                 "broken_redirect", "prefixes")

    def __init__(self):
        self.redirect = 0               # the id invalidations go to; 0 for the client itself
        self.bcast = False
        self.optin = False
        self.optout = False
        self.noloop = False
        self.caching = False            # CLIENT CACHING given for the next command
        self.broken_redirect = False    # the redirect target was found gone
        self.prefixes: set[bytes] = set()

    def remembers_reads(self) -> bool:
        if self.bcast:
            return False
        if self.optin:
            return self.caching
        if self.optout:
            return not self.caching
        return True


class _Prefix:
    """A BCAST prefix: who listens to it, and the keys under it changed this turn, each
    with the tracking client that changed it last (for NOLOOP)."""

    __slots__ = ("clients", "changed")

    def __init__(self):
        self.clients: dict = {}         # an ordered set
        self.changed: dict[bytes, object] = {}


class Tracking:
    def __init__(self, keyspace, clients: dict, schedule):
        self.keyspace = keyspace
        self.clients = clients          # id -> client, to find readers and redirect targets
        self.schedule = schedule        # runs a callback later in this turn of the loop
        self.readers: dict[bytes, dict[int, None]] = {}   # key -> ids of clients that read it
        self.total_items = 0            # (key, reader) pairs, for INFO
        self.prefixes: dict[bytes, _Prefix] = {}
        self.tracking_clients: dict = {}    # an ordered set
        self.broadcast_scheduled = False
        # The tracking client whose command is running: its own invalidations wait until
        # its reply is written (`command_done`), and NOLOOP needs to know who writes.
        self.executing = None
        self.deferred: list = []        # keys (None: everything) for `executing`

    def _refresh(self) -> None:
        # The keyspace calls us on every change only while there is something to tell.
        self.keyspace.tracking = self if self.readers or self.prefixes else None

    # -- turning tracking on and off -----------------------------------------------------

    def enable(self, client, redirect: int, bcast: bool, optin: bool, optout: bool,
               noloop: bool, prefixes: list[bytes]) -> None:
        mode = client.tracking or Mode()
        mode.redirect = redirect
        mode.bcast, mode.optin, mode.optout, mode.noloop = bcast, optin, optout, noloop
        mode.broken_redirect = False
        if bcast:
            # Re-enabling adds prefixes to those the client has, as in Redis.
            for prefix in prefixes or [b""]:
                mode.prefixes.add(prefix)
                self.prefixes.setdefault(prefix, _Prefix()).clients[client] = None
        self.tracking_clients[client] = None
        client.tracking = mode
        self._refresh()

    def disable(self, client) -> None:
        mode = client.tracking
        if mode is None:
            return
        for prefix in mode.prefixes:
            state = self.prefixes[prefix]
            del state.clients[client]
            if not state.clients:
                del self.prefixes[prefix]
        del self.tracking_clients[client]
        client.tracking = None
        self._refresh()

    def prefix_conflict(self, client, prefixes: list[bytes]) -> str | None:
        """Redis's error if two prefixes of a client overlap (one starts the other: they
        would report the same keys), else None."""
        held = client.tracking.prefixes if client.tracking else ()
        held = sorted(held)
        for i, prefix in enumerate(prefixes):
            for other in held:
                if _overlap(prefix, other):
                    return (f"ERR Prefix '{_text(prefix)}' overlaps with an existing prefix "
                            f"'{_text(other)}'. Prefixes for a single client must not overlap.")
            for other in prefixes[i + 1:]:
                if _overlap(prefix, other):
                    return (f"ERR Prefix '{_text(prefix)}' overlaps with another provided "
                            f"prefix '{_text(other)}'. Prefixes for a single client must "
                            f"not overlap.")
        return None

    # -- reads and writes ------------------------------------------------------------------

    def remember(self, client, cmd, argv: list) -> None:
        """`client` ran the read-only `cmd`: tell it when the keys it read change."""
        mode = client.tracking
        if not mode.remembers_reads():
            return
        readers = self.readers
        for key in (argv[i] for i in cmd.key_indexes(argv)):
            ids = readers.get(key)
            if ids is None:
                ids = readers[key] = {}
            if client.id not in ids:
                ids[client.id] = None
                self.total_items += 1
        self._refresh()

    def command_done(self, client, in_multi: bool, was_client_command: bool) -> None:
        """After a tracking client's command and its reply: send the invalidations its
        own writes caused, and let CLIENT CACHING lapse (it covers one command, or one
        transaction, other CLIENT subcommands aside)."""
        deferred, self.deferred = self.deferred, []
        for keys in deferred:
            self._send(client, keys)
        mode = client.tracking
        if mode is not None and not in_multi and not was_client_command:
            mode.caching = False

    def limit_keys(self, max_keys: int) -> None:
        """tracking-table-max-keys (0: no limit): forget the oldest keys remembered
        beyond it, their readers told they changed, as Redis evicts from its table."""
        while max_keys and len(self.readers) > max_keys:
            self.invalidate(next(iter(self.readers)), by_client=False, broadcast=False)

    def invalidate(self, key: bytes, by_client: bool = True, broadcast: bool = True) -> None:
        """`key` changed (the keyspace calls this on every change while we track). A
        change that no client made (an expiry) is news to every client, NOLOOP or not.
        The client whose command is running hears it after that command's reply, as in
        Redis 7 (tracking_pending_keys), so as not to split the reply."""
        executing = self.executing if by_client else None
        for prefix, state in self.prefixes.items() if broadcast else ():
            if key.startswith(prefix):
                state.changed[key] = executing
                if not self.broadcast_scheduled:
                    self.broadcast_scheduled = True
                    self.schedule(self._broadcast)
        ids = self.readers.pop(key, None)
        if ids is None:
            return
        self.total_items -= len(ids)
        clients = self.clients
        for client_id in ids:
            client = clients.get(client_id)
            if client is None or client.tracking is None or client.tracking.bcast:
                continue
            if client is self.executing:
                if executing is None or not client.tracking.noloop:
                    self.deferred.append([key])
            else:
                self._send(client, [key])
        self._refresh()

    def flushed(self) -> None:
        """FLUSHALL or FLUSHDB: every tracking client hears that everything is stale."""
        for client in list(self.tracking_clients):
            if client is self.executing:
                self.deferred.append(None)
            else:
                self._send(client, None)
        self.readers.clear()
        self.total_items = 0
        self._refresh()

    def _broadcast(self) -> None:
        """Send BCAST clients this turn's changed keys, one message per prefix."""
        self.broadcast_scheduled = False
        for prefix in sorted(self.prefixes):
            state = self.prefixes[prefix]
            if not state.changed:
                continue
            keys = sorted(state.changed)
            for client in list(state.clients):
                if client.tracking.noloop:
                    theirs = [key for key in keys if state.changed[key] is not client]
                    if theirs:
                        self._send(client, theirs)
                else:
                    self._send(client, keys)
            state.changed = {}

    def _send(self, client, keys: list | None) -> None:
        """One invalidation for `client`, to it or to its redirect target."""
        mode = client.tracking
        if mode is None:            # turned off since (its deferred invalidations lapse)
            return
        target = client
        if mode.redirect:
            target = self.clients.get(mode.redirect)
            if target is None:
                # Only a RESP3 client can be told, in a push of its own.
                mode.broken_redirect = True
                if client.resp == 3:
                    client.deliver(encode(Push([b"tracking-redir-broken", mode.redirect]), 3))
                return
        if keys is None:
            keys = _EVERYTHING[client.resp]
        if target.resp == 3:
            target.deliver(encode(Push([b"invalidate", keys]), 3))
        elif mode.redirect and target.subscriptions_count():
            # A RESP2 target in pub/sub mode hears it as a message: even when the
            # redirect is to the client itself (cashews subscribes so on one connection)
            target.deliver(encode(Push([b"message", INVALIDATE_CHANNEL, keys]), 2))
        # else a RESP2 client without a redirect: it has no way to be told

    # -- introspection -----------------------------------------------------------------------

    def info(self, client) -> dict:
        """CLIENT TRACKINGINFO."""
        mode = client.tracking
        if mode is None:
            return {b"flags": OrderedSet([b"off"]), b"redirect": -1, b"prefixes": []}
        flags = [b"on"]
        if mode.bcast:
            flags.append(b"bcast")
        if mode.optin:
            flags += [b"optin"] + ([b"caching-yes"] if mode.caching else [])
        if mode.optout:
            flags += [b"optout"] + ([b"caching-no"] if mode.caching else [])
        if mode.noloop:
            flags.append(b"noloop")
        if mode.broken_redirect:
            flags.append(b"broken_redirect")
        return {b"flags": OrderedSet(flags), b"redirect": mode.redirect,
                b"prefixes": sorted(mode.prefixes)}


def _overlap(a: bytes, b: bytes) -> bool:
    return a.startswith(b) or b.startswith(a)


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")
