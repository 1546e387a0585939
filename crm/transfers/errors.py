"""Domain errors of transfers; `crm.transfers.api` maps them to HTTP statuses.

A call that is not there is `crm.errors.CallNotFound`, the CRM's one (404)."""

from __future__ import annotations


class TransferError(Exception):
    """Base of the transfer errors."""


class NotOnCall(TransferError):
    def __init__(self, agent: str, linkedid: str) -> None:
        who = agent or "this token (it names no agent)"
        super().__init__(f"{who} is not on call {linkedid}")


class TransferLimitReached(TransferError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"transfer limit reached ({limit})")


class UnknownTarget(TransferError):
    def __init__(self, to: str) -> None:
        super().__init__(f"unknown transfer target {to!r}: not an extension, agent or queue")


class TransferNotMade(TransferError):
    """Asterisk did not make the transfer (refused, unreachable, or no AMI client)."""
