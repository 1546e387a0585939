"""Hotline: the shared spine (settings, call facts, the Redis bus, the `hotline` command)."""

__version__ = "0.1.0"
