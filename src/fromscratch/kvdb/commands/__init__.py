"""The command families, one module each. Importing this package registers them all."""

from . import (acl, config, connection, hashes, introspection, keys, lists, memory,  # noqa: F401
               persistence, pubsub, scripting, serialize, sets, sorted_sets, streams,
               strings, transactions)
