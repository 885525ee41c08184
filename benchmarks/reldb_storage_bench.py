"""reldb's storage engine against PostgreSQL, both durable, side by side.

    /work/main/.venv/bin/python benchmarks/reldb_storage_bench.py [--quick]
        [--scale 10] [--seconds 30] [--clients 8] [--threads 2] [--rows 1000000]
        [--lookup-seconds 10] [--crash-seconds 30] [--cache-size 256mb]
        [--sections pgbench,lookup,recovery]

Both servers keep their durable defaults: fsync on, synchronous_commit on (reldb's
default), full_page_writes on; PostgreSQL's shared_buffers is set to reldb's
--cache-size. Only one server runs at a time, on a fresh data directory per section.

1. pgbench   `pgbench -i -s SCALE`, then `pgbench -c 8 -j 2 -T SECONDS` with the
             built-in TPC-B-like script, `-S` (select only) and `-M prepared -S`
             (transactions/s). The -S runs use -n: pgbench's pre-run vacuum truncates
             pgbench_history, which would break the invariant checked after every run:
             sum(abalance) = sum(tbalance) = sum(bbalance) = sum(delta of history).
2. lookup    a table t (id int PRIMARY KEY, v text) of --rows rows loaded by COPY
             (rows/s); point lookups by id (pgbench, 1 client, prepared, random ids:
             lookups/s); a full scan `SELECT id FROM t WHERE v = ...` (v has no index;
             median seconds of 3 after a warm-up; PostgreSQL may use a parallel scan).
3. recovery  long checkpoint interval (reldb --checkpoint-timeout 3600; PostgreSQL
             checkpoint_timeout=1h, max_wal_size=20GB), `pgbench -i`, then TPC-B for
             --crash-seconds; the server is killed mid-run (reldb: kill -9; PostgreSQL:
             pg_ctl stop -m immediate), started again and timed until it answers a query.
             WAL to replay: reldb from its wal/ directory and pg_control (bytes after the
             redo point), PostgreSQL from its log ("redo starts at" / "redo done at").
             After recovery: the invariant, and no acknowledged transaction lost
             (history rows >= transactions pgbench counted). Then a clean restart, timed.

The table gives each figure and the ratio reldb/PostgreSQL: for rates (tps, rows/s,
lookups/s) higher is better for reldb, for times (s) lower is. Failures (pgbench errors,
hangs, broken invariants, lost commits) are listed after the table with the command and
its output. The machine is shared and small: figures vary, ratios are steadier.
--quick is a smoke run of about two minutes (scale 1, 5 s runs, 100,000 rows).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import psycopg  # noqa: E402

from servers import PostgresCluster, ReldbProcess, log_tail  # noqa: E402

SERVERS = ("reldb", "postgresql")
LOWER_IS_BETTER = "s"


# -- results ------------------------------------------------------------------------------------

class Results:
    """Rows of (case, unit, {server: figure or text}) and the failures met on the way."""

    def __init__(self):
        self.rows: list[tuple[str, str, dict]] = []
        self.failures: list[str] = []
        self.printed = 0

    def add(self, case: str, unit: str, figures: dict) -> None:
        self.rows.append((case, unit, figures))

    def fail(self, server: str, what: str, details: str) -> None:
        self.failures.append(f"[{server}] {what}\n{details.rstrip()}")
        progress(f"FAILURE [{server}] {what}")

    def print_new(self, header: bool = False) -> None:
        if header:
            print(f"{'case':44} {'reldb':>13} {'postgresql':>13} {'ratio':>9}  unit")
        for case, unit, figures in self.rows[self.printed:]:
            print(format_row(case, unit, figures), flush=True)
        self.printed = len(self.rows)

    def print_failures(self) -> None:
        if not self.failures:
            print("\nno failures")
            return
        print(f"\n{len(self.failures)} failure(s):")
        for number, failure in enumerate(self.failures, 1):
            print(f"\n#{number} {failure}")


def format_row(case: str, unit: str, figures: dict) -> str:
    def text(value):
        if value is None:
            return "-"
        if isinstance(value, str):
            return value
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3f}"
    ours, ref = figures.get("reldb"), figures.get("postgresql")
    numeric = isinstance(ours, (int, float)) and isinstance(ref, (int, float))
    ratio = f"{ours / ref:.3f}x" if numeric and ref else "-"
    note = f"{unit} (lower is better)" if unit == LOWER_IS_BETTER else unit
    return f"{case:44} {text(ours):>13} {text(ref):>13} {ratio:>9}  {note}"


def progress(message: str) -> None:
    print(f"# {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


# -- servers ------------------------------------------------------------------------------------

def make_server(name: str, stack: ExitStack, args, crash_test: bool = False):
    """A fresh server of kind `name` in a temporary directory, cleaned up by `stack`."""
    directory = tempfile.mkdtemp(prefix=f"storage-bench-{name}-")
    stack.callback(shutil.rmtree, directory, ignore_errors=True)
    if name == "reldb":
        options = ["--cache-size", args.cache_size]
        if crash_test:
            options += ["--checkpoint-timeout", "3600"]
        server = ReldbProcess(directory, *options)
    else:
        settings = {"shared_buffers": args.cache_size.upper().replace("B", "") + "B",
                    "max_connections": 100, "fsync": "on", "synchronous_commit": "on",
                    "full_page_writes": "on"}
        if crash_test:
            settings.update(checkpoint_timeout="1h", max_wal_size="20GB")
        server = PostgresCluster(directory, settings)
    stack.callback(server.close)
    return server


def pgbench_command(server, *options: str) -> list[str]:
    """The pgbench command line for `server`'s postgres database."""
    return ["pgbench", "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres",
            *options, "postgres"]


