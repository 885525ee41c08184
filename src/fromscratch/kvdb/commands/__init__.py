"""The command families, one module each. Importing this package registers them all."""

from . import (acl, config, connection, geo, hashes, introspection, keys, lists,  # noqa: F401
               memory, persistence, pubsub, scripting, serialize, sets, sorted_sets,
               streams, strings, transactions)
