"""CLUSTER, READONLY, READWRITE and ASKING, for a server that is never in a cluster.

A Redis started with `cluster-enabled no` still has these commands, and answers each of
them, CLUSTER HELP too, with one error. Clients send them to learn the server's mode, and
ACL rules may name them (`+cluster`), so they exist here too, with that answer.
"""

from __future__ import annotations

from ...resp import ErrorReply
from ..table import command, container, subcommand

DISABLED = ErrorReply("ERR This instance has cluster support disabled")


def _disabled(client, argv):
    raise DISABLED


container("cluster", group="cluster", since="3.0.0",
          summary="A container for Redis Cluster commands.")

_ADMIN = "admin stale no_async_loading"
# name, arity, flags, since, syntax, summary: as Redis 7.0 declares them
_SUBCOMMANDS = [
    ("addslots", -3, _ADMIN, "3.0.0", "slot...", "Assigns new hash slots to a node."),
    ("addslotsrange", -4, _ADMIN, "7.0.0", "(range: start-slot end-slot)...",
     "Assigns new hash slot ranges to a node."),
    ("bumpepoch", 2, _ADMIN, "3.0.0", "", "Advances the cluster config epoch."),
    ("count-failure-reports", 3, "admin stale", "3.0.0", "node-id",
     "Returns the number of active failure reports active for a node."),
    ("countkeysinslot", 3, "stale", "3.0.0", "slot",
     "Returns the number of keys in a hash slot."),
    ("delslots", -3, _ADMIN, "3.0.0", "slot...", "Sets hash slots as unbound for a node."),
    ("delslotsrange", -4, _ADMIN, "7.0.0", "(range: start-slot end-slot)...",
     "Sets hash slot ranges as unbound for a node."),
    ("failover", -2, _ADMIN, "3.0.0", "[options: FORCE | TAKEOVER]",
     "Forces a replica to perform a manual failover of its master."),
    ("flushslots", 2, _ADMIN, "3.0.0", "", "Deletes all slots information from a node."),
    ("forget", 3, _ADMIN, "3.0.0", "node-id", "Removes a node from the nodes table."),
    ("getkeysinslot", 4, "stale", "3.0.0", "slot count",
     "Returns the key names in a hash slot."),
    ("info", 2, "stale", "3.0.0", "", "Returns information about the state of a node."),
    ("keyslot", 3, "stale", "3.0.0", "key", "Returns the hash slot for a key."),
    ("links", 2, "stale", "7.0.0", "",
     "Returns a list of all TCP links to and from peer nodes."),
    ("meet", -4, _ADMIN, "3.0.0", "ip port [cluster-bus-port]",
     "Forces a node to handshake with another node."),
    ("myid", 2, "stale", "3.0.0", "", "Returns the ID of a node."),
    ("nodes", 2, "stale", "3.0.0", "", "Returns the cluster configuration for a node."),
    ("replicas", 3, "admin stale", "5.0.0", "node-id",
     "Lists the replica nodes of a master node."),
    ("replicate", 3, _ADMIN, "3.0.0", "node-id",
     "Configure a node as replica of a master node."),
    ("reset", -2, "admin noscript stale", "3.0.0", "[reset-type: HARD | SOFT]",
     "Resets a node."),
    ("saveconfig", 2, _ADMIN, "3.0.0", "", "Forces a node to save the cluster configuration "
                                           "to disk."),
    ("set-config-epoch", 3, _ADMIN, "3.0.0", "config-epoch",
     "Sets the configuration epoch for a new node."),
    ("setslot", -4, _ADMIN, "3.0.0",
     "slot (subcommand: IMPORTING node-id | MIGRATING node-id | NODE node-id | STABLE)",
     "Binds a hash slot to a node."),
    ("shards", 2, "stale", "7.0.0", "", "Returns the mapping of cluster slots to shards."),
    ("slaves", 3, "admin stale", "3.0.0", "node-id",
     "Lists the replica nodes of a master node."),
    ("slots", 2, "stale", "3.0.0", "", "Returns the mapping of cluster slots to nodes."),
]
for _name, _arity, _flags, _since, _syntax, _summary in _SUBCOMMANDS:
    subcommand("cluster", _name, arity=_arity, flags=_flags, since=_since, syntax=_syntax,
               summary=_summary, complexity="O(1)")(_disabled)
# in place of the container's own HELP, declared alike
subcommand("cluster", "help", arity=2, flags="loading stale", since="5.0.0",
           summary="Shows helpful text about the different subcommands.")(_disabled)

for _name, _flags, _summary in (
        ("readonly", "fast loading stale", "Enables read-only queries for a connection to a "
                                           "Redis Cluster replica node."),
        ("readwrite", "fast loading stale", "Enables read-write queries for a connection to "
                                            "a Redis Cluster replica node."),
        ("asking", "fast", "Signals that a cluster client is following an -ASK redirect.")):
    command(_name, arity=1, flags=_flags, group="cluster", since="3.0.0", summary=_summary,
            complexity="O(1)", acl="@connection")(_disabled)