def pgbench(server, *options: str, timeout: float) -> tuple[list[str], int, str]:
    """Run pgbench against `server`; (command, exit status, stdout + stderr)."""
    command = pgbench_command(server, *options)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        return command, done.returncode, done.stdout + done.stderr
    except subprocess.TimeoutExpired as hung:
        output = (hung.stdout or b"").decode(errors="replace") if isinstance(hung.stdout, bytes) \
            else (hung.stdout or "")
        output += (hung.stderr or b"").decode(errors="replace") if isinstance(hung.stderr, bytes) \
            else (hung.stderr or "")
        return command, -1, output + f"\n(HUNG: killed after {timeout:.0f}s)"


def pgbench_problem(status: int, output: str) -> str | None:
    """Why a pgbench run failed, or None."""
    if status != 0:
        return f"exit status {status}"
    match = re.search(r"number of failed transactions: (\d+)", output)
    if match and int(match.group(1)):
        return f"{match.group(1)} failed transactions"
    if "aborted" in output.lower():
        return "a client aborted"
    return None


def tps(output: str) -> float | None:
    match = re.search(r"tps = ([\d.]+)", output)
    return float(match.group(1)) if match else None


def processed(output: str) -> int | None:
    match = re.search(r"number of transactions actually processed: (\d+)", output)
    return int(match.group(1)) if match else None


def invariant(server) -> tuple[bool, str]:
    """pgbench's invariant: every balance change is in history and in all three tables."""
    query = ("SELECT (SELECT coalesce(sum(abalance), 0) FROM pgbench_accounts),"
             " (SELECT coalesce(sum(tbalance), 0) FROM pgbench_tellers),"
             " (SELECT coalesce(sum(bbalance), 0) FROM pgbench_branches),"
             " (SELECT coalesce(sum(delta), 0) FROM pgbench_history),"
             " (SELECT count(*) FROM pgbench_history)")
    with psycopg.connect(server.conninfo(), autocommit=True, connect_timeout=10) as conn:
        accounts, tellers, branches, history, rows = conn.execute(query).fetchone()
    ok = accounts == tellers == branches == history
    return ok, (f"sum(abalance)={accounts} sum(tbalance)={tellers} sum(bbalance)={branches} "
                f"sum(delta)={history} history rows={rows}")


