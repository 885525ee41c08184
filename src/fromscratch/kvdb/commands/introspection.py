"""The server describing itself: INFO, COMMAND, SLOWLOG, LATENCY, MONITOR, TIME, DEBUG."""

from __future__ import annotations

import logging
import os
import platform
import resource
import signal
import sys
import time

from ...glob import compile_pattern
from ...resp import (Attributed, BigNumber, Encoded, ErrorReply, OrderedSet, Push, SimpleString,
                     Verbatim)
from ..client import OK
from ..config import ConfigError, format_percentile, parse_memory
from ..crash import crash
from ..diagnostics import percentile
from ..digest import EMPTY as EMPTY_DIGEST, dataset_digest, value_digest
from ..memory import human_bytes
from ..persistence.aof import CorruptAof
from ..persistence.child_info import IDLE_FIELDS
from ..persistence.snapshot import CorruptSnapshot
from ..table import command, container, subcommand
from ..version import REDIS_VERSION
from .args import SYNTAX, count_arg, parse_int, subcommand_syntax_error
from .config import rewrite_config_file
from .keys import encoding_of

log = logging.getLogger("fromscratch.kvdb")

# -- INFO -----------------------------------------------------------------------------------

DEFAULT_SECTIONS = ("server", "clients", "memory", "persistence", "stats", "replication",
                    "cpu", "modules", "errorstats", "cluster", "keyspace")
ALL_SECTIONS = DEFAULT_SECTIONS + ("commandstats", "latencystats")


def process_rss() -> int:
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _system_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 0


