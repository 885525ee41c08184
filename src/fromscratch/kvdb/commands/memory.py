"""MEMORY: what the data costs (see ../memory.py for how it is counted)."""

from __future__ import annotations

import gc

from ...resp import Verbatim
from ..client import OK
from ..memory import entry_size, human_bytes
from ..table import container, subcommand
from .args import SYNTAX, parse_int

container("memory", group="server", since="4.0.0",
          summary="A container for memory diagnostics commands.")


@subcommand("memory", "usage", arity=-3, flags="readonly", keys=(2, 2, 1), since="4.0.0",
            summary="Estimates the memory usage of a key.",
            complexity="O(N) where N is the number of samples.",
            syntax="key [SAMPLES count]")
def memory_usage(client, argv):
    if len(argv) == 5 and argv[3].upper() == b"SAMPLES":
        parse_int(argv[4])                 # we always sample a few elements: see memory.py
    elif len(argv) != 3:
        raise SYNTAX
    entry = client.db.entry(argv[2], touch=False)
    return None if entry is None else entry_size(argv[2], entry.value)


def memory_stats_map(kv) -> dict:
    keyspace = kv.keyspace
    used = kv.used_memory()
    dataset = keyspace.used_memory()
    keys = sum(len(db.data) for db in keyspace.dbs)
    stats = {
        "peak.allocated": max(kv.peak_memory, used), "total.allocated": used,
        "startup.allocated": 0, "replication.backlog": 0, "clients.slaves": 0,
        "clients.normal": used - dataset,
        "aof.buffer": sum(map(len, kv.aof.buffer)) if kv.aof is not None else 0,
    }
    for db in keyspace.dbs:
        if db.data:
            stats[f"db.{db.index}"] = {"overhead.hashtable.main": 56 * len(db.data),
                                       "overhead.hashtable.expires": 8 * len(db.volatile)}
    stats.update({
        "keys.count": keys, "keys.bytes-per-key": dataset // keys if keys else 0,
        "dataset.bytes": dataset,
        "dataset.percentage": 100.0 * dataset / used if used else 0.0,
        "peak.percentage": 100.0 * used / max(kv.peak_memory, used, 1),
    })
    return stats


@subcommand("memory", "stats", arity=2, flags="", since="4.0.0",
            summary="Returns details about memory usage.", complexity="O(1)")
def memory_stats(client, argv):
    return memory_stats_map(client.kv)


@subcommand("memory", "doctor", arity=2, flags="", since="4.0.0",
            summary="Outputs a memory problems report.", complexity="O(1)")
def memory_doctor(client, argv):
    """Redis's report, whose one issue here is being over maxmemory (Redis's others are
    about its allocator, which this server does not have)."""
    kv = client.kv
    used, limit = kv.used_memory(), kv.config["maxmemory"]
    if used < 5 * 1024 * 1024:
        text = ("Hi Sam, this instance is empty or is using very little memory, my issues "
                "detector can't be used in these conditions. Please, leave for your mission "
                "on Earth and fill it with some data. The new Sam and I will be back to our "
                "programming as soon as I finished rebooting.\n")
    elif limit and used > limit:
        text = ("Sam, I detected a few issues in this Redis instance memory implants:\n\n"
                f" * Used memory ({human_bytes(used)}) is above maxmemory "
                f"({human_bytes(limit)}) and the policy '{kv.config['maxmemory-policy']}' "
                "cannot bring it back.\n\n"
                "I'm here to keep you safe, Sam. I want to help you.\n")
    else:
        text = ("Hi Sam, I can't find any memory issue in your instance. I can only account "
                "for what occurs on this base.\n")
    return Verbatim(text)          # RESP2 clients get it as a bulk string (writer.py)


@subcommand("memory", "malloc-stats", arity=2, flags="", since="4.0.0",
            summary="Returns the allocator statistics.", complexity="Depends on how much "
                                                                   "memory is allocated")
def memory_malloc_stats(client, argv):
    return b"Stats not supported for the current allocator"


@subcommand("memory", "purge", arity=2, flags="", since="4.0.0",
            summary="Asks the allocator to release memory.",
            complexity="Depends on how much memory is allocated")
def memory_purge(client, argv):
    gc.collect()
    return OK
