"""Redis-style publish/subscribe: the broker, mounted by the key-value server and also
served alone by `fromscratch pubsub`."""

from .broker import Broker

__all__ = ["Broker"]
