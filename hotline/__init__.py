"""Hotline, the application: the `hotline` command, the one bootstrap, `hotline run`, the demo."""

__version__ = "0.1.0"
