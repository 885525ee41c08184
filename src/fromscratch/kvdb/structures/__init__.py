"""Data structures behind the Redis types that Python has no ready equivalent for."""
