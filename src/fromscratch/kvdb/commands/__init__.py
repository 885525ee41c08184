"""The command families, one module each. Importing this package registers them all."""

from . import (config, connection, hashes, introspection, keys, lists,  # noqa: F401
               pubsub, sets, sorted_sets, streams, strings, transactions)
