"""What the server records about its own speed: SLOWLOG, LATENCY and histograms.

* The slow log keeps the last `slowlog-max-len` commands slower than
  `slowlog-log-slower-than` microseconds.
* The latency monitor records, per event ("command", "fast-command"), each second in
  which something took at least `latency-monitor-threshold` ms (0 disables it).
  LATENCY GRAPH draws an event's history as Redis does: a sparkline of 4 rows, each
  column a sample, labelled with how long ago it was.
* Every command keeps a histogram of its run times in power-of-two microsecond buckets
  (bucket i counts calls that took less than 2**i us), for LATENCY HISTOGRAM and INFO
  latencystats.
"""

from __future__ import annotations

import time
from collections import deque

HISTOGRAM_BUCKETS = 64


def new_histogram() -> list[int]:
    return [0] * HISTOGRAM_BUCKETS


def percentile(histogram: list[int], fraction: float) -> float:
    """The upper bound (us) of the bucket holding the given fraction of the calls."""
    total = sum(histogram)
    if not total:
        return 0.0
    wanted = fraction * total
    seen = 0
    for bucket, count in enumerate(histogram):
        seen += count
        if seen >= wanted:
            return float(1 << bucket)
    return float(1 << (HISTOGRAM_BUCKETS - 1))


class SlowLog:
    """SLOWLOG: the most recent commands that took longer than a threshold."""

    def __init__(self, max_len: int):
        self.entries: deque = deque(maxlen=max_len)
        self.next_id = 0

    def add(self, client, argv: list, micros: int) -> None:
        shown = [arg if len(arg) <= 128 else
                 arg[:128] + b"... (%d more bytes)" % (len(arg) - 128) for arg in argv[:32]]
        if len(argv) > 32:
            shown[-1] = b"... (%d more arguments)" % (len(argv) - 31)
        self.entries.appendleft([self.next_id, int(time.time()), micros, shown,
                                 f"{client.peer[0]}:{client.peer[1]}".encode(), client.name])
        self.next_id += 1

    def resize(self, max_len: int) -> None:
        self.entries = deque(self.entries, maxlen=max_len)


class LatencyMonitor:
    HISTORY = 160          # samples kept per event, as Redis keeps

    def __init__(self):
        self.events: dict[str, dict] = {}

    def record(self, event: str, milliseconds: int) -> None:
        now = int(time.time())
        state = self.events.setdefault(event, {"history": deque(maxlen=self.HISTORY),
                                               "max": 0})
        history = state["history"]
        if history and history[-1][0] == now:
            if milliseconds > history[-1][1]:
                history[-1] = (now, milliseconds)
        else:
            history.append((now, milliseconds))
        state["max"] = max(state["max"], milliseconds)

    def latest(self) -> list:
        return [[name.encode(), state["history"][-1][0], state["history"][-1][1], state["max"]]
                for name, state in self.events.items()]

    def graph(self, event: str) -> str | None:
        """LATENCY GRAPH's text for an event, or None if it has no samples."""
        state = self.events.get(event)
        if state is None or not state["history"]:
            return None
        now = int(time.time())
        samples = [(ms, _ago(now - when)) for when, ms in state["history"]]
        values = [ms for ms, _ in samples]
        return (f"{event} - high {max(values)} ms, low {min(values)} ms (all time high "
                f"{state['max']} ms)\n" + "-" * GRAPH_COLUMNS + "\n" + sparkline(samples))

    def history(self, event: str) -> list:
        state = self.events.get(event)
        return [] if state is None else [[when, ms] for when, ms in state["history"]]

    def reset(self, events: list[str]) -> int:
        names = events or list(self.events)
        removed = 0
        for name in names:
            if self.events.pop(name, None) is not None:
                removed += 1
        return removed


# -- LATENCY GRAPH's sparkline --------------------------------------------------------------

GRAPH_COLUMNS = 80
GRAPH_ROWS = 4
_FILL = "_o#"               # a row's three heights: its bottom, middle and top
_LABEL_MARGIN = 1           # blank lines between the chart and its labels


def _ago(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def sparkline(samples: list[tuple[int, str]]) -> str:
    """(value, label) samples drawn as Redis's sparkline.c draws them with its fill
    style: GRAPH_ROWS rows of `_o#` (a full row below the top shows `|`), then, if
    there are labels, a blank line and each label written downwards under its column; wrapped every GRAPH_COLUMNS samples,
    all scaled between the lowest and highest value of the whole series."""
    values = [value for value, _ in samples]
    low, span = min(values), (max(values) - min(values)) or 1
    margin = _LABEL_MARGIN if any(label for _, label in samples) else 0
    steps = len(_FILL) * GRAPH_ROWS
    lines = []
    for start in range(0, len(samples), GRAPH_COLUMNS):
        if start:
            lines.append("")
        part = samples[start:start + GRAPH_COLUMNS]
        # As Redis: the height is truncated twice (its C casts), into 0..steps-1.
        heights = [min(max(int(int((value - low) * steps) / span), 0), steps - 1)
                   for value, _ in part]
        for row in range(GRAPH_ROWS):
            floor = (GRAPH_ROWS - row - 1) * len(_FILL)     # the height this row starts at
            lines.append("".join(
                _FILL[height - floor] if 0 <= height - floor < len(_FILL)
                else "|" if height - floor >= len(_FILL) else " " for height in heights))
        lines += [" " * len(part)] * margin
        for depth in range(max(len(label) for _, label in part)):
            lines.append("".join(label[depth] if depth < len(label) else " "
                                 for _, label in part))
    return "\n".join(lines) + "\n"
