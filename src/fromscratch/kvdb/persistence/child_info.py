"""What a saving child tells its parent while it works, as Redis's children do through
their info pipe: how many keys it has written, and how much copy-on-write has cost.

A forked child shares its parent's memory until either writes to a page; then the
kernel copies that page. The child measures its private dirty memory (from
/proc/self/smaps_rollup), which is what those copies cost. In CPython the child copies
more than a C program's would: reading an object writes its reference count.

The child reports every 1024 keys once a second has passed, and once more at the end;
each report is one fixed-size record on a pipe, which the parent reads when it wants
the figures (INFO persistence: current_save_keys_processed, current_fork_perc,
current_cow_size, current_cow_peak...). A report that finds the pipe full is dropped:
the next one carries newer figures anyway. One that finds nobody reading (the parent
was killed) ends the child, as in Redis: its work would be for nobody.
"""

from __future__ import annotations

import logging
import os
import struct
import time

log = logging.getLogger("fromscratch.kvdb")

_RECORD = struct.Struct("<QQ")          # keys written, private dirty bytes
_KEYS_BETWEEN_CHECKS = 1024
_SECONDS_BETWEEN_REPORTS = 1.0


def private_dirty_bytes() -> int:
    """This process's private dirty memory; 0 where /proc does not say."""
    try:
        with open("/proc/self/smaps_rollup", "rb") as handle:
            for line in handle:
                if line.startswith(b"Private_Dirty:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


class ChildReporter:
    """The child's end: call key_written() after each key, report() at the end."""

    def __init__(self, fd: int):
        self.fd = fd
        self.keys = 0
        self.reported_at = time.monotonic()

    def key_written(self) -> None:
        self.keys += 1
        if self.keys % _KEYS_BETWEEN_CHECKS == 0 and \
                time.monotonic() - self.reported_at >= _SECONDS_BETWEEN_REPORTS:
            self.report()

    def report(self) -> None:
        self.reported_at = time.monotonic()
        try:
            os.write(self.fd, _RECORD.pack(self.keys, private_dirty_bytes()))
        except BrokenPipeError as exc:
            log.warning("Child failed reporting info to parent, exiting. %s", exc.strerror)
            os._exit(1)
        except OSError:
            pass                        # full: see the docstring


class ChildProgress:
    """The parent's end, for one child: the figures of its latest report."""

    def __init__(self, fd: int, keys_total: int):
        self.fd = fd
        self.keys_total = keys_total    # in the data when the child was forked
        self.keys_processed = 0
        self.cow_size = 0
        self.cow_peak = 0
        self.cow_updated: float | None = None
        self.child_fd = -1              # the write end, until the fork is done
        self._partial = b""

    @classmethod
    def open(cls, keys_total: int) -> tuple["ChildProgress", int]:
        """A pipe for a child about to be forked: the parent's progress, and the fd
        the child reports to (the parent closes it once forked: close_child_end)."""
        read_fd, write_fd = os.pipe()
        os.set_blocking(read_fd, False)
        os.set_blocking(write_fd, False)
        progress = cls(read_fd, keys_total)
        progress.child_fd = write_fd
        return progress, write_fd

    def close_child_end(self) -> None:
        os.close(self.child_fd)

    def read(self) -> None:
        """Take in every report waiting."""
        while True:
            try:
                chunk = os.read(self.fd, 4096)
            except (BlockingIOError, OSError):
                return
            if not chunk:
                return
            data = self._partial + chunk
            whole = len(data) - len(data) % _RECORD.size
            for offset in range(0, whole, _RECORD.size):
                self.keys_processed, self.cow_size = _RECORD.unpack_from(data, offset)
                self.cow_peak = max(self.cow_peak, self.cow_size)
                self.cow_updated = time.monotonic()
            self._partial = data[whole:]

    def close(self) -> None:
        self.read()
        os.close(self.fd)

    def info_fields(self) -> list:
        """INFO persistence's current_* lines while the child runs."""
        age = int(time.monotonic() - self.cow_updated) if self.cow_updated else 0
        percent = 100 * self.keys_processed / self.keys_total if self.keys_total else 0.0
        return [("current_cow_peak", self.cow_peak), ("current_cow_size", self.cow_size),
                ("current_cow_size_age", age), ("current_fork_perc", f"{percent:.2f}"),
                ("current_save_keys_processed", self.keys_processed),
                ("current_save_keys_total", self.keys_total)]


IDLE_FIELDS = [("current_cow_peak", 0), ("current_cow_size", 0), ("current_cow_size_age", 0),
               ("current_fork_perc", "0.00"), ("current_save_keys_processed", 0),
               ("current_save_keys_total", 0)]
