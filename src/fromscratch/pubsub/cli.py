"""`python -m fromscratch pubsub [--port 6381] [--dir ./data/pubsub] [--name value ...]`

The pub/sub server on its own: channels, patterns and shard channels, Streams with
consumer groups, MULTI/EXEC, and the connection commands clients need around them
(HELLO AUTH PING ECHO QUIT RESET CLIENT INFO COMMAND CONFIG...). It is the key-value server's request
loop serving a smaller command table, so every reply and error is the same. Options
are redis.conf directives, as for `fromscratch kvdb`.
"""

from __future__ import annotations

import sys

from ..kvdb import commands  # noqa: F401  (fills the command table)
from ..kvdb.cli import serve
from ..kvdb.table import TABLE

# Groups served whole, the handful of others that make streams usable as keys, and
# those that keep them on disk and stop the server (SAVE, SHUTDOWN...).
GROUPS = {"connection", "pubsub", "stream", "transactions"}
COMMANDS = {"info", "command", "config", "time", "monitor", "slowlog", "latency", "debug",
            "del", "unlink", "exists", "type", "keys", "scan", "expire", "pexpire", "ttl",
            "pttl", "persist", "dbsize", "flushdb", "flushall", "select",
            "save", "bgsave", "lastsave", "bgrewriteaof", "shutdown"}

PUBSUB_TABLE = TABLE.subset(lambda cmd: cmd.group in GROUPS or cmd.name in COMMANDS)


def main(argv: list[str] | None = None) -> int:
    return serve("pubsub", sys.argv[1:] if argv is None else argv,
                 defaults={"port": "6381", "dir": "./data/pubsub"}, table=PUBSUB_TABLE,
                 usage=__doc__)


if __name__ == "__main__":
    sys.exit(main())
