"""Checks of a ticket's input that the schemas cannot make: the phone, the agreed deadline."""

from __future__ import annotations

from datetime import datetime

from crm.validation import normalise_phone


class InvalidField(ValueError):
    """A field whose value the CRM refuses; the API answers 422 naming `field`."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def normalised_phone(value: str | None, region: str) -> str | None:
    """`value` in E.164 form, read in `region`; None for no phone; `InvalidField` if not one."""
    if value is None or value == "":
        return None
    try:
        return normalise_phone(value, region)
    except ValueError as exc:
        raise InvalidField("caller_phone", str(exc)) from None


def check_agreed_deadline(priority: int, deadline: datetime | None, now: datetime) -> None:
    """Only priority 4 has a deadline by agreement, and it lies in the future."""
    if deadline is None:
        return
    if priority != 4:
        raise InvalidField(
            "agreed_deadline",
            f"only priority 4 has a deadline by agreement; this ticket is priority {priority}",
        )
    if deadline <= now:
        raise InvalidField(
            "agreed_deadline", f"the agreed deadline {deadline} is not in the future"
        )