def server_state(server) -> str:
    """Is the server still up? (for failure reports)"""
    if isinstance(server, ReldbProcess) and not server.alive():
        return (f"\nreldb process is gone (exit status {server.process.returncode})"
                + log_tail(server.log_path))
    return log_tail(server.log_path, 15)


def fail_run(results: Results, name: str, what: str, command: list[str], output: str,
             server) -> None:
    """Report a failed run: the command, its output and the server's state."""
    results.fail(name, what, f"$ {' '.join(command)}\n{output}{server_state(server)}")


def init_pgbench(server, name: str, results: Results, scale: int, note: str = "") -> str | None:
    """Start `server` and run `pgbench -i -s scale` on it: pgbench's output, or None
    after reporting the failure."""
    server.start()
    progress(f"{name}: pgbench -i -s {scale}{note}")
    command, status, output = pgbench(server, "-i", "-s", str(scale), timeout=3600)
    if status != 0:
        fail_run(results, name, f"pgbench -i: exit status {status}", command, output, server)
        return None
    return output


# -- 1. pgbench --------------------------------------------------------------------------------

def section_pgbench(args, results: Results) -> None:
    figures: dict[str, dict] = {}
    runs = [("TPC-B", []), ("select only (-S)", ["-n", "-S"]),
            ("select only prepared (-M prepared -S)", ["-n", "-M", "prepared", "-S"])]
    for name in SERVERS:
        mine = figures[name] = {}
        with ExitStack() as stack:
            try:
                server = make_server(name, stack, args)
                output = init_pgbench(server, name, results, args.scale)
                if output is None:
                    continue
                match = re.search(r"done in ([\d.]+) s", output)
                mine["init"] = float(match.group(1)) if match else None
                for title, options in runs:
                    progress(f"{name}: pgbench {title}, {args.seconds}s")
                    command, status, output = pgbench(
                        server, "-c", str(args.clients), "-j", str(args.threads),
                        "-T", str(args.seconds), *options, timeout=args.seconds + 300)
                    problem = pgbench_problem(status, output)
                    if problem:
                        fail_run(results, name, f"pgbench {title}: {problem}", command, output,
                                 server)
                    mine[title] = tps(output)
                    try:
                        ok, detail = invariant(server)
                    except Exception as error:
                        ok, detail = False, f"invariant query failed: {error!r}"
                    mine[title + " invariant"] = "OK" if ok else "FAILED"
                    progress(f"{name}: {title}: tps={mine[title]} invariant "
                             f"{'OK' if ok else 'FAILED'} ({detail})")
                    if not ok:
                        results.fail(name, f"invariant broken after pgbench {title}",
                                     f"after $ {' '.join(command)}\n{detail}")
                server.stop()
            except Exception as error:
                results.fail(name, f"pgbench section: {error!r}", str(error))
    results.add(f"pgbench -i -s {args.scale}", "s", {n: figures[n].get("init") for n in SERVERS})
    for title, _ in runs:
        results.add(f"pgbench {title}", "tps", {n: figures[n].get(title) for n in SERVERS})
        results.add("  invariant after the run", "",
                    {n: figures[n].get(title + " invariant") for n in SERVERS})


# -- 2. point lookup vs full scan --------------------------------------------------------------

def load_table(server, rows: int) -> float:
    """CREATE TABLE t and COPY `rows` rows into it; rows/s."""
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS t")
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, v text)")
        start = time.perf_counter()
        with conn.cursor().copy("COPY t (id, v) FROM STDIN") as copy:
            for first in range(1, rows + 1, 10000):
                last = min(first + 10000, rows + 1)
                copy.write("".join(f"{i}\tvalue {i}\n" for i in range(first, last)))
        seconds = time.perf_counter() - start
        conn.execute("VACUUM ANALYZE t")
        count = conn.execute("SELECT count(*) FROM t").fetchone()[0]
        if count != rows:
            raise RuntimeError(f"t has {count} rows after COPY of {rows}")
    return rows / seconds


