"""The crash report Redis writes to its log before it dies, and the death itself.

A SIGABRT sent to the server, DEBUG SEGFAULT (which ends the process with a SIGSEGV,
as Redis's deliberate fault does), DEBUG PANIC and DEBUG ASSERT log Redis's bug report
(with crash-log-enabled): what happened, the stack of every thread (Python's: there is
no C stack of ours to show), INFO, CLIENT LIST and the client whose command was
running. Then the process ends by that signal with its default action (a core dump
where they are enabled), as Redis's does, and whatever supervises it sees a crash.

A real fault in C code (a SIGSEGV, SIGBUS, SIGFPE or SIGILL) can't be handled in
Python, whose handlers run between bytecodes, too late: for those, faulthandler writes
the threads' stacks to the log.
"""

from __future__ import annotations

import contextlib
import faulthandler
import logging
import os
import signal
import sys
import threading
import traceback

from .version import REDIS_VERSION

log = logging.getLogger("fromscratch.kvdb")


def install(kv, log_stream) -> None:
    """At start-up: a SIGABRT gets the report; real faults get faulthandler's."""
    try:
        faulthandler.enable(file=log_stream, all_threads=True)
    except (AttributeError, ValueError, OSError):
        pass                        # a stream without a descriptor: no fault report
    signal.signal(signal.SIGABRT, lambda signum, frame: crash(kv, signum, frame))


def crash(kv, signum: int, frame=None, client=None, argv=None,
          headline: list[str] = ()) -> None:
    """Log the bug report, then die by `signum`. A `headline` (a panic's or an
    assertion's words) comes first, in place of the signal's; `client` and its `argv`
    are the command that was running."""
    if kv.config["crash-log-enabled"]:
        try:
            _log_report(kv, signum, frame or sys._getframe(1), client, argv, headline)
        except Exception:           # the report is a courtesy: dying is the point
            log.exception("error writing the crash report")
    for handler in logging.getLogger().handlers:
        handler.flush()
    if kv.pidfile and kv.config["daemonize"]:
        with contextlib.suppress(OSError):
            os.unlink(kv.pidfile)
    faulthandler.disable()          # (it would report the signal a second time)
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _log_report(kv, signum, frame, client, argv, headline) -> None:
    from .commands.introspection import info_text         # (it imports us)
    lines = list(headline)
    lines.append("=== REDIS BUG REPORT START: Cut & paste starting from here ===")
    if not headline:
        lines.append(f"Redis {REDIS_VERSION} crashed by signal: {signum}"
                     f" ({signal.strsignal(signum)})")
    lines.append("")
    lines.append("------ STACK TRACE ------")
    main_thread = threading.main_thread().ident
    for thread_id, thread_frame in sys._current_frames().items():
        if thread_id == main_thread:
            thread_frame = frame        # where the signal (or the crash call) found it
        lines.append(f"Thread {thread_id}:")
        lines += "".join(traceback.format_stack(thread_frame)).rstrip("\n").split("\n")
    lines.append("")
    lines.append("------ INFO OUTPUT ------")
    lines += info_text(kv, ["all"]).replace("\r\n", "\n").rstrip("\n").split("\n")
    lines.append("")
    lines.append("------ CLIENT LIST OUTPUT ------")
    lines += [kv.client_info(each) for each in list(kv.clients.values())]
    if client is not None:
        lines.append("")
        lines.append("------ CURRENT CLIENT INFO ------")
        lines.append(kv.client_info(client))
        lines += [f"argv[{i}]: '\"{arg.decode('utf-8', 'replace')}\"'"
                  for i, arg in enumerate(argv or ())]
    lines.append("")
    lines.append("=== REDIS BUG REPORT END. Make sure to include from START to END. ===")
    for line in lines:
        log.warning("%s", line)
