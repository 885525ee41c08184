"""Following a primary: this server as a replica (REPLICAOF host port).

The link does what a Redis replica does, over one connection to the primary:

1. the handshake: PING, AUTH when `masterauth` is set, REPLCONF listening-port and
   capa (eof, psync2), then PSYNC <replid> <offset + 1>, asking to continue a history:
   our own the first time (the new primary may have been our replica, and continued
   it), the primary's after a lost link. A primary that has those bytes in its backlog
   answers `+CONTINUE`, and the stream goes on from there (step 3); otherwise it
   answers `+FULLRESYNC <replid> <offset>` and sends the whole dataset.
2. the dataset: `$<length>` and that many bytes, or `$EOF:<40 bytes>` and the bytes up to
   that mark (diskless), after any newlines the primary sends while it prepares it. It is
   an RDB file (a real Redis's, or ours: replication.py writes RDB): everything here is
   dropped and the file loaded in its place.
3. the stream: every command the primary propagates, run by a trusted client of ours
   (replies dropped; nothing refuses it: see Client.trusted). `offset` counts the bytes
   of stream processed; it is reported with REPLCONF ACK every second and when the
   primary asks (REPLCONF GETACK). Once applied, the bytes go on, as they came, to our
   own replicas and backlog: after a full sync our stream is the primary's, with its
   id and offsets (Replication.take_history), as in Redis.

If the connection fails or drops, the link tries again a second later, as Redis's cron
does. While following, the server refuses writes from its own clients with -READONLY
(`replica-read-only`), does not expire keys itself (the primary's DELs do), and
logs the changes it applies in its append-only file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections import deque

from ..resp import RequestParser, encode_command
from .client import Client
from .crc64 import crc64
from .persistence.snapshot import CorruptSnapshot

log = logging.getLogger("fromscratch.kvdb")

RETRY_SECONDS = 1.0
ACK_SECONDS = 1.0
PAUSE_CHECK_SECONDS = 0.05     # how often held commands are tried again during a pause
EOF_MARK_LENGTH = 40


# What Redis logs when its primary says nothing for repl-timeout seconds, by link state.
_TIMEOUTS = {
    "connecting": "Timeout connecting to the MASTER...",
    "handshake": "Timeout connecting to the MASTER...",
    "sync": "Timeout receiving bulk data from MASTER... If the problem persists try to "
            "set the 'repl-timeout' parameter in redis.conf to a larger value.",
    "connected": "MASTER timeout: no data nor PING received...",
}


class LinkError(Exception):
    """The primary answered the handshake with something we cannot go on from."""


class TransferFailed(Exception):
    """The dataset's transfer broke off; the reason is logged already."""


class _StreamClient(Client):
    """The client that applies the primary's stream (the master client): closing it
    (CLIENT KILL) drops the link."""

    link: "PrimaryLink"

    def close(self) -> None:
        self.closed = True
        self.link.drop_connection()

    @property
    def output_buffer_size(self) -> int:
        # Nothing: it never answers. (Nor could asyncio's TLS transport say, once the
        # link is closed.)
        return 0


class _RunningCrc:
    """The CRC-64 of a payload's first bytes, extended as more arrive."""

    def __init__(self):
        self.value = 0
        self.done = 0                   # how many bytes it covers

    def advance(self, data: bytearray, end: int) -> None:
        """Cover data[:end] (never less than before)."""
        if end > self.done:
            self.value = crc64(data[self.done:end], self.value)
            self.done = end


