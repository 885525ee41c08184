"""Telling the server that this thread is about to wait.

The server serves all sessions with a few threads that take turns at watching the
sockets (pgwire/server.py). A thread about to wait for something (a row lock another
session holds, the log's fsync, a sleep) or to run long first hands the watching on,
so that the other sessions' statements, the one that may end the wait among them,
carry on meanwhile. Outside the server (tests driving the engine directly) this does
nothing.
"""

from __future__ import annotations

import threading

_local = threading.local()


def before_blocking() -> None:
    hook = getattr(_local, "hook", None)
    if hook is not None:
        hook()


def set_hook(hook) -> None:
    """The calling thread's hand-on function (None: none)."""
    _local.hook = hook
