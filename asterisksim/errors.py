"""Errors of the simulated Asterisk."""

from __future__ import annotations


class SimError(ValueError):
    """An action the model cannot carry out (no such channel, not in a bridge...).

    The message is what the AMI `Message:` header of the error response says.
    """
