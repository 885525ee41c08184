"""The command families, one module each. Importing this package registers them all."""

from . import (config, connection, introspection, keys, pubsub,  # noqa: F401
               strings, transactions)
