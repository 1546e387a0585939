"""The SLA event vocabulary: what happened to a ticket, as the clock needs to know it.

Every event has `at`, an aware datetime. A ticket's list starts with `Created` and is in
chronological order (equal times keep list order). How the audit log maps onto it
(`crm.models.TicketEvent`: action, field, old_value, new_value, data):

| audit row | event |
|---|---|
| action `created`, data {category, priority} | `Created` |
| `changed`, field `priority`, old -> new | `PriorityChanged` |
| `changed`, field `category`, old -> new | `CategoryChanged` |
| `status_changed` -> `suspended`, data {reason, note, external_ref} | `Suspended` |
| `status_changed` `suspended` -> `in_progress` | `Resumed` |
| `status_changed` -> `resolved` / `refused` / `closed` (clock stops) | `Resolved` |
| `status_changed` `resolved` -> `in_progress` | `Reopened` |
| `changed`, field `agreed_deadline`, new ISO datetime | `AgreedDeadline` |
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from crm.models import Category


class SuspendReason(enum.StrEnum):
    """Table 5: why the clock stops."""

    diagnostics = "diagnostics"
    external_system = "external_system"  # needs the external ticket reference
    customer_agreement = "customer_agreement"
    force_majeure = "force_majeure"
    more_information = "more_information"
    change_request = "change_request"


def _check_aware(at: datetime) -> None:
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"event time must be an aware datetime, got {at!r}")


@dataclass(frozen=True)
class Created:
    """The ticket was registered: the clock starts."""

    at: datetime
    category: Category
    priority: int

    def __post_init__(self) -> None:
        _check_aware(self.at)
        object.__setattr__(self, "category", Category(self.category))


@dataclass(frozen=True)
class PriorityChanged:
    """Lowering keeps the time in work; raising restarts the clock at `at`."""

    at: datetime
    old: int
    new: int

    def __post_init__(self) -> None:
        _check_aware(self.at)


@dataclass(frozen=True)
class CategoryChanged:
    """Reclassification: a longer (or equal) allowance keeps the time in work, a shorter one
    restarts the clock, as for priority."""

    at: datetime
    old: Category
    new: Category

    def __post_init__(self) -> None:
        _check_aware(self.at)
        object.__setattr__(self, "old", Category(self.old))
        object.__setattr__(self, "new", Category(self.new))


@dataclass(frozen=True)
class Suspended:
    """The clock stops (Table 5). `external_system` needs `external_ref`."""

    at: datetime
    reason: SuspendReason
    note: str = ""
    external_ref: str | None = None

    def __post_init__(self) -> None:
        _check_aware(self.at)
        reason = SuspendReason(self.reason)
        object.__setattr__(self, "reason", reason)
        if reason is SuspendReason.external_system and not (self.external_ref or "").strip():
            raise ValueError(
                "a suspension for an external system needs external_ref "
                "(the external ticket number)"
            )


@dataclass(frozen=True)
class Resumed:
    at: datetime

    def __post_init__(self) -> None:
        _check_aware(self.at)


@dataclass(frozen=True)
class Resolved:
    """Solved (or refused/closed): the clock stops for good unless `Reopened`."""

    at: datetime

    def __post_init__(self) -> None:
        _check_aware(self.at)


@dataclass(frozen=True)
class Reopened:
    """The caller did not confirm the solution: the clock runs on from where it stopped."""

    at: datetime

    def __post_init__(self) -> None:
        _check_aware(self.at)


@dataclass(frozen=True)
class AgreedDeadline:
    """Priority 4: the deadline agreed with the customer (an aware datetime after `at`)."""

    at: datetime
    deadline: datetime

    def __post_init__(self) -> None:
        _check_aware(self.at)
        _check_aware(self.deadline)
        if self.deadline <= self.at:
            raise ValueError(f"agreed deadline {self.deadline} is not after {self.at}")


SlaEvent = (
    Created
    | PriorityChanged
    | CategoryChanged
    | Suspended
    | Resumed
    | Resolved
    | Reopened
    | AgreedDeadline
)
