"""fromscratch: working, readable re-implementations of everyday backend systems."""

__version__ = "0.1.0"
