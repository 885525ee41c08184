"""A diskless full synchronization, as Redis runs one (repl-diskless-sync yes).

A forked child writes the dataset, as it was at the fork, as an RDB file into a pipe;
the primary relays what the pipe gives to the replicas as it comes, framed as Redis
frames it: `$EOF:<40 random characters>`, the file, the same 40 characters. The child
takes its time under rdb-key-save-delay (a test knob), and the primary serves its
clients meanwhile: the replicas see a transfer that lasts, as with Redis (their
loading states, their timeouts).

The changes made during the transfer are kept for the replicas in the backlog
(Replication.held) and follow once each acknowledges the payload. When every replica
has gone, the child is killed: nobody would read what it writes.
"""

from __future__ import annotations

import logging
import os
import signal
import time

log = logging.getLogger("fromscratch.kvdb")

_CHUNK = 1 << 16


class DisklessTransfer:
    def __init__(self, replication, clients: list, write_payload):
        """Start sending the payload (`write_payload(handle)` writes it, in the child)
        to `clients`, who were told +FULLRESYNC."""
        kv = replication.kv
        self.kv = kv
        self.replication = replication
        self.clients = list(clients)
        mark = os.urandom(20).hex().encode()
        for client in self.clients:
            client.out.append(b"$EOF:%s\r\n" % mark)
            client.flush_now()
        log.info("Starting BGSAVE for SYNC with target: replicas sockets")
        read_fd, write_fd = os.pipe()
        started = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                os.close(read_fd)
                with os.fdopen(write_fd, "wb") as handle:
                    write_payload(handle)
                    handle.write(mark)
                status = 0
            finally:
                os._exit(status)
        kv.forks += 1
        kv.latest_fork_usec = int((time.perf_counter() - started) * 1e6)
        os.close(write_fd)
        os.set_blocking(read_fd, False)
        self.pid, self.read_fd = pid, read_fd
        kv.loop.add_reader(read_fd, self._relay)
        log.info("Background RDB transfer started by pid %d", pid)

    def _relay(self) -> None:
        try:
            chunk = os.read(self.read_fd, _CHUNK)
        except BlockingIOError:
            return
        if not chunk:
            self._finish()
            return
        for client in self.clients:
            client.transport.write(chunk)
        self.replication.bytes_sent += len(chunk) * len(self.clients)

    def _finish(self) -> None:
        self._stop_reading()
        log.info("Diskless rdb transfer, done reading from pipe, %d replicas still up.",
                 len(self.clients))
        _pid, status = os.waitpid(self.pid, 0)
        self.replication.transfer_finished(self, _child_ended(os.waitstatus_to_exitcode(status)))

    def _stop_reading(self) -> None:
        self.kv.loop.remove_reader(self.read_fd)
        os.close(self.read_fd)

    def drop(self, client) -> None:
        """`client` went away; the last one's going stops the child."""
        if client in self.clients:
            self.clients.remove(client)
            if not self.clients:
                log.warning("Diskless rdb transfer, last replica dropped, killing fork child.")
                self.kill()
                self.replication.transfer_finished(self, False)

    def kill(self) -> None:
        self._stop_reading()
        os.kill(self.pid, signal.SIGKILL)
        _pid, status = os.waitpid(self.pid, 0)
        _child_ended(os.waitstatus_to_exitcode(status))


def _child_ended(exit_code: int) -> bool:
    """Log how the child ended, in Redis's words; whether it succeeded."""
    if exit_code == 0:
        log.info("Background RDB transfer terminated with success")
    elif exit_code > 0:
        log.warning("Background transfer error")
    else:
        log.warning("Background transfer terminated by signal %d", -exit_code)
    return exit_code == 0
