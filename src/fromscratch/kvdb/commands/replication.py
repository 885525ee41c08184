"""The replication commands: SYNC, PSYNC and REPLCONF, which turn a client into a
replica receiving the replication stream (see kvdb/replication.py); REPLICAOF and
SLAVEOF, which make this server follow another (kvdb/following.py) or stop; ROLE and
WAIT.
"""

from __future__ import annotations

import logging

from ...resp import ErrorReply, SimpleString
from ..client import NO_REPLY, OK
from ..table import command
from ..failover import NO_FAILOVER
from .args import SYNTAX, parse_int
from .connection import client_info_line

_SYNC_FLAGS = "admin noscript no_async_loading no_multi"

log = logging.getLogger("fromscratch.kvdb")


@command("sync", arity=1, flags=_SYNC_FLAGS, group="server", since="1.0.0",
         summary="An internal command used in replication.")
def sync(client, argv):
    if client.replica_since is None:          # Redis ignores SYNC from a replica
        _check_can_sync(client)
        log.info("Replica %s asks for synchronization", client.replica_name)
        client.kv.replication.attach(client, psync=False)
    return NO_REPLY


@command("psync", arity=-3, flags=_SYNC_FLAGS, group="server", since="2.8.0",
         summary="An internal command used in replication.",
         syntax="replicationid offset")
def psync(client, argv):
    if client.replica_since is not None:
        return NO_REPLY                       # Redis ignores SYNC from a replica
    kv = client.kv
    if len(argv) > 3 and argv[3].lower() == b"failover":
        kv.failover.take_over(argv[1], client_info_line(client))
    replication = kv.replication
    _check_can_sync(client)
    log.info("Replica %s asks for synchronization", client.replica_name)
    try:
        wanted = parse_int(argv[2])
    except ErrorReply:
        log.warning("Replica %s asks for synchronization but with a wrong offset",
                    client.replica_name)
        raise
    if not client.replica_rdb_only and replication.can_continue(client, argv[1], wanted):
        replication.continue_from(client, wanted)
        return NO_REPLY
    if argv[1] != b"?":                         # it asked to continue: not possible
        replication.failed_partial_syncs += 1
    replication.attach(client, psync=True)
    return NO_REPLY


def _check_can_sync(client) -> None:
    """Refuse a SYNC or PSYNC as Redis does: during a failover; from a replica whose
    own primary link is down (it would hand on data it does not have yet); and after
    replies not yet sent (the stream must start right after them)."""
    kv = client.kv
    if kv.failover.state != NO_FAILOVER:
        raise ErrorReply("NOMASTERLINK Can't SYNC while failing over")
    if kv.primary_link is not None and not kv.primary_link.link_up:
        raise ErrorReply("NOMASTERLINK Can't SYNC while not connected with my master")
    if client.out:
        raise ErrorReply("ERR SYNC and PSYNC are invalid with pending output")


@command("replconf", arity=-1, flags="admin noscript loading stale allow_busy",
         group="server", since="3.0.0",
         summary="An internal command for configuring the replication stream.")
def replconf(client, argv):
    if len(argv) % 2 == 0:
        raise ErrorReply("ERR syntax error")
    for option, value in zip(argv[1::2], argv[2::2]):
        option = option.lower()
        if option == b"listening-port":
            try:
                client.replica_port = int(value)
            except ValueError:
                raise ErrorReply("ERR value is not an integer or out of range") from None
        elif option == b"ack":
            # A replica reporting how much of the stream it has (and, Redis 7.2's and
            # ours, how much of it is on disk in its append-only file): never answered.
            if client.replica_since is not None and value.isdigit():
                fsynced = None
                if len(argv) >= 5 and argv[3].lower() == b"fack" and argv[4].isdigit():
                    fsynced = int(argv[4])
                client.kv.replication.acknowledged(client, int(value), fsynced)
            return NO_REPLY
        elif option == b"getack":
            return NO_REPLY                   # asked of replicas, and we are none
        elif option == b"rdb-only":
            if value not in (b"0", b"1"):
                parse_int(value)
                raise ErrorReply("ERR value is out of range, value must between 0 and 1")
            client.replica_rdb_only = value == b"1"
        elif option == b"rdb-filter-only":
            # The parts of the dataset the payload should keep: only the function
            # libraries can be named; an empty list keeps nothing.
            parts = value.split()
            for part in parts:
                if part.lower() != b"functions":
                    raise ErrorReply(f"ERR Unsupported rdb-filter-only option: "
                                     f"{part.decode('utf-8', 'replace')}")
            client.replica_rdb_filter = frozenset(part.lower() for part in parts)
        elif option == b"ip-address":
            client.replica_ip = value.decode("utf-8", "replace")   # replica-announce-ip
        elif option == b"capa":
            if value.lower() == b"eof":
                client.replica_capa_eof = True
        else:
            raise ErrorReply(f"ERR Unrecognized REPLCONF option: "
                             f"{option.decode('utf-8', 'replace')}")
    return OK


@command("wait", arity=3, flags="noscript", group="generic", since="3.0.0",
         acl="@connection", group_category=False,
         summary="Blocks until the asynchronous replication of all preceding write "
                 "commands sent by the connection is completed.",
         complexity="O(1)", syntax="numreplicas timeout")
def wait(client, argv):
    if client.kv.primary_link is not None:
        raise ErrorReply("ERR WAIT cannot be used with replica instances. Please also note "
                         "that since Redis 4.0 if a replica is configured to be writable "
                         "(which is not the default) writes to replicas are just local and "
                         "are not propagated.")
    count = parse_int(argv[1])
    timeout = _timeout_ms(argv[2])
    replication, offset = client.kv.replication, client.write_offset

    def progress():
        acked = replication.acked_count(offset)
        return acked >= count, acked

    return _wait_until(client, argv, timeout, progress)


