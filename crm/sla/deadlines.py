"""Table 2 of the regulation: resolution allowances by category and priority, in business time."""

from __future__ import annotations

from crm.models import Category
from crm.rules import check_classification

# Business days per (category, priority); None = "by agreement": no fixed deadline.
BUSINESS_DAYS: dict[Category, dict[int, int | None]] = {
    Category.incident: {1: 1, 2: 2, 3: 5, 4: None},
    Category.consultation: {2: 5, 3: 7, 4: None},
}
BY_AGREEMENT = 4


def allowance_days(category: Category, priority: int) -> int | None:
    """Business days Table 2 allows; None for priority 4 (by agreement).

    Raises `crm.errors.InvalidClassification` for pairs Table 2 forbids (P1 consultation).
    """
    check_classification(category, priority)
    return BUSINESS_DAYS[category][priority]


def allowance_s(category: Category, priority: int, standard_day_s: int) -> int | None:
    """Allowance in business seconds: business days x one standard working day's length."""
    days = allowance_days(category, priority)
    return None if days is None else days * standard_day_s