def _section_server(kv) -> list:
    uptime = int(time.time() - kv.started_at)
    hosts = kv.tcp.host if isinstance(kv.tcp.host, list) else [kv.tcp.host]
    listeners = []
    if kv.tcp.port:
        listeners.append(f"name=tcp,bind={' '.join(hosts)},port={kv.tcp.port}")
    if kv.tcp.unix_path:
        listeners.append(f"name=unix,bind={kv.tcp.unix_path}")
    if kv.tcp.tls_port:
        listeners.append(f"name=tls,bind={' '.join(hosts)},port={kv.tcp.tls_port}")
    # A shutdown waiting for lagging replicas says how long it may still wait.
    waiting = ([("shutdown_in_milliseconds",
                 max(0, int((kv.shutdown_wait[0] - time.monotonic()) * 1000)))]
               if kv.shutdown_wait is not None else [])
    return [
        ("redis_version", REDIS_VERSION), ("redis_git_sha1", "00000000"),
        ("redis_git_dirty", 0), ("redis_build_id", "fromscratch"), ("redis_mode", "standalone"),
        ("os", f"{platform.system()} {platform.release()} {platform.machine()}"),
        ("arch_bits", 64 if sys.maxsize > 2**32 else 32),
        ("monotonic_clock", "POSIX clock_gettime"), ("multiplexing_api", "epoll"),
        ("atomicvar_api", "c11-builtin"), ("gcc_version", "0.0.0"),
        ("process_id", os.getpid()), ("process_supervised", "no"), ("run_id", kv.run_id),
        ("tcp_port", kv.tcp.port or kv.tcp.tls_port), ("server_time_usec", int(time.time() * 1e6)),
        ("uptime_in_seconds", uptime), ("uptime_in_days", uptime // 86400),
        ("hz", kv.config["hz"]), ("configured_hz", kv.config["hz"]),
        ("lru_clock", kv.keyspace.lru_clock & 0xFFFFFF),
        ("executable", os.path.abspath(sys.argv[0])),
        ("config_file", kv.config.file or ""), ("io_threads_active", 0),
        ("implementation", f"fromscratch (Python {platform.python_version()})"),
    ] + [(f"listener{number}", text) for number, text in enumerate(listeners)] + waiting


def _section_clients(kv) -> list:
    clients = kv.clients.values()
    return [
        # As in Redis, replicas are not counted (they are in connected_slaves).
        ("connected_clients", len(kv.clients) - len(kv.replication.listed())),
        ("cluster_connections", 0),
        ("maxclients", kv.config["maxclients"]),
        ("client_recent_max_input_buffer", max((c.parser.query_buffer_room for c in clients), default=0)),
        ("client_recent_max_output_buffer", max((c.output_buffer_size for c in clients), default=0)),
        ("blocked_clients", kv.blocking.blocked_clients), ("tracking_clients", len(kv.tracking.tracking_clients)),
        ("pubsub_clients", sum(1 for c in clients if c.subscriptions_count())),
        ("watching_clients", sum(1 for c in clients if c.watching)),
        ("clients_in_timeout_table", kv.blocking.blocked_clients),
        ("total_watched_keys", sum(len(db.watched) for db in kv.keyspace.dbs)),
        ("total_blocking_keys", sum(len(db.blocked) for db in kv.keyspace.dbs)),
        ("total_blocking_keys_on_nokey", 0),
    ]


def _section_memory(kv) -> list:
    used = kv.used_memory()
    dataset = kv.keyspace.used_memory()
    rss = process_rss()
    kv.peak_memory = max(kv.peak_memory, used)
    maxmemory = kv.config["maxmemory"]
    system = _system_memory()
    aof_buffer = sum(map(len, kv.aof.buffer)) if kv.aof is not None else 0
    replica_memory = client_memory = 0      # each connection's cost and its buffers
    replica_buffers = 0                     # (which maxmemory does not count, as Redis)
    for client in kv.clients.values():
        size = client.memory_usage()
        if client.replica_since is None:
            client_memory += size
        else:
            replica_memory += size
            replica_buffers += client.output_buffer_size
    backlog = kv.replication.backlog
    return [
        ("used_memory", used), ("used_memory_human", human_bytes(used)),
        ("used_memory_rss", rss), ("used_memory_rss_human", human_bytes(rss)),
        ("used_memory_peak", kv.peak_memory), ("used_memory_peak_human", human_bytes(kv.peak_memory)),
        ("used_memory_peak_perc", f"{100 * used / max(kv.peak_memory, 1):.2f}%"),
        ("used_memory_overhead", used - dataset), ("used_memory_startup", 0),
        ("used_memory_dataset", dataset),
        ("used_memory_dataset_perc", f"{100 * dataset / max(used, 1):.2f}%"),
        # No allocator of our own to look into: what it holds is what we count, and the
        # rest of RSS (the interpreter's own) shows as the allocator's RSS overhead.
        ("allocator_allocated", used), ("allocator_active", used), ("allocator_resident", rss),
        ("total_system_memory", system), ("total_system_memory_human", human_bytes(system)),
        # Scripts run in our own interpreter, whose memory is not measured apart.
        ("used_memory_lua", 0), ("used_memory_vm_eval", 0), ("used_memory_lua_human", "0B"),
        ("used_memory_scripts_eval", 0),
        ("number_of_cached_scripts", len(kv.scripting.scripts)),
        ("number_of_functions", len(kv.functions.registry.functions)),
        ("number_of_libraries", len(kv.functions.registry.libraries)),
        ("used_memory_vm_functions", 0), ("used_memory_vm_total", 0),
        ("used_memory_vm_total_human", "0B"), ("used_memory_functions", 0),
        ("used_memory_scripts", 0), ("used_memory_scripts_human", "0B"),
        ("maxmemory", maxmemory), ("maxmemory_human", human_bytes(maxmemory)),
        ("maxmemory_policy", kv.config["maxmemory-policy"]),
        ("allocator_frag_ratio", "1.00"), ("allocator_frag_bytes", 0),
        ("allocator_rss_ratio", f"{rss / max(used, 1):.2f}"), ("allocator_rss_bytes", rss - used),
        ("rss_overhead_ratio", "1.00"), ("rss_overhead_bytes", 0),
        # The interpreter itself is in RSS but not in used_memory: expect a high ratio
        # on a small dataset.
        ("mem_fragmentation_ratio", f"{rss / max(used, 1):.2f}"),
        ("mem_fragmentation_bytes", rss - used),
        ("mem_not_counted_for_evict", aof_buffer + replica_buffers),
        ("mem_replication_backlog", len(backlog) if backlog is not None else 0),
        ("mem_total_replication_buffers", kv.replication.buffer_memory()),
        ("mem_clients_slaves", replica_memory), ("mem_clients_normal", client_memory),
        ("mem_cluster_links", 0), ("mem_aof_buffer", aof_buffer),
        ("mem_allocator", "pymalloc"), ("active_defrag_running", 0),
        ("lazyfree_pending_objects", 0), ("lazyfreed_objects", kv.keyspace.lazyfreed_objects),
    ]


def _section_persistence(kv) -> list:
    snapshots, aof = kv.snapshotter, kv.aof
    rewriting, rewrites = kv.aof_rewriting, kv.aof_history
    now = time.time()
    child = kv.child_progress
    if child is not None:
        child.read()                    # the saving child's latest report
    return [
        # Copy-on-write in children is not measured: those fields are zero.
        ("loading", int(kv.loading and not kv.async_loading)),
        ("async_loading", int(kv.async_loading)),
        *(child.info_fields() if child is not None else IDLE_FIELDS),
        ("rdb_changes_since_last_save", kv.keyspace.dirty),
        # (A diskless sync's child counts, as in Redis: it writes an RDB file too.)
        ("rdb_bgsave_in_progress",
         int(snapshots.in_progress or kv.replication.transfer is not None)),
        ("rdb_last_save_time", int(snapshots.last_save_time)),
        ("rdb_last_bgsave_status", "ok" if snapshots.last_status_ok else "err"),
        ("rdb_last_bgsave_time_sec", snapshots.last_duration),
        ("rdb_current_bgsave_time_sec",
         int(now - snapshots.child_started) if snapshots.in_progress else -1),
        ("rdb_saves", snapshots.saves), ("rdb_last_cow_size", snapshots.last_cow_size),
        ("rdb_last_load_keys_expired", kv.last_load_keys[1]),
        ("rdb_last_load_keys_loaded", kv.last_load_keys[0]),
        ("aof_enabled", 1 if aof is not None or kv.config["appendonly"] else 0),
        ("aof_rewrite_in_progress", 1 if rewriting else 0),
        ("aof_rewrite_scheduled", int(kv.aof_rewrite_scheduled)),
        ("aof_last_rewrite_time_sec", rewrites.last_duration),
        ("aof_current_rewrite_time_sec", int(now - rewriting.rewrite_started) if rewriting else -1),
        ("aof_last_bgrewrite_status", "ok" if rewrites.last_ok else "err"),
        ("aof_rewrites", rewrites.rewrites),
        ("aof_rewrites_consecutive_failures", rewrites.failures),
        ("aof_last_write_status", "ok" if aof is None or aof.last_write_ok else "err"),
        ("aof_last_cow_size", rewrites.last_cow_size), ("module_fork_in_progress", 0),
        ("module_fork_last_cow_size", 0),
    ] + ([("aof_current_size", aof.current_size()), ("aof_base_size", aof.base_size),
          ("aof_buffer_length", sum(map(len, aof.buffer)))] if aof is not None else []
    ) + (kv.load_progress.info_fields() if kv.load_progress is not None else [])


def _section_stats(kv) -> list:
    stats = kv.tcp.stats
    keyspace = kv.keyspace
    replication = kv.replication
    input_kbps, output_kbps, replicas_kbps = kv.traffic_kbps
    exceeded_total_ms, exceeded_current_ms = kv.evictor.exceeded_ms()
    loop_turns, loop_usec = kv.event_loop_figures()
    # Never a replica, never evicting clients, no I/O threads, no defragmentation, no
    # reply buffers that grow and shrink: those counts are zero.
    return [
        ("total_connections_received", stats.connections_received),
        ("total_commands_processed", kv.commands_processed),
        ("instantaneous_ops_per_sec", kv.ops_per_sec),
        ("total_net_input_bytes", stats.bytes_received),
        ("total_net_output_bytes", stats.bytes_sent),
        ("total_net_repl_input_bytes", 0),
        ("total_net_repl_output_bytes", replication.bytes_sent),
        ("instantaneous_input_kbps", f"{input_kbps:.2f}"),
        ("instantaneous_output_kbps", f"{output_kbps:.2f}"),
        ("instantaneous_input_repl_kbps", "0.00"),
        ("instantaneous_output_repl_kbps", f"{replicas_kbps:.2f}"),
        ("rejected_connections", stats.connections_rejected),
        ("sync_full", replication.full_syncs), ("sync_partial_ok", replication.partial_syncs),
        ("sync_partial_err", replication.failed_partial_syncs),
        ("expired_keys", keyspace.expired_keys),
        ("expired_stale_perc", f"{keyspace.expired_stale_share * 100:.2f}"),
        ("expired_time_cap_reached_count", keyspace.expire_time_cap_reached),
        ("expire_cycle_cpu_milliseconds", int(keyspace.expire_cycle_seconds * 1000)),
        ("evicted_keys", keyspace.evicted_keys), ("evicted_clients", kv.evictor.evicted_clients),
        ("total_eviction_exceeded_time", exceeded_total_ms),
        ("current_eviction_exceeded_time", exceeded_current_ms),
        ("keyspace_hits", keyspace.hits), ("keyspace_misses", keyspace.misses),
        ("pubsub_channels", kv.pubsub_channel_count()),
        ("pubsub_patterns", kv.pubsub_pattern_count()),
        ("pubsubshard_channels", len(kv.broker.shard_channels)),
        ("latest_fork_usec", kv.latest_fork_usec), ("total_forks", kv.forks),
        ("migrate_cached_sockets", len(kv.migrate_links)),
        ("slave_expires_tracked_keys", 0),
        ("active_defrag_hits", 0), ("active_defrag_misses", 0), ("active_defrag_key_hits", 0),
        ("active_defrag_key_misses", 0), ("total_active_defrag_time", 0),
        ("current_active_defrag_time", 0),
        ("tracking_total_keys", len(kv.tracking.readers)),
        ("tracking_total_items", kv.tracking.total_items),
        ("tracking_total_prefixes", len(kv.tracking.prefixes)),
        ("unexpected_error_replies", 0),
        ("total_error_replies", sum(kv.error_counts.values())),
        ("dump_payload_sanitizations", 0),
        ("total_reads_processed", stats.reads), ("total_writes_processed", stats.writes),
        ("io_threaded_reads_processed", 0), ("io_threaded_writes_processed", 0),
        ("reply_buffer_shrinks", 0), ("reply_buffer_expands", 0),
        ("eventloop_cycles", loop_turns), ("eventloop_duration_sum", loop_usec),
        ("eventloop_duration_cmd_sum", kv.commands_usec),
        ("instantaneous_eventloop_cycles_per_sec", kv.loop_turns_per_sec),
        ("instantaneous_eventloop_duration_usec", kv.loop_turn_usec),
        ("acl_access_denied_auth", kv.acl_denials["auth"]),
        ("acl_access_denied_cmd", kv.acl_denials["command"]),
        ("acl_access_denied_key", kv.acl_denials["key"]),
        ("acl_access_denied_channel", kv.acl_denials["channel"]),
    ]


def _section_replication(kv) -> list:
    replication = kv.replication
    now = time.time()
    replicas = [(f"slave{number}",
                 f"ip={replica.replica_address},port={replica.replica_port},state={state},"
                 f"offset={replica.replica_acked},lag={int(now - replica.replica_ack_time)}")
                for number, (replica, state) in enumerate(replication.listed())]
    link = kv.primary_link
    return [*(_following(kv, link) if link else [("role", "master")]),
            ("connected_slaves", len(replicas)), *replicas,
            ("master_failover_state", kv.failover.state), ("master_replid", replication.replid),
            ("master_replid2", replication.replid2),
            ("master_repl_offset", replication.offset),
            ("second_repl_offset", replication.second_offset),
            ("repl_backlog_active", int(replication.backlog is not None)),
            ("repl_backlog_size", kv.config["repl-backlog-size"]),
            ("repl_backlog_first_byte_offset", replication.backlog_first_offset()),
            ("repl_backlog_histlen", len(replication.backlog or b""))]


def _following(kv, link) -> list:
    """INFO replication's fields of a replica: the primary, the link, the sync."""
    now = time.monotonic()
    offset = link.offset if link.synced_once else 1
    read_offset = link.read_offset if link.synced_once else 1
    fields = [("role", "slave"), ("master_host", link.host), ("master_port", link.port),
              ("master_link_status", "up" if link.link_up else "down"),
              ("master_last_io_seconds_ago", int(now - link.last_io) if link.link_up else -1),
              ("master_sync_in_progress", int(link.state == "sync")),
              ("slave_read_repl_offset", read_offset), ("slave_repl_offset", offset)]
    if link.state == "sync":
        total, read = link.sync_bytes_expected, link.sync_bytes_read
        fields += [("master_sync_total_bytes", total), ("master_sync_read_bytes", read),
                   ("master_sync_left_bytes", total - read),
                   ("master_sync_perc", f"{100 * read / total if total > 0 else 0:.2f}"),
                   ("master_sync_last_io_seconds_ago", int(now - link.last_io))]
    if not link.link_up:
        fields.append(("master_link_down_since_seconds", int(now - link.down_since)))
    return fields + [("slave_priority", kv.config["replica-priority"]),
                     ("slave_read_only", int(kv.config["replica-read-only"])),
                     ("replica_announced", int(kv.config["replica-announced"]))]


def _section_cpu(kv) -> list:
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return [("used_cpu_sys", f"{me.ru_stime:.6f}"), ("used_cpu_user", f"{me.ru_utime:.6f}"),
            ("used_cpu_sys_children", f"{children.ru_stime:.6f}"),
            ("used_cpu_user_children", f"{children.ru_utime:.6f}"),
            ("used_cpu_sys_main_thread", f"{me.ru_stime:.6f}"),
            ("used_cpu_user_main_thread", f"{me.ru_utime:.6f}")]


def _all_commands(table):
    """The commands that keep statistics: a container only if it counts as one."""
    for cmd in table:
        if cmd.handler is not None or cmd.one_command:
            yield cmd
        yield from cmd.subcommands.values()


def _section_commandstats(kv) -> list:
    return [(f"cmdstat_{cmd.full_name}",
             f"calls={cmd.calls},usec={cmd.usec},"
             f"usec_per_call={cmd.usec / cmd.calls if cmd.calls else 0:.2f},"
             f"rejected_calls={cmd.rejected_calls},failed_calls={cmd.failed_calls}")
            for cmd in _all_commands(kv.table) if cmd.calls or cmd.rejected_calls]


def _section_latencystats(kv) -> list:
    wanted = kv.config["latency-tracking-info-percentiles"]
    return [(f"latency_percentiles_usec_{cmd.full_name}",
             ",".join(f"p{format_percentile(wanted_percentile)}="
                      f"{percentile(cmd.histogram, wanted_percentile / 100):.3f}"
                      for wanted_percentile in wanted))
            for cmd in _all_commands(kv.table) if any(cmd.histogram)]


def _section_errorstats(kv) -> list:
    return [(f"errorstat_{code}", f"count={count}") for code, count in sorted(kv.error_counts.items())]


def _section_keyspace(kv) -> list:
    lines = []
    for db in kv.keyspace.dbs:
        if db.data:
            lines.append((f"db{db.index}",
                          f"keys={len(db.data)},expires={len(db.volatile)},avg_ttl={db.average_ttl()}"))
    return lines


SECTIONS = {
    "server": _section_server, "clients": _section_clients, "memory": _section_memory,
    "persistence": _section_persistence, "stats": _section_stats,
    "replication": _section_replication, "cpu": _section_cpu, "modules": lambda kv: [],
    "commandstats": _section_commandstats, "errorstats": _section_errorstats,
    "latencystats": _section_latencystats,
    "cluster": lambda kv: [("cluster_enabled", 0)], "keyspace": _section_keyspace,
}


def info_text(kv, requested: list[str]) -> str:
    wanted = [name.lower() for name in requested] or ["default"]
    names: list[str] = []
    for name in wanted:
        if name == "default":
            names += DEFAULT_SECTIONS
        elif name in ("all", "everything"):
            names += ALL_SECTIONS
        elif name in SECTIONS:
            names.append(name)
    blocks = []
    for name in dict.fromkeys(names):
        fields = SECTIONS[name](kv)
        lines = [f"# {name.capitalize() if name != 'cpu' else 'CPU'}"]
        lines += [f"{key}:{value}" for key, value in fields]
        blocks.append("\r\n".join(lines) + "\r\n")
    return "\r\n".join(blocks)


@command("info", arity=-1, flags="loading stale", group="server", since="1.0.0",
         summary="Returns information and statistics about the server.", complexity="O(1)",
         syntax="[section...]", acl="@dangerous")
def info(client, argv):
    text = info_text(client.kv, [arg.decode("utf-8", "replace") for arg in argv[1:]])
    return Verbatim(text)          # RESP2 clients get it as a bulk string (writer.py)


# -- COMMAND ------------------------------------------------------------------------------

def _all_command_info(client, argv):
    return [cmd.info() for cmd in client.kv.table]


container("command", flags="loading stale", group="server", since="2.8.13", acl="@connection",
          summary="Returns detailed information about all commands.",
          handler=_all_command_info, arity=-1)


@subcommand("command", "count", arity=2, flags="loading stale", acl="@connection",
            since="2.8.13",
            summary="Returns a count of commands.", complexity="O(1)")
def command_count(client, argv):
    return len(client.kv.table)


def _named(table, argv: list, start: int):
    for arg in argv[start:]:
        name = arg.decode("utf-8", "replace").lower()
        parent, _, child = name.partition("|")
        cmd = table.commands.get(parent)
        if cmd is not None and child:
            cmd = cmd.subcommands.get(child)
        yield name, cmd


@subcommand("command", "info", arity=-2, flags="loading stale", acl="@connection",
            since="2.8.13",
            summary="Returns information about one, multiple or all commands.",
            complexity="O(N) where N is the number of commands to look up",
            syntax="[command-name...]")
def command_info(client, argv):
    if len(argv) == 2:
        return [cmd.info() for cmd in client.kv.table]
    return [None if cmd is None else cmd.info() for _, cmd in _named(client.kv.table, argv, 2)]


@subcommand("command", "docs", arity=-2, flags="loading stale", acl="@connection",
            since="7.0.0",
            summary="Returns documentary information about one, multiple or all commands.",
            complexity="O(N) where N is the number of commands to look up",
            syntax="[command-name...]")
def command_docs(client, argv):
    table = client.kv.table
    if len(argv) == 2:
        return {cmd.name.encode(): cmd.docs() for cmd in table}
    return {name.encode(): cmd.docs() for name, cmd in _named(table, argv, 2) if cmd is not None}


@subcommand("command", "list", arity=-2, flags="loading stale", acl="@connection",
            since="7.0.0",
            summary="Returns a list of command names.",
            complexity="O(N) where N is the total number of Redis commands",
            syntax="[filterby: FILTERBY (MODULE module-name | ACLCAT category | PATTERN pattern)]")
def command_list(client, argv):
    """Every command name, subcommands included as `parent|sub`, as Redis lists them."""
    commands = [each for cmd in client.kv.table for each in (cmd, *cmd.listed_subcommands())]
    if len(argv) == 2:
        return [cmd.full_name.encode() for cmd in commands]
    if len(argv) != 5 or argv[2].upper() != b"FILTERBY":
        raise SYNTAX
    kind, value = argv[3].upper(), argv[4].decode("utf-8", "replace")
    if kind == b"MODULE":
        return []
    if kind == b"ACLCAT":
        category = "@" + value.lower().lstrip("@")
        return [cmd.full_name.encode() for cmd in commands if category in cmd.acl_categories]
    if kind == b"PATTERN":
        match = compile_pattern(value.encode(), nocase=True)
        return [cmd.full_name.encode() for cmd in commands if match(cmd.full_name.encode())]
    raise SYNTAX


def _getkeys(client, argv):
    target = argv[2:]
    cmd = client.kv.table.resolve(target)
    if cmd is None:
        raise ErrorReply("ERR Invalid command specified")
    if not cmd.has_keys:
        raise ErrorReply("ERR The command has no key arguments")
    if (cmd.arity > 0 and len(target) != cmd.arity) or len(target) < -cmd.arity:
        raise ErrorReply("ERR Invalid number of arguments specified for command")
    keys = [(target[index], flags) for index, flags in cmd.keys_and_flags(target)]
    if not keys and "no_mandatory_keys" not in cmd.flags:
        raise ErrorReply("ERR Invalid arguments specified for command")
    return keys


@subcommand("command", "getkeys", arity=-3, flags="loading stale", acl="@connection",
            since="2.8.13",
            summary="Extracts the key names from an arbitrary command.",
            complexity="O(N) where N is the number of arguments to the command",
            syntax="command arg...")
def command_getkeys(client, argv):
    return [key for key, _ in _getkeys(client, argv)]


@subcommand("command", "getkeysandflags", arity=-3, flags="loading stale", acl="@connection",
            since="7.0.0",
            summary="Extracts the key names and access flags for an arbitrary command.",
            complexity="O(N) where N is the number of arguments to the command",
            syntax="command arg...")
def command_getkeysandflags(client, argv):
    return [[key, OrderedSet(map(SimpleString, flags))] for key, flags in _getkeys(client, argv)]


# -- SLOWLOG and LATENCY --------------------------------------------------------------------

container("slowlog", group="server", since="2.2.12",
          summary="A container for slow log commands.")


@subcommand("slowlog", "get", arity=-2, flags="admin loading stale", since="2.2.12",
            summary="Returns the slow log's entries.",
            complexity="O(N) where N is the number of entries returned", syntax="[count]")
def slowlog_get(client, argv):
    count = 10
    if len(argv) == 3:
        count = parse_int(argv[2], ErrorReply("ERR count should be greater than or equal to -1"))
        if count < -1:
            raise ErrorReply("ERR count should be greater than or equal to -1")
    elif len(argv) > 3:
        raise SYNTAX
    entries = list(client.kv.slowlog.entries)
    return entries if count == -1 else entries[:count]


@subcommand("slowlog", "len", arity=2, flags="admin loading stale", since="2.2.12",
            summary="Returns the number of entries in the slow log.", complexity="O(1)")
def slowlog_len(client, argv):
    return len(client.kv.slowlog.entries)


@subcommand("slowlog", "reset", arity=2, flags="admin loading stale", since="2.2.12",
            summary="Clears all entries from the slow log.",
            complexity="O(N) where N is the number of entries in the slowlog")
def slowlog_reset(client, argv):
    client.kv.slowlog.entries.clear()
    return OK


container("latency", group="server", since="2.8.13",
          summary="A container for latency diagnostics commands.")


@subcommand("latency", "latest", arity=2, flags="admin noscript loading stale", since="2.8.13",
            summary="Returns the latest latency samples for all events.",
            complexity="O(1)")
def latency_latest(client, argv):
    return client.kv.latency.latest()


@subcommand("latency", "history", arity=3, flags="admin noscript loading stale",
            since="2.8.13", summary="Returns timestamp-latency samples for an event.",
            complexity="O(1)", syntax="event")
def latency_history(client, argv):
    return client.kv.latency.history(argv[2].decode("utf-8", "replace"))


@subcommand("latency", "graph", arity=3, flags="admin noscript loading stale",
            since="2.8.13", summary="Returns a latency graph for an event.",
            complexity="O(1)", syntax="event")
def latency_graph(client, argv):
    event = argv[2].decode("utf-8", "replace")
    graph = client.kv.latency.graph(event)
    if graph is None:
        raise ErrorReply(f"ERR No samples available for event '{event}'")
    return Verbatim(graph)          # RESP2 clients get it as a bulk string (writer.py)


@subcommand("latency", "reset", arity=-2, flags="admin noscript loading stale",
            since="2.8.13", summary="Resets the latency data for one or more events.",
            complexity="O(1)", syntax="[event...]")
def latency_reset(client, argv):
    return client.kv.latency.reset([arg.decode("utf-8", "replace") for arg in argv[2:]])


@subcommand("latency", "doctor", arity=2, flags="admin noscript loading stale",
            since="2.8.13", summary="Returns a human-readable latency analysis report.",
            complexity="O(1)")
def latency_doctor(client, argv):
    """Redis's report, without the advice it gives for some kinds of event."""
    kv = client.kv
    monitor = kv.latency
    if not monitor.events and kv.config["latency-monitor-threshold"] == 0:
        text = ("I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this "
                "Redis instance. You may use \"CONFIG SET latency-monitor-threshold "
                "<milliseconds>.\" in order to enable it. If we weren't in a deep space "
                "mission I'd suggest to take a look at "
                "https://redis.io/topics/latency-monitor.\n")
    elif not monitor.events:
        text = ("Dave, no latency spike was observed during the lifetime of this Redis "
                "instance, not in the slightest bit. I honestly think you ought to sleep "
                "tonight.\n")
    else:
        lines = ["Dave, I have observed latency spikes in this Redis instance. You don't "
                 "mind talking about it, do you Dave?\n\n"]
        now = int(time.time())
        for number, event in enumerate(monitor.events, 1):
            samples = [ms for _, ms in monitor.history(event)]
            average = sum(samples) // len(samples)
            deviation = sum(abs(average - ms) for ms in samples) // len(samples)
            period = max(now - monitor.history(event)[0][0], 1)
            lines.append(f"{number}. {event}: {len(samples)} latency spikes (average "
                         f"{average}ms, mean deviation {deviation}ms, period "
                         f"{period / len(samples):.2f} sec). Worst all time event "
                         f"{monitor.events[event]['max']}ms.\n")
        lines.append("\nWhile there are latency events logged, I'm not able to suggest any "
                     "easy fix. Please use the Redis community to get some help, providing "
                     "this report in your help request.\n")
        text = "".join(lines)
    return Verbatim(text)          # RESP2 clients get it as a bulk string (writer.py)


@subcommand("latency", "histogram", arity=-2, flags="admin noscript loading stale",
            since="7.0.0", summary="Returns the cumulative distribution of latencies of a "
                                   "subset or all commands.",
            complexity="O(N) where N is the number of commands with latency information "
                       "being retrieved.", syntax="[command...]")
def latency_histogram(client, argv):
    if len(argv) > 2:
        # A container named stands for its subcommands too (CLIENT: CLIENT|ID...).
        chosen = [one for _, cmd in _named(client.kv.table, argv, 2) if cmd is not None
                  for one in (cmd, *cmd.subcommands.values())]
    else:
        chosen = list(_all_commands(client.kv.table))
    result = {}
    for cmd in chosen:
        calls = sum(cmd.histogram)
        if not calls:
            continue
        cumulative, buckets = 0, {}
        for bucket, count in enumerate(cmd.histogram):
            if count:
                cumulative += count
                buckets[1 << bucket] = cumulative
        result[cmd.full_name.encode()] = {"calls": calls, "histogram_usec": buckets}
    return result


# -- MONITOR, TIME, LASTSAVE, DEBUG ------------------------------------------------------------

@command("monitor", arity=1, flags="admin noscript loading stale", group="server",
         since="1.0.0", summary="Listens for all requests received by the server in real "
                                "time.")
def monitor(client, argv):
    client.kv.add_monitor(client)
    return OK


@command("time", arity=1, flags="loading stale fast", group="server", since="2.6.0",
         summary="Returns the server time.", complexity="O(1)")
def time_(client, argv):
    now = time.time_ns() // 1000
    return [b"%d" % (now // 1_000_000), b"%d" % (now % 1_000_000)]


@command("lolwut", arity=-1, flags="readonly fast", group="server", since="5.0.0",
         summary="Displays computer art and the Redis version", syntax="[VERSION version]")
def lolwut(client, argv):
    # Redis draws art for its versions 5 and 6 and prints only this line otherwise; we
    # draw none.
    text = f"Redis ver. {REDIS_VERSION}\n"
    return Verbatim(text)          # RESP2 clients get it as a bulk string (writer.py)


container("module", group="server", since="4.0.0",
          summary="A container for module commands.")

MODULES_REFUSED = ErrorReply(
    "ERR MODULE command not allowed. If the enable-module-command option is set to "
    "\"local\", you can run it from a local connection, otherwise you need to set this "
    "option in the configuration file, and then restart the server.")


@subcommand("module", "list", arity=2, flags="admin noscript", since="4.0.0",
            summary="Returns all loaded modules.", complexity="O(N) where N is the number "
                                                              "of loaded modules.")
def module_list(client, argv):
    return []                   # modules are C shared objects: this server loads none


def _refuse_modules(client, argv):
    raise MODULES_REFUSED       # what Redis answers with enable-module-command no


for _name, _arity, _syntax, _summary in (
        ("load", -3, "path [arg...]", "Loads a module."),
        ("loadex", -3, "path [CONFIG name value]... [ARGS arg...]",
         "Loads a module using extended parameters."),
        ("unload", 3, "name", "Unloads a module.")):
    subcommand("module", _name, arity=_arity, flags="admin noscript no_async_loading",
               since="4.0.0", summary=_summary, syntax=_syntax)(_refuse_modules)


container("debug", flags="admin noscript loading stale protected", group="server", since="1.0.0",
          summary="A container for debugging commands.", one_command=True)


@subcommand("debug", "sleep", arity=3, flags="admin noscript loading stale",
            summary="Stops the server for the given seconds (blocking every client).",
            syntax="seconds:double")
def debug_sleep(client, argv):
    try:
        seconds = float(argv[2])
    except ValueError:
        raise ErrorReply("ERR value is not a valid float") from None
    time.sleep(max(seconds, 0))
    return OK


@subcommand("debug", "error", arity=3, flags="admin noscript loading stale",
            summary="Answers with the given error (redis-py's tests use it).",
            syntax="message")
def debug_error(client, argv):
    # Written as it is, as Redis does: no ERR prefix, and not counted as a failed call.
    message = argv[2].replace(b"\r", b" ").replace(b"\n", b" ")
    return Encoded(b"-" + message + b"\r\n")


@subcommand("debug", "segfault", arity=2, flags="admin noscript loading stale",
            summary="Crashes the server as a segmentation fault would: the crash report "
                    "in the log, then death by SIGSEGV.")
def debug_segfault(client, argv):
    crash(client.kv, signal.SIGSEGV, client=client, argv=argv)


@subcommand("debug", "panic", arity=2, flags="admin noscript loading stale",
            summary="Crashes the server as a panic would: its words and the crash report "
                    "in the log, then death by SIGABRT.")
def debug_panic(client, argv):
    crash(client.kv, signal.SIGABRT, client=client, argv=argv, headline=[
        "------------------------------------------------",
        "!!! Software Failure. Press left mouse button to continue",
        f"Guru Meditation: DEBUG PANIC called at Unix time {int(time.time())}"])


@subcommand("debug", "assert", arity=2, flags="admin noscript loading stale",
            summary="Crashes the server as a failed assertion would: its words and the "
                    "crash report in the log, then death by SIGABRT.")
def debug_assert(client, argv):
    crash(client.kv, signal.SIGABRT, client=client, argv=argv,
          headline=["=== ASSERTION FAILED ===", "==> '1 == 2' is not true"])


@subcommand("debug", "config-rewrite-force-all", arity=2, flags="admin noscript loading stale",
            summary="Rewrites the config file with every parameter, defaults included.")
def debug_config_rewrite_force_all(client, argv):
    try:
        rewrite_config_file(client.kv, force_all=True)
    except OSError as exc:
        raise ErrorReply(f"ERR CONFIG-REWRITE-FORCE-ALL failed: {exc}") from None
    return OK


@subcommand("debug", "set-skip-checksum-validation", arity=3,
            flags="admin noscript loading stale",
            summary="Turns off (1) or on (0) the check of RESTORE's and FUNCTION "
                    "RESTORE's payload checksums (a test tool).", syntax="flag:integer")
def debug_set_skip_checksum_validation(client, argv):
    client.kv.skip_checksum_validation = parse_int(argv[2]) != 0
    return OK


@subcommand("debug", "set-active-expire", arity=3, flags="admin noscript loading stale",
            summary="Turns the active expiry cycle on (1) or off (0).", syntax="flag:integer")
def debug_set_active_expire(client, argv):
    client.kv.active_expire_enabled = parse_int(argv[2]) != 0
    return OK


@subcommand("debug", "populate", arity=-3, flags="admin noscript loading stale",
            summary="Creates keys prefix:0 .. prefix:count-1 (prefix `key`), with string "
                    "values value:N (cut or padded with zero bytes to size, if given).",
            syntax="count [prefix] [size]")
def debug_populate(client, argv):
    if len(argv) > 5:
        raise ErrorReply("ERR wrong number of arguments for 'debug|populate' command")
    count = count_arg(argv[2])
    prefix = argv[3] if len(argv) > 3 else b"key"
    size = count_arg(argv[4]) if len(argv) > 4 else 0
    db = client.db
    for number in range(count):
        key = b"%s:%d" % (prefix, number)
        if db.entry(key, touch=False) is not None:      # as Redis: an existing key stays
            continue
        value = b"value:%d" % number
        if size:
            value = value[:size].ljust(size, b"\0")
        db.add(key, value)
        db.modified(key, 0)         # WATCH and tracking hear of it; not a change to save
    return OK


@subcommand("debug", "log", arity=3, flags="admin noscript loading stale",
            summary="Writes a message to the server log.", syntax="message")
def debug_log(client, argv):
    log.warning("DEBUG LOG: %s", argv[2].decode("utf-8", "replace"))
    return OK


@subcommand("debug", "replicate", arity=-3, flags="admin noscript loading stale",
            summary="Sends a command to the replicas, as if it had run here (a test tool).",
            syntax="command [arg...]")
def debug_replicate(client, argv):
    replication = client.kv.replication
    if replication.streaming:
        replication.feed([(client.db.index, argv[2:])])
    return OK


@subcommand("debug", "reload", arity=-2, flags="admin noscript loading stale",
            summary="Saves the snapshot, empties the data and loads the snapshot back.",
            syntax="[MERGE] [NOFLUSH] [NOSAVE]")
def debug_reload(client, argv):
    options = {option.upper() for option in argv[2:]}
    if not options <= {b"MERGE", b"NOFLUSH", b"NOSAVE"}:
        raise ErrorReply("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.")
    try:
        client.kv.reload_data(save=b"NOSAVE" not in options, flush=b"NOFLUSH" not in options,
                              merge=b"MERGE" in options, caller=client)
    except OSError:
        raise ErrorReply("ERR Error trying to save the DB") from None
    except CorruptSnapshot as error:
        log.warning("DEBUG RELOAD: %s", error)
        raise ErrorReply("ERR Error trying to load the RDB dump, check server logs.") from None
    log.warning("DB reloaded by DEBUG RELOAD")
    return OK


@subcommand("debug", "loadaof", arity=2, flags="admin noscript loading stale",
            summary="Writes out the append-only file, empties the data and replays the file.")
def debug_loadaof(client, argv):
    try:
        client.kv.reload_aof(caller=client)
    except CorruptAof as error:
        # Redis exits on a damaged file; here the caller gets an error and every other
        # client stays served (with the data read up to the damage).
        log.warning("DEBUG LOADAOF: %s", error)
        raise ErrorReply("ERR Error trying to load the AOF, check server logs.") from None
    log.warning("Append Only File loaded by DEBUG LOADAOF")
    return OK


@subcommand("debug", "digest", arity=2, flags="admin noscript loading stale",
            summary="Replies with a fingerprint of the whole dataset (forty zeros if empty).")
def debug_digest(client, argv):
    return SimpleString(dataset_digest(client.kv.keyspace))


@subcommand("debug", "digest-value", arity=-2, flags="admin noscript loading stale",
            summary="Replies with a fingerprint of the value of each key given.",
            syntax="[key...]")
def debug_digest_value(client, argv):
    digests = []
    for key in argv[2:]:
        entry = client.db.data.get(key)
        digests.append(SimpleString(EMPTY_DIGEST if entry is None
                                    else value_digest(entry.value).hex()))
    return digests


@subcommand("debug", "aof-flush-sleep", arity=3, flags="admin noscript loading stale",
            summary="Sleeps that many microseconds before each write of the append-only "
                    "file (a test tool).", syntax="microseconds")
def debug_aof_flush_sleep(client, argv):
    client.kv.aof_flush_sleep = max(parse_int(argv[2]), 0)
    return OK


@subcommand("debug", "pause-cron", arity=3, flags="admin noscript loading stale",
            summary="Stops (1) or restarts (0) the server's periodic tasks (expiry, "
                    "eviction, saving...).", syntax="flag:integer")
def debug_pause_cron(client, argv):
    client.kv.cron_paused = parse_int(argv[2]) != 0
    return OK


@subcommand("debug", "replybuffer", arity=4, flags="admin noscript loading stale",
            summary="Accepted for Redis's tests: a client's replies wait in a list of "
                    "pieces here, not in a buffer that grows and shrinks (rbs stays 16384).",
            syntax="(PEAK-RESET-TIME (NEVER | RESET | milliseconds)) | (RESIZING (0 | 1))")
def debug_replybuffer(client, argv):
    option, value = argv[2].lower(), argv[3].lower()
    if option == b"peak-reset-time":
        if value not in (b"never", b"reset"):
            parse_int(value)
    elif option != b"resizing":
        raise subcommand_syntax_error(argv)
    return OK


@subcommand("debug", "quicklist-packed-threshold", arity=3,
            flags="admin noscript loading stale",
            summary="Accepted for Redis's tests: lists have no quicklist nodes here.",
            syntax="size")
def debug_quicklist_packed_threshold(client, argv):
    try:
        size = parse_memory(argv[2].decode("utf-8", "replace"))
    except ConfigError:
        size = -1
    if not 0 <= size <= (1 << 32) - (1 << 20):         # 0 restores the default
        raise ErrorReply("ERR argument must be a memory value bigger than 1 and smaller "
                         "than 4gb")
    return OK


# DEBUG PROTOCOL: one sample of each reply type, for testing a client's RESP reader.
_PROTOCOL_SAMPLES = {
    b"string": b"Hello World",
    b"integer": 12345,
    b"double": 3.141,
    b"bignum": BigNumber(1234567999999999999999999999999999999),
    b"null": None,
    b"array": [0, 1, 2],
    b"set": OrderedSet([0, 1, 2]),
    b"map": {0: False, 1: True, 2: False},
    b"true": True,
    b"false": False,
    b"verbatim": Verbatim("This is a verbatim\nstring"),
}


@subcommand("debug", "protocol", arity=3, flags="admin noscript loading stale",
            summary="Replies with a sample of one RESP type.", syntax="type")
def debug_protocol(client, argv):
    name = argv[2].lower()
    if name in _PROTOCOL_SAMPLES:
        return _PROTOCOL_SAMPLES[name]
    if name == b"attrib":
        # An attribute is not a reply: a real one follows it (RESP2 gets only that one).
        reply = b"Some real reply following the attribute"
        if client.resp < 3:
            return reply
        return Attributed(reply, {b"key-popularity": [b"key:123", 90]})
    if name == b"push":
        if client.resp < 3:
            raise ErrorReply("ERR RESP2 is not supported by this command")
        client.write(Push([b"server-cpu-usage", 42]), client.out)
        return b"Some real reply following the push reply"
    raise ErrorReply("ERR Wrong protocol type name. Please use one of the following: "
                     "string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|"
                     "true|false")


@subcommand("debug", "object", arity=3, flags="admin noscript loading stale",
            summary="Shows low-level information about a key.", syntax="key")
def debug_object(client, argv):
    # As Redis's, a look at the dictionary itself: an expired key not yet removed is shown.
    entry = client.db.data.get(argv[2])
    if entry is None:
        raise ErrorReply("ERR no such key")
    encoding = encoding_of(entry.value, client.kv.config)
    idle = max(client.kv.keyspace.lru_clock - entry.access, 0)
    return SimpleString(f"Value at:0x{id(entry.value):x} refcount:1 encoding:{encoding} "
                        f"serializedlength:{len(repr(entry.value))} lru:{entry.access & 0xFFFFFF} "
                        f"lru_seconds_idle:{idle}")
