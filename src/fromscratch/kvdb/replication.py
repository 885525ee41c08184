"""The replication stream: what a primary sends the clients that called SYNC or PSYNC.

A replica first gets the whole dataset as one bulk payload (`$<length>\\r\\n` then the
bytes, with no CRLF after them), then, for as long as it stays connected, every change
as the command that makes it: the same commands the append-only file gets
(persistence/propagation.py), a SELECT whenever the database changes, and a PING every
`repl-ping-replica-period` seconds. This is Redis's stream, byte for byte: the payload
is an RDB file (persistence/rdb.py) with the AUX fields Redis writes for a replica, so a
real Redis can be our replica, and `redis-cli --rdb` saves our dataset as a dump.rdb.

As Redis, a primary streams a diskless payload between `$EOF:<40 random bytes>`
markers as a forked child writes it (repl-diskless-sync, to replicas that say `capa
eof`: diskless.py), or else has a BGSAVE child save dump.rdb and sends that file with its
length first; replicas that come while such a BGSAVE runs share it. A client may ask
for part of the dataset (REPLCONF rdb-filter-only: the function libraries, or nothing,
as `redis-cli --replica` does), or for the payload alone (REPLCONF rdb-only 1, as
`redis-cli --rdb` does): it is then built in memory, sent at once, and the client
disconnected once the payload is sent.

As in Redis, the stream is encoded once for all replicas, so they share one notion of
the selected database; a new replica resets it, so that its stream starts with SELECT.
`offset` counts the bytes of the stream so far (master_repl_offset): PSYNC answers
`+FULLRESYNC <replid> <offset>`, and a replica counts from there every byte it
processes. Replicas report how far they got with REPLCONF ACK (a real Redis every
second); WAIT blocks a client until enough replicas have acknowledged its last write,
asking them with REPLCONF GETACK in the stream. The last `repl-backlog-size` bytes of
the stream are kept in a backlog: a replica that lost its link asks to continue (PSYNC
<our replid> <the next byte it needs>) and, if the backlog still holds that byte, gets
`+CONTINUE` and the stream from there, instead of the whole dataset again.

As in Redis 7, the backlog and the replicas waiting for their sync share one buffer:
the stream since such a replica's payload was taken stays in the backlog, however big
the backlog grows past repl-backlog-size meanwhile, and the replica gets it from there
once it has its payload (any other replica may continue from it too). A replica's
output buffer, for client-output-buffer-limit's replica class, is the stream it has
yet to get (the payload is not counted, as Redis sends it apart).
"""

from __future__ import annotations

import io
import logging
import os
import time

from ..resp import encode_command
from .diskless import DisklessTransfer
from .persistence.rdb import write_rdb

log = logging.getLogger("fromscratch.kvdb")

PING = encode_command([b"PING"])
BACKLOG_MIN_SIZE = 16 * 1024        # as Redis: a smaller repl-backlog-size is raised to it
GETACK = encode_command([b"REPLCONF", b"GETACK", b"*"])


class DiskSync:
    """A BGSAVE for replicas: the stream's offset at its fork, and who waits for it."""

    __slots__ = ("offset", "clients")

    def __init__(self, offset: int, clients: list):
        self.offset = offset
        self.clients = clients


