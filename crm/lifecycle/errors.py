"""Domain errors of the lifecycle; the API maps them to HTTP statuses (`api.py`)."""

from __future__ import annotations

from crm.errors import Conflict, CrmError, NotFound


class WrongState(Conflict):
    """The ticket is not in a state where this step makes sense (e.g. resume when running)."""


class OverrideNotFound(NotFound):
    def __init__(self, day: str) -> None:
        super().__init__(f"no calendar override for {day}")


class LinkInvalid(CrmError):
    """A confirmation link that was not signed by us (or was altered)."""

    def __init__(self) -> None:
        super().__init__("the confirmation link is not valid")


class LinkExpired(CrmError):
    def __init__(self) -> None:
        super().__init__("the confirmation link has expired; ask the hotline for a new one")


class LinkUsed(Conflict):
    def __init__(self, uin: str, status: str) -> None:
        super().__init__(f"ticket {uin} is {status}: this confirmation link no longer applies")


class NotConfigured(CrmError):
    """A setting the step needs is missing (the API answers 503)."""
