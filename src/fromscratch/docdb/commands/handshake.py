"""The handshake and server information: hello/isMaster ping buildInfo serverStatus
hostInfo whatsmyuri getParameter getCmdLineOpts listCommands getLog.

`hello` makes us a standalone server (no `setName`) speaking wire versions 0 to 17
(MongoDB 6.0). `logicalSessionTimeoutMinutes` turns on sessions in the drivers; we leave
out `topologyVersion`, which would turn on streaming monitoring. It also negotiates
compression, lists the SASL mechanisms of a user (`saslSupportedMechs`) and answers a
`speculativeAuthenticate` (the first SCRAM step folded into the handshake).
"""

from __future__ import annotations

import datetime
import os
import platform
import socket
import sys
import time

from .. import wire
from ..bson import UTC, Int64
from . import command

VERSION = "6.0.0"
MAX_WIRE_VERSION = 17


@command("hello", "isMaster", "ismaster", requires_auth=False)
def hello(ctx, cmd):
    reply = {
        "isWritablePrimary": True, "ismaster": True,
        "maxBsonObjectSize": 16 * 1024 * 1024,
        "maxMessageSizeBytes": wire.MAX_MESSAGE_SIZE,
        "maxWriteBatchSize": 100000,
        "localTime": datetime.datetime.now(UTC),
        "logicalSessionTimeoutMinutes": 30,
        "connectionId": ctx.client.connection_id,
        "minWireVersion": 0, "maxWireVersion": MAX_WIRE_VERSION,
        "readOnly": False,
    }
    if cmd.get("helloOk"):
        reply["helloOk"] = True
    offered = cmd.get("compression")
    if isinstance(offered, list) and ctx.client.compressors is None:
        ctx.client.compressors = [name for name in offered if name in wire.COMPRESSORS]
    if ctx.client.compressors:
        reply["compression"] = ctx.client.compressors
    asked = cmd.get("saslSupportedMechs")
    if isinstance(asked, str):
        from .auth import mechanisms_of
        reply["saslSupportedMechs"] = mechanisms_of(ctx, asked)
    client_info = cmd.get("client")
    if isinstance(client_info, dict) and isinstance(client_info.get("application"), dict):
        ctx.client.app_name = client_info["application"].get("name")
    speculative = cmd.get("speculativeAuthenticate")
    if isinstance(speculative, dict) and "saslStart" in speculative:
        from .auth import start_conversation
        answer = start_conversation(ctx, speculative, speculative.get("db", ctx.database))
        if answer is not None:
            reply["speculativeAuthenticate"] = answer
    return reply


@command("ping", requires_auth=False)
def ping(ctx, cmd):
    return {}


@command("buildInfo", "buildinfo", requires_auth=False)
def build_info(ctx, cmd):
    return {"version": VERSION, "gitVersion": "fromscratch", "versionArray": [6, 0, 0, 0],
            "bits": 64, "debug": False, "maxBsonObjectSize": 16 * 1024 * 1024,
            "javascriptEngine": "none", "storageEngines": ["fromscratch"],
            "sysInfo": "deprecated", "modules": [],
            "buildEnvironment": {"target_os": sys.platform}}


@command("serverStatus")
def server_status(ctx, cmd):
    server = ctx.server
    stats = server.stats
    documents = sum(len(c) for cs in ctx.engine.databases.values() for c in cs.values())
    return {
        "host": socket.gethostname(), "version": VERSION, "process": "fromscratch docdb",
        "pid": Int64(os.getpid()), "uptime": float(int(time.time() - stats.started_at)),
        "uptimeMillis": Int64(int((time.time() - stats.started_at) * 1000)),
        "localTime": datetime.datetime.now(UTC),
        "connections": {"current": len(server.connections),
                        "available": server.max_connections - len(server.connections),
                        "totalCreated": stats.connections_received},
        "network": {"bytesIn": Int64(stats.bytes_received), "bytesOut": Int64(stats.bytes_sent),
                    "numRequests": Int64(server.requests)},
        "opcounters": dict(server.opcounters),
        "metrics": {"cursor": {"timedOut": Int64(server.cursors.timed_out),
                               "open": {"total": Int64(len(server.cursors.cursors))}},
                    "document": {"total": Int64(documents)},
                    "ttl": {"deletedDocuments": Int64(server.ttl_deleted)}},
        "storageEngine": {"name": "fromscratch", "persistent": True,
                          "journalBytes": Int64(ctx.engine.journal.size),
                          "compactions": ctx.engine.compactions},
    }


@command("hostInfo")
def host_info(ctx, cmd):
    return {"system": {"currentTime": datetime.datetime.now(UTC), "hostname": socket.gethostname(),
                       "cpuAddrSize": 64, "numCores": os.cpu_count() or 1,
                       "cpuArch": platform.machine()},
            "os": {"type": platform.system(), "name": platform.platform(),
                   "version": platform.release()},
            "extra": {"pageSize": Int64(os.sysconf("SC_PAGE_SIZE")) if hasattr(os, "sysconf") else 4096}}


@command("whatsmyuri", requires_auth=False)
def whats_my_uri(ctx, cmd):
    host, port = ctx.client.peer
    return {"you": f"{host}:{port}"}


PARAMETERS = {"featureCompatibilityVersion": {"version": "6.0"},
              "authenticationMechanisms": ["SCRAM-SHA-1", "SCRAM-SHA-256"],
              "cursorTimeoutMillis": None, "maxBSONDepth": 200}


@command("getParameter")
def get_parameter(ctx, cmd):
    values = dict(PARAMETERS, cursorTimeoutMillis=Int64(int(ctx.server.cursors.timeout * 1000)))
    wanted = cmd["getParameter"]
    if wanted == "*" or (isinstance(wanted, dict) and wanted.get("allParameters")):
        return values
    return {name: values[name] for name in cmd if name in values}


@command("getCmdLineOpts")
def get_cmd_line_opts(ctx, cmd):
    return {"argv": ["fromscratch", "docdb"], "parsed": dict(ctx.server.options)}


@command("listCommands", requires_auth=False)
def list_commands(ctx, cmd):
    from . import COMMANDS
    return {"commands": {name: {"help": (entry.handler.__doc__ or "").strip()[:200],
                                "requiresAuth": entry.requires_auth}
                         for name, entry in sorted(COMMANDS.items())}}


@command("getLog")
def get_log(ctx, cmd):
    return {"names": ["global", "startupWarnings"]} if cmd["getLog"] == "*" else \
        {"totalLinesWritten": 0, "log": []}
