"""The Redis release whose behaviour the key-value server follows (reported by INFO and
HELLO; clients such as RQ enable features by it)."""

REDIS_VERSION = "7.2.4"
