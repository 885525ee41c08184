"""The command families, one module each. Importing this package registers them all."""

from . import (config, connection, introspection, keys, pubsub, sets,  # noqa: F401
               sorted_sets, strings, transactions)
