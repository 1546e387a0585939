"""The regulation's rules for tickets: Table 2 classification and the status lifecycle."""

from __future__ import annotations

from crm.errors import IllegalTransition, InvalidClassification
from crm.models import Category, Status

# Table 2: which priorities each category admits (a consultation cannot be blocking).
ALLOWED_PRIORITIES: dict[Category, frozenset[int]] = {
    Category.incident: frozenset({1, 2, 3, 4}),
    Category.consultation: frozenset({2, 3, 4}),
}

# Legal moves of the lifecycle; anything else is refused with the reason below.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    # withdrawn: only while nobody has worked on it (the IVR's UIN of a caller who then
    # named their existing request).
    Status.registered: frozenset(
        {Status.in_progress, Status.suspended, Status.resolved, Status.refused, Status.withdrawn}
    ),
    Status.in_progress: frozenset({Status.suspended, Status.resolved, Status.refused}),
    Status.suspended: frozenset({Status.in_progress, Status.resolved, Status.refused}),
    # The caller does not confirm the solution: work resumes.
    Status.resolved: frozenset({Status.closed, Status.in_progress}),
    Status.closed: frozenset(),
    Status.refused: frozenset(),
    Status.withdrawn: frozenset(),
}

# Statuses that carry data of their own (a reason, a solution): reached only through
# their endpoint (POST /api/tickets/{uin}/<name>), never by a plain PATCH of the status.
LIFECYCLE_ENDPOINTS: dict[Status, str] = {
    Status.suspended: "suspend",
    Status.resolved: "resolve",
    Status.refused: "refuse",
    Status.withdrawn: "withdraw",
}

# Where the SLA clock may still run (the worker watches these).
OPEN = frozenset({Status.registered, Status.in_progress, Status.suspended})

FINAL = frozenset(status for status, nexts in TRANSITIONS.items() if not nexts)


def check_classification(category: Category, priority: int) -> None:
    """Raise `InvalidClassification` unless Table 2 allows `priority` for `category`."""
    allowed = ALLOWED_PRIORITIES[category]
    if priority not in allowed:
        names = {Category.incident: "an incident", Category.consultation: "a consultation"}
        raise InvalidClassification(
            f"priority {priority} is not allowed for {names[category]} ({category.value}); "
            f"allowed: {', '.join(str(p) for p in sorted(allowed))}"
        )


def check_transition(old: Status, new: Status) -> None:
    """Raise `IllegalTransition` (with the reason) unless the lifecycle allows old -> new."""
    if old == new:
        return
    if new in TRANSITIONS[old]:
        return
    if old in FINAL:
        why = f"{old.value} is final"
    elif new is Status.registered:
        why = "a ticket is registered only once, on creation"
    elif new is Status.closed:
        why = "only a resolved ticket can be closed"
    else:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[old]))
        why = f"from {old.value} the ticket can move to: {allowed}"
    raise IllegalTransition(old.value, new.value, why)
