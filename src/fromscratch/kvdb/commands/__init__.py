"""The command families, one module each. Importing this package registers them all."""

from . import (acl, config, connection, geo, hashes, hyperloglog, introspection, keys,  # noqa: F401
               lists, memory, persistence, pubsub, scripting, serialize, sets, sort,
               sorted_sets, streams, strings, transactions)