def plan(conn, query: str, params=()) -> str:
    return "\n".join(row[0] for row in conn.execute("EXPLAIN " + query, params).fetchall())


def section_lookup(args, results: Results) -> None:
    figures: dict[str, dict] = {}
    for name in SERVERS:
        mine = figures[name] = {}
        with ExitStack() as stack:
            try:
                server = make_server(name, stack, args)
                server.start()
                progress(f"{name}: COPY {args.rows:,} rows into t")
                mine["copy"] = load_table(server, args.rows)
                with psycopg.connect(server.conninfo(), autocommit=True) as conn:
                    lookup_plan = plan(conn, "SELECT v FROM t WHERE id = 42")
                    scan_query = "SELECT id FROM t WHERE v = %s"
                    scan_plan = plan(conn, scan_query, (f"value {args.rows // 2}",))
                progress(f"{name}: plan of the lookup: {' / '.join(lookup_plan.splitlines())}")
                progress(f"{name}: plan of the scan: {' / '.join(scan_plan.splitlines())}")
                if "index" not in lookup_plan.lower():
                    results.fail(name, "the point lookup does not use the primary key index",
                                 lookup_plan)

                script = os.path.join(server.directory, "lookup.sql")
                with open(script, "w") as handle:
                    handle.write(f"\\set id random(1, {args.rows})\n"
                                 "SELECT v FROM t WHERE id = :id;\n")
                progress(f"{name}: point lookups, 1 client, {args.lookup_seconds}s")
                command, status, output = pgbench(
                    server, "-n", "-M", "prepared", "-c", "1", "-T", str(args.lookup_seconds),
                    "-f", script, timeout=args.lookup_seconds + 300)
                problem = pgbench_problem(status, output)
                if problem:
                    fail_run(results, name, f"point lookups: {problem}", command, output, server)
                mine["lookup"] = tps(output)

                progress(f"{name}: full scans")
                times = []
                with psycopg.connect(server.conninfo(), autocommit=True) as conn:
                    for attempt in range(args.scans + 1):       # the first one warms up
                        key = f"value {(attempt * 7919) % args.rows + 1}"
                        start = time.perf_counter()
                        found = conn.execute(scan_query, (key,)).fetchall()
                        elapsed = time.perf_counter() - start
                        if len(found) != 1:
                            raise RuntimeError(f"full scan for {key!r} found {found!r}")
                        if attempt:
                            times.append(elapsed)
                mine["scan"] = statistics.median(times)
                mine["scan rate"] = args.rows / mine["scan"]
                server.stop()
            except Exception as error:
                results.fail(name, f"lookup section: {error!r}", str(error))
    rows = f"{args.rows:,}"
    results.add(f"COPY {rows} rows into t (PK)", "rows/s", {n: figures[n].get("copy") for n in SERVERS})
    results.add("point lookup by id (1 client, prepared)", "lookups/s",
                {n: figures[n].get("lookup") for n in SERVERS})
    results.add(f"full scan of {rows} rows (median of {args.scans})", "s",
                {n: figures[n].get("scan") for n in SERVERS})
    results.add("  i.e. rows scanned", "rows/s", {n: figures[n].get("scan rate") for n in SERVERS})


# -- 3. crash recovery -------------------------------------------------------------------------

def reldb_wal_to_replay(server: ReldbProcess) -> tuple[float, str]:
    """Bytes of reldb's log after the redo point of its last checkpoint (what recovery
    reads): from pg_control and the segment files (named by their first LSN)."""
    import json
    with open(os.path.join(server.data, "pg_control")) as handle:
        control = json.load(handle)
    wal = os.path.join(server.data, "wal")
    segments = sorted(int(name, 16) for name in os.listdir(wal) if len(name) == 16)
    end = segments[-1] + os.path.getsize(os.path.join(wal, f"{segments[-1]:016X}"))
    return end - control["redo"], (f"redo point {control['redo']:,}, end of log {end:,}, "
                                   f"{len(segments)} segment(s)")