class Replication:
    def __init__(self, kv):
        self.kv = kv
        self.replicas: list = []        # clients that receive the stream
        # The history the stream belongs to: its id (a replica takes its primary's),
        # and the one before with where it ended (for replicas that followed us then).
        self.replid = kv.run_id
        self.replid2 = "0" * 40
        self.second_offset = -1
        self.offset = 0                 # bytes of stream sent so far
        self.restored = False           # a replica's id and offset came from its snapshot
        self.selected_db = -1           # the database the stream last SELECTed
        self.last_ping = time.monotonic()
        # WAIT and WAITAOF: (client, its block state, what says whether it may go)
        self.waiting: list = []
        self.awaiting_sync: list = []   # (client, psync) waiting for a diskless sync
        self.transfer: DisklessTransfer | None = None       # the one under way
        self.awaiting_disk: list = []   # (client, psync) waiting for the next BGSAVE
        self.disk_sync: DiskSync | None = None              # the BGSAVE for replicas
        # Replicas of a diskless transfer, until they acknowledge having it, or of a
        # BGSAVE, until it is done, by the offset of the first byte of the stream they
        # need (what came after their payload was taken): the backlog keeps it for them.
        self.held: dict = {}            # client -> offset
        self.sync_progress: dict = {}   # client -> (when its socket last took bytes, how
                                        # many were queued for it then)
        self.awaiting_since = 0.0       # when the first of them came
        self.last_newline = 0.0         # when they last got a newline
        self.ack_requested = False
        self.reset_stats()
        # The backlog: the stream's last repl-backlog-size bytes (or more, for the held
        # replicas), kept from the first replica on (and for repl-backlog-ttl seconds
        # after the last one leaves), so that a replica that reconnects can continue
        # where it was (PSYNC).
        self.backlog: bytearray | None = None
        self.alone_since = time.monotonic()     # when the last replica left (or we began)

    @property
    def streaming(self) -> bool:
        """Whether changes are encoded into the stream: for replicas, or the backlog."""
        return self.backlog is not None

    def reset_stats(self) -> None:
        self.bytes_sent = 0             # to the replicas, payloads included
        self.full_syncs = 0
        self.partial_syncs = 0          # PSYNCs continued from the backlog
        self.failed_partial_syncs = 0   # PSYNCs that named a history we do not have

    def backlog_first_offset(self) -> int:
        """The offset of the backlog's first byte (Redis counts from 1)."""
        return self.offset - len(self.backlog) + 1 if self.backlog is not None else 0

    def can_continue(self, client, replid: bytes, wanted: int) -> bool:
        """Whether `client`'s PSYNC <replid> <wanted> can continue from the backlog: it
        names our history and the backlog still holds everything from byte `wanted` on.
        If not, the log says why, as Redis's does."""
        ours, previous = self.replid.encode(), self.replid2.encode()
        if replid != ours and (replid != previous or wanted > self.second_offset):
            if replid == b"?":
                log.info("Full resync requested by replica %s", client.replica_name)
            elif replid not in (ours, previous):
                log.info("Partial resynchronization not accepted: Replication ID mismatch "
                         "(Replica asked for '%s', my replication IDs are '%s' and '%s')",
                         replid.decode("utf-8", "replace"), self.replid, self.replid2)
            else:
                log.info("Partial resynchronization not accepted: Requested offset for "
                         "second ID was %d, but I can reply up to %d", wanted,
                         self.second_offset)
            return False
        if self.backlog is None or not self.backlog_first_offset() <= wanted <= self.offset + 1:
            log.info("Unable to partial resync with replica %s for lack of backlog "
                     "(Replica request was: %d).", client.replica_name, wanted)
            if wanted > self.offset + 1:
                log.warning("Warning: replica %s tried to PSYNC with an offset that is "
                            "greater than the master replication offset.",
                            client.replica_name)
            return False
        return True

    def continue_from(self, client, wanted: int) -> None:
        """A partial resynchronization: +CONTINUE, then the stream from byte `wanted`."""
        self.partial_syncs += 1
        client.out.append(b"+CONTINUE %s\r\n" % self.replid.encode())
        self._add(client, wanted)
        log.info("Partial resynchronization request from %s accepted. Sending %d bytes of "
                 "backlog starting from offset %d.", client.replica_name,
                 self.offset + 1 - wanted, wanted)

    def attach(self, client, psync: bool) -> None:
        """Make `client` a replica: send it the dataset, then the stream from here (or,
        if it asked for the payload alone, only the dataset).

        With repl-diskless-sync, a replica that takes the diskless form (REPLCONF capa
        eof) waits first, unanswered, as in Redis: the transfer starts
        repl-diskless-sync-delay seconds after the first such replica came (or once
        repl-diskless-sync-max-replicas wait), so that those arriving meanwhile share
        it: a forked child streams it to them (start_awaited_syncs). Otherwise a
        BGSAVE child saves the dataset to disk and the file is sent (_sync_from_disk);
        only a client that asked for a part of it or the payload alone gets it built in
        memory and sent at once."""
        if client.replica_capa_eof and self.kv.config["repl-diskless-sync"]:
            if self.kv.config["repl-diskless-sync-delay"] and not self._child_busy():
                log.info("Delay next BGSAVE for diskless SYNC")
            client.replica_ack_time = time.time()         # INFO's lag counts from here
            self.awaiting_sync.append((client, psync))
            if len(self.awaiting_sync) == 1:
                self.awaiting_since = time.monotonic()
            self.start_awaited_syncs()
        elif client.replica_rdb_only or client.replica_rdb_filter is not None:
            self._sync(client, psync)
        else:
            self._sync_from_disk(client, psync)

    # -- a full sync from a BGSAVE ------------------------------------------------------

    def _sync_from_disk(self, client, psync: bool) -> None:
        """As Redis with a disk target: share the BGSAVE for replicas under way (and
        the stream since it forked), or wait for the next, or start one."""
        client.replica_ack_time = time.time()
        disk = self.disk_sync
        if disk is not None and disk.clients:
            log.info("Waiting for end of BGSAVE for SYNC")
            self._begin_full_sync(client, psync, disk.offset)
            self._mark_replica(client)
            self.held[client] = disk.offset + 1
            disk.clients.append(client)
        elif self._child_busy():
            log.info("Can't attach the replica to the current BGSAVE. Waiting for next "
                     "BGSAVE for SYNC")
            self.awaiting_disk.append((client, psync))
        else:
            self._start_disk_sync([(client, psync)])

    def _child_busy(self) -> bool:
        """Whether a sync must wait to fork its child: as in Redis, one child at a time
        (a BGSAVE, an AOF rewrite, a diskless transfer)."""
        kv = self.kv
        return kv.snapshotter.in_progress or bool(kv.aof_rewriting) or self.transfer is not None

    def _start_disk_sync(self, entries: list) -> None:
        log.info("Starting BGSAVE for SYNC with target: disk")
        self.disk_sync = DiskSync(self.offset, [client for client, _psync in entries])
        for client, psync in entries:
            self._begin_full_sync(client, psync)
            self._mark_replica(client)
            self.held[client] = self.offset + 1
        self._keep_backlog()
        self.selected_db = -1
        try:
            self.kv.snapshotter.start_background(self._write_payload_in_child,
                                                 self._disk_sync_done)
        except OSError as exc:
            log.warning("Can't save in background: fork: %s", exc.strerror)
            self._disk_sync_done(False)

    def _disk_sync_done(self, ok: bool) -> None:
        """The BGSAVE for replicas ended: each gets the file (`$<length>` and the bytes),
        then what the stream brought meanwhile; or, if it failed, is closed to sync
        again."""
        disk, self.disk_sync = self.disk_sync, None
        payload = b""
        if ok:
            try:
                with open(self.kv.snapshotter.path, "rb") as handle:
                    payload = handle.read()
            except OSError as exc:
                log.warning("SYNC failed. Can't open/stat DB after BGSAVE: %s", exc.strerror)
                ok = False
        for client in disk.clients:
            start = self.held.pop(client, None)
            if start is None or client.closed:
                continue
            if not ok:
                self._sync_failed(client)
                continue
            client.out.append(b"$%d\r\n" % len(payload))
            client.out.append(payload)
            self._add(client, start)
            log.info("Synchronization with replica %s succeeded", client.replica_name)
        self._trim_backlog()
        self._start_awaited_disk_syncs()

    def _start_awaited_disk_syncs(self) -> None:
        if self.awaiting_disk and not self._child_busy():
            entries = [(client, psync) for client, psync in self.awaiting_disk
                       if not client.closed]
            self.awaiting_disk = []
            if entries:
                self._start_disk_sync(entries)

    def start_awaited_syncs(self) -> None:
        """From the cron, and as replicas come: start the waiting syncs if it is time
        (and no transfer is under way: those arriving during one wait for the next).
        They share one diskless transfer (diskless.py); one that asked for a part of
        the payload or the payload alone gets it built in memory."""
        config = self.kv.config
        most = config["repl-diskless-sync-max-replicas"]
        waited = time.monotonic() - self.awaiting_since
        if not self.awaiting_sync or self._child_busy() or (
                waited < config["repl-diskless-sync-delay"]
                and not (most and len(self.awaiting_sync) >= most)):
            return
        awaiting, self.awaiting_sync = self.awaiting_sync, []
        sharing = []
        for client, psync in awaiting:
            if client.replica_rdb_only or client.replica_rdb_filter is not None:
                self._sync(client, psync)
                continue
            self._begin_full_sync(client, psync)
            self._mark_replica(client)
            sharing.append(client)
        if sharing:
            self._keep_backlog()
            self.selected_db = -1
            for client in sharing:          # what changes meanwhile waits for them
                self.held[client] = self.offset + 1
            self.transfer = DisklessTransfer(self, sharing, self._write_payload_in_child)

    def transfer_finished(self, transfer, ok: bool) -> None:
        """The diskless transfer is over. As in Redis, its replicas get the stream only
        once they acknowledge it (REPLCONF ACK: a replica sends one as soon as it has
        loaded the payload): what changed since the payload was taken first."""
        self.transfer = None
        for client in transfer.clients:
            if not ok:
                self.held.pop(client, None)
                self._sync_failed(client)
                continue
            log.info("Streamed RDB transfer with replica %s succeeded (socket). Waiting for "
                     "REPLCONF ACK from slave to enable streaming", client.replica_name)
            log.info("Synchronization with replica %s succeeded", client.replica_name)
            if client.replica_acked_payload:
                self._start_stream(client)  # its ACK came before we saw the pipe end
        self._trim_backlog()
        self.start_awaited_syncs()

    @staticmethod
    def _sync_failed(client) -> None:
        log.warning("SYNC failed. BGSAVE child returned an error")
        client.close()                      # it syncs again

    def _start_stream(self, client) -> None:
        self.sync_progress.pop(client, None)
        start = self.held.pop(client, None)
        if start is None:                   # dropped with another history
            return
        self._add(client, start)
        self._trim_backlog()

    def _begin_full_sync(self, client, psync: bool, offset: int | None = None) -> None:
        """+FULLRESYNC: the payload will hold the stream up to `offset` (now's)."""
        self.full_syncs += 1
        if psync:
            offset = self.offset if offset is None else offset
            client.out.append(b"+FULLRESYNC %s %d\r\n" % (self.replid.encode(), offset))

    def _sync(self, client, psync: bool) -> None:
        """A full sync with the payload built in memory, sent at once."""
        kv = self.kv
        payload = self.payload(client.replica_rdb_filter)
        self._begin_full_sync(client, psync)
        client.out.append(b"$%d\r\n" % len(payload))
        client.out.append(payload)
        if client.replica_rdb_only:
            # The payload is all it asked for: Redis closes the link once it is sent.
            client.close_after_reply = True
            kv.flush_soon(client)
            return
        self.selected_db = -1
        self._add(client, self.offset + 1)

    @staticmethod
    def _mark_replica(client) -> None:
        client.replica_since = client.replica_ack_time = time.time()
        client.refresh_lane()               # its commands' answers are watched (reply())

    def _add(self, client, stream_from: int) -> None:
        """`client` is online: it has its payload (or continues), and gets the stream
        from offset `stream_from` on, out of the backlog, which holds it."""
        self._mark_replica(client)
        if stream_from <= self.offset:
            client.out.append(bytes(self.backlog[stream_from - self.backlog_first_offset():]))
        client.replica_stream_from = stream_from
        self.replicas.append(client)
        self._keep_backlog()
        self.kv.flush_soon(client)
        self.kv.refresh_write_state()

    def _keep_backlog(self) -> None:
        if self.backlog is None:
            self.backlog = bytearray()
            self.kv.refresh_lanes()           # changes are encoded into the stream now

    def _trim_backlog(self) -> None:
        """Keep the stream's last repl-backlog-size bytes, or more if a held replica
        still needs them."""
        backlog = self.backlog
        if backlog is None:
            return
        keep = max(self.kv.config["repl-backlog-size"], BACKLOG_MIN_SIZE)
        if self.held:
            keep = max(keep, self.offset + 1 - min(self.held.values()))
        excess = len(backlog) - keep
        if excess <= 0:
            return
        if excess > keep:               # mostly gone (a held replica's share): let the
            self.backlog = backlog[excess:]         # memory go, keeping a copy of the rest
        else:
            del backlog[:excess]        # cheap: a bytearray drops its head in place

    def unsent(self, client, pending: int = 0) -> int:
        """The stream replica `client` has yet to get, with `pending` bytes about to
        be written to it: Redis's measure of a replica's output buffer. The payload is
        not counted (Redis sends it apart from the buffer); the output after it is."""
        start = self.held.get(client)
        if start is not None:
            return self.offset + 1 - start
        queued = pending + client.output_buffer_size
        return min(queued, self.offset + 1 - client.replica_stream_from)

    def buffer_memory(self) -> int:
        """What the stream takes (Redis's mem_total_replication_buffers): the backlog,
        which holds what the held replicas need, and what the others have yet to get."""
        backlog = len(self.backlog) if self.backlog is not None else 0
        return backlog + sum(self.unsent(client) for client in self.replicas)

    def payload(self, parts: frozenset[bytes] | None = None) -> bytes:
        """The dataset as an RDB file, as Redis writes it for a replica: its AUX fields
        say where the stream starts (repl-id, repl-offset, and repl-stream-db, the
        database the stream last selected, or 0: the new replica's stream will start
        with a SELECT anyway). `parts` is what REPLCONF rdb-filter-only kept
        ("functions", or nothing), or None for everything."""
        buffer = io.BytesIO()
        self._write_payload(buffer, parts)
        return buffer.getvalue()

    def _write_payload(self, handle, parts=None, **writing) -> None:
        kv = self.kv
        aux = kv.rdb_header_fields() + self.stream_fields() + [("aof-base", 0)]
        databases = kv.keyspace.dbs if parts is None else ()
        libraries = kv.functions.codes() if parts is None or b"functions" in parts else ()
        write_rdb(handle, databases, libraries, aux, kv.config["maxmemory-policy"],
                  checksum=kv.config["rdbchecksum"], **writing)

    def _write_payload_in_child(self, handle) -> None:
        # Only a child may take its time (rdb-key-save-delay): the server serves on.
        # Its pipe gets 16 KB pieces, as Redis's child writes them: the replicas see the
        # payload come, and a child whose parent died finds out at its next write.
        self._write_payload(handle, after_key=self.kv.after_key_hook(), piece_size=16 * 1024)

    def stream_db(self) -> int:
        """The database the stream is in now: ours, or while we follow a primary whose
        stream we pass on, the one its stream is in."""
        link = self.kv.primary_link
        if link is not None and link.stream_client is not None:
            return link.stream_client.db.index
        return max(self.selected_db, 0)

    def take_history(self, replid: str, offset: int) -> None:
        """A full sync from a primary: from now on our stream is its stream, passed on
        as it comes (pass_on), with its id and offsets, so that our replicas can
        continue from either of us."""
        self.replid, self.offset = replid, offset
        self.replid2, self.second_offset = "0" * 40, -1
        self.backlog = None                   # what it held was another history
        self.held.clear()                     # (its replicas were dropped: load_from_primary)
        self._keep_backlog()

    def continued_as(self, replid: str) -> None:
        """Our primary continued our history (+CONTINUE), maybe under a new id (it was
        promoted, or restarted): then the old one is kept as the one before, as Redis
        keeps it, and our own replicas are disconnected to learn the new id (they
        continue at once, with a partial resynchronization). Either way the stream is
        kept from here on, as Redis creates its backlog at a continue: promoted before
        our primary sends anything more, we can still be continued from."""
        if replid != self.replid:
            self.replid2, self.second_offset = self.replid, self.offset + 1
            self.replid = replid
            self.drop_replicas()
        self._keep_backlog()

    def pass_on(self, data: bytes) -> None:
        """Bytes of our primary's stream (whole commands), for our replicas."""
        self._keep_backlog()
        self._send(data)

    def stream_fields(self) -> list:
        """Where the stream has come to, as RDB AUX fields (name, value)."""
        return [("repl-stream-db", self.stream_db()), ("repl-id", self.replid),
                ("repl-offset", self.offset)]

    def save_info(self) -> list:
        """What a snapshot keeps of the stream (Redis's rdbPopulateSaveInfo): its
        stream_fields for a primary that keeps a backlog or a replica of a primary;
        nothing otherwise."""
        if self.backlog is None and self.kv.primary_link is None:
            return []
        return self.stream_fields()

    def restore(self, saved: dict, expired_keys: list, replica: bool) -> None:
        """At start-up, from the snapshot's save_info: continue the stream, as Redis
        does, so that the replicas need no full synchronization. A primary starts a
        new history whose predecessor is the saved one, up to the saved offset (its
        replicas continue with PSYNC <old id> <offset + 1>), with an empty backlog from
        there, into which the keys that expired while it was down go as DELs. A
        `replica` asks its primary to continue from the saved id and offset."""
        replid, offset = saved.get(b"repl-id", b""), saved.get(b"repl-offset", b"")
        if len(replid) != 40 or not offset.isdigit():
            return
        if replica:
            self.replid, self.offset = replid.decode(), int(offset)
            self.restored = True
            return
        self.replid2, self.second_offset = replid.decode(), int(offset) + 1
        self.offset = int(offset)
        self.backlog = None
        self._keep_backlog()
        self.alone_since = time.monotonic()       # repl-backlog-ttl counts from now
        delete = b"UNLINK" if self.kv.config["lazyfree-lazy-expire"] else b"DEL"
        self.feed([(db_index, [delete, key]) for db_index, key in expired_keys])

    def new_history(self) -> None:
        """REPLICAOF NO ONE: a primary of our own from here, with a new id; a replica
        that followed the old history up to here can still continue (PSYNC with the
        old id), and our own stream starts with a SELECT."""
        self.replid2, self.second_offset = self.replid, self.offset + 1
        self.replid = os.urandom(20).hex()
        self.selected_db = -1
        # repl-backlog-ttl counts from now, as in Redis: a replica promoted keeps its
        # backlog for the former siblings that are on their way.
        self.alone_since = time.monotonic()

    def drop_replicas(self) -> None:
        """Disconnect every replica (those waiting for their sync or receiving it too):
        each reconnects (and gets a full synchronization if our data was replaced
        meanwhile)."""
        for replica, _state in self.listed():
            replica.close()

    def stop_syncs(self) -> None:
        """At shutdown: stop the diskless transfer's child, and close the replicas
        waiting for a sync to start (before the BGSAVE child is killed, which would let
        the next start). Should the shutdown fail, they come back and sync again."""
        if self.transfer is not None:
            self.transfer.kill()
            self.transfer = None
        waiting = self.awaiting_sync + self.awaiting_disk
        self.awaiting_sync, self.awaiting_disk = [], []
        for client, _psync in waiting:
            client.close()

    def abort_transfer(self) -> None:
        """FLUSHALL, as Redis: the diskless transfer under way sends data that is gone;
        its child is killed, and its replicas sync again."""
        transfer = self.transfer
        if transfer is not None:
            transfer.kill()
            self.transfer_finished(transfer, False)

    def listed(self) -> list:
        """(client, state) of every replica, as INFO and ROLE list them: those waiting
        for their sync to start or receiving it (wait_bgsave: as Redis says of a
        diskless transfer), then the others (online)."""
        return ([(client, "wait_bgsave") for client, _psync
                 in self.awaiting_sync + self.awaiting_disk]
                + [(client, "wait_bgsave" if self._receiving(client) else "online")
                   for client in self.held]
                + [(client, "online") for client in self.replicas])

    def _drop_stalled(self, timeout: float) -> None:
        """A replica whose socket has taken nothing of its diskless sync for `timeout`
        seconds (repl-timeout) is dropped, as Redis drops it."""
        now = time.monotonic()
        for client in list(self.held):
            since, queued_then = self.sync_progress.get(client, (now, 0))
            queued = client.transport.get_write_buffer_size()
            if queued < queued_then or not queued:
                self.sync_progress[client] = (now, queued)      # it took some
            elif now - since > timeout:
                log.warning("Disconnecting timedout replica (full sync): %s",
                            client.replica_address)
                client.abort()
            else:
                self.sync_progress[client] = (since, queued)

    def _receiving(self, client) -> bool:
        """Whether `client` waits for its payload (a transfer or a BGSAVE under way)."""
        return ((self.transfer is not None and client in self.transfer.clients)
                or (self.disk_sync is not None and client in self.disk_sync.clients))

    def detach(self, client) -> None:
        """A client that is (or was about to be) a replica went away."""
        self.awaiting_sync = [(waiting, psync) for waiting, psync in self.awaiting_sync
                              if waiting is not client]
        self.awaiting_disk = [(waiting, psync) for waiting, psync in self.awaiting_disk
                              if waiting is not client]
        self.sync_progress.pop(client, None)
        if self.held.pop(client, None) is not None:
            self._trim_backlog()
        if self.transfer is not None:
            self.transfer.drop(client)
        disk = self.disk_sync
        if disk is not None and client in disk.clients:
            disk.clients.remove(client)
            # As Redis: a BGSAVE nobody waits for any more goes, unless save rules
            # want the file anyway.
            if not disk.clients and not self.kv.config["save"]:
                self.kv.snapshotter.kill_child()
        if client in self.replicas:
            self.replicas.remove(client)
            self.alone_since = time.monotonic()
            self.kv.refresh_write_state()

    def feed(self, ops: list[tuple[int, list[bytes]]]) -> None:
        """Send changes, each (database index, command), to every replica."""
        parts = []
        for db_index, argv in ops:
            if db_index != self.selected_db:
                parts.append(encode_command([b"SELECT", b"%d" % db_index]))
                self.selected_db = db_index
            parts.append(encode_command(argv))
        self._send(b"".join(parts))

    def good_replicas_missing(self) -> bool:
        """Whether fewer replicas than min-replicas-to-write have acknowledged the
        stream within min-replicas-max-lag seconds (then writes are refused)."""
        config = self.kv.config
        wanted, max_lag = config["min-replicas-to-write"], config["min-replicas-max-lag"]
        if not wanted or not max_lag:
            return False
        now = time.time()
        good = sum(1 for replica in self.replicas if now - replica.replica_ack_time <= max_lag)
        return good < wanted

    # -- acknowledgements and WAIT ---------------------------------------------------------

    def acked_count(self, offset: int) -> int:
        """How many replicas have acknowledged the stream up to `offset`."""
        return sum(1 for replica in self.replicas if replica.replica_acked >= offset)

    def fsynced_count(self, offset: int) -> int:
        """How many replicas have the stream up to `offset` on disk, in their
        append-only file (REPLCONF ACK ... FACK: Redis 7.2's replicas and ours say it)."""
        return sum(1 for replica in self.replicas if replica.replica_fsynced >= offset)

    def wait(self, client, state, progress) -> None:
        """`client` (blocked as `state`) waits until `progress()`, which gives whether
        it may go and what it answers (then, or at its timeout), says it may."""
        self.waiting.append((client, state, progress))
        self.request_acks()

    def serve_waiting(self) -> None:
        """After an acknowledgement or an fsync: answer the clients whose WAIT or
        WAITAOF is over; bring the others' timeout answers up to date."""
        still_waiting = []
        for client, state, progress in self.waiting:
            if client.blocked is not state:
                continue                          # timed out or gone
            done, reply = progress()
            if done:
                self.kv.blocking.wake(client, reply)
            else:
                state.timeout_reply = reply
                still_waiting.append((client, state, progress))
        self.waiting = still_waiting

    def request_acks(self) -> None:
        """Ask every replica where it is (REPLCONF GETACK), once per event loop turn
        however many ask."""
        if not self.ack_requested:
            self.ack_requested = True
            self.kv.loop.call_soon(self._send_getack)

    def _send_getack(self) -> None:
        self.ack_requested = False
        if self.replicas:
            self._send(GETACK)

    def acknowledged(self, replica, offset: int, fsynced: int | None = None) -> None:
        """REPLCONF ACK: `replica` has the stream up to `offset` (and up to `fsynced` on
        disk, if it says)."""
        if replica in self.held:
            replica.replica_acked_payload = True
            if not self._receiving(replica):
                self._start_stream(replica)
        replica.replica_acked = max(replica.replica_acked, offset)
        if fsynced is not None:
            replica.replica_fsynced = max(replica.replica_fsynced, fsynced)
        replica.replica_ack_time = time.time()
        self.serve_waiting()
        if self.kv.shutdown_wait is not None:
            self.kv.check_shutdown_wait()

    def cron(self) -> None:
        """Keep the replicas' links alive: a PING in the stream now and then, a newline
        a second to those waiting for their sync to start; drop one whose diskless sync
        has stalled. Drop the
        backlog when no replica has been there for repl-backlog-ttl seconds (a primary:
        a replica keeps it, for partial resynchronizations after a failover, as in
        Redis)."""
        now = time.monotonic()
        config = self.kv.config
        if self.held:
            self._drop_stalled(config["repl-timeout"])
        if self.awaiting_sync:
            self.start_awaited_syncs()
        self._start_awaited_disk_syncs()
        waiting = [client for client, _psync in self.awaiting_sync + self.awaiting_disk]
        if self.disk_sync is not None:
            waiting += self.disk_sync.clients
        if waiting and now - self.last_newline >= 1:     # as Redis: keep them from
            self.last_newline = now                      # timing out
            for client in waiting:
                client.transport.write(b"\n")
        if now - self.last_ping >= config["repl-ping-replica-period"]:
            self.last_ping = now
            if self.replicas and self.kv.primary_link is None:    # a replica passes its
                self._send(PING)                                   # primary's PINGs on
        if (self.backlog is not None and not self.replicas and not self.held
                and config["repl-backlog-ttl"]
                and self.kv.primary_link is None
                and now - self.alone_since >= config["repl-backlog-ttl"]):
            self.backlog = None
            self.kv.refresh_lanes()

    def _send(self, data: bytes) -> None:
        self.offset += len(data)
        self.backlog += data
        self._trim_backlog()
        # As Redis: the held replicas' output grows too, within its limits.
        for client in self.held:
            if not client.closed and client.over_output_limit():
                client.drop_over_output_limit()
        flush_soon = self.kv.flush_soon
        for client in self.replicas:
            client.out.append(data)
            flush_soon(client)
