"""The command families, one module each. Importing this package registers them all."""

from . import (acl, bitmaps, config, connection, functions, geo, hashes, hyperloglog,  # noqa: F401
               introspection, keys, lists, memory, persistence, pubsub, scripting,
               serialize, sets, sort, sorted_sets, streams, strings, transactions)