def lsn(text: str) -> int:
    high, low = text.split("/")
    return (int(high, 16) << 32) + int(low, 16)


def postgres_wal_replayed(server: PostgresCluster, log_offset: int) -> tuple[float | None, str]:
    """Bytes PostgreSQL replayed, from its log lines after `log_offset`."""
    with open(server.log_path, errors="replace") as handle:
        handle.seek(log_offset)
        log = handle.read()
    starts = re.search(r"redo starts at ([0-9A-F]+/[0-9A-F]+)", log)
    done = re.search(r"redo done at ([0-9A-F]+/[0-9A-F]+).*?elapsed: ([\d.]+) s", log)
    if not starts or not done:
        return None, "no redo lines in the log:\n" + log[-2000:]
    return (lsn(done.group(1)) - lsn(starts.group(1)),
            f"redo {starts.group(1)} .. {done.group(1)}, redo elapsed {done.group(2)} s")


def section_recovery(args, results: Results) -> None:
    figures: dict[str, dict] = {}
    for name in SERVERS:
        mine = figures[name] = {}
        with ExitStack() as stack:
            try:
                server = make_server(name, stack, args, crash_test=True)
                if init_pgbench(server, name, results, args.crash_scale,
                                " (long checkpoint interval)") is None:
                    continue
                command = pgbench_command(server, "-c", str(args.clients), "-j", str(args.threads),
                                          "-T", str(args.crash_seconds + 600))
                output_path = os.path.join(server.directory, "pgbench.out")
                progress(f"{name}: TPC-B for {args.crash_seconds}s, then crash")
                with open(output_path, "w") as out:
                    load = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
                stack.callback(lambda: load.poll() is None and (load.kill(), load.wait()))
                time.sleep(args.crash_seconds)
                if load.poll() is not None:
                    with open(output_path) as handle:
                        text = handle.read()
                    fail_run(results, name, "pgbench ended before the crash", command, text,
                             server)
                    continue
                log_offset = os.path.getsize(server.log_path)
                server.crash()
                try:
                    load.wait(120)
                except subprocess.TimeoutExpired:
                    load.kill()
                    load.wait()
                with open(output_path) as handle:
                    load_output = handle.read()
                acknowledged = processed(load_output)
                progress(f"{name}: crashed; pgbench had {acknowledged} transactions done")

                if name == "reldb":
                    mine["wal"], detail = reldb_wal_to_replay(server)
                    log_offset = os.path.getsize(server.log_path)
                progress(f"{name}: restarting")
                mine["restart"] = server.start()
                if name == "postgresql":
                    mine["wal"], detail = postgres_wal_replayed(server, log_offset)
                else:
                    with open(server.log_path, errors="replace") as handle:
                        handle.seek(log_offset)
                        said = [line.strip() for line in handle
                                if re.search(r"recover|redo|replay", line, re.I)]
                    if said:
                        detail += "; the log says: " + " | ".join(said)
                progress(f"{name}: ready after {mine['restart']:.3f}s; WAL: {detail}")

                ok, state = invariant(server)
                rows = int(re.search(r"history rows=(\d+)", state).group(1))
                lost = None if acknowledged is None else max(0, acknowledged - rows)
                mine["invariant"] = "OK" if ok else "FAILED"
                mine["lost"] = lost
                progress(f"{name}: after recovery: {state}; acknowledged {acknowledged}")
                if not ok:
                    results.fail(name, "invariant broken after crash recovery",
                                 f"{state}\npgbench ({' '.join(command)}) said:\n{load_output}")
                if acknowledged is None:
                    results.fail(name, "pgbench output has no transaction count after the crash",
                                 f"$ {' '.join(command)}\n{load_output}")
                elif lost:
                    results.fail(name, f"{lost} acknowledged transactions lost in the crash",
                                 f"pgbench counted {acknowledged}, history has {rows} rows\n"
                                 f"{load_output}")

                progress(f"{name}: clean stop and restart")
                server.stop()
                mine["clean"] = server.start()
                server.stop()
            except Exception as error:
                results.fail(name, f"recovery section: {error!r}", str(error))
    results.add("WAL to replay after the crash", "MB",
                {n: None if figures[n].get("wal") is None else figures[n]["wal"] / 1e6
                 for n in SERVERS})
    results.add("restart after crash, until a query runs", "s",
                {n: figures[n].get("restart") for n in SERVERS})
    results.add("  invariant after recovery", "", {n: figures[n].get("invariant") for n in SERVERS})
    results.add("  acknowledged transactions lost", "",
                {n: None if figures[n].get("lost") is None else str(figures[n]["lost"])
                 for n in SERVERS})
    results.add("clean restart, until a query runs", "s",
                {n: figures[n].get("clean") for n in SERVERS})


