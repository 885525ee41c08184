"""The command families, one module each. Importing this package registers them all."""

from . import (acl, config, connection, hashes, introspection, keys,  # noqa: F401
               lists, memory, persistence, pubsub, scripting, sets, sorted_sets,
               streams, strings, transactions)
