"""The command families, one module each. Importing this package registers them all."""

from . import (acl, bitmaps, cluster, config, connection, functions, geo,  # noqa: F401
               hashes, hyperloglog, introspection, keys, lists, memory, migrate, persistence,
               pubsub, replication, scripting, serialize, sets, sort, sorted_sets, streams,
               strings, transactions)