# -- main --------------------------------------------------------------------------------------

SECTIONS = {"pgbench": section_pgbench, "lookup": section_lookup, "recovery": section_recovery}
QUICK = dict(scale=1, seconds=5, rows=100_000, lookup_seconds=3, crash_seconds=5)
DEFAULTS = dict(scale=10, seconds=30, rows=1_000_000, lookup_seconds=10, crash_seconds=30)


def parse_args():
    parser = argparse.ArgumentParser(
        description="reldb's storage engine against PostgreSQL (fsync on for both): "
                    "pgbench, point lookup vs full scan, crash recovery.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="a short smoke run: " + ", ".join(f"{k}={v}" for k, v in QUICK.items()))
    parser.add_argument("--scale", type=int, help="pgbench scale factor (default 10)")
    parser.add_argument("--seconds", type=int, help="duration of each pgbench run (default 30)")
    parser.add_argument("--clients", type=int, default=8, help="pgbench -c (default 8)")
    parser.add_argument("--threads", type=int, default=2, help="pgbench -j (default 2)")
    parser.add_argument("--rows", type=int, help="rows of the lookup/scan table (default 1000000)")
    parser.add_argument("--lookup-seconds", type=int, help="duration of the lookups (default 10)")
    parser.add_argument("--scans", type=int, default=3, help="timed full scans (default 3)")
    parser.add_argument("--crash-seconds", type=int,
                        help="seconds of TPC-B before the crash (default 30)")
    parser.add_argument("--crash-scale", type=int, help="pgbench scale of the crash test "
                                                        "(default: --scale)")
    parser.add_argument("--cache-size", default="256mb",
                        help="reldb --cache-size and PostgreSQL shared_buffers (default 256mb)")
    parser.add_argument("--sections", default=",".join(SECTIONS),
                        help="comma-separated, among " + ", ".join(SECTIONS))
    args = parser.parse_args()
    chosen = QUICK if args.quick else DEFAULTS
    for key, value in chosen.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.crash_scale is None:
        args.crash_scale = args.scale
    args.sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    for section in args.sections:
        if section not in SECTIONS:
            parser.error(f"unknown section {section!r}")
    if not re.fullmatch(r"\d+[km]b", args.cache_size.lower()):
        parser.error("--cache-size: a number of kb or mb, e.g. 256mb")
    return args


def main() -> int:
    args = parse_args()

    def interrupted(signum, frame):
        raise SystemExit(f"interrupted by signal {signum}")
    signal.signal(signal.SIGTERM, interrupted)   # run the clean-ups on kill too

    results = Results()
    print(f"reldb_storage_bench: scale={args.scale} seconds={args.seconds} "
          f"clients={args.clients} threads={args.threads} rows={args.rows:,} "
          f"crash after {args.crash_seconds}s at scale {args.crash_scale}, "
          f"cache {args.cache_size}; fsync on, synchronous_commit on for both", flush=True)
    started = time.perf_counter()
    first = True
    try:
        for section in args.sections:
            SECTIONS[section](args, results)
            results.print_new(header=first)
            first = False
    finally:
        results.print_new(header=first)
        results.print_failures()
        print(f"\ntotal {time.perf_counter() - started:.0f}s", flush=True)
    return 1 if results.failures else 0


if __name__ == "__main__":
    sys.exit(main())