class PrimaryLink:
    def __init__(self, kv, host: str, port: int, replid: str, offset: int, stream_db=None,
                 resumable: bool = True):
        """Follow host:port, first asking to continue the history `replid` from
        `offset` (ours: see KvServer.follow) unless not `resumable`, in the database
        `stream_db` (the one the stream was in, when it continues a stream followed
        before: Redis's cached primary keeps it too)."""
        self.kv = kv
        self.host = host
        self.port = port
        # Redis's names for the link's states (ROLE shows them): connect (waiting to
        # try), connecting (to the primary's port), handshake, sync (receiving the
        # dataset), connected.
        self.state = "connect"
        self.replid = replid
        self.offset = offset          # of the primary's stream, processed so far
        self.read_offset = offset     # ... and received (more while CLIENT PAUSE holds it)
        self.synced_once = False
        self.last_io = time.monotonic()
        self.down_since = time.monotonic()
        self.sync_bytes_expected = -1
        self.sync_bytes_read = 0
        self._progress = None           # the Loading the bytes received count in, if any
        self.stopped = False
        self._resumable = resumable   # whether the next link may ask to continue (PSYNC)
        self._client = self._new_client()   # applies the stream; kept across PSYNCs
        if stream_db is not None:
            self._client.db = stream_db
        self._writer: asyncio.StreamWriter | None = None
        self._reader: asyncio.StreamReader | None = None
        self._task = asyncio.get_running_loop().create_task(self._run())

    # -- life cycle ----------------------------------------------------------------------

    def stop(self) -> None:
        """REPLICAOF NO ONE or another primary: drop the link and stop trying. (The
        flag too: Python 3.11's wait_for can swallow a cancellation that comes as the
        read it waits on fails, and the link would try again, a replica nobody knows.)"""
        self.stopped = True
        self._task.cancel()
        self._close()

    def _close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def drop_connection(self) -> None:
        """CLIENT KILL of the master client: the primary must see the link go now,
        even if a command (DEBUG SLEEP...) then holds the event loop up; the link then
        reconnects."""
        if self._writer is not None:
            with contextlib.suppress(OSError):
                self._writer.get_extra_info("socket").shutdown(socket.SHUT_RDWR)
            self._close()

    async def _run(self) -> None:
        while True:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except LinkError as exc:                  # its message is Redis's log line
                log.warning("%s", exc)
            except TransferFailed:
                pass
            except CorruptSnapshot as exc:
                log.warning("Failed trying to load the MASTER synchronization DB from "
                            "socket: %s", exc)
            except asyncio.TimeoutError:              # nothing for repl-timeout seconds
                log.warning("%s", _TIMEOUTS[self.state])
            except (OSError, EOFError, asyncio.IncompleteReadError) as exc:
                if self.state == "connecting":
                    log.warning("Unable to connect to MASTER: %s", exc)
                elif self.state == "connected":
                    log.warning("Connection with master lost.")
                else:
                    log.warning("Error condition on socket for SYNC: %s",
                                exc or "Connection closed")
            except Exception:                 # never let the link die silently
                log.exception("replication link failed")
            self._close()
            if self.stopped:
                return
            if self.state == "connected":
                self.down_since = time.monotonic()
            self._set_state("connect")
            await asyncio.sleep(RETRY_SECONDS)

    async def _follow(self) -> None:
        log.info("Connecting to MASTER %s:%d", self.host, self.port)
        self._set_state("connecting")
        source = self.kv.config["bind-source-addr"]
        tls = self.kv.tls.client if self.kv.config["tls-replication"] else None
        reader, self._writer = await self._within_timeout(asyncio.open_connection(
            self.host, self.port, local_addr=(source, 0) if source else None, ssl=tls,
            server_hostname="" if tls else None))
        self._reader = reader
        self._set_state("handshake")
        log.info("MASTER <-> REPLICA sync started")
        after_payload = b""
        if await self._handshake(reader):
            log.info("Successful partial resynchronization with master.")
        else:
            self._set_state("sync")
            self._resumable = False              # our data is about to be replaced
            header = await self._read_payload_header(reader)
            with self.kv.receiving_dataset(self.replid) as (swap, progress):
                try:
                    data, after_payload, body_crc = await self._read_dataset(
                        reader, header, progress)
                except (OSError, EOFError) as exc:
                    self._log_broken_transfer(exc, progress, swap)
                    raise TransferFailed from exc
                stream_db = self.kv.load_from_primary(data, swap, body_crc)
            self.kv.replication.take_history(self.replid, self.offset)
            # The stream starts afresh: a new client, in the database the file says the
            # stream is in (a Redis primary's starts with a SELECT anyway).
            self._client = self._new_client()
            self._client.db = self.kv.keyspace.dbs[stream_db]
            log.info("MASTER <-> REPLICA sync: Finished with success")
        self._set_state("connected")
        self.synced_once = True
        # At once: a primary that sent the dataset diskless starts the stream on our
        # first acknowledgement.
        self._send_ack()
        self._show_client(self._writer.transport)
        try:
            await self._apply_stream(reader, after_payload)
        finally:
            self.kv.clients.pop(self._client.id, None)

    def _show_client(self, transport) -> None:
        """The client applying the stream is one of the server's clients while the
        link is up, as Redis's master client: CLIENT LIST shows it (flags M), and CLIENT
        KILL of it (or of TYPE master) closes the link, which then reconnects."""
        client = self._client
        client.transport, client.closed = transport, False
        client.peer = (self.host, self.port)
        client.local = transport.get_extra_info("sockname")[:2]
        client.is_primary_link = True
        self.kv.clients[client.id] = client

    def _new_client(self) -> "_StreamClient":
        client = self.kv.loading_client(_StreamClient)
        client.link = self
        return client

    @property
    def stream_client(self) -> "_StreamClient":
        """The client applying the stream: its database is the one the stream is in."""
        return self._client

    def _set_state(self, state: str) -> None:
        was_connected, self.state = self.state == "connected", state
        if (state == "connected") != was_connected:
            self.kv.refresh_write_state()        # MASTERDOWN depends on the link

    # -- the handshake -------------------------------------------------------------------

    async def _handshake(self, reader) -> bool:
        """PING, AUTH, REPLCONF, then PSYNC: True if the primary continues the stream
        where we were (+CONTINUE), False if it sends the whole dataset (+FULLRESYNC)."""
        reply = await self._ask(reader, b"PING")
        if reply.startswith(b"-") and not reply.startswith((b"-NOAUTH", b"-NOPERM",
                                                             b"-ERR operation not permitted")):
            raise LinkError(f"Error reply to PING from master: '{reply.decode(errors='replace')}'")
        config = self.kv.config
        if config["masterauth"]:
            words = [b"AUTH"] + ([config["masteruser"].encode()] if config["masteruser"] else [])
            reply = await self._ask(reader, *words, config["masterauth"].encode())
            if reply.startswith(b"-"):
                raise LinkError(f"Unable to AUTH to MASTER: {reply.decode(errors='replace')}")
        # Optional: a primary that does not know these answers an error, and we go on.
        port = config["replica-announce-port"] or (
            self.kv.tcp.tls_port if config["tls-replication"] and self.kv.tcp.tls_port
            else self.kv.tcp.port)
        await self._ask(reader, b"REPLCONF", b"listening-port", b"%d" % port)
        if config["replica-announce-ip"]:
            await self._ask(reader, b"REPLCONF", b"ip-address",
                            config["replica-announce-ip"].encode())
        await self._ask(reader, b"REPLCONF", b"capa", b"eof", b"capa", b"psync2")
        if self._resumable:
            log.info("Trying a partial resynchronization (request %s:%d).", self.replid,
                     self.offset + 1)
            psync = [b"PSYNC", self.replid.encode(), b"%d" % (self.offset + 1)]
        else:
            log.info("Partial resynchronization not possible (no cached master)")
            psync = [b"PSYNC", b"?", b"-1"]
        # A primary handing its role to this replica over (FAILOVER) says so.
        failover = self.kv.failover
        failing_over = failover.in_progress
        reply = await self._ask(reader, *psync, *([b"FAILOVER"] if failing_over else []))
        words = reply.split()
        if failing_over:
            failover.psync_answered(words[:1] in ([b"+CONTINUE"], [b"+FULLRESYNC"]))
            if self.kv.primary_link is not self:          # aborted: a primary again
                raise asyncio.CancelledError
        if words[:1] == [b"+CONTINUE"]:
            if len(words) > 1:                      # the primary's history has a new id
                self.replid = words[1].decode()
            self.kv.replication.continued_as(self.replid)
            return True
        if len(words) != 3 or words[0] != b"+FULLRESYNC" or not words[2].isdigit():
            raise LinkError(f"unexpected reply to PSYNC: {reply.decode(errors='replace')}")
        self.replid, self.offset = words[1].decode(), int(words[2])
        log.info("Full resync from master: %s:%d", self.replid, self.offset)
        return False

    def _log_broken_transfer(self, exc: Exception, progress, swap: bool) -> None:
        """What Redis logs when the connection breaks off in the middle of the dataset:
        read to disk, an I/O error; read into memory (diskless load), a short read of
        the RDB stream, and the load given up (with swapdb the old data stays)."""
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else None
        if progress is None:
            log.warning("I/O error trying to sync with MASTER: %s", reason or "connection lost")
            return
        log.warning("Internal error in RDB reading offset %d, function at following.py -> "
                    "Unexpected EOF reading RDB file. Failure loading rdb format from "
                    "socket, assuming connection error, resuming operation.",
                    self.sync_bytes_read)
        log.warning("Failed trying to load the MASTER synchronization DB from socket: %s",
                    reason or "Connection reset by peer")
        if swap:
            log.info("MASTER <-> REPLICA sync: Discarding temporary DB in background")

    async def _ask(self, reader, *words: bytes) -> bytes:
        self._writer.write(encode_command(list(words)))
        return await self._read_line(reader)

    async def _read_line(self, reader) -> bytes:
        line = await self._within_timeout(reader.readuntil(b"\r\n"))
        self.last_io = time.monotonic()
        # A primary keeps a replica waiting for its sync alive with newlines.
        return line[:-2].lstrip(b"\n")

    async def _within_timeout(self, waiting):
        """`waiting`'s result, or asyncio.TimeoutError after repl-timeout seconds
        without it, as Redis gives up on a silent primary."""
        return await asyncio.wait_for(waiting, self.kv.config["repl-timeout"])

    # -- the dataset ---------------------------------------------------------------------

    async def _read_payload_header(self, reader) -> bytes:
        """The payload's first line: `$<length>` or `$EOF:<mark>`."""
        self.sync_bytes_expected, self.sync_bytes_read = -1, 0
        # While it prepares the payload, the primary keeps the link alive with newlines.
        line = b""
        while not line:
            line = (await self._within_timeout(reader.readuntil(b"\n"))).strip()
        self.last_io = time.monotonic()
        if not line.startswith(b"$"):
            raise LinkError(f"Bad protocol from MASTER, the first byte is not '$' (we "
                            f"received '{line.decode(errors='replace')}'), are you sure "
                            f"the host and port are right?")
        return line

    async def _read_dataset(self, reader, line: bytes, progress) -> tuple[bytes, bytes, int]:
        """The payload `line` announced, any bytes of the stream that came right after
        it, and the CRC-64 of the payload but its last 8 bytes (an RDB file's checksum),
        computed as it came: a file of 100 MB takes seconds to check in Python, which
        is then done while the primary is still sending, not after. The bytes received
        are counted in `progress` (a Loading) if not None."""
        self._progress = progress
        try:
            return await self._read_payload(reader, line)
        finally:
            self._progress = None

    async def _read_payload(self, reader, line: bytes) -> tuple[bytes, bytes, int]:
        if line.startswith(b"$EOF:"):
            mark = line[5:]
            if len(mark) != EOF_MARK_LENGTH:
                raise LinkError("Bad EOF mark from MASTER")
            return await self._read_until_mark(reader, mark)
        if not line[1:].isdigit():
            raise LinkError("Bad payload length from MASTER")
        self.sync_bytes_expected = int(line[1:])
        if self._progress is not None:
            self._progress.begin_file(self.sync_bytes_expected)
        data, crc = bytearray(), _RunningCrc()
        while len(data) < self.sync_bytes_expected:
            data += await self._read_some(reader, self.sync_bytes_expected - len(data))
            crc.advance(data, len(data) - 8)
        return bytes(data), b"", crc.value

    async def _read_until_mark(self, reader, mark: bytes) -> tuple[bytes, bytes, int]:
        """A diskless payload: everything up to the 40-byte mark that ends it."""
        data, crc = bytearray(), _RunningCrc()
        while True:
            searched_from = max(len(data) - len(mark), 0)
            data += await self._read_some(reader, 1 << 20)
            at = data.find(mark, searched_from)
            if at >= 0:
                crc.advance(data, at - 8)
                return bytes(data[:at]), bytes(data[at + len(mark):]), crc.value
            crc.advance(data, len(data) - len(mark) - 8)    # (the mark may have begun)

    async def _read_some(self, reader, most: int) -> bytes:
        chunk = await self._within_timeout(reader.read(min(most, 1 << 20)))
        if not chunk:
            raise EOFError("connection closed by the primary during the sync")
        self.last_io = time.monotonic()
        self.sync_bytes_read += len(chunk)
        if self._progress is not None:
            self._progress.loaded_bytes = self.sync_bytes_read
        return chunk

    # -- the stream ----------------------------------------------------------------------

    async def _apply_stream(self, reader, first: bytes = b"") -> None:
        kv = self.kv
        parser = RequestParser(kv.config["proto-max-bulk-len"])
        start, received = self.offset, 0
        self.read_offset = start
        unsent = bytearray()                  # received, not yet passed on
        # Commands received and not applied yet: CLIENT PAUSE holds the primary's writes
        # (and all that follows them) as it holds any client's, as in Redis.
        held: deque = deque()
        ack_timer = asyncio.get_running_loop().call_later(ACK_SECONDS, self._ack_every_second)
        self._resumable = True
        try:
            data = first
            while True:
                if not data:
                    data = await self._read_more(reader, waiting=bool(held))
                if data:
                    self.last_io = time.monotonic()
                    held.extend(parser.feed(data))
                    if parser.error is not None:
                        raise LinkError(f"protocol error in the replication stream: "
                                        f"{parser.error}")
                    received += len(data)
                    unsent += data
                    self.read_offset = start + received
                all_applied, asked_for_ack = self._apply_held(held)
                data = b""
                if not all_applied:
                    continue
                # The offset moves on only at a command's end: what we acknowledge, and
                # where a partial resynchronization would continue, must be exact. What
                # was applied goes on to our replicas then too.
                if not parser.mid_command:
                    self.offset = start + received
                    kv.replication.pass_on(bytes(unsent))
                    unsent.clear()
                kv.changes_applied()
                if asked_for_ack:
                    self._send_ack()
        finally:
            ack_timer.cancel()
            # Half a command received: where it started is not known exactly, so the
            # next link asks for the whole dataset. (Held commands are whole: the offset
            # is where the last read applied in full ended, at a command's end, and the
            # primary sends them again.)
            self._resumable = not parser.mid_command or bool(held)

    async def _read_more(self, reader, waiting: bool) -> bytes:
        """The next bytes of the stream; b"" after a moment if `waiting` for a pause to
        end (the held commands are tried again then). A primary silent for
        repl-timeout seconds is given up on either way."""
        if waiting:
            try:
                data = await asyncio.wait_for(reader.read(1 << 16), PAUSE_CHECK_SECONDS)
            except asyncio.TimeoutError:
                if time.monotonic() - self.last_io > self.kv.config["repl-timeout"]:
                    raise
                return b""
        else:
            data = await self._within_timeout(reader.read(1 << 16))
        if not data:
            raise EOFError("connection closed by the primary")
        return data

    def _apply_held(self, held: deque) -> tuple[bool, bool]:
        """Apply the held commands in order, until one that CLIENT PAUSE holds back:
        (whether all were applied, whether the primary asked for an acknowledgement)."""
        kv, client, keyspace = self.kv, self._client, self.kv.keyspace
        asked_for_ack = False
        while held:
            argv = held[0]
            name = argv[0].lower()
            if kv.pause_mode is not None:
                cmd = kv.table.lookup(argv[0])
                if cmd is not None and kv.pause_applies(cmd.flags_of_call(kv, argv)):
                    return False, asked_for_ack
            held.popleft()
            if name == b"replconf" and len(argv) >= 2 and argv[1].lower() == b"getack":
                asked_for_ack = True
            elif name != b"ping":
                keyspace.ttl_ignored = True          # keys expire when the primary says
                try:
                    client.call(argv)
                finally:
                    keyspace.ttl_ignored = False
                self._check_reply(client.out, argv)
                client.out.clear()
        return True, asked_for_ack

    @staticmethod
    def _check_reply(out: list, argv: list) -> None:
        """The primary's commands should never fail here: say so, as Redis does, if
        one did (its data and ours may now differ)."""
        if out and out[0][:1] == b"-":
            log.warning("== CRITICAL == This replica is sending an error to its master: "
                        "'%s' after processing the command '%s'",
                        out[0].strip().decode(errors="replace"),
                        argv[0].decode(errors="replace"))

    def _ack_every_second(self) -> None:
        if self.state == "connected" and self._writer is not None:
            self._send_ack()
            asyncio.get_running_loop().call_later(ACK_SECONDS, self._ack_every_second)

    def _send_ack(self) -> None:
        ack = [b"REPLCONF", b"ACK", b"%d" % self.offset]
        aof = self.kv.aof
        if aof is not None and aof.started:       # as Redis 7.2, for WAITAOF
            ack += [b"FACK", b"%d" % aof.synced_stream_offset]
        self._writer.write(encode_command(ack))

    # -- what INFO and ROLE show ---------------------------------------------------------

    @property
    def link_up(self) -> bool:
        # The primary's close, once read, counts at once, before the link's task wakes
        # to it: a client asking right after the primary dropped us hears it is down,
        # as from Redis, which drops the link as it reads the close.
        return self.state == "connected" and not self._reader.at_eof()