@command("waitaof", arity=4, flags="noscript", group="generic", since="7.2.0",
         acl="@connection", group_category=False,
         summary="Blocks until all of the preceding write commands sent by the connection "
                 "are written to the append-only file of the master and/or replicas.",
         complexity="O(1)", syntax="numlocal numreplicas timeout")
def waitaof(client, argv):
    numlocal = parse_int(argv[1])
    if not 0 <= numlocal <= 1:
        raise ErrorReply("ERR value is out of range, value must between 0 and 1")
    numreplicas = parse_int(argv[2])
    if numreplicas < 0:
        raise ErrorReply("ERR value is out of range, must be positive")
    timeout = _timeout_ms(argv[3])
    kv = client.kv
    if kv.primary_link is not None:
        raise ErrorReply("ERR WAITAOF cannot be used with replica instances. Please also "
                         "note that writes to replicas are just local and are not "
                         "propagated.")
    if numlocal and kv.aof is None:
        raise ErrorReply("ERR WAITAOF cannot be used when numlocal is set but appendonly "
                         "is disabled.")
    logged, offset = client.logged_offset, client.write_offset

    def progress():
        # Our log counts only once it is whole on disk (not while the first rewrite
        # of a log turned on at run time is under way), as in Redis.
        aof = kv.aof
        local = int(aof is not None and aof.started and aof.synced >= logged)
        replicas = kv.replication.fsynced_count(offset)
        return local >= numlocal and replicas >= numreplicas, [local, replicas]

    return _wait_until(client, argv, timeout, progress)


def _timeout_ms(arg: bytes) -> int:
    timeout = parse_int(arg, ErrorReply("ERR timeout is not an integer or out of range"))
    if timeout < 0:
        raise ErrorReply("ERR timeout is negative")
    return timeout


def _wait_until(client, argv, timeout: int, progress):
    """WAIT and WAITAOF: answer at once if `progress()` says the wait is over (or inside
    MULTI or a script), else block until it says so, or for `timeout` ms (0: no end),
    asking the replicas where they are."""
    done, reply = progress()
    if done or client.in_exec:
        return reply
    result = client.kv.blocking.block(client, argv, (), timeout / 1000, reply)
    if client.blocked is not None:
        client.kv.replication.wait(client, client.blocked, progress)
    return result


def _replicaof(client, argv):
    kv = client.kv
    if kv.failover.state != NO_FAILOVER:
        raise ErrorReply("ERR REPLICAOF not allowed while failing over.")
    if argv[1].upper() == b"NO" and argv[2].upper() == b"ONE":
        kv.stop_following()
        return OK
    if client.replica_since is not None:
        raise ErrorReply("ERR Command is not valid when client is a replica.")
    port = parse_int(argv[2])
    host = argv[1].decode("utf-8", "replace")
    link = kv.primary_link
    if link is not None and (link.host, link.port) == (host, port):
        return SimpleString("OK Already connected to specified master")
    kv.follow(host, port)
    return OK


for _name, _since, _summary in (
        ("replicaof", "5.0.0", "Configures a server as replica of another, or promotes "
                               "it to a master."),
        ("slaveof", "1.0.0", "Sets a Redis server as a replica of another, or promotes "
                             "it to being a master.")):
    command(_name, arity=3, flags="admin noscript stale no_async_loading", group="server",
            since=_since, summary=_summary, complexity="O(1)",
            syntax="host port")(_replicaof)


@command("failover", arity=-1, flags="admin noscript stale", group="server", since="6.2.0",
         summary="Start a coordinated failover between this server and one of its replicas.",
         complexity="O(1)",
         syntax="[target: TO host port [FORCE]] [ABORT] [TIMEOUT milliseconds]")
def failover(client, argv):
    """See kvdb/failover.py. The arguments are read as Redis reads them: each at most
    once, ABORT alone."""
    failover = client.kv.failover
    if len(argv) == 2 and argv[1].lower() == b"abort":
        if failover.state == NO_FAILOVER:
            raise ErrorReply("ERR No failover in progress.")
        failover.abort("Failover manually aborted")
        return OK
    timeout, force, target = 0, False, None
    index = 1
    while index < len(argv):
        word = argv[index].lower()
        if word == b"timeout" and index + 1 < len(argv) and not timeout:
            timeout = parse_int(argv[index + 1])
            if timeout <= 0:
                raise ErrorReply("ERR FAILOVER timeout must be greater than 0")
            index += 2
        elif word == b"to" and index + 2 < len(argv) and target is None:
            target = (argv[index + 1].decode("utf-8", "replace"), parse_int(argv[index + 2]))
            index += 3
        elif word == b"force" and not force:
            force = True
            index += 1
        else:
            raise SYNTAX
    failover.start(target, timeout, force)
    return OK


@command("role", arity=1, flags="noscript loading stale fast", group="server",
         since="2.8.12", summary="Returns the replication role.", complexity="O(1)",
         acl="@admin @dangerous")
def role(client, argv):
    kv = client.kv
    link = kv.primary_link
    if link is not None:
        return [b"slave", link.host.encode(), link.port, link.state.encode(),
                link.offset if link.synced_once else -1]
    replication = kv.replication
    return [b"master", replication.offset,
            [[replica.replica_address.encode(), b"%d" % replica.replica_port,
              b"%d" % replica.replica_acked] for replica, _state in replication.listed()]]
