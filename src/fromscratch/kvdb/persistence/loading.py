"""A load from disk under way, as Redis runs one (startLoading ... stopLoading).

Loading a large file takes a while, and Redis does not leave its clients hanging
meanwhile: now and then it stops to serve them (processEventsWhileBlocked), and every
command not flagged `loading` (INFO, CONFIG, CLIENT... are) is answered
`-LOADING Redis is loading the dataset in memory`, which clients know to retry. It
stops to serve them every `loading-process-events-interval-bytes` of a snapshot, and
every 1024 commands of an append-only log. `key-load-delay`, a test knob, sleeps after
each key or command to make a small load last.

The readers report where they are after each key (key_loaded) or command
(command_replayed); this object keeps the figures INFO persistence shows
(loading_loaded_bytes, loading_eta_seconds...) and decides when to serve.

A stopping signal (SIGTERM, SIGINT) during the load is taken at the next of those
stops: the server exits without saving, as Redis does, rather than finish a load only
to throw it away.
"""

from __future__ import annotations

import random
import signal
import threading
import time

def pause_after_key(usec: int) -> None:
    """The test knobs that slow a load (key-load-delay) or a save (rdb-key-save-delay)
    down: that many microseconds' sleep after each key, or if negative, a 1 µs sleep
    once in -usec keys."""
    if usec < 0:
        usec = 1 if random.randrange(-usec) == 0 else 0
    if usec:
        time.sleep(usec / 1e6)


_COMMANDS_BETWEEN_SERVES = 1024          # an append-only log's: Redis's figure
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Loading:
    def __init__(self, config, serve, on_stop_signal):
        """`serve()` serves the clients waiting; `on_stop_signal(signum)` is called,
        at the next stop to serve them, if SIGTERM or SIGINT came."""
        self.config = config
        self.serve = serve
        self.on_stop_signal = on_stop_signal
        self.started_at = int(time.time())
        self.total_bytes = 0            # of every file of the load, when known
        self.loaded_bytes = 0
        self._file_start = 0            # where the file being read starts in the load
        self._commands = 0
        self._stop_signal: int | None = None
        self._saved_handlers: dict = {}
        self._read_config()

    def _read_config(self) -> None:
        # Read again after each stop: only a client served then can change them.
        self._key_delay = self.config["key-load-delay"]
        self._interval = self.config["loading-process-events-interval-bytes"]

    # -- the stopping signals ------------------------------------------------------------

    def __enter__(self) -> "Loading":
        # Python runs a signal's handler between two bytecodes of the main thread, so
        # the load itself notices; the event loop's own handler would wait for the load
        # to end. (A server run in another thread, as some tests do, has no signals.)
        if threading.current_thread() is threading.main_thread():
            for signum in _STOP_SIGNALS:
                self._saved_handlers[signum] = signal.signal(signum, self._note_signal)
        return self

    def __exit__(self, *_exc) -> None:
        for signum, handler in self._saved_handlers.items():
            signal.signal(signum, handler)

    def _note_signal(self, signum: int, _frame) -> None:
        self._stop_signal = signum

    # -- progress ------------------------------------------------------------------------

    def begin_file(self, size: int) -> None:
        """The next file to read, of `size` bytes (counted in total_bytes unless
        expect() counted it already)."""
        self._file_start = self.loaded_bytes
        if self.loaded_bytes + size > self.total_bytes:
            self.total_bytes = self.loaded_bytes + size

    def expect(self, total_bytes: int) -> None:
        """The size of every file the load will read (an append-only log's parts)."""
        self.total_bytes = total_bytes

    def key_loaded(self, offset: int) -> None:
        """A key was read; the file is read up to `offset`."""
        if self._key_delay:
            pause_after_key(self._key_delay)
        position = self._file_start + offset
        interval = self._interval
        crossed = position // interval > self.loaded_bytes // interval
        self.loaded_bytes = position
        if crossed:
            self._stop_to_serve()

    def command_replayed(self, offset: int) -> None:
        """A command of an append-only log ran; the file is read up to `offset`."""
        if self._key_delay:
            pause_after_key(self._key_delay)
        self.loaded_bytes = self._file_start + offset
        self._commands += 1
        if self._commands % _COMMANDS_BETWEEN_SERVES == 0:
            self._stop_to_serve()

    def _stop_to_serve(self) -> None:
        if self._stop_signal is not None:
            self.on_stop_signal(self._stop_signal)
        self.serve()
        self._read_config()

    def info_fields(self) -> list:
        """INFO persistence's loading_* lines, as Redis computes them."""
        percent = self.loaded_bytes / self.total_bytes * 100 if self.total_bytes else 0.0
        remaining = self.total_bytes - self.loaded_bytes if self.total_bytes else 1
        elapsed = int(time.time()) - self.started_at
        eta = 1 if elapsed == 0 else elapsed * remaining // (self.loaded_bytes + 1)
        return [("loading_start_time", self.started_at),
                ("loading_total_bytes", self.total_bytes),
                ("loading_rdb_used_mem", 0),
                ("loading_loaded_bytes", self.loaded_bytes),
                ("loading_loaded_perc", f"{percent:.2f}"),
                ("loading_eta_seconds", eta)]
